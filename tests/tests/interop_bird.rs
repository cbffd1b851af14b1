//! Our BGP speaker against BIRD 2 over plain TCP on a veth between two
//! namespaces (tunnel inside addresses: AWS .1, CGW .2 of a /30).
//!
//! - our CGW (AS 65000, active) against BIRD as AWS (AS 64512, passive),
//!   with a capture that tshark must dissect without a malformed packet;
//! - the reverse roles: our AWS side (64512, passive) against BIRD as the
//!   CGW (65000, active);
//!   both with routes announced and withdrawn both ways, checked in our
//!   Loc-RIB and in `birdc show route all`;
//! - hold timer expiry (hold 9 / keepalive 3) when BIRD is frozen
//!   (SIGSTOP to its PID): we send 4/0 and withdraw its routes; BIRD
//!   killed (SIGKILL): the kernel closes the connection, we go Idle at once;
//! - BIRD sending 101 prefixes to our AWS side with a 100-prefix limit: we
//!   send Cease 6/1 (AFI 1, SAFI 1, 100) and BIRD reports "Received:
//!   Maximum number of prefixes reached";
//! - our CGW with the 4-octet AS 4200000001 (BIRD sees it in AS paths);
//! - IPv6 unicast (MP_REACH / MP_UNREACH) over the IPv4 session.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use bgp::rib::Rib;
use bgp::route::{IpNet, PathAttributes};
use bgp::session::{Family, SessionConfig, SessionEvent, State};
use bgp::speaker::{PeerConfig, PeerId, Speaker, SpeakerEvent};
use bgp::wire::Notification;
use cgw_sim_tests::bgp_engine::TcpSpeaker;
use cgw_sim_tests::bird::{Bird, BirdConfig};
use cgw_sim_tests::netns::{InsideNet, Netns, Veth};
use cgw_sim_tests::tshark::{self, Capture};
use cgw_sim_tests::{require, TestDir};

const CGW_AS: u32 = 65000;
const AWS_AS: u32 = 64512;
const T: Duration = Duration::from_secs(15);

fn pfx(s: &str) -> IpNet {
    s.parse().unwrap()
}

struct Lab {
    cgw: Netns,
    aws: Netns,
    inside: InsideNet,
}

fn lab() -> Lab {
    require::bird();
    let cgw = Netns::new();
    let aws = Netns::new();
    let inside = InsideNet::unique();
    Veth::connect(
        &cgw,
        "wan0",
        &inside.cgw_cidr(),
        &aws,
        "wan0",
        &inside.aws_cidr(),
    );
    Lab { cgw, aws, inside }
}

/// Our speaker with one peer.
struct Ours {
    local_as: u32,
    peer_as: u32,
    me: Ipv4Addr,
    them: Ipv4Addr,
    passive: bool,
    hold: u16,
    max_prefixes: Option<u32>,
    restart: Option<Duration>,
    ipv6: bool,
}

impl Ours {
    fn new(local_as: u32, peer_as: u32, me: Ipv4Addr, them: Ipv4Addr) -> Ours {
        Ours {
            local_as,
            peer_as,
            me,
            them,
            passive: false,
            hold: 30,
            max_prefixes: None,
            restart: Some(Duration::from_secs(5)),
            ipv6: false,
        }
    }

    /// Builds the speaker and its TCP driver; call inside the namespace.
    fn build(&self) -> (TcpSpeaker, PeerId) {
        let mut sp = Speaker::new(Rib::new(self.local_as, self.me));
        let mut sc = SessionConfig::new(self.local_as, self.peer_as, self.me);
        sc.hold_time = self.hold;
        sc.passive = self.passive;
        sc.connect_retry = Duration::from_secs(1);
        sc.restart_time = self.restart;
        if self.ipv6 {
            sc.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
        }
        let mut pc = PeerConfig::new(sc, IpAddr::V4(self.them));
        pc.import.max_prefixes = self.max_prefixes;
        let peer = sp.add_peer(pc).expect("valid session config");
        // always listen: BIRD may connect whatever our role
        let mut tcp = TcpSpeaker::new(sp, Some(self.me)).expect("bind port 179");
        tcp.add_peer_addr(peer, self.me, self.them);
        (tcp, peer)
    }
}

fn originate(tcp: &mut TcpSpeaker, prefix: &str, next_hop: IpAddr) {
    tcp.speaker.originate(
        pfx(prefix),
        PathAttributes::originated(next_hop),
        Instant::now(),
    );
}

fn withdraw(tcp: &mut TcpSpeaker, prefix: &str) {
    tcp.speaker.withdraw(pfx(prefix), Instant::now());
}

/// The AS path of our best route for `prefix` ("" if none).
fn our_path(tcp: &TcpSpeaker, prefix: &str) -> Option<String> {
    tcp.speaker
        .rib()
        .best(&pfx(prefix))
        .map(|r| r.as_path_string())
}

fn prefixes(v: &[&str]) -> Vec<IpNet> {
    let mut v: Vec<IpNet> = v.iter().map(|p| pfx(p)).collect();
    v.sort();
    v
}

fn bird_prefixes(bird: &Bird) -> Vec<String> {
    let mut v: Vec<String> = bird.bgp_routes().into_iter().map(|r| r.prefix).collect();
    v.sort();
    v
}

fn notifications_sent(tcp: &TcpSpeaker) -> Vec<Notification> {
    tcp.events
        .iter()
        .filter_map(|(_, e)| match e {
            SpeakerEvent::Session {
                event: SessionEvent::NotificationSent(n),
                ..
            } => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// Run our speaker until `pred` (checked every 200 ms, it may ask BIRD)
/// holds; panic with both sides' story otherwise.
#[track_caller]
fn run_until(
    tcp: &mut TcpSpeaker,
    bird: &Bird,
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut(&TcpSpeaker, &Bird) -> bool,
) -> Duration {
    let t0 = Instant::now();
    let mut last: Option<Instant> = None;
    let ok = tcp.run_until(timeout, |t| {
        if last.is_some_and(|l| l.elapsed() < Duration::from_millis(200)) {
            return false;
        }
        last = Some(Instant::now());
        pred(t, bird)
    });
    if !ok {
        let evs: Vec<String> = tcp
            .events
            .iter()
            .rev()
            .take(30)
            .rev()
            .map(|(_, e)| format!("{e:?}").chars().take(300).collect())
            .collect();
        panic!(
            "{what}: not reached within {timeout:?}\n--- our last events\n{}\n--- our Loc-RIB {:?}\n--- connect errors {:?}\n--- BIRD state {:#?}\n--- BIRD routes {:#?}",
            evs.join("\n"),
            tcp.loc_rib(),
            tcp.connect_errors,
            bird.protocol_state(),
            bird.bgp_routes(),
        );
    }
    t0.elapsed()
}

/// Announce and withdraw both ways between our speaker (AS `ours_as`,
/// prefixes 198.18.x) and BIRD (AS `bird_as`, prefixes 198.19.x); both
/// sides checked.
fn exchange_routes(
    tcp: &mut TcpSpeaker,
    peer: PeerId,
    bird: &mut Bird,
    ours_as: u32,
    me: Ipv4Addr,
) {
    let bird_as = bird.config().local_as;
    let t = run_until(tcp, bird, T, "established on both sides", |t, b| {
        t.established(peer) && b.protocol_state().is_established()
    });
    eprintln!("established on both sides after {t:?}");
    let s = bird.protocol_state();
    assert_eq!(s.neighbor_as, Some(ours_as), "{s:#?}");
    assert_eq!(s.hold_time, Some(30), "{s:#?}");
    let neg = tcp.speaker.session(peer).negotiated().cloned().unwrap();
    assert_eq!(neg.peer_as, bird_as);
    assert_eq!(neg.hold_time, 30);
    assert!(neg.four_octet_as);

    // both learn the other's routes
    let t = run_until(tcp, bird, T, "initial routes", |t, b| {
        t.loc_rib().contains(&pfx("198.19.0.0/16")) && bird_prefixes(b).len() == 2
    });
    eprintln!("initial routes on both sides after {t:?}");
    assert_eq!(
        our_path(tcp, "198.19.0.0/16").as_deref(),
        Some(&*bird_as.to_string())
    );
    let r = tcp.speaker.rib().best(&pfx("198.19.0.0/16")).unwrap();
    assert_eq!(r.next_hop(), bird.config().local_addr);
    let rs = bird.bgp_routes();
    assert_eq!(
        bird_prefixes(bird),
        ["198.18.1.0/24", "198.18.2.0/24"],
        "{rs:#?}"
    );
    for r in &rs {
        assert_eq!(r.as_path, vec![ours_as], "{r:#?}");
        assert_eq!(r.via, Some(IpAddr::V4(me)), "{r:#?}");
        assert_eq!(r.origin.as_deref(), Some("IGP"), "{r:#?}");
        assert!(r.best, "{r:#?}");
    }

    // we withdraw one and announce another
    withdraw(tcp, "198.18.2.0/24");
    originate(tcp, "198.18.3.0/24", IpAddr::V4(me));
    let t = run_until(tcp, bird, T, "BIRD sees our change", |_, b| {
        bird_prefixes(b) == ["198.18.1.0/24", "198.18.3.0/24"]
    });
    eprintln!("BIRD saw our withdrawal and announcement after {t:?}");

    // BIRD announces a more specific and withdraws its /16
    bird.add_static("198.19.5.0/24");
    bird.remove_static("198.19.0.0/16");
    let t = run_until(tcp, bird, T, "we see BIRD's change", |t, _| {
        t.loc_rib() == prefixes(&["198.18.1.0/24", "198.18.3.0/24", "198.19.5.0/24"])
    });
    eprintln!("we saw BIRD's withdrawal and announcement after {t:?}");
    let s = bird.protocol_state();
    assert_eq!(s.channels["ipv4"].imported, 2, "{s:#?}");
    assert_eq!(s.channels["ipv4"].exported, 1, "{s:#?}");
    assert!(tcp.speaker.session(peer).stats().updates_received >= 3);
    assert_eq!(tcp.state(peer), State::Established);
    assert!(
        notifications_sent(tcp).is_empty(),
        "{:?}",
        notifications_sent(tcp)
    );
}

/// Our CGW (65000, active) against BIRD as AWS (64512, passive), captured.
#[test]
fn our_cgw_against_bird_as_aws() {
    require::tshark();
    let t0 = Instant::now();
    let lab = lab();
    let dir = TestDir::new("bgp-capture");
    let (aws, cgw) = (lab.inside.aws(), lab.inside.cgw());
    let mut cfg = BirdConfig::new(aws, AWS_AS, cgw, CGW_AS);
    cfg.passive = true;
    cfg.static_routes = vec!["198.19.0.0/16".into()];
    let mut bird = Bird::start(&lab.aws, cfg);
    let capture = Capture::start(&lab.cgw, "wan0", dir.join("bgp.pcapng"));
    let ours = Ours::new(CGW_AS, AWS_AS, cgw, aws);
    lab.cgw.run_in(|| {
        let (mut tcp, peer) = ours.build();
        originate(&mut tcp, "198.18.1.0/24", IpAddr::V4(cgw));
        originate(&mut tcp, "198.18.2.0/24", IpAddr::V4(cgw));
        tcp.speaker.start(peer, Instant::now());
        exchange_routes(&mut tcp, peer, &mut bird, CGW_AS, cgw);
        // a graceful stop: Cease 6/2 to BIRD
        tcp.speaker.stop(peer, Instant::now());
        run_until(&mut tcp, &bird, T, "BIRD sees our shutdown", |_, b| {
            b.protocol_state()
                .messages()
                .contains("Received: Administrative shutdown")
        });
        assert!(bird_prefixes(&bird).is_empty());
    });
    let pcap = capture.stop();
    let d = tshark::check_no_malformed(&pcap);
    let opens = tshark::fields(&pcap, "bgp.type == 1", "frame.number").len();
    let updates = tshark::fields(&pcap, "bgp.type == 2", "frame.number").len();
    let notifs = tshark::fields(&pcap, "bgp.type == 3", "bgp.notify.major_error");
    let keepalives = tshark::fields(&pcap, "bgp.type == 4", "frame.number").len();
    eprintln!(
        "capture: {} frames, {opens} with OPEN, {updates} with UPDATE, {keepalives} with KEEPALIVE, NOTIFICATION codes {notifs:?}",
        d.frames
    );
    assert_eq!(opens, 2, "one OPEN each way");
    assert!(updates >= 4, "{updates} UPDATE frames");
    assert!(keepalives >= 2);
    assert_eq!(notifs, ["6"], "our Cease");
    eprintln!("whole test {:?}", t0.elapsed());
}

/// Reverse roles: our AWS side (64512, passive) against BIRD as the CGW
/// (65000, active).
#[test]
fn our_aws_against_bird_as_cgw() {
    let t0 = Instant::now();
    let lab = lab();
    let (aws, cgw) = (lab.inside.aws(), lab.inside.cgw());
    let mut cfg = BirdConfig::new(cgw, CGW_AS, aws, AWS_AS);
    // BIRD is the CGW here: it announces the on-prem side, 198.18.x;
    // swap the prefix plan so `exchange_routes` can be shared: BIRD gets
    // 198.19.x, we get 198.18.x
    cfg.static_routes = vec!["198.19.0.0/16".into()];
    let mut ours = Ours::new(AWS_AS, CGW_AS, aws, cgw);
    ours.passive = true;
    lab.aws.run_in(|| {
        let (mut tcp, peer) = ours.build();
        // BIRD connects: start it once we listen
        let mut bird = Bird::start(&lab.cgw, cfg);
        originate(&mut tcp, "198.18.1.0/24", IpAddr::V4(aws));
        originate(&mut tcp, "198.18.2.0/24", IpAddr::V4(aws));
        tcp.speaker.start(peer, Instant::now());
        exchange_routes(&mut tcp, peer, &mut bird, AWS_AS, aws);
        // BIRD was the one to connect
        assert_eq!(
            tcp.speaker.session(peer).direction(),
            Some(bgp::session::Direction::Incoming)
        );
    });
    eprintln!("whole test {:?}", t0.elapsed());
}

/// BIRD goes silent (SIGSTOP): our hold timer (9 s) expires, we send 4/0,
/// go Idle and withdraw BIRD's routes.
#[test]
fn hold_timer_expires_when_bird_is_frozen() {
    let lab = lab();
    let (aws, cgw) = (lab.inside.aws(), lab.inside.cgw());
    let mut cfg = BirdConfig::new(aws, AWS_AS, cgw, CGW_AS);
    cfg.passive = true;
    cfg.hold_time = 9;
    cfg.keepalive_time = 3;
    cfg.static_routes = vec!["198.19.0.0/16".into()];
    let mut bird = Bird::start(&lab.aws, cfg);
    let mut ours = Ours::new(CGW_AS, AWS_AS, cgw, aws);
    ours.hold = 9;
    ours.restart = None;
    lab.cgw.run_in(|| {
        let (mut tcp, peer) = ours.build();
        tcp.speaker.start(peer, Instant::now());
        run_until(&mut tcp, &bird, T, "BIRD's route", |t, _| {
            t.loc_rib() == prefixes(&["198.19.0.0/16"])
        });
        let neg = tcp.speaker.session(peer).negotiated().cloned().unwrap();
        assert_eq!(neg.hold_time, 9);
        assert_eq!(neg.keepalive, Some(Duration::from_secs(3)));
        // keepalives flow: still up after two hold times
        tcp.run_for(Duration::from_secs(4));
        assert!(tcp.established(peer));
        let frozen = Instant::now();
        bird.freeze();
        let ok = tcp.run_until(Duration::from_secs(15), |t| !t.established(peer));
        let took = frozen.elapsed();
        bird.thaw();
        assert!(ok, "still established 15 s after BIRD froze");
        eprintln!("hold timer expired {took:?} after BIRD froze (hold 9 s, keepalive 3 s)");
        assert!(
            took >= Duration::from_secs(5) && took <= Duration::from_secs(10),
            "{took:?}"
        );
        assert_eq!(tcp.state(peer), State::Idle);
        let sent = notifications_sent(&tcp);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!((sent[0].code, sent[0].subcode), (4, 0));
        assert!(tcp.loc_rib().is_empty(), "BIRD's routes withdrawn");
        assert!(tcp.events.iter().any(|(_, e)| matches!(
            e,
            SpeakerEvent::Session {
                event: SessionEvent::StateChanged {
                    from: State::Established,
                    to: State::Idle
                },
                ..
            }
        )));
    });
}

/// BIRD killed (SIGKILL to its PID): the kernel closes its TCP connection,
/// so our session sees the close at once (no hold timer, no NOTIFICATION
/// from us), goes Idle and withdraws BIRD's routes.
#[test]
fn bird_killed_closes_session_at_once() {
    let lab = lab();
    let (aws, cgw) = (lab.inside.aws(), lab.inside.cgw());
    let mut cfg = BirdConfig::new(aws, AWS_AS, cgw, CGW_AS);
    cfg.passive = true;
    cfg.static_routes = vec!["198.19.0.0/16".into()];
    let mut bird = Bird::start(&lab.aws, cfg);
    let mut ours = Ours::new(CGW_AS, AWS_AS, cgw, aws);
    ours.restart = None;
    lab.cgw.run_in(|| {
        let (mut tcp, peer) = ours.build();
        tcp.speaker.start(peer, Instant::now());
        run_until(&mut tcp, &bird, T, "BIRD's route", |t, _| {
            t.loc_rib() == prefixes(&["198.19.0.0/16"])
        });
        let pid = bird.pid();
        let killed = Instant::now();
        bird.kill();
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || !bird.is_running());
        let ok = tcp.run_until(Duration::from_secs(5), |t| !t.established(peer));
        let took = killed.elapsed();
        assert!(ok, "still established 5 s after BIRD was killed");
        eprintln!("session down {took:?} after BIRD was killed");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert!(notifications_sent(&tcp).is_empty());
        assert!(tcp.loc_rib().is_empty());
    });
}

/// BIRD as the CGW sends 100 prefixes (accepted), then a 101st: our AWS
/// side (limit 100) sends Cease 6/1 with AFI 1, SAFI 1, limit 100 and BIRD
/// reports it.
#[test]
fn prefix_limit_101_from_bird_gets_cease_6_1() {
    let lab = lab();
    let (aws, cgw) = (lab.inside.aws(), lab.inside.cgw());
    let mut cfg = BirdConfig::new(cgw, CGW_AS, aws, AWS_AS);
    cfg.static_routes = (0..100).map(|i| format!("198.18.{i}.0/24")).collect();
    // after the Cease, wait before reconnecting so its state keeps the message
    cfg.error_wait = Some((30, 60));
    cfg.extra_bgp = vec!["debug { states, events };".into()];
    let mut ours = Ours::new(AWS_AS, CGW_AS, aws, cgw);
    ours.passive = true;
    ours.max_prefixes = Some(100);
    ours.restart = Some(Duration::from_secs(30));
    lab.aws.run_in(|| {
        let (mut tcp, peer) = ours.build();
        // BIRD connects: start it once we listen
        let mut bird = Bird::start(&lab.cgw, cfg);
        tcp.speaker.start(peer, Instant::now());
        let t = run_until(&mut tcp, &bird, T, "100 prefixes", |t, _| {
            t.loc_rib().len() == 100
        });
        eprintln!("100 prefixes from BIRD accepted after {t:?}");

        tcp.run_for(Duration::from_millis(500));
        assert!(tcp.established(peer));
        assert!(notifications_sent(&tcp).is_empty());

        bird.add_static("198.18.100.0/24");
        let t = run_until(&mut tcp, &bird, T, "BIRD reports the Cease", |_, b| {
            b.protocol_state()
                .messages()
                .contains("Received: Maximum number of prefixes reached")
        });
        eprintln!("BIRD reported our Cease {t:?} after its 101st prefix");
        let sent = notifications_sent(&tcp);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!((sent[0].code, sent[0].subcode), (6, 1));
        assert_eq!(
            sent[0].data,
            [0, 1, 1, 0, 0, 0, 100],
            "AFI 1, SAFI 1, limit 100"
        );
        let exceeded = tcp.events.iter().find_map(|(_, e)| match e {
            SpeakerEvent::MaxPrefixExceeded { error, .. } => Some(error.clone()),
            _ => None,
        });
        let exceeded = exceeded.expect("a MaxPrefixExceeded event");
        assert_eq!((exceeded.limit, exceeded.received), (100, 101));
        assert!(tcp.loc_rib().is_empty(), "the peer's routes are withdrawn");
        assert_ne!(tcp.state(peer), State::Established);
        let s = bird.protocol_state();
        eprintln!(
            "BIRD: state {} / BGP {:?} / info {:?} / last error {:?}",
            s.state, s.bgp_state, s.info, s.last_error
        );
        // BIRD logs the NOTIFICATION's data in hex: AFI 1, SAFI 1, limit 100
        let log = bird.log();
        let line = log
            .lines()
            .find(|l| l.contains("Received: Maximum number of prefixes reached"))
            .expect("BIRD logged the Cease");
        eprintln!("BIRD log: {line}");
        assert!(line.ends_with(": 00010100000064"), "{line}");
    });
}

/// Our CGW with a 4-octet AS (4200000001): BIRD sees it as the neighbour
/// AS and in the AS path.
#[test]
fn four_octet_as_4200000001() {
    const BIG: u32 = 4_200_000_001;
    let lab = lab();
    let (aws, cgw) = (lab.inside.aws(), lab.inside.cgw());
    let mut cfg = BirdConfig::new(aws, AWS_AS, cgw, BIG);
    cfg.passive = true;
    cfg.static_routes = vec!["198.19.0.0/16".into()];
    let bird = Bird::start(&lab.aws, cfg);
    let ours = Ours::new(BIG, AWS_AS, cgw, aws);
    lab.cgw.run_in(|| {
        let (mut tcp, peer) = ours.build();
        originate(&mut tcp, "198.18.1.0/24", IpAddr::V4(cgw));
        tcp.speaker.start(peer, Instant::now());
        run_until(&mut tcp, &bird, T, "routes both ways", |t, b| {
            t.loc_rib().len() == 2 && bird_prefixes(b) == ["198.18.1.0/24"]
        });
        let s = bird.protocol_state();
        assert_eq!(s.neighbor_as, Some(BIG), "{s:#?}");
        let r = &bird.bgp_routes()[0];
        assert_eq!(r.as_path, vec![BIG], "{r:#?}");
        eprintln!(
            "BIRD: neighbor AS {:?}, path {:?}",
            s.neighbor_as, r.as_path_text
        );
        assert!(
            tcp.speaker
                .session(peer)
                .negotiated()
                .unwrap()
                .four_octet_as
        );
        assert_eq!(our_path(&tcp, "198.19.0.0/16").as_deref(), Some("64512"));
    });
}

/// IPv6 unicast over the IPv4 session (MP_REACH_NLRI / MP_UNREACH_NLRI),
/// with IPv6 next hops on the link (2001:db8:ffff::/64).
#[test]
fn ipv6_unicast_over_ipv4_session() {
    let lab = lab();
    let (aws, cgw) = (lab.inside.aws(), lab.inside.cgw());
    let aws6: Ipv6Addr = "2001:db8:ffff::1".parse().unwrap();
    let cgw6: Ipv6Addr = "2001:db8:ffff::2".parse().unwrap();
    lab.aws.add_addr6("wan0", "2001:db8:ffff::1/64");
    lab.cgw.add_addr6("wan0", "2001:db8:ffff::2/64");
    let mut cfg = BirdConfig::new(aws, AWS_AS, cgw, CGW_AS);
    cfg.passive = true;
    cfg.ipv6 = true;
    cfg.ipv6_next_hop = Some(aws6);
    cfg.static_routes = vec!["198.19.0.0/16".into(), "2001:db8:2::/48".into()];
    let mut bird = Bird::start(&lab.aws, cfg);
    let mut ours = Ours::new(CGW_AS, AWS_AS, cgw, aws);
    ours.ipv6 = true;
    lab.cgw.run_in(|| {
        let (mut tcp, peer) = ours.build();
        originate(&mut tcp, "198.18.1.0/24", IpAddr::V4(cgw));
        originate(&mut tcp, "2001:db8:1::/48", IpAddr::V6(cgw6));
        tcp.speaker.start(peer, Instant::now());
        run_until(&mut tcp, &bird, T, "both families both ways", |t, b| {
            t.loc_rib().len() == 4 && bird_prefixes(b).len() == 2
        });
        let r = tcp.speaker.rib().best(&pfx("2001:db8:2::/48")).unwrap();
        assert_eq!(r.next_hop(), IpAddr::V6(aws6));
        assert_eq!(r.as_path_string(), "64512");
        let rs = bird.bgp_routes();
        let r6 = rs
            .iter()
            .find(|r| r.table == "master6")
            .expect("IPv6 route at BIRD");
        assert_eq!(r6.prefix, "2001:db8:1::/48");
        assert_eq!(r6.via, Some(IpAddr::V6(cgw6)), "{r6:#?}");
        assert_eq!(r6.as_path, vec![CGW_AS]);
        let s = bird.protocol_state();
        assert_eq!(s.channels["ipv6"].imported, 1, "{s:#?}");
        // withdrawals both ways (MP_UNREACH_NLRI)
        withdraw(&mut tcp, "2001:db8:1::/48");
        bird.remove_static("2001:db8:2::/48");
        run_until(&mut tcp, &bird, T, "IPv6 withdrawn both ways", |t, b| {
            t.loc_rib() == prefixes(&["198.18.1.0/24", "198.19.0.0/16"])
                && bird_prefixes(b) == ["198.18.1.0/24"]
        });
    });
}
