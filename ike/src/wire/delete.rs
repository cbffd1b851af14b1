//! Delete payload (RFC 7296 3.11).

use super::ProtocolId;

/// A Delete payload: the IKE SA itself (protocol IKE, no SPIs) or child SAs
/// (protocol ESP/AH, 4-byte SPIs, inbound SPIs of the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// IKE, AH or ESP.
    pub protocol: ProtocolId,
    /// The SPIs to delete; empty for IKE.
    pub spis: Vec<u32>,
}
