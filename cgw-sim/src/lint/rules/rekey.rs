//! Lifetimes, rekey margin and fuzz, and rekeys colliding with AWS's.

use std::time::Duration;

use crate::aws::TunnelOptions;
use crate::config::GatewayConfig;
use crate::lint::{Finding, Locate, Severity};

use super::{enabled, ike_key, secs, tunnel_check};

pub(super) const LIFETIMES: &str = "lifetimes";
pub(super) const REKEY_COLLISION: &str = "rekey-collision";
pub(super) const REKEY_MARGIN: &str = "rekey-margin";
pub(super) const REKEY_FUZZ: &str = "rekey-fuzz";

/// AWS's ranges for its own lifetimes. IKEv2 does not negotiate
/// lifetimes: each side rekeys on its own, so a CGW outside them works,
/// but AWS rekeys first (too long) or the CGW rekeys needlessly often.
pub(super) fn lifetimes(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let opts = TunnelOptions {
            phase1_lifetime_seconds: secs(t.ike.phase1_lifetime),
            phase2_lifetime_seconds: secs(t.ike.phase2_lifetime),
            ..TunnelOptions::default()
        };
        for (option, field, what) in [
            ("phase1_lifetime_seconds", "phase1_lifetime", "phase 1"),
            ("phase2_lifetime_seconds", "phase2_lifetime", "phase 2"),
        ] {
            for (value, accepts) in tunnel_check(&opts, option) {
                out.push(Finding::new(
                    LIFETIMES,
                    Severity::Warning,
                    ike_key(n, field),
                    format!(
                        "a {what} lifetime of {value}s is outside what AWS configures: the side \
                         with the shorter lifetime rekeys, and a mismatch with what was \
                         negotiated can stall traffic"
                    ),
                    accepts,
                    "keep phase 1 within 900-28800s and phase 2 within 900-3600s, phase 2 \
                     below phase 1",
                ));
            }
        }
    }
    out
}

/// When a side with lifetime `life`, margin `margin` and fuzz `fuzz` %
/// starts its rekey, as seconds after the SA was made: `(earliest,
/// latest)`.
fn rekey_window(life: Duration, margin: Duration, fuzz: u32) -> (u64, u64) {
    let life = life.as_secs();
    let margin = margin.as_secs();
    let extra = margin * u64::from(fuzz.min(100)) / 100;
    (
        life.saturating_sub(margin + extra),
        life.saturating_sub(margin),
    )
}

/// The CGW's rekey window overlapping AWS's (at AWS's default lifetimes,
/// margin and fuzz): both sides start CREATE_CHILD_SA together, a
/// collision (RFC 7296 2.8.1) that costs a redundant SA or, on devices
/// that handle it badly, the tunnel.
pub(super) fn rekey_collision(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let aws = TunnelOptions::default().lifetimes();
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let ike = &t.ike;
        for (field, what, cgw_life, aws_life) in [
            ("phase1_lifetime", "IKE SA", ike.phase1_lifetime, aws.ike),
            (
                "phase2_lifetime",
                "child SA",
                ike.phase2_lifetime,
                aws.child,
            ),
        ] {
            let ours = rekey_window(cgw_life, ike.rekey_margin, ike.rekey_fuzz);
            let theirs = rekey_window(aws_life, aws.margin, aws.fuzz_percent);
            if ours.0 <= theirs.1 && theirs.0 <= ours.1 {
                let shorter = aws_life
                    .as_secs()
                    .saturating_sub(2 * aws.margin.as_secs() + 300);
                // Info, not a warning: both sides resolve a simultaneous
                // rekey (RFC 7296 2.8.1), and AWS's own download sets
                // these very lifetimes; it is only the less tidy way.
                out.push(Finding::new(
                    REKEY_COLLISION,
                    Severity::Info,
                    ike_key(n, field),
                    format!(
                        "the CGW starts its {what} rekey {}-{}s after the SA is made, as AWS \
                         does at its default lifetime ({}-{}s): both sides rekey at once \
                         (a rekey collision, resolved by RFC 7296 2.8.1, with a rekey wasted)",
                        ours.0, ours.1, theirs.0, theirs.1
                    ),
                    format!(
                        "any lifetime; AWS's default is {}s with margin {}s and fuzz {}%",
                        aws_life.as_secs(),
                        aws.margin.as_secs(),
                        aws.fuzz_percent
                    ),
                    format!(
                        "make the CGW rekey first: a lifetime well below AWS's (e.g. {shorter}s)"
                    ),
                ));
            }
        }
    }
    out
}

/// AWS's margin range, 60 s to half the phase 2 lifetime, applied to the
/// CGW's own margin.
pub(super) fn rekey_margin(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let opts = TunnelOptions {
            phase2_lifetime_seconds: secs(t.ike.phase2_lifetime),
            rekey_margin_seconds: secs(t.ike.rekey_margin),
            ..TunnelOptions::default()
        };
        for (value, accepts) in tunnel_check(&opts, "rekey_margin_seconds") {
            out.push(Finding::new(
                REKEY_MARGIN,
                Severity::Warning,
                ike_key(n, "rekey_margin"),
                format!(
                    "a rekey margin of {value}s: too short leaves no time to retry a lost \
                     rekey before the SA expires; too long rekeys most of the lifetime away"
                ),
                accepts,
                "a margin of 60s to half the phase 2 lifetime (AWS's default is 270s)",
            ));
        }
    }
    out
}

/// Fuzz 0: every rekey at the same offset, both tunnels in step.
pub(super) fn rekey_fuzz(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    enabled(cfg)
        .filter(|(_, t)| t.ike.rekey_fuzz == 0)
        .map(|(n, _)| {
            Finding::new(
                REKEY_FUZZ,
                Severity::Info,
                ike_key(n, "rekey_fuzz"),
                "no rekey fuzz: the CGW rekeys at the same offset every time, both tunnels in \
                 step, which makes collisions with AWS's rekeys repeat",
                "0-100 % (AWS's default is 100)",
                "rekey_fuzz = 100",
            )
        })
        .collect()
}
