//! The lab's end hosts: ICMP echo handled here (so probes are exact and
//! cheap), TCP by a smoltcp stack ([`lab::Host`]) that listens on
//! [`TCP_PORTS`] and makes the runner's connection attempts.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Instant;

use lab::frag::{fragment, Reassembler};
use lab::wire::{self, Ipv4Info, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use sla::responder::Responder;

use super::sla_agent::{self, Outgoing, SlaAgent, SLA_UDP_PORT};
use lab::{Host, HostConfig, IfaceId, Node, SocketId, TcpState};

/// The TCP ports every host listens on (a server's usual ones); a connect
/// to any other port is refused.
pub(super) const TCP_PORTS: [u16; 3] = [22, 80, 443];

/// The MTU of a host's interface (Ethernet).
const HOST_MTU: usize = 1500;
/// ICMP identifier of the default pings.
pub(super) const DEFAULT_PING_ID: u16 = 7;
/// ICMP data bytes of the default pings (`ping`'s default).
pub(super) const DEFAULT_PING_SIZE: u16 = 56;

/// A host with one interface: answers pings, records echo replies and ICMP
/// "fragmentation needed" about its own pings, and reassembles fragments.
pub(super) struct PingHost {
    pub(super) addr: Ipv4Addr,
    pub(super) out: VecDeque<(IfaceId, Vec<u8>)>,
    /// (ICMP id, seq, arrival) of echo replies.
    pub(super) replies: Vec<(u16, u16, Instant)>,
    /// (ICMP id, seq, announced MTU, arrival) of "fragmentation needed"
    /// messages quoting our echo requests.
    pub(super) frag_needed: Vec<(u16, u16, u16, Instant)>,
    pub(super) next_seq: u16,
    /// The TCP/IP stack for TCP.
    pub(super) stack: Host,
    /// Listening sockets (port, socket).
    listeners: Vec<(u16, SocketId)>,
    /// Accepted connections, closed when the peer closes.
    served: Vec<SocketId>,
    next_ip_id: u16,
    reassembly: Reassembler,
    /// Further addresses the host holds (ICMP only): sources of pings.
    pub(super) aliases: Vec<Ipv4Addr>,
    /// The `[[cgw.probe]]` operations sent from this host.
    pub(super) sla: Option<SlaAgent>,
    /// The UDP probe responder every host runs (any port).
    responder: Responder,
    epoch: Instant,
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
            frag_needed: Vec::new(),
            next_seq: 0,
            next_ip_id: 1,
            reassembly: Reassembler::default(),
            aliases: Vec::new(),
            sla: None,
            responder: Responder::new(),
            epoch,
        }
    }

    /// Runs the host's prober at `now`: sends what is due.
    fn run_sla(&mut self, now: Instant) {
        let Some(agent) = self.sla.as_mut() else {
            return;
        };
        for o in agent.poll(now, &mut self.stack) {
            match o {
                Outgoing::Echo(dst, id, seq, size, df) => {
                    let data = vec![0xab; size];
                    let p = wire::build_icmp_echo(self.addr, dst, false, id, seq, &data);
                    self.send(p, df);
                }
                Outgoing::Udp(dst, port, payload, df) => {
                    let p = wire::build_udp((self.addr, SLA_UDP_PORT), (dst, port), &payload, df);
                    self.send(p, df);
                }
            }
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
        // Read (and drop) what clients send, so their transfers complete.
        let mut sink = Vec::new();
        for &c in &self.served {
            while stack.tcp_recv(c, &mut sink) > 0 {
                sink.clear();
            }
        }
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

    /// A ping with `size` bytes of ICMP data (as `ping -s`), DF set or not,
    /// with ICMP identifier `id`; returns its sequence number. Larger than
    /// the interface MTU without DF, it leaves in fragments. `src`: one of
    /// the host's aliases instead of its address.
    pub(super) fn send_ping_sized(
        &mut self,
        dst: Ipv4Addr,
        id: u16,
        size: u16,
        df: bool,
        src: Option<Ipv4Addr>,
    ) -> u16 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let data = vec![0xab; usize::from(size)];
        let from = src.unwrap_or(self.addr);
        let p = wire::build_icmp_echo(from, dst, false, id, seq, &data);
        self.send(p, df);
        seq
    }

    /// Sends an IP packet with a fresh IP identification, fragmenting it
    /// if it needs to and may.
    fn send(&mut self, mut p: Vec<u8>, df: bool) {
        p[4..6].copy_from_slice(&self.next_ip_id.to_be_bytes());
        self.next_ip_id = self.next_ip_id.wrapping_add(1).max(1);
        if df {
            p[6] |= 0x40;
        }
        wire::fix_ip_checksum(&mut p);
        match fragment(&p, HOST_MTU) {
            Some(frags) => self.out.extend(frags.into_iter().map(|f| (IfaceId(0), f))),
            // DF and too large: the link drops it, as a NIC would refuse.
            None => self.out.push_back((IfaceId(0), p)),
        }
    }
}

impl Node for PingHost {
    fn handle_packet(&mut self, now: Instant, _iface: IfaceId, packet: &[u8]) {
        let Some(info) = Ipv4Info::parse(packet) else {
            return;
        };
        let ours = info.dst == self.addr || self.aliases.contains(&info.dst);
        if !ours || !matches!(info.protocol, PROTO_ICMP | PROTO_TCP | PROTO_UDP) {
            return;
        }
        // Fragments (a CGW that clears DF fragments before encryption) are
        // put together first, for TCP as for ICMP.
        let Some(packet) = self.reassembly.push(packet) else {
            return;
        };
        let Some(info) = Ipv4Info::parse(&packet) else {
            return;
        };
        if info.protocol == PROTO_TCP {
            self.stack.handle_packet(now, IfaceId(0), &packet);
            self.serve(now);
            if let Some(a) = self.sla.as_mut() {
                a.collect(now, &mut self.stack);
            }
            return;
        }
        if info.protocol == PROTO_UDP {
            let Some(udp) = packet.get(info.header_len..info.total_len) else {
                return;
            };
            if udp.len() < 8 {
                return;
            }
            let sport = u16::from_be_bytes([udp[0], udp[1]]);
            let dport = u16::from_be_bytes([udp[2], udp[3]]);
            let payload = &udp[8..];
            if dport == SLA_UDP_PORT {
                if let Some(a) = self.sla.as_mut() {
                    a.handle_udp_reply(now, payload);
                    a.collect(now, &mut self.stack);
                }
            } else if let Some(r) =
                sla_agent::respond(&mut self.responder, info.src, payload, now, self.epoch)
            {
                let p = wire::build_udp((info.dst, dport), (info.src, sport), &r, false);
                self.send(p, false);
            }
            return;
        }
        let l4 = &packet[info.header_len..info.total_len];
        if l4.len() < 8 {
            return;
        }
        let id = u16::from_be_bytes([l4[4], l4[5]]);
        let seq = u16::from_be_bytes([l4[6], l4[7]]);
        match (l4[0], l4[1]) {
            (8, _) => {
                let r = wire::build_icmp_echo(info.dst, info.src, true, id, seq, &l4[8..]);
                self.send(r, false);
            }
            (0, _) => {
                let probe = self
                    .sla
                    .as_mut()
                    .is_some_and(|a| a.handle_echo_reply(now, id, seq));
                if probe {
                    if let Some(a) = self.sla.as_mut() {
                        a.collect(now, &mut self.stack);
                    }
                } else {
                    self.replies.push((id, seq, now));
                }
            }
            // Destination unreachable, fragmentation needed: the quoted
            // header and the first 8 bytes of our echo request.
            (3, 4) => {
                let mtu = u16::from_be_bytes([l4[6], l4[7]]);
                let quoted = &l4[8..];
                let hl = quoted.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
                if let Some(q) = quoted.get(hl..hl + 8).filter(|q| q[0] == 8) {
                    let qid = u16::from_be_bytes([q[4], q[5]]);
                    let qseq = u16::from_be_bytes([q[6], q[7]]);
                    self.frag_needed.push((qid, qseq, mtu, now));
                }
            }
            _ => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.stack.handle_timeout(now);
        self.serve(now);
        self.run_sla(now);
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front().or_else(|| self.stack.poll_transmit())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let sla = self.sla.as_ref().and_then(|a| a.poll_timeout());
        [self.stack.poll_timeout(), sla].into_iter().flatten().min()
    }
}
