//! The host configuration (`run`, `validate`, `mock-aws`): good files load,
//! every class of mistake names file, line and key, keys never print, and
//! the CLI's exit codes.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cgw_sim::config::{ConfigError, GatewayConfig, LogFormat, MockConfig};
use cgw_sim::scenario::Routing;

const PSK1: &str = "tunnel1.key.abcdef";
const PSK2: &str = "tunnel2.key.abcdef";

const GATEWAY: &str = r#"[gateway]
local_address = "192.0.2.10"
routing = "bgp"

[gateway.tunnel1]
aws_address = "198.51.100.10"
inside_cidr = "169.254.10.0/30"

[gateway.tunnel2]
aws_address = "198.51.100.20"
inside_cidr = "169.254.20.0/30"

[cgw.bgp]
announce = ["198.18.0.0/24"]

[cgw.tunnel1.ike]
psk = "tunnel1.key.abcdef"

[cgw.tunnel2.ike]
psk = "tunnel2.key.abcdef"
"#;

const MOCK: &str = r#"[mock]
cgw_address = "192.0.2.10"
vpc_cidrs = ["198.19.0.0/16"]

[mock.tunnel1]
listen = "198.51.100.10"

[mock.tunnel2]
listen = "198.51.100.20"

[aws.tunnel1]
inside_cidr = "169.254.10.0/30"
psk = "tunnel1.key.abcdef"

[aws.tunnel2]
inside_cidr = "169.254.20.0/30"
psk = "tunnel2.key.abcdef"
"#;

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cgw-sim-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `text` with `from` replaced by `to` (which must occur exactly once).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} once in the text");
    text.replace(from, to)
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} in the text"))
        + 1
}

fn gateway(text: &str) -> Result<GatewayConfig, ConfigError> {
    GatewayConfig::from_toml(text, "gw.toml", Path::new("."))
}

fn mock(text: &str) -> Result<MockConfig, ConfigError> {
    MockConfig::from_toml(text, "mock.toml", Path::new("."))
}

/// Asserts that `e` is placed in `file` at `line`, names `key` and says
/// `fragment`.
#[track_caller]
fn assert_error(e: &ConfigError, file: &str, line: usize, key: &str, fragment: &str) {
    assert_eq!(e.file, file, "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.column.is_some(), "{e}");
    assert_eq!(e.key, key, "{e}");
    assert!(e.message.contains(fragment), "{e} lacks {fragment:?}");
    assert!(
        e.to_string()
            .starts_with(&format!("{file}:{line}:{}: {key}: ", e.column.unwrap())),
        "{e}"
    );
}

#[track_caller]
fn gateway_error(text: &str, line_needle: &str, key: &str, fragment: &str) -> ConfigError {
    let e = gateway(text).expect_err("the configuration is refused");
    assert_error(&e, "gw.toml", line_of(text, line_needle), key, fragment);
    e
}

#[track_caller]
fn mock_error(text: &str, line_needle: &str, key: &str, fragment: &str) -> ConfigError {
    let e = mock(text).expect_err("the configuration is refused");
    assert_error(&e, "mock.toml", line_of(text, line_needle), key, fragment);
    e
}

// ---------------------------------------------------------------- good files

#[test]
fn minimal_gateway_loads_with_defaults() {
    let c = gateway(GATEWAY).unwrap();
    assert_eq!(c.local_address, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(c.metrics_listen, "127.0.0.1:9184".parse().unwrap());
    assert!(c.metrics_listen.ip().is_loopback());
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.routing, Routing::Bgp);
    assert_eq!(c.aws_asn, 64512);
    assert_eq!(c.validate_timeout, Duration::from_secs(60));
    assert_eq!(c.tunnels[0].tun, "cgwsim1");
    assert_eq!(c.tunnels[1].tun, "cgwsim2");
    assert_eq!(c.tunnels[0].psk.expose(), PSK1);
    assert_eq!(c.tunnels[1].psk.expose(), PSK2);
    assert_eq!(
        c.tunnels[1].inside_cidr.cgw_inside_ip(),
        Ipv4Addr::new(169, 254, 20, 2)
    );
    // The keys left the shared [cgw] section for the redacting type.
    assert_eq!(c.cgw.tunnel1.ike.psk, None);
    assert_eq!(c.cgw.tunnel2.ike.psk, None);
}

#[test]
fn minimal_mock_loads() {
    let c = mock(MOCK).unwrap();
    assert_eq!(c.cgw_address, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(c.tunnels[1].listen, Ipv4Addr::new(198, 51, 100, 20));
    assert_eq!(c.tunnels[0].psk.expose(), PSK1);
    assert_eq!(c.log_path, None);
    assert_eq!(c.aws.tunnel1.psk, None);
}

#[test]
fn examples_load() {
    let g = GatewayConfig::load(repo_file("examples/gateway.toml")).unwrap();
    assert_eq!(g.interface.as_deref(), Some("eth0"));
    assert_eq!(g.tunnels[1].tun, "cgwsim2");
    // tunnel 2's key comes from examples/tunnel2.psk, without its newline.
    assert_eq!(g.tunnels[1].psk.expose(), "example_tunnel2_key.CHANGE_ME");
    assert_eq!(
        g.tunnels[0].tcp_targets,
        ["198.19.0.10:22".parse().unwrap()]
    );
    assert_eq!(g.cgw.tunnel1.mss_clamp, Some(1379));
    let m = MockConfig::load(repo_file("examples/mock-aws.toml")).unwrap();
    assert_eq!(m.tunnels[1].psk.expose(), "example_tunnel2_key.CHANGE_ME");
    assert_eq!(m.log_path.as_deref(), Some(Path::new("aws-vpn-tunnel.log")));
    assert_eq!(m.vpc_cidrs.len(), 1);
}

#[test]
fn static_routing_needs_routes_and_takes_them() {
    let text = edit(GATEWAY, r#"routing = "bgp""#, r#"routing = "static""#);
    // A missing key is placed at its nearest parent: `[cgw.bgp]`.
    gateway_error(&text, "[cgw.bgp]", "cgw.static_routes", "static");
    let text = format!("{text}\n[cgw]\nstatic_routes = [\"198.19.0.0/16\"]\n");
    // `[cgw]` after its subtables is valid TOML.
    let c = gateway(&text).unwrap();
    assert_eq!(c.routing, Routing::Static);
    assert_eq!(c.cgw.static_routes.len(), 1);
}

#[test]
fn psk_file_is_read_relative_to_the_config() {
    let dir = scratch("pskfile");
    std::fs::write(dir.join("t1.psk"), "from.a.file.key\r\n").unwrap();
    let text = edit(GATEWAY, "psk = \"tunnel1.key.abcdef\"\n", "");
    let text = edit(
        &text,
        "inside_cidr = \"169.254.10.0/30\"\n",
        "inside_cidr = \"169.254.10.0/30\"\npsk_file = \"t1.psk\"\n",
    );
    let path = dir.join("gw.toml");
    std::fs::write(&path, &text).unwrap();
    let c = GatewayConfig::load(&path).unwrap();
    assert_eq!(c.tunnels[0].psk.expose(), "from.a.file.key");
    // A missing file names the key.
    std::fs::remove_file(dir.join("t1.psk")).unwrap();
    let e = GatewayConfig::load(&path).unwrap_err();
    assert_eq!(e.key, "gateway.tunnel1.psk_file", "{e}");
    assert_eq!(e.line, Some(line_of(&text, "psk_file")), "{e}");
    assert!(e.message.contains("cannot read"), "{e}");
}

// ---------------------------------------------------------------- errors

#[test]
fn unknown_key() {
    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        "routing = \"bgp\"\nmetric_listen = \"127.0.0.1:1\"\n",
    );
    gateway_error(
        &text,
        "metric_listen",
        "gateway.metric_listen",
        "unknown key",
    );
    let text = edit(
        MOCK,
        "[mock.tunnel2]\n",
        "[mock.tunnel2]\naddress = \"192.0.2.99\"\n",
    );
    mock_error(
        &text,
        "address = \"192.0.2.99\"",
        "mock.tunnel2.address",
        "unknown key",
    );
    // A section of the other kind is an unknown key too.
    let text = format!("{GATEWAY}\n[aws]\nasn = 64512\n");
    gateway_error(&text, "[aws]", "aws", "unknown key");
}

#[test]
fn wrong_type() {
    let text = edit(
        GATEWAY,
        "local_address = \"192.0.2.10\"",
        "local_address = 10",
    );
    gateway_error(
        &text,
        "local_address",
        "gateway.local_address",
        "found an integer",
    );
    let text = edit(GATEWAY, "routing = \"bgp\"", "routing = \"ospf\"");
    gateway_error(&text, "routing", "gateway.routing", "ospf");
    let text = edit(
        MOCK,
        "vpc_cidrs = [\"198.19.0.0/16\"]",
        "vpc_cidrs = \"198.19.0.0/16\"",
    );
    mock_error(&text, "vpc_cidrs", "mock.vpc_cidrs", "expected a list");
}

#[test]
fn log_format_is_text_or_json() {
    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        "routing = \"bgp\"\nlog_format = \"xml\"\n",
    );
    gateway_error(&text, "log_format", "gateway.log_format", "xml");
    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        "routing = \"bgp\"\nlog_format = \"json\"\n",
    );
    assert_eq!(gateway(&text).unwrap().log_format, LogFormat::Json);
}

#[test]
fn bad_address() {
    let text = edit(GATEWAY, "\"198.51.100.10\"", "\"198.51.100.300\"");
    gateway_error(&text, "198.51.100.300", "gateway.tunnel1.aws_address", "");
    let text = edit(GATEWAY, "\"192.0.2.10\"", "\"127.0.0.1\"");
    gateway_error(&text, "127.0.0.1", "gateway.local_address", "unicast");
    let text = edit(
        MOCK,
        "cgw_address = \"192.0.2.10\"",
        "cgw_address = \"0.0.0.0\"",
    );
    mock_error(&text, "cgw_address", "mock.cgw_address", "unicast");
    let text = edit(
        MOCK,
        "listen = \"198.51.100.20\"",
        "listen = \"198.51.100.10\"",
    );
    let e = mock(&text).unwrap_err();
    assert_eq!(e.key, "mock.tunnel2.listen", "{e}");
    assert_eq!(e.line, Some(9), "{e}");
    assert!(e.message.contains("different"), "{e}");
}

#[test]
fn two_tunnels_on_one_aws_address() {
    let text = edit(GATEWAY, "\"198.51.100.20\"", "\"198.51.100.10\"");
    let e = gateway(&text).unwrap_err();
    assert_eq!(e.key, "gateway.tunnel2.aws_address", "{e}");
    assert_eq!(e.line, Some(10), "{e}");
}

#[test]
fn inside_cidr_must_be_a_slash_30_in_link_local() {
    for bad in [
        "169.254.10.0/29",
        "10.0.0.0/30",
        "169.254.10.1/30",
        "169.254.169.252/30",
    ] {
        let text = edit(GATEWAY, "169.254.10.0/30", bad);
        gateway_error(&text, bad, "gateway.tunnel1.inside_cidr", "169.254.0.0/16");
    }
    let text = edit(GATEWAY, "169.254.10.0/30", "169.254.10.0");
    gateway_error(
        &text,
        "169.254.10.0\"",
        "gateway.tunnel1.inside_cidr",
        "CIDR",
    );
}

#[test]
fn duplicate_inside_cidr() {
    let text = edit(GATEWAY, "169.254.20.0/30", "169.254.10.0/30");
    let e = gateway(&text).unwrap_err();
    assert_eq!(e.key, "gateway.tunnel2.inside_cidr", "{e}");
    assert_eq!(e.line, Some(11), "{e}");
    assert!(e.message.contains("overlaps"), "{e}");
    // The mock: AWS's own rule, placed at the [aws] key.
    let text = edit(MOCK, "169.254.20.0/30", "169.254.10.0/30");
    let e = mock(&text).unwrap_err();
    assert_eq!(e.key, "aws.tunnel2.inside_cidr", "{e}");
    assert_eq!(e.line, Some(16), "{e}");
}

#[test]
fn psk_rules_are_aws_rules_and_never_echo_the_key() {
    for (bad, why) in [
        ("abc1234", "7 characters"),
        ("tunnel1-key-abcdef", "characters other than"),
        ("0tunnel1keyabc", "starting with 0"),
    ] {
        let text = edit(GATEWAY, PSK1, bad);
        let e = gateway_error(&text, bad, "cgw.tunnel1.ike.psk", why);
        assert!(!e.to_string().contains(bad), "{e}");
        let text = edit(MOCK, PSK2, bad);
        let e = mock_error(&text, bad, "aws.tunnel2.psk", why);
        assert!(!e.to_string().contains(bad), "{e}");
    }
}

#[test]
fn psk_type_and_syntax_errors_do_not_echo_the_key() {
    let text = edit(GATEWAY, "\"tunnel1.key.abcdef\"", "98765432");
    let e = gateway_error(
        &text,
        "98765432",
        "cgw.tunnel1.ike.psk",
        "expected a string",
    );
    assert!(!e.to_string().contains("98765432"), "{e}");
    let text = edit(GATEWAY, "\"tunnel1.key.abcdef\"", "\"tunnel1.key.abcdef");
    let e = gateway(&text).unwrap_err();
    assert_eq!(e.line, Some(line_of(&text, "tunnel1.key")), "{e}");
    assert!(!e.to_string().contains("tunnel1.key"), "{e}");
}

#[test]
fn psk_inline_or_file_exactly_once() {
    let text = edit(GATEWAY, "psk = \"tunnel2.key.abcdef\"\n", "");
    gateway_error(
        &text,
        "[gateway.tunnel2]",
        "gateway.tunnel2.psk_file",
        "a pre-shared key is required",
    );
    let text = edit(
        GATEWAY,
        "inside_cidr = \"169.254.20.0/30\"\n",
        "inside_cidr = \"169.254.20.0/30\"\npsk_file = \"k\"\n",
    );
    gateway_error(&text, "psk_file", "gateway.tunnel2.psk_file", "not both");
    let dir = scratch("mockpsk");
    std::fs::write(dir.join("k"), "bad key with spaces\n").unwrap();
    let text = edit(MOCK, "psk = \"tunnel2.key.abcdef\"\n", "");
    let text = edit(
        &text,
        "listen = \"198.51.100.20\"\n",
        "listen = \"198.51.100.20\"\npsk_file = \"k\"\n",
    );
    let e = MockConfig::from_toml(&text, "mock.toml", &dir).unwrap_err();
    assert_error(
        &e,
        "mock.toml",
        line_of(&text, "psk_file"),
        "mock.tunnel2.psk_file",
        "characters other than",
    );
    assert!(!e.to_string().contains("spaces"), "{e}");
}

#[test]
fn missing_required_key() {
    let text = edit(GATEWAY, "aws_address = \"198.51.100.10\"\n", "");
    gateway_error(
        &text,
        "[gateway.tunnel1]",
        "gateway.tunnel1",
        "missing key `aws_address`",
    );
    let text = edit(MOCK, "inside_cidr = \"169.254.10.0/30\"\n", "");
    mock_error(
        &text,
        "[aws.tunnel1]",
        "aws.tunnel1.inside_cidr",
        "inside CIDR",
    );
    let e = gateway("").unwrap_err();
    assert!(e.message.contains("missing key `gateway`"), "{e}");
}

#[test]
fn metrics_address_syntax() {
    for bad in ["localhost:9184", "127.0.0.1", "127.0.0.1:99999"] {
        let text = edit(
            GATEWAY,
            "routing = \"bgp\"\n",
            &format!("routing = \"bgp\"\nmetrics_listen = \"{bad}\"\n"),
        );
        gateway_error(&text, "metrics_listen", "gateway.metrics_listen", "");
    }
    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        "routing = \"bgp\"\nmetrics_listen = \"[::]:9100\"\n",
    );
    let c = gateway(&text).unwrap();
    assert_eq!(c.metrics_listen, "[::]:9100".parse::<SocketAddr>().unwrap());
}

#[test]
fn control_sockets_and_mock_metrics() {
    let g = gateway(GATEWAY).unwrap();
    assert_eq!(g.control_socket, Path::new("/run/cgw-sim/cgw.sock"));
    let m = mock(MOCK).unwrap();
    assert_eq!(m.control_socket, Path::new("/run/cgw-sim/mock-aws.sock"));
    assert_eq!(m.metrics_listen, "127.0.0.1:9185".parse().unwrap());
    assert_ne!(m.metrics_listen, g.metrics_listen);
    assert!(g
        .to_string()
        .contains("control socket: /run/cgw-sim/cgw.sock"));
    assert!(m
        .to_string()
        .contains("metrics: http://127.0.0.1:9185/metrics"));

    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        "routing = \"bgp\"\ncontrol_socket = \"/tmp/gw/ctl.sock\"\n",
    );
    assert_eq!(
        gateway(&text).unwrap().control_socket,
        Path::new("/tmp/gw/ctl.sock")
    );
    let text = edit(
        MOCK,
        "vpc_cidrs",
        "control_socket = \"m.sock\"\nmetrics_listen = \"127.0.0.1:9300\"\nvpc_cidrs",
    );
    let m = mock(&text).unwrap();
    assert_eq!(m.control_socket, Path::new("m.sock"));
    assert_eq!(m.metrics_listen, "127.0.0.1:9300".parse().unwrap());

    let long = format!("/run/{}.sock", "x".repeat(110));
    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        &format!("routing = \"bgp\"\ncontrol_socket = \"{long}\"\n"),
    );
    gateway_error(
        &text,
        "control_socket",
        "gateway.control_socket",
        "at most 107 bytes",
    );
    let text = edit(MOCK, "vpc_cidrs", "control_socket = \"\"\nvpc_cidrs");
    mock_error(&text, "control_socket", "mock.control_socket", "empty");
}

#[test]
fn timeout_syntax() {
    for bad in ["5 parsecs", "-3s", "soon"] {
        let text = edit(
            GATEWAY,
            "routing = \"bgp\"\n",
            &format!("routing = \"bgp\"\nvalidate_timeout = \"{bad}\"\n"),
        );
        gateway_error(&text, "validate_timeout", "gateway.validate_timeout", "");
    }
    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        "routing = \"bgp\"\nvalidate_timeout = \"0s\"\n",
    );
    gateway_error(
        &text,
        "validate_timeout",
        "gateway.validate_timeout",
        "positive",
    );
    let text = edit(
        GATEWAY,
        "routing = \"bgp\"\n",
        "routing = \"bgp\"\nvalidate_timeout = \"2m\"\n",
    );
    assert_eq!(
        gateway(&text).unwrap().validate_timeout,
        Duration::from_secs(120)
    );
}

#[test]
fn aws_option_out_of_range() {
    let text = edit(
        MOCK,
        "[aws.tunnel1]\n",
        "[aws.tunnel1]\nphase1_lifetime_seconds = 100\n",
    );
    mock_error(
        &text,
        "phase1_lifetime_seconds",
        "aws.tunnel1.phase1_lifetime_seconds",
        "not accepted",
    );
    let text = edit(
        MOCK,
        "[aws.tunnel2]\n",
        "[aws.tunnel2]\nphase1_dh_groups = [14, 99]\n",
    );
    let e = mock(&text).unwrap_err();
    assert!(e.key.starts_with("aws.tunnel2.phase1_dh_groups"), "{e}");
    assert_eq!(e.line, Some(line_of(&text, "99")), "{e}");
    let text = format!("{MOCK}\n[aws]\nasn = 100\n");
    mock_error(&text, "asn = 100", "aws.asn", "64512");
    let text = format!("{MOCK}\n[aws]\ncgw_asn = 0\n");
    mock_error(&text, "cgw_asn = 0", "aws.cgw_asn", "1-2147483647");
}

#[test]
fn cgw_section_has_the_scenario_rules() {
    let text = edit(
        GATEWAY,
        "psk = \"tunnel1.key.abcdef\"\n",
        "psk = \"tunnel1.key.abcdef\"\ndh_groups = [14, 99]\n",
    );
    gateway_error(
        &text,
        "dh_groups",
        "cgw.tunnel1.ike.dh_groups[2]",
        "unknown DH group 99",
    );
    let text = format!("{GATEWAY}\n[[cgw.probe]]\nkind = \"icmp\"\n");
    gateway_error(&text, "[[cgw.probe]]", "cgw.probe", "lab hosts");
    let text = edit(
        GATEWAY,
        "announce = [\"198.18.0.0/24\"]\n",
        "announce = [\"198.18.0.0/24\"]\npeer_asn = 100\n",
    );
    gateway_error(&text, "peer_asn", "cgw.bgp.peer_asn", "64512");
}

#[test]
fn tun_names() {
    let text = edit(
        GATEWAY,
        "inside_cidr = \"169.254.10.0/30\"\n",
        "inside_cidr = \"169.254.10.0/30\"\ntun = \"a-name-far-too-long\"\n",
    );
    gateway_error(&text, "tun =", "gateway.tunnel1.tun", "15");
    let text = edit(
        GATEWAY,
        "inside_cidr = \"169.254.20.0/30\"\n",
        "inside_cidr = \"169.254.20.0/30\"\ntun = \"cgwsim1\"\n",
    );
    gateway_error(&text, "tun =", "gateway.tunnel2.tun", "both tunnels");
}

#[test]
fn toml_syntax_error_has_a_line() {
    let text = edit(GATEWAY, "routing = \"bgp\"", "routing = \"bgp");
    let e = gateway(&text).unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
}

// ---------------------------------------------------------------- secrets

#[test]
fn psks_never_print() {
    let g = gateway(GATEWAY).unwrap();
    let m = mock(MOCK).unwrap();
    for out in [
        format!("{g:?}"),
        format!("{g:#?}"),
        g.to_string(),
        format!("{m:?}"),
        m.to_string(),
        format!("{:?}", g.tunnels[0].psk),
        g.tunnels[0].psk.to_string(),
    ] {
        assert!(!out.contains(PSK1) && !out.contains(PSK2), "{out}");
        assert!(out.contains("<redacted>"), "{out}");
    }
}

// ---------------------------------------------------------------- CLI

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cgw-sim"))
        .current_dir(repo_file(""))
        .args(args)
        .output()
        .expect("cgw-sim runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn cli_check_prints_the_resolved_config_without_keys() {
    let out = cli(&["run", "--config", "examples/gateway.toml", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("198.51.100.20"), "{stdout}");
    assert!(stdout.contains("psk: <redacted>"), "{stdout}");
    assert!(stdout.contains("log format: text"), "{stdout}");
    assert!(!stdout.contains("CHANGE_ME"), "{stdout}");

    let out = cli(&[
        "run",
        "--config",
        "examples/gateway.toml",
        "--log-format",
        "json",
        "--check",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("log format: json"));

    let out = cli(&[
        "validate",
        "--config",
        "examples/gateway.toml",
        "--timeout",
        "90s",
        "--json",
        "--check",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("validate timeout: 1m30s"));

    let out = cli(&["mock-aws", "--config", "examples/mock-aws.toml", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("listen: 198.51.100.10"), "{stdout}");
    assert!(!stdout.contains("CHANGE_ME"), "{stdout}");
}

#[test]
fn cli_exit_codes() {
    // The examples' documentation addresses are not this host's: the
    // daemons refuse to start before creating anything (run and mock-aws
    // exit 1, validate 3: it keeps 1 for "the tunnels did not hold").
    for (args, code, key) in [
        (
            &["run", "--config", "examples/gateway.toml"][..],
            1,
            "gateway.local_address = 192.0.2.10",
        ),
        (
            &["validate", "--config", "examples/gateway.toml"][..],
            3,
            "gateway.local_address = 192.0.2.10",
        ),
        (
            &["mock-aws", "--config", "examples/mock-aws.toml"][..],
            1,
            "mock.tunnel1.listen = 198.51.100.10",
        ),
    ] {
        let out = cli(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains(key) && err.contains("is not an address of this host"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    // A bad configuration: 2, placed at file:line.
    let dir = scratch("cli");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, edit(GATEWAY, "\"198.51.100.20\"", "\"nope\"")).unwrap();
    let bad = bad.to_str().unwrap();
    for cmd in ["run", "validate"] {
        let out = cli(&[cmd, "--config", bad, "--check"]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{bad}:10:"))
                && stderr.contains("gateway.tunnel2.aws_address"),
            "{stderr}"
        );
    }
    // The other kind of file is refused by mock-aws.
    let out = cli(&["mock-aws", "--config", "examples/gateway.toml", "--check"]);
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&["run", "--config", "no/such/file.toml", "--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
    // Usage errors are clap's (2): unknown option, bad timeout, bad format.
    for args in [
        &["run", "--config", "examples/gateway.toml", "--bogus"][..],
        &[
            "validate",
            "--config",
            "examples/gateway.toml",
            "--timeout",
            "soon",
        ][..],
        &[
            "validate",
            "--config",
            "examples/gateway.toml",
            "--timeout",
            "0s",
        ][..],
        &[
            "run",
            "--config",
            "examples/gateway.toml",
            "--log-format",
            "xml",
        ][..],
        &["run"][..],
    ] {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

// ---------------------------------------------------------------- docs

/// The ```toml blocks of docs/config.md, in order.
fn doc_toml_blocks() -> Vec<String> {
    let doc = std::fs::read_to_string(repo_file("docs/config.md")).unwrap();
    let mut blocks = Vec::new();
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```toml\n") {
        let body = &rest[start + "```toml\n".len()..];
        let end = body.find("```").expect("a closed block");
        blocks.push(body[..end].to_owned());
        rest = &body[end..];
    }
    blocks
}

#[test]
fn docs_examples_are_the_example_files() {
    let blocks = doc_toml_blocks();
    assert_eq!(blocks.len(), 2, "a gateway and a mock example");
    let examples = repo_file("examples");
    let g = GatewayConfig::from_toml(&blocks[0], "docs/config.md", &examples).unwrap();
    assert_eq!(
        g,
        GatewayConfig::load(repo_file("examples/gateway.toml")).unwrap()
    );
    let m = MockConfig::from_toml(&blocks[1], "docs/config.md", &examples).unwrap();
    assert_eq!(
        m,
        MockConfig::load(repo_file("examples/mock-aws.toml")).unwrap()
    );
}

// ---------------------------------------------------------------- IPv6 inside

fn ipv6_gateway() -> String {
    let t = edit(
        GATEWAY,
        "inside_cidr = \"169.254.10.0/30\"\n",
        "inside_cidr = \"169.254.10.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:10::/126\"\n",
    );
    let t = edit(
        &t,
        "inside_cidr = \"169.254.20.0/30\"\n",
        "inside_cidr = \"169.254.20.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:20::/126\"\n",
    );
    edit(
        &t,
        "announce = [\"198.18.0.0/24\"]",
        "announce = [\"fd00:198:18::/48\"]",
    )
}

fn ipv6_mock() -> String {
    let t = edit(
        MOCK,
        "vpc_cidrs = [\"198.19.0.0/16\"]",
        "vpc_cidrs = [\"fd00:198:19::/48\"]",
    );
    let t = edit(
        &t,
        "[aws.tunnel1]\ninside_cidr = \"169.254.10.0/30\"\n",
        "[aws]\ngateway = \"tgw\"\n\n[aws.tunnel1]\ninside_cidr = \"169.254.10.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:10::/126\"\n",
    );
    edit(
        &t,
        "[aws.tunnel2]\ninside_cidr = \"169.254.20.0/30\"\n",
        "[aws.tunnel2]\ninside_cidr = \"169.254.20.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:20::/126\"\n",
    )
}

#[test]
fn ipv6_inside_tunnels_load_on_both_sides() {
    let g = gateway(&ipv6_gateway()).unwrap();
    assert_eq!(
        g.tunnels.map(|t| t.inside_ipv6_cidr.map(|c| c.to_string())),
        [
            Some("fd00:a9fe:10::/126".to_string()),
            Some("fd00:a9fe:20::/126".to_string())
        ]
    );
    let m = mock(&ipv6_mock()).unwrap();
    assert!(m.tunnels.iter().all(|t| t.inside_ipv6_cidr.is_some()));
}

#[test]
fn ipv6_inside_mistakes_name_the_key() {
    let g = ipv6_gateway();
    // Both tunnels or neither: AWS sets the inside IP version per connection.
    let one = edit(&g, "inside_ipv6_cidr = \"fd00:a9fe:20::/126\"\n", "");
    gateway_error(
        &one,
        "[gateway.tunnel2]",
        "gateway.tunnel2.inside_ipv6_cidr",
        "tunnel2 needs its inside IPv6 CIDR too",
    );
    // A /126 inside fd00::/8 only.
    let wide = edit(&g, "fd00:a9fe:20::/126", "fd00:a9fe:20::/64");
    gateway_error(
        &wide,
        "fd00:a9fe:20::/64",
        "gateway.tunnel2.inside_ipv6_cidr",
        "a /126 inside fd00::/8",
    );
    let global = edit(&g, "fd00:a9fe:20::/126", "2001:db8::/126");
    gateway_error(
        &global,
        "2001:db8::/126",
        "gateway.tunnel2.inside_ipv6_cidr",
        "fd00::/8",
    );
    let same = edit(&g, "fd00:a9fe:20::/126", "fd00:a9fe:10::/126");
    let e = gateway(&same).unwrap_err();
    // The second of the two identical lines: tunnel 2's.
    let line = line_of(&same, "[gateway.tunnel2]") + 3;
    assert_error(
        &e,
        "gw.toml",
        line,
        "gateway.tunnel2.inside_ipv6_cidr",
        "overlaps",
    );
    // The tunnels carry one family: an IPv4 prefix on an IPv6 connection
    // and an IPv6 one on an IPv4 connection are refused, saying which.
    let v4 = edit(
        &g,
        "announce = [\"fd00:198:18::/48\"]",
        "announce = [\"198.18.0.0/24\"]",
    );
    gateway_error(&v4, "announce", "cgw.bgp.announce[1]", "carry IPv6 only");
    let v6 = edit(
        GATEWAY,
        "announce = [\"198.18.0.0/24\"]",
        "announce = [\"fd00:198:18::/48\"]",
    );
    gateway_error(&v6, "announce", "cgw.bgp.announce[1]", "carry IPv4 only");
    let target = edit(
        &g,
        "[gateway.tunnel1]\n",
        "[gateway.tunnel1]\nvalidate = { ping = [\"198.19.0.10\"] }\n",
    );
    gateway_error(
        &target,
        "validate",
        "gateway.tunnel1.validate.ping[1]",
        "198.19.0.10 is IPv4",
    );
    // The mock: AWS's IPv6 inside tunnels are a transit gateway's only,
    // and its VPC prefixes are of the tunnels' family.
    let m = ipv6_mock();
    let vgw = edit(&m, "gateway = \"tgw\"\n", "gateway = \"vgw\"\n");
    mock_error(
        &vgw,
        "fd00:a9fe:10::/126",
        "aws.tunnel1.inside_ipv6_cidr",
        "transit gateway only",
    );
    let v4vpc = edit(
        &m,
        "vpc_cidrs = [\"fd00:198:19::/48\"]",
        "vpc_cidrs = [\"198.19.0.0/16\"]",
    );
    mock_error(&v4vpc, "vpc_cidrs", "mock.vpc_cidrs[1]", "carry IPv6 only");
}
