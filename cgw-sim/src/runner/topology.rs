//! The default topology built from a scenario: the gateways, routers,
//! hosts and links of the module documentation, as a [`Lab`].

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ike::crypto::Secret;
use lab::wire::Prefix as LabPrefix;
use lab::{IfaceId, LinkConfig, LinkId, Nat, NatConfig, NodeId, Router, RuleId, Sim};

use super::bgp::BgpLab;
use super::hosts::PingHost;
use super::maintenance::AwsSide;
use super::wan_faults::SourceRewrite;
use crate::assemble::aws::aws_tunnel;
use crate::assemble::cgw::{cgw_proposals, cgw_tunnel};
use crate::assemble::Inside;
use crate::diagnosis::Context;
use crate::node::{GatewayConfig, GatewayEvent, TunnelGateway, TunnelId, INSIDE, OUTSIDE};
use crate::scenario::{Filter, Routing, Scenario};

pub(super) use crate::assemble::lab_prefix;

/// A gateway by name ("cgw", "aws1", "aws2"): node, configuration and
/// routes, to restart it.
pub(super) type GatewaySlot = (
    &'static str,
    NodeId,
    GatewayConfig,
    Vec<(LabPrefix, TunnelId)>,
);

pub(super) struct Lab {
    pub(super) sim: Sim,
    pub(super) cgw: NodeId,
    pub(super) aws: [NodeId; 2],
    pub(super) onprem: NodeId,
    pub(super) vpc: NodeId,
    pub(super) vpc_router: NodeId,
    pub(super) internet: NodeId,
    pub(super) rewrite: NodeId,
    /// The AWS endpoints' outside addresses.
    pub(super) aws_addr: [Ipv4Addr; 2],
    /// The gateways by name ("cgw", "aws1", "aws2"): node, configuration
    /// and routes, to restart them.
    pub(super) gateways: Vec<GatewaySlot>,
    /// Events of gateways before their restarts (plus a teardown per
    /// tunnel at the restart).
    pub(super) stashed: Vec<(NodeId, GatewayEvent)>,
    /// Restarts so far (varies the restarted gateway's seed).
    pub(super) restarts: u8,
    /// Set when the CGW restarted: the runner initiates its tunnels again.
    pub(super) cgw_restarted: bool,
    /// The CGW's source address as AWS sees it, when a fault changed it.
    pub(super) cgw_source: Option<Ipv4Addr>,
    pub(super) links: Vec<(&'static str, LinkId)>,
    /// Firewall rules added by `block`, to remove on `unblock`.
    pub(super) blocks: Vec<(Filter, LinkId, Vec<RuleId>)>,
    /// The BGP speakers, with `routing = "bgp"`.
    pub(super) bgp: Option<BgpLab>,
    /// The AWS side's state outside its gateways (maintenance, MED bias).
    pub(super) aws_side: AwsSide,
}

impl Lab {
    pub(super) fn link(&self, name: &str) -> Option<LinkId> {
        self.links.iter().find(|l| l.0 == name).map(|l| l.1)
    }
}

pub(super) struct Built {
    pub(super) lab: Lab,
    pub(super) cgw_ctx: Context,
    pub(super) aws_ctx: Context,
}

#[allow(clippy::needless_range_loop, clippy::vec_init_then_push)]
pub(super) fn build(s: &Scenario, seed: u64) -> Result<Built, String> {
    let topo = &s.topology;
    let vpn = s.vpn_connection();
    let mut sim = Sim::new(Instant::now(), seed);
    let aws_addr = [topo.aws_tunnel1_address, topo.aws_tunnel2_address];
    // The customer gateway IP configured at AWS: the CGW's address, or the
    // NAT's public address when the CGW is behind a NAT.
    let aws_sees = topo
        .nat
        .as_ref()
        .map_or(topo.cgw_address, |n| n.public_address);
    let bgp_routing = s.aws.routing == Routing::Bgp;
    let mut inside = [(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED); 2];
    let mut cgw_tunnels = Vec::new();
    let mut aws_nodes = Vec::new();
    let mut aws_cfgs = Vec::new();
    let mut cgw_ike_all = (Vec::new(), Vec::new());
    let onprem_pfx = lab_prefix(&topo.onprem_cidr).ok_or("topology.onprem_cidr must be IPv4")?;
    let vpc_pfx = lab_prefix(&topo.vpc_cidr).ok_or("topology.vpc_cidr must be IPv4")?;
    for i in 0..2 {
        let opts = &vpn.tunnels[i];
        let cgw_t: &crate::scenario::CgwTunnel = if i == 0 {
            &s.cgw.tunnel1
        } else {
            &s.cgw.tunnel2
        };
        let (aws_psk, cgw_psk) = crate::assemble::scenario_psks(opts, cgw_t, seed, i);
        let (inside_aws, inside_cgw) = match opts.inside_cidr {
            Some(c) => {
                let n = u32::from(c.network());
                (Ipv4Addr::from(n + 1), Ipv4Addr::from(n + 2))
            }
            None => (
                Ipv4Addr::new(169, 254, 10 + i as u8, 1),
                Ipv4Addr::new(169, 254, 10 + i as u8, 2),
            ),
        };
        inside[i] = (inside_aws, inside_cgw);
        if i == 0 {
            cgw_ike_all =
                cgw_proposals(&cgw_t.ike).map_err(|e| format!("cgw.tunnel{}.ike: {e}", i + 1))?;
        }
        let ins = Inside {
            aws: inside_aws,
            cgw: inside_cgw,
            v6: None,
        };
        cgw_tunnels.push(
            cgw_tunnel(cgw_t, aws_addr[i], ins, Secret::new(cgw_psk.into_bytes()))
                .map_err(|e| format!("cgw.tunnel{}.{e}", i + 1))?,
        );
        let gcfg = GatewayConfig {
            outer: aws_addr[i],
            tunnels: vec![aws_tunnel(
                opts,
                aws_sees,
                ins,
                Secret::new(aws_psk.into_bytes()),
            )],
            seed: seed_bytes(seed, 0x10 + i as u8),
        };
        let mut gw = TunnelGateway::new(gcfg.clone());
        aws_cfgs.push(gcfg);
        // With BGP the routes come from the sessions (`bgp::BgpLab::sync`).
        if !bgp_routing {
            gw.set_route(onprem_pfx, TunnelId(0));
        }
        for p in &s.aws.static_routes {
            if let Some(p) = lab_prefix(p) {
                gw.set_route(p, TunnelId(0));
            }
        }
        aws_nodes.push(gw);
    }
    let cgw_cfg = GatewayConfig {
        outer: topo.cgw_address,
        tunnels: cgw_tunnels,
        seed: seed_bytes(seed, 0x01),
    };
    let mut cgw = TunnelGateway::new(cgw_cfg.clone());
    // With BGP the CGW's routes come from its sessions.
    if !bgp_routing {
        cgw.set_route(vpc_pfx, TunnelId(0));
        for p in &s.cgw.static_routes {
            if let Some(p) = lab_prefix(p) {
                cgw.set_route(p, TunnelId(0));
            }
        }
    }
    let internet = Router::new()
        .with_route(LabPrefix::host(topo.cgw_address), IfaceId(0))
        .with_route(LabPrefix::host(aws_sees), IfaceId(0))
        .with_route(LabPrefix::host(aws_addr[0]), IfaceId(1))
        .with_route(LabPrefix::host(aws_addr[1]), IfaceId(2));
    let mut vpc_router = Router::new().with_route(vpc_pfx, IfaceId(2));
    if s.aws.route_propagation && !bgp_routing {
        vpc_router.add_route(onprem_pfx, IfaceId(0));
    }
    let cgw_routes = cgw.routes().to_vec();
    let aws_routes: Vec<Vec<(LabPrefix, TunnelId)>> =
        aws_nodes.iter().map(|g| g.routes().to_vec()).collect();
    let mut aws_iter = aws_nodes.into_iter();
    let cgw = sim.add_node(cgw);
    let aws1 = sim.add_node(aws_iter.next().expect("two AWS tunnels"));
    let aws2 = sim.add_node(aws_iter.next().expect("two AWS tunnels"));
    let internet = sim.add_node(internet);
    let rewrite = sim.add_node(SourceRewrite {
        cgw: topo.cgw_address,
        to: None,
        out: VecDeque::new(),
        ike_faults: Vec::new(),
    });
    let vpc_router = sim.add_node(vpc_router);
    let epoch = sim.epoch();
    let onprem = sim.add_node(PingHost::new(
        epoch,
        topo.onprem_host,
        onprem_pfx.len(),
        lan_gateway(onprem_pfx, topo.onprem_host),
        seed ^ 0x0e,
    ));
    let vpc = sim.add_node(PingHost::new(
        epoch,
        topo.vpc_host,
        vpc_pfx.len(),
        lan_gateway(vpc_pfx, topo.vpc_host),
        seed ^ 0x0f,
    ));
    let cfg = |name: &str, default_ms: u64| -> LinkConfig {
        let mut c = LinkConfig::with_latency(Duration::from_millis(default_ms));
        if let Some(l) = topo.links.get(name) {
            if let Some(x) = l.latency {
                c.latency = x;
            }
            if let Some(x) = l.jitter {
                c.jitter = x;
            }
            if let Some(x) = l.loss {
                c.loss = x / 100.0;
            }
            if let Some(x) = l.mtu {
                c.mtu = x as usize;
            }
        }
        c
    };
    let err = || "topology: could not connect a link".to_string();
    let mut aws_cfgs = aws_cfgs.into_iter();
    let gateways = vec![
        ("cgw", cgw, cgw_cfg, cgw_routes),
        (
            "aws1",
            aws1,
            aws_cfgs.next().ok_or("two AWS tunnels")?,
            aws_routes[0].clone(),
        ),
        (
            "aws2",
            aws2,
            aws_cfgs.next().ok_or("two AWS tunnels")?,
            aws_routes[1].clone(),
        ),
    ];
    let mut links = Vec::new();
    links.push((
        "onprem-lan",
        sim.connect((onprem, IfaceId(0)), (cgw, INSIDE), cfg("onprem-lan", 1))
            .ok_or_else(err)?,
    ));
    if let Some(n) = &topo.nat {
        let mut nc = NatConfig::new(IfaceId(0), IfaceId(1), n.public_address);
        nc.udp_timeout = n.mapping_timeout;
        nc.icmp_timeout = n.mapping_timeout;
        let nat = sim.add_node(Nat::new(nc));
        links.push((
            "cgw-wan",
            sim.connect((rewrite, IfaceId(1)), (nat, IfaceId(0)), cfg("cgw-wan", 1))
                .ok_or_else(err)?,
        ));
        links.push((
            "nat-wan",
            sim.connect(
                (nat, IfaceId(1)),
                (internet, IfaceId(0)),
                cfg("nat-wan", 15),
            )
            .ok_or_else(err)?,
        ));
    } else {
        links.push((
            "cgw-wan",
            sim.connect(
                (rewrite, IfaceId(1)),
                (internet, IfaceId(0)),
                cfg("cgw-wan", 15),
            )
            .ok_or_else(err)?,
        ));
    }
    sim.connect((cgw, OUTSIDE), (rewrite, IfaceId(0)), LinkConfig::default())
        .ok_or_else(err)?;
    links.push((
        "aws1-wan",
        sim.connect((aws1, OUTSIDE), (internet, IfaceId(1)), cfg("aws1-wan", 15))
            .ok_or_else(err)?,
    ));
    links.push((
        "aws2-wan",
        sim.connect((aws2, OUTSIDE), (internet, IfaceId(2)), cfg("aws2-wan", 15))
            .ok_or_else(err)?,
    ));
    sim.connect(
        (aws1, INSIDE),
        (vpc_router, IfaceId(0)),
        LinkConfig::with_latency(Duration::from_millis(1)),
    )
    .ok_or_else(err)?;
    sim.connect(
        (aws2, INSIDE),
        (vpc_router, IfaceId(1)),
        LinkConfig::with_latency(Duration::from_millis(1)),
    )
    .ok_or_else(err)?;
    links.push((
        "vpc-lan",
        sim.connect(
            (vpc, IfaceId(0)),
            (vpc_router, IfaceId(2)),
            cfg("vpc-lan", 1),
        )
        .ok_or_else(err)?,
    ));
    let bgp = if bgp_routing {
        Some(super::bgp::attach(
            &mut sim,
            s,
            cgw,
            [aws1, aws2],
            inside,
            seed,
        )?)
    } else {
        None
    };
    let cgw_address = Some(IpAddr::V4(aws_sees));
    let cgw_source = cgw_address;
    let cgw_ctx = Context::cgw()
        .with_cgw_proposals(cgw_ike_all.0.clone(), cgw_ike_all.1.clone())
        .with_addresses(cgw_address, cgw_source, Some(IpAddr::V4(aws_addr[0])));
    let aws_ctx = Context::aws()
        .with_cgw_proposals(cgw_ike_all.0, cgw_ike_all.1)
        .with_addresses(cgw_address, cgw_source, Some(IpAddr::V4(aws_addr[0])));
    Ok(Built {
        lab: Lab {
            sim,
            cgw,
            aws: [aws1, aws2],
            onprem,
            vpc,
            vpc_router,
            internet,
            rewrite,
            aws_addr,
            gateways,
            stashed: Vec::new(),
            restarts: 0,
            cgw_restarted: false,
            cgw_source: None,
            links,
            blocks: Vec::new(),
            bgp,
            aws_side: AwsSide::new(vpn.tunnels.clone()),
        },
        cgw_ctx,
        aws_ctx,
    })
}

pub(super) use crate::assemble::seed_bytes;

/// The address a LAN host uses as its gateway: the first of the LAN's
/// prefix (the second when the host holds the first).
fn lan_gateway(lan: LabPrefix, host: Ipv4Addr) -> Ipv4Addr {
    let first = Ipv4Addr::from(u32::from(lan.addr()) + 1);
    if first == host {
        Ipv4Addr::from(u32::from(lan.addr()) + 2)
    } else {
        first
    }
}
