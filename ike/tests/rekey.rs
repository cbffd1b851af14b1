//! Rekeying on a virtual clock: child SAs with PFS, the IKE SA, both
//! directions, lifetimes with margin and fuzz, hard expiry, and
//! simultaneous rekeys at every step of an exchange. ESP flows both ways
//! throughout and no packet may find no SA.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::duo::{live_id, Duo, Side};
use common::*;
use ike::crypto::{DhGroup, EncrAlg, PrfAlg};
use ike::sa::{Event, IkeConfig, Lifetimes, PreferOwn};

fn configs(lifetimes: Lifetimes) -> (IkeConfig, IkeConfig) {
    let gcm = EncrAlg::AesGcm16 { key_bits: 128 };
    let mut esp = esp_proposal(gcm, None);
    esp.dh = vec![DhGroup::Modp2048];
    let mut cgw = IkeConfig::new(
        psk("rekey-psk-0123456789"),
        vec![ike_proposal(gcm, None, PrfAlg::HmacSha256, DhGroup::Ecp256)],
        vec![esp.clone()],
    );
    cgw.lifetimes = lifetimes;
    let mut aws = IkeConfig::new(
        psk("rekey-psk-0123456789"),
        vec![ike_proposal(gcm, None, PrfAlg::HmacSha256, DhGroup::Ecp256)],
        vec![esp],
    );
    aws.lifetimes = lifetimes;
    aws.policy = Arc::new(PreferOwn);
    (cgw, aws)
}

fn long() -> Lifetimes {
    Lifetimes {
        ike: Duration::from_secs(28800),
        child: Duration::from_secs(3600),
        margin: Duration::from_secs(270),
        fuzz_percent: 100,
    }
}

fn up(lifetimes: Lifetimes, seed: u8) -> Duo {
    let (c, a) = configs(lifetimes);
    let mut d = Duo::new(c, a, seed);
    d.run_for(Duration::from_secs(1));
    assert_eq!(d.cgw_dp.live_children(), 1, "{:?}", d.cgw_events);
    d.traffic(Duration::from_millis(10));
    d
}

fn assert_clean(d: &Duo) {
    for (name, dp) in [("cgw", &d.cgw_dp), ("aws", &d.aws_dp)] {
        let s = dp.stats;
        assert_eq!(
            (s.no_outbound, s.no_inbound, s.open_errors),
            (0, 0, 0),
            "{name}: {s:?}"
        );
        assert!(s.received > 0, "{name}: no traffic at all");
    }
    // Both ends agree on the one pair left.
    let c = d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis();
    let a = d.aws.sa(live_id(&d.aws)).unwrap().child_spis();
    assert_eq!(c.len(), 1, "cgw children {c:?}");
    assert_eq!(a.len(), 1, "aws children {a:?}");
    assert_eq!((c[0].0, c[0].1), (a[0].1, a[0].0));
    assert_eq!(d.cgw_dp.live_children(), 1);
    assert_eq!(d.aws_dp.live_children(), 1);
}

fn rekeyed(events: &[(Duration, Event)]) -> Vec<&ike::sa::ChildSaInfo> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::ChildSaInstalled(c) if c.replaces.is_some() => Some(c),
            _ => None,
        })
        .collect()
}

fn rekey_child(d: &mut Duo, side: Side) -> bool {
    let now = d.now;
    let ep = match side {
        Side::Cgw => &mut d.cgw,
        Side::Aws => &mut d.aws,
    };
    let id = live_id(ep);
    let sa = ep.sa_mut(id).unwrap();
    let spis = sa.child_spis();
    spis.first()
        .is_some_and(|(spi_in, _)| sa.rekey_child(now, *spi_in))
}

#[test]
fn child_rekey_with_pfs_both_directions() {
    for side in [Side::Cgw, Side::Aws] {
        let mut d = up(long(), 1);
        let before = d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis()[0];
        assert!(rekey_child(&mut d, side));
        d.run_for(Duration::from_secs(5));
        let after = d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis()[0];
        assert_ne!(before, after);
        for ev in [&d.cgw_events, &d.aws_events] {
            let r = rekeyed(ev);
            assert_eq!(r.len(), 1, "{side:?}");
            assert_eq!(r[0].suite.dh, Some(DhGroup::Modp2048), "PFS group applied");
            // The new pair is reported before the old one goes, on both sides.
            let old = r[0].replaces.unwrap();
            let installed = ev.iter().position(
                |(_, e)| matches!(e, Event::ChildSaInstalled(c) if c.replaces == Some(old)),
            );
            let deleted = ev.iter().position(
                |(_, e)| matches!(e, Event::ChildSaDeleted { spi_in, .. } if *spi_in == old),
            );
            assert!(installed < deleted && deleted.is_some(), "{side:?}: {ev:?}");
        }
        assert_clean(&d);
    }
}

#[test]
fn ike_rekey_moves_the_child_and_keeps_working() {
    for side in [Side::Cgw, Side::Aws] {
        let mut d = up(long(), 2);
        let old = d.cgw.sa(live_id(&d.cgw)).unwrap();
        let (old_i, old_r, child) = (old.spi_i(), old.spi_r(), old.child_spis());
        let now = d.now;
        let ep = if side == Side::Cgw {
            &mut d.cgw
        } else {
            &mut d.aws
        };
        let id = live_id(ep);
        assert!(ep.sa_mut(id).unwrap().rekey_ike(now));
        d.run_for(Duration::from_secs(5));
        let new = d.cgw.sa(live_id(&d.cgw)).unwrap();
        assert_ne!((new.spi_i(), new.spi_r()), (old_i, old_r));
        assert_eq!(new.child_spis(), child, "children moved unchanged");
        assert!(d
            .cgw_events
            .iter()
            .any(|(_, e)| matches!(e, Event::IkeSaRekeyed { .. })));
        assert!(
            !d.cgw_events
                .iter()
                .any(|(_, e)| matches!(e, Event::IkeSaClosed { .. })),
            "no close reported"
        );
        // The old SA is gone from both endpoints after its delete.
        assert_eq!(d.cgw.sas().count(), 1);
        assert_eq!(d.aws.sas().count(), 1);
        // The new IKE SA's SK_d keys the next child rekey.
        assert!(rekey_child(&mut d, Side::Cgw));
        d.run_for(Duration::from_secs(5));
        assert_eq!(rekeyed(&d.cgw_events).len(), 1);
        assert_clean(&d);
    }
}

#[test]
fn simultaneous_child_rekeys_at_every_step() {
    // The peer starts its rekey of the same pair 0 ms to 120 ms after ours
    // (one-way latency 20 ms): while our request is in flight, after it
    // arrived, while the answer is in flight, after it, during the delete.
    for (i, offset_ms) in [0u64, 1, 10, 19, 20, 21, 30, 39, 40, 41, 50, 60, 61, 80, 120]
        .into_iter()
        .enumerate()
    {
        let mut d = up(long(), 10 + i as u8);
        assert!(rekey_child(&mut d, Side::Cgw));
        d.run_for(Duration::from_millis(offset_ms));
        let peer_started = rekey_child(&mut d, Side::Aws);
        d.run_for(Duration::from_secs(5));
        assert_clean(&d);
        let deleted = d.cgw_dp.stats.deleted + d.aws_dp.stats.deleted;
        if peer_started && offset_ms < 40 {
            // Both exchanges completed: a collision, resolved by deleting
            // the redundant new pair and the old one.
            assert!(
                rekeyed(&d.cgw_events).len() == 2,
                "offset {offset_ms}: {:?}",
                d.cgw_events
            );
            assert!(deleted >= 4, "offset {offset_ms}: deleted {deleted}");
            // Both ends report the collision once; exactly one of them
            // deletes the redundant pair, and both keep the same one.
            let collisions = |ev: &[(Duration, Event)]| -> Vec<(u32, u32, bool)> {
                ev.iter()
                    .filter_map(|(_, e)| match e {
                        Event::ChildRekeyCollision {
                            kept_spi_in,
                            redundant_spi_in,
                            we_delete_redundant,
                            ..
                        } => Some((*kept_spi_in, *redundant_spi_in, *we_delete_redundant)),
                        _ => None,
                    })
                    .collect()
            };
            let (c, a) = (collisions(&d.cgw_events), collisions(&d.aws_events));
            assert_eq!((c.len(), a.len()), (1, 1), "offset {offset_ms}");
            assert_ne!(c[0].2, a[0].2, "offset {offset_ms}: one side deletes it");
            let kept = d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis()[0].0;
            assert_eq!(c[0].0, kept, "offset {offset_ms}");
        }
    }
}

#[test]
fn simultaneous_ike_rekeys_leave_one_ike_sa() {
    for (i, offset_ms) in [0u64, 5, 19, 21, 39, 41, 60].into_iter().enumerate() {
        let mut d = up(long(), 40 + i as u8);
        let now = d.now;
        let id = live_id(&d.cgw);
        assert!(d.cgw.sa_mut(id).unwrap().rekey_ike(now));
        d.run_for(Duration::from_millis(offset_ms));
        let now = d.now;
        let aws_id = d
            .aws
            .sas()
            .find(|(_, s)| !s.is_closed() && s.state() == ike::sa::State::Established)
            .map(|(i, _)| i);
        if let Some(id) = aws_id {
            let _ = d.aws.sa_mut(id).unwrap().rekey_ike(now);
        }
        d.run_for(Duration::from_secs(20));
        let c = d.cgw.sa(live_id(&d.cgw)).unwrap();
        let a = d.aws.sa(live_id(&d.aws)).unwrap();
        assert_eq!(
            (c.spi_i(), c.spi_r()),
            (a.spi_i(), a.spi_r()),
            "offset {offset_ms}"
        );
        assert_eq!(
            d.cgw.sas().count(),
            1,
            "offset {offset_ms}: redundant IKE SAs deleted"
        );
        assert_eq!(d.aws.sas().count(), 1, "offset {offset_ms}");
        assert_clean(&d);
    }
}

#[test]
fn rekey_times_follow_margin_and_fuzz() {
    // Child lifetime 900 s, margin 60 s, fuzz 100 %: the first rekey starts
    // between 780 s and 840 s after installation, on whichever side is first.
    for seed in 0..8u8 {
        let lt = Lifetimes {
            ike: Duration::from_secs(28800),
            child: Duration::from_secs(900),
            margin: Duration::from_secs(60),
            fuzz_percent: 100,
        };
        let mut d = up(lt, 60 + seed);
        d.run_for(Duration::from_secs(1000));
        let first = d
            .cgw_events
            .iter()
            .chain(d.aws_events.iter())
            .filter_map(|(t, e)| match e {
                Event::ChildSaInstalled(c) if c.replaces.is_some() => Some(*t),
                _ => None,
            })
            .min()
            .expect("rekeyed");
        assert!(
            first >= Duration::from_secs(780) && first <= Duration::from_secs(841),
            "seed {seed}: {first:?}"
        );
        assert_clean(&d);
    }
}

#[test]
fn hard_expiry_when_rekeying_is_impossible() {
    let lt = Lifetimes {
        ike: Duration::from_secs(3000),
        child: Duration::from_secs(900),
        margin: Duration::from_secs(60),
        fuzz_percent: 0,
    };
    let mut d = up(lt, 80);
    d.esp_every = None;
    let cut = d.now;
    // From now on every IKE message is lost.
    d.drop = Box::new(|_, p, _| matches!(p, common::duo::Packet::Ike(_)));
    d.run_for(Duration::from_secs(3100));
    let deleted_at = d
        .cgw_events
        .iter()
        .find_map(|(t, e)| matches!(e, Event::ChildSaDeleted { .. }).then_some(*t))
        .expect("child expired");
    let expected = (cut - d.start) + Duration::from_secs(900) - Duration::from_secs(1);
    assert!(
        deleted_at >= expected && deleted_at <= expected + Duration::from_secs(2),
        "{deleted_at:?} vs {expected:?}"
    );
    assert!(d
        .cgw_events
        .iter()
        .any(|(_, e)| matches!(e, Event::IkeSaClosed { .. } | Event::IkeSaFailed(_))));
}
