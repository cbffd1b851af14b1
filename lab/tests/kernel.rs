//! The kernel lab's plumbing on a real kernel: namespaces, veth, netlink
//! addresses and routes, TUN. Needs root (CI runs as root); without it every
//! test fails with a message saying so rather than skipping.
#![cfg(target_os = "linux")]

use etherparse::{Icmpv4Type, Icmpv6Type, NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use lab::kernel::{KernelError, Netns, Route, RouteVia, TunConfig, NETNS_DIR};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

#[track_caller]
fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the kernel lab tests create network namespaces and need root (uid 0); \
         run them as root (CI does), e.g. `sudo -E cargo test -p lab --test kernel`"
    );
}

fn listed_by_ip(name: &str) -> bool {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("running `ip netns list`");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B_FAR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

#[test]
fn veth_between_namespaces_carries_udp_direct_and_via_gateway() {
    require_root();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    a.add_veth("va", "vb", &b).unwrap();
    a.add_address("va", A, 24).unwrap();
    a.set_mtu("va", 1400).unwrap();
    a.link_up("va").unwrap();
    b.add_address("vb", B, 24).unwrap();
    b.add_address("vb", B_FAR, 24).unwrap();
    b.link_up("vb").unwrap();

    let la = a.links().unwrap();
    let va = la.iter().find(|l| l.name == "va").expect("va in a");
    assert_eq!((va.mtu, va.up), (1400, true));
    assert!(
        !la.iter().any(|l| l.name == "vb"),
        "the peer end moved away: {la:?}"
    );
    assert!(b.links().unwrap().iter().any(|l| l.name == "vb" && l.up));

    let rx = b
        .run(|| UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 40000)))
        .unwrap()
        .unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let tx = a
        .run(|| UdpSocket::bind(SocketAddrV4::new(A, 0)))
        .unwrap()
        .unwrap();

    // Same subnet.
    tx.send_to(b"direct", SocketAddrV4::new(B, 40000)).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = rx.recv_from(&mut buf).expect("datagram over the veth");
    assert_eq!(&buf[..n], b"direct");
    assert_eq!(from.ip(), std::net::IpAddr::V4(A));

    // Another lab network, reached through B as the gateway.
    let via_b = Route {
        dest: Ipv4Addr::new(198, 51, 100, 0).into(),
        prefix_len: 24,
        via: RouteVia::Gateway(B),
    };
    a.add_route(&via_b).unwrap();
    let routes = a.routes().unwrap();
    assert!(
        routes.iter().any(|r| r.dest == via_b.dest
            && r.prefix_len == 24
            && r.gateway == Some(B.into())
            && r.dev.as_deref() == Some("va")),
        "{routes:?}"
    );
    tx.send_to(b"routed", SocketAddrV4::new(B_FAR, 40000))
        .unwrap();
    let (n, _) = rx.recv_from(&mut buf).expect("datagram via the gateway");
    assert_eq!(&buf[..n], b"routed");

    a.del_route(&via_b).unwrap();
    assert!(!a.routes().unwrap().iter().any(|r| r.dest == via_b.dest));
    let e = tx
        .send_to(b"unroutable", SocketAddrV4::new(B_FAR, 40000))
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc_enetunreach()), "{e}");
}

fn libc_enetunreach() -> i32 {
    nix::errno::Errno::ENETUNREACH as i32
}

/// Read packets from the TUN until `want` accepts one, for at most 3 s.
fn read_until<T>(tun: &lab::kernel::Tun, mut want: impl FnMut(&[u8]) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = vec![0u8; 2048];
    let mut seen = 0;
    while Instant::now() < deadline && seen < 1000 {
        match tun.recv(&mut buf).unwrap() {
            Some(n) => {
                seen += 1;
                if let Some(t) = want(&buf[..n]) {
                    return t;
                }
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    panic!(
        "no matching packet on {} within 3 s ({seen} others read)",
        tun.name()
    );
}

#[test]
fn tun_in_namespace_reads_routed_udp_and_answers_a_written_ping() {
    require_root();
    let ns = Netns::new().unwrap();
    let local = Ipv4Addr::new(169, 254, 10, 2);
    let tun = ns
        .open_tun(&TunConfig {
            name: "tun0".into(),
            addr: local,
            prefix_len: 30,
            mtu: 1438,
            addr6: None,
        })
        .unwrap();

    let addrs = ns.addresses().unwrap();
    assert!(
        addrs
            .iter()
            .any(|a| a.dev == "tun0" && a.addr == local && a.prefix_len == 30),
        "{addrs:?}"
    );
    let links = ns.links().unwrap();
    let l = links
        .iter()
        .find(|l| l.name == "tun0")
        .expect("tun0 listed");
    assert_eq!((l.mtu, l.up), (1438, true));

    let vpc = Route {
        dest: Ipv4Addr::new(198, 19, 0, 0).into(),
        prefix_len: 16,
        via: RouteVia::Device("tun0".into()),
    };
    ns.add_route(&vpc).unwrap();
    let routes = ns.routes().unwrap();
    assert!(
        routes.iter().any(|r| r.dest == vpc.dest
            && r.prefix_len == 16
            && r.gateway.is_none()
            && r.dev.as_deref() == Some("tun0")),
        "{routes:?}"
    );

    // A datagram to the VPC leaves through the TUN as an IPv4 packet.
    let target = Ipv4Addr::new(198, 19, 0, 10);
    ns.run(|| {
        let s = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        s.send_to(b"to the vpc", SocketAddrV4::new(target, 9999))
            .unwrap();
    })
    .unwrap();
    let (src, payload) = read_until(&tun, |p| {
        let pkt = SlicedPacket::from_ip(p).ok()?;
        let Some(NetSlice::Ipv4(ip)) = &pkt.net else {
            return None;
        };
        let Some(TransportSlice::Udp(udp)) = &pkt.transport else {
            return None;
        };
        (ip.header().destination_addr() == target && udp.destination_port() == 9999)
            .then(|| (ip.header().source_addr(), udp.payload().to_vec()))
    });
    assert_eq!(src, local, "source is the TUN's inside address");
    assert_eq!(payload, b"to the vpc");

    ns.del_route(&vpc).unwrap();
    assert!(
        !ns.routes().unwrap().iter().any(|r| r.dest == vpc.dest),
        "route removed"
    );

    // A ping written into the TUN from the far end of the /30 is answered.
    let peer = Ipv4Addr::new(169, 254, 10, 1);
    let mut request = Vec::new();
    PacketBuilder::ipv4(peer.octets(), local.octets(), 64)
        .icmpv4_echo_request(0x4242, 7)
        .write(&mut request, b"ping through tun")
        .unwrap();
    assert!(
        tun.send(&request).unwrap(),
        "TUN queue accepted the request"
    );
    let (id, seq, data) = read_until(&tun, |p| {
        let pkt = SlicedPacket::from_ip(p).ok()?;
        let Some(NetSlice::Ipv4(ip)) = &pkt.net else {
            return None;
        };
        let Some(TransportSlice::Icmpv4(icmp)) = &pkt.transport else {
            return None;
        };
        let Icmpv4Type::EchoReply(echo) = icmp.icmp_type() else {
            return None;
        };
        (ip.header().source_addr() == local && ip.header().destination_addr() == peer)
            .then(|| (echo.id, echo.seq, icmp.payload().to_vec()))
    });
    assert_eq!((id, seq), (0x4242, 7));
    assert_eq!(data, b"ping through tun");
}

#[test]
fn tun_with_an_ipv6_inside_address_routes_udp6_and_answers_a_written_ping6() {
    require_root();
    let ns = Netns::new().unwrap();
    let local: Ipv6Addr = "fd00:a9fe:10::2".parse().unwrap();
    let peer: Ipv6Addr = "fd00:a9fe:10::1".parse().unwrap();
    let tun = ns
        .open_tun(&TunConfig {
            name: "tun6".into(),
            addr: Ipv4Addr::new(169, 254, 10, 2),
            prefix_len: 30,
            mtu: 1438,
            addr6: Some((local, 126)),
        })
        .unwrap();
    let addrs = ns.addresses().unwrap();
    assert!(
        addrs
            .iter()
            .any(|a| a.dev == "tun6" && a.addr == local && a.prefix_len == 126),
        "{addrs:?}"
    );
    // No link-local address: the kernel sends nothing of its own into a
    // tunnel.
    assert!(
        !addrs.iter().any(
            |a| a.dev == "tun6" && matches!(a.addr, IpAddr::V6(v) if v.segments()[0] == 0xfe80)
        ),
        "{addrs:?}"
    );

    let vpc6 = Route {
        dest: "fd00:198:19::".parse::<Ipv6Addr>().unwrap().into(),
        prefix_len: 48,
        via: RouteVia::Device("tun6".into()),
    };
    ns.add_route(&vpc6).unwrap();
    let routes = ns.routes().unwrap();
    assert!(
        routes
            .iter()
            .any(|r| r.dest == vpc6.dest && r.prefix_len == 48 && r.dev.as_deref() == Some("tun6")),
        "{routes:?}"
    );
    // A datagram to the IPv6 VPC leaves through the TUN, from the inside
    // address (usable at once: no duplicate address detection).
    let target: Ipv6Addr = "fd00:198:19::10".parse().unwrap();
    ns.run(|| {
        let s = UdpSocket::bind(SocketAddrV6::new(local, 0, 0, 0)).unwrap();
        s.send_to(b"to the vpc6", SocketAddrV6::new(target, 9999, 0, 0))
            .unwrap();
    })
    .unwrap();
    let (src, payload) = read_until(&tun, |p| {
        let pkt = SlicedPacket::from_ip(p).ok()?;
        let Some(NetSlice::Ipv6(ip)) = &pkt.net else {
            return None;
        };
        let Some(TransportSlice::Udp(udp)) = &pkt.transport else {
            return None;
        };
        (ip.header().destination_addr() == target && udp.destination_port() == 9999)
            .then(|| (ip.header().source_addr(), udp.payload().to_vec()))
    });
    assert_eq!(src, local);
    assert_eq!(payload, b"to the vpc6");
    ns.del_route(&vpc6).unwrap();
    assert!(!ns.routes().unwrap().iter().any(|r| r.dest == vpc6.dest));

    // An ICMPv6 echo written into the TUN from the far end is answered.
    let mut request = Vec::new();
    PacketBuilder::ipv6(peer.octets(), local.octets(), 64)
        .icmpv6_echo_request(0x4243, 9)
        .write(&mut request, b"ping6 through tun")
        .unwrap();
    assert!(tun.send(&request).unwrap());
    let (id, seq) = read_until(&tun, |p| {
        let pkt = SlicedPacket::from_ip(p).ok()?;
        let Some(NetSlice::Ipv6(ip)) = &pkt.net else {
            return None;
        };
        let Some(TransportSlice::Icmpv6(icmp)) = &pkt.transport else {
            return None;
        };
        let Icmpv6Type::EchoReply(echo) = icmp.icmp_type() else {
            return None;
        };
        (ip.header().destination_addr() == peer).then_some((echo.id, echo.seq))
    });
    assert_eq!((id, seq), (0x4243, 9));

    // An IPv6 prefix outside fd00::/8 is refused before the kernel.
    let e = ns
        .add_route(&Route {
            dest: "2001:db8::".parse::<Ipv6Addr>().unwrap().into(),
            prefix_len: 32,
            via: RouteVia::Device("tun6".into()),
        })
        .unwrap_err();
    assert!(matches!(e, KernelError::OutsidePlan { .. }), "{e}");
}

#[test]
fn guard_refuses_addresses_outside_the_plan_and_default_routes() {
    require_root();
    let ns = Netns::new().unwrap();
    let e = ns
        .add_address("lo", Ipv4Addr::new(10, 0, 0, 1), 8)
        .unwrap_err();
    assert!(matches!(e, KernelError::OutsidePlan { .. }), "{e}");
    assert!(e.to_string().contains("10.0.0.1"), "{e}");
    let e = ns
        .add_route(&Route {
            dest: Ipv4Addr::UNSPECIFIED.into(),
            prefix_len: 0,
            via: RouteVia::Gateway(B),
        })
        .unwrap_err();
    assert!(matches!(e, KernelError::DefaultRoute { .. }), "{e}");
    assert!(e.to_string().contains("0.0.0.0/0"), "{e}");
    let e = ns
        .add_route(&Route {
            dest: Ipv4Addr::new(198, 19, 0, 0).into(),
            prefix_len: 16,
            via: RouteVia::Gateway(Ipv4Addr::new(10, 0, 0, 1)),
        })
        .unwrap_err();
    assert!(e.to_string().contains("10.0.0.1"), "{e}");
    let e = ns
        .open_tun(&TunConfig {
            name: "tun0".into(),
            addr: Ipv4Addr::new(10, 0, 0, 2),
            prefix_len: 30,
            mtu: 1438,
            addr6: None,
        })
        .unwrap_err();
    assert!(e.to_string().contains("10.0.0.2"), "{e}");
    // Nothing reached the kernel.
    assert!(!ns.links().unwrap().iter().any(|l| l.name == "tun0"));
    assert!(ns
        .addresses()
        .unwrap()
        .iter()
        .all(|a| a.addr != Ipv4Addr::new(10, 0, 0, 1)));
}

#[test]
fn namespaces_are_gone_after_drop_even_after_a_panic() {
    require_root();
    let ns = Netns::new().unwrap();
    let name = ns.name().to_string();
    assert!(name.starts_with(&format!("cgwk-{}-", std::process::id())));
    assert!(Path::new(NETNS_DIR).join(&name).exists());
    assert!(listed_by_ip(&name), "`ip netns list` shows {name}");
    drop(ns);
    assert!(!Path::new(NETNS_DIR).join(&name).exists());
    assert!(!listed_by_ip(&name));

    let name = std::panic::catch_unwind(|| {
        let ns = Netns::new().unwrap();
        let name = ns.name().to_string();
        let _tun = ns
            .open_tun(&TunConfig {
                name: "tun0".into(),
                addr: Ipv4Addr::new(169, 254, 10, 6),
                prefix_len: 30,
                mtu: 1400,
                addr6: None,
            })
            .unwrap();
        ns.run(|| panic!("panic inside {name}")).unwrap();
    })
    .expect_err("the closure panicked");
    let name = name
        .downcast_ref::<String>()
        .and_then(|m| m.strip_prefix("panic inside "))
        .expect("our panic message")
        .to_string();
    assert!(
        !Path::new(NETNS_DIR).join(&name).exists(),
        "{name} left behind"
    );
    assert!(!listed_by_ip(&name));
}
