//! Notify payload (RFC 7296 3.10).

use super::{NotifyType, ProtocolId};

/// A Notify payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Protocol the SPI belongs to; `ProtocolId(0)` when there is no SPI.
    pub protocol: ProtocolId,
    /// The SPI (empty, or 4 bytes for ESP/AH, 8 for IKE in some notifies).
    pub spi: Vec<u8>,
    /// Notify message type.
    pub kind: NotifyType,
    /// Notification data.
    pub data: Vec<u8>,
}
