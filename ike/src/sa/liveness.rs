//! Liveness (RFC 7296 2.4) and our own deletes (1.4.1).
//!
//! Dead peer detection: an Established IKE SA remembers when it last
//! received something authenticated from the peer (an IKE message whose
//! integrity checks, or inbound ESP the data plane reports through
//! [`IkeSa::note_inbound_esp`]). After [`Dpd::delay`] of silence it sends an
//! empty INFORMATIONAL request, retransmitted with the usual backoff. If
//! neither the answer nor anything else authenticated arrives within
//! [`Dpd::timeout`] of that first probe, the peer is dead:
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
//! No probe is sent while another request is outstanding: that request's
//! own retransmissions test the peer. If the probe's retransmissions run out
//! before the timeout, the SA waits silently for the timeout.
//!
//! Deletes: [`IkeSa::delete_child`] and [`IkeSa::delete_ike`] queue an
//! INFORMATIONAL request with a Delete payload (sent as soon as no other
//! request is outstanding); the answer removes the state and reports
//! [`Event::ChildSaDeleted`] / [`Event::IkeSaClosed`] with [`DeletedBy::Us`].
//! A delete the peer never answers takes effect anyway when its
//! retransmissions run out (for a child SA the IKE SA then fails with
//! `NoResponse`: the peer is unreachable, RFC 7296 2.4).

use std::collections::VecDeque;
use std::time::Instant;

use rand_core::RngCore;

use super::config::{Dpd, DpdAction};
use super::event::{DeletedBy, Event, Failure};
use super::ike_sa::{ChildState, IkeSa, State, Transmit};
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

/// What one of our deletes removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeleteWhat {
    /// The child SA with this inbound SPI.
    Child(u32),
    /// The IKE SA (and its children).
    Ike,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnKind {
    /// A liveness check first sent at this time.
    Probe {
        first_sent: Instant,
    },
    Delete(DeleteWhat),
}

/// One of our INFORMATIONAL requests, while outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OwnRequest {
    pub message_id: u32,
    pub kind: OwnKind,
}

/// Liveness state of an IKE SA.
#[derive(Debug, Default)]
pub(super) struct Liveness {
    /// When something authenticated last came from the peer (IKE or ESP).
    pub last_rx: Option<Instant>,
    /// Our outstanding probe or delete.
    pub request: Option<OwnRequest>,
    /// Deletes waiting for the request window.
    pub queued: VecDeque<DeleteWhat>,
    /// The peer was declared dead with action `None`: no probing until
    /// traffic resumes.
    pub suspended: bool,
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
        self.child_spis_in().contains(&spi_in)
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
        let what = DeleteWhat::Child(spi_in);
        let outstanding = self
            .liveness
            .request
            .is_some_and(|r| r.kind == OwnKind::Delete(what));
        if !outstanding && !self.liveness.queued.contains(&what) {
            self.liveness.queued.push_back(what);
        }
        self.flush_deletes(now);
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
                let outstanding = self
                    .liveness
                    .request
                    .is_some_and(|r| r.kind == OwnKind::Delete(DeleteWhat::Ike));
                if !outstanding && !self.liveness.queued.contains(&DeleteWhat::Ike) {
                    // The IKE SA delete goes first: it ends everything else.
                    self.liveness.queued.push_front(DeleteWhat::Ike);
                }
                self.flush_deletes(now);
                Ok(())
            }
            _ => {
                self.close_with_children(DeletedBy::Us);
                Ok(())
            }
        }
    }

    // ---- child SA bookkeeping (the only place that knows how children are
    // stored) -------------------------------------------------------------

    pub(super) fn child_spis_in(&self) -> Vec<u32> {
        self.child.iter().map(|c| c.spi_in).collect()
    }

    pub(super) fn child_by_spi_out(&self, spi_out: u32) -> Option<ChildState> {
        self.child.filter(|c| c.spi_out == spi_out)
    }

    pub(super) fn take_child(&mut self, spi_in: u32) -> Option<ChildState> {
        if self.child.is_some_and(|c| c.spi_in == spi_in) {
            self.child.take()
        } else {
            None
        }
    }

    /// Reports every child deleted, then the IKE SA closed, and closes.
    pub(super) fn close_with_children(&mut self, by: DeletedBy) {
        for spi_in in self.child_spis_in() {
            self.events.push_back(Event::ChildSaDeleted { spi_in, by });
        }
        self.events.push_back(Event::IkeSaClosed { by });
        self.close();
    }

    // ---- hooks called from ike_sa.rs ---------------------------------------

    /// An IKE message passed the SPI checks: if it is authentic, the peer
    /// is alive. Called before the message is processed (its handler opens
    /// it again; IKE messages are few, and this way every exchange counts).
    pub(super) fn note_inbound_ike(&mut self, now: Instant, raw: &[u8], msg: &Message) {
        if self.state != State::Established
            || self.config.dpd.is_none()
            || msg.header.exchange == ExchangeType::IKE_SA_INIT
        {
            return;
        }
        if self.sk.as_ref().is_some_and(|sk| sk.open(raw, msg).is_ok()) {
            self.peer_alive(now);
        }
    }

    /// After any message: start DPD once established, and send a queued
    /// delete if the request window is free.
    pub(super) fn after_message(&mut self, now: Instant) {
        if self.state != State::Established {
            return;
        }
        if self.liveness.last_rx.is_none() {
            // The message that established the SA was authenticated.
            self.liveness.last_rx = Some(now);
        }
        self.arm_idle_check(now);
        self.flush_deletes(now);
    }

    /// The retransmission timer fired. Returns true when liveness handled
    /// it: the probe's DPD timeout has come (the peer is dead, and nothing
    /// more is sent), or one of our requests ran out of retransmissions.
    pub(super) fn liveness_on_retransmit(&mut self, now: Instant) -> bool {
        let Some(p) = self.pending.as_ref() else {
            return false;
        };
        let Some(req) = self
            .liveness
            .request
            .filter(|r| r.message_id == p.message_id)
        else {
            return false;
        };
        let exhausted = p.tries >= self.config.retransmit.max_tries;
        match req.kind {
            OwnKind::Probe { first_sent } => {
                let Some(dpd) = self.config.dpd else {
                    return false;
                };
                if self.probe_deadline(first_sent, dpd) <= now {
                    self.peer_dead(now, dpd);
                    return true;
                }
                // Out of retransmissions: wait silently for the timeout.
                exhausted
            }
            OwnKind::Delete(_) if !exhausted => false,
            OwnKind::Delete(DeleteWhat::Ike) => {
                self.close_with_children(DeletedBy::Us);
                true
            }
            OwnKind::Delete(DeleteWhat::Child(spi_in)) => {
                let tries = p.tries;
                self.liveness.request = None;
                if self.take_child(spi_in).is_some() {
                    self.events.push_back(Event::ChildSaDeleted {
                        spi_in,
                        by: DeletedBy::Us,
                    });
                }
                let peer = self.remote;
                self.fail(Failure::NoResponse { peer, tries });
                true
            }
        }
    }

    /// The answer to one of our INFORMATIONAL requests arrived (already
    /// authenticated, `request_answered` done).
    pub(super) fn own_request_answered(&mut self, now: Instant, message_id: u32) {
        let Some(req) = self.liveness.request.filter(|r| r.message_id == message_id) else {
            return;
        };
        self.liveness.request = None;
        match req.kind {
            OwnKind::Probe { .. } => {
                self.liveness.suspended = false;
                self.liveness.last_rx = Some(now);
                self.timers.stop(Timer::Liveness);
                self.arm_idle_check(now);
            }
            OwnKind::Delete(DeleteWhat::Ike) => self.close_with_children(DeletedBy::Us),
            OwnKind::Delete(DeleteWhat::Child(spi_in)) => {
                // Already gone if the peer's own delete crossed ours.
                if self.take_child(spi_in).is_some() {
                    self.events.push_back(Event::ChildSaDeleted {
                        spi_in,
                        by: DeletedBy::Us,
                    });
                }
            }
        }
    }

    /// Whether our delete of the child with `spi_in` is on the wire (for
    /// crossing deletes, RFC 7296 1.4.1).
    pub(super) fn deleting_child(&self, spi_in: u32) -> bool {
        self.liveness
            .request
            .is_some_and(|r| r.kind == OwnKind::Delete(DeleteWhat::Child(spi_in)))
    }

    /// Forgets a queued (not yet sent) delete of a child the peer removed.
    pub(super) fn unqueue_child_delete(&mut self, spi_in: u32) {
        self.liveness
            .queued
            .retain(|w| *w != DeleteWhat::Child(spi_in));
    }

    pub(super) fn on_liveness_timer(&mut self, now: Instant) {
        let Some(dpd) = self.config.dpd else { return };
        if self.state != State::Established {
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
        let message_id = self.pending.as_ref().map_or(0, |p| p.message_id);
        self.liveness.request = Some(OwnRequest {
            message_id,
            kind: OwnKind::Probe { first_sent: now },
        });
        self.timers.set(Timer::Liveness, now + dpd.timeout);
    }

    // ---- internals -----------------------------------------------------------

    fn outstanding_probe(&self) -> Option<Instant> {
        match self.liveness.request?.kind {
            OwnKind::Probe { first_sent } => Some(first_sent),
            OwnKind::Delete(_) => None,
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
            || self.outstanding_probe().is_some()
            || self.timers.deadline(Timer::Liveness).is_some()
        {
            return;
        }
        let since = self.liveness.last_rx.unwrap_or(now);
        self.timers.set(Timer::Liveness, since + dpd.delay);
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
        let probe = self
            .liveness
            .request
            .filter(|r| matches!(r.kind, OwnKind::Probe { .. }));
        match (probe, self.pending.as_mut()) {
            (Some(mut r), Some(p)) if p.message_id == r.message_id => {
                p.tries = 1;
                let t = Transmit {
                    local: self.local,
                    remote: self.remote,
                    payload: p.datagram.clone(),
                };
                self.transmits.push_back(t);
                self.timers
                    .set(Timer::Retransmit, now + self.config.retransmit.interval(1));
                r.kind = OwnKind::Probe { first_sent: now };
                self.liveness.request = Some(r);
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
        let retransmits = match (self.pending.as_ref(), self.liveness.request) {
            (Some(p), Some(r)) if p.message_id == r.message_id => p.tries.saturating_sub(1),
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

    /// Sends the next queued delete if no request is outstanding. A stalled
    /// probe (peer declared dead with action `None`, or out of
    /// retransmissions while ESP still flows) is abandoned for it.
    fn flush_deletes(&mut self, now: Instant) {
        if self.state != State::Established || self.liveness.queued.is_empty() {
            return;
        }
        if self.pending.is_some() {
            let stalled = self.outstanding_probe().is_some()
                && (self.liveness.suspended || self.timers.deadline(Timer::Retransmit).is_none());
            if !stalled {
                return;
            }
            self.pending = None;
            self.liveness.request = None;
            self.timers.stop(Timer::Retransmit);
        }
        while let Some(what) = self.liveness.queued.pop_front() {
            let delete = match what {
                DeleteWhat::Ike => Delete {
                    protocol: ProtocolId::IKE,
                    spis: Vec::new(),
                },
                DeleteWhat::Child(spi_in) if self.has_child(spi_in) => Delete {
                    protocol: ProtocolId::ESP,
                    spis: vec![spi_in],
                },
                DeleteWhat::Child(_) => continue,
            };
            self.send_request(
                now,
                ExchangeType::INFORMATIONAL,
                vec![Payload::Delete(delete)],
            );
            let message_id = self.pending.as_ref().map_or(0, |p| p.message_id);
            self.liveness.request = Some(OwnRequest {
                message_id,
                kind: OwnKind::Delete(what),
            });
            return;
        }
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
        assert!(i.child.is_some());
    }

    #[test]
    fn esp_delete_is_answered_with_our_inbound_spi_of_the_pair() {
        let (now, mut i, mut r) = established();
        let ours = i.child.unwrap();
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
        assert!(i.child.is_none());
        assert_eq!(i.state(), State::Established);
    }

    #[test]
    fn ike_delete_is_answered_empty_and_closes() {
        let (now, mut i, mut r) = established();
        let ours = i.child.unwrap();
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
        let ours = i.child.unwrap();
        i.delete_child(now, ours.spi_in).unwrap();
        let t = i.poll_transmit().unwrap();
        let msg = Message::parse(&t.payload).unwrap();
        let inner = r.sk.as_ref().unwrap().open(&t.payload, &msg).unwrap();
        assert_eq!(inner, esp_delete(ours.spi_in));
    }
}
