//! The BGP session: the RFC 4271 section 8 state machine for one peer over
//! one TCP byte stream, sans-IO.
//!
//! The session is driven from outside, like `ike::sa::IkeSa`: call
//! [`Session::start`] (ManualStart), report TCP with
//! [`Session::handle_connected`], [`Session::handle_connection_failed`],
//! [`Session::handle_closed`] and [`Session::handle_bytes`] (any chunking),
//! and deadlines with [`Session::handle_timeout`]. After each call drain, in
//! this order, [`Session::poll_transmit`] (bytes to write on the
//! connection), [`Session::poll_action`] ([`Action::Connect`] /
//! [`Action::Disconnect`]: a NOTIFICATION is always queued before the
//! `Disconnect` that follows it) and [`Session::poll_event`], then sleep
//! until [`Session::poll_timeout`]. The session never reads a clock and
//! never touches a socket.
//!
//! Timers (`timer.rs`, one table): ConnectRetry, Hold (4 minutes while
//! OpenSent, then the negotiated hold time: the lower of both proposals, 0
//! meaning no hold timer and no keepalives), Keepalive (a third of the hold
//! time unless configured lower) and IdleHold (the automatic restart after
//! an error, [`SessionConfig::restart_time`]).
//!
//! Deviations from the letter of RFC 4271 8.2.2, as BIRD and FRR do it: a
//! failed connection attempt goes to Active (to retry when the
//! ConnectRetryTimer expires) rather than Idle; a passive session never
//! connects and waits in Active; any message from the peer restarts the
//! hold timer; KEEPALIVEs keep their own cadence whatever UPDATEs are sent.
//!
//! Connection collisions (RFC 4271 6.8): a session holds one connection.
//! When the peer connects while the session holds or is opening a
//! connection, the driver takes a second session for it with
//! [`Session::incoming`], drives both, and calls [`collision::resolve`]
//! after each step until it names the one to keep; the other is closed
//! (Cease 6/7, Connection Collision Resolution, when it had a connection)
//! and is dropped once drained. While the session is Active (waiting for
//! the peer), [`Session::handle_connected`] adopts an incoming connection
//! directly. While it is Idle, connections are refused.
//!
//! Two sessions back to back, the driver's part reduced to moving bytes:
//!
//! ```
//! use std::net::Ipv4Addr;
//! use std::time::Instant;
//! use bgp::session::{Action, Session, SessionConfig, State};
//!
//! let now = Instant::now();
//! let cgw_id = Ipv4Addr::new(169, 254, 15, 194);
//! let mut cgw = Session::new(SessionConfig::new(65000, 64512, cgw_id)).unwrap();
//! let mut aws_config = SessionConfig::new(64512, 65000, Ipv4Addr::new(169, 254, 15, 193));
//! aws_config.passive = true;
//! let mut aws = Session::new(aws_config).unwrap();
//! aws.start(now); // Active: waits for the CGW
//! cgw.start(now); // Connect
//! assert_eq!(cgw.poll_action(), Some(Action::Connect));
//! // The driver's TCP connection is up at both ends.
//! cgw.handle_connected(now);
//! aws.handle_connected(now);
//! for _ in 0..2 {
//!     while let Some(b) = cgw.poll_transmit() {
//!         aws.handle_bytes(now, &b);
//!     }
//!     while let Some(b) = aws.poll_transmit() {
//!         cgw.handle_bytes(now, &b);
//!     }
//! }
//! assert_eq!(cgw.state(), State::Established);
//! assert_eq!(aws.state(), State::Established);
//! // Next wake-up: the first KEEPALIVE, 10 s on.
//! assert_eq!(cgw.poll_timeout(), Some(now + std::time::Duration::from_secs(10)));
//! ```

pub mod collision;
mod config;
mod event;
mod open;
mod timer;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use config::{ConfigError, Family, SessionConfig};
pub use event::{Action, Direction, Negotiated, SessionEvent, SessionStats, State};

use crate::route::{IpNet, PathAttributes};
use crate::wire::notification::codes::{
    ADMIN_SHUTDOWN, BAD_MESSAGE_LENGTH, FSM_UNEXPECTED_IN_ESTABLISHED,
    FSM_UNEXPECTED_IN_OPENCONFIRM, FSM_UNEXPECTED_IN_OPENSENT, MESSAGE_HEADER,
};
use crate::wire::{
    encode_updates, Context, Message, MessageError, Notification, Parsed, RouteRefresh, Update,
    MAX_MESSAGE_LEN,
};
use timer::{Timer, TimerTable};

/// The hold time while waiting for the peer's OPEN (RFC 4271 8.2.2
/// suggests 4 minutes).
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// Why [`Session::send_update`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// UPDATEs and ROUTE-REFRESHes go out only in Established.
    #[error("session not established (state {0})")]
    NotEstablished(State),
    /// The message could not be encoded (too long, or an attribute the
    /// negotiated capabilities cannot carry).
    #[error("cannot encode: {0}")]
    Encode(String),
}

/// One BGP session: one peer, at most one TCP connection.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    direction: Option<Direction>,
    timers: TimerTable,
    /// Received bytes not yet parsed (less than one message).
    rx: Vec<u8>,
    /// Bytes to write.
    tx: Vec<u8>,
    actions: VecDeque<Action>,
    events: VecDeque<SessionEvent>,
    negotiated: Option<Negotiated>,
    /// An `Action::Connect` is outstanding.
    connecting: bool,
    /// Automatic restart is allowed (not after ManualStop or a lost
    /// collision).
    auto_restart: bool,
    stats: SessionStats,
}

impl Session {
    /// A session in Idle; nothing happens until [`Session::start`].
    pub fn new(config: SessionConfig) -> Result<Session, ConfigError> {
        config.validate()?;
        Ok(Session::blank(config))
    }

    fn blank(config: SessionConfig) -> Session {
        Session {
            config,
            state: State::Idle,
            direction: None,
            timers: TimerTable::default(),
            rx: Vec::new(),
            tx: Vec::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            negotiated: None,
            connecting: false,
            auto_restart: false,
            stats: SessionStats::default(),
        }
    }

    /// A second session, with this one's configuration, for a connection
    /// the peer opened while this session holds or is opening one (a
    /// possible collision, RFC 4271 6.8). It starts in OpenSent (our OPEN
    /// queued, reported as a change from Active). Drive both and call
    /// [`collision::resolve`] after each step.
    pub fn incoming(&self, now: Instant) -> Session {
        let mut s = Session::blank(self.config.clone());
        s.auto_restart = true;
        s.state = State::Active;
        s.handle_connected(now);
        s
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }
    /// The state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Who opened the connection in use (`None` without one).
    pub fn direction(&self) -> Option<Direction> {
        self.direction
    }
    /// What the OPEN exchange agreed (from OpenConfirm on).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }
    /// Counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// ManualStart (RFC 4271 event 1, or event 4 when passive): from Idle,
    /// connect (Connect) or wait for the peer (Active). Ignored in other
    /// states. Enables the automatic restart.
    pub fn start(&mut self, now: Instant) {
        self.auto_restart = true;
        if self.state == State::Idle {
            self.timers.stop(Timer::IdleHold);
            self.begin(now);
        }
    }

    /// ManualStop (event 2): Cease 6/2 (Administrative Shutdown) if
    /// connected, close, Idle; no automatic restart until the next
    /// [`Session::start`].
    pub fn stop(&mut self, now: Instant) {
        self.auto_restart = false;
        self.close(now, Some(Notification::shutdown(ADMIN_SHUTDOWN, "")));
    }

    /// The connection is up: ours (asked for with [`Action::Connect`], in
    /// Connect) or the peer's (accepted while Active). Sends OPEN and goes
    /// to OpenSent. In Idle the connection is refused
    /// ([`Action::Disconnect`]); when a connection is already in use it is
    /// ignored (use [`Session::incoming`]).
    pub fn handle_connected(&mut self, now: Instant) {
        let direction = match self.state {
            State::Connect => Direction::Outgoing,
            State::Active => Direction::Incoming,
            State::Idle => {
                self.actions.push_back(Action::Disconnect);
                return;
            }
            _ => return,
        };
        self.connecting = false;
        self.direction = Some(direction);
        self.timers.stop(Timer::ConnectRetry);
        self.rx.clear();
        self.tx.clear();
        let open = open::build(&self.config);
        self.transmit(&Message::Open(open));
        self.timers.set(Timer::Hold, now + OPEN_HOLD_TIME);
        self.set_state(State::OpenSent);
    }

    /// Our connection attempt failed (TcpConnectionFails): wait in Active
    /// for the ConnectRetryTimer or the peer. On an established connection
    /// it is the same as [`Session::handle_closed`].
    pub fn handle_connection_failed(&mut self, now: Instant) {
        match self.state {
            State::Connect => {
                self.connecting = false;
                if self.timers.deadline(Timer::ConnectRetry).is_none() {
                    self.timers
                        .set(Timer::ConnectRetry, now + self.config.connect_retry);
                }
                self.set_state(State::Active);
            }
            s if s.is_connected() => self.handle_closed(now),
            _ => {}
        }
    }

    /// The peer closed the connection (or it broke). In OpenSent: back to
    /// Active to retry (RFC 4271); in OpenConfirm and Established: Idle,
    /// with the automatic restart if configured.
    pub fn handle_closed(&mut self, now: Instant) {
        match self.state {
            State::Connect => self.handle_connection_failed(now),
            State::OpenSent => {
                self.drop_connection();
                self.timers.stop_all();
                if !self.config.passive {
                    self.timers
                        .set(Timer::ConnectRetry, now + self.config.connect_retry);
                }
                self.set_state(State::Active);
            }
            State::OpenConfirm | State::Established => {
                self.drop_connection();
                self.enter_idle(now);
            }
            State::Idle | State::Active => {}
        }
    }

    /// Bytes from the connection, in any chunking. Complete messages are
    /// processed in order; an error sends the codec's NOTIFICATION and
    /// closes. Bytes arriving without a connection are counted and dropped.
    pub fn handle_bytes(&mut self, now: Instant, data: &[u8]) {
        if !self.state.is_connected() {
            self.stats.stray_bytes += data.len() as u64;
            return;
        }
        self.rx.extend_from_slice(data);
        let mut pos = 0;
        loop {
            let rest = &self.rx[pos..];
            match self.parse(rest) {
                Ok(Some((msg, used))) if used > 0 && used <= rest.len() => {
                    pos += used;
                    self.stats.messages_received += 1;
                    self.on_message(now, msg);
                    if !self.state.is_connected() {
                        self.rx.clear();
                        return;
                    }
                }
                Ok(Some(_)) => {
                    // A codec that consumes nothing would loop forever.
                    self.close(now, Some(header_error(BAD_MESSAGE_LENGTH)));
                    return;
                }
                Ok(None) => {
                    if rest.len() > MAX_MESSAGE_LEN {
                        self.close(now, Some(header_error(BAD_MESSAGE_LENGTH)));
                        return;
                    }
                    break;
                }
                Err(e) => {
                    self.close(now, Some(e.notification));
                    return;
                }
            }
        }
        self.rx.drain(..pos);
    }

    /// Processes every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.expired(now) {
            match t {
                Timer::ConnectRetry => match self.state {
                    State::Connect => {
                        // The attempt is taking too long: abandon it and try
                        // again.
                        self.actions.push_back(Action::Disconnect);
                        self.connect(now);
                    }
                    State::Active if !self.config.passive => {
                        self.connect(now);
                        self.set_state(State::Connect);
                    }
                    _ => {}
                },
                Timer::Hold => {
                    if self.state.is_connected() {
                        self.close(now, Some(Notification::hold_timer_expired()));
                    }
                }
                Timer::Keepalive => {
                    if matches!(self.state, State::OpenConfirm | State::Established) {
                        self.send_keepalive(now);
                    }
                }
                Timer::IdleHold => {
                    if self.state == State::Idle && self.auto_restart {
                        self.begin(now);
                    }
                }
            }
        }
    }

    /// Queues an UPDATE (Established only).
    pub fn send_update(&mut self, update: Update) -> Result<(), SendError> {
        self.send_established(&Message::Update(update))?;
        self.stats.updates_sent += 1;
        Ok(())
    }

    /// Announces `prefixes` with `attrs` in as few UPDATEs as fit (the
    /// codec's [`crate::wire::encode_updates`], one family per message,
    /// order kept); Established only. Returns the number of UPDATEs queued.
    pub fn send_announcements(
        &mut self,
        attrs: &PathAttributes,
        prefixes: &[IpNet],
    ) -> Result<usize, SendError> {
        if self.state != State::Established {
            return Err(SendError::NotEstablished(self.state));
        }
        let messages = encode_updates(attrs, prefixes, &self.codec_context())
            .map_err(|e| SendError::Encode(e.to_string()))?;
        for m in &messages {
            self.tx.extend_from_slice(m);
        }
        let n = messages.len();
        self.stats.messages_sent += n as u64;
        self.stats.updates_sent += n as u64;
        Ok(n)
    }

    /// Withdraws `prefixes` in as few UPDATEs as needed (IPv4 in the
    /// withdrawn routes field, IPv6 in MP_UNREACH_NLRI; order kept within
    /// each family); Established only. Returns the number of UPDATEs queued.
    pub fn send_withdrawals(&mut self, prefixes: &[IpNet]) -> Result<usize, SendError> {
        if self.state != State::Established {
            return Err(SendError::NotEstablished(self.state));
        }
        // At most 17 octets a prefix: 200 fit in 4096 with any overhead.
        const PER_UPDATE: usize = 200;
        let (v4, v6): (Vec<IpNet>, Vec<IpNet>) =
            prefixes.iter().partition(|p| matches!(p, IpNet::V4(_)));
        let mut n = 0;
        for family in [v4, v6] {
            for chunk in family.chunks(PER_UPDATE) {
                self.send_update(Update {
                    withdrawn: chunk.to_vec(),
                    ..Update::default()
                })?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Asks the peer to send its routes again (RFC 2918; Established only).
    pub fn send_route_refresh(&mut self, family: Family) -> Result<(), SendError> {
        let (afi, safi) = family.afi_safi();
        self.send_established(&Message::RouteRefresh(RouteRefresh { afi, safi }))
    }

    /// Sends `notification` and closes the connection, going Idle with the
    /// automatic restart if configured (how a speaker enforces a maximum
    /// prefix limit with Cease 6/1). Without a connection, nothing happens.
    pub fn notify_and_close(&mut self, now: Instant, notification: Notification) {
        if self.state.is_connected() {
            self.close(now, Some(notification));
        }
    }

    /// Bytes to write on the connection (everything queued, in order).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.tx.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.tx))
        }
    }
    /// The next thing the driver must do with TCP.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
    /// When [`Session::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    // ---- internals ----

    fn set_state(&mut self, to: State) {
        if self.state != to {
            let from = self.state;
            self.state = to;
            self.events
                .push_back(SessionEvent::StateChanged { from, to });
        }
    }

    /// ManualStart / AutomaticStart from Idle.
    fn begin(&mut self, now: Instant) {
        if self.config.passive {
            self.set_state(State::Active);
        } else {
            self.connect(now);
            self.set_state(State::Connect);
        }
    }

    fn connect(&mut self, now: Instant) {
        self.timers
            .set(Timer::ConnectRetry, now + self.config.connect_retry);
        self.connecting = true;
        self.stats.connect_attempts += 1;
        self.actions.push_back(Action::Connect);
    }

    /// Forgets the connection (the driver has already lost it).
    fn drop_connection(&mut self) {
        self.rx.clear();
        self.tx.clear();
        self.negotiated = None;
        self.direction = None;
        self.connecting = false;
    }

    /// Closes whatever connection there is (with `notification` when one
    /// is up) and goes Idle.
    fn close(&mut self, now: Instant, notification: Option<Notification>) {
        if self.state.is_connected() {
            if let Some(n) = notification {
                self.transmit(&Message::Notification(n.clone()));
                self.events.push_back(SessionEvent::NotificationSent(n));
            }
            self.actions.push_back(Action::Disconnect);
        } else if self.connecting {
            self.actions.push_back(Action::Disconnect);
        }
        self.rx.clear();
        self.negotiated = None;
        self.direction = None;
        self.connecting = false;
        self.enter_idle(now);
    }

    /// Idle, with the automatic restart armed when allowed.
    fn enter_idle(&mut self, now: Instant) {
        self.timers.stop_all();
        self.set_state(State::Idle);
        if self.auto_restart {
            if let Some(d) = self.config.restart_time {
                self.timers.set(Timer::IdleHold, now + d);
            }
        }
    }

    /// Leaves a lost collision: closes with Cease 6/7 if connected,
    /// otherwise goes quietly (no events), never to restart.
    fn dismiss(&mut self, now: Instant) {
        self.auto_restart = false;
        if self.state.is_connected() {
            self.close(now, Some(Notification::connection_collision()));
        } else {
            if self.connecting {
                self.actions.push_back(Action::Disconnect);
            }
            self.connecting = false;
            self.timers.stop_all();
            self.state = State::Idle;
        }
    }

    fn on_message(&mut self, now: Instant, msg: Message) {
        // Any message shows the peer is alive (RFC 4271 names KEEPALIVE
        // and UPDATE; BIRD and FRR take any).
        if let Some(hold) = self.hold_duration() {
            if self.state != State::OpenSent {
                self.timers.set(Timer::Hold, now + hold);
            }
        }
        let fsm_subcode = match self.state {
            State::OpenSent => FSM_UNEXPECTED_IN_OPENSENT,
            State::OpenConfirm => FSM_UNEXPECTED_IN_OPENCONFIRM,
            _ => FSM_UNEXPECTED_IN_ESTABLISHED,
        };
        match (self.state, msg) {
            (_, Message::Notification(n)) => {
                self.events.push_back(SessionEvent::NotificationReceived(n));
                self.actions.push_back(Action::Disconnect);
                self.drop_connection();
                self.enter_idle(now);
            }
            (State::OpenSent, Message::Open(o)) => match open::negotiate(&self.config, o) {
                Ok(neg) => self.on_open(now, neg),
                Err(n) => self.close(now, Some(n)),
            },
            (State::OpenConfirm, Message::Keepalive) => {
                let Some(neg) = &self.negotiated else {
                    return;
                };
                let ev = SessionEvent::Established {
                    peer_as: neg.peer_as,
                    peer_id: neg.peer_id,
                    hold_time: neg.hold_time,
                    four_octet_as: neg.four_octet_as,
                };
                self.stats.established += 1;
                self.set_state(State::Established);
                self.events.push_back(ev);
            }
            (State::Established, Message::Keepalive) => {}
            (State::Established, Message::Update(u)) => {
                self.stats.updates_received += 1;
                self.events.push_back(SessionEvent::UpdateReceived(u));
            }
            (State::Established, Message::RouteRefresh(r)) => {
                let carried = Family::from_afi_safi(r.afi, r.safi).is_some_and(|f| {
                    self.negotiated
                        .as_ref()
                        .is_some_and(|n| n.families.contains(&f))
                });
                // RFC 2918: a family not negotiated is ignored.
                if carried {
                    self.events.push_back(SessionEvent::RouteRefreshReceived(r));
                }
            }
            _ => {
                self.close(now, Some(Notification::fsm_error(fsm_subcode)));
            }
        }
    }

    fn on_open(&mut self, now: Instant, neg: Negotiated) {
        self.timers.stop(Timer::ConnectRetry);
        match (neg.hold_time, neg.keepalive) {
            (0, _) | (_, None) => {
                self.timers.stop(Timer::Hold);
                self.timers.stop(Timer::Keepalive);
            }
            (h, Some(k)) => {
                self.timers
                    .set(Timer::Hold, now + Duration::from_secs(h.into()));
                self.timers.set(Timer::Keepalive, now + k);
            }
        }
        self.negotiated = Some(neg);
        self.transmit(&Message::Keepalive);
        self.stats.keepalives_sent += 1;
        self.set_state(State::OpenConfirm);
    }

    fn send_keepalive(&mut self, now: Instant) {
        self.transmit(&Message::Keepalive);
        self.stats.keepalives_sent += 1;
        if let Some(k) = self.negotiated.as_ref().and_then(|n| n.keepalive) {
            self.timers.set(Timer::Keepalive, now + k);
        }
    }

    /// The negotiated hold time, when there is one (not 0).
    fn hold_duration(&self) -> Option<Duration> {
        self.negotiated
            .as_ref()
            .filter(|n| n.hold_time != 0)
            .map(|n| Duration::from_secs(n.hold_time.into()))
    }

    fn send_established(&mut self, msg: &Message) -> Result<(), SendError> {
        if self.state != State::Established {
            return Err(SendError::NotEstablished(self.state));
        }
        let bytes = self.encode(msg).map_err(SendError::Encode)?;
        self.tx.extend_from_slice(&bytes);
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Queues a message we build ourselves (always encodable).
    fn transmit(&mut self, msg: &Message) {
        if let Ok(bytes) = self.encode(msg) {
            self.tx.extend_from_slice(&bytes);
            self.stats.messages_sent += 1;
        }
    }
}

impl Session {
    /// How the codec must read and write UPDATEs on this session: what the
    /// OPENs agreed, or plain RFC 4271 before that.
    pub fn codec_context(&self) -> Context {
        match &self.negotiated {
            Some(n) => Context {
                four_octet_as: n.four_octet_as,
                ipv4_unicast: n.families.contains(&Family::Ipv4Unicast),
                ipv6_unicast: n.families.contains(&Family::Ipv6Unicast),
                ibgp: self.config.local_as == self.config.peer_as,
            },
            None => Context::default(),
        }
    }

    /// The message at the front of `buf`, with the bytes it took, or
    /// `None` until it is all in.
    fn parse(&self, buf: &[u8]) -> Result<Option<(Message, usize)>, MessageError> {
        match Message::parse(buf, &self.codec_context())? {
            Parsed::Message(m, used) => Ok(Some((m, used))),
            Parsed::NeedMore(_) => Ok(None),
        }
    }

    /// The message as bytes; an error when it is longer than BGP allows.
    fn encode(&self, msg: &Message) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        msg.emit(&self.codec_context(), &mut out);
        if out.len() > MAX_MESSAGE_LEN {
            return Err(format!(
                "{} of {} octets (at most {MAX_MESSAGE_LEN})",
                msg.kind_name(),
                out.len()
            ));
        }
        Ok(out)
    }
}

/// A Message Header Error NOTIFICATION.
fn header_error(subcode: u8) -> Notification {
    Notification::new(MESSAGE_HEADER, subcode, Vec::new())
}
