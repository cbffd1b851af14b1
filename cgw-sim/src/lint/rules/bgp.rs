//! ASNs, BGP timers and the prefix limit.

use std::time::Duration;

use crate::config::GatewayConfig;
use crate::lint::{Finding, Locate, Severity};
use crate::scenario::Routing;

use super::{connection_check, is_ipv6};

pub(super) const CGW_ASN: &str = "cgw-asn";
pub(super) const AWS_ASN: &str = "aws-asn";
pub(super) const ASN_EQUAL: &str = "asn-equal";
pub(super) const BGP_HOLD_TIME: &str = "bgp-hold-time";
pub(super) const PREFIX_LIMIT: &str = "prefix-limit";

/// AWS's hold time; keepalives every third of it.
const AWS_HOLD: Duration = Duration::from_secs(30);

fn bgp(cfg: &GatewayConfig) -> bool {
    cfg.routing == Routing::Bgp
}

/// The customer gateway's ASN (AWS's customer gateway object needs one
/// even with static routing).
pub(super) fn cgw_asn(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    connection_check(cfg, "cgw_asn")
        .into_iter()
        .map(|(value, accepts)| {
            Finding::new(
                CGW_ASN,
                Severity::Error,
                "cgw.bgp.asn",
                format!("AWS refuses {value} as a customer gateway ASN"),
                accepts,
                "a private ASN such as 65000 (or the device's public one)",
            )
        })
        .collect()
}

/// The AWS-side ASN the CGW expects.
pub(super) fn aws_asn(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    if !bgp(cfg) {
        return Vec::new();
    }
    connection_check(cfg, "aws_asn")
        .into_iter()
        .map(|(value, accepts)| {
            Finding::new(
                AWS_ASN,
                Severity::Error,
                "cgw.bgp.peer_asn",
                format!("{value} cannot be an Amazon-side ASN: the OPEN's AS never matches"),
                accepts,
                "the \"Virtual Private Gateway ASN\" of the download (64512 by default)",
            )
        })
        .collect()
}

/// eBGP between two equal ASNs: the session is iBGP to AWS, which refuses
/// it, and AWS's routes carry the CGW's own AS (dropped by loop checks).
pub(super) fn asn_equal(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    if !bgp(cfg) || cfg.cgw.bgp.asn != cfg.aws_asn {
        return Vec::new();
    }
    vec![Finding::new(
        ASN_EQUAL,
        Severity::Error,
        "cgw.bgp.asn",
        format!(
            "the CGW's ASN {} is AWS's (cgw.bgp.peer_asn): the session never establishes and \
             routes would loop",
            cfg.aws_asn
        ),
        "a CGW ASN different from the Amazon-side ASN",
        "give the CGW its own ASN (e.g. 65000 against AWS's 64512)",
    )]
}

/// AWS holds for 30 s with 10 s keepalives; the lower hold time wins.
pub(super) fn bgp_hold_time(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    if !bgp(cfg) {
        return Vec::new();
    }
    let hold = cfg.cgw.bgp.hold_time;
    let secs = hold.as_secs();
    let (severity, message, fix) = if hold == AWS_HOLD {
        return Vec::new();
    } else if (1..3).contains(&secs) {
        (
            Severity::Error,
            format!(
                "a hold time of {secs}s: RFC 4271 refuses 1-2s, AWS answers the OPEN with a \
                 NOTIFICATION and the session never establishes"
            ),
            "hold_time = \"30s\"",
        )
    } else if secs == 0 {
        (
            Severity::Warning,
            "a hold time of 0: no keepalives, a dead session is never noticed and its routes \
             stay"
                .to_owned(),
            "hold_time = \"30s\"",
        )
    } else if hold < AWS_HOLD {
        (
            Severity::Warning,
            format!(
                "a hold time of {secs}s is below AWS's 30s, so the session runs at {secs}s: a \
                 short loss drops it and its routes"
            ),
            "hold_time = \"30s\"",
        )
    } else {
        (
            Severity::Info,
            format!(
                "a hold time of {secs}s: AWS's 30s is what the session runs at (keepalive 10s)"
            ),
            "hold_time = \"30s\", to match what runs",
        )
    };
    vec![Finding::new(
        BGP_HOLD_TIME,
        severity,
        "cgw.bgp.hold_time",
        message,
        "0 or 3s and more; AWS uses hold 30s, keepalive 10s",
        fix,
    )]
}

/// AWS tears the session down past its prefix limit (Cease 6/1), and it
/// flaps from then on.
pub(super) fn prefix_limit(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    if !bgp(cfg) {
        return Vec::new();
    }
    let count = cfg.cgw.bgp.announce.len();
    let vgw = crate::aws::GatewayKind::Vgw.prefix_limit() as usize;
    let tgw = crate::aws::GatewayKind::Tgw.prefix_limit() as usize;
    let accepts =
        format!("at most {vgw} prefixes to a virtual private gateway, {tgw} to a transit gateway");
    let fix = "aggregate the announced prefixes";
    let finding = if count > tgw {
        Finding::new(
            PREFIX_LIMIT,
            Severity::Error,
            "cgw.bgp.announce",
            format!(
                "{count} prefixes: past any gateway's limit AWS sends Cease 6/1 (maximum number \
                 of prefixes) and the session flaps"
            ),
            accepts,
            fix,
        )
    } else if count > vgw && !is_ipv6(cfg) {
        // An IPv6 connection is on a transit gateway; otherwise the kind
        // of gateway is not in the file.
        Finding::new(
            PREFIX_LIMIT,
            Severity::Warning,
            "cgw.bgp.announce",
            format!(
                "{count} prefixes: a virtual private gateway takes {vgw} (Cease 6/1 past it, \
                 the session flaps); only a transit gateway takes them"
            ),
            accepts,
            fix,
        )
    } else {
        return Vec::new();
    };
    vec![finding]
}
