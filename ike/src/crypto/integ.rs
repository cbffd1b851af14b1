//! Integrity transforms (HMAC truncated), for IKE SK payloads and ESP.

use aws_lc_rs::{constant_time, hmac};

use super::{CryptoError, Secret};
use crate::wire::IntegId;

/// An integrity transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum IntegAlg {
    HmacSha1_96,
    HmacSha256_128,
    HmacSha384_192,
    HmacSha512_256,
}

impl IntegAlg {
    /// From an IANA transform ID.
    pub fn from_id(id: IntegId) -> Option<IntegAlg> {
        match id {
            IntegId::HMAC_SHA1_96 => Some(IntegAlg::HmacSha1_96),
            IntegId::HMAC_SHA2_256_128 => Some(IntegAlg::HmacSha256_128),
            IntegId::HMAC_SHA2_384_192 => Some(IntegAlg::HmacSha384_192),
            IntegId::HMAC_SHA2_512_256 => Some(IntegAlg::HmacSha512_256),
            _ => None,
        }
    }

    /// The IANA transform ID.
    pub fn id(self) -> IntegId {
        match self {
            IntegAlg::HmacSha1_96 => IntegId::HMAC_SHA1_96,
            IntegAlg::HmacSha256_128 => IntegId::HMAC_SHA2_256_128,
            IntegAlg::HmacSha384_192 => IntegId::HMAC_SHA2_384_192,
            IntegAlg::HmacSha512_256 => IntegId::HMAC_SHA2_512_256,
        }
    }

    /// Key length in bytes (the hash output length, RFC 2404 / 4868).
    pub fn key_len(self) -> usize {
        match self {
            IntegAlg::HmacSha1_96 => 20,
            IntegAlg::HmacSha256_128 => 32,
            IntegAlg::HmacSha384_192 => 48,
            IntegAlg::HmacSha512_256 => 64,
        }
    }

    /// Length of the truncated checksum in bytes.
    pub fn icv_len(self) -> usize {
        match self {
            IntegAlg::HmacSha1_96 => 12,
            IntegAlg::HmacSha256_128 => 16,
            IntegAlg::HmacSha384_192 => 24,
            IntegAlg::HmacSha512_256 => 32,
        }
    }
}

/// A prepared integrity key: the HMAC key schedule is computed once;
/// aws-lc wipes it when the key is dropped.
pub struct IntegKey {
    alg: IntegAlg,
    key: hmac::Key,
}

impl core::fmt::Debug for IntegKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IntegKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl IntegKey {
    /// Prepares `key` (exactly `alg.key_len()` bytes).
    pub fn new(alg: IntegAlg, key: &Secret) -> Result<IntegKey, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::KeyLength {
                what: "integrity key",
                need: alg.key_len(),
                have: key.len(),
            });
        }
        let hmac_alg = match alg {
            IntegAlg::HmacSha1_96 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            IntegAlg::HmacSha256_128 => hmac::HMAC_SHA256,
            IntegAlg::HmacSha384_192 => hmac::HMAC_SHA384,
            IntegAlg::HmacSha512_256 => hmac::HMAC_SHA512,
        };
        Ok(IntegKey {
            alg,
            key: hmac::Key::new(hmac_alg, key.expose()),
        })
    }
    /// The algorithm.
    pub fn alg(&self) -> IntegAlg {
        self.alg
    }
    /// Writes the truncated checksum of `data` into `icv`
    /// (`icv.len() == alg.icv_len()`).
    ///
    /// Panics if `icv` has the wrong length (a caller bug). Does not
    /// allocate: aws-lc's HMAC state and the tag live on the stack.
    pub fn sign(&self, data: &[u8], icv: &mut [u8]) {
        let n = self.alg.icv_len();
        assert_eq!(icv.len(), n, "ICV buffer for {:?}", self.alg);
        let tag = hmac::sign(&self.key, data);
        icv.copy_from_slice(&tag.as_ref()[..n]);
    }
    /// Checks `icv` against `data` in constant time. An `icv` of the wrong
    /// length fails the check.
    pub fn verify(&self, data: &[u8], icv: &[u8]) -> Result<(), CryptoError> {
        let n = self.alg.icv_len();
        if icv.len() != n {
            return Err(CryptoError::IntegrityCheckFailed);
        }
        let tag = hmac::sign(&self.key, data);
        constant_time::verify_slices_are_equal(&tag.as_ref()[..n], icv)
            .map_err(|_| CryptoError::IntegrityCheckFailed)
    }
}
