//! Stateless cookies (RFC 7296 2.6): how a responder under a flood of
//! IKE_SA_INIT requests makes the initiator prove it can receive at its
//! address before any state is kept.
//!
//! Cookie = VersionIDofSecret | SHA-256(Ni | IPi | SPIi | secret). The
//! secret comes from the endpoint's seeded generator and is replaced every
//! `cookie_secret_lifetime`; cookies made with the previous secret stay
//! valid for one more period, so an initiator caught by a rotation still
//! gets through.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use rand_core::RngCore;
use subtle::ConstantTimeEq;

use super::ike_sa::Transmit;
use crate::crypto::Secret;
use crate::natt::NON_ESP_MARKER;
use crate::wire::{
    ExchangeType, Flags, Header, Message, Notify, NotifyType, Payload, PayloadType, ProtocolId,
};

/// Length of a cookie: 4 bytes of secret version and a SHA-256 digest.
pub const COOKIE_LEN: usize = 4 + 32;

/// Counters of the endpoint's admission control.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// IKE_SA_INIT requests answered with a COOKIE instead of state.
    pub cookies_sent: u64,
    /// Requests whose COOKIE verified (accepted while cookies were demanded).
    pub cookies_accepted: u64,
    /// Requests whose COOKIE did not verify (answered with a fresh one).
    pub invalid_cookies: u64,
    /// Requests dropped because the half-open limit was reached.
    pub dropped_half_open_limit: u64,
    /// The most half-open IKE SAs held at once.
    pub half_open_peak: u64,
    /// Messages with an IKE major version other than 2, dropped.
    pub unsupported_version: u64,
    /// INVALID_MAJOR_VERSION notifications sent in answer to them.
    pub invalid_major_version_sent: u64,
}

struct Version {
    id: u32,
    secret: Secret,
}

/// The responder's cookie secrets: the current one and the previous one.
pub(super) struct CookieJar {
    current: Version,
    previous: Option<Version>,
    since: Instant,
}

impl CookieJar {
    pub(super) fn new(now: Instant, rng: &mut impl RngCore) -> CookieJar {
        CookieJar {
            current: Version {
                id: rng.next_u32(),
                secret: fresh_secret(rng),
            },
            previous: None,
            since: now,
        }
    }

    /// Replaces the secret when `lifetime` has passed; after two lifetimes
    /// without a rotation the previous secret is forgotten as well.
    pub(super) fn rotate(&mut self, now: Instant, lifetime: Duration, rng: &mut impl RngCore) {
        let age = now.saturating_duration_since(self.since);
        if age < lifetime {
            return;
        }
        let next = Version {
            id: self.current.id.wrapping_add(1),
            secret: fresh_secret(rng),
        };
        let old = core::mem::replace(&mut self.current, next);
        self.previous = (age < lifetime.saturating_mul(2)).then_some(old);
        self.since = now;
    }

    /// The cookie for this initiator, with the current secret.
    pub(super) fn make(&self, ni: &[u8], ip: IpAddr, spi_i: u64) -> Vec<u8> {
        compute(&self.current, ni, ip, spi_i)
    }

    /// Whether `cookie` was made by us (current or previous secret) for
    /// this initiator.
    pub(super) fn verify(&self, cookie: &[u8], ni: &[u8], ip: IpAddr, spi_i: u64) -> bool {
        let [a, b, c, d, ..] = cookie else {
            return false;
        };
        let id = u32::from_be_bytes([*a, *b, *c, *d]);
        let v = if id == self.current.id {
            &self.current
        } else {
            match &self.previous {
                Some(p) if p.id == id => p,
                _ => return false,
            }
        };
        compute(v, ni, ip, spi_i).ct_eq(cookie).into()
    }
}

fn fresh_secret(rng: &mut impl RngCore) -> Secret {
    let mut s = vec![0u8; 32];
    rng.fill_bytes(&mut s);
    Secret::new(s)
}

fn compute(v: &Version, ni: &[u8], ip: IpAddr, spi_i: u64) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(ni);
    match ip {
        IpAddr::V4(a) => ctx.update(&a.octets()),
        IpAddr::V6(a) => ctx.update(&a.octets()),
    }
    ctx.update(&spi_i.to_be_bytes());
    ctx.update(v.secret.expose());
    let mut out = Vec::with_capacity(COOKIE_LEN);
    out.extend_from_slice(&v.id.to_be_bytes());
    out.extend_from_slice(ctx.finish().as_ref());
    out
}

/// What an initial IKE_SA_INIT request says about cookies.
pub(super) struct InitRequest<'a> {
    pub spi_i: u64,
    pub ni: &'a [u8],
    /// The COOKIE notify's data, if it is the first payload.
    pub cookie: Option<&'a [u8]>,
}

impl<'a> InitRequest<'a> {
    /// Reads SPIi, Ni and a leading COOKIE from a parsed request; `None`
    /// without a Nonce payload.
    pub(super) fn read(msg: &'a Message) -> Option<InitRequest<'a>> {
        let ni = msg.payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) => Some(n.0.as_slice()),
            _ => None,
        })?;
        let cookie = match msg.payloads.first() {
            Some(Payload::Notify(n)) if n.kind == NotifyType::COOKIE => Some(n.data.as_slice()),
            _ => None,
        };
        Some(InitRequest {
            spi_i: msg.header.spi_i,
            ni,
            cookie,
        })
    }
}

/// The stateless answer: an IKE_SA_INIT response holding only N(COOKIE),
/// framed for the port it goes out on.
pub(super) fn cookie_response(
    local: SocketAddr,
    remote: SocketAddr,
    spi_i: u64,
    cookie: Vec<u8>,
    natt: bool,
) -> Transmit {
    let to = (spi_i, ExchangeType::IKE_SA_INIT, 0);
    stateless_notify(local, remote, to, NotifyType::COOKIE, cookie, natt)
}

/// An unauthenticated response holding only one notify, made without any
/// state: `to` is the request's (initiator SPI, exchange type, message
/// ID), copied into the response as RFC 7296 1.5 says; the responder SPI
/// is zero. Framed for the port it goes out on.
pub(super) fn stateless_notify(
    local: SocketAddr,
    remote: SocketAddr,
    to: (u64, ExchangeType, u32),
    kind: NotifyType,
    data: Vec<u8>,
    natt: bool,
) -> Transmit {
    let (spi_i, exchange, message_id) = to;
    let header = Header {
        spi_i,
        spi_r: 0,
        next_payload: PayloadType::NONE,
        major_version: 2,
        minor_version: 0,
        exchange,
        flags: Flags {
            initiator: false,
            version: false,
            response: true,
        },
        message_id,
        length: 0,
    };
    let message = Message {
        header,
        payloads: vec![Payload::Notify(Notify {
            protocol: ProtocolId(0),
            spi: Vec::new(),
            kind,
            data,
        })],
    }
    .emit();
    let payload = if natt {
        let mut d = NON_ESP_MARKER.to_vec();
        d.extend_from_slice(&message);
        d
    } else {
        message
    };
    Transmit {
        local,
        remote,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn cookies_bind_initiator_and_rotate() {
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        let t0 = Instant::now();
        let life = Duration::from_secs(60);
        let mut jar = CookieJar::new(t0, &mut rng);
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        let c = jar.make(b"nonce-nonce-nonce", ip, 7);
        assert_eq!(c.len(), COOKIE_LEN);
        assert!(jar.verify(&c, b"nonce-nonce-nonce", ip, 7));
        assert!(!jar.verify(&c, b"nonce-nonce-nonce", ip, 8));
        assert!(!jar.verify(&c, b"nonce-nonce-noncf", ip, 7));
        assert!(!jar.verify(&c, b"nonce-nonce-nonce", "192.0.2.11".parse().unwrap(), 7));
        assert!(!jar.verify(&c[..20], b"nonce-nonce-nonce", ip, 7));
        assert!(!jar.verify(&[], b"nonce-nonce-nonce", ip, 7));
        let mut forged = c.clone();
        forged[10] ^= 1;
        assert!(!jar.verify(&forged, b"nonce-nonce-nonce", ip, 7));
        // One rotation: the old cookie still verifies, a new one differs.
        jar.rotate(t0 + life, life, &mut rng);
        assert!(jar.verify(&c, b"nonce-nonce-nonce", ip, 7));
        let c2 = jar.make(b"nonce-nonce-nonce", ip, 7);
        assert_ne!(c, c2);
        // Not yet due: nothing changes.
        jar.rotate(t0 + life + Duration::from_secs(1), life, &mut rng);
        assert!(jar.verify(&c, b"nonce-nonce-nonce", ip, 7));
        // A second rotation: the first secret is gone.
        jar.rotate(t0 + life * 2, life, &mut rng);
        assert!(!jar.verify(&c, b"nonce-nonce-nonce", ip, 7));
        assert!(jar.verify(&c2, b"nonce-nonce-nonce", ip, 7));
        // Long silence: both forgotten.
        jar.rotate(t0 + life * 10, life, &mut rng);
        assert!(!jar.verify(&c2, b"nonce-nonce-nonce", ip, 7));
    }
}
