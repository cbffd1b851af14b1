//! The Generic / Vendor-agnostic text download (AWS-VPN-FACTS.md section
//! 3), both generations: the older one (IKEv1-era labels, `Inside IP
//! Addresses` without a colon) and the newer one (`IKE version : IKEv2`,
//! `Inside IP Addresses:`). Fields are `- Label : value` lines, split at the
//! first colon with white space before it after the `- `, so tabs and
//! uneven spacing never matter. Labels are read in their section
//! (`IPSec Tunnel #N`, `#1:` ... `#4:`, and the `Outside` / `Inside IP
//! Addresses` blocks, where `Customer Gateway` means different things).

use std::net::Ipv4Addr;

use super::merge::{self, one, ConnectionParts, Draft, FieldNames};
use super::{names, Format, ImportError, ImportedConnection, Location, Sourced, Unmapped, Warning};
use crate::aws::GatewayKind;
use crate::scenario::Routing;

const NAMES: FieldNames = FieldNames {
    aws_outside: "Outside IP Addresses > Virtual Private Gateway",
    cgw_outside: "Outside IP Addresses > Customer Gateway",
    aws_inside: "Inside IP Addresses > Virtual Private Gateway",
    cgw_inside: "Inside IP Addresses > Customer Gateway",
    psk: "Pre-Shared Key",
    cgw_asn: "Customer Gateway ASN",
    aws_asn: "Virtual Private Gateway ASN",
};

/// Whether a line opens a tunnel (`IPSec Tunnel #1`).
pub fn is_tunnel_heading(line: &str) -> bool {
    tunnel_number(line).is_some()
}

fn tunnel_number(line: &str) -> Option<u32> {
    let l = normalize(line);
    let rest = l.strip_prefix("ipsec tunnel #")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Lower case, tabs as spaces, runs of white space as one space.
fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// `- Label : value` (or, in the header, `Label : value`): the label (white
/// space collapsed, case kept) and the value, split at the first colon that
/// has white space before it.
fn split_field(s: &str) -> Option<(String, String)> {
    let b = s.as_bytes();
    let i = (1..b.len()).find(|&i| {
        b[i] == b':'
            && b[i - 1].is_ascii_whitespace()
            && b.get(i + 1).is_none_or(|c| c.is_ascii_whitespace())
    })?;
    let label = s[..i].split_whitespace().collect::<Vec<_>>().join(" ");
    Some((label, s[i + 1..].trim().to_owned()))
}

/// The section of a tunnel a line is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Ike,
    Ipsec,
    Interface,
    Bgp,
    Static,
}

/// Inside section 3: which address block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    Outside,
    Inside,
}

/// Reads the text download; `file` names it in locations.
pub fn parse(text: &str, file: &str) -> Result<ImportedConnection, ImportError> {
    let at = |line: usize, path: String| Location {
        file: file.to_owned(),
        line: Some(line),
        path,
    };
    let mut warnings = Vec::new();
    let mut drafts: Vec<Draft> = Vec::new();
    let mut connection_id = None;
    let mut gateway = None;
    let mut routing: Option<Sourced<Routing>> = None;
    let mut section = Section::None;
    let mut block = Block::None;
    let mut heading = String::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if let Some(t) = tunnel_number(line) {
            heading = format!("IPSec Tunnel #{t}");
            drafts.push(Draft::new(at(n, heading.clone())));
            section = Section::None;
            block = Block::None;
            continue;
        }
        let norm = normalize(line);
        if let Some(rest) = norm.strip_prefix('#') {
            if let Some((num, title)) = rest.split_once(':') {
                if let Ok(num) = num.parse::<u32>() {
                    block = Block::None;
                    section = match num {
                        1 => Section::Ike,
                        2 => Section::Ipsec,
                        3 => Section::Interface,
                        4 if title.contains("static") => Section::Static,
                        4 => Section::Bgp,
                        _ => Section::None,
                    };
                    if let Some(d) = drafts.last_mut() {
                        let here = at(n, format!("{heading} > #{num}"));
                        match section {
                            Section::Ike => d.part("ike", here),
                            Section::Interface => {
                                d.part("aws", here.clone());
                                d.part("cgw", here);
                            }
                            _ => {}
                        }
                    }
                    if matches!(section, Section::Bgp | Section::Static) && !drafts.is_empty() {
                        let r = if section == Section::Bgp {
                            Routing::Bgp
                        } else {
                            Routing::Static
                        };
                        let here = Sourced::new(r, at(n, format!("{heading} > #4")));
                        match &routing {
                            Some(prev) if prev.value != r => {
                                return Err(ImportError::Disagree {
                                    what: "the routing of the two tunnels".into(),
                                    first: Box::new(prev.at.clone()),
                                    first_value: line_title(prev.value).into(),
                                    second: Box::new(here.at),
                                    second_value: line_title(r).into(),
                                })
                            }
                            Some(_) => {}
                            None => routing = Some(here),
                        }
                    }
                    continue;
                }
            }
        }
        if norm.starts_with("outside ip addresses") {
            block = Block::Outside;
            continue;
        }
        if norm.starts_with("inside ip addresses") {
            block = Block::Inside;
            continue;
        }
        if norm.starts_with("inside ipv6 addresses") {
            warnings.push(Warning {
                at: at(n, heading.clone()),
                message: "inside IPv6 addresses are taken from the tunnel options (--options), \
                          not the text"
                    .into(),
            });
            block = Block::None;
            continue;
        }
        if drafts.is_empty() {
            // The header: `Your VPN Connection ID : vpn-...`.
            if let Some((shown, value)) = split_field(line.trim_start_matches("- ")) {
                let here = at(n, shown.clone());
                let label = shown.to_ascii_lowercase();
                match label.as_str() {
                    "your vpn connection id" => connection_id = Some(Sourced::new(value, here)),
                    "your virtual private gateway id" => {
                        gateway = Some(Sourced::new(GatewayKind::Vgw, here))
                    }
                    "your transit gateway id" => {
                        gateway = Some(Sourced::new(GatewayKind::Tgw, here))
                    }
                    "your customer gateway id" => {}
                    _ => warnings.push(Warning {
                        at: here,
                        message: format!("unknown header field {shown:?}: not imported"),
                    }),
                }
            }
            continue;
        }
        let Some(field) = line.strip_prefix('-') else {
            continue; // prose
        };
        let Some((shown, value)) = split_field(field) else {
            continue;
        };
        let label = shown.to_ascii_lowercase();
        let Some(d) = drafts.last_mut() else {
            continue;
        };
        let path = match (section, block) {
            (Section::Interface, Block::Outside) => {
                format!("{heading} > Outside IP Addresses > {shown}")
            }
            (Section::Interface, Block::Inside) => {
                format!("{heading} > Inside IP Addresses > {shown}")
            }
            _ => format!("{heading} > {shown}"),
        };
        let v = Sourced::new(value, at(n, path.clone()));
        if !field_of(section, block, &label, v, d)? {
            warnings.push(Warning {
                at: at(n, path),
                message: format!("unknown label {shown:?} here: not imported"),
            });
        }
    }
    let doc = Location {
        file: file.to_owned(),
        line: None,
        path: "the document".into(),
    };
    let Some(routing) = routing else {
        return Err(ImportError::Missing {
            at: drafts.first().map(|d| d.at.clone()).unwrap_or(doc),
            field: "#4: Border Gateway Protocol (BGP) Configuration or #4: Static Routing \
                    Configuration"
                .into(),
        });
    };
    let parts = ConnectionParts {
        format: Format::Text,
        at: doc,
        connection_id,
        routing,
        gateway,
        warnings,
    };
    merge::finish_connection(parts, drafts, &NAMES)
}

fn line_title(r: Routing) -> &'static str {
    match r {
        Routing::Bgp => "#4: Border Gateway Protocol (BGP) Configuration",
        Routing::Static => "#4: Static Routing Configuration",
    }
}

fn bad<T>(v: Sourced<String>, expected: &str) -> Result<T, ImportError> {
    Err(ImportError::BadValue {
        at: v.at,
        value: format!("{:?}", v.value),
        expected: expected.to_owned(),
    })
}

/// `parse(value)` or a [`ImportError::BadValue`].
fn read<T>(
    v: Sourced<String>,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Sourced<T>, ImportError> {
    match parse(&v.value) {
        Some(x) => Ok(Sourced::new(x, v.at)),
        None => bad(v, expected),
    }
}

fn secs(s: &str) -> Option<u32> {
    names::number(s, &["seconds", "second", "sec", "s"])
}

fn note(d: &mut Draft, v: Sourced<String>, what: &str) {
    d.rest.unmapped.push(Unmapped {
        at: v.at,
        what: what.to_owned(),
        value: v.value,
    });
}

/// An `address/len` (inside addresses) or a bare address.
fn address_len(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, l) = s.split_once('/')?;
    Some((a.trim().parse().ok()?, l.trim().parse().ok()?))
}

/// Takes one field of a tunnel; `false` if the label is unknown there.
fn field_of(
    section: Section,
    block: Block,
    label: &str,
    v: Sourced<String>,
    d: &mut Draft,
) -> Result<bool, ImportError> {
    let r = &mut d.rest;
    match (section, label) {
        (Section::Ike, "authentication method") => {
            if !v.value.eq_ignore_ascii_case("pre-shared key") {
                return bad(v, "Pre-Shared Key (certificates are not imported)");
            }
        }
        (Section::Ike, "pre-shared key") => d.psk = Some(v),
        (Section::Ike, "authentication algorithm") => {
            r.settings.phase1.integrity = one(read(v, names::integrity, names::INTEGRITY_NAMES)?)
        }
        (Section::Ike, "encryption algorithm") => {
            r.settings.phase1.encryption = one(read(v, names::encryption, names::ENCRYPTION_NAMES)?)
        }
        (Section::Ike, "lifetime") => {
            r.settings.phase1.lifetime = Some(read(v, secs, "N seconds")?)
        }
        (Section::Ike, "diffie-hellman") => {
            r.settings.phase1.dh_groups = one(read(v, names::dh_group, names::DH_NAMES)?)
        }
        (Section::Ike, "ike version") => {
            r.settings.ike_versions = one(read(v, names::ike_version, "IKEv1 or IKEv2")?)
        }
        (Section::Ike, "phase 1 negotiation mode") => note(d, v, "IKEv1 phase 1 mode"),
        (Section::Ipsec, "protocol") | (Section::Ipsec, "mode") => {
            let expected = if label == "protocol" { "esp" } else { "tunnel" };
            if !v.value.eq_ignore_ascii_case(expected) {
                return bad(v, expected);
            }
        }
        (Section::Ipsec, "authentication algorithm") => {
            r.settings.phase2.integrity = one(read(v, names::integrity, names::INTEGRITY_NAMES)?)
        }
        (Section::Ipsec, "encryption algorithm") => {
            r.settings.phase2.encryption = one(read(v, names::encryption, names::ENCRYPTION_NAMES)?)
        }
        (Section::Ipsec, "lifetime") => {
            r.settings.phase2.lifetime = Some(read(v, secs, "N seconds")?)
        }
        (Section::Ipsec, "perfect forward secrecy") => {
            r.settings.phase2.dh_groups = one(read(v, names::dh_group, names::DH_NAMES)?)
        }
        (Section::Ipsec, "dpd interval") => r.dpd_interval = Some(read(v, secs, "seconds")?),
        (Section::Ipsec, "dpd retries") => {
            r.dpd_retries = Some(read(v, |s| names::number(s, &[]), "a count")?)
        }
        (Section::Ipsec, "tcp mss adjustment") => {
            r.mss = Some(read(v, |s| names::number(s, &["bytes"]), "N bytes")?)
        }
        (Section::Ipsec, "clear don't fragment bit") => {
            r.clear_df = Some(read(v, names::flag, "enabled or disabled")?)
        }
        (Section::Ipsec, "fragmentation") => note(
            d,
            v,
            "fragmentation (cgw-sim fragments before encryption when clear_df is set)",
        ),
        (Section::Interface, "customer gateway")
        | (Section::Interface, "virtual private gateway")
        | (Section::Interface, "transit gateway") => {
            let aws = label != "customer gateway";
            match block {
                Block::Outside => {
                    let a = read(v, |s| s.parse::<Ipv4Addr>().ok(), "an IPv4 address")?;
                    if aws {
                        d.aws_outside = Some(a);
                    } else {
                        d.cgw_outside = Some(a);
                    }
                }
                Block::Inside => {
                    let a = read(v, address_len, "an address/length such as 169.254.10.2/30")?;
                    if aws {
                        d.aws_inside = Some(a);
                    } else {
                        d.cgw_inside = Some(a);
                    }
                }
                Block::None => return Ok(false),
            }
        }
        (Section::Interface, "tunnel interface mtu") => note(d, v, "tunnel interface MTU"),
        (Section::Bgp, "customer gateway asn") => {
            r.cgw_asn = Some(read(v, |s| s.parse().ok(), "an AS number")?)
        }
        (Section::Bgp, "virtual private gateway asn") | (Section::Bgp, "transit gateway asn") => {
            r.aws_asn = Some(read(v, |s| s.parse().ok(), "an AS number")?)
        }
        (Section::Bgp, "neighbor hold time") => r.hold_time = Some(read(v, secs, "seconds")?),
        (Section::Bgp, "neighbor ip address") | (Section::Static, "next hop") => {
            // AWS's inside address, already given by the inside /30.
        }
        _ => return Ok(false),
    }
    Ok(true)
}
