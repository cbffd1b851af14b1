//! Pseudorandom functions and prf+ (RFC 7296 2.13).

use aws_lc_rs::hmac;
use zeroize::Zeroize;

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

    /// The aws-lc HMAC algorithm.
    fn hmac(self) -> hmac::Algorithm {
        match self {
            PrfAlg::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            PrfAlg::HmacSha256 => hmac::HMAC_SHA256,
            PrfAlg::HmacSha384 => hmac::HMAC_SHA384,
            PrfAlg::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    /// prf(key, data[0] | data[1] | ...).
    pub fn compute(self, key: &[u8], data: &[&[u8]]) -> Secret {
        let key = hmac::Key::new(self.hmac(), key);
        let mut ctx = hmac::Context::with_key(&key);
        for part in data {
            ctx.update(part);
        }
        Secret::from_slice(ctx.sign().as_ref())
    }

    /// prf+(key, seed) truncated to `len` bytes (RFC 7296 2.13):
    /// T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), prf+ = T1 | T2 | ...
    ///
    /// Panics when `len` exceeds the 255 blocks the one-byte counter allows.
    pub fn prf_plus(self, key: &[u8], seed: &[&[u8]], len: usize) -> Secret {
        let block = self.output_len();
        assert!(
            len <= 255 * block,
            "prf+ of {len} bytes exceeds 255 blocks of {block}"
        );
        let key = hmac::Key::new(self.hmac(), key);
        let mut out = Vec::with_capacity(len.div_ceil(block) * block);
        let mut previous = [0u8; 64];
        let mut counter = 1u8;
        while out.len() < len {
            let mut ctx = hmac::Context::with_key(&key);
            if counter > 1 {
                ctx.update(&previous[..block]);
            }
            for part in seed {
                ctx.update(part);
            }
            ctx.update(&[counter]);
            let t = ctx.sign();
            previous[..block].copy_from_slice(t.as_ref());
            out.extend_from_slice(t.as_ref());
            counter = counter.wrapping_add(1);
        }
        previous.zeroize();
        // Wipe the surplus of the last block before dropping it.
        out[len..].zeroize();
        out.truncate(len);
        Secret::new(out)
    }
}
