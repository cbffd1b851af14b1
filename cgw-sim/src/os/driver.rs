//! The OS driver: a [`TunnelGateway`] on this host's sockets and TUN
//! devices, in the calling thread's network namespace, on a tokio
//! current-thread runtime that sleeps until the gateway's next timeout.
//!
//! The gateway runs in one-interface-per-tunnel mode: tunnel `t` is TUN
//! device `tuns[t]` (its inside address and routes are the kernel's). The
//! outside interface is a UDP socket on port 500 and one on 4500 bound to
//! the local address, and a raw ESP socket ([`RawEsp`]) for ESP that is
//! not UDP-encapsulated.
//!
//! This is the only place besides `main.rs` that reads the clock.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use lab::kernel::Tun;
use tokio::io::unix::AsyncFd;
use tokio::net::UdpSocket;

use super::outer::{self, Outgoing};
use super::raw_esp::RawEsp;
use crate::node::{tunnel_iface, TunnelGateway, TunnelId, OUTSIDE};

/// Largest datagram or packet read.
const BUF: usize = 65_536;

/// What one run of the driver did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// UDP datagrams received (500 and 4500).
    pub udp_in: u64,
    /// UDP datagrams sent.
    pub udp_out: u64,
    /// Packets read from the TUN devices.
    pub tun_in: u64,
    /// Packets written to the TUN devices.
    pub tun_out: u64,
    /// Raw ESP packets received.
    pub esp_in: u64,
    /// Raw ESP packets sent.
    pub esp_out: u64,
    /// Outgoing packets that were not UDP or ESP, or did not parse.
    pub unsendable: u64,
    /// TUN writes refused because the device queue was full.
    pub tun_full: u64,
}

/// Why the driver stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A socket could not be opened or used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DriverError {
    let what = what.into();
    move |source| DriverError::Io { what, source }
}

/// Waits until `fd` is readable; never, when there is none.
async fn readable(
    fd: Option<&AsyncFd<Tun>>,
) -> std::io::Result<tokio::io::unix::AsyncFdReadyGuard<'_, Tun>> {
    match fd {
        Some(fd) => fd.readable().await,
        None => std::future::pending().await,
    }
}

/// Runs `gw` on sockets bound to `local` and on `tuns` (one per tunnel, in
/// order) for `duration`, after calling `start` on it once the sockets are
/// open (to initiate tunnels). Returns the gateway and what was carried.
/// At most two tunnels are driven.
pub fn run_for(
    mut gw: TunnelGateway,
    local: Ipv4Addr,
    tuns: Vec<Tun>,
    duration: Duration,
    start: impl FnOnce(&mut TunnelGateway, Instant),
) -> Result<(TunnelGateway, DriverStats), DriverError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(io("starting the tokio runtime"))?;
    rt.block_on(async move {
        let s500 = UdpSocket::bind(SocketAddrV4::new(local, 500))
            .await
            .map_err(io(format!("binding {local}:500")))?;
        let s4500 = UdpSocket::bind(SocketAddrV4::new(local, 4500))
            .await
            .map_err(io(format!("binding {local}:4500")))?;
        let esp = RawEsp::open(local).map_err(io(format!("opening a raw ESP socket on {local}")))?;
        // SAFETY: `RawEsp` owns its descriptor for its whole life and the
        // `AsyncFd` owns the `RawEsp`.
        let esp = unsafe { AsyncFd::register(esp) }
            .map_err(|e| e.into_parts().1)
            .map_err(io("registering the raw ESP socket"))?;
        let mut fds = Vec::new();
        for t in tuns {
            // SAFETY: a `Tun` owns its descriptor (tun-rs's device) for its
            // whole life and `as_raw_fd` always returns that one; the
            // `AsyncFd` owns the `Tun`, so the descriptor outlives the
            // registration.
            let fd = unsafe { AsyncFd::register(t) }
                .map_err(|e| e.into_parts().1)
                .map_err(io("registering a TUN device"))?;
            fds.push(fd);
        }
        let mut stats = DriverStats::default();
        let end = Instant::now() + duration;
        start(&mut gw, Instant::now());
        let mut buf = vec![0u8; BUF];
        let mut buf2 = vec![0u8; BUF];
        let mut tbuf = vec![0u8; BUF];
        loop {
            flush(&mut gw, &s500, &s4500, esp.get_ref(), &fds, &mut stats).await;
            let now = Instant::now();
            if now >= end {
                break;
            }
            let wake = lab::Node::poll_timeout(&gw)
                .map_or(end, |t| t.min(end))
                .max(now);
            tokio::select! {
                r = s500.recv_from(&mut buf) => {
                    let (n, from) = r.map_err(io("receiving on port 500"))?;
                    stats.udp_in += 1;
                    received(&mut gw, from, SocketAddrV4::new(local, 500), &buf[..n]);
                }
                r = s4500.recv_from(&mut buf2) => {
                    let (n, from) = r.map_err(io("receiving on port 4500"))?;
                    stats.udp_in += 1;
                    received(&mut gw, from, SocketAddrV4::new(local, 4500), &buf2[..n]);
                }
                g = esp.readable() => {
                    let mut g = g.map_err(io("waiting on the raw ESP socket"))?;
                    // Bounded: a flood cannot starve the other sources.
                    for _ in 0..256 {
                        match g.get_inner().recv(&mut tbuf) {
                            Ok(n) => {
                                stats.esp_in += 1;
                                lab::Node::handle_packet(&mut gw, Instant::now(), OUTSIDE, &tbuf[..n]);
                            }
                            Err(_) => break,
                        }
                    }
                    g.clear_ready();
                }
                g = readable(fds.first()) => {
                    let mut g = g.map_err(io("waiting on TUN 1"))?;
                    drain_tun(&mut gw, g.get_inner(), TunnelId(0), &mut tbuf, &mut stats);
                    g.clear_ready();
                }
                g = readable(fds.get(1)) => {
                    let mut g = g.map_err(io("waiting on TUN 2"))?;
                    drain_tun(&mut gw, g.get_inner(), TunnelId(1), &mut tbuf, &mut stats);
                    g.clear_ready();
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    lab::Node::handle_timeout(&mut gw, Instant::now());
                }
            }
        }
        Ok((gw, stats))
    })
}

/// A datagram from `from` to our `to`: into the gateway's outside interface.
fn received(gw: &mut TunnelGateway, from: SocketAddr, to: SocketAddrV4, payload: &[u8]) {
    let SocketAddr::V4(from) = from else {
        return;
    };
    if let Ok(p) = outer::udp_received(from, to, payload) {
        lab::Node::handle_packet(gw, Instant::now(), OUTSIDE, &p);
    }
}

/// Every packet waiting on `tun` into tunnel `t`.
fn drain_tun(
    gw: &mut TunnelGateway,
    tun: &Tun,
    t: TunnelId,
    buf: &mut [u8],
    stats: &mut DriverStats,
) {
    // Bounded: a flood cannot starve the sockets.
    for _ in 0..256 {
        match tun.recv(buf) {
            Ok(Some(n)) => {
                stats.tun_in += 1;
                lab::Node::handle_packet(gw, Instant::now(), tunnel_iface(t), &buf[..n]);
            }
            _ => break,
        }
    }
}

/// Sends what the gateway has to send.
async fn flush(
    gw: &mut TunnelGateway,
    s500: &UdpSocket,
    s4500: &UdpSocket,
    esp: &RawEsp,
    tuns: &[AsyncFd<Tun>],
    stats: &mut DriverStats,
) {
    while let Some((iface, p)) = lab::Node::poll_transmit(gw) {
        if iface == OUTSIDE {
            match outer::outgoing(&p) {
                Ok(Outgoing::Udp { src, dst, payload }) => {
                    let sock = if src.port() == 500 { s500 } else { s4500 };
                    if sock.send_to(payload, dst).await.is_ok() {
                        stats.udp_out += 1;
                    } else {
                        stats.unsendable += 1;
                    }
                }
                Ok(Outgoing::Esp { dst, payload, .. }) => {
                    if esp.send_to(payload, dst).is_ok() {
                        stats.esp_out += 1;
                    } else {
                        stats.unsendable += 1;
                    }
                }
                Err(_) => stats.unsendable += 1,
            }
            continue;
        }
        let t = usize::from(iface.0.saturating_sub(3));
        match tuns.get(t).map(|fd| fd.get_ref().send(&p)) {
            Some(Ok(true)) => stats.tun_out += 1,
            Some(Ok(false)) => stats.tun_full += 1,
            _ => stats.unsendable += 1,
        }
    }
}
