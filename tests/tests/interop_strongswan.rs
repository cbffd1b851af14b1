//! Our IKEv2/ESP engine against strongSwan (Debian's charon with
//! kernel-libipsec) in network namespaces: the real proof of interop.
//!
//! Each test runs in its own pair of namespaces (CGW 192.0.2.10, AWS
//! 198.51.100.10 on a veth), checks both sides' view of the SAs, pings
//! through ESP, and has tshark dissect (and decrypt, with the keys we
//! export) the capture.

use std::net::Ipv4Addr;
use std::time::Duration;

use cgw_sim_tests::engine::UdpEngine;
use cgw_sim_tests::icmp;
use cgw_sim_tests::netns::{InsideNet, LabPair, AWS_ADDR, CGW_ADDR};
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use cgw_sim_tests::tshark::{self, Capture};
use cgw_sim_tests::{require, TestDir};
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{EspProposal, Event, Failure, IkeConfig, IkeProposal, PreferOwn};

const PSK: &str = "interop-psk-0123456789abcdef";

struct Suite {
    swan_ike: &'static str,
    swan_esp: &'static str,
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    prf: PrfAlg,
    dh: DhGroup,
    /// What swanctl --list-sas shows: encr alg, key size, integ, prf, dh.
    shows: (
        &'static str,
        u16,
        Option<&'static str>,
        &'static str,
        &'static str,
    ),
}

fn cgw_config(s: &Suite) -> IkeConfig {
    let ike = IkeProposal {
        encr: vec![s.encr],
        prf: vec![s.prf],
        integ: s.integ.into_iter().collect(),
        dh: vec![s.dh],
    };
    let esp = EspProposal {
        encr: vec![s.encr],
        integ: s.integ.into_iter().collect(),
        dh: Vec::new(),
    };
    let mut c = IkeConfig::new(Secret::from_slice(PSK.as_bytes()), vec![ike], vec![esp]);
    // kernel-libipsec only does ESP in UDP: float to 4500 as strongSwan's
    // encap = yes does.
    c.force_encapsulation = true;
    c
}

fn got_reply(eng: &UdpEngine, from: Ipv4Addr, seq: u16) -> bool {
    eng.received
        .iter()
        .filter_map(|p| icmp::parse_echo(p))
        .any(|e| e.kind == 0 && e.src == from && e.seq == seq && e.payload == b"cgw-sim interop")
}

/// Our initiator against strongSwan as an AWS-like responder.
fn initiate_to_strongswan(name: &str, s: Suite) {
    require::strongswan();
    require::tshark();
    let dir = TestDir::new(name);
    let lab = LabPair::new();
    let inside = InsideNet::unique();
    let mut aws_cfg = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    aws_cfg.ike_proposals = s.swan_ike.into();
    aws_cfg.esp_proposals = s.swan_esp.into();
    aws_cfg.psk = PSK.into();
    aws_cfg.inside_addr = Some(inside.aws_cidr());
    let aws = Charon::start(&lab.aws, aws_cfg);
    let capture = Capture::start(&lab.cgw, "wan0", dir.join("cgw-wan0.pcapng"));

    let mut eng = lab
        .cgw
        .run_in(|| UdpEngine::bind(CGW_ADDR, None))
        .expect("bind 500/4500");
    eng.initiate(cgw_config(&s), AWS_ADDR);
    let up = eng.run_until(Duration::from_secs(20), |e| {
        e.child().is_some()
            || e.event_list()
                .iter()
                .any(|ev| matches!(ev, Event::IkeSaFailed(_)))
    });
    assert!(
        up,
        "{name}: no result in 20 s; events {:?}\n{}",
        eng.event_list(),
        aws.log_tail(40)
    );
    let child = eng
        .child()
        .unwrap_or_else(|| panic!("{name}: {:?}\n{}", eng.event_list(), aws.log_tail(40)))
        .clone();

    // strongSwan's view.
    let sa = aws.wait_established(Duration::from_secs(10));
    let (encr, keysize, integ, prf, dh) = s.shows;
    assert_eq!(sa.state, "ESTABLISHED");
    assert_eq!(
        (sa.encr_alg.as_str(), sa.encr_keysize),
        (encr, Some(keysize)),
        "{name}"
    );
    assert_eq!(sa.integ_alg.as_deref(), integ, "{name}");
    assert_eq!(
        (sa.prf_alg.as_str(), sa.dh_group.as_str()),
        (prf, dh),
        "{name}"
    );
    assert_eq!(sa.remote_port, 4500, "{name}: IKE floated to 4500");
    let ch = &sa.children[0];
    assert_eq!(ch.state, "INSTALLED");
    assert!(ch.encap, "{name}: ESP in UDP");
    assert_eq!(
        (ch.encr_alg.as_str(), ch.encr_keysize),
        (encr, Some(keysize)),
        "{name}"
    );
    assert_eq!(ch.integ_alg.as_deref(), integ, "{name}");
    assert_eq!(
        u32::from_str_radix(&ch.spi_in, 16).unwrap(),
        child.spi_out,
        "{name}: SPIs"
    );
    assert_eq!(
        u32::from_str_radix(&ch.spi_out, 16).unwrap(),
        child.spi_in,
        "{name}: SPIs"
    );

    // One ESP-sealed ICMP echo to strongSwan's inside address, and its reply.
    for seq in 1..=2u16 {
        let req = icmp::echo(
            inside.cgw(),
            inside.aws(),
            8,
            0xc6c6,
            seq,
            b"cgw-sim interop",
        );
        eng.send_inner(0, &req);
        let ok = eng.run_until(Duration::from_secs(5), |e| got_reply(e, inside.aws(), seq));
        assert!(
            ok,
            "{name}: no echo reply {seq}; esp errors {:?}\n{}",
            eng.esp_errors,
            aws.log_tail(30)
        );
    }
    assert!(eng.esp_errors.is_empty(), "{:?}", eng.esp_errors);
    let sa = aws.wait_established(Duration::from_secs(2));
    assert!(sa.children[0].packets_in >= 2 && sa.children[0].packets_out >= 2);

    // tshark: no malformed packets, and our exported keys decrypt it all.
    let pcap = capture.stop();
    let keydir = dir.join("keys");
    eng.key_files(CGW_ADDR, AWS_ADDR)
        .write_dir(&keydir)
        .unwrap();
    let d = tshark::check_no_malformed_with(&pcap, Some(&keydir));
    assert!(d.isakmp >= 4, "{name}: {d:?}");
    assert!(
        d.esp_icmp >= 4,
        "{name}: ESP decrypted to ICMP with our keys: {d:?}"
    );
    let auth = tshark::frames(
        &pcap,
        Some(&keydir),
        "isakmp.exchangetype == 35 && isakmp.auth.method == 2",
    );
    assert!(
        auth.len() >= 2,
        "{name}: IKE_AUTH decrypted with our keys: {auth:?}"
    );
}

#[test]
fn initiator_aes128_sha1_modp1024_aws_download_default() {
    initiate_to_strongswan(
        "i-aes128-sha1-g2",
        Suite {
            swan_ike: "aes128-sha1-modp1024",
            swan_esp: "aes128-sha1",
            encr: EncrAlg::AesCbc { key_bits: 128 },
            integ: Some(IntegAlg::HmacSha1_96),
            prf: PrfAlg::HmacSha1,
            dh: DhGroup::Modp1024,
            shows: (
                "AES_CBC",
                128,
                Some("HMAC_SHA1_96"),
                "PRF_HMAC_SHA1",
                "MODP_1024",
            ),
        },
    );
}

#[test]
fn initiator_aes128_sha256_modp2048() {
    initiate_to_strongswan(
        "i-aes128-sha256-g14",
        Suite {
            swan_ike: "aes128-sha256-modp2048",
            swan_esp: "aes128-sha256",
            encr: EncrAlg::AesCbc { key_bits: 128 },
            integ: Some(IntegAlg::HmacSha256_128),
            prf: PrfAlg::HmacSha256,
            dh: DhGroup::Modp2048,
            shows: (
                "AES_CBC",
                128,
                Some("HMAC_SHA2_256_128"),
                "PRF_HMAC_SHA2_256",
                "MODP_2048",
            ),
        },
    );
}

#[test]
fn initiator_aes256gcm16_ecp384() {
    initiate_to_strongswan(
        "i-aes256gcm-g20",
        Suite {
            swan_ike: "aes256gcm16-prfsha384-ecp384",
            swan_esp: "aes256gcm16",
            encr: EncrAlg::AesGcm16 { key_bits: 256 },
            integ: None,
            prf: PrfAlg::HmacSha384,
            dh: DhGroup::Ecp384,
            shows: ("AES_GCM_16", 256, None, "PRF_HMAC_SHA2_384", "ECP_384"),
        },
    );
}

#[test]
fn initiator_aes256_sha512_ecp521() {
    initiate_to_strongswan(
        "i-aes256-sha512-g21",
        Suite {
            swan_ike: "aes256-sha512-ecp521",
            swan_esp: "aes256-sha512",
            encr: EncrAlg::AesCbc { key_bits: 256 },
            integ: Some(IntegAlg::HmacSha512_256),
            prf: PrfAlg::HmacSha512,
            dh: DhGroup::Ecp521,
            shows: (
                "AES_CBC",
                256,
                Some("HMAC_SHA2_512_256"),
                "PRF_HMAC_SHA2_512",
                "ECP_521",
            ),
        },
    );
}

#[test]
fn initiator_curve25519_and_modp8192() {
    for (name, swan, dh, shows) in [
        (
            "i-x25519",
            "aes128gcm16-prfsha256-curve25519",
            DhGroup::Curve25519,
            "CURVE_25519",
        ),
        (
            "i-g18",
            "aes128gcm16-prfsha256-modp8192",
            DhGroup::Modp8192,
            "MODP_8192",
        ),
    ] {
        initiate_to_strongswan(
            name,
            Suite {
                swan_ike: swan,
                swan_esp: "aes128gcm16",
                encr: EncrAlg::AesGcm16 { key_bits: 128 },
                integ: None,
                prf: PrfAlg::HmacSha256,
                dh,
                shows: ("AES_GCM_16", 128, None, "PRF_HMAC_SHA2_256", shows),
            },
        );
    }
}

/// Our initiator offering `offer` against strongSwan accepting `swan_ike`:
/// returns our events.
fn initiate_and_fail(name: &str, swan_ike: &str, swan_psk: &str, offer: IkeProposal) -> Vec<Event> {
    require::strongswan();
    let _dir = TestDir::new(name);
    let lab = LabPair::new();
    let mut aws_cfg = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    aws_cfg.ike_proposals = swan_ike.into();
    aws_cfg.psk = swan_psk.into();
    let aws = Charon::start(&lab.aws, aws_cfg);
    let mut eng = lab
        .cgw
        .run_in(|| UdpEngine::bind(CGW_ADDR, None))
        .expect("bind");
    let mut cfg = cgw_config(&Suite {
        swan_ike: "",
        swan_esp: "",
        encr: EncrAlg::AesGcm16 { key_bits: 128 },
        integ: None,
        prf: PrfAlg::HmacSha256,
        dh: DhGroup::Modp2048,
        shows: ("", 0, None, "", ""),
    });
    cfg.ike_proposals = vec![offer];
    eng.initiate(cfg, AWS_ADDR);
    let done = eng.run_until(Duration::from_secs(20), |e| {
        e.event_list()
            .iter()
            .any(|ev| matches!(ev, Event::IkeSaFailed(_) | Event::ChildSaInstalled(_)))
    });
    assert!(done, "{name}: {:?}\n{}", eng.event_list(), aws.log_tail(30));
    eng.event_list()
}

fn failure(events: &[Event]) -> Option<&Failure> {
    events.iter().find_map(|e| {
        if let Event::IkeSaFailed(f) = e {
            Some(f)
        } else {
            None
        }
    })
}

#[test]
fn initiator_wrong_psk_is_authentication_failed() {
    let offer = IkeProposal {
        encr: vec![EncrAlg::AesCbc { key_bits: 128 }],
        prf: vec![PrfAlg::HmacSha256],
        integ: vec![IntegAlg::HmacSha256_128],
        dh: vec![DhGroup::Modp2048],
    };
    let ev = initiate_and_fail(
        "i-wrong-psk",
        "aes128-sha256-modp2048",
        "a-different-secret-42",
        offer,
    );
    assert!(
        matches!(failure(&ev), Some(Failure::PeerAuthenticationFailed { .. })),
        "{ev:?}"
    );
}

#[test]
fn initiator_group_strongswan_refuses_is_no_proposal_chosen() {
    let offer = IkeProposal {
        encr: vec![EncrAlg::AesCbc { key_bits: 128 }],
        prf: vec![PrfAlg::HmacSha1],
        integ: vec![IntegAlg::HmacSha1_96],
        dh: vec![DhGroup::Modp1536],
    };
    let ev = initiate_and_fail("i-group5", "aes128-sha1-modp2048", PSK, offer);
    match failure(&ev) {
        Some(f @ Failure::PeerNoProposalChosen { offered, .. }) => {
            assert!(offered.contains("DH group 5"), "{f}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn initiator_follows_strongswans_invalid_ke_payload() {
    // We guess MODP-2048 first; strongSwan takes only ECP-256 and says so.
    let offer = IkeProposal {
        encr: vec![EncrAlg::AesCbc { key_bits: 128 }],
        prf: vec![PrfAlg::HmacSha256],
        integ: vec![IntegAlg::HmacSha256_128],
        dh: vec![DhGroup::Modp2048, DhGroup::Ecp256],
    };
    let ev = initiate_and_fail("i-invalid-ke", "aes128-sha256-ecp256", PSK, offer);
    let est = ev.iter().find_map(|e| {
        if let Event::IkeSaEstablished(i) = e {
            Some(i)
        } else {
            None
        }
    });
    assert_eq!(
        est.expect("established after the retry").suite.dh,
        DhGroup::Ecp256,
        "{ev:?}"
    );
}

/// strongSwan initiates (as a customer gateway) to our AWS-like responder.
fn strongswan_initiates(
    name: &str,
    swan_ike: &str,
    swan_esp: &str,
    swan_psk: &str,
) -> (UdpEngine, Charon, LabPair, InsideNet, Result<(), String>) {
    require::strongswan();
    let lab = LabPair::new();
    let inside = InsideNet::unique();
    // AWS's accepted set, weakest first, as the AWS mock will use it.
    let mut cfg = IkeConfig::new(
        Secret::from_slice(PSK.as_bytes()),
        cgw_sim::aws::aws_ike_proposals(),
        cgw_sim::aws::aws_esp_proposals(&[]),
    );
    cfg.policy = std::sync::Arc::new(PreferOwn);
    let mut eng = lab
        .aws
        .run_in(|| UdpEngine::bind(AWS_ADDR, Some(cfg)))
        .expect("bind");
    eng.answer_pings_on = Some(inside.aws());
    let mut cgw_cfg = CharonConfig::cgw_initiator(CGW_ADDR, AWS_ADDR);
    cgw_cfg.ike_proposals = swan_ike.into();
    cgw_cfg.esp_proposals = swan_esp.into();
    cgw_cfg.psk = swan_psk.into();
    cgw_cfg.inside_addr = Some(inside.cgw_cidr());
    let cgw = Charon::start(&lab.cgw, cgw_cfg);
    let result = std::thread::scope(|scope| {
        let h = scope.spawn(|| cgw.initiate());
        eng.run_until(Duration::from_secs(25), |_| h.is_finished());
        h.join().expect("initiate thread")
    });
    let _ = name;
    (eng, cgw, lab, inside, result.map_err(|e| e.to_string()))
}

#[test]
fn responder_strongswan_initiates_and_pings_through_us() {
    let (mut eng, cgw, lab, inside, result) =
        strongswan_initiates("r-ok", "aes256-sha256-ecp256", "aes256-sha256", PSK);
    result.unwrap_or_else(|e| panic!("strongSwan initiate: {e}\nours: {:?}", eng.event_list()));
    let sa = cgw.wait_established(Duration::from_secs(5));
    assert_eq!(
        (sa.encr_alg.as_str(), sa.dh_group.as_str()),
        ("AES_CBC", "ECP_256")
    );
    assert_eq!(
        sa.children[0].integ_alg.as_deref(),
        Some("HMAC_SHA2_256_128")
    );
    let child = eng.child().expect("our child SA").clone();
    assert_eq!(
        u32::from_str_radix(&sa.children[0].spi_out, 16).unwrap(),
        child.spi_in
    );
    // strongSwan's kernel pings our inside address through ESP; our engine
    // opens the request and seals the reply.
    let ns = lab.cgw.clone();
    let target = inside.aws();
    let ping = std::thread::scope(|scope| {
        let h = scope.spawn(move || ns.ping(target, 3, None));
        eng.run_until(Duration::from_secs(10), |_| h.is_finished());
        h.join().unwrap()
    });
    assert!(
        ping.success(),
        "ping through our responder: {ping}\nesp errors {:?}",
        eng.esp_errors
    );
    assert!(eng.received.len() >= 3);
}

#[test]
fn responder_rejects_wrong_psk_and_unaccepted_group() {
    let (eng, _cgw, _lab, _inside, result) = strongswan_initiates(
        "r-psk",
        "aes128-sha256-modp2048",
        "aes128-sha256",
        "not-the-psk-0000",
    );
    assert!(result.is_err());
    let ev = eng.event_list();
    assert!(
        matches!(failure(&ev), Some(Failure::AuthenticationFailed(r)) if r.contains("pre-shared key")),
        "{ev:?}"
    );

    let (eng, _cgw, _lab, _inside, result) =
        strongswan_initiates("r-g5", "aes128-sha1-modp1536", "aes128-sha1", PSK);
    assert!(result.is_err());
    let ev = eng.event_list();
    match failure(&ev) {
        Some(Failure::NoProposalChosen(m)) => {
            assert_eq!(m.transform, ike::wire::TransformType::DH);
            assert_eq!(m.offered, vec!["5".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}
