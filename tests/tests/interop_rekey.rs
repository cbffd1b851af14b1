//! Rekeying against strongSwan with traffic flowing: child SA rekeys (with
//! PFS) and IKE SA rekeys started by either side, pings through ESP every
//! 100 ms all along, and tshark dissecting the capture cleanly.

use std::time::{Duration, Instant};

use cgw_sim_tests::engine::UdpEngine;
use cgw_sim_tests::icmp;
use cgw_sim_tests::netns::{InsideNet, LabPair, AWS_ADDR, CGW_ADDR};
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use cgw_sim_tests::tshark::{self, Capture};
use cgw_sim_tests::{require, TestDir};
use ike::crypto::{DhGroup, EncrAlg, PrfAlg, Secret};
use ike::sa::{EspProposal, Event, IkeConfig, IkeProposal};

const PSK: &str = "rekey-interop-psk-0123456789";

struct Rig {
    eng: UdpEngine,
    aws: Charon,
    inside: InsideNet,
    seq: u16,
    sent: u32,
    replies: u32,
    _lab: LabPair,
}

impl Rig {
    /// Pings strongSwan's inside address every 100 ms for `d`, while the
    /// engine runs; counts replies.
    fn ping_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.seq = self.seq.wrapping_add(1);
            let req = icmp::echo(
                self.inside.cgw(),
                self.inside.aws(),
                8,
                0x7e7e,
                self.seq,
                b"cgw-sim rekey",
            );
            self.eng.send_newest(&req);
            self.sent += 1;
            self.eng.run_until(Duration::from_millis(100), |_| false);
        }
        self.replies = self
            .eng
            .received
            .iter()
            .filter_map(|p| icmp::parse_echo(p))
            .filter(|e| e.kind == 0 && e.id == 0x7e7e)
            .count() as u32;
    }

    fn swan_spis(&self) -> (String, String, Vec<(String, String)>) {
        let sa = self.aws.wait_established(Duration::from_secs(5));
        let children = sa
            .children
            .iter()
            .filter(|c| c.state == "INSTALLED")
            .map(|c| (c.spi_in.clone(), c.spi_out.clone()))
            .collect();
        (sa.initiator_spi, sa.responder_spi, children)
    }
}

fn gcm_config() -> IkeConfig {
    let gcm = EncrAlg::AesGcm16 { key_bits: 128 };
    let mut ours = IkeConfig::new(
        Secret::from_slice(PSK.as_bytes()),
        vec![IkeProposal {
            encr: vec![gcm],
            prf: vec![PrfAlg::HmacSha256],
            integ: vec![],
            dh: vec![DhGroup::Ecp256],
        }],
        vec![EspProposal {
            encr: vec![gcm],
            integ: vec![],
            dh: vec![DhGroup::Modp2048],
        }],
    );
    ours.force_encapsulation = true;
    ours
}

fn rig(name: &str, swan_ike: &str, swan_esp: &str, ours: IkeConfig) -> (Rig, Capture, TestDir) {
    require::strongswan();
    require::tshark();
    let dir = TestDir::new(name);
    let lab = LabPair::new();
    let inside = InsideNet::unique();
    let mut cfg = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    cfg.ike_proposals = swan_ike.into();
    cfg.esp_proposals = swan_esp.into();
    cfg.psk = PSK.into();
    cfg.inside_addr = Some(inside.aws_cidr());
    let aws = Charon::start(&lab.aws, cfg);
    let capture = Capture::start(&lab.cgw, "wan0", dir.join("wan0.pcapng"));
    let mut eng = lab
        .cgw
        .run_in(|| UdpEngine::bind(CGW_ADDR, None))
        .expect("bind");
    eng.initiate(ours, AWS_ADDR);
    assert!(
        eng.run_until(Duration::from_secs(20), |e| e.child().is_some()),
        "{:?}\n{}",
        eng.event_list(),
        aws.log_tail(30)
    );
    (
        Rig {
            eng,
            aws,
            inside,
            seq: 0,
            sent: 0,
            replies: 0,
            _lab: lab,
        },
        capture,
        dir,
    )
}

fn rekeyed_children(eng: &UdpEngine) -> Vec<ike::sa::ChildSaInfo> {
    eng.event_list()
        .into_iter()
        .filter_map(|e| match e {
            Event::ChildSaInstalled(c) if c.replaces.is_some() => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn child_and_ike_rekeys_both_ways_with_traffic() {
    let (mut r, capture, dir) = rig(
        "rekey-both",
        "aes128gcm16-prfsha256-ecp256",
        "aes128gcm16-modp2048",
        gcm_config(),
    );
    r.ping_for(Duration::from_secs(1));
    let (_, _, c0) = r.swan_spis();

    // 1. We rekey the child SA (PFS with MODP-2048).
    let now = Instant::now();
    let id = r.eng.live_sa();
    let spi_in = r.eng.endpoint.sa(id).unwrap().child_spis()[0].0;
    assert!(r.eng.endpoint.sa_mut(id).unwrap().rekey_child(now, spi_in));
    r.ping_for(Duration::from_secs(2));
    let (_, _, c1) = r.swan_spis();
    assert_eq!(
        c1.len(),
        1,
        "strongSwan keeps one child after our rekey: {c1:?}"
    );
    assert_ne!(c1, c0);
    let ours = rekeyed_children(&r.eng);
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].suite.dh, Some(DhGroup::Modp2048));
    assert_eq!(
        format!("{:08x}", ours[0].spi_out),
        c1[0].0,
        "our outbound is strongSwan's inbound"
    );
    let sa = r.aws.wait_established(Duration::from_secs(2));
    assert_eq!(
        sa.children
            .iter()
            .find(|c| c.state == "INSTALLED")
            .unwrap()
            .dh_group
            .as_deref(),
        Some("MODP_2048")
    );

    // 2. strongSwan rekeys the child SA.
    std::thread::scope(|s| {
        let h = s.spawn(|| r.aws.rekey_child());
        r.eng
            .run_until(Duration::from_secs(10), |_| h.is_finished());
        h.join().unwrap().expect("swanctl --rekey --child");
    });
    r.ping_for(Duration::from_secs(2));
    let (_, _, c2) = r.swan_spis();
    assert_eq!(
        rekeyed_children(&r.eng).len(),
        2,
        "{:?}",
        r.eng.event_list()
    );
    assert_eq!(c2.len(), 1, "{c2:?}");
    assert_eq!(
        format!("{:08x}", r.eng.newest_child().unwrap().spi_out),
        c2[0].0
    );

    // 3. We rekey the IKE SA: strongSwan shows the new SPIs, the child moved.
    let (i0, r0, _) = r.swan_spis();
    let now = Instant::now();
    let id = r.eng.live_sa();
    assert!(r.eng.endpoint.sa_mut(id).unwrap().rekey_ike(now));
    r.ping_for(Duration::from_secs(2));
    let (i1, r1, c3) = r.swan_spis();
    assert_ne!((&i1, &r1), (&i0, &r0));
    let ours = r.eng.endpoint.sa(r.eng.live_sa()).unwrap();
    assert_eq!(
        (
            format!("{:016x}", ours.spi_i()),
            format!("{:016x}", ours.spi_r())
        ),
        (i1.clone(), r1.clone())
    );
    assert_eq!(c3, c2, "children moved to the new IKE SA unchanged");
    assert_eq!(r.aws.list_sas().len(), 1, "old IKE SA deleted");

    // 4. strongSwan rekeys the IKE SA; then a child rekey over the new one.
    std::thread::scope(|s| {
        let h = s.spawn(|| r.aws.rekey_ike());
        r.eng
            .run_until(Duration::from_secs(10), |_| h.is_finished());
        h.join().unwrap().expect("swanctl --rekey --ike");
    });
    r.ping_for(Duration::from_secs(2));
    let (i2, r2, _) = r.swan_spis();
    assert_ne!((&i2, &r2), (&i1, &r1));
    let ours = r.eng.endpoint.sa(r.eng.live_sa()).unwrap();
    assert_eq!(
        (
            format!("{:016x}", ours.spi_i()),
            format!("{:016x}", ours.spi_r())
        ),
        (i2, r2)
    );
    let now = Instant::now();
    let id = r.eng.live_sa();
    let spi_in = r.eng.endpoint.sa(id).unwrap().child_spis()[0].0;
    assert!(r.eng.endpoint.sa_mut(id).unwrap().rekey_child(now, spi_in));
    r.ping_for(Duration::from_secs(2));
    assert_eq!(rekeyed_children(&r.eng).len(), 3);

    // Traffic flowed all along.
    assert!(r.eng.esp_errors.is_empty(), "{:?}", r.eng.esp_errors);
    assert!(r.sent >= 80, "{}", r.sent);
    assert!(
        r.replies + 2 >= r.sent,
        "replies {} of {} pings",
        r.replies,
        r.sent
    );
    let pcap = capture.stop();
    let d = tshark::check_no_malformed(&pcap);
    assert!(d.isakmp >= 12, "{d:?}");
    drop(dir);
}

#[test]
fn short_lifetimes_rekey_by_themselves() {
    // Our lifetimes: child 12 s, IKE 20 s, margin 4 s, no fuzz: we rekey on
    // our own timers, strongSwan follows, pings never stop.
    let cbc = EncrAlg::AesCbc { key_bits: 128 };
    let sha256 = ike::crypto::IntegAlg::HmacSha256_128;
    let mut ours = IkeConfig::new(
        Secret::from_slice(PSK.as_bytes()),
        vec![IkeProposal {
            encr: vec![cbc],
            prf: vec![PrfAlg::HmacSha256],
            integ: vec![sha256],
            dh: vec![DhGroup::Modp2048],
        }],
        vec![EspProposal {
            encr: vec![cbc],
            integ: vec![sha256],
            dh: vec![DhGroup::Modp2048],
        }],
    );
    ours.force_encapsulation = true;
    ours.lifetimes = ike::sa::Lifetimes {
        ike: Duration::from_secs(20),
        child: Duration::from_secs(12),
        margin: Duration::from_secs(4),
        fuzz_percent: 0,
    };
    let (mut r, capture, _dir) = rig(
        "rekey-timer",
        "aes128-sha256-modp2048",
        "aes128-sha256-modp2048",
        ours,
    );
    r.ping_for(Duration::from_secs(25));
    let rekeys = rekeyed_children(&r.eng).len();
    let ike_rekeys = r
        .eng
        .event_list()
        .iter()
        .filter(|e| matches!(e, Event::IkeSaRekeyed { .. }))
        .count();
    assert!(rekeys >= 2, "child rekeyed by lifetime: {rekeys}");
    assert!(ike_rekeys >= 1, "IKE SA rekeyed by lifetime: {ike_rekeys}");
    let sa = r.aws.wait_established(Duration::from_secs(2));
    assert_eq!(
        sa.children
            .iter()
            .filter(|c| c.state == "INSTALLED")
            .count(),
        1
    );
    assert_eq!(r.aws.list_sas().len(), 1);
    assert!(r.eng.esp_errors.is_empty(), "{:?}", r.eng.esp_errors);
    assert!(
        r.replies + 3 >= r.sent,
        "replies {} of {}",
        r.replies,
        r.sent
    );
    let d = tshark::check_no_malformed(&capture.stop());
    assert!(d.esp > 100, "{d:?}");
}
