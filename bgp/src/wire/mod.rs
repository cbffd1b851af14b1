//! BGP messages (RFC 4271 section 4): the parsed representations. Parsing
//! and emitting live in one file per message type: [`header`], [`open`],
//! [`update`] (with [`attributes`] and [`nlri`]), [`notification`],
//! [`route_refresh`]; [`Message::parse`] frames a byte stream.
//!
//! Parsing errors are [`MessageError`]s carrying the NOTIFICATION the
//! session must send (RFC 4271 section 6); UPDATE attribute errors that RFC
//! 7606 downgrades become treat-as-withdraw or attribute-discard instead
//! (see [`Update::treat_as_withdraw`] and [`UpdateError`]).
//!
//! Why our own codec and not netgauze-bgp-pkt (evaluated for issue 4):
//! netgauze (0.13) parses into its own rich model, but its UPDATE error
//! path either fails the whole message or silently skips a bad attribute
//! (its own source says the mapping "need to be refined in accordance with
//! RFC 7606"): it does not tell treat-as-withdraw from attribute discard
//! per attribute (RFC 7606 section 7), its NOTIFICATION data is empty where
//! RFC 4271 section 6 prescribes the offending attribute, length or type,
//! and it does not merge AS4_PATH / AS4_AGGREGATOR into the path (RFC 6793
//! 4.2.3) nor produce them on send. Those are exactly what the session and
//! the AWS scenarios need, and a wrapper would have to re-parse every
//! attribute to recover them. The BGP subset we speak (IPv4/IPv6 unicast,
//! eleven attributes, five message types) is small enough to own, and this
//! keeps the crate at two dependencies.
use std::net::Ipv4Addr;

pub mod attributes;
pub mod header;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod route_refresh;
pub mod update;

pub use attributes::{ErrorAction, UpdateError};
pub use nlri::{AFI_IPV4, AFI_IPV6, SAFI_UNICAST};
pub use update::encode_updates;

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

impl MessageError {
    /// An error that sends `notification`.
    pub fn new(notification: Notification, reason: impl Into<String>) -> MessageError {
        MessageError {
            notification,
            reason: reason.into(),
        }
    }
}

/// What the session negotiated, which changes how UPDATEs are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH and
    /// AGGREGATOR carry 4-octet AS numbers. Without it they carry 2-octet
    /// ones (AS_TRANS for larger) and AS4_PATH / AS4_AGGREGATOR the truth.
    pub four_octet_as: bool,
    /// IPv4 unicast is active; IPv4 prefixes of an inactive family are
    /// dropped on receipt (RFC 4760 7).
    pub ipv4_unicast: bool,
    /// IPv6 unicast (MP_REACH / MP_UNREACH, AFI 2 SAFI 1) is active.
    pub ipv6_unicast: bool,
    /// The peer is internal (same AS). LOCAL_PREF from an external peer is
    /// discarded (RFC 4271 5.1.5, RFC 7606 7.5).
    pub ibgp: bool,
}

impl Default for Context {
    /// Plain RFC 4271: 2-octet AS, IPv4 unicast only, external peer.
    fn default() -> Context {
        Context {
            four_octet_as: false,
            ipv4_unicast: true,
            ipv6_unicast: false,
            ibgp: false,
        }
    }
}

impl Context {
    /// A context with every family we speak active (IPv4 and IPv6
    /// unicast), external peer.
    pub fn new(four_octet_as: bool) -> Context {
        Context {
            four_octet_as,
            ipv4_unicast: true,
            ipv6_unicast: true,
            ibgp: false,
        }
    }

    /// Whether `afi`/`safi` is active.
    pub fn family_active(&self, afi: u16, safi: u8) -> bool {
        match (afi, safi) {
            (AFI_IPV4, SAFI_UNICAST) => self.ipv4_unicast,
            (AFI_IPV6, SAFI_UNICAST) => self.ipv6_unicast,
            _ => false,
        }
    }
}

/// How much of a byte stream [`Message::parse`] could use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// One whole message and the bytes it took from the front of the
    /// buffer.
    Message(Message, usize),
    /// Not a whole message yet: at least this many bytes are needed in
    /// all (the header's length once the header is in).
    NeedMore(usize),
}

impl Message {
    /// Parses the message at the front of `buf`, a TCP byte stream. The
    /// header is checked as soon as its 19 bytes are in, so a bad marker,
    /// length or type is reported without waiting for the body.
    ///
    /// On error the session sends `err.notification` and closes; the
    /// stream cannot be resynchronised.
    pub fn parse(buf: &[u8], ctx: &Context) -> Result<Parsed, MessageError> {
        Message::parse_with_notes(buf, ctx, &mut Vec::new())
    }

    /// [`Message::parse`], also reporting every RFC 7606 downgrade (an
    /// attribute discarded, an UPDATE treated as withdraw) in `notes`, for
    /// logs.
    pub fn parse_with_notes(
        buf: &[u8],
        ctx: &Context,
        notes: &mut Vec<UpdateError>,
    ) -> Result<Parsed, MessageError> {
        let Some(h) = buf.first_chunk::<HEADER_LEN>() else {
            return Ok(Parsed::NeedMore(HEADER_LEN));
        };
        let header = header::Header::parse(h)?;
        let len = usize::from(header.length);
        let Some(msg) = buf.get(..len) else {
            return Ok(Parsed::NeedMore(len));
        };
        let body = &msg[HEADER_LEN..];
        let message = match header.kind {
            header::TYPE_OPEN => Message::Open(Open::parse_body(body)?),
            header::TYPE_UPDATE => Message::Update(Update::parse_body(body, ctx, notes)?),
            header::TYPE_NOTIFICATION => match Notification::parse_body(body) {
                Some(n) => Message::Notification(n),
                // The header check guarantees 2 octets; unreachable.
                None => return Err(bad_length(header.length)),
            },
            header::TYPE_KEEPALIVE => Message::Keepalive,
            header::TYPE_ROUTE_REFRESH => Message::RouteRefresh(RouteRefresh::parse_body(msg)?),
            // `Header::parse` accepts no other type.
            other => {
                return Err(MessageError::new(
                    Notification::new(
                        notification::codes::MESSAGE_HEADER,
                        notification::codes::BAD_MESSAGE_TYPE,
                        vec![other],
                    ),
                    format!("unknown message type {other}"),
                ))
            }
        };
        Ok(Parsed::Message(message, len))
    }

    /// Appends the message, header included. Every message except a large
    /// UPDATE fits in 4096 octets; split announcements with
    /// [`encode_updates`]. An UPDATE given more than fits is written whole
    /// (its length field is then over 4096 and a peer would reject it).
    pub fn emit(&self, ctx: &Context, out: &mut Vec<u8>) {
        let (kind, at) = match self {
            Message::Open(_) => (header::TYPE_OPEN, out.len()),
            Message::Update(_) => (header::TYPE_UPDATE, out.len()),
            Message::Notification(_) => (header::TYPE_NOTIFICATION, out.len()),
            Message::Keepalive => (header::TYPE_KEEPALIVE, out.len()),
            Message::RouteRefresh(_) => (header::TYPE_ROUTE_REFRESH, out.len()),
        };
        header::Header::start(kind, out);
        match self {
            Message::Open(o) => o.emit_body(out),
            Message::Update(u) => u.emit_body(ctx, out),
            Message::Notification(n) => {
                n.emit_body(out);
                // Data beyond the largest message is cut.
                out.truncate(at + MAX_MESSAGE_LEN);
            }
            Message::Keepalive => {}
            Message::RouteRefresh(r) => r.emit_body(out),
        }
        header::finish(at, out);
    }

    /// The message as bytes.
    pub fn to_bytes(&self, ctx: &Context) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(ctx, &mut out);
        out
    }

    /// The message type's name, for logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Message::Open(_) => "OPEN",
            Message::Update(_) => "UPDATE",
            Message::Notification(_) => "NOTIFICATION",
            Message::Keepalive => "KEEPALIVE",
            Message::RouteRefresh(_) => "ROUTE-REFRESH",
        }
    }
}

fn bad_length(length: u16) -> MessageError {
    MessageError::new(
        Notification::new(
            notification::codes::MESSAGE_HEADER,
            notification::codes::BAD_MESSAGE_LENGTH,
            length.to_be_bytes().to_vec(),
        ),
        format!("bad message length {length}"),
    )
}
