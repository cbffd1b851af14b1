//! An IKEv1-only tunnel's initiator, as far as cgw-sim plays one: it sends
//! the first Main Mode message ([`ike::ikev1::MainModeFirst`]) and
//! retransmits it on the IKE retransmission schedule, and recognises an
//! IKEv2 peer's INVALID_MAJOR_VERSION answer (RFC 7296 2.5). There is no
//! IKEv1 negotiation beyond that: against an IKEv2-only AWS tunnel the
//! first message is all that ever happens.
//!
//! The attempt ends at the first answer: INVALID_MAJOR_VERSION proves the
//! peer is alive and speaks only IKEv2, so retransmitting would only draw
//! the same answer (a real IKEv1 device logs "unsupported ISAKMP version
//! 2.0" and gives up or retries much later). With no answer it ends after
//! the schedule's last try, as an IKEv2 initiator would.

use std::time::Instant;

use ike::ikev1::{MainModeFirst, Suite};
use ike::sa::Retransmit;
use ike::wire::{HeaderView, Message, NotifyType, Payload};

/// What a timeout or an answer did to the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum V1Outcome {
    /// Send this datagram again.
    Resend(Vec<u8>),
    /// Nothing answered after this many transmissions.
    NoResponse(u32),
    /// The peer answered with INVALID_MAJOR_VERSION from this major version.
    VersionRefused(u8),
}

/// One IKEv1 Main Mode attempt.
#[derive(Debug, Clone)]
pub(super) struct V1Attempt {
    cookie: u64,
    datagram: Vec<u8>,
    tries: u32,
    next: Instant,
    schedule: Retransmit,
}

impl V1Attempt {
    /// Starts an attempt at `now`; returns it and the first datagram, or
    /// why it cannot be built.
    pub(super) fn start(
        now: Instant,
        cookie: u64,
        suites: &[Suite],
        schedule: Retransmit,
    ) -> Result<(V1Attempt, Vec<u8>), ike::ikev1::Ikev1Error> {
        let datagram = MainModeFirst {
            cookie_i: cookie,
            suites: suites.to_vec(),
        }
        .emit()?;
        let a = V1Attempt {
            cookie,
            datagram: datagram.clone(),
            tries: 1,
            next: now + schedule.interval(1),
            schedule,
        };
        Ok((a, datagram))
    }

    /// When the attempt next wants to be woken.
    pub(super) fn deadline(&self) -> Instant {
        self.next
    }

    /// Runs the retransmission timer, if due.
    pub(super) fn on_timeout(&mut self, now: Instant) -> Option<V1Outcome> {
        if now < self.next {
            return None;
        }
        if self.tries >= self.schedule.max_tries {
            return Some(V1Outcome::NoResponse(self.tries));
        }
        self.tries += 1;
        self.next = now + self.schedule.interval(self.tries);
        Some(V1Outcome::Resend(self.datagram.clone()))
    }

    /// A datagram from the peer's IKE port: `Some` if it answers this
    /// attempt with INVALID_MAJOR_VERSION (an IKEv2 header copying our
    /// cookie as the initiator SPI, with that notify).
    pub(super) fn on_datagram(&self, datagram: &[u8]) -> Option<V1Outcome> {
        let h = HeaderView::new_checked(datagram).ok()?;
        if h.major_version() == ike::ikev1::MAJOR_VERSION || h.spi_i() != self.cookie {
            return None;
        }
        let m = Message::parse(datagram).ok()?;
        m.payloads
            .iter()
            .any(|p| matches!(p, Payload::Notify(n) if n.kind == NotifyType::INVALID_MAJOR_VERSION))
            .then_some(V1Outcome::VersionRefused(h.major_version()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ike::ikev1::{Cipher, Hash};
    use std::time::Duration;

    fn suites() -> Vec<Suite> {
        vec![Suite {
            cipher: Cipher::AesCbc(128),
            hash: Hash::Sha1,
            group: 2,
            lifetime_secs: 28800,
        }]
    }

    #[test]
    fn retransmits_on_the_schedule_then_gives_up() {
        let t0 = Instant::now();
        let sched = Retransmit::default();
        let (mut a, first) = V1Attempt::start(t0, 42, &suites(), sched).unwrap();
        assert_eq!(MainModeFirst::parse(&first).unwrap().cookie_i, 42);
        assert_eq!(a.on_timeout(t0 + Duration::from_secs(1)), None);
        let mut resent = 0;
        let at = loop {
            let at = a.deadline();
            match a.on_timeout(at) {
                Some(V1Outcome::Resend(d)) => {
                    assert_eq!(d, first);
                    resent += 1;
                }
                Some(V1Outcome::NoResponse(n)) => {
                    assert_eq!(n, sched.max_tries);
                    break at;
                }
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(resent, sched.max_tries - 1);
        // 2 + 4 + 8 + 16 + 32 s.
        assert_eq!(at - t0, Duration::from_secs(62));
    }

    #[test]
    fn recognises_only_its_own_refusal() {
        let t0 = Instant::now();
        let (a, first) = V1Attempt::start(t0, 42, &suites(), Retransmit::default()).unwrap();
        // Its own datagram (version 1) is no answer.
        assert_eq!(a.on_datagram(&first), None);
        let mut ep = ike::sa::Endpoint::new(
            Some(std::sync::Arc::new(ike::sa::IkeConfig::new(
                ike::crypto::Secret::new(b"x".to_vec()),
                crate::aws::aws_ike_proposals(),
                crate::aws::aws_esp_proposals(&[ike::crypto::DhGroup::Modp2048]),
            ))),
            [1; 32],
        );
        let l = "198.51.100.10:500".parse().unwrap();
        let r = "192.0.2.10:500".parse().unwrap();
        ep.handle_datagram(t0, l, r, &first);
        let answer = ep.poll_transmit().unwrap().payload;
        assert_eq!(a.on_datagram(&answer), Some(V1Outcome::VersionRefused(2)));
        // Another attempt's answer is not ours.
        let (b, _) = V1Attempt::start(t0, 43, &suites(), Retransmit::default()).unwrap();
        assert_eq!(b.on_datagram(&answer), None);
    }
}
