//! One AWS tunnel endpoint's node configuration from the tunnel's AWS
//! options (`aws.tunnelN`, resolved to [`TunnelOptions`]).

use std::net::Ipv4Addr;
use std::sync::Arc;

use ike::crypto::Secret;

use super::Inside;
use crate::aws::options::TunnelOptions;
use crate::node::{TunnelConfig, TunnelRole};

/// The AWS endpoint's one tunnel to the customer gateway at `cgw` (the
/// address AWS knows: the CGW's, or its NAT's), with AWS's behaviour from
/// `opts` and the pre-shared key.
pub fn aws_tunnel(
    opts: &TunnelOptions,
    cgw: Ipv4Addr,
    inside: Inside,
    psk: Secret,
) -> TunnelConfig {
    let mut eng = opts.engine_config(psk);
    if inside.v6.is_some() {
        // An IPv6 connection's tunnels carry IPv6 only: AWS's local and
        // remote IPv6 network CIDRs default to ::/0.
        eng.ike.local_ts = vec![ike::wire::TrafficSelector::ipv6_any()];
        eng.ike.remote_ts = vec![ike::wire::TrafficSelector::ipv6_any()];
    }
    TunnelConfig {
        peer: cgw,
        inside_local: inside.aws,
        inside_remote: inside.cgw,
        ike: Arc::new(eng.ike),
        role: if eng.initiates {
            TunnelRole::Initiator
        } else {
            TunnelRole::Responder
        },
        ikev1: None,
        // Large packets with DF set from the VPC draw an ICMP
        // "fragmentation needed"; others are fragmented.
        clear_df: false,
        mss_clamp: None,
        // AWS keeps idle tunnels (its DPD handles dead peers).
        idle_timeout: None,
        extra_selectors: Vec::new(),
    }
}
