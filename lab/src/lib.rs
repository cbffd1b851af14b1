//! Where packets flow: the simulated network (this module tree) and, on
//! Linux, the kernel lab's plumbing ([`kernel`]: namespaces, netlink, TUN).
//!
//! The simulated network is a discrete-event simulator on a virtual clock.
//! Nodes are sans-IO like the protocol engines ([`Node`]): they are handed
//! packets and `now`, and say what to send and when to be woken. The
//! [`Sim`] joins node interfaces with point-to-point [`Link`](sim::LinkConfig)s
//! that have latency, jitter, loss, an MTU, an up/down state, an optional
//! [`Firewall`] and pcap taps. Every random choice (jitter, loss) comes from
//! a ChaCha20 generator seeded by the caller, and events at the same instant
//! run in the order they were scheduled, so a seed reproduces a run byte for
//! byte. The simulator never reads the real clock during a run.
//!
//! Built-in nodes: [`Router`] ("the internet"), [`Nat`] (NAPT with mapping
//! timeouts), [`Host`] (a smoltcp TCP/IP stack: TCP and ICMP echo). This
//! crate never depends on `ike`, `bgp` or `cgw-sim`: their nodes plug in
//! through [`Node`].

#![warn(missing_docs)]

use std::time::Instant;

pub mod firewall;
pub mod frag;
pub mod host;
#[cfg(target_os = "linux")]
pub mod kernel;
pub mod mss;
pub mod nat;
pub mod pcap;
pub mod router;
pub mod sim;
pub mod wire;

pub use firewall::{Firewall, Rule, RuleId};
pub use host::{Host, HostConfig, HostError, HostStats, PingReply, SocketId, TcpState};
pub use nat::{Nat, NatConfig, NatStats};
pub use pcap::PcapWriter;
pub use router::{Router, RouterStats};
pub use sim::{Fault, LinkConfig, LinkId, LinkStats, NodeId, Sim, TapId};
pub use wire::Prefix;

/// An interface of one node, numbered by the node (0, 1, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfaceId(pub u16);

/// A network element, sans-IO. The simulator calls `handle_packet` when a
/// packet arrives on one of its interfaces and `handle_timeout` when the
/// instant from `poll_timeout` is reached; after every call it drains
/// `poll_transmit` and asks `poll_timeout` again. Packets are whole IPv4
/// packets as bytes. Implementations must not panic on any input.
pub trait Node {
    /// A packet arrived on `iface` at `now`.
    fn handle_packet(&mut self, now: Instant, iface: IfaceId, packet: &[u8]);
    /// The deadline from `poll_timeout` was reached (`now` is at or after it).
    fn handle_timeout(&mut self, now: Instant);
    /// The next packet to send, and the interface to send it on.
    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)>;
    /// When the node next wants `handle_timeout`, if ever. A deadline in
    /// the past means "now". After `handle_timeout` the node should report a
    /// later deadline (or none): the simulator does not wake a node twice for
    /// the same deadline.
    fn poll_timeout(&self) -> Option<Instant>;
}
