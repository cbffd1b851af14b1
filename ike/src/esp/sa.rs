//! Outbound and inbound ESP SAs.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::packet::HEADER_LEN;
use super::replay::ReplayWindow;
use super::{EspError, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6, NEXT_HEADER_NONE};
use crate::crypto::{CipherKey, EncrAlg, IntegAlg, IntegKey, Secret};

/// The padding bytes (RFC 4303 2.4): 1, 2, 3, ... Padding is always shorter
/// than the cipher's block (16).
const PAD: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// Longest IV of any transform (CBC).
const MAX_IV_LEN: usize = 16;

/// Traffic and drop counters of one SA. `bytes` counts inner packets
/// (plaintext, without ESP padding or overhead), like the kernel's SA
/// counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SaCounters {
    /// Packets sealed (outbound) or opened (inbound).
    pub packets: u64,
    /// Bytes of inner packets sealed or opened.
    pub bytes: u64,
    /// Inbound packets dropped as replays or left of the window.
    pub replay_drops: u64,
    /// Inbound packets whose ICV did not verify.
    pub auth_failures: u64,
    /// Inbound packets dropped for anything else: truncated, wrong SPI,
    /// bad length, bad padding, unknown next header.
    pub invalid: u64,
}

/// The prepared transforms of one direction.
struct Transform {
    encr: EncrAlg,
    cipher: CipherKey,
    integ: Option<IntegKey>,
    iv_len: usize,
    icv_len: usize,
    block_len: usize,
}

impl Transform {
    fn new(
        encr: EncrAlg,
        integ: Option<IntegAlg>,
        encr_key: &Secret,
        integ_key: &Secret,
    ) -> Result<Transform, EspError> {
        let integ = match (encr.is_aead(), integ) {
            (true, Some(_)) => {
                return Err(EspError::InvalidTransforms(
                    "AES-GCM takes no integrity algorithm",
                ))
            }
            (false, None) => {
                return Err(EspError::InvalidTransforms(
                    "AES-CBC needs an integrity algorithm",
                ))
            }
            (_, integ) => integ,
        };
        if encr_key.len() != encr.keymat_len() {
            return Err(EspError::KeyLength {
                what: if encr.is_aead() {
                    "AES-GCM key and salt"
                } else {
                    "AES-CBC key"
                },
                need: encr.keymat_len(),
                have: encr_key.len(),
            });
        }
        let integ = match integ {
            Some(alg) => {
                if integ_key.len() != alg.key_len() {
                    return Err(EspError::KeyLength {
                        what: "HMAC key",
                        need: alg.key_len(),
                        have: integ_key.len(),
                    });
                }
                Some(IntegKey::new(alg, integ_key)?)
            }
            None => None,
        };
        let icv_len = match &integ {
            Some(k) => k.alg().icv_len(),
            None => encr.tag_len(),
        };
        Ok(Transform {
            encr,
            cipher: CipherKey::new(encr, encr_key)?,
            integ,
            iv_len: encr.iv_len(),
            icv_len,
            block_len: encr.block_len(),
        })
    }

    /// Length of the encrypted part for an inner packet of `inner_len`.
    fn ciphertext_len(&self, inner_len: usize) -> usize {
        (inner_len + 2).next_multiple_of(self.block_len)
    }

    fn integ_alg(&self) -> Option<IntegAlg> {
        self.integ.as_ref().map(IntegKey::alg)
    }
}

/// The sending half of an ESP SA.
pub struct OutboundSa {
    spi: u32,
    /// Last sequence number sent; 0 before the first packet.
    seq: u32,
    t: Transform,
    /// CBC IVs (RFC 3602 wants them unpredictable): a ChaCha20 stream
    /// seeded by the caller, so runs are reproducible.
    iv_rng: ChaCha20Rng,
    counters: SaCounters,
}

impl core::fmt::Debug for OutboundSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OutboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("seq", &self.seq)
            .field("encr", &self.t.encr)
            .field("integ", &self.t.integ_alg())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl OutboundSa {
    /// An outbound SA with the peer's `spi`. `encr_key` is the keymat for
    /// `encr` (key || 4-byte salt for GCM); `integ` must be `None` for GCM
    /// (then `integ_key` is ignored) and `Some` for CBC. `iv_seed` seeds the
    /// CBC IV generator; GCM uses the 64-bit sequence counter as its
    /// explicit IV (RFC 4106 3.1), unique under the key since sequence
    /// numbers never wrap.
    pub fn new(
        spi: u32,
        encr: EncrAlg,
        integ: Option<IntegAlg>,
        encr_key: &Secret,
        integ_key: &Secret,
        iv_seed: [u8; 32],
    ) -> Result<OutboundSa, EspError> {
        Ok(OutboundSa {
            spi,
            seq: 0,
            t: Transform::new(encr, integ, encr_key, integ_key)?,
            iv_rng: ChaCha20Rng::from_seed(iv_seed),
            counters: SaCounters::default(),
        })
    }

    /// The SPI written into each packet (chosen by the peer).
    pub fn spi(&self) -> u32 {
        self.spi
    }
    /// The encryption algorithm.
    pub fn encr(&self) -> EncrAlg {
        self.t.encr
    }
    /// The integrity algorithm (`None` for AEAD).
    pub fn integ(&self) -> Option<IntegAlg> {
        self.t.integ_alg()
    }
    /// The sequence number of the last packet sealed (0 before the first).
    pub fn last_seq(&self) -> u32 {
        self.seq
    }
    /// How many more packets this SA may seal before it must be rekeyed.
    pub fn remaining(&self) -> u32 {
        u32::MAX - self.seq
    }
    /// Traffic counters.
    pub fn counters(&self) -> SaCounters {
        self.counters
    }

    /// Bytes that [`OutboundSa::seal`] appends beyond the `inner_len` bytes
    /// of the inner packet: header, IV, padding, trailer and ICV.
    pub fn overhead(&self, inner_len: usize) -> usize {
        HEADER_LEN + self.t.iv_len + self.t.ciphertext_len(inner_len) - inner_len + self.t.icv_len
    }

    /// Largest inner packet that fits in an ESP packet of `esp_len` bytes
    /// (for MTU and MSS computations), or 0.
    pub fn max_inner_len(&self, esp_len: usize) -> usize {
        let fixed = HEADER_LEN + self.t.iv_len + self.t.icv_len;
        let ct = esp_len.saturating_sub(fixed);
        let ct = ct - ct % self.t.block_len;
        ct.saturating_sub(2)
    }

    /// Test hook: pretends `seq` packets were already sent.
    #[doc(hidden)]
    pub fn set_last_seq(&mut self, seq: u32) {
        self.seq = seq;
    }

    /// Appends the ESP packet carrying `inner` (an IPv4 packet with
    /// `next_header` 4, IPv6 with 41) to `out`. Does not allocate when `out`
    /// has `inner.len() + overhead(inner.len())` spare capacity. Fails with
    /// [`EspError::SequenceExhausted`] after 2^32 - 1 packets, leaving `out`
    /// unchanged.
    pub fn seal(
        &mut self,
        next_header: u8,
        inner: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EspError> {
        let seq = self.seq.checked_add(1).ok_or(EspError::SequenceExhausted)?;
        let t = &self.t;
        let ct_len = t.ciphertext_len(inner.len());
        let pad_len = ct_len - inner.len() - 2;
        let total = HEADER_LEN + t.iv_len + ct_len + t.icv_len;

        let mut hdr = [0u8; HEADER_LEN];
        hdr[..4].copy_from_slice(&self.spi.to_be_bytes());
        hdr[4..].copy_from_slice(&seq.to_be_bytes());
        let mut iv = [0u8; MAX_IV_LEN];
        let iv = &mut iv[..t.iv_len];
        if t.encr.is_aead() {
            iv.copy_from_slice(&u64::from(seq).to_be_bytes());
        } else {
            self.iv_rng.fill_bytes(iv);
        }

        let start = out.len();
        out.reserve(total);
        out.extend_from_slice(&hdr);
        out.extend_from_slice(iv);
        out.extend_from_slice(inner);
        out.extend_from_slice(&PAD[..pad_len]);
        out.push(pad_len as u8);
        out.push(next_header);
        out.resize(start + total, 0);

        let pkt = &mut out[start..];
        let (authed, icv) = pkt.split_at_mut(total - t.icv_len);
        let ct = &mut authed[HEADER_LEN + t.iv_len..];
        let res = match &t.integ {
            None => t.cipher.encrypt_in_place(iv, &hdr, ct, icv),
            Some(integ) => t
                .cipher
                .encrypt_in_place(iv, &[], ct, &mut [])
                .map(|()| integ.sign(authed, icv)),
        };
        if let Err(e) = res {
            out.truncate(start);
            return Err(e.into());
        }
        self.seq = seq;
        self.counters.packets += 1;
        self.counters.bytes += inner.len() as u64;
        Ok(())
    }
}

/// An opened ESP packet: the inner packet, decrypted in place inside the
/// caller's buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened<'a> {
    /// Next header: 4 (IPv4), 41 (IPv6) or 59 (a dummy packet, to be
    /// discarded).
    pub next_header: u8,
    /// The packet's sequence number.
    pub seq: u32,
    /// The inner packet.
    pub inner: &'a mut [u8],
}

/// The receiving half of an ESP SA.
pub struct InboundSa {
    spi: u32,
    t: Transform,
    window: ReplayWindow,
    counters: SaCounters,
}

impl core::fmt::Debug for InboundSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("encr", &self.t.encr)
            .field("integ", &self.t.integ_alg())
            .field("window", &self.window)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl InboundSa {
    /// An inbound SA for our `spi`, keys as for [`OutboundSa::new`], with an
    /// anti-replay window of `replay_window` packets (64..=2048; AWS's
    /// default is 1024).
    pub fn new(
        spi: u32,
        encr: EncrAlg,
        integ: Option<IntegAlg>,
        encr_key: &Secret,
        integ_key: &Secret,
        replay_window: u32,
    ) -> Result<InboundSa, EspError> {
        let window = ReplayWindow::new(replay_window)?;
        Ok(InboundSa {
            spi,
            t: Transform::new(encr, integ, encr_key, integ_key)?,
            window,
            counters: SaCounters::default(),
        })
    }

    /// Our SPI, which the peer writes into each packet.
    pub fn spi(&self) -> u32 {
        self.spi
    }
    /// The encryption algorithm.
    pub fn encr(&self) -> EncrAlg {
        self.t.encr
    }
    /// The integrity algorithm (`None` for AEAD).
    pub fn integ(&self) -> Option<IntegAlg> {
        self.t.integ_alg()
    }
    /// The anti-replay window.
    pub fn window(&self) -> &ReplayWindow {
        &self.window
    }
    /// Traffic and drop counters.
    pub fn counters(&self) -> SaCounters {
        self.counters
    }

    /// Opens `packet` (one ESP packet, from the SPI to the ICV) in place:
    /// checks the SPI, length and replay window, verifies the ICV (before
    /// decrypting, in constant time), decrypts, advances the window, checks
    /// the padding and next header. On error the packet is dropped and
    /// counted; its buffer may have been partly decrypted.
    pub fn open<'a>(&mut self, packet: &'a mut [u8]) -> Result<Opened<'a>, EspError> {
        match self.open_inner(packet) {
            Ok((next_header, seq, inner_len)) => {
                self.counters.packets += 1;
                self.counters.bytes += inner_len as u64;
                let iv_len = self.t.iv_len;
                Ok(Opened {
                    next_header,
                    seq,
                    inner: &mut packet[HEADER_LEN + iv_len..HEADER_LEN + iv_len + inner_len],
                })
            }
            Err(e) => {
                match e {
                    EspError::Replay { .. } | EspError::OutsideWindow { .. } => {
                        self.counters.replay_drops += 1
                    }
                    EspError::IntegrityCheckFailed => self.counters.auth_failures += 1,
                    _ => self.counters.invalid += 1,
                }
                Err(e)
            }
        }
    }

    /// Returns (next header, sequence number, inner length).
    fn open_inner(&mut self, packet: &mut [u8]) -> Result<(u8, u32, usize), EspError> {
        let t = &self.t;
        let len = packet.len();
        let min = HEADER_LEN + t.iv_len + t.block_len.max(4) + t.icv_len;
        if len < min {
            return Err(EspError::Truncated { len });
        }
        let spi = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]);
        if spi != self.spi {
            return Err(EspError::WrongSpi {
                expected: self.spi,
                got: spi,
            });
        }
        let seq = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        let ct_len = len - HEADER_LEN - t.iv_len - t.icv_len;
        if ct_len % t.block_len != 0 {
            return Err(EspError::CiphertextLength {
                len: ct_len,
                block: t.block_len,
            });
        }
        // Cheap check first: a replay costs no crypto.
        self.window.check(seq)?;

        let (authed, icv) = packet.split_at_mut(len - t.icv_len);
        match &t.integ {
            None => {
                let (head, ct) = authed.split_at_mut(HEADER_LEN + t.iv_len);
                let (hdr, iv) = head.split_at(HEADER_LEN);
                t.cipher.decrypt_in_place(iv, hdr, ct, icv)?;
            }
            Some(integ) => {
                integ
                    .verify(authed, icv)
                    .map_err(|_| EspError::IntegrityCheckFailed)?;
                let (head, ct) = authed.split_at_mut(HEADER_LEN + t.iv_len);
                t.cipher
                    .decrypt_in_place(&head[HEADER_LEN..], &[], ct, &[])?;
            }
        }
        // Authentic: only now may the window move (RFC 4303 3.4.3).
        self.window.accept(seq);

        let ct = &authed[HEADER_LEN + t.iv_len..];
        let next_header = ct[ct_len - 1];
        let pad_len = ct[ct_len - 2] as usize;
        let inner_len = ct_len
            .checked_sub(pad_len + 2)
            .ok_or(EspError::BadPadding)?;
        let pad_ok = ct[inner_len..inner_len + pad_len]
            .iter()
            .zip(1u8..)
            .all(|(&b, want)| b == want);
        if !pad_ok {
            return Err(EspError::BadPadding);
        }
        match next_header {
            NEXT_HEADER_IPV4 | NEXT_HEADER_IPV6 | NEXT_HEADER_NONE => {
                Ok((next_header, seq, inner_len))
            }
            other => Err(EspError::UnknownNextHeader(other)),
        }
    }
}
