//! `TunnelGateway::use_tunnel_interfaces`: the gateway as it runs on a
//! real host, one interface (a TUN device there) per tunnel, the inside
//! addresses owned by the host's stack. Here each side's "host stack" is a
//! smoltcp `lab::Host` on the tunnel interface holding the inside address:
//! it answers pings and runs TCP (BGP's transport) through the tunnel,
//! and the gateway's route table stays empty.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use cgw_sim::node::{tunnel_iface, TunnelGateway, TunnelId, OUTSIDE};
use lab::wire::Prefix;
use lab::{Host, HostConfig, IfaceId, LinkConfig, NodeId, Router, Sim, TcpState};

const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const AWS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const CGW_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
const AWS_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);
const T0: TunnelId = TunnelId(0);

struct Lab {
    sim: Sim,
    cgw: NodeId,
    cgw_host: NodeId,
    aws_host: NodeId,
}

fn lab() -> Lab {
    let epoch = Instant::now();
    let mut sim = Sim::new(epoch, 3);
    let cgw = sim.add_node(common::tunnel_gateway(
        CGW,
        AWS,
        (CGW_INSIDE, AWS_INSIDE),
        false,
        false,
    ));
    let aws = sim.add_node(common::tunnel_gateway(
        AWS,
        CGW,
        (AWS_INSIDE, CGW_INSIDE),
        true,
        false,
    ));
    let router = sim.add_node(
        Router::new()
            .with_route(Prefix::host(CGW), IfaceId(0))
            .with_route(Prefix::host(AWS), IfaceId(1)),
    );
    // The host stacks' MTU is the TUN device's, set below the tunnel's
    // (as the OS driver sets it from the negotiated suite).
    let stack = |addr, seed| {
        let mut c = HostConfig::new(addr, 30).with_seed(seed);
        c.mtu = 1400;
        Host::new(epoch, c)
    };
    let cgw_host = sim.add_node(stack(CGW_INSIDE, 1));
    let aws_host = sim.add_node(stack(AWS_INSIDE, 2));
    let wan = LinkConfig::with_latency(Duration::from_millis(10));
    let tun = LinkConfig::with_latency(Duration::ZERO);
    sim.connect((cgw, OUTSIDE), (router, IfaceId(0)), wan)
        .unwrap();
    sim.connect((aws, OUTSIDE), (router, IfaceId(1)), wan)
        .unwrap();
    sim.connect((cgw_host, IfaceId(0)), (cgw, tunnel_iface(T0)), tun)
        .unwrap();
    sim.connect((aws_host, IfaceId(0)), (aws, tunnel_iface(T0)), tun)
        .unwrap();
    let now = sim.now();
    sim.with_node(cgw, |g: &mut TunnelGateway| g.initiate_all(now));
    sim.run_for(Duration::from_secs(1));
    Lab {
        sim,
        cgw,
        cgw_host,
        aws_host,
    }
}

#[test]
fn pings_to_the_inside_addresses_are_answered_by_the_host_stacks() {
    let mut l = lab();
    let g: &TunnelGateway = l.sim.node(l.cgw).unwrap();
    assert!(g.is_up(T0));
    assert!(g.routes().is_empty());
    for seq in 0..3 {
        l.sim.with_node(l.cgw_host, |h: &mut Host| {
            h.ping(AWS_INSIDE, seq, b"through the tunnel").unwrap()
        });
        l.sim.run_for(Duration::from_millis(200));
    }
    let replies = l
        .sim
        .with_node(l.cgw_host, |h: &mut Host| h.ping_replies())
        .unwrap();
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert!(replies.iter().all(|r| r.from == AWS_INSIDE));
    let g: &TunnelGateway = l.sim.node(l.cgw).unwrap();
    // Nothing answered by the gateway itself: the host stack owns the
    // inside address.
    assert_eq!(g.stats().echo_replies, 0);
    assert_eq!(g.stats().decapsulated, 3);
}

#[test]
fn tcp_crosses_the_tunnel_between_the_host_stacks() {
    let mut l = lab();
    let listener = l
        .sim
        .with_node(l.aws_host, |h: &mut Host| h.tcp_listen(179).unwrap())
        .unwrap();
    let conn = l
        .sim
        .with_node(l.cgw_host, |h: &mut Host| {
            h.tcp_connect(AWS_INSIDE, 179).unwrap()
        })
        .unwrap();
    l.sim.run_for(Duration::from_millis(500));
    let sent = l
        .sim
        .with_node(l.cgw_host, |h: &mut Host| h.tcp_send(conn, &[0x42; 3000]))
        .unwrap();
    assert_eq!(sent, 3000);
    l.sim.run_for(Duration::from_secs(1));
    let mut got = Vec::new();
    l.sim.with_node(l.aws_host, |h: &mut Host| {
        assert_eq!(h.tcp_state(listener), TcpState::Established);
        h.tcp_recv(listener, &mut got)
    });
    assert_eq!(got.len(), 3000);
    assert!(got.iter().all(|b| *b == 0x42));
}

#[test]
fn a_packet_on_an_unknown_interface_is_counted_not_forwarded() {
    let mut l = lab();
    let now = l.sim.now();
    l.sim.with_node(l.cgw, |g: &mut TunnelGateway| {
        lab::Node::handle_packet(g, now, tunnel_iface(TunnelId(5)), &[0x45; 40]);
        assert_eq!(g.stats().malformed, 1);
        assert_eq!(g.stats().esp_raw_sent + g.stats().esp_udp_sent, 0);
    });
}
