//! Round-trip times (and any other samples in ms): count, min, max, mean
//! and standard deviation, kept as sums so two sets merge exactly (a window of cycles, the total since
//! start).

use std::time::Duration;

use serde::Serialize;

/// Round-trip times summarised.
pub type RttStats = Summary;

/// Samples in milliseconds summarised (f64: sub-millisecond RTTs inside
/// one host matter): RTTs, one-way delays, jitter magnitudes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Smallest, ms (0 when empty).
    pub min_ms: f64,
    /// Largest, ms (0 when empty).
    pub max_ms: f64,
    /// Sum, ms.
    pub sum_ms: f64,
    /// Sum of squares, ms².
    pub sum_sq_ms: f64,
}

impl Summary {
    /// Adds one sample.
    pub fn add(&mut self, rtt: Duration) {
        self.add_ms(rtt.as_secs_f64() * 1e3);
    }

    /// Adds one sample in milliseconds.
    pub fn add_ms(&mut self, ms: f64) {
        if self.count == 0 || ms < self.min_ms {
            self.min_ms = ms;
        }
        if self.count == 0 || ms > self.max_ms {
            self.max_ms = ms;
        }
        self.count += 1;
        self.sum_ms += ms;
        self.sum_sq_ms += ms * ms;
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Summary) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        self.min_ms = self.min_ms.min(other.min_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
        self.count += other.count;
        self.sum_ms += other.sum_ms;
        self.sum_sq_ms += other.sum_sq_ms;
    }

    /// The mean, ms (`None` without samples).
    pub fn avg_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms / self.count as f64)
    }

    /// The population standard deviation, ms (what ping prints as
    /// `mdev`; `None` without samples).
    pub fn stddev_ms(&self) -> Option<f64> {
        let avg = self.avg_ms()?;
        let var = self.sum_sq_ms / self.count as f64 - avg * avg;
        // Rounding can leave a tiny negative variance for equal samples.
        Some(var.max(0.0).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_series() {
        // 10, 20, 30, 40 ms: mean 25, population variance 125.
        let mut s = RttStats::default();
        for ms in [10, 20, 30, 40] {
            s.add(Duration::from_millis(ms));
        }
        assert_eq!((s.count, s.min_ms, s.max_ms), (4, 10.0, 40.0));
        assert!((s.avg_ms().unwrap() - 25.0).abs() < 1e-9);
        assert!((s.stddev_ms().unwrap() - 125f64.sqrt()).abs() < 1e-9);
        assert_eq!(RttStats::default().avg_ms(), None);
    }

    #[test]
    fn merge_equals_adding_everything() {
        let (mut a, mut b, mut all) = Default::default();
        for (i, ms) in [3.0, 9.5, 1.25, 7.0, 4.0].into_iter().enumerate() {
            if i % 2 == 0 {
                RttStats::add_ms(&mut a, ms)
            } else {
                RttStats::add_ms(&mut b, ms)
            }
            RttStats::add_ms(&mut all, ms);
        }
        let mut m: RttStats = a;
        m.merge(&b);
        assert_eq!(
            (m.count, m.min_ms, m.max_ms),
            (all.count, all.min_ms, all.max_ms)
        );
        assert!((m.stddev_ms().unwrap() - all.stddev_ms().unwrap()).abs() < 1e-9);
        let mut e = RttStats::default();
        e.merge(&all);
        assert_eq!(e, all);
    }
}
