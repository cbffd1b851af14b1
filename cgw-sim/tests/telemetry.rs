//! The telemetry layer of the daemons: the status snapshot, its text
//! table and JSON form, `/metrics` (rendering and the HTTP endpoint), the
//! control socket and `cgw-sim status`, and JSON logs. Loopback TCP and
//! Unix sockets in a temporary directory only.

#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cgw_sim::config::LogFormat;
use cgw_sim::telemetry::control::{self, ClientError, ControlError};
use cgw_sim::telemetry::metrics::{render, Format};
use cgw_sim::telemetry::{
    logging, serve, BgpState, BgpStatus, ChildSaStatus, Endpoints, IkeSaStatus, Role, RouteSource,
    RouteStatus, ServeError, Status, TunnelState, TunnelStatus, TunnelTotals,
};
use prometheus_parse::{LineInfo, Scrape, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

// ---------------------------------------------------------------- a status

/// A gateway with tunnel 1 up (BGP established) and tunnel 2 connecting
/// (BGP Active); `step` advances every cumulative count.
fn sample(step: u64) -> Status {
    let mut s = Status::new(
        Role::CustomerGateway,
        "gw-test",
        "192.0.2.10".parse().unwrap(),
    );
    s.uptime = Duration::from_secs(100 + step);
    s.tunnels = vec![
        TunnelStatus {
            index: 1,
            tun: "cgwsim1".into(),
            peer: "198.51.100.10".parse().unwrap(),
            inside_local: "169.254.10.2".parse().unwrap(),
            inside_remote: "169.254.10.1".parse().unwrap(),
            state: TunnelState::Up,
            last_failure: None,
            ike_sa: Some(IkeSaStatus {
                spi_i: 0x0123_4567_89ab_cdef,
                spi_r: 0x00ff_0000_0000_0001,
                local_initiator: true,
                suite: "AES256-GCM-16/PRF-SHA256/ECP256".into(),
                age: Duration::from_secs(300 + step),
                rekeys: 2,
            }),
            child_sas: vec![ChildSaStatus {
                spi_in: 0xc1a2_b3c4,
                spi_out: 0x0a0b_0c0d,
                suite: "AES256-GCM-16/ECP256".into(),
                packets_in: 10 + step,
                packets_out: 20 + step,
                bytes_in: 1000 + 100 * step,
                bytes_out: 2000 + 100 * step,
            }],
            mtu: Some(1419),
            totals: TunnelTotals {
                established: 1,
                ike_rekeys: 2 + step,
                child_rekeys: 3 + step,
                esp_packets_in: 110 + step,
                esp_packets_out: 120 + step,
                esp_bytes_in: 11_000 + 100 * step,
                esp_bytes_out: 12_000 + 100 * step,
            },
        },
        TunnelStatus {
            index: 2,
            tun: "cgwsim2".into(),
            peer: "198.51.100.20".parse().unwrap(),
            inside_local: "169.254.20.2".parse().unwrap(),
            inside_remote: "169.254.20.1".parse().unwrap(),
            state: TunnelState::Connecting,
            last_failure: Some("DPD timeout after 30s".into()),
            ike_sa: None,
            child_sas: Vec::new(),
            mtu: None,
            totals: TunnelTotals {
                established: 4 + step,
                ike_rekeys: 0,
                child_rekeys: 0,
                esp_packets_in: 5 + step,
                esp_packets_out: 6 + step,
                esp_bytes_in: 500 + step,
                esp_bytes_out: 600 + step,
            },
        },
    ];
    s.bgp = vec![
        BgpStatus {
            tunnel: 1,
            peer: "169.254.10.1".parse().unwrap(),
            peer_as: 64512,
            state: BgpState::Established,
            uptime: Some(Duration::from_secs(90 + step)),
            prefixes_received: 2,
            prefixes_advertised: 1,
            last_error: None,
        },
        BgpStatus {
            tunnel: 2,
            peer: "169.254.20.1".parse().unwrap(),
            peer_as: 64512,
            state: BgpState::Active,
            uptime: None,
            prefixes_received: 0,
            prefixes_advertised: 0,
            last_error: Some("hold timer expired".into()),
        },
    ];
    s.routes = vec![
        RouteStatus {
            prefix: "198.19.0.0/16".parse().unwrap(),
            tunnel: 1,
            source: RouteSource::Bgp,
        },
        RouteStatus {
            prefix: "198.19.1.0/24".parse().unwrap(),
            tunnel: 1,
            source: RouteSource::Bgp,
        },
        RouteStatus {
            prefix: "203.0.113.0/24".parse().unwrap(),
            tunnel: 2,
            source: RouteSource::Static,
        },
    ];
    s.counters = BTreeMap::from([
        ("udp_in".to_owned(), 1000 + 10 * step),
        ("udp_out".to_owned(), 900 + 10 * step),
        ("tun_in".to_owned(), 50 + step),
        ("tun_full".to_owned(), 0),
    ]);
    s
}

// ---------------------------------------------------------------- metrics

/// Parses exposition text strictly: every line is a HELP, a TYPE or a
/// sample the parser understands (prometheus-parse skips what it does not,
/// which would hide a malformed line), and every sample has a TYPE.
fn parse_strict(text: &str) -> (Scrape, BTreeMap<String, String>) {
    let mut types = BTreeMap::new();
    let mut sample_lines = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE twice for {name}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        match LineInfo::parse(line) {
            LineInfo::Sample { metric_name, .. } => {
                sample_lines += 1;
                assert!(types.contains_key(metric_name), "no TYPE for {line}");
            }
            _ => panic!("not a HELP, TYPE or sample line: {line:?}"),
        }
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(scrape.samples.len(), sample_lines, "{text}");
    (scrape, types)
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => *x,
        other => panic!("not a number: {other:?}"),
    }
}

/// The value of the one sample `name` whose labels are exactly `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let found: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| {
            let got: BTreeMap<&str, &str> = s
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            got == want
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    number(&found[0].value)
}

/// The label sets of `name`'s samples, each as sorted `k=v` pairs.
fn label_sets(scrape: &Scrape, name: &str) -> BTreeSet<Vec<String>> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .map(|s| {
            let mut v: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            v.sort();
            v
        })
        .collect()
}

fn set(items: &[&[&str]]) -> BTreeSet<Vec<String>> {
    items
        .iter()
        .map(|i| i.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

const T1: (&str, &str) = ("tunnel", "1");
const T2: (&str, &str) = ("tunnel", "2");
const P1: (&str, &str) = ("peer", "198.51.100.10");
const P2: (&str, &str) = ("peer", "198.51.100.20");
const B1: (&str, &str) = ("peer", "169.254.10.1");
const B2: (&str, &str) = ("peer", "169.254.20.1");

#[test]
fn metrics_names_types_labels_and_values() {
    let text = render(&sample(0), Format::Prometheus);
    let (scrape, types) = parse_strict(&text);

    let expected_types = [
        ("cgwsim_info", "gauge"),
        ("cgwsim_uptime_seconds", "gauge"),
        ("cgwsim_tunnel_up", "gauge"),
        ("cgwsim_tunnel_state", "gauge"),
        ("cgwsim_tunnel_mtu_bytes", "gauge"),
        ("cgwsim_ike_sa_age_seconds", "gauge"),
        ("cgwsim_child_sas", "gauge"),
        ("cgwsim_tunnel_established_total", "counter"),
        ("cgwsim_ike_sa_rekeys_total", "counter"),
        ("cgwsim_child_sa_rekeys_total", "counter"),
        ("cgwsim_esp_packets_total", "counter"),
        ("cgwsim_esp_bytes_total", "counter"),
        ("cgwsim_bgp_session_up", "gauge"),
        ("cgwsim_bgp_session_uptime_seconds", "gauge"),
        ("cgwsim_bgp_prefixes_received", "gauge"),
        ("cgwsim_bgp_prefixes_advertised", "gauge"),
        ("cgwsim_routes", "gauge"),
        ("cgwsim_driver_udp_in_total", "counter"),
        ("cgwsim_driver_udp_out_total", "counter"),
        ("cgwsim_driver_tun_in_total", "counter"),
        ("cgwsim_driver_tun_full_total", "counter"),
    ];
    let want: BTreeMap<String, String> = expected_types
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(types, want, "{text}");
    // Every declared metric has samples here.
    let names: BTreeSet<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(names, want.keys().map(String::as_str).collect(), "{text}");
    // The parser agrees on the kinds.
    for s in &scrape.samples {
        let counter = matches!(s.value, Value::Counter(_));
        assert_eq!(counter, want[&s.metric] == "counter", "{s:?}");
    }

    assert_eq!(
        value(
            &scrape,
            "cgwsim_info",
            &[
                ("role", "customer_gateway"),
                ("name", "gw-test"),
                ("outside_address", "192.0.2.10"),
                ("version", env!("CARGO_PKG_VERSION")),
            ]
        ),
        1.0
    );
    assert_eq!(value(&scrape, "cgwsim_uptime_seconds", &[]), 100.0);

    let tunnels = set(&[
        &["peer=198.51.100.10", "tunnel=1"],
        &["peer=198.51.100.20", "tunnel=2"],
    ]);
    for name in [
        "cgwsim_tunnel_up",
        "cgwsim_child_sas",
        "cgwsim_tunnel_established_total",
        "cgwsim_ike_sa_rekeys_total",
        "cgwsim_child_sa_rekeys_total",
    ] {
        assert_eq!(label_sets(&scrape, name), tunnels, "{name}");
    }
    assert_eq!(value(&scrape, "cgwsim_tunnel_up", &[T1, P1]), 1.0);
    assert_eq!(value(&scrape, "cgwsim_tunnel_up", &[T2, P2]), 0.0);
    for (labels, state, v) in [
        ([T1, P1], "up", 1.0),
        ([T1, P1], "down", 0.0),
        ([T1, P1], "connecting", 0.0),
        ([T2, P2], "up", 0.0),
        ([T2, P2], "down", 0.0),
        ([T2, P2], "connecting", 1.0),
    ] {
        let mut l = labels.to_vec();
        l.push(("state", state));
        assert_eq!(value(&scrape, "cgwsim_tunnel_state", &l), v, "{l:?}");
    }
    assert_eq!(label_sets(&scrape, "cgwsim_tunnel_state").len(), 6);
    // Known only for tunnel 1: no sample for tunnel 2, rather than a 0.
    assert_eq!(
        label_sets(&scrape, "cgwsim_tunnel_mtu_bytes"),
        set(&[&["peer=198.51.100.10", "tunnel=1"]])
    );
    assert_eq!(value(&scrape, "cgwsim_tunnel_mtu_bytes", &[T1, P1]), 1419.0);
    assert_eq!(
        label_sets(&scrape, "cgwsim_ike_sa_age_seconds"),
        set(&[&["peer=198.51.100.10", "tunnel=1"]])
    );
    assert_eq!(
        value(&scrape, "cgwsim_ike_sa_age_seconds", &[T1, P1]),
        300.0
    );
    assert_eq!(value(&scrape, "cgwsim_child_sas", &[T1, P1]), 1.0);
    assert_eq!(value(&scrape, "cgwsim_child_sas", &[T2, P2]), 0.0);
    assert_eq!(
        value(&scrape, "cgwsim_tunnel_established_total", &[T2, P2]),
        4.0
    );
    assert_eq!(value(&scrape, "cgwsim_ike_sa_rekeys_total", &[T1, P1]), 2.0);
    assert_eq!(
        value(&scrape, "cgwsim_child_sa_rekeys_total", &[T1, P1]),
        3.0
    );
    for (name, t1_in, t1_out, t2_in, t2_out) in [
        ("cgwsim_esp_packets_total", 110.0, 120.0, 5.0, 6.0),
        ("cgwsim_esp_bytes_total", 11_000.0, 12_000.0, 500.0, 600.0),
    ] {
        assert_eq!(label_sets(&scrape, name).len(), 4, "{name}");
        let d = |x| ("direction", x);
        assert_eq!(value(&scrape, name, &[T1, P1, d("in")]), t1_in);
        assert_eq!(value(&scrape, name, &[T1, P1, d("out")]), t1_out);
        assert_eq!(value(&scrape, name, &[T2, P2, d("in")]), t2_in);
        assert_eq!(value(&scrape, name, &[T2, P2, d("out")]), t2_out);
    }

    let sessions = set(&[
        &["peer=169.254.10.1", "tunnel=1"],
        &["peer=169.254.20.1", "tunnel=2"],
    ]);
    for name in [
        "cgwsim_bgp_session_up",
        "cgwsim_bgp_prefixes_received",
        "cgwsim_bgp_prefixes_advertised",
    ] {
        assert_eq!(label_sets(&scrape, name), sessions, "{name}");
    }
    assert_eq!(value(&scrape, "cgwsim_bgp_session_up", &[T1, B1]), 1.0);
    assert_eq!(value(&scrape, "cgwsim_bgp_session_up", &[T2, B2]), 0.0);
    assert_eq!(
        label_sets(&scrape, "cgwsim_bgp_session_uptime_seconds"),
        set(&[&["peer=169.254.10.1", "tunnel=1"]])
    );
    assert_eq!(
        value(&scrape, "cgwsim_bgp_session_uptime_seconds", &[T1, B1]),
        90.0
    );
    assert_eq!(
        value(&scrape, "cgwsim_bgp_prefixes_received", &[T1, B1]),
        2.0
    );
    assert_eq!(
        value(&scrape, "cgwsim_bgp_prefixes_advertised", &[T1, B1]),
        1.0
    );
    assert_eq!(
        value(&scrape, "cgwsim_bgp_prefixes_received", &[T2, B2]),
        0.0
    );

    assert_eq!(value(&scrape, "cgwsim_routes", &[("source", "bgp")]), 2.0);
    assert_eq!(
        value(&scrape, "cgwsim_routes", &[("source", "static")]),
        1.0
    );
    assert_eq!(value(&scrape, "cgwsim_driver_udp_in_total", &[]), 1000.0);
    assert_eq!(value(&scrape, "cgwsim_driver_tun_full_total", &[]), 0.0);
}

#[test]
fn counters_grow_between_snapshots() {
    let counters = |step| -> BTreeMap<String, f64> {
        let (scrape, _) = parse_strict(&render(&sample(step), Format::Prometheus));
        scrape
            .samples
            .iter()
            .filter(|s| matches!(s.value, Value::Counter(_)))
            .map(|s| (format!("{}{{{}}}", s.metric, s.labels), number(&s.value)))
            .collect()
    };
    let before = counters(0);
    let after = counters(7);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    assert!(before.len() >= 15, "{before:?}");
    let mut grew = 0;
    for (k, v) in &before {
        assert!(after[k] >= *v, "{k}: {v} -> {}", after[k]);
        if after[k] > *v {
            grew += 1;
        }
    }
    // Every count `sample` advances: all but tunnel 1's `established`,
    // tunnel 2's rekeys and `tun_full`.
    assert_eq!(grew, before.len() - 4, "{before:?}\n{after:?}");
    assert_eq!(after["cgwsim_driver_udp_in_total{}"], 1070.0);
}

#[test]
fn openmetrics_on_request() {
    let text = render(&sample(0), Format::OpenMetrics);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# UNIT cgwsim_uptime_seconds seconds"),
        "{text}"
    );
    assert!(
        text.contains("cgwsim_tunnel_up{tunnel=\"1\",peer=\"198.51.100.10\"} 1"),
        "{text}"
    );
}

#[test]
fn an_empty_status_renders() {
    let s = Status::new(Role::AwsMock, "mock", "198.51.100.10".parse().unwrap());
    let (scrape, _) = parse_strict(&render(&s, Format::Prometheus));
    assert_eq!(
        value(
            &scrape,
            "cgwsim_info",
            &[
                ("role", "aws_mock"),
                ("name", "mock"),
                ("outside_address", "198.51.100.10"),
                ("version", env!("CARGO_PKG_VERSION")),
            ]
        ),
        1.0
    );
    assert_eq!(value(&scrape, "cgwsim_routes", &[("source", "bgp")]), 0.0);
    assert!(!scrape
        .samples
        .iter()
        .any(|s| s.metric == "cgwsim_tunnel_up"));
}

// ---------------------------------------------------------------- table, JSON

#[test]
fn table_shows_tunnels_sas_sessions_routes_counters() {
    let mut s = sample(0);
    s.tunnels[1].last_failure = Some("DPD timeout\x1b[2J\nafter 30s".into());
    let t = s.table();
    for want in [
        "customer gateway \"gw-test\" at 192.0.2.10, up 1m40s",
        "cgwsim1",
        "cgwsim2",
        "198.51.100.10",
        "198.51.100.20",
        "169.254.10.2 -> 169.254.10.1",
        "connecting",
        "1419",
        "DPD timeout [2J after 30s",
        "0123456789abcdef",
        "00ff000000000001",
        "initiator",
        "AES256-GCM-16/PRF-SHA256/ECP256",
        "5m",
        "c1a2b3c4",
        "0a0b0c0d",
        "Established",
        "Active",
        "hold timer expired",
        "64512",
        "198.19.0.0/16",
        "203.0.113.0/24",
        "static",
        "udp_in",
        "1000",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    assert!(!t.contains('\x1b'), "{t}");
    // The tunnel rows: one line each, with the state in it.
    let row = |n: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with(n) && l.contains("cgwsim"))
            .unwrap_or_else(|| panic!("no row for tunnel {n} in\n{t}"))
            .to_owned()
    };
    assert!(row("1").contains(" up "), "{t}");
    assert!(row("2").contains("connecting"), "{t}");
    // Sections in order; an empty one says so.
    let mut empty = Status::new(Role::AwsMock, "m", "198.51.100.10".parse().unwrap());
    empty.uptime = Duration::from_secs(5);
    let e = empty.table();
    assert_eq!(e.matches("  none").count(), 6, "{e}");
    assert!(
        e.starts_with("AWS mock \"m\" at 198.51.100.10, up 5s\n"),
        "{e}"
    );
    assert_eq!(e, empty.to_string());
}

#[test]
fn status_json_round_trip() {
    let s = sample(3);
    let text = serde_json::to_string(&s).unwrap();
    assert!(text.contains("\"spi_i\":\"0123456789abcdef\""), "{text}");
    assert!(text.contains("\"spi_in\":\"c1a2b3c4\""), "{text}");
    assert!(text.contains("\"spi_out\":\"0a0b0c0d\""), "{text}");
    assert!(text.contains("\"role\":\"customer_gateway\""), "{text}");
    assert!(text.contains("\"state\":\"connecting\""), "{text}");
    assert!(text.contains("\"state\":\"Established\""), "{text}");
    assert!(text.contains("\"prefix\":\"198.19.0.0/16\""), "{text}");
    assert!(text.contains("\"uptime_seconds\":103.0"), "{text}");
    let back: Status = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    // Malformed SPIs are refused, not truncated.
    for bad in ["\"+c1a2b3c\"", "\"c1a2b3c4d\"", "\"\"", "\"xyz\""] {
        let t = text.replace("\"c1a2b3c4\"", bad);
        assert!(serde_json::from_str::<Status>(&t).is_err(), "{bad}");
    }
    let t = text.replace("\"Established\"", "\"Up\"");
    let e = serde_json::from_str::<Status>(&t).unwrap_err();
    assert!(e.to_string().contains("unknown BGP state \"Up\""), "{e}");
}

// ---------------------------------------------------------------- HTTP

/// Sends `request` raw and reads the whole answer (the server closes
/// after `Connection: close`, or on a bad request).
async fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("the server answers and closes within 5 s")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n")
        .into_bytes()
}

#[tokio::test(flavor = "current_thread")]
async fn http_endpoint_serves_metrics_only() {
    let (tx, rx) = watch::channel(sample(0));
    let endpoints = Endpoints {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        control_socket: None,
    };
    let t = serve(&endpoints, rx).await.unwrap();
    let addr = t.metrics_addr().unwrap();
    assert_ne!(addr.port(), 0);
    assert!(t.control_socket().is_none());

    let r = http(addr, &get("/metrics", "")).await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
    assert_eq!(
        header(&r, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = r.split_once("\r\n\r\n").unwrap().1;
    let (scrape, _) = parse_strict(body);
    assert_eq!(value(&scrape, "cgwsim_uptime_seconds", &[]), 100.0);

    // A new snapshot is what the next scrape sees.
    tx.send_replace(sample(9));
    let r = http(addr, &get("/metrics", "")).await;
    let (scrape, _) = parse_strict(r.split_once("\r\n\r\n").unwrap().1);
    assert_eq!(value(&scrape, "cgwsim_uptime_seconds", &[]), 109.0);

    let r = http(
        addr,
        &get(
            "/metrics",
            "Accept: application/openmetrics-text;version=1.0.0\r\n",
        ),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
    assert!(
        header(&r, "content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{r}"
    );
    assert!(r.ends_with("# EOF\n"), "{r}");

    let r = http(addr, &get("/other", "")).await;
    assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
    let r = http(addr, &get("/metrics/extra", "")).await;
    assert!(r.starts_with("HTTP/1.1 404 "), "{r}");

    let r = http(
        addr,
        b"POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    assert_eq!(header(&r, "allow"), Some("GET, HEAD"));

    let r = http(
        addr,
        b"HEAD /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
    assert!(r.ends_with("\r\n\r\n"), "HEAD has no body: {r}");

    for garbage in [
        &b"\x00\x01\x02 nonsense\r\n\r\n"[..],
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET\r\n\r\n",
    ] {
        let r = http(addr, garbage).await;
        assert!(
            r.is_empty() || r.starts_with("HTTP/1.1 400 "),
            "{garbage:?}: {r}"
        );
    }
    // Still serving after the garbage.
    let r = http(addr, &get("/metrics", "")).await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r}");

    // Stopped: the port refuses connections.
    drop(t);
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_address_in_use_is_an_error() {
    let (_tx, rx) = watch::channel(sample(0));
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let endpoints = Endpoints {
        metrics_listen: Some(addr),
        control_socket: None,
    };
    let e = serve(&endpoints, rx).await.unwrap_err();
    assert!(matches!(e, ServeError::Metrics { .. }), "{e}");
    assert!(e.to_string().contains(&addr.to_string()), "{e}");
}

// ---------------------------------------------------------------- control socket

/// A fresh directory for one test's sockets.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cgw-sim-telemetry-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn socket_only(path: &Path) -> Endpoints {
    Endpoints {
        metrics_listen: None,
        control_socket: Some(path.to_owned()),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn control_socket_round_trip_and_errors() {
    let dir = temp_dir("control");
    // The directory does not exist yet: serve creates it.
    let path = dir.join("run").join("cgw.sock");
    let (tx, rx) = watch::channel(sample(0));
    let t = serve(&socket_only(&path), rx).await.unwrap();
    assert_eq!(t.control_socket(), Some(path.as_path()));
    assert!(t.metrics_addr().is_none());

    let p = path.clone();
    let got = tokio::task::spawn_blocking(move || control::query_status(&p))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, sample(0));
    tx.send_replace(sample(2));
    let p = path.clone();
    let got = tokio::task::spawn_blocking(move || control::query_status(&p))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, sample(2));

    let p = path.clone();
    let e = tokio::task::spawn_blocking(move || control::request(&p, "reboot"))
        .await
        .unwrap()
        .unwrap_err();
    match &e {
        ClientError::Daemon { message, .. } => {
            assert!(message.contains("unknown command \"reboot\""), "{e}");
            assert!(message.contains("status"), "{e}");
        }
        other => panic!("{other}"),
    }

    // Raw lines on one connection: bad JSON, no command, then a good one.
    let s = tokio::net::UnixStream::connect(&path).await.unwrap();
    let (r, mut w) = s.into_split();
    let mut r = tokio::io::BufReader::new(r);
    let mut ask = async |line: &[u8]| -> serde_json::Value {
        w.write_all(line).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncBufReadExt::read_line(&mut r, &mut answer),
        )
        .await
        .unwrap()
        .unwrap();
        serde_json::from_str(&answer).unwrap()
    };
    let a = ask(b"not json\n").await;
    assert!(
        a["error"].as_str().unwrap().starts_with("bad request"),
        "{a}"
    );
    let a = ask(b"{\"cmd\":\"status\"}\n").await;
    assert!(a["error"].as_str().unwrap().contains("command"), "{a}");
    let a = ask(b"{\"command\":\"status\"}\n").await;
    assert_eq!(a["name"], "gw-test", "{a}");
    let long = format!("{{\"command\":\"{}\"}}\n", "x".repeat(control::MAX_REQUEST));
    let a = ask(long.as_bytes()).await;
    assert!(a["error"].as_str().unwrap().contains("longer than"), "{a}");

    // Shutdown removes the file; asking then says nobody is there.
    drop(t);
    assert!(!path.exists());
    let e = control::query_status(&path).unwrap_err();
    assert!(matches!(e, ClientError::NotRunning { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn stale_socket_is_replaced_live_one_and_other_files_are_not() {
    let dir = temp_dir("stale");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cgw.sock");

    // A socket file nobody listens on: what a killed daemon leaves.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let (_tx, rx) = watch::channel(sample(0));
    let t = serve(&socket_only(&path), rx.clone()).await.unwrap();
    let p = path.clone();
    let got = tokio::task::spawn_blocking(move || control::query_status(&p))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name, "gw-test");

    // A second daemon on the same path is refused, and the first keeps it.
    let e = serve(&socket_only(&path), rx.clone()).await.unwrap_err();
    assert!(
        matches!(e, ServeError::Control(ControlError::InUse { .. })),
        "{e}"
    );
    assert!(path.exists());
    drop(t);
    assert!(!path.exists());

    // A regular file is never removed.
    let file = dir.join("not-a-socket");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(b"keep me")
        .unwrap();
    let e = serve(&socket_only(&file), rx).await.unwrap_err();
    assert!(
        matches!(e, ServeError::Control(ControlError::NotASocket { .. })),
        "{e}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- cgw-sim status

fn cgw_sim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cgw-sim"))
        .args(args)
        .output()
        .expect("cgw-sim runs")
}

#[test]
fn status_command_without_a_daemon_exits_1() {
    let dir = temp_dir("absent");
    let path = dir.join("cgw.sock");
    let out = cgw_sim(&["status", "--socket", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "no cgw-sim at {}: is `cgw-sim run` running?",
            path.display()
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn status_command_prints_the_table_and_json() {
    let dir = temp_dir("cli");
    let path = dir.join("cgw.sock");
    let (_tx, rx) = watch::channel(sample(1));
    let t = serve(&socket_only(&path), rx).await.unwrap();
    let p = path.to_str().unwrap().to_owned();
    let (table, json) = tokio::task::spawn_blocking(move || {
        (
            cgw_sim(&["status", "--socket", &p]),
            cgw_sim(&["status", "--socket", &p, "--json"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(table.status.code(), Some(0), "{table:?}");
    assert_eq!(String::from_utf8(table.stdout).unwrap(), sample(1).table());
    assert_eq!(json.status.code(), Some(0), "{json:?}");
    let back: Status = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(back, sample(1));
    drop(t);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- logs

/// A log writer into memory.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

fn log_lines(format: LogFormat, level: &str) -> String {
    let buf = Buf::default();
    let filter = logging::filter(Some(level)).unwrap();
    let sub = logging::subscriber(format, filter, buf.clone(), false);
    let peer: std::net::IpAddr = "198.51.100.10".parse().unwrap();
    tracing::subscriber::with_default(sub, || {
        tracing::info!(tunnel = 1, peer = %peer, "tunnel up");
        tracing::debug!(tunnel = 2, "filtered out at info");
    });
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    text
}

#[test]
fn json_logs_have_the_fields_at_the_top_level() {
    let text = log_lines(LogFormat::Json, "info");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["message"], "tunnel up", "{v}");
    assert_eq!(v["tunnel"], 1, "{v}");
    assert_eq!(v["peer"], "198.51.100.10", "{v}");
    assert_eq!(v["level"], "INFO", "{v}");
    assert!(v["timestamp"].is_string(), "{v}");
    assert!(v.get("fields").is_none(), "{v}");
    // The level is the filter's: debug lets the second event through.
    assert_eq!(log_lines(LogFormat::Json, "debug").lines().count(), 2);
}

#[test]
fn text_logs_and_bad_levels() {
    let text = log_lines(LogFormat::Text, "info");
    assert!(text.contains("tunnel up"), "{text}");
    assert!(text.contains("tunnel=1"), "{text}");
    assert!(text.contains("peer=198.51.100.10"), "{text}");
    assert!(!text.contains('\x1b'), "no colours unless asked: {text}");
    let e = logging::filter(Some("cgw_sim=loud")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("--log-level") && msg.contains("cgw_sim=loud"),
        "{msg}"
    );
}
