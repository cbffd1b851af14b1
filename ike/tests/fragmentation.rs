//! IKE fragmentation (RFC 7383) between two of our engines on the virtual
//! clock: negotiation, fragment sizes, loss and retransmission of every
//! fragment, duplicates, reordering, forgeries and reassembly limits.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::*;
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::natt::{classify_udp4500, Udp4500};
use ike::sa::{
    Event, Failure, FragmentError, Identity, IkeConfig, Transmit, MAX_FRAGMENTS, MAX_REASSEMBLED,
};
use ike::wire::{
    EncryptedFragment, ExchangeType, Message, NotifyType, Payload, TrafficSelector, TsType,
};

const PSK: &str = "fragmentation-test-psk";

/// `n` distinct /24 selectors 10.`b`.i.0/24.
fn ts_list(n: usize, b: u8) -> Vec<TrafficSelector> {
    (0..n)
        .map(|i| TrafficSelector {
            ts_type: TsType::IPV4_ADDR_RANGE,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: IpAddr::V4(Ipv4Addr::new(10, b, i as u8, 0)),
            end_addr: IpAddr::V4(Ipv4Addr::new(10, b, i as u8, 255)),
        })
        .collect()
}

fn cbc() -> (EncrAlg, Option<IntegAlg>) {
    (
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha256_128),
    )
}

fn gcm() -> (EncrAlg, Option<IntegAlg>) {
    (EncrAlg::AesGcm16 { key_bits: 256 }, None)
}

/// Initiator and responder configurations; the initiator proposes `n_ts`
/// selectors each way (the responder, with 0.0.0.0/0, takes them all, so
/// its answer is as large).
fn configs(suite: (EncrAlg, Option<IntegAlg>), n_ts: usize) -> (IkeConfig, IkeConfig) {
    let (encr, integ) = suite;
    let ike = vec![ike_proposal(
        encr,
        integ,
        PrfAlg::HmacSha256,
        DhGroup::Ecp256,
    )];
    let esp = vec![esp_proposal(encr, integ)];
    let mut i = IkeConfig::new(psk(PSK), ike.clone(), esp.clone());
    if n_ts > 0 {
        i.local_ts = ts_list(n_ts, 1);
        i.remote_ts = ts_list(n_ts, 2);
    }
    let r = IkeConfig::new(psk(PSK), ike, esp);
    (i, r)
}

/// The IKE message in a datagram (without the non-ESP marker).
fn ike_message(t: &Transmit) -> Option<Message> {
    let m: &[u8] = if t.local.port() == 4500 {
        match classify_udp4500(&t.payload) {
            Udp4500::Ike(m) => m,
            _ => return None,
        }
    } else {
        &t.payload
    };
    Message::parse(m).ok()
}

/// The SKF payload of a datagram, with its message's header fields.
fn skf(t: &Transmit) -> Option<(ExchangeType, u32, EncryptedFragment)> {
    let m = ike_message(t)?;
    match m.payloads.last() {
        Some(Payload::EncryptedFragment(f)) => {
            Some((m.header.exchange, m.header.message_id, f.clone()))
        }
        _ => None,
    }
}

fn offers_fragmentation(t: &Transmit) -> bool {
    ike_message(t).is_some_and(|m| {
        m.payloads.iter().any(|p| {
            matches!(p, Payload::Notify(n) if n.kind == NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
        })
    })
}

fn fragments(p: &Pair, dir: Dir) -> Vec<(ExchangeType, u32, EncryptedFragment)> {
    p.wire
        .iter()
        .filter(|(d, _)| *d == dir)
        .filter_map(|(_, t)| skf(t))
        .collect()
}

fn assert_up(p: &Pair) {
    assert!(
        child_installed(&p.initiator_events).is_some(),
        "initiator: {:?}",
        p.initiator_events
    );
    assert!(
        child_installed(&p.responder_events).is_some(),
        "responder: {:?}",
        p.responder_events
    );
}

/// Every datagram after IKE_SA_INIT is at most `limit` bytes (UDP payload,
/// marker included).
fn assert_all_within(p: &Pair, limit: usize) {
    for (d, t) in &p.wire {
        if skf(t).is_some() {
            assert!(
                t.payload.len() <= limit,
                "{d:?} fragment of {} bytes > {limit}",
                t.payload.len()
            );
        }
    }
}

#[test]
fn negotiated_large_ike_auth_is_fragmented_both_ways_and_the_child_installs() {
    for (name, suite) in [("cbc", cbc()), ("gcm", gcm())] {
        // 120 selectors each way: about 4 KB of IKE_AUTH in each direction.
        let (i, r) = configs(suite, 120);
        let mut p = Pair::new(i, r);
        p.drive_for(Duration::from_secs(5));
        assert_up(&p);
        assert!(
            offers_fragmentation(&p.wire[0].1),
            "{name}: IKE_SA_INIT request"
        );
        assert!(
            offers_fragmentation(&p.wire[1].1),
            "{name}: IKE_SA_INIT response"
        );
        assert!(p.initiator.fragmentation_in_use());
        assert!(p.responder().unwrap().fragmentation_in_use());

        let req = fragments(&p, Dir::ToResponder);
        let resp = fragments(&p, Dir::ToInitiator);
        assert!(
            req.len() >= 3 && resp.len() >= 3,
            "{name}: {} {}",
            req.len(),
            resp.len()
        );
        for set in [&req, &resp] {
            let total = set[0].2.total_fragments;
            assert_eq!(set.len(), usize::from(total), "{name}");
            for (k, (x, id, f)) in set.iter().enumerate() {
                assert_eq!((*x, *id), (ExchangeType::IKE_AUTH, 1));
                assert_eq!(f.fragment_number as usize, k + 1);
                assert_eq!(f.total_fragments, total);
                // Only fragment 1 names the first inner payload.
                if k == 0 {
                    assert_ne!(f.first_inner, ike::wire::PayloadType::NONE);
                } else {
                    assert_eq!(f.first_inner, ike::wire::PayloadType::NONE);
                }
            }
        }
        assert_all_within(&p, 1280);
        // The child got the full selector lists through reassembly.
        let c = child_installed(&p.responder_events).unwrap();
        assert_eq!((c.local_ts.len(), c.remote_ts.len()), (120, 120), "{name}");
        let fi = p.initiator.fragment_stats();
        let fr = p.responder().unwrap().fragment_stats();
        assert_eq!((fi.messages_fragmented, fi.messages_reassembled), (1, 1));
        assert_eq!((fr.messages_fragmented, fr.messages_reassembled), (1, 1));
        assert_eq!(fr.fragments_received, req.len() as u64);
        assert_eq!(fi.fragments_received, resp.len() as u64);
        assert_eq!(fi.last_error, None);
        assert_eq!(fr.last_error, None);
        assert_eq!(p.initiator.stats().retransmissions, 0);
    }
}

#[test]
fn small_fragment_size_counts_the_non_esp_marker() {
    for (name, suite) in [("cbc", cbc()), ("gcm", gcm())] {
        for size in [300usize, 333, 500] {
            let (mut i, mut r) = configs(suite, 12);
            i.fragment_size = size;
            r.fragment_size = size;
            // Floats to 4500: every IKE datagram carries the 4-byte marker.
            i.force_encapsulation = true;
            let mut p = Pair::new(i, r);
            p.drive_for(Duration::from_secs(5));
            assert_up(&p);
            let req = fragments(&p, Dir::ToResponder);
            assert!(req.len() >= 2, "{name}/{size}: {}", req.len());
            assert_all_within(&p, size);
            // The room is used: the largest fragment is within a block and
            // the marker of the limit.
            let largest = p
                .wire
                .iter()
                .filter(|(_, t)| skf(t).is_some())
                .map(|(_, t)| t.payload.len())
                .max()
                .unwrap();
            assert!(largest + 16 >= size, "{name}/{size}: largest {largest}");
            assert!(p
                .wire
                .iter()
                .all(|(_, t)| t.local.port() == 4500 || skf(t).is_none()));
        }
    }
}

#[test]
fn not_negotiated_when_either_side_is_off_and_messages_go_whole() {
    for (off_i, off_r) in [(true, false), (false, true), (true, true)] {
        let (mut i, mut r) = configs(cbc(), 120);
        i.fragmentation = !off_i;
        r.fragmentation = !off_r;
        let mut p = Pair::new(i, r);
        p.drive_for(Duration::from_secs(5));
        assert_up(&p);
        assert_eq!(offers_fragmentation(&p.wire[0].1), !off_i);
        // The responder offers only when asked and willing.
        assert!(!offers_fragmentation(&p.wire[1].1));
        assert!(!p.initiator.fragmentation_in_use());
        assert!(p.wire.iter().all(|(_, t)| skf(t).is_none()));
        // IKE_AUTH went whole, well over the fragment size.
        let auth = &p.wire[2].1;
        assert!(auth.payload.len() > 1280, "{}", auth.payload.len());
        assert_eq!(p.initiator.fragment_stats().messages_fragmented, 0);
    }
}

#[test]
fn small_ike_auth_is_not_fragmented_even_when_negotiated() {
    let (i, r) = configs(cbc(), 0);
    let mut p = Pair::new(i, r);
    p.drive_for(Duration::from_secs(5));
    assert_up(&p);
    assert!(p.initiator.fragmentation_in_use());
    assert!(p.wire.iter().all(|(_, t)| skf(t).is_none()));
}

#[test]
fn one_lost_request_fragment_makes_the_initiator_resend_all_of_them() {
    let (i, r) = configs(gcm(), 120);
    let mut p = Pair::new(i, r);
    // Lose the second fragment of the first IKE_AUTH flight only.
    let mut lost = false;
    p.drop = Box::new(move |dir, _, t| {
        let hit = dir == Dir::ToResponder
            && !lost
            && skf(t).is_some_and(|(_, _, f)| f.fragment_number == 2);
        lost |= hit;
        hit
    });
    p.drive_for(Duration::from_secs(30));
    assert_up(&p);
    let req = fragments(&p, Dir::ToResponder);
    let total = usize::from(req[0].2.total_fragments);
    assert_eq!(req.len(), 2 * total, "every fragment sent twice");
    assert_eq!(p.initiator.stats().retransmissions, 1);
    let fr = p.responder().unwrap().fragment_stats();
    // The first flight's other fragments were kept; the resent ones are
    // duplicates except the lost one.
    assert_eq!(fr.messages_reassembled, 1);
    assert_eq!(fr.fragments_received, total as u64);
    assert!(fr.duplicates >= 1, "{fr:?}");
    assert!(p.elapsed() >= Duration::from_secs(2));
}

#[test]
fn one_lost_response_fragment_is_answered_from_the_cache_in_full() {
    let (i, r) = configs(cbc(), 120);
    let mut p = Pair::new(i, r);
    let mut lost = false;
    p.drop = Box::new(move |dir, _, t| {
        let hit = dir == Dir::ToInitiator
            && !lost
            && skf(t).is_some_and(|(_, _, f)| f.fragment_number == 1);
        lost |= hit;
        hit
    });
    p.drive_for(Duration::from_secs(30));
    assert_up(&p);
    let resp = fragments(&p, Dir::ToInitiator);
    let total = usize::from(resp[0].2.total_fragments);
    assert_eq!(resp.len(), 2 * total, "the cached response resent whole");
    let r = p.responder().unwrap();
    assert_eq!(r.stats().answered_from_cache, 1, "once, on fragment 1");
    assert_eq!(p.initiator.stats().retransmissions, 1);
    // Processed once: one child on each side.
    let n = p
        .responder_events
        .iter()
        .filter(|e| matches!(e, Event::ChildSaInstalled(_)))
        .count();
    assert_eq!(n, 1);
}

#[test]
fn duplicated_and_reversed_fragments_reassemble() {
    let (i, r) = configs(cbc(), 120);
    let mut p = Pair::new(i, r);
    // Hold every fragment of a flight until its last, then deliver the
    // flight backwards with every fragment twice.
    let mut held: Vec<Transmit> = Vec::new();
    p.rewrite = Box::new(move |_, _, t| {
        let Some((_, _, f)) = skf(&t) else {
            return vec![t];
        };
        held.push(t);
        if f.fragment_number < f.total_fragments {
            return Vec::new();
        }
        let mut out = Vec::new();
        for t in held.drain(..).rev() {
            out.push(t.clone());
            out.push(t);
        }
        out
    });
    p.drive_for(Duration::from_secs(5));
    assert_up(&p);
    for f in [
        p.initiator.fragment_stats(),
        p.responder().unwrap().fragment_stats(),
    ] {
        assert_eq!(f.messages_reassembled, 1);
        // The copy of the last fragment to arrive (number 1) comes after
        // the message is complete: not a duplicate fragment any more.
        assert_eq!(f.duplicates + 1, f.fragments_received, "{f:?}");
    }
    // For the responder that copy is a retransmitted request, answered
    // from the cache as an unfragmented one would be; the initiator drops
    // the second response as unexpected.
    assert_eq!(p.responder().unwrap().stats().answered_from_cache, 1);
    assert_eq!(
        p.initiator.fragment_stats().last_error,
        Some(FragmentError::UnexpectedMessage(1))
    );
    assert_eq!(p.initiator.stats().retransmissions, 0);
    let n = p
        .responder_events
        .iter()
        .filter(|e| matches!(e, Event::ChildSaInstalled(_)))
        .count();
    assert_eq!(n, 1);
}

/// `t` with one bit flipped at `at` bytes from the end.
fn flip(t: &Transmit, at: usize) -> Transmit {
    let mut f = t.clone();
    let n = f.payload.len();
    f.payload[n - at] ^= 0x01;
    f
}

/// `t` with its SKF Total Fragments raised by one (the ICV no longer fits).
fn more_fragments(t: &Transmit) -> Transmit {
    let mut f = t.clone();
    let marker = if f.local.port() == 4500 { 4 } else { 0 };
    // IKE header (28) + generic payload header (4) + Fragment Number (2).
    let at = marker + 28 + 4 + 2;
    let total = u16::from_be_bytes([f.payload[at], f.payload[at + 1]]) + 1;
    f.payload[at..at + 2].copy_from_slice(&total.to_be_bytes());
    f
}

#[test]
fn forged_fragments_are_dropped_and_do_not_poison_reassembly() {
    for (name, suite) in [("cbc", cbc()), ("gcm", gcm())] {
        let (i, r) = configs(suite, 120);
        let mut p = Pair::new(i, r);
        // Before each genuine fragment 2 (both directions): a copy with a
        // flipped ciphertext bit, one with a flipped ICV bit, and one that
        // claims more fragments (which would restart reassembly if it were
        // believed).
        p.rewrite = Box::new(|_, _, t| match skf(&t) {
            Some((_, _, f)) if f.fragment_number == 2 => {
                vec![flip(&t, 40), flip(&t, 1), more_fragments(&t), t]
            }
            _ => vec![t],
        });
        p.drive_for(Duration::from_secs(5));
        assert_up(&p);
        assert_eq!(p.initiator.stats().retransmissions, 0, "{name}");
        for (side, f, s) in [
            (
                "initiator",
                p.initiator.fragment_stats(),
                p.initiator.stats(),
            ),
            (
                "responder",
                p.responder().unwrap().fragment_stats(),
                p.responder().unwrap().stats(),
            ),
        ] {
            assert_eq!(f.integrity_failures, 3, "{name} {side}: {f:?}");
            assert_eq!(s.integrity_failures, 3, "{name} {side}");
            assert_eq!(f.restarts, 0, "{name} {side}");
            assert_eq!(f.messages_reassembled, 1, "{name} {side}");
        }
    }
}

#[test]
fn too_many_fragments_are_refused() {
    // 255 selectors each way in 150-byte messages: far more than 64
    // fragments. The responder refuses them all; the initiator gives up.
    let (mut i, mut r) = configs(gcm(), 255);
    i.fragment_size = 150;
    r.fragment_size = 150;
    let mut p = Pair::new(i, r);
    p.drive_for(Duration::from_secs(10));
    let req = fragments(&p, Dir::ToResponder);
    let total = req[0].2.total_fragments;
    assert!(total > MAX_FRAGMENTS, "{total}");
    let f = p.responder().unwrap().fragment_stats();
    assert_eq!(f.last_error, Some(FragmentError::TooManyFragments(total)));
    assert_eq!(f.limit_exceeded, req.len() as u64);
    assert_eq!(f.fragments_received, 0, "nothing stored");
    assert!(child_installed(&p.responder_events).is_none());
    p.drive_for(Duration::from_secs(120));
    assert!(
        matches!(
            ike_failure(&p.initiator_events),
            Some(Failure::NoResponse { .. })
        ),
        "{:?}",
        p.initiator_events
    );
}

#[test]
fn reassembly_larger_than_the_limit_is_abandoned() {
    // An IDi of 64,000 bytes plus 255 selectors each way: over 64 KiB of
    // inner payloads in about 20 fragments of 4000 bytes.
    let (mut i, mut r) = configs(cbc(), 255);
    i.local_id = Some(Identity::KeyId(vec![0x55; 64_000]));
    i.fragment_size = 4000;
    r.fragment_size = 4000;
    let mut p = Pair::new(i, r);
    p.drive_for(Duration::from_secs(5));
    let req = fragments(&p, Dir::ToResponder);
    let total = req[0].2.total_fragments;
    assert!(total <= MAX_FRAGMENTS, "{total}");
    let f = p.responder().unwrap().fragment_stats();
    assert!(
        matches!(f.last_error, Some(FragmentError::TooLarge(n)) if n > MAX_REASSEMBLED),
        "{f:?}"
    );
    assert!(f.limit_exceeded >= 1);
    assert_eq!(f.messages_reassembled, 0);
    assert!(child_installed(&p.responder_events).is_none());
    assert!(ike_established(&p.responder_events).is_none());
}

#[test]
fn fragment_of_ike_sa_init_is_refused() {
    let (i, r) = configs(cbc(), 0);
    let mut p = Pair::new(i, r);
    p.drive_for(Duration::from_secs(5));
    assert_up(&p);
    // A response "fragment" of IKE_SA_INIT with the SA's SPIs, to the
    // initiator.
    let mut h = ike_message(&p.wire[1].1).unwrap().header;
    h.message_id = 0;
    let m = Message {
        header: h,
        payloads: vec![Payload::EncryptedFragment(EncryptedFragment {
            first_inner: ike::wire::PayloadType::NONE,
            fragment_number: 1,
            total_fragments: 1,
            body: vec![0; 64],
        })],
    };
    let bytes = m.emit();
    let (local, remote) = (p.initiator.local_addr(), p.initiator.remote_addr());
    let now = p.now;
    p.initiator.handle_message(now, local, remote, &bytes);
    assert_eq!(
        p.initiator.fragment_stats().last_error,
        Some(FragmentError::Unencrypted)
    );
    assert!(!p.initiator.is_closed());
}

#[test]
fn fragments_when_not_negotiated_are_refused() {
    let (mut i, r) = configs(cbc(), 0);
    i.fragmentation = false;
    let mut p = Pair::new(i, r);
    p.drive_for(Duration::from_secs(5));
    assert_up(&p);
    // An IKE_AUTH-numbered request fragment from "the responder".
    let mut h = ike_message(&p.wire[3].1).unwrap().header;
    h.flags.response = false;
    h.message_id = 0;
    h.exchange = ExchangeType::INFORMATIONAL;
    let m = Message {
        header: h,
        payloads: vec![Payload::EncryptedFragment(EncryptedFragment {
            first_inner: ike::wire::PayloadType::NONE,
            fragment_number: 1,
            total_fragments: 2,
            body: vec![0; 64],
        })],
    };
    let (local, remote) = (p.initiator.local_addr(), p.initiator.remote_addr());
    let now = p.now;
    p.initiator.handle_message(now, local, remote, &m.emit());
    assert_eq!(
        p.initiator.fragment_stats().last_error,
        Some(FragmentError::NotNegotiated)
    );
}

#[test]
fn garbage_fragments_never_panic() {
    let (i, r) = configs(cbc(), 60);
    let mut p = Pair::new(i, r);
    p.drive_for(Duration::from_secs(5));
    assert_up(&p);
    let frags: Vec<Transmit> = p
        .wire
        .iter()
        .filter(|(d, t)| *d == Dir::ToInitiator && skf(t).is_some())
        .map(|(_, t)| t.clone())
        .collect();
    // Every truncation and many bit flips of real fragments, replayed at
    // both ends.
    let (local, remote) = (p.initiator.local_addr(), p.initiator.remote_addr());
    let now = p.now;
    for t in &frags {
        for cut in 0..t.payload.len() {
            p.initiator
                .handle_message(now, local, remote, &t.payload[..cut]);
        }
        for bit in (0..t.payload.len() * 8).step_by(7) {
            let mut b = t.payload.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            p.initiator.handle_message(now, local, remote, &b);
            p.responders.handle_datagram(now, remote, local, &b);
        }
    }
    assert!(!p.initiator.is_closed());
}

#[test]
fn create_child_sa_rekeys_are_fragmented_and_reassembled() {
    // MODP-2048 everywhere: each CREATE_CHILD_SA carries a 256-byte KE,
    // well over 300 bytes with its nonce and SA.
    let (encr, integ) = cbc();
    let ike = vec![ike_proposal(
        encr,
        integ,
        PrfAlg::HmacSha256,
        DhGroup::Modp2048,
    )];
    let mut esp = esp_proposal(encr, integ);
    esp.dh = vec![DhGroup::Modp2048];
    let mut i = IkeConfig::new(psk(PSK), ike.clone(), vec![esp.clone()]);
    let mut r = IkeConfig::new(psk(PSK), ike, vec![esp]);
    i.fragment_size = 300;
    r.fragment_size = 300;
    let mut p = Pair::new(i, r);
    p.drive_for(Duration::from_secs(5));
    assert_up(&p);
    let spi_in = child_installed(&p.initiator_events).unwrap().spi_in;
    let before = p.wire.len();

    let now = p.now;
    assert!(p.initiator.rekey_child(now, spi_in));
    p.drive_for(Duration::from_secs(5));
    let installed = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::ChildSaInstalled(_)))
            .count()
    };
    assert_eq!(
        installed(&p.initiator_events),
        2,
        "{:?}",
        p.initiator_events
    );
    assert_eq!(
        installed(&p.responder_events),
        2,
        "{:?}",
        p.responder_events
    );

    let now = p.now;
    assert!(p.initiator.rekey_ike(now));
    p.drive_for(Duration::from_secs(5));
    let rekeyed = |ev: &[Event]| ev.iter().any(|e| matches!(e, Event::IkeSaRekeyed { .. }));
    assert!(rekeyed(&p.initiator_events), "{:?}", p.initiator_events);
    assert!(rekeyed(&p.responder_events), "{:?}", p.responder_events);

    let cc: Vec<_> = p.wire[before..]
        .iter()
        .filter_map(|(d, t)| skf(t).map(|(x, _, f)| (*d, x, f)))
        .filter(|(_, x, _)| *x == ExchangeType::CREATE_CHILD_SA)
        .collect();
    for dir in [Dir::ToResponder, Dir::ToInitiator] {
        let n = cc
            .iter()
            .filter(|(d, _, f)| *d == dir && f.fragment_number == 1)
            .count();
        assert_eq!(n, 2, "{dir:?}: child and IKE rekey each fragmented");
    }
    assert_all_within(&p, 300);
    assert_eq!(p.initiator.fragment_stats().last_error, None);
    assert_eq!(p.initiator.stats().integrity_failures, 0);

    // The new IKE SA inherited the negotiation: a child rekey on it is
    // fragmented too.
    let next = p.initiator.take_successor().expect("the rekeyed IKE SA");
    assert!(next.fragmentation_in_use());
    p.initiator = next;
    let spi_i = p.initiator.spi_i();
    let spi_in = p
        .initiator_events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::ChildSaInstalled(c) => Some(c.spi_in),
            _ => None,
        })
        .unwrap();
    let before = p.wire.len();
    let now = p.now;
    assert!(p.initiator.rekey_child(now, spi_in));
    p.drive_for(Duration::from_secs(5));
    assert_eq!(installed(&p.initiator_events), 3);
    assert_eq!(installed(&p.responder_events), 3);
    let on_new = p.wire[before..]
        .iter()
        .filter(|(_, t)| skf(t).is_some())
        .filter(|(_, t)| ike_message(t).unwrap().header.spi_i == spi_i)
        .count();
    assert!(on_new >= 4, "{on_new}");
}
