//! Two endpoints (CGW initiator, AWS-like responder) on a virtual clock,
//! each with a small data plane that follows the engine's events the way a
//! real one must: install new pairs, send on the newest, keep an old
//! inbound SA until its successor has carried traffic. ESP flows both ways
//! at a fixed interval; every packet that finds no outbound SA or no
//! inbound SA is counted.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::esp::{InboundSa, OutboundSa};
use ike::sa::{Endpoint, Event, IkeConfig, Transmit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Cgw,
    Aws,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct DpStats {
    pub sent: u64,
    pub received: u64,
    /// Packets we wanted to send with no outbound SA installed.
    pub no_outbound: u64,
    /// Packets that arrived for an SPI we no longer (or never) had.
    pub no_inbound: u64,
    pub open_errors: u64,
    pub installed: u64,
    pub deleted: u64,
    pub ike_rekeys: u64,
    pub peak_live: usize,
}

/// A data plane fed by engine events.
#[derive(Default)]
pub struct DataPlane {
    /// (our inbound SPI, SA, packets received on it)
    inbound: Vec<(u32, InboundSa, u64)>,
    /// (our inbound SPI of the pair, outbound SA); the last is in use.
    outbound: Vec<(u32, OutboundSa)>,
    /// Inbound SAs deleted by the engine but kept until a newer inbound SA
    /// has received a packet.
    lingering: Vec<u32>,
    pub stats: DpStats,
    seed: u8,
}

impl DataPlane {
    pub fn on_event(&mut self, e: &Event) {
        match e {
            Event::ChildSaInstalled(c) => {
                self.seed = self.seed.wrapping_add(1);
                self.outbound
                    .push((c.spi_in, c.outbound_sa([self.seed; 32]).unwrap()));
                self.inbound
                    .push((c.spi_in, c.inbound_sa(1024).unwrap(), 0));
                self.stats.installed += 1;
                self.stats.peak_live = self.stats.peak_live.max(self.outbound.len());
            }
            Event::ChildSaDeleted { spi_in, .. } => {
                self.outbound.retain(|(s, _)| s != spi_in);
                self.lingering.push(*spi_in);
                self.stats.deleted += 1;
                self.reap();
            }
            Event::IkeSaRekeyed { .. } => self.stats.ike_rekeys += 1,
            _ => {}
        }
    }

    /// Drops lingering inbound SAs once a newer one has carried traffic.
    fn reap(&mut self) {
        let inbound = &self.inbound;
        let keep: Vec<u32> = self
            .lingering
            .iter()
            .copied()
            .filter(|spi| {
                let Some(pos) = inbound.iter().position(|(s, _, _)| s == spi) else {
                    return false;
                };
                // Keep it while no later-installed, live SA has received anything.
                !inbound[pos + 1..]
                    .iter()
                    .any(|(s, _, n)| *n > 0 && !self.lingering.contains(s))
            })
            .collect();
        let gone: Vec<u32> = self
            .lingering
            .iter()
            .copied()
            .filter(|s| !keep.contains(s))
            .collect();
        self.inbound.retain(|(s, _, _)| !gone.contains(s));
        self.lingering = keep;
    }

    pub fn live_children(&self) -> usize {
        self.outbound.len()
    }

    pub fn outbound_spi_in(&self) -> Option<u32> {
        self.outbound.last().map(|(s, _)| *s)
    }

    pub fn seal(&mut self, inner: &[u8]) -> Option<Vec<u8>> {
        let Some((_, sa)) = self.outbound.last_mut() else {
            self.stats.no_outbound += 1;
            return None;
        };
        let mut out = Vec::with_capacity(inner.len() + 64);
        sa.seal(4, inner, &mut out).unwrap();
        self.stats.sent += 1;
        Some(out)
    }

    pub fn open(&mut self, pkt: &mut [u8]) {
        let spi = ike::esp::spi_of(pkt);
        let Some(i) = self.inbound.iter().position(|(s, _, _)| Some(*s) == spi) else {
            self.stats.no_inbound += 1;
            return;
        };
        match self.inbound[i].1.open(pkt) {
            Ok(_) => {
                self.inbound[i].2 += 1;
                self.stats.received += 1;
                self.reap();
            }
            Err(_) => self.stats.open_errors += 1,
        }
    }
}

pub enum Packet {
    Ike(Transmit),
    Esp(Vec<u8>),
}

type DropFilter = Box<dyn FnMut(Side, &Packet, Instant) -> bool>;

pub struct Duo {
    pub start: Instant,
    pub now: Instant,
    pub latency: Duration,
    pub cgw: Endpoint,
    pub aws: Endpoint,
    pub cgw_events: Vec<(Duration, Event)>,
    pub aws_events: Vec<(Duration, Event)>,
    pub cgw_dp: DataPlane,
    pub aws_dp: DataPlane,
    /// ESP both ways every this often (None: no traffic).
    pub esp_every: Option<Duration>,
    next_esp: Instant,
    /// Return true to drop a packet sent by `Side` at that time.
    pub drop: DropFilter,
    /// Keep every event (off for long soaks, where memory is measured).
    pub keep_events: bool,
    in_flight: VecDeque<(Instant, Side, Packet)>,
}

pub const CGW_ADDR: &str = "192.0.2.10:500";
pub const AWS_ADDR: &str = "198.51.100.10:500";

impl Duo {
    pub fn new(cgw: IkeConfig, aws: IkeConfig, seed: u8) -> Duo {
        let start = Instant::now();
        let mut c = Endpoint::new(None, [seed; 32]);
        let a = Endpoint::new(Some(Arc::new(aws)), [seed ^ 0xa5; 32]);
        let (l, r): (SocketAddr, SocketAddr) =
            (CGW_ADDR.parse().unwrap(), AWS_ADDR.parse().unwrap());
        c.initiate(Arc::new(cgw), l, r, start);
        Duo {
            start,
            now: start,
            latency: Duration::from_millis(20),
            cgw: c,
            aws: a,
            cgw_events: Vec::new(),
            aws_events: Vec::new(),
            cgw_dp: DataPlane::default(),
            aws_dp: DataPlane::default(),
            esp_every: None,
            next_esp: start,
            drop: Box::new(|_, _, _| false),
            keep_events: true,
            in_flight: VecDeque::new(),
        }
    }

    fn push(&mut self, from: Side, p: Packet) {
        if !(self.drop)(from, &p, self.now) {
            self.in_flight.push_back((self.now + self.latency, from, p));
        }
    }

    fn collect(&mut self) {
        let t = self.now - self.start;
        while let Some(x) = self.cgw.poll_transmit() {
            self.push(Side::Cgw, Packet::Ike(x));
        }
        while let Some(x) = self.aws.poll_transmit() {
            self.push(Side::Aws, Packet::Ike(x));
        }
        while let Some((_, e)) = self.cgw.poll_event() {
            self.cgw_dp.on_event(&e);
            if self.keep_events {
                self.cgw_events.push((t, e));
            }
        }
        while let Some((_, e)) = self.aws.poll_event() {
            self.aws_dp.on_event(&e);
            if self.keep_events {
                self.aws_events.push((t, e));
            }
        }
    }

    fn deliver(&mut self, from: Side, p: Packet) {
        match (from, p) {
            (Side::Cgw, Packet::Ike(t)) => {
                self.aws
                    .handle_datagram(self.now, t.remote, t.local, &t.payload);
            }
            (Side::Aws, Packet::Ike(t)) => {
                self.cgw
                    .handle_datagram(self.now, t.remote, t.local, &t.payload);
            }
            (Side::Cgw, Packet::Esp(mut e)) => self.aws_dp.open(&mut e),
            (Side::Aws, Packet::Esp(mut e)) => self.cgw_dp.open(&mut e),
        }
    }

    fn send_esp(&mut self) {
        let inner = [0x45u8; 40];
        if let Some(p) = self.cgw_dp.seal(&inner) {
            self.push(Side::Cgw, Packet::Esp(p));
        }
        if let Some(p) = self.aws_dp.seal(&inner) {
            self.push(Side::Aws, Packet::Esp(p));
        }
    }

    /// Starts ESP both ways every `every`, from now.
    pub fn traffic(&mut self, every: Duration) {
        self.esp_every = Some(every);
        self.next_esp = self.now;
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.collect();
            let mut next = end;
            if let Some(f) = self.in_flight.front() {
                next = next.min(f.0);
            }
            for t in [self.cgw.poll_timeout(), self.aws.poll_timeout()]
                .into_iter()
                .flatten()
            {
                next = next.min(t);
            }
            if self.esp_every.is_some() {
                next = next.min(self.next_esp);
            }
            self.now = self.now.max(next);
            if self.now >= end && self.in_flight.front().is_none_or(|f| f.0 > end) {
                self.collect();
                return;
            }
            while self.in_flight.front().is_some_and(|f| f.0 <= self.now) {
                let (_, from, p) = self.in_flight.pop_front().unwrap();
                self.deliver(from, p);
                self.collect();
            }
            if let Some(every) = self.esp_every {
                if self.next_esp <= self.now {
                    self.send_esp();
                    self.next_esp = self.now + every;
                }
            }
            self.cgw.handle_timeout(self.now);
            self.aws.handle_timeout(self.now);
        }
    }

    pub fn live_sas(ep: &Endpoint) -> Vec<&ike::sa::IkeSa> {
        ep.sas()
            .map(|(_, s)| s)
            .filter(|s| !s.is_closed())
            .collect()
    }
}

/// The live IKE SA of an endpoint (exactly one expected).
pub fn live_id(ep: &Endpoint) -> ike::sa::SaId {
    let live: Vec<_> = ep
        .sas()
        .filter(|(_, s)| !s.is_closed() && s.state() == ike::sa::State::Established)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        live.len(),
        1,
        "live IKE SAs: {:?}",
        ep.sas().map(|(i, s)| (i, s.state())).collect::<Vec<_>>()
    );
    live[0]
}
