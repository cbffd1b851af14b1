//! The speaker (RIB + sessions) on a virtual clock: two speakers joined by
//! an in-memory connection. Routes both ways, withdrawals, the prefix limit
//! (Cease 6/1 with its data, routes withdrawn, automatic restart), hold
//! timer expiry withdrawing the peer's routes, a collision.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp::rib::{PeerId, Rib, RibEvent};
use bgp::route::{IpNet, PathAttributes};
use bgp::session::{SessionConfig, SessionEvent, State};
use bgp::speaker::{ConnId, PeerConfig, Speaker, SpeakerAction, SpeakerEvent};
use bgp::wire::Notification;

const CGW_AS: u32 = 65000;
const AWS_AS: u32 = 64512;
const CGW: Ipv4Addr = Ipv4Addr::new(169, 254, 15, 194);
const AWS: Ipv4Addr = Ipv4Addr::new(169, 254, 15, 193);

fn pfx(s: &str) -> IpNet {
    s.parse().unwrap()
}

struct Node {
    sp: Speaker,
    peer: PeerId,
    events: Vec<SpeakerEvent>,
    addr: Ipv4Addr,
}

impl Node {
    fn new(local_as: u32, peer_as: u32, me: Ipv4Addr, them: Ipv4Addr, passive: bool) -> Node {
        let mut sp = Speaker::new(Rib::new(local_as, me));
        let mut sc = SessionConfig::new(local_as, peer_as, me);
        sc.passive = passive;
        sc.connect_retry = Duration::from_secs(1);
        sc.restart_time = Some(Duration::from_secs(5));
        let mut pc = PeerConfig::new(sc, IpAddr::V4(them));
        pc.export.next_hop_self = Some(IpAddr::V4(me));
        let peer = sp.add_peer(pc).unwrap();
        Node {
            sp,
            peer,
            events: Vec::new(),
            addr: me,
        }
    }

    fn originate(&mut self, p: &str, now: Instant) {
        self.sp
            .originate(pfx(p), PathAttributes::originated(self.addr.into()), now);
    }

    fn loc(&self) -> Vec<IpNet> {
        let mut v = self.sp.loc_rib_prefixes();
        v.sort();
        v
    }

    fn sent_notifications(&self) -> Vec<Notification> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SpeakerEvent::Session {
                    event: SessionEvent::NotificationSent(n),
                    ..
                } => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    fn received_notifications(&self) -> Vec<Notification> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SpeakerEvent::Session {
                    event: SessionEvent::NotificationReceived(n),
                    ..
                } => Some(n.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Two nodes and the connections between them: conn id at node 0 <-> conn
/// id at node 1. Delivery is immediate; `cut` drops everything.
struct Net {
    nodes: [Node; 2],
    links: HashMap<(usize, ConnId), (usize, ConnId)>,
    now: Instant,
    cut: bool,
}

impl Net {
    fn new(a: Node, b: Node) -> Net {
        Net {
            nodes: [a, b],
            links: HashMap::new(),
            now: Instant::now(),
            cut: false,
        }
    }

    /// Moves bytes, actions and events until nothing happens.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut progress = false;
            for i in 0..2 {
                let j = 1 - i;
                while let Some((c, bytes)) = self.nodes[i].sp.poll_transmit() {
                    progress = true;
                    if self.cut {
                        continue;
                    }
                    if let Some(&(_, oc)) = self.links.get(&(i, c)) {
                        let now = self.now;
                        self.nodes[j].sp.handle_bytes(oc, &bytes, now);
                    }
                }
                while let Some(a) = self.nodes[i].sp.poll_action() {
                    progress = true;
                    let now = self.now;
                    match a {
                        SpeakerAction::Connect { peer } => {
                            if self.cut {
                                self.nodes[i].sp.handle_connection_failed(peer, now);
                                continue;
                            }
                            let jp = self.nodes[j].peer;
                            match self.nodes[j].sp.handle_incoming(jp, now) {
                                Some(theirs) => {
                                    let mine = self.nodes[i].sp.handle_connected(peer, now);
                                    self.links.insert((i, mine), (j, theirs));
                                    self.links.insert((j, theirs), (i, mine));
                                }
                                None => self.nodes[i].sp.handle_connection_failed(peer, now),
                            }
                        }
                        SpeakerAction::Disconnect { conn } => {
                            if let Some((oj, oc)) = self.links.remove(&(i, conn)) {
                                self.links.remove(&(oj, oc));
                                if !self.cut {
                                    self.nodes[oj].sp.handle_closed(oc, now);
                                }
                            }
                        }
                    }
                }
                while let Some(e) = self.nodes[i].sp.poll_event() {
                    progress = true;
                    self.nodes[i].events.push(e);
                }
            }
            if !progress {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// Advances the clock by `d` in steps of the next deadline.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.settle();
            let next = self
                .nodes
                .iter()
                .filter_map(|n| n.sp.poll_timeout())
                .min()
                .filter(|t| *t <= end);
            match next {
                Some(t) => {
                    self.now = t.max(self.now);
                    let now = self.now;
                    for n in &mut self.nodes {
                        n.sp.handle_timeout(now);
                    }
                }
                None => {
                    self.now = end;
                    self.settle();
                    return;
                }
            }
        }
    }

    fn up(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.sp.state(n.peer) == State::Established)
    }
}

fn pair() -> Net {
    let cgw = Node::new(CGW_AS, AWS_AS, CGW, AWS, false);
    let aws = Node::new(AWS_AS, CGW_AS, AWS, CGW, true);
    Net::new(cgw, aws)
}

fn start(net: &mut Net) {
    let now = net.now;
    for n in &mut net.nodes {
        let p = n.peer;
        n.sp.start(p, now);
    }
    net.run(Duration::from_secs(1));
    assert!(net.up());
}

#[test]
fn routes_both_ways_and_withdrawn() {
    let mut net = pair();
    let now = net.now;
    net.nodes[0].originate("198.18.1.0/24", now);
    net.nodes[1].originate("198.19.0.0/16", now);
    start(&mut net);
    assert_eq!(
        net.nodes[1].loc(),
        [pfx("198.18.1.0/24"), pfx("198.19.0.0/16")]
    );
    assert_eq!(
        net.nodes[0].loc(),
        [pfx("198.18.1.0/24"), pfx("198.19.0.0/16")]
    );
    let r = net.nodes[1].sp.rib().best(&pfx("198.18.1.0/24")).unwrap();
    assert_eq!(r.as_path_string(), "65000");
    assert_eq!(r.next_hop(), IpAddr::V4(CGW));

    // more after Established, then a withdrawal
    let now = net.now;
    net.nodes[0].originate("198.18.2.0/24", now);
    net.nodes[0].sp.withdraw(pfx("198.18.1.0/24"), now);
    net.settle();
    assert_eq!(
        net.nodes[1].loc(),
        [pfx("198.18.2.0/24"), pfx("198.19.0.0/16")]
    );
    assert!(net.nodes[1].events.iter().any(|e| matches!(
        e,
        SpeakerEvent::Rib(RibEvent::BestChanged { best: None, prefix, .. }) if *prefix == pfx("198.18.1.0/24")
    )));
}

#[test]
fn prefix_limit_sends_cease_6_1_and_withdraws() {
    let mut net = pair();
    // AWS side (node 1) accepts 100 prefixes from the CGW
    let mut sp = Speaker::new(Rib::new(AWS_AS, AWS));
    let mut sc = SessionConfig::new(AWS_AS, CGW_AS, AWS);
    sc.passive = true;
    sc.restart_time = Some(Duration::from_secs(30));
    let mut pc = PeerConfig::new(sc, IpAddr::V4(CGW));
    pc.import.max_prefixes = Some(100);
    let peer = sp.add_peer(pc).unwrap();
    net.nodes[1].sp = sp;
    net.nodes[1].peer = peer;
    let now = net.now;
    for i in 0..100 {
        net.nodes[0].originate(&format!("198.18.{i}.0/24"), now);
    }
    start(&mut net);
    assert_eq!(net.nodes[1].loc().len(), 100);
    assert!(net.nodes[1].sent_notifications().is_empty());

    let now = net.now;
    net.nodes[0].originate("198.18.200.0/24", now);
    net.settle();
    let sent = net.nodes[1].sent_notifications();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].code, sent[0].subcode), (6, 1));
    assert_eq!(sent[0].data, [0, 1, 1, 0, 0, 0, 100]);
    assert_eq!(net.nodes[0].received_notifications(), sent);
    assert!(net.nodes[1].loc().is_empty(), "the CGW's routes are gone");
    assert!(net.nodes[1].events.iter().any(|e| matches!(
        e,
        SpeakerEvent::MaxPrefixExceeded { error, .. } if error.limit == 100 && error.received == 101
    )));
    assert_ne!(net.nodes[1].sp.state(peer), State::Established);
    // the CGW restarts and flaps again: AWS-like
    net.run(Duration::from_secs(40));
    assert!(net.nodes[1].sent_notifications().len() >= 2);
}

#[test]
fn hold_timer_expiry_withdraws_routes() {
    let mut net = pair();
    let now = net.now;
    net.nodes[1].originate("198.19.0.0/16", now);
    start(&mut net);
    assert_eq!(net.nodes[0].loc(), [pfx("198.19.0.0/16")]);
    net.cut = true;
    net.run(Duration::from_secs(25));
    assert_eq!(net.nodes[0].sp.state(net.nodes[0].peer), State::Established);
    net.run(Duration::from_secs(6));
    assert_ne!(net.nodes[0].sp.state(net.nodes[0].peer), State::Established);
    let n = net.nodes[0].sent_notifications();
    assert_eq!((n[0].code, n[0].subcode), (4, 0));
    assert!(net.nodes[0].loc().is_empty());
}

#[test]
fn collision_keeps_one_connection() {
    // both active: each connects to the other at once
    let cgw = Node::new(CGW_AS, AWS_AS, CGW, AWS, false);
    let aws = Node::new(AWS_AS, CGW_AS, AWS, CGW, false);
    let mut net = Net::new(cgw, aws);
    let now = net.now;
    net.nodes[0].originate("198.18.1.0/24", now);
    net.nodes[1].originate("198.19.0.0/16", now);
    start(&mut net);
    net.run(Duration::from_secs(60));
    assert!(net.up());
    assert_eq!(net.links.len(), 2, "one connection (two ends) left");
    assert_eq!(net.nodes[0].loc().len(), 2);
    assert_eq!(net.nodes[1].loc().len(), 2);
}
