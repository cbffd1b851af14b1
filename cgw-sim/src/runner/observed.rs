//! What one run observed, for the expectations.

use std::time::Duration;

use lab::wire::Prefix as LabPrefix;

use super::aws_view::Notice;
use super::{TimelineEntry, PING_TIMEOUT};
use crate::aws::log_emitter::TimedRecord;
use crate::diagnosis::Diagnosis;
use crate::node::TunnelEventKind;

/// One ping probe from the on-prem host to the VPC host.
#[derive(Debug, Clone, Copy)]
pub(super) struct Probe {
    /// Sent at (since the start).
    pub sent: Duration,
    /// Reply received at (since the start), if any.
    pub reply: Option<Duration>,
    /// ICMP "fragmentation needed" about it received at, if any.
    pub frag_needed: Option<Duration>,
}

impl Probe {
    /// Whether the reply came within [`PING_TIMEOUT`].
    pub fn answered(&self) -> bool {
        self.reply.is_some_and(|r| r <= self.sent + PING_TIMEOUT)
    }

    /// "reply", "frag-needed" (an ICMP "fragmentation needed" within
    /// [`PING_TIMEOUT`] and no reply) or "timeout".
    pub fn outcome(&self) -> &'static str {
        if self.answered() {
            "reply"
        } else if self
            .frag_needed
            .is_some_and(|r| r <= self.sent + PING_TIMEOUT)
        {
            "frag-needed"
        } else {
            "timeout"
        }
    }

    /// When the outcome was known: the reply or the ICMP message, or the
    /// end of the wait.
    pub fn decided(&self) -> Duration {
        match self.outcome() {
            "reply" => self.reply.unwrap_or(self.sent),
            "frag-needed" => self.frag_needed.unwrap_or(self.sent),
            _ => self.sent + PING_TIMEOUT,
        }
    }
}

/// A diagnosis produced during the run.
#[derive(Debug, Clone)]
pub(super) struct Diagnosed {
    pub at: Duration,
    /// Tunnel number (1 or 2).
    pub tunnel: u8,
    /// "cgw" or "aws".
    pub side: &'static str,
    pub diagnosis: Diagnosis,
}

/// Everything observed in one run, for the expectations.
pub(super) struct Observed {
    pub end: Duration,
    /// The CGW's tunnel events, with times since the start; tunnel index 0/1.
    pub cgw_events: Vec<(Duration, usize, TunnelEventKind)>,
    /// The default pings (56 bytes, DF clear).
    pub probes: Vec<Probe>,
    /// The other ping streams: (ICMP data size, DF, probes).
    pub sized: Vec<super::pings::SizedProbes>,
    pub diagnoses: Vec<Diagnosed>,
    pub timeline: Vec<TimelineEntry>,
    /// Per tick: the CGW's routes (prefix, tunnel index) and the VPC route
    /// table's prefixes.
    pub routes: Vec<RouteSnapshot>,
    /// When the first fault that cuts tunnel 1's path (a `link_down` or a
    /// `block`) was applied.
    pub path_failed: Option<Duration>,
    /// The `tcp` expectations' connection attempts.
    pub tcp: super::tcp_checks::TcpChecks,
    /// Per AWS tunnel (index 0 and 1): its log records.
    pub aws_logs: [Vec<TimedRecord>; 2],
    /// Per AWS tunnel: its BGP log records (with `routing = "bgp"`).
    pub aws_bgp_logs: [Vec<crate::aws::bgp_log_emitter::TimedBgpRecord>; 2],
    /// The AWS side's notifications, in time order.
    pub aws_notices: Vec<(Duration, Notice)>,
}

/// The route tables at one tick.
pub(super) struct RouteSnapshot {
    pub at: Duration,
    pub cgw: Vec<(LabPrefix, usize)>,
    /// The VPC route table: prefix and, when AWS chose one by BGP, the
    /// tunnel index.
    pub vpc: Vec<(LabPrefix, Option<usize>)>,
    /// The CGW's BGP session state per tunnel (with `routing = "bgp"`).
    pub bgp: [Option<bgp::session::State>; 2],
    /// Each `[[cgw.probe]]`'s figures (simulated lab).
    pub probes: Vec<super::probes::ProbeSample>,
}
