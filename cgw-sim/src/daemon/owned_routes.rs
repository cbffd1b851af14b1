//! The kernel routes a daemon owns, with when they need bringing up to
//! date and the log line of each change (shared by `run` and `mock-aws`).

use std::collections::BTreeMap;

use crate::scenario::Prefix;

use super::DaemonError;
use crate::os::routes::{prefix_text, KernelRoutes, RouteChange};

/// A daemon's kernel routes. Marked on every event that may change them,
/// synced at the next step; a change the kernel refused is tried again.
pub struct OwnedRoutes {
    kernel: KernelRoutes,
    dirty: bool,
    role: &'static str,
}

impl OwnedRoutes {
    /// Routes in the calling thread's namespace, logged as `role`'s.
    pub fn here(role: &'static str) -> Result<OwnedRoutes, DaemonError> {
        Ok(OwnedRoutes {
            kernel: KernelRoutes::here()
                .map_err(super::kernel("opening this network namespace"))?,
            dirty: true,
            role,
        })
    }

    /// Something changed that may change the wanted routes.
    pub fn mark(&mut self) {
        self.dirty = true;
    }

    /// Whether a sync is due (and clears the mark).
    pub fn take_due(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Brings the kernel to `want`, logging each change.
    pub fn apply(&mut self, want: &BTreeMap<Prefix, String>) {
        for c in self.kernel.sync(want) {
            // A refused change is tried again at the next step.
            self.dirty |= matches!(c, RouteChange::Failed { .. });
            self.log(&c);
        }
    }

    /// Removes every route installed.
    pub fn clear(&mut self) {
        for c in self.kernel.clear() {
            self.log(&c);
        }
    }

    /// What is installed (prefix, device).
    pub fn installed(&self) -> &BTreeMap<Prefix, String> {
        self.kernel.installed()
    }

    /// What is installed, as a list (for views).
    pub fn listed(&self) -> Vec<(Prefix, String)> {
        self.installed()
            .iter()
            .map(|(p, d)| (*p, d.clone()))
            .collect()
    }

    fn log(&self, c: &RouteChange) {
        let role = self.role;
        match c {
            RouteChange::Added { prefix, dev } => {
                tracing::info!(role, prefix = prefix_text(*prefix), dev, "route installed")
            }
            RouteChange::Removed { prefix, dev } => {
                tracing::info!(role, prefix = prefix_text(*prefix), dev, "route withdrawn")
            }
            RouteChange::Failed { prefix, error } => {
                tracing::warn!(
                    role,
                    prefix = prefix_text(*prefix),
                    error,
                    "route change refused"
                )
            }
        }
    }
}
