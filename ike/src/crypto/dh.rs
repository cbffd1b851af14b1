//! Diffie-Hellman groups: MODP (RFC 2409, 3526, 5114), ECP (RFC 5903) and
//! Curve25519 (RFC 8031).

use rand_core::RngCore;

use super::{CryptoError, Secret};
use crate::wire::DhId;

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
    private: Secret,
    public: Vec<u8>,
}

impl core::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyPair")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates a key pair from `rng` (deterministic for a seeded rng).
    pub fn generate(group: DhGroup, rng: &mut dyn RngCore) -> KeyPair {
        let _ = (group, rng);
        todo!("crypto")
    }

    /// Builds the key pair from a known private value (known-answer tests).
    pub fn from_private(group: DhGroup, private: &[u8]) -> Result<KeyPair, CryptoError> {
        let _ = (group, private);
        todo!("crypto")
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
        let _ = (peer_public, &self.private);
        todo!("crypto")
    }
}
