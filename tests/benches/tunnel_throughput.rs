//! Throughput on a host: our tunnel against strongSwan's user-space ESP
//! (kernel-libipsec), side by side in one run, same machine, same
//! algorithms (AES-GCM-128 ESP in UDP 4500), same topology:
//!
//! ```text
//!  lan (198.18.0.10) -- gwa (CGW, 192.0.2.10) == wan == gwb (AWS, 198.51.100.10) -- vpc (198.19.0.10)
//! ```
//!
//! Four namespaces per setup; the hosts' traffic is forwarded by the
//! gateway namespaces' kernels into a TUN device (ours: `cgwsim1` /
//! `awssim1`; strongSwan: `ipsec0`), so forwarding and both directions of
//! the tunnel are included. For each setup: ping latency (100 pings at
//! 10 ms), iperf3 TCP throughput (1 and 4 streams, 10 s) with the
//! gateways' CPU time during it, and 64-byte UDP packets per second
//! (unlimited rate, and AWS's 140,000 packets/s). Prints a table and
//! writes `target/tunnel_throughput.json`.
//!
//! Needs root, iperf3 and strongSwan (scripts/install-test-deps.sh).
//! `TUNNEL_BENCH_ONLY=ours` or `=strongswan` runs one setup;
//! `TUNNEL_BENCH_SECS` changes the TCP test length.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use cgw_sim::aws::aws_ike_proposals;
use cgw_sim::node::{GatewayConfig, TunnelConfig, TunnelGateway, TunnelId, TunnelRole};
use cgw_sim::os::driver::{DriverError, DriverStats};
use cgw_sim::os::host_loop::{self, Controller, Host};
use cgw_sim::os::site::SiteIo;
use cgw_sim_tests::netns::{Netns, Veth};
use cgw_sim_tests::proc::{self, Daemon};
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use cgw_sim_tests::{require, TestDir};
use ike::crypto::{EncrAlg, Secret};
use ike::sa::{EspProposal, IkeConfig, PreferOwn};
use lab::kernel::TunConfig;
use serde_json::{json, Value};

const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const AWS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const LAN_HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const VPC_HOST: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
/// Both setups' tunnel devices get this MTU (kernel-libipsec's default).
const TUN_MTU: u32 = 1400;
/// AWS's per-tunnel packet rate.
const AWS_PPS: u64 = 140_000;

/// The four namespaces of one setup.
struct Topo {
    lan: Netns,
    gwa: Netns,
    gwb: Netns,
    vpc: Netns,
}

impl Topo {
    fn new() -> Topo {
        let t = Topo {
            lan: Netns::new(),
            gwa: Netns::new(),
            gwb: Netns::new(),
            vpc: Netns::new(),
        };
        Veth::connect(
            &t.lan,
            "lan0",
            "198.18.0.10/24",
            &t.gwa,
            "lan0",
            "198.18.0.1/24",
        );
        Veth::connect(
            &t.gwa,
            "wan0",
            &format!("{CGW}/24"),
            &t.gwb,
            "wan0",
            &format!("{AWS}/24"),
        );
        Veth::connect(
            &t.gwb,
            "vpc0",
            "198.19.0.1/16",
            &t.vpc,
            "vpc0",
            "198.19.0.10/16",
        );
        t.lan
            .add_route("198.19.0.0/16", "lan0", Some(Ipv4Addr::new(198, 18, 0, 1)));
        t.vpc
            .add_route("198.18.0.0/24", "vpc0", Some(Ipv4Addr::new(198, 19, 0, 1)));
        for g in [&t.gwa, &t.gwb] {
            g.sysctl("net.ipv4.ip_forward", "1");
        }
        t
    }

    /// Routes the hosts' subnets into the gateways' tunnel devices.
    fn route_into(&self, dev_a: &str, dev_b: &str) {
        self.gwa.add_route("198.19.0.0/16", dev_a, None);
        self.gwb.add_route("198.18.0.0/24", dev_b, None);
    }
}

// ---------------------------------------------------------------- CPU time

/// utime + stime of `/proc/.../stat`, in seconds.
fn stat_cpu(path: &str) -> f64 {
    let s = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    // The command name is in parentheses and may hold spaces: count fields
    // after the last ')'. utime and stime are fields 14 and 15 (1-based),
    // i.e. the 12th and 13th after the name.
    let rest = &s[s.rfind(')').expect("stat has (comm)") + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

/// Where the CPU time of the two gateways is read.
enum Cpu {
    /// Our gateway threads, by thread id (in this process).
    Threads(i32, i32),
    /// The two charon processes, all their threads.
    Pids(u32, u32),
}

impl Cpu {
    fn read(&self) -> (f64, f64) {
        match *self {
            Cpu::Threads(a, b) => (
                stat_cpu(&format!("/proc/self/task/{a}/stat")),
                stat_cpu(&format!("/proc/self/task/{b}/stat")),
            ),
            Cpu::Pids(a, b) => (
                stat_cpu(&format!("/proc/{a}/stat")),
                stat_cpu(&format!("/proc/{b}/stat")),
            ),
        }
    }
}

// ---------------------------------------------------------------- measures

fn run_in(ns: &Netns, argv: &[&str], timeout: Duration) -> proc::Output {
    let mut v = vec!["ip", "netns", "exec", ns.name()];
    v.extend_from_slice(argv);
    proc::run(&v, &[], timeout)
}

/// ping's min/avg/max in ms over `count` pings at 10 ms.
fn ping(t: &Topo, count: u32) -> Value {
    let c = count.to_string();
    let dst = VPC_HOST.to_string();
    let o = run_in(
        &t.lan,
        &["ping", "-n", "-q", "-c", &c, "-i", "0.01", "-W", "1", &dst],
        Duration::from_secs(u64::from(count) / 10 + 15),
    );
    let line = o
        .stdout
        .lines()
        .find(|l| l.contains("min/avg/max"))
        .unwrap_or_else(|| panic!("ping gave no rtt line: {o}"));
    let nums: Vec<f64> = line
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        // Under load ping adds ", pipe 2, ipg/ewma ..." after " ms".
        .split(" ms")
        .next()
        .unwrap_or("")
        .split('/')
        .map(|x| x.parse().unwrap())
        .collect();
    let received = o
        .stdout
        .split(',')
        .find(|s| s.contains("received"))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    json!({"count": count, "received": received,
           "min_ms": nums[0], "avg_ms": nums[1], "max_ms": nums[2]})
}

/// An iperf3 server for one test in the VPC host's namespace.
fn iperf_server(t: &Topo, dir: &TestDir) -> Daemon {
    let d = Daemon::spawn(
        "iperf3 server",
        &[
            "ip",
            "netns",
            "exec",
            t.vpc.name(),
            "iperf3",
            "-s",
            "-1",
            "-B",
            &VPC_HOST.to_string(),
        ],
        &[],
        &dir.join("iperf3-server.log"),
        "iperf3",
        Duration::from_secs(2),
    );
    // Until it listens (bounded).
    let up = proc::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        let o = run_in(&t.vpc, &["ss", "-ltn"], Duration::from_secs(5));
        o.stdout.contains(":5201").then_some(())
    });
    assert!(up.is_some(), "iperf3 server did not listen within 5 s");
    d
}

fn iperf_client(t: &Topo, dir: &TestDir, args: &[&str], secs: u64) -> Value {
    let mut server = iperf_server(t, dir);
    let dst = VPC_HOST.to_string();
    let s = secs.to_string();
    let mut argv = vec![
        "iperf3",
        "-c",
        &dst,
        "-J",
        "-t",
        &s,
        "--connect-timeout",
        "3000",
    ];
    argv.extend_from_slice(args);
    let o = run_in(&t.lan, &argv, Duration::from_secs(secs + 20));
    server.stop();
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("iperf3 JSON ({e}): {o}"))
}

/// TCP throughput with `streams` streams, and the gateways' CPU meanwhile.
fn tcp(t: &Topo, dir: &TestDir, cpu: &Cpu, streams: u32, secs: u64) -> Value {
    let p = streams.to_string();
    let (a0, b0) = cpu.read();
    let w0 = Instant::now();
    let j = iperf_client(t, dir, &["-P", &p], secs);
    let wall = w0.elapsed().as_secs_f64();
    let (a1, b1) = cpu.read();
    let recv = &j["end"]["sum_received"];
    let bytes = recv["bytes"]
        .as_f64()
        .unwrap_or_else(|| panic!("no end.sum_received in {j}"));
    let gbit = bytes * 8.0 / 1e9;
    let gbps = recv["bits_per_second"].as_f64().unwrap() / 1e9;
    let (ca, cb) = (a1 - a0, b1 - b0);
    json!({
        "streams": streams,
        "gbps": gbps,
        "gbit": gbit,
        "retransmits": j["end"]["sum_sent"]["retransmits"],
        "cpu_s_gw_a": ca,
        "cpu_s_gw_b": cb,
        "cpu_pct_gw_a": 100.0 * ca / wall,
        "cpu_pct_gw_b": 100.0 * cb / wall,
        "cpu_s_per_gbit": (ca + cb) / gbit,
    })
}

/// 64-byte UDP datagrams at `rate` bits/s (`"0"`: as fast as the sender
/// can); what the receiver got, and the receiving gateway's CPU time per
/// packet it delivered (less sensitive to the machine's load than the
/// rate, which other processes on the cores bound).
fn udp64(t: &Topo, dir: &TestDir, cpu: &Cpu, rate: &str, secs: u64) -> Value {
    let (_, b0) = cpu.read();
    let j = iperf_client(t, dir, &["-u", "-l", "64", "-b", rate], secs);
    let (_, b1) = cpu.read();
    let sum = &j["end"]["sum"];
    let packets = sum["packets"]
        .as_f64()
        .unwrap_or_else(|| panic!("no end.sum.packets in {j}"));
    let lost = sum["lost_packets"].as_f64().unwrap_or(0.0);
    let seconds = sum["seconds"].as_f64().unwrap_or(secs as f64);
    json!({
        "rate": rate,
        "sent_pps": packets / seconds,
        "received_pps": (packets - lost) / seconds,
        "loss_pct": sum["lost_percent"],
        "cpu_us_per_packet_gw_b": (b1 - b0) * 1e6 / (packets - lost).max(1.0),
    })
}

fn measure(name: &str, t: &Topo, cpu: &Cpu, secs: u64) -> Value {
    let dir = TestDir::new(&format!("bench-{name}"));
    eprintln!("[{name}] ping");
    let ping = ping(t, 100);
    eprintln!("[{name}] TCP, 1 stream");
    let tcp1 = tcp(t, &dir, cpu, 1, secs);
    eprintln!("[{name}] TCP, 4 streams");
    let tcp4 = tcp(t, &dir, cpu, 4, secs);
    eprintln!("[{name}] UDP 64 B, unlimited");
    let max = udp64(t, &dir, cpu, "0", 5);
    let aws_rate = (AWS_PPS * 64 * 8).to_string();
    eprintln!("[{name}] UDP 64 B at {AWS_PPS} packets/s");
    let aws = udp64(t, &dir, cpu, &aws_rate, 5);
    json!({"setup": name, "ping": ping, "tcp_1": tcp1, "tcp_4": tcp4,
           "udp64_max": max, "udp64_140k": aws})
}

/// Where packets were dropped (stderr, for the profile): the gateways'
/// UDP receive-buffer overflows and their tunnel devices' drop counters.
fn drops(t: &Topo, dev_a: &str, dev_b: &str) {
    for (g, dev) in [(&t.gwa, dev_a), (&t.gwb, dev_b)] {
        let snmp = run_in(g, &["cat", "/proc/net/snmp"], Duration::from_secs(5)).stdout;
        let udp: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Udp:")).collect();
        let link = g.ip(&["-s", "link", "show", dev]);
        eprintln!("drops in {}:\n{}\n{link}", g.name(), udp.join("\n"));
    }
}

/// Three pings must cross before measuring.
fn check_through(t: &Topo, context: &dyn Fn() -> String) {
    let ok = proc::wait_until(Duration::from_secs(15), Duration::from_millis(200), || {
        t.lan.ping(VPC_HOST, 1, None).success().then_some(())
    });
    assert!(
        ok.is_some() && t.lan.ping(VPC_HOST, 3, None).success(),
        "no ping from {LAN_HOST} to {VPC_HOST} through the tunnel\n{}",
        context()
    );
}

// ---------------------------------------------------------------- ours

fn gcm128() -> Vec<EspProposal> {
    vec![EspProposal {
        encr: vec![EncrAlg::AesGcm16 { key_bits: 128 }],
        integ: Vec::new(),
        dh: Vec::new(),
    }]
}

fn our_gateway(
    outer: Ipv4Addr,
    peer: Ipv4Addr,
    inside: (Ipv4Addr, Ipv4Addr),
    aws: bool,
) -> TunnelGateway {
    let mut ike = IkeConfig::new(
        Secret::new(b"throughput-bench-psk".to_vec()),
        aws_ike_proposals(),
        gcm128(),
    );
    ike.force_encapsulation = true;
    if aws {
        ike.policy = Arc::new(PreferOwn);
    }
    let mut g = TunnelGateway::new(GatewayConfig {
        outer,
        tunnels: vec![TunnelConfig {
            peer,
            inside_local: inside.0,
            inside_remote: inside.1,
            ike: Arc::new(ike),
            role: if aws {
                TunnelRole::Responder
            } else {
                TunnelRole::Initiator
            },
            ikev1: None,
            clear_df: false,
            mss_clamp: None,
            idle_timeout: None,
            extra_selectors: Vec::new(),
        }],
        seed: [u8::from(aws); 32],
    });
    g.use_tunnel_interfaces();
    g
}

/// Initiates tunnel 1 once, on an initiator.
struct Start(bool);

impl Controller for Start {
    fn step(&mut self, host: &mut Host, _: &[SiteIo], now: Instant) {
        if std::mem::take(&mut self.0) {
            host.gateways[0].initiate(TunnelId(0), now);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

type Ran = Result<(TunnelGateway, DriverStats), DriverError>;

/// Our gateway on its namespace's sockets and a TUN, on a thread of its
/// own, until `stop`; sends the thread's id first.
fn spawn_ours(
    ns: &Netns,
    gw: TunnelGateway,
    local: Ipv4Addr,
    tun: TunConfig,
    initiate: bool,
    stop: Arc<AtomicBool>,
    tid: mpsc::Sender<i32>,
) -> std::thread::JoinHandle<Ran> {
    ns.spawn_in(move || {
        // SAFETY: gettid has no preconditions.
        tid.send(unsafe { libc::gettid() }).unwrap();
        let here = lab::kernel::Netns::here().expect("this namespace");
        let tun = here.open_tun_offload(&tun).expect("opening the TUN");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .expect("tokio runtime");
        rt.block_on(async move {
            let site = SiteIo::open(local, vec![tun]).await?;
            let mut host = Host::new(vec![gw]);
            let sites = [site];
            let stopped = async {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
            host_loop::run(&mut host, &sites, &mut Start(initiate), None, stopped).await?;
            let stats = host.stats;
            Ok((host.gateways.pop().expect("one gateway"), stats))
        })
    })
}

fn bench_ours(secs: u64) -> Value {
    let t = Topo::new();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let a_in = (
        Ipv4Addr::new(169, 254, 10, 2),
        Ipv4Addr::new(169, 254, 10, 1),
    );
    let b_in = (a_in.1, a_in.0);
    let tun = |name: &str, addr| TunConfig {
        name: name.into(),
        addr,
        prefix_len: 30,
        mtu: TUN_MTU,
        addr6: None,
    };
    let hb = spawn_ours(
        &t.gwb,
        our_gateway(AWS, CGW, b_in, true),
        AWS,
        tun("awssim1", b_in.0),
        false,
        stop.clone(),
        tx.clone(),
    );
    let tid_b = rx.recv().unwrap();
    // The responder's sockets first, so the first IKE_SA_INIT lands.
    std::thread::sleep(Duration::from_millis(300));
    let ha = spawn_ours(
        &t.gwa,
        our_gateway(CGW, AWS, a_in, false),
        CGW,
        tun("cgwsim1", a_in.0),
        true,
        stop.clone(),
        tx,
    );
    let tid_a = rx.recv().unwrap();
    let up = proc::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        (t.gwa.has_link("cgwsim1") && t.gwb.has_link("awssim1")).then_some(())
    });
    assert!(up.is_some(), "our TUN devices did not appear");
    t.route_into("cgwsim1", "awssim1");
    check_through(&t, &|| "our gateways".to_string());
    let figures = measure("ours", &t, &Cpu::Threads(tid_a, tid_b), secs);
    eprintln!("{figures}");
    drops(&t, "cgwsim1", "awssim1");
    stop.store(true, Ordering::Relaxed);
    let (ga, sa) = ha.join().unwrap().expect("CGW gateway");
    let (gb, sb) = hb.join().unwrap().expect("AWS gateway");
    eprintln!(
        "ours: CGW {sa:?} {:?}\nours: AWS {sb:?} {:?}",
        ga.stats(),
        gb.stats()
    );
    assert!(ga.esp_suite(TunnelId(0)).is_some_and(|s| s.2), "ESP in UDP");
    drop(t);
    figures
}

// ---------------------------------------------------------------- strongSwan

fn bench_strongswan(secs: u64) -> Value {
    let t = Topo::new();
    let cfg = |mut c: CharonConfig, inside: &str| {
        c.ike_proposals = "aes128-sha1-modp2048".into();
        c.esp_proposals = "aes128gcm16".into();
        c.inside_addr = Some(inside.into());
        c
    };
    let aws = Charon::start(
        &t.gwb,
        cfg(CharonConfig::aws_responder(AWS, CGW), "169.254.100.1/30"),
    );
    let cgw = Charon::start(
        &t.gwa,
        cfg(CharonConfig::cgw_initiator(CGW, AWS), "169.254.100.2/30"),
    );
    cgw.initiate()
        .unwrap_or_else(|e| panic!("{e}\n--- AWS side\n{}", aws.failure_context()));
    let sa = cgw.wait_established(Duration::from_secs(10));
    let child = &sa.children[0];
    assert_eq!(
        (child.encr_alg.as_str(), child.encr_keysize, child.encap),
        ("AES_GCM_16", Some(128), true),
        "{sa:#?}"
    );
    for g in [&t.gwa, &t.gwb] {
        g.ip(&["link", "set", "ipsec0", "mtu", &TUN_MTU.to_string()]);
    }
    // kernel-libipsec routes each policy's remote selector (0.0.0.0/0)
    // into ipsec0 in table 220, whatever install_routes says: consult the
    // main table (the hosts' links, the peer) first, as vpn_topology does.
    for g in [&t.gwa, &t.gwb] {
        g.ip(&["rule", "add", "pref", "100", "lookup", "main"]);
    }
    t.route_into("ipsec0", "ipsec0");
    check_through(&t, &|| {
        format!(
            "{}\n--- AWS\n{}",
            cgw.failure_context(),
            aws.failure_context()
        )
    });
    let figures = measure("strongswan", &t, &Cpu::Pids(cgw.pid(), aws.pid()), secs);
    eprintln!("{figures}");
    drops(&t, "ipsec0", "ipsec0");
    drop(cgw);
    drop(aws);
    drop(t);
    figures
}

// ---------------------------------------------------------------- report

fn row(label: &str, f: &dyn Fn(&Value) -> String, results: &[Value]) {
    let cells: Vec<String> = results.iter().map(|r| format!("{:>14}", f(r))).collect();
    println!("{label:<38}{}", cells.join(""));
}

fn num(v: &Value, path: &[&str], digits: usize) -> String {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_f64()
        .map(|n| format!("{n:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

fn print_table(results: &[Value]) {
    let heads: Vec<String> = results
        .iter()
        .map(|r| format!("{:>14}", r["setup"].as_str().unwrap_or("?")))
        .collect();
    println!("\n{:<38}{}", "", heads.join(""));
    let rows: &[(&str, &[&str], usize)] = &[
        ("ping min (ms)", &["ping", "min_ms"], 3),
        ("ping avg (ms)", &["ping", "avg_ms"], 3),
        ("ping max (ms)", &["ping", "max_ms"], 3),
        ("TCP 1 stream (Gbit/s)", &["tcp_1", "gbps"], 3),
        (
            "  CPU s per Gbit (both gateways)",
            &["tcp_1", "cpu_s_per_gbit"],
            3,
        ),
        (
            "  CPU % gateway A (sender side)",
            &["tcp_1", "cpu_pct_gw_a"],
            0,
        ),
        ("  CPU % gateway B", &["tcp_1", "cpu_pct_gw_b"], 0),
        ("TCP 4 streams (Gbit/s)", &["tcp_4", "gbps"], 3),
        (
            "  CPU s per Gbit (both gateways)",
            &["tcp_4", "cpu_s_per_gbit"],
            3,
        ),
        (
            "  CPU % gateway A (sender side)",
            &["tcp_4", "cpu_pct_gw_a"],
            0,
        ),
        ("  CPU % gateway B", &["tcp_4", "cpu_pct_gw_b"], 0),
        (
            "UDP 64 B unlimited: sent pps",
            &["udp64_max", "sent_pps"],
            0,
        ),
        ("  received pps", &["udp64_max", "received_pps"], 0),
        ("  loss %", &["udp64_max", "loss_pct"], 1),
        (
            "  gateway B CPU us per packet",
            &["udp64_max", "cpu_us_per_packet_gw_b"],
            2,
        ),
        (
            "UDP 64 B at 140k pps: received pps",
            &["udp64_140k", "received_pps"],
            0,
        ),
        ("  loss %", &["udp64_140k", "loss_pct"], 1),
        (
            "  gateway B CPU us per packet",
            &["udp64_140k", "cpu_us_per_packet_gw_b"],
            2,
        ),
    ];
    for (label, path, digits) in rows {
        row(label, &|r| num(r, path, *digits), results);
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would run us
    // without it: only run when asked to benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    require::root();
    require::strongswan();
    require::binary("iperf3");
    require::ping();
    let secs: u64 = std::env::var("TUNNEL_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let only = std::env::var("TUNNEL_BENCH_ONLY").unwrap_or_default();
    let mut results = Vec::new();
    if only.is_empty() || only == "ours" {
        results.push(bench_ours(secs));
    }
    if only.is_empty() || only == "strongswan" {
        results.push(bench_strongswan(secs));
    }
    print_table(&results);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    // SAFETY: sysconf has no preconditions.
    let cores = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let report = json!({
        "machine": {"cpu": cpu, "cores": cores},
        "esp": "AES-GCM-128 (ICV 16), ESP in UDP 4500",
        "tun_mtu": TUN_MTU,
        "tcp_seconds": secs,
        "results": results,
    });
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tunnel_throughput.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap())
        .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    println!("\nwritten to {}", out.display());
}
