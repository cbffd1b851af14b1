//! Dead peer detection (RFC 7296 2.4) on a virtual clock: probes after
//! silence and only then, answered probes keep the SA, and each DPD action
//! at exactly the AWS timing (probe after 10 s idle, dead 30 s after the
//! first unanswered probe).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::{DeletedBy, Dpd, DpdAction, Event, IkeConfig, PreferOwn, State};
use ike::wire::ExchangeType;

const CBC128: EncrAlg = EncrAlg::AesCbc { key_bits: 128 };

fn cgw(dpd: Option<Dpd>) -> IkeConfig {
    let mut c = IkeConfig::new(
        psk("shared-secret-0123456789"),
        vec![ike_proposal(
            CBC128,
            Some(IntegAlg::HmacSha1_96),
            PrfAlg::HmacSha1,
            DhGroup::Modp2048,
        )],
        vec![esp_proposal(CBC128, Some(IntegAlg::HmacSha1_96))],
    );
    c.dpd = dpd;
    c
}

fn aws(dpd: Option<Dpd>) -> IkeConfig {
    let mut c = IkeConfig::new(
        psk("shared-secret-0123456789"),
        aws_ike_proposals(),
        aws_esp_proposals(),
    );
    c.policy = Arc::new(PreferOwn);
    c.dpd = dpd;
    c
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Times of INFORMATIONAL requests sent in `dir`.
fn info_requests(p: &Pair, dir: Dir) -> Vec<Duration> {
    p.sent_times(dir, |t| is_request(t, ExchangeType::INFORMATIONAL))
}

fn events_of(p: &Pair, side: Side) -> Vec<(Duration, Event)> {
    p.timed_events
        .iter()
        .filter(|(s, _, _)| *s == side)
        .map(|(_, t, e)| (*t, e.clone()))
        .collect()
}

/// Sets up the pair (the initiator is established at 40 ms: 10 ms latency,
/// two round trips) and returns the initiator's child inbound SPI.
fn establish(p: &mut Pair) -> u32 {
    p.drive_for(Duration::from_secs(1));
    assert_eq!(p.initiator.state(), State::Established);
    let est = events_of(p, Side::Initiator)
        .into_iter()
        .find(|(_, e)| matches!(e, Event::IkeSaEstablished(_)))
        .unwrap();
    assert_eq!(est.0, ms(40));
    child_installed(&p.initiator_events).unwrap().spi_in
}

#[test]
fn probes_after_idle_and_answered_probes_keep_the_sa() {
    let mut p = Pair::new(cgw(Some(Dpd::aws())), aws(None));
    establish(&mut p);
    p.advance(Duration::from_secs(35));
    // 10 s after the last message from the peer, each time: the answer to
    // a probe arrives 20 ms after it.
    assert_eq!(
        info_requests(&p, Dir::ToResponder),
        vec![ms(10_040), ms(20_060), ms(30_080)]
    );
    assert!(info_requests(&p, Dir::ToInitiator).is_empty());
    assert_eq!(p.initiator.state(), State::Established);
    assert_eq!(p.responder().unwrap().state(), State::Established);
    assert!(!p
        .initiator_events
        .iter()
        .any(|e| matches!(e, Event::DpdTimeout { .. } | Event::IkeSaClosed { .. })));
    assert_eq!(p.initiator.stats().retransmissions, 0);
}

#[test]
fn both_sides_running_dpd_share_the_probing() {
    // A probe resets the idle time of the side it reaches, so with both
    // sides running DPD there is one probe per 10 s in all, not one each:
    // the responder (established 10 ms earlier) first, then they alternate.
    let mut p = Pair::new(cgw(Some(Dpd::aws())), aws(Some(Dpd::aws())));
    establish(&mut p);
    p.advance(Duration::from_secs(31));
    assert_eq!(
        info_requests(&p, Dir::ToInitiator),
        vec![ms(10_030), ms(30_050)]
    );
    assert_eq!(info_requests(&p, Dir::ToResponder), vec![ms(20_040)]);
    assert_eq!(p.initiator.stats().retransmissions, 0);
}

#[test]
fn no_probe_while_esp_flows() {
    let mut p = Pair::new(cgw(Some(Dpd::aws())), aws(None));
    establish(&mut p);
    // ESP from the peer every second for a minute.
    for _ in 0..60 {
        p.advance(Duration::from_secs(1));
        let now = p.now;
        p.initiator.note_inbound_esp(now);
    }
    assert!(info_requests(&p, Dir::ToResponder).is_empty());
    let last_esp = p.elapsed();
    p.advance(Duration::from_secs(15));
    assert_eq!(
        info_requests(&p, Dir::ToResponder),
        vec![last_esp + Duration::from_secs(10)]
    );
}

#[test]
fn endpoint_reports_esp_for_the_sa_owning_the_spi() {
    // The responder endpoint probes after idle unless the data plane
    // reports ESP on its child's inbound SPI.
    let mut p = Pair::new(cgw(None), aws(Some(Dpd::aws())));
    establish(&mut p);
    let spi = child_installed(&p.responder_events).unwrap().spi_in;
    let id = p.responder_id().unwrap();
    for _ in 0..30 {
        p.advance(Duration::from_secs(1));
        let now = p.now;
        assert_eq!(p.responders.note_inbound_esp(now, spi), Some(id));
        assert_eq!(p.responders.note_inbound_esp(now, spi ^ 1), None);
    }
    assert!(info_requests(&p, Dir::ToInitiator).is_empty());
    p.advance(Duration::from_secs(11));
    assert_eq!(info_requests(&p, Dir::ToInitiator).len(), 1);
}

/// Cuts the link at 1 s: the first probe leaves at 10.04 s, is retransmitted
/// at 12.04, 16.04 and 24.04 s (2 s doubling), and the peer is dead at
/// 40.04 s, 30 s after the first probe (the retransmission due then is not
/// sent).
fn dead_at_aws_timing(p: &mut Pair, action: DpdAction) {
    p.link_up = false;
    p.advance(Duration::from_secs(39));
    assert!(!p
        .initiator_events
        .iter()
        .any(|e| matches!(e, Event::DpdTimeout { .. })));
    p.advance(Duration::from_secs(2));
    assert_eq!(
        info_requests(p, Dir::ToResponder),
        vec![ms(10_040), ms(12_040), ms(16_040), ms(24_040)]
    );
    let dpd = events_of(p, Side::Initiator)
        .into_iter()
        .find(|(_, e)| matches!(e, Event::DpdTimeout { .. }))
        .expect("DPD timeout");
    assert_eq!(
        dpd,
        (
            ms(40_040),
            Event::DpdTimeout {
                action,
                retransmits: 3
            }
        )
    );
}

#[test]
fn clear_closes_30s_after_the_first_unanswered_probe() {
    let mut p = Pair::new(cgw(Some(Dpd::aws())), aws(None));
    let spi = establish(&mut p);
    dead_at_aws_timing(&mut p, DpdAction::Clear);
    let tail: Vec<_> = events_of(&p, Side::Initiator)
        .into_iter()
        .filter(|(t, _)| *t >= ms(40_040))
        .collect();
    assert_eq!(
        tail,
        vec![
            (
                ms(40_040),
                Event::DpdTimeout {
                    action: DpdAction::Clear,
                    retransmits: 3
                }
            ),
            (
                ms(40_040),
                Event::ChildSaDeleted {
                    spi_in: spi,
                    by: DeletedBy::Us
                }
            ),
            (ms(40_040), Event::IkeSaClosed { by: DeletedBy::Us }),
        ]
    );
    assert!(p.initiator.is_closed());
    let sent = p.wire.len();
    p.advance(Duration::from_secs(120));
    assert_eq!(p.wire.len(), sent, "nothing sent after clear");
}

#[test]
fn restart_starts_a_new_ike_sa_once_the_link_returns() {
    let dpd = Dpd {
        action: DpdAction::Restart,
        ..Dpd::aws()
    };
    let mut p = Pair::new(cgw(Some(dpd)), aws(None));
    let spi = establish(&mut p);
    let old_spi_i = p.initiator.spi_i();
    dead_at_aws_timing(&mut p, DpdAction::Restart);
    assert!(p.initiator_events.contains(&Event::ChildSaDeleted {
        spi_in: spi,
        by: DeletedBy::Us
    }));
    assert!(p
        .initiator_events
        .contains(&Event::IkeSaClosed { by: DeletedBy::Us }));
    assert_eq!(p.initiator.state(), State::InitSent);
    assert_ne!(p.initiator.spi_i(), old_spi_i);
    // IKE_SA_INIT at 40.04 s and retransmitted at 42.04 and 46.04 s into
    // the cut; the link returns at 50 s and the one at 54.04 s gets through.
    p.advance(ms(8_960));
    p.link_up = true;
    p.advance(Duration::from_secs(10));
    let inits = p.sent_times(Dir::ToResponder, |t| {
        is_request(t, ExchangeType::IKE_SA_INIT)
    });
    assert_eq!(
        inits,
        vec![ms(0), ms(40_040), ms(42_040), ms(46_040), ms(54_040)]
    );
    let est: Vec<_> = events_of(&p, Side::Initiator)
        .into_iter()
        .filter_map(|(t, e)| match e {
            Event::IkeSaEstablished(i) => Some((t, i.spi_i)),
            _ => None,
        })
        .collect();
    assert_eq!(est.len(), 2, "{:?}", p.initiator_events);
    assert_eq!(est[1].0, ms(54_080));
    assert_ne!(est[1].1, old_spi_i);
    assert_eq!(p.initiator.state(), State::Established);
    let installed = p
        .initiator_events
        .iter()
        .filter(|e| matches!(e, Event::ChildSaInstalled(_)))
        .count();
    assert_eq!(installed, 2);
    // The new SA runs DPD too: its first probe is answered.
    p.advance(Duration::from_secs(11));
    assert_eq!(
        *info_requests(&p, Dir::ToResponder).last().unwrap(),
        ms(64_080)
    );
    assert_eq!(p.initiator.state(), State::Established);
}

#[test]
fn action_none_keeps_the_sa_and_stops_probing_until_traffic_resumes() {
    let dpd = Dpd {
        action: DpdAction::None,
        ..Dpd::aws()
    };
    let mut p = Pair::new(cgw(Some(dpd)), aws(None));
    establish(&mut p);
    dead_at_aws_timing(&mut p, DpdAction::None);
    assert_eq!(p.initiator.state(), State::Established);
    assert!(!p
        .initiator_events
        .iter()
        .any(|e| matches!(e, Event::ChildSaDeleted { .. } | Event::IkeSaClosed { .. })));
    let sent = p.wire.len();
    p.advance(Duration::from_secs(200));
    assert_eq!(p.wire.len(), sent, "no probing while the peer is dead");
    assert_eq!(p.initiator.state(), State::Established);

    // Traffic from the peer again: the stalled probe goes out once more
    // (same message ID), is answered, and probing resumes.
    p.link_up = true;
    let resumed = p.elapsed();
    let now = p.now;
    p.initiator.note_inbound_esp(now);
    p.advance(Duration::from_secs(11));
    let probes = info_requests(&p, Dir::ToResponder);
    assert_eq!(
        &probes[4..],
        &[resumed, resumed + ms(20) + Duration::from_secs(10)]
    );
    assert!(p.initiator.stats().retransmissions >= 3);
    assert_eq!(p.initiator.state(), State::Established);
    let timeouts = p
        .initiator_events
        .iter()
        .filter(|e| matches!(e, Event::DpdTimeout { .. }))
        .count();
    assert_eq!(timeouts, 1);
}

#[test]
fn a_probe_answered_late_keeps_the_sa() {
    // The link drops the first three transmissions of the probe; the
    // fourth (24.04 s) is answered before the timeout.
    let mut p = Pair::new(cgw(Some(Dpd::aws())), aws(None));
    establish(&mut p);
    let mut n = 0;
    p.drop = Box::new(move |d, _, t| {
        if d == Dir::ToResponder && is_request(t, ExchangeType::INFORMATIONAL) {
            n += 1;
            n <= 3
        } else {
            false
        }
    });
    p.advance(Duration::from_secs(40));
    assert_eq!(
        info_requests(&p, Dir::ToResponder),
        vec![ms(10_040), ms(12_040), ms(16_040), ms(24_040), ms(34_060)]
    );
    assert_eq!(p.initiator.state(), State::Established);
    assert!(!p
        .initiator_events
        .iter()
        .any(|e| matches!(e, Event::DpdTimeout { .. })));
}

#[test]
fn no_probe_while_another_request_is_outstanding() {
    // A delete the peer never answers: its retransmissions (5, 7, 11, 19,
    // 35 s) test the peer; DPD sends nothing of its own.
    let mut p = Pair::new(cgw(Some(Dpd::aws())), aws(None));
    let spi = establish(&mut p);
    p.link_up = false;
    p.advance(ms(3_960));
    let now = p.now;
    p.initiator.delete_child(now, spi).unwrap();
    p.advance(Duration::from_secs(100));
    let sent: Vec<_> = p
        .wire
        .iter()
        .filter(|(d, t)| *d == Dir::ToResponder && is_request(t, ExchangeType::INFORMATIONAL))
        .map(|(_, t)| t.payload.clone())
        .collect();
    assert_eq!(sent.len(), 5);
    assert!(sent.iter().all(|s| *s == sent[0]), "only retransmissions");
    assert!(!p
        .initiator_events
        .iter()
        .any(|e| matches!(e, Event::DpdTimeout { .. })));
}
