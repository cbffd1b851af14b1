//! The cgw-sim command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    }
}
