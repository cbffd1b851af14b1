//! A whole IKE message: header plus payload chain.

use super::reader::{len16, Reader};
use super::{Header, ParseError, Payload, PayloadType, GENERIC_HEADER_LEN, HEADER_LEN};

/// Most payloads accepted in one message (or one decrypted chain).
pub const MAX_PAYLOADS: usize = 64;

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
    /// payload chain; the header's length must equal `buf.len()`. An SK or
    /// SKF payload must be the last one; its Next Payload field names its
    /// first inner payload.
    pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
        let header = Header::parse(buf)?;
        let length = usize::try_from(header.length).unwrap_or(usize::MAX);
        if length != buf.len() {
            return Err(ParseError::BadLength {
                what: "IKE header",
                length,
                available: buf.len(),
            });
        }
        let payloads = parse_chain(header.next_payload, &buf[HEADER_LEN..], true)?;
        Ok(Message { header, payloads })
    }

    /// Emits the message, recomputing the header's next-payload and length.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 64 * self.payloads.len());
        let mut header = self.header.clone();
        header.emit(&mut out);
        let first = emit_payloads(&self.payloads, &mut out);
        header.next_payload = first;
        header.length = match u32::try_from(out.len()) {
            Ok(n) => n,
            Err(_) => panic!("IKE message longer than 4 GiB"),
        };
        out[16] = first.0;
        out[24..28].copy_from_slice(&header.length.to_be_bytes());
        out
    }
}

/// Parses a payload chain that starts with a payload of type `first`
/// (used for the decrypted body of an SK payload, where SK and SKF may not
/// appear again).
pub fn parse_payloads(first: PayloadType, buf: &[u8]) -> Result<Vec<Payload>, ParseError> {
    parse_chain(first, buf, false)
}

fn parse_chain(
    first: PayloadType,
    buf: &[u8],
    encrypted_allowed: bool,
) -> Result<Vec<Payload>, ParseError> {
    let mut r = Reader::new("generic payload header", buf);
    let mut payloads = Vec::new();
    let mut next = first;
    while next != PayloadType::NONE {
        if payloads.len() == MAX_PAYLOADS {
            return Err(ParseError::TooManyPayloads(MAX_PAYLOADS));
        }
        let available = r.remaining();
        let head = r.array::<GENERIC_HEADER_LEN>()?;
        let this = next;
        let this_next = PayloadType(head[0]);
        let critical = head[1] & 0x80 != 0;
        let length = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if length < GENERIC_HEADER_LEN || length > available {
            return Err(ParseError::BadLength {
                what: "generic payload header",
                length,
                available,
            });
        }
        let body = r.take(length - GENERIC_HEADER_LEN)?;
        let payload = Payload::parse(this, this_next, critical, body)?;
        if payload.is_encrypted() {
            if !encrypted_allowed {
                return Err(ParseError::InvalidField {
                    what: "payload type inside an Encrypted payload",
                    value: this.0.into(),
                });
            }
            payloads.push(payload);
            break;
        }
        payloads.push(payload);
        next = this_next;
    }
    if !r.is_empty() {
        return Err(ParseError::TrailingData {
            what: if payloads.last().is_some_and(Payload::is_encrypted) {
                "after the Encrypted payload, which must be last"
            } else {
                "after the last payload"
            },
            count: r.remaining(),
        });
    }
    Ok(payloads)
}

/// Appends the chain of `payloads` to `out` and returns the type of the
/// first one (`PayloadType::NONE` when empty). The last payload's next
/// payload field is NONE, except an Encrypted payload's, which names its
/// first inner payload. An Encrypted or Encrypted Fragment payload must be
/// the last of `payloads`.
pub fn emit_payloads(payloads: &[Payload], out: &mut Vec<u8>) -> PayloadType {
    for (i, p) in payloads.iter().enumerate() {
        let next = match p {
            Payload::Encrypted(e) => e.first_inner,
            Payload::EncryptedFragment(f) => f.first_inner,
            _ => payloads
                .get(i + 1)
                .map_or(PayloadType::NONE, Payload::payload_type),
        };
        debug_assert!(
            !p.is_encrypted() || i + 1 == payloads.len(),
            "the Encrypted payload must be the last"
        );
        let start = out.len();
        out.push(next.0);
        out.push(if p.critical() { 0x80 } else { 0 });
        out.extend_from_slice(&[0, 0]);
        p.emit_body(out);
        let len = len16(out.len() - start, "payload");
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }
    payloads
        .first()
        .map_or(PayloadType::NONE, Payload::payload_type)
}
