//! The kernel lab's observations judged by the simulated lab's
//! expectations: `lab run --netns` (`crate::kernel_lab::run`) collects
//! what the daemons and the real hosts showed in real time, in the
//! runner's terms (tunnel events with their causes, per-sample route
//! tables and BGP states, ping probes, TCP attempts, AWS log records), and
//! this module fills the same [`Observed`] the simulated run fills and
//! evaluates every expectation with the same code, so a verdict means the
//! same thing in both modes.
//!
//! What the kernel lab does not observe is said in the report: an
//! expectation that needs it fails with "not checked on the kernel"
//! (never a silent pass).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lab::wire::Prefix as LabPrefix;

use super::observed::{Observed, Probe, RouteSnapshot};
use super::probes::ProbeSample;
use super::tcp_checks::{TcpChecks, TcpOutcome};
use super::{eval, events, unsupported_config, ExpectationResult, ScenarioReport, TimelineEntry};
use super::{AwsBgpLogEntry, AwsLogEntry};
use crate::assemble::cgw::cgw_proposals;
use crate::aws::log_emitter::{notifications, up_changes, LogInput, TimedRecord};
use crate::aws::logs::{BgpLogRecord, TunnelLogRecord};
use crate::diagnosis::Context;
use crate::node::TunnelEventKind;
use crate::scenario::{Assertion, Scenario};

/// One ping of a stream: sent, reply and "fragmentation needed" times
/// (since the start).
pub(crate) type KernelProbe = (Duration, Option<Duration>, Option<Duration>);

/// The tables and sessions at one sample.
pub(crate) struct KernelSnapshot {
    /// Since the start.
    pub at: Duration,
    /// The CGW's kernel routes through its tunnels (prefix, tunnel index).
    pub cgw: Vec<(LabPrefix, usize)>,
    /// The AWS side's routes towards the tunnels (prefix, tunnel index).
    pub vpc: Vec<(LabPrefix, usize)>,
    /// The CGW's BGP session state per tunnel.
    pub bgp: [Option<bgp::session::State>; 2],
    /// Each `[[cgw.probe]]`'s figures, from the SLA prober's status.
    pub probes: Vec<ProbeSample>,
}

/// How one real TCP attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KernelTcp {
    /// Handshake (and every byte acknowledged).
    Connected,
    /// RST.
    Refused,
    /// Nothing in time.
    Timeout,
}

/// One real TCP attempt.
pub(crate) struct KernelTcpAttempt {
    /// Index of its key in [`KernelObservations::tcp_keys`].
    pub key: usize,
    /// Started at (since the start).
    pub started: Duration,
    /// The outcome and when it was known (none: the run ended first).
    pub outcome: Option<(KernelTcp, Duration)>,
    /// Bytes the listener acknowledged.
    pub acked: u32,
}

/// Everything a kernel run observed.
#[derive(Default)]
pub(crate) struct KernelObservations {
    /// The end of the timeline (since the start).
    pub end: Duration,
    /// Wall time of the run, for the report.
    pub wall: Duration,
    /// The CGW daemon's tunnel events: (since the start, tunnel index, kind).
    pub cgw_events: Vec<(Duration, usize, TunnelEventKind)>,
    /// The AWS mock's events per tunnel.
    pub aws_events: [Vec<(Duration, TunnelEventKind)>; 2],
    /// Per ping stream: ICMP data size, DF, source alias, probes.
    pub pings: Vec<(u16, bool, Option<Ipv4Addr>, Vec<KernelProbe>)>,
    /// Samples of the route tables and sessions, in time order.
    pub snapshots: Vec<KernelSnapshot>,
    /// The `tcp` expectations' keys: (from, to, port, bytes).
    pub tcp_keys: Vec<(String, String, u16, u32)>,
    /// Every TCP attempt.
    pub tcp_attempts: Vec<KernelTcpAttempt>,
    /// The mock's tunnel records per tunnel, with when they were first seen.
    pub aws_logs: [Vec<(Duration, TunnelLogRecord)>; 2],
    /// The mock's BGP records per tunnel, with when they were first seen.
    pub aws_bgp_logs: [Vec<(Duration, BgpLogRecord)>; 2],
    /// When the first `link_down` or `block` was applied.
    pub path_failed: Option<Duration>,
    /// The source address a `set_cgw_source_address` fault set.
    pub cgw_source: Option<Ipv4Addr>,
    /// Each probe's label for the report.
    pub probe_labels: Vec<String>,
    /// Each probe's totals line at the end.
    pub probe_totals: Vec<String>,
    /// Errors of the run (a fault that failed, a daemon that stopped).
    pub errors: Vec<String>,
}

/// Why an expectation cannot be judged on the kernel, if it cannot.
fn unchecked(e: &Assertion) -> Option<&'static str> {
    match e {
        Assertion::Diagnosis { cause: Some(c), .. }
            if c.starts_with("bgp-")
                || c == "mtu-blackhole"
                || c == "route-propagation-disabled"
                || c == "no-return-traffic" =>
        {
            Some("the kernel lab diagnoses tunnel failures only (no BGP, MTU or routing diagnosis)")
        }
        Assertion::Notification(crate::scenario::Notification::EndpointReplaced) => {
            Some("the kernel lab does not replace endpoints")
        }
        _ => None,
    }
}

/// Judges a kernel run's observations: the same [`Observed`] and the same
/// evaluation as the simulated runner.
pub(crate) fn evaluate(s: &Scenario, o: KernelObservations) -> ScenarioReport {
    let mut rep = ScenarioReport::new(s, s.seed);
    rep.errors.extend(unsupported_config(s));
    rep.errors.extend(o.errors);
    let mut sized: Vec<super::pings::SizedProbes> = o
        .pings
        .iter()
        .map(|(size, df, src, probes)| {
            let p = probes
                .iter()
                .map(|(sent, reply, frag)| Probe {
                    sent: *sent,
                    reply: *reply,
                    frag_needed: *frag,
                })
                .collect();
            (*size, *df, *src, p)
        })
        .collect();
    // The default stream is first, as in the simulated run.
    let probes = if sized.is_empty() {
        Vec::new()
    } else {
        sized.remove(0).3
    };
    let mut tcp = TcpChecks::new(o.tcp_keys.clone(), super::PING_INTERVAL);
    for a in &o.tcp_attempts {
        let outcome = a.outcome.map(|(k, at)| {
            let k = match k {
                KernelTcp::Connected => TcpOutcome::Connected,
                KernelTcp::Refused => TcpOutcome::Refused,
                KernelTcp::Timeout => TcpOutcome::Timeout,
            };
            (k, at)
        });
        tcp.record(a.key, a.started, outcome, a.acked);
    }
    let routes: Vec<RouteSnapshot> = o
        .snapshots
        .iter()
        .map(|k| RouteSnapshot {
            at: k.at,
            cgw: k.cgw.clone(),
            vpc: k.vpc.iter().map(|(p, t)| (*p, Some(*t))).collect(),
            bgp: k.bgp,
            probes: k.probes.clone(),
        })
        .collect();
    let timed = |v: &[(Duration, TunnelLogRecord)]| -> Vec<TimedRecord> {
        v.iter()
            .map(|(at, r)| TimedRecord {
                at: *at,
                record: r.clone(),
            })
            .collect()
    };
    let timed_bgp = |v: &[(Duration, BgpLogRecord)]| {
        v.iter()
            .map(|(at, r)| crate::aws::bgp_log_emitter::TimedBgpRecord {
                at: *at,
                record: r.clone(),
            })
            .collect::<Vec<_>>()
    };
    let mut obs = Observed {
        end: o.end,
        cgw_events: Vec::new(),
        probes,
        sized,
        diagnoses: Vec::new(),
        timeline: Vec::new(),
        routes,
        path_failed: o.path_failed,
        tcp,
        aws_logs: [timed(&o.aws_logs[0]), timed(&o.aws_logs[1])],
        aws_bgp_logs: [timed_bgp(&o.aws_bgp_logs[0]), timed_bgp(&o.aws_bgp_logs[1])],
        aws_notices: Vec::new(),
    };
    // The AWS side's notifications from its tunnels' up/down changes.
    let inputs = |i: usize| -> Vec<(Duration, LogInput)> {
        o.aws_events[i]
            .iter()
            .map(|(at, k)| (*at, LogInput::Gateway(k.clone())))
            .collect()
    };
    let ups = [up_changes(&inputs(0)), up_changes(&inputs(1))];
    obs.aws_notices = notifications([&ups[0], &ups[1]], o.end)
        .into_iter()
        .map(|(t, n)| (t, super::aws_view::Notice::Aws(n)))
        .collect();
    // The contexts the simulated runner diagnoses with.
    let aws_sees = s
        .topology
        .nat
        .as_ref()
        .map_or(s.topology.cgw_address, |n| n.public_address);
    let (ike, esp) = cgw_proposals(&s.cgw.tunnel1.ike).unwrap_or_default();
    let source = o.cgw_source.unwrap_or(aws_sees);
    let addrs = |c: Context| {
        c.with_cgw_proposals(ike.clone(), esp.clone())
            .with_addresses(
                Some(IpAddr::V4(aws_sees)),
                Some(IpAddr::V4(source)),
                Some(IpAddr::V4(s.topology.aws_tunnel1_address)),
            )
    };
    let (cgw_ctx, aws_ctx) = (addrs(Context::cgw()), addrs(Context::aws()));
    for (at, index, kind) in &o.cgw_events {
        events::observe(s, "cgw", &cgw_ctx, None, (*at, *index, kind), &mut obs);
    }
    for (i, evs) in o.aws_events.iter().enumerate() {
        for (at, kind) in evs {
            let fixed = Some(i as u8 + 1);
            events::observe(s, "aws", &aws_ctx, fixed, (*at, 0, kind), &mut obs);
        }
    }
    // BGP session changes of the CGW, from the samples.
    let mut last = [None, None];
    for snap in &obs.routes {
        for (t, st) in snap.bgp.iter().enumerate() {
            if *st != last[t] {
                if let Some(st) = st {
                    obs.timeline.push(TimelineEntry {
                        at_ms: snap.at.as_millis() as u64,
                        side: "cgw".into(),
                        tunnel: t as u8 + 1,
                        event: format!("BGP {st:?}"),
                    });
                }
                last[t] = *st;
            }
        }
    }
    obs.timeline
        .sort_by(|a, b| (a.at_ms, &a.side, a.tunnel).cmp(&(b.at_ms, &b.side, b.tunnel)));
    for e in &s.expectations {
        let r = match unchecked(&e.assertion) {
            Some(why) => {
                let judged = eval::evaluate(e, s, &obs);
                ExpectationResult {
                    description: judged.description,
                    passed: false,
                    observed: format!("not checked on the kernel: {why}"),
                }
            }
            None => eval::evaluate(e, s, &obs),
        };
        rep.expectations.push(r);
    }
    for (i, recs) in obs.aws_logs.iter().enumerate() {
        rep.aws_logs.extend(recs.iter().map(|r| AwsLogEntry {
            tunnel: i as u8 + 1,
            at_ms: r.at.as_millis() as u64,
            record: r.record.clone(),
        }));
    }
    for (i, recs) in obs.aws_bgp_logs.iter().enumerate() {
        rep.aws_bgp_logs.extend(recs.iter().map(|r| AwsBgpLogEntry {
            tunnel: i as u8 + 1,
            at_ms: r.at.as_millis() as u64,
            record: r.record.clone(),
        }));
    }
    rep.notes.extend(o.probe_totals.iter().cloned());
    rep.notes
        .extend(probe_changes(&obs.routes, &o.probe_labels));
    rep.notes.push(format!(
        "kernel lab: {:.1} s of wall time",
        o.wall.as_secs_f64()
    ));
    rep.diagnoses = events::summarize_diagnoses(&mut obs.diagnoses);
    rep.timeline = obs.timeline;
    rep.simulated_ms = o.end.as_millis() as u64;
    rep.finish();
    rep
}

/// Each probe's track changes and reactions raised or cleared, with the
/// first sample that showed them (the prober publishes its status at
/// every event, so within a sample period of the event), one line each.
fn probe_changes(routes: &[RouteSnapshot], labels: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let mut last: Option<&ProbeSample> = None;
        for snap in routes {
            let Some(p) = snap.probes.get(i) else {
                continue;
            };
            let when = crate::scenario::format_duration(snap.at);
            if let Some(l) = last {
                if l.track != p.track {
                    out.push(format!(
                        "{label}: track {:?} -> {:?} at {when}",
                        l.track, p.track
                    ));
                }
                for r in p.raised.iter().filter(|r| !l.raised.contains(r)) {
                    out.push(format!("{label}: reaction {r} raised at {when}"));
                }
                for r in l.raised.iter().filter(|r| !p.raised.contains(r)) {
                    out.push(format!("{label}: reaction {r} cleared at {when}"));
                }
            }
            last = Some(p);
        }
    }
    out
}
