//! The cgw-sim command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cgw_sim::config::{GatewayConfig, LogFormat, MockConfig};
use cgw_sim::runner::{self, parallel, ScenarioReport};
use cgw_sim::scenario::{parse_duration, Scenario};
use cgw_sim::selftest;

mod cli_import;
mod cli_netns;

/// Exit code of a configuration that does not load (clap's usage errors
/// exit 2 as well).
const EXIT_CONFIG: u8 = 2;
/// Exit code of a command that needs Linux on another system; distinct
/// from 1, which `validate` keeps for "the tunnels did not hold".
#[cfg(not(target_os = "linux"))]
const EXIT_NOT_BUILT: u8 = 3;
/// Exit code of `validate` when the gateway could not even be set up (a
/// TUN device, a socket): distinct from 1, "the tunnels did not hold".
#[cfg(target_os = "linux")]
const EXIT_SETUP: u8 = 3;

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
    /// Read AWS's configuration download (CustomerGatewayConfiguration XML
    /// or the Generic text, plus tunnel options JSON) and write the
    /// gateway's configuration (and with --mock the mock-aws one);
    /// docs/config.md "Importing AWS's configuration download".
    Import(cli_import::ImportArgs),
    /// Negotiate every phase 1 suite AWS accepts, and the classic failures,
    /// against an AWS-like responder in memory; exit 0 if all held.
    Selftest,
    /// The simulated lab.
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// A long-running customer gateway on this host (`[gateway]` + `[cgw]`
    /// config; docs/config.md).
    Run {
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[command(flatten)]
        log: LogArgs,
        /// Load and check the configuration, print it resolved (keys
        /// redacted) and exit.
        #[arg(long)]
        check: bool,
    },
    /// Bring both tunnels up once against the peer in the config, check
    /// phases, BGP or static routes and reachability; exit 0 only if all
    /// held.
    Validate {
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// How long to wait for everything to hold (`90s`, `2m`),
        /// overriding `gateway.validate_timeout`.
        #[arg(long, value_name = "D", value_parser = parse_duration_arg)]
        timeout: Option<std::time::Duration>,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        log: LogArgs,
        /// Load and check the configuration, print it resolved (keys
        /// redacted) and exit.
        #[arg(long)]
        check: bool,
    },
    /// The AWS side on this host's sockets, for testing a real device
    /// (`[mock]` + `[aws]` config; docs/config.md).
    MockAws {
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[command(flatten)]
        log: LogArgs,
        /// Load and check the configuration, print it resolved (keys
        /// redacted) and exit.
        #[arg(long)]
        check: bool,
    },
    /// Show a running `run` or `mock-aws`: tunnels, SAs, BGP sessions,
    /// routes and counters, asked over its control socket.
    Status {
        /// The control socket (`gateway.control_socket`; the AWS mock's is
        /// /run/cgw-sim/mock-aws.sock by default).
        #[arg(long, value_name = "PATH", default_value = cgw_sim::config::DEFAULT_GATEWAY_SOCKET)]
        socket: PathBuf,
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a customer gateway configuration (`[gateway]` + `[cgw]`)
    /// against what AWS accepts (docs/lint.md); exit 0 clean or info only,
    /// 1 warnings, 2 errors, 3 the file does not load.
    Lint {
        /// The configuration file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
    },
    /// Enumerate the IKEv2 phase 1 transforms a responder accepts
    /// (IKE_SA_INIT only, never authenticating; docs/probe.md) and compare
    /// them with AWS's; only probe endpoints you own. Exit 0 when the
    /// probe ran, 1 when nothing answered, 3 on a socket error.
    Probe {
        /// The responder, ADDR or ADDR:PORT (default port 500).
        #[arg(long, value_name = "ADDR")]
        peer: String,
        /// Local address to send from, ADDR or ADDR:PORT (default any, port 500).
        #[arg(long, value_name = "ADDR")]
        source: Option<String>,
        /// Requests per second at most, retransmissions included.
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        /// Wait for each answer this long before retrying (e.g. 2s, 500ms).
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// Retries of an unanswered request.
        #[arg(long, default_value_t = 2)]
        retries: u32,
        /// Datagrams sent at most.
        #[arg(long, default_value_t = 200)]
        max_requests: u32,
        /// How long the responder keeps a half-open SA (a request unanswered
        /// while some are open is retried once after this).
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        half_open_wait: std::time::Duration,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The keepalive / SLA daemon: IP SLA-style probes (icmp-echo,
    /// udp-echo, udp-jitter, tcp-connect) pinned to each tunnel, with
    /// Prometheus metrics, JSON-lines events, tracks and reactions
    /// (`[sla]` config; docs/config.md "SLA daemon"); or, with
    /// `--responder`, the reflector udp-echo and udp-jitter probe.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sla {
        #[command(subcommand)]
        command: Option<SlaCommand>,
        /// The configuration file.
        #[arg(long, value_name = "FILE", required_unless_present = "responder")]
        config: Option<PathBuf>,
        /// Run the udp-echo / udp-jitter responder instead.
        #[arg(long, conflicts_with_all = ["config", "check"])]
        responder: bool,
        /// The responder's address (default 0.0.0.0:5000).
        #[arg(long, value_name = "ADDR:PORT", requires = "responder")]
        listen: Option<std::net::SocketAddr>,
        /// Load and check the configuration, print the operations and exit.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        log: LogArgs,
    },
}

/// `cgw-sim lint --format` values.
#[derive(Clone, Copy, Default, clap::ValueEnum)]
enum LintFormat {
    /// One line per finding and a summary.
    #[default]
    Text,
    /// One JSON document (stable field names), for CI.
    Json,
}

/// `cgw-sim sla` subcommands.
#[derive(Subcommand)]
enum SlaCommand {
    /// Show a running `cgw-sim sla`: each operation's last result, track,
    /// loss, RTT, jitter and MOS, asked over its control socket.
    Status {
        /// The control socket (`sla.control_socket`).
        #[arg(long, value_name = "PATH", default_value = cgw_sim::config::DEFAULT_SLA_SOCKET)]
        socket: PathBuf,
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Log options of the commands that run on a host.
#[derive(clap::Args)]
struct LogArgs {
    /// Log format (`run`: overrides `gateway.log_format`; default text).
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
    /// Log level or filter (`debug`, `info`, `cgw_sim=debug`); default
    /// `RUST_LOG`, else `info` (`warn` for `validate`, whose verdict is
    /// the output).
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

impl LogArgs {
    fn format(&self, default: LogFormat) -> LogFormat {
        match self.log_format {
            Some(LogFormatArg::Text) => LogFormat::Text,
            Some(LogFormatArg::Json) => LogFormat::Json,
            None => default,
        }
    }

    /// Starts logging to standard error; false (with the error printed) if
    /// the level does not parse.
    fn init(&self, format: LogFormat, default_level: &str) -> bool {
        let level = self
            .log_level
            .clone()
            .or_else(|| std::env::var("RUST_LOG").ok())
            .unwrap_or_else(|| default_level.to_string());
        match cgw_sim::telemetry::logging::init(format, Some(&level)) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("--log-level {level}: {e}");
                false
            }
        }
    }
}

/// `--log-format` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A positive duration for `--timeout`.
fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    match parse_duration(s) {
        Ok(d) if d.is_zero() => Err("a timeout must be positive".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Subcommand)]
enum LabCommand {
    /// Run scenario files (or every `*.toml` directly in a directory) in the
    /// simulated lab; exit 0 only if every expectation held.
    Run(RunArgs),
}

/// Options of `lab run`.
#[derive(clap::Args)]
struct RunArgs {
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
    /// Capture every named link into DIR/<scenario>/<link>.pcap, with
    /// the Wireshark key files (ikev2_decryption_table, esp_sa) that
    /// decrypt its IKE and ESP. Keys are written only with this option.
    #[arg(long, value_name = "DIR")]
    pcap: Option<PathBuf>,
    /// Scenarios run at once (default: the available cores). The
    /// reports come in input order whatever N is.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Run on kernel networking (network namespaces, our CGW and AWS mock
    /// daemons, real pings and TCP) in real time, one scenario after the
    /// other unless --jobs; needs root. Files the kernel lab cannot run are
    /// listed as skipped with the reason.
    #[arg(long, conflicts_with_all = ["pcap", "seed"])]
    netns: bool,
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

/// A directory name for each scenario name: characters other than ASCII
/// letters, digits, `.`, `_` and `-` become `_`, and a repeated name gets
/// `-2`, `-3`... so that two scenarios never share a capture directory.
fn capture_dir_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let mut base: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if base.chars().all(|c| c == '.') {
            base = format!("scenario{base}");
        }
        let mut candidate = base.clone();
        let mut n = 1;
        while out.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        out.push(candidate);
    }
    out
}

fn lab_run(args: RunArgs) -> ExitCode {
    let RunArgs {
        paths,
        json,
        junit,
        seed,
        pcap,
        jobs,
        netns,
    } = args;
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
    let mut loaded: Vec<(&PathBuf, Scenario)> = Vec::new();
    for f in &files {
        match Scenario::load(f) {
            Ok(s) => loaded.push((f, s)),
            Err(e) => {
                eprintln!("{e}");
                ok = false;
            }
        }
    }
    if netns {
        return cli_netns::lab_run(&loaded, ok, jobs, json.as_deref(), junit.as_deref());
    }
    let dirs = capture_dir_names(loaded.iter().map(|(_, s)| s.name.as_str()));
    let jobs = jobs.map_or_else(parallel::default_jobs, |j| j as usize);
    let tasks: Vec<(&(&PathBuf, Scenario), &String)> = loaded.iter().zip(&dirs).collect();
    // Each scenario is its own simulation: they run on `jobs` threads and
    // their reports are printed in input order.
    let reports: Vec<ScenarioReport> = parallel::map_ordered(
        &tasks,
        jobs,
        |((_, s), dir)| {
            let seed = seed.unwrap_or(s.seed);
            match &pcap {
                Some(p) => runner::run_captured(s, seed, &p.join(dir)),
                None => runner::run_with_seed(s, seed),
            }
        },
        |i, r| {
            let _ = write_stdout("lab run", &format!("{}: {r}\n", tasks[i].0 .0.display()));
        },
    );
    let mut files_json = Vec::new();
    for ((f, _), r) in loaded.iter().zip(&reports) {
        ok &= r.passed;
        files_json
            .push(serde_json::json!({"file": f.display().to_string(), "report": r.to_json()}));
    }
    let passed = reports.iter().filter(|r| r.passed).count();
    let _ = write_stdout(
        "lab run",
        &format!(
            "{passed} of {} scenarios passed ({} files)\n",
            reports.len(),
            files.len()
        ),
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

/// 32 bytes from the OS's randomness: the IKE engine's seed (SPIs,
/// nonces, DH private keys) on a real host.
fn os_seed() -> Result<[u8; 32], String> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("reading /dev/urandom: {e}"))?;
    Ok(seed)
}

/// Runs a daemon body with the OS seed; exit 1 with the error.
#[cfg(target_os = "linux")]
fn daemon_exit(
    command: &str,
    body: impl FnOnce([u8; 32]) -> Result<(), cgw_sim::daemon::DaemonError>,
) -> ExitCode {
    let seed = match os_seed() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cgw-sim {command}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match body(seed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cgw-sim {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The real data plane needs Linux (TUN devices, netlink).
#[cfg(not(target_os = "linux"))]
fn daemon_exit(command: &str, _: impl FnOnce([u8; 32]) -> Result<(), String>) -> ExitCode {
    eprintln!("cgw-sim {command}: runs on Linux only (TUN devices, netlink)");
    ExitCode::from(EXIT_NOT_BUILT)
}

/// Loads a gateway configuration; `Err` is the exit code (the error was
/// printed). With `check`, prints it resolved and returns success.
fn load_gateway(
    config: &Path,
    check: bool,
    adjust: impl FnOnce(&mut GatewayConfig),
) -> Result<GatewayConfig, ExitCode> {
    // A device's own file (swanctl.conf, IOS) through its reader.
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let loaded = if cgw_sim::device::detect(&text).is_some() {
        cgw_sim::device::load_gateway(config).map_err(|e| e.to_string())
    } else {
        GatewayConfig::load(config).map_err(|e| e.to_string())
    };
    let mut cfg = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Err(ExitCode::from(EXIT_CONFIG));
        }
    };
    adjust(&mut cfg);
    if check {
        return Err(write_stdout("--check", &cfg.to_string()));
    }
    Ok(cfg)
}

#[cfg(target_os = "linux")]
fn validate(cfg: &GatewayConfig, json: bool) -> ExitCode {
    let seed = match os_seed() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cgw-sim validate: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cgw_sim::daemon::validate::run(cfg, seed) {
        Ok(v) => {
            let text = if json {
                format!("{}\n", cgw_sim::daemon::validate::to_json(&v))
            } else {
                v.to_string()
            };
            let _ = write_stdout("validate", &text);
            if v.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("cgw-sim validate: {e}");
            ExitCode::from(EXIT_SETUP)
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn validate(_: &GatewayConfig, _: bool) -> ExitCode {
    eprintln!("cgw-sim validate: runs on Linux only (TUN devices, netlink)");
    ExitCode::from(EXIT_NOT_BUILT)
}

/// `cgw-sim status`: 0 with the status printed, 1 if the daemon could not
/// be asked.
#[cfg(target_os = "linux")]
fn status_command(socket: &Path, json: bool) -> ExitCode {
    let status = match cgw_sim::telemetry::control::query_status(socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cgw-sim status: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = if json {
        match serde_json::to_string_pretty(&status) {
            Ok(t) => t + "\n",
            Err(e) => {
                eprintln!("cgw-sim status: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        status.table()
    };
    write_stdout("status", &text)
}

#[cfg(not(target_os = "linux"))]
fn status_command(_socket: &Path, _json: bool) -> ExitCode {
    eprintln!("cgw-sim status: the control socket needs Linux");
    ExitCode::FAILURE
}

/// `cgw-sim sla --config` / `--responder`.
#[cfg(target_os = "linux")]
fn sla_command(
    config: Option<&Path>,
    responder: bool,
    listen: Option<std::net::SocketAddr>,
    check: bool,
    log: &LogArgs,
) -> ExitCode {
    use cgw_sim::sla_daemon;
    if responder {
        if !log.init(log.format(LogFormat::Text), "info") {
            return ExitCode::from(EXIT_CONFIG);
        }
        let listen = listen.unwrap_or(sla_daemon::responder::DEFAULT_RESPONDER_LISTEN);
        return match sla_daemon::run_responder(listen) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cgw-sim sla --responder: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(config) = config else {
        eprintln!("cgw-sim sla: --config FILE or --responder");
        return ExitCode::from(EXIT_CONFIG);
    };
    let cfg = match cgw_sim::config::SlaConfig::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if check {
        for o in &cfg.operations {
            println!(
                "{}: {} {}{} every {}",
                o.name,
                o.kind.name(),
                o.target,
                o.port.map(|p| format!(":{p}")).unwrap_or_default(),
                cgw_sim::scenario::format_duration(o.frequency)
            );
        }
        return ExitCode::SUCCESS;
    }
    if !log.init(log.format(cfg.log_format), "info") {
        return ExitCode::from(EXIT_CONFIG);
    }
    match sla_daemon::run(&cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cgw-sim sla: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn sla_command(
    _: Option<&Path>,
    _: bool,
    _: Option<std::net::SocketAddr>,
    _: bool,
    _: &LogArgs,
) -> ExitCode {
    eprintln!("cgw-sim sla: runs on Linux only");
    ExitCode::from(EXIT_NOT_BUILT)
}

/// `cgw-sim sla status`: 0 with the table (or JSON), 1 if the daemon could
/// not be asked.
#[cfg(target_os = "linux")]
fn sla_status(socket: &Path, json: bool) -> ExitCode {
    use cgw_sim::telemetry::control::{query, ClientError};
    let status: cgw_sim::sla_daemon::SlaStatus = match query(socket) {
        Ok(s) => s,
        Err(ClientError::NotRunning { path }) => {
            eprintln!(
                "cgw-sim sla status: no cgw-sim sla at {}: is `cgw-sim sla --config` running?",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("cgw-sim sla status: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = if json {
        serde_json::to_string_pretty(&status).unwrap_or_default() + "\n"
    } else {
        status.table()
    };
    write_stdout("sla status", &text)
}

#[cfg(not(target_os = "linux"))]
fn sla_status(_: &Path, _: bool) -> ExitCode {
    eprintln!("cgw-sim sla status: the control socket needs Linux");
    ExitCode::FAILURE
}

/// `cgw-sim lint`: the findings, and the exit code by the worst severity
/// (3: the file does not load; the loader's error on standard error).
fn lint_command(file: &Path, format: LintFormat) -> ExitCode {
    use cgw_sim::lint;
    let findings = match lint::lint_path(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    let name = file.display().to_string();
    let text = match format {
        LintFormat::Text => lint::render_text(&name, &findings),
        LintFormat::Json => lint::render_json(&name, &findings) + "\n",
    };
    match write_stdout("lint", &text) {
        code if code == ExitCode::SUCCESS => ExitCode::from(lint::exit_code(&findings)),
        code => code,
    }
}

/// An address with an optional port (500 when absent).
fn socket_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| (ip, 500).into()))
        .map_err(|_| format!("not an address: {text:?}"))
}

#[cfg(target_os = "linux")]
fn probe_command(
    peer: &str,
    source: Option<&str>,
    settings: cgw_sim::probe::ProbeSettings,
    json: bool,
) -> ExitCode {
    use cgw_sim::probe::net;
    let peer = match socket_addr(peer) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cgw-sim probe: --peer: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let any = match peer {
        std::net::SocketAddr::V4(_) => "0.0.0.0:500",
        std::net::SocketAddr::V6(_) => "[::]:500",
    };
    let source = match socket_addr(source.unwrap_or(any)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cgw-sim probe: --source: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let report = match net::run(source, peer, settings) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cgw-sim probe: {source} -> {peer}: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let name = peer.to_string();
    let text = if json {
        report.render_json(&name) + "\n"
    } else {
        report.render_text(&name)
    };
    match write_stdout("probe", &text) {
        code if code != ExitCode::SUCCESS => code,
        _ if report.accepted.is_empty() && report.refused.is_empty() => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

#[cfg(not(target_os = "linux"))]
fn probe_command(
    _peer: &str,
    _source: Option<&str>,
    _settings: cgw_sim::probe::ProbeSettings,
    _json: bool,
) -> ExitCode {
    eprintln!("cgw-sim probe needs Linux");
    ExitCode::from(EXIT_NOT_BUILT)
}

/// Writes `text` to standard output; a closed pipe (`| head`) is fine.
fn write_stdout(command: &str, text: &str) -> ExitCode {
    use std::io::Write;
    // Not `print!`: it panics on a closed pipe.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cgw-sim {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Import(args) => cli_import::run(args),
        Command::Run { config, log, check } => {
            match load_gateway(&config, check, |c| c.log_format = log.format(c.log_format)) {
                Err(code) => code,
                Ok(cfg) if !log.init(cfg.log_format, "info") => ExitCode::from(EXIT_CONFIG),
                Ok(cfg) => daemon_exit("run", |seed| cgw_sim::daemon::cgw::run(&cfg, seed)),
            }
        }
        Command::Validate {
            config,
            timeout,
            json,
            log,
            check,
        } => match load_gateway(&config, check, |c| {
            if let Some(t) = timeout {
                c.validate_timeout = t;
            }
        }) {
            Err(code) => code,
            Ok(cfg) if !log.init(log.format(cfg.log_format), "warn") => ExitCode::from(EXIT_CONFIG),
            Ok(cfg) => validate(&cfg, json),
        },
        Command::MockAws { config, log, check } => match MockConfig::load(&config) {
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EXIT_CONFIG)
            }
            Ok(cfg) if check => write_stdout("mock-aws --check", &cfg.to_string()),
            Ok(_) if !log.init(log.format(LogFormat::Text), "info") => ExitCode::from(EXIT_CONFIG),
            Ok(cfg) => daemon_exit("mock-aws", |seed| cgw_sim::daemon::mock::run(&cfg, seed)),
        },
        Command::Status { socket, json } => status_command(&socket, json),
        Command::Sla {
            command: Some(SlaCommand::Status { socket, json }),
            ..
        } => sla_status(&socket, json),
        Command::Sla {
            command: None,
            config,
            responder,
            listen,
            check,
            log,
        } => sla_command(config.as_deref(), responder, listen, check, &log),
        Command::Lint { file, format } => lint_command(&file, format),
        Command::Probe {
            peer,
            source,
            rate,
            timeout,
            retries,
            max_requests,
            half_open_wait,
            json,
        } => {
            let settings = cgw_sim::probe::ProbeSettings {
                rate,
                timeout,
                retries,
                max_requests,
                half_open_wait,
            };
            probe_command(&peer, source.as_deref(), settings, json)
        }
        Command::Selftest => {
            if selftest::run() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Lab {
            command: LabCommand::Run(args),
        } => lab_run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::capture_dir_names;

    #[test]
    fn capture_dirs_are_safe_and_unique() {
        let names = ["happy-path", "a b/c", "happy-path", "..", "", "happy-path"];
        assert_eq!(
            capture_dir_names(names),
            [
                "happy-path",
                "a_b_c",
                "happy-path-2",
                "scenario..",
                "scenario",
                "happy-path-3"
            ]
        );
    }
}
