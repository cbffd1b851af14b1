//! Two namespaces joined by a veth, for the daemon tests: the CGW at
//! 192.0.2.10 (`wan0`) with the on-prem address 198.18.0.10 on `lo`, the
//! AWS side at 198.51.100.10 and .20 (`awswan0`) with the VPC address
//! 198.19.0.10 on `lo`.

use std::net::Ipv4Addr;

use lab::kernel::{Netns, Route, RouteVia};

/// Fails the test, saying why, unless we are root.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test creates network namespaces and TUN devices and needs root (CI runs as root)"
    );
}

/// A fresh scratch directory for test `name`.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cgw-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (CGW namespace, AWS namespace).
pub fn cgw_and_aws() -> (Netns, Netns) {
    let c = Netns::new().unwrap();
    let a = Netns::new().unwrap();
    c.add_veth("wan0", "awswan0", &a).unwrap();
    c.add_address("wan0", Ipv4Addr::new(192, 0, 2, 10), 24)
        .unwrap();
    c.link_up("wan0").unwrap();
    c.add_address("lo", Ipv4Addr::new(198, 18, 0, 10), 32)
        .unwrap();
    a.add_address("awswan0", Ipv4Addr::new(198, 51, 100, 10), 24)
        .unwrap();
    a.add_address("awswan0", Ipv4Addr::new(198, 51, 100, 20), 24)
        .unwrap();
    a.link_up("awswan0").unwrap();
    a.add_address("lo", Ipv4Addr::new(198, 19, 0, 10), 32)
        .unwrap();
    for (ns, dest, dev) in [
        (&c, Ipv4Addr::new(198, 51, 100, 0), "wan0"),
        (&a, Ipv4Addr::new(192, 0, 2, 0), "awswan0"),
    ] {
        ns.add_route(&Route {
            dest: dest.into(),
            prefix_len: 24,
            via: RouteVia::Device(dev.into()),
        })
        .unwrap();
    }
    (c, a)
}
