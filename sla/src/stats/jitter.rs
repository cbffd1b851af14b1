//! Jitter, two ways:
//!
//! - [`Rfc3550Jitter`]: RTP's interarrival jitter estimate (RFC 3550
//!   6.4.1 and A.8), the smoothed mean deviation of transit-time
//!   differences, `J += (|D| - J) / 16`.
//! - [`DirectionalJitter`]: IP SLA's udp-jitter view: for each pair of
//!   consecutive packets the change in transit time, reported apart as
//!   positive (the later packet took longer) and negative jitter, with
//!   count, sum, sum of squares, min and max of each, so a window merges.
//!
//! Transit times may carry an unknown clock offset between sender and
//! responder: only their differences are used, and the offset cancels.

use serde::Serialize;

/// RFC 3550's interarrival jitter estimator (in milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rfc3550Jitter {
    last_transit_ms: Option<f64>,
    /// The current estimate, ms.
    pub jitter_ms: f64,
}

impl Rfc3550Jitter {
    /// Takes the next packet's transit time (arrival minus send
    /// timestamp, any fixed offset) in ms, in arrival order.
    pub fn add_transit(&mut self, transit_ms: f64) {
        if let Some(last) = self.last_transit_ms {
            let d = (transit_ms - last).abs();
            self.jitter_ms += (d - self.jitter_ms) / 16.0;
        }
        self.last_transit_ms = Some(transit_ms);
    }
}

/// One sign of IP SLA jitter: the magnitudes of the transit changes of
/// that sign (count, sum, sum of squares, min, max: the same summary as
/// RTTs).
pub type JitterSide = super::rtt::Summary;

/// IP SLA's positive and negative jitter in one direction (source to
/// destination, destination to source, or round trip).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DirectionalJitter {
    /// The later packet took longer.
    pub positive: JitterSide,
    /// The later packet was quicker.
    pub negative: JitterSide,
    /// Pairs measured, those with no change included.
    pub pairs: u64,
}

impl DirectionalJitter {
    /// Adds the change in transit time from one packet to the next
    /// (consecutive sequence numbers, both received), ms. A change of
    /// exactly zero counts on neither side, as IP SLA's counters do.
    pub fn add_change(&mut self, delta_ms: f64) {
        self.pairs += 1;
        if delta_ms > 0.0 {
            self.positive.add_ms(delta_ms);
        } else if delta_ms < 0.0 {
            self.negative.add_ms(-delta_ms);
        }
    }

    /// Adds every change of `other`.
    pub fn merge(&mut self, other: &DirectionalJitter) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.pairs += other.pairs;
    }

    /// The mean magnitude over both signs, ms (IP SLA's "jitter avg"):
    /// 0 when every pair was unchanged, `None` before any pair.
    pub fn avg_ms(&self) -> Option<f64> {
        let n = self.positive.count + self.negative.count;
        if n > 0 {
            Some((self.positive.sum_ms + self.negative.sum_ms) / n as f64)
        } else {
            (self.pairs > 0).then_some(0.0)
        }
    }

    /// The largest magnitude of either sign, ms.
    pub fn max_ms(&self) -> f64 {
        self.positive.max_ms.max(self.negative.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3550_estimator_by_hand() {
        // Transit 10, 12, 11, 15 ms: |D| = 2, 1, 4.
        // J1 = 2/16 = 0.125; J2 = 0.125 + (1 - 0.125)/16 = 0.1796875;
        // J3 = 0.1796875 + (4 - 0.1796875)/16 = 0.41845703125.
        let mut j = Rfc3550Jitter::default();
        for t in [10.0, 12.0, 11.0, 15.0] {
            j.add_transit(t);
        }
        assert!(
            (j.jitter_ms - 0.418_457_031_25).abs() < 1e-12,
            "{}",
            j.jitter_ms
        );
        // A constant offset (unsynchronised clocks) changes nothing.
        let mut k = Rfc3550Jitter::default();
        for t in [10.0, 12.0, 11.0, 15.0] {
            k.add_transit(t + 3_600_000.0);
        }
        assert!((k.jitter_ms - j.jitter_ms).abs() < 1e-6);
    }

    #[test]
    fn positive_and_negative_by_hand() {
        // Transit 10, 12, 11, 15, 15 ms: changes +2, -1, +4, 0.
        let mut d = DirectionalJitter::default();
        let t = [10.0, 12.0, 11.0, 15.0, 15.0];
        for w in t.windows(2) {
            d.add_change(w[1] - w[0]);
        }
        assert_eq!(d.positive.count, 2);
        assert_eq!(
            (d.positive.min_ms, d.positive.max_ms, d.positive.sum_ms),
            (2.0, 4.0, 6.0)
        );
        assert_eq!((d.negative.count, d.negative.sum_ms), (1, 1.0));
        assert!((d.avg_ms().unwrap() - 7.0 / 3.0).abs() < 1e-12);
        assert_eq!(d.max_ms(), 4.0);
        assert_eq!(d.pairs, 4);
        let mut flat = DirectionalJitter::default();
        assert_eq!(flat.avg_ms(), None);
        flat.add_change(0.0);
        assert_eq!(flat.avg_ms(), Some(0.0));
        let mut m = DirectionalJitter::default();
        m.merge(&d);
        m.merge(&d);
        assert_eq!(m.positive.count, 4);
        assert_eq!(m.negative.max_ms, 1.0);
    }
}
