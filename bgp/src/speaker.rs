//! The speaker: one [`Rib`] and one [`Session`] per peer, joined, sans-IO.
//!
//! The speaker routes what the sessions deliver into the RIB and what the
//! RIB wants to send into the sessions:
//!
//! - an UPDATE received in Established goes to [`Rib::apply_update`]; past
//!   the peer's prefix limit the session is closed with NOTIFICATION Cease
//!   6/1 (AFI, SAFI, limit) and the peer's routes are withdrawn (AWS's
//!   100-prefix behaviour; the session restarts after
//!   [`SessionConfig::restart_time`] if set);
//! - a session reaching Established makes the peer up in the RIB
//!   ([`Rib::peer_up`]), and its Adj-RIB-Out ([`Rib::poll_export`]) is sent
//!   with [`Session::send_update`], then every later change as it happens;
//! - a session leaving Established withdraws the peer's routes
//!   ([`Rib::peer_down`]);
//! - a ROUTE-REFRESH from the peer sends it the whole Adj-RIB-Out again.
//!
//! Connections are named by [`ConnId`]s: the speaker asks for outgoing
//! connections with [`SpeakerAction::Connect`], the driver reports them
//! with [`Speaker::handle_connected`] (or
//! [`Speaker::handle_connection_failed`]) and the peer's connections with
//! [`Speaker::handle_incoming`], then feeds bytes and closes per
//! connection. When the peer connects while a connection is in use, the
//! speaker runs a second session on it and resolves the collision (RFC
//! 4271 6.8, [`collision::resolve`]); the loser's connection is closed.
//!
//! Driving it is like driving a session: after every `handle_*` call drain
//! [`Speaker::poll_transmit`] (bytes per connection, written before any
//! later close of that connection), then [`Speaker::poll_action`], then
//! [`Speaker::poll_event`], and call [`Speaker::handle_timeout`] at
//! [`Speaker::poll_timeout`].

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

pub use crate::rib::PeerId;
use crate::rib::{
    ExportPolicy, ImportPolicy, MaxPrefixExceeded, PeerConfig as RibPeerConfig, Rib, RibEvent,
};
use crate::route::{IpNet, PathAttributes};
use crate::session::collision::{self, Resolution};
use crate::session::{Action, ConfigError, Session, SessionConfig, SessionEvent, State};

/// One TCP connection of the speaker, as named to the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A peer: its session and its place in the RIB.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The session (ASes, identifier, timers, passive, families).
    pub session: SessionConfig,
    /// The peer's address (best-path tie breaker, logs).
    pub address: IpAddr,
    /// What the peer's routes go through (prefix limit, filters).
    pub import: ImportPolicy,
    /// What is sent to the peer (prepending, MED, next hop, filters).
    pub export: ExportPolicy,
}

impl PeerConfig {
    /// A peer with default import and export policies.
    pub fn new(session: SessionConfig, address: IpAddr) -> PeerConfig {
        PeerConfig {
            session,
            address,
            import: ImportPolicy::default(),
            export: ExportPolicy::default(),
        }
    }
}

/// What the driver must do with TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerAction {
    /// Open a TCP connection to the peer (port 179), then call
    /// [`Speaker::handle_connected`] or [`Speaker::handle_connection_failed`].
    Connect {
        /// The peer.
        peer: PeerId,
    },
    /// Close this connection, after writing every byte already taken from
    /// [`Speaker::poll_transmit`] for it.
    Disconnect {
        /// The connection.
        conn: ConnId,
    },
}

/// Something that happened, merged over the sessions and the RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeakerEvent {
    /// A session event (state changes, NOTIFICATIONs, UPDATEs, ...).
    Session {
        /// The peer.
        peer: PeerId,
        /// The event.
        event: SessionEvent,
    },
    /// A RIB event (best-path changes, denied routes, limit warnings).
    Rib(RibEvent),
    /// The peer sent more prefixes than its limit: the session was closed
    /// with Cease 6/1 and the peer's routes withdrawn.
    MaxPrefixExceeded {
        /// The peer.
        peer: PeerId,
        /// The limit and the count.
        error: MaxPrefixExceeded,
    },
    /// An UPDATE from the RIB could not be sent (cannot be encoded for the
    /// session).
    SendFailed {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
}

/// A session and the connection it runs on.
#[derive(Debug)]
struct Slot {
    session: Session,
    conn: Option<ConnId>,
}

#[derive(Debug)]
struct Peer {
    main: Slot,
    /// A second session for a connection the peer opened while `main`
    /// held or was opening one (a collision being resolved).
    extra: Option<Slot>,
    /// UPDATEs from the main session go to the RIB (Established, and not
    /// closed for exceeding the prefix limit since).
    accepting: bool,
}

/// The speaker. See the [module documentation](self).
#[derive(Debug)]
pub struct Speaker {
    rib: Rib,
    peers: BTreeMap<PeerId, Peer>,
    next_conn: u64,
    transmits: VecDeque<(ConnId, Vec<u8>)>,
    actions: VecDeque<SpeakerAction>,
    events: VecDeque<SpeakerEvent>,
}

impl Speaker {
    /// A speaker around `rib` (which holds our AS, router ID and best-path
    /// configuration), with no peers.
    pub fn new(rib: Rib) -> Speaker {
        Speaker {
            rib,
            peers: BTreeMap::new(),
            next_conn: 0,
            transmits: VecDeque::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Adds a peer (Idle until [`Speaker::start`]).
    pub fn add_peer(&mut self, config: PeerConfig) -> Result<PeerId, ConfigError> {
        let session = Session::new(config.session.clone())?;
        let id = self.rib.add_peer(RibPeerConfig {
            peer_as: config.session.peer_as,
            peer_router_id: Ipv4Addr::UNSPECIFIED,
            peer_address: config.address,
            import: config.import,
            export: config.export,
        });
        self.peers.insert(
            id,
            Peer {
                main: Slot {
                    session,
                    conn: None,
                },
                extra: None,
                accepting: false,
            },
        );
        Ok(id)
    }

    /// The peers, in the order they were added.
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.keys().copied()
    }

    /// The RIB.
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// The RIB, to change policies or static routes; call
    /// [`Speaker::handle_timeout`] (or any `handle_*`) afterwards so that
    /// exports go out.
    pub fn rib_mut(&mut self) -> &mut Rib {
        &mut self.rib
    }

    /// The session in use with `peer`.
    ///
    /// # Panics
    /// If `peer` is not one of ours.
    pub fn session(&self, peer: PeerId) -> &Session {
        &self.peer(peer).main.session
    }

    /// The state of the session in use with `peer`.
    pub fn state(&self, peer: PeerId) -> State {
        self.session(peer).state()
    }

    /// Every prefix in the Loc-RIB.
    pub fn loc_rib_prefixes(&self) -> Vec<IpNet> {
        self.rib.iter_best().map(|(p, _)| p).collect()
    }

    fn peer(&self, peer: PeerId) -> &Peer {
        self.peers
            .get(&peer)
            .unwrap_or_else(|| panic!("no peer {peer:?}"))
    }

    fn peer_mut(&mut self, peer: PeerId) -> &mut Peer {
        self.peers
            .get_mut(&peer)
            .unwrap_or_else(|| panic!("no peer {peer:?}"))
    }

    fn new_conn(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    /// ManualStart for `peer`.
    pub fn start(&mut self, peer: PeerId, now: Instant) {
        self.peer_mut(peer).main.session.start(now);
        self.pump(now);
    }

    /// ManualStop for `peer` (Cease 6/2 if connected).
    pub fn stop(&mut self, peer: PeerId, now: Instant) {
        let p = self.peer_mut(peer);
        p.main.session.stop(now);
        if let Some(x) = p.extra.as_mut() {
            x.session.stop(now);
        }
        self.pump(now);
    }

    /// Originates `prefix` with `attrs` (e.g. [`PathAttributes::originated`]
    /// with our address as next hop) and announces it to every peer.
    pub fn originate(&mut self, prefix: IpNet, attrs: PathAttributes, now: Instant) {
        self.rib.originate(prefix, attrs, now);
        self.pump(now);
    }

    /// Stops originating `prefix` (withdrawn from every peer).
    pub fn withdraw(&mut self, prefix: IpNet, now: Instant) {
        self.rib.withdraw_originated(prefix);
        self.pump(now);
    }

    /// Our connection to `peer` (asked for with [`SpeakerAction::Connect`])
    /// is up: returns its id. If the session no longer wants it, it is
    /// closed at once ([`SpeakerAction::Disconnect`]).
    pub fn handle_connected(&mut self, peer: PeerId, now: Instant) -> ConnId {
        let id = self.new_conn();
        let p = self.peer_mut(peer);
        if p.main.session.state() == State::Connect && p.main.conn.is_none() {
            p.main.conn = Some(id);
            p.main.session.handle_connected(now);
        } else {
            self.actions
                .push_back(SpeakerAction::Disconnect { conn: id });
        }
        self.pump(now);
        id
    }

    /// Our connection attempt to `peer` failed.
    pub fn handle_connection_failed(&mut self, peer: PeerId, now: Instant) {
        let p = self.peer_mut(peer);
        if p.main.conn.is_none() {
            p.main.session.handle_connection_failed(now);
        }
        self.pump(now);
    }

    /// The peer connected to us: returns the connection's id, or `None` if
    /// the connection is refused (the session is Idle, or a collision is
    /// already being resolved): close it.
    pub fn handle_incoming(&mut self, peer: PeerId, now: Instant) -> Option<ConnId> {
        let state = self.peers.get(&peer)?.main.session.state();
        let has_extra = self.peer(peer).extra.is_some();
        let id = match state {
            State::Idle => None,
            State::Active => {
                let id = self.new_conn();
                let p = self.peer_mut(peer);
                p.main.conn = Some(id);
                p.main.session.handle_connected(now);
                Some(id)
            }
            _ if has_extra => None,
            _ => {
                let id = self.new_conn();
                let p = self.peer_mut(peer);
                let s = p.main.session.incoming(now);
                p.extra = Some(Slot {
                    session: s,
                    conn: Some(id),
                });
                Some(id)
            }
        };
        self.pump(now);
        id
    }

    fn slot_of(&mut self, conn: ConnId) -> Option<&mut Slot> {
        self.peers.values_mut().find_map(|p| {
            if p.main.conn == Some(conn) {
                Some(&mut p.main)
            } else {
                p.extra.as_mut().filter(|x| x.conn == Some(conn))
            }
        })
    }

    /// Bytes received on `conn` (any chunking). Bytes for a connection the
    /// speaker has already closed are dropped.
    pub fn handle_bytes(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        if let Some(s) = self.slot_of(conn) {
            s.session.handle_bytes(now, data);
        }
        self.pump(now);
    }

    /// The peer closed `conn` (or it broke).
    pub fn handle_closed(&mut self, conn: ConnId, now: Instant) {
        if let Some(s) = self.slot_of(conn) {
            s.conn = None;
            s.session.handle_closed(now);
        }
        self.pump(now);
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for p in self.peers.values_mut() {
            p.main.session.handle_timeout(now);
            if let Some(x) = p.extra.as_mut() {
                x.session.handle_timeout(now);
            }
        }
        self.pump(now);
    }

    /// Bytes to write on a connection.
    pub fn poll_transmit(&mut self) -> Option<(ConnId, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// The next thing the driver must do with TCP.
    pub fn poll_action(&mut self) -> Option<SpeakerAction> {
        self.actions.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SpeakerEvent> {
        self.events.pop_front()
    }

    /// When [`Speaker::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .values()
            .flat_map(|p| {
                [
                    p.main.session.poll_timeout(),
                    p.extra.as_ref().and_then(|x| x.session.poll_timeout()),
                ]
            })
            .flatten()
            .min()
    }

    /// Moves everything the sessions and the RIB produced into the
    /// speaker's queues, feeding each into the other, until both are quiet.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut progress = false;
            let ids: Vec<PeerId> = self.peers.keys().copied().collect();
            for id in ids {
                progress |= self.resolve(id, now);
                progress |= self.drain(id, true, now);
                progress |= self.drain(id, false, now);
                progress |= self.export(id);
            }
            while let Some(e) = self.rib.poll_event() {
                progress = true;
                self.events.push_back(SpeakerEvent::Rib(e));
            }
            if !progress {
                return;
            }
        }
    }

    /// Resolves a collision if one is pending and decidable.
    fn resolve(&mut self, id: PeerId, now: Instant) -> bool {
        let Some(p) = self.peers.get_mut(&id) else {
            return false;
        };
        let Some(x) = p.extra.as_mut() else {
            return false;
        };
        match collision::resolve(now, &mut p.main.session, &mut x.session) {
            Resolution::Pending => false,
            Resolution::KeepFirst => {
                // drain the loser's NOTIFICATION and close, then drop it
                self.drain(id, false, now);
                self.peer_mut(id).extra = None;
                true
            }
            Resolution::KeepSecond => {
                self.drain(id, true, now);
                let p = self.peer_mut(id);
                let x = p.extra.take().expect("checked above");
                p.main = x;
                true
            }
        }
    }

    /// Drains one session of `id` (main or extra): bytes, actions, events.
    fn drain(&mut self, id: PeerId, main: bool, now: Instant) -> bool {
        let mut progress = false;
        let mut events = Vec::new();
        {
            let Some(p) = self.peers.get_mut(&id) else {
                return false;
            };
            let slot = if main {
                &mut p.main
            } else {
                match p.extra.as_mut() {
                    Some(x) => x,
                    None => return false,
                }
            };
            while let Some(bytes) = slot.session.poll_transmit() {
                progress = true;
                if let Some(c) = slot.conn {
                    self.transmits.push_back((c, bytes));
                }
            }
            while let Some(a) = slot.session.poll_action() {
                progress = true;
                match a {
                    Action::Connect => {
                        self.actions.push_back(SpeakerAction::Connect { peer: id });
                    }
                    Action::Disconnect => {
                        if let Some(c) = slot.conn.take() {
                            self.actions
                                .push_back(SpeakerAction::Disconnect { conn: c });
                        }
                    }
                }
            }
            while let Some(e) = slot.session.poll_event() {
                progress = true;
                events.push(e);
            }
        }
        for e in events {
            if main {
                self.on_session_event(id, &e, now);
            }
            self.events
                .push_back(SpeakerEvent::Session { peer: id, event: e });
        }
        progress
    }

    /// The peer's BGP identifier from its OPEN.
    fn negotiated_id(&self, id: PeerId) -> Ipv4Addr {
        self.peer(id)
            .main
            .session
            .negotiated()
            .map(|n| n.peer_id)
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    fn on_session_event(&mut self, id: PeerId, e: &SessionEvent, now: Instant) {
        match e {
            SessionEvent::StateChanged { from, to } => {
                if *to == State::Established {
                    let peer_id = self.negotiated_id(id);
                    self.rib.peer_up(id, peer_id);
                    self.peer_mut(id).accepting = true;
                } else if *from == State::Established {
                    self.peer_mut(id).accepting = false;
                    self.rib.peer_down(id);
                }
            }
            SessionEvent::UpdateReceived(u) => {
                if !self.peer(id).accepting {
                    return;
                }
                if let Err(err) = self.rib.apply_update(id, u, now) {
                    // The RIB has dropped the peer's routes; close with
                    // Cease 6/1 and ignore whatever else the peer sent.
                    let p = self.peer_mut(id);
                    p.accepting = false;
                    p.main.session.notify_and_close(now, err.notification());
                    self.rib.peer_down(id);
                    self.events.push_back(SpeakerEvent::MaxPrefixExceeded {
                        peer: id,
                        error: err,
                    });
                }
            }
            SessionEvent::RouteRefreshReceived(_) if self.peer(id).accepting => {
                // a fresh Adj-RIB-Out: everything is sent again
                let peer_id = self.negotiated_id(id);
                self.rib.peer_up(id, peer_id);
            }
            _ => {}
        }
    }

    /// Sends what the RIB has for an established peer.
    fn export(&mut self, id: PeerId) -> bool {
        let mut progress = false;
        if self.state(id) != State::Established || !self.rib.is_up(id) {
            return false;
        }
        while let Some(u) = self.rib.poll_export(id) {
            progress = true;
            if let Err(e) = self.peer_mut(id).main.session.send_update(u) {
                self.events.push_back(SpeakerEvent::SendFailed {
                    peer: id,
                    reason: e.to_string(),
                });
            }
        }
        progress
    }
}
