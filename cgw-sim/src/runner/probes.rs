//! The CGW side's keepalive / SLA probes (`[[cgw.probe]]`): each an IP SLA
//! operation of the `sla` crate, run by the host it is sent from
//! ([`super::sla_agent`]) on the simulator's clock. The probes' traffic
//! keeps the tunnel it rides from idling out; their statistics are sampled
//! at every tick for `probe` expectations, and summarised with their track
//! changes and reactions in the report's notes.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lab::{NodeId, Sim};
use sla::engine::{OpStatus, Prober, SlaEvent};
use sla::track::TrackState;

use super::hosts::PingHost;
use super::sla_agent::SlaAgent;
use crate::scenario::{format_duration, Probe};
use crate::sla_daemon::snapshot::{Figures, OpSnapshot};

/// One probe's figures at a tick (over its sliding window).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeSample {
    /// Loss, percent (`None` before a cycle settled).
    pub loss: Option<f64>,
    /// Mean RTT, ms.
    pub rtt_ms: Option<f64>,
    /// Mean jitter, ms.
    pub jitter_ms: Option<f64>,
    /// The last cycle's MOS.
    pub mos: Option<f64>,
    /// The track's state.
    pub track: TrackState,
    /// The reactions raised now.
    pub raised: Vec<String>,
    /// Cycles finished.
    pub cycles: u64,
}

impl ProbeSample {
    /// A probe that has not run (yet).
    pub fn none() -> ProbeSample {
        ProbeSample {
            loss: None,
            rtt_ms: None,
            jitter_ms: None,
            mos: None,
            track: TrackState::Unknown,
            raised: Vec::new(),
            cycles: 0,
        }
    }

    /// An operation's figures straight from its prober (the simulated
    /// lab's probes).
    pub fn from_status(s: &OpStatus<'_>) -> ProbeSample {
        ProbeSample {
            loss: s.window.loss.loss_percent(),
            rtt_ms: s.window.rtt.avg_ms(),
            jitter_ms: s.window.jitter_avg_ms(),
            mos: s.last_voice.map(|v| v.mos),
            track: s.track,
            raised: s.raised.iter().map(|r| r.to_string()).collect(),
            cycles: s.cycles,
        }
    }

    /// The figures the SLA daemon published for an operation (the kernel
    /// lab's probes): the same window figures the simulated lab samples
    /// from its prober.
    pub fn from_snapshot(s: &OpSnapshot) -> ProbeSample {
        ProbeSample {
            loss: s.window.loss_percent,
            rtt_ms: s.window.rtt_avg_ms,
            jitter_ms: s.window.jitter_avg_ms,
            mos: s.mos,
            track: match s.track.as_str() {
                "up" => TrackState::Up,
                "down" => TrackState::Down,
                _ => TrackState::Unknown,
            },
            raised: s.raised.clone(),
            cycles: s.cycles,
        }
    }
}

/// Where a scenario's probes run, in both labs: each `from` host's
/// operations (in probe order), and for each probe that converts its host
/// (index in `hosts`), its operation index there and its label for the
/// report. Probes that do not convert (the loader refuses those) or name
/// no host are left out.
pub(crate) struct Placement {
    /// (host name, its operations).
    pub hosts: Vec<(String, Vec<sla::config::OperationConfig>)>,
    /// Per placed probe: (index in `hosts`, operation index).
    pub placed: Vec<(usize, usize)>,
    /// Per placed probe: "probe N (name kind from -> to every T)".
    pub labels: Vec<String>,
}

impl Placement {
    /// Places `probes`; `target` gives a host's address by name.
    pub fn new(probes: &[Probe], target: impl Fn(&str) -> Option<IpAddr>) -> Placement {
        let mut plan = Placement {
            hosts: Vec::new(),
            placed: Vec::new(),
            labels: Vec::new(),
        };
        for (i, p) in probes.iter().enumerate() {
            let (Some(_), Some(to)) = (target(&p.from), target(&p.to)) else {
                continue;
            };
            let Ok(op) = crate::assemble::probe::operation(p, i, to) else {
                continue;
            };
            plan.labels.push(format!(
                "probe {} ({} {} {} -> {} every {})",
                i + 1,
                op.name,
                op.kind.name(),
                p.from,
                p.to,
                format_duration(p.interval)
            ));
            let slot = match plan.hosts.iter().position(|(n, _)| *n == p.from) {
                Some(s) => s,
                None => {
                    plan.hosts.push((p.from.clone(), Vec::new()));
                    plan.hosts.len() - 1
                }
            };
            plan.placed.push((slot, plan.hosts[slot].1.len()));
            plan.hosts[slot].1.push(op);
        }
        plan
    }
}

/// Where each probe runs: (host node, operation index in its prober).
pub(super) struct Probes {
    placed: Vec<(NodeId, usize)>,
    labels: Vec<String>,
    epoch: Instant,
}

impl Probes {
    /// Installs `probes` in the hosts named by `hosts` (name, node,
    /// address), their first cycles at `epoch + first`. Probes that do not
    /// convert are left out (the loader refuses those).
    pub fn new(
        sim: &mut Sim,
        probes: &[Probe],
        hosts: &[super::NamedHost],
        epoch: Instant,
        first: Duration,
    ) -> Probes {
        let target = |n: &str| hosts.iter().find(|h| h.0 == n).map(|h| IpAddr::V4(h.2));
        let plan = Placement::new(probes, target);
        let node = |n: &str| hosts.iter().find(|h| h.0 == n).map(|h| h.1);
        let mut placed = Vec::new();
        for (host, op) in &plan.placed {
            if let Some(n) = node(&plan.hosts[*host].0) {
                placed.push((n, *op));
            }
        }
        for (name, ops) in plan.hosts {
            let Some(n) = node(&name) else { continue };
            let agent = SlaAgent::new(Prober::new(ops, epoch + first), epoch);
            sim.with_node(n, |h: &mut PingHost| h.sla = Some(agent));
        }
        Probes {
            placed,
            labels: plan.labels,
            epoch,
        }
    }

    /// Every probe's figures now.
    pub fn sample(&self, sim: &Sim) -> Vec<ProbeSample> {
        self.placed
            .iter()
            .map(|(node, op)| {
                let st = sim
                    .node::<PingHost>(*node)
                    .and_then(|h| h.sla.as_ref())
                    .and_then(|a| a.prober.status().get(*op).map(ProbeSample::from_status));
                st.unwrap_or_else(ProbeSample::none)
            })
            .collect()
    }

    /// Each probe's totals since start, then its track changes and
    /// reactions with their times, one line each.
    pub fn summaries(&self, sim: &Sim) -> Vec<String> {
        let mut out = Vec::new();
        for (i, (node, op)) in self.placed.iter().enumerate() {
            let Some(a) = sim.node::<PingHost>(*node).and_then(|h| h.sla.as_ref()) else {
                out.push(format!("{}: host gone", self.labels[i]));
                continue;
            };
            let all = a.prober.status();
            let Some(s) = all.get(*op) else { continue };
            let line = totals_line(
                &self.labels[i],
                s.cycles,
                &Figures::from(&s.total),
                s.last_voice.map(|v| (v.mos, v.icpif)),
                &format!("{:?}", s.track),
            );
            out.push(line);
            for (at, e) in &a.events {
                let when = format_duration(at.saturating_duration_since(self.epoch));
                match e {
                    SlaEvent::Track { op: o, from, to } if o == op => out.push(format!(
                        "{}: track {from:?} -> {to:?} at {when}",
                        self.labels[i]
                    )),
                    SlaEvent::Reaction { op: o, event } if o == op => out.push(format!(
                        "{}: reaction {} {} at {when} ({:?} {:.2}, threshold {})",
                        self.labels[i],
                        event.reaction,
                        if event.raised { "raised" } else { "cleared" },
                        event.measure,
                        event.value,
                        event.threshold
                    )),
                    _ => {}
                }
            }
        }
        out
    }
}

/// A probe's totals since start as one report line: cycles, sent,
/// answered, loss, RTT min/avg/max/stddev, jitter, MOS and ICPIF (voice),
/// track (both labs).
pub(crate) fn totals_line(
    label: &str,
    cycles: u64,
    t: &Figures,
    voice: Option<(f64, u32)>,
    track: &str,
) -> String {
    let mut line = format!(
        "{label}: {cycles} cycles, {} sent, {} answered, {:.1}% loss",
        t.sent,
        t.received,
        t.loss_percent.unwrap_or(0.0)
    );
    if let Some(avg) = t.rtt_avg_ms {
        line += &format!(
            ", RTT min/avg/max/stddev {:.1}/{avg:.1}/{:.1}/{:.1} ms",
            t.rtt_min_ms.unwrap_or(0.0),
            t.rtt_max_ms.unwrap_or(0.0),
            t.rtt_stddev_ms.unwrap_or(0.0)
        );
    }
    if let Some(j) = t.jitter_avg_ms {
        line += &format!(", jitter {j:.2} ms");
    }
    if let Some((mos, icpif)) = voice {
        line += &format!(", MOS {mos:.2}, ICPIF {icpif}");
    }
    line + &format!(", track {track}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla_daemon::snapshot::{Histogram, OpSnapshot};
    use sla::config::{OperationConfig, OperationKind};
    use sla::engine::{Reply, Stamps};
    use sla::reaction::{Measure, ReactionConfig, ThresholdType};

    /// An icmp-echo and a udp-jitter operation, run on a virtual clock
    /// with every fourth probe lost.
    fn prober_after_some_cycles() -> (Prober, Instant) {
        let t0 = Instant::now();
        let target = IpAddr::V4(std::net::Ipv4Addr::new(198, 19, 0, 10));
        let mut echo = OperationConfig::new("echo", OperationKind::IcmpEcho, target);
        echo.frequency = Duration::from_secs(1);
        echo.timeout = Duration::from_millis(500);
        echo.threshold = echo.timeout;
        echo.window = 4;
        echo.reactions.push(ReactionConfig {
            name: "lossy".into(),
            measure: Measure::Timeout,
            threshold_type: ThresholdType::Immediate,
            raise: 0.5,
            clear: 0.5,
            command: None,
        });
        let mut voice = OperationConfig::new("voice", OperationKind::UdpJitter, target);
        voice.port = Some(5000);
        voice.frequency = Duration::from_secs(2);
        voice.timeout = Duration::from_millis(500);
        voice.threshold = voice.timeout;
        voice.packets = 4;
        voice.interval = Duration::from_millis(20);
        voice.codec = Some(sla::stats::Codec::G729A);
        voice.window = 3;
        let mut p = Prober::new(vec![echo, voice], t0);
        let mut now = t0;
        let end = t0 + Duration::from_secs(9);
        while now < end {
            p.handle_timeout(now);
            while let Some(r) = p.poll_probe() {
                let at = now + Duration::from_millis(3 + u64::from(r.seq % 3));
                let ns = |t: Instant| t.duration_since(t0).as_nanos() as u64;
                if r.seq % 4 == 3 {
                    continue;
                }
                let stamps = (r.op == 1).then(|| Stamps {
                    sender_tx_ns: ns(now),
                    responder_rx_ns: ns(now) + 1_000_000,
                    responder_tx_ns: ns(now) + 1_000_000,
                    sender_rx_ns: ns(at),
                    responder_count: r.seq + 1,
                });
                p.handle_reply(
                    at,
                    Reply {
                        op: r.op,
                        seq: r.seq,
                        stamps,
                    },
                );
            }
            while p.poll_event().is_some() {}
            now += Duration::from_millis(10);
        }
        (p, t0)
    }

    #[test]
    fn the_daemons_snapshot_gives_the_simulated_figures() {
        let (p, _) = prober_after_some_cycles();
        for (i, st) in p.status().iter().enumerate() {
            let cfg = p.config(i).unwrap();
            let direct = ProbeSample::from_status(st);
            let snap = OpSnapshot::new(cfg, st, Histogram::default());
            // Through JSON, as `cgw-sim sla status` reads it.
            let snap: OpSnapshot =
                serde_json::from_str(&serde_json::to_string(&snap).unwrap()).unwrap();
            assert_eq!(ProbeSample::from_snapshot(&snap), direct, "operation {i}");
            assert!(direct.cycles >= 4, "{direct:?}");
            assert!(direct.loss.is_some_and(|l| l > 10.0), "{direct:?}");
            assert!(direct.rtt_ms.is_some(), "{direct:?}");
            assert_eq!(direct.track, TrackState::Up, "{direct:?}");
        }
        let st = p.status();
        assert!(ProbeSample::from_status(&st[1]).mos.is_some());
        assert!(ProbeSample::from_status(&st[1]).jitter_ms.is_some());
        assert_eq!(ProbeSample::from_status(&st[0]).mos, None);
    }

    #[test]
    fn tracks_and_raised_reactions_convert() {
        let mut s = OpSnapshot::new(
            prober_after_some_cycles().0.config(0).unwrap(),
            &prober_after_some_cycles().0.status()[0],
            Histogram::default(),
        );
        for (text, want) in [
            ("up", TrackState::Up),
            ("down", TrackState::Down),
            ("unknown", TrackState::Unknown),
        ] {
            s.track = text.into();
            s.raised = vec!["lossy".into()];
            let p = ProbeSample::from_snapshot(&s);
            assert_eq!(p.track, want);
            assert_eq!(p.raised, vec!["lossy".to_string()]);
        }
        assert_eq!(ProbeSample::none().cycles, 0);
        assert_eq!(ProbeSample::none().track, TrackState::Unknown);
    }
}
