//! A swanctl.conf tree into a [`DeviceConfig`]: each connection with a
//! fixed remote address is a tunnel, its first child the tunnel's CHILD_SA,
//! its key from `secrets`. strongSwan's own defaults (docs.strongswan.org,
//! swanctl.conf) fill what the file leaves out, marked as such.

use std::net::Ipv4Addr;

use crate::config::Psk;

use super::model::{DeviceConfig, DeviceDpd, DeviceTunnel, Sourced};
use super::names::{self, Keyword};
use super::report::Report;
use super::swanctl::Node;
use super::{DeviceFormat, ReadError};

/// charon's IKEv2 retransmission defaults (`retransmit_tries = 5`,
/// `retransmit_timeout = 4.0`, `retransmit_base = 1.8`): a DPD exchange is
/// given up after sum(4 * 1.8^n, n = 0..=5) seconds.
const IKEV2_DPD_GIVE_UP_SECS: u64 = 165;

/// An `ike` secret: its identities and key.
struct Secret {
    ids: Vec<String>,
    secret: Option<Sourced<Psk>>,
}

/// Reads the tree.
pub(crate) fn read(nodes: &[Node]) -> Result<DeviceConfig, ReadError> {
    let mut r = Report::default();
    let mut conns = Vec::new();
    let mut secrets = Vec::new();
    for n in nodes {
        match n {
            Node::Section { name, children, .. } if name == "connections" => {
                for c in children {
                    match c {
                        Node::Section { .. } => conns.push(c),
                        Node::Value { key, line, .. } => r
                            .unsupported
                            .push((*line, format!("`{key}`: not a connection"))),
                    }
                }
            }
            Node::Section { name, children, .. } if name == "secrets" => {
                read_secrets(children, &mut secrets, &mut r)
            }
            other => r.unsupported.push(out_of_scope(other)),
        }
    }
    let mut tunnels = Vec::new();
    let mut routes = Vec::new();
    for c in conns {
        if let Some(t) = read_conn(c, &secrets, &mut routes, &mut r)? {
            tunnels.push(t);
        }
    }
    if tunnels.len() != 2 {
        return Err((
            tunnels.get(2).map_or(1, |t| t.line),
            format!(
                "found {} connection(s) with a remote address; an AWS VPN connection has two tunnels",
                tunnels.len()
            ),
        ));
    }
    let local_address = tunnels[0].local_address.clone();
    if local_address.is_none() {
        r.missing.push((
            "gateway.local_address".into(),
            tunnels[0].line,
            "`local_addrs` is not one IPv4 address and `local.id` is not one either".into(),
        ));
    }
    for (i, t) in tunnels.iter().enumerate() {
        let n = i + 1;
        for (key, list, what) in [
            ("encryption", &t.encryption, "proposals"),
            ("phase2_encryption", &t.phase2_encryption, "esp_proposals"),
        ] {
            if list.value.is_empty() {
                r.missing.push((
                    format!("cgw.tunnel{n}.ike.{key}"),
                    list.line,
                    format!("no usable `{what}`: strongSwan's default list depends on its release and plugins"),
                ));
            }
        }
        if t.inside_cidr.is_none() {
            r.missing.push((
                format!("gateway.tunnel{n}.inside_cidr"),
                t.line,
                "swanctl.conf holds no inside addresses (they are on the XFRM/VTI interface); \
                 an `updown` script with AWS's `-ll LOCAL/30` argument gives them"
                    .into(),
            ));
        }
    }
    if routes.is_empty() {
        r.missing.push((
            "cgw.bgp".into(),
            tunnels[0].line,
            "strongSwan does not run BGP: give cgw.bgp (asn, announce) from the BGP daemon's \
             configuration, or static routes (`-r CIDR` of AWS's updown script)"
                .into(),
        ));
    }
    Ok(DeviceConfig {
        format: DeviceFormat::Swanctl,
        local_address,
        tunnels,
        bgp: None,
        static_routes: routes,
        unsupported: r.unsupported,
        notes: r.notes,
        missing: r.missing,
    })
}

fn out_of_scope(n: &Node) -> (usize, String) {
    match n {
        Node::Section { name, line, .. } => (
            *line,
            format!("section `{name}`: outside the IPsec/IKE parts cgw-sim reads"),
        ),
        Node::Value { key, line, .. } => {
            (*line, format!("`{key}`: outside any section cgw-sim reads"))
        }
    }
}

fn read_secrets(children: &[Node], out: &mut Vec<Secret>, r: &mut Report) {
    for s in children {
        match s {
            Node::Section { name, children, .. } if name.starts_with("ike") => {
                let mut sec = Secret {
                    ids: Vec::new(),
                    secret: None,
                };
                for v in children {
                    match v {
                        Node::Value { key, value, .. } if key == "id" || key.starts_with("id-") => {
                            sec.ids.push(value.clone())
                        }
                        Node::Value { key, value, line } if key == "secret" => {
                            sec.secret = Some(Sourced::new(Psk::new(value.clone()), *line))
                        }
                        other => r.unsupported.push(unknown(other, "an ike secret")),
                    }
                }
                out.push(sec);
            }
            Node::Section { name, line, .. } => r.unsupported.push((
                *line,
                format!("secret `{name}`: only pre-shared IKE keys (`ike...`) are read"),
            )),
            other => r.unsupported.push(unknown(other, "secrets")),
        }
    }
}

fn unknown(n: &Node, within: &str) -> (usize, String) {
    match n {
        Node::Value { key, line, .. } => {
            (*line, format!("`{key}` in {within}: no cgw-sim equivalent"))
        }
        Node::Section { name, line, .. } => (
            *line,
            format!("section `{name}` in {within}: no cgw-sim equivalent"),
        ),
    }
}

/// A strongSwan time value (`28800`, `28800s`, `60m`, `8h`, `1d`) in
/// seconds.
fn secs(v: &str, line: usize, key: &str) -> Result<u64, ReadError> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last() {
        Some((i, 's')) => (&v[..i], 1),
        Some((i, 'm')) => (&v[..i], 60),
        Some((i, 'h')) => (&v[..i], 3600),
        Some((i, 'd')) => (&v[..i], 86_400),
        _ => (v, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or((
            line,
            format!("{key}: expected a time (`3600`, `60m`, `8h`), found `{v}`"),
        ))
}

/// The first address of a comma list, if it is one IPv4 address.
fn first_v4(v: &str) -> Option<Ipv4Addr> {
    v.split(',').next()?.trim().parse().ok()
}

/// A proposal list read into cgw-sim's lists.
#[derive(Default)]
struct Proposals {
    encryption: Vec<String>,
    integrity: Vec<String>,
    prf: Vec<String>,
    groups: Vec<u16>,
    /// Some proposal has no DH group (or `none`).
    without_group: bool,
}

fn proposals(
    v: &str,
    line: usize,
    key: &str,
    r: &mut Report,
) -> Result<Option<Proposals>, ReadError> {
    let mut p = Proposals::default();
    for prop in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if prop == "default" {
            r.notes.push((line, format!("{key}: `default` is strongSwan's own list, which depends on its release and plugins; not read")));
            return Ok(None);
        }
        let mut has_group = false;
        for kw in prop.split('-') {
            let kw = kw.trim().to_ascii_lowercase();
            match names::strongswan_keyword(&kw) {
                None => {
                    return Err((
                        line,
                        format!("{key}: unknown proposal keyword `{kw}` in `{prop}`"),
                    ))
                }
                Some(Keyword::Encryption(e)) => names::push_unique(&mut p.encryption, e.to_owned()),
                Some(Keyword::Integrity(i)) => names::push_unique(&mut p.integrity, i.to_owned()),
                Some(Keyword::Prf(i)) => names::push_unique(&mut p.prf, i.to_owned()),
                Some(Keyword::Group(g)) => {
                    has_group = true;
                    names::push_unique(&mut p.groups, g)
                }
                Some(Keyword::Marker(_)) => {}
                Some(Keyword::Unsupported(what)) => r.unsupported.push((
                    line,
                    format!(
                        "{key}: `{kw}` ({what}) in `{prop}`: cgw-sim cannot offer it; left out"
                    ),
                )),
            }
        }
        p.without_group |= !has_group;
    }
    Ok(Some(p))
}

/// Phase 1 integrity as cgw-sim takes it (integrity implies the PRF): the
/// integrity list, else (AES-GCM only) the PRFs; a PRF that differs from
/// the integrity algorithms is noted.
fn phase1_integrity(p: &Proposals, line: usize, r: &mut Report) -> Vec<String> {
    if p.integrity.is_empty() {
        if !p.prf.is_empty() {
            r.notes.push((
                line,
                "AES-GCM's PRF written as `integrity` (cgw-sim takes the PRF from it)".into(),
            ));
        }
        return p.prf.clone();
    }
    if p.prf.iter().any(|f| !p.integrity.contains(f)) {
        r.notes.push((
            line,
            format!(
                "PRF {} differs from integrity {}: cgw-sim derives the PRF from integrity",
                p.prf.join(", "),
                p.integrity.join(", ")
            ),
        ));
    }
    p.integrity.clone()
}

fn value<'a>(children: &'a [Node], key: &str) -> Option<(&'a str, usize)> {
    children.iter().find_map(|n| match n {
        Node::Value {
            key: k,
            value,
            line,
        } if k == key => Some((value.as_str(), *line)),
        _ => None,
    })
}

const CONN_KEYS: [&str; 10] = [
    "local_addrs",
    "remote_addrs",
    "version",
    "proposals",
    "rekey_time",
    "over_time",
    "rand_time",
    "dpd_delay",
    "dpd_timeout",
    "children",
];
const CHILD_KEYS: [&str; 11] = [
    "esp_proposals",
    "local_ts",
    "remote_ts",
    "start_action",
    "dpd_action",
    "close_action",
    "rekey_time",
    "life_time",
    "rand_time",
    "mode",
    "updown",
];

fn read_conn(
    c: &Node,
    secrets: &[Secret],
    routes: &mut Vec<Sourced<String>>,
    r: &mut Report,
) -> Result<Option<DeviceTunnel>, ReadError> {
    let Node::Section {
        name,
        line: cline,
        children,
    } = c
    else {
        return Ok(None);
    };
    let cline = *cline;
    let Some((remote, rline)) = value(children, "remote_addrs") else {
        r.unsupported.push((
            cline,
            format!(
                "connection `{name}` has no `remote_addrs`: not a tunnel to a fixed AWS endpoint"
            ),
        ));
        return Ok(None);
    };
    let aws = first_v4(remote).ok_or((
        rline,
        format!("remote_addrs: `{remote}` is not an IPv4 address (AWS's tunnel endpoint is one)"),
    ))?;
    if remote.contains(',') {
        r.notes.push((
            rline,
            "remote_addrs: only the first address is AWS's endpoint".into(),
        ));
    }
    // Everything cgw-sim has no key for is listed.
    for n in children {
        match n {
            Node::Value { key, .. } if CONN_KEYS.contains(&key.as_str()) => {}
            Node::Section { name, .. }
                if name == "children"
                    || name.starts_with("local")
                    || name.starts_with("remote") => {}
            other => r
                .unsupported
                .push(unknown(other, &format!("connection `{name}`"))),
        }
    }
    let mut ids = vec![remote.trim().to_owned()];
    let mut local_address =
        value(children, "local_addrs").and_then(|(v, l)| first_v4(v).map(|a| Sourced::new(a, l)));
    for side in ["local", "remote"] {
        for n in children {
            let Node::Section {
                name: sname,
                children: kv,
                ..
            } = n
            else {
                continue;
            };
            if !sname.starts_with(side) {
                continue;
            }
            for v in kv {
                match v {
                    Node::Value { key, value, line } if key == "auth" => {
                        if value != "psk" {
                            r.unsupported.push((
                                *line,
                                format!("{side}.auth = {value}: only pre-shared keys are read"),
                            ));
                        }
                    }
                    Node::Value { key, value, line } if key == "id" => {
                        ids.push(value.clone());
                        if side == "local" && local_address.is_none() {
                            if let Ok(a) = value.parse::<Ipv4Addr>() {
                                r.notes.push((*line, "local address taken from local.id (local_addrs is not one address)".into()));
                                local_address = Some(Sourced::new(a, *line));
                            }
                        }
                    }
                    other => r
                        .unsupported
                        .push(unknown(other, &format!("{sname} of `{name}`"))),
                }
            }
        }
    }
    if let Some(l) = &local_address {
        ids.push(l.value.to_string());
    }

    // IKE version: 0 (any) initiates with IKEv2.
    let version = match value(children, "version") {
        None => Sourced::new(2, cline),
        Some(("0", l)) => {
            r.notes
                .push((l, "version = 0 (any): charon initiates with IKEv2".into()));
            Sourced::new(2, l)
        }
        Some(("1", l)) => Sourced::new(1, l),
        Some(("2", l)) => Sourced::new(2, l),
        Some((v, l)) => return Err((l, format!("version: expected 0, 1 or 2, found `{v}`"))),
    };
    let (p1, pline) = match value(children, "proposals") {
        Some((v, l)) => (proposals(v, l, "proposals", r)?, l),
        None => (None, cline),
    };
    let p1 = p1.unwrap_or_default();
    let integrity = phase1_integrity(&p1, pline, r);
    if p1.without_group && !p1.encryption.is_empty() {
        return Err((pline, "proposals: an IKE proposal needs a DH group".into()));
    }

    // IKE lifetimes: rekey at rekey_time - random(rand_time), gone at
    // rekey_time + over_time (strongSwan's defaults: 4h, 10 %, over_time).
    let get_secs = |k: &str| -> Result<Option<(u64, usize)>, ReadError> {
        value(children, k)
            .map(|(v, l)| secs(v, l, k).map(|s| (s, l)))
            .transpose()
    };
    let (ike_rekey, ike_rekey_line) = get_secs("rekey_time")?.unwrap_or((4 * 3600, cline));
    let (over, _) = get_secs("over_time")?.unwrap_or((ike_rekey / 10, ike_rekey_line));
    let phase1_lifetime = Sourced::new(ike_rekey.saturating_add(over), ike_rekey_line);

    let dpd_delay = get_secs("dpd_delay")?;
    if let (Some((_, l)), 2) = (get_secs("dpd_timeout")?, version.value) {
        r.unsupported.push((l, format!("dpd_timeout: charon ignores it with IKEv2 (it gives up after its retransmissions, {IKEV2_DPD_GIVE_UP_SECS} s)")));
    }

    // The CHILD_SA.
    // Every `children` section's entries (strongSwan merges repeated
    // sections); a value directly in one is not a child.
    let kids: Vec<&Node> = children
        .iter()
        .filter_map(|n| match n {
            Node::Section { name, children, .. } if name == "children" => Some(children),
            _ => None,
        })
        .flatten()
        .collect();
    for v in kids.iter().filter(|n| matches!(n, Node::Value { .. })) {
        r.unsupported
            .push(unknown(v, &format!("children of `{name}`")));
    }
    let mut kid_iter = kids
        .into_iter()
        .filter(|n| matches!(n, Node::Section { .. }));
    let Some(Node::Section {
        name: child_name,
        line: kline,
        children: kv,
    }) = kid_iter.next()
    else {
        return Err((
            cline,
            format!("connection `{name}` has no child SA (`children {{ name {{ ... }} }}`)"),
        ));
    };
    let kline = *kline;
    for extra in kid_iter {
        r.unsupported.push((extra.line(), format!("a second child SA of `{name}`: AWS keeps one SA pair per tunnel; only `{child_name}` is read")));
    }
    for n in kv {
        match n {
            Node::Value { key, .. } if CHILD_KEYS.contains(&key.as_str()) => {}
            other => r
                .unsupported
                .push(unknown(other, &format!("child `{child_name}`"))),
        }
    }
    let (p2, p2line) = match value(kv, "esp_proposals") {
        Some((v, l)) => (proposals(v, l, "esp_proposals", r)?, l),
        None => (None, kline),
    };
    let p2 = p2.unwrap_or_default();
    if !p2.prf.is_empty() {
        r.unsupported.push((
            p2line,
            "esp_proposals: a PRF has no meaning in ESP; left out".into(),
        ));
    }
    if p2.without_group && !p2.groups.is_empty() {
        r.notes.push((
            p2line,
            "esp_proposals: some proposals have PFS and some not; cgw-sim offers the groups only"
                .into(),
        ));
    }
    let child_secs = |k: &str| -> Result<Option<(u64, usize)>, ReadError> {
        value(kv, k)
            .map(|(v, l)| secs(v, l, k).map(|s| (s, l)))
            .transpose()
    };
    let (child_rekey, crl) = child_secs("rekey_time")?.unwrap_or((3600, kline));
    let (life, life_line) =
        child_secs("life_time")?.unwrap_or((child_rekey.saturating_add(child_rekey / 10), crl));
    let margin = life.saturating_sub(child_rekey);
    let (rand, rand_line) = child_secs("rand_time")?.unwrap_or((margin, life_line));
    if margin != over {
        r.notes.push((crl, format!("the IKE SA's rekey margin is {over} s and the CHILD_SA's {margin} s; cgw-sim has one rekey_margin: the CHILD_SA's")));
    }
    let fuzz = rand
        .saturating_mul(100)
        .checked_div(margin)
        .map_or(0, |f| f.min(100) as u32);

    let role = match value(kv, "start_action") {
        None => {
            r.notes.push((
                kline,
                "start_action defaults to none: the device waits for AWS, which never initiates"
                    .into(),
            ));
            Sourced::new("responder-only".to_owned(), kline)
        }
        Some((v, l)) if v.split('|').any(|a| a.trim() == "start") => {
            Sourced::new("initiator".to_owned(), l)
        }
        Some((v, l)) if v.trim() == "trap" => {
            r.notes.push((l, "start_action = trap: the device initiates on the first packet; cgw-sim initiates at once".into()));
            Sourced::new("initiator".to_owned(), l)
        }
        Some(("none", l)) => Sourced::new("responder-only".to_owned(), l),
        Some((v, l)) => {
            return Err((
                l,
                format!("start_action: expected none, trap or start, found `{v}`"),
            ))
        }
    };
    let dpd = match dpd_delay {
        Some((d, l)) if d > 0 => {
            let action = match value(kv, "dpd_action") {
                None | Some(("clear", _)) => "clear",
                Some(("restart" | "start", _)) => "restart",
                Some(("none", _)) => "none",
                Some(("trap", al)) => {
                    r.notes.push((al, "dpd_action = trap renegotiates on the next packet; cgw-sim restarts at once".into()));
                    "restart"
                }
                Some((v, al)) => {
                    return Err((
                        al,
                        format!("dpd_action: expected clear, trap, restart or none, found `{v}`"),
                    ))
                }
            };
            let timeout = if version.value == 2 {
                r.notes.push((l, format!("DPD timeout: charon's IKEv2 retransmissions give up after {IKEV2_DPD_GIVE_UP_SECS} s")));
                IKEV2_DPD_GIVE_UP_SECS
            } else {
                get_secs("dpd_timeout")?.map_or(150, |(t, _)| t)
            };
            Some(Sourced::new(
                DeviceDpd {
                    interval: d,
                    timeout,
                    action: action.into(),
                },
                l,
            ))
        }
        _ => None,
    };
    if let Some((v, l)) = value(kv, "close_action") {
        if v != "none" {
            r.notes
                .push((l, format!("close_action = {v}: cgw-sim has no key for it")));
        }
    }
    if let Some((v, l)) = value(kv, "mode") {
        if v != "tunnel" {
            return Err((l, format!("mode = {v}: AWS runs tunnel mode only")));
        }
    }
    let selectors = |k: &str, r: &mut Report| -> Option<Sourced<Vec<String>>> {
        let (v, l) = value(kv, k)?;
        let mut out = Vec::new();
        for ts in v.split(',').map(str::trim) {
            if ts.contains('[') || ts.contains('-') || ts == "dynamic" {
                r.unsupported.push((
                    l,
                    format!(
                        "{k}: `{ts}` (a range, protocol/port or `dynamic`): cgw-sim takes prefixes"
                    ),
                ));
            } else if ts.contains('/') {
                out.push(ts.to_owned());
            } else if ts.parse::<std::net::IpAddr>().is_ok() {
                out.push(format!("{ts}/{}", if ts.contains(':') { 128 } else { 32 }));
            } else {
                r.unsupported
                    .push((l, format!("{k}: `{ts}` is not a prefix")));
            }
        }
        (!out.is_empty()).then(|| Sourced::new(out, l))
    };
    let local_selectors = selectors("local_ts", r);
    let remote_selectors = selectors("remote_ts", r);

    // AWS's strongSwan download: `updown = .../aws-updown.sh -ln Tunnel1
    // -ll LOCAL_INSIDE/30 -lr AWS_INSIDE/30 -m MARK -r VPC_CIDR`.
    let mut inside_cidr = None;
    if let Some((v, l)) = value(kv, "updown") {
        let words: Vec<&str> = v.split_whitespace().collect();
        let arg = |flag: &str| words.windows(2).find(|w| w[0] == flag).map(|w| w[1]);
        match arg("-ll").map(parse_v4_cidr) {
            Some(Some((a, len))) => inside_cidr = Some(Sourced::new((network(a, len), len), l)),
            Some(None) => return Err((l, "updown: `-ll` is not an IPv4 address/prefix".into())),
            None => r.unsupported.push((
                l,
                "updown: a script without AWS's `-ll` argument: its effects are unknown".into(),
            )),
        }
        if let Some(route) = arg("-r") {
            if !routes.iter().any(|x| x.value == route) {
                routes.push(Sourced::new(route.to_owned(), l));
            }
        }
    }

    let psk = find_secret(secrets, &ids);
    Ok(Some(DeviceTunnel {
        name: name.clone(),
        line: cline,
        aws_address: Sourced::new(aws, rline),
        local_address,
        inside_cidr,
        psk,
        enabled: Sourced::new(true, cline),
        version,
        encryption: Sourced::new(p1.encryption.clone(), pline),
        integrity: Sourced::new(integrity, pline),
        dh_groups: Sourced::new(p1.groups.clone(), pline),
        phase2_encryption: Sourced::new(p2.encryption.clone(), p2line),
        phase2_integrity: Sourced::new(p2.integrity.clone(), p2line),
        phase2_dh_groups: Sourced::new(p2.groups.clone(), p2line),
        phase1_lifetime,
        phase2_lifetime: Sourced::new(life, life_line),
        rekey_margin: Some(Sourced::new(margin, crl)),
        rekey_fuzz: Some(Sourced::new(fuzz, rand_line)),
        dpd,
        role,
        local_selectors,
        remote_selectors,
        mss_clamp: None,
        clear_df: None,
        mtu: None,
        replay_window: None,
    }))
}

/// The secret charon would pick: every one of its ids among the
/// connection's identities, the one matching most of them first; a secret
/// without ids matches anything, last; on a tie the first written.
fn find_secret(secrets: &[Secret], ids: &[String]) -> Option<Sourced<Psk>> {
    secrets
        .iter()
        .rev()
        .filter(|s| s.ids.iter().all(|i| ids.contains(i) || i == "%any"))
        .max_by_key(|s| s.ids.iter().filter(|i| ids.contains(i)).count())
        .and_then(|s| s.secret.clone())
}

pub(crate) fn parse_v4_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, l) = s.split_once('/')?;
    let len: u8 = l.parse().ok().filter(|l| *l <= 32)?;
    Some((a.parse().ok()?, len))
}

pub(crate) fn network(a: Ipv4Addr, len: u8) -> Ipv4Addr {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    Ipv4Addr::from(u32::from(a) & mask)
}
