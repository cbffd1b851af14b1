//! A daemon on a thread of its own, inside a network namespace: how the
//! kernel lab and the tests run our customer gateway and our AWS mock next
//! to each other in one process. [`Background::stop`] shuts it down the
//! way SIGTERM does (Deletes sent, routes withdrawn, TUN devices removed).

use std::thread::JoinHandle;

use lab::kernel::Netns;

use super::view::{self, View, ViewRx};
use super::DaemonError;

/// A daemon running on its own thread. Dropping it stops it.
pub struct Background {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    view: ViewRx,
    thread: Option<JoinHandle<Result<Result<(), DaemonError>, lab::kernel::KernelError>>>,
}

/// What a background daemon's body gets: its stop signal and where to
/// publish its view.
pub struct Control {
    /// Completes when the daemon must stop.
    pub stop: tokio::sync::oneshot::Receiver<()>,
    /// Where to publish.
    pub view: view::ViewTx,
}

impl Background {
    /// Runs `body` on a new thread inside `ns`.
    pub fn spawn(
        ns: &Netns,
        role: &'static str,
        body: impl FnOnce(Control) -> Result<(), DaemonError> + Send + 'static,
    ) -> Result<Background, lab::kernel::KernelError> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (vtx, vrx) = view::channel(role);
        let thread = ns.spawn(move || {
            body(Control {
                stop: stop_rx,
                view: vtx,
            })
        })?;
        Ok(Background {
            stop: Some(stop_tx),
            view: vrx,
            thread: Some(thread),
        })
    }

    /// The latest view.
    pub fn view(&self) -> View {
        self.view.borrow().clone()
    }

    /// Whether the thread has ended (an error at start, or stopped).
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops it cleanly and returns how it ended.
    pub fn stop(mut self) -> Result<(), String> {
        self.halt()
    }

    fn halt(&mut self) -> Result<(), String> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(Ok(Ok(())))) => Ok(()),
            Some(Ok(Ok(Err(e)))) => Err(e.to_string()),
            Some(Ok(Err(e))) => Err(e.to_string()),
            Some(Err(_)) => Err("the daemon thread panicked".into()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}
