//! [`run_for`]: one [`TunnelGateway`] on this host's sockets and TUN
//! devices for a fixed time, in the calling thread's network namespace:
//! the event loop of [`super::host_loop`] with no BGP and no controller
//! logic. Tests and benchmarks use it to put a bare gateway on a host.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lab::kernel::Tun;

use super::host_loop::{self, Controller, Host};
use super::site::{io_err, SiteIo};
pub use super::site::{DriverStats, IoError as DriverError};
use crate::node::TunnelGateway;

/// Calls `start` once, at the first step.
struct Starter<F>(Option<F>);

impl<F: FnOnce(&mut TunnelGateway, Instant)> Controller for Starter<F> {
    fn step(&mut self, host: &mut Host, _: &[SiteIo], now: Instant) {
        if let Some(f) = self.0.take() {
            f(&mut host.gateways[0], now);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// Runs `gw` on sockets bound to `local` and on `tuns` (one per tunnel, in
/// order) for `duration`, after calling `start` on it once the sockets are
/// open (to initiate tunnels). Returns the gateway and what was carried.
/// At most two tunnels are driven.
pub fn run_for(
    gw: TunnelGateway,
    local: Ipv4Addr,
    tuns: Vec<Tun>,
    duration: Duration,
    start: impl FnOnce(&mut TunnelGateway, Instant),
) -> Result<(TunnelGateway, DriverStats), DriverError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(io_err("starting the tokio runtime"))?;
    rt.block_on(async move {
        let site = SiteIo::open(local, tuns).await?;
        let mut host = Host::new(vec![gw]);
        let mut ctl = Starter(Some(start));
        let end = Instant::now() + duration;
        let sites = [site];
        host_loop::run(
            &mut host,
            &sites,
            &mut ctl,
            Some(end),
            std::future::pending(),
        )
        .await?;
        let stats = host.stats;
        let gw = host.gateways.pop().expect("the gateway given");
        Ok((gw, stats))
    })
}
