//! The typed model. Types that a file spells directly derive `Deserialize`
//! with unknown keys refused; faults and expectations are read through the
//! loader's raw forms, which check that each holds exactly one action or
//! assertion.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::duration;
use crate::aws::{
    self, DpdTimeoutAction, Encryption, GatewayKind, IkeVersion, Integrity, Ipv4Cidr, Ipv6Cidr,
    StartupAction, TunnelOptions,
};

/// One scenario file, loaded and checked, with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short identifier (`"wrong-dh-group"`).
    pub name: String,
    /// One line saying what the scenario reproduces.
    pub summary: String,
    /// Seed of the simulation's random source (default 1).
    pub seed: u64,
    /// Where the scenario may run (`[scenario] modes`, default both).
    pub modes: Modes,
    /// Nodes, addresses and links.
    pub topology: Topology,
    /// The AWS side: the VPN connection and its two tunnels.
    pub aws: Aws,
    /// The customer gateway's configuration.
    pub cgw: Cgw,
    /// The runner's background traffic (`[traffic]`).
    pub traffic: Traffic,
    /// Faults injected on the timeline, in file order.
    pub faults: Vec<Fault>,
    /// What must happen, in file order.
    pub expectations: Vec<Expectation>,
}

/// Where a scenario may run: `[scenario] modes = ["sim"]` keeps it out of
/// the kernel lab (`lab run --netns`), e.g. for hours of protocol time or
/// a fault only the simulated network can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    /// The simulated lab (`lab run`).
    pub sim: bool,
    /// The kernel lab (`lab run --netns`).
    pub kernel: bool,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            sim: true,
            kernel: true,
        }
    }
}

impl Scenario {
    /// The AWS VPN connection this scenario describes, AWS's defaults
    /// applied: the tunnels' options, the customer gateway's address
    /// (`topology.cgw_address`) and ASN (`aws.cgw_asn`, else `cgw.bgp.asn`),
    /// routing and gateway.
    pub fn vpn_connection(&self) -> aws::VpnConnection {
        let mut vpn = aws::VpnConnection::new(self.topology.cgw_address);
        vpn.tunnels = [self.aws.tunnel1.resolve(), self.aws.tunnel2.resolve()];
        vpn.routing = match self.aws.routing {
            Routing::Bgp => aws::Routing::Bgp {
                aws_asn: self.aws.asn,
            },
            Routing::Static => aws::Routing::Static,
        };
        vpn.cgw_asn = self.aws.cgw_asn.unwrap_or(self.cgw.bgp.asn);
        vpn.gateway = self.aws.gateway;
        vpn
    }
}

/// An IP prefix (`"198.18.0.0/24"`); host bits must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl From<bgp::route::IpNet> for Prefix {
    /// A BGP prefix (IPv4 or IPv6) as a configuration prefix.
    fn from(n: bgp::route::IpNet) -> Prefix {
        Prefix {
            addr: n.network(),
            len: n.prefix_len(),
        }
    }
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid prefix \"{s}\": expected address/length"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("invalid prefix \"{s}\": bad address"))?;
        let len: u8 = len
            .parse()
            .map_err(|_| format!("invalid prefix \"{s}\": bad length"))?;
        let (max, bits) = match addr {
            IpAddr::V4(a) => (32, u128::from(u32::from(a)) << 96),
            IpAddr::V6(a) => (128, u128::from(a)),
        };
        if len > max {
            return Err(format!("invalid prefix \"{s}\": length above {max}"));
        }
        let host = if len == 0 {
            u128::MAX
        } else {
            (1u128 << (128 - len)) - 1
        };
        if len < 128 && bits & host != 0 {
            return Err(format!("invalid prefix \"{s}\": host bits set"));
        }
        Ok(Prefix { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Prefix;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a prefix such as \"198.18.0.0/24\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Prefix, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A tunnel number: 1 or 2 (an AWS VPN connection has two tunnels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TunnelId(u8);

impl TunnelId {
    /// Tunnel 1.
    pub const ONE: TunnelId = TunnelId(1);
    /// Tunnel 2.
    pub const TWO: TunnelId = TunnelId(2);

    /// The tunnel's number, 1 or 2.
    pub fn number(self) -> u8 {
        self.0
    }

    /// The tunnel's index, 0 or 1.
    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }
}

impl<'de> Deserialize<'de> for TunnelId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TunnelId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tunnel number, 1 or 2")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TunnelId, E> {
                match v {
                    1 | 2 => Ok(TunnelId(v as u8)),
                    _ => Err(E::custom(format!(
                        "expected a tunnel number, 1 or 2, found {v}"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TunnelId, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_any(V)
    }
}

/// Default addresses of the lab address plan (DESIGN.md).
pub mod defaults {
    use std::net::Ipv4Addr;

    /// The CGW's outside address.
    pub const CGW_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    /// AWS tunnel 1's outside address.
    pub const AWS_TUNNEL1_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
    /// AWS tunnel 2's outside address.
    pub const AWS_TUNNEL2_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
    /// The NAT's public address.
    pub const NAT_PUBLIC_ADDRESS: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
    /// The on-prem host.
    pub const ONPREM_HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
    /// The VPC host.
    pub const VPC_HOST: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
    /// The CGW's BGP ASN.
    pub const CGW_ASN: u32 = 65000;
    /// AWS's default Amazon-side ASN.
    pub const AWS_ASN: u32 = 64512;
}

fn default_cgw_address() -> Ipv4Addr {
    defaults::CGW_ADDRESS
}
fn default_aws1() -> Ipv4Addr {
    defaults::AWS_TUNNEL1_ADDRESS
}
fn default_aws2() -> Ipv4Addr {
    defaults::AWS_TUNNEL2_ADDRESS
}
fn default_onprem_cidr() -> Prefix {
    Prefix {
        addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0)),
        len: 24,
    }
}
fn default_vpc_cidr() -> Prefix {
    Prefix {
        addr: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)),
        len: 16,
    }
}
fn default_onprem_host() -> Ipv4Addr {
    defaults::ONPREM_HOST
}
fn default_vpc_host() -> Ipv4Addr {
    defaults::VPC_HOST
}
fn default_nat_public() -> Ipv4Addr {
    defaults::NAT_PUBLIC_ADDRESS
}
fn default_nat_timeout() -> Duration {
    Duration::from_secs(30)
}
fn yes() -> bool {
    true
}

/// The network: on-prem host - CGW - (NAT) - internet router - the two AWS
/// tunnel endpoints - VPC host.
///
/// Nodes: `onprem`, `cgw`, `nat` (only with `[topology.nat]`), `internet`,
/// `aws1`, `aws2`, `vpc`. Links: `onprem-lan`, `cgw-wan` (CGW to NAT, or to
/// the internet without NAT), `nat-wan` (NAT to internet), `aws1-wan`,
/// `aws2-wan`, `vpc-lan`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// The CGW's outside address (default 192.0.2.10).
    #[serde(default = "default_cgw_address")]
    pub cgw_address: Ipv4Addr,
    /// AWS tunnel 1's outside address (default 198.51.100.10).
    #[serde(default = "default_aws1")]
    pub aws_tunnel1_address: Ipv4Addr,
    /// AWS tunnel 2's outside address (default 198.51.100.20).
    #[serde(default = "default_aws2")]
    pub aws_tunnel2_address: Ipv4Addr,
    /// The on-prem LAN (default 198.18.0.0/24).
    #[serde(default = "default_onprem_cidr")]
    pub onprem_cidr: Prefix,
    /// The on-prem host's address (default 198.18.0.10).
    #[serde(default = "default_onprem_host")]
    pub onprem_host: Ipv4Addr,
    /// The VPC CIDR (default 198.19.0.0/16).
    #[serde(default = "default_vpc_cidr")]
    pub vpc_cidr: Prefix,
    /// The VPC host's address (default 198.19.0.10).
    #[serde(default = "default_vpc_host")]
    pub vpc_host: Ipv4Addr,
    /// A source NAT in front of the CGW, if present.
    #[serde(default)]
    pub nat: Option<Nat>,
    /// Per-link settings, by link name.
    #[serde(default)]
    pub links: BTreeMap<String, LinkSettings>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            cgw_address: defaults::CGW_ADDRESS,
            aws_tunnel1_address: defaults::AWS_TUNNEL1_ADDRESS,
            aws_tunnel2_address: defaults::AWS_TUNNEL2_ADDRESS,
            onprem_cidr: default_onprem_cidr(),
            onprem_host: defaults::ONPREM_HOST,
            vpc_cidr: default_vpc_cidr(),
            vpc_host: defaults::VPC_HOST,
            nat: None,
            links: BTreeMap::new(),
        }
    }
}

impl Topology {
    /// The links of this topology, by name.
    pub fn link_names(&self) -> Vec<&'static str> {
        let mut v = vec!["onprem-lan", "cgw-wan"];
        if self.nat.is_some() {
            v.push("nat-wan");
        }
        v.extend(["aws1-wan", "aws2-wan", "vpc-lan"]);
        v
    }

    /// The nodes of this topology, by name.
    pub fn node_names(&self) -> Vec<&'static str> {
        let mut v = vec!["onprem", "cgw"];
        if self.nat.is_some() {
            v.push("nat");
        }
        v.extend(["internet", "aws1", "aws2", "vpc"]);
        v
    }

    /// The hosts that ping and open TCP connections.
    pub const HOSTS: [&'static str; 2] = ["onprem", "vpc"];
}

/// A source NAT (with port translation) between the CGW and the internet.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nat {
    /// The NAT's public address (default 203.0.113.1).
    #[serde(default = "default_nat_public")]
    pub public_address: Ipv4Addr,
    /// How long an idle UDP mapping lives (default 30s).
    #[serde(default = "default_nat_timeout", deserialize_with = "duration::de")]
    pub mapping_timeout: Duration,
}

/// A link's properties; omitted ones are the lab's defaults (no delay, no
/// loss, MTU 1500).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSettings {
    /// One-way delay.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub latency: Option<Duration>,
    /// Random extra delay, up to this much.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub jitter: Option<Duration>,
    /// Packet loss, in percent (0 to 100).
    #[serde(default)]
    pub loss: Option<f64>,
    /// The link's MTU in bytes (68 to 65535).
    #[serde(default)]
    pub mtu: Option<u16>,
}

fn default_ping_interval() -> Option<Duration> {
    Some(Duration::from_secs(1))
}

/// The runner's background traffic: the on-prem host's pings to the VPC
/// host that `ping` expectations (and `measure`) read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Time between pings, whole seconds (default `"1s"`); `"off"` (`None`)
    /// sends none, for idle tunnels (`ping` expectations then fail with
    /// "no ping sent").
    #[serde(
        default = "default_ping_interval",
        deserialize_with = "duration::de_or_off"
    )]
    pub ping_interval: Option<Duration>,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            ping_interval: default_ping_interval(),
        }
    }
}

/// How routes are exchanged over the VPN connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// Dynamic routing: one BGP session per tunnel.
    #[default]
    Bgp,
    /// Static routes configured on the VPN connection.
    Static,
}

fn default_aws_asn() -> u32 {
    defaults::AWS_ASN
}

/// The AWS side: one VPN connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    /// Virtual private gateway or transit gateway (default `"vgw"`).
    #[serde(default)]
    pub gateway: GatewayKind,
    /// The Amazon-side ASN (default 64512).
    #[serde(default = "default_aws_asn")]
    pub asn: u32,
    /// `"bgp"` (default) or `"static"`.
    #[serde(default)]
    pub routing: Routing,
    /// The connection's static routes (only with `routing = "static"`).
    #[serde(default)]
    pub static_routes: Vec<Prefix>,
    /// The BGP ASN of the customer gateway resource in AWS (default:
    /// `cgw.bgp.asn`; set it to differ for an ASN mismatch).
    #[serde(default)]
    pub cgw_asn: Option<u32>,
    /// Whether the VPC route table learns the VPN's routes (default true).
    #[serde(default = "yes")]
    pub route_propagation: bool,
    /// Tunnel 1's options.
    #[serde(default)]
    pub tunnel1: AwsTunnelOptions,
    /// Tunnel 2's options.
    #[serde(default)]
    pub tunnel2: AwsTunnelOptions,
}

impl Default for Aws {
    fn default() -> Self {
        Aws {
            gateway: GatewayKind::Vgw,
            asn: defaults::AWS_ASN,
            routing: Routing::Bgp,
            static_routes: Vec::new(),
            cgw_asn: None,
            route_propagation: true,
            tunnel1: AwsTunnelOptions::default(),
            tunnel2: AwsTunnelOptions::default(),
        }
    }
}

impl Aws {
    /// The options of one tunnel.
    pub fn tunnel(&self, id: TunnelId) -> &AwsTunnelOptions {
        if id == TunnelId::ONE {
            &self.tunnel1
        } else {
            &self.tunnel2
        }
    }
}

/// AWS tunnel options as written in the file: only the keys given are
/// `Some`. The names and values are those of [`TunnelOptions`] (AWS's own:
/// `"AES128-GCM-16"`, `"SHA2-256"`, `"ikev2"`, `"clear"`); the loader
/// checks them against AWS's rules, and [`AwsTunnelOptions::resolve`] fills
/// the rest with AWS's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsTunnelOptions {
    /// IKE versions accepted.
    #[serde(default)]
    pub ike_versions: Option<Vec<IkeVersion>>,
    /// Phase 1 encryption algorithms.
    #[serde(default)]
    pub phase1_encryption: Option<Vec<Encryption>>,
    /// Phase 2 encryption algorithms.
    #[serde(default)]
    pub phase2_encryption: Option<Vec<Encryption>>,
    /// Phase 1 integrity algorithms.
    #[serde(default)]
    pub phase1_integrity: Option<Vec<Integrity>>,
    /// Phase 2 integrity algorithms.
    #[serde(default)]
    pub phase2_integrity: Option<Vec<Integrity>>,
    /// Phase 1 DH group numbers.
    #[serde(default, deserialize_with = "opt_groups")]
    pub phase1_dh_groups: Option<Vec<u16>>,
    /// Phase 2 (PFS) DH group numbers.
    #[serde(default, deserialize_with = "opt_groups")]
    pub phase2_dh_groups: Option<Vec<u16>>,
    /// Phase 1 lifetime in seconds.
    #[serde(default)]
    pub phase1_lifetime_seconds: Option<u32>,
    /// Phase 2 lifetime in seconds.
    #[serde(default)]
    pub phase2_lifetime_seconds: Option<u32>,
    /// Rekey margin time in seconds.
    #[serde(default)]
    pub rekey_margin_seconds: Option<u32>,
    /// Rekey fuzz, in percent.
    #[serde(default)]
    pub rekey_fuzz_percent: Option<u32>,
    /// Replay window size, in packets.
    #[serde(default)]
    pub replay_window_packets: Option<u32>,
    /// DPD timeout in seconds.
    #[serde(default)]
    pub dpd_timeout_seconds: Option<u32>,
    /// DPD timeout action: `"clear"`, `"none"` or `"restart"`.
    #[serde(default)]
    pub dpd_timeout_action: Option<DpdTimeoutAction>,
    /// Startup action: `"add"` (wait for the CGW) or `"start"`.
    #[serde(default)]
    pub startup_action: Option<StartupAction>,
    /// Tunnel inside CIDR, a /30 in 169.254.0.0/16.
    #[serde(default)]
    pub inside_cidr: Option<Ipv4Cidr>,
    /// Tunnel inside IPv6 CIDR (transit gateway only), a /126 in fd00::/8.
    #[serde(default)]
    pub inside_ipv6_cidr: Option<Ipv6Cidr>,
    /// Pre-shared key.
    #[serde(default)]
    pub psk: Option<String>,
}

impl AwsTunnelOptions {
    /// The options AWS runs with: the ones given here, AWS's defaults for
    /// the rest.
    pub fn resolve(&self) -> TunnelOptions {
        let d = TunnelOptions::default();
        TunnelOptions {
            ike_versions: self.ike_versions.clone().unwrap_or(d.ike_versions),
            phase1_encryption: self
                .phase1_encryption
                .clone()
                .unwrap_or(d.phase1_encryption),
            phase2_encryption: self
                .phase2_encryption
                .clone()
                .unwrap_or(d.phase2_encryption),
            phase1_integrity: self.phase1_integrity.clone().unwrap_or(d.phase1_integrity),
            phase2_integrity: self.phase2_integrity.clone().unwrap_or(d.phase2_integrity),
            phase1_dh_groups: self.phase1_dh_groups.clone().unwrap_or(d.phase1_dh_groups),
            phase2_dh_groups: self.phase2_dh_groups.clone().unwrap_or(d.phase2_dh_groups),
            phase1_lifetime_seconds: self
                .phase1_lifetime_seconds
                .unwrap_or(d.phase1_lifetime_seconds),
            phase2_lifetime_seconds: self
                .phase2_lifetime_seconds
                .unwrap_or(d.phase2_lifetime_seconds),
            rekey_margin_seconds: self.rekey_margin_seconds.unwrap_or(d.rekey_margin_seconds),
            rekey_fuzz_percent: self.rekey_fuzz_percent.unwrap_or(d.rekey_fuzz_percent),
            replay_window_packets: self
                .replay_window_packets
                .unwrap_or(d.replay_window_packets),
            dpd_timeout_seconds: self.dpd_timeout_seconds.unwrap_or(d.dpd_timeout_seconds),
            dpd_timeout_action: self.dpd_timeout_action.unwrap_or(d.dpd_timeout_action),
            startup_action: self.startup_action.unwrap_or(d.startup_action),
            inside_cidr: self.inside_cidr.or(d.inside_cidr),
            inside_ipv6_cidr: self.inside_ipv6_cidr.or(d.inside_ipv6_cidr),
            psk: self.psk.clone().or(d.psk),
        }
    }
}

/// The customer gateway.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cgw {
    /// Tunnel 1's configuration.
    #[serde(default)]
    pub tunnel1: CgwTunnel,
    /// Tunnel 2's configuration.
    #[serde(default)]
    pub tunnel2: CgwTunnel,
    /// The CGW's BGP speaker (used when `aws.routing = "bgp"`).
    #[serde(default)]
    pub bgp: CgwBgp,
    /// Static routes towards the VPC through the tunnels (used when
    /// `aws.routing = "static"`; default: the VPC CIDR).
    #[serde(default)]
    pub static_routes: Vec<Prefix>,
    /// Keepalive / SLA probes (`[[cgw.probe]]`).
    #[serde(default, rename = "probe")]
    pub probes: Vec<Probe>,
}

impl Cgw {
    /// The configuration of one tunnel.
    pub fn tunnel(&self, id: TunnelId) -> &CgwTunnel {
        if id == TunnelId::ONE {
            &self.tunnel1
        } else {
            &self.tunnel2
        }
    }
}

/// One CGW tunnel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgwTunnel {
    /// Whether the CGW configures this tunnel at all (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// IKE and IPsec settings.
    #[serde(default)]
    pub ike: CgwIke,
    /// What the CGW's BGP session on this tunnel sends (with `routing =
    /// "bgp"`).
    #[serde(default)]
    pub bgp: CgwTunnelBgp,
    /// Clear DF on packets larger than the tunnel's MTU and fragment them
    /// before encryption (AWS's advice; default false: such packets draw an
    /// ICMP "fragmentation needed").
    #[serde(default)]
    pub clear_df: bool,
    /// Clamp the MSS of TCP SYNs crossing the tunnel to this, both ways
    /// (AWS's configuration downloads: 1379); default none.
    #[serde(default)]
    pub mss_clamp: Option<u16>,
}

impl Default for CgwTunnel {
    fn default() -> Self {
        CgwTunnel {
            enabled: true,
            ike: CgwIke::default(),
            bgp: CgwTunnelBgp::default(),
            clear_df: false,
            mss_clamp: None,
        }
    }
}

/// The CGW's export policy on one tunnel's BGP session: how a device makes
/// AWS prefer the other tunnel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgwTunnelBgp {
    /// Extra copies of the CGW's AS prepended to the AS_PATH (0 to 10).
    #[serde(default)]
    pub prepend: u8,
    /// MULTI_EXIT_DISC sent with the CGW's routes (default: none).
    #[serde(default)]
    pub med: Option<u32>,
}

/// Who starts the IKE exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The CGW initiates (what AWS expects).
    #[default]
    Initiator,
    /// The CGW only answers; with AWS's default startup action nothing
    /// comes up.
    ResponderOnly,
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
fn default_encryption() -> Vec<String> {
    names(&["AES128"])
}
fn default_integrity() -> Vec<String> {
    names(&["SHA2-256"])
}
fn default_groups() -> Vec<u16> {
    vec![14]
}
fn default_ike_version() -> u8 {
    2
}
fn default_p1_lifetime() -> Duration {
    Duration::from_secs(28_800)
}
fn default_p2_lifetime() -> Duration {
    Duration::from_secs(3_600)
}
fn default_rekey_margin() -> Duration {
    Duration::from_secs(270)
}
fn default_rekey_fuzz() -> u32 {
    100
}
fn default_any() -> Vec<Prefix> {
    vec![Prefix {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        len: 0,
    }]
}

/// The CGW's IKE settings for one tunnel. Defaults make a CGW that AWS's
/// defaults accept: IKEv2, AES128 / SHA2-256 / group 14 in both phases,
/// lifetimes 8h and 1h, the PSK of the AWS tunnel, initiator, DPD off,
/// selectors 0.0.0.0/0 both ways (route-based).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgwIke {
    /// IKE version the CGW speaks: 1 or 2 (default 2).
    #[serde(default = "default_ike_version")]
    pub version: u8,
    /// Phase 1 encryption algorithms offered, AWS names.
    #[serde(default = "default_encryption", deserialize_with = "req_names")]
    pub encryption: Vec<String>,
    /// Phase 1 integrity algorithms offered.
    #[serde(default = "default_integrity", deserialize_with = "req_names")]
    pub integrity: Vec<String>,
    /// Phase 1 DH groups offered, the first one sent in KE.
    #[serde(default = "default_groups", deserialize_with = "req_groups")]
    pub dh_groups: Vec<u16>,
    /// Phase 2 encryption algorithms offered.
    #[serde(default = "default_encryption", deserialize_with = "req_names")]
    pub phase2_encryption: Vec<String>,
    /// Phase 2 integrity algorithms offered.
    #[serde(default = "default_integrity", deserialize_with = "req_names")]
    pub phase2_integrity: Vec<String>,
    /// Phase 2 PFS groups offered (empty: no PFS).
    #[serde(default = "default_groups", deserialize_with = "req_groups")]
    pub phase2_dh_groups: Vec<u16>,
    /// The pre-shared key (default: the AWS tunnel's).
    #[serde(default)]
    pub psk: Option<String>,
    /// Phase 1 lifetime (default 8h).
    #[serde(default = "default_p1_lifetime", deserialize_with = "duration::de")]
    pub phase1_lifetime: Duration,
    /// Phase 2 lifetime (default 1h).
    #[serde(default = "default_p2_lifetime", deserialize_with = "duration::de")]
    pub phase2_lifetime: Duration,
    /// How long before a lifetime ends the CGW starts its rekey (default
    /// 270s, AWS's default; strongSwan's `rekey_time` counts the other way).
    #[serde(default = "default_rekey_margin", deserialize_with = "duration::de")]
    pub rekey_margin: Duration,
    /// Random extra margin, 0-100 % of `rekey_margin` (default 100).
    #[serde(default = "default_rekey_fuzz")]
    pub rekey_fuzz: u32,
    /// Dead peer detection (default off).
    #[serde(default)]
    pub dpd: Option<Dpd>,
    /// Initiator (default) or responder-only.
    #[serde(default)]
    pub role: Role,
    /// Source address of IKE and ESP (default: `topology.cgw_address`).
    #[serde(default)]
    pub source_address: Option<IpAddr>,
    /// Local traffic selectors (default 0.0.0.0/0).
    #[serde(default = "default_any")]
    pub local_selectors: Vec<Prefix>,
    /// Remote traffic selectors (default 0.0.0.0/0).
    #[serde(default = "default_any")]
    pub remote_selectors: Vec<Prefix>,
    /// The device's VPN idle time (default: none): after this long without
    /// traffic through the tunnel in either direction, the CGW deletes the
    /// IKE SA, and brings the tunnel up again only when traffic for it
    /// arrives.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub idle_timeout: Option<Duration>,
}

impl Default for CgwIke {
    fn default() -> Self {
        CgwIke {
            version: 2,
            encryption: default_encryption(),
            integrity: default_integrity(),
            dh_groups: default_groups(),
            phase2_encryption: default_encryption(),
            phase2_integrity: default_integrity(),
            phase2_dh_groups: default_groups(),
            psk: None,
            phase1_lifetime: default_p1_lifetime(),
            phase2_lifetime: default_p2_lifetime(),
            rekey_margin: default_rekey_margin(),
            rekey_fuzz: default_rekey_fuzz(),
            dpd: None,
            role: Role::Initiator,
            source_address: None,
            local_selectors: default_any(),
            remote_selectors: default_any(),
            idle_timeout: None,
        }
    }
}

fn default_dpd_interval() -> Duration {
    Duration::from_secs(10)
}
fn default_dpd_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_dpd_action() -> DpdTimeoutAction {
    DpdTimeoutAction::Restart
}

/// The CGW's dead peer detection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dpd {
    /// Probe after this much silence (default 10s).
    #[serde(default = "default_dpd_interval", deserialize_with = "duration::de")]
    pub interval: Duration,
    /// Declare the peer dead after this long without an answer (default 30s).
    #[serde(default = "default_dpd_timeout", deserialize_with = "duration::de")]
    pub timeout: Duration,
    /// What to do then: `"clear"`, `"none"` or `"restart"` (default).
    #[serde(default = "default_dpd_action")]
    pub action: DpdTimeoutAction,
}

fn default_cgw_asn() -> u32 {
    defaults::CGW_ASN
}
fn default_hold() -> Duration {
    Duration::from_secs(30)
}

/// The CGW's BGP speaker.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgwBgp {
    /// The CGW's ASN (default 65000).
    #[serde(default = "default_cgw_asn")]
    pub asn: u32,
    /// The AS the CGW expects AWS to have (default: `aws.asn`).
    #[serde(default)]
    pub peer_asn: Option<u32>,
    /// Prefixes announced to AWS (default: the on-prem LAN).
    #[serde(default)]
    pub announce: Vec<Prefix>,
    /// Hold time proposed in OPEN (default 30s; 0 or at least 3s).
    #[serde(default = "default_hold", deserialize_with = "duration::de")]
    pub hold_time: Duration,
}

impl Default for CgwBgp {
    fn default() -> Self {
        CgwBgp {
            asn: defaults::CGW_ASN,
            peer_asn: None,
            announce: Vec::new(),
            hold_time: default_hold(),
        }
    }
}

/// What a probe sends: IP SLA's operations (`icmp`, `tcp` and `udp` are
/// short for the first three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ProbeKind {
    /// ICMP echo (`icmp-echo`).
    #[serde(rename = "icmp-echo", alias = "icmp")]
    Icmp,
    /// A TCP connect (`tcp-connect`).
    #[serde(rename = "tcp-connect", alias = "tcp")]
    Tcp,
    /// A UDP datagram echoed by the target's responder (`udp-echo`).
    #[serde(rename = "udp-echo", alias = "udp")]
    Udp,
    /// A burst of UDP datagrams timestamped by the target's responder
    /// (`udp-jitter`).
    #[serde(rename = "udp-jitter")]
    UdpJitter,
}

/// A probe's track (`track = { type = "state", delay_down = "10s" }`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeTrack {
    /// `"reachability"` (default) or `"state"`.
    #[serde(default, rename = "type")]
    pub kind: sla::track::TrackKind,
    /// Delay before going up.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub delay_up: Option<Duration>,
    /// Delay before going down.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub delay_down: Option<Duration>,
}

/// A probe's reaction (`[[cgw.probe.reaction]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeReaction {
    /// Its name (default `reactionN`).
    #[serde(default)]
    pub name: Option<String>,
    /// `"rtt"` (ms), `"jitter"` (ms), `"loss"` (percent), `"mos"` or
    /// `"timeout"` (1 when a cycle got no answer).
    pub on: sla::reaction::Measure,
    /// `"immediate"` (default), `"consecutive"` (with `n`), `"x-of-y"`
    /// (with `x` and `y`) or `"average"` (with `n`).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// N of consecutive / average.
    #[serde(default)]
    pub n: Option<u32>,
    /// X of x-of-y.
    #[serde(default)]
    pub x: Option<u32>,
    /// Y of x-of-y.
    #[serde(default)]
    pub y: Option<u32>,
    /// The raise threshold.
    pub raise: f64,
    /// The clear threshold (default: the raise threshold).
    #[serde(default)]
    pub clear: Option<f64>,
}

fn default_probe_interval() -> Duration {
    Duration::from_secs(5)
}
fn default_onprem() -> String {
    "onprem".to_owned()
}
fn default_vpc() -> String {
    "vpc".to_owned()
}

/// A keepalive / SLA probe: an IP SLA operation run by the `from` host
/// towards the `to` host through the tunnels (the `sla` crate's prober).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// The operation.
    pub kind: ProbeKind,
    /// Its name (default `probeN`).
    #[serde(default)]
    pub name: Option<String>,
    /// Sending host (default `"onprem"`).
    #[serde(default = "default_onprem")]
    pub from: String,
    /// Target host (default `"vpc"`).
    #[serde(default = "default_vpc")]
    pub to: String,
    /// Target port (TCP and UDP only; a lab host's responder answers UDP
    /// probes on any port).
    #[serde(default)]
    pub port: Option<u16>,
    /// Time between cycles (IP SLA's frequency; default 5s).
    #[serde(default = "default_probe_interval", deserialize_with = "duration::de")]
    pub interval: Duration,
    /// How long a probe waits for its answer (default 2s).
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub timeout: Option<Duration>,
    /// Mean RTT above which a cycle is OverThreshold (default: the timeout).
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub threshold: Option<Duration>,
    /// Packets per cycle (udp-jitter; default 10).
    #[serde(default)]
    pub packets: Option<u32>,
    /// Time between a burst's packets (udp-jitter; default 20ms).
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub packet_interval: Option<Duration>,
    /// Payload bytes per probe.
    #[serde(default)]
    pub size: Option<usize>,
    /// The voice codec MOS and ICPIF are estimated for (udp-jitter):
    /// `"g711ulaw"`, `"g711alaw"` or `"g729a"`.
    #[serde(default)]
    pub codec: Option<sla::stats::Codec>,
    /// Cycles in the statistics' sliding window (default 6).
    #[serde(default)]
    pub window: Option<usize>,
    /// The probe's track.
    #[serde(default)]
    pub track: ProbeTrack,
    /// Its reactions.
    #[serde(default, rename = "reaction")]
    pub reactions: Vec<ProbeReaction>,
}

/// A fault on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// When it happens, from the start of the run.
    pub at: Duration,
    /// What happens.
    pub action: FaultAction,
}

/// What traffic a firewall rule matches. At least one of `protocol` and
/// `address`; `port` only with `protocol = "udp"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// `"udp"` or `"esp"`.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// UDP port (500 or 4500 for IKE), either direction.
    #[serde(default)]
    pub port: Option<u16>,
    /// Source or destination address.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// Where the rule sits (default `"cgw-wan"`).
    #[serde(default)]
    pub link: Option<String>,
}

/// A protocol a firewall rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// UDP (IKE on 500 and 4500, NAT-T ESP on 4500).
    Udp,
    /// ESP (IP protocol 50).
    Esp,
}

/// A change to a link's properties; at least one is given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impairment {
    /// The link's name.
    pub link: String,
    /// New one-way delay.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub latency: Option<Duration>,
    /// New jitter.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub jitter: Option<Duration>,
    /// New loss, percent.
    #[serde(default)]
    pub loss: Option<f64>,
    /// New MTU.
    #[serde(default)]
    pub mtu: Option<u16>,
}

/// Which side of the VPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The customer gateway.
    Cgw,
    /// The AWS tunnel endpoint.
    Aws,
}

/// Selects the IKE message a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IkeMessageFault {
    /// The n-th IKE message (1-based) sent on the tunnel after the fault's
    /// time, counting both directions unless `from` is given.
    pub n: u32,
    /// The tunnel (default 1).
    #[serde(default)]
    pub tunnel: Option<TunnelId>,
    /// Count only messages sent by this side.
    #[serde(default)]
    pub from: Option<Side>,
}

/// Announces extra prefixes from the CGW.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnouncePrefixes {
    /// How many prefixes in total the CGW announces (generated /24s).
    pub count: u32,
    /// Only on this tunnel's session (default: both).
    #[serde(default)]
    pub tunnel: Option<TunnelId>,
}

/// Changes lifetimes on one side, taking effect at the next rekey.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLifetime {
    /// Which side.
    pub side: Side,
    /// Only this tunnel (default: both).
    #[serde(default)]
    pub tunnel: Option<TunnelId>,
    /// New phase 1 lifetime.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub phase1: Option<Duration>,
    /// New phase 2 lifetime.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub phase2: Option<Duration>,
}

/// One fault action; a `[[fault]]` holds exactly one.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// `set_cgw_source_address = "192.0.2.99"`: the CGW sends from another
    /// address (AWS drops it silently).
    SetCgwSourceAddress(IpAddr),
    /// `block = { protocol = "udp", port = 500 }`: add a firewall rule.
    Block(Filter),
    /// `unblock = { ... }`: remove the rule with the same match.
    Unblock(Filter),
    /// `link_down = "aws1-wan"`.
    LinkDown(String),
    /// `link_up = "aws1-wan"`.
    LinkUp(String),
    /// `impair = { link = "cgw-wan", latency = "80ms", loss = 5.0, mtu = 1400 }`.
    Impair(Impairment),
    /// `replace_endpoint = 1`: AWS replaces the tunnel's endpoint.
    ReplaceEndpoint(TunnelId),
    /// `restart = "cgw"`: restart a node (loses all state).
    Restart(String),
    /// `announce_prefixes = { count = 101 }`.
    AnnouncePrefixes(AnnouncePrefixes),
    /// `drop_ike_message = { n = 1 }`.
    DropIkeMessage(IkeMessageFault),
    /// `mangle_ike_message = { n = 2 }`: flip a byte inside the message.
    MangleIkeMessage(IkeMessageFault),
    /// `set_lifetime = { side = "cgw", phase2 = "15m" }`.
    SetLifetime(SetLifetime),
}

/// An expectation on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// When it is checked.
    pub timing: Timing,
    /// What is checked.
    pub assertion: Assertion,
}

/// When an expectation is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// `within = "60s"`: holds at some instant before this time.
    Within(Duration),
    /// `at = "60s"`: holds at this instant.
    At(Duration),
    /// `after = "60s"`: holds from this time to the end of the run.
    After(Duration),
}

/// A tunnel phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// IKE SA.
    One,
    /// Child SA (IPsec).
    Two,
}

/// State of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaState {
    /// Negotiated and installed.
    Established,
    /// Negotiation failed (see the cause).
    Failed,
    /// Not established (never came up, or went down).
    Down,
}

/// Why a phase failed or went down: a fixed vocabulary the runner and the
/// diagnosis share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// NO_PROPOSAL_CHOSEN received or sent.
    NoProposalChosen,
    /// INVALID_KE_PAYLOAD (the responder wants another DH group).
    InvalidKePayload,
    /// AUTHENTICATION_FAILED (usually the PSK).
    AuthenticationFailed,
    /// TS_UNACCEPTABLE (traffic selectors refused).
    TsUnacceptable,
    /// The peer never answered (blocked, wrong address, dropped silently).
    NoResponse,
    /// Dead peer detection gave up.
    DpdTimeout,
    /// The peer deleted the SA.
    PeerDeleted,
    /// The SA reached its hard lifetime without a rekey.
    LifetimeExpired,
    /// INVALID_SYNTAX (a malformed or mangled message).
    InvalidSyntax,
    /// The peer speaks another IKE version.
    IkeVersionMismatch,
    /// The CGW deleted the SA after its idle timeout without traffic.
    IdleTimeout,
}

/// BGP session state (RFC 4271).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BgpState {
    /// Idle.
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
}

/// A route table check: exactly one of `contains` and `lacks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteCheck {
    /// The table holds the prefix (through the tunnel, if given).
    Contains {
        /// The prefix.
        prefix: Prefix,
        /// The tunnel it must point at.
        via_tunnel: Option<TunnelId>,
    },
    /// The table does not hold the prefix.
    Lacks(Prefix),
}

/// Expected result of a ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingResult {
    /// Echo reply received.
    Reply,
    /// No reply.
    Timeout,
    /// An ICMP "fragmentation needed" came back instead of a reply (a
    /// packet with DF set over a tunnel's MTU).
    FragNeeded,
}

/// Expected result of a TCP connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpResult {
    /// Handshake completed.
    Connected,
    /// RST received.
    Refused,
    /// No answer.
    Timeout,
}

/// A notification AWS emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Notification {
    /// Only one tunnel is up ("your VPN connection is not redundant").
    NonRedundant,
    /// A tunnel went down.
    TunnelDown,
    /// A tunnel endpoint was replaced (maintenance).
    EndpointReplaced,
}

/// A measured value with a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// From tunnel 1's path failing to traffic flowing through tunnel 2.
    FailoverTime,
    /// From the start to both tunnels' phase 2 established.
    TunnelUpTime,
    /// From the start to both BGP sessions established.
    BgpEstablishedTime,
}

/// One assertion; an `[[expect]]` holds exactly one.
#[derive(Debug, Clone, PartialEq)]
pub enum Assertion {
    /// `tunnel = 1, phase1 = "failed", cause = "no-proposal-chosen"`.
    Phase {
        /// The tunnel.
        tunnel: TunnelId,
        /// Phase 1 or 2.
        phase: Phase,
        /// The state.
        state: SaState,
        /// The cause of failure or going down, if asserted.
        cause: Option<Cause>,
    },
    /// `tunnel = 1, bgp = "established"`.
    Bgp {
        /// The tunnel whose session it is.
        tunnel: TunnelId,
        /// The state.
        state: BgpState,
    },
    /// `vpc_route_table = { contains = "198.18.0.0/24" }`.
    VpcRouteTable(RouteCheck),
    /// `cgw_routes = { contains = "198.19.0.0/16", via_tunnel = 1 }`.
    CgwRoutes(RouteCheck),
    /// `ping = { from = "onprem", to = "vpc" }, result = "reply"`.
    Ping {
        /// Sending host.
        from: String,
        /// Target host.
        to: String,
        /// ICMP payload size in bytes (default 56).
        size: Option<u16>,
        /// Set don't-fragment (default false).
        df: bool,
        /// Source address of the pings (default: the host's own): another
        /// address of the on-prem LAN the host also holds, e.g. in a
        /// second subnet a policy-based CGW has its own selectors for.
        source: Option<Ipv4Addr>,
        /// The expected result.
        result: PingResult,
    },
    /// `tcp = { from = "onprem", to = "vpc", port = 443 }, result = "connected"`.
    Tcp {
        /// Connecting host.
        from: String,
        /// Target host.
        to: String,
        /// Target port.
        port: u16,
        /// Bytes to send once connected (`connected` then means every byte
        /// was acknowledged); `None`: the handshake only.
        bytes: Option<u32>,
        /// The expected result.
        result: TcpResult,
    },
    /// `aws_log = { tunnel = "1", event = "ike-phase1-failed" }`: an AWS log
    /// record whose fields all equal these.
    AwsLog(BTreeMap<String, String>),
    /// `notification = "non-redundant"`.
    Notification(Notification),
    /// `measure = "failover_time", below = "30s"`.
    Measure {
        /// What is measured.
        measure: Measure,
        /// Strict upper bound.
        below: Duration,
    },
    /// `probe = { probe = 1, loss_above = 10 }`: a probe's figures over its
    /// sliding window, its track or a reaction.
    Probe(ProbeCheck),
    /// `diagnosis = { tunnel = 1, cause = "no-proposal-chosen", contains = "DH group 5" }`:
    /// a diagnosis naming this cause (one of `diagnosis::CAUSE_CODES`)
    /// and/or containing this text; at least one of the two.
    Diagnosis {
        /// Only this tunnel's diagnosis (default: any).
        tunnel: Option<TunnelId>,
        /// A cause code the diagnosis must rank among its causes.
        cause: Option<String>,
        /// Text the diagnosis must contain.
        contains: Option<String>,
    },
}

/// What a `probe` expectation checks; every bound given must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeCheck {
    /// The probe (`cgw.probe[N]`, from 1).
    pub probe: usize,
    /// Window loss above this percentage.
    #[serde(default)]
    pub loss_above: Option<f64>,
    /// Window loss below this percentage.
    #[serde(default)]
    pub loss_below: Option<f64>,
    /// Window mean RTT above this.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub rtt_above: Option<Duration>,
    /// Window mean RTT below this.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub rtt_below: Option<Duration>,
    /// Window mean jitter above this.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub jitter_above: Option<Duration>,
    /// Window mean jitter below this.
    #[serde(default, deserialize_with = "duration::de_opt")]
    pub jitter_below: Option<Duration>,
    /// Last cycle's MOS above this.
    #[serde(default)]
    pub mos_above: Option<f64>,
    /// Last cycle's MOS below this.
    #[serde(default)]
    pub mos_below: Option<f64>,
    /// The track's state: `"up"` or `"down"`.
    #[serde(default)]
    pub track: Option<sla::track::TrackState>,
    /// This reaction (by name) is raised.
    #[serde(default)]
    pub raised: Option<String>,
}

struct ListVisitor<T>(&'static str, std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(x) = seq.next_element()? {
            out.push(x);
        }
        Ok(out)
    }
}

fn req_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_seq(ListVisitor("a list of strings", Default::default()))
}
fn req_groups<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    d.deserialize_seq(ListVisitor("a list of integers", Default::default()))
}
fn opt_groups<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u16>>, D::Error> {
    req_groups(d).map(Some)
}
