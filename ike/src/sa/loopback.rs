//! Two endpoints back to back with no network and no clock movement: an
//! initiator SA and a responder [`Endpoint`] hand datagrams to each other
//! until both are quiet. For self-tests and benchmarks; the simulated lab
//! (with latency, loss and time) lives in the `lab` crate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::config::IkeConfig;
use super::endpoint::Endpoint;
use super::event::Event;
use super::ike_sa::IkeSa;
use crate::natt::{classify_udp4500, Udp4500};

/// What each side reported.
#[derive(Debug, Clone, Default)]
pub struct LoopbackOutcome {
    /// The initiator's events, in order.
    pub initiator: Vec<Event>,
    /// The responder's events, in order.
    pub responder: Vec<Event>,
    /// Datagrams exchanged.
    pub datagrams: usize,
}

/// Runs one IKE SA setup from `initiator` at `local` to a responder
/// configured with `responder` at `remote`, seeded with `seed`.
pub fn run(
    initiator: Arc<IkeConfig>,
    responder: Arc<IkeConfig>,
    local: SocketAddr,
    remote: SocketAddr,
    seed: [u8; 32],
) -> LoopbackOutcome {
    let now = Instant::now();
    let mut init = IkeSa::initiate(initiator, local, remote, now, seed);
    let mut resp_seed = seed;
    resp_seed[0] ^= 0x80;
    let mut resp = Endpoint::new(Some(responder), resp_seed);
    let mut out = LoopbackOutcome::default();
    // Each round moves every queued datagram once; a setup needs at most
    // three round trips (INVALID_KE or COOKIE retry, IKE_SA_INIT, IKE_AUTH).
    for _ in 0..8 {
        let mut moved = false;
        while let Some(t) = init.poll_transmit() {
            moved = true;
            out.datagrams += 1;
            resp.handle_datagram(now, t.remote, t.local, &t.payload);
        }
        while let Some(t) = resp.poll_transmit() {
            moved = true;
            out.datagrams += 1;
            let message =
                if t.remote.port() == init.local_addr().port() && init.local_addr().port() != 500 {
                    match classify_udp4500(&t.payload) {
                        Udp4500::Ike(m) => m,
                        _ => continue,
                    }
                } else {
                    &t.payload[..]
                };
            init.handle_message(now, t.remote, t.local, message);
        }
        out.initiator
            .extend(std::iter::from_fn(|| init.poll_event()));
        out.responder
            .extend(std::iter::from_fn(|| resp.poll_event().map(|(_, e)| e)));
        if !moved {
            break;
        }
    }
    out
}
