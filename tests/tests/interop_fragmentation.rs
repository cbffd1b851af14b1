//! IKE fragmentation (RFC 7383) between our engine and strongSwan in
//! network namespaces: our fragments reassembled by charon, charon's
//! fragments reassembled by us, and tshark's view of the SKF payloads.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use cgw_sim_tests::engine::UdpEngine;
use cgw_sim_tests::icmp;
use cgw_sim_tests::netns::{network_cidr, InsideNet, LabPair, AWS_ADDR, CGW_ADDR};
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use cgw_sim_tests::tshark::{self, Capture};
use cgw_sim_tests::{require, TestDir};
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{EspProposal, Event, IkeConfig, IkeProposal, PreferOwn};
use ike::wire::{TrafficSelector, TsType};

const PSK: &str = "interop-frag-psk-0123456789abcdef";

/// Selectors on the inside /30 only (routes elsewhere cannot be
/// installed by kernel-libipsec here): ICMP (so that pings pass), then `n`
/// single TCP ports, all disjoint so that strongSwan keeps every one.
/// IKE_AUTH grows by 16 bytes per selector in each TS payload, both ways.
fn selectors(inside: &InsideNet, n: u16) -> Vec<TrafficSelector> {
    let base = u32::from(inside.aws()) & !3;
    let ts = |proto: u8, lo: u16, hi: u16| TrafficSelector {
        ts_type: TsType::IPV4_ADDR_RANGE,
        ip_protocol: proto,
        start_port: lo,
        end_port: hi,
        start_addr: IpAddr::V4(Ipv4Addr::from(base)),
        end_addr: IpAddr::V4(Ipv4Addr::from(base | 3)),
    };
    let mut v = vec![ts(1, 0, 65535)];
    v.extend((0..n).map(|i| ts(6, 1000 + i, 1000 + i)));
    v
}

fn swan_selectors(inside: &InsideNet, n: u16) -> String {
    let net = network_cidr(inside.aws(), 30);
    let mut v = vec![format!("{net}[icmp]")];
    v.extend((0..n).map(|i| format!("{net}[tcp/{}]", 1000 + i)));
    v.join(",")
}

/// One line per fragment: `ip.src|ip.len|udp.length|number|total|exchange`.
#[derive(Debug)]
struct Frag {
    src: Ipv4Addr,
    ip_len: usize,
    udp_len: usize,
    number: u16,
    total: u16,
}

fn fragments(pcap: &std::path::Path) -> Vec<Frag> {
    let p = pcap.display().to_string();
    let out = cgw_sim_tests::proc::run(
        &[
            "tshark",
            "-n",
            "-r",
            p.as_str(),
            "-Y",
            "isakmp.frag.number",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "ip.src",
            "-e",
            "ip.len",
            "-e",
            "udp.length",
            "-e",
            "isakmp.frag.number",
            "-e",
            "isakmp.frag.total",
        ],
        &[],
        Duration::from_secs(60),
    );
    assert!(out.success(), "tshark: {out}");
    out.stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            Some(Frag {
                src: f.first()?.parse().ok()?,
                ip_len: f.get(1)?.parse().ok()?,
                udp_len: f.get(2)?.parse().ok()?,
                number: f.get(3)?.parse().ok()?,
                total: f.get(4)?.parse().ok()?,
            })
        })
        .collect()
}

/// Fragments from `src` form whole sets 1..=total.
fn assert_complete_sets(frags: &[Frag], src: Ipv4Addr, what: &str) -> usize {
    let mine: Vec<&Frag> = frags.iter().filter(|f| f.src == src).collect();
    assert!(!mine.is_empty(), "{what}: no SKF from {src}: {frags:?}");
    let total = mine[0].total;
    assert!(total >= 2, "{what}: {mine:?}");
    for n in 1..=total {
        assert!(
            mine.iter().any(|f| f.number == n && f.total == total),
            "{what}: fragment {n}/{total} missing: {mine:?}"
        );
    }
    mine.len()
}

#[test]
fn our_initiator_fragments_to_strongswan_and_reassembles_its_fragments() {
    require::strongswan();
    require::tshark();
    let t0 = Instant::now();
    let dir = TestDir::new("frag-initiator");
    let lab = LabPair::new();
    let inside = InsideNet::unique();
    let mut aws_cfg = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    aws_cfg.ike_proposals = "aes128-sha256-modp2048".into();
    aws_cfg.esp_proposals = "aes128-sha256".into();
    aws_cfg.psk = PSK.into();
    aws_cfg.fragmentation = true;
    // strongSwan counts the whole IP datagram: 400 bytes.
    aws_cfg.fragment_size = Some(400);
    aws_cfg.local_ts = swan_selectors(&inside, 12);
    aws_cfg.remote_ts = swan_selectors(&inside, 12);
    aws_cfg.inside_addr = Some(inside.aws_cidr());
    let aws = Charon::start(&lab.aws, aws_cfg);
    let capture = Capture::start(&lab.cgw, "wan0", dir.join("cgw-wan0.pcapng"));

    let mut cfg = IkeConfig::new(
        Secret::from_slice(PSK.as_bytes()),
        vec![IkeProposal {
            encr: vec![EncrAlg::AesCbc { key_bits: 128 }],
            prf: vec![PrfAlg::HmacSha256],
            integ: vec![IntegAlg::HmacSha256_128],
            dh: vec![DhGroup::Modp2048],
        }],
        vec![EspProposal {
            encr: vec![EncrAlg::AesCbc { key_bits: 128 }],
            integ: vec![IntegAlg::HmacSha256_128],
            dh: Vec::new(),
        }],
    );
    cfg.force_encapsulation = true;
    cfg.fragment_size = 300;
    cfg.local_ts = selectors(&inside, 12);
    cfg.remote_ts = selectors(&inside, 12);
    let mut eng = lab
        .cgw
        .run_in(|| UdpEngine::bind(CGW_ADDR, None))
        .expect("bind 500/4500");
    eng.initiate(cfg, AWS_ADDR);
    let up = eng.run_until(Duration::from_secs(20), |e| {
        e.child().is_some()
            || e.event_list()
                .iter()
                .any(|ev| matches!(ev, Event::IkeSaFailed(_)))
    });
    assert!(
        up && eng.child().is_some(),
        "events {:?}\n{}",
        eng.event_list(),
        aws.log_tail(40)
    );
    let (_, ours) = eng.endpoint.sas().next().expect("our SA");
    assert!(ours.fragmentation_in_use());
    let fs = ours.fragment_stats();
    assert_eq!(fs.messages_fragmented, 1, "{fs:?}");
    assert_eq!(
        fs.messages_reassembled, 1,
        "strongSwan fragmented too: {fs:?}"
    );
    assert_eq!(fs.last_error, None);
    let child = eng.child().unwrap().clone();
    assert_eq!(child.local_ts.len(), 13, "{:?}", child.local_ts);

    let sa = aws.wait_established(Duration::from_secs(10));
    assert_eq!(sa.state, "ESTABLISHED");
    assert_eq!(sa.children[0].state, "INSTALLED");
    assert_eq!(
        u32::from_str_radix(&sa.children[0].spi_in, 16).unwrap(),
        child.spi_out
    );
    let log = aws.log();
    assert!(
        log.contains("received fragment #1 of"),
        "charon reassembled our fragments:\n{}",
        aws.log_tail(40)
    );

    // One ping through the tunnel: keys and selectors are right.
    let req = icmp::echo(inside.cgw(), inside.aws(), 8, 0xf4a9, 1, b"cgw-sim frag");
    eng.send_inner(0, &req);
    let ok = eng.run_until(Duration::from_secs(5), |e| {
        e.received
            .iter()
            .filter_map(|p| icmp::parse_echo(p))
            .any(|r| r.kind == 0 && r.src == inside.aws())
    });
    assert!(ok, "no echo reply; esp errors {:?}", eng.esp_errors);

    let pcap = capture.stop();
    let keydir = dir.join("keys");
    eng.key_files(CGW_ADDR, AWS_ADDR)
        .write_dir(&keydir)
        .unwrap();
    let d = tshark::check_no_malformed(&pcap);
    let dk = tshark::check_no_malformed_with(&pcap, Some(&keydir));
    let frags = fragments(&pcap);
    let n_ours = assert_complete_sets(&frags, CGW_ADDR, "ours");
    let n_theirs = assert_complete_sets(&frags, AWS_ADDR, "strongSwan's");
    for f in &frags {
        if f.src == CGW_ADDR {
            // Our limit is the UDP payload (marker included).
            assert!(f.udp_len - 8 <= 300, "{f:?}");
        } else {
            assert!(f.ip_len <= 400, "{f:?}");
        }
    }
    let skf53 = tshark::frames(&pcap, None, "isakmp.nextpayload == 53");
    assert_eq!(skf53.len(), frags.len(), "{skf53:?}");
    let auth = tshark::frames(&pcap, Some(&keydir), "isakmp.auth.method == 2");
    eprintln!(
        "frag initiator: {n_ours} fragments ours, {n_theirs} strongSwan's; {d:?}; with keys {dk:?}; \
         AUTH visible after reassembly in {} frames; took {:?}",
        auth.len(),
        t0.elapsed()
    );
}

#[test]
fn strongswan_initiator_fragments_to_our_responder() {
    require::strongswan();
    require::tshark();
    let t0 = Instant::now();
    let dir = TestDir::new("frag-responder");
    let lab = LabPair::new();
    let inside = InsideNet::unique();
    let mut cfg = IkeConfig::new(
        Secret::from_slice(PSK.as_bytes()),
        vec![IkeProposal {
            encr: vec![
                EncrAlg::AesCbc { key_bits: 128 },
                EncrAlg::AesCbc { key_bits: 256 },
            ],
            prf: vec![PrfAlg::HmacSha1, PrfAlg::HmacSha256],
            integ: vec![IntegAlg::HmacSha1_96, IntegAlg::HmacSha256_128],
            dh: vec![DhGroup::Modp2048, DhGroup::Ecp256],
        }],
        vec![EspProposal {
            encr: vec![
                EncrAlg::AesCbc { key_bits: 128 },
                EncrAlg::AesCbc { key_bits: 256 },
            ],
            integ: vec![IntegAlg::HmacSha1_96, IntegAlg::HmacSha256_128],
            dh: Vec::new(),
        }],
    );
    cfg.policy = std::sync::Arc::new(PreferOwn);
    cfg.fragment_size = 400;
    let mut eng = lab
        .aws
        .run_in(|| UdpEngine::bind(AWS_ADDR, Some(cfg)))
        .expect("bind");
    eng.answer_pings_on = Some(inside.aws());
    let capture = Capture::start(&lab.aws, "wan0", dir.join("aws-wan0.pcapng"));

    let mut cgw_cfg = CharonConfig::cgw_initiator(CGW_ADDR, AWS_ADDR);
    cgw_cfg.ike_proposals = "aes256-sha256-ecp256".into();
    // Many single proposals and selectors: a large IKE_AUTH request.
    cgw_cfg.esp_proposals =
        "aes256-sha256,aes128-sha1,aes128-sha256,aes256-sha1,aes256-sha512,aes128-sha512".into();
    cgw_cfg.local_ts = swan_selectors(&inside, 8);
    cgw_cfg.remote_ts = swan_selectors(&inside, 8);
    cgw_cfg.psk = PSK.into();
    cgw_cfg.fragmentation = true;
    cgw_cfg.fragment_size = Some(400);
    cgw_cfg.inside_addr = Some(inside.cgw_cidr());
    let cgw = Charon::start(&lab.cgw, cgw_cfg);
    let result = std::thread::scope(|scope| {
        let h = scope.spawn(|| cgw.initiate());
        eng.run_until(Duration::from_secs(25), |_| h.is_finished());
        h.join().expect("initiate thread")
    });
    result.unwrap_or_else(|e| panic!("strongSwan initiate: {e}\nours: {:?}", eng.event_list()));
    let sa = cgw.wait_established(Duration::from_secs(5));
    assert_eq!(sa.state, "ESTABLISHED");
    assert_eq!(sa.children[0].state, "INSTALLED");
    let (_, ours) = eng.endpoint.sas().next().expect("our SA");
    assert!(ours.fragmentation_in_use());
    let fs = ours.fragment_stats();
    assert_eq!(fs.messages_reassembled, 1, "{fs:?}");
    assert_eq!(fs.messages_fragmented, 1, "our response too: {fs:?}");
    assert_eq!(fs.last_error, None);
    let child = eng.child().expect("our child SA").clone();
    assert_eq!(
        u32::from_str_radix(&sa.children[0].spi_out, 16).unwrap(),
        child.spi_in
    );
    assert!(
        cgw.log().contains("received fragment #1 of"),
        "charon reassembled our response:\n{}",
        cgw.log_tail(40)
    );

    // strongSwan's kernel pings our inside address through ESP.
    let ns = lab.cgw.clone();
    let target = inside.aws();
    let ping = std::thread::scope(|scope| {
        let h = scope.spawn(move || ns.ping(target, 2, Some(inside.cgw())));
        eng.run_until(Duration::from_secs(10), |_| h.is_finished());
        h.join().unwrap()
    });
    assert!(
        ping.success(),
        "ping: {ping}\nesp errors {:?}",
        eng.esp_errors
    );

    let pcap = capture.stop();
    let d = tshark::check_no_malformed(&pcap);
    let frags = fragments(&pcap);
    let n_theirs = assert_complete_sets(&frags, CGW_ADDR, "strongSwan's");
    let n_ours = assert_complete_sets(&frags, AWS_ADDR, "ours");
    for f in &frags {
        if f.src == CGW_ADDR {
            assert!(f.ip_len <= 400, "{f:?}");
        } else {
            assert!(f.udp_len - 8 <= 400, "{f:?}");
        }
    }
    eprintln!(
        "frag responder: {n_theirs} fragments strongSwan's, {n_ours} ours; {d:?}; took {:?}",
        t0.elapsed()
    );
}
