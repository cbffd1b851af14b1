//! Kernel receive timestamps (`SO_TIMESTAMPNS`) for the probe sockets.
//!
//! A reply's arrival is stamped by the kernel when the packet reaches the
//! socket, not when our receiving task next runs: the task hop and the
//! runtime's wake-up otherwise add tens of microseconds to every RTT (the
//! fping comparison showed ours at twice fping's on a quiet path; fping
//! uses the same kernel stamps).
//!
//! The stamp is CLOCK_REALTIME. The prober measures RTT on `Instant`s, so
//! [`instant_of`] moves the stamp onto that clock by how long ago it was;
//! udp-jitter's receive stamp is the realtime value itself.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrLike, SockaddrStorage,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::sockopt::realtime_ns;

/// Asks the kernel to stamp every datagram `sock` receives.
pub fn enable(sock: &impl AsFd) -> io::Result<()> {
    setsockopt(sock, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)
}

/// A datagram received into the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Its length.
    pub len: usize,
    /// Its sender (IPv4 or IPv6 sockets).
    pub from: Option<SocketAddr>,
    /// When the kernel received it (realtime nanoseconds), if stamped.
    pub stamp: Option<u64>,
}

/// Receives one datagram with its kernel stamp.
pub async fn recv(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    loop {
        sock.readable().await?;
        match sock.try_io(Interest::READABLE, || recv_now(sock, buf)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return r,
        }
    }
}

/// One non-blocking `recvmsg` with room for the timestamp.
fn recv_now(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let stamp = msg.cmsgs().ok().and_then(|mut c| {
        c.find_map(|m| match m {
            ControlMessageOwned::ScmTimestampns(ts) => {
                let ns = i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec());
                u64::try_from(ns).ok()
            }
            _ => None,
        })
    });
    let from = msg.address.and_then(|a| {
        if let Some(v4) = a.as_sockaddr_in() {
            Some(SocketAddr::V4((*v4).into()))
        } else {
            a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
        }
    });
    Ok(Received {
        len: msg.bytes,
        from: from.filter(|_| msg.address.is_some_and(|a| a.len() > 0)),
        stamp,
    })
}

/// The `Instant` at which realtime `ns` was, `now_ns` being realtime now
/// (never later than `now`: a stamp ahead of the clock reads as now).
pub fn instant_of(ns: u64, now: Instant, now_ns: u64) -> Instant {
    now.checked_sub(Duration::from_nanos(now_ns.saturating_sub(ns)))
        .unwrap_or(now)
}

/// [`instant_of`] against the clocks read now.
pub fn arrival(stamp: Option<u64>) -> (u64, Instant) {
    let (now, now_ns) = (Instant::now(), realtime_ns());
    match stamp {
        Some(ns) => (ns.min(now_ns), instant_of(ns, now, now_ns)),
        None => (now_ns, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_moved_onto_the_monotonic_clock() {
        let now = Instant::now() + Duration::from_secs(10);
        let t = instant_of(5_000_000_000, now, 5_000_250_000);
        assert_eq!(now - t, Duration::from_micros(250));
        // A stamp from the future (the wall clock stepped back) is now.
        assert_eq!(instant_of(6_000_000_000, now, 5_000_000_000), now);
    }
}
