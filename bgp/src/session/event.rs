//! What a session reports: states, events, actions for the driver, and
//! what was negotiated.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::config::Family;
use crate::wire::{Notification, Open, RouteRefresh, Update};

/// The session states of RFC 4271 section 8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Refusing connections; waiting for a start (manual or automatic).
    Idle,
    /// Waiting for our outgoing TCP connection.
    Connect,
    /// Waiting for the peer's TCP connection (and, unless passive, for the
    /// ConnectRetryTimer to try again ourselves).
    Active,
    /// Connected, our OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Up: UPDATEs flow.
    Established,
}

impl State {
    /// The RFC's name ("OpenConfirm"), as AWS's BGP logs print it.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
    /// Whether the session holds a TCP connection (OpenSent and after).
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            State::OpenSent | State::OpenConfirm | State::Established
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who opened the TCP connection a session runs on (for collision
/// resolution, RFC 4271 6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We connected to the peer.
    Outgoing,
    /// The peer connected to us.
    Incoming,
}

/// What the driver must do with TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open a TCP connection to the peer (port 179), then report
    /// [`super::Session::handle_connected`] or
    /// [`super::Session::handle_connection_failed`].
    Connect,
    /// Close the connection (after writing every byte already taken from
    /// [`super::Session::poll_transmit`]), or abandon the connection
    /// attempt in progress.
    Disconnect,
}

/// What was agreed in the OPEN exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS.
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// The hold time in use: the lower of both proposals (0: none).
    pub hold_time: u16,
    /// The interval between our KEEPALIVEs (`None` when the hold time is 0).
    pub keepalive: Option<Duration>,
    /// Both sides sent the 4-octet AS capability.
    pub four_octet_as: bool,
    /// The peer sent the route refresh capability.
    pub route_refresh: bool,
    /// The families both sides offered.
    pub families: Vec<Family>,
    /// The peer's OPEN as received.
    pub peer_open: Open,
}

/// Something that happened, for the owner to log or act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The state changed (every transition is reported).
    StateChanged {
        /// The state before.
        from: State,
        /// The state after.
        to: State,
    },
    /// The session reached Established (after the `StateChanged`).
    Established {
        /// The peer's AS.
        peer_as: u32,
        /// The peer's BGP identifier.
        peer_id: Ipv4Addr,
        /// The negotiated hold time in seconds.
        hold_time: u16,
        /// 4-octet AS numbers are in use.
        four_octet_as: bool,
    },
    /// An UPDATE arrived (in Established), in order of arrival. When its
    /// `treat_as_withdraw` is set, every announced prefix is a withdrawal.
    UpdateReceived(Update),
    /// We sent this NOTIFICATION (the connection is then closed).
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION (the connection is then closed).
    NotificationReceived(Notification),
    /// The peer asked for our routes again (RFC 2918), for a family the
    /// session carries.
    RouteRefreshReceived(RouteRefresh),
}

/// Counters, for status pages and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Messages received (all types).
    pub messages_received: u64,
    /// Messages sent (all types).
    pub messages_sent: u64,
    /// UPDATEs received.
    pub updates_received: u64,
    /// UPDATEs sent.
    pub updates_sent: u64,
    /// KEEPALIVEs sent.
    pub keepalives_sent: u64,
    /// Transitions to Established.
    pub established: u64,
    /// Connection attempts asked of the driver.
    pub connect_attempts: u64,
    /// Bytes handed to the session while it had no connection (dropped).
    pub stray_bytes: u64,
}
