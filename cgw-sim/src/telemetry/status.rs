//! The status snapshot: what a daemon (`run`, `mock-aws`) reports about
//! itself, as plain data. The daemon fills a [`Status`] from its engines
//! and publishes it on a `tokio::sync::watch` channel; `/metrics`
//! ([`super::metrics`]) and the control socket ([`super::control`]) read
//! it, and `cgw-sim status` prints it ([`Status::table`]).
//!
//! A snapshot holds no key material: SPIs and suite names only.
//!
//! JSON form (the control socket's): durations are seconds (floating
//! point), SPIs are lower-case hex strings (16 digits for IKE, 8 for ESP),
//! prefixes and addresses are strings.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scenario::Prefix;

/// The BGP session states of RFC 4271 (the `bgp` engine's own type; its
/// RFC name, `Established`, in JSON).
pub use bgp::session::State as BgpState;

/// Which side a daemon plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `cgw-sim run`: a customer gateway.
    CustomerGateway,
    /// `cgw-sim mock-aws`: the AWS side.
    AwsMock,
}

impl Role {
    /// The role as a metric label value (`customer_gateway`, `aws_mock`).
    pub fn label(self) -> &'static str {
        match self {
            Role::CustomerGateway => "customer_gateway",
            Role::AwsMock => "aws_mock",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::CustomerGateway => "customer gateway",
            Role::AwsMock => "AWS mock",
        })
    }
}

/// A snapshot of a daemon: its tunnels, their SAs, BGP sessions, routes
/// and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Customer gateway or AWS mock.
    pub role: Role,
    /// A name for humans and the `name` label (e.g. the config file's stem).
    pub name: String,
    /// Time since the daemon started.
    #[serde(rename = "uptime_seconds", with = "secs")]
    pub uptime: Duration,
    /// This host's outside address (the CGW's, or the mock's CGW-facing
    /// side as configured).
    pub outside_address: IpAddr,
    /// The tunnels, in order (tunnel 1 first).
    pub tunnels: Vec<TunnelStatus>,
    /// The BGP sessions (one per tunnel with BGP routing; none with static).
    pub bgp: Vec<BgpStatus>,
    /// The routes through the tunnels.
    pub routes: Vec<RouteStatus>,
    /// Free-form cumulative counters since start (the driver's `udp_in`,
    /// `udp_out`, `tun_in`...). Names should be `[a-z0-9_]`; see
    /// [`super::metrics`] for how they are exported.
    pub counters: BTreeMap<String, u64>,
    /// `run`'s keepalive prober (one icmp-echo per tunnel), when it runs:
    /// the same figures `cgw-sim sla` reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<crate::sla_daemon::SlaStatus>,
}

impl Status {
    /// An empty snapshot: no tunnel, session, route or counter yet (what a
    /// daemon publishes before its engines start).
    pub fn new(role: Role, name: impl Into<String>, outside_address: IpAddr) -> Status {
        Status {
            role,
            name: name.into(),
            uptime: Duration::ZERO,
            outside_address,
            tunnels: Vec::new(),
            bgp: Vec::new(),
            routes: Vec::new(),
            counters: BTreeMap::new(),
            keepalive: None,
        }
    }
}

/// A tunnel's state, as a person asks it: is traffic flowing?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelState {
    /// No IKE SA and none being negotiated (disabled, or waiting to retry).
    Down,
    /// IKE or the first child SA is being negotiated.
    Connecting,
    /// A child SA is installed: ESP flows.
    Up,
}

impl TunnelState {
    /// Every state, in order (for state-set metrics).
    pub const ALL: [TunnelState; 3] = [TunnelState::Down, TunnelState::Connecting, TunnelState::Up];

    /// The state as a word (`down`, `connecting`, `up`).
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelState::Down => "down",
            TunnelState::Connecting => "connecting",
            TunnelState::Up => "up",
        }
    }
}

impl fmt::Display for TunnelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One IPsec tunnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunnelStatus {
    /// The tunnel's number as AWS counts them: 1 or 2 (not 0-based).
    pub index: u32,
    /// The TUN device (`cgwsim1`).
    pub tun: String,
    /// The peer's outside address (AWS's tunnel endpoint, or the CGW's).
    pub peer: IpAddr,
    /// This side's inside address (169.254.x.y).
    pub inside_local: IpAddr,
    /// The peer's inside address.
    pub inside_remote: IpAddr,
    /// Down, connecting or up.
    pub state: TunnelState,
    /// Why the tunnel last went down or failed to come up, as text.
    pub last_failure: Option<String>,
    /// The current IKE SA, if any.
    pub ike_sa: Option<IkeSaStatus>,
    /// The installed child (ESP) SAs; two during a rekey.
    pub child_sas: Vec<ChildSaStatus>,
    /// The tunnel's inner MTU in bytes, once known.
    pub mtu: Option<u32>,
    /// Cumulative counters of this tunnel since the daemon started,
    /// across every SA it had (these feed the `_total` metrics; the SAs'
    /// own counters restart with each new SA).
    pub totals: TunnelTotals,
}

/// A tunnel's cumulative counters since the daemon started. Never
/// decrease: the daemon adds an SA's counts here as they grow and keeps
/// them when the SA is replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelTotals {
    /// Times the tunnel came up (down or connecting -> up).
    pub established: u64,
    /// IKE SA rekeys.
    pub ike_rekeys: u64,
    /// Child SA rekeys.
    pub child_rekeys: u64,
    /// ESP packets received (decrypted).
    pub esp_packets_in: u64,
    /// ESP packets sent.
    pub esp_packets_out: u64,
    /// ESP payload bytes received (inner packets).
    pub esp_bytes_in: u64,
    /// ESP payload bytes sent (inner packets).
    pub esp_bytes_out: u64,
}

/// An IKE SA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IkeSaStatus {
    /// The initiator's SPI (hex in JSON and the table).
    #[serde(with = "hex64")]
    pub spi_i: u64,
    /// The responder's SPI.
    #[serde(with = "hex64")]
    pub spi_r: u64,
    /// Whether this side initiated the SA.
    pub local_initiator: bool,
    /// The negotiated suite as text (`AES256-GCM-16/PRF-SHA256/ECP256`).
    pub suite: String,
    /// Time since the SA was established.
    #[serde(rename = "age_seconds", with = "secs")]
    pub age: Duration,
    /// Times this IKE SA (and those it replaced by rekeying) was rekeyed.
    pub rekeys: u64,
}

/// A child (ESP) SA pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildSaStatus {
    /// The SPI this side receives with.
    #[serde(with = "hex32")]
    pub spi_in: u32,
    /// The SPI this side sends with.
    #[serde(with = "hex32")]
    pub spi_out: u32,
    /// The negotiated suite as text (`AES256-GCM-16/ECP256`).
    pub suite: String,
    /// Packets received on this SA.
    pub packets_in: u64,
    /// Packets sent on this SA.
    pub packets_out: u64,
    /// Payload bytes received on this SA.
    pub bytes_in: u64,
    /// Payload bytes sent on this SA.
    pub bytes_out: u64,
}

/// One BGP session (over a tunnel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BgpStatus {
    /// The tunnel it runs over (1 or 2).
    pub tunnel: u32,
    /// The peer's address (its inside address).
    pub peer: IpAddr,
    /// The peer's AS number.
    pub peer_as: u32,
    /// The FSM state.
    #[serde(with = "bgp_state")]
    pub state: BgpState,
    /// Time since the session was established (`None` unless established).
    #[serde(rename = "uptime_seconds", with = "secs_opt")]
    pub uptime: Option<Duration>,
    /// Prefixes accepted from the peer.
    pub prefixes_received: u64,
    /// Prefixes advertised to the peer.
    pub prefixes_advertised: u64,
    /// The last error (NOTIFICATION sent or received, hold timer...), as
    /// text.
    pub last_error: Option<String>,
}

/// Where a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteSource {
    /// Learnt over BGP.
    Bgp,
    /// Configured (`static_routes`).
    Static,
}

impl RouteSource {
    /// Both sources, in order.
    pub const ALL: [RouteSource; 2] = [RouteSource::Bgp, RouteSource::Static];

    /// The source as a word (`bgp`, `static`).
    pub fn as_str(self) -> &'static str {
        match self {
            RouteSource::Bgp => "bgp",
            RouteSource::Static => "static",
        }
    }
}

impl fmt::Display for RouteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A route through a tunnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteStatus {
    /// The destination prefix.
    #[serde(with = "prefix")]
    pub prefix: Prefix,
    /// The tunnel it goes through (1 or 2).
    pub tunnel: u32,
    /// BGP or static.
    pub source: RouteSource,
}

/// Durations as seconds (floating point).
mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let f = f64::deserialize(d)?;
        Duration::try_from_secs_f64(f).map_err(serde::de::Error::custom)
    }
}

/// Optional durations as seconds or `null`.
mod secs_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|f| Duration::try_from_secs_f64(f).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Hex strings of a fixed width for SPIs: `$bits / 4` lower-case digits.
macro_rules! hex_spi {
    ($name:ident, $t:ty, $width:expr) => {
        mod $name {
            use serde::{Deserialize, Deserializer, Serializer};

            pub fn serialize<S: Serializer>(v: &$t, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&format!("{:0w$x}", v, w = $width))
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let text = String::deserialize(d)?;
                if text.is_empty()
                    || text.len() > $width
                    || !text.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(serde::de::Error::custom(format!(
                        "expected an SPI of 1 to {} hex digits, found \"{text}\"",
                        $width
                    )));
                }
                <$t>::from_str_radix(&text, 16).map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_spi!(hex64, u64, 16);
hex_spi!(hex32, u32, 8);

/// BGP states by their RFC names (`"OpenConfirm"`).
mod bgp_state {
    use super::BgpState;
    use serde::{Deserialize, Deserializer, Serializer};

    const ALL: [BgpState; 6] = [
        BgpState::Idle,
        BgpState::Connect,
        BgpState::Active,
        BgpState::OpenSent,
        BgpState::OpenConfirm,
        BgpState::Established,
    ];

    pub fn serialize<S: Serializer>(state: &BgpState, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(state.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BgpState, D::Error> {
        let text = String::deserialize(d)?;
        ALL.into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown BGP state \"{text}\"")))
    }
}

/// Prefixes as `"198.18.0.0/24"`.
mod prefix {
    use crate::scenario::Prefix;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Prefix, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(p)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Prefix, D::Error> {
        Prefix::deserialize(d)
    }
}
