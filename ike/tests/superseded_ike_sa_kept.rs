//! Regression test for an issue found while writing the `established` fuzz
//! target's bound on IKE SAs: after an IKE SA rekey, the responder's old
//! (superseded) IKE SA waits for the initiator's Delete; `hand_over`
//! (ike/src/sa/exchange_create_child.rs) stops its IkeRekey and IkeExpire
//! timers and liveness skips superseded SAs, so if that Delete is lost
//! (the link fails right after the rekey; the initiator gives up after
//! its retransmissions) the old SA is never removed from the endpoint.
//! Fixed; it runs with the suite:
//! `cargo test -p ike --test superseded_ike_sa_kept`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::crypto::{DhGroup, EncrAlg, PrfAlg, Secret};
use ike::sa::{Endpoint, EspProposal, IkeConfig, IkeProposal, State, Transmit};

fn config() -> IkeConfig {
    let encr = EncrAlg::AesGcm16 { key_bits: 128 };
    IkeConfig::new(
        Secret::from_slice(b"superseded"),
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

#[test]
fn superseded_ike_sa_without_its_delete_goes_away() {
    let start = Instant::now();
    let i_addr: SocketAddr = "192.0.2.10:500".parse().unwrap();
    let r_addr: SocketAddr = "198.51.100.10:500".parse().unwrap();
    let mut init = Endpoint::new(None, [1; 32]);
    let mut resp = Endpoint::new(Some(Arc::new(config())), [2; 32]);
    let iid = init.initiate(Arc::new(config()), i_addr, r_addr, start);
    for _ in 0..8 {
        for t in outbox(&mut init) {
            resp.handle_datagram(start, t.remote, t.local, &t.payload);
        }
        for t in outbox(&mut resp) {
            init.handle_datagram(start, t.remote, t.local, &t.payload);
        }
    }
    assert_eq!(init.sa(iid).unwrap().state(), State::Established);

    // The initiator rekeys the IKE SA; request and answer get through,
    // then the link fails: the Delete of the old IKE SA is lost.
    let old_spi_r = resp.sas().next().unwrap().1.spi_r();
    assert!(init.sa_mut(iid).unwrap().rekey_ike(start));
    for t in outbox(&mut init) {
        resp.handle_datagram(start, t.remote, t.local, &t.payload);
    }
    for t in outbox(&mut resp) {
        init.handle_datagram(start, t.remote, t.local, &t.payload);
    }
    assert_eq!(resp.sas().count(), 2, "old and new IKE SA");
    let _lost = outbox(&mut init);

    // Days pass with the link down: every SA gives up or expires.
    let mut now = start;
    for _ in 0..10_000 {
        let Some(t) = [init.poll_timeout(), resp.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        if t > start + Duration::from_secs(3 * 86_400) {
            break;
        }
        now = now.max(t);
        init.handle_timeout(now);
        resp.handle_timeout(now);
        let _ = (outbox(&mut init), outbox(&mut resp));
    }
    // The new SA failed its own requests (no peer); the old one must be
    // gone too.
    let left: Vec<_> = resp.sas().map(|(_, sa)| format!("{sa:?}")).collect();
    assert!(
        !resp.sas().any(|(_, sa)| sa.spi_r() == old_spi_r),
        "the responder still holds the old IKE SA {old_spi_r:016x}: {left:?}"
    );
}
