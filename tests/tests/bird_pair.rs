//! Harness self-test: BIRD against BIRD in two namespaces.
//!
//! Proves the BIRD harness (config writer, daemon by PID, control socket,
//! `show protocols all` and `show route all` parsers, announcing and
//! withdrawing through `configure`) before our own speaker is plugged in:
//! eBGP 65000 (the CGW, 169.254.10.2) and 64512 (AWS, 169.254.10.1) over a
//! veth, routes both ways, then withdrawn, then a receive limit.

use cgw_sim_tests::bird::{Bird, BirdConfig, LimitAction};
use cgw_sim_tests::netns::{InsideNet, Netns, Veth};
use cgw_sim_tests::require;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

fn pair() -> (Netns, Netns, InsideNet) {
    let cgw = Netns::new();
    let aws = Netns::new();
    let inside = InsideNet::unique();
    Veth::connect(
        &cgw,
        "wan0",
        &inside.cgw_cidr(),
        &aws,
        "wan0",
        &inside.aws_cidr(),
    );
    (cgw, aws, inside)
}

#[test]
fn bird_pair_announce_and_withdraw() {
    require::bird();
    let t0 = Instant::now();
    let (cgw_ns, aws_ns, inside) = pair();
    let mut aws_cfg = BirdConfig::new(inside.aws(), 64512, inside.cgw(), 65000);
    aws_cfg.static_routes = vec!["198.19.0.0/16".into()];
    aws_cfg.passive = true;
    let mut cgw_cfg = BirdConfig::new(inside.cgw(), 65000, inside.aws(), 64512);
    cgw_cfg.static_routes = vec!["198.18.1.0/24".into()];
    let mut aws = Bird::start(&aws_ns, aws_cfg);
    let mut cgw = Bird::start(&cgw_ns, cgw_cfg);

    let s = cgw.wait_established(T);
    assert_eq!(s.proto, "BGP");
    assert_eq!(s.state, "up");
    assert_eq!(s.neighbor_as, Some(64512));
    assert_eq!(s.local_as, Some(65000));
    assert_eq!(s.hold_time, Some(30));
    assert_eq!(s.keepalive_time, Some(10));
    let s = aws.wait_established(T);
    assert_eq!(s.neighbor_as, Some(65000));
    assert_eq!(
        s.neighbor_address.as_deref(),
        Some(&*inside.cgw().to_string())
    );
    let established = t0.elapsed();

    // each side learns the other's prefix with the neighbour's AS in the path
    let r = aws.wait_bgp_routes(T, "198.18.1.0/24 from 65000", |rs| {
        rs.iter().any(|r| r.prefix == "198.18.1.0/24")
    });
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].as_path, vec![65000]);
    assert_eq!(r[0].via, Some(inside.cgw().into()));
    assert!(r[0].best);
    assert_eq!(r[0].origin.as_deref(), Some("IGP"));
    let r = cgw.wait_bgp_routes(T, "198.19.0.0/16 from 64512", |rs| {
        rs.iter().any(|r| r.prefix == "198.19.0.0/16")
    });
    assert_eq!(r[0].as_path, vec![64512]);
    assert_eq!(r[0].via, Some(inside.aws().into()));
    assert!(cgw
        .routes()
        .iter()
        .any(|r| r.prefix == "198.18.1.0/24" && r.kind == "blackhole" && r.proto == "lan4"));

    // announce two more from the CGW, withdraw the first
    cgw.add_statics(&["198.18.2.0/24", "198.18.3.0/24"]);
    cgw.remove_static("198.18.1.0/24");
    aws.wait_bgp_routes(T, "198.18.2-3 only", |rs| {
        let mut p: Vec<&str> = rs.iter().map(|r| r.prefix.as_str()).collect();
        p.sort();
        p == ["198.18.2.0/24", "198.18.3.0/24"]
    });
    assert_eq!(aws.protocol_state().channels["ipv4"].imported, 2);
    assert_eq!(cgw.protocol_state().channels["ipv4"].exported, 2);
    // AWS withdraws its only route
    aws.remove_static("198.19.0.0/16");
    cgw.wait_bgp_routes(T, "empty", |rs| rs.is_empty());

    // a graceful stop of the CGW: AWS sees the session go down, routes gone
    let pid = cgw.pid();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap()
            .trim(),
        "bird"
    );
    cgw.stop();
    let s = aws.wait_state(T, "not established", |s| !s.is_established());
    eprintln!("aws after the CGW stopped: {}", s.messages());
    assert!(
        s.messages().contains("Received: Administrative shutdown")
            || s.messages().contains("Connection closed")
            || s.messages().contains("Received"),
        "{s:#?}"
    );
    assert!(aws.bgp_routes().is_empty());
    eprintln!(
        "bird pair: established after {established:?}, whole test {:?}",
        t0.elapsed()
    );
}

#[test]
fn bird_pair_receive_limit_notification() {
    require::bird();
    let (cgw_ns, aws_ns, inside) = pair();
    // AWS accepts at most 3 prefixes and disables the session past that
    let mut aws_cfg = BirdConfig::new(inside.aws(), 64512, inside.cgw(), 65000);
    aws_cfg.receive_limit = Some((3, LimitAction::Disable));
    let mut cgw_cfg = BirdConfig::new(inside.cgw(), 65000, inside.aws(), 64512);
    cgw_cfg.static_routes = (1..=3).map(|i| format!("198.18.{i}.0/24")).collect();
    // with the peer gone, do not reconnect at once (keeps the last error)
    cgw_cfg.error_wait = Some((30, 60));
    let aws = Bird::start(&aws_ns, aws_cfg);
    let mut cgw = Bird::start(&cgw_ns, cgw_cfg);
    cgw.wait_established(T);
    aws.wait_bgp_routes(T, "3 routes", |rs| rs.len() == 3);
    cgw.add_static("198.18.4.0/24");
    let s = aws.wait_state(T, "down", |s| s.state == "down");
    assert!(s.messages().contains("Route limit exceeded"), "{s:#?}");
    let s = cgw.wait_state(T, "notified", |s| {
        s.messages()
            .contains("Received: Maximum number of prefixes reached")
    });
    eprintln!("cgw after the limit: {}", s.messages());
    assert!(cgw
        .log()
        .contains("Received: Maximum number of prefixes reached"));
}

/// IPv6 unicast over the IPv4 session (multiprotocol): the sender needs an
/// explicit IPv6 next hop, the receiver an IPv6 address on the link to
/// resolve it (without one BIRD sends `::` and the receiver drops it with
/// "Missing next hop address").
#[test]
fn bird_pair_ipv6_over_ipv4_session() {
    require::bird();
    let (cgw_ns, aws_ns, inside) = pair();
    cgw_ns.add_addr6("wan0", "2001:db8:ffff::2/64");
    aws_ns.add_addr6("wan0", "2001:db8:ffff::1/64");
    let mut aws_cfg = BirdConfig::new(inside.aws(), 64512, inside.cgw(), 65000);
    aws_cfg.ipv6 = true;
    aws_cfg.passive = true;
    let mut cgw_cfg = BirdConfig::new(inside.cgw(), 65000, inside.aws(), 64512);
    cgw_cfg.ipv6 = true;
    cgw_cfg.ipv6_next_hop = Some("2001:db8:ffff::2".parse().unwrap());
    cgw_cfg.static_routes = vec!["2001:db8:1::/48".into(), "198.18.1.0/24".into()];
    let aws = Bird::start(&aws_ns, aws_cfg);
    let cgw = Bird::start(&cgw_ns, cgw_cfg);
    cgw.wait_established(T);
    let rs = aws.wait_bgp_routes(T, "both families", |rs| rs.len() == 2);
    let r6 = rs
        .iter()
        .find(|r| r.table == "master6")
        .expect("an IPv6 route");
    assert_eq!(r6.prefix, "2001:db8:1::/48");
    assert_eq!(r6.via, Some("2001:db8:ffff::2".parse().unwrap()));
    assert_eq!(r6.as_path, vec![65000]);
    let s = aws.protocol_state();
    assert_eq!(s.channels["ipv6"].imported, 1, "{s:#?}");
    assert_eq!(s.channels["ipv4"].imported, 1, "{s:#?}");
}
