//! The `bgp_session` fuzz target's setup, input layout and invariants,
//! shared with its seed generator (`bgp/tests/session_fuzz_seeds.rs`
//! includes this file with `#[path]` and runs every seed through [`run`]).
//!
//! A CGW session (AS 65000, AWS timers) is brought to OpenSent, or to
//! Established against a genuine AWS OPEN and KEEPALIVE, then fed:
//!
//! ```text
//! flags (1) | op | op | ...
//! op kind (1), then by kind % 4:
//!   0  len (1) | bytes (len)   stream bytes, any chunking (handle_bytes)
//!   1  ms (2, BE)              the clock moves ms * 16 ms (up to 17 min),
//!                              then handle_timeout if something is due
//!   2  ctl (1)                 a driver or owner call, ctl % 10: connected,
//!                              closed, connection failed, start, stop,
//!                              send an UPDATE, send a ROUTE-REFRESH,
//!                              notify_and_close (Cease 6/1), jump to the
//!                              next deadline, a genuine KEEPALIVE
//!   3  len (1) | body (len)    a message with a valid header (marker,
//!                              length 19 + len) and type kind >> 2
//! ```
//!
//! flags: bit 0 Established first (else OpenSent); bit 1 the peer
//! proposes hold time 0 (else 90); bit 2 our 4-octet AS off; bit 3 IPv6
//! unicast offered by both; bit 4 automatic restart after 5 s; bit 5
//! passive.
//!
//! Invariants, checked after every op: no panic; at most
//! [`MAX_TX_PER_OP`] bytes written per op, always whole messages (marker,
//! length 19..=4096); no bytes written by a session that held no
//! connection during the op; `StateChanged` events chain (each `from` is
//! the previous `to`, the last `to` is `state()`); after `handle_timeout`
//! nothing is due any more; no more messages received than whole headers
//! fed.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp::route::{IpNet, PathAttributes};
use bgp::session::{Family, Session, SessionConfig, SessionEvent, State};
use bgp::wire::{Context, Message, Notification, Update, HEADER_LEN, MAX_MESSAGE_LEN};

/// The most bytes one op may make the session write: a KEEPALIVE, a
/// NOTIFICATION of at most one message, an UPDATE we asked for, with room.
pub const MAX_TX_PER_OP: usize = 3 * MAX_MESSAGE_LEN;

/// Flag bits.
pub const ESTABLISHED: u8 = 1;
/// The peer proposes hold time 0.
pub const PEER_HOLD_ZERO: u8 = 2;
/// Our 4-octet AS capability off.
pub const NO_FOUR_OCTET: u8 = 4;
/// Both offer IPv6 unicast too.
pub const IPV6: u8 = 8;
/// Automatic restart after 5 s.
pub const RESTART: u8 = 16;
/// Our session is passive.
pub const PASSIVE: u8 = 32;

/// Our (the CGW's) configuration for `flags`.
pub fn cgw_config(flags: u8) -> SessionConfig {
    let mut c = SessionConfig::new(65000, 64512, Ipv4Addr::new(169, 254, 15, 194));
    c.four_octet_as = flags & NO_FOUR_OCTET == 0;
    if flags & IPV6 != 0 {
        c.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
    }
    c.restart_time = (flags & RESTART != 0).then_some(Duration::from_secs(5));
    c.passive = flags & PASSIVE != 0;
    c
}

/// The peer's (AWS's) configuration for `flags`.
pub fn aws_config(flags: u8) -> SessionConfig {
    let mut c = SessionConfig::new(64512, 65000, Ipv4Addr::new(169, 254, 15, 193));
    c.hold_time = if flags & PEER_HOLD_ZERO != 0 { 0 } else { 90 };
    if flags & IPV6 != 0 {
        c.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
    }
    c
}

/// The peer's OPEN as its own session sends it.
pub fn peer_open(flags: u8, now: Instant) -> Vec<u8> {
    let mut s = Session::new(aws_config(flags)).expect("valid config");
    s.start(now);
    s.handle_connected(now);
    s.poll_transmit().expect("OPEN")
}

/// A KEEPALIVE.
pub fn keepalive() -> Vec<u8> {
    Message::Keepalive.to_bytes(&Context::default())
}

/// An UPDATE announcing one /24 (10.i.i.0/24) from the CGW.
pub fn update(i: u8) -> Update {
    let p: IpNet = format!("10.{i}.{i}.0/24").parse().expect("prefix");
    Update {
        withdrawn: Vec::new(),
        attributes: Some(PathAttributes::originated(IpAddr::V4(Ipv4Addr::new(
            169, 254, 15, 194,
        )))),
        announced: vec![p],
        treat_as_withdraw: false,
    }
}

/// The session under test, brought to OpenSent or Established, its output
/// drained.
pub fn setup(flags: u8, now: Instant) -> Session {
    let mut s = Session::new(cgw_config(flags)).expect("valid config");
    s.start(now);
    s.handle_connected(now);
    if flags & ESTABLISHED != 0 {
        let mut b = peer_open(flags, now);
        b.extend(keepalive());
        s.handle_bytes(now, &b);
        assert_eq!(s.state(), State::Established, "setup");
    } else {
        assert_eq!(s.state(), State::OpenSent, "setup");
    }
    while s.poll_transmit().is_some() {}
    while s.poll_action().is_some() {}
    while s.poll_event().is_some() {}
    s
}

/// One step of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// Stream bytes.
    Bytes(&'a [u8]),
    /// Move the clock.
    Step(Duration),
    /// A driver or owner call (ctl % 10).
    Control(u8),
    /// A message with a valid header: type, body.
    Framed(u8, &'a [u8]),
}

/// The ops of an input (after the flags byte); a truncated op ends it.
pub fn ops(mut data: &[u8]) -> Vec<Op<'_>> {
    let mut out = Vec::new();
    while let Some((&kind, rest)) = data.split_first() {
        data = rest;
        match kind % 4 {
            0 | 3 => {
                let Some((&len, rest)) = data.split_first() else {
                    break;
                };
                let Some(bytes) = rest.get(..usize::from(len)) else {
                    break;
                };
                data = &rest[usize::from(len)..];
                out.push(if kind % 4 == 0 {
                    Op::Bytes(bytes)
                } else {
                    Op::Framed(kind >> 2, bytes)
                });
            }
            1 => {
                let Some((ms, rest)) = data.split_first_chunk::<2>() else {
                    break;
                };
                data = rest;
                out.push(Op::Step(Duration::from_millis(
                    u64::from(u16::from_be_bytes(*ms)) * 16,
                )));
            }
            _ => {
                let Some((&ctl, rest)) = data.split_first() else {
                    break;
                };
                data = rest;
                out.push(Op::Control(ctl));
            }
        }
    }
    out
}

/// Encodes ops as input bytes (for the seed generator).
pub fn encode(flags: u8, ops: &[Op<'_>]) -> Vec<u8> {
    let mut out = vec![flags];
    for op in ops {
        match op {
            Op::Bytes(b) => {
                for chunk in b.chunks(255) {
                    out.push(0);
                    out.push(chunk.len() as u8);
                    out.extend_from_slice(chunk);
                }
            }
            Op::Step(d) => {
                let units = (d.as_millis() / 16).min(u128::from(u16::MAX)) as u16;
                out.push(1);
                out.extend_from_slice(&units.to_be_bytes());
            }
            Op::Control(c) => out.extend_from_slice(&[2, *c]),
            Op::Framed(t, body) => {
                out.push(3 | (t << 2));
                out.push(body.len().min(255) as u8);
                out.extend_from_slice(&body[..body.len().min(255)]);
            }
        }
    }
    out
}

/// Checks that `bytes` are whole BGP messages.
fn check_framing(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        assert!(bytes.len() >= HEADER_LEN, "a partial header written");
        assert_eq!(bytes[..16], [0xff; 16], "marker");
        let len = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        assert!(
            (HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len),
            "length {len} written"
        );
        assert!(len <= bytes.len(), "a partial message written");
        bytes = &bytes[len..];
    }
}

/// Runs one input; panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = setup(flags, now);
    let mut state = s.state();
    let mut fed = 0usize;
    let received_before = s.stats().messages_received;
    for op in ops(rest) {
        let connected_before = s.state().is_connected();
        let mut connects = false;
        match op {
            Op::Bytes(b) => {
                fed += b.len();
                s.handle_bytes(now, b);
            }
            Op::Framed(t, body) => {
                let mut m = vec![0xff; 16];
                m.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
                m.push(t);
                m.extend_from_slice(body);
                fed += m.len();
                s.handle_bytes(now, &m);
            }
            Op::Step(d) => {
                now += d;
                if s.poll_timeout().is_some_and(|t| t <= now) {
                    s.handle_timeout(now);
                }
            }
            Op::Control(c) => match c % 10 {
                0 => {
                    connects = true;
                    s.handle_connected(now);
                }
                1 => s.handle_closed(now),
                2 => s.handle_connection_failed(now),
                3 => s.start(now),
                4 => s.stop(now),
                5 => {
                    let r = s.send_update(update(c));
                    assert_eq!(r.is_ok(), s.state() == State::Established);
                }
                6 => {
                    let r = s.send_route_refresh(Family::Ipv4Unicast);
                    assert_eq!(r.is_ok(), s.state() == State::Established);
                }
                7 => s.notify_and_close(now, Notification::max_prefixes(1, 1, 100)),
                8 => {
                    if let Some(t) = s.poll_timeout() {
                        now = now.max(t);
                        s.handle_timeout(now);
                    }
                }
                _ => {
                    let k = keepalive();
                    fed += k.len();
                    s.handle_bytes(now, &k);
                }
            },
        }
        // Nothing due is left behind.
        if let Some(t) = s.poll_timeout() {
            if matches!(op, Op::Step(_) | Op::Control(8)) {
                assert!(
                    t > now,
                    "a timer due at {:?} left after handle_timeout",
                    t - t0
                );
            }
        }
        let mut written = 0;
        while let Some(tx) = s.poll_transmit() {
            check_framing(&tx);
            written += tx.len();
        }
        assert!(
            written <= MAX_TX_PER_OP,
            "{written} bytes written in one op"
        );
        if written > 0 {
            assert!(
                connected_before || connects || s.state().is_connected(),
                "bytes written without a connection"
            );
        }
        while s.poll_action().is_some() {}
        while let Some(e) = s.poll_event() {
            if let SessionEvent::StateChanged { from, to } = e {
                assert_eq!(from, state, "StateChanged from a state we were not in");
                assert_ne!(from, to);
                state = to;
            }
        }
        assert_eq!(state, s.state(), "a state change not reported");
        let received = s.stats().messages_received - received_before;
        assert!(
            received as usize <= fed / HEADER_LEN,
            "more messages than headers"
        );
    }
}
