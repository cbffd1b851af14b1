//! TCP connection attempts for the `tcp` expectations: for each distinct
//! (from, to, port, bytes) a host connects every [`TCP_INTERVAL`], waits up
//! to [`TCP_TIMEOUT`] for the handshake (with `bytes`: sends them and waits
//! up to [`TCP_TRANSFER_TIMEOUT`] until every byte is acknowledged),
//! records the outcome and closes the connection (FIN). Outcomes are read
//! once per runner tick, so their times have the tick's resolution.

use std::net::Ipv4Addr;
use std::time::Duration;

use lab::{NodeId, Sim, SocketId, TcpState};

use super::hosts::PingHost;

/// How often a TCP expectation's connection is attempted.
pub(super) const TCP_INTERVAL: Duration = Duration::from_secs(5);
/// How long an attempt waits for the handshake.
pub(super) const TCP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an attempt with `bytes` waits for all of them to be
/// acknowledged.
pub(super) const TCP_TRANSFER_TIMEOUT: Duration = Duration::from_secs(10);

/// (from, to, port, bytes to send; 0: handshake only).
pub(crate) type TcpKey = (String, String, u16, u32);

/// The scenario's distinct TCP checks (from, to, port, bytes), in the
/// order of its `tcp` expectations.
pub(crate) fn keys(s: &crate::scenario::Scenario) -> Vec<TcpKey> {
    let mut keys = Vec::new();
    for e in &s.expectations {
        if let crate::scenario::Assertion::Tcp {
            from,
            to,
            port,
            bytes,
            ..
        } = &e.assertion
        {
            let k = (from.clone(), to.clone(), *port, bytes.unwrap_or(0));
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TcpOutcome {
    /// The three-way handshake completed.
    Connected,
    /// A RST came back.
    Refused,
    /// Nothing within [`TCP_TIMEOUT`].
    Timeout,
}

/// One connection attempt.
#[derive(Debug, Clone, Copy)]
pub(super) struct TcpAttempt {
    /// Index of its (from, to, port) in [`TcpChecks::keys`].
    pub key: usize,
    /// Started at (since the start).
    pub started: Duration,
    /// The outcome and when it was seen.
    pub outcome: Option<(TcpOutcome, Duration)>,
    /// Bytes acknowledged by the peer (with `bytes`).
    pub acked: u32,
    /// The bytes were queued (the handshake completed).
    sent: bool,
}

/// A host the checks can use: its name, node and address.
pub(super) type NamedHost = (&'static str, NodeId, Ipv4Addr);

/// The attempts of one run.
pub(super) struct TcpChecks {
    /// The keys of the expectations, deduplicated.
    pub keys: Vec<TcpKey>,
    /// Per key: the attempt in flight (index in `attempts`, host, socket).
    live: Vec<Option<(usize, NodeId, SocketId)>>,
    /// Per key: when the next attempt starts.
    next: Vec<Duration>,
    /// Connections being closed (released once closed).
    closing: Vec<(NodeId, SocketId)>,
    /// Every attempt, in start order.
    pub attempts: Vec<TcpAttempt>,
}

impl TcpChecks {
    /// Checks for these (from, to, port), starting at `first`.
    pub fn new(keys: Vec<TcpKey>, first: Duration) -> TcpChecks {
        let n = keys.len();
        TcpChecks {
            keys,
            live: vec![None; n],
            next: vec![first; n],
            closing: Vec::new(),
            attempts: Vec::new(),
        }
    }

    /// Advances the attempts at tick `at`: records outcomes, starts the
    /// attempts that are due. Unknown host names start nothing (the
    /// expectation reports them).
    pub fn tick(&mut self, sim: &mut Sim, hosts: &[NamedHost], at: Duration) {
        self.closing.retain(|&(node, sock)| {
            sim.with_node(node, |h: &mut PingHost| match h.stack.tcp_state(sock) {
                TcpState::Closed | TcpState::TimeWait => {
                    h.stack.tcp_release(sock);
                    false
                }
                _ => true,
            })
            .unwrap_or(false)
        });
        for k in 0..self.keys.len() {
            if let Some((ai, node, sock)) = self.live[k] {
                let bytes = self.keys[k].3;
                let started = self.attempts[ai].started;
                let state = sim
                    .node::<PingHost>(node)
                    .map_or(TcpState::Closed, |h| h.stack.tcp_state(sock));
                let established = matches!(state, TcpState::Established | TcpState::CloseWait);
                if established && bytes > 0 && !self.attempts[ai].sent {
                    let now = sim.now();
                    let data = vec![0x5a; bytes as usize];
                    sim.with_node(node, |h: &mut PingHost| {
                        h.stack.tcp_send(sock, &data);
                        lab::Node::handle_timeout(h, now);
                    });
                    self.attempts[ai].sent = true;
                }
                if self.attempts[ai].sent {
                    let queued = sim
                        .node::<PingHost>(node)
                        .map_or(bytes as usize, |h| h.stack.tcp_send_queue(sock));
                    self.attempts[ai].acked = bytes.saturating_sub(queued as u32);
                }
                let limit = if bytes > 0 {
                    TCP_TRANSFER_TIMEOUT
                } else {
                    TCP_TIMEOUT
                };
                let outcome = match state {
                    _ if established && self.attempts[ai].acked >= bytes => {
                        Some(TcpOutcome::Connected)
                    }
                    TcpState::Closed => Some(TcpOutcome::Refused),
                    _ if at >= started + limit => Some(TcpOutcome::Timeout),
                    _ => None,
                };
                if let Some(o) = outcome {
                    self.attempts[ai].outcome = Some((o, at));
                    self.live[k] = None;
                    let now = sim.now();
                    sim.with_node(node, |h: &mut PingHost| {
                        match o {
                            TcpOutcome::Connected => h.stack.tcp_close(sock),
                            _ => h.stack.tcp_abort(sock),
                        }
                        lab::Node::handle_timeout(h, now);
                    });
                    self.closing.push((node, sock));
                }
            }
            if self.live[k].is_some() || at < self.next[k] {
                continue;
            }
            self.next[k] = at + TCP_INTERVAL;
            let (from, to, port, _) = &self.keys[k];
            let find = |n: &str| hosts.iter().find(|h| h.0 == n);
            let (Some(src), Some(dst)) = (find(from), find(to)) else {
                continue;
            };
            let (node, dst_addr, port) = (src.1, dst.2, *port);
            let now = sim.now();
            let sock = sim
                .with_node(node, |h: &mut PingHost| {
                    let s = h.stack.tcp_connect(dst_addr, port).ok();
                    lab::Node::handle_timeout(h, now);
                    s
                })
                .flatten();
            if let Some(sock) = sock {
                self.attempts.push(TcpAttempt {
                    key: k,
                    started: at,
                    outcome: None,
                    acked: 0,
                    sent: false,
                });
                self.live[k] = Some((self.attempts.len() - 1, node, sock));
            }
        }
    }

    /// Records an attempt made elsewhere (the kernel lab's real sockets)
    /// for the key at index `key`.
    #[cfg(target_os = "linux")]
    pub fn record(
        &mut self,
        key: usize,
        started: Duration,
        outcome: Option<(TcpOutcome, Duration)>,
        acked: u32,
    ) {
        self.attempts.push(TcpAttempt {
            key,
            started,
            outcome,
            acked,
            sent: outcome.is_some_and(|o| o.0 == TcpOutcome::Connected),
        });
    }

    /// The attempts for `key`.
    pub fn attempts_for(&self, key: &TcpKey) -> Vec<TcpAttempt> {
        let Some(k) = self.keys.iter().position(|x| x == key) else {
            return Vec::new();
        };
        self.attempts
            .iter()
            .filter(|a| a.key == k)
            .copied()
            .collect()
    }
}
