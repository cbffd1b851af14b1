//! The sans-IO prober: one IKE_SA_INIT request in flight at a time, paced
//! by the rate limit, retried on timeout, bounded by a request cap.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, KeyPair, PrfAlg};
use ike::natt::nat_detection_hash;
use ike::sa::Transmit;
use ike::wire::{
    EncrId, ExchangeType, Flags, Header, IntegId, KeyExchange, Message, Nonce, Notify, NotifyType,
    Payload, PayloadType, PrfId, SaPayload, TransformType,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::plan::{candidates, proposals, Candidate};
use super::report::ProbeReport;

/// How fast and how long the prober may go on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeSettings {
    /// Requests per second at most, retransmissions included.
    pub rate: f64,
    /// How long to wait for an answer before retrying.
    pub timeout: Duration,
    /// Retries of an unanswered request before giving it up.
    pub retries: u32,
    /// Datagrams sent at most over the whole probe.
    pub max_requests: u32,
    /// How long a responder keeps the half-open SA an accepted request
    /// leaves (strongSwan's `half_open_timeout`, 30 s). A responder that
    /// limits half-open SAs per address (strongSwan: 5) goes silent once
    /// they pile up; a request unanswered while some are open is queued
    /// once more, after the oldest has timed out.
    pub half_open_wait: Duration,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            rate: 5.0,
            timeout: Duration::from_secs(2),
            retries: 2,
            max_requests: 200,
            half_open_wait: Duration::from_secs(30),
        }
    }
}

/// The request waiting for its answer.
struct InFlight {
    candidate: Candidate,
    message: Message,
    /// Datagrams sent for it so far (0: queued, not yet sent).
    sends: u32,
    deadline: Instant,
    cookie_used: bool,
}

/// IKEv2 proposal enumeration, sans IO. Feed it `now` through
/// [`Prober::handle_timeout`] at [`Prober::poll_timeout`], answers through
/// [`Prober::handle_datagram`], send what [`Prober::poll_transmit`] gives,
/// until [`Prober::is_done`]; then read [`Prober::report`].
pub struct Prober {
    local: SocketAddr,
    peer: SocketAddr,
    settings: ProbeSettings,
    interval: Duration,
    rng: ChaCha20Rng,
    pending: VecDeque<Candidate>,
    in_flight: Option<InFlight>,
    next_send: Instant,
    outbox: VecDeque<Transmit>,
    verdicts: HashMap<Candidate, bool>,
    /// Public values by group: valid KE data, made once per group since
    /// the private half is never used (no shared secret is computed).
    ke_cache: HashMap<DhGroup, Vec<u8>>,
    requests_sent: u32,
    unanswered: u32,
    notes: Vec<String>,
    /// When each SA answer came (a half-open SA on the responder).
    half_open: Vec<Instant>,
    /// Candidates already queued again after silence.
    requeued: HashSet<Candidate>,
}

impl Prober {
    /// A prober from `local` to `peer` (both port 500 normally); `seed`
    /// seeds SPIs, nonces and DH keys. The first request goes at `now`.
    pub fn new(
        local: SocketAddr,
        peer: SocketAddr,
        settings: ProbeSettings,
        seed: [u8; 32],
        now: Instant,
    ) -> Prober {
        // A rate of zero or less (or NaN) would never send, a tiny one
        // overflow the interval: one an hour at the slowest.
        let rate = if settings.rate > 1.0 / 3600.0 {
            settings.rate
        } else {
            1.0 / 3600.0
        };
        // Keeps `now + timeout` far from overflowing whatever the caller says.
        let settings = ProbeSettings {
            timeout: settings.timeout.min(Duration::from_secs(3600)),
            half_open_wait: settings.half_open_wait.min(Duration::from_secs(3600)),
            ..settings
        };
        let mut p = Prober {
            local,
            peer,
            settings,
            interval: Duration::from_secs_f64(1.0 / rate),
            rng: ChaCha20Rng::from_seed(seed),
            pending: candidates().into(),
            in_flight: None,
            next_send: now,
            outbox: VecDeque::new(),
            verdicts: HashMap::new(),
            ke_cache: HashMap::new(),
            requests_sent: 0,
            unanswered: 0,
            notes: Vec::new(),
            half_open: Vec::new(),
            requeued: HashSet::new(),
        };
        p.advance(now);
        p
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    /// When [`Prober::handle_timeout`] must be called next; `None` when done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.in_flight {
            Some(f) => Some(f.deadline.max(self.next_send)),
            None if self.budget_left() && !self.pending.is_empty() => Some(self.next_send),
            None => None,
        }
    }

    /// Time has passed: retry, give up, or send the next request.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// Whether the probe is over (every candidate judged, given up, or the
    /// request cap reached).
    pub fn is_done(&self) -> bool {
        self.in_flight.is_none() && (self.pending.is_empty() || !self.budget_left())
    }

    /// A datagram from the responder. Anything that is not the answer to
    /// the request in flight is ignored.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let Ok(msg) = Message::parse(datagram) else {
            return;
        };
        let h = &msg.header;
        let Some(f) = &self.in_flight else { return };
        if !h.flags.response
            || h.exchange != ExchangeType::IKE_SA_INIT
            || h.message_id != 0
            || h.spi_i != f.message.header.spi_i
        {
            return;
        }
        let c = f.candidate;
        let notify = |kind: NotifyType| {
            msg.payloads.iter().find_map(|p| match p {
                Payload::Notify(n) if n.kind == kind => Some(n),
                _ => None,
            })
        };
        if let Some(cookie) = notify(NotifyType::COOKIE) {
            // RFC 7296 2.6: the same request again, the cookie first.
            let f = self.in_flight.as_mut().expect("checked above");
            if !f.cookie_used {
                f.cookie_used = true;
                let n = Payload::Notify(Notify::cookie(cookie.data.clone()));
                f.message.payloads.insert(0, n);
                f.sends = 0;
                f.deadline = now;
                self.advance(now);
                return;
            }
        }
        if notify(NotifyType::NO_PROPOSAL_CHOSEN).is_some() {
            self.judge(c, false);
        } else if let Some(n) = notify(NotifyType::INVALID_KE_PAYLOAD) {
            // The proposal is acceptable with another group: the one named.
            let wanted = n.invalid_ke_group().and_then(|g| DhGroup::from_id(g.0));
            match (c, wanted) {
                (Candidate::Dh(g), Some(w)) if g == w => self.notes.push(format!(
                    "INVALID_KE_PAYLOAD for group {} asking for it",
                    g as u16
                )),
                (Candidate::Dh(g), _) => self.judge(Candidate::Dh(g), false),
                (c, _) => self.judge(c, true),
            }
            if let Some(w) = wanted {
                self.judge(Candidate::Dh(w), true);
            }
        } else if let Some(sa) = msg.payloads.iter().find_map(|p| match p {
            Payload::Sa(sa) => Some(sa),
            _ => None,
        }) {
            self.judge(c, true);
            self.half_open.push(now);
            // The chosen transforms are accepted too: fewer requests later.
            for t in sa.proposals.iter().flat_map(|p| &p.transforms) {
                if let Some(chosen) = chosen(t.kind, t.id, t.key_length) {
                    self.judge(chosen, true);
                }
            }
        } else {
            let kinds: Vec<String> = msg
                .payloads
                .iter()
                .filter_map(|p| match p {
                    Payload::Notify(n) => Some(n.kind.to_string()),
                    _ => None,
                })
                .collect();
            self.notes.push(format!(
                "{}: answered {}",
                super::report::name(c),
                if kinds.is_empty() {
                    "nothing usable".into()
                } else {
                    kinds.join(", ")
                }
            ));
        }
        self.in_flight = None;
        self.advance(now);
    }

    /// The result so far (complete once [`Prober::is_done`]).
    pub fn report(&self) -> ProbeReport {
        let mut r = ProbeReport {
            requests_sent: self.requests_sent,
            unanswered: self.unanswered,
            notes: self.notes.clone(),
            ..ProbeReport::default()
        };
        for c in candidates() {
            match self.verdicts.get(&c) {
                Some(true) => r.accepted.push(c),
                Some(false) => r.refused.push(c),
                None => r.unknown.push(c),
            }
        }
        r
    }

    /// The first verdict on a transform stands: an acceptance seen in a
    /// chosen SA is not undone by a later refusal of a narrower offer.
    fn judge(&mut self, c: Candidate, accepted: bool) {
        self.verdicts.entry(c).or_insert(accepted);
    }

    /// When the oldest half-open SA we left on the responder times out,
    /// if any may still be open at `now`.
    fn half_open_freed(&mut self, now: Instant) -> Option<Instant> {
        let wait = self.settings.half_open_wait;
        self.half_open.retain(|t| *t + wait > now);
        self.half_open.iter().min().map(|t| *t + wait)
    }

    fn budget_left(&self) -> bool {
        self.requests_sent < self.settings.max_requests
    }

    fn advance(&mut self, now: Instant) {
        if let Some(f) = &self.in_flight {
            if now < f.deadline {
                return;
            }
            if f.sends > self.settings.retries || !self.budget_left() {
                let c = f.candidate;
                let sent = f.sends > 0;
                self.in_flight = None;
                match self.half_open_freed(now) {
                    Some(at) if sent && self.budget_left() && self.requeued.insert(c) => {
                        self.pending.push_front(c);
                        self.next_send = self.next_send.max(at);
                    }
                    _ if sent => self.unanswered += 1,
                    _ => {}
                }
            } else if now >= self.next_send {
                let bytes = f.message.emit();
                self.send(now, bytes);
                let f = self.in_flight.as_mut().expect("checked above");
                f.sends += 1;
                f.deadline = now + self.settings.timeout;
                return;
            } else {
                return;
            }
        }
        while let Some(&c) = self.pending.front() {
            if self.verdicts.contains_key(&c) {
                self.pending.pop_front();
                continue;
            }
            if !self.budget_left() || now < self.next_send {
                return;
            }
            self.pending.pop_front();
            let message = self.request(c);
            self.send(now, message.emit());
            self.in_flight = Some(InFlight {
                candidate: c,
                message,
                sends: 1,
                deadline: now + self.settings.timeout,
                cookie_used: false,
            });
            return;
        }
    }

    fn send(&mut self, now: Instant, payload: Vec<u8>) {
        self.outbox.push_back(Transmit {
            local: self.local,
            remote: self.peer,
            payload,
        });
        self.requests_sent += 1;
        self.next_send = now + self.interval;
    }

    /// A fresh IKE_SA_INIT testing `c`: new SPI, nonce; KE for the group
    /// [`proposals`] names.
    fn request(&mut self, c: Candidate) -> Message {
        let (offer, ke_group) = proposals(c);
        // Zero is "no SPI" (RFC 7296 3.1).
        let spi_i = self.rng.next_u64() | 1;
        let mut nonce = vec![0u8; 32];
        self.rng.fill_bytes(&mut nonce);
        let rng = &mut self.rng;
        let ke = self
            .ke_cache
            .entry(ke_group)
            .or_insert_with(|| KeyPair::generate(ke_group, rng).public_key().to_vec())
            .clone();
        let proposals = offer
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_wire(i as u8 + 1, Vec::new()))
            .collect();
        let payloads = vec![
            Payload::Sa(SaPayload { proposals }),
            Payload::Ke(KeyExchange {
                group: ke_group.id(),
                data: ke,
            }),
            Payload::Nonce(Nonce(nonce)),
            Payload::Notify(Notify::new(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                nat_detection_hash(spi_i, 0, self.local).to_vec(),
            )),
            Payload::Notify(Notify::new(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                nat_detection_hash(spi_i, 0, self.peer).to_vec(),
            )),
        ];
        Message {
            header: Header {
                spi_i,
                spi_r: 0,
                next_payload: PayloadType(0),
                major_version: 2,
                minor_version: 0,
                exchange: ExchangeType::IKE_SA_INIT,
                flags: Flags {
                    initiator: true,
                    ..Flags::default()
                },
                message_id: 0,
                length: 0,
            },
            payloads,
        }
    }
}

/// A transform of the responder's chosen proposal as a candidate.
fn chosen(kind: TransformType, id: u16, key_length: Option<u16>) -> Option<Candidate> {
    match kind {
        TransformType::ENCR => EncrAlg::from_transform(EncrId(id), key_length).map(Candidate::Encr),
        TransformType::INTEG => IntegAlg::from_id(IntegId(id)).map(Candidate::Integ),
        TransformType::PRF => PrfAlg::from_id(PrfId(id)).map(Candidate::Prf),
        TransformType::DH => DhGroup::from_id(id).map(Candidate::Dh),
        _ => None,
    }
}
