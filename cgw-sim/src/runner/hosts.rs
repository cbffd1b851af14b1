//! The lab's end hosts.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Instant;

use lab::wire::{self, Ipv4Info, PROTO_ICMP};
use lab::{IfaceId, Node};

/// A host with one interface: answers pings and records echo replies.
pub(super) struct PingHost {
    pub(super) addr: Ipv4Addr,
    pub(super) out: VecDeque<(IfaceId, Vec<u8>)>,
    /// (seq, arrival) of echo replies.
    pub(super) replies: Vec<(u16, Instant)>,
    pub(super) next_seq: u16,
}

impl PingHost {
    pub(super) fn new(addr: Ipv4Addr) -> PingHost {
        PingHost {
            addr,
            out: VecDeque::new(),
            replies: Vec::new(),
            next_seq: 0,
        }
    }

    pub(super) fn send_ping(&mut self, dst: Ipv4Addr) -> u16 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let p = wire::build_icmp_echo(self.addr, dst, false, 7, seq, &[0xab; 56]);
        self.out.push_back((IfaceId(0), p));
        seq
    }
}

impl Node for PingHost {
    fn handle_packet(&mut self, now: Instant, _iface: IfaceId, packet: &[u8]) {
        let Some(info) = Ipv4Info::parse(packet) else {
            return;
        };
        if info.dst != self.addr || info.protocol != PROTO_ICMP {
            return;
        }
        let l4 = &packet[info.header_len..info.total_len];
        if l4.len() < 8 {
            return;
        }
        let id = u16::from_be_bytes([l4[4], l4[5]]);
        let seq = u16::from_be_bytes([l4[6], l4[7]]);
        match l4[0] {
            8 => {
                let r = wire::build_icmp_echo(self.addr, info.src, true, id, seq, &l4[8..]);
                self.out.push_back((IfaceId(0), r));
            }
            0 => self.replies.push((seq, now)),
            _ => {}
        }
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
