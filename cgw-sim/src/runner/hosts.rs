//! The lab's end hosts: ICMP echo handled here (so probes are exact and
//! cheap), TCP by a smoltcp stack ([`lab::Host`]) that listens on
//! [`TCP_PORTS`] and makes the runner's connection attempts.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Instant;

use lab::wire::{self, Ipv4Info, PROTO_ICMP, PROTO_TCP};
use lab::{Host, HostConfig, IfaceId, Node, SocketId, TcpState};

/// The TCP ports every host listens on (a server's usual ones); a connect
/// to any other port is refused.
pub(super) const TCP_PORTS: [u16; 3] = [22, 80, 443];

/// A host with one interface: answers pings and records echo replies.
pub(super) struct PingHost {
    pub(super) addr: Ipv4Addr,
    pub(super) out: VecDeque<(IfaceId, Vec<u8>)>,
    /// (seq, arrival) of echo replies.
    pub(super) replies: Vec<(u16, Instant)>,
    pub(super) next_seq: u16,
    /// The TCP/IP stack for TCP.
    pub(super) stack: Host,
    /// Listening sockets (port, socket).
    listeners: Vec<(u16, SocketId)>,
    /// Accepted connections, closed when the peer closes.
    served: Vec<SocketId>,
}

impl PingHost {
    /// A host at `addr`/`len` whose stack sends off-link packets to
    /// `gateway` (the only interface leads there anyway).
    pub(super) fn new(
        epoch: Instant,
        addr: Ipv4Addr,
        len: u8,
        gateway: Ipv4Addr,
        seed: u64,
    ) -> PingHost {
        let cfg = HostConfig::new(addr, len)
            .with_gateway(gateway)
            .with_seed(seed);
        let mut stack = Host::new(epoch, cfg);
        let listeners = TCP_PORTS
            .iter()
            .filter_map(|p| stack.tcp_listen(*p).ok().map(|s| (*p, s)))
            .collect();
        PingHost {
            stack,
            listeners,
            served: Vec::new(),
            addr,
            out: VecDeque::new(),
            replies: Vec::new(),
            next_seq: 0,
        }
    }

    /// Server side: a listener that took a connection becomes a served
    /// connection and a new listener takes its place; served connections
    /// are closed when the client closes, and released when done.
    fn serve(&mut self, now: Instant) {
        for (port, sock) in &mut self.listeners {
            if self.stack.tcp_state(*sock) != TcpState::Listen {
                self.served.push(*sock);
                if let Ok(n) = self.stack.tcp_listen(*port) {
                    *sock = n;
                }
            }
        }
        let stack = &mut self.stack;
        self.served.retain(|&c| match stack.tcp_state(c) {
            TcpState::CloseWait => {
                stack.tcp_close(c);
                true
            }
            TcpState::Closed | TcpState::TimeWait => {
                stack.tcp_release(c);
                false
            }
            _ => true,
        });
        if self.stack.poll_timeout().is_some_and(|t| t <= now) {
            self.stack.handle_timeout(now);
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
        if info.dst == self.addr && info.protocol == PROTO_TCP {
            self.stack.handle_packet(now, IfaceId(0), packet);
            self.serve(now);
            return;
        }
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

    fn handle_timeout(&mut self, now: Instant) {
        self.stack.handle_timeout(now);
        self.serve(now);
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front().or_else(|| self.stack.poll_transmit())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.stack.poll_timeout()
    }
}
