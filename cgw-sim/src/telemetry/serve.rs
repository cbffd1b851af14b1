//! Starting the telemetry endpoints of a daemon: `/metrics` and the
//! control socket, on the current runtime, stopped by the returned
//! handle.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::control::{self, ControlError, SocketFile};
use super::http;
use super::Snapshot;

/// Where the endpoints listen; `None` turns one off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoints {
    /// The `/metrics` address (`gateway.metrics_listen`).
    pub metrics_listen: Option<SocketAddr>,
    /// The control socket's path (`gateway.control_socket`).
    pub control_socket: Option<PathBuf>,
}

/// Why the endpoints could not start.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The `/metrics` address could not be bound.
    #[error("metrics endpoint {addr}: {source}")]
    Metrics {
        /// The address.
        addr: SocketAddr,
        /// The cause (in use, not an address of this host...).
        source: io::Error,
    },
    /// The control socket could not be set up.
    #[error(transparent)]
    Control(#[from] ControlError),
}

/// The running endpoints. Dropping it (or [`Telemetry::shutdown`]) stops
/// them, closes their connections and removes the control socket file.
#[derive(Debug)]
pub struct Telemetry {
    metrics_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
    // Declared after `tasks`, though `Drop` aborts the tasks explicitly
    // first anyway: the file goes once nothing serves it.
    socket: Option<SocketFile>,
}

impl Telemetry {
    /// The address `/metrics` is bound to (the actual port when 0 was
    /// asked for), if on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The control socket's path, if on.
    pub fn control_socket(&self) -> Option<&Path> {
        self.socket.as_ref().map(SocketFile::path)
    }

    /// Stops the endpoints and removes the socket file (as dropping does).
    pub fn shutdown(self) {}
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Binds the endpoints in `endpoints` and serves them from `status` on
/// the current tokio runtime (current-thread or not). Both are bound
/// before anything is served, so an error leaves nothing running.
pub async fn serve<S: Snapshot>(
    endpoints: &Endpoints,
    status: watch::Receiver<S>,
) -> Result<Telemetry, ServeError> {
    let metrics = match endpoints.metrics_listen {
        Some(addr) => {
            let listener = http::bind(addr)
                .await
                .map_err(|source| ServeError::Metrics { addr, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| ServeError::Metrics { addr, source })?;
            Some((listener, bound))
        }
        None => None,
    };
    let control = match &endpoints.control_socket {
        Some(path) => Some(control::bind(path)?),
        None => None,
    };
    let mut tasks = Vec::new();
    let mut metrics_addr = None;
    if let Some((listener, bound)) = metrics {
        tasks.push(tokio::spawn(http::serve_metrics(listener, status.clone())));
        metrics_addr = Some(bound);
        tracing::info!(addr = %bound, "metrics at http://{bound}/metrics");
    }
    let mut socket = None;
    if let Some((listener, file)) = control {
        tasks.push(tokio::spawn(control::serve_control(listener, status)));
        tracing::info!(path = %file.path().display(), "control socket");
        socket = Some(file);
    }
    Ok(Telemetry {
        metrics_addr,
        tasks,
        socket,
    })
}
