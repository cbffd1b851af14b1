//! The gateway nodes on a real host (issue 6). A
//! [`crate::node::TunnelGateway`] speaks in IPv4 packets on its interfaces
//! in the simulated lab; on a host its outside interface is a pair of UDP
//! sockets (500, 4500), fed datagrams
//! ([`crate::node::TunnelGateway::handle_datagram`]) and emptied of
//! datagrams ([`crate::node::TunnelGateway::poll_outgoing`]) without outer
//! IP headers, and a raw ESP socket; each tunnel is a TUN device
//! ([`crate::node::TunnelGateway::use_tunnel_interfaces`]).
//!
//! - `site`: one gateway's sockets and TUN devices;
//! - `sockbuf`: larger kernel buffers for the UDP sockets;
//! - `udp_batch`: many datagrams per system call (mmsg, GSO, GRO);
//! - `bgp_tcp`: a BGP speaker on the kernel's TCP;
//! - `routes`: the kernel routes a daemon installs;
//! - `reach`: pings and TCP connects pinned to one tunnel;
//! - `host_loop`: the event loop of the daemons (gateways, speakers, a
//!   controller);
//! - `driver`: one bare gateway for a fixed time (tests, benchmarks).

#[cfg(target_os = "linux")]
pub mod bgp_tcp;
#[cfg(target_os = "linux")]
pub mod driver;
#[cfg(target_os = "linux")]
pub mod host_loop;
#[cfg(target_os = "linux")]
pub mod raw_esp;
#[cfg(target_os = "linux")]
pub mod reach;
#[cfg(target_os = "linux")]
pub mod routes;
#[cfg(target_os = "linux")]
pub mod site;
#[cfg(target_os = "linux")]
pub mod sockbuf;
#[cfg(target_os = "linux")]
pub mod udp_batch;
