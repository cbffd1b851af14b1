//! "The internet": a router forwarding by longest-prefix match.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Instant;

use crate::firewall::Firewall;
use crate::wire::{self, Ipv4Info, Prefix};
use crate::{IfaceId, Node};

/// Counters of a [`Router`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Packets forwarded.
    pub forwarded: u64,
    /// Packets without a matching route.
    pub no_route: u64,
    /// Packets whose TTL ran out.
    pub ttl_expired: u64,
    /// Packets that did not parse as IPv4.
    pub malformed: u64,
    /// Packets dropped by the router's firewall.
    pub firewall: u64,
    /// Packets addressed to the router itself (answered if ICMP echo).
    pub local: u64,
}

/// A router: interfaces with addresses, a static route table (longest prefix
/// wins; among equal prefixes the first added), TTL decrement, an optional
/// firewall applied to forwarded packets. Answers ICMP echo to its own
/// addresses.
#[derive(Debug, Clone, Default)]
pub struct Router {
    addrs: Vec<(IfaceId, Ipv4Addr)>,
    routes: Vec<(Prefix, IfaceId)>,
    firewall: Firewall,
    out: VecDeque<(IfaceId, Vec<u8>)>,
    stats: RouterStats,
}

impl Router {
    /// A router without interfaces or routes.
    pub fn new() -> Self {
        Router::default()
    }

    /// Gives interface `iface` the address `addr` (the router answers pings
    /// to it).
    pub fn with_addr(mut self, iface: IfaceId, addr: Ipv4Addr) -> Self {
        self.addrs.push((iface, addr));
        self
    }

    /// Adds a route: packets to `prefix` leave on `iface`.
    pub fn with_route(mut self, prefix: Prefix, iface: IfaceId) -> Self {
        self.add_route(prefix, iface);
        self
    }

    /// Adds a route at run time.
    pub fn add_route(&mut self, prefix: Prefix, iface: IfaceId) {
        self.routes.push((prefix, iface));
    }

    /// Removes every route to exactly `prefix`; returns how many.
    pub fn remove_route(&mut self, prefix: Prefix) -> usize {
        let before = self.routes.len();
        self.routes.retain(|r| r.0 != prefix);
        before - self.routes.len()
    }

    /// The interface a packet to `dst` leaves on, if any.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<IfaceId> {
        let mut best: Option<(Prefix, IfaceId)> = None;
        for &(p, i) in &self.routes {
            if p.contains(dst) && best.is_none_or(|b| p.len() > b.0.len()) {
                best = Some((p, i));
            }
        }
        best.map(|b| b.1)
    }

    /// The router's firewall (rules apply to forwarded packets).
    pub fn firewall(&self) -> &Firewall {
        &self.firewall
    }

    /// The router's firewall, to add or remove rules.
    pub fn firewall_mut(&mut self) -> &mut Firewall {
        &mut self.firewall
    }

    /// Counters.
    pub fn stats(&self) -> RouterStats {
        self.stats
    }
}

impl Node for Router {
    fn handle_packet(&mut self, _now: Instant, iface: IfaceId, packet: &[u8]) {
        let Some(info) = Ipv4Info::parse(packet) else {
            self.stats.malformed += 1;
            return;
        };
        if self.addrs.iter().any(|a| a.1 == info.dst) {
            self.stats.local += 1;
            let l4 = &packet[info.header_len..info.total_len];
            if info.protocol == wire::PROTO_ICMP && l4.len() >= 8 && l4[0] == 8 {
                let id = u16::from_be_bytes([l4[4], l4[5]]);
                let seq = u16::from_be_bytes([l4[6], l4[7]]);
                let reply = wire::build_icmp_echo(info.dst, info.src, true, id, seq, &l4[8..]);
                let out = self.lookup(info.src).unwrap_or(iface);
                self.out.push_back((out, reply));
            }
            return;
        }
        if !self.firewall.check(packet) {
            self.stats.firewall += 1;
            return;
        }
        if info.ttl <= 1 {
            self.stats.ttl_expired += 1;
            return;
        }
        let Some(out) = self.lookup(info.dst) else {
            self.stats.no_route += 1;
            return;
        };
        let mut p = packet[..info.total_len].to_vec();
        if wire::decrement_ttl(&mut p).is_none() {
            self.stats.malformed += 1;
            return;
        }
        self.stats.forwarded += 1;
        self.out.push_back((out, p));
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
