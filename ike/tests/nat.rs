//! NAT traversal on the virtual clock (RFC 7296 2.23, RFC 3948): detection
//! with either side behind a NAT, keepalives from the NATed side, and the
//! responder following the initiator when its NAT mapping changes.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::{Event, IkeConfig, NatState, Received, KEEPALIVE};

const CBC128: EncrAlg = EncrAlg::AesCbc { key_bits: 128 };

fn cgw() -> IkeConfig {
    IkeConfig::new(
        psk("shared-secret-0123456789"),
        vec![ike_proposal(
            CBC128,
            Some(IntegAlg::HmacSha256_128),
            PrfAlg::HmacSha256,
            DhGroup::Ecp256,
        )],
        vec![esp_proposal(CBC128, Some(IntegAlg::HmacSha256_128))],
    )
}

fn aws() -> IkeConfig {
    IkeConfig::new(
        psk("shared-secret-0123456789"),
        aws_ike_proposals(),
        aws_esp_proposals(),
    )
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The CGW at 203.0.113.10 behind a NAT whose outside address is
/// 192.0.2.10, ports moved up by 1000 (500 -> 1500, 4500 -> 5500).
fn cgw_behind_nat() -> Pair {
    let mut p = Pair::with_addrs(cgw(), aws(), 1, sa("203.0.113.10:500"), sa(AWS));
    p.nat = Some(Nat {
        side: NatSide::Initiator,
        private: "203.0.113.10".parse().unwrap(),
        public: "192.0.2.10".parse().unwrap(),
        port_shift: 1000,
    });
    p.drive_for(Duration::from_secs(1));
    assert!(child_installed(&p.initiator_events).is_some());
    assert!(child_installed(&p.responder_events).is_some());
    p
}

fn keepalive_times(p: &Pair, dir: Dir) -> Vec<Duration> {
    p.wire
        .iter()
        .zip(&p.sent_at)
        .filter(|((d, t), _)| *d == dir && t.payload == KEEPALIVE)
        .map(|(_, at)| *at - p.start)
        .collect()
}

#[test]
fn initiator_behind_nat_is_detected_on_both_ends() {
    let p = cgw_behind_nat();
    let i = ike_established(&p.initiator_events).unwrap();
    let r = ike_established(&p.responder_events).unwrap();
    assert_eq!(
        i.nat,
        NatState {
            local_behind_nat: true,
            remote_behind_nat: false
        }
    );
    assert_eq!(
        r.nat,
        NatState {
            local_behind_nat: false,
            remote_behind_nat: true
        }
    );
    // Both floated; each end's ESP goes where the other really is.
    assert_eq!(i.local, sa("203.0.113.10:4500"));
    assert_eq!(i.remote, sa("198.51.100.10:4500"));
    assert_eq!(r.remote, sa("192.0.2.10:5500"));
    let ci = child_installed(&p.initiator_events).unwrap();
    let cr = child_installed(&p.responder_events).unwrap();
    assert_eq!(
        ci.encapsulation,
        Some((sa("203.0.113.10:4500"), sa("198.51.100.10:4500")))
    );
    assert_eq!(
        cr.encapsulation,
        Some((sa("198.51.100.10:4500"), sa("192.0.2.10:5500")))
    );
}

#[test]
fn responder_behind_nat_is_detected_on_both_ends() {
    // AWS's endpoint at 203.0.113.20, published as 198.51.100.10 (ports
    // forwarded unchanged); the CGW at 192.0.2.10 is not NATed.
    let mut p = Pair::new(cgw(), aws());
    p.nat = Some(Nat {
        side: NatSide::Responder,
        private: "203.0.113.20".parse().unwrap(),
        public: "198.51.100.10".parse().unwrap(),
        port_shift: 0,
    });
    p.drive_for(Duration::from_secs(1));
    let i = ike_established(&p.initiator_events).unwrap().clone();
    let r = ike_established(&p.responder_events).unwrap().clone();
    assert_eq!(
        i.nat,
        NatState {
            local_behind_nat: false,
            remote_behind_nat: true
        }
    );
    assert_eq!(
        r.nat,
        NatState {
            local_behind_nat: true,
            remote_behind_nat: false
        }
    );
    assert_eq!(r.local, sa("203.0.113.20:4500"));
    assert_eq!(i.remote, sa("198.51.100.10:4500"));
    assert!(child_installed(&p.initiator_events)
        .unwrap()
        .encapsulation
        .is_some());

    // Now the responder is the NATed side: it sends the keepalives.
    p.drive_for(Duration::from_secs(65));
    assert_eq!(keepalive_times(&p, Dir::ToResponder), vec![]);
    assert_eq!(keepalive_times(&p, Dir::ToInitiator).len(), 3);
    let (_, k) = p.wire.iter().find(|(_, t)| t.payload == KEEPALIVE).unwrap();
    assert_eq!((k.local, k.remote), (r.local, r.remote));
}

#[test]
fn no_nat_no_encapsulation_no_keepalives() {
    let mut p = Pair::new(cgw(), aws());
    p.drive_for(Duration::from_secs(1));
    let i = ike_established(&p.initiator_events).unwrap();
    assert!(!i.nat.detected());
    assert!(!ike_established(&p.responder_events).unwrap().nat.detected());
    assert_eq!(i.remote.port(), 500);
    assert!(child_installed(&p.initiator_events)
        .unwrap()
        .encapsulation
        .is_none());
    assert!(child_installed(&p.responder_events)
        .unwrap()
        .encapsulation
        .is_none());
    // Nothing is armed: the pair goes quiet.
    // Nothing is due but the rekey, at least 2000 s away: no keepalive timer.
    assert!(p.initiator.poll_timeout() > Some(p.now + Duration::from_secs(2000)));
    let n = p.wire.len();
    p.drive_for(Duration::from_secs(120));
    assert_eq!(p.wire.len(), n);
}

#[test]
fn keepalives_every_20s_of_silence_from_the_nated_side_only() {
    let mut p = cgw_behind_nat();
    let last_ike = *p.sent_at.last().unwrap() - p.start;
    p.drive_for(Duration::from_secs(100));
    let times = keepalive_times(&p, Dir::ToInitiator);
    assert!(times.is_empty(), "the responder is not behind a NAT");
    let times = keepalive_times(&p, Dir::ToResponder);
    assert_eq!(times.len(), 5, "{times:?}");
    // The first 20 s after the last datagram the initiator sent (its
    // IKE_AUTH request; the last IKE datagram overall is the answer).
    let last_sent = p
        .wire
        .iter()
        .zip(&p.sent_at)
        .filter(|((d, t), _)| *d == Dir::ToResponder && t.payload != KEEPALIVE)
        .map(|(_, at)| *at - p.start)
        .next_back()
        .unwrap();
    assert!(last_sent <= last_ike);
    assert_eq!(times[0], last_sent + Duration::from_secs(20));
    for w in times.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_secs(20));
    }
    // To the responder's NAT-T port, from ours; the responder takes them
    // for keepalives and does nothing.
    let (_, k) = p.wire.iter().find(|(_, t)| t.payload == KEEPALIVE).unwrap();
    assert_eq!(k.local, sa("203.0.113.10:4500"));
    assert_eq!(k.remote, sa("198.51.100.10:4500"));
    assert_eq!(p.initiator.stats().keepalives_sent, 5);
    let now = p.now;
    let got = p.responders.handle_datagram(
        now,
        sa("198.51.100.10:4500"),
        sa("192.0.2.10:5500"),
        &[0xff],
    );
    assert_eq!(got, Received::Keepalive);
}

#[test]
fn no_keepalives_while_traffic_flows() {
    let mut p = cgw_behind_nat();
    // ESP every 5 s (reported by the data plane), then IKE every 15 s: never
    // 20 s of silence.
    for _ in 0..20 {
        p.drive_for(Duration::from_secs(5));
        let now = p.now;
        p.initiator.note_traffic_sent(now);
    }
    for _ in 0..6 {
        p.drive_for(Duration::from_secs(15));
        let now = p.now;
        assert!(p.initiator.ping_peer(now));
    }
    assert_eq!(keepalive_times(&p, Dir::ToResponder), vec![]);
    // Silence again: keepalives resume 20 s after the last ping.
    p.drive_for(Duration::from_secs(30));
    assert_eq!(keepalive_times(&p, Dir::ToResponder).len(), 1);
}

#[test]
fn keepalives_can_be_disabled() {
    let mut c = cgw();
    c.natt_keepalive = None;
    let mut p = Pair::with_addrs(c, aws(), 1, sa("203.0.113.10:500"), sa(AWS));
    p.nat = Some(Nat {
        side: NatSide::Initiator,
        private: "203.0.113.10".parse().unwrap(),
        public: "192.0.2.10".parse().unwrap(),
        port_shift: 1000,
    });
    p.drive_for(Duration::from_secs(100));
    assert!(
        ike_established(&p.initiator_events)
            .unwrap()
            .nat
            .local_behind_nat
    );
    assert!(keepalive_times(&p, Dir::ToResponder).is_empty());
    // Nothing is due but the rekey, at least 2000 s away: no keepalive timer.
    assert!(p.initiator.poll_timeout() > Some(p.now + Duration::from_secs(2000)));
}

fn address_changes(events: &[Event]) -> Vec<(SocketAddr, SocketAddr)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PeerAddressChanged { old, new } => Some((*old, *new)),
            _ => None,
        })
        .collect()
}

#[test]
fn responder_follows_a_new_nat_mapping() {
    let mut p = cgw_behind_nat();
    // The NAT forgets the mapping and makes a new one: ports + 2000.
    p.nat.as_mut().unwrap().port_shift = 2000;
    // Keepalives from the new mapping are not authenticated: no move.
    p.drive_for(Duration::from_secs(45));
    assert_eq!(p.initiator.stats().keepalives_sent, 2);
    assert!(address_changes(&p.responder_events).is_empty());
    let r = p.responder().unwrap();
    assert_eq!(r.remote_addr(), sa("192.0.2.10:5500"));

    // An authenticated request from the new mapping moves it; the answer
    // reaches the initiator through the new mapping.
    let now = p.now;
    assert!(p.initiator.ping_peer(now));
    p.drive_for(Duration::from_secs(1));
    assert_eq!(
        address_changes(&p.responder_events),
        vec![(sa("192.0.2.10:5500"), sa("192.0.2.10:6500"))]
    );
    let r = p.responder().unwrap();
    assert_eq!(r.remote_addr(), sa("192.0.2.10:6500"));
    assert_eq!(r.stats().peer_address_changes, 1);
    assert_eq!(p.initiator.stats().retransmissions, 0);
    assert_eq!(p.initiator.state(), ike::sa::State::Established);
    // The answer went to the new mapping.
    let (_, answer) = p
        .wire
        .iter()
        .rev()
        .find(|(d, _)| *d == Dir::ToInitiator)
        .unwrap();
    assert_eq!(answer.remote, sa("192.0.2.10:6500"));

    // IKE goes on: another round trip, no further move.
    let now = p.now;
    assert!(p.initiator.ping_peer(now));
    p.drive_for(Duration::from_secs(1));
    assert_eq!(address_changes(&p.responder_events).len(), 1);
    assert_eq!(p.initiator.stats().retransmissions, 0);
    // The initiator's own view never changed (its NAT is invisible to it).
    assert!(address_changes(&p.initiator_events).is_empty());
}

#[test]
fn a_lost_answer_is_resent_to_the_new_mapping() {
    // The mapping changes while the initiator's request is in flight and
    // the first answer is lost: the retransmitted request (same ID, from
    // the new mapping) moves the responder and gets the cached answer.
    let mut p = cgw_behind_nat();
    let n = p
        .wire
        .iter()
        .filter(|(d, _)| *d == Dir::ToInitiator)
        .count();
    p.drop = Box::new(move |d, i, _| d == Dir::ToInitiator && i == n);
    let now = p.now;
    assert!(p.initiator.ping_peer(now));
    p.drive_for(Duration::from_millis(100));
    p.nat.as_mut().unwrap().port_shift = 3000;
    p.drive_for(Duration::from_secs(5));
    assert_eq!(p.initiator.stats().retransmissions, 1);
    assert_eq!(p.responder().unwrap().stats().answered_from_cache, 1);
    assert_eq!(
        address_changes(&p.responder_events),
        vec![(sa("192.0.2.10:5500"), sa("192.0.2.10:7500"))]
    );
    assert!(p.initiator.ping_peer(p.now));
}

#[test]
fn unauthenticated_or_stale_messages_do_not_move_the_peer() {
    let mut p = cgw_behind_nat();
    let now = p.now;
    assert!(p.initiator.ping_peer(now));
    p.drive_for(Duration::from_secs(1));
    let local = sa("198.51.100.10:4500");
    let evil = sa("192.0.2.66:4500");
    let from_initiator: Vec<Vec<u8>> = p
        .wire
        .iter()
        .filter(|(d, t)| *d == Dir::ToResponder && t.payload != KEEPALIVE)
        .map(|(_, t)| t.payload.clone())
        .collect();
    // [IKE_SA_INIT, IKE_AUTH, INFORMATIONAL]
    assert_eq!(from_initiator.len(), 3);

    // The latest request with a flipped bit in its checksum.
    let mut forged = from_initiator[2].clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    let now = p.now;
    p.responders.handle_datagram(now, local, evil, &forged);
    // An old request (IKE_AUTH, already superseded), replayed verbatim.
    p.responders
        .handle_datagram(now, local, evil, &from_initiator[1]);
    // A new-looking request (next message ID) that is not authentic.
    let mut next = from_initiator[2].clone();
    next[4 + 20..4 + 24].copy_from_slice(&3u32.to_be_bytes());
    p.responders.handle_datagram(now, local, evil, &next);
    p.drive_for(Duration::from_secs(1));

    assert!(address_changes(&p.responder_events).is_empty());
    let r = p.responder().unwrap();
    assert_eq!(r.remote_addr(), sa("192.0.2.10:5500"));
    assert_eq!(r.stats().peer_address_changes, 0);
    assert!(r.stats().integrity_failures >= 1);
    // Nothing was sent to the forger.
    assert!(p.wire.iter().all(|(_, t)| t.remote != evil));

    // The IKE SA is unharmed: a ping from the real mapping works.
    let now = p.now;
    assert!(p.initiator.ping_peer(now));
    p.drive_for(Duration::from_secs(1));
    assert_eq!(p.initiator.stats().retransmissions, 0);
}

#[test]
fn without_a_nat_the_peer_address_is_fixed() {
    // A peer not behind a NAT does not move, even on an authentic message
    // (RFC 7296 2.23 ties this to NAT detection; roaming is MOBIKE's job).
    let mut p = Pair::new(cgw(), aws());
    p.drive_for(Duration::from_secs(1));
    let now = p.now;
    assert!(p.initiator.ping_peer(now));
    p.drive_for(Duration::from_secs(1));
    let (_, ping) = p
        .wire
        .iter()
        .rev()
        .find(|(d, _)| *d == Dir::ToResponder)
        .unwrap()
        .clone();
    let now = p.now;
    p.responders
        .handle_datagram(now, sa(AWS), sa("192.0.2.66:500"), &ping.payload);
    p.drive_for(Duration::from_secs(1));
    assert!(address_changes(&p.responder_events).is_empty());
    assert_eq!(p.responder().unwrap().remote_addr(), sa(CGW));
}
