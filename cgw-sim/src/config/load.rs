//! Reading a host configuration: TOML into raw structs (unknown keys
//! refused), then the scenario loader's checks of `[cgw]` / `[aws]` and the
//! host's own. Errors are placed at the key they name (`toml_file`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, GatewayConfig, GatewayTunnel, LogFormat, MockConfig, MockTunnel, Psk};
use crate::aws::{self, Ipv4Cidr, Ipv6Cidr, OptionError};
use crate::scenario::duration;
use crate::scenario::{
    check_aws, check_cgw, check_hold_time, check_vpn_rules, defaults, Aws, Cgw, Prefix, Routing,
    Topology,
};
use crate::toml_file::{self, err, Check};

/// `/metrics` listens here unless `gateway.metrics_listen` says otherwise:
/// loopback, so that nothing is exposed by default.
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9184);

/// The customer gateway's control socket (`cgw-sim status` asks it)
/// unless `gateway.control_socket` says otherwise.
pub const DEFAULT_GATEWAY_SOCKET: &str = "/run/cgw-sim/cgw.sock";

/// The AWS mock's control socket unless `mock.control_socket` says
/// otherwise.
pub const DEFAULT_MOCK_SOCKET: &str = "/run/cgw-sim/mock-aws.sock";

/// The AWS mock's `/metrics` unless `mock.metrics_listen` says otherwise:
/// loopback, and a port apart from the gateway's so both run on one host.
pub const DEFAULT_MOCK_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9185);

/// The longest path a Unix socket can be bound at: `sun_path` is 108
/// bytes on Linux, one of which ends the string.
const MAX_SOCKET_PATH: usize = 107;

/// How long `validate` waits by default for both tunnels, BGP and the
/// targets.
pub const DEFAULT_VALIDATE_TIMEOUT: Duration = Duration::from_secs(60);

/// Linux's interface names: at most 15 bytes (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;

impl GatewayConfig {
    /// Reads and checks a customer gateway configuration (`[gateway]` +
    /// `[cgw]`). A `psk_file` is read relative to the file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<GatewayConfig, ConfigError> {
        let path = path.as_ref();
        let base = base_dir(path);
        toml_file::load(path, |raw| convert_gateway(raw, &base, AwsRules::Enforce))
    }

    /// Parses and checks configuration text; `file` names it in errors and
    /// `psk_file`s are relative to `base`.
    pub fn from_toml(text: &str, file: &str, base: &Path) -> Result<GatewayConfig, ConfigError> {
        toml_file::parse(text, file, |raw| {
            convert_gateway(raw, base, AwsRules::Enforce)
        })
    }

    /// As [`GatewayConfig::from_toml`], but AWS's own rules on values
    /// (pre-shared key characters and length, inside CIDRs and their
    /// overlap, ASN ranges, a hold time of 1-2 s) are left unchecked: the
    /// result may hold values AWS refuses. For `cgw-sim lint`, which
    /// reports each of them as a finding at its line instead of stopping
    /// at the first. Never run a gateway from it.
    pub fn from_toml_unchecked(
        text: &str,
        file: &str,
        base: &Path,
    ) -> Result<GatewayConfig, ConfigError> {
        toml_file::parse(text, file, |raw| convert_gateway(raw, base, AwsRules::Skip))
    }
}

impl MockConfig {
    /// Reads and checks an AWS mock configuration (`[mock]` + `[aws]`). A
    /// `psk_file` is read relative to the file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<MockConfig, ConfigError> {
        let path = path.as_ref();
        let base = base_dir(path);
        toml_file::load(path, |raw| convert_mock(raw, &base))
    }

    /// Parses and checks configuration text; `file` names it in errors and
    /// `psk_file`s are relative to `base`.
    pub fn from_toml(text: &str, file: &str, base: &Path) -> Result<MockConfig, ConfigError> {
        toml_file::parse(text, file, |raw| convert_mock(raw, base))
    }
}

/// Whether the loader refuses values AWS refuses (see
/// [`GatewayConfig::from_toml_unchecked`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum AwsRules {
    Enforce,
    Skip,
}

fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

// ---------------------------------------------------------------- raw forms

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGatewayFile {
    gateway: RawGateway,
    #[serde(default)]
    cgw: Cgw,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    local_address: Ipv4Addr,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    metrics_listen: Option<SocketAddr>,
    #[serde(default)]
    log_format: LogFormat,
    #[serde(default)]
    control_socket: Option<PathBuf>,
    #[serde(default)]
    routing: Routing,
    #[serde(default, deserialize_with = "duration::de_opt")]
    validate_timeout: Option<Duration>,
    #[serde(
        default = "default_keepalive",
        deserialize_with = "duration::de_or_off"
    )]
    keepalive: Option<Duration>,
    tunnel1: RawGatewayTunnel,
    tunnel2: RawGatewayTunnel,
}

fn default_keepalive() -> Option<Duration> {
    Some(super::DEFAULT_KEEPALIVE)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGatewayTunnel {
    aws_address: Ipv4Addr,
    #[serde(default)]
    keepalive_target: Option<IpAddr>,
    inside_cidr: Ipv4Cidr,
    #[serde(default)]
    inside_ipv6_cidr: Option<Ipv6Cidr>,
    #[serde(default)]
    psk_file: Option<PathBuf>,
    #[serde(default)]
    tun: Option<String>,
    #[serde(default)]
    validate: RawTargets,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    #[serde(default)]
    ping: Vec<IpAddr>,
    #[serde(default)]
    tcp: Vec<SocketAddr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMockFile {
    mock: RawMock,
    #[serde(default)]
    aws: Aws,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMock {
    cgw_address: Ipv4Addr,
    vpc_cidrs: Vec<Prefix>,
    #[serde(default)]
    log_path: Option<PathBuf>,
    #[serde(default)]
    metrics_listen: Option<SocketAddr>,
    #[serde(default)]
    control_socket: Option<PathBuf>,
    tunnel1: RawMockTunnel,
    tunnel2: RawMockTunnel,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMockTunnel {
    listen: Ipv4Addr,
    #[serde(default)]
    psk_file: Option<PathBuf>,
}

// ---------------------------------------------------------------- checks

/// An address a peer can send to: not 0.0.0.0, loopback, multicast or
/// broadcast. (Any other address is fine: a real host talks to real AWS.)
fn check_unicast(key: String, a: Ipv4Addr) -> Check<()> {
    if a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_broadcast() {
        return err(key, format!("expected a unicast IPv4 address, found {a}"));
    }
    Ok(())
}

/// A Linux interface name: 1 to 15 bytes of letters, digits, `.`, `_`, `-`.
pub(super) fn check_ifname(key: String, name: &str) -> Check<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        err(
            key,
            format!(
                "an interface name is 1 to {MAX_IFNAME} characters of A-Z a-z 0-9 . _ -, found \"{name}\""
            ),
        )
    }
}

/// A control socket's path: not empty, and short enough to bind.
pub(super) fn check_socket_path(key: &str, path: &Path) -> Check<()> {
    let len = path.as_os_str().len();
    if len == 0 {
        return err(key, "must not be empty");
    }
    if len > MAX_SOCKET_PATH {
        return err(
            key,
            format!("a Unix socket path has at most {MAX_SOCKET_PATH} bytes, this one {len}"),
        );
    }
    Ok(())
}

fn check_inside_cidr(key: String, c: &Ipv4Cidr) -> Check<()> {
    if aws::options::inside_cidr_ok(c) {
        Ok(())
    } else {
        err(
            key,
            format!(
                "expected a /30 in 169.254.0.0/16 (not one AWS reserves), host bits clear; found {c}"
            ),
        )
    }
}

/// The message of an AWS rule violation without its option name (the
/// caller names the key instead).
fn check_inside_ipv6_cidr(key: String, c: &Ipv6Cidr) -> Check<()> {
    if aws::options::inside_ipv6_cidr_ok(c) {
        Ok(())
    } else {
        err(
            key,
            format!("expected a /126 inside fd00::/8 (AWS's IPv6 inside tunnel range), found {c}"),
        )
    }
}

/// Whether the connection's tunnels carry IPv6: AWS sets the inside IP
/// version per connection, so both tunnels have an IPv6 inside CIDR or
/// neither has (`prefix` is `gateway.tunnel` or `aws.tunnel`).
fn ipv6_connection(cidrs: [&Option<Ipv6Cidr>; 2], prefix: &str) -> Check<bool> {
    match cidrs {
        [Some(_), Some(_)] => Ok(true),
        [None, None] => Ok(false),
        [Some(_), None] => err(
            format!("{prefix}2.inside_ipv6_cidr"),
            "tunnel1 carries IPv6, so tunnel2 needs its inside IPv6 CIDR too (AWS sets the \
             inside IP version per connection)",
        ),
        [None, Some(_)] => err(
            format!("{prefix}1.inside_ipv6_cidr"),
            "tunnel2 carries IPv6, so tunnel1 needs its inside IPv6 CIDR too (AWS sets the \
             inside IP version per connection)",
        ),
    }
}

/// Why a prefix or address of the other family is refused.
fn family_text(v6: bool, what: &str, enable_key: &str) -> String {
    if v6 {
        format!(
            "the tunnels carry IPv6 only (an IPv6 inside tunnel, as AWS's \
             TunnelInsideIpVersion ipv6); {what} is IPv4"
        )
    } else {
        format!(
            "the tunnels carry IPv4 only; {what} is IPv6 (set {enable_key} on both tunnels \
             for an IPv6 connection)"
        )
    }
}

fn option_message(e: &OptionError) -> String {
    let option = e.option();
    let message = e.to_string();
    message
        .strip_prefix(&format!("{option}: "))
        .unwrap_or(&message)
        .to_owned()
}

/// The PSK of one tunnel: exactly one of the inline key (`inline_key`) and
/// a key file (`file_key`, read relative to `base`); AWS's PSK rules apply.
/// Messages describe the key, never show it.
fn resolve_psk(
    inline: Option<String>,
    inline_key: &str,
    file: Option<&Path>,
    file_key: &str,
    base: &Path,
    rules: AwsRules,
) -> Check<Psk> {
    let (psk, key) = match (inline, file) {
        (Some(_), Some(_)) => {
            return err(
                file_key,
                format!("give `{inline_key}` or `{file_key}`, not both"),
            )
        }
        (None, None) => {
            return err(
                file_key,
                format!("a pre-shared key is required: `{inline_key}` or `{file_key}`"),
            )
        }
        (Some(p), None) => (p, inline_key),
        (None, Some(f)) => {
            let path = base.join(f);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                (
                    file_key.to_owned(),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            // A key file commonly ends with a newline; the key is one line.
            (text.trim_end_matches(['\n', '\r']).to_owned(), file_key)
        }
    };
    if rules == AwsRules::Enforce {
        if let Some(e) = aws::options::psk_violations(&psk).first() {
            return err(key, option_message(e));
        }
    }
    Ok(Psk(psk))
}

fn convert_gateway(raw: RawGatewayFile, base: &Path, rules: AwsRules) -> Check<GatewayConfig> {
    let enforce = rules == AwsRules::Enforce;
    let RawGatewayFile {
        gateway: g,
        mut cgw,
    } = raw;
    check_unicast("gateway.local_address".into(), g.local_address)?;
    if let Some(i) = &g.interface {
        check_ifname("gateway.interface".into(), i)?;
    }
    if let Some(p) = &g.control_socket {
        check_socket_path("gateway.control_socket", p)?;
    }
    if g.validate_timeout.is_some_and(|d| d.is_zero()) {
        return err("gateway.validate_timeout", "must be positive");
    }
    if g.keepalive.is_some_and(|d| d < Duration::from_secs(1)) {
        return err(
            "gateway.keepalive",
            "at least 1s between keepalive probes (or \"off\")",
        );
    }
    if !cgw.probes.is_empty() {
        // Scenario probes run between the lab's named hosts; a real host
        // has none, its checks are per tunnel.
        return err(
            "cgw.probe",
            "probes name lab hosts; on a real host give `gateway.tunnelN.validate` targets",
        );
    }
    check_cgw(&cgw, &Topology::default())?;
    if enforce {
        check_hold_time(&cgw)?;
    }
    if enforce && !(1..=2_147_483_647).contains(&cgw.bgp.asn) {
        return err(
            "cgw.bgp.asn",
            format!("expected 1 to 2147483647, found {}", cgw.bgp.asn),
        );
    }
    let aws_asn = cgw.bgp.peer_asn.unwrap_or(defaults::AWS_ASN);
    match g.routing {
        Routing::Bgp => {
            if enforce
                && !((64512..=65534).contains(&aws_asn)
                    || (4_200_000_000..=4_294_967_294).contains(&aws_asn))
            {
                return err(
                    "cgw.bgp.peer_asn",
                    format!(
                        "an Amazon-side ASN is 64512-65534 or 4200000000-4294967294, found {aws_asn}"
                    ),
                );
            }
            if cgw.bgp.announce.is_empty() {
                return err(
                    "cgw.bgp.announce",
                    "with `routing = \"bgp\"` give the on-premises prefixes to announce",
                );
            }
        }
        Routing::Static => {
            if cgw.static_routes.is_empty() {
                return err(
                    "cgw.static_routes",
                    "with `routing = \"static\"` give the VPC prefixes to route through the tunnels",
                );
            }
        }
    }
    let mut tunnels = Vec::with_capacity(2);
    for (n, t) in [(1, g.tunnel1), (2, g.tunnel2)] {
        let k = |f: &str| format!("gateway.tunnel{n}.{f}");
        check_unicast(k("aws_address"), t.aws_address)?;
        if enforce {
            check_inside_cidr(k("inside_cidr"), &t.inside_cidr)?;
            if let Some(c) = &t.inside_ipv6_cidr {
                check_inside_ipv6_cidr(k("inside_ipv6_cidr"), c)?;
            }
        }
        let ike = if n == 1 {
            &mut cgw.tunnel1.ike
        } else {
            &mut cgw.tunnel2.ike
        };
        let psk = resolve_psk(
            ike.psk.take(),
            &format!("cgw.tunnel{n}.ike.psk"),
            t.psk_file.as_deref(),
            &k("psk_file"),
            base,
            rules,
        )?;
        let tun = t.tun.unwrap_or_else(|| format!("cgwsim{n}"));
        check_ifname(k("tun"), &tun)?;
        for (i, a) in t.validate.ping.iter().enumerate() {
            if a.is_unspecified() || a.is_multicast() {
                return err(
                    format!("{}[{}]", k("validate.ping"), i + 1),
                    format!("expected a unicast address, found {a}"),
                );
            }
        }
        for (i, a) in t.validate.tcp.iter().enumerate() {
            if a.port() == 0 || a.ip().is_unspecified() || a.ip().is_multicast() {
                return err(
                    format!("{}[{}]", k("validate.tcp"), i + 1),
                    format!("expected a unicast address and a port from 1, found {a}"),
                );
            }
        }
        tunnels.push(GatewayTunnel {
            aws_address: t.aws_address,
            inside_cidr: t.inside_cidr,
            inside_ipv6_cidr: t.inside_ipv6_cidr,
            keepalive_target: t.keepalive_target,
            psk,
            tun,
            ping_targets: t.validate.ping,
            tcp_targets: t.validate.tcp,
        });
    }
    let [t1, t2]: [GatewayTunnel; 2] = match tunnels.try_into() {
        Ok(t) => t,
        Err(_) => return err("gateway", "needs tunnel1 and tunnel2"),
    };
    if t1.aws_address == t2.aws_address {
        return err(
            "gateway.tunnel2.aws_address",
            format!(
                "AWS's two tunnels have different outside addresses; both are {}",
                t1.aws_address
            ),
        );
    }
    if enforce && t1.inside_cidr.overlaps(&t2.inside_cidr) {
        return err(
            "gateway.tunnel2.inside_cidr",
            format!(
                "{} overlaps tunnel1's inside CIDR {}",
                t2.inside_cidr, t1.inside_cidr
            ),
        );
    }
    let v6 = ipv6_connection(
        [&t1.inside_ipv6_cidr, &t2.inside_ipv6_cidr],
        "gateway.tunnel",
    )?;
    let family = |p: &Prefix| p.addr.is_ipv6() == v6;
    let what = |p: String| family_text(v6, &p, "gateway.tunnelN.inside_ipv6_cidr");
    let prefixes = match g.routing {
        Routing::Bgp => ("cgw.bgp.announce", &cgw.bgp.announce),
        Routing::Static => ("cgw.static_routes", &cgw.static_routes),
    };
    if let Some(i) = prefixes.1.iter().position(|p| !family(p)) {
        return err(
            format!("{}[{}]", prefixes.0, i + 1),
            what(prefixes.1[i].to_string()),
        );
    }
    for (n, t) in [(1, &t1), (2, &t2)] {
        let targets = t.ping_targets.iter().copied().map(|a| ("ping", a));
        let tcp = t.tcp_targets.iter().map(|a| ("tcp", a.ip()));
        let mut seen = [0usize; 2];
        for (kind, a) in targets.chain(tcp) {
            let slot = usize::from(kind == "tcp");
            seen[slot] += 1;
            if a.is_ipv6() != v6 {
                return err(
                    format!("gateway.tunnel{n}.validate.{kind}[{}]", seen[slot]),
                    what(a.to_string()),
                );
            }
        }
    }
    if let (true, Some(a), Some(b)) = (enforce, &t1.inside_ipv6_cidr, &t2.inside_ipv6_cidr) {
        if a.overlaps(b) {
            return err(
                "gateway.tunnel2.inside_ipv6_cidr",
                format!("{b} overlaps tunnel1's inside IPv6 CIDR {a}"),
            );
        }
    }
    if t1.tun == t2.tun {
        return err(
            "gateway.tunnel2.tun",
            format!("both tunnels use the TUN device \"{}\"", t2.tun),
        );
    }
    Ok(GatewayConfig {
        local_address: g.local_address,
        interface: g.interface,
        metrics_listen: g.metrics_listen.unwrap_or(DEFAULT_METRICS_LISTEN),
        log_format: g.log_format,
        control_socket: g
            .control_socket
            .unwrap_or_else(|| PathBuf::from(DEFAULT_GATEWAY_SOCKET)),
        routing: g.routing,
        aws_asn,
        validate_timeout: g.validate_timeout.unwrap_or(DEFAULT_VALIDATE_TIMEOUT),
        keepalive: g.keepalive,
        tunnels: [t1, t2],
        cgw,
    })
}

fn convert_mock(raw: RawMockFile, base: &Path) -> Check<MockConfig> {
    let RawMockFile { mock: m, mut aws } = raw;
    check_unicast("mock.cgw_address".into(), m.cgw_address)?;
    if m.vpc_cidrs.is_empty() {
        return err("mock.vpc_cidrs", "give at least the VPC's CIDR");
    }
    if m.log_path.as_deref() == Some(Path::new("")) {
        return err(
            "mock.log_path",
            "must not be empty (omit it for standard output)",
        );
    }
    if let Some(p) = &m.control_socket {
        check_socket_path("mock.control_socket", p)?;
    }
    check_aws(&aws)?;
    let mut vpn = aws::VpnConnection::new(m.cgw_address);
    vpn.routing = match aws.routing {
        Routing::Bgp => aws::Routing::Bgp { aws_asn: aws.asn },
        Routing::Static => aws::Routing::Static,
    };
    vpn.cgw_asn = aws.cgw_asn.unwrap_or(defaults::CGW_ASN);
    vpn.gateway = aws.gateway;
    let mut tunnels = Vec::with_capacity(2);
    let mut psk_keys = [String::new(), String::new()];
    for (n, t) in [(1, &m.tunnel1), (2, &m.tunnel2)] {
        let k = format!("mock.tunnel{n}");
        check_unicast(format!("{k}.listen"), t.listen)?;
        if t.listen == m.cgw_address {
            return err(
                format!("{k}.listen"),
                "the mock's endpoint and the customer gateway need different addresses",
            );
        }
        let opts = if n == 1 {
            &mut aws.tunnel1
        } else {
            &mut aws.tunnel2
        };
        let Some(inside_cidr) = opts.inside_cidr else {
            return err(
                format!("aws.tunnel{n}.inside_cidr"),
                "the mock needs each tunnel's inside CIDR (the device is configured with it)",
            );
        };
        psk_keys[n - 1] = if opts.psk.is_some() {
            format!("aws.tunnel{n}.psk")
        } else {
            format!("{k}.psk_file")
        };
        let psk = resolve_psk(
            opts.psk.take(),
            &format!("aws.tunnel{n}.psk"),
            t.psk_file.as_deref(),
            &format!("{k}.psk_file"),
            base,
            AwsRules::Enforce,
        )?;
        let mut resolved = opts.resolve();
        resolved.psk = Some(psk.expose().to_owned());
        vpn.tunnels[n - 1] = resolved;
        let inside_ipv6_cidr = opts.inside_ipv6_cidr;
        tunnels.push(MockTunnel {
            listen: t.listen,
            inside_cidr,
            inside_ipv6_cidr,
            psk,
        });
    }
    if m.tunnel1.listen == m.tunnel2.listen {
        return err(
            "mock.tunnel2.listen",
            format!(
                "AWS's two tunnels have different outside addresses; both are {}",
                m.tunnel1.listen
            ),
        );
    }
    check_vpn_rules(&vpn, |field| match field {
        "cgw_asn" => Some("aws.cgw_asn".to_owned()),
        "cgw_ip" => Some("mock.cgw_address".to_owned()),
        "tunnel1.psk" => Some(psk_keys[0].clone()),
        "tunnel2.psk" => Some(psk_keys[1].clone()),
        _ => None,
    })?;
    let [t1, t2]: [MockTunnel; 2] = match tunnels.try_into() {
        Ok(t) => t,
        Err(_) => return err("mock", "needs tunnel1 and tunnel2"),
    };
    let v6 = ipv6_connection([&t1.inside_ipv6_cidr, &t2.inside_ipv6_cidr], "aws.tunnel")?;
    let what = |p: String| family_text(v6, &p, "aws.tunnelN.inside_ipv6_cidr");
    for (key, list) in [
        ("mock.vpc_cidrs", &m.vpc_cidrs),
        ("aws.static_routes", &aws.static_routes),
    ] {
        if let Some(i) = list.iter().position(|p| p.addr.is_ipv6() != v6) {
            return err(format!("{key}[{}]", i + 1), what(list[i].to_string()));
        }
    }
    Ok(MockConfig {
        cgw_address: m.cgw_address,
        vpc_cidrs: m.vpc_cidrs,
        log_path: m.log_path,
        metrics_listen: m.metrics_listen.unwrap_or(DEFAULT_MOCK_METRICS_LISTEN),
        control_socket: m
            .control_socket
            .unwrap_or_else(|| PathBuf::from(DEFAULT_MOCK_SOCKET)),
        tunnels: [t1, t2],
        aws,
    })
}
