//! `cgw-sim sla`: the keepalive / SLA daemon on a real host (issue 7).
//! The sans-IO prober of the `sla` crate on real sockets, one per
//! operation, pinned to a tunnel by source address or interface; its
//! statistics on `/metrics` and the control socket (the telemetry
//! endpoints of `run`, with their own snapshot), its events as JSON
//! lines, its reactions' commands run in the background. And
//! `cgw-sim sla --responder`, the udp-jitter reflector.
//!
//! - [`driver`]: the probing loop.
//! - [`icmp`], [`udp`], [`tcp`]: the operations' sockets;
//!   [`sockopt`] what pins them (source, interface, TOS, DF);
//!   [`rx_stamp`] the kernel's receive timestamps on them.
//! - [`snapshot`]: the published status; [`metrics`] and [`table`] its
//!   two renderings; [`tunnel_health`] its per-tunnel summary.
//! - [`events`]: the JSON-lines stream; [`hooks`]: reaction commands.
//! - [`responder`]: the reflector.

pub mod driver;
pub mod events;
pub mod hooks;
pub mod icmp;
pub mod keepalive;
pub mod metrics;
pub mod responder;
pub mod rx_stamp;
pub mod snapshot;
pub mod sockopt;
pub mod table;
pub mod tcp;
pub mod tunnel_health;
pub mod udp;

use std::future::Future;

use crate::config::SlaConfig;
use crate::telemetry::{self, Endpoints};
pub use snapshot::SlaStatus;

/// Why the SLA daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    /// An operation's socket could not be opened or pinned.
    #[error("operation {operation}: {source}")]
    Socket {
        /// The operation (or the responder).
        operation: String,
        /// The cause (no CAP_NET_RAW, no such interface or address...).
        source: std::io::Error,
    },
    /// The events file could not be opened.
    #[error("sla.events_path {path}: {source}")]
    Events {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `/metrics` or the control socket.
    #[error(transparent)]
    Telemetry(#[from] telemetry::ServeError),
    /// The runtime.
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
}

/// Runs the daemon as `cfg` says until `stop`: `/metrics` and the control
/// socket served, events written, operations probed. Call inside a
/// current-thread runtime ([`runtime`]).
pub async fn serve(cfg: &SlaConfig, stop: impl Future<Output = ()>) -> Result<(), SlaError> {
    let events =
        events::EventSink::open(cfg.events_path.as_deref()).map_err(|source| SlaError::Events {
            path: cfg
                .events_path
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source,
        })?;
    let (tx, rx) = tokio::sync::watch::channel(SlaStatus::default());
    let endpoints = Endpoints {
        metrics_listen: Some(cfg.metrics_listen),
        control_socket: Some(cfg.control_socket.clone()),
    };
    let telemetry = telemetry::serve(&endpoints, rx).await?;
    tracing::info!(operations = cfg.operations.len(), "sla: probing");
    let r = driver::run(cfg.operations.clone(), events, tx, stop).await;
    telemetry.shutdown();
    r
}

/// A runtime for the daemon: one thread, I/O and timers.
pub fn runtime() -> Result<tokio::runtime::Runtime, SlaError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(SlaError::Runtime)
}

/// `cgw-sim sla --config`: [`serve`] until SIGINT or SIGTERM.
pub fn run(cfg: &SlaConfig) -> Result<(), SlaError> {
    runtime()?.block_on(serve(cfg, crate::daemon::shutdown_signal()))
}

/// `cgw-sim sla --responder`: reflects probes on `listen` until SIGINT or
/// SIGTERM.
pub fn run_responder(listen: std::net::SocketAddr) -> Result<(), SlaError> {
    runtime()?.block_on(async {
        let sock = responder::bind(listen).await?;
        tracing::info!(listen = %sock.local_addr().map_or(listen, |a| a), "sla responder");
        responder::serve(sock, crate::daemon::shutdown_signal()).await;
        Ok(())
    })
}
