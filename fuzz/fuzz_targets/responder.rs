//! An `ike::sa::Endpoint` responder (AWS's proposals, `PreferOwn`) fed a
//! sequence of datagrams from the input on ports 500 and 4500, from a few
//! remote addresses, with the clock moved between them; optionally after
//! (or during) a genuine handshake with an `IkeSa` initiator, whose
//! datagrams can also be replayed with mutations. Input layout in
//! `fuzz/shared/responder.rs`.
//!
//! Properties: nothing panics; the endpoint never holds more IKE SAs than
//! it was given datagrams; every datagram it sends fits in 64 KiB.
#![no_main]

#[path = "../shared/responder.rs"]
mod shared;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::natt::{classify_udp4500, Udp4500};
use ike::sa::{Endpoint, IkeSa, Transmit};
use libfuzzer_sys::fuzz_target;

use shared::*;

const MAX_DATAGRAM: usize = 64 * 1024;

struct Harness {
    now: Instant,
    endpoint: Endpoint,
    initiator: Option<IkeSa>,
    /// Deliver the initiator's datagrams to the endpoint by themselves.
    auto_deliver: bool,
    /// Every datagram the initiator sent: (from, to, payload).
    genuine: Vec<Transmit>,
    /// The endpoint's last transmit.
    last_out: Option<Transmit>,
    /// The last datagram given to the endpoint: (local, remote, payload).
    last_in: Option<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Datagrams given to the endpoint so far.
    delivered: usize,
}

impl Harness {
    fn deliver(&mut self, local: SocketAddr, remote: SocketAddr, datagram: Vec<u8>) {
        self.delivered += 1;
        self.endpoint
            .handle_datagram(self.now, local, remote, &datagram);
        self.last_in = Some((local, remote, datagram));
        self.check();
    }

    fn check(&self) {
        let n = self.endpoint.sas().count();
        assert!(
            n <= self.delivered,
            "{n} IKE SAs after {} datagrams",
            self.delivered
        );
    }

    /// Moves datagrams until both sides are quiet (bounded).
    fn pump(&mut self) {
        for _ in 0..16 {
            let mut moved = false;
            while let Some(t) = self.endpoint.poll_transmit() {
                assert!(
                    t.payload.len() <= MAX_DATAGRAM,
                    "transmit of {} bytes",
                    t.payload.len()
                );
                assert_eq!(t.local.ip(), IpAddr::V4(LOCAL_IP));
                if let Some(init) = &mut self.initiator {
                    if t.remote.ip() == init.local_addr().ip() {
                        moved = true;
                        let msg: &[u8] = if t.remote.port() != 500 {
                            match classify_udp4500(&t.payload) {
                                Udp4500::Ike(m) => m,
                                _ => &[],
                            }
                        } else {
                            &t.payload
                        };
                        if !msg.is_empty() {
                            init.handle_message(self.now, t.remote, t.local, msg);
                        }
                    }
                }
                self.last_out = Some(t);
            }
            while self.endpoint.poll_event().is_some() {}
            if let Some(init) = &mut self.initiator {
                while init.poll_event().is_some() {}
                let mut out = Vec::new();
                while let Some(t) = init.poll_transmit() {
                    assert!(t.payload.len() <= MAX_DATAGRAM);
                    out.push(t);
                }
                for t in out {
                    self.genuine.push(t.clone());
                    if self.auto_deliver && self.genuine.len() <= 32 {
                        moved = true;
                        self.deliver(t.remote, t.local, t.payload);
                    }
                }
            }
            if !moved {
                break;
            }
        }
        // Anything left is drained without delivery.
        while let Some(t) = self.endpoint.poll_transmit() {
            assert!(t.payload.len() <= MAX_DATAGRAM);
            self.last_out = Some(t);
        }
        while self.endpoint.poll_event().is_some() {}
        self.check();
    }

    fn advance(&mut self, step: Duration) {
        self.now += step;
        self.endpoint.handle_timeout(self.now);
        if let Some(init) = &mut self.initiator {
            init.handle_timeout(self.now);
        }
    }
}

fn mutate(mut bytes: Vec<u8>, script: &[u8]) -> Vec<u8> {
    for m in script.chunks_exact(3) {
        if bytes.is_empty() {
            break;
        }
        let pos = usize::from(u16::from_be_bytes([m[0], m[1]])) % bytes.len();
        bytes[pos] ^= m[2];
    }
    bytes
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let start = Instant::now();
    let mut h = Harness {
        now: start,
        endpoint: Endpoint::new(Some(Arc::new(responder_config())), ENDPOINT_SEED),
        initiator: None,
        auto_deliver: flags & 2 != 0,
        genuine: Vec::new(),
        last_out: None,
        last_in: None,
        delivered: 0,
    };
    if flags & 1 != 0 {
        h.initiator = Some(IkeSa::initiate(
            Arc::new(initiator_config(flags >> 2)),
            initiator_addr(),
            local_addr(500),
            start,
            INITIATOR_SEED,
        ));
        h.pump();
    }

    // At most 64 records.
    for _ in 0..64 {
        if rest.len() < 4 {
            break;
        }
        let (ctl, src) = (rest[0], rest[1]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let len = len.min(rest.len() - 4);
        let bytes = &rest[4..4 + len];
        rest = &rest[4 + len..];

        h.advance(Duration::from_millis(STEPS_MS[usize::from(ctl >> 4)]));
        let port = if ctl & 1 == 0 { 500 } else { 4500 };
        let local = local_addr(port);
        let remote_port = if ctl & 8 == 0 { port } else { NAT_PORT };
        let remote = SocketAddr::new(
            IpAddr::V4(REMOTES[usize::from((ctl >> 1) & 3)]),
            remote_port,
        );
        let datagram = match src % 4 {
            0 => Some(bytes.to_vec()),
            1 => bytes.split_first().and_then(|(&k, script)| {
                let g = h.genuine.get(usize::from(k))?;
                Some(mutate(g.payload.clone(), script))
            }),
            2 => h
                .last_out
                .as_ref()
                .map(|t| mutate(t.payload.clone(), bytes)),
            _ => h.last_in.as_ref().map(|(_, _, d)| mutate(d.clone(), bytes)),
        };
        if let Some(d) = datagram {
            h.deliver(local, remote, d);
        }
        h.pump();
    }
    // Let every timer run out.
    for _ in 0..8 {
        let Some(t) = h.endpoint.poll_timeout() else {
            break;
        };
        h.advance(t.saturating_duration_since(h.now));
        h.pump();
    }
});
