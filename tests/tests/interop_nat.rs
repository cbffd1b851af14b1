//! Our CGW behind a real NAT (nftables source NAT with port translation in a
//! third namespace) against strongSwan playing AWS:
//!
//! ```text
//!  cgw (our engine) 203.0.113.10 ── 203.0.113.1 nat 192.0.2.10 ── 198.51.100.10 aws (charon)
//! ```
//!
//! Our initiator does not force encapsulation: NAT detection must find the
//! NAT on its own, IKE floats to 4500, ESP goes in UDP, and our keepalives
//! cross the NAT. charon runs with `encap = no`, so that its own view of
//! the NAT is its real detection; its kernel-libipsec backend still makes it
//! fake its source hash (it needs UDP encapsulation), so we see charon as
//! "behind a NAT" too.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use cgw_sim_tests::engine::UdpEngine;
use cgw_sim_tests::icmp;
use cgw_sim_tests::netns::{InsideNet, NatLab, AWS_ADDR, CGW_ADDR, CGW_INSIDE_ADDR, NAT_PORTS};
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use cgw_sim_tests::tshark::{self, Capture};
use cgw_sim_tests::{require, TestDir};
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{EspProposal, Event, Identity, IkeConfig, IkeProposal};

const PSK: &str = "interop-nat-psk-0123456789abcdef";
const KEEPALIVE: Duration = Duration::from_secs(2);

fn cgw_config() -> IkeConfig {
    let encr = EncrAlg::AesCbc { key_bits: 128 };
    let ike = IkeProposal {
        encr: vec![encr],
        prf: vec![PrfAlg::HmacSha256],
        integ: vec![IntegAlg::HmacSha256_128],
        dh: vec![DhGroup::Modp2048],
    };
    let esp = EspProposal {
        encr: vec![encr],
        integ: vec![IntegAlg::HmacSha256_128],
        dh: Vec::new(),
    };
    let mut c = IkeConfig::new(Secret::from_slice(PSK.as_bytes()), vec![ike], vec![esp]);
    // Real NAT detection this time.
    c.force_encapsulation = false;
    // AWS knows the CGW by its public (NAT outside) address.
    c.local_id = Some(Identity::Addr(IpAddr::V4(CGW_ADDR)));
    // Short, so that the capture sees several.
    c.natt_keepalive = Some(KEEPALIVE);
    c
}

fn got_reply(eng: &UdpEngine, from: Ipv4Addr, seq: u16) -> bool {
    eng.received
        .iter()
        .filter_map(|p| icmp::parse_echo(p))
        .any(|e| e.kind == 0 && e.src == from && e.seq == seq && e.payload == b"cgw-sim nat")
}

#[test]
fn cgw_behind_nat_establishes_with_strongswan_and_keeps_the_mapping_alive() {
    require::strongswan();
    require::tshark();
    require::nft();
    let t0 = std::time::Instant::now();
    let dir = TestDir::new("interop-nat");
    let lab = NatLab::new();
    let inside = InsideNet::unique();
    let mut aws_cfg = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    aws_cfg.ike_proposals = "aes128-sha256-modp2048".into();
    aws_cfg.esp_proposals = "aes128-sha256".into();
    aws_cfg.psk = PSK.into();
    aws_cfg.inside_addr = Some(inside.aws_cidr());
    aws_cfg.encap = false;
    // Log level 4 for IKE: shows charon's NAT detection in full.
    aws_cfg.key_log = true;
    let aws = Charon::start(&lab.aws, aws_cfg);
    let capture = Capture::start(&lab.nat, "wan0", dir.join("nat-wan0.pcapng"));

    let mut eng = lab
        .cgw
        .run_in(|| UdpEngine::bind(CGW_INSIDE_ADDR, None))
        .expect("bind 500/4500");
    eng.initiate(cgw_config(), AWS_ADDR);
    let up = eng.run_until(Duration::from_secs(20), |e| {
        e.child().is_some()
            || e.event_list()
                .iter()
                .any(|ev| matches!(ev, Event::IkeSaFailed(_)))
    });
    assert!(
        up && eng.child().is_some(),
        "no child SA in 20 s; events {:?}\n{}",
        eng.event_list(),
        aws.log_tail(40)
    );
    let child = eng.child().unwrap().clone();

    // Our view: we are behind a NAT, charon is not.
    let info = eng
        .event_list()
        .into_iter()
        .find_map(|e| match e {
            Event::IkeSaEstablished(i) => Some(i),
            _ => None,
        })
        .unwrap();
    eprintln!(
        "our IKE SA: nat {:?}, {} -> {}",
        info.nat, info.local, info.remote
    );
    assert!(info.nat.local_behind_nat, "{:?}", info.nat);
    // charon's kernel-libipsec requires UDP encapsulation, so charon fakes
    // its NAT_DETECTION_SOURCE_IP even with encap = no: we see it "behind a
    // NAT" as well (charon's log at level 4 shows the hashed chunk: a
    // random address and port 0).
    assert!(
        info.nat.remote_behind_nat,
        "charon fakes its source hash under kernel-libipsec: {:?}",
        info.nat
    );
    assert_eq!(
        info.local,
        format!("{CGW_INSIDE_ADDR}:4500").parse().unwrap()
    );
    assert_eq!(info.remote, format!("{AWS_ADDR}:4500").parse().unwrap());
    let (l, r) = child.encapsulation.expect("ESP in UDP behind a NAT");
    assert_eq!((l.port(), r.port()), (4500, 4500));

    // charon's view: the CGW at the NAT's address and a translated port.
    let sa = aws.wait_established(Duration::from_secs(10));
    let nat_keys: Vec<_> = {
        let mut v: Vec<_> = sa
            .raw
            .iter()
            .filter(|(k, _)| k.starts_with("nat"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        v.sort();
        v
    };
    eprintln!(
        "charon: remote {}:{}, local {}:{}, {}",
        sa.remote_host,
        sa.remote_port,
        sa.local_host,
        sa.local_port,
        nat_keys.join(" ")
    );
    assert_eq!(sa.remote_host, CGW_ADDR.to_string());
    assert!(
        (NAT_PORTS.0..=NAT_PORTS.1).contains(&sa.remote_port),
        "NATed source port, not 4500: {}",
        sa.remote_port
    );
    assert_eq!(sa.local_port, 4500);
    assert_eq!(sa.raw.get("nat-remote").map(String::as_str), Some("yes"));
    assert_ne!(sa.raw.get("nat-local").map(String::as_str), Some("yes"));
    let ch = &sa.children[0];
    assert!(ch.encap, "charon: ESP in UDP");
    assert_eq!(u32::from_str_radix(&ch.spi_in, 16).unwrap(), child.spi_out);
    let nat_port = sa.remote_port;

    // ESP pings through the NAT.
    for seq in 1..=3u16 {
        let req = icmp::echo(inside.cgw(), inside.aws(), 8, 0xc6c7, seq, b"cgw-sim nat");
        eng.send_inner(0, &req);
        let ok = eng.run_until(Duration::from_secs(5), |e| got_reply(e, inside.aws(), seq));
        assert!(
            ok,
            "no echo reply {seq}; esp errors {:?}\n{}",
            eng.esp_errors,
            aws.log_tail(30)
        );
    }
    assert!(eng.esp_errors.is_empty(), "{:?}", eng.esp_errors);

    // Idle: our keepalives go out every 2 s and keep the mapping.
    eng.run_until(KEEPALIVE * 4 + Duration::from_millis(500), |_| false);
    let sent = eng
        .endpoint
        .sas()
        .map(|(_, s)| s.stats().keepalives_sent)
        .sum::<u64>();
    assert!(sent >= 3, "keepalives sent: {sent}");
    let sa = aws.wait_established(Duration::from_secs(2));
    assert_eq!(sa.remote_port, nat_port, "the mapping held");
    assert!(sa.children[0].packets_in >= 3 && sa.children[0].packets_out >= 3);

    // The capture on the NAT's outside: no malformed frames, everything
    // decrypts with our keys, keepalives from the public address and the
    // mapped port.
    let pcap = capture.stop();
    let keydir = dir.join("keys");
    eng.key_files(CGW_ADDR, AWS_ADDR)
        .write_dir(&keydir)
        .unwrap();
    let d = tshark::check_no_malformed_with(&pcap, Some(&keydir));
    assert!(d.isakmp >= 4, "{d:?}");
    assert!(
        d.esp_icmp >= 6,
        "ESP decrypted to ICMP with our keys: {d:?}"
    );
    let ka = tshark::frames(
        &pcap,
        None,
        &format!(
            "ip.src == {CGW_ADDR} && udp.srcport == {nat_port} && udp.dstport == 4500 \
             && udpencap && udp.length == 9 && udp.payload == 0xff"
        ),
    );
    assert!(ka.len() >= 3, "keepalives on the wire: {ka:#?}");
    // None while ESP flowed: the first one a whole interval after the last
    // ESP packet we sent, then one per interval.
    let times = |filter: &str| -> Vec<f64> {
        tshark::fields(&pcap, filter, "frame.time_relative")
            .iter()
            .map(|t| t.parse().unwrap())
            .collect()
    };
    let esp_out = times(&format!("esp && ip.src == {CGW_ADDR}"));
    let ka_t = times("udpencap && udp.length == 9");
    let last_esp = esp_out.last().copied().unwrap();
    assert!(
        ka_t[0] - last_esp >= KEEPALIVE.as_secs_f64() - 0.05,
        "first keepalive {} s after the last ESP {}",
        ka_t[0],
        last_esp
    );
    for w in ka_t.windows(2) {
        assert!(
            (w[1] - w[0] - KEEPALIVE.as_secs_f64()).abs() < 0.5,
            "{ka_t:?}"
        );
    }
    assert_eq!(ka.len() as u64, sent, "every keepalive crossed the NAT");
    // Nothing left the NAT from the inside address or from port 500/4500
    // unchanged.
    let leaked = tshark::frames(&pcap, None, "ip.src == 203.0.113.0/24");
    assert!(leaked.is_empty(), "{leaked:#?}");
    let ike_500 = tshark::frames(&pcap, None, "ip.src == 192.0.2.10 && udp.srcport == 500");
    assert!(ike_500.is_empty(), "{ike_500:#?}");
    eprintln!(
        "interop NAT test: {} keepalives, {d:?}, took {:?}",
        ka.len(),
        t0.elapsed()
    );
}
