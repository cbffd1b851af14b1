//! The cgw-sim command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cgw_sim::runner::{self, ScenarioReport};
use cgw_sim::scenario::Scenario;
use cgw_sim::selftest;

/// Customer-gateway VPN simulator and tunnel test harness for AWS
/// Site-to-Site VPN.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Negotiate every phase 1 suite AWS accepts, and the classic failures,
    /// against an AWS-like responder in memory; exit 0 if all held.
    Selftest,
    /// The simulated lab.
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
}

#[derive(Subcommand)]
enum LabCommand {
    /// Run scenario files (or every `*.toml` directly in a directory) in the
    /// simulated lab; exit 0 only if every expectation held.
    Run {
        /// Scenario files or directories (default `scenarios/`).
        paths: Vec<PathBuf>,
        /// Write the reports as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write a JUnit XML report to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Run every scenario with this seed instead of its own.
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// The scenario files named by `paths`: files as given, directories'
/// `*.toml` files (not recursive), sorted.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "toml"))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn write(path: &Path, text: &str) -> bool {
    match std::fs::write(path, text) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            false
        }
    }
}

fn lab_run(
    paths: Vec<PathBuf>,
    json: Option<PathBuf>,
    junit: Option<PathBuf>,
    seed: Option<u64>,
) -> ExitCode {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths
    };
    let files = match scenario_files(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut files_json = Vec::new();
    for f in &files {
        let s = match Scenario::load(f) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                ok = false;
                continue;
            }
        };
        let r = runner::run_with_seed(&s, seed.unwrap_or(s.seed));
        println!("{}: {r}", f.display());
        ok &= r.passed;
        files_json
            .push(serde_json::json!({"file": f.display().to_string(), "report": r.to_json()}));
        reports.push(r);
    }
    let passed = reports.iter().filter(|r| r.passed).count();
    println!(
        "{passed} of {} scenarios passed ({} files)",
        reports.len(),
        files.len()
    );
    if let Some(p) = json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "passed": ok,
            "scenarios": files_json,
        }))
        .unwrap_or_default();
        ok &= write(&p, &text);
    }
    if let Some(p) = junit {
        ok &= write(&p, &runner::junit_xml(&reports));
    }
    if ok && !files.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Selftest => {
            if selftest::run() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Lab {
            command:
                LabCommand::Run {
                    paths,
                    json,
                    junit,
                    seed,
                },
        } => lab_run(paths, json, junit, seed),
    }
}
