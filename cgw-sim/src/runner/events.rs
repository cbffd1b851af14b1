//! What a gateway's tunnel events say, for the report and the
//! expectations: a timeline entry and, for failures, a diagnosis per event.
//! The simulated lab feeds the gateways' events, the kernel lab the
//! daemons' event journals: one reading for both.

use std::net::IpAddr;
use std::time::Duration;

use super::observed::{Diagnosed, Observed};
use super::{diagnose_down_cause, TimelineEntry};
use crate::aws::StartupAction;
use crate::diagnosis::{Context, Diagnosis};
use crate::node::TunnelEventKind;
use crate::scenario::Scenario;

/// Reads one tunnel event of `side` ("cgw" or "aws"), at `at` since the
/// start, of tunnel `index` (0 or 1) of its gateway (`fixed`: the tunnel
/// number an AWS endpoint's single tunnel stands for), into `obs`.
pub(super) fn observe(
    scenario: &Scenario,
    side: &'static str,
    ctx: &Context,
    fixed: Option<u8>,
    (at, index, kind): (Duration, usize, &TunnelEventKind),
    obs: &mut Observed,
) {
    let vpn = scenario.vpn_connection();
    let tunnel = fixed.unwrap_or(index as u8 + 1);
    let text = match kind {
        TunnelEventKind::IkeUp {
            nat_t_detected: true,
        } => "phase 1 established (NAT-T)".to_string(),
        TunnelEventKind::IkeUp { .. } => "phase 1 established".to_string(),
        // A rekey's old pair; the rekey itself is on the timeline.
        TunnelEventKind::ChildRemoved { .. } => {
            if side == "cgw" {
                obs.cgw_events.push((at, index, kind.clone()));
            }
            return;
        }
        TunnelEventKind::Up => "phase 2 established (up)".to_string(),
        TunnelEventKind::ChildRekeyed { .. } => "child SA rekeyed".to_string(),
        TunnelEventKind::IkeRekeyed => "IKE SA rekeyed".to_string(),
        TunnelEventKind::ChildRekeyCollision {
            we_delete_redundant,
        } => format!(
            "child SA rekey collision: {} deletes the redundant pair",
            if *we_delete_redundant {
                side
            } else {
                "the peer"
            }
        ),
        TunnelEventKind::ChildRefused { failure, tsi, tsr } => {
            let d = Diagnosis::from_additional_child_failure(failure, tsi, tsr, ctx);
            let text = format!("additional child SA refused [{}]: {failure}", d.code());
            obs.diagnoses.push(Diagnosed {
                at,
                tunnel,
                side,
                diagnosis: d,
            });
            text
        }
        TunnelEventKind::Down { cause, was_up } => {
            let mut ctx = ctx.clone();
            let aws = [
                scenario.topology.aws_tunnel1_address,
                scenario.topology.aws_tunnel2_address,
            ];
            ctx.aws_address = Some(IpAddr::V4(aws[usize::from(tunnel == 2)]));
            // What this tunnel's options accept, not AWS's defaults:
            // a narrowed tunnel refuses what the defaults allow.
            let opts = &vpn.tunnels[usize::from(tunnel == 2)];
            ctx.aws_ike = opts.ike_proposals();
            ctx.aws_esp = opts.esp_proposals();
            ctx.aws_initiates = opts.startup_action == StartupAction::Start;
            let (code, d) = diagnose_down_cause(cause, &ctx);
            if let Some(d) = d {
                obs.diagnoses.push(Diagnosed {
                    at,
                    tunnel,
                    side,
                    diagnosis: d,
                });
            }
            format!("{} [{code}]", if *was_up { "down" } else { "failed" })
        }
    };
    obs.timeline.push(TimelineEntry {
        at_ms: at.as_millis() as u64,
        side: side.to_string(),
        tunnel,
        event: text,
    });
    if side == "cgw" {
        obs.cgw_events.push((at, index, kind.clone()));
    }
}

/// The diagnoses in time order, one line each: a flapping session repeats
/// one diagnosis many times, so each is said once, with how often and
/// until when.
pub(super) fn summarize_diagnoses(diagnoses: &mut [Diagnosed]) -> Vec<String> {
    let mut seen: Vec<(String, Duration, Duration, usize)> = Vec::new();
    diagnoses.sort_by_key(|d| d.at);
    for d in diagnoses.iter() {
        let key = format!("tunnel {} ({}): {}", d.tunnel, d.side, d.diagnosis);
        match seen.iter_mut().find(|s| s.0 == key) {
            Some(s) => {
                s.2 = d.at;
                s.3 += 1;
            }
            None => seen.push((key, d.at, d.at, 1)),
        }
    }
    let mut out = Vec::new();
    for (key, first, last, n) in seen {
        let times = if n > 1 {
            format!(
                " [seen {n} times, last at {}]",
                crate::scenario::format_duration(last)
            )
        } else {
            String::new()
        };
        let (head, rest) = key.split_once('\n').unwrap_or((&key, ""));
        out.push(format!(
            "{} {head}{times}\n{rest}",
            crate::scenario::format_duration(first)
        ));
    }
    out
}
