//! RIB tests: best-path order (one test per rule), loop prevention,
//! prefix limits, withdrawals, static routes, longest-prefix match and
//! export policy.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp::rib::{
    BestPathConfig, DenyReason, ExportPolicy, ImportPolicy, PeerConfig, PeerId, PrefixFilter,
    PrefixRule, Rib, RibEvent, RouteSource,
};
use bgp::route::{AsPath, AsSegment, IpNet, Origin, PathAttributes};
use bgp::wire::Update;

const LOCAL_AS: u32 = 64512;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn attrs(path: &[u32], nh: &str) -> PathAttributes {
    PathAttributes {
        as_path: if path.is_empty() {
            AsPath::default()
        } else {
            AsPath(vec![AsSegment::Sequence(path.to_vec())])
        },
        ..PathAttributes::originated(ip(nh))
    }
}

fn announce(a: &PathAttributes, prefixes: &[&str]) -> Update {
    Update {
        attributes: Some(a.clone()),
        announced: prefixes.iter().map(|p| net(p)).collect(),
        ..Update::default()
    }
}

fn withdraw(prefixes: &[&str]) -> Update {
    Update {
        withdrawn: prefixes.iter().map(|p| net(p)).collect(),
        ..Update::default()
    }
}

fn cfg(peer_as: u32, rid: &str, addr: &str) -> PeerConfig {
    PeerConfig {
        peer_as,
        peer_router_id: rid.parse().unwrap(),
        peer_address: ip(addr),
        import: ImportPolicy::default(),
        export: ExportPolicy::default(),
    }
}

fn rib() -> Rib {
    Rib::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1))
}

fn drain(rib: &mut Rib) -> Vec<RibEvent> {
    std::iter::from_fn(|| rib.poll_event()).collect()
}

fn best_source(rib: &Rib, prefix: &str) -> Option<RouteSource> {
    rib.best(&net(prefix)).map(|r| r.source)
}

/// Two peers, each announcing `P` with its attributes at its time; returns
/// which peer won, checked with both arrival orders of the updates (times
/// are kept with the peer, so "oldest" stays meaningful).
#[allow(clippy::type_complexity)]
fn winner(
    config: BestPathConfig,
    a: (PeerConfig, PathAttributes, Duration),
    b: (PeerConfig, PathAttributes, Duration),
) -> usize {
    let t0 = Instant::now();
    let mut results = Vec::new();
    for order in [[0, 1], [1, 0]] {
        let mut rib = Rib::with_config(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1), config.clone());
        let ids = [rib.add_peer(a.0.clone()), rib.add_peer(b.0.clone())];
        let sends = [(&a.1, a.2), (&b.1, b.2)];
        for i in order {
            let (at, dt) = sends[i];
            rib.apply_update(ids[i], &announce(at, &["192.0.2.0/24"]), t0 + dt)
                .unwrap();
        }
        let src = best_source(&rib, "192.0.2.0/24").unwrap();
        results.push(
            ids.iter()
                .position(|id| src == RouteSource::Peer(*id))
                .unwrap(),
        );
    }
    assert_eq!(results[0], results[1], "result depends on update order");
    results[0]
}

const T: Duration = Duration::ZERO;
const LATER: Duration = Duration::from_secs(10);

// ---- best path, one test per rule ----

#[test]
fn best_path_highest_local_pref_wins_over_shorter_as_path() {
    let a = PathAttributes {
        local_pref: Some(200),
        ..attrs(&[65001, 65002, 65003], "10.0.0.2")
    };
    let b = PathAttributes {
        local_pref: Some(100),
        ..attrs(&[65001], "10.0.0.3")
    };
    let w = winner(
        BestPathConfig::default(),
        (cfg(LOCAL_AS, "10.0.0.2", "10.0.0.2"), a, LATER),
        (cfg(LOCAL_AS, "10.0.0.3", "10.0.0.3"), b, T),
    );
    assert_eq!(w, 0);
}

#[test]
fn local_pref_from_ebgp_is_ignored_but_import_override_applies() {
    // A LOCAL_PREF received over eBGP does not count...
    let a = PathAttributes {
        local_pref: Some(500),
        ..attrs(&[65001, 65009], "10.0.0.2")
    };
    let b = attrs(&[65002], "10.0.0.3");
    let w = winner(
        BestPathConfig::default(),
        (cfg(65001, "10.0.0.2", "10.0.0.2"), a.clone(), T),
        (cfg(65002, "10.0.0.3", "10.0.0.3"), b.clone(), LATER),
    );
    assert_eq!(w, 1);
    // ...but the import policy's does.
    let mut ca = cfg(65001, "10.0.0.2", "10.0.0.2");
    ca.import.local_pref = Some(150);
    let w = winner(
        BestPathConfig::default(),
        (ca, a, T),
        (cfg(65002, "10.0.0.3", "10.0.0.3"), b, LATER),
    );
    assert_eq!(w, 0);
}

#[test]
fn best_path_shortest_as_path() {
    let w = winner(
        BestPathConfig::default(),
        (
            cfg(65001, "10.0.0.2", "10.0.0.2"),
            attrs(&[65001, 65010], "10.0.0.2"),
            T,
        ),
        (
            cfg(65002, "10.0.0.3", "10.0.0.3"),
            attrs(&[65002], "10.0.0.3"),
            LATER,
        ),
    );
    assert_eq!(w, 1);
}

#[test]
fn as_set_counts_as_one_hop() {
    let mut a = attrs(&[65001], "10.0.0.2");
    a.as_path.0.push(AsSegment::Set(vec![1, 2, 3, 4]));
    let w = winner(
        BestPathConfig::default(),
        (cfg(65001, "10.0.0.2", "10.0.0.2"), a, LATER),
        (
            cfg(65002, "10.0.0.3", "10.0.0.3"),
            attrs(&[65002, 7, 8], "10.0.0.3"),
            T,
        ),
    );
    assert_eq!(w, 0);
}

#[test]
fn best_path_lowest_origin() {
    let a = PathAttributes {
        origin: Origin::Incomplete,
        ..attrs(&[65001], "10.0.0.2")
    };
    let b = PathAttributes {
        origin: Origin::Egp,
        ..attrs(&[65002], "10.0.0.3")
    };
    let w = winner(
        BestPathConfig::default(),
        (cfg(65001, "10.0.0.2", "10.0.0.2"), a, T),
        (cfg(65002, "10.0.0.3", "10.0.0.3"), b, LATER),
    );
    assert_eq!(w, 1);
}

#[test]
fn best_path_lowest_med_from_the_same_neighbour_as() {
    let a = PathAttributes {
        med: Some(20),
        ..attrs(&[65001], "10.0.0.2")
    };
    let b = PathAttributes {
        med: Some(10),
        ..attrs(&[65001], "10.0.0.3")
    };
    let w = winner(
        BestPathConfig::default(),
        (cfg(65001, "10.0.0.2", "10.0.0.2"), a, T),
        (cfg(65001, "10.0.0.3", "10.0.0.3"), b, LATER),
    );
    assert_eq!(w, 1);
}

#[test]
fn med_is_not_compared_across_neighbour_ases_unless_configured() {
    let a = PathAttributes {
        med: Some(50),
        ..attrs(&[65001], "10.0.0.2")
    };
    let b = PathAttributes {
        med: Some(0),
        ..attrs(&[65002], "10.0.0.3")
    };
    let pa = (cfg(65001, "10.0.0.2", "10.0.0.2"), a, T);
    let pb = (cfg(65002, "10.0.0.3", "10.0.0.3"), b, LATER);
    // Different neighbours: MED skipped, the older route wins.
    assert_eq!(winner(BestPathConfig::default(), pa.clone(), pb.clone()), 0);
    let always = BestPathConfig {
        always_compare_med: true,
        ..BestPathConfig::default()
    };
    assert_eq!(winner(always, pa, pb), 1);
}

#[test]
fn missing_med_counts_as_zero() {
    let a = PathAttributes {
        med: Some(1),
        ..attrs(&[65001], "10.0.0.2")
    };
    let b = attrs(&[65001], "10.0.0.3");
    let w = winner(
        BestPathConfig::default(),
        (cfg(65001, "10.0.0.2", "10.0.0.2"), a, T),
        (cfg(65001, "10.0.0.3", "10.0.0.3"), b, LATER),
    );
    assert_eq!(w, 1);
}

#[test]
fn med_elimination_is_order_independent() {
    // A (AS 1, MED 100, rid .3), B (AS 2, MED 150, rid .2), C (AS 1,
    // MED 200, rid .1): C loses to A on MED, then B beats A on router ID.
    // A pairwise comparison would pick differently depending on order.
    let t = Instant::now();
    let specs = [
        (1, 100, "10.0.0.3"),
        (2, 150, "10.0.0.2"),
        (1, 200, "10.0.0.1"),
    ];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let mut rib = rib();
        let ids: Vec<PeerId> = specs
            .iter()
            .map(|(asn, _, rid)| rib.add_peer(cfg(*asn, rid, rid)))
            .collect();
        for i in order {
            let (asn, med, rid) = specs[i];
            let a = PathAttributes {
                med: Some(med),
                ..attrs(&[asn], rid)
            };
            rib.apply_update(ids[i], &announce(&a, &["192.0.2.0/24"]), t)
                .unwrap();
        }
        assert_eq!(
            best_source(&rib, "192.0.2.0/24"),
            Some(RouteSource::Peer(ids[1])),
            "order {order:?}"
        );
    }
}

#[test]
fn best_path_ebgp_over_ibgp() {
    let w = winner(
        BestPathConfig::default(),
        (
            cfg(LOCAL_AS, "10.0.0.2", "10.0.0.2"),
            attrs(&[65001], "10.0.0.2"),
            T,
        ),
        (
            cfg(65001, "10.0.0.3", "10.0.0.3"),
            attrs(&[65001], "10.0.0.3"),
            LATER,
        ),
    );
    assert_eq!(w, 1);
}

#[test]
fn best_path_oldest_route() {
    let w = winner(
        BestPathConfig::default(),
        (
            cfg(65001, "10.0.0.9", "10.0.0.9"),
            attrs(&[65001], "10.0.0.9"),
            T,
        ),
        (
            cfg(65002, "10.0.0.3", "10.0.0.3"),
            attrs(&[65002], "10.0.0.3"),
            LATER,
        ),
    );
    assert_eq!(w, 0);
    // Without "prefer oldest" the router ID decides.
    let no_age = BestPathConfig {
        prefer_oldest: false,
        ..BestPathConfig::default()
    };
    let w = winner(
        no_age,
        (
            cfg(65001, "10.0.0.9", "10.0.0.9"),
            attrs(&[65001], "10.0.0.9"),
            T,
        ),
        (
            cfg(65002, "10.0.0.3", "10.0.0.3"),
            attrs(&[65002], "10.0.0.3"),
            LATER,
        ),
    );
    assert_eq!(w, 1);
}

#[test]
fn best_path_lowest_router_id() {
    let w = winner(
        BestPathConfig::default(),
        (
            cfg(65001, "10.0.0.9", "10.0.0.2"),
            attrs(&[65001], "10.0.0.2"),
            T,
        ),
        (
            cfg(65002, "10.0.0.4", "10.0.0.3"),
            attrs(&[65002], "10.0.0.3"),
            T,
        ),
    );
    assert_eq!(w, 1);
}

#[test]
fn router_id_from_open_replaces_the_configured_one() {
    let t = Instant::now();
    let mut rib = rib();
    let a = rib.add_peer(cfg(65001, "10.0.0.1", "10.0.0.2"));
    let b = rib.add_peer(cfg(65002, "10.0.0.5", "10.0.0.3"));
    rib.peer_up(a, "10.0.0.9".parse().unwrap());
    rib.peer_up(b, "10.0.0.5".parse().unwrap());
    rib.apply_update(
        a,
        &announce(&attrs(&[65001], "10.0.0.2"), &["192.0.2.0/24"]),
        t,
    )
    .unwrap();
    rib.apply_update(
        b,
        &announce(&attrs(&[65002], "10.0.0.3"), &["192.0.2.0/24"]),
        t,
    )
    .unwrap();
    assert_eq!(
        best_source(&rib, "192.0.2.0/24"),
        Some(RouteSource::Peer(b))
    );
}

#[test]
fn best_path_lowest_peer_address() {
    let w = winner(
        BestPathConfig::default(),
        (
            cfg(65001, "10.0.0.4", "10.0.0.8"),
            attrs(&[65001], "10.0.0.8"),
            T,
        ),
        (
            cfg(65002, "10.0.0.4", "10.0.0.7"),
            attrs(&[65002], "10.0.0.7"),
            T,
        ),
    );
    assert_eq!(w, 1);
}

// ---- loop prevention ----

#[test]
fn path_with_our_own_as_is_denied_with_aws_wording() {
    let t = Instant::now();
    let mut rib = rib();
    let p = rib.add_peer(cfg(65000, "10.0.0.2", "169.254.15.194"));
    let looped = attrs(&[65000, LOCAL_AS, 65010], "169.254.15.194");
    rib.apply_update(p, &announce(&looped, &["10.1.0.0/16"]), t)
        .unwrap();
    let events = drain(&mut rib);
    assert_eq!(
        events,
        vec![RibEvent::Denied {
            peer: p,
            prefix: net("10.1.0.0/16"),
            reason: DenyReason::OwnAs,
        }]
    );
    assert_eq!(DenyReason::OwnAs.as_str(), "as-path contains our own AS");
    assert_eq!(
        format!("DENIED due to: {}", DenyReason::OwnAs),
        "DENIED due to: as-path contains our own AS"
    );
    assert!(rib.best(&net("10.1.0.0/16")).is_none());
    // Kept in the Adj-RIB-In as not accepted.
    let adj: Vec<_> = rib.adj_rib_in(p).map(|(p, _, ok)| (p, ok)).collect();
    assert_eq!(adj, vec![(net("10.1.0.0/16"), false)]);

    // A later loop-free announcement is accepted; a looped one replaces it.
    rib.apply_update(
        p,
        &announce(&attrs(&[65000], "169.254.15.194"), &["10.1.0.0/16"]),
        t,
    )
    .unwrap();
    assert!(rib.best(&net("10.1.0.0/16")).is_some());
    rib.apply_update(p, &announce(&looped, &["10.1.0.0/16"]), t)
        .unwrap();
    assert!(rib.best(&net("10.1.0.0/16")).is_none());
    let events = drain(&mut rib);
    assert!(matches!(
        events.last(),
        Some(RibEvent::BestChanged { best: None, .. })
    ));
}

#[test]
fn own_as_inside_an_as_set_is_denied_too() {
    let t = Instant::now();
    let mut rib = rib();
    let p = rib.add_peer(cfg(65000, "10.0.0.2", "10.0.0.2"));
    let mut a = attrs(&[65000], "10.0.0.2");
    a.as_path.0.push(AsSegment::Set(vec![1, LOCAL_AS]));
    rib.apply_update(p, &announce(&a, &["10.1.0.0/16"]), t)
        .unwrap();
    assert!(matches!(
        drain(&mut rib)[..],
        [RibEvent::Denied {
            reason: DenyReason::OwnAs,
            ..
        }]
    ));
}

#[test]
fn import_filter_denies() {
    let t = Instant::now();
    let mut rib = rib();
    let mut c = cfg(65000, "10.0.0.2", "10.0.0.2");
    c.import.filter = PrefixFilter {
        allow: Some(vec![PrefixRule::new(net("10.0.0.0/8"), None, Some(24))]),
        deny: vec![PrefixRule::exact(net("10.9.0.0/16"))],
    };
    let p = rib.add_peer(c);
    let a = attrs(&[65000], "10.0.0.2");
    rib.apply_update(
        p,
        &announce(
            &a,
            &["10.1.0.0/16", "10.9.0.0/16", "10.2.3.0/25", "172.16.0.0/12"],
        ),
        t,
    )
    .unwrap();
    let denied: Vec<IpNet> = drain(&mut rib)
        .into_iter()
        .filter_map(|e| match e {
            RibEvent::Denied {
                prefix,
                reason: DenyReason::ImportFilter,
                ..
            } => Some(prefix),
            _ => None,
        })
        .collect();
    assert_eq!(
        denied,
        vec![net("10.9.0.0/16"), net("10.2.3.0/25"), net("172.16.0.0/12")]
    );
    assert_eq!(rib.loc_rib_len(), 1);
}

#[test]
fn prefix_rule_ge_le() {
    let r = PrefixRule::new(net("10.0.0.0/8"), Some(16), Some(24));
    assert!(!r.matches(&net("10.0.0.0/8")));
    assert!(r.matches(&net("10.1.0.0/16")));
    assert!(r.matches(&net("10.1.2.0/24")));
    assert!(!r.matches(&net("10.1.2.0/25")));
    assert!(!r.matches(&net("11.1.0.0/16")));
    let ge = PrefixRule::new(net("10.0.0.0/8"), Some(30), None);
    assert!(ge.matches(&net("10.0.0.4/32")));
    assert!(!ge.matches(&net("10.0.0.0/29")));
    assert!(PrefixRule::or_longer(net("2001:db8::/32")).matches(&net("2001:db8:1::/48")));
    assert!(!PrefixRule::or_longer(net("2001:db8::/32")).matches(&net("10.0.0.0/8")));
    assert!(PrefixRule::exact(net("10.0.0.0/8")).matches(&net("10.0.0.0/8")));
    assert!(!PrefixRule::exact(net("10.0.0.0/8")).matches(&net("10.0.0.0/9")));
}

// ---- prefix limits ----

fn v4_prefixes(range: std::ops::Range<u32>) -> Vec<IpNet> {
    range
        .map(|i| IpNet::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
        .collect()
}

fn announce_nets(a: &PathAttributes, prefixes: Vec<IpNet>) -> Update {
    Update {
        attributes: Some(a.clone()),
        announced: prefixes,
        ..Update::default()
    }
}

fn limited_peer(rib: &mut Rib, limit: u32, warn: Option<u8>) -> PeerId {
    let mut c = cfg(65000, "10.0.0.2", "169.254.15.194");
    c.import = ImportPolicy {
        max_prefixes: Some(limit),
        warning_threshold_percent: warn,
        ..ImportPolicy::default()
    };
    rib.add_peer(c)
}

#[test]
fn max_prefix_99_and_100_are_fine() {
    let t = Instant::now();
    let a = attrs(&[65000], "169.254.15.194");
    for n in [99, 100] {
        let mut rib = rib();
        let p = limited_peer(&mut rib, 100, None);
        rib.apply_update(p, &announce_nets(&a, v4_prefixes(0..n)), t)
            .unwrap();
        assert_eq!(rib.prefix_count(p, 1, 1), n);
        assert_eq!(rib.loc_rib_len(), n as usize);
    }
}

#[test]
fn max_prefix_101_is_refused_with_limit_afi_safi() {
    let t = Instant::now();
    let a = attrs(&[65000], "169.254.15.194");
    let mut rib = rib();
    let other = rib.add_peer(cfg(65001, "10.0.0.3", "10.0.0.3"));
    rib.apply_update(other, &announce_nets(&a, v4_prefixes(0..1)), t)
        .unwrap();
    let p = limited_peer(&mut rib, 100, None);
    rib.peer_up(p, "10.0.0.2".parse().unwrap());
    // 100 in one update, then the 101st alone.
    rib.apply_update(p, &announce_nets(&a, v4_prefixes(0..100)), t)
        .unwrap();
    let err = rib
        .apply_update(p, &announce_nets(&a, v4_prefixes(100..101)), t)
        .unwrap_err();
    assert_eq!(err.limit, 100);
    assert_eq!(err.received, 101);
    assert_eq!((err.afi, err.safi), (1, 1));
    let n = err.notification();
    assert_eq!((n.code, n.subcode), (6, 1));
    assert_eq!(n.data, vec![0, 1, 1, 0, 0, 0, 100]);
    // The peer's routes are gone; the other peer's route is back as best.
    assert_eq!(rib.adj_rib_in_len(p), 0);
    assert_eq!(rib.prefix_count(p, 1, 1), 0);
    assert!(!rib.is_up(p));
    assert_eq!(rib.loc_rib_len(), 1);
    assert_eq!(
        best_source(&rib, "10.0.0.0/24"),
        Some(RouteSource::Peer(other))
    );
    // 101 in a single update is refused the same way.
    let mut rib2 = self::rib();
    let p2 = limited_peer(&mut rib2, 100, None);
    let err = rib2
        .apply_update(p2, &announce_nets(&a, v4_prefixes(0..101)), t)
        .unwrap_err();
    assert_eq!(
        (err.limit, err.received, err.afi, err.safi),
        (100, 101, 1, 1)
    );
    assert_eq!(rib2.loc_rib_len(), 0);
}

#[test]
fn reannouncing_and_withdrawing_does_not_inflate_the_count() {
    let t = Instant::now();
    let mut rib = rib();
    let p = limited_peer(&mut rib, 100, None);
    let a = attrs(&[65000], "169.254.15.194");
    let b = attrs(&[65000, 65000], "169.254.15.194");
    rib.apply_update(p, &announce_nets(&a, v4_prefixes(0..100)), t)
        .unwrap();
    rib.apply_update(p, &announce_nets(&b, v4_prefixes(0..100)), t)
        .unwrap();
    assert_eq!(rib.prefix_count(p, 1, 1), 100);
    let mut u = announce_nets(&a, v4_prefixes(100..101));
    u.withdrawn = v4_prefixes(0..1);
    rib.apply_update(p, &u, t).unwrap();
    assert_eq!(rib.prefix_count(p, 1, 1), 100);
}

#[test]
fn max_prefix_is_per_afi_safi() {
    let t = Instant::now();
    let mut rib = rib();
    let p = limited_peer(&mut rib, 100, None);
    let a = attrs(&[65000], "169.254.15.194");
    let v6: Vec<IpNet> = (0..100u128)
        .map(|i| {
            IpNet::new(
                std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | (i << 64)).into(),
                64,
            )
            .unwrap()
        })
        .collect();
    rib.apply_update(p, &announce_nets(&a, v4_prefixes(0..100)), t)
        .unwrap();
    rib.apply_update(p, &announce_nets(&a, v6.clone()), t)
        .unwrap();
    assert_eq!(rib.prefix_count(p, 2, 1), 100);
    let extra =
        vec![IpNet::new(std::net::Ipv6Addr::from(0x2001_0db9u128 << 96).into(), 64).unwrap()];
    let err = rib
        .apply_update(p, &announce_nets(&a, extra), t)
        .unwrap_err();
    assert_eq!(
        (err.limit, err.received, err.afi, err.safi),
        (100, 101, 2, 1)
    );
}

#[test]
fn prefix_limit_warning_at_threshold() {
    let t = Instant::now();
    let a = attrs(&[65000], "169.254.15.194");
    let mut rib = rib();
    let p = limited_peer(&mut rib, 100, Some(75));
    let warnings = |rib: &mut Rib| {
        drain(rib)
            .into_iter()
            .filter(|e| matches!(e, RibEvent::PrefixLimitWarning { .. }))
            .collect::<Vec<_>>()
    };
    rib.apply_update(p, &announce_nets(&a, v4_prefixes(0..74)), t)
        .unwrap();
    assert!(warnings(&mut rib).is_empty());
    rib.apply_update(p, &announce_nets(&a, v4_prefixes(74..75)), t)
        .unwrap();
    assert_eq!(
        warnings(&mut rib),
        vec![RibEvent::PrefixLimitWarning {
            peer: p,
            afi: 1,
            safi: 1,
            count: 75,
            limit: 100
        }]
    );
    // Once per crossing.
    rib.apply_update(p, &announce_nets(&a, v4_prefixes(75..90)), t)
        .unwrap();
    assert!(warnings(&mut rib).is_empty());
    // Down below and up again: warned again.
    let w = Update {
        withdrawn: v4_prefixes(0..20),
        ..Update::default()
    };
    rib.apply_update(p, &w, t).unwrap();
    assert!(warnings(&mut rib).is_empty());
    rib.apply_update(p, &announce_nets(&a, v4_prefixes(0..20)), t)
        .unwrap();
    assert_eq!(warnings(&mut rib).len(), 1);
}

// ---- withdrawals ----

#[test]
fn withdraw_falls_back_to_the_next_best_and_then_to_nothing() {
    let t = Instant::now();
    let mut rib = rib();
    let a = rib.add_peer(cfg(65001, "10.0.0.2", "10.0.0.2"));
    let b = rib.add_peer(cfg(65002, "10.0.0.3", "10.0.0.3"));
    rib.apply_update(
        a,
        &announce(&attrs(&[65001], "10.0.0.2"), &["10.1.0.0/16"]),
        t,
    )
    .unwrap();
    rib.apply_update(
        b,
        &announce(&attrs(&[65002, 65009], "10.0.0.3"), &["10.1.0.0/16"]),
        t,
    )
    .unwrap();
    assert_eq!(best_source(&rib, "10.1.0.0/16"), Some(RouteSource::Peer(a)));
    let ev = drain(&mut rib);
    assert_eq!(ev.len(), 1, "the worse route does not change the best");
    rib.apply_update(a, &withdraw(&["10.1.0.0/16"]), t).unwrap();
    assert_eq!(best_source(&rib, "10.1.0.0/16"), Some(RouteSource::Peer(b)));
    match &drain(&mut rib)[..] {
        [RibEvent::BestChanged {
            previous: Some(prev),
            best: Some(best),
            ..
        }] => {
            assert_eq!(prev.source, RouteSource::Peer(a));
            assert_eq!(best.source, RouteSource::Peer(b));
            assert_eq!(best.as_path_string(), "65002 65009");
        }
        other => panic!("{other:?}"),
    }
    // Withdrawing something never announced is harmless.
    rib.apply_update(a, &withdraw(&["10.2.0.0/16"]), t).unwrap();
    rib.apply_update(b, &withdraw(&["10.1.0.0/16"]), t).unwrap();
    assert!(rib.best(&net("10.1.0.0/16")).is_none());
    assert_eq!(rib.loc_rib_len(), 0);
    assert!(matches!(
        &drain(&mut rib)[..],
        [RibEvent::BestChanged { best: None, .. }]
    ));
}

#[test]
fn treat_as_withdraw_removes_the_announced_prefixes() {
    let t = Instant::now();
    let mut rib = rib();
    let p = rib.add_peer(cfg(65001, "10.0.0.2", "10.0.0.2"));
    let a = attrs(&[65001], "10.0.0.2");
    rib.apply_update(p, &announce(&a, &["10.1.0.0/16", "10.2.0.0/16"]), t)
        .unwrap();
    let mut u = announce(&a, &["10.1.0.0/16"]);
    u.treat_as_withdraw = true;
    rib.apply_update(p, &u, t).unwrap();
    assert!(rib.best(&net("10.1.0.0/16")).is_none());
    assert!(rib.best(&net("10.2.0.0/16")).is_some());
    assert_eq!(rib.adj_rib_in_len(p), 1);
}

#[test]
fn reannouncing_the_same_attributes_is_silent_and_keeps_the_age() {
    let t = Instant::now();
    let mut rib = rib();
    let p = rib.add_peer(cfg(65001, "10.0.0.2", "10.0.0.2"));
    let a = attrs(&[65001], "10.0.0.2");
    rib.apply_update(p, &announce(&a, &["10.1.0.0/16"]), t)
        .unwrap();
    drain(&mut rib);
    rib.apply_update(p, &announce(&a, &["10.1.0.0/16"]), t + LATER)
        .unwrap();
    assert!(drain(&mut rib).is_empty());
    assert_eq!(rib.best(&net("10.1.0.0/16")).unwrap().arrival, t);
    // New attributes: an update, with the new arrival time.
    let b = PathAttributes { med: Some(5), ..a };
    rib.apply_update(p, &announce(&b, &["10.1.0.0/16"]), t + LATER)
        .unwrap();
    assert_eq!(rib.best(&net("10.1.0.0/16")).unwrap().arrival, t + LATER);
    assert!(matches!(
        &drain(&mut rib)[..],
        [RibEvent::BestChanged {
            previous: Some(_),
            best: Some(r),
            ..
        }] if r.med() == Some(5)
    ));
}

#[test]
fn peer_down_withdraws_everything_learned_from_it() {
    let t = Instant::now();
    let mut rib = rib();
    let a = rib.add_peer(cfg(65001, "10.0.0.2", "10.0.0.2"));
    let b = rib.add_peer(cfg(65002, "10.0.0.3", "10.0.0.3"));
    rib.apply_update(
        a,
        &announce(
            &attrs(&[65001], "10.0.0.2"),
            &["10.1.0.0/16", "10.2.0.0/16", "2001:db8::/32"],
        ),
        t,
    )
    .unwrap();
    rib.apply_update(
        b,
        &announce(&attrs(&[65002, 1], "10.0.0.3"), &["10.1.0.0/16"]),
        t,
    )
    .unwrap();
    drain(&mut rib);
    rib.peer_down(a);
    assert_eq!(rib.adj_rib_in_len(a), 0);
    assert_eq!(rib.loc_rib_len(), 1);
    assert_eq!(best_source(&rib, "10.1.0.0/16"), Some(RouteSource::Peer(b)));
    let ev = drain(&mut rib);
    assert_eq!(ev.len(), 3);
    let withdrawn = ev
        .iter()
        .filter(|e| matches!(e, RibEvent::BestChanged { best: None, .. }))
        .count();
    assert_eq!(withdrawn, 2);
    rib.remove_peer(b);
    assert_eq!(rib.loc_rib_len(), 0);
}

// ---- static routes ----

#[test]
fn static_over_bgp_when_configured() {
    let t = Instant::now();
    for static_over_bgp in [false, true] {
        let config = BestPathConfig {
            static_over_bgp,
            ..BestPathConfig::default()
        };
        let mut rib = Rib::with_config(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1), config);
        // An iBGP route with a high LOCAL_PREF beats a static route on the
        // ordinary rules.
        let p = rib.add_peer(cfg(LOCAL_AS, "10.0.0.2", "10.0.0.2"));
        let a = PathAttributes {
            local_pref: Some(300),
            ..attrs(&[65000], "10.0.0.2")
        };
        rib.apply_update(p, &announce(&a, &["10.1.0.0/16"]), t)
            .unwrap();
        rib.add_static(net("10.1.0.0/16"), ip("169.254.15.194"), t + LATER);
        let expected = if static_over_bgp {
            RouteSource::Static
        } else {
            RouteSource::Peer(p)
        };
        assert_eq!(best_source(&rib, "10.1.0.0/16"), Some(expected));
        assert_eq!(rib.candidates(&net("10.1.0.0/16")).len(), 2);
        rib.remove_static(net("10.1.0.0/16"), ip("169.254.15.194"));
        assert_eq!(best_source(&rib, "10.1.0.0/16"), Some(RouteSource::Peer(p)));
    }
}

#[test]
fn longest_prefix_beats_static_over_bgp() {
    // AWS: longest prefix first, then static over BGP.
    let t = Instant::now();
    let config = BestPathConfig {
        static_over_bgp: true,
        ..BestPathConfig::default()
    };
    let mut rib = Rib::with_config(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1), config);
    let p = rib.add_peer(cfg(65000, "10.0.0.2", "169.254.15.194"));
    rib.add_static(net("10.0.0.0/8"), ip("169.254.15.198"), t);
    rib.apply_update(
        p,
        &announce(&attrs(&[65000], "169.254.15.194"), &["10.1.0.0/16"]),
        t,
    )
    .unwrap();
    let (prefix, r) = rib.lookup_entry(ip("10.1.2.3")).unwrap();
    assert_eq!(prefix, net("10.1.0.0/16"));
    assert_eq!(r.source, RouteSource::Peer(p));
    let r = rib.lookup(ip("10.2.0.1")).unwrap();
    assert_eq!(r.source, RouteSource::Static);
    assert_eq!(r.next_hop(), ip("169.254.15.198"));
}

#[test]
fn two_static_routes_to_one_prefix() {
    let t = Instant::now();
    let mut rib = rib();
    rib.add_static(net("10.0.0.0/8"), ip("169.254.15.198"), t + LATER);
    rib.add_static(net("10.0.0.0/8"), ip("169.254.15.194"), t);
    assert_eq!(rib.candidates(&net("10.0.0.0/8")).len(), 2);
    assert_eq!(
        rib.best(&net("10.0.0.0/8")).unwrap().next_hop(),
        ip("169.254.15.194")
    );
    rib.remove_static(net("10.0.0.0/8"), ip("169.254.15.194"));
    assert_eq!(
        rib.best(&net("10.0.0.0/8")).unwrap().next_hop(),
        ip("169.254.15.198")
    );
}

// ---- longest-prefix match ----

#[test]
fn longest_prefix_match() {
    let t = Instant::now();
    let mut rib = rib();
    for (p, nh) in [
        ("0.0.0.0/0", "192.0.2.1"),
        ("10.0.0.0/8", "192.0.2.2"),
        ("10.1.0.0/16", "192.0.2.3"),
        ("10.1.2.0/24", "192.0.2.4"),
        ("10.1.2.3/32", "192.0.2.5"),
        ("2001:db8::/32", "2001:db8::1"),
        ("2001:db8:1::/48", "2001:db8::2"),
    ] {
        rib.originate(net(p), attrs(&[], nh), t);
    }
    let nh = |rib: &Rib, a: &str| rib.lookup(ip(a)).map(|r| r.next_hop());
    assert_eq!(nh(&rib, "10.1.2.3"), Some(ip("192.0.2.5")));
    assert_eq!(nh(&rib, "10.1.2.4"), Some(ip("192.0.2.4")));
    assert_eq!(nh(&rib, "10.1.3.4"), Some(ip("192.0.2.3")));
    assert_eq!(nh(&rib, "10.2.0.0"), Some(ip("192.0.2.2")));
    assert_eq!(nh(&rib, "11.0.0.1"), Some(ip("192.0.2.1")));
    assert_eq!(nh(&rib, "2001:db8:1::5"), Some(ip("2001:db8::2")));
    assert_eq!(nh(&rib, "2001:db8:2::5"), Some(ip("2001:db8::1")));
    assert_eq!(nh(&rib, "2001:db9::1"), None);
    rib.withdraw_originated(net("10.1.2.0/24"));
    assert_eq!(nh(&rib, "10.1.2.4"), Some(ip("192.0.2.3")));
    // Host bits in a prefix are ignored.
    assert!(rib.best(&net("10.1.255.255/16")).is_some());
    let all: Vec<IpNet> = rib.iter_best().map(|(p, _)| p).collect();
    assert_eq!(all.len(), 6);
}

// ---- export ----

struct Lab {
    rib: Rib,
    a: PeerId,
    b: PeerId,
    t: Instant,
}

/// Peer A (AS 65001) and peer B (AS 65002, with `export`), both up.
fn lab(export: ExportPolicy) -> Lab {
    let t = Instant::now();
    let mut rib = rib();
    let a = rib.add_peer(cfg(65001, "10.0.0.2", "10.0.0.2"));
    let mut cb = cfg(65002, "10.0.0.3", "10.0.0.3");
    cb.export = export;
    let b = rib.add_peer(cb);
    rib.peer_up(a, "10.0.0.2".parse().unwrap());
    rib.peer_up(b, "10.0.0.3".parse().unwrap());
    Lab { rib, a, b, t }
}

fn exports(rib: &mut Rib, peer: PeerId) -> Vec<Update> {
    std::iter::from_fn(|| rib.poll_export(peer)).collect()
}

#[test]
fn export_to_ebgp_prepends_sets_med_and_next_hop_self() {
    let mut l = lab(ExportPolicy {
        prepend: 2,
        med: Some(200),
        next_hop_self: Some(ip("169.254.15.193")),
        ..ExportPolicy::default()
    });
    let a = PathAttributes {
        med: Some(7),
        ..attrs(&[65001, 65010], "10.0.0.2")
    };
    l.rib
        .apply_update(l.a, &announce(&a, &["10.1.0.0/16", "10.2.0.0/16"]), l.t)
        .unwrap();
    let out = exports(&mut l.rib, l.b);
    assert_eq!(out.len(), 1);
    let u = &out[0];
    assert_eq!(u.announced, vec![net("10.1.0.0/16"), net("10.2.0.0/16")]);
    let sent = u.attributes.as_ref().unwrap();
    assert_eq!(
        sent.as_path,
        AsPath(vec![AsSegment::Sequence(vec![
            LOCAL_AS, LOCAL_AS, LOCAL_AS, 65001, 65010
        ])])
    );
    assert_eq!(sent.med, Some(200));
    assert_eq!(sent.next_hop, ip("169.254.15.193"));
    assert_eq!(sent.local_pref, None);
    // Never echoed to the source.
    assert!(exports(&mut l.rib, l.a).is_empty());
    assert_eq!(l.rib.adj_rib_out(l.b).count(), 2);
    assert_eq!(l.rib.adj_rib_out(l.a).count(), 0);
}

#[test]
fn med_learned_from_another_as_is_not_passed_on() {
    let mut l = lab(ExportPolicy::default());
    let a = PathAttributes {
        med: Some(7),
        ..attrs(&[65001], "10.0.0.2")
    };
    l.rib
        .apply_update(l.a, &announce(&a, &["10.1.0.0/16"]), l.t)
        .unwrap();
    let out = exports(&mut l.rib, l.b);
    let sent = out[0].attributes.as_ref().unwrap();
    assert_eq!(sent.med, None);
    // Third-party next hop kept without next-hop-self.
    assert_eq!(sent.next_hop, ip("10.0.0.2"));
    assert_eq!(
        sent.as_path,
        AsPath(vec![AsSegment::Sequence(vec![LOCAL_AS, 65001])])
    );
}

#[test]
fn originated_routes_are_exported_with_their_med() {
    let mut l = lab(ExportPolicy {
        next_hop_self: Some(ip("169.254.15.193")),
        ..ExportPolicy::default()
    });
    let vpc = PathAttributes {
        med: Some(100),
        ..PathAttributes::originated(ip("0.0.0.0"))
    };
    l.rib.originate(net("172.31.0.0/16"), vpc, l.t);
    for peer in [l.a, l.b] {
        let out = exports(&mut l.rib, peer);
        assert_eq!(out.len(), 1, "{peer:?}");
        assert_eq!(out[0].announced, vec![net("172.31.0.0/16")]);
        let s = out[0].attributes.as_ref().unwrap();
        assert_eq!(s.as_path, AsPath(vec![AsSegment::Sequence(vec![LOCAL_AS])]));
        assert_eq!(s.med, Some(100));
    }
    l.rib.withdraw_originated(net("172.31.0.0/16"));
    let out = exports(&mut l.rib, l.b);
    assert_eq!(
        out,
        vec![Update {
            withdrawn: vec![net("172.31.0.0/16")],
            ..Update::default()
        }]
    );
    assert_eq!(l.rib.adj_rib_out(l.b).count(), 0);
}

#[test]
fn export_filters() {
    let mut l = lab(ExportPolicy {
        filter: PrefixFilter {
            allow: Some(vec![PrefixRule::or_longer(net("10.0.0.0/8"))]),
            deny: vec![PrefixRule::new(net("10.0.0.0/8"), Some(25), None)],
        },
        ..ExportPolicy::default()
    });
    let a = attrs(&[65001], "10.0.0.2");
    l.rib
        .apply_update(
            l.a,
            &announce(&a, &["10.1.0.0/16", "10.2.2.0/25", "192.168.0.0/16"]),
            l.t,
        )
        .unwrap();
    let out = exports(&mut l.rib, l.b);
    let sent: Vec<IpNet> = out.iter().flat_map(|u| u.announced.clone()).collect();
    assert_eq!(sent, vec![net("10.1.0.0/16")]);
}

#[test]
fn split_horizon_on_the_peer_as_is_optional() {
    for suppress in [false, true] {
        let mut l = lab(ExportPolicy {
            suppress_peer_as: suppress,
            ..ExportPolicy::default()
        });
        l.rib
            .apply_update(
                l.a,
                &announce(&attrs(&[65001, 65002], "10.0.0.2"), &["10.1.0.0/16"]),
                l.t,
            )
            .unwrap();
        assert_eq!(exports(&mut l.rib, l.b).is_empty(), suppress);
    }
}

#[test]
fn no_export_community_stays_in_our_as() {
    let mut l = lab(ExportPolicy::default());
    let ibgp = l.rib.add_peer(cfg(LOCAL_AS, "10.0.0.4", "10.0.0.4"));
    l.rib.peer_up(ibgp, "10.0.0.4".parse().unwrap());
    let a = PathAttributes {
        communities: vec![0xFFFF_FF01],
        ..attrs(&[65001], "10.0.0.2")
    };
    l.rib
        .apply_update(l.a, &announce(&a, &["10.1.0.0/16"]), l.t)
        .unwrap();
    assert!(exports(&mut l.rib, l.b).is_empty());
    let to_ibgp = exports(&mut l.rib, ibgp);
    assert_eq!(to_ibgp.len(), 1);
    let s = to_ibgp[0].attributes.as_ref().unwrap();
    // iBGP: no prepend, LOCAL_PREF set, MED kept.
    assert_eq!(s.as_path, a.as_path);
    assert_eq!(s.local_pref, Some(100));
}

#[test]
fn ibgp_routes_are_not_sent_to_ibgp_peers() {
    let t = Instant::now();
    let mut rib = rib();
    let i1 = rib.add_peer(cfg(LOCAL_AS, "10.0.0.2", "10.0.0.2"));
    let i2 = rib.add_peer(cfg(LOCAL_AS, "10.0.0.3", "10.0.0.3"));
    let e = rib.add_peer(cfg(65002, "10.0.0.4", "10.0.0.4"));
    for p in [i1, i2, e] {
        rib.peer_up(p, rib.peer_config(p).peer_router_id);
    }
    rib.apply_update(
        i1,
        &announce(&attrs(&[65001], "10.0.0.2"), &["10.1.0.0/16"]),
        t,
    )
    .unwrap();
    assert!(exports(&mut rib, i2).is_empty());
    assert_eq!(exports(&mut rib, e).len(), 1);
}

#[test]
fn static_routes_are_exported_only_when_asked() {
    for redistribute_static in [false, true] {
        let mut l = lab(ExportPolicy {
            redistribute_static,
            ..ExportPolicy::default()
        });
        l.rib
            .add_static(net("10.0.0.0/8"), ip("169.254.15.194"), l.t);
        assert_eq!(
            exports(&mut l.rib, l.b).len(),
            usize::from(redistribute_static)
        );
    }
}

#[test]
fn export_is_incremental_and_grouped_by_attributes() {
    let mut l = lab(ExportPolicy::default());
    let x = attrs(&[65001], "10.0.0.2");
    let y = attrs(&[65001, 65003], "10.0.0.2");
    let mut u = announce(&x, &["10.1.0.0/16", "10.3.0.0/16"]);
    u.announced.push(net("10.2.0.0/16"));
    l.rib.apply_update(l.a, &u, l.t).unwrap();
    l.rib
        .apply_update(l.a, &announce(&y, &["10.4.0.0/16", "10.5.0.0/16"]), l.t)
        .unwrap();
    let out = exports(&mut l.rib, l.b);
    assert_eq!(out.len(), 2);
    let mut counts: Vec<usize> = out.iter().map(|u| u.announced.len()).collect();
    counts.sort();
    assert_eq!(counts, vec![2, 3]);
    // Nothing changed: nothing to send.
    l.rib
        .apply_update(l.a, &announce(&x, &["10.1.0.0/16"]), l.t)
        .unwrap();
    assert!(exports(&mut l.rib, l.b).is_empty());
    // One withdrawal and one change.
    let mut u = announce(&y, &["10.1.0.0/16"]);
    u.withdrawn = vec![net("10.2.0.0/16")];
    l.rib.apply_update(l.a, &u, l.t).unwrap();
    let out = exports(&mut l.rib, l.b);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].withdrawn, vec![net("10.2.0.0/16")]);
    assert!(out[0].attributes.is_none());
    assert_eq!(out[1].announced, vec![net("10.1.0.0/16")]);
    // The source going down withdraws everything from B.
    l.rib.peer_down(l.a);
    let out = exports(&mut l.rib, l.b);
    let w: usize = out.iter().map(|u| u.withdrawn.len()).sum();
    assert_eq!(w, 4);
    assert_eq!(l.rib.adj_rib_out(l.b).count(), 0);
}

#[test]
fn best_moving_to_the_peer_withdraws_what_we_sent_it() {
    let mut l = lab(ExportPolicy::default());
    l.rib
        .apply_update(
            l.a,
            &announce(&attrs(&[65001, 1, 2], "10.0.0.2"), &["10.1.0.0/16"]),
            l.t,
        )
        .unwrap();
    assert_eq!(exports(&mut l.rib, l.b).len(), 1);
    // B now has the better path: we must stop advertising A's to B.
    l.rib
        .apply_update(
            l.b,
            &announce(&attrs(&[65002], "10.0.0.3"), &["10.1.0.0/16"]),
            l.t,
        )
        .unwrap();
    let out = exports(&mut l.rib, l.b);
    assert_eq!(
        out,
        vec![Update {
            withdrawn: vec![net("10.1.0.0/16")],
            ..Update::default()
        }]
    );
    // And A hears B's route.
    let out = exports(&mut l.rib, l.a);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].attributes.as_ref().unwrap().as_path,
        AsPath(vec![AsSegment::Sequence(vec![LOCAL_AS, 65002])])
    );
}

#[test]
fn peer_up_sends_the_table_and_a_policy_change_resends_it() {
    let t = Instant::now();
    let mut rib = rib();
    let b = rib.add_peer(cfg(65002, "10.0.0.3", "10.0.0.3"));
    for i in 0..3000u32 {
        let p = IpNet::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap();
        rib.originate(p, PathAttributes::originated(ip("169.254.15.193")), t);
    }
    // Down: nothing.
    assert!(rib.poll_export(b).is_none());
    rib.peer_up(b, "10.0.0.3".parse().unwrap());
    let out = exports(&mut rib, b);
    let total: usize = out.iter().map(|u| u.announced.len()).sum();
    assert_eq!(total, 3000);
    // Each update fits a 4096-octet message: 3000 /24s take 12000 octets.
    assert!(out.len() >= 3, "{}", out.len());
    // header 19, two length fields 4, ORIGIN 4, AS_PATH 10, NEXT_HOP 7,
    // MED 7: at most 51 octets besides the NLRI.
    for u in &out {
        assert!(19 + 4 + 28 + u.announced.len() * 4 <= 4096);
    }
    // Lower the MED (AWS does on the other tunnel during maintenance).
    rib.set_export_policy(
        b,
        ExportPolicy {
            med: Some(50),
            ..ExportPolicy::default()
        },
    );
    let out = exports(&mut rib, b);
    let total: usize = out.iter().map(|u| u.announced.len()).sum();
    assert_eq!(total, 3000);
    assert!(out
        .iter()
        .all(|u| u.attributes.as_ref().unwrap().med == Some(50)));
    // Down and up again: the whole table again.
    rib.peer_down(b);
    assert!(rib.poll_export(b).is_none());
    rib.peer_up(b, "10.0.0.3".parse().unwrap());
    let total: usize = exports(&mut rib, b).iter().map(|u| u.announced.len()).sum();
    assert_eq!(total, 3000);
}

#[test]
fn ipv6_is_exported_in_its_own_updates() {
    let mut l = lab(ExportPolicy::default());
    let a = attrs(&[65001], "10.0.0.2");
    l.rib
        .apply_update(l.a, &announce(&a, &["10.1.0.0/16", "2001:db8::/32"]), l.t)
        .unwrap();
    let out = exports(&mut l.rib, l.b);
    assert_eq!(out.len(), 2);
    for u in out {
        assert_eq!(u.announced.len(), 1);
    }
}

#[test]
fn interned_attributes_are_shared() {
    let t = Instant::now();
    let mut rib = rib();
    let p = rib.add_peer(cfg(65001, "10.0.0.2", "10.0.0.2"));
    let a = attrs(&[65001], "10.0.0.2");
    rib.apply_update(p, &announce(&a, &["10.1.0.0/16"]), t)
        .unwrap();
    rib.apply_update(p, &announce(&a, &["10.2.0.0/16"]), t)
        .unwrap();
    let r1 = rib.best(&net("10.1.0.0/16")).unwrap();
    let r2 = rib.best(&net("10.2.0.0/16")).unwrap();
    assert!(std::sync::Arc::ptr_eq(&r1.attrs, &r2.attrs));
    assert_eq!(rib.attribute_sets(), 1);
}
