use super::*;
use crate::crypto::{CipherKey, EncrAlg, IntegAlg, IntegKey, Secret};

const GCM128: EncrAlg = EncrAlg::AesGcm16 { key_bits: 128 };
const GCM256: EncrAlg = EncrAlg::AesGcm16 { key_bits: 256 };
const CBC128: EncrAlg = EncrAlg::AesCbc { key_bits: 128 };
const CBC256: EncrAlg = EncrAlg::AesCbc { key_bits: 256 };
const INTEGS: [IntegAlg; 4] = [
    IntegAlg::HmacSha1_96,
    IntegAlg::HmacSha256_128,
    IntegAlg::HmacSha384_192,
    IntegAlg::HmacSha512_256,
];

const SPI: u32 = 0xc0de_0001;

/// Every suite: GCM-128/256, and CBC-128/256 with each HMAC.
fn suites() -> Vec<(EncrAlg, Option<IntegAlg>)> {
    let mut v = vec![(GCM128, None), (GCM256, None)];
    for encr in [CBC128, CBC256] {
        for integ in INTEGS {
            v.push((encr, Some(integ)));
        }
    }
    v
}

fn bytes(len: usize, tag: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(tag))
        .collect()
}

fn keys(encr: EncrAlg, integ: Option<IntegAlg>) -> (Secret, Secret) {
    (
        Secret::new(bytes(encr.keymat_len(), 7)),
        Secret::new(bytes(integ.map_or(0, IntegAlg::key_len), 99)),
    )
}

fn pair(encr: EncrAlg, integ: Option<IntegAlg>, window: u32) -> (OutboundSa, InboundSa) {
    let (ek, ik) = keys(encr, integ);
    (
        OutboundSa::new(SPI, encr, integ, &ek, &ik, [5; 32]).unwrap(),
        InboundSa::new(SPI, encr, integ, &ek, &ik, window).unwrap(),
    )
}

/// A plausible inner packet of `len` bytes: IPv4 (first nibble 4) or IPv6
/// (first nibble 6) by next header.
fn inner_packet(next_header: u8, len: usize) -> Vec<u8> {
    let mut p = bytes(len, len as u8);
    if let Some(b) = p.first_mut() {
        *b = if next_header == NEXT_HEADER_IPV4 {
            0x45
        } else {
            0x60
        };
    }
    p
}

fn seal(out: &mut OutboundSa, nh: u8, inner: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    out.seal(nh, inner, &mut buf).unwrap();
    buf
}

#[test]
fn round_trip_every_suite_every_length() {
    for (encr, integ) in suites() {
        let (mut out, mut inb) = pair(encr, integ, DEFAULT_REPLAY_WINDOW);
        let mut total = 0u64;
        let mut n = 0u64;
        let lens: Vec<usize> = (0..=300).chain([1400, 1500]).collect();
        for &len in &lens {
            for nh in [NEXT_HEADER_IPV4, NEXT_HEADER_IPV6] {
                let inner = inner_packet(nh, len);
                let mut buf = Vec::with_capacity(len + out.overhead(len));
                let cap = buf.capacity();
                let ptr = buf.as_ptr();
                out.seal(nh, &inner, &mut buf).unwrap();
                // No reallocation when the capacity was right.
                assert_eq!(buf.capacity(), cap);
                assert_eq!(buf.as_ptr(), ptr);
                assert_eq!(
                    buf.len(),
                    len + out.overhead(len),
                    "{encr:?} {integ:?} {len}"
                );
                assert!(out.max_inner_len(buf.len()) >= len);
                assert!(out.max_inner_len(buf.len()) < len + encr.block_len());
                // Layout: SPI, seq, IV; ciphertext a whole number of blocks.
                let icv = integ.map_or(16, IntegAlg::icv_len);
                let ct = buf.len() - 8 - encr.iv_len() - icv;
                assert_eq!(ct % encr.block_len(), 0);
                assert!(ct >= len + 2 && ct < len + 2 + encr.block_len());
                assert_eq!(spi_of(&buf), Some(SPI));
                let view = EspPacket::new_checked(&buf[..]).unwrap();
                assert_eq!(view.seq(), out.last_seq());
                if encr.is_aead() {
                    // Explicit IV = 64-bit sequence counter.
                    assert_eq!(&buf[8..16], &u64::from(view.seq()).to_be_bytes());
                }
                let opened = inb.open(&mut buf).unwrap();
                assert_eq!(opened.next_header, nh);
                assert_eq!(opened.seq, out.last_seq());
                assert_eq!(&opened.inner[..], &inner[..]);
                total += len as u64;
                n += 1;
            }
        }
        assert_eq!(out.counters().packets, n);
        assert_eq!(out.counters().bytes, total);
        assert_eq!(inb.counters().packets, n);
        assert_eq!(inb.counters().bytes, total);
        assert_eq!(inb.counters().replay_drops, 0);
        assert_eq!(out.remaining(), u32::MAX - n as u32);
    }
}

#[test]
fn seal_appends_after_existing_bytes() {
    for (encr, integ) in suites() {
        let (mut out, mut inb) = pair(encr, integ, 64);
        let mut buf = b"prefix".to_vec();
        out.seal(4, &[0x45; 40], &mut buf).unwrap();
        assert_eq!(&buf[..6], b"prefix");
        let opened = inb.open(&mut buf[6..]).unwrap();
        assert_eq!(&opened.inner[..], &[0x45; 40]);
    }
}

#[test]
fn cbc_ivs_are_fresh_and_deterministic() {
    let integ = Some(IntegAlg::HmacSha256_128);
    let (mut a, _) = pair(CBC128, integ, 64);
    let (mut b, _) = pair(CBC128, integ, 64);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        let pa = seal(&mut a, 4, &[1; 20]);
        let pb = seal(&mut b, 4, &[1; 20]);
        assert_eq!(pa, pb, "same seed, same bytes");
        assert!(seen.insert(pa[8..24].to_vec()), "IV repeated");
    }
    let (ek, ik) = keys(CBC128, integ);
    let mut c = OutboundSa::new(SPI, CBC128, integ, &ek, &ik, [6; 32]).unwrap();
    let pc = seal(&mut c, 4, &[1; 20]);
    assert!(!seen.contains(&pc[8..24]), "another seed, other IVs");
}

#[test]
fn tamper_every_byte() {
    for (encr, integ) in suites() {
        for len in [0, 1, 15, 16, 64, 100] {
            let (mut out, mut inb) = pair(encr, integ, 64);
            let inner = inner_packet(4, len);
            let pkt = seal(&mut out, 4, &inner);
            let seq = out.last_seq();
            for i in 0..pkt.len() {
                for mask in [0x01u8, 0x80] {
                    let mut bad = pkt.clone();
                    bad[i] ^= mask;
                    let got = inb.open(&mut bad).unwrap_err();
                    let want = match i {
                        0..4 => EspError::WrongSpi {
                            expected: SPI,
                            got: u32::from_be_bytes(bad[..4].try_into().unwrap()),
                        },
                        4..8 => match u32::from_be_bytes(bad[4..8].try_into().unwrap()) {
                            0 => EspError::OutsideWindow { seq: 0 },
                            _ => EspError::IntegrityCheckFailed,
                        },
                        _ => EspError::IntegrityCheckFailed,
                    };
                    assert_eq!(
                        got, want,
                        "{encr:?} {integ:?} len {len} byte {i} mask {mask:#x}"
                    );
                }
            }
            // Failures did not move the window: the genuine packet opens.
            let mut good = pkt.clone();
            assert_eq!(inb.open(&mut good).unwrap().seq, seq);
            let c = inb.counters();
            assert_eq!(c.packets, 1);
            assert!(c.auth_failures > 0);
            assert_eq!(
                c.auth_failures + c.invalid + c.replay_drops,
                2 * pkt.len() as u64
            );
        }
    }
}

#[test]
fn truncated_and_misaligned() {
    for (encr, integ) in suites() {
        let (mut out, mut inb) = pair(encr, integ, 64);
        let pkt = seal(&mut out, 4, &[0x45; 33]);
        for cut in 0..pkt.len() {
            let mut short = pkt[..cut].to_vec();
            let e = inb.open(&mut short).unwrap_err();
            assert!(
                matches!(
                    e,
                    EspError::Truncated { .. }
                        | EspError::CiphertextLength { .. }
                        | EspError::IntegrityCheckFailed
                ),
                "{encr:?} cut {cut}: {e:?}"
            );
        }
        let mut long = pkt.clone();
        long.push(0);
        assert!(inb.open(&mut long).is_err());
        for garbage in [&[][..], &[0u8; 3][..], &[0xff; 7][..]] {
            let mut g = garbage.to_vec();
            assert!(matches!(
                inb.open(&mut g).unwrap_err(),
                EspError::Truncated { .. }
            ));
        }
        let mut good = pkt.clone();
        inb.open(&mut good).unwrap();
    }
}

#[test]
fn replay_and_window_edges() {
    for window in [64, 1024, 2048] {
        for (encr, integ) in [(GCM128, None), (CBC256, Some(IntegAlg::HmacSha1_96))] {
            let (mut out, mut inb) = pair(encr, integ, window);
            let n = window as usize + 10;
            let pkts: Vec<Vec<u8>> = (0..n)
                .map(|i| seal(&mut out, 4, &bytes(i % 50, 1)))
                .collect();
            // Deliver only the newest; everything back to the left edge
            // is still acceptable, one further is not.
            let last = n as u32;
            inb.open(&mut pkts[n - 1].clone()).unwrap();
            assert_eq!(inb.window().highest(), last);
            assert_eq!(
                inb.open(&mut pkts[n - 1].clone()).unwrap_err(),
                EspError::Replay { seq: last }
            );
            let left = last - window + 1;
            let outside = left - 1;
            assert_eq!(
                inb.open(&mut pkts[outside as usize - 1].clone())
                    .unwrap_err(),
                EspError::OutsideWindow { seq: outside }
            );
            assert_eq!(
                inb.open(&mut pkts[left as usize - 1].clone()).unwrap().seq,
                left
            );
            assert_eq!(
                inb.open(&mut pkts[left as usize - 1].clone()).unwrap_err(),
                EspError::Replay { seq: left }
            );
            // Out of order inside the window: each exactly once.
            for s in (left + 1..last).rev() {
                inb.open(&mut pkts[s as usize - 1].clone()).unwrap();
            }
            for s in left..=last {
                assert_eq!(
                    inb.open(&mut pkts[s as usize - 1].clone()).unwrap_err(),
                    EspError::Replay { seq: s }
                );
            }
            let c = inb.counters();
            assert_eq!(c.packets, window as u64);
            assert_eq!(c.replay_drops, 3 + window as u64);
        }
    }
}

#[test]
fn far_ahead_then_old() {
    let (mut out, mut inb) = pair(GCM256, None, 64);
    let first = seal(&mut out, 4, &[0x45; 20]);
    out.set_last_seq(1_000_000);
    let far = seal(&mut out, 4, &[0x45; 20]);
    inb.open(&mut far.clone()).unwrap();
    assert_eq!(
        inb.open(&mut first.clone()).unwrap_err(),
        EspError::OutsideWindow { seq: 1 }
    );
}

#[test]
fn forged_packet_does_not_move_window() {
    let (mut out, mut inb) = pair(GCM128, None, 64);
    let p1 = seal(&mut out, 4, &[0x45; 20]);
    // A forged packet far ahead: fails its ICV, window stays.
    out.set_last_seq(10_000);
    let mut forged = seal(&mut out, 4, &[0x45; 20]);
    let l = forged.len();
    forged[l - 1] ^= 1;
    assert_eq!(
        inb.open(&mut forged).unwrap_err(),
        EspError::IntegrityCheckFailed
    );
    assert_eq!(inb.window().highest(), 0);
    inb.open(&mut p1.clone()).unwrap();
}

#[test]
fn invalid_window_sizes() {
    let (ek, _) = keys(GCM128, None);
    for w in [0, 32, 63, 2049, 4096] {
        assert_eq!(
            InboundSa::new(SPI, GCM128, None, &ek, &Secret::new(vec![]), w).unwrap_err(),
            EspError::InvalidReplayWindow(w)
        );
    }
}

#[test]
fn sequence_exhaustion() {
    for (encr, integ) in [(GCM128, None), (CBC128, Some(IntegAlg::HmacSha256_128))] {
        let (mut out, mut inb) = pair(encr, integ, 64);
        out.set_last_seq(u32::MAX - 1);
        assert_eq!(out.remaining(), 1);
        let last = seal(&mut out, 41, &[0x60; 40]);
        assert_eq!(out.last_seq(), u32::MAX);
        assert_eq!(out.remaining(), 0);
        assert_eq!(inb.open(&mut last.clone()).unwrap().seq, u32::MAX);
        let mut buf = b"keep".to_vec();
        assert_eq!(
            out.seal(41, &[0x60; 40], &mut buf),
            Err(EspError::SequenceExhausted)
        );
        assert_eq!(buf, b"keep");
        assert_eq!(out.last_seq(), u32::MAX);
        assert_eq!(out.counters().packets, 1);
    }
}

/// Builds an ESP packet by hand around `plaintext` (which must already
/// include padding, pad length and next header), with a valid ICV.
fn raw_packet(encr: EncrAlg, integ: Option<IntegAlg>, seq: u32, plaintext: &[u8]) -> Vec<u8> {
    let (ek, ik) = keys(encr, integ);
    let cipher = CipherKey::new(encr, &ek).unwrap();
    let mut pkt = Vec::new();
    pkt.extend_from_slice(&SPI.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    let iv = bytes(encr.iv_len(), 42);
    pkt.extend_from_slice(&iv);
    let mut ct = plaintext.to_vec();
    match integ {
        None => {
            let mut tag = [0u8; 16];
            cipher
                .encrypt_in_place(&iv, &pkt[..8], &mut ct, &mut tag)
                .unwrap();
            pkt.extend_from_slice(&ct);
            pkt.extend_from_slice(&tag);
        }
        Some(alg) => {
            cipher.encrypt_in_place(&iv, &[], &mut ct, &mut []).unwrap();
            pkt.extend_from_slice(&ct);
            let mut icv = vec![0u8; alg.icv_len()];
            IntegKey::new(alg, &ik).unwrap().sign(&pkt, &mut icv);
            pkt.extend_from_slice(&icv);
        }
    }
    pkt
}

#[test]
fn padding_checked_after_valid_icv() {
    for (encr, integ) in suites() {
        let (_, mut inb) = pair(encr, integ, 64);
        let blk = encr.block_len().max(16);
        let mut seq = 0;
        let mut open = |pt: &[u8]| {
            seq += 1;
            let mut p = raw_packet(encr, integ, seq, pt);
            inb.open(&mut p).map(|o| (o.next_header, o.inner.len()))
        };
        // Well formed: 12 inner bytes, pad 1 2, pad length 2, next header 4.
        let mut pt = vec![0x45; blk];
        pt[blk - 4..].copy_from_slice(&[1, 2, 2, 4]);
        assert_eq!(open(&pt), Ok((4, blk - 4)));
        // Wrong pad byte values.
        pt[blk - 4..].copy_from_slice(&[2, 1, 2, 4]);
        assert_eq!(open(&pt), Err(EspError::BadPadding));
        pt[blk - 4..].copy_from_slice(&[0, 0, 2, 4]);
        assert_eq!(open(&pt), Err(EspError::BadPadding));
        // Pad length longer than the plaintext.
        pt[blk - 2] = blk as u8 - 1;
        assert_eq!(open(&pt), Err(EspError::BadPadding));
        pt[blk - 2] = 255;
        assert_eq!(open(&pt), Err(EspError::BadPadding));
        // Pad length exactly filling the plaintext: empty inner packet.
        let mut full: Vec<u8> = (1..=blk as u8 - 2).collect();
        full.extend_from_slice(&[blk as u8 - 2, 41]);
        assert_eq!(open(&full), Ok((41, 0)));
        // Long but valid padding (RFC 4303 allows up to 255).
        let mut long = vec![0x60; 3];
        long.extend(1..=(3 * blk as u8 - 5));
        long.extend_from_slice(&[3 * blk as u8 - 5, 41]);
        assert_eq!(open(&long), Ok((41, 3)));
        // Unknown next header, dummy packet.
        pt[blk - 4..].copy_from_slice(&[1, 2, 2, 17]);
        assert_eq!(open(&pt), Err(EspError::UnknownNextHeader(17)));
        pt[blk - 4..].copy_from_slice(&[1, 2, 2, NEXT_HEADER_NONE]);
        assert_eq!(open(&pt), Ok((NEXT_HEADER_NONE, blk - 4)));
        let c = inb.counters();
        assert_eq!((c.packets, c.invalid, c.auth_failures), (4, 5, 0));
        // Authentic but malformed packets still consumed their sequence
        // numbers.
        assert_eq!(inb.window().highest(), 9);
    }
}

#[test]
fn gcm_ciphertext_must_be_four_byte_aligned() {
    let (_, mut inb) = pair(GCM128, None, 64);
    let mut p = raw_packet(GCM128, None, 1, &[0x45, 0x00, 0, 4, 0x45]);
    assert_eq!(
        inb.open(&mut p).unwrap_err(),
        EspError::CiphertextLength { len: 5, block: 4 }
    );
}

#[test]
fn transform_and_key_errors() {
    let s = |n| Secret::new(vec![1; n]);
    assert!(matches!(
        OutboundSa::new(
            1,
            GCM128,
            Some(IntegAlg::HmacSha1_96),
            &s(20),
            &s(20),
            [0; 32]
        ),
        Err(EspError::InvalidTransforms(_))
    ));
    assert!(matches!(
        InboundSa::new(1, CBC128, None, &s(16), &s(0), 64),
        Err(EspError::InvalidTransforms(_))
    ));
    assert_eq!(
        OutboundSa::new(1, GCM128, None, &s(16), &s(0), [0; 32]).unwrap_err(),
        EspError::KeyLength {
            what: "AES-GCM key and salt",
            need: 20,
            have: 16
        }
    );
    assert!(matches!(
        InboundSa::new(1, CBC256, Some(IntegAlg::HmacSha1_96), &s(32), &s(32), 64),
        Err(EspError::KeyLength {
            need: 20,
            have: 32,
            ..
        })
    ));
    assert!(matches!(
        InboundSa::new(1, CBC256, Some(IntegAlg::HmacSha1_96), &s(16), &s(20), 64),
        Err(EspError::KeyLength {
            need: 32,
            have: 16,
            ..
        })
    ));
}

#[test]
fn spi_demux() {
    assert_eq!(spi_of(&[]), None);
    assert_eq!(spi_of(&[0, 0, 0, 1, 0, 0, 0]), None);
    assert_eq!(spi_of(&[0, 0, 0, 0, 0, 0, 0, 1]), None);
    assert_eq!(
        spi_of(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]),
        Some(0xdead_beef)
    );
    let (mut out, mut inb) = pair(GCM128, None, 64);
    let mut p = seal(&mut out, 4, &[0x45; 20]);
    p[3] ^= 1;
    assert_eq!(
        inb.open(&mut p).unwrap_err(),
        EspError::WrongSpi {
            expected: SPI,
            got: SPI ^ 1
        }
    );
}

#[test]
fn debug_does_not_leak_keys() {
    let (out, inb) = pair(CBC128, Some(IntegAlg::HmacSha1_96), 64);
    let s = format!("{out:?} {inb:?}");
    assert!(s.contains("0xc0de0001"), "{s}");
    // The key bytes are 7, 38, 69, ...: no run of them should appear.
    assert!(!s.contains("[7, 38"), "{s}");
}

/// Packets captured between two strongSwan 5.9.8 daemons (kernel-libipsec,
/// AES-GCM-16-128, ESP in UDP 4500):
/// /work/shared/real-peers/configs/wireshark/sample-wan0.pcapng, frames
/// 5, 17 (SPI 0x0d43c978) and 6, 16 (SPI 0x9456bacc), keys from `esp_sa`
/// there; the expected plaintext is what Wireshark decrypts.
#[test]
fn known_answer_strongswan_gcm() {
    struct Frame {
        esp: &'static str,
        inner: &'static str,
        seq: u32,
    }
    let sa1 = (
        0x0d43_c978u32,
        "858b32c8f06d1c3fa7ec9717e43291c8cd9db29b",
        [
            Frame {
                seq: 1,
                esp: "0d43c9780000000194d07526341a4ce105026edf006d1607fa0ca22dc470464b67239f871ec7c816258d6fd735fd5e32d2458990161692df6859f8e0edcfe56cf4c604ce67779b4c9b16aa1611dfb69e4a3fedfd5fd6c76880e38a6e24c707641e1bd523087a2dca490d544281e455e51cc8d56a64ff327e",
                inner: "450000545e70400040017439a9fe0a01a9fe0a02080081526b5300018174036b00000000c2a6050000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
            },
            Frame {
                seq: 5,
                esp: "0d43c9780000000594d07526341a4ce5fd182947cae087fbfcabdbd6b0b0ef7707815228b48f71cacdee1daeb490e5100e0f36970ae7ae9a9106dfa9f8e4e15cc3cc1ea3a31c52c4d299f6c162822386060cf825b0d612833221be01dd9b9e75f8527efca985fe0d3b8aaac3e4b7593911f0d0da71a07ced920fb1f330d069e0dd8d7e27d88d68f6e01a5f78",
                inner: "45c00069f40d400001061cc2a9fe0a01a9fe0a0200b3e06780cab774010b21ef80180040b31d00000101080a261984b50410209fffffffffffffffffffffffffffffffff00350104fde8001ea9fe0a0118021601040001000102004002007841040000fde846004700",
            },
        ],
    );
    let sa2 = (
        0x9456_baccu32,
        "86b4f0d41c3214321221e9728de3489a23875298",
        [
            Frame {
                seq: 1,
                esp: "9456bacc0000000157b4b425c720724e895dfa35e2c71baec557bc7cf001f36d84737efb203faf1016eaa79e981ddfe73738c28189ce9dd59101abab143673da1fdbe98105bfb3968333f598fcd983b4a9fceecbbf8f2921b7369565c7018ff157889ccdd156bfaf638c3f0521177b1b8a8843d48b22a552",
                inner: "45000054ae61000040016448a9fe0a02a9fe0a01000089526b5300018174036b00000000c2a6050000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
            },
            Frame {
                seq: 6,
                esp: "9456bacc0000000657b4b425c7207249e2d2e231ed1fe346f36440015a0e7c7f5372b8f69e7a1bd696e170ed43a0c423a7ea018c54eaf09a2781746f5d7f1c94d9da1e62750520e6f310ed6694aef75233eef8b5e9383a9703dc4535c7839779a63ff3a7fb147498da4a3b56744b50513c206b938b5fe1de7c3440aafd9ed74d000081a414793bb1ae606c5d",
                inner: "45c00069f5d5400001061afaa9fe0a02a9fe0a01e06700b3010b21ef80cab774801800409d0900000101080a0410209f261984b2ffffffffffffffffffffffffffffffff00350104fc00001ea9fe0a0218021601040001000102004002007841040000fc0046004700",
            },
        ],
    );
    for (spi, key, frames) in [sa1, sa2] {
        let key = Secret::new(hex::decode(key).unwrap());
        let mut inb = InboundSa::new(spi, GCM128, None, &key, &Secret::new(vec![]), 1024).unwrap();
        for f in &frames {
            let mut pkt = hex::decode(f.esp).unwrap();
            assert_eq!(spi_of(&pkt), Some(spi));
            let orig = pkt.clone();
            let opened = inb.open(&mut pkt).unwrap();
            assert_eq!(opened.next_header, NEXT_HEADER_IPV4);
            assert_eq!(opened.seq, f.seq);
            assert_eq!(hex::encode(&opened.inner), f.inner);
            let mut again = orig;
            assert_eq!(
                inb.open(&mut again).unwrap_err(),
                EspError::Replay { seq: f.seq }
            );
        }
        // And our outbound SA with the same keys produces packets that our
        // inbound SA (which just opened strongSwan's) accepts.
        let mut out =
            OutboundSa::new(spi, GCM128, None, &key, &Secret::new(vec![]), [0; 32]).unwrap();
        out.set_last_seq(100);
        let inner = hex::decode(frames[0].inner).unwrap();
        let mut p = seal(&mut out, 4, &inner);
        assert_eq!(&inb.open(&mut p).unwrap().inner[..], &inner[..]);
    }
}

/// An IPv4 ICMP echo request from the on-prem host to the VPC host.
fn icmp4_echo(payload: usize) -> Vec<u8> {
    let total = 20 + 8 + payload;
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        1,
        0,
        0,
        198,
        18,
        0,
        10,
        198,
        19,
        0,
        10,
    ];
    let c = ip_checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    icmp.extend((0..payload).map(|i| i as u8));
    let c = ip_checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    p.extend(icmp);
    p
}

/// An IPv6 packet with no next header (59), `payload` bytes of zeros.
fn ipv6_packet(payload: usize) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, (payload >> 8) as u8, payload as u8, 59, 64];
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    p.resize(40 + payload, 0);
    p
}

fn ip_checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Seal-side interop: tshark (Wireshark 4) decrypts and authenticates what
/// our outbound SAs seal, for every suite, IPv4 and IPv6 inside. Needs
/// `tshark` on PATH (scripts/install-test-deps.sh installs it); without it
/// the test fails and says so, it is never skipped.
#[test]
fn tshark_decrypts_our_packets() {
    use std::fmt::Write as _;
    let dir = std::env::temp_dir().join(format!("cgw-esp-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut pcap: Vec<u8> = Vec::new();
    for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
        // magic, version 2.4 (as two u16), zone, sigfigs, snaplen, RAW IP
        if w == 0x0004_0002 {
            pcap.extend_from_slice(&2u16.to_le_bytes());
            pcap.extend_from_slice(&4u16.to_le_bytes());
        } else {
            pcap.extend_from_slice(&w.to_le_bytes());
        }
    }
    let mut esp_sa = String::new();
    let mut expected = Vec::new();
    for (i, (encr, integ)) in suites().into_iter().enumerate() {
        let spi = 0x1000_0000 + i as u32;
        let (ek, ik) = keys(encr, integ);
        let mut out = OutboundSa::new(spi, encr, integ, &ek, &ik, [i as u8; 32]).unwrap();
        let (ename, aname) = match integ {
            None => ("AES-GCM with 16 octet ICV [RFC4106]", "NULL"),
            Some(IntegAlg::HmacSha1_96) => ("AES-CBC [RFC3602]", "HMAC-SHA-1-96 [RFC2404]"),
            Some(IntegAlg::HmacSha256_128) => ("AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]"),
            Some(IntegAlg::HmacSha384_192) => ("AES-CBC [RFC3602]", "HMAC-SHA-384-192 [RFC4868]"),
            Some(IntegAlg::HmacSha512_256) => ("AES-CBC [RFC3602]", "HMAC-SHA-512-256 [RFC4868]"),
        };
        writeln!(
            esp_sa,
            "\"IPv4\",\"192.0.2.10\",\"198.51.100.10\",\"{spi:#010x}\",\"{ename}\",\"0x{}\",\"{aname}\",\"{}\"",
            hex::encode(ek.expose()),
            if integ.is_some() { format!("0x{}", hex::encode(ik.expose())) } else { String::new() }
        )
        .unwrap();
        for (nh, inner) in [
            (4u8, icmp4_echo(56)),
            (41, ipv6_packet(13)),
            (4, icmp4_echo(1372)),
        ] {
            let mut esp = Vec::new();
            out.seal(nh, &inner, &mut esp).unwrap();
            let total = 20 + esp.len();
            let mut ip = vec![
                0x45,
                0,
                (total >> 8) as u8,
                total as u8,
                0,
                0,
                0,
                0,
                64,
                50,
                0,
                0,
                192,
                0,
                2,
                10,
                198,
                51,
                100,
                10,
            ];
            let c = ip_checksum(&ip);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            ip.extend_from_slice(&esp);
            for w in [
                1_700_000_000u32,
                expected.len() as u32,
                total as u32,
                total as u32,
            ] {
                pcap.extend_from_slice(&w.to_le_bytes());
            }
            pcap.extend_from_slice(&ip);
            expected.push(format!(
                "{spi:#010x}\t{}\t1\t{}",
                out.last_seq(),
                if nh == 4 { "1" } else { "59" }
            ));
        }
    }
    std::fs::write(dir.join("esp_sa"), esp_sa).unwrap();
    std::fs::write(
        dir.join("preferences"),
        "esp.enable_encryption_decode: TRUE\nesp.enable_authentication_check: TRUE\n",
    )
    .unwrap();
    std::fs::write(dir.join("ours.pcap"), &pcap).unwrap();
    let run = std::process::Command::new("tshark")
        .env("WIRESHARK_CONFIG_DIR", &dir)
        .arg("-r")
        .arg(dir.join("ours.pcap"))
        .args(["-T", "fields", "-E", "occurrence=l"])
        .args(["-e", "esp.spi", "-e", "esp.sequence", "-e", "esp.icv_good"])
        .args(["-e", "ip.proto", "-e", "ipv6.nxt", "-e", "_ws.malformed"])
        .output()
        .expect("tshark is missing: run scripts/install-test-deps.sh (as root) to install it");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8(run.stdout).unwrap();
    let got: Vec<String> = stdout
        .lines()
        .map(|l| {
            // Inner protocol: ICMP for IPv4 inside, "no next header" for IPv6.
            let f: Vec<&str> = l.split('\t').collect();
            let icv_good = if f[2] == "True" || f[2] == "1" {
                "1"
            } else {
                f[2]
            };
            let inner = if f[4].is_empty() { f[3] } else { f[4] };
            assert!(f[5].is_empty(), "malformed: {l}");
            format!("{}\t{}\t{icv_good}\t{inner}", f[0], f[1])
        })
        .collect();
    assert_eq!(
        got,
        expected,
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes (with our SPI and a fresh sequence number half
        /// the time) never panic and never open.
        #[test]
        fn open_arbitrary_bytes(mut data in proptest::collection::vec(any::<u8>(), 0..200), ours: bool, suite in 0usize..10) {
            let (encr, integ) = suites()[suite];
            let (_, mut inb) = pair(encr, integ, 64);
            if ours && data.len() >= 8 {
                data[..4].copy_from_slice(&SPI.to_be_bytes());
            }
            prop_assert!(inb.open(&mut data).is_err());
        }

        /// Any inner packet round-trips; flipping any bit of the sealed
        /// packet makes it fail.
        #[test]
        fn round_trip_and_flip(inner in proptest::collection::vec(any::<u8>(), 0..600), suite in 0usize..10, bit: usize) {
            let (encr, integ) = suites()[suite];
            let (mut out, mut inb) = pair(encr, integ, 64);
            let pkt = seal(&mut out, 41, &inner);
            let mut bad = pkt.clone();
            let bit = bit % (8 * bad.len());
            bad[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(inb.open(&mut bad).is_err());
            let mut good = pkt;
            let opened = inb.open(&mut good).unwrap();
            prop_assert_eq!(&opened.inner[..], &inner[..]);
        }
    }
}
