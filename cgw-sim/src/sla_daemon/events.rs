//! The JSON-lines event stream (`sla.events_path`, standard output by
//! default): one object per finished cycle, track change and reaction,
//! each with `ts` (RFC 3339, UTC, ms) and `event` (`cycle`, `track`,
//! `reaction`).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Value};

use sla::config::OperationConfig;
use sla::engine::SlaEvent;
use sla::reaction::Measure;

use super::snapshot::Figures;

/// Where events go.
#[derive(Debug)]
pub enum EventSink {
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(File),
    /// The log (`cgw-sim run`'s keepalive): one info line per event.
    Log,
    /// Nowhere: the kernel lab reads the published status instead.
    Discard,
}

impl EventSink {
    /// Standard output, or `path` opened for appending (created if absent).
    pub fn open(path: Option<&Path>) -> io::Result<EventSink> {
        match path {
            None => Ok(EventSink::Stdout),
            Some(p) => Ok(EventSink::File(
                OpenOptions::new().create(true).append(true).open(p)?,
            )),
        }
    }

    /// Writes one line (a failure is logged, never fatal: probing goes on).
    pub fn write(&mut self, v: &Value) {
        let mut line = v.to_string();
        line.push('\n');
        let r = match self {
            EventSink::Stdout => io::stdout().lock().write_all(line.as_bytes()),
            EventSink::File(f) => f.write_all(line.as_bytes()),
            EventSink::Log => {
                tracing::info!(sla = %v, "keepalive");
                Ok(())
            }
            EventSink::Discard => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot write an SLA event");
        }
    }
}

/// The current time as RFC 3339 (`2026-01-02T03:04:05.678Z`).
pub fn now_rfc3339() -> String {
    let ms = super::sockopt::realtime_ns() / 1_000_000;
    crate::aws::logs::format_timestamp(ms).replacen(' ', "T", 1)
}

/// The measure's name in events and hook environments.
pub fn measure_name(m: Measure) -> &'static str {
    match m {
        Measure::Rtt => "rtt",
        Measure::Jitter => "jitter",
        Measure::Loss => "loss",
        Measure::Mos => "mos",
        Measure::Timeout => "timeout",
    }
}

/// The JSON line of `event` of operation `cfg`.
pub fn to_json(cfg: &OperationConfig, event: &SlaEvent) -> Value {
    let mut v = json!({
        "ts": now_rfc3339(),
        "operation": cfg.name,
        "type": cfg.kind.name(),
        "target": cfg.target.to_string(),
        "tunnel": cfg.tunnel,
    });
    let extra = match event {
        SlaEvent::Cycle {
            code, stats, voice, ..
        } => {
            let f = Figures::from(stats.as_ref());
            json!({
                "event": "cycle",
                "code": code.name(),
                "sent": f.sent,
                "received": f.received,
                "lost": f.lost,
                "unreachable": f.unreachable,
                "late": f.late,
                "out_of_sequence": f.out_of_sequence,
                "loss_percent": f.loss_percent,
                "rtt_min_ms": f.rtt_min_ms,
                "rtt_avg_ms": f.rtt_avg_ms,
                "rtt_max_ms": f.rtt_max_ms,
                "rtt_stddev_ms": f.rtt_stddev_ms,
                "jitter_ms": f.jitter_avg_ms,
                "jitter_sd_ms": f.jitter_sd_ms,
                "jitter_ds_ms": f.jitter_ds_ms,
                "mos": voice.map(|v| v.mos),
                "icpif": voice.map(|v| v.icpif),
            })
        }
        SlaEvent::Track { from, to, .. } => json!({
            "event": "track",
            "from": from,
            "to": to,
        }),
        SlaEvent::Reaction { event, .. } => json!({
            "event": "reaction",
            "reaction": event.reaction,
            "measure": measure_name(event.measure),
            "state": if event.raised { "raised" } else { "cleared" },
            "value": event.value,
            "threshold": event.threshold,
        }),
    };
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}
