//! Both of the connection's tunnels configured.

use crate::config::GatewayConfig;
use crate::lint::{Finding, Locate, Severity};

pub(super) const BOTH_TUNNELS: &str = "both-tunnels";

/// AWS runs two tunnels per connection and replaces their endpoints one
/// at a time: with one tunnel the connection is down during maintenance.
pub(super) fn both_tunnels(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let on = [cfg.cgw.tunnel1.enabled, cfg.cgw.tunnel2.enabled];
    let accepts = "two tunnels per connection, both up";
    match on {
        [true, true] => Vec::new(),
        [false, false] => vec![Finding::new(
            BOTH_TUNNELS,
            Severity::Error,
            "cgw.tunnel1.enabled",
            "both tunnels are disabled: the connection never comes up",
            accepts,
            "enabled = true on both tunnels",
        )],
        _ => {
            let n = if on[0] { 2 } else { 1 };
            vec![Finding::new(
                BOTH_TUNNELS,
                Severity::Warning,
                format!("cgw.tunnel{n}.enabled"),
                format!(
                    "tunnel{n} is disabled: no redundancy; AWS sends \"VPN single tunnel\" \
                     notifications and the connection is down while AWS replaces the other \
                     tunnel's endpoint"
                ),
                accepts,
                format!("cgw.tunnel{n}.enabled = true"),
            )]
        }
    }
}
