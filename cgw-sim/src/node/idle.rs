//! A tunnel's idle timer: the vendor-specific "VPN idle time" of many
//! customer gateways (Cisco ASA's `vpn-idle-timeout`, the idle timeouts of
//! Palo Alto and Fortinet devices). When no traffic has crossed the tunnel
//! in either direction for the timeout, the gateway deletes the tunnel's
//! IKE SA (with a Delete, so the peer logs it). AWS never initiates with
//! its default startup action, so the tunnel then stays down until traffic
//! for it arrives at the gateway: that traffic starts IKE again (on-demand
//! initiation, as route-based devices do) and is lost meanwhile.
//!
//! Only inner packets count as traffic: IKE messages (DPD included) do not
//! keep a tunnel up, as on those devices.

use std::time::{Duration, Instant};

/// Where a tunnel's idle timer stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum IdleState {
    /// No timer running (the tunnel is down for another reason, or has no
    /// idle timeout).
    #[default]
    Off,
    /// The tunnel is up; traffic last crossed it at this instant (or it
    /// came up then).
    Watching(Instant),
    /// The timeout expired: the IKE SA's Delete is on its way. The `Down`
    /// event that follows is reported as an idle timeout.
    Deleting,
    /// The tunnel went down by idle timeout; the next packet routed into it
    /// starts IKE again.
    AwaitingTraffic,
}

/// One tunnel's idle timer.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct IdleTimer {
    /// The configured timeout; `None`: the tunnel never idles out.
    pub timeout: Option<Duration>,
    pub state: IdleState,
}

impl IdleTimer {
    /// A timer for this timeout (off until the tunnel comes up).
    pub fn new(timeout: Option<Duration>) -> IdleTimer {
        IdleTimer {
            timeout,
            state: IdleState::Off,
        }
    }

    /// The tunnel came up at `now`: the idle period starts.
    pub fn on_up(&mut self, now: Instant) {
        if self.timeout.is_some() {
            self.state = IdleState::Watching(now);
        }
    }

    /// An inner packet crossed the tunnel at `now`.
    pub fn on_traffic(&mut self, now: Instant) {
        if let IdleState::Watching(t) = &mut self.state {
            *t = (*t).max(now);
        }
    }

    /// When the timeout expires, while watching.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.state, self.timeout) {
            (IdleState::Watching(t), Some(d)) => Some(t + d),
            _ => None,
        }
    }

    /// Whether the timeout expired by `now`; if so the timer moves to
    /// [`IdleState::Deleting`] and returns how long the tunnel was idle.
    pub fn expire(&mut self, now: Instant) -> Option<Duration> {
        let IdleState::Watching(last) = self.state else {
            return None;
        };
        let timeout = self.timeout?;
        let idle = now.saturating_duration_since(last);
        if idle < timeout {
            return None;
        }
        self.state = IdleState::Deleting;
        Some(idle)
    }

    /// The tunnel went down: an idle-timeout Delete leaves the tunnel
    /// waiting for traffic; any other cause stops the timer. Returns true
    /// if the tunnel went down by idle timeout.
    pub fn on_down(&mut self) -> bool {
        let idle = self.state == IdleState::Deleting;
        self.state = if idle {
            IdleState::AwaitingTraffic
        } else {
            IdleState::Off
        };
        idle
    }

    /// Traffic arrived for the tunnel while it is down: true if this starts
    /// IKE again (once: the timer is off until the tunnel comes up).
    pub fn wants_initiation(&mut self) -> bool {
        if self.state == IdleState::AwaitingTraffic {
            self.state = IdleState::Off;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idles_out_after_the_timeout_without_traffic_only() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut t = IdleTimer::new(Some(s(60)));
        assert_eq!(t.deadline(), None);
        t.on_up(t0);
        assert_eq!(t.deadline(), Some(t0 + s(60)));
        t.on_traffic(t0 + s(30));
        assert_eq!(t.expire(t0 + s(60)), None);
        assert_eq!(t.expire(t0 + s(90)), Some(s(60)));
        assert_eq!(t.state, IdleState::Deleting);
        assert!(t.on_down());
        assert!(t.wants_initiation());
        assert!(!t.wants_initiation());
    }

    #[test]
    fn no_timeout_never_expires_and_other_downs_stop_the_timer() {
        let t0 = Instant::now();
        let mut t = IdleTimer::new(None);
        t.on_up(t0);
        assert_eq!(t.expire(t0 + Duration::from_secs(1_000_000)), None);
        let mut t = IdleTimer::new(Some(Duration::from_secs(5)));
        t.on_up(t0);
        assert!(!t.on_down());
        assert!(!t.wants_initiation());
    }
}
