//! Observability of the long-running commands (`cgw-sim run`,
//! `cgw-sim mock-aws`): structured logs, a Prometheus `/metrics`
//! endpoint, and a control socket that `cgw-sim status` asks.
//!
//! The daemon owns the truth: it fills a [`Status`] from its engines and
//! publishes it on a `tokio::sync::watch` channel (about once a second and
//! on changes). Everything here reads the latest snapshot:
//!
//! ```ignore
//! telemetry::logging::init(cfg.log_format, log_level)?;
//! let (tx, rx) = tokio::sync::watch::channel(Status::new(Role::CustomerGateway, name, addr));
//! let _telemetry = telemetry::serve(&Endpoints {
//!     metrics_listen: Some(cfg.metrics_listen),
//!     control_socket: Some(cfg.control_socket.clone()),
//! }, rx).await?;
//! loop { /* run the engines */ tx.send_replace(snapshot(&engines)); }
//! // dropping `_telemetry` stops both endpoints and removes the socket
//! ```
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
pub use status::{
    BgpState, BgpStatus, ChildSaStatus, IkeSaStatus, Role, RouteSource, RouteStatus, Status,
    TunnelState, TunnelStatus, TunnelTotals,
};
