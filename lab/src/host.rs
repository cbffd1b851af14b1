//! A host with a real TCP/IP stack: [smoltcp] on a simulator [`Node`].
//!
//! A [`Host`] has one interface (`IfaceId(0)`) carrying raw IPv4
//! (`Medium::Ip`), one or more IPv4 addresses, a route table (directly
//! connected prefixes from its addresses, a default gateway, more routes via
//! gateways) and sockets named by [`SocketId`]: TCP (listen, connect, send,
//! receive, close) and an ICMP echo socket for [`Host::ping`]. Echo requests
//! to the host are answered by smoltcp.
//!
//! Time: smoltcp runs on its own clock, microseconds since the simulation's
//! epoch, which the host is given at construction. The host never reads the
//! real clock. Randomness (TCP initial sequence numbers) comes from
//! [`HostConfig::seed`], so a seed reproduces a run byte for byte.
//!
//! Calls that change a socket ([`Host::tcp_send`], [`Host::ping`], ...) do not
//! poll the stack at once (they are not given `now`): they make
//! [`Node::poll_timeout`] report "now", so the simulator (or the node that
//! embeds the host) calls [`Node::handle_timeout`] with the current instant.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::time::{Duration as SmolDuration, Instant as SmolInstant};
use smoltcp::wire::{
    HardwareAddress, Icmpv4Packet, Icmpv4Repr, IpAddress, IpCidr, IpListenEndpoint, Ipv4Cidr,
};

use crate::wire::{self as lwire, Ipv4Info, Prefix};
use crate::{IfaceId, Node};

/// The state of a TCP socket (smoltcp's, RFC 793 names).
pub use smoltcp::socket::tcp::State as TcpState;

/// The interface every host packet enters and leaves on.
pub const HOST_IFACE: IfaceId = IfaceId(0);

/// The ICMP identifier of the host's echo requests.
pub const PING_IDENT: u16 = 0x4353;

/// Addresses smoltcp holds per interface (the `iface-max-addr-count-4`
/// feature).
const MAX_ADDRS: usize = 4;

/// First local port of outgoing TCP connections (the IANA dynamic range).
const EPHEMERAL_FIRST: u16 = 49_152;

/// Names a socket of one [`Host`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketId(SocketHandle);

/// Why a socket call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostError {
    /// The id names no TCP socket of this host.
    NoSuchSocket,
    /// smoltcp refused to listen (port 0, or the socket is open).
    Listen,
    /// smoltcp refused to connect (no route, no source address, port 0...).
    Connect,
    /// The ICMP socket's send buffer is full, or the payload too large.
    PingBuffer,
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HostError::NoSuchSocket => "no such TCP socket",
            HostError::Listen => "cannot listen on this port",
            HostError::Connect => "cannot connect (no route or bad endpoint)",
            HostError::PingBuffer => "ICMP send buffer full or payload too large",
        })
    }
}

impl std::error::Error for HostError {}

/// How a [`Host`] is built.
#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    /// Addresses with their prefix lengths (at least one; smoltcp holds at
    /// most four).
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// Default gateway (needed to reach anything outside the addresses'
    /// prefixes).
    pub gateway: Option<Ipv4Addr>,
    /// Seed of smoltcp's random source (TCP initial sequence numbers).
    pub seed: u64,
    /// Largest IPv4 packet sent, in bytes (TCP's MSS follows from it).
    pub mtu: usize,
    /// Size of each TCP socket's send and receive buffers, in bytes.
    pub tcp_buffer: usize,
    /// A TCP connection whose peer stops acknowledging for this long is
    /// aborted (state `Closed`); `None` retransmits forever.
    pub tcp_timeout: Option<Duration>,
    /// TCP keepalive interval, if any.
    pub tcp_keepalive: Option<Duration>,
}

impl HostConfig {
    /// A host with address `addr/len`, no gateway, seed 0, MTU 1500, 64 KiB
    /// TCP buffers, TCP timeout 60 s, no keepalive.
    pub fn new(addr: Ipv4Addr, len: u8) -> Self {
        HostConfig {
            addrs: vec![(addr, len)],
            gateway: None,
            seed: 0,
            mtu: 1500,
            tcp_buffer: 64 * 1024,
            tcp_timeout: Some(Duration::from_secs(60)),
            tcp_keepalive: None,
        }
    }

    /// Sets the default gateway.
    pub fn with_gateway(mut self, gw: Ipv4Addr) -> Self {
        self.gateway = Some(gw);
        self
    }

    /// Adds an address.
    pub fn with_addr(mut self, addr: Ipv4Addr, len: u8) -> Self {
        self.addrs.push((addr, len));
        self
    }

    /// Sets the random seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// An echo reply received for one of the host's pings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingReply {
    /// Who answered.
    pub from: Ipv4Addr,
    /// The sequence number of the request.
    pub seq: u16,
    /// The payload echoed back.
    pub payload: Vec<u8>,
    /// Virtual time between sending the request and receiving the reply.
    pub rtt: Duration,
    /// When the reply arrived.
    pub at: Instant,
}

/// Counters of a [`Host`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    /// Packets handed to the host.
    pub rx_packets: u64,
    /// Bytes handed to the host.
    pub rx_bytes: u64,
    /// Packets the host sent.
    pub tx_packets: u64,
    /// Bytes the host sent.
    pub tx_bytes: u64,
    /// Received packets that were not IPv4 or not to one of our addresses
    /// (dropped before the stack).
    pub rx_dropped: u64,
    /// Received packets on an interface other than [`HOST_IFACE`].
    pub rx_wrong_iface: u64,
    /// Echo requests received (smoltcp answers them).
    pub echo_requests_received: u64,
    /// Echo requests sent by [`Host::ping`].
    pub pings_sent: u64,
    /// Echo replies to our pings received.
    pub ping_replies: u64,
    /// TCP connections opened by [`Host::tcp_connect`].
    pub tcp_connects: u64,
}

/// The smoltcp device: packets in from the simulator, packets out to it.
#[derive(Debug, Default)]
struct SimDevice {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    mtu: usize,
}

struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

struct TxToken<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl Device for SimDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _ts: SmolInstant) -> Option<(RxToken, TxToken<'_>)> {
        let p = self.rx.pop_front()?;
        Some((RxToken(p), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _ts: SmolInstant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}

/// A host with a smoltcp TCP/IP stack. See the module documentation.
pub struct Host {
    cfg: HostConfig,
    epoch: Instant,
    /// The latest instant the host was given.
    now: Instant,
    device: SimDevice,
    iface: Interface,
    sockets: SocketSet<'static>,
    icmp: SocketHandle,
    tcp: Vec<SocketHandle>,
    udp: Vec<SocketHandle>,
    next_port: u16,
    /// Sequence numbers of pings queued but not yet polled out.
    pings_queued: Vec<u16>,
    /// Sequence number -> when the request left.
    pings_sent: BTreeMap<u16, Instant>,
    replies: VecDeque<PingReply>,
    out: VecDeque<Vec<u8>>,
    /// A socket changed since the last poll: poll at the next chance.
    dirty: bool,
    /// smoltcp's next deadline, as a virtual instant.
    deadline: Option<Instant>,
    stats: HostStats,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("addrs", &self.cfg.addrs)
            .field("gateway", &self.cfg.gateway)
            .field("tcp_sockets", &self.tcp.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Host {
    /// A host whose clock starts at `epoch` (the simulation's epoch, e.g.
    /// [`Sim::epoch`](crate::Sim::epoch)). Addresses beyond smoltcp's limit
    /// of four are ignored; an address with a prefix length over 32 is
    /// taken as a /32.
    pub fn new(epoch: Instant, mut cfg: HostConfig) -> Self {
        cfg.addrs.truncate(MAX_ADDRS);
        for a in &mut cfg.addrs {
            a.1 = a.1.min(32);
        }
        let mut device = SimDevice {
            mtu: cfg.mtu.max(68),
            ..SimDevice::default()
        };
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = cfg.seed;
        let mut iface = Interface::new(config, &mut device, SmolInstant::ZERO);
        iface.update_ip_addrs(|addrs| {
            for &(a, len) in &cfg.addrs {
                let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(a, len)));
            }
        });
        if let Some(gw) = cfg.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        let mut sockets = SocketSet::new(Vec::new());
        let mut ping = icmp::Socket::new(
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 64], vec![0; 64 * 1024]),
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 64], vec![0; 64 * 1024]),
        );
        // Binding a fresh socket to an identifier cannot fail.
        let _ = ping.bind(icmp::Endpoint::Ident(PING_IDENT));
        let icmp = sockets.add(ping);
        // Spread ephemeral ports by seed, deterministically.
        let next_port = EPHEMERAL_FIRST + (cfg.seed % 1024) as u16;
        Host {
            cfg,
            epoch,
            now: epoch,
            device,
            iface,
            sockets,
            icmp,
            tcp: Vec::new(),
            udp: Vec::new(),
            next_port,
            pings_queued: Vec::new(),
            pings_sent: BTreeMap::new(),
            replies: VecDeque::new(),
            out: VecDeque::new(),
            dirty: true,
            deadline: None,
            stats: HostStats::default(),
        }
    }

    /// The host's configuration.
    pub fn config(&self) -> &HostConfig {
        &self.cfg
    }

    /// The host's first address.
    pub fn addr(&self) -> Option<Ipv4Addr> {
        self.cfg.addrs.first().map(|a| a.0)
    }

    /// Counters.
    pub fn stats(&self) -> HostStats {
        self.stats
    }

    /// Adds a route: `prefix` via `gateway` (smoltcp holds at most eight
    /// routes, the default one included). False if the table is full.
    pub fn add_route(&mut self, prefix: Prefix, gateway: Ipv4Addr) -> bool {
        let mut ok = true;
        self.iface.routes_mut().update(|r| {
            ok = r
                .push(smoltcp::iface::Route {
                    cidr: IpCidr::Ipv4(Ipv4Cidr::new(prefix.addr(), prefix.len())),
                    via_router: IpAddress::Ipv4(gateway),
                    preferred_until: None,
                    expires_at: None,
                })
                .is_ok();
        });
        self.dirty = true;
        ok
    }

    /// Sets (or with `None` removes) the default gateway.
    pub fn set_gateway(&mut self, gw: Option<Ipv4Addr>) {
        self.cfg.gateway = gw;
        let routes = self.iface.routes_mut();
        routes.remove_default_ipv4_route();
        if let Some(gw) = gw {
            let _ = routes.add_default_ipv4_route(gw);
        }
        self.dirty = true;
    }

    fn new_tcp_socket(&mut self) -> SocketHandle {
        let n = self.cfg.tcp_buffer.max(1);
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; n]),
            tcp::SocketBuffer::new(vec![0; n]),
        );
        s.set_timeout(self.cfg.tcp_timeout.map(to_smol_duration));
        s.set_keep_alive(self.cfg.tcp_keepalive.map(to_smol_duration));
        let h = self.sockets.add(s);
        self.tcp.push(h);
        h
    }

    fn tcp_socket(&mut self, id: SocketId) -> Option<&mut tcp::Socket<'static>> {
        if !self.tcp.contains(&id.0) {
            return None;
        }
        Some(self.sockets.get_mut::<tcp::Socket>(id.0))
    }

    /// Opens a TCP socket listening on `port` (any of our addresses). It
    /// becomes the connection of the first peer that connects; listen again
    /// for another.
    pub fn tcp_listen(&mut self, port: u16) -> Result<SocketId, HostError> {
        let h = self.new_tcp_socket();
        let r = self.sockets.get_mut::<tcp::Socket>(h).listen(port);
        if r.is_err() {
            self.release(h);
            return Err(HostError::Listen);
        }
        self.dirty = true;
        Ok(SocketId(h))
    }

    /// Opens a TCP connection to `remote:port` from the next ephemeral port
    /// (49152 and up, offset by the seed).
    pub fn tcp_connect(&mut self, remote: Ipv4Addr, port: u16) -> Result<SocketId, HostError> {
        let local = self.next_port;
        self.next_port = if self.next_port == u16::MAX {
            EPHEMERAL_FIRST
        } else {
            self.next_port + 1
        };
        self.tcp_connect_from(local, remote, port)
    }

    /// The source address for `dst`: the first of our addresses whose prefix
    /// holds `dst`, else the first address.
    pub fn source_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        self.cfg
            .addrs
            .iter()
            .find(|(a, len)| Prefix::new(*a, (*len).min(32)).is_some_and(|p| p.contains(dst)))
            .or(self.cfg.addrs.first())
            .map(|a| a.0)
    }

    /// Opens a TCP connection to `remote:port` from local port `local` (and
    /// the address [`Host::source_for`] picks).
    pub fn tcp_connect_from(
        &mut self,
        local: u16,
        remote: Ipv4Addr,
        port: u16,
    ) -> Result<SocketId, HostError> {
        let src = self.source_for(remote).ok_or(HostError::Connect)?;
        let h = self.new_tcp_socket();
        let cx = self.iface.context();
        let local = IpListenEndpoint {
            addr: Some(IpAddress::Ipv4(src)),
            port: local,
        };
        let r = self.sockets.get_mut::<tcp::Socket>(h).connect(
            cx,
            (IpAddress::Ipv4(remote), port),
            local,
        );
        if r.is_err() {
            self.release(h);
            return Err(HostError::Connect);
        }
        self.stats.tcp_connects += 1;
        self.dirty = true;
        Ok(SocketId(h))
    }

    fn release(&mut self, h: SocketHandle) {
        self.tcp.retain(|&x| x != h);
        self.udp.retain(|&x| x != h);
        self.sockets.remove(h);
    }

    /// Queues `data` for sending; returns how much fit in the send buffer
    /// (0 if the socket cannot send, e.g. not yet established).
    pub fn tcp_send(&mut self, id: SocketId, data: &[u8]) -> usize {
        let Some(s) = self.tcp_socket(id) else {
            return 0;
        };
        let n = s.send_slice(data).unwrap_or(0);
        if n > 0 {
            self.dirty = true;
        }
        n
    }

    /// Appends everything received so far to `buf`; returns how many bytes.
    pub fn tcp_recv(&mut self, id: SocketId, buf: &mut Vec<u8>) -> usize {
        let Some(s) = self.tcp_socket(id) else {
            return 0;
        };
        let mut total = 0;
        while s.can_recv() {
            let r = s.recv(|b| {
                buf.extend_from_slice(b);
                (b.len(), b.len())
            });
            match r {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        if total > 0 {
            // The window opened: the stack may want to send a window update.
            self.dirty = true;
        }
        total
    }

    /// The state of a TCP socket (`Closed` for an unknown id).
    pub fn tcp_state(&self, id: SocketId) -> TcpState {
        if !self.tcp.contains(&id.0) {
            return TcpState::Closed;
        }
        self.sockets.get::<tcp::Socket>(id.0).state()
    }

    /// Bytes queued for sending and not yet acknowledged.
    pub fn tcp_send_queue(&self, id: SocketId) -> usize {
        if !self.tcp.contains(&id.0) {
            return 0;
        }
        self.sockets.get::<tcp::Socket>(id.0).send_queue()
    }

    /// The local address and port of a connected socket.
    pub fn tcp_local(&self, id: SocketId) -> Option<(Ipv4Addr, u16)> {
        if !self.tcp.contains(&id.0) {
            return None;
        }
        let ep = self.sockets.get::<tcp::Socket>(id.0).local_endpoint()?;
        let IpAddress::Ipv4(a) = ep.addr;
        Some((a, ep.port))
    }

    /// The remote address and port of a connected socket.
    pub fn tcp_remote(&self, id: SocketId) -> Option<(Ipv4Addr, u16)> {
        if !self.tcp.contains(&id.0) {
            return None;
        }
        let ep = self.sockets.get::<tcp::Socket>(id.0).remote_endpoint()?;
        let IpAddress::Ipv4(a) = ep.addr;
        Some((a, ep.port))
    }

    /// Closes the sending half (FIN after the queued data).
    pub fn tcp_close(&mut self, id: SocketId) {
        if let Some(s) = self.tcp_socket(id) {
            s.close();
            self.dirty = true;
        }
    }

    /// Resets the connection (RST) and closes the socket at once.
    pub fn tcp_abort(&mut self, id: SocketId) {
        if let Some(s) = self.tcp_socket(id) {
            s.abort();
            self.dirty = true;
        }
    }

    /// Frees a socket (after `Closed`, or to drop it silently). Its id may
    /// later name a new socket.
    pub fn tcp_release(&mut self, id: SocketId) {
        if self.tcp.contains(&id.0) {
            self.release(id.0);
        }
    }

    /// Opens a UDP socket bound to `port` (any of our addresses).
    pub fn udp_bind(&mut self, port: u16) -> Result<SocketId, HostError> {
        let meta = || vec![udp::PacketMetadata::EMPTY; 64];
        let mut s = udp::Socket::new(
            udp::PacketBuffer::new(meta(), vec![0; 64 * 1024]),
            udp::PacketBuffer::new(meta(), vec![0; 64 * 1024]),
        );
        s.bind(port).map_err(|_| HostError::Listen)?;
        let h = self.sockets.add(s);
        self.udp.push(h);
        Ok(SocketId(h))
    }

    /// Queues a datagram to `dst:port`; false if the socket is unknown or
    /// its send buffer is full.
    pub fn udp_send_to(&mut self, id: SocketId, dst: Ipv4Addr, port: u16, data: &[u8]) -> bool {
        if !self.udp.contains(&id.0) {
            return false;
        }
        let ok = self
            .sockets
            .get_mut::<udp::Socket>(id.0)
            .send_slice(data, (IpAddress::Ipv4(dst), port))
            .is_ok();
        self.dirty |= ok;
        ok
    }

    /// Frees a UDP socket. Its id may later name a new socket.
    pub fn udp_release(&mut self, id: SocketId) {
        if self.udp.contains(&id.0) {
            self.release(id.0);
        }
    }

    /// The next datagram received: source address, source port, payload.
    pub fn udp_recv(&mut self, id: SocketId) -> Option<(Ipv4Addr, u16, Vec<u8>)> {
        if !self.udp.contains(&id.0) {
            return None;
        }
        let (data, meta) = self.sockets.get_mut::<udp::Socket>(id.0).recv().ok()?;
        let IpAddress::Ipv4(a) = meta.endpoint.addr;
        Some((a, meta.endpoint.port, data.to_vec()))
    }

    /// Sends an ICMP echo request to `dst` with identifier [`PING_IDENT`],
    /// sequence number `seq` and `payload`. The RTT is measured from the
    /// instant the request leaves the host.
    pub fn ping(&mut self, dst: Ipv4Addr, seq: u16, payload: &[u8]) -> Result<(), HostError> {
        let repr = Icmpv4Repr::EchoRequest {
            ident: PING_IDENT,
            seq_no: seq,
            data: payload,
        };
        let caps = self.device.capabilities().checksum;
        let s = self.sockets.get_mut::<icmp::Socket>(self.icmp);
        let buf = s
            .send(repr.buffer_len(), IpAddress::Ipv4(dst))
            .map_err(|_| HostError::PingBuffer)?;
        repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &caps);
        self.pings_queued.push(seq);
        self.stats.pings_sent += 1;
        self.dirty = true;
        Ok(())
    }

    /// The next echo reply received, oldest first.
    pub fn poll_ping_reply(&mut self) -> Option<PingReply> {
        self.replies.pop_front()
    }

    /// Every echo reply received and not yet taken.
    pub fn ping_replies(&mut self) -> Vec<PingReply> {
        self.replies.drain(..).collect()
    }

    /// Sequence numbers of pings sent and not answered yet.
    pub fn pings_outstanding(&self) -> Vec<u16> {
        self.pings_sent.keys().copied().collect()
    }

    fn smol_now(&self, now: Instant) -> SmolInstant {
        let d = now.saturating_duration_since(self.epoch);
        SmolInstant::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    fn poll(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let t = self.smol_now(self.now);
        self.iface.poll(t, &mut self.device, &mut self.sockets);
        self.dirty = false;
        // Pings that just left get their departure time.
        if !self.pings_queued.is_empty()
            && self.sockets.get::<icmp::Socket>(self.icmp).send_queue() == 0
        {
            for seq in self.pings_queued.drain(..) {
                self.pings_sent.insert(seq, self.now);
            }
        }
        self.drain_icmp();
        while let Some(p) = self.device.tx.pop_front() {
            self.stats.tx_packets += 1;
            self.stats.tx_bytes += p.len() as u64;
            self.out.push_back(p);
        }
        self.deadline = self.iface.poll_at(t, &self.sockets).map(|d| {
            let micros = u64::try_from(d.total_micros()).unwrap_or(0);
            let at = self.epoch + Duration::from_micros(micros);
            // "Now" after a poll: ask again a microsecond later rather than
            // at this same instant (the simulator does not wake a node
            // twice for one deadline).
            at.max(self.now + Duration::from_micros(1))
        });
    }

    fn drain_icmp(&mut self) {
        let now = self.now;
        let s = self.sockets.get_mut::<icmp::Socket>(self.icmp);
        while let Ok((data, from)) = s.recv() {
            let IpAddress::Ipv4(from) = from;
            let Ok(pkt) = Icmpv4Packet::new_checked(data) else {
                continue;
            };
            let Ok(Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            }) = Icmpv4Repr::parse(&pkt, &smoltcp::phy::ChecksumCapabilities::default())
            else {
                continue;
            };
            if ident != PING_IDENT {
                continue;
            }
            let Some(sent) = self.pings_sent.remove(&seq_no) else {
                continue;
            };
            self.stats.ping_replies += 1;
            self.replies.push_back(PingReply {
                from,
                seq: seq_no,
                payload: data.to_vec(),
                rtt: now.saturating_duration_since(sent),
                at: now,
            });
        }
    }
}

fn to_smol_duration(d: Duration) -> SmolDuration {
    SmolDuration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl Node for Host {
    fn handle_packet(&mut self, now: Instant, iface: IfaceId, packet: &[u8]) {
        self.stats.rx_packets += 1;
        self.stats.rx_bytes += packet.len() as u64;
        if iface != HOST_IFACE {
            self.stats.rx_wrong_iface += 1;
            return;
        }
        let Some(info) = Ipv4Info::parse(packet) else {
            self.stats.rx_dropped += 1;
            return;
        };
        if !self.cfg.addrs.iter().any(|a| a.0 == info.dst) {
            self.stats.rx_dropped += 1;
            return;
        }
        let l4 = &packet[info.header_len..info.total_len];
        if info.protocol == lwire::PROTO_ICMP && l4.first() == Some(&8) {
            self.stats.echo_requests_received += 1;
        }
        self.device.rx.push_back(packet[..info.total_len].to_vec());
        self.poll(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.poll(now);
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front().map(|p| (HOST_IFACE, p))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.dirty {
            Some(self.now)
        } else {
            self.deadline
        }
    }
}
