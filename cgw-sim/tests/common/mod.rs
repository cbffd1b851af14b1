//! Shared by the gateway tests: a one-tunnel gateway in
//! one-interface-per-tunnel mode (what a host with a TUN device runs).

use std::net::Ipv4Addr;
use std::sync::Arc;

use cgw_sim::aws::{aws_esp_proposals, aws_ike_proposals};
use cgw_sim::node::{GatewayConfig, TunnelConfig, TunnelGateway, TunnelRole};
use ike::crypto::Secret;
use ike::sa::{IkeConfig, PreferOwn};

/// A gateway at `outer` with one tunnel to `peer` (inside `local` /
/// `remote`), AWS's proposals and a fixed PSK; `aws`: responder with AWS's
/// choice policy, else initiator; `force_encapsulation`: ESP in UDP 4500.
pub fn tunnel_gateway(
    outer: Ipv4Addr,
    peer: Ipv4Addr,
    (local, remote): (Ipv4Addr, Ipv4Addr),
    aws: bool,
    force_encapsulation: bool,
) -> TunnelGateway {
    let mut ike = IkeConfig::new(
        Secret::new(b"tunnel-interfaces-psk".to_vec()),
        aws_ike_proposals(),
        aws_esp_proposals(&[]),
    );
    ike.force_encapsulation = force_encapsulation;
    if aws {
        ike.policy = Arc::new(PreferOwn);
    }
    let mut g = TunnelGateway::new(GatewayConfig {
        outer,
        tunnels: vec![TunnelConfig {
            peer,
            inside_local: local,
            inside_remote: remote,
            ike: Arc::new(ike),
            role: if aws {
                TunnelRole::Responder
            } else {
                TunnelRole::Initiator
            },
            ikev1: None,
            clear_df: false,
            mss_clamp: None,
            idle_timeout: None,
            extra_selectors: Vec::new(),
        }],
        seed: [u8::from(aws); 32],
    });
    g.use_tunnel_interfaces();
    g
}
