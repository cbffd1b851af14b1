//! Reachability checks pinned to one tunnel: an ICMP or ICMPv6 echo and a TCP
//! connect from a tunnel's inside address, bound to its TUN device
//! (`SO_BINDTODEVICE`), so the kernel sends them through that tunnel
//! whatever its routing table says (with a device bound and no route
//! through it, Linux treats the destination as on-link). Blocking, with
//! timeouts: `validate` runs each on a thread of its own.

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// What a ping through a tunnel saw.
#[derive(Debug, Clone, PartialEq)]
pub struct PingResult {
    /// Echo requests sent.
    pub sent: u32,
    /// Replies received.
    pub received: u32,
    /// Round-trip times of the replies, in milliseconds.
    pub rtt_ms: Vec<f64>,
}

/// Sends `count` ICMP (or ICMPv6) echo requests from `source` out of
/// `dev` to `dst`, `interval` apart, waiting up to `timeout` for each
/// reply. Needs root (a raw socket: the unprivileged ICMP datagram socket
/// cannot be bound to a device on every kernel).
pub fn ping(
    dev: &str,
    source: IpAddr,
    dst: IpAddr,
    count: u32,
    interval: Duration,
    timeout: Duration,
) -> io::Result<PingResult> {
    if source.is_ipv4() != dst.is_ipv4() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("source {source} and target {dst} are of different IP versions"),
        ));
    }
    let (domain, proto, request_type, reply_type) = match dst {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128, 129),
    };
    let s = Socket::new(domain, Type::RAW, Some(proto))?;
    s.bind_device(Some(dev.as_bytes()))?;
    s.bind(&SocketAddr::new(source, 0).into())?;
    s.set_read_timeout(Some(Duration::from_millis(50)))?;
    // An identifier of our own, so another ping's replies do not count.
    let id = (std::process::id() as u16) ^ 0x6367;
    let mut out = PingResult {
        sent: 0,
        received: 0,
        rtt_ms: Vec::new(),
    };
    let to = SocketAddr::new(dst, 0).into();
    for seq in 0..count {
        let seq = seq as u16;
        let mut req = vec![request_type, 0, 0, 0];
        req.extend_from_slice(&id.to_be_bytes());
        req.extend_from_slice(&seq.to_be_bytes());
        req.extend_from_slice(b"cgw-sim validate");
        if dst.is_ipv4() {
            // The kernel fills in ICMPv6 checksums itself (RFC 3542 3.1),
            // not ICMPv4 ones.
            let c = lab::wire::checksum(0, &req);
            req[2..4].copy_from_slice(&c.to_be_bytes());
        }
        let sent_at = Instant::now();
        s.send_to(&req, &to)?;
        out.sent += 1;
        let end = sent_at + timeout;
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        while Instant::now() < end {
            let (n, from) = match s.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            // SAFETY: `recv_from` initialised the first `n` bytes.
            let p: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            // A raw IPv4 socket hands over the IP header too; an IPv6 one
            // only the ICMPv6 message.
            let hl = if dst.is_ipv4() {
                usize::from(p.first().map_or(0, |b| b & 0x0f)) * 4
            } else {
                0
            };
            let Some(icmp) = p.get(hl..) else { continue };
            if icmp.len() >= 8
                && icmp[0] == reply_type
                && icmp[4..6] == id.to_be_bytes()
                && icmp[6..8] == seq.to_be_bytes()
                && from.as_socket().map(|a| a.ip()) == Some(dst)
            {
                out.received += 1;
                out.rtt_ms.push(sent_at.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        if seq as u32 + 1 < count {
            std::thread::sleep(interval.saturating_sub(sent_at.elapsed()));
        }
    }
    Ok(out)
}

/// Opens a TCP connection from `source` out of `dev` to `dst` within
/// `timeout`; returns how long the handshake took.
pub fn tcp_connect(
    dev: &str,
    source: IpAddr,
    dst: SocketAddr,
    timeout: Duration,
) -> io::Result<Duration> {
    let domain = match dst.ip() {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.bind_device(Some(dev.as_bytes()))?;
    if source.is_ipv4() == dst.is_ipv4() {
        s.bind(&SocketAddr::new(source, 0).into())?;
    }
    let start = Instant::now();
    s.connect_timeout(&dst.into(), timeout)?;
    Ok(start.elapsed())
}
