//! Node configurations from configuration sections: the `[cgw]` and
//! `[aws]` sections (of a scenario or a host configuration file) turned
//! into the gateways' [`TunnelConfig`](crate::node::TunnelConfig)s and the
//! BGP speakers' peer configurations. The simulated lab
//! ([`crate::runner`]) and the daemons ([`crate::daemon`]) build their
//! nodes here, so one section means the same gateway in both.

pub mod aws;
pub mod bgp;
pub mod cgw;
pub mod probe;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lab::wire::Prefix as LabPrefix;

use crate::aws::{Ipv4Cidr, Ipv6Cidr};
use crate::scenario::Prefix;

/// A tunnel's inside addresses: AWS takes the first host address of the
/// /30, the customer gateway the second; on a tunnel that carries IPv6
/// the same of its /126.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inside {
    /// AWS's inside address (`.1`).
    pub aws: Ipv4Addr,
    /// The customer gateway's inside address (`.2`).
    pub cgw: Ipv4Addr,
    /// The IPv6 inside addresses, on a tunnel that carries IPv6 (AWS's
    /// `TunnelInsideIpVersion = ipv6`): it then negotiates ::/0 selectors
    /// and runs BGP over these.
    pub v6: Option<Inside6>,
}

/// A tunnel's IPv6 inside addresses: `::1` (AWS) and `::2` (the customer
/// gateway) of its /126.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inside6 {
    /// AWS's inside IPv6 address.
    pub aws: Ipv6Addr,
    /// The customer gateway's inside IPv6 address.
    pub cgw: Ipv6Addr,
}

impl Inside {
    /// The addresses of an inside /30 (an IPv4 tunnel).
    pub fn of(cidr: Ipv4Cidr) -> Inside {
        let n = u32::from(cidr.network());
        Inside {
            aws: Ipv4Addr::from(n + 1),
            cgw: Ipv4Addr::from(n + 2),
            v6: None,
        }
    }

    /// With the IPv6 inside /126 `cidr` too, if given (a tunnel that
    /// carries IPv6).
    pub fn with_v6(self, cidr: Option<Ipv6Cidr>) -> Inside {
        Inside {
            v6: cidr.map(|c| {
                let n = u128::from(c.network());
                Inside6 {
                    aws: Ipv6Addr::from(n + 1),
                    cgw: Ipv6Addr::from(n + 2),
                }
            }),
            ..self
        }
    }

    /// AWS's inside address BGP runs over: the IPv6 one on a tunnel that
    /// carries IPv6.
    pub fn aws_bgp(&self) -> IpAddr {
        self.v6.map_or(IpAddr::V4(self.aws), |v| IpAddr::V6(v.aws))
    }

    /// The customer gateway's inside address to send to `target` from:
    /// the IPv6 one for an IPv6 target on a tunnel that carries IPv6.
    pub fn cgw_for(&self, target: IpAddr) -> IpAddr {
        match (target, self.v6) {
            (IpAddr::V6(_), Some(v6)) => IpAddr::V6(v6.cgw),
            _ => IpAddr::V4(self.cgw),
        }
    }

    /// The customer gateway's inside address BGP runs over.
    pub fn cgw_bgp(&self) -> IpAddr {
        self.v6.map_or(IpAddr::V4(self.cgw), |v| IpAddr::V6(v.cgw))
    }
}

/// An IPv4 prefix of a section as the lab's prefix type (`None` for IPv6).
pub fn lab_prefix(p: &Prefix) -> Option<LabPrefix> {
    match p.addr {
        IpAddr::V4(a) => LabPrefix::new(a, p.len),
        IpAddr::V6(_) => None,
    }
}

/// A 32-byte engine seed from a run's seed and a salt per node.
pub fn seed_bytes(seed: u64, salt: u8) -> [u8; 32] {
    let mut b = [salt; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b
}

/// Tunnel `i`'s pre-shared keys in a scenario, (AWS's, the CGW's): AWS's
/// from its options or generated from `seed` as AWS generates one; the
/// CGW's from its own section, else AWS's (a configuration that matches).
pub fn scenario_psks(
    opts: &crate::aws::options::TunnelOptions,
    cgw: &crate::scenario::CgwTunnel,
    seed: u64,
    i: usize,
) -> (String, String) {
    let aws = opts
        .psk
        .clone()
        .unwrap_or_else(|| crate::aws::options::generate_psk(seed.wrapping_add(i as u64)));
    let cgw = cgw.ike.psk.clone().unwrap_or_else(|| aws.clone());
    (aws, cgw)
}
