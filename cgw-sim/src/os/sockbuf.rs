//! Larger kernel buffers for the gateway's UDP sockets. ESP in UDP 4500
//! arrives in bursts (a TCP window at once) while the event loop may be
//! descheduled; at the kernel's default (~208 KiB, about 150 full-size
//! packets) the receive queue overflowed in the throughput benchmark
//! (tests/benches/tunnel_throughput.rs: `RcvbufErrors`) and every drop
//! cost TCP a retransmission.

use std::io;
use std::os::fd::AsRawFd;

/// What we ask for, each direction (the kernel doubles it for its
/// bookkeeping).
pub const SOCKET_BUFFER: usize = 4 << 20;

/// Sets `fd`'s receive and send buffers to [`SOCKET_BUFFER`]: with
/// `SO_RCVBUFFORCE` / `SO_SNDBUFFORCE` where we may (CAP_NET_ADMIN, past
/// `net.core.rmem_max`), else as much as `SO_RCVBUF` / `SO_SNDBUF` allow.
pub fn grow(fd: &impl AsRawFd) -> io::Result<()> {
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        let size = libc::c_int::try_from(SOCKET_BUFFER).unwrap_or(libc::c_int::MAX);
        if set_int(fd, libc::SOL_SOCKET, force, size).is_err() {
            set_int(fd, libc::SOL_SOCKET, plain, size)?;
        }
    }
    Ok(())
}

/// Sets an integer socket option on `fd`.
pub(crate) fn set_int(
    fd: &impl AsRawFd,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt on a descriptor the caller owns, with a c_int of
    // the length passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
