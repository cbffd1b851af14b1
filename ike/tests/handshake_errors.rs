//! Every failure the first exchanges can meet, with the typed reason each
//! side reports, and packet loss on a virtual clock.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::{Failure, Identity, IkeConfig, IkeSa, PreferOwn};
use ike::wire::{
    ExchangeType, Flags, Header, KeyExchange, Message, Nonce, Notify, NotifyType, Payload,
    PayloadType, ProtocolId, TrafficSelector, TransformType, TsType,
};

const CBC128: EncrAlg = EncrAlg::AesCbc { key_bits: 128 };

fn cgw(groups: &[DhGroup]) -> IkeConfig {
    let mut p = ike_proposal(
        CBC128,
        Some(IntegAlg::HmacSha1_96),
        PrfAlg::HmacSha1,
        groups[0],
    );
    p.dh = groups.to_vec();
    IkeConfig::new(
        psk("shared-secret-0123456789"),
        vec![p],
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

fn ike_sa_init_requests(p: &Pair) -> usize {
    p.wire
        .iter()
        .filter(|(d, t)| {
            *d == Dir::ToResponder
                && t.payload.len() > 18
                && t.payload[18] == ExchangeType::IKE_SA_INIT.0
        })
        .count()
}

#[test]
fn no_proposal_chosen_names_the_dh_group() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp1536]), aws());
    pair.drive_for(Duration::from_secs(10));
    match ike_failure(&pair.responder_events) {
        Some(Failure::NoProposalChosen(m)) => {
            assert_eq!(m.transform, TransformType::DH);
            assert_eq!(m.offered, vec!["5".to_string()]);
            assert!(
                m.accepted.contains(&"14".to_string()) && !m.accepted.contains(&"5".to_string())
            );
            let text = Failure::NoProposalChosen(m.clone()).to_string();
            assert!(
                text.starts_with("NO_PROPOSAL_CHOSEN: offered DH group 5, we accept 2, 14,"),
                "{text}"
            );
        }
        other => panic!("responder: {other:?}"),
    }
    match ike_failure(&pair.initiator_events) {
        Some(Failure::PeerNoProposalChosen { peer, offered }) => {
            assert_eq!(peer.to_string(), AWS);
            assert!(offered.contains("DH group 5"), "{offered}");
        }
        other => panic!("initiator: {other:?}"),
    }
    assert!(pair.initiator.is_closed());
    assert!(child_installed(&pair.initiator_events).is_none());
}

#[test]
fn no_proposal_chosen_names_the_cipher() {
    let mut c = cgw(&[DhGroup::Modp2048]);
    c.ike_proposals[0].encr = vec![EncrAlg::AesCbc { key_bits: 192 }];
    let mut pair = Pair::new(c, aws());
    pair.drive_for(Duration::from_secs(10));
    match ike_failure(&pair.responder_events) {
        Some(Failure::NoProposalChosen(m)) => {
            assert_eq!(m.transform, TransformType::ENCR);
            assert_eq!(m.offered, vec!["ENCR_AES_CBC_192".to_string()]);
        }
        other => panic!("responder: {other:?}"),
    }
}

#[test]
fn invalid_ke_payload_retries_once_with_the_group_asked_for() {
    // The CGW proposes 14 and 20 and guesses 14; the responder only takes 20.
    let mut resp = aws();
    for p in &mut resp.ike_proposals {
        p.dh = vec![DhGroup::Ecp384];
    }
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048, DhGroup::Ecp384]), resp);
    pair.drive_for(Duration::from_secs(10));
    assert_eq!(ike_sa_init_requests(&pair), 2);
    assert_eq!(
        ike_established(&pair.initiator_events).unwrap().suite.dh,
        DhGroup::Ecp384
    );
    assert!(child_installed(&pair.responder_events).is_some());
}

/// A hand-made IKE_SA_INIT response to the initiator's first request.
fn answer_init(pair: &mut Pair, payloads: Vec<Payload>) {
    let (_, first) = pair
        .wire
        .iter()
        .find(|(d, _)| *d == Dir::ToResponder)
        .cloned()
        .unwrap();
    let req = Message::parse(&first.payload).unwrap();
    let resp = Message {
        header: Header {
            flags: Flags {
                initiator: false,
                version: false,
                response: true,
            },
            next_payload: PayloadType::NONE,
            length: 0,
            ..req.header.clone()
        },
        payloads,
    };
    let now = pair.now;
    pair.initiator
        .handle_message(now, first.local, first.remote, &resp.emit());
    while let Some(e) = pair.initiator.poll_event() {
        pair.initiator_events.push(e);
    }
}

fn notify(kind: NotifyType, data: Vec<u8>) -> Payload {
    Payload::Notify(Notify {
        protocol: ProtocolId(0),
        spi: Vec::new(),
        kind,
        data,
    })
}

#[test]
fn invalid_ke_payload_for_a_group_we_did_not_offer() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    pair.drop = Box::new(|_, _, _| true);
    pair.drive_for(Duration::from_millis(1));
    answer_init(
        &mut pair,
        vec![notify(
            NotifyType::INVALID_KE_PAYLOAD,
            21u16.to_be_bytes().to_vec(),
        )],
    );
    match ike_failure(&pair.initiator_events) {
        Some(Failure::InvalidKeNotOffered {
            wanted, wanted_id, ..
        }) => {
            assert_eq!(*wanted, Some(DhGroup::Ecp521));
            assert_eq!(*wanted_id, 21);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn second_invalid_ke_payload_fails() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048, DhGroup::Ecp256]), aws());
    pair.drop = Box::new(|_, _, _| true);
    pair.drive_for(Duration::from_millis(1));
    answer_init(
        &mut pair,
        vec![notify(
            NotifyType::INVALID_KE_PAYLOAD,
            19u16.to_be_bytes().to_vec(),
        )],
    );
    assert!(
        ike_failure(&pair.initiator_events).is_none(),
        "first INVALID_KE is retried"
    );
    answer_init(
        &mut pair,
        vec![notify(
            NotifyType::INVALID_KE_PAYLOAD,
            14u16.to_be_bytes().to_vec(),
        )],
    );
    assert!(matches!(
        ike_failure(&pair.initiator_events),
        Some(Failure::InvalidKeAfterRetry {
            tried: DhGroup::Ecp256,
            ..
        })
    ));
}

#[test]
fn a_responder_choice_we_did_not_offer_is_refused() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    pair.drop = Box::new(|_, _, _| true);
    pair.drive_for(Duration::from_millis(1));
    let bogus = ike::sa::proposal::ike_suite_to_wire(
        1,
        Vec::new(),
        &ike::sa::IkeSuite {
            encr: CBC128,
            prf: PrfAlg::HmacSha256,
            integ: Some(IntegAlg::HmacSha1_96),
            dh: DhGroup::Modp2048,
        },
    );
    answer_init(
        &mut pair,
        vec![
            Payload::Sa(ike::wire::SaPayload {
                proposals: vec![bogus],
            }),
            Payload::Ke(KeyExchange {
                group: ike::wire::DhId(14),
                data: vec![2; 256],
            }),
            Payload::Nonce(Nonce(vec![1; 32])),
        ],
    );
    assert!(matches!(
        ike_failure(&pair.initiator_events),
        Some(Failure::Protocol(_))
    ));
}

#[test]
fn psk_mismatch_is_authentication_failed_on_both_sides() {
    let mut c = cgw(&[DhGroup::Modp2048]);
    c.psk = psk("not-the-same-secret-999");
    let mut pair = Pair::new(c, aws());
    pair.drive_for(Duration::from_secs(10));
    assert!(
        matches!(ike_failure(&pair.responder_events), Some(Failure::AuthenticationFailed(r)) if r.contains("pre-shared key"))
    );
    assert!(matches!(
        ike_failure(&pair.initiator_events),
        Some(Failure::PeerAuthenticationFailed { .. })
    ));
    assert!(ike_established(&pair.initiator_events).is_none());
    assert!(ike_established(&pair.responder_events).is_none());
}

#[test]
fn wrong_identity_is_authentication_failed() {
    let mut resp = aws();
    resp.remote_id = Some(Identity::Addr(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99))));
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), resp);
    pair.drive_for(Duration::from_secs(10));
    assert!(
        matches!(ike_failure(&pair.responder_events), Some(Failure::AuthenticationFailed(r)) if r.contains("identity"))
    );
    assert!(matches!(
        ike_failure(&pair.initiator_events),
        Some(Failure::PeerAuthenticationFailed { .. })
    ));
}

fn range(a: [u8; 4], b: [u8; 4]) -> TrafficSelector {
    TrafficSelector {
        ts_type: TsType::IPV4_ADDR_RANGE,
        ip_protocol: 0,
        start_port: 0,
        end_port: 65535,
        start_addr: IpAddr::V4(a.into()),
        end_addr: IpAddr::V4(b.into()),
    }
}

#[test]
fn ts_unacceptable_keeps_the_ike_sa() {
    // A policy-based CGW asks for 198.18.5.0/24 <-> 198.19.7.0/24; the
    // responder only allows its own VPC range 198.19.0.0/24.
    let mut c = cgw(&[DhGroup::Modp2048]);
    c.local_ts = vec![range([198, 18, 5, 0], [198, 18, 5, 255])];
    c.remote_ts = vec![range([198, 19, 7, 0], [198, 19, 7, 255])];
    let mut resp = aws();
    resp.local_ts = vec![range([198, 19, 0, 0], [198, 19, 0, 255])];
    let mut pair = Pair::new(c, resp);
    pair.drive_for(Duration::from_secs(10));
    assert!(ike_established(&pair.initiator_events).is_some());
    assert!(ike_established(&pair.responder_events).is_some());
    assert!(matches!(
        child_failure(&pair.initiator_events),
        Some(Failure::PeerTsUnacceptable { .. })
    ));
    assert!(matches!(
        child_failure(&pair.responder_events),
        Some(Failure::TsUnacceptable { .. })
    ));
    assert!(child_installed(&pair.initiator_events).is_none());
}

#[test]
fn ts_are_narrowed_to_the_responders_configuration() {
    let mut resp = aws();
    resp.local_ts = vec![range([198, 19, 0, 0], [198, 19, 255, 255])];
    resp.remote_ts = vec![range([198, 18, 0, 0], [198, 18, 0, 255])];
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), resp);
    pair.drive_for(Duration::from_secs(10));
    let c = child_installed(&pair.initiator_events).unwrap();
    assert_eq!(c.local_ts, vec![range([198, 18, 0, 0], [198, 18, 0, 255])]);
    assert_eq!(
        c.remote_ts,
        vec![range([198, 19, 0, 0], [198, 19, 255, 255])]
    );
}

#[test]
fn child_no_proposal_chosen_keeps_the_ike_sa() {
    let mut c = cgw(&[DhGroup::Modp2048]);
    c.esp_proposals = vec![esp_proposal(
        EncrAlg::AesCbc { key_bits: 192 },
        Some(IntegAlg::HmacSha1_96),
    )];
    let mut pair = Pair::new(c, aws());
    pair.drive_for(Duration::from_secs(10));
    assert!(ike_established(&pair.initiator_events).is_some());
    assert!(matches!(
        child_failure(&pair.initiator_events),
        Some(Failure::PeerNoProposalChosen { .. })
    ));
    match child_failure(&pair.responder_events) {
        Some(Failure::NoProposalChosen(m)) => assert_eq!(m.transform, TransformType::ENCR),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lost_ike_sa_init_is_retransmitted() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    pair.drop = Box::new(|d, n, _| d == Dir::ToResponder && n == 0);
    pair.drive_for(Duration::from_secs(10));
    assert!(child_installed(&pair.initiator_events).is_some());
    assert_eq!(pair.initiator.stats().retransmissions, 1);
    assert_eq!(ike_sa_init_requests(&pair), 2);
}

#[test]
fn lost_ike_auth_response_is_answered_from_cache() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    // Responder's second datagram is the IKE_AUTH response.
    pair.drop = Box::new(|d, n, _| d == Dir::ToInitiator && n == 1);
    pair.drive_for(Duration::from_secs(10));
    assert!(child_installed(&pair.initiator_events).is_some());
    let r = pair.responder().unwrap();
    assert_eq!(r.stats().answered_from_cache, 1);
    let installed = pair
        .responder_events
        .iter()
        .filter(|e| matches!(e, ike::sa::Event::ChildSaInstalled(_)))
        .count();
    assert_eq!(
        installed, 1,
        "a retransmitted IKE_AUTH must not create a second child SA"
    );
}

#[test]
fn gives_up_after_five_tries() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    pair.drop = Box::new(|d, _, _| d == Dir::ToResponder);
    pair.drive_for(Duration::from_secs(600));
    match ike_failure(&pair.initiator_events) {
        Some(f @ Failure::NoResponse { tries, .. }) => {
            assert_eq!(*tries, 5);
            assert_eq!(
                f.to_string(),
                "no response from 198.51.100.10:500 after 5 tries"
            );
        }
        other => panic!("{other:?}"),
    }
    // 2 + 4 + 8 + 16 + 32 s of backoff.
    assert_eq!(pair.wire.len(), 5);
    assert!(pair.initiator.is_closed());
    assert!(pair.initiator.poll_timeout().is_none());
}

#[test]
fn responder_half_open_times_out() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    // Let IKE_SA_INIT through, then nothing more reaches the responder.
    pair.drop = Box::new(|d, n, _| d == Dir::ToResponder && n > 0);
    pair.drive_for(Duration::from_secs(100));
    assert!(matches!(
        ike_failure(&pair.responder_events),
        Some(Failure::HalfOpenTimeout)
    ));
}

#[test]
fn forced_encapsulation_floats_to_4500() {
    let mut c = cgw(&[DhGroup::Modp2048]);
    c.force_encapsulation = true;
    let mut pair = Pair::new(c, aws());
    pair.drive_for(Duration::from_secs(10));
    let ci = child_installed(&pair.initiator_events).unwrap();
    let (l, r) = ci.encapsulation.expect("encapsulated");
    assert_eq!((l.port(), r.port()), (4500, 4500));
    let i = ike_established(&pair.initiator_events).unwrap();
    assert!(i.nat.local_behind_nat && !i.nat.remote_behind_nat);
    let r = ike_established(&pair.responder_events).unwrap();
    assert!(r.nat.remote_behind_nat && !r.nat.local_behind_nat);
    assert!(child_installed(&pair.responder_events)
        .unwrap()
        .encapsulation
        .is_some());
    // IKE_AUTH went to 4500 with the non-ESP marker.
    let (_, auth) = &pair.wire[2];
    assert_eq!(auth.remote.port(), 4500);
    assert_eq!(&auth.payload[..4], &[0, 0, 0, 0]);
}

#[test]
fn no_nat_no_encapsulation() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    pair.drive_for(Duration::from_secs(10));
    let ci = child_installed(&pair.initiator_events).unwrap();
    assert!(ci.encapsulation.is_none());
    assert!(!ike_established(&pair.initiator_events)
        .unwrap()
        .nat
        .detected());
}

#[test]
fn garbage_and_forgeries_are_dropped_without_harm() {
    let mut pair = Pair::new(cgw(&[DhGroup::Modp2048]), aws());
    pair.drive_for(Duration::from_secs(10));
    let now = pair.now;
    let (l, r) = (pair.initiator.local_addr(), pair.initiator.remote_addr());
    for junk in [&b""[..], &[0u8; 27][..], &[0xffu8; 28][..], &[0u8; 300][..]] {
        pair.initiator.handle_message(now, l, r, junk);
    }
    // A response-shaped message with the right SPIs but a forged SK payload.
    let mut forged = pair
        .wire
        .iter()
        .rev()
        .find(|(d, _)| *d == Dir::ToInitiator)
        .unwrap()
        .1
        .payload
        .clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    pair.initiator.handle_message(now, l, r, &forged);
    assert!(pair.initiator.stats().malformed >= 3);
    assert_eq!(pair.initiator.state(), ike::sa::State::Established);
    assert!(IkeSa::accept(Arc::new(aws()), l, r, &[1, 2, 3], now, [0; 32]).is_err());
}
