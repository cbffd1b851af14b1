//! What a [`super::TunnelGateway`] has to send, queued without a heap
//! allocation per packet.
//!
//! A profile of 64-byte packets through the host driver showed each
//! packet's own `Vec`s (the sealed ESP packet, the outer IPv4 + UDP packet
//! around it, then a copy into the socket's send queue) in malloc, free
//! and memmove. Here every queued packet's bytes are appended to one
//! buffer that is reused once everything has been taken, and the outer
//! headers are not built at all: a datagram is queued as its addresses and
//! payload ([`Transmit::Datagram`]), which is what a socket sends. The
//! simulated lab, which carries whole IP packets, gets them built when it
//! asks ([`Transmit::to_packet`]).

use std::net::{Ipv4Addr, SocketAddrV4};

use lab::wire::{self, PROTO_ESP};
use lab::IfaceId;

/// One thing the gateway sends, borrowed from its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transmit<'a> {
    /// A UDP datagram on the outside interface (IKE on 500 or 4500, ESP
    /// in UDP on 4500, a NAT keepalive).
    Datagram {
        /// Our address and port.
        src: SocketAddrV4,
        /// The peer's.
        dst: SocketAddrV4,
        /// The UDP payload.
        payload: &'a [u8],
    },
    /// An ESP packet (IP protocol 50) on the outside interface.
    Esp {
        /// Our address.
        src: Ipv4Addr,
        /// The peer's.
        dst: Ipv4Addr,
        /// The ESP header onwards.
        payload: &'a [u8],
    },
    /// A whole IP packet on an interface (inner packets; the gateway's
    /// own ICMP on the outside).
    Packet {
        /// The interface.
        iface: IfaceId,
        /// The packet.
        packet: &'a [u8],
    },
}

impl Transmit<'_> {
    /// The interface and whole IP packet, as the simulated lab carries it
    /// (the outer IPv4 and UDP headers built here, UDP checksum zero).
    pub fn to_packet(&self, outside: IfaceId) -> (IfaceId, Vec<u8>) {
        match *self {
            Transmit::Datagram { src, dst, payload } => {
                let p = wire::build_udp(
                    (*src.ip(), src.port()),
                    (*dst.ip(), dst.port()),
                    payload,
                    false,
                );
                (outside, p)
            }
            Transmit::Esp { src, dst, payload } => (
                outside,
                wire::build_raw(src, dst, PROTO_ESP, payload, false),
            ),
            Transmit::Packet { iface, packet } => (iface, packet.to_vec()),
        }
    }
}

/// How a queued item is sent (its bytes are in the queue's buffer).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Datagram(SocketAddrV4, SocketAddrV4),
    Esp(Ipv4Addr, Ipv4Addr),
    Packet(IfaceId),
}

/// The gateway's output queue: first in, first out, one shared buffer.
#[derive(Debug, Default)]
pub(super) struct OutQueue {
    bytes: Vec<u8>,
    /// (how, start, end) of each item in `bytes`.
    items: Vec<(Kind, usize, usize)>,
    /// The next item [`OutQueue::pop`] returns.
    next: usize,
}

impl OutQueue {
    /// Queues a datagram whose payload `write` appends to the buffer it is
    /// given; nothing is queued when `write` fails (what it appended is
    /// dropped).
    pub(super) fn push_datagram_with<E>(
        &mut self,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.push_with(Kind::Datagram(src, dst), write)
    }

    /// Queues an ESP packet whose bytes `write` appends (see
    /// [`OutQueue::push_datagram_with`]).
    pub(super) fn push_esp_with<E>(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.push_with(Kind::Esp(src, dst), write)
    }

    /// Queues a datagram.
    pub(super) fn push_datagram(&mut self, src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) {
        let _ = self.push_datagram_with::<()>(src, dst, |b| {
            b.extend_from_slice(payload);
            Ok(())
        });
    }

    /// Queues a whole IP packet on `iface`.
    pub(super) fn push_packet(&mut self, iface: IfaceId, packet: &[u8]) {
        let _ = self.push_with::<()>(Kind::Packet(iface), |b| {
            b.extend_from_slice(packet);
            Ok(())
        });
    }

    fn push_with<E>(
        &mut self,
        kind: Kind,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.bytes.len();
        match write(&mut self.bytes) {
            Ok(()) => {
                self.items.push((kind, start, self.bytes.len()));
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(start);
                Err(e)
            }
        }
    }

    /// The oldest item not yet taken. Once all are taken the buffer is
    /// emptied (keeping its capacity) for what comes next.
    pub(super) fn pop(&mut self) -> Option<Transmit<'_>> {
        let Some(&(kind, start, end)) = self.items.get(self.next) else {
            self.items.clear();
            self.bytes.clear();
            self.next = 0;
            return None;
        };
        self.next += 1;
        let bytes = &self.bytes[start..end];
        Some(match kind {
            Kind::Datagram(src, dst) => Transmit::Datagram {
                src,
                dst,
                payload: bytes,
            },
            Kind::Esp(src, dst) => Transmit::Esp {
                src,
                dst,
                payload: bytes,
            },
            Kind::Packet(iface) => Transmit::Packet {
                iface,
                packet: bytes,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 10), 4500);
    const B: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 10), 4500);

    #[test]
    fn items_come_out_in_order_and_a_failed_write_queues_nothing() {
        let mut q = OutQueue::default();
        q.push_datagram(A, B, b"one");
        let r = q.push_esp_with(*A.ip(), *B.ip(), |b| {
            b.extend_from_slice(b"partial");
            Err("sealing failed")
        });
        assert_eq!(r, Err("sealing failed"));
        q.push_packet(IfaceId(3), b"inner");
        assert_eq!(
            q.pop(),
            Some(Transmit::Datagram {
                src: A,
                dst: B,
                payload: b"one"
            })
        );
        assert_eq!(
            q.pop(),
            Some(Transmit::Packet {
                iface: IfaceId(3),
                packet: b"inner"
            })
        );
        assert_eq!(q.pop(), None);
        // Emptied, and reused from the start.
        assert!(q.bytes.is_empty() && q.items.is_empty());
        q.push_datagram(B, A, b"two");
        assert!(matches!(
            q.pop(),
            Some(Transmit::Datagram {
                payload: b"two",
                ..
            })
        ));
    }

    #[test]
    fn the_lab_gets_whole_ip_packets() {
        let d = Transmit::Datagram {
            src: A,
            dst: B,
            payload: b"ike",
        };
        let (iface, p) = d.to_packet(IfaceId(0));
        assert_eq!(iface, IfaceId(0));
        assert_eq!(
            p,
            wire::build_udp((*A.ip(), 4500), (*B.ip(), 4500), b"ike", false)
        );
        let e = Transmit::Esp {
            src: *A.ip(),
            dst: *B.ip(),
            payload: &[1, 2, 3, 4],
        };
        assert_eq!(
            e.to_packet(IfaceId(0)).1,
            wire::build_raw(*A.ip(), *B.ip(), PROTO_ESP, &[1, 2, 3, 4], false)
        );
    }
}
