//! Delete payload (RFC 7296 3.11).

use super::reader::{len16, Reader};
use super::{ParseError, ProtocolId};

/// A Delete payload: the IKE SA itself (protocol IKE, no SPIs) or child SAs
/// (protocol ESP/AH, 4-byte SPIs, inbound SPIs of the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// IKE, AH or ESP.
    pub protocol: ProtocolId,
    /// The SPIs to delete; empty for IKE.
    pub spis: Vec<u32>,
}

impl Delete {
    /// Deletes the IKE SA carrying it.
    pub fn ike() -> Delete {
        Delete {
            protocol: ProtocolId::IKE,
            spis: Vec::new(),
        }
    }

    /// Deletes ESP SAs (the sender's inbound SPIs).
    pub fn esp(spis: Vec<u32>) -> Delete {
        Delete {
            protocol: ProtocolId::ESP,
            spis,
        }
    }

    /// Parses the body: protocol ID, SPI size, number of SPIs, SPIs. IKE:
    /// SPI size 0 and no SPIs; ESP/AH: SPI size 4 and exactly the number of
    /// SPIs announced; any other protocol is rejected.
    pub fn parse(body: &[u8]) -> Result<Delete, ParseError> {
        let mut r = Reader::new("Delete payload", body);
        let protocol = ProtocolId(r.u8()?);
        let spi_size = r.u8()?;
        let num = usize::from(r.u16()?);
        let want_size = match protocol {
            ProtocolId::IKE => 0,
            ProtocolId::ESP | ProtocolId::AH => 4,
            other => {
                return Err(ParseError::InvalidField {
                    what: "Delete payload: protocol ID",
                    value: other.0.into(),
                })
            }
        };
        if spi_size != want_size {
            return Err(ParseError::InvalidField {
                what: "Delete payload: SPI size",
                value: spi_size.into(),
            });
        }
        if protocol == ProtocolId::IKE {
            if num != 0 {
                return Err(ParseError::InvalidField {
                    what: "Delete payload: number of SPIs for IKE",
                    value: num as u64,
                });
            }
            if !r.is_empty() {
                return Err(ParseError::TrailingData {
                    what: "Delete payload for IKE",
                    count: r.remaining(),
                });
            }
            return Ok(Delete::ike());
        }
        let available = r.remaining();
        if available != num * 4 {
            return Err(ParseError::BadLength {
                what: "Delete payload: SPIs",
                length: num * 4,
                available,
            });
        }
        let mut spis = Vec::with_capacity(num);
        for _ in 0..num {
            spis.push(r.u32()?);
        }
        Ok(Delete { protocol, spis })
    }

    /// Appends the body (SPI size 0 for IKE, 4 otherwise).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.protocol.0);
        if self.protocol == ProtocolId::IKE {
            out.extend_from_slice(&[0, 0, 0]);
            return;
        }
        out.push(4);
        out.extend_from_slice(&len16(self.spis.len(), "Delete SPIs").to_be_bytes());
        for spi in &self.spis {
            out.extend_from_slice(&spi.to_be_bytes());
        }
    }
}
