//! BGP sessions on a virtual clock: two speakers joined by an in-memory
//! "TCP" that delivers bytes in odd chunk sizes, with connection attempts,
//! refusals, black holes and collisions.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp::route::{IpNet, PathAttributes};
use bgp::session::collision::{self, Resolution};
use bgp::session::{Action, Direction, Family, Session, SessionConfig, SessionEvent, State};
use bgp::wire::{Context, Message, Notification, Parsed, Update};

const CGW_AS: u32 = 65000;
const AWS_AS: u32 = 64512;

fn cgw_config() -> SessionConfig {
    let mut c = SessionConfig::new(CGW_AS, AWS_AS, Ipv4Addr::new(169, 254, 15, 194));
    c.restart_time = None;
    c
}

fn aws_config() -> SessionConfig {
    let mut c = SessionConfig::new(AWS_AS, CGW_AS, Ipv4Addr::new(169, 254, 15, 193));
    c.restart_time = None;
    c
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// How connection attempts fare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Connections and bytes go through.
    Up,
    /// Nothing gets through: attempts hang, bytes vanish (a tunnel down).
    Silent,
    /// Attempts are answered with a reset (nobody listening).
    Refused,
}

/// One direction of a connection: chunks in flight.
#[derive(Debug, Default)]
struct Pipe {
    /// (delivery time, bytes); `None` bytes is the FIN.
    queue: VecDeque<(Instant, Option<Vec<u8>>)>,
}

#[derive(Debug)]
struct Conn {
    /// (node, session id) at each end: [initiator, acceptor].
    ends: [(usize, u64); 2],
    /// pipes[i] carries bytes from ends[i] to the other end.
    pipes: [Pipe; 2],
    closed: [bool; 2],
}

#[derive(Debug)]
struct Slot {
    id: u64,
    session: Session,
    conn: Option<usize>,
    /// Dropped once drained (lost a collision).
    doomed: bool,
}

#[derive(Debug, Default)]
struct Node {
    slots: Vec<Slot>,
}

/// A logged event: when, which node, which session.
#[derive(Debug, Clone)]
struct Logged {
    at: Instant,
    node: usize,
    #[allow(dead_code)] // for failure output
    id: u64,
    event: SessionEvent,
}

/// A message seen on the wire.
#[derive(Debug, Clone)]
struct WireMsg {
    at: Instant,
    from: usize,
    msg: Message,
}

struct Sim {
    t0: Instant,
    now: Instant,
    nodes: [Node; 2],
    conns: Vec<Conn>,
    link: Link,
    latency: Duration,
    chunk_sizes: Vec<usize>,
    chunk_i: usize,
    next_id: u64,
    events: Vec<Logged>,
    wire: Vec<WireMsg>,
    actions: Vec<(Instant, usize, Action)>,
    /// Reassembly of each direction's stream for the wire log:
    /// (conn, direction) -> bytes.
    taps: Vec<((usize, usize), Vec<u8>)>,
}

impl Sim {
    fn new(a: SessionConfig, b: SessionConfig) -> Sim {
        let t0 = Instant::now();
        let mut sim = Sim {
            t0,
            now: t0,
            nodes: [Node::default(), Node::default()],
            conns: Vec::new(),
            link: Link::Up,
            latency: Duration::from_millis(5),
            chunk_sizes: vec![1, 3, 7, 19, 64, 5, 250, 2, 11, 4096],
            chunk_i: 0,
            next_id: 0,
            events: Vec::new(),
            wire: Vec::new(),
            actions: Vec::new(),
            taps: Vec::new(),
        };
        for (n, c) in [a, b].into_iter().enumerate() {
            let s = Session::new(c).expect("valid config");
            sim.add(n, s);
        }
        sim
    }

    fn add(&mut self, node: usize, session: Session) -> u64 {
        self.next_id += 1;
        self.nodes[node].slots.push(Slot {
            id: self.next_id,
            session,
            conn: None,
            doomed: false,
        });
        self.next_id
    }

    fn at(&self, s: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(s)
    }

    /// The node's session (the only one once collisions are resolved).
    fn s(&self, node: usize) -> &Session {
        &self.nodes[node].slots[0].session
    }

    fn s_mut(&mut self, node: usize) -> &mut Session {
        &mut self.nodes[node].slots[0].session
    }

    fn start(&mut self, node: usize) {
        let now = self.now;
        self.s_mut(node).start(now);
        self.pump();
    }

    fn slot_index(&self, node: usize, id: u64) -> Option<usize> {
        self.nodes[node].slots.iter().position(|s| s.id == id)
    }

    fn session_by_id(&mut self, node: usize, id: u64) -> Option<&mut Session> {
        let i = self.slot_index(node, id)?;
        Some(&mut self.nodes[node].slots[i].session)
    }

    /// Splits `bytes` into chunks of the next sizes in the cycle.
    fn chunks(&mut self, bytes: Vec<u8>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n = self.chunk_sizes[self.chunk_i % self.chunk_sizes.len()].min(rest.len());
            self.chunk_i += 1;
            out.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        out
    }

    fn tap(&mut self, conn: usize, dir: usize, from: usize, bytes: &[u8]) {
        let key = (conn, dir);
        let i = match self.taps.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.taps.push((key, Vec::new()));
                self.taps.len() - 1
            }
        };
        self.taps[i].1.extend_from_slice(bytes);
        loop {
            let buf = &self.taps[i].1;
            // The log only needs types and headers; a context with
            // 4-octet AS and both families reads what our sessions send.
            match Message::parse(buf, &Context::new(true)) {
                Ok(Parsed::Message(m, n)) => {
                    self.wire.push(WireMsg {
                        at: self.now,
                        from,
                        msg: m,
                    });
                    self.taps[i].1.drain(..n);
                }
                _ => break,
            }
        }
    }

    /// Drains every session's output until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for node in 0..2 {
                let mut k = 0;
                while k < self.nodes[node].slots.len() {
                    moved |= self.drain_slot(node, k);
                    k += 1;
                }
                moved |= self.resolve(node);
            }
            if !moved {
                break;
            }
        }
    }

    fn resolve(&mut self, node: usize) -> bool {
        let now = self.now;
        let mut moved = false;
        // Drop doomed sessions that are drained.
        let before = self.nodes[node].slots.len();
        let conns = &mut self.conns;
        let silent = self.link == Link::Silent;
        self.nodes[node].slots.retain(|s| {
            let keep = !s.doomed;
            if !keep {
                if let Some(c) = s.conn {
                    close_end(conns, c, node, s.id, now, silent);
                }
            }
            keep
        });
        moved |= self.nodes[node].slots.len() != before;
        if self.nodes[node].slots.len() == 2 {
            let (a, b) = self.nodes[node].slots.split_at_mut(1);
            match collision::resolve(now, &mut a[0].session, &mut b[0].session) {
                Resolution::Pending => {}
                Resolution::KeepFirst => {
                    b[0].doomed = true;
                    moved = true;
                }
                Resolution::KeepSecond => {
                    a[0].doomed = true;
                    moved = true;
                }
            }
            if moved {
                // Make the kept one slot 0 once the loser is gone.
                let slots = &mut self.nodes[node].slots;
                if slots[0].doomed {
                    slots.swap(0, 1);
                }
            }
        }
        moved
    }

    fn drain_slot(&mut self, node: usize, k: usize) -> bool {
        let now = self.now;
        let mut moved = false;
        let id = self.nodes[node].slots[k].id;
        while let Some(bytes) = self.nodes[node].slots[k].session.poll_transmit() {
            moved = true;
            let Some(c) = self.nodes[node].slots[k].conn else {
                panic!("node {node} session {id} transmits without a connection");
            };
            let dir = usize::from(self.conns[c].ends[1] == (node, id));
            if self.conns[c].closed[dir] {
                continue;
            }
            self.tap(c, dir, node, &bytes);
            if self.link == Link::Silent {
                continue;
            }
            let at = now + self.latency;
            for ch in self.chunks(bytes) {
                self.conns[c].pipes[dir].queue.push_back((at, Some(ch)));
            }
        }
        while let Some(action) = self.nodes[node].slots[k].session.poll_action() {
            moved = true;
            self.actions.push((now, node, action));
            match action {
                Action::Connect => self.connect(node, id),
                Action::Disconnect => {
                    if let Some(c) = self.nodes[node].slots[k].conn.take() {
                        let silent = self.link == Link::Silent;
                        close_end(&mut self.conns, c, node, id, now + self.latency, silent);
                    }
                }
            }
        }
        while let Some(event) = self.nodes[node].slots[k].session.poll_event() {
            moved = true;
            self.events.push(Logged {
                at: now,
                node,
                id,
                event,
            });
        }
        moved
    }

    /// `node`'s session `id` connects to the other node.
    fn connect(&mut self, node: usize, id: u64) {
        let now = self.now;
        let other = 1 - node;
        match self.link {
            Link::Silent => {}
            Link::Refused => {
                self.session_by_id(node, id)
                    .expect("session")
                    .handle_connection_failed(now);
            }
            Link::Up => {
                let primary = &self.nodes[other].slots[0].session;
                let (peer_id, adopt) = match primary.state() {
                    State::Idle => {
                        // Nobody accepts: a reset.
                        self.session_by_id(node, id)
                            .expect("session")
                            .handle_connection_failed(now);
                        return;
                    }
                    State::Active => (self.nodes[other].slots[0].id, true),
                    _ => {
                        let s = primary.incoming(now);
                        (self.add(other, s), false)
                    }
                };
                let c = self.conns.len();
                self.conns.push(Conn {
                    ends: [(node, id), (other, peer_id)],
                    pipes: [Pipe::default(), Pipe::default()],
                    closed: [false; 2],
                });
                let i = self.slot_index(node, id).expect("slot");
                self.nodes[node].slots[i].conn = Some(c);
                self.nodes[node].slots[i].session.handle_connected(now);
                let j = self.slot_index(other, peer_id).expect("slot");
                self.nodes[other].slots[j].conn = Some(c);
                if adopt {
                    self.nodes[other].slots[j].session.handle_connected(now);
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let timers = self
            .nodes
            .iter()
            .flat_map(|n| n.slots.iter())
            .filter_map(|s| s.session.poll_timeout());
        let pipes = self
            .conns
            .iter()
            .flat_map(|c| c.pipes.iter())
            .filter_map(|p| p.queue.front().map(|(t, _)| *t));
        timers.chain(pipes).min()
    }

    /// Runs the clock to `until`, processing everything due on the way.
    fn run_until(&mut self, until: Instant) {
        self.pump();
        while let Some(next) = self.next_deadline() {
            if next > until {
                break;
            }
            assert!(next >= self.now, "a deadline in the past");
            self.now = next;
            self.deliver();
            let now = self.now;
            for node in 0..2 {
                for slot in &mut self.nodes[node].slots {
                    if slot.session.poll_timeout().is_some_and(|t| t <= now) {
                        slot.session.handle_timeout(now);
                    }
                }
            }
            self.pump();
        }
        self.now = until;
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn deliver(&mut self) {
        let now = self.now;
        for c in 0..self.conns.len() {
            for dir in 0..2 {
                while self.conns[c].pipes[dir]
                    .queue
                    .front()
                    .is_some_and(|(t, _)| *t <= now)
                {
                    let (_, item) = self.conns[c].pipes[dir].queue.pop_front().expect("item");
                    let (node, id) = self.conns[c].ends[1 - dir];
                    let Some(i) = self.slot_index(node, id) else {
                        continue;
                    };
                    if self.nodes[node].slots[i].conn != Some(c) {
                        continue;
                    }
                    let s = &mut self.nodes[node].slots[i];
                    match item {
                        Some(bytes) => s.session.handle_bytes(now, &bytes),
                        None => {
                            s.conn = None;
                            s.session.handle_closed(now);
                        }
                    }
                    self.pump();
                }
            }
        }
    }

    fn events_of(&self, node: usize) -> Vec<&SessionEvent> {
        self.events
            .iter()
            .filter(|e| e.node == node)
            .map(|e| &e.event)
            .collect()
    }

    fn states_of(&self, node: usize) -> Vec<(State, State)> {
        self.events
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| match e.event {
                SessionEvent::StateChanged { from, to } => Some((from, to)),
                _ => None,
            })
            .collect()
    }

    fn sent_notifications(&self, node: usize) -> Vec<(Instant, Notification)> {
        self.events
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| match &e.event {
                SessionEvent::NotificationSent(n) => Some((e.at, n.clone())),
                _ => None,
            })
            .collect()
    }

    fn received_notifications(&self, node: usize) -> Vec<Notification> {
        self.events
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| match &e.event {
                SessionEvent::NotificationReceived(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    fn established_at(&self, node: usize) -> Vec<Instant> {
        self.events
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| match e.event {
                SessionEvent::Established { .. } => Some(e.at),
                _ => None,
            })
            .collect()
    }

    fn keepalives_from(&self, node: usize) -> Vec<Instant> {
        self.wire
            .iter()
            .filter(|w| w.from == node && w.msg == Message::Keepalive)
            .map(|w| w.at)
            .collect()
    }

    fn connects_of(&self, node: usize) -> Vec<Instant> {
        self.actions
            .iter()
            .filter(|(_, n, a)| *n == node && *a == Action::Connect)
            .map(|(t, _, _)| *t)
            .collect()
    }
}

/// Closes `node`'s end of connection `c`: a FIN to the other end after
/// what is already in flight.
/// On a silent link the FIN is lost too.
fn close_end(conns: &mut [Conn], c: usize, node: usize, id: u64, at: Instant, silent: bool) {
    let conn = &mut conns[c];
    let dir = usize::from(conn.ends[1] == (node, id));
    if conn.closed[dir] {
        return;
    }
    conn.closed[dir] = true;
    if silent {
        return;
    }
    let at = conn.pipes[dir]
        .queue
        .back()
        .map_or(at, |(t, _)| (*t).max(at));
    conn.pipes[dir].queue.push_back((at, None));
}

fn established(sim: &Sim) -> bool {
    sim.nodes
        .iter()
        .all(|n| n.slots.len() == 1 && n.slots[0].session.state() == State::Established)
}

// ---------------------------------------------------------------------------
// Establishment
// ---------------------------------------------------------------------------

#[test]
fn active_cgw_passive_aws_establish() {
    let mut aws = aws_config();
    aws.passive = true;
    let mut sim = Sim::new(cgw_config(), aws);
    sim.start(1);
    assert_eq!(sim.s(1).state(), State::Active);
    sim.start(0);
    sim.run_for(secs(1));
    assert!(established(&sim));
    for node in 0..2 {
        assert_eq!(
            sim.states_of(node)[..],
            [
                (
                    State::Idle,
                    if node == 0 {
                        State::Connect
                    } else {
                        State::Active
                    }
                ),
                (
                    if node == 0 {
                        State::Connect
                    } else {
                        State::Active
                    },
                    State::OpenSent
                ),
                (State::OpenSent, State::OpenConfirm),
                (State::OpenConfirm, State::Established),
            ]
        );
    }
    assert_eq!(sim.s(0).direction(), Some(Direction::Outgoing));
    assert_eq!(sim.s(1).direction(), Some(Direction::Incoming));
    // The AWS side logs the change with the neighbor.
    let ev = sim.events_of(1);
    let est = ev
        .iter()
        .find_map(|e| match e {
            SessionEvent::Established {
                peer_as,
                peer_id,
                hold_time,
                four_octet_as,
            } => Some((*peer_as, *peer_id, *hold_time, *four_octet_as)),
            _ => None,
        })
        .expect("established event");
    assert_eq!(est, (CGW_AS, Ipv4Addr::new(169, 254, 15, 194), 30, true));
    let n = sim.s(0).negotiated().expect("negotiated");
    assert_eq!(n.keepalive, Some(secs(10)));
    assert_eq!(n.families, vec![Family::Ipv4Unicast]);
    assert!(n.route_refresh);
    // Four messages each way: OPEN, KEEPALIVE (OpenConfirm), nothing else
    // within the first second.
    for node in 0..2 {
        let kinds: Vec<&str> = sim
            .wire
            .iter()
            .filter(|w| w.from == node)
            .map(|w| w.msg.kind_name())
            .collect();
        assert_eq!(kinds, ["OPEN", "KEEPALIVE"]);
    }
}

#[test]
fn active_active_staggered_start_establishes_without_collision() {
    // The CGW starts first: AWS is Idle and refuses; the CGW waits in
    // Active. AWS starts later, connects, and the CGW adopts it.
    let mut cgw = cgw_config();
    cgw.connect_retry = secs(30);
    let mut sim = Sim::new(cgw, aws_config());
    sim.start(0);
    assert_eq!(sim.s(0).state(), State::Active);
    sim.run_until(sim.at(2.0));
    sim.start(1);
    sim.run_for(secs(1));
    assert!(established(&sim));
    assert_eq!(sim.s(0).direction(), Some(Direction::Incoming));
    assert_eq!(sim.s(1).direction(), Some(Direction::Outgoing));
    assert_eq!(sim.connects_of(0).len(), 1);
}

#[test]
fn established_within_a_second_with_odd_chunks_and_byte_by_byte() {
    for sizes in [vec![1], vec![2, 17], vec![4096], vec![18, 19, 20]] {
        let mut aws = aws_config();
        aws.passive = true;
        let mut sim = Sim::new(cgw_config(), aws);
        sim.chunk_sizes = sizes.clone();
        sim.start(1);
        sim.start(0);
        sim.run_for(secs(1));
        assert!(established(&sim), "chunks {sizes:?}");
    }
}

// ---------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------

fn established_pair(cgw: SessionConfig, mut aws: SessionConfig) -> Sim {
    aws.passive = true;
    let mut sim = Sim::new(cgw, aws);
    sim.latency = Duration::ZERO;
    sim.start(1);
    sim.start(0);
    sim.run_for(Duration::from_millis(10));
    assert!(established(&sim));
    sim
}

#[test]
fn keepalives_every_ten_seconds_with_aws_values() {
    let mut sim = established_pair(cgw_config(), aws_config());
    sim.run_for(secs(300));
    assert!(established(&sim));
    for node in 0..2 {
        let ka = sim.keepalives_from(node);
        // The OpenConfirm KEEPALIVE at 0, then one every 10 s.
        assert_eq!(ka.len(), 31, "node {node}");
        for (i, t) in ka.iter().enumerate() {
            assert_eq!(
                *t,
                sim.t0 + secs(10 * i as u64),
                "node {node} keepalive {i}"
            );
        }
    }
}

#[test]
fn hold_timer_expires_thirty_seconds_after_the_last_message() {
    let mut sim = established_pair(cgw_config(), aws_config());
    sim.run_for(Duration::from_millis(25_500));
    // The tunnel goes down: nothing more gets through.
    sim.link = Link::Silent;
    // The last KEEPALIVEs got through at 20 s.
    let last = *sim.keepalives_from(0).last().expect("keepalive");
    assert_eq!(last, sim.at(20.0));
    sim.run_for(secs(60));
    for node in 0..2 {
        let sent = sim.sent_notifications(node);
        assert_eq!(sent.len(), 1, "node {node}");
        assert_eq!(sent[0].0, sim.at(50.0), "node {node}");
        assert_eq!(
            (sent[0].1.code, sent[0].1.subcode),
            (4, 0),
            "node {node}: Hold Timer Expired"
        );
        assert_eq!(sim.s(node).state(), State::Idle);
        assert_eq!(
            *sim.states_of(node).last().expect("change"),
            (State::Established, State::Idle)
        );
    }
    // Idle without a restart timer: nothing left to do.
    assert_eq!(sim.s(0).poll_timeout(), None);
}

#[test]
fn hold_time_is_the_lower_of_both() {
    let mut aws = aws_config();
    aws.hold_time = 90;
    let mut sim = established_pair(cgw_config(), aws);
    for node in 0..2 {
        let n = sim.s(node).negotiated().expect("negotiated");
        assert_eq!(n.hold_time, 30);
        assert_eq!(n.keepalive, Some(secs(10)));
    }
    // Both keepalive every 10 s, even the one that proposed 90.
    sim.run_for(secs(60));
    assert_eq!(sim.keepalives_from(1).len(), 7);
}

#[test]
fn configured_keepalive_is_capped_at_a_third_of_the_hold_time() {
    let mut cgw = cgw_config();
    cgw.keepalive = Some(secs(3));
    let mut aws = aws_config();
    aws.keepalive = Some(secs(25));
    let sim = established_pair(cgw, aws);
    assert_eq!(sim.s(0).negotiated().unwrap().keepalive, Some(secs(3)));
    assert_eq!(sim.s(1).negotiated().unwrap().keepalive, Some(secs(10)));
}

#[test]
fn hold_time_zero_means_no_keepalives_and_no_hold_timer() {
    let mut cgw = cgw_config();
    cgw.hold_time = 0;
    let mut sim = established_pair(cgw, aws_config());
    for node in 0..2 {
        let n = sim.s(node).negotiated().expect("negotiated");
        assert_eq!(n.hold_time, 0);
        assert_eq!(n.keepalive, None);
        assert_eq!(sim.s(node).poll_timeout(), None, "no timer at all");
    }
    sim.run_for(secs(3600));
    assert!(established(&sim));
    for node in 0..2 {
        // Only the OpenConfirm KEEPALIVE.
        assert_eq!(sim.keepalives_from(node).len(), 1);
    }
    // Silence does not bring it down either.
    sim.link = Link::Silent;
    sim.run_for(secs(3600));
    assert!(established(&sim));
}

#[test]
fn connect_retry_while_the_peer_is_unreachable() {
    let mut sim = Sim::new(cgw_config(), aws_config());
    sim.link = Link::Silent;
    sim.start(0);
    sim.run_for(Duration::from_millis(22_000));
    // An attempt at 0, abandoned and retried every 5 s.
    let connects = sim.connects_of(0);
    let want: Vec<Instant> = (0..5).map(|i| sim.at(5.0 * i as f64)).collect();
    assert_eq!(connects, want);
    let disconnects = sim
        .actions
        .iter()
        .filter(|(_, n, a)| *n == 0 && *a == Action::Disconnect)
        .count();
    assert_eq!(disconnects, 4, "each hung attempt abandoned");
    assert_eq!(sim.s(0).state(), State::Connect);
    assert_eq!(sim.s(0).stats().connect_attempts, 5);
    // The peer comes back: the next attempt succeeds.
    sim.link = Link::Up;
    sim.start(1);
    sim.run_for(secs(10));
    assert!(established(&sim));
}

#[test]
fn connect_retry_after_refused_connections_waits_in_active() {
    let mut sim = Sim::new(cgw_config(), aws_config());
    sim.link = Link::Refused;
    sim.start(0);
    sim.run_for(Duration::from_millis(12_000));
    assert_eq!(
        sim.connects_of(0),
        vec![sim.at(0.0), sim.at(5.0), sim.at(10.0)]
    );
    assert_eq!(sim.s(0).state(), State::Active);
    assert_eq!(
        sim.states_of(0)[..3],
        [
            (State::Idle, State::Connect),
            (State::Connect, State::Active),
            (State::Active, State::Connect),
        ]
    );
}

#[test]
fn passive_session_never_connects() {
    let mut aws = aws_config();
    aws.passive = true;
    let mut sim = Sim::new(cgw_config(), aws);
    sim.start(1);
    sim.run_for(secs(600));
    assert!(sim.connects_of(1).is_empty());
    assert_eq!(sim.s(1).state(), State::Active);
    assert_eq!(sim.s(1).poll_timeout(), None);
}

// ---------------------------------------------------------------------------
// OPEN errors
// ---------------------------------------------------------------------------

#[test]
fn asn_mismatch_is_bad_peer_as_from_the_side_that_expected_another() {
    // The CGW is configured for AWS at 64513, but AWS is 64512.
    let mut cgw = cgw_config();
    cgw.peer_as = 64513;
    let mut aws = aws_config();
    aws.passive = true;
    let mut sim = Sim::new(cgw, aws);
    sim.start(1);
    sim.start(0);
    sim.run_for(secs(1));
    let sent = sim.sent_notifications(0);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].1.code, sent[0].1.subcode), (2, 2));
    assert!(sim.sent_notifications(1).is_empty());
    let got = sim.received_notifications(1);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].code, got[0].subcode), (2, 2));
    assert_eq!(sim.s(0).state(), State::Idle);
    // AWS was passive: after the connection is gone, Idle as well (a
    // NOTIFICATION received ends in Idle).
    assert_eq!(sim.s(1).state(), State::Idle);
    assert!(sim.established_at(0).is_empty() && sim.established_at(1).is_empty());
}

#[test]
fn asn_mismatch_on_the_aws_side() {
    let mut aws = aws_config();
    aws.peer_as = 65001;
    aws.passive = true;
    let mut sim = Sim::new(cgw_config(), aws);
    sim.start(1);
    sim.start(0);
    sim.run_for(secs(1));
    assert_eq!(sim.sent_notifications(1).len(), 1);
    assert_eq!(sim.sent_notifications(1)[0].1.subcode, 2);
    assert!(sim.sent_notifications(0).is_empty());
    assert_eq!(sim.received_notifications(0)[0].code, 2);
}

#[test]
fn four_octet_as_negotiation() {
    // Both offer it: 4-octet ASes work.
    let mut cgw = cgw_config();
    cgw.local_as = 4_200_000_001;
    let mut aws = aws_config();
    aws.peer_as = 4_200_000_001;
    let sim = established_pair(cgw, aws);
    assert!(sim.s(0).negotiated().unwrap().four_octet_as);
    assert_eq!(sim.s(1).negotiated().unwrap().peer_as, 4_200_000_001);
    // One side without: 2-octet AS numbers on the wire.
    let mut cgw = cgw_config();
    cgw.four_octet_as = false;
    let sim = established_pair(cgw, aws_config());
    for node in 0..2 {
        assert!(!sim.s(node).negotiated().unwrap().four_octet_as);
    }
}

#[test]
fn ipv6_family_negotiated_when_both_offer_it() {
    let mut cgw = cgw_config();
    cgw.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
    let sim = established_pair(cgw.clone(), aws_config());
    assert_eq!(
        sim.s(0).negotiated().unwrap().families,
        vec![Family::Ipv4Unicast]
    );
    let mut aws = aws_config();
    aws.families = vec![Family::Ipv6Unicast, Family::Ipv4Unicast];
    let sim = established_pair(cgw, aws);
    for node in 0..2 {
        assert_eq!(
            sim.s(node).negotiated().unwrap().families,
            vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
        );
    }
}

#[test]
fn no_common_family_is_unsupported_capability() {
    let mut cgw = cgw_config();
    cgw.families = vec![Family::Ipv6Unicast];
    let mut aws = aws_config();
    aws.passive = true;
    let mut sim = Sim::new(cgw, aws);
    sim.start(1);
    sim.start(0);
    sim.run_for(secs(1));
    // Both see the other lacks what they need; the first OPEN processed
    // wins. Either way 2/7 is sent and both end Idle.
    let all: Vec<Notification> = sim
        .sent_notifications(0)
        .into_iter()
        .chain(sim.sent_notifications(1))
        .map(|(_, n)| n)
        .collect();
    assert!(!all.is_empty());
    assert!(all.iter().all(|n| (n.code, n.subcode) == (2, 7)));
    assert_eq!(sim.s(0).state(), State::Idle);
    assert_eq!(sim.s(1).state(), State::Idle);
}

// ---------------------------------------------------------------------------
// Collisions
// ---------------------------------------------------------------------------

fn collide(cgw_id: Ipv4Addr, aws_id: Ipv4Addr) -> Sim {
    let mut cgw = cgw_config();
    cgw.bgp_id = cgw_id;
    let mut aws = aws_config();
    aws.bgp_id = aws_id;
    let mut sim = Sim::new(cgw, aws);
    // Both start at the same instant: each connects to the other.
    let now = sim.now;
    sim.s_mut(0).start(now);
    sim.s_mut(1).start(now);
    sim.pump();
    // Two connections, two sessions on each side.
    assert_eq!(sim.conns.len(), 2);
    sim.run_for(secs(2));
    sim
}

#[test]
fn collision_resolved_by_identifier_leaves_one_session() {
    for (cgw_id, aws_id) in [
        (
            Ipv4Addr::new(169, 254, 15, 194),
            Ipv4Addr::new(169, 254, 15, 193),
        ),
        (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)),
    ] {
        let sim = collide(cgw_id, aws_id);
        assert!(established(&sim), "one established session on each side");
        // The survivor is the connection opened by the higher identifier.
        let winner_node = if cgw_id > aws_id { 0 } else { 1 };
        assert_eq!(sim.s(winner_node).direction(), Some(Direction::Outgoing));
        assert_eq!(
            sim.s(1 - winner_node).direction(),
            Some(Direction::Incoming)
        );
        // Both ends of the same connection.
        let c0 = sim.nodes[0].slots[0].conn;
        assert_eq!(c0, sim.nodes[1].slots[0].conn);
        assert!(c0.is_some());
        // The other connection was closed with Cease 6/7 by the side that
        // resolved it first; nobody else saw an error.
        let ceases: Vec<(u8, u8)> = (0..2)
            .flat_map(|n| sim.sent_notifications(n))
            .map(|(_, n)| (n.code, n.subcode))
            .collect();
        assert!(!ceases.is_empty());
        assert!(ceases.iter().all(|c| *c == (6, 7)), "{ceases:?}");
        assert_eq!(sim.established_at(0).len(), 1);
        assert_eq!(sim.established_at(1).len(), 1);
    }
}

#[test]
fn collision_with_an_established_session_closes_the_new_connection() {
    let mut sim = established_pair(cgw_config(), aws_config());
    // The AWS side connects again while established: a second session on
    // the CGW.
    let now = sim.now;
    let mut extra = sim.s(0).incoming(now);
    assert_eq!(extra.state(), State::OpenSent);
    let mut first = sim.nodes[0].slots.remove(0).session;
    assert_eq!(
        collision::resolve(now, &mut first, &mut extra),
        Resolution::KeepFirst
    );
    assert_eq!(first.state(), State::Established);
    assert_eq!(extra.state(), State::Idle);
    let bytes = extra.poll_transmit().expect("OPEN then Cease");
    let msgs = parse_all(&bytes, &Context::default());
    assert_eq!(msgs.len(), 2);
    assert!(matches!(&msgs[1], Message::Notification(n) if (n.code, n.subcode) == (6, 7)));
    // Drain: the OPEN, then the Cease and the close.
    let actions: Vec<Action> = std::iter::from_fn(|| extra.poll_action()).collect();
    assert_eq!(actions, [Action::Disconnect]);
}

#[test]
fn resolve_waits_for_the_peer_identifier() {
    let now = Instant::now();
    let mut a = Session::new(cgw_config()).unwrap();
    a.start(now);
    a.handle_connected(now);
    let mut b = a.incoming(now);
    assert_eq!(a.direction(), Some(Direction::Outgoing));
    assert_eq!(b.direction(), Some(Direction::Incoming));
    assert_eq!(collision::resolve(now, &mut a, &mut b), Resolution::Pending);
    // The peer's OPEN on the incoming connection: our id .194 beats .193,
    // so our own (outgoing) connection stays.
    let open = peer_open(aws_config());
    b.handle_bytes(now, &open);
    assert_eq!(b.state(), State::OpenConfirm);
    assert_eq!(
        collision::resolve(now, &mut a, &mut b),
        Resolution::KeepFirst
    );
    assert_eq!(b.state(), State::Idle);
    // A session that lost its connection loses at once.
    let mut c = a.incoming(now);
    a.handle_closed(now);
    assert_eq!(a.state(), State::Active);
    assert_eq!(
        collision::resolve(now, &mut a, &mut c),
        Resolution::KeepSecond
    );
    assert_eq!(c.state(), State::OpenSent);
}

// ---------------------------------------------------------------------------
// Restarts, NOTIFICATIONs, UPDATEs
// ---------------------------------------------------------------------------

#[test]
fn max_prefix_cease_then_automatic_restart_flaps() {
    let mut cgw = cgw_config();
    cgw.restart_time = Some(secs(5));
    let mut aws = aws_config();
    aws.restart_time = Some(secs(30));
    aws.passive = true;
    let mut sim = Sim::new(cgw, aws);
    sim.start(1);
    sim.start(0);
    let mut ups = Vec::new();
    for _ in 0..3 {
        sim.run_for(secs(1));
        assert!(established(&sim));
        ups.push(sim.now);
        // The AWS mock counts 101 prefixes: Cease 6/1 (AFI 1, SAFI 1,
        // limit 100).
        let cease = Notification {
            code: 6,
            subcode: 1,
            data: vec![0, 1, 1, 0, 0, 0, 100],
        };
        let now = sim.now;
        sim.s_mut(1).notify_and_close(now, cease.clone());
        sim.pump();
        assert_eq!(sim.s(1).state(), State::Idle);
        sim.run_for(secs(1));
        assert_eq!(sim.s(0).state(), State::Idle);
        assert_eq!(sim.received_notifications(0).last(), Some(&cease));
        // The CGW restarts after 5 s but AWS is Idle (refuses) until its
        // own restart timer, 30 s after the Cease.
        sim.run_for(secs(28));
        assert_ne!(sim.s(0).state(), State::Established);
        assert_eq!(sim.s(1).state(), State::Idle);
        sim.run_for(secs(1));
        assert_eq!(sim.s(1).state(), State::Active);
        // The CGW's next attempt (every 5 s) gets in.
        sim.run_for(secs(5));
    }
    assert_eq!(sim.established_at(1).len(), 4);
    assert_eq!(sim.s(1).stats().established, 4);
}

#[test]
fn manual_stop_sends_administrative_shutdown() {
    let mut cgw = cgw_config();
    cgw.restart_time = Some(secs(5));
    let mut aws = aws_config();
    aws.restart_time = Some(secs(5));
    let mut sim = established_pair(cgw, aws);
    let now = sim.now;
    sim.s_mut(0).stop(now);
    sim.run_for(secs(60));
    let got = sim.received_notifications(1);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].code, got[0].subcode), (6, 2));
    // A manual stop never restarts by itself.
    assert_eq!(sim.s(0).state(), State::Idle);
    assert_eq!(sim.connects_of(0).len(), 1);
    // A manual start does.
    sim.start(0);
    sim.run_for(secs(1));
    assert!(established(&sim));
}

fn update(i: u32) -> Update {
    let p: IpNet = format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap();
    Update {
        withdrawn: Vec::new(),
        attributes: Some(PathAttributes::originated(IpAddr::V4(Ipv4Addr::new(
            169, 254, 15, 194,
        )))),
        announced: vec![p],
        treat_as_withdraw: false,
    }
}

#[test]
fn updates_are_delivered_in_order() {
    let mut sim = established_pair(cgw_config(), aws_config());
    for i in 0..300 {
        sim.s_mut(0).send_update(update(i)).expect("established");
    }
    sim.run_for(secs(1));
    let got: Vec<Update> = sim
        .events_of(1)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::UpdateReceived(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    let want: Vec<Update> = (0..300).map(update).collect();
    assert_eq!(got.len(), 300);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.announced, w.announced);
        assert_eq!(
            g.attributes.as_ref().map(|a| a.next_hop),
            w.attributes.as_ref().map(|a| a.next_hop)
        );
    }
    assert_eq!(sim.s(1).stats().updates_received, 300);
    assert_eq!(sim.s(0).stats().updates_sent, 300);
}

#[test]
fn send_update_only_when_established() {
    let mut s = Session::new(cgw_config()).unwrap();
    assert!(s.send_update(update(1)).is_err());
    let now = Instant::now();
    s.start(now);
    s.handle_connected(now);
    assert!(matches!(
        s.send_update(update(1)),
        Err(bgp::session::SendError::NotEstablished(State::OpenSent))
    ));
}

#[test]
fn route_refresh_reaches_the_peer() {
    let mut sim = established_pair(cgw_config(), aws_config());
    sim.s_mut(0)
        .send_route_refresh(Family::Ipv4Unicast)
        .expect("established");
    // A family not negotiated is ignored by the receiver.
    sim.s_mut(0)
        .send_route_refresh(Family::Ipv6Unicast)
        .expect("established");
    sim.run_for(secs(1));
    let rr: Vec<_> = sim
        .events_of(1)
        .into_iter()
        .filter(|e| matches!(e, SessionEvent::RouteRefreshReceived(_)))
        .collect();
    assert_eq!(rr.len(), 1);
    assert!(established(&sim));
}

// ---------------------------------------------------------------------------
// One session against a scripted peer
// ---------------------------------------------------------------------------

/// The bytes of an OPEN from a peer with `config`.
fn peer_open(config: SessionConfig) -> Vec<u8> {
    let mut s = Session::new(config).unwrap();
    let now = Instant::now();
    s.start(now);
    s.handle_connected(now);
    s.poll_transmit().expect("OPEN")
}

fn parse_all(mut bytes: &[u8], ctx: &Context) -> Vec<Message> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        match Message::parse(bytes, ctx) {
            Ok(Parsed::Message(m, n)) => {
                out.push(m);
                bytes = &bytes[n..];
            }
            other => panic!("unparsable output: {other:?}"),
        }
    }
    out
}

/// A session (the CGW) in OpenSent against a scripted AWS peer.
fn open_sent() -> (Session, Instant) {
    let now = Instant::now();
    let mut s = Session::new(cgw_config()).unwrap();
    s.start(now);
    assert_eq!(s.poll_action(), Some(Action::Connect));
    s.handle_connected(now);
    let open = parse_all(&s.poll_transmit().expect("OPEN"), &Context::default());
    assert!(matches!(&open[..], [Message::Open(_)]));
    (s, now)
}

/// The session's output after an error: exactly one NOTIFICATION, then a
/// Disconnect, then Idle.
fn expect_notification(s: &mut Session) -> Notification {
    let msgs = parse_all(
        &s.poll_transmit().expect("NOTIFICATION"),
        &Context::default(),
    );
    let [Message::Notification(n)] = &msgs[..] else {
        panic!("expected one NOTIFICATION, got {msgs:?}");
    };
    assert_eq!(s.poll_action(), Some(Action::Disconnect));
    assert_eq!(s.poll_action(), None);
    assert_eq!(s.state(), State::Idle);
    let events: Vec<SessionEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(events.contains(&SessionEvent::NotificationSent(n.clone())));
    n.clone()
}

fn aws_open_with(f: impl FnOnce(&mut bgp::wire::Open)) -> Vec<u8> {
    let bytes = peer_open(aws_config());
    let Some(Message::Open(mut o)) = parse_all(&bytes, &Context::default()).pop() else {
        panic!("OPEN");
    };
    f(&mut o);
    Message::Open(o).to_bytes(&Context::default())
}

#[test]
fn bad_hold_time_one_or_two_is_unacceptable_hold_time() {
    for h in [1, 2] {
        let (mut s, now) = open_sent();
        s.handle_bytes(now, &aws_open_with(|o| o.hold_time = h));
        let n = expect_notification(&mut s);
        assert_eq!((n.code, n.subcode), (2, 6), "hold time {h}");
    }
    // 3 is fine.
    let (mut s, now) = open_sent();
    s.handle_bytes(now, &aws_open_with(|o| o.hold_time = 3));
    assert_eq!(s.state(), State::OpenConfirm);
    assert_eq!(s.negotiated().unwrap().keepalive, Some(secs(1)));
}

#[test]
fn unsupported_version_names_version_four() {
    for v in [3, 5] {
        let (mut s, now) = open_sent();
        s.handle_bytes(now, &aws_open_with(|o| o.version = v));
        let n = expect_notification(&mut s);
        assert_eq!((n.code, n.subcode), (2, 1), "version {v}");
        assert_eq!(n.data, [0, 4]);
    }
}

#[test]
fn bad_bgp_identifier() {
    let (mut s, now) = open_sent();
    s.handle_bytes(now, &aws_open_with(|o| o.bgp_id = Ipv4Addr::UNSPECIFIED));
    let n = expect_notification(&mut s);
    assert_eq!((n.code, n.subcode), (2, 3));
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    // KEEPALIVE in OpenSent: 5/1.
    let (mut s, now) = open_sent();
    s.handle_bytes(now, &Message::Keepalive.to_bytes(&Context::default()));
    assert_eq!(expect_notification(&mut s).subcode, 1);
    // UPDATE in OpenConfirm: 5/2.
    let (mut s, now) = open_sent();
    s.handle_bytes(now, &peer_open(aws_config()));
    assert_eq!(s.state(), State::OpenConfirm);
    s.poll_transmit();
    let upd = Message::Update(update(1)).to_bytes(&Context::new(true));
    s.handle_bytes(now, &upd);
    let n = expect_notification(&mut s);
    assert_eq!((n.code, n.subcode), (5, 2));
    // OPEN in Established: 5/3.
    let (mut s, now) = open_sent();
    let mut both = peer_open(aws_config());
    both.extend(Message::Keepalive.to_bytes(&Context::default()));
    s.handle_bytes(now, &both);
    assert_eq!(s.state(), State::Established);
    s.poll_transmit();
    s.handle_bytes(now, &peer_open(aws_config()));
    let n = expect_notification(&mut s);
    assert_eq!((n.code, n.subcode), (5, 3));
}

#[test]
fn malformed_update_sends_the_codecs_notification_and_goes_idle() {
    let (mut s, now) = open_sent();
    let mut both = peer_open(aws_config());
    both.extend(Message::Keepalive.to_bytes(&Context::default()));
    s.handle_bytes(now, &both);
    assert_eq!(s.state(), State::Established);
    s.poll_transmit();
    // An UPDATE whose withdrawn-routes length runs past the message.
    let mut bad = Message::Update(update(7)).to_bytes(&Context::new(true));
    bad[19] = 0x0f;
    bad[20] = 0xff;
    let ctx = Context::new(true);
    let want = match Message::parse(&bad, &ctx) {
        Err(e) => e.notification,
        other => panic!("the codec accepts it: {other:?}"),
    };
    assert_eq!(want.code, 3);
    // A good UPDATE before it in the same chunk is still delivered.
    let mut stream = Message::Update(update(1)).to_bytes(&ctx);
    stream.extend_from_slice(&bad);
    stream.extend(Message::Keepalive.to_bytes(&ctx));
    s.handle_bytes(now, &stream);
    let got = expect_notification(&mut s);
    assert_eq!(got, want);
    assert_eq!(s.stats().updates_received, 1);
}

#[test]
fn bad_marker_is_a_header_error() {
    let (mut s, now) = open_sent();
    let mut open = peer_open(aws_config());
    open[3] = 0;
    s.handle_bytes(now, &open);
    let n = expect_notification(&mut s);
    assert_eq!((n.code, n.subcode), (1, 1));
}

#[test]
fn notification_received_goes_idle_without_answer() {
    let (mut s, now) = open_sent();
    let n = Notification {
        code: 6,
        subcode: 5,
        data: Vec::new(),
    };
    s.handle_bytes(
        now,
        &Message::Notification(n.clone()).to_bytes(&Context::default()),
    );
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(s.poll_action(), Some(Action::Disconnect));
    let events: Vec<SessionEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(events.contains(&SessionEvent::NotificationReceived(n)));
}

#[test]
fn open_sent_hold_timer_is_four_minutes() {
    let (mut s, now) = open_sent();
    assert_eq!(s.poll_timeout(), Some(now + secs(240)));
    s.handle_timeout(now + secs(239));
    assert_eq!(s.state(), State::OpenSent);
    s.handle_timeout(now + secs(240));
    let n = expect_notification(&mut s);
    assert_eq!((n.code, n.subcode), (4, 0));
}

#[test]
fn closed_in_open_sent_returns_to_active_and_retries() {
    let (mut s, now) = open_sent();
    s.handle_closed(now);
    assert_eq!(s.state(), State::Active);
    assert_eq!(s.poll_timeout(), Some(now + secs(5)));
    s.handle_timeout(now + secs(5));
    assert_eq!(s.state(), State::Connect);
    assert_eq!(s.poll_action(), Some(Action::Connect));
}

#[test]
fn bytes_without_a_connection_are_dropped() {
    let now = Instant::now();
    let mut s = Session::new(cgw_config()).unwrap();
    s.handle_bytes(now, &peer_open(aws_config()));
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.stats().stray_bytes, peer_open(aws_config()).len() as u64);
    assert_eq!(s.poll_transmit(), None);
}

#[test]
fn invalid_configurations_are_refused() {
    for h in [1, 2] {
        let mut c = cgw_config();
        c.hold_time = h;
        assert!(Session::new(c).is_err());
    }
    let mut c = cgw_config();
    c.four_octet_as = false;
    c.local_as = 4_200_000_000;
    assert!(Session::new(c).is_err());
    let mut c = cgw_config();
    c.families.clear();
    assert!(Session::new(c).is_err());
}

#[test]
fn a_thousand_prefixes_announced_and_withdrawn_in_few_updates() {
    let mut cgw = cgw_config();
    cgw.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
    let mut aws = aws_config();
    aws.families = cgw.families.clone();
    let mut sim = established_pair(cgw, aws);
    let mut prefixes: Vec<IpNet> = (0..1000u32)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap())
        .collect();
    prefixes.extend((0..100u32).map(|i| format!("2001:db8:{i:x}::/48").parse::<IpNet>().unwrap()));
    let attrs = PathAttributes::originated(IpAddr::V4(Ipv4Addr::new(169, 254, 15, 194)));
    let n = sim
        .s_mut(0)
        .send_announcements(&attrs, &prefixes)
        .expect("established");
    assert!((2..=10).contains(&n), "{n} UPDATEs");
    sim.run_for(secs(1));
    let got: Vec<IpNet> = sim
        .events_of(1)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::UpdateReceived(u) => Some(u.announced.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(got, prefixes);
    let n = sim
        .s_mut(0)
        .send_withdrawals(&prefixes)
        .expect("established");
    assert_eq!(n, 6);
    sim.run_for(secs(1));
    let gone: Vec<IpNet> = sim
        .events_of(1)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::UpdateReceived(u) => Some(u.withdrawn.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(gone, prefixes);
    assert!(established(&sim));
}
