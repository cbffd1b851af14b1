//! The lint's two outputs: text for people, JSON for CI.

use serde::Serialize;

use super::{Finding, Severity};

/// How many findings of each severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Findings AWS refuses or that keep the tunnel down.
    pub errors: usize,
    /// Findings that work but are fragile.
    pub warnings: usize,
    /// Findings worth knowing.
    pub info: usize,
}

impl Summary {
    /// Counts `findings`.
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }
}

/// One line per finding, then `file: N errors, N warnings, N info`.
pub fn render_text(file: &str, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&f.to_string());
        out.push('\n');
    }
    let s = Summary::of(findings);
    out.push_str(&format!(
        "{file}: {} errors, {} warnings, {} info\n",
        s.errors, s.warnings, s.info
    ));
    out
}

#[derive(Serialize)]
struct Report<'a> {
    file: &'a str,
    findings: &'a [Finding],
    summary: Summary,
}

/// `{"file": ..., "findings": [Finding...], "summary": {"errors", "warnings", "info"}}`.
pub fn render_json(file: &str, findings: &[Finding]) -> String {
    let report = Report {
        file,
        findings,
        summary: Summary::of(findings),
    };
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
