//! The payload enum and the generic payload header (RFC 7296 3.2).

use super::{
    Authentication, Delete, Encrypted, EncryptedFragment, Identification, KeyExchange, Nonce,
    Notify, PayloadType, SaPayload, TrafficSelectors, VendorId,
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
