//! The discrete-event simulator: virtual clock, event queue, links, faults.

use std::any::Any;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::firewall::{Firewall, Rule, RuleId};
use crate::pcap::PcapWriter;
use crate::wire::{self, Ipv4Info};
use crate::{IfaceId, Node};

/// Names a node in a [`Sim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(usize);

/// Names a link in a [`Sim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(usize);

/// Names a pcap tap in a [`Sim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TapId(usize);

/// Properties of a link, the same in both directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per packet (packets may
    /// be reordered).
    pub jitter: Duration,
    /// Probability in `0.0..=1.0` that a packet is lost.
    pub loss: f64,
    /// Largest packet carried, in bytes (the whole IPv4 packet).
    pub mtu: usize,
    /// False while the link is down: everything sent or in flight is lost.
    pub up: bool,
    /// When set, a packet over the MTU with DF set is answered with ICMP
    /// "fragmentation needed" from this address, back to the sender.
    pub icmp_frag_needed_from: Option<Ipv4Addr>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            mtu: 1500,
            up: true,
            icmp_frag_needed_from: None,
        }
    }
}

impl LinkConfig {
    /// A lossless 1500-byte link with one-way delay `latency`.
    pub fn with_latency(latency: Duration) -> Self {
        LinkConfig {
            latency,
            ..LinkConfig::default()
        }
    }
}

/// Counters of a link (both directions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets handed to the link by a node.
    pub sent: u64,
    /// Packets delivered to the node at the other end.
    pub delivered: u64,
    /// Packets lost to the loss probability.
    pub dropped_loss: u64,
    /// Packets over the MTU.
    pub dropped_mtu: u64,
    /// Packets sent while the link was down, or in flight when it went down.
    pub dropped_down: u64,
    /// Packets dropped by the link's firewall.
    pub dropped_firewall: u64,
    /// ICMP fragmentation-needed messages sent back.
    pub icmp_frag_needed: u64,
}

/// A change applied to a link, now ([`Sim::apply`]) or at a virtual
/// instant ([`Sim::schedule`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Take the link down.
    LinkDown(LinkId),
    /// Bring the link up.
    LinkUp(LinkId),
    /// Set the one-way latency.
    SetLatency(LinkId, Duration),
    /// Set the jitter.
    SetJitter(LinkId, Duration),
    /// Set the loss probability.
    SetLoss(LinkId, f64),
    /// Set the MTU.
    SetMtu(LinkId, usize),
    /// Add a drop rule to the link's firewall.
    AddRule(LinkId, Rule),
    /// Remove every rule from the link's firewall.
    ClearRules(LinkId),
}

struct Link {
    ends: [(NodeId, IfaceId); 2],
    cfg: LinkConfig,
    firewall: Firewall,
    stats: LinkStats,
    taps: Vec<usize>,
}

enum EventKind {
    Deliver {
        link: usize,
        to: usize,
        packet: Vec<u8>,
    },
    Timer {
        node: usize,
    },
    Poll {
        node: usize,
    },
    Fault(Fault),
}

struct Event {
    at: Instant,
    seq: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

// `Send`, so that a whole simulation can move to (or be built on) another
// thread: `lab run` runs scenarios in parallel.
trait AnyNode: Node + Send {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Node + Send + 'static> AnyNode for T {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct NodeSlot {
    node: Box<dyn AnyNode>,
    /// The instant of the pending timer event (identifies it).
    armed: Option<Instant>,
    /// What `poll_timeout` said when that event was pushed.
    requested: Option<Instant>,
    unattached: u64,
}

/// The simulated network. See the crate documentation.
pub struct Sim {
    epoch: Instant,
    now: Instant,
    seq: u64,
    rng: ChaCha20Rng,
    queue: BinaryHeap<Event>,
    nodes: Vec<NodeSlot>,
    links: Vec<Link>,
    /// Which link (and which end of it) each attached interface is on.
    attached: BTreeMap<(NodeId, IfaceId), (usize, usize)>,
    taps: Vec<PcapWriter>,
    events_run: u64,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("elapsed", &self.elapsed())
            .field("nodes", &self.nodes.len())
            .field("links", &self.links.len())
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl Sim {
    /// A simulator whose clock starts at `epoch`, with random choices drawn
    /// from ChaCha20 seeded with `seed`. `epoch` is only a base: the
    /// simulator adds durations to it and never reads the real clock.
    pub fn new(epoch: Instant, seed: u64) -> Self {
        Sim {
            epoch,
            now: epoch,
            seq: 0,
            rng: ChaCha20Rng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            nodes: Vec::new(),
            links: Vec::new(),
            attached: BTreeMap::new(),
            taps: Vec::new(),
            events_run: 0,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The instant the clock started at.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Virtual time elapsed since the epoch.
    pub fn elapsed(&self) -> Duration {
        self.now - self.epoch
    }

    /// Events processed so far.
    pub fn events_run(&self) -> u64 {
        self.events_run
    }

    /// Adds a node. It is polled (transmit queue, timeout) at the current
    /// instant, once its links can exist. Nodes are `Send` so that the
    /// simulator is too.
    pub fn add_node<N: Node + Send + 'static>(&mut self, node: N) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(NodeSlot {
            node: Box::new(node),
            armed: None,
            requested: None,
            unattached: 0,
        });
        self.push(self.now, EventKind::Poll { node: id });
        NodeId(id)
    }

    /// Joins interface `a.1` of node `a.0` and interface `b.1` of node `b.0`.
    /// `None` if a node does not exist or an interface is already linked.
    pub fn connect(
        &mut self,
        a: (NodeId, IfaceId),
        b: (NodeId, IfaceId),
        cfg: LinkConfig,
    ) -> Option<LinkId> {
        if a.0 .0 >= self.nodes.len() || b.0 .0 >= self.nodes.len() || a == b {
            return None;
        }
        if self.find_link(a).is_some() || self.find_link(b).is_some() {
            return None;
        }
        self.links.push(Link {
            ends: [a, b],
            cfg,
            firewall: Firewall::new(),
            stats: LinkStats::default(),
            taps: Vec::new(),
        });
        let id = self.links.len() - 1;
        self.attached.insert(a, (id, 0));
        self.attached.insert(b, (id, 1));
        Some(LinkId(id))
    }

    fn find_link(&self, end: (NodeId, IfaceId)) -> Option<(usize, usize)> {
        self.attached.get(&end).copied()
    }

    /// The node `id` as its concrete type, to read it.
    pub fn node<T: Node + 'static>(&self, id: NodeId) -> Option<&T> {
        self.nodes.get(id.0)?.node.as_any().downcast_ref()
    }

    /// Runs `f` on node `id` as its concrete type (to change its
    /// configuration, flush a NAT, start traffic...), then drains its
    /// transmit queue and re-arms its timer. `None` if the node does not
    /// exist or is of another type.
    pub fn with_node<T: Node + 'static, R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut T) -> R,
    ) -> Option<R> {
        let node = self
            .nodes
            .get_mut(id.0)?
            .node
            .as_any_mut()
            .downcast_mut::<T>()?;
        let r = f(node);
        self.after_call(id.0);
        Some(r)
    }

    /// Packets node `id` sent on an interface without a link.
    pub fn unattached_drops(&self, id: NodeId) -> u64 {
        self.nodes.get(id.0).map_or(0, |n| n.unattached)
    }

    /// The configuration of a link.
    pub fn link_config(&self, link: LinkId) -> Option<LinkConfig> {
        self.links.get(link.0).map(|l| l.cfg)
    }

    /// Replaces a link's configuration (packets in flight keep their
    /// delivery time; a link set down loses them).
    pub fn set_link_config(&mut self, link: LinkId, cfg: LinkConfig) {
        if let Some(l) = self.links.get_mut(link.0) {
            l.cfg = cfg;
        }
    }

    /// A link's counters.
    pub fn link_stats(&self, link: LinkId) -> Option<LinkStats> {
        self.links.get(link.0).map(|l| l.stats)
    }

    /// A link's firewall, to read counters.
    pub fn link_firewall(&self, link: LinkId) -> Option<&Firewall> {
        self.links.get(link.0).map(|l| &l.firewall)
    }

    /// A link's firewall, to add or remove rules.
    pub fn link_firewall_mut(&mut self, link: LinkId) -> Option<&mut Firewall> {
        self.links.get_mut(link.0).map(|l| &mut l.firewall)
    }

    /// Adds a drop rule to a link's firewall.
    pub fn add_link_rule(&mut self, link: LinkId, rule: Rule) -> Option<RuleId> {
        self.link_firewall_mut(link).map(|f| f.add_rule(rule))
    }

    /// Applies a fault now.
    pub fn apply(&mut self, fault: Fault) {
        let id = match &fault {
            Fault::LinkDown(l)
            | Fault::LinkUp(l)
            | Fault::SetLatency(l, _)
            | Fault::SetJitter(l, _)
            | Fault::SetLoss(l, _)
            | Fault::SetMtu(l, _)
            | Fault::AddRule(l, _)
            | Fault::ClearRules(l) => *l,
        };
        let Some(l) = self.links.get_mut(id.0) else {
            return;
        };
        match fault {
            Fault::LinkDown(_) => l.cfg.up = false,
            Fault::LinkUp(_) => l.cfg.up = true,
            Fault::SetLatency(_, d) => l.cfg.latency = d,
            Fault::SetJitter(_, d) => l.cfg.jitter = d,
            Fault::SetLoss(_, p) => l.cfg.loss = p,
            Fault::SetMtu(_, m) => l.cfg.mtu = m,
            Fault::AddRule(_, r) => {
                l.firewall.add_rule(r);
            }
            Fault::ClearRules(_) => l.firewall.clear(),
        }
    }

    /// Schedules a fault at virtual instant `at` (at once if in the past).
    pub fn schedule(&mut self, at: Instant, fault: Fault) {
        let at = at.max(self.now);
        self.push(at, EventKind::Fault(fault));
    }

    /// Starts a pcap capture on `link`: every packet that enters the link
    /// (after the up, MTU and firewall checks, before loss) is recorded at
    /// the instant it was sent, in both directions.
    pub fn tap(&mut self, link: LinkId) -> Option<TapId> {
        let l = self.links.get_mut(link.0)?;
        let id = self.taps.len();
        l.taps.push(id);
        self.taps.push(PcapWriter::new());
        Some(TapId(id))
    }

    /// The capture of a tap so far.
    pub fn pcap(&self, tap: TapId) -> Option<&PcapWriter> {
        self.taps.get(tap.0)
    }

    /// The instant of the next event, if any.
    pub fn next_event(&self) -> Option<Instant> {
        self.queue.peek().map(|e| e.at)
    }

    /// Processes the next event; false when none is left.
    pub fn step(&mut self) -> bool {
        let Some(ev) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(ev.at);
        self.events_run += 1;
        match ev.kind {
            EventKind::Deliver { link, to, packet } => self.deliver(link, to, packet),
            EventKind::Timer { node } => {
                let slot = &mut self.nodes[node];
                if slot.armed == Some(ev.at) {
                    // `requested` is kept: a node that still reports the
                    // same deadline after handling it is not woken again for
                    // it (rather than spinning at one instant).
                    slot.armed = None;
                    let now = self.now;
                    if slot.node.poll_timeout().is_some_and(|t| t <= now) {
                        slot.node.handle_timeout(now);
                    }
                    self.after_call(node);
                }
            }
            EventKind::Poll { node } => self.after_call(node),
            EventKind::Fault(f) => self.apply(f),
        }
        true
    }

    /// Runs every event up to and including `until`, then sets the clock
    /// to `until`.
    pub fn run_until(&mut self, until: Instant) {
        while self.next_event().is_some_and(|t| t <= until) {
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now.checked_add(d).unwrap_or(self.now));
    }

    fn push(&mut self, at: Instant, kind: EventKind) {
        self.seq += 1;
        self.queue.push(Event {
            at,
            seq: self.seq,
            kind,
        });
    }

    fn deliver(&mut self, link: usize, to: usize, packet: Vec<u8>) {
        let l = &mut self.links[link];
        if !l.cfg.up {
            l.stats.dropped_down += 1;
            return;
        }
        l.stats.delivered += 1;
        let (node, iface) = l.ends[to];
        let now = self.now;
        self.nodes[node.0].node.handle_packet(now, iface, &packet);
        self.after_call(node.0);
    }

    fn after_call(&mut self, node: usize) {
        while let Some((iface, packet)) = self.nodes[node].node.poll_transmit() {
            self.send(node, iface, packet);
        }
        let slot = &mut self.nodes[node];
        let next = slot.node.poll_timeout();
        if next != slot.requested {
            slot.requested = next;
            // A superseded timer event stays queued and is ignored when
            // popped, because `armed` no longer names its instant.
            slot.armed = next.map(|t| t.max(self.now));
            if let Some(at) = slot.armed {
                self.push(at, EventKind::Timer { node });
            }
        }
    }

    fn send(&mut self, node: usize, iface: IfaceId, packet: Vec<u8>) {
        let Some((link, side)) = self.find_link((NodeId(node), iface)) else {
            self.nodes[node].unattached += 1;
            return;
        };
        let now = self.now;
        let since = now - self.epoch;
        let l = &mut self.links[link];
        l.stats.sent += 1;
        if !l.cfg.up {
            l.stats.dropped_down += 1;
            return;
        }
        if packet.len() > l.cfg.mtu {
            l.stats.dropped_mtu += 1;
            if let Some(from) = l.cfg.icmp_frag_needed_from {
                if Ipv4Info::parse(&packet).is_some_and(|i| i.df) {
                    let mtu = u16::try_from(l.cfg.mtu).unwrap_or(u16::MAX);
                    if let Some(icmp) = wire::build_icmp_frag_needed(from, &packet, mtu) {
                        let Some(at) = now.checked_add(l.cfg.latency) else {
                            return;
                        };
                        l.stats.icmp_frag_needed += 1;
                        self.push(
                            at,
                            EventKind::Deliver {
                                link,
                                to: side,
                                packet: icmp,
                            },
                        );
                    }
                }
            }
            return;
        }
        if !l.firewall.check(&packet) {
            l.stats.dropped_firewall += 1;
            return;
        }
        for &t in &l.taps {
            self.taps[t].record(since, &packet);
        }
        let cfg = l.cfg;
        // Both draws happen for every packet, so that changing one knob does
        // not shift the random stream of the other.
        let loss_draw = self.rng.next_u64();
        let jitter_draw = self.rng.next_u64();
        let unit = (loss_draw >> 11) as f64 / ((1u64 << 53) as f64);
        if cfg.loss > 0.0 && unit < cfg.loss {
            self.links[link].stats.dropped_loss += 1;
            return;
        }
        let jitter_ns = u64::try_from(cfg.jitter.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter_ns == 0 {
            0
        } else {
            jitter_draw % (jitter_ns.saturating_add(1)).max(1)
        };
        let Some(at) = now
            .checked_add(cfg.latency)
            .and_then(|t| t.checked_add(Duration::from_nanos(extra)))
        else {
            // A delay past the end of representable time: it never arrives.
            self.links[link].stats.dropped_loss += 1;
            return;
        };
        self.push(
            at,
            EventKind::Deliver {
                link,
                to: 1 - side,
                packet,
            },
        );
    }
}
