//! The BGP sessions of a VPN connection: the customer gateway's session to
//! AWS on each tunnel, and AWS's side of it (passive, hold 30 s, keepalive
//! 10 s, the prefix limit, the MED it sends).

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::rib::{BestPathConfig, Rib};
use bgp::session::{Family, SessionConfig};
use bgp::speaker::PeerConfig;

use super::Inside;
use crate::aws::GatewayKind;
use crate::scenario::{CgwBgp, CgwTunnel};

/// AWS's BGP keepalive interval.
pub const AWS_KEEPALIVE: Duration = Duration::from_secs(10);
/// AWS's BGP hold time (seconds).
pub const AWS_HOLD: u16 = 30;
/// The MED AWS sends with the VPC CIDR (lowered on the other tunnel during
/// an endpoint's maintenance).
pub const AWS_MED: u32 = 100;

/// A session's configuration: keepalive a third of the hold time (none
/// with hold time 0).
pub fn session(
    local_as: u32,
    peer_as: u32,
    id: Ipv4Addr,
    hold: u16,
    passive: bool,
) -> SessionConfig {
    let mut sc = SessionConfig::new(local_as, peer_as, id);
    sc.hold_time = hold;
    sc.keepalive = (hold > 0).then(|| Duration::from_secs(u64::from(hold / 3).max(1)));
    sc.passive = passive;
    sc
}

/// The customer gateway's session on one tunnel (`cgw.bgp` and
/// `cgw.tunnelN.bgp`): active, to AWS's inside address, expecting
/// `aws_asn`, sending itself as next hop, with the tunnel's prepend and
/// MED.
pub fn cgw_peer(
    bgp: &CgwBgp,
    tunnel: &CgwTunnel,
    aws_asn: u32,
    router_id: Ipv4Addr,
    inside: Inside,
) -> PeerConfig {
    let hold = u16::try_from(bgp.hold_time.as_secs()).unwrap_or(u16::MAX);
    let mut sc = session(bgp.asn, aws_asn, router_id, hold, false);
    sc.families = families(inside);
    let mut pc = PeerConfig::new(sc, inside.aws_bgp());
    pc.export.next_hop_self = Some(inside.cgw_bgp());
    // Sender-side loop detection: what AWS announced on one tunnel is not
    // sent back to AWS on the other (AWS would deny it: own AS).
    pc.export.suppress_peer_as = true;
    pc.export.prepend = usize::from(tunnel.bgp.prepend);
    pc.export.med = tunnel.bgp.med;
    pc
}

/// The address family a tunnel's session carries: IPv6 unicast on a
/// tunnel that carries IPv6 (over its IPv6 inside addresses), else IPv4.
fn families(inside: Inside) -> Vec<Family> {
    if inside.v6.is_some() {
        vec![Family::Ipv6Unicast]
    } else {
        vec![Family::Ipv4Unicast]
    }
}

/// The customer gateway's RIB. Equal routes from AWS's two tunnels are
/// broken by the lower BGP identifier (RFC 4271 9.1.2.2 f), not by which
/// arrived first (RFC 5004's "prefer the oldest"): the tunnel that carries
/// the traffic must not depend on which session came up a few milliseconds
/// earlier, so a run on real sockets chooses as the simulated lab does.
/// AWS's endpoint on tunnel 1 has the lower identifier in the lab and the
/// mock (its inside address).
pub fn cgw_rib(asn: u32, router_id: Ipv4Addr) -> Rib {
    Rib::with_config(
        asn,
        router_id,
        BestPathConfig {
            prefer_oldest: false,
            ..BestPathConfig::default()
        },
    )
}

/// The most prefixes AWS accepts from a customer gateway on one session.
pub fn prefix_limit(gateway: GatewayKind) -> u32 {
    match gateway {
        GatewayKind::Vgw => 100,
        GatewayKind::Tgw => 1000,
    }
}

/// AWS's session on one tunnel: passive, hold 30 s / keepalive 10 s, the
/// prefix limit of the gateway kind, expecting the customer gateway's
/// `cgw_asn`, sending its inside address as next hop and MED
/// [`AWS_MED`].
pub fn aws_peer(aws_asn: u32, cgw_asn: u32, gateway: GatewayKind, inside: Inside) -> PeerConfig {
    let mut sc = session(aws_asn, cgw_asn, inside.aws, AWS_HOLD, true);
    sc.keepalive = Some(AWS_KEEPALIVE);
    sc.families = families(inside);
    let mut pc = PeerConfig::new(sc, inside.cgw_bgp());
    pc.import.max_prefixes = Some(prefix_limit(gateway));
    pc.export.next_hop_self = Some(inside.aws_bgp());
    pc.export.med = Some(AWS_MED);
    pc
}
