//! Expectations checked against what a run observed.

use std::time::Duration;

use crate::node::{DownCause, TunnelEventKind};
use crate::scenario::{
    format_duration, Assertion, BgpState, Cause, Expectation, Measure, Notification, Phase,
    PingResult, RouteCheck, Routing, SaState, Scenario, TcpResult, Timing,
};

use super::aws_view::Notice;
use super::down_cause_code;
use super::observed::{Observed, Probe, RouteSnapshot};
use super::report::ExpectationResult;
use super::tcp_checks::{TcpAttempt, TcpKey, TcpOutcome};
use super::topology::lab_prefix;
use crate::aws::bgp_log_emitter::bgp_record_matches;
use crate::aws::log_emitter::{record_matches, AwsNotice};
use lab::Prefix as LabPrefix;

/// The stable code of a scenario cause (the diagnosis vocabulary).
pub(crate) fn cause_str(c: Cause) -> &'static str {
    match c {
        Cause::NoProposalChosen => "no-proposal-chosen",
        Cause::InvalidKePayload => "invalid-ke-payload",
        Cause::AuthenticationFailed => "authentication-failed",
        Cause::TsUnacceptable => "ts-unacceptable",
        Cause::NoResponse => "no-response",
        Cause::DpdTimeout => "dpd-timeout",
        Cause::PeerDeleted => "peer-deleted",
        Cause::LifetimeExpired => "lifetime-expired",
        Cause::InvalidSyntax => "invalid-syntax",
        Cause::IkeVersionMismatch => "ike-version-mismatch",
        Cause::IdleTimeout => "idle-timeout",
    }
}

fn state_str(s: SaState) -> &'static str {
    match s {
        SaState::Established => "established",
        SaState::Failed => "failed",
        SaState::Down => "down",
    }
}

/// The state of one phase of one CGW tunnel at `t`, with its cause.
fn phase_state(
    obs: &Observed,
    tunnel: usize,
    phase: Phase,
    t: Duration,
) -> (SaState, Option<&'static str>) {
    let mut p1 = (SaState::Down, None);
    let mut p2 = (SaState::Down, None);
    for (at, tun, kind) in &obs.cgw_events {
        if *at > t {
            break;
        }
        if *tun != tunnel {
            continue;
        }
        match kind {
            TunnelEventKind::IkeUp { .. } => p1 = (SaState::Established, None),
            TunnelEventKind::Up => {
                p1 = (SaState::Established, None);
                p2 = (SaState::Established, None);
            }
            // A refused extra pair leaves the tunnel's phase 2 as it was.
            TunnelEventKind::ChildRekeyed { .. }
            | TunnelEventKind::IkeRekeyed
            | TunnelEventKind::ChildRefused { .. }
            | TunnelEventKind::ChildRekeyCollision { .. }
            | TunnelEventKind::ChildRemoved { .. } => {}
            TunnelEventKind::Down { cause, was_up } => {
                let code = Some(down_cause_code(cause));
                match cause {
                    DownCause::IkeFailed(_) | DownCause::IkeVersionMismatch { .. } => {
                        let s = if *was_up {
                            SaState::Down
                        } else {
                            SaState::Failed
                        };
                        p1 = (s, code);
                        p2 = (SaState::Down, code);
                    }
                    DownCause::ChildFailed(_) => p2 = (SaState::Failed, code),
                    DownCause::ChildDeleted(_) => p2 = (SaState::Down, code),
                    DownCause::DpdTimeout { .. }
                    | DownCause::IkeClosed(_)
                    | DownCause::IdleTimeout { .. } => {
                        p1 = (SaState::Down, code);
                        p2 = (SaState::Down, code);
                    }
                }
            }
        }
    }
    match phase {
        Phase::One => p1,
        Phase::Two => p2,
    }
}

/// Instants where the observed state may change, up to the end.
fn instants(obs: &Observed) -> Vec<Duration> {
    let mut v: Vec<Duration> = std::iter::once(Duration::ZERO)
        .chain(obs.cgw_events.iter().map(|e| e.0))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Checks a predicate over time per the timing; returns (held, the
/// observed value at the deciding instant).
fn over_time(
    timing: Timing,
    obs: &Observed,
    f: impl Fn(Duration) -> (bool, String),
) -> (bool, String) {
    match timing {
        Timing::At(t) => f(t),
        Timing::Within(t) => {
            let mut last = (false, String::new());
            for i in instants(obs).into_iter().filter(|i| *i <= t) {
                let r = f(i);
                if r.0 {
                    return (true, format!("{} at {}", r.1, format_duration(i)));
                }
                last = r;
            }
            let r = f(t);
            if r.0 {
                return r;
            }
            if last.1.is_empty() {
                last = r;
            }
            (
                false,
                format!("{} (never held by {})", last.1, format_duration(t)),
            )
        }
        Timing::After(t) => {
            let points = std::iter::once(t).chain(
                instants(obs)
                    .into_iter()
                    .filter(|i| *i > t && *i <= obs.end),
            );
            let mut last = (true, String::new());
            for i in points {
                let r = f(i);
                if !r.0 {
                    return (false, format!("{} at {}", r.1, format_duration(i)));
                }
                last = r;
            }
            last
        }
    }
}

fn timing_text(t: Timing) -> String {
    match t {
        Timing::At(d) => format!("at {}", format_duration(d)),
        Timing::Within(d) => format!("within {}", format_duration(d)),
        Timing::After(d) => format!("after {}", format_duration(d)),
    }
}

fn unsupported(what: &str) -> (bool, String) {
    (false, format!("{what}: not supported yet"))
}

/// A ping expectation over one stream's probes: `want` is a
/// [`Probe::outcome`].
fn ping_check(timing: Timing, probes: &[Probe], want: &str, end: Duration) -> (bool, String) {
    match timing {
        Timing::At(t) => match probes.iter().find(|p| p.sent >= t) {
            Some(p) => (
                p.outcome() == want,
                format!("{} (ping sent at {})", p.outcome(), format_duration(p.sent)),
            ),
            None => (false, "no ping sent".into()),
        },
        Timing::Within(t) => {
            // A reply or an ICMP message must have arrived by then; a
            // timeout counts once the ping is sent.
            let hit = probes.iter().find(|p| {
                p.sent <= t && p.outcome() == want && (want == "timeout" || p.decided() <= t)
            });
            match hit {
                Some(p) => (
                    true,
                    format!("{want} (ping sent at {})", format_duration(p.sent)),
                ),
                None => {
                    let mut seen: Vec<&str> = probes
                        .iter()
                        .filter(|p| p.sent <= t)
                        .map(Probe::outcome)
                        .collect();
                    seen.sort_unstable();
                    seen.dedup();
                    let seen = if seen.is_empty() {
                        "no ping".to_string()
                    } else {
                        seen.join(" or ")
                    };
                    (
                        false,
                        format!("{seen} for every ping sent by {}", format_duration(t)),
                    )
                }
            }
        }
        Timing::After(t) => {
            let judged: Vec<&Probe> = probes
                .iter()
                .filter(|p| p.sent >= t && p.sent + super::PING_TIMEOUT <= end)
                .collect();
            // Nothing to judge is a failure, not a vacuous pass.
            if judged.is_empty() {
                return (false, format!("no ping sent after {}", format_duration(t)));
            }
            match judged.iter().find(|p| p.outcome() != want) {
                Some(p) => (
                    false,
                    format!("{} (ping sent at {})", p.outcome(), format_duration(p.sent)),
                ),
                None => (true, format!("{want} for every ping")),
            }
        }
    }
}

/// Evaluates one expectation.
pub(crate) fn evaluate(e: &Expectation, s: &Scenario, obs: &Observed) -> ExpectationResult {
    let timing = e.timing;
    let (description, (passed, observed)) = match &e.assertion {
        Assertion::Phase {
            tunnel,
            phase,
            state,
            cause,
        } => {
            let pn = match phase {
                Phase::One => 1,
                Phase::Two => 2,
            };
            let desc = format!(
                "tunnel {} phase {pn} {}{}",
                tunnel.number(),
                state_str(*state),
                cause
                    .map(|c| format!(" ({})", cause_str(c)))
                    .unwrap_or_default()
            );
            let r = over_time(timing, obs, |t| {
                let (st, code) = phase_state(obs, tunnel.index(), *phase, t);
                let state_ok = match state {
                    SaState::Down => st != SaState::Established,
                    other => st == *other,
                };
                let cause_ok = cause.is_none_or(|c| code == Some(cause_str(c)));
                let text = format!(
                    "{}{}",
                    state_str(st),
                    code.map(|c| format!(" ({c})")).unwrap_or_default()
                );
                (state_ok && cause_ok, text)
            });
            (desc, r)
        }
        Assertion::Ping {
            from,
            to,
            size,
            df,
            source,
            result,
        } => {
            let want = match result {
                PingResult::Reply => "reply",
                PingResult::Timeout => "timeout",
                PingResult::FragNeeded => "frag-needed",
            };
            let src = source.map(|a| format!(" from {a}")).unwrap_or_default();
            let desc = match (size, df) {
                (None, false) => format!("ping {from} -> {to}{src}: {want}"),
                _ => format!(
                    "ping {from} -> {to}{src} ({} bytes{}): {want}",
                    size.unwrap_or(super::hosts::DEFAULT_PING_SIZE),
                    if *df { ", DF" } else { "" }
                ),
            };
            let r = if from != "onprem" || to != "vpc" {
                unsupported("ping other than onprem -> vpc")
            } else {
                let probes: &[Probe] = match (size, df, source) {
                    (None, false, None) => &obs.probes,
                    _ => {
                        let size = size.unwrap_or(super::hosts::DEFAULT_PING_SIZE);
                        obs.sized
                            .iter()
                            .find(|(s, d, a, _)| *s == size && d == df && a == source)
                            .map_or(&[], |(_, _, _, p)| p.as_slice())
                    }
                };
                if probes.is_empty() && s.traffic.ping_interval.is_none() {
                    (
                        false,
                        "no ping sent: the runner's pings are off ([traffic] ping_interval = \"off\")"
                            .to_string(),
                    )
                } else {
                    ping_check(timing, probes, want, obs.end)
                }
            };
            (desc, r)
        }
        Assertion::Diagnosis {
            tunnel,
            cause,
            contains,
        } => {
            let desc = format!(
                "diagnosis{}{}{}",
                tunnel
                    .map(|t| format!(" tunnel {}", t.number()))
                    .unwrap_or_default(),
                cause
                    .as_ref()
                    .map(|c| format!(" cause {c}"))
                    .unwrap_or_default(),
                contains
                    .as_ref()
                    .map(|c| format!(" containing {c:?}"))
                    .unwrap_or_default()
            );
            let by = match timing {
                Timing::At(t) | Timing::Within(t) => t,
                Timing::After(_) => obs.end,
            };
            let cands: Vec<_> = obs
                .diagnoses
                .iter()
                .filter(|d| d.at <= by)
                .filter(|d| tunnel.is_none_or(|t| t.number() == d.tunnel))
                .collect();
            let hit = cands.iter().find(|d| {
                cause.as_deref().is_none_or(|c| d.diagnosis.code() == c)
                    && contains
                        .as_deref()
                        .is_none_or(|c| d.diagnosis.to_string().contains(c))
            });
            let r = match hit {
                Some(d) => (
                    true,
                    format!(
                        "{} on tunnel {} ({}) at {}",
                        d.diagnosis.code(),
                        d.tunnel,
                        d.side,
                        format_duration(d.at)
                    ),
                ),
                None if cands.is_empty() => (false, "no diagnosis".into()),
                None => (
                    false,
                    format!(
                        "diagnoses: {}",
                        cands
                            .iter()
                            .map(|d| format!("{} (tunnel {})", d.diagnosis.code(), d.tunnel))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            };
            (desc, r)
        }
        Assertion::Notification(n) => {
            let (name, wanted): (&str, fn(&Notice) -> bool) = match n {
                Notification::NonRedundant => ("non-redundant", |x| {
                    *x == Notice::Aws(AwsNotice::NonRedundant)
                }),
                Notification::TunnelDown => ("tunnel-down", |x| {
                    matches!(x, Notice::Aws(AwsNotice::TunnelDown(_)))
                }),
                Notification::EndpointReplaced => ("endpoint-replaced", |x| {
                    matches!(x, Notice::EndpointReplaced(_))
                }),
            };
            let times: Vec<Duration> = obs
                .aws_notices
                .iter()
                .filter(|(_, x)| wanted(x))
                .map(|(t, _)| *t)
                .collect();
            (
                format!("notification {name}"),
                appears(timing, &times, obs.end),
            )
        }
        Assertion::Bgp { tunnel, state } => {
            let desc = format!("tunnel {} bgp {state:?}", tunnel.number());
            if s.aws.routing != Routing::Bgp {
                (
                    desc,
                    (false, "no BGP: the scenario uses static routing".into()),
                )
            } else {
                let want = bgp_state(*state);
                let i = tunnel.index();
                (
                    desc,
                    snapshot_check(timing, obs, |snap| {
                        let st = snap.bgp[i];
                        (
                            st == Some(want),
                            st.map_or("no session".into(), |x| format!("{x:?}")),
                        )
                    }),
                )
            }
        }
        Assertion::Probe(c) => (probe_text(c), probe_check(timing, obs, c)),
        Assertion::VpcRouteTable(c) => (
            format!("vpc_route_table {}", route_check_text(c)),
            route_check(timing, obs, c, |snap| snap.vpc.clone()),
        ),
        Assertion::CgwRoutes(c) => (
            format!("cgw_routes {}", route_check_text(c)),
            route_check(timing, obs, c, |snap| {
                snap.cgw.iter().map(|(p, t)| (*p, Some(*t))).collect()
            }),
        ),
        Assertion::Tcp {
            from,
            to,
            port,
            bytes,
            result,
        } => (
            format!(
                "tcp {from} -> {to}:{port}{}: {}",
                bytes.map_or(String::new(), |b| format!(" ({b} bytes)")),
                tcp_text(tcp_want(*result))
            ),
            tcp_check(
                timing,
                obs,
                (from.clone(), to.clone(), *port, bytes.unwrap_or(0)),
                tcp_want(*result),
            ),
        ),
        Assertion::AwsLog(m) => {
            let absent = m.get("absent").is_some_and(|v| v == "true");
            let fields = m
                .iter()
                .filter(|(k, _)| *k != "absent")
                .map(|(k, v)| format!("{k} = {v:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            // Tunnel records and BGP records: the keys tell which can match.
            let times: Vec<Duration> = (0..2)
                .flat_map(|i| {
                    let tunnel = obs.aws_logs[i]
                        .iter()
                        .filter(move |r| record_matches(i as u8 + 1, &r.record, m))
                        .map(|r| r.at);
                    let bgp = obs.aws_bgp_logs[i]
                        .iter()
                        .filter(move |r| bgp_record_matches(i as u8 + 1, &r.record, m))
                        .map(|r| r.at);
                    tunnel.chain(bgp)
                })
                .collect();
            let mut times = times;
            times.sort();
            let (found, text) = appears(timing, &times, obs.end);
            let text = if found {
                text
            } else {
                let total = obs.aws_logs[0].len()
                    + obs.aws_logs[1].len()
                    + obs.aws_bgp_logs[0].len()
                    + obs.aws_bgp_logs[1].len();
                format!("{text}; {total} AWS log record(s) in all")
            };
            let desc = format!(
                "aws_log {}{{ {fields} }}",
                if absent { "absent " } else { "" }
            );
            if absent {
                let text = if found {
                    format!("such a record {text}")
                } else {
                    format!("no such record in time ({text})")
                };
                (desc, (!found, text))
            } else {
                (desc, (found, text))
            }
        }
        Assertion::Measure { measure, below } => (
            format!("{measure:?} below {}", format_duration(*below)),
            measure_check(obs, *measure, *below),
        ),
    };
    ExpectationResult {
        description: format!("{} {description}", timing_text(timing)),
        passed,
        observed,
    }
}

/// Whether an observation at one of `times` (since the start) falls in the
/// timing: `within`/`at` t: at or before t; `after` t: from t to the end.
fn appears(timing: Timing, times: &[Duration], end: Duration) -> (bool, String) {
    let hit = match timing {
        Timing::Within(t) | Timing::At(t) => times.iter().find(|x| **x <= t),
        Timing::After(t) => times.iter().find(|x| **x >= t && **x <= end),
    };
    match hit {
        Some(x) => (true, format!("seen at {}", format_duration(*x))),
        None => match times.first() {
            Some(x) => (
                false,
                format!("not in time (first seen at {})", format_duration(*x)),
            ),
            None => (false, "never seen".into()),
        },
    }
}

fn route_check_text(c: &RouteCheck) -> String {
    match c {
        RouteCheck::Contains { prefix, via_tunnel } => format!(
            "contains {prefix}{}",
            via_tunnel
                .map(|t| format!(" via tunnel {}", t.number()))
                .unwrap_or_default()
        ),
        RouteCheck::Lacks(p) => format!("lacks {p}"),
    }
}

/// A route table check over the per-tick snapshots.
fn route_check(
    timing: Timing,
    obs: &Observed,
    c: &RouteCheck,
    table: impl Fn(&RouteSnapshot) -> Vec<(LabPrefix, Option<usize>)>,
) -> (bool, String) {
    let holds = |snap: &RouteSnapshot| -> (bool, String) {
        let t = table(snap);
        let text = if t.is_empty() {
            "empty".to_string()
        } else {
            t.iter()
                .map(|(p, via)| match via {
                    Some(i) => format!("{}/{} via tunnel {}", p.addr(), p.len(), i + 1),
                    None => format!("{}/{}", p.addr(), p.len()),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ok = match c {
            RouteCheck::Contains { prefix, via_tunnel } => lab_prefix(prefix).is_some_and(|p| {
                t.iter().any(|(q, via)| {
                    *q == p && via_tunnel.is_none_or(|want| via.is_none_or(|v| v == want.index()))
                })
            }),
            RouteCheck::Lacks(prefix) => {
                lab_prefix(prefix).is_none_or(|p| t.iter().all(|(q, _)| *q != p))
            }
        };
        (ok, text)
    };
    snapshot_check(timing, obs, |snap| holds(snap))
}

/// A measured value against its bound.
fn measure_check(obs: &Observed, m: Measure, below: Duration) -> (bool, String) {
    let value = match m {
        Measure::TunnelUpTime => {
            let up = |i: usize| {
                obs.cgw_events
                    .iter()
                    .find(|(_, t, k)| *t == i && matches!(k, crate::node::TunnelEventKind::Up))
                    .map(|e| e.0)
            };
            match (up(0), up(1)) {
                (Some(a), Some(b)) => Ok(a.max(b)),
                _ => Err("both tunnels never came up".to_string()),
            }
        }
        Measure::FailoverTime => match obs.path_failed {
            None => Err("no link_down or block fault to measure from".into()),
            Some(f) => obs
                .probes
                .iter()
                .find(|p| p.sent > f && p.answered())
                .map(|p| p.sent - f)
                .ok_or_else(|| "no ping answered after the path failed".to_string()),
        },
        // Sampled every tick: the value has the tick's resolution.
        Measure::BgpEstablishedTime => obs
            .routes
            .iter()
            .find(|s| {
                s.bgp
                    .iter()
                    .all(|b| *b == Some(bgp::session::State::Established))
            })
            .map(|s| s.at)
            .ok_or_else(|| "the two BGP sessions were never Established together".to_string()),
    };
    match value {
        Ok(v) => (v < below, format_duration(v)),
        Err(e) => (false, e),
    }
}

/// Checks a predicate over the per-tick snapshots per the timing; returns
/// (held, the observed value at the deciding tick).
fn snapshot_check(
    timing: Timing,
    obs: &Observed,
    holds: impl Fn(&RouteSnapshot) -> (bool, String),
) -> (bool, String) {
    let at = |t: Duration| obs.routes.iter().rev().find(|s| s.at <= t);
    match timing {
        Timing::At(t) => match at(t) {
            Some(s) => holds(s),
            None => (false, "nothing observed yet".into()),
        },
        Timing::Within(t) => {
            let mut last = (false, "nothing observed yet".to_string());
            for s in obs.routes.iter().filter(|s| s.at <= t) {
                let r = holds(s);
                if r.0 {
                    return (true, format!("{} at {}", r.1, format_duration(s.at)));
                }
                last = r;
            }
            (
                false,
                format!("{} (never held by {})", last.1, format_duration(t)),
            )
        }
        Timing::After(t) => {
            let mut last = (true, String::new());
            let from = at(t).map(|s| s.at).unwrap_or(t);
            for s in obs.routes.iter().filter(|s| s.at >= from) {
                let r = holds(s);
                if !r.0 {
                    return (false, format!("{} at {}", r.1, format_duration(s.at)));
                }
                last = r;
            }
            last
        }
    }
}

/// A `probe` expectation as text.
fn probe_text(c: &crate::scenario::ProbeCheck) -> String {
    let mut parts = Vec::new();
    let ms = |d: Duration| format!("{} ms", d.as_secs_f64() * 1e3);
    let mut bound = |name: &str, above: Option<String>, below: Option<String>| {
        if let Some(a) = above {
            parts.push(format!("{name} > {a}"));
        }
        if let Some(b) = below {
            parts.push(format!("{name} < {b}"));
        }
    };
    bound(
        "loss %",
        c.loss_above.map(|v| v.to_string()),
        c.loss_below.map(|v| v.to_string()),
    );
    bound("rtt", c.rtt_above.map(ms), c.rtt_below.map(ms));
    bound("jitter", c.jitter_above.map(ms), c.jitter_below.map(ms));
    bound(
        "mos",
        c.mos_above.map(|v| v.to_string()),
        c.mos_below.map(|v| v.to_string()),
    );
    if let Some(t) = c.track {
        parts.push(format!("track {t:?}"));
    }
    if let Some(r) = &c.raised {
        parts.push(format!("reaction {r} raised"));
    }
    format!("probe {}: {}", c.probe, parts.join(", "))
}

/// A `probe` expectation against the samples of every tick.
fn probe_check(timing: Timing, obs: &Observed, c: &crate::scenario::ProbeCheck) -> (bool, String) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    snapshot_check(timing, obs, |snap| {
        let Some(p) = snap.probes.get(c.probe - 1) else {
            return (false, "no such probe".into());
        };
        let within = |v: Option<f64>, above: Option<f64>, below: Option<f64>| {
            if above.is_none() && below.is_none() {
                return true;
            }
            v.is_some_and(|v| above.is_none_or(|a| v > a) && below.is_none_or(|b| v < b))
        };
        let ok = within(p.loss, c.loss_above, c.loss_below)
            && within(p.rtt_ms, c.rtt_above.map(ms), c.rtt_below.map(ms))
            && within(p.jitter_ms, c.jitter_above.map(ms), c.jitter_below.map(ms))
            && within(p.mos, c.mos_above, c.mos_below)
            && c.track.is_none_or(|t| t == p.track)
            && c.raised.as_ref().is_none_or(|r| p.raised.contains(r));
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        (
            ok,
            format!(
                "loss {}%, rtt {} ms, jitter {} ms, mos {}, track {:?}, raised [{}] over {} cycles",
                f(p.loss),
                f(p.rtt_ms),
                f(p.jitter_ms),
                p.mos.map_or("-".to_string(), |v| format!("{v:.2}")),
                p.track,
                p.raised.join(", "),
                p.cycles
            ),
        )
    })
}

fn bgp_state(s: BgpState) -> bgp::session::State {
    use bgp::session::State;
    match s {
        BgpState::Idle => State::Idle,
        BgpState::Connect => State::Connect,
        BgpState::Active => State::Active,
        BgpState::OpenSent => State::OpenSent,
        BgpState::OpenConfirm => State::OpenConfirm,
        BgpState::Established => State::Established,
    }
}

fn tcp_want(r: TcpResult) -> TcpOutcome {
    match r {
        TcpResult::Connected => TcpOutcome::Connected,
        TcpResult::Refused => TcpOutcome::Refused,
        TcpResult::Timeout => TcpOutcome::Timeout,
    }
}

fn tcp_text(o: TcpOutcome) -> &'static str {
    match o {
        TcpOutcome::Connected => "connected",
        TcpOutcome::Refused => "refused",
        TcpOutcome::Timeout => "timeout",
    }
}

/// A `tcp` expectation over the run's attempts: `within` T, one attempt
/// ended as wanted by T; `at` T, the first attempt started at or after T
/// did; `after` T, every attempt started at or after T (that had time to
/// end) did, and there was one.
fn tcp_check(timing: Timing, obs: &Observed, key: TcpKey, want: TcpOutcome) -> (bool, String) {
    let hosts = ["onprem", "vpc"];
    if !hosts.contains(&key.0.as_str()) || !hosts.contains(&key.1.as_str()) {
        return (
            false,
            format!("unknown host: the lab's hosts are {}", hosts.join(", ")),
        );
    }
    let attempts = obs.tcp.attempts_for(&key);
    let show = |a: &TcpAttempt| match a.outcome {
        Some((o, at)) => format!(
            "{}{} (attempt at {}, seen at {})",
            tcp_text(o),
            match (o, key.3) {
                (_, 0) => String::new(),
                (TcpOutcome::Connected, n) => format!(", {n} bytes acknowledged"),
                (_, n) => format!(", {} of {n} bytes acknowledged", a.acked),
            },
            format_duration(a.started),
            format_duration(at)
        ),
        None => format!("no outcome (attempt at {})", format_duration(a.started)),
    };
    match timing {
        Timing::At(t) => match attempts.iter().find(|a| a.started >= t) {
            Some(a) => (a.outcome.is_some_and(|o| o.0 == want), show(a)),
            None => (false, "no attempt made".into()),
        },
        Timing::Within(t) => {
            match attempts
                .iter()
                .find(|a| a.outcome.is_some_and(|(o, at)| o == want && at <= t))
            {
                Some(a) => (true, show(a)),
                None => (
                    false,
                    attempts.iter().rfind(|a| a.started <= t).map_or(
                        "no attempt made".into(),
                        |a| {
                            format!(
                                "{} (never {} by {})",
                                show(a),
                                tcp_text(want),
                                format_duration(t)
                            )
                        },
                    ),
                ),
            }
        }
        Timing::After(t) => {
            let ended: Vec<&TcpAttempt> = attempts
                .iter()
                .filter(|a| a.started >= t && a.outcome.is_some())
                .collect();
            match ended
                .iter()
                .find(|a| a.outcome.is_some_and(|o| o.0 != want))
            {
                Some(a) => (false, show(a)),
                None => match ended.last() {
                    Some(a) => (true, format!("{} attempts, last {}", ended.len(), show(a))),
                    None => (false, "no attempt ended".into()),
                },
            }
        }
    }
}
