//! Encryption transforms: AES-CBC (RFC 3602) and AES-GCM with a 16-byte ICV
//! (RFC 4106 for ESP, RFC 5282 for IKE).

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    self, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use zeroize::Zeroize;

use super::{CryptoError, Secret};
use crate::wire::EncrId;

/// AES block (and CBC IV) length.
const AES_BLOCK: usize = 16;
/// GCM salt length (RFC 4106 4).
const GCM_SALT: usize = 4;
/// GCM explicit IV length (RFC 4106 3.1).
const GCM_IV: usize = 8;
/// GCM ICV length for the _16 transforms.
const GCM_TAG: usize = 16;

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
    inner: Inner,
}

/// The aws-lc key schedules (wiped by aws-lc when dropped).
enum Inner {
    /// aws-lc-rs's `cipher` module has unpadded CBC (`EncryptingKey::cbc`),
    /// which is what IKE and ESP need: they pad themselves and hand over
    /// whole blocks. No RustCrypto `aes`/`cbc` dependency is needed.
    /// Boxed: the two key schedules are much larger than the GCM key.
    Cbc(Box<CbcKeys>),
    Gcm {
        key: LessSafeKey,
        salt: [u8; GCM_SALT],
    },
}

struct CbcKeys {
    enc: EncryptingKey,
    dec: DecryptingKey,
}

impl Drop for CipherKey {
    fn drop(&mut self) {
        if let Inner::Gcm { salt, .. } = &mut self.inner {
            salt.zeroize();
        }
    }
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
        if keymat.len() != alg.keymat_len() {
            return Err(CryptoError::KeyLength {
                what: "encryption key",
                need: alg.keymat_len(),
                have: keymat.len(),
            });
        }
        let bad_size = CryptoError::KeyLength {
            what: "AES key size in bits (128, 192 or 256)",
            need: 256,
            have: alg.key_bits() as usize,
        };
        let key_len = alg.key_bits() as usize / 8;
        let key = &keymat.expose()[..key_len];
        let inner = match alg {
            EncrAlg::AesCbc { key_bits } => {
                let cipher_alg = match key_bits {
                    128 => &cipher::AES_128,
                    192 => &cipher::AES_192,
                    256 => &cipher::AES_256,
                    _ => return Err(bad_size),
                };
                let unbound =
                    || UnboundCipherKey::new(cipher_alg, key).expect("key length checked above");
                Inner::Cbc(Box::new(CbcKeys {
                    enc: EncryptingKey::cbc(unbound()).expect("AES supports CBC"),
                    dec: DecryptingKey::cbc(unbound()).expect("AES supports CBC"),
                }))
            }
            EncrAlg::AesGcm16 { key_bits } => {
                let aead_alg = match key_bits {
                    128 => &aead::AES_128_GCM,
                    192 => &aead::AES_192_GCM,
                    256 => &aead::AES_256_GCM,
                    _ => return Err(bad_size),
                };
                let mut salt = [0u8; GCM_SALT];
                salt.copy_from_slice(&keymat.expose()[key_len..]);
                Inner::Gcm {
                    key: LessSafeKey::new(
                        UnboundKey::new(aead_alg, key).expect("key length checked above"),
                    ),
                    salt,
                }
            }
        };
        Ok(CipherKey { alg, inner })
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
        match &self.inner {
            Inner::Cbc(keys) => {
                let iv = cbc_iv(iv)?;
                if buf.len() % AES_BLOCK != 0 {
                    return Err(CryptoError::CiphertextLength(buf.len()));
                }
                keys.enc
                    .less_safe_encrypt(buf, EncryptionContext::Iv128(iv))
                    .map_err(|_| CryptoError::CiphertextLength(buf.len()))?;
                Ok(())
            }
            Inner::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, iv)?;
                if tag.len() != GCM_TAG {
                    return Err(tag_length(tag.len()));
                }
                let t = key
                    .seal_in_place_separate_tag(nonce, Aad::from(aad), buf)
                    .map_err(|_| CryptoError::CiphertextLength(buf.len()))?;
                tag.copy_from_slice(t.as_ref());
                Ok(())
            }
        }
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
        match &self.inner {
            Inner::Cbc(keys) => {
                let iv = cbc_iv(iv)?;
                if buf.len() % AES_BLOCK != 0 {
                    return Err(CryptoError::CiphertextLength(buf.len()));
                }
                let len = buf.len();
                keys.dec
                    .decrypt(buf, DecryptionContext::Iv128(iv))
                    .map_err(|_| CryptoError::CiphertextLength(len))?;
                Ok(())
            }
            Inner::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, iv)?;
                if tag.len() != GCM_TAG {
                    return Err(CryptoError::IntegrityCheckFailed);
                }
                key.open_in_place_separate_tag(nonce, Aad::from(aad), tag, buf)
                    .map_err(|_| CryptoError::IntegrityCheckFailed)?;
                Ok(())
            }
        }
    }
}

fn cbc_iv(iv: &[u8]) -> Result<FixedLength<AES_BLOCK>, CryptoError> {
    let iv: [u8; AES_BLOCK] = iv.try_into().map_err(|_| CryptoError::KeyLength {
        what: "AES-CBC IV",
        need: AES_BLOCK,
        have: iv.len(),
    })?;
    Ok(FixedLength::from(iv))
}

/// The RFC 4106 3.1 nonce: the 4-byte salt from the keymat, then the
/// 8-byte explicit IV from the packet.
fn gcm_nonce(salt: &[u8; GCM_SALT], iv: &[u8]) -> Result<Nonce, CryptoError> {
    if iv.len() != GCM_IV {
        return Err(CryptoError::KeyLength {
            what: "AES-GCM explicit IV",
            need: GCM_IV,
            have: iv.len(),
        });
    }
    let mut nonce = [0u8; GCM_SALT + GCM_IV];
    nonce[..GCM_SALT].copy_from_slice(salt);
    nonce[GCM_SALT..].copy_from_slice(iv);
    Ok(Nonce::assume_unique_for_key(nonce))
}

fn tag_length(have: usize) -> CryptoError {
    CryptoError::KeyLength {
        what: "AES-GCM tag buffer",
        need: GCM_TAG,
        have,
    }
}
