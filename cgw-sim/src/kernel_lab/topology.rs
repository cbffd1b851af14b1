//! A scenario's topology on kernel networking: one namespace per node of
//! the simulated lab's topology, veth pairs for its named links, the same
//! addresses, and explicit routes (no default routes: the lab guard
//! refuses them, and explicit lab-plan prefixes are all the hosts need).
//!
//! ```text
//! onprem eth0 --onprem-lan-- lan0 cgw wan0 --cgw-wan-- cgw0 [nat out0 --nat-wan-- nat0] inet
//! inet aws0 --aws1-wan/aws2-wan-- wan0 aws vpc0 --vpc-lan-- eth0 vpc
//! ```
//!
//! Outside links are /24s: the CGW's (`cgw_address`/24), the NAT's public
//! one, and AWS's (one veth holding both tunnel endpoint addresses, since
//! the mock runs as one process in one namespace; `aws1-wan` and
//! `aws2-wan` are that veth restricted to one endpoint address, see
//! [`super::faults`]). The router's address on each is the first free
//! address of the /24. LANs use the scenario's CIDRs, the gateway being
//! the first address of the LAN (the second when the host holds the
//! first), as in the simulated lab.

use std::net::{IpAddr, Ipv4Addr};

use lab::kernel::{Netns, Route, RouteVia};

use super::faults::FaultState;
use super::{slash24, KernelLabError, Result};
use crate::scenario::{Assertion, FaultAction, Prefix, Scenario};

/// A namespace of the kernel topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelNode {
    /// The on-prem host (ping, TCP).
    Onprem,
    /// The customer gateway's namespace (run our CGW here).
    Cgw,
    /// The source NAT in front of the CGW (only with `[topology.nat]`).
    Nat,
    /// The internet router between the CGW side and AWS.
    Inet,
    /// Both AWS tunnel endpoints and the VPC router (run the mock here).
    Aws,
    /// The VPC host (ping, TCP).
    Vpc,
}

impl KernelNode {
    /// The node's name as scenarios use it (`"internet"` for [`KernelNode::Inet`]).
    pub fn name(self) -> &'static str {
        match self {
            KernelNode::Onprem => "onprem",
            KernelNode::Cgw => "cgw",
            KernelNode::Nat => "nat",
            KernelNode::Inet => "internet",
            KernelNode::Aws => "aws",
            KernelNode::Vpc => "vpc",
        }
    }
}

/// The on-prem host's interface (in [`KernelNode::Onprem`]).
pub const ONPREM_IF: &str = "eth0";
/// The CGW's LAN interface (in [`KernelNode::Cgw`], towards on-prem).
pub const CGW_LAN_IF: &str = "lan0";
/// The CGW's WAN interface (in [`KernelNode::Cgw`], towards the NAT or the internet).
pub const CGW_WAN_IF: &str = "wan0";
/// The CGW-facing interface of the NAT (or of the internet router without one).
pub const CGW_PEER_IF: &str = "cgw0";
/// The NAT's public interface (in [`KernelNode::Nat`]).
pub const NAT_OUT_IF: &str = "out0";
/// The internet router's interface towards the NAT.
pub const INET_NAT_IF: &str = "nat0";
/// The internet router's interface towards AWS.
pub const INET_AWS_IF: &str = "aws0";
/// AWS's outside interface (in [`KernelNode::Aws`]): both endpoint addresses.
pub const AWS_WAN_IF: &str = "wan0";
/// AWS's VPC-facing interface (in [`KernelNode::Aws`]).
pub const AWS_VPC_IF: &str = "vpc0";
/// The VPC host's interface (in [`KernelNode::Vpc`]).
pub const VPC_IF: &str = "eth0";

/// The addresses the topology gave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelAddresses {
    /// The on-prem host (`topology.onprem_host`).
    pub onprem_host: Ipv4Addr,
    /// The on-prem LAN (`topology.onprem_cidr`).
    pub onprem_cidr: (Ipv4Addr, u8),
    /// The CGW's LAN address (the on-prem host's gateway).
    pub cgw_lan: Ipv4Addr,
    /// The CGW's outside address (`topology.cgw_address`, on a /24).
    pub cgw_wan: Ipv4Addr,
    /// The CGW's next hop on `cgw-wan` (the NAT's or the router's address).
    pub cgw_gateway: Ipv4Addr,
    /// The NAT's public address, with a NAT.
    pub nat_public: Option<Ipv4Addr>,
    /// The router's address on `nat-wan` (the NAT's next hop), with a NAT.
    pub inet_nat: Option<Ipv4Addr>,
    /// The AWS tunnel endpoints' outside addresses (tunnel 1, tunnel 2).
    pub aws: [Ipv4Addr; 2],
    /// The router's address in each AWS endpoint's /24 (AWS's next hop).
    pub inet_aws: [Ipv4Addr; 2],
    /// The CGW's address as AWS sees it (the NAT's public one with a NAT).
    pub aws_sees: Ipv4Addr,
    /// The VPC router's address in the VPC (in [`KernelNode::Aws`]).
    pub vpc_gateway: Ipv4Addr,
    /// The VPC host (`topology.vpc_host`).
    pub vpc_host: Ipv4Addr,
    /// The VPC CIDR (`topology.vpc_cidr`).
    pub vpc_cidr: (Ipv4Addr, u8),
}

/// One end of a link: a namespace and the interface in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkEnd {
    /// The namespace.
    pub node: KernelNode,
    /// The interface name in it.
    pub dev: &'static str,
}

/// A named link: its two ends, and, for `aws1-wan`/`aws2-wan`, the one
/// endpoint address its faults are restricted to on the shared veth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KernelLink {
    pub(super) name: &'static str,
    pub(super) ends: [LinkEnd; 2],
    pub(super) only: Option<Ipv4Addr>,
}

/// How long [`KernelTopology::build`] and `link_up` wait for veths to be
/// operationally up.
pub const LINK_READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A scenario's topology on kernel networking. Dropping it removes every
/// namespace (with its interfaces, routes, nftables tables and TUN
/// devices) it created, also during a panic.
#[derive(Debug)]
pub struct KernelTopology {
    namespaces: Vec<(KernelNode, Netns)>,
    addrs: KernelAddresses,
    pub(super) links: Vec<KernelLink>,
    /// Every route installed, to put back those a link going down removed.
    pub(super) routes: Vec<(KernelNode, Route)>,
    pub(super) faults: FaultState,
}

fn v4(p: &Prefix) -> Option<(Ipv4Addr, u8)> {
    match p.addr {
        IpAddr::V4(a) => Some((a, p.len)),
        IpAddr::V6(_) => None,
    }
}

fn mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// Whether two prefixes overlap (one contains the other).
fn overlap(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let m = mask(a.1.min(b.1));
    u32::from(a.0) & m == u32::from(b.0) & m
}

/// The LAN's gateway: its first address, or the second when the host
/// holds the first (the simulated lab's rule).
fn lan_gateway(lan: (Ipv4Addr, u8), host: Ipv4Addr) -> Ipv4Addr {
    let first = Ipv4Addr::from((u32::from(lan.0) & mask(lan.1)) + 1);
    if first == host {
        Ipv4Addr::from(u32::from(first) + 1)
    } else {
        first
    }
}

/// The first host address of `net`/24 not in `taken`.
fn free_in(net: Ipv4Addr, taken: &[Ipv4Addr]) -> Ipv4Addr {
    (1..255u32)
        .map(|h| Ipv4Addr::from(u32::from(net) + h))
        .find(|a| !taken.contains(a))
        // 254 hosts and at most three taken: never reached.
        .unwrap_or(Ipv4Addr::from(u32::from(net) + 254))
}

fn plan(s: &Scenario) -> Result<KernelAddresses> {
    let t = &s.topology;
    let bad = |m: String| KernelLabError::Topology(m);
    let onprem_cidr =
        v4(&t.onprem_cidr).ok_or_else(|| bad("topology.onprem_cidr must be IPv4".into()))?;
    let vpc_cidr = v4(&t.vpc_cidr).ok_or_else(|| bad("topology.vpc_cidr must be IPv4".into()))?;
    if overlap(onprem_cidr, vpc_cidr) {
        return Err(bad("topology.onprem_cidr and vpc_cidr overlap".into()));
    }
    let aws = [t.aws_tunnel1_address, t.aws_tunnel2_address];
    let aws_sees = t.nat.as_ref().map_or(t.cgw_address, |n| n.public_address);
    let mut outside = vec![("topology.cgw_address", t.cgw_address)];
    if let Some(n) = &t.nat {
        outside.push(("topology.nat.public_address", n.public_address));
    }
    for (key, a) in &outside {
        for (i, x) in aws.iter().enumerate() {
            if slash24(*a) == slash24(*x) {
                return Err(bad(format!(
                    "{key} {a} shares a /24 with AWS tunnel {} ({x}); the kernel lab puts each \
                     outside link on its own /24",
                    i + 1
                )));
            }
        }
    }
    if outside.len() == 2 && slash24(outside[0].1) == slash24(outside[1].1) {
        return Err(bad(format!(
            "topology.cgw_address {} and the NAT's public address {} share a /24; the kernel lab \
             puts cgw-wan and nat-wan on their own /24s",
            outside[0].1, outside[1].1
        )));
    }
    for (key, cidr) in [("onprem_cidr", onprem_cidr), ("vpc_cidr", vpc_cidr)] {
        for (okey, a) in outside.iter().copied().chain([
            ("topology.aws_tunnel1_address", aws[0]),
            ("topology.aws_tunnel2_address", aws[1]),
        ]) {
            if overlap(cidr, (a, 24)) {
                return Err(bad(format!("topology.{key} overlaps {okey}'s /24")));
            }
        }
    }
    let cgw_gateway = free_in(slash24(t.cgw_address), &[t.cgw_address]);
    let inet_nat = t
        .nat
        .as_ref()
        .map(|n| free_in(slash24(n.public_address), &[n.public_address]));
    let inet_aws = aws.map(|a| free_in(slash24(a), &aws));
    Ok(KernelAddresses {
        onprem_host: t.onprem_host,
        onprem_cidr,
        cgw_lan: lan_gateway(onprem_cidr, t.onprem_host),
        cgw_wan: t.cgw_address,
        cgw_gateway,
        nat_public: t.nat.as_ref().map(|n| n.public_address),
        inet_nat,
        aws,
        inet_aws,
        aws_sees,
        vpc_gateway: lan_gateway(vpc_cidr, t.vpc_host),
        vpc_host: t.vpc_host,
        vpc_cidr,
    })
}

/// Check that the scenario's addresses fit the kernel topology (distinct
/// outside /24s, LANs apart from them), without creating anything.
pub(super) fn check_plan(s: &Scenario) -> Result<()> {
    plan(s).map(drop)
}

/// Routes for a LAN host through its gateway: the other side's CIDR, the
/// tunnel inside range, and both sides' static routes, skipping what
/// overlaps the host's own LAN, without duplicates.
fn host_routes(own: (Ipv4Addr, u8), wanted: &[(Ipv4Addr, u8)]) -> Vec<(Ipv4Addr, u8)> {
    let mut out: Vec<(Ipv4Addr, u8)> = Vec::new();
    for &p in wanted {
        let p = (Ipv4Addr::from(u32::from(p.0) & mask(p.1)), p.1);
        if !overlap(p, own) && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

impl KernelTopology {
    /// Build the scenario's topology: create the namespaces, veths,
    /// addresses, routes, forwarding and the NAT, then apply the link
    /// settings of `[topology.links]` the kernel can do (loss, MTU; latency
    /// and jitter are left to [`super::kernel_support`] to refuse). On an
    /// error, whatever was created is removed.
    pub fn build(s: &Scenario) -> Result<KernelTopology> {
        let a = plan(s)?;
        let mut topo = KernelTopology {
            namespaces: Vec::new(),
            addrs: a.clone(),
            links: Vec::new(),
            routes: Vec::new(),
            faults: FaultState::default(),
        };
        use KernelNode::*;
        let mut nodes = vec![Onprem, Cgw, Inet, Aws, Vpc];
        if a.nat_public.is_some() {
            nodes.insert(2, Nat);
        }
        for node in nodes {
            topo.namespaces.push((node, Netns::new()?));
        }
        let end = |node, dev| LinkEnd { node, dev };

        // onprem-lan
        topo.veth(end(Cgw, CGW_LAN_IF), end(Onprem, ONPREM_IF))?;
        topo.address(Cgw, CGW_LAN_IF, a.cgw_lan, a.onprem_cidr.1)?;
        topo.address(Onprem, ONPREM_IF, a.onprem_host, a.onprem_cidr.1)?;
        topo.link(
            "onprem-lan",
            end(Onprem, ONPREM_IF),
            end(Cgw, CGW_LAN_IF),
            None,
        );

        // cgw-wan, and nat-wan with a NAT
        let cgw_peer = if a.nat_public.is_some() { Nat } else { Inet };
        topo.veth(end(Cgw, CGW_WAN_IF), end(cgw_peer, CGW_PEER_IF))?;
        topo.address(Cgw, CGW_WAN_IF, a.cgw_wan, 24)?;
        topo.address(cgw_peer, CGW_PEER_IF, a.cgw_gateway, 24)?;
        topo.link(
            "cgw-wan",
            end(Cgw, CGW_WAN_IF),
            end(cgw_peer, CGW_PEER_IF),
            None,
        );
        let aws_nets: Vec<Ipv4Addr> = {
            let mut v = vec![slash24(a.aws[0])];
            if !v.contains(&slash24(a.aws[1])) {
                v.push(slash24(a.aws[1]));
            }
            v
        };
        for net in &aws_nets {
            topo.route(Cgw, *net, 24, RouteVia::Gateway(a.cgw_gateway))?;
        }
        if let (Some(public), Some(inet_nat)) = (a.nat_public, a.inet_nat) {
            topo.veth(end(Nat, NAT_OUT_IF), end(Inet, INET_NAT_IF))?;
            topo.address(Nat, NAT_OUT_IF, public, 24)?;
            topo.address(Inet, INET_NAT_IF, inet_nat, 24)?;
            topo.link(
                "nat-wan",
                end(Nat, NAT_OUT_IF),
                end(Inet, INET_NAT_IF),
                None,
            );
            for net in &aws_nets {
                topo.route(Nat, *net, 24, RouteVia::Gateway(inet_nat))?;
            }
            let timeout = s
                .topology
                .nat
                .as_ref()
                .map_or(0, |n| n.mapping_timeout.as_secs());
            let (ns, faults) = topo.ns_and_faults(Nat)?;
            faults.nat_table(ns, public, timeout)?;
        }

        // aws1-wan / aws2-wan: one veth, both endpoint addresses
        topo.veth(end(Aws, AWS_WAN_IF), end(Inet, INET_AWS_IF))?;
        for (i, addr) in a.aws.iter().enumerate() {
            topo.address(Aws, AWS_WAN_IF, *addr, 24)?;
            if i == 0 || a.inet_aws[1] != a.inet_aws[0] {
                topo.address(Inet, INET_AWS_IF, a.inet_aws[i], 24)?;
            }
        }
        let aws_ends = [end(Inet, INET_AWS_IF), end(Aws, AWS_WAN_IF)];
        topo.link("aws1-wan", aws_ends[0], aws_ends[1], Some(a.aws[0]));
        topo.link("aws2-wan", aws_ends[0], aws_ends[1], Some(a.aws[1]));
        // AWS reaches the CGW's public /24, and the /24 of any address a
        // `set_cgw_source_address` fault will make the CGW appear from.
        let mut cgw_side = vec![slash24(a.aws_sees)];
        for f in &s.faults {
            if let FaultAction::SetCgwSourceAddress(IpAddr::V4(x)) = f.action {
                let net = slash24(x);
                if !cgw_side.contains(&net) && !aws_nets.contains(&net) {
                    cgw_side.push(net);
                }
            }
        }
        for net in cgw_side {
            topo.route(Aws, net, 24, RouteVia::Gateway(a.inet_aws[0]))?;
        }

        // vpc-lan
        topo.veth(end(Aws, AWS_VPC_IF), end(Vpc, VPC_IF))?;
        topo.address(Aws, AWS_VPC_IF, a.vpc_gateway, a.vpc_cidr.1)?;
        topo.address(Vpc, VPC_IF, a.vpc_host, a.vpc_cidr.1)?;
        topo.link("vpc-lan", end(Vpc, VPC_IF), end(Aws, AWS_VPC_IF), None);

        // The hosts' routes through their gateways.
        let inside = (Ipv4Addr::new(169, 254, 0, 0), 16);
        let statics: Vec<(Ipv4Addr, u8)> = s
            .aws
            .static_routes
            .iter()
            .chain(&s.cgw.static_routes)
            .filter_map(v4)
            .collect();
        let mut want = vec![a.vpc_cidr, inside];
        want.extend(&statics);
        for (dest, len) in host_routes(a.onprem_cidr, &want) {
            topo.route(Onprem, dest, len, RouteVia::Gateway(a.cgw_lan))?;
        }
        let mut want = vec![a.onprem_cidr, inside];
        want.extend(&statics);
        for (dest, len) in host_routes(a.vpc_cidr, &want) {
            topo.route(Vpc, dest, len, RouteVia::Gateway(a.vpc_gateway))?;
        }
        // Extra on-prem addresses the ping expectations send from.
        let mut aliases: Vec<Ipv4Addr> = Vec::new();
        for e in &s.expectations {
            if let Assertion::Ping {
                source: Some(src), ..
            } = e.assertion
            {
                if src != a.onprem_host && !aliases.contains(&src) {
                    aliases.push(src);
                }
            }
        }
        for src in aliases {
            let len = if overlap((src, 32), a.onprem_cidr) {
                a.onprem_cidr.1
            } else {
                32
            };
            topo.address(Onprem, ONPREM_IF, src, len)?;
        }

        for node in [Cgw, Nat, Inet, Aws] {
            if let Ok(ns) = topo.ns(node) {
                sysctl(ns, "net/ipv4/ip_forward", "1")?;
            }
        }
        for (name, l) in &s.topology.links {
            if l.loss.is_some() || l.mtu.is_some() {
                topo.impair_link(name, l.loss, l.mtu)?;
            }
        }
        let ends: Vec<LinkEnd> = topo.links.iter().flat_map(|l| l.ends).collect();
        topo.wait_ready(&ends)?;
        Ok(topo)
    }

    /// The namespace of `node`; an error for [`KernelNode::Nat`] without a NAT.
    pub fn ns(&self, node: KernelNode) -> Result<&Netns> {
        self.namespaces
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, ns)| ns)
            .ok_or_else(|| {
                KernelLabError::Topology(format!(
                    "no {} namespace in this topology (no [topology.nat])",
                    node.name()
                ))
            })
    }

    /// A namespace and the fault state together (disjoint borrows).
    pub(super) fn ns_and_faults(&mut self, node: KernelNode) -> Result<(&Netns, &mut FaultState)> {
        let ns = self
            .namespaces
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, ns)| ns)
            .ok_or_else(|| {
                KernelLabError::Topology(format!("no {} namespace in this topology", node.name()))
            })?;
        Ok((ns, &mut self.faults))
    }

    /// Every namespace, with its node.
    pub fn namespaces(&self) -> impl Iterator<Item = (KernelNode, &Netns)> {
        self.namespaces.iter().map(|(n, ns)| (*n, ns))
    }

    /// The addresses given out.
    pub fn addresses(&self) -> &KernelAddresses {
        &self.addrs
    }

    /// The named links (`onprem-lan`, `cgw-wan`, `nat-wan`, `aws1-wan`,
    /// `aws2-wan`, `vpc-lan`) and their ends. `aws1-wan` and `aws2-wan`
    /// have the same ends (one veth; their faults match one endpoint
    /// address each).
    pub fn links(&self) -> Vec<(&'static str, [LinkEnd; 2])> {
        self.links.iter().map(|l| (l.name, l.ends)).collect()
    }

    pub(super) fn link_named(&self, name: &str) -> Result<&KernelLink> {
        self.links
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| KernelLabError::NoSuchLink(name.to_string()))
    }

    fn link(&mut self, name: &'static str, a: LinkEnd, b: LinkEnd, only: Option<Ipv4Addr>) {
        self.links.push(KernelLink {
            name,
            ends: [a, b],
            only,
        });
    }

    fn veth(&self, a: LinkEnd, b: LinkEnd) -> Result<()> {
        let (na, nb) = (self.ns(a.node)?, self.ns(b.node)?);
        na.add_veth(a.dev, b.dev, nb)?;
        na.link_up(a.dev)?;
        nb.link_up(b.dev)?;
        Ok(())
    }

    fn address(&self, node: KernelNode, dev: &str, addr: Ipv4Addr, len: u8) -> Result<()> {
        Ok(self.ns(node)?.add_address(dev, addr, len)?)
    }

    fn route(
        &mut self,
        node: KernelNode,
        dest: impl Into<IpAddr>,
        len: u8,
        via: RouteVia,
    ) -> Result<()> {
        let route = Route {
            dest: dest.into(),
            prefix_len: len,
            via,
        };
        self.ns(node)?.add_route(&route)?;
        self.routes.push((node, route));
        Ok(())
    }

    /// Add a route in a namespace and remember it (so it comes back after
    /// a link down/up); for callers placing the lab's own routes.
    pub(super) fn add_kept_route(&mut self, node: KernelNode, route: Route) -> Result<()> {
        self.route(node, route.dest, route.prefix_len, route.via)
    }

    /// Wait until every given interface is operationally up (the kernel
    /// drops what a veth is given in the second or so before its queue is
    /// activated), at most [`LINK_READY_TIMEOUT`].
    pub(super) fn wait_ready(&self, ends: &[LinkEnd]) -> Result<()> {
        let until = std::time::Instant::now() + LINK_READY_TIMEOUT;
        let mut pending: Vec<LinkEnd> = ends.to_vec();
        // Bounded by the deadline, polling every 20 ms.
        loop {
            let mut still = Vec::new();
            for end in pending {
                let links = self.ns(end.node)?.links()?;
                if !links.iter().any(|l| l.name == end.dev && l.oper_up) {
                    still.push(end);
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            if std::time::Instant::now() >= until {
                let names: Vec<String> = still
                    .iter()
                    .map(|e| format!("{}/{}", e.node.name(), e.dev))
                    .collect();
                return Err(KernelLabError::Topology(format!(
                    "interfaces not operationally up after {} s: {}",
                    LINK_READY_TIMEOUT.as_secs(),
                    names.join(", ")
                )));
            }
            pending = still;
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Put back the remembered routes of `node` the kernel dropped while
    /// one of its interfaces was down.
    pub(super) fn restore_routes(&self, node: KernelNode) -> Result<()> {
        let ns = self.ns(node)?;
        let present = ns.routes()?;
        for (_, route) in self.routes.iter().filter(|(n, _)| *n == node) {
            let there = present.iter().any(|e| {
                e.dest == route.dest
                    && e.prefix_len == route.prefix_len
                    && match &route.via {
                        RouteVia::Gateway(g) => e.gateway == Some(IpAddr::V4(*g)),
                        RouteVia::Device(d) => e.dev.as_deref() == Some(d.as_str()),
                    }
            });
            if !there {
                ns.add_route(route)?;
            }
        }
        Ok(())
    }
}

impl Drop for KernelTopology {
    fn drop(&mut self) {
        // Delete our nftables tables first (the namespaces take them along
        // anyway, but a namespace kept alive by a gateway thread would keep
        // its rules); errors are reported, Drop cannot fail.
        let faults = std::mem::take(&mut self.faults);
        if let Err(e) = faults.teardown(self) {
            eprintln!("kernel lab: removing nftables tables: {e}");
        }
        // Then the namespaces, in reverse order of creation.
        while let Some((_, ns)) = self.namespaces.pop() {
            drop(ns);
        }
    }
}

/// Write a sysctl inside a namespace (`key` under /proc/sys).
pub(super) fn sysctl(ns: &Netns, key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{key}");
    ns.run(|| std::fs::write(&path, value))?
        .map_err(|e| KernelLabError::io(format!("writing {path} in {}", ns.name()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, len: u8) -> (Ipv4Addr, u8) {
        (s.parse().unwrap(), len)
    }

    #[test]
    fn gateways_and_free_addresses_avoid_the_hosts() {
        assert_eq!(
            lan_gateway(p("198.18.0.0", 24), "198.18.0.10".parse().unwrap()),
            "198.18.0.1".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(
            lan_gateway(p("198.18.0.0", 24), "198.18.0.1".parse().unwrap()),
            "198.18.0.2".parse::<Ipv4Addr>().unwrap()
        );
        let net: Ipv4Addr = "198.51.100.0".parse().unwrap();
        let taken = [
            "198.51.100.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
        ];
        assert_eq!(
            free_in(net, &taken),
            "198.51.100.3".parse::<Ipv4Addr>().unwrap()
        );
    }

    #[test]
    fn host_routes_skip_the_own_lan_and_duplicates() {
        let own = p("198.18.0.0", 24);
        let got = host_routes(
            own,
            &[
                p("198.19.0.0", 16),
                p("169.254.0.0", 16),
                p("198.18.0.0", 16),
                p("198.19.0.0", 16),
            ],
        );
        assert_eq!(got, vec![p("198.19.0.0", 16), p("169.254.0.0", 16)]);
    }

    #[test]
    fn the_plan_refuses_a_shared_outside_slash24() {
        let mut s = Scenario::from_toml("[scenario]\nname = \"x\"\n", "x.toml").unwrap();
        s.topology.cgw_address = "198.51.100.99".parse().unwrap();
        let e = plan(&s).unwrap_err().to_string();
        assert!(e.contains("shares a /24"), "{e}");
    }
}
