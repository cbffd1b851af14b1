//! Liveness (RFC 7296 2.4) and our own deletes (1.4.1).
//!
//! Dead peer detection: an Established IKE SA remembers when it last
//! received something authenticated from the peer (an IKE message whose
//! integrity checks, or inbound ESP the data plane reports through
//! [`IkeSa::note_inbound_esp`]). After [`Dpd::delay`] of silence it sends an
//! empty INFORMATIONAL request (`Purpose::Dpd`), retransmitted with the
//! usual backoff. If neither the answer nor anything else authenticated
//! arrives within [`Dpd::timeout`] of that first probe, the peer is dead:
//! [`Event::DpdTimeout`] and then the action:
//!
//! - `Clear`: child SA and IKE SA deleted events ([`DeletedBy::Us`]), closed;
//! - `Restart`: the same, then the SA re-initialises itself in place as an
//!   initiator to the same peer (port 500 again, new SPIs, nonce and DH key,
//!   a new IKE_SA_INIT with the normal retransmission rules). An
//!   [`super::Endpoint`] keeps the same [`super::SaId`] and finds the new SA
//!   by its new initiator SPI; a bare `IkeSa` driver needs no change. We
//!   chose this over an event the endpoint acts on because it works the same
//!   for both drivers and keeps the config, seeded randomness and counters;
//! - `None`: state kept; the probe stays outstanding (so message IDs stay in
//!   step) but is no longer retransmitted, and nothing more is probed until
//!   traffic from the peer resumes, which re-sends it once more as a new
//!   probe.
//!
//! No probe is sent while another request is outstanding (that request's
//! own retransmissions test the peer), nor on an SA superseded by a rekey.
//! If the probe's retransmissions run out before the timeout, the SA waits
//! silently for the timeout.
//!
//! Deletes: [`IkeSa::delete_child`] and [`IkeSa::delete_ike`] queue an
//! INFORMATIONAL request with a Delete payload on the SA's request queue
//! (sent as soon as no other request is outstanding; a probe stalled by DPD
//! is abandoned for it); the answer removes the state and reports
//! [`Event::ChildSaDeleted`] / [`Event::IkeSaClosed`] with [`DeletedBy::Us`].
//! A delete the peer never answers takes effect anyway when its
//! retransmissions run out (for a child SA the IKE SA then fails with
//! `NoResponse`: the peer is unreachable, RFC 7296 2.4).

use std::time::Instant;

use rand_core::RngCore;

use super::config::{Dpd, DpdAction};
use super::event::{DeletedBy, Event, Failure};
use super::ike_sa::{Authenticity, ChildState, IkeSa, Purpose, State, Transmit};
use super::timer::Timer;
use crate::wire::{Delete, ExchangeType, Message, Payload, ProtocolId};

/// Why [`IkeSa::delete_child`] or [`IkeSa::delete_ike`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    /// The IKE SA is not established (or already closed).
    #[error("the IKE SA is not established")]
    NotEstablished,
    /// No child SA of this IKE SA has that inbound SPI.
    #[error("no child SA with inbound SPI {0:08x}")]
    UnknownChild(u32),
}

/// Liveness state of an IKE SA (the outstanding probe itself is the
/// pending request, with `Purpose::Dpd`).
#[derive(Debug, Default)]
pub(super) struct Liveness {
    /// When something authenticated last came from the peer (IKE or ESP).
    pub last_rx: Option<Instant>,
    /// The peer was declared dead with action `None`: no probing until
    /// traffic resumes.
    pub suspended: bool,
}

fn delete_payload(protocol: ProtocolId, spis: Vec<u32>) -> Vec<Payload> {
    vec![Payload::Delete(Delete { protocol, spis })]
}

impl IkeSa {
    // ---- public surface ----------------------------------------------------

    /// The data plane received (and authenticated) ESP on this SA's inbound
    /// child SA: the peer is alive, so DPD need not probe. Cheap: call it per
    /// packet or per batch.
    pub fn note_inbound_esp(&mut self, now: Instant) {
        if self.state != State::Established {
            return;
        }
        self.peer_alive(now);
    }

    /// Whether this SA owns a child SA with inbound SPI `spi_in`.
    pub fn has_child(&self, spi_in: u32) -> bool {
        self.children.iter().any(|c| c.spi_in == spi_in)
    }

    /// Deletes the child SA whose inbound SPI is `spi_in`: an INFORMATIONAL
    /// request with a Delete payload (ESP, that SPI), retransmitted. When it
    /// is answered (or its retransmissions run out) the child is gone:
    /// [`Event::ChildSaDeleted`] with [`DeletedBy::Us`].
    pub fn delete_child(&mut self, now: Instant, spi_in: u32) -> Result<(), DeleteError> {
        if self.state != State::Established {
            return Err(DeleteError::NotEstablished);
        }
        if !self.has_child(spi_in) {
            return Err(DeleteError::UnknownChild(spi_in));
        }
        let queued = self.queued.iter().any(|q| {
            matches!(q.first(), Some(Payload::Delete(d))
                if d.protocol == ProtocolId::ESP && d.spis.contains(&spi_in))
        });
        if !queued && !self.deleting_child(spi_in) {
            self.queued
                .push_back(delete_payload(ProtocolId::ESP, vec![spi_in]));
        }
        self.abandon_stalled_probe();
        self.flush_queue(now);
        Ok(())
    }

    /// Deletes the IKE SA and its child SA: an INFORMATIONAL request with an
    /// IKE Delete payload, retransmitted. When it is answered (or its
    /// retransmissions run out), [`Event::ChildSaDeleted`] for each child
    /// and then [`Event::IkeSaClosed`], all with [`DeletedBy::Us`]. An SA
    /// still negotiating is closed at once (there is nothing to delete on
    /// the peer yet), with [`Event::IkeSaClosed`].
    pub fn delete_ike(&mut self, now: Instant) -> Result<(), DeleteError> {
        match self.state {
            State::Closed => Err(DeleteError::NotEstablished),
            State::Established => {
                let pending = self
                    .pending
                    .as_ref()
                    .is_some_and(|p| matches!(p.purpose, Purpose::DeleteIke));
                let queued = self.queued.iter().any(|q| {
                    matches!(q.first(), Some(Payload::Delete(d)) if d.protocol == ProtocolId::IKE)
                });
                if !pending && !queued {
                    // The IKE SA delete goes first: it ends everything else.
                    self.queued
                        .push_front(delete_payload(ProtocolId::IKE, Vec::new()));
                }
                self.abandon_stalled_probe();
                self.flush_queue(now);
                Ok(())
            }
            _ => {
                self.close_with_children(DeletedBy::Us);
                Ok(())
            }
        }
    }

    // ---- child SA bookkeeping ----------------------------------------------

    pub(super) fn child_by_spi_out(&self, spi_out: u32) -> Option<ChildState> {
        self.children.iter().find(|c| c.spi_out == spi_out).cloned()
    }

    pub(super) fn take_child(&mut self, spi_in: u32) -> Option<ChildState> {
        let i = self.children.iter().position(|c| c.spi_in == spi_in)?;
        Some(self.children.remove(i))
    }

    /// Reports every child deleted, then the IKE SA closed (not for an SA
    /// superseded by a rekey: its successor carries on), and closes.
    pub(super) fn close_with_children(&mut self, by: DeletedBy) {
        for c in std::mem::take(&mut self.children) {
            self.events.push_back(Event::ChildSaDeleted {
                spi_in: c.spi_in,
                by,
            });
        }
        if !self.superseded {
            self.events.push_back(Event::IkeSaClosed { by });
        }
        self.close();
    }

    /// Whether our delete of the child with `spi_in` is on the wire (for
    /// crossing deletes, RFC 7296 1.4.1).
    pub(super) fn deleting_child(&self, spi_in: u32) -> bool {
        self.pending.as_ref().is_some_and(
            |p| matches!(&p.purpose, Purpose::DeleteChildren(s) if s.contains(&spi_in)),
        )
    }

    /// Forgets a queued (not yet sent) delete of a child the peer removed.
    pub(super) fn unqueue_child_delete(&mut self, spi_in: u32) {
        for q in &mut self.queued {
            if let Some(Payload::Delete(d)) = q.first_mut() {
                if d.protocol == ProtocolId::ESP {
                    d.spis.retain(|s| *s != spi_in);
                }
            }
        }
        self.queued.retain(|q| {
            !matches!(q.first(), Some(Payload::Delete(d))
                if d.protocol == ProtocolId::ESP && d.spis.is_empty())
        });
    }

    // ---- hooks called from ike_sa.rs and informational.rs -------------------

    /// An IKE message passed the SPI checks: if it is authentic, the peer
    /// is alive. Called before the message is processed, so every exchange
    /// counts.
    pub(super) fn note_inbound_ike(
        &mut self,
        now: Instant,
        msg: &Message,
        auth: &mut Authenticity<'_>,
    ) {
        if self.state != State::Established
            || self.config.dpd.is_none()
            || msg.header.exchange == ExchangeType::IKE_SA_INIT
        {
            return;
        }
        if auth.check(self.sk.as_ref()) {
            self.peer_alive(now);
        }
    }

    /// After each message and timer round (and when a rekey creates the
    /// SA): start DPD once established, and let a queued delete past a
    /// stalled probe.
    pub(super) fn liveness_tick(&mut self, now: Instant) {
        if self.state != State::Established {
            return;
        }
        if self.liveness.last_rx.is_none() {
            // The message that established the SA was authenticated.
            self.liveness.last_rx = Some(now);
        }
        self.arm_idle_check(now);
        self.abandon_stalled_probe();
    }

    /// The retransmission timer fired. Returns true when liveness handled
    /// it: the probe's DPD timeout has come (the peer is dead, and nothing
    /// more is sent), or a probe or delete ran out of retransmissions.
    pub(super) fn liveness_on_retransmit(&mut self, now: Instant) -> bool {
        let Some(p) = self.pending.as_ref() else {
            return false;
        };
        let exhausted = p.tries >= self.config.retransmit.max_tries;
        match &p.purpose {
            Purpose::Dpd { first_sent } => {
                let Some(dpd) = self.config.dpd else {
                    return false;
                };
                if self.probe_deadline(*first_sent, dpd) <= now {
                    self.peer_dead(now, dpd);
                    return true;
                }
                // Out of retransmissions: wait silently for the timeout.
                exhausted
            }
            Purpose::DeleteIke if exhausted => {
                self.close_with_children(DeletedBy::Us);
                true
            }
            Purpose::DeleteChildren(spis) if exhausted => {
                let (spis, tries) = (spis.clone(), p.tries);
                for spi_in in spis {
                    if self.take_child(spi_in).is_some() {
                        self.events.push_back(Event::ChildSaDeleted {
                            spi_in,
                            by: DeletedBy::Us,
                        });
                    }
                }
                let peer = self.remote;
                self.fail(Failure::NoResponse { peer, tries });
                true
            }
            _ => false,
        }
    }

    /// The answer to our probe arrived.
    pub(super) fn probe_answered(&mut self, now: Instant) {
        self.liveness.suspended = false;
        self.liveness.last_rx = Some(now);
        self.timers.stop(Timer::Liveness);
        self.arm_idle_check(now);
    }

    /// The answer to our child delete arrived: the children still held are
    /// gone (those the peer's own crossing delete removed were reported
    /// then; a rekey's old ones when it queued the delete).
    pub(super) fn children_delete_answered(&mut self, spis: Vec<u32>) {
        for spi_in in spis {
            if self.take_child(spi_in).is_some() {
                self.events.push_back(Event::ChildSaDeleted {
                    spi_in,
                    by: DeletedBy::Us,
                });
            }
        }
    }

    pub(super) fn on_liveness_timer(&mut self, now: Instant) {
        let Some(dpd) = self.config.dpd else { return };
        if self.state != State::Established || self.superseded {
            return;
        }
        if let Some(first_sent) = self.outstanding_probe() {
            let deadline = self.probe_deadline(first_sent, dpd);
            if deadline <= now {
                self.peer_dead(now, dpd);
            } else {
                self.timers.set(Timer::Liveness, deadline);
            }
            return;
        }
        if self.liveness.suspended {
            return;
        }
        let idle_since = self.liveness.last_rx.unwrap_or(now);
        if now < idle_since + dpd.delay {
            self.timers.set(Timer::Liveness, idle_since + dpd.delay);
            return;
        }
        if self.pending.is_some() {
            // Another request tests the peer already; look again later.
            self.timers.set(Timer::Liveness, now + dpd.delay);
            return;
        }
        self.send_request(now, ExchangeType::INFORMATIONAL, Vec::new());
        if let Some(p) = self.pending.as_mut() {
            p.purpose = Purpose::Dpd { first_sent: now };
        }
        self.timers.set(Timer::Liveness, now + dpd.timeout);
    }

    // ---- internals -----------------------------------------------------------

    fn outstanding_probe(&self) -> Option<Instant> {
        match self.pending.as_ref()?.purpose {
            Purpose::Dpd { first_sent } => Some(first_sent),
            _ => None,
        }
    }

    /// When an unanswered probe sent at `first_sent` makes the peer dead:
    /// `timeout` after it, or after the last thing heard since.
    fn probe_deadline(&self, first_sent: Instant, dpd: Dpd) -> Instant {
        let heard = self.liveness.last_rx.filter(|t| *t > first_sent);
        heard.unwrap_or(first_sent) + dpd.timeout
    }

    /// Arms the idle check if DPD is on and nothing else is armed for it.
    fn arm_idle_check(&mut self, now: Instant) {
        let Some(dpd) = self.config.dpd else { return };
        if self.liveness.suspended
            || self.superseded
            || self.outstanding_probe().is_some()
            || self.timers.deadline(Timer::Liveness).is_some()
        {
            return;
        }
        let since = self.liveness.last_rx.unwrap_or(now);
        self.timers.set(Timer::Liveness, since + dpd.delay);
    }

    /// A queued request must not wait behind a probe that will not be sent
    /// again (peer declared dead with action `None`, or out of
    /// retransmissions while ESP still flows): abandon the probe.
    fn abandon_stalled_probe(&mut self) {
        if self.queued.is_empty() || self.outstanding_probe().is_none() {
            return;
        }
        if self.liveness.suspended || self.timers.deadline(Timer::Retransmit).is_none() {
            self.pending = None;
            self.timers.stop(Timer::Retransmit);
        }
    }

    /// Something authenticated came from the peer.
    fn peer_alive(&mut self, now: Instant) {
        self.liveness.last_rx = Some(now);
        if self.liveness.suspended {
            self.resume(now);
        }
    }

    /// Traffic resumed after the peer was declared dead with action `None`:
    /// send the stalled probe once more, as a new probe.
    fn resume(&mut self, now: Instant) {
        self.liveness.suspended = false;
        let Some(dpd) = self.config.dpd else { return };
        match self.pending.as_mut() {
            Some(p) if matches!(p.purpose, Purpose::Dpd { .. }) => {
                p.tries = 1;
                p.purpose = Purpose::Dpd { first_sent: now };
                for d in &p.datagrams {
                    let t = Transmit {
                        local: self.local,
                        remote: self.remote,
                        payload: d.clone(),
                    };
                    self.transmits.push_back(t);
                }
                self.timers
                    .set(Timer::Retransmit, now + self.config.retransmit.interval(1));
                self.timers.set(Timer::Liveness, now + dpd.timeout);
            }
            _ => {
                self.timers.stop(Timer::Liveness);
                self.arm_idle_check(now);
            }
        }
    }

    /// No answer within the DPD timeout.
    fn peer_dead(&mut self, now: Instant, dpd: Dpd) {
        let retransmits = match self.pending.as_ref() {
            Some(p) if matches!(p.purpose, Purpose::Dpd { .. }) => p.tries.saturating_sub(1),
            _ => 0,
        };
        self.events.push_back(Event::DpdTimeout {
            action: dpd.action,
            retransmits,
        });
        match dpd.action {
            DpdAction::Clear => self.close_with_children(DeletedBy::Us),
            DpdAction::Restart => {
                self.close_with_children(DeletedBy::Us);
                self.restart(now);
            }
            DpdAction::None => {
                // Keep the probe outstanding (message IDs stay in step) but
                // stop sending it.
                self.liveness.suspended = true;
                self.timers.stop(Timer::Retransmit);
                self.timers.stop(Timer::Liveness);
            }
        }
    }

    /// Becomes a fresh initiator to the same peer, keeping what was queued
    /// for the driver, the counters and the random stream.
    fn restart(&mut self, now: Instant) {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let mut local = self.local;
        let mut remote = self.remote;
        local.set_port(self.config.ike_port);
        remote.set_port(self.config.ike_port);
        let mut fresh = IkeSa::initiate(self.config.clone(), local, remote, now, seed);
        let mut transmits = std::mem::take(&mut self.transmits);
        transmits.append(&mut fresh.transmits);
        let mut events = std::mem::take(&mut self.events);
        events.append(&mut fresh.events);
        fresh.transmits = transmits;
        fresh.events = events;
        fresh.stats = self.stats;
        *self = fresh;
    }
}

#[cfg(test)]
mod tests {
    //! The answers' contents, opened with the peer's keys.

    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Instant;

    use super::super::config::IkeConfig;
    use super::super::event::{DeletedBy, Event};
    use super::super::ike_sa::{IkeSa, State};
    use super::super::proposal::{EspProposal, IkeProposal};
    use crate::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
    use crate::wire::{Delete, ExchangeType, Message, Payload, ProtocolId};

    fn config() -> Arc<IkeConfig> {
        let encr = EncrAlg::AesCbc { key_bits: 128 };
        Arc::new(IkeConfig::new(
            Secret::from_slice(b"shared-secret-0123456789"),
            vec![IkeProposal {
                encr: vec![encr],
                prf: vec![PrfAlg::HmacSha256],
                integ: vec![IntegAlg::HmacSha256_128],
                dh: vec![DhGroup::Ecp256],
            }],
            vec![EspProposal {
                encr: vec![encr],
                integ: vec![IntegAlg::HmacSha256_128],
                dh: Vec::new(),
            }],
        ))
    }

    /// Moves datagrams between the two until both are quiet; returns the
    /// last datagram `b` sent to `a`.
    fn pump(now: Instant, a: &mut IkeSa, b: &mut IkeSa) -> Option<Vec<u8>> {
        let mut last = None;
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                moved = true;
                b.handle_message(now, t.remote, t.local, &t.payload);
            }
            while let Some(t) = b.poll_transmit() {
                moved = true;
                a.handle_message(now, t.remote, t.local, &t.payload);
                last = Some(t.payload);
            }
            if !moved {
                return last;
            }
        }
    }

    fn established() -> (Instant, IkeSa, IkeSa) {
        let now = Instant::now();
        let a: SocketAddr = "192.0.2.10:500".parse().unwrap();
        let b: SocketAddr = "198.51.100.10:500".parse().unwrap();
        let mut i = IkeSa::initiate(config(), a, b, now, [1; 32]);
        let t = i.poll_transmit().unwrap();
        let mut r = IkeSa::accept(config(), b, a, &t.payload, now, [2; 32]).unwrap();
        pump(now, &mut r, &mut i);
        assert_eq!(i.state(), State::Established);
        assert_eq!(r.state(), State::Established);
        while i.poll_event().is_some() {}
        while r.poll_event().is_some() {}
        (now, i, r)
    }

    /// The responder sends `payloads` in an INFORMATIONAL request; returns
    /// the initiator's answer, opened.
    fn ask(now: Instant, i: &mut IkeSa, r: &mut IkeSa, payloads: Vec<Payload>) -> Vec<Payload> {
        r.send_request(now, ExchangeType::INFORMATIONAL, payloads);
        let answer = pump(now, r, i).expect("answered");
        let msg = Message::parse(&answer).unwrap();
        assert!(msg.header.flags.response);
        r.sk.as_ref().unwrap().open(&answer, &msg).unwrap()
    }

    fn esp_delete(spi: u32) -> Vec<Payload> {
        vec![Payload::Delete(Delete {
            protocol: ProtocolId::ESP,
            spis: vec![spi],
        })]
    }

    #[test]
    fn esp_delete_of_an_unknown_spi_is_answered_empty() {
        let (now, mut i, mut r) = established();
        assert!(ask(now, &mut i, &mut r, esp_delete(0x1234_5678)).is_empty());
        assert!(i.poll_event().is_none());
        assert_eq!(i.children.len(), 1);
    }

    #[test]
    fn esp_delete_is_answered_with_our_inbound_spi_of_the_pair() {
        let (now, mut i, mut r) = established();
        let ours = i.children[0].clone();
        // The peer names its inbound SPI, which is our outbound one.
        let answer = ask(now, &mut i, &mut r, esp_delete(ours.spi_out));
        assert_eq!(answer, esp_delete(ours.spi_in));
        assert_eq!(
            i.poll_event(),
            Some(Event::ChildSaDeleted {
                spi_in: ours.spi_in,
                by: DeletedBy::Peer
            })
        );
        assert!(i.children.is_empty());
        assert_eq!(i.state(), State::Established);
    }

    #[test]
    fn ike_delete_is_answered_empty_and_closes() {
        let (now, mut i, mut r) = established();
        let ours = i.children[0].clone();
        let ike = vec![Payload::Delete(Delete {
            protocol: ProtocolId::IKE,
            spis: Vec::new(),
        })];
        assert!(ask(now, &mut i, &mut r, ike).is_empty());
        let events: Vec<_> = std::iter::from_fn(|| i.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                Event::ChildSaDeleted {
                    spi_in: ours.spi_in,
                    by: DeletedBy::Peer
                },
                Event::IkeSaClosed {
                    by: DeletedBy::Peer
                }
            ]
        );
        assert!(i.is_closed());
    }

    #[test]
    fn our_child_delete_names_our_inbound_spi() {
        let (now, mut i, r) = established();
        let ours = i.children[0].clone();
        i.delete_child(now, ours.spi_in).unwrap();
        let t = i.poll_transmit().unwrap();
        let msg = Message::parse(&t.payload).unwrap();
        let inner = r.sk.as_ref().unwrap().open(&t.payload, &msg).unwrap();
        assert_eq!(inner, esp_delete(ours.spi_in));
    }
}
