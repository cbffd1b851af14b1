//! What the prober runs: operations with their schedule, probe shape,
//! threshold, track and reactions, checked before anything is sent. The
//! file format (TOML, errors at file:line) lives with the application;
//! these are the checked values, and [`OperationConfig::check`] the rules
//! every front end shares.

use std::net::IpAddr;
use std::time::Duration;

use crate::reaction::ReactionConfig;
use crate::stats::Codec;
use crate::track::TrackConfig;
use crate::wire::HEADER_LEN;

/// The kind of operation, as IP SLA names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationKind {
    /// One ICMP echo per cycle.
    IcmpEcho,
    /// One UDP datagram per cycle, echoed by a responder.
    UdpEcho,
    /// A burst of UDP datagrams per cycle, timestamped by a responder:
    /// jitter per direction, one-way delay, loss per direction, MOS.
    UdpJitter,
    /// One TCP connection set-up per cycle.
    TcpConnect,
}

impl OperationKind {
    /// The name in configuration files and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            OperationKind::IcmpEcho => "icmp-echo",
            OperationKind::UdpEcho => "udp-echo",
            OperationKind::UdpJitter => "udp-jitter",
            OperationKind::TcpConnect => "tcp-connect",
        }
    }

    /// Whether the operation needs a destination port.
    pub fn needs_port(self) -> bool {
        !matches!(self, OperationKind::IcmpEcho)
    }
}

/// One operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationConfig {
    /// Its name (unique; a metrics label).
    pub name: String,
    /// What it does.
    pub kind: OperationKind,
    /// The address probed.
    pub target: IpAddr,
    /// The destination port (UDP and TCP operations).
    pub port: Option<u16>,
    /// The source address the probes leave from (pins them to a tunnel
    /// whose inside address it is).
    pub source: Option<IpAddr>,
    /// The interface the probes are bound to (a tunnel's TUN device).
    pub interface: Option<String>,
    /// The tunnel it watches (1 or 2), for labels and for `cgw-sim run`.
    pub tunnel: Option<u8>,
    /// How often a cycle starts.
    pub frequency: Duration,
    /// How long a probe waits for its answer.
    pub timeout: Duration,
    /// RTT above which a cycle is OverThreshold.
    pub threshold: Duration,
    /// Payload bytes per probe (ICMP data, UDP payload).
    pub size: usize,
    /// The IP TOS byte (DSCP << 2 | ECN).
    pub tos: u8,
    /// Set the don't-fragment bit (IPv4; IPv6 never fragments on the
    /// way). Off, the bit is clear and the sender's kernel fragments an
    /// oversized probe.
    pub df: bool,
    /// Packets per cycle (udp-jitter; 1 otherwise).
    pub packets: u32,
    /// Time between a burst's packets (udp-jitter).
    pub interval: Duration,
    /// The codec MOS and ICPIF are estimated for (udp-jitter).
    pub codec: Option<Codec>,
    /// The E-model's advantage factor A.
    pub advantage: f64,
    /// Cycles in the sliding window.
    pub window: usize,
    /// The operation's track.
    pub track: TrackConfig,
    /// Its reactions.
    pub reactions: Vec<ReactionConfig>,
}

impl OperationConfig {
    /// An operation of `kind` named `name` towards `target` with IP SLA's
    /// defaults: every 60 s, timeout 5 s, threshold 5 s, 28 bytes (icmp),
    /// 16 bytes more than the header (udp), 10 packets 20 ms apart
    /// (udp-jitter), a 60-cycle window, a reachability track without
    /// delays, no reactions.
    pub fn new(name: impl Into<String>, kind: OperationKind, target: IpAddr) -> OperationConfig {
        OperationConfig {
            name: name.into(),
            kind,
            target,
            port: None,
            source: None,
            interface: None,
            tunnel: None,
            frequency: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            threshold: Duration::from_secs(5),
            size: match kind {
                OperationKind::IcmpEcho => 28,
                OperationKind::UdpEcho | OperationKind::UdpJitter => HEADER_LEN + 16,
                OperationKind::TcpConnect => 0,
            },
            tos: 0,
            df: false,
            packets: if kind == OperationKind::UdpJitter {
                10
            } else {
                1
            },
            interval: Duration::from_millis(20),
            codec: None,
            advantage: 0.0,
            window: 60,
            track: TrackConfig::default(),
            reactions: Vec::new(),
        }
    }

    /// How long a cycle takes at most: the burst, then the last probe's
    /// timeout.
    pub fn cycle_span(&self) -> Duration {
        self.interval * self.packets.saturating_sub(1) + self.timeout
    }

    /// IP SLA's rules: the first one broken, naming the field.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, why: String| {
            Err(ConfigError {
                operation: self.name.clone(),
                field,
                why,
            })
        };
        if self.name.is_empty() {
            return bad("name", "must not be empty".into());
        }
        if self.frequency.is_zero() || self.timeout.is_zero() {
            return bad("frequency", "frequency and timeout must be positive".into());
        }
        if self.frequency < self.cycle_span() {
            return bad(
                "frequency",
                format!(
                    "{:?} is below the cycle's span {:?} (timeout{}): a cycle would start before \
                     the last one ended",
                    self.frequency,
                    self.cycle_span(),
                    if self.packets > 1 {
                        " plus the burst"
                    } else {
                        ""
                    }
                ),
            );
        }
        if self.threshold > self.timeout {
            return bad(
                "threshold",
                format!(
                    "{:?} exceeds the timeout {:?}: no answer could be over it",
                    self.threshold, self.timeout
                ),
            );
        }
        match (self.kind.needs_port(), self.port) {
            (true, None | Some(0)) => {
                return bad("port", format!("{} needs a port from 1", self.kind.name()))
            }
            (false, Some(_)) => return bad("port", format!("{} takes no port", self.kind.name())),
            _ => {}
        }
        if self
            .source
            .is_some_and(|s| s.is_ipv4() != self.target.is_ipv4())
        {
            return bad(
                "source",
                "source and target are of different IP versions".into(),
            );
        }
        let max = if self.target.is_ipv4() {
            65_507
        } else {
            65_487
        };
        match self.kind {
            OperationKind::UdpEcho | OperationKind::UdpJitter
                if self.size < HEADER_LEN || self.size > max =>
            {
                return bad(
                    "size",
                    format!(
                        "{} to {max} bytes (the probe header is {HEADER_LEN})",
                        HEADER_LEN
                    ),
                )
            }
            OperationKind::IcmpEcho if self.size > max - 8 => {
                return bad("size", format!("at most {} bytes", max - 8))
            }
            _ => {}
        }
        if self.kind == OperationKind::UdpJitter {
            if !(1..=60_000).contains(&self.packets) {
                return bad("packets", "1 to 60000 packets per burst".into());
            }
            if self.packets > 1 && self.interval.is_zero() {
                return bad("interval", "must be positive".into());
            }
        } else if self.packets != 1 {
            return bad(
                "packets",
                format!("{} sends one probe per cycle", self.kind.name()),
            );
        }
        if self.codec.is_some() && self.kind != OperationKind::UdpJitter {
            return bad("codec", "only udp-jitter estimates voice quality".into());
        }
        if self.window == 0 {
            return bad("window", "at least 1 cycle".into());
        }
        if self.tunnel.is_some_and(|t| !(1..=2).contains(&t)) {
            return bad("tunnel", "1 or 2".into());
        }
        for (i, r) in self.reactions.iter().enumerate() {
            if let Err(why) = r.check(self.codec.is_some()) {
                return Err(ConfigError {
                    operation: self.name.clone(),
                    field: "reaction",
                    why: format!("reaction {}: {why}", i + 1),
                });
            }
        }
        Ok(())
    }
}

/// A rule an operation breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {operation:?}: {field}: {why}")]
pub struct ConfigError {
    /// The operation's name.
    pub operation: String,
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong.
    pub why: String,
}

/// Checks every operation and that names are unique.
pub fn check_all(ops: &[OperationConfig]) -> Result<(), ConfigError> {
    for (i, o) in ops.iter().enumerate() {
        o.check()?;
        if ops[..i].iter().any(|p| p.name == o.name) {
            return Err(ConfigError {
                operation: o.name.clone(),
                field: "name",
                why: "two operations have this name".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OperationKind) -> OperationConfig {
        let mut o = OperationConfig::new("t1", kind, "198.19.0.10".parse().unwrap());
        if kind.needs_port() {
            o.port = Some(5000);
        }
        o
    }

    #[test]
    fn defaults_pass() {
        for k in [
            OperationKind::IcmpEcho,
            OperationKind::UdpEcho,
            OperationKind::UdpJitter,
            OperationKind::TcpConnect,
        ] {
            op(k).check().unwrap();
        }
    }

    #[test]
    fn frequency_below_timeout_is_refused() {
        let mut o = op(OperationKind::IcmpEcho);
        o.frequency = Duration::from_secs(2);
        let e = o.check().unwrap_err();
        assert_eq!(e.field, "frequency");
        assert!(e.to_string().contains("below the cycle's span 5s"), "{e}");
        // A burst counts too: 100 packets 20 ms apart plus 5 s.
        let mut j = op(OperationKind::UdpJitter);
        j.packets = 100;
        j.frequency = Duration::from_secs(6);
        assert_eq!(j.check().unwrap_err().field, "frequency");
        j.frequency = Duration::from_secs(7);
        j.check().unwrap();
    }

    #[test]
    fn each_rule_names_its_field() {
        type Edit = Box<dyn Fn(&mut OperationConfig)>;
        let cases: Vec<(Edit, OperationKind, &str)> = vec![
            (
                Box::new(|o| o.threshold = Duration::from_secs(6)),
                OperationKind::IcmpEcho,
                "threshold",
            ),
            (Box::new(|o| o.port = None), OperationKind::UdpEcho, "port"),
            (
                Box::new(|o| o.port = Some(7)),
                OperationKind::IcmpEcho,
                "port",
            ),
            (Box::new(|o| o.size = 10), OperationKind::UdpJitter, "size"),
            (
                Box::new(|o| o.packets = 0),
                OperationKind::UdpJitter,
                "packets",
            ),
            (
                Box::new(|o| o.packets = 5),
                OperationKind::TcpConnect,
                "packets",
            ),
            (
                Box::new(|o| o.codec = Some(Codec::G729A)),
                OperationKind::IcmpEcho,
                "codec",
            ),
            (
                Box::new(|o| o.window = 0),
                OperationKind::IcmpEcho,
                "window",
            ),
            (
                Box::new(|o| o.tunnel = Some(3)),
                OperationKind::IcmpEcho,
                "tunnel",
            ),
            (
                Box::new(|o| o.source = Some("fd00::2".parse().unwrap())),
                OperationKind::IcmpEcho,
                "source",
            ),
        ];
        for (edit, kind, field) in cases {
            let mut o = op(kind);
            edit(&mut o);
            assert_eq!(o.check().unwrap_err().field, field);
        }
        let a = op(OperationKind::IcmpEcho);
        let e = check_all(&[a.clone(), a]).unwrap_err();
        assert_eq!(e.field, "name");
    }
}
