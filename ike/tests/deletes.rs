//! Deletes (RFC 7296 1.4.1) on a virtual clock: child and IKE SA, both
//! directions, crossing deletes, a delete for an SPI the peer no longer
//! knows, and deletes that are never answered.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::{DeleteError, DeletedBy, Dpd, Event, Failure, IkeConfig, PreferOwn, State};
use ike::wire::ExchangeType;

const CBC128: EncrAlg = EncrAlg::AesCbc { key_bits: 128 };

fn cgw() -> IkeConfig {
    IkeConfig::new(
        psk("shared-secret-0123456789"),
        vec![ike_proposal(
            CBC128,
            Some(IntegAlg::HmacSha1_96),
            PrfAlg::HmacSha1,
            DhGroup::Ecp256,
        )],
        vec![esp_proposal(CBC128, Some(IntegAlg::HmacSha1_96))],
    )
}

fn aws() -> IkeConfig {
    let mut c = IkeConfig::new(
        psk("shared-secret-0123456789"),
        aws_ike_proposals(),
        aws_esp_proposals(),
    );
    c.policy = Arc::new(PreferOwn);
    c
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Established pair: (initiator's child inbound SPI, responder's).
fn setup(p: &mut Pair) -> (u32, u32) {
    p.advance(Duration::from_secs(1));
    assert_eq!(p.initiator.state(), State::Established);
    (
        child_installed(&p.initiator_events).unwrap().spi_in,
        child_installed(&p.responder_events).unwrap().spi_in,
    )
}

fn deletions(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::ChildSaDeleted { .. } | Event::IkeSaClosed { .. } | Event::IkeSaFailed(_)
            )
        })
        .cloned()
        .collect()
}

fn timed(p: &Pair, side: Side) -> Vec<(Duration, Event)> {
    p.timed_events
        .iter()
        .filter(|(s, _, e)| *s == side && !deletions(std::slice::from_ref(e)).is_empty())
        .map(|(_, t, e)| (*t, e.clone()))
        .collect()
}

#[test]
fn we_delete_the_child_sa() {
    let mut p = Pair::new(cgw(), aws());
    let (ours, theirs) = setup(&mut p);
    let now = p.now;
    p.initiator.delete_child(now, ours).unwrap();
    p.drive_for(Duration::from_secs(5));
    assert_eq!(
        deletions(&p.initiator_events),
        vec![Event::ChildSaDeleted {
            spi_in: ours,
            by: DeletedBy::Us
        }]
    );
    assert_eq!(
        deletions(&p.responder_events),
        vec![Event::ChildSaDeleted {
            spi_in: theirs,
            by: DeletedBy::Peer
        }]
    );
    // The child is gone on both sides; the IKE SAs stay.
    assert!(!p.initiator.has_child(ours));
    assert!(!p.responder().unwrap().has_child(theirs));
    assert_eq!(p.initiator.state(), State::Established);
    assert_eq!(p.responder().unwrap().state(), State::Established);
    assert_eq!(p.initiator.stats().retransmissions, 0);
    // Deleting it again is refused.
    let now = p.now;
    assert_eq!(
        p.initiator.delete_child(now, ours),
        Err(DeleteError::UnknownChild(ours))
    );
}

#[test]
fn the_peer_deletes_the_child_sa() {
    let mut p = Pair::new(cgw(), aws());
    let (ours, theirs) = setup(&mut p);
    let id = p.responder_id().unwrap();
    let now = p.now;
    p.responders
        .sa_mut(id)
        .unwrap()
        .delete_child(now, theirs)
        .unwrap();
    p.drive_for(Duration::from_secs(5));
    assert_eq!(
        deletions(&p.initiator_events),
        vec![Event::ChildSaDeleted {
            spi_in: ours,
            by: DeletedBy::Peer
        }]
    );
    assert_eq!(
        deletions(&p.responder_events),
        vec![Event::ChildSaDeleted {
            spi_in: theirs,
            by: DeletedBy::Us
        }]
    );
    assert_eq!(p.initiator.state(), State::Established);
}

#[test]
fn we_delete_the_ike_sa_and_its_child() {
    let mut p = Pair::new(cgw(), aws());
    let (ours, theirs) = setup(&mut p);
    let now = p.now;
    p.initiator.delete_ike(now).unwrap();
    p.drive_for(Duration::from_secs(5));
    assert_eq!(
        timed(&p, Side::Initiator),
        vec![
            (
                ms(1_020),
                Event::ChildSaDeleted {
                    spi_in: ours,
                    by: DeletedBy::Us
                }
            ),
            (ms(1_020), Event::IkeSaClosed { by: DeletedBy::Us }),
        ]
    );
    assert_eq!(
        timed(&p, Side::Responder),
        vec![
            (
                ms(1_010),
                Event::ChildSaDeleted {
                    spi_in: theirs,
                    by: DeletedBy::Peer
                }
            ),
            (
                ms(1_010),
                Event::IkeSaClosed {
                    by: DeletedBy::Peer
                }
            ),
        ]
    );
    assert!(p.initiator.is_closed());
    assert!(p.responder().is_none());
    assert_eq!(
        p.initiator.delete_ike(p.now),
        Err(DeleteError::NotEstablished)
    );
}

#[test]
fn the_peer_deletes_the_ike_sa() {
    let mut p = Pair::new(cgw(), aws());
    let (ours, theirs) = setup(&mut p);
    let id = p.responder_id().unwrap();
    let now = p.now;
    p.responders.sa_mut(id).unwrap().delete_ike(now).unwrap();
    p.drive_for(Duration::from_secs(5));
    assert_eq!(
        deletions(&p.initiator_events),
        vec![
            Event::ChildSaDeleted {
                spi_in: ours,
                by: DeletedBy::Peer
            },
            Event::IkeSaClosed {
                by: DeletedBy::Peer
            },
        ]
    );
    assert_eq!(
        deletions(&p.responder_events),
        vec![
            Event::ChildSaDeleted {
                spi_in: theirs,
                by: DeletedBy::Us
            },
            Event::IkeSaClosed { by: DeletedBy::Us },
        ]
    );
    assert!(p.initiator.is_closed());
    assert!(p.responder().is_none());
}

#[test]
fn crossing_child_deletes_delete_once_on_each_side() {
    let mut p = Pair::new(cgw(), aws());
    let (ours, theirs) = setup(&mut p);
    let id = p.responder_id().unwrap();
    let now = p.now;
    p.initiator.delete_child(now, ours).unwrap();
    p.responders
        .sa_mut(id)
        .unwrap()
        .delete_child(now, theirs)
        .unwrap();
    p.drive_for(Duration::from_secs(5));
    // Each side learns of the delete first from the peer's request.
    assert_eq!(
        deletions(&p.initiator_events),
        vec![Event::ChildSaDeleted {
            spi_in: ours,
            by: DeletedBy::Peer
        }]
    );
    assert_eq!(
        deletions(&p.responder_events),
        vec![Event::ChildSaDeleted {
            spi_in: theirs,
            by: DeletedBy::Peer
        }]
    );
    assert_eq!(p.initiator.state(), State::Established);
    assert_eq!(p.initiator.stats().retransmissions, 0);
    assert_eq!(p.responder().unwrap().stats().retransmissions, 0);
}

#[test]
fn a_delete_for_an_spi_the_peer_no_longer_has_is_answered() {
    // The responder's delete is lost once; meanwhile our own delete of the
    // same pair completes, so its retransmission names an SPI we no longer
    // know. We answer (empty) and report nothing more.
    let mut p = Pair::new(cgw(), aws());
    let (ours, theirs) = setup(&mut p);
    let mut first = true;
    p.drop = Box::new(move |d, _, t| {
        let drop = d == Dir::ToInitiator && first && is_request(t, ExchangeType::INFORMATIONAL);
        if drop {
            first = false;
        }
        drop
    });
    let id = p.responder_id().unwrap();
    let now = p.now;
    p.responders
        .sa_mut(id)
        .unwrap()
        .delete_child(now, theirs)
        .unwrap();
    p.drive_for(ms(500));
    let now = p.now;
    p.initiator.delete_child(now, ours).unwrap();
    p.drive_for(Duration::from_secs(10));
    assert_eq!(
        deletions(&p.initiator_events),
        vec![Event::ChildSaDeleted {
            spi_in: ours,
            by: DeletedBy::Us
        }]
    );
    assert_eq!(
        deletions(&p.responder_events),
        vec![Event::ChildSaDeleted {
            spi_in: theirs,
            by: DeletedBy::Peer
        }]
    );
    // The retransmitted delete was answered: no further retransmissions, no
    // failure, both IKE SAs up.
    let r = p.responder().unwrap();
    assert_eq!(r.stats().retransmissions, 1);
    assert_eq!(r.state(), State::Established);
    assert_eq!(p.initiator.state(), State::Established);
    let answers = p.sent_times(Dir::ToResponder, |t| {
        ike_header(t).is_some_and(|h| h.exchange == ExchangeType::INFORMATIONAL && h.flags.response)
    });
    // Their first request was lost: we answered only its retransmission.
    assert_eq!(answers.len(), 1);
}

#[test]
fn an_ike_delete_never_answered_closes_after_the_retransmissions() {
    let mut p = Pair::new(cgw(), aws());
    let (ours, _) = setup(&mut p);
    p.link_up = false;
    p.advance(Duration::from_secs(4));
    let now = p.now;
    p.initiator.delete_ike(now).unwrap();
    p.advance(Duration::from_secs(100));
    // Sent at 5 s, again at 7, 11, 19 and 35 s; given up at 67 s.
    let sent = p.sent_times(Dir::ToResponder, |t| {
        is_request(t, ExchangeType::INFORMATIONAL)
    });
    assert_eq!(
        sent,
        vec![ms(5_000), ms(7_000), ms(11_000), ms(19_000), ms(35_000)]
    );
    assert_eq!(
        timed(&p, Side::Initiator),
        vec![
            (
                ms(67_000),
                Event::ChildSaDeleted {
                    spi_in: ours,
                    by: DeletedBy::Us
                }
            ),
            (ms(67_000), Event::IkeSaClosed { by: DeletedBy::Us }),
        ]
    );
    assert!(p.initiator.is_closed());
}

#[test]
fn a_child_delete_never_answered_removes_it_and_fails_the_ike_sa() {
    let mut p = Pair::new(cgw(), aws());
    let (ours, _) = setup(&mut p);
    p.link_up = false;
    p.advance(Duration::from_secs(4));
    let now = p.now;
    p.initiator.delete_child(now, ours).unwrap();
    p.advance(Duration::from_secs(100));
    let ev = timed(&p, Side::Initiator);
    assert_eq!(
        ev[0],
        (
            ms(67_000),
            Event::ChildSaDeleted {
                spi_in: ours,
                by: DeletedBy::Us
            }
        )
    );
    assert!(
        matches!(&ev[1], (t, Event::IkeSaFailed(Failure::NoResponse { tries: 5, .. })) if *t == ms(67_000)),
        "{ev:?}"
    );
    assert_eq!(ev.len(), 2);
    assert!(p.initiator.is_closed());
}

#[test]
fn a_delete_waits_for_the_outstanding_probe() {
    // The probe's first transmission (10.04 s) is lost; delete_ike at 11 s
    // waits for the retransmitted probe (12.04 s, answered at 12.06 s).
    let mut cfg = cgw();
    cfg.dpd = Some(Dpd::aws());
    let mut p = Pair::new(cfg, aws());
    setup(&mut p);
    let mut first = true;
    p.drop = Box::new(move |d, _, t| {
        let drop = d == Dir::ToResponder && first && is_request(t, ExchangeType::INFORMATIONAL);
        if drop {
            first = false;
        }
        drop
    });
    p.advance(Duration::from_secs(10));
    let now = p.now;
    p.initiator.delete_ike(now).unwrap();
    p.advance(Duration::from_secs(5));
    let sent = p.sent_times(Dir::ToResponder, |t| {
        is_request(t, ExchangeType::INFORMATIONAL)
    });
    assert_eq!(sent, vec![ms(10_040), ms(12_040), ms(12_060)]);
    assert_eq!(
        timed(&p, Side::Initiator).last().unwrap(),
        &(ms(12_080), Event::IkeSaClosed { by: DeletedBy::Us })
    );
}

#[test]
fn deleting_before_establishment_closes_at_once() {
    let mut p = Pair::new(cgw(), aws());
    p.link_up = false;
    p.drive_for(ms(5));
    let now = p.now;
    p.initiator.delete_ike(now).unwrap();
    p.drive_for(ms(1));
    assert_eq!(
        deletions(&p.initiator_events),
        vec![Event::IkeSaClosed { by: DeletedBy::Us }]
    );
    assert!(p.initiator.is_closed());
}

#[test]
fn a_delete_does_not_wait_forever_behind_a_probe_that_ran_out() {
    // Only the probe is lost, every time, while ESP keeps arriving: the
    // peer is not declared dead, and the probe runs out of retransmissions
    // (10.04 ... 40.04 s, given up at 72.04 s). A delete then abandons it
    // rather than waiting behind it. The peer never saw the probe's message
    // ID, so it ignores the delete's; we close after its retransmissions.
    let mut cfg = cgw();
    cfg.dpd = Some(Dpd::aws());
    let mut p = Pair::new(cfg, aws());
    let (ours, _) = setup(&mut p);
    let mut probe: Option<Vec<u8>> = None;
    p.drop = Box::new(move |d, _, t| {
        if d == Dir::ToResponder && is_request(t, ExchangeType::INFORMATIONAL) {
            probe.get_or_insert_with(|| t.payload.clone()) == &t.payload
        } else {
            false
        }
    });
    p.advance(Duration::from_secs(10));
    for _ in 0..70 {
        p.advance(Duration::from_secs(1));
        let now = p.now;
        p.initiator.note_inbound_esp(now);
    }
    assert_eq!(p.elapsed(), ms(81_000));
    assert!(!p
        .initiator_events
        .iter()
        .any(|e| matches!(e, Event::DpdTimeout { .. })));
    let now = p.now;
    p.initiator.delete_ike(now).unwrap();
    p.advance(Duration::from_secs(100));
    let sent = p.sent_times(Dir::ToResponder, |t| {
        is_request(t, ExchangeType::INFORMATIONAL)
    });
    assert_eq!(
        sent,
        vec![
            ms(10_040),
            ms(12_040),
            ms(16_040),
            ms(24_040),
            ms(40_040),
            ms(81_000),
            ms(83_000),
            ms(87_000),
            ms(95_000),
            ms(111_000)
        ]
    );
    assert_eq!(
        timed(&p, Side::Initiator),
        vec![
            (
                ms(143_000),
                Event::ChildSaDeleted {
                    spi_in: ours,
                    by: DeletedBy::Us
                }
            ),
            (ms(143_000), Event::IkeSaClosed { by: DeletedBy::Us }),
        ]
    );
}
