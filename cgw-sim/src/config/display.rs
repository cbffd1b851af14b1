//! The resolved configuration as `--check` prints it: every value in
//! effect, defaults filled in, pre-shared keys shown as `<redacted>`.

use std::fmt::{self, Display, Formatter};

use super::{GatewayConfig, MockConfig};
use crate::scenario::{format_duration, CgwIke, Routing};

/// `a, b, c` (or `none`).
fn list<T: Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn routing(r: Routing) -> &'static str {
    match r {
        Routing::Bgp => "bgp",
        Routing::Static => "static",
    }
}

fn ike(f: &mut Formatter<'_>, ike: &CgwIke) -> fmt::Result {
    writeln!(
        f,
        "  ike: IKEv{}, phase 1 {} / {} / groups {}, lifetime {}",
        ike.version,
        list(&ike.encryption),
        list(&ike.integrity),
        list(&ike.dh_groups),
        format_duration(ike.phase1_lifetime)
    )?;
    writeln!(
        f,
        "  esp: {} / {} / PFS groups {}, lifetime {}, rekey margin {} (fuzz {}%)",
        list(&ike.phase2_encryption),
        list(&ike.phase2_integrity),
        list(&ike.phase2_dh_groups),
        format_duration(ike.phase2_lifetime),
        format_duration(ike.rekey_margin),
        ike.rekey_fuzz
    )?;
    match &ike.dpd {
        Some(d) => writeln!(
            f,
            "  dpd: every {}, dead after {}, then {}",
            format_duration(d.interval),
            format_duration(d.timeout),
            d.action
        )?,
        None => writeln!(f, "  dpd: off")?,
    }
    writeln!(
        f,
        "  selectors: local {}, remote {}",
        list(&ike.local_selectors),
        list(&ike.remote_selectors)
    )
}

impl Display for GatewayConfig {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "customer gateway")?;
        writeln!(f, "  local address: {}", self.local_address)?;
        if let Some(i) = &self.interface {
            writeln!(f, "  interface: {i}")?;
        }
        writeln!(f, "  metrics: http://{}/metrics", self.metrics_listen)?;
        writeln!(f, "  log format: {}", self.log_format)?;
        writeln!(f, "  control socket: {}", self.control_socket.display())?;
        writeln!(
            f,
            "  validate timeout: {}",
            format_duration(self.validate_timeout)
        )?;
        match self.routing {
            Routing::Bgp => writeln!(
                f,
                "  routing: bgp, ASN {} <-> AWS ASN {}, hold time {}, announcing {}",
                self.cgw.bgp.asn,
                self.aws_asn,
                format_duration(self.cgw.bgp.hold_time),
                list(&self.cgw.bgp.announce)
            )?,
            Routing::Static => writeln!(
                f,
                "  routing: static, routes {}",
                list(&self.cgw.static_routes)
            )?,
        }
        for (i, t) in self.tunnels.iter().enumerate() {
            let c = if i == 0 {
                &self.cgw.tunnel1
            } else {
                &self.cgw.tunnel2
            };
            writeln!(
                f,
                "tunnel {}{}",
                i + 1,
                if c.enabled { "" } else { " (disabled)" }
            )?;
            writeln!(f, "  AWS outside address: {}", t.aws_address)?;
            writeln!(
                f,
                "  inside: {} (AWS {}, CGW {}) on {}",
                t.inside_cidr,
                t.inside_cidr.aws_inside_ip(),
                t.inside_cidr.cgw_inside_ip(),
                t.tun
            )?;
            writeln!(f, "  psk: {}", t.psk)?;
            ike(f, &c.ike)?;
            writeln!(
                f,
                "  clear DF: {}, MSS clamp: {}",
                c.clear_df,
                c.mss_clamp.map_or("off".to_owned(), |m| m.to_string())
            )?;
            writeln!(
                f,
                "  validate: ping {}; tcp {}",
                list(&t.ping_targets),
                list(&t.tcp_targets)
            )?;
        }
        Ok(())
    }
}

impl Display for MockConfig {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "AWS mock")?;
        writeln!(f, "  customer gateway: {}", self.cgw_address)?;
        writeln!(f, "  VPC: {}", list(&self.vpc_cidrs))?;
        match &self.log_path {
            Some(p) => writeln!(f, "  AWS logs: {}", p.display())?,
            None => writeln!(f, "  AWS logs: standard output")?,
        }
        writeln!(f, "  metrics: http://{}/metrics", self.metrics_listen)?;
        writeln!(f, "  control socket: {}", self.control_socket.display())?;
        match self.aws.routing {
            Routing::Bgp => writeln!(
                f,
                "  routing: bgp, AWS ASN {}, customer gateway ASN {}",
                self.aws.asn,
                self.aws
                    .cgw_asn
                    .unwrap_or(crate::scenario::defaults::CGW_ASN)
            )?,
            Routing::Static => writeln!(
                f,
                "  routing: {}, routes {}",
                routing(self.aws.routing),
                list(&self.aws.static_routes)
            )?,
        }
        writeln!(f, "  route propagation: {}", self.aws.route_propagation)?;
        for (i, t) in self.tunnels.iter().enumerate() {
            let o = if i == 0 {
                &self.aws.tunnel1
            } else {
                &self.aws.tunnel2
            }
            .resolve();
            writeln!(f, "tunnel {}", i + 1)?;
            writeln!(f, "  listen: {} (UDP 500, 4500)", t.listen)?;
            writeln!(
                f,
                "  inside: {} (AWS {}, CGW {})",
                t.inside_cidr,
                t.inside_cidr.aws_inside_ip(),
                t.inside_cidr.cgw_inside_ip()
            )?;
            writeln!(f, "  psk: {}", t.psk)?;
            writeln!(f, "  IKE versions: {}", list(&o.ike_versions))?;
            writeln!(
                f,
                "  phase 1: {} / {} / groups {}, lifetime {}s",
                list(&o.phase1_encryption),
                list(&o.phase1_integrity),
                list(&o.phase1_dh_groups),
                o.phase1_lifetime_seconds
            )?;
            writeln!(
                f,
                "  phase 2: {} / {} / groups {}, lifetime {}s",
                list(&o.phase2_encryption),
                list(&o.phase2_integrity),
                list(&o.phase2_dh_groups),
                o.phase2_lifetime_seconds
            )?;
            writeln!(
                f,
                "  rekey margin {}s (fuzz {}%), replay window {}, DPD timeout {}s then {}, startup {}",
                o.rekey_margin_seconds,
                o.rekey_fuzz_percent,
                o.replay_window_packets,
                o.dpd_timeout_seconds,
                o.dpd_timeout_action,
                o.startup_action
            )?;
        }
        Ok(())
    }
}
