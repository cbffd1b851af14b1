//! Reading a file: TOML into raw structs (serde, unknown keys refused), then
//! semantic checks. Every error is placed at the key it names.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::duration;
use super::model::*;
use crate::toml_file::{self, err, Check};

/// A scenario file that could not be loaded. Displays as
/// `file:line:column: key.path: message`.
pub type ScenarioError = toml_file::FileError;

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        toml_file::load(path.as_ref(), convert)
    }

    /// Parses and checks scenario text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        toml_file::parse(text, file, convert)
    }
}

// ---------------------------------------------------------------- raw forms

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    scenario: RawHeader,
    #[serde(default)]
    topology: Topology,
    #[serde(default)]
    aws: Aws,
    #[serde(default)]
    cgw: Cgw,
    #[serde(default)]
    traffic: Traffic,
    #[serde(default)]
    fault: Vec<RawFault>,
    #[serde(default)]
    expect: Vec<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    modes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    #[serde(deserialize_with = "duration::de")]
    at: Duration,
    set_cgw_source_address: Option<IpAddr>,
    block: Option<Filter>,
    unblock: Option<Filter>,
    link_down: Option<String>,
    link_up: Option<String>,
    impair: Option<Impairment>,
    replace_endpoint: Option<TunnelId>,
    restart: Option<String>,
    announce_prefixes: Option<AnnouncePrefixes>,
    drop_ike_message: Option<IkeMessageFault>,
    mangle_ike_message: Option<IkeMessageFault>,
    set_lifetime: Option<SetLifetime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouteCheck {
    contains: Option<Prefix>,
    lacks: Option<Prefix>,
    via_tunnel: Option<TunnelId>,
}

/// The largest ICMP echo data: 65535 minus the IP and ICMP headers.
const MAX_PING_SIZE: u16 = 65535 - 28;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPing {
    from: String,
    to: String,
    size: Option<u16>,
    #[serde(default)]
    df: bool,
    source: Option<std::net::Ipv4Addr>,
}

/// The most a `tcp` expectation may send: one send buffer of the lab's
/// hosts (64 KiB), queued at once.
const MAX_TCP_BYTES: u32 = 65_536;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTcp {
    from: String,
    to: String,
    port: u16,
    bytes: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiagnosis {
    tunnel: Option<TunnelId>,
    cause: Option<String>,
    contains: Option<String>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawResult {
    Reply,
    Timeout,
    #[serde(rename = "frag-needed")]
    FragNeeded,
    Connected,
    Refused,
}

/// A log field's expected value: a string, or a number or boolean written
/// bare (`tunnel = 1` matches the field `"1"`).
struct LogValue(String);

impl<'de> Deserialize<'de> for LogValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = LogValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LogValue, E> {
                Ok(LogValue(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LogValue, E> {
                Ok(LogValue(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LogValue, E> {
                Ok(LogValue(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<LogValue, E> {
                Ok(LogValue(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<LogValue, E> {
                Ok(LogValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default, deserialize_with = "duration::de_opt")]
    within: Option<Duration>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    at: Option<Duration>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    after: Option<Duration>,
    tunnel: Option<TunnelId>,
    phase1: Option<SaState>,
    phase2: Option<SaState>,
    cause: Option<Cause>,
    bgp: Option<BgpState>,
    vpc_route_table: Option<RawRouteCheck>,
    cgw_routes: Option<RawRouteCheck>,
    ping: Option<RawPing>,
    tcp: Option<RawTcp>,
    result: Option<RawResult>,
    aws_log: Option<BTreeMap<String, LogValue>>,
    notification: Option<Notification>,
    measure: Option<Measure>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    below: Option<Duration>,
    diagnosis: Option<RawDiagnosis>,
    probe: Option<crate::scenario::ProbeCheck>,
}

// ---------------------------------------------------------------- checks

/// Exactly one of the named options is set: its name.
fn exactly_one(base: &str, what: &str, present: &[(&'static str, bool)]) -> Check<&'static str> {
    let set: Vec<&str> = present
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| *n)
        .collect();
    match set.as_slice() {
        [one] => Ok(one),
        [] => {
            let names: Vec<String> = present.iter().map(|(n, _)| format!("`{n}`")).collect();
            err(base, format!("needs one {what}: {}", names.join(", ")))
        }
        [first, second, ..] => err(
            format!("{base}.{second}"),
            format!("one {what} per entry: `{first}` and `{second}` are both given; split them"),
        ),
    }
}

fn convert(raw: RawFile) -> Check<Scenario> {
    let RawFile {
        scenario,
        topology,
        aws,
        mut cgw,
        traffic,
        fault,
        expect,
    } = raw;
    if scenario.name.trim().is_empty() {
        return err("scenario.name", "must not be empty");
    }
    let modes = check_modes(scenario.modes.as_deref())?;
    check_topology(&topology)?;
    check_aws(&aws)?;
    for (n, t) in [(1, &aws.tunnel1), (2, &aws.tunnel2)] {
        if t.inside_ipv6_cidr.is_some() {
            return err(
                format!("aws.tunnel{n}.inside_ipv6_cidr"),
                "IPv6 inside tunnels run on a host's TUN devices (`cgw-sim run`, `mock-aws`); \
                 the simulated lab carries IPv4 only",
            );
        }
    }
    check_cgw(&cgw, &topology)?;
    check_hold_time(&cgw)?;
    check_traffic(&traffic)?;
    if cgw.bgp.announce.is_empty() {
        cgw.bgp.announce.push(topology.onprem_cidr);
    }
    if cgw.static_routes.is_empty() {
        cgw.static_routes.push(topology.vpc_cidr);
    }
    let faults = fault
        .into_iter()
        .enumerate()
        .map(|(i, f)| convert_fault(f, &format!("fault[{}]", i + 1), &topology))
        .collect::<Check<Vec<_>>>()?;
    let expectations = expect
        .into_iter()
        .enumerate()
        .map(|(i, e)| convert_expect(e, &format!("expect[{}]", i + 1), cgw.probes.len()))
        .collect::<Check<Vec<_>>>()?;
    let loaded = Scenario {
        name: scenario.name,
        summary: scenario.summary,
        seed: scenario.seed.unwrap_or(1),
        modes,
        topology,
        aws,
        cgw,
        traffic,
        faults,
        expectations,
    };
    check_vpn(&loaded)?;
    Ok(loaded)
}

/// `[scenario] modes`: a non-empty list of distinct `"sim"` / `"kernel"`.
fn check_modes(modes: Option<&[String]>) -> Check<Modes> {
    let Some(list) = modes else {
        return Ok(Modes::default());
    };
    if list.is_empty() {
        return err(
            "scenario.modes",
            "must name at least one of \"sim\", \"kernel\" (or leave the key out for both)",
        );
    }
    let mut m = Modes {
        sim: false,
        kernel: false,
    };
    for name in list {
        let slot = match name.as_str() {
            "sim" => &mut m.sim,
            "kernel" => &mut m.kernel,
            other => {
                return err(
                    "scenario.modes",
                    format!("unknown mode {other:?}: the modes are \"sim\" (the simulated lab) and \"kernel\" (`lab run --netns`)"),
                )
            }
        };
        if *slot {
            return err("scenario.modes", format!("{name:?} is listed twice"));
        }
        *slot = true;
    }
    Ok(m)
}

fn check_link_name(key: &str, name: &str, topology: &Topology) -> Check<()> {
    let names = topology.link_names();
    if names.contains(&name) {
        Ok(())
    } else {
        err(
            key,
            format!("unknown link \"{name}\"; links are: {}", names.join(", ")),
        )
    }
}

fn check_link_values(key: &str, loss: Option<f64>, mtu: Option<u16>) -> Check<()> {
    if let Some(loss) = loss {
        if !(0.0..=100.0).contains(&loss) {
            return err(
                format!("{key}.loss"),
                format!("loss is a percentage from 0 to 100, found {loss}"),
            );
        }
    }
    if let Some(mtu) = mtu {
        if mtu < 68 {
            return err(
                format!("{key}.mtu"),
                format!("an MTU is at least 68 bytes, found {mtu}"),
            );
        }
    }
    Ok(())
}

fn check_topology(t: &Topology) -> Check<()> {
    for (name, link) in &t.links {
        let key = format!("topology.links.{name}");
        check_link_name(&key, name, t)?;
        check_link_values(&key, link.loss, link.mtu)?;
    }
    if !contains(&t.onprem_cidr, IpAddr::V4(t.onprem_host)) {
        return err(
            "topology.onprem_host",
            format!("{} is outside onprem_cidr {}", t.onprem_host, t.onprem_cidr),
        );
    }
    if !contains(&t.vpc_cidr, IpAddr::V4(t.vpc_host)) {
        return err(
            "topology.vpc_host",
            format!("{} is outside vpc_cidr {}", t.vpc_host, t.vpc_cidr),
        );
    }
    Ok(())
}

fn contains(prefix: &Prefix, addr: IpAddr) -> bool {
    match (prefix.addr, addr) {
        (IpAddr::V4(p), IpAddr::V4(a)) => {
            let mask = if prefix.len == 0 {
                0
            } else {
                u32::MAX << (32 - prefix.len)
            };
            u32::from(p) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(p), IpAddr::V6(a)) => {
            let mask = if prefix.len == 0 {
                0
            } else {
                u128::MAX << (128 - prefix.len)
            };
            u128::from(p) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

const ENCRYPTION: [&str; 7] = [
    "AES128",
    "AES256",
    "AES128-GCM-16",
    "AES256-GCM-16",
    "AES192",
    "3DES",
    "DES",
];
const INTEGRITY: [&str; 5] = ["SHA1", "SHA2-256", "SHA2-384", "SHA2-512", "MD5"];

fn check_names(key: String, values: &[String], vocabulary: &[&str]) -> Check<()> {
    if values.is_empty() {
        return err(key, "must not be empty");
    }
    for (i, v) in values.iter().enumerate() {
        if !vocabulary.contains(&v.as_str()) {
            return err(
                format!("{key}[{}]", i + 1),
                format!(
                    "unknown name \"{v}\"; expected one of: {}",
                    vocabulary.join(", ")
                ),
            );
        }
    }
    Ok(())
}

fn check_groups(key: String, values: &[u16], allow_empty: bool) -> Check<()> {
    if values.is_empty() && !allow_empty {
        return err(key, "must not be empty");
    }
    for (i, g) in values.iter().enumerate() {
        if !matches!(g, 1 | 2 | 5 | 14..=24 | 31 | 32) {
            return err(format!("{key}[{}]", i + 1), format!("unknown DH group {g}"));
        }
    }
    Ok(())
}

pub(crate) fn check_aws(aws: &Aws) -> Check<()> {
    if aws.routing == Routing::Bgp && !aws.static_routes.is_empty() {
        return err(
            "aws.static_routes",
            "static routes need `routing = \"static\"`",
        );
    }
    Ok(())
}

/// AWS's rules on the whole connection (`VpnConnection::validate`), each
/// violation placed at the key that set the value.
fn check_vpn(scenario: &Scenario) -> Check<()> {
    let vpn = scenario.vpn_connection();
    check_vpn_rules(&vpn, |field| match field {
        "cgw_asn" if scenario.aws.cgw_asn.is_some() => Some("aws.cgw_asn".to_owned()),
        "cgw_asn" => Some("cgw.bgp.asn".to_owned()),
        "cgw_ip" => Some("topology.cgw_address".to_owned()),
        _ => None,
    })
}

/// AWS's rules on a VPN connection built from an `[aws]` section: the
/// first violation, placed by `key_of` (given the option's name, e.g.
/// `cgw_ip`, `tunnel1.psk`), else at `aws.asn` / `aws.tunnelN.<option>` /
/// `aws`. The message leaves out the option's name (the key says it).
pub(crate) fn check_vpn_rules(
    vpn: &crate::aws::VpnConnection,
    key_of: impl Fn(&str) -> Option<String>,
) -> Check<()> {
    let Err(errors) = vpn.validate() else {
        return Ok(());
    };
    let e = &errors[0];
    let option = e.option();
    let message = e.to_string();
    let message = message
        .strip_prefix(&format!("{option}: "))
        .unwrap_or(&message)
        .to_owned();
    let field = option.split(['[', ' ']).next().unwrap_or(option);
    let key = key_of(field).unwrap_or_else(|| match field {
        "aws_asn" => "aws.asn".to_owned(),
        f if f.starts_with("tunnel") => format!("aws.{f}"),
        _ => "aws".to_owned(),
    });
    err(key, message)
}

fn check_host(key: String, name: &str) -> Check<()> {
    if Topology::HOSTS.contains(&name) {
        Ok(())
    } else {
        err(
            key,
            format!(
                "unknown host \"{name}\"; hosts are: {}",
                Topology::HOSTS.join(", ")
            ),
        )
    }
}

pub(crate) fn check_cgw(cgw: &Cgw, topology: &Topology) -> Check<()> {
    let _ = topology;
    for (n, t) in [(1, &cgw.tunnel1), (2, &cgw.tunnel2)] {
        let k = |f: &str| format!("cgw.tunnel{n}.ike.{f}");
        let ike = &t.ike;
        if !matches!(ike.version, 1 | 2) {
            return err(
                k("version"),
                format!("expected 1 or 2, found {}", ike.version),
            );
        }
        check_names(k("encryption"), &ike.encryption, &ENCRYPTION)?;
        check_names(k("integrity"), &ike.integrity, &INTEGRITY)?;
        check_names(k("phase2_encryption"), &ike.phase2_encryption, &ENCRYPTION)?;
        check_names(k("phase2_integrity"), &ike.phase2_integrity, &INTEGRITY)?;
        check_groups(k("dh_groups"), &ike.dh_groups, false)?;
        check_groups(k("phase2_dh_groups"), &ike.phase2_dh_groups, true)?;
        for (f, v) in [
            ("phase1_lifetime", ike.phase1_lifetime),
            ("phase2_lifetime", ike.phase2_lifetime),
        ] {
            if v.is_zero() {
                return err(k(f), "a lifetime must be positive");
            }
        }
        if ike.idle_timeout.is_some_and(|d| d < Duration::from_secs(1)) {
            return err(k("idle_timeout"), "an idle timeout is at least 1s");
        }
        if ike.rekey_fuzz > 100 {
            return err(
                k("rekey_fuzz"),
                format!("expected 0 to 100 (percent), found {}", ike.rekey_fuzz),
            );
        }
        if ike.rekey_margin >= ike.phase2_lifetime || ike.rekey_margin >= ike.phase1_lifetime {
            return err(
                k("rekey_margin"),
                format!(
                    "must be shorter than both lifetimes, found {}",
                    duration::format_duration(ike.rekey_margin)
                ),
            );
        }
        if let Some(dpd) = &ike.dpd {
            if dpd.interval.is_zero() {
                return err(k("dpd.interval"), "must be positive");
            }
        }
        if ike.psk.as_deref() == Some("") {
            return err(k("psk"), "must not be empty");
        }
        if let Some(m) = t.mss_clamp.filter(|m| !(536..=1460).contains(m)) {
            return err(
                format!("cgw.tunnel{n}.mss_clamp"),
                format!("expected 536 to 1460 bytes, found {m}"),
            );
        }
        if t.bgp.prepend > 10 {
            return err(
                format!("cgw.tunnel{n}.bgp.prepend"),
                format!("expected 0 to 10, found {}", t.bgp.prepend),
            );
        }
        for (f, v) in [
            ("local_selectors", &ike.local_selectors),
            ("remote_selectors", &ike.remote_selectors),
        ] {
            if v.is_empty() {
                return err(k(f), "must not be empty");
            }
        }
    }
    if hold_time_ok(cgw.bgp.hold_time).is_none() {
        return hold_time_error(cgw.bgp.hold_time);
    }
    for (i, p) in cgw.probes.iter().enumerate() {
        let k = format!("cgw.probe[{}]", i + 1);
        check_host(format!("{k}.from"), &p.from)?;
        check_host(format!("{k}.to"), &p.to)?;
        match (p.kind, p.port) {
            (ProbeKind::Icmp, Some(_)) => {
                return err(format!("{k}.port"), "an ICMP probe has no port")
            }
            (ProbeKind::Tcp | ProbeKind::Udp | ProbeKind::UdpJitter, None) => {
                return err(format!("{k}.kind"), "a TCP or UDP probe needs a `port`")
            }
            _ => {}
        }
        if p.interval.is_zero() {
            return err(format!("{k}.interval"), "must be positive");
        }
        // The engine's own rules (frequency against timeout, sizes,
        // reactions), on a placeholder target of the right family.
        let target = IpAddr::V4(std::net::Ipv4Addr::new(198, 19, 0, 10));
        crate::assemble::probe::operation(p, i, target)
            .map_err(|(field, why)| (format!("{k}.{field}"), why))
            .or_else(|(key, why)| err(key, why))?;
    }
    Ok(())
}

/// A BGP hold time as whole seconds up to 65535 (what an OPEN can carry),
/// or `None`. Whether it is 0 or at least 3 s (RFC 4271 4.2) is
/// [`check_hold_time`]'s, so that `lint` can report a short one as AWS
/// would refuse it rather than fail to load.
pub(crate) fn hold_time_ok(hold: Duration) -> Option<u16> {
    if hold.subsec_nanos() != 0 {
        return None;
    }
    u16::try_from(hold.as_secs()).ok()
}

/// RFC 4271 4.2: a hold time is 0 or at least 3 seconds.
pub(crate) fn check_hold_time(cgw: &Cgw) -> Check<()> {
    let hold = cgw.bgp.hold_time;
    if matches!(hold_time_ok(hold), Some(1 | 2) | None) {
        return hold_time_error(hold);
    }
    Ok(())
}

fn hold_time_error(hold: Duration) -> Check<()> {
    err(
        "cgw.bgp.hold_time",
        format!(
            "a hold time is 0 or 3s to 65535s in whole seconds, found {}",
            duration::format_duration(hold)
        ),
    )
}

/// The runner sends on its one-second ticks: a ping interval is whole
/// seconds, at least one.
fn check_traffic(t: &Traffic) -> Check<()> {
    match t.ping_interval {
        Some(d) if d < Duration::from_secs(1) || d.subsec_nanos() != 0 => err(
            "traffic.ping_interval",
            format!(
                "a ping interval is whole seconds, at least 1s, or \"off\"; found {}",
                duration::format_duration(d)
            ),
        ),
        _ => Ok(()),
    }
}

fn check_filter(key: &str, f: &Filter, topology: &Topology) -> Check<()> {
    if f.protocol.is_none() && f.address.is_none() {
        return err(key, "a filter needs `protocol` or `address`");
    }
    if f.port.is_some() && f.protocol != Some(Protocol::Udp) {
        return err(format!("{key}.port"), "`port` needs `protocol = \"udp\"`");
    }
    if let Some(link) = &f.link {
        check_link_name(&format!("{key}.link"), link, topology)?;
    }
    Ok(())
}

fn convert_fault(f: RawFault, key: &str, topology: &Topology) -> Check<Fault> {
    let which = exactly_one(
        key,
        "action",
        &[
            ("set_cgw_source_address", f.set_cgw_source_address.is_some()),
            ("block", f.block.is_some()),
            ("unblock", f.unblock.is_some()),
            ("link_down", f.link_down.is_some()),
            ("link_up", f.link_up.is_some()),
            ("impair", f.impair.is_some()),
            ("replace_endpoint", f.replace_endpoint.is_some()),
            ("restart", f.restart.is_some()),
            ("announce_prefixes", f.announce_prefixes.is_some()),
            ("drop_ike_message", f.drop_ike_message.is_some()),
            ("mangle_ike_message", f.mangle_ike_message.is_some()),
            ("set_lifetime", f.set_lifetime.is_some()),
        ],
    )?;
    let k = format!("{key}.{which}");
    let action = if let Some(a) = f.set_cgw_source_address {
        FaultAction::SetCgwSourceAddress(a)
    } else if let Some(b) = f.block {
        check_filter(&k, &b, topology)?;
        FaultAction::Block(b)
    } else if let Some(b) = f.unblock {
        check_filter(&k, &b, topology)?;
        FaultAction::Unblock(b)
    } else if let Some(l) = f.link_down {
        check_link_name(&k, &l, topology)?;
        FaultAction::LinkDown(l)
    } else if let Some(l) = f.link_up {
        check_link_name(&k, &l, topology)?;
        FaultAction::LinkUp(l)
    } else if let Some(i) = f.impair {
        check_link_name(&format!("{k}.link"), &i.link, topology)?;
        if i.latency.is_none() && i.jitter.is_none() && i.loss.is_none() && i.mtu.is_none() {
            return err(k, "give at least one of latency, jitter, loss, mtu");
        }
        check_link_values(&k, i.loss, i.mtu)?;
        FaultAction::Impair(i)
    } else if let Some(t) = f.replace_endpoint {
        FaultAction::ReplaceEndpoint(t)
    } else if let Some(n) = f.restart {
        let nodes = topology.node_names();
        if !nodes.contains(&n.as_str()) {
            return err(
                k,
                format!("unknown node \"{n}\"; nodes are: {}", nodes.join(", ")),
            );
        }
        FaultAction::Restart(n)
    } else if let Some(a) = f.announce_prefixes {
        FaultAction::AnnouncePrefixes(a)
    } else if let Some(m) = f.drop_ike_message {
        if m.n == 0 {
            return err(format!("{k}.n"), "messages are counted from 1");
        }
        FaultAction::DropIkeMessage(m)
    } else if let Some(m) = f.mangle_ike_message {
        if m.n == 0 {
            return err(format!("{k}.n"), "messages are counted from 1");
        }
        FaultAction::MangleIkeMessage(m)
    } else if let Some(s) = f.set_lifetime {
        if s.phase1.is_none() && s.phase2.is_none() {
            return err(k, "give `phase1`, `phase2` or both");
        }
        if s.phase1 == Some(Duration::ZERO) || s.phase2 == Some(Duration::ZERO) {
            return err(k, "a lifetime must be positive");
        }
        FaultAction::SetLifetime(s)
    } else {
        return err(key, "needs one action");
    };
    Ok(Fault { at: f.at, action })
}

/// The value `exactly_one` found (an error rather than a panic if not).
fn take<T>(value: Option<T>, key: &str) -> Check<T> {
    match value {
        Some(v) => Ok(v),
        None => err(key, "needs one assertion"),
    }
}

fn route_check(key: String, r: RawRouteCheck) -> Check<RouteCheck> {
    match (r.contains, r.lacks) {
        (Some(prefix), None) => Ok(RouteCheck::Contains {
            prefix,
            via_tunnel: r.via_tunnel,
        }),
        (None, Some(p)) if r.via_tunnel.is_none() => Ok(RouteCheck::Lacks(p)),
        (None, Some(_)) => err(
            format!("{key}.via_tunnel"),
            "`via_tunnel` goes with `contains`",
        ),
        (Some(_), Some(_)) => err(
            format!("{key}.lacks"),
            "give `contains` or `lacks`, not both",
        ),
        (None, None) => err(key, "give `contains` or `lacks`"),
    }
}

fn convert_expect(e: RawExpect, key: &str, probes: usize) -> Check<Expectation> {
    let when = exactly_one(
        key,
        "time",
        &[
            ("within", e.within.is_some()),
            ("at", e.at.is_some()),
            ("after", e.after.is_some()),
        ],
    )?;
    let timing = match when {
        "within" => Timing::Within(e.within.unwrap_or_default()),
        "at" => Timing::At(e.at.unwrap_or_default()),
        _ => Timing::After(e.after.unwrap_or_default()),
    };
    let which = exactly_one(
        key,
        "assertion",
        &[
            ("phase1", e.phase1.is_some()),
            ("phase2", e.phase2.is_some()),
            ("bgp", e.bgp.is_some()),
            ("vpc_route_table", e.vpc_route_table.is_some()),
            ("cgw_routes", e.cgw_routes.is_some()),
            ("ping", e.ping.is_some()),
            ("tcp", e.tcp.is_some()),
            ("aws_log", e.aws_log.is_some()),
            ("notification", e.notification.is_some()),
            ("measure", e.measure.is_some()),
            ("diagnosis", e.diagnosis.is_some()),
            ("probe", e.probe.is_some()),
        ],
    )?;
    // Modifiers each assertion takes; any other modifier given is an error.
    let allowed: &[&str] = match which {
        "phase1" | "phase2" => &["tunnel", "cause"],
        "bgp" => &["tunnel"],
        "ping" | "tcp" => &["result"],
        "measure" => &["below"],
        _ => &[],
    };
    for (name, given) in [
        ("tunnel", e.tunnel.is_some()),
        ("cause", e.cause.is_some()),
        ("result", e.result.is_some()),
        ("below", e.below.is_some()),
    ] {
        if given && !allowed.contains(&name) {
            return err(
                format!("{key}.{name}"),
                format!("`{name}` does not apply to a `{which}` assertion"),
            );
        }
    }
    let need_tunnel = || match e.tunnel {
        Some(t) => Ok(t),
        None => err(key, format!("a `{which}` assertion needs `tunnel`")),
    };
    let k = format!("{key}.{which}");
    let assertion = match which {
        "phase1" | "phase2" => {
            let (phase, state) = match (e.phase1, e.phase2) {
                (Some(s), _) => (Phase::One, s),
                (_, Some(s)) => (Phase::Two, s),
                (None, None) => return err(key, "needs one assertion"),
            };
            if state == SaState::Established && e.cause.is_some() {
                return err(
                    format!("{key}.cause"),
                    "an established phase has no failure cause",
                );
            }
            Assertion::Phase {
                tunnel: need_tunnel()?,
                phase,
                state,
                cause: e.cause,
            }
        }
        "bgp" => Assertion::Bgp {
            tunnel: need_tunnel()?,
            state: e.bgp.unwrap_or(BgpState::Idle),
        },
        "vpc_route_table" => {
            Assertion::VpcRouteTable(route_check(k, take(e.vpc_route_table, key)?)?)
        }
        "cgw_routes" => Assertion::CgwRoutes(route_check(k, take(e.cgw_routes, key)?)?),
        "ping" => {
            let p = take(e.ping, key)?;
            check_host(format!("{k}.from"), &p.from)?;
            check_host(format!("{k}.to"), &p.to)?;
            // The IP packet (size + 28 bytes of headers) must fit 65535.
            if p.size.is_some_and(|n| n > MAX_PING_SIZE) {
                return err(
                    format!("{k}.size"),
                    format!("a ping's ICMP data is at most {MAX_PING_SIZE} bytes"),
                );
            }
            let result = match e.result {
                Some(RawResult::Reply) => PingResult::Reply,
                Some(RawResult::Timeout) => PingResult::Timeout,
                Some(RawResult::FragNeeded) => PingResult::FragNeeded,
                Some(_) => {
                    return err(
                        format!("{key}.result"),
                        "a ping's result is \"reply\", \"timeout\" or \"frag-needed\"",
                    )
                }
                None => return err(
                    key,
                    "a `ping` assertion needs `result` (\"reply\", \"timeout\" or \"frag-needed\")",
                ),
            };
            Assertion::Ping {
                from: p.from,
                to: p.to,
                size: p.size,
                df: p.df,
                source: p.source,
                result,
            }
        }
        "tcp" => {
            let t = take(e.tcp, key)?;
            check_host(format!("{k}.from"), &t.from)?;
            check_host(format!("{k}.to"), &t.to)?;
            let result = match e.result {
                Some(RawResult::Connected) => TcpResult::Connected,
                Some(RawResult::Refused) => TcpResult::Refused,
                Some(RawResult::Timeout) => TcpResult::Timeout,
                Some(_) => {
                    return err(
                        format!("{key}.result"),
                        "a TCP connect's result is \"connected\", \"refused\" or \"timeout\"",
                    )
                }
                None => return err(key, "a `tcp` assertion needs `result`"),
            };
            if let Some(b) = t.bytes.filter(|b| !(1..=MAX_TCP_BYTES).contains(b)) {
                return err(
                    format!("{k}.bytes"),
                    format!("expected 1 to {MAX_TCP_BYTES}, found {b}"),
                );
            }
            Assertion::Tcp {
                from: t.from,
                to: t.to,
                port: t.port,
                bytes: t.bytes,
                result,
            }
        }
        "aws_log" => {
            let fields: BTreeMap<String, String> = take(e.aws_log, key)?
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            if fields.is_empty() {
                return err(k, "give at least one field to match");
            }
            for (f, v) in &fields {
                if let Err(m) = crate::aws::log_emitter::check_aws_log_key(f, v) {
                    return err(format!("{k}.{f}"), m);
                }
            }
            Assertion::AwsLog(fields)
        }
        "notification" => Assertion::Notification(take(e.notification, key)?),
        "measure" => match e.below {
            Some(below) => Assertion::Measure {
                measure: take(e.measure, key)?,
                below,
            },
            None => return err(key, "a `measure` assertion needs `below`"),
        },
        "probe" => {
            let c = take(e.probe, key)?;
            if c.probe == 0 || c.probe > probes {
                return err(
                    format!("{k}.probe"),
                    format!(
                        "no probe {} ({} `[[cgw.probe]]` configured)",
                        c.probe, probes
                    ),
                );
            }
            let any = c.loss_above.is_some()
                || c.loss_below.is_some()
                || c.rtt_above.is_some()
                || c.rtt_below.is_some()
                || c.jitter_above.is_some()
                || c.jitter_below.is_some()
                || c.mos_above.is_some()
                || c.mos_below.is_some()
                || c.track.is_some()
                || c.raised.is_some();
            if !any {
                return err(
                    k,
                    "give at least one of loss_above/below, rtt_above/below, jitter_above/below, \
                     mos_above/below, track, raised",
                );
            }
            Assertion::Probe(c)
        }
        _ => {
            let d = take(e.diagnosis, key)?;
            if d.cause.is_none() && d.contains.is_none() {
                return err(k, "give `cause`, `contains` or both");
            }
            if let Some(cause) = &d.cause {
                if !crate::diagnosis::CAUSE_CODES.contains(&cause.as_str()) {
                    return err(
                        format!("{k}.cause"),
                        format!(
                            "unknown cause \"{cause}\"; causes are: {}",
                            crate::diagnosis::CAUSE_CODES.join(", ")
                        ),
                    );
                }
            }
            if d.contains.as_deref() == Some("") {
                return err(format!("{k}.contains"), "must not be empty");
            }
            Assertion::Diagnosis {
                tunnel: d.tunnel,
                cause: d.cause,
                contains: d.contains,
            }
        }
    };
    Ok(Expectation { timing, assertion })
}
