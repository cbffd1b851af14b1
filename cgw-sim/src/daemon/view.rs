//! What a running daemon shows: its tunnels, routes, diagnoses, AWS-format
//! records and I/O counters, published on a `tokio::sync::watch` channel
//! after every change (the status socket, `/metrics`, the kernel lab and
//! the tests read it from other threads).

use std::time::Instant;

use crate::scenario::Prefix;

use super::cgw::TunnelView;
use crate::node::TunnelEventKind;
use crate::os::site::DriverStats;

/// A snapshot of a daemon. Cheap to clone for the sizes involved (two
/// tunnels, a route table of at most a few thousand prefixes).
#[derive(Debug, Clone, Default)]
pub struct View {
    /// `"cgw"` or `"aws"`.
    pub role: &'static str,
    /// Tunnel 1 and tunnel 2.
    pub tunnels: [TunnelView; 2],
    /// Kernel routes installed (prefix, TUN device).
    pub routes: Vec<(Prefix, String)>,
    /// Failures diagnosed: (tunnel number, code, symptom with the top
    /// cause's evidence, e.g. the DH groups offered and accepted).
    pub diagnoses: Vec<(usize, &'static str, String)>,
    /// AWS-format records written (the mock), per tunnel.
    pub records: [Vec<String>; 2],
    /// The I/O counters.
    pub stats: DriverStats,
    /// Seconds since the daemon started.
    pub uptime: f64,
    /// The tunnel events so far, oldest first (at most [`EVENT_JOURNAL`],
    /// the oldest dropped): tunnel index (0 or 1), when, what. The kernel
    /// lab judges a scenario's phase expectations on these, exactly as the
    /// simulated lab judges the gateways' events.
    pub events: Vec<(usize, Instant, TunnelEventKind)>,
}

/// How many tunnel events a view keeps (a daemon running for weeks rekeys
/// thousands of times; a scenario sees a few dozen).
pub const EVENT_JOURNAL: usize = 1024;

/// Appends an event to a journal, dropping the oldest past [`EVENT_JOURNAL`].
pub fn journal(
    events: &mut Vec<(usize, Instant, TunnelEventKind)>,
    tunnel: usize,
    at: Instant,
    kind: &TunnelEventKind,
) {
    if events.len() >= EVENT_JOURNAL {
        events.remove(0);
    }
    events.push((tunnel, at, kind.clone()));
}

/// The sending side a controller publishes on.
pub type ViewTx = tokio::sync::watch::Sender<View>;
/// The receiving side.
pub type ViewRx = tokio::sync::watch::Receiver<View>;

/// A new channel with an empty view of `role`.
pub fn channel(role: &'static str) -> (ViewTx, ViewRx) {
    tokio::sync::watch::channel(View {
        role,
        ..View::default()
    })
}
