//! AWS's tunnel options as JSON: the `Options.TunnelOptions` list of
//! DescribeVpnConnections, given as the whole output (one connection), the
//! `VpnConnections[0]` object, its `Options` object or the list itself.
//! They say which algorithms, groups and lifetimes a tunnel allows (the XML
//! shows only the minimum suite). Locations are JSON paths
//! (`VpnConnections[1].Options.TunnelOptions[2].Phase1DHGroupNumbers`,
//! indexes 1-based as in configuration errors) with their line.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::{ImportError, Location, Sourced, TunnelSettings, Unmapped, Warning};
use crate::aws::{Encryption, IkeVersion, Integrity, Ipv4Cidr, Ipv6Cidr};
use crate::scenario::{Prefix, Routing};

/// A parsed tunnel options file.
#[derive(Debug, Clone, PartialEq)]
pub struct TunnelOptionsFile {
    /// The file.
    pub file: String,
    /// One entry per tunnel (matched to the download's by outside address).
    pub entries: Vec<OptionsEntry>,
    /// `Options.StaticRoutesOnly`, if given.
    pub routing: Option<Sourced<Routing>>,
    /// The connection's `Routes` (static routes), if given.
    pub static_routes: Option<Sourced<Vec<Prefix>>>,
    /// Keys not imported.
    pub warnings: Vec<Warning>,
}

/// One `TunnelOptions` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionsEntry {
    /// The entry.
    pub at: Location,
    /// `OutsideIpAddress`: how the entry finds its tunnel.
    pub outside: Option<Sourced<Ipv4Addr>>,
    /// `TunnelInsideCidr`: must be the download's.
    pub inside_cidr: Option<Sourced<Ipv4Cidr>>,
    /// `TunnelInsideIpv6Cidr`.
    pub inside_ipv6_cidr: Option<Sourced<Ipv6Cidr>>,
    /// `PreSharedKey`: must be the download's.
    pub psk: Option<Sourced<String>>,
    /// Versions, algorithms, lifetimes, AWS-side options.
    pub settings: TunnelSettings,
    /// Known keys without a configuration key (`LogOptions`).
    pub unmapped: Vec<Unmapped>,
}

/// Keys of a tunnel options entry that are known but have no key in the
/// configuration.
const UNMAPPED_KEYS: [&str; 3] = [
    "LogOptions",
    "EnableTunnelLifecycleControl",
    "PreSharedKeyArn",
];

/// Keys of `Options` read or knowingly left.
const OPTIONS_KEYS: [&str; 6] = [
    "EnableAcceleration",
    "OutsideIpAddressType",
    "TunnelInsideIpVersion",
    "TransportTransitGatewayAttachmentId",
    "TunnelBandwidth",
    "TunnelOptions",
];

struct Ctx<'a> {
    file: &'a str,
    lines: HashMap<String, usize>,
}

impl Ctx<'_> {
    fn at(&self, path: &str) -> Location {
        Location {
            file: self.file.to_owned(),
            line: self.lines.get(path).copied(),
            path: path.to_owned(),
        }
    }

    fn bad<T>(&self, path: &str, v: &Value, expected: &str) -> Result<T, ImportError> {
        Err(ImportError::BadValue {
            at: self.at(path),
            value: v.to_string(),
            expected: expected.to_owned(),
        })
    }

    fn string<T: FromStr>(
        &self,
        path: &str,
        v: &Value,
        expected: &str,
    ) -> Result<Sourced<T>, ImportError> {
        match v.as_str().and_then(|s| s.parse().ok()) {
            Some(x) => Ok(Sourced::new(x, self.at(path))),
            None => self.bad(path, v, expected),
        }
    }

    fn u32(&self, path: &str, v: &Value) -> Result<Sourced<u32>, ImportError> {
        match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Ok(Sourced::new(n, self.at(path))),
            None => self.bad(path, v, "a whole number"),
        }
    }

    /// `[{"Value": x}, ...]` (DescribeVpnConnections) or `[x, ...]`.
    fn list<T>(
        &self,
        path: &str,
        v: &Value,
        item: impl Fn(&Value) -> Option<T>,
        expected: &str,
    ) -> Result<Sourced<Vec<T>>, ImportError> {
        let Some(items) = v.as_array() else {
            return self.bad(path, v, "a list");
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, x) in items.iter().enumerate() {
            let inner = x.get("Value").unwrap_or(x);
            match item(inner) {
                Some(t) => out.push(t),
                None => return self.bad(&format!("{path}[{}]", i + 1), x, expected),
            }
        }
        Ok(Sourced::new(out, self.at(path)))
    }
}

fn named<T: FromStr>(v: &Value) -> Option<T> {
    v.as_str()?.parse().ok()
}

fn group(v: &Value) -> Option<u16> {
    v.as_u64().and_then(|n| u16::try_from(n).ok())
}

/// The CustomerGatewayConfiguration XML inside DescribeVpnConnections
/// output (the whole output with one connection, or `VpnConnections[0]`),
/// if `text` is such JSON.
pub fn embedded_xml(text: &str) -> Option<String> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let root: Value = serde_json::from_str(text).ok()?;
    let conn = match root.get("VpnConnections") {
        Some(list) if list.as_array().is_some_and(|l| l.len() == 1) => &list[0],
        Some(_) => return None,
        None => &root,
    };
    conn.get("CustomerGatewayConfiguration")?
        .as_str()
        .map(str::to_owned)
}

/// Parses a tunnel options file; `file` names it in locations.
pub fn parse(text: &str, file: &str) -> Result<TunnelOptionsFile, ImportError> {
    let root: Value = serde_json::from_str(text).map_err(|e| ImportError::Syntax {
        file: file.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let c = Ctx {
        file,
        lines: line_index(text),
    };
    let mut out = TunnelOptionsFile {
        file: file.to_owned(),
        entries: Vec::new(),
        routing: None,
        static_routes: None,
        warnings: Vec::new(),
    };
    let mut path = String::new();
    let mut node = &root;
    if let Some(list) = node.get("VpnConnections") {
        let n = list.as_array().map_or(0, Vec::len);
        if n != 1 {
            return c.bad(
                "VpnConnections",
                &Value::from(n),
                "exactly one VPN connection",
            );
        }
        path = "VpnConnections[1]".into();
        node = &list[0];
    }
    let join = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_owned()
        } else {
            format!("{p}.{k}")
        }
    };
    if let Some(routes) = node.get("Routes") {
        let p = join(&path, "Routes");
        let r = c.list(
            &p,
            routes,
            |v| {
                v.get("DestinationCidrBlock")
                    .and_then(|d| d.as_str())
                    .and_then(|s| s.parse().ok())
            },
            "{\"DestinationCidrBlock\": \"a prefix\"}",
        )?;
        out.static_routes = Some(r);
    }
    if let Some(o) = node.get("Options") {
        path = join(&path, "Options");
        node = o;
    }
    if let Some(obj) = node.as_object() {
        if obj.contains_key("TunnelOptions") {
            options_level(&c, &path, obj, &mut out)?;
        }
    }
    let list = match node.get("TunnelOptions") {
        Some(l) => {
            path = join(&path, "TunnelOptions");
            l
        }
        None => node,
    };
    let Some(entries) = list.as_array() else {
        return Err(ImportError::Missing {
            at: c.at(if path.is_empty() {
                "the document"
            } else {
                &path
            }),
            field: "TunnelOptions (a list of tunnel options)".into(),
        });
    };
    for (i, e) in entries.iter().enumerate() {
        let p = format!("{path}[{}]", i + 1);
        let Some(obj) = e.as_object() else {
            return c.bad(&p, e, "a tunnel options object");
        };
        out.entries.push(entry(&c, &p, obj, &mut out.warnings)?);
    }
    Ok(out)
}

/// `Options` itself: static or BGP, and what is not imported.
fn options_level(
    c: &Ctx,
    path: &str,
    obj: &Map<String, Value>,
    out: &mut TunnelOptionsFile,
) -> Result<(), ImportError> {
    for (k, v) in obj {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match k.as_str() {
            "StaticRoutesOnly" => {
                let Some(b) = v.as_bool() else {
                    return c.bad(&p, v, "true or false");
                };
                let r = if b { Routing::Static } else { Routing::Bgp };
                out.routing = Some(Sourced::new(r, c.at(&p)));
            }
            "LocalIpv4NetworkCidr"
            | "RemoteIpv4NetworkCidr"
            | "LocalIpv6NetworkCidr"
            | "RemoteIpv6NetworkCidr" => {
                let any = matches!(v.as_str(), Some("0.0.0.0/0" | "::/0"));
                if !any {
                    out.warnings.push(Warning {
                        at: c.at(&p),
                        message: format!(
                            "{k} {v} narrows the traffic selectors: not imported (set \
                             cgw.tunnelN.ike.local_selectors / remote_selectors yourself)"
                        ),
                    });
                }
            }
            _ if OPTIONS_KEYS.contains(&k.as_str()) => {}
            _ => out.warnings.push(Warning {
                at: c.at(&p),
                message: format!("unknown key {k:?}: not imported"),
            }),
        }
    }
    Ok(())
}

fn entry(
    c: &Ctx,
    path: &str,
    obj: &Map<String, Value>,
    warnings: &mut Vec<Warning>,
) -> Result<OptionsEntry, ImportError> {
    let mut e = OptionsEntry {
        at: c.at(path),
        outside: None,
        inside_cidr: None,
        inside_ipv6_cidr: None,
        psk: None,
        settings: TunnelSettings::default(),
        unmapped: Vec::new(),
    };
    const ENC: &str = "AES128, AES256, AES128-GCM-16, AES256-GCM-16";
    const INTEG: &str = "SHA1, SHA2-256, SHA2-384, SHA2-512";
    for (k, v) in obj {
        let p = format!("{path}.{k}");
        match k.as_str() {
            "OutsideIpAddress" => e.outside = Some(c.string(&p, v, "an IPv4 address")?),
            "TunnelInsideCidr" => {
                e.inside_cidr = Some(c.string(&p, v, "a /30 such as 169.254.10.0/30")?)
            }
            "TunnelInsideIpv6Cidr" => {
                e.inside_ipv6_cidr = Some(c.string(&p, v, "a /126 such as fd00:10::/126")?)
            }
            "PreSharedKey" => match v.as_str() {
                Some(s) => e.psk = Some(Sourced::new(s.to_owned(), c.at(&p))),
                None => return c.bad(&p, &Value::from("(not a string)"), "a string"),
            },
            "Phase1LifetimeSeconds" => e.settings.phase1.lifetime = Some(c.u32(&p, v)?),
            "Phase2LifetimeSeconds" => e.settings.phase2.lifetime = Some(c.u32(&p, v)?),
            "RekeyMarginTimeSeconds" => e.settings.rekey_margin = Some(c.u32(&p, v)?),
            "RekeyFuzzPercentage" => e.settings.rekey_fuzz = Some(c.u32(&p, v)?),
            "ReplayWindowSize" => e.settings.replay_window = Some(c.u32(&p, v)?),
            "DpdTimeoutSeconds" => e.settings.dpd_timeout = Some(c.u32(&p, v)?),
            "DpdTimeoutAction" => {
                e.settings.dpd_timeout_action = Some(c.string(&p, v, "clear, none, restart")?)
            }
            "StartupAction" => e.settings.startup_action = Some(c.string(&p, v, "add, start")?),
            "IkeVersions" => {
                e.settings.ike_versions =
                    Some(c.list(&p, v, named::<IkeVersion>, "ikev1, ikev2")?)
            }
            "Phase1EncryptionAlgorithms" => {
                e.settings.phase1.encryption = Some(c.list(&p, v, named::<Encryption>, ENC)?)
            }
            "Phase2EncryptionAlgorithms" => {
                e.settings.phase2.encryption = Some(c.list(&p, v, named::<Encryption>, ENC)?)
            }
            "Phase1IntegrityAlgorithms" => {
                e.settings.phase1.integrity = Some(c.list(&p, v, named::<Integrity>, INTEG)?)
            }
            "Phase2IntegrityAlgorithms" => {
                e.settings.phase2.integrity = Some(c.list(&p, v, named::<Integrity>, INTEG)?)
            }
            "Phase1DHGroupNumbers" => {
                e.settings.phase1.dh_groups = Some(c.list(&p, v, group, "DH group numbers")?)
            }
            "Phase2DHGroupNumbers" => {
                e.settings.phase2.dh_groups = Some(c.list(&p, v, group, "DH group numbers")?)
            }
            _ if UNMAPPED_KEYS.contains(&k.as_str()) => e.unmapped.push(Unmapped {
                at: c.at(&p),
                what: k.clone(),
                value: v.to_string(),
            }),
            _ => warnings.push(Warning {
                at: c.at(&p),
                message: format!("unknown key {k:?}: not imported"),
            }),
        }
    }
    Ok(e)
}

/// One open JSON container while indexing.
enum Frame {
    /// An object: the key being read or just read.
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    /// An array: elements seen so far, and whether a value may start.
    Array { count: usize, expect_value: bool },
}

fn frame_path(stack: &[Frame]) -> String {
    let mut p = String::new();
    for f in stack {
        match f {
            Frame::Object { key: Some(k), .. } => {
                if !p.is_empty() {
                    p.push('.');
                }
                p.push_str(k);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { count, .. } => p.push_str(&format!("[{count}]")),
        }
    }
    p
}

/// The line of every key and array element, by the paths [`parse`] uses
/// (serde_json keeps no positions). Only called on text that parsed.
fn line_index(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\n' {
            line += 1;
            continue;
        }
        if ch.is_whitespace() {
            continue;
        }
        // A value starting inside an array is its next element.
        if let Some(Frame::Array {
            count,
            expect_value,
        }) = stack.last_mut()
        {
            if *expect_value && !matches!(ch, ']' | ',') {
                *count += 1;
                *expect_value = false;
                out.insert(frame_path(&stack), line);
            }
        }
        match ch {
            '{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            '[' => stack.push(Frame::Array {
                count: 0,
                expect_value: true,
            }),
            '}' | ']' => {
                stack.pop();
            }
            ',' => match stack.last_mut() {
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                Some(Frame::Array { expect_value, .. }) => *expect_value = true,
                None => {}
            },
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(e) = chars.next() {
                                s.push(e);
                            }
                        }
                        '"' => break,
                        c => s.push(c),
                    }
                }
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut() {
                    if *expect_key {
                        *key = Some(s);
                        *expect_key = false;
                        out.insert(frame_path(&stack), line);
                    }
                }
            }
            _ => {}
        }
    }
    out
}
