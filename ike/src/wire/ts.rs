//! Traffic Selector payloads (RFC 7296 3.13).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::reader::{count8, patch_len16, Reader};
use super::{ParseError, TsType};

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

/// Selector length of a TS_IPV4_ADDR_RANGE.
const TS_IPV4_LEN: usize = 16;
/// Selector length of a TS_IPV6_ADDR_RANGE.
const TS_IPV6_LEN: usize = 40;

impl TrafficSelectors {
    /// Parses the body: number of TSs (at least 1), 3 RESERVED bytes (ignored
    /// on receipt), then exactly that many selectors filling the body.
    pub fn parse(body: &[u8]) -> Result<TrafficSelectors, ParseError> {
        let mut r = Reader::new("TS payload", body);
        let count = usize::from(r.u8()?);
        let _reserved = r.take(3)?;
        if count == 0 {
            return Err(ParseError::InvalidField {
                what: "TS payload: number of TSs",
                value: 0,
            });
        }
        let mut selectors = Vec::new();
        while !r.is_empty() {
            if selectors.len() == count {
                return Err(ParseError::TrailingData {
                    what: "TS payload after the last selector",
                    count: r.remaining(),
                });
            }
            let len = usize::from(r.peek_u16(2).map_err(|_| ParseError::Truncated {
                what: "traffic selector",
                need: 8,
                have: r.remaining(),
            })?);
            let available = r.remaining();
            if len > available {
                return Err(ParseError::BadLength {
                    what: "traffic selector",
                    length: len,
                    available,
                });
            }
            selectors.push(TrafficSelector::parse(r.take(len)?)?);
        }
        if selectors.len() != count {
            return Err(ParseError::CountMismatch {
                what: "TS payload: selectors",
                declared: count,
                found: selectors.len(),
            });
        }
        Ok(TrafficSelectors(selectors))
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(count8(self.0.len(), "TS payload selectors"));
        out.extend_from_slice(&[0, 0, 0]);
        for ts in &self.0 {
            ts.emit(out);
        }
    }
}

impl TrafficSelector {
    /// Every IPv4 address, every protocol and port.
    pub fn ipv4_any() -> TrafficSelector {
        TrafficSelector {
            ts_type: TsType::IPV4_ADDR_RANGE,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: Ipv4Addr::UNSPECIFIED.into(),
            end_addr: Ipv4Addr::BROADCAST.into(),
        }
    }

    /// Every IPv6 address, every protocol and port.
    pub fn ipv6_any() -> TrafficSelector {
        TrafficSelector {
            ts_type: TsType::IPV6_ADDR_RANGE,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: Ipv6Addr::UNSPECIFIED.into(),
            end_addr: Ipv6Addr::from(u128::MAX).into(),
        }
    }

    /// The address range of `addr/prefix_len` (host bits ignored), any
    /// protocol and port; `None` when the prefix is longer than the address.
    pub fn from_cidr(addr: IpAddr, prefix_len: u8) -> Option<TrafficSelector> {
        let (ts_type, start_addr, end_addr) = match addr {
            IpAddr::V4(a) => {
                if prefix_len > 32 {
                    return None;
                }
                let host = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                let net = u32::from(a) & !host;
                (
                    TsType::IPV4_ADDR_RANGE,
                    IpAddr::V4(net.into()),
                    IpAddr::V4((net | host).into()),
                )
            }
            IpAddr::V6(a) => {
                if prefix_len > 128 {
                    return None;
                }
                let host = u128::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                let net = u128::from(a) & !host;
                (
                    TsType::IPV6_ADDR_RANGE,
                    IpAddr::V6(net.into()),
                    IpAddr::V6((net | host).into()),
                )
            }
        };
        Some(TrafficSelector {
            ts_type,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr,
            end_addr,
        })
    }

    /// Whether `addr` is inside the address range (ports and protocol are not
    /// considered).
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        match (self.start_addr, self.end_addr, addr) {
            (IpAddr::V4(s), IpAddr::V4(e), IpAddr::V4(a)) => s <= a && a <= e,
            (IpAddr::V6(s), IpAddr::V6(e), IpAddr::V6(a)) => s <= a && a <= e,
            _ => false,
        }
    }

    /// Parses one selector (exactly `buf`, whose length the caller took from
    /// its Selector Length field): the type must be IPv4 or IPv6 range and
    /// the length 16 or 40 accordingly. Ranges are kept as received (start
    /// above end included): judging them is the negotiation's business.
    fn parse(buf: &[u8]) -> Result<TrafficSelector, ParseError> {
        let mut r = Reader::new("traffic selector", buf);
        let ts_type = TsType(r.u8()?);
        let ip_protocol = r.u8()?;
        let len = usize::from(r.u16()?);
        let want = match ts_type {
            TsType::IPV4_ADDR_RANGE => TS_IPV4_LEN,
            TsType::IPV6_ADDR_RANGE => TS_IPV6_LEN,
            other => {
                return Err(ParseError::InvalidField {
                    what: "traffic selector: TS type",
                    value: other.0.into(),
                })
            }
        };
        if len != want {
            return Err(ParseError::BadLength {
                what: "traffic selector",
                length: len,
                available: want,
            });
        }
        let start_port = r.u16()?;
        let end_port = r.u16()?;
        let (start_addr, end_addr) = if ts_type == TsType::IPV4_ADDR_RANGE {
            (
                IpAddr::V4(r.array::<4>()?.into()),
                IpAddr::V4(r.array::<4>()?.into()),
            )
        } else {
            (
                IpAddr::V6(r.array::<16>()?.into()),
                IpAddr::V6(r.array::<16>()?.into()),
            )
        };
        Ok(TrafficSelector {
            ts_type,
            ip_protocol,
            start_port,
            end_port,
            start_addr,
            end_addr,
        })
    }

    /// Appends one selector. The addresses are written as they are; `ts_type`
    /// must agree with them (both IPv4 for TS_IPV4_ADDR_RANGE, both IPv6 for
    /// TS_IPV6_ADDR_RANGE), as it always does for a parsed selector.
    fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(self.ts_type.0);
        out.push(self.ip_protocol);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.start_port.to_be_bytes());
        out.extend_from_slice(&self.end_port.to_be_bytes());
        for a in [self.start_addr, self.end_addr] {
            match a {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        let len = out.len() - start;
        debug_assert!(
            (self.ts_type == TsType::IPV4_ADDR_RANGE && len == TS_IPV4_LEN)
                || (self.ts_type == TsType::IPV6_ADDR_RANGE && len == TS_IPV6_LEN),
            "traffic selector type disagrees with its addresses"
        );
        patch_len16(out, start + 2, len, "traffic selector");
    }
}
