//! An IP SLA-style prober, sans-IO: the operations a network engineer
//! configures on a router to watch a path (Cisco's IP SLA icmp-echo,
//! udp-echo, udp-jitter and tcp-connect), with their statistics, voice
//! quality estimates, tracking and reactions. Nothing here reads a clock or
//! touches a socket: the [`engine::Prober`] takes `now`, says which probe
//! to send next ([`engine::Prober::poll_probe`]) and when it next wants to
//! be woken ([`engine::Prober::poll_timeout`]), and is told what came back
//! ([`engine::Prober::handle_reply`]). The simulated lab drives it on a
//! virtual clock; `cgw-sim sla` and `cgw-sim run` drive it on real sockets.
//!
//! - [`config`]: operations, thresholds, tracks and reactions, validated.
//! - [`stats`]: RTT, jitter (RFC 3550 and IP SLA's positive/negative),
//!   loss, order, and the E-model's MOS and ICPIF for G.711 and G.729.
//! - [`track`]: a track's up/down state with delays.
//! - [`reaction`]: threshold reactions (immediate, consecutive, X of Y,
//!   average of N).
//! - [`wire`]: the udp-echo/udp-jitter probe and reply datagrams.
//! - [`responder`]: the reflector that timestamps udp-jitter replies.
//! - [`engine`]: the prober tying them together.

#![warn(missing_docs)]

pub mod config;
pub mod engine;
pub mod reaction;
pub mod responder;
pub mod stats;
pub mod track;
pub mod wire;
