//! Structured log lines for what the engines report: tunnel events of a
//! gateway and BGP speaker events, with the tunnel number as a field. Key
//! material never appears: the events carry SPIs, algorithms and causes.

use bgp::session::SessionEvent;
use bgp::speaker::SpeakerEvent;

use crate::node::{GatewayEvent, TunnelEventKind};

/// Logs one tunnel event of `role` ("cgw", "aws") at the matching level.
/// `tunnel` is the tunnel's number (1 or 2).
pub fn log_gateway_event(role: &str, tunnel: usize, e: &GatewayEvent) {
    match &e.kind {
        TunnelEventKind::IkeUp { nat_t_detected } => {
            tracing::info!(role, tunnel, nat_t_detected, "IKE SA established")
        }
        TunnelEventKind::Up => tracing::info!(role, tunnel, "tunnel up: child SA installed"),
        TunnelEventKind::ChildRekeyed { spi_in, replaces } => tracing::info!(
            role,
            tunnel,
            spi_in = format!("{spi_in:08x}"),
            replaces = format!("{replaces:08x}"),
            "child SA rekeyed"
        ),
        TunnelEventKind::IkeRekeyed => tracing::info!(role, tunnel, "IKE SA rekeyed"),
        TunnelEventKind::ChildRefused { failure, .. } => {
            tracing::warn!(role, tunnel, reason = %failure, "additional child SA refused")
        }
        TunnelEventKind::ChildRekeyCollision {
            we_delete_redundant,
        } => {
            tracing::info!(
                role,
                tunnel,
                we_delete_redundant,
                "child SA rekey collision"
            )
        }
        TunnelEventKind::ChildRemoved { spi_out, by } => tracing::info!(
            role,
            tunnel,
            spi_out = spi_out.map(|s| format!("{s:08x}")),
            by = ?by,
            "child SA removed"
        ),
        TunnelEventKind::Down { cause, was_up } => {
            tracing::warn!(role, tunnel, was_up, cause = ?cause, "tunnel down")
        }
    }
}

/// Logs one BGP speaker event; `tunnel` is the session's tunnel number.
pub fn log_speaker_event(role: &str, tunnel: usize, e: &SpeakerEvent) {
    match e {
        SpeakerEvent::Session { event, .. } => match event {
            SessionEvent::StateChanged { from, to } => {
                tracing::info!(role, tunnel, from = ?from, to = ?to, "BGP state")
            }
            SessionEvent::Established { .. } => {
                tracing::info!(role, tunnel, "BGP session established")
            }
            SessionEvent::NotificationSent(n) => {
                tracing::warn!(role, tunnel, notification = ?n, "BGP NOTIFICATION sent")
            }
            SessionEvent::NotificationReceived(n) => {
                tracing::warn!(role, tunnel, notification = ?n, "BGP NOTIFICATION received")
            }
            other => tracing::debug!(role, tunnel, event = ?other, "BGP"),
        },
        SpeakerEvent::MaxPrefixExceeded { error, .. } => {
            tracing::warn!(role, tunnel, error = ?error, "BGP prefix limit exceeded")
        }
        SpeakerEvent::SendFailed { reason, .. } => {
            tracing::warn!(role, tunnel, %reason, "BGP UPDATE not sent")
        }
        SpeakerEvent::Rib(r) => tracing::debug!(role, tunnel, event = ?r, "RIB"),
    }
}
