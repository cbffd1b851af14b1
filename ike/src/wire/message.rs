//! A whole IKE message: header plus payload chain.

use super::{Header, ParseError, Payload, PayloadType};

/// A parsed IKE message. An Encrypted payload, if any, is the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The header; `next_payload` and `length` are recomputed by `emit`.
    pub header: Header,
    /// The payloads in order.
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Parses a whole datagram (without the non-ESP marker): header, then the
    /// payload chain; the header's length must equal `buf.len()`.
    pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
        let _ = buf;
        todo!("codec")
    }

    /// Emits the message, recomputing the header's next-payload and length.
    pub fn emit(&self) -> Vec<u8> {
        todo!("codec")
    }
}

/// Parses a payload chain that starts with a payload of type `first`
/// (used for the decrypted body of an SK payload).
pub fn parse_payloads(first: PayloadType, buf: &[u8]) -> Result<Vec<Payload>, ParseError> {
    let _ = (first, buf);
    todo!("codec")
}

/// Appends the chain of `payloads` to `out` and returns the type of the
/// first one (`PayloadType::NONE` when empty). The last payload's next
/// payload field is NONE, except an Encrypted payload's, which names its
/// first inner payload.
pub fn emit_payloads(payloads: &[Payload], out: &mut Vec<u8>) -> PayloadType {
    let _ = (payloads, out);
    todo!("codec")
}
