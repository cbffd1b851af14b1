//! The kernel lab's plumbing (Linux only): network namespaces, netlink
//! configuration inside them, and TUN devices.
//!
//! This is the product's own code for running the lab on kernel networking
//! (issue 6): it never shells out to `ip`. A [`Netns`] is a named namespace
//! (`cgwk-<pid>-<n>`, visible to `ip netns`), deleted when the handle drops,
//! also during a panic; [`cleanup_stale`] removes the ones whose creating
//! process died. Every configuration call runs on a short-lived thread that
//! has entered the namespace (`setns`), with a tokio current-thread runtime
//! driving an `rtnetlink` connection opened there. [`Tun`] is a `tun-rs`
//! device created inside a namespace, read and written without blocking.
//!
//! Every address and route goes through the [`guard`]: only the lab plan
//! (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15,
//! 169.254.0.0/16, and fd00::/8 for IPv6), never a default route, so a mistake cannot route real
//! traffic. Nothing here touches the host's root namespace.

pub mod guard;
mod netlink;
mod netns;
mod tun;

pub use guard::{check_addr, check_prefix, LAB_PLAN, LAB_PLAN_V6};
pub use netlink::{AddrEntry, LinkEntry, Route, RouteEntry, RouteVia};
pub use netns::{cleanup_stale, Netns, NETNS_DIR, PREFIX};
pub use tun::{Tun, TunConfig, TunRecv, TunSend};

use std::net::IpAddr;

/// Why a kernel-lab operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The address or prefix lies outside the lab address plan.
    #[error(
        "{addr}/{prefix_len} is outside the lab address plan (192.0.2.0/24, 198.51.100.0/24, \
         203.0.113.0/24, 198.18.0.0/15, 169.254.0.0/16, fd00::/8); the kernel lab configures \
         nothing else"
    )]
    OutsidePlan {
        /// The refused address (or prefix network).
        addr: IpAddr,
        /// Its prefix length (32 for a single address).
        prefix_len: u8,
    },
    /// A default route (prefix length 0) was asked for.
    #[error("default route {addr}/0 refused: lab namespaces never get a default route")]
    DefaultRoute {
        /// The refused prefix's network address.
        addr: IpAddr,
    },
    /// A prefix length above 32 (IPv4) or 128 (IPv6).
    #[error("{addr}/{prefix_len}: a prefix length is at most 32 for IPv4, 128 for IPv6")]
    BadPrefixLen {
        /// The address given.
        addr: IpAddr,
        /// The prefix length given.
        prefix_len: u8,
    },
    /// An IPv6 route through an IPv4 gateway.
    #[error("{route}: an IPv6 route goes out of a device, not via an IPv4 gateway")]
    MixedFamilies {
        /// The route asked for.
        route: String,
    },
    /// An interface or namespace name the kernel would refuse or misread.
    #[error("invalid name {name:?}: {why}")]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// No interface of that name in the namespace.
    #[error("no interface {dev:?} in namespace {ns}")]
    NoSuchLink {
        /// The interface asked for.
        dev: String,
        /// The namespace searched.
        ns: String,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused a netlink request.
    #[error("netlink {op} in namespace {ns}: {source}")]
    Netlink {
        /// What was being done.
        op: String,
        /// The namespace it was done in.
        ns: String,
        /// rtnetlink's error (carries the kernel's errno).
        #[source]
        source: rtnetlink::Error,
    },
    /// A netlink request got no answer in time.
    #[error("netlink {op} in namespace {ns}: no answer within {secs} s")]
    Timeout {
        /// What was being done.
        op: String,
        /// The namespace it was done in.
        ns: String,
        /// The limit.
        secs: u64,
    },
}

impl KernelError {
    pub(crate) fn io(op: impl Into<String>, source: std::io::Error) -> KernelError {
        KernelError::Io {
            op: op.into(),
            source,
        }
    }
}

/// Result of a kernel-lab operation.
pub type Result<T> = std::result::Result<T, KernelError>;

/// Check an interface name: non-empty, at most 15 bytes (IFNAMSIZ - 1), no
/// `/`, whitespace or NUL (the kernel refuses those or reads them as paths).
pub(crate) fn check_ifname(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("empty")
    } else if name.len() > 15 {
        Some("longer than 15 bytes (IFNAMSIZ)")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
    {
        Some("contains '/', ':', whitespace or NUL")
    } else {
        None
    };
    match why {
        Some(why) => Err(KernelError::BadName {
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}
