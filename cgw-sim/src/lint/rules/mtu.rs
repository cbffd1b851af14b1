//! The TCP MSS clamp against AWS's MTU table (AWS-VPN-FACTS.md section 2).

use crate::aws::{Encryption, Integrity};
use crate::config::GatewayConfig;
use crate::diagnosis::format::aws_mtu;
use crate::lint::{Finding, Locate, Severity};

use super::enabled;

pub(super) const MSS: &str = "mss";

/// The lowest `(mtu, mss)` over the phase 2 suites AWS may pick from the
/// CGW's offer (AWS picks the weakest, so any of them can run), with or
/// without NAT-T; `None` when AWS can pick none.
fn lowest(enc: &[String], integ: &[String], nat_t: bool) -> Option<(u16, u16)> {
    let integ: Vec<Integrity> = integ.iter().filter_map(|i| i.parse().ok()).collect();
    enc.iter()
        .filter_map(|e| e.parse::<Encryption>().ok())
        .flat_map(|e| {
            if e.is_aead() {
                vec![aws_mtu(e.alg(), None, nat_t)]
            } else {
                integ
                    .iter()
                    .map(|i| aws_mtu(e.alg(), Some(i.integ()), nat_t))
                    .collect()
            }
        })
        .min()
}

/// A clamp above the suite's MSS black-holes full-size TCP segments (DF
/// set, no path MTU discovery on AWS's side); NAT-T takes 8 or 16 more.
pub(super) fn mss(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let ike = &t.ike;
        let key = format!("cgw.tunnel{n}.mss_clamp");
        let (Some((_, plain)), Some((_, natt))) = (
            lowest(&ike.phase2_encryption, &ike.phase2_integrity, false),
            lowest(&ike.phase2_encryption, &ike.phase2_integrity, true),
        ) else {
            continue;
        };
        // The row of AWS's table for the weakest suite offered.
        let accepts = format!(
            "TCP MSS at most {plain} without NAT-T, {natt} with NAT-T, for the phase 2 \
             algorithms offered"
        );
        let finding = match t.mss_clamp {
            None if !t.clear_df => Finding::new(
                MSS,
                Severity::Info,
                key,
                format!(
                    "no TCP MSS clamp: TCP segments above MSS {plain} ({natt} behind NAT) with \
                     DF set are dropped in the tunnel"
                ),
                accepts,
                format!("mss_clamp = {natt} (or clear_df = true)"),
            ),
            Some(m) if m > plain => Finding::new(
                MSS,
                Severity::Warning,
                key,
                format!(
                    "MSS {m} is above {plain}, the most these algorithms carry without NAT-T: \
                     full-size TCP segments are dropped"
                ),
                accepts,
                format!("mss_clamp = {natt} (fits with and without NAT-T)"),
            ),
            Some(m) if m > natt => Finding::new(
                MSS,
                Severity::Warning,
                key,
                format!(
                    "MSS {m} fits without NAT-T (at most {plain}) but not behind NAT, where \
                     UDP 4500 encapsulation leaves {natt}"
                ),
                accepts,
                format!("mss_clamp = {natt}"),
            ),
            _ => continue,
        };
        out.push(finding);
    }
    out
}
