//! IPv6 inner packets through a tunnel in one-interface-per-tunnel mode
//! (a host's TUN device): with IPv6 selectors negotiated (::/0, as on
//! AWS's IPv6 inside-tunnel connections) an IPv6 packet written to one
//! gateway's tunnel interface comes out of the other's whole, sealed with
//! next header 41; without them it is dropped, never sent on an IPv4-only
//! SA. Driven in memory, the two gateways' outside packets handed across.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cgw_sim::aws::{aws_esp_proposals, aws_ike_proposals};
use cgw_sim::node::{
    tunnel_iface, GatewayConfig, TunnelConfig, TunnelGateway, TunnelId, TunnelRole, OUTSIDE,
};
use ike::crypto::Secret;
use ike::sa::IkeConfig;
use ike::wire::{TrafficSelector, TsType};
use lab::Node;

const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const AWS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const T0: TunnelId = TunnelId(0);

fn any(v6: bool) -> TrafficSelector {
    if v6 {
        TrafficSelector {
            ts_type: TsType::IPV6_ADDR_RANGE,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            end_addr: IpAddr::V6(Ipv6Addr::from(u128::MAX)),
        }
    } else {
        TrafficSelector {
            ts_type: TsType::IPV4_ADDR_RANGE,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            end_addr: IpAddr::V4(Ipv4Addr::BROADCAST),
        }
    }
}

fn gateway(outer: Ipv4Addr, peer: Ipv4Addr, initiator: bool, v6: bool) -> TunnelGateway {
    let mut ike = IkeConfig::new(
        Secret::new(b"ipv6-inside-psk".to_vec()),
        aws_ike_proposals(),
        aws_esp_proposals(&[]),
    );
    let ts = if v6 {
        vec![any(true)]
    } else {
        vec![any(false)]
    };
    ike.local_ts = ts.clone();
    ike.remote_ts = ts;
    let (l, r) = if initiator {
        (
            Ipv4Addr::new(169, 254, 10, 2),
            Ipv4Addr::new(169, 254, 10, 1),
        )
    } else {
        (
            Ipv4Addr::new(169, 254, 10, 1),
            Ipv4Addr::new(169, 254, 10, 2),
        )
    };
    let mut g = TunnelGateway::new(GatewayConfig {
        outer,
        tunnels: vec![TunnelConfig {
            peer,
            inside_local: l,
            inside_remote: r,
            ike: Arc::new(ike),
            role: if initiator {
                TunnelRole::Initiator
            } else {
                TunnelRole::Responder
            },
            ikev1: None,
            clear_df: false,
            mss_clamp: None,
            idle_timeout: None,
            extra_selectors: Vec::new(),
        }],
        seed: [u8::from(initiator); 32],
    });
    g.use_tunnel_interfaces();
    g
}

/// Hands outside packets across until both are quiet; returns what came
/// out of each gateway's tunnel interface.
fn exchange(
    a: &mut TunnelGateway,
    b: &mut TunnelGateway,
    now: Instant,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let mut moved = false;
        while let Some((i, p)) = a.poll_transmit() {
            moved = true;
            if i == OUTSIDE {
                b.handle_packet(now, OUTSIDE, &p);
            } else {
                out_a.push(p);
            }
        }
        while let Some((i, p)) = b.poll_transmit() {
            moved = true;
            if i == OUTSIDE {
                a.handle_packet(now, OUTSIDE, &p);
            } else {
                out_b.push(p);
            }
        }
        if !moved {
            break;
        }
    }
    (out_a, out_b)
}

fn ipv6_packet() -> Vec<u8> {
    ipv6_packet_between("fd00::2", "fd00::1")
}

fn ipv6_packet_between(src: &str, dst: &str) -> Vec<u8> {
    // An IPv6 UDP datagram src -> dst, 8 bytes of payload.
    let mut p = vec![0x60, 0, 0, 0, 0, 16, 17, 64];
    p.extend_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&[0x30, 0x39, 0x30, 0x39, 0, 16, 0, 0]);
    p.extend_from_slice(b"ipv6 in!");
    p
}

fn up_pair(v6: bool) -> (TunnelGateway, TunnelGateway, Instant) {
    let now = Instant::now();
    let mut cgw = gateway(CGW, AWS, true, v6);
    let mut aws = gateway(AWS, CGW, false, v6);
    cgw.initiate(T0, now);
    exchange(&mut cgw, &mut aws, now);
    assert!(cgw.is_up(T0) && aws.is_up(T0), "{:?}", cgw.events());
    (cgw, aws, now + Duration::from_millis(10))
}

#[test]
fn an_ipv6_packet_crosses_a_tunnel_with_ipv6_selectors() {
    let (mut cgw, mut aws, now) = up_pair(true);
    let p = ipv6_packet();
    cgw.handle_packet(now, tunnel_iface(T0), &p);
    let (_, out) = exchange(&mut cgw, &mut aws, now);
    assert_eq!(out, vec![p.clone()]);
    assert_eq!(cgw.tunnel_traffic(T0).packets_out, 1);
    assert_eq!(aws.tunnel_traffic(T0).packets_in, 1);
    // And back.
    aws.handle_packet(now, tunnel_iface(T0), &p);
    let (back, _) = exchange(&mut cgw, &mut aws, now);
    assert_eq!(back, vec![p]);
}

#[test]
fn an_ipv6_packet_is_dropped_on_an_ipv4_only_tunnel() {
    let (mut cgw, mut aws, now) = up_pair(false);
    let before = cgw.stats();
    cgw.handle_packet(now, tunnel_iface(T0), &ipv6_packet());
    let (_, out) = exchange(&mut cgw, &mut aws, now);
    assert!(out.is_empty());
    assert_eq!(cgw.stats().no_outbound, before.no_outbound + 1);
    assert_eq!(
        cgw.stats().esp_udp_sent + cgw.stats().esp_raw_sent,
        before.esp_udp_sent + before.esp_raw_sent
    );
    // A truncated IPv6 header is malformed, not forwarded.
    cgw.handle_packet(now, tunnel_iface(T0), &ipv6_packet()[..30]);
    assert_eq!(cgw.stats().malformed, before.malformed + 1);
}

#[test]
fn link_local_and_multicast_ipv6_stay_on_the_host_side() {
    let (mut cgw, mut aws, now) = up_pair(true);
    let before = cgw.stats();
    // Router solicitation to all routers, MLD to a multicast group, and a
    // link-local unicast: a host's own chatter, never the tunnel's.
    for (src, dst) in [
        ("fe80::1", "ff02::2"),
        ("fd00::2", "ff02::16"),
        ("fe80::1", "fe80::2"),
        ("::", "fd00::1"),
    ] {
        cgw.handle_packet(now, tunnel_iface(T0), &ipv6_packet_between(src, dst));
    }
    let (_, out) = exchange(&mut cgw, &mut aws, now);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(cgw.stats().no_outbound, before.no_outbound + 4);
}
