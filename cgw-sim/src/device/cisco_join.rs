//! The Cisco parts joined per tunnel: each `interface TunnelN` protected by
//! an IPsec profile, through its transform sets and IKEv2 profile (or the
//! ISAKMP policies), to one [`DeviceTunnel`]; BGP neighbours matched to the
//! tunnels by their inside /30.

use std::net::Ipv4Addr;

use super::cisco::{Ikev2Policy, IsakmpPolicy, Neighbor, Parts};
use super::model::{DeviceBgp, DeviceConfig, DeviceDpd, DeviceTunnel, Sourced};
use super::names;
use super::report::Report;
use super::strongswan::network;
use super::{DeviceFormat, ReadError};

/// IOS's IKEv2 SA lifetime without `lifetime` in the profile.
const IKEV2_DEFAULT_LIFETIME: u64 = 86_400;
/// IOS's IPsec SA lifetime without `set security-association lifetime`.
const IPSEC_DEFAULT_LIFETIME: u64 = 3600;
/// IOS's BGP hold time default.
const BGP_DEFAULT_HOLD: u32 = 180;
/// How many DPD retries the timeout is counted over (IOS retransmits a
/// DPD request at the retry interval, five times by default).
const DPD_RETRIES: u64 = 5;

/// The parts joined per tunnel.
pub(super) fn assemble(p: Parts, mut r: Report) -> Result<DeviceConfig, ReadError> {
    let mut tunnels = Vec::new();
    let mut bgp_neighbors: Vec<&Neighbor> = Vec::new();
    let mut local_address = None;
    for t in &p.tunnels {
        let Some(profile_name) = &t.profile else {
            r.unsupported.push((
                t.line,
                format!(
                    "`interface {}` has no `tunnel protection ipsec profile`: not an IPsec tunnel",
                    t.name
                ),
            ));
            continue;
        };
        let n = tunnels.len() + 1;
        let key = |k: &str| format!("cgw.tunnel{n}.ike.{k}");
        let prof = p.ipsec_profiles.get(&profile_name.value).ok_or((
            profile_name.line,
            format!("IPsec profile `{}` is not defined", profile_name.value),
        ))?;
        let dest = t.destination.clone().ok_or((
            t.line,
            format!("`interface {}` has no `tunnel destination`", t.name),
        ))?;
        // `tunnel source` is an address or an interface holding one.
        let local = match &t.source {
            None => None,
            Some(s) => match s.value.parse::<Ipv4Addr>() {
                Ok(a) => Some(Sourced::new(a, s.line)),
                Err(_) => match p.interfaces.get(&s.value) {
                    Some(ip) => {
                        r.notes.push((
                            s.line,
                            format!(
                                "tunnel source {} is {} (line {})",
                                s.value, ip.value, ip.line
                            ),
                        ));
                        Some(Sourced::new(ip.value, s.line))
                    }
                    None => None,
                },
            },
        };
        if local.is_none() {
            r.missing.push((
                if n == 1 {
                    "gateway.local_address".into()
                } else {
                    key("source_address")
                },
                t.line,
                "`tunnel source` is neither an address nor an interface with `ip address`".into(),
            ));
        }
        if local_address.is_none() {
            local_address = local.clone();
        }

        // Phase 2: the transform sets, PFS, lifetime.
        let mut p2e = Vec::new();
        let mut p2i = Vec::new();
        let ts_line = prof.transform_sets.first().map_or(prof.line, |t| t.1);
        for (ts, l) in &prof.transform_sets {
            let set = p
                .transform_sets
                .get(ts)
                .ok_or((*l, format!("transform-set `{ts}` is not defined")))?;
            for e in &set.encryption {
                names::push_unique(&mut p2e, e.clone());
            }
            for i in &set.integrity {
                names::push_unique(&mut p2i, i.clone());
            }
        }
        if prof.transform_sets.is_empty() {
            r.missing.push((key("phase2_encryption"), prof.line, "the IPsec profile sets no transform-set (IOS's default set depends on the release)".into()));
        }
        let pfs = match &prof.pfs {
            Some(g) => Sourced::new(vec![g.value], g.line),
            None => {
                r.notes.push((prof.line, "no `set pfs`: no PFS".into()));
                Sourced::new(Vec::new(), prof.line)
            }
        };
        let phase2_lifetime = prof
            .lifetime
            .clone()
            .or_else(|| p.ipsec_lifetime.clone())
            .unwrap_or_else(|| {
                r.notes.push((
                    prof.line,
                    format!("IPsec SA lifetime: IOS's default {IPSEC_DEFAULT_LIFETIME} s"),
                ));
                Sourced::new(IPSEC_DEFAULT_LIFETIME, prof.line)
            });

        // Phase 1: IKEv2 profile + policies, or IKEv1 ISAKMP policies.
        let (version, p1e, p1i, p1g, phase1_lifetime, psk, dpd);
        if let Some(v2name) = &prof.ikev2_profile {
            let v2 = p.profiles.get(&v2name.value).ok_or((
                v2name.line,
                format!("IKEv2 profile `{}` is not defined", v2name.value),
            ))?;
            version = Sourced::new(2, v2name.line);
            let lf = v2.lifetime.clone().unwrap_or_else(|| {
                r.notes.push((
                    v2.line,
                    format!("IKEv2 lifetime: IOS's default {IKEV2_DEFAULT_LIFETIME} s"),
                ));
                Sourced::new(IKEV2_DEFAULT_LIFETIME, v2.line)
            });
            phase1_lifetime = lf;
            let policies: Vec<&Ikev2Policy> = {
                let exact: Vec<_> = p
                    .policies
                    .iter()
                    .filter(|x| x.local.is_some() && x.local == local.as_ref().map(|l| l.value))
                    .collect();
                if exact.is_empty() {
                    p.policies.iter().filter(|x| x.local.is_none()).collect()
                } else {
                    exact
                }
            };
            let mut e = Vec::new();
            let mut i = Vec::new();
            let mut prf = Vec::new();
            let mut g = Vec::new();
            let mut pline = None;
            let mut field_lines = [None; 3];
            for pol in &policies {
                for (name, l) in &pol.proposals {
                    let prop = p
                        .proposals
                        .get(name)
                        .ok_or((*l, format!("IKEv2 proposal `{name}` is not defined")))?;
                    pline.get_or_insert(prop.line);
                    for (f, pl) in field_lines.iter_mut().zip(prop.lines) {
                        if f.is_none() {
                            *f = pl;
                        }
                    }
                    prop.encryption
                        .iter()
                        .for_each(|x| names::push_unique(&mut e, x.clone()));
                    prop.integrity
                        .iter()
                        .for_each(|x| names::push_unique(&mut i, x.clone()));
                    prop.prf
                        .iter()
                        .for_each(|x| names::push_unique(&mut prf, x.clone()));
                    prop.groups
                        .iter()
                        .for_each(|x| names::push_unique(&mut g, *x));
                }
            }
            let pline = pline.unwrap_or(v2.line);
            if e.is_empty() {
                r.missing.push((key("encryption"), v2.line, "no `crypto ikev2 policy` applies to this tunnel's local address: IOS would use its default proposal, which depends on the release".into()));
            }
            if i.is_empty() {
                if !prf.is_empty() {
                    r.notes.push((
                        pline,
                        "AES-GCM's PRF written as `integrity` (cgw-sim takes the PRF from it)"
                            .into(),
                    ));
                }
                i = prf;
            } else if prf.iter().any(|f| !i.contains(f)) {
                r.notes.push((pline, "a PRF differs from the integrity algorithms: cgw-sim derives the PRF from integrity".into()));
            }
            p1e = Sourced::new(e, field_lines[0].unwrap_or(pline));
            p1i = Sourced::new(i, field_lines[1].unwrap_or(pline));
            p1g = Sourced::new(g, field_lines[2].unwrap_or(pline));
            psk = v2
                .keyring
                .as_ref()
                .and_then(|k| p.keyrings.get(k))
                .and_then(|peers| {
                    peers
                        .iter()
                        .find(|pe| pe.addresses.contains(&dest.value))
                        .and_then(|pe| pe.psk.clone())
                });
            dpd = v2.dpd.as_ref().map(|d| {
                r.notes.push((d.line, format!("DPD: timeout counted as {DPD_RETRIES} retries at the retry interval; on failure IOS clears the SA and the tunnel protection brings it up again (restart)")));
                Sourced::new(DeviceDpd { interval: d.value.0, timeout: d.value.1.saturating_mul(DPD_RETRIES), action: "restart".into() }, d.line)
            });
        } else {
            let mut pols: Vec<&IsakmpPolicy> =
                p.isakmp.iter().filter(|x| x.encryption.is_some()).collect();
            if pols.is_empty() {
                return Err((prof.line, format!("IPsec profile `{}` sets no ikev2-profile and no `crypto isakmp policy` is usable: no phase 1", profile_name.value)));
            }
            pols.sort_by_key(|x| x.priority);
            let pline = pols[0].line;
            version = Sourced::new(1, pline);
            let mut e = Vec::new();
            let mut i = Vec::new();
            let mut g = Vec::new();
            for pol in &pols {
                names::push_unique(&mut e, pol.encryption.clone().unwrap_or_default());
                names::push_unique(&mut i, pol.hash.clone());
                if names::known_group(pol.group) {
                    names::push_unique(&mut g, pol.group);
                }
            }
            if pols.len() > 1 {
                r.notes.push((pline, "several ISAKMP policies: cgw-sim offers every combination of their ciphers, hashes and groups".into()));
            }
            p1e = Sourced::new(e, pline);
            p1i = Sourced::new(i, pline);
            p1g = Sourced::new(g, pline);
            phase1_lifetime = Sourced::new(pols[0].lifetime, pline);
            psk = p
                .isakmp_keys
                .iter()
                .find(|(a, _)| *a == dest.value)
                .map(|(_, k)| k.clone());
            dpd = p.isakmp_keepalive.as_ref().map(|d| {
                Sourced::new(
                    DeviceDpd {
                        interval: d.value.0,
                        timeout: d.value.1.saturating_mul(DPD_RETRIES),
                        action: "restart".into(),
                    },
                    d.line,
                )
            });
        }
        if psk.is_none() {
            r.missing.push((
                key("psk"),
                t.line,
                format!("no pre-shared key in clear for peer {}", dest.value),
            ));
        }
        let inside_cidr =
            t.ip.as_ref()
                .map(|ip| Sourced::new((network(ip.value.0, ip.value.1), ip.value.1), ip.line));
        if inside_cidr.is_none() {
            r.missing.push((
                format!("gateway.tunnel{n}.inside_cidr"),
                t.line,
                "the tunnel interface has no `ip address`".into(),
            ));
        }
        if let Some(ip) = &t.ip {
            if let Some(b) = &p.bgp {
                let net = network(ip.value.0, ip.value.1);
                if let Some(nb) = b
                    .neighbors
                    .iter()
                    .find(|nb| network(nb.addr, ip.value.1) == net)
                {
                    bgp_neighbors.push(nb);
                }
            }
        }
        let clear_df = t.df_clear.or(p.df_clear).map(|l| Sourced::new(true, l));
        let replay = prof.replay.clone().or_else(|| p.replay.clone());
        tunnels.push(DeviceTunnel {
            name: t.name.clone(),
            line: t.line,
            aws_address: dest,
            local_address: local,
            inside_cidr,
            psk,
            enabled: t
                .shutdown
                .map_or(Sourced::new(true, t.line), |l| Sourced::new(false, l)),
            version,
            encryption: p1e,
            integrity: p1i,
            dh_groups: p1g,
            phase2_encryption: Sourced::new(p2e, ts_line),
            phase2_integrity: Sourced::new(p2i, ts_line),
            phase2_dh_groups: pfs,
            phase1_lifetime,
            phase2_lifetime,
            rekey_margin: None,
            rekey_fuzz: None,
            dpd,
            role: Sourced::new("initiator".into(), t.line),
            local_selectors: None,
            remote_selectors: None,
            mss_clamp: t.mss.clone(),
            clear_df,
            mtu: t.mtu.clone(),
            replay_window: replay,
        });
    }
    if tunnels.len() != 2 {
        return Err((
            tunnels.get(2).map_or(1, |t| t.line),
            format!(
                "found {} IPsec tunnel interface(s); an AWS VPN connection has two tunnels",
                tunnels.len()
            ),
        ));
    }
    r.notes.push((
        tunnels[0].line,
        "IOS's rekey timing is not configurable: cgw-sim's rekey_margin default stands".into(),
    ));
    // Static routes into the IPsec tunnels; others are not this VPN's.
    let mut static_routes: Vec<Sourced<String>> = Vec::new();
    for (prefix, via, line) in &p.routes {
        if tunnels.iter().any(|t| &t.name == via) {
            if !static_routes.iter().any(|s| &s.value == prefix) {
                static_routes.push(Sourced::new(prefix.clone(), *line));
            }
        } else {
            r.unsupported.push((
                *line,
                format!("`ip route {prefix} ... {via}`: not through an IPsec tunnel"),
            ));
        }
    }
    let bgp = match &p.bgp {
        None => {
            if static_routes.is_empty() {
                r.missing.push(("cgw.bgp".into(), 1, "no `router bgp` and no `ip route` through the tunnels: give cgw.bgp or cgw.static_routes".into()));
            }
            None
        }
        Some(b) => {
            if bgp_neighbors.len() != 2 {
                r.notes.push((
                    b.asn.as_ref().map_or(1, |a| a.line),
                    format!(
                        "{} of the 2 tunnels have a BGP neighbour in their inside /30",
                        bgp_neighbors.len()
                    ),
                ));
            }
            for nb in &b.neighbors {
                if !bgp_neighbors.iter().any(|x| x.addr == nb.addr) {
                    let l = nb.remote_as.as_ref().map_or(1, |a| a.line);
                    r.unsupported.push((
                        l,
                        format!("BGP neighbour {} is in no tunnel's inside /30", nb.addr),
                    ));
                }
            }
            let peer_asn = bgp_neighbors.first().and_then(|n| n.remote_as.clone());
            if bgp_neighbors.iter().any(|n| {
                n.remote_as.as_ref().map(|a| a.value) != peer_asn.as_ref().map(|a| a.value)
            }) {
                r.notes.push((peer_asn.as_ref().map_or(1, |a| a.line), "the tunnels' neighbours have different remote-as: cgw.bgp.peer_asn is the first".into()));
            }
            let hold = bgp_neighbors
                .first()
                .and_then(|n| n.hold.clone())
                .or_else(|| b.hold.clone())
                .unwrap_or_else(|| {
                    let l = b.asn.as_ref().map_or(1, |a| a.line);
                    r.notes.push((
                        l,
                        format!("BGP hold time: IOS's default {BGP_DEFAULT_HOLD} s"),
                    ));
                    Sourced::new(BGP_DEFAULT_HOLD, l)
                });
            if b.networks.is_empty() {
                r.missing.push((
                    "cgw.bgp.announce".into(),
                    b.asn.as_ref().map_or(1, |a| a.line),
                    "no `network` statement: the device announces nothing".into(),
                ));
            }
            Some(DeviceBgp {
                asn: b.asn.clone(),
                peer_asn,
                hold_time: Some(hold),
                announce: b.networks.clone(),
            })
        }
    };
    if local_address.is_none() {
        r.missing.push((
            "gateway.local_address".into(),
            tunnels[0].line,
            "no tunnel source address".into(),
        ));
    }
    Ok(DeviceConfig {
        format: DeviceFormat::CiscoIos,
        local_address,
        tunnels,
        bgp,
        static_routes,
        unsupported: r.unsupported,
        notes: r.notes,
        missing: r.missing,
    })
}
