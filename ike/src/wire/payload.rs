//! The payload enum and the generic payload header (RFC 7296 3.2).

use super::{
    Authentication, Delete, Encrypted, EncryptedFragment, Identification, KeyExchange, Nonce,
    Notify, ParseError, PayloadType, SaPayload, TrafficSelectors, VendorId,
};

/// Length of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;

/// One parsed payload. The generic header (next payload, critical bit,
/// length) is implied by the position in the chain and recomputed on emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Security Association.
    Sa(SaPayload),
    /// Key Exchange.
    Ke(KeyExchange),
    /// Nonce (Ni or Nr).
    Nonce(Nonce),
    /// Identification of the initiator.
    IdI(Identification),
    /// Identification of the responder.
    IdR(Identification),
    /// Authentication.
    Auth(Authentication),
    /// Notify.
    Notify(Notify),
    /// Delete.
    Delete(Delete),
    /// Vendor ID.
    Vendor(VendorId),
    /// Traffic selectors of the initiator.
    TsI(TrafficSelectors),
    /// Traffic selectors of the responder.
    TsR(TrafficSelectors),
    /// Encrypted and authenticated (SK), body still protected.
    Encrypted(Encrypted),
    /// Encrypted fragment (SKF, RFC 7383), body still protected.
    EncryptedFragment(EncryptedFragment),
    /// A payload type we do not implement, kept so the critical bit can be
    /// honoured (UNSUPPORTED_CRITICAL_PAYLOAD) and the rest ignored.
    Unknown(UnknownPayload),
}

/// A payload we do not understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPayload {
    /// Its type.
    pub payload_type: PayloadType,
    /// The critical bit of its generic header.
    pub critical: bool,
    /// The body after the generic header.
    pub body: Vec<u8>,
}

impl Payload {
    /// The payload type this payload is carried as.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Payload::Sa(_) => PayloadType::SA,
            Payload::Ke(_) => PayloadType::KE,
            Payload::Nonce(_) => PayloadType::NONCE,
            Payload::IdI(_) => PayloadType::IDI,
            Payload::IdR(_) => PayloadType::IDR,
            Payload::Auth(_) => PayloadType::AUTH,
            Payload::Notify(_) => PayloadType::NOTIFY,
            Payload::Delete(_) => PayloadType::DELETE,
            Payload::Vendor(_) => PayloadType::VENDOR,
            Payload::TsI(_) => PayloadType::TSI,
            Payload::TsR(_) => PayloadType::TSR,
            Payload::Encrypted(_) => PayloadType::SK,
            Payload::EncryptedFragment(_) => PayloadType::SKF,
            Payload::Unknown(u) => u.payload_type,
        }
    }
}

impl Payload {
    /// Parses the body of a payload of type `payload_type` (after the generic
    /// header). `next_payload` and `critical` are the generic header's fields:
    /// `next_payload` is the first inner payload for SK and SKF, `critical`
    /// is kept for payloads we do not implement (CERT, CERTREQ, CP, EAP and
    /// any unassigned type) and ignored for the others, as RFC 7296 3.2 says.
    pub fn parse(
        payload_type: PayloadType,
        next_payload: PayloadType,
        critical: bool,
        body: &[u8],
    ) -> Result<Payload, ParseError> {
        Ok(match payload_type {
            PayloadType::SA => Payload::Sa(SaPayload::parse(body)?),
            PayloadType::KE => Payload::Ke(KeyExchange::parse(body)?),
            PayloadType::NONCE => Payload::Nonce(Nonce::parse(body)?),
            PayloadType::IDI => Payload::IdI(Identification::parse(body)?),
            PayloadType::IDR => Payload::IdR(Identification::parse(body)?),
            PayloadType::AUTH => Payload::Auth(Authentication::parse(body)?),
            PayloadType::NOTIFY => Payload::Notify(Notify::parse(body)?),
            PayloadType::DELETE => Payload::Delete(Delete::parse(body)?),
            PayloadType::VENDOR => Payload::Vendor(VendorId::parse(body)?),
            PayloadType::TSI => Payload::TsI(TrafficSelectors::parse(body)?),
            PayloadType::TSR => Payload::TsR(TrafficSelectors::parse(body)?),
            PayloadType::SK => Payload::Encrypted(Encrypted::parse(next_payload, body)?),
            PayloadType::SKF => {
                Payload::EncryptedFragment(EncryptedFragment::parse(next_payload, body)?)
            }
            PayloadType::NONE => {
                return Err(ParseError::InvalidField {
                    what: "payload type",
                    value: 0,
                })
            }
            other => Payload::Unknown(UnknownPayload {
                payload_type: other,
                critical,
                body: body.to_vec(),
            }),
        })
    }

    /// Appends the body (without the generic header).
    pub fn emit_body(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Sa(p) => p.emit(out),
            Payload::Ke(p) => p.emit(out),
            Payload::Nonce(p) => p.emit(out),
            Payload::IdI(p) | Payload::IdR(p) => p.emit(out),
            Payload::Auth(p) => p.emit(out),
            Payload::Notify(p) => p.emit(out),
            Payload::Delete(p) => p.emit(out),
            Payload::Vendor(p) => p.emit(out),
            Payload::TsI(p) | Payload::TsR(p) => p.emit(out),
            Payload::Encrypted(p) => p.emit(out),
            Payload::EncryptedFragment(p) => p.emit(out),
            Payload::Unknown(u) => out.extend_from_slice(&u.body),
        }
    }

    /// The critical bit we send: set only for an unknown payload that
    /// arrived with it set.
    pub fn critical(&self) -> bool {
        matches!(self, Payload::Unknown(u) if u.critical)
    }

    /// Whether this is SK or SKF, which must be the last payload of a chain.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Payload::Encrypted(_) | Payload::EncryptedFragment(_))
    }
}
