//! Nodes of the simulated lab (`lab::Node` implementations) built on the
//! engines: the IPsec tunnel gateway, which the customer gateway and the AWS
//! mock are made of.

pub mod bgp_host;
mod idle;
mod ikev1;
pub mod keylog;
mod out_queue;
pub mod tunnel;

pub use bgp_host::{BgpHost, BGP_PORT};
pub use keylog::KeyLog;
pub use out_queue::Transmit;

pub use tunnel::{
    tunnel_iface, DownCause, GatewayConfig, GatewayEvent, GatewayStats, SelectorPair, TunnelConfig,
    TunnelEventKind, TunnelGateway, TunnelId, TunnelRole, TunnelTraffic, CONTROL, INSIDE, OUTSIDE,
};
