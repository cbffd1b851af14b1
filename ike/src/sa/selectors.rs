//! Traffic selector narrowing (RFC 7296 2.9).

use std::net::{IpAddr, Ipv4Addr};

use crate::wire::{TrafficSelector, TsType};

/// 0.0.0.0/0, all protocols and ports: what AWS proposes for a route-based
/// tunnel.
pub fn any_ipv4() -> TrafficSelector {
    TrafficSelector {
        ts_type: TsType::IPV4_ADDR_RANGE,
        ip_protocol: 0,
        start_port: 0,
        end_port: 65535,
        start_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        end_addr: IpAddr::V4(Ipv4Addr::BROADCAST),
    }
}

fn addr_key(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// The intersection of two selectors, if not empty.
pub fn intersect(a: &TrafficSelector, b: &TrafficSelector) -> Option<TrafficSelector> {
    if a.ts_type != b.ts_type || !same_family(a.start_addr, b.start_addr) {
        return None;
    }
    let ip_protocol = match (a.ip_protocol, b.ip_protocol) {
        (0, p) | (p, 0) => p,
        (p, q) if p == q => p,
        _ => return None,
    };
    let start_port = a.start_port.max(b.start_port);
    let end_port = a.end_port.min(b.end_port);
    let start_addr = if addr_key(a.start_addr) >= addr_key(b.start_addr) {
        a.start_addr
    } else {
        b.start_addr
    };
    let end_addr = if addr_key(a.end_addr) <= addr_key(b.end_addr) {
        a.end_addr
    } else {
        b.end_addr
    };
    (start_port <= end_port && addr_key(start_addr) <= addr_key(end_addr)).then_some(
        TrafficSelector {
            ts_type: a.ts_type,
            ip_protocol,
            start_port,
            end_port,
            start_addr,
            end_addr,
        },
    )
}

/// Whether `inner` lies within `outer`.
pub fn contains(outer: &TrafficSelector, inner: &TrafficSelector) -> bool {
    intersect(outer, inner).as_ref() == Some(inner)
}

/// Narrows the peer's proposed selectors to what our configuration allows
/// (the responder's side of RFC 7296 2.9). Empty means TS_UNACCEPTABLE.
pub fn narrow(proposed: &[TrafficSelector], allowed: &[TrafficSelector]) -> Vec<TrafficSelector> {
    let mut out = Vec::new();
    for p in proposed {
        for a in allowed {
            if let Some(i) = intersect(p, a) {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
    }
    out
}

/// Whether every selector of a responder's answer lies within what we
/// proposed (an initiator must not accept selectors it did not ask for).
pub fn within(answer: &[TrafficSelector], proposed: &[TrafficSelector]) -> bool {
    !answer.is_empty()
        && answer
            .iter()
            .all(|a| proposed.iter().any(|p| contains(p, a)))
}
