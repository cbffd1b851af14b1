//! AWS's tunnel options (AWS-VPN-FACTS.md section 1) and VPN connection
//! settings: AWS's defaults, validation that reports every violation the
//! way AWS's API would refuse it, and conversion into the IKE engine's
//! configuration for the AWS side of a tunnel.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{Dpd, DpdAction, EspProposal, IkeConfig, IkeProposal, Lifetimes, PreferOwn};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How long an AWS endpoint waits in silence before its first DPD probe.
pub const AWS_DPD_DELAY: Duration = Duration::from_secs(10);

/// Phase 1 DH groups AWS accepts, by IANA number.
pub const PHASE1_GROUP_IDS: [u16; 12] = [2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
/// Phase 2 (PFS) DH groups AWS accepts, by IANA number.
pub const PHASE2_GROUP_IDS: [u16; 13] = [2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];

/// [`PHASE1_GROUP_IDS`] as AWS's documentation writes them.
pub const PHASE1_GROUPS_TEXT: &str = "2, 14-24";
/// [`PHASE2_GROUP_IDS`] as AWS's documentation writes them.
pub const PHASE2_GROUPS_TEXT: &str = "2, 5, 14-24";
/// The encryption algorithms AWS accepts (both phases).
pub const ENCRYPTION_TEXT: &str = "AES128, AES256, AES128-GCM-16, AES256-GCM-16";
/// The integrity algorithms AWS accepts (both phases).
pub const INTEGRITY_TEXT: &str = "SHA1, SHA2-256, SHA2-384, SHA2-512";
const PSK_TEXT: &str = "8-64 characters of A-Z a-z 0-9 . _, not starting with 0";
const INSIDE_CIDR_TEXT: &str = "a /30 in 169.254.0.0/16 other than 169.254.0.0/30 to \
169.254.5.0/30 and 169.254.169.252/30";
const INSIDE_IPV6_TEXT: &str = "a /126 in fd00::/8";

/// An IKE version a tunnel accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IkeVersion {
    /// IKEv1, main mode only (the engine speaks IKEv2 only).
    Ikev1,
    /// IKEv2.
    Ikev2,
}

impl fmt::Display for IkeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IkeVersion::Ikev1 => "ikev1",
            IkeVersion::Ikev2 => "ikev2",
        })
    }
}

/// An encryption algorithm as AWS names it, ordered as AWS walks them
/// (weakest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encryption {
    /// AES-CBC, 128-bit key.
    Aes128,
    /// AES-CBC, 256-bit key.
    Aes256,
    /// AES-GCM with a 16-octet ICV, 128-bit key.
    Aes128Gcm16,
    /// AES-GCM with a 16-octet ICV, 256-bit key.
    Aes256Gcm16,
}

impl Encryption {
    /// All four, in AWS's order.
    pub const ALL: [Encryption; 4] = [
        Encryption::Aes128,
        Encryption::Aes256,
        Encryption::Aes128Gcm16,
        Encryption::Aes256Gcm16,
    ];

    /// The engine's algorithm.
    pub fn alg(self) -> EncrAlg {
        match self {
            Encryption::Aes128 => EncrAlg::AesCbc { key_bits: 128 },
            Encryption::Aes256 => EncrAlg::AesCbc { key_bits: 256 },
            Encryption::Aes128Gcm16 => EncrAlg::AesGcm16 { key_bits: 128 },
            Encryption::Aes256Gcm16 => EncrAlg::AesGcm16 { key_bits: 256 },
        }
    }

    /// Whether this is an AEAD (GCM) algorithm, used without integrity.
    pub fn is_aead(self) -> bool {
        matches!(self, Encryption::Aes128Gcm16 | Encryption::Aes256Gcm16)
    }
}

impl fmt::Display for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encryption::Aes128 => "AES128",
            Encryption::Aes256 => "AES256",
            Encryption::Aes128Gcm16 => "AES128-GCM-16",
            Encryption::Aes256Gcm16 => "AES256-GCM-16",
        })
    }
}

/// An integrity algorithm as AWS names it (also the PRF in phase 1),
/// ordered weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Integrity {
    /// HMAC-SHA1-96 (PRF HMAC-SHA1).
    Sha1,
    /// HMAC-SHA2-256-128.
    Sha2_256,
    /// HMAC-SHA2-384-192.
    Sha2_384,
    /// HMAC-SHA2-512-256.
    Sha2_512,
}

impl Integrity {
    /// All four, in AWS's order.
    pub const ALL: [Integrity; 4] = [
        Integrity::Sha1,
        Integrity::Sha2_256,
        Integrity::Sha2_384,
        Integrity::Sha2_512,
    ];

    /// The engine's integrity algorithm.
    pub fn integ(self) -> IntegAlg {
        match self {
            Integrity::Sha1 => IntegAlg::HmacSha1_96,
            Integrity::Sha2_256 => IntegAlg::HmacSha256_128,
            Integrity::Sha2_384 => IntegAlg::HmacSha384_192,
            Integrity::Sha2_512 => IntegAlg::HmacSha512_256,
        }
    }

    /// The matching PRF.
    pub fn prf(self) -> PrfAlg {
        match self {
            Integrity::Sha1 => PrfAlg::HmacSha1,
            Integrity::Sha2_256 => PrfAlg::HmacSha256,
            Integrity::Sha2_384 => PrfAlg::HmacSha384,
            Integrity::Sha2_512 => PrfAlg::HmacSha512,
        }
    }
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Integrity::Sha1 => "SHA1",
            Integrity::Sha2_256 => "SHA2-256",
            Integrity::Sha2_384 => "SHA2-384",
            Integrity::Sha2_512 => "SHA2-512",
        })
    }
}

/// AWS's "DPD timeout action".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DpdTimeoutAction {
    /// Drop the IKE SA and stop the tunnel (AWS's default).
    #[default]
    Clear,
    /// Do nothing.
    None,
    /// Restart the IKE SA.
    Restart,
}

impl DpdTimeoutAction {
    /// The engine's action.
    pub fn engine(self) -> DpdAction {
        match self {
            DpdTimeoutAction::Clear => DpdAction::Clear,
            DpdTimeoutAction::None => DpdAction::None,
            DpdTimeoutAction::Restart => DpdAction::Restart,
        }
    }
}

impl fmt::Display for DpdTimeoutAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DpdTimeoutAction::Clear => "clear",
            DpdTimeoutAction::None => "none",
            DpdTimeoutAction::Restart => "restart",
        })
    }
}

/// AWS's "startup action".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartupAction {
    /// AWS waits for the CGW to initiate (the default).
    #[default]
    Add,
    /// AWS initiates (IKEv2 only).
    Start,
}

impl fmt::Display for StartupAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartupAction::Add => "add",
            StartupAction::Start => "start",
        })
    }
}

/// A CIDR block could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CIDR block: {0:?}")]
pub struct CidrParseError(pub String);

/// An IPv4 CIDR block (the address as written, host bits kept, so that
/// validation can name a misaligned block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    /// The address as written.
    pub addr: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    /// A block; `prefix_len` is clamped to 32.
    pub const fn new(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Cidr {
        Ipv4Cidr {
            addr,
            prefix_len: if prefix_len > 32 { 32 } else { prefix_len },
        }
    }

    fn mask(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix_len))
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// Whether the address has no host bits set.
    pub fn is_aligned(&self) -> bool {
        self.network() == self.addr
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// The first host: AWS's inside address on a /30.
    pub fn aws_inside_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()).wrapping_add(1))
    }

    /// The second host: the CGW's inside address on a /30.
    pub fn cgw_inside_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()).wrapping_add(2))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrParseError(s.to_string());
        let (a, l) = s.split_once('/').ok_or_else(err)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| err())?;
        let prefix_len: u8 = l.parse().map_err(|_| err())?;
        if prefix_len > 32 {
            return Err(err());
        }
        Ok(Ipv4Cidr { addr, prefix_len })
    }
}

/// An IPv6 CIDR block (address as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Cidr {
    /// The address as written.
    pub addr: Ipv6Addr,
    /// Prefix length, 0..=128.
    pub prefix_len: u8,
}

impl Ipv6Cidr {
    /// A block; `prefix_len` is clamped to 128.
    pub const fn new(addr: Ipv6Addr, prefix_len: u8) -> Ipv6Cidr {
        Ipv6Cidr {
            addr,
            prefix_len: if prefix_len > 128 { 128 } else { prefix_len },
        }
    }

    fn mask(&self) -> u128 {
        if self.prefix_len == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix_len))
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.mask())
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask() == u128::from(self.network())
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(&self, other: &Ipv6Cidr) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Ipv6Cidr {
    type Err = CidrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrParseError(s.to_string());
        let (a, l) = s.split_once('/').ok_or_else(err)?;
        let addr: Ipv6Addr = a.parse().map_err(|_| err())?;
        let prefix_len: u8 = l.parse().map_err(|_| err())?;
        if prefix_len > 128 {
            return Err(err());
        }
        Ok(Ipv6Cidr { addr, prefix_len })
    }
}

/// A name AWS does not use for this kind of value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {value:?} is not a known name; AWS uses {accepted}")]
pub struct UnknownName {
    /// What was being parsed.
    pub kind: &'static str,
    /// The text given.
    pub value: String,
    /// The names AWS uses.
    pub accepted: &'static str,
}

/// `FromStr` from AWS's API names (case-insensitive) and serde as those
/// names.
macro_rules! named {
    ($t:ty, $kind:literal, $accepted:literal, [$($name:literal => $v:expr),+ $(,)?]) => {
        impl FromStr for $t {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $(if s.eq_ignore_ascii_case($name) { return Ok($v); })+
                Err(UnknownName { kind: $kind, value: s.to_string(), accepted: $accepted })
            }
        }
        string_serde!($t);
    };
}

/// serde through `Display` and `FromStr`.
macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named!(IkeVersion, "ike version", "ikev1, ikev2", [
    "ikev1" => IkeVersion::Ikev1,
    "ikev2" => IkeVersion::Ikev2,
]);
named!(Encryption, "encryption", "AES128, AES256, AES128-GCM-16, AES256-GCM-16", [
    "AES128" => Encryption::Aes128,
    "AES256" => Encryption::Aes256,
    "AES128-GCM-16" => Encryption::Aes128Gcm16,
    "AES256-GCM-16" => Encryption::Aes256Gcm16,
]);
named!(Integrity, "integrity", "SHA1, SHA2-256, SHA2-384, SHA2-512", [
    "SHA1" => Integrity::Sha1,
    "SHA2-256" => Integrity::Sha2_256,
    "SHA2-384" => Integrity::Sha2_384,
    "SHA2-512" => Integrity::Sha2_512,
]);
named!(DpdTimeoutAction, "dpd timeout action", "clear, none, restart", [
    "clear" => DpdTimeoutAction::Clear,
    "none" => DpdTimeoutAction::None,
    "restart" => DpdTimeoutAction::Restart,
]);
named!(StartupAction, "startup action", "add, start", [
    "add" => StartupAction::Add,
    "start" => StartupAction::Start,
]);
string_serde!(Ipv4Cidr);
string_serde!(Ipv6Cidr);

/// One violation of AWS's rules: the option, the value and what AWS
/// accepts. Options of a [`VpnConnection`]'s tunnels are prefixed with
/// `tunnel1.` / `tunnel2.`. A pre-shared key is never printed, only
/// described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// A value AWS refuses.
    #[error("{option}: {value} is not accepted; AWS accepts {accepted}")]
    NotAccepted {
        /// The option's name.
        option: String,
        /// The refused value (or a description, for secrets).
        value: String,
        /// What AWS accepts.
        accepted: String,
    },
    /// A list that must hold at least one value is empty.
    #[error("{option}: empty; AWS accepts {accepted}")]
    Empty {
        /// The option's name.
        option: String,
        /// What AWS accepts.
        accepted: String,
    },
}

impl OptionError {
    /// The option's name.
    pub fn option(&self) -> &str {
        match self {
            OptionError::NotAccepted { option, .. } | OptionError::Empty { option, .. } => option,
        }
    }

    fn prefixed(self, prefix: &str) -> OptionError {
        match self {
            OptionError::NotAccepted {
                option,
                value,
                accepted,
            } => OptionError::NotAccepted {
                option: format!("{prefix}{option}"),
                value,
                accepted,
            },
            OptionError::Empty { option, accepted } => OptionError::Empty {
                option: format!("{prefix}{option}"),
                accepted,
            },
        }
    }
}

fn not_accepted(option: &str, value: impl ToString, accepted: impl ToString) -> OptionError {
    OptionError::NotAccepted {
        option: option.to_string(),
        value: value.to_string(),
        accepted: accepted.to_string(),
    }
}

fn empty(option: &str, accepted: &str) -> OptionError {
    OptionError::Empty {
        option: option.to_string(),
        accepted: accepted.to_string(),
    }
}

/// The options of one tunnel of a VPN connection, with AWS's defaults.
/// Lists may be in any order and hold duplicates; the engine configuration
/// always walks them from the lowest value upward, as AWS does. Serde reads
/// the field names and AWS's value names (`"AES128-GCM-16"`, `"SHA2-256"`,
/// `"ikev2"`, `"clear"`, `"169.254.10.0/30"`); missing fields take AWS's
/// defaults, unknown fields are errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TunnelOptions {
    /// IKE versions accepted (default both).
    pub ike_versions: Vec<IkeVersion>,
    /// Phase 1 encryption algorithms (default all four).
    pub phase1_encryption: Vec<Encryption>,
    /// Phase 2 encryption algorithms (default all four).
    pub phase2_encryption: Vec<Encryption>,
    /// Phase 1 integrity algorithms, also the PRFs (default all four).
    pub phase1_integrity: Vec<Integrity>,
    /// Phase 2 integrity algorithms (default all four).
    pub phase2_integrity: Vec<Integrity>,
    /// Phase 1 DH groups by IANA number (default 2, 14-24).
    pub phase1_dh_groups: Vec<u16>,
    /// Phase 2 (PFS) DH groups by IANA number (default 2, 5, 14-24).
    pub phase2_dh_groups: Vec<u16>,
    /// Phase 1 lifetime, 900-28800 s (default 28800).
    pub phase1_lifetime_seconds: u32,
    /// Phase 2 lifetime, 900-3600 s and below phase 1 (default 3600).
    pub phase2_lifetime_seconds: u32,
    /// Rekey margin, 60 s to half the phase 2 lifetime (default 270).
    pub rekey_margin_seconds: u32,
    /// Rekey fuzz, 0-100 % (default 100).
    pub rekey_fuzz_percent: u32,
    /// Replay window, 64-2048 packets (default 1024).
    pub replay_window_packets: u32,
    /// DPD timeout, at least 30 s (default 30).
    pub dpd_timeout_seconds: u32,
    /// What to do when DPD times out (default clear).
    pub dpd_timeout_action: DpdTimeoutAction,
    /// Who initiates (default add: AWS waits for the CGW).
    pub startup_action: StartupAction,
    /// Inside IPv4 CIDR, a /30 in 169.254.0.0/16; `None`: AWS picks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_cidr: Option<Ipv4Cidr>,
    /// Inside IPv6 CIDR, a /126 in fd00::/8 (transit gateway only);
    /// `None`: AWS picks (or none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_ipv6_cidr: Option<Ipv6Cidr>,
    /// The pre-shared key; `None`: AWS generates one
    /// ([`generate_psk`]). Never serialised.
    #[serde(skip_serializing)]
    pub psk: Option<String>,
}

impl Default for TunnelOptions {
    /// AWS's defaults: everything allowed, 28800/3600 s, margin 270 s,
    /// fuzz 100 %, window 1024, DPD 30 s clear, startup add; AWS picks the
    /// inside CIDR and the key.
    fn default() -> Self {
        TunnelOptions {
            ike_versions: vec![IkeVersion::Ikev1, IkeVersion::Ikev2],
            phase1_encryption: Encryption::ALL.to_vec(),
            phase2_encryption: Encryption::ALL.to_vec(),
            phase1_integrity: Integrity::ALL.to_vec(),
            phase2_integrity: Integrity::ALL.to_vec(),
            phase1_dh_groups: PHASE1_GROUP_IDS.to_vec(),
            phase2_dh_groups: PHASE2_GROUP_IDS.to_vec(),
            phase1_lifetime_seconds: 28800,
            phase2_lifetime_seconds: 3600,
            rekey_margin_seconds: 270,
            rekey_fuzz_percent: 100,
            replay_window_packets: 1024,
            dpd_timeout_seconds: 30,
            dpd_timeout_action: DpdTimeoutAction::Clear,
            startup_action: StartupAction::Add,
            inside_cidr: None,
            inside_ipv6_cidr: None,
            psk: None,
        }
    }
}

fn sorted_dedup<T: Ord + Copy>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

/// The inside /30 blocks AWS reserves.
const RESERVED_INSIDE: [Ipv4Addr; 7] = [
    Ipv4Addr::new(169, 254, 0, 0),
    Ipv4Addr::new(169, 254, 1, 0),
    Ipv4Addr::new(169, 254, 2, 0),
    Ipv4Addr::new(169, 254, 3, 0),
    Ipv4Addr::new(169, 254, 4, 0),
    Ipv4Addr::new(169, 254, 5, 0),
    Ipv4Addr::new(169, 254, 169, 252),
];

/// Checks an inside IPv4 CIDR on its own.
pub fn inside_cidr_ok(c: &Ipv4Cidr) -> bool {
    let link_local = Ipv4Cidr::new(Ipv4Addr::new(169, 254, 0, 0), 16);
    c.prefix_len == 30
        && c.is_aligned()
        && link_local.contains(c.addr)
        && !RESERVED_INSIDE.contains(&c.addr)
}

/// Checks an inside IPv6 CIDR on its own.
pub fn inside_ipv6_cidr_ok(c: &Ipv6Cidr) -> bool {
    let ula = Ipv6Cidr::new(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0), 8);
    c.prefix_len == 126 && c.network() == c.addr && ula.contains(c.addr)
}

/// The PSK's violations, each described without revealing the key.
pub fn psk_violations(psk: &str) -> Vec<OptionError> {
    let mut out = Vec::new();
    let n = psk.chars().count();
    if !(8..=64).contains(&n) {
        out.push(not_accepted(
            "psk",
            format!("a key of {n} characters"),
            PSK_TEXT,
        ));
    }
    if psk.starts_with('0') {
        out.push(not_accepted("psk", "a key starting with 0", PSK_TEXT));
    }
    if !psk
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        out.push(not_accepted(
            "psk",
            "a key with characters other than A-Z a-z 0-9 . _",
            PSK_TEXT,
        ));
    }
    out
}

/// A 32-character key as AWS generates them, reproducible from `seed`:
/// [A-Za-z0-9._], never starting with 0.
pub fn generate_psk(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    let mut state = seed;
    let mut next = || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut s = String::with_capacity(32);
    while s.len() < 32 {
        let c = ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char;
        if s.is_empty() && c == '0' {
            continue;
        }
        s.push(c);
    }
    s
}

impl TunnelOptions {
    /// Every violation of AWS's rules, in option order; `Ok` when none.
    pub fn validate(&self) -> Result<(), Vec<OptionError>> {
        let mut errs = Vec::new();
        if self.ike_versions.is_empty() {
            errs.push(empty("ike_versions", "ikev1, ikev2"));
        }
        for (name, list) in [
            ("phase1_encryption", &self.phase1_encryption),
            ("phase2_encryption", &self.phase2_encryption),
        ] {
            if list.is_empty() {
                errs.push(empty(name, ENCRYPTION_TEXT));
            }
        }
        if self.phase1_integrity.is_empty() {
            errs.push(empty("phase1_integrity", INTEGRITY_TEXT));
        }
        if self.phase2_integrity.is_empty() && self.phase2_encryption.iter().any(|e| !e.is_aead()) {
            errs.push(empty("phase2_integrity", INTEGRITY_TEXT));
        }
        for (name, list, allowed, text) in [
            (
                "phase1_dh_groups",
                &self.phase1_dh_groups,
                &PHASE1_GROUP_IDS[..],
                PHASE1_GROUPS_TEXT,
            ),
            (
                "phase2_dh_groups",
                &self.phase2_dh_groups,
                &PHASE2_GROUP_IDS[..],
                PHASE2_GROUPS_TEXT,
            ),
        ] {
            if list.is_empty() {
                errs.push(empty(name, text));
            }
            for g in sorted_dedup(list) {
                if !allowed.contains(&g) {
                    errs.push(not_accepted(name, g, text));
                }
            }
        }
        let p1 = self.phase1_lifetime_seconds;
        let p2 = self.phase2_lifetime_seconds;
        if !(900..=28800).contains(&p1) {
            errs.push(not_accepted("phase1_lifetime_seconds", p1, "900-28800"));
        }
        if !(900..=3600).contains(&p2) {
            errs.push(not_accepted("phase2_lifetime_seconds", p2, "900-3600"));
        } else if p2 >= p1 {
            errs.push(not_accepted(
                "phase2_lifetime_seconds",
                p2,
                format!("900-3600, lower than phase1_lifetime_seconds ({p1})"),
            ));
        }
        let margin = self.rekey_margin_seconds;
        if margin < 60 || margin > p2 / 2 {
            errs.push(not_accepted(
                "rekey_margin_seconds",
                margin,
                format!(
                    "60-{} (half of phase2_lifetime_seconds {p2})",
                    (p2 / 2).max(60)
                ),
            ));
        }
        if self.rekey_fuzz_percent > 100 {
            errs.push(not_accepted(
                "rekey_fuzz_percent",
                self.rekey_fuzz_percent,
                "0-100",
            ));
        }
        if !(64..=2048).contains(&self.replay_window_packets) {
            errs.push(not_accepted(
                "replay_window_packets",
                self.replay_window_packets,
                "64-2048",
            ));
        }
        if self.dpd_timeout_seconds < 30 {
            errs.push(not_accepted(
                "dpd_timeout_seconds",
                self.dpd_timeout_seconds,
                "30 or more",
            ));
        }
        if self.startup_action == StartupAction::Start
            && !self.ike_versions.contains(&IkeVersion::Ikev2)
        {
            errs.push(not_accepted(
                "startup_action",
                "start",
                "add, or start with ikev2 in ike_versions",
            ));
        }
        if let Some(c) = &self.inside_cidr {
            if !inside_cidr_ok(c) {
                errs.push(not_accepted("inside_cidr", c, INSIDE_CIDR_TEXT));
            }
        }
        if let Some(c) = &self.inside_ipv6_cidr {
            if !inside_ipv6_cidr_ok(c) {
                errs.push(not_accepted("inside_ipv6_cidr", c, INSIDE_IPV6_TEXT));
            }
        }
        if let Some(psk) = &self.psk {
            errs.extend(psk_violations(psk));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    fn groups(ids: &[u16], allowed: &[u16]) -> Vec<DhGroup> {
        sorted_dedup(ids)
            .into_iter()
            .filter(|g| allowed.contains(g))
            .filter_map(DhGroup::from_id)
            .collect()
    }

    /// The phase 1 groups the engine offers/accepts, lowest number first
    /// (groups AWS refuses are left out).
    pub fn phase1_groups(&self) -> Vec<DhGroup> {
        Self::groups(&self.phase1_dh_groups, &PHASE1_GROUP_IDS)
    }

    /// The phase 2 (PFS) groups, lowest number first.
    pub fn phase2_groups(&self) -> Vec<DhGroup> {
        Self::groups(&self.phase2_dh_groups, &PHASE2_GROUP_IDS)
    }

    /// Phase 1 proposals in AWS's order: a CBC proposal (AES128 before
    /// AES256, SHA1 first) then a GCM proposal, each only if selected.
    pub fn ike_proposals(&self) -> Vec<IkeProposal> {
        let encr = sorted_dedup(&self.phase1_encryption);
        let integ = sorted_dedup(&self.phase1_integrity);
        let prf: Vec<PrfAlg> = integ.iter().map(|i| i.prf()).collect();
        let dh = self.phase1_groups();
        let (cbc, gcm): (Vec<_>, Vec<_>) = encr.into_iter().partition(|e| !e.is_aead());
        let mut out = Vec::new();
        if !cbc.is_empty() {
            out.push(IkeProposal {
                encr: cbc.iter().map(|e| e.alg()).collect(),
                prf: prf.clone(),
                integ: integ.iter().map(|i| i.integ()).collect(),
                dh: dh.clone(),
            });
        }
        if !gcm.is_empty() {
            out.push(IkeProposal {
                encr: gcm.iter().map(|e| e.alg()).collect(),
                prf,
                integ: Vec::new(),
                dh,
            });
        }
        out
    }

    /// Phase 2 proposals in AWS's order, with the PFS groups.
    pub fn esp_proposals(&self) -> Vec<EspProposal> {
        let encr = sorted_dedup(&self.phase2_encryption);
        let integ: Vec<IntegAlg> = sorted_dedup(&self.phase2_integrity)
            .iter()
            .map(|i| i.integ())
            .collect();
        let dh = self.phase2_groups();
        let (cbc, gcm): (Vec<_>, Vec<_>) = encr.into_iter().partition(|e| !e.is_aead());
        let mut out = Vec::new();
        if !cbc.is_empty() {
            out.push(EspProposal {
                encr: cbc.iter().map(|e| e.alg()).collect(),
                integ,
                dh: dh.clone(),
            });
        }
        if !gcm.is_empty() {
            out.push(EspProposal {
                encr: gcm.iter().map(|e| e.alg()).collect(),
                integ: Vec::new(),
                dh,
            });
        }
        out
    }

    /// The lifetimes, margin and fuzz for the engine.
    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            ike: Duration::from_secs(self.phase1_lifetime_seconds.into()),
            child: Duration::from_secs(self.phase2_lifetime_seconds.into()),
            margin: Duration::from_secs(self.rekey_margin_seconds.into()),
            fuzz_percent: self.rekey_fuzz_percent,
        }
    }

    /// Dead peer detection as AWS runs it: probe after 10 s of silence,
    /// dead `dpd_timeout_seconds` after the first unanswered probe.
    pub fn dpd(&self) -> Dpd {
        Dpd {
            delay: AWS_DPD_DELAY,
            timeout: Duration::from_secs(self.dpd_timeout_seconds.into()),
            action: self.dpd_timeout_action.engine(),
        }
    }

    /// Whether the tunnel accepts IKEv2 (the only version the engine
    /// speaks): a CGW speaking IKEv2 to an IKEv1-only tunnel gets nothing.
    pub fn accepts_ikev2(&self) -> bool {
        self.ike_versions.contains(&IkeVersion::Ikev2)
    }

    /// Whether the AWS side initiates (startup action start).
    pub fn aws_initiates(&self) -> bool {
        self.startup_action == StartupAction::Start
    }

    /// The IKE configuration of the AWS side of this tunnel: proposals
    /// from the selected algorithms, lowest first, chosen with
    /// [`PreferOwn`]; lifetimes, margin, fuzz and DPD from the options.
    /// `psk` is the tunnel's key (this tunnel's [`TunnelOptions::psk`] or a
    /// generated one). The replay window and startup action are not part
    /// of [`IkeConfig`]: see [`TunnelOptions::engine_config`].
    pub fn ike_config(&self, psk: Secret) -> IkeConfig {
        let mut c = IkeConfig::new(psk, self.ike_proposals(), self.esp_proposals());
        c.policy = Arc::new(PreferOwn);
        c.lifetimes = self.lifetimes();
        c.dpd = Some(self.dpd());
        // One SA pair per tunnel (AWS-VPN-FACTS.md section 2): a second
        // CREATE_CHILD_SA (a policy-based device's next subnet pair) is
        // refused. With TS_UNACCEPTABLE rather than deleting the extra SA
        // after the fact: the facts name both, AWS's log vocabulary has a
        // TS_UNACCEPTABLE record and none for deleting an extra SA, and
        // field reports of policy-based devices with several encryption
        // domains show TS_UNACCEPTABLE for the second pair.
        c.max_child_sas = 1;
        c.extra_child_refusal = ike::wire::NotifyType::TS_UNACCEPTABLE;
        c
    }

    /// Everything the AWS side of this tunnel needs from the engine:
    /// [`TunnelOptions::ike_config`], plus the ESP replay window and
    /// whether AWS initiates.
    pub fn engine_config(&self, psk: Secret) -> AwsTunnelConfig {
        AwsTunnelConfig {
            ike: self.ike_config(psk),
            replay_window: self.replay_window_packets,
            initiates: self.aws_initiates(),
        }
    }
}

/// The AWS side of one tunnel as the engine runs it.
#[derive(Debug, Clone)]
pub struct AwsTunnelConfig {
    /// The IKE SA configuration.
    pub ike: IkeConfig,
    /// ESP anti-replay window in packets (for `ike::esp::ReplayWindow`).
    pub replay_window: u32,
    /// Whether AWS initiates (startup action start) rather than waiting.
    pub initiates: bool,
}

/// How routes are exchanged on a VPN connection. Serde: `"static"` or
/// `{"bgp": {"aws_asn": 64512}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Routing {
    /// Dynamic: BGP with this AWS-side ASN (64512 by default; custom
    /// 64512-65534 or 4200000000-4294967294).
    Bgp {
        /// The AWS-side (Amazon) ASN.
        aws_asn: u32,
    },
    /// Static routes, no BGP.
    Static,
}

impl Default for Routing {
    /// BGP with ASN 64512.
    fn default() -> Self {
        Routing::Bgp { aws_asn: 64512 }
    }
}

/// What the VPN connection terminates on (serde: `"vgw"`, `"tgw"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    /// A virtual private gateway (100 prefixes, one egress tunnel).
    #[default]
    Vgw,
    /// A transit gateway (1000 prefixes, ECMP, IPv6 inside addresses).
    Tgw,
}

impl GatewayKind {
    /// The most prefixes the CGW may announce over BGP.
    pub fn prefix_limit(self) -> u32 {
        match self {
            GatewayKind::Vgw => 100,
            GatewayKind::Tgw => 1000,
        }
    }
}

/// One AWS Site-to-Site VPN connection: two tunnels to one customer
/// gateway. Serde: `cgw_ip` is required, the rest defaults as in
/// [`VpnConnection::new`]; unknown fields are errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpnConnection {
    /// Tunnel 1 and tunnel 2.
    #[serde(default)]
    pub tunnels: [TunnelOptions; 2],
    /// The customer gateway's public (outside) IP.
    pub cgw_ip: Ipv4Addr,
    /// BGP (with the AWS-side ASN) or static.
    #[serde(default)]
    pub routing: Routing,
    /// The customer gateway's ASN, 1-2147483647 (default 65000).
    #[serde(default = "default_cgw_asn")]
    pub cgw_asn: u32,
    /// Virtual private gateway or transit gateway.
    #[serde(default)]
    pub gateway: GatewayKind,
}

fn default_cgw_asn() -> u32 {
    65000
}

impl VpnConnection {
    /// A connection to `cgw_ip` with AWS's defaults: BGP, AWS ASN 64512,
    /// CGW ASN 65000, a virtual private gateway, default tunnel options.
    pub fn new(cgw_ip: Ipv4Addr) -> VpnConnection {
        VpnConnection {
            tunnels: [TunnelOptions::default(), TunnelOptions::default()],
            cgw_ip,
            routing: Routing::default(),
            cgw_asn: default_cgw_asn(),
            gateway: GatewayKind::default(),
        }
    }

    /// The most prefixes the CGW may announce.
    pub fn prefix_limit(&self) -> u32 {
        self.gateway.prefix_limit()
    }

    /// Every violation, the tunnels' options named `tunnel1.…`/`tunnel2.…`.
    pub fn validate(&self) -> Result<(), Vec<OptionError>> {
        let mut errs = Vec::new();
        for (i, t) in self.tunnels.iter().enumerate() {
            if let Err(e) = t.validate() {
                let prefix = format!("tunnel{}.", i + 1);
                errs.extend(e.into_iter().map(|e| e.prefixed(&prefix)));
            }
        }
        if self.cgw_ip.is_unspecified()
            || self.cgw_ip.is_multicast()
            || self.cgw_ip.is_broadcast()
            || self.cgw_ip.is_loopback()
        {
            errs.push(not_accepted(
                "cgw_ip",
                self.cgw_ip,
                "a unicast IPv4 address",
            ));
        }
        if let Routing::Bgp { aws_asn } = self.routing {
            if !((64512..=65534).contains(&aws_asn)
                || (4_200_000_000..=4_294_967_294).contains(&aws_asn))
            {
                errs.push(not_accepted(
                    "aws_asn",
                    aws_asn,
                    "64512-65534 or 4200000000-4294967294",
                ));
            }
        }
        if !(1..=2_147_483_647).contains(&self.cgw_asn) {
            errs.push(not_accepted("cgw_asn", self.cgw_asn, "1-2147483647"));
        }
        let [t1, t2] = &self.tunnels;
        if let (Some(a), Some(b)) = (&t1.inside_cidr, &t2.inside_cidr) {
            if a.overlaps(b) {
                errs.push(not_accepted(
                    "tunnel2.inside_cidr",
                    b,
                    format!("a /30 not overlapping tunnel1.inside_cidr ({a})"),
                ));
            }
        }
        if let (Some(a), Some(b)) = (&t1.inside_ipv6_cidr, &t2.inside_ipv6_cidr) {
            if a.overlaps(b) {
                errs.push(not_accepted(
                    "tunnel2.inside_ipv6_cidr",
                    b,
                    format!("a /126 not overlapping tunnel1.inside_ipv6_cidr ({a})"),
                ));
            }
        }
        if self.gateway == GatewayKind::Vgw {
            for (i, t) in self.tunnels.iter().enumerate() {
                if let Some(c) = &t.inside_ipv6_cidr {
                    errs.push(not_accepted(
                        &format!("tunnel{}.inside_ipv6_cidr", i + 1),
                        c,
                        "no IPv6 inside CIDR on a virtual private gateway (transit gateway only)",
                    ));
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}
