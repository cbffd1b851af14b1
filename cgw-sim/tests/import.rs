//! `cgw-sim import`: AWS's configuration downloads (XML, both generations
//! of the Generic text, tunnel options JSON) into gateway and mock
//! configurations that load, with each value per tunnel right, tunnels
//! matched by address rather than order, and errors placed in the input.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cgw_sim::aws::Ipv4Cidr;
use cgw_sim::config::{GatewayConfig, MockConfig};
use cgw_sim::import::{self, ImportError, ImportedConnection, WriteParams};
use cgw_sim::scenario::Routing;

const T1_KEY: &str = "sample_tunnel1_key.NOT_REAL";
const T2_KEY: &str = "sample_tunnel2_key.NOT_REAL";
const AWS1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const AWS2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/samples/import")
        .join(name)
}

/// A fresh directory: tests run in parallel and several import the same
/// sample, so each call gets its own.
fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("cgw-sim-import-{}-{n}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn params() -> WriteParams {
    WriteParams {
        announce: vec!["198.18.0.0/24".parse().unwrap()],
        vpc_cidrs: vec!["198.19.0.0/16".parse().unwrap()],
        sources: vec!["sample".into()],
    }
}

fn import(download: &str, options: Option<&str>) -> ImportedConnection {
    let opts = options.map(sample);
    import::import_files(&sample(download), opts.as_deref())
        .unwrap_or_else(|e| panic!("{download}: {e}"))
}

/// The round trip the lead can extend: import, write gw.toml and
/// mock.toml into a directory, load both with the daemons' loaders.
fn round_trip(
    download: &str,
    options: Option<&str>,
) -> (GatewayConfig, MockConfig, String, String) {
    let conn = import(download, options);
    let dir = scratch(&download.replace(['.', '/'], "_"));
    let gw_text = import::gateway_toml(&conn, &params()).unwrap();
    let mock_text = import::mock_toml(&conn, &params()).unwrap();
    let gw = dir.join("gw.toml");
    let mock = dir.join("mock.toml");
    std::fs::write(&gw, &gw_text).unwrap();
    std::fs::write(&mock, &mock_text).unwrap();
    let g = GatewayConfig::load(&gw).unwrap_or_else(|e| panic!("{e}\n{gw_text}"));
    let m = MockConfig::load(&mock).unwrap_or_else(|e| panic!("{e}\n{mock_text}"));
    let _ = std::fs::remove_dir_all(&dir);
    (g, m, gw_text, mock_text)
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The line of `sample` holding `needle` (1-based).
fn line_of(sample_name: &str, needle: &str, nth: usize) -> usize {
    let text = std::fs::read_to_string(sample(sample_name)).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{needle} not in {sample_name}"))
}

/// Both tunnels as the BGP samples give them (the download's minimum
/// suite, DPD 10 s x 3, MSS 1379, DF cleared).
fn assert_bgp_minimum(g: &GatewayConfig) {
    assert_eq!(g.local_address, CGW);
    assert_eq!(g.routing, Routing::Bgp);
    assert_eq!(g.aws_asn, 64520);
    assert_eq!(g.cgw.bgp.asn, 65010);
    assert_eq!(g.cgw.bgp.hold_time, Duration::from_secs(30));
    assert_eq!(g.tunnels[0].aws_address, AWS1);
    assert_eq!(g.tunnels[0].inside_cidr, cidr("169.254.10.0/30"));
    assert_eq!(g.tunnels[0].psk.expose(), T1_KEY);
    assert_eq!(g.tunnels[1].aws_address, AWS2);
    assert_eq!(g.tunnels[1].inside_cidr, cidr("169.254.20.0/30"));
    assert_eq!(g.tunnels[1].psk.expose(), T2_KEY);
    for t in [&g.cgw.tunnel1, &g.cgw.tunnel2] {
        assert_eq!(t.mss_clamp, Some(1379));
        assert!(t.clear_df);
        let ike = &t.ike;
        assert_eq!(ike.version, 2);
        assert_eq!(ike.encryption, names(&["AES128"]));
        assert_eq!(ike.integrity, names(&["SHA1"]));
        assert_eq!(ike.dh_groups, vec![2]);
        assert_eq!(ike.phase2_encryption, names(&["AES128"]));
        assert_eq!(ike.phase2_integrity, names(&["SHA1"]));
        assert_eq!(ike.phase2_dh_groups, vec![2]);
        assert_eq!(ike.phase1_lifetime, Duration::from_secs(28_800));
        assert_eq!(ike.phase2_lifetime, Duration::from_secs(3_600));
        let dpd = ike.dpd.as_ref().expect("dpd");
        assert_eq!(dpd.interval, Duration::from_secs(10));
        assert_eq!(dpd.timeout, Duration::from_secs(30));
    }
}

#[test]
fn xml_bgp_imports_both_tunnels_with_sources() {
    let (g, m, gw_text, _) = round_trip("bgp.xml", None);
    assert_bgp_minimum(&g);
    assert_eq!(g.cgw.bgp.announce, vec!["198.18.0.0/24".parse().unwrap()]);
    // Every value says where it came from.
    let line = line_of("bgp.xml", "<ip_address>198.51.100.10</ip_address>", 0);
    let want = format!(
        "aws_address = \"198.51.100.10\"  # {}:{line} (ipsec_tunnel[1]/vpn_gateway/tunnel_outside_address/ip_address)",
        sample("bgp.xml").display()
    );
    assert!(gw_text.contains(&want), "{gw_text}");
    assert!(gw_text.contains("IKEv1 phase 1 mode = main"), "{gw_text}");
    // The mock: AWS's endpoints on the download's addresses, AWS's
    // defaults for the algorithms the XML does not show.
    assert_eq!(m.cgw_address, CGW);
    assert_eq!(m.tunnels[0].listen, AWS1);
    assert_eq!(m.tunnels[1].listen, AWS2);
    assert_eq!(m.tunnels[0].psk.expose(), T1_KEY);
    assert_eq!(m.aws.asn, 64520);
    assert_eq!(m.aws.cgw_asn, Some(65010));
    assert_eq!(m.aws.tunnel1.phase1_encryption, None);
    assert_eq!(m.aws.tunnel1.phase1_lifetime_seconds, Some(28_800));
}

#[test]
fn xml_tunnels_in_swapped_order_import_the_same() {
    let (a, ma, _, _) = round_trip("bgp.xml", None);
    let (b, mb, _, _) = round_trip("bgp-swapped.xml", None);
    assert_eq!(a, b);
    assert_eq!(ma, mb);
}

#[test]
fn xml_static_imports_static_routing() {
    let (g, m, gw_text, mock_text) = round_trip("static.xml", None);
    assert_eq!(g.routing, Routing::Static);
    assert_eq!(g.cgw.static_routes, vec!["198.19.0.0/16".parse().unwrap()]);
    assert!(!gw_text.contains("[cgw.bgp]"), "{gw_text}");
    // The document lists 198.51.100.20 first; tunnel 1 is still .10.
    assert_eq!(g.tunnels[0].aws_address, AWS1);
    assert_eq!(g.tunnels[0].psk.expose(), T1_KEY);
    assert_eq!(g.tunnels[1].inside_cidr, cidr("169.254.20.0/30"));
    assert_eq!(m.aws.routing, Routing::Static);
    assert_eq!(m.aws.static_routes, vec!["198.18.0.0/24".parse().unwrap()]);
    assert!(mock_text.contains("static_routes = [\"198.18.0.0/24\"]  # --announce"));
}

#[test]
fn text_old_generation_with_tabs_matches_the_xml() {
    // Tunnels swapped, tabs and uneven spacing, `Inside IP Addresses`
    // without a colon, IKEv1-era labels: the same gateway as the XML.
    let (g, m, gw_text, _) = round_trip("generic-old-bgp.txt", None);
    assert_bgp_minimum(&g);
    let (x, mx, _, _) = round_trip("bgp.xml", None);
    assert_eq!(g, x);
    assert_eq!(m, mx);
    let conn = import("generic-old-bgp.txt", None);
    let mtu: Vec<_> = conn
        .unmapped()
        .filter(|u| u.what == "tunnel interface MTU")
        .collect();
    assert_eq!(mtu.len(), 2);
    assert_eq!(mtu[0].value, "1436 bytes");
    assert_eq!(
        mtu[0].at.line,
        Some(line_of("generic-old-bgp.txt", "Tunnel interface MTU", 1)),
        "tunnel 1 (198.51.100.10) is the file's second"
    );
    assert!(
        gw_text.contains("tunnel interface MTU = 1436 bytes"),
        "{gw_text}"
    );
    assert!(conn.warnings.is_empty(), "{:?}", conn.warnings);
    assert_eq!(conn.connection_id.unwrap().value, "vpn-0example0000text1");
}

#[test]
fn text_new_generation_static_with_ike_version() {
    let (g, m, _, _) = round_trip("generic-new-static.txt", None);
    assert_eq!(g.routing, Routing::Static);
    assert_eq!(g.tunnels[0].aws_address, AWS1);
    assert_eq!(g.tunnels[0].inside_cidr, cidr("169.254.10.0/30"));
    assert_eq!(g.tunnels[1].psk.expose(), T2_KEY);
    assert_eq!(g.cgw.tunnel1.ike.version, 2);
    assert_eq!(g.cgw.tunnel2.ike.dh_groups, vec![2]);
    assert_eq!(m.aws.routing, Routing::Static);
    let conn = import("generic-new-static.txt", None);
    let v = conn.tunnels[0].settings.ike_versions.as_ref().unwrap();
    assert_eq!(
        v.at.line,
        Some(line_of("generic-new-static.txt", "IKE version", 0))
    );
}

#[test]
fn tunnel_options_widen_the_algorithms_per_tunnel() {
    // The JSON lists 198.51.100.20 first: matched by address.
    let (g, m, gw_text, _) = round_trip("bgp.xml", Some("options-widen.json"));
    let t1 = &g.cgw.tunnel1.ike;
    assert_eq!(
        t1.encryption,
        names(&["AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16"])
    );
    assert_eq!(t1.integrity, names(&["SHA1", "SHA2-256"]));
    assert_eq!(t1.dh_groups, vec![2, 14, 19]);
    assert_eq!(t1.phase2_dh_groups, vec![2, 5, 14]);
    assert_eq!(t1.dpd.as_ref().unwrap().timeout, Duration::from_secs(30));
    let t2 = &g.cgw.tunnel2.ike;
    assert_eq!(t2.encryption, names(&["AES256-GCM-16", "AES128"]));
    assert_eq!(t2.integrity, names(&["SHA2-256", "SHA2-512"]));
    assert_eq!(t2.dh_groups, vec![20, 14]);
    assert_eq!(t2.phase2_encryption, names(&["AES256-GCM-16"]));
    assert_eq!(t2.phase1_lifetime, Duration::from_secs(14_400));
    assert_eq!(t2.phase2_lifetime, Duration::from_secs(1_800));
    assert_eq!(t2.rekey_margin, Duration::from_secs(240));
    assert_eq!(t2.rekey_fuzz, 50);
    assert_eq!(t2.dpd.as_ref().unwrap().timeout, Duration::from_secs(40));
    assert!(
        gw_text.contains("TunnelOptions[1].Phase1EncryptionAlgorithms"),
        "{gw_text}"
    );
    let a2 = &m.aws.tunnel2;
    use cgw_sim::aws::{DpdTimeoutAction, Encryption, IkeVersion};
    assert_eq!(
        a2.phase1_encryption,
        Some(vec![Encryption::Aes256Gcm16, Encryption::Aes128])
    );
    assert_eq!(a2.replay_window_packets, Some(2048));
    assert_eq!(a2.dpd_timeout_seconds, Some(40));
    assert_eq!(a2.dpd_timeout_action, Some(DpdTimeoutAction::Restart));
    assert_eq!(a2.ike_versions, Some(vec![IkeVersion::Ikev2]));
    assert_eq!(m.aws.tunnel1.phase1_dh_groups, Some(vec![2, 14, 19]));
    // LogOptions has no key: noted, not guessed.
    let conn = import("bgp.xml", Some("options-widen.json"));
    let log = conn.unmapped().find(|u| u.what == "LogOptions").unwrap();
    assert_eq!(
        log.at.path,
        "VpnConnections[1].Options.TunnelOptions[1].LogOptions"
    );
    assert_eq!(
        log.at.line,
        Some(line_of("options-widen.json", "\"LogOptions\"", 0))
    );
    let t1 = &conn.tunnels[0].settings;
    let dh = t1.phase1.dh_groups.as_ref().unwrap();
    assert_eq!(
        dh.at.line,
        Some(line_of("options-widen.json", "Phase1DHGroupNumbers", 1))
    );
}

#[test]
fn missing_psk_is_an_error_at_its_tunnel() {
    let err = import::import_files(&sample("missing-psk.xml"), None).unwrap_err();
    let ImportError::Missing { at, field } = err else {
        panic!("{err}");
    };
    assert_eq!(field, "ike/pre_shared_key");
    // Placed at its nearest parent, the second tunnel's <ike>.
    assert_eq!(at.path, "ipsec_tunnel[2]/ike");
    assert_eq!(at.line, Some(line_of("missing-psk.xml", "<ike>", 1)));
}

#[test]
fn unknown_element_is_a_warning_at_its_line() {
    let conn = import("unknown-element.xml", None);
    assert_eq!(conn.warnings.len(), 1, "{:?}", conn.warnings);
    let w = &conn.warnings[0];
    assert_eq!(w.at.path, "ipsec_tunnel[1]/ike/nat_traversal");
    assert_eq!(
        w.at.line,
        Some(line_of("unknown-element.xml", "<nat_traversal>", 0))
    );
    assert!(w.message.contains("nat_traversal"), "{}", w.message);
}

#[test]
fn tunnel_options_with_another_inside_cidr_name_both() {
    let opts = sample("options-mismatch.json");
    let err = import::import_files(&sample("bgp.xml"), Some(&opts)).unwrap_err();
    let ImportError::InsideCidrMismatch {
        outside,
        download_cidr,
        download,
        options_cidr,
        options,
    } = err
    else {
        panic!("{err}");
    };
    assert_eq!(outside, AWS1);
    assert_eq!(download_cidr, "169.254.10.0/30");
    assert_eq!(options_cidr, "169.254.30.0/30");
    assert_eq!(options.path, "TunnelOptions[2].TunnelInsideCidr");
    assert_eq!(
        options.line,
        Some(line_of("options-mismatch.json", "169.254.30.0/30", 0))
    );
    assert_eq!(
        download.line,
        Some(line_of("bgp.xml", "<ip_address>169.254.10.2<", 0))
    );
}

#[test]
fn prefixes_not_in_the_download_are_asked_for() {
    let conn = import("bgp.xml", None);
    let p = WriteParams {
        announce: vec![],
        ..params()
    };
    let err = import::gateway_toml(&conn, &p).unwrap_err();
    assert!(
        matches!(&err, ImportError::NeedsPrefixes { flag, .. } if flag == "--announce"),
        "{err}"
    );
    let p = WriteParams {
        vpc_cidrs: vec![],
        ..params()
    };
    let err = import::mock_toml(&conn, &p).unwrap_err();
    assert!(
        matches!(&err, ImportError::NeedsPrefixes { flag, .. } if flag == "--vpc-cidr"),
        "{err}"
    );
}

#[test]
fn text_format_is_told_from_content() {
    let text = std::fs::read_to_string(sample("generic-new-static.txt")).unwrap();
    assert_eq!(import::detect(&text), Some(import::Format::Text));
    let xml = std::fs::read_to_string(sample("bgp.xml")).unwrap();
    assert_eq!(import::detect(&xml), Some(import::Format::Xml));
    assert_eq!(import::detect("{\"TunnelOptions\": []}"), None);
}

fn cli(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cgw-sim"))
        .arg("import")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn command_writes_both_files_and_reports() {
    let dir = scratch("cli");
    let gw = dir.join("gw.toml");
    let mock = dir.join("mock.toml");
    let file = sample("unknown-element.xml");
    let opts = sample("options-widen.json");
    let out = cli(&[
        file.as_os_str(),
        "--options".as_ref(),
        opts.as_os_str(),
        "--out".as_ref(),
        gw.as_os_str(),
        "--mock".as_ref(),
        mock.as_os_str(),
        "--announce".as_ref(),
        "198.18.0.0/24".as_ref(),
        "--vpc-cidr".as_ref(),
        "198.19.0.0/16".as_ref(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("nat_traversal"),
        "{stderr}"
    );
    assert!(stderr.contains("not imported (no key)"), "{stderr}");
    assert!(!stderr.contains(T1_KEY), "a key in the report: {stderr}");
    let g = GatewayConfig::load(&gw).unwrap();
    let m = MockConfig::load(&mock).unwrap();
    for n in 0..2 {
        assert_eq!(g.tunnels[n].aws_address, m.tunnels[n].listen);
        assert_eq!(g.tunnels[n].inside_cidr, m.tunnels[n].inside_cidr);
        assert_eq!(g.tunnels[n].psk, m.tunnels[n].psk);
    }
    assert_eq!(g.local_address, m.cgw_address);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn command_error_names_the_place() {
    let file = sample("missing-psk.xml");
    let out = cli(&[
        file.as_os_str(),
        "--announce".as_ref(),
        "198.18.0.0/24".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = line_of("missing-psk.xml", "<ike>", 1);
    assert!(
        stderr.contains(&format!(
            "missing-psk.xml:{line} (ipsec_tunnel[2]/ike): missing ike/pre_shared_key"
        )),
        "{stderr}"
    );
}

#[test]
fn text_unknown_label_warns_and_missing_key_fails_at_their_lines() {
    let name = "generic-new-static.txt";
    let text = std::fs::read_to_string(sample(name)).unwrap();
    let psk_line = line_of(name, "Pre-Shared Key           :", 0);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(psk_line, "  - NAT Traversal\t\t   : enabled");
    let conn = import::import_text(&lines.join("\n"), name).unwrap();
    assert_eq!(conn.warnings.len(), 1, "{:?}", conn.warnings);
    let w = &conn.warnings[0];
    assert_eq!(w.at.line, Some(psk_line + 1));
    assert_eq!(w.at.path, "IPSec Tunnel #1 > NAT Traversal");

    // Tunnel 2 without its key: an error at its heading.
    let second_psk = line_of(name, "Pre-Shared Key           :", 1);
    let lines: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| i + 1 != second_psk)
        .map(|(_, l)| l)
        .collect();
    let err = import::import_text(&lines.join("\n"), name).unwrap_err();
    let ImportError::Missing { at, field } = err else {
        panic!("{err}");
    };
    assert_eq!(field, "Pre-Shared Key");
    // Placed at its nearest parent, tunnel 2's section #1.
    assert_eq!(at.path, "IPSec Tunnel #2 > #1");
    assert_eq!(at.line, Some(line_of(name, "#1: Internet Key Exchange", 1)));
}

#[test]
fn describe_output_holding_the_xml_imports_alone() {
    // One file: DescribeVpnConnections output whose
    // CustomerGatewayConfiguration holds the XML (tunnels swapped) and
    // whose TunnelOptions widen the algorithms.
    let (g, m, gw_text, _) = round_trip("describe-vpn-connections.json", None);
    let (x, mx, _, _) = round_trip("bgp.xml", Some("options-widen.json"));
    assert_eq!(g, x);
    assert_eq!(m, mx);
    assert!(
        gw_text.contains("describe-vpn-connections.json#CustomerGatewayConfiguration:"),
        "{gw_text}"
    );
}

#[test]
fn windows_line_endings_and_a_byte_order_mark_import_the_same() {
    for name in ["generic-old-bgp.txt", "bgp.xml"] {
        let text = std::fs::read_to_string(sample(name)).unwrap();
        let plain = import::import_text(&text, name).unwrap();
        let dos = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        let converted = import::import_text(&dos, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(converted, plain, "{name}");
    }
}
