//! `Host`: smoltcp on the simulator. Ping RTT on the virtual clock, TCP
//! transfers both ways (also through a router and with loss), timeouts when
//! a link is down, determinism and a tshark check of the capture.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lab::host::HOST_IFACE;
use lab::{
    Fault, Host, HostConfig, IfaceId, LinkConfig, LinkId, NodeId, Prefix, Router, Sim, SocketId,
    TapId, TcpState,
};

const MS: Duration = Duration::from_millis(1);
const A: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const B: Ipv4Addr = Ipv4Addr::new(198, 19, 2, 2);

struct Net {
    sim: Sim,
    a: NodeId,
    b: NodeId,
    /// The link next to `a`.
    link: LinkId,
    tap: TapId,
}

/// A and B on one /16, joined by one link.
fn direct(seed: u64, cfg: LinkConfig) -> Net {
    let mut sim = Sim::new(Instant::now(), seed);
    let e = sim.epoch();
    let a = sim.add_node(Host::new(e, HostConfig::new(A, 16).with_seed(seed)));
    let b = sim.add_node(Host::new(e, HostConfig::new(B, 16).with_seed(seed + 1)));
    let link = sim.connect((a, HOST_IFACE), (b, HOST_IFACE), cfg).unwrap();
    let tap = sim.tap(link).unwrap();
    Net {
        sim,
        a,
        b,
        link,
        tap,
    }
}

/// A (198.18.1.2/24) - router - B (198.19.2.2/24), both links alike.
fn routed(seed: u64, cfg: LinkConfig) -> Net {
    let mut sim = Sim::new(Instant::now(), seed);
    let e = sim.epoch();
    let gw_a = Ipv4Addr::new(198, 18, 1, 1);
    let gw_b = Ipv4Addr::new(198, 19, 2, 1);
    let a = sim.add_node(Host::new(
        e,
        HostConfig::new(A, 24).with_gateway(gw_a).with_seed(seed),
    ));
    let b = sim.add_node(Host::new(
        e,
        HostConfig::new(B, 24)
            .with_gateway(gw_b)
            .with_seed(seed + 1),
    ));
    let r = sim.add_node(
        Router::new()
            .with_addr(IfaceId(0), gw_a)
            .with_addr(IfaceId(1), gw_b)
            .with_route(Prefix::new(A, 24).unwrap(), IfaceId(0))
            .with_route(Prefix::new(B, 24).unwrap(), IfaceId(1)),
    );
    let link = sim.connect((a, HOST_IFACE), (r, IfaceId(0)), cfg).unwrap();
    sim.connect((r, IfaceId(1)), (b, HOST_IFACE), cfg).unwrap();
    let tap = sim.tap(link).unwrap();
    Net {
        sim,
        a,
        b,
        link,
        tap,
    }
}

impl Net {
    fn on_a<R>(&mut self, f: impl FnOnce(&mut Host) -> R) -> R {
        self.sim.with_node::<Host, R>(self.a, f).unwrap()
    }

    fn on_b<R>(&mut self, f: impl FnOnce(&mut Host) -> R) -> R {
        self.sim.with_node::<Host, R>(self.b, f).unwrap()
    }
}

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ salt)
        .collect()
}

#[test]
fn ping_rtt_is_exactly_twice_the_latency() {
    let mut net = direct(1, LinkConfig::with_latency(10 * MS));
    net.sim.run_for(100 * MS);
    net.on_a(|h| h.ping(B, 7, b"hello")).unwrap();
    net.sim.run_for(Duration::from_secs(1));
    let replies = net.on_a(|h| h.ping_replies());
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].from, B);
    assert_eq!(replies[0].seq, 7);
    assert_eq!(replies[0].payload, b"hello");
    assert_eq!(replies[0].rtt, 20 * MS);
    let b = net.sim.node::<Host>(net.b).unwrap().stats();
    assert_eq!(b.echo_requests_received, 1);
    let a = net.sim.node::<Host>(net.a).unwrap().stats();
    assert_eq!((a.pings_sent, a.ping_replies), (1, 1));
}

#[test]
fn ping_through_a_router() {
    let mut net = routed(2, LinkConfig::with_latency(10 * MS));
    for seq in 0..3 {
        net.on_a(|h| h.ping(B, seq, &[seq as u8; 56])).unwrap();
        net.sim.run_for(Duration::from_secs(1));
    }
    let replies = net.on_a(|h| h.ping_replies());
    let seqs: Vec<u16> = replies.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert!(replies.iter().all(|r| r.rtt == 40 * MS), "{replies:?}");
}

/// Transfers `len` bytes each way between a listener on B and a client on
/// A; returns what each side received and the sockets.
fn transfer(net: &mut Net, len: usize, limit: Duration) -> (Vec<u8>, Vec<u8>, SocketId, SocketId) {
    let srv = net.on_b(|h| h.tcp_listen(179)).unwrap();
    let cli = net.on_a(|h| h.tcp_connect(B, 179)).unwrap();
    let up = pattern(len, 0x5a);
    let down = pattern(len, 0xa5);
    let (mut sent_up, mut sent_down) = (0, 0);
    let (mut got_at_b, mut got_at_a) = (Vec::new(), Vec::new());
    let end = net.sim.now() + limit;
    while net.sim.now() < end && (got_at_b.len() < len || got_at_a.len() < len) {
        net.sim.run_for(MS);
        sent_up += net.on_a(|h| {
            h.tcp_recv(cli, &mut got_at_a);
            h.tcp_send(cli, &up[sent_up..])
        });
        sent_down += net.on_b(|h| {
            h.tcp_recv(srv, &mut got_at_b);
            h.tcp_send(srv, &down[sent_down..])
        });
    }
    assert_eq!(got_at_b.len(), len, "A -> B incomplete");
    assert_eq!(got_at_a.len(), len, "B -> A incomplete");
    assert!(got_at_b == up, "A -> B corrupted");
    assert!(got_at_a == down, "B -> A corrupted");
    (got_at_b, got_at_a, cli, srv)
}

#[test]
fn tcp_transfers_100k_both_ways() {
    let mut net = direct(3, LinkConfig::with_latency(10 * MS));
    let (_, _, cli, srv) = transfer(&mut net, 100_000, Duration::from_secs(60));
    assert_eq!(net.on_a(|h| h.tcp_state(cli)), TcpState::Established);
    assert_eq!(net.on_b(|h| h.tcp_remote(srv)).unwrap().0, A);
    // Orderly close from both ends.
    net.on_a(|h| h.tcp_close(cli));
    net.on_b(|h| h.tcp_close(srv));
    net.sim.run_for(Duration::from_secs(5));
    let sa = net.on_a(|h| h.tcp_state(cli));
    let sb = net.on_b(|h| h.tcp_state(srv));
    assert!(matches!(sa, TcpState::TimeWait | TcpState::Closed), "{sa}");
    assert!(matches!(sb, TcpState::TimeWait | TcpState::Closed), "{sb}");
}

#[test]
fn tcp_through_a_router() {
    let mut net = routed(4, LinkConfig::with_latency(10 * MS));
    transfer(&mut net, 100_000, Duration::from_secs(60));
}

#[test]
fn tcp_delivers_everything_with_5_percent_loss() {
    let cfg = LinkConfig {
        loss: 0.05,
        ..LinkConfig::with_latency(10 * MS)
    };
    let mut net = routed(5, cfg);
    transfer(&mut net, 100_000, Duration::from_secs(600));
    let lost = net.sim.link_stats(net.link).unwrap().dropped_loss;
    assert!(lost > 0, "the link lost nothing");
}

#[test]
fn link_down_fails_ping_and_times_out_tcp() {
    let mut net = direct(6, LinkConfig::with_latency(10 * MS));
    let (_, _, cli, _) = transfer(&mut net, 1000, Duration::from_secs(10));
    net.sim.apply(Fault::LinkDown(net.link));
    net.on_a(|h| h.ping(B, 1, b"x")).unwrap();
    let sent = net.on_a(|h| h.tcp_send(cli, b"into the void"));
    assert_eq!(sent, 13);
    net.sim.run_for(Duration::from_secs(5));
    assert!(net.on_a(|h| h.ping_replies()).is_empty());
    assert_eq!(net.on_a(|h| h.pings_outstanding()), [1]);
    assert_eq!(net.on_a(|h| h.tcp_state(cli)), TcpState::Established);
    // The default TCP timeout is 60 s without an acknowledgement.
    net.sim.run_for(Duration::from_secs(70));
    assert_eq!(net.on_a(|h| h.tcp_state(cli)), TcpState::Closed);
    // A connect to a dead peer also gives up.
    let c2 = net.on_a(|h| h.tcp_connect(B, 80)).unwrap();
    net.sim.run_for(Duration::from_secs(5));
    assert_eq!(net.on_a(|h| h.tcp_state(c2)), TcpState::SynSent);
    net.sim.run_for(Duration::from_secs(70));
    assert_eq!(net.on_a(|h| h.tcp_state(c2)), TcpState::Closed);
}

fn capture(seed: u64) -> Vec<u8> {
    let cfg = LinkConfig {
        loss: 0.02,
        jitter: 3 * MS,
        ..LinkConfig::with_latency(10 * MS)
    };
    let mut net = routed(seed, cfg);
    net.on_a(|h| h.ping(B, 1, b"determinism")).unwrap();
    transfer(&mut net, 20_000, Duration::from_secs(300));
    net.sim.pcap(net.tap).unwrap().bytes().to_vec()
}

#[test]
fn same_seed_same_pcap() {
    let one = capture(42);
    let two = capture(42);
    assert!(one.len() > 20_000);
    assert!(one == two, "two runs with seed 42 differ");
    assert!(capture(43) != one, "another seed gives the same capture");
}

#[test]
fn tshark_sees_tcp_and_no_malformed_packets() {
    let Ok(out) = std::process::Command::new("tshark")
        .arg("--version")
        .output()
    else {
        panic!(
            "tshark is not installed (apt-get install tshark; see scripts/install-test-deps.sh)"
        );
    };
    assert!(out.status.success(), "tshark --version failed");
    let mut net = direct(7, LinkConfig::with_latency(10 * MS));
    net.on_a(|h| h.ping(B, 1, b"tshark")).unwrap();
    transfer(&mut net, 10_000, Duration::from_secs(60));
    let dir = std::env::temp_dir().join(format!("lab-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("host.pcap");
    net.sim.pcap(net.tap).unwrap().write_to(&path).unwrap();
    let run = |filter: &str| -> Vec<String> {
        let out = std::process::Command::new("tshark")
            .args(["-n", "-o", "tcp.check_checksum:TRUE"])
            .args(["-o", "ip.check_checksum:TRUE", "-r"])
            .arg(&path)
            .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    assert!(run("tcp.port == 179").len() > 10, "no TCP in the capture");
    assert_eq!(run("icmp.type == 0").len(), 1, "no echo reply");
    assert!(run("_ws.malformed || _ws.expert.severity >= error").is_empty());
    // Checksum status: 0 bad, 1 good.
    assert!(run("tcp.checksum.status == 0 || ip.checksum.status == 0").is_empty());
    assert!(run("icmp.checksum.status == 0").is_empty());
    assert_eq!(
        run("tcp.checksum.status == 1").len(),
        run("tcp").len(),
        "tshark did not verify every TCP checksum"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CGW-like host with two inside /30s (as AWS assigns them) connects to
/// the peer of the second one from the matching address.
#[test]
fn source_address_follows_the_prefix_of_the_peer() {
    let mut sim = Sim::new(Instant::now(), 8);
    let e = sim.epoch();
    let cgw1 = Ipv4Addr::new(169, 254, 10, 2);
    let cgw2 = Ipv4Addr::new(169, 254, 11, 2);
    let aws2 = Ipv4Addr::new(169, 254, 11, 1);
    let cgw = sim.add_node(Host::new(
        e,
        HostConfig::new(cgw1, 30).with_addr(cgw2, 30).with_seed(8),
    ));
    let aws = sim.add_node(Host::new(e, HostConfig::new(aws2, 30).with_seed(9)));
    sim.connect(
        (cgw, HOST_IFACE),
        (aws, HOST_IFACE),
        LinkConfig::with_latency(MS),
    )
    .unwrap();
    let srv = sim
        .with_node::<Host, _>(aws, |h| h.tcp_listen(179))
        .unwrap()
        .unwrap();
    let cli = sim
        .with_node::<Host, _>(cgw, |h| h.tcp_connect(aws2, 179))
        .unwrap()
        .unwrap();
    sim.run_for(Duration::from_secs(1));
    let h = sim.node::<Host>(cgw).unwrap();
    assert_eq!(h.tcp_state(cli), TcpState::Established);
    assert_eq!(h.tcp_local(cli).unwrap().0, cgw2);
    let a = sim.node::<Host>(aws).unwrap();
    assert_eq!(a.tcp_remote(srv).unwrap().0, cgw2);
}

#[test]
fn udp_datagrams_both_ways() {
    let mut net = routed(9, LinkConfig::with_latency(10 * MS));
    let sa = net.on_a(|h| h.udp_bind(5000)).unwrap();
    let sb = net.on_b(|h| h.udp_bind(7)).unwrap();
    assert!(net.on_a(|h| h.udp_send_to(sa, B, 7, b"probe")));
    net.sim.run_for(100 * MS);
    let got = net.on_b(|h| h.udp_recv(sb)).unwrap();
    assert_eq!(got, (A, 5000, b"probe".to_vec()));
    assert!(net.on_b(|h| h.udp_send_to(sb, got.0, got.1, b"reply")));
    net.sim.run_for(100 * MS);
    assert_eq!(
        net.on_a(|h| h.udp_recv(sa)),
        Some((B, 7, b"reply".to_vec()))
    );
    assert_eq!(net.on_a(|h| h.udp_recv(sa)), None);
}

/// An idle established connection does not make the simulator spin.
#[test]
fn idle_hosts_do_not_spin() {
    let mut net = direct(10, LinkConfig::with_latency(10 * MS));
    transfer(&mut net, 1000, Duration::from_secs(10));
    let before = net.sim.events_run();
    net.sim.run_for(Duration::from_secs(600));
    let events = net.sim.events_run() - before;
    assert!(events < 100, "{events} events in 10 idle minutes");
}

/// Garbage, truncated packets, packets for others and on other interfaces
/// are counted or ignored, never a panic.
#[test]
fn garbage_does_not_panic() {
    use lab::Node;
    let e = Instant::now();
    let mut h = Host::new(e, HostConfig::new(A, 24));
    let mut valid = lab::wire::build_udp((B, 1), (A, 2), b"x", false);
    let mut x: u32 = 1;
    for i in 0..5000u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let len = (x % 80) as usize;
        let mut p: Vec<u8> = (0..len).map(|j| (x >> (j % 24)) as u8).collect();
        if i % 2 == 0 && !p.is_empty() {
            // A valid header start with random bytes after it.
            let n = valid.len().min(p.len());
            p[..n.min(20)].copy_from_slice(&valid[..n.min(20)]);
        }
        let iface = if i % 97 == 0 { IfaceId(1) } else { HOST_IFACE };
        h.handle_packet(e + Duration::from_millis(i as u64), iface, &p);
        valid[(x % 28) as usize] ^= 1;
        while h.poll_transmit().is_some() {}
    }
    assert!(h.stats().rx_dropped + h.stats().rx_wrong_iface > 0);
}
