//! The OS driver (issue 6): the gateway node on a real host. A
//! [`crate::node::TunnelGateway`] speaks in IPv4 packets on its interfaces;
//! on a host its outside interface is a pair of UDP sockets (500, 4500) and
//! a raw ESP socket, and each tunnel is a TUN device
//! ([`crate::node::TunnelGateway::use_tunnel_interfaces`]). `outer` translates between the two; `driver` runs the gateway on a
//! host's sockets and TUN devices.

#[cfg(target_os = "linux")]
pub mod driver;
pub mod outer;
#[cfg(target_os = "linux")]
pub mod raw_esp;
