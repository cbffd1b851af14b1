//! One gateway's I/O on a host: a UDP socket on port 500 and one on 4500
//! bound to the gateway's outside address, a raw ESP socket ([`RawEsp`])
//! for ESP that is not UDP-encapsulated, and up to two TUN devices (one
//! per tunnel, [`crate::node::TunnelGateway::use_tunnel_interfaces`]).
//!
//! [`SiteIo::ready`] waits until one of them is readable without touching
//! the gateway, so an event loop can wait on several sites, BGP sockets and
//! timers at once and hand the gateway over only to [`SiteIo::drain`].
//! Sends are non-blocking: a full socket or device queue drops the packet
//! and counts it, as a router's interface queue would. UDP goes many
//! datagrams per system call ([`super::udp_batch`]): `recvmmsg` with GRO
//! runs on receive, and what one pass of the loop sends on port 4500 leaves
//! in one `sendmmsg` with GSO runs.

use std::cell::RefCell;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Instant;

use lab::kernel::{Tun, TunRecv, TunSend};
use tokio::io::unix::{AsyncFd, AsyncFdReadyGuard};
use tokio::net::UdpSocket;

use super::raw_esp::RawEsp;
use super::udp_batch::{self, RecvBatch, SendQueue};
use crate::node::Transmit;
use crate::node::{tunnel_iface, TunnelGateway, TunnelId, OUTSIDE};

/// Largest datagram or packet read.
pub const BUF: usize = 65_536;

/// Packets read from one source per wake-up, so a flood on one cannot
/// starve the others.
const BATCH: usize = 256;

/// What the host's I/O carried (cumulative).
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
    /// Outgoing packets that were not UDP or ESP, did not parse, or whose
    /// send failed.
    pub unsendable: u64,
    /// Packets dropped because a socket's or a TUN device's queue was full
    /// (for a batch of TUN writes: at least one, tun-rs tells no more).
    pub queue_full: u64,
}

impl DriverStats {
    /// The counters by name (for status and metrics).
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("udp_in", self.udp_in),
            ("udp_out", self.udp_out),
            ("tun_in", self.tun_in),
            ("tun_out", self.tun_out),
            ("esp_in", self.esp_in),
            ("esp_out", self.esp_out),
            ("unsendable", self.unsendable),
            ("queue_full", self.queue_full),
        ]
    }
}

/// An I/O error with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct IoError {
    /// What was being done.
    pub what: String,
    /// The OS error.
    pub source: io::Error,
}

/// Wraps an `io::Error` with what was being done.
pub fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> IoError {
    let what = what.into();
    move |source| IoError { what, source }
}

/// Which source of a site is readable.
pub enum Ready<'a> {
    /// The port 500 socket.
    Udp500,
    /// The port 4500 socket.
    Udp4500,
    /// The raw ESP socket.
    Esp(AsyncFdReadyGuard<'a, RawEsp>),
    /// Tunnel `n`'s TUN device.
    Tun(usize, AsyncFdReadyGuard<'a, Tun>),
}

/// One gateway's sockets and TUN devices. See the module documentation.
pub struct SiteIo {
    local: Ipv4Addr,
    s500: UdpSocket,
    s4500: UdpSocket,
    esp: AsyncFd<RawEsp>,
    tuns: Vec<AsyncFd<Tun>>,
    /// Buffers for receiving on either UDP socket, many datagrams a call.
    udp_rx: RefCell<RecvBatch>,
    /// What [`SiteIo::flush`] sends on port 4500 (ESP and IKE), in one
    /// `sendmmsg` with GSO runs.
    tx4500: RefCell<SendQueue>,
    /// Buffers for reading either TUN device.
    tun_rx: RefCell<TunRecv>,
    /// What [`SiteIo::flush`] writes to each TUN device, together.
    tun_tx: RefCell<Vec<TunSend>>,
}

/// Waits until `fd` is readable; never, when there is none.
async fn readable(fd: Option<&AsyncFd<Tun>>) -> io::Result<AsyncFdReadyGuard<'_, Tun>> {
    match fd {
        Some(fd) => fd.readable().await,
        None => std::future::pending().await,
    }
}

impl SiteIo {
    /// Opens the sockets on `local` and registers `tuns` (tunnel 1's,
    /// tunnel 2's; at most two). Must run inside a tokio runtime.
    pub async fn open(local: Ipv4Addr, tuns: Vec<Tun>) -> Result<SiteIo, IoError> {
        if tuns.len() > 2 {
            return Err(IoError {
                what: format!("{} TUN devices for one gateway", tuns.len()),
                source: io::Error::new(io::ErrorKind::InvalidInput, "at most two"),
            });
        }
        let s500 = UdpSocket::bind(SocketAddrV4::new(local, 500))
            .await
            .map_err(io_err(format!("binding {local}:500")))?;
        let s4500 = UdpSocket::bind(SocketAddrV4::new(local, 4500))
            .await
            .map_err(io_err(format!("binding {local}:4500")))?;
        for (s, port) in [(&s500, 500), (&s4500, 4500)] {
            super::sockbuf::grow(s).map_err(io_err(format!("sizing {local}:{port}'s buffers")))?;
        }
        // Runs of ESP datagrams handed over at once where the kernel can
        // (Linux 5.0+); without, datagrams come one by one, also handled.
        let _ = udp_batch::enable_gro(&s4500);
        let esp =
            RawEsp::open(local).map_err(io_err(format!("opening a raw ESP socket on {local}")))?;
        // SAFETY: `RawEsp` owns its descriptor for its whole life and the
        // `AsyncFd` owns the `RawEsp`.
        let esp = unsafe { AsyncFd::register(esp) }
            .map_err(|e| e.into_parts().1)
            .map_err(io_err("registering the raw ESP socket"))?;
        let mut fds = Vec::new();
        for t in tuns {
            let name = t.name().to_string();
            // SAFETY: a `Tun` owns its descriptor (tun-rs's device) for its
            // whole life and `as_raw_fd` always returns that one; the
            // `AsyncFd` owns the `Tun`, so the descriptor outlives the
            // registration.
            let fd = unsafe { AsyncFd::register(t) }
                .map_err(|e| e.into_parts().1)
                .map_err(io_err(format!("registering TUN {name}")))?;
            fds.push(fd);
        }
        Ok(SiteIo {
            local,
            s500,
            s4500,
            esp,
            udp_rx: RefCell::new(RecvBatch::new()),
            tx4500: RefCell::new(SendQueue::default()),
            tun_rx: RefCell::new(TunRecv::default()),
            tun_tx: RefCell::new(fds.iter().map(|_| TunSend::default()).collect()),
            tuns: fds,
        })
    }

    /// The outside address.
    pub fn local(&self) -> Ipv4Addr {
        self.local
    }

    /// Tunnel `t`'s TUN device.
    pub fn tun(&self, t: usize) -> Option<&Tun> {
        self.tuns.get(t).map(AsyncFd::get_ref)
    }

    /// Waits until a source is readable.
    pub async fn ready(&self) -> Result<Ready<'_>, IoError> {
        tokio::select! {
            r = self.s500.readable() => r.map(|()| Ready::Udp500).map_err(io_err("waiting on port 500")),
            r = self.s4500.readable() => r.map(|()| Ready::Udp4500).map_err(io_err("waiting on port 4500")),
            g = self.esp.readable() => g.map(Ready::Esp).map_err(io_err("waiting on the raw ESP socket")),
            g = readable(self.tuns.first()) => g.map(|g| Ready::Tun(0, g)).map_err(io_err("waiting on TUN 1")),
            g = readable(self.tuns.get(1)) => g.map(|g| Ready::Tun(1, g)).map_err(io_err("waiting on TUN 2")),
        }
    }

    /// Reads what `ready` found into `gw` (a bounded batch). The batch
    /// shares one reading of the clock: it lasts a few milliseconds at
    /// most, and the engines' timers are hundreds of milliseconds and up.
    pub fn drain(
        &self,
        ready: Ready<'_>,
        gw: &mut TunnelGateway,
        buf: &mut [u8],
        stats: &mut DriverStats,
    ) {
        let now = Instant::now();
        match ready {
            Ready::Udp500 => self.drain_udp(&self.s500, 500, gw, stats, now),
            Ready::Udp4500 => self.drain_udp(&self.s4500, 4500, gw, stats, now),
            Ready::Esp(mut g) => {
                for _ in 0..BATCH {
                    match g.try_io(|fd| fd.get_ref().recv(buf)) {
                        Ok(Ok(n)) => {
                            stats.esp_in += 1;
                            lab::Node::handle_packet(gw, now, OUTSIDE, &buf[..n]);
                        }
                        // Would block: readiness cleared by `try_io`.
                        Err(_) | Ok(Err(_)) => break,
                    }
                }
            }
            Ready::Tun(t, mut g) => {
                let iface = tunnel_iface(TunnelId(t));
                let mut rx = self.tun_rx.borrow_mut();
                let mut budget = BATCH;
                while budget > 0 {
                    match g.get_inner().recv_many(&mut rx) {
                        Ok(Some(n)) => {
                            for i in 0..n {
                                stats.tun_in += 1;
                                lab::Node::handle_packet(gw, now, iface, rx.packet(i));
                            }
                            budget = budget.saturating_sub(n.max(1));
                        }
                        Ok(None) => {
                            g.clear_ready();
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
        }
    }

    fn drain_udp(
        &self,
        sock: &UdpSocket,
        port: u16,
        gw: &mut TunnelGateway,
        stats: &mut DriverStats,
        now: Instant,
    ) {
        let to = SocketAddrV4::new(self.local, port);
        let mut rx = self.udp_rx.borrow_mut();
        let mut budget = BATCH;
        while budget > 0 {
            // WouldBlock (`try_io` clears tokio's readiness) or an error
            // such as an ICMP port unreachable reported on the socket.
            let n = match sock.try_io(tokio::io::Interest::READABLE, || rx.recv(sock)) {
                Ok(n) => n,
                Err(_) => break,
            };
            for i in 0..n {
                let Some((from, run, seg)) = rx.get(i) else {
                    break;
                };
                for d in udp_batch::segments(run, seg) {
                    stats.udp_in += 1;
                    budget = budget.saturating_sub(1);
                    gw.handle_datagram(now, to, from, d);
                }
            }
        }
    }

    /// Sends everything the gateway has to send, without waiting.
    pub fn flush(&self, gw: &mut TunnelGateway, stats: &mut DriverStats) {
        let mut tx4500 = self.tx4500.borrow_mut();
        let mut tun_tx = self.tun_tx.borrow_mut();
        while let Some(t) = gw.poll_outgoing() {
            let sent = match t {
                Transmit::Datagram { src, dst, payload } if src.port() != 500 => {
                    tx4500.push(dst, payload);
                    Ok(())
                }
                // Straight to the kernel: tokio's try_send_to reports
                // WouldBlock until its reactor has seen the socket writable
                // once, which dropped each tunnel's first IKE_SA_INIT (sent
                // before the loop's first await) and cost a 2 s retransmit
                // at every start.
                Transmit::Datagram { dst, payload, .. } => socket2::SockRef::from(&self.s500)
                    .send_to(payload, &SocketAddr::V4(dst).into())
                    .map(|_| stats.udp_out += 1),
                Transmit::Esp { dst, payload, .. } => self
                    .esp
                    .get_ref()
                    .send_to(payload, dst)
                    .map(|_| stats.esp_out += 1),
                // The gateway queues what leaves by a socket as a datagram
                // or ESP; a whole packet on the outside (its answer to an
                // outer ping) has no socket to go to.
                Transmit::Packet { iface, .. } if iface == OUTSIDE => {
                    Err(io::Error::from(io::ErrorKind::InvalidData))
                }
                Transmit::Packet { iface, packet } => {
                    let t = usize::from(iface.0.saturating_sub(3));
                    match tun_tx.get_mut(t) {
                        Some(q) => q.push(packet),
                        None => stats.unsendable += 1,
                    }
                    continue;
                }
            };
            match sent {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => stats.queue_full += 1,
                Err(_) => stats.unsendable += 1,
            }
        }
        for (t, q) in tun_tx.iter_mut().enumerate() {
            let n = q.len() as u64;
            match self.tun(t).map(|tun| tun.send_many(q)) {
                Some(Ok(true)) => stats.tun_out += n,
                // tun-rs tells that some write failed, not how many.
                Some(Ok(false)) => {
                    stats.tun_out += n.saturating_sub(1);
                    stats.queue_full += 1;
                }
                _ => stats.unsendable += n,
            }
        }
        // Straight to the kernel, as for port 500 (see above).
        let sent = tx4500.flush(&self.s4500);
        stats.udp_out += sent.sent;
        stats.queue_full += sent.queue_full;
        stats.unsendable += sent.failed;
    }
}
