//! RIB benchmarks on a generated full table (1,000,000 distinct IPv4 /24s,
//! 1000 attribute sets, updates of 1-100 prefixes; the same generator as
//! `tests/rib_full_table.rs`):
//!
//! - `rib/full_table_load`: a fresh RIB, one peer, the whole table into its
//!   Adj-RIB-In and the Loc-RIB, events drained after each update
//!   (throughput in prefixes).
//! - `rib/best_path_recompute`: 100,000 of those prefixes announced by a
//!   second peer, alternately with a better path (the best changes to it)
//!   and a worse one (the best changes back): every prefix is reselected
//!   among two candidates.
//! - `rib/lookup`: longest-prefix match of 100,000 addresses.
//! - `rib/export_full_table`: a third peer comes up and the whole Loc-RIB
//!   is exported to it (`poll_export` until empty).
//!
//! Run: `cargo bench -p bgp --bench rib -- --warm-up-time 1
//! --measurement-time 5`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bgp::rib::{ExportPolicy, ImportPolicy, PeerConfig, PeerId, Rib};
use bgp::route::{AsPath, AsSegment, IpNet, Origin, PathAttributes};
use bgp::wire::Update;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const PREFIXES: u32 = 1_000_000;
const ATTR_SETS: u32 = 1000;
const RECOMPUTE: u32 = 100_000;

struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn attrs(path: Vec<u32>, i: u32, communities: Vec<u32>) -> PathAttributes {
    PathAttributes {
        origin: if i % 7 == 0 {
            Origin::Incomplete
        } else {
            Origin::Igp
        },
        as_path: AsPath(vec![AsSegment::Sequence(path)]),
        next_hop: IpAddr::V4(Ipv4Addr::new(169, 254, 15, 194)),
        med: (i % 3 == 0).then_some(i),
        local_pref: None,
        communities,
        atomic_aggregate: false,
        other: Vec::new(),
    }
}

fn prefix(k: u32) -> IpNet {
    let slash24 = k.wrapping_mul(2_654_435_761) & 0x00FF_FFFF;
    IpNet::new(Ipv4Addr::from(slash24 << 8).into(), 24).unwrap()
}

fn full_table() -> Vec<Update> {
    let mut g = Gen(42);
    let sets: Vec<PathAttributes> = (0..ATTR_SETS)
        .map(|i| {
            let len = 1 + g.below(6) as usize;
            let mut path = vec![65001];
            path.extend((1..len).map(|_| 1 + g.below(64000) as u32));
            let communities = (0..g.below(4)).map(|_| g.next() as u32).collect();
            attrs(path, i, communities)
        })
        .collect();
    let mut updates = Vec::new();
    let mut i = 0u32;
    while i < PREFIXES {
        let n = (1 + g.below(100) as u32).min(PREFIXES - i);
        updates.push(Update {
            attributes: Some(sets[g.below(u64::from(ATTR_SETS)) as usize].clone()),
            announced: (i..i + n).map(prefix).collect(),
            ..Update::default()
        });
        i += n;
    }
    updates
}

fn peer(asn: u32, last: u8) -> PeerConfig {
    PeerConfig {
        peer_as: asn,
        peer_router_id: Ipv4Addr::new(10, 0, 0, last),
        peer_address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
        import: ImportPolicy::default(),
        export: ExportPolicy::default(),
    }
}

fn load(updates: &[Update], t: Instant) -> (Rib, PeerId) {
    let mut rib = Rib::new(64512, Ipv4Addr::new(10, 0, 0, 1));
    let a = rib.add_peer(peer(65001, 2));
    rib.peer_up(a, Ipv4Addr::new(10, 0, 0, 2));
    for u in updates {
        rib.apply_update(a, u, t).unwrap();
        while rib.poll_event().is_some() {}
    }
    (rib, a)
}

fn benches(c: &mut Criterion) {
    let updates = full_table();
    let t = Instant::now();
    let mut g = c.benchmark_group("rib");
    g.sample_size(10);

    g.throughput(Throughput::Elements(u64::from(PREFIXES)));
    g.bench_function("full_table_load", |b| {
        b.iter_batched(|| (), |()| load(&updates, t), BatchSize::PerIteration)
    });

    let (mut rib, _a) = load(&updates, t);
    let b_peer = rib.add_peer(peer(65002, 3));
    let chunk = |path: Vec<u32>| -> Vec<Update> {
        (0..RECOMPUTE)
            .collect::<Vec<_>>()
            .chunks(500)
            .map(|ks| Update {
                attributes: Some(PathAttributes {
                    as_path: AsPath(if path.is_empty() {
                        vec![]
                    } else {
                        vec![AsSegment::Sequence(path.clone())]
                    }),
                    ..attrs(vec![], 1, Vec::new())
                }),
                announced: ks.iter().map(|&k| prefix(k)).collect(),
                ..Update::default()
            })
            .collect()
    };
    // Table paths hold 1 to 6 ASes: an empty path (not what a real eBGP
    // peer sends, but the RIB does not mind) beats all of them, a path of 8
    // loses to all of them.
    let better = chunk(vec![]);
    let worse = chunk(vec![65002, 1, 2, 3, 4, 5, 6, 7]);
    // Check once that every prefix really changes best route both ways.
    for (set, winner) in [(&better, Some(b_peer)), (&worse, None)] {
        for u in set {
            rib.apply_update(b_peer, u, t).unwrap();
        }
        let mut changes = 0;
        while let Some(e) = rib.poll_event() {
            changes += usize::from(matches!(e, bgp::rib::RibEvent::BestChanged { .. }));
        }
        assert_eq!(changes, RECOMPUTE as usize);
        let src = rib.best(&prefix(0)).unwrap().source;
        assert_eq!(src == bgp::rib::RouteSource::Peer(b_peer), winner.is_some());
    }
    g.throughput(Throughput::Elements(u64::from(RECOMPUTE)));
    let mut flip = false;
    g.bench_function("best_path_recompute", |b| {
        b.iter(|| {
            flip = !flip;
            let set = if flip { &better } else { &worse };
            for u in set {
                rib.apply_update(b_peer, u, t).unwrap();
                while rib.poll_event().is_some() {}
            }
        })
    });

    let mut gen = Gen(7);
    let addrs: Vec<IpAddr> = (0..100_000)
        .map(|_| IpAddr::V4(Ipv4Addr::from(gen.next() as u32)))
        .collect();
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.bench_function("lookup", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for a in &addrs {
                hits += usize::from(rib.lookup(*a).is_some());
            }
            black_box(hits)
        })
    });

    let c_peer = rib.add_peer(peer(65003, 4));
    g.throughput(Throughput::Elements(u64::from(PREFIXES)));
    g.bench_function("export_full_table", |b| {
        b.iter(|| {
            rib.peer_up(c_peer, Ipv4Addr::new(10, 0, 0, 4));
            let mut n = 0usize;
            while let Some(u) = rib.poll_export(c_peer) {
                n += u.announced.len();
            }
            rib.peer_down(c_peer);
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(rib_benches, benches);
criterion_main!(rib_benches);
