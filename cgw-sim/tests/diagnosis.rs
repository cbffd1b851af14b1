//! The diagnosis knowledge base: one test per symptom, asserting the cause
//! code, the top cause and a fix line. The IKE ones are driven from real
//! engine failures (`ike::sa::loopback::run` against AWS's accepted set
//! with AWS's `PreferOwn` choice).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bgp::rib::MaxPrefixExceeded;
use bgp::session::{SessionEvent, State};
use bgp::wire::Notification;
use cgw_sim::aws::{aws_esp_proposals, aws_ike_proposals};
use cgw_sim::diagnosis::{
    aws_mtu, compact_ranges, Context, Diagnosis, Phase, Side, Symptom, CAUSE_CODES,
};
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{
    loopback, DpdAction, EspProposal, Event, Failure, IkeConfig, IkeProposal, IkeSa, PreferOwn,
};
use ike::wire::{TrafficSelector, TsType};

const CGW_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const AWS_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const CGW: SocketAddr = SocketAddr::new(IpAddr::V4(CGW_IP), 500);
const AWS: SocketAddr = SocketAddr::new(IpAddr::V4(AWS_IP), 500);
const PSK: &[u8] = b"diagnosis_psk_0123456789";

fn aws_config() -> IkeConfig {
    let mut c = IkeConfig::new(
        Secret::from_slice(PSK),
        aws_ike_proposals(),
        aws_esp_proposals(&[]),
    );
    c.policy = Arc::new(PreferOwn);
    c
}

fn cgw_proposals(encr: EncrAlg, dh: &[DhGroup]) -> (Vec<IkeProposal>, Vec<EspProposal>) {
    let integ: Vec<IntegAlg> = if encr.is_aead() {
        Vec::new()
    } else {
        vec![IntegAlg::HmacSha256_128]
    };
    (
        vec![IkeProposal {
            encr: vec![encr],
            prf: vec![PrfAlg::HmacSha256],
            integ: integ.clone(),
            dh: dh.to_vec(),
        }],
        vec![EspProposal {
            encr: vec![encr],
            integ,
            dh: Vec::new(),
        }],
    )
}

fn cgw_config(encr: EncrAlg, dh: &[DhGroup]) -> IkeConfig {
    let (ike, esp) = cgw_proposals(encr, dh);
    IkeConfig::new(Secret::from_slice(PSK), ike, esp)
}

fn run(cgw: IkeConfig, aws: IkeConfig) -> loopback::LoopbackOutcome {
    loopback::run(Arc::new(cgw), Arc::new(aws), CGW, AWS, [7; 32])
}

fn has_fix(d: &Diagnosis, needle: &str) -> bool {
    d.fix.iter().any(|l| l.contains(needle))
}

fn top(d: &Diagnosis) -> &str {
    &d.top_cause().expect("a cause").text
}

#[test]
fn ranges_are_compact() {
    assert_eq!(
        compact_ranges(&[2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]),
        "2, 14-24"
    );
    assert_eq!(compact_ranges(&[19, 5, 14, 20]), "5, 14, 19, 20");
    assert_eq!(compact_ranges(&[]), "");
}

#[test]
fn no_proposal_chosen_dh_group_5_in_phase_1() {
    let cbc = EncrAlg::AesCbc { key_bits: 128 };
    let o = run(cgw_config(cbc, &[DhGroup::Modp1536]), aws_config());
    // AWS (the responder) knows exactly what it refused.
    let d = Diagnosis::first_ike_failure(&o.responder, &Context::aws()).expect("AWS failed");
    assert_eq!(d.code(), "no-proposal-chosen");
    assert_eq!(
        top(&d),
        "AWS accepts DH groups 2, 14-24 in phase 1; you offered 5"
    );
    assert!(has_fix(
        &d,
        "offer DH groups the tunnel accepts in phase 1: 2, 14-24"
    ));
    // The CGW only hears the notify; with its own proposals in the context
    // the diagnosis computes the same mismatch.
    let (ike, esp) = cgw_proposals(cbc, &[DhGroup::Modp1536]);
    let ctx = Context::cgw().with_cgw_proposals(ike, esp);
    let d2 = Diagnosis::first_ike_failure(&o.initiator, &ctx).expect("CGW failed");
    assert_eq!(d2.code(), "no-proposal-chosen");
    assert_eq!(top(&d2), top(&d));
    let text = d.to_string();
    assert!(
        text.contains("symptom: NO_PROPOSAL_CHOSEN in phase 1"),
        "{text}"
    );
    assert!(
        text.contains("  1. AWS accepts DH groups 2, 14-24"),
        "{text}"
    );
    assert!(text.contains("fix:"), "{text}");
}

#[test]
fn no_proposal_chosen_narrowed_tunnel_options() {
    // The tunnel's options allow only 14, 19, 20 in phase 1.
    let mut aws = aws_config();
    for p in &mut aws.ike_proposals {
        p.dh = vec![DhGroup::Modp2048, DhGroup::Ecp256, DhGroup::Ecp384];
    }
    let o = run(
        cgw_config(EncrAlg::AesGcm16 { key_bits: 256 }, &[DhGroup::Modp1024]),
        aws,
    );
    let d = Diagnosis::first_ike_failure(&o.responder, &Context::aws()).unwrap();
    assert_eq!(d.code(), "no-proposal-chosen");
    assert_eq!(
        top(&d),
        "AWS accepts DH groups 14, 19, 20 in phase 1; you offered 2"
    );
}

#[test]
fn no_proposal_chosen_encryption() {
    let o = run(
        cgw_config(EncrAlg::AesCbc { key_bits: 192 }, &[DhGroup::Modp2048]),
        aws_config(),
    );
    let d = Diagnosis::first_ike_failure(&o.responder, &Context::aws()).unwrap();
    assert_eq!(d.code(), "no-proposal-chosen");
    assert_eq!(
        top(&d),
        "AWS accepts encryption algorithms AES128, AES256, AES128-GCM-16, AES256-GCM-16 in phase 1; you offered AES192"
    );
}

#[test]
fn authentication_failed_psk_mismatch() {
    let mut cgw = cgw_config(EncrAlg::AesCbc { key_bits: 128 }, &[DhGroup::Modp2048]);
    cgw.psk = Secret::from_slice(b"not_the_aws_psk_000");
    let o = run(cgw, aws_config());
    let d = Diagnosis::first_ike_failure(&o.initiator, &Context::cgw()).expect("CGW failed");
    assert_eq!(d.code(), "authentication-failed");
    assert!(
        top(&d).starts_with("pre-shared key mismatch"),
        "{}",
        top(&d)
    );
    assert!(
        d.symptom.contains("AWS rejected the CGW's authentication"),
        "{}",
        d.symptom
    );
    assert!(has_fix(&d, "cannot start with 0"));
    let d = Diagnosis::first_ike_failure(&o.responder, &Context::aws()).expect("AWS failed");
    assert_eq!(d.code(), "authentication-failed");
    assert!(top(&d).starts_with("pre-shared key mismatch"));
}

fn range(a: [u8; 4], b: [u8; 4]) -> TrafficSelector {
    TrafficSelector {
        ts_type: TsType::IPV4_ADDR_RANGE,
        ip_protocol: 0,
        start_port: 0,
        end_port: 65535,
        start_addr: IpAddr::V4(a.into()),
        end_addr: IpAddr::V4(b.into()),
    }
}

#[test]
fn ts_unacceptable_policy_based_selectors() {
    // The VPN connection has local/remote CIDRs set; the CGW proposes
    // another subnet pair.
    let mut aws = aws_config();
    aws.local_ts = vec![range([10, 0, 0, 0], [10, 0, 255, 255])];
    aws.remote_ts = vec![range([198, 18, 0, 0], [198, 18, 0, 255])];
    let mut cgw = cgw_config(EncrAlg::AesCbc { key_bits: 128 }, &[DhGroup::Modp2048]);
    cgw.local_ts = vec![range([172, 16, 0, 0], [172, 16, 0, 255])];
    cgw.remote_ts = vec![range([172, 31, 0, 0], [172, 31, 255, 255])];
    let o = run(cgw, aws);
    let d = Diagnosis::first_ike_failure(&o.responder, &Context::aws()).expect("AWS refused");
    assert_eq!(d.code(), "ts-unacceptable");
    assert!(top(&d).starts_with("policy-based selectors"), "{}", top(&d));
    assert!(
        d.top_cause()
            .unwrap()
            .evidence
            .as_deref()
            .unwrap()
            .contains("172.16.0.0"),
        "{d}"
    );
    assert!(has_fix(&d, "one SA pair per tunnel"));
    let d = Diagnosis::first_ike_failure(&o.initiator, &Context::cgw()).expect("CGW saw it");
    assert_eq!(d.code(), "ts-unacceptable");
    assert!(d.symptom.contains("AWS refused"), "{}", d.symptom);
}

#[test]
fn no_response_to_ike_sa_init() {
    // Nothing answers: drop every datagram and let the retransmissions run
    // out on the engine's own timers.
    let cfg = Arc::new(cgw_config(
        EncrAlg::AesCbc { key_bits: 128 },
        &[DhGroup::Modp2048],
    ));
    let mut now = Instant::now();
    let mut sa = IkeSa::initiate(cfg, CGW, AWS, now, [3; 32]);
    let mut failure = None;
    for _ in 0..100 {
        while sa.poll_transmit().is_some() {}
        if let Some(e) =
            std::iter::from_fn(|| sa.poll_event()).find(|e| matches!(e, Event::IkeSaFailed(_)))
        {
            failure = Some(e);
            break;
        }
        match sa.poll_timeout() {
            Some(t) => now = now.max(t),
            None => break,
        }
        sa.handle_timeout(now);
    }
    let Some(Event::IkeSaFailed(f)) = failure else {
        panic!("no failure")
    };
    assert!(matches!(f, Failure::NoResponse { .. }), "{f}");
    let d = Diagnosis::from_ike_failure(&f, &Context::cgw());
    assert_eq!(d.code(), "no-response");
    assert!(d
        .symptom
        .starts_with("no answer to IKE_SA_INIT from 198.51.100.10:500"));
    assert!(top(&d).starts_with("UDP 500"), "{}", top(&d));
    assert!(d
        .causes
        .iter()
        .any(|c| c.text.contains("drops it silently")));
    assert!(d.causes.iter().any(|c| c.text.contains("not initiating")));
    assert!(has_fix(&d, "allow UDP 500, UDP 4500"));

    // With the addresses known, a source-IP mismatch ranks first.
    let ctx = Context::cgw().with_addresses(
        Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5))),
        Some(IpAddr::V4(CGW_IP)),
        Some(IpAddr::V4(AWS_IP)),
    );
    let d = Diagnosis::from_ike_failure(&f, &ctx);
    assert!(top(&d).starts_with("source IP mismatch"), "{}", top(&d));
    assert!(d
        .top_cause()
        .unwrap()
        .evidence
        .as_deref()
        .unwrap()
        .contains("203.0.113.5"));
    // A wrong peer address ranks first when the CGW sends elsewhere.
    let ctx = Context::cgw().with_addresses(
        None,
        None,
        Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 99))),
    );
    let d = Diagnosis::from_ike_failure(&f, &ctx);
    assert!(top(&d).starts_with("wrong peer address"), "{}", top(&d));
}

#[test]
fn invalid_ke_payload() {
    // The engine recovers by itself when the group was offered (group 31
    // first, AWS asks for 19); the tunnel comes up.
    let o = run(
        cgw_config(
            EncrAlg::AesCbc { key_bits: 128 },
            &[DhGroup::Curve25519, DhGroup::Ecp256],
        ),
        aws_config(),
    );
    assert!(o
        .initiator
        .iter()
        .any(|e| matches!(e, Event::ChildSaInstalled(_))));
    // A peer asking for a group the CGW did not offer is fatal.
    let f = Failure::InvalidKeNotOffered {
        peer: AWS,
        wanted: Some(DhGroup::Modp2048),
        wanted_id: 14,
    };
    let (ike, esp) = cgw_proposals(EncrAlg::AesCbc { key_bits: 128 }, &[DhGroup::Ecp256]);
    let d = Diagnosis::from_ike_failure(&f, &Context::cgw().with_cgw_proposals(ike, esp));
    assert_eq!(d.code(), "invalid-ke-payload");
    assert!(top(&d).contains("AWS wants DH group 14"), "{}", top(&d));
    assert_eq!(
        d.top_cause().unwrap().evidence.as_deref(),
        Some("offered 19, requested 14")
    );
    assert!(has_fix(&d, "offer DH group 14 first"));
    let d = Diagnosis::from_symptom(
        &Symptom::InvalidKePayload {
            requested: 19,
            offered: vec![31, 19],
            fatal: false,
        },
        &Context::cgw(),
    );
    assert!(d.symptom.contains("retried"), "{}", d.symptom);
}

#[test]
fn child_sa_failed_ike_up() {
    let f = Failure::PeerError {
        peer: AWS,
        notify: ike::wire::NotifyType::SINGLE_PAIR_REQUIRED,
    };
    let d = Diagnosis::from_child_failure(&f, &Context::cgw());
    assert_eq!(d.code(), "child-sa-failed");
    assert!(d.symptom.starts_with("phase 1 (IKE SA) is up"));
    assert!(top(&d).starts_with("phase 2 settings do not match"));
    assert!(has_fix(&d, "one SA pair per tunnel"));
}

#[test]
fn no_proposal_chosen_phase_2_from_cgw_side() {
    // Phase 2 with AES-192: computed from the CGW's proposals against
    // AWS's phase 2 set.
    let (ike, esp) = cgw_proposals(EncrAlg::AesCbc { key_bits: 192 }, &[DhGroup::Modp2048]);
    let f = Failure::PeerNoProposalChosen {
        peer: AWS,
        offered: "AES_CBC_192/...".into(),
    };
    let d = Diagnosis::from_child_failure(&f, &Context::cgw().with_cgw_proposals(ike, esp));
    assert_eq!(d.code(), "no-proposal-chosen");
    assert!(
        top(&d).starts_with("AWS accepts encryption algorithms AES128, AES256"),
        "{}",
        top(&d)
    );
    assert!(top(&d).contains("in phase 2"), "{}", top(&d));
}

#[test]
fn dpd_timeout() {
    let e = Event::DpdTimeout {
        action: DpdAction::Clear,
        retransmits: 3,
    };
    let d = Diagnosis::from_ike_event(&e, &Context::aws()).unwrap();
    assert_eq!(d.code(), "dpd-timeout");
    assert_eq!(
        d.symptom,
        "DPD timed out after 3 retransmits at AWS; the tunnel was cleared"
    );
    assert!(top(&d).starts_with("the idle tunnel was dropped"));
    assert!(has_fix(&d, "SLA monitor"));
    assert!(Diagnosis::from_ike_event(
        &Event::IkeSaClosed {
            by: ike::sa::DeletedBy::Peer
        },
        &Context::aws()
    )
    .is_none());
}

#[test]
fn tunnel_up_no_return_traffic() {
    let s = Symptom::NoReturnTraffic {
        esp_out: 10,
        esp_in: 0,
        pings_sent: 10,
        ping_replies: 0,
        propagation: Some(false),
    };
    let d = Diagnosis::from_symptom(&s, &Context::cgw());
    assert_eq!(d.code(), "route-propagation-disabled");
    assert!(top(&d).starts_with("route propagation is not enabled"));
    assert!(d
        .causes
        .iter()
        .any(|c| c.text.contains("asymmetric return path")));
    assert!(has_fix(&d, "enable route propagation"));
    let s = Symptom::NoReturnTraffic {
        esp_out: 10,
        esp_in: 0,
        pings_sent: 10,
        ping_replies: 0,
        propagation: None,
    };
    let d = Diagnosis::from_symptom(&s, &Context::cgw());
    assert_eq!(d.code(), "no-return-traffic");
}

#[test]
fn bgp_asn_mismatch() {
    let d = Diagnosis::from_bgp_notification(&Notification::bad_peer_as(65001));
    assert_eq!(d.code(), "bgp-asn-mismatch");
    assert!(
        d.symptom
            .contains("OPEN Message Error / Bad Peer AS (AS 65001) (2/2)"),
        "{}",
        d.symptom
    );
    assert!(top(&d).starts_with("BGP ASN mismatch"));
    assert!(has_fix(&d, "64512 by default"));
}

#[test]
fn bgp_hold_timer_expired() {
    let e = SessionEvent::NotificationReceived(Notification::hold_timer_expired());
    let d = Diagnosis::from_bgp_session_event(&e, Side::Cgw).unwrap();
    assert_eq!(d.code(), "bgp-hold-expired");
    assert!(d.symptom.contains("from AWS"), "{}", d.symptom);
    assert!(top(&d).starts_with("hold timer expired"));
    assert!(has_fix(&d, "hold time 30 s and keepalive 10 s"));
}

#[test]
fn bgp_max_prefixes() {
    let d = Diagnosis::from_bgp_notification(&Notification::max_prefixes(1, 1, 100));
    assert_eq!(d.code(), "bgp-max-prefix");
    assert!(
        top(&d).starts_with("the CGW advertised more than 100 prefixes"),
        "{}",
        top(&d)
    );
    assert!(has_fix(&d, "advertise at most 100 prefixes"));
    let d = Diagnosis::from_max_prefix(&MaxPrefixExceeded {
        limit: 100,
        received: 101,
        afi: 1,
        safi: 1,
    });
    assert_eq!(d.code(), "bgp-max-prefix");
    assert!(d
        .top_cause()
        .unwrap()
        .evidence
        .as_deref()
        .unwrap()
        .contains("101 received"));
}

#[test]
fn bgp_admin_shutdown_and_idle() {
    let d = Diagnosis::from_bgp_notification(&Notification::shutdown(2, "maintenance"));
    assert_eq!(d.code(), "bgp-admin-shutdown");
    assert!(top(&d).contains("Administrative Shutdown"));
    assert!(has_fix(&d, "re-enable the BGP neighbor"));
    let d = Diagnosis::from_bgp_state(State::Active, None, None);
    assert_eq!(d.code(), "bgp-not-established");
    assert!(d.symptom.contains("Active"));
    assert!(top(&d).starts_with("the tunnel underneath is down"));
    assert!(d.causes.iter().any(|c| c
        .text
        .contains("BGP ASN mismatch, hold time, or prefix limit")));
    assert!(has_fix(&d, "prefix count (at most 100)"));
}

#[test]
fn routes_missing_from_vpc_table() {
    let s = Symptom::RoutesMissing {
        prefixes: vec!["198.18.0.0/24".into()],
        propagation: Some(false),
    };
    let d = Diagnosis::from_symptom(&s, &Context::aws());
    assert_eq!(d.code(), "route-propagation-disabled");
    assert_eq!(d.symptom, "the VPC route table lacks 198.18.0.0/24");
    assert!(top(&d).starts_with("route propagation is not enabled"));
    assert!(has_fix(&d, "enable route propagation"));
}

#[test]
fn large_packets_lost_mtu() {
    assert_eq!(
        aws_mtu(EncrAlg::AesGcm16 { key_bits: 256 }, None, false),
        (1446, 1406)
    );
    assert_eq!(
        aws_mtu(
            EncrAlg::AesCbc { key_bits: 128 },
            Some(IntegAlg::HmacSha512_256),
            true
        ),
        (1406, 1366)
    );
    let s = Symptom::LargePacketsLost {
        size: 1500,
        df: true,
        suite: Some((EncrAlg::AesGcm16 { key_bits: 128 }, None)),
        nat_t: false,
    };
    let d = Diagnosis::from_symptom(&s, &Context::cgw());
    assert_eq!(d.code(), "mtu-blackhole");
    assert!(
        top(&d).starts_with("MTU black hole: the tunnel carries at most 1446 bytes (MSS 1406)"),
        "{}",
        top(&d)
    );
    assert!(has_fix(&d, "clear DF and fragment before encryption"));
    assert!(has_fix(
        &d,
        "set the tunnel interface MTU to 1446 and clamp TCP MSS to 1406"
    ));
    assert!(has_fix(&d, "AES-GCM: MTU 1446 / MSS 1406"));
}

#[test]
fn single_tunnel() {
    let d = Diagnosis::from_symptom(&Symptom::SingleTunnel { up: 1, down: 2 }, &Context::aws());
    assert_eq!(d.code(), "single-tunnel");
    assert!(top(&d).starts_with("the CGW never initiates the second tunnel"));
    assert!(has_fix(&d, "non-redundant"));
}

#[test]
fn source_ip_mismatch() {
    let s = Symptom::SourceIpMismatch {
        configured: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)),
        seen: Some(IpAddr::V4(CGW_IP)),
    };
    let d = Diagnosis::from_symptom(&s, &Context::aws());
    assert_eq!(d.code(), "source-ip-mismatch");
    assert!(top(&d).contains("AWS drops it silently"));
    assert!(d
        .top_cause()
        .unwrap()
        .evidence
        .as_deref()
        .unwrap()
        .contains("192.0.2.10"));
    assert!(has_fix(&d, "NAT's public address"));
}

#[test]
fn cgw_responder_only() {
    let d = Diagnosis::from_symptom(&Symptom::ResponderOnly, &Context::aws());
    assert_eq!(d.code(), "cgw-responder-only");
    assert!(top(&d).contains("AWS does not initiate IKE (startup action add)"));
    assert!(has_fix(&d, "startup action to start"));
}

#[test]
fn every_symptom_has_causes_and_fix() {
    let all = [
        Symptom::NoResponse {
            peer: AWS,
            tries: 5,
        },
        Symptom::NoProposalChosen {
            refused_by: Side::Aws,
            phase: Phase::One,
            mismatch: None,
            offered: None,
        },
        Symptom::AuthenticationFailed {
            rejected_by: Side::Cgw,
            detail: None,
        },
        Symptom::TsUnacceptable {
            refused_by: Side::Aws,
            proposed: None,
            configured: None,
        },
        Symptom::IkeError { reason: "x".into() },
        Symptom::ResponderOnly,
    ];
    for s in &all {
        let d = Diagnosis::from_symptom(s, &Context::cgw());
        assert_eq!(d.code(), s.code());
        assert!(CAUSE_CODES.contains(&d.code()), "{}", d.code());
        assert!(!d.causes.is_empty() && !d.fix.is_empty(), "{d}");
        assert!(d
            .causes
            .iter()
            .enumerate()
            .all(|(i, c)| usize::from(c.rank) == i + 1));
    }
}

fn aws_rib() -> (bgp::rib::Rib, bgp::rib::PeerId) {
    let mut rib = bgp::rib::Rib::new(64512, Ipv4Addr::new(169, 254, 15, 193));
    let import = bgp::rib::ImportPolicy {
        max_prefixes: Some(100),
        warning_threshold_percent: Some(90),
        ..Default::default()
    };
    let p = rib.add_peer(bgp::rib::PeerConfig {
        peer_as: 65000,
        peer_router_id: Ipv4Addr::new(169, 254, 10, 2),
        peer_address: IpAddr::V4(Ipv4Addr::new(169, 254, 15, 194)),
        import,
        export: bgp::rib::ExportPolicy::default(),
    });
    (rib, p)
}

fn announce(path: &[u32], prefixes: Vec<bgp::route::IpNet>) -> bgp::wire::Update {
    bgp::wire::Update {
        attributes: Some(bgp::route::PathAttributes {
            as_path: bgp::route::AsPath(vec![bgp::route::AsSegment::Sequence(path.to_vec())]),
            ..bgp::route::PathAttributes::originated(IpAddr::V4(Ipv4Addr::new(169, 254, 15, 194)))
        }),
        announced: prefixes,
        ..bgp::wire::Update::default()
    }
}

#[test]
fn bgp_route_with_own_as_denied_from_the_rib() {
    let (mut rib, p) = aws_rib();
    rib.apply_update(
        p,
        &announce(&[65000, 64512], vec!["10.1.0.0/16".parse().unwrap()]),
        Instant::now(),
    )
    .unwrap();
    let d = std::iter::from_fn(|| rib.poll_event())
        .find_map(|e| Diagnosis::from_rib_event(&e))
        .expect("denied");
    assert_eq!(d.code(), "bgp-own-as-rejected");
    assert_eq!(
        d.symptom,
        "route 10.1.0.0/16 from the CGW was DENIED due to: as-path contains our own AS"
    );
    assert!(top(&d).starts_with("the route's AS_PATH holds AWS's own ASN"));
    assert!(has_fix(&d, "do not re-advertise routes learned from AWS"));
}

#[test]
fn bgp_101_prefixes_from_the_rib() {
    let (mut rib, p) = aws_rib();
    let prefixes: Vec<bgp::route::IpNet> = (0..101u32)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap())
        .collect();
    let err = rib
        .apply_update(p, &announce(&[65000], prefixes), Instant::now())
        .expect_err("past the limit");
    let warning = std::iter::from_fn(|| rib.poll_event())
        .find_map(|e| Diagnosis::from_rib_event(&e))
        .expect("a warning");
    assert_eq!(warning.code(), "bgp-prefix-limit-warning");
    let d = Diagnosis::from_max_prefix(&err);
    assert_eq!(d.code(), "bgp-max-prefix");
    assert!(top(&d).starts_with("the CGW advertised more than 100 prefixes"));
    assert!(has_fix(&d, "advertise at most 100 prefixes"));
}

#[test]
fn peer_address_changed() {
    let e = Event::PeerAddressChanged {
        old: SocketAddr::new(IpAddr::V4(CGW_IP), 4500),
        new: SocketAddr::new(IpAddr::V4(CGW_IP), 31000),
    };
    let d = Diagnosis::from_peer_address_changed(&e, &Context::aws()).unwrap();
    assert_eq!(d.code(), "nat-mapping-changed");
    assert!(top(&d).contains("NAT-T keepalives"));
    assert!(has_fix(&d, "NAT's public address"));
    assert!(Diagnosis::from_ike_event(&e, &Context::aws()).is_none());
}

#[test]
fn ike_version_mismatch() {
    let s = Symptom::IkeVersionMismatch {
        received: Some(1),
        accepted: vec![2],
    };
    let d = Diagnosis::from_symptom(&s, &Context::aws());
    assert_eq!(d.code(), "ike-version-mismatch");
    assert_eq!(
        top(&d),
        "IKE version mismatch: the CGW speaks IKEv1 to a tunnel set to IKEv2"
    );
    assert!(has_fix(&d, "never aggressive mode"));
}

#[test]
fn cause_codes_are_unique_and_kebab_case() {
    let mut v = CAUSE_CODES.to_vec();
    v.sort_unstable();
    v.dedup();
    assert_eq!(v.len(), CAUSE_CODES.len());
    assert!(CAUSE_CODES
        .iter()
        .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-')));
}
