//! The OS driver on kernel networking: our CGW and our AWS-side gateway,
//! each in its own network namespace with a TUN device per tunnel, real
//! UDP sockets and a raw ESP socket, joined by a veth. The kernel's `ping` in the CGW namespace
//! reaches AWS's inside address through our IKE and ESP, and the kernel on
//! the AWS side answers. Needs root (CI runs as root); without it the test
//! fails saying so.
#![cfg(target_os = "linux")]

mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use cgw_sim::node::TunnelId;
use cgw_sim::os::driver::run_for;
use lab::kernel::{Netns, Route, RouteVia, TunConfig};

const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const AWS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const CGW_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
const AWS_INSIDE: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);

#[test]
fn kernel_ping_crosses_our_tunnel_with_esp_in_udp_4500() {
    ping_through(true);
}

#[test]
fn kernel_ping_crosses_our_tunnel_with_raw_esp() {
    ping_through(false);
}

/// Both gateways in their namespaces, a kernel ping through the tunnel;
/// `encapsulate`: ESP in UDP 4500, else raw IP protocol 50.
fn ping_through(encapsulate: bool) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test creates network namespaces and TUN devices and needs root (CI runs as root)"
    );
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    a.add_veth("cgw0", "aws0", &b).unwrap();
    a.add_address("cgw0", CGW, 24).unwrap();
    a.link_up("cgw0").unwrap();
    b.add_address("aws0", AWS, 24).unwrap();
    b.link_up("aws0").unwrap();
    a.add_route(&Route {
        dest: Ipv4Addr::new(198, 51, 100, 0).into(),
        prefix_len: 24,
        via: RouteVia::Device("cgw0".into()),
    })
    .unwrap();
    b.add_route(&Route {
        dest: Ipv4Addr::new(192, 0, 2, 0).into(),
        prefix_len: 24,
        via: RouteVia::Device("aws0".into()),
    })
    .unwrap();
    let tun = |ns: &Netns, name: &str, addr| {
        ns.open_tun(&TunConfig {
            name: name.into(),
            addr,
            prefix_len: 30,
            mtu: 1400,
            addr6: None,
        })
        .unwrap()
    };
    let tun_a = tun(&a, "cgwsim1", CGW_INSIDE);
    let tun_b = tun(&b, "awssim1", AWS_INSIDE);
    let cgw = common::tunnel_gateway(CGW, AWS, (CGW_INSIDE, AWS_INSIDE), false, encapsulate);
    let aws = common::tunnel_gateway(AWS, CGW, (AWS_INSIDE, CGW_INSIDE), true, encapsulate);
    let run = Duration::from_secs(8);
    let (cgw_done, aws_done, ping) = std::thread::scope(|s| {
        let ta = s.spawn(|| {
            a.run(move || {
                run_for(cgw, CGW, vec![tun_a], run, |g, now| {
                    g.initiate(TunnelId(0), now);
                })
            })
        });
        let tb = s.spawn(|| b.run(move || run_for(aws, AWS, vec![tun_b], run, |_, _| {})));
        let tp = s.spawn(|| {
            std::thread::sleep(Duration::from_secs(2));
            a.run(|| {
                Command::new("ping")
                    // Until 3 replies, for at most 5 s: under load the tunnel may
                    // come up after the first request.
                    .args(["-c", "3", "-i", "0.3", "-w", "5", "-n"])
                    .arg(AWS_INSIDE.to_string())
                    .output()
            })
        });
        (
            ta.join().unwrap().unwrap(),
            tb.join().unwrap().unwrap(),
            tp.join().unwrap().unwrap(),
        )
    });
    let (cgw, cgw_stats) = cgw_done.expect("CGW driver");
    let (aws, aws_stats) = aws_done.expect("AWS driver");
    let ping = ping.expect("running ping");
    let out = String::from_utf8_lossy(&ping.stdout);
    assert!(cgw.is_up(TunnelId(0)), "CGW tunnel down: {cgw_stats:?}");
    assert!(aws.is_up(TunnelId(0)), "AWS tunnel down: {aws_stats:?}");
    assert!(
        out.contains(" 3 received"),
        "ping through the tunnel:\n{out}\nCGW {cgw_stats:?} {:?}\nAWS {aws_stats:?} {:?}",
        cgw.stats(),
        aws.stats()
    );
    // The pings went through ESP both ways, and the AWS side's kernel
    // answered them from its TUN.
    assert!(
        cgw_stats.tun_in >= 3 && cgw_stats.tun_out >= 3,
        "{cgw_stats:?}"
    );
    assert!(
        aws_stats.tun_in >= 3 && aws_stats.tun_out >= 3,
        "{aws_stats:?}"
    );
    assert!(cgw.stats().decapsulated >= 3, "{:?}", cgw.stats());
    if encapsulate {
        assert!(cgw.stats().esp_udp_sent >= 3, "{:?}", cgw.stats());
        assert_eq!((cgw_stats.esp_out, cgw_stats.esp_in), (0, 0));
    } else {
        assert!(cgw.stats().esp_raw_sent >= 3, "{:?}", cgw.stats());
        assert!(
            cgw_stats.esp_out >= 3 && cgw_stats.esp_in >= 3,
            "{cgw_stats:?}"
        );
        assert!(
            aws_stats.esp_out >= 3 && aws_stats.esp_in >= 3,
            "{aws_stats:?}"
        );
    }
}
