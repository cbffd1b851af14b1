//! Nothing that arrives from the network panics a node or the simulator.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lab::wire::{self, Ipv4Info};
use lab::{IfaceId, LinkConfig, Nat, NatConfig, Node, Prefix, Router, Rule, Sim};
use proptest::prelude::*;

fn mangle(mut p: Vec<u8>, cut: usize, flips: &[(usize, u8)]) -> Vec<u8> {
    let len = p.len().max(1);
    for &(i, x) in flips {
        if let Some(b) = p.get_mut(i % len) {
            *b ^= x;
        }
    }
    p.truncate(cut);
    p
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        feed(&bytes);
    }

    #[test]
    fn mangled_packets_never_panic(
        kind in 0u8..5,
        cut in 0usize..120,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    ) {
        let a = Ipv4Addr::new(192, 0, 2, 10);
        let b = Ipv4Addr::new(198, 51, 100, 10);
        let p = match kind {
            0 => wire::build_udp((a, 500), (b, 500), &[1; 40], true),
            1 => wire::build_icmp_echo(a, b, false, 1, 2, &[3; 40]),
            2 => wire::build_raw(a, b, 6, &[0; 60], false),
            3 => {
                let public = Ipv4Addr::new(203, 0, 113, 1);
                let sent = wire::build_udp((public, 49152), (b, 500), &[0; 20], true);
                wire::build_icmp_frag_needed(b, &sent, 1280).unwrap()
            }
            _ => wire::build_raw(a, b, 50, &[0; 60], false),
        };
        feed(&mangle(p, cut, &flips));
    }
}

fn feed(bytes: &[u8]) {
    let now = Instant::now();
    let public = Ipv4Addr::new(203, 0, 113, 1);
    let mut nat = Nat::new(NatConfig::new(IfaceId(0), IfaceId(1), public));
    let mut router = Router::new()
        .with_addr(IfaceId(0), Ipv4Addr::new(198, 51, 100, 10))
        .with_route(Prefix::any(), IfaceId(1));
    for iface in [IfaceId(0), IfaceId(1), IfaceId(7)] {
        nat.handle_packet(now, iface, bytes);
        router.handle_packet(now, iface, bytes);
    }
    while nat.poll_transmit().is_some() {}
    while router.poll_transmit().is_some() {}
    let _ = Rule::udp_port(500).matches(bytes);
    let _ = Rule::dst(Prefix::any()).matches(bytes);
    if let Some(i) = Ipv4Info::parse(bytes) {
        let _ = i.ports(bytes);
    }
    let mut copy = bytes.to_vec();
    wire::fix_ip_checksum(&mut copy);
    wire::fix_l4_checksum(&mut copy);
    let _ = wire::rewrite_src(&mut copy, public, Some(1));
    let _ = wire::rewrite_dst(&mut copy, public, Some(1));
    let _ = wire::decrement_ttl(&mut copy);
    let _ = wire::udp_payload(bytes);
    let _ = wire::build_icmp_frag_needed(public, bytes, 1400);
}

#[test]
fn extreme_link_settings_do_not_panic() {
    let t0 = Instant::now();
    let mut sim = Sim::new(t0, 1);
    let mut h = common::Host::new(common::A, false);
    for i in 0..20 {
        h.send_at(
            t0 + Duration::from_millis(i),
            wire::build_udp((common::A, 1), (common::B, 2), &[0; 100], true),
        );
    }
    let a = sim.add_node(h);
    let b = sim.add_node(common::Host::new(common::B, true));
    let cfg = LinkConfig {
        latency: Duration::MAX,
        jitter: Duration::MAX,
        loss: f64::NAN,
        mtu: 0,
        icmp_frag_needed_from: Some(common::R_A),
        ..LinkConfig::default()
    };
    let l = sim.connect((a, IfaceId(0)), (b, IfaceId(0)), cfg).unwrap();
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.link_stats(l).unwrap().dropped_mtu, 20);
    sim.apply(lab::Fault::SetMtu(l, 1500));
    sim.apply(lab::Fault::SetLoss(l, 2.0));
    sim.with_node::<common::Host, _>(a, |h| {
        h.send_at(
            t0,
            wire::build_udp((common::A, 1), (common::B, 2), b"", false),
        )
    });
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.link_stats(l).unwrap().dropped_loss, 1);
    // Connecting an interface twice, or a missing node, is refused.
    assert!(sim
        .connect((a, IfaceId(0)), (b, IfaceId(1)), LinkConfig::default())
        .is_none());
    // A packet on an interface without a link is counted.
    let mut lonely = common::Host::new(common::A, false);
    lonely.send_at(t0, vec![0x45]);
    let c = sim.add_node(lonely);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.unattached_drops(c), 1);
}
