//! The daemons' event loop: gateways on their [`SiteIo`]s, BGP speakers on
//! kernel TCP ([`KernelBgp`]), and a [`Controller`] (the daemon's own
//! logic: routes, status, checks) stepped after every wake-up. One thread,
//! a tokio current-thread runtime; it sleeps until the earliest deadline of
//! the gateways, the speakers and the controller, or until a socket, a TUN
//! device or a BGP task has something.
//!
//! This (with the daemons' `main`) is the only code that reads the clock:
//! the engines are handed `Instant::now()` at each wake-up.

use std::future::Future;
use std::time::{Duration, Instant};

use super::bgp_tcp::{BgpRx, BgpTx, KernelBgp};
use super::site::{DriverStats, IoError, Ready, SiteIo, BUF};
use crate::node::TunnelGateway;

/// The state a daemon's event loop drives.
pub struct Host {
    /// The gateways, one per [`SiteIo`], in the same order.
    pub gateways: Vec<TunnelGateway>,
    /// The BGP speakers.
    pub speakers: Vec<KernelBgp>,
    /// What the I/O carried.
    pub stats: DriverStats,
    bgp_tx: BgpTx,
    bgp_rx: BgpRx,
}

impl Host {
    /// A host with these gateways and no speaker yet.
    pub fn new(gateways: Vec<TunnelGateway>) -> Host {
        let (bgp_tx, bgp_rx) = tokio::sync::mpsc::unbounded_channel();
        Host {
            gateways,
            speakers: Vec::new(),
            stats: DriverStats::default(),
            bgp_tx,
            bgp_rx,
        }
    }

    /// Adds a BGP speaker (inside the runtime: its listeners are tasks);
    /// returns its index in [`Host::speakers`].
    pub fn add_speaker(&mut self, speaker: bgp::speaker::Speaker) -> usize {
        let i = self.speakers.len();
        self.speakers
            .push(KernelBgp::new(i, speaker, self.bgp_tx.clone()));
        i
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let gws = self.gateways.iter().filter_map(lab::Node::poll_timeout);
        let sps = self.speakers.iter().filter_map(KernelBgp::poll_timeout);
        gws.chain(sps).min()
    }

    fn timeouts(&mut self, now: Instant) {
        for gw in &mut self.gateways {
            if lab::Node::poll_timeout(gw).is_some_and(|t| t <= now) {
                lab::Node::handle_timeout(gw, now);
            }
        }
        for sp in &mut self.speakers {
            sp.pump(now);
        }
    }

    fn flush(&mut self, sites: &[SiteIo]) {
        for (io, gw) in sites.iter().zip(&mut self.gateways) {
            io.flush(gw, &mut self.stats);
        }
    }
}

/// A daemon's own logic, stepped by [`run`].
pub trait Controller {
    /// Called after every wake-up, once the gateways and speakers handled
    /// their inputs and timers: follow tunnel and BGP events, install
    /// routes, publish status, run checks.
    fn step(&mut self, host: &mut Host, sites: &[SiteIo], now: Instant);
    /// The controller's own next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether the loop should end (a `validate` that has its verdict).
    fn done(&self) -> bool {
        false
    }
}

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The controller said it is done.
    Done,
    /// The `stop` future completed (a signal, or the caller).
    Stop,
    /// The deadline passed.
    Deadline,
}

/// Waits for site `i`, or forever when there is none.
async fn site_ready(site: Option<&SiteIo>) -> Result<Ready<'_>, IoError> {
    match site {
        Some(s) => s.ready().await,
        None => std::future::pending().await,
    }
}

/// Runs the loop until the controller is done, `stop` completes or
/// `deadline` passes. At most two sites. Must run inside a tokio runtime.
pub async fn run(
    host: &mut Host,
    sites: &[SiteIo],
    ctl: &mut dyn Controller,
    deadline: Option<Instant>,
    stop: impl Future<Output = ()>,
) -> Result<Stopped, IoError> {
    let mut buf = vec![0u8; BUF];
    tokio::pin!(stop);
    loop {
        let now = Instant::now();
        host.timeouts(now);
        ctl.step(host, sites, now);
        host.flush(sites);
        if ctl.done() {
            return Ok(Stopped::Done);
        }
        if deadline.is_some_and(|d| now >= d) {
            return Ok(Stopped::Deadline);
        }
        let wake = [host.poll_timeout(), ctl.poll_timeout(), deadline]
            .into_iter()
            .flatten()
            .min()
            // Nothing scheduled: look again in a while (a status refresh).
            .unwrap_or(now + Duration::from_secs(1))
            .max(now);
        tokio::select! {
            r = site_ready(sites.first()) => {
                let ready = r?;
                sites[0].drain(ready, &mut host.gateways[0], &mut buf, &mut host.stats);
            }
            r = site_ready(sites.get(1)) => {
                let ready = r?;
                sites[1].drain(ready, &mut host.gateways[1], &mut buf, &mut host.stats);
            }
            Some((i, io)) = host.bgp_rx.recv() => {
                if let Some(sp) = host.speakers.get_mut(i) {
                    sp.handle_io(io, Instant::now());
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = &mut stop => return Ok(Stopped::Stop),
        }
    }
}

/// A clean shutdown: every gateway deletes its IKE SAs (INFORMATIONAL
/// Delete), then the loop runs for up to `grace` so the deletes go out and
/// the peers' answers come back.
pub async fn close(
    host: &mut Host,
    sites: &[SiteIo],
    ctl: &mut dyn Controller,
    grace: Duration,
) -> Result<(), IoError> {
    let now = Instant::now();
    for gw in &mut host.gateways {
        gw.close_all(now);
    }
    host.flush(sites);
    let mut grace_ctl = Grace(ctl);
    run(
        host,
        sites,
        &mut grace_ctl,
        Some(now + grace),
        std::future::pending(),
    )
    .await?;
    Ok(())
}

/// A controller stepped through the shutdown grace period, which never
/// ends it early.
struct Grace<'a>(&'a mut dyn Controller);

impl Controller for Grace<'_> {
    fn step(&mut self, host: &mut Host, sites: &[SiteIo], now: Instant) {
        self.0.step(host, sites, now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
}
