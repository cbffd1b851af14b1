//! IKE: version, who initiates, algorithms and DH groups per phase.

use std::str::FromStr;

use crate::aws::options::{
    ENCRYPTION_TEXT, INTEGRITY_TEXT, PHASE1_GROUPS_TEXT, PHASE2_GROUPS_TEXT,
};
use crate::aws::{Encryption, Integrity, TunnelOptions, UnknownName};
use crate::config::GatewayConfig;
use crate::lint::{Finding, Locate, Severity};
use crate::scenario::Role;

use super::{enabled, ike_key, tunnel_check};

pub(super) const IKE_VERSION: &str = "ike-version";
pub(super) const INITIATION: &str = "initiation";
pub(super) const PHASE1_ALGORITHMS: &str = "phase1-algorithms";
pub(super) const PHASE2_ALGORITHMS: &str = "phase2-algorithms";
pub(super) const PHASE1_DH_GROUP: &str = "phase1-dh-group";
pub(super) const PHASE2_DH_GROUP: &str = "phase2-dh-group";

/// IKEv1 works only while the AWS tunnel still accepts it.
pub(super) fn ike_version(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    enabled(cfg)
        .filter(|(_, t)| t.ike.version == 1)
        .map(|(n, _)| {
            Finding::new(
                IKE_VERSION,
                Severity::Warning,
                ike_key(n, "version"),
                "IKEv1: AWS takes it (main mode only) only while the tunnel's IKE versions \
                 include ikev1, and never initiates it (startup action start is IKEv2 only)",
                "ikev1 (main mode), ikev2",
                "use IKEv2 (version = 2)",
            )
        })
        .collect()
}

/// A responder-only CGW never gets a tunnel: AWS's startup action `add`
/// waits for the CGW.
pub(super) fn initiation(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    enabled(cfg)
        .filter(|(_, t)| t.ike.role == Role::ResponderOnly)
        .map(|(n, _)| {
            Finding::new(
                INITIATION,
                Severity::Error,
                ike_key(n, "role"),
                "responder-only: AWS does not initiate (startup action add, its default), so \
                 the tunnel never comes up",
                "the CGW initiates (startup action add); AWS initiates only with startup \
                 action start on IKEv2",
                "role = \"initiator\"",
            )
        })
        .collect()
}

/// The names of `list` AWS refuses, by index: parsed as AWS's names, which
/// is AWS's own vocabulary (`crate::aws`).
fn refused<T: FromStr<Err = UnknownName>>(list: &[String]) -> Vec<usize> {
    (0..list.len())
        .filter(|&i| list[i].parse::<T>().is_err())
        .collect()
}

/// Findings for one offered list: an error at the list when AWS takes
/// none of it and `required`, else a warning per name AWS ignores.
fn offered<T: FromStr<Err = UnknownName>>(
    rule: &'static str,
    key: String,
    list: &[String],
    required: bool,
    accepts: &str,
) -> Vec<Finding> {
    let bad = refused::<T>(list);
    if bad.is_empty() {
        return Vec::new();
    }
    if required && bad.len() == list.len() {
        return vec![Finding::new(
            rule,
            Severity::Error,
            key,
            format!(
                "AWS accepts none of {}: NO_PROPOSAL_CHOSEN, the tunnel never comes up",
                list.join(", ")
            ),
            accepts,
            format!("offer one of {accepts}"),
        )];
    }
    bad.into_iter()
        .map(|i| {
            Finding::new(
                rule,
                Severity::Warning,
                format!("{key}[{}]", i + 1),
                format!("AWS does not accept {}; it is never chosen", list[i]),
                accepts,
                format!("remove {}", list[i]),
            )
        })
        .collect()
}

/// Phase 1: encryption and integrity (also the PRF) are both needed.
pub(super) fn phase1_algorithms(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let ike = &t.ike;
        out.extend(offered::<Encryption>(
            PHASE1_ALGORITHMS,
            ike_key(n, "encryption"),
            &ike.encryption,
            true,
            ENCRYPTION_TEXT,
        ));
        out.extend(offered::<Integrity>(
            PHASE1_ALGORITHMS,
            ike_key(n, "integrity"),
            &ike.integrity,
            true,
            INTEGRITY_TEXT,
        ));
    }
    out
}

/// Phase 2: integrity is needed only when AES-CBC is all AWS can pick.
pub(super) fn phase2_algorithms(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let ike = &t.ike;
        let usable: Vec<Encryption> = ike
            .phase2_encryption
            .iter()
            .filter_map(|e| e.parse().ok())
            .collect();
        let cbc_only = !usable.is_empty() && usable.iter().all(|e| !e.is_aead());
        out.extend(offered::<Encryption>(
            PHASE2_ALGORITHMS,
            ike_key(n, "phase2_encryption"),
            &ike.phase2_encryption,
            true,
            ENCRYPTION_TEXT,
        ));
        out.extend(offered::<Integrity>(
            PHASE2_ALGORITHMS,
            ike_key(n, "phase2_integrity"),
            &ike.phase2_integrity,
            cbc_only,
            INTEGRITY_TEXT,
        ));
    }
    out
}

/// The groups of `groups` AWS's check refuses, by index.
fn refused_groups(groups: &[u16], phase1: bool) -> Vec<usize> {
    let mut opts = TunnelOptions::default();
    let option = if phase1 {
        opts.phase1_dh_groups = groups.to_vec();
        "phase1_dh_groups"
    } else {
        opts.phase2_dh_groups = groups.to_vec();
        "phase2_dh_groups"
    };
    let bad: Vec<String> = tunnel_check(&opts, option)
        .into_iter()
        .map(|(value, _)| value)
        .collect();
    (0..groups.len())
        .filter(|&i| bad.contains(&groups[i].to_string()))
        .collect()
}

/// Phase 1 groups: the first one is sent in KE.
pub(super) fn phase1_dh_group(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let groups = &t.ike.dh_groups;
        let key = ike_key(n, "dh_groups");
        let bad = refused_groups(groups, true);
        if bad.is_empty() {
            continue;
        }
        let list = |g: &[u16]| g.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        if bad.len() == groups.len() {
            out.push(Finding::new(
                PHASE1_DH_GROUP,
                Severity::Error,
                key,
                format!(
                    "AWS accepts none of the phase 1 groups offered ({}): NO_PROPOSAL_CHOSEN, \
                     the tunnel never comes up",
                    list(groups)
                ),
                PHASE1_GROUPS_TEXT,
                "offer group 14, 19 or 20 (and 2 only if the device has nothing else)",
            ));
            continue;
        }
        for i in bad {
            let g = groups[i];
            let message = if i == 0 {
                format!(
                    "group {g} is the first offered, so the CGW's KE is for it: AWS answers \
                     INVALID_KE_PAYLOAD and the CGW must retry with another group (a round \
                     trip lost; a device that cannot retry never comes up)"
                )
            } else {
                format!("AWS does not accept group {g} in phase 1; it is never chosen")
            };
            out.push(Finding::new(
                PHASE1_DH_GROUP,
                Severity::Warning,
                format!("{key}[{}]", i + 1),
                message,
                PHASE1_GROUPS_TEXT,
                format!("remove group {g}"),
            ));
        }
    }
    out
}

/// Phase 2 (PFS) groups, used at CREATE_CHILD_SA; none: no PFS.
pub(super) fn phase2_dh_group(cfg: &GatewayConfig, _: &dyn Locate) -> Vec<Finding> {
    let mut out = Vec::new();
    for (n, t) in enabled(cfg) {
        let groups = &t.ike.phase2_dh_groups;
        let key = ike_key(n, "phase2_dh_groups");
        let bad = refused_groups(groups, false);
        if bad.is_empty() {
            continue;
        }
        if bad.len() == groups.len() {
            out.push(Finding::new(
                PHASE2_DH_GROUP,
                Severity::Error,
                key,
                "AWS accepts none of these PFS groups: the first child SA comes up (IKE_AUTH \
                 has no KE) but every rekey is refused with NO_PROPOSAL_CHOSEN",
                PHASE2_GROUPS_TEXT,
                "offer group 14, 19 or 20",
            ));
            continue;
        }
        for i in bad {
            let g = groups[i];
            out.push(Finding::new(
                PHASE2_DH_GROUP,
                Severity::Warning,
                format!("{key}[{}]", i + 1),
                format!("AWS does not accept PFS group {g}; it is never chosen"),
                PHASE2_GROUPS_TEXT,
                format!("remove group {g}"),
            ));
        }
    }
    out
}
