//! Pseudorandom functions and prf+ (RFC 7296 2.13).

use super::Secret;
use crate::wire::PrfId;

/// A PRF transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum PrfAlg {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl PrfAlg {
    /// From an IANA transform ID.
    pub fn from_id(id: PrfId) -> Option<PrfAlg> {
        match id {
            PrfId::HMAC_SHA1 => Some(PrfAlg::HmacSha1),
            PrfId::HMAC_SHA2_256 => Some(PrfAlg::HmacSha256),
            PrfId::HMAC_SHA2_384 => Some(PrfAlg::HmacSha384),
            PrfId::HMAC_SHA2_512 => Some(PrfAlg::HmacSha512),
            _ => None,
        }
    }

    /// The IANA transform ID.
    pub fn id(self) -> PrfId {
        match self {
            PrfAlg::HmacSha1 => PrfId::HMAC_SHA1,
            PrfAlg::HmacSha256 => PrfId::HMAC_SHA2_256,
            PrfAlg::HmacSha384 => PrfId::HMAC_SHA2_384,
            PrfAlg::HmacSha512 => PrfId::HMAC_SHA2_512,
        }
    }

    /// Output length, which is also the preferred key length (SK_d, SK_p).
    pub fn output_len(self) -> usize {
        match self {
            PrfAlg::HmacSha1 => 20,
            PrfAlg::HmacSha256 => 32,
            PrfAlg::HmacSha384 => 48,
            PrfAlg::HmacSha512 => 64,
        }
    }

    /// prf(key, data[0] | data[1] | ...).
    pub fn compute(self, key: &[u8], data: &[&[u8]]) -> Secret {
        let _ = (key, data);
        todo!("crypto")
    }

    /// prf+(key, seed) truncated to `len` bytes (RFC 7296 2.13).
    pub fn prf_plus(self, key: &[u8], seed: &[&[u8]], len: usize) -> Secret {
        let _ = (key, seed, len);
        todo!("crypto")
    }
}
