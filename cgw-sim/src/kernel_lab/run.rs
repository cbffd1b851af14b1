//! `lab run --netns`: one scenario on kernel networking, in real time.
//!
//! The scenario's topology ([`KernelTopology::build`]), our AWS mock in
//! the `aws` namespace and our CGW in the `cgw` namespace (the daemons of
//! `cgw-sim mock-aws` and `cgw-sim run`, configured from the scenario's
//! `[aws]` and `[cgw]` sections), the faults applied at their real times,
//! the on-prem host's pings (`ping`, one stream per size/DF/source the
//! expectations name, every `[traffic] ping_interval`) and the `tcp`
//! expectations' connections (every 5 s) on real sockets, the
//! `[[cgw.probe]]` probes with the SLA daemon's prober ([`super::probes`]),
//! the daemons' views and the probers' status sampled every [`SAMPLE`]; at the end of the timeline everything
//! stops and the observations go to the simulated runner's evaluation
//! (`runner::kernel_eval`), so that a verdict means the same in both
//! modes.
//!
//! Everything created is removed when the run ends, fails or is
//! interrupted: the daemons stop on drop (SAs deleted, routes withdrawn,
//! TUN devices removed) before the topology drops (namespaces removed).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lab::kernel::Netns;
use lab::wire::Prefix as LabPrefix;

use super::hosts::{ping, tcp_transfer, PingRequest, TcpListenerHost, TcpOutcome, TcpRequest};
use super::marking::{kernel_support, timeline_length};
use super::probes::KernelProbes;
use super::topology::{KernelAddresses, KernelNode, KernelTopology};
use crate::assemble::seed_bytes;
use crate::aws::logs::{BgpLogRecord, TunnelLogRecord};
use crate::aws::Ipv4Cidr;
use crate::config::{GatewayConfig, GatewayTunnel, LogFormat, MockConfig, MockTunnel, Psk};
use crate::daemon::mock::MOCK_TUNS;
use crate::daemon::view::View;
use crate::runner::kernel_eval::{
    evaluate, KernelObservations, KernelProbe, KernelSnapshot, KernelTcp, KernelTcpAttempt,
};
use crate::runner::ScenarioReport;
use crate::scenario::{Assertion, FaultAction, Prefix, Routing, Scenario};

/// How often the daemons' views are sampled (the resolution of route,
/// BGP and AWS log observations; tunnel events carry their own times).
pub const SAMPLE: Duration = Duration::from_millis(100);
/// How often a `tcp` expectation's connection is attempted (as simulated).
pub const TCP_INTERVAL: Duration = Duration::from_secs(5);
/// Pings per `ping` run: one, because iputils ping exits at the first
/// ICMP error (a "net unreachable" from the CGW before its routes are in),
/// which would lose the rest of a batch; one process per ping also gives
/// each ping its exact send time.
const PING_BATCH: u32 = 1;
/// How long a ping waits for its reply (the simulated runner's).
const PING_TIMEOUT: Duration = crate::runner::PING_TIMEOUT;
/// The TUN device names of our CGW's tunnels in the `cgw` namespace.
const CGW_TUNS: [&str; 2] = ["cgwsim1", "cgwsim2"];
/// The ports the hosts listen on (as the simulated hosts do).
const TCP_PORTS: [u16; 3] = [22, 80, 443];

/// The result of [`run`].
#[derive(Debug)]
pub enum KernelRun {
    /// The scenario cannot run on the kernel: every reason.
    Skipped(Vec<String>),
    /// It ran: its report (errors of the kernel plumbing are report errors).
    Ran(Box<ScenarioReport>, Duration),
    /// `interrupt` was set: everything was removed, no verdict.
    Interrupted,
}

/// Why the scenario cannot run on the kernel runner, if it cannot:
/// [`kernel_support`]'s blockers, and gateway faults (restart, endpoint
/// replacement, prefixes, lifetimes), which this runner does not apply.
pub fn blockers(s: &Scenario) -> Vec<String> {
    let k = kernel_support(s);
    let mut v = k.blockers;
    for g in k.for_gateways {
        v.push(format!(
            "gateway fault {g}: the kernel runner applies network faults only"
        ));
    }
    v
}

/// The addresses of a `tcp`/`ping` host name.
fn host(a: &KernelAddresses, name: &str) -> Option<(KernelNode, Ipv4Addr)> {
    match name {
        "onprem" => Some((KernelNode::Onprem, a.onprem_host)),
        "vpc" => Some((KernelNode::Vpc, a.vpc_host)),
        _ => None,
    }
}

fn v4(p: &Prefix) -> Option<(Ipv4Addr, u8)> {
    match p.addr {
        std::net::IpAddr::V4(a) => Some((a, p.len)),
        std::net::IpAddr::V6(_) => None,
    }
}

fn covers(outer: &Prefix, inner: (Ipv4Addr, u8)) -> bool {
    v4(outer).is_some_and(|(a, l)| {
        let m = u32::MAX.checked_shl(32 - u32::from(l)).unwrap_or(0);
        l <= inner.1 && u32::from(a) & m == u32::from(inner.0) & m
    })
}

/// The daemons' configurations for the scenario: what the simulated lab
/// builds from `[cgw]`/`[aws]` (same PSKs, inside CIDRs, ASNs), plus the
/// routes the simulated runner adds itself: with static routing the CGW
/// routes the VPC CIDR into the tunnels and AWS routes the on-prem CIDR.
pub fn configs(s: &Scenario, a: &KernelAddresses) -> (GatewayConfig, MockConfig) {
    let vpn = s.vpn_connection();
    let mut gw_tunnels = Vec::new();
    let mut mock_tunnels = Vec::new();
    for (i, opts) in vpn.tunnels.iter().enumerate() {
        let cgw_t = if i == 0 {
            &s.cgw.tunnel1
        } else {
            &s.cgw.tunnel2
        };
        let (aws_psk, cgw_psk) = crate::assemble::scenario_psks(opts, cgw_t, s.seed, i);
        let inside = opts
            .inside_cidr
            .unwrap_or(Ipv4Cidr::new(Ipv4Addr::new(169, 254, 10 + i as u8, 0), 30));
        gw_tunnels.push(GatewayTunnel {
            aws_address: a.aws[i],
            inside_cidr: inside,
            // Scenarios are IPv4 (the loader refuses an IPv6 inside CIDR).
            inside_ipv6_cidr: None,
            keepalive_target: None,
            psk: Psk::new(cgw_psk),
            tun: CGW_TUNS.get(i).copied().unwrap_or("cgwsim").to_string(),
            ping_targets: Vec::new(),
            tcp_targets: Vec::new(),
        });
        mock_tunnels.push(MockTunnel {
            listen: a.aws[i],
            inside_cidr: inside,
            inside_ipv6_cidr: None,
            psk: Psk::new(aws_psk),
        });
    }
    let mut cgw = s.cgw.clone();
    cgw.tunnel1.ike.psk = None;
    cgw.tunnel2.ike.psk = None;
    let mut aws = s.aws.clone();
    aws.tunnel1.psk = None;
    aws.tunnel2.psk = None;
    if s.aws.routing == Routing::Static {
        if !cgw.static_routes.contains(&s.topology.vpc_cidr) {
            cgw.static_routes.push(s.topology.vpc_cidr);
        }
        if !aws.static_routes.iter().any(|p| covers(p, a.onprem_cidr)) {
            aws.static_routes.push(s.topology.onprem_cidr);
        }
    }
    let [g1, g2]: [GatewayTunnel; 2] = gw_tunnels.try_into().expect("two tunnels");
    let [m1, m2]: [MockTunnel; 2] = mock_tunnels.try_into().expect("two tunnels");
    let gw = GatewayConfig {
        local_address: a.cgw_wan,
        interface: None,
        metrics_listen: "127.0.0.1:9184".parse().expect("a socket address"),
        log_format: LogFormat::Text,
        routing: s.aws.routing,
        aws_asn: s.cgw.bgp.peer_asn.unwrap_or(s.aws.asn),
        validate_timeout: Duration::from_secs(60),
        // A scenario's CGW sends only what the scenario says (an idle
        // tunnel must be able to idle out).
        keepalive: None,
        // Daemons on background threads serve no telemetry: these are
        // never bound.
        control_socket: crate::config::DEFAULT_GATEWAY_SOCKET.into(),
        tunnels: [g1, g2],
        cgw,
    };
    let mock = MockConfig {
        cgw_address: a.aws_sees,
        vpc_cidrs: vec![s.topology.vpc_cidr],
        // The records are read from the mock's view, not from a file.
        log_path: Some("/dev/null".into()),
        metrics_listen: crate::config::DEFAULT_MOCK_METRICS_LISTEN,
        control_socket: crate::config::DEFAULT_MOCK_SOCKET.into(),
        tunnels: [m1, m2],
        aws,
    };
    (gw, mock)
}

/// Ping streams: (size, DF, source), the default first (as simulated).
fn streams(s: &Scenario) -> Vec<(u16, bool, Option<Ipv4Addr>)> {
    let mut v = vec![(56, false, None)];
    for e in &s.expectations {
        if let Assertion::Ping {
            size, df, source, ..
        } = &e.assertion
        {
            let k = (size.unwrap_or(56), *df, *source);
            if !v.contains(&k) {
                v.push(k);
            }
        }
    }
    v
}

/// Background work of a run, on a thread inside a namespace (an error:
/// the thread could not enter it).
type Worker<T> = JoinHandle<lab::kernel::Result<T>>;

/// The state of one run while it goes.
struct Live {
    epoch: Instant,
    obs: KernelObservations,
    seen_records: [usize; 2],
    pings: Vec<Worker<(usize, Vec<KernelProbe>)>>,
    tcps: Vec<Worker<KernelTcpAttempt>>,
    /// The CGW's `[[cgw.probe]]` probers and the hosts' responders.
    probes: KernelProbes,
}

impl Live {
    fn since(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.epoch)
    }

    /// One sample of both daemons' views.
    fn sample(&mut self, cgw: &View, aws: &View) {
        let at = self.since(Instant::now());
        let dev = |names: &[&str; 2], d: &str| names.iter().position(|n| *n == d);
        let cgw_routes = cgw
            .routes
            .iter()
            .filter_map(|(p, d)| Some((crate::assemble::lab_prefix(p)?, dev(&CGW_TUNS, d)?)))
            .collect::<Vec<(LabPrefix, usize)>>();
        let vpc = aws
            .routes
            .iter()
            .filter_map(|(p, d)| Some((crate::assemble::lab_prefix(p)?, dev(&MOCK_TUNS, d)?)))
            .collect();
        self.obs.snapshots.push(KernelSnapshot {
            at,
            cgw: cgw_routes,
            vpc,
            bgp: [cgw.tunnels[0].bgp, cgw.tunnels[1].bgp],
            probes: self.probes.sample(),
        });
        for t in 0..2 {
            for line in aws.records[t].iter().skip(self.seen_records[t]) {
                // BGP records carry a "type" tag; tunnel records do not.
                if let Ok(r) = serde_json::from_str::<BgpLogRecord>(line) {
                    self.obs.aws_bgp_logs[t].push((at, r));
                } else if let Ok(r) = serde_json::from_str::<TunnelLogRecord>(line) {
                    self.obs.aws_logs[t].push((at, r));
                } else {
                    self.obs
                        .errors
                        .push(format!("an AWS log record the runner cannot read: {line}"));
                }
            }
            self.seen_records[t] = aws.records[t].len();
        }
    }
}

/// Runs `s` on kernel networking; see the module documentation. Checks
/// `interrupt` every [`SAMPLE`]: once set, everything is removed and
/// [`KernelRun::Interrupted`] returned.
pub fn run(s: &Scenario, interrupt: &AtomicBool) -> KernelRun {
    let why = blockers(s);
    if !why.is_empty() {
        return KernelRun::Skipped(why);
    }
    let started = Instant::now();
    match run_inner(s, interrupt) {
        Ok(Some(mut obs)) => {
            obs.wall = started.elapsed();
            KernelRun::Ran(Box::new(evaluate(s, obs)), started.elapsed())
        }
        Ok(None) => KernelRun::Interrupted,
        Err(e) => {
            let obs = KernelObservations {
                errors: vec![e],
                wall: started.elapsed(),
                ..KernelObservations::default()
            };
            KernelRun::Ran(Box::new(evaluate(s, obs)), started.elapsed())
        }
    }
}

/// The run itself: `Ok(None)` when interrupted, `Err` when the plumbing
/// failed before the timeline could run.
fn run_inner(s: &Scenario, interrupt: &AtomicBool) -> Result<Option<KernelObservations>, String> {
    let end = timeline_length(s) + PING_TIMEOUT + Duration::from_secs(1);
    let mut topo = KernelTopology::build(s).map_err(|e| format!("kernel topology: {e}"))?;
    let addrs = topo.addresses().clone();
    let (gw_cfg, mock_cfg) = configs(s, &addrs);
    let mut faults: Vec<_> = s.faults.iter().collect();
    faults.sort_by_key(|f| f.at);
    let mut next_fault = 0;
    let mut live = Live {
        epoch: Instant::now(),
        obs: KernelObservations {
            end,
            tcp_keys: crate::runner::tcp_checks::keys(s),
            ..KernelObservations::default()
        },
        seen_records: [0, 0],
        pings: Vec::new(),
        tcps: Vec::new(),
        probes: KernelProbes::default(),
    };
    let mut apply_due = |topo: &mut KernelTopology, live: &mut Live, now: Duration| {
        while next_fault < faults.len() && faults[next_fault].at <= now {
            let f = faults[next_fault];
            if live.obs.path_failed.is_none()
                && matches!(f.action, FaultAction::LinkDown(_) | FaultAction::Block(_))
            {
                live.obs.path_failed = Some(live.since(Instant::now()));
            }
            if let FaultAction::SetCgwSourceAddress(std::net::IpAddr::V4(a)) = f.action {
                live.obs.cgw_source = Some(a);
            }
            if let Err(e) = topo.apply_fault(&f.action) {
                live.obs.errors.push(format!(
                    "fault at {}: {e}",
                    crate::scenario::format_duration(f.at)
                ));
            }
            next_fault += 1;
        }
    };
    // Faults at 0 s are in place before the gateways send anything.
    apply_due(&mut topo, &mut live, Duration::ZERO);
    let mock = crate::daemon::mock::spawn(
        topo.ns(KernelNode::Aws).map_err(|e| e.to_string())?,
        mock_cfg,
        seed_bytes(s.seed, 0x10),
    )
    .map_err(|e| format!("starting the AWS mock: {e}"))?;
    let cgw = crate::daemon::cgw::spawn(
        topo.ns(KernelNode::Cgw).map_err(|e| e.to_string())?,
        gw_cfg,
        seed_bytes(s.seed, 0x01),
    )
    .map_err(|e| format!("starting the CGW: {e}"))?;
    // Listeners for the `tcp` expectations on the simulated hosts' ports.
    let mut listeners: Vec<TcpListenerHost> = Vec::new();
    let mut listening: Vec<(String, u16)> = Vec::new();
    for (_, to, port, _) in &live.obs.tcp_keys {
        let Some((node, addr)) = host(&addrs, to) else {
            continue;
        };
        if TCP_PORTS.contains(port) && !listening.contains(&(to.clone(), *port)) {
            let ns = topo.ns(node).map_err(|e| e.to_string())?;
            listeners.push(
                TcpListenerHost::start(ns, addr, *port)
                    .map_err(|e| format!("TCP listener {to}:{port}: {e}"))?,
            );
            listening.push((to.clone(), *port));
        }
    }
    // The probes' responders are bound before their probers start.
    live.probes = KernelProbes::start(
        &topo,
        &s.cgw.probes,
        live.epoch,
        crate::runner::PING_INTERVAL,
    )?;
    live.obs.probe_labels = live.probes.labels.clone();
    let streams = streams(s);
    live.obs.pings = streams
        .iter()
        .map(|(size, df, src)| (*size, *df, *src, Vec::new()))
        .collect();
    let ping_every = s.traffic.ping_interval;
    let mut next_ping = ping_every;
    let mut next_tcp = vec![crate::runner::PING_INTERVAL; live.obs.tcp_keys.len()];
    loop {
        let now = live.since(Instant::now());
        if interrupt.load(Ordering::Relaxed) {
            // Daemons first (Deletes sent, TUNs removed), then the topology.
            drop(live.probes);
            drop(cgw);
            drop(mock);
            drop(listeners);
            drop(topo);
            return Ok(None);
        }
        apply_due(&mut topo, &mut live, now);
        if cgw.finished() || mock.finished() {
            live.obs.errors.push(format!(
                "a daemon stopped at {:.1} s (cgw: {}, aws: {})",
                now.as_secs_f64(),
                if cgw.finished() { "stopped" } else { "running" },
                if mock.finished() {
                    "stopped"
                } else {
                    "running"
                },
            ));
            break;
        }
        for name in live.probes.newly_failed() {
            live.obs.errors.push(format!(
                "{name} stopped early, at {:.1} s",
                now.as_secs_f64()
            ));
        }
        live.sample(&cgw.view(), &mock.view());
        // Pings: batches of PING_BATCH per stream.
        if let (Some(iv), Some(at)) = (ping_every, next_ping) {
            if now >= at && at + PING_TIMEOUT < end {
                let left = (end - PING_TIMEOUT - at).as_secs_f64() / iv.as_secs_f64();
                let count = (left.floor() as u32 + 1).min(PING_BATCH);
                let ns = topo.ns(KernelNode::Onprem).map_err(|e| e.to_string())?;
                for (i, (size, df, src)) in streams.iter().enumerate() {
                    let stream = (i, *size, *df, *src);
                    match ping_batch(ns, addrs.vpc_host, stream, iv, count, live.epoch) {
                        Ok(w) => live.pings.push(w),
                        Err(e) => live.obs.errors.push(format!("ping at {now:?}: {e}")),
                    }
                }
                next_ping = Some(at + iv * count);
            }
        }
        // TCP attempts.
        for (k, key) in live.obs.tcp_keys.clone().iter().enumerate() {
            if now >= next_tcp[k] && next_tcp[k] + Duration::from_secs(3) <= end {
                next_tcp[k] += TCP_INTERVAL;
                let (Some(from), Some(to)) = (host(&addrs, &key.0), host(&addrs, &key.1)) else {
                    continue;
                };
                let ns = topo.ns(from.0).map_err(|e| e.to_string())?;
                match tcp_attempt(ns, k, SocketAddrV4::new(to.1, key.2), key.3, live.epoch) {
                    Ok(w) => live.tcps.push(w),
                    Err(e) => live.obs.errors.push(format!("tcp at {now:?}: {e}")),
                }
            }
        }
        if now >= end {
            break;
        }
        std::thread::sleep(SAMPLE);
    }
    // The journals: every tunnel event with its time.
    let (cv, av) = (cgw.view(), mock.view());
    live.sample(&cv, &av);
    live.obs.cgw_events = cv
        .events
        .iter()
        .map(|(t, at, k)| (live.since(*at), *t, k.clone()))
        .collect();
    for (t, at, k) in &av.events {
        if *t < 2 {
            let at = live.since(*at);
            live.obs.aws_events[*t].push((at, k.clone()));
        }
    }
    let (totals, errors) = std::mem::take(&mut live.probes).stop();
    live.obs.probe_totals = totals;
    live.obs.errors.extend(errors);
    for (who, d) in [("CGW", cgw), ("AWS mock", mock)] {
        if let Err(e) = d.stop() {
            live.obs
                .errors
                .push(format!("the {who} stopped with an error: {e}"));
        }
    }
    // Bounded: a ping batch ends within its deadline, a TCP attempt within
    // 13 s.
    for w in std::mem::take(&mut live.pings) {
        if let Ok(Ok((i, probes))) = w.join() {
            live.obs.pings[i].3.extend(probes);
        }
    }
    for w in std::mem::take(&mut live.tcps) {
        if let Ok(Ok(a)) = w.join() {
            live.obs.tcp_attempts.push(a);
        }
    }
    for (_, _, _, p) in &mut live.obs.pings {
        p.sort_by_key(|x| x.0);
    }
    live.obs.tcp_attempts.sort_by_key(|a| a.started);
    drop(listeners);
    drop(topo);
    Ok(Some(live.obs))
}

/// One batch of one ping stream, on its own thread: `count` pings every
/// `iv` from the on-prem host; their send times are the batch's start
/// plus the interval (ping's own schedule).
fn ping_batch(
    ns: &Netns,
    to: Ipv4Addr,
    (stream, size, df, source): (usize, u16, bool, Option<Ipv4Addr>),
    iv: Duration,
    count: u32,
    epoch: Instant,
) -> lab::kernel::Result<Worker<(usize, Vec<KernelProbe>)>> {
    ns.spawn(move || {
        let req = PingRequest {
            to,
            count: count as u16,
            interval: iv,
            size,
            df,
            source,
            deadline: iv * count + PING_TIMEOUT,
        };
        let start = Instant::now().saturating_duration_since(epoch);
        let report = match Netns::here()
            .map_err(Into::into)
            .and_then(|ns| ping(&ns, &req))
        {
            Ok(r) => r,
            Err(_) => return (stream, Vec::new()),
        };
        let probes = report
            .probes
            .iter()
            .map(|p| {
                let sent = start + iv * u32::from(p.seq.saturating_sub(1));
                let frag = p.frag_needed.map(|_| sent);
                (sent, p.rtt.map(|r| sent + r), frag)
            })
            .collect();
        (stream, probes)
    })
}

/// One TCP attempt on its own thread (bounded: 3 s handshake, 10 s transfer).
fn tcp_attempt(
    ns: &Netns,
    key: usize,
    to: SocketAddrV4,
    bytes: u32,
    epoch: Instant,
) -> lab::kernel::Result<Worker<KernelTcpAttempt>> {
    ns.spawn(move || {
        let t0 = Instant::now();
        let started = t0.saturating_duration_since(epoch);
        let req = TcpRequest {
            to,
            bytes,
            connect_timeout: Duration::from_secs(3),
            deadline: Duration::from_secs(10),
        };
        let here = Netns::here().map_err(Into::into);
        let (outcome, acked) = match here.and_then(|ns| tcp_transfer(&ns, &req)) {
            Ok(r) => {
                let o = match r.outcome {
                    TcpOutcome::Connected => KernelTcp::Connected,
                    TcpOutcome::Refused => KernelTcp::Refused,
                    TcpOutcome::Timeout => KernelTcp::Timeout,
                };
                (Some((o, started + t0.elapsed())), r.acked)
            }
            Err(_) => (None, 0),
        };
        KernelTcpAttempt {
            key,
            started,
            outcome,
            acked,
        }
    })
}

/// Set by the SIGINT handler [`on_sigint`] installs.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn note_sigint(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Installs a SIGINT handler that only sets the returned flag: the runs
/// see it within [`SAMPLE`], remove everything and end, and the caller
/// exits non-zero.
pub fn on_sigint() -> &'static AtomicBool {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            note_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    &INTERRUPTED
}

/// Whether this process may build kernel topologies (root).
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The wall time a run of `s` takes at least: its timeline and the wait
/// for the last pings' replies.
pub fn expected_wall(s: &Scenario) -> Duration {
    timeline_length(s) + PING_TIMEOUT + Duration::from_secs(1)
}

/// Runs the scenarios on `jobs` threads (1: one after the other), calling
/// `done(index, &run)` in input order as each finishes. Once `interrupt`
/// is set, the runs in progress clean up and return
/// [`KernelRun::Interrupted`], and the ones not started are not started.
pub fn run_all(
    scenarios: &[Scenario],
    jobs: usize,
    interrupt: &AtomicBool,
    done: impl FnMut(usize, &KernelRun),
) -> Vec<KernelRun> {
    crate::runner::parallel::map_ordered(
        scenarios,
        jobs,
        |s| {
            if interrupt.load(Ordering::Relaxed) {
                KernelRun::Interrupted
            } else {
                run(s, interrupt)
            }
        },
        done,
    )
}
