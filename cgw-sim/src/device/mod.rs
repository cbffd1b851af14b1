//! Device parameters from real devices: the IPsec, IKE and BGP parts of a
//! strongSwan `swanctl.conf` and of a Cisco IOS / IOS-XE running
//! configuration, read into one [`DeviceConfig`] (every value with its
//! source line), then written as a cgw-sim gateway configuration (TOML that
//! [`crate::config::GatewayConfig`] loads) with a source map from TOML key
//! paths back to device lines.
//!
//! The readers are honest: a line they do not turn into configuration is
//! listed in [`DeviceImport::unsupported`] with its number and the reason,
//! a value cgw-sim needs that the file does not hold is listed in
//! [`DeviceImport::missing`], and an input they cannot read (unbalanced
//! braces, an unknown proposal keyword, `include`) is a [`DeviceError`]
//! naming the line. Nothing is guessed: a value the device itself takes by
//! default is written with the line of its block and a note saying so.

#![deny(missing_docs)]

mod cisco;
mod cisco_join;
mod cisco_tree;
mod emit;
mod gateway;
mod model;
mod names;
mod report;
mod strongswan;
mod swanctl;

use std::fmt;
use std::path::Path;

pub use gateway::{gateway_config, load_gateway, DeviceGatewayError};
pub use model::{DeviceBgp, DeviceConfig, DeviceDpd, DeviceTunnel, Sourced};

/// The kinds of device file read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceFormat {
    /// strongSwan's `swanctl.conf`.
    Swanctl,
    /// Cisco IOS / IOS-XE `show running-config`.
    CiscoIos,
}

impl fmt::Display for DeviceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceFormat::Swanctl => "strongSwan swanctl.conf",
            DeviceFormat::CiscoIos => "Cisco IOS",
        })
    }
}

/// A device file read and turned into a gateway configuration. Its
/// `Debug` leaves out the TOML (which holds the keys); the model's keys are
/// [`crate::config::Psk`]s, which print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceImport {
    /// What the file was.
    pub format: DeviceFormat,
    /// The gateway configuration (`[gateway]` + `[cgw]`), with the device's
    /// line in a comment on each value and what the schema lacks as
    /// comments. It holds the pre-shared keys: treat it as a secret.
    pub toml: String,
    /// TOML key path (as `ConfigError` names it, e.g.
    /// `cgw.tunnel1.ike.dh_groups`) -> 1-based line in the device file.
    pub source_map: Vec<(String, usize)>,
    /// Lines not turned into configuration: (line, the line's command and
    /// why).
    pub unsupported: Vec<(usize, String)>,
    /// Approximations and values without a cgw-sim key: (line, note).
    pub notes: Vec<(usize, String)>,
    /// Keys cgw-sim needs that the file does not give: (key path, line of
    /// the nearest block, why). The TOML lacks them, so it does not load
    /// until they are added.
    pub missing: Vec<(String, usize, String)>,
    /// The model the TOML was written from.
    pub device: DeviceConfig,
}

impl fmt::Debug for DeviceImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceImport")
            .field("format", &self.format)
            .field(
                "toml",
                &format_args!("<{} bytes, holds the keys>", self.toml.len()),
            )
            .field("source_map", &self.source_map)
            .field("unsupported", &self.unsupported)
            .field("notes", &self.notes)
            .field("missing", &self.missing)
            .field("device", &self.device)
            .finish()
    }
}

impl DeviceImport {
    /// The device line a TOML key path came from: the key itself, else its
    /// nearest parent in the map.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let mut k = key;
        loop {
            if let Some((_, l)) = self.source_map.iter().find(|(p, _)| p == k) {
                return Some(*l);
            }
            k = &k[..k.rfind(['.', '['])?];
        }
    }
}

/// A device file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// Neither a swanctl.conf nor a Cisco configuration.
    #[error("{file}: not a strongSwan swanctl.conf (no `connections {{`) nor a Cisco IOS configuration (no `crypto` or `interface Tunnel` lines)")]
    UnknownFormat {
        /// The file.
        file: String,
    },
    /// A line the reader cannot accept.
    #[error("{file}:{line}: {message}")]
    At {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl DeviceError {
    /// The line the error is at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            DeviceError::At { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// A reader's error before the file name is known: (line, message).
pub(crate) type ReadError = (usize, String);

/// Which device wrote `text`, by its shape: swanctl's `connections {`
/// section, or IOS's `crypto` / `interface Tunnel` / `router bgp` lines.
pub fn detect(text: &str) -> Option<DeviceFormat> {
    let mut cisco = false;
    for line in text.lines() {
        let t = line.trim_start();
        let code = t.split('#').next().unwrap_or("").trim();
        if ["connections", "secrets"]
            .iter()
            .any(|w| code.strip_prefix(w).is_some_and(|r| r.trim() == "{"))
        {
            return Some(DeviceFormat::Swanctl);
        }
        if line.starts_with("crypto ")
            || line.starts_with("interface Tunnel")
            || line.starts_with("router bgp ")
        {
            cisco = true;
        }
    }
    cisco.then_some(DeviceFormat::CiscoIos)
}

/// Reads a device file (format detected) into a gateway configuration.
pub fn load(path: impl AsRef<Path>) -> Result<DeviceImport, DeviceError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| DeviceError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Reads device text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<DeviceImport, DeviceError> {
    let format = detect(text).ok_or_else(|| DeviceError::UnknownFormat {
        file: file.to_owned(),
    })?;
    let at = |(line, message): ReadError| DeviceError::At {
        file: file.to_owned(),
        line,
        message,
    };
    let mut device = match format {
        DeviceFormat::Swanctl => {
            strongswan::read(&swanctl::parse(text).map_err(at)?).map_err(at)?
        }
        DeviceFormat::CiscoIos => cisco::read(&cisco_tree::parse(text)).map_err(at)?,
    };
    // Tunnels sharing a block report its lines once.
    dedup(&mut device.unsupported);
    dedup(&mut device.notes);
    dedup(&mut device.missing);
    let (toml, source_map) = emit::to_toml(&device);
    Ok(DeviceImport {
        format,
        toml,
        source_map,
        unsupported: device.unsupported.clone(),
        notes: device.notes.clone(),
        missing: device.missing.clone(),
        device,
    })
}

/// Drops repeats, keeping the first of each.
fn dedup<T: PartialEq + Clone>(v: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(v.len());
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(x.clone());
            true
        }
    });
}
