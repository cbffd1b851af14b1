//! `cgw-sim lint`: a customer gateway configuration checked against what
//! AWS Site-to-Site VPN accepts (AWS-VPN-FACTS.md sections 1 and 2), before
//! anything is tried against AWS.
//!
//! Each rule ([`RULES`]) is one function with a stable id; a [`Finding`]
//! names the rule, its [`Severity`], the key and its line (through a
//! [`Locate`]), what AWS accepts and the fix. AWS's allowed values and
//! checks are `crate::aws`'s, the ones the AWS mock applies: the rules call
//! them rather than restate them.

#![deny(missing_docs)]

mod finding;
mod input;
mod locate;
mod output;
mod rules;

use std::path::Path;

use crate::config::{ConfigError, GatewayConfig};

pub use finding::{Finding, Severity};
pub use input::{lint_device, lint_path, LintInputError};
pub use locate::{Locate, TomlLocate};
pub use output::{render_json, render_text, Summary};
pub use rules::{Rule, RULES};

/// Every finding of every rule on `cfg`, placed with `at`, errors first,
/// then by line.
pub fn check(cfg: &GatewayConfig, at: &dyn Locate) -> Vec<Finding> {
    let mut out: Vec<Finding> = RULES
        .iter()
        .flat_map(|rule| (rule.run)(cfg, at))
        .map(|f| f.placed(at))
        .collect();
    // Stable: within one severity and line, rules keep their order.
    out.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.line.unwrap_or(0)));
    out
}

/// Reads, loads (AWS's value rules left to the lint, see
/// [`GatewayConfig::from_toml_unchecked`]) and checks a gateway
/// configuration file. `Err` is the loader's error: the file could not be
/// read or is not a gateway configuration.
pub fn lint_file(path: &Path) -> Result<Vec<Finding>, ConfigError> {
    let (text, name) = crate::toml_file::read(path)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let cfg = GatewayConfig::from_toml_unchecked(&text, &name, &base)?;
    let at = TomlLocate::new(&name, &text);
    Ok(check(&cfg, &at))
}

/// The exit code for these findings: 0 clean or info only, 1 warnings, 2
/// errors (3, a file that does not load, is the caller's).
pub fn exit_code(findings: &[Finding]) -> u8 {
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Error) => 2,
        Some(Severity::Warning) => 1,
        Some(Severity::Info) | None => 0,
    }
}
