//! Property tests of the RIB: best-path selection does not depend on the
//! order routes arrive in, and incremental export always converges to what
//! a from-scratch export of the Loc-RIB would send.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bgp::rib::{ExportPolicy, ImportPolicy, PeerConfig, PeerId, Rib, RouteSource};
use bgp::route::{AsPath, AsSegment, IpNet, Origin, PathAttributes};
use bgp::wire::Update;
use proptest::prelude::*;

const LOCAL_AS: u32 = 64512;

fn cfg(asn: u32, i: u8) -> PeerConfig {
    PeerConfig {
        peer_as: asn,
        peer_router_id: Ipv4Addr::new(10, 0, 0, 10 + i),
        peer_address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10 + i)),
        import: ImportPolicy::default(),
        export: ExportPolicy::default(),
    }
}

fn arb_attrs() -> impl Strategy<Value = PathAttributes> {
    (
        prop::collection::vec(prop::sample::select(vec![1u32, 2, 3, LOCAL_AS]), 0..4),
        prop::sample::select(vec![Origin::Igp, Origin::Egp, Origin::Incomplete]),
        prop::option::of(0u32..3),
        prop::option::of(prop::sample::select(vec![50u32, 100, 200])),
    )
        .prop_map(|(path, origin, med, local_pref)| PathAttributes {
            origin,
            as_path: if path.is_empty() {
                AsPath::default()
            } else {
                AsPath(vec![AsSegment::Sequence(path)])
            },
            med,
            local_pref,
            ..PathAttributes::originated(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        })
}

/// Peers: 0 and 1 in AS 1, 2 in AS 2, 3 iBGP.
fn peer_ases() -> [u32; 4] {
    [1, 1, 2, LOCAL_AS]
}

fn prefix(i: u8) -> IpNet {
    IpNet::new(Ipv4Addr::new(10, i, 0, 0).into(), 16).unwrap()
}

proptest! {
    #[test]
    fn best_path_does_not_depend_on_arrival_order(
        routes in prop::collection::vec((0usize..4, arb_attrs()), 1..6),
        perm in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        // One route per peer at most (a later one would replace it).
        let mut per_peer = BTreeMap::new();
        for (p, a) in routes {
            per_peer.insert(p, a);
        }
        let routes: Vec<_> = per_peer.into_iter().collect();
        let t = Instant::now();
        let run = |order: &[usize]| {
            let mut rib = Rib::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1));
            let ids: Vec<PeerId> = peer_ases()
                .iter()
                .enumerate()
                .map(|(i, asn)| rib.add_peer(cfg(*asn, i as u8)))
                .collect();
            for &k in order {
                let (p, a) = &routes[k];
                let u = Update {
                    attributes: Some(a.clone()),
                    announced: vec![prefix(1)],
                    ..Update::default()
                };
                rib.apply_update(ids[*p], &u, t).unwrap();
            }
            rib.best(&prefix(1)).map(|r| r.source)
        };
        let forward: Vec<usize> = (0..routes.len()).collect();
        let mut shuffled = forward.clone();
        let mut x = perm;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        let reverse: Vec<usize> = forward.iter().rev().copied().collect();
        let a = run(&forward);
        prop_assert_eq!(a, run(&reverse));
        prop_assert_eq!(a, run(&shuffled));
        // Routes with our AS never win.
        if let Some(RouteSource::Peer(p)) = a {
            let (_, attrs) = routes.iter().find(|(q, _)| *q == p.index() as usize).unwrap();
            prop_assert!(!attrs.as_path.contains(LOCAL_AS));
        }
    }

    #[test]
    fn incremental_export_matches_a_fresh_export(
        steps in prop::collection::vec(
            (0usize..4, prop::option::of(arb_attrs()), prop::collection::vec(0u8..8, 1..4), any::<bool>()),
            1..40,
        ),
    ) {
        let t = Instant::now();
        let mut rib = Rib::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1));
        let ids: Vec<PeerId> = peer_ases()
            .iter()
            .enumerate()
            .map(|(i, asn)| rib.add_peer(cfg(*asn, i as u8)))
            .collect();
        let watcher = rib.add_peer(PeerConfig {
            export: ExportPolicy { prepend: 1, med: Some(5), ..ExportPolicy::default() },
            ..cfg(3, 9)
        });
        for id in ids.iter().chain([&watcher]) {
            rib.peer_up(*id, rib.peer_config(*id).peer_router_id);
        }
        // What the watcher has been told, rebuilt from the updates alone.
        let mut told: BTreeMap<IpNet, PathAttributes> = BTreeMap::new();
        for (p, attrs, prefixes, drain_now) in steps {
            let prefixes: Vec<IpNet> = prefixes.into_iter().map(prefix).collect();
            let u = match attrs {
                Some(a) => Update { attributes: Some(a), announced: prefixes, ..Update::default() },
                None => Update { withdrawn: prefixes, ..Update::default() },
            };
            rib.apply_update(ids[p], &u, t).unwrap();
            if p == 0 && drain_now {
                rib.peer_down(ids[0]);
                rib.peer_up(ids[0], rib.peer_config(ids[0]).peer_router_id);
            }
            if drain_now {
                while let Some(u) = rib.poll_export(watcher) {
                    for w in &u.withdrawn {
                        prop_assert!(told.remove(w).is_some(), "withdrawal of {} never sent", w);
                    }
                    for a in &u.announced {
                        told.insert(*a, u.attributes.clone().unwrap());
                    }
                }
            }
        }
        while let Some(u) = rib.poll_export(watcher) {
            for w in &u.withdrawn {
                prop_assert!(told.remove(w).is_some());
            }
            for a in &u.announced {
                told.insert(*a, u.attributes.clone().unwrap());
            }
        }
        // A fresh session gets the same table.
        let mut fresh: BTreeMap<IpNet, PathAttributes> = BTreeMap::new();
        rib.peer_down(watcher);
        rib.peer_up(watcher, Ipv4Addr::new(10, 0, 0, 19));
        while let Some(u) = rib.poll_export(watcher) {
            prop_assert!(u.withdrawn.is_empty());
            for a in &u.announced {
                fresh.insert(*a, u.attributes.clone().unwrap());
            }
        }
        prop_assert_eq!(&told, &fresh);
        // And it is every best route not learned from the watcher, with
        // the policy applied.
        for (p, r) in rib.iter_best() {
            let sent = fresh.get(&p).expect("best route exported");
            prop_assert_eq!(sent.med, Some(5));
            prop_assert_eq!(sent.as_path.first_as(), Some(LOCAL_AS));
            prop_assert_eq!(sent.as_path.len(), r.attrs.as_path.len() + 2);
        }
        prop_assert_eq!(fresh.len(), rib.loc_rib_len());
    }
}
