//! The exchanges that follow IKE_AUTH: a genuine initiator/responder pair
//! of `ike::sa::Endpoint`s, established from the setup byte, then
//! input-driven steps: fuzzed requests and responses sealed under the SA's
//! real keys through the engine's test hooks (`IkeSa::fuzz_send_request`,
//! `fuzz_send_response`), raw or built from well-formed chains (Delete,
//! liveness, child and IKE rekeys) and mutated; the clock moved by up to
//! hours with timers fired on the way (lifetimes, DPD, retransmissions);
//! datagrams dropped, duplicated, delivered one at a time, or lost while
//! the link is down; the public API (rekey_child, rekey_ike, delete_child,
//! delete_ike) called from either side. Input layout in
//! `fuzz/shared/established.rs`.
//!
//! Properties: nothing panics; every transmit fits in 64 KiB; after each
//! step each endpoint holds at most `MAX_SAS` IKE SAs; a delivery round
//! never runs away (at most 4096 datagrams without the clock moving);
//! `poll_timeout` never spins (a deadline at or before `now` that
//! `handle_timeout` does not clear); and after a settling period with the
//! link up (two child lifetimes and more), if both sides hold an
//! established IKE SA, each side holds at most `MAX_CHILDREN` child SAs.
#![no_main]

#[path = "../shared/established.rs"]
mod shared;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::crypto::{DhGroup, KeyPair};
use ike::sa::{selectors, Endpoint, IkeConfig, IkeSa, SaId, State, Transmit};
use ike::wire::{
    self, Delete, ExchangeType, KeyExchange, Nonce, Notify, NotifyType, Payload, PayloadType,
    ProtocolId, SaPayload, TrafficSelectors,
};
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use shared::*;

const MAX_DATAGRAM: usize = 64 * 1024;
/// Datagrams one delivery round may move before it counts as runaway.
const MAX_ROUND: usize = 4096;
/// Timer rounds one clock step may take before jumping to its end.
const MAX_TIMER_ROUNDS: usize = 128;
/// Timer rounds of the settling period.
const MAX_SETTLE_ROUNDS: usize = 4096;
/// Most datagrams queued in one direction (duplication stops there).
const MAX_QUEUE: usize = 256;

/// Reads bytes; past the end, zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

struct Harness {
    now: Instant,
    /// [0] the initiator's endpoint, [1] the responder's.
    ep: [Endpoint; 2],
    /// In flight: [0] towards the responder, [1] towards the initiator.
    queue: [VecDeque<Transmit>; 2],
    link_up: bool,
    config: [Arc<IkeConfig>; 2],
    rng: ChaCha20Rng,
    ke: Option<Vec<u8>>,
    initiated_extra: bool,
}

impl Harness {
    /// Takes what both endpoints want to send into the link (or loses it
    /// when the link is down), and their events.
    fn collect(&mut self) {
        for side in 0..2 {
            while let Some(t) = self.ep[side].poll_transmit() {
                assert!(
                    t.payload.len() <= MAX_DATAGRAM,
                    "transmit of {} bytes",
                    t.payload.len()
                );
                if self.link_up && self.queue[side].len() < MAX_QUEUE {
                    self.queue[side].push_back(t);
                }
            }
            while self.ep[side].poll_event().is_some() {}
        }
    }

    /// Delivers the first datagram queued in direction `dir`.
    fn deliver_one(&mut self, dir: usize) -> bool {
        let Some(t) = self.queue[dir].pop_front() else {
            return false;
        };
        self.ep[1 - dir].handle_datagram(self.now, t.remote, t.local, &t.payload);
        true
    }

    /// Delivers everything both ways until both sides are quiet; returns
    /// how many datagrams it delivered.
    fn pump(&mut self) -> usize {
        let mut moved = 0;
        loop {
            self.collect();
            if self.queue[0].is_empty() && self.queue[1].is_empty() {
                break;
            }
            for dir in 0..2 {
                while self.deliver_one(dir) {
                    moved += 1;
                }
            }
            assert!(
                moved <= MAX_ROUND,
                "{moved} datagrams without the clock moving"
            );
        }
        self.check();
        moved
    }

    fn check(&self) {
        for ep in &self.ep {
            let n = ep.sas().count();
            assert!(n <= MAX_SAS, "{n} IKE SAs in one endpoint");
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.ep[0].poll_timeout(), self.ep[1].poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the timers due now, then delivers; returns the datagrams moved.
    fn fire(&mut self) -> usize {
        for ep in &mut self.ep {
            ep.handle_timeout(self.now);
        }
        self.pump()
    }

    /// Moves the clock to `now + step`, firing every timer on the way (at
    /// most `rounds` rounds, then jumping). Returns whether it got there
    /// without jumping.
    ///
    /// A deadline at or before `now` that a round does not clear is a
    /// spin: with no datagram moved (the driver would busy-loop), or with
    /// datagrams moved every round (an exchange repeated at one instant,
    /// as the known child-rekey TEMPORARY_FAILURE storm does; see
    /// [`storms_are_fatal`]: tolerated by default, the clock is then
    /// nudged by a second as real time would pass).
    fn advance(&mut self, step: Duration, rounds: usize) -> bool {
        let target = self.now + step;
        let (mut idle, mut busy) = (0, 0);
        for _ in 0..rounds {
            let Some(t) = self.next_deadline().filter(|t| *t <= target) else {
                self.now = target;
                self.fire();
                return true;
            };
            if t > self.now {
                (idle, busy) = (0, 0);
                self.now = t;
                self.fire();
                continue;
            }
            if self.fire() == 0 {
                idle += 1;
                assert!(
                    idle <= 64,
                    "poll_timeout spins at {t:?}: nothing due is done"
                );
            } else {
                busy += 1;
                if busy > 64 {
                    assert!(
                        !storms_are_fatal(),
                        "poll_timeout spins at {t:?}: an exchange repeats at one instant"
                    );
                    busy = 0;
                    self.now = (self.now + Duration::from_secs(1)).min(target);
                }
            }
        }
        self.now = target;
        self.fire();
        false
    }

    /// The SA `sel` picks among the live SAs of endpoint `side`
    /// (established ones first).
    fn pick(&self, side: usize, sel: u8) -> Option<SaId> {
        let mut ids: Vec<(bool, SaId)> = self.ep[side]
            .sas()
            .filter(|(_, sa)| !sa.is_closed())
            .map(|(id, sa)| (sa.state() != State::Established, id))
            .collect();
        if ids.is_empty() {
            return None;
        }
        ids.sort();
        Some(ids[usize::from(sel) % ids.len()].1)
    }

    fn sa_mut(&mut self, side: u8) -> Option<&mut IkeSa> {
        let s = usize::from(side & 1);
        let id = self.pick(s, side >> 1)?;
        self.ep[s].sa_mut(id)
    }

    fn ke(&mut self) -> Vec<u8> {
        if self.ke.is_none() {
            let k = KeyPair::generate(DhGroup::Ecp256, &mut self.rng);
            self.ke = Some(k.public_key().to_vec());
        }
        self.ke.clone().unwrap_or_default()
    }

    fn nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; 32];
        self.rng.fill_bytes(&mut n);
        n
    }

    fn spi32(&mut self, param: u8) -> u32 {
        if param & 0x80 != 0 {
            u32::from(param & 0x7f)
        } else {
            self.rng.next_u32() | 0x100
        }
    }

    /// A child SPI of the SA (our inbound SPI, idx mod their number), or
    /// a made-up one.
    fn child_spi(&mut self, side: u8, idx: u8) -> u32 {
        let spis = self
            .sa_mut(side)
            .map(|sa| sa.child_spis())
            .unwrap_or_default();
        match spis.len() {
            0 => self.spi32(idx),
            n => spis[usize::from(idx) % n].0,
        }
    }

    fn ke_payload(&mut self) -> Payload {
        Payload::Ke(KeyExchange {
            group: DhGroup::Ecp256.id(),
            data: self.ke(),
        })
    }

    fn esp_sa(&mut self, param: u8, with_dh: bool) -> Payload {
        let spi = self.spi32(param);
        let p = self.config[0].esp_proposals[0].to_wire(1, spi, with_dh);
        Payload::Sa(SaPayload { proposals: vec![p] })
    }

    fn ike_sa(&mut self, param: u8) -> Payload {
        let spi = if param & 0x80 != 0 {
            // A bad SPI length: 4 or 0 bytes.
            vec![0xab; usize::from(param & 4)]
        } else {
            self.rng.next_u64().max(1).to_be_bytes().to_vec()
        };
        let p = self.config[0].ike_proposals[0].to_wire(1, spi);
        Payload::Sa(SaPayload { proposals: vec![p] })
    }

    fn ts(&self) -> [Payload; 2] {
        [
            Payload::TsI(TrafficSelectors(vec![selectors::any_ipv4()])),
            Payload::TsR(TrafficSelectors(vec![selectors::any_ipv4()])),
        ]
    }

    fn pfs(&self) -> bool {
        !self.config[0].esp_proposals[0].dh.is_empty()
    }

    fn request_chain(&mut self, side: u8, kind: u8, param: u8) -> (ExchangeType, Vec<Payload>) {
        use ExchangeType as X;
        match kind % 8 {
            REQ_LIVENESS => (X::INFORMATIONAL, Vec::new()),
            REQ_DELETE_CHILD => {
                let spi = self.child_spi(side, param);
                (X::INFORMATIONAL, vec![delete(ProtocolId::ESP, vec![spi])])
            }
            REQ_DELETE_IKE => (X::INFORMATIONAL, vec![Payload::Delete(Delete::ike())]),
            REQ_REKEY_CHILD => {
                let old = self.child_spi(side, param);
                let with_dh = self.pfs() != (param & 0x40 != 0);
                let mut c = vec![
                    Payload::Notify(Notify {
                        protocol: ProtocolId::ESP,
                        spi: old.to_be_bytes().to_vec(),
                        kind: NotifyType::REKEY_SA,
                        data: Vec::new(),
                    }),
                    self.esp_sa(param & 0x80, with_dh),
                    Payload::Nonce(Nonce(self.nonce())),
                ];
                if with_dh {
                    c.push(self.ke_payload());
                }
                c.extend(self.ts());
                (X::CREATE_CHILD_SA, c)
            }
            REQ_REKEY_IKE => {
                let c = vec![
                    self.ike_sa(param),
                    Payload::Nonce(Nonce(self.nonce())),
                    self.ke_payload(),
                ];
                (X::CREATE_CHILD_SA, c)
            }
            REQ_NEW_CHILD => {
                let with_dh = self.pfs();
                let mut c = vec![
                    self.esp_sa(param, with_dh),
                    Payload::Nonce(Nonce(self.nonce())),
                ];
                if with_dh {
                    c.push(self.ke_payload());
                }
                c.extend(self.ts());
                (X::CREATE_CHILD_SA, c)
            }
            REQ_DELETE_ALL => {
                let mut spis: Vec<u32> = self
                    .sa_mut(side)
                    .map(|sa| sa.child_spis().iter().map(|c| c.0).collect())
                    .unwrap_or_default();
                spis.push(self.spi32(param));
                (X::INFORMATIONAL, vec![delete(ProtocolId::ESP, spis)])
            }
            _ => {
                let spi = self.child_spi(side, param);
                let n = Payload::Notify(Notify::new(notify_kind(param), Vec::new()));
                (
                    X::INFORMATIONAL,
                    vec![n, delete(ProtocolId::ESP, vec![spi])],
                )
            }
        }
    }

    fn response_chain(&mut self, side: u8, kind: u8, param: u8) -> (ExchangeType, Vec<Payload>) {
        use ExchangeType as X;
        match kind % 8 {
            RESP_EMPTY => (X::INFORMATIONAL, Vec::new()),
            RESP_DELETE_CHILD => {
                let spi = self.child_spi(side, param);
                (X::INFORMATIONAL, vec![delete(ProtocolId::ESP, vec![spi])])
            }
            RESP_CHILD => {
                let with_dh = self.pfs() != (param & 0x40 != 0);
                let mut c = vec![
                    self.esp_sa(param & 0x80, with_dh),
                    Payload::Nonce(Nonce(self.nonce())),
                ];
                if with_dh {
                    c.push(self.ke_payload());
                }
                c.extend(self.ts());
                (X::CREATE_CHILD_SA, c)
            }
            RESP_IKE => {
                let c = vec![
                    self.ike_sa(param),
                    Payload::Nonce(Nonce(self.nonce())),
                    self.ke_payload(),
                ];
                (X::CREATE_CHILD_SA, c)
            }
            RESP_ERROR_CHILD | RESP_ERROR_INFO => {
                let mut n = Notify::new(notify_kind(param), Vec::new());
                if n.kind == NotifyType::CHILD_SA_NOT_FOUND {
                    n.protocol = ProtocolId::ESP;
                    n.spi = self.child_spi(side ^ 1, param).to_be_bytes().to_vec();
                }
                let x = if kind % 8 == RESP_ERROR_CHILD {
                    X::CREATE_CHILD_SA
                } else {
                    X::INFORMATIONAL
                };
                (x, vec![Payload::Notify(n)])
            }
            RESP_INVALID_KE => {
                let group: u16 = match param % 4 {
                    0 => DhGroup::Ecp256 as u16,
                    1 => DhGroup::Modp2048 as u16,
                    2 => 0,
                    _ => u16::from(param),
                };
                let n = Notify::new(NotifyType::INVALID_KE_PAYLOAD, group.to_be_bytes().to_vec());
                (X::CREATE_CHILD_SA, vec![Payload::Notify(n)])
            }
            _ => (X::CREATE_CHILD_SA, Vec::new()),
        }
    }

    fn step(&mut self, input: &mut Input<'_>) {
        match input.u8() % OPS {
            OP_PUMP => {
                self.pump();
            }
            OP_ADVANCE => {
                let ms = STEPS_MS[usize::from(input.u8() % 16)];
                self.advance(Duration::from_millis(ms), MAX_TIMER_ROUNDS);
            }
            OP_LINK => {
                self.link_up = input.u8() & 1 == 0;
                if !self.link_up {
                    self.queue = Default::default();
                }
            }
            OP_DROP => {
                let b = input.u8();
                let q = &mut self.queue[usize::from(b & 1)];
                if b & 2 != 0 {
                    q.clear();
                } else {
                    q.pop_front();
                }
            }
            OP_DUP => {
                let q = &mut self.queue[usize::from(input.u8() & 1)];
                let copy: Vec<Transmit> = q.iter().cloned().collect();
                for t in copy {
                    if q.len() < MAX_QUEUE {
                        q.push_back(t);
                    }
                }
            }
            OP_DELIVER_ONE => {
                let dir = usize::from(input.u8() & 1);
                self.collect();
                self.deliver_one(dir);
                self.collect();
            }
            op @ (OP_REQUEST_RAW | OP_RESPONSE_RAW) => {
                let (side, exch, first) = (input.u8(), input.u8(), input.u8());
                let len = usize::from(input.u16());
                let bytes = input.bytes(len);
                let x = exchange(exch);
                let now = self.now;
                if let Some(sa) = self.sa_mut(side) {
                    if op == OP_REQUEST_RAW {
                        sa.fuzz_send_request(now, x, PayloadType(first), bytes);
                    } else {
                        sa.fuzz_send_response(x, PayloadType(first), bytes);
                    }
                }
                self.collect();
            }
            op @ (OP_REQUEST_BUILT | OP_RESPONSE_BUILT) => {
                let (side, kind, param) = (input.u8(), input.u8(), input.u8());
                let n = input.u8() % 16;
                let (x, chain) = if op == OP_REQUEST_BUILT {
                    self.request_chain(side, kind, param)
                } else {
                    self.response_chain(side, kind, param)
                };
                let mut plain = Vec::new();
                let first = wire::emit_payloads(&chain, &mut plain);
                for _ in 0..n {
                    let (pos, x) = (usize::from(input.u16()), input.u8());
                    if plain.is_empty() {
                        break;
                    }
                    let pos = pos % plain.len();
                    if x == 0 {
                        plain.truncate(pos);
                    } else {
                        plain[pos] ^= x;
                    }
                }
                let now = self.now;
                if let Some(sa) = self.sa_mut(side) {
                    if op == OP_REQUEST_BUILT {
                        sa.fuzz_send_request(now, x, first, &plain);
                    } else {
                        sa.fuzz_send_response(x, first, &plain);
                    }
                }
                self.collect();
            }
            _ => {
                let (side, call, idx) = (input.u8(), input.u8(), input.u8());
                let now = self.now;
                match call % 6 {
                    API_REKEY_CHILD | API_DELETE_CHILD => {
                        let spi = self.child_spi(side, idx);
                        if let Some(sa) = self.sa_mut(side) {
                            if call % 6 == API_REKEY_CHILD {
                                sa.rekey_child(now, spi);
                            } else {
                                let _ = sa.delete_child(now, spi);
                            }
                        }
                    }
                    API_REKEY_IKE => {
                        if let Some(sa) = self.sa_mut(side) {
                            sa.rekey_ike(now);
                        }
                    }
                    API_DELETE_IKE => {
                        if let Some(sa) = self.sa_mut(side) {
                            let _ = sa.delete_ike(now);
                        }
                    }
                    API_INITIATE => {
                        if !self.initiated_extra {
                            self.initiated_extra = true;
                            let cfg = self.config[0].clone();
                            self.ep[0].initiate(cfg, initiator_addr(), responder_addr(), now);
                        }
                    }
                    _ => {
                        if let Some(sa) = self.sa_mut(side) {
                            sa.note_inbound_esp(now);
                        }
                    }
                }
                self.collect();
            }
        }
        // Drain the endpoints' events so closed SAs are forgotten.
        self.collect();
        self.check();
    }

    fn established(&self, side: usize) -> bool {
        self.ep[side]
            .sas()
            .any(|(_, sa)| sa.state() == State::Established)
    }

    fn children(&self, side: usize) -> usize {
        self.ep[side]
            .sas()
            .map(|(_, sa)| sa.child_spis().len())
            .sum()
    }
}

/// Whether an exchange repeated at one instant fails the run: yes, unless
/// `ESTABLISHED_STORMS_FATAL=0` (the child-rekey storm it once found,
/// ike/tests/child_rekey_temporary_failure.rs, is fixed).
fn storms_are_fatal() -> bool {
    static FATAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FATAL.get_or_init(|| std::env::var_os("ESTABLISHED_STORMS_FATAL").is_none_or(|v| v != "0"))
}

fn delete(protocol: ProtocolId, spis: Vec<u32>) -> Payload {
    Payload::Delete(Delete { protocol, spis })
}

fn notify_kind(param: u8) -> NotifyType {
    const KINDS: [NotifyType; 10] = [
        NotifyType::TEMPORARY_FAILURE,
        NotifyType::NO_PROPOSAL_CHOSEN,
        NotifyType::CHILD_SA_NOT_FOUND,
        NotifyType::TS_UNACCEPTABLE,
        NotifyType::NO_ADDITIONAL_SAS,
        NotifyType::INVALID_SYNTAX,
        NotifyType::AUTHENTICATION_FAILED,
        NotifyType::INVALID_SPI,
        NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
        NotifyType::INITIAL_CONTACT,
    ];
    KINDS[usize::from(param) % KINDS.len()]
}

fn exchange(b: u8) -> ExchangeType {
    match b % 8 {
        0..=2 => ExchangeType::CREATE_CHILD_SA,
        3 | 4 => ExchangeType::INFORMATIONAL,
        5 => ExchangeType::IKE_AUTH,
        6 => ExchangeType::IKE_SA_INIT,
        _ => ExchangeType(b),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let setup = input.u8();
    let (ci, cr) = configs(setup);
    let (ci, cr) = (Arc::new(ci), Arc::new(cr));
    let start = Instant::now();
    let mut h = Harness {
        now: start,
        ep: [
            Endpoint::new(None, INITIATOR_SEED),
            Endpoint::new(Some(cr.clone()), RESPONDER_SEED),
        ],
        queue: Default::default(),
        link_up: true,
        config: [ci.clone(), cr],
        rng: ChaCha20Rng::from_seed(BUILDER_SEED),
        ke: None,
        initiated_extra: false,
    };
    h.ep[0].initiate(ci, initiator_addr(), responder_addr(), start);
    h.pump();
    assert!(
        h.established(0) && h.established(1),
        "setup {setup:#04x} did not establish"
    );

    for _ in 0..MAX_STEPS {
        if input.is_empty() {
            break;
        }
        h.step(&mut input);
    }

    // Settle: the link comes back and stays up for two child lifetimes and
    // more, so that every rekey, expiry, delete and DPD round completes.
    h.link_up = true;
    h.pump();
    let lifetimes = h.config[0].lifetimes;
    let settle = lifetimes.child * 2 + Duration::from_secs(300);
    let settled = h.advance(settle, MAX_SETTLE_ROUNDS);
    h.pump();
    if settled && h.established(0) && h.established(1) {
        for side in 0..2 {
            let n = h.children(side);
            assert!(
                n <= MAX_CHILDREN,
                "side {side} holds {n} child SAs after settling"
            );
        }
    }
});
