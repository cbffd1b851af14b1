//! Harness self-test: strongSwan against strongSwan in two namespaces.
//!
//! Proves the environment and the harness (namespaces, veth, charon, swanctl
//! parsing, ESP-in-UDP through kernel-libipsec's TUN, tshark dissection and
//! decryption with key files) before our own engine is plugged in.

use cgw_sim_tests::netns::{InsideNet, Netns, Veth};
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use cgw_sim_tests::tshark::{self, Capture};
use cgw_sim_tests::{require, TestDir};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const AWS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

#[test]
fn strongswan_pair_esp_in_udp_decrypts() {
    require::strongswan();
    require::tshark();
    require::ping();
    let t0 = Instant::now();
    let names;
    {
        let dir = TestDir::new("pair");
        let cgw_ns = Netns::new();
        let aws_ns = Netns::new();
        names = [cgw_ns.name().to_string(), aws_ns.name().to_string()];
        Veth::connect(
            &cgw_ns,
            "wan0",
            &format!("{CGW}/24"),
            &aws_ns,
            "wan0",
            &format!("{AWS}/24"),
        );
        let underlay = cgw_ns.ping(AWS, 1, None);
        assert!(underlay.success(), "underlay ping failed: {underlay}");

        let inside = InsideNet::new(Ipv4Addr::new(169, 254, 100, 0));
        let ike = "aes128-sha1-modp2048";
        let esp = "aes128gcm16";

        let mut aws_cfg = CharonConfig::aws_responder(AWS, CGW);
        aws_cfg.ike_proposals = ike.into();
        aws_cfg.esp_proposals = esp.into();
        aws_cfg.inside_addr = Some(inside.aws_cidr());
        let mut cgw_cfg = CharonConfig::cgw_initiator(CGW, AWS);
        cgw_cfg.ike_proposals = ike.into();
        cgw_cfg.esp_proposals = esp.into();
        cgw_cfg.inside_addr = Some(inside.cgw_cidr());
        cgw_cfg.key_log = true;

        let aws = Charon::start(&aws_ns, aws_cfg);
        let cgw = Charon::start(&cgw_ns, cgw_cfg);
        let capture = Capture::start(&cgw_ns, "wan0", dir.join("wan0.pcapng"));

        if let Err(e) = cgw.initiate() {
            panic!(
                "initiate failed: {e}\n--- AWS side\n{}",
                aws.failure_context()
            );
        }
        for (side, c) in [("cgw", &cgw), ("aws", &aws)] {
            let sa = c.wait_established(Duration::from_secs(10));
            assert_eq!(sa.version, 2, "{side}: {sa:#?}");
            assert_eq!(sa.encr_alg, "AES_CBC", "{side}: {sa:#?}");
            assert_eq!(sa.encr_keysize, Some(128), "{side}");
            assert_eq!(sa.integ_alg.as_deref(), Some("HMAC_SHA1_96"), "{side}");
            assert_eq!(sa.prf_alg, "PRF_HMAC_SHA1", "{side}");
            assert_eq!(sa.dh_group, "MODP_2048", "{side}");
            assert_eq!(sa.initiator, side == "cgw", "{side}");
            assert_eq!(
                sa.local_port, 4500,
                "{side}: IKE should float to 4500 (encap)"
            );
            let child = &sa.children[0];
            assert_eq!(child.state, "INSTALLED", "{side}");
            assert_eq!(child.protocol, "ESP", "{side}");
            assert!(child.encap, "{side}: ESP must be UDP-encapsulated");
            assert_eq!(child.encr_alg, "AES_GCM_16", "{side}");
            assert_eq!(child.encr_keysize, Some(128), "{side}");
            assert_eq!(child.integ_alg, None, "{side}");
            assert_eq!(child.local_ts, vec!["0.0.0.0/0".to_string()], "{side}");
        }
        let (c_sa, a_sa) = (&cgw.list_sas()[0], &aws.list_sas()[0]);
        assert_eq!(c_sa.initiator_spi, a_sa.initiator_spi);
        assert_eq!(c_sa.children[0].spi_out, a_sa.children[0].spi_in);

        let ping = cgw_ns.ping(inside.aws(), 3, Some(inside.cgw()));
        assert!(
            ping.success(),
            "ping through the tunnel failed: {ping}\n{}\n--- AWS side\n{}",
            cgw.failure_context(),
            aws.failure_context()
        );
        let child = &cgw.list_sas()[0].children[0];
        assert!(
            child.packets_out >= 3 && child.packets_in >= 3,
            "{child:#?}"
        );

        let keys = cgw.wireshark_keys();
        assert_eq!(keys.ike.len(), 1, "{keys:#?}");
        assert_eq!(keys.esp.len(), 2, "{keys:#?}");
        let keydir = dir.join("wireshark");
        keys.write_dir(&keydir).unwrap();

        let pcap = capture.stop();
        let plain = tshark::check_no_malformed(&pcap);
        assert!(
            plain.isakmp >= 4,
            "IKE_SA_INIT + IKE_AUTH expected: {plain:?}"
        );
        assert!(
            plain.udpencap > 0 && plain.esp >= 6,
            "ESP-in-UDP expected: {plain:?}"
        );
        assert_eq!(plain.esp_icmp, 0, "no ICMP visible without keys: {plain:?}");
        let dec = tshark::check_no_malformed_with(&pcap, Some(&keydir));
        assert!(
            dec.esp_icmp >= 6,
            "decrypted ESP should show the 3 echo requests and 3 replies: {dec:?}"
        );
        let auth = tshark::frames(
            &pcap,
            Some(&keydir),
            "isakmp.enc.decrypted && isakmp.exchangetype == 35",
        );
        assert_eq!(
            auth.len(),
            2,
            "IKE_AUTH request+response decrypted: {auth:?}"
        );

        drop(cgw);
        drop(aws);
    }
    let left =
        cgw_sim_tests::proc::run(&["ip", "netns", "list"], &[], Duration::from_secs(10)).stdout;
    for n in &names {
        assert!(
            !left.contains(n.as_str()),
            "namespace {n} left behind: {left}"
        );
    }
    eprintln!("strongswan pair self-test took {:?}", t0.elapsed());
}

/// A harness failure inside the scope must still clean up: namespaces and
/// the daemon are gone after the panic unwinds.
#[test]
fn cleanup_on_panic() {
    require::strongswan();
    let names = std::sync::Mutex::new(Vec::new());
    let pid = std::sync::Mutex::new(0u32);
    let kept = std::sync::Mutex::new(None);
    let r = std::panic::catch_unwind(|| {
        let a = Netns::new();
        let b = Netns::new();
        names
            .lock()
            .unwrap()
            .extend([a.name().to_string(), b.name().to_string()]);
        Veth::connect(&a, "wan0", "192.0.2.10/24", &b, "wan0", "198.51.100.10/24");
        let c = Charon::start(&a, CharonConfig::cgw_initiator(CGW, AWS));
        *pid.lock().unwrap() = c.pid();
        *kept.lock().unwrap() = Some(c.dir().to_path_buf());
        panic!("deliberate");
    });
    assert!(r.is_err());
    let pid = *pid.lock().unwrap();
    assert!(pid > 0);
    // the charon directory is kept for inspection after a panic; this panic was on purpose
    if let Some(d) = kept.lock().unwrap().take() {
        let _ = std::fs::remove_dir_all(d);
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "charon pid {pid} still alive"
    );
    let left =
        cgw_sim_tests::proc::run(&["ip", "netns", "list"], &[], Duration::from_secs(10)).stdout;
    for n in names.lock().unwrap().iter() {
        assert!(
            !left.contains(n.as_str()),
            "namespace {n} left behind: {left}"
        );
    }
}

/// `run_in` puts a socket in the namespace: a UDP datagram crosses the veth.
#[test]
fn run_in_namespace_socket() {
    require::netns();
    let a = Netns::new();
    let b = Netns::new();
    Veth::connect(&a, "wan0", "192.0.2.10/24", &b, "wan0", "198.51.100.10/24");
    let rx = b.run_in(|| std::net::UdpSocket::bind("198.51.100.10:4500").unwrap());
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    a.run_in(|| {
        let tx = std::net::UdpSocket::bind("192.0.2.10:0").unwrap();
        tx.send_to(b"hello", "198.51.100.10:4500").unwrap();
    });
    let mut buf = [0u8; 16];
    let (n, from) = rx.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(from.ip(), std::net::IpAddr::V4(CGW));
    // the socket does not exist in the root namespace: binding there fails
    assert!(std::net::UdpSocket::bind("198.51.100.10:4500").is_err());
}

/// CBC + HMAC ESP, an ECP group, CHILD and IKE rekeys driven through swanctl,
/// fragmentation settings, terminate; decryption keeps working across the
/// CHILD rekey.
#[test]
fn strongswan_pair_rekey_cbc() {
    require::strongswan();
    require::tshark();
    let t0 = Instant::now();
    let dir = TestDir::new("rekey");
    let lab = cgw_sim_tests::LabPair::new();
    let inside = InsideNet::unique();
    let mut aws_cfg = CharonConfig::aws_responder(AWS, CGW);
    aws_cfg.ike_proposals = "aes256-sha256-ecp256".into();
    aws_cfg.esp_proposals = "aes128-sha256-ecp256".into();
    aws_cfg.inside_addr = Some(inside.aws_cidr());
    aws_cfg.fragment_size = Some(1280);
    let mut cgw_cfg = CharonConfig::cgw_initiator(CGW, AWS);
    cgw_cfg.ike_proposals = aws_cfg.ike_proposals.clone();
    cgw_cfg.esp_proposals = aws_cfg.esp_proposals.clone();
    cgw_cfg.inside_addr = Some(inside.cgw_cidr());
    cgw_cfg.fragmentation = false;
    cgw_cfg.key_log = true;
    let aws = Charon::start(&lab.aws, aws_cfg);
    let cgw = Charon::start(&lab.cgw, cgw_cfg);
    let capture = Capture::start(&lab.cgw, "wan0", dir.join("wan0.pcapng"));
    cgw.initiate().unwrap_or_else(|e| panic!("{e}"));
    let first = cgw.wait_established(Duration::from_secs(10));
    assert_eq!(first.encr_alg, "AES_CBC");
    assert_eq!(first.encr_keysize, Some(256));
    assert_eq!(first.integ_alg.as_deref(), Some("HMAC_SHA2_256_128"));
    assert_eq!(first.dh_group, "ECP_256");
    assert_eq!(
        first.children[0].integ_alg.as_deref(),
        Some("HMAC_SHA2_256_128")
    );
    assert!(lab.cgw.ping(inside.aws(), 2, Some(inside.cgw())).success());

    // CHILD rekey: new SPIs, the child's DH group now applies (PFS)
    cgw.rekey_child().unwrap_or_else(|e| panic!("{e}"));
    let old_spi = first.children[0].spi_in.clone();
    let rekeyed = cgw_sim_tests::proc::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            cgw.list_sas().into_iter().find_map(|s| {
                s.children
                    .into_iter()
                    .find(|c| c.state == "INSTALLED" && c.spi_in != old_spi)
            })
        },
    )
    .unwrap_or_else(|| {
        panic!(
            "child not rekeyed: {:#?}\n{}",
            cgw.list_sas(),
            cgw.failure_context()
        )
    });
    assert_eq!(rekeyed.dh_group.as_deref(), Some("ECP_256"), "{rekeyed:#?}");
    // let the old child SA be deleted, then send through the new one
    std::thread::sleep(Duration::from_millis(300));
    assert!(lab.cgw.ping(inside.aws(), 2, Some(inside.cgw())).success());
    let keys = cgw.wireshark_keys();
    assert_eq!(
        keys.esp.len(),
        4,
        "two child SAs, two directions each: {keys:#?}"
    );

    // IKE rekey: new IKE SPIs
    cgw.rekey_ike().unwrap_or_else(|e| panic!("{e}"));
    let old_ispi = first.initiator_spi.clone();
    cgw_sim_tests::proc::wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        cgw.list_sas()
            .into_iter()
            .find(|s| s.state == "ESTABLISHED" && s.initiator_spi != old_ispi)
    })
    .unwrap_or_else(|| {
        panic!(
            "IKE SA not rekeyed: {:#?}\n{}",
            cgw.list_sas(),
            cgw.failure_context()
        )
    });

    cgw.terminate().unwrap_or_else(|e| panic!("{e}"));
    let gone =
        cgw_sim_tests::proc::wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
            aws.list_sas().is_empty().then_some(())
        });
    assert!(
        gone.is_some(),
        "AWS side still has SAs: {:#?}",
        aws.list_sas()
    );

    let keydir = dir.join("wireshark");
    keys.write_dir(&keydir).unwrap();
    let pcap = capture.stop();
    let d = tshark::check_no_malformed_with(&pcap, Some(&keydir));
    assert!(
        d.esp_icmp >= 8,
        "pings before and after the CHILD rekey decrypt: {d:?}"
    );
    let icv_bad = tshark::frames(&pcap, Some(&keydir), "esp.icv_bad == 1");
    assert!(icv_bad.is_empty(), "ESP ICV failures: {icv_bad:?}");
    eprintln!("strongswan rekey self-test took {:?}", t0.elapsed());
}
