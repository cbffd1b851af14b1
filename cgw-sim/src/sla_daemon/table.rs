//! The SLA status as a text table (`cgw-sim sla status`), in the
//! gateway's table style: one row per operation, milliseconds.

use std::fmt::Write;

use super::snapshot::SlaStatus;
use crate::telemetry::table::{clean, dash, section};

fn ms(v: Option<f64>) -> String {
    v.map_or_else(dash, |v| format!("{v:.2}"))
}

impl SlaStatus {
    /// The snapshot as a readable table (window figures; totals in the
    /// JSON form).
    pub fn table(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "cgw-sim sla, up {:.0}s, {} operations, reaction commands {} started, {} dropped",
            self.uptime_secs,
            self.operations.len(),
            self.hooks_started,
            self.hooks_dropped
        );
        let _ = self.write_tunnels(&mut out);
        let _ = self.write_operations(&mut out, "Operations (sliding window)");
        out
    }

    /// The per-tunnel summary (none when no operation names a tunnel).
    fn write_tunnels(&self, out: &mut String) -> std::fmt::Result {
        let tunnels = self.tunnels();
        if tunnels.is_empty() {
            return Ok(());
        }
        let rows = tunnels
            .iter()
            .map(|t| {
                vec![
                    t.tunnel.to_string(),
                    if t.up { "up" } else { "DOWN" }.to_owned(),
                    format!("{}/{}", t.tracks_up, t.operations),
                    t.loss_percent.map_or_else(dash, |l| format!("{l:.1}")),
                    ms(t.rtt_avg_ms),
                ]
            })
            .collect();
        section(
            out,
            "Tunnels (sliding window)",
            &["TUNNEL", "HEALTH", "TRACKS UP", "LOSS%", "RTT AVG ms"],
            rows,
        )
    }

    /// The operations' section under `title` (also `cgw-sim status`'s
    /// keepalive section).
    pub(crate) fn write_operations(&self, out: &mut String, title: &str) -> std::fmt::Result {
        let rows = self
            .operations
            .iter()
            .map(|o| {
                let w = &o.window;
                vec![
                    clean(&o.name),
                    o.kind.clone(),
                    o.target.clone(),
                    o.tunnel.map_or_else(dash, |t| t.to_string()),
                    o.last_code.clone().unwrap_or_else(dash),
                    o.track.clone(),
                    o.cycles.to_string(),
                    format!("{}/{}", w.received, w.sent),
                    w.loss_percent.map_or_else(dash, |l| format!("{l:.1}")),
                    format!(
                        "{}/{}/{}",
                        ms(w.rtt_min_ms),
                        ms(w.rtt_avg_ms),
                        ms(w.rtt_max_ms)
                    ),
                    ms(w.jitter_avg_ms),
                    o.mos.map_or_else(dash, |m| format!("{m:.2}")),
                    if o.raised.is_empty() {
                        dash()
                    } else {
                        clean(&o.raised.join(","))
                    },
                ]
            })
            .collect();
        section(
            out,
            title,
            &[
                "OPERATION",
                "TYPE",
                "TARGET",
                "TUNNEL",
                "LAST",
                "TRACK",
                "CYCLES",
                "RECV/SENT",
                "LOSS%",
                "RTT MIN/AVG/MAX ms",
                "JITTER ms",
                "MOS",
                "RAISED",
            ],
            rows,
        )
    }
}
