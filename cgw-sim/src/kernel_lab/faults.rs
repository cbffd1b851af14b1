//! A scenario's link faults on kernel networking, with the semantics of the
//! simulated lab (`runner::faults`, `runner::wan_faults`):
//!
//! - `block`/`unblock`: drop rules in an nftables netdev table, on the
//!   ingress of both ends of the named link (default `cgw-wan`), so they
//!   see every packet crossing it in either direction. A port matches the
//!   source or the destination port, an address the source or the
//!   destination, as in the simulated firewall.
//! - `link_down`/`link_up`: both veth ends administratively down/up over
//!   rtnetlink; the routes the kernel drops with a downed interface are put
//!   back on the way up.
//! - `impair`: `loss` as an nftables `numgen random` drop rule (0 removes
//!   it), `mtu` as the veth MTU on both ends. `latency` and `jitter` are
//!   simulated-only: these kernels have no `tc netem`.
//! - `set_cgw_source_address`: a stateless rewrite on the internet
//!   router's ingress (CGW side: source -> new address; AWS side:
//!   destination -> back), ports kept, as the simulated rewrite box does.
//!
//! `aws1-wan` and `aws2-wan` are one veth (both endpoint addresses live in
//! the one `aws` namespace the mock runs in, and a namespace has one
//! routing table, so two veths could not keep each tunnel's replies on its
//! own link). Their faults are the same rules restricted to packets from or
//! to that endpoint's address, and `link_down` on them is an nftables
//! drop-everything rule for that address rather than a link state; an MTU
//! on one of them alone is simulated-only.
//!
//! IKE message drop/mangle are simulated-only (they need a box that parses
//! and counts IKE messages in the path). Gateway faults (`restart`,
//! `replace_endpoint`, `announce_prefixes`, `set_lifetime`) are not network
//! faults: [`KernelTopology::apply_fault`] answers
//! [`FaultEffect::ForGateways`] and the runner hands them to the gateways.

use std::net::{IpAddr, Ipv4Addr};

use lab::kernel::{check_addr, Netns, Route, RouteVia};

use super::nft::{nft, table_name, tables, IngressTable, RuleRef, TABLE_PREFIX};
use super::topology::{
    sysctl, KernelNode, KernelTopology, CGW_PEER_IF, INET_AWS_IF, INET_NAT_IF, NAT_OUT_IF,
};
use super::{KernelLabError, Result};
use crate::scenario::{FaultAction, Filter, Impairment, Protocol};

/// What applying a fault did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultEffect {
    /// Applied to the network.
    Applied,
    /// Not a network fault (`restart`, `replace_endpoint`,
    /// `announce_prefixes`, `set_lifetime`): the gateways must apply it.
    ForGateways,
}

/// Rules placed in a namespace's table.
type Placed = Vec<(KernelNode, RuleRef)>;

/// The faults in force and the nftables tables holding them.
#[derive(Debug, Default)]
pub(super) struct FaultState {
    tables: Vec<(KernelNode, IngressTable)>,
    /// The NAT's table (family ip) in the `nat` namespace.
    nat: Option<String>,
    /// Active blocks: the filter (link resolved), its rules.
    blocks: Vec<(Filter, Placed)>,
    /// Active loss rules by link.
    loss: Vec<(String, Placed)>,
    /// Links down: by link state (no rules) or by drop rules (aws1/2-wan).
    down: Vec<(String, Placed)>,
    /// The source rewrite's rules, when set.
    rewrite: Placed,
}

impl FaultState {
    /// Create the NAT's masquerade table in the `nat` namespace: every
    /// packet leaving by the public interface gets the public address
    /// (ports translated as needed, as the simulated NAT does), and UDP
    /// mappings expire after `timeout_secs` of silence (when non-zero).
    pub(super) fn nat_table(
        &mut self,
        ns: &Netns,
        public: Ipv4Addr,
        timeout_secs: u64,
    ) -> Result<()> {
        let name = table_name();
        let script = format!(
            "table ip {name} {{\n  chain postrouting {{\n    type nat hook postrouting priority 100; policy accept;\n    oifname \"{NAT_OUT_IF}\" snat to {public}\n  }}\n}}\n"
        );
        nft(ns, &["-f", "-"], Some(&script))?;
        self.nat = Some(name);
        if timeout_secs > 0 {
            // Per-namespace conntrack timeouts (present once the NAT table
            // loaded conntrack); IKE keepalives every 20 s keep a mapping.
            for key in [
                "net/netfilter/nf_conntrack_udp_timeout",
                "net/netfilter/nf_conntrack_udp_timeout_stream",
            ] {
                sysctl(ns, key, &timeout_secs.to_string())?;
            }
        }
        Ok(())
    }

    /// Delete every table we created; the state is consumed.
    pub(super) fn teardown(self, topo: &KernelTopology) -> Result<()> {
        let mut first_err = None;
        for (node, table) in &self.tables {
            if let Err(e) = topo.ns(*node).and_then(|ns| table.delete(ns)) {
                first_err.get_or_insert(e);
            }
        }
        if let Some(name) = &self.nat {
            if let Err(e) = topo
                .ns(KernelNode::Nat)
                .and_then(|ns| nft(ns, &["delete", "table", "ip", name], None))
            {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// nft matches (without the verdict) for a scenario filter: every packet
/// matching one of them is dropped.
fn filter_matches(f: &Filter) -> Result<Vec<String>> {
    let proto: Vec<String> = match (f.protocol, f.port) {
        (Some(Protocol::Udp), Some(p)) => vec![format!("udp sport {p}"), format!("udp dport {p}")],
        (Some(Protocol::Udp), None) => vec!["meta l4proto udp".into()],
        (Some(Protocol::Esp), None) => vec!["meta l4proto esp".into()],
        (Some(Protocol::Esp), Some(p)) => {
            return Err(KernelLabError::BadFault(format!(
                "block esp with port {p}: ESP has no ports"
            )))
        }
        (None, Some(p)) => vec![
            format!("meta l4proto {{ tcp, udp }} th sport {p}"),
            format!("meta l4proto {{ tcp, udp }} th dport {p}"),
        ],
        (None, None) => vec![String::new()],
    };
    let addr: Vec<String> = match f.address {
        None => vec![String::new()],
        Some(IpAddr::V4(a)) => vec![format!("ip saddr {a}"), format!("ip daddr {a}")],
        Some(IpAddr::V6(a)) => {
            return Err(KernelLabError::BadFault(format!(
                "block address {a}: the kernel lab is IPv4"
            )))
        }
    };
    Ok(addr
        .iter()
        .flat_map(|a| proto.iter().map(move |p| format!("{a} {p}")))
        .collect())
}

impl KernelTopology {
    /// Apply one scenario fault to the network; [`FaultEffect::ForGateways`]
    /// for faults the gateways apply, [`KernelLabError::SimulatedOnly`] for
    /// those the kernel lab cannot reproduce.
    pub fn apply_fault(&mut self, action: &FaultAction) -> Result<FaultEffect> {
        match action {
            FaultAction::Block(f) => self.block(f)?,
            FaultAction::Unblock(f) => self.unblock(f)?,
            FaultAction::LinkDown(l) => self.link_down(l)?,
            FaultAction::LinkUp(l) => self.link_up(l)?,
            FaultAction::Impair(i) => self.impair(i)?,
            FaultAction::SetCgwSourceAddress(IpAddr::V4(a)) => self.set_cgw_source_address(*a)?,
            FaultAction::SetCgwSourceAddress(IpAddr::V6(a)) => {
                return Err(KernelLabError::BadFault(format!(
                    "set_cgw_source_address {a}: the kernel lab is IPv4"
                )))
            }
            FaultAction::DropIkeMessage(_) | FaultAction::MangleIkeMessage(_) => {
                let what = if matches!(action, FaultAction::DropIkeMessage(_)) {
                    "drop_ike_message"
                } else {
                    "mangle_ike_message"
                };
                return Err(KernelLabError::SimulatedOnly {
                    what: what.into(),
                    why: IKE_MESSAGE_FAULTS.into(),
                });
            }
            FaultAction::Restart(_)
            | FaultAction::ReplaceEndpoint(_)
            | FaultAction::AnnouncePrefixes(_)
            | FaultAction::SetLifetime(_) => return Ok(FaultEffect::ForGateways),
        }
        Ok(FaultEffect::Applied)
    }

    /// `block`: drop what `f` matches on its link (default `cgw-wan`).
    pub fn block(&mut self, f: &Filter) -> Result<()> {
        let f = Filter {
            link: Some(f.link.clone().unwrap_or_else(|| "cgw-wan".into())),
            ..f.clone()
        };
        let matches = filter_matches(&f)?;
        let link = f.link.as_deref().unwrap_or("cgw-wan");
        let placed = self.place(link, &matches, "drop")?;
        self.faults.blocks.push((f, placed));
        Ok(())
    }

    /// `unblock`: remove the block with the same match and link.
    pub fn unblock(&mut self, f: &Filter) -> Result<()> {
        let want = Filter {
            link: Some(f.link.clone().unwrap_or_else(|| "cgw-wan".into())),
            ..f.clone()
        };
        let pos = self
            .faults
            .blocks
            .iter()
            .position(|(b, _)| *b == want)
            .ok_or_else(|| KernelLabError::BadFault("unblock: no matching block".into()))?;
        let (_, placed) = self.faults.blocks.remove(pos);
        self.unplace(&placed)
    }

    /// `link_down`: both veth ends down (for `aws1-wan`/`aws2-wan`: drop
    /// every packet from or to that endpoint). Idempotent.
    pub fn link_down(&mut self, name: &str) -> Result<()> {
        let link = self.link_named(name)?.clone();
        if self.faults.down.iter().any(|(n, _)| n == name) {
            return Ok(());
        }
        let placed = if link.only.is_some() {
            self.place(name, &[String::new()], "drop")?
        } else {
            for end in link.ends {
                self.ns(end.node)?.link_down(end.dev)?;
            }
            Vec::new()
        };
        self.faults.down.push((name.to_string(), placed));
        Ok(())
    }

    /// `link_up`: undo [`KernelTopology::link_down`], routes included.
    /// Idempotent.
    pub fn link_up(&mut self, name: &str) -> Result<()> {
        let link = self.link_named(name)?.clone();
        let Some(pos) = self.faults.down.iter().position(|(n, _)| n == name) else {
            return Ok(());
        };
        let (_, placed) = self.faults.down.remove(pos);
        if link.only.is_some() {
            return self.unplace(&placed);
        }
        for end in link.ends {
            self.ns(end.node)?.link_up(end.dev)?;
        }
        for end in link.ends {
            self.restore_routes(end.node)?;
        }
        self.wait_ready(&link.ends)
    }

    /// `impair`: loss and MTU; latency and jitter are simulated-only (and
    /// nothing is applied when they are asked for).
    pub fn impair(&mut self, i: &Impairment) -> Result<()> {
        if i.latency.is_some() || i.jitter.is_some() {
            return Err(KernelLabError::SimulatedOnly {
                what: format!("impair {} latency/jitter", i.link),
                why: NO_NETEM.into(),
            });
        }
        self.impair_link(&i.link, i.loss, i.mtu)
    }

    /// Set a link's loss (percent; 0 removes it) and/or MTU.
    pub(super) fn impair_link(
        &mut self,
        name: &str,
        loss: Option<f64>,
        mtu: Option<u16>,
    ) -> Result<()> {
        let link = self.link_named(name)?.clone();
        if let Some(mtu) = mtu {
            if link.only.is_some() {
                return Err(KernelLabError::SimulatedOnly {
                    what: format!("impair {name} mtu"),
                    why: "aws1-wan and aws2-wan share one veth in the kernel lab; an MTU on one \
                          tunnel's path alone cannot be set"
                        .into(),
                });
            }
            for end in link.ends {
                self.ns(end.node)?.set_mtu(end.dev, u32::from(mtu))?;
            }
        }
        if let Some(loss) = loss {
            if !(0.0..=100.0).contains(&loss) {
                return Err(KernelLabError::BadFault(format!(
                    "impair {name}: loss {loss} is not a percentage (0 to 100)"
                )));
            }
            if let Some(pos) = self.faults.loss.iter().position(|(n, _)| n == name) {
                let (_, placed) = self.faults.loss.remove(pos);
                self.unplace(&placed)?;
            }
            // Hundredths of a percent, so 2.5 % is exact.
            let per_10k = (loss * 100.0).round() as u32;
            if per_10k > 0 {
                // numgen's values are 0..=9999, and nft refuses a
                // comparison with 10000: total loss is a plain drop.
                let verdict = if per_10k >= 10_000 {
                    "drop".to_string()
                } else {
                    format!("numgen random mod 10000 < {per_10k} drop")
                };
                let placed = self.place(name, &[String::new()], &verdict)?;
                self.faults.loss.push((name.to_string(), placed));
            }
        }
        Ok(())
    }

    /// `set_cgw_source_address`: the CGW appears to AWS from `to` (its
    /// own address as AWS sees it removes the rewrite).
    pub fn set_cgw_source_address(&mut self, to: Ipv4Addr) -> Result<()> {
        check_addr(to)?;
        let rewrite = std::mem::take(&mut self.faults.rewrite);
        self.unplace(&rewrite)?;
        let a = self.addresses().clone();
        if to == a.aws_sees {
            return Ok(());
        }
        let cgw_side = if a.nat_public.is_some() {
            INET_NAT_IF
        } else {
            CGW_PEER_IF
        };
        let sees = a.aws_sees;
        let mut placed = Vec::new();
        placed.push(self.add_rule(
            KernelNode::Inet,
            cgw_side,
            &format!("meta protocol ip ip saddr {sees} ip saddr set {to}"),
        )?);
        placed.push(self.add_rule(
            KernelNode::Inet,
            INET_AWS_IF,
            &format!("meta protocol ip ip daddr {to} ip daddr set {sees}"),
        )?);
        self.faults.rewrite = placed;
        // AWS must route its answers to the new address towards the router.
        let covered = self.routes.iter().any(|(n, r)| {
            *n == KernelNode::Aws
                && matches!(r.dest, std::net::IpAddr::V4(d)
                    if u32::from(to) & prefix_mask(r.prefix_len) == u32::from(d))
        });
        if !covered {
            self.add_kept_route(
                KernelNode::Aws,
                Route {
                    dest: to.into(),
                    prefix_len: 32,
                    via: RouteVia::Gateway(a.inet_aws[0]),
                },
            )?;
        }
        Ok(())
    }

    /// Remove every fault in force (every table of ours but the NAT's).
    pub fn clear_faults(&mut self) -> Result<()> {
        for (node, table) in std::mem::take(&mut self.faults.tables) {
            table.delete(self.ns(node)?)?;
        }
        self.faults.blocks.clear();
        self.faults.loss.clear();
        self.faults.rewrite.clear();
        for (name, _) in std::mem::take(&mut self.faults.down) {
            let link = self.link_named(&name)?.clone();
            if link.only.is_none() {
                self.faults.down.push((name.clone(), Vec::new()));
                self.link_up(&name)?;
            }
        }
        Ok(())
    }

    /// Our nftables tables (`cgwsim_<pid>_<n>`) present in the topology's
    /// namespaces, as the kernel lists them.
    pub fn nft_tables(&self) -> Result<Vec<(KernelNode, String)>> {
        let mut out = Vec::new();
        for (node, ns) in self.namespaces() {
            for t in tables(ns)? {
                if t.starts_with(TABLE_PREFIX) {
                    out.push((node, t));
                }
            }
        }
        Ok(out)
    }

    /// Add `rule` to `dev`'s ingress chain in `node`'s table (created on
    /// first use).
    fn add_rule(
        &mut self,
        node: KernelNode,
        dev: &str,
        rule: &str,
    ) -> Result<(KernelNode, RuleRef)> {
        let (ns, faults) = self.ns_and_faults(node)?;
        let idx = match faults.tables.iter().position(|(n, _)| *n == node) {
            Some(i) => i,
            None => {
                faults.tables.push((node, IngressTable::create(ns)?));
                faults.tables.len() - 1
            }
        };
        let r = faults.tables[idx].1.add_rule(ns, dev, rule)?;
        Ok((node, r))
    }

    /// Put `matches` (each followed by `verdict`) on both ends of a link,
    /// restricted to one endpoint's packets on the shared AWS veth.
    fn place(&mut self, link: &str, matches: &[String], verdict: &str) -> Result<Placed> {
        let link = self.link_named(link)?.clone();
        let only: Vec<String> = match link.only {
            Some(a) => vec![format!("ip saddr {a}"), format!("ip daddr {a}")],
            None => vec![String::new()],
        };
        let mut placed = Vec::new();
        for end in link.ends {
            for o in &only {
                for m in matches {
                    let rule = format!("meta protocol ip {o} {m} {verdict}");
                    match self.add_rule(end.node, end.dev, &rule) {
                        Ok(p) => placed.push(p),
                        Err(e) => {
                            // Leave nothing half-applied.
                            let _ = self.unplace(&placed);
                            return Err(e);
                        }
                    }
                }
            }
        }
        Ok(placed)
    }

    fn unplace(&self, placed: &Placed) -> Result<()> {
        for (node, rule) in placed {
            let ns = self.ns(*node)?;
            if let Some((_, t)) = self.faults.tables.iter().find(|(n, _)| n == node) {
                t.delete_rule(ns, rule)?;
            }
        }
        Ok(())
    }
}

fn prefix_mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// Why latency and jitter stay in the simulated lab.
pub(super) const NO_NETEM: &str = "the kernels the lab runs on have no tc netem (sch_netem), so \
    latency and jitter cannot be added to a veth; run this scenario in the simulated lab";

/// Why IKE message drop/mangle stay in the simulated lab.
pub(super) const IKE_MESSAGE_FAULTS: &str = "dropping or mangling the n-th IKE message needs a \
    box in the path that parses and counts IKE messages; the kernel lab has none";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_nft_matches_with_either_direction() {
        let f = Filter {
            protocol: Some(Protocol::Udp),
            port: Some(500),
            address: Some("198.51.100.10".parse().unwrap()),
            link: None,
        };
        let m = filter_matches(&f).unwrap();
        assert_eq!(m.len(), 4);
        assert!(m.contains(&"ip saddr 198.51.100.10 udp dport 500".to_string()));
        assert!(m.contains(&"ip daddr 198.51.100.10 udp sport 500".to_string()));
        let esp = Filter {
            protocol: Some(Protocol::Esp),
            port: None,
            address: None,
            link: None,
        };
        assert_eq!(filter_matches(&esp).unwrap(), vec![" meta l4proto esp"]);
        let bad = Filter {
            port: Some(4500),
            ..esp
        };
        assert!(filter_matches(&bad).is_err());
    }
}
