//! Regression test for a bug the `established` fuzz target found
//! (fuzz/regressions/established/child_rekey_temporary_failure.bin):
//! a child SA rekey started by its soft lifetime and answered with
//! TEMPORARY_FAILURE (RFC 7296 2.25: "retry later") is retried at once.
//! `finish_child_rekey` (ike/src/sa/exchange_create_child.rs) returns on
//! TEMPORARY_FAILURE without moving the child's `rekey_at`, which is in the
//! past, so `child_deadline` reports it due again immediately and
//! `on_child_deadlines` sends a new CREATE_CHILD_SA (a fresh nonce and,
//! with PFS, a fresh DH key) at the same instant: a driver on a virtual
//! clock loops without time moving, a real one sends a rekey per round
//! trip for as long as the peer keeps answering TEMPORARY_FAILURE. (The
//! IKE SA rekey waits 10 s in the same case.)
//!
//! The peer's answer is made with the fuzzing hook
//! `IkeSa::fuzz_send_response`, as a peer busy rekeying would answer.
//! Fixed; it runs with the suite:
//! `cargo test -p ike --test child_rekey_temporary_failure`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::crypto::{DhGroup, EncrAlg, PrfAlg, Secret};
use ike::sa::{Endpoint, EspProposal, IkeConfig, IkeProposal, State, Transmit};
use ike::wire::{emit_payloads, ExchangeType, Header, Notify, NotifyType, Payload};

fn config() -> IkeConfig {
    let encr = EncrAlg::AesGcm16 { key_bits: 128 };
    IkeConfig::new(
        Secret::from_slice(b"temporary-failure"),
        vec![IkeProposal {
            encr: vec![encr],
            prf: vec![PrfAlg::HmacSha256],
            integ: Vec::new(),
            dh: vec![DhGroup::Ecp256],
        }],
        vec![EspProposal {
            encr: vec![encr],
            integ: Vec::new(),
            dh: Vec::new(),
        }],
    )
}

fn outbox(ep: &mut Endpoint) -> Vec<Transmit> {
    while ep.poll_event().is_some() {}
    std::iter::from_fn(|| ep.poll_transmit()).collect()
}

fn is_child_request(t: &Transmit) -> bool {
    Header::parse(&t.payload)
        .is_ok_and(|h| h.exchange == ExchangeType::CREATE_CHILD_SA && !h.flags.response)
}

#[test]
fn child_rekey_temporary_failure_is_not_retried_at_once() {
    let start = Instant::now();
    let i_addr: SocketAddr = "192.0.2.10:500".parse().unwrap();
    let r_addr: SocketAddr = "198.51.100.10:500".parse().unwrap();
    let mut init = Endpoint::new(None, [1; 32]);
    let mut resp = Endpoint::new(Some(Arc::new(config())), [2; 32]);
    init.initiate(Arc::new(config()), i_addr, r_addr, start);
    // Establish.
    for _ in 0..8 {
        for t in outbox(&mut init) {
            resp.handle_datagram(start, t.remote, t.local, &t.payload);
        }
        for t in outbox(&mut resp) {
            init.handle_datagram(start, t.remote, t.local, &t.payload);
        }
    }
    let (iid, isa) = init.sas().next().unwrap();
    assert_eq!(isa.state(), State::Established);
    assert_eq!(isa.child_spis().len(), 1);
    let rid = resp.sas().next().unwrap().0;

    // Past the child's soft lifetime (3600 s - 270..540 s), before its
    // hard lifetime: the initiator starts the rekey by itself.
    let now = start + Duration::from_secs(3400);
    init.handle_timeout(now);
    let sent = outbox(&mut init);
    assert!(sent.iter().any(is_child_request), "the rekey is sent");

    // The peer answers it with TEMPORARY_FAILURE (the request itself is
    // not delivered; the answer carries its message ID).
    let mut inner = Vec::new();
    let first = emit_payloads(
        &[Payload::Notify(Notify::new(
            NotifyType::TEMPORARY_FAILURE,
            Vec::new(),
        ))],
        &mut inner,
    );
    let r = resp.sa_mut(rid).unwrap();
    assert!(r.fuzz_send_response(ExchangeType::CREATE_CHILD_SA, first, &inner));
    for t in outbox(&mut resp) {
        init.handle_datagram(now, t.remote, t.local, &t.payload);
    }
    assert_eq!(init.sa(iid).unwrap().stats().integrity_failures, 0);

    // "Retry later": nothing may be due at this same instant.
    let due = init.poll_timeout();
    assert!(
        due.is_some_and(|t| t > now),
        "next deadline {:?} after TEMPORARY_FAILURE at {now:?}",
        due
    );
    init.handle_timeout(now);
    let again = outbox(&mut init);
    assert!(
        !again.iter().any(is_child_request),
        "the child rekey was sent again at the same instant"
    );
}
