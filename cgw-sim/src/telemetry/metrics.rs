//! Prometheus exposition of a [`Status`] (`GET /metrics`).
//!
//! Every scrape renders the latest snapshot afresh: the daemon's state
//! lives in the snapshot, not in long-lived metric objects, so a metric
//! never goes stale and counters are exactly the snapshot's cumulative
//! values (monotonic as long as the snapshot's are: [`TunnelTotals`] and
//! [`Status::counters`] only grow).
//!
//! Metrics (prefix `cgwsim_`; `tunnel` is 1 or 2, `peer` the tunnel's
//! outside peer address, or the BGP neighbour's address for `bgp_*`):
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `cgwsim_info` | gauge | `role`, `name`, `outside_address`, `version` | always 1 |
//! | `cgwsim_uptime_seconds` | gauge | | time since the daemon started |
//! | `cgwsim_tunnel_up` | gauge | `tunnel`, `peer` | 1 if a child SA is installed |
//! | `cgwsim_tunnel_state` | gauge | `tunnel`, `peer`, `state` | 1 for the current state (`down`, `connecting`, `up`), 0 for the others |
//! | `cgwsim_tunnel_mtu_bytes` | gauge | `tunnel`, `peer` | inner MTU, once known |
//! | `cgwsim_tunnel_established_total` | counter | `tunnel`, `peer` | times the tunnel came up |
//! | `cgwsim_ike_sa_age_seconds` | gauge | `tunnel`, `peer` | age of the current IKE SA (absent without one) |
//! | `cgwsim_ike_sa_rekeys_total` | counter | `tunnel`, `peer` | IKE SA rekeys |
//! | `cgwsim_child_sas` | gauge | `tunnel`, `peer` | installed child SAs (2 during a rekey) |
//! | `cgwsim_child_sa_rekeys_total` | counter | `tunnel`, `peer` | child SA rekeys |
//! | `cgwsim_esp_packets_total` | counter | `tunnel`, `peer`, `direction` (`in`, `out`) | ESP packets |
//! | `cgwsim_esp_bytes_total` | counter | `tunnel`, `peer`, `direction` | ESP payload bytes |
//! | `cgwsim_bgp_session_up` | gauge | `tunnel`, `peer` | 1 if Established |
//! | `cgwsim_bgp_session_uptime_seconds` | gauge | `tunnel`, `peer` | time Established (absent otherwise) |
//! | `cgwsim_bgp_prefixes_received` | gauge | `tunnel`, `peer` | prefixes accepted from the peer |
//! | `cgwsim_bgp_prefixes_advertised` | gauge | `tunnel`, `peer` | prefixes advertised to the peer |
//! | `cgwsim_routes` | gauge | `source` (`bgp`, `static`) | routes through the tunnels |
//! | `cgwsim_driver_<name>_total` | counter | | each of [`Status::counters`] |
//! | `cgwsim_sla_*` | | `operation`, `type`, `target`, `tunnel` | `run`'s keepalive probes ([`Status::keepalive`]), as `cgw-sim sla` exports them ([`crate::sla_daemon::metrics`]) |
//!
//! Free-form counters become one metric each (they count different things,
//! so a shared metric with a label would invite meaningless sums):
//! `udp_in` is `cgwsim_driver_udp_in_total`. A name is lower-cased, every
//! character outside `[a-z0-9_]` becomes `_`, a trailing `_total` is
//! dropped (it is added back once), and names that end up equal are
//! summed.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{prometheus_text, text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::status::{BgpState, RouteSource, Status, TunnelState, TunnelTotals};

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4 (the default).
    Prometheus,
    /// OpenMetrics 1.0 text (asked for with `Accept:
    /// application/openmetrics-text`); ends with `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The format a scraper asks for in its `Accept` header: OpenMetrics if
    /// it names it, else the Prometheus text format.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// `tunnel` and `peer`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TunnelLabels {
    tunnel: String,
    peer: String,
}

/// `tunnel`, `peer` and `state`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    tunnel: String,
    peer: String,
    state: String,
}

/// `tunnel`, `peer` and `direction`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    tunnel: String,
    peer: String,
    direction: String,
}

/// `source`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

/// `cgwsim_info`'s labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    role: String,
    name: String,
    outside_address: String,
    version: String,
}

type GaugeU = Gauge<u64, AtomicU64>;
type GaugeF = Gauge<f64, AtomicU64>;

/// A per-tunnel counter: name (without `_total`), help, and its value.
type TunnelCounter = (&'static str, &'static str, fn(&TunnelTotals) -> u64);

/// Renders `status` in `format`.
pub fn render(status: &Status, format: Format) -> String {
    encode(&registry(status), format)
}

/// A registry as exposition in `format` (every daemon's snapshot ends
/// here).
pub fn encode(registry: &Registry, format: Format) -> String {
    let mut out = String::new();
    // Encoding into a String cannot fail: fmt::Write for String does not.
    let _ = match format {
        Format::Prometheus => prometheus_text::encode(&mut out, registry),
        Format::OpenMetrics => text::encode(&mut out, registry),
    };
    out
}

/// The registry of one snapshot: metrics created and set from `status`.
fn registry(status: &Status) -> Registry {
    let mut reg = Registry::with_prefix("cgwsim");

    let info = Family::<InfoLabels, GaugeU>::default();
    reg.register(
        "info",
        "The daemon: role, name, outside address and version (always 1)",
        info.clone(),
    );
    info.get_or_create(&InfoLabels {
        role: status.role.label().to_owned(),
        name: status.name.clone(),
        outside_address: status.outside_address.to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
    .set(1);

    let uptime = GaugeF::default();
    reg.register_with_unit(
        "uptime",
        "Time since the daemon started",
        Unit::Seconds,
        uptime.clone(),
    );
    uptime.set(status.uptime.as_secs_f64());

    tunnel_metrics(&mut reg, status);
    bgp_metrics(&mut reg, status);

    let routes = Family::<SourceLabels, GaugeU>::default();
    reg.register("routes", "Routes through the tunnels", routes.clone());
    for source in RouteSource::ALL {
        let n = status.routes.iter().filter(|r| r.source == source).count();
        routes
            .get_or_create(&SourceLabels {
                source: source.as_str().to_owned(),
            })
            .set(n as u64);
    }

    for (name, value) in driver_counters(&status.counters) {
        let c = Counter::<u64>::default();
        c.inc_by(value);
        reg.register(
            format!("driver_{name}"),
            format!("Driver counter {name}"),
            c,
        );
    }
    if let Some(k) = &status.keepalive {
        crate::sla_daemon::metrics::register(&mut reg, k);
    }
    reg
}

fn tunnel_metrics(reg: &mut Registry, status: &Status) {
    let up = Family::<TunnelLabels, GaugeU>::default();
    reg.register(
        "tunnel_up",
        "1 if the tunnel has a child SA installed (ESP flows), else 0",
        up.clone(),
    );
    let state = Family::<StateLabels, GaugeU>::default();
    reg.register(
        "tunnel_state",
        "1 for the tunnel's current state (down, connecting, up), 0 for the others",
        state.clone(),
    );
    let mtu = Family::<TunnelLabels, GaugeU>::default();
    reg.register_with_unit(
        "tunnel_mtu",
        "The tunnel's inner MTU",
        Unit::Bytes,
        mtu.clone(),
    );
    let ike_age = Family::<TunnelLabels, GaugeF>::default();
    reg.register_with_unit(
        "ike_sa_age",
        "Age of the tunnel's current IKE SA",
        Unit::Seconds,
        ike_age.clone(),
    );
    let child_sas = Family::<TunnelLabels, GaugeU>::default();
    reg.register(
        "child_sas",
        "Child SAs installed (2 during a rekey)",
        child_sas.clone(),
    );

    let counters: [TunnelCounter; 3] = [
        ("tunnel_established", "Times the tunnel came up", |t| {
            t.established
        }),
        ("ike_sa_rekeys", "IKE SA rekeys", |t| t.ike_rekeys),
        ("child_sa_rekeys", "Child SA rekeys", |t| t.child_rekeys),
    ];
    let counter_families: Vec<_> = counters
        .iter()
        .map(|(name, help, get)| {
            let f = Family::<TunnelLabels, Counter>::default();
            reg.register(*name, *help, f.clone());
            (f, get)
        })
        .collect();
    let esp_packets = Family::<DirectionLabels, Counter>::default();
    reg.register(
        "esp_packets",
        "ESP packets through the tunnel, by direction",
        esp_packets.clone(),
    );
    let esp_bytes = Family::<DirectionLabels, Counter>::default();
    reg.register_with_unit(
        "esp",
        "ESP payload bytes through the tunnel, by direction",
        Unit::Bytes,
        esp_bytes.clone(),
    );

    for t in &status.tunnels {
        let labels = TunnelLabels {
            tunnel: t.index.to_string(),
            peer: t.peer.to_string(),
        };
        up.get_or_create(&labels)
            .set(u64::from(t.state == TunnelState::Up));
        for s in TunnelState::ALL {
            state
                .get_or_create(&StateLabels {
                    tunnel: labels.tunnel.clone(),
                    peer: labels.peer.clone(),
                    state: s.as_str().to_owned(),
                })
                .set(u64::from(t.state == s));
        }
        if let Some(m) = t.mtu {
            mtu.get_or_create(&labels).set(u64::from(m));
        }
        if let Some(sa) = &t.ike_sa {
            ike_age.get_or_create(&labels).set(sa.age.as_secs_f64());
        }
        child_sas
            .get_or_create(&labels)
            .set(t.child_sas.len() as u64);
        for (family, get) in &counter_families {
            family.get_or_create(&labels).inc_by(get(&t.totals));
        }
        for (direction, packets, bytes) in [
            ("in", t.totals.esp_packets_in, t.totals.esp_bytes_in),
            ("out", t.totals.esp_packets_out, t.totals.esp_bytes_out),
        ] {
            let d = DirectionLabels {
                tunnel: labels.tunnel.clone(),
                peer: labels.peer.clone(),
                direction: direction.to_owned(),
            };
            esp_packets.get_or_create(&d).inc_by(packets);
            esp_bytes.get_or_create(&d).inc_by(bytes);
        }
    }
}

fn bgp_metrics(reg: &mut Registry, status: &Status) {
    let up = Family::<TunnelLabels, GaugeU>::default();
    reg.register(
        "bgp_session_up",
        "1 if the BGP session is Established, else 0",
        up.clone(),
    );
    let uptime = Family::<TunnelLabels, GaugeF>::default();
    reg.register_with_unit(
        "bgp_session_uptime",
        "Time since the BGP session was established",
        Unit::Seconds,
        uptime.clone(),
    );
    let received = Family::<TunnelLabels, GaugeU>::default();
    reg.register(
        "bgp_prefixes_received",
        "Prefixes accepted from the BGP peer",
        received.clone(),
    );
    let advertised = Family::<TunnelLabels, GaugeU>::default();
    reg.register(
        "bgp_prefixes_advertised",
        "Prefixes advertised to the BGP peer",
        advertised.clone(),
    );
    for b in &status.bgp {
        let labels = TunnelLabels {
            tunnel: b.tunnel.to_string(),
            peer: b.peer.to_string(),
        };
        up.get_or_create(&labels)
            .set(u64::from(b.state == BgpState::Established));
        if let Some(u) = b.uptime {
            uptime.get_or_create(&labels).set(u.as_secs_f64());
        }
        received.get_or_create(&labels).set(b.prefixes_received);
        advertised.get_or_create(&labels).set(b.prefixes_advertised);
    }
}

/// The free-form counters under metric-safe names (see the module
/// documentation), equal names summed.
fn driver_counters(counters: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (name, value) in counters {
        let mut safe: String = name
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // prometheus-client adds `_total` to counters itself.
        while let Some(stem) = safe.strip_suffix("_total") {
            safe = stem.to_owned();
        }
        if safe.is_empty() {
            safe = "unnamed".to_owned();
        }
        let sum: &mut u64 = out.entry(safe).or_default();
        *sum = sum.saturating_add(*value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_names_are_made_safe_and_merged() {
        let counters: BTreeMap<String, u64> = [
            ("udp_in", 1),
            ("UDP-in", 2),
            ("tun_full_total", 3),
            ("", 4),
            ("_total", 5),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let got = driver_counters(&counters);
        let want: BTreeMap<String, u64> = [("udp_in", 3), ("tun_full", 3), ("unnamed", 9)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
    }
}
