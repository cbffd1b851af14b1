//! `cgw_sim::probe` against strongSwan (charon) in a namespace with a
//! restricted proposal list: the accepted set must be exactly that list's
//! transforms, found with IKE_SA_INIT alone.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cgw_sim::probe::{net, Candidate, ProbeSettings};
use cgw_sim_tests::netns::{LabPair, AWS_ADDR, CGW_ADDR};
use cgw_sim_tests::require;
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};

/// Starts charon in a fresh lab pair with `proposals`, probes it from the
/// CGW side to the end, and checks that the accepted set is `want`
/// exactly, nothing unknown and nothing ever established.
fn probe_charon(proposals: &str, want: HashSet<Candidate>) {
    require::strongswan();
    let lab = LabPair::new();
    let mut cfg = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    cfg.ike_proposals = proposals.into();
    cfg.psk = "probe-never-authenticates-0123".into();
    let charon = Charon::start(&lab.aws, cfg);
    let settings = ProbeSettings {
        rate: 20.0,
        timeout: Duration::from_millis(500),
        retries: 2,
        max_requests: 100,
        ..ProbeSettings::default()
    };
    let source = SocketAddr::from((CGW_ADDR, 500));
    let peer = SocketAddr::from((AWS_ADDR, 500));
    let t0 = Instant::now();
    let report = lab
        .cgw
        .run_in(move || net::run(source, peer, settings))
        .expect("probe socket");
    eprintln!(
        "{}probe took {:?}",
        report.render_text(&peer.to_string()),
        t0.elapsed()
    );
    let accepted: HashSet<Candidate> = report.accepted.candidates().into_iter().collect();
    assert_eq!(
        accepted,
        want,
        "{report:#?}\n--- charon\n{}",
        charon.log_tail(60)
    );
    assert!(report.unknown.is_empty(), "{report:#?}");
    // Nothing was ever authenticated: charon has no established IKE SA.
    assert!(
        charon.list_sas().iter().all(|sa| sa.state != "ESTABLISHED"),
        "an IKE SA got established"
    );
}

#[test]
fn probe_finds_strongswans_restricted_proposals_exactly() {
    let want: HashSet<Candidate> = [
        Candidate::Encr(EncrAlg::AesCbc { key_bits: 256 }),
        Candidate::Encr(EncrAlg::AesGcm16 { key_bits: 128 }),
        Candidate::Integ(IntegAlg::HmacSha256_128),
        Candidate::Prf(PrfAlg::HmacSha256),
        Candidate::Dh(DhGroup::Modp2048),
        Candidate::Dh(DhGroup::Ecp256),
    ]
    .into();
    probe_charon("aes256-sha256-modp2048,aes128gcm16-prfsha256-ecp256", want);
}

/// A wide list: more accepted transforms than charon's per-address
/// half-open limit (block_threshold, 5) lets through at once; the probe
/// waits the half-open SAs out and still finds the list exactly (about
/// 30 s: one `half_open_timeout`).
#[test]
fn probe_waits_out_strongswans_half_open_limit_on_a_wide_list() {
    let mut want: HashSet<Candidate> = [128, 256]
        .into_iter()
        .flat_map(|k| {
            [
                Candidate::Encr(EncrAlg::AesCbc { key_bits: k }),
                Candidate::Encr(EncrAlg::AesGcm16 { key_bits: k }),
            ]
        })
        .collect();
    let integ = [
        IntegAlg::HmacSha1_96,
        IntegAlg::HmacSha256_128,
        IntegAlg::HmacSha384_192,
    ];
    want.extend(integ.map(Candidate::Integ));
    want.extend([PrfAlg::HmacSha1, PrfAlg::HmacSha256, PrfAlg::HmacSha384].map(Candidate::Prf));
    want.extend([14, 15, 19, 20, 21, 31].map(|g| Candidate::Dh(DhGroup::from_id(g).unwrap())));
    probe_charon(
        "aes128-aes256-sha1-sha256-sha384-modp2048-modp3072-ecp256-ecp384-ecp521-curve25519,\
         aes128gcm16-aes256gcm16-prfsha256-prfsha384-ecp256-ecp384",
        want,
    );
}
