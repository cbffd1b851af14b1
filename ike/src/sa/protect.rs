//! The Encrypted payload (RFC 7296 3.14, RFC 5282 for AES-GCM): sealing a
//! chain of payloads into an IKE message and opening it again.

use rand_core::RngCore;

use super::event::Role;
use super::proposal::IkeSuite;
use crate::crypto::{CipherKey, CryptoError, EncrAlg, IkeKeys, IntegKey};
use crate::wire::{self, Header, ParseError, Payload, PayloadType, GENERIC_HEADER_LEN, HEADER_LEN};

/// Why an Encrypted payload could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The message has no Encrypted payload where one is required.
    #[error("no Encrypted payload")]
    NotEncrypted,
    /// Too short for IV and checksum.
    #[error("Encrypted payload of {0} bytes is too short")]
    Truncated(usize),
    /// Checksum or AEAD tag did not verify.
    #[error("integrity check of the Encrypted payload failed")]
    IntegrityCheckFailed,
    /// Decrypted, but the pad length does not fit.
    #[error("pad length {0} exceeds the plaintext")]
    BadPadding(u8),
    /// Decrypted, but the inner payloads do not parse.
    #[error("inner payloads: {0}")]
    Inner(#[from] ParseError),
    /// The ciphertext is not a whole number of blocks.
    #[error("{0}")]
    Crypto(#[from] CryptoError),
}

/// The keys that protect IKE messages in each direction, prepared once.
pub struct SkKeys {
    encr: EncrAlg,
    out_cipher: CipherKey,
    out_integ: Option<IntegKey>,
    in_cipher: CipherKey,
    in_integ: Option<IntegKey>,
    /// GCM's explicit IV must never repeat under one key: a counter.
    iv_counter: u64,
}

impl core::fmt::Debug for SkKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SkKeys")
            .field("encr", &self.encr)
            .finish_non_exhaustive()
    }
}

impl SkKeys {
    /// Prepares the keys of `role`'s side: we send with SK_ei/SK_ai as
    /// initiator, with SK_er/SK_ar as responder.
    pub fn new(suite: &IkeSuite, keys: &IkeKeys, role: Role) -> Result<SkKeys, CryptoError> {
        let (e_out, a_out, e_in, a_in) = match role {
            Role::Initiator => (&keys.sk_ei, &keys.sk_ai, &keys.sk_er, &keys.sk_ar),
            Role::Responder => (&keys.sk_er, &keys.sk_ar, &keys.sk_ei, &keys.sk_ai),
        };
        let integ = |k| suite.integ.map(|alg| IntegKey::new(alg, k)).transpose();
        Ok(SkKeys {
            encr: suite.encr,
            out_cipher: CipherKey::new(suite.encr, e_out)?,
            out_integ: integ(a_out)?,
            in_cipher: CipherKey::new(suite.encr, e_in)?,
            in_integ: integ(a_in)?,
            iv_counter: 0,
        })
    }

    fn icv_len(&self) -> usize {
        match &self.out_integ {
            Some(i) => i.alg().icv_len(),
            None => self.encr.tag_len(),
        }
    }

    /// Builds the whole message: `header` (next payload and length are
    /// filled in) followed by an Encrypted payload holding `payloads`.
    pub fn seal(
        &mut self,
        header: &Header,
        payloads: &[Payload],
        rng: &mut dyn RngCore,
    ) -> Vec<u8> {
        let mut plain = Vec::new();
        let first = wire::emit_payloads(payloads, &mut plain);
        self.seal_raw(header, PayloadType::SK, first, &[], plain, rng)
    }

    /// Builds the whole message `header` + SK payload around the already
    /// emitted inner payload chain `plain`, whose first payload is `first`.
    pub fn seal_plain(
        &mut self,
        header: &Header,
        first: PayloadType,
        plain: Vec<u8>,
        rng: &mut dyn RngCore,
    ) -> Vec<u8> {
        self.seal_raw(header, PayloadType::SK, first, &[], plain, rng)
    }

    /// Builds one fragment (RFC 7383 2.5): `header` + an Encrypted Fragment
    /// payload carrying `chunk` of the inner chain's plaintext, protected
    /// on its own. Fragment Number and Total Fragments are covered by the
    /// ICV (and are AEAD associated data).
    pub fn seal_fragment(
        &mut self,
        header: &Header,
        first: PayloadType,
        number: u16,
        total: u16,
        chunk: &[u8],
        rng: &mut dyn RngCore,
    ) -> Vec<u8> {
        let mut prefix = [0u8; 4];
        prefix[..2].copy_from_slice(&number.to_be_bytes());
        prefix[2..].copy_from_slice(&total.to_be_bytes());
        let first = if number == 1 {
            first
        } else {
            PayloadType::NONE
        };
        self.seal_raw(
            header,
            PayloadType::SKF,
            first,
            &prefix,
            chunk.to_vec(),
            rng,
        )
    }

    /// Length of the padded plaintext (with the pad length octet).
    fn padded_len(&self, plain_len: usize) -> usize {
        if self.encr.is_aead() {
            plain_len + 1
        } else {
            let block = self.encr.block_len();
            (plain_len + 1).div_ceil(block) * block
        }
    }

    /// The length of the message [`SkKeys::seal_plain`] makes of
    /// `plain_len` bytes of inner payloads.
    pub fn sealed_len(&self, plain_len: usize) -> usize {
        HEADER_LEN
            + GENERIC_HEADER_LEN
            + self.encr.iv_len()
            + self.padded_len(plain_len)
            + self.icv_len()
    }

    /// The most plaintext one fragment can carry if the message is to be
    /// at most `max_len` bytes (0 if none fits).
    pub fn max_fragment_plain(&self, max_len: usize) -> usize {
        let overhead = HEADER_LEN + GENERIC_HEADER_LEN + 4 + self.encr.iv_len() + self.icv_len();
        let room = max_len.saturating_sub(overhead);
        let room = if self.encr.is_aead() {
            room
        } else {
            let block = self.encr.block_len();
            room / block * block
        };
        room.saturating_sub(1)
    }

    /// `header`, then a payload of type `kind` (SK or SKF) whose Next
    /// Payload is `first`, whose body starts with `prefix` (SKF's numbers)
    /// and goes on with IV, `plain` encrypted with padding, and ICV.
    fn seal_raw(
        &mut self,
        header: &Header,
        kind: PayloadType,
        first: PayloadType,
        prefix: &[u8],
        mut plain: Vec<u8>,
        rng: &mut dyn RngCore,
    ) -> Vec<u8> {
        // Pad so that plaintext | padding | pad length fills whole blocks;
        // GCM needs no padding at all (block_len 4 only aligns).
        let pad = self.padded_len(plain.len()) - plain.len() - 1;
        plain.resize(plain.len() + pad, 0);
        plain.push(pad as u8);

        let iv_len = self.encr.iv_len();
        let icv_len = self.icv_len();
        let payload_len = GENERIC_HEADER_LEN + prefix.len() + iv_len + plain.len() + icv_len;
        let mut h = header.clone();
        h.next_payload = kind;
        h.length = (HEADER_LEN + payload_len) as u32;
        let mut out = Vec::with_capacity(HEADER_LEN + payload_len);
        h.emit(&mut out);
        out.push(first.0);
        out.push(0);
        out.extend_from_slice(&(payload_len as u16).to_be_bytes());
        out.extend_from_slice(prefix);
        let iv_at = out.len();
        if self.encr.is_aead() {
            self.iv_counter += 1;
            out.extend_from_slice(&self.iv_counter.to_be_bytes());
        } else {
            let mut iv = [0u8; 16];
            rng.fill_bytes(&mut iv);
            out.extend_from_slice(&iv[..iv_len]);
        }
        let ct_at = out.len();
        out.extend_from_slice(&plain);
        out.resize(out.len() + icv_len, 0);
        let (head, rest) = out.split_at_mut(ct_at);
        let (ct, icv) = rest.split_at_mut(plain.len());
        let iv = &head[iv_at..ct_at];
        let aad = &head[..iv_at];
        if self.encr.is_aead() {
            self.out_cipher
                .encrypt_in_place(iv, aad, ct, icv)
                .expect("sizes derived from the algorithm");
        } else {
            self.out_cipher
                .encrypt_in_place(iv, &[], ct, &mut [])
                .expect("padded to whole blocks");
            let integ = self
                .out_integ
                .as_ref()
                .expect("non-AEAD suites have integrity");
            let signed_len = out.len() - icv_len;
            let (signed, icv) = out.split_at_mut(signed_len);
            integ.sign(signed, icv);
        }
        out
    }

    /// Verifies and decrypts the Encrypted payload that ends `message`
    /// (whose parsed form is `parsed`) and returns the inner payloads.
    pub fn open(&self, message: &[u8], parsed: &wire::Message) -> Result<Vec<Payload>, OpenError> {
        let Some(Payload::Encrypted(sk)) = parsed.payloads.last() else {
            return Err(OpenError::NotEncrypted);
        };
        let inner = self.open_body(message, &sk.body)?;
        Ok(wire::parse_payloads(sk.first_inner, &inner)?)
    }

    /// Verifies and decrypts the Encrypted Fragment payload `frag` that
    /// ends `message`, and returns its share of the inner plaintext
    /// (without padding).
    pub fn open_fragment(
        &self,
        message: &[u8],
        frag: &wire::EncryptedFragment,
    ) -> Result<Vec<u8>, OpenError> {
        self.open_body(message, &frag.body)
    }

    /// Verifies and decrypts `body` (IV, ciphertext, ICV), which ends
    /// `message`; everything before it is authenticated.
    fn open_body(&self, message: &[u8], body: &[u8]) -> Result<Vec<u8>, OpenError> {
        let iv_len = self.encr.iv_len();
        let icv_len = self.icv_len();
        let body_len = body.len();
        if body_len < iv_len + icv_len || message.len() < body_len + GENERIC_HEADER_LEN {
            return Err(OpenError::Truncated(body_len));
        }
        let body_at = message.len() - body_len;
        let mut ct = body[iv_len..body_len - icv_len].to_vec();
        let iv = &body[..iv_len];
        let icv = &body[body_len - icv_len..];
        if self.encr.is_aead() {
            let aad = &message[..body_at];
            self.in_cipher
                .decrypt_in_place(iv, aad, &mut ct, icv)
                .map_err(|_| OpenError::IntegrityCheckFailed)?;
        } else {
            let integ = self
                .in_integ
                .as_ref()
                .expect("non-AEAD suites have integrity");
            integ
                .verify(&message[..message.len() - icv_len], icv)
                .map_err(|_| OpenError::IntegrityCheckFailed)?;
            if ct.len() % self.encr.block_len() != 0 {
                return Err(OpenError::Crypto(CryptoError::CiphertextLength(ct.len())));
            }
            self.in_cipher.decrypt_in_place(iv, &[], &mut ct, &[])?;
        }
        let Some(&pad) = ct.last() else {
            return Err(OpenError::Truncated(body_len));
        };
        let inner_len = ct
            .len()
            .checked_sub(1 + pad as usize)
            .ok_or(OpenError::BadPadding(pad))?;
        ct.truncate(inner_len);
        Ok(ct)
    }
}
