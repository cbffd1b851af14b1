//! What the readers share: a tunnel as read ([`Draft`]) checked into an
//! [`ImportedTunnel`], the two tunnels into an [`ImportedConnection`]
//! (agreeing on the customer gateway, ordered by AWS outside address), and
//! tunnel options merged in by outside address.

use std::net::Ipv4Addr;

use super::options_json::{OptionsEntry, TunnelOptionsFile};
use super::{
    Format, ImportError, ImportedConnection, ImportedTunnel, Location, Sourced, TunnelSettings,
    Unmapped, Warning,
};
use crate::aws::{self, GatewayKind, Ipv4Cidr};
use crate::config::Psk;
use crate::scenario::Routing;

/// The names a reader gives its required fields, for [`ImportError::Missing`].
pub(super) struct FieldNames {
    pub aws_outside: &'static str,
    pub cgw_outside: &'static str,
    pub aws_inside: &'static str,
    pub cgw_inside: &'static str,
    pub psk: &'static str,
    pub cgw_asn: &'static str,
    pub aws_asn: &'static str,
}

/// One tunnel as a reader found it: required fields still optional.
pub(super) struct Draft {
    /// The tunnel's element or heading.
    pub at: Location,
    pub aws_outside: Option<Sourced<Ipv4Addr>>,
    pub cgw_outside: Option<Sourced<Ipv4Addr>>,
    /// Address and prefix length.
    pub aws_inside: Option<Sourced<(Ipv4Addr, u8)>>,
    pub cgw_inside: Option<Sourced<(Ipv4Addr, u8)>>,
    pub psk: Option<Sourced<String>>,
    /// Where the tunnel's parts are (`ike`, `aws`, `cgw`: the element or
    /// section), so that a missing field is placed at its nearest parent.
    pub parts: Vec<(&'static str, Location)>,
    /// Everything else, already in its final form.
    pub rest: Rest,
}

/// A draft's optional fields.
#[derive(Default)]
pub(super) struct Rest {
    pub cgw_asn: Option<Sourced<u32>>,
    pub aws_asn: Option<Sourced<u32>>,
    pub hold_time: Option<Sourced<u32>>,
    pub settings: TunnelSettings,
    pub dpd_interval: Option<Sourced<u32>>,
    pub dpd_retries: Option<Sourced<u32>>,
    pub mss: Option<Sourced<u16>>,
    pub clear_df: Option<Sourced<bool>>,
    pub unmapped: Vec<Unmapped>,
}

impl Draft {
    pub fn new(at: Location) -> Draft {
        Draft {
            at,
            aws_outside: None,
            cgw_outside: None,
            aws_inside: None,
            cgw_inside: None,
            psk: None,
            parts: Vec::new(),
            rest: Rest::default(),
        }
    }

    /// Records where a part of the tunnel is (the first place wins).
    pub fn part(&mut self, part: &'static str, at: Location) {
        if !self.parts.iter().any(|(p, _)| *p == part) {
            self.parts.push((part, at));
        }
    }

    /// The nearest parent of a field of `part`: the part, else the tunnel.
    fn parent(&self, part: &str) -> &Location {
        self.parts
            .iter()
            .find(|(p, _)| *p == part)
            .map_or(&self.at, |(_, at)| at)
    }
}

/// A single value as a one-element list (the downloads give one algorithm
/// where the options give lists).
pub(super) fn one<T>(v: Sourced<T>) -> Option<Sourced<Vec<T>>> {
    Some(Sourced::new(vec![v.value], v.at))
}

fn missing<T>(at: &Location, field: &str) -> Result<T, ImportError> {
    Err(ImportError::Missing {
        at: at.clone(),
        field: field.to_owned(),
    })
}

/// The inside /30 from both inside addresses: AWS has the first host, the
/// customer gateway the second (AWS-VPN-FACTS section 1).
fn inside_cidr(
    cgw: Sourced<(Ipv4Addr, u8)>,
    aws_side: Sourced<(Ipv4Addr, u8)>,
) -> Result<Sourced<Ipv4Cidr>, ImportError> {
    let (ip, len) = cgw.value;
    let net = Ipv4Cidr::new(ip, len);
    let cidr = Ipv4Cidr::new(net.network(), len);
    if !aws::options::inside_cidr_ok(&cidr) {
        return Err(ImportError::BadValue {
            at: cgw.at,
            value: format!("{ip}/{len}"),
            expected: "an address in a /30 in 169.254.0.0/16 (not one AWS reserves)".into(),
        });
    }
    if ip != cidr.cgw_inside_ip() || aws_side.value != (cidr.aws_inside_ip(), len) {
        return Err(ImportError::Disagree {
            what: format!(
                "the inside addresses (in {cidr} AWS has {}, the customer gateway {})",
                cidr.aws_inside_ip(),
                cidr.cgw_inside_ip()
            ),
            first: Box::new(cgw.at),
            first_value: format!("{ip}/{len}"),
            second: Box::new(aws_side.at),
            second_value: format!("{}/{}", aws_side.value.0, aws_side.value.1),
        });
    }
    Ok(Sourced::new(cidr, cgw.at))
}

fn check_psk(psk: Sourced<String>) -> Result<Sourced<Psk>, ImportError> {
    if let Some(e) = aws::options::psk_violations(&psk.value).first() {
        let (value, expected) = match e {
            aws::OptionError::NotAccepted {
                value, accepted, ..
            } => (value.clone(), accepted.clone()),
            aws::OptionError::Empty { accepted, .. } => ("an empty key".into(), accepted.clone()),
        };
        return Err(ImportError::BadValue {
            at: psk.at,
            value,
            expected,
        });
    }
    Ok(Sourced::new(Psk::new(psk.value), psk.at))
}

/// Checks one tunnel's required fields.
pub(super) fn finish_tunnel(d: Draft, names: &FieldNames) -> Result<ImportedTunnel, ImportError> {
    let Some(aws_outside) = d.aws_outside.clone() else {
        return missing(d.parent("aws"), names.aws_outside);
    };
    let Some(cgw_outside) = d.cgw_outside.clone() else {
        return missing(d.parent("cgw"), names.cgw_outside);
    };
    let Some(cgw_inside) = d.cgw_inside.clone() else {
        return missing(d.parent("cgw"), names.cgw_inside);
    };
    let Some(aws_inside) = d.aws_inside.clone() else {
        return missing(d.parent("aws"), names.aws_inside);
    };
    let Some(psk) = d.psk.clone() else {
        return missing(d.parent("ike"), names.psk);
    };
    let r = d.rest;
    Ok(ImportedTunnel {
        aws_outside,
        cgw_outside,
        inside_cidr: inside_cidr(cgw_inside, aws_inside)?,
        inside_ipv6_cidr: None,
        psk: check_psk(psk)?,
        cgw_asn: r.cgw_asn,
        aws_asn: r.aws_asn,
        hold_time: r.hold_time,
        settings: r.settings,
        dpd_interval: r.dpd_interval,
        dpd_retries: r.dpd_retries,
        mss: r.mss,
        clear_df: r.clear_df,
        unmapped: r.unmapped,
        from_options: false,
    })
}

/// A value both tunnels give: they must agree; the first tunnel's is kept.
fn agreed<T: PartialEq + std::fmt::Display + Clone>(
    what: &str,
    a: &Option<Sourced<T>>,
    b: &Option<Sourced<T>>,
) -> Result<Option<Sourced<T>>, ImportError> {
    match (a, b) {
        (Some(x), Some(y)) if x.value != y.value => Err(ImportError::Disagree {
            what: what.to_owned(),
            first: Box::new(x.at.clone()),
            first_value: x.value.to_string(),
            second: Box::new(y.at.clone()),
            second_value: y.value.to_string(),
        }),
        (Some(x), _) | (None, Some(x)) => Ok(Some(x.clone())),
        (None, None) => Ok(None),
    }
}

/// What a reader found about the connection besides its tunnels.
pub(super) struct ConnectionParts {
    pub format: Format,
    /// The document (for a tunnel count error).
    pub at: Location,
    pub connection_id: Option<Sourced<String>>,
    pub routing: Sourced<Routing>,
    pub gateway: Option<Sourced<GatewayKind>>,
    pub warnings: Vec<Warning>,
}

/// Checks the two tunnels together and orders them by AWS outside address.
pub(super) fn finish_connection(
    parts: ConnectionParts,
    drafts: Vec<Draft>,
    names: &FieldNames,
) -> Result<ImportedConnection, ImportError> {
    if drafts.len() != 2 {
        return Err(ImportError::TunnelCount {
            at: parts.at,
            found: drafts.len(),
        });
    }
    let mut tunnels = drafts
        .into_iter()
        .map(|d| finish_tunnel(d, names))
        .collect::<Result<Vec<_>, _>>()?;
    tunnels.sort_by_key(|t| t.aws_outside.value);
    let [a, b]: [ImportedTunnel; 2] = tunnels.try_into().map_err(|_| unreachable_count())?;
    if a.aws_outside.value == b.aws_outside.value {
        return Err(ImportError::Duplicate {
            what: "the two tunnels' AWS outside addresses".into(),
            first: Box::new(a.aws_outside.at.clone()),
            second: Box::new(b.aws_outside.at.clone()),
            value: a.aws_outside.value.to_string(),
        });
    }
    if a.inside_cidr.value.overlaps(&b.inside_cidr.value) {
        return Err(ImportError::Duplicate {
            what: "the two tunnels' inside CIDRs".into(),
            first: Box::new(a.inside_cidr.at.clone()),
            second: Box::new(b.inside_cidr.at.clone()),
            value: a.inside_cidr.value.to_string(),
        });
    }
    let cgw = |t: &ImportedTunnel| Some(t.cgw_outside.clone());
    let cgw_address = agreed("the customer gateway's outside address", &cgw(&a), &cgw(&b))?
        .ok_or_else(unreachable_count)?;
    let cgw_asn = agreed("the customer gateway ASN", &a.cgw_asn, &b.cgw_asn)?;
    let aws_asn = agreed("the AWS-side ASN", &a.aws_asn, &b.aws_asn)?;
    let hold_time = agreed("the BGP hold time", &a.hold_time, &b.hold_time)?;
    if parts.routing.value == Routing::Bgp {
        for t in [&a, &b] {
            if t.cgw_asn.is_none() {
                return missing(&t.aws_outside.at, names.cgw_asn);
            }
            if t.aws_asn.is_none() {
                return missing(&t.aws_outside.at, names.aws_asn);
            }
        }
    }
    Ok(ImportedConnection {
        format: parts.format,
        connection_id: parts.connection_id,
        routing: parts.routing,
        gateway: parts.gateway,
        cgw_address,
        cgw_asn,
        aws_asn,
        hold_time,
        static_routes: None,
        tunnels: [a, b],
        warnings: parts.warnings,
    })
}

/// Two elements were checked just before; never reached.
fn unreachable_count() -> ImportError {
    ImportError::TunnelCount {
        at: Location {
            file: String::new(),
            line: None,
            path: String::new(),
        },
        found: 0,
    }
}

/// Merges AWS's tunnel options into the connection: each entry matches the
/// tunnel with its `OutsideIpAddress`, whose inside CIDR (and key) must
/// agree; its algorithm lists, lifetimes and AWS-side options replace the
/// download's minimum suite.
pub(super) fn apply_options(
    conn: &mut ImportedConnection,
    file: TunnelOptionsFile,
) -> Result<(), ImportError> {
    let known = [
        conn.tunnels[0].aws_outside.value,
        conn.tunnels[1].aws_outside.value,
    ];
    let mut seen: [Option<Location>; 2] = [None, None];
    for e in file.entries {
        let Some(outside) = e.outside.clone() else {
            return missing(&e.at, "OutsideIpAddress");
        };
        let Some(i) = known.iter().position(|a| *a == outside.value) else {
            return Err(ImportError::NoSuchTunnel {
                at: outside.at,
                outside: outside.value,
                known,
            });
        };
        if let Some(first) = &seen[i] {
            return Err(ImportError::Duplicate {
                what: "two tunnel options entries' OutsideIpAddress".into(),
                first: Box::new(first.clone()),
                second: Box::new(outside.at),
                value: outside.value.to_string(),
            });
        }
        seen[i] = Some(outside.at.clone());
        merge_entry(&mut conn.tunnels[i], e)?;
    }
    if let Some(r) = file.routing {
        if r.value != conn.routing.value {
            return Err(ImportError::Disagree {
                what: "the routing (static or BGP)".into(),
                first: Box::new(conn.routing.at.clone()),
                first_value: routing_name(conn.routing.value).into(),
                second: Box::new(r.at),
                second_value: routing_name(r.value).into(),
            });
        }
    }
    if file
        .static_routes
        .as_ref()
        .is_some_and(|r| !r.value.is_empty())
    {
        conn.static_routes = file.static_routes.filter(|r| !r.value.is_empty());
    }
    conn.warnings.extend(file.warnings);
    Ok(())
}

fn routing_name(r: Routing) -> &'static str {
    match r {
        Routing::Bgp => "BGP",
        Routing::Static => "static",
    }
}

fn merge_entry(t: &mut ImportedTunnel, e: OptionsEntry) -> Result<(), ImportError> {
    if let Some(c) = e.inside_cidr {
        if c.value != t.inside_cidr.value {
            return Err(ImportError::InsideCidrMismatch {
                outside: t.aws_outside.value,
                download_cidr: t.inside_cidr.value.to_string(),
                download: Box::new(t.inside_cidr.at.clone()),
                options_cidr: c.value.to_string(),
                options: Box::new(c.at),
            });
        }
    }
    if let Some(k) = e.psk {
        if k.value != t.psk.value.expose() {
            return Err(ImportError::Disagree {
                what: format!("tunnel {}'s pre-shared key", t.aws_outside.value),
                first: Box::new(t.psk.at.clone()),
                first_value: "one key".into(),
                second: Box::new(k.at),
                second_value: "another".into(),
            });
        }
    }
    if e.inside_ipv6_cidr.is_some() {
        t.inside_ipv6_cidr = e.inside_ipv6_cidr;
    }
    t.settings.override_with(e.settings);
    t.unmapped.extend(e.unmapped);
    t.from_options = true;
    Ok(())
}
