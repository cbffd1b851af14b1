//! A device file as the [`GatewayConfig`] `run`, `validate` and `lint`
//! take: the reader's TOML loaded, with what went wrong placed at the
//! device file's lines (the TOML is the reader's, never the user's).

use std::path::Path;

use super::{DeviceError, DeviceImport};
use crate::config::GatewayConfig;

/// Why a device file does not give a gateway configuration.
#[derive(Debug, thiserror::Error)]
pub enum DeviceGatewayError {
    /// The reader refused the file.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// Read, but lacking values a gateway needs.
    #[error("{file}: the device configuration lacks what a gateway needs:\n{}", missing.iter().map(|(k, l, why)| format!("  {file}:{l}: {k}: {why}")).collect::<Vec<_>>().join("\n"))]
    Incomplete {
        /// The device file.
        file: String,
        /// (key, line of the nearest block, why).
        missing: Vec<(String, usize, String)>,
    },
    /// The configuration loader refused a value from the device (with
    /// AWS's rules enforced: a PSK AWS refuses, an inside CIDR outside
    /// 169.254.0.0/16...), placed at the value's device line.
    #[error("{file}:{line}: {key}: {message}", line = line.map_or_else(|| "?".to_owned(), |l| l.to_string()))]
    Value {
        /// The device file.
        file: String,
        /// The device line of the key (or its nearest parent).
        line: Option<usize>,
        /// The configuration key.
        key: String,
        /// The loader's message.
        message: String,
    },
}

/// Loads `path` (a device file) as a gateway configuration, as `run` and
/// `validate` do: AWS's rules enforced.
pub fn load_gateway(path: &Path) -> Result<GatewayConfig, DeviceGatewayError> {
    let import = super::load(path)?;
    gateway_config(path, &import, true)
}

/// `import` (read from `path`) as a gateway configuration; `aws_rules`
/// false leaves AWS's value rules to the lint
/// ([`GatewayConfig::from_toml_unchecked`]).
pub fn gateway_config(
    path: &Path,
    import: &DeviceImport,
    aws_rules: bool,
) -> Result<GatewayConfig, DeviceGatewayError> {
    let file = path.display().to_string();
    if !import.missing.is_empty() {
        return Err(DeviceGatewayError::Incomplete {
            file,
            missing: import.missing.clone(),
        });
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loaded = if aws_rules {
        GatewayConfig::from_toml(&import.toml, &file, &base)
    } else {
        GatewayConfig::from_toml_unchecked(&import.toml, &file, &base)
    };
    loaded.map_err(|e| DeviceGatewayError::Value {
        line: import.line_of(&e.key),
        file,
        key: e.key,
        message: e.message,
    })
}
