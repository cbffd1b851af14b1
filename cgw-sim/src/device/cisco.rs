//! A Cisco IOS / IOS-XE configuration tree into a [`DeviceConfig`]: each
//! `interface TunnelN` protected by an IPsec profile is a tunnel, in the
//! order the file lists them; its profile leads to the transform sets, the
//! IKEv2 profile (keyring, lifetime, DPD) or the ISAKMP policies (IKEv1),
//! and `router bgp` gives the neighbour in its inside /30. IOS's defaults
//! fill what the file leaves out, marked as such.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::config::Psk;

use super::cisco_tree::Line;
use super::model::{DeviceBgp, DeviceConfig, DeviceDpd, DeviceTunnel, Sourced};
use super::names;
use super::report::Report;
use super::strongswan::network;
use super::{DeviceFormat, ReadError};

/// IOS's IKEv2 SA lifetime without `lifetime` in the profile.
const IKEV2_DEFAULT_LIFETIME: u64 = 86_400;
/// IOS's IPsec SA lifetime without `set security-association lifetime`.
const IPSEC_DEFAULT_LIFETIME: u64 = 3600;
/// IOS's ISAKMP policy lifetime default.
const ISAKMP_DEFAULT_LIFETIME: u64 = 86_400;
/// IOS's BGP hold time default.
const BGP_DEFAULT_HOLD: u32 = 180;
/// How many DPD retries the timeout is counted over (IOS retransmits a
/// DPD request at the retry interval, five times by default).
const DPD_RETRIES: u64 = 5;

impl Report {
    fn unsupported(&mut self, l: &Line, why: &str) {
        self.unsupported
            .push((l.line, format!("`{}`: {why}", l.shown())));
    }
    /// Every line of a block cgw-sim does not read.
    fn block(&mut self, l: &Line, why: &str) {
        self.unsupported(l, why);
        for c in &l.children {
            self.block(c, why);
        }
    }
}

#[derive(Default)]
struct Ikev2Proposal {
    line: usize,
    encryption: Vec<String>,
    integrity: Vec<String>,
    prf: Vec<String>,
    groups: Vec<u16>,
    /// The lines of `encryption`, `integrity` (else `prf`) and `group`.
    lines: [Option<usize>; 3],
}

struct Ikev2Policy {
    local: Option<Ipv4Addr>,
    proposals: Vec<(String, usize)>,
}

struct KeyringPeer {
    addresses: Vec<Ipv4Addr>,
    psk: Option<Sourced<Psk>>,
}

#[derive(Default)]
struct Ikev2Profile {
    line: usize,
    keyring: Option<String>,
    lifetime: Option<Sourced<u64>>,
    dpd: Option<Sourced<(u64, u64)>>,
}

#[derive(Default)]
struct TransformSet {
    encryption: Vec<String>,
    integrity: Vec<String>,
}

#[derive(Default)]
struct IpsecProfile {
    line: usize,
    transform_sets: Vec<(String, usize)>,
    pfs: Option<Sourced<u16>>,
    ikev2_profile: Option<Sourced<String>>,
    lifetime: Option<Sourced<u64>>,
    replay: Option<Sourced<u32>>,
}

struct IsakmpPolicy {
    priority: u32,
    line: usize,
    encryption: Option<String>,
    hash: String,
    group: u16,
    lifetime: u64,
}

#[derive(Default)]
struct TunnelIf {
    name: String,
    line: usize,
    ip: Option<Sourced<(Ipv4Addr, u8)>>,
    source: Option<Sourced<String>>,
    destination: Option<Sourced<Ipv4Addr>>,
    profile: Option<Sourced<String>>,
    mss: Option<Sourced<u16>>,
    mtu: Option<Sourced<u16>>,
    shutdown: Option<usize>,
    df_clear: Option<usize>,
}

struct Neighbor {
    addr: Ipv4Addr,
    remote_as: Option<Sourced<u32>>,
    hold: Option<Sourced<u32>>,
}

#[derive(Default)]
struct Bgp {
    asn: Option<Sourced<u32>>,
    neighbors: Vec<Neighbor>,
    networks: Vec<Sourced<String>>,
    hold: Option<Sourced<u32>>,
}

#[derive(Default)]
struct Parts {
    proposals: HashMap<String, Ikev2Proposal>,
    policies: Vec<Ikev2Policy>,
    keyrings: HashMap<String, Vec<KeyringPeer>>,
    profiles: HashMap<String, Ikev2Profile>,
    transform_sets: HashMap<String, TransformSet>,
    ipsec_profiles: HashMap<String, IpsecProfile>,
    isakmp: Vec<IsakmpPolicy>,
    isakmp_keys: Vec<(Ipv4Addr, Sourced<Psk>)>,
    isakmp_keepalive: Option<Sourced<(u64, u64)>>,
    df_clear: Option<usize>,
    replay: Option<Sourced<u32>>,
    ipsec_lifetime: Option<Sourced<u64>>,
    interfaces: HashMap<String, Sourced<Ipv4Addr>>,
    tunnels: Vec<TunnelIf>,
    bgp: Option<Bgp>,
    /// `ip route PREFIX MASK VIA`: (prefix, via, line).
    routes: Vec<(String, String, usize)>,
}

fn num<T: std::str::FromStr>(l: &Line, w: Option<&&str>, what: &str) -> Result<T, ReadError> {
    w.and_then(|s| s.parse().ok())
        .ok_or((l.line, format!("`{}`: expected {what}", l.shown())))
}

fn addr(l: &Line, w: Option<&&str>) -> Result<Ipv4Addr, ReadError> {
    num(l, w, "an IPv4 address")
}

fn mask_len(l: &Line, w: Option<&&str>) -> Result<u8, ReadError> {
    let m = u32::from(addr(l, w)?);
    if m.leading_ones() + m.trailing_zeros() != 32 {
        return Err((l.line, format!("`{}`: not a contiguous netmask", l.shown())));
    }
    Ok(m.leading_ones() as u8)
}

/// A PSK line's key: `... [local|remote] [0|6] KEY`; `6` is an encrypted
/// key that cannot be read back.
fn psk_words(l: &Line, words: &[&str], r: &mut Report) -> Option<Sourced<Psk>> {
    let mut w = words;
    if matches!(w.first(), Some(&"local" | &"remote")) {
        w = &w[1..];
    }
    match w {
        ["6", ..] | ["7", ..] => {
            r.unsupported.push((
                l.line,
                "an encrypted pre-shared key (type 6/7) cannot be read: give it in clear (type 0)"
                    .into(),
            ));
            None
        }
        ["0", key] | [key] => Some(Sourced::new(Psk::new((*key).to_owned()), l.line)),
        _ => {
            r.unsupported(l, "not a pre-shared key line cgw-sim reads");
            None
        }
    }
}

/// Reads the tree.
pub(crate) fn read(lines: &[Line]) -> Result<DeviceConfig, ReadError> {
    let mut r = Report::default();
    let mut p = Parts::default();
    for l in lines {
        let w = l.words();
        match w.as_slice() {
            ["crypto", "ikev2", "proposal", name] => {
                let prop = read_proposal(l, &mut r)?;
                p.proposals.insert((*name).to_owned(), prop);
            }
            ["crypto", "ikev2", "policy", _] => p.policies.push(read_policy(l, &mut r)?),
            ["crypto", "ikev2", "keyring", name] => {
                let k = read_keyring(l, &mut r)?;
                p.keyrings.insert((*name).to_owned(), k);
            }
            ["crypto", "ikev2", "profile", name] => {
                let pr = read_profile(l, &mut r)?;
                p.profiles.insert((*name).to_owned(), pr);
            }
            ["crypto", "ipsec", "transform-set", name, ts @ ..] => {
                let t = read_transform_set(l, ts, &mut r)?;
                p.transform_sets.insert((*name).to_owned(), t);
            }
            ["crypto", "ipsec", "profile", name] => {
                let pr = read_ipsec_profile(l, &mut r)?;
                p.ipsec_profiles.insert((*name).to_owned(), pr);
            }
            ["crypto", "ipsec", "df-bit", "clear"] => p.df_clear = Some(l.line),
            ["crypto", "ipsec", "fragmentation", "before-encryption"] => r.notes.push((
                l.line,
                "fragmentation before encryption: cgw-sim fragments before encryption with clear_df".into(),
            )),
            ["crypto", "ipsec", "security-association", "replay", "window-size", n] => {
                p.replay = Some(Sourced::new(num(l, Some(n), "a window size")?, l.line))
            }
            ["crypto", "ipsec", "security-association", "lifetime", "seconds", n] => {
                p.ipsec_lifetime = Some(Sourced::new(num(l, Some(n), "seconds")?, l.line))
            }
            ["crypto", "isakmp", "policy", n] => {
                p.isakmp.push(read_isakmp_policy(l, num(l, Some(n), "a priority")?, &mut r)?)
            }
            ["crypto", "isakmp", "key", rest @ ..] => {
                // `crypto isakmp key [0|6] KEY address A [MASK] [no-xauth]`
                let at = rest.iter().position(|x| *x == "address");
                match at {
                    Some(i) => {
                        let a = addr(l, rest.get(i + 1))?;
                        if let Some(k) = psk_words(l, &rest[..i], &mut r) {
                            p.isakmp_keys.push((a, k));
                        }
                    }
                    None => r.unsupported(l, "an ISAKMP key without `address` (hostname keys are not read)"),
                }
            }
            ["crypto", "isakmp", "keepalive", i, rest @ ..] => {
                let i: u64 = num(l, Some(i), "seconds")?;
                let retry: u64 = match rest.first() {
                    Some(x) if x.parse::<u64>().is_ok() => num(l, Some(x), "seconds")?,
                    _ => 2,
                };
                p.isakmp_keepalive = Some(Sourced::new((i, retry), l.line));
            }
            ["crypto", "keyring", _] => read_v1_keyring(l, &mut p, &mut r)?,
            ["crypto", "isakmp", "profile", _] => r.block(
                l,
                "ISAKMP profiles are not read: keys are matched to tunnels by peer address",
            ),
            ["ip", "route", prefix, mask, via, rest @ ..] => {
                let a = addr(l, Some(prefix))?;
                let len = mask_len(l, Some(mask))?;
                if !rest.is_empty() {
                    r.unsupported.push((l.line, format!("`{}` in `{}`: not read", rest.join(" "), l.shown())));
                }
                p.routes.push((format!("{a}/{len}"), (*via).to_owned(), l.line));
            }
            ["interface", name] if name.starts_with("Tunnel") => {
                p.tunnels.push(read_tunnel(l, name, &mut r)?)
            }
            ["interface", name] => {
                let ip = l.children.iter().find_map(|c| match c.words().as_slice() {
                    ["ip", "address", a, _] => a.parse().ok().map(|a| Sourced::new(a, c.line)),
                    _ => None,
                });
                if let Some(ip) = ip {
                    p.interfaces.insert((*name).to_owned(), ip);
                }
                r.unsupported.push((l.line, format!("`{}` (lines {}-{}): not a tunnel interface; read only for `tunnel source`", l.shown(), l.line, l.last)));
            }
            ["router", "bgp", asn] => {
                let mut b = Bgp {
                    asn: Some(Sourced::new(num(l, Some(asn), "an AS number")?, l.line)),
                    ..Bgp::default()
                };
                read_bgp(&l.children, &mut b, &mut r)?;
                p.bgp = Some(b);
            }
            _ => r.unsupported.push((
                l.line,
                if l.children.is_empty() {
                    format!("`{}`: outside the IPsec/IKE/BGP parts cgw-sim reads", l.shown())
                } else {
                    format!("`{}` (lines {}-{}): outside the IPsec/IKE/BGP parts cgw-sim reads", l.shown(), l.line, l.last)
                },
            )),
        }
    }
    assemble(p, r)
}

fn read_proposal(l: &Line, r: &mut Report) -> Result<Ikev2Proposal, ReadError> {
    let mut p = Ikev2Proposal {
        line: l.line,
        ..Ikev2Proposal::default()
    };
    for c in &l.children {
        let w = c.words();
        match w.as_slice() {
            ["encryption", algs @ ..] => {
                p.lines[0].get_or_insert(c.line);
                for a in algs {
                    match names::cisco_ikev2_encryption(a) {
                        Some(Ok(e)) => names::push_unique(&mut p.encryption, e.to_owned()),
                        Some(Err(what)) => r.unsupported.push((
                            c.line,
                            format!("encryption `{a}` ({what}): cgw-sim cannot offer it; left out"),
                        )),
                        None => return Err((c.line, format!("unknown IKEv2 encryption `{a}`"))),
                    }
                }
            }
            [kind @ ("integrity" | "prf"), algs @ ..] => {
                if *kind == "integrity" || p.integrity.is_empty() {
                    p.lines[1] = Some(p.lines[1].filter(|_| *kind == "prf").unwrap_or(c.line));
                }
                for a in algs {
                    let h = names::cisco_hash(a)
                        .ok_or((c.line, format!("unknown IKEv2 {kind} `{a}`")))?;
                    let list = if *kind == "integrity" {
                        &mut p.integrity
                    } else {
                        &mut p.prf
                    };
                    names::push_unique(list, h.to_owned());
                }
            }
            ["group", groups @ ..] => {
                p.lines[2].get_or_insert(c.line);
                for g in groups {
                    let g: u16 = num(c, Some(g), "a DH group number")?;
                    if names::known_group(g) {
                        names::push_unique(&mut p.groups, g);
                    } else {
                        r.unsupported.push((
                            c.line,
                            format!("group {g}: cgw-sim cannot offer it; left out"),
                        ));
                    }
                }
            }
            _ => r.unsupported(c, "not a proposal setting cgw-sim reads"),
        }
    }
    Ok(p)
}

fn read_policy(l: &Line, r: &mut Report) -> Result<Ikev2Policy, ReadError> {
    let mut p = Ikev2Policy {
        local: None,
        proposals: Vec::new(),
    };
    for c in &l.children {
        match c.words().as_slice() {
            ["proposal", name] => p.proposals.push(((*name).to_owned(), c.line)),
            ["match", "address", "local", a] => p.local = Some(addr(c, Some(a))?),
            _ => r.unsupported(c, "not a policy setting cgw-sim reads"),
        }
    }
    Ok(p)
}

fn read_keyring(l: &Line, r: &mut Report) -> Result<Vec<KeyringPeer>, ReadError> {
    let mut peers = Vec::new();
    for peer in &l.children {
        if !peer.text.starts_with("peer ") {
            r.block(peer, "not a keyring peer");
            continue;
        }
        let mut kp = KeyringPeer {
            addresses: Vec::new(),
            psk: None,
        };
        for c in &peer.children {
            let w = c.words();
            match w.as_slice() {
                ["address", a, ..] => kp.addresses.push(addr(c, Some(a))?),
                ["pre-shared-key", rest @ ..] => {
                    if let Some(k) = psk_words(c, rest, r) {
                        if kp.psk.as_ref().is_some_and(|o| o.value != k.value) {
                            r.notes.push((c.line, "different local and remote keys: AWS has one key per tunnel; the first is used".into()));
                        } else if kp.psk.is_none() {
                            kp.psk = Some(k);
                        }
                    }
                }
                ["description", ..] => {}
                _ => r.unsupported(c, "not a keyring setting cgw-sim reads"),
            }
        }
        peers.push(kp);
    }
    Ok(peers)
}

fn read_profile(l: &Line, r: &mut Report) -> Result<Ikev2Profile, ReadError> {
    let mut p = Ikev2Profile {
        line: l.line,
        ..Ikev2Profile::default()
    };
    for c in &l.children {
        match c.words().as_slice() {
            ["match", "identity", "remote", "address", ..]
            | ["match", "address", "local", ..]
            | ["identity", "local", "address", ..] => {}
            ["authentication", "remote" | "local", "pre-share"] => {}
            ["authentication", ..] => {
                r.unsupported(c, "only pre-shared key authentication is read")
            }
            ["keyring", "local", name] => p.keyring = Some((*name).to_owned()),
            ["lifetime", s] => p.lifetime = Some(Sourced::new(num(c, Some(s), "seconds")?, c.line)),
            ["dpd", i, retry, mode] => {
                let i: u64 = num(c, Some(i), "seconds")?;
                let retry: u64 = num(c, Some(retry), "seconds")?;
                if *mode == "periodic" {
                    r.notes.push((c.line, "DPD periodic: IOS probes every interval; cgw-sim probes after an idle interval".into()));
                }
                p.dpd = Some(Sourced::new((i, retry), c.line));
            }
            _ => r.unsupported(c, "not an IKEv2 profile setting cgw-sim reads"),
        }
    }
    Ok(p)
}

fn read_transform_set(l: &Line, ts: &[&str], r: &mut Report) -> Result<TransformSet, ReadError> {
    let mut t = TransformSet::default();
    let mut i = 0;
    while let Some(x) = ts.get(i) {
        let bits = ts.get(i + 1).and_then(|b| b.parse::<u16>().ok());
        if bits.is_some() {
            i += 1;
        }
        i += 1;
        let mut enc = |n: &str| names::push_unique(&mut t.encryption, n.to_owned());
        match (*x, bits) {
            ("esp-aes", None | Some(128)) => enc("AES128"),
            ("esp-aes", Some(192)) => enc("AES192"),
            ("esp-aes", Some(256)) => enc("AES256"),
            ("esp-gcm", None | Some(128)) => {
                if bits.is_none() {
                    r.notes.push((
                        l.line,
                        "esp-gcm without a key size is IOS's 128 bits".into(),
                    ));
                }
                enc("AES128-GCM-16")
            }
            ("esp-gcm", Some(256)) => enc("AES256-GCM-16"),
            ("esp-3des", None) => enc("3DES"),
            ("esp-des", None) => enc("DES"),
            ("esp-sha-hmac", None) => names::push_unique(&mut t.integrity, "SHA1".to_owned()),
            ("esp-sha256-hmac", None) => {
                names::push_unique(&mut t.integrity, "SHA2-256".to_owned())
            }
            ("esp-sha384-hmac", None) => {
                names::push_unique(&mut t.integrity, "SHA2-384".to_owned())
            }
            ("esp-sha512-hmac", None) => {
                names::push_unique(&mut t.integrity, "SHA2-512".to_owned())
            }
            ("esp-md5-hmac", None) => names::push_unique(&mut t.integrity, "MD5".to_owned()),
            (
                "esp-null" | "esp-gmac" | "esp-seal" | "ah-md5-hmac" | "ah-sha-hmac"
                | "ah-sha256-hmac" | "ah-sha384-hmac" | "ah-sha512-hmac" | "comp-lzs",
                _,
            )
            | ("esp-gcm", Some(192)) => r.unsupported.push((
                l.line,
                format!(
                    "transform `{x}`: cgw-sim cannot offer it (AWS runs ESP with AES); left out"
                ),
            )),
            (x, _) => return Err((l.line, format!("unknown transform `{x}`"))),
        }
    }
    for c in &l.children {
        match c.words().as_slice() {
            ["mode", "tunnel"] => {}
            ["mode", m] => return Err((c.line, format!("mode {m}: AWS runs tunnel mode only"))),
            _ => r.unsupported(c, "not a transform-set setting cgw-sim reads"),
        }
    }
    Ok(t)
}

fn group_word(c: &Line, g: &str) -> Result<u16, ReadError> {
    g.strip_prefix("group")
        .and_then(|n| n.parse().ok())
        .ok_or((c.line, format!("`{}`: expected groupN", c.shown())))
}

fn read_ipsec_profile(l: &Line, r: &mut Report) -> Result<IpsecProfile, ReadError> {
    let mut p = IpsecProfile {
        line: l.line,
        ..IpsecProfile::default()
    };
    for c in &l.children {
        match c.words().as_slice() {
            ["set", "transform-set", sets @ ..] => p
                .transform_sets
                .extend(sets.iter().map(|s| ((*s).to_owned(), c.line))),
            ["set", "pfs", g] => p.pfs = Some(Sourced::new(group_word(c, g)?, c.line)),
            ["set", "ikev2-profile", name] => {
                p.ikev2_profile = Some(Sourced::new((*name).to_owned(), c.line))
            }
            ["set", "security-association", "lifetime", "seconds", s] => {
                p.lifetime = Some(Sourced::new(num(c, Some(s), "seconds")?, c.line))
            }
            ["set", "security-association", "replay", "window-size", n] => {
                p.replay = Some(Sourced::new(num(c, Some(n), "a window size")?, c.line))
            }
            _ => r.unsupported(c, "not an IPsec profile setting cgw-sim reads"),
        }
    }
    Ok(p)
}

fn read_isakmp_policy(l: &Line, priority: u32, r: &mut Report) -> Result<IsakmpPolicy, ReadError> {
    let mut p = IsakmpPolicy {
        priority,
        line: l.line,
        encryption: None,
        hash: "SHA1".into(),
        group: 1,
        lifetime: ISAKMP_DEFAULT_LIFETIME,
    };
    for c in &l.children {
        match c.words().as_slice() {
            ["encryption", "aes"] | ["encryption", "aes", "128"] => {
                p.encryption = Some("AES128".into())
            }
            ["encryption", "aes", "192"] => p.encryption = Some("AES192".into()),
            ["encryption", "aes", "256"] => p.encryption = Some("AES256".into()),
            ["encryption", "3des"] => p.encryption = Some("3DES".into()),
            ["encryption", "des"] => p.encryption = Some("DES".into()),
            ["encryption", ..] => {
                return Err((c.line, format!("unknown ISAKMP encryption `{}`", c.shown())))
            }
            ["hash", h] => {
                p.hash = names::cisco_isakmp_hash(h)
                    .ok_or((c.line, format!("unknown ISAKMP hash `{h}`")))?
                    .into()
            }
            ["group", g] => p.group = num(c, Some(g), "a DH group")?,
            ["lifetime", s] => p.lifetime = num(c, Some(s), "seconds")?,
            ["authentication", "pre-share"] => {}
            _ => r.unsupported(c, "not an ISAKMP policy setting cgw-sim reads"),
        }
    }
    if p.encryption.is_none() {
        r.unsupported.push((l.line, "ISAKMP policy without `encryption`: IOS's default cipher depends on the release; policy not read".into()));
    }
    Ok(p)
}

fn read_v1_keyring(l: &Line, p: &mut Parts, r: &mut Report) -> Result<(), ReadError> {
    for c in &l.children {
        let w = c.words();
        match w.as_slice() {
            ["pre-shared-key", "address", a, rest @ ..] => {
                let a = addr(c, Some(a))?;
                let key_at = rest.iter().position(|x| *x == "key");
                let key = key_at.and_then(|i| psk_words(c, &rest[i + 1..], r));
                match key {
                    Some(k) => p.isakmp_keys.push((a, k)),
                    None if key_at.is_none() => r.unsupported(c, "no `key`"),
                    None => {}
                }
            }
            ["local-address", ..] | ["description", ..] => {}
            _ => r.unsupported(c, "not a keyring setting cgw-sim reads"),
        }
    }
    Ok(())
}

fn read_tunnel(l: &Line, name: &str, r: &mut Report) -> Result<TunnelIf, ReadError> {
    let mut t = TunnelIf {
        name: name.to_owned(),
        line: l.line,
        ..TunnelIf::default()
    };
    for c in &l.children {
        match c.words().as_slice() {
            ["ip", "address", a, m] => {
                let a = addr(c, Some(a))?;
                t.ip = Some(Sourced::new((a, mask_len(c, Some(m))?), c.line));
            }
            ["tunnel", "source", s] => t.source = Some(Sourced::new((*s).to_owned(), c.line)),
            ["tunnel", "destination", a] => {
                t.destination = Some(Sourced::new(addr(c, Some(a))?, c.line))
            }
            ["tunnel", "mode", "ipsec", "ipv4"] => {}
            ["tunnel", "mode", ..] => {
                return Err((
                    c.line,
                    format!(
                        "`{}`: cgw-sim reads IPsec IPv4 tunnels (VTI) only",
                        c.shown()
                    ),
                ))
            }
            ["tunnel", "protection", "ipsec", "profile", p, ..] => {
                t.profile = Some(Sourced::new((*p).to_owned(), c.line))
            }
            ["ip", "tcp", "adjust-mss", m] => {
                t.mss = Some(Sourced::new(num(c, Some(m), "an MSS")?, c.line))
            }
            ["ip", "mtu", m] => t.mtu = Some(Sourced::new(num(c, Some(m), "an MTU")?, c.line)),
            ["shutdown"] => t.shutdown = Some(c.line),
            ["no", "shutdown"] | ["description", ..] => {}
            ["crypto", "ipsec", "df-bit", "clear"] => t.df_clear = Some(c.line),
            _ => r.unsupported(c, "not a tunnel interface setting cgw-sim reads"),
        }
    }
    Ok(t)
}

fn read_bgp(lines: &[Line], b: &mut Bgp, r: &mut Report) -> Result<(), ReadError> {
    for c in lines {
        let w = c.words();
        match w.as_slice() {
            ["address-family", "ipv4", ..] if w.len() <= 3 => read_bgp(&c.children, b, r)?,
            ["bgp", "log-neighbor-changes"] => {}
            ["timers", "bgp", _k, h, ..] => {
                b.hold = Some(Sourced::new(num(c, Some(h), "seconds")?, c.line))
            }
            ["network", p, "mask", m] => {
                let p = addr(c, Some(p))?;
                b.networks.push(Sourced::new(
                    format!("{p}/{}", mask_len(c, Some(m))?),
                    c.line,
                ));
            }
            ["network", p] => {
                let a = addr(c, Some(p))?;
                let len = match a.octets()[0] {
                    0 if a.is_unspecified() => 0,
                    0..=127 => 8,
                    128..=191 => 16,
                    _ => 24,
                };
                r.notes.push((
                    c.line,
                    format!("`network {a}` without a mask is classful: /{len}"),
                ));
                b.networks.push(Sourced::new(format!("{a}/{len}"), c.line));
            }
            ["neighbor", a, rest @ ..] => {
                // A peer-group name instead of an address is not read.
                let Ok(a) = a.parse::<Ipv4Addr>() else {
                    r.unsupported(
                        c,
                        "a neighbour that is not an IPv4 address (peer groups are not read)",
                    );
                    continue;
                };
                let idx = match b.neighbors.iter().position(|n| n.addr == a) {
                    Some(i) => i,
                    None => {
                        b.neighbors.push(Neighbor {
                            addr: a,
                            remote_as: None,
                            hold: None,
                        });
                        b.neighbors.len() - 1
                    }
                };
                let n = &mut b.neighbors[idx];
                match rest {
                    ["remote-as", asn] => {
                        n.remote_as = Some(Sourced::new(num(c, Some(asn), "an AS number")?, c.line))
                    }
                    ["timers", _k, h, ..] => {
                        n.hold = Some(Sourced::new(num(c, Some(h), "seconds")?, c.line))
                    }
                    ["activate"] => {}
                    _ => r.unsupported(c, "not a neighbour setting cgw-sim reads"),
                }
            }
            _ => r.block(c, "not a BGP setting cgw-sim reads"),
        }
    }
    Ok(())
}

/// The parts joined per tunnel.
fn assemble(p: Parts, mut r: Report) -> Result<DeviceConfig, ReadError> {
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
