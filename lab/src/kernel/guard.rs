//! The lab address plan, enforced before anything reaches the kernel.

use super::{KernelError, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The lab's IPv4 ranges (network, prefix length), from DESIGN.md's plan:
/// CGW public, AWS public, NAT / public, on-prem LAN and VPC, tunnel inside.
pub const LAB_PLAN: [(Ipv4Addr, u8); 5] = [
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
];

/// The lab's IPv6 range: fd00::/8, where AWS takes IPv6 inside-tunnel
/// CIDRs from (unique local addresses, never routed on the internet), so
/// the lab's IPv6 inside addresses and the IPv6 prefixes behind them stay
/// there too.
pub const LAB_PLAN_V6: (Ipv6Addr, u8) = (Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0), 8);

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

/// Whether `addr`/`len` lies inside `net`/`net_len` (same family).
fn within(addr: IpAddr, len: u8, net: IpAddr, net_len: u8) -> bool {
    let ((a, width), (n, nwidth)) = (bits(addr), bits(net));
    if width != nwidth || len < net_len {
        return false;
    }
    let shift = u32::from(width - net_len);
    a.checked_shr(shift).unwrap_or(0) == n.checked_shr(shift).unwrap_or(0)
}

fn in_plan(addr: IpAddr, len: u8) -> bool {
    LAB_PLAN
        .iter()
        .map(|&(n, l)| (IpAddr::V4(n), l))
        .chain(std::iter::once((IpAddr::V6(LAB_PLAN_V6.0), LAB_PLAN_V6.1)))
        .any(|(n, l)| within(addr, len, n, l))
}

/// Refuse an address outside the lab plan.
pub fn check_addr(addr: impl Into<IpAddr>) -> Result<()> {
    let addr = addr.into();
    let full = bits(addr).1;
    if in_plan(addr, full) {
        Ok(())
    } else {
        Err(KernelError::OutsidePlan {
            addr,
            prefix_len: full,
        })
    }
}

/// Refuse a prefix (for a route, or an address with its prefix length) that
/// is a default route or does not lie entirely inside one lab range.
pub fn check_prefix(addr: impl Into<IpAddr>, prefix_len: u8) -> Result<()> {
    let addr = addr.into();
    check_len(addr, prefix_len)?;
    if prefix_len == 0 {
        return Err(KernelError::DefaultRoute { addr });
    }
    if in_plan(addr, prefix_len) {
        Ok(())
    } else {
        Err(KernelError::OutsidePlan { addr, prefix_len })
    }
}

fn check_len(addr: IpAddr, prefix_len: u8) -> Result<()> {
    if prefix_len > bits(addr).1 {
        Err(KernelError::BadPrefixLen { addr, prefix_len })
    } else {
        Ok(())
    }
}

impl super::Netns {
    /// [`check_addr`], for a namespace held to the lab plan
    /// ([`super::Netns::guarded`]).
    pub(crate) fn check_addr(&self, addr: impl Into<IpAddr>) -> Result<()> {
        if self.guarded() {
            check_addr(addr)
        } else {
            Ok(())
        }
    }

    /// [`check_prefix`] for a guarded namespace; elsewhere only the prefix
    /// length is checked.
    pub(crate) fn check_prefix(&self, addr: impl Into<IpAddr>, prefix_len: u8) -> Result<()> {
        let addr = addr.into();
        if self.guarded() {
            check_prefix(addr, prefix_len)
        } else {
            check_len(addr, prefix_len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_addresses_pass() {
        for a in [
            "192.0.2.10",
            "198.51.100.1",
            "203.0.113.254",
            "198.19.0.10",
            "169.254.10.2",
        ] {
            check_addr(a.parse::<Ipv4Addr>().unwrap()).unwrap();
        }
        check_prefix(Ipv4Addr::new(198, 19, 0, 0), 16).unwrap();
        check_prefix(Ipv4Addr::new(169, 254, 10, 2), 30).unwrap();
    }

    #[test]
    fn outside_addresses_and_default_routes_are_refused() {
        let e = check_addr(Ipv4Addr::new(10, 0, 0, 1)).unwrap_err();
        assert!(e.to_string().contains("10.0.0.1/32"), "{e}");
        assert!(matches!(
            check_prefix(Ipv4Addr::UNSPECIFIED, 0),
            Err(KernelError::DefaultRoute { .. })
        ));
        // A prefix wider than its lab range reaches outside the plan.
        assert!(matches!(
            check_prefix(Ipv4Addr::new(198, 18, 0, 0), 14),
            Err(KernelError::OutsidePlan { prefix_len: 14, .. })
        ));
        assert!(check_prefix(Ipv4Addr::new(192, 0, 3, 0), 24).is_err());
        assert!(matches!(
            check_prefix(Ipv4Addr::new(192, 0, 2, 0), 33),
            Err(KernelError::BadPrefixLen { .. })
        ));
    }

    #[test]
    fn ipv6_only_inside_fd00_8() {
        let a: Ipv6Addr = "fd00:a9fe:10::2".parse().unwrap();
        check_addr(a).unwrap();
        check_prefix(a, 126).unwrap();
        check_prefix("fd12:3456::".parse::<Ipv6Addr>().unwrap(), 48).unwrap();
        // Global unicast, link-local and a prefix wider than fd00::/8.
        assert!(check_addr("2001:db8::1".parse::<Ipv6Addr>().unwrap()).is_err());
        assert!(check_addr("fe80::1".parse::<Ipv6Addr>().unwrap()).is_err());
        assert!(matches!(
            check_prefix("fc00::".parse::<Ipv6Addr>().unwrap(), 7),
            Err(KernelError::OutsidePlan { prefix_len: 7, .. })
        ));
        assert!(matches!(
            check_prefix(Ipv6Addr::UNSPECIFIED, 0),
            Err(KernelError::DefaultRoute { .. })
        ));
        assert!(matches!(
            check_prefix(a, 129),
            Err(KernelError::BadPrefixLen { .. })
        ));
    }
}
