//! The CGW's `[[cgw.probe]]` probes in the kernel lab: the SLA daemon's
//! prober ([`crate::sla_daemon::driver`]) on real sockets, one thread per
//! `from` host inside its namespace, with the operations the simulated
//! lab runs ([`Placement`], the same `assemble::probe::operation`), and an
//! SLA responder ([`crate::sla_daemon::responder`]) on every host
//! namespace for each UDP probe port (the simulated hosts answer UDP
//! probes on any port). The probers publish their status on a watch
//! channel; [`KernelProbes::sample`] reads it at every sample tick.
//!
//! Everything stops and is joined by [`KernelProbes::stop`] or on drop
//! (the run's cleanup path, also on interrupt or failure).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use sla::config::OperationKind;

use super::topology::{KernelNode, KernelTopology};
use crate::runner::probes::{totals_line, Placement, ProbeSample};
use crate::scenario::Probe;
use crate::sla_daemon::events::EventSink;
use crate::sla_daemon::{driver, responder, SlaStatus};

/// How long a responder may take to bind before the run gives up.
const BIND_WAIT: Duration = Duration::from_secs(5);

/// A probe or responder thread: its name, and its error if it failed (an
/// outer error: it could not enter its namespace).
type Worker = (String, JoinHandle<lab::kernel::Result<Result<(), String>>>);

/// The probers and responders of one kernel run.
#[derive(Default)]
pub(crate) struct KernelProbes {
    /// Dropping a sender stops its thread.
    stops: Vec<oneshot::Sender<()>>,
    workers: Vec<Worker>,
    /// Each prober host's published status.
    status: Vec<watch::Receiver<SlaStatus>>,
    /// Per placed probe: (index in `status`, operation index).
    placed: Vec<(usize, usize)>,
    /// Per placed probe: its label for the report.
    pub labels: Vec<String>,
    /// Indices in `workers` already reported as stopped early.
    failed: Vec<usize>,
}

/// A runtime for one thread (I/O and timers).
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    crate::sla_daemon::runtime().map_err(|e| e.to_string())
}

/// What stops a thread: its sender sent or dropped.
async fn stopped(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

impl KernelProbes {
    /// Starts `probes` in `topo`'s host namespaces: the responders first
    /// (bound before any probe is sent: a probe that meets a closed port
    /// counts as unreachable), then one prober per `from` host, whose
    /// first cycles start at `epoch + first` (as simulated).
    pub fn start(
        topo: &KernelTopology,
        probes: &[Probe],
        epoch: Instant,
        first: Duration,
    ) -> Result<KernelProbes, String> {
        let mut k = KernelProbes::default();
        if probes.is_empty() {
            return Ok(k);
        }
        let a = topo.addresses();
        let hosts: [(&str, KernelNode, Ipv4Addr); 2] = [
            ("onprem", KernelNode::Onprem, a.onprem_host),
            ("vpc", KernelNode::Vpc, a.vpc_host),
        ];
        let find = |n: &str| hosts.iter().find(|h| h.0 == n);
        let plan = Placement::new(probes, |n| find(n).map(|h| IpAddr::V4(h.2)));
        let ports: BTreeSet<u16> = plan
            .hosts
            .iter()
            .flat_map(|(_, ops)| ops)
            .filter(|o| matches!(o.kind, OperationKind::UdpEcho | OperationKind::UdpJitter))
            .filter_map(|o| o.port)
            .collect();
        for (name, node, _) in &hosts {
            for port in &ports {
                k.responder(topo, name, *node, *port)?;
            }
        }
        for (name, ops) in plan.hosts {
            let Some((_, node, _)) = find(&name) else {
                continue;
            };
            let ns = topo.ns(*node).map_err(|e| e.to_string())?;
            let (tx, rx) = watch::channel(SlaStatus::default());
            let (stop_tx, stop_rx) = oneshot::channel();
            let start_at = epoch + first;
            let w = ns
                .spawn(move || -> Result<(), String> {
                    runtime()?.block_on(async move {
                        let stop = stopped(stop_rx);
                        tokio::pin!(stop);
                        tokio::select! {
                            () = &mut stop => return Ok(()),
                            () = tokio::time::sleep_until(start_at.into()) => {}
                        }
                        driver::run(ops, EventSink::Discard, tx, stop)
                            .await
                            .map_err(|e| e.to_string())
                    })
                })
                .map_err(|e| format!("the prober in {name}: {e}"))?;
            k.stops.push(stop_tx);
            k.workers.push((format!("the prober in {name}"), w));
            k.status.push(rx);
        }
        k.placed = plan.placed;
        k.labels = plan.labels;
        Ok(k)
    }

    /// Starts a responder on `port` in `node`'s namespace and waits until
    /// it is bound.
    fn responder(
        &mut self,
        topo: &KernelTopology,
        name: &str,
        node: KernelNode,
        port: u16,
    ) -> Result<(), String> {
        let what = format!("the SLA responder on {name}:{port}");
        let ns = topo.ns(node).map_err(|e| e.to_string())?;
        let (bound_tx, bound_rx) = mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = oneshot::channel();
        let listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        let w = ns
            .spawn(move || -> Result<(), String> {
                let rt = match runtime() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = bound_tx.send(Err(e.clone()));
                        return Err(e);
                    }
                };
                rt.block_on(async move {
                    let sock = match responder::bind(listen).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = bound_tx.send(Err(e.to_string()));
                            return Err(e.to_string());
                        }
                    };
                    let _ = bound_tx.send(Ok(()));
                    responder::serve(sock, stopped(stop_rx)).await;
                    Ok(())
                })
            })
            .map_err(|e| format!("{what}: {e}"))?;
        self.stops.push(stop_tx);
        self.workers.push((what.clone(), w));
        match bound_rx.recv_timeout(BIND_WAIT) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{what}: {e}")),
            Err(_) => Err(format!("{what}: not bound within {BIND_WAIT:?}")),
        }
    }

    /// Every placed probe's figures now (in probe order, as the simulated
    /// lab samples them).
    pub fn sample(&self) -> Vec<ProbeSample> {
        self.placed
            .iter()
            .map(|(host, op)| {
                self.status
                    .get(*host)
                    .and_then(|rx| {
                        rx.borrow()
                            .operations
                            .get(*op)
                            .map(ProbeSample::from_snapshot)
                    })
                    .unwrap_or_else(ProbeSample::none)
            })
            .collect()
    }

    /// The threads that ended before being stopped (a socket that could
    /// not be opened), by name, each once.
    pub fn newly_failed(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        for (i, (n, w)) in self.workers.iter().enumerate() {
            if w.is_finished() && !self.failed.contains(&i) {
                self.failed.push(i);
                v.push(n.clone());
            }
        }
        v
    }

    /// Stops and joins every thread; returns each probe's totals line
    /// (from the last status) and the threads' errors.
    pub fn stop(mut self) -> (Vec<String>, Vec<String>) {
        let errors = self.join();
        let totals = self
            .placed
            .iter()
            .zip(&self.labels)
            .map(|((host, op), label)| {
                match self
                    .status
                    .get(*host)
                    .and_then(|rx| rx.borrow().operations.get(*op).cloned())
                {
                    Some(s) => totals_line(label, s.cycles, &s.total, s.mos.zip(s.icpif), &s.track),
                    None => format!("{label}: never ran"),
                }
            })
            .collect();
        (totals, errors)
    }

    /// Stops and joins every thread (bounded: each stops at its next
    /// wake-up); their errors.
    fn join(&mut self) -> Vec<String> {
        self.stops.clear();
        let mut errors = Vec::new();
        for (name, w) in self.workers.drain(..) {
            match w.join() {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => errors.push(format!("{name}: {e}")),
                Ok(Err(e)) => errors.push(format!("{name}: {e}")),
                Err(_) => errors.push(format!("{name}: panicked")),
            }
        }
        errors
    }
}

impl Drop for KernelProbes {
    fn drop(&mut self) {
        self.join();
    }
}
