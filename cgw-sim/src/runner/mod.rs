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
//! - routing: with `routing = "bgp"` a BGP speaker on each gateway's
//!   control-plane interface (see [`bgp`]): the CGW's sessions feed its
//!   tunnel routes, AWS's feed the VPC route table through AWS's path
//!   choice (one tunnel per prefix; nothing with `route_propagation =
//!   false`), sessions are reset when their tunnel goes down; with
//!   `routing = "static"` the CGW routes the VPC CIDR (and
//!   `cgw.static_routes`) into the first tunnel that is up, the VPC router
//!   routes the on-prem CIDR to the first AWS endpoint that is up (no route
//!   with `route_propagation = false`); a failed CGW tunnel is initiated
//!   again after [`RETRY_INTERVAL`], except one its `idle_timeout` took
//!   down: the CGW initiates that one itself when traffic for it arrives;
//! - traffic: the on-prem host's pings every `[traffic] ping_interval`
//!   (default [`PING_INTERVAL`], or none), and `[[cgw.probe]]` ICMP probes
//!   (see [`probes`]; their figures in the report's notes);
//! - hosts: `onprem` and `vpc` answer pings and listen on TCP
//!   [`hosts::TCP_PORTS`] (smoltcp); a `tcp` expectation's connection is
//!   attempted every [`tcp_checks::TCP_INTERVAL`];
//! - faults: `block`/`unblock` (UDP port, ESP, address, on a named link),
//!   `link_down`/`link_up`, `impair` (latency, jitter, loss, MTU),
//!   `set_cgw_source_address`, `drop_ike_message` and `mangle_ike_message`
//!   (the n-th IKE message on the tunnel's path after the fault's time),
//!   `restart` of `cgw`, `aws1` or `aws2` (a new gateway with the same
//!   configuration: every SA lost; the CGW initiates again),
//!   `replace_endpoint` (AWS maintenance: a fresh AWS endpoint with the
//!   same address and options, the MED bias lowered on the other tunnel
//!   until the replaced one is up again) and `set_lifetime` (either side,
//!   from the fault's time; AWS values checked against AWS's ranges);
//! - expectations: `phaseN` state and cause per tunnel (the CGW's view;
//!   `down` also matches `failed`), `ping` from `onprem` to `vpc`
//!   (probes every [`PING_INTERVAL`], answered within [`PING_TIMEOUT`];
//!   one stream per `size`/`df`, `frag-needed` when the CGW refuses a DF
//!   packet over the tunnel MTU, an `mtu-blackhole` diagnosis then),
//!   `diagnosis` (code and text), `notification` (from the AWS side's
//!   view: `non-redundant` after an hour in all with exactly one tunnel
//!   up, `tunnel-down`, `endpoint-replaced`), `aws_log` (the AWS tunnel log
//!   records of [`crate::aws::log_emitter`], also in the report),
//!   `cgw_routes` and `vpc_route_table` (sampled every
//!   tick; the VPC table holds `aws.static_routes` while propagation is on
//!   and an endpoint is up), `measure` `tunnel_up_time` and
//!   `failover_time` (from the first `link_down`/`block` to the first
//!   answered ping after it), `bgp_established_time`; `bgp` state per
//!   tunnel (the CGW's session), `tcp` between `onprem` and `vpc`
//!   (`connected`, `refused`, `timeout`), `announce_prefixes`.
//!
//! The CGW's lifetimes and DPD (`[cgw.tunnelN.ike]`) are applied. A CGW
//! tunnel with `version = 1` sends IKEv1 Main Mode first messages (see
//! `node::ikev1`); an IKEv2-only AWS tunnel answers INVALID_MAJOR_VERSION
//! and the tunnel fails with `ike-version-mismatch`.
//!
//! Everything else (AWS BGP log records, IKEv1-only AWS tunnels, TCP and
//! UDP probes, the other faults) is
//! reported as a failed expectation or a scenario error saying "not
//! supported yet": never silently passed.
//!
//! With `[topology.nat]`, a source NAT (`lab::Nat`, port translation,
//! the mapping timeout) sits between `cgw-wan` and `nat-wan`, and AWS is
//! configured with the NAT's public address as the customer gateway IP.
//!
//! The run is deterministic: one scenario and one seed give one report.

#![deny(missing_docs)]

mod aws_view;
mod bgp;
mod capture;
mod eval;
mod events;
mod faults;
mod hosts;
#[cfg(target_os = "linux")]
pub(crate) mod kernel_eval;
mod maintenance;
mod observed;
pub mod parallel;
mod pings;
pub(crate) mod probes;
mod report;
mod sla_agent;
pub(crate) mod tcp_checks;
mod topology;
mod wan_faults;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use ike::sa::DeletedBy;
use lab::wire::Prefix as LabPrefix;
use lab::{IfaceId, NodeId, Router};

use crate::aws::StartupAction;
use crate::diagnosis::{Context, Diagnosis, Symptom};
use crate::node::{DownCause, GatewayEvent, TunnelEventKind, TunnelGateway, TunnelId};
use crate::scenario::{FaultAction, Role, Scenario, Timing};
use faults::apply_fault;
use observed::{Diagnosed, Observed, RouteSnapshot};
use tcp_checks::{NamedHost, TcpChecks, TcpKey};
use topology::{build, lab_prefix, Built, Lab};

pub use capture::CaptureInfo;
pub use maintenance::MAINTENANCE_MED_BIAS;
pub use report::{
    junit_xml, AwsBgpLogEntry, AwsLogEntry, ExpectationResult, ScenarioReport, TimelineEntry,
};

/// The runner's tick, and the default interval of the on-prem host's pings
/// to the VPC host (the ping expectations' probes; `[traffic]`).
pub const PING_INTERVAL: Duration = Duration::from_secs(1);
/// How long a ping waits for its reply.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);
use crate::assemble::cgw::retries_after;
pub use crate::assemble::cgw::RETRY_INTERVAL;

/// Things of the scenario the runner cannot do yet, to be reported.
fn unsupported_config(s: &Scenario) -> Vec<String> {
    let mut v = Vec::new();
    for (i, t) in [&s.cgw.tunnel1, &s.cgw.tunnel2].iter().enumerate() {
        if t.ike.source_address.is_some() {
            v.push(format!(
                "cgw.tunnel{}.ike.source_address: not supported yet",
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
    v
}

/// The cause code of a tunnel failure and its diagnosis (none for the
/// causes that need no explanation: deletes, DPD timeouts).
pub fn diagnose_down_cause(cause: &DownCause, ctx: &Context) -> (&'static str, Option<Diagnosis>) {
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
        DownCause::IdleTimeout { idle } => {
            let s = Symptom::IdleTimeout {
                idle: *idle,
                aws_initiates: ctx.aws_initiates,
            };
            let d = Diagnosis::from_symptom(&s, ctx);
            (d.code(), Some(d))
        }
        DownCause::IkeVersionMismatch { ours, peer } => {
            // The peer (AWS) received our version and speaks its own.
            let s = Symptom::IkeVersionMismatch {
                received: Some(*ours),
                accepted: vec![*peer],
            };
            let d = Diagnosis::from_symptom(&s, ctx);
            (d.code(), Some(d))
        }
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
    diagnose_down_cause(cause, &Context::cgw()).0
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
    run_inner(scenario, seed, None)
}

/// [`run_with_seed`], capturing every named link of the topology into
/// `dir/<link>.pcap` and writing the Wireshark key files of the CGW's SAs
/// (`ikev2_decryption_table`, `esp_sa`, `preferences`) next to them; the
/// report's `capture` says where, and how to open them. Only this entry
/// point exports keys. A capture that cannot be written is a report error.
pub fn run_captured(scenario: &Scenario, seed: u64, dir: &Path) -> ScenarioReport {
    run_inner(scenario, seed, Some(dir))
}

fn run_inner(scenario: &Scenario, seed: u64, capture_dir: Option<&Path>) -> ScenarioReport {
    let mut rep = ScenarioReport::new(scenario, seed);
    let mut notes = unsupported_config(scenario);
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
    let taps = capture_dir.map(|_| capture::start(&mut lab));
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
    let mut streams = pings::streams(scenario);
    let aliases = pings::aliases(&streams);
    lab.sim
        .with_node(lab.onprem, |h: &mut hosts::PingHost| h.aliases = aliases);
    let tcp_keys: Vec<TcpKey> = tcp_checks::keys(scenario);
    let mut tcp = TcpChecks::new(tcp_keys, PING_INTERVAL);
    let hosts: [NamedHost; 2] = [
        ("onprem", lab.onprem, scenario.topology.onprem_host),
        ("vpc", lab.vpc, scenario.topology.vpc_host),
    ];
    let cgw_probes = probes::Probes::new(
        &mut lab.sim,
        &scenario.cgw.probes,
        &hosts,
        epoch,
        PING_INTERVAL,
    );
    // Per CGW tunnel: when it was last initiated, if it is initiator.
    let initiator: Vec<bool> = [&scenario.cgw.tunnel1, &scenario.cgw.tunnel2]
        .iter()
        .map(|t| t.enabled && t.ike.role == Role::Initiator)
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
        maintenance::tick(&mut lab);
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
                    // A pair's removal comes with (after) the Down that
                    // matters here.
                    let last = events.iter().rfind(|e| {
                        e.tunnel.0 == i && !matches!(e.kind, TunnelEventKind::ChildRemoved { .. })
                    });
                    match last {
                        Some(e) if e.at - epoch >= t0 => match &e.kind {
                            TunnelEventKind::Down { cause, .. } => {
                                retries_after(
                                    [&scenario.cgw.tunnel1, &scenario.cgw.tunnel2][i],
                                    cause,
                                ) && now - e.at >= RETRY_INTERVAL
                            }
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
        match lab.bgp.as_mut() {
            // BGP: the speakers' best routes, AWS's path choice.
            Some(b) => b.sync(
                &mut lab.sim,
                lab.cgw,
                lab.aws,
                lab.vpc_router,
                scenario.aws.route_propagation,
                lab.aws_side.med_bias,
            ),
            // Static routes: the first tunnel that is up.
            None => steer_routes(&mut lab, scenario),
        }
        let mut snap = snapshot(&lab, scenario, tick);
        snap.probes = cgw_probes.sample(&lab.sim);
        snapshots.push(snap);
        if tick >= end {
            break;
        }
        tcp.tick(&mut lab.sim, &hosts, tick);
        // `[traffic] ping_interval`: whole seconds (the loader checks), so
        // on ticks that are multiples of it; none when off.
        if let Some(iv) = scenario.traffic.ping_interval {
            if tick >= iv && tick.as_millis() % iv.as_millis().max(1) == 0 {
                pings::send_all(&mut lab.sim, lab.onprem, vpc_host, &mut streams, tick);
            }
        }
        tick += PING_INTERVAL;
    }
    // Observations.
    let mut all_probes = pings::probes(&lab.sim, lab.onprem, epoch, &streams);
    let probes = if all_probes.is_empty() {
        Vec::new()
    } else {
        all_probes[0].3.clone()
    };
    let diagnoses = pings::mtu_diagnoses(&lab.sim, lab.cgw, &all_probes, &cgw_ctx);
    let sized = all_probes.split_off(1.min(all_probes.len()));
    let mut obs = Observed {
        end,
        cgw_events: Vec::new(),
        probes,
        sized,
        diagnoses,
        timeline: Vec::new(),
        routes: snapshots,
        path_failed,
        tcp,
        aws_logs: [Vec::new(), Vec::new()],
        aws_bgp_logs: [Vec::new(), Vec::new()],
        aws_notices: Vec::new(),
    };
    if let Some(b) = &lab.bgp {
        obs.aws_bgp_logs = bgp::aws_log_records(b, &lab.sim, epoch);
        for (i, recs) in obs.aws_bgp_logs.iter().enumerate() {
            rep.aws_bgp_logs.extend(recs.iter().map(|r| AwsBgpLogEntry {
                tunnel: i as u8 + 1,
                at_ms: r.at.as_millis() as u64,
                record: r.record.clone(),
            }));
        }
    }
    rep.notes.extend(cgw_probes.summaries(&lab.sim));
    let aws = aws_view::collect(&lab, epoch, end);
    obs.timeline.extend(aws.timeline);
    obs.aws_notices = aws.notices;
    for (i, recs) in aws.logs.iter().enumerate() {
        rep.aws_logs.extend(recs.iter().map(|r| AwsLogEntry {
            tunnel: i as u8 + 1,
            at_ms: r.at.as_millis() as u64,
            record: r.record.clone(),
        }));
    }
    obs.aws_logs = aws.logs;
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
            events::observe(
                scenario,
                side,
                ctx,
                fixed,
                (at, e.tunnel.0, &e.kind),
                &mut obs,
            );
        }
    }
    if let Some(b) = &lab.bgp {
        let at = lab.sim.now() - epoch;
        obs.diagnoses
            .extend(bgp::end_diagnoses(b, &lab.sim, lab.cgw, at));
        for o in bgp::observations(b, &lab.sim, epoch) {
            if let Some(d) = o.diagnosis {
                obs.diagnoses.push(Diagnosed {
                    at: o.at,
                    tunnel: o.tunnel,
                    side: o.side,
                    diagnosis: d,
                });
            }
            obs.timeline.push(TimelineEntry {
                at_ms: o.at.as_millis() as u64,
                side: o.side.to_string(),
                tunnel: o.tunnel,
                event: o.text,
            });
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
    rep.simulated_ms = (lab.sim.now() - epoch).as_millis() as u64;
    rep.sim_events = lab.sim.events_run();
    if let (Some(dir), Some(taps)) = (capture_dir, &taps) {
        match capture::write(&lab, taps, scenario, dir) {
            Ok(c) => rep.capture = Some(c),
            Err(e) => rep.errors.push(e),
        }
    }
    rep.diagnoses = events::summarize_diagnoses(&mut obs.diagnoses);
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
    let vpc = match &lab.bgp {
        Some(b) => b
            .vpc_installed
            .iter()
            .map(|(p, t)| (*p, Some(*t)))
            .collect(),
        None if s.aws.route_propagation && any_up => s
            .aws
            .static_routes
            .iter()
            .filter_map(lab_prefix)
            .map(|p| (p, None))
            .collect(),
        None => Vec::new(),
    };
    let bgp = match &lab.bgp {
        Some(b) => [b.cgw_state(&lab.sim, 0), b.cgw_state(&lab.sim, 1)],
        None => [None, None],
    };
    RouteSnapshot {
        at,
        cgw,
        vpc,
        bgp,
        probes: Vec::new(),
    }
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
