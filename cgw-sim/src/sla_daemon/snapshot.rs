//! What the SLA daemon publishes (`cgw-sim sla status`, `/metrics`): one
//! [`OpSnapshot`] per operation, built from the prober's
//! [`sla::engine::OpStatus`] and the driver's RTT histogram. Plain data,
//! serialised as JSON on the control socket and read back by the client.

use serde::{Deserialize, Serialize};

use sla::config::OperationConfig;
use sla::engine::OpStatus;
use sla::stats::CycleStats;

/// The RTT histogram's upper bounds, seconds: 0.5 ms (loopback, a LAN)
/// to 5 s (IP SLA's default timeout).
pub const RTT_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The SLA daemon's snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaStatus {
    /// Seconds since the daemon started.
    pub uptime_secs: f64,
    /// Every operation, in configuration order.
    pub operations: Vec<OpSnapshot>,
    /// Reaction commands started.
    pub hooks_started: u64,
    /// Reaction commands not started because too many were running.
    pub hooks_dropped: u64,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpSnapshot {
    /// Its name.
    pub name: String,
    /// Its type (`icmp-echo`...).
    pub kind: String,
    /// The target address.
    pub target: String,
    /// The tunnel it watches.
    pub tunnel: Option<u8>,
    /// Cycles finished.
    pub cycles: u64,
    /// The last cycle's return code (`OK`, `OverThreshold`, `Timeout`,
    /// `Unreachable`).
    pub last_code: Option<String>,
    /// The track: `up`, `down` or `unknown`.
    pub track: String,
    /// Reactions raised now.
    pub raised: Vec<String>,
    /// The last cycle's MOS (udp-jitter with a codec).
    pub mos: Option<f64>,
    /// The last cycle's ICPIF.
    pub icpif: Option<u32>,
    /// RFC 3550's interarrival jitter now, ms.
    pub interarrival_jitter_ms: f64,
    /// Over the sliding window.
    pub window: Figures,
    /// Since start.
    pub total: Figures,
    /// Every answered probe's RTT.
    pub rtt_histogram: Histogram,
}

/// Statistics over some cycles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Probes sent.
    pub sent: u64,
    /// Probes answered in time.
    pub received: u64,
    /// Probes not answered within the timeout.
    pub lost: u64,
    /// Answers after the timeout.
    pub late: u64,
    /// Answers behind a higher sequence number.
    pub out_of_sequence: u64,
    /// Duplicate answers.
    pub duplicates: u64,
    /// Probes refused or unreachable.
    pub unreachable: u64,
    /// Lost on the way to the responder (udp-jitter).
    pub lost_sd: u64,
    /// Lost on the way back (udp-jitter).
    pub lost_ds: u64,
    /// Loss, percent of settled probes.
    pub loss_percent: Option<f64>,
    /// RTT minimum, ms.
    pub rtt_min_ms: Option<f64>,
    /// RTT mean, ms.
    pub rtt_avg_ms: Option<f64>,
    /// RTT maximum, ms.
    pub rtt_max_ms: Option<f64>,
    /// RTT standard deviation, ms.
    pub rtt_stddev_ms: Option<f64>,
    /// Mean jitter (both directions where timestamped, else of the RTT), ms.
    pub jitter_avg_ms: Option<f64>,
    /// Mean jitter source to destination, ms.
    pub jitter_sd_ms: Option<f64>,
    /// Mean jitter destination to source, ms.
    pub jitter_ds_ms: Option<f64>,
    /// Mean one-way delay source to destination, ms (synchronised clocks).
    pub one_way_sd_ms: Option<f64>,
    /// Mean one-way delay destination to source, ms.
    pub one_way_ds_ms: Option<f64>,
}

impl From<&CycleStats> for Figures {
    fn from(c: &CycleStats) -> Figures {
        let l = &c.loss;
        let some = |count: u64, v: f64| (count > 0).then_some(v);
        Figures {
            sent: l.sent,
            received: l.received,
            lost: l.lost,
            late: l.late,
            out_of_sequence: l.out_of_sequence,
            duplicates: l.duplicates,
            unreachable: l.unreachable,
            lost_sd: l.lost_sd,
            lost_ds: l.lost_ds,
            loss_percent: l.loss_percent(),
            rtt_min_ms: some(c.rtt.count, c.rtt.min_ms),
            rtt_avg_ms: c.rtt.avg_ms(),
            rtt_max_ms: some(c.rtt.count, c.rtt.max_ms),
            rtt_stddev_ms: c.rtt.stddev_ms(),
            jitter_avg_ms: c.jitter_avg_ms(),
            jitter_sd_ms: c.jitter_sd.avg_ms(),
            jitter_ds_ms: c.jitter_ds.avg_ms(),
            one_way_sd_ms: c.one_way_sd.avg_ms(),
            one_way_ds_ms: c.one_way_ds.avg_ms(),
        }
    }
}

/// A histogram of RTTs in seconds over [`RTT_BUCKETS`]: per-bucket
/// counts (not cumulative), the last one above every bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Counts per bucket; one more than [`RTT_BUCKETS`] (+Inf).
    pub counts: Vec<u64>,
    /// The sum of the observations, seconds.
    pub sum: f64,
    /// How many observations.
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: vec![0; RTT_BUCKETS.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    /// Adds one RTT, seconds.
    pub fn observe(&mut self, secs: f64) {
        let i = RTT_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(RTT_BUCKETS.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += secs;
        self.count += 1;
    }

    /// (upper bound, count) pairs as the exposition wants them, +Inf last.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        RTT_BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().copied())
            .collect()
    }
}

impl OpSnapshot {
    /// The snapshot of one operation.
    pub fn new(cfg: &OperationConfig, st: &OpStatus<'_>, rtt_histogram: Histogram) -> OpSnapshot {
        OpSnapshot {
            name: cfg.name.clone(),
            kind: cfg.kind.name().to_owned(),
            target: cfg.target.to_string(),
            tunnel: cfg.tunnel,
            cycles: st.cycles,
            last_code: st.last_code.map(|c| c.name().to_owned()),
            track: match st.track {
                sla::track::TrackState::Up => "up",
                sla::track::TrackState::Down => "down",
                sla::track::TrackState::Unknown => "unknown",
            }
            .to_owned(),
            raised: st.raised.iter().map(|s| (*s).to_owned()).collect(),
            mos: st.last_voice.map(|v| v.mos),
            icpif: st.last_voice.map(|v| v.icpif),
            interarrival_jitter_ms: st.interarrival_jitter_ms,
            window: Figures::from(&st.window),
            total: Figures::from(&st.total),
            rtt_histogram,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets() {
        let mut h = Histogram::default();
        for s in [0.0004, 0.0005, 0.003, 20.0] {
            h.observe(s);
        }
        let b = h.buckets();
        assert_eq!(b[0], (0.0005, 2));
        assert_eq!(b[3], (0.005, 1));
        assert_eq!(b.last().copied(), Some((f64::INFINITY, 1)));
        assert_eq!(h.count, 4);
    }
}
