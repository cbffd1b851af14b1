//! The commands that run on a real host: `cgw-sim run` (a customer
//! gateway, [`cgw`]), `cgw-sim validate` (the same gateway until a verdict,
//! [`validate`]) and `cgw-sim mock-aws` (AWS's two tunnel endpoints,
//! [`mock`]). Each is a [`Controller`](crate::os::host_loop::Controller)
//! on the OS event loop ([`crate::os::host_loop`]): the nodes come from
//! [`crate::assemble`] exactly as in the simulated lab, the I/O is the
//! host's sockets and TUN devices, BGP runs on the kernel's TCP over the
//! tunnels' inside addresses, and routes go into the kernel's table.
//!
//! Everything happens in the calling thread's network namespace, so the
//! kernel lab and the interop tests run a daemon inside a namespace by
//! calling it from a thread that entered one.

pub mod background;
pub mod cgw;
mod events;
pub mod mock;
pub mod owned_routes;
pub mod status;
pub mod validate;
pub mod view;

use std::time::{Duration, Instant};

pub use events::{log_gateway_event, log_speaker_event};

/// How long a clean shutdown waits for the Deletes to go out and be
/// answered.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// The TUN devices' MTU before a tunnel's algorithms are known: what AWS's
/// configuration downloads set on a tunnel interface (`ip mtu 1400`).
pub const INITIAL_TUN_MTU: u32 = 1400;

/// Why a daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration cannot be turned into gateways.
    #[error("configuration: {0}")]
    Config(String),
    /// A TUN device, an address or a route could not be set up.
    #[error("{what}: {source}")]
    Kernel {
        /// What was being set up.
        what: String,
        /// The kernel's answer (boxed: it is large, and errors are rare).
        source: Box<lab::kernel::KernelError>,
    },
    /// A socket failed.
    #[error(transparent)]
    Io(#[from] crate::os::site::IoError),
}

/// Wraps a kernel error with what was being set up.
pub(crate) fn kernel(
    what: impl Into<String>,
) -> impl FnOnce(lab::kernel::KernelError) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Kernel {
        what,
        source: Box::new(source),
    }
}

/// Refuses to start on an outside address this host does not have, before
/// anything (a TUN device, a route) is created.
pub fn check_local_address(addr: std::net::Ipv4Addr, key: &str) -> Result<(), DaemonError> {
    std::net::UdpSocket::bind((addr, 0)).map(drop).map_err(|e| {
        DaemonError::Config(format!(
            "{key} = {addr} is not an address of this host ({e}); \
             configure it on an interface first"
        ))
    })
}

/// A tokio runtime for one daemon: one thread, I/O and timers.
pub fn runtime() -> Result<tokio::runtime::Runtime, DaemonError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| {
            DaemonError::Io(crate::os::site::IoError {
                what: "starting the tokio runtime".into(),
                source: e,
            })
        })
}

/// Completes at the first SIGINT or SIGTERM (a clean shutdown follows).
/// Must run inside the runtime.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("cannot listen for SIGINT/SIGTERM; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Seconds since `start`, for logs and verdicts.
pub fn secs_since(start: Instant, now: Instant) -> f64 {
    now.saturating_duration_since(start).as_secs_f64()
}

/// A controller that installed kernel routes and removes them at exit.
pub trait Withdraw {
    /// Removes every route it installed.
    fn withdraw_routes(&mut self);
}

/// Runs a daemon until `stop`, then shuts it down cleanly: Deletes sent
/// (and their answers awaited for [`SHUTDOWN_GRACE`]), routes withdrawn.
/// The TUN devices go when the sites drop.
pub async fn serve<C: crate::os::host_loop::Controller + Withdraw>(
    host: &mut crate::os::host_loop::Host,
    sites: &[crate::os::site::SiteIo],
    ctl: &mut C,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    crate::os::host_loop::run(host, sites, ctl, None, stop).await?;
    crate::os::host_loop::close(host, sites, ctl, SHUTDOWN_GRACE).await?;
    ctl.withdraw_routes();
    Ok(())
}

/// When a controller publishes its view (and, with telemetry, its
/// [`Status`](crate::telemetry::Status)): on changes, and once a second for
/// the counters.
#[derive(Default)]
pub struct Publisher {
    tx: Option<view::ViewTx>,
    status: Option<tokio::sync::watch::Sender<crate::telemetry::Status>>,
    last: Option<Instant>,
}

impl Publisher {
    /// Whether anyone reads the status.
    pub fn wants_status(&self) -> bool {
        self.status.is_some()
    }

    /// Whether to publish now.
    pub fn due(&self, changed: bool, now: Instant) -> bool {
        (self.tx.is_some() || self.status.is_some())
            && (changed
                || self
                    .last
                    .is_none_or(|l| now.saturating_duration_since(l) >= Duration::from_secs(1)))
    }

    /// When the next periodic publication is due (a controller's
    /// `poll_timeout`, so counters stay fresh while nothing happens).
    pub fn next_due(&self) -> Option<Instant> {
        if self.tx.is_none() && self.status.is_none() {
            return None;
        }
        Some(
            self.last
                .map_or_else(Instant::now, |l| l + Duration::from_secs(1)),
        )
    }

    /// Publishes `v` and, if given, the status.
    pub fn publish(
        &mut self,
        v: view::View,
        status: Option<crate::telemetry::Status>,
        now: Instant,
    ) {
        if let Some(tx) = &self.tx {
            tx.send_replace(v);
        }
        if let (Some(tx), Some(s)) = (&self.status, status) {
            tx.send_replace(s);
        }
        self.last = Some(now);
    }
}

/// A daemon's devices, sockets and nodes, ready to run.
pub struct Setup<D> {
    /// The event loop's state (gateways, speakers).
    pub host: crate::os::host_loop::Host,
    /// The outside sockets and the TUN devices.
    pub sites: Vec<crate::os::site::SiteIo>,
    /// The controller.
    pub daemon: D,
}

/// A daemon's controller: steps on the event loop, withdraws its routes at
/// exit, publishes its view.
pub trait Daemon: crate::os::host_loop::Controller + Withdraw {
    /// Its publisher.
    fn publisher(&mut self) -> &mut Publisher;
    /// Publishes its view on `tx` from now on.
    fn publish_to(&mut self, tx: view::ViewTx) {
        self.publisher().tx = Some(tx);
    }
    /// Publishes its status on `tx` from now on.
    fn publish_status_to(&mut self, tx: tokio::sync::watch::Sender<crate::telemetry::Status>) {
        self.publisher().status = Some(tx);
    }
    /// An empty status of this daemon (before its first step).
    fn empty_status(&self) -> crate::telemetry::Status;
}

/// Sets a daemon up with `setup`, serves its status on `endpoints`
/// (`/metrics`, the control socket) and runs it until SIGINT or SIGTERM,
/// then shuts it down cleanly.
pub fn run_until_signal<D, F, Fut>(
    setup: F,
    endpoints: crate::telemetry::Endpoints,
) -> Result<(), DaemonError>
where
    D: Daemon,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Setup<D>, DaemonError>>,
{
    runtime()?.block_on(async {
        let Setup {
            mut host,
            sites,
            mut daemon,
        } = setup().await?;
        let (tx, rx) = tokio::sync::watch::channel(daemon.empty_status());
        let telemetry = crate::telemetry::serve(&endpoints, rx)
            .await
            .map_err(|e| DaemonError::Config(e.to_string()))?;
        if let Some(a) = telemetry.metrics_addr() {
            tracing::info!(listen = %a, "serving /metrics");
        }
        if let Some(p) = telemetry.control_socket() {
            tracing::info!(socket = %p.display(), "status on the control socket");
        }
        daemon.publish_status_to(tx);
        let r = serve(&mut host, &sites, &mut daemon, shutdown_signal()).await;
        telemetry.shutdown();
        r
    })
}

/// Sets a daemon up, lets `prepare` adjust it, and serves it until `stop`.
async fn set_up_and_serve<D, F, Fut>(
    setup: F,
    prepare: impl FnOnce(&mut D),
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError>
where
    D: Daemon,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Setup<D>, DaemonError>>,
{
    let Setup {
        mut host,
        sites,
        mut daemon,
    } = setup().await?;
    prepare(&mut daemon);
    serve(&mut host, &sites, &mut daemon, stop).await
}

/// Sets a daemon up with `setup` on a thread inside `ns` and runs it until
/// [`background::Background::stop`].
pub fn spawn_in<D, F, Fut>(
    ns: &lab::kernel::Netns,
    role: &'static str,
    setup: F,
) -> Result<background::Background, DaemonError>
where
    D: Daemon,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Setup<D>, DaemonError>>,
{
    background::Background::spawn(ns, role, move |ctl| {
        let stop = async {
            let _ = ctl.stop.await;
        };
        let view = ctl.view;
        runtime()?.block_on(set_up_and_serve(
            setup,
            |d: &mut D| d.publish_to(view),
            stop,
        ))
    })
    .map_err(kernel(format!("starting the {role} thread")))
}
