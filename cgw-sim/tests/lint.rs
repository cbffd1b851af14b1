//! `cgw-sim lint`: a clean configuration, one configuration per rule that
//! breaks exactly it (rule id, severity, key and line checked), the JSON
//! output read back, and the binary's exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use cgw_sim::config::GatewayConfig;
use cgw_sim::lint::{self, Finding, Severity, TomlLocate, RULES};

const CLEAN: &str = include_str!("samples/lint/clean.toml");

fn findings(text: &str) -> Vec<Finding> {
    let cfg = GatewayConfig::from_toml_unchecked(text, "gw.toml", Path::new("."))
        .unwrap_or_else(|e| panic!("does not load: {e}"));
    lint::check(&cfg, &TomlLocate::new("gw.toml", text))
}

/// `CLEAN` with the first `old` (tunnel 1's, where both tunnels have it)
/// replaced by `new`.
fn first(old: &str, new: &str) -> String {
    assert!(CLEAN.contains(old), "{old:?} not in the sample");
    CLEAN.replacen(old, new, 1)
}

/// `CLEAN` with the last `old` (tunnel 2's) replaced by `new`.
fn last(old: &str, new: &str) -> String {
    let at = CLEAN.rfind(old).expect("in the sample");
    format!("{}{new}{}", &CLEAN[..at], &CLEAN[at + old.len()..])
}

/// The 1-based line of the first line of `text` holding `needle` at or
/// after the first line holding `after`.
fn line_of(text: &str, after: &str, needle: &str) -> usize {
    let start = text.lines().position(|l| l.contains(after)).expect("after");
    start
        + 1
        + text
            .lines()
            .skip(start)
            .position(|l| l.contains(needle))
            .expect("needle")
}

/// Every finding of `text` is of `rule`, and one has this severity, key
/// and line.
#[track_caller]
fn only(text: &str, rule: &str, severity: Severity, key: &str, line: usize) {
    let found = findings(text);
    assert!(!found.is_empty(), "no finding for {rule}");
    for f in &found {
        assert_eq!(f.rule, rule, "another rule fired: {f}");
    }
    assert!(
        found
            .iter()
            .any(|f| f.severity == severity && f.key == key && f.line == Some(line)),
        "no {severity} at {key}:{line} among {found:#?}"
    );
    for f in &found {
        assert!(!f.accepts.is_empty() && !f.fix.is_empty(), "{f}");
        assert_eq!(f.file, "gw.toml");
    }
}

#[test]
fn clean_config_has_no_findings() {
    assert_eq!(findings(CLEAN), Vec::<Finding>::new());
}

#[test]
fn ike_version() {
    let t = first("version = 2", "version = 1");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "version = 1");
    only(
        &t,
        "ike-version",
        Severity::Warning,
        "cgw.tunnel1.ike.version",
        l,
    );
}

#[test]
fn initiation() {
    let t = last("role = \"initiator\"", "role = \"responder-only\"");
    let l = line_of(&t, "[cgw.tunnel2.ike]", "responder-only");
    only(&t, "initiation", Severity::Error, "cgw.tunnel2.ike.role", l);
}

#[test]
fn phase1_algorithms() {
    let t = first(
        "encryption = [\"AES256-GCM-16\"]",
        "encryption = [\"3DES\"]",
    );
    let l = line_of(&t, "[cgw.tunnel1.ike]", "3DES");
    only(
        &t,
        "phase1-algorithms",
        Severity::Error,
        "cgw.tunnel1.ike.encryption",
        l,
    );
    let t = first(
        "encryption = [\"AES256-GCM-16\"]",
        "encryption = [\"AES256-GCM-16\", \"AES192\"]",
    );
    let l = line_of(&t, "[cgw.tunnel1.ike]", "AES192");
    let key = "cgw.tunnel1.ike.encryption[2]";
    only(&t, "phase1-algorithms", Severity::Warning, key, l);
    let t = first("integrity = [\"SHA2-256\"]", "integrity = [\"MD5\"]");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "MD5");
    only(
        &t,
        "phase1-algorithms",
        Severity::Error,
        "cgw.tunnel1.ike.integrity",
        l,
    );
}

#[test]
fn phase2_algorithms() {
    let t = first(
        "phase2_encryption = [\"AES256-GCM-16\"]",
        "phase2_encryption = [\"DES\"]",
    );
    let l = line_of(&t, "[cgw.tunnel1.ike]", "\"DES\"");
    let key = "cgw.tunnel1.ike.phase2_encryption";
    only(&t, "phase2-algorithms", Severity::Error, key, l);
}

#[test]
fn phase1_dh_group() {
    let t = first("dh_groups = [20, 14]", "dh_groups = [5]");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "dh_groups = [5]");
    only(
        &t,
        "phase1-dh-group",
        Severity::Error,
        "cgw.tunnel1.ike.dh_groups",
        l,
    );
    let t = first("dh_groups = [20, 14]", "dh_groups = [31, 14]");
    let key = "cgw.tunnel1.ike.dh_groups[1]";
    only(&t, "phase1-dh-group", Severity::Warning, key, l);
    let t = first("dh_groups = [20, 14]", "dh_groups = [20, 1]");
    let key = "cgw.tunnel1.ike.dh_groups[2]";
    only(&t, "phase1-dh-group", Severity::Warning, key, l);
}

#[test]
fn phase2_dh_group() {
    let t = last("phase2_dh_groups = [20]", "phase2_dh_groups = [1]");
    let l = line_of(&t, "[cgw.tunnel2.ike]", "phase2_dh_groups = [1]");
    let key = "cgw.tunnel2.ike.phase2_dh_groups";
    only(&t, "phase2-dh-group", Severity::Error, key, l);
}

#[test]
fn lifetimes() {
    let t = first("phase2_lifetime = \"50m\"", "phase2_lifetime = \"10m\"");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "\"10m\"");
    let key = "cgw.tunnel1.ike.phase2_lifetime";
    only(&t, "lifetimes", Severity::Warning, key, l);
    let t = first("phase1_lifetime = \"7h\"", "phase1_lifetime = \"9h\"");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "\"9h\"");
    let key = "cgw.tunnel1.ike.phase1_lifetime";
    only(&t, "lifetimes", Severity::Warning, key, l);
}

#[test]
fn rekey_collision() {
    let t = first("phase2_lifetime = \"50m\"", "phase2_lifetime = \"1h\"");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "\"1h\"");
    let key = "cgw.tunnel1.ike.phase2_lifetime";
    only(&t, "rekey-collision", Severity::Info, key, l);
    let t = first("phase1_lifetime = \"7h\"", "phase1_lifetime = \"8h\"");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "\"8h\"");
    let key = "cgw.tunnel1.ike.phase1_lifetime";
    only(&t, "rekey-collision", Severity::Info, key, l);
}

#[test]
fn rekey_margin() {
    let t = first("rekey_margin = \"270s\"", "rekey_margin = \"30s\"");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "\"30s\"");
    only(
        &t,
        "rekey-margin",
        Severity::Warning,
        "cgw.tunnel1.ike.rekey_margin",
        l,
    );
}

#[test]
fn rekey_fuzz() {
    let t = first("rekey_fuzz = 100", "rekey_fuzz = 0");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "rekey_fuzz = 0");
    only(
        &t,
        "rekey-fuzz",
        Severity::Info,
        "cgw.tunnel1.ike.rekey_fuzz",
        l,
    );
}

const DPD: &str = "dpd = { interval = \"10s\", timeout = \"30s\", action = \"restart\" }";

#[test]
fn dpd_missing() {
    let t = first(DPD, "");
    // A default is placed at its nearest parent in the file: the table.
    let l = line_of(&t, "[cgw.tunnel1.ike]", "[cgw.tunnel1.ike]");
    only(&t, "dpd", Severity::Warning, "cgw.tunnel1.ike.dpd", l);
}

#[test]
fn dpd_timeout() {
    let t = first(DPD, &DPD.replace("\"30s\"", "\"10s\""));
    let l = line_of(&t, "[cgw.tunnel1.ike]", "dpd =");
    only(
        &t,
        "dpd-timeout",
        Severity::Warning,
        "cgw.tunnel1.ike.dpd.timeout",
        l,
    );
}

#[test]
fn dpd_action() {
    let t = last(DPD, &DPD.replace("restart", "clear"));
    let l = line_of(&t, "[cgw.tunnel2.ike]", "dpd =");
    only(
        &t,
        "dpd-action",
        Severity::Warning,
        "cgw.tunnel2.ike.dpd.action",
        l,
    );
}

#[test]
fn inside_cidr() {
    for bad in [
        "169.254.169.252/30",
        "169.254.3.0/30",
        "169.254.10.0/29",
        "10.0.0.0/30",
    ] {
        let t = first("169.254.10.0/30", bad);
        let l = line_of(&t, "[gateway.tunnel1]", bad);
        only(
            &t,
            "inside-cidr",
            Severity::Error,
            "gateway.tunnel1.inside_cidr",
            l,
        );
    }
}

#[test]
fn inside_cidr_overlap() {
    let t = first("169.254.20.0/30", "169.254.10.0/30");
    let l = line_of(&t, "[gateway.tunnel2]", "inside_cidr");
    let key = "gateway.tunnel2.inside_cidr";
    only(&t, "inside-cidr-overlap", Severity::Error, key, l);
}

#[test]
fn psk() {
    for bad in ["0lint_example_key", "short", "lint-example-key"] {
        let t = first("lint_example_key_one", bad);
        let l = line_of(&t, "[cgw.tunnel1.ike]", "psk =");
        only(&t, "psk", Severity::Error, "cgw.tunnel1.ike.psk", l);
        // Described, never shown.
        for f in findings(&t) {
            assert!(!f.to_string().contains(bad), "{f}");
        }
    }
}

#[test]
fn cgw_asn() {
    let t = first("asn = 65000", "asn = 3000000000");
    let l = line_of(&t, "[cgw.bgp]", "asn = 3000000000");
    only(&t, "cgw-asn", Severity::Error, "cgw.bgp.asn", l);
}

#[test]
fn aws_asn() {
    let t = first("peer_asn = 64512", "peer_asn = 64000");
    let l = line_of(&t, "[cgw.bgp]", "peer_asn");
    only(&t, "aws-asn", Severity::Error, "cgw.bgp.peer_asn", l);
}

#[test]
fn asn_equal() {
    let t = first("asn = 65000", "asn = 64512");
    let l = line_of(&t, "[cgw.bgp]", "asn = 64512");
    only(&t, "asn-equal", Severity::Error, "cgw.bgp.asn", l);
}

#[test]
fn bgp_hold_time() {
    for (hold, severity) in [
        ("2s", Severity::Error),
        ("0s", Severity::Warning),
        ("10s", Severity::Warning),
        ("90s", Severity::Info),
    ] {
        let t = first("hold_time = \"30s\"", &format!("hold_time = \"{hold}\""));
        let l = line_of(&t, "[cgw.bgp]", "hold_time");
        only(&t, "bgp-hold-time", severity, "cgw.bgp.hold_time", l);
    }
}

#[test]
fn prefix_limit() {
    for (count, severity) in [(101, Severity::Warning), (1001, Severity::Error)] {
        let list: Vec<String> = (0..count)
            .map(|i| format!("\"198.18.{}.{}/32\"", i / 256, i % 256))
            .collect();
        let t = first(
            "announce = [\"198.18.0.0/24\"]",
            &format!("announce = [{}]", list.join(", ")),
        );
        let l = line_of(&t, "[cgw.bgp]", "announce");
        only(&t, "prefix-limit", severity, "cgw.bgp.announce", l);
    }
    // Within the limit: nothing.
    let list: Vec<String> = (0..100).map(|i| format!("\"198.18.0.{i}/32\"")).collect();
    let t = first(
        "announce = [\"198.18.0.0/24\"]",
        &format!("announce = [{}]", list.join(", ")),
    );
    assert_eq!(findings(&t), Vec::<Finding>::new());
}

#[test]
fn mss() {
    // AES-GCM: MSS 1406, 1398 with NAT-T.
    for (mss, severity) in [("1420", Severity::Warning), ("1400", Severity::Warning)] {
        let t = first("mss_clamp = 1379", &format!("mss_clamp = {mss}"));
        let l = line_of(&t, "[cgw.tunnel1]", "mss_clamp");
        only(&t, "mss", severity, "cgw.tunnel1.mss_clamp", l);
    }
    // AES-CBC + SHA2-512 is lower: 1382, 1366 with NAT-T.
    let t = first(
        "phase2_encryption = [\"AES256-GCM-16\"]",
        "phase2_encryption = [\"AES256\"]",
    )
    .replacen(
        "phase2_integrity = [\"SHA2-256\"]",
        "phase2_integrity = [\"SHA2-512\"]",
        1,
    );
    let t = t.replacen("mss_clamp = 1379", "mss_clamp = 1370", 1);
    let l = line_of(&t, "[cgw.tunnel1]", "mss_clamp");
    only(&t, "mss", Severity::Warning, "cgw.tunnel1.mss_clamp", l);
    let found = findings(&t);
    assert!(found[0].message.contains("1366"), "{}", found[0]);
    // None at all: info, placed at the tunnel's table.
    let t = last("mss_clamp = 1379\n", "");
    let l = line_of(&t, "[cgw.tunnel2]", "[cgw.tunnel2]");
    only(&t, "mss", Severity::Info, "cgw.tunnel2.mss_clamp", l);
}

#[test]
fn both_tunnels() {
    let t = last("[cgw.tunnel2]\n", "[cgw.tunnel2]\nenabled = false\n");
    let l = line_of(&t, "[cgw.tunnel2]", "enabled = false");
    only(
        &t,
        "both-tunnels",
        Severity::Warning,
        "cgw.tunnel2.enabled",
        l,
    );
    let t = t.replacen("[cgw.tunnel1]\n", "[cgw.tunnel1]\nenabled = false\n", 1);
    let l = line_of(&t, "[cgw.tunnel1]", "enabled = false");
    only(
        &t,
        "both-tunnels",
        Severity::Error,
        "cgw.tunnel1.enabled",
        l,
    );
}

#[test]
fn a_psk_file_is_named_by_its_key() {
    let dir = tmp("psk-file");
    std::fs::write(dir.join("t2.psk"), "0starts_with_zero\n").unwrap();
    let text = CLEAN
        .replace("psk = \"lint_example_key_two\"\n", "")
        .replace(
            "inside_cidr = \"169.254.20.0/30\"",
            "inside_cidr = \"169.254.20.0/30\"\npsk_file = \"t2.psk\"",
        );
    let path = dir.join("gw.toml");
    std::fs::write(&path, &text).unwrap();
    let found = lint::lint_file(&path).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "psk");
    assert_eq!(found[0].key, "gateway.tunnel2.psk_file");
    assert_eq!(
        found[0].line,
        Some(line_of(&text, "[gateway.tunnel2]", "psk_file"))
    );
}

#[test]
fn every_rule_fires_in_some_test_and_is_documented() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/lint.md")).unwrap();
    let this = include_str!("lint.rs");
    for rule in RULES {
        assert!(
            docs.contains(&format!("`{}`", rule.id)),
            "{} not in docs/lint.md",
            rule.id
        );
        assert!(
            this.contains(&format!("\"{}\"", rule.id)),
            "{} has no test",
            rule.id
        );
    }
}

#[test]
fn text_output_has_one_line_per_finding_and_a_summary() {
    let t = first("version = 2", "version = 1").replacen("rekey_fuzz = 100", "rekey_fuzz = 0", 1);
    let found = findings(&t);
    let text = lint::render_text("gw.toml", &found);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let l = line_of(&t, "[cgw.tunnel1.ike]", "version = 1");
    assert!(
        lines[0].starts_with(&format!(
            "gw.toml:{l}: warning[ike-version]: cgw.tunnel1.ike.version: IKEv1"
        )),
        "{text}"
    );
    assert!(lines[0].contains("(AWS accepts: ikev1 (main mode), ikev2; fix: "));
    assert!(lines[1].contains(": info[rekey-fuzz]: "), "{text}");
    assert_eq!(lines[2], "gw.toml: 0 errors, 1 warnings, 1 info");
}

#[test]
fn json_output_reads_back() {
    let t = first("dh_groups = [20, 14]", "dh_groups = [5]");
    let found = findings(&t);
    let json: serde_json::Value =
        serde_json::from_str(&lint::render_json("gw.toml", &found)).unwrap();
    assert_eq!(json["file"], "gw.toml");
    assert_eq!(json["summary"]["errors"], 1);
    assert_eq!(json["summary"]["warnings"], 0);
    assert_eq!(json["summary"]["info"], 0);
    let f = &json["findings"][0];
    assert_eq!(f["rule"], "phase1-dh-group");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], "gw.toml");
    assert_eq!(f["key"], "cgw.tunnel1.ike.dh_groups");
    assert_eq!(
        f["line"],
        line_of(&t, "[cgw.tunnel1.ike]", "dh_groups") as u64
    );
    assert_eq!(f["accepts"], "2, 14-24");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("NO_PROPOSAL_CHOSEN"));
    assert!(f["fix"].as_str().unwrap().contains("14"));
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lint-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cgw-sim"))
        .arg("lint")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn binary_exit_codes() {
    let dir = tmp("exit");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let clean = write("clean.toml", CLEAN);
    let info = write("info.toml", &first("rekey_fuzz = 100", "rekey_fuzz = 0"));
    let warning = write("warning.toml", &first("version = 2", "version = 1"));
    let error = write(
        "error.toml",
        &first("dh_groups = [20, 14]", "dh_groups = [5]"),
    );
    let broken = write(
        "broken.toml",
        &CLEAN.replace("[gateway]", "[gateway]\nbogus = 1"),
    );

    let (code, out, _) = run(&[&clean]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("{clean}: 0 errors, 0 warnings, 0 info\n"));
    assert_eq!(run(&[&info]).0, 0);
    assert_eq!(run(&[&warning]).0, 1);
    let (code, out, _) = run(&[&error, "--format", "json"]);
    assert_eq!(code, 2);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["findings"][0]["rule"], "phase1-dh-group");
    let (code, out, err) = run(&[&broken]);
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert!(err.contains("gateway.bogus: unknown key `bogus`"), "{err}");
    let missing = dir.join("missing.toml").display().to_string();
    let (code, _, err) = run(&[&missing]);
    assert_eq!(code, 3);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn the_example_config_lints() {
    // The shipped example is clean: at most AWS's defaults showing
    // through as info (lifetimes equal to AWS's).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/gateway.toml");
    let found = lint::lint_file(Path::new(path)).unwrap();
    assert!(
        found.iter().all(|f| f.severity == Severity::Info),
        "{found:#?}"
    );
    assert_eq!(lint::exit_code(&found), 0);
}

/// A device file's importer gives a source map (TOML key -> the device
/// file's line): `Locate` is all the lint needs of it.
struct SourceMap(Vec<(&'static str, usize)>);

impl lint::Locate for SourceMap {
    fn file(&self) -> &str {
        "swanctl.conf"
    }
    fn line(&self, key: &str) -> Option<usize> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, l)| *l)
    }
}

#[test]
fn another_source_places_findings_through_locate() {
    let t = CLEAN.replace("dh_groups = [20, 14]", "dh_groups = [5]");
    let cfg = GatewayConfig::from_toml_unchecked(&t, "gw.toml", Path::new(".")).unwrap();
    let map = SourceMap(vec![
        ("cgw.tunnel1.ike", 12),
        ("cgw.tunnel2.ike.dh_groups", 40),
    ]);
    let found = lint::check(&cfg, &map);
    let places: Vec<(String, Option<usize>)> = found
        .iter()
        .map(|f| (f.to_string().split(": ").next().unwrap().to_owned(), f.line))
        .collect();
    // Tunnel 1's key is not in the map: its nearest parent's line.
    assert_eq!(
        places,
        [
            ("swanctl.conf:12".to_owned(), Some(12)),
            ("swanctl.conf:40".to_owned(), Some(40))
        ]
    );
}

/// A device's own file: the reader's translation is linted and each
/// finding placed at the device file's line; the lines it does not use
/// are listed as info.
#[test]
fn a_swanctl_conf_is_linted_at_its_own_lines() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/samples/device/aws-two-tunnels.swanctl.conf"
    );
    let text = std::fs::read_to_string(sample).unwrap();
    // Tunnel 2 (line 45) offers only MODP-1536, group 5: AWS refuses it
    // in phase 1.
    let line45 = "      proposals = aes128-sha1-modp2048";
    assert_eq!(text.lines().nth(44), Some(line45));
    let dir = tmp("swanctl");
    let path = dir.join("swanctl.conf");
    std::fs::write(
        &path,
        text.replace(line45, "      proposals = aes128-sha1-modp1536"),
    )
    .unwrap();
    let found = lint::lint_path(&path).unwrap();
    let dh: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "phase1-dh-group")
        .collect();
    assert_eq!(dh.len(), 1, "{found:#?}");
    assert_eq!(
        (dh[0].severity, dh[0].key.as_str(), dh[0].line),
        (Severity::Error, "cgw.tunnel2.ike.dh_groups", Some(45))
    );
    assert_eq!(dh[0].file, path.display().to_string());
    assert!(found
        .iter()
        .any(|f| f.rule == "device-note" && f.severity == Severity::Info));
    // The binary: exit 2, the finding at the device line.
    let (code, out, _) = run(&[path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!("{}:45: error[phase1-dh-group]", path.display())),
        "{out}"
    );
}

/// AWS's Cisco download shape lints with no error; a device file that
/// lacks what a gateway needs is refused (exit 3) naming what and where.
#[test]
fn an_ios_config_lints_and_an_incomplete_device_file_is_refused() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/samples/device/aws-two-tunnels.ios.cfg"
    );
    let found = lint::lint_path(Path::new(sample)).unwrap();
    assert!(
        found.iter().all(|f| f.severity != Severity::Error),
        "{found:#?}"
    );
    assert!(found.iter().any(|f| f.rule == "device-unsupported"));

    let swanctl = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/samples/device/aws-two-tunnels.swanctl.conf"
    );
    // Without AWS's updown line the inside /30s are unknown.
    let text: String = std::fs::read_to_string(swanctl)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("updown"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tmp("incomplete");
    let path = dir.join("swanctl.conf");
    std::fs::write(&path, text).unwrap();
    let err = lint::lint_path(&path).unwrap_err().to_string();
    assert!(err.contains("inside_cidr"), "{err}");
    let (code, _, stderr) = run(&[path.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("lacks what a gateway needs"), "{stderr}");
}

/// `run` and `validate` take a device's own file too: `--check` shows the
/// configuration the reader made of it, keys redacted.
#[test]
fn run_and_validate_take_a_device_file() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/samples/device/aws-two-tunnels.swanctl.conf"
    );
    for command in ["run", "validate"] {
        let out = Command::new(env!("CARGO_BIN_EXE_cgw-sim"))
            .args([command, "--config", sample, "--check"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{command}: {text}");
        assert!(
            text.contains("AWS outside address: 198.51.100.20")
                && text.contains("inside: 169.254.20.0/30")
                && text.contains("psk: <redacted>"),
            "{command}: {text}"
        );
        assert!(!text.contains("fake_tunnel"), "a key leaked: {text}");
    }
}
