//! A full table of 1,000,000 IPv4 prefixes with 1000 distinct attribute
//! sets loaded from one peer into its Adj-RIB-In and the Loc-RIB, then
//! exported to a second peer (Adj-RIB-Out). Prints time and heap use,
//! measured by a counting global allocator (this binary only, one test so
//! nothing else allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use bgp::rib::{ExportPolicy, ImportPolicy, PeerConfig, Rib, RibEvent};
use bgp::route::{AsPath, AsSegment, IpNet, Origin, PathAttributes};
use bgp::wire::Update;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now =
                    CURRENT.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const PREFIXES: u32 = 1_000_000;
const ATTR_SETS: u32 = 1000;
const LIMIT_MB: usize = 500;

/// A deterministic generator (SplitMix64).
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

fn attribute_sets(g: &mut Gen) -> Vec<PathAttributes> {
    (0..ATTR_SETS)
        .map(|i| {
            let len = 1 + g.below(6) as usize;
            let mut path = vec![65001];
            path.extend((1..len).map(|_| 1 + g.below(64000) as u32));
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
                communities: (0..g.below(4)).map(|_| g.next() as u32).collect(),
                atomic_aggregate: false,
                other: Vec::new(),
            }
        })
        .collect()
}

/// 1,000,000 distinct /24s (an odd multiplier permutes the 2^24 /24s),
/// in updates of 1 to 100 prefixes sharing one of the attribute sets.
fn full_table(g: &mut Gen, sets: &[PathAttributes]) -> Vec<Update> {
    let mut updates = Vec::new();
    let mut i = 0u32;
    while i < PREFIXES {
        let n = (1 + g.below(100) as u32).min(PREFIXES - i);
        let announced = (i..i + n)
            .map(|k| {
                let slash24 = k.wrapping_mul(2_654_435_761) & 0x00FF_FFFF;
                IpNet::new(Ipv4Addr::from(slash24 << 8).into(), 24).unwrap()
            })
            .collect();
        let attrs = sets[g.below(u64::from(ATTR_SETS)) as usize].clone();
        updates.push(Update {
            attributes: Some(attrs),
            announced,
            ..Update::default()
        });
        i += n;
    }
    updates
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[test]
fn full_table_of_one_million_prefixes() {
    let mut g = Gen(42);
    let sets = attribute_sets(&mut g);
    let updates = full_table(&mut g, &sets);
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);

    let t = Instant::now();
    let mut rib = Rib::new(64512, Ipv4Addr::new(10, 0, 0, 1));
    let a = rib.add_peer(PeerConfig {
        peer_as: 65001,
        peer_router_id: Ipv4Addr::new(10, 0, 0, 2),
        peer_address: IpAddr::V4(Ipv4Addr::new(169, 254, 15, 194)),
        import: ImportPolicy {
            max_prefixes: Some(2_000_000),
            warning_threshold_percent: Some(90),
            ..ImportPolicy::default()
        },
        export: ExportPolicy::default(),
    });
    rib.peer_up(a, Ipv4Addr::new(10, 0, 0, 2));
    let start = Instant::now();
    let mut best_changes = 0usize;
    for u in &updates {
        rib.apply_update(a, u, t).unwrap();
        while let Some(e) = rib.poll_event() {
            if let RibEvent::BestChanged { .. } = e {
                best_changes += 1;
            }
        }
    }
    let load = start.elapsed();
    let loaded = CURRENT.load(Relaxed) - base;
    let load_peak = PEAK.load(Relaxed) - base;

    assert_eq!(rib.adj_rib_in_len(a), PREFIXES as usize);
    assert_eq!(rib.loc_rib_len(), PREFIXES as usize);
    assert_eq!(best_changes, PREFIXES as usize);
    assert!(rib.attribute_sets() <= ATTR_SETS as usize);
    let probe = rib.lookup(IpAddr::V4(Ipv4Addr::from(
        (7u32.wrapping_mul(2_654_435_761) & 0x00FF_FFFF) << 8 | 9,
    )));
    assert!(probe.is_some());

    println!(
        "full table: {} prefixes, {} updates, {} attribute sets: loaded into Adj-RIB-In + Loc-RIB in {:.2?} ({:.0} prefixes/s)",
        PREFIXES,
        updates.len(),
        rib.attribute_sets(),
        load,
        f64::from(PREFIXES) / load.as_secs_f64()
    );
    println!(
        "full table: heap {:.1} MiB live after load ({:.0} bytes/prefix), {:.1} MiB peak during load",
        mb(loaded),
        loaded as f64 / f64::from(PREFIXES),
        mb(load_peak)
    );
    assert!(
        loaded < LIMIT_MB << 20,
        "{:.1} MiB for the full table",
        mb(loaded)
    );

    // Export the table to a second peer: Adj-RIB-Out.
    let b = rib.add_peer(PeerConfig {
        peer_as: 65002,
        peer_router_id: Ipv4Addr::new(10, 0, 0, 3),
        peer_address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
        import: ImportPolicy::default(),
        export: ExportPolicy {
            next_hop_self: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            ..ExportPolicy::default()
        },
    });
    rib.peer_up(b, Ipv4Addr::new(10, 0, 0, 3));
    let start = Instant::now();
    let mut sent = 0usize;
    let mut messages = 0usize;
    while let Some(u) = rib.poll_export(b) {
        sent += u.announced.len();
        messages += 1;
    }
    let export = start.elapsed();
    let with_out = CURRENT.load(Relaxed) - base;
    assert_eq!(sent, PREFIXES as usize);
    println!(
        "full table: exported to a second peer in {:.2?} ({} updates); heap {:.1} MiB with its Adj-RIB-Out, {:.1} MiB peak",
        export,
        messages,
        mb(with_out),
        mb(PEAK.load(Relaxed) - base)
    );
    assert!(with_out < (LIMIT_MB + 200) << 20);

    // Dropping the source withdraws everything.
    let start = Instant::now();
    rib.peer_down(a);
    let mut withdrawals = 0usize;
    while let Some(e) = rib.poll_event() {
        if let RibEvent::BestChanged { best: None, .. } = e {
            withdrawals += 1;
        }
    }
    println!("full table: peer down in {:.2?}", start.elapsed());
    assert_eq!(withdrawals, PREFIXES as usize);
    assert_eq!(rib.loc_rib_len(), 0);
}
