//! The end-to-end VPN lab (issue 6, interop): an on-prem host, the customer
//! gateway, an internet router, AWS's two tunnel endpoints and a VPC host,
//! each in its own namespace, with the lab plan's addresses.
//!
//! ```text
//!  onprem 198.18.0.10/24 ─ lan0 198.18.0.1  cgw  wan0 192.0.2.10 ─ c0 192.0.2.1  inet  br0 198.51.100.1 ─┬─ AWS endpoint 1 198.51.100.10
//!                                                                                                       └─ AWS endpoint 2 198.51.100.20
//!  AWS side ─ vpc0 198.19.0.1/24 ─ vpc 198.19.0.10/24
//! ```
//!
//! The CGW side and the AWS side are slots ([`Slot`]):
//! - [`Slot::Ours`]: one namespace holds the whole side and is handed over
//!   empty of daemons (the caller runs `cgw-sim run` / `cgw-sim mock-aws`
//!   in it): `cgw` has `wan0` 192.0.2.10/24 and `lan0` 198.18.0.1/24;
//!   `aws` has `wan0` with both 198.51.100.10/24 and 198.51.100.20/24 and
//!   `vpc0` 198.19.0.1/24. Routes to the far outside /24 via `inet` are set,
//!   forwarding is on; tunnel devices and routes into them are the daemon's.
//! - [`Slot::Real`]: strongSwan + BIRD play the side (see
//!   [`crate::vpn_side`]). kernel-libipsec has one `ipsec0` per namespace
//!   and selects SAs by traffic selector, so two 0.0.0.0/0 tunnels need two
//!   charons in two namespaces (`endpoints[0]`, `endpoints[1]`), each behind
//!   the side's router namespace (`cgw` or `aws`), which runs BIRD with iBGP
//!   to both endpoints and installs the best path into its kernel table.
//!   On the CGW side both endpoints sit behind a source NAT in `cgw` that
//!   maps them to 192.0.2.10 (AWS knows one customer gateway address); on
//!   the AWS side each endpoint has its own outside address on `inet`.
//!
//! An IPv6 lab ([`InsideIp::V6`], AWS's `TunnelInsideIpVersion = ipv6`)
//! adds the IPv6 plan on top (all in fd00::/8): inside /126s
//! fd00:a9fe:10::/126 and fd00:a9fe:20::/126 ([`TunnelPlan::inside6`]),
//! on-prem fd00:198:18::/48 and VPC fd00:198:19::/48. A side our daemon
//! plays gets its host on IPv6 behind it (`lan0` fd00:198:18::10/64 via
//! fd00:198:18::1, `vpc0` fd00:198:19::10/64 via fd00:198:19::1, IPv6
//! forwarding on). A side real peers play carries IPv6 only between its
//! endpoints and the other side (its router's iBGP stays IPv4): the far
//! host's address ([`ONPREM6_HOST`] / [`VPC6_HOST`]) sits on each endpoint's
//! `lo`, so traffic from or to it crosses that endpoint's tunnel.
//!
//! No namespace has a default route. [`VpnTopology::cut_tunnel`] drops a
//! tunnel's outside path in `inet` (nftables), [`VpnTopology::restore_tunnel`]
//! lifts it. The data-plane checks (ping, TCP transfer, failover time) run
//! from `onprem` to `vpc` whatever plays the two sides.

use crate::netns::{InsideNet, InsideNet6, Netns, Veth};
use crate::proc::{self, Output};
use crate::require;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The on-prem host behind the CGW.
pub const ONPREM_HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
/// The CGW's LAN address (the on-prem host's gateway), on `cgw`'s `lan0`.
pub const ONPREM_GW: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The on-prem prefix the CGW announces over BGP.
pub const ONPREM_PREFIX: &str = "198.18.0.0/24";
/// The customer gateway's public address (what AWS knows), on `cgw`'s `wan0`.
pub const CGW_OUTSIDE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// `inet`'s address towards the CGW (the CGW's next hop to AWS).
pub const INET_CGW_SIDE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// `inet`'s address towards AWS (AWS's next hop to the CGW).
pub const INET_AWS_SIDE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// AWS's tunnel endpoints: tunnel 1, tunnel 2.
pub const AWS_OUTSIDE: [Ipv4Addr; 2] = [
    Ipv4Addr::new(198, 51, 100, 10),
    Ipv4Addr::new(198, 51, 100, 20),
];
/// The VPC host.
pub const VPC_HOST: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
/// The VPC router's address on the host subnet, on `aws`'s `vpc0`.
pub const VPC_GW: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The VPC CIDR AWS announces over BGP.
pub const VPC_PREFIX: &str = "198.19.0.0/16";
/// The VPC host's subnet.
pub const VPC_SUBNET: &str = "198.19.0.0/24";
/// Tunnel inside networks (/30: AWS .1, CGW .2): tunnel 1, tunnel 2.
pub const INSIDE_NETS: [Ipv4Addr; 2] = [
    Ipv4Addr::new(169, 254, 10, 0),
    Ipv4Addr::new(169, 254, 20, 0),
];
/// IPv6 tunnel inside networks (/126: AWS ::1, CGW ::2): tunnel 1,
/// tunnel 2.
pub const INSIDE6_NETS: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 0xa9fe, 0x10, 0, 0, 0, 0, 0),
    Ipv6Addr::new(0xfd00, 0xa9fe, 0x20, 0, 0, 0, 0, 0),
];
/// The on-prem IPv6 prefix the CGW announces on an IPv6 connection.
pub const ONPREM6_PREFIX: &str = "fd00:198:18::/48";
/// The on-prem host's IPv6 address.
pub const ONPREM6_HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x198, 0x18, 0, 0, 0, 0, 0x10);
/// The CGW's IPv6 LAN address (our CGW's slot only).
pub const ONPREM6_GW: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x198, 0x18, 0, 0, 0, 0, 1);
/// The VPC IPv6 prefix AWS announces on an IPv6 connection.
pub const VPC6_PREFIX: &str = "fd00:198:19::/48";
/// The VPC host's IPv6 address.
pub const VPC6_HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x198, 0x19, 0, 0, 0, 0, 0x10);
/// The VPC router's IPv6 address (our mock's slot only).
pub const VPC6_GW: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x198, 0x19, 0, 0, 0, 0, 1);
/// The customer gateway's BGP ASN (AWS's default for a CGW).
pub const CGW_ASN: u32 = 65000;
/// AWS's BGP ASN (the virtual private gateway's default).
pub const AWS_ASN: u32 = 64512;
/// Per-tunnel pre-shared keys (AWS's alphabet: 8-64 of `[A-Za-z0-9._]`,
/// not starting with 0). Lab values, not secrets.
pub const PSKS: [&str; 2] = ["cgwsim.lab.tunnel1.psk", "cgwsim.lab.tunnel2.psk"];

/// Real-peer side links: router `.1` / endpoint `.2` of a /30 per tunnel.
/// CGW side: 203.0.113.0/30 and .4/30 (behind the source NAT).
const CGW_LINKS: [Ipv4Addr; 2] = [Ipv4Addr::new(203, 0, 113, 0), Ipv4Addr::new(203, 0, 113, 4)];
/// AWS side: 198.19.255.0/30 and .4/30 (inside the VPC CIDR).
const AWS_LINKS: [Ipv4Addr; 2] = [
    Ipv4Addr::new(198, 19, 255, 0),
    Ipv4Addr::new(198, 19, 255, 4),
];

/// One of the two tunnels of the VPN connection, as AWS configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelPlan {
    /// 1 or 2.
    pub number: u8,
    /// AWS's outside address for this tunnel.
    pub aws_outside: Ipv4Addr,
    /// The customer gateway's outside address (the same for both).
    pub cgw_outside: Ipv4Addr,
    /// The inside /30 (BGP runs between its .1 and .2).
    pub inside: InsideNet,
    /// The inside /126 of an IPv6 connection (BGP between its ::1 and
    /// ::2); unused on an IPv4 one.
    pub inside6: InsideNet6,
    /// The pre-shared key AWS expects.
    pub psk: String,
}

impl TunnelPlan {
    /// Tunnel 1 and tunnel 2.
    pub fn both() -> [TunnelPlan; 2] {
        [1, 2].map(|n: u8| {
            let i = usize::from(n - 1);
            TunnelPlan {
                number: n,
                aws_outside: AWS_OUTSIDE[i],
                cgw_outside: CGW_OUTSIDE,
                inside: InsideNet::new(INSIDE_NETS[i]),
                inside6: InsideNet6::new(INSIDE6_NETS[i]),
                psk: PSKS[i].to_string(),
            }
        })
    }
}

/// What the tunnels carry inside, as AWS's `TunnelInsideIpVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InsideIp {
    /// IPv4: 0.0.0.0/0 selectors, BGP over the inside /30s.
    #[default]
    V4,
    /// IPv6 only: ::/0 selectors, BGP over the inside /126s (IPv6 unicast).
    V6,
}

/// Who plays a side of the VPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// strongSwan + BIRD (this crate starts them).
    Real,
    /// Our daemon: the caller runs it in the side's namespace.
    Ours,
}

/// A real-peer tunnel endpoint's namespace and its link to the side's router.
#[derive(Clone)]
pub struct EndpointNs {
    /// 1 or 2.
    pub number: u8,
    pub ns: Netns,
    /// The endpoint's address on the link to the router (`rtr0`).
    pub link_addr: Ipv4Addr,
    /// The router's address on that link (`tunN` in the router).
    pub router_addr: Ipv4Addr,
    /// The endpoint's outside address (the one IKE uses): 203.0.113.x
    /// behind the CGW's NAT, or AWS's 198.51.100.x.
    pub outside_addr: Ipv4Addr,
}

/// The namespaces and links of the VPN lab (see the module doc).
pub struct VpnTopology {
    /// The on-prem host (`lan0` 198.18.0.10/24).
    pub onprem: Netns,
    /// The CGW side: our CGW, or the real CGW's router with its NAT.
    pub cgw: Netns,
    /// The internet router between the two sides.
    pub inet: Netns,
    /// The AWS side: our mock, or the real AWS side's VPC router.
    pub aws: Netns,
    /// The VPC host (`vpc0` 198.19.0.10/24).
    pub vpc: Netns,
    /// Real CGW only: the namespaces of the two CGW tunnel endpoints.
    pub cgw_endpoints: Option<[EndpointNs; 2]>,
    /// Real AWS only: the namespaces of AWS's two tunnel endpoints.
    pub aws_endpoints: Option<[EndpointNs; 2]>,
    cgw_slot: Slot,
    aws_slot: Slot,
    inside: InsideIp,
}

fn host(net: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net) + n)
}

/// A routed /30 between a side's router (`.1`, interface `tunN`) and an
/// endpoint (`.2`, interface `rtr0`); both forward.
fn endpoint(router: &Netns, number: u8, net: Ipv4Addr, outside: Option<Ipv4Addr>) -> EndpointNs {
    let ns = Netns::new();
    let (r, e) = (host(net, 1), host(net, 2));
    let r_if = format!("tun{number}");
    Veth::connect(
        router,
        &r_if,
        &format!("{r}/30"),
        &ns,
        "rtr0",
        &format!("{e}/30"),
    );
    ns.sysctl("net.ipv4.ip_forward", "1");
    // kernel-libipsec puts a route for each policy's remote selector into
    // charon's table 220 (rule priority 220), whatever `install_routes`
    // says: with 0.0.0.0/0 selectors that is a catch-all into ipsec0 which
    // would send the traffic for the router (iBGP, the LAN) back into the
    // tunnel. Consult the main table (BIRD's routes, the links) first.
    ns.ip(&["rule", "add", "pref", "100", "lookup", "main"]);
    EndpointNs {
        number,
        ns,
        link_addr: e,
        router_addr: r,
        outside_addr: outside.unwrap_or(e),
    }
}

impl VpnTopology {
    /// Build every namespace and link for the two slots, check the
    /// underlay (CGW side to both AWS outside addresses) and the LAN hops.
    /// No daemon is started.
    pub fn new(cgw_slot: Slot, aws_slot: Slot) -> VpnTopology {
        VpnTopology::with_inside(cgw_slot, aws_slot, InsideIp::V4)
    }

    /// [`VpnTopology::new`] for tunnels carrying `inside`; with
    /// [`InsideIp::V6`] the IPv6 plan of the module doc is added too.
    pub fn with_inside(cgw_slot: Slot, aws_slot: Slot, inside: InsideIp) -> VpnTopology {
        require::netns();
        require::nft();
        require::ping();
        let onprem = Netns::new();
        let cgw = Netns::new();
        let inet = Netns::new();
        let aws = Netns::new();
        let vpc = Netns::new();
        for ns in [&cgw, &inet, &aws] {
            ns.sysctl("net.ipv4.ip_forward", "1");
        }

        // on-prem LAN and VPC subnet, each host routing the far side via its gateway
        Veth::connect(
            &onprem,
            "lan0",
            &format!("{ONPREM_HOST}/24"),
            &cgw,
            "lan0",
            &format!("{ONPREM_GW}/24"),
        );
        onprem.add_route(VPC_PREFIX, "lan0", Some(ONPREM_GW));
        Veth::connect(
            &vpc,
            "vpc0",
            &format!("{VPC_HOST}/24"),
            &aws,
            "vpc0",
            &format!("{VPC_GW}/24"),
        );
        vpc.add_route("198.18.0.0/15", "vpc0", Some(VPC_GW));

        // internet: c0 to the CGW, a bridge br0 for AWS's endpoints
        Veth::connect(
            &cgw,
            "wan0",
            &format!("{CGW_OUTSIDE}/24"),
            &inet,
            "c0",
            &format!("{INET_CGW_SIDE}/24"),
        );
        cgw.add_route("198.51.100.0/24", "wan0", Some(INET_CGW_SIDE));
        inet.ip(&["link", "add", "br0", "type", "bridge"]);
        inet.sysctl("net.ipv6.conf.br0.disable_ipv6", "1");
        inet.add_addr("br0", &format!("{INET_AWS_SIDE}/24"));
        inet.link_up("br0");

        let cgw_endpoints = match cgw_slot {
            Slot::Ours => None,
            Slot::Real => {
                let eps = [0, 1].map(|i| endpoint(&cgw, i as u8 + 1, CGW_LINKS[i], None));
                for ep in &eps {
                    ep.ns
                        .add_route("198.51.100.0/24", "rtr0", Some(ep.router_addr));
                    ep.ns.add_route(ONPREM_PREFIX, "rtr0", Some(ep.router_addr));
                }
                // AWS knows one customer gateway address: both endpoints leave
                // as 192.0.2.10 (ports kept: the two flows differ by destination)
                cgw.nft(&format!(
                    "table ip cgwt_cgw_nat {{\n\
                     \tchain postrouting {{\n\
                     \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
                     \t\toifname \"wan0\" ip saddr 203.0.113.0/24 snat to {CGW_OUTSIDE}\n\
                     \t}}\n\
                     }}\n"
                ));
                Some(eps)
            }
        };

        let aws_endpoints = match aws_slot {
            Slot::Ours => {
                Veth::new(&aws, "wan0", &inet, "a1");
                inet.ip(&["link", "set", "a1", "master", "br0"]);
                for a in AWS_OUTSIDE {
                    aws.add_addr("wan0", &format!("{a}/24"));
                }
                aws.add_route("192.0.2.0/24", "wan0", Some(INET_AWS_SIDE));
                None
            }
            Slot::Real => {
                let eps =
                    [0, 1].map(|i| endpoint(&aws, i as u8 + 1, AWS_LINKS[i], Some(AWS_OUTSIDE[i])));
                for ep in &eps {
                    let port = format!("a{}", ep.number);
                    Veth::new(&ep.ns, "wan0", &inet, &port);
                    inet.ip(&["link", "set", &port, "master", "br0"]);
                    ep.ns.add_addr("wan0", &format!("{}/24", ep.outside_addr));
                    ep.ns.add_route("192.0.2.0/24", "wan0", Some(INET_AWS_SIDE));
                    ep.ns.add_route(VPC_SUBNET, "rtr0", Some(ep.router_addr));
                }
                Some(eps)
            }
        };

        let t = VpnTopology {
            onprem,
            cgw,
            inet,
            aws,
            vpc,
            cgw_endpoints,
            aws_endpoints,
            cgw_slot,
            aws_slot,
            inside,
        };
        t.check_underlay();
        if inside == InsideIp::V6 {
            t.add_ipv6_plan();
        }
        t
    }

    /// What the tunnels carry.
    pub fn inside(&self) -> InsideIp {
        self.inside
    }

    /// The IPv6 hosts and routes of an [`InsideIp::V6`] lab (module doc).
    fn add_ipv6_plan(&self) {
        let lan = |host_ns: &Netns, gw_ns: &Netns, dev: &str, host, gw, far: &str| {
            host_ns.add_addr6(dev, &format!("{host}/64"));
            gw_ns.add_addr6(dev, &format!("{gw}/64"));
            gw_ns.sysctl("net.ipv6.conf.all.forwarding", "1");
            host_ns.add_route6(far, dev, Some(gw));
            let p = host_ns.ping6(gw, 1, None);
            assert!(p.success(), "IPv6 LAN ping {host} -> {gw} failed: {p}");
        };
        let on_lo = |eps: &[EndpointNs; 2], host: Ipv6Addr| {
            for ep in eps {
                ep.ns.add_addr6("lo", &format!("{host}/128"));
                // kernel-libipsec's ::/0 route in table 220 would catch
                // everything: the main table (BIRD's routes) first, as
                // for IPv4
                ep.ns
                    .ip(&["-6", "rule", "add", "pref", "100", "lookup", "main"]);
            }
        };
        match &self.cgw_endpoints {
            None => lan(
                &self.onprem,
                &self.cgw,
                "lan0",
                ONPREM6_HOST,
                ONPREM6_GW,
                VPC6_PREFIX,
            ),
            Some(eps) => on_lo(eps, ONPREM6_HOST),
        }
        match &self.aws_endpoints {
            None => lan(
                &self.vpc,
                &self.aws,
                "vpc0",
                VPC6_HOST,
                VPC6_GW,
                ONPREM6_PREFIX,
            ),
            Some(eps) => on_lo(eps, VPC6_HOST),
        }
    }

    /// Where on-prem IPv6 traffic starts: the on-prem host behind our
    /// CGW, or a real CGW's tunnel 1 endpoint (its `lo` holds
    /// [`ONPREM6_HOST`]).
    pub fn onprem6(&self) -> &Netns {
        match &self.cgw_endpoints {
            Some(eps) => &eps[0].ns,
            None => &self.onprem,
        }
    }

    /// Where VPC IPv6 traffic ends: the VPC host behind our mock, or a
    /// real AWS side's tunnel 1 endpoint (its `lo` holds [`VPC6_HOST`]).
    pub fn vpc6(&self) -> &Netns {
        match &self.aws_endpoints {
            Some(eps) => &eps[0].ns,
            None => &self.vpc,
        }
    }

    /// `ping -6 -c count` from [`ONPREM6_HOST`] to [`VPC6_HOST`].
    pub fn ping6_vpc(&self, count: u32) -> Output {
        self.onprem6().ping6(VPC6_HOST, count, Some(ONPREM6_HOST))
    }

    /// [`VpnTopology::tcp_onprem_to_vpc`] over IPv6, from
    /// [`VpnTopology::onprem6`] to [`VPC6_HOST`] in [`VpnTopology::vpc6`].
    pub fn tcp6_onprem_to_vpc(
        &self,
        bytes: u64,
        port: u16,
        timeout: Duration,
    ) -> Result<Transfer, String> {
        let to = IpAddr::V6(VPC6_HOST);
        tcp_transfer(self.onprem6(), self.vpc6(), to, port, bytes, timeout)
    }

    /// Who plays the CGW side.
    pub fn cgw_slot(&self) -> Slot {
        self.cgw_slot
    }

    /// Who plays the AWS side.
    pub fn aws_slot(&self) -> Slot {
        self.aws_slot
    }

    /// The namespaces a CGW tunnel's IKE traffic leaves from: the real
    /// endpoint's, or `cgw` itself.
    pub fn cgw_tunnel_ns(&self, tunnel: u8) -> &Netns {
        match &self.cgw_endpoints {
            Some(eps) => &eps[usize::from(tunnel - 1)].ns,
            None => &self.cgw,
        }
    }

    fn check_underlay(&self) {
        for (n, a) in AWS_OUTSIDE.iter().enumerate() {
            let from = self.cgw_tunnel_ns(n as u8 + 1);
            let p = from.ping(*a, 1, None);
            assert!(
                p.success(),
                "underlay ping {} -> {a} (tunnel {}) failed: {p}",
                from.name(),
                n + 1
            );
        }
        let p = self.onprem.ping(ONPREM_GW, 1, None);
        assert!(p.success(), "on-prem LAN ping failed: {p}");
        let p = self.vpc.ping(VPC_GW, 1, None);
        assert!(p.success(), "VPC subnet ping failed: {p}");
    }

    /// Drop everything to and from tunnel `n`'s AWS outside address in
    /// `inet` (both directions, IKE and ESP-in-UDP alike), as a broken
    /// path on the internet. [`VpnTopology::restore_tunnel`] lifts it.
    pub fn cut_tunnel(&self, n: u8) {
        let a = AWS_OUTSIDE[usize::from(n - 1)];
        self.inet.nft(&format!(
            "table ip cgwt_cut{n} {{\n\
             \tchain forward {{\n\
             \t\ttype filter hook forward priority filter; policy accept;\n\
             \t\tip saddr {a} drop\n\
             \t\tip daddr {a} drop\n\
             \t}}\n\
             }}\n"
        ));
    }

    /// Lift [`VpnTopology::cut_tunnel`].
    pub fn restore_tunnel(&self, n: u8) {
        let table = format!("cgwt_cut{n}");
        let o = self.inet.exec(&["nft", "delete", "table", "ip", &table]);
        assert!(o.success(), "restoring tunnel {n}'s path: {o}");
    }

    /// `ping -c count` from the on-prem host to the VPC host.
    pub fn ping_vpc(&self, count: u32) -> Output {
        self.onprem.ping(VPC_HOST, count, Some(ONPREM_HOST))
    }

    /// Ping the VPC host from on-prem once a second (each try waits 1 s)
    /// until a reply comes; returns the time it took, or `None` after
    /// `timeout`.
    pub fn wait_ping(&self, timeout: Duration) -> Option<Duration> {
        let t0 = Instant::now();
        proc::wait_until(timeout, Duration::from_millis(50), || {
            let o = self.onprem.exec_timeout(
                &[
                    "ping",
                    "-n",
                    "-c",
                    "1",
                    "-W",
                    "1",
                    "-I",
                    &ONPREM_HOST.to_string(),
                    &VPC_HOST.to_string(),
                ],
                Duration::from_secs(5),
            );
            o.success().then(|| t0.elapsed())
        })
    }

    /// Cut tunnel `n`'s path and measure how long until pings from on-prem
    /// reach the VPC host again (over the other tunnel). The path stays
    /// cut: call [`VpnTopology::restore_tunnel`]. `Err` says how long it
    /// waited in vain.
    pub fn measure_failover(&self, n: u8, timeout: Duration) -> Result<Duration, String> {
        let before = self.ping_vpc(1);
        if !before.success() {
            return Err(format!(
                "no end-to-end ping before cutting tunnel {n}: {before}"
            ));
        }
        self.cut_tunnel(n);
        self.wait_ping(timeout).ok_or_else(|| {
            format!(
                "pings did not reach {VPC_HOST} again within {timeout:?} after cutting tunnel {n}"
            )
        })
    }

    /// Send `bytes` over TCP from the on-prem host to the VPC host
    /// (listener on `port` in `vpc`); see [`tcp_transfer`].
    pub fn tcp_onprem_to_vpc(
        &self,
        bytes: u64,
        port: u16,
        timeout: Duration,
    ) -> Result<Transfer, String> {
        tcp_transfer(
            &self.onprem,
            &self.vpc,
            VPC_HOST.into(),
            port,
            bytes,
            timeout,
        )
    }
}

/// A finished TCP transfer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transfer {
    /// Bytes the receiver counted (and checked).
    pub bytes: u64,
    /// From connect to the receiver's acknowledgement.
    pub elapsed: Duration,
}

impl Transfer {
    /// Goodput in Mbit/s.
    pub fn mbit_per_s(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
    }
}

/// The byte at offset `i` of a transfer (a 251-periodic pattern, so a lost,
/// duplicated or reordered segment shows as a mismatch).
fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

/// Receive one connection on `listener` until EOF, checking the pattern,
/// then send the count back (8 bytes, big endian).
fn receive(listener: TcpListener, deadline: Instant) -> Result<u64, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut s = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err("receiver: no connection before the deadline".into());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("receiver: accept: {e}")),
        }
    };
    s.set_nonblocking(false).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut n: u64 = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("receiver: deadline passed after {n} bytes"));
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        let r = s
            .read(&mut buf)
            .map_err(|e| format!("receiver: read after {n} bytes: {e}"))?;
        if r == 0 {
            break;
        }
        for (k, b) in buf[..r].iter().enumerate() {
            if *b != pattern(n + k as u64) {
                return Err(format!("receiver: wrong byte at offset {}", n + k as u64));
            }
        }
        n += r as u64;
    }
    s.write_all(&n.to_be_bytes())
        .map_err(|e| format!("receiver: ack: {e}"))?;
    Ok(n)
}

/// Send `bytes` over TCP from namespace `from` to `to_addr:port` in
/// namespace `to` (a Rust listener there: no netcat needed), check every
/// byte on arrival and wait for the receiver's count. Bounded by `timeout`
/// as a whole.
pub fn tcp_transfer(
    from: &Netns,
    to: &Netns,
    to_addr: IpAddr,
    port: u16,
    bytes: u64,
    timeout: Duration,
) -> Result<Transfer, String> {
    let deadline = Instant::now() + timeout;
    let listener = to
        .run_in(|| TcpListener::bind((to_addr, port)))
        .map_err(|e| format!("bind {to_addr}:{port} in {}: {e}", to.name()))?;
    let receiver = std::thread::spawn(move || receive(listener, deadline));
    let t0 = Instant::now();
    let dst = SocketAddr::from((to_addr, port));
    let sent = (|| -> Result<u64, String> {
        let mut s = from
            .run_in(|| TcpStream::connect_timeout(&dst, timeout))
            .map_err(|e| format!("connect {dst} from {}: {e}", from.name()))?;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut off: u64 = 0;
        while off < bytes {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("sender: deadline passed after {off} bytes"));
            }
            s.set_write_timeout(Some(left)).map_err(|e| e.to_string())?;
            let len = (bytes - off).min(chunk.len() as u64) as usize;
            for (k, b) in chunk[..len].iter_mut().enumerate() {
                *b = pattern(off + k as u64);
            }
            s.write_all(&chunk[..len])
                .map_err(|e| format!("sender: write after {off} bytes: {e}"))?;
            off += len as u64;
        }
        s.shutdown(std::net::Shutdown::Write)
            .map_err(|e| e.to_string())?;
        let left = deadline.saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        let mut ack = [0u8; 8];
        s.read_exact(&mut ack)
            .map_err(|e| format!("sender: no acknowledgement: {e}"))?;
        Ok(u64::from_be_bytes(ack))
    })();
    let elapsed = t0.elapsed();
    let received = receiver
        .join()
        .map_err(|_| "receiver thread panicked".to_string())?;
    let acked = sent?;
    let received = received?;
    if acked != bytes || received != bytes {
        return Err(format!(
            "sent {bytes} bytes, receiver counted {received}, acknowledged {acked}"
        ));
    }
    Ok(Transfer {
        bytes: received,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_plans() {
        let [t1, t2] = TunnelPlan::both();
        assert_eq!(t1.aws_outside, Ipv4Addr::new(198, 51, 100, 10));
        assert_eq!(t2.aws_outside, Ipv4Addr::new(198, 51, 100, 20));
        assert_eq!(t1.inside.aws(), Ipv4Addr::new(169, 254, 10, 1));
        assert_eq!(t2.inside.cgw(), Ipv4Addr::new(169, 254, 20, 2));
        assert_eq!(t1.inside6.cidr(), "fd00:a9fe:10::/126");
        assert_eq!(t2.inside6.aws_cidr(), "fd00:a9fe:20::1/126");
        assert_ne!(t1.psk, t2.psk);
        for p in [&t1.psk, &t2.psk] {
            assert!((8..=64).contains(&p.len()) && !p.starts_with('0'));
            assert!(p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'));
        }
    }

    #[test]
    fn transfer_rate() {
        let t = Transfer {
            bytes: 1_000_000,
            elapsed: Duration::from_secs(1),
        };
        assert!((t.mbit_per_s() - 8.0).abs() < 1e-9);
        assert_eq!(pattern(251), 0);
        assert_eq!(pattern(252), 1);
    }
}
