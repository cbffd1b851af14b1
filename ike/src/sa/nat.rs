//! NAT traversal beyond encapsulation (RFC 7296 2.23, RFC 3948 2.3): NAT
//! keepalives from the side behind the NAT, and following the peer when its
//! NAT mapping changes. Detection and the float to port 4500 are in
//! `exchange_init.rs`; the framing of port 4500 in `crate::natt`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::event::Event;
use super::ike_sa::{Authenticity, IkeSa, State, Transmit};
use super::timer::Timer;
use crate::wire::{ExchangeType, Message};

/// A NAT keepalive: one byte 0xFF in UDP to the peer's NAT-T port.
pub const KEEPALIVE: [u8; 1] = [0xff];

impl IkeSa {
    /// The keepalive interval, when keepalives are due from us: we are
    /// behind a NAT (detected or pretended), on the NAT-T port, and alive.
    fn keepalive_interval(&self) -> Option<Duration> {
        if self.state == State::Closed || !self.encap || !self.nat.local_behind_nat {
            return None;
        }
        self.config.natt_keepalive.filter(|d| !d.is_zero())
    }

    /// A datagram to the peer just left: the next keepalive is due one
    /// interval of silence from now.
    pub(super) fn on_sent(&mut self) {
        if let (Some(now), Some(iv)) = (self.last_now, self.keepalive_interval()) {
            self.timers.set(Timer::NatKeepalive, now + iv);
        }
    }

    /// Tells the IKE SA that the data plane sent something to the peer (an
    /// ESP packet) at `now`, so that no keepalive is needed before one
    /// interval has passed (RFC 3948 2.3).
    pub fn note_traffic_sent(&mut self, now: Instant) {
        if self.last_now.is_none_or(|t| t <= now) {
            self.last_now = Some(now);
        }
        self.on_sent();
    }

    /// Sends an empty INFORMATIONAL request (a liveness check), e.g. to
    /// refresh or re-announce our NAT mapping: the peer, if it sees us
    /// behind a NAT, follows the address it arrives from. Returns `false`
    /// (and sends nothing) unless the IKE SA is established with no request
    /// outstanding.
    pub fn ping_peer(&mut self, now: Instant) -> bool {
        if self.state != State::Established || self.pending.is_some() {
            return false;
        }
        self.send_request(now, ExchangeType::INFORMATIONAL, Vec::new());
        true
    }

    pub(super) fn on_keepalive_timer(&mut self, now: Instant) {
        let Some(iv) = self.keepalive_interval() else {
            return;
        };
        self.transmits.push_back(Transmit {
            local: self.local,
            remote: self.remote,
            payload: KEEPALIVE.to_vec(),
        });
        self.stats.keepalives_sent += 1;
        // Re-armed again when it is polled; armed here in case it is not.
        self.timers.set(Timer::NatKeepalive, now + iv);
    }

    /// RFC 7296 2.23: when the peer is behind a NAT, an authenticated
    /// message from another address or port means its mapping changed; we
    /// send everything (IKE and encapsulated ESP) there from now on. Only a
    /// message that passes the integrity check, and is not older than the
    /// latest one we have seen (a new request, the latest request
    /// retransmitted, or the answer to our outstanding request), moves us;
    /// anything else from a new address changes nothing.
    pub(super) fn follow_peer_address(
        &mut self,
        remote: SocketAddr,
        msg: &Message,
        auth: &mut Authenticity<'_>,
    ) {
        if remote == self.remote
            || !self.nat.remote_behind_nat
            || self.state != State::Established
            || remote.is_ipv4() != self.remote.is_ipv4()
        {
            return;
        }
        let h = &msg.header;
        let recent = if h.flags.response {
            self.pending
                .as_ref()
                .is_some_and(|p| p.message_id == h.message_id && p.exchange == h.exchange)
        } else {
            h.message_id == self.next_peer_request_id
                || self
                    .last_response
                    .as_ref()
                    .is_some_and(|(id, _)| *id == h.message_id)
        };
        if !recent {
            return;
        }
        if !auth.check(self.sk.as_ref()) {
            return;
        }
        let old = self.remote;
        self.remote = remote;
        self.stats.peer_address_changes += 1;
        self.events
            .push_back(Event::PeerAddressChanged { old, new: remote });
    }
}
