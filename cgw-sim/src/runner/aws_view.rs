//! The AWS side's view of a run, for the expectations and the report:
//! each AWS tunnel's log records, the notifications AWS issues, endpoint
//! replacements and MED bias changes (as timeline entries).

use std::time::{Duration, Instant};

use super::topology::Lab;
use super::TimelineEntry;
use crate::aws::log_emitter::{
    notifications, tunnel_log, up_changes, AwsNotice, LogInput, TimedRecord, TunnelLogSettings,
    LAB_EPOCH_MS,
};
use crate::aws::logs::{NON_REDUNDANT_TEXT, SINGLE_TUNNEL_EVENT_TYPE};
use crate::aws::DpdTimeoutAction;
use crate::node::TunnelGateway;

/// A notification of the AWS side, as the runner observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Notice {
    /// From the tunnels' states ([`notifications`]).
    Aws(AwsNotice),
    /// Tunnel `n`'s endpoint was replaced (maintenance).
    EndpointReplaced(u8),
}

/// What the AWS side logged and notified during a run.
pub(super) struct AwsView {
    /// Per tunnel (index 0 and 1): its log records.
    pub logs: [Vec<TimedRecord>; 2],
    /// Notifications, in time order.
    pub notices: Vec<(Duration, Notice)>,
    /// Timeline entries: notifications (other than tunnel-down, which the
    /// tunnel's own entries show), replacements, MED bias changes.
    pub timeline: Vec<TimelineEntry>,
}

/// One AWS tunnel's inputs in time order: the events of its gateways
/// (replaced or restarted ones first), with the replacements between.
fn inputs(lab: &Lab, epoch: Instant, i: usize) -> Vec<(Duration, LogInput)> {
    let id = lab.aws[i];
    let mut v: Vec<(Instant, u8, LogInput)> = lab
        .stashed
        .iter()
        .filter(|s| s.0 == id)
        .map(|s| (s.1.at, 0, LogInput::Gateway(s.1.kind.clone())))
        .collect();
    v.extend(
        lab.aws_side
            .replaced
            .iter()
            .filter(|r| r.0 == i)
            .map(|r| (r.1, 1, LogInput::EndpointReplaced)),
    );
    if let Some(g) = lab.sim.node::<TunnelGateway>(id) {
        v.extend(
            g.events()
                .iter()
                .map(|e| (e.at, 2, LogInput::Gateway(e.kind.clone()))),
        );
    }
    // Stable: a gateway's own events keep their order.
    v.sort_by_key(|e| (e.0, e.1));
    v.into_iter()
        .map(|(at, _, input)| (at.saturating_duration_since(epoch), input))
        .collect()
}

fn entry(at: Duration, tunnel: u8, event: String) -> TimelineEntry {
    TimelineEntry {
        at_ms: at.as_millis() as u64,
        side: "aws".into(),
        tunnel,
        event,
    }
}

/// Collects the AWS side's view of a run that ended at `end`.
pub(super) fn collect(lab: &Lab, epoch: Instant, end: Duration) -> AwsView {
    let mut logs: [Vec<TimedRecord>; 2] = [Vec::new(), Vec::new()];
    let mut ups: [Vec<(Duration, bool)>; 2] = [Vec::new(), Vec::new()];
    for i in 0..2 {
        let events = inputs(lab, epoch, i);
        // The customer gateway IP AWS is configured with is its tunnel's peer.
        let cgw = lab
            .gateways
            .iter()
            .find(|g| g.0 == ["aws1", "aws2"][i])
            .and_then(|g| g.2.tunnels.first())
            .map(|t| std::net::IpAddr::V4(t.peer));
        let Some(cgw) = cgw else { continue };
        let settings = TunnelLogSettings {
            cgw,
            dpd_enabled: lab.aws_side.options[i].dpd_timeout_action != DpdTimeoutAction::None,
            epoch_ms: LAB_EPOCH_MS,
        };
        logs[i] = tunnel_log(&settings, &events);
        ups[i] = up_changes(&events);
    }
    let mut notices: Vec<(Duration, Notice)> = notifications([&ups[0], &ups[1]], end)
        .into_iter()
        .map(|(t, n)| (t, Notice::Aws(n)))
        .collect();
    let mut timeline = Vec::new();
    for (i, at) in &lab.aws_side.replaced {
        let at = at.saturating_duration_since(epoch);
        notices.push((at, Notice::EndpointReplaced(*i as u8 + 1)));
        timeline.push(entry(
            at,
            *i as u8 + 1,
            "endpoint replaced (maintenance): every SA lost, waiting for the CGW".into(),
        ));
    }
    notices.sort_by_key(|n| n.0);
    let up_at = |i: usize, t: Duration| ups[i].iter().rev().find(|c| c.0 <= t).is_some_and(|c| c.1);
    for (at, n) in &notices {
        if *n == Notice::Aws(AwsNotice::NonRedundant) {
            let down = if up_at(0, *at) { 2 } else { 1 };
            timeline.push(entry(
                *at,
                down,
                format!(
                    "notification non-redundant ({SINGLE_TUNNEL_EVENT_TYPE}: {NON_REDUNDANT_TEXT})"
                ),
            ));
        }
    }
    for (at, i, bias) in &lab.aws_side.med_changes {
        let text = if *bias == 0 {
            "MED bias back to 0 (maintenance over)".to_string()
        } else {
            format!(
                "MED bias {bias} (tunnel {} in maintenance)",
                if *i == 0 { 2 } else { 1 }
            )
        };
        timeline.push(entry(
            at.saturating_duration_since(epoch),
            *i as u8 + 1,
            text,
        ));
    }
    AwsView {
        logs,
        notices,
        timeline,
    }
}
