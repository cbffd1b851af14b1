//! `cgw-sim import`: AWS's configuration downloads read into one model,
//! [`ImportedConnection`], and written out as a customer gateway
//! configuration (`[gateway]` + `[cgw]`, [`write::gateway_toml`]) and the
//! matching AWS mock (`[mock]` + `[aws]`, [`write::mock_toml`]).
//!
//! Readers (AWS-VPN-FACTS.md section 3): the CustomerGatewayConfiguration
//! XML ([`xml`]), the Generic / Vendor-agnostic text download in both
//! generations ([`text`]), and AWS's tunnel options as JSON
//! ([`options_json`], `Options.TunnelOptions` of DescribeVpnConnections),
//! which give the allowed algorithm lists the XML never shows. The format
//! is told from the content ([`detect`]); DescribeVpnConnections output
//! that holds the XML (`CustomerGatewayConfiguration`) is both at once.
//!
//! Every value keeps where it came from ([`Location`]: file, line, element
//! path or label), so the written TOML can say so and errors can point at
//! it. A missing required field is an [`ImportError`]; an element or label
//! the reader does not know is a [`Warning`]; a value the configuration has
//! no key for is an [`Unmapped`] note. Nothing is guessed: a value the
//! download does not give is left to the schema's default, and the written
//! file says so. Tunnels are told apart by their AWS outside address and
//! inside CIDR, never by their order in the document.

#![deny(missing_docs)]

mod error;
mod merge;
mod names;
pub mod options_json;
pub mod text;
pub mod write;
pub mod xml;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;

pub use error::ImportError;
pub use write::{gateway_toml, mock_toml, WriteParams};

use crate::aws::{
    DpdTimeoutAction, Encryption, GatewayKind, IkeVersion, Integrity, Ipv4Cidr, Ipv6Cidr,
    StartupAction,
};
use crate::config::Psk;
use crate::scenario::{Prefix, Routing};

/// Where a value came from: the file, its line when the format has lines,
/// and the element path (XML), label (text) or JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as given to the reader.
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// `ipsec_tunnel[2]/ike/pre_shared_key`, `IPSec Tunnel #1 > Pre-Shared
    /// Key`, `TunnelOptions[1].Phase1EncryptionAlgorithms`.
    pub path: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l} ({})", self.file, self.path),
            None => write!(f, "{} ({})", self.file, self.path),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it was read.
    pub at: Location,
}

impl<T> Sourced<T> {
    /// A value read at `at`.
    pub fn new(value: T, at: Location) -> Sourced<T> {
        Sourced { value, at }
    }
}

/// Which download a connection was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CustomerGatewayConfiguration XML.
    Xml,
    /// The Generic / Vendor-agnostic text download.
    Text,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Xml => "CustomerGatewayConfiguration XML",
            Format::Text => "Generic text download",
        })
    }
}

/// Tells a download's format from its content: XML starts with `<`, the
/// text download has `IPSec Tunnel #` headings. `None`: neither (JSON
/// tunnel options go to `--options`, not here).
pub fn detect(text: &str) -> Option<Format> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('<') {
        Some(Format::Xml)
    } else if t.lines().any(text::is_tunnel_heading) {
        Some(Format::Text)
    } else {
        None
    }
}

/// An element, label or key the reader does not know: reported, not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where it is.
    pub at: Location,
    /// What was found.
    pub message: String,
}

/// A value from the download that the configuration has no key for (the
/// tunnel MTU, DPD retries, the IKEv1 negotiation mode): reported and
/// written as a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// Where it is.
    pub at: Location,
    /// What it is (`Tunnel interface MTU`).
    pub what: String,
    /// Its value as written.
    pub value: String,
}

/// One phase's algorithms and lifetime.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phase {
    /// Encryption algorithms (AWS's names).
    pub encryption: Option<Sourced<Vec<Encryption>>>,
    /// Integrity algorithms.
    pub integrity: Option<Sourced<Vec<Integrity>>>,
    /// DH groups (phase 2: PFS).
    pub dh_groups: Option<Sourced<Vec<u16>>>,
    /// Lifetime in seconds.
    pub lifetime: Option<Sourced<u32>>,
}

/// What a download and the tunnel options both say about a tunnel:
/// versions, algorithms, lifetimes, and the AWS-side options only the
/// tunnel options give. Tunnel options replace what the download says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TunnelSettings {
    /// IKE versions: the one the download shows, or the allowed list.
    pub ike_versions: Option<Sourced<Vec<IkeVersion>>>,
    /// Phase 1 (IKE SA).
    pub phase1: Phase,
    /// Phase 2 (child SA).
    pub phase2: Phase,
    /// Rekey margin in seconds (tunnel options).
    pub rekey_margin: Option<Sourced<u32>>,
    /// Rekey fuzz in percent (tunnel options).
    pub rekey_fuzz: Option<Sourced<u32>>,
    /// Replay window in packets (tunnel options).
    pub replay_window: Option<Sourced<u32>>,
    /// AWS's DPD timeout in seconds (tunnel options).
    pub dpd_timeout: Option<Sourced<u32>>,
    /// AWS's DPD timeout action (tunnel options).
    pub dpd_timeout_action: Option<Sourced<DpdTimeoutAction>>,
    /// AWS's startup action (tunnel options).
    pub startup_action: Option<Sourced<StartupAction>>,
}

impl TunnelSettings {
    /// Every value `other` gives replaces this one's.
    pub fn override_with(&mut self, other: TunnelSettings) {
        fn over<T>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        over(&mut self.ike_versions, other.ike_versions);
        for (p, q) in [
            (&mut self.phase1, other.phase1),
            (&mut self.phase2, other.phase2),
        ] {
            over(&mut p.encryption, q.encryption);
            over(&mut p.integrity, q.integrity);
            over(&mut p.dh_groups, q.dh_groups);
            over(&mut p.lifetime, q.lifetime);
        }
        over(&mut self.rekey_margin, other.rekey_margin);
        over(&mut self.rekey_fuzz, other.rekey_fuzz);
        over(&mut self.replay_window, other.replay_window);
        over(&mut self.dpd_timeout, other.dpd_timeout);
        over(&mut self.dpd_timeout_action, other.dpd_timeout_action);
        over(&mut self.startup_action, other.startup_action);
    }
}

/// One tunnel of an imported connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTunnel {
    /// AWS's outside address ("Virtual Private Gateway" outside IP).
    pub aws_outside: Sourced<Ipv4Addr>,
    /// The customer gateway's outside address as AWS knows it.
    pub cgw_outside: Sourced<Ipv4Addr>,
    /// The inside /30 (AWS the first host, the CGW the second).
    pub inside_cidr: Sourced<Ipv4Cidr>,
    /// The inside IPv6 /126, for an IPv6 connection (tunnel options only).
    pub inside_ipv6_cidr: Option<Sourced<Ipv6Cidr>>,
    /// The pre-shared key (never printed).
    pub psk: Sourced<Psk>,
    /// The customer gateway's ASN (BGP).
    pub cgw_asn: Option<Sourced<u32>>,
    /// The AWS-side ASN (BGP).
    pub aws_asn: Option<Sourced<u32>>,
    /// BGP hold time in seconds.
    pub hold_time: Option<Sourced<u32>>,
    /// Versions, algorithms, lifetimes and AWS-side options.
    pub settings: TunnelSettings,
    /// DPD interval in seconds (download).
    pub dpd_interval: Option<Sourced<u32>>,
    /// DPD retries (download).
    pub dpd_retries: Option<Sourced<u32>>,
    /// The TCP MSS the download recommends.
    pub mss: Option<Sourced<u16>>,
    /// Whether the download says to clear DF (and fragment before
    /// encryption).
    pub clear_df: Option<Sourced<bool>>,
    /// Values without a key.
    pub unmapped: Vec<Unmapped>,
    /// Whether tunnel options (JSON) were merged into this tunnel.
    pub from_options: bool,
}

/// A VPN connection read from AWS's download (and tunnel options).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedConnection {
    /// The download's format.
    pub format: Format,
    /// The VPN connection's id, if given.
    pub connection_id: Option<Sourced<String>>,
    /// BGP or static.
    pub routing: Sourced<Routing>,
    /// Virtual private gateway or transit gateway, if the download says.
    pub gateway: Option<Sourced<GatewayKind>>,
    /// The customer gateway's outside address (both tunnels agree).
    pub cgw_address: Sourced<Ipv4Addr>,
    /// The customer gateway's ASN (both tunnels agree).
    pub cgw_asn: Option<Sourced<u32>>,
    /// The AWS-side ASN (both tunnels agree).
    pub aws_asn: Option<Sourced<u32>>,
    /// The BGP hold time (both tunnels agree).
    pub hold_time: Option<Sourced<u32>>,
    /// The connection's static routes (tunnel options' `Routes`).
    pub static_routes: Option<Sourced<Vec<Prefix>>>,
    /// The two tunnels, ordered by AWS outside address (so that a download
    /// whose tunnels come in the other order imports the same).
    pub tunnels: [ImportedTunnel; 2],
    /// Unknown elements and labels.
    pub warnings: Vec<Warning>,
}

impl ImportedConnection {
    /// Every value without a key, both tunnels.
    pub fn unmapped(&self) -> impl Iterator<Item = &Unmapped> {
        self.tunnels.iter().flat_map(|t| t.unmapped.iter())
    }
}

/// Reads a download (format told from its content) and, if given, AWS's
/// tunnel options JSON, merged by outside address.
pub fn import_files(
    download: &Path,
    options: Option<&Path>,
) -> Result<ImportedConnection, ImportError> {
    let name = download.display().to_string();
    let text = read(download)?;
    let mut conn = match options_json::embedded_xml(&text) {
        // DescribeVpnConnections output holding the XML: the XML's lines
        // are counted within the embedded document, named so.
        Some(xml_text) if options.is_none() => {
            let mut conn = xml::parse(&xml_text, &format!("{name}#CustomerGatewayConfiguration"))?;
            let opts = options_json::parse(&text, &name)?;
            merge::apply_options(&mut conn, opts)?;
            return Ok(conn);
        }
        Some(xml_text) => xml::parse(&xml_text, &format!("{name}#CustomerGatewayConfiguration"))?,
        None => import_text(&text, &name)?,
    };
    if let Some(p) = options {
        let json = read(p)?;
        let opts = options_json::parse(&json, &p.display().to_string())?;
        merge::apply_options(&mut conn, opts)?;
    }
    Ok(conn)
}

/// Reads a download's text; `file` names it in locations.
pub fn import_text(text: &str, file: &str) -> Result<ImportedConnection, ImportError> {
    match detect(text) {
        Some(Format::Xml) => xml::parse(text, file),
        Some(Format::Text) => text::parse(text, file),
        None => Err(ImportError::UnknownFormat {
            file: file.to_owned(),
        }),
    }
}

/// Merges tunnel options (already parsed) into a connection.
pub fn apply_options(
    conn: &mut ImportedConnection,
    options: options_json::TunnelOptionsFile,
) -> Result<(), ImportError> {
    merge::apply_options(conn, options)
}

fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|e| ImportError::Read {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}
