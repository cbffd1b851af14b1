//! Dead peer detection on the CGW.

use crate::aws::DpdTimeoutAction;
use crate::aws::TunnelOptions;
use crate::config::GatewayConfig;
use crate::lint::{Finding, Locate, Severity};

use super::{enabled, ike_key, secs, tunnel_check};

pub(super) const DPD: &str = "dpd";
pub(super) const DPD_TIMEOUT: &str = "dpd-timeout";
pub(super) const DPD_ACTION: &str = "dpd-action";

/// Without DPD the CGW never notices that AWS's endpoint went away (an
/// endpoint replacement), and AWS never initiates: the tunnel stays down
/// until the SA expires.
pub(super) fn dpd(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    enabled(cfg)
        .filter(|(_, t)| t.ike.dpd.is_none())
        .map(|(n, _)| {
            Finding::new(
                DPD,
                Severity::Warning,
                ike_key(n, "dpd"),
                "no dead peer detection: after an AWS endpoint replacement the CGW keeps a \
                 dead SA and the tunnel stays down until it expires (AWS never initiates)",
                "DPD; AWS probes after 10s idle and times out after 30s or more",
                "dpd = { interval = \"10s\", timeout = \"30s\", action = \"restart\" }",
            )
        })
        .collect()
}

/// AWS's timeout is at least 30 s; a CGW declaring AWS dead sooner tears
/// tunnels down on short loss.
pub(super) fn dpd_timeout(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let Some(d) = &t.ike.dpd else { continue };
        let opts = TunnelOptions {
            dpd_timeout_seconds: secs(d.timeout),
            ..TunnelOptions::default()
        };
        for (value, accepts) in tunnel_check(&opts, "dpd_timeout_seconds") {
            out.push(Finding::new(
                DPD_TIMEOUT,
                Severity::Warning,
                ike_key(n, "dpd.timeout"),
                format!(
                    "a DPD timeout of {value}s is shorter than AWS allows its own: a few \
                     seconds of loss tear the tunnel down"
                ),
                accepts,
                "timeout = \"30s\" or more",
            ));
        }
    }
    out
}

/// Only `restart` brings the tunnel back: AWS waits for the CGW.
pub(super) fn dpd_action(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let Some(d) = &t.ike.dpd else { continue };
        if d.action == DpdTimeoutAction::Restart {
            continue;
        }
        out.push(Finding::new(
            DPD_ACTION,
            Severity::Warning,
            ike_key(n, "dpd.action"),
            format!(
                "DPD action {}: after a timeout the CGW does not initiate again, and AWS \
                 (startup action add) never does, so the tunnel stays down",
                d.action
            ),
            "clear, none, restart; the CGW must restart",
            "action = \"restart\"",
        ));
    }
    out
}
