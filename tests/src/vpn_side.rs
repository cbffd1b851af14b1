//! One side of the VPN lab played by real peers: two tunnel endpoints, each
//! a namespace with its own charon (kernel-libipsec: one `ipsec0` per
//! namespace) and BIRD, plus BIRD in the side's router namespace.
//!
//! Routing on a side (the same on the CGW and the AWS side):
//! - each endpoint's BIRD speaks eBGP with the other side over the tunnel's
//!   inside /30, announces the side's prefix (a static route in BIRD) and
//!   installs what it learns into its kernel table (routes into `ipsec0`);
//! - each endpoint's BIRD passes what it learned over eBGP to the router by
//!   iBGP (next hop self, over the endpoint-router /30);
//! - the router's BIRD prefers tunnel 1 (local preference 100 against 50)
//!   and installs the best path into its kernel table, so when tunnel 1's
//!   BGP session dies its routes are withdrawn and traffic moves to tunnel 2
//!   (in both directions: each side's router does this on its own).

use crate::bird::{parse_protocol, Bird, BirdConfig, ProtocolState};
use crate::netns::Netns;
use crate::proc;
use crate::strongswan::{Charon, CharonConfig, IkeSa};
use crate::vpn_topology::{EndpointNs, InsideIp, TunnelPlan, ONPREM6_HOST, VPC6_HOST};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// BGP protocol name of tunnel `n`'s session (eBGP in an endpoint, iBGP to
/// endpoint `n` in the router).
pub fn bgp_name(n: u8) -> String {
    format!("tun{n}")
}

/// A real tunnel endpoint: its namespace, charon and BIRD.
pub struct RealEndpoint {
    /// 1 or 2.
    pub number: u8,
    /// The tunnel as AWS configures it.
    pub plan: TunnelPlan,
    /// The namespace and its link to the router.
    pub link: EndpointNs,
    pub charon: Charon,
    pub bird: Bird,
}

impl RealEndpoint {
    /// The namespace.
    pub fn ns(&self) -> &Netns {
        &self.link.ns
    }

    /// The eBGP session's state.
    pub fn bgp_state(&self) -> ProtocolState {
        self.bird.protocol_state()
    }

    /// Both daemons' log tails.
    pub fn failure_context(&self) -> String {
        format!(
            "=== tunnel {} endpoint ({})\n{}\n{}",
            self.number,
            self.ns().name(),
            self.charon.failure_context(),
            self.bird.failure_context()
        )
    }
}

/// What differs between the two sides.
#[derive(Debug, Clone)]
pub struct SideSpec {
    /// `"cgw"` or `"aws"` (for messages).
    pub label: &'static str,
    pub asn: u32,
    pub peer_asn: u32,
    /// The prefix this side announces (on-prem or VPC).
    pub announce: String,
    /// `passive on` for the eBGP sessions (wait for the other side).
    pub bgp_passive: bool,
    /// Is this the AWS side (inside address .1) or the CGW side (.2)?
    pub aws_side: bool,
    /// What the tunnels carry: with [`InsideIp::V6`] the eBGP sessions run
    /// over the inside /126s with an IPv6 channel, and `announce` is IPv6.
    pub inside: InsideIp,
}

/// A side of the lab played by strongSwan + BIRD. Daemons stop on drop.
pub struct RealSide {
    pub spec: SideSpec,
    /// Tunnel 1's endpoint, then tunnel 2's.
    pub endpoints: Vec<RealEndpoint>,
    /// BIRD in the side's router namespace (`cgw` or `aws`).
    pub router: Bird,
    /// The router namespace.
    pub router_ns: Netns,
}

/// BIRD `kernel` protocol: BGP-learned routes go into the kernel table
/// (static announcements stay in BIRD: they are blackholes).
fn kernel_block(channel: &str) -> String {
    format!(
        "protocol kernel {{\n  {channel} {{ import none; export where source = RTS_BGP; }};\n}}"
    )
}

/// A directly connected iBGP session block with the lab's timers.
fn ibgp_block(name: &str, local: Ipv4Addr, neighbor: Ipv4Addr, asn: u32, channel: &str) -> String {
    format!(
        "protocol bgp {name} {{\n  local {local} as {asn};\n  neighbor {neighbor} as {asn};\n  \
         direct;\n  hold time 30;\n  keepalive time 10;\n  connect retry time 1;\n  \
         connect delay time 1;\n  ipv4 {{ {channel} }};\n}}"
    )
}

/// BIRD of tunnel endpoint `ep`: eBGP over the inside /30, iBGP to the router.
pub fn endpoint_bird_config(spec: &SideSpec, plan: &TunnelPlan, ep: &EndpointNs) -> BirdConfig {
    let mut c = match spec.inside {
        InsideIp::V4 => {
            let (local, neighbor) = if spec.aws_side {
                (plan.inside.aws(), plan.inside.cgw())
            } else {
                (plan.inside.cgw(), plan.inside.aws())
            };
            BirdConfig::new(local, spec.asn, neighbor, spec.peer_asn)
        }
        InsideIp::V6 => {
            let (local, neighbor) = if spec.aws_side {
                (plan.inside6.aws(), plan.inside6.cgw())
            } else {
                (plan.inside6.cgw(), plan.inside6.aws())
            };
            BirdConfig::new_v6(ep.link_addr, local, spec.asn, neighbor, spec.peer_asn)
        }
    };
    c.name = bgp_name(plan.number);
    // unique within the side's iBGP and against the other side
    c.router_id = ep.link_addr;
    c.static_routes = vec![spec.announce.clone()];
    c.passive = spec.bgp_passive;
    // after a hold timer expiry, come back within seconds once the path heals
    c.error_wait = Some((2, 10));
    c.extra_config = vec![
        ibgp_block(
            "to_router",
            ep.link_addr,
            ep.router_addr,
            spec.asn,
            "import none; export where source = RTS_BGP; next hop self;",
        ),
        kernel_block("ipv4"),
    ];
    if spec.inside == InsideIp::V6 {
        // the tunnel's IPv6 routes into the kernel (via ipsec0), with the
        // side's host address on `lo` as their source: what the endpoint
        // sends itself (a TCP connect) leaves from the LAN prefix the
        // other side routes back, not from the inside /126
        let host = if spec.aws_side {
            VPC6_HOST
        } else {
            ONPREM6_HOST
        };
        c.extra_config.push(format!(
            "protocol kernel {{\n  ipv6 {{ import none; export filter {{ \
             if source != RTS_BGP then reject; krt_prefsrc = {host}; accept; }}; }};\n}}"
        ));
    }
    c
}

/// BIRD of the side's router: iBGP to both endpoints, tunnel 1 preferred.
pub fn router_bird_config(spec: &SideSpec, eps: &[EndpointNs]) -> BirdConfig {
    let (e1, e2) = (&eps[0], &eps[1]);
    let mut c = BirdConfig::new(e1.router_addr, spec.asn, e1.link_addr, spec.asn);
    c.name = bgp_name(1);
    c.extra_bgp = vec!["direct;".into()];
    c.extra_config = vec![
        ibgp_block(
            &bgp_name(2),
            e2.router_addr,
            e2.link_addr,
            spec.asn,
            "import filter { bgp_local_pref = 50; accept; }; export none;",
        ),
        kernel_block("ipv4"),
    ];
    c
}

impl RealSide {
    /// Start a side: per tunnel, charon (config from `charon_config`) and
    /// BIRD in the endpoint's namespace, then BIRD in `router_ns`.
    pub fn start(
        spec: SideSpec,
        links: &[EndpointNs],
        router_ns: &Netns,
        mut charon_config: impl FnMut(&TunnelPlan, &EndpointNs) -> CharonConfig,
    ) -> RealSide {
        let endpoints = TunnelPlan::both()
            .into_iter()
            .zip(links.iter())
            .map(|(plan, link)| {
                let mut cc = charon_config(&plan, link);
                if spec.inside == InsideIp::V6 {
                    // an IPv6 connection: ::/0 both ways, the /126 on
                    // ipsec0 beside the IPv4 /30
                    cc.local_ts = "::/0".into();
                    cc.remote_ts = "::/0".into();
                    cc.inside_addr6 = Some(if spec.aws_side {
                        plan.inside6.aws_cidr()
                    } else {
                        plan.inside6.cgw_cidr()
                    });
                }
                let charon = Charon::start(&link.ns, cc);
                let bird = Bird::start(&link.ns, endpoint_bird_config(&spec, &plan, link));
                RealEndpoint {
                    number: plan.number,
                    plan,
                    link: link.clone(),
                    charon,
                    bird,
                }
            })
            .collect();
        let router = Bird::start(router_ns, router_bird_config(&spec, links));
        RealSide {
            spec,
            endpoints,
            router,
            router_ns: router_ns.clone(),
        }
    }

    /// Endpoint of tunnel `n` (1 or 2).
    pub fn endpoint(&self, n: u8) -> &RealEndpoint {
        &self.endpoints[usize::from(n - 1)]
    }

    /// Every daemon's log tail, for failure messages.
    pub fn failure_context(&self) -> String {
        let mut s = format!("===== {} side (real peers)\n", self.spec.label);
        for ep in &self.endpoints {
            s.push_str(&ep.failure_context());
            s.push('\n');
        }
        s.push_str(&format!(
            "=== router ({})\n{}\n--- kernel routes\n{}",
            self.router_ns.name(),
            self.router.failure_context(),
            self.router_ns.exec(&["ip", "route"]).stdout
        ));
        s
    }

    /// Wait until both endpoints have an ESTABLISHED IKE SA with an
    /// INSTALLED child; panics (with the logs) after `timeout`.
    pub fn wait_tunnels(&self, timeout: Duration) -> Vec<IkeSa> {
        let deadline = Instant::now() + timeout;
        self.endpoints
            .iter()
            .map(|ep| {
                ep.charon
                    .wait_established(deadline.saturating_duration_since(Instant::now()))
            })
            .collect()
    }

    /// Wait until both eBGP sessions are Established; panics after `timeout`.
    pub fn wait_bgp(&self, timeout: Duration) -> Vec<ProtocolState> {
        let deadline = Instant::now() + timeout;
        self.endpoints
            .iter()
            .map(|ep| {
                ep.bird
                    .wait_established(deadline.saturating_duration_since(Instant::now()))
            })
            .collect()
    }

    /// The router's iBGP session with endpoint `n`.
    pub fn router_session(&self, n: u8) -> ProtocolState {
        let name = bgp_name(n);
        let out = self.router.birdc_ok(&format!("show protocols all {name}"));
        parse_protocol(&out)
            .unwrap_or_else(|| panic!("cannot parse `show protocols all {name}`:\n{out}"))
    }

    /// Wait until the router's iBGP sessions with both endpoints are
    /// Established; panics after `timeout`.
    pub fn wait_ibgp(&self, timeout: Duration) {
        let ok = proc::wait_until(timeout, Duration::from_millis(100), || {
            (self.router_session(1).is_established() && self.router_session(2).is_established())
                .then_some(())
        });
        if ok.is_none() {
            panic!(
                "{} router: iBGP to both endpoints not Established within {timeout:?}: {:#?} {:#?}\n{}",
                self.spec.label,
                self.router_session(1),
                self.router_session(2),
                self.failure_context()
            );
        }
    }

    /// `ip route show PREFIX` in the router namespace.
    pub fn router_route(&self, prefix: &str) -> String {
        self.router_ns.route_show(prefix)
    }

    /// The tunnel (1 or 2) whose endpoint the router's kernel route for
    /// `prefix` points to right now.
    pub fn router_path(&self, prefix: &str) -> Option<u8> {
        let r = self.router_route(prefix);
        self.endpoints
            .iter()
            .find(|ep| r.contains(&format!("via {} ", ep.link.link_addr)))
            .map(|ep| ep.number)
    }

    /// Wait until the router's kernel routes `prefix` through tunnel `n`'s
    /// endpoint; returns the route, panics after `timeout`.
    pub fn wait_router_path(&self, prefix: &str, n: u8, timeout: Duration) -> String {
        let ok = proc::wait_until(timeout, Duration::from_millis(100), || {
            (self.router_path(prefix) == Some(n)).then(|| self.router_route(prefix))
        });
        ok.unwrap_or_else(|| {
            panic!(
                "{} router: no kernel route {prefix} via tunnel {n} within {timeout:?} (now: {:?})\n{}",
                self.spec.label,
                self.router_route(prefix),
                self.failure_context()
            )
        })
    }

    /// Wait until endpoint `n`'s kernel routes `prefix` into `ipsec0`
    /// (learned over eBGP); returns the route, panics after `timeout`.
    pub fn wait_endpoint_route(&self, n: u8, prefix: &str, timeout: Duration) -> String {
        let ep = self.endpoint(n);
        let show = || ep.ns().route_show(prefix);
        let ok = proc::wait_until(timeout, Duration::from_millis(100), || {
            let r = show();
            r.contains("dev ipsec0").then_some(r)
        });
        ok.unwrap_or_else(|| {
            panic!(
                "{} tunnel {n}: no kernel route {prefix} into ipsec0 within {timeout:?} (now: {:?})\n{}",
                self.spec.label,
                show(),
                self.failure_context()
            )
        })
    }

    /// Packets sent and received by endpoint `n`'s installed CHILD SAs
    /// (sum over children; `(out, in)`).
    pub fn child_packets(&self, n: u8) -> (u64, u64) {
        self.endpoint(n)
            .charon
            .list_sas()
            .iter()
            .flat_map(|s| s.children.iter())
            .fold((0, 0), |(o, i), c| (o + c.packets_out, i + c.packets_in))
    }
}
