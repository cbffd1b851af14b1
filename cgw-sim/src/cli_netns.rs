//! `lab run --netns`: the scenario files on kernel networking (see
//! `cgw_sim::kernel_lab::run`), one after the other unless `--jobs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cgw_sim::scenario::Scenario;

/// Runs the loaded files on the kernel lab; `ok` is false when a file did
/// not load. Prints each scenario's verdict (or why it was skipped) and
/// wall time; exit 0 only if every scenario that ran passed, none was
/// interrupted, and at least one ran.
#[cfg(target_os = "linux")]
pub fn lab_run(
    loaded: &[(&PathBuf, Scenario)],
    mut ok: bool,
    jobs: Option<u64>,
    json: Option<&Path>,
    junit: Option<&Path>,
) -> ExitCode {
    use cgw_sim::kernel_lab::run::{self, KernelRun};
    if !run::is_root() {
        eprintln!(
            "lab run --netns creates network namespaces, veths and TUN devices: run it as root"
        );
        return ExitCode::FAILURE;
    }
    let interrupt = run::on_sigint();
    let jobs = jobs.map_or(1, |j| j as usize);
    let scenarios: Vec<Scenario> = loaded.iter().map(|(_, s)| s.clone()).collect();
    let runnable: Vec<&Scenario> = scenarios
        .iter()
        .filter(|s| run::blockers(s).is_empty())
        .collect();
    let total: std::time::Duration = runnable.iter().map(|s| run::expected_wall(s)).sum();
    println!(
        "kernel lab: {} of {} scenarios can run, about {} s of real time{}",
        runnable.len(),
        scenarios.len(),
        total.as_secs(),
        if jobs > 1 {
            format!(" on {jobs} threads")
        } else {
            String::new()
        }
    );
    let runs = run::run_all(&scenarios, jobs, interrupt, |i, r| {
        let file = loaded[i].0.display();
        match r {
            KernelRun::Skipped(why) => {
                println!("{file}: skipped on the kernel: {}", why.join("; "))
            }
            KernelRun::Ran(rep, wall) => {
                println!("{file} [{:.1} s wall]: {rep}", wall.as_secs_f64())
            }
            KernelRun::Interrupted => println!("{file}: interrupted"),
        }
    });
    let mut reports = Vec::new();
    let mut files_json = Vec::new();
    let (mut skipped, mut interrupted) = (0, 0);
    for ((f, _), r) in loaded.iter().zip(&runs) {
        match r {
            KernelRun::Ran(rep, wall) => {
                ok &= rep.passed;
                files_json.push(serde_json::json!({
                    "file": f.display().to_string(),
                    "wall_s": wall.as_secs_f64(),
                    "report": rep.to_json(),
                }));
                reports.push((**rep).clone());
            }
            KernelRun::Skipped(why) => {
                skipped += 1;
                files_json.push(serde_json::json!({
                    "file": f.display().to_string(),
                    "skipped": why,
                }));
            }
            KernelRun::Interrupted => interrupted += 1,
        }
    }
    let passed = reports.iter().filter(|r| r.passed).count();
    println!(
        "{passed} of {} scenarios passed on the kernel ({skipped} skipped{})",
        reports.len(),
        if interrupted > 0 {
            format!(", {interrupted} interrupted")
        } else {
            String::new()
        }
    );
    if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("interrupted: every namespace and daemon was removed");
        return ExitCode::from(130);
    }
    if let Some(p) = json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "passed": ok,
            "mode": "kernel",
            "scenarios": files_json,
        }))
        .unwrap_or_default();
        ok &= super::write(p, &text);
    }
    if let Some(p) = junit {
        ok &= super::write(p, &cgw_sim::runner::junit_xml(&reports));
    }
    if ok && !reports.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The kernel lab needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn lab_run(
    _: &[(&PathBuf, Scenario)],
    _: bool,
    _: Option<u64>,
    _: Option<&Path>,
    _: Option<&Path>,
) -> ExitCode {
    eprintln!("lab run --netns: the kernel lab runs on Linux only");
    ExitCode::FAILURE
}
