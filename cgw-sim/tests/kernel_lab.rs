//! The kernel lab's network (root): a scenario's topology built from
//! namespaces and veths, its routers forwarding, the real hosts, the link
//! faults on nftables and link state, and nothing left behind. Each test
//! sends a bounded number of datagrams, pings or TCP transfers between
//! namespaces it created, on lab-plan addresses only.
#![cfg(target_os = "linux")]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use cgw_sim::kernel_lab::{
    ping, tcp_transfer, KernelNode, KernelTopology, PingRequest, TcpListenerHost, TcpOutcome,
    TcpRequest,
};
use cgw_sim::scenario::{FaultAction, Filter, Impairment, Protocol, Scenario};
use lab::kernel::{Netns, NETNS_DIR};

fn root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test creates network namespaces and needs root (CI runs as root)"
    );
}

fn load(rel: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel);
    Scenario::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Send `n` datagrams from `from` (in `src_ns`) to `to` (in `dst_ns`) and
/// return the source addresses of those that arrived within 300 ms of the
/// last one. A send the kernel refuses (no route while a link is down)
/// counts as not delivered.
fn udp(
    src_ns: &Netns,
    from: SocketAddrV4,
    dst_ns: &Netns,
    to: SocketAddrV4,
    n: usize,
) -> Vec<SocketAddr> {
    let rx = dst_ns.run(|| UdpSocket::bind(to)).unwrap().unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let tx = src_ns.run(|| UdpSocket::bind(from)).unwrap().unwrap();
    for i in 0..n {
        let _ = tx.send_to(&[i as u8; 32], to);
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    // At most n receptions, each waiting at most 300 ms.
    for _ in 0..n {
        match rx.recv_from(&mut buf) {
            Ok((_, src)) => got.push(src),
            Err(_) => break,
        }
    }
    got
}

/// An `impair` fault on `cgw-wan`.
fn impair(loss: Option<f64>, mtu: Option<u16>, latency: Option<Duration>) -> FaultAction {
    FaultAction::Impair(Impairment {
        link: "cgw-wan".into(),
        latency,
        jitter: None,
        loss,
        mtu,
    })
}

fn sa(a: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(a, port)
}

#[test]
fn bgp_happy_path_topology_has_its_namespaces_addresses_routes_and_forwarding() {
    root();
    let s = load("scenarios/happy-path-bgp.toml");
    let topo = KernelTopology::build(&s).unwrap();
    let a = topo.addresses().clone();
    let nodes: Vec<KernelNode> = topo.namespaces().map(|(n, _)| n).collect();
    assert_eq!(
        nodes,
        [
            KernelNode::Onprem,
            KernelNode::Cgw,
            KernelNode::Inet,
            KernelNode::Aws,
            KernelNode::Vpc
        ]
    );
    for (_, ns) in topo.namespaces() {
        assert!(ns.path().exists(), "{} missing", ns.path().display());
    }
    // The simulated lab's addresses.
    assert_eq!(a.cgw_wan, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(
        a.aws,
        [
            Ipv4Addr::new(198, 51, 100, 10),
            Ipv4Addr::new(198, 51, 100, 20)
        ]
    );
    assert_eq!(a.cgw_lan, Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(a.vpc_gateway, Ipv4Addr::new(198, 19, 0, 1));
    let has = |node, addr: Ipv4Addr, len| {
        topo.ns(node)
            .unwrap()
            .addresses()
            .unwrap()
            .iter()
            .any(|e| e.addr == std::net::IpAddr::V4(addr) && e.prefix_len == len)
    };
    assert!(has(KernelNode::Onprem, a.onprem_host, 24));
    assert!(has(KernelNode::Cgw, a.cgw_lan, 24));
    assert!(has(KernelNode::Cgw, a.cgw_wan, 24));
    assert!(has(KernelNode::Aws, a.aws[0], 24));
    assert!(has(KernelNode::Aws, a.aws[1], 24));
    assert!(has(KernelNode::Aws, a.vpc_gateway, 16));
    assert!(has(KernelNode::Vpc, a.vpc_host, 16));
    let routes = topo.ns(KernelNode::Onprem).unwrap().routes().unwrap();
    assert!(
        routes.iter().any(|r| r.dest == Ipv4Addr::new(198, 19, 0, 0)
            && r.prefix_len == 16
            && r.gateway == Some(a.cgw_lan.into())),
        "{routes:?}"
    );
    assert!(
        routes.iter().all(|r| r.prefix_len > 0),
        "no default route: {routes:?}"
    );
    let routes = topo.ns(KernelNode::Cgw).unwrap().routes().unwrap();
    assert!(
        routes
            .iter()
            .any(|r| r.dest == Ipv4Addr::new(198, 51, 100, 0)
                && r.gateway == Some(a.cgw_gateway.into())),
        "{routes:?}"
    );

    // The internet router forwards the CGW's datagrams to both AWS endpoints.
    let (cgw, aws) = (
        topo.ns(KernelNode::Cgw).unwrap(),
        topo.ns(KernelNode::Aws).unwrap(),
    );
    for (i, to) in a.aws.iter().enumerate() {
        let got = udp(cgw, sa(a.cgw_wan, 0), aws, sa(*to, 5000 + i as u16), 3);
        assert_eq!(got.len(), 3, "CGW -> AWS tunnel {} endpoint", i + 1);
        assert!(got.iter().all(|s| s.ip() == a.cgw_wan));
    }
    // The hosts reach their gateways with the kernel's ping.
    let r = ping(
        topo.ns(KernelNode::Onprem).unwrap(),
        &PingRequest::new(a.cgw_lan, 2),
    )
    .unwrap();
    assert_eq!(r.replies(), 2, "{r:?}");
    let r = ping(
        topo.ns(KernelNode::Vpc).unwrap(),
        &PingRequest::new(a.vpc_gateway, 2),
    )
    .unwrap();
    assert_eq!(r.replies(), 2, "{r:?}");
    // ... and the CGW's WAN address pings AWS's through the router.
    let mut req = PingRequest::new(a.aws[0], 2);
    req.source = Some(a.cgw_wan);
    let r = ping(cgw, &req).unwrap();
    assert_eq!(r.replies(), 2, "{r:?}");
    assert!(r
        .probes
        .iter()
        .all(|p| p.rtt.unwrap() < Duration::from_secs(1)));
}

#[test]
fn nat_topology_masquerades_the_cgw_behind_the_public_address() {
    root();
    let s = load("scenarios/cgw-behind-nat.toml");
    let topo = KernelTopology::build(&s).unwrap();
    let a = topo.addresses().clone();
    assert!(topo.ns(KernelNode::Nat).is_ok());
    assert_eq!(a.nat_public, Some(Ipv4Addr::new(203, 0, 113, 1)));
    assert_eq!(a.aws_sees, Ipv4Addr::new(203, 0, 113, 1));
    let got = udp(
        topo.ns(KernelNode::Cgw).unwrap(),
        sa(a.cgw_wan, 4500),
        topo.ns(KernelNode::Aws).unwrap(),
        sa(a.aws[0], 4500),
        3,
    );
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|s| s.ip() == a.aws_sees),
        "AWS must see the NAT's public address: {got:?}"
    );
}

fn udp500() -> Filter {
    Filter {
        protocol: Some(Protocol::Udp),
        port: Some(500),
        address: None,
        link: None,
    }
}

#[test]
fn block_udp_500_stops_it_and_unblock_restores_it() {
    root();
    let mut topo = KernelTopology::build(&load("scenarios/happy-path-bgp.toml")).unwrap();
    let a = topo.addresses().clone();
    let send = |topo: &KernelTopology, port| {
        udp(
            topo.ns(KernelNode::Cgw).unwrap(),
            sa(a.cgw_wan, 0),
            topo.ns(KernelNode::Aws).unwrap(),
            sa(a.aws[0], port),
            3,
        )
        .len()
    };
    assert_eq!(send(&topo, 500), 3);
    topo.apply_fault(&FaultAction::Block(udp500())).unwrap();
    assert_eq!(send(&topo, 500), 0, "udp 500 blocked");
    assert_eq!(send(&topo, 4500), 3, "udp 4500 still passes");
    topo.apply_fault(&FaultAction::Unblock(udp500())).unwrap();
    assert_eq!(send(&topo, 500), 3, "udp 500 unblocked");
    assert!(topo.apply_fault(&FaultAction::Unblock(udp500())).is_err());
}

#[test]
fn loss_100_drops_everything_and_0_restores() {
    root();
    let mut topo = KernelTopology::build(&load("scenarios/happy-path-bgp.toml")).unwrap();
    let a = topo.addresses().clone();
    let send = |topo: &KernelTopology| {
        udp(
            topo.ns(KernelNode::Cgw).unwrap(),
            sa(a.cgw_wan, 0),
            topo.ns(KernelNode::Aws).unwrap(),
            sa(a.aws[1], 4500),
            5,
        )
        .len()
    };
    topo.apply_fault(&impair(Some(100.0), None, None)).unwrap();
    assert_eq!(send(&topo), 0);
    topo.apply_fault(&impair(Some(0.0), None, None)).unwrap();
    assert_eq!(send(&topo), 5);
    // MTU: both veth ends, and a DF ping over it draws "message too long".
    topo.apply_fault(&impair(None, Some(1400), None)).unwrap();
    for node in [KernelNode::Cgw, KernelNode::Inet] {
        let links = topo.ns(node).unwrap().links().unwrap();
        let dev = if node == KernelNode::Cgw {
            "wan0"
        } else {
            "cgw0"
        };
        assert!(
            links.iter().any(|l| l.name == dev && l.mtu == 1400),
            "{links:?}"
        );
    }
    let mut req = PingRequest::new(a.aws[0], 2);
    req.size = 1400;
    req.df = true;
    let r = ping(topo.ns(KernelNode::Cgw).unwrap(), &req).unwrap();
    assert_eq!(r.replies(), 0, "{r:?}");
    assert!(r.frag_needed(), "{r:?}");
    req.size = 1300;
    let r = ping(topo.ns(KernelNode::Cgw).unwrap(), &req).unwrap();
    assert_eq!(r.replies(), 2, "{r:?}");
    // Latency is simulated-only, and says so.
    let e = topo
        .apply_fault(&impair(None, None, Some(Duration::from_millis(80))))
        .unwrap_err()
        .to_string();
    assert!(e.contains("simulated-only") && e.contains("netem"), "{e}");
}

#[test]
fn link_down_stops_traffic_and_link_up_restores_it() {
    root();
    let mut topo = KernelTopology::build(&load("scenarios/happy-path-bgp.toml")).unwrap();
    let a = topo.addresses().clone();
    let send = |topo: &KernelTopology, to| {
        udp(
            topo.ns(KernelNode::Cgw).unwrap(),
            sa(a.cgw_wan, 0),
            topo.ns(KernelNode::Aws).unwrap(),
            sa(to, 4500),
            3,
        )
        .len()
    };
    topo.apply_fault(&FaultAction::LinkDown("cgw-wan".into()))
        .unwrap();
    assert_eq!(send(&topo, a.aws[0]), 0);
    topo.apply_fault(&FaultAction::LinkUp("cgw-wan".into()))
        .unwrap();
    assert_eq!(send(&topo, a.aws[0]), 3, "routes restored after link up");
    // aws1-wan: only tunnel 1's endpoint is cut off.
    topo.apply_fault(&FaultAction::LinkDown("aws1-wan".into()))
        .unwrap();
    assert_eq!(send(&topo, a.aws[0]), 0);
    assert_eq!(send(&topo, a.aws[1]), 3);
    topo.apply_fault(&FaultAction::LinkUp("aws1-wan".into()))
        .unwrap();
    assert_eq!(send(&topo, a.aws[0]), 3);
    assert!(topo
        .apply_fault(&FaultAction::LinkDown("no-such-link".into()))
        .is_err());
}

#[test]
fn source_address_change_is_what_aws_sees_and_answers_return() {
    root();
    let mut topo = KernelTopology::build(&load("scenarios/source-ip-mismatch.toml")).unwrap();
    let a = topo.addresses().clone();
    let new = Ipv4Addr::new(192, 0, 2, 99);
    topo.apply_fault(&FaultAction::SetCgwSourceAddress(new.into()))
        .unwrap();
    let (cgw, aws) = (
        topo.ns(KernelNode::Cgw).unwrap(),
        topo.ns(KernelNode::Aws).unwrap(),
    );
    let got = udp(cgw, sa(a.cgw_wan, 4500), aws, sa(a.aws[0], 4500), 2);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|s| s.ip() == new), "{got:?}");
    // AWS answers the address it saw; the CGW gets it on its own.
    let rx = cgw
        .run(|| UdpSocket::bind(sa(a.cgw_wan, 4502)))
        .unwrap()
        .unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let tx = aws
        .run(|| UdpSocket::bind(sa(a.aws[0], 4502)))
        .unwrap()
        .unwrap();
    tx.send_to(b"reply", sa(new, 4502)).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = rx
        .recv_from(&mut buf)
        .expect("the answer to the new address reaches the CGW");
    assert_eq!(&buf[..n], b"reply");
    assert_eq!(from.ip(), a.aws[0]);
    // Back to its own address: no rewrite.
    topo.apply_fault(&FaultAction::SetCgwSourceAddress(a.cgw_wan.into()))
        .unwrap();
    let (cgw, aws) = (
        topo.ns(KernelNode::Cgw).unwrap(),
        topo.ns(KernelNode::Aws).unwrap(),
    );
    let got = udp(cgw, sa(a.cgw_wan, 4503), aws, sa(a.aws[0], 4503), 2);
    assert!(
        got.len() == 2 && got.iter().all(|s| s.ip() == a.cgw_wan),
        "{got:?}"
    );
}

#[test]
fn tcp_listener_and_client_transfer_between_two_namespaces() {
    root();
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    a.add_veth("v0", "v1", &b).unwrap();
    let (ca, cb) = (Ipv4Addr::new(198, 18, 0, 10), Ipv4Addr::new(198, 18, 0, 1));
    a.add_address("v0", ca, 24).unwrap();
    b.add_address("v1", cb, 24).unwrap();
    a.link_up("v0").unwrap();
    b.link_up("v1").unwrap();
    // A new veth drops packets until the kernel activates it (up to ~1 s).
    for (ns, dev) in [(&a, "v0"), (&b, "v1")] {
        let ready = (0..250).any(|_| {
            let up = ns
                .links()
                .unwrap()
                .iter()
                .any(|l| l.name == dev && l.oper_up);
            if !up {
                std::thread::sleep(Duration::from_millis(20));
            }
            up
        });
        assert!(ready, "{dev} not operationally up within 5 s");
    }
    let server = TcpListenerHost::start(&b, cb, 0).unwrap();
    let req = TcpRequest {
        to: server.addr(),
        bytes: 65_536,
        connect_timeout: Duration::from_secs(3),
        deadline: Duration::from_secs(10),
    };
    let r = tcp_transfer(&a, &req).unwrap();
    assert_eq!(r.outcome, TcpOutcome::Connected, "{r:?}");
    assert_eq!(r.acked, 65_536);
    assert!(r.connect_time.unwrap() < Duration::from_secs(1));
    assert!(r.transfer_time.is_some());
    assert_eq!(server.served(), 1);
    // A closed port refuses.
    let closed = TcpRequest {
        to: SocketAddrV4::new(cb, server.addr().port().wrapping_add(1).max(1)),
        ..req.clone()
    };
    assert_eq!(
        tcp_transfer(&a, &closed).unwrap().outcome,
        TcpOutcome::Refused
    );
    // An address nobody holds in a connected subnet: no answer in time.
    let silent = TcpRequest {
        to: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 77), 9),
        connect_timeout: Duration::from_millis(500),
        ..req
    };
    assert_eq!(
        tcp_transfer(&a, &silent).unwrap().outcome,
        TcpOutcome::Timeout
    );
}

#[test]
fn nothing_is_left_after_drop_nor_after_a_panic() {
    root();
    let mut topo = KernelTopology::build(&load("scenarios/cgw-behind-nat.toml")).unwrap();
    topo.apply_fault(&FaultAction::Block(Filter {
        link: Some("nat-wan".into()),
        ..udp500()
    }))
    .unwrap();
    let tables = topo.nft_tables().unwrap();
    // The NAT's table, and a faults' table in each namespace at an end of nat-wan.
    let mut nodes: Vec<KernelNode> = tables.iter().map(|(n, _)| *n).collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [KernelNode::Nat, KernelNode::Nat, KernelNode::Inet],
        "{tables:?}"
    );
    assert!(tables
        .iter()
        .all(|(_, t)| t.starts_with(&format!("cgwsim_{}_", std::process::id()))));
    topo.clear_faults().unwrap();
    let tables = topo.nft_tables().unwrap();
    assert_eq!(tables.len(), 1, "only the NAT's table: {tables:?}");
    assert_eq!(tables[0].0, KernelNode::Nat);
    let paths: Vec<PathBuf> = topo
        .namespaces()
        .map(|(_, ns)| ns.path().to_path_buf())
        .collect();
    drop(topo);
    for p in &paths {
        assert!(!p.exists(), "{} left behind", p.display());
    }

    let mut paths = Vec::new();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let topo = KernelTopology::build(&load("scenarios/happy-path-bgp.toml")).unwrap();
        paths.extend(topo.namespaces().map(|(_, ns)| ns.path().to_path_buf()));
        panic!("a failing scenario");
    }));
    assert!(caught.is_err());
    assert_eq!(paths.len(), 5);
    for p in &paths {
        assert!(!p.exists(), "{} left behind after a panic", p.display());
    }
    assert!(PathBuf::from(NETNS_DIR).exists());
}

/// Not root: the catalogue marks `modes = ["sim"]` exactly on the files
/// the kernel lab cannot run, for a reason `kernel_support` names.
#[test]
fn catalogue_marks_simulated_only_exactly_what_the_kernel_cannot_run() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut wrong = Vec::new();
    for f in &files {
        let s = Scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
        let k = cgw_sim::kernel_lab::kernel_support(&s);
        let reasons: Vec<&String> = k.blockers.iter().filter(|b| !b.contains("modes")).collect();
        if s.modes.kernel != reasons.is_empty() {
            wrong.push(format!(
                "{}: modes.kernel = {}, kernel blockers: {reasons:?}",
                f.display(),
                s.modes.kernel
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
