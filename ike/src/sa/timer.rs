//! All timers of an IKE SA in one table: the engine asks it for the next
//! deadline and which timers have expired, and never reads a clock.

use std::time::Instant;

/// A timer of an IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Retransmit the outstanding request (or give up).
    Retransmit = 0,
    /// A responder's IKE SA that was never authenticated is dropped.
    HalfOpen = 1,
    /// The IKE SA's soft lifetime: start an IKE rekey.
    IkeRekey = 2,
    /// The IKE SA's hard lifetime.
    IkeExpire = 3,
    /// Send a NAT keepalive (we are behind a NAT and have been quiet).
    NatKeepalive = 4,
    /// Dead peer detection: the idle check, or the deadline of an
    /// unanswered probe (see `liveness.rs`).
    Liveness = 5,
}

const COUNT: usize = 6;
const ALL: [Timer; COUNT] = [
    Timer::Retransmit,
    Timer::HalfOpen,
    Timer::IkeRekey,
    Timer::IkeExpire,
    Timer::NatKeepalive,
    Timer::Liveness,
];

/// Deadlines, one slot per [`Timer`].
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    slots: [Option<Instant>; COUNT],
}

impl TimerTable {
    /// Arms (or re-arms) `timer` for `at`.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer as usize] = Some(at);
    }
    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }
    /// Disarms everything.
    pub fn stop_all(&mut self) {
        self.slots = [None; COUNT];
    }
    /// The deadline of `timer`, if armed.
    pub fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer as usize]
    }
    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }
    /// Disarms and returns one timer whose deadline is at or before `now`.
    pub fn expired(&mut self, now: Instant) -> Option<Timer> {
        let t = ALL
            .into_iter()
            .find(|t| self.slots[*t as usize].is_some_and(|d| d <= now))?;
        self.slots[t as usize] = None;
        Some(t)
    }
}
