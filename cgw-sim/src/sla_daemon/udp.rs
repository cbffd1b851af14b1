//! udp-echo and udp-jitter: one UDP socket per operation, connected to
//! the responder, so the kernel filters other senders and reports an ICMP
//! port unreachable as `ECONNREFUSED` on the next receive. Requests carry
//! the sender's CLOCK_REALTIME transmit stamp; replies are matched by
//! operation id and sequence number and stamped on receipt.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use sla::config::OperationConfig;
use sla::engine::Stamps;
use sla::wire::Probe;

use super::sockopt::{pin, realtime_ns};

/// Opens, pins and connects operation `cfg`'s socket.
pub fn open(cfg: &OperationConfig) -> io::Result<UdpSocket> {
    let target = SocketAddr::new(cfg.target, cfg.port.unwrap_or(0));
    let domain = if target.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    pin(&s, cfg)?;
    super::rx_stamp::enable(&s)?;
    s.connect(&target.into())?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(std::net::UdpSocket::from(s))
}

/// Sends probe `seq` of operation `op` (`size` bytes), stamped now.
pub fn send(sock: &UdpSocket, op: u16, seq: u32, size: usize) -> io::Result<()> {
    let b = Probe::request(op, seq, realtime_ns(), size).emit();
    // Straight to the descriptor (see `icmp::IcmpSocket::send`).
    socket2::SockRef::from(sock).send(&b)?;
    Ok(())
}

/// A reply to operation `op`, with its four stamps (`rx_ns`: when it
/// arrived); `None` for anything else.
pub fn reply(b: &[u8], op: u16, rx_ns: u64) -> Option<(u32, Stamps)> {
    let p = Probe::parse(b).ok()?;
    (p.reply && p.op == op).then_some((
        p.seq,
        Stamps {
            sender_tx_ns: p.sender_tx_ns,
            responder_rx_ns: p.responder_rx_ns,
            responder_tx_ns: p.responder_tx_ns,
            sender_rx_ns: rx_ns,
            responder_count: p.responder_count,
        },
    ))
}
