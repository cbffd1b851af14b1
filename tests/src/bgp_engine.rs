//! Our BGP speaker on real TCP sockets inside a network namespace: the glue
//! between the sans-IO `bgp::speaker::Speaker` and the kernel, for interop
//! tests against BIRD. Active peers connect to port 179 when the session
//! asks; a listener on port 179 takes the peers' connections. Every loop is
//! bounded by a deadline.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bgp::route::IpNet;
use bgp::session::State;
use bgp::speaker::{ConnId, PeerId, Speaker, SpeakerAction, SpeakerEvent};

/// The BGP port.
pub const BGP_PORT: u16 = 179;

struct Conn {
    peer: PeerId,
    stream: TcpStream,
    /// Bytes the kernel did not take yet.
    pending: Vec<u8>,
}

/// The speaker with its sockets.
pub struct TcpSpeaker {
    /// The sans-IO speaker.
    pub speaker: Speaker,
    listener: Option<TcpListener>,
    /// Peer addresses: our local address and the peer's, per peer.
    peers: Vec<(PeerId, Ipv4Addr, Ipv4Addr)>,
    conns: HashMap<ConnId, Conn>,
    /// Every event so far, with when it was taken from the speaker.
    pub events: Vec<(Instant, SpeakerEvent)>,
    /// Connection attempts that failed (peer, error text).
    pub connect_errors: Vec<(PeerId, String)>,
    /// Incoming connections we refused (from address).
    pub refused: Vec<SocketAddr>,
}

impl TcpSpeaker {
    /// Wraps `speaker`; with `listen`, binds `listen`:179 for the peers'
    /// connections. Call on a thread inside the namespace (see
    /// `Netns::run_in` / `spawn_in`).
    pub fn new(speaker: Speaker, listen: Option<Ipv4Addr>) -> std::io::Result<TcpSpeaker> {
        let listener = match listen {
            Some(a) => {
                let l = TcpListener::bind((a, BGP_PORT))?;
                l.set_nonblocking(true)?;
                Some(l)
            }
            None => None,
        };
        Ok(TcpSpeaker {
            speaker,
            listener,
            peers: Vec::new(),
            conns: HashMap::new(),
            events: Vec::new(),
            connect_errors: Vec::new(),
            refused: Vec::new(),
        })
    }

    /// Where `peer` lives: we connect from `local` to `remote`:179 and take
    /// connections from `remote`.
    pub fn add_peer_addr(&mut self, peer: PeerId, local: Ipv4Addr, remote: Ipv4Addr) {
        self.peers.push((peer, local, remote));
    }

    fn remote_of(&self, peer: PeerId) -> Option<Ipv4Addr> {
        self.peers
            .iter()
            .find(|(p, _, _)| *p == peer)
            .map(|(_, _, r)| *r)
    }

    fn peer_of(&self, from: IpAddr) -> Option<PeerId> {
        self.peers
            .iter()
            .find(|(_, _, r)| IpAddr::V4(*r) == from)
            .map(|(p, _, _)| *p)
    }

    fn write_out(conn: &mut Conn) -> std::io::Result<()> {
        while !conn.pending.is_empty() {
            match conn.stream.write(&conn.pending) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    conn.pending.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Moves bytes, actions and events out of the speaker until it is quiet.
    fn flush(&mut self) {
        loop {
            let mut progress = false;
            while let Some((id, bytes)) = self.speaker.poll_transmit() {
                progress = true;
                if let Some(c) = self.conns.get_mut(&id) {
                    c.pending.extend_from_slice(&bytes);
                    if Self::write_out(c).is_err() {
                        // the read side will report the close
                    }
                }
            }
            while let Some(a) = self.speaker.poll_action() {
                progress = true;
                match a {
                    SpeakerAction::Connect { peer } => self.connect(peer),
                    SpeakerAction::Disconnect { conn } => {
                        if let Some(mut c) = self.conns.remove(&conn) {
                            // bounded: the last bytes (a NOTIFICATION) go out first
                            let _ = c.stream.set_nonblocking(false);
                            let _ = c.stream.set_write_timeout(Some(Duration::from_millis(500)));
                            let _ = c.stream.write_all(&c.pending);
                            let _ = c.stream.shutdown(Shutdown::Both);
                        }
                    }
                }
            }
            while let Some(e) = self.speaker.poll_event() {
                progress = true;
                self.events.push((Instant::now(), e));
            }
            if !progress {
                return;
            }
        }
    }

    fn connect(&mut self, peer: PeerId) {
        let now = Instant::now();
        let Some(remote) = self.remote_of(peer) else {
            self.speaker.handle_connection_failed(peer, now);
            return;
        };
        let addr = SocketAddr::new(IpAddr::V4(remote), BGP_PORT);
        // bounded: a short blocking connect (the peer is one veth away)
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => {
                let _ = s.set_nonblocking(true);
                let _ = s.set_nodelay(true);
                let id = self.speaker.handle_connected(peer, Instant::now());
                self.conns.insert(
                    id,
                    Conn {
                        peer,
                        stream: s,
                        pending: Vec::new(),
                    },
                );
            }
            Err(e) => {
                self.connect_errors.push((peer, e.to_string()));
                self.speaker.handle_connection_failed(peer, Instant::now());
            }
        }
    }

    fn accept(&mut self) -> bool {
        let Some(l) = &self.listener else {
            return false;
        };
        match l.accept() {
            Ok((s, from)) => {
                let now = Instant::now();
                let conn = self
                    .peer_of(from.ip())
                    .and_then(|p| self.speaker.handle_incoming(p, now).map(|c| (p, c)));
                match conn {
                    Some((peer, id)) => {
                        let _ = s.set_nonblocking(true);
                        let _ = s.set_nodelay(true);
                        self.conns.insert(
                            id,
                            Conn {
                                peer,
                                stream: s,
                                pending: Vec::new(),
                            },
                        );
                    }
                    None => {
                        self.refused.push(from);
                        let _ = s.shutdown(Shutdown::Both);
                    }
                }
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => panic!("accept on port {BGP_PORT}: {e}"),
        }
    }

    /// Reads what arrived on every connection; returns whether anything did.
    fn read_all(&mut self, buf: &mut [u8]) -> bool {
        let mut got = false;
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let mut closed = false;
            while let Some(c) = self.conns.get_mut(&id) {
                let _ = Self::write_out(c);
                match c.stream.read(buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => {
                        got = true;
                        self.speaker.handle_bytes(id, &buf[..n], Instant::now());
                        // the speaker may have closed it; drain before reading on
                        self.flush();
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if closed && self.conns.remove(&id).is_some() {
                got = true;
                self.speaker.handle_closed(id, Instant::now());
                self.flush();
            }
        }
        got
    }

    /// Runs the speaker until `done` says so or `timeout` passes; returns
    /// whether `done` was reached.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&TcpSpeaker) -> bool,
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
            let mut got = self.accept();
            self.flush();
            got |= self.read_all(&mut buf);
            let now = Instant::now();
            if self.speaker.poll_timeout().is_some_and(|t| t <= now) {
                self.speaker.handle_timeout(now);
            }
            if !got {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Runs for `d` whatever happens (keepalives, timers).
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// The session state of `peer`.
    pub fn state(&self, peer: PeerId) -> State {
        self.speaker.state(peer)
    }

    /// Whether `peer`'s session is Established.
    pub fn established(&self, peer: PeerId) -> bool {
        self.state(peer) == State::Established
    }

    /// The prefixes in the Loc-RIB, sorted.
    pub fn loc_rib(&self) -> Vec<IpNet> {
        let mut v = self.speaker.loc_rib_prefixes();
        v.sort();
        v
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// The peer behind each open connection.
    pub fn connection_peers(&self) -> Vec<PeerId> {
        self.conns.values().map(|c| c.peer).collect()
    }

    /// Events without their times.
    pub fn event_list(&self) -> Vec<SpeakerEvent> {
        self.events.iter().map(|(_, e)| e.clone()).collect()
    }
}
