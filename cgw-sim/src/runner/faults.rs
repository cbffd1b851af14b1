//! Applying a scenario's faults to the running lab.

use std::net::IpAddr;

use ike::sa::DeletedBy;
use lab::wire::{Prefix as LabPrefix, PROTO_ESP, PROTO_UDP};
use lab::{IfaceId, Router, Rule};

use super::report;
use super::topology::Lab;
use super::wan_faults::{IkeFaultRule, SourceRewrite};
use crate::node::{DownCause, GatewayEvent, TunnelEventKind, TunnelGateway, TunnelId};
use crate::scenario::{FaultAction, Filter, Protocol};

pub(super) fn filter_rules(f: &Filter) -> Vec<Rule> {
    let protocol = f.protocol.map(|p| match p {
        Protocol::Udp => PROTO_UDP,
        Protocol::Esp => PROTO_ESP,
    });
    let base = Rule {
        protocol,
        port: f.port,
        ..Rule::default()
    };
    match f.address {
        Some(IpAddr::V4(a)) => vec![
            Rule {
                src: Some(LabPrefix::host(a)),
                ..base
            },
            Rule {
                dst: Some(LabPrefix::host(a)),
                ..base
            },
        ],
        _ => vec![base],
    }
}

/// Applies one fault; `Err` says why it cannot be applied.
pub(super) fn apply_fault(lab: &mut Lab, action: &FaultAction) -> Result<(), String> {
    let link_of = |lab: &Lab, name: &str| {
        lab.link(name)
            .ok_or_else(|| format!("no link {name:?} in the runner's topology"))
    };
    match action {
        FaultAction::Block(f) => {
            let link = link_of(lab, f.link.as_deref().unwrap_or("cgw-wan"))?;
            let mut ids = Vec::new();
            for r in filter_rules(f) {
                if let Some(id) = lab.sim.add_link_rule(link, r) {
                    ids.push(id);
                }
            }
            lab.blocks.push((f.clone(), link, ids));
            Ok(())
        }
        FaultAction::Unblock(f) => {
            let link = link_of(lab, f.link.as_deref().unwrap_or("cgw-wan"))?;
            let want = Filter {
                link: None,
                ..f.clone()
            };
            let Some(pos) = lab.blocks.iter().position(|(bf, bl, _)| {
                *bl == link
                    && Filter {
                        link: None,
                        ..bf.clone()
                    } == want
            }) else {
                return Err("unblock: no matching block".into());
            };
            let (_, link, ids) = lab.blocks.remove(pos);
            if let Some(fw) = lab.sim.link_firewall_mut(link) {
                for id in ids {
                    fw.remove_rule(id);
                }
            }
            Ok(())
        }
        FaultAction::LinkDown(name) | FaultAction::LinkUp(name) => {
            let link = link_of(lab, name)?;
            let mut c = lab.sim.link_config(link).ok_or("no such link")?;
            c.up = matches!(action, FaultAction::LinkUp(_));
            lab.sim.set_link_config(link, c);
            Ok(())
        }
        FaultAction::Impair(imp) => {
            let link = link_of(lab, &imp.link)?;
            let mut c = lab.sim.link_config(link).ok_or("no such link")?;
            if let Some(x) = imp.latency {
                c.latency = x;
            }
            if let Some(x) = imp.jitter {
                c.jitter = x;
            }
            if let Some(x) = imp.loss {
                c.loss = x / 100.0;
            }
            if let Some(x) = imp.mtu {
                c.mtu = x as usize;
            }
            lab.sim.set_link_config(link, c);
            Ok(())
        }
        FaultAction::SetCgwSourceAddress(IpAddr::V4(a)) => {
            let a = *a;
            lab.sim.with_node(lab.rewrite, |r: &mut SourceRewrite| {
                r.to = (a != r.cgw).then_some(a);
            });
            lab.sim.with_node(lab.internet, |r: &mut Router| {
                r.add_route(LabPrefix::host(a), IfaceId(0))
            });
            lab.cgw_source = Some(a);
            Ok(())
        }
        FaultAction::DropIkeMessage(m) | FaultAction::MangleIkeMessage(m) => {
            if m.n == 0 {
                return Err("drop/mangle_ike_message: n starts at 1".into());
            }
            let peer = lab.aws_addr[m.tunnel.map_or(0, |t| t.index())];
            let rule = IkeFaultRule {
                peer,
                from_cgw: m.from.map(|f| f == crate::scenario::Side::Cgw),
                skip: m.n - 1,
                mangle: matches!(action, FaultAction::MangleIkeMessage(_)),
                done: false,
            };
            lab.sim
                .with_node(lab.rewrite, |r: &mut SourceRewrite| r.ike_faults.push(rule));
            Ok(())
        }
        FaultAction::Restart(name) => {
            let Some((_, id, cfg, routes)) =
                lab.gateways.iter().find(|g| g.0 == name.as_str()).cloned()
            else {
                return Err(format!("restart {name}: not supported yet (gateways only)"));
            };
            let now = lab.sim.now();
            if let Some(g) = lab.sim.node::<TunnelGateway>(id) {
                let mut old: Vec<GatewayEvent> = g.events().to_vec();
                for t in 0..cfg.tunnels.len() {
                    old.push(GatewayEvent {
                        at: now,
                        tunnel: TunnelId(t),
                        kind: TunnelEventKind::Down {
                            cause: DownCause::IkeClosed(DeletedBy::Us),
                            was_up: g.is_up(TunnelId(t)),
                        },
                    });
                }
                lab.stashed.extend(old.into_iter().map(|e| (id, e)));
            }
            super::maintenance::renew_gateway(lab, id, cfg, routes);
            if name == "cgw" {
                lab.cgw_restarted = true;
            }
            Ok(())
        }
        FaultAction::AnnouncePrefixes(a) => {
            let Some(b) = lab.bgp.as_mut() else {
                return Err("announce_prefixes needs routing = \"bgp\"".into());
            };
            b.announce_count(&mut lab.sim, a.count, a.tunnel.map(|t| t.index()));
            Ok(())
        }
        FaultAction::ReplaceEndpoint(t) => super::maintenance::replace_endpoint(lab, *t),
        FaultAction::SetLifetime(s) => super::maintenance::set_lifetime(lab, s),
        other => Err(format!("{} is not supported yet", fault_name(other))),
    }
}

pub(super) fn fault_name(a: &FaultAction) -> String {
    match a {
        FaultAction::SetCgwSourceAddress(x) => format!("set_cgw_source_address = {x}"),
        FaultAction::Block(f) => format!("block {}", report::filter_text(f)),
        FaultAction::Unblock(f) => format!("unblock {}", report::filter_text(f)),
        FaultAction::LinkDown(l) => format!("link_down {l}"),
        FaultAction::LinkUp(l) => format!("link_up {l}"),
        FaultAction::Impair(i) => format!("impair {}", i.link),
        FaultAction::ReplaceEndpoint(t) => format!("replace_endpoint {}", t.number()),
        FaultAction::Restart(n) => format!("restart {n}"),
        FaultAction::AnnouncePrefixes(a) => format!("announce_prefixes {}", a.count),
        FaultAction::DropIkeMessage(m) => format!("drop_ike_message {}", m.n),
        FaultAction::MangleIkeMessage(m) => format!("mangle_ike_message {}", m.n),
        FaultAction::SetLifetime(_) => "set_lifetime".into(),
    }
}
