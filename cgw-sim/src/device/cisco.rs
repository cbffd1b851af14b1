//! A Cisco IOS / IOS-XE configuration tree read block by block into its
//! parts (IKEv2 proposals, policies, keyrings and profiles, transform sets,
//! IPsec profiles, ISAKMP policies and keys, tunnel interfaces, BGP);
//! `cisco_join` joins them per tunnel into a [`DeviceConfig`]. Every line
//! not read is reported.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::config::Psk;

use super::cisco_tree::Line;
use super::model::{DeviceConfig, Sourced};
use super::names;
use super::report::Report;
use super::ReadError;

/// IOS's ISAKMP policy lifetime default.
const ISAKMP_DEFAULT_LIFETIME: u64 = 86_400;

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
pub(super) struct Ikev2Proposal {
    pub(super) line: usize,
    pub(super) encryption: Vec<String>,
    pub(super) integrity: Vec<String>,
    pub(super) prf: Vec<String>,
    pub(super) groups: Vec<u16>,
    /// The lines of `encryption`, `integrity` (else `prf`) and `group`.
    pub(super) lines: [Option<usize>; 3],
}

pub(super) struct Ikev2Policy {
    pub(super) local: Option<Ipv4Addr>,
    pub(super) proposals: Vec<(String, usize)>,
}

pub(super) struct KeyringPeer {
    pub(super) addresses: Vec<Ipv4Addr>,
    pub(super) psk: Option<Sourced<Psk>>,
}

#[derive(Default)]
pub(super) struct Ikev2Profile {
    pub(super) line: usize,
    pub(super) keyring: Option<String>,
    pub(super) lifetime: Option<Sourced<u64>>,
    pub(super) dpd: Option<Sourced<(u64, u64)>>,
}

#[derive(Default)]
pub(super) struct TransformSet {
    pub(super) encryption: Vec<String>,
    pub(super) integrity: Vec<String>,
}

#[derive(Default)]
pub(super) struct IpsecProfile {
    pub(super) line: usize,
    pub(super) transform_sets: Vec<(String, usize)>,
    pub(super) pfs: Option<Sourced<u16>>,
    pub(super) ikev2_profile: Option<Sourced<String>>,
    pub(super) lifetime: Option<Sourced<u64>>,
    pub(super) replay: Option<Sourced<u32>>,
}

pub(super) struct IsakmpPolicy {
    pub(super) priority: u32,
    pub(super) line: usize,
    pub(super) encryption: Option<String>,
    pub(super) hash: String,
    pub(super) group: u16,
    pub(super) lifetime: u64,
}

#[derive(Default)]
pub(super) struct TunnelIf {
    pub(super) name: String,
    pub(super) line: usize,
    pub(super) ip: Option<Sourced<(Ipv4Addr, u8)>>,
    pub(super) source: Option<Sourced<String>>,
    pub(super) destination: Option<Sourced<Ipv4Addr>>,
    pub(super) profile: Option<Sourced<String>>,
    pub(super) mss: Option<Sourced<u16>>,
    pub(super) mtu: Option<Sourced<u16>>,
    pub(super) shutdown: Option<usize>,
    pub(super) df_clear: Option<usize>,
}

pub(super) struct Neighbor {
    pub(super) addr: Ipv4Addr,
    pub(super) remote_as: Option<Sourced<u32>>,
    pub(super) hold: Option<Sourced<u32>>,
}

#[derive(Default)]
pub(super) struct Bgp {
    pub(super) asn: Option<Sourced<u32>>,
    pub(super) neighbors: Vec<Neighbor>,
    pub(super) networks: Vec<Sourced<String>>,
    pub(super) hold: Option<Sourced<u32>>,
}

#[derive(Default)]
pub(super) struct Parts {
    pub(super) proposals: HashMap<String, Ikev2Proposal>,
    pub(super) policies: Vec<Ikev2Policy>,
    pub(super) keyrings: HashMap<String, Vec<KeyringPeer>>,
    pub(super) profiles: HashMap<String, Ikev2Profile>,
    pub(super) transform_sets: HashMap<String, TransformSet>,
    pub(super) ipsec_profiles: HashMap<String, IpsecProfile>,
    pub(super) isakmp: Vec<IsakmpPolicy>,
    pub(super) isakmp_keys: Vec<(Ipv4Addr, Sourced<Psk>)>,
    pub(super) isakmp_keepalive: Option<Sourced<(u64, u64)>>,
    pub(super) df_clear: Option<usize>,
    pub(super) replay: Option<Sourced<u32>>,
    pub(super) ipsec_lifetime: Option<Sourced<u64>>,
    pub(super) interfaces: HashMap<String, Sourced<Ipv4Addr>>,
    pub(super) tunnels: Vec<TunnelIf>,
    pub(super) bgp: Option<Bgp>,
    /// `ip route PREFIX MASK VIA`: (prefix, via, line).
    pub(super) routes: Vec<(String, String, usize)>,
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
    super::cisco_join::assemble(p, r)
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
