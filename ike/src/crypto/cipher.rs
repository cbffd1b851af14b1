//! Encryption transforms: AES-CBC (RFC 3602) and AES-GCM with a 16-byte ICV
//! (RFC 4106 for ESP, RFC 5282 for IKE).

use super::{CryptoError, Secret};
use crate::wire::EncrId;

/// An encryption transform with its key size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncrAlg {
    /// ENCR_AES_CBC with a 128, 192 or 256-bit key.
    AesCbc {
        /// Key size in bits.
        key_bits: u16,
    },
    /// ENCR_AES_GCM_16 with a 128, 192 or 256-bit key.
    AesGcm16 {
        /// Key size in bits.
        key_bits: u16,
    },
}

impl EncrAlg {
    /// From a transform ID and its Key Length attribute.
    pub fn from_transform(id: EncrId, key_bits: Option<u16>) -> Option<EncrAlg> {
        let key_bits = key_bits?;
        if !matches!(key_bits, 128 | 192 | 256) {
            return None;
        }
        match id {
            EncrId::AES_CBC => Some(EncrAlg::AesCbc { key_bits }),
            EncrId::AES_GCM_16 => Some(EncrAlg::AesGcm16 { key_bits }),
            _ => None,
        }
    }
    /// The IANA transform ID.
    pub fn id(self) -> EncrId {
        match self {
            EncrAlg::AesCbc { .. } => EncrId::AES_CBC,
            EncrAlg::AesGcm16 { .. } => EncrId::AES_GCM_16,
        }
    }
    /// The Key Length attribute in bits.
    pub fn key_bits(self) -> u16 {
        match self {
            EncrAlg::AesCbc { key_bits } | EncrAlg::AesGcm16 { key_bits } => key_bits,
        }
    }
    /// True for combined-mode (AEAD) ciphers, which take no INTEG transform.
    pub fn is_aead(self) -> bool {
        matches!(self, EncrAlg::AesGcm16 { .. })
    }
    /// Bytes of keying material taken from prf+ / KEYMAT: the key, plus the
    /// 4-byte salt for GCM (RFC 4106 8.1, RFC 5282 7.1).
    pub fn keymat_len(self) -> usize {
        let key = self.key_bits() as usize / 8;
        if self.is_aead() {
            key + 4
        } else {
            key
        }
    }
    /// Explicit IV length on the wire: 16 for CBC, 8 for GCM.
    pub fn iv_len(self) -> usize {
        if self.is_aead() {
            8
        } else {
            16
        }
    }
    /// What the plaintext (with padding and pad length/next header) must be
    /// a multiple of: the block size for CBC, 4 for GCM.
    pub fn block_len(self) -> usize {
        if self.is_aead() {
            4
        } else {
            16
        }
    }
    /// The AEAD tag length (16), or 0 for CBC.
    pub fn tag_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            0
        }
    }
    /// A short name as strongSwan and AWS print it (e.g. `AES_GCM_16_256`).
    pub fn name(self) -> String {
        match self {
            EncrAlg::AesCbc { key_bits } => format!("AES_CBC_{key_bits}"),
            EncrAlg::AesGcm16 { key_bits } => format!("AES_GCM_16_{key_bits}"),
        }
    }
}

/// A prepared encryption key.
pub struct CipherKey {
    alg: EncrAlg,
}

impl core::fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CipherKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl CipherKey {
    /// Prepares a key from `keymat` (`alg.keymat_len()` bytes; for GCM the
    /// last 4 bytes are the salt).
    pub fn new(alg: EncrAlg, keymat: &Secret) -> Result<CipherKey, CryptoError> {
        let _ = keymat;
        todo!("crypto {alg:?}")
    }
    /// The algorithm.
    pub fn alg(&self) -> EncrAlg {
        self.alg
    }
    /// CBC: encrypts `buf` (a whole number of blocks) in place with `iv`.
    /// GCM: seals `buf` in place with nonce salt || `iv` and additional data
    /// `aad`, and writes the 16-byte tag into `tag`.
    pub fn encrypt_in_place(
        &self,
        iv: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), CryptoError> {
        let _ = (iv, aad, buf, tag);
        todo!("crypto")
    }
    /// The inverse of [`CipherKey::encrypt_in_place`]; for GCM it fails with
    /// [`CryptoError::IntegrityCheckFailed`] when the tag does not verify,
    /// leaving `buf` unspecified.
    pub fn decrypt_in_place(
        &self,
        iv: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        let _ = (iv, aad, buf, tag);
        todo!("crypto")
    }
}
