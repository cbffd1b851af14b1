//! The CGW side's keepalive probes (`[[cgw.probe]]`): a minimal periodic
//! prober, SLA-monitor style. Each ICMP probe sends an echo request from
//! its host to its target at its interval (on the runner's one-second
//! ticks: a probe is sent at the first tick at or after it is due), with
//! its own ICMP identifier so that its replies are told apart from the
//! default pings'. The traffic keeps the tunnel it rides from idling out;
//! the report's notes give each probe's figures.
//!
//! TCP and UDP probes are not run yet (reported as such by the runner).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lab::{NodeId, Sim};

use super::hosts::{PingHost, DEFAULT_PING_SIZE};
use super::PING_TIMEOUT;
use crate::scenario::{format_duration, Probe, ProbeKind};

/// ICMP identifier of the first probe; probe `i` uses this plus `i`. Far
/// from the default pings' (7 and up, one per ping stream).
const FIRST_PROBE_ID: u16 = 0x5000;

/// One ICMP probe and what it sent.
struct Running {
    node: NodeId,
    dst: Ipv4Addr,
    id: u16,
    interval: Duration,
    next: Duration,
    /// (seq, sent at since the start)
    sent: Vec<(u16, Duration)>,
    /// How it reads in the report.
    label: String,
}

/// The scenario's runnable probes.
pub(super) struct Probes {
    running: Vec<Running>,
}

impl Probes {
    /// The ICMP probes of `probes`, with `hosts` naming the nodes and their
    /// addresses; they start at `first`. A probe whose host is unknown (the
    /// loader refuses those) or whose kind is not ICMP is left out.
    pub fn new(probes: &[Probe], hosts: &[super::NamedHost], first: Duration) -> Probes {
        let find = |n: &str| hosts.iter().find(|h| h.0 == n);
        let running = probes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == ProbeKind::Icmp)
            .filter_map(|(i, p)| {
                let (from, to) = (find(&p.from)?, find(&p.to)?);
                Some(Running {
                    node: from.1,
                    dst: to.2,
                    id: FIRST_PROBE_ID + u16::try_from(i).unwrap_or(u16::MAX - FIRST_PROBE_ID),
                    interval: p.interval,
                    next: first,
                    sent: Vec::new(),
                    label: format!(
                        "probe {} (icmp {} -> {} every {})",
                        i + 1,
                        p.from,
                        p.to,
                        format_duration(p.interval)
                    ),
                })
            })
            .collect();
        Probes { running }
    }

    /// Sends the probes due at `tick`.
    pub fn tick(&mut self, sim: &mut Sim, tick: Duration) {
        for r in &mut self.running {
            if tick < r.next {
                continue;
            }
            let (dst, id) = (r.dst, r.id);
            if let Some(seq) = sim.with_node(r.node, |h: &mut PingHost| {
                h.send_ping_sized(dst, id, DEFAULT_PING_SIZE, false, None)
            }) {
                r.sent.push((seq, tick));
            }
            r.next = tick + r.interval;
        }
    }

    /// Each probe's figures, one line each: sent, answered within
    /// [`PING_TIMEOUT`], loss and round-trip times. Probes sent less than
    /// [`PING_TIMEOUT`] before `end` are not counted (their answer may be
    /// on its way).
    pub fn summaries(&self, sim: &Sim, epoch: Instant, end: Duration) -> Vec<String> {
        self.running
            .iter()
            .map(|r| {
                let Some(h) = sim.node::<PingHost>(r.node) else {
                    return format!("{}: host gone", r.label);
                };
                let counted: Vec<&(u16, Duration)> = r
                    .sent
                    .iter()
                    .filter(|(_, at)| *at + PING_TIMEOUT <= end)
                    .collect();
                let rtts: Vec<Duration> = counted
                    .iter()
                    .filter_map(|(seq, at)| {
                        h.replies
                            .iter()
                            .find(|(id, s, t)| *id == r.id && s == seq && *t - epoch >= *at)
                            .map(|(_, _, t)| *t - epoch - *at)
                            .filter(|rtt| *rtt <= PING_TIMEOUT)
                    })
                    .collect();
                let (n, ok) = (counted.len(), rtts.len());
                let loss = if n == 0 {
                    0.0
                } else {
                    100.0 * (n - ok) as f64 / n as f64
                };
                let rtt = match (rtts.iter().min(), rtts.iter().max()) {
                    (Some(lo), Some(hi)) => {
                        let avg = rtts.iter().sum::<Duration>() / ok as u32;
                        format!(
                            ", RTT min/avg/max {}/{}/{} ms",
                            lo.as_millis(),
                            avg.as_millis(),
                            hi.as_millis()
                        )
                    }
                    _ => String::new(),
                };
                format!("{}: {n} sent, {ok} answered, {loss:.1}% loss{rtt}", r.label)
            })
            .collect()
    }
}
