//! BGP in the simulated lab (`routing = "bgp"`): a BGP speaker on each
//! gateway's control-plane interface, the route tables they feed, and what
//! they report.
//!
//! - The CGW: one [`BgpHost`] holding both tunnels' inside addresses, AS
//!   `cgw.bgp.asn`, one active session per tunnel to AWS's inside address,
//!   announcing `cgw.bgp.announce` (default: the on-prem CIDR) with itself
//!   as next hop. Its best routes become the gateway's tunnel routes (next
//!   hop = an AWS inside address = that tunnel).
//! - AWS: one [`BgpHost`] per tunnel endpoint, AS `aws.asn`, passive (the
//!   mock waits for the CGW's connection), hold time 30 s / keepalive 10 s,
//!   the prefix limit (100 for a virtual private gateway, 1000 for a transit
//!   gateway), the RIB's own-AS rejection, announcing the VPC CIDR with MED
//!   100. The two endpoints' learned routes go through
//!   [`choose_tunnels`](crate::aws::path_choice::choose_tunnels): one egress
//!   tunnel per prefix, into the VPC route table when route propagation is
//!   on.
//! - Fast external fallover on both sides: when a tunnel goes down its
//!   session is reset at once (as a device tears down BGP on a tunnel
//!   interface going down, and as AWS's DPD action "clear" removes the
//!   tunnel's routes), instead of waiting for the hold timer.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp::rib::{PeerId, Rib, RibEvent, RouteSource};
use bgp::route::{IpNet, PathAttributes};
use bgp::session::{SessionEvent, State};
use bgp::speaker::{Speaker, SpeakerEvent};
use lab::wire::Prefix as LabPrefix;
use lab::{Host, HostConfig, IfaceId, LinkConfig, NodeId, Router, Sim};

use super::observed::Diagnosed;
use crate::assemble::Inside;
use crate::aws::path_choice::{choose_tunnels, VpnRoute, VpnRouteSource};
use crate::diagnosis::{Diagnosis, Side};
use crate::node::{BgpHost, TunnelGateway, TunnelId, CONTROL};
use crate::scenario::Scenario;

/// The MTU of the speakers' tunnel interfaces: what AWS's configuration
/// downloads set on a CGW's tunnel interface (`ip mtu 1400`), and below
/// every ESP overhead of AWS's table, so BGP's segments are never too big
/// for the outside link once encrypted.
const TUNNEL_MTU: usize = 1400;
pub(super) use crate::assemble::bgp::AWS_MED;

/// The BGP part of a lab.
pub(super) struct BgpLab {
    /// The CGW's speaker node.
    pub cgw_host: NodeId,
    /// The CGW's peer per tunnel.
    pub cgw_peers: [PeerId; 2],
    /// AWS's speaker node per tunnel endpoint.
    pub aws_hosts: [NodeId; 2],
    /// Each AWS speaker's one peer (the CGW).
    pub aws_peers: [PeerId; 2],
    /// (AWS inside address, CGW inside address) per tunnel.
    pub inside: [(Ipv4Addr, Ipv4Addr); 2],
    /// Whether each tunnel was up at the last sync: [CGW, AWS] x tunnel.
    was_up: [[bool; 2]; 2],
    /// The CGW's routes installed from BGP.
    cgw_installed: BTreeSet<LabPrefix>,
    /// The routes each AWS gateway holds from BGP.
    aws_installed: [BTreeSet<LabPrefix>; 2],
    /// The VPC route table's VPN routes (prefix to AWS tunnel index).
    pub vpc_installed: BTreeMap<LabPrefix, usize>,
    /// Prefixes the CGW announces.
    announced: Vec<IpNet>,
    /// The MED each AWS endpoint sends now.
    aws_med: [u32; 2],
}

fn net(p: LabPrefix) -> IpNet {
    IpNet::new(IpAddr::V4(p.addr()), p.len()).expect("a lab prefix's length is at most 32")
}

fn lab_net(n: &IpNet) -> Option<LabPrefix> {
    match n {
        IpNet::V4(n) => LabPrefix::new(n.network(), n.prefix_len()),
        IpNet::V6(_) => None,
    }
}

/// Adds the speakers to `sim` and links them to the gateways' control
/// interfaces. `inside`: (AWS, CGW) inside address per tunnel.
pub(super) fn attach(
    sim: &mut Sim,
    s: &Scenario,
    cgw: NodeId,
    aws: [NodeId; 2],
    inside: [(Ipv4Addr, Ipv4Addr); 2],
    seed: u64,
) -> Result<BgpLab, String> {
    let epoch = sim.epoch();
    let now = sim.now();
    let cgw_as = s.cgw.bgp.asn;
    let cgw_expects = s.cgw.bgp.peer_asn.unwrap_or(s.aws.asn);
    let aws_expects = s.aws.cgw_asn.unwrap_or(cgw_as);

    // The CGW: both inside addresses on one host.
    let mut hc = HostConfig::new(inside[0].1, 30)
        .with_addr(inside[1].1, 30)
        .with_seed(seed ^ 0xb6);
    hc.mtu = TUNNEL_MTU;
    let router_id = s.topology.cgw_address;
    let mut cgw_node = BgpHost::new(
        epoch,
        Host::new(epoch, hc),
        Speaker::new(crate::assemble::bgp::cgw_rib(cgw_as, router_id)),
    );
    let mut cgw_peers = Vec::new();
    for ((aws_in, cgw_in), t) in inside.into_iter().zip([&s.cgw.tunnel1, &s.cgw.tunnel2]) {
        let inside = Inside {
            aws: aws_in,
            cgw: cgw_in,
            v6: None,
        };
        let pc = crate::assemble::bgp::cgw_peer(&s.cgw.bgp, t, cgw_expects, router_id, inside);
        let peer = cgw_node.add_peer(pc).map_err(|e| format!("cgw.bgp: {e}"))?;
        cgw_peers.push(peer);
    }
    let mut announced: Vec<IpNet> = s
        .cgw
        .bgp
        .announce
        .iter()
        .filter_map(super::topology::lab_prefix)
        .map(net)
        .collect();
    if announced.is_empty() {
        let onprem = super::topology::lab_prefix(&s.topology.onprem_cidr)
            .ok_or("topology.onprem_cidr must be IPv4")?;
        announced.push(net(onprem));
    }
    for p in &announced {
        cgw_node.speaker_mut().originate(
            *p,
            PathAttributes::originated(IpAddr::V4(inside[0].1)),
            now,
        );
    }
    for p in &cgw_peers {
        cgw_node.start(*p, now);
    }

    // AWS: one speaker per endpoint.
    let vpc = super::topology::lab_prefix(&s.topology.vpc_cidr)
        .ok_or("topology.vpc_cidr must be IPv4")?;
    let mut aws_nodes = Vec::new();
    let mut aws_peers = Vec::new();
    for (i, (aws_in, cgw_in)) in inside.into_iter().enumerate() {
        let mut hc = HostConfig::new(aws_in, 30).with_seed(seed ^ (0xa0 + i as u64));
        hc.mtu = TUNNEL_MTU;
        let mut node = BgpHost::new(
            epoch,
            Host::new(epoch, hc),
            Speaker::new(Rib::new(s.aws.asn, aws_in)),
        );
        let inside = Inside {
            aws: aws_in,
            cgw: cgw_in,
            v6: None,
        };
        let pc = crate::assemble::bgp::aws_peer(s.aws.asn, aws_expects, s.aws.gateway, inside);
        let peer = node
            .add_peer(pc)
            .map_err(|e| format!("aws BGP (tunnel {}): {e}", i + 1))?;
        node.speaker_mut().originate(
            net(vpc),
            PathAttributes::originated(IpAddr::V4(aws_in)),
            now,
        );
        node.start(peer, now);
        aws_nodes.push(node);
        aws_peers.push(peer);
    }

    let link = || LinkConfig::with_latency(Duration::ZERO);
    let err = || "topology: could not connect a BGP host".to_string();
    let cgw_host = sim.add_node(cgw_node);
    sim.connect((cgw_host, IfaceId(0)), (cgw, CONTROL), link())
        .ok_or_else(err)?;
    sim.with_node(cgw, |g: &mut TunnelGateway| g.attach_control_plane());
    let mut aws_hosts = Vec::new();
    for (i, node) in aws_nodes.into_iter().enumerate() {
        let id = sim.add_node(node);
        sim.connect((id, IfaceId(0)), (aws[i], CONTROL), link())
            .ok_or_else(err)?;
        sim.with_node(aws[i], |g: &mut TunnelGateway| g.attach_control_plane());
        aws_hosts.push(id);
    }
    Ok(BgpLab {
        cgw_host,
        cgw_peers: [cgw_peers[0], cgw_peers[1]],
        aws_hosts: [aws_hosts[0], aws_hosts[1]],
        aws_peers: [aws_peers[0], aws_peers[1]],
        inside,
        was_up: [[false; 2]; 2],
        cgw_installed: BTreeSet::new(),
        aws_installed: [BTreeSet::new(), BTreeSet::new()],
        vpc_installed: BTreeMap::new(),
        announced,
        aws_med: [AWS_MED; 2],
    })
}

impl BgpLab {
    /// The CGW's session state on `tunnel` (index).
    pub fn cgw_state(&self, sim: &Sim, tunnel: usize) -> Option<State> {
        sim.node::<BgpHost>(self.cgw_host)
            .map(|h| h.speaker().state(self.cgw_peers[tunnel]))
    }

    /// Announces `count` prefixes in all from the CGW (the configured ones
    /// first, then generated /24s from 198.18.128.0 on), on both sessions
    /// or only `tunnel`'s.
    pub fn announce_count(&mut self, sim: &mut Sim, count: u32, tunnel: Option<usize>) {
        let now = sim.now();
        let mut want = self.announced.clone();
        let mut i: u32 = 0;
        while (want.len() as u32) < count && i < 128 * 256 {
            let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 128, 0)) + (i << 8));
            i += 1;
            if let Some(p) = LabPrefix::new(a, 24).map(net) {
                if !want.contains(&p) {
                    want.push(p);
                }
            }
        }
        let (host, peers) = (self.cgw_host, self.cgw_peers);
        let nh = IpAddr::V4(self.inside[0].1);
        let extra: Vec<IpNet> = want
            .iter()
            .filter(|p| !self.announced.contains(p))
            .copied()
            .collect();
        sim.with_node(host, |h: &mut BgpHost| {
            if let Some(t) = tunnel {
                // Only one session: filter the extra prefixes from the
                // other peer's export.
                let other = peers[1 - t];
                let rib = h.speaker_mut().rib_mut();
                let mut export = rib.peer_config(other).export.clone();
                export.filter.deny = extra
                    .iter()
                    .map(|p| bgp::rib::PrefixRule::exact(*p))
                    .collect();
                rib.set_export_policy(other, export);
            }
            for p in &extra {
                h.speaker_mut()
                    .originate(*p, PathAttributes::originated(nh), now);
            }
        });
        self.announced = want;
    }

    /// Once per tick: applies AWS's MED bias (`med_bias` per tunnel, set
    /// during an endpoint's maintenance), resets the sessions of tunnels
    /// that went down, and moves the speakers' best routes into the
    /// gateways and the VPC route table.
    #[allow(clippy::needless_range_loop)] // t indexes four parallel arrays
    pub fn sync(
        &mut self,
        sim: &mut Sim,
        cgw: NodeId,
        aws: [NodeId; 2],
        vpc_router: NodeId,
        propagation: bool,
        med_bias: [i32; 2],
    ) {
        let now = sim.now();
        for t in 0..2 {
            let med = u32::try_from((i64::from(AWS_MED) + i64::from(med_bias[t])).max(0))
                .unwrap_or(AWS_MED);
            if med != self.aws_med[t] {
                self.aws_med[t] = med;
                let peer = self.aws_peers[t];
                sim.with_node(self.aws_hosts[t], |h: &mut BgpHost| {
                    let rib = h.speaker_mut().rib_mut();
                    let mut export = rib.peer_config(peer).export.clone();
                    export.med = Some(med);
                    rib.set_export_policy(peer, export);
                });
            }
        }
        // Fast external fallover.
        for t in 0..2 {
            let cgw_up = sim
                .node::<TunnelGateway>(cgw)
                .is_some_and(|g| g.is_up(TunnelId(t)));
            if self.was_up[0][t] && !cgw_up {
                let peer = self.cgw_peers[t];
                sim.with_node(self.cgw_host, |h: &mut BgpHost| reset(h, peer, now));
            }
            self.was_up[0][t] = cgw_up;
            let aws_up = sim
                .node::<TunnelGateway>(aws[t])
                .is_some_and(|g| g.is_up(TunnelId(0)));
            if self.was_up[1][t] && !aws_up {
                let peer = self.aws_peers[t];
                sim.with_node(self.aws_hosts[t], |h: &mut BgpHost| reset(h, peer, now));
            }
            self.was_up[1][t] = aws_up;
        }

        // The CGW's table: best routes learned from AWS, by next hop.
        let mut cgw_want: BTreeMap<LabPrefix, usize> = BTreeMap::new();
        if let Some(h) = sim.node::<BgpHost>(self.cgw_host) {
            for (prefix, route) in h.speaker().rib().iter_best() {
                if !matches!(route.source, RouteSource::Peer(_)) {
                    continue;
                }
                let tunnel = self
                    .inside
                    .iter()
                    .position(|(a, _)| IpAddr::V4(*a) == route.next_hop());
                if let (Some(p), Some(t)) = (lab_net(&prefix), tunnel) {
                    cgw_want.insert(p, t);
                }
            }
        }
        let stale: Vec<LabPrefix> = self
            .cgw_installed
            .iter()
            .filter(|p| !cgw_want.contains_key(p))
            .copied()
            .collect();
        sim.with_node(cgw, |g: &mut TunnelGateway| {
            for p in &stale {
                g.remove_route(*p);
            }
            for (p, t) in &cgw_want {
                if !g.routes().contains(&(*p, TunnelId(*t))) {
                    g.set_route(*p, TunnelId(*t));
                }
            }
        });
        self.cgw_installed = cgw_want.keys().copied().collect();

        // AWS: each endpoint's learned routes, then one tunnel per prefix.
        let mut candidates = Vec::new();
        for t in 0..2 {
            let mut learned = BTreeSet::new();
            if let Some(h) = sim.node::<BgpHost>(self.aws_hosts[t]) {
                for (prefix, route) in h.speaker().rib().iter_best() {
                    if !matches!(route.source, RouteSource::Peer(_)) {
                        continue;
                    }
                    if let Some(p) = lab_net(&prefix) {
                        learned.insert(p);
                        candidates.push(VpnRoute {
                            prefix: (p.addr().into(), p.len()),
                            tunnel: t,
                            source: VpnRouteSource::Bgp,
                            as_path_len: route.attrs.as_path.len(),
                            med: route.med(),
                        });
                    }
                }
            }
            let old = std::mem::take(&mut self.aws_installed[t]);
            sim.with_node(aws[t], |g: &mut TunnelGateway| {
                for p in old.difference(&learned) {
                    g.remove_route(*p);
                }
                for p in learned.difference(&old) {
                    g.set_route(*p, TunnelId(0));
                }
            });
            self.aws_installed[t] = learned;
        }
        let chosen: BTreeMap<LabPrefix, usize> = if propagation {
            choose_tunnels(&candidates)
                .into_iter()
                .filter_map(|((a, l), t)| match a {
                    std::net::IpAddr::V4(a) => LabPrefix::new(a, l).map(|p| (p, t)),
                    std::net::IpAddr::V6(_) => None,
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        if chosen != self.vpc_installed {
            let old = std::mem::replace(&mut self.vpc_installed, chosen.clone());
            sim.with_node(vpc_router, |r: &mut Router| {
                for p in old.keys() {
                    r.remove_route(*p);
                }
                for (p, t) in &chosen {
                    r.add_route(*p, IfaceId(*t as u16));
                }
            });
        }
    }
}

/// Tears a session down and starts it again (the tunnel under it went
/// down).
fn reset(h: &mut BgpHost, peer: PeerId, now: Instant) {
    if h.speaker().state(peer) != State::Idle {
        h.speaker_mut().stop(peer, now);
    }
    h.speaker_mut().start(peer, now);
}

/// AWS's BGP log records per tunnel, from its speakers' events.
pub(super) fn aws_log_records(
    b: &BgpLab,
    sim: &Sim,
    epoch: Instant,
) -> [Vec<crate::aws::bgp_log_emitter::TimedBgpRecord>; 2] {
    let per = |t: usize| {
        let events: Vec<(Duration, SpeakerEvent)> = sim
            .node::<BgpHost>(b.aws_hosts[t])
            .map(|h| {
                h.events()
                    .iter()
                    .map(|(at, e)| (*at - epoch, e.clone()))
                    .collect()
            })
            .unwrap_or_default();
        crate::aws::bgp_log_emitter::bgp_records(
            &events,
            b.inside[t].1,
            crate::aws::log_emitter::LAB_EPOCH_MS,
        )
    };
    [per(0), per(1)]
}

/// A BGP happening for the timeline and the diagnosis.
pub(super) struct BgpObservation {
    /// When (since the start).
    pub at: Duration,
    /// Tunnel number (1 or 2).
    pub tunnel: u8,
    /// "cgw" or "aws".
    pub side: &'static str,
    /// The timeline text.
    pub text: String,
    /// Its diagnosis, for failures.
    pub diagnosis: Option<Diagnosis>,
}

/// Everything the speakers reported, in time order.
pub(super) fn observations(b: &BgpLab, sim: &Sim, epoch: Instant) -> Vec<BgpObservation> {
    let mut out = Vec::new();
    let mut take = |host: NodeId, side: &'static str, tunnel_of: &dyn Fn(PeerId) -> u8| {
        let Some(h) = sim.node::<BgpHost>(host) else {
            return;
        };
        let local = if side == "cgw" { Side::Cgw } else { Side::Aws };
        for (at, e) in h.events() {
            let at = *at - epoch;
            let (peer, text, diagnosis) = match e {
                SpeakerEvent::Session { peer, event } => {
                    let d = Diagnosis::from_bgp_session_event(event, local);
                    let text = match event {
                        // The timeline keeps a session's coming up and going
                        // down (and the NOTIFICATIONs, below); the steps in
                        // between (Idle, Connect, Active, OpenSent,
                        // OpenConfirm) would bury them when a session flaps.
                        SessionEvent::StateChanged { from, to }
                            if *from != State::Established && *to != State::Established =>
                        {
                            continue
                        }
                        SessionEvent::StateChanged { from, to } => {
                            format!("bgp {from:?} -> {to:?}")
                        }
                        SessionEvent::NotificationSent(n) => format!("bgp NOTIFICATION sent: {n}"),
                        SessionEvent::NotificationReceived(n) => {
                            format!("bgp NOTIFICATION received: {n}")
                        }
                        _ => continue,
                    };
                    (*peer, text, d)
                }
                SpeakerEvent::MaxPrefixExceeded { peer, error } => (
                    *peer,
                    format!("bgp {error}"),
                    Some(Diagnosis::from_max_prefix(error)),
                ),
                SpeakerEvent::Rib(RibEvent::Denied {
                    peer,
                    prefix,
                    reason,
                }) => (
                    *peer,
                    format!("bgp route {prefix} DENIED due to: {reason}"),
                    Diagnosis::from_rib_event(&RibEvent::Denied {
                        peer: *peer,
                        prefix: *prefix,
                        reason: *reason,
                    }),
                ),
                _ => continue,
            };
            out.push(BgpObservation {
                at,
                tunnel: tunnel_of(peer),
                side,
                text,
                diagnosis,
            });
        }
    };
    let cgw_peers = b.cgw_peers;
    take(b.cgw_host, "cgw", &|p| {
        if p == cgw_peers[1] {
            2
        } else {
            1
        }
    });
    take(b.aws_hosts[0], "aws", &|_| 1);
    take(b.aws_hosts[1], "aws", &|_| 2);
    out.sort_by_key(|o| (o.at, o.side, o.tunnel));
    out
}

/// At the end of a run: a session that is not Established over a tunnel
/// that is up is explained (with the last NOTIFICATION on it, if any), so
/// that a silent failure (say, AWS's side never answering) has a diagnosis
/// too.
pub(super) fn end_diagnoses(b: &BgpLab, sim: &Sim, cgw: NodeId, at: Duration) -> Vec<Diagnosed> {
    let mut out = Vec::new();
    let Some(h) = sim.node::<BgpHost>(b.cgw_host) else {
        return out;
    };
    for t in 0..2 {
        let state = h.speaker().state(b.cgw_peers[t]);
        let up = sim
            .node::<TunnelGateway>(cgw)
            .is_some_and(|g| g.is_up(TunnelId(t)));
        if !up || state == State::Established {
            continue;
        }
        let last = h.events().iter().rev().find_map(|(_, e)| match e {
            SpeakerEvent::Session { peer, event } if *peer == b.cgw_peers[t] => match event {
                SessionEvent::NotificationSent(n) => Some((n.clone(), Side::Cgw)),
                SessionEvent::NotificationReceived(n) => Some((n.clone(), Side::Aws)),
                _ => None,
            },
            _ => None,
        });
        out.push(Diagnosed {
            at,
            tunnel: t as u8 + 1,
            side: "cgw",
            diagnosis: Diagnosis::from_bgp_state(
                state,
                last.as_ref().map(|l| &l.0),
                last.as_ref().map(|l| l.1),
            ),
        });
    }
    out
}
