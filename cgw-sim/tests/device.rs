//! Device files (strongSwan swanctl.conf, Cisco IOS / IOS-XE) read into a
//! gateway configuration that `GatewayConfig` loads, with the values, their
//! device lines, the unsupported lines, and malformed input refused at its
//! line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cgw_sim::config::GatewayConfig;
use cgw_sim::device::{self, DeviceError, DeviceFormat, DeviceImport};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/samples/device")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(sample(name)).expect("sample")
}

/// The 1-based line of the `n`th (from 1) line containing `needle`.
fn line_of(text: &str, needle: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(n - 1)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("no {n}th line with {needle:?}"))
}

fn gateway(imp: &DeviceImport) -> GatewayConfig {
    GatewayConfig::from_toml(&imp.toml, "device.toml", Path::new("."))
        .unwrap_or_else(|e| panic!("{e}\n--- toml\n{}", imp.toml))
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The first line of `src` holding `needle` is reported unsupported, with
/// `word` in the reason.
fn assert_unsupported(imp: &DeviceImport, src: &str, needle: &str, word: &str) {
    let line = line_of(src, needle, 1);
    assert!(
        imp.unsupported
            .iter()
            .any(|(l, what)| *l == line && what.contains(word)),
        "line {line} ({needle}) not reported with {word:?}: {:?}",
        imp.unsupported
    );
}

/// Reads a sample (detected as `format`) with nothing missing, and loads
/// its TOML.
fn load_sample(name: &str, format: DeviceFormat) -> (String, DeviceImport, GatewayConfig) {
    let src = text(name);
    assert_eq!(device::detect(&src), Some(format));
    let imp = device::load(sample(name)).expect("reads");
    assert_eq!(imp.format, format);
    assert!(imp.missing.is_empty(), "{:?}", imp.missing);
    let cfg = gateway(&imp);
    (src, imp, cfg)
}

/// The addresses and keys every sample gives its two tunnels.
fn assert_sample_tunnels(cfg: &GatewayConfig) {
    assert_eq!(cfg.local_address.to_string(), "192.0.2.10");
    for (i, t) in cfg.tunnels.iter().enumerate() {
        let n = i + 1;
        assert_eq!(t.aws_address.to_string(), format!("198.51.100.{n}0"));
        assert_eq!(t.inside_cidr.to_string(), format!("169.254.{n}0.0/30"));
        assert_eq!(t.psk.expose(), format!("fake_tunnel{n}_key.example"));
    }
}

#[test]
fn swanctl_two_aws_tunnels_load_with_their_values() {
    let (src, imp, cfg) = load_sample("aws-two-tunnels.swanctl.conf", DeviceFormat::Swanctl);
    assert_sample_tunnels(&cfg);
    assert_eq!(cfg.routing, cgw_sim::scenario::Routing::Static);
    assert_eq!(cfg.cgw.static_routes.len(), 1);
    assert_eq!(cfg.cgw.static_routes[0].to_string(), "198.19.0.0/16");

    let t1 = &cfg.cgw.tunnel1.ike;
    assert_eq!(t1.version, 2);
    assert_eq!(t1.encryption, names(&["AES256-GCM-16", "AES128"]));
    assert_eq!(t1.integrity, names(&["SHA2-256"]));
    assert_eq!(t1.dh_groups, vec![20, 14]);
    assert_eq!(t1.phase2_encryption, names(&["AES256-GCM-16"]));
    assert_eq!(t1.phase2_dh_groups, vec![20]);
    // rekey_time 28000 + over_time 800; child life 3600, rekey at 3300.
    assert_eq!(t1.phase1_lifetime, Duration::from_secs(28_800));
    assert_eq!(t1.phase2_lifetime, Duration::from_secs(3600));
    assert_eq!(t1.rekey_margin, Duration::from_secs(300));
    assert_eq!(t1.rekey_fuzz, 50);
    let dpd = t1.dpd.as_ref().expect("dpd");
    assert_eq!(dpd.interval, Duration::from_secs(10));
    assert_eq!(dpd.timeout, Duration::from_secs(165));
    assert_eq!(t1.role, cgw_sim::scenario::Role::Initiator);

    let t2 = &cfg.cgw.tunnel2.ike;
    assert_eq!(t2.encryption, names(&["AES128"]));
    assert_eq!(t2.integrity, names(&["SHA1"]));
    assert_eq!(t2.dh_groups, vec![14]);
    assert_eq!(t2.phase2_integrity, names(&["SHA1"]));
    assert_eq!(t2.phase2_dh_groups, vec![14]);
    // strongSwan's defaults: over_time 10 % of 8h; life_time 110 % of 3000s.
    assert_eq!(t2.phase1_lifetime, Duration::from_secs(28_800 + 2_880));
    assert_eq!(t2.phase2_lifetime, Duration::from_secs(3300));
    assert_eq!(t2.rekey_margin, Duration::from_secs(300));
    assert_eq!(t2.rekey_fuzz, 100);

    // Source lines.
    let at = |key: &str| {
        imp.line_of(key)
            .unwrap_or_else(|| panic!("no line for {key}"))
    };
    assert_eq!(
        at("cgw.tunnel1.ike.dh_groups"),
        line_of(&src, "proposals = aes256gcm16", 1)
    );
    assert_eq!(
        at("cgw.tunnel2.ike.encryption"),
        line_of(&src, "proposals = aes128-sha1", 1)
    );
    assert_eq!(
        at("gateway.tunnel2.aws_address"),
        line_of(&src, "remote_addrs = 198.51.100.20", 1)
    );
    assert_eq!(
        at("gateway.tunnel1.inside_cidr"),
        line_of(&src, "-ll 169.254.10.2/30", 1)
    );
    assert_eq!(
        at("cgw.tunnel2.ike.psk"),
        line_of(&src, "secret = fake_tunnel2", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.phase2_lifetime"),
        line_of(&src, "life_time = 3600s", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.dpd"),
        line_of(&src, "dpd_delay = 10s", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.dpd.interval"),
        line_of(&src, "dpd_delay = 10s", 1)
    );
    assert_eq!(
        at("gateway.local_address"),
        line_of(&src, "local_addrs = 192.0.2.10", 1)
    );

    // What cgw-sim has no key for is listed, never dropped.
    assert_unsupported(&imp, &src, "encap = yes", "encap");
    assert_unsupported(&imp, &src, "mobike = no", "mobike");
    assert_unsupported(&imp, &src, "if_id_in = 100", "if_id_in");
    assert_unsupported(&imp, &src, "if_id_out = 200", "if_id_out");
    // The PRF cgw-sim cannot express separately is noted.
    assert!(imp
        .notes
        .iter()
        .any(|(l, n)| *l == line_of(&src, "proposals = aes256gcm16", 1) && n.contains("PRF")));
    // Each TOML value names its device line.
    assert!(imp.toml.contains(&format!(
        "dh_groups = [20, 14]  # line {}",
        line_of(&src, "proposals = aes256gcm16", 1)
    )));
}

#[test]
fn ios_xe_two_tunnels_with_bgp_load_with_their_values() {
    let (src, imp, cfg) = load_sample("aws-two-tunnels.ios.cfg", DeviceFormat::CiscoIos);
    assert_sample_tunnels(&cfg);
    assert_eq!(cfg.routing, cgw_sim::scenario::Routing::Bgp);
    assert_eq!(cfg.cgw.bgp.asn, 65000);
    assert_eq!(cfg.aws_asn, 64512);
    assert_eq!(cfg.cgw.bgp.hold_time, Duration::from_secs(30));
    assert_eq!(cfg.cgw.bgp.announce.len(), 1);
    assert_eq!(cfg.cgw.bgp.announce[0].to_string(), "198.18.0.0/24");

    for t in [&cfg.cgw.tunnel1, &cfg.cgw.tunnel2] {
        let ike = &t.ike;
        assert_eq!(ike.version, 2);
        assert_eq!(ike.encryption, names(&["AES256", "AES128"]));
        assert_eq!(ike.integrity, names(&["SHA2-256", "SHA1"]));
        assert_eq!(ike.dh_groups, vec![14, 20]);
        assert_eq!(ike.phase2_encryption, names(&["AES256"]));
        assert_eq!(ike.phase2_integrity, names(&["SHA2-256"]));
        assert_eq!(ike.phase2_dh_groups, vec![14]);
        assert_eq!(ike.phase1_lifetime, Duration::from_secs(28_800));
        assert_eq!(ike.phase2_lifetime, Duration::from_secs(3600));
        let dpd = ike.dpd.as_ref().expect("dpd");
        assert_eq!(dpd.interval, Duration::from_secs(10));
        assert_eq!(t.mss_clamp, Some(1379));
        assert!(t.clear_df, "crypto ipsec df-bit clear");
    }

    let at = |key: &str| {
        imp.line_of(key)
            .unwrap_or_else(|| panic!("no line for {key}"))
    };
    assert_eq!(
        at("gateway.tunnel1.aws_address"),
        line_of(&src, "tunnel destination 198.51.100.10", 1)
    );
    assert_eq!(
        at("gateway.tunnel2.inside_cidr"),
        line_of(&src, "ip address 169.254.20.2", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.psk"),
        line_of(&src, "pre-shared-key fake_tunnel1", 1)
    );
    assert_eq!(
        at("cgw.tunnel2.ike.psk"),
        line_of(&src, "pre-shared-key 0 fake_tunnel2", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.encryption"),
        line_of(&src, "encryption aes-cbc-256", 1)
    );
    assert_eq!(
        at("cgw.tunnel2.ike.integrity"),
        line_of(&src, "integrity sha256 sha1", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.dh_groups[2]"),
        line_of(&src, "group 14 20", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.phase2_encryption"),
        line_of(&src, "set transform-set TS-AWS", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.phase2_dh_groups"),
        line_of(&src, "set pfs group14", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.phase1_lifetime"),
        line_of(&src, "lifetime 28800", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.ike.dpd"),
        line_of(&src, "dpd 10 10 on-demand", 1)
    );
    assert_eq!(
        at("cgw.tunnel1.mss_clamp"),
        line_of(&src, "ip tcp adjust-mss 1379", 1)
    );
    assert_eq!(
        at("cgw.bgp.peer_asn"),
        line_of(&src, "neighbor 169.254.10.1 remote-as", 1)
    );
    assert_eq!(
        at("cgw.bgp.hold_time"),
        line_of(&src, "neighbor 169.254.10.1 timers", 1)
    );
    assert_eq!(
        at("cgw.bgp.announce"),
        line_of(&src, "network 198.18.0.0", 1)
    );
    // tunnel source GigabitEthernet1 resolves through that interface.
    assert_eq!(
        at("gateway.local_address"),
        line_of(&src, "tunnel source GigabitEthernet1", 1)
    );

    // No report, no Debug output carries a device secret.
    let shown = format!("{imp:?}");
    for secret in [
        "fake_tunnel1_key",
        "fake_tunnel2_key",
        "fakehash",
        "fakecommunity",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert_unsupported(&imp, &src, "enable secret", "<redacted>");
    assert_unsupported(&imp, &src, "snmp-server community", "<redacted>");
    // The tunnel MTU has no key: a comment naming it.
    assert!(imp.toml.contains("the device's tunnel MTU is 1400"));
    // Unsupported lines, with their numbers.
    for (needle, word) in [
        ("ip virtual-reassembly", "virtual-reassembly"),
        ("soft-reconfiguration", "soft-reconfiguration"),
        ("hostname cgw-rtr1", "hostname"),
        ("line vty", "line vty"),
        ("interface GigabitEthernet1", "not a tunnel"),
    ] {
        assert_unsupported(&imp, &src, needle, word);
    }
}

#[test]
fn ios_aes_gcm_with_prf_and_esp_gcm() {
    let src = text("aws-two-tunnels.ios.cfg")
        .replacen(
            " encryption aes-cbc-256 aes-cbc-128\n integrity sha256 sha1\n",
            " encryption aes-gcm-256\n prf sha384\n",
            1,
        )
        .replacen("esp-aes 256 esp-sha256-hmac", "esp-gcm 256", 1);
    let imp = device::parse(&src, "gcm.cfg").expect("reads");
    let cfg = gateway(&imp);
    let ike = &cfg.cgw.tunnel1.ike;
    assert_eq!(ike.encryption, names(&["AES256-GCM-16"]));
    // The PRF is written as integrity, from which cgw-sim takes it.
    assert_eq!(ike.integrity, names(&["SHA2-384"]));
    assert_eq!(
        imp.line_of("cgw.tunnel1.ike.integrity"),
        Some(line_of(&src, "prf sha384", 1))
    );
    assert_eq!(ike.phase2_encryption, names(&["AES256-GCM-16"]));
    assert!(imp.toml.contains("phase2_integrity: none on the device"));
}

#[test]
fn a_second_child_and_stray_values_are_reported() {
    let src = swanctl_with(
        "      children {\n         aws-tunnel2 {",
        "      children {\n         stray = 1\n         extra {\n            mode = tunnel\n         }\n         aws-tunnel2 {",
    );
    let imp = device::parse(&src, "dev.conf").expect("reads");
    assert_unsupported(&imp, &src, "stray = 1", "stray");
    assert_unsupported(&imp, &src, "         aws-tunnel2 {", "a second child SA");
    // The first child section (`extra`, no esp_proposals) is the tunnel's.
    assert!(imp
        .missing
        .iter()
        .any(|(k, l, _)| k == "cgw.tunnel2.ike.phase2_encryption"
            && *l == line_of(&src, "extra {", 1)));
}

#[test]
fn aws_ios_ikev1_download_with_static_routes() {
    let (src, imp, cfg) = load_sample("aws-ikev1-static.ios.cfg", DeviceFormat::CiscoIos);
    assert_sample_tunnels(&cfg);
    assert_eq!(cfg.routing, cgw_sim::scenario::Routing::Static);
    assert_eq!(cfg.cgw.static_routes[0].to_string(), "198.19.0.0/16");
    for t in [&cfg.cgw.tunnel1, &cfg.cgw.tunnel2] {
        assert_eq!(t.ike.version, 1);
        assert_eq!(t.ike.encryption, names(&["AES128"]));
        assert_eq!(t.ike.integrity, names(&["SHA1"]));
        assert_eq!(t.ike.dh_groups, vec![2]);
        assert_eq!(t.ike.phase2_dh_groups, vec![2]);
        assert_eq!(t.ike.phase1_lifetime, Duration::from_secs(28_800));
        assert_eq!(t.mss_clamp, Some(1379));
    }
    assert_eq!(
        imp.line_of("cgw.tunnel1.ike.version"),
        Some(line_of(&src, "crypto isakmp policy 200", 1))
    );
    assert_eq!(
        imp.line_of("cgw.tunnel2.ike.psk"),
        Some(line_of(&src, "key fake_tunnel2", 1))
    );
    // ISAKMP profiles and `track` are reported, not silently skipped.
    assert_unsupported(&imp, &src, "crypto isakmp profile", "ISAKMP profiles");
    assert_unsupported(&imp, &src, "match identity address", "ISAKMP profiles");
    assert_unsupported(&imp, &src, "track 100", "track");
}

fn parse_err(text: &str) -> DeviceError {
    match device::parse(text, "dev.conf") {
        Ok(imp) => panic!("expected an error, got\n{}", imp.toml),
        Err(e) => e,
    }
}

/// The swanctl sample with one line replaced.
fn swanctl_with(find: &str, replace: &str) -> String {
    let src = text("aws-two-tunnels.swanctl.conf");
    assert!(src.contains(find));
    src.replacen(find, replace, 1)
}

#[test]
fn malformed_swanctl_is_refused_at_its_line() {
    // A section never closed: the error names where it opened.
    let src = swanctl_with(
        "      remote {\n         auth = psk\n         id = 198.51.100.10\n      }\n",
        "      remote {\n         auth = psk\n         id = 198.51.100.10\n",
    );
    let e = parse_err(&src);
    assert!(e.to_string().contains("never closed"), "{e}");
    assert!(e.line().is_some());

    // One `}` too many.
    let src = format!("{}\n}}\n", text("aws-two-tunnels.swanctl.conf"));
    let e = parse_err(&src);
    assert_eq!(e.line(), Some(src.lines().count()), "{e}");
    assert!(e.to_string().contains("closes no section"), "{e}");

    // An unknown proposal keyword.
    let src = swanctl_with(
        "aes128-sha1-modp2048\n      rekey_time = 8h",
        "aes128-sha1-modp2047\n      rekey_time = 8h",
    );
    let e = parse_err(&src);
    assert_eq!(e.line(), Some(line_of(&src, "modp2047", 1)), "{e}");
    assert!(
        e.to_string()
            .contains("unknown proposal keyword `modp2047`"),
        "{e}"
    );

    // `include` is refused, not followed.
    let src = swanctl_with("secrets {\n", "include conf.d/*.conf\nsecrets {\n");
    let e = parse_err(&src);
    assert_eq!(e.line(), Some(line_of(&src, "include", 1)), "{e}");
    assert!(e.to_string().contains("dev.conf:"), "{e}");

    // A known keyword cgw-sim cannot offer is reported, not an error.
    let src = swanctl_with(
        "aes128-sha1-modp2048\n      rekey_time = 8h",
        "aes128-sha1-modp2048-ecp224bp\n      rekey_time = 8h",
    );
    let imp = device::parse(&src, "dev.conf").expect("reads");
    assert_unsupported(&imp, &src, "ecp224bp", "ecp224bp");
}

#[test]
fn malformed_ios_is_refused_at_its_line() {
    let src = text("aws-two-tunnels.ios.cfg").replacen("esp-sha256-hmac", "esp-sha999-hmac", 1);
    let e = parse_err(&src);
    assert_eq!(e.line(), Some(line_of(&src, "esp-sha999-hmac", 1)), "{e}");

    let src = text("aws-two-tunnels.ios.cfg").replacen(
        "encryption aes-cbc-256",
        "encryption aes-cbc-257",
        1,
    );
    let e = parse_err(&src);
    assert_eq!(e.line(), Some(line_of(&src, "aes-cbc-257", 1)), "{e}");

    let src = text("aws-two-tunnels.ios.cfg").replacen(
        "tunnel protection ipsec profile IPSEC-AWS",
        "tunnel protection ipsec profile NOPE",
        1,
    );
    let e = parse_err(&src);
    assert!(e.to_string().contains("`NOPE` is not defined"), "{e}");

    // A peer group is reported, not an error.
    let src = text("aws-two-tunnels.ios.cfg").replacen(
        " bgp log-neighbor-changes\n",
        " bgp log-neighbor-changes\n neighbor AWS peer-group\n",
        1,
    );
    let imp = device::parse(&src, "dev.cfg").expect("reads");
    assert_unsupported(&imp, &src, "neighbor AWS peer-group", "peer groups");

    // An encrypted key cannot be read: reported, and missing.
    let src = text("aws-two-tunnels.ios.cfg").replacen(
        "pre-shared-key fake_tunnel1_key.example",
        "pre-shared-key 6 AbCdEf0123",
        1,
    );
    let imp = device::parse(&src, "dev.cfg").expect("reads");
    assert!(imp
        .missing
        .iter()
        .any(|(k, _, _)| k == "cgw.tunnel1.ike.psk"));
    assert_unsupported(&imp, &src, "pre-shared-key 6", "encrypted");
}

#[test]
fn a_missing_inside_cidr_is_listed_and_the_toml_says_so() {
    let src = swanctl_with("            updown = /etc/swanctl/aws-updown.sh -ln Tunnel1 -ll 169.254.10.2/30 -lr 169.254.10.1/30 -m 100 -r 198.19.0.0/16\n", "");
    let imp = device::parse(&src, "dev.conf").expect("reads");
    assert!(
        imp.missing
            .iter()
            .any(|(k, _, _)| k == "gateway.tunnel1.inside_cidr"),
        "{:?}",
        imp.missing
    );
    assert!(imp.toml.contains("MISSING gateway.tunnel1.inside_cidr"));
    let e = GatewayConfig::from_toml(&imp.toml, "device.toml", Path::new(".")).unwrap_err();
    assert!(e.to_string().contains("inside_cidr"), "{e}");
}

#[test]
fn absent_proposals_are_missing_not_guessed() {
    let src = swanctl_with("      proposals = aes128-sha1-modp2048\n", "");
    let imp = device::parse(&src, "dev.conf").expect("reads");
    let m: Vec<&str> = imp.missing.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(m, ["cgw.tunnel2.ike.encryption"]);
    assert_eq!(imp.missing[0].1, line_of(&src, "aws-tunnel2 {", 1));
    let t2 = imp.toml.split("[cgw.tunnel2.ike]").nth(1).expect("section");
    assert!(!t2.contains("\nencryption ="), "{t2}");
    assert!(imp.toml.contains("MISSING cgw.tunnel2.ike.encryption"));
}

/// Every leaf key path of a TOML table.
fn leaf_keys(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(sub) if !k.ends_with("dpd") => leaf_keys(&path, sub, out),
            _ => out.push(path),
        }
    }
}

#[test]
fn every_toml_value_has_its_device_line() {
    for name in [
        "aws-two-tunnels.swanctl.conf",
        "aws-two-tunnels.ios.cfg",
        "aws-ikev1-static.ios.cfg",
    ] {
        let src = text(name);
        let imp = device::load(sample(name)).expect("reads");
        let table: toml::Table = imp.toml.parse().expect("TOML");
        let mut keys = Vec::new();
        leaf_keys("", &table, &mut keys);
        let mapped: Vec<&str> = imp.source_map.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort();
        let mut sorted = mapped.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{name}");
        for (key, line) in &imp.source_map {
            assert!(
                (1..=src.lines().count()).contains(line),
                "{name}: {key} at line {line}"
            );
        }
    }
}

#[test]
fn no_input_prefix_panics() {
    // Every truncation of every sample (and garbage) reads or errs, never
    // panics; unknown text is refused as such.
    for name in [
        "aws-two-tunnels.swanctl.conf",
        "aws-two-tunnels.ios.cfg",
        "aws-ikev1-static.ios.cfg",
    ] {
        let src = text(name);
        let lines: Vec<&str> = src.lines().collect();
        for n in 0..=lines.len() {
            let _ = device::parse(&lines[..n].join("\n"), name);
        }
        for cut in (0..src.len())
            .step_by(7)
            .filter(|c| src.is_char_boundary(*c))
        {
            let _ = device::parse(&src[..cut], name);
        }
    }
    assert!(matches!(
        device::parse("hello\nworld\n", "x"),
        Err(DeviceError::UnknownFormat { .. })
    ));
    assert!(device::parse("connections {\n a { remote_addrs = \"198.51.100.1\n", "x").is_err());
}
