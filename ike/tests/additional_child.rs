//! Child SA pairs beyond the first (CREATE_CHILD_SA without REKEY_SA), as
//! a policy-based device asks for one per subnet pair: accepted within the
//! responder's `max_child_sas`, refused over it with its
//! `extra_child_refusal` (AWS: one pair per tunnel, TS_UNACCEPTABLE), and
//! narrowed to the responder's selectors.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use common::duo::{live_id, Duo};
use common::*;
use ike::crypto::{DhGroup, EncrAlg, PrfAlg};
use ike::sa::{Event, Failure, IkeConfig, PreferOwn};
use ike::wire::{NotifyType, TrafficSelector, TsType};

fn net(a: [u8; 4], b: [u8; 4]) -> TrafficSelector {
    TrafficSelector {
        ts_type: TsType::IPV4_ADDR_RANGE,
        ip_protocol: 0,
        start_port: 0,
        end_port: 65535,
        start_addr: IpAddr::V4(Ipv4Addr::from(a)),
        end_addr: IpAddr::V4(Ipv4Addr::from(b)),
    }
}

fn lan0() -> TrafficSelector {
    net([198, 18, 0, 0], [198, 18, 0, 255])
}
fn lan1() -> TrafficSelector {
    net([198, 18, 1, 0], [198, 18, 1, 255])
}
fn vpc() -> TrafficSelector {
    net([198, 19, 0, 0], [198, 19, 255, 255])
}

/// A policy-based CGW (first pair lan0 <-> vpc) and an AWS-like responder
/// with 0.0.0.0/0 selectors, as `tweak` leaves it.
fn up_with(tweak: impl FnOnce(&mut IkeConfig), seed: u8) -> Duo {
    let gcm = EncrAlg::AesGcm16 { key_bits: 128 };
    let mut esp = esp_proposal(gcm, None);
    esp.dh = vec![DhGroup::Modp2048];
    let ike = vec![ike_proposal(gcm, None, PrfAlg::HmacSha256, DhGroup::Ecp256)];
    let mut cgw = IkeConfig::new(psk("extra-child-psk-0123"), ike.clone(), vec![esp.clone()]);
    cgw.local_ts = vec![lan0()];
    cgw.remote_ts = vec![vpc()];
    let mut aws = IkeConfig::new(psk("extra-child-psk-0123"), ike, vec![esp]);
    aws.policy = Arc::new(PreferOwn);
    tweak(&mut aws);
    let mut d = Duo::new(cgw, aws, seed);
    d.run_for(Duration::from_secs(1));
    assert_eq!(d.cgw_dp.live_children(), 1, "{:?}", d.cgw_events);
    d
}

/// [`up_with`] an AWS side holding `max` pairs and refusing with `refusal`.
fn up(max: usize, refusal: NotifyType, seed: u8) -> Duo {
    up_with(
        |a| {
            a.max_child_sas = max;
            a.extra_child_refusal = refusal;
        },
        seed,
    )
}

fn request(d: &mut Duo, local: TrafficSelector, remote: TrafficSelector) -> bool {
    let now = d.now;
    let id = live_id(&d.cgw);
    d.cgw
        .sa_mut(id)
        .unwrap()
        .create_child_sa(now, vec![local], vec![remote])
}

fn extra_failures(events: &[(Duration, Event)]) -> Vec<(Failure, Vec<TrafficSelector>)> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::AdditionalChildSaFailed { failure, tsi, .. } => {
                Some((failure.clone(), tsi.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_second_pair_is_installed_within_the_limit() {
    let mut d = up(2, NotifyType::NO_ADDITIONAL_SAS, 1);
    assert!(request(&mut d, lan1(), vpc()));
    d.run_for(Duration::from_secs(2));
    let cgw = d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis();
    let aws = d.aws.sa(live_id(&d.aws)).unwrap().child_spis();
    assert_eq!(cgw.len(), 2, "{:?}", d.cgw_events);
    assert_eq!(aws.len(), 2);
    // Both ends hold the same pairs, SPIs crossed.
    for (i, o) in &cgw {
        assert!(aws.contains(&(*o, *i)), "{cgw:?} vs {aws:?}");
    }
    // The new pair is a pair of its own, with the selectors asked for,
    // narrowed by AWS's 0.0.0.0/0 to exactly them.
    let extra: Vec<_> = d
        .cgw_events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::ChildSaInstalled(c) if c.local_ts == vec![lan1()] => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(extra.len(), 1);
    assert_eq!(extra[0].replaces, None);
    assert_eq!(extra[0].remote_ts, vec![vpc()]);
    assert!(extra_failures(&d.cgw_events).is_empty());
    assert!(extra_failures(&d.aws_events).is_empty());
}

#[test]
fn aws_refuses_a_second_pair_with_ts_unacceptable() {
    let mut d = up(1, NotifyType::TS_UNACCEPTABLE, 2);
    let before = d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis();
    assert!(request(&mut d, lan1(), vpc()));
    // One request at a time.
    assert!(!request(&mut d, lan1(), vpc()));
    d.run_for(Duration::from_secs(2));
    let cgw = extra_failures(&d.cgw_events);
    assert_eq!(cgw.len(), 1, "{:?}", d.cgw_events);
    assert!(
        matches!(cgw[0].0, Failure::PeerTsUnacceptable { .. }),
        "{cgw:?}"
    );
    assert_eq!(cgw[0].1, vec![lan1()]);
    let aws = extra_failures(&d.aws_events);
    assert_eq!(
        aws[0].0,
        Failure::ChildSaLimit {
            limit: 1,
            answered: NotifyType::TS_UNACCEPTABLE
        }
    );
    // The first pair and the IKE SA are untouched.
    assert_eq!(d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis(), before);
    assert_eq!(d.aws.sa(live_id(&d.aws)).unwrap().child_spis().len(), 1);
    for ev in [&d.cgw_events, &d.aws_events] {
        assert!(
            !ev.iter().any(|(_, e)| matches!(
                e,
                Event::ChildSaFailed(_) | Event::IkeSaClosed { .. } | Event::ChildSaDeleted { .. }
            )),
            "{ev:?}"
        );
    }
}

#[test]
fn the_default_limit_refuses_with_no_additional_sas() {
    let mut d = up_with(|_| {}, 3);
    assert!(request(&mut d, lan1(), vpc()));
    d.run_for(Duration::from_secs(2));
    let cgw = extra_failures(&d.cgw_events);
    assert!(
        matches!(
            cgw[0].0,
            Failure::PeerError {
                notify: NotifyType::NO_ADDITIONAL_SAS,
                ..
            }
        ),
        "{cgw:?}"
    );
}

#[test]
fn a_pair_outside_the_responders_selectors_is_ts_unacceptable() {
    // AWS with the connection's local (CGW side) and remote CIDRs set to
    // the first pair, room for more pairs: the second is outside them.
    let mut d = up_with(
        |a| {
            a.max_child_sas = 4;
            a.remote_ts = vec![lan0()];
            a.local_ts = vec![vpc()];
        },
        5,
    );
    assert!(request(&mut d, lan1(), vpc()));
    d.run_for(Duration::from_secs(2));
    let cgw = extra_failures(&d.cgw_events);
    assert!(
        matches!(cgw[0].0, Failure::PeerTsUnacceptable { .. }),
        "{cgw:?}"
    );
    let aws = extra_failures(&d.aws_events);
    assert!(
        matches!(aws[0].0, Failure::TsUnacceptable { .. }),
        "{aws:?}"
    );
    assert_eq!(d.cgw.sa(live_id(&d.cgw)).unwrap().child_spis().len(), 1);
}
