//! Every phase 1 / phase 2 combination AWS accepts, initiator against an
//! AWS-like responder, in memory on a virtual clock.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::{IkeConfig, PreferOwn, Role};

const ENCRYPTIONS: [EncrAlg; 4] = [
    EncrAlg::AesCbc { key_bits: 128 },
    EncrAlg::AesCbc { key_bits: 256 },
    EncrAlg::AesGcm16 { key_bits: 128 },
    EncrAlg::AesGcm16 { key_bits: 256 },
];

/// AWS's "integrity" option names both the INTEG transform and the PRF; with
/// GCM only the PRF remains.
const INTEGRITIES: [(IntegAlg, PrfAlg); 4] = [
    (IntegAlg::HmacSha1_96, PrfAlg::HmacSha1),
    (IntegAlg::HmacSha256_128, PrfAlg::HmacSha256),
    (IntegAlg::HmacSha384_192, PrfAlg::HmacSha384),
    (IntegAlg::HmacSha512_256, PrfAlg::HmacSha512),
];

/// AWS's phase 1 groups: every group we implement but 5 and 31.
fn aws_phase1_groups() -> Vec<DhGroup> {
    DhGroup::ALL
        .into_iter()
        .filter(|g| !matches!(g, DhGroup::Modp1536 | DhGroup::Curve25519))
        .collect()
}

fn aws_responder() -> IkeConfig {
    let mut c = IkeConfig::new(
        psk("matrix-psk-0123456789"),
        aws_ike_proposals(),
        aws_esp_proposals(),
    );
    c.policy = Arc::new(PreferOwn);
    c
}

fn run(encr: EncrAlg, integ: IntegAlg, prf: PrfAlg, group: DhGroup, pfs: Option<DhGroup>) {
    let integ = (!encr.is_aead()).then_some(integ);
    let mut esp = esp_proposal(encr, integ);
    esp.dh = pfs.into_iter().collect();
    let init = IkeConfig::new(
        psk("matrix-psk-0123456789"),
        vec![ike_proposal(encr, integ, prf, group)],
        vec![esp],
    );
    let mut resp = aws_responder();
    if let Some(g) = pfs {
        for p in &mut resp.esp_proposals {
            p.dh = vec![g];
        }
    }
    let mut pair = Pair::new(init, resp);
    pair.drive_for(Duration::from_secs(10));
    let what = format!("{encr:?}/{integ:?}/{prf:?}/{group}/pfs {pfs:?}");

    let i = ike_established(&pair.initiator_events)
        .unwrap_or_else(|| panic!("{what}: initiator {:?}", pair.initiator_events));
    let r = ike_established(&pair.responder_events)
        .unwrap_or_else(|| panic!("{what}: responder {:?}", pair.responder_events));
    assert_eq!(i.role, Role::Initiator);
    assert_eq!(r.role, Role::Responder);
    assert_eq!((i.spi_i, i.spi_r), (r.spi_i, r.spi_r), "{what}");
    assert_eq!(i.suite, r.suite, "{what}");
    assert_eq!(
        (i.suite.encr, i.suite.integ, i.suite.prf, i.suite.dh),
        (encr, integ, prf, group),
        "{what}"
    );

    let ci = child_installed(&pair.initiator_events)
        .unwrap_or_else(|| panic!("{what}: no child on initiator"));
    let cr = child_installed(&pair.responder_events)
        .unwrap_or_else(|| panic!("{what}: no child on responder"));
    assert_eq!(ci.spi_out, cr.spi_in, "{what}");
    assert_eq!(ci.spi_in, cr.spi_out, "{what}");
    assert_eq!(ci.keys_out, cr.keys_in, "{what}");
    assert_eq!(ci.keys_in, cr.keys_out, "{what}");
    assert_ne!(
        ci.keys_in, ci.keys_out,
        "{what}: both directions share keys"
    );
    assert_eq!(ci.suite.encr, encr);
    assert_eq!(ci.suite.integ, integ);
    // The first child SA is keyed from the IKE SA: no PFS group applies.
    assert_eq!(ci.suite.dh, None);
    assert_eq!(ci.keys_out.encr.len(), encr.keymat_len());
    assert_eq!(ci.keys_out.integ.len(), integ.map_or(0, |i| i.key_len()));
    assert!(pair.initiator.state() == ike::sa::State::Established);

    // ESP both ways with the negotiated keys.
    for (from, to) in [(ci, cr), (cr, ci)] {
        let mut out = from.outbound_sa([3; 32]).unwrap();
        let mut inb = to.inbound_sa(1024).unwrap();
        let inner = [
            0x45u8, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 198, 18, 0, 10, 198, 19, 0, 10, 8, 0, 0, 0,
            0, 1, 0, 1,
        ];
        let mut pkt = Vec::with_capacity(128);
        out.seal(4, &inner, &mut pkt).unwrap();
        let opened = inb.open(&mut pkt).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            (opened.next_header, &opened.inner[..]),
            (4, &inner[..]),
            "{what}"
        );
    }
}

#[test]
fn every_aws_phase1_combination() {
    let mut n = 0;
    for encr in ENCRYPTIONS {
        for (integ, prf) in INTEGRITIES {
            for group in aws_phase1_groups() {
                run(encr, integ, prf, group, None);
                n += 1;
            }
        }
    }
    assert_eq!(n, 4 * 4 * 12);
}

#[test]
fn every_aws_phase2_combination_with_and_without_pfs() {
    // Phase 2 algorithms with a PFS group configured on both sides: the
    // group is not negotiated in IKE_AUTH (RFC 7296 1.2) and must not break
    // it; it applies at CREATE_CHILD_SA.
    let mut n = 0;
    for encr in ENCRYPTIONS {
        for (integ, prf) in INTEGRITIES {
            for pfs in [
                None,
                Some(DhGroup::Modp2048),
                Some(DhGroup::Modp1536),
                Some(DhGroup::Ecp384),
            ] {
                run(encr, integ, prf, DhGroup::Modp2048, pfs);
                n += 1;
            }
        }
    }
    assert_eq!(n, 4 * 4 * 4);
}

#[test]
fn curve25519_beyond_aws() {
    let init = IkeConfig::new(
        psk("matrix-psk-0123456789"),
        vec![ike_proposal(
            EncrAlg::AesGcm16 { key_bits: 256 },
            None,
            PrfAlg::HmacSha256,
            DhGroup::Curve25519,
        )],
        vec![esp_proposal(EncrAlg::AesGcm16 { key_bits: 256 }, None)],
    );
    let resp = IkeConfig::new(
        psk("matrix-psk-0123456789"),
        vec![ike_proposal(
            EncrAlg::AesGcm16 { key_bits: 256 },
            None,
            PrfAlg::HmacSha256,
            DhGroup::Curve25519,
        )],
        vec![esp_proposal(EncrAlg::AesGcm16 { key_bits: 256 }, None)],
    );
    let mut pair = Pair::new(init, resp);
    pair.drive_for(Duration::from_secs(5));
    assert_eq!(
        ike_established(&pair.initiator_events).unwrap().suite.dh,
        DhGroup::Curve25519
    );
    assert!(child_installed(&pair.responder_events).is_some());
}

#[test]
fn same_seed_same_bytes() {
    let cfg = || {
        IkeConfig::new(
            psk("determinism-psk-0123"),
            vec![ike_proposal(
                EncrAlg::AesCbc { key_bits: 128 },
                Some(IntegAlg::HmacSha1_96),
                PrfAlg::HmacSha1,
                DhGroup::Modp2048,
            )],
            vec![esp_proposal(
                EncrAlg::AesCbc { key_bits: 128 },
                Some(IntegAlg::HmacSha1_96),
            )],
        )
    };
    let wire = |seed| {
        let mut p = Pair::with_seed(cfg(), cfg(), seed);
        p.drive_for(Duration::from_secs(5));
        assert!(child_installed(&p.initiator_events).is_some());
        p.wire
            .into_iter()
            .map(|(_, t)| t.payload)
            .collect::<Vec<_>>()
    };
    let a = wire(7);
    assert_eq!(a.len(), 4);
    assert_eq!(a, wire(7));
    assert_ne!(a, wire(8));
}
