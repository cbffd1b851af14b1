//! Stateless cookies and the half-open limit (RFC 7296 2.6) on the virtual
//! clock: a flood of IKE_SA_INIT requests from many addresses, a legitimate
//! initiator among them, invalid and stale cookies.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::{Event, Failure, IkeConfig, IkeSa, Received, COOKIE_LEN};
use ike::wire::{ExchangeType, Message, Notify, NotifyType, Payload, ProtocolId};

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

fn aws_addr() -> SocketAddr {
    AWS.parse().unwrap()
}

/// One IKE_SA_INIT request (as the flooder sends it: a real one, copied
/// with a new SPI per source).
fn template() -> Vec<u8> {
    let mut sa = IkeSa::initiate(
        Arc::new(cgw()),
        "203.0.113.1:500".parse().unwrap(),
        aws_addr(),
        std::time::Instant::now(),
        [9; 32],
    );
    sa.poll_transmit().unwrap().payload
}

/// `n` flood requests from 203.0.113.x and 192.0.2.x (never 192.0.2.10, the
/// legitimate initiator), each with its own SPI and source port.
fn flood(n: usize) -> Vec<(SocketAddr, Vec<u8>)> {
    let t = template();
    (0..n)
        .map(|k| {
            let mut d = t.clone();
            d[..8].copy_from_slice(&(0x0f00_0000_0000_0000u64 + k as u64).to_be_bytes());
            let host = (k / 2 % 240 + 11) as u8;
            let ip = if k % 2 == 0 {
                format!("203.0.113.{host}")
            } else {
                format!("192.0.2.{host}")
            };
            let src = SocketAddr::new(ip.parse().unwrap(), 1024 + k as u16);
            (src, d)
        })
        .collect()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    accepted: usize,
    cookie: usize,
    dropped: usize,
}

fn inject(pair: &mut Pair, requests: &[(SocketAddr, Vec<u8>)]) -> Outcome {
    let mut o = Outcome::default();
    let now = pair.now;
    for (src, d) in requests {
        match pair.responders.handle_datagram(now, aws_addr(), *src, d) {
            Received::Ike(_) => o.accepted += 1,
            Received::CookieDemanded => o.cookie += 1,
            Received::Dropped => o.dropped += 1,
            other => panic!("{other:?}"),
        }
    }
    o
}

fn init_requests_from_initiator(p: &Pair) -> Vec<Message> {
    p.wire
        .iter()
        .filter(|(d, t)| {
            *d == Dir::ToResponder
                && t.payload.len() > 18
                && t.payload[18] == ExchangeType::IKE_SA_INIT.0
        })
        .map(|(_, t)| Message::parse(&t.payload).unwrap())
        .collect()
}

fn cookie_of(m: &Message) -> Option<&[u8]> {
    match m.payloads.first() {
        Some(Payload::Notify(n)) if n.kind == NotifyType::COOKIE => Some(&n.data),
        _ => None,
    }
}

#[test]
fn flood_demands_cookies_and_a_legitimate_initiator_gets_through() {
    let r = aws();
    assert_eq!((r.cookie_threshold, r.half_open_limit), (32, 1024));
    let mut pair = Pair::new(cgw(), r);
    let o = inject(&mut pair, &flood(1000));
    // The first 32 get state; every later one only a cookie.
    assert_eq!(
        o,
        Outcome {
            accepted: 32,
            cookie: 968,
            dropped: 0
        }
    );
    assert_eq!(pair.responders.half_open(), 32);
    assert_eq!(pair.responders.sas().count(), 32);
    let s = pair.responders.stats();
    assert_eq!((s.cookies_sent, s.half_open_peak), (968, 32));

    // The legitimate initiator: cookie, retry with it, established.
    pair.drive_for(Duration::from_secs(5));
    assert!(ike_established(&pair.initiator_events).is_some());
    assert!(child_installed(&pair.responder_events).is_some());
    let inits = init_requests_from_initiator(&pair);
    assert_eq!(inits.len(), 2);
    assert!(cookie_of(&inits[0]).is_none());
    let c = cookie_of(&inits[1]).expect("retried with the cookie first");
    assert_eq!(c.len(), COOKIE_LEN);
    // Same SPI and nonce the second time (RFC 7296 2.6).
    assert_eq!(inits[0].header.spi_i, inits[1].header.spi_i);
    let s = pair.responders.stats();
    assert_eq!((s.cookies_sent, s.cookies_accepted), (969, 1));
    // The cookie answers to the flood went nowhere; the initiator saw
    // nothing foreign.
    assert_eq!(pair.initiator.stats().unexpected, 0);

    // Half-open SAs time out; the endpoint forgets them.
    pair.drive_for(Duration::from_secs(60));
    assert_eq!(pair.responders.half_open(), 0);
    assert_eq!(pair.responders.sas().count(), 1, "only the real SA is kept");
    let timeouts = pair
        .responder_events
        .iter()
        .filter(|e| matches!(e, Event::IkeSaFailed(Failure::HalfOpenTimeout)))
        .count();
    assert_eq!(timeouts, 32);

    // Below the threshold again: a new request gets state without a cookie.
    let o = inject(&mut pair, &flood(1));
    assert_eq!(o.accepted, 1);
}

#[test]
fn the_hard_limit_bounds_half_open_state() {
    let mut r = aws();
    r.cookie_threshold = usize::MAX;
    r.half_open_limit = 100;
    let mut pair = Pair::new(cgw(), r);
    let o = inject(&mut pair, &flood(1000));
    assert_eq!(
        o,
        Outcome {
            accepted: 100,
            cookie: 0,
            dropped: 900
        }
    );
    assert_eq!(pair.responders.half_open(), 100);
    assert_eq!(pair.responders.sas().count(), 100);
    assert_eq!(pair.responders.stats().dropped_half_open_limit, 900);
    // The legitimate initiator is dropped too until the flood's half-open
    // SAs time out (30 s); its retransmission at 2+4+8+16 = 30 s arrives
    // just after and gets through.
    pair.drive_for(Duration::from_secs(5));
    assert!(ike_established(&pair.initiator_events).is_none());
    pair.drive_for(Duration::from_secs(60));
    assert!(ike_established(&pair.initiator_events).is_some());
    assert_eq!(pair.responders.half_open(), 0);
    assert_eq!(pair.responders.sas().count(), 1);
}

#[test]
fn with_threshold_zero_every_initiator_needs_a_cookie() {
    let mut r = aws();
    r.cookie_threshold = 0;
    let mut pair = Pair::new(cgw(), r);
    pair.drive_for(Duration::from_secs(5));
    assert!(child_installed(&pair.initiator_events).is_some());
    let inits = init_requests_from_initiator(&pair);
    assert_eq!(inits.len(), 2);
    assert!(cookie_of(&inits[1]).is_some());
    // Cookie answer: SPIr zero, only N(COOKIE).
    let (_, answer) = pair
        .wire
        .iter()
        .find(|(d, _)| *d == Dir::ToInitiator)
        .unwrap();
    let m = Message::parse(&answer.payload).unwrap();
    assert_eq!(m.header.spi_r, 0);
    assert!(m.header.flags.response);
    assert_eq!(m.payloads.len(), 1);
    assert_eq!(cookie_of(&m), cookie_of(&inits[1]));
}

/// What a datagram did, without borrowing it.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    State,
    Cookie,
    Other(String),
}

fn feed(
    pair: &mut Pair,
    now: std::time::Instant,
    local: SocketAddr,
    src: SocketAddr,
    d: &[u8],
) -> Got {
    match pair.responders.handle_datagram(now, local, src, d) {
        Received::Ike(_) => Got::State,
        Received::CookieDemanded => Got::Cookie,
        other => Got::Other(format!("{other:?}")),
    }
}

fn with_cookie(request: &[u8], cookie: &[u8], first: bool) -> Vec<u8> {
    let mut m = Message::parse(request).unwrap();
    let n = Payload::Notify(Notify {
        protocol: ProtocolId(0),
        spi: Vec::new(),
        kind: NotifyType::COOKIE,
        data: cookie.to_vec(),
    });
    if first {
        m.payloads.insert(0, n);
    } else {
        m.payloads.push(n);
    }
    m.emit()
}

fn take_cookie(pair: &mut Pair) -> Vec<u8> {
    let t = pair.responders.poll_transmit().expect("a cookie answer");
    let m = Message::parse(&t.payload).unwrap();
    cookie_of(&m).expect("N(COOKIE)").to_vec()
}

#[test]
fn invalid_cookies_are_rejected_with_a_fresh_one() {
    let mut r = aws();
    r.cookie_threshold = 0;
    let mut pair = Pair::new(cgw(), r);
    let now = pair.now;
    let (src, req) = flood(1).remove(0);
    let local = aws_addr();

    // A made-up cookie: refused, a real one comes back, no state.
    let bogus = with_cookie(&req, &[0x55; COOKIE_LEN], true);
    let got = feed(&mut pair, now, local, src, &bogus);
    assert_eq!(got, Got::Cookie);
    assert_eq!(pair.responders.stats().invalid_cookies, 1);
    assert_eq!(pair.responders.half_open(), 0);
    let good = take_cookie(&mut pair);
    assert_ne!(good, vec![0x55; COOKIE_LEN]);

    // The right cookie from another address, or with another SPI: refused.
    let other: SocketAddr = "203.0.113.200:500".parse().unwrap();
    let replayed = with_cookie(&req, &good, true);
    let got = feed(&mut pair, now, local, other, &replayed);
    assert_eq!(got, Got::Cookie);
    take_cookie(&mut pair);
    let mut other_spi = replayed.clone();
    other_spi[7] ^= 1;
    let got = feed(&mut pair, now, local, src, &other_spi);
    assert_eq!(got, Got::Cookie);
    take_cookie(&mut pair);
    assert_eq!(pair.responders.stats().invalid_cookies, 3);

    // A cookie that is not the first payload does not count.
    let late = with_cookie(&req, &good, false);
    let got = feed(&mut pair, now, local, src, &late);
    assert_eq!(got, Got::Cookie);
    take_cookie(&mut pair);
    assert_eq!(pair.responders.stats().invalid_cookies, 3);
    assert_eq!(pair.responders.half_open(), 0);
    assert_eq!(pair.responders.sas().count(), 0);

    // The right one, first, from the right address: state at last.
    let got = feed(&mut pair, now, local, src, &replayed);
    assert!(got == Got::State);
    assert_eq!(pair.responders.half_open(), 1);
    assert_eq!(pair.responders.stats().cookies_accepted, 1);
}

#[test]
fn cookies_survive_one_secret_rotation_not_two() {
    let mut r = aws();
    r.cookie_threshold = 0;
    r.cookie_secret_lifetime = Duration::from_secs(60);
    let mut pair = Pair::new(cgw(), r);
    let t0 = pair.now;
    let local = aws_addr();
    let mut reqs = flood(2);
    let (src_b, req_b) = reqs.pop().unwrap();
    let (src_a, req_a) = reqs.pop().unwrap();
    pair.responders.handle_datagram(t0, local, src_a, &req_a);
    let cookie_a = take_cookie(&mut pair);
    pair.responders.handle_datagram(t0, local, src_b, &req_b);
    let cookie_b = take_cookie(&mut pair);

    // 70 s later the secret has rotated once: A's cookie still works.
    let t1 = t0 + Duration::from_secs(70);
    let got = feed(
        &mut pair,
        t1,
        local,
        src_a,
        &with_cookie(&req_a, &cookie_a, true),
    );
    assert!(got == Got::State, "{got:?}");
    // 140 s: rotated twice, B's cookie (made with the first secret) is stale.
    let t2 = t0 + Duration::from_secs(140);
    let got = feed(
        &mut pair,
        t2,
        local,
        src_b,
        &with_cookie(&req_b, &cookie_b, true),
    );
    assert_eq!(got, Got::Cookie);
    let fresh = take_cookie(&mut pair);
    assert_ne!(fresh, cookie_b);
    let got = feed(
        &mut pair,
        t2,
        local,
        src_b,
        &with_cookie(&req_b, &fresh, true),
    );
    assert!(got == Got::State);
}

#[test]
fn cookies_work_on_the_natt_port_too() {
    // A request arriving on 4500 (after a NAT rebinding, or a peer that
    // starts there) gets its cookie back with the non-ESP marker.
    let mut r = aws();
    r.cookie_threshold = 0;
    let mut pair = Pair::new(cgw(), r);
    let (src, req) = flood(1).remove(0);
    let mut framed = vec![0, 0, 0, 0];
    framed.extend_from_slice(&req);
    let local: SocketAddr = "198.51.100.10:4500".parse().unwrap();
    let now = pair.now;
    let got = feed(&mut pair, now, local, src, &framed);
    assert_eq!(got, Got::Cookie);
    let t = pair.responders.poll_transmit().unwrap();
    assert_eq!(t.local, local);
    assert_eq!(&t.payload[..4], &[0, 0, 0, 0]);
    let m = Message::parse(&t.payload[4..]).unwrap();
    assert!(cookie_of(&m).is_some());
}
