//! BGP messages (RFC 4271 section 4): the parsed representations. Parsing
//! and emitting live in one file per message type.
//!
//! Parsing errors are [`MessageError`]s carrying the NOTIFICATION the
//! session must send (RFC 4271 section 6); UPDATE attribute errors that RFC
//! 7606 downgrades become treat-as-withdraw or attribute-discard instead
//! (see [`Update::treat_as_withdraw`]).

use std::net::Ipv4Addr;

use crate::route::{IpNet, PathAttributes};

/// Largest BGP message without the extended-message capability.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The 19-byte header: 16-byte marker, length, type.
pub const HEADER_LEN: usize = 19;

/// A capability in OPEN (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Multiprotocol extensions (RFC 4760): AFI, SAFI.
    Multiprotocol {
        /// Address family (1 IPv4, 2 IPv6).
        afi: u16,
        /// Subsequent AFI (1 unicast).
        safi: u8,
    },
    /// Route refresh (RFC 2918).
    RouteRefresh,
    /// 4-octet AS numbers (RFC 6793) with our AS.
    FourOctetAs(u32),
    /// Anything else, kept and ignored: (code, value).
    Unknown(u8, Vec<u8>),
}

/// OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Version (4).
    pub version: u8,
    /// The sender's AS: the 4-octet one when the capability is present,
    /// otherwise the 2-octet field.
    pub asn: u32,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities.
    pub capabilities: Vec<Capability>,
}

/// UPDATE, with IPv4 NLRI and MP_REACH/MP_UNREACH folded into prefix lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn prefixes (IPv4 withdrawn routes and MP_UNREACH_NLRI).
    pub withdrawn: Vec<IpNet>,
    /// Path attributes for `announced`; `None` when nothing is announced.
    pub attributes: Option<PathAttributes>,
    /// Announced prefixes (IPv4 NLRI and MP_REACH_NLRI).
    pub announced: Vec<IpNet>,
    /// RFC 7606: the attributes were malformed in a way that makes every
    /// announced prefix a withdrawal.
    pub treat_as_withdraw: bool,
}

/// NOTIFICATION (RFC 4271 4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Vec<u8>,
}

/// ROUTE-REFRESH (RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefresh {
    /// AFI.
    pub afi: u16,
    /// SAFI.
    pub safi: u8,
}

/// A BGP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// A message that cannot be accepted, with the NOTIFICATION to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (NOTIFICATION {} / {})", notification.code, notification.subcode)]
pub struct MessageError {
    /// What to send the peer before closing.
    pub notification: Notification,
    /// What was wrong, for logs and tests.
    pub reason: String,
}
