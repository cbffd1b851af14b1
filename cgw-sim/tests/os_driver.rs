//! The OS driver on kernel networking: our CGW and our AWS-side gateway,
//! each in its own network namespace with a TUN device per tunnel, real
//! UDP sockets and a raw ESP socket, joined by a veth. The kernel's `ping` in the CGW namespace
//! reaches AWS's inside address through our IKE and ESP, and the kernel on
//! the AWS side answers. Needs root (CI runs as root); without it the test
//! fails saying so.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use cgw_sim::node::TunnelId;
use cgw_sim::os::driver::run_for;
use lab::kernel::{Netns, Route, RouteVia, Tun, TunConfig};

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

/// The two gateways' namespaces joined by a veth, each with its TUN device
/// (`offload`: opened with offload).
fn namespaces(offload: bool) -> (Netns, Netns, Tun, Tun) {
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
        let config = TunConfig {
            name: name.into(),
            addr,
            prefix_len: 30,
            mtu: 1400,
            addr6: None,
        };
        if offload {
            ns.open_tun_offload(&config).unwrap()
        } else {
            ns.open_tun(&config).unwrap()
        }
    };
    let tun_a = tun(&a, "cgwsim1", CGW_INSIDE);
    let tun_b = tun(&b, "awssim1", AWS_INSIDE);
    (a, b, tun_a, tun_b)
}

/// Bytes of the TCP transfer: enough for the kernel to hand the TUN
/// super-packets.
const TRANSFER: usize = 8 << 20;

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

#[test]
fn kernel_tcp_crosses_our_tunnel_with_tun_offload() {
    let (a, b, tun_a, tun_b) = namespaces(true);
    assert!(
        tun_a.offload() && tun_b.offload(),
        "the kernel refused TUN offload"
    );
    let cgw = common::tunnel_gateway(CGW, AWS, (CGW_INSIDE, AWS_INSIDE), false, true);
    let aws = common::tunnel_gateway(AWS, CGW, (AWS_INSIDE, CGW_INSIDE), true, true);
    let run = Duration::from_secs(10);
    let listener = b
        .run(|| TcpListener::bind((AWS_INSIDE, 5001)))
        .unwrap()
        .unwrap();
    let (cgw_done, aws_done, received, sent) = std::thread::scope(|s| {
        let ta = s.spawn(|| {
            a.run(move || {
                run_for(cgw, CGW, vec![tun_a], run, |g, now| {
                    g.initiate(TunnelId(0), now);
                })
            })
        });
        let tb = s.spawn(|| b.run(move || run_for(aws, AWS, vec![tun_b], run, |_, _| {})));
        // The server checks every byte (the kernel checks every checksum
        // of what tun-rs split and coalesced).
        let server = s.spawn(move || -> std::io::Result<usize> {
            let (mut c, _) = listener.accept()?;
            c.set_read_timeout(Some(Duration::from_secs(8)))?;
            let mut buf = vec![0u8; 65_536];
            let mut at = 0;
            loop {
                let n = c.read(&mut buf)?;
                if n == 0 {
                    return Ok(at);
                }
                for (k, byte) in buf[..n].iter().enumerate() {
                    if *byte != pattern(at + k) {
                        return Err(std::io::Error::other(format!("byte {} differs", at + k)));
                    }
                }
                at += n;
            }
        });
        let client = s.spawn(|| {
            std::thread::sleep(Duration::from_secs(2));
            a.run(|| -> std::io::Result<()> {
                let data: Vec<u8> = (0..TRANSFER).map(pattern).collect();
                let mut c =
                    TcpStream::connect_timeout(&(AWS_INSIDE, 5001).into(), Duration::from_secs(5))?;
                c.set_write_timeout(Some(Duration::from_secs(6)))?;
                c.write_all(&data)?;
                c.shutdown(std::net::Shutdown::Write)
            })
        });
        (
            ta.join().unwrap().unwrap(),
            tb.join().unwrap().unwrap(),
            server.join().unwrap(),
            client.join().unwrap().unwrap(),
        )
    });
    let (cgw, cgw_stats) = cgw_done.expect("CGW driver");
    let (aws, aws_stats) = aws_done.expect("AWS driver");
    let context = format!(
        "CGW {cgw_stats:?} {:?}\nAWS {aws_stats:?} {:?}",
        cgw.stats(),
        aws.stats()
    );
    sent.unwrap_or_else(|e| panic!("sending: {e}\n{context}"));
    let got = received.unwrap_or_else(|e| panic!("receiving: {e}\n{context}"));
    assert_eq!(got, TRANSFER, "{context}");
    // Every packet in the tunnel is at most the TUN's MTU: super-packets
    // were split before encryption.
    assert_eq!(cgw.stats().fragmented, 0, "{context}");
    assert!(cgw_stats.tun_in as usize >= TRANSFER / 1400, "{context}");
}

/// Both gateways in their namespaces, a kernel ping through the tunnel;
/// `encapsulate`: ESP in UDP 4500, else raw IP protocol 50.
fn ping_through(encapsulate: bool) {
    let (a, b, tun_a, tun_b) = namespaces(false);
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
