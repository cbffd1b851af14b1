//! A NAT box: source NAT with port translation (NAPT) for UDP, TCP and ICMP
//! echo, endpoint-independent mappings that expire when idle.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::wire::{self, Ipv4Info, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use crate::{IfaceId, Node};

/// Settings of a [`Nat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatConfig {
    /// The interface facing the private side.
    pub inside: IfaceId,
    /// The interface facing the public side.
    pub outside: IfaceId,
    /// The public address packets leave with.
    pub public_addr: Ipv4Addr,
    /// Idle time after which a UDP or TCP mapping is removed.
    pub udp_timeout: Duration,
    /// Idle time after which an ICMP echo mapping is removed.
    pub icmp_timeout: Duration,
    /// First public port (or ICMP id) handed out; allocation is sequential,
    /// so runs are deterministic.
    pub port_start: u16,
}

impl NatConfig {
    /// Inside `inside`, outside `outside` with `public_addr`; mappings
    /// expire after 30 s idle (UDP, TCP, ICMP); ports from 49152.
    pub fn new(inside: IfaceId, outside: IfaceId, public_addr: Ipv4Addr) -> Self {
        NatConfig {
            inside,
            outside,
            public_addr,
            udp_timeout: Duration::from_secs(30),
            icmp_timeout: Duration::from_secs(30),
            port_start: 49_152,
        }
    }
}

/// Counters of a [`Nat`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NatStats {
    /// Packets translated outbound.
    pub outbound: u64,
    /// Packets translated inbound.
    pub inbound: u64,
    /// Inbound packets without a mapping (dropped).
    pub no_mapping: u64,
    /// Packets of protocols the NAT does not translate, or malformed.
    pub unsupported: u64,
    /// Mappings created.
    pub mappings_created: u64,
    /// Mappings removed after their idle timeout.
    pub mappings_expired: u64,
    /// Outbound packets dropped because every public port was taken.
    pub exhausted: u64,
}

/// One translation: private (address, port) to public port, per protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Protocol (UDP, TCP or ICMP).
    pub protocol: u8,
    /// Private address.
    pub private_addr: Ipv4Addr,
    /// Private port (or ICMP id).
    pub private_port: u16,
    /// Public port (or ICMP id).
    pub public_port: u16,
    /// When the mapping expires unless used.
    pub expires: Instant,
}

/// A source-NAT box (see the module documentation). Inbound packets to an
/// unknown mapping are dropped; other protocols (ESP included) are dropped
/// and counted as unsupported.
#[derive(Debug, Clone)]
pub struct Nat {
    cfg: NatConfig,
    by_private: BTreeMap<(u8, Ipv4Addr, u16), u16>,
    by_public: BTreeMap<(u8, u16), Mapping>,
    next_port: u16,
    out: VecDeque<(IfaceId, Vec<u8>)>,
    stats: NatStats,
}

impl Nat {
    /// A NAT with no mappings.
    pub fn new(cfg: NatConfig) -> Self {
        Nat {
            cfg,
            by_private: BTreeMap::new(),
            by_public: BTreeMap::new(),
            next_port: cfg.port_start.max(1),
            out: VecDeque::new(),
            stats: NatStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> NatStats {
        self.stats
    }

    /// The current mappings, ordered by protocol and public port.
    pub fn mappings(&self) -> Vec<Mapping> {
        self.by_public.values().copied().collect()
    }

    /// Removes every mapping (the fault "the NAT rebooted / changed its
    /// mapping"). The port counter is not reset, so the next mapping of a
    /// flow gets a different public port.
    pub fn flush(&mut self) {
        self.by_private.clear();
        self.by_public.clear();
    }

    /// Changes the public address (existing mappings keep their ports).
    pub fn set_public_addr(&mut self, addr: Ipv4Addr) {
        self.cfg.public_addr = addr;
    }

    /// The configuration in force.
    pub fn config(&self) -> NatConfig {
        self.cfg
    }

    fn timeout(&self, protocol: u8) -> Duration {
        if protocol == PROTO_ICMP {
            self.cfg.icmp_timeout
        } else {
            self.cfg.udp_timeout
        }
    }

    fn allocate(&mut self, protocol: u8) -> Option<u16> {
        let start = self.cfg.port_start.max(1);
        let span = u32::from(u16::MAX - start) + 1;
        for _ in 0..span {
            let p = self.next_port;
            self.next_port = if p == u16::MAX { start } else { p + 1 };
            if !self.by_public.contains_key(&(protocol, p)) {
                return Some(p);
            }
        }
        None
    }

    fn outbound(&mut self, now: Instant, packet: &[u8]) {
        let Some(info) = Ipv4Info::parse(packet) else {
            self.stats.unsupported += 1;
            return;
        };
        let Some((sport, _)) = info.ports(packet) else {
            self.stats.unsupported += 1;
            return;
        };
        if !matches!(info.protocol, PROTO_UDP | PROTO_TCP | PROTO_ICMP) {
            self.stats.unsupported += 1;
            return;
        }
        let key = (info.protocol, info.src, sport);
        let expires = now.checked_add(self.timeout(info.protocol)).unwrap_or(now);
        let public_port = match self.by_private.get(&key) {
            Some(&p) => p,
            None => {
                let Some(p) = self.allocate(info.protocol) else {
                    self.stats.exhausted += 1;
                    return;
                };
                self.by_private.insert(key, p);
                self.stats.mappings_created += 1;
                p
            }
        };
        self.by_public.insert(
            (info.protocol, public_port),
            Mapping {
                protocol: info.protocol,
                private_addr: info.src,
                private_port: sport,
                public_port,
                expires,
            },
        );
        let mut p = packet[..info.total_len].to_vec();
        if !wire::rewrite_src(&mut p, self.cfg.public_addr, Some(public_port)) {
            self.stats.unsupported += 1;
            return;
        }
        self.stats.outbound += 1;
        self.out.push_back((self.cfg.outside, p));
    }

    fn inbound(&mut self, now: Instant, packet: &[u8]) {
        let Some(info) = Ipv4Info::parse(packet) else {
            self.stats.unsupported += 1;
            return;
        };
        if info.protocol == PROTO_ICMP && info.dst == self.cfg.public_addr {
            let l4 = &packet[info.header_len..info.total_len];
            if l4.len() >= 8 && matches!(l4[0], 3 | 11) {
                self.inbound_icmp_error(&info, packet);
                return;
            }
        }
        let Some((_, dport)) = info.ports(packet) else {
            self.stats.unsupported += 1;
            return;
        };
        if info.dst != self.cfg.public_addr {
            self.stats.no_mapping += 1;
            return;
        }
        let timeout = self.timeout(info.protocol);
        let Some(m) = self.by_public.get_mut(&(info.protocol, dport)) else {
            self.stats.no_mapping += 1;
            return;
        };
        m.expires = now.checked_add(timeout).unwrap_or(now);
        let (addr, port) = (m.private_addr, m.private_port);
        let mut p = packet[..info.total_len].to_vec();
        if !wire::rewrite_dst(&mut p, addr, Some(port)) {
            self.stats.unsupported += 1;
            return;
        }
        self.stats.inbound += 1;
        self.out.push_back((self.cfg.inside, p));
    }
}

impl Nat {
    /// An ICMP error (destination unreachable, time exceeded) about a packet
    /// we translated: the quoted packet names the mapping. The outer
    /// destination and the quoted source address and port are translated
    /// back, so that path MTU discovery works behind the NAT.
    fn inbound_icmp_error(&mut self, outer: &Ipv4Info, packet: &[u8]) {
        let mut p = packet[..outer.total_len].to_vec();
        let inner_off = outer.header_len + 8;
        let quoted = &p[inner_off..];
        let Some(inner) = quoted_header(quoted) else {
            self.stats.unsupported += 1;
            return;
        };
        let ih = inner.0;
        let (proto, src_port) = (inner.1, inner.2);
        let Some(m) = self.by_public.get(&(proto, src_port)) else {
            self.stats.no_mapping += 1;
            return;
        };
        let (addr, port) = (m.private_addr, m.private_port);
        let q = &mut p[inner_off..];
        q[12..16].copy_from_slice(&addr.octets());
        let port_off = if proto == PROTO_ICMP { ih + 4 } else { ih };
        q[port_off..port_off + 2].copy_from_slice(&port.to_be_bytes());
        q[10] = 0;
        q[11] = 0;
        let c = wire::checksum(0, &q[..ih]);
        q[10..12].copy_from_slice(&c.to_be_bytes());
        p[16..20].copy_from_slice(&addr.octets());
        wire::fix_ip_checksum(&mut p);
        wire::fix_l4_checksum(&mut p);
        self.stats.inbound += 1;
        self.out.push_back((self.cfg.inside, p));
    }
}

/// The quoted packet of an ICMP error: its header length, protocol and
/// source port (or ICMP id); `None` unless at least the header and the first
/// eight transport bytes are there. The quoted packet is usually truncated,
/// so its total length is not checked.
fn quoted_header(q: &[u8]) -> Option<(usize, u8, u16)> {
    let first = *q.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ih = usize::from(first & 0x0f) * 4;
    if ih < 20 || q.len() < ih + 8 {
        return None;
    }
    let proto = q[9];
    let port = match proto {
        PROTO_UDP | PROTO_TCP => u16::from_be_bytes([q[ih], q[ih + 1]]),
        PROTO_ICMP => u16::from_be_bytes([q[ih + 4], q[ih + 5]]),
        _ => return None,
    };
    Some((ih, proto, port))
}

impl Node for Nat {
    fn handle_packet(&mut self, now: Instant, iface: IfaceId, packet: &[u8]) {
        self.handle_timeout(now);
        if iface == self.cfg.inside {
            self.outbound(now, packet);
        } else if iface == self.cfg.outside {
            self.inbound(now, packet);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<(u8, u16)> = self
            .by_public
            .iter()
            .filter(|(_, m)| m.expires <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some(m) = self.by_public.remove(&k) {
                self.by_private
                    .remove(&(m.protocol, m.private_addr, m.private_port));
                self.stats.mappings_expired += 1;
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.by_public.values().map(|m| m.expires).min()
    }
}
