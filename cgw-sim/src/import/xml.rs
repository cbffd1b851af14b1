//! The CustomerGatewayConfiguration XML of DescribeVpnConnections
//! (AWS-VPN-FACTS.md section 3), read with `roxmltree` so that every value
//! and every unknown element is placed at its line.

use std::net::Ipv4Addr;
use std::str::FromStr;

use roxmltree::{Document, Node};

use super::merge::{self, one, ConnectionParts, Draft, FieldNames};
use super::{names, Format, ImportError, ImportedConnection, Location, Sourced, Unmapped, Warning};
use crate::aws::GatewayKind;
use crate::scenario::Routing;

const NAMES: FieldNames = FieldNames {
    aws_outside: "vpn_gateway/tunnel_outside_address/ip_address",
    cgw_outside: "customer_gateway/tunnel_outside_address/ip_address",
    aws_inside: "vpn_gateway/tunnel_inside_address",
    cgw_inside: "customer_gateway/tunnel_inside_address",
    psk: "ike/pre_shared_key",
    cgw_asn: "customer_gateway/bgp/asn",
    aws_asn: "vpn_gateway/bgp/asn",
};

/// What the reader keeps while walking the document.
struct Reader<'a> {
    doc: &'a Document<'a>,
    file: &'a str,
    warnings: Vec<Warning>,
}

impl<'a> Reader<'a> {
    fn at(&self, node: Node, path: &str) -> Location {
        Location {
            file: self.file.to_owned(),
            line: Some(self.doc.text_pos_at(node.range().start).row as usize),
            path: path.to_owned(),
        }
    }

    fn unknown(&mut self, node: Node, path: &str) {
        let at = self.at(node, path);
        self.warnings.push(Warning {
            at,
            message: format!("unknown element <{}>: not imported", node.tag_name().name()),
        });
    }

    /// An element's text, trimmed, with its place.
    fn text(&self, node: Node, path: &str) -> Sourced<String> {
        Sourced::new(
            node.text().unwrap_or("").trim().to_owned(),
            self.at(node, path),
        )
    }

    /// An element's text parsed with `parse`, or a [`ImportError::BadValue`].
    fn value<T>(
        &self,
        node: Node,
        path: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Sourced<T>, ImportError> {
        let s = self.text(node, path);
        match parse(&s.value) {
            Some(v) => Ok(Sourced::new(v, s.at)),
            None => Err(ImportError::BadValue {
                at: s.at,
                value: format!("{:?}", s.value),
                expected: expected.to_owned(),
            }),
        }
    }
}

fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element())
}

fn parsed<T: FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

/// Reads the XML; `file` names it in locations.
pub fn parse(text: &str, file: &str) -> Result<ImportedConnection, ImportError> {
    let doc = Document::parse(text).map_err(|e| {
        let pos = e.pos();
        ImportError::Syntax {
            file: file.to_owned(),
            line: pos.row as usize,
            column: pos.col as usize,
            message: e.to_string(),
        }
    })?;
    let mut r = Reader {
        doc: &doc,
        file,
        warnings: Vec::new(),
    };
    let root = doc.root_element();
    let root_at = r.at(root, root.tag_name().name());
    if root.tag_name().name() != "vpn_connection" {
        return Err(ImportError::Missing {
            at: root_at,
            field: "the <vpn_connection> root element".into(),
        });
    }
    let connection_id = root
        .attribute("id")
        .map(|id| Sourced::new(id.to_owned(), r.at(root, "vpn_connection@id")));
    let mut routing = Sourced::new(Routing::Bgp, root_at.clone());
    let mut no_bgp = false;
    let mut gateway = None;
    let mut drafts = Vec::new();
    for c in elements(root) {
        let name = c.tag_name().name();
        match name {
            "customer_gateway_id" | "vpn_connection_type" => {
                let v = r.text(c, name);
                if name == "vpn_connection_type" && v.value != "ipsec.1" {
                    r.warnings.push(Warning {
                        at: v.at,
                        message: format!("vpn_connection_type {:?}: expected ipsec.1", v.value),
                    });
                }
            }
            "vpn_gateway_id" => {
                // Empty for a transit gateway (AWS-VPN-FACTS section 3).
                let v = r.text(c, name);
                let kind = if v.value.is_empty() {
                    GatewayKind::Tgw
                } else {
                    GatewayKind::Vgw
                };
                gateway = Some(Sourced::new(kind, v.at));
            }
            "transit_gateway_id" => {
                gateway = Some(Sourced::new(GatewayKind::Tgw, r.at(c, name)));
            }
            "vpn_connection_attributes" => {
                let v = r.text(c, name);
                if v.value == "NoBGPVPNConnection" {
                    no_bgp = true;
                    routing = Sourced::new(Routing::Static, v.at);
                } else {
                    r.warnings.push(Warning {
                        at: v.at,
                        message: format!("unknown vpn_connection_attributes {:?}", v.value),
                    });
                }
            }
            "ipsec_tunnel" => {
                let n = drafts.len() + 1;
                drafts.push(tunnel(&mut r, c, &format!("ipsec_tunnel[{n}]"))?);
            }
            _ => r.unknown(c, name),
        }
    }
    if !no_bgp && drafts.iter().all(|d| d.rest.cgw_asn.is_none()) && !drafts.is_empty() {
        // No attribute and no <bgp>: a static connection written without
        // its attribute. Say so rather than pick.
        return Err(ImportError::Missing {
            at: root_at,
            field: "customer_gateway/bgp (or vpn_connection_attributes NoBGPVPNConnection for \
                    static routing)"
                .into(),
        });
    }
    let parts = ConnectionParts {
        format: Format::Xml,
        at: root_at,
        connection_id,
        routing,
        gateway,
        warnings: std::mem::take(&mut r.warnings),
    };
    merge::finish_connection(parts, drafts, &NAMES)
}

/// One `<ipsec_tunnel>`.
fn tunnel(r: &mut Reader, node: Node, path: &str) -> Result<Draft, ImportError> {
    let mut d = Draft::new(r.at(node, path));
    for c in elements(node) {
        let name = c.tag_name().name();
        let p = format!("{path}/{name}");
        match name {
            "customer_gateway" | "vpn_gateway" => {
                let aws = name == "vpn_gateway";
                d.part(if aws { "aws" } else { "cgw" }, r.at(c, &p));
                side(r, c, &p, aws, &mut d)?
            }
            "ike" => {
                d.part("ike", r.at(c, &p));
                ike(r, c, &p, &mut d)?
            }
            "ipsec" => ipsec(r, c, &p, &mut d)?,
            _ => r.unknown(c, &p),
        }
    }
    Ok(d)
}

/// `<customer_gateway>` or `<vpn_gateway>`: addresses and BGP.
fn side(
    r: &mut Reader,
    node: Node,
    path: &str,
    aws: bool,
    d: &mut Draft,
) -> Result<(), ImportError> {
    for c in elements(node) {
        let name = c.tag_name().name();
        let p = format!("{path}/{name}");
        match name {
            "tunnel_outside_address" => {
                for e in elements(c) {
                    let q = format!("{p}/{}", e.tag_name().name());
                    match e.tag_name().name() {
                        "ip_address" => {
                            let v = r.value(e, &q, parsed::<Ipv4Addr>, "an IPv4 address")?;
                            if aws {
                                d.aws_outside = Some(v);
                            } else {
                                d.cgw_outside = Some(v);
                            }
                        }
                        _ => r.unknown(e, &q),
                    }
                }
            }
            "tunnel_inside_address" => {
                let (mut ip, mut len, mut mask) = (None, None, None);
                for e in elements(c) {
                    let q = format!("{p}/{}", e.tag_name().name());
                    match e.tag_name().name() {
                        "ip_address" => {
                            ip = Some(r.value(e, &q, parsed::<Ipv4Addr>, "an IPv4 address")?)
                        }
                        "network_cidr" => {
                            len = Some(r.value(e, &q, parsed::<u8>, "a prefix length")?)
                        }
                        "network_mask" => {
                            mask = Some(r.value(e, &q, parsed::<Ipv4Addr>, "a netmask")?)
                        }
                        _ => r.unknown(e, &q),
                    }
                }
                let Some(ip) = ip else {
                    return Err(ImportError::Missing {
                        at: r.at(c, &p),
                        field: "ip_address".into(),
                    });
                };
                let Some(len) = len else {
                    return Err(ImportError::Missing {
                        at: r.at(c, &p),
                        field: "network_cidr".into(),
                    });
                };
                if let Some(m) = mask {
                    let bits = u32::from(m.value);
                    if bits.leading_ones() != u32::from(len.value)
                        || bits.count_ones() != bits.leading_ones()
                    {
                        return Err(ImportError::Disagree {
                            what: "network_mask and network_cidr".into(),
                            first: Box::new(m.at),
                            first_value: m.value.to_string(),
                            second: Box::new(len.at),
                            second_value: len.value.to_string(),
                        });
                    }
                }
                let v = Sourced::new((ip.value, len.value), ip.at);
                if aws {
                    d.aws_inside = Some(v);
                } else {
                    d.cgw_inside = Some(v);
                }
            }
            "bgp" => {
                for e in elements(c) {
                    let q = format!("{p}/{}", e.tag_name().name());
                    match e.tag_name().name() {
                        "asn" => {
                            let v = r.value(e, &q, parsed::<u32>, "an AS number")?;
                            if aws {
                                d.rest.aws_asn = Some(v);
                            } else {
                                d.rest.cgw_asn = Some(v);
                            }
                        }
                        "hold_time" => {
                            d.rest.hold_time = Some(r.value(e, &q, parsed::<u32>, "seconds")?)
                        }
                        _ => r.unknown(e, &q),
                    }
                }
            }
            _ => r.unknown(c, &p),
        }
    }
    Ok(())
}

fn note(d: &mut Draft, v: Sourced<String>, what: &str) {
    d.rest.unmapped.push(Unmapped {
        at: v.at,
        what: what.to_owned(),
        value: v.value,
    });
}

/// `<ike>`: phase 1 and the key.
fn ike(r: &mut Reader, node: Node, path: &str, d: &mut Draft) -> Result<(), ImportError> {
    for c in elements(node) {
        let name = c.tag_name().name();
        let p = format!("{path}/{name}");
        match name {
            "authentication_protocol" => {
                d.rest.settings.phase1.integrity =
                    one(r.value(c, &p, names::integrity, names::INTEGRITY_NAMES)?)
            }
            "encryption_protocol" => {
                d.rest.settings.phase1.encryption =
                    one(r.value(c, &p, names::encryption, names::ENCRYPTION_NAMES)?)
            }
            "lifetime" => {
                d.rest.settings.phase1.lifetime = Some(r.value(c, &p, parsed::<u32>, "seconds")?)
            }
            "perfect_forward_secrecy" => {
                d.rest.settings.phase1.dh_groups =
                    one(r.value(c, &p, names::dh_group, names::DH_NAMES)?)
            }
            "pre_shared_key" => d.psk = Some(r.text(c, &p)),
            "mode" => note(d, r.text(c, &p), "IKEv1 phase 1 mode"),
            _ => r.unknown(c, &p),
        }
    }
    Ok(())
}

/// `<ipsec>`: phase 2, DPD, MSS and DF.
fn ipsec(r: &mut Reader, node: Node, path: &str, d: &mut Draft) -> Result<(), ImportError> {
    for c in elements(node) {
        let name = c.tag_name().name();
        let p = format!("{path}/{name}");
        match name {
            "authentication_protocol" => {
                d.rest.settings.phase2.integrity =
                    one(r.value(c, &p, names::integrity, names::INTEGRITY_NAMES)?)
            }
            "encryption_protocol" => {
                d.rest.settings.phase2.encryption =
                    one(r.value(c, &p, names::encryption, names::ENCRYPTION_NAMES)?)
            }
            "lifetime" => {
                d.rest.settings.phase2.lifetime = Some(r.value(c, &p, parsed::<u32>, "seconds")?)
            }
            "perfect_forward_secrecy" => {
                d.rest.settings.phase2.dh_groups = one(r.value(c, &p, names::dh_group, names::DH_NAMES)?)
            }
            "protocol" | "mode" => {
                let v = r.text(c, &p);
                let expected = if name == "protocol" { "esp" } else { "tunnel" };
                if v.value != expected {
                    return Err(ImportError::BadValue {
                        at: v.at,
                        value: format!("{:?}", v.value),
                        expected: expected.into(),
                    });
                }
            }
            "clear_df_bit" => {
                d.rest.clear_df = Some(r.value(c, &p, names::flag, "true or false")?)
            }
            "fragmentation_before_encryption" => {
                note(d, r.text(c, &p), "fragmentation before encryption (cgw-sim fragments before encryption when clear_df is set)")
            }
            "tcp_mss_adjustment" => {
                d.rest.mss = Some(r.value(c, &p, parsed::<u16>, "bytes")?)
            }
            "dead_peer_detection" => {
                for e in elements(c) {
                    let q = format!("{p}/{}", e.tag_name().name());
                    match e.tag_name().name() {
                        "interval" => {
                            d.rest.dpd_interval = Some(r.value(e, &q, parsed::<u32>, "seconds")?)
                        }
                        "retries" => {
                            d.rest.dpd_retries = Some(r.value(e, &q, parsed::<u32>, "a count")?)
                        }
                        _ => r.unknown(e, &q),
                    }
                }
            }
            _ => r.unknown(c, &p),
        }
    }
    Ok(())
}
