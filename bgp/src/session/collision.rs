//! Connection collision detection (RFC 4271 6.8, RFC 6286 2.3).
//!
//! Both peers may connect to each other at once; the session on each
//! connection is a [`Session`] of its own (the second one from
//! [`Session::incoming`]). Once the peer's BGP identifier is known (one of
//! them has received its OPEN), the connection to keep is decided the same
//! way on both sides: if our identifier is the higher, the one we opened;
//! otherwise the one the peer opened. Equal identifiers (allowed between
//! ASes) favour the connection opened by the higher AS. A connection that
//! collides with an Established one is always the one closed. A session
//! without a connection (Idle, Active, or still in Connect, whose attempt is
//! then abandoned) gives way at once to one that has a connection, as the
//! RFC's Connect and Active states take an incoming connection.

use std::time::Instant;

use super::{Direction, Session, State};

/// What [`resolve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Not yet decidable (neither has the peer's identifier): drive both
    /// and ask again.
    Pending,
    /// Keep the first session; the second is closed (Cease 6/7 if it had a
    /// connection): drain its output, then drop it.
    KeepFirst,
    /// Keep the second session; the first is closed likewise.
    KeepSecond,
}

/// Whether a session holds a connection.
fn live(s: &Session) -> bool {
    s.state.is_connected()
}

/// Decides between two sessions with the same peer, closing the loser.
/// Call it after each step of either session until it returns something
/// other than [`Resolution::Pending`]. A session without a connection
/// loses at once (when neither has one, the first is kept).
pub fn resolve(now: Instant, first: &mut Session, second: &mut Session) -> Resolution {
    let keep_first = if !live(second) {
        true
    } else if !live(first) {
        false
    } else if first.state == State::Established {
        true
    } else if second.state == State::Established {
        false
    } else {
        let Some(peer) = first.negotiated().or(second.negotiated()) else {
            return Resolution::Pending;
        };
        let (peer_id, peer_as) = (peer.peer_id, peer.peer_as);
        let config = first.config();
        let keep_outgoing =
            config.bgp_id > peer_id || (config.bgp_id == peer_id && config.local_as > peer_as);
        let first_out = first.direction == Some(Direction::Outgoing);
        let second_out = second.direction == Some(Direction::Outgoing);
        if first_out == second_out {
            // Two connections the same way: not a collision the RFC
            // describes; keep the older.
            true
        } else {
            first_out == keep_outgoing
        }
    };
    if keep_first {
        second.dismiss(now);
        Resolution::KeepFirst
    } else {
        first.dismiss(now);
        Resolution::KeepSecond
    }
}
