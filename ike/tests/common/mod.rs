//! Two IKE endpoints on a virtual clock, joined by a link with latency and
//! a programmable drop filter (after quinn-proto's `tests/util.rs`).

#![allow(dead_code)]

pub mod duo;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::natt::{classify_udp4500, Udp4500};
use ike::sa::{Endpoint, EspProposal, Event, IkeConfig, IkeProposal, IkeSa, SaId, Transmit};

/// Which way a datagram travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Initiator to responder.
    ToResponder,
    /// Responder to initiator.
    ToInitiator,
}

/// Which end reported an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Initiator,
    Responder,
}

pub const CGW: &str = "192.0.2.10:500";
pub const AWS: &str = "198.51.100.10:500";

type DropFilter = Box<dyn FnMut(Dir, usize, &Transmit) -> bool>;
type Rewrite = Box<dyn FnMut(Dir, usize, Transmit) -> Vec<Transmit>>;

/// Which end sits behind the NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatSide {
    Initiator,
    Responder,
}

/// A NAT in the link: the host on `side` has address `private`; the other
/// end sees it as `public`, with every port moved up by `port_shift`
/// (a source NAT with port translation for the initiator, a port forward
/// for the responder). Datagrams to a public port that is not mapped now
/// (an old mapping after a change) are lost, as in a real NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nat {
    pub side: NatSide,
    pub private: IpAddr,
    pub public: IpAddr,
    pub port_shift: u16,
}

impl Nat {
    /// Rewrites a datagram crossing the NAT; `false` if the NAT drops it.
    fn translate(&self, dir: Dir, t: &mut Transmit) -> bool {
        let outbound = matches!(
            (self.side, dir),
            (NatSide::Initiator, Dir::ToResponder) | (NatSide::Responder, Dir::ToInitiator)
        );
        if outbound {
            if t.local.ip() == self.private {
                t.local =
                    SocketAddr::new(self.public, t.local.port().wrapping_add(self.port_shift));
            }
            true
        } else if t.remote.ip() == self.public {
            let port = t.remote.port().wrapping_sub(self.port_shift);
            if ![500, 4500].contains(&port) {
                return false;
            }
            t.remote = SocketAddr::new(self.private, port);
            true
        } else {
            true
        }
    }
}

pub struct Pair {
    pub start: Instant,
    pub now: Instant,
    pub latency: Duration,
    pub initiator: IkeSa,
    /// The responder side: an endpoint that starts an SA per IKE_SA_INIT.
    pub responders: Endpoint,
    pub initiator_events: Vec<Event>,
    pub responder_events: Vec<Event>,
    /// Every datagram sent, in order, with its direction.
    pub wire: Vec<(Dir, Transmit)>,
    /// When each datagram of `wire` was sent.
    pub sent_at: Vec<Instant>,
    /// Return true to drop the n-th datagram in that direction.
    pub drop: DropFilter,
    /// A NAT between the two, applied on delivery (may change mid-test).
    pub nat: Option<Nat>,
    /// What the link makes of each datagram it does not drop: by default
    /// itself; a test may duplicate, hold back, reorder or forge.
    pub rewrite: Rewrite,
    /// Virtual time (since `start`) of each datagram in `wire`.
    pub wire_times: Vec<Duration>,
    /// Every event with the side that reported it and its virtual time
    /// since `start`.
    pub timed_events: Vec<(Side, Duration, Event)>,
    /// When false, every datagram is lost (both ways).
    pub link_up: bool,
    counts: [usize; 2],
    in_flight: Vec<(Instant, Dir, Transmit)>,
}

pub fn psk(s: &str) -> Secret {
    Secret::from_slice(s.as_bytes())
}

pub fn ike_proposal(
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    prf: PrfAlg,
    dh: DhGroup,
) -> IkeProposal {
    IkeProposal {
        encr: vec![encr],
        prf: vec![prf],
        integ: integ.into_iter().collect(),
        dh: vec![dh],
    }
}

pub fn esp_proposal(encr: EncrAlg, integ: Option<IntegAlg>) -> EspProposal {
    EspProposal {
        encr: vec![encr],
        integ: integ.into_iter().collect(),
        dh: Vec::new(),
    }
}

/// AWS's accepted phase 1 set as one responder configuration: two proposals
/// (AEAD and CBC), every group AWS allows.
pub fn aws_ike_proposals() -> Vec<IkeProposal> {
    // AWS's phase 1 groups: every group we have but 5 and 31.
    let dh: Vec<DhGroup> = DhGroup::ALL
        .into_iter()
        .filter(|g| !matches!(g, DhGroup::Modp1536 | DhGroup::Curve25519))
        .collect();
    let prf = vec![
        PrfAlg::HmacSha1,
        PrfAlg::HmacSha256,
        PrfAlg::HmacSha384,
        PrfAlg::HmacSha512,
    ];
    vec![
        IkeProposal {
            encr: vec![
                EncrAlg::AesCbc { key_bits: 128 },
                EncrAlg::AesCbc { key_bits: 256 },
            ],
            prf: prf.clone(),
            integ: vec![
                IntegAlg::HmacSha1_96,
                IntegAlg::HmacSha256_128,
                IntegAlg::HmacSha384_192,
                IntegAlg::HmacSha512_256,
            ],
            dh: dh.clone(),
        },
        IkeProposal {
            encr: vec![
                EncrAlg::AesGcm16 { key_bits: 128 },
                EncrAlg::AesGcm16 { key_bits: 256 },
            ],
            prf,
            integ: Vec::new(),
            dh,
        },
    ]
}

pub fn aws_esp_proposals() -> Vec<EspProposal> {
    vec![
        EspProposal {
            encr: vec![
                EncrAlg::AesCbc { key_bits: 128 },
                EncrAlg::AesCbc { key_bits: 256 },
            ],
            integ: vec![
                IntegAlg::HmacSha1_96,
                IntegAlg::HmacSha256_128,
                IntegAlg::HmacSha384_192,
                IntegAlg::HmacSha512_256,
            ],
            dh: Vec::new(),
        },
        EspProposal {
            encr: vec![
                EncrAlg::AesGcm16 { key_bits: 128 },
                EncrAlg::AesGcm16 { key_bits: 256 },
            ],
            integ: Vec::new(),
            dh: Vec::new(),
        },
    ]
}

impl Pair {
    pub fn new(initiator_config: IkeConfig, responder_config: IkeConfig) -> Pair {
        Pair::with_seed(initiator_config, responder_config, 1)
    }

    pub fn with_seed(initiator_config: IkeConfig, responder_config: IkeConfig, seed: u8) -> Pair {
        Pair::with_addrs(
            initiator_config,
            responder_config,
            seed,
            CGW.parse().unwrap(),
            AWS.parse().unwrap(),
        )
    }

    /// The initiator at `local` starts towards `remote` (behind a NAT,
    /// `local` is its private address and `remote` the responder's public
    /// one).
    pub fn with_addrs(
        initiator_config: IkeConfig,
        responder_config: IkeConfig,
        seed: u8,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Pair {
        let start = Instant::now();
        let initiator =
            IkeSa::initiate(Arc::new(initiator_config), local, remote, start, [seed; 32]);
        Pair {
            start,
            now: start,
            latency: Duration::from_millis(10),
            initiator,
            responders: Endpoint::new(
                Some(Arc::new(responder_config)),
                [seed.wrapping_add(100); 32],
            ),
            initiator_events: Vec::new(),
            responder_events: Vec::new(),
            wire: Vec::new(),
            sent_at: Vec::new(),
            drop: Box::new(|_, _, _| false),
            nat: None,
            rewrite: Box::new(|_, _, t| vec![t]),
            wire_times: Vec::new(),
            timed_events: Vec::new(),
            link_up: true,
            counts: [0, 0],
            in_flight: Vec::new(),
        }
    }

    /// The live responder SA, if any.
    pub fn responder(&self) -> Option<&IkeSa> {
        self.responders
            .sas()
            .map(|(_, s)| s)
            .find(|s| !s.is_closed())
    }

    fn collect(&mut self) {
        while let Some(t) = self.initiator.poll_transmit() {
            self.send(Dir::ToResponder, t);
        }
        while let Some(e) = self.initiator.poll_event() {
            let t = self.elapsed();
            self.timed_events.push((Side::Initiator, t, e.clone()));
            self.initiator_events.push(e);
        }
        while let Some(t) = self.responders.poll_transmit() {
            self.send(Dir::ToInitiator, t);
        }
        while let Some((_, e)) = self.responders.poll_event() {
            let t = self.elapsed();
            self.timed_events.push((Side::Responder, t, e.clone()));
            self.responder_events.push(e);
        }
    }

    fn send(&mut self, dir: Dir, t: Transmit) {
        let i = dir as usize;
        let n = self.counts[i];
        self.counts[i] += 1;
        self.wire.push((dir, t.clone()));
        self.sent_at.push(self.now);
        self.wire_times.push(self.elapsed());
        if self.link_up && !(self.drop)(dir, n, &t) {
            for t in (self.rewrite)(dir, n, t) {
                self.in_flight.push((self.now + self.latency, dir, t));
            }
        }
    }

    fn deliver(&mut self, dir: Dir, mut t: Transmit) {
        if let Some(nat) = &self.nat {
            if !nat.translate(dir, &mut t) {
                return;
            }
        }
        // The receiver sees the datagram on t.remote, coming from t.local.
        let (local, remote): (SocketAddr, SocketAddr) = (t.remote, t.local);
        match dir {
            // Nobody else lives on the initiator's side: datagrams to other
            // addresses (answers to injected floods) are lost.
            Dir::ToInitiator if local.ip() != self.initiator.local_addr().ip() => {}
            Dir::ToInitiator => {
                let msg: &[u8] = if local.port() == 4500 {
                    match classify_udp4500(&t.payload) {
                        Udp4500::Ike(m) => m,
                        _ => return,
                    }
                } else {
                    &t.payload
                };
                self.initiator.handle_message(self.now, local, remote, msg)
            }
            Dir::ToResponder => {
                self.responders
                    .handle_datagram(self.now, local, remote, &t.payload);
            }
        }
    }

    /// Runs until nothing is in flight and no timer is due before `limit`
    /// of virtual time has passed.
    pub fn drive_for(&mut self, limit: Duration) {
        let end = self.now + limit;
        for _ in 0..100_000 {
            self.collect();
            let next_delivery = self.in_flight.iter().map(|f| f.0).min();
            let mut next = next_delivery;
            for t in [
                self.initiator.poll_timeout(),
                self.responders.poll_timeout(),
            ] {
                next = match (next, t) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            let Some(next) = next else { return };
            if next > end {
                self.now = end;
                return;
            }
            self.now = self.now.max(next);
            let now = self.now;
            let mut due = Vec::new();
            self.in_flight.retain(|f| {
                if f.0 <= now {
                    due.push((f.1, f.2.clone()));
                    false
                } else {
                    true
                }
            });
            for (dir, t) in due {
                self.deliver(dir, t);
            }
            self.initiator.handle_timeout(now);
            self.responders.handle_timeout(now);
        }
        panic!("drive_for did not settle");
    }

    /// Like `drive_for`, but the clock reaches `limit` even when nothing
    /// is scheduled.
    pub fn advance(&mut self, limit: Duration) {
        let end = self.now + limit;
        self.drive_for(limit);
        self.now = self.now.max(end);
    }

    /// The live responder SA's id in the responder endpoint.
    pub fn responder_id(&self) -> Option<SaId> {
        self.responders
            .sas()
            .find(|(_, s)| !s.is_closed())
            .map(|(i, _)| i)
    }

    /// Times (since `start`) of the datagrams sent in `dir` for which `f` holds.
    pub fn sent_times(&self, dir: Dir, mut f: impl FnMut(&Transmit) -> bool) -> Vec<Duration> {
        self.wire
            .iter()
            .zip(&self.wire_times)
            .filter(|((d, t), _)| *d == dir && f(t))
            .map(|(_, at)| *at)
            .collect()
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }
}

pub fn child_installed(events: &[Event]) -> Option<&ike::sa::ChildSaInfo> {
    events.iter().find_map(|e| match e {
        Event::ChildSaInstalled(c) => Some(c),
        _ => None,
    })
}

pub fn ike_established(events: &[Event]) -> Option<&ike::sa::IkeSaInfo> {
    events.iter().find_map(|e| match e {
        Event::IkeSaEstablished(c) => Some(c),
        _ => None,
    })
}

pub fn ike_failure(events: &[Event]) -> Option<&ike::sa::Failure> {
    events.iter().find_map(|e| match e {
        Event::IkeSaFailed(f) => Some(f),
        _ => None,
    })
}

pub fn child_failure(events: &[Event]) -> Option<&ike::sa::Failure> {
    events.iter().find_map(|e| match e {
        Event::ChildSaFailed(f) => Some(f),
        _ => None,
    })
}

/// The IKE header of a datagram (the non-ESP marker skipped on port 4500);
/// `None` for ESP, keepalives and garbage.
pub fn ike_header(t: &Transmit) -> Option<ike::wire::Header> {
    let msg: &[u8] = if t.local.port() == 4500 {
        match classify_udp4500(&t.payload) {
            Udp4500::Ike(m) => m,
            _ => return None,
        }
    } else {
        &t.payload
    };
    ike::wire::Header::parse(msg).ok()
}

/// Whether `t` is a request (not a response) of `exchange`.
pub fn is_request(t: &Transmit, exchange: ike::wire::ExchangeType) -> bool {
    ike_header(t).is_some_and(|h| h.exchange == exchange && !h.flags.response)
}
