//! `lab run --netns` against the simulated lab: the same scenario files
//! run on kernel networking (namespaces, our CGW and AWS mock daemons,
//! real pings and TCP, in real time) give the same verdicts and the same
//! diagnosis codes as in the simulated lab; an inverted scenario fails on
//! the kernel too; nothing is left in /run/netns. Needs root.
//!
//! The kernel runs go in parallel (each in its own namespaces) so that the
//! file takes about the longest scenario's timeline
//! (idle-tunnel-kept-up-by-probes: 183 s), not their sum. The SLA probe
//! scenarios run the CGW's `[[cgw.probe]]` probers in both modes and are
//! judged on the same probe figures. wrong-dh-group and secondary-tunnel-down are the short
//! kernel variants under tests/scenarios/ (the catalogue files wait 62
//! minutes for a notification).
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use cgw_sim::kernel_lab::run::{run_all, KernelRun};
use cgw_sim::runner::{self, ScenarioReport};
use cgw_sim::scenario::Scenario;

fn load(path: &str) -> Scenario {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    Scenario::load(&p).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (tunnel, side, code) of each diagnosis line of a report.
fn codes(r: &ScenarioReport) -> BTreeSet<String> {
    r.diagnoses
        .iter()
        .filter_map(|d| {
            let head = d.lines().next()?;
            let who = head.split(": symptom:").next()?;
            let who = who.split_once(' ').map_or(who, |(_, rest)| rest);
            let code = head
                .split('[')
                .skip(1)
                .filter_map(|x| x.split(']').next())
                .find(|x| !x.starts_with("seen "))?;
            Some(format!("{who} {code}"))
        })
        .collect()
}

fn ours() -> BTreeSet<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(&format!("-{}-", std::process::id())))
                .collect()
        })
        .unwrap_or_default()
}

/// Diagnoses the simulated lab makes and the kernel lab does not, and why.
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "scenarios/failover-bgp.toml",
        "the kernel lab makes no BGP diagnosis",
        "tunnel 1 (cgw) bgp-hold-expired",
    ),
    (
        "scenarios/failover-bgp.toml",
        "the kernel lab makes no BGP diagnosis",
        "tunnel 1 (aws) bgp-hold-expired",
    ),
];

#[test]
fn the_kernel_lab_gives_the_simulated_verdicts() {
    assert!(
        cgw_sim::kernel_lab::run::is_root(),
        "this test creates network namespaces and TUN devices and needs root (CI runs as root)"
    );
    let files = [
        "scenarios/happy-path-bgp.toml",
        "scenarios/happy-path-static.toml",
        "scenarios/source-ip-mismatch.toml",
        "cgw-sim/tests/scenarios/kernel-wrong-dh-group.toml",
        "scenarios/psk-mismatch.toml",
        "cgw-sim/tests/scenarios/kernel-secondary-tunnel-down.toml",
        "scenarios/route-propagation-disabled.toml",
        "scenarios/failover-dpd.toml",
        "scenarios/failover-bgp.toml",
        "cgw-sim/tests/scenarios/inverted-wrong-dh-group.toml",
        "scenarios/sla-probe-loss-and-path-down.toml",
        "scenarios/idle-tunnel-kept-up-by-probes.toml",
        "cgw-sim/tests/scenarios/inverted-sla-probe.toml",
    ];
    let scenarios: Vec<Scenario> = files.iter().map(|f| load(f)).collect();
    let never = AtomicBool::new(false);
    let started = std::time::Instant::now();
    let runs = run_all(&scenarios, scenarios.len(), &never, |_, _| {});
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for ((file, s), run) in files.iter().zip(&scenarios).zip(runs) {
        let KernelRun::Ran(kernel, wall) = run else {
            failures.push(format!("{file}: did not run on the kernel: {run:?}"));
            continue;
        };
        let sim = runner::run(s);
        let inverted = file.contains("inverted");
        table.push(format!(
            "{file}: kernel {} in {:.1} s, simulated {}",
            if kernel.passed { "pass" } else { "FAIL" },
            wall.as_secs_f64(),
            if sim.passed { "pass" } else { "FAIL" },
        ));
        let kernel_passed = kernel.passed;
        if kernel_passed == inverted || sim.passed == inverted {
            failures.push(format!(
                "{file}: expected {} in both modes\nkernel: {kernel}\nsimulated: {sim}",
                if inverted { "a failure" } else { "a pass" }
            ));
        }
        for (k, sm) in kernel.expectations.iter().zip(&sim.expectations) {
            if k.passed != sm.passed {
                failures.push(format!(
                    "{file}: {} is {} on the kernel ({}) but {} simulated ({})",
                    k.description,
                    if k.passed { "held" } else { "not held" },
                    k.observed,
                    if sm.passed { "held" } else { "not held" },
                    sm.observed
                ));
            }
        }
        let (kc, mut sc) = (codes(&kernel), codes(&sim));
        for (f, why, code) in KNOWN {
            if file == f {
                assert!(
                    sc.remove(*code),
                    "{file}: {code} ({why}) no longer simulated"
                );
            }
        }
        if kc != sc {
            failures.push(format!(
                "{file}: diagnosis codes differ\nkernel: {kc:?}\nsimulated: {sc:?}"
            ));
        }
    }
    println!(
        "{}\nall kernel runs: {:.1} s",
        table.join("\n"),
        started.elapsed().as_secs_f64()
    );
    let left = ours();
    assert!(left.is_empty(), "namespaces left in /run/netns: {left:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
