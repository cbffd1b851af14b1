//! The kernel lab's network (Linux only, root): a scenario's topology built
//! from network namespaces and veth pairs, real hosts in them, and the
//! scenario's link faults applied with nftables and link state.
//!
//! The namespaces mirror the simulated lab (`runner::topology`): `onprem`
//! (a host) - `cgw` - [`nat`] - `inet` (a router) - `aws` (both AWS tunnel
//! endpoint addresses, and the VPC router) - `vpc` (a host), with the same
//! addresses. The gateways themselves (our CGW and the AWS mock) are not
//! started here: the caller runs them inside [`KernelTopology::ns`] with
//! [`lab::kernel::Netns::run`] and opens their TUN devices there with
//! [`lab::kernel::Netns::open_tun`].
//!
//! - [`topology`]: namespaces, veths, addresses, routes, the NAT.
//! - [`faults`]: block/unblock, link down/up, loss, MTU, source address.
//! - [`hosts`]: `ping` between namespaces, a TCP listener and client.
//! - [`marking`]: whether a scenario can run on the kernel, and why not.
//! - [`probes`]: the CGW's `[[cgw.probe]]` probes and their responders.
//!
//! Everything is removed when the [`KernelTopology`] drops (also during a
//! panic); namespaces carry our PID, so [`lab::kernel::cleanup_stale`]
//! removes what a killed process left.
//!
//! [`nat`]: KernelNode::Nat

pub mod faults;
pub mod hosts;
pub mod marking;
mod nft;
pub(crate) mod probes;
pub mod run;
pub mod topology;

pub use faults::FaultEffect;
pub use hosts::{
    ping, tcp_transfer, PingProbe, PingReport, PingRequest, TcpListenerHost, TcpOutcome, TcpReport,
    TcpRequest,
};
pub use marking::{kernel_support, KernelSupport, MAX_KERNEL_DURATION};
pub use topology::{KernelAddresses, KernelNode, KernelTopology, LinkEnd};

use std::net::Ipv4Addr;

/// Why a kernel-lab operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KernelLabError {
    /// Namespace, netlink or TUN plumbing failed (or the address guard
    /// refused an address outside the lab plan).
    #[error(transparent)]
    Kernel(#[from] lab::kernel::KernelError),
    /// The `nft` command failed or could not be run.
    #[error("nft in namespace {ns}: {message}")]
    Nft {
        /// The namespace it ran in.
        ns: String,
        /// nft's error output, or why it could not start.
        message: String,
    },
    /// The scenario's topology cannot be built on the kernel.
    #[error("kernel topology: {0}")]
    Topology(String),
    /// No link of that name in this topology.
    #[error("no link {0:?} in the kernel topology (links: onprem-lan, cgw-wan, nat-wan with a NAT, aws1-wan, aws2-wan, vpc-lan)")]
    NoSuchLink(String),
    /// A fault or impairment the kernel lab cannot reproduce.
    #[error("{what} is simulated-only: {why}")]
    SimulatedOnly {
        /// The fault, as the scenario names it.
        what: String,
        /// Why the kernel lab cannot do it.
        why: String,
    },
    /// A fault whose arguments do not fit (e.g. unblock without a block).
    #[error("{0}")]
    BadFault(String),
    /// An operating-system call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl KernelLabError {
    fn io(op: impl Into<String>, source: std::io::Error) -> KernelLabError {
        KernelLabError::Io {
            op: op.into(),
            source,
        }
    }
}

/// Result of a kernel-lab operation.
pub type Result<T> = std::result::Result<T, KernelLabError>;

/// The /24 holding `addr` (the kernel lab gives every outside link a /24).
fn slash24(addr: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(addr) & 0xffff_ff00)
}
