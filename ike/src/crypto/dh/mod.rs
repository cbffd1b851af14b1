//! Diffie-Hellman groups: MODP (RFC 2409, 3526, 5114), ECP (RFC 5903) and
//! Curve25519 (RFC 8031).

use rand_core::RngCore;

use super::{CryptoError, Secret};
use crate::wire::DhId;

mod ecp;
mod modp;
mod modp_params;
mod x25519;

#[cfg(test)]
mod tests;

/// A Diffie-Hellman group we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum DhGroup {
    Modp1024 = 2,
    Modp1536 = 5,
    Modp2048 = 14,
    Modp3072 = 15,
    Modp4096 = 16,
    Modp6144 = 17,
    Modp8192 = 18,
    Ecp256 = 19,
    Ecp384 = 20,
    Ecp521 = 21,
    Modp1024S160 = 22,
    Modp2048S224 = 23,
    Modp2048S256 = 24,
    Curve25519 = 31,
}

impl core::fmt::Display for DhGroup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "DH group {}", *self as u16)
    }
}

impl DhGroup {
    /// Every group, in IANA order.
    pub const ALL: [DhGroup; 14] = [
        DhGroup::Modp1024,
        DhGroup::Modp1536,
        DhGroup::Modp2048,
        DhGroup::Modp3072,
        DhGroup::Modp4096,
        DhGroup::Modp6144,
        DhGroup::Modp8192,
        DhGroup::Ecp256,
        DhGroup::Ecp384,
        DhGroup::Ecp521,
        DhGroup::Modp1024S160,
        DhGroup::Modp2048S224,
        DhGroup::Modp2048S256,
        DhGroup::Curve25519,
    ];

    /// The group for an IANA transform ID, if we implement it.
    pub fn from_id(id: u16) -> Option<DhGroup> {
        DhGroup::ALL.into_iter().find(|g| *g as u16 == id)
    }

    /// The IANA transform ID.
    pub fn id(self) -> DhId {
        DhId(self as u16)
    }
}

/// An ephemeral key pair for one exchange.
pub struct KeyPair {
    group: DhGroup,
    private: Private,
    public: Vec<u8>,
}

/// The private half, in the form its group's arithmetic wants.
enum Private {
    /// A MODP exponent (zeroized on drop).
    Modp(modp::Exponent),
    /// An ECP or X25519 scalar held by aws-lc (which wipes it when freed).
    Agreement(aws_lc_rs::agreement::PrivateKey),
}

impl core::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyPair")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// How a group computes, by family.
#[derive(Clone, Copy)]
enum Family {
    Modp,
    Ecp,
    X25519,
}

impl DhGroup {
    fn family(self) -> Family {
        match self {
            DhGroup::Ecp256 | DhGroup::Ecp384 | DhGroup::Ecp521 => Family::Ecp,
            DhGroup::Curve25519 => Family::X25519,
            _ => Family::Modp,
        }
    }

    /// Length in bytes of the public value in a KE payload.
    pub fn public_len(self) -> usize {
        match self.family() {
            Family::Modp => modp::params(self).len,
            Family::Ecp => 2 * ecp::coordinate_len(self),
            Family::X25519 => x25519::LEN,
        }
    }

    /// Length in bytes of the shared secret g^ir.
    pub fn shared_secret_len(self) -> usize {
        match self.family() {
            Family::Modp => modp::params(self).len,
            Family::Ecp => ecp::coordinate_len(self),
            Family::X25519 => x25519::LEN,
        }
    }
}

impl KeyPair {
    /// Generates a key pair from `rng` (deterministic for a seeded rng).
    pub fn generate(group: DhGroup, rng: &mut dyn RngCore) -> KeyPair {
        let (private, public) = match group.family() {
            Family::Modp => {
                let (x, public) = modp::generate(group, rng);
                (Private::Modp(x), public)
            }
            Family::Ecp => {
                let (k, public) = ecp::generate(group, rng);
                (Private::Agreement(k), public)
            }
            Family::X25519 => {
                let (k, public) = x25519::generate(rng);
                (Private::Agreement(k), public)
            }
        };
        KeyPair {
            group,
            private,
            public,
        }
    }

    /// Builds the key pair from a known private value (known-answer tests):
    /// MODP a big-endian exponent (at most the prime's length; for groups
    /// 22-24 in [1, q-1]), ECP the big-endian scalar of the curve's length,
    /// X25519 the 32-byte scalar of RFC 7748.
    pub fn from_private(group: DhGroup, private: &[u8]) -> Result<KeyPair, CryptoError> {
        let (private, public) = match group.family() {
            Family::Modp => {
                let (x, public) = modp::from_private(group, private)?;
                (Private::Modp(x), public)
            }
            Family::Ecp => {
                let (k, public) = ecp::from_private(group, private)?;
                (Private::Agreement(k), public)
            }
            Family::X25519 => {
                let (k, public) = x25519::from_private(private)?;
                (Private::Agreement(k), public)
            }
        };
        Ok(KeyPair {
            group,
            private,
            public,
        })
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// The public value as carried in a KE payload: MODP big-endian padded
    /// to the prime's length; ECP x || y (RFC 5903 section 7); X25519 the
    /// 32-byte u-coordinate.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The shared secret g^ir with the peer's public value, validated:
    /// MODP padded to the prime's length, ECP the x coordinate, X25519 the
    /// 32 bytes (rejected when all zero).
    pub fn agree(&self, peer_public: &[u8]) -> Result<Secret, CryptoError> {
        match &self.private {
            Private::Modp(x) => modp::agree(self.group, x, peer_public),
            Private::Agreement(k) => match self.group.family() {
                Family::Ecp => ecp::agree(self.group, k, peer_public),
                _ => x25519::agree(k, peer_public),
            },
        }
    }
}

/// Shorthand for an invalid peer public value.
fn invalid(group: DhGroup, reason: &'static str) -> CryptoError {
    CryptoError::InvalidPublicKey { group, reason }
}

/// Shorthand for an unusable private value given to [`KeyPair::from_private`].
fn invalid_private(group: DhGroup, reason: &'static str) -> CryptoError {
    CryptoError::InvalidPrivateKey { group, reason }
}
