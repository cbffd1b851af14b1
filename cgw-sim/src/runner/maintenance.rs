//! The AWS side's own actions during a run: endpoint replacement (AWS
//! maintenance) with the MED bias on the other tunnel, and lifetime
//! changes (`set_lifetime`) on either side.

use std::time::{Duration, Instant};

use super::topology::Lab;
use crate::aws::TunnelOptions;
use crate::node::{TunnelGateway, TunnelId, TunnelRole};
use crate::scenario::{SetLifetime, Side, TunnelId as ScenarioTunnel};

/// What AWS adds to the MED it advertises on a tunnel while the other
/// tunnel's endpoint is being replaced: AWS lowers it so that traffic
/// prefers the tunnel that is not in maintenance (AWS-VPN-FACTS.md
/// section 2). AWS does not publish the amount; the BGP side applies
/// this bias to its MED.
pub const MAINTENANCE_MED_BIAS: i32 = -100;

/// The AWS side's state that is not in its gateways.
#[derive(Debug, Clone)]
pub(super) struct AwsSide {
    /// The tunnels' options (to validate lifetime changes against AWS's
    /// ranges).
    pub options: [TunnelOptions; 2],
    /// Endpoint replacements: tunnel index and when.
    pub replaced: Vec<(usize, Instant)>,
    /// Per tunnel: what AWS adds to the MED it advertises there (see
    /// [`MAINTENANCE_MED_BIAS`]); 0 outside maintenance.
    pub med_bias: [i32; 2],
    /// The tunnel whose endpoint is being replaced, until it is up again.
    pub maintenance: Option<usize>,
    /// Every change of `med_bias`: when, tunnel index, new bias.
    pub med_changes: Vec<(Instant, usize, i32)>,
}

impl AwsSide {
    pub(super) fn new(options: [TunnelOptions; 2]) -> AwsSide {
        AwsSide {
            options,
            replaced: Vec::new(),
            med_bias: [0; 2],
            maintenance: None,
            med_changes: Vec::new(),
        }
    }

    fn set_bias(&mut self, at: Instant, tunnel: usize, bias: i32) {
        if self.med_bias[tunnel] != bias {
            self.med_bias[tunnel] = bias;
            self.med_changes.push((at, tunnel, bias));
        }
    }
}

/// `replace_endpoint`: the tunnel's AWS gateway is replaced by a fresh one
/// with the same outside address and options. Every SA is lost, nothing
/// is deleted on the wire; with startup action add the new endpoint waits
/// for the CGW. AWS lowers the MED on the other tunnel until the replaced
/// tunnel is up again ([`tick`]).
pub(super) fn replace_endpoint(lab: &mut Lab, tunnel: ScenarioTunnel) -> Result<(), String> {
    let i = tunnel.index();
    let name = ["aws1", "aws2"][i];
    let Some((_, id, cfg, routes)) = lab.gateways.iter().find(|g| g.0 == name).cloned() else {
        return Err(format!("replace_endpoint {}: no gateway {name}", i + 1));
    };
    let now = lab.sim.now();
    if let Some(g) = lab.sim.node::<TunnelGateway>(id) {
        let old = g.events().to_vec();
        lab.stashed.extend(old.into_iter().map(|e| (id, e)));
    }
    // Startup action start: the new endpoint initiates as the old one did;
    // with add it waits for the CGW.
    let initiates = cfg
        .tunnels
        .first()
        .is_some_and(|t| t.role == TunnelRole::Initiator);
    renew_gateway(lab, id, cfg, routes);
    if initiates {
        lab.sim
            .with_node(id, |g: &mut TunnelGateway| g.initiate(TunnelId(0), now));
    }
    lab.aws_side.replaced.push((i, now));
    lab.aws_side.maintenance = Some(i);
    lab.aws_side.set_bias(now, 1 - i, MAINTENANCE_MED_BIAS);
    Ok(())
}

/// Replaces gateway `id` by a new one with `cfg` (its seed varied per
/// renewal) and `routes`: every SA and event of the old one is gone (the
/// caller stashes its events first).
pub(super) fn renew_gateway(
    lab: &mut Lab,
    id: lab::NodeId,
    mut cfg: crate::node::GatewayConfig,
    routes: Vec<(lab::Prefix, TunnelId)>,
) {
    lab.restarts = lab.restarts.wrapping_add(1);
    cfg.seed[31] ^= lab.restarts;
    lab.sim.with_node(id, |g: &mut TunnelGateway| {
        // A capture keeps the keys of the gateway's earlier lives; the BGP
        // speaker stays linked to the control-plane interface.
        let keys = g.take_key_log();
        let control = g.has_control_plane();
        *g = TunnelGateway::new(cfg);
        g.set_key_log(keys);
        if control {
            g.attach_control_plane();
        }
        for (p, t) in routes {
            g.set_route(p, t);
        }
    });
}

/// Ends the maintenance once the replaced endpoint's tunnel is up again:
/// the MED bias on the other tunnel goes back to 0.
pub(super) fn tick(lab: &mut Lab) {
    let Some(i) = lab.aws_side.maintenance else {
        return;
    };
    let up = lab
        .sim
        .node::<TunnelGateway>(lab.aws[i])
        .is_some_and(|g| g.is_up(TunnelId(0)));
    if up {
        let now = lab.sim.now();
        lab.aws_side.maintenance = None;
        lab.aws_side.set_bias(now, 1 - i, 0);
    }
}

/// `set_lifetime`: new phase 1 and/or phase 2 lifetimes on one side, for
/// one tunnel or both, from now on (SAs already installed keep their
/// deadlines: the change shows at the next rekey). On the AWS side the new
/// values must be within AWS's ranges ([`TunnelOptions::validate`]).
pub(super) fn set_lifetime(lab: &mut Lab, s: &SetLifetime) -> Result<(), String> {
    let tunnels: Vec<usize> = match s.tunnel {
        Some(t) => vec![t.index()],
        None => vec![0, 1],
    };
    let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    for i in tunnels {
        let (node, tid, name) = match s.side {
            Side::Cgw => (lab.cgw, TunnelId(i), "cgw"),
            Side::Aws => (lab.aws[i], TunnelId(0), ["aws1", "aws2"][i]),
        };
        let mut lifetimes = match s.side {
            Side::Aws => {
                let mut o = lab.aws_side.options[i].clone();
                if let Some(p1) = s.phase1 {
                    o.phase1_lifetime_seconds = secs(p1);
                }
                if let Some(p2) = s.phase2 {
                    o.phase2_lifetime_seconds = secs(p2);
                }
                o.validate().map_err(|errs| {
                    errs.iter()
                        .map(|e| format!("set_lifetime aws tunnel {}: {e}", i + 1))
                        .collect::<Vec<_>>()
                        .join("; ")
                })?;
                let l = o.lifetimes();
                lab.aws_side.options[i] = o;
                l
            }
            Side::Cgw => lab
                .sim
                .node::<TunnelGateway>(node)
                .and_then(|g| g.lifetimes(tid))
                .ok_or_else(|| format!("set_lifetime: no cgw tunnel {}", i + 1))?,
        };
        if s.side == Side::Cgw {
            if let Some(p1) = s.phase1 {
                lifetimes.ike = p1;
            }
            if let Some(p2) = s.phase2 {
                lifetimes.child = p2;
            }
        }
        lab.sim.with_node(node, |g: &mut TunnelGateway| {
            g.set_lifetimes(tid, lifetimes)
        });
        // A later restart or replacement keeps the new lifetimes.
        if let Some(slot) = lab.gateways.iter_mut().find(|g| g.0 == name) {
            if let Some(t) = slot.2.tunnels.get_mut(tid.0) {
                let mut c = (*t.ike).clone();
                c.lifetimes = lifetimes;
                t.ike = std::sync::Arc::new(c);
            }
        }
    }
    Ok(())
}
