//! CREATE_CHILD_SA (RFC 7296 1.3, 2.8): rekeying child SAs (with PFS when
//! configured) and the IKE SA, lifetimes with margin and fuzz, and
//! simultaneous-rekey collisions (2.8.1, 2.8.2).
//!
//! A child rekey installs the new pair next to the old one; the side that
//! started the rekey then deletes the old pair, so an outbound SA always
//! exists. When both ends rekey the same SA at once, both exchanges
//! complete; the SA created by the exchange with the lowest of the four
//! nonces is redundant and its creator deletes it, while the other side
//! deletes the old SA.
//!
//! An IKE rekey builds a successor [`IkeSa`] with the new SPIs and keys
//! (SKEYSEED from the old SK_d), moves the child SAs to it, and hands it to
//! the [`super::Endpoint`] through `take_successor`; the old SA then only
//! carries its own delete exchange. For simultaneous IKE rekeys we use a
//! deterministic tie-break instead of running both to completion: the side
//! whose nonce is higher answers the other's request with
//! TEMPORARY_FAILURE (RFC 7296 2.25 allows it), so exactly one new IKE SA
//! comes out.

use std::time::{Duration, Instant};

use rand_core::RngCore;

use super::event::{ChildSaInfo, DeletedBy, EspKeys, Event, Failure, IkeSaInfo, Role};
use super::exchange_init::notify;
use super::ike_sa::{ChildState, IkeSa, Purpose, State};
use super::lookup::Lookup;
use super::proposal::{
    choose_esp, choose_ike, esp_suite_from_answer, esp_suite_to_wire, ike_suite_from_answer,
    ike_suite_to_wire, EspChoice, EspSuite,
};
use super::protect::SkKeys;
use super::selectors;
use super::timer::Timer;
use crate::crypto::{keys, DhGroup, KeyPair, Secret};
use crate::wire::{
    Delete, ExchangeType, KeyExchange, Message, Nonce, Notify, NotifyType, Payload, ProtocolId,
    SaPayload, TrafficSelector, TrafficSelectors,
};

/// Our outstanding child rekey.
#[derive(Debug)]
pub(crate) struct RekeyChildRequest {
    old_spi_in: u32,
    new_spi_in: u32,
    ni: Vec<u8>,
    dh: Option<KeyPair>,
    ke_retried: bool,
}

/// Our outstanding IKE rekey.
#[derive(Debug)]
pub(crate) struct RekeyIkeRequest {
    new_spi: u64,
    ni: Vec<u8>,
    dh: KeyPair,
    ke_retried: bool,
    /// The peer's IKE rekey won the tie-break while ours was in flight: if
    /// ours completes anyway, the SA it creates is deleted at once.
    abandoned: bool,
}

/// The new SAs each of two colliding child rekeys created: (our inbound SPI
/// of the new pair, the lowest nonce of that exchange).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Collision {
    /// Created by the exchange we started.
    pub ours: Option<(u32, Vec<u8>)>,
    /// Created by the exchange the peer started.
    pub theirs: Option<(u32, Vec<u8>)>,
}

fn lowest<'a>(a: &'a [u8], b: &'a [u8]) -> Vec<u8> {
    // Nonces compare as big-endian numbers of possibly different lengths;
    // RFC 7296 2.8.1 compares them "as unsigned integers" after the
    // shorter is padded, which a length-then-bytes order gives.
    let key = |x: &[u8]| {
        let t = x.iter().position(|b| *b != 0).unwrap_or(x.len());
        (x.len() - t, x[t..].to_vec())
    };
    if key(a) <= key(b) {
        a.to_vec()
    } else {
        b.to_vec()
    }
}

fn nonce_lt(a: &[u8], b: &[u8]) -> bool {
    lowest(a, b) == a && a != b
}

/// How long after a refused or failed rekey we try again.
const REKEY_RETRY: Duration = Duration::from_secs(10);

/// How long a rekeyed IKE SA waits for the delete of its initiator.
const SUPERSEDED_GRACE: Duration = Duration::from_secs(120);

impl IkeSa {
    /// The instant to start rekeying an SA of `lifetime` created at `now`:
    /// lifetime - margin - random(0, margin x fuzz), as AWS computes it.
    pub(super) fn soft_deadline(&mut self, now: Instant, lifetime: Duration) -> Instant {
        let l = &self.config.lifetimes;
        let span = l.margin.as_millis() as u64 * l.fuzz_percent as u64 / 100;
        let jitter = if span == 0 {
            0
        } else {
            self.rng.next_u64() % (span + 1)
        };
        let lead = l.margin + Duration::from_millis(jitter);
        // A lifetime shorter than its margins still rekeys before it ends.
        let soft = lifetime
            .checked_sub(lead)
            .filter(|s| *s >= lifetime / 4)
            .unwrap_or(lifetime / 2);
        now + soft
    }

    /// Tracks a new child SA (lifetimes armed) and reports it.
    pub(super) fn push_child_installed(&mut self, now: Instant, info: ChildSaInfo) {
        let lifetime = self.config.lifetimes.child;
        let rekey_at = self.soft_deadline(now, lifetime);
        self.children.push(ChildState {
            spi_in: info.spi_in,
            spi_out: info.spi_out,
            suite: info.suite,
            local_ts: info.local_ts.clone(),
            remote_ts: info.remote_ts.clone(),
            rekey_at,
            expire_at: now + lifetime,
            replaced: false,
            collision: Collision::default(),
        });
        self.events.push_back(Event::ChildSaInstalled(info));
    }

    /// Arms the IKE SA's own rekey and expiry.
    pub(super) fn arm_ike_lifetime(&mut self, now: Instant) {
        let lifetime = self.config.lifetimes.ike;
        let soft = self.soft_deadline(now, lifetime);
        self.timers.set(Timer::IkeRekey, soft);
        self.timers.set(Timer::IkeExpire, now + lifetime);
    }

    /// Derives a child SA's keys: KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr),
    /// where Ni/Nr are the nonces of the exchange that created it and
    /// "initiator" is that exchange's initiator (RFC 7296 2.17).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn make_child_info(
        &self,
        we_initiated: bool,
        ni: &[u8],
        nr: &[u8],
        pfs: Option<&Secret>,
        suite: EspSuite,
        spi_in: u32,
        spi_out: u32,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
        replaces: Option<u32>,
    ) -> ChildSaInfo {
        let ike = self.suite.expect("keys exist");
        let k = self.keys.as_ref().expect("keys exist");
        let c = keys::derive_child_keys(ike.prf, &k.sk_d, suite.encr, suite.integ, pfs, ni, nr);
        let i_to_r = EspKeys {
            encr: c.encr_i,
            integ: c.integ_i,
        };
        let r_to_i = EspKeys {
            encr: c.encr_r,
            integ: c.integ_r,
        };
        let (keys_in, keys_out) = if we_initiated {
            (r_to_i, i_to_r)
        } else {
            (i_to_r, r_to_i)
        };
        ChildSaInfo {
            spi_in,
            spi_out,
            suite,
            keys_in,
            keys_out,
            local_ts,
            remote_ts,
            encapsulation: self.encap.then_some((self.local, self.remote)),
            replaces,
        }
    }

    // ---- starting rekeys --------------------------------------------------

    /// Starts rekeying the child SA whose inbound SPI is `spi_in`, if it
    /// exists, is not already replaced and no request is outstanding.
    /// Returns whether the request was sent.
    pub fn rekey_child(&mut self, now: Instant, spi_in: u32) -> bool {
        let ok = self.state == State::Established
            && !self.superseded
            && self.pending.is_none()
            && self
                .children
                .iter()
                .any(|c| c.spi_in == spi_in && !c.replaced && c.collision.ours.is_none());
        if ok {
            let pfs = self
                .config
                .esp_proposals
                .iter()
                .find_map(|p| p.dh.first().copied());
            self.send_child_rekey(now, spi_in, pfs, false);
        }
        ok
    }

    /// A CREATE_CHILD_SA request for a child SA pair with these selectors
    /// (without REKEY_SA): our new inbound SPI, nonce, PFS key pair, and
    /// the payloads SA, Ni, [KEi,] TSi, TSr.
    pub(super) fn child_request(
        &mut self,
        pfs: Option<DhGroup>,
        local_ts: &[TrafficSelector],
        remote_ts: &[TrafficSelector],
    ) -> (u32, Vec<u8>, Option<KeyPair>, Vec<Payload>) {
        let new_spi_in = self.random_spi32();
        let ni = self.random_nonce();
        let dh = pfs.map(|g| KeyPair::generate(g, &mut self.rng));
        let proposals = self
            .config
            .esp_proposals
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_wire(i as u8 + 1, new_spi_in, true))
            .collect();
        let mut payloads = vec![
            Payload::Sa(SaPayload { proposals }),
            Payload::Nonce(Nonce(ni.clone())),
        ];
        if let Some(d) = &dh {
            payloads.push(Payload::Ke(KeyExchange {
                group: d.group().id(),
                data: d.public_key().to_vec(),
            }));
        }
        payloads.push(Payload::TsI(TrafficSelectors(local_ts.to_vec())));
        payloads.push(Payload::TsR(TrafficSelectors(remote_ts.to_vec())));
        (new_spi_in, ni, dh, payloads)
    }

    fn send_child_rekey(
        &mut self,
        now: Instant,
        old_spi_in: u32,
        pfs: Option<DhGroup>,
        ke_retried: bool,
    ) {
        let Some(child) = self
            .children
            .iter()
            .find(|c| c.spi_in == old_spi_in)
            .cloned()
        else {
            return;
        };
        let (new_spi_in, ni, dh, mut payloads) =
            self.child_request(pfs, &child.local_ts, &child.remote_ts);
        payloads.insert(
            0,
            Payload::Notify(Notify {
                protocol: ProtocolId::ESP,
                spi: old_spi_in.to_be_bytes().to_vec(),
                kind: NotifyType::REKEY_SA,
                data: Vec::new(),
            }),
        );
        self.send_request(now, ExchangeType::CREATE_CHILD_SA, payloads);
        let req = RekeyChildRequest {
            old_spi_in,
            new_spi_in,
            ni,
            dh,
            ke_retried,
        };
        if let Some(p) = self.pending.as_mut() {
            p.purpose = Purpose::RekeyChild(req);
        }
    }

    /// Starts rekeying the IKE SA. Returns whether the request was sent.
    pub fn rekey_ike(&mut self, now: Instant) -> bool {
        let ok = self.state == State::Established && !self.superseded && self.pending.is_none();
        if ok {
            let group = self.suite.map(|s| s.dh).expect("established");
            self.send_ike_rekey(now, group, false);
        }
        ok
    }

    fn send_ike_rekey(&mut self, now: Instant, group: DhGroup, ke_retried: bool) {
        let new_spi = self.random_spi64();
        let ni = self.random_nonce();
        let dh = KeyPair::generate(group, &mut self.rng);
        // Our KE is for the current group: offer it first.
        let mut proposals: Vec<_> = self.config.ike_proposals.clone();
        for p in &mut proposals {
            if let Some(i) = p.dh.iter().position(|g| *g == group) {
                p.dh.swap(0, i);
            }
        }
        let wire = proposals
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_wire(i as u8 + 1, new_spi.to_be_bytes().to_vec()))
            .collect();
        let payloads = vec![
            Payload::Sa(SaPayload { proposals: wire }),
            Payload::Nonce(Nonce(ni.clone())),
            Payload::Ke(KeyExchange {
                group: dh.group().id(),
                data: dh.public_key().to_vec(),
            }),
        ];
        self.send_request(now, ExchangeType::CREATE_CHILD_SA, payloads);
        let req = RekeyIkeRequest {
            new_spi,
            ni,
            dh,
            ke_retried,
            abandoned: false,
        };
        if let Some(p) = self.pending.as_mut() {
            p.purpose = Purpose::RekeyIke(req);
        }
    }

    /// Deletes child SAs of ours (by inbound SPI): they are forgotten and
    /// reported at once, so the data plane stops sending on them now, and
    /// an INFORMATIONAL Delete goes out when the request window is free.
    /// (The data plane keeps an old inbound SA until its successor has
    /// carried traffic, so packets still in flight are not lost.)
    pub(super) fn queue_child_delete(&mut self, spis: Vec<u32>) {
        for spi in &spis {
            if let Some(i) = self.children.iter().position(|c| c.spi_in == *spi) {
                self.children.remove(i);
                self.events.push_back(Event::ChildSaDeleted {
                    spi_in: *spi,
                    by: DeletedBy::Us,
                });
            }
        }
        self.queued.push_back(vec![Payload::Delete(Delete {
            protocol: ProtocolId::ESP,
            spis,
        })]);
    }

    /// Sends the next queued request if the window is free.
    pub(super) fn flush_queue(&mut self, now: Instant) {
        if self.pending.is_some() || self.state != State::Established {
            return;
        }
        if let Some(payloads) = self.queued.pop_front() {
            let purpose = match payloads.first() {
                Some(Payload::Delete(d)) if d.protocol == ProtocolId::IKE => Purpose::DeleteIke,
                Some(Payload::Delete(d)) => Purpose::DeleteChildren(d.spis.clone()),
                _ => Purpose::Plain,
            };
            self.send_request(now, ExchangeType::INFORMATIONAL, payloads);
            if let Some(p) = self.pending.as_mut() {
                p.purpose = purpose;
            }
        }
    }

    /// Child lifetimes: hard expiry, then soft rekey.
    pub(super) fn on_child_deadlines(&mut self, now: Instant) {
        let expired: Vec<u32> = self
            .children
            .iter()
            .filter(|c| c.expire_at <= now)
            .map(|c| c.spi_in)
            .collect();
        if !expired.is_empty() {
            self.queue_child_delete(expired);
        }
        if self.pending.is_none() && self.state == State::Established && !self.superseded {
            let due = self
                .children
                .iter()
                .find(|c| {
                    c.rekey_at <= now
                        && !c.replaced
                        && c.collision.ours.is_none()
                        && c.collision.theirs.is_none()
                })
                .map(|c| c.spi_in);
            if let Some(spi) = due {
                self.rekey_child(now, spi);
            }
        }
    }

    /// The earliest child deadline that can do something now.
    pub(super) fn child_deadline(&self) -> Option<Instant> {
        let expire = self.children.iter().map(|c| c.expire_at).min();
        // A rekey waits for a free window; reporting it while a request is
        // outstanding would make the driver spin.
        let rekey =
            if self.pending.is_none() && self.state == State::Established && !self.superseded {
                self.children
                    .iter()
                    .filter(|c| {
                        !c.replaced && c.collision.ours.is_none() && c.collision.theirs.is_none()
                    })
                    .map(|c| c.rekey_at)
                    .min()
            } else {
                None
            };
        match (expire, rekey) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- the responder side ----------------------------------------------

    pub(super) fn process_create_child_request(&mut self, now: Instant, raw: &[u8], msg: Message) {
        let inner = match self.open_inner(raw, &msg) {
            Some(Ok(p)) => p,
            _ => {
                self.stats.integrity_failures += 1;
                return;
            }
        };
        let id = msg.header.message_id;
        if self.superseded {
            return self.answer(id, vec![notify(NotifyType::TEMPORARY_FAILURE, Vec::new())]);
        }
        let sa = inner.sa();
        let nonce = inner.nonce().map(<[u8]>::to_vec);
        let ke = inner.ke();
        let (Some(sa), Some(ni)) = (sa, nonce) else {
            return self.answer(id, vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())]);
        };
        if sa.proposals.iter().any(|p| p.protocol == ProtocolId::IKE) {
            return self.respond_ike_rekey(now, id, sa, ni, ke);
        }
        let rekey = inner.iter().find_map(|p| match p {
            Payload::Notify(n) if n.kind == NotifyType::REKEY_SA && n.spi.len() == 4 => {
                Some(u32::from_be_bytes([n.spi[0], n.spi[1], n.spi[2], n.spi[3]]))
            }
            _ => None,
        });
        let Some(peer_old_spi) = rekey else {
            return self.respond_additional_child(now, id, &inner, sa, ni, ke);
        };
        let Some(old) = self.children.iter().position(|c| c.spi_out == peer_old_spi) else {
            let n = Notify {
                protocol: ProtocolId::ESP,
                spi: peer_old_spi.to_be_bytes().to_vec(),
                kind: NotifyType::CHILD_SA_NOT_FOUND,
                data: Vec::new(),
            };
            return self.answer(id, vec![Payload::Notify(n)]);
        };
        if self.children[old].replaced {
            return self.answer(id, vec![notify(NotifyType::TEMPORARY_FAILURE, Vec::new())]);
        }
        let Some((choice, ke_out, shared)) = self.choose_child(id, sa, ke) else {
            return;
        };
        let tsi = inner.tsi().map(<[TrafficSelector]>::to_vec);
        let tsr = inner.tsr().map(<[TrafficSelector]>::to_vec);
        let narrowed_i = selectors::narrow(&tsi.unwrap_or_default(), &self.config.remote_ts);
        let narrowed_r = selectors::narrow(&tsr.unwrap_or_default(), &self.config.local_ts);
        if narrowed_i.is_empty() || narrowed_r.is_empty() {
            return self.answer(id, vec![notify(NotifyType::TS_UNACCEPTABLE, Vec::new())]);
        }
        let (nr, new_spi_in) =
            self.answer_child(id, &choice, ke_out.as_ref(), &narrowed_i, &narrowed_r);

        let old_spi_in = self.children[old].spi_in;
        let ours_pending = matches!(
            self.pending.as_ref().map(|p| &p.purpose),
            Some(Purpose::RekeyChild(r)) if r.old_spi_in == old_spi_in
        );
        if ours_pending || self.children[old].collision.ours.is_some() {
            self.children[old].collision.theirs = Some((new_spi_in, lowest(&ni, &nr)));
        } else {
            // The peer rekeys; it will delete the old pair.
            self.children[old].replaced = true;
        }
        let info = self.make_child_info(
            false,
            &ni,
            &nr,
            shared.as_ref(),
            choice.suite,
            new_spi_in,
            choice.peer_spi,
            narrowed_r,
            narrowed_i,
            Some(old_spi_in),
        );
        self.push_child_installed(now, info);
        self.resolve_collision(old_spi_in);
    }

    /// Chooses the child SA suite of a CREATE_CHILD_SA request and answers
    /// its KE (PFS). On a refusal the error answer is sent and `None`
    /// returned.
    pub(super) fn choose_child(
        &mut self,
        id: u32,
        sa: &SaPayload,
        ke: Option<&KeyExchange>,
    ) -> Option<(EspChoice, Option<KeyPair>, Option<Secret>)> {
        let choice = match choose_esp(
            self.config.policy.as_ref(),
            &sa.proposals,
            &self.config.esp_proposals,
            true,
        ) {
            Ok(c) => c,
            Err(m) => {
                self.answer(id, vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())]);
                self.events
                    .push_back(Event::ChildSaFailed(Failure::NoProposalChosen(m)));
                return None;
            }
        };
        let (ke_out, shared) = match choice.suite.dh {
            None => (None, None),
            Some(g) => match ke.filter(|k| k.group == g.id()) {
                None => {
                    let data = (g as u16).to_be_bytes().to_vec();
                    self.answer(id, vec![notify(NotifyType::INVALID_KE_PAYLOAD, data)]);
                    return None;
                }
                Some(k) => {
                    let ours = KeyPair::generate(g, &mut self.rng);
                    match ours.agree(&k.data) {
                        Ok(s) => (Some(ours), Some(s)),
                        Err(_) => {
                            self.answer(id, vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())]);
                            return None;
                        }
                    }
                }
            },
        };
        Some((choice, ke_out, shared))
    }

    /// Accepts a CREATE_CHILD_SA request: answers with the chosen suite, a
    /// new inbound SPI, our nonce and KE, and the narrowed selectors.
    /// Returns (our nonce, our new inbound SPI).
    pub(super) fn answer_child(
        &mut self,
        id: u32,
        choice: &EspChoice,
        ke_out: Option<&KeyPair>,
        narrowed_i: &[TrafficSelector],
        narrowed_r: &[TrafficSelector],
    ) -> (Vec<u8>, u32) {
        let nr = self.random_nonce();
        let new_spi_in = self.random_spi32();
        let mut out = vec![
            Payload::Sa(SaPayload {
                proposals: vec![esp_suite_to_wire(choice.number, new_spi_in, &choice.suite)],
            }),
            Payload::Nonce(Nonce(nr.clone())),
        ];
        if let Some(k) = ke_out {
            out.push(Payload::Ke(KeyExchange {
                group: k.group().id(),
                data: k.public_key().to_vec(),
            }));
        }
        out.push(Payload::TsI(TrafficSelectors(narrowed_i.to_vec())));
        out.push(Payload::TsR(TrafficSelectors(narrowed_r.to_vec())));
        self.answer(id, out);
        (nr, new_spi_in)
    }

    pub(super) fn answer(&mut self, id: u32, payloads: Vec<Payload>) {
        self.send_response(ExchangeType::CREATE_CHILD_SA, id, payloads);
    }

    /// Once both colliding rekeys of `old_spi_in` are complete, the creator
    /// of the SA from the exchange with the lowest nonce deletes it, and
    /// the other end deletes the old SA (RFC 7296 2.8.1).
    fn resolve_collision(&mut self, old_spi_in: u32) {
        let Some(i) = self.children.iter().position(|c| c.spi_in == old_spi_in) else {
            return;
        };
        let c = &mut self.children[i];
        let (Some((ours_spi, ours_min)), Some((theirs_spi, theirs_min))) =
            (c.collision.ours.clone(), c.collision.theirs.clone())
        else {
            return;
        };
        c.replaced = true;
        c.collision = Collision::default();
        let ours_redundant = nonce_lt(&ours_min, &theirs_min);
        let (kept_spi_in, redundant_spi_in) = if ours_redundant {
            (theirs_spi, ours_spi)
        } else {
            (ours_spi, theirs_spi)
        };
        self.events.push_back(Event::ChildRekeyCollision {
            old_spi_in,
            kept_spi_in,
            redundant_spi_in,
            we_delete_redundant: ours_redundant,
        });
        if ours_redundant {
            // Ours is redundant: delete it; the peer deletes the old pair.
            self.queue_child_delete(vec![ours_spi]);
        } else {
            self.queue_child_delete(vec![old_spi_in]);
        }
    }

    fn respond_ike_rekey(
        &mut self,
        now: Instant,
        id: u32,
        sa: &SaPayload,
        ni: Vec<u8>,
        ke: Option<&KeyExchange>,
    ) {
        if let Some(Purpose::RekeyIke(ours)) = self.pending.as_mut().map(|p| &mut p.purpose) {
            // Both ends rekey the IKE SA: the higher nonce refuses the other.
            if nonce_lt(&ni, &ours.ni) {
                return self.answer(id, vec![notify(NotifyType::TEMPORARY_FAILURE, Vec::new())]);
            }
            ours.abandoned = true;
        }
        let choice = match choose_ike(
            self.config.policy.as_ref(),
            &sa.proposals,
            &self.config.ike_proposals,
        ) {
            Ok(c) => c,
            Err(_) => {
                return self.answer(id, vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())])
            }
        };
        let Some(peer_spi) = sa
            .proposals
            .iter()
            .find(|p| p.number == choice.number && p.spi.len() == 8)
            .map(|p| u64::from_be_bytes(p.spi[..8].try_into().expect("length checked")))
        else {
            return self.answer(id, vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())]);
        };
        let g = choice.suite.dh;
        let Some(k) = ke.filter(|k| k.group == g.id()) else {
            return self.answer(
                id,
                vec![notify(
                    NotifyType::INVALID_KE_PAYLOAD,
                    (g as u16).to_be_bytes().to_vec(),
                )],
            );
        };
        let ours = KeyPair::generate(g, &mut self.rng);
        let Ok(shared) = ours.agree(&k.data) else {
            return self.answer(id, vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())]);
        };
        let nr = self.random_nonce();
        let new_spi = self.random_spi64();
        self.answer(
            id,
            vec![
                Payload::Sa(SaPayload {
                    proposals: vec![ike_suite_to_wire(
                        choice.number,
                        new_spi.to_be_bytes().to_vec(),
                        &choice.suite,
                    )],
                }),
                Payload::Nonce(Nonce(nr.clone())),
                Payload::Ke(KeyExchange {
                    group: g.id(),
                    data: ours.public_key().to_vec(),
                }),
            ],
        );
        self.hand_over(
            now,
            Role::Responder,
            peer_spi,
            new_spi,
            choice.suite,
            &shared,
            &ni,
            &nr,
        );
    }

    /// Builds the IKE SA that replaces this one and moves the children to
    /// it; this SA then waits only for its delete exchange.
    #[allow(clippy::too_many_arguments)]
    fn hand_over(
        &mut self,
        now: Instant,
        role: Role,
        spi_i: u64,
        spi_r: u64,
        suite: super::proposal::IkeSuite,
        shared: &Secret,
        ni: &[u8],
        nr: &[u8],
    ) {
        let Some(next) = self.successor_sa(now, role, spi_i, spi_r, suite, shared, ni, nr, true)
        else {
            return;
        };
        let info = IkeSaInfo {
            spi_i,
            spi_r,
            role,
            suite,
            nat: self.nat,
            local: self.local,
            remote: self.remote,
        };
        self.events.push_back(Event::IkeSaRekeyed {
            old_spi_i: self.spi_i,
            old_spi_r: self.spi_r,
            new: info,
        });
        self.successor = Some(Box::new(next));
        self.superseded = true;
        self.timers.stop(Timer::IkeRekey);
        // The rekey's initiator deletes this SA; should that delete never
        // come (lost on a dying link), the SA goes by itself after a grace
        // period instead of lingering forever.
        self.timers.set(Timer::IkeExpire, now + SUPERSEDED_GRACE);
    }

    #[allow(clippy::too_many_arguments)]
    fn successor_sa(
        &mut self,
        now: Instant,
        role: Role,
        spi_i: u64,
        spi_r: u64,
        suite: super::proposal::IkeSuite,
        shared: &Secret,
        ni: &[u8],
        nr: &[u8],
        take_children: bool,
    ) -> Option<IkeSa> {
        let old = self.suite?;
        let old_keys = self.keys.as_ref()?;
        let k = keys::derive_rekeyed_ike_keys(
            old.prf,
            &old_keys.sk_d,
            suite.prf,
            suite.encr,
            suite.integ,
            shared,
            ni,
            nr,
            spi_i,
            spi_r,
        );
        let sk = SkKeys::new(&suite, &k, role).ok()?;
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let mut next = IkeSa::blank(self.config.clone(), role, self.local, self.remote, seed);
        next.state = State::Established;
        next.encap = self.encap;
        next.nat = self.nat;
        // Negotiated extensions carry over to the rekeyed IKE SA.
        next.frag.peer_supported = self.frag.peer_supported;
        next.spi_i = spi_i;
        next.spi_r = spi_r;
        next.ni = ni.to_vec();
        next.nr = nr.to_vec();
        next.suite = Some(suite);
        next.keys = Some(k);
        next.sk = Some(sk);
        if take_children {
            next.children = std::mem::take(&mut self.children);
        }
        next.arm_ike_lifetime(now);
        next.liveness_tick(now);
        Some(next)
    }

    // ---- the initiator side ----------------------------------------------

    pub(super) fn process_create_child_response(&mut self, now: Instant, raw: &[u8], msg: Message) {
        let inner = match self.open_inner(raw, &msg) {
            Some(Ok(p)) => p,
            _ => {
                self.stats.integrity_failures += 1;
                return;
            }
        };
        let purpose = self.pending.take().map(|p| p.purpose).unwrap_or_default();
        self.timers.stop(Timer::Retransmit);
        match purpose {
            Purpose::RekeyChild(req) => self.finish_child_rekey(now, &inner, req),
            Purpose::RekeyIke(req) => self.finish_ike_rekey(now, &inner, req),
            Purpose::CreateChild(req) => self.finish_additional_child(now, &inner, req),
            _ => {}
        }
    }

    /// The parts of an accepting CREATE_CHILD_SA answer to a child SA
    /// request of ours (`dh`: our PFS key pair): the peer's SPI, the
    /// suite, its nonce and the PFS shared secret.
    #[allow(clippy::type_complexity)]
    pub(super) fn child_answer_keys(
        &self,
        inner: &[Payload],
        dh: Option<&KeyPair>,
    ) -> Result<(u32, EspSuite, Vec<u8>, Option<Secret>), Failure> {
        let sa = inner.sa();
        let nr = inner.nonce().map(<[u8]>::to_vec);
        let answer = sa.and_then(|s| match s.proposals.as_slice() {
            [p] => esp_suite_from_answer(p, &self.config.esp_proposals, true),
            _ => None,
        });
        let (Some((spi_out, suite)), Some(nr)) = (answer, nr) else {
            return Err(Failure::Protocol(
                "CREATE_CHILD_SA answer without a valid SA or nonce".into(),
            ));
        };
        let shared = match (suite.dh, dh) {
            (None, _) => None,
            (Some(g), Some(ours)) if g == ours.group() => {
                let ke = inner.ke();
                match ke
                    .filter(|k| k.group == g.id())
                    .map(|k| ours.agree(&k.data))
                {
                    Some(Ok(s)) => Some(s),
                    _ => {
                        return Err(Failure::Protocol(
                            "CREATE_CHILD_SA answer with a bad KE".into(),
                        ))
                    }
                }
            }
            _ => {
                return Err(Failure::Protocol(
                    "PFS group in the answer differs from our KE".into(),
                ))
            }
        };
        Ok((spi_out, suite, nr, shared))
    }

    fn finish_child_rekey(&mut self, now: Instant, inner: &[Payload], req: RekeyChildRequest) {
        let peer = self.remote;
        if let Some(n) = inner.notify(NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = n.invalid_ke_group().and_then(|g| DhGroup::from_id(g.0));
            let offered =
                wanted.filter(|g| self.config.esp_proposals.iter().any(|p| p.dh.contains(g)));
            if let (Some(g), false) = (offered, req.ke_retried) {
                return self.send_child_rekey(now, req.old_spi_in, Some(g), true);
            }
        }
        if let Some(n) = inner.error_notify() {
            if n.kind == NotifyType::CHILD_SA_NOT_FOUND {
                // The peer no longer has it: drop ours too.
                self.children.retain(|c| c.spi_in != req.old_spi_in);
                self.events.push_back(Event::ChildSaDeleted {
                    spi_in: req.old_spi_in,
                    by: DeletedBy::Peer,
                });
            } else {
                if n.kind != NotifyType::TEMPORARY_FAILURE {
                    self.events
                        .push_back(Event::ChildSaFailed(Failure::PeerError {
                            peer,
                            notify: n.kind,
                        }));
                }
                // Refused (TEMPORARY_FAILURE: the peer is busy rekeying, RFC
                // 7296 2.25): try again later, not at once; the old pair
                // stays until then or until its hard lifetime.
                if let Some(c) = self
                    .children
                    .iter_mut()
                    .find(|c| c.spi_in == req.old_spi_in)
                {
                    c.rekey_at = now + REKEY_RETRY;
                }
            }
            return;
        }
        let (spi_out, suite, nr, shared) = match self.child_answer_keys(inner, req.dh.as_ref()) {
            Ok(k) => k,
            Err(f) => {
                self.events.push_back(Event::ChildSaFailed(f));
                return;
            }
        };
        let Some(old) = self
            .children
            .iter()
            .position(|c| c.spi_in == req.old_spi_in)
        else {
            // Deleted meanwhile (by the peer): the new pair is not wanted.
            self.queue_child_delete(vec![req.new_spi_in]);
            return;
        };
        let (local_ts, remote_ts) = (
            self.children[old].local_ts.clone(),
            self.children[old].remote_ts.clone(),
        );
        let tsi = inner.tsi().map(<[TrafficSelector]>::to_vec);
        let tsr = inner.tsr().map(<[TrafficSelector]>::to_vec);
        let local_ts = tsi
            .filter(|t| selectors::within(t, &local_ts))
            .unwrap_or(local_ts);
        let remote_ts = tsr
            .filter(|t| selectors::within(t, &remote_ts))
            .unwrap_or(remote_ts);
        let info = self.make_child_info(
            true,
            &req.ni,
            &nr,
            shared.as_ref(),
            suite,
            req.new_spi_in,
            spi_out,
            local_ts,
            remote_ts,
            Some(req.old_spi_in),
        );
        // The new pair is reported before the old one is deleted, so a data
        // plane following the events never sees the tunnel without an SA.
        let collided = self.children[old].collision.theirs.is_some();
        if collided {
            self.children[old].collision.ours = Some((req.new_spi_in, lowest(&req.ni, &nr)));
        } else {
            self.children[old].replaced = true;
        }
        self.push_child_installed(now, info);
        if collided {
            self.resolve_collision(req.old_spi_in);
        } else {
            self.queue_child_delete(vec![req.old_spi_in]);
        }
    }

    fn finish_ike_rekey(&mut self, now: Instant, inner: &[Payload], req: RekeyIkeRequest) {
        if let Some(n) = inner.notify(NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = n.invalid_ke_group().and_then(|g| DhGroup::from_id(g.0));
            let offered =
                wanted.filter(|g| self.config.ike_proposals.iter().any(|p| p.dh.contains(g)));
            if let (Some(g), false, false) = (offered, req.ke_retried, req.abandoned) {
                return self.send_ike_rekey(now, g, true);
            }
        }
        if inner.error_notify().is_some() {
            // TEMPORARY_FAILURE (the peer's rekey won) or a refusal: try
            // again later unless the peer's rekey replaced this SA.
            if !self.superseded {
                self.timers.set(Timer::IkeRekey, now + REKEY_RETRY);
            }
            return;
        }
        let sa = inner.sa();
        let nr = inner.nonce().map(<[u8]>::to_vec);
        let ke = inner.ke();
        let parsed = sa.and_then(|s| s.proposals.first()).and_then(|p| {
            let suite = ike_suite_from_answer(p, &self.config.ike_proposals)?;
            let spi: [u8; 8] = p.spi.as_slice().try_into().ok()?;
            Some((suite, u64::from_be_bytes(spi)))
        });
        let (Some((suite, peer_spi)), Some(nr), Some(ke)) = (parsed, nr, ke) else {
            self.timers.set(Timer::IkeRekey, now + REKEY_RETRY);
            return;
        };
        if suite.dh != req.dh.group() || ke.group != suite.dh.id() {
            self.timers.set(Timer::IkeRekey, now + REKEY_RETRY);
            return;
        }
        let Ok(shared) = req.dh.agree(&ke.data) else {
            self.timers.set(Timer::IkeRekey, now + REKEY_RETRY);
            return;
        };
        if req.abandoned || self.superseded {
            // The peer's rekey already replaced this SA: the one we just
            // made is redundant; it deletes itself.
            if let Some(mut extra) = self.successor_sa(
                now,
                Role::Initiator,
                req.new_spi,
                peer_spi,
                suite,
                &shared,
                &req.ni,
                &nr,
                false,
            ) {
                extra.superseded = true;
                extra.queued.push_back(vec![Payload::Delete(Delete {
                    protocol: ProtocolId::IKE,
                    spis: Vec::new(),
                })]);
                extra.flush_queue(now);
                self.extra_successors.push(extra);
            }
            return;
        }
        self.hand_over(
            now,
            Role::Initiator,
            req.new_spi,
            peer_spi,
            suite,
            &shared,
            &req.ni,
            &nr,
        );
        // The rekey's initiator deletes the old IKE SA.
        self.queued.push_front(vec![Payload::Delete(Delete {
            protocol: ProtocolId::IKE,
            spis: Vec::new(),
        })]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_order_is_numeric() {
        assert!(nonce_lt(&[0, 1], &[2]));
        assert!(nonce_lt(&[1, 0], &[1, 1]));
        assert!(!nonce_lt(&[1, 1], &[1, 1]));
        assert!(nonce_lt(&[0xff], &[1, 0]));
        assert_eq!(lowest(&[5, 0], &[4, 255]), vec![4, 255]);
    }
}
