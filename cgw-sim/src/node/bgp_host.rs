//! A BGP speaker on a simulated host: the sans-IO [`Speaker`] driven over
//! smoltcp TCP (a [`lab::Host`]) on port 179, as a [`Node`] of the lab.
//!
//! Connect actions open a TCP connection from our address on the peer's
//! link to the peer's port 179; a listening socket on port 179 takes the
//! peers' connections (smoltcp turns the listening socket into the
//! connection, so a new one listens as soon as one is taken). Bytes move
//! both ways, closes are reported to the speaker, and the node's deadline is
//! the earlier of the stack's and the speaker's. Time is the simulator's
//! virtual `now`; nothing here reads a clock.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bgp::speaker::{ConnId, PeerConfig, PeerId, Speaker, SpeakerAction, SpeakerEvent};
use lab::host::{Host, SocketId, TcpState};
use lab::{IfaceId, Node};

/// The BGP port.
pub const BGP_PORT: u16 = 179;

/// Bound on the work loop of one wake-up (it normally ends far sooner).
const PUMP_ROUNDS: usize = 256;

/// A connection the speaker knows.
#[derive(Debug)]
struct Conn {
    sock: SocketId,
    /// Bytes the socket's send buffer did not take yet.
    pending: Vec<u8>,
    /// The speaker asked to close it: FIN once `pending` is out.
    closing: bool,
}

/// A [`lab::Host`] running a BGP [`Speaker`]. See the module documentation.
pub struct BgpHost {
    host: Host,
    speaker: Speaker,
    /// Each peer's address.
    peers: Vec<(PeerId, Ipv4Addr)>,
    /// The socket listening on port 179, if any.
    listener: Option<SocketId>,
    /// Former listeners whose handshake is not complete yet.
    accepting: Vec<SocketId>,
    /// Our connection attempts not yet established.
    connecting: Vec<(PeerId, SocketId)>,
    conns: BTreeMap<ConnId, Conn>,
    /// Sockets closed by us, released once the stack is done with them.
    closing: Vec<SocketId>,
    events: Vec<(Instant, SpeakerEvent)>,
    /// Incoming connections refused (their remote address).
    refused: Vec<Ipv4Addr>,
    /// The speaker was handed out mutably: run it at the next chance.
    dirty: bool,
    now: Instant,
}

impl BgpHost {
    /// Wraps `host` (its clock starts at `epoch`, the simulation's) and
    /// `speaker`. Add peers with [`BgpHost::add_peer`].
    pub fn new(epoch: Instant, host: Host, speaker: Speaker) -> BgpHost {
        BgpHost {
            host,
            speaker,
            peers: Vec::new(),
            listener: None,
            accepting: Vec::new(),
            connecting: Vec::new(),
            conns: BTreeMap::new(),
            closing: Vec::new(),
            events: Vec::new(),
            refused: Vec::new(),
            dirty: true,
            now: epoch,
        }
    }

    /// Adds a peer at `config.address` to the speaker and listens on port
    /// 179 for its connections (every peer's: the speaker refuses those it
    /// does not want, e.g. an active peer's outside a collision). Start it
    /// with [`BgpHost::start`]. The host is IPv4 only: an IPv6 peer address
    /// is refused with [`ConfigError::NoFamily`](bgp::session::ConfigError).
    pub fn add_peer(&mut self, config: PeerConfig) -> Result<PeerId, bgp::session::ConfigError> {
        let IpAddr::V4(addr) = config.address else {
            return Err(bgp::session::ConfigError::NoFamily);
        };
        let peer = self.speaker.add_peer(config)?;
        self.peers.push((peer, addr));
        if self.listener.is_none() {
            self.listener = self.host.tcp_listen(BGP_PORT).ok();
        }
        self.dirty = true;
        Ok(peer)
    }

    /// ManualStart for `peer` at `now`.
    pub fn start(&mut self, peer: PeerId, now: Instant) {
        self.speaker.start(peer, now);
        self.dirty = true;
    }

    /// The speaker.
    pub fn speaker(&self) -> &Speaker {
        &self.speaker
    }

    /// The speaker, to originate or withdraw routes, stop or start peers
    /// (pass the simulator's `now`); the node runs it at its next wake-up.
    pub fn speaker_mut(&mut self) -> &mut Speaker {
        self.dirty = true;
        &mut self.speaker
    }

    /// The TCP/IP stack.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Every speaker event so far, with the virtual instant it was taken.
    pub fn events(&self) -> &[(Instant, SpeakerEvent)] {
        &self.events
    }

    /// Takes the events gathered so far.
    pub fn take_events(&mut self) -> Vec<(Instant, SpeakerEvent)> {
        std::mem::take(&mut self.events)
    }

    /// Remote addresses of incoming connections that were refused (no
    /// such peer, or the speaker did not want them).
    pub fn refused(&self) -> &[Ipv4Addr] {
        &self.refused
    }

    /// Connections the speaker holds right now.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    fn peer_of(&self, addr: Ipv4Addr) -> Option<PeerId> {
        self.peers.iter().find(|p| p.1 == addr).map(|p| p.0)
    }

    fn addr_of(&self, peer: PeerId) -> Option<Ipv4Addr> {
        self.peers.iter().find(|p| p.0 == peer).map(|p| p.1)
    }

    /// Moves bytes, actions and events out of the speaker.
    fn flush(&mut self, now: Instant) -> bool {
        let mut progress = false;
        loop {
            let mut more = false;
            while let Some((id, bytes)) = self.speaker.poll_transmit() {
                more = true;
                if let Some(c) = self.conns.get_mut(&id) {
                    c.pending.extend_from_slice(&bytes);
                }
            }
            while let Some(a) = self.speaker.poll_action() {
                more = true;
                match a {
                    SpeakerAction::Connect { peer } => self.connect(peer, now),
                    SpeakerAction::Disconnect { conn } => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.closing = true;
                        }
                    }
                }
            }
            while let Some(e) = self.speaker.poll_event() {
                more = true;
                self.events.push((now, e));
            }
            if !more {
                return progress;
            }
            progress = true;
        }
    }

    fn connect(&mut self, peer: PeerId, now: Instant) {
        let sock = self
            .addr_of(peer)
            .and_then(|a| self.host.tcp_connect(a, BGP_PORT).ok());
        match sock {
            Some(s) => self.connecting.push((peer, s)),
            None => self.speaker.handle_connection_failed(peer, now),
        }
    }

    /// Looks at every socket once; returns whether anything changed.
    fn service(&mut self, now: Instant) -> bool {
        let mut progress = false;
        // The listener became a connection: listen again.
        if let Some(l) = self.listener {
            if self.host.tcp_state(l) != TcpState::Listen {
                self.accepting.push(l);
                self.listener = self.host.tcp_listen(BGP_PORT).ok();
                progress = true;
            }
        }
        // Handshakes of incoming connections.
        for sock in std::mem::take(&mut self.accepting) {
            match self.host.tcp_state(sock) {
                TcpState::SynReceived => self.accepting.push(sock),
                TcpState::Established => {
                    progress = true;
                    let remote = self.host.tcp_remote(sock).map(|r| r.0);
                    let conn = remote
                        .and_then(|r| self.peer_of(r))
                        .and_then(|p| self.speaker.handle_incoming(p, now));
                    match conn {
                        Some(id) => {
                            self.conns.insert(
                                id,
                                Conn {
                                    sock,
                                    pending: Vec::new(),
                                    closing: false,
                                },
                            );
                        }
                        None => {
                            self.refused.extend(remote);
                            self.host.tcp_abort(sock);
                            self.closing.push(sock);
                        }
                    }
                }
                _ => {
                    progress = true;
                    self.host.tcp_abort(sock);
                    self.closing.push(sock);
                }
            }
        }
        // Our connection attempts.
        for (peer, sock) in std::mem::take(&mut self.connecting) {
            match self.host.tcp_state(sock) {
                TcpState::SynSent | TcpState::SynReceived => self.connecting.push((peer, sock)),
                TcpState::Established => {
                    progress = true;
                    let id = self.speaker.handle_connected(peer, now);
                    self.conns.insert(
                        id,
                        Conn {
                            sock,
                            pending: Vec::new(),
                            closing: false,
                        },
                    );
                }
                _ => {
                    progress = true;
                    self.host.tcp_abort(sock);
                    self.closing.push(sock);
                    self.speaker.handle_connection_failed(peer, now);
                }
            }
        }
        // Bytes both ways, closes.
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        let mut buf = Vec::new();
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            let sock = c.sock;
            if !c.pending.is_empty() {
                let n = self.host.tcp_send(sock, &c.pending);
                if n > 0 {
                    c.pending.drain(..n);
                    progress = true;
                }
            }
            if c.closing && c.pending.is_empty() {
                self.host.tcp_close(sock);
                self.closing.push(sock);
                self.conns.remove(&id);
                progress = true;
                continue;
            }
            buf.clear();
            if self.host.tcp_recv(sock, &mut buf) > 0 {
                progress = true;
                self.speaker.handle_bytes(id, &buf, now);
            }
            let open = matches!(
                self.host.tcp_state(sock),
                TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
            );
            if !open && self.conns.contains_key(&id) {
                progress = true;
                self.conns.remove(&id);
                self.host.tcp_close(sock);
                self.closing.push(sock);
                self.speaker.handle_closed(id, now);
            }
        }
        // Sockets we are done with.
        let host = &mut self.host;
        self.closing.retain(|&s| {
            if matches!(host.tcp_state(s), TcpState::Closed | TcpState::TimeWait) {
                host.tcp_release(s);
                false
            } else {
                true
            }
        });
        progress
    }

    /// Runs the speaker and the stack at `now` until both are quiet.
    fn pump(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        self.dirty = false;
        if self.speaker.poll_timeout().is_some_and(|t| t <= now) {
            self.speaker.handle_timeout(now);
        }
        for _ in 0..PUMP_ROUNDS {
            let mut progress = self.flush(now);
            progress |= self.service(now);
            progress |= self.flush(now);
            if self.host.poll_timeout().is_some_and(|t| t <= now) {
                self.host.handle_timeout(now);
                progress = true;
            }
            if !progress {
                break;
            }
        }
    }
}

impl Node for BgpHost {
    fn handle_packet(&mut self, now: Instant, iface: IfaceId, packet: &[u8]) {
        self.host.handle_packet(now, iface, packet);
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.host.poll_timeout().is_some_and(|t| t <= now) {
            self.host.handle_timeout(now);
        }
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.host.poll_transmit()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.dirty {
            return Some(self.now);
        }
        match (self.host.poll_timeout(), self.speaker.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
