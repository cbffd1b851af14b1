//! How a virtual private gateway picks the tunnel for traffic towards the
//! customer (AWS-VPN-FACTS.md section 2): longest prefix first, then static
//! VPN routes over BGP routes, then the shortest AS_PATH, then the lowest
//! MED. One egress tunnel per prefix: a virtual private gateway does no
//! ECMP, so a remaining tie goes to the lower tunnel number (AWS does not
//! document its last tie-breaker; a fixed one keeps runs deterministic).
//!
//! Longest prefix is the forwarding lookup's job (the VPC route table holds
//! each prefix with its one chosen tunnel); this module orders the
//! candidates for one prefix.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// Where a candidate route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VpnRouteSource {
    /// A static route of the VPN connection (always wins over BGP).
    Static,
    /// Learned over the tunnel's BGP session.
    Bgp,
}

/// One route to a customer prefix through one tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpnRoute {
    /// The prefix (address and length; IPv4, or IPv6 on a connection
    /// whose tunnels carry IPv6).
    pub prefix: (IpAddr, u8),
    /// The tunnel (index 0 or 1).
    pub tunnel: usize,
    /// Static or BGP.
    pub source: VpnRouteSource,
    /// AS_PATH length (0 for static routes).
    pub as_path_len: usize,
    /// MULTI_EXIT_DISC, when sent (a missing MED counts as 0, RFC 4271
    /// 9.1.2.2 c).
    pub med: Option<u32>,
}

impl VpnRoute {
    /// The sort key: lower is preferred.
    fn rank(&self) -> (VpnRouteSource, usize, u32, usize) {
        (
            self.source,
            self.as_path_len,
            self.med.unwrap_or(0),
            self.tunnel,
        )
    }
}

/// The chosen tunnel per prefix, from every tunnel's candidates.
pub fn choose_tunnels(candidates: &[VpnRoute]) -> BTreeMap<(IpAddr, u8), usize> {
    let mut best: BTreeMap<(IpAddr, u8), &VpnRoute> = BTreeMap::new();
    for c in candidates {
        best.entry(c.prefix)
            .and_modify(|b| {
                if c.rank() < b.rank() {
                    *b = c;
                }
            })
            .or_insert(c);
    }
    best.into_iter().map(|(p, r)| (p, r.tunnel)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: (IpAddr, u8) = (IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, 0)), 24);

    fn bgp(tunnel: usize, as_path_len: usize, med: Option<u32>) -> VpnRoute {
        VpnRoute {
            prefix: P,
            tunnel,
            source: VpnRouteSource::Bgp,
            as_path_len,
            med,
        }
    }

    #[test]
    fn static_beats_bgp_whatever_the_path() {
        let mut s = bgp(1, 0, None);
        s.source = VpnRouteSource::Static;
        let c = choose_tunnels(&[bgp(0, 1, Some(0)), s]);
        assert_eq!(c[&P], 1);
    }

    #[test]
    fn shorter_as_path_beats_lower_med() {
        let c = choose_tunnels(&[bgp(0, 3, Some(0)), bgp(1, 1, Some(500))]);
        assert_eq!(c[&P], 1);
    }

    #[test]
    fn lower_med_wins_at_equal_path_and_missing_med_is_zero() {
        assert_eq!(
            choose_tunnels(&[bgp(0, 1, Some(200)), bgp(1, 1, Some(100))])[&P],
            1
        );
        assert_eq!(
            choose_tunnels(&[bgp(0, 1, Some(1)), bgp(1, 1, None)])[&P],
            1
        );
    }

    #[test]
    fn full_tie_goes_to_tunnel_one_and_prefixes_are_separate() {
        let mut other = bgp(1, 1, None);
        other.prefix = (std::net::Ipv4Addr::new(198, 18, 1, 0).into(), 24);
        let c = choose_tunnels(&[bgp(1, 1, None), bgp(0, 1, None), other]);
        assert_eq!(c[&P], 0);
        assert_eq!(c[&(std::net::Ipv4Addr::new(198, 18, 1, 0).into(), 24)], 1);
        assert_eq!(c.len(), 2);
    }
}
