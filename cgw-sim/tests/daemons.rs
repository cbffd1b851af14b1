//! Our customer gateway daemon (`cgw-sim run`'s) against our AWS mock
//! daemon (`cgw-sim mock-aws`'s), each in its own network namespace on
//! real sockets and TUN devices: both tunnels up, BGP established on both
//! over the kernel's TCP, routes in both kernels' tables (the VPC CIDR
//! towards tunnel 1 on the CGW, the on-prem prefix towards tunnel 1 in the
//! mock's "VPC"), a kernel ping between the two LANs, and a clean stop that
//! leaves no route and no TUN device. Needs root.
#![cfg(target_os = "linux")]

#[path = "common/namespaces.rs"]
mod namespaces;
#[path = "common/sla.rs"]
mod sla_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use cgw_sim::config::{GatewayConfig, MockConfig};
use cgw_sim::daemon::{cgw, mock, validate, view::View};

const GATEWAY: &str = r#"
[gateway]
local_address = "192.0.2.10"
routing = "bgp"
[gateway.tunnel1]
aws_address = "198.51.100.10"
inside_cidr = "169.254.10.0/30"
[gateway.tunnel2]
aws_address = "198.51.100.20"
inside_cidr = "169.254.20.0/30"
[cgw.bgp]
asn = 65000
announce = ["198.18.0.0/24"]
[cgw.tunnel1.ike]
psk = "tunnel1_key.1234"
[cgw.tunnel2.ike]
psk = "tunnel2_key.5678"
"#;

const MOCK: &str = r#"
[mock]
cgw_address = "192.0.2.10"
vpc_cidrs = ["198.19.0.0/16"]
[mock.tunnel1]
listen = "198.51.100.10"
[mock.tunnel2]
listen = "198.51.100.20"
[aws]
asn = 64512
[aws.tunnel1]
inside_cidr = "169.254.10.0/30"
psk = "tunnel1_key.1234"
[aws.tunnel2]
inside_cidr = "169.254.20.0/30"
psk = "tunnel2_key.5678"
"#;

fn wait_for(
    what: &str,
    limit: Duration,
    mut ok: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within {limit:?}\n{}", context());
}

/// Both tunnels up and BGP established on both, on both sides.
fn both_up_with_bgp(g: &View, a: &View) -> bool {
    (0..2).all(|t| {
        g.tunnels[t].up
            && a.tunnels[t].up
            && g.tunnels[t].bgp_since.is_some()
            && a.tunnels[t].bgp_since.is_some()
    })
}

fn routes_of(v: &View) -> Vec<String> {
    v.routes
        .iter()
        .map(|(p, d)| format!("{}/{} {d}", p.addr, p.len))
        .collect()
}

#[test]
fn our_cgw_and_our_mock_bring_up_both_tunnels_bgp_and_routes_on_kernel_networking() {
    namespaces::require_root();
    let dir = namespaces::temp_dir("daemons-bgp");
    std::fs::write(dir.join("gw.toml"), GATEWAY).unwrap();
    let mock = MOCK.replace(
        "[mock]\n",
        &format!("[mock]\nlog_path = {:?}\n", dir.join("aws.log")),
    );
    std::fs::write(dir.join("mock.toml"), mock).unwrap();
    let gcfg = GatewayConfig::load(dir.join("gw.toml")).unwrap();
    let mcfg = MockConfig::load(dir.join("mock.toml")).unwrap();
    let (cns, ans) = namespaces::cgw_and_aws();
    let aws = mock::spawn(&ans, mcfg, [7; 32]).unwrap();
    let gw = cgw::spawn(&cns, gcfg, [9; 32]).unwrap();
    let started = Instant::now();
    let ctx = || format!("cgw: {:#?}\naws: {:#?}", gw.view(), aws.view());
    wait_for(
        "both tunnels up and BGP established on both, both sides",
        Duration::from_secs(30),
        || both_up_with_bgp(&gw.view(), &aws.view()),
        ctx,
    );
    let up = started.elapsed();
    wait_for(
        "routes installed on both sides",
        Duration::from_secs(10),
        || {
            routes_of(&gw.view()) == ["198.19.0.0/16 cgwsim1"]
                && routes_of(&aws.view()) == ["198.18.0.0/24 awssim1"]
        },
        ctx,
    );
    eprintln!("tunnels and BGP up in {up:?}");
    let g = gw.view();
    for t in 0..2 {
        assert_eq!(g.tunnels[t].learned.len(), 1, "{:#?}", g.tunnels[t]);
        // AWS's table: 1400 MTU before, the negotiated suite's after.
        assert!(
            g.tunnels[t].mtu < 1500 && g.tunnels[t].mtu > 1300,
            "{}",
            g.tunnels[t].mtu
        );
    }
    // The kernel's routes say the same.
    let kr = cns.routes().unwrap();
    assert!(
        kr.iter().any(|r| r.dest == Ipv4Addr::new(198, 19, 0, 0)
            && r.prefix_len == 16
            && r.dev.as_deref() == Some("cgwsim1")),
        "{kr:?}"
    );
    // A kernel ping from the on-prem address to the VPC address crosses
    // the tunnel both ways (the mock's kernel routes the answer back).
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            cns.name(),
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
        ])
        .args(["-I", "198.18.0.10", "198.19.0.10"])
        .output()
        .expect("ping runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 received"), "{text}\n{}", ctx());
    let a = aws.view();
    assert!(
        a.records[0].iter().any(|r| r.contains("\"phase2\"")
            || r.contains("ESTABLISHED")
            || r.contains("established")),
        "AWS log records of tunnel 1: {:#?}",
        a.records[0]
    );
    gw.stop().unwrap();
    aws.stop().unwrap();
    let links = cns.links().unwrap();
    assert!(
        !links.iter().any(|l| l.name.starts_with("cgwsim")),
        "{links:?}"
    );
    let kr = cns.routes().unwrap();
    assert!(
        !kr.iter().any(|r| r.dest == Ipv4Addr::new(198, 19, 0, 0)),
        "{kr:?}"
    );
    let log = std::fs::read_to_string(dir.join("aws.log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(log.lines().count() >= 2, "the mock's AWS log: {log}");
}

#[test]
fn static_routing_on_both_sides_routes_through_tunnel_1_and_pings_cross() {
    namespaces::require_root();
    let dir = namespaces::temp_dir("daemons-static");
    let gw = GATEWAY
        .replace("routing = \"bgp\"", "routing = \"static\"")
        .replace(
            "[cgw.bgp]\nasn = 65000\nannounce = [\"198.18.0.0/24\"]\n",
            "[cgw]\nstatic_routes = [\"198.19.0.0/16\"]\n",
        );
    std::fs::write(dir.join("gw.toml"), gw).unwrap();
    let mock = MOCK.replace(
        "[aws]\nasn = 64512\n",
        "[aws]\nrouting = \"static\"\nstatic_routes = [\"198.18.0.0/24\"]\n",
    );
    std::fs::write(dir.join("mock.toml"), mock).unwrap();
    let gcfg = GatewayConfig::load(dir.join("gw.toml")).unwrap();
    let mcfg = MockConfig::load(dir.join("mock.toml")).unwrap();
    let (cns, ans) = namespaces::cgw_and_aws();
    let aws = mock::spawn(&ans, mcfg, [3; 32]).unwrap();
    let gw = cgw::spawn(&cns, gcfg, [4; 32]).unwrap();
    let ctx = || format!("cgw: {:#?}\naws: {:#?}", gw.view(), aws.view());
    wait_for(
        "both tunnels up and the static routes through tunnel 1 on both sides",
        Duration::from_secs(30),
        || {
            let (g, a) = (gw.view(), aws.view());
            (0..2).all(|t| g.tunnels[t].up && a.tunnels[t].up)
                && routes_of(&g) == ["198.19.0.0/16 cgwsim1"]
                && routes_of(&a) == ["198.18.0.0/24 awssim1"]
        },
        ctx,
    );
    // No BGP at all.
    assert!(
        gw.view().tunnels.iter().all(|t| t.bgp.is_none()),
        "{}",
        ctx()
    );
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            cns.name(),
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
        ])
        .args(["-I", "198.18.0.10", "198.19.0.10"])
        .output()
        .expect("ping runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 received"), "{text}\n{}", ctx());
    gw.stop().unwrap();
    aws.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The BGP test's configurations as an IPv6 connection (AWS's
/// `TunnelInsideIpVersion = ipv6`): an inside /126 per tunnel, IPv6
/// prefixes both ways.
fn ipv6_configs(dir: &std::path::Path) -> (GatewayConfig, MockConfig) {
    let gw = GATEWAY
        .replace(
            "inside_cidr = \"169.254.10.0/30\"\n",
            "inside_cidr = \"169.254.10.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:10::/126\"\n",
        )
        .replace(
            "inside_cidr = \"169.254.20.0/30\"\n",
            "inside_cidr = \"169.254.20.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:20::/126\"\n",
        )
        .replace(
            "announce = [\"198.18.0.0/24\"]",
            "announce = [\"fd00:198:18::/48\"]",
        )
        .replace(
            "[gateway.tunnel1]\n",
            "[gateway.tunnel1]\nvalidate = { ping = [\"fd00:198:19::10\"] }\n",
        );
    let mock = MOCK
        .replace("vpc_cidrs = [\"198.19.0.0/16\"]", "vpc_cidrs = [\"fd00:198:19::/48\"]")
        .replace("[aws]\nasn = 64512\n", "[aws]\nasn = 64512\ngateway = \"tgw\"\n")
        .replace(
            "[aws.tunnel1]\ninside_cidr = \"169.254.10.0/30\"\n",
            "[aws.tunnel1]\ninside_cidr = \"169.254.10.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:10::/126\"\n",
        )
        .replace(
            "[aws.tunnel2]\ninside_cidr = \"169.254.20.0/30\"\n",
            "[aws.tunnel2]\ninside_cidr = \"169.254.20.0/30\"\ninside_ipv6_cidr = \"fd00:a9fe:20::/126\"\n",
        );
    std::fs::write(dir.join("gw.toml"), &gw).unwrap();
    std::fs::write(dir.join("mock.toml"), &mock).unwrap();
    (
        GatewayConfig::load(dir.join("gw.toml")).unwrap(),
        MockConfig::load(dir.join("mock.toml")).unwrap(),
    )
}

#[test]
fn ipv6_inside_tunnels_carry_bgp_over_ipv6_routes_and_ping6_and_validate_passes() {
    namespaces::require_root();
    let dir = namespaces::temp_dir("daemons-ipv6");
    let (gcfg, mcfg) = ipv6_configs(&dir);
    assert!(gcfg.tunnels.iter().all(|t| t.inside_ipv6_cidr.is_some()));
    let (cns, ans) = namespaces::cgw_and_aws();
    // The two LANs' IPv6 addresses (fd00::/8, the lab's IPv6 range).
    let onprem6: Ipv6Addr = "fd00:198:18::10".parse().unwrap();
    let vpc6: Ipv6Addr = "fd00:198:19::10".parse().unwrap();
    for (ns, a) in [(&cns, onprem6), (&ans, vpc6)] {
        ns.enable_ipv6("lo").unwrap();
        ns.add_address("lo", a, 128).unwrap();
    }
    let aws = mock::spawn(&ans, mcfg, [5; 32]).unwrap();
    let gw = cgw::spawn(&cns, gcfg.clone(), [6; 32]).unwrap();
    let ctx = || format!("cgw: {:#?}\naws: {:#?}", gw.view(), aws.view());
    wait_for(
        "both tunnels up with ::/0 selectors and BGP over IPv6 established on both",
        Duration::from_secs(30),
        || both_up_with_bgp(&gw.view(), &aws.view()),
        ctx,
    );
    wait_for(
        "IPv6 routes installed on both sides",
        Duration::from_secs(10),
        || {
            routes_of(&gw.view()) == ["fd00:198:19::/48 cgwsim1"]
                && routes_of(&aws.view()) == ["fd00:198:18::/48 awssim1"]
        },
        ctx,
    );
    let g = gw.view();
    for t in 0..2 {
        assert_eq!(
            g.tunnels[t]
                .learned
                .iter()
                .map(|p| p.addr)
                .collect::<Vec<_>>(),
            vec![IpAddr::V6("fd00:198:19::".parse().unwrap())],
            "{:#?}",
            g.tunnels[t]
        );
    }
    // The TUN holds the /126's second address; the kernel's IPv6 route
    // points into tunnel 1.
    let addrs = cns.addresses().unwrap();
    assert!(
        addrs.iter().any(|a| a.dev == "cgwsim1"
            && a.addr == IpAddr::V6("fd00:a9fe:10::2".parse().unwrap())
            && a.prefix_len == 126),
        "{addrs:?}"
    );
    let kr = cns.routes().unwrap();
    assert!(
        kr.iter()
            .any(|r| r.dest == IpAddr::V6("fd00:198:19::".parse().unwrap())
                && r.prefix_len == 48
                && r.dev.as_deref() == Some("cgwsim1")),
        "{kr:?}"
    );
    // The kernel's ping6 from the on-prem address to the VPC address
    // crosses the tunnel as IPv6-in-ESP and back.
    let out = Command::new("ip")
        .args(["netns", "exec", cns.name(), "ping", "-6", "-c", "3"])
        .args(["-i", "0.2", "-W", "2", "-I"])
        .args([onprem6.to_string(), vpc6.to_string()])
        .output()
        .expect("ping runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3 received"),
        "{text}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        ctx()
    );
    // Nothing IPv4 is routed into the tunnels: they carry IPv6 only.
    let g = gw.view();
    assert!(
        g.routes.iter().all(|(p, _)| p.addr.is_ipv6()),
        "{:?}",
        g.routes
    );
    gw.stop().unwrap();
    let kr = cns.routes().unwrap();
    assert!(
        !kr.iter()
            .any(|r| r.dest == IpAddr::V6("fd00:198:19::".parse().unwrap())),
        "IPv6 route withdrawn at exit: {kr:?}"
    );
    // `validate` against the same mock: an ICMPv6 echo through tunnel 1.
    let verdict = cns
        .run(move || validate::run(&gcfg, [8; 32]))
        .unwrap()
        .unwrap();
    let json = validate::to_json(&verdict);
    assert!(verdict.passed, "{json}");
    assert!(json.contains("fd00:198:19::10"), "{json}");
    eprintln!("validate over IPv6: {json}");
    aws.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `run`'s keepalive keeps a tunnel with an idle timeout up: with static
/// routing and no traffic, a 4 s idle timeout drops both tunnels when the
/// keepalive is off, and none when it pings each tunnel every second.
#[test]
fn keepalive_keeps_idle_tunnels_up_and_off_lets_them_idle_out() {
    namespaces::require_root();
    let dir = namespaces::temp_dir("daemons-keepalive");
    let gw = |keepalive: &str| {
        GATEWAY
            .replace(
                "routing = \"bgp\"",
                &format!("routing = \"static\"\nkeepalive = \"{keepalive}\""),
            )
            .replace(
                "[cgw.bgp]\nasn = 65000\nannounce = [\"198.18.0.0/24\"]\n",
                "[cgw]\nstatic_routes = [\"198.19.0.0/16\"]\n",
            )
            .replace(
                "[cgw.tunnel1.ike]\n",
                "[cgw.tunnel1.ike]\nidle_timeout = \"4s\"\n",
            )
            .replace(
                "[cgw.tunnel2.ike]\n",
                "[cgw.tunnel2.ike]\nidle_timeout = \"4s\"\n",
            )
    };
    let mock = MOCK.replace(
        "[aws]\nasn = 64512\n",
        "[aws]\nrouting = \"static\"\nstatic_routes = [\"198.18.0.0/24\"]\n",
    );
    std::fs::write(dir.join("mock.toml"), mock).unwrap();
    for (keepalive, stays_up) in [("1s", true), ("off", false)] {
        std::fs::write(dir.join("gw.toml"), gw(keepalive)).unwrap();
        let gcfg = GatewayConfig::load(dir.join("gw.toml")).unwrap();
        let mcfg = MockConfig::load(dir.join("mock.toml")).unwrap();
        let (cns, ans) = namespaces::cgw_and_aws();
        let aws = mock::spawn(&ans, mcfg, [1; 32]).unwrap();
        let gw = cgw::spawn(&cns, gcfg, [2; 32]).unwrap();
        let ctx = || format!("cgw: {:#?}", gw.view());
        wait_for(
            "both tunnels up",
            Duration::from_secs(20),
            || gw.view().tunnels.iter().all(|t| t.up),
            ctx,
        );
        // Three idle timeouts later.
        std::thread::sleep(Duration::from_secs(12));
        let v = gw.view();
        for t in &v.tunnels {
            if stays_up {
                assert!(t.up && t.established == 1, "keepalive {keepalive}: {t:#?}");
            } else {
                assert!(
                    matches!(
                        t.last_failure,
                        Some(cgw_sim::node::DownCause::IdleTimeout { .. })
                    ),
                    "keepalive {keepalive}: {t:#?}"
                );
            }
        }
        gw.stop().unwrap();
        aws.stop().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The SLA daemon's operations for [`sla_daemon_on_a_lan_host_behind_the_gateway_sees_each_tunnel`]:
/// each tunnel pinned by its target, AWS's inside address, which the
/// gateway reaches only through that tunnel (the /30 is connected on its
/// TUN); and a udp-jitter to the VPC host, routed as BGP says.
const LAN_SLA_OPS: &str = r#"
[[sla.operation]]
name = "tunnel1"
type = "icmp-echo"
target = "169.254.10.1"
tunnel = 1
frequency = "1s"
timeout = "500ms"
track = { type = "reachability", delay_down = "1s" }

[[sla.operation]]
name = "tunnel2"
type = "icmp-echo"
target = "169.254.20.1"
tunnel = 2
frequency = "1s"
timeout = "500ms"
track = { type = "reachability", delay_down = "1s" }

[[sla.operation.reaction]]
name = "tunnel2-down"
on = "timeout"
type = "consecutive"
n = 2
raise = 0.5

[[sla.operation]]
name = "vpc-voice"
type = "udp-jitter"
target = "198.19.0.10"
port = 5000
frequency = "1s"
timeout = "500ms"
packets = 10
interval = "20ms"
codec = "g711ulaw"
"#;

/// The SLA daemon's `/metrics` inside `ns`.
fn sla_gauges(ns: &lab::kernel::Netns) -> String {
    ns.run(sla_common::scrape).unwrap()
}

/// The value of `metric`'s sample for `operation` in a scrape.
fn gauge(metrics: &str, metric: &str, operation: &str) -> Option<f64> {
    let head = format!("{metric}{{operation=\"{operation}\",");
    metrics
        .lines()
        .find(|l| l.starts_with(&head))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Issue 7's "done": `cgw-sim sla` on a host in the on-prem LAN behind the
/// gateway (our `run`, against our mock) shows each tunnel's health on
/// `/metrics`; when tunnel 2's path is cut, tunnel 2's track goes down
/// and its reaction fires while tunnel 1 and the VPC voice probe stay
/// healthy.
#[test]
fn sla_daemon_on_a_lan_host_behind_the_gateway_sees_each_tunnel() {
    use lab::kernel::{Netns, Route, RouteVia};
    namespaces::require_root();
    let dir = namespaces::temp_dir("daemons-lan-sla");
    // AWS sends the on-prem prefix back through tunnel 1 (its path
    // choice); cutting tunnel 2 leaves that return path alone.
    std::fs::write(dir.join("gw.toml"), GATEWAY).unwrap();
    std::fs::write(dir.join("mock.toml"), MOCK).unwrap();
    let gcfg = GatewayConfig::load(dir.join("gw.toml")).unwrap();
    let mcfg = MockConfig::load(dir.join("mock.toml")).unwrap();
    let (cns, ans) = namespaces::cgw_and_aws();
    // The LAN: 198.18.0.64/28 between the gateway (.65, forwarding) and
    // a host (.66) whose routes to the inside addresses and the VPC go
    // through the gateway.
    let lan = Netns::new().unwrap();
    cns.add_veth("lan0", "eth0", &lan).unwrap();
    cns.add_address("lan0", Ipv4Addr::new(198, 18, 0, 65), 28)
        .unwrap();
    cns.link_up("lan0").unwrap();
    lan.add_address("eth0", Ipv4Addr::new(198, 18, 0, 66), 28)
        .unwrap();
    lan.link_up("eth0").unwrap();
    for (dest, len) in [
        (Ipv4Addr::new(169, 254, 0, 0), 16),
        (Ipv4Addr::new(198, 19, 0, 0), 16),
    ] {
        lan.add_route(&Route {
            dest: dest.into(),
            prefix_len: len,
            via: RouteVia::Gateway(Ipv4Addr::new(198, 18, 0, 65)),
        })
        .unwrap();
    }
    cns.run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "1"))
        .unwrap()
        .unwrap();

    let aws = mock::spawn(&ans, mcfg, [5; 32]).unwrap();
    let gw = cgw::spawn(&cns, gcfg, [6; 32]).unwrap();
    let ctx = || format!("cgw: {:#?}\naws: {:#?}", gw.view(), aws.view());
    wait_for(
        "both tunnels, BGP and the on-prem route at AWS",
        Duration::from_secs(30),
        || {
            both_up_with_bgp(&gw.view(), &aws.view())
                && routes_of(&aws.view()) == ["198.18.0.0/24 awssim1"]
        },
        ctx,
    );

    // The responder in the VPC, bound before the first probe.
    let resp = sla_common::Responder::start(&ans, "198.19.0.10:5000".parse().unwrap());
    let sla = sla_common::Daemon::start(&lan, &dir, LAN_SLA_OPS);

    // Healthy: every operation up, nothing lost.
    std::thread::sleep(Duration::from_millis(3500));
    let m = sla_gauges(&lan);
    for op in ["tunnel1", "tunnel2", "vpc-voice"] {
        assert_eq!(gauge(&m, "cgwsim_sla_track_up", op), Some(1.0), "{op}\n{m}");
        assert_eq!(
            gauge(&m, "cgwsim_sla_loss_percent", op),
            Some(0.0),
            "{op}\n{m}"
        );
    }
    assert!(m.contains("cgwsim_sla_track_up{operation=\"tunnel2\",type=\"icmp-echo\",target=\"169.254.20.1\",tunnel=\"2\"} 1"), "{m}");
    let mos = gauge(&m, "cgwsim_sla_mos", "vpc-voice").unwrap();
    assert!(mos > 4.0, "G.711 on a clean path: MOS {mos}");

    // Tunnel 2's outside path cut (ESP and IKE to AWS's second endpoint).
    let nft = cns
        .run(|| {
            Command::new("nft")
                .args(["-f", "-"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(
                        b"table ip cut {\n chain out {\n  type filter hook output priority 0;\n  ip daddr 198.51.100.20 drop\n }\n}\n",
                    )?;
                    c.wait()
                })
        })
        .unwrap()
        .unwrap();
    assert!(nft.success(), "nft refused the cut");
    let cut = Instant::now();
    let mut m = String::new();
    while cut.elapsed() < Duration::from_secs(8) {
        m = sla_gauges(&lan);
        if gauge(&m, "cgwsim_sla_track_up", "tunnel2") == Some(0.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let down_after = cut.elapsed();
    assert_eq!(
        gauge(&m, "cgwsim_sla_track_up", "tunnel2"),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        gauge(&m, "cgwsim_sla_track_up", "tunnel1"),
        Some(1.0),
        "{m}"
    );
    // The per-tunnel summaries say the same.
    assert!(m.contains("cgwsim_sla_tunnel_up{tunnel=\"1\"} 1\n"), "{m}");
    assert!(m.contains("cgwsim_sla_tunnel_up{tunnel=\"2\"} 0\n"), "{m}");
    assert_eq!(
        gauge(&m, "cgwsim_sla_track_up", "vpc-voice"),
        Some(1.0),
        "{m}"
    );
    assert!(m.contains("cgwsim_sla_return_code{operation=\"tunnel2\",type=\"icmp-echo\",target=\"169.254.20.1\",tunnel=\"2\",code=\"Timeout\"} 1"), "{m}");
    // Not before its first lost probe has timed out and the 1 s delay run.
    assert!(down_after >= Duration::from_millis(1500), "{down_after:?}");
    println!("LAN SLA daemon: tunnel 2's track down {down_after:?} after its path was cut");

    sla.stop();
    assert!(resp.stop().answered > 0);
    let events = sla_common::events(&dir);
    assert!(
        events.iter().any(|e| e["event"] == "reaction"
            && e["operation"] == "tunnel2"
            && e["reaction"] == "tunnel2-down"
            && e["state"] == "raised"),
        "{events:#?}"
    );
    // Tunnel 1's track went up once (from its initial unknown) and never
    // down; tunnel 2's went up, then down.
    let tracks = |op: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["event"] == "track" && e["operation"] == op)
            .map(|e| e["to"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(tracks("tunnel1"), ["up"], "{events:#?}");
    assert_eq!(tracks("tunnel2"), ["up", "down"], "{events:#?}");
    gw.stop().unwrap();
    aws.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
