//! The SLA daemon's configuration (`cgw-sim sla --config FILE`): `[sla]`
//! (endpoints, events, logs) and `[[sla.operation]]` (one
//! [`OperationConfig`] each, with `track` and `[[sla.operation.reaction]]`).
//! Raw TOML structs are turned into the engine's checked types; the
//! engine's own rules ([`OperationConfig::check`]) are placed at the
//! operation's key (`sla.operation[2].frequency`), like every other error.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use sla::config::{OperationConfig, OperationKind};
use sla::reaction::{Measure, ReactionConfig, ThresholdType};
use sla::stats::Codec;
use sla::track::{TrackConfig, TrackKind};

use super::load::{check_ifname, check_socket_path};
use super::{ConfigError, LogFormat};
use crate::scenario::duration;
use crate::toml_file::{self, err, Check};

/// The SLA daemon's `/metrics` unless `sla.metrics_listen` says otherwise:
/// loopback, next to the gateway's (9184) and the mock's (9185).
pub const DEFAULT_SLA_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9186);

/// The SLA daemon's control socket unless `sla.control_socket` says
/// otherwise (`cgw-sim sla status` asks it).
pub const DEFAULT_SLA_SOCKET: &str = "/run/cgw-sim/sla.sock";

/// The four operation types, as configuration files name them.
const KINDS: [OperationKind; 4] = [
    OperationKind::IcmpEcho,
    OperationKind::UdpEcho,
    OperationKind::UdpJitter,
    OperationKind::TcpConnect,
];

/// The SLA daemon's configuration, loaded and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaConfig {
    /// Where `/metrics` listens (default 127.0.0.1:9186).
    pub metrics_listen: SocketAddr,
    /// The control socket (default `/run/cgw-sim/sla.sock`).
    pub control_socket: PathBuf,
    /// Where JSON-lines events go (`None`: standard output).
    pub events_path: Option<PathBuf>,
    /// Log format (default text).
    pub log_format: LogFormat,
    /// The operations, checked by the engine's rules.
    pub operations: Vec<OperationConfig>,
}

impl SlaConfig {
    /// Reads and checks an SLA configuration file.
    pub fn load(path: impl AsRef<Path>) -> Result<SlaConfig, ConfigError> {
        toml_file::load(path.as_ref(), convert)
    }

    /// Parses and checks configuration text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<SlaConfig, ConfigError> {
        toml_file::parse(text, file, convert)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    sla: RawSla,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSla {
    #[serde(default)]
    metrics_listen: Option<SocketAddr>,
    #[serde(default)]
    control_socket: Option<PathBuf>,
    #[serde(default)]
    events_path: Option<PathBuf>,
    #[serde(default)]
    log_format: LogFormat,
    #[serde(default)]
    operation: Vec<RawOperation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    target: IpAddr,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    source: Option<IpAddr>,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    tunnel: Option<u8>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    frequency: Option<Duration>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    threshold: Option<Duration>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    interval: Option<Duration>,
    #[serde(default)]
    size: Option<usize>,
    #[serde(default)]
    tos: Option<u8>,
    #[serde(default)]
    dscp: Option<u8>,
    #[serde(default)]
    df: bool,
    #[serde(default)]
    packets: Option<u32>,
    #[serde(default)]
    codec: Option<String>,
    #[serde(default)]
    advantage: Option<f64>,
    #[serde(default)]
    window: Option<usize>,
    #[serde(default)]
    track: Option<RawTrack>,
    #[serde(default)]
    reaction: Vec<RawReaction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrack {
    #[serde(rename = "type", default)]
    kind: TrackKind,
    #[serde(default, deserialize_with = "duration::de_opt")]
    delay_up: Option<Duration>,
    #[serde(default, deserialize_with = "duration::de_opt")]
    delay_down: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReaction {
    name: String,
    on: Measure,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    x: Option<u32>,
    #[serde(default)]
    y: Option<u32>,
    raise: f64,
    #[serde(default)]
    clear: Option<f64>,
    #[serde(default)]
    command: Option<String>,
}

fn convert(raw: RawFile) -> Check<SlaConfig> {
    let s = raw.sla;
    if let Some(p) = &s.control_socket {
        check_socket_path("sla.control_socket", p)?;
    }
    if s.operation.is_empty() {
        return err("sla.operation", "at least one [[sla.operation]] is needed");
    }
    let mut operations = Vec::new();
    for (i, o) in s.operation.into_iter().enumerate() {
        let key = format!("sla.operation[{}]", i + 1);
        let op = operation(o, &key)?;
        if operations
            .iter()
            .any(|p: &OperationConfig| p.name == op.name)
        {
            return err(format!("{key}.name"), "two operations have this name");
        }
        operations.push(op);
    }
    // The operation id on the wire is 16 bits (sla::wire).
    if operations.len() > usize::from(u16::MAX) {
        return err("sla.operation", "at most 65535 operations");
    }
    Ok(SlaConfig {
        metrics_listen: s.metrics_listen.unwrap_or(DEFAULT_SLA_METRICS_LISTEN),
        control_socket: s
            .control_socket
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SLA_SOCKET)),
        events_path: s.events_path,
        log_format: s.log_format,
        operations,
    })
}

fn operation(o: RawOperation, key: &str) -> Check<OperationConfig> {
    let Some(kind) = KINDS.into_iter().find(|k| k.name() == o.kind) else {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
        return err(
            format!("{key}.type"),
            format!(
                "unknown operation type \"{}\": expected one of {}",
                o.kind.escape_debug(),
                names.join(", ")
            ),
        );
    };
    let mut c = OperationConfig::new(o.name, kind, o.target);
    c.port = o.port;
    c.source = o.source;
    if let Some(i) = &o.interface {
        check_ifname(format!("{key}.interface"), i)?;
    }
    c.interface = o.interface;
    c.tunnel = o.tunnel;
    if let Some(f) = o.frequency {
        c.frequency = f;
    }
    if let Some(t) = o.timeout {
        c.timeout = t;
    }
    // IP SLA's threshold defaults to the timeout; keep it at most the
    // timeout when only the timeout is lowered.
    c.threshold = o.threshold.unwrap_or(c.timeout.min(c.threshold));
    if let Some(i) = o.interval {
        c.interval = i;
    }
    if let Some(s) = o.size {
        c.size = s;
    }
    c.tos = match (o.tos, o.dscp) {
        (Some(_), Some(_)) => return err(format!("{key}.dscp"), "give tos or dscp, not both"),
        (Some(t), None) => t,
        (None, Some(d)) if d > 63 => {
            return err(format!("{key}.dscp"), format!("DSCP is 0 to 63, found {d}"))
        }
        (None, Some(d)) => d << 2,
        (None, None) => 0,
    };
    c.df = o.df;
    if let Some(p) = o.packets {
        c.packets = p;
    }
    if let Some(codec) = &o.codec {
        c.codec = Some(match codec.as_str() {
            "g711ulaw" => Codec::G711Ulaw,
            "g711alaw" => Codec::G711Alaw,
            "g729a" => Codec::G729A,
            other => {
                return err(
                    format!("{key}.codec"),
                    format!(
                        "unknown codec \"{}\": expected g711ulaw, g711alaw or g729a",
                        other.escape_debug()
                    ),
                )
            }
        });
    }
    if let Some(a) = o.advantage {
        if !(0.0..=20.0).contains(&a) {
            return err(
                format!("{key}.advantage"),
                format!("the advantage factor is 0 to 20, found {a}"),
            );
        }
        c.advantage = a;
    }
    if let Some(w) = o.window {
        c.window = w;
    }
    if let Some(t) = o.track {
        c.track = TrackConfig {
            kind: t.kind,
            delay_up: t.delay_up.unwrap_or_default(),
            delay_down: t.delay_down.unwrap_or_default(),
        };
    }
    for (j, r) in o.reaction.into_iter().enumerate() {
        let rkey = format!("{key}.reaction[{}]", j + 1);
        let rc = reaction(r, &rkey)?;
        if let Err(why) = rc.check(c.codec.is_some()) {
            return err(rkey, why);
        }
        c.reactions.push(rc);
    }
    // The engine's rules, at the field they name.
    c.check()
        .map_err(|e| (format!("{key}.{}", e.field), e.why))?;
    Ok(c)
}

fn reaction(r: RawReaction, key: &str) -> Check<ReactionConfig> {
    let need = |v: Option<u32>, name: &str| -> Check<u32> {
        v.ok_or_else(|| {
            (
                format!("{key}.{name}"),
                format!("type \"{}\" needs {name}", r.kind),
            )
        })
    };
    let threshold_type = match r.kind.as_str() {
        "immediate" => ThresholdType::Immediate,
        "consecutive" => ThresholdType::Consecutive(need(r.n, "n")?),
        "x-of-y" => ThresholdType::XOfY(need(r.x, "x")?, need(r.y, "y")?),
        "average" => ThresholdType::Average(need(r.n, "n")?),
        other => {
            return err(
                format!("{key}.type"),
                format!(
                    "unknown reaction type \"{}\": expected one of immediate, consecutive, \
                     x-of-y, average",
                    other.escape_debug()
                ),
            )
        }
    };
    if let Some(c) = &r.command {
        if c.trim().is_empty() {
            return err(format!("{key}.command"), "must not be empty");
        }
    }
    Ok(ReactionConfig {
        name: r.name,
        measure: r.on,
        threshold_type,
        raise: r.raise,
        clear: r.clear.unwrap_or(r.raise),
        command: r.command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<SlaConfig, ConfigError> {
        SlaConfig::from_toml(text, "sla.toml")
    }

    const GOOD: &str = r#"
[sla]
events_path = "/tmp/x.jsonl"

[[sla.operation]]
name = "t1"
type = "icmp-echo"
target = "169.254.10.1"
source = "169.254.10.2"
interface = "cgwsim1"
tunnel = 1
frequency = "5s"
timeout = "2s"
dscp = 46
df = true
track = { type = "state", delay_down = "10s" }

[[sla.operation]]
name = "voice"
type = "udp-jitter"
target = "10.0.0.10"
port = 5000
frequency = "30s"
codec = "g729a"
packets = 50
interval = "20ms"

[[sla.operation.reaction]]
name = "mos-low"
on = "mos"
type = "x-of-y"
x = 2
y = 3
raise = 3.6
clear = 3.9
command = "logger sla"
"#;

    #[test]
    fn a_good_file_loads_with_defaults() {
        let c = load(GOOD).unwrap();
        assert_eq!(c.metrics_listen, DEFAULT_SLA_METRICS_LISTEN);
        assert_eq!(c.control_socket, PathBuf::from(DEFAULT_SLA_SOCKET));
        let t1 = &c.operations[0];
        assert_eq!((t1.tos, t1.df, t1.tunnel), (46 << 2, true, Some(1)));
        assert_eq!(t1.threshold, Duration::from_secs(2));
        assert_eq!(t1.track.kind, TrackKind::State);
        let v = &c.operations[1];
        assert_eq!(v.codec, Some(Codec::G729A));
        assert_eq!(v.reactions[0].threshold_type, ThresholdType::XOfY(2, 3));
    }

    #[test]
    fn engine_rules_name_file_line_and_key() {
        let bad = GOOD.replace("frequency = \"30s\"", "frequency = \"2s\"");
        let e = load(&bad).unwrap_err();
        assert_eq!(e.key, "sla.operation[2].frequency");
        assert!(e.line.is_some());
        assert!(e.to_string().contains("below the cycle's span"), "{e}");
    }

    #[test]
    fn the_example_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sla.toml");
        let c = SlaConfig::load(path).unwrap();
        assert_eq!(c.operations.len(), 4);
        assert_eq!(c.operations[2].codec, Some(Codec::G729A));
    }

    #[test]
    fn unknown_type_lists_the_four() {
        let e = load(&GOOD.replace("\"icmp-echo\"", "\"http-get\"")).unwrap_err();
        assert_eq!(e.key, "sla.operation[1].type");
        assert!(
            e.message
                .contains("icmp-echo, udp-echo, udp-jitter, tcp-connect"),
            "{e}"
        );
    }

    #[test]
    fn mos_without_codec_is_placed_at_the_reaction() {
        let e = load(&GOOD.replace("codec = \"g729a\"\n", "")).unwrap_err();
        assert_eq!(e.key, "sla.operation[2].reaction[1]");
        assert!(e.message.contains("MOS needs"), "{e}");
    }
}
