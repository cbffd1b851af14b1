//! The CGW side's keepalive / SLA probes (`[[cgw.probe]]`): each an IP SLA
//! operation of the `sla` crate, run by the host it is sent from
//! ([`super::sla_agent`]) on the simulator's clock. The probes' traffic
//! keeps the tunnel it rides from idling out; their statistics are sampled
//! at every tick for `probe` expectations, and summarised with their track
//! changes and reactions in the report's notes.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lab::{NodeId, Sim};
use sla::engine::{Prober, SlaEvent};
use sla::track::TrackState;

use super::hosts::PingHost;
use super::sla_agent::SlaAgent;
use crate::scenario::{format_duration, Probe};

/// One probe's figures at a tick (over its sliding window).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ProbeSample {
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
        let find = |n: &str| hosts.iter().find(|h| h.0 == n);
        let mut per_host: Vec<(NodeId, Vec<sla::config::OperationConfig>)> = Vec::new();
        let mut placed = Vec::new();
        let mut labels = Vec::new();
        for (i, p) in probes.iter().enumerate() {
            let (Some(from), Some(to)) = (find(&p.from), find(&p.to)) else {
                continue;
            };
            let Ok(op) = crate::assemble::probe::operation(p, i, IpAddr::V4(to.2)) else {
                continue;
            };
            labels.push(format!(
                "probe {} ({} {} {} -> {} every {})",
                i + 1,
                op.name,
                op.kind.name(),
                p.from,
                p.to,
                format_duration(p.interval)
            ));
            let slot = match per_host.iter().position(|(n, _)| *n == from.1) {
                Some(s) => s,
                None => {
                    per_host.push((from.1, Vec::new()));
                    per_host.len() - 1
                }
            };
            placed.push((from.1, per_host[slot].1.len()));
            per_host[slot].1.push(op);
        }
        for (node, ops) in per_host {
            let agent = SlaAgent::new(Prober::new(ops, epoch + first), epoch);
            sim.with_node(node, |h: &mut PingHost| h.sla = Some(agent));
        }
        Probes {
            placed,
            labels,
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
                    .and_then(|a| {
                        let all = a.prober.status();
                        let s = all.get(*op)?;
                        Some(ProbeSample {
                            loss: s.window.loss.loss_percent(),
                            rtt_ms: s.window.rtt.avg_ms(),
                            jitter_ms: s.window.jitter_avg_ms(),
                            mos: s.last_voice.map(|v| v.mos),
                            track: s.track,
                            raised: s.raised.iter().map(|r| r.to_string()).collect(),
                            cycles: s.cycles,
                        })
                    });
                st.unwrap_or(ProbeSample {
                    loss: None,
                    rtt_ms: None,
                    jitter_ms: None,
                    mos: None,
                    track: TrackState::Unknown,
                    raised: Vec::new(),
                    cycles: 0,
                })
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
            let t = &s.total;
            let mut line = format!(
                "{}: {} cycles, {} sent, {} answered, {:.1}% loss",
                self.labels[i],
                s.cycles,
                t.loss.sent,
                t.loss.received,
                t.loss.loss_percent().unwrap_or(0.0)
            );
            if let Some(avg) = t.rtt.avg_ms() {
                line += &format!(
                    ", RTT min/avg/max/stddev {:.1}/{:.1}/{:.1}/{:.1} ms",
                    t.rtt.min_ms,
                    avg,
                    t.rtt.max_ms,
                    t.rtt.stddev_ms().unwrap_or(0.0)
                );
            }
            if let Some(j) = t.jitter_avg_ms() {
                line += &format!(", jitter {j:.2} ms");
            }
            if let Some(v) = s.last_voice {
                line += &format!(", MOS {:.2}, ICPIF {}", v.mos, v.icpif);
            }
            line += &format!(", track {:?}", s.track);
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
