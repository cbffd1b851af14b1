//! `TunnelGateway` in the lab simulator: a CGW (192.0.2.10, initiator) and
//! an AWS-side gateway (198.51.100.10, AWS proposals, `PreferOwn`,
//! responder) joined by a router with latency, a LAN host behind the CGW and
//! a VPC host behind the AWS side.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cgw_sim::aws::{aws_esp_proposals, aws_ike_proposals};
use cgw_sim::node::{
    DownCause, GatewayConfig, TunnelConfig, TunnelEventKind, TunnelGateway, TunnelId, TunnelRole,
    INSIDE, OUTSIDE,
};
use ike::crypto::Secret;
use ike::sa::{Dpd, Failure, IkeConfig, Lifetimes, PreferOwn};
use lab::wire::{self, Ipv4Info, Prefix, PROTO_ESP, PROTO_ICMP, PROTO_UDP};
use lab::{
    Fault, IfaceId, LinkConfig, LinkId, Nat, NatConfig, Node, NodeId, Router, Rule, Sim, TapId,
};

const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const CGW_PRIVATE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const AWS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const LAN_HOST: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 10);
const VPC_HOST: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const CGW_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
const AWS_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);
const T0: TunnelId = TunnelId(0);

/// A host with one interface: answers pings, records echo replies, and
/// pings a target every `interval` once started.
struct Host {
    addr: Ipv4Addr,
    out: VecDeque<(IfaceId, Vec<u8>)>,
    /// (seq, arrival) of echo replies.
    replies: Vec<(u16, Instant)>,
    /// Echo requests answered.
    answered: u64,
    ping: Option<(Ipv4Addr, Duration, Instant)>,
    next_seq: u16,
}

impl Host {
    fn new(addr: Ipv4Addr) -> Host {
        Host {
            addr,
            out: VecDeque::new(),
            replies: Vec::new(),
            answered: 0,
            ping: None,
            next_seq: 0,
        }
    }

    fn send_ping(&mut self, dst: Ipv4Addr) -> u16 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let p = wire::build_icmp_echo(self.addr, dst, false, 7, seq, &[0xab; 56]);
        self.out.push_back((IfaceId(0), p));
        seq
    }

    fn ping_every(&mut self, dst: Ipv4Addr, interval: Duration, from: Instant) {
        self.ping = Some((dst, interval, from));
    }

    fn stop(&mut self) {
        self.ping = None;
    }
}

impl Node for Host {
    fn handle_packet(&mut self, now: Instant, _iface: IfaceId, packet: &[u8]) {
        let Some(info) = Ipv4Info::parse(packet) else {
            return;
        };
        if info.dst != self.addr || info.protocol != PROTO_ICMP {
            return;
        }
        let l4 = &packet[info.header_len..info.total_len];
        if l4.len() < 8 {
            return;
        }
        let id = u16::from_be_bytes([l4[4], l4[5]]);
        let seq = u16::from_be_bytes([l4[6], l4[7]]);
        match l4[0] {
            8 => {
                let r = wire::build_icmp_echo(self.addr, info.src, true, id, seq, &l4[8..]);
                self.answered += 1;
                self.out.push_back((IfaceId(0), r));
            }
            0 => self.replies.push((seq, now)),
            _ => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some((dst, interval, at)) = self.ping {
            if at <= now {
                self.send_ping(dst);
                self.ping = Some((dst, interval, now + interval));
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.ping.map(|p| p.2)
    }
}

struct Lab {
    sim: Sim,
    cgw: NodeId,
    aws: NodeId,
    lan: NodeId,
    vpc: NodeId,
    /// CGW outside <-> router.
    cgw_link: LinkId,
    tap: TapId,
}

fn psk() -> Secret {
    Secret::new(b"tunnel-node-test-psk".to_vec())
}

fn cgw_ike(tweak: impl FnOnce(&mut IkeConfig)) -> IkeConfig {
    let mut c = IkeConfig::new(psk(), aws_ike_proposals(), aws_esp_proposals(&[]));
    tweak(&mut c);
    c
}

fn aws_ike(tweak: impl FnOnce(&mut IkeConfig)) -> IkeConfig {
    let mut c = IkeConfig::new(psk(), aws_ike_proposals(), aws_esp_proposals(&[]));
    c.policy = Arc::new(PreferOwn);
    tweak(&mut c);
    c
}

fn lab(cgw_cfg: IkeConfig, aws_cfg: IkeConfig, seed: u64) -> Lab {
    build(cgw_cfg, aws_cfg, seed, false)
}

/// With `nat`, the CGW's outer address is 203.0.113.10, behind a NAT whose
/// public address is 192.0.2.10 (what the AWS side is configured with).
fn build(cgw_cfg: IkeConfig, aws_cfg: IkeConfig, seed: u64, nat: bool) -> Lab {
    let mut sim = Sim::new(Instant::now(), seed);
    let mut cgw = TunnelGateway::new(GatewayConfig {
        outer: if nat { CGW_PRIVATE } else { CGW },
        tunnels: vec![TunnelConfig {
            peer: AWS,
            inside_local: CGW_INSIDE,
            inside_remote: AWS_INSIDE,
            ike: Arc::new(cgw_cfg),
            role: TunnelRole::Initiator,
            ikev1: None,
            clear_df: false,
            mss_clamp: None,
            idle_timeout: None,
            extra_selectors: Vec::new(),
        }],
        seed: [seed as u8; 32],
    });
    cgw.set_route(Prefix::new(VPC_HOST, 16).unwrap(), T0);
    let mut aws = TunnelGateway::new(GatewayConfig {
        outer: AWS,
        tunnels: vec![TunnelConfig {
            peer: CGW,
            inside_local: AWS_INSIDE,
            inside_remote: CGW_INSIDE,
            ike: Arc::new(aws_cfg),
            role: TunnelRole::Responder,
            ikev1: None,
            clear_df: false,
            mss_clamp: None,
            idle_timeout: None,
            extra_selectors: Vec::new(),
        }],
        seed: [seed as u8 ^ 0xa5; 32],
    });
    aws.set_route(Prefix::new(LAN_HOST, 16).unwrap(), T0);
    let router = Router::new()
        .with_route(Prefix::new(CGW, 24).unwrap(), IfaceId(0))
        .with_route(Prefix::new(AWS, 24).unwrap(), IfaceId(1));
    let cgw = sim.add_node(cgw);
    let aws = sim.add_node(aws);
    let r = sim.add_node(router);
    let lan = sim.add_node(Host::new(LAN_HOST));
    let vpc = sim.add_node(Host::new(VPC_HOST));
    let wan = LinkConfig::with_latency(Duration::from_millis(15));
    let cgw_link = if nat {
        let n = sim.add_node(Nat::new(NatConfig::new(IfaceId(0), IfaceId(1), CGW)));
        let lan_side = LinkConfig::with_latency(Duration::from_millis(1));
        sim.connect((cgw, OUTSIDE), (n, IfaceId(0)), lan_side)
            .unwrap();
        sim.connect((n, IfaceId(1)), (r, IfaceId(0)), wan).unwrap()
    } else {
        sim.connect((cgw, OUTSIDE), (r, IfaceId(0)), wan).unwrap()
    };
    sim.connect((aws, OUTSIDE), (r, IfaceId(1)), wan).unwrap();
    let lan_cfg = LinkConfig::with_latency(Duration::from_millis(1));
    sim.connect((lan, IfaceId(0)), (cgw, INSIDE), lan_cfg)
        .unwrap();
    sim.connect((vpc, IfaceId(0)), (aws, INSIDE), lan_cfg)
        .unwrap();
    let tap = sim.tap(cgw_link).unwrap();
    Lab {
        sim,
        cgw,
        aws,
        lan,
        vpc,
        cgw_link,
        tap,
    }
}

impl Lab {
    fn start(&mut self) {
        let now = self.sim.now();
        self.sim
            .with_node(self.cgw, |g: &mut TunnelGateway| g.initiate_all(now));
    }

    fn gw(&self, id: NodeId) -> &TunnelGateway {
        self.sim.node(id).unwrap()
    }

    fn host(&self, id: NodeId) -> &Host {
        self.sim.node(id).unwrap()
    }

    fn ping_once(&mut self) -> u16 {
        self.sim
            .with_node(self.lan, |h: &mut Host| h.send_ping(VPC_HOST))
            .unwrap()
    }

    /// Records of the CGW-side tap: (protocol, src port, dst port).
    fn tapped(&self) -> Vec<(u8, u16, u16)> {
        let bytes = self.sim.pcap(self.tap).unwrap().bytes();
        let mut out = Vec::new();
        let mut off = 24;
        while off + 16 <= bytes.len() {
            let caplen = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
            let p = &bytes[off + 16..off + 16 + caplen];
            let info = Ipv4Info::parse(p).unwrap();
            let (s, d) = info.ports(p).unwrap_or((0, 0));
            out.push((info.protocol, s, d));
            off += 16 + caplen;
        }
        out
    }
}

fn assert_up(l: &Lab) {
    for id in [l.cgw, l.aws] {
        let g = l.gw(id);
        assert!(g.is_up(T0), "tunnel down: {:?} {:?}", g.events(), g.stats());
    }
}

#[test]
fn tunnel_establishes_and_ping_crosses_it() {
    let mut l = lab(cgw_ike(|_| {}), aws_ike(|_| {}), 1);
    l.start();
    l.sim.run_for(Duration::from_secs(2));
    assert_up(&l);
    let kinds: Vec<_> = l.gw(l.cgw).events().iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        [
            &TunnelEventKind::IkeUp {
                nat_t_detected: false
            },
            &TunnelEventKind::Up
        ]
    );

    let seq = l.ping_once();
    l.sim.run_for(Duration::from_secs(1));
    assert_eq!(l.host(l.vpc).answered, 1, "the echo request arrived");
    assert_eq!(
        l.host(l.lan)
            .replies
            .iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        [seq]
    );
    let (c, a) = (l.gw(l.cgw).stats(), l.gw(l.aws).stats());
    assert_eq!((c.esp_raw_sent, c.decapsulated, c.to_inside), (1, 1, 1));
    assert_eq!((a.esp_raw_sent, a.decapsulated, a.to_inside), (1, 1, 1));
    assert_eq!(c.esp_udp_sent + a.esp_udp_sent, 0);
    // No NAT, no forced encapsulation: raw ESP on the wire, IKE on 500.
    let tapped = l.tapped();
    assert_eq!(tapped.iter().filter(|t| t.0 == PROTO_ESP).count(), 2);
    assert!(tapped
        .iter()
        .all(|t| t.0 == PROTO_ESP || (t.0 == PROTO_UDP && t.1 == 500 && t.2 == 500)));

    // The AWS side's inside address answers pings through the tunnel, and
    // the CGW's own pings come back to it.
    let now = l.sim.now();
    l.sim.with_node(l.cgw, |g: &mut TunnelGateway| {
        g.ping(now, T0, AWS_INSIDE, 9)
    });
    l.sim.run_for(Duration::from_secs(1));
    let got = l.gw(l.cgw).received_local();
    assert_eq!(got.len(), 1, "echo reply from the AWS inside address");
    assert_eq!(l.gw(l.aws).stats().echo_replies, 1);
}

#[test]
fn forced_encapsulation_puts_esp_in_udp_4500() {
    let mut l = lab(
        cgw_ike(|c| c.force_encapsulation = true),
        aws_ike(|_| {}),
        2,
    );
    l.start();
    l.sim.run_for(Duration::from_secs(2));
    assert_up(&l);
    for _ in 0..3 {
        l.ping_once();
    }
    l.sim.run_for(Duration::from_secs(1));
    assert_eq!(l.host(l.lan).replies.len(), 3);
    let (c, a) = (l.gw(l.cgw).stats(), l.gw(l.aws).stats());
    assert_eq!((c.esp_udp_sent, c.esp_raw_sent), (3, 0));
    assert_eq!((a.esp_udp_sent, a.esp_raw_sent), (3, 0));
    assert_eq!(a.esp_udp_received, 3);
    let tapped = l.tapped();
    assert!(tapped.iter().all(|t| t.0 == PROTO_UDP), "no raw ESP");
    // IKE_AUTH and the ESP both ways on 4500; only IKE_SA_INIT on 500.
    let on_4500 = tapped.iter().filter(|t| t.1 == 4500 && t.2 == 4500).count();
    assert!(on_4500 >= 2 + 6, "{tapped:?}");
    assert_eq!(tapped.iter().filter(|t| t.1 == 500).count(), 2);
}

#[test]
fn udp_500_dropped_keeps_tunnel_down_with_no_response() {
    let mut l = lab(cgw_ike(|_| {}), aws_ike(|_| {}), 3);
    let rule = l
        .sim
        .add_link_rule(l.cgw_link, Rule::udp_port(500))
        .unwrap();
    l.start();
    l.sim.run_for(Duration::from_secs(120));
    let g = l.gw(l.cgw);
    assert!(!g.is_up(T0));
    assert!(!l.gw(l.aws).is_up(T0));
    match g.last_failure(T0) {
        Some(DownCause::IkeFailed(Failure::NoResponse { peer, tries })) => {
            assert_eq!(peer.ip(), std::net::IpAddr::V4(AWS));
            assert_eq!(*tries, 5);
        }
        other => panic!("expected NoResponse, got {other:?}"),
    }
    assert!(g.events().iter().any(|e| matches!(
        e.kind,
        TunnelEventKind::Down {
            cause: DownCause::IkeFailed(Failure::NoResponse { .. }),
            was_up: false
        }
    )));
    assert_eq!(l.sim.link_firewall(l.cgw_link).unwrap().hits(rule), Some(5));
    // A ping finds no outbound SA.
    l.ping_once();
    l.sim.run_for(Duration::from_secs(1));
    assert_eq!(l.gw(l.cgw).stats().no_outbound, 1);
    assert!(l.host(l.lan).replies.is_empty());
}

#[test]
fn child_rekeys_keep_pings_flowing() {
    let lifetimes = Lifetimes {
        ike: Duration::from_secs(3600),
        child: Duration::from_secs(60),
        margin: Duration::from_secs(10),
        fuzz_percent: 100,
    };
    let mut l = lab(
        cgw_ike(|c| c.lifetimes = lifetimes),
        aws_ike(|c| c.lifetimes = lifetimes),
        4,
    );
    l.start();
    l.sim.run_for(Duration::from_secs(2));
    assert_up(&l);
    let start = l.sim.now();
    l.sim.with_node(l.lan, |h: &mut Host| {
        h.ping_every(VPC_HOST, Duration::from_millis(100), start)
    });
    l.sim.run_for(Duration::from_secs(300));
    l.sim.with_node(l.lan, |h: &mut Host| h.stop());
    l.sim.run_for(Duration::from_secs(1));
    assert_up(&l);

    let sent = l.host(l.lan).next_seq;
    let replies = &l.host(l.lan).replies;
    assert!(sent >= 2999, "{sent}");
    assert_eq!(replies.len(), usize::from(sent), "every ping answered");
    let rekeys = |id| {
        l.gw(id)
            .events()
            .iter()
            .filter(|e| matches!(e.kind, TunnelEventKind::ChildRekeyed { .. }))
            .count()
    };
    assert!(
        rekeys(l.cgw) + rekeys(l.aws) >= 5,
        "{:?}",
        l.gw(l.cgw).events()
    );
    // Each rekey's old pair is reported removed, with the SPI the peer
    // names in its Delete (our outbound SPI).
    let removed = |id| -> Vec<Option<u32>> {
        l.gw(id)
            .events()
            .iter()
            .filter_map(|e| match e.kind {
                TunnelEventKind::ChildRemoved { spi_out, .. } => Some(spi_out),
                _ => None,
            })
            .collect()
    };
    let all: Vec<Option<u32>> = [l.cgw, l.aws].into_iter().flat_map(removed).collect();
    assert_eq!(all.len(), rekeys(l.cgw) + rekeys(l.aws), "{all:?}");
    assert!(all.iter().all(|s| s.is_some_and(|s| s > 255)), "{all:?}");
    for id in [l.cgw, l.aws] {
        let s = l.gw(id).stats();
        assert_eq!(
            (s.no_outbound, s.no_inbound, s.open_errors),
            (0, 0, 0),
            "{s:?}"
        );
        assert!(
            !l.gw(id)
                .events()
                .iter()
                .any(|e| matches!(e.kind, TunnelEventKind::Down { .. })),
            "{:?}",
            l.gw(id).events()
        );
        // Old inbound SAs are reaped: at most the live one and a lingering one.
        assert!(l.gw(id).inbound_spis(T0).len() <= 2);
    }
}

#[test]
fn cgw_behind_nat_comes_up_with_nat_t() {
    let mut l = build(cgw_ike(|_| {}), aws_ike(|_| {}), 5, true);
    l.start();
    l.sim.run_for(Duration::from_secs(2));
    assert_up(&l);
    for _ in 0..4 {
        l.ping_once();
    }
    l.sim.run_for(Duration::from_secs(1));
    assert_eq!(l.host(l.lan).replies.len(), 4);
    let (c, a) = (l.gw(l.cgw).stats(), l.gw(l.aws).stats());
    assert_eq!((c.esp_udp_sent, c.esp_raw_sent), (4, 0));
    assert_eq!((a.esp_udp_sent, a.esp_raw_sent), (4, 0));
    // On the public side: IKE_SA_INIT on 500, everything else UDP 4500
    // from the NAT's translated port.
    let tapped = l.tapped();
    assert!(tapped.iter().all(|t| t.0 == PROTO_UDP), "{tapped:?}");
    assert!(tapped.iter().filter(|t| t.1 == 4500 || t.2 == 4500).count() >= 8 + 2);
    // NAT-T detected on both sides, as AWS's `nat_t_detected` says.
    for id in [l.cgw, l.aws] {
        let info = &l.gw(id).events()[0];
        assert_eq!(
            info.kind,
            TunnelEventKind::IkeUp {
                nat_t_detected: true
            }
        );
    }
}

#[test]
fn ike_from_an_unknown_address_is_dropped_silently() {
    // The AWS side expects its CGW at 192.0.2.99: 192.0.2.10's IKE_SA_INIT
    // goes unanswered, as with a source IP mismatch on AWS.
    let mut sim = Sim::new(Instant::now(), 6);
    let cgw = TunnelGateway::new(GatewayConfig {
        outer: CGW,
        tunnels: vec![TunnelConfig {
            peer: AWS,
            inside_local: CGW_INSIDE,
            inside_remote: AWS_INSIDE,
            ike: Arc::new(cgw_ike(|_| {})),
            role: TunnelRole::Initiator,
            ikev1: None,
            clear_df: false,
            mss_clamp: None,
            idle_timeout: None,
            extra_selectors: Vec::new(),
        }],
        seed: [6; 32],
    });
    let aws = TunnelGateway::new(GatewayConfig {
        outer: AWS,
        tunnels: vec![TunnelConfig {
            peer: Ipv4Addr::new(192, 0, 2, 99),
            inside_local: AWS_INSIDE,
            inside_remote: CGW_INSIDE,
            ike: Arc::new(aws_ike(|_| {})),
            role: TunnelRole::Responder,
            ikev1: None,
            clear_df: false,
            mss_clamp: None,
            idle_timeout: None,
            extra_selectors: Vec::new(),
        }],
        seed: [7; 32],
    });
    let (c, a) = (sim.add_node(cgw), sim.add_node(aws));
    sim.connect(
        (c, OUTSIDE),
        (a, OUTSIDE),
        LinkConfig::with_latency(Duration::from_millis(10)),
    )
    .unwrap();
    let now = sim.now();
    sim.with_node(c, |g: &mut TunnelGateway| g.initiate(T0, now));
    sim.run_for(Duration::from_secs(120));
    let (cg, ag) = (
        sim.node::<TunnelGateway>(c).unwrap(),
        sim.node::<TunnelGateway>(a).unwrap(),
    );
    assert_eq!(ag.stats().unknown_peer, 5);
    assert_eq!(ag.endpoint().sas().count(), 0);
    assert!(matches!(
        cg.last_failure(T0),
        Some(DownCause::IkeFailed(Failure::NoResponse { tries: 5, .. }))
    ));
}

#[test]
fn route_table_longest_prefix_and_inside_subnets() {
    let mk = |peer: Ipv4Addr, local: Ipv4Addr| TunnelConfig {
        peer,
        inside_local: local,
        inside_remote: Ipv4Addr::from(u32::from(local) - 1),
        ike: Arc::new(cgw_ike(|_| {})),
        role: TunnelRole::Initiator,
        ikev1: None,
        clear_df: false,
        mss_clamp: None,
        idle_timeout: None,
        extra_selectors: Vec::new(),
    };
    let mut g = TunnelGateway::new(GatewayConfig {
        outer: CGW,
        tunnels: vec![
            mk(AWS, CGW_INSIDE),
            mk(
                Ipv4Addr::new(198, 51, 100, 20),
                Ipv4Addr::new(169, 254, 20, 2),
            ),
        ],
        seed: [8; 32],
    });
    let (t0, t1) = (TunnelId(0), TunnelId(1));
    assert_eq!(g.lookup(VPC_HOST), None);
    assert_eq!(g.lookup(Ipv4Addr::new(169, 254, 20, 1)), Some(t1));
    assert_eq!(g.lookup(AWS_INSIDE), Some(t0));
    g.set_route(Prefix::new(VPC_HOST, 16).unwrap(), t0);
    g.set_route(Prefix::new(VPC_HOST, 24).unwrap(), t1);
    assert_eq!(g.lookup(VPC_HOST), Some(t1));
    assert_eq!(g.lookup(Ipv4Addr::new(198, 19, 5, 1)), Some(t0));
    // Replacing a route, then removing it.
    g.set_route(Prefix::new(VPC_HOST, 24).unwrap(), t0);
    assert_eq!(g.routes().len(), 2);
    assert_eq!(g.lookup(VPC_HOST), Some(t0));
    assert!(g.remove_route(Prefix::new(VPC_HOST, 16).unwrap()));
    assert_eq!(g.lookup(Ipv4Addr::new(198, 19, 5, 1)), None);
    assert!(!g.is_up(t0) && !g.initiate(TunnelId(2), Instant::now()));
}

#[test]
fn dead_path_ends_in_dpd_timeout_on_the_aws_side() {
    let mut l = lab(cgw_ike(|_| {}), aws_ike(|c| c.dpd = Some(Dpd::aws())), 9);
    l.start();
    l.sim.run_for(Duration::from_secs(2));
    assert_up(&l);
    l.sim.apply(Fault::LinkDown(l.cgw_link));
    l.sim.run_for(Duration::from_secs(90));
    let g = l.gw(l.aws);
    assert!(!g.is_up(T0));
    assert!(matches!(
        g.last_failure(T0),
        Some(DownCause::DpdTimeout { .. })
    ));
    let downs: Vec<_> = g
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TunnelEventKind::Down { .. }))
        .collect();
    assert_eq!(downs.len(), 1, "one Down per outage: {downs:?}");
    assert!(matches!(
        downs[0].kind,
        TunnelEventKind::Down {
            cause: DownCause::DpdTimeout { .. },
            was_up: true
        }
    ));
}

#[test]
fn lan_host_pings_the_gateway_inside_address() {
    let mut l = lab(cgw_ike(|_| {}), aws_ike(|_| {}), 10);
    l.sim
        .with_node(l.lan, |h: &mut Host| h.send_ping(CGW_INSIDE));
    l.sim.run_for(Duration::from_millis(100));
    assert_eq!(l.host(l.lan).replies.len(), 1);
    assert_eq!(l.gw(l.cgw).stats().echo_replies, 1);
}

#[test]
fn one_seed_one_capture() {
    let run = || {
        let mut l = lab(cgw_ike(|_| {}), aws_ike(|_| {}), 11);
        l.start();
        let now = l.sim.now();
        l.sim.with_node(l.lan, |h: &mut Host| {
            h.ping_every(VPC_HOST, Duration::from_millis(250), now)
        });
        l.sim.run_for(Duration::from_secs(20));
        l.sim.pcap(l.tap).unwrap().bytes().to_vec()
    };
    let (a, b) = (run(), run());
    assert!(a.len() > 24 + 80 * 100);
    assert_eq!(a, b);
}

#[test]
fn ike_rekeys_keep_pings_flowing() {
    let lifetimes = Lifetimes {
        ike: Duration::from_secs(120),
        child: Duration::from_secs(3600),
        margin: Duration::from_secs(10),
        fuzz_percent: 100,
    };
    let mut l = lab(
        cgw_ike(|c| c.lifetimes = lifetimes),
        aws_ike(|c| c.lifetimes = lifetimes),
        12,
    );
    l.start();
    l.sim.run_for(Duration::from_secs(2));
    let start = l.sim.now();
    l.sim.with_node(l.lan, |h: &mut Host| {
        h.ping_every(VPC_HOST, Duration::from_millis(200), start)
    });
    l.sim.run_for(Duration::from_secs(400));
    l.sim.with_node(l.lan, |h: &mut Host| h.stop());
    l.sim.run_for(Duration::from_secs(1));
    assert_up(&l);
    let sent = l.host(l.lan).next_seq;
    assert_eq!(l.host(l.lan).replies.len(), usize::from(sent));
    let ike_rekeys: usize = [l.cgw, l.aws]
        .iter()
        .map(|id| {
            l.gw(*id)
                .events()
                .iter()
                .filter(|e| e.kind == TunnelEventKind::IkeRekeyed)
                .count()
        })
        .sum();
    assert!(ike_rekeys >= 3, "{:?}", l.gw(l.cgw).events());
    for id in [l.cgw, l.aws] {
        assert!(!l
            .gw(id)
            .events()
            .iter()
            .any(|e| matches!(e.kind, TunnelEventKind::Down { .. })));
    }
}
