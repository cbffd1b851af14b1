//! icmp-echo: one ICMP socket per operation. A raw socket when we may
//! (root or CAP_NET_RAW), else the unprivileged ICMP datagram socket
//! (`net.ipv4.ping_group_range`), where the kernel picks the identifier
//! and hands each socket only its own replies. IPv4 and IPv6.
//!
//! A raw socket sees every ICMP message of the host: replies are told
//! apart by identifier and a payload marker, and destination-unreachable
//! errors quoting one of our requests are reported as such.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use sla::config::OperationConfig;

use super::sockopt::pin;

/// The first payload bytes of our echo requests.
const MARKER: &[u8; 6] = b"cgwsla";

/// An echo request or reply of ours, or an unreachable error quoting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpInbound {
    /// An echo reply: sequence number (16 bits on the wire).
    Reply(u16),
    /// Destination unreachable for our request with this sequence.
    Unreachable(u16),
}

/// One operation's ICMP socket.
#[derive(Debug)]
pub struct IcmpSocket {
    /// The socket (tokio's UDP type serves any datagram descriptor).
    pub sock: UdpSocket,
    /// Raw (IP header on IPv4 receives, every ICMP message) or datagram.
    pub raw: bool,
    /// Our identifier (raw sockets; the kernel's for datagram ones).
    pub ident: u16,
    v6: bool,
    size: usize,
}

impl IcmpSocket {
    /// Opens and pins the socket for operation `op` of `cfg`.
    pub fn open(op: usize, cfg: &OperationConfig) -> io::Result<IcmpSocket> {
        let v6 = cfg.target.is_ipv6();
        let (domain, proto) = if v6 {
            (Domain::IPV6, Protocol::ICMPV6)
        } else {
            (Domain::IPV4, Protocol::ICMPV4)
        };
        let (s, raw) = match Socket::new(domain, Type::RAW, Some(proto)) {
            Ok(s) => (s, true),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => (
                Socket::new(domain, Type::DGRAM, Some(proto)).map_err(unprivileged)?,
                false,
            ),
            Err(e) => return Err(e),
        };
        pin(&s, cfg)?;
        super::rx_stamp::enable(&s)?;
        s.set_nonblocking(true)?;
        // Apart from other pingers on the host (fping, ping use their pid).
        let ident = (std::process::id() as u16)
            .rotate_left(5)
            .wrapping_add(op as u16);
        Ok(IcmpSocket {
            sock: UdpSocket::from_std(std::net::UdpSocket::from(s))?,
            raw,
            ident,
            v6,
            size: cfg.size,
        })
    }

    /// Sends echo request `seq` to `target`.
    pub fn send(&self, target: IpAddr, seq: u16) -> io::Result<()> {
        let msg = echo_request(self.v6, self.ident, seq, self.size);
        // Straight to the descriptor: tokio's `try_send_to` refuses until
        // its first readiness event, which would lose a fresh socket's
        // first probe.
        socket2::SockRef::from(&self.sock).send_to(&msg, &SocketAddr::new(target, 0).into())?;
        Ok(())
    }

    /// Makes sense of a received datagram.
    pub fn parse(&self, b: &[u8]) -> Option<IcmpInbound> {
        // Raw IPv4 sockets receive the IP header too.
        let icmp = if self.raw && !self.v6 {
            let ihl = usize::from(b.first()? & 0x0f) * 4;
            b.get(ihl..)?
        } else {
            b
        };
        parse(icmp, self.v6, self.raw.then_some(self.ident))
    }
}

/// Why neither ICMP socket could be opened, said so that the fix is
/// plain: the kernel answers EACCES for a group outside
/// `net.ipv4.ping_group_range` (which governs ICMPv6 too).
fn unprivileged(e: io::Error) -> io::Error {
    if e.kind() != io::ErrorKind::PermissionDenied {
        return e;
    }
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "no raw ICMP socket (needs root or CAP_NET_RAW) and no unprivileged one \
             (group {} is outside net.ipv4.ping_group_range = {range})",
            // SAFETY: getegid(2) takes nothing and cannot fail.
            unsafe { libc::getegid() }
        ),
    )
}

/// The Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `size` payload bytes (at least the marker).
pub fn echo_request(v6: bool, ident: u16, seq: u16, size: usize) -> Vec<u8> {
    let mut m = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(MARKER);
    m.resize(8 + size.max(MARKER.len()), 0);
    // ICMPv6's checksum covers a pseudo-header: the kernel fills it.
    if !v6 {
        let c = checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
    }
    m
}

/// An ICMP message: ours if its identifier is `ident` (raw sockets;
/// `None` for datagram sockets, whose kernel filtered already).
pub fn parse(icmp: &[u8], v6: bool, ident: Option<u16>) -> Option<IcmpInbound> {
    let (reply, unreach, request) = if v6 { (129, 1, 128) } else { (0, 3, 8) };
    let ty = *icmp.first()?;
    let ours = |m: &[u8]| -> Option<u16> {
        let id = u16::from_be_bytes([*m.get(4)?, *m.get(5)?]);
        let seq = u16::from_be_bytes([*m.get(6)?, *m.get(7)?]);
        let marked = m.get(8..8 + MARKER.len()) == Some(MARKER);
        (ident.is_none_or(|i| i == id) && marked).then_some(seq)
    };
    if ty == reply {
        return ours(icmp).map(IcmpInbound::Reply);
    }
    if ty == unreach {
        // The error quotes the offending IP header and 8+ bytes after it.
        let quoted = icmp.get(8..)?;
        let inner = if v6 {
            quoted.get(40..)?
        } else {
            quoted.get(usize::from(quoted.first()? & 0x0f) * 4..)?
        };
        if *inner.first()? != request {
            return None;
        }
        // The quote may stop before our marker: accept the identifier.
        let id = u16::from_be_bytes([*inner.get(4)?, *inner.get(5)?]);
        let seq = u16::from_be_bytes([*inner.get(6)?, *inner.get(7)?]);
        return ident
            .is_some_and(|i| i == id)
            .then_some(IcmpInbound::Unreachable(seq));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_checksum_and_reply_parse() {
        let m = echo_request(false, 0x1234, 7, 28);
        assert_eq!(m.len(), 36);
        assert_eq!(checksum(&m), 0);
        let mut r = m.clone();
        r[0] = 0;
        assert_eq!(parse(&r, false, Some(0x1234)), Some(IcmpInbound::Reply(7)));
        assert_eq!(parse(&r, false, Some(0x9999)), None);
        assert_eq!(parse(&r, false, None), Some(IcmpInbound::Reply(7)));
        // An unreachable quoting the request (IPv4 header of 20 bytes).
        let mut u = vec![3, 1, 0, 0, 0, 0, 0, 0, 0x45];
        u.extend_from_slice(&[0; 19]);
        u.extend_from_slice(&m[..8]);
        assert_eq!(
            parse(&u, false, Some(0x1234)),
            Some(IcmpInbound::Unreachable(7))
        );
    }
}
