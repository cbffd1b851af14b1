//! Network namespaces for the kernel lab.
//!
//! [`Netns`] is a cheap-to-clone handle; the namespace is deleted when the
//! last handle is dropped (also during a panic). Daemons started in a
//! namespace hold a handle, so the namespace outlives them.
//!
//! Addresses are checked against the lab plan (DESIGN.md): 192.0.2.0/24 (CGW),
//! 198.51.100.0/24 (AWS), 203.0.113.0/24 (NAT / public), 198.18.0.0/15
//! (on-prem LAN, VPC), 169.254.0.0/16 (tunnel inside), 127.0.0.0/8; IPv6
//! only in fd00::/8 (unique local: IPv6 tunnels and their LANs) and the
//! documentation range 2001:db8::/32 (BGP-only prefixes). Default routes
//! are refused.

use crate::proc::{self, Output, DEFAULT_TIMEOUT};
use crate::require;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Once};
use std::time::Duration;

/// Name prefix of every namespace this harness creates.
pub const PREFIX: &str = "cgwt";

/// The lab's IPv4 ranges (network, prefix length).
pub const LAB_RANGES: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
];

fn in_prefix(a: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    u32::from(a) & mask == u32::from(net) & mask
}

/// Is `a` inside the lab address plan?
pub fn is_lab_addr(a: Ipv4Addr) -> bool {
    LAB_RANGES.iter().any(|&(n, l)| in_prefix(a, n, l))
}

/// Parse `"a.b.c.d/len"`; panics on bad syntax.
pub fn parse_cidr(cidr: &str) -> (Ipv4Addr, u8) {
    let (a, l) = cidr
        .split_once('/')
        .unwrap_or_else(|| panic!("{cidr:?}: expected a.b.c.d/len"));
    let a: Ipv4Addr = a.parse().unwrap_or_else(|e| panic!("{cidr:?}: {e}"));
    let l: u8 = l.parse().unwrap_or_else(|e| panic!("{cidr:?}: {e}"));
    assert!(l <= 32, "{cidr:?}: prefix length > 32");
    (a, l)
}

/// Panic unless the whole prefix lies inside one lab range and is not a
/// default route.
#[track_caller]
pub fn check_lab_prefix(cidr: &str) {
    let (a, l) = parse_cidr(cidr);
    let ok = LAB_RANGES
        .iter()
        .any(|&(n, rl)| l >= rl && in_prefix(a, n, rl));
    assert!(
        ok,
        "{cidr} is outside the lab address plan (192.0.2.0/24, 198.51.100.0/24, \
         203.0.113.0/24, 198.18.0.0/15, 169.254.0.0/16); the lab never routes elsewhere"
    );
}

/// Is `a` inside the lab's IPv6 ranges (fd00::/8, 2001:db8::/32)?
pub fn is_lab_addr6(a: Ipv6Addr) -> bool {
    let seg = a.segments();
    seg[0] >> 8 == 0xfd || (seg[0] == 0x2001 && seg[1] == 0x0db8)
}

/// Is `a` inside the lab plan (either family)?
pub fn is_lab_ip(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => is_lab_addr(a),
        IpAddr::V6(a) => is_lab_addr6(a),
    }
}

/// Panic unless the IPv6 prefix lies in fd00::/8 or the documentation
/// range 2001:db8::/32, the only IPv6 ranges the lab uses.
#[track_caller]
pub fn check_lab_prefix6(cidr: &str) {
    let (a, l) = cidr
        .split_once('/')
        .unwrap_or_else(|| panic!("{cidr:?}: expected addr/len"));
    let a: Ipv6Addr = a.parse().unwrap_or_else(|e| panic!("{cidr:?}: {e}"));
    let l: u8 = l.parse().unwrap_or_else(|e| panic!("{cidr:?}: {e}"));
    let min = if a.segments()[0] >> 8 == 0xfd { 8 } else { 32 };
    assert!(
        (min..=128).contains(&l) && is_lab_addr6(a),
        "{cidr} is outside fd00::/8 and 2001:db8::/32 (the only IPv6 ranges the lab uses)"
    );
}

/// A tunnel inside /126 as AWS assigns it to an IPv6 connection: AWS
/// gets `::1`, the CGW `::2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsideNet6 {
    pub network: Ipv6Addr,
}

impl InsideNet6 {
    /// `network` must be a /126-aligned address in fd00::/8.
    pub fn new(network: Ipv6Addr) -> InsideNet6 {
        assert!(
            network.segments()[0] >> 8 == 0xfd && u128::from(network) & 3 == 0,
            "{network} is not a /126 network in fd00::/8"
        );
        InsideNet6 { network }
    }

    /// AWS side, `::1`.
    pub fn aws(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.network) + 1)
    }

    /// Customer gateway side, `::2`.
    pub fn cgw(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.network) + 2)
    }

    /// `"fd00:...::/126"`
    pub fn cidr(&self) -> String {
        format!("{}/126", self.network)
    }

    /// `"fd00:...::1/126"`
    pub fn aws_cidr(&self) -> String {
        format!("{}/126", self.aws())
    }

    /// `"fd00:...::2/126"`
    pub fn cgw_cidr(&self) -> String {
        format!("{}/126", self.cgw())
    }
}

/// A tunnel inside /30 as AWS assigns it: AWS gets .1, the CGW .2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsideNet {
    pub network: Ipv4Addr,
}

impl InsideNet {
    /// `network` must be a /30-aligned address in 169.254.0.0/16.
    pub fn new(network: Ipv4Addr) -> InsideNet {
        assert!(
            in_prefix(network, Ipv4Addr::new(169, 254, 0, 0), 16) && u32::from(network) & 3 == 0,
            "{network} is not a /30 network in 169.254.0.0/16"
        );
        InsideNet { network }
    }

    /// A /30 no other call in this process returns (169.254.100.0/30 upwards).
    pub fn unique() -> InsideNet {
        let n = proc::unique_id() % 16000;
        InsideNet::new(Ipv4Addr::from(
            u32::from(Ipv4Addr::new(169, 254, 100, 0)) + n * 4,
        ))
    }

    /// AWS side, `.1`.
    pub fn aws(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// Customer gateway side, `.2`.
    pub fn cgw(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 2)
    }

    /// `"169.254.x.1/30"`
    pub fn aws_cidr(&self) -> String {
        format!("{}/30", self.aws())
    }

    /// `"169.254.x.2/30"`
    pub fn cgw_cidr(&self) -> String {
        format!("{}/30", self.cgw())
    }
}

struct Inner {
    name: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let pids = ip(&["netns", "pids", &self.name]).stdout;
        if !pids.trim().is_empty() {
            eprintln!(
                "harness: namespace {} still has processes {} (not stopped by their owner); \
                 deleting the namespace anyway",
                self.name,
                pids.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        let o = ip(&["netns", "del", &self.name]);
        if !o.success() {
            eprintln!("harness: deleting namespace {}: {o}", self.name);
        }
    }
}

/// A network namespace `cgwt-<pid>-<n>`, deleted when the last clone drops.
#[derive(Clone)]
pub struct Netns {
    inner: Arc<Inner>,
}

fn ip(args: &[&str]) -> Output {
    let mut argv = vec!["ip"];
    argv.extend_from_slice(args);
    proc::run(&argv, &[], DEFAULT_TIMEOUT)
}

/// Delete namespaces left behind by earlier test processes that died without
/// cleaning up (`cgwt-<pid>-*` whose pid is gone and which hold no process).
fn reap_stale() {
    let list = ip(&["netns", "list"]).stdout;
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(&format!("{PREFIX}-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if ip(&["netns", "pids", name]).stdout.trim().is_empty() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

impl Netns {
    /// Create a fresh namespace with `lo` up, IPv6 off (an IPv4-only lab,
    /// no MLD/RS chatter in captures), rp_filter off.
    // no Default: creating a namespace is a side effect, not a default value
    #[allow(clippy::new_without_default)]
    pub fn new() -> Netns {
        require::netns();
        static REAP: Once = Once::new();
        REAP.call_once(reap_stale);
        let name = format!("{PREFIX}-{}-{}", std::process::id(), proc::unique_id());
        ip(&["netns", "add", &name]).expect_ok();
        let ns = Netns {
            inner: Arc::new(Inner { name }),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.sysctl("net.ipv6.conf.all.disable_ipv6", "1");
        ns.sysctl("net.ipv6.conf.default.disable_ipv6", "1");
        ns.sysctl("net.ipv4.conf.all.rp_filter", "0");
        ns.sysctl("net.ipv4.conf.default.rp_filter", "0");
        ns
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// `ip -n NAME args...`; panics with ip's message on failure.
    #[track_caller]
    pub fn ip(&self, args: &[&str]) -> String {
        let mut argv = vec!["-n", self.name()];
        argv.extend_from_slice(args);
        ip(&argv).expect_ok()
    }

    /// Set a sysctl inside the namespace.
    #[track_caller]
    pub fn sysctl(&self, key: &str, value: &str) {
        self.exec_ok(&["sysctl", "-qw", &format!("{key}={value}")]);
    }

    /// Run a command inside the namespace (30 s limit), returning its output.
    pub fn exec(&self, argv: &[&str]) -> Output {
        self.exec_timeout(argv, DEFAULT_TIMEOUT)
    }

    /// Run a command inside the namespace with a time limit.
    pub fn exec_timeout(&self, argv: &[&str], timeout: Duration) -> Output {
        let mut full = vec!["ip", "netns", "exec", self.name()];
        full.extend_from_slice(argv);
        proc::run(&full, &[], timeout)
    }

    /// Like [`Netns::exec`] but panics unless it exits 0; returns stdout.
    #[track_caller]
    pub fn exec_ok(&self, argv: &[&str]) -> String {
        self.exec(argv).expect_ok()
    }

    /// Add `cidr` (e.g. `"192.0.2.10/24"`) to `dev`; must be in the lab plan.
    #[track_caller]
    pub fn add_addr(&self, dev: &str, cidr: &str) {
        check_lab_prefix(cidr);
        self.ip(&["addr", "add", cidr, "dev", dev]);
    }

    /// Turn IPv6 on for `dev` alone (the lab is IPv4-only by default):
    /// no duplicate address detection (addresses are usable at once) and
    /// no link-local address (`addr_gen_mode` none), so neither neighbour,
    /// router nor multicast-listener chatter leaves a tunnel device.
    #[track_caller]
    pub fn enable_ipv6(&self, dev: &str) {
        self.sysctl(&format!("net.ipv6.conf.{dev}.addr_gen_mode"), "1");
        self.sysctl(&format!("net.ipv6.conf.{dev}.accept_dad"), "0");
        self.sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "0");
    }

    /// Turn IPv6 on for `dev` ([`Netns::enable_ipv6`]) and add `cidr`,
    /// which must lie in fd00::/8 or 2001:db8::/32.
    #[track_caller]
    pub fn add_addr6(&self, dev: &str, cidr: &str) {
        check_lab_prefix6(cidr);
        self.enable_ipv6(dev);
        self.ip(&["-6", "addr", "add", cidr, "dev", dev, "nodad"]);
    }

    /// Route the IPv6 `prefix` (fd00::/8 or 2001:db8::/32, never a
    /// default route) via `dev`, optionally through gateway `via`.
    #[track_caller]
    pub fn add_route6(&self, prefix: &str, dev: &str, via: Option<Ipv6Addr>) {
        check_lab_prefix6(prefix);
        match via {
            Some(gw) => {
                assert!(is_lab_addr6(gw), "gateway {gw} outside the lab plan");
                self.ip(&[
                    "-6",
                    "route",
                    "add",
                    prefix,
                    "via",
                    &gw.to_string(),
                    "dev",
                    dev,
                ]);
            }
            None => {
                self.ip(&["-6", "route", "add", prefix, "dev", dev]);
            }
        }
    }

    /// Bring a link up.
    #[track_caller]
    pub fn link_up(&self, dev: &str) {
        self.ip(&["link", "set", dev, "up"]);
    }

    /// Route `prefix` (in the lab plan, never a default route) via `dev`,
    /// optionally through gateway `via`.
    #[track_caller]
    pub fn add_route(&self, prefix: &str, dev: &str, via: Option<Ipv4Addr>) {
        check_lab_prefix(prefix);
        match via {
            Some(gw) => {
                assert!(is_lab_addr(gw), "gateway {gw} outside the lab plan");
                self.ip(&["route", "add", prefix, "via", &gw.to_string(), "dev", dev]);
            }
            None => {
                self.ip(&["route", "add", prefix, "dev", dev]);
            }
        }
    }

    /// `ip route show PREFIX` (`ip -6` for an IPv6 prefix), trimmed; empty
    /// if there is no such route.
    pub fn route_show(&self, prefix: &str) -> String {
        let family = if prefix.contains(':') { "-6" } else { "-4" };
        self.exec(&["ip", family, "route", "show", prefix])
            .stdout
            .trim()
            .to_string()
    }

    /// Does a link named `dev` exist in this namespace?
    pub fn has_link(&self, dev: &str) -> bool {
        ip(&["-n", self.name(), "link", "show", dev]).success()
    }

    /// `ping -c count -i 0.2 -W 2 [-I src] dst` inside the namespace
    /// (bounded: at most ~count*0.2+2 s). Returns the output; check `.success()`.
    pub fn ping(&self, dst: Ipv4Addr, count: u32, src: Option<Ipv4Addr>) -> Output {
        assert!(is_lab_addr(dst), "ping target {dst} outside the lab plan");
        self.ping_any(dst.into(), count, src.map(IpAddr::from))
    }

    /// [`Netns::ping`] over ICMPv6 (`ping -6`); `dst` in the lab's IPv6
    /// ranges.
    pub fn ping6(&self, dst: Ipv6Addr, count: u32, src: Option<Ipv6Addr>) -> Output {
        assert!(is_lab_addr6(dst), "ping target {dst} outside the lab plan");
        self.ping_any(dst.into(), count, src.map(IpAddr::from))
    }

    fn ping_any(&self, dst: IpAddr, count: u32, src: Option<IpAddr>) -> Output {
        let count_s = count.to_string();
        let src_s = src.map(|s| s.to_string());
        let dst_s = dst.to_string();
        let family = if dst.is_ipv6() { "-6" } else { "-4" };
        let mut argv = vec!["ping", family, "-n", "-c", &count_s, "-i", "0.2", "-W", "2"];
        if let Some(s) = &src_s {
            argv.extend(["-I", s.as_str()]);
        }
        argv.push(&dst_s);
        self.exec_timeout(&argv, Duration::from_secs(u64::from(count) + 10))
    }

    /// Run `f` on a thread that has joined this namespace (setns
    /// CLONE_NEWNET) and return its result. Sockets and TUN devices created
    /// in `f` belong to this namespace and stay there when used elsewhere.
    /// A panic in `f` is propagated.
    pub fn run_in<T: Send, F: FnOnce() -> T + Send>(&self, f: F) -> T {
        run_in(self, f)
    }

    /// Like [`Netns::run_in`] but returns at once with the thread's handle
    /// (for a long-running engine inside the namespace).
    pub fn spawn_in<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
        &self,
        f: F,
    ) -> std::thread::JoinHandle<T> {
        let file = self.open_ns_file();
        let name = self.name().to_string();
        std::thread::Builder::new()
            .name(format!("in-{name}"))
            .spawn(move || {
                enter(&file, &name);
                f()
            })
            .expect("spawn thread")
    }

    fn open_ns_file(&self) -> std::fs::File {
        let path = format!("/run/netns/{}", self.name());
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"))
    }
}

fn enter(file: &std::fs::File, name: &str) {
    // SAFETY: setns on a valid namespace fd; only this thread changes namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert!(
        rc == 0,
        "setns into {name}: {}",
        std::io::Error::last_os_error()
    );
}

/// Run `f` on a thread inside `ns` (see [`Netns::run_in`]).
pub fn run_in<T: Send, F: FnOnce() -> T + Send>(ns: &Netns, f: F) -> T {
    let file = ns.open_ns_file();
    let name = ns.name();
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            enter(&file, name);
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// A veth pair: `a_if` in `a`, `b_if` in `b`. Both ends are up. Removed with
/// the namespaces.
pub struct Veth {
    pub a: Netns,
    pub a_if: String,
    pub b: Netns,
    pub b_if: String,
}

impl Veth {
    /// Create the pair directly inside the two namespaces (no clash in the
    /// root namespace), bring both ends up, IPv6 off.
    pub fn new(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Veth {
        let o = ip(&[
            "link",
            "add",
            a_if,
            "netns",
            a.name(),
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            b.name(),
        ]);
        if !o.success() {
            panic!(
                "creating veth {a_if}@{} <-> {b_if}@{}: {o}",
                a.name(),
                b.name()
            );
        }
        for (ns, dev) in [(a, a_if), (b, b_if)] {
            ns.sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "1");
            ns.link_up(dev);
        }
        Veth {
            a: a.clone(),
            a_if: a_if.to_string(),
            b: b.clone(),
            b_if: b_if.to_string(),
        }
    }

    /// A veth with addresses: `a_cidr` on `a_if`, `b_cidr` on `b_if`. If the
    /// two are in different subnets (e.g. 192.0.2.10/24 and 198.51.100.10/24)
    /// each side gets an on-link route to the other's subnet, so they reach
    /// each other without a router and without any default route.
    pub fn connect(
        a: &Netns,
        a_if: &str,
        a_cidr: &str,
        b: &Netns,
        b_if: &str,
        b_cidr: &str,
    ) -> Veth {
        check_lab_prefix(a_cidr);
        check_lab_prefix(b_cidr);
        let v = Veth::new(a, a_if, b, b_if);
        a.add_addr(a_if, a_cidr);
        b.add_addr(b_if, b_cidr);
        let (aa, al) = parse_cidr(a_cidr);
        let (ba, bl) = parse_cidr(b_cidr);
        if !in_prefix(ba, aa, al) {
            a.add_route(&network_cidr(ba, bl), a_if, None);
        }
        if !in_prefix(aa, ba, bl) {
            b.add_route(&network_cidr(aa, al), b_if, None);
        }
        v
    }
}

/// `"network/len"` of an address.
pub fn network_cidr(a: Ipv4Addr, len: u8) -> String {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    format!("{}/{len}", Ipv4Addr::from(u32::from(a) & mask))
}

/// The CGW's outside address in the standard two-namespace lab.
pub const CGW_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// AWS tunnel endpoint 1's outside address in the standard lab.
pub const AWS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

/// The standard two-namespace lab: `cgw` (wan0 192.0.2.10/24) and `aws`
/// (wan0 198.51.100.10/24) on one veth, on-link routes to each other's /24,
/// no default route. Underlay reachability is checked with one ping.
pub struct LabPair {
    pub cgw: Netns,
    pub aws: Netns,
    pub veth: Veth,
}

impl LabPair {
    #[allow(clippy::new_without_default)]
    pub fn new() -> LabPair {
        let cgw = Netns::new();
        let aws = Netns::new();
        let veth = Veth::connect(
            &cgw,
            "wan0",
            &format!("{CGW_ADDR}/24"),
            &aws,
            "wan0",
            &format!("{AWS_ADDR}/24"),
        );
        let p = cgw.ping(AWS_ADDR, 1, None);
        assert!(
            p.success(),
            "underlay ping {CGW_ADDR} -> {AWS_ADDR} failed: {p}"
        );
        LabPair { cgw, aws, veth }
    }
}

/// The CGW's address inside the NAT lab (the NAT's inside network).
pub const CGW_INSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The NAT's inside address (the CGW's gateway) in the NAT lab.
pub const NAT_INSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
/// The UDP ports the NAT lab's source NAT maps to (never 500 or 4500, so a
/// translated port is visible).
pub const NAT_PORTS: (u16, u16) = (20000, 29999);

/// Three namespaces with a NAT in the middle:
///
/// ```text
///  cgw  wan0 203.0.113.10/24 ── lan0 203.0.113.1/24  nat  wan0 192.0.2.10/24 ── wan0 198.51.100.10/24  aws
/// ```
///
/// The `nat` namespace forwards and source-NATs everything from
/// 203.0.113.0/24 leaving on its `wan0` to 192.0.2.10 (the CGW's public
/// address, as AWS knows it), UDP with port translation into
/// [`NAT_PORTS`] (nftables `snat`, the rest `masquerade`). The CGW routes
/// 198.51.100.0/24 via the NAT; AWS reaches 192.0.2.0/24 on link. No
/// default routes; nftables state goes away with the namespace.
pub struct NatLab {
    pub cgw: Netns,
    pub nat: Netns,
    pub aws: Netns,
    pub inside: Veth,
    pub outside: Veth,
}

impl NatLab {
    #[allow(clippy::new_without_default)]
    pub fn new() -> NatLab {
        require::nft();
        let cgw = Netns::new();
        let nat = Netns::new();
        let aws = Netns::new();
        let inside = Veth::connect(
            &cgw,
            "wan0",
            &format!("{CGW_INSIDE_ADDR}/24"),
            &nat,
            "lan0",
            &format!("{NAT_INSIDE_ADDR}/24"),
        );
        let outside = Veth::connect(
            &nat,
            "wan0",
            &format!("{CGW_ADDR}/24"),
            &aws,
            "wan0",
            &format!("{AWS_ADDR}/24"),
        );
        cgw.add_route(&network_cidr(AWS_ADDR, 24), "wan0", Some(NAT_INSIDE_ADDR));
        nat.sysctl("net.ipv4.ip_forward", "1");
        nat.nft(&nat_ruleset());
        let p = cgw.ping(AWS_ADDR, 1, None);
        assert!(
            p.success(),
            "underlay ping {CGW_INSIDE_ADDR} -> NAT -> {AWS_ADDR} failed: {p}\n{}",
            nat.exec(&["nft", "list", "ruleset"])
        );
        NatLab {
            cgw,
            nat,
            aws,
            inside,
            outside,
        }
    }
}

/// The NAT lab's nftables ruleset (see [`NatLab`]).
pub fn nat_ruleset() -> String {
    let (lo, hi) = NAT_PORTS;
    format!(
        "table ip cgwt_nat {{\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\toifname \"wan0\" ip saddr 203.0.113.0/24 meta l4proto udp snat to {CGW_ADDR}:{lo}-{hi}\n\
         \t\toifname \"wan0\" ip saddr 203.0.113.0/24 masquerade\n\
         \t}}\n\
         }}\n"
    )
}

impl Netns {
    /// Load an nftables ruleset (`nft -f`) into this namespace; it goes
    /// away with the namespace.
    #[track_caller]
    pub fn nft(&self, ruleset: &str) {
        let dir = crate::proc::TestDir::new("nft");
        let file = dir.join("ruleset.nft");
        std::fs::write(&file, ruleset).expect("write nft ruleset");
        let f = file.display().to_string();
        let o = self.exec(&["nft", "-f", &f]);
        assert!(o.success(), "nft -f in {}: {o}\n{ruleset}", self.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_plan() {
        assert!(is_lab_addr(Ipv4Addr::new(192, 0, 2, 10)));
        assert!(is_lab_addr(Ipv4Addr::new(198, 19, 0, 10)));
        assert!(!is_lab_addr(Ipv4Addr::new(8, 8, 8, 8)));
        assert!(!is_lab_addr(Ipv4Addr::new(198, 51, 101, 1)));
        check_lab_prefix("198.18.0.0/15");
        check_lab_prefix("169.254.100.0/30");
        assert!(std::panic::catch_unwind(|| check_lab_prefix("0.0.0.0/0")).is_err());
        assert!(std::panic::catch_unwind(|| check_lab_prefix("192.0.0.0/16")).is_err());
        assert_eq!(
            network_cidr(Ipv4Addr::new(198, 51, 100, 10), 24),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn inside_net() {
        let n = InsideNet::new(Ipv4Addr::new(169, 254, 100, 0));
        assert_eq!(n.aws(), Ipv4Addr::new(169, 254, 100, 1));
        assert_eq!(n.cgw_cidr(), "169.254.100.2/30");
        assert_ne!(InsideNet::unique(), InsideNet::unique());
        assert!(
            std::panic::catch_unwind(|| InsideNet::new(Ipv4Addr::new(169, 254, 1, 2))).is_err()
        );
    }

    #[test]
    fn ipv6_plan() {
        assert!(is_lab_addr6("fd00:198:18::10".parse().unwrap()));
        assert!(is_lab_addr6("2001:db8::1".parse().unwrap()));
        assert!(!is_lab_addr6("2001:4860::8888".parse().unwrap()));
        assert!(!is_lab_addr6("fc00::1".parse().unwrap()));
        check_lab_prefix6("fd00:198:19::/48");
        check_lab_prefix6("2001:db8:1::/48");
        for bad in ["::/0", "fd00::/7", "2001:db8::/16", "2001:4860::/32"] {
            assert!(
                std::panic::catch_unwind(|| check_lab_prefix6(bad)).is_err(),
                "{bad}"
            );
        }
        let n = InsideNet6::new("fd00:a9fe:10::".parse().unwrap());
        assert_eq!(n.cidr(), "fd00:a9fe:10::/126");
        assert_eq!(n.aws_cidr(), "fd00:a9fe:10::1/126");
        assert_eq!(n.cgw(), "fd00:a9fe:10::2".parse::<Ipv6Addr>().unwrap());
        assert!(std::panic::catch_unwind(|| InsideNet6::new("fd00::2".parse().unwrap())).is_err());
        assert!(
            std::panic::catch_unwind(|| InsideNet6::new("2001:db8::".parse().unwrap())).is_err()
        );
    }
}
