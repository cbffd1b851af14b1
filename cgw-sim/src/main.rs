//! The cgw-sim command line.
fn main() {}
