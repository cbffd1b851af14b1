//! A cycle's statistics (one operation run: one echo, or one burst of
//! udp-jitter packets) and a sliding window of the last N cycles. The
//! totals since start are the same record merged from every cycle.

use std::collections::VecDeque;

use serde::Serialize;

use super::{DirectionalJitter, LossCounts, RttStats};

/// What one or more cycles measured. Every field merges by adding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CycleStats {
    /// Round-trip times (processing time at the responder removed).
    pub rtt: RttStats,
    /// Source-to-destination one-way delay (udp-jitter; meaningful only
    /// with synchronised clocks).
    pub one_way_sd: RttStats,
    /// Destination-to-source one-way delay (same caveat).
    pub one_way_ds: RttStats,
    /// Jitter source to destination (udp-jitter).
    pub jitter_sd: DirectionalJitter,
    /// Jitter destination to source (udp-jitter).
    pub jitter_ds: DirectionalJitter,
    /// Round-trip jitter (consecutive RTT changes; every operation).
    pub jitter_rtt: DirectionalJitter,
    /// Loss and order.
    pub loss: LossCounts,
}

impl CycleStats {
    /// Adds `other`.
    pub fn merge(&mut self, o: &CycleStats) {
        self.rtt.merge(&o.rtt);
        self.one_way_sd.merge(&o.one_way_sd);
        self.one_way_ds.merge(&o.one_way_ds);
        self.jitter_sd.merge(&o.jitter_sd);
        self.jitter_ds.merge(&o.jitter_ds);
        self.jitter_rtt.merge(&o.jitter_rtt);
        self.loss.merge(&o.loss);
    }

    /// The jitter IP SLA reports as one figure: the mean of both
    /// directions where the responder timestamped, else round-trip.
    pub fn jitter_avg_ms(&self) -> Option<f64> {
        let mut both = self.jitter_sd;
        both.merge(&self.jitter_ds);
        both.avg_ms().or_else(|| self.jitter_rtt.avg_ms())
    }
}

/// The last `capacity` cycles.
#[derive(Debug, Clone)]
pub struct Window {
    capacity: usize,
    cycles: VecDeque<CycleStats>,
}

impl Window {
    /// A window of `capacity` cycles (at least 1).
    pub fn new(capacity: usize) -> Window {
        Window {
            capacity: capacity.max(1),
            cycles: VecDeque::new(),
        }
    }

    /// Adds a finished cycle, dropping the oldest beyond the capacity.
    pub fn push(&mut self, c: CycleStats) {
        if self.cycles.len() == self.capacity {
            self.cycles.pop_front();
        }
        self.cycles.push_back(c);
    }

    /// Everything in the window merged.
    pub fn total(&self) -> CycleStats {
        let mut t = CycleStats::default();
        for c in &self.cycles {
            t.merge(c);
        }
        t
    }

    /// The cycles, oldest first.
    pub fn cycles(&self) -> impl Iterator<Item = &CycleStats> {
        self.cycles.iter()
    }

    /// How many cycles it holds.
    pub fn len(&self) -> usize {
        self.cycles.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.cycles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_the_last_n() {
        let mut w = Window::new(2);
        for ms in [10.0, 20.0, 30.0] {
            let mut c = CycleStats::default();
            c.rtt.add_ms(ms);
            c.loss.sent = 1;
            c.loss.received = 1;
            w.push(c);
        }
        let t = w.total();
        assert_eq!((w.len(), t.rtt.count, t.rtt.min_ms), (2, 2, 20.0));
        assert_eq!(t.loss.sent, 2);
    }
}
