//! What `cgw-sim lint` reads: a cgw-sim gateway file, or a device's own
//! configuration (strongSwan swanctl.conf, Cisco IOS / IOS-XE), told
//! apart by content. A device file goes through [`crate::device`] into
//! the same [`GatewayConfig`]; its findings are placed at the device
//! file's lines through the reader's source map, and what the reader
//! could not use (unsupported lines, missing values) becomes findings too,
//! so nothing in the device file is passed over in silence.

use std::path::Path;

use super::{check, Finding, Locate, Severity};
use crate::config::ConfigError;
use crate::device::{DeviceGatewayError, DeviceImport};

/// Why a file could not be linted at all.
#[derive(Debug, thiserror::Error)]
pub enum LintInputError {
    /// A gateway file that does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A device file that does not give a gateway configuration.
    #[error(transparent)]
    Device(#[from] DeviceGatewayError),
}

/// A device file's source map as a [`Locate`].
struct DeviceLocate<'a> {
    file: String,
    import: &'a DeviceImport,
}

impl Locate for DeviceLocate<'_> {
    fn file(&self) -> &str {
        &self.file
    }

    fn line(&self, key: &str) -> Option<usize> {
        self.import
            .source_map
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, l)| *l)
    }
}

/// Lints `path`, a gateway file or a device configuration.
pub fn lint_path(path: &Path) -> Result<Vec<Finding>, LintInputError> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if crate::device::detect(&text).is_none() {
        return Ok(super::lint_file(path)?);
    }
    let import = crate::device::load(path).map_err(DeviceGatewayError::from)?;
    lint_device(path, &import)
}

/// Lints a device file already read.
pub fn lint_device(path: &Path, import: &DeviceImport) -> Result<Vec<Finding>, LintInputError> {
    let file = path.display().to_string();
    let cfg = crate::device::gateway_config(path, import, false)?;
    let at = DeviceLocate {
        file: file.clone(),
        import,
    };
    let mut findings = check(&cfg, &at);
    for (line, what) in &import.unsupported {
        findings.push(device_note("device-unsupported", &file, *line, what));
    }
    for (line, what) in &import.notes {
        findings.push(device_note("device-note", &file, *line, what));
    }
    Ok(findings)
}

/// An info finding about the device file itself (a line not used, an
/// approximation made).
fn device_note(rule: &'static str, file: &str, line: usize, what: &str) -> Finding {
    let mut f = Finding::new(
        rule,
        Severity::Info,
        "device",
        what.to_owned(),
        "not applicable",
        if rule == "device-unsupported" {
            "check this line by hand: cgw-sim does not read it"
        } else {
            "check the approximation against the device's documentation"
        },
    );
    f.file = file.to_owned();
    f.line = Some(line);
    f
}
