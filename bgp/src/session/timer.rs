//! Every timer of a BGP session in one table: the session asks it for the
//! next deadline and which timers have expired, and never reads a clock.

use std::time::Instant;

/// A timer of a session (RFC 4271 8.1.3, plus the automatic restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// ConnectRetryTimer: try the TCP connection again.
    ConnectRetry = 0,
    /// HoldTimer: the peer has been silent too long (4 minutes in
    /// OpenSent, the negotiated hold time after).
    Hold = 1,
    /// KeepaliveTimer: send a KEEPALIVE.
    Keepalive = 2,
    /// IdleHoldTimer: restart automatically after an error.
    IdleHold = 3,
}

const COUNT: usize = 4;
const ALL: [Timer; COUNT] = [
    Timer::ConnectRetry,
    Timer::Hold,
    Timer::Keepalive,
    Timer::IdleHold,
];

/// Deadlines, one slot per [`Timer`].
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; COUNT],
}

impl TimerTable {
    /// Arms (or re-arms) `timer` for `at`.
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer as usize] = Some(at);
    }
    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }
    /// Disarms everything.
    pub(crate) fn stop_all(&mut self) {
        self.slots = [None; COUNT];
    }
    /// The deadline of `timer`, if armed.
    pub(crate) fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer as usize]
    }
    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }
    /// Disarms and returns one timer whose deadline is at or before `now`.
    pub(crate) fn expired(&mut self, now: Instant) -> Option<Timer> {
        let t = ALL
            .into_iter()
            .find(|t| self.slots[*t as usize].is_some_and(|d| d <= now))?;
        self.slots[t as usize] = None;
        Some(t)
    }
}
