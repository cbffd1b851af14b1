//! The prober: runs every operation's cycles on the caller's clock.
//!
//! Inputs: [`Prober::handle_timeout`] (time passed), [`Prober::handle_reply`]
//! (an answer), [`Prober::handle_unreachable`] (an ICMP error or a TCP
//! reset for a probe). Outputs: [`Prober::poll_probe`] (send this probe
//! now), [`Prober::poll_event`] (a cycle finished, a track changed, a
//! reaction was raised or cleared) and [`Prober::poll_timeout`] (wake me
//! then). One table of deadlines per operation (next cycle, next burst
//! packet, each outstanding probe's timeout, the track's delay) is all the
//! time it keeps.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{OperationConfig, OperationKind};
use crate::reaction::{Measure, Reaction, ReactionEvent};
use crate::stats::voice::{self, VoiceScore};
use crate::stats::{CycleStats, Rfc3550Jitter, Window};
use crate::track::{Track, TrackChange, TrackState};

/// How many timed-out sequence numbers an operation remembers, to count
/// their answers as late rather than unknown.
const LATE_MEMORY: usize = 1024;

/// A cycle's outcome, IP SLA's return codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReturnCode {
    /// Answered within the threshold.
    Ok,
    /// Answered, but the mean RTT was above the threshold.
    OverThreshold,
    /// No answer within the timeout.
    Timeout,
    /// Refused or unreachable (ICMP unreachable, TCP reset), no answer.
    Unreachable,
}

impl ReturnCode {
    /// The code's name in status tables and events.
    pub fn name(self) -> &'static str {
        match self {
            ReturnCode::Ok => "OK",
            ReturnCode::OverThreshold => "OverThreshold",
            ReturnCode::Timeout => "Timeout",
            ReturnCode::Unreachable => "Unreachable",
        }
    }
}

/// A probe to send now: operation number `op` (its configuration is
/// [`Prober::config`]), sequence number `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The operation's index.
    pub op: usize,
    /// The sequence number (per operation, from 0).
    pub seq: u32,
}

/// A udp-jitter reply's timestamps, ns: the sender's (transmit and
/// receive, one clock) and the responder's (receive and transmit, its
/// clock), and how many probes the responder has received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    /// Sender transmit.
    pub sender_tx_ns: u64,
    /// Responder receive.
    pub responder_rx_ns: u64,
    /// Responder transmit.
    pub responder_tx_ns: u64,
    /// Sender receive.
    pub sender_rx_ns: u64,
    /// The responder's count of this operation's probes.
    pub responder_count: u32,
}

impl Stamps {
    /// The round trip, ms: the sender's receive minus transmit, less the
    /// responder's processing time (each difference on one clock, so
    /// unsynchronised clocks do not matter); never negative.
    pub fn rtt_ms(&self) -> f64 {
        let processing = ns_diff_ms(self.responder_tx_ns, self.responder_rx_ns).max(0.0);
        (ns_diff_ms(self.sender_rx_ns, self.sender_tx_ns) - processing).max(0.0)
    }
}

/// An answer to a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The operation's index.
    pub op: usize,
    /// The probe's sequence number.
    pub seq: u32,
    /// The responder's timestamps (udp-echo and udp-jitter); without
    /// them the RTT is the engine's own send-to-answer time.
    pub stamps: Option<Stamps>,
}

impl Reply {
    /// An answer without timestamps (icmp-echo, tcp-connect).
    pub fn plain(op: usize, seq: u32) -> Reply {
        Reply {
            op,
            seq,
            stamps: None,
        }
    }
}

/// What the prober reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SlaEvent {
    /// A cycle finished.
    Cycle {
        /// The operation's index.
        op: usize,
        /// Its outcome.
        code: ReturnCode,
        /// What it measured (boxed: the record is large and the other
        /// events small).
        stats: Box<CycleStats>,
        /// The voice estimate (udp-jitter with a codec).
        voice: Option<VoiceScore>,
    },
    /// A track changed.
    Track {
        /// The operation's index.
        op: usize,
        /// The state before.
        from: TrackState,
        /// The state now.
        to: TrackState,
    },
    /// A reaction was raised or cleared.
    Reaction {
        /// The operation's index.
        op: usize,
        /// What happened.
        event: ReactionEvent,
    },
}

/// One probe in flight.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    sent: Instant,
    deadline: Instant,
}

/// A received probe's measures, for the jitter of the next one.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rtt_ms: f64,
    sd_ms: Option<f64>,
    ds_ms: Option<f64>,
}

/// A cycle in progress.
#[derive(Debug)]
struct Cycle {
    to_send: u32,
    next_send: Instant,
    outstanding: BTreeMap<u32, Outstanding>,
    stats: CycleStats,
    highest: Option<u32>,
    last: Option<(u32, Sample)>,
    responder_count: Option<u32>,
}

/// One operation's state.
#[derive(Debug)]
struct Op {
    cfg: OperationConfig,
    next_cycle: Instant,
    next_seq: u32,
    cycle: Option<Cycle>,
    /// Seqs that timed out (for late answers), oldest first.
    timed_out: VecDeque<u32>,
    answered: VecDeque<u32>,
    window: Window,
    total: CycleStats,
    cycles: u64,
    last_code: Option<ReturnCode>,
    last_voice: Option<VoiceScore>,
    /// The responder's count at the end of the last cycle that had one.
    responder_base: u32,
    /// RFC 3550's interarrival jitter over every answer since start
    /// (source-to-destination transit where the responder timestamps,
    /// else the RTT).
    interarrival: Rfc3550Jitter,
    track: Track,
    reactions: Vec<Reaction>,
}

/// What an operation looks like now (status tables, metrics).
#[derive(Debug, Clone, Serialize)]
pub struct OpStatus<'a> {
    /// Its configuration's name.
    pub name: &'a str,
    /// Its kind.
    pub kind: OperationKind,
    /// Cycles finished.
    pub cycles: u64,
    /// The last cycle's outcome.
    pub last_code: Option<ReturnCode>,
    /// The last cycle's voice estimate.
    pub last_voice: Option<VoiceScore>,
    /// The sliding window.
    pub window: CycleStats,
    /// Everything since start.
    pub total: CycleStats,
    /// RFC 3550's interarrival jitter estimate now, ms.
    pub interarrival_jitter_ms: f64,
    /// The track's state.
    pub track: TrackState,
    /// The reactions raised now (names).
    pub raised: Vec<&'a str>,
}

/// The prober. See the module documentation.
#[derive(Debug)]
pub struct Prober {
    ops: Vec<Op>,
    probes: VecDeque<ProbeRequest>,
    events: VecDeque<SlaEvent>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ns_diff_ms(a: u64, b: u64) -> f64 {
    (a as i128 - b as i128) as f64 / 1e6
}

impl Prober {
    /// A prober for `ops` (checked with [`crate::config::check_all`]),
    /// whose first cycles start at `now`.
    pub fn new(ops: Vec<OperationConfig>, now: Instant) -> Prober {
        Prober {
            ops: ops
                .into_iter()
                .map(|cfg| Op {
                    next_cycle: now,
                    next_seq: 0,
                    cycle: None,
                    timed_out: VecDeque::new(),
                    answered: VecDeque::new(),
                    window: Window::new(cfg.window),
                    total: CycleStats::default(),
                    cycles: 0,
                    last_code: None,
                    last_voice: None,
                    responder_base: 0,
                    interarrival: Rfc3550Jitter::default(),
                    track: Track::new(cfg.track),
                    reactions: cfg.reactions.iter().cloned().map(Reaction::new).collect(),
                    cfg,
                })
                .collect(),
            probes: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Operation `op`'s configuration.
    pub fn config(&self, op: usize) -> Option<&OperationConfig> {
        self.ops.get(op).map(|o| &o.cfg)
    }

    /// How many operations it runs.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether it runs none.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Every operation's status.
    pub fn status(&self) -> Vec<OpStatus<'_>> {
        self.ops
            .iter()
            .map(|o| OpStatus {
                name: &o.cfg.name,
                kind: o.cfg.kind,
                cycles: o.cycles,
                last_code: o.last_code,
                last_voice: o.last_voice,
                window: o.window.total(),
                total: o.total,
                interarrival_jitter_ms: o.interarrival.jitter_ms,
                track: o.track.state(),
                raised: o
                    .reactions
                    .iter()
                    .filter(|r| r.is_raised())
                    .map(|r| r.config().name.as_str())
                    .collect(),
            })
            .collect()
    }

    /// The next probe to send.
    pub fn poll_probe(&mut self) -> Option<ProbeRequest> {
        self.probes.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SlaEvent> {
        self.events.pop_front()
    }

    /// When [`Prober::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ops
            .iter()
            .filter_map(|o| {
                let cycle = match &o.cycle {
                    None => Some(o.next_cycle),
                    Some(c) => {
                        let send = (c.to_send > 0).then_some(c.next_send);
                        let deadline = c.outstanding.values().map(|p| p.deadline).min();
                        send.into_iter().chain(deadline).min()
                    }
                };
                cycle.into_iter().chain(o.track.poll_timeout()).min()
            })
            .min()
    }

    /// Starts cycles, sends burst packets, times probes out and applies
    /// track delays due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.ops.len() {
            let op = &mut self.ops[i];
            if op.cycle.is_none() && op.next_cycle <= now {
                // Keep the cadence; after a stall, skip the missed cycles.
                while op.next_cycle <= now {
                    op.next_cycle += op.cfg.frequency;
                }
                op.cycle = Some(Cycle {
                    to_send: op.cfg.packets,
                    next_send: now,
                    outstanding: BTreeMap::new(),
                    stats: CycleStats::default(),
                    highest: None,
                    last: None,
                    responder_count: None,
                });
            }
            if let Some(c) = &mut op.cycle {
                while c.to_send > 0 && c.next_send <= now {
                    let seq = op.next_seq;
                    op.next_seq = op.next_seq.wrapping_add(1);
                    c.to_send -= 1;
                    c.next_send += op.cfg.interval;
                    c.stats.loss.sent += 1;
                    c.outstanding.insert(
                        seq,
                        Outstanding {
                            sent: now,
                            deadline: now + op.cfg.timeout,
                        },
                    );
                    self.probes.push_back(ProbeRequest { op: i, seq });
                }
                let expired: Vec<u32> = c
                    .outstanding
                    .iter()
                    .filter(|(_, p)| p.deadline <= now)
                    .map(|(s, _)| *s)
                    .collect();
                for s in expired {
                    c.outstanding.remove(&s);
                    c.stats.loss.lost += 1;
                    if op.timed_out.len() == LATE_MEMORY {
                        op.timed_out.pop_front();
                    }
                    op.timed_out.push_back(s);
                }
            }
            self.finish_if_done(i, now);
            if let Some(ch) = self.ops[i].track.handle_timeout(now) {
                self.push_track(i, ch);
            }
        }
    }

    /// An answer arrived at `now`.
    pub fn handle_reply(&mut self, now: Instant, reply: Reply) {
        let Some(op) = self.ops.get_mut(reply.op) else {
            return;
        };
        let Some(c) = op.cycle.as_mut() else {
            Self::stray(op, reply.seq);
            return;
        };
        let Some(p) = c.outstanding.remove(&reply.seq) else {
            Self::stray(op, reply.seq);
            return;
        };
        let sample = match reply.stamps {
            Some(s) => {
                let rtt = s.rtt_ms();
                c.responder_count = c.responder_count.max(Some(s.responder_count));
                Sample {
                    rtt_ms: rtt,
                    sd_ms: Some(ns_diff_ms(s.responder_rx_ns, s.sender_tx_ns)),
                    ds_ms: Some(ns_diff_ms(s.sender_rx_ns, s.responder_tx_ns)),
                }
            }
            None => Sample {
                rtt_ms: ms(now.saturating_duration_since(p.sent)),
                sd_ms: None,
                ds_ms: None,
            },
        };
        op.interarrival
            .add_transit(sample.sd_ms.unwrap_or(sample.rtt_ms));
        let st = &mut c.stats;
        st.loss.received += 1;
        st.rtt.add_ms(sample.rtt_ms);
        if let (Some(sd), Some(ds)) = (sample.sd_ms, sample.ds_ms) {
            st.one_way_sd.add_ms(sd);
            st.one_way_ds.add_ms(ds);
        }
        if c.highest.is_some_and(|h| reply.seq < h) {
            st.loss.out_of_sequence += 1;
        }
        // Jitter between consecutive sequence numbers, both received.
        if let Some((ls, last)) = c.last {
            if reply.seq == ls.wrapping_add(1) {
                st.jitter_rtt.add_change(sample.rtt_ms - last.rtt_ms);
                if let (Some(a), Some(b)) = (sample.sd_ms, last.sd_ms) {
                    st.jitter_sd.add_change(a - b);
                }
                if let (Some(a), Some(b)) = (sample.ds_ms, last.ds_ms) {
                    st.jitter_ds.add_change(a - b);
                }
            }
        }
        if c.highest.is_none_or(|h| reply.seq > h) {
            c.highest = Some(reply.seq);
            c.last = Some((reply.seq, sample));
        }
        if op.answered.len() == LATE_MEMORY {
            op.answered.pop_front();
        }
        op.answered.push_back(reply.seq);
        self.finish_if_done(reply.op, now);
    }

    /// Probe `seq` of `op` was refused or found unreachable at `now`.
    pub fn handle_unreachable(&mut self, now: Instant, op: usize, seq: u32) {
        let Some(o) = self.ops.get_mut(op) else {
            return;
        };
        if let Some(c) = o.cycle.as_mut() {
            if c.outstanding.remove(&seq).is_some() {
                c.stats.loss.unreachable += 1;
            }
        }
        self.finish_if_done(op, now);
    }

    /// An answer that matches no probe in flight: late (its probe timed
    /// out), a duplicate, or unknown (ignored).
    fn stray(op: &mut Op, seq: u32) {
        if let Some(i) = op.timed_out.iter().position(|s| *s == seq) {
            op.timed_out.remove(i);
            op.total.loss.late += 1;
            if let Some(c) = op.cycle.as_mut() {
                c.stats.loss.late += 1;
            }
        } else if op.answered.contains(&seq) {
            op.total.loss.duplicates += 1;
            if let Some(c) = op.cycle.as_mut() {
                c.stats.loss.duplicates += 1;
            }
        }
    }

    fn finish_if_done(&mut self, i: usize, now: Instant) {
        let op = &mut self.ops[i];
        let done = op
            .cycle
            .as_ref()
            .is_some_and(|c| c.to_send == 0 && c.outstanding.is_empty());
        if !done {
            return;
        }
        let Some(c) = op.cycle.take() else { return };
        let mut st = c.stats;
        // Which way the losses went: the responder counted what reached it.
        if let Some(count) = c.responder_count {
            let reached = u64::from(count.wrapping_sub(op.responder_base));
            op.responder_base = count;
            let lost_sd = st.loss.sent.saturating_sub(reached).min(st.loss.lost);
            st.loss.lost_sd = lost_sd;
            st.loss.lost_ds = st.loss.lost - lost_sd;
        }
        let code = if st.loss.received == 0 {
            if st.loss.unreachable > 0 {
                ReturnCode::Unreachable
            } else {
                ReturnCode::Timeout
            }
        } else if st.rtt.avg_ms().unwrap_or(0.0) > ms(op.cfg.threshold) {
            ReturnCode::OverThreshold
        } else {
            ReturnCode::Ok
        };
        let voice = op.cfg.codec.and_then(|codec| {
            let rtt = st.rtt.avg_ms()?;
            Some(voice::score(
                codec,
                rtt / 2.0,
                st.jitter_avg_ms().unwrap_or(0.0),
                st.loss.loss_percent().unwrap_or(0.0),
                op.cfg.advantage,
            ))
        });
        op.cycles += 1;
        op.last_code = Some(code);
        op.last_voice = voice;
        op.window.push(st);
        // Late answers and duplicates were added to the total as they came.
        let mut counted = st;
        counted.loss.late = 0;
        counted.loss.duplicates = 0;
        op.total.merge(&counted);
        self.events.push_back(SlaEvent::Cycle {
            op: i,
            code,
            stats: Box::new(st),
            voice,
        });
        if let Some(ch) = op.track.handle_result(now, code) {
            self.push_track(i, ch);
        }
        let op = &mut self.ops[i];
        let failed = matches!(code, ReturnCode::Timeout | ReturnCode::Unreachable);
        let mut raised = Vec::new();
        for r in &mut op.reactions {
            let value = match r.config().measure {
                Measure::Rtt => st.rtt.avg_ms(),
                Measure::Jitter => st.jitter_avg_ms(),
                Measure::Loss => st.loss.loss_percent(),
                Measure::Mos => voice.map(|v| v.mos),
                Measure::Timeout => Some(if failed { 1.0 } else { 0.0 }),
            };
            if let Some(e) = r.handle_value(value) {
                raised.push(e);
            }
        }
        for event in raised {
            self.events.push_back(SlaEvent::Reaction { op: i, event });
        }
    }

    fn push_track(&mut self, op: usize, ch: TrackChange) {
        self.events.push_back(SlaEvent::Track {
            op,
            from: ch.from,
            to: ch.to,
        });
    }
}
