//! The `sla` prober inside a lab host: the probes of `[[cgw.probe]]` sent
//! from that host on the simulator's clock (udp-jitter's 20 ms bursts
//! included), and the responder every lab host runs for UDP probes.
//!
//! - icmp-echo: an echo request with identifier [`SLA_ICMP_ID`] plus the
//!   operation's index and the probe's sequence number (low 16 bits);
//! - udp-echo / udp-jitter: a [`sla::wire::Probe`] from port
//!   [`SLA_UDP_PORT`] to the operation's port, stamped with the
//!   simulator's clock in ns since the lab's epoch (sender and responder
//!   share it: one-way delays are exact);
//! - tcp-connect: a connection from the host's TCP stack, answered when
//!   established, unreachable when reset; closed either way.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use lab::{Host, SocketId, TcpState};
use sla::config::OperationKind;
use sla::engine::{Prober, Reply, SlaEvent, Stamps};
use sla::responder::Responder;
use sla::wire::Probe;

/// ICMP identifier of operation 0; operation `i` uses this plus `i` (far
/// from the runner's default pings').
pub const SLA_ICMP_ID: u16 = 0x5000;
/// The UDP source port of UDP probes (replies come back to it).
pub const SLA_UDP_PORT: u16 = 50_000;
/// How many ICMP probes' full sequence numbers are remembered.
const ECHO_MEMORY: usize = 4096;

/// A host's prober and what it is waiting for.
pub(super) struct SlaAgent {
    pub prober: Prober,
    epoch: Instant,
    /// (operation, sequence, socket) of TCP probes in flight.
    tcp: Vec<(usize, u32, SocketId)>,
    /// (operation, sequence) of the latest ICMP probes: the echo carries
    /// only the low 16 bits.
    echoes: std::collections::VecDeque<(usize, u32)>,
    /// Events with their time, for the report.
    pub events: Vec<(Instant, SlaEvent)>,
}

/// What the agent wants sent: (destination, protocol payload builder
/// output) as whole IPv4 packets, built by the host.
pub(super) enum Outgoing {
    /// An ICMP echo request: (dst, id, seq, data size, df).
    Echo(Ipv4Addr, u16, u16, usize, bool),
    /// A UDP datagram: (dst, dst port, payload, df).
    Udp(Ipv4Addr, u16, Vec<u8>, bool),
}

impl SlaAgent {
    /// An agent running `prober`, with the lab's `epoch` as time zero.
    pub fn new(prober: Prober, epoch: Instant) -> SlaAgent {
        SlaAgent {
            prober,
            epoch,
            tcp: Vec::new(),
            echoes: std::collections::VecDeque::new(),
            events: Vec::new(),
        }
    }

    fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// Runs the prober's timers at `now` and returns what to send; TCP
    /// probes are opened on `stack` directly.
    pub fn poll(&mut self, now: Instant, stack: &mut Host) -> Vec<Outgoing> {
        if self.prober.poll_timeout().is_some_and(|t| t <= now) {
            self.prober.handle_timeout(now);
        }
        let mut out = Vec::new();
        while let Some(p) = self.prober.poll_probe() {
            let Some(cfg) = self.prober.config(p.op) else {
                continue;
            };
            let IpAddr::V4(dst) = cfg.target else {
                // The simulated lab is IPv4: such a probe is never answered.
                continue;
            };
            match cfg.kind {
                OperationKind::IcmpEcho => {
                    if self.echoes.len() == ECHO_MEMORY {
                        self.echoes.pop_front();
                    }
                    self.echoes.push_back((p.op, p.seq));
                    out.push(Outgoing::Echo(
                        dst,
                        SLA_ICMP_ID + p.op as u16,
                        p.seq as u16,
                        cfg.size,
                        cfg.df,
                    ))
                }
                OperationKind::UdpEcho | OperationKind::UdpJitter => {
                    let probe = Probe::request(p.op as u16, p.seq, self.ns(now), cfg.size);
                    out.push(Outgoing::Udp(
                        dst,
                        cfg.port.unwrap_or(0),
                        probe.emit(),
                        cfg.df,
                    ));
                }
                OperationKind::TcpConnect => match stack.tcp_connect(dst, cfg.port.unwrap_or(0)) {
                    Ok(s) => self.tcp.push((p.op, p.seq, s)),
                    Err(_) => self.prober.handle_unreachable(now, p.op, p.seq),
                },
            }
        }
        self.collect(now, stack);
        out
    }

    /// Settles TCP probes whose connection got an answer, and gathers
    /// events.
    pub fn collect(&mut self, now: Instant, stack: &mut Host) {
        let mut i = 0;
        while i < self.tcp.len() {
            let (op, seq, s) = self.tcp[i];
            match stack.tcp_state(s) {
                TcpState::Established => {
                    self.prober.handle_reply(now, Reply::plain(op, seq));
                    stack.tcp_abort(s);
                    stack.tcp_release(s);
                    self.tcp.swap_remove(i);
                }
                TcpState::Closed => {
                    self.prober.handle_unreachable(now, op, seq);
                    stack.tcp_release(s);
                    self.tcp.swap_remove(i);
                }
                _ => i += 1,
            }
        }
        while let Some(e) = self.prober.poll_event() {
            self.events.push((now, e));
        }
    }

    /// An ICMP echo reply with identifier `id` and sequence `seq16`:
    /// whether it was a probe's.
    pub fn handle_echo_reply(&mut self, now: Instant, id: u16, seq16: u16) -> bool {
        let op = usize::from(id.wrapping_sub(SLA_ICMP_ID));
        if id < SLA_ICMP_ID || op >= self.prober.len() {
            return false;
        }
        // The probe's full sequence number: the latest sent with these
        // low bits.
        let Some(&(_, seq)) = self
            .echoes
            .iter()
            .rev()
            .find(|(o, s)| *o == op && *s as u16 == seq16)
        else {
            return true;
        };
        self.prober.handle_reply(now, Reply::plain(op, seq));
        true
    }

    /// A UDP probe reply (to [`SLA_UDP_PORT`]).
    pub fn handle_udp_reply(&mut self, now: Instant, payload: &[u8]) {
        let Ok(p) = Probe::parse(payload) else {
            return;
        };
        if !p.reply {
            return;
        }
        let stamps = Stamps {
            sender_tx_ns: p.sender_tx_ns,
            responder_rx_ns: p.responder_rx_ns,
            responder_tx_ns: p.responder_tx_ns,
            sender_rx_ns: self.ns(now),
            responder_count: p.responder_count,
        };
        self.prober.handle_reply(
            now,
            Reply {
                op: usize::from(p.op),
                seq: p.seq,
                stamps: Some(stamps),
            },
        );
    }

    /// When the prober next wants to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.prober.poll_timeout()
    }
}

/// A lab host's UDP responder: answers a probe request with the
/// simulator's clock (ns since `epoch`) as both its stamps (the lab host
/// answers at once).
pub(super) fn respond(
    r: &mut Responder,
    from: Ipv4Addr,
    payload: &[u8],
    now: Instant,
    epoch: Instant,
) -> Option<Vec<u8>> {
    let ns = now.saturating_duration_since(epoch).as_nanos() as u64;
    r.handle(IpAddr::V4(from), payload, ns, ns).ok()
}
