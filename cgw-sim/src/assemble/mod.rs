//! Node configurations from configuration sections: the `[cgw]` and
//! `[aws]` sections (of a scenario or a host configuration file) turned
//! into the gateways' [`TunnelConfig`](crate::node::TunnelConfig)s and the
//! BGP speakers' peer configurations. The simulated lab
//! ([`crate::runner`]) and the daemons ([`crate::daemon`]) build their
//! nodes here, so one section means the same gateway in both.

pub mod aws;
pub mod bgp;
pub mod cgw;

use std::net::{IpAddr, Ipv4Addr};

use lab::wire::Prefix as LabPrefix;

use crate::aws::Ipv4Cidr;
use crate::scenario::Prefix;

/// A tunnel's inside addresses: AWS takes the first host address of the
/// /30, the customer gateway the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inside {
    /// AWS's inside address (`.1`).
    pub aws: Ipv4Addr,
    /// The customer gateway's inside address (`.2`).
    pub cgw: Ipv4Addr,
}

impl Inside {
    /// The addresses of an inside /30.
    pub fn of(cidr: Ipv4Cidr) -> Inside {
        let n = u32::from(cidr.network());
        Inside {
            aws: Ipv4Addr::from(n + 1),
            cgw: Ipv4Addr::from(n + 2),
        }
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
