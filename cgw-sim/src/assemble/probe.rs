//! A scenario's `[[cgw.probe]]` as the `sla` crate's operation: the same
//! probe means the same IP SLA operation in the simulated lab and on a
//! host. Errors name the field (the caller adds `cgw.probe[N].`).

use std::net::IpAddr;
use std::time::Duration;

use sla::config::{OperationConfig, OperationKind};
use sla::reaction::{ReactionConfig, ThresholdType};
use sla::track::TrackConfig;

use crate::scenario::{Probe, ProbeKind, ProbeReaction};

/// A probe's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// A probe's default window, in cycles.
pub const DEFAULT_WINDOW: usize = 6;

/// Probe number `index` (from 0) towards `target`, as an operation,
/// checked by the engine's rules. `Err((field, why))`.
pub fn operation(
    p: &Probe,
    index: usize,
    target: IpAddr,
) -> Result<OperationConfig, (String, String)> {
    let kind = match p.kind {
        ProbeKind::Icmp => OperationKind::IcmpEcho,
        ProbeKind::Tcp => OperationKind::TcpConnect,
        ProbeKind::Udp => OperationKind::UdpEcho,
        ProbeKind::UdpJitter => OperationKind::UdpJitter,
    };
    let name = p
        .name
        .clone()
        .unwrap_or_else(|| format!("probe{}", index + 1));
    let mut o = OperationConfig::new(name, kind, target);
    o.port = p.port;
    o.frequency = p.interval;
    o.timeout = p.timeout.unwrap_or(DEFAULT_TIMEOUT);
    o.threshold = p.threshold.unwrap_or(o.timeout);
    if let Some(n) = p.packets {
        o.packets = n;
    }
    if let Some(i) = p.packet_interval {
        o.interval = i;
    }
    if let Some(s) = p.size {
        o.size = s;
    } else if let Some(c) = p.codec {
        o.size = c.payload_bytes().max(sla::wire::HEADER_LEN);
    }
    o.codec = p.codec;
    o.window = p.window.unwrap_or(DEFAULT_WINDOW);
    o.track = TrackConfig {
        kind: p.track.kind,
        delay_up: p.track.delay_up.unwrap_or_default(),
        delay_down: p.track.delay_down.unwrap_or_default(),
    };
    for (i, r) in p.reactions.iter().enumerate() {
        o.reactions
            .push(reaction(r, i).map_err(|(f, why)| (format!("reaction[{}].{f}", i + 1), why))?);
    }
    o.check().map_err(|e| {
        let field = match e.field {
            "frequency" => "interval",
            "interval" => "packet_interval",
            "reaction" => "reaction",
            f => f,
        };
        (field.to_string(), e.why)
    })?;
    Ok(o)
}

fn reaction(r: &ProbeReaction, i: usize) -> Result<ReactionConfig, (&'static str, String)> {
    let need = |v: Option<u32>, f: &'static str| v.ok_or((f, format!("this type needs `{f}`")));
    let threshold_type = match r.kind.as_deref().unwrap_or("immediate") {
        "immediate" => ThresholdType::Immediate,
        "consecutive" => ThresholdType::Consecutive(need(r.n, "n")?),
        "average" => ThresholdType::Average(need(r.n, "n")?),
        "x-of-y" => ThresholdType::XOfY(need(r.x, "x")?, need(r.y, "y")?),
        other => {
            return Err((
                "type",
                format!(
                    "unknown type \"{other}\", expected \"immediate\", \"consecutive\", \
                     \"x-of-y\" or \"average\""
                ),
            ))
        }
    };
    Ok(ReactionConfig {
        name: r
            .name
            .clone()
            .unwrap_or_else(|| format!("reaction{}", i + 1)),
        measure: r.on,
        threshold_type,
        raise: r.raise,
        clear: r.clear.unwrap_or(r.raise),
        command: None,
    })
}

/// `cgw-sim run`'s keepalive: one icmp-echo per enabled tunnel every
/// `interval`, pinned to the tunnel (from its inside address, out of its
/// TUN device), towards `gateway.tunnelN.keepalive_target` or AWS's
/// inside address (IPv6 on a connection whose tunnels carry IPv6). AWS
/// answers pings on its inside addresses, and the traffic keeps a tunnel
/// with an idle timeout (on this gateway or a firewall on the way) from
/// dropping.
pub fn keepalive_operations(
    cfg: &crate::config::GatewayConfig,
    interval: Duration,
) -> Vec<OperationConfig> {
    let mut ops = Vec::new();
    for (i, t) in cfg.tunnels.iter().enumerate() {
        let ct = if i == 0 {
            &cfg.cgw.tunnel1
        } else {
            &cfg.cgw.tunnel2
        };
        if !ct.enabled {
            continue;
        }
        let inside = super::Inside::of(t.inside_cidr).with_v6(t.inside_ipv6_cidr);
        let target = t.keepalive_target.unwrap_or_else(|| inside.aws_bgp());
        let source = inside.cgw_for(target);
        let mut o = OperationConfig::new(
            format!("tunnel{}-keepalive", i + 1),
            OperationKind::IcmpEcho,
            target,
        );
        o.source = Some(source);
        o.interface = Some(t.tun.clone());
        o.tunnel = Some(i as u8 + 1);
        o.frequency = interval;
        o.timeout = interval.min(DEFAULT_TIMEOUT);
        o.threshold = o.timeout;
        o.window = DEFAULT_WINDOW;
        ops.push(o);
    }
    ops
}
