//! Prometheus exposition of an [`SlaStatus`] (`GET /metrics` of
//! `cgw-sim sla`), rendered afresh from the snapshot on each scrape like
//! the gateway's (`crate::telemetry::metrics`).
//!
//! Every metric has the labels `operation`, `type` (`icmp-echo`...),
//! `target` and `tunnel` (1, 2 or empty). Gauges are over the operation's
//! sliding window; counters since start. Times are in seconds throughout
//! (the status table shows milliseconds).
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `cgwsim_sla_rtt_seconds` | histogram | every answered probe's RTT |
//! | `cgwsim_sla_rtt_avg_seconds`, `_min_`, `_max_`, `_stddev_` | gauge | RTT over the window |
//! | `cgwsim_sla_jitter_seconds` | gauge | mean jitter (IP SLA's, both directions) |
//! | `cgwsim_sla_interarrival_jitter_seconds` | gauge | RFC 3550 interarrival jitter |
//! | `cgwsim_sla_loss_percent` | gauge | loss over the window |
//! | `cgwsim_sla_mos` | gauge | the last cycle's MOS (udp-jitter with a codec) |
//! | `cgwsim_sla_icpif` | gauge | the last cycle's ICPIF |
//! | `cgwsim_sla_track_up` | gauge | 1 up, 0 down or unknown |
//! | `cgwsim_sla_return_code` | gauge, `code` label | 1 for the last cycle's code, 0 for the others |
//! | `cgwsim_sla_cycles_total` | counter | cycles finished |
//! | `cgwsim_sla_probes_sent_total`, `_received_`, `_lost_`, `_late_`, `_out_of_sequence_`, `_unreachable_` | counter | probes |
//!
//! Per tunnel (label `tunnel` only; the operations with that `tunnel`
//! summed, [`super::tunnel_health`]):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `cgwsim_sla_tunnel_up` | gauge | 1 if every operation's track is up |
//! | `cgwsim_sla_tunnel_operations` | gauge | operations pinned to the tunnel |
//! | `cgwsim_sla_tunnel_loss_percent` | gauge | their loss over their windows |
//! | `cgwsim_sla_tunnel_rtt_avg_seconds` | gauge | their mean RTT over their windows |

use std::fmt;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::snapshot::{Figures, Histogram, OpSnapshot, SlaStatus};
use crate::telemetry::metrics::Format;
use crate::telemetry::Snapshot;

/// The four labels of every metric.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    operation: String,
    #[prometheus(flatten)]
    rest: KindLabels,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    r#type: String,
    target: String,
    tunnel: String,
}

/// A tunnel's summary.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TunnelLabels {
    tunnel: String,
}

/// The labels and `code`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    #[prometheus(flatten)]
    op: OpLabels,
    code: String,
}

/// The return codes, as labels.
const CODES: [&str; 4] = ["OK", "OverThreshold", "Timeout", "Unreachable"];

type GaugeF = Gauge<f64, AtomicU64>;

/// Histograms from snapshot counts (prometheus-client's own `Histogram`
/// only grows by observation; ours are already counted).
#[derive(Debug, Default)]
struct RttHistograms(Vec<(OpLabels, Histogram)>);

impl EncodeMetric for RttHistograms {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        for (labels, h) in &self.0 {
            encoder
                .encode_family(labels)?
                .encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets(), None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl Snapshot for SlaStatus {
    fn render_metrics(&self, format: Format) -> String {
        let mut reg = Registry::with_prefix("cgwsim");
        register(&mut reg, self);
        crate::telemetry::metrics::encode(&reg, format)
    }
}

fn labels(o: &OpSnapshot) -> OpLabels {
    OpLabels {
        operation: o.name.clone(),
        rest: KindLabels {
            r#type: o.kind.clone(),
            target: o.target.clone(),
            tunnel: o.tunnel.map(|t| t.to_string()).unwrap_or_default(),
        },
    }
}

/// A window gauge: name, help, unit, value in its unit.
type WindowGauge = (
    &'static str,
    &'static str,
    Option<Unit>,
    fn(&OpSnapshot) -> Option<f64>,
);

/// A probe counter: name (without `_total`), help, value.
type ProbeCounter = (&'static str, &'static str, fn(&Figures) -> u64);

fn secs(ms: Option<f64>) -> Option<f64> {
    ms.map(|v| v / 1e3)
}

/// Registers `s`'s metrics in `parent` under the `sla` prefix: the SLA
/// daemon's whole exposition, and the keepalive's part of `run`'s.
pub fn register(parent: &mut Registry, s: &SlaStatus) {
    let reg = parent.sub_registry_with_prefix("sla");
    let hist = RttHistograms(
        s.operations
            .iter()
            .map(|o| (labels(o), o.rtt_histogram.clone()))
            .collect(),
    );
    reg.register_with_unit("rtt", "RTT of every answered probe", Unit::Seconds, hist);

    let gauges: [WindowGauge; 9] = [
        (
            "rtt_avg",
            "Mean RTT over the window",
            Some(Unit::Seconds),
            |o| secs(o.window.rtt_avg_ms),
        ),
        (
            "rtt_min",
            "Minimum RTT over the window",
            Some(Unit::Seconds),
            |o| secs(o.window.rtt_min_ms),
        ),
        (
            "rtt_max",
            "Maximum RTT over the window",
            Some(Unit::Seconds),
            |o| secs(o.window.rtt_max_ms),
        ),
        (
            "rtt_stddev",
            "Standard deviation of the RTT over the window",
            Some(Unit::Seconds),
            |o| secs(o.window.rtt_stddev_ms),
        ),
        (
            "jitter",
            "Mean jitter over the window (IP SLA's, both directions where timestamped)",
            Some(Unit::Seconds),
            |o| secs(o.window.jitter_avg_ms),
        ),
        (
            "interarrival_jitter",
            "RFC 3550 interarrival jitter",
            Some(Unit::Seconds),
            |o| Some(o.interarrival_jitter_ms / 1e3),
        ),
        ("loss", "Probe loss over the window, percent", None, |o| {
            o.window.loss_percent
        }),
        (
            "mos",
            "MOS of the last cycle (udp-jitter with a codec)",
            None,
            |o| o.mos,
        ),
        (
            "icpif",
            "ICPIF of the last cycle (udp-jitter with a codec)",
            None,
            |o| o.icpif.map(f64::from),
        ),
    ];
    for (name, help, unit, get) in gauges {
        let f = Family::<OpLabels, GaugeF>::default();
        // `loss` reads `cgwsim_sla_loss_percent`: prometheus-client has no
        // percent unit, so the name carries it.
        let name = if name == "loss" { "loss_percent" } else { name };
        match unit {
            Some(u) => reg.register_with_unit(name, help, u, f.clone()),
            None => reg.register(name, help, f.clone()),
        }
        for o in &s.operations {
            if let Some(v) = get(o) {
                f.get_or_create(&labels(o)).set(v);
            }
        }
    }

    let track = Family::<OpLabels, Gauge>::default();
    reg.register(
        "track_up",
        "1 if the operation's track is up, else 0",
        track.clone(),
    );
    let code = Family::<CodeLabels, Gauge>::default();
    reg.register(
        "return_code",
        "1 for the last cycle's return code, 0 for the others",
        code.clone(),
    );
    let cycles = Family::<OpLabels, Counter>::default();
    reg.register("cycles", "Cycles finished", cycles.clone());
    let counters: [ProbeCounter; 6] = [
        ("probes_sent", "Probes sent", |f| f.sent),
        ("probes_received", "Probes answered in time", |f| f.received),
        (
            "probes_lost",
            "Probes not answered within the timeout",
            |f| f.lost,
        ),
        ("probes_late", "Answers that came after the timeout", |f| {
            f.late
        }),
        (
            "probes_out_of_sequence",
            "Answers that came behind a later probe's",
            |f| f.out_of_sequence,
        ),
        ("probes_unreachable", "Probes refused or unreachable", |f| {
            f.unreachable
        }),
    ];
    let families: Vec<_> = counters
        .iter()
        .map(|(name, help, get)| {
            let f = Family::<OpLabels, Counter>::default();
            reg.register(*name, *help, f.clone());
            (f, get)
        })
        .collect();
    for o in &s.operations {
        let l = labels(o);
        track.get_or_create(&l).set(i64::from(o.track == "up"));
        for c in CODES {
            code.get_or_create(&CodeLabels {
                op: l.clone(),
                code: c.to_owned(),
            })
            .set(i64::from(o.last_code.as_deref() == Some(c)));
        }
        cycles.get_or_create(&l).inc_by(o.cycles);
        for (f, get) in &families {
            f.get_or_create(&l).inc_by(get(&o.total));
        }
    }
    tunnel_metrics(reg, s);
}

fn tunnel_metrics(reg: &mut Registry, s: &SlaStatus) {
    let up = Family::<TunnelLabels, Gauge>::default();
    reg.register(
        "tunnel_up",
        "1 if the track of every operation pinned to the tunnel is up",
        up.clone(),
    );
    let ops = Family::<TunnelLabels, Gauge>::default();
    reg.register(
        "tunnel_operations",
        "Operations pinned to the tunnel",
        ops.clone(),
    );
    let loss = Family::<TunnelLabels, GaugeF>::default();
    reg.register(
        "tunnel_loss_percent",
        "Loss of the tunnel's operations over their windows, percent",
        loss.clone(),
    );
    let rtt = Family::<TunnelLabels, GaugeF>::default();
    reg.register_with_unit(
        "tunnel_rtt_avg",
        "Mean RTT of the tunnel's operations over their windows",
        Unit::Seconds,
        rtt.clone(),
    );
    for t in s.tunnels() {
        let l = TunnelLabels {
            tunnel: t.tunnel.to_string(),
        };
        up.get_or_create(&l).set(i64::from(t.up));
        ops.get_or_create(&l).set(t.operations as i64);
        if let Some(v) = t.loss_percent {
            loss.get_or_create(&l).set(v);
        }
        if let Some(v) = secs(t.rtt_avg_ms) {
            rtt.get_or_create(&l).set(v);
        }
    }
}
