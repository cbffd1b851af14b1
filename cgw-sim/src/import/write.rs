//! An [`ImportedConnection`] written as TOML: the customer gateway's
//! configuration (`[gateway]` + `[cgw]`, loaded by `GatewayConfig::load`)
//! and the matching AWS mock (`[mock]` + `[aws]`, `MockConfig::load`).
//! Every value carries a comment saying where it came from; a value the
//! download does not give is left out (the schema's default applies) and
//! the comment says so; values without a key are listed as comments.

use std::fmt::{Display, Write as _};

use super::{ImportError, ImportedConnection, ImportedTunnel, Location, Sourced};
use crate::aws::{GatewayKind, IkeVersion};
use crate::scenario::{Prefix, Routing};

/// What the written files need that AWS's download does not hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteParams {
    /// The on-premises prefixes: announced over BGP by the gateway, and
    /// the mock's static routes on a static connection (`--announce`).
    pub announce: Vec<Prefix>,
    /// The VPC's prefixes: the gateway's static routes, and what the mock
    /// announces (`--vpc-cidr`).
    pub vpc_cidrs: Vec<Prefix>,
    /// The files read, for the header (`bgp.xml`, `options.json`).
    pub sources: Vec<String>,
}

/// A TOML document written line by line, with comments.
#[derive(Default)]
struct Doc(String);

impl Doc {
    fn comment(&mut self, s: impl Display) {
        let _ = writeln!(self.0, "# {s}");
    }
    fn table(&mut self, name: &str) {
        let _ = writeln!(self.0, "\n[{name}]");
    }
    /// `key = value  # comment`.
    fn kv(&mut self, key: &str, value: impl Display, from: impl Display) {
        let _ = writeln!(self.0, "{key} = {value}  # {from}");
    }
    /// A value with its source, or a comment that the download lacks it.
    fn sourced<T>(
        &mut self,
        key: &str,
        v: &Option<Sourced<T>>,
        show: impl Fn(&T) -> String,
        missing: &str,
    ) {
        match v {
            Some(s) => self.kv(key, show(&s.value), &s.at),
            None => self.comment(format!("{key}: {missing}")),
        }
    }
}

fn s(v: impl Display) -> String {
    toml::Value::String(v.to_string()).to_string()
}

fn list<T: Display>(v: &[T], quote: bool) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|x| if quote { s(x) } else { x.to_string() })
        .collect();
    format!("[{}]", items.join(", "))
}

fn secs(n: &u32) -> String {
    s(format!("{n}s"))
}

const NOT_GIVEN: &str = "not in the download; cgw-sim's default applies";

fn header(doc: &mut Doc, conn: &ImportedConnection, p: &WriteParams, what: &str) {
    doc.comment(format!(
        "{what}, written by `cgw-sim import` from AWS's configuration download."
    ));
    doc.comment(format!(
        "Read from: {} ({})",
        p.sources.join(" + "),
        conn.format
    ));
    if let Some(id) = &conn.connection_id {
        doc.comment(format!("VPN connection {} ({})", id.value, id.at));
    }
    doc.comment("Each value's comment says where it came from (file:line and element or label).");
    doc.comment("Tunnels are numbered by AWS outside address, not by their order in the download.");
    let unmapped: Vec<_> = conn.unmapped().collect();
    if !unmapped.is_empty() {
        doc.comment("Not imported (the configuration has no key for them):");
        for u in unmapped {
            doc.comment(format!("  {} = {} ({})", u.what, u.value, u.at));
        }
    }
}

fn need(v: &[Prefix], what: &str, flag: &str) -> Result<(), ImportError> {
    if v.is_empty() {
        return Err(ImportError::NeedsPrefixes {
            what: what.into(),
            flag: flag.into(),
        });
    }
    Ok(())
}

const ANNOUNCE: (&str, &str) = ("the on-premises prefixes", "--announce");
const VPC: (&str, &str) = ("the VPC's prefixes", "--vpc-cidr");

/// The customer gateway configuration (`cgw-sim run` / `validate`).
pub fn gateway_toml(conn: &ImportedConnection, p: &WriteParams) -> Result<String, ImportError> {
    let bgp = conn.routing.value == Routing::Bgp;
    if bgp {
        need(&p.announce, ANNOUNCE.0, ANNOUNCE.1)?;
    } else {
        need(&p.vpc_cidrs, VPC.0, VPC.1)?;
    }
    let mut d = Doc::default();
    header(
        &mut d,
        conn,
        p,
        "Customer gateway configuration (docs/config.md)",
    );
    d.table("gateway");
    d.kv(
        "local_address",
        s(conn.cgw_address.value),
        format!(
            "{} (the customer gateway's outside address; behind NAT put this host's own \
             address here)",
            conn.cgw_address.at
        ),
    );
    d.kv("routing", s(routing(conn.routing.value)), &conn.routing.at);
    for (n, t) in conn.tunnels.iter().enumerate() {
        d.table(&format!("gateway.tunnel{}", n + 1));
        d.kv("aws_address", s(t.aws_outside.value), &t.aws_outside.at);
        d.kv("inside_cidr", s(t.inside_cidr.value), &t.inside_cidr.at);
        if let Some(c) = &t.inside_ipv6_cidr {
            d.kv("inside_ipv6_cidr", s(c.value), &c.at);
        }
    }
    if bgp {
        d.table("cgw.bgp");
        d.sourced("asn", &conn.cgw_asn, |v| v.to_string(), NOT_GIVEN);
        d.sourced("peer_asn", &conn.aws_asn, |v| v.to_string(), NOT_GIVEN);
        d.sourced("hold_time", &conn.hold_time, secs, NOT_GIVEN);
        d.kv(
            "announce",
            list(&p.announce, true),
            "--announce (not in AWS's download)",
        );
    } else {
        d.table("cgw");
        d.kv(
            "static_routes",
            list(&p.vpc_cidrs, true),
            "--vpc-cidr (not in AWS's download)",
        );
    }
    for (n, t) in conn.tunnels.iter().enumerate() {
        cgw_tunnel(&mut d, n + 1, t);
    }
    Ok(d.0)
}

fn routing(r: Routing) -> &'static str {
    match r {
        Routing::Bgp => "bgp",
        Routing::Static => "static",
    }
}

fn suite_note(t: &ImportedTunnel) -> &'static str {
    if t.from_options {
        ""
    } else {
        " (the download shows only the minimum suite; --options gives the allowed lists)"
    }
}

fn at_with(at: &Location, note: &str) -> String {
    format!("{at}{note}")
}

fn cgw_tunnel(d: &mut Doc, n: usize, t: &ImportedTunnel) {
    d.table(&format!("cgw.tunnel{n}"));
    d.comment(format!("AWS outside address {}", t.aws_outside.value));
    d.sourced(
        "mss_clamp",
        &t.mss,
        |v| v.to_string(),
        "not in the download; no clamping",
    );
    d.sourced(
        "clear_df",
        &t.clear_df,
        |v| v.to_string(),
        "not in the download; DF kept",
    );
    d.table(&format!("cgw.tunnel{n}.ike"));
    match &t.settings.ike_versions {
        Some(v) => {
            let version = if v.value.contains(&IkeVersion::Ikev2) {
                2
            } else {
                1
            };
            d.kv(
                "version",
                version,
                format!("{} ({})", v.at, list(&v.value, false)),
            );
        }
        None => d.comment("version: not in the download; cgw-sim's default 2 (IKEv2)"),
    }
    d.kv(
        "psk",
        s(t.psk.value.expose()),
        format!("{} (prefer gateway.tunnel{n}.psk_file)", t.psk.at),
    );
    let note = suite_note(t);
    for (key, p) in [("", &t.settings.phase1), ("phase2_", &t.settings.phase2)] {
        match &p.encryption {
            Some(v) => d.kv(
                &format!("{key}encryption"),
                list(&v.value, true),
                at_with(&v.at, note),
            ),
            None => d.comment(format!("{key}encryption: {NOT_GIVEN}")),
        }
        match &p.integrity {
            Some(v) => d.kv(
                &format!("{key}integrity"),
                list(&v.value, true),
                at_with(&v.at, note),
            ),
            None => d.comment(format!("{key}integrity: {NOT_GIVEN}")),
        }
        match &p.dh_groups {
            Some(v) => d.kv(
                &format!("{key}dh_groups"),
                list(&v.value, false),
                at_with(&v.at, note),
            ),
            None => d.comment(format!("{key}dh_groups: {NOT_GIVEN}")),
        }
    }
    d.sourced(
        "phase1_lifetime",
        &t.settings.phase1.lifetime,
        secs,
        NOT_GIVEN,
    );
    d.sourced(
        "phase2_lifetime",
        &t.settings.phase2.lifetime,
        secs,
        NOT_GIVEN,
    );
    d.sourced("rekey_margin", &t.settings.rekey_margin, secs, NOT_GIVEN);
    d.sourced(
        "rekey_fuzz",
        &t.settings.rekey_fuzz,
        |v| v.to_string(),
        NOT_GIVEN,
    );
    dpd(d, t);
}

/// The CGW's DPD: the download's interval; the timeout is AWS's
/// `DpdTimeoutSeconds` if the tunnel options give it, else the download's
/// interval times its retries (what a device does with "interval 10,
/// retries 3"). The action is the device's own: not in the download.
fn dpd(d: &mut Doc, t: &ImportedTunnel) {
    let Some(interval) = &t.dpd_interval else {
        d.comment("dpd: not in the download; off");
        return;
    };
    let (timeout, from) = match (&t.settings.dpd_timeout, &t.dpd_retries) {
        (Some(x), None) => (Some(x.value), format!("timeout {}", x.at)),
        (Some(x), Some(r)) => (
            Some(x.value),
            format!(
                "timeout {} (AWS's; the download's {} retries at {} not used)",
                x.at, r.value, r.at
            ),
        ),
        (None, Some(r)) => (
            Some(interval.value.saturating_mul(r.value)),
            format!("timeout = interval x retries {} ({})", r.value, r.at),
        ),
        (None, None) => (None, "timeout: cgw-sim's default".into()),
    };
    let value = match timeout {
        Some(x) => format!(
            "{{ interval = {}, timeout = {} }}",
            secs(&interval.value),
            secs(&x)
        ),
        None => format!("{{ interval = {} }}", secs(&interval.value)),
    };
    d.kv(
        "dpd",
        value,
        format!(
            "interval {}; {from}; action: not in the download, cgw-sim's default restart",
            interval.at
        ),
    );
}

/// The AWS mock's configuration (`cgw-sim mock-aws`): AWS's endpoints on
/// the download's outside addresses, accepting the customer gateway's.
pub fn mock_toml(conn: &ImportedConnection, p: &WriteParams) -> Result<String, ImportError> {
    let bgp = conn.routing.value == Routing::Bgp;
    need(&p.vpc_cidrs, VPC.0, VPC.1)?;
    let static_routes: Option<(Vec<Prefix>, String)> = if bgp {
        None
    } else if let Some(r) = &conn.static_routes {
        Some((r.value.clone(), r.at.to_string()))
    } else {
        need(&p.announce, ANNOUNCE.0, ANNOUNCE.1)?;
        Some((
            p.announce.clone(),
            "--announce (not in AWS's download)".into(),
        ))
    };
    let mut d = Doc::default();
    header(&mut d, conn, p, "AWS mock configuration (docs/config.md)");
    d.table("mock");
    d.kv(
        "cgw_address",
        s(conn.cgw_address.value),
        &conn.cgw_address.at,
    );
    d.kv(
        "vpc_cidrs",
        list(&p.vpc_cidrs, true),
        "--vpc-cidr (not in AWS's download)",
    );
    for (n, t) in conn.tunnels.iter().enumerate() {
        d.table(&format!("mock.tunnel{}", n + 1));
        d.kv("listen", s(t.aws_outside.value), &t.aws_outside.at);
    }
    d.table("aws");
    d.sourced(
        "gateway",
        &conn.gateway,
        |g| s(gateway_name(*g)),
        "not in the download; \"vgw\"",
    );
    d.kv("routing", s(routing(conn.routing.value)), &conn.routing.at);
    if bgp {
        d.sourced("asn", &conn.aws_asn, |v| v.to_string(), NOT_GIVEN);
        d.sourced("cgw_asn", &conn.cgw_asn, |v| v.to_string(), NOT_GIVEN);
    }
    if let Some((routes, from)) = static_routes {
        d.kv("static_routes", list(&routes, true), from);
    }
    for (n, t) in conn.tunnels.iter().enumerate() {
        aws_tunnel(&mut d, n + 1, t);
    }
    Ok(d.0)
}

fn gateway_name(g: GatewayKind) -> &'static str {
    match g {
        GatewayKind::Vgw => "vgw",
        GatewayKind::Tgw => "tgw",
    }
}

fn aws_tunnel(d: &mut Doc, n: usize, t: &ImportedTunnel) {
    d.table(&format!("aws.tunnel{n}"));
    d.kv("inside_cidr", s(t.inside_cidr.value), &t.inside_cidr.at);
    if let Some(c) = &t.inside_ipv6_cidr {
        d.kv("inside_ipv6_cidr", s(c.value), &c.at);
    }
    d.kv(
        "psk",
        s(t.psk.value.expose()),
        format!("{} (prefer mock.tunnel{n}.psk_file)", t.psk.at),
    );
    const AWS_DEFAULT: &str =
        "AWS's default (all) applies: the download shows only the minimum suite; --options gives the tunnel's own";
    if t.from_options {
        let q = |v: &Vec<_>| list(v, true);
        d.sourced(
            "ike_versions",
            &t.settings.ike_versions,
            q,
            "AWS's default (both)",
        );
        for (key, p) in [
            ("phase1", &t.settings.phase1),
            ("phase2", &t.settings.phase2),
        ] {
            d.sourced(
                &format!("{key}_encryption"),
                &p.encryption,
                |v| list(v, true),
                AWS_DEFAULT,
            );
            d.sourced(
                &format!("{key}_integrity"),
                &p.integrity,
                |v| list(v, true),
                AWS_DEFAULT,
            );
            d.sourced(
                &format!("{key}_dh_groups"),
                &p.dh_groups,
                |v| list(v, false),
                AWS_DEFAULT,
            );
        }
    } else {
        d.comment(format!(
            "ike_versions, algorithms and DH groups: {AWS_DEFAULT}"
        ));
    }
    let num = |v: &u32| v.to_string();
    let aws_default = "AWS's default applies";
    d.sourced(
        "phase1_lifetime_seconds",
        &t.settings.phase1.lifetime,
        num,
        aws_default,
    );
    d.sourced(
        "phase2_lifetime_seconds",
        &t.settings.phase2.lifetime,
        num,
        aws_default,
    );
    d.sourced(
        "rekey_margin_seconds",
        &t.settings.rekey_margin,
        num,
        aws_default,
    );
    d.sourced(
        "rekey_fuzz_percent",
        &t.settings.rekey_fuzz,
        num,
        aws_default,
    );
    d.sourced(
        "replay_window_packets",
        &t.settings.replay_window,
        num,
        aws_default,
    );
    d.sourced(
        "dpd_timeout_seconds",
        &t.settings.dpd_timeout,
        num,
        aws_default,
    );
    d.sourced(
        "dpd_timeout_action",
        &t.settings.dpd_timeout_action,
        |v| s(v),
        aws_default,
    );
    d.sourced(
        "startup_action",
        &t.settings.startup_action,
        |v| s(v),
        aws_default,
    );
}
