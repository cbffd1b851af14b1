//! Drop rules, applicable on a link or in a router.

use crate::wire::{Ipv4Info, Prefix, PROTO_ESP, PROTO_UDP};

/// What a rule matches. Every field set must match; unset fields match all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rule {
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// UDP/TCP port, matched against the source or the destination port.
    pub port: Option<u16>,
    /// Source prefix.
    pub src: Option<Prefix>,
    /// Destination prefix.
    pub dst: Option<Prefix>,
}

impl Rule {
    /// Drop UDP to or from `port` (500 for IKE, 4500 for NAT-T).
    pub fn udp_port(port: u16) -> Self {
        Rule {
            protocol: Some(PROTO_UDP),
            port: Some(port),
            ..Rule::default()
        }
    }

    /// Drop ESP (IP protocol 50).
    pub fn esp() -> Self {
        Rule {
            protocol: Some(PROTO_ESP),
            ..Rule::default()
        }
    }

    /// Drop packets whose source lies in `prefix`.
    pub fn src(prefix: Prefix) -> Self {
        Rule {
            src: Some(prefix),
            ..Rule::default()
        }
    }

    /// Drop packets whose destination lies in `prefix`.
    pub fn dst(prefix: Prefix) -> Self {
        Rule {
            dst: Some(prefix),
            ..Rule::default()
        }
    }

    /// True when the packet matches. Malformed packets match nothing (the
    /// forwarding element counts them separately).
    pub fn matches(&self, packet: &[u8]) -> bool {
        let Some(info) = Ipv4Info::parse(packet) else {
            return false;
        };
        if self.protocol.is_some_and(|p| p != info.protocol) {
            return false;
        }
        if self.src.is_some_and(|p| !p.contains(info.src)) {
            return false;
        }
        if self.dst.is_some_and(|p| !p.contains(info.dst)) {
            return false;
        }
        if let Some(port) = self.port {
            if info.protocol == crate::wire::PROTO_ICMP {
                return false;
            }
            match info.ports(packet) {
                Some((s, d)) if s == port || d == port => {}
                _ => return false,
            }
        }
        true
    }
}

/// Names a rule inside one [`Firewall`], for removal and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(u64);

/// An ordered list of drop rules with per-rule hit counters. Everything not
/// matched passes.
#[derive(Debug, Clone, Default)]
pub struct Firewall {
    rules: Vec<(RuleId, Rule, u64)>,
    next: u64,
    dropped: u64,
    removed_hits: u64,
}

impl Firewall {
    /// An empty firewall (passes everything).
    pub fn new() -> Self {
        Firewall::default()
    }

    /// Adds a drop rule; returns its id.
    pub fn add_rule(&mut self, rule: Rule) -> RuleId {
        let id = RuleId(self.next);
        self.next += 1;
        self.rules.push((id, rule, 0));
        id
    }

    /// Removes a rule; returns false if it was not there.
    pub fn remove_rule(&mut self, id: RuleId) -> bool {
        let Some(pos) = self.rules.iter().position(|r| r.0 == id) else {
            return false;
        };
        let (_, _, hits) = self.rules.remove(pos);
        self.removed_hits += hits;
        true
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        for id in self.rules.iter().map(|r| r.0).collect::<Vec<_>>() {
            self.remove_rule(id);
        }
    }

    /// Packets dropped by `id` so far (`None` if there is no such rule).
    pub fn hits(&self, id: RuleId) -> Option<u64> {
        self.rules.iter().find(|r| r.0 == id).map(|r| r.2)
    }

    /// Packets dropped by all rules, including removed ones.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Number of rules in place.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule is in place.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks a packet: true when it passes, false when a rule drops it
    /// (and that rule's counter is incremented).
    pub fn check(&mut self, packet: &[u8]) -> bool {
        for r in &mut self.rules {
            if r.1.matches(packet) {
                r.2 += 1;
                self.dropped += 1;
                return false;
            }
        }
        true
    }
}
