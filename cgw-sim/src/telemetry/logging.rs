//! Structured logs: `tracing` events to standard error, as text lines or
//! JSON lines ([`LogFormat`]). The daemons call [`init`] once at start.
//!
//! The level: `--log-level` if given, else `RUST_LOG`, else `info`; either
//! is an `EnvFilter` directive (`debug`, `cgw_sim=debug,info`).
//!
//! JSON lines carry the event's fields **at the top level** beside
//! `timestamp`, `level`, `target` and `message`:
//!
//! ```text
//! tracing::info!(tunnel = 1, peer = %addr, "tunnel up");
//! {"timestamp":"2026-...Z","level":"INFO","message":"tunnel up","tunnel":1,"peer":"198.51.100.10","target":"cgw_sim::daemon"}
//! ```
//!
//! and the current span, if any, under `span` (its fields inside it).
//!
//! Never put key material in an event: configuration keys are
//! [`crate::config::Psk`], which prints `<redacted>`, and nothing in
//! [`crate::telemetry`] logs a key.

use std::io::IsTerminal;

use thiserror::Error;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The level when neither `--log-level` nor `RUST_LOG` gives one.
pub const DEFAULT_LEVEL: &str = "info";

/// Why logging could not be set up.
#[derive(Debug, Error)]
pub enum LogError {
    /// The level or `RUST_LOG` is not a valid filter.
    #[error("{origin}: invalid log filter \"{spec}\": {message}")]
    BadFilter {
        /// `--log-level` or `RUST_LOG`.
        origin: &'static str,
        /// The filter as given.
        spec: String,
        /// What is wrong with it.
        message: String,
    },
    /// A global subscriber was already installed.
    #[error("logging is already initialised")]
    AlreadySet,
}

/// The filter: `level` (from `--log-level`) if given, else `RUST_LOG` if
/// set and not empty, else [`DEFAULT_LEVEL`].
pub fn filter(level: Option<&str>) -> Result<EnvFilter, LogError> {
    let env = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let (origin, spec) = match (level, env) {
        (Some(l), _) => ("--log-level", l.to_owned()),
        (None, Some(e)) => ("RUST_LOG", e),
        (None, None) => ("default", DEFAULT_LEVEL.to_owned()),
    };
    EnvFilter::try_new(&spec).map_err(|e| LogError::BadFilter {
        origin,
        spec,
        message: e.to_string(),
    })
}

/// A subscriber writing `format` lines through `writer`, events passing
/// `filter`. ANSI colours only in text to a terminal (`ansi`).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Installs the process's logger: `format` lines to standard error,
/// filtered by [`filter`]`(level)`. Call once, before the daemon starts.
pub fn init(format: LogFormat, level: Option<&str>) -> Result<(), LogError> {
    let filter = filter(level)?;
    let ansi = std::io::stderr().is_terminal();
    let sub = subscriber(format, filter, std::io::stderr, ansi);
    tracing::subscriber::set_global_default(sub).map_err(|_| LogError::AlreadySet)
}
