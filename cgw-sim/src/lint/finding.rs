//! One finding of the lint and its severity.

use std::fmt;

use serde::Serialize;

use super::Locate;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing breaks.
    Info,
    /// Works, but fragile: rekey collisions, black-holed large packets, a
    /// tunnel that stays down after maintenance.
    Warning,
    /// AWS refuses it, or the tunnel (or its BGP session) never comes up.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding. Serialised (`--format json`) with these field names, which
/// are stable. A pre-shared key is never part of one, only described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id (`phase1-dh-group`); see `docs/lint.md`.
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The file, as given.
    pub file: String,
    /// 1-based line of the key, or of its nearest parent in the file when
    /// the value is a default; `None` when neither is in the file.
    pub line: Option<usize>,
    /// Dotted key path, as the loader's errors spell it
    /// (`cgw.tunnel1.ike.dh_groups[1]`).
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What AWS accepts.
    pub accepts: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    /// A finding not yet placed in a file ([`super::check`] places it).
    pub(crate) fn new(
        rule: &'static str,
        severity: Severity,
        key: impl Into<String>,
        message: impl Into<String>,
        accepts: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            severity,
            file: String::new(),
            line: None,
            key: key.into(),
            message: message.into(),
            accepts: accepts.into(),
            fix: fix.into(),
        }
    }

    /// With the file and the line of its key (or the key's nearest parent).
    pub(crate) fn placed(mut self, at: &dyn Locate) -> Finding {
        self.file = at.file().to_owned();
        self.line = super::locate::line_or_parent(at, &self.key);
        self
    }
}

impl fmt::Display for Finding {
    /// `file:line: severity[rule]: key: message (AWS accepts: ...; fix: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(
            f,
            ": {}[{}]: {}: {} (AWS accepts: {}; fix: {})",
            self.severity, self.rule, self.key, self.message, self.accepts, self.fix
        )
    }
}
