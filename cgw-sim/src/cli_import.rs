//! `cgw-sim import`: AWS's configuration download to a gateway
//! configuration (and the matching mock), with a report of what was not
//! imported. The work is `cgw_sim::import`; this prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cgw_sim::config::{GatewayConfig, MockConfig};
use cgw_sim::import::{self, ImportedConnection, WriteParams};
use cgw_sim::scenario::Prefix;

/// Options of `cgw-sim import`.
#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// AWS's download: the CustomerGatewayConfiguration XML or the
    /// Generic / Vendor-agnostic text (told apart by content).
    file: PathBuf,
    /// AWS's tunnel options as JSON (DescribeVpnConnections output, its
    /// VpnConnections[0], or Options.TunnelOptions): the allowed
    /// algorithms, groups and lifetimes, matched to the tunnels by outside
    /// address.
    #[arg(long, value_name = "JSON")]
    options: Option<PathBuf>,
    /// Write the gateway configuration here (default: standard output).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Also write the matching `mock-aws` configuration here.
    #[arg(long, value_name = "PATH")]
    mock: Option<PathBuf>,
    /// An on-premises prefix (repeat for more): what the gateway announces
    /// over BGP, the mock's static routes on a static connection.
    #[arg(long, value_name = "PREFIX")]
    announce: Vec<Prefix>,
    /// A VPC prefix (repeat for more): the gateway's static routes, what
    /// the mock announces.
    #[arg(long = "vpc-cidr", value_name = "PREFIX")]
    vpc_cidr: Vec<Prefix>,
}

/// Exit codes: 0 written; 2 the download (or options) cannot be imported
/// or a flag is missing; 1 a file could not be written, or what was
/// written does not load (a bug).
pub(crate) fn run(args: ImportArgs) -> ExitCode {
    let conn = match import::import_files(&args.file, args.options.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    report(&conn);
    let mut sources = vec![args.file.display().to_string()];
    sources.extend(args.options.iter().map(|p| p.display().to_string()));
    let params = WriteParams {
        announce: args.announce,
        vpc_cidrs: args.vpc_cidr,
        sources,
    };
    let gw = match import::gateway_toml(&conn, &params) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mock = match args
        .mock
        .as_ref()
        .map(|_| import::mock_toml(&conn, &params))
    {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Some(Ok(t)) => Some(t),
        None => None,
    };
    // What is written must load: check before writing anything.
    let base = args
        .out
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    if let Err(e) = GatewayConfig::from_toml(&gw, "(imported gateway configuration)", base) {
        eprintln!("error: the written configuration does not load (a bug): {e}");
        return ExitCode::FAILURE;
    }
    if let Some(m) = &mock {
        if let Err(e) = MockConfig::from_toml(m, "(imported mock configuration)", base) {
            eprintln!("error: the written mock configuration does not load (a bug): {e}");
            return ExitCode::FAILURE;
        }
    }
    match &args.out {
        Some(p) => {
            if !crate::write(p, &gw) {
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {}", p.display());
        }
        None => print!("{gw}"),
    }
    if let (Some(p), Some(m)) = (&args.mock, &mock) {
        if !crate::write(p, m) {
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", p.display());
    }
    ExitCode::SUCCESS
}

/// What was read, and what was not imported, on standard error.
fn report(conn: &ImportedConnection) {
    eprintln!(
        "imported {} ({} routing), customer gateway {}",
        conn.format,
        match conn.routing.value {
            cgw_sim::scenario::Routing::Bgp => "BGP",
            cgw_sim::scenario::Routing::Static => "static",
        },
        conn.cgw_address.value
    );
    for (n, t) in conn.tunnels.iter().enumerate() {
        eprintln!(
            "  tunnel{}: AWS {} inside {}{}",
            n + 1,
            t.aws_outside.value,
            t.inside_cidr.value,
            if t.from_options {
                " (+ tunnel options)"
            } else {
                ""
            }
        );
    }
    for w in &conn.warnings {
        eprintln!("warning: {}: {}", w.at, w.message);
    }
    for u in conn.unmapped() {
        eprintln!("not imported (no key): {}: {} = {}", u.at, u.what, u.value);
    }
}
