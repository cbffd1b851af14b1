//! Security Association payload: proposals, transforms, attributes (RFC 7296 3.3).

use super::{ProtocolId, TransformType};

/// SA payload: one or more proposals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaPayload {
    /// Proposals, numbered from 1 in order.
    pub proposals: Vec<Proposal>,
}

/// One proposal substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal number (1 for the first, then consecutive).
    pub number: u8,
    /// IKE, AH or ESP.
    pub protocol: ProtocolId,
    /// The sender's SPI: empty for IKE in IKE_SA_INIT, 8 bytes for an IKE
    /// rekey, 4 bytes for ESP.
    pub spi: Vec<u8>,
    /// Transforms, in the sender's order of preference within each type.
    pub transforms: Vec<Transform>,
}

/// One transform substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    /// ENCR, PRF, INTEG, D-H or ESN.
    pub kind: TransformType,
    /// The transform ID within its type.
    pub id: u16,
    /// The Key Length attribute in bits, when present.
    pub key_length: Option<u16>,
    /// Attributes other than Key Length, (type, value) as received. RFC 7296
    /// 3.3.6: a transform with an attribute we do not know must not be
    /// chosen, so the negotiation code skips transforms where this is not
    /// empty.
    pub unknown_attributes: Vec<(u16, Vec<u8>)>,
}
