//! A BGP [`Speaker`] on the kernel's TCP: the daemons' BGP sessions on a
//! tunnel's inside addresses (the TUN device holds the address, so the
//! kernel's TCP segments cross the tunnel like any other traffic).
//!
//! The speaker stays sans-IO and is only touched by the event loop's
//! thread. Sockets live in small tokio tasks that report through one
//! channel shared by every speaker of a daemon ([`BgpIo`], tagged with the
//! speaker's index): a listener per local address, a connect attempt per
//! `Connect` action (bounded by [`CONNECT_TIMEOUT`]), a reader per
//! connection; each connection's writer task takes bytes from an
//! unbounded channel, and dropping that channel's sender closes the
//! connection after what was queued is written.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bgp::speaker::{ConnId, PeerConfig, PeerId, Speaker, SpeakerAction, SpeakerEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// The BGP port.
pub const BGP_PORT: u16 = 179;

/// How long one outgoing connection attempt may take (the tunnel may be
/// down: its SYNs go nowhere). The speaker's ConnectRetry timer decides
/// when to try again.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a listener that could not bind (its TUN address not there
/// yet) tries again.
const LISTEN_RETRY: Duration = Duration::from_secs(2);

/// What the socket tasks report to the event loop.
#[derive(Debug)]
pub enum BgpIo {
    /// An outgoing connection to `peer` is established.
    Connected {
        /// The peer.
        peer: PeerId,
        /// The connection.
        stream: TcpStream,
    },
    /// An outgoing connection attempt failed or timed out.
    ConnectFailed {
        /// The peer.
        peer: PeerId,
        /// Why (for logs).
        reason: String,
    },
    /// A connection came in from `remote`.
    Incoming {
        /// The connection.
        stream: TcpStream,
        /// Its remote address.
        remote: SocketAddr,
    },
    /// Bytes arrived on a connection.
    Bytes {
        /// The connection.
        conn: ConnId,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The peer closed the connection, or it failed.
    Closed {
        /// The connection.
        conn: ConnId,
    },
    /// A listener could not bind (reported once per address).
    ListenFailed {
        /// The address.
        addr: IpAddr,
        /// Why.
        reason: String,
    },
}

/// The channel every speaker's tasks report on: (speaker index, report).
pub type BgpTx = UnboundedSender<(usize, BgpIo)>;
/// Its receiving end, owned by the event loop.
pub type BgpRx = UnboundedReceiver<(usize, BgpIo)>;

/// One connection the speaker holds.
struct Conn {
    writer: UnboundedSender<Vec<u8>>,
    reader: JoinHandle<()>,
}

/// A peer: its addresses.
#[derive(Debug, Clone, Copy)]
struct Peer {
    id: PeerId,
    local: IpAddr,
    remote: IpAddr,
}

/// A [`Speaker`] driven over kernel TCP. See the module documentation.
pub struct KernelBgp {
    index: usize,
    speaker: Speaker,
    peers: Vec<Peer>,
    conns: BTreeMap<ConnId, Conn>,
    listening: BTreeSet<IpAddr>,
    tasks: Vec<JoinHandle<()>>,
    tx: BgpTx,
    events: Vec<(Instant, SpeakerEvent)>,
    /// Incoming connections refused (their remote address).
    refused: u64,
}

impl KernelBgp {
    /// Wraps `speaker` as speaker number `index` of the daemon, reporting
    /// on `tx`.
    pub fn new(index: usize, speaker: Speaker, tx: BgpTx) -> KernelBgp {
        KernelBgp {
            index,
            speaker,
            peers: Vec::new(),
            conns: BTreeMap::new(),
            listening: BTreeSet::new(),
            tasks: Vec::new(),
            tx,
            events: Vec::new(),
            refused: 0,
        }
    }

    /// Adds a peer reached from our address `local` (a TUN's inside
    /// address, IPv4 or IPv6, of the peer's family), and listens on
    /// `local`:179 for it. Must run inside the tokio runtime. Start it
    /// with [`KernelBgp::start`].
    pub fn add_peer(
        &mut self,
        config: PeerConfig,
        local: IpAddr,
    ) -> Result<PeerId, bgp::session::ConfigError> {
        let remote = config.address;
        if remote.is_ipv4() != local.is_ipv4() {
            return Err(bgp::session::ConfigError::NoFamily);
        }
        let id = self.speaker.add_peer(config)?;
        self.peers.push(Peer { id, local, remote });
        if self.listening.insert(local) {
            self.tasks
                .push(tokio::spawn(listen(self.index, local, self.tx.clone())));
        }
        Ok(id)
    }

    /// ManualStart for `peer`.
    pub fn start(&mut self, peer: PeerId, now: Instant) {
        self.speaker.start(peer, now);
        self.pump(now);
    }

    /// Resets `peer`'s session at once (its tunnel went down: fast external
    /// fallover, as a router does when the tunnel interface goes down) and
    /// starts it again.
    pub fn reset(&mut self, peer: PeerId, now: Instant) {
        self.speaker.stop(peer, now);
        self.pump(now);
        self.speaker.start(peer, now);
        self.pump(now);
    }

    /// The speaker.
    pub fn speaker(&self) -> &Speaker {
        &self.speaker
    }

    /// The speaker, to originate or withdraw routes; call
    /// [`KernelBgp::pump`] afterwards.
    pub fn speaker_mut(&mut self) -> &mut Speaker {
        &mut self.speaker
    }

    /// Takes the speaker events gathered so far.
    pub fn take_events(&mut self) -> Vec<(Instant, SpeakerEvent)> {
        std::mem::take(&mut self.events)
    }

    /// Incoming connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The speaker's next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.speaker.poll_timeout()
    }

    /// Handles one report of the socket tasks.
    pub fn handle_io(&mut self, io: BgpIo, now: Instant) {
        match io {
            BgpIo::Connected { peer, stream } => {
                let id = self.speaker.handle_connected(peer, now);
                self.attach(id, stream);
            }
            BgpIo::ConnectFailed { peer, reason } => {
                tracing::debug!(speaker = self.index, ?peer, %reason, "BGP connect failed");
                self.speaker.handle_connection_failed(peer, now);
            }
            BgpIo::Incoming { stream, remote } => {
                let peer = self.peers.iter().find(|p| p.remote == remote.ip());
                match peer.and_then(|p| self.speaker.handle_incoming(p.id, now)) {
                    Some(id) => self.attach(id, stream),
                    None => {
                        self.refused += 1;
                        tracing::debug!(speaker = self.index, %remote, "BGP connection refused");
                    }
                }
            }
            BgpIo::Bytes { conn, data } => {
                if self.conns.contains_key(&conn) {
                    self.speaker.handle_bytes(conn, &data, now);
                }
            }
            BgpIo::Closed { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    c.reader.abort();
                    self.speaker.handle_closed(conn, now);
                }
            }
            BgpIo::ListenFailed { addr, reason } => {
                tracing::warn!(speaker = self.index, %addr, %reason, "cannot listen for BGP");
            }
        }
        self.pump(now);
    }

    /// Runs the speaker's timers due at `now` and moves its output to the
    /// sockets.
    pub fn pump(&mut self, now: Instant) {
        if self.speaker.poll_timeout().is_some_and(|t| t <= now) {
            self.speaker.handle_timeout(now);
        }
        loop {
            let mut more = false;
            while let Some((id, bytes)) = self.speaker.poll_transmit() {
                more = true;
                if let Some(c) = self.conns.get(&id) {
                    // A send error means the writer is gone: its reader
                    // reports the close.
                    let _ = c.writer.send(bytes);
                }
            }
            while let Some(a) = self.speaker.poll_action() {
                more = true;
                match a {
                    SpeakerAction::Connect { peer } => self.connect(peer, now),
                    SpeakerAction::Disconnect { conn } => {
                        // Dropping the writer closes the connection once
                        // what was queued (a NOTIFICATION) is written.
                        if let Some(c) = self.conns.remove(&conn) {
                            c.reader.abort();
                        }
                    }
                }
            }
            while let Some(e) = self.speaker.poll_event() {
                more = true;
                self.events.push((now, e));
            }
            if !more {
                break;
            }
        }
    }

    fn connect(&mut self, peer: PeerId, now: Instant) {
        let Some(p) = self.peers.iter().find(|p| p.id == peer).copied() else {
            self.speaker.handle_connection_failed(peer, now);
            return;
        };
        let (index, tx) = (self.index, self.tx.clone());
        self.tasks.push(tokio::spawn(async move {
            let r = tokio::time::timeout(CONNECT_TIMEOUT, connect(p.local, p.remote)).await;
            let io = match r {
                Ok(Ok(stream)) => BgpIo::Connected { peer, stream },
                Ok(Err(e)) => BgpIo::ConnectFailed {
                    peer,
                    reason: e.to_string(),
                },
                Err(_) => BgpIo::ConnectFailed {
                    peer,
                    reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                },
            };
            let _ = tx.send((index, io));
        }));
        self.tasks.retain(|t| !t.is_finished());
    }

    fn attach(&mut self, conn: ConnId, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let (wtx, mut wrx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(b) = wrx.recv().await {
                if wr.write_all(&b).await.is_err() {
                    return;
                }
            }
            let _ = wr.shutdown().await;
        });
        let (index, tx) = (self.index, self.tx.clone());
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let _ = tx.send((index, BgpIo::Closed { conn }));
                        return;
                    }
                    Ok(n) => {
                        let data = buf[..n].to_vec();
                        if tx.send((index, BgpIo::Bytes { conn, data })).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        self.conns.insert(
            conn,
            Conn {
                writer: wtx,
                reader,
            },
        );
    }
}

impl Drop for KernelBgp {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for c in self.conns.values() {
            c.reader.abort();
        }
    }
}

async fn connect(local: IpAddr, remote: IpAddr) -> std::io::Result<TcpStream> {
    let s = match remote {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    s.bind(SocketAddr::new(local, 0))?;
    s.connect(SocketAddr::new(remote, BGP_PORT)).await
}

/// Accepts connections on `local`:179 for the daemon's lifetime (binding
/// again until the address exists).
async fn listen(index: usize, local: IpAddr, tx: BgpTx) {
    let mut reported = false;
    let listener = loop {
        match TcpListener::bind(SocketAddr::new(local, BGP_PORT)).await {
            Ok(l) => break l,
            Err(e) => {
                if !reported {
                    reported = true;
                    let io = BgpIo::ListenFailed {
                        addr: local,
                        reason: e.to_string(),
                    };
                    if tx.send((index, io)).is_err() {
                        return;
                    }
                }
                tokio::time::sleep(LISTEN_RETRY).await;
            }
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                if tx
                    .send((index, BgpIo::Incoming { stream, remote }))
                    .is_err()
                {
                    return;
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
