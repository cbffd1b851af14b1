//! The rules: one function each, with its id. Helpers run AWS's own checks
//! (`crate::aws::options`, the ones the AWS mock applies) on the CGW's
//! values and keep the violations of one option.

mod addressing;
mod bgp;
mod dpd;
mod ike;
mod mtu;
mod rekey;
mod tunnels;

use std::time::Duration;

use crate::aws::{GatewayKind, OptionError, TunnelOptions, VpnConnection};
use crate::config::GatewayConfig;
use crate::scenario::{CgwTunnel, Routing};

use super::{Finding, Locate};

/// One lint rule.
#[derive(Clone, Copy)]
pub struct Rule {
    /// Its stable id (`phase1-dh-group`).
    pub id: &'static str,
    /// What it checks, one line (`docs/lint.md` lists the same).
    pub summary: &'static str,
    /// The check.
    pub run: fn(&GatewayConfig, &dyn Locate) -> Vec<Finding>,
}

/// Every rule, in the order their findings are reported within one line.
pub const RULES: &[Rule] = &[
    Rule {
        id: ike::IKE_VERSION,
        summary: "the IKE version (IKEv2 expected)",
        run: ike::ike_version,
    },
    Rule {
        id: ike::INITIATION,
        summary: "the CGW initiates (AWS waits with its default startup action)",
        run: ike::initiation,
    },
    Rule {
        id: ike::PHASE1_ALGORITHMS,
        summary: "phase 1 encryption and integrity against AWS's list",
        run: ike::phase1_algorithms,
    },
    Rule {
        id: ike::PHASE2_ALGORITHMS,
        summary: "phase 2 encryption and integrity against AWS's list",
        run: ike::phase2_algorithms,
    },
    Rule {
        id: ike::PHASE1_DH_GROUP,
        summary: "phase 1 DH groups (2, 14-24; never 1, 5, 31)",
        run: ike::phase1_dh_group,
    },
    Rule {
        id: ike::PHASE2_DH_GROUP,
        summary: "phase 2 (PFS) DH groups (2, 5, 14-24)",
        run: ike::phase2_dh_group,
    },
    Rule {
        id: rekey::LIFETIMES,
        summary: "lifetimes in AWS's ranges, phase 2 below phase 1",
        run: rekey::lifetimes,
    },
    Rule {
        id: rekey::REKEY_COLLISION,
        summary: "the CGW's rekey window apart from AWS's (default lifetimes)",
        run: rekey::rekey_collision,
    },
    Rule {
        id: rekey::REKEY_MARGIN,
        summary: "rekey margin 60 s to half the phase 2 lifetime",
        run: rekey::rekey_margin,
    },
    Rule {
        id: rekey::REKEY_FUZZ,
        summary: "rekey fuzz above 0",
        run: rekey::rekey_fuzz,
    },
    Rule {
        id: dpd::DPD,
        summary: "dead peer detection configured",
        run: dpd::dpd,
    },
    Rule {
        id: dpd::DPD_TIMEOUT,
        summary: "DPD timeout at least 30 s",
        run: dpd::dpd_timeout,
    },
    Rule {
        id: dpd::DPD_ACTION,
        summary: "DPD action restart (AWS never re-initiates)",
        run: dpd::dpd_action,
    },
    Rule {
        id: addressing::INSIDE_CIDR,
        summary: "inside CIDR a /30 in 169.254.0.0/16, not a reserved one",
        run: addressing::inside_cidr,
    },
    Rule {
        id: addressing::INSIDE_CIDR_OVERLAP,
        summary: "the two tunnels' inside CIDRs apart",
        run: addressing::inside_cidr_overlap,
    },
    Rule {
        id: addressing::PSK,
        summary: "pre-shared key: 8-64 of A-Z a-z 0-9 . _, not starting with 0",
        run: addressing::psk,
    },
    Rule {
        id: bgp::CGW_ASN,
        summary: "CGW ASN 1-2147483647",
        run: bgp::cgw_asn,
    },
    Rule {
        id: bgp::AWS_ASN,
        summary: "AWS-side ASN 64512-65534 or 4200000000-4294967294",
        run: bgp::aws_asn,
    },
    Rule {
        id: bgp::ASN_EQUAL,
        summary: "CGW ASN different from AWS's",
        run: bgp::asn_equal,
    },
    Rule {
        id: bgp::BGP_HOLD_TIME,
        summary: "BGP hold time 30 s (keepalive 10 s); never 1-2 s",
        run: bgp::bgp_hold_time,
    },
    Rule {
        id: bgp::PREFIX_LIMIT,
        summary: "announced prefixes within 100 (1000 on a transit gateway)",
        run: bgp::prefix_limit,
    },
    Rule {
        id: mtu::MSS,
        summary: "TCP MSS clamp within AWS's MTU for the algorithms, with and without NAT-T",
        run: mtu::mss,
    },
    Rule {
        id: tunnels::BOTH_TUNNELS,
        summary: "both tunnels enabled",
        run: tunnels::both_tunnels,
    },
];

/// `cgw.tunnelN.ike.FIELD`.
fn ike_key(n: u8, field: &str) -> String {
    format!("cgw.tunnel{n}.ike.{field}")
}

/// The enabled tunnels with their numbers: the IKE rules look at these
/// only (a disabled tunnel's settings are not used).
fn enabled(cfg: &GatewayConfig) -> impl Iterator<Item = (u8, &CgwTunnel)> {
    [(1, &cfg.cgw.tunnel1), (2, &cfg.cgw.tunnel2)]
        .into_iter()
        .filter(|(_, t)| t.enabled)
}

/// Whole seconds, saturating, as AWS's options count them.
fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// `(value, what AWS accepts)` of each violation of `option`.
fn keep(errors: Vec<OptionError>, option: &str) -> Vec<(String, String)> {
    errors
        .into_iter()
        .filter(|e| e.option() == option)
        .map(parts)
        .collect()
}

/// `(value, what AWS accepts)` of one violation.
fn parts(e: OptionError) -> (String, String) {
    match e {
        OptionError::NotAccepted {
            value, accepted, ..
        } => (value, accepted),
        OptionError::Empty { accepted, .. } => ("none".to_owned(), accepted),
    }
}

/// AWS's check of one tunnel's options (`TunnelOptions::validate`), the
/// violations of `option`. `opts` is AWS's defaults with the CGW's values
/// put in, so that only those can be at fault.
fn tunnel_check(opts: &TunnelOptions, option: &str) -> Vec<(String, String)> {
    keep(opts.validate().err().unwrap_or_default(), option)
}

/// AWS's check of the whole connection (`VpnConnection::validate`) on the
/// CGW's addresses and ASNs, the violations of `option` (`cgw_asn`,
/// `aws_asn`, `tunnel2.inside_cidr`, ...).
fn connection_check(cfg: &GatewayConfig, option: &str) -> Vec<(String, String)> {
    let mut vpn = VpnConnection::new(cfg.local_address);
    vpn.cgw_asn = cfg.cgw.bgp.asn;
    vpn.routing = match cfg.routing {
        Routing::Bgp => crate::aws::Routing::Bgp {
            aws_asn: cfg.aws_asn,
        },
        Routing::Static => crate::aws::Routing::Static,
    };
    // IPv6 inside tunnels exist on a transit gateway only.
    if is_ipv6(cfg) {
        vpn.gateway = GatewayKind::Tgw;
    }
    for (opts, t) in vpn.tunnels.iter_mut().zip(&cfg.tunnels) {
        opts.inside_cidr = Some(t.inside_cidr);
        opts.inside_ipv6_cidr = t.inside_ipv6_cidr;
    }
    keep(vpn.validate().err().unwrap_or_default(), option)
}

/// Whether the tunnels carry IPv6 (an IPv6 inside CIDR on both).
fn is_ipv6(cfg: &GatewayConfig) -> bool {
    cfg.tunnels.iter().all(|t| t.inside_ipv6_cidr.is_some())
}
