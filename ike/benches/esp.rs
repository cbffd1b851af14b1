//! ESP seal + open throughput, beside the raw crypto on the same buffers.
//!
//! For each suite and inner packet size (64, 512, 1400 bytes), two
//! benchmarks in one group:
//! - `esp`: `OutboundSa::seal` into a reused buffer, then `InboundSa::open`
//!   of it (sequence numbers, IV, padding, ICV, anti-replay, counters);
//! - `raw`: the same crypto without ESP on a buffer of the length ESP
//!   encrypts (inner packet, padding and trailer):
//!   AES-GCM seal + open with aws-lc-rs `LessSafeKey`; for CBC + HMAC our
//!   `CipherKey` CBC encrypt + aws-lc-rs HMAC sign, then HMAC verify
//!   (constant-time compare of the truncated tag) + CBC decrypt.
//!
//! Throughput is inner bytes per second; the ratio esp/raw is the cost of
//! ESP itself.
//!
//! - Criterion: `cargo bench -p ike --bench esp -- --warm-up-time 1
//!   --measurement-time 3`.
//! - Ratios on a shared machine: `ESP_BENCH_RATIOS=1 cargo bench -p ike
//!   --bench esp` alternates 1 ms of ESP, 1 ms of raw and 1 ms of raw on
//!   the inner length only (no ESP trailer), 101 rounds, so all see the
//!   same load, and prints a Markdown table of median throughputs and the
//!   median per-round ratios (about 15 s in all).

use std::hint::black_box;

use aws_lc_rs::{aead, hmac};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
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

/// ESP seal + open of one inner packet through a fresh SA pair.
struct Esp {
    out: OutboundSa,
    inb: InboundSa,
    inner: Vec<u8>,
    buf: Vec<u8>,
}

impl Esp {
    fn new(encr: EncrAlg, integ: Option<IntegAlg>, ek: &Secret, ik: &Secret, len: usize) -> Esp {
        let out = OutboundSa::new(0x1000, encr, integ, ek, ik, [9; 32]).unwrap();
        let inb = InboundSa::new(0x1000, encr, integ, ek, ik, 1024).unwrap();
        let buf = Vec::with_capacity(len + out.overhead(len));
        Esp {
            out,
            inb,
            inner: key_bytes(len, 3),
            buf,
        }
    }

    fn seal_open(&mut self) {
        self.buf.clear();
        self.out
            .seal(NEXT_HEADER_IPV4, black_box(&self.inner), &mut self.buf)
            .unwrap();
        let opened = self.inb.open(&mut self.buf).unwrap();
        black_box(opened.inner.len());
    }
}

/// The raw crypto on a buffer of `len` bytes: by default the length ESP
/// encrypts for an inner packet of that size (inner, padding, pad length,
/// next header: a multiple of 4 for GCM, 16 for CBC), so the same bytes go
/// through the same crypto; [`RawBench::inner_only`] encrypts just the
/// inner length (rounded up to whole blocks for CBC).
struct RawBench {
    raw: Raw,
    buf: Vec<u8>,
    len: usize,
    counter: u64,
}

impl RawBench {
    fn new(
        encr: EncrAlg,
        integ: Option<IntegAlg>,
        ek: &Secret,
        ik: &Secret,
        len: usize,
    ) -> RawBench {
        let len = (len + 2).next_multiple_of(encr.block_len());
        RawBench::with_len(encr, integ, ek, ik, len)
    }

    fn inner_only(
        encr: EncrAlg,
        integ: Option<IntegAlg>,
        ek: &Secret,
        ik: &Secret,
        len: usize,
    ) -> RawBench {
        let len = if encr.is_aead() {
            len
        } else {
            len.next_multiple_of(16)
        };
        RawBench::with_len(encr, integ, ek, ik, len)
    }

    fn with_len(
        encr: EncrAlg,
        integ: Option<IntegAlg>,
        ek: &Secret,
        ik: &Secret,
        len: usize,
    ) -> RawBench {
        RawBench {
            raw: Raw::new(encr, integ, ek, ik),
            buf: key_bytes(len + 32, 4),
            len,
            counter: 0,
        }
    }

    fn seal_open(&mut self) {
        self.counter += 1;
        self.raw
            .seal_open(self.counter, black_box(&mut self.buf), self.len);
    }
}

fn keys(encr: EncrAlg, integ: Option<IntegAlg>) -> (Secret, Secret) {
    (
        Secret::new(key_bytes(encr.keymat_len(), 1)),
        Secret::new(key_bytes(integ.map_or(0, IntegAlg::key_len), 2)),
    )
}

fn bench(c: &mut Criterion) {
    for (encr, integ) in suites() {
        let mut group = c.benchmark_group(format!("esp/{}", suite_name(encr, integ)));
        let (ek, ik) = keys(encr, integ);
        for len in SIZES {
            group.throughput(Throughput::Bytes(len as u64));
            let mut esp = Esp::new(encr, integ, &ek, &ik, len);
            group.bench_function(BenchmarkId::new("esp", len), |b| b.iter(|| esp.seal_open()));
            assert_eq!(esp.inb.counters().packets, esp.out.counters().packets);
            let mut raw = RawBench::new(encr, integ, &ek, &ik, len);
            group.bench_function(BenchmarkId::new("raw", len), |b| b.iter(|| raw.seal_open()));
        }
        group.finish();
    }
}

/// Interleaved measurement for the ratio ESP/raw: rounds of `n` ESP
/// packets then `n` raw ones, so both see the same load on a shared
/// machine; prints the median throughputs and the median of the per-round
/// ratios as a Markdown table. Run with `ESP_BENCH_RATIOS=1`.
fn ratios() {
    use std::time::{Duration, Instant};
    fn time(n: u32, mut f: impl FnMut()) -> Duration {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed()
    }
    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    const ROUNDS: usize = 101;
    println!(
        "| suite | inner bytes | ESP MB/s | raw MB/s | ESP/raw | raw (inner only) MB/s | ESP/raw (inner only) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (encr, integ) in suites() {
        let (ek, ik) = keys(encr, integ);
        for len in SIZES {
            let mut esp = Esp::new(encr, integ, &ek, &ik, len);
            let mut raw = RawBench::new(encr, integ, &ek, &ik, len);
            let mut raw_inner = RawBench::inner_only(encr, integ, &ek, &ik, len);
            // Calibrate: about 1 ms of ESP per round.
            let once = time(1000, || esp.seal_open()).as_secs_f64() / 1000.0;
            let n = ((0.001 / once) as u32).max(10);
            let [mut e, mut r, mut q, mut ri, mut qi] = [(); 5].map(|()| Vec::new());
            for _ in 0..ROUNDS {
                let te = time(n, || esp.seal_open()).as_secs_f64();
                let tr = time(n, || raw.seal_open()).as_secs_f64();
                let ti = time(n, || raw_inner.seal_open()).as_secs_f64();
                let bytes = len as f64 * f64::from(n);
                e.push(bytes / te / 1e6);
                r.push(bytes / tr / 1e6);
                ri.push(bytes / ti / 1e6);
                q.push(tr / te);
                qi.push(ti / te);
            }
            println!(
                "| {} | {len} | {:.0} | {:.0} | {:.2} | {:.0} | {:.2} |",
                suite_name(encr, integ),
                median(&mut e),
                median(&mut r),
                median(&mut q),
                median(&mut ri),
                median(&mut qi)
            );
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    if std::env::var_os("ESP_BENCH_RATIOS").is_some() {
        ratios();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
