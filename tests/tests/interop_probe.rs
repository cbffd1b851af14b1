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

#[test]
fn probe_finds_strongswans_restricted_proposals_exactly() {
    require::strongswan();
    let lab = LabPair::new();
    let mut cfg = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    cfg.ike_proposals = "aes256-sha256-modp2048,aes128gcm16-prfsha256-ecp256".into();
    cfg.psk = "probe-never-authenticates-0123".into();
    let charon = Charon::start(&lab.aws, cfg);

    let settings = ProbeSettings {
        rate: 20.0,
        timeout: Duration::from_millis(500),
        retries: 2,
        max_requests: 100,
    };
    let source = SocketAddr::from((CGW_ADDR, 500));
    let peer = SocketAddr::from((AWS_ADDR, 500));
    let t0 = Instant::now();
    let report = lab
        .cgw
        .run_in(move || net::run(source, peer, settings))
        .expect("probe socket");
    let took = t0.elapsed();
    eprintln!("{}", report.render_text(&peer.to_string()));
    eprintln!("probe took {took:?}");

    let accepted: HashSet<Candidate> = report.accepted.candidates().into_iter().collect();
    let want: HashSet<Candidate> = [
        Candidate::Encr(EncrAlg::AesCbc { key_bits: 256 }),
        Candidate::Encr(EncrAlg::AesGcm16 { key_bits: 128 }),
        Candidate::Integ(IntegAlg::HmacSha256_128),
        Candidate::Prf(PrfAlg::HmacSha256),
        Candidate::Dh(DhGroup::Modp2048),
        Candidate::Dh(DhGroup::Ecp256),
    ]
    .into();
    assert_eq!(
        accepted,
        want,
        "{report:#?}\n--- charon\n{}",
        charon.log_tail(60)
    );
    assert!(report.unknown.is_empty(), "{report:#?}");
    // No SA was ever authenticated: strongSwan has no established IKE SA.
    assert!(
        charon.list_sas().iter().all(|sa| sa.state != "ESTABLISHED"),
        "an IKE SA got established"
    );
}
