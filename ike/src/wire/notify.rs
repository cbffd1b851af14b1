//! Notify payload (RFC 7296 3.10).

use super::reader::{count8, Reader};
use super::{DhId, NotifyType, ParseError, ProtocolId};

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

impl Notify {
    /// A notify about the IKE SA or the exchange: no SPI, protocol 0.
    pub fn new(kind: NotifyType, data: Vec<u8>) -> Notify {
        Notify {
            protocol: ProtocolId(0),
            spi: Vec::new(),
            kind,
            data,
        }
    }

    /// A notify about a child SA: protocol ESP or AH and its 4-byte SPI
    /// (e.g. REKEY_SA, CHILD_SA_NOT_FOUND).
    pub fn for_child(protocol: ProtocolId, spi: u32, kind: NotifyType, data: Vec<u8>) -> Notify {
        Notify {
            protocol,
            spi: spi.to_be_bytes().to_vec(),
            kind,
            data,
        }
    }

    /// INVALID_KE_PAYLOAD naming the group the responder wants (2 bytes).
    pub fn invalid_ke(group: DhId) -> Notify {
        Notify::new(
            NotifyType::INVALID_KE_PAYLOAD,
            group.0.to_be_bytes().to_vec(),
        )
    }

    /// The group requested by an INVALID_KE_PAYLOAD notify, when this is one
    /// and its data is exactly 2 bytes.
    pub fn invalid_ke_group(&self) -> Option<DhId> {
        if self.kind != NotifyType::INVALID_KE_PAYLOAD {
            return None;
        }
        match self.data.as_slice() {
            &[a, b] => Some(DhId(u16::from_be_bytes([a, b]))),
            _ => None,
        }
    }

    /// COOKIE with the given opaque data (1 to 64 bytes, RFC 7296 2.6).
    pub fn cookie(data: Vec<u8>) -> Notify {
        Notify::new(NotifyType::COOKIE, data)
    }

    /// The SPI as a u32 when it is 4 bytes (ESP/AH).
    pub fn spi_u32(&self) -> Option<u32> {
        match self.spi.as_slice() {
            &[a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    /// Parses the body: protocol ID, SPI size, type, SPI, data. With an
    /// SPI size of 0 the protocol ID is kept as received (the RFC says it is
    /// ignored); otherwise the size must be 4 for ESP/AH or 8 for IKE.
    pub fn parse(body: &[u8]) -> Result<Notify, ParseError> {
        let mut r = Reader::new("Notify payload", body);
        let protocol = ProtocolId(r.u8()?);
        let spi_size = r.u8()?;
        let kind = NotifyType(r.u16()?);
        let ok = matches!(
            (spi_size, protocol),
            (0, _) | (4, ProtocolId::ESP | ProtocolId::AH) | (8, ProtocolId::IKE)
        );
        if !ok {
            return Err(ParseError::InvalidField {
                what: "Notify payload: SPI size",
                value: spi_size.into(),
            });
        }
        let available = r.remaining();
        if usize::from(spi_size) > available {
            return Err(ParseError::BadLength {
                what: "Notify payload: SPI",
                length: spi_size.into(),
                available,
            });
        }
        let spi = r.take(spi_size.into())?.to_vec();
        Ok(Notify {
            protocol,
            spi,
            kind,
            data: r.rest().to_vec(),
        })
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.protocol.0);
        out.push(count8(self.spi.len(), "Notify SPI"));
        out.extend_from_slice(&self.kind.0.to_be_bytes());
        out.extend_from_slice(&self.spi);
        out.extend_from_slice(&self.data);
    }
}
