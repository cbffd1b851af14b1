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
fn inverted_bgp_scenario_fails_with_what_was_seen() {
    let s = load("cgw-sim/tests/scenarios/inverted-bgp-asn-mismatch.toml");
    let r = runner::run(&s);
    assert!(!r.passed, "an inverted scenario passed:\n{r}");
    let bgp = &r.expectations[0];
    assert!(!bgp.passed, "{r}");
    assert!(bgp.observed.contains("never held"), "{}", bgp.observed);
    let tcp = &r.expectations[1];
    assert!(!tcp.passed, "{r}");
    assert!(tcp.observed.contains("timeout"), "{}", tcp.observed);
    // IPsec is fine: only BGP (and what needs its routes) fails.
    assert!(r.expectations[2].passed, "{r}");
    assert!(
        r.diagnoses.iter().any(|d| d.contains("bgp-asn-mismatch")),
        "{r}"
    );
}

#[test]
fn bgp_expectation_in_a_static_scenario_fails() {
    let text = r#"
[scenario]
name = "bgp-in-static"
[aws]
routing = "static"
static_routes = ["198.18.0.0/16"]
[[expect]]
within = "30s"
tunnel = 1
bgp = "established"
"#;
    let s = Scenario::from_toml(text, "bgp-in-static.toml").unwrap();
    let r = runner::run(&s);
    assert!(!r.passed, "{r}");
    assert!(r.expectations[0].observed.contains("static routing"), "{r}");
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
restart = "vpc"
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
fn inverted_aws_log_scenario_fails() {
    let s = load("cgw-sim/tests/scenarios/inverted-aws-log.toml");
    let r = runner::run(&s);
    assert!(!r.passed, "an inverted scenario passed:\n{r}");
    // A record that never appears, and an `absent` one that does.
    assert!(!r.expectations[0].passed, "{r}");
    assert!(r.expectations[0].observed.contains("never seen"), "{r}");
    assert!(!r.expectations[1].passed, "{r}");
    assert!(r.expectations[1].observed.contains("seen at"), "{r}");
}

#[test]
fn endpoint_replacement_fails_over_and_lowers_the_med_on_tunnel_2() {
    let s = load("scenarios/endpoint-replacement.toml");
    let r = runner::run(&s);
    assert!(r.passed, "{r}");
    let at = |text: &str| {
        r.timeline
            .iter()
            .find(|t| t.side == "aws" && t.event.contains(text))
            .map(|t| (t.tunnel, t.at_ms))
    };
    let bias = format!("MED bias {}", runner::MAINTENANCE_MED_BIAS);
    assert_eq!(at("endpoint replaced"), Some((1, 60_000)), "{r}");
    assert_eq!(at(&bias), Some((2, 60_000)), "{r}");
    // The bias ends once tunnel 1 is up again at AWS.
    let (t, back) = at("MED bias back to 0").expect("maintenance ends");
    assert_eq!(t, 2);
    assert!(back > 60_000 && back < 180_000, "{back}");
    // AWS's log of tunnel 1: up, replaced, up again.
    let details: Vec<&str> = r
        .aws_logs
        .iter()
        .filter(|e| e.tunnel == 1)
        .map(|e| e.record.details.as_str())
        .collect();
    assert!(details[2].contains("endpoint replaced"), "{details:?}");
    assert!(details[3..]
        .iter()
        .any(|d| d.contains("Phase 2 established")));
}

#[test]
fn set_lifetime_on_aws_is_checked_against_aws_ranges() {
    let text = r#"
[scenario]
name = "aws-lifetime-out-of-range"
[aws]
routing = "static"
[[fault]]
at = "10s"
set_lifetime = { side = "aws", tunnel = 1, phase2 = "10m" }
[[expect]]
within = "30s"
tunnel = 1
phase2 = "established"
"#;
    let s = Scenario::from_toml(text, "lifetime.toml").unwrap();
    let r = runner::run(&s);
    assert!(!r.passed, "{r}");
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("phase2_lifetime_seconds") && e.contains("900-3600")),
        "{r}"
    );
    // Within the range it applies.
    let s = Scenario::from_toml(&text.replace("\"10m\"", "\"20m\""), "lifetime.toml").unwrap();
    let r = runner::run(&s);
    assert!(r.passed, "{r}");
}

#[test]
fn tunnel_down_notification_and_json_aws_logs() {
    let text = r#"
[scenario]
name = "tunnel-down-notice"
[aws]
routing = "static"
static_routes = ["198.18.0.0/16"]
[[fault]]
at = "20s"
link_down = "aws2-wan"
[[expect]]
within = "2m"
notification = "tunnel-down"
[[expect]]
within = "2m"
notification = "endpoint-replaced"
[[expect]]
within = "2m"
aws_log = { tunnel = 2, details_contains = "DPD timed out" }
"#;
    let s = Scenario::from_toml(text, "notice.toml").unwrap();
    let r = runner::run(&s);
    assert!(r.expectations[0].passed, "{r}");
    // No endpoint was replaced: that notification never came.
    assert!(!r.expectations[1].passed, "{r}");
    assert!(r.expectations[2].passed, "{r}");
    let j = r.to_json();
    let logs = j["aws_logs"].as_array().expect("aws_logs in the JSON");
    let dpd = logs
        .iter()
        .find(|l| {
            l["details"]
                .as_str()
                .is_some_and(|d| d.contains("DPD timed out"))
        })
        .expect("the DPD record");
    assert_eq!(dpd["tunnel"], 2);
    assert_eq!(dpd["ike_phase1_state"], "Down");
    assert_eq!(dpd["dpd_enabled"], true);
    assert!(dpd["event_timestamp"].as_u64().unwrap() > 1_700_000_000);
    assert!(dpd["timestamp"]
        .as_str()
        .unwrap()
        .starts_with("2024-01-01 00:0"));
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

#[test]
fn idle_tunnel_scenarios_pass() {
    assert_passes("scenarios/idle-tunnel-dpd.toml");
    assert_passes("scenarios/idle-tunnel-kept-up-by-probes.toml");
}

/// The idle tunnel expected to stay up fails at the idle timeout, and the
/// ping expectation with the runner's pings off fails as "no ping sent"
/// rather than passing with nothing to judge.
#[test]
fn inverted_idle_tunnel_fails_with_what_was_seen() {
    let s = load("cgw-sim/tests/scenarios/inverted-idle-tunnel.toml");
    let r = runner::run(&s);
    assert!(!r.passed, "an inverted scenario passed:\n{r}");
    assert_eq!(r.expectations.len(), 2);
    let up = &r.expectations[0];
    assert!(!up.passed, "{r}");
    assert!(up.observed.contains("idle-timeout"), "{}", up.observed);
    let ping = &r.expectations[1];
    assert!(!ping.passed, "{r}");
    assert!(ping.observed.contains("no ping sent"), "{}", ping.observed);
}

/// With the pings on but none judged after the time (the run ends first),
/// an `after` ping expectation fails instead of passing vacuously.
#[test]
fn ping_after_with_nothing_sent_fails() {
    let text = r#"
[scenario]
name = "ping-every-minute"

[aws]
routing = "static"
static_routes = ["198.18.0.0/16"]

[traffic]
ping_interval = "50s"

[[expect]]
after = "5s"
ping = { from = "onprem", to = "vpc" }
result = "reply"

[[expect]]
at = "20s"
tunnel = 1
phase2 = "established"
"#;
    let s = Scenario::from_toml(text, "ping-every-minute.toml").unwrap();
    assert_eq!(
        s.traffic.ping_interval,
        Some(std::time::Duration::from_secs(50))
    );
    let r = runner::run(&s);
    // The run lasts 5s + 30s + 3s: the only ping (at 50s) is never sent.
    assert!(!r.expectations[0].passed, "{r}");
    assert!(
        r.expectations[0].observed.contains("no ping sent after 5s"),
        "{}",
        r.expectations[0].observed
    );
    assert!(r.expectations[1].passed, "{r}");
}

/// On-demand initiation: a probe every 90s against a 60s idle timeout.
/// The tunnel idles out 60s after the first probe; the runner does not
/// re-initiate it; each later probe finds it down, is lost, and brings it
/// up again, only for it to idle out again: a probe slower than the idle
/// time never gets through.
#[test]
fn traffic_for_an_idled_out_tunnel_brings_it_up_again() {
    let text = r#"
[scenario]
name = "on-demand"

[aws]
routing = "static"
static_routes = ["198.18.0.0/16"]

[cgw.tunnel1.ike]
idle_timeout = "60s"

[cgw.tunnel2]
enabled = false

[[cgw.probe]]
kind = "icmp"
interval = "90s"

[traffic]
ping_interval = "off"

[[expect]]
at = "80s"
tunnel = 1
phase2 = "down"
cause = "idle-timeout"

[[expect]]
at = "90s"
tunnel = 1
phase2 = "down"

[[expect]]
at = "93s"
tunnel = 1
phase2 = "established"

[[expect]]
at = "3m5s"
tunnel = 1
phase2 = "established"
"#;
    let s = Scenario::from_toml(text, "on-demand.toml").unwrap();
    let r = runner::run(&s);
    assert!(r.passed, "{r}");
    // Up at the start, then again on each probe after an idle-out.
    let ups: Vec<u64> = r
        .timeline
        .iter()
        .filter(|e| e.side == "cgw" && e.tunnel == 1 && e.event.starts_with("phase 2 established"))
        .map(|e| e.at_ms)
        .collect();
    assert_eq!(ups.len(), 3, "{r}");
    assert!(ups[1] >= 91_000 && ups[1] < 92_000, "{ups:?}");
    assert!(ups[2] >= 181_000 && ups[2] < 182_000, "{ups:?}");
    // Only the first probe (tunnel up from the start) was answered.
    let note = r.notes.iter().find(|n| n.starts_with("probe 1")).unwrap();
    assert!(note.contains("3 sent, 1 answered"), "{note}");
}

#[test]
fn policy_based_selectors_passes_and_the_fix_works() {
    assert_passes("scenarios/policy-based-selectors.toml");
    let r = runner::run(&load("scenarios/policy-based-selectors.toml"));
    // Exactly one refusal per tunnel on each side, and nothing went down.
    let refused = |side: &str| {
        r.timeline
            .iter()
            .filter(|e| e.side == side && e.event.starts_with("additional child SA refused"))
            .count()
    };
    assert_eq!((refused("cgw"), refused("aws")), (2, 2), "{r}");
    assert!(
        !r.timeline.iter().any(|e| e.event.starts_with("down")),
        "{r}"
    );
    // The fix the diagnosis gives: one pair covering both subnets (here
    // route-based 0.0.0.0/0) makes the second subnet reachable too.
    let mut fixed = load("scenarios/policy-based-selectors.toml");
    for t in [&mut fixed.cgw.tunnel1, &mut fixed.cgw.tunnel2] {
        t.ike.local_selectors = vec!["0.0.0.0/0".parse().unwrap()];
        t.ike.remote_selectors = vec!["0.0.0.0/0".parse().unwrap()];
    }
    let r = runner::run(&fixed);
    let failed: Vec<_> = r.expectations.iter().filter(|e| !e.passed).collect();
    // Now nothing is refused and the second subnet's pings are answered:
    // exactly the expectations about the refusal and the timeout fail.
    assert_eq!(failed.len(), 4, "{r}");
    assert!(failed.iter().all(|e| e.description.contains("diagnosis")
        || e.description.contains("aws_log")
        || e.description.contains("from 198.18.1.10: timeout")));
}

#[test]
fn child_rekey_collision_passes_with_one_resolution_per_side() {
    assert_passes("scenarios/child-rekey-collision.toml");
    let r = runner::run(&load("scenarios/child-rekey-collision.toml"));
    let count = |side: &str, what: &str| {
        r.timeline
            .iter()
            .filter(|e| e.side == side && e.tunnel == 1 && e.event.starts_with(what))
            .count()
    };
    // Both rekeys completed on both ends (the collision), each end saw it
    // once, and exactly one end deletes the redundant pair.
    for side in ["cgw", "aws"] {
        assert_eq!(count(side, "child SA rekeyed"), 2, "{side}: {r}");
        assert_eq!(count(side, "child SA rekey collision"), 1, "{side}: {r}");
    }
    let deleters = r
        .timeline
        .iter()
        .filter(|e| {
            e.event.starts_with("child SA rekey collision") && !e.event.contains("the peer")
        })
        .count();
    assert_eq!(deleters, 1, "{r}");
    assert!(
        !r.timeline.iter().any(|e| e.event.starts_with("down")),
        "{r}"
    );
    // Two pairs go (the redundant one and the old one): AWS logs the
    // CGW's deletes of them or deletes them itself, nothing more.
    let deletes = r
        .aws_logs
        .iter()
        .filter(|l| l.tunnel == 1 && l.record.details.contains("DELETE for Phase 2 SA"))
        .count();
    assert!((1..=2).contains(&deletes), "{r}");
}
