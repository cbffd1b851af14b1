//! IKE fragmentation (RFC 7383): negotiation in IKE_SA_INIT, splitting
//! large encrypted messages into Encrypted Fragment (SKF) payloads, and
//! reassembling the peer's fragments with bounded memory.
//!
//! Sending: [`IkeSa::build_messages`] returns one message, or its fragments
//! when fragmentation is in use and the message would exceed
//! `IkeConfig::fragment_size`; `ike_sa.rs` keeps them all for
//! retransmission and the response cache.
//!
//! Receiving: `IkeSa::handle_message` hands every SKF message to
//! [`IkeSa::on_fragment`]. Each fragment is verified on its own before it
//! is stored; once the last one is in, the message goes on through the
//! normal request/response path, and the exchange handlers get its inner
//! payloads from [`IkeSa::open_inner`] exactly as if it had come whole.

use super::exchange_init::notify;
use super::ike_sa::IkeSa;
use super::lookup::Lookup;
use super::protect::OpenError;
use crate::wire::{self, ExchangeType, Message, NotifyType, Payload, PayloadType};

/// Most fragments accepted for one message.
pub const MAX_FRAGMENTS: u16 = 64;
/// Largest reassembled plaintext accepted, in bytes.
pub const MAX_REASSEMBLED: usize = 64 * 1024;
/// Smallest share of plaintext we put in one fragment, whatever
/// `fragment_size` says (a tiny setting then yields larger fragments
/// rather than thousands of them).
const MIN_CHUNK: usize = 64;

/// Why a fragment was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    /// Fragmentation was not negotiated in IKE_SA_INIT.
    #[error("IKE fragmentation was not negotiated")]
    NotNegotiated,
    /// IKE_SA_INIT (or anything before keys exist) may not be fragmented.
    #[error("fragment of an unencrypted exchange")]
    Unencrypted,
    /// A fragment of a message we are not waiting for.
    #[error("fragment of unexpected message {0}")]
    UnexpectedMessage(u32),
    /// More fragments announced than [`MAX_FRAGMENTS`].
    #[error("{0} fragments announced, at most {MAX_FRAGMENTS} accepted")]
    TooManyFragments(u16),
    /// The fragments add up to more than [`MAX_REASSEMBLED`].
    #[error("reassembly would exceed {MAX_REASSEMBLED} bytes ({0})")]
    TooLarge(usize),
    /// The fragment's ICV (or AEAD tag) did not verify.
    #[error("fragment integrity check failed")]
    IntegrityFailed,
    /// This fragment number was already received.
    #[error("duplicate fragment {0}")]
    Duplicate(u16),
    /// Fewer Total Fragments than an earlier fragment announced: a fragment
    /// of an older transmission (RFC 7383 2.6.1), discarded.
    #[error("fragment announces {got} fragments, fewer than the {had} announced before")]
    StaleTotal {
        /// In this fragment.
        got: u16,
        /// In the reassembly under way.
        had: u16,
    },
}

/// Fragmentation counters of one IKE SA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragmentStats {
    /// Messages we sent in fragments.
    pub messages_fragmented: u64,
    /// Fragments we sent (first transmissions).
    pub fragments_sent: u64,
    /// Peer fragments verified and stored.
    pub fragments_received: u64,
    /// Peer messages reassembled.
    pub messages_reassembled: u64,
    /// Reassemblies started over because more fragments were announced.
    pub restarts: u64,
    /// Duplicate fragments ignored.
    pub duplicates: u64,
    /// Fragments that failed their integrity check.
    pub integrity_failures: u64,
    /// Fragments refused by a limit ([`MAX_FRAGMENTS`], [`MAX_REASSEMBLED`]).
    pub limit_exceeded: u64,
    /// Fragments refused otherwise (not negotiated, unexpected message,
    /// unencrypted exchange, stale total).
    pub rejected: u64,
    /// Why the last fragment was not used.
    pub last_error: Option<FragmentError>,
}

/// The fragments of one message being collected.
#[derive(Debug)]
struct Reassembly {
    message_id: u32,
    total: u16,
    first_inner: PayloadType,
    parts: Vec<Option<Vec<u8>>>,
    have: u16,
    bytes: usize,
}

impl Reassembly {
    fn new(message_id: u32, total: u16) -> Reassembly {
        Reassembly {
            message_id,
            total,
            first_inner: PayloadType::NONE,
            parts: vec![None; usize::from(total)],
            have: 0,
            bytes: 0,
        }
    }
}

/// What an IKE SA keeps for fragmentation.
#[derive(Debug, Default)]
pub(super) struct FragState {
    /// The peer sent IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT.
    pub peer_supported: bool,
    /// Reassembly under way: [0] the peer's request, [1] its response.
    slots: [Option<Reassembly>; 2],
    /// The inner payloads of the message just reassembled, for
    /// [`IkeSa::open_inner`]; cleared after each message.
    pub reassembled: Option<Result<Vec<Payload>, OpenError>>,
    pub stats: FragmentStats,
}

impl IkeSa {
    /// Whether both sides offered IKE fragmentation.
    pub fn fragmentation_in_use(&self) -> bool {
        self.config.fragmentation && self.frag.peer_supported
    }

    /// Fragmentation counters.
    pub fn fragment_stats(&self) -> FragmentStats {
        self.frag.stats
    }

    /// IKEV2_FRAGMENTATION_SUPPORTED for our IKE_SA_INIT message, if we
    /// offer it (as responder, only when the initiator did).
    pub(super) fn fragmentation_notify(&self) -> Option<Payload> {
        let offer = match self.role {
            super::event::Role::Initiator => self.config.fragmentation,
            super::event::Role::Responder => self.fragmentation_in_use(),
        };
        offer.then(|| notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, Vec::new()))
    }

    /// Notes whether the peer's IKE_SA_INIT message offered fragmentation.
    pub(super) fn note_peer_fragmentation(&mut self, payloads: &[Payload]) {
        self.frag.peer_supported = payloads
            .notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
            .is_some();
    }

    /// The inner payloads of an encrypted message: those of the message
    /// just reassembled from fragments, or else the SK payload of `raw`
    /// opened. Every exchange handler gets its payloads here.
    pub(super) fn open_inner(
        &mut self,
        raw: &[u8],
        msg: &Message,
    ) -> Option<Result<Vec<Payload>, OpenError>> {
        if let Some(r) = self.frag.reassembled.take() {
            return Some(r);
        }
        self.sk.as_ref().map(|sk| sk.open(raw, msg))
    }

    /// Builds a message as [`IkeSa::build`] does, but as fragments when
    /// fragmentation is in use and it would not fit in `fragment_size`.
    pub(super) fn build_messages(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        response: bool,
        payloads: Vec<Payload>,
    ) -> Vec<Vec<u8>> {
        if exchange == ExchangeType::IKE_SA_INIT
            || self.sk.is_none()
            || !self.fragmentation_in_use()
        {
            return vec![self.build(exchange, message_id, response, payloads)];
        }
        let mut plain = Vec::new();
        let first = wire::emit_payloads(&payloads, &mut plain);
        self.build_messages_plain(exchange, message_id, response, first, plain)
    }

    /// [`IkeSa::build_messages`] for an inner chain already emitted:
    /// `plain`, whose first payload is `first`, sealed with our keys into
    /// one message or, when fragmentation is in use and it would not fit,
    /// into fragments. Empty without keys.
    pub(super) fn build_messages_plain(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        response: bool,
        first: PayloadType,
        plain: Vec<u8>,
    ) -> Vec<Vec<u8>> {
        let header = self.header(exchange, message_id, response);
        let fragment = self.fragmentation_in_use();
        let marker = if self.encap { 4 } else { 0 };
        let limit = self.config.fragment_size.saturating_sub(marker);
        let Some(sk) = self.sk.as_mut() else {
            return Vec::new();
        };
        if !fragment {
            return vec![sk.seal_plain(&header, first, plain, &mut self.rng)];
        }
        let chunk = sk.max_fragment_plain(limit).max(MIN_CHUNK);
        let total = plain.len().div_ceil(chunk);
        if sk.sealed_len(plain.len()) <= limit || total > usize::from(u16::MAX) {
            return vec![sk.seal_plain(&header, first, plain, &mut self.rng)];
        }
        let total = total as u16;
        let out: Vec<Vec<u8>> = plain
            .chunks(chunk)
            .zip(1u16..)
            .map(|(c, n)| sk.seal_fragment(&header, first, n, total, c, &mut self.rng))
            .collect();
        self.frag.stats.messages_fragmented += 1;
        self.frag.stats.fragments_sent += out.len() as u64;
        out
    }

    /// Whether `msg` carries an Encrypted Fragment payload.
    pub(super) fn is_fragment(&self, msg: &Message) -> bool {
        matches!(msg.payloads.last(), Some(Payload::EncryptedFragment(_)))
    }

    fn reject_fragment(&mut self, e: FragmentError) {
        let s = &mut self.frag.stats;
        match e {
            FragmentError::Duplicate(_) => s.duplicates += 1,
            FragmentError::IntegrityFailed => s.integrity_failures += 1,
            FragmentError::TooManyFragments(_) | FragmentError::TooLarge(_) => {
                s.limit_exceeded += 1
            }
            _ => s.rejected += 1,
        }
        s.last_error = Some(e);
    }

    /// Takes one fragment (the header was checked by the caller). Returns
    /// the message to process once the last fragment is in, with its inner
    /// payloads waiting in `frag.reassembled`; `None` while incomplete or
    /// when the fragment is dropped.
    pub(super) fn on_fragment(&mut self, raw: &[u8], msg: Message) -> Option<Message> {
        let Some(Payload::EncryptedFragment(f)) = msg.payloads.last() else {
            return Some(msg);
        };
        let h = &msg.header;
        let id = h.message_id;
        if h.exchange == ExchangeType::IKE_SA_INIT || self.sk.is_none() {
            self.stats.unexpected += 1;
            self.reject_fragment(FragmentError::Unencrypted);
            return None;
        }
        if !self.fragmentation_in_use() {
            self.stats.unexpected += 1;
            self.reject_fragment(FragmentError::NotNegotiated);
            return None;
        }
        let response = h.flags.response;
        if response {
            let expected = self
                .pending
                .as_ref()
                .is_some_and(|p| p.message_id == id && p.exchange == h.exchange);
            if !expected {
                self.stats.unexpected += 1;
                self.reject_fragment(FragmentError::UnexpectedMessage(id));
                return None;
            }
        } else {
            if self.last_response.as_ref().is_some_and(|(c, _)| *c == id) {
                // A retransmitted request: answer once per retransmission,
                // on its first fragment, if that is genuine (RFC 7383 2.6.1).
                let genuine = self
                    .sk
                    .as_ref()
                    .is_some_and(|sk| sk.open_fragment(raw, f).is_ok());
                if f.fragment_number == 1 && genuine {
                    self.resend_cached_response();
                }
                return None;
            }
            if id != self.next_peer_request_id {
                self.stats.unexpected += 1;
                self.reject_fragment(FragmentError::UnexpectedMessage(id));
                return None;
            }
        }
        if f.total_fragments > MAX_FRAGMENTS {
            self.reject_fragment(FragmentError::TooManyFragments(f.total_fragments));
            return None;
        }
        let slot = usize::from(response);
        // A duplicate of a fragment already stored changes nothing: skip
        // it before spending a decryption on it.
        if let Some(r) = &self.frag.slots[slot] {
            let n = usize::from(f.fragment_number) - 1;
            if r.message_id == id
                && r.total == f.total_fragments
                && r.parts.get(n).is_some_and(Option::is_some)
            {
                self.reject_fragment(FragmentError::Duplicate(f.fragment_number));
                return None;
            }
        }
        // Nothing below changes state unless the fragment is genuine.
        let plain = match self.sk.as_ref().map(|sk| sk.open_fragment(raw, f)) {
            Some(Ok(p)) => p,
            _ => {
                self.stats.integrity_failures += 1;
                self.reject_fragment(FragmentError::IntegrityFailed);
                return None;
            }
        };
        let (number, total) = (f.fragment_number, f.total_fragments);
        let first_inner = f.first_inner;
        let restart = match &self.frag.slots[slot] {
            // A new message supersedes an unfinished older one.
            Some(r) if r.message_id != id => true,
            // More fragments than before: the sender fragmented again
            // (smaller): start over (RFC 7383 2.6.1).
            Some(r) if total > r.total => {
                self.frag.stats.restarts += 1;
                true
            }
            Some(r) if total < r.total => {
                let had = r.total;
                self.reject_fragment(FragmentError::StaleTotal { got: total, had });
                return None;
            }
            Some(_) => false,
            None => true,
        };
        if restart {
            self.frag.slots[slot] = Some(Reassembly::new(id, total));
        }
        let r = self.frag.slots[slot].as_mut()?;
        let n = usize::from(number) - 1;
        if r.parts.get(n).is_some_and(Option::is_some) {
            self.reject_fragment(FragmentError::Duplicate(number));
            return None;
        }
        let bytes = r.bytes + plain.len();
        if bytes > MAX_REASSEMBLED {
            // The peer really sends (authenticated) more than we accept:
            // give the message up.
            self.frag.slots[slot] = None;
            self.reject_fragment(FragmentError::TooLarge(bytes));
            return None;
        }
        if number == 1 {
            r.first_inner = first_inner;
        }
        r.bytes = bytes;
        r.have += 1;
        r.parts[n] = Some(plain);
        self.frag.stats.fragments_received += 1;
        if r.have < r.total {
            return None;
        }
        let r = self.frag.slots[slot].take()?;
        let mut whole = Vec::with_capacity(r.bytes);
        for p in r.parts.into_iter().flatten() {
            whole.extend_from_slice(&p);
        }
        self.frag.stats.messages_reassembled += 1;
        self.frag.reassembled =
            Some(wire::parse_payloads(r.first_inner, &whole).map_err(OpenError::from));
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
    use crate::sa::{EspProposal, IkeConfig, IkeProposal, State};
    use crate::wire::{Notify, ProtocolId};

    fn config() -> IkeConfig {
        let encr = EncrAlg::AesCbc { key_bits: 128 };
        let integ = IntegAlg::HmacSha1_96;
        IkeConfig::new(
            Secret::from_slice(b"unit-psk"),
            vec![IkeProposal {
                encr: vec![encr],
                prf: vec![PrfAlg::HmacSha1],
                integ: vec![integ],
                dh: vec![DhGroup::Ecp256],
            }],
            vec![EspProposal {
                encr: vec![encr],
                integ: vec![integ],
                dh: Vec::new(),
            }],
        )
    }

    /// An established initiator and responder, handed datagrams directly.
    fn established() -> (IkeSa, IkeSa) {
        let (a, b): (SocketAddr, SocketAddr) = (
            "192.0.2.10:500".parse().unwrap(),
            "198.51.100.10:500".parse().unwrap(),
        );
        let now = Instant::now();
        let cfg = Arc::new(config());
        let mut i = IkeSa::initiate(cfg.clone(), a, b, now, [1; 32]);
        let t = i.poll_transmit().unwrap();
        let mut r = IkeSa::accept(cfg, b, a, &t.payload, now, [2; 32]).unwrap();
        for _ in 0..4 {
            while let Some(t) = r.poll_transmit() {
                i.handle_message(now, a, b, &t.payload);
            }
            while let Some(t) = i.poll_transmit() {
                r.handle_message(now, b, a, &t.payload);
            }
        }
        assert_eq!(
            (i.state(), r.state()),
            (State::Established, State::Established)
        );
        assert!(i.fragmentation_in_use() && r.fragmentation_in_use());
        (i, r)
    }

    /// One INFORMATIONAL request with message ID `id`, fragmented for
    /// messages of `size` bytes.
    fn informational(i: &mut IkeSa, id: u32, size: usize) -> Vec<Vec<u8>> {
        let mut c = (*i.config).clone();
        c.fragment_size = size;
        i.config = Arc::new(c);
        let big = Payload::Notify(Notify {
            protocol: ProtocolId(0),
            spi: Vec::new(),
            kind: NotifyType(40000),
            data: vec![0xab; 1500],
        });
        i.build_messages(ExchangeType::INFORMATIONAL, id, false, vec![big])
    }

    #[test]
    fn more_total_fragments_restart_fewer_are_stale() {
        let (mut i, mut r) = established();
        let now = Instant::now();
        let (a, b) = (i.local_addr(), i.remote_addr());
        let id = i.next_request_id;
        let coarse = informational(&mut i, id, 700);
        let fine = informational(&mut i, id, 400);
        assert!(fine.len() > coarse.len() && coarse.len() >= 3);
        // Two coarse fragments, then the first fine one: start over.
        r.handle_message(now, b, a, &coarse[0]);
        r.handle_message(now, b, a, &coarse[1]);
        assert_eq!(r.frag.stats.fragments_received, 2);
        r.handle_message(now, b, a, &fine[0]);
        assert_eq!(r.frag.stats.restarts, 1);
        // A late coarse fragment announces fewer: discarded.
        r.handle_message(now, b, a, &coarse[2]);
        let (got, had) = (coarse.len() as u16, fine.len() as u16);
        assert_eq!(
            r.frag.stats.last_error,
            Some(FragmentError::StaleTotal { got, had })
        );
        assert!(r.poll_transmit().is_none());
        for f in &fine[1..] {
            r.handle_message(now, b, a, f);
        }
        assert_eq!(r.frag.stats.messages_reassembled, 1);
        assert_eq!(r.next_peer_request_id, id + 1, "processed");
        assert!(r.poll_transmit().is_some(), "answered");
        assert!(r.frag.slots.iter().all(Option::is_none));
        assert!(r.frag.reassembled.is_none());
    }

    #[test]
    fn a_new_message_supersedes_an_unfinished_one() {
        let (mut i, mut r) = established();
        let now = Instant::now();
        let (a, b) = (i.local_addr(), i.remote_addr());
        let id = i.next_request_id;
        let first = informational(&mut i, id, 500);
        // Not the ID the responder expects: refused, nothing stored.
        let ahead = informational(&mut i, id + 1, 500);
        r.handle_message(now, b, a, &ahead[0]);
        assert_eq!(
            r.frag.stats.last_error,
            Some(FragmentError::UnexpectedMessage(id + 1))
        );
        assert!(r.frag.slots[0].is_none());
        r.handle_message(now, b, a, &first[0]);
        assert_eq!(r.frag.slots[0].as_ref().unwrap().message_id, id);
        // The same message goes whole (the sender gave up fragmenting):
        // processed, and the half-done reassembly is replaced by the next
        // message's fragments.
        let whole = i.build(ExchangeType::INFORMATIONAL, id, false, Vec::new());
        r.handle_message(now, b, a, &whole);
        assert_eq!(r.next_peer_request_id, id + 1);
        let next = informational(&mut i, id + 1, 500);
        r.handle_message(now, b, a, &next[0]);
        let slot = r.frag.slots[0].as_ref().unwrap();
        assert_eq!((slot.message_id, slot.have), (id + 1, 1));
    }

    #[test]
    fn fragment_sizes_fit_exactly() {
        let (mut i, _) = established();
        let id = i.next_request_id;
        for size in [200usize, 257, 300, 512, 1000] {
            let frags = informational(&mut i, id, size);
            assert!(frags.len() >= 2);
            for f in &frags {
                assert!(f.len() <= size, "{} > {size}", f.len());
            }
            // All but the last are within one cipher block of the limit.
            for f in &frags[..frags.len() - 1] {
                assert!(f.len() + 16 > size, "{} for {size}", f.len());
            }
        }
    }
}
