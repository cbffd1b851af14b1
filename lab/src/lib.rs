//! Where packets flow: the simulated network and the kernel lab. Built by issue 5 and 6.
