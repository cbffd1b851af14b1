//! Messages of another IKE major version (RFC 7296 1.5, 2.5): an IKEv2-only
//! responder answers an IKEv1 Main Mode first message with an
//! unauthenticated INVALID_MAJOR_VERSION in an IKEv2 header and keeps no
//! state; an initiator-only endpoint, and later IKEv1 messages, get
//! nothing.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use ike::ikev1::{Cipher, Hash, MainModeFirst, Suite, EXCHANGE_AGGRESSIVE};
use ike::sa::{Endpoint, IkeConfig, Received};
use ike::wire::{ExchangeType, Message, NotifyType, Payload};

fn aws() -> Endpoint {
    let cfg = IkeConfig::new(
        psk("shared-secret-0123456789"),
        aws_ike_proposals(),
        aws_esp_proposals(),
    );
    Endpoint::new(Some(Arc::new(cfg)), [4; 32])
}

fn main_mode() -> Vec<u8> {
    MainModeFirst {
        cookie_i: 0xfeed_f00d_1234_5678,
        suites: vec![Suite {
            cipher: Cipher::AesCbc(128),
            hash: Hash::Sha1,
            group: 2,
            lifetime_secs: 28800,
        }],
    }
    .emit()
    .unwrap()
}

fn addrs() -> (SocketAddr, SocketAddr) {
    (AWS.parse().unwrap(), "192.0.2.10:500".parse().unwrap())
}

#[test]
fn ikev1_main_mode_gets_invalid_major_version() {
    let mut ep = aws();
    let (local, remote) = addrs();
    let now = Instant::now();
    let request = main_mode();
    let got = ep.handle_datagram(now, local, remote, &request);
    assert_eq!(got, Received::UnsupportedVersion { major: 1 });
    let t = ep.poll_transmit().expect("an answer");
    assert_eq!((t.local, t.remote), (local, remote));
    let m = Message::parse(&t.payload).unwrap();
    assert_eq!(m.header.major_version, 2);
    assert_eq!(m.header.spi_i, 0xfeed_f00d_1234_5678);
    assert_eq!(m.header.spi_r, 0);
    assert_eq!(m.header.message_id, 0);
    assert_eq!(m.header.exchange, ExchangeType::INFORMATIONAL);
    assert!(m.header.flags.response);
    match m.payloads.as_slice() {
        [Payload::Notify(n)] => {
            assert_eq!(n.kind, NotifyType::INVALID_MAJOR_VERSION);
            assert!(n.data.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // Never larger than the request: no amplification.
    assert!(t.payload.len() <= main_mode().len());
    assert!(ep.poll_transmit().is_none());
    // No state: no SA, no event.
    assert_eq!(ep.sas().count(), 0);
    assert!(ep.poll_event().is_none());
    assert_eq!(ep.stats().unsupported_version, 1);
    assert_eq!(ep.stats().invalid_major_version_sent, 1);
    // A retransmission is answered again (still no state).
    ep.handle_datagram(now, local, remote, &main_mode());
    assert!(ep.poll_transmit().is_some());
    assert_eq!(ep.sas().count(), 0);
}

#[test]
fn aggressive_mode_is_answered_too() {
    let mut ep = aws();
    let (local, remote) = addrs();
    let mut m = main_mode();
    m[18] = EXCHANGE_AGGRESSIVE;
    ep.handle_datagram(Instant::now(), local, remote, &m);
    assert!(ep.poll_transmit().is_some());
}

#[test]
fn dropped_silently_otherwise() {
    let (local, remote) = addrs();
    let now = Instant::now();
    // An initiator-only endpoint answers nobody.
    let mut ep = Endpoint::new(None, [5; 32]);
    assert_eq!(
        ep.handle_datagram(now, local, remote, &main_mode()),
        Received::UnsupportedVersion { major: 1 }
    );
    assert!(ep.poll_transmit().is_none());
    // A later IKEv1 message (responder cookie set) is not a first message.
    let mut ep = aws();
    let mut later = main_mode();
    later[8..16].copy_from_slice(&7u64.to_be_bytes());
    ep.handle_datagram(now, local, remote, &later);
    assert!(ep.poll_transmit().is_none());
    // An IKEv1 Quick Mode (exchange 32) is not answered either.
    let mut quick = main_mode();
    quick[18] = 32;
    ep.handle_datagram(now, local, remote, &quick);
    assert!(ep.poll_transmit().is_none());
    assert_eq!(ep.stats().unsupported_version, 2);
    assert_eq!(ep.stats().invalid_major_version_sent, 0);
}

#[test]
fn higher_major_version_init_is_answered_with_init_exchange() {
    let mut ep = aws();
    let (local, remote) = addrs();
    // An IKE_SA_INIT header claiming version 3.0.
    let mut m = vec![0u8; 28];
    m[0..8].copy_from_slice(&9u64.to_be_bytes());
    m[17] = 0x30;
    m[18] = ExchangeType::IKE_SA_INIT.0;
    m[19] = 0x08;
    m[24..28].copy_from_slice(&28u32.to_be_bytes());
    assert_eq!(
        ep.handle_datagram(Instant::now(), local, remote, &m),
        Received::UnsupportedVersion { major: 3 }
    );
    let t = ep.poll_transmit().unwrap();
    let r = Message::parse(&t.payload).unwrap();
    assert_eq!(r.header.exchange, ExchangeType::IKE_SA_INIT);
    assert_eq!(r.header.spi_i, 9);
}
