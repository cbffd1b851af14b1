//! Import and export policies: prefix filters, prefix limits, AS_PATH
//! prepending, MED and next hop rewriting.

use std::net::IpAddr;

use crate::route::IpNet;

/// One prefix-list rule: `prefix`, optionally with `ge`/`le` bounds on the
/// length of the prefixes it matches (as in router prefix lists).
///
/// Without bounds the rule matches `prefix` exactly. With `le` it matches
/// prefixes inside `prefix` of length `prefix.len ..= le`; with `ge` of
/// length `ge ..= max` (32 or 128); with both, `ge ..= le`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixRule {
    /// The covering prefix.
    pub prefix: IpNet,
    /// Lower bound on the matched prefix length.
    pub ge: Option<u8>,
    /// Upper bound on the matched prefix length.
    pub le: Option<u8>,
}

impl PrefixRule {
    /// A rule matching exactly `prefix`.
    pub fn exact(prefix: IpNet) -> PrefixRule {
        PrefixRule {
            prefix: prefix.trunc(),
            ge: None,
            le: None,
        }
    }

    /// A rule matching `prefix` and every more specific prefix inside it.
    pub fn or_longer(prefix: IpNet) -> PrefixRule {
        PrefixRule {
            prefix: prefix.trunc(),
            ge: None,
            le: Some(prefix.max_prefix_len()),
        }
    }

    /// A rule with explicit bounds.
    pub fn new(prefix: IpNet, ge: Option<u8>, le: Option<u8>) -> PrefixRule {
        PrefixRule {
            prefix: prefix.trunc(),
            ge,
            le,
        }
    }

    /// Whether `p` matches this rule.
    pub fn matches(&self, p: &IpNet) -> bool {
        let own = self.prefix.prefix_len();
        let (lo, hi) = match (self.ge, self.le) {
            (None, None) => (own, own),
            (Some(g), None) => (g, self.prefix.max_prefix_len()),
            (None, Some(l)) => (own, l),
            (Some(g), Some(l)) => (g, l),
        };
        let len = p.prefix_len();
        len >= own && (lo..=hi).contains(&len) && self.prefix.contains(p)
    }
}

/// A prefix filter: a prefix passes when it matches no `deny` rule and,
/// if `allow` is set, at least one `allow` rule. The default passes all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixFilter {
    /// Only prefixes matching one of these pass (`None`: all pass).
    pub allow: Option<Vec<PrefixRule>>,
    /// Prefixes matching any of these are refused (checked first).
    pub deny: Vec<PrefixRule>,
}

impl PrefixFilter {
    /// Whether `p` passes the filter.
    pub fn permits(&self, p: &IpNet) -> bool {
        !self.deny.iter().any(|r| r.matches(p))
            && self
                .allow
                .as_ref()
                .is_none_or(|rules| rules.iter().any(|r| r.matches(p)))
    }
}

/// What a peer's announcements go through before they reach the Loc-RIB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPolicy {
    /// Maximum number of prefixes per AFI/SAFI in the peer's Adj-RIB-In
    /// (AWS: 100 for a virtual private gateway, 1000 for a transit
    /// gateway). Every received prefix counts, including denied ones.
    pub max_prefixes: Option<u32>,
    /// Warn (once per crossing) when the count reaches this percentage of
    /// `max_prefixes` (e.g. 75 or 90).
    pub warning_threshold_percent: Option<u8>,
    /// Prefixes refused on import (reported as
    /// [`DenyReason::ImportFilter`](super::DenyReason::ImportFilter)).
    pub filter: PrefixFilter,
    /// LOCAL_PREF given to routes from this peer (overrides a received
    /// LOCAL_PREF); `None`: the received value on iBGP, the default on
    /// eBGP.
    pub local_pref: Option<u32>,
}

/// What the best routes go through before they are sent to a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportPolicy {
    /// Extra copies of our AS prepended on eBGP (on top of the one every
    /// eBGP announcement gets).
    pub prepend: usize,
    /// MED to send. `None`: to eBGP peers, the MED of locally originated
    /// and static routes is kept and a learned MED is not passed on (RFC
    /// 4271 5.1.4); to iBGP peers, the MED is kept.
    pub med: Option<u32>,
    /// NEXT_HOP to send (`None`: the route's next hop, unchanged).
    pub next_hop_self: Option<IpAddr>,
    /// Prefixes not sent to this peer.
    pub filter: PrefixFilter,
    /// Do not send routes whose AS_PATH already holds the peer's AS
    /// (sender-side loop detection; the peer would refuse them anyway).
    pub suppress_peer_as: bool,
    /// Send static routes to this peer (locally originated routes are
    /// always sent).
    pub redistribute_static: bool,
}
