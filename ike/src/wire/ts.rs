//! Traffic Selector payloads (RFC 7296 3.13).

use std::net::IpAddr;

use super::TsType;

/// TSi or TSr: a list of selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSelectors(pub Vec<TrafficSelector>);

/// One traffic selector: an address range, a port range and an IP protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSelector {
    /// TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE (must match the addresses).
    pub ts_type: TsType,
    /// IP protocol, 0 for any.
    pub ip_protocol: u8,
    /// First port.
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// First address.
    pub start_addr: IpAddr,
    /// Last address.
    pub end_addr: IpAddr,
}
