//! Inside CIDRs and pre-shared keys: values AWS refuses outright.

use crate::aws::options::psk_violations;
use crate::aws::TunnelOptions;
use crate::config::GatewayConfig;
use crate::lint::{Finding, Locate, Severity};

use super::{connection_check, parts, tunnel_check};

pub(super) const INSIDE_CIDR: &str = "inside-cidr";
pub(super) const INSIDE_CIDR_OVERLAP: &str = "inside-cidr-overlap";
pub(super) const PSK: &str = "psk";

/// Each tunnel's inside /30 (and /126) on its own.
pub(super) fn inside_cidr(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in (1u8..).zip(&cfg.tunnels) {
        let opts = TunnelOptions {
            inside_cidr: Some(t.inside_cidr),
            inside_ipv6_cidr: t.inside_ipv6_cidr,
            ..TunnelOptions::default()
        };
        for (option, fix) in [
            (
                "inside_cidr",
                "pick a free /30 such as 169.254.10.0/30 (or let AWS pick one and copy it)",
            ),
            ("inside_ipv6_cidr", "pick a /126 in fd00::/8"),
        ] {
            for (value, accepts) in tunnel_check(&opts, option) {
                out.push(Finding::new(
                    INSIDE_CIDR,
                    Severity::Error,
                    format!("gateway.tunnel{n}.{option}"),
                    format!("AWS refuses {value} as a tunnel's inside CIDR"),
                    accepts,
                    fix,
                ));
            }
        }
    }
    out
}

/// The two tunnels' inside CIDRs share addresses (or are equal).
pub(super) fn inside_cidr_overlap(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for option in ["inside_cidr", "inside_ipv6_cidr"] {
        for (value, accepts) in connection_check(cfg, &format!("tunnel2.{option}")) {
            out.push(Finding::new(
                INSIDE_CIDR_OVERLAP,
                Severity::Error,
                format!("gateway.tunnel2.{option}"),
                format!("{value} overlaps tunnel1's: AWS refuses it (unique per gateway)"),
                accepts,
                "give each tunnel its own inside CIDR",
            ));
        }
    }
    out
}

/// AWS's key rules. The key is described, never shown.
pub(super) fn psk(cfg: &GatewayConfig, at: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in (1u8..).zip(&cfg.tunnels) {
        // The key came from a key file or inline; name the one the file has.
        let file_key = format!("gateway.tunnel{n}.psk_file");
        let key = if at.line(&file_key).is_some() {
            file_key
        } else {
            format!("cgw.tunnel{n}.ike.psk")
        };
        for (value, accepts) in psk_violations(t.psk.expose()).into_iter().map(parts) {
            out.push(Finding::new(
                PSK,
                Severity::Error,
                key.clone(),
                format!("AWS refuses {value}"),
                accepts,
                "use a key of 8-64 characters of A-Z a-z 0-9 . _ that does not start with 0 \
                 (on both sides)",
            ));
        }
    }
    out
}
