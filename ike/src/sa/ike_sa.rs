//! The IKE SA: one peer, one IKE SA and its child SA, either role.
//!
//! The engine is driven from outside, as quinn-proto's `Connection` is:
//! feed it datagrams with [`IkeSa::handle_message`] and deadlines with
//! [`IkeSa::handle_timeout`]; after each call, drain
//! [`IkeSa::poll_transmit`] and [`IkeSa::poll_event`], and sleep until
//! [`IkeSa::poll_timeout`]. It never reads a clock and never touches a
//! socket. The exchanges live in their own files (`exchange_init.rs`,
//! `exchange_auth.rs`, `informational.rs`); this file holds the state, the
//! message plumbing (IDs, retransmission, response cache, framing) and the
//! public surface.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::config::IkeConfig;
use super::event::{Event, Failure, NatState, Role};
use super::fragment::FragState;
use super::proposal::{EspSuite, IkeSuite};
use super::protect::SkKeys;
use super::timer::{Timer, TimerTable};
use crate::crypto::{IkeKeys, KeyPair};
use crate::natt::NON_ESP_MARKER;
use crate::wire::{ExchangeType, Flags, Header, Message, Payload};

/// A datagram the engine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Send from this address and port (500, or 4500 after the float).
    pub local: SocketAddr,
    /// Send to this address and port.
    pub remote: SocketAddr,
    /// The UDP payload, with the non-ESP marker when on the NAT-T port.
    pub payload: Vec<u8>,
}

/// Where the IKE SA is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Initiator: IKE_SA_INIT sent, waiting for the answer.
    InitSent,
    /// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH.
    InitAnswered,
    /// Initiator: IKE_AUTH sent, waiting for the answer.
    AuthSent,
    /// Authenticated.
    Established,
    /// Failed or deleted; nothing more will happen.
    Closed,
}

/// Our outstanding request (window size 1).
#[derive(Debug)]
pub(super) struct Pending {
    pub message_id: u32,
    pub exchange: ExchangeType,
    /// The datagrams as sent: one, or every fragment (RFC 7383 2.5.1:
    /// a retransmission resends them all).
    pub datagrams: Vec<Vec<u8>>,
    pub tries: u32,
    /// What the request is for, when its answer needs more than the
    /// exchange type to be understood.
    pub purpose: Purpose,
}

/// Why a request was sent.
#[derive(Debug, Default)]
pub(super) enum Purpose {
    /// Nothing beyond the exchange itself.
    #[default]
    Plain,
    /// CREATE_CHILD_SA rekeying a child SA.
    RekeyChild(super::exchange_create_child::RekeyChildRequest),
    /// CREATE_CHILD_SA creating an additional child SA pair.
    CreateChild(super::exchange_additional_child::CreateChildRequest),
    /// CREATE_CHILD_SA rekeying the IKE SA.
    RekeyIke(super::exchange_create_child::RekeyIkeRequest),
    /// INFORMATIONAL deleting child SAs by our inbound SPIs: those still
    /// held (our `delete_child`) are forgotten on the answer; a rekey's
    /// old SAs were forgotten when the delete was queued.
    DeleteChildren(Vec<u32>),
    /// INFORMATIONAL liveness check (dead peer detection), first sent then.
    Dpd {
        /// When the probe was first sent (the DPD timeout runs from here).
        first_sent: Instant,
    },
    /// INFORMATIONAL deleting the IKE SA.
    DeleteIke,
}

/// A child SA pair as the IKE SA tracks it (the data plane holds the keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ChildState {
    pub spi_in: u32,
    pub spi_out: u32,
    pub suite: EspSuite,
    pub local_ts: Vec<crate::wire::TrafficSelector>,
    pub remote_ts: Vec<crate::wire::TrafficSelector>,
    /// When we start rekeying it (soft lifetime, with margin and fuzz).
    pub rekey_at: Instant,
    /// When it must be gone (hard lifetime).
    pub expire_at: Instant,
    /// A rekey of this SA has completed: a successor exists, so it is not
    /// rekeyed again and only waits for its delete.
    pub replaced: bool,
    /// Both ends rekeyed this SA at once (RFC 7296 2.8.1): the new SA each
    /// exchange created and the lowest nonce of that exchange.
    pub collision: super::exchange_create_child::Collision,
}

/// Counters of what was received and dropped, for status pages and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IkeStats {
    /// Messages that did not parse.
    pub malformed: u64,
    /// Encrypted payloads that failed their integrity check.
    pub integrity_failures: u64,
    /// Retransmitted requests answered from the response cache.
    pub answered_from_cache: u64,
    /// Messages dropped as unexpected (wrong ID, state or SPI).
    pub unexpected: u64,
    /// Our own retransmissions.
    pub retransmissions: u64,
    /// NAT keepalives sent.
    pub keepalives_sent: u64,
    /// Times we followed the peer to a new address (its NAT mapping changed).
    pub peer_address_changes: u64,
}

/// Whether a received message passes its integrity check, decided at most
/// once however many checks ask.
pub(super) struct Authenticity<'a> {
    raw: &'a [u8],
    msg: &'a Message,
    verdict: Option<bool>,
}

impl<'a> Authenticity<'a> {
    pub(super) fn new(raw: &'a [u8], msg: &'a Message) -> Self {
        Authenticity {
            raw,
            msg,
            verdict: None,
        }
    }

    /// Whether `sk` opens the message (false without keys).
    pub(super) fn check(&mut self, sk: Option<&SkKeys>) -> bool {
        let (raw, msg) = (self.raw, self.msg);
        *self
            .verdict
            .get_or_insert_with(|| sk.is_some_and(|sk| sk.open(raw, msg).is_ok()))
    }
}

/// One IKE SA with its child SA.
pub struct IkeSa {
    pub(super) config: Arc<IkeConfig>,
    pub(super) role: Role,
    pub(super) state: State,
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    /// On the NAT-T port: IKE carries the non-ESP marker, ESP goes in UDP.
    pub(super) encap: bool,
    pub(super) spi_i: u64,
    pub(super) spi_r: u64,
    pub(super) rng: ChaCha20Rng,
    pub(super) dh: Option<KeyPair>,
    pub(super) ke_retried: bool,
    pub(super) cookie: Option<Vec<u8>>,
    pub(super) ni: Vec<u8>,
    pub(super) nr: Vec<u8>,
    pub(super) init_request: Vec<u8>,
    pub(super) init_response: Vec<u8>,
    pub(super) suite: Option<IkeSuite>,
    pub(super) keys: Option<IkeKeys>,
    pub(super) sk: Option<SkKeys>,
    pub(super) nat: NatState,
    pub(super) next_request_id: u32,
    pub(super) next_peer_request_id: u32,
    pub(super) pending: Option<Pending>,
    /// Our last response (all its fragments) and the request ID it answers.
    pub(super) last_response: Option<(u32, Vec<Vec<u8>>)>,
    pub(super) child_spi_in: u32,
    pub(super) children: Vec<ChildState>,
    /// A new IKE SA created by rekeying this one, for the endpoint to take.
    pub(super) successor: Option<Box<IkeSa>>,
    /// This SA was rekeyed: its children moved to the successor and it only
    /// waits for the old SA's delete exchange.
    pub(super) superseded: bool,
    /// Redundant IKE SAs from a lost rekey collision, deleting themselves.
    pub(super) extra_successors: Vec<IkeSa>,
    /// INFORMATIONAL requests waiting for the request window (deletes).
    pub(super) queued: VecDeque<Vec<Payload>>,
    pub(super) timers: TimerTable,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<Event>,
    pub(super) stats: IkeStats,
    /// The latest `now` we were given (when queued datagrams go out).
    pub(super) last_now: Option<Instant>,
    /// IKE fragmentation (RFC 7383): negotiation, reassembly, counters.
    pub(super) frag: FragState,
    /// Dead peer detection and our own deletes (`liveness.rs`).
    pub(super) liveness: super::liveness::Liveness,
}

impl core::fmt::Debug for IkeSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IkeSa")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .field("local", &self.local)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl IkeSa {
    pub(super) fn blank(
        config: Arc<IkeConfig>,
        role: Role,
        local: SocketAddr,
        remote: SocketAddr,
        seed: [u8; 32],
    ) -> IkeSa {
        IkeSa {
            config,
            role,
            state: State::Closed,
            local,
            remote,
            encap: false,
            spi_i: 0,
            spi_r: 0,
            rng: ChaCha20Rng::from_seed(seed),
            dh: None,
            ke_retried: false,
            cookie: None,
            ni: Vec::new(),
            nr: Vec::new(),
            init_request: Vec::new(),
            init_response: Vec::new(),
            suite: None,
            keys: None,
            sk: None,
            nat: NatState::default(),
            next_request_id: 0,
            next_peer_request_id: 0,
            pending: None,
            last_response: None,
            child_spi_in: 0,
            children: Vec::new(),
            successor: None,
            superseded: false,
            extra_successors: Vec::new(),
            queued: VecDeque::new(),
            timers: TimerTable::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: IkeStats::default(),
            last_now: None,
            frag: FragState::default(),
            liveness: Default::default(),
        }
    }

    /// Replaces the lifetimes (and rekey margin and fuzz) this SA uses
    /// from now on. SAs already installed keep their deadlines: the new
    /// values apply to the next child SA installed and the next IKE SA
    /// (a rekey's successor inherits them).
    pub fn set_lifetimes(&mut self, lifetimes: super::config::Lifetimes) {
        let mut c = (*self.config).clone();
        c.lifetimes = lifetimes;
        self.config = Arc::new(c);
    }

    /// The lifetimes this SA uses for what it installs next.
    pub fn lifetimes(&self) -> super::config::Lifetimes {
        self.config.lifetimes
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Whether nothing more will happen (failed or deleted).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }
    /// The initiator's SPI.
    pub fn spi_i(&self) -> u64 {
        self.spi_i
    }
    /// The responder's SPI (0 until known).
    pub fn spi_r(&self) -> u64 {
        self.spi_r
    }
    /// Our own SPI, by which an endpoint finds this SA.
    pub fn local_spi(&self) -> u64 {
        match self.role {
            Role::Initiator => self.spi_i,
            Role::Responder => self.spi_r,
        }
    }
    /// The negotiated IKE suite, once known.
    pub fn suite(&self) -> Option<IkeSuite> {
        self.suite
    }
    /// What NAT detection found.
    pub fn nat(&self) -> NatState {
        self.nat
    }
    /// Our address in use (changes to the NAT-T port after the float).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
    /// The peer's address in use.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }
    /// Counters.
    pub fn stats(&self) -> IkeStats {
        self.stats
    }
    /// The child SA pairs this IKE SA holds, as (inbound SPI, outbound SPI).
    pub fn child_spis(&self) -> Vec<(u32, u32)> {
        self.children
            .iter()
            .map(|c| (c.spi_in, c.spi_out))
            .collect()
    }

    /// Whether datagrams or events are waiting to be polled.
    pub fn has_output(&self) -> bool {
        !self.transmits.is_empty() || !self.events.is_empty()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.transmits.pop_front();
        if t.is_some() {
            self.on_sent();
        }
        t
    }
    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
    /// When [`IkeSa::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.timers.next_deadline(), self.child_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A new IKE SA this one created by rekeying (or a redundant one that
    /// is deleting itself), for the owner to drive from now on. An
    /// [`super::Endpoint`] takes these by itself.
    pub fn take_successor(&mut self) -> Option<IkeSa> {
        self.successor
            .take()
            .map(|b| *b)
            .or_else(|| self.extra_successors.pop())
    }

    /// Processes every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        while let Some(t) = self.timers.expired(now) {
            match t {
                Timer::Retransmit => self.on_retransmit_timer(now),
                Timer::HalfOpen => {
                    if self.state == State::InitAnswered {
                        self.fail(Failure::HalfOpenTimeout);
                    }
                }
                Timer::IkeRekey => {
                    if !self.rekey_ike(now) && self.state == State::Established && !self.superseded
                    {
                        // The request window is busy: try again shortly.
                        self.timers
                            .set(Timer::IkeRekey, now + std::time::Duration::from_secs(1));
                    }
                }
                Timer::IkeExpire => {
                    // Hard lifetime: the SA and its children are gone.
                    self.close_with_children(super::event::DeletedBy::Us);
                }
                Timer::NatKeepalive => self.on_keepalive_timer(now),
                Timer::Liveness => self.on_liveness_timer(now),
            }
        }
        if self.state != State::Closed {
            self.on_child_deadlines(now);
            self.liveness_tick(now);
            self.flush_queue(now);
        }
    }

    /// Processes an IKE message that arrived from `remote` on our `local`
    /// address (the non-ESP marker already removed on the NAT-T port).
    pub fn handle_message(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        message: &[u8],
    ) {
        if self.state == State::Closed {
            return;
        }
        self.last_now = Some(now);
        let parsed = match Message::parse(message) {
            Ok(m) => m,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        let h = &parsed.header;
        // Before IKE_SA_INIT is answered the initiator does not know the
        // responder's SPI; the request itself carries zero.
        let spi_r_ok = h.spi_r == self.spi_r
            || (h.exchange == ExchangeType::IKE_SA_INIT
                && (h.spi_r == 0
                    || (self.role == Role::Initiator && self.state == State::InitSent)));
        if h.spi_i != self.spi_i || !spi_r_ok {
            self.stats.unexpected += 1;
            return;
        }
        // The initiator flag says who sent it: a message from the original
        // initiator has it set; we must not accept our own reflections.
        let from_initiator = h.flags.initiator;
        if from_initiator == (self.role == Role::Initiator) {
            self.stats.unexpected += 1;
            return;
        }
        // Following a NATed peer and DPD both want to know, before
        // dispatch, whether the message is authentic: decrypt at most once.
        let mut auth = Authenticity::new(message, &parsed);
        self.follow_peer_address(remote, &parsed, &mut auth);
        self.note_inbound_ike(now, &parsed, &mut auth);
        // A fragment (RFC 7383): collected until the message is whole, then
        // processed as if it had come unfragmented (see `open_inner`).
        let parsed = if self.is_fragment(&parsed) {
            match self.on_fragment(message, parsed) {
                Some(whole) => whole,
                None => return,
            }
        } else {
            parsed
        };
        if parsed.header.flags.response {
            self.handle_response(now, local, remote, message, parsed);
        } else {
            self.handle_request(now, local, remote, message, parsed);
        }
        self.frag.reassembled = None;
        self.liveness_tick(now);
        self.flush_queue(now);
    }

    fn handle_response(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: Message,
    ) {
        let matches = self.pending.as_ref().is_some_and(|p| {
            p.message_id == msg.header.message_id && p.exchange == msg.header.exchange
        });
        if !matches {
            self.stats.unexpected += 1;
            return;
        }
        match msg.header.exchange {
            ExchangeType::IKE_SA_INIT if self.state == State::InitSent => {
                self.process_init_response(now, local, remote, raw, msg)
            }
            ExchangeType::IKE_AUTH if self.state == State::AuthSent => {
                self.process_auth_response(now, raw, msg)
            }
            ExchangeType::INFORMATIONAL => self.process_informational_response(now, raw, msg),
            ExchangeType::CREATE_CHILD_SA if self.state == State::Established => {
                self.process_create_child_response(now, raw, msg)
            }
            _ => self.stats.unexpected += 1,
        }
    }

    fn handle_request(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: Message,
    ) {
        let id = msg.header.message_id;
        if self.last_response.as_ref().is_some_and(|(c, _)| *c == id) {
            // A retransmitted request: answer with the same bytes
            // (RFC 7296 2.1), never process it twice.
            self.resend_cached_response();
            return;
        }
        if id != self.next_peer_request_id {
            self.stats.unexpected += 1;
            return;
        }
        match msg.header.exchange {
            ExchangeType::IKE_AUTH if self.state == State::InitAnswered => {
                self.process_auth_request(now, local, remote, raw, msg)
            }
            ExchangeType::INFORMATIONAL if self.sk.is_some() => {
                self.process_informational_request(raw, msg)
            }
            ExchangeType::CREATE_CHILD_SA if self.state == State::Established => {
                self.process_create_child_request(now, raw, msg)
            }
            _ => self.stats.unexpected += 1,
        }
    }

    // ---- sending ---------------------------------------------------------

    fn frame(&self, message: Vec<u8>) -> Vec<u8> {
        if self.encap {
            let mut d = Vec::with_capacity(message.len() + 4);
            d.extend_from_slice(&NON_ESP_MARKER);
            d.extend_from_slice(&message);
            d
        } else {
            message
        }
    }

    pub(super) fn header(&self, exchange: ExchangeType, message_id: u32, response: bool) -> Header {
        Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            next_payload: crate::wire::PayloadType::NONE,
            major_version: 2,
            minor_version: 0,
            exchange,
            flags: Flags {
                initiator: self.role == Role::Initiator,
                version: false,
                response,
            },
            message_id,
            length: 0,
        }
    }

    /// Builds a message: in the clear (IKE_SA_INIT) or inside an Encrypted
    /// payload once keys exist.
    pub(super) fn build(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        response: bool,
        payloads: Vec<Payload>,
    ) -> Vec<u8> {
        let header = self.header(exchange, message_id, response);
        match self.sk.as_mut() {
            Some(sk) if exchange != ExchangeType::IKE_SA_INIT => {
                sk.seal(&header, &payloads, &mut self.rng)
            }
            _ => Message { header, payloads }.emit(),
        }
    }

    /// Resends our cached response, every fragment of it.
    pub(super) fn resend_cached_response(&mut self) {
        let Some((_, datagrams)) = &self.last_response else {
            return;
        };
        for d in datagrams {
            self.transmits.push_back(Transmit {
                local: self.local,
                remote: self.remote,
                payload: d.clone(),
            });
        }
        self.stats.answered_from_cache += 1;
    }

    /// Frames and queues `messages` (one message, or its fragments);
    /// returns the datagrams for retransmission or the response cache.
    fn queue_messages(&mut self, messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut datagrams = Vec::with_capacity(messages.len());
        for m in messages {
            let d = self.frame(m.clone());
            self.transmits.push_back(Transmit {
                local: self.local,
                remote: self.remote,
                payload: d.clone(),
            });
            datagrams.push(d);
        }
        datagrams
    }

    /// Sends a request with the next message ID and arms retransmission.
    /// Returns the message as sent (without the marker); when it went out
    /// in fragments (never IKE_SA_INIT), the first fragment.
    pub(super) fn send_request(
        &mut self,
        now: Instant,
        exchange: ExchangeType,
        payloads: Vec<Payload>,
    ) -> Vec<u8> {
        let message_id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        self.send_request_with_id(now, exchange, message_id, payloads)
    }

    pub(super) fn send_request_with_id(
        &mut self,
        now: Instant,
        exchange: ExchangeType,
        message_id: u32,
        payloads: Vec<Payload>,
    ) -> Vec<u8> {
        let messages = self.build_messages(exchange, message_id, false, payloads);
        self.send_request_messages(now, exchange, message_id, messages)
    }

    /// Queues `messages` (a request, or its fragments) and makes them the
    /// outstanding request, with retransmission armed.
    pub(super) fn send_request_messages(
        &mut self,
        now: Instant,
        exchange: ExchangeType,
        message_id: u32,
        mut messages: Vec<Vec<u8>>,
    ) -> Vec<u8> {
        self.last_now = Some(now);
        let datagrams = self.queue_messages(&messages);
        self.pending = Some(Pending {
            message_id,
            exchange,
            datagrams,
            tries: 1,
            purpose: Purpose::Plain,
        });
        self.timers
            .set(Timer::Retransmit, now + self.config.retransmit.interval(1));
        messages.swap_remove(0)
    }

    /// The peer answered our outstanding request.
    pub(super) fn request_answered(&mut self) {
        self.pending = None;
        self.timers.stop(Timer::Retransmit);
    }

    /// Sends a response to the peer's request `message_id` and caches it.
    /// Returns the message as sent (the first fragment when fragmented).
    pub(super) fn send_response(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        payloads: Vec<Payload>,
    ) -> Vec<u8> {
        let messages = self.build_messages(exchange, message_id, true, payloads);
        self.send_response_messages(message_id, messages)
    }

    /// Queues `messages` (a response, or its fragments) and caches them as
    /// the answer to the peer's request `message_id`.
    pub(super) fn send_response_messages(
        &mut self,
        message_id: u32,
        mut messages: Vec<Vec<u8>>,
    ) -> Vec<u8> {
        let datagrams = self.queue_messages(&messages);
        self.last_response = Some((message_id, datagrams));
        self.next_peer_request_id = message_id.wrapping_add(1);
        messages.swap_remove(0)
    }

    fn on_retransmit_timer(&mut self, now: Instant) {
        if self.liveness_on_retransmit(now) {
            return;
        }
        let max = self.config.retransmit.max_tries;
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        if p.tries >= max {
            let tries = p.tries;
            let peer = self.remote;
            self.fail(Failure::NoResponse { peer, tries });
            return;
        }
        p.tries += 1;
        let tries = p.tries;
        for d in &p.datagrams {
            self.transmits.push_back(Transmit {
                local: self.local,
                remote: self.remote,
                payload: d.clone(),
            });
        }
        self.stats.retransmissions += 1;
        self.timers.set(
            Timer::Retransmit,
            now + self.config.retransmit.interval(tries),
        );
    }

    /// Ends the IKE SA with `failure`.
    pub(super) fn fail(&mut self, failure: Failure) {
        self.events.push_back(Event::IkeSaFailed(failure));
        self.close();
    }

    /// Drops all state; nothing more will be sent.
    pub(super) fn close(&mut self) {
        self.state = State::Closed;
        self.pending = None;
        self.timers.stop_all();
        self.children.clear();
        self.dh = None;
        self.sk = None;
        self.keys = None;
    }

    pub(super) fn random_spi32(&mut self) -> u32 {
        // SPIs 0-255 are reserved by IANA (RFC 4303 2.1).
        loop {
            let v = self.rng.next_u32();
            if v > 255 {
                return v;
            }
        }
    }

    pub(super) fn random_spi64(&mut self) -> u64 {
        loop {
            let v = self.rng.next_u64();
            if v != 0 {
                return v;
            }
        }
    }

    pub(super) fn random_nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; self.config.nonce_len.clamp(16, 256)];
        self.rng.fill_bytes(&mut n);
        n
    }
}
