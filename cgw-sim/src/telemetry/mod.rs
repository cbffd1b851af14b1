//! Observability of the long-running commands (`cgw-sim run`,
//! `cgw-sim mock-aws`): structured logs, a Prometheus `/metrics`
//! endpoint, and a control socket that `cgw-sim status` asks.
//!
//! The daemon owns the truth: it fills a [`Status`] from its engines and
//! publishes it on a `tokio::sync::watch` channel (about once a second and
//! on changes); everything here reads the latest snapshot. The daemons
//! wire it in `crate::daemon::run_until_signal`: `logging::init` once,
//! a watch channel of `Status`, `serve(&Endpoints { .. }, rx)` for the
//! daemon's lifetime (dropping its handle stops both endpoints and removes
//! the socket file).
//!
//! - [`status`]: the snapshot type.
//! - [`table`]: the snapshot as text for people.
//! - [`metrics`]: the snapshot as Prometheus exposition (metric names).
//! - [`http`]: `GET /metrics` (hyper, HTTP/1).
//! - [`control`]: the control socket and its client.
//! - [`logging`]: tracing to standard error, text or JSON.
//! - [`serve`](mod@serve): both endpoints started together.

pub mod control;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod serve;
pub mod status;
pub mod table;

pub use serve::{serve, Endpoints, ServeError, Telemetry};

/// What a daemon publishes for its endpoints: served as JSON on the
/// control socket and rendered as Prometheus exposition on `/metrics`.
/// [`Status`] for `run` and `mock-aws`; the SLA daemon has its own.
pub trait Snapshot: serde::Serialize + Send + Sync + 'static {
    /// The snapshot as exposition in `format`.
    fn render_metrics(&self, format: metrics::Format) -> String;
}

impl Snapshot for Status {
    fn render_metrics(&self, format: metrics::Format) -> String {
        metrics::render(self, format)
    }
}
pub use status::{
    BgpState, BgpStatus, ChildSaStatus, IkeSaStatus, Role, RouteSource, RouteStatus, Status,
    TunnelState, TunnelStatus, TunnelTotals,
};
