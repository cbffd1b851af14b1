//! ESP seal + open throughput, beside the raw crypto on the same buffers.
//!
//! For each suite and inner packet size, two benchmarks in one group:
//! - `esp`: `OutboundSa::seal` into a reused buffer, then `InboundSa::open`
//!   of it (sequence numbers, IV, padding, ICV, anti-replay, counters);
//! - `raw`: the same crypto without ESP on a buffer of the same size:
//!   AES-GCM seal + open with aws-lc-rs `LessSafeKey`; for CBC + HMAC our
//!   `CipherKey` CBC encrypt + aws-lc-rs HMAC sign, then HMAC verify
//!   (constant-time compare of the truncated tag) + CBC decrypt.
//!
//! Throughput is inner bytes per second; the ratio esp/raw is the cost of
//! ESP itself. Run: `cargo bench -p ike --bench esp -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;

use aws_lc_rs::{aead, hmac};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ike::crypto::{CipherKey, EncrAlg, IntegAlg, Secret};
use ike::esp::{InboundSa, OutboundSa, NEXT_HEADER_IPV4};
use subtle::ConstantTimeEq;

const SIZES: [usize; 3] = [64, 512, 1400];

fn key_bytes(len: usize, tag: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(tag))
        .collect()
}

fn suites() -> Vec<(EncrAlg, Option<IntegAlg>)> {
    let mut v = vec![
        (EncrAlg::AesGcm16 { key_bits: 128 }, None),
        (EncrAlg::AesGcm16 { key_bits: 256 }, None),
    ];
    for key_bits in [128, 256] {
        for integ in [
            IntegAlg::HmacSha1_96,
            IntegAlg::HmacSha256_128,
            IntegAlg::HmacSha384_192,
            IntegAlg::HmacSha512_256,
        ] {
            v.push((EncrAlg::AesCbc { key_bits }, Some(integ)));
        }
    }
    v
}

fn suite_name(encr: EncrAlg, integ: Option<IntegAlg>) -> String {
    match integ {
        None => encr.name(),
        Some(i) => format!("{}-{:?}", encr.name(), i),
    }
}

/// The raw crypto of one suite.
#[allow(clippy::large_enum_variant)]
enum Raw {
    Gcm(aead::LessSafeKey),
    CbcHmac {
        cipher: CipherKey,
        hmac: hmac::Key,
        icv_len: usize,
    },
}

impl Raw {
    fn new(encr: EncrAlg, integ: Option<IntegAlg>, ek: &Secret, ik: &Secret) -> Raw {
        match integ {
            None => {
                let alg = if encr.key_bits() == 128 {
                    &aead::AES_128_GCM
                } else {
                    &aead::AES_256_GCM
                };
                let key = &ek.expose()[..encr.key_bits() as usize / 8];
                Raw::Gcm(aead::LessSafeKey::new(
                    aead::UnboundKey::new(alg, key).unwrap(),
                ))
            }
            Some(i) => {
                let alg = match i {
                    IntegAlg::HmacSha1_96 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                    IntegAlg::HmacSha256_128 => hmac::HMAC_SHA256,
                    IntegAlg::HmacSha384_192 => hmac::HMAC_SHA384,
                    IntegAlg::HmacSha512_256 => hmac::HMAC_SHA512,
                };
                Raw::CbcHmac {
                    cipher: CipherKey::new(encr, ek).unwrap(),
                    hmac: hmac::Key::new(alg, ik.expose()),
                    icv_len: i.icv_len(),
                }
            }
        }
    }

    /// Encrypts and authenticates `buf` in place, then verifies and
    /// decrypts it. `buf` is plaintext | room for the tag.
    fn seal_open(&self, counter: u64, buf: &mut [u8], len: usize) {
        match self {
            Raw::Gcm(key) => {
                let mut n = [0u8; 12];
                n[4..].copy_from_slice(&counter.to_be_bytes());
                let aad = [0u8; 8];
                let tag = key
                    .seal_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(n),
                        aead::Aad::from(aad),
                        &mut buf[..len],
                    )
                    .unwrap();
                let (pt, t) = buf.split_at_mut(len);
                t[..16].copy_from_slice(tag.as_ref());
                key.open_in_place_separate_tag(
                    aead::Nonce::assume_unique_for_key(n),
                    aead::Aad::from(aad),
                    &t[..16],
                    pt,
                )
                .unwrap();
            }
            Raw::CbcHmac {
                cipher,
                hmac: key,
                icv_len,
            } => {
                let iv = [7u8; 16];
                let (data, icv) = buf.split_at_mut(len);
                cipher.encrypt_in_place(&iv, &[], data, &mut []).unwrap();
                let tag = hmac::sign(key, data);
                icv[..*icv_len].copy_from_slice(&tag.as_ref()[..*icv_len]);
                let check = hmac::sign(key, data);
                assert!(bool::from(
                    check.as_ref()[..*icv_len].ct_eq(&icv[..*icv_len])
                ));
                cipher.decrypt_in_place(&iv, &[], data, &[]).unwrap();
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    for (encr, integ) in suites() {
        let mut group = c.benchmark_group(format!("esp/{}", suite_name(encr, integ)));
        let ek = Secret::new(key_bytes(encr.keymat_len(), 1));
        let ik = Secret::new(key_bytes(integ.map_or(0, IntegAlg::key_len), 2));
        for len in SIZES {
            group.throughput(Throughput::Bytes(len as u64));
            let inner = key_bytes(len, 3);

            let mut out = OutboundSa::new(0x1000, encr, integ, &ek, &ik, [9; 32]).unwrap();
            let mut inb = InboundSa::new(0x1000, encr, integ, &ek, &ik, 1024).unwrap();
            let mut buf = Vec::with_capacity(len + out.overhead(len));
            group.bench_function(BenchmarkId::new("esp", len), |b| {
                b.iter(|| {
                    buf.clear();
                    out.seal(NEXT_HEADER_IPV4, black_box(&inner), &mut buf)
                        .unwrap();
                    let opened = inb.open(&mut buf).unwrap();
                    black_box(opened.inner.len());
                })
            });
            assert_eq!(inb.counters().packets, out.counters().packets);

            // Raw: the same number of bytes through the same crypto. CBC
            // needs whole blocks; ESP pads, raw encrypts the block-rounded
            // length too.
            let raw = Raw::new(encr, integ, &ek, &ik);
            let raw_len = if encr.is_aead() {
                len
            } else {
                len.next_multiple_of(16)
            };
            let mut rbuf = key_bytes(raw_len + 32, 4);
            let mut counter = 0u64;
            group.bench_function(BenchmarkId::new("raw", len), |b| {
                b.iter(|| {
                    counter += 1;
                    raw.seal_open(counter, black_box(&mut rbuf), raw_len);
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
