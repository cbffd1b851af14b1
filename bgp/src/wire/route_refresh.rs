//! ROUTE-REFRESH (RFC 2918; length check from RFC 7313 5).

use super::notification::codes::{INVALID_MESSAGE_LENGTH, ROUTE_REFRESH};
use super::{MessageError, Notification, RouteRefresh, HEADER_LEN};

impl RouteRefresh {
    /// Parses a whole message (header included: RFC 7313 puts the whole
    /// message in the 7/1 data). The reserved / subtype octet is ignored.
    pub(crate) fn parse_body(msg: &[u8]) -> Result<RouteRefresh, MessageError> {
        match msg.get(HEADER_LEN..) {
            Some(&[a0, a1, _reserved, safi]) => Ok(RouteRefresh {
                afi: u16::from_be_bytes([a0, a1]),
                safi,
            }),
            _ => Err(MessageError::new(
                Notification::new(ROUTE_REFRESH, INVALID_MESSAGE_LENGTH, msg.to_vec()),
                format!("ROUTE-REFRESH of {} octets, not 23", msg.len()),
            )),
        }
    }

    /// Appends the body.
    pub(crate) fn emit_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.afi.to_be_bytes());
        out.push(0);
        out.push(self.safi);
    }
}
