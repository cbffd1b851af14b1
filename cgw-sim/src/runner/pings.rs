//! The on-prem host's ping streams: the default one (56 bytes, DF clear)
//! and one per other (size, DF) a `ping` expectation names, each with its
//! own ICMP identifier, sent every tick; their probes; and the MTU
//! diagnosis when large DF pings fail while the default ones pass.

use std::time::{Duration, Instant};

use lab::NodeId;

use super::hosts::{PingHost, DEFAULT_PING_ID, DEFAULT_PING_SIZE};
use super::observed::{Diagnosed, Probe};
use crate::diagnosis::{Context, Diagnosis, Symptom};
use crate::node::{TunnelGateway, TunnelId};
use crate::scenario::{Assertion, Scenario};

/// One stream: ICMP data size and DF, the pings sent (seq, when).
pub(super) struct Stream {
    pub size: u16,
    pub df: bool,
    /// Source address (an alias of the host), `None`: its own.
    pub source: Option<std::net::Ipv4Addr>,
    id: u16,
    sent: Vec<(u16, Duration)>,
}

/// The streams the scenario's ping expectations need, the default first.
pub(super) fn streams(s: &Scenario) -> Vec<Stream> {
    let mut v = vec![Stream {
        size: DEFAULT_PING_SIZE,
        df: false,
        source: None,
        id: DEFAULT_PING_ID,
        sent: Vec::new(),
    }];
    for e in &s.expectations {
        if let Assertion::Ping {
            size, df, source, ..
        } = &e.assertion
        {
            let size = size.unwrap_or(DEFAULT_PING_SIZE);
            if !v
                .iter()
                .any(|x| x.size == size && x.df == *df && x.source == *source)
            {
                let id = DEFAULT_PING_ID + v.len() as u16;
                v.push(Stream {
                    size,
                    df: *df,
                    source: *source,
                    id,
                    sent: Vec::new(),
                });
            }
        }
    }
    v
}

/// One stream's probes: (ICMP data size, DF, source alias, probes).
pub(super) type SizedProbes = (u16, bool, Option<std::net::Ipv4Addr>, Vec<Probe>);

/// The source aliases the streams need the host to hold.
pub(super) fn aliases(streams: &[Stream]) -> Vec<std::net::Ipv4Addr> {
    streams.iter().filter_map(|s| s.source).collect()
}

/// Sends one ping of every stream from `host` to `dst` at `tick`.
pub(super) fn send_all(
    sim: &mut lab::Sim,
    host: NodeId,
    dst: std::net::Ipv4Addr,
    streams: &mut [Stream],
    tick: Duration,
) {
    for st in streams {
        if let Some(seq) = sim.with_node(host, |h: &mut PingHost| {
            h.send_ping_sized(dst, st.id, st.size, st.df, st.source)
        }) {
            st.sent.push((seq, tick));
        }
    }
}

/// The probes of each stream, with the replies and "fragmentation needed"
/// messages `host` received (times since `epoch`).
pub(super) fn probes(
    sim: &lab::Sim,
    host: NodeId,
    epoch: Instant,
    streams: &[Stream],
) -> Vec<SizedProbes> {
    let Some(h) = sim.node::<PingHost>(host) else {
        return Vec::new();
    };
    streams
        .iter()
        .map(|st| {
            let probes = st
                .sent
                .iter()
                .map(|(seq, sent)| Probe {
                    sent: *sent,
                    reply: h
                        .replies
                        .iter()
                        .find(|(id, s, at)| *id == st.id && s == seq && *at - epoch >= *sent)
                        .map(|(_, _, at)| *at - epoch),
                    frag_needed: h
                        .frag_needed
                        .iter()
                        .find(|(id, s, _, at)| *id == st.id && s == seq && *at - epoch >= *sent)
                        .map(|(_, _, _, at)| *at - epoch),
                })
                .collect();
            (st.size, st.df, st.source, probes)
        })
        .collect()
}

/// An MTU diagnosis for each DF stream none of whose pings was answered
/// while default pings were: large packets lost, small ones pass. The
/// suite is the one of the CGW tunnel carrying the traffic at the end.
pub(super) fn mtu_diagnoses(
    sim: &lab::Sim,
    cgw: NodeId,
    all: &[SizedProbes],
    ctx: &Context,
) -> Vec<Diagnosed> {
    let Some((_, _, _, default)) = all.first() else {
        return Vec::new();
    };
    if !default.iter().any(Probe::answered) {
        return Vec::new();
    }
    let gw = sim.node::<TunnelGateway>(cgw);
    let tunnel = gw.map_or(0, |g| {
        usize::from(!g.is_up(TunnelId(0)) && g.is_up(TunnelId(1)))
    });
    let suite = gw.and_then(|g| g.esp_suite(TunnelId(tunnel)));
    all[1..]
        .iter()
        .filter(|(_, df, _, p)| *df && !p.is_empty() && !p.iter().any(Probe::answered))
        .map(|(size, df, _, p)| {
            let symptom = Symptom::LargePacketsLost {
                // The IP packet: ICMP data plus the IP and ICMP headers.
                size: size.saturating_add(28),
                df: *df,
                suite: suite.map(|(e, i, _)| (e, i)),
                nat_t: suite.is_some_and(|s| s.2),
            };
            Diagnosed {
                at: p[0].sent + super::PING_TIMEOUT,
                tunnel: tunnel as u8 + 1,
                side: "cgw",
                diagnosis: Diagnosis::from_symptom(&symptom, ctx),
            }
        })
        .collect()
}
