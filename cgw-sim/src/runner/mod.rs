//! The scenario runner: builds the default topology in the lab simulator
//! from a [`Scenario`], applies its faults on the timeline, and checks its
//! expectations against what the gateways, the hosts and the diagnosis
//! observed.
//!
//! Topology: `onprem` host - `onprem-lan` - `cgw` (a [`TunnelGateway`] with
//! two tunnels) - `cgw-wan` - `internet` router - `aws1-wan` / `aws2-wan` -
//! `aws1` / `aws2` (one [`TunnelGateway`] each, configured from the AWS
//! tunnel options) - a VPC router - `vpc-lan` - `vpc` host.
//!
//! Supported:
//! - the CGW's two tunnels from `[cgw.tunnelN.ike]` (AWS algorithm names
//!   mapped to engine proposals, PSK, `role`, `enabled`); AWS's two tunnel
//!   endpoints from `[aws.tunnelN]` through [`crate::aws::TunnelOptions`]
//!   (`PreferOwn`, responder unless `startup_action = "start"`);
//! - static routes only (with `routing = "bgp"` too, noted in the report):
//!   the CGW routes the VPC CIDR (and
//!   `cgw.static_routes`) into the first tunnel that is up, the VPC router
//!   routes the on-prem CIDR to the first AWS endpoint that is up (no route
//!   with `route_propagation = false`); a failed CGW tunnel is initiated
//!   again after [`RETRY_INTERVAL`];
//! - faults: `block`/`unblock` (UDP port, ESP, address, on a named link),
//!   `link_down`/`link_up`, `impair` (latency, jitter, loss, MTU),
//!   `set_cgw_source_address`, `drop_ike_message` and `mangle_ike_message`
//!   (the n-th IKE message on the tunnel's path after the fault's time),
//!   `restart` of `cgw`, `aws1` or `aws2` (a new gateway with the same
//!   configuration: every SA lost; the CGW initiates again);
//! - expectations: `phaseN` state and cause per tunnel (the CGW's view;
//!   `down` also matches `failed`), `ping` from `onprem` to `vpc`
//!   (probes every [`PING_INTERVAL`], answered within [`PING_TIMEOUT`]),
//!   `diagnosis` (code and text), `notification = "non-redundant"` (exactly
//!   one tunnel up), `cgw_routes` and `vpc_route_table` (sampled every
//!   tick; the VPC table holds `aws.static_routes` while propagation is on
//!   and an endpoint is up), `measure` `tunnel_up_time` and
//!   `failover_time` (from the first `link_down`/`block` to the first
//!   answered ping after it).
//!
//! The CGW's lifetimes and DPD (`[cgw.tunnelN.ike]`) are applied.
//!
//! Everything else (BGP, TCP, AWS logs, the BGP measure, other
//! notifications, IKEv1, probes, the other faults) is
//! reported as a failed expectation or a scenario error saying "not
//! supported yet": never silently passed.
//!
//! With `[topology.nat]`, a source NAT (`lab::Nat`, port translation,
//! the mapping timeout) sits between `cgw-wan` and `nat-wan`, and AWS is
//! configured with the NAT's public address as the customer gateway IP.
//!
//! The run is deterministic: one scenario and one seed give one report.

#![deny(missing_docs)]

mod eval;
mod report;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::crypto::{DhGroup, Secret};
use ike::sa::{DeletedBy, Dpd, EspProposal, IkeConfig, IkeProposal, Lifetimes};
use lab::wire::{self, Ipv4Info, Prefix as LabPrefix, PROTO_ESP, PROTO_ICMP, PROTO_UDP};
use lab::{IfaceId, LinkConfig, LinkId, Nat, NatConfig, Node, NodeId, Router, Rule, RuleId, Sim};

use crate::aws::options::generate_psk;
use crate::aws::{DpdTimeoutAction, Encryption, Integrity, StartupAction};
use crate::diagnosis::{Context, Diagnosis};
use crate::node::{
    DownCause, GatewayConfig, GatewayEvent, TunnelConfig, TunnelEventKind, TunnelGateway, TunnelId,
    TunnelRole, INSIDE, OUTSIDE,
};
use crate::scenario::{CgwIke, FaultAction, Filter, Prefix, Protocol, Role, Scenario, Timing};

pub use report::{junit_xml, ExpectationResult, ScenarioReport, TimelineEntry};

/// Interval of the on-prem host's pings to the VPC host (the ping
/// expectations' probes).
pub const PING_INTERVAL: Duration = Duration::from_secs(1);
/// How long a ping waits for its reply.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after a failure or a teardown the CGW initiates a tunnel again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// A host with one interface: answers pings and records echo replies.
struct PingHost {
    addr: Ipv4Addr,
    out: VecDeque<(IfaceId, Vec<u8>)>,
    /// (seq, arrival) of echo replies.
    replies: Vec<(u16, Instant)>,
    next_seq: u16,
}

impl PingHost {
    fn new(addr: Ipv4Addr) -> PingHost {
        PingHost {
            addr,
            out: VecDeque::new(),
            replies: Vec::new(),
            next_seq: 0,
        }
    }

    fn send_ping(&mut self, dst: Ipv4Addr) -> u16 {
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

/// A transparent two-port box on the CGW's WAN path that, once set,
/// rewrites the CGW's source address (and the reverse destination): the
/// `set_cgw_source_address` fault. Ports are kept, so NAT detection sees
/// only an address change.
///
/// It also drops or mangles the n-th IKE message of a tunnel
/// (`drop_ike_message`, `mangle_ike_message`).
struct SourceRewrite {
    cgw: Ipv4Addr,
    to: Option<Ipv4Addr>,
    out: VecDeque<(IfaceId, Vec<u8>)>,
    ike_faults: Vec<IkeFaultRule>,
}

/// An armed `drop_ike_message` / `mangle_ike_message`.
struct IkeFaultRule {
    /// The AWS endpoint's address (the tunnel).
    peer: Ipv4Addr,
    /// Count only messages from the CGW (`Some(true)`) or from AWS.
    from_cgw: Option<bool>,
    /// Messages left to let pass before acting on the next one.
    skip: u32,
    mangle: bool,
    done: bool,
}

/// Whether `p` is an IKE message (UDP 500, or 4500 with the non-ESP
/// marker), and its UDP payload offset.
fn ike_payload_offset(p: &[u8]) -> Option<usize> {
    let info = Ipv4Info::parse(p)?;
    if info.protocol != PROTO_UDP {
        return None;
    }
    let (sp, dp) = info.ports(p)?;
    let off = info.header_len + 8;
    let payload = p.get(off..info.total_len)?;
    if sp == 500 || dp == 500 {
        return (payload.len() >= 28).then_some(off);
    }
    if (sp == 4500 || dp == 4500) && payload.len() >= 32 && payload[..4] == [0; 4] {
        return Some(off + 4);
    }
    None
}

impl SourceRewrite {
    /// Applies the armed IKE faults to a packet crossing from `from_cgw`'s
    /// side; false when it must be dropped.
    fn ike_fault(&mut self, from_cgw: bool, p: &mut [u8]) -> bool {
        let Some(info) = Ipv4Info::parse(p) else {
            return true;
        };
        let Some(off) = ike_payload_offset(p) else {
            return true;
        };
        let peer = if from_cgw { info.dst } else { info.src };
        let mut keep = true;
        for r in self.ike_faults.iter_mut().filter(|r| !r.done) {
            if r.peer != peer || r.from_cgw.is_some_and(|f| f != from_cgw) {
                continue;
            }
            if r.skip > 0 {
                r.skip -= 1;
                continue;
            }
            r.done = true;
            if r.mangle {
                // Flip a byte of the last 16 (inside the integrity check
                // data of an encrypted message, or the last payload).
                let last = info.total_len - 1;
                if last > off {
                    p[last] ^= 0x5a;
                    wire::fix_l4_checksum(p);
                }
            } else {
                keep = false;
            }
        }
        keep
    }
}

impl Node for SourceRewrite {
    fn handle_packet(&mut self, _now: Instant, iface: IfaceId, packet: &[u8]) {
        let mut p = packet.to_vec();
        if !self.ike_faults.is_empty() && !self.ike_fault(iface == IfaceId(0), &mut p) {
            return;
        }
        if let (Some(to), Some(info)) = (self.to, Ipv4Info::parse(packet)) {
            if iface == IfaceId(0) && info.src == self.cgw {
                wire::rewrite_src(&mut p, to, None);
            } else if iface == IfaceId(1) && info.dst == to {
                wire::rewrite_dst(&mut p, self.cgw, None);
            }
        }
        let out = if iface == IfaceId(0) {
            IfaceId(1)
        } else {
            IfaceId(0)
        };
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

/// One ping probe from the on-prem host to the VPC host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    /// Sent at (since the start).
    pub sent: Duration,
    /// Reply received at (since the start), if any.
    pub reply: Option<Duration>,
}

impl Probe {
    /// Whether the reply came within [`PING_TIMEOUT`].
    pub fn answered(&self) -> bool {
        self.reply.is_some_and(|r| r <= self.sent + PING_TIMEOUT)
    }
}

/// A diagnosis produced during the run.
#[derive(Debug, Clone)]
pub(crate) struct Diagnosed {
    pub at: Duration,
    /// Tunnel number (1 or 2).
    pub tunnel: u8,
    /// "cgw" or "aws".
    pub side: &'static str,
    pub diagnosis: Diagnosis,
}

/// Everything observed in one run, for the expectations.
pub(crate) struct Observed {
    pub end: Duration,
    /// The CGW's tunnel events, with times since the start; tunnel index 0/1.
    pub cgw_events: Vec<(Duration, usize, TunnelEventKind)>,
    pub probes: Vec<Probe>,
    pub diagnoses: Vec<Diagnosed>,
    pub timeline: Vec<TimelineEntry>,
    /// Per tick: the CGW's routes (prefix, tunnel index) and the VPC route
    /// table's prefixes.
    pub routes: Vec<RouteSnapshot>,
    /// When the first fault that cuts tunnel 1's path (a `link_down` or a
    /// `block`) was applied.
    pub path_failed: Option<Duration>,
}

/// The route tables at one tick.
pub(crate) struct RouteSnapshot {
    pub at: Duration,
    pub cgw: Vec<(LabPrefix, usize)>,
    pub vpc: Vec<LabPrefix>,
}

fn lab_prefix(p: &Prefix) -> Option<LabPrefix> {
    match p.addr {
        IpAddr::V4(a) => LabPrefix::new(a, p.len),
        IpAddr::V6(_) => None,
    }
}

/// The CGW's proposals from its AWS-style algorithm names: a CBC proposal
/// and an AEAD proposal as needed. Unknown names are errors.
fn cgw_proposals(ike: &CgwIke) -> Result<(Vec<IkeProposal>, Vec<EspProposal>), String> {
    let encr = |names: &[String]| -> Result<Vec<Encryption>, String> {
        names
            .iter()
            .map(|n| n.parse::<Encryption>().map_err(|e| e.to_string()))
            .collect()
    };
    let integ = |names: &[String]| -> Result<Vec<Integrity>, String> {
        names
            .iter()
            .map(|n| n.parse::<Integrity>().map_err(|e| e.to_string()))
            .collect()
    };
    let groups = |ids: &[u16]| -> Result<Vec<DhGroup>, String> {
        ids.iter()
            .map(|g| DhGroup::from_id(*g).ok_or_else(|| format!("unknown DH group {g}")))
            .collect()
    };
    let p1e = encr(&ike.encryption)?;
    let p1i = integ(&ike.integrity)?;
    let p1g = groups(&ike.dh_groups)?;
    let p2e = encr(&ike.phase2_encryption)?;
    let p2i = integ(&ike.phase2_integrity)?;
    let p2g = groups(&ike.phase2_dh_groups)?;
    let prf: Vec<_> = p1i.iter().map(|i| i.prf()).collect();
    let mut ikep = Vec::new();
    let (cbc, gcm): (Vec<Encryption>, Vec<Encryption>) =
        p1e.iter().copied().partition(|e| !e.is_aead());
    if !cbc.is_empty() {
        ikep.push(IkeProposal {
            encr: cbc.iter().map(|e| e.alg()).collect(),
            prf: prf.clone(),
            integ: p1i.iter().map(|i| i.integ()).collect(),
            dh: p1g.clone(),
        });
    }
    if !gcm.is_empty() {
        ikep.push(IkeProposal {
            encr: gcm.iter().map(|e| e.alg()).collect(),
            prf,
            integ: Vec::new(),
            dh: p1g,
        });
    }
    let mut espp = Vec::new();
    let (cbc, gcm): (Vec<Encryption>, Vec<Encryption>) =
        p2e.iter().copied().partition(|e| !e.is_aead());
    if !cbc.is_empty() {
        espp.push(EspProposal {
            encr: cbc.iter().map(|e| e.alg()).collect(),
            integ: p2i.iter().map(|i| i.integ()).collect(),
            dh: p2g.clone(),
        });
    }
    if !gcm.is_empty() {
        espp.push(EspProposal {
            encr: gcm.iter().map(|e| e.alg()).collect(),
            integ: Vec::new(),
            dh: p2g,
        });
    }
    if ikep.is_empty() || espp.is_empty() {
        return Err("the CGW offers no phase 1 or no phase 2 encryption".into());
    }
    Ok((ikep, espp))
}

/// Things of the scenario the runner cannot do yet, to be reported.
fn unsupported_config(s: &Scenario) -> Vec<String> {
    let mut v = Vec::new();
    for (i, t) in [&s.cgw.tunnel1, &s.cgw.tunnel2].iter().enumerate() {
        if t.ike.version != 2 {
            v.push(format!(
                "cgw.tunnel{}.ike.version = {}: IKEv1 is not supported yet",
                i + 1,
                t.ike.version
            ));
        }
        if t.ike.source_address.is_some() {
            v.push(format!(
                "cgw.tunnel{}.ike.source_address: not supported yet",
                i + 1
            ));
        }
    }
    let any = Prefix {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        len: 0,
    };
    for (i, t) in [&s.cgw.tunnel1, &s.cgw.tunnel2].iter().enumerate() {
        if t.ike.local_selectors != [any] || t.ike.remote_selectors != [any] {
            v.push(format!(
                "cgw.tunnel{}.ike: traffic selectors other than 0.0.0.0/0 are not supported yet",
                i + 1
            ));
        }
    }
    for (i, o) in s.vpn_connection().tunnels.iter().enumerate() {
        if !o.accepts_ikev2() {
            v.push(format!(
                "aws.tunnel{}.ike_versions without ikev2: not supported yet",
                i + 1
            ));
        }
    }
    if !s.cgw.probes.is_empty() {
        v.push("cgw.probes: not supported yet".into());
    }
    v
}

fn cause_code(cause: &DownCause, ctx: &Context) -> (&'static str, Option<Diagnosis>) {
    match cause {
        DownCause::IkeFailed(f) => {
            let d = Diagnosis::from_ike_failure(f, ctx);
            (d.code(), Some(d))
        }
        DownCause::ChildFailed(f) => {
            let d = Diagnosis::from_child_failure(f, ctx);
            (d.code(), Some(d))
        }
        DownCause::DpdTimeout { .. } => ("dpd-timeout", None),
        DownCause::ChildDeleted(DeletedBy::Peer) | DownCause::IkeClosed(DeletedBy::Peer) => {
            ("peer-deleted", None)
        }
        DownCause::ChildDeleted(DeletedBy::Us) | DownCause::IkeClosed(DeletedBy::Us) => {
            ("deleted-locally", None)
        }
    }
}

/// The cause code a [`DownCause`] maps to on the CGW's side (with AWS's
/// default accepted sets), e.g. `"no-proposal-chosen"`.
pub fn down_cause_code(cause: &DownCause) -> &'static str {
    cause_code(cause, &Context::cgw()).0
}

fn filter_rules(f: &Filter) -> Vec<Rule> {
    let protocol = f.protocol.map(|p| match p {
        Protocol::Udp => PROTO_UDP,
        Protocol::Esp => PROTO_ESP,
    });
    let base = Rule {
        protocol,
        port: f.port,
        ..Rule::default()
    };
    match f.address {
        Some(IpAddr::V4(a)) => vec![
            Rule {
                src: Some(LabPrefix::host(a)),
                ..base
            },
            Rule {
                dst: Some(LabPrefix::host(a)),
                ..base
            },
        ],
        _ => vec![base],
    }
}

/// A gateway by name ("cgw", "aws1", "aws2"): node, configuration and
/// routes, to restart it.
type GatewaySlot = (
    &'static str,
    NodeId,
    GatewayConfig,
    Vec<(LabPrefix, TunnelId)>,
);

struct Lab {
    sim: Sim,
    cgw: NodeId,
    aws: [NodeId; 2],
    onprem: NodeId,
    vpc_router: NodeId,
    internet: NodeId,
    rewrite: NodeId,
    /// The AWS endpoints' outside addresses.
    aws_addr: [Ipv4Addr; 2],
    /// The gateways by name ("cgw", "aws1", "aws2"): node, configuration
    /// and routes, to restart them.
    gateways: Vec<GatewaySlot>,
    /// Events of gateways before their restarts (plus a teardown per
    /// tunnel at the restart).
    stashed: Vec<(NodeId, GatewayEvent)>,
    /// Restarts so far (varies the restarted gateway's seed).
    restarts: u8,
    /// Set when the CGW restarted: the runner initiates its tunnels again.
    cgw_restarted: bool,
    /// The CGW's source address as AWS sees it, when a fault changed it.
    cgw_source: Option<Ipv4Addr>,
    links: Vec<(&'static str, LinkId)>,
    /// Firewall rules added by `block`, to remove on `unblock`.
    blocks: Vec<(Filter, LinkId, Vec<RuleId>)>,
}

impl Lab {
    fn link(&self, name: &str) -> Option<LinkId> {
        self.links.iter().find(|l| l.0 == name).map(|l| l.1)
    }
}

struct Built {
    lab: Lab,
    cgw_ctx: Context,
    aws_ctx: Context,
}

#[allow(clippy::needless_range_loop, clippy::vec_init_then_push)]
fn build(s: &Scenario, seed: u64) -> Result<Built, String> {
    let topo = &s.topology;
    let vpn = s.vpn_connection();
    let mut sim = Sim::new(Instant::now(), seed);
    let aws_addr = [topo.aws_tunnel1_address, topo.aws_tunnel2_address];
    // The customer gateway IP configured at AWS: the CGW's address, or the
    // NAT's public address when the CGW is behind a NAT.
    let aws_sees = topo
        .nat
        .as_ref()
        .map_or(topo.cgw_address, |n| n.public_address);
    let mut cgw_tunnels = Vec::new();
    let mut aws_nodes = Vec::new();
    let mut aws_cfgs = Vec::new();
    let mut cgw_ike_all = (Vec::new(), Vec::new());
    let onprem_pfx = lab_prefix(&topo.onprem_cidr).ok_or("topology.onprem_cidr must be IPv4")?;
    let vpc_pfx = lab_prefix(&topo.vpc_cidr).ok_or("topology.vpc_cidr must be IPv4")?;
    for i in 0..2 {
        let opts = &vpn.tunnels[i];
        let cgw_t: &crate::scenario::CgwTunnel = if i == 0 {
            &s.cgw.tunnel1
        } else {
            &s.cgw.tunnel2
        };
        let aws_psk = opts
            .psk
            .clone()
            .unwrap_or_else(|| generate_psk(seed.wrapping_add(i as u64)));
        let cgw_psk = cgw_t.ike.psk.clone().unwrap_or_else(|| aws_psk.clone());
        let (inside_aws, inside_cgw) = match opts.inside_cidr {
            Some(c) => {
                let n = u32::from(c.network());
                (Ipv4Addr::from(n + 1), Ipv4Addr::from(n + 2))
            }
            None => (
                Ipv4Addr::new(169, 254, 10 + i as u8, 1),
                Ipv4Addr::new(169, 254, 10 + i as u8, 2),
            ),
        };
        let (ikep, espp) =
            cgw_proposals(&cgw_t.ike).map_err(|e| format!("cgw.tunnel{}.ike: {e}", i + 1))?;
        if i == 0 {
            cgw_ike_all = (ikep.clone(), espp.clone());
        }
        let mut cgw_cfg = IkeConfig::new(Secret::new(cgw_psk.into_bytes()), ikep, espp);
        cgw_cfg.lifetimes = Lifetimes {
            ike: cgw_t.ike.phase1_lifetime,
            child: cgw_t.ike.phase2_lifetime,
            ..cgw_cfg.lifetimes
        };
        cgw_cfg.dpd = cgw_t.ike.dpd.as_ref().map(|d| Dpd {
            delay: d.interval,
            timeout: d.timeout,
            action: d.action.engine(),
        });
        cgw_tunnels.push(TunnelConfig {
            peer: aws_addr[i],
            inside_local: inside_cgw,
            inside_remote: inside_aws,
            ike: Arc::new(cgw_cfg),
            role: match (cgw_t.enabled, cgw_t.ike.role) {
                (true, Role::Initiator) => TunnelRole::Initiator,
                _ => TunnelRole::Responder,
            },
        });
        let eng = opts.engine_config(Secret::new(aws_psk.into_bytes()));
        let gcfg = GatewayConfig {
            outer: aws_addr[i],
            tunnels: vec![TunnelConfig {
                peer: aws_sees,
                inside_local: inside_aws,
                inside_remote: inside_cgw,
                ike: Arc::new(eng.ike),
                role: if opts.startup_action == StartupAction::Start {
                    TunnelRole::Initiator
                } else {
                    TunnelRole::Responder
                },
            }],
            seed: seed_bytes(seed, 0x10 + i as u8),
        };
        let mut gw = TunnelGateway::new(gcfg.clone());
        aws_cfgs.push(gcfg);
        gw.set_route(onprem_pfx, TunnelId(0));
        for p in &s.aws.static_routes {
            if let Some(p) = lab_prefix(p) {
                gw.set_route(p, TunnelId(0));
            }
        }
        aws_nodes.push(gw);
    }
    let cgw_cfg = GatewayConfig {
        outer: topo.cgw_address,
        tunnels: cgw_tunnels,
        seed: seed_bytes(seed, 0x01),
    };
    let mut cgw = TunnelGateway::new(cgw_cfg.clone());
    cgw.set_route(vpc_pfx, TunnelId(0));
    for p in &s.cgw.static_routes {
        if let Some(p) = lab_prefix(p) {
            cgw.set_route(p, TunnelId(0));
        }
    }
    let internet = Router::new()
        .with_route(LabPrefix::host(topo.cgw_address), IfaceId(0))
        .with_route(LabPrefix::host(aws_sees), IfaceId(0))
        .with_route(LabPrefix::host(aws_addr[0]), IfaceId(1))
        .with_route(LabPrefix::host(aws_addr[1]), IfaceId(2));
    let mut vpc_router = Router::new().with_route(vpc_pfx, IfaceId(2));
    if s.aws.route_propagation {
        vpc_router.add_route(onprem_pfx, IfaceId(0));
    }
    let cgw_routes = cgw.routes().to_vec();
    let aws_routes: Vec<Vec<(LabPrefix, TunnelId)>> =
        aws_nodes.iter().map(|g| g.routes().to_vec()).collect();
    let mut aws_iter = aws_nodes.into_iter();
    let cgw = sim.add_node(cgw);
    let aws1 = sim.add_node(aws_iter.next().expect("two AWS tunnels"));
    let aws2 = sim.add_node(aws_iter.next().expect("two AWS tunnels"));
    let internet = sim.add_node(internet);
    let rewrite = sim.add_node(SourceRewrite {
        cgw: topo.cgw_address,
        to: None,
        out: VecDeque::new(),
        ike_faults: Vec::new(),
    });
    let vpc_router = sim.add_node(vpc_router);
    let onprem = sim.add_node(PingHost::new(topo.onprem_host));
    let vpc = sim.add_node(PingHost::new(topo.vpc_host));
    let cfg = |name: &str, default_ms: u64| -> LinkConfig {
        let mut c = LinkConfig::with_latency(Duration::from_millis(default_ms));
        if let Some(l) = topo.links.get(name) {
            if let Some(x) = l.latency {
                c.latency = x;
            }
            if let Some(x) = l.jitter {
                c.jitter = x;
            }
            if let Some(x) = l.loss {
                c.loss = x / 100.0;
            }
            if let Some(x) = l.mtu {
                c.mtu = x as usize;
            }
        }
        c
    };
    let err = || "topology: could not connect a link".to_string();
    let mut aws_cfgs = aws_cfgs.into_iter();
    let gateways = vec![
        ("cgw", cgw, cgw_cfg, cgw_routes),
        (
            "aws1",
            aws1,
            aws_cfgs.next().ok_or("two AWS tunnels")?,
            aws_routes[0].clone(),
        ),
        (
            "aws2",
            aws2,
            aws_cfgs.next().ok_or("two AWS tunnels")?,
            aws_routes[1].clone(),
        ),
    ];
    let mut links = Vec::new();
    links.push((
        "onprem-lan",
        sim.connect((onprem, IfaceId(0)), (cgw, INSIDE), cfg("onprem-lan", 1))
            .ok_or_else(err)?,
    ));
    if let Some(n) = &topo.nat {
        let mut nc = NatConfig::new(IfaceId(0), IfaceId(1), n.public_address);
        nc.udp_timeout = n.mapping_timeout;
        nc.icmp_timeout = n.mapping_timeout;
        let nat = sim.add_node(Nat::new(nc));
        links.push((
            "cgw-wan",
            sim.connect((rewrite, IfaceId(1)), (nat, IfaceId(0)), cfg("cgw-wan", 1))
                .ok_or_else(err)?,
        ));
        links.push((
            "nat-wan",
            sim.connect(
                (nat, IfaceId(1)),
                (internet, IfaceId(0)),
                cfg("nat-wan", 15),
            )
            .ok_or_else(err)?,
        ));
    } else {
        links.push((
            "cgw-wan",
            sim.connect(
                (rewrite, IfaceId(1)),
                (internet, IfaceId(0)),
                cfg("cgw-wan", 15),
            )
            .ok_or_else(err)?,
        ));
    }
    sim.connect((cgw, OUTSIDE), (rewrite, IfaceId(0)), LinkConfig::default())
        .ok_or_else(err)?;
    links.push((
        "aws1-wan",
        sim.connect((aws1, OUTSIDE), (internet, IfaceId(1)), cfg("aws1-wan", 15))
            .ok_or_else(err)?,
    ));
    links.push((
        "aws2-wan",
        sim.connect((aws2, OUTSIDE), (internet, IfaceId(2)), cfg("aws2-wan", 15))
            .ok_or_else(err)?,
    ));
    sim.connect(
        (aws1, INSIDE),
        (vpc_router, IfaceId(0)),
        LinkConfig::with_latency(Duration::from_millis(1)),
    )
    .ok_or_else(err)?;
    sim.connect(
        (aws2, INSIDE),
        (vpc_router, IfaceId(1)),
        LinkConfig::with_latency(Duration::from_millis(1)),
    )
    .ok_or_else(err)?;
    links.push((
        "vpc-lan",
        sim.connect(
            (vpc, IfaceId(0)),
            (vpc_router, IfaceId(2)),
            cfg("vpc-lan", 1),
        )
        .ok_or_else(err)?,
    ));
    let cgw_address = Some(IpAddr::V4(aws_sees));
    let cgw_source = cgw_address;
    let cgw_ctx = Context::cgw()
        .with_cgw_proposals(cgw_ike_all.0.clone(), cgw_ike_all.1.clone())
        .with_addresses(cgw_address, cgw_source, Some(IpAddr::V4(aws_addr[0])));
    let aws_ctx = Context::aws()
        .with_cgw_proposals(cgw_ike_all.0, cgw_ike_all.1)
        .with_addresses(cgw_address, cgw_source, Some(IpAddr::V4(aws_addr[0])));
    Ok(Built {
        lab: Lab {
            sim,
            cgw,
            aws: [aws1, aws2],
            onprem,
            vpc_router,
            internet,
            rewrite,
            aws_addr,
            gateways,
            stashed: Vec::new(),
            restarts: 0,
            cgw_restarted: false,
            cgw_source: None,
            links,
            blocks: Vec::new(),
        },
        cgw_ctx,
        aws_ctx,
    })
}

fn seed_bytes(seed: u64, salt: u8) -> [u8; 32] {
    let mut b = [salt; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b
}

/// Applies one fault; `Err` says why it cannot be applied.
fn apply_fault(lab: &mut Lab, action: &FaultAction) -> Result<(), String> {
    let link_of = |lab: &Lab, name: &str| {
        lab.link(name)
            .ok_or_else(|| format!("no link {name:?} in the runner's topology"))
    };
    match action {
        FaultAction::Block(f) => {
            let link = link_of(lab, f.link.as_deref().unwrap_or("cgw-wan"))?;
            let mut ids = Vec::new();
            for r in filter_rules(f) {
                if let Some(id) = lab.sim.add_link_rule(link, r) {
                    ids.push(id);
                }
            }
            lab.blocks.push((f.clone(), link, ids));
            Ok(())
        }
        FaultAction::Unblock(f) => {
            let link = link_of(lab, f.link.as_deref().unwrap_or("cgw-wan"))?;
            let want = Filter {
                link: None,
                ..f.clone()
            };
            let Some(pos) = lab.blocks.iter().position(|(bf, bl, _)| {
                *bl == link
                    && Filter {
                        link: None,
                        ..bf.clone()
                    } == want
            }) else {
                return Err("unblock: no matching block".into());
            };
            let (_, link, ids) = lab.blocks.remove(pos);
            if let Some(fw) = lab.sim.link_firewall_mut(link) {
                for id in ids {
                    fw.remove_rule(id);
                }
            }
            Ok(())
        }
        FaultAction::LinkDown(name) | FaultAction::LinkUp(name) => {
            let link = link_of(lab, name)?;
            let mut c = lab.sim.link_config(link).ok_or("no such link")?;
            c.up = matches!(action, FaultAction::LinkUp(_));
            lab.sim.set_link_config(link, c);
            Ok(())
        }
        FaultAction::Impair(imp) => {
            let link = link_of(lab, &imp.link)?;
            let mut c = lab.sim.link_config(link).ok_or("no such link")?;
            if let Some(x) = imp.latency {
                c.latency = x;
            }
            if let Some(x) = imp.jitter {
                c.jitter = x;
            }
            if let Some(x) = imp.loss {
                c.loss = x / 100.0;
            }
            if let Some(x) = imp.mtu {
                c.mtu = x as usize;
            }
            lab.sim.set_link_config(link, c);
            Ok(())
        }
        FaultAction::SetCgwSourceAddress(IpAddr::V4(a)) => {
            let a = *a;
            lab.sim.with_node(lab.rewrite, |r: &mut SourceRewrite| {
                r.to = (a != r.cgw).then_some(a);
            });
            lab.sim.with_node(lab.internet, |r: &mut Router| {
                r.add_route(LabPrefix::host(a), IfaceId(0))
            });
            lab.cgw_source = Some(a);
            Ok(())
        }
        FaultAction::DropIkeMessage(m) | FaultAction::MangleIkeMessage(m) => {
            if m.n == 0 {
                return Err("drop/mangle_ike_message: n starts at 1".into());
            }
            let peer = lab.aws_addr[m.tunnel.map_or(0, |t| t.index())];
            let rule = IkeFaultRule {
                peer,
                from_cgw: m.from.map(|f| f == crate::scenario::Side::Cgw),
                skip: m.n - 1,
                mangle: matches!(action, FaultAction::MangleIkeMessage(_)),
                done: false,
            };
            lab.sim
                .with_node(lab.rewrite, |r: &mut SourceRewrite| r.ike_faults.push(rule));
            Ok(())
        }
        FaultAction::Restart(name) => {
            let Some((_, id, cfg, routes)) =
                lab.gateways.iter().find(|g| g.0 == name.as_str()).cloned()
            else {
                return Err(format!("restart {name}: not supported yet (gateways only)"));
            };
            let now = lab.sim.now();
            if let Some(g) = lab.sim.node::<TunnelGateway>(id) {
                let mut old: Vec<GatewayEvent> = g.events().to_vec();
                for t in 0..cfg.tunnels.len() {
                    old.push(GatewayEvent {
                        at: now,
                        tunnel: TunnelId(t),
                        kind: TunnelEventKind::Down {
                            cause: DownCause::IkeClosed(DeletedBy::Us),
                            was_up: g.is_up(TunnelId(t)),
                        },
                    });
                }
                lab.stashed.extend(old.into_iter().map(|e| (id, e)));
            }
            lab.restarts = lab.restarts.wrapping_add(1);
            let mut cfg = cfg;
            cfg.seed[31] ^= lab.restarts;
            lab.sim.with_node(id, |g: &mut TunnelGateway| {
                *g = TunnelGateway::new(cfg);
                for (p, t) in routes {
                    g.set_route(p, t);
                }
            });
            if name == "cgw" {
                lab.cgw_restarted = true;
            }
            Ok(())
        }
        other => Err(format!("{} is not supported yet", fault_name(other))),
    }
}

fn fault_name(a: &FaultAction) -> String {
    match a {
        FaultAction::SetCgwSourceAddress(x) => format!("set_cgw_source_address = {x}"),
        FaultAction::Block(f) => format!("block {}", report::filter_text(f)),
        FaultAction::Unblock(f) => format!("unblock {}", report::filter_text(f)),
        FaultAction::LinkDown(l) => format!("link_down {l}"),
        FaultAction::LinkUp(l) => format!("link_up {l}"),
        FaultAction::Impair(i) => format!("impair {}", i.link),
        FaultAction::ReplaceEndpoint(t) => format!("replace_endpoint {}", t.number()),
        FaultAction::Restart(n) => format!("restart {n}"),
        FaultAction::AnnouncePrefixes(a) => format!("announce_prefixes {}", a.count),
        FaultAction::DropIkeMessage(m) => format!("drop_ike_message {}", m.n),
        FaultAction::MangleIkeMessage(m) => format!("mangle_ike_message {}", m.n),
        FaultAction::SetLifetime(_) => "set_lifetime".into(),
    }
}

fn timing_end(t: &Timing) -> Duration {
    match t {
        Timing::Within(d) | Timing::At(d) => *d,
        Timing::After(d) => *d + Duration::from_secs(30),
    }
}

/// Runs `scenario` with its own seed.
pub fn run(scenario: &Scenario) -> ScenarioReport {
    run_with_seed(scenario, scenario.seed)
}

/// Runs `scenario` with `seed` instead of its own: builds the topology,
/// starts the CGW's initiator tunnels (and AWS's, for startup action
/// `start`), pings the VPC host from the on-prem host every
/// [`PING_INTERVAL`], applies the faults at their times, re-initiates a
/// failed CGW tunnel after [`RETRY_INTERVAL`], steers the static routes to
/// the first tunnel that is up, and evaluates every expectation.
pub fn run_with_seed(scenario: &Scenario, seed: u64) -> ScenarioReport {
    let mut rep = ScenarioReport::new(scenario, seed);
    let mut notes = unsupported_config(scenario);
    if scenario.aws.routing == crate::scenario::Routing::Bgp {
        rep.notes.push(
            "routing = \"bgp\": BGP does not run in the lab yet; static routes to the VPC and \
             on-prem CIDRs stand in for the data plane, and BGP and route-table expectations fail as not supported yet"
                .into(),
        );
    }
    let built = match build(scenario, seed) {
        Ok(b) => b,
        Err(e) => {
            rep.errors.push(e);
            rep.finish();
            return rep;
        }
    };
    let Built {
        mut lab,
        mut cgw_ctx,
        mut aws_ctx,
    } = built;
    let end = scenario
        .expectations
        .iter()
        .map(|e| timing_end(&e.timing))
        .chain(scenario.faults.iter().map(|f| f.at))
        .max()
        .unwrap_or(Duration::from_secs(60))
        + PING_TIMEOUT
        + Duration::from_secs(1);
    let epoch = lab.sim.now();
    let mut faults: Vec<_> = scenario.faults.iter().collect();
    faults.sort_by_key(|f| f.at);
    let mut next_fault = 0;
    let vpc_host = scenario.topology.vpc_host;
    let mut probes: Vec<(u16, Duration)> = Vec::new();
    // Per CGW tunnel: when it was last initiated, if it is initiator.
    let initiator: Vec<bool> = [&scenario.cgw.tunnel1, &scenario.cgw.tunnel2]
        .iter()
        .map(|t| t.enabled && t.ike.role == Role::Initiator)
        .collect();
    let restarts: Vec<bool> = [&scenario.cgw.tunnel1, &scenario.cgw.tunnel2]
        .iter()
        .map(|t| {
            t.ike
                .dpd
                .as_ref()
                .is_some_and(|d| d.action == DpdTimeoutAction::Restart)
        })
        .collect();
    let mut last_init: [Option<Duration>; 2] = [None, None];
    let mut tick = Duration::ZERO;
    let mut snapshots = Vec::new();
    let mut path_failed = None;
    loop {
        // Faults due at or before this tick.
        while next_fault < faults.len() && faults[next_fault].at <= tick {
            let f = faults[next_fault];
            lab.sim.run_until(epoch + f.at);
            if path_failed.is_none()
                && matches!(f.action, FaultAction::LinkDown(_) | FaultAction::Block(_))
            {
                path_failed = Some(f.at);
            }
            if let Err(e) = apply_fault(&mut lab, &f.action) {
                notes.push(format!(
                    "fault at {}: {e}",
                    crate::scenario::format_duration(f.at)
                ));
            }
            next_fault += 1;
        }
        lab.sim.run_until(epoch + tick);
        let now = lab.sim.now();
        if lab.cgw_restarted {
            lab.cgw_restarted = false;
            last_init = [None, None];
        }
        // Start or restart CGW tunnels.
        let events: Vec<GatewayEvent> = lab
            .sim
            .node::<TunnelGateway>(lab.cgw)
            .map(|g| g.events().to_vec())
            .unwrap_or_default();
        for i in 0..2 {
            if !initiator[i] {
                continue;
            }
            let due = match last_init[i] {
                None => true,
                Some(t0) => {
                    let last = events.iter().rfind(|e| e.tunnel.0 == i);
                    match last {
                        Some(e) if e.at - epoch >= t0 => match &e.kind {
                            // The engine restarts the IKE SA itself.
                            TunnelEventKind::Down {
                                cause: DownCause::DpdTimeout { .. },
                                ..
                            } if restarts[i] => false,
                            TunnelEventKind::Down { .. } => now - e.at >= RETRY_INTERVAL,
                            _ => false,
                        },
                        _ => false,
                    }
                }
            };
            if due {
                lab.sim.with_node(lab.cgw, |g: &mut TunnelGateway| {
                    g.initiate(TunnelId(i), now)
                });
                last_init[i] = Some(tick);
            }
        }
        if tick == Duration::ZERO {
            for (i, opts) in scenario.vpn_connection().tunnels.iter().enumerate() {
                if opts.startup_action == StartupAction::Start {
                    lab.sim.with_node(lab.aws[i], |g: &mut TunnelGateway| {
                        g.initiate(TunnelId(0), now)
                    });
                }
            }
        }
        // Static routes: the first tunnel that is up.
        steer_routes(&mut lab, scenario);
        snapshots.push(snapshot(&lab, scenario, tick));
        if tick >= end {
            break;
        }
        if tick >= PING_INTERVAL {
            if let Some(seq) = lab
                .sim
                .with_node(lab.onprem, |h: &mut PingHost| h.send_ping(vpc_host))
            {
                probes.push((seq, tick));
            }
        }
        tick += PING_INTERVAL;
    }
    // Observations.
    let replies = lab
        .sim
        .node::<PingHost>(lab.onprem)
        .map(|h| h.replies.clone())
        .unwrap_or_default();
    let probes: Vec<Probe> = probes
        .iter()
        .map(|(seq, sent)| Probe {
            sent: *sent,
            reply: replies
                .iter()
                .find(|(s, at)| s == seq && *at - epoch >= *sent)
                .map(|(_, at)| *at - epoch),
        })
        .collect();
    let mut obs = Observed {
        end,
        cgw_events: Vec::new(),
        probes,
        diagnoses: Vec::new(),
        timeline: Vec::new(),
        routes: snapshots,
        path_failed,
    };
    if let Some(src) = lab.cgw_source {
        cgw_ctx.cgw_source = Some(IpAddr::V4(src));
        aws_ctx.cgw_source = Some(IpAddr::V4(src));
    }
    let sides: [(&'static str, NodeId, &Context, Option<u8>); 3] = [
        ("cgw", lab.cgw, &cgw_ctx, None),
        ("aws", lab.aws[0], &aws_ctx, Some(1)),
        ("aws", lab.aws[1], &aws_ctx, Some(2)),
    ];
    for (side, id, ctx, fixed) in sides {
        let Some(g) = lab.sim.node::<TunnelGateway>(id) else {
            continue;
        };
        let all: Vec<&GatewayEvent> = lab
            .stashed
            .iter()
            .filter(|s| s.0 == id)
            .map(|s| &s.1)
            .chain(g.events())
            .collect();
        for e in all {
            let at = e.at - epoch;
            let tunnel = fixed.unwrap_or(e.tunnel.0 as u8 + 1);
            let text = match &e.kind {
                TunnelEventKind::IkeUp => "phase 1 established".to_string(),
                TunnelEventKind::Up => "phase 2 established (up)".to_string(),
                TunnelEventKind::ChildRekeyed { .. } => "child SA rekeyed".to_string(),
                TunnelEventKind::IkeRekeyed => "IKE SA rekeyed".to_string(),
                TunnelEventKind::Down { cause, was_up } => {
                    let mut ctx = ctx.clone();
                    let aws = [
                        scenario.topology.aws_tunnel1_address,
                        scenario.topology.aws_tunnel2_address,
                    ];
                    ctx.aws_address = Some(IpAddr::V4(aws[usize::from(tunnel == 2)]));
                    let (code, d) = cause_code(cause, &ctx);
                    if let Some(d) = d {
                        obs.diagnoses.push(Diagnosed {
                            at,
                            tunnel,
                            side,
                            diagnosis: d,
                        });
                    }
                    format!("{} [{code}]", if *was_up { "down" } else { "failed" })
                }
            };
            obs.timeline.push(TimelineEntry {
                at_ms: at.as_millis() as u64,
                side: side.to_string(),
                tunnel,
                event: text,
            });
            if side == "cgw" {
                obs.cgw_events.push((at, e.tunnel.0, e.kind.clone()));
            }
        }
    }
    obs.timeline
        .sort_by(|a, b| (a.at_ms, &a.side, a.tunnel).cmp(&(b.at_ms, &b.side, b.tunnel)));
    for n in notes {
        rep.errors.push(n);
    }
    for e in &scenario.expectations {
        rep.expectations.push(eval::evaluate(e, scenario, &obs));
    }
    rep.timeline = obs.timeline;
    for d in &obs.diagnoses {
        rep.diagnoses.push(format!(
            "{} tunnel {} ({}): {}",
            crate::scenario::format_duration(d.at),
            d.tunnel,
            d.side,
            d.diagnosis
        ));
    }
    rep.finish();
    rep
}

/// The route tables now. The VPC route table holds the connection's static
/// routes (`aws.static_routes`) while route propagation is on and at least
/// one AWS endpoint is up, as AWS propagates static VPN routes.
fn snapshot(lab: &Lab, s: &Scenario, at: Duration) -> RouteSnapshot {
    let cgw = lab
        .sim
        .node::<TunnelGateway>(lab.cgw)
        .map(|g| g.routes().iter().map(|(p, t)| (*p, t.0)).collect())
        .unwrap_or_default();
    let any_up = lab.aws.iter().any(|id| {
        lab.sim
            .node::<TunnelGateway>(*id)
            .is_some_and(|g| g.is_up(TunnelId(0)))
    });
    let vpc = if s.aws.route_propagation && any_up {
        s.aws.static_routes.iter().filter_map(lab_prefix).collect()
    } else {
        Vec::new()
    };
    RouteSnapshot { at, cgw, vpc }
}

fn steer_routes(lab: &mut Lab, s: &Scenario) {
    let Some(vpc) = lab_prefix(&s.topology.vpc_cidr) else {
        return;
    };
    let Some(onprem) = lab_prefix(&s.topology.onprem_cidr) else {
        return;
    };
    let mut extra: Vec<LabPrefix> = s.cgw.static_routes.iter().filter_map(lab_prefix).collect();
    extra.push(vpc);
    lab.sim.with_node(lab.cgw, |g: &mut TunnelGateway| {
        let t = if g.is_up(TunnelId(0)) || !g.is_up(TunnelId(1)) {
            TunnelId(0)
        } else {
            TunnelId(1)
        };
        for p in &extra {
            if g.routes().iter().any(|r| r.0 == *p && r.1 != t) {
                g.set_route(*p, t);
            }
        }
    });
    if !s.aws.route_propagation {
        return;
    }
    let up1 = lab
        .sim
        .node::<TunnelGateway>(lab.aws[0])
        .is_some_and(|g| g.is_up(TunnelId(0)));
    let up2 = lab
        .sim
        .node::<TunnelGateway>(lab.aws[1])
        .is_some_and(|g| g.is_up(TunnelId(0)));
    let iface = if up1 || !up2 { IfaceId(0) } else { IfaceId(1) };
    let needs = lab
        .sim
        .node::<Router>(lab.vpc_router)
        .is_some_and(|r| r.lookup(onprem.addr()) != Some(iface));
    if needs {
        lab.sim.with_node(lab.vpc_router, |r: &mut Router| {
            r.remove_route(onprem);
            r.add_route(onprem, iface);
        });
    }
}
