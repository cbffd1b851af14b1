//! The scenario runner: the catalogue files in `scenarios/` pass, an
//! inverted scenario fails, unsupported assertions fail, and one seed gives
//! one report.

use std::path::PathBuf;

use cgw_sim::runner::{self, junit_xml};
use cgw_sim::scenario::Scenario;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

fn load(rel: &str) -> Scenario {
    Scenario::load(repo_file(rel)).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_passes(rel: &str) {
    let r = runner::run(&load(rel));
    assert!(r.passed, "{rel} failed:\n{r}");
}

#[test]
fn happy_path_static_passes() {
    assert_passes("scenarios/happy-path-static.toml");
}

#[test]
fn wrong_dh_group_passes() {
    assert_passes("scenarios/wrong-dh-group.toml");
}

#[test]
fn firewall_drops_udp500_passes() {
    assert_passes("scenarios/firewall-drops-udp500.toml");
}

#[test]
fn every_file_in_the_default_directory_passes() {
    let dir = repo_file("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let s = Scenario::load(&p).unwrap_or_else(|e| panic!("{e}"));
            let r = runner::run(&s);
            assert!(r.passed, "{}:\n{r}", p.display());
            n += 1;
        }
    }
    assert!(n >= 3);
}

#[test]
fn inverted_scenario_fails() {
    let s = load("cgw-sim/tests/scenarios/inverted-wrong-dh-group.toml");
    let r = runner::run(&s);
    assert!(!r.passed, "an inverted scenario passed:\n{r}");
    assert!(!r.expectations[0].passed, "{r}");
    assert!(
        r.expectations[0].observed.contains("no-proposal-chosen"),
        "{r}"
    );
    // Tunnel 2 is fine: only the wrong expectation fails.
    assert!(r.expectations[1].passed, "{r}");
    assert!(!r.diagnoses.is_empty());
    let xml = junit_xml(&[r]);
    assert!(xml.contains("<failure"), "{xml}");
}

#[test]
fn bgp_expectations_fail_as_not_supported() {
    let s = load("scenarios/pending/happy-path-bgp.toml");
    let r = runner::run(&s);
    assert!(!r.passed);
    let bgp: Vec<_> = r
        .expectations
        .iter()
        .filter(|e| e.description.contains("bgp"))
        .collect();
    assert!(!bgp.is_empty());
    for e in bgp {
        assert!(!e.passed);
        assert!(e.observed.contains("not supported yet"), "{}", e.observed);
    }
}

#[test]
fn unsupported_faults_fail_the_scenario() {
    let text = r#"
[scenario]
name = "unsupported-fault"
[aws]
routing = "static"
[[fault]]
at = "10s"
replace_endpoint = 1
[[expect]]
within = "30s"
tunnel = 1
phase2 = "established"
"#;
    let s = Scenario::from_toml(text, "unsupported.toml").unwrap();
    let r = runner::run(&s);
    assert!(!r.passed, "{r}");
    assert!(
        r.errors.iter().any(|e| e.contains("not supported yet")),
        "{r}"
    );
}

#[test]
fn same_seed_same_report() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_file("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for path in files {
        let rel = path.display().to_string();
        let s = Scenario::load(&path).unwrap();
        let a = runner::run_with_seed(&s, 7);
        let b = runner::run_with_seed(&s, 7);
        assert_eq!(a, b, "{rel}");
        assert_eq!(a.to_json(), b.to_json());
    }
}

#[test]
fn source_ip_mismatch_passes() {
    assert_passes("scenarios/source-ip-mismatch.toml");
}

#[test]
fn link_down_blackholes_traffic_on_tunnel_1() {
    let text = r#"
[scenario]
name = "tunnel1-path-down"
[aws]
routing = "static"
[aws.tunnel1]
dpd_timeout_seconds = 30
[[fault]]
at = "20s"
link_down = "aws1-wan"
[[expect]]
within = "10s"
tunnel = 1
phase2 = "established"
[[expect]]
at = "25s"
ping = { from = "onprem", to = "vpc" }
result = "timeout"
[[expect]]
after = "40s"
tunnel = 2
phase2 = "established"
"#;
    let s = Scenario::from_toml(text, "link-down.toml").unwrap();
    let r = runner::run(&s);
    assert!(r.passed, "{r}");
}

#[test]
fn failover_dpd_passes() {
    assert_passes("scenarios/failover-dpd.toml");
}

#[test]
fn wrong_route_and_measure_expectations_fail() {
    let text = r#"
[scenario]
name = "inverted-routes"
[aws]
routing = "static"
static_routes = ["198.18.0.0/16"]
[[expect]]
after = "5s"
cgw_routes = { contains = "198.19.0.0/16", via_tunnel = 2 }
[[expect]]
within = "30s"
vpc_route_table = { lacks = "198.18.0.0/16" }
[[expect]]
within = "30s"
measure = "tunnel_up_time"
below = "1ms"
"#;
    let s = Scenario::from_toml(text, "inverted-routes.toml").unwrap();
    let r = runner::run(&s);
    assert!(!r.passed, "{r}");
    // The VPC table is empty before the tunnels are up: `lacks` holds at 0s.
    assert_eq!(
        r.expectations.iter().map(|e| e.passed).collect::<Vec<_>>(),
        [false, true, false],
        "{r}"
    );
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cgw-sim"))
        .current_dir(repo_file(""))
        .args(args)
        .output()
        .expect("cgw-sim runs")
}

#[test]
fn lab_run_cli_exit_codes_json_and_junit() {
    let dir = std::env::temp_dir().join(format!("cgw-sim-runner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("r.json");
    let junit = dir.join("r.xml");
    let out = cli(&[
        "lab",
        "run",
        "--seed",
        "3",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("PASS wrong-dh-group (seed 3)"), "{stdout}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(j["passed"], true);
    assert!(j["scenarios"].as_array().unwrap().len() >= 3);
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("<testsuite name=\"wrong-dh-group\""), "{x}");
    assert!(!x.contains("<failure"), "{x}");

    // The inverted file fails, and so does the exit code.
    let out = cli(&[
        "lab",
        "run",
        "cgw-sim/tests/scenarios/inverted-wrong-dh-group.toml",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL inverted-wrong-dh-group"));

    // A load error names file:line:col and fails the run.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[scenario]\nname = \"x\"\nbogus = 1\n").unwrap();
    let out = cli(&["lab", "run", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inverted_mtu_scenario_fails() {
    let s = load("cgw-sim/tests/scenarios/inverted-mtu-df.toml");
    let r = runner::run(&s);
    assert!(!r.passed, "an inverted scenario passed:\n{r}");
    // A DF ping over the tunnel MTU is refused, not answered.
    assert!(!r.expectations[0].passed, "{r}");
    assert!(r.expectations[0].observed.contains("frag-needed"), "{r}");
    // A DF ping that fits is answered, not refused.
    assert!(!r.expectations[1].passed, "{r}");
    assert!(r.expectations[1].observed.contains("reply"), "{r}");
    // Without DF the large ping is fragmented and answered.
    assert!(r.expectations[2].passed, "{r}");
}
