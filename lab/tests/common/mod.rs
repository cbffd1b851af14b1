//! Test nodes: a UDP/ICMP host that sends on a schedule and can echo.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lab::wire::{self, Ipv4Info, PROTO_UDP};
use lab::{IfaceId, Node};

/// A one-interface host (interface 0). Sends scheduled packets; records
/// what it receives; if `echo`, answers each UDP datagram to its address by
/// swapping addresses and ports.
pub struct Host {
    pub addr: Ipv4Addr,
    pub echo: bool,
    pub schedule: VecDeque<(Instant, Vec<u8>)>,
    pub received: Vec<(Instant, Vec<u8>)>,
    out: VecDeque<Vec<u8>>,
}

impl Host {
    pub fn new(addr: Ipv4Addr, echo: bool) -> Self {
        Host {
            addr,
            echo,
            schedule: VecDeque::new(),
            received: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// Queues `packet` to be sent at `at` (the schedule must be in order).
    pub fn send_at(&mut self, at: Instant, packet: Vec<u8>) {
        self.schedule.push_back((at, packet));
    }

    /// Queues UDP datagrams from `sport` to `dst` every `every`, `n` of them,
    /// starting at `start`; payload is the sequence number, padded to `len`.
    pub fn udp_train(
        &mut self,
        start: Instant,
        every: Duration,
        n: u32,
        sport: u16,
        dst: (Ipv4Addr, u16),
        len: usize,
    ) {
        for i in 0..n {
            let mut payload = i.to_be_bytes().to_vec();
            payload.resize(len.max(4), 0);
            self.send_at(
                start + every * i,
                wire::build_udp((self.addr, sport), dst, &payload, false),
            );
        }
    }
}

impl Node for Host {
    fn handle_packet(&mut self, now: Instant, _iface: IfaceId, packet: &[u8]) {
        self.received.push((now, packet.to_vec()));
        if !self.echo {
            return;
        }
        let Some(info) = Ipv4Info::parse(packet) else {
            return;
        };
        if info.protocol != PROTO_UDP || info.dst != self.addr {
            return;
        }
        let (Some((sport, dport)), Some(payload)) = (info.ports(packet), wire::udp_payload(packet))
        else {
            return;
        };
        self.out.push_back(wire::build_udp(
            (self.addr, dport),
            (info.src, sport),
            payload,
            info.df,
        ));
    }

    fn handle_timeout(&mut self, now: Instant) {
        while self.schedule.front().is_some_and(|s| s.0 <= now) {
            if let Some((_, p)) = self.schedule.pop_front() {
                self.out.push_back(p);
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front().map(|p| (IfaceId(0), p))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.schedule.front().map(|s| s.0)
    }
}

pub const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub const B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
pub const R_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const R_B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// host A (192.0.2.10) --[la]-- router --[lb]-- host B (198.51.100.10, echo).
pub struct Topo {
    pub sim: lab::Sim,
    pub t0: Instant,
    pub a: lab::NodeId,
    pub b: lab::NodeId,
    pub r: lab::NodeId,
    pub la: lab::LinkId,
    pub lb: lab::LinkId,
}

pub fn topo(
    seed: u64,
    la: lab::LinkConfig,
    lb: lab::LinkConfig,
    setup_a: impl FnOnce(&mut Host, Instant),
) -> Topo {
    let t0 = Instant::now();
    let mut sim = lab::Sim::new(t0, seed);
    let mut host_a = Host::new(A, false);
    setup_a(&mut host_a, t0);
    let a = sim.add_node(host_a);
    let b = sim.add_node(Host::new(B, true));
    let router = lab::Router::new()
        .with_addr(IfaceId(0), R_A)
        .with_addr(IfaceId(1), R_B)
        .with_route(lab::Prefix::new(A, 24).unwrap(), IfaceId(0))
        .with_route(lab::Prefix::new(B, 24).unwrap(), IfaceId(1));
    let r = sim.add_node(router);
    let la = sim.connect((a, IfaceId(0)), (r, IfaceId(0)), la).unwrap();
    let lb = sim.connect((r, IfaceId(1)), (b, IfaceId(0)), lb).unwrap();
    Topo {
        sim,
        t0,
        a,
        b,
        r,
        la,
        lb,
    }
}

pub fn received(sim: &lab::Sim, id: lab::NodeId) -> Vec<(Instant, Vec<u8>)> {
    sim.node::<Host>(id).unwrap().received.clone()
}
