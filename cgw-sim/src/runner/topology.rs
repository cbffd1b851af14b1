//! The default topology built from a scenario: the gateways, routers,
//! hosts and links of the module documentation, as a [`Lab`].

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::crypto::{DhGroup, Secret};
use ike::sa::{Dpd, EspProposal, IkeConfig, IkeProposal, Lifetimes};
use lab::wire::Prefix as LabPrefix;
use lab::{IfaceId, LinkConfig, LinkId, Nat, NatConfig, NodeId, Router, RuleId, Sim};

use super::bgp::BgpLab;
use super::hosts::PingHost;
use super::maintenance::AwsSide;
use super::wan_faults::SourceRewrite;
use crate::aws::options::generate_psk;
use crate::aws::{Encryption, Integrity, StartupAction};
use crate::diagnosis::Context;
use crate::node::{
    GatewayConfig, GatewayEvent, TunnelConfig, TunnelGateway, TunnelId, TunnelRole, INSIDE, OUTSIDE,
};
use crate::scenario::{CgwIke, Filter, Prefix, Role, Routing, Scenario};

pub(super) fn lab_prefix(p: &Prefix) -> Option<LabPrefix> {
    match p.addr {
        IpAddr::V4(a) => LabPrefix::new(a, p.len),
        IpAddr::V6(_) => None,
    }
}

/// The CGW's proposals from its AWS-style algorithm names: a CBC proposal
/// and an AEAD proposal as needed. Unknown names are errors.
pub(super) fn cgw_proposals(ike: &CgwIke) -> Result<(Vec<IkeProposal>, Vec<EspProposal>), String> {
    let encr = |names: &[String]| -> Result<Vec<Encryption>, String> {
        names
            .iter()
            .map(|n| n.parse::<Encryption>().map_err(|e| e.to_string()))
            .collect()
    };
    let integ = |names: &[String]| -> Result<Vec<Integrity>, String> {
        names
            .iter()
            .map(|n| n.parse::<Integrity>().map_err(|e| e.to_string()))
            .collect()
    };
    let groups = |ids: &[u16]| -> Result<Vec<DhGroup>, String> {
        ids.iter()
            .map(|g| DhGroup::from_id(*g).ok_or_else(|| format!("unknown DH group {g}")))
            .collect()
    };
    let p1e = encr(&ike.encryption)?;
    let p1i = integ(&ike.integrity)?;
    let p1g = groups(&ike.dh_groups)?;
    let p2e = encr(&ike.phase2_encryption)?;
    let p2i = integ(&ike.phase2_integrity)?;
    let p2g = groups(&ike.phase2_dh_groups)?;
    let prf: Vec<_> = p1i.iter().map(|i| i.prf()).collect();
    let mut ikep = Vec::new();
    let (cbc, gcm): (Vec<Encryption>, Vec<Encryption>) =
        p1e.iter().copied().partition(|e| !e.is_aead());
    if !cbc.is_empty() {
        ikep.push(IkeProposal {
            encr: cbc.iter().map(|e| e.alg()).collect(),
            prf: prf.clone(),
            integ: p1i.iter().map(|i| i.integ()).collect(),
            dh: p1g.clone(),
        });
    }
    if !gcm.is_empty() {
        ikep.push(IkeProposal {
            encr: gcm.iter().map(|e| e.alg()).collect(),
            prf,
            integ: Vec::new(),
            dh: p1g,
        });
    }
    let mut espp = Vec::new();
    let (cbc, gcm): (Vec<Encryption>, Vec<Encryption>) =
        p2e.iter().copied().partition(|e| !e.is_aead());
    if !cbc.is_empty() {
        espp.push(EspProposal {
            encr: cbc.iter().map(|e| e.alg()).collect(),
            integ: p2i.iter().map(|i| i.integ()).collect(),
            dh: p2g.clone(),
        });
    }
    if !gcm.is_empty() {
        espp.push(EspProposal {
            encr: gcm.iter().map(|e| e.alg()).collect(),
            integ: Vec::new(),
            dh: p2g,
        });
    }
    if ikep.is_empty() || espp.is_empty() {
        return Err("the CGW offers no phase 1 or no phase 2 encryption".into());
    }
    Ok((ikep, espp))
}

/// An IKEv1 CGW's Main Mode suites: every combination of its phase 1
/// encryption, integrity and DH group, in the order written (IKEv1 offers
/// whole suites, one per transform). AES-GCM has no IKEv1 phase 1 form.
pub(super) fn cgw_ikev1_suites(ike: &CgwIke) -> Result<Vec<ike::ikev1::Suite>, String> {
    use ike::ikev1::{Cipher, Hash, Suite};
    let mut suites = Vec::new();
    for e in &ike.encryption {
        let cipher = match e.parse::<Encryption>().map_err(|x| x.to_string())? {
            Encryption::Aes128 => Cipher::AesCbc(128),
            Encryption::Aes256 => Cipher::AesCbc(256),
            gcm => return Err(format!("{gcm} is not an IKEv1 phase 1 cipher")),
        };
        for i in &ike.integrity {
            let hash = match i.parse::<Integrity>().map_err(|x| x.to_string())? {
                Integrity::Sha1 => Hash::Sha1,
                Integrity::Sha2_256 => Hash::Sha2_256,
                Integrity::Sha2_384 => Hash::Sha2_384,
                Integrity::Sha2_512 => Hash::Sha2_512,
            };
            for g in &ike.dh_groups {
                suites.push(Suite {
                    cipher,
                    hash,
                    group: *g,
                    lifetime_secs: u32::try_from(ike.phase1_lifetime.as_secs()).unwrap_or(u32::MAX),
                });
            }
        }
    }
    if suites.is_empty() || suites.len() > 255 {
        return Err(format!(
            "IKEv1 Main Mode offers 1 to 255 suites; this configuration makes {}",
            suites.len()
        ));
    }
    Ok(suites)
}

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
        let aws_psk = opts
            .psk
            .clone()
            .unwrap_or_else(|| generate_psk(seed.wrapping_add(i as u64)));
        let cgw_psk = cgw_t.ike.psk.clone().unwrap_or_else(|| aws_psk.clone());
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
        let (ikep, espp) =
            cgw_proposals(&cgw_t.ike).map_err(|e| format!("cgw.tunnel{}.ike: {e}", i + 1))?;
        if i == 0 {
            cgw_ike_all = (ikep.clone(), espp.clone());
        }
        let mut cgw_cfg = IkeConfig::new(Secret::new(cgw_psk.into_bytes()), ikep, espp);
        cgw_cfg.lifetimes = Lifetimes {
            ike: cgw_t.ike.phase1_lifetime,
            child: cgw_t.ike.phase2_lifetime,
            margin: cgw_t.ike.rekey_margin,
            fuzz_percent: cgw_t.ike.rekey_fuzz,
        };
        // A policy-based CGW: one child SA pair per (local, remote)
        // selector pair, the first in IKE_AUTH, the others by
        // CREATE_CHILD_SA once the IKE SA is up.
        let mut pairs = selector_pairs(&cgw_t.ike)
            .map_err(|e| format!("cgw.tunnel{}.ike: {e}", i + 1))?
            .into_iter();
        if let Some((l, r)) = pairs.next() {
            cgw_cfg.local_ts = l;
            cgw_cfg.remote_ts = r;
        }
        let extra_selectors: Vec<_> = pairs.collect();
        cgw_cfg.dpd = cgw_t.ike.dpd.as_ref().map(|d| Dpd {
            delay: d.interval,
            timeout: d.timeout,
            action: d.action.engine(),
        });
        let ikev1 = match cgw_t.ike.version {
            1 => Some(
                cgw_ikev1_suites(&cgw_t.ike)
                    .map_err(|e| format!("cgw.tunnel{}.ike: {e}", i + 1))?,
            ),
            _ => None,
        };
        cgw_tunnels.push(TunnelConfig {
            extra_selectors,
            ikev1,
            clear_df: cgw_t.clear_df,
            mss_clamp: cgw_t.mss_clamp,
            idle_timeout: cgw_t.ike.idle_timeout,
            peer: aws_addr[i],
            inside_local: inside_cgw,
            inside_remote: inside_aws,
            ike: Arc::new(cgw_cfg),
            role: match (cgw_t.enabled, cgw_t.ike.role) {
                (true, Role::Initiator) => TunnelRole::Initiator,
                _ => TunnelRole::Responder,
            },
        });
        let eng = opts.engine_config(Secret::new(aws_psk.into_bytes()));
        let gcfg = GatewayConfig {
            outer: aws_addr[i],
            tunnels: vec![TunnelConfig {
                peer: aws_sees,
                inside_local: inside_aws,
                inside_remote: inside_cgw,
                ike: Arc::new(eng.ike),
                role: if opts.startup_action == StartupAction::Start {
                    TunnelRole::Initiator
                } else {
                    TunnelRole::Responder
                },
                ikev1: None,
                // Large packets with DF set from the VPC draw an ICMP
                // "fragmentation needed"; others are fragmented.
                clear_df: false,
                mss_clamp: None,
                // AWS keeps idle tunnels (its DPD handles dead peers).
                idle_timeout: None,
                extra_selectors: Vec::new(),
            }],
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

/// The CGW's child SA pairs: every local selector with every remote one,
/// in order (a policy-based device's crypto ACL lines). The default
/// 0.0.0.0/0 both ways is one pair (route-based).
fn selector_pairs(ike: &CgwIke) -> Result<Vec<crate::node::SelectorPair>, String> {
    let ts = |p: &Prefix| -> Result<ike::wire::TrafficSelector, String> {
        let lp = lab_prefix(p).ok_or_else(|| format!("selector {p} is not IPv4"))?;
        let lo = u32::from(lp.addr());
        let hi = lo | u32::MAX.checked_shr(u32::from(lp.len())).unwrap_or(0);
        Ok(ike::wire::TrafficSelector {
            ts_type: ike::wire::TsType::IPV4_ADDR_RANGE,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: IpAddr::V4(Ipv4Addr::from(lo)),
            end_addr: IpAddr::V4(Ipv4Addr::from(hi)),
        })
    };
    let mut v = Vec::new();
    for l in &ike.local_selectors {
        for r in &ike.remote_selectors {
            v.push((vec![ts(l)?], vec![ts(r)?]));
        }
    }
    Ok(v)
}

pub(super) fn seed_bytes(seed: u64, salt: u8) -> [u8; 32] {
    let mut b = [salt; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b
}

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
