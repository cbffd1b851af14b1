//! `cgw-sim run`'s keepalive: the SLA prober on a thread of its own (in
//! the network namespace of the thread that starts it, which a new thread
//! inherits), running the gateway's per-tunnel operations
//! ([`crate::assemble::probe::keepalive_operations`]) with the same
//! sockets and loop as `cgw-sim sla`; events go to the log, figures to
//! `run`'s status and `/metrics` ([`Keepalive::status`]). Stopped and
//! joined on drop.

use std::thread::JoinHandle;

use sla::config::OperationConfig;
use tokio::sync::{oneshot, watch};

use super::events::EventSink;
use super::snapshot::SlaStatus;

/// A running keepalive. See the module documentation.
pub struct Keepalive {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    status: watch::Receiver<SlaStatus>,
}

impl Keepalive {
    /// Starts probing `ops` (their sockets open on the new thread; a
    /// failure there is logged and ends the keepalive, never the
    /// gateway).
    pub fn start(ops: Vec<OperationConfig>) -> std::io::Result<Keepalive> {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (tx, status) = watch::channel(SlaStatus::default());
        let thread = std::thread::Builder::new()
            .name("keepalive".into())
            .spawn(move || {
                let rt = match super::runtime() {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::warn!(error = %e, "keepalive not started");
                        return;
                    }
                };
                let stop = async {
                    let _ = stop_rx.await;
                };
                if let Err(e) = rt.block_on(super::driver::run(ops, EventSink::Log, tx, stop)) {
                    tracing::warn!(error = %e, "keepalive stopped");
                }
            })?;
        Ok(Keepalive {
            stop: Some(stop_tx),
            thread: Some(thread),
            status,
        })
    }

    /// The prober's latest published figures (each second and after
    /// every event).
    pub fn status(&self) -> SlaStatus {
        self.status.borrow().clone()
    }
}

impl Drop for Keepalive {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
