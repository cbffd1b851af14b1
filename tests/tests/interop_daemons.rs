//! Issue 6, interop end to end: our daemons in the VPN lab against real
//! peers (strongSwan + BIRD), both ways round.
//!
//! - Our customer gateway (`cgw-sim run`) against strongSwan + BIRD as AWS:
//!   both tunnels, BGP on both, routes both ways, ping and TCP on-prem ->
//!   VPC, failover to tunnel 2 when tunnel 1's path is cut (timed), restore.
//! - strongSwan + BIRD as the customer device against our AWS mock
//!   (`cgw-sim mock-aws`): the same from the other side, plus the mock's
//!   AWS-format records; a wrong DH group and a wrong PSK on tunnel 1, each
//!   diagnosed by the mock for that tunnel while tunnel 2 comes up.
//! - IPv6 inside tunnels (AWS's `TunnelInsideIpVersion = ipv6`), both ways
//!   round: strongSwan + BIRD as the customer device against our mock, and
//!   our customer gateway against strongSwan + BIRD as AWS; ::/0 children,
//!   BGP over the inside /126s with an IPv6 channel only, IPv6 routes both
//!   ways, ping6 3/3 and a 4 MiB TCP transfer over IPv6 through tunnel 1.
//! - `cgw-sim validate` against strongSwan as AWS: a passing verdict with
//!   pings and a TCP connect through each tunnel; failing verdicts for a DH
//!   group AWS does not accept and for a wrong PSK, naming the cause for
//!   tunnel 1 while tunnel 2 passes.
//!
//! Needs root, strongSwan (kernel-libipsec), BIRD 2, ping and nft; a missing
//! one fails the test with what to install. The tests run one at a time (a
//! lock) so the times they print mean something on two shared cores.

use cgw_sim::daemon::validate::{self, Check, Verdict};
use cgw_sim::daemon::view::View;
use cgw_sim_tests::aws_peer::RealAwsOptions;
use cgw_sim_tests::cgw_peer::{self, RealCgwOptions, WRONG_DH_IKE_PROPOSAL};
use cgw_sim_tests::netns::Netns;
use cgw_sim_tests::ours::{
    all_up, gateway_toml, load_gateway, load_mock, mock_toml, route_texts, Daemon,
    OurTunnelOptions, AWS_RECOMMENDED_DPD,
};
use cgw_sim_tests::proc::TestDir;
use cgw_sim_tests::require;
use cgw_sim_tests::strongswan::IkeSa;
use cgw_sim_tests::vpn_lab::{AwsPlayer, CgwPlayer, VpnLab};
use cgw_sim_tests::vpn_side::RealSide;
use cgw_sim_tests::vpn_topology::{InsideIp, Transfer, ONPREM6_PREFIX, VPC6_HOST, VPC6_PREFIX};
use cgw_sim_tests::vpn_topology::{
    AWS_OUTSIDE, CGW_OUTSIDE, INSIDE_NETS, ONPREM_PREFIX, VPC_HOST, VPC_PREFIX,
};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn preflight() {
    require::root();
    require::tun();
    require::strongswan();
    require::bird();
    require::ping();
    require::nft();
}

/// Our daemon's only route is `prefix` into `dev`, as the view holds it.
fn route_via(prefix: &str, dev: &str) -> impl Fn(&View) -> bool {
    let want = [format!("{prefix} {dev}")];
    move |v| route_texts(v) == want
}

/// The kernel's route for `prefix` (either family) in `ns`.
fn kernel_route(ns: &Netns, prefix: &str) -> String {
    ns.route_show(prefix)
}

/// What strongSwan (either side) must show of an SA with our daemon: IKEv2,
/// IKE floated to UDP 4500, an installed UDP-encapsulated child with
/// `any` selectors both ways (0.0.0.0/0, or ::/0 on an IPv6 connection).
fn check_sa_with_ours(who: &str, n: usize, sa: &IkeSa, remote: String, any: &str) {
    let ctx = format!("{who} tunnel {}: {sa:#?}", n + 1);
    assert_eq!(sa.version, 2, "{ctx}");
    assert_eq!(sa.state, "ESTABLISHED", "{ctx}");
    assert_eq!(sa.local_port, 4500, "{ctx}: IKE must float to 4500");
    assert_eq!(sa.remote_port, 4500, "{ctx}");
    assert_eq!(sa.remote_host, remote, "{ctx}");
    let c = sa
        .children
        .iter()
        .find(|c| c.state == "INSTALLED")
        .unwrap_or_else(|| panic!("no INSTALLED child: {ctx}"));
    assert!(c.encap, "{ctx}: ESP must be UDP-encapsulated");
    assert_eq!(c.local_ts, vec![any.to_string()], "{ctx}");
    assert_eq!(c.remote_ts, vec![any.to_string()], "{ctx}");
}

/// The traffic selectors of an IPv4 and an IPv6 connection.
const ANY4: &str = "0.0.0.0/0";
const ANY6: &str = "::/0";

fn dpd_tunnels() -> [OurTunnelOptions; 2] {
    [0, 1].map(|_| OurTunnelOptions {
        dpd: Some(AWS_RECOMMENDED_DPD.into()),
        ..Default::default()
    })
}

/// `count` pings on-prem -> VPC (ICMPv6 in an IPv6 lab), all answered,
/// that must cross tunnel 1 (the real side's child SA counters show them
/// both ways), then a 4 MiB TCP transfer with every byte checked
/// (listener on `port`).
fn ping_and_tcp(
    lab: &VpnLab,
    real: &RealSide,
    count: u32,
    port: u16,
    ctx: &dyn Fn() -> String,
) -> Transfer {
    let v6 = lab.topo.inside() == InsideIp::V6;
    let before = real.child_packets(1);
    let (p, to) = if v6 {
        (lab.topo.ping6_vpc(count), VPC6_HOST.to_string())
    } else {
        (lab.topo.ping_vpc(count), VPC_HOST.to_string())
    };
    assert!(
        p.success() && p.stdout.contains(&format!(" {count} received")),
        "ping on-prem -> {to}: {p}\n{}",
        ctx()
    );
    let after = real.child_packets(1);
    let n = u64::from(count);
    assert!(
        after.0 >= before.0 + n && after.1 >= before.1 + n,
        "the pings did not cross tunnel 1 ({} child packets out/in {before:?} -> {after:?})",
        real.spec.label
    );
    let t = if v6 {
        lab.topo
            .tcp6_onprem_to_vpc(4 << 20, port, Duration::from_secs(30))
    } else {
        lab.topo
            .tcp_onprem_to_vpc(4 << 20, port, Duration::from_secs(30))
    };
    t.unwrap_or_else(|e| panic!("TCP transfer to {to}: {e}\n{}", ctx()))
}

/// How long our customer gateway took in [`start_cgw_tunnel_1_first`].
struct Bringup {
    /// When the daemon started.
    t0: Instant,
    /// Tunnel 1 up, after start.
    tunnel_up: Duration,
    /// Tunnel 1's BGP session Established, after start.
    bgp_up: Duration,
    /// Tunnel 2 up with BGP, after its path opened.
    tunnel2_up: Duration,
}

/// Start our customer gateway (config `text`) against the real AWS side
/// with tunnel 2's path cut; once tunnel 1 is up with BGP and routes
/// `vpc_prefix` into cgwsim1, open tunnel 2's path and wait for both
/// tunnels with BGP. Then check AWS's SAs (responder, our identity, `any`
/// selectors).
///
/// Tunnel 1 first: AWS's two tunnels announce the VPC prefix alike and
/// our RIB prefers the older of equal routes (RFC 5004), so the tunnel
/// whose session comes up first carries our traffic. Tunnel 2's path
/// opens once tunnel 1 carries the route, which makes that tunnel 1
/// (AWS's router prefers tunnel 1 too: its local preference).
fn start_cgw_tunnel_1_first(
    lab: &VpnLab,
    text: &str,
    seed: u8,
    vpc_prefix: &str,
    any: &str,
) -> (Daemon, Bringup) {
    let slot = lab.ours_cgw();
    let dir = TestDir::new("interop-ours-cgw");
    let cfg = load_gateway(&dir, "gateway.toml", text);
    let ctx = || lab.failure_context();
    lab.topo.cut_tunnel(2);
    let t0 = Instant::now();
    let gw = Daemon::cgw(&slot, cfg, [seed; 32]);
    gw.wait(
        "tunnel 1 up",
        Duration::from_secs(20),
        |v| v.tunnels[0].up,
        ctx,
    );
    let tunnel_up = t0.elapsed();
    gw.wait(
        "tunnel 1: BGP Established",
        Duration::from_secs(30),
        |v| v.tunnels[0].bgp_since.is_some(),
        ctx,
    );
    let bgp_up = t0.elapsed();
    gw.wait(
        "VPC route via cgwsim1",
        Duration::from_secs(10),
        route_via(vpc_prefix, "cgwsim1"),
        ctx,
    );
    let t_open = Instant::now();
    lab.topo.restore_tunnel(2);

    // both tunnels: our view, then strongSwan's SAs
    gw.wait(
        "both tunnels up, BGP Established on both",
        Duration::from_secs(30),
        all_up,
        ctx,
    );
    let tunnel2_up = t_open.elapsed();
    let sas = lab.real_aws().wait_tunnels(Duration::from_secs(10));
    for (n, sa) in sas.iter().enumerate() {
        check_sa_with_ours("strongSwan AWS", n, sa, CGW_OUTSIDE.to_string(), any);
        assert!(!sa.initiator, "AWS must be the responder: {sa:#?}");
        assert_eq!(sa.raw.get("remote-id"), Some(&CGW_OUTSIDE.to_string()));
    }
    let times = Bringup {
        t0,
        tunnel_up,
        bgp_up,
        tunnel2_up,
    };
    (gw, times)
}

/// Each tunnel of our daemon `d` learned exactly `prefix`.
fn check_learned(d: &Daemon, prefix: &str, ctx: &dyn Fn() -> String) {
    for (t, tv) in d.view().tunnels.iter().enumerate() {
        let learned: Vec<String> = tv.learned.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            learned,
            [prefix],
            "{} tunnel {} learned\n{}",
            d.label,
            t + 1,
            ctx()
        );
    }
}

/// Each endpoint of a real side routes `prefix` into `ipsec0`, learned
/// over eBGP with AS path `[asn]`; returns the kernel routes.
fn check_real_side_learned(
    side: &RealSide,
    prefix: &str,
    asn: u32,
    ctx: &dyn Fn() -> String,
) -> Vec<String> {
    [1, 2]
        .map(|n| {
            let r = side.wait_endpoint_route(n, prefix, Duration::from_secs(10));
            let learned = side.endpoint(n).bird.bgp_routes();
            assert!(
                learned
                    .iter()
                    .any(|r| r.prefix == prefix && r.as_path == vec![asn]),
                "{} tunnel {n} BIRD routes: {learned:#?}\n{}",
                side.spec.label,
                ctx()
            );
            r
        })
        .to_vec()
}

#[test]
fn our_cgw_against_strongswan_aws_tunnels_bgp_traffic_failover() {
    preflight();
    let _serial = serial();
    let t_start = Instant::now();
    let lab = VpnLab::new(CgwPlayer::Ours, AwsPlayer::StrongSwan(Default::default()));
    let slot = lab.ours_cgw();
    let text = gateway_toml(&slot, &dpd_tunnels(), Duration::from_secs(60));
    let aws = lab.real_aws();
    let ctx = || lab.failure_context();
    let (gw, times) = start_cgw_tunnel_1_first(&lab, &text, 0x31, VPC_PREFIX, ANY4);
    let ctx_all = || format!("{}\n{}", gw.describe(), lab.failure_context());
    // BGP on both as BIRD sees it
    for st in aws.wait_bgp(Duration::from_secs(10)) {
        assert_eq!(st.hold_time, Some(30), "{st:#?}\n{}", ctx_all());
    }
    aws.wait_ibgp(Duration::from_secs(15));

    // routes: our kernel has the VPC prefix via cgwsim1 (both tunnels
    // learned it), AWS's router the on-prem prefix via tunnel 1
    gw.wait(
        "VPC route still via cgwsim1",
        Duration::from_secs(2),
        route_via(VPC_PREFIX, "cgwsim1"),
        ctx,
    );
    let r = kernel_route(&slot.ns, VPC_PREFIX);
    assert!(
        r.contains("dev cgwsim1"),
        "kernel route: {r:?}\n{}",
        ctx_all()
    );
    check_learned(&gw, VPC_PREFIX, &ctx_all);
    for (t, tv) in gw.view().tunnels.iter().enumerate() {
        assert!(
            tv.mtu > 1300 && tv.mtu < 1500,
            "tunnel {} MTU {}",
            t + 1,
            tv.mtu
        );
    }
    check_real_side_learned(aws, ONPREM_PREFIX, 65000, &ctx_all);
    aws.wait_router_path(ONPREM_PREFIX, 1, Duration::from_secs(10));

    // ping through tunnel 1 (strongSwan's counters show it), TCP
    let tcp = ping_and_tcp(&lab, aws, 5, 5201, &ctx_all);

    // failover: tunnel 1's path cut; our DPD (10 s / 30 s) or BGP hold (30 s)
    // moves our CGW, BIRD's hold timer moves AWS
    let t2_before = aws.child_packets(2);
    let failover = lab
        .topo
        .measure_failover(1, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", ctx_all()));
    let at_failover = gw.view().tunnels[0].clone();
    gw.wait(
        "VPC route moved to cgwsim2",
        Duration::from_secs(5),
        route_via(VPC_PREFIX, "cgwsim2"),
        ctx,
    );
    aws.wait_router_path(ONPREM_PREFIX, 2, Duration::from_secs(5));
    let p = lab.topo.ping_vpc(3);
    assert!(p.success(), "ping after failover: {p}\n{}", ctx_all());
    let t2_after = aws.child_packets(2);
    assert!(
        t2_after.0 >= t2_before.0 + 3 && t2_after.1 >= t2_before.1 + 3,
        "traffic did not move to tunnel 2: {t2_before:?} -> {t2_after:?}"
    );
    let mechanism = match (&at_failover.last_failure, &at_failover.bgp_error) {
        (Some(f), _) if !at_failover.up => {
            format!("our DPD took tunnel 1 down ({f:?}), its BGP session with it")
        }
        (_, Some(e)) => format!(
            "tunnel 1's BGP session ended ({e}) while the tunnel was {}",
            if at_failover.up { "up" } else { "down" }
        ),
        _ => format!("tunnel 1: {at_failover:?}"),
    };

    // restore: tunnel 1's BGP session comes back over the same SAs (our
    // DPD kept them through the cut unless it declared the peer dead, then
    // its restart action re-initiates). Our CGW may keep the VPC route on
    // tunnel 2: both routes are equal and our RIB prefers the older one
    // (RFC 5004), as AWS's two tunnels are equal too. AWS's router moves
    // back to tunnel 1 (its local preference).
    let t_back = Instant::now();
    lab.topo.restore_tunnel(1);
    gw.wait(
        "tunnel 1 back (up, BGP Established, the VPC prefix learned)",
        Duration::from_secs(40),
        |v| {
            let t = &v.tunnels[0];
            t.up && t.bgp_since.is_some() && !t.learned.is_empty()
        },
        ctx,
    );
    aws.wait_router_path(ONPREM_PREFIX, 1, Duration::from_secs(20));
    let failback = t_back.elapsed();
    let p = lab.topo.ping_vpc(3);
    assert!(p.success(), "ping after failback: {p}\n{}", ctx_all());
    let after_back = route_texts(&gw.view());

    eprintln!(
        "our CGW vs strongSwan AWS: tunnel 1 up {:.2?} after start, \
         its BGP Established {:.2?} after start; \
         tunnel 2 up with BGP {:.2?} after its path opened; \
         TCP {} bytes in {:.2?} ({:.0} Mbit/s); \
         failover (cut tunnel 1 -> first ping through tunnel 2) {failover:.1?}: {mechanism}; \
         failback (restore -> tunnel 1 up, BGP, AWS router back on tunnel 1) {failback:.1?}, \
         our route then {after_back:?}; total {:.1?} (daemon {:.1?})",
        times.tunnel_up,
        times.bgp_up,
        times.tunnel2_up,
        tcp.bytes,
        tcp.elapsed,
        tcp.mbit_per_s(),
        t_start.elapsed(),
        times.t0.elapsed()
    );

    // a clean stop leaves no TUN and no route
    gw.stop();
    let links = slot.ns.exec_ok(&["ip", "-o", "link"]);
    assert!(!links.contains("cgwsim"), "TUN left behind: {links}");
    assert_eq!(kernel_route(&slot.ns, VPC_PREFIX), "", "route left behind");
}

/// What a real side's strongSwan and BIRD show on an IPv6 connection:
/// `swanctl --list-sas` shows each installed child with `local ::/0` and
/// `remote ::/0` (charon logs it as `TS ::/0 === ::/0`), and each eBGP
/// session is Established with the other side's inside IPv6 address and
/// an IPv6 channel only (hold time 30 s). Returns the time the BGP wait
/// took.
fn check_real_side_ipv6(side: &RealSide, ctx: &dyn Fn() -> String) -> Duration {
    for ep in &side.endpoints {
        let text = ep.charon.swanctl(&["--list-sas"]).stdout;
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let log = ep.charon.log();
        assert!(
            lines.contains(&"local  ::/0")
                && lines.contains(&"remote ::/0")
                && log.contains("and TS ::/0 === ::/0"),
            "{} tunnel {}: no ::/0 === ::/0 child:\n{text}\n{}",
            side.spec.label,
            ep.number,
            ctx()
        );
    }
    let t0 = Instant::now();
    let states = side.wait_bgp(Duration::from_secs(30));
    let took = t0.elapsed();
    for (ep, st) in side.endpoints.iter().zip(&states) {
        let peer = if side.spec.aws_side {
            ep.plan.inside6.cgw()
        } else {
            ep.plan.inside6.aws()
        };
        assert_eq!(st.hold_time, Some(30), "{st:#?}\n{}", ctx());
        assert_eq!(
            st.neighbor_address.as_deref(),
            Some(peer.to_string().as_str()),
            "{st:#?}"
        );
        let ch = st.channels.get("ipv6");
        assert!(
            ch.is_some_and(|c| c.state == "UP") && !st.channels.contains_key("ipv4"),
            "tunnel {}: not an IPv6-only session: {st:#?}",
            ep.number
        );
    }
    took
}

/// Our customer gateway as an IPv6 connection against strongSwan + BIRD
/// as AWS: ::/0 children, BGP over the inside /126s, IPv6 routes both
/// ways, ping6 and TCP over IPv6 on-prem -> VPC through tunnel 1.
#[test]
fn our_cgw_against_strongswan_aws_over_ipv6_tunnels_bgp_ping6_tcp() {
    preflight();
    let _serial = serial();
    let lab = VpnLab::new_ipv6(CgwPlayer::Ours, AwsPlayer::StrongSwan(Default::default()));
    let slot = lab.ours_cgw();
    let text = gateway_toml(&slot, &dpd_tunnels(), Duration::from_secs(60));
    let aws = lab.real_aws();
    let (gw, times) = start_cgw_tunnel_1_first(&lab, &text, 0x73, VPC6_PREFIX, ANY6);
    let ctx_all = || format!("{}\n{}", gw.describe(), lab.failure_context());
    check_real_side_ipv6(aws, &ctx_all);

    // routes: the VPC prefix in our kernel via cgwsim1 (IPv6 only), the
    // on-prem prefix in each AWS endpoint's kernel via ipsec0
    let r = kernel_route(&slot.ns, VPC6_PREFIX);
    assert!(
        r.contains("dev cgwsim1"),
        "kernel route: {r:?}\n{}",
        ctx_all()
    );
    assert!(
        route_via(VPC6_PREFIX, "cgwsim1")(&gw.view()),
        "{}",
        ctx_all()
    );
    check_learned(&gw, VPC6_PREFIX, &ctx_all);
    let aws_routes = check_real_side_learned(aws, ONPREM6_PREFIX, 65000, &ctx_all);

    let tcp = ping_and_tcp(&lab, aws, 3, 5206, &ctx_all);
    eprintln!(
        "our CGW vs strongSwan AWS over IPv6: tunnel 1 (::/0) up {:.2?} after start, \
         its BGP over IPv6 Established {:.2?} after start; tunnel 2 up with BGP \
         {:.2?} after its path opened; AWS kernel {aws_routes:?}; ping6 3/3; \
         TCP over IPv6 {} bytes in {:.2?} ({:.0} Mbit/s)",
        times.tunnel_up,
        times.bgp_up,
        times.tunnel2_up,
        tcp.bytes,
        tcp.elapsed,
        tcp.mbit_per_s(),
    );

    gw.stop();
    let links = slot.ns.exec_ok(&["ip", "-o", "link"]);
    assert!(!links.contains("cgwsim"), "TUN left behind: {links}");
    assert_eq!(kernel_route(&slot.ns, VPC6_PREFIX), "", "route left behind");
}

/// Lines of the mock's records for tunnel `t` (1 or 2) containing `needle`.
fn records_with(v: &View, t: usize, needle: &str) -> usize {
    v.records[t - 1]
        .iter()
        .filter(|r| r.contains(needle))
        .count()
}

fn start_mock(lab: &VpnLab, dir: &TestDir, seed: u8) -> Daemon {
    let slot = lab.ours_aws();
    let log = dir.join("aws-vpn.log");
    let cfg = load_mock(dir, "mock-aws.toml", &mock_toml(&slot, &log));
    Daemon::mock(&slot, cfg, [seed; 32])
}

/// Initiate both tunnels of the real CGW side and wait until strongSwan
/// has them (initiator, our mock's addresses, `any` selectors) and our
/// mock shows them up; returns how long that took.
fn initiate_real_cgw(lab: &VpnLab, mock: &Daemon, any: &str) -> Duration {
    let cgw = lab.real_cgw();
    let t0 = Instant::now();
    for n in [1, 2] {
        if let Err(e) = cgw_peer::initiate(cgw, n) {
            panic!(
                "initiating tunnel {n}: {e}\n{}\n{}",
                mock.describe(),
                lab.failure_context()
            );
        }
    }
    let sas = cgw.wait_tunnels(Duration::from_secs(10));
    mock.wait(
        "both tunnels up",
        Duration::from_secs(10),
        |v| v.tunnels.iter().all(|t| t.up),
        || lab.failure_context(),
    );
    let took = t0.elapsed();
    for (n, sa) in sas.iter().enumerate() {
        check_sa_with_ours("strongSwan CGW", n, sa, AWS_OUTSIDE[n].to_string(), any);
        assert!(sa.initiator, "{sa:#?}");
        assert_eq!(sa.dh_group, "MODP_2048", "{sa:#?}");
    }
    took
}

/// Routes between the real CGW side and our mock: the mock's VPC table
/// and kernel have `onprem` via awssim1 (AWS's path choice) and the mock
/// learned it on both tunnels; the CGW's endpoints have `vpc` (AS path
/// 64512) in their kernel tables, which are returned.
fn check_routes_with_mock(
    lab: &VpnLab,
    mock: &Daemon,
    onprem: &str,
    vpc: &str,
    ctx_all: &dyn Fn() -> String,
) -> Vec<String> {
    mock.wait(
        "VPC route table: on-prem via awssim1",
        Duration::from_secs(10),
        route_via(onprem, "awssim1"),
        || lab.failure_context(),
    );
    let r = kernel_route(&lab.topo.aws, onprem);
    assert!(
        r.contains("dev awssim1"),
        "mock's kernel route: {r:?}\n{}",
        ctx_all()
    );
    check_learned(mock, onprem, ctx_all);
    check_real_side_learned(lab.real_cgw(), vpc, 64512, ctx_all)
}

/// The mock's AWS-format records of a healthy pair: on each tunnel phase
/// 1 and 2 established with the customer gateway's address, NAT-T
/// detected (the CGW is behind a NAT), BGP Established; no diagnosis.
fn check_healthy_records(v: &View) {
    for t in [1, 2] {
        for needle in [
            "AWS tunnel Phase 1 established with cgw: 192.0.2.10",
            "AWS tunnel Phase 2 established with cgw: 192.0.2.10",
            "\"nat_t_detected\":true",
            "\"type\":\"BGPStatus\"",
            "to Established",
        ] {
            assert!(
                records_with(v, t, needle) > 0,
                "tunnel {t}: no record with {needle:?}: {:#?}",
                v.records[t - 1]
            );
        }
    }
    assert!(
        v.diagnoses.is_empty(),
        "diagnoses on a healthy pair: {:#?}",
        v.diagnoses
    );
}

#[test]
fn strongswan_cgw_against_our_mock_tunnels_bgp_traffic_records() {
    preflight();
    let _serial = serial();
    let lab = VpnLab::new(
        CgwPlayer::StrongSwan(RealCgwOptions::default()),
        AwsPlayer::Ours,
    );
    let dir = TestDir::new("interop-ours-mock");
    let mock = start_mock(&lab, &dir, 0x41);
    let cgw = lab.real_cgw();
    let ctx = || lab.failure_context();
    let ctx_all = || format!("{}\n{}", mock.describe(), lab.failure_context());

    let tunnels_up = initiate_real_cgw(&lab, &mock, ANY4);

    let t_bgp = Instant::now();
    for st in cgw.wait_bgp(Duration::from_secs(30)) {
        assert_eq!(st.hold_time, Some(30), "{st:#?}\n{}", ctx_all());
    }
    mock.wait(
        "BGP Established on both",
        Duration::from_secs(10),
        all_up,
        ctx,
    );
    let bgp_up = t_bgp.elapsed();
    cgw.wait_ibgp(Duration::from_secs(15));

    // routes: the mock's VPC table has on-prem via awssim1 (AWS's path
    // choice), the CGW's endpoints and router have the VPC prefix
    check_routes_with_mock(&lab, &mock, ONPREM_PREFIX, VPC_PREFIX, &ctx_all);
    cgw.wait_router_path(VPC_PREFIX, 1, Duration::from_secs(10));

    let tcp = ping_and_tcp(&lab, cgw, 5, 5202, &ctx_all);

    // the mock's AWS-format records; the log file holds the same lines
    let v = mock.view();
    check_healthy_records(&v);
    let log_path = mock.log_path.clone().expect("the mock writes a log file");
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    for r in v.records.iter().flatten() {
        assert!(
            log.contains(r.as_str()),
            "record missing from {}: {r}",
            log_path.display()
        );
    }

    eprintln!(
        "strongSwan CGW vs our mock: both tunnels up {tunnels_up:.2?} after initiate; \
         BGP Established on both {bgp_up:.2?} after the tunnels; \
         TCP {} bytes in {:.2?} ({:.0} Mbit/s); {} AWS records ({} log lines)",
        tcp.bytes,
        tcp.elapsed,
        tcp.mbit_per_s(),
        v.records[0].len() + v.records[1].len(),
        log.lines().count()
    );
    mock.stop();
    let links = lab.topo.aws.exec_ok(&["ip", "-o", "link"]);
    assert!(!links.contains("awssim"), "TUN left behind: {links}");
}

/// strongSwan + BIRD as the customer device against our mock, as an IPv6
/// connection (AWS's `TunnelInsideIpVersion = ipv6` on a transit gateway):
/// ::/0 children, BGP over the inside /126s (IPv6 unicast only), IPv6
/// routes both ways, ping6 and TCP over IPv6 through tunnel 1.
#[test]
fn strongswan_cgw_against_our_mock_over_ipv6_tunnels_bgp_ping6_records() {
    preflight();
    let _serial = serial();
    let lab = VpnLab::new_ipv6(
        CgwPlayer::StrongSwan(RealCgwOptions::default()),
        AwsPlayer::Ours,
    );
    let dir = TestDir::new("interop-ours-mock-v6");
    let mock = start_mock(&lab, &dir, 0x71);
    let cgw = lab.real_cgw();
    let ctx = || lab.failure_context();
    let ctx_all = || format!("{}\n{}", mock.describe(), lab.failure_context());

    let t0 = Instant::now();
    let tunnels_up = initiate_real_cgw(&lab, &mock, ANY6);
    let bgp_wait = check_real_side_ipv6(cgw, &ctx_all);
    let bgp_up = t0.elapsed();
    mock.wait(
        "BGP Established on both",
        Duration::from_secs(10),
        all_up,
        ctx,
    );

    // routes: on-prem in the mock's VPC table and kernel (IPv6, via
    // awssim1), the VPC prefix in each CGW endpoint's kernel table
    let cgw_routes = check_routes_with_mock(&lab, &mock, ONPREM6_PREFIX, VPC6_PREFIX, &ctx_all);

    let tcp = ping_and_tcp(&lab, cgw, 3, 5205, &ctx_all);

    let v = mock.view();
    check_healthy_records(&v);
    eprintln!(
        "strongSwan CGW vs our mock over IPv6: both tunnels (::/0) up {tunnels_up:.2?} after \
         initiate; BGP over IPv6 Established on both {bgp_up:.2?} after initiate ({bgp_wait:.2?} \
         after the tunnels); CGW kernel {cgw_routes:?}; ping6 3/3; TCP over IPv6 {} bytes in \
         {:.2?} ({:.0} Mbit/s); {} AWS records",
        tcp.bytes,
        tcp.elapsed,
        tcp.mbit_per_s(),
        v.records[0].len() + v.records[1].len(),
    );
    mock.stop();
    let links = lab.topo.aws.exec_ok(&["ip", "-o", "link"]);
    assert!(!links.contains("awssim"), "TUN left behind: {links}");
}

/// A strongSwan CGW with tunnel 1 misconfigured against our mock: tunnel 1
/// is refused, the mock diagnoses `code` for tunnel 1 (symptom containing
/// `symptom_has`) and logs `record_has`, tunnel 2 comes up.
fn mock_diagnoses_tunnel_1(
    what: &str,
    opts: RealCgwOptions,
    code: &str,
    symptom_has: &[&str],
    record_has: &str,
) {
    preflight();
    let _serial = serial();
    let lab = VpnLab::new(CgwPlayer::StrongSwan(opts), AwsPlayer::Ours);
    let dir = TestDir::new("interop-ours-mock-bad");
    let mock = start_mock(&lab, &dir, 0x51);
    let cgw = lab.real_cgw();
    let ctx = || lab.failure_context();
    let ctx_all = || format!("{}\n{}", mock.describe(), lab.failure_context());

    let err = cgw_peer::initiate(cgw, 1);
    assert!(err.is_err(), "{what}: tunnel 1 came up\n{}", ctx_all());
    if let Err(e) = cgw_peer::initiate(cgw, 2) {
        panic!("{what}: tunnel 2: {e}\n{}", ctx_all());
    }
    mock.wait(
        &format!("{what}: diagnosis {code} for tunnel 1, tunnel 2 up"),
        Duration::from_secs(15),
        |v| v.tunnels[1].up && v.diagnoses.iter().any(|d| d.0 == 1 && d.1 == code),
        ctx,
    );
    let v = mock.view();
    assert!(
        !v.tunnels[0].up,
        "{what}: tunnel 1 up in the mock\n{}",
        mock.describe()
    );
    assert!(
        v.diagnoses.iter().all(|d| d.0 == 1),
        "{what}: a diagnosis for tunnel 2: {:#?}",
        v.diagnoses
    );
    let d = v
        .diagnoses
        .iter()
        .find(|d| d.0 == 1 && d.1 == code)
        .map(|d| d.2.clone())
        .unwrap_or_default();
    for s in symptom_has {
        assert!(
            d.contains(s),
            "{what}: the diagnosis does not say {s:?}: {d}"
        );
    }
    assert!(
        records_with(&v, 1, record_has) > 0,
        "{what}: tunnel 1's AWS records lack {record_has:?}: {:#?}",
        v.records[0]
    );
    let log =
        std::fs::read_to_string(mock.log_path.clone().unwrap_or_default()).unwrap_or_default();
    assert!(
        log.contains(record_has),
        "{what}: the AWS log file lacks {record_has:?}:\n{log}"
    );
    assert!(
        records_with(&v, 2, "Phase 2 established") > 0,
        "{:#?}",
        v.records[1]
    );
    assert!(cgw
        .endpoint(2)
        .charon
        .list_sas()
        .iter()
        .any(|s| s.state == "ESTABLISHED"));
    eprintln!("{what}: our mock diagnoses tunnel 1 [{code}]: {d}");
    mock.stop();
}

#[test]
fn strongswan_cgw_wrong_dh_group_diagnosed_by_our_mock() {
    assert!(WRONG_DH_IKE_PROPOSAL.ends_with("modp1536"));
    mock_diagnoses_tunnel_1(
        "wrong DH group",
        RealCgwOptions::wrong_dh_group(1),
        "no-proposal-chosen",
        &["NO_PROPOSAL_CHOSEN in phase 1", "offered DH group 5,"],
        "No Proposal Match Found",
    );
}

#[test]
fn strongswan_cgw_wrong_psk_diagnosed_by_our_mock() {
    mock_diagnoses_tunnel_1(
        "wrong PSK",
        RealCgwOptions::wrong_psk(1),
        "authentication-failed",
        &[],
        "pre-shared key mismatch with cgw: 192.0.2.10",
    );
}

/// Let the VPC host answer the tunnels' inside addresses (validate's
/// pings and connects leave from 169.254.x.2): the VPC host routes
/// 169.254.0.0/16 to its router, the router each /30 to its endpoint,
/// where the /30 sits on ipsec0.
fn route_inside_nets_back(lab: &VpnLab) {
    lab.topo.vpc.add_route(
        "169.254.0.0/16",
        "vpc0",
        Some(cgw_sim_tests::vpn_topology::VPC_GW),
    );
    for (ep, net) in lab.real_aws().endpoints.iter().zip(INSIDE_NETS) {
        lab.topo.aws.add_route(
            &format!("{net}/30"),
            &format!("tun{}", ep.number),
            Some(ep.link.link_addr),
        );
    }
}

fn inside_aws(t: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(INSIDE_NETS[t]) + 1)
}

fn run_validate(
    lab: &VpnLab,
    tunnels: [OurTunnelOptions; 2],
    timeout: Duration,
) -> (Verdict, Duration) {
    let slot = lab.ours_cgw();
    let dir = TestDir::new("interop-ours-validate");
    let cfg = load_gateway(
        &dir,
        "gateway.toml",
        &gateway_toml(&slot, &tunnels, timeout),
    );
    let t0 = Instant::now();
    let v = slot
        .ns
        .run_in(|| validate::run(&cfg, [0x61; 32]))
        .unwrap_or_else(|e| panic!("validate could not run: {e}\n{}", lab.failure_context()));
    (v, t0.elapsed())
}

fn passed(c: &Check) -> bool {
    matches!(c, Check::Pass(_))
}

fn tunnel_passed(t: &validate::TunnelVerdict) -> bool {
    [&t.phase1, &t.phase2, &t.routing, &t.routes]
        .into_iter()
        .all(passed)
        && t.ping.iter().chain(t.tcp.iter()).all(|(_, c)| passed(c))
}

#[test]
fn validate_our_cgw_against_strongswan_aws_passes() {
    preflight();
    let _serial = serial();
    let lab = VpnLab::new(CgwPlayer::Ours, AwsPlayer::StrongSwan(Default::default()));
    route_inside_nets_back(&lab);
    // a TCP listener on the VPC host (the connect completes in its backlog)
    let listener = lab
        .topo
        .vpc
        .run_in(|| TcpListener::bind((VPC_HOST, 5203)))
        .expect("listener on the VPC host");
    let tunnels = [0, 1].map(|t| OurTunnelOptions {
        ping: vec![inside_aws(t), VPC_HOST],
        tcp: vec![SocketAddr::from((VPC_HOST, 5203))],
        ..Default::default()
    });
    let (v, took) = run_validate(&lab, tunnels, Duration::from_secs(45));
    drop(listener);
    assert!(v.passed, "validate failed:\n{v}\n{}", lab.failure_context());
    for t in &v.tunnels {
        assert!(tunnel_passed(t), "tunnel {}:\n{v}", t.tunnel);
        assert_eq!(t.ping.len(), 2, "{v}");
        assert_eq!(t.tcp.len(), 1, "{v}");
        assert!(t.code.is_none(), "{v}");
    }
    // strongSwan saw both tunnels and answered the pings through each
    for n in [1, 2] {
        let log = lab.real_aws().endpoint(n).charon.log();
        assert!(
            log.contains("established between"),
            "AWS tunnel {n} charon.log:\n{log}"
        );
    }
    let links = lab.topo.cgw.exec_ok(&["ip", "-o", "link"]);
    assert!(!links.contains("cgwsim"), "validate left a TUN: {links}");
    eprintln!(
        "validate against strongSwan AWS: PASS in {took:.1?} (verdict {:.1} s)\n{v}",
        v.elapsed_s
    );
}

/// A failing verdict: tunnel 1 fails with `code`, tunnel 2 passes.
fn check_failing(v: &Verdict, code: &str, ctx: &str) {
    assert!(!v.passed, "validate passed:\n{v}");
    let (t1, t2) = (&v.tunnels[0], &v.tunnels[1]);
    assert!(tunnel_passed(t2), "tunnel 2 did not pass:\n{v}\n{ctx}");
    assert!(t2.code.is_none(), "{v}");
    assert!(matches!(t1.phase1, Check::Fail(_)), "{v}");
    assert_eq!(
        t1.code.as_deref(),
        Some(code),
        "tunnel 1's code:\n{v}\n{ctx}"
    );
    assert!(t1.diagnosis.is_some(), "{v}");
}

#[test]
fn validate_names_a_dh_group_strongswan_aws_does_not_accept() {
    preflight();
    let _serial = serial();
    // AWS (strongSwan) accepts only group 15 in phase 1: tunnel 1 offers
    // only 14 (NO_PROPOSAL_CHOSEN), tunnel 2 offers 14 then 15 (AWS asks for
    // 15 with INVALID_KE_PAYLOAD, the retry succeeds)
    let aws = RealAwsOptions {
        ike_proposals: "aes128-sha256-modp3072".into(),
        ..Default::default()
    };
    let lab = VpnLab::new(CgwPlayer::Ours, AwsPlayer::StrongSwan(aws));
    let tunnels = [
        OurTunnelOptions {
            dh_groups: Some(vec![14]),
            ping: vec![inside_aws(0)],
            ..Default::default()
        },
        OurTunnelOptions {
            dh_groups: Some(vec![14, 15]),
            ping: vec![inside_aws(1)],
            ..Default::default()
        },
    ];
    let (v, took) = run_validate(&lab, tunnels, Duration::from_secs(20));
    check_failing(&v, "no-proposal-chosen", &lab.failure_context());
    let a_log = lab.real_aws().endpoint(1).charon.log();
    assert!(
        a_log.contains("N(NO_PROP)"),
        "AWS tunnel 1 did not refuse: {a_log}"
    );
    let d = v.tunnels[0].diagnosis.clone().unwrap_or_default();
    assert!(
        d.contains("DH group 14"),
        "the diagnosis does not name the group offered:\n{v}"
    );
    // tunnel 2 came up on group 15 after AWS's INVALID_KE_PAYLOAD
    let a_log = lab.real_aws().endpoint(2).charon.log();
    for s in [
        "N(INVAL_KE)",
        "selected proposal: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072",
    ] {
        assert!(
            a_log.contains(s),
            "AWS tunnel 2's charon.log lacks {s:?}:\n{a_log}"
        );
    }
    eprintln!("validate, DH group not accepted by AWS: FAIL as expected in {took:.1?}\n{v}");
}

#[test]
fn validate_names_a_wrong_psk_against_strongswan_aws() {
    preflight();
    let _serial = serial();
    let lab = VpnLab::new(CgwPlayer::Ours, AwsPlayer::StrongSwan(Default::default()));
    let tunnels = [
        OurTunnelOptions {
            psk: Some(cgw_peer::WRONG_PSK.into()),
            ping: vec![inside_aws(0)],
            ..Default::default()
        },
        OurTunnelOptions {
            ping: vec![inside_aws(1)],
            ..Default::default()
        },
    ];
    let (v, took) = run_validate(&lab, tunnels, Duration::from_secs(20));
    check_failing(&v, "authentication-failed", &lab.failure_context());
    let a_log = lab.real_aws().endpoint(1).charon.log();
    assert!(
        a_log.contains("N(AUTH_FAILED)"),
        "AWS tunnel 1 did not refuse: {a_log}"
    );
    eprintln!("validate, wrong PSK: FAIL as expected in {took:.1?}\n{v}");
}
