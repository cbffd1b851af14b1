//! 48 hours of virtual time with short lifetimes (phase 1 900 s, phase 2
//! 900 s, margin 60 s, fuzz 100 %): ESP flows both ways every second and
//! must never find a moment without an outbound SA, nor arrive for an SA
//! already gone; state must not grow (SAs counted, heap measured).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::duo::{live_id, Duo};
use common::*;
use ike::crypto::{DhGroup, EncrAlg, PrfAlg};
use ike::sa::{IkeConfig, Lifetimes, PreferOwn};

/// Counts live heap bytes, to show the engine does not grow over time.
struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as i64 - l.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn forty_eight_hours_of_rekeys_without_a_gap() {
    let lt = Lifetimes {
        ike: Duration::from_secs(900),
        child: Duration::from_secs(900),
        margin: Duration::from_secs(60),
        fuzz_percent: 100,
    };
    let gcm = EncrAlg::AesGcm16 { key_bits: 128 };
    let mut esp = esp_proposal(gcm, None);
    esp.dh = vec![DhGroup::Ecp256];
    let ike = vec![ike_proposal(gcm, None, PrfAlg::HmacSha256, DhGroup::Ecp256)];
    let mut cgw = IkeConfig::new(psk("soak-psk-0123456789"), ike.clone(), vec![esp.clone()]);
    cgw.lifetimes = lt;
    let mut aws = IkeConfig::new(psk("soak-psk-0123456789"), ike, vec![esp]);
    aws.lifetimes = lt;
    aws.policy = Arc::new(PreferOwn);

    let mut d = Duo::new(cgw, aws, 99);
    d.keep_events = false;
    d.run_for(Duration::from_secs(1));
    d.traffic(Duration::from_secs(1));
    d.run_for(Duration::from_secs(3600));
    let heap_after_1h = LIVE.load(Ordering::Relaxed);
    d.run_for(Duration::from_secs(47 * 3600));
    let heap_after_48h = LIVE.load(Ordering::Relaxed);

    let (c, a) = (d.cgw_dp.stats, d.aws_dp.stats);
    println!(
        "cgw: {c:?}\naws: {a:?}\nheap after 1 h: {heap_after_1h} B, after 48 h: {heap_after_48h} B"
    );
    for s in [c, a] {
        assert_eq!(s.no_outbound, 0, "a moment without an outbound SA");
        assert_eq!(s.no_inbound, 0, "a packet for an SA already gone");
        assert_eq!(s.open_errors, 0);
        assert!(s.received >= 48 * 3600 - 10, "traffic flowed: {s:?}");
        // 900 s lifetime, rekeyed every 780-840 s by one side or the other:
        // about 48 * 3600 / 840 ~ 205 child SAs or more in 48 h.
        assert!(s.installed > 200, "{s:?}");
        assert!(s.peak_live <= 3, "{s:?}");
        assert!(s.installed - s.deleted <= 1);
        assert!(s.ike_rekeys > 150, "IKE SA rekeyed every ~800 s: {s:?}");
    }
    // One IKE SA per end, one child pair each, nothing else left behind.
    assert_eq!(d.cgw.sas().count(), 1);
    assert_eq!(d.aws.sas().count(), 1);
    assert_eq!(d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis().len(), 1);
    assert_eq!(d.aws.sa(live_id(&d.aws)).unwrap().child_spis().len(), 1);
    assert_eq!(d.cgw_dp.live_children(), 1);
    // No growth: within a few KiB of the heap after the first hour.
    assert!(
        (heap_after_48h - heap_after_1h).abs() < 16 * 1024,
        "{heap_after_1h} -> {heap_after_48h}"
    );
}
