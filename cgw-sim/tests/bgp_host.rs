//! `BgpHost` in the lab simulator: the AWS side (169.254.10.1/30, AS 64512,
//! passive, prefix limit 100) and the CGW (169.254.10.2/30, AS 65000,
//! active) on one link, hold time 30 s / keepalive 10 s, BGP over smoltcp
//! TCP on the virtual clock.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bgp::rib::Rib;
use bgp::route::{IpNet, PathAttributes};
use bgp::session::{SessionConfig, SessionEvent, State};
use bgp::speaker::{PeerConfig, PeerId, Speaker, SpeakerEvent};
use cgw_sim::node::BgpHost;
use lab::wire::{Ipv4Info, PROTO_TCP};
use lab::{Fault, Host, HostConfig, IfaceId, LinkConfig, LinkId, NodeId, Sim, TapId};

const AWS_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);
const CGW_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
const AWS_AS: u32 = 64512;
const CGW_AS: u32 = 65000;

fn pfx(s: &str) -> IpNet {
    s.parse().unwrap()
}

struct Lab {
    sim: Sim,
    aws: NodeId,
    cgw: NodeId,
    aws_peer: PeerId,
    cgw_peer: PeerId,
    link: LinkId,
    tap: TapId,
}

fn bgp_host(
    epoch: Instant,
    seed: u64,
    me: Ipv4Addr,
    them: Ipv4Addr,
    local_as: u32,
    peer_as: u32,
    passive: bool,
) -> (BgpHost, PeerId) {
    let host = Host::new(epoch, HostConfig::new(me, 30).with_seed(seed));
    let mut node = BgpHost::new(epoch, host, Speaker::new(Rib::new(local_as, me)));
    let mut sc = SessionConfig::new(local_as, peer_as, me);
    sc.hold_time = 30;
    sc.keepalive = Some(Duration::from_secs(10));
    sc.passive = passive;
    let mut pc = PeerConfig::new(sc, IpAddr::V4(them));
    if passive {
        pc.import.max_prefixes = Some(100);
    }
    let peer = node.add_peer(pc).expect("valid peer");
    (node, peer)
}

fn lab(seed: u64) -> Lab {
    let epoch = Instant::now();
    let mut sim = Sim::new(epoch, seed);
    let (aws, aws_peer) = bgp_host(
        epoch,
        seed ^ 1,
        AWS_INSIDE,
        CGW_INSIDE,
        AWS_AS,
        CGW_AS,
        true,
    );
    let (cgw, cgw_peer) = bgp_host(
        epoch,
        seed ^ 2,
        CGW_INSIDE,
        AWS_INSIDE,
        CGW_AS,
        AWS_AS,
        false,
    );
    let aws = sim.add_node(aws);
    let cgw = sim.add_node(cgw);
    let link = sim
        .connect(
            (aws, IfaceId(0)),
            (cgw, IfaceId(0)),
            LinkConfig::with_latency(Duration::from_millis(5)),
        )
        .unwrap();
    let tap = sim.tap(link).unwrap();
    let mut l = Lab {
        sim,
        aws,
        cgw,
        aws_peer,
        cgw_peer,
        link,
        tap,
    };
    let now = l.sim.now();
    l.sim
        .with_node(l.aws, |n: &mut BgpHost| n.start(aws_peer, now));
    l.sim
        .with_node(l.cgw, |n: &mut BgpHost| n.start(cgw_peer, now));
    l
}

impl Lab {
    fn node(&self, id: NodeId) -> &BgpHost {
        self.sim.node(id).unwrap()
    }

    fn state(&self, id: NodeId) -> State {
        let peer = if id == self.aws {
            self.aws_peer
        } else {
            self.cgw_peer
        };
        self.node(id).speaker().state(peer)
    }

    fn both_established(&self) -> bool {
        self.state(self.aws) == State::Established && self.state(self.cgw) == State::Established
    }

    fn originate(&mut self, id: NodeId, prefix: &str) {
        let now = self.sim.now();
        let nh = if id == self.aws {
            AWS_INSIDE
        } else {
            CGW_INSIDE
        };
        let p = pfx(prefix);
        self.sim.with_node(id, |n: &mut BgpHost| {
            n.speaker_mut()
                .originate(p, PathAttributes::originated(IpAddr::V4(nh)), now)
        });
    }

    /// The AS path of `id`'s best route for `prefix`.
    fn path(&self, id: NodeId, prefix: &str) -> Option<String> {
        self.node(id)
            .speaker()
            .rib()
            .best(&pfx(prefix))
            .map(|r| r.as_path_string())
    }

    /// Runs in 50 ms steps until `pred` holds; panics after `limit`.
    #[track_caller]
    fn run_until(&mut self, limit: Duration, what: &str, pred: impl Fn(&Lab) -> bool) {
        let deadline = self.sim.now() + limit;
        while !pred(self) {
            assert!(
                self.sim.now() < deadline,
                "{what}: not reached after {limit:?} (t = {:?}); AWS {:?}, CGW {:?}\nAWS events: {:#?}\nCGW events: {:#?}",
                self.sim.elapsed(),
                self.state(self.aws),
                self.state(self.cgw),
                self.node(self.aws).events(),
                self.node(self.cgw).events(),
            );
            self.sim.run_for(Duration::from_millis(50));
        }
    }

    fn establish_with_routes(&mut self) {
        self.run_until(
            Duration::from_secs(10),
            "Established",
            Lab::both_established,
        );
        self.originate(self.cgw, "198.18.0.0/24");
        self.originate(self.aws, "198.19.0.0/16");
        self.run_until(Duration::from_secs(5), "routes exchanged", |l| {
            l.path(l.aws, "198.18.0.0/24").is_some() && l.path(l.cgw, "198.19.0.0/16").is_some()
        });
    }

    /// (time, code, subcode) of the NOTIFICATIONs `id` sent.
    fn notifications_sent(&self, id: NodeId) -> Vec<(Instant, u8, u8)> {
        self.node(id)
            .events()
            .iter()
            .filter_map(|(t, e)| match e {
                SpeakerEvent::Session {
                    event: SessionEvent::NotificationSent(n),
                    ..
                } => Some((*t, n.code, n.subcode)),
                _ => None,
            })
            .collect()
    }

    /// When the last TCP segment carrying data to `dst` entered the link
    /// (since the epoch), from the tap.
    fn last_data_to(&self, dst: Ipv4Addr) -> Option<Duration> {
        let bytes = self.sim.pcap(self.tap).unwrap().bytes();
        let mut last = None;
        let mut off = 24;
        while off + 16 <= bytes.len() {
            let word = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
            let ts =
                Duration::from_secs(word(off).into()) + Duration::from_micros(word(off + 4).into());
            let caplen = word(off + 8) as usize;
            let p = &bytes[off + 16..off + 16 + caplen];
            let info = Ipv4Info::parse(p).unwrap();
            if info.dst == dst && info.protocol == PROTO_TCP {
                let l4 = &p[info.header_len..info.total_len];
                if l4.len() > usize::from(l4[12] >> 4) * 4 {
                    last = Some(ts);
                }
            }
            off += 16 + caplen;
        }
        last
    }

    fn established_count(&self, id: NodeId) -> usize {
        self.node(id)
            .events()
            .iter()
            .filter(|(_, e)| {
                matches!(
                    e,
                    SpeakerEvent::Session {
                        event: SessionEvent::Established { .. },
                        ..
                    }
                )
            })
            .count()
    }
}

#[test]
fn session_establishes_and_routes_are_exchanged() {
    let mut l = lab(1);
    l.run_until(
        Duration::from_secs(10),
        "Established",
        Lab::both_established,
    );
    assert!(
        l.sim.elapsed() < Duration::from_secs(1),
        "{:?}",
        l.sim.elapsed()
    );
    let est = l
        .node(l.aws)
        .events()
        .iter()
        .find_map(|(_, e)| match e {
            SpeakerEvent::Session {
                event:
                    SessionEvent::Established {
                        peer_as, hold_time, ..
                    },
                ..
            } => Some((*peer_as, *hold_time)),
            _ => None,
        })
        .expect("Established event");
    assert_eq!(est, (CGW_AS, 30));
    l.originate(l.cgw, "198.18.0.0/24");
    l.originate(l.aws, "198.19.0.0/16");
    l.run_until(Duration::from_secs(5), "routes exchanged", |l| {
        l.path(l.aws, "198.18.0.0/24").is_some() && l.path(l.cgw, "198.19.0.0/16").is_some()
    });
    assert_eq!(l.path(l.aws, "198.18.0.0/24").as_deref(), Some("65000"));
    assert_eq!(l.path(l.cgw, "198.19.0.0/16").as_deref(), Some("64512"));
    // keepalives keep it up for well past the hold time
    l.sim.run_for(Duration::from_secs(95));
    assert!(l.both_established());
    assert_eq!(l.established_count(l.aws), 1);
    assert_eq!(l.established_count(l.cgw), 1);
    assert!(l.notifications_sent(l.aws).is_empty());
}

#[test]
fn link_down_expires_hold_timer_then_session_comes_back() {
    let mut l = lab(2);
    l.establish_with_routes();
    l.sim.run_for(Duration::from_secs(3));
    let down = l.sim.now();
    l.sim.apply(Fault::LinkDown(l.link));
    l.run_until(Duration::from_secs(40), "hold timer expiry on both", |l| {
        !l.notifications_sent(l.aws).is_empty() && !l.notifications_sent(l.cgw).is_empty()
    });
    for id in [l.aws, l.cgw] {
        let (t, code, sub) = l.notifications_sent(id)[0];
        assert_eq!((code, sub), (4, 0));
        let after = t - down;
        // exactly the hold time after the last message arrived (5 ms link)
        let dst = if id == l.aws { AWS_INSIDE } else { CGW_INSIDE };
        let last = l
            .last_data_to(dst)
            .expect("messages before the link went down");
        let arrived = l.sim.epoch() + last + Duration::from_millis(5);
        assert!(arrived <= down);
        assert_eq!(t - arrived, Duration::from_secs(30), "hold timer of {dst}");
        // the hold timer started at the last message received, at most one
        // keepalive interval (10 s) before the link went down
        assert!(
            after > Duration::from_secs(19) && after <= Duration::from_secs(30),
            "hold timer expired {after:?} after the link went down"
        );
    }
    assert_eq!(l.path(l.aws, "198.18.0.0/24"), None);
    assert_eq!(l.path(l.cgw, "198.19.0.0/16"), None);
    assert_ne!(l.state(l.aws), State::Established);
    l.sim.apply(Fault::LinkUp(l.link));
    l.run_until(Duration::from_secs(60), "re-established", |l| {
        l.both_established()
            && l.path(l.aws, "198.18.0.0/24").is_some()
            && l.path(l.cgw, "198.19.0.0/16").is_some()
    });
    assert_eq!(l.established_count(l.aws), 2);
    assert_eq!(l.established_count(l.cgw), 2);
    assert_eq!(l.path(l.aws, "198.18.0.0/24").as_deref(), Some("65000"));
}

#[test]
fn too_many_prefixes_get_cease_6_1_and_the_session_flaps() {
    let mut l = lab(3);
    l.run_until(
        Duration::from_secs(10),
        "Established",
        Lab::both_established,
    );
    for i in 0..101 {
        let p = format!("198.18.{i}.0/24");
        l.originate(l.cgw, &p);
    }
    l.run_until(Duration::from_secs(5), "Cease 6/1", |l| {
        !l.notifications_sent(l.aws).is_empty()
    });
    let (_, code, sub) = l.notifications_sent(l.aws)[0];
    assert_eq!((code, sub), (6, 1));
    assert!(l.node(l.aws).events().iter().any(|(_, e)| matches!(
        e,
        SpeakerEvent::MaxPrefixExceeded { error, .. } if (error.limit, error.received) == (100, 101)
    )));
    assert!(l.node(l.cgw).events().iter().any(|(_, e)| matches!(
        e,
        SpeakerEvent::Session { event: SessionEvent::NotificationReceived(n), .. }
            if (n.code, n.subcode) == (6, 1)
    )));
    assert!(l.node(l.aws).speaker().loc_rib_prefixes().is_empty());
    // the restart timer brings it back, and the limit closes it again
    l.run_until(Duration::from_secs(60), "flapping", |l| {
        l.established_count(l.cgw) >= 3 && l.notifications_sent(l.aws).len() >= 3
    });
    assert!(l.node(l.aws).open_connections() <= 1);
    assert!(l.node(l.cgw).open_connections() <= 1);
    assert!(l
        .notifications_sent(l.aws)
        .iter()
        .all(|&(_, c, s)| (c, s) == (6, 1)));
}

fn capture(seed: u64) -> Vec<u8> {
    let mut l = lab(seed);
    l.establish_with_routes();
    l.sim.run_for(Duration::from_secs(25));
    l.sim.pcap(l.tap).unwrap().bytes().to_vec()
}

#[test]
fn same_seed_same_pcap_and_tshark_sees_clean_bgp() {
    let a = capture(9);
    let b = capture(9);
    assert!(!a.is_empty());
    assert!(a == b, "same seed, different captures");
    assert!(capture(10) != a, "another seed, same capture");
    let path: PathBuf = std::env::temp_dir().join(format!("bgp_host-{}.pcap", std::process::id()));
    std::fs::write(&path, &a).unwrap();
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args(["-T", "fields", "-e", "bgp.type", "-e", "_ws.malformed"])
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!("tshark is needed for this test (apt-get install tshark): {e}"),
    };
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let _ = std::fs::remove_file(&path);
    let mut types = Vec::new();
    for line in text.lines() {
        let mut cols = line.split('\t');
        let t = cols.next().unwrap_or("");
        let malformed = cols.next().unwrap_or("");
        assert!(malformed.is_empty(), "malformed packet: {line:?}\n{text}");
        types.extend(t.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    for (ty, name) in [("1", "OPEN"), ("2", "UPDATE"), ("4", "KEEPALIVE")] {
        assert!(
            types.iter().any(|t| t == ty),
            "no BGP {name} in the capture: {types:?}"
        );
    }
    assert_eq!(types.iter().filter(|t| *t == "1").count(), 2);
}
