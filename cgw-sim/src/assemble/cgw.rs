//! The customer gateway's node configuration from its `[cgw]` section:
//! proposals from AWS-style algorithm names, IKEv1 suites, policy-based
//! selector pairs, and one [`TunnelConfig`] per tunnel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ike::crypto::{DhGroup, Secret};
use ike::sa::{Dpd, EspProposal, IkeConfig, IkeProposal, Lifetimes};

use super::Inside;
use crate::aws::{Encryption, Integrity};
use crate::node::{SelectorPair, TunnelConfig, TunnelRole};
use crate::scenario::{CgwIke, CgwTunnel, Prefix, Role};
use lab::wire::Prefix as LabPrefix;

/// How long a customer gateway waits before it initiates a failed tunnel
/// again.
pub const RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether the customer gateway initiates tunnel `t` again (after
/// [`RETRY_INTERVAL`]) once it went down for `cause`: an enabled initiator
/// does, except when the engine restarts the IKE SA itself (DPD action
/// restart after a DPD timeout) or the tunnel's idle timeout took it down
/// (it comes back on demand, when traffic for it arrives).
pub fn retries_after(t: &CgwTunnel, cause: &crate::node::DownCause) -> bool {
    use crate::node::DownCause;
    let restarts = t
        .ike
        .dpd
        .as_ref()
        .is_some_and(|d| d.action == crate::aws::DpdTimeoutAction::Restart);
    t.enabled
        && t.ike.role == Role::Initiator
        && match cause {
            DownCause::DpdTimeout { .. } => !restarts,
            DownCause::IdleTimeout { .. } => false,
            _ => true,
        }
}

/// The CGW's tunnel `t` (`cgw.tunnelN`) to the AWS endpoint `peer`, with the
/// inside addresses and the pre-shared key. Errors name the key
/// (`ike: unknown DH group 3`); the caller adds `cgw.tunnelN.`.
pub fn cgw_tunnel(
    t: &CgwTunnel,
    peer: Ipv4Addr,
    inside: Inside,
    psk: Secret,
) -> Result<TunnelConfig, String> {
    let (ikep, espp) = cgw_proposals(&t.ike).map_err(|e| format!("ike: {e}"))?;
    let mut cfg = IkeConfig::new(psk, ikep, espp);
    cfg.lifetimes = Lifetimes {
        ike: t.ike.phase1_lifetime,
        child: t.ike.phase2_lifetime,
        margin: t.ike.rekey_margin,
        fuzz_percent: t.ike.rekey_fuzz,
    };
    // A policy-based CGW: one child SA pair per (local, remote) selector
    // pair, the first in IKE_AUTH, the others by CREATE_CHILD_SA once the
    // IKE SA is up.
    let mut pairs = selector_pairs(&t.ike, inside.v6.is_some())
        .map_err(|e| format!("ike: {e}"))?
        .into_iter();
    if let Some((l, r)) = pairs.next() {
        cfg.local_ts = l;
        cfg.remote_ts = r;
    }
    let extra_selectors: Vec<_> = pairs.collect();
    cfg.dpd = t.ike.dpd.as_ref().map(|d| Dpd {
        delay: d.interval,
        timeout: d.timeout,
        action: d.action.engine(),
    });
    let ikev1 = match t.ike.version {
        1 => Some(cgw_ikev1_suites(&t.ike).map_err(|e| format!("ike: {e}"))?),
        _ => None,
    };
    Ok(TunnelConfig {
        extra_selectors,
        ikev1,
        clear_df: t.clear_df,
        mss_clamp: t.mss_clamp,
        idle_timeout: t.ike.idle_timeout,
        peer,
        inside_local: inside.cgw,
        inside_remote: inside.aws,
        ike: Arc::new(cfg),
        role: match (t.enabled, t.ike.role) {
            (true, Role::Initiator) => TunnelRole::Initiator,
            _ => TunnelRole::Responder,
        },
    })
}

/// The CGW's proposals from its AWS-style algorithm names: a CBC proposal
/// and an AEAD proposal as needed. Unknown names are errors.
pub fn cgw_proposals(ike: &CgwIke) -> Result<(Vec<IkeProposal>, Vec<EspProposal>), String> {
    let encr = |names: &[String]| -> Result<Vec<Encryption>, String> {
        names
            .iter()
            .map(|n| n.parse::<Encryption>().map_err(|e| e.to_string()))
            .collect()
    };
    let integ = |names: &[String]| -> Result<Vec<Integrity>, String> {
        names
            .iter()
            .map(|n| n.parse::<Integrity>().map_err(|e| e.to_string()))
            .collect()
    };
    let groups = |ids: &[u16]| -> Result<Vec<DhGroup>, String> {
        ids.iter()
            .map(|g| DhGroup::from_id(*g).ok_or_else(|| format!("unknown DH group {g}")))
            .collect()
    };
    let p1e = encr(&ike.encryption)?;
    let p1i = integ(&ike.integrity)?;
    let p1g = groups(&ike.dh_groups)?;
    let p2e = encr(&ike.phase2_encryption)?;
    let p2i = integ(&ike.phase2_integrity)?;
    let p2g = groups(&ike.phase2_dh_groups)?;
    let prf: Vec<_> = p1i.iter().map(|i| i.prf()).collect();
    let mut ikep = Vec::new();
    let (cbc, gcm): (Vec<Encryption>, Vec<Encryption>) =
        p1e.iter().copied().partition(|e| !e.is_aead());
    if !cbc.is_empty() {
        ikep.push(IkeProposal {
            encr: cbc.iter().map(|e| e.alg()).collect(),
            prf: prf.clone(),
            integ: p1i.iter().map(|i| i.integ()).collect(),
            dh: p1g.clone(),
        });
    }
    if !gcm.is_empty() {
        ikep.push(IkeProposal {
            encr: gcm.iter().map(|e| e.alg()).collect(),
            prf,
            integ: Vec::new(),
            dh: p1g,
        });
    }
    let mut espp = Vec::new();
    let (cbc, gcm): (Vec<Encryption>, Vec<Encryption>) =
        p2e.iter().copied().partition(|e| !e.is_aead());
    if !cbc.is_empty() {
        espp.push(EspProposal {
            encr: cbc.iter().map(|e| e.alg()).collect(),
            integ: p2i.iter().map(|i| i.integ()).collect(),
            dh: p2g.clone(),
        });
    }
    if !gcm.is_empty() {
        espp.push(EspProposal {
            encr: gcm.iter().map(|e| e.alg()).collect(),
            integ: Vec::new(),
            dh: p2g,
        });
    }
    if ikep.is_empty() || espp.is_empty() {
        return Err("the CGW offers no phase 1 or no phase 2 encryption".into());
    }
    Ok((ikep, espp))
}

/// An IKEv1 CGW's Main Mode suites: every combination of its phase 1
/// encryption, integrity and DH group, in the order written (IKEv1 offers
/// whole suites, one per transform). AES-GCM has no IKEv1 phase 1 form.
pub fn cgw_ikev1_suites(ike: &CgwIke) -> Result<Vec<ike::ikev1::Suite>, String> {
    use ike::ikev1::{Cipher, Hash, Suite};
    let mut suites = Vec::new();
    for e in &ike.encryption {
        let cipher = match e.parse::<Encryption>().map_err(|x| x.to_string())? {
            Encryption::Aes128 => Cipher::AesCbc(128),
            Encryption::Aes256 => Cipher::AesCbc(256),
            gcm => return Err(format!("{gcm} is not an IKEv1 phase 1 cipher")),
        };
        for i in &ike.integrity {
            let hash = match i.parse::<Integrity>().map_err(|x| x.to_string())? {
                Integrity::Sha1 => Hash::Sha1,
                Integrity::Sha2_256 => Hash::Sha2_256,
                Integrity::Sha2_384 => Hash::Sha2_384,
                Integrity::Sha2_512 => Hash::Sha2_512,
            };
            for g in &ike.dh_groups {
                suites.push(Suite {
                    cipher,
                    hash,
                    group: *g,
                    lifetime_secs: u32::try_from(ike.phase1_lifetime.as_secs()).unwrap_or(u32::MAX),
                });
            }
        }
    }
    if suites.is_empty() || suites.len() > 255 {
        return Err(format!(
            "IKEv1 Main Mode offers 1 to 255 suites; this configuration makes {}",
            suites.len()
        ));
    }
    Ok(suites)
}

/// The CGW's child SA pairs: every local selector with every remote one,
/// in order (a policy-based device's crypto ACL lines). The default
/// 0.0.0.0/0 both ways is one pair (route-based); on a tunnel that carries
/// IPv6 (`ipv6`) an "any" selector is ::/0 instead, as AWS's IPv6
/// connections negotiate.
pub fn selector_pairs(ike: &CgwIke, ipv6: bool) -> Result<Vec<SelectorPair>, String> {
    use ike::wire::{TrafficSelector, TsType};
    let ts = |p: &Prefix| -> Result<TrafficSelector, String> {
        let (ts_type, start, end) = match p.addr {
            IpAddr::V4(_) if p.len == 0 && ipv6 => {
                return Ok(TrafficSelector::ipv6_any());
            }
            IpAddr::V4(a) => {
                let lp = LabPrefix::new(a, p.len).ok_or_else(|| format!("bad selector {p}"))?;
                let lo = u32::from(lp.addr());
                let hi = lo | u32::MAX.checked_shr(u32::from(lp.len())).unwrap_or(0);
                (
                    TsType::IPV4_ADDR_RANGE,
                    IpAddr::V4(Ipv4Addr::from(lo)),
                    IpAddr::V4(Ipv4Addr::from(hi)),
                )
            }
            IpAddr::V6(a) => {
                if p.len > 128 {
                    return Err(format!("bad selector {p}"));
                }
                let host = u128::MAX.checked_shr(u32::from(p.len)).unwrap_or(0);
                let lo = u128::from(a) & !host;
                (
                    TsType::IPV6_ADDR_RANGE,
                    IpAddr::V6(Ipv6Addr::from(lo)),
                    IpAddr::V6(Ipv6Addr::from(lo | host)),
                )
            }
        };
        Ok(TrafficSelector {
            ts_type,
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: start,
            end_addr: end,
        })
    };
    let mut v = Vec::new();
    for l in &ike.local_selectors {
        for r in &ike.remote_selectors {
            v.push((vec![ts(l)?], vec![ts(r)?]));
        }
    }
    Ok(v)
}
