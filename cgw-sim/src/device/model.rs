//! The device's parameters as read, before they become a cgw-sim
//! configuration: every value keeps the line it came from, so that a
//! finding about the generated configuration points back into the device's
//! own file.

use std::net::Ipv4Addr;

use crate::config::Psk;

/// A value and the 1-based line of the device file that set it. A value
/// the device takes by default carries the line of the block it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value, in cgw-sim's terms.
    pub value: T,
    /// Where the device file says so.
    pub line: usize,
}

impl<T> Sourced<T> {
    /// `value` from `line`.
    pub fn new(value: T, line: usize) -> Sourced<T> {
        Sourced { value, line }
    }
}

/// Dead peer detection as the device runs it, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDpd {
    /// Idle time before a probe.
    pub interval: u64,
    /// How long without an answer before the peer is declared dead.
    pub timeout: u64,
    /// `clear`, `none` or `restart` (cgw-sim's names).
    pub action: String,
}

/// One IPsec tunnel of the device, towards one AWS tunnel endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTunnel {
    /// The device's name for it (a swanctl connection, `Tunnel1`).
    pub name: String,
    /// The line that starts its definition.
    pub line: usize,
    /// AWS's outside address (`remote_addrs`, `tunnel destination`).
    pub aws_address: Sourced<Ipv4Addr>,
    /// The device's outside address for this tunnel (`local_addrs`,
    /// `tunnel source`), when known.
    pub local_address: Option<Sourced<Ipv4Addr>>,
    /// The inside /30 (network address and prefix length).
    pub inside_cidr: Option<Sourced<(Ipv4Addr, u8)>>,
    /// The pre-shared key (redacted in `Debug`).
    pub psk: Option<Sourced<Psk>>,
    /// Whether the device configures the tunnel at all (`shutdown`).
    pub enabled: Sourced<bool>,
    /// IKE version, 1 or 2.
    pub version: Sourced<u8>,
    /// Phase 1 encryption, AWS names.
    pub encryption: Sourced<Vec<String>>,
    /// Phase 1 integrity (and PRF), AWS names; empty for AES-GCM only
    /// without a PRF.
    pub integrity: Sourced<Vec<String>>,
    /// Phase 1 DH groups.
    pub dh_groups: Sourced<Vec<u16>>,
    /// Phase 2 encryption.
    pub phase2_encryption: Sourced<Vec<String>>,
    /// Phase 2 integrity; empty with AES-GCM only.
    pub phase2_integrity: Sourced<Vec<String>>,
    /// PFS groups; empty for no PFS.
    pub phase2_dh_groups: Sourced<Vec<u16>>,
    /// Phase 1 lifetime, seconds.
    pub phase1_lifetime: Sourced<u64>,
    /// Phase 2 lifetime, seconds.
    pub phase2_lifetime: Sourced<u64>,
    /// How long before a lifetime ends the device rekeys, seconds.
    pub rekey_margin: Option<Sourced<u64>>,
    /// Random extra margin, percent of the margin.
    pub rekey_fuzz: Option<Sourced<u32>>,
    /// Dead peer detection.
    pub dpd: Option<Sourced<DeviceDpd>>,
    /// `initiator` or `responder-only`.
    pub role: Sourced<String>,
    /// Local traffic selectors (CIDRs), when the device sets them.
    pub local_selectors: Option<Sourced<Vec<String>>>,
    /// Remote traffic selectors.
    pub remote_selectors: Option<Sourced<Vec<String>>>,
    /// TCP MSS clamp.
    pub mss_clamp: Option<Sourced<u16>>,
    /// Clear DF before encryption.
    pub clear_df: Option<Sourced<bool>>,
    /// The tunnel interface's MTU (no cgw-sim key: a comment).
    pub mtu: Option<Sourced<u16>>,
    /// The anti-replay window in packets (no `[cgw]` key: a comment).
    pub replay_window: Option<Sourced<u32>>,
}

/// The device's BGP speaker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceBgp {
    /// The device's ASN.
    pub asn: Option<Sourced<u32>>,
    /// AWS's ASN (the neighbours' `remote-as`).
    pub peer_asn: Option<Sourced<u32>>,
    /// Hold time, seconds.
    pub hold_time: Option<Sourced<u32>>,
    /// Prefixes announced (`network`), CIDR text.
    pub announce: Vec<Sourced<String>>,
}

/// Everything read from one device file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// strongSwan or Cisco.
    pub format: super::DeviceFormat,
    /// The device's outside address (`gateway.local_address`).
    pub local_address: Option<Sourced<Ipv4Addr>>,
    /// The two tunnels, in the order the device lists them.
    pub tunnels: Vec<DeviceTunnel>,
    /// BGP, if the device runs it for these tunnels.
    pub bgp: Option<DeviceBgp>,
    /// Static routes into the tunnels (static routing), CIDR text.
    pub static_routes: Vec<Sourced<String>>,
    /// Lines the reader does not turn into configuration, with why.
    pub unsupported: Vec<(usize, String)>,
    /// Where the device's behaviour is approximated or has no cgw-sim key
    /// (written as comments into the TOML).
    pub notes: Vec<(usize, String)>,
    /// Values cgw-sim needs that the file does not hold: (key path, line of
    /// the nearest block, why).
    pub missing: Vec<(String, usize, String)>,
}
