//! Tests of the tunnel options, their engine configuration and the log
//! records.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{
    loopback, DpdAction, EspProposal, EspSuite, Event, Failure, IkeConfig, IkeProposal, IkeSuite,
};

use super::logs::{self, details, BgpLogRecord, PhaseState, RouteStatus, TunnelLogRecord};
use super::options::{generate_psk, PHASE2_GROUP_IDS};
use super::*;

fn errors(t: &TunnelOptions) -> Vec<String> {
    match t.validate() {
        Ok(()) => Vec::new(),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn one_error(t: &TunnelOptions) -> String {
    let e = errors(t);
    assert_eq!(e.len(), 1, "{e:?}");
    e[0].clone()
}

fn with(f: impl FnOnce(&mut TunnelOptions)) -> TunnelOptions {
    let mut t = TunnelOptions::default();
    f(&mut t);
    t
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

#[test]
fn defaults_validate() {
    assert_eq!(TunnelOptions::default().validate(), Ok(()));
    let t = with(|t| {
        t.inside_cidr = Some(cidr("169.254.15.192/30"));
        t.psk = Some("Abc.def_0123456789".into());
        t.inside_ipv6_cidr = Some("fd00::4/126".parse().unwrap());
    });
    assert_eq!(t.validate(), Ok(()));
    let c = VpnConnection::new(Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(c.cgw_asn, 65000);
    assert_eq!(c.routing, Routing::Bgp { aws_asn: 64512 });
    assert_eq!(c.prefix_limit(), 100);
}

#[test]
fn defaults_are_aws_defaults() {
    let t = TunnelOptions::default();
    assert_eq!(t.ike_versions, [IkeVersion::Ikev1, IkeVersion::Ikev2]);
    assert_eq!(t.phase1_encryption, Encryption::ALL);
    assert_eq!(t.phase2_integrity, Integrity::ALL);
    assert_eq!(
        t.phase1_dh_groups,
        [2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
    );
    assert_eq!(t.phase2_dh_groups, PHASE2_GROUP_IDS);
    assert_eq!(
        (
            t.phase1_lifetime_seconds,
            t.phase2_lifetime_seconds,
            t.rekey_margin_seconds,
            t.rekey_fuzz_percent,
            t.replay_window_packets,
            t.dpd_timeout_seconds
        ),
        (28800, 3600, 270, 100, 1024, 30)
    );
    assert_eq!(t.dpd_timeout_action, DpdTimeoutAction::Clear);
    assert_eq!(t.startup_action, StartupAction::Add);
}

#[test]
fn empty_lists() {
    assert_eq!(
        one_error(&with(|t| t.ike_versions.clear())),
        "ike_versions: empty; AWS accepts ikev1, ikev2"
    );
    assert_eq!(
        one_error(&with(|t| t.phase1_encryption.clear())),
        "phase1_encryption: empty; AWS accepts AES128, AES256, AES128-GCM-16, AES256-GCM-16"
    );
    assert_eq!(
        one_error(&with(|t| t.phase2_encryption.clear())),
        "phase2_encryption: empty; AWS accepts AES128, AES256, AES128-GCM-16, AES256-GCM-16"
    );
    assert_eq!(
        one_error(&with(|t| t.phase1_integrity.clear())),
        "phase1_integrity: empty; AWS accepts SHA1, SHA2-256, SHA2-384, SHA2-512"
    );
    assert_eq!(
        one_error(&with(|t| t.phase2_integrity.clear())),
        "phase2_integrity: empty; AWS accepts SHA1, SHA2-256, SHA2-384, SHA2-512"
    );
    // GCM alone needs no phase 2 integrity.
    let gcm_only = with(|t| {
        t.phase2_integrity.clear();
        t.phase2_encryption = vec![Encryption::Aes256Gcm16];
    });
    assert_eq!(gcm_only.validate(), Ok(()));
    assert_eq!(
        one_error(&with(|t| t.phase1_dh_groups.clear())),
        "phase1_dh_groups: empty; AWS accepts 2, 14-24"
    );
    assert_eq!(
        one_error(&with(|t| t.phase2_dh_groups.clear())),
        "phase2_dh_groups: empty; AWS accepts 2, 5, 14-24"
    );
}

#[test]
fn dh_groups() {
    assert_eq!(
        one_error(&with(|t| t.phase1_dh_groups = vec![14, 5])),
        "phase1_dh_groups: 5 is not accepted; AWS accepts 2, 14-24"
    );
    assert_eq!(
        one_error(&with(|t| t.phase2_dh_groups = vec![31, 14])),
        "phase2_dh_groups: 31 is not accepted; AWS accepts 2, 5, 14-24"
    );
    assert_eq!(with(|t| t.phase2_dh_groups = vec![5]).validate(), Ok(()));
    let e = errors(&with(|t| t.phase1_dh_groups = vec![1, 31, 31]));
    assert_eq!(
        e,
        [
            "phase1_dh_groups: 1 is not accepted; AWS accepts 2, 14-24",
            "phase1_dh_groups: 31 is not accepted; AWS accepts 2, 14-24"
        ]
    );
}

#[test]
fn lifetimes_margin_fuzz() {
    assert_eq!(
        one_error(&with(|t| t.phase1_lifetime_seconds = 28801)),
        "phase1_lifetime_seconds: 28801 is not accepted; AWS accepts 900-28800"
    );
    assert_eq!(
        one_error(&with(|t| t.phase2_lifetime_seconds = 7200)),
        "phase2_lifetime_seconds: 7200 is not accepted; AWS accepts 900-3600"
    );
    assert_eq!(
        one_error(&with(|t| {
            t.phase1_lifetime_seconds = 1800;
            t.phase2_lifetime_seconds = 1800;
        })),
        "phase2_lifetime_seconds: 1800 is not accepted; AWS accepts 900-3600, lower than \
         phase1_lifetime_seconds (1800)"
    );
    assert_eq!(
        one_error(&with(|t| t.rekey_margin_seconds = 59)),
        "rekey_margin_seconds: 59 is not accepted; AWS accepts 60-1800 (half of \
         phase2_lifetime_seconds 3600)"
    );
    assert_eq!(
        one_error(&with(|t| {
            t.phase2_lifetime_seconds = 1000;
            t.rekey_margin_seconds = 501;
        })),
        "rekey_margin_seconds: 501 is not accepted; AWS accepts 60-500 (half of \
         phase2_lifetime_seconds 1000)"
    );
    assert_eq!(with(|t| t.rekey_margin_seconds = 1800).validate(), Ok(()));
    assert_eq!(
        one_error(&with(|t| t.rekey_fuzz_percent = 101)),
        "rekey_fuzz_percent: 101 is not accepted; AWS accepts 0-100"
    );
}

#[test]
fn replay_dpd_startup() {
    assert_eq!(
        one_error(&with(|t| t.replay_window_packets = 63)),
        "replay_window_packets: 63 is not accepted; AWS accepts 64-2048"
    );
    assert_eq!(
        one_error(&with(|t| t.replay_window_packets = 4096)),
        "replay_window_packets: 4096 is not accepted; AWS accepts 64-2048"
    );
    assert_eq!(
        one_error(&with(|t| t.dpd_timeout_seconds = 29)),
        "dpd_timeout_seconds: 29 is not accepted; AWS accepts 30 or more"
    );
    assert_eq!(
        one_error(&with(|t| {
            t.startup_action = StartupAction::Start;
            t.ike_versions = vec![IkeVersion::Ikev1];
        })),
        "startup_action: start is not accepted; AWS accepts add, or start with ikev2 in \
         ike_versions"
    );
    assert_eq!(
        with(|t| t.startup_action = StartupAction::Start).validate(),
        Ok(())
    );
}

#[test]
fn inside_cidrs() {
    let msg = |c: &str| {
        format!(
            "inside_cidr: {c} is not accepted; AWS accepts a /30 in 169.254.0.0/16 other than \
             169.254.0.0/30 to 169.254.5.0/30 and 169.254.169.252/30"
        )
    };
    for bad in [
        "169.254.0.0/30",
        "169.254.3.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
        "10.0.0.0/30",
        "169.254.10.0/29",
        "169.254.10.1/30",
    ] {
        assert_eq!(
            one_error(&with(|t| t.inside_cidr = Some(cidr(bad)))),
            msg(bad)
        );
    }
    for good in ["169.254.0.4/30", "169.254.5.4/30", "169.254.255.252/30"] {
        assert_eq!(
            with(|t| t.inside_cidr = Some(cidr(good))).validate(),
            Ok(()),
            "{good}"
        );
    }
    for bad in ["fe80::/126", "fd00::/64", "fd00::1/126"] {
        assert_eq!(
            one_error(&with(|t| t.inside_ipv6_cidr = Some(bad.parse().unwrap()))),
            format!("inside_ipv6_cidr: {bad} is not accepted; AWS accepts a /126 in fd00::/8")
        );
    }
    let c = cidr("169.254.15.192/30");
    assert_eq!(c.aws_inside_ip(), Ipv4Addr::new(169, 254, 15, 193));
    assert_eq!(c.cgw_inside_ip(), Ipv4Addr::new(169, 254, 15, 194));
    assert!("169.254.1.0".parse::<Ipv4Cidr>().is_err());
    assert!("169.254.1.0/33".parse::<Ipv4Cidr>().is_err());
}

#[test]
fn psk_rules_never_print_the_key() {
    let accepts = "AWS accepts 8-64 characters of A-Z a-z 0-9 . _, not starting with 0";
    assert_eq!(
        one_error(&with(|t| t.psk = Some("short".into()))),
        format!("psk: a key of 5 characters is not accepted; {accepts}")
    );
    assert_eq!(
        one_error(&with(|t| t.psk = Some("x".repeat(65)))),
        format!("psk: a key of 65 characters is not accepted; {accepts}")
    );
    assert_eq!(
        one_error(&with(|t| t.psk = Some("0secretkey".into()))),
        format!("psk: a key starting with 0 is not accepted; {accepts}")
    );
    let e = one_error(&with(|t| t.psk = Some("secret$key".into())));
    assert_eq!(
        e,
        format!("psk: a key with characters other than A-Z a-z 0-9 . _ is not accepted; {accepts}")
    );
    assert!(!e.contains("secret"));
    assert_eq!(with(|t| t.psk = Some("x".repeat(64))).validate(), Ok(()));
    assert_eq!(with(|t| t.psk = Some("a.b_C012".into())).validate(), Ok(()));
    for seed in 0..200 {
        let k = generate_psk(seed);
        assert_eq!(k.len(), 32);
        assert_eq!(with(|t| t.psk = Some(k.clone())).validate(), Ok(()));
    }
    assert_eq!(generate_psk(7), generate_psk(7));
    assert_ne!(generate_psk(7), generate_psk(8));
}

#[test]
fn every_violation_is_reported() {
    let t = with(|t| {
        t.phase1_lifetime_seconds = 100;
        t.rekey_fuzz_percent = 200;
        t.dpd_timeout_seconds = 0;
        t.psk = Some("0".into());
    });
    let e = t.validate().unwrap_err();
    let options: Vec<&str> = e.iter().map(OptionError::option).collect();
    assert_eq!(
        options,
        [
            "phase1_lifetime_seconds",
            // 3600 is no longer lower than phase 1's 100.
            "phase2_lifetime_seconds",
            "rekey_fuzz_percent",
            "dpd_timeout_seconds",
            "psk",
            "psk"
        ]
    );
}

#[test]
fn connection_rules() {
    let cgw = Ipv4Addr::new(192, 0, 2, 10);
    let mut c = VpnConnection::new(cgw);
    c.tunnels[0].inside_cidr = Some(cidr("169.254.10.0/30"));
    c.tunnels[1].inside_cidr = Some(cidr("169.254.10.0/30"));
    c.tunnels[0].dpd_timeout_seconds = 10;
    c.routing = Routing::Bgp { aws_asn: 65535 };
    c.cgw_asn = 0;
    let e: Vec<String> = c
        .validate()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        e,
        [
            "tunnel1.dpd_timeout_seconds: 10 is not accepted; AWS accepts 30 or more",
            "aws_asn: 65535 is not accepted; AWS accepts 64512-65534 or 4200000000-4294967294",
            "cgw_asn: 0 is not accepted; AWS accepts 1-2147483647",
            "tunnel2.inside_cidr: 169.254.10.0/30 is not accepted; AWS accepts a /30 not \
             overlapping tunnel1.inside_cidr (169.254.10.0/30)",
        ]
    );

    let mut c = VpnConnection::new(cgw);
    c.routing = Routing::Bgp {
        aws_asn: 4_200_000_000,
    };
    c.cgw_asn = 2_147_483_647;
    c.tunnels[0].inside_cidr = Some(cidr("169.254.10.0/30"));
    c.tunnels[1].inside_cidr = Some(cidr("169.254.10.4/30"));
    assert_eq!(c.validate(), Ok(()));
    c.cgw_asn = 2_147_483_648;
    assert_eq!(
        c.validate().unwrap_err()[0].to_string(),
        "cgw_asn: 2147483648 is not accepted; AWS accepts 1-2147483647"
    );

    let mut c = VpnConnection::new(cgw);
    c.routing = Routing::Static;
    c.tunnels[1].inside_ipv6_cidr = Some("fd00::/126".parse().unwrap());
    assert_eq!(
        c.validate().unwrap_err()[0].to_string(),
        "tunnel2.inside_ipv6_cidr: fd00::/126 is not accepted; AWS accepts no IPv6 inside CIDR \
         on a virtual private gateway (transit gateway only)"
    );
    c.gateway = GatewayKind::Tgw;
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(c.prefix_limit(), 1000);
    c.tunnels[0].inside_ipv6_cidr = Some("fd00::/126".parse().unwrap());
    assert_eq!(
        c.validate().unwrap_err()[0].to_string(),
        "tunnel2.inside_ipv6_cidr: fd00::/126 is not accepted; AWS accepts a /126 not \
         overlapping tunnel1.inside_ipv6_cidr (fd00::/126)"
    );

    let mut c = VpnConnection::new(Ipv4Addr::UNSPECIFIED);
    c.cgw_asn = 65000;
    assert_eq!(
        c.validate().unwrap_err()[0].to_string(),
        "cgw_ip: 0.0.0.0 is not accepted; AWS accepts a unicast IPv4 address"
    );
}

#[test]
fn default_proposals_are_awss_list() {
    let t = TunnelOptions::default();
    assert_eq!(t.ike_proposals(), aws_ike_proposals());
    let pfs: Vec<DhGroup> = PHASE2_GROUP_IDS
        .iter()
        .map(|g| DhGroup::from_id(*g).unwrap())
        .collect();
    assert_eq!(t.esp_proposals(), aws_esp_proposals(&pfs));
}

#[test]
fn proposals_are_ordered_lowest_first() {
    let t = with(|t| {
        t.phase1_encryption = vec![
            Encryption::Aes256Gcm16,
            Encryption::Aes256,
            Encryption::Aes128,
        ];
        t.phase1_integrity = vec![Integrity::Sha2_512, Integrity::Sha1, Integrity::Sha1];
        t.phase1_dh_groups = vec![24, 20, 2, 14];
        t.phase2_encryption = vec![Encryption::Aes128Gcm16];
        t.phase2_integrity = vec![Integrity::Sha2_384];
        t.phase2_dh_groups = vec![21, 5];
    });
    let dh = vec![
        DhGroup::Modp1024,
        DhGroup::Modp2048,
        DhGroup::Ecp384,
        DhGroup::Modp2048S256,
    ];
    assert_eq!(
        t.ike_proposals(),
        [
            IkeProposal {
                encr: vec![
                    EncrAlg::AesCbc { key_bits: 128 },
                    EncrAlg::AesCbc { key_bits: 256 }
                ],
                prf: vec![PrfAlg::HmacSha1, PrfAlg::HmacSha512],
                integ: vec![IntegAlg::HmacSha1_96, IntegAlg::HmacSha512_256],
                dh: dh.clone(),
            },
            IkeProposal {
                encr: vec![EncrAlg::AesGcm16 { key_bits: 256 }],
                prf: vec![PrfAlg::HmacSha1, PrfAlg::HmacSha512],
                integ: vec![],
                dh,
            }
        ]
    );
    assert_eq!(
        t.esp_proposals(),
        [EspProposal {
            encr: vec![EncrAlg::AesGcm16 { key_bits: 128 }],
            integ: vec![],
            dh: vec![DhGroup::Modp1536, DhGroup::Ecp521],
        }]
    );
}

#[test]
fn ike_config_carries_the_options() {
    let t = with(|t| {
        t.phase1_lifetime_seconds = 14400;
        t.phase2_lifetime_seconds = 1800;
        t.rekey_margin_seconds = 600;
        t.rekey_fuzz_percent = 50;
        t.dpd_timeout_seconds = 45;
        t.dpd_timeout_action = DpdTimeoutAction::Restart;
        t.replay_window_packets = 2048;
        t.startup_action = StartupAction::Start;
    });
    let e = t.engine_config(Secret::from_slice(b"abcdefgh"));
    let c = &e.ike;
    assert_eq!(c.lifetimes.ike, Duration::from_secs(14400));
    assert_eq!(c.lifetimes.child, Duration::from_secs(1800));
    assert_eq!(c.lifetimes.margin, Duration::from_secs(600));
    assert_eq!(c.lifetimes.fuzz_percent, 50);
    let dpd = c.dpd.unwrap();
    assert_eq!(dpd.delay, Duration::from_secs(10));
    assert_eq!(dpd.timeout, Duration::from_secs(45));
    assert_eq!(dpd.action, DpdAction::Restart);
    assert_eq!(format!("{:?}", c.policy), "PreferOwn");
    assert_eq!(c.psk.expose(), b"abcdefgh");
    assert_eq!(e.replay_window, 2048);
    assert!(e.initiates);
    assert!(!TunnelOptions::default().aws_initiates());
    assert_eq!(TunnelOptions::default().dpd().action, DpdAction::Clear);
    assert_eq!(
        with(|t| t.dpd_timeout_action = DpdTimeoutAction::None)
            .dpd()
            .action,
        DpdAction::None
    );
}

const CGW: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 500);
const AWS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10)), 500);
const PSK: &[u8] = b"loopback_psk_0123456789";

/// A CGW offering strong suites first and the weak ones last.
fn strong_first_cgw() -> IkeConfig {
    IkeConfig::new(
        Secret::from_slice(PSK),
        vec![
            IkeProposal {
                encr: vec![EncrAlg::AesGcm16 { key_bits: 256 }],
                prf: vec![PrfAlg::HmacSha512],
                integ: vec![],
                dh: vec![DhGroup::Ecp384, DhGroup::Modp2048],
            },
            IkeProposal {
                encr: vec![
                    EncrAlg::AesCbc { key_bits: 256 },
                    EncrAlg::AesCbc { key_bits: 128 },
                ],
                prf: vec![PrfAlg::HmacSha256, PrfAlg::HmacSha1],
                integ: vec![IntegAlg::HmacSha256_128, IntegAlg::HmacSha1_96],
                dh: vec![DhGroup::Ecp384, DhGroup::Modp2048],
            },
        ],
        vec![
            EspProposal {
                encr: vec![EncrAlg::AesGcm16 { key_bits: 256 }],
                integ: vec![],
                dh: vec![],
            },
            EspProposal {
                encr: vec![
                    EncrAlg::AesCbc { key_bits: 256 },
                    EncrAlg::AesCbc { key_bits: 128 },
                ],
                integ: vec![IntegAlg::HmacSha256_128, IntegAlg::HmacSha1_96],
                dh: vec![],
            },
        ],
    )
}

fn run(aws: &TunnelOptions, cgw: IkeConfig) -> loopback::LoopbackOutcome {
    let aws = aws.ike_config(Secret::from_slice(PSK));
    loopback::run(Arc::new(cgw), Arc::new(aws), CGW, AWS, [7; 32])
}

#[test]
fn loopback_aws_picks_the_weakest_offered_suite() {
    let o = run(&TunnelOptions::default(), strong_first_cgw());
    let ike = o
        .responder
        .iter()
        .find_map(|e| match e {
            Event::IkeSaEstablished(i) => Some(i.suite),
            _ => None,
        })
        .expect("IKE SA up");
    assert_eq!(
        ike,
        IkeSuite {
            encr: EncrAlg::AesCbc { key_bits: 128 },
            prf: PrfAlg::HmacSha1,
            integ: Some(IntegAlg::HmacSha1_96),
            dh: DhGroup::Modp2048,
        }
    );
    let child = o
        .initiator
        .iter()
        .find_map(|e| match e {
            Event::ChildSaInstalled(c) => Some(c.suite),
            _ => None,
        })
        .expect("child SA up");
    assert_eq!(
        child,
        EspSuite {
            encr: EncrAlg::AesCbc { key_bits: 128 },
            integ: Some(IntegAlg::HmacSha1_96),
            dh: None,
        }
    );
}

#[test]
fn loopback_restricted_tunnel_picks_within_its_options() {
    // Only the strong suites allowed: AWS now takes GCM-256 / SHA2-512 / 20.
    let t = with(|t| {
        t.phase1_encryption = vec![Encryption::Aes256Gcm16];
        t.phase1_integrity = vec![Integrity::Sha2_512];
        t.phase1_dh_groups = vec![20, 24];
        t.phase2_encryption = vec![Encryption::Aes256Gcm16];
    });
    let o = run(&t, strong_first_cgw());
    let ike = o
        .responder
        .iter()
        .find_map(|e| match e {
            Event::IkeSaEstablished(i) => Some(i.suite),
            _ => None,
        })
        .expect("IKE SA up");
    assert_eq!(ike.encr, EncrAlg::AesGcm16 { key_bits: 256 });
    assert_eq!(ike.dh, DhGroup::Ecp384);
    assert!(o
        .initiator
        .iter()
        .any(|e| matches!(e, Event::ChildSaInstalled(c) if c.suite.encr == EncrAlg::AesGcm16 { key_bits: 256 })));

    // A group the tunnel does not allow: NO_PROPOSAL_CHOSEN.
    let t = with(|t| t.phase1_dh_groups = vec![21]);
    let o = run(&t, strong_first_cgw());
    assert!(o
        .responder
        .iter()
        .any(|e| matches!(e, Event::IkeSaFailed(Failure::NoProposalChosen(_)))));
}

#[test]
fn timestamps() {
    assert_eq!(logs::format_timestamp(0), "1970-01-01 00:00:00.000Z");
    assert_eq!(
        logs::format_timestamp(1_700_000_000_123),
        "2023-11-14 22:13:20.123Z"
    );
    assert_eq!(
        logs::format_timestamp(951_782_400_000),
        "2000-02-29 00:00:00.000Z"
    );
    assert_eq!(
        logs::format_timestamp(4_102_444_799_999),
        "2099-12-31 23:59:59.999Z"
    );
}

#[test]
fn details_wording() {
    let cgw: IpAddr = Ipv4Addr::new(192, 0, 2, 10).into();
    let cases = [
        (
            details::dpd_timed_out(3),
            "AWS tunnel DPD timed out after 3 retransmits",
        ),
        (
            details::received_delete_ike_sa(),
            "AWS tunnel received DELETE for IKE_SA from CGW",
        ),
        (
            details::received_delete_child_sa(0xc1a2_0b03),
            "AWS tunnel received DELETE for Phase 2 SA with SPI: c1a20b03",
        ),
        (
            details::child_rekey_collision(),
            "AWS tunnel detected a (CHILD_REKEY) collision as CHILD_DELETE",
        ),
        (
            details::phase2_unable_to_establish(),
            "AWS tunnel Phase 2 was unable to establish while keeping Phase 1",
        ),
        (
            details::ts_unacceptable(),
            "AWS: Traffic Selector: TS_UNACCEPTABLE: received from responder",
        ),
        (
            details::sending_authentication_failed(),
            "AWS tunnel is sending AUTHENTICATION_FAILED as the response",
        ),
        (
            details::psk_mismatch(cgw),
            "AWS tunnel detected a pre-shared key mismatch with cgw: 192.0.2.10",
        ),
        (
            details::half_open_timeout(cgw),
            "AWS tunnel Timeout: deleting un-established Phase 1 IKE_SA with cgw: 192.0.2.10",
        ),
        (
            details::no_proposal_match(),
            "No Proposal Match Found by AWS",
        ),
        (
            details::no_proposal_chosen(),
            "No Proposal Match Found. Notifying with \"No proposal chosen\"",
        ),
        (
            details::processed_create_child_sa(4),
            "AWS tunnel processed request (id=4) for CREATE_CHILD_SA",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn tunnel_record_json() {
    let r = TunnelLogRecord::new(
        1_700_000_000_123,
        true,
        false,
        PhaseState::Established,
        PhaseState::Down,
        details::sending_authentication_failed(),
    );
    assert_eq!(
        r.to_json(),
        r#"{"event_timestamp":1700000000,"timestamp":"2023-11-14 22:13:20.123Z","dpd_enabled":true,"nat_t_detected":false,"ike_phase1_state":"Established","ike_phase2_state":"Down","details":"AWS tunnel is sending AUTHENTICATION_FAILED as the response"}"#
    );
    let r = TunnelLogRecord::new(
        1_700_000_000_000,
        false,
        true,
        PhaseState::Rekeying,
        PhaseState::Negotiating,
        details::no_proposal_chosen(),
    );
    assert_eq!(
        r.to_json(),
        r#"{"event_timestamp":1700000000,"timestamp":"2023-11-14 22:13:20.000Z","dpd_enabled":false,"nat_t_detected":true,"ike_phase1_state":"Rekeying","ike_phase2_state":"Negotiating","details":"No Proposal Match Found. Notifying with \"No proposal chosen\""}"#
    );
}

#[test]
fn bgp_record_json() {
    let cgw_inside = Ipv4Addr::new(169, 254, 15, 194);
    assert_eq!(
        BgpLogRecord::established(1_700_000_000_000, cgw_inside).to_json(),
        r#"{"type":"BGPStatus","event_timestamp":1700000000,"timestamp":"2023-11-14 22:13:20.000Z","status":"UP","details":"AWS-side peer BGP session state has changed from OpenConfirm to Established with neighbor 169.254.15.194"}"#
    );
    assert_eq!(
        BgpLogRecord::session(
            1_700_000_000_000,
            logs::BgpStatus::Down,
            "Established",
            "Idle",
            cgw_inside
        )
        .to_json(),
        r#"{"type":"BGPStatus","event_timestamp":1700000000,"timestamp":"2023-11-14 22:13:20.000Z","status":"DOWN","details":"AWS-side peer BGP session state has changed from Established to Idle with neighbor 169.254.15.194"}"#
    );
    assert_eq!(
        BgpLogRecord::route(
            1_700_000_000_000,
            RouteStatus::Advertised,
            "10.1.0.0/16",
            &[65000, 65001],
            100,
            cgw_inside
        )
        .to_json(),
        r#"{"type":"RouteStatus","event_timestamp":1700000000,"timestamp":"2023-11-14 22:13:20.000Z","status":"ADVERTISED","prefix":"10.1.0.0/16","asPath":"65000 65001","med":100,"nextHopIp":"169.254.15.194"}"#
    );
    for (s, name) in [
        (RouteStatus::Updated, "UPDATED"),
        (RouteStatus::Withdrawn, "WITHDRAWN"),
    ] {
        let j = BgpLogRecord::route(0, s, "10.2.0.0/16", &[65000], 0, cgw_inside).to_json();
        assert!(j.contains(&format!(r#""status":"{name}""#)), "{j}");
    }
    assert_eq!(
        BgpLogRecord::denied_own_as(
            1_700_000_000_000,
            "10.3.0.0/16",
            &[65000, 64512],
            0,
            cgw_inside
        )
        .to_json(),
        r#"{"type":"RouteStatus","event_timestamp":1700000000,"timestamp":"2023-11-14 22:13:20.000Z","status":"ADVERTISED","prefix":"10.3.0.0/16","asPath":"65000 64512","med":0,"nextHopIp":"169.254.15.194","details":"DENIED due to: as-path contains our own AS"}"#
    );
}

#[test]
fn metric_and_notification_json() {
    let aws_outside = Ipv4Addr::new(198, 51, 100, 10);
    assert_eq!(
        logs::TunnelStateMetric::new(1_700_000_000_000, "vpn-0123456789abcdef0", aws_outside, 1)
            .to_json(),
        r#"{"Namespace":"AWS/VPN","MetricName":"TunnelState","Dimensions":[{"Name":"VpnId","Value":"vpn-0123456789abcdef0"},{"Name":"TunnelIpAddress","Value":"198.51.100.10"}],"Timestamp":1700000000,"Value":1}"#
    );
    assert_eq!(logs::tunnel_state(PhaseState::Established, None), 1);
    assert_eq!(logs::tunnel_state(PhaseState::Rekeying, Some(true)), 1);
    assert_eq!(logs::tunnel_state(PhaseState::Established, Some(false)), 0);
    assert_eq!(logs::tunnel_state(PhaseState::Down, None), 0);
    assert_eq!(logs::tunnel_state(PhaseState::Negotiating, Some(true)), 0);
    assert_eq!(
        logs::NonRedundantNotification::new(
            1_700_000_000_000,
            vec!["vpn-0123456789abcdef0".into()]
        )
        .to_json(),
        r#"{"eventTypeCode":"AWS_VPN_SINGLE_TUNNEL_NOTIFICATION","service":"VPN","startTime":1700000000,"description":"You have new non-redundant VPN connections","affectedEntities":["vpn-0123456789abcdef0"]}"#
    );
}

#[test]
fn options_read_aws_names() {
    let t: TunnelOptions = serde_json::from_str(
        r#"{"ike_versions":["IKEv2"],"phase1_encryption":["AES256-GCM-16","aes128"],
            "phase1_integrity":["SHA2-256"],"phase2_dh_groups":[5,14],
            "dpd_timeout_action":"restart","startup_action":"start",
            "inside_cidr":"169.254.10.0/30","psk":"Abcdefgh_1"}"#,
    )
    .unwrap();
    assert_eq!(t.ike_versions, [IkeVersion::Ikev2]);
    assert_eq!(
        t.phase1_encryption,
        [Encryption::Aes256Gcm16, Encryption::Aes128]
    );
    assert_eq!(t.phase1_integrity, [Integrity::Sha2_256]);
    assert_eq!(t.phase2_dh_groups, [5, 14]);
    assert_eq!(t.dpd_timeout_action, DpdTimeoutAction::Restart);
    assert_eq!(t.startup_action, StartupAction::Start);
    assert_eq!(t.inside_cidr, Some(cidr("169.254.10.0/30")));
    assert_eq!(t.phase1_lifetime_seconds, 28800, "missing fields default");
    assert!(t.accepts_ikev2());
    assert_eq!(t.validate(), Ok(()));

    let e = serde_json::from_str::<TunnelOptions>(r#"{"phase1_encryption":["AES192"]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "encryption: \"AES192\" is not a known name; AWS uses AES128, AES256, \
             AES128-GCM-16, AES256-GCM-16"
        ),
        "{e}"
    );
    let e = serde_json::from_str::<TunnelOptions>(r#"{"dpd_timeout":30}"#)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("unknown field `dpd_timeout`"), "{e}");

    // Round trip; the key is never written.
    let t = with(|t| {
        t.psk = Some("Abcdefgh_1".into());
        t.inside_cidr = Some(cidr("169.254.10.0/30"));
    });
    let j = serde_json::to_string(&t).unwrap();
    assert!(!j.contains("Abcdefgh_1"));
    assert!(
        j.contains(r#""phase1_encryption":["AES128","AES256","AES128-GCM-16","AES256-GCM-16"]"#)
    );
    let back: TunnelOptions = serde_json::from_str(&j).unwrap();
    assert_eq!(
        back,
        with(|t| t.inside_cidr = Some(cidr("169.254.10.0/30")))
    );
}

#[test]
fn connection_reads_json() {
    let c: VpnConnection = serde_json::from_str(
        r#"{"cgw_ip":"192.0.2.10","routing":{"bgp":{"aws_asn":65001}},"gateway":"tgw",
            "tunnels":[{"inside_cidr":"169.254.10.0/30"},{"inside_cidr":"169.254.10.4/30"}]}"#,
    )
    .unwrap();
    assert_eq!(c.routing, Routing::Bgp { aws_asn: 65001 });
    assert_eq!(c.gateway, GatewayKind::Tgw);
    assert_eq!(c.cgw_asn, 65000);
    assert_eq!(c.tunnels[1].inside_cidr, Some(cidr("169.254.10.4/30")));
    assert_eq!(c.validate(), Ok(()));
    let c: VpnConnection =
        serde_json::from_str(r#"{"cgw_ip":"192.0.2.10","routing":"static"}"#).unwrap();
    assert_eq!(c, {
        let mut d = VpnConnection::new(Ipv4Addr::new(192, 0, 2, 10));
        d.routing = Routing::Static;
        d
    });
    assert!(serde_json::from_str::<VpnConnection>(r#"{"routing":"static"}"#).is_err());
}
