//! `ike::esp::InboundSa::open` on arbitrary packets and on genuine packets
//! sealed by the matching `OutboundSa`, then mutated.
//!
//! Input layout:
//!
//! ```text
//! suite (1) | window (2, BE) | inner length (1) | inner (..) | ops (..)
//! ```
//!
//! - `suite % 10` picks one of the ten suites AWS offers (AES-GCM-16
//!   128/256, AES-CBC 128/256 with four HMACs); keys are fixed.
//! - the replay window is `64 + window % 1985` (64..=2048).
//! - the first `inner length` bytes after it are sealed and opened at once:
//!   that packet must open to exactly those bytes, and never again.
//! - the rest is a script of operations (see `Op` below): seal new packets
//!   (possibly jumping the sequence number forward or backward), mutate the
//!   current packet (flip, truncate, extend, rewrite the sequence number),
//!   open it, or open raw bytes from the input.
//!
//! Properties: nothing panics; an opened packet's inner part is no longer
//! than the packet; an unmodified sealed packet whose sequence number the
//! window admits opens to exactly its inner bytes; no sequence number (and
//! so no packet) is ever opened twice.
#![no_main]

use std::collections::HashSet;

use ike::crypto::{EncrAlg, IntegAlg, Secret};
use ike::esp::{EspError, InboundSa, OutboundSa, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6};
use libfuzzer_sys::fuzz_target;

const SPI: u32 = 0xc0de_0001;

const SUITES: [(EncrAlg, Option<IntegAlg>); 10] = [
    (EncrAlg::AesGcm16 { key_bits: 128 }, None),
    (EncrAlg::AesGcm16 { key_bits: 256 }, None),
    (
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha1_96),
    ),
    (
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha256_128),
    ),
    (
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha384_192),
    ),
    (
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha512_256),
    ),
    (
        EncrAlg::AesCbc { key_bits: 256 },
        Some(IntegAlg::HmacSha1_96),
    ),
    (
        EncrAlg::AesCbc { key_bits: 256 },
        Some(IntegAlg::HmacSha256_128),
    ),
    (
        EncrAlg::AesCbc { key_bits: 256 },
        Some(IntegAlg::HmacSha384_192),
    ),
    (
        EncrAlg::AesCbc { key_bits: 256 },
        Some(IntegAlg::HmacSha512_256),
    ),
];

/// Fixed key bytes: 0x01, 0x02, ... (the encryption key), 0x81, 0x82, ...
/// (the HMAC key).
fn keys(encr: EncrAlg, integ: Option<IntegAlg>) -> (Secret, Secret) {
    let e: Vec<u8> = (1..=encr.keymat_len() as u8).collect();
    let i: Vec<u8> = (0..integ.map_or(0, |a| a.key_len()) as u8)
        .map(|b| 0x81u8.wrapping_add(b))
        .collect();
    (Secret::new(e), Secret::new(i))
}

/// A cursor over the input; reads past the end give zeros / empty slices.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u8(&mut self) -> u8 {
        self.byte().unwrap_or(0)
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

/// The current packet: its bytes, and what it carried when sealed (or
/// `None` once mutated or for raw input).
struct Current {
    bytes: Vec<u8>,
    pristine: Option<(u8, Vec<u8>)>,
}

struct Harness {
    inb: InboundSa,
    out: OutboundSa,
    /// Sequence numbers opened so far.
    opened: HashSet<u32>,
}

impl Harness {
    fn seal(&mut self, next_header: u8, inner: &[u8]) -> Option<Current> {
        let mut bytes = Vec::new();
        match self.out.seal(next_header, inner, &mut bytes) {
            Ok(()) => {
                assert_eq!(bytes.len(), inner.len() + self.out.overhead(inner.len()));
                Some(Current {
                    bytes,
                    pristine: Some((next_header, inner.to_vec())),
                })
            }
            Err(EspError::SequenceExhausted) => {
                assert!(bytes.is_empty(), "a failed seal must leave out unchanged");
                None
            }
            Err(e) => panic!("seal failed: {e}"),
        }
    }

    /// Opens a copy of `cur`; checks the properties; returns whether it
    /// opened.
    fn open(&mut self, cur: &Current) -> bool {
        let mut buf = cur.bytes.clone();
        let len = buf.len();
        let seq = (len >= 8).then(|| u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]));
        // The window's verdict before the packet is seen.
        let admissible = seq.is_some_and(|s| self.inb.window().check(s).is_ok());
        let before = self.inb.counters();
        let res = self.inb.open(&mut buf);
        let after = self.inb.counters();
        match res {
            Ok(opened) => {
                assert!(opened.inner.len() <= len);
                assert!(len >= ike::esp::HEADER_LEN);
                assert_eq!(Some(opened.seq), seq);
                assert!(
                    self.opened.insert(opened.seq),
                    "sequence number {} opened twice",
                    opened.seq
                );
                if let Some((nh, inner)) = &cur.pristine {
                    assert_eq!(opened.next_header, *nh);
                    assert_eq!(&opened.inner[..], &inner[..]);
                }
                assert_eq!(after.packets, before.packets + 1);
                assert_eq!(after.bytes, before.bytes + opened.inner.len() as u64);
                true
            }
            Err(e) => {
                if let Some((_, _)) = &cur.pristine {
                    assert!(!admissible, "an admissible unmodified packet failed: {e}");
                }
                assert_eq!(after.packets, before.packets);
                let drops = (after.replay_drops - before.replay_drops)
                    + (after.auth_failures - before.auth_failures)
                    + (after.invalid - before.invalid);
                assert_eq!(drops, 1, "each failed open counts exactly one drop");
                false
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let (encr, integ) = SUITES[usize::from(input.u8()) % SUITES.len()];
    let window = 64 + u32::from(input.u16()) % (2048 - 64 + 1);
    let (ek, ik) = keys(encr, integ);
    let inb = InboundSa::new(SPI, encr, integ, &ek, &ik, window).expect("inbound SA");
    let out = OutboundSa::new(SPI, encr, integ, &ek, &ik, [7; 32]).expect("outbound SA");
    let mut h = Harness {
        inb,
        out,
        opened: HashSet::new(),
    };

    // The first packet: sealed and opened unmodified, then replayed.
    let n = usize::from(input.u8());
    let inner = input.bytes(n);
    let first = h.seal(NEXT_HEADER_IPV4, inner).expect("first seal");
    assert!(h.open(&first), "a fresh sealed packet must open");
    assert!(!h.open(&first), "a replayed packet must not open");

    let mut cur = first;
    // Bound the work per input.
    for _ in 0..64 {
        let Some(op) = input.byte() else { break };
        match op % 10 {
            // Seal a new packet after the last one.
            0 => {
                let n = usize::from(input.u8()) * 8;
                let inner = input.bytes(n);
                let nh = if op & 0x80 != 0 {
                    NEXT_HEADER_IPV6
                } else {
                    NEXT_HEADER_IPV4
                };
                if let Some(c) = h.seal(nh, inner) {
                    cur = c;
                }
            }
            // Jump the sender's sequence number forward or backward, then
            // seal (reaches the window's shifts and its left edge).
            1 => {
                let delta = input.u32() >> (op >> 3);
                let last = h.out.last_seq();
                let seq = if op & 0x4 != 0 {
                    last.saturating_sub(delta)
                } else {
                    last.saturating_add(delta)
                };
                h.out.set_last_seq(seq);
                let n = usize::from(input.u8());
                let inner = input.bytes(n);
                if let Some(c) = h.seal(NEXT_HEADER_IPV4, inner) {
                    cur = c;
                }
            }
            // Open (a copy of) the current packet.
            2 | 3 => {
                h.open(&cur);
            }
            // Flip bits in one byte.
            4 => {
                let pos = usize::from(input.u16());
                let x = input.u8().max(1);
                if !cur.bytes.is_empty() {
                    let i = pos % cur.bytes.len();
                    cur.bytes[i] ^= x;
                    cur.pristine = None;
                }
            }
            // Truncate.
            5 => {
                let cut = usize::from(input.u16()) % (cur.bytes.len() + 1);
                cur.bytes.truncate(cur.bytes.len() - cut);
                if cut > 0 {
                    cur.pristine = None;
                }
            }
            // Extend with bytes from the input.
            6 => {
                let n = usize::from(input.u8());
                cur.bytes.extend_from_slice(input.bytes(n));
                if n > 0 {
                    cur.pristine = None;
                }
            }
            // Rewrite the sequence number (the ICV no longer matches).
            7 => {
                let seq = input.u32();
                if cur.bytes.len() >= 8 {
                    if cur.bytes[4..8] != seq.to_be_bytes() {
                        cur.pristine = None;
                    }
                    cur.bytes[4..8].copy_from_slice(&seq.to_be_bytes());
                }
            }
            // A raw packet from the input, with our SPI (so that it gets
            // past the SPI check) unless bit 7 is set.
            8 => {
                let n = usize::from(input.u16()) % 2048;
                let mut bytes = input.bytes(n).to_vec();
                if op & 0x80 == 0 && bytes.len() >= 4 {
                    bytes[..4].copy_from_slice(&SPI.to_be_bytes());
                }
                cur = Current {
                    bytes,
                    pristine: None,
                };
                h.open(&cur);
            }
            // Seal a packet whose trailer the fuzzer controls: the inner
            // bytes are sealed with next header `nh`, so bad next headers
            // reach the post-ICV checks.
            _ => {
                let nh = input.u8();
                let n = usize::from(input.u8());
                let inner = input.bytes(n);
                if let Some(c) = h.seal(nh, inner) {
                    let accept = matches!(nh, 4 | 41 | 59);
                    cur = Current {
                        pristine: accept.then_some((nh, inner.to_vec())),
                        bytes: c.bytes,
                    };
                }
            }
        }
    }
    let c = h.inb.counters();
    assert_eq!(c.packets as usize, h.opened.len());
});
