//! The kernel routes a daemon owns (IPv4 and IPv6): prefixes sent into a tunnel's TUN
//! device, as BGP or the static configuration says. [`KernelRoutes::sync`]
//! brings the kernel's main table to the wanted set (adding, moving and
//! withdrawing only what changed) and [`KernelRoutes::clear`] removes every
//! route it installed (at exit). Routes it did not install are never
//! touched; one that already exists is reported, not replaced.

use std::collections::BTreeMap;

use crate::scenario::Prefix;
use lab::kernel::{Netns, Route, RouteVia};

/// What a [`KernelRoutes::sync`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    /// A route was installed towards a device.
    Added {
        /// The prefix.
        prefix: Prefix,
        /// The TUN device.
        dev: String,
    },
    /// A route was removed.
    Removed {
        /// The prefix.
        prefix: Prefix,
        /// The device it pointed to.
        dev: String,
    },
    /// The kernel refused a change.
    Failed {
        /// The prefix.
        prefix: Prefix,
        /// What was tried and the kernel's answer.
        error: String,
    },
}

/// The routes a daemon installed in its namespace. See the module
/// documentation.
pub struct KernelRoutes {
    ns: Netns,
    installed: BTreeMap<Prefix, String>,
}

fn route(prefix: Prefix, dev: &str) -> Route {
    Route {
        dest: prefix.addr,
        prefix_len: prefix.len,
        via: RouteVia::Device(dev.to_string()),
    }
}

impl KernelRoutes {
    /// Routes in the calling thread's namespace.
    pub fn here() -> Result<KernelRoutes, lab::kernel::KernelError> {
        Ok(KernelRoutes {
            ns: Netns::here()?,
            installed: BTreeMap::new(),
        })
    }

    /// What is installed now (prefix, device).
    pub fn installed(&self) -> &BTreeMap<Prefix, String> {
        &self.installed
    }

    /// Makes the installed set equal `wanted` (prefix to device).
    pub fn sync(&mut self, wanted: &BTreeMap<Prefix, String>) -> Vec<RouteChange> {
        let mut changes = Vec::new();
        let stale: Vec<(Prefix, String)> = self
            .installed
            .iter()
            .filter(|(p, d)| wanted.get(*p) != Some(*d))
            .map(|(p, d)| (*p, d.clone()))
            .collect();
        for (prefix, dev) in stale {
            self.installed.remove(&prefix);
            changes.push(match self.ns.del_route(&route(prefix, &dev)) {
                Ok(()) => RouteChange::Removed { prefix, dev },
                // The device went away with its routes: nothing to remove.
                Err(lab::kernel::KernelError::NoSuchLink { .. }) => {
                    RouteChange::Removed { prefix, dev }
                }
                Err(e) => RouteChange::Failed {
                    prefix,
                    error: format!("removing the route via {dev}: {e}"),
                },
            });
        }
        for (prefix, dev) in wanted {
            if self.installed.contains_key(prefix) {
                continue;
            }
            match self.ns.add_route(&route(*prefix, dev)) {
                Ok(()) => {
                    self.installed.insert(*prefix, dev.clone());
                    changes.push(RouteChange::Added {
                        prefix: *prefix,
                        dev: dev.clone(),
                    });
                }
                Err(e) => changes.push(RouteChange::Failed {
                    prefix: *prefix,
                    error: format!("adding the route via {dev}: {e}"),
                }),
            }
        }
        changes
    }

    /// Removes every route installed.
    pub fn clear(&mut self) -> Vec<RouteChange> {
        self.sync(&BTreeMap::new())
    }
}

/// A prefix's text form, for logs and status.
pub fn prefix_text(p: Prefix) -> String {
    format!("{}/{}", p.addr, p.len)
}
