//! Reactions: IP SLA's `reaction-configuration ... threshold-value UPPER
//! LOWER threshold-type TYPE`. A reaction watches one measure of each
//! cycle (RTT, jitter, loss, MOS, or the return code timing out), is
//! raised when the measure crosses its raise threshold as the type says,
//! and cleared when the same test against its clear threshold no longer
//! holds:
//!
//! - immediate: this cycle's value;
//! - consecutive N: the last N values;
//! - X of Y: at least X of the last Y values;
//! - average N: the mean of the last N values.
//!
//! For MOS a lower value is worse: the thresholds are crossed downwards.

use std::collections::VecDeque;

use serde::Serialize;

/// What a reaction watches, per cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Mean RTT of the cycle, ms.
    Rtt,
    /// Mean jitter of the cycle, ms.
    Jitter,
    /// Loss of the cycle, percent.
    Loss,
    /// MOS of the cycle (udp-jitter with a codec).
    Mos,
    /// 1 when the cycle timed out (or was unreachable), else 0.
    Timeout,
}

impl Measure {
    /// Whether lower values are worse.
    pub fn lower_is_worse(self) -> bool {
        self == Measure::Mos
    }
}

/// How violations are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThresholdType {
    /// This cycle.
    Immediate,
    /// The last N cycles.
    Consecutive(u32),
    /// X of the last Y cycles.
    XOfY(u32, u32),
    /// The mean of the last N cycles.
    Average(u32),
}

/// One reaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ReactionConfig {
    /// Its name (events and hooks say it).
    pub name: String,
    /// What it watches.
    pub measure: Measure,
    /// How violations count.
    pub threshold_type: ThresholdType,
    /// The raise threshold (upper; lower for MOS).
    pub raise: f64,
    /// The clear threshold (lower; upper for MOS); the raise threshold
    /// when equal.
    pub clear: f64,
    /// A command run on every raise and clear (through `/bin/sh -c`),
    /// with the event in its environment; `None`: events only.
    pub command: Option<String>,
}

impl ReactionConfig {
    /// Its rules: counts in range, thresholds in order. `has_codec` says
    /// whether MOS is measured at all.
    pub fn check(&self, has_codec: bool) -> Result<(), String> {
        match self.threshold_type {
            ThresholdType::Consecutive(n) | ThresholdType::Average(n) if !(1..=16).contains(&n) => {
                return Err(format!("N is 1 to 16, found {n}"))
            }
            ThresholdType::XOfY(x, y) if !(1..=16).contains(&y) || x == 0 || x > y => {
                return Err(format!("X of Y needs 1 <= X <= Y <= 16, found {x} of {y}"))
            }
            _ => {}
        }
        let ordered = if self.measure.lower_is_worse() {
            self.clear >= self.raise
        } else {
            self.clear <= self.raise
        };
        if !ordered {
            return Err(format!(
                "the clear threshold {} is on the wrong side of the raise threshold {}",
                self.clear, self.raise
            ));
        }
        if self.measure == Measure::Mos && !has_codec {
            return Err("MOS needs a udp-jitter operation with a codec".into());
        }
        if !self.raise.is_finite() || !self.clear.is_finite() {
            return Err("thresholds must be finite numbers".into());
        }
        Ok(())
    }
}

/// A reaction's raise or clear.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReactionEvent {
    /// The reaction's name.
    pub reaction: String,
    /// The measure.
    pub measure: Measure,
    /// Raised (true) or cleared (false).
    pub raised: bool,
    /// The value that decided it (the mean for average N).
    pub value: f64,
    /// The threshold crossed.
    pub threshold: f64,
}

/// A reaction's state. See the module documentation.
#[derive(Debug, Clone)]
pub struct Reaction {
    cfg: ReactionConfig,
    history: VecDeque<f64>,
    raised: bool,
}

impl Reaction {
    /// A reaction, not raised.
    pub fn new(cfg: ReactionConfig) -> Reaction {
        Reaction {
            cfg,
            history: VecDeque::new(),
            raised: false,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &ReactionConfig {
        &self.cfg
    }

    /// Whether it is raised now.
    pub fn is_raised(&self) -> bool {
        self.raised
    }

    fn depth(&self) -> usize {
        match self.cfg.threshold_type {
            ThresholdType::Immediate => 1,
            ThresholdType::Consecutive(n) | ThresholdType::Average(n) => n as usize,
            ThresholdType::XOfY(_, y) => y as usize,
        }
    }

    fn over(&self, v: f64, threshold: f64) -> bool {
        if self.cfg.measure.lower_is_worse() {
            v < threshold
        } else {
            v > threshold
        }
    }

    /// Whether the history violates `threshold`, and the value that says
    /// so.
    fn violated(&self, threshold: f64) -> (bool, f64) {
        let last = self.history.back().copied().unwrap_or(0.0);
        let n = self.history.len();
        match self.cfg.threshold_type {
            ThresholdType::Immediate => (self.over(last, threshold), last),
            ThresholdType::Consecutive(k) => (
                n >= k as usize && self.history.iter().all(|v| self.over(*v, threshold)),
                last,
            ),
            ThresholdType::XOfY(x, _) => (
                self.history
                    .iter()
                    .filter(|v| self.over(**v, threshold))
                    .count()
                    >= x as usize,
                last,
            ),
            ThresholdType::Average(k) => {
                let mean = self.history.iter().sum::<f64>() / n.max(1) as f64;
                (n >= k as usize && self.over(mean, threshold), mean)
            }
        }
    }

    /// Takes one cycle's value of the measure (`None`: not measured this
    /// cycle, e.g. no RTT when every probe was lost; the history is left
    /// as it is).
    pub fn handle_value(&mut self, value: Option<f64>) -> Option<ReactionEvent> {
        let v = value?;
        if self.history.len() == self.depth() {
            self.history.pop_front();
        }
        self.history.push_back(v);
        let event = |raised: bool, value: f64, threshold: f64| ReactionEvent {
            reaction: self.cfg.name.clone(),
            measure: self.cfg.measure,
            raised,
            value,
            threshold,
        };
        if !self.raised {
            let (hit, at) = self.violated(self.cfg.raise);
            if hit {
                self.raised = true;
                return Some(event(true, at, self.cfg.raise));
            }
        } else {
            let (still, at) = self.violated(self.cfg.clear);
            // For consecutive N the condition lapses at the first good
            // value; the others need their test to fail.
            if !still {
                self.raised = false;
                return Some(event(false, at, self.cfg.clear));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reaction(t: ThresholdType, measure: Measure, raise: f64, clear: f64) -> Reaction {
        Reaction::new(ReactionConfig {
            name: "r".into(),
            measure,
            threshold_type: t,
            raise,
            clear,
            command: None,
        })
    }

    fn feed(r: &mut Reaction, values: &[f64]) -> Vec<(usize, bool)> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| r.handle_value(Some(*v)).map(|e| (i, e.raised)))
            .collect()
    }

    #[test]
    fn immediate_raises_and_clears_with_hysteresis() {
        let mut r = reaction(ThresholdType::Immediate, Measure::Rtt, 100.0, 50.0);
        // 120 raises; 80 is below the raise but above the clear: stays; 40 clears.
        assert_eq!(
            feed(&mut r, &[10.0, 120.0, 80.0, 40.0]),
            [(1, true), (3, false)]
        );
    }

    #[test]
    fn consecutive_needs_n_in_a_row() {
        let mut r = reaction(ThresholdType::Consecutive(3), Measure::Loss, 10.0, 10.0);
        assert_eq!(
            feed(&mut r, &[20.0, 20.0, 0.0, 20.0, 20.0, 20.0, 0.0]),
            [(5, true), (6, false)]
        );
    }

    #[test]
    fn x_of_y_counts_within_the_window() {
        let mut r = reaction(ThresholdType::XOfY(2, 4), Measure::Jitter, 5.0, 5.0);
        // Violations at 0 and 3: the window of 4 holds both at index 3.
        assert_eq!(feed(&mut r, &[9.0, 1.0, 1.0, 9.0]), [(3, true)]);
        // Then 1: the window [1, 1, 9, 1] holds one violation: cleared.
        assert_eq!(feed(&mut r, &[1.0, 1.0]), [(0, false)]);
    }

    #[test]
    fn average_of_n_and_mos_downwards() {
        let mut r = reaction(ThresholdType::Average(3), Measure::Rtt, 50.0, 50.0);
        // Means: -, -, 40, 60 (raise), 46.7 (clear).
        let ev: Vec<_> = [30.0, 40.0, 50.0, 90.0, 0.0]
            .iter()
            .filter_map(|v| r.handle_value(Some(*v)))
            .collect();
        assert_eq!(ev.len(), 2);
        assert!(ev[0].raised && (ev[0].value - 60.0).abs() < 1e-9);
        assert!(!ev[1].raised);
        let mut m = reaction(ThresholdType::Immediate, Measure::Mos, 3.6, 3.8);
        assert_eq!(feed(&mut m, &[4.3, 3.5, 3.7, 3.9]), [(1, true), (3, false)]);
        // No value this cycle: nothing changes.
        assert_eq!(m.handle_value(None), None);
    }

    #[test]
    fn checks() {
        let mut c = reaction(ThresholdType::XOfY(5, 3), Measure::Rtt, 1.0, 1.0).cfg;
        assert!(c.check(false).is_err());
        c.threshold_type = ThresholdType::Immediate;
        c.clear = 2.0;
        assert!(c.check(false).unwrap_err().contains("wrong side"));
        c.clear = 1.0;
        c.measure = Measure::Mos;
        assert!(c.check(false).unwrap_err().contains("codec"));
        assert!(c.check(true).is_ok());
    }
}
