//! The host configuration: what `cgw-sim run` and `validate` (a customer
//! gateway, `[gateway]` + `[cgw]`) and `cgw-sim mock-aws` (the AWS side,
//! `[mock]` + `[aws]`) read on a real host.
//!
//! The `[cgw]` and `[aws]` sections are the scenario files' own types
//! ([`Cgw`], [`Aws`]), checked by the same rules; `[gateway]` and `[mock]`
//! add what a real host needs (addresses, TUN names, key files, metrics,
//! logs). Every mistake is a [`ConfigError`] naming the file, line, column
//! and key. Pre-shared keys are moved out of the sections into [`Psk`],
//! which never prints: `Debug` and `Display` of a loaded configuration show
//! `<redacted>`. The format is documented in `docs/config.md`.

#![deny(missing_docs)]

mod display;
mod load;
pub mod sla;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::aws::{Ipv4Cidr, Ipv6Cidr};
use crate::scenario::{Aws, Cgw, Prefix, Routing};

pub use sla::{SlaConfig, DEFAULT_SLA_METRICS_LISTEN, DEFAULT_SLA_SOCKET};

pub use load::{
    DEFAULT_GATEWAY_SOCKET, DEFAULT_METRICS_LISTEN, DEFAULT_MOCK_METRICS_LISTEN,
    DEFAULT_MOCK_SOCKET, DEFAULT_VALIDATE_TIMEOUT,
};

/// A configuration file that could not be loaded. Displays as
/// `file:line:column: key.path: message`.
pub type ConfigError = crate::toml_file::FileError;

/// A pre-shared key. Its `Debug` and `Display` print `<redacted>`; only
/// [`Psk::expose`] gives the key, for the IKE engine. Zeroized when
/// dropped.
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct Psk(String);

impl Psk {
    /// A key given by a program (the kernel lab takes a scenario's keys).
    pub fn new(key: String) -> Psk {
        Psk(key)
    }

    /// The key itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(<redacted>)")
    }
}

impl fmt::Display for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Log output format of `run` and `validate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// How often `run` probes each tunnel by default.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(10);

/// A customer gateway on this host (`cgw-sim run` / `validate`), loaded
/// and checked, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// This host's outside address: the source of IKE and ESP, and the
    /// customer gateway IP AWS knows.
    pub local_address: Ipv4Addr,
    /// The outside interface, if pinned (`gateway.interface`).
    pub interface: Option<String>,
    /// Where `/metrics` listens (default 127.0.0.1:9184).
    pub metrics_listen: SocketAddr,
    /// Log format (default text).
    pub log_format: LogFormat,
    /// The control socket `cgw-sim status` asks (default
    /// `/run/cgw-sim/cgw.sock`; a relative path is relative to the working
    /// directory).
    pub control_socket: PathBuf,
    /// BGP or static routing.
    pub routing: Routing,
    /// The AWS-side ASN the CGW expects (`cgw.bgp.peer_asn`, default 64512).
    pub aws_asn: u32,
    /// How long `validate` waits for everything to hold (default 60s).
    pub validate_timeout: Duration,
    /// The keepalive: an icmp-echo through each tunnel this often
    /// (`gateway.keepalive`, default [`DEFAULT_KEEPALIVE`]; `None`:
    /// `"off"`), so an idle tunnel never drops.
    pub keepalive: Option<Duration>,
    /// Tunnel 1 and tunnel 2's host settings.
    pub tunnels: [GatewayTunnel; 2],
    /// The `[cgw]` section, as in scenarios; its PSKs are moved to
    /// [`GatewayTunnel::psk`] (here always `None`).
    pub cgw: Cgw,
}

/// One tunnel of a [`GatewayConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayTunnel {
    /// The AWS tunnel's outside IP (real AWS or the mock).
    pub aws_address: Ipv4Addr,
    /// The tunnel's inside /30 in 169.254.0.0/16 (AWS takes the first host
    /// address, the CGW the second).
    pub inside_cidr: Ipv4Cidr,
    /// The tunnel's inside IPv6 /126 in fd00::/8 on a connection whose
    /// tunnels carry IPv6 (AWS's `TunnelInsideIpVersion = ipv6`, transit
    /// gateway only): set on both tunnels or neither. The tunnel then
    /// negotiates ::/0 selectors, its TUN gets the second address, and BGP
    /// runs over the IPv6 inside addresses.
    pub inside_ipv6_cidr: Option<Ipv6Cidr>,
    /// What the keepalive pings through this tunnel (default: AWS's inside
    /// address, which answers).
    pub keepalive_target: Option<IpAddr>,
    /// The pre-shared key (`cgw.tunnelN.ike.psk` or
    /// `gateway.tunnelN.psk_file`).
    pub psk: Psk,
    /// The TUN device's name (default `cgwsim1` / `cgwsim2`).
    pub tun: String,
    /// Addresses `validate` pings through this tunnel.
    pub ping_targets: Vec<IpAddr>,
    /// Addresses and ports `validate` connects to through this tunnel.
    pub tcp_targets: Vec<SocketAddr>,
}

/// The AWS mock on this host (`cgw-sim mock-aws`), loaded and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// The customer gateway address the mock accepts IKE from.
    pub cgw_address: Ipv4Addr,
    /// The VPC prefixes the mock announces over BGP (and routes).
    pub vpc_cidrs: Vec<Prefix>,
    /// Where the AWS-format tunnel logs go (`None`: standard output).
    pub log_path: Option<PathBuf>,
    /// Where the mock's `/metrics` listens (default 127.0.0.1:9185).
    pub metrics_listen: SocketAddr,
    /// The control socket `cgw-sim status --socket` asks (default
    /// `/run/cgw-sim/mock-aws.sock`).
    pub control_socket: PathBuf,
    /// Tunnel 1 and tunnel 2's endpoints.
    pub tunnels: [MockTunnel; 2],
    /// The `[aws]` section, as in scenarios; its PSKs are moved to
    /// [`MockTunnel::psk`] (here always `None`).
    pub aws: Aws,
}

/// One tunnel endpoint of a [`MockConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct MockTunnel {
    /// The outside address it listens on (UDP 500 and 4500).
    pub listen: Ipv4Addr,
    /// The tunnel's inside /30 (`aws.tunnelN.inside_cidr`).
    pub inside_cidr: Ipv4Cidr,
    /// The tunnel's inside IPv6 /126 (`aws.tunnelN.inside_ipv6_cidr`): the
    /// tunnel carries IPv6 (see [`GatewayTunnel::inside_ipv6_cidr`]).
    pub inside_ipv6_cidr: Option<Ipv6Cidr>,
    /// The pre-shared key (`aws.tunnelN.psk` or `mock.tunnelN.psk_file`).
    pub psk: Psk,
}
