//! The 19-byte message header (RFC 4271 4.1) and its errors (6.1).

use super::notification::codes::*;
use super::{MessageError, Notification, HEADER_LEN, MAX_MESSAGE_LEN};

/// Message type OPEN.
pub const TYPE_OPEN: u8 = 1;
/// Message type UPDATE.
pub const TYPE_UPDATE: u8 = 2;
/// Message type NOTIFICATION.
pub const TYPE_NOTIFICATION: u8 = 3;
/// Message type KEEPALIVE.
pub const TYPE_KEEPALIVE: u8 = 4;
/// Message type ROUTE-REFRESH (RFC 2918).
pub const TYPE_ROUTE_REFRESH: u8 = 5;

/// The marker: sixteen octets of ones.
pub const MARKER: [u8; 16] = [0xff; 16];

/// A checked header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The whole message length, header included.
    pub length: u16,
    /// The message type (1-5).
    pub kind: u8,
}

/// The smallest length of each message type (RFC 4271 4.1-4.5, RFC 2918).
fn min_len(kind: u8) -> Option<usize> {
    Some(match kind {
        TYPE_OPEN => 29,
        TYPE_UPDATE => 23,
        TYPE_NOTIFICATION => 21,
        TYPE_KEEPALIVE => 19,
        // The exact length is checked with its own error (RFC 7313 5).
        TYPE_ROUTE_REFRESH => 19,
        _ => return None,
    })
}

impl Header {
    /// Checks the first 19 bytes of a message in RFC 4271 6.1's order:
    /// marker (1/1), length within 19..=4096 (1/2 with the length field as
    /// data), type (1/3 with the type as data), and the length the type
    /// needs (1/2; a KEEPALIVE is exactly 19).
    pub fn parse(h: &[u8; HEADER_LEN]) -> Result<Header, MessageError> {
        if h[..16] != MARKER {
            return Err(MessageError::new(
                Notification::new(MESSAGE_HEADER, CONNECTION_NOT_SYNCHRONIZED, Vec::new()),
                "marker is not all ones",
            ));
        }
        let length = u16::from_be_bytes([h[16], h[17]]);
        let kind = h[18];
        let bad_len = |why: String| {
            MessageError::new(
                Notification::new(
                    MESSAGE_HEADER,
                    BAD_MESSAGE_LENGTH,
                    length.to_be_bytes().to_vec(),
                ),
                why,
            )
        };
        let l = usize::from(length);
        if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&l) {
            return Err(bad_len(format!("message length {l} outside 19..=4096")));
        }
        let Some(min) = min_len(kind) else {
            return Err(MessageError::new(
                Notification::new(MESSAGE_HEADER, BAD_MESSAGE_TYPE, vec![kind]),
                format!("unknown message type {kind}"),
            ));
        };
        if l < min || (kind == TYPE_KEEPALIVE && l != HEADER_LEN) {
            return Err(bad_len(format!(
                "length {l} impossible for message type {kind}"
            )));
        }
        Ok(Header { length, kind })
    }

    /// Appends a header; the length is patched by [`finish`].
    pub(crate) fn start(kind: u8, out: &mut Vec<u8>) -> usize {
        let at = out.len();
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&[0, 0, kind]);
        at
    }
}

/// Patches the length of the message started at `at`.
pub(crate) fn finish(at: usize, out: &mut [u8]) {
    let len = (out.len() - at).min(usize::from(u16::MAX)) as u16;
    out[at + 16..at + 18].copy_from_slice(&len.to_be_bytes());
}
