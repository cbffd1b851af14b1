//! The probing loop: a [`Prober`] fed from the operations' sockets on a
//! tokio current-thread runtime. The loop owns the prober; one receiving
//! task per socket stamps what arrives (wall clock and `Instant`) and
//! hands it over on a channel; tcp-connect probes are a task each. The
//! loop sleeps until the prober's next deadline, a received answer, the
//! next status publication (each second) or the stop signal.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use sla::config::{OperationConfig, OperationKind};
use sla::engine::{ProbeRequest, Prober, Reply, SlaEvent, Stamps};

use super::events::{to_json, EventSink};
use super::hooks::Hooks;
use super::icmp::{IcmpInbound, IcmpSocket};
use super::snapshot::{Histogram, OpSnapshot, SlaStatus};
use super::{rx_stamp, tcp, udp, SlaError};

/// The status is published this often (and after every event).
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// What a receiving task hands the loop.
#[derive(Debug)]
enum Inbound {
    /// An answer to `op`'s probe: the full sequence (udp, tcp) or its low
    /// 16 bits (icmp).
    Reply {
        op: usize,
        seq: Seq,
        stamps: Option<Stamps>,
        at: Instant,
    },
    /// `op`'s probe was refused or found unreachable (`None`: the last
    /// one sent, for errors that do not say which).
    Unreachable { op: usize, seq: Option<Seq> },
}

#[derive(Debug, Clone, Copy)]
enum Seq {
    Full(u32),
    Low16(u16),
}

/// One operation's way out.
#[derive(Debug)]
enum Transport {
    Icmp(Arc<IcmpSocket>),
    Udp(Arc<UdpSocket>),
    Tcp,
}

/// The loop's state.
struct Driver {
    prober: Prober,
    transports: Vec<Transport>,
    /// Each operation's last sequence number sent.
    last_seq: Vec<Option<u32>>,
    /// When unstamped probes went out, for the RTT histogram.
    sent_at: HashMap<(usize, u32), Instant>,
    histograms: Vec<Histogram>,
    tx: mpsc::Sender<Inbound>,
    hooks: Hooks,
    events: EventSink,
    start: Instant,
}

/// Opens every operation's socket and runs the prober until `stop`,
/// publishing on `status`.
pub async fn run(
    ops: Vec<OperationConfig>,
    events: EventSink,
    status: watch::Sender<SlaStatus>,
    stop: impl Future<Output = ()>,
) -> Result<(), SlaError> {
    let (tx, mut rx) = mpsc::channel(1024);
    let mut transports = Vec::new();
    let mut readers = tokio::task::JoinSet::new();
    for (i, cfg) in ops.iter().enumerate() {
        let open_err = |source| SlaError::Socket {
            operation: cfg.name.clone(),
            source,
        };
        transports.push(match cfg.kind {
            OperationKind::IcmpEcho => {
                let s = Arc::new(IcmpSocket::open(i, cfg).map_err(open_err)?);
                tracing::info!(operation = %cfg.name, raw = s.raw, "icmp-echo socket");
                readers.spawn(read_icmp(i, s.clone(), tx.clone()));
                Transport::Icmp(s)
            }
            OperationKind::UdpEcho | OperationKind::UdpJitter => {
                let s = Arc::new(udp::open(cfg).map_err(open_err)?);
                readers.spawn(read_udp(i, s.clone(), tx.clone()));
                Transport::Udp(s)
            }
            OperationKind::TcpConnect => Transport::Tcp,
        });
    }
    let start = Instant::now();
    let mut d = Driver {
        last_seq: vec![None; ops.len()],
        histograms: vec![Histogram::default(); ops.len()],
        prober: Prober::new(ops, start),
        transports,
        sent_at: HashMap::new(),
        tx,
        hooks: Hooks::default(),
        events,
        start,
    };
    tokio::pin!(stop);
    let mut next_publish = start;
    loop {
        let now = Instant::now();
        d.prober.handle_timeout(now);
        d.send_probes();
        let changed = d.drain_events();
        if changed || now >= next_publish {
            status.send_replace(d.snapshot(now));
            next_publish = now + PUBLISH_EVERY;
        }
        let wake = d
            .prober
            .poll_timeout()
            .map_or(next_publish, |t| t.min(next_publish));
        tokio::select! {
            biased;
            () = &mut stop => break,
            m = rx.recv() => {
                if let Some(m) = m {
                    d.inbound(m);
                    // Whatever else came meanwhile, before sleeping again.
                    while let Ok(m) = rx.try_recv() {
                        d.inbound(m);
                    }
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {}
        }
    }
    readers.abort_all();
    status.send_replace(d.snapshot(Instant::now()));
    Ok(())
}

impl Driver {
    fn send_probes(&mut self) {
        while let Some(ProbeRequest { op, seq }) = self.prober.poll_probe() {
            let Some(cfg) = self.prober.config(op) else {
                continue;
            };
            self.last_seq[op] = Some(seq);
            let now = Instant::now();
            let sent = match &self.transports[op] {
                Transport::Icmp(s) => {
                    self.sent_at.insert((op, seq), now);
                    s.send(cfg.target, seq as u16)
                }
                Transport::Udp(s) => udp::send(s, op as u16, seq, cfg.size),
                Transport::Tcp => {
                    self.sent_at.insert((op, seq), now);
                    let (cfg, tx) = (cfg.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let m = match tcp::connect(&cfg).await {
                            tcp::Outcome::Connected(at) => Inbound::Reply {
                                op,
                                seq: Seq::Full(seq),
                                stamps: None,
                                at,
                            },
                            tcp::Outcome::Refused(_, e) => {
                                tracing::debug!(operation = %cfg.name, error = %e, "tcp-connect refused");
                                Inbound::Unreachable {
                                    op,
                                    seq: Some(Seq::Full(seq)),
                                }
                            }
                            tcp::Outcome::Silent => return,
                        };
                        let _ = tx.send(m).await;
                    });
                    Ok(())
                }
            };
            match sent {
                Ok(()) => {}
                // A full send buffer: the probe is lost, as on the wire.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    // No route, a down interface, EMSGSIZE with DF: the
                    // probe did not leave; it counts as unreachable at once.
                    tracing::debug!(operation = %cfg.name, seq, error = %e, "probe not sent");
                    self.prober.handle_unreachable(now, op, seq);
                }
            }
        }
    }

    /// The full sequence number a received one stands for.
    fn resolve(&self, op: usize, seq: Seq) -> Option<u32> {
        match seq {
            Seq::Full(s) => Some(s),
            // The newest sent whose low bits match: replies are at most a
            // timeout old, far fewer than 65536 probes.
            Seq::Low16(low) => {
                let last = self.last_seq.get(op).copied().flatten()?;
                Some(last.wrapping_sub(u32::from((last as u16).wrapping_sub(low))))
            }
        }
    }

    fn inbound(&mut self, m: Inbound) {
        match m {
            Inbound::Reply {
                op,
                seq,
                stamps,
                at,
            } => {
                let Some(seq) = self.resolve(op, seq) else {
                    return;
                };
                let rtt = match stamps {
                    Some(s) => Some(s.rtt_ms() / 1e3),
                    None => self
                        .sent_at
                        .remove(&(op, seq))
                        .map(|t| at.saturating_duration_since(t).as_secs_f64()),
                };
                if let (Some(r), Some(h)) = (rtt, self.histograms.get_mut(op)) {
                    h.observe(r);
                }
                self.prober.handle_reply(at, Reply { op, seq, stamps });
            }
            Inbound::Unreachable { op, seq } => {
                let seq = match seq {
                    Some(s) => self.resolve(op, s),
                    None => self.last_seq.get(op).copied().flatten(),
                };
                if let Some(seq) = seq {
                    self.sent_at.remove(&(op, seq));
                    self.prober.handle_unreachable(Instant::now(), op, seq);
                }
            }
        }
    }

    /// Writes the prober's events and runs reaction commands; whether
    /// there were any.
    fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Some(e) = self.prober.poll_event() {
            any = true;
            let op = match &e {
                SlaEvent::Cycle { op, .. }
                | SlaEvent::Track { op, .. }
                | SlaEvent::Reaction { op, .. } => *op,
            };
            let Some(cfg) = self.prober.config(op) else {
                continue;
            };
            self.events.write(&to_json(cfg, &e));
            match &e {
                SlaEvent::Cycle { code, .. } => {
                    // Unstamped probes of a finished cycle that never
                    // came back are no longer waited for.
                    let timeout = cfg.timeout;
                    let now = Instant::now();
                    self.sent_at
                        .retain(|(o, _), t| *o != op || now.duration_since(*t) <= timeout);
                    tracing::debug!(operation = %cfg.name, code = code.name(), "cycle");
                }
                SlaEvent::Track { from, to, .. } => {
                    tracing::info!(operation = %cfg.name, ?from, ?to, "track changed");
                }
                SlaEvent::Reaction { event, .. } => {
                    tracing::info!(operation = %cfg.name, reaction = %event.reaction,
                        raised = event.raised, value = event.value, "reaction");
                    let command = cfg
                        .reactions
                        .iter()
                        .find(|r| r.name == event.reaction)
                        .and_then(|r| r.command.clone());
                    if let Some(c) = command {
                        let cfg = cfg.clone();
                        self.hooks.run(&c, &cfg, event);
                    }
                }
            }
        }
        any
    }

    fn snapshot(&self, now: Instant) -> SlaStatus {
        let operations = self
            .prober
            .status()
            .iter()
            .enumerate()
            .filter_map(|(i, st)| {
                let cfg = self.prober.config(i)?;
                Some(OpSnapshot::new(cfg, st, self.histograms[i].clone()))
            })
            .collect();
        SlaStatus {
            uptime_secs: now.saturating_duration_since(self.start).as_secs_f64(),
            operations,
            hooks_started: self.hooks.started,
            hooks_dropped: self.hooks.dropped,
        }
    }
}

async fn read_icmp(op: usize, s: Arc<IcmpSocket>, tx: mpsc::Sender<Inbound>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let got = match rx_stamp::recv(&s.sock, &mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!(op, error = %e, "icmp receive");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (_, at) = rx_stamp::arrival(got.stamp);
        let m = match s.parse(&buf[..got.len]) {
            Some(IcmpInbound::Reply(seq)) => Inbound::Reply {
                op,
                seq: Seq::Low16(seq),
                stamps: None,
                at,
            },
            Some(IcmpInbound::Unreachable(seq)) => Inbound::Unreachable {
                op,
                seq: Some(Seq::Low16(seq)),
            },
            None => continue,
        };
        if tx.send(m).await.is_err() {
            return;
        }
    }
}

async fn read_udp(op: usize, s: Arc<UdpSocket>, tx: mpsc::Sender<Inbound>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let m = match rx_stamp::recv(&s, &mut buf).await {
            Ok(got) => {
                let (rx_ns, at) = rx_stamp::arrival(got.stamp);
                let Some((seq, stamps)) = udp::reply(&buf[..got.len], op as u16, rx_ns) else {
                    continue;
                };
                Inbound::Reply {
                    op,
                    seq: Seq::Full(seq),
                    stamps: Some(stamps),
                    at,
                }
            }
            // An ICMP port (or host) unreachable for an earlier send.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::HostUnreachable
                        | std::io::ErrorKind::NetworkUnreachable
                ) =>
            {
                Inbound::Unreachable { op, seq: None }
            }
            Err(e) => {
                tracing::debug!(op, error = %e, "udp receive");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if tx.send(m).await.is_err() {
            return;
        }
    }
}
