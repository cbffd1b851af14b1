//! A track: whether an operation's target counts as up, as IP SLA's
//! `track N ip sla M reachability | state` does, with `delay up` and
//! `delay down` damping so one lost probe does not flap a route.
//!
//! - reachability: up on OK or OverThreshold (an answer came);
//! - state: up only on OK.
//!
//! A change of the wanted state starts a delay; if the wanted state still
//! differs when the delay ends (at a later result or at the deadline,
//! [`Track::poll_timeout`]), the track changes. A result back to the
//! current state cancels the pending change.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::ReturnCode;

/// Which results count as up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrackKind {
    /// Up on OK or OverThreshold.
    #[default]
    Reachability,
    /// Up on OK only.
    State,
}

/// A track's configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackConfig {
    /// Reachability or state.
    pub kind: TrackKind,
    /// How long up must be wanted before the track goes up.
    pub delay_up: Duration,
    /// How long down must be wanted before the track goes down.
    pub delay_down: Duration,
}

/// A track's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackState {
    /// Not decided yet (no result).
    Unknown,
    /// Up.
    Up,
    /// Down.
    Down,
}

/// A change of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackChange {
    /// The state before.
    pub from: TrackState,
    /// The state now.
    pub to: TrackState,
}

/// A track. See the module documentation.
#[derive(Debug, Clone)]
pub struct Track {
    cfg: TrackConfig,
    state: TrackState,
    pending: Option<(bool, Instant)>,
}

impl Track {
    /// A track in state Unknown.
    pub fn new(cfg: TrackConfig) -> Track {
        Track {
            cfg,
            state: TrackState::Unknown,
            pending: None,
        }
    }

    /// The state now.
    pub fn state(&self) -> TrackState {
        self.state
    }

    /// Whether `code` counts as up for this track.
    pub fn is_up(&self, code: ReturnCode) -> bool {
        match self.cfg.kind {
            TrackKind::Reachability => {
                matches!(code, ReturnCode::Ok | ReturnCode::OverThreshold)
            }
            TrackKind::State => code == ReturnCode::Ok,
        }
    }

    /// Takes a cycle's result at `now`.
    pub fn handle_result(&mut self, now: Instant, code: ReturnCode) -> Option<TrackChange> {
        let want_up = self.is_up(code);
        let current_up = match self.state {
            TrackState::Up => Some(true),
            TrackState::Down => Some(false),
            TrackState::Unknown => None,
        };
        if current_up == Some(want_up) {
            self.pending = None;
            return None;
        }
        // The first result decides at once (there is nothing to damp).
        if current_up.is_none() {
            return self.set(want_up);
        }
        let delay = if want_up {
            self.cfg.delay_up
        } else {
            self.cfg.delay_down
        };
        match self.pending {
            Some((w, _)) if w == want_up => {}
            _ => self.pending = Some((want_up, now + delay)),
        }
        self.handle_timeout(now)
    }

    /// When a pending change is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.map(|(_, at)| at)
    }

    /// Applies a pending change that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<TrackChange> {
        match self.pending {
            Some((up, at)) if at <= now => {
                self.pending = None;
                self.set(up)
            }
            _ => None,
        }
    }

    fn set(&mut self, up: bool) -> Option<TrackChange> {
        let to = if up { TrackState::Up } else { TrackState::Down };
        let from = std::mem::replace(&mut self.state, to);
        (from != to).then_some(TrackChange { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReturnCode::*;

    #[test]
    fn reachability_and_state_differ_on_over_threshold() {
        let now = Instant::now();
        let mut r = Track::new(TrackConfig::default());
        let mut s = Track::new(TrackConfig {
            kind: TrackKind::State,
            ..Default::default()
        });
        r.handle_result(now, Ok);
        s.handle_result(now, Ok);
        assert_eq!(r.handle_result(now, OverThreshold), None);
        assert_eq!(
            s.handle_result(now, OverThreshold),
            Some(TrackChange {
                from: TrackState::Up,
                to: TrackState::Down
            })
        );
        assert_eq!(r.state(), TrackState::Up);
    }

    #[test]
    fn delay_down_damps_a_single_loss() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut t = Track::new(TrackConfig {
            kind: TrackKind::Reachability,
            delay_up: s(0),
            delay_down: s(10),
        });
        t.handle_result(t0, Ok);
        // One timeout, then OK again within the delay: no change.
        assert_eq!(t.handle_result(t0 + s(5), Timeout), None);
        assert_eq!(t.poll_timeout(), Some(t0 + s(15)));
        assert_eq!(t.handle_result(t0 + s(10), Ok), None);
        assert_eq!(t.poll_timeout(), None);
        // Timeouts that last: down when the delay ends, at the deadline.
        t.handle_result(t0 + s(20), Timeout);
        assert_eq!(t.handle_timeout(t0 + s(29)), None);
        assert_eq!(
            t.handle_timeout(t0 + s(30)),
            Some(TrackChange {
                from: TrackState::Up,
                to: TrackState::Down
            })
        );
        // No delay up: back up at the first OK.
        assert_eq!(
            t.handle_result(t0 + s(31), Ok).map(|c| c.to),
            Some(TrackState::Up)
        );
    }
}
