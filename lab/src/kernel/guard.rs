//! The lab address plan, enforced before anything reaches the kernel.

use super::{KernelError, Result};
use std::net::Ipv4Addr;

/// The lab's IPv4 ranges (network, prefix length), from DESIGN.md's plan:
/// CGW public, AWS public, NAT / public, on-prem LAN and VPC, tunnel inside.
pub const LAB_PLAN: [(Ipv4Addr, u8); 5] = [
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
];

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// Refuse an address outside the lab plan.
pub fn check_addr(addr: Ipv4Addr) -> Result<()> {
    let inside = LAB_PLAN
        .iter()
        .any(|&(net, len)| u32::from(addr) & mask(len) == u32::from(net));
    if inside {
        Ok(())
    } else {
        Err(KernelError::OutsidePlan {
            addr,
            prefix_len: 32,
        })
    }
}

/// Refuse a prefix (for a route, or an address with its prefix length) that
/// is a default route or does not lie entirely inside one lab range.
pub fn check_prefix(addr: Ipv4Addr, prefix_len: u8) -> Result<()> {
    if prefix_len > 32 {
        return Err(KernelError::BadPrefixLen { addr, prefix_len });
    }
    if prefix_len == 0 {
        return Err(KernelError::DefaultRoute { addr });
    }
    let inside = LAB_PLAN
        .iter()
        .any(|&(net, len)| prefix_len >= len && u32::from(addr) & mask(len) == u32::from(net));
    if inside {
        Ok(())
    } else {
        Err(KernelError::OutsidePlan { addr, prefix_len })
    }
}

impl super::Netns {
    /// [`check_addr`], for a namespace held to the lab plan
    /// ([`super::Netns::guarded`]).
    pub(crate) fn check_addr(&self, addr: Ipv4Addr) -> Result<()> {
        if self.guarded() {
            check_addr(addr)
        } else {
            Ok(())
        }
    }

    /// [`check_prefix`] for a guarded namespace; elsewhere only the prefix
    /// length is checked.
    pub(crate) fn check_prefix(&self, addr: Ipv4Addr, prefix_len: u8) -> Result<()> {
        if self.guarded() {
            check_prefix(addr, prefix_len)
        } else if prefix_len > 32 {
            Err(KernelError::BadPrefixLen { addr, prefix_len })
        } else {
            Ok(())
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
            check_addr(a.parse().unwrap()).unwrap();
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
}
