//! Our IKE/ESP engine on real UDP sockets (ports 500 and 4500) inside a
//! network namespace: the glue between the sans-IO `ike::sa::Endpoint` and
//! the kernel, for interop tests. Every loop is bounded by a deadline.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::esp::{InboundSa, OutboundSa};
use ike::sa::{ChildSaInfo, DeleteError, Endpoint, Event, IkeConfig, Received, SaId, Transmit};

use crate::icmp;
use crate::tshark::{EspSaRow, IkeSaRow, KeyFiles};

/// The engine with its two sockets.
pub struct UdpEngine {
    /// The sans-IO endpoint.
    pub endpoint: Endpoint,
    s500: UdpSocket,
    s4500: UdpSocket,
    local: Ipv4Addr,
    /// Every event so far, in order.
    pub events: Vec<(SaId, Event)>,
    /// Installed child SAs with their ESP state.
    pub children: Vec<(ChildSaInfo, OutboundSa, InboundSa)>,
    /// Inner packets received through ESP (already opened).
    pub received: Vec<Vec<u8>>,
    /// Answer ICMP echo requests to this inside address through the tunnel.
    pub answer_pings_on: Option<Ipv4Addr>,
    /// ESP packets that did not open (by error text).
    pub esp_errors: Vec<String>,
    /// Every IKE datagram the endpoint sent, with when.
    pub sent: Vec<(Instant, Transmit)>,
    /// When each event was taken from the endpoint (parallel to `events`).
    pub event_times: Vec<Instant>,
    /// Inbound halves of deleted child SAs, kept for a few seconds.
    retired: Vec<(Instant, u32, InboundSa)>,
}

impl UdpEngine {
    /// Binds `local`:500 and `local`:4500. Call on a thread inside the
    /// namespace (see `Netns::run_in` / `spawn_in`).
    pub fn bind(local: Ipv4Addr, responder: Option<IkeConfig>) -> std::io::Result<UdpEngine> {
        let s500 = UdpSocket::bind((local, 500))?;
        let s4500 = UdpSocket::bind((local, 4500))?;
        s500.set_nonblocking(true)?;
        s4500.set_nonblocking(true)?;
        Ok(UdpEngine {
            endpoint: Endpoint::new(responder.map(Arc::new), [42; 32]),
            s500,
            s4500,
            local,
            events: Vec::new(),
            children: Vec::new(),
            received: Vec::new(),
            answer_pings_on: None,
            esp_errors: Vec::new(),
            sent: Vec::new(),
            event_times: Vec::new(),
            retired: Vec::new(),
        })
    }

    /// Starts an IKE SA to `remote`:500.
    pub fn initiate(&mut self, config: IkeConfig, remote: Ipv4Addr) -> SaId {
        let local = SocketAddr::new(IpAddr::V4(self.local), 500);
        let remote = SocketAddr::new(IpAddr::V4(remote), 500);
        self.endpoint
            .initiate(Arc::new(config), local, remote, Instant::now())
    }

    fn flush(&mut self) {
        while let Some(t) = self.endpoint.poll_transmit() {
            let sock = if t.local.port() == 4500 {
                &self.s4500
            } else {
                &self.s500
            };
            let _ = sock.send_to(&t.payload, t.remote);
            self.sent.push((Instant::now(), t));
        }
        while let Some((id, e)) = self.endpoint.poll_event() {
            match &e {
                Event::ChildSaInstalled(c) => {
                    let out = c.outbound_sa([7; 32]).expect("negotiated suites build");
                    let inb = c.inbound_sa(1024).expect("negotiated suites build");
                    self.children.push((c.clone(), out, inb));
                }
                Event::ChildSaDeleted { spi_in, .. } => {
                    // Stop sending on it now; keep its inbound half a little
                    // for packets still in flight.
                    if let Some(i) = self
                        .children
                        .iter()
                        .position(|(c, _, _)| c.spi_in == *spi_in)
                    {
                        let (c, _, inb) = self.children.remove(i);
                        self.retired.push((Instant::now(), c.spi_in, inb));
                    }
                }
                _ => {}
            }
            self.events.push((id, e));
            self.event_times.push(Instant::now());
        }
    }

    fn on_esp(&mut self, packet: &[u8]) {
        let spi = ike::esp::spi_of(packet);
        self.retired
            .retain(|(t, _, _)| t.elapsed() < Duration::from_secs(5));
        let mut buf = packet.to_vec();
        let live = self
            .children
            .iter()
            .position(|(c, _, _)| Some(c.spi_in) == spi);
        let opened = match live {
            Some(i) => self.children[i].2.open(&mut buf).map(|o| o.inner.to_vec()),
            None => match self.retired.iter_mut().find(|(_, s, _)| Some(*s) == spi) {
                Some((_, _, inb)) => inb.open(&mut buf).map(|o| o.inner.to_vec()),
                None => {
                    self.esp_errors.push(format!("unknown SPI {spi:?}"));
                    return;
                }
            },
        };
        // Replies go out on the newest pair.
        let i = self.children.len().saturating_sub(1);
        let inner = match opened {
            Ok(inner) => inner,
            Err(e) => {
                self.esp_errors.push(e.to_string());
                return;
            }
        };
        // Authenticated ESP from the peer: it is alive (DPD need not probe).
        if let Some(spi_in) = spi {
            self.endpoint.note_inbound_esp(Instant::now(), spi_in);
        }
        if let (Some(me), Some(e)) = (self.answer_pings_on, icmp::parse_echo(&inner)) {
            if e.kind == 8 && e.dst == me {
                let reply = icmp::echo(me, e.src, 0, e.id, e.seq, &e.payload);
                self.send_inner(i, &reply);
            }
        }
        self.received.push(inner);
    }

    /// Seals `inner` on child `i`'s outbound SA and sends it (in UDP 4500
    /// when encapsulated; this harness has no raw ESP socket, so an
    /// unencapsulated SA cannot send).
    pub fn send_inner(&mut self, i: usize, inner: &[u8]) {
        let (c, out, _) = &mut self.children[i];
        let Some((_, remote)) = c.encapsulation else {
            panic!("child SA is not UDP-encapsulated; the kernel here has no ESP, so the test needs NAT-T");
        };
        let mut pkt = Vec::with_capacity(inner.len() + 64);
        out.seal(4, inner, &mut pkt).expect("sequence space left");
        let _ = self.s4500.send_to(&pkt, remote);
        // Traffic to the peer: no NAT keepalive is due for a while.
        let spi_in = c.spi_in;
        if let Some(id) = self.endpoint.sa_of_child(spi_in) {
            self.endpoint.note_traffic_sent(id, Instant::now());
        }
    }

    /// Runs the engine until `done` says so or `timeout` passes; returns
    /// whether `done` was reached.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&UdpEngine) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            self.flush();
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let mut got = false;
            for port in [500u16, 4500] {
                let sock = if port == 500 { &self.s500 } else { &self.s4500 };
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        got = true;
                        let local = SocketAddr::new(IpAddr::V4(self.local), port);
                        let data = buf[..n].to_vec();
                        if let Received::Esp(p) =
                            self.endpoint
                                .handle_datagram(Instant::now(), local, from, &data)
                        {
                            let p = p.to_vec();
                            self.on_esp(&p);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("recv on {port}: {e}"),
                }
            }
            self.endpoint.handle_timeout(Instant::now());
            if !got {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Deletes IKE SA `id` and its child (INFORMATIONAL Delete); drive
    /// [`UdpEngine::run_until`] for the exchange.
    pub fn delete_ike(&mut self, id: SaId) -> Result<(), DeleteError> {
        match self.endpoint.sa_mut(id) {
            Some(sa) => sa.delete_ike(Instant::now()),
            None => Err(DeleteError::NotEstablished),
        }
    }

    /// Deletes the child SA with inbound SPI `spi_in` of IKE SA `id`.
    pub fn delete_child(&mut self, id: SaId, spi_in: u32) -> Result<(), DeleteError> {
        match self.endpoint.sa_mut(id) {
            Some(sa) => sa.delete_child(Instant::now(), spi_in),
            None => Err(DeleteError::NotEstablished),
        }
    }

    /// Events with the time each was taken from the endpoint.
    pub fn timed_events(&self) -> impl Iterator<Item = (Instant, &Event)> {
        self.event_times
            .iter()
            .copied()
            .zip(self.events.iter().map(|(_, e)| e))
    }

    /// The first child SA's info, if one was installed.
    pub fn child(&self) -> Option<&ChildSaInfo> {
        self.children.first().map(|(c, _, _)| c)
    }

    /// The newest live child SA's info (the one we send on).
    pub fn newest_child(&self) -> Option<&ChildSaInfo> {
        self.children.last().map(|(c, _, _)| c)
    }

    /// Sends on the newest live child SA.
    pub fn send_newest(&mut self, inner: &[u8]) {
        let i = self
            .children
            .len()
            .checked_sub(1)
            .expect("a child SA is installed");
        self.send_inner(i, inner);
    }

    /// The live IKE SA's id (panics unless exactly one is established).
    pub fn live_sa(&self) -> SaId {
        let live: Vec<SaId> = self
            .endpoint
            .sas()
            .filter(|(_, s)| s.state() == ike::sa::State::Established && !s.is_closed())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(live.len(), 1, "established IKE SAs: {live:?}");
        live[0]
    }

    /// Wireshark key files for every IKE SA and child SA we hold, ESP rows
    /// between the outer addresses `local` and `remote` (as a capture sees
    /// them). Keys leave the engine only here, for tests that decrypt.
    pub fn key_files(&self, local: Ipv4Addr, remote: Ipv4Addr) -> KeyFiles {
        let mut k = KeyFiles::default();
        for (_, sa) in self.endpoint.sas() {
            if let Some(r) = sa.export_keys_for_wireshark() {
                k.ike.push(IkeSaRow {
                    spi_i: r.spi_i,
                    spi_r: r.spi_r,
                    sk_ei: r.sk_ei,
                    sk_er: r.sk_er,
                    encr: r.encr,
                    sk_ai: r.sk_ai,
                    sk_ar: r.sk_ar,
                    integ: r.integ,
                });
            }
        }
        for (c, _, _) in &self.children {
            for r in c.export_keys_for_wireshark(IpAddr::V4(local), IpAddr::V4(remote)) {
                k.esp.push(EspSaRow {
                    src: r.src.to_string(),
                    dst: r.dst.to_string(),
                    spi: r.spi,
                    encr: r.encr,
                    encr_key: r.encr_key,
                    integ: r.integ,
                    integ_key: r.integ_key,
                });
            }
        }
        k
    }

    /// Events without the SA id.
    pub fn event_list(&self) -> Vec<Event> {
        self.events.iter().map(|(_, e)| e.clone()).collect()
    }
}
