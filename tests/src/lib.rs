//! Test harness: network namespaces, real peers (strongSwan, BIRD), tshark.
//!
//! Everything here runs only inside network namespaces this crate creates,
//! with addresses from the lab plan in DESIGN.md (192.0.2.0/24,
//! 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15, 169.254.0.0/16; IPv6 in
//! fd00::/8, BGP-only prefixes in 2001:db8::/32), never a default route,
//! and stops only the processes it started (by PID, checking
//! `/proc/PID/comm` first). Names are unique per process and per call
//! (`cgwt-<pid>-<n>`), so tests in one binary may run in parallel.
//!
//! Modules:
//! - [`require`]: preflight checks that panic with a precise message.
//! - [`engine`]: our IKE/ESP endpoint on real UDP sockets in a namespace.
//! - [`icmp`]: IPv4 ICMP echo packets for pings through our ESP SAs.
//! - [`lab_capture`]: simulated-lab scenarios run with capture and read
//!   back with tshark and the run's key files (no root needed).
//! - [`netns`]: RAII namespaces, veth links, commands and closures inside.
//! - [`bgp_engine`]: our BGP speaker on real TCP sockets in a namespace.
//! - [`bird`]: a BIRD 2 daemon in a namespace, driven through birdc.
//! - [`strongswan`]: a charon daemon in a namespace, driven through swanctl.
//! - [`tshark`]: captures, malformed-packet checks, Wireshark key files.
//! - [`proc`]: bounded command execution, daemons, scratch directories.
//! - [`vpn_topology`]: the end-to-end VPN lab (on-prem, CGW, internet, AWS's
//!   two endpoints, VPC) with slots for real peers or our daemons, and the
//!   data-plane checks (ping, TCP transfer, failover time).
//! - [`vpn_side`], [`aws_peer`], [`cgw_peer`]: strongSwan + BIRD playing
//!   AWS or a customer device in that lab; [`vpn_lab`] puts it together.
//! - [`ours`]: our daemons (`cgw-sim run`, `mock-aws`) in that lab's slots.

pub mod aws_peer;
pub mod bgp_engine;
pub mod bird;
pub mod cgw_peer;
pub mod engine;
pub mod icmp;
pub mod lab_capture;
pub mod netns;
pub mod ours;
pub mod proc;
pub mod require;
pub mod strongswan;
pub mod tshark;
pub mod vpn_lab;
pub mod vpn_side;
pub mod vpn_topology;

pub use bird::{Bird, BirdConfig, LimitAction};
pub use netns::{InsideNet, LabPair, Netns};
pub use proc::TestDir;
pub use strongswan::{Charon, CharonConfig, Role};
pub use tshark::Capture;
