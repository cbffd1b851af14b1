//! The simulated network: timing, loss, MTU, link state, NAT, firewall,
//! determinism and pcap output.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::*;
use lab::wire::{self, Ipv4Info, PROTO_ESP};
use lab::{Fault, IfaceId, LinkConfig, Nat, NatConfig, Prefix, Router, Rule, Sim};

const MS: Duration = Duration::from_millis(1);

#[test]
fn echo_across_router_arrives_exactly_on_the_virtual_clock() {
    let mut t = topo(
        1,
        LinkConfig::with_latency(10 * MS),
        LinkConfig::with_latency(20 * MS),
        |h, t0| {
            h.send_at(
                t0 + 5 * MS,
                wire::build_udp((A, 4000), (B, 7), b"ping", false),
            );
        },
    );
    t.sim.run_for(Duration::from_secs(1));
    let at_b = received(&t.sim, t.b);
    assert_eq!(at_b.len(), 1);
    assert_eq!(at_b[0].0, t.t0 + 35 * MS);
    let info = Ipv4Info::parse(&at_b[0].1).unwrap();
    assert_eq!(info.ttl, 63, "the router decrements TTL");
    assert_eq!((info.src, info.dst), (A, B));
    let at_a = received(&t.sim, t.a);
    assert_eq!(at_a.len(), 1);
    assert_eq!(at_a[0].0, t.t0 + 65 * MS);
    assert_eq!(wire::udp_payload(&at_a[0].1), Some(&b"ping"[..]));
    assert_eq!(t.sim.node::<Router>(t.r).unwrap().stats().forwarded, 2);
    assert_eq!(t.sim.now(), t.t0 + Duration::from_secs(1));
}

#[test]
fn router_answers_ping_and_drops_without_route() {
    let mut t = topo(
        1,
        LinkConfig::with_latency(MS),
        LinkConfig::with_latency(MS),
        |h, t0| {
            h.send_at(t0, wire::build_icmp_echo(A, R_A, false, 9, 1, b"x"));
            h.send_at(
                t0,
                wire::build_udp((A, 1), (Ipv4Addr::new(203, 0, 113, 5), 1), b"", false),
            );
        },
    );
    t.sim.run_for(Duration::from_secs(1));
    let at_a = received(&t.sim, t.a);
    assert_eq!(at_a.len(), 1);
    assert_eq!(at_a[0].0, t.t0 + 2 * MS);
    let stats = t.sim.node::<Router>(t.r).unwrap().stats();
    assert_eq!((stats.local, stats.no_route), (1, 1));
}

fn loss_run(seed: u64) -> (usize, lab::LinkStats) {
    let lossy = LinkConfig {
        loss: 0.2,
        ..LinkConfig::with_latency(MS)
    };
    let mut t = topo(seed, lossy, LinkConfig::with_latency(MS), |h, t0| {
        h.udp_train(t0, MS, 1000, 4000, (B, 9), 16);
    });
    t.sim.run_for(Duration::from_secs(5));
    (received(&t.sim, t.a).len(), t.sim.link_stats(t.la).unwrap())
}

fn received_at_b(stats: &lab::LinkStats) -> u64 {
    stats.sent - 1000
}

#[test]
fn loss_is_seeded_and_deterministic() {
    let (echoed, stats) = loss_run(7);
    // 1000 datagrams out over the lossy link, and the echo of each one that
    // reached B back over it. The counts are fixed by the seed.
    assert_eq!(received_at_b(&stats), 806);
    assert_eq!((echoed, stats.sent, stats.dropped_loss), (652, 1806, 348));
    assert_eq!(stats.delivered + stats.dropped_loss, stats.sent);
    let loss_rate = stats.dropped_loss as f64 / stats.sent as f64;
    assert!((0.15..0.25).contains(&loss_rate), "loss rate {loss_rate}");
    let again = loss_run(7);
    assert_eq!((echoed, stats), again, "same seed, same run");
    let other = loss_run(8);
    assert_ne!(echoed, other.0, "another seed loses other packets");
}

#[test]
fn packets_over_the_mtu_are_dropped_and_counted() {
    let small = LinkConfig {
        mtu: 1000,
        icmp_frag_needed_from: Some(R_B),
        ..LinkConfig::with_latency(MS)
    };
    let mut t = topo(1, LinkConfig::with_latency(MS), small, |h, t0| {
        h.send_at(t0, wire::build_udp((A, 1), (B, 9), &[0; 972], false)); // exactly 1000
        h.send_at(t0 + MS, wire::build_udp((A, 1), (B, 9), &[0; 973], false)); // 1001
        h.send_at(
            t0 + 2 * MS,
            wire::build_udp((A, 1), (B, 9), &[0; 1200], true),
        ); // DF
    });
    t.sim.run_for(Duration::from_secs(1));
    let stats = t.sim.link_stats(t.lb).unwrap();
    assert_eq!(stats.dropped_mtu, 2);
    assert_eq!(stats.icmp_frag_needed, 1);
    assert_eq!(received(&t.sim, t.b).len(), 1);
    // A gets the echo of the first packet (over the 1000-byte link: fits) and
    // the ICMP fragmentation-needed for the DF packet.
    let at_a = received(&t.sim, t.a);
    assert_eq!(at_a.len(), 2);
    let icmp = at_a
        .iter()
        .find(|(_, p)| Ipv4Info::parse(p).unwrap().protocol == 1)
        .unwrap();
    let info = Ipv4Info::parse(&icmp.1).unwrap();
    assert_eq!((info.src, info.dst), (R_B, A));
    let body = &icmp.1[info.header_len..];
    assert_eq!(
        (body[0], body[1], u16::from_be_bytes([body[6], body[7]])),
        (3, 4, 1000)
    );
    assert_eq!(icmp.0, t.t0 + 2 * MS + MS + MS + MS);
}

#[test]
fn link_down_drops_sent_and_in_flight_packets() {
    let mut t = topo(
        1,
        LinkConfig::with_latency(100 * MS),
        LinkConfig::with_latency(MS),
        |h, t0| {
            h.send_at(t0, wire::build_udp((A, 1), (B, 9), b"in flight", false));
            h.send_at(
                t0 + 500 * MS,
                wire::build_udp((A, 1), (B, 9), b"while down", false),
            );
            h.send_at(
                t0 + 2000 * MS,
                wire::build_udp((A, 1), (B, 9), b"back up", false),
            );
        },
    );
    let (t0, la) = (t.t0, t.la);
    t.sim.schedule(t0 + 50 * MS, Fault::LinkDown(la));
    t.sim.schedule(t0 + 1000 * MS, Fault::LinkUp(la));
    t.sim.run_for(Duration::from_secs(3));
    let stats = t.sim.link_stats(la).unwrap();
    assert_eq!(stats.dropped_down, 2);
    let at_b = received(&t.sim, t.b);
    assert_eq!(at_b.len(), 1);
    assert_eq!(wire::udp_payload(&at_b[0].1), Some(&b"back up"[..]));
    assert_eq!(at_b[0].0, t0 + 2101 * MS);
    // Runtime changes through the API.
    t.sim.apply(Fault::SetLatency(la, 5 * MS));
    let now = t.sim.now();
    t.sim
        .with_node::<Host, _>(t.a, |h| {
            h.send_at(now, wire::build_udp((A, 1), (B, 9), b"fast", false))
        })
        .unwrap();
    t.sim.run_for(Duration::from_secs(1));
    let at_b = received(&t.sim, t.b);
    assert_eq!(at_b[1].0, now + 6 * MS);
}

const INSIDE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const PUBLIC: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

/// host (192.0.2.10) -- NAT (public 203.0.113.1) -- router -- server B (echo).
fn nat_topo(
    setup: impl FnOnce(&mut Host, std::time::Instant),
) -> (Sim, std::time::Instant, [lab::NodeId; 4], lab::LinkId) {
    let t0 = std::time::Instant::now();
    let mut sim = Sim::new(t0, 3);
    let mut host = Host::new(INSIDE, false);
    setup(&mut host, t0);
    let h = sim.add_node(host);
    let nat = sim.add_node(Nat::new(NatConfig::new(IfaceId(0), IfaceId(1), PUBLIC)));
    let router = Router::new()
        .with_addr(IfaceId(1), R_B)
        .with_route(Prefix::new(PUBLIC, 24).unwrap(), IfaceId(0))
        .with_route(Prefix::new(B, 24).unwrap(), IfaceId(1));
    let r = sim.add_node(router);
    let b = sim.add_node(Host::new(B, true));
    sim.connect(
        (h, IfaceId(0)),
        (nat, IfaceId(0)),
        LinkConfig::with_latency(MS),
    )
    .unwrap();
    sim.connect(
        (nat, IfaceId(1)),
        (r, IfaceId(0)),
        LinkConfig::with_latency(MS),
    )
    .unwrap();
    let rb = sim
        .connect(
            (r, IfaceId(1)),
            (b, IfaceId(0)),
            LinkConfig::with_latency(MS),
        )
        .unwrap();
    (sim, t0, [h, nat, r, b], rb)
}

#[test]
fn nat_translates_and_expires_mappings() {
    let (mut sim, t0, [h, nat, _r, b], _) = nat_topo(|host, t0| {
        host.send_at(t0, wire::build_udp((INSIDE, 500), (B, 500), b"init", false));
        host.send_at(
            t0 + Duration::from_secs(10),
            wire::build_udp((INSIDE, 500), (B, 500), b"again", false),
        );
        host.send_at(
            t0 + Duration::from_secs(10),
            wire::build_icmp_echo(INSIDE, R_B, false, 77, 1, b"p"),
        );
        host.send_at(
            t0 + Duration::from_secs(60),
            wire::build_udp((INSIDE, 500), (B, 500), b"later", false),
        );
    });
    sim.run_for(Duration::from_secs(11));
    let at_b = received(&sim, b);
    assert_eq!(at_b.len(), 2);
    let info = Ipv4Info::parse(&at_b[0].1).unwrap();
    assert_eq!(info.src, PUBLIC);
    assert_eq!(info.ports(&at_b[0].1), Some((49152, 500)));
    assert_eq!(
        info.ports(&at_b[1].1),
        Some((49152, 500)),
        "same mapping while active"
    );
    // Checksums are valid after translation.
    let mut copy = at_b[0].1.clone();
    wire::fix_ip_checksum(&mut copy);
    wire::fix_l4_checksum(&mut copy);
    assert_eq!(copy, at_b[0].1);
    // Replies (UDP and ICMP echo) come back translated to the inside host.
    let at_h = received(&sim, h);
    assert_eq!(at_h.len(), 3);
    for (_, p) in &at_h {
        let i = Ipv4Info::parse(p).unwrap();
        assert_eq!(i.dst, INSIDE);
    }
    let icmp = at_h
        .iter()
        .find(|(_, p)| Ipv4Info::parse(p).unwrap().protocol == 1)
        .unwrap();
    let i = Ipv4Info::parse(&icmp.1).unwrap();
    assert_eq!(i.ports(&icmp.1), Some((77, 77)));
    assert_eq!(sim.node::<Nat>(nat).unwrap().mappings().len(), 2);

    // 30 s idle after the last packet at t=10 s: both mappings expire.
    sim.run_until(t0 + Duration::from_secs(41));
    let stats = sim.node::<Nat>(nat).unwrap().stats();
    assert_eq!(stats.mappings_expired, 2);
    assert!(sim.node::<Nat>(nat).unwrap().mappings().is_empty());
    // An unsolicited packet from outside is dropped.
    sim.with_node::<Host, _>(b, |s| {
        s.send_at(
            t0 + Duration::from_secs(45),
            wire::build_udp((B, 500), (PUBLIC, 49152), b"x", false),
        )
    });
    sim.run_until(t0 + Duration::from_secs(61));
    assert_eq!(sim.node::<Nat>(nat).unwrap().stats().no_mapping, 1);
    let at_b = received(&sim, b);
    let last = at_b.last().unwrap();
    assert_eq!(
        Ipv4Info::parse(&last.1).unwrap().ports(&last.1),
        Some((49154, 500)),
        "a new mapping, a new port"
    );
    // Flushing the NAT moves the flow to yet another port.
    sim.with_node::<Nat, _>(nat, |n| n.flush());
    sim.with_node::<Host, _>(h, |s| {
        s.send_at(
            t0 + Duration::from_secs(62),
            wire::build_udp((INSIDE, 500), (B, 500), b"y", false),
        )
    });
    sim.run_until(t0 + Duration::from_secs(63));
    let last = received(&sim, b).last().unwrap().clone();
    assert_eq!(
        Ipv4Info::parse(&last.1).unwrap().ports(&last.1),
        Some((49155, 500))
    );
    assert_eq!(sim.node::<Nat>(nat).unwrap().stats().unsupported, 0);
}

#[test]
fn firewall_rules_drop_and_count() {
    let esp = |src, dst| wire::build_raw(src, dst, PROTO_ESP, &[0; 32], false);
    let mut t = topo(
        1,
        LinkConfig::with_latency(MS),
        LinkConfig::with_latency(MS),
        |h, t0| {
            h.send_at(t0, wire::build_udp((A, 500), (B, 500), b"ike", false));
            h.send_at(t0, wire::build_udp((A, 4500), (B, 4500), b"natt", false));
            h.send_at(t0, esp(A, B));
            h.send_at(
                t0 + Duration::from_secs(1),
                wire::build_udp((A, 500), (B, 500), b"ike2", false),
            );
            h.send_at(t0 + Duration::from_secs(1), esp(A, B));
        },
    );
    let r500 = t.sim.add_link_rule(t.la, Rule::udp_port(500)).unwrap();
    let resp = t.sim.add_link_rule(t.la, Rule::esp()).unwrap();
    t.sim.run_for(Duration::from_millis(500));
    assert_eq!(received(&t.sim, t.b).len(), 1, "only UDP 4500 passes");
    let fw = t.sim.link_firewall(t.la).unwrap();
    assert_eq!(
        (fw.hits(r500), fw.hits(resp), fw.dropped()),
        (Some(1), Some(1), 2)
    );
    assert_eq!(t.sim.link_stats(t.la).unwrap().dropped_firewall, 2);
    // Remove the UDP 500 rule; ESP is still dropped.
    assert!(t.sim.link_firewall_mut(t.la).unwrap().remove_rule(r500));
    t.sim.run_for(Duration::from_secs(1));
    assert_eq!(received(&t.sim, t.b).len(), 2);
    assert_eq!(t.sim.link_firewall(t.la).unwrap().hits(resp), Some(2));

    // Rules in the router, by address: B's replies to A are dropped.
    let rule = t
        .sim
        .with_node::<Router, _>(t.r, |r| {
            r.firewall_mut().add_rule(Rule::src(Prefix::host(B)))
        })
        .unwrap();
    let now = t.sim.now();
    t.sim.with_node::<Host, _>(t.a, |h| {
        h.send_at(now, wire::build_udp((A, 4500), (B, 4500), b"z", false))
    });
    let before = received(&t.sim, t.a).len();
    t.sim.run_for(Duration::from_secs(1));
    assert_eq!(received(&t.sim, t.a).len(), before);
    let router = t.sim.node::<Router>(t.r).unwrap();
    assert_eq!(
        (router.firewall().hits(rule), router.stats().firewall),
        (Some(1), 1)
    );
    assert!(Rule::dst(Prefix::new(B, 24).unwrap()).matches(&esp(A, B)));
    assert!(!Rule::dst(Prefix::new(B, 24).unwrap()).matches(&esp(B, A)));
}

fn capture(seed: u64) -> Vec<u8> {
    let jittery = LinkConfig {
        jitter: 5 * MS,
        loss: 0.1,
        ..LinkConfig::with_latency(10 * MS)
    };
    let mut t = topo(seed, jittery, LinkConfig::with_latency(MS), |h, t0| {
        h.udp_train(t0, 3 * MS, 200, 500, (B, 500), 64);
    });
    let tap = t.sim.tap(t.la).unwrap();
    t.sim.run_for(Duration::from_secs(2));
    t.sim.pcap(tap).unwrap().bytes().to_vec()
}

#[test]
fn same_seed_gives_identical_pcap_bytes() {
    let one = capture(42);
    assert!(one.len() > 24 + 200 * 16);
    assert_eq!(one, capture(42));
    assert_ne!(one, capture(43));
}

#[test]
fn tshark_reads_the_capture_without_malformed_packets() {
    let bytes = capture(42);
    let dir = std::env::temp_dir().join(format!("lab-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("la.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let out = match std::process::Command::new("tshark").arg("-r").arg(&path).args(["-T", "fields", "-e", "frame.number", "-e", "ip.src", "-e", "udp.dstport", "-e", "_ws.malformed", "-e", "_ws.expert"]).output() {
        Ok(o) => o,
        Err(e) => panic!("tshark is needed for this test (apt install tshark; scripts/install-test-deps.sh): {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let records = (bytes.len() - 24) / (16 + 20 + 8 + 64);
    assert_eq!(lines.len(), records, "tshark saw every packet");
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert!(f.len() >= 4, "unexpected line {l:?}");
        assert!(f[1] == "192.0.2.10" || f[1] == "198.51.100.10", "{l}");
        assert_eq!(f[2], "500", "{l}");
        assert!(f[3].is_empty(), "malformed packet: {l}");
        assert!(f.get(4).is_none_or(|e| e.is_empty()), "expert info: {l}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn jitter_stays_within_bounds_and_runtime_faults_apply() {
    let jittery = LinkConfig {
        jitter: 4 * MS,
        ..LinkConfig::with_latency(10 * MS)
    };
    let mut t = topo(5, jittery, LinkConfig::default(), |h, t0| {
        h.udp_train(t0, Duration::from_secs(1), 50, 1, (B, 9), 8);
    });
    let (t0, la) = (t.t0, t.la);
    // At 20 s: MTU 100 (the 36-byte datagrams still fit) and a rule for
    // UDP 9; at 30 s the rules are cleared; at 40 s the MTU drops below them.
    t.sim
        .schedule(t0 + Duration::from_secs(20), Fault::SetMtu(la, 100));
    t.sim.schedule(
        t0 + Duration::from_millis(20_500),
        Fault::AddRule(la, Rule::udp_port(9)),
    );
    t.sim
        .schedule(t0 + Duration::from_millis(30_500), Fault::ClearRules(la));
    t.sim
        .schedule(t0 + Duration::from_millis(40_500), Fault::SetMtu(la, 30));
    t.sim.run_for(Duration::from_secs(60));
    let at_b = received(&t.sim, t.b);
    let mut distinct = std::collections::BTreeSet::new();
    for (at, p) in &at_b {
        let seq = u32::from_be_bytes(wire::udp_payload(p).unwrap()[..4].try_into().unwrap());
        let sent = t0 + Duration::from_secs(u64::from(seq));
        let delay = *at - sent;
        assert!(
            (10 * MS..=14 * MS).contains(&delay),
            "delay {delay:?} out of bounds"
        );
        distinct.insert(delay);
    }
    assert!(distinct.len() > 10, "jitter varies the delay");
    let stats = t.sim.link_stats(la).unwrap();
    // Sequence 21..=30 dropped by the rule, 41..=49 by the MTU.
    assert_eq!(stats.dropped_firewall, 10);
    assert_eq!(stats.dropped_mtu, 9);
    assert_eq!(at_b.len(), 50 - 10 - 9);
    assert_eq!(t.sim.link_config(la).unwrap().mtu, 30);
}

/// A node that never moves its deadline forward.
struct Stuck {
    at: std::time::Instant,
    woken: u32,
}

impl lab::Node for Stuck {
    fn handle_packet(&mut self, _: std::time::Instant, _: IfaceId, _: &[u8]) {}
    fn handle_timeout(&mut self, _: std::time::Instant) {
        self.woken += 1;
    }
    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        None
    }
    fn poll_timeout(&self) -> Option<std::time::Instant> {
        Some(self.at)
    }
}

#[test]
fn a_stuck_deadline_is_woken_once_and_ties_keep_send_order() {
    let t0 = std::time::Instant::now();
    let mut sim = Sim::new(t0, 1);
    let s = sim.add_node(Stuck {
        at: t0 + MS,
        woken: 0,
    });
    let mut h = Host::new(A, false);
    for i in 0u8..5 {
        h.send_at(t0, wire::build_udp((A, 1), (B, 2), &[i], false));
    }
    let a = sim.add_node(h);
    let b = sim.add_node(Host::new(B, false));
    sim.connect(
        (a, IfaceId(0)),
        (b, IfaceId(0)),
        LinkConfig::with_latency(MS),
    )
    .unwrap();
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.node::<Stuck>(s).unwrap().woken, 1);
    let order: Vec<u8> = received(&sim, b)
        .iter()
        .map(|(at, p)| {
            assert_eq!(*at, t0 + MS);
            wire::udp_payload(p).unwrap()[0]
        })
        .collect();
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[test]
fn icmp_fragmentation_needed_is_translated_back_through_the_nat() {
    let (mut sim, t0, [h, nat, _r, _b], narrow) = nat_topo(|host, t0| {
        host.send_at(
            t0,
            wire::build_udp((INSIDE, 4500), (B, 4500), &[0; 1400], true),
        );
    });
    // The router-B link is narrow and reports it.
    let mut cfg = sim.link_config(narrow).unwrap();
    cfg.mtu = 1280;
    cfg.icmp_frag_needed_from = Some(R_B);
    sim.set_link_config(narrow, cfg);
    sim.run_until(t0 + Duration::from_secs(1));
    let at_h = received(&sim, h);
    assert_eq!(at_h.len(), 1);
    let p = &at_h[0].1;
    let outer = Ipv4Info::parse(p).unwrap();
    assert_eq!((outer.src, outer.dst, outer.protocol), (R_B, INSIDE, 1));
    let quoted = &p[outer.header_len + 8..];
    assert_eq!(
        &quoted[12..16],
        &INSIDE.octets(),
        "quoted source translated"
    );
    assert_eq!(u16::from_be_bytes([quoted[20], quoted[21]]), 4500);
    let mut copy = p.clone();
    wire::fix_ip_checksum(&mut copy);
    wire::fix_l4_checksum(&mut copy);
    assert_eq!(&copy, p, "checksums valid");
    assert_eq!(sim.node::<Nat>(nat).unwrap().stats().inbound, 1);
}

/// `lab run` runs scenarios on worker threads: the simulator and the
/// built-in nodes must be `Send` (a compile-time check).
#[test]
fn sim_and_built_in_nodes_are_send() {
    fn send<T: Send>() {}
    send::<Sim>();
    send::<Router>();
    send::<Nat>();
    send::<lab::Host>();
    send::<lab::PcapWriter>();
}
