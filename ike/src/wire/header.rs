//! The fixed 28-byte IKE header (RFC 7296 3.1).

use super::{ExchangeType, ParseError, PayloadType};

/// Length of the IKE header.
pub const HEADER_LEN: usize = 28;

/// Header flags (RFC 7296 3.1): only three bits are defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// I: set by the original initiator of the IKE SA.
    pub initiator: bool,
    /// V: "can speak a higher major version" (never set by us).
    pub version: bool,
    /// R: this message is a response.
    pub response: bool,
}

/// The parsed IKE header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// IKE SA initiator's SPI.
    pub spi_i: u64,
    /// IKE SA responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: u64,
    /// Type of the first payload.
    pub next_payload: PayloadType,
    /// Major version (2).
    pub major_version: u8,
    /// Minor version (0).
    pub minor_version: u8,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// Flags.
    pub flags: Flags,
    /// Message ID.
    pub message_id: u32,
    /// Total length of the message including the header.
    pub length: u32,
}

/// A zero-copy view of an IKE header at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub struct HeaderView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> HeaderView<T> {
    /// Wraps `buffer`, checking only that a whole header is there.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let have = buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(ParseError::Truncated {
                what: "IKE header",
                need: HEADER_LEN,
                have,
            });
        }
        Ok(HeaderView { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    /// Initiator SPI.
    pub fn spi_i(&self) -> u64 {
        u64::from_be_bytes(self.b()[0..8].try_into().expect("checked length"))
    }
    /// Responder SPI.
    pub fn spi_r(&self) -> u64 {
        u64::from_be_bytes(self.b()[8..16].try_into().expect("checked length"))
    }
    /// First payload type.
    pub fn next_payload(&self) -> PayloadType {
        PayloadType(self.b()[16])
    }
    /// Major version (high nibble).
    pub fn major_version(&self) -> u8 {
        self.b()[17] >> 4
    }
    /// Exchange type.
    pub fn exchange(&self) -> ExchangeType {
        ExchangeType(self.b()[18])
    }
    /// Flags.
    pub fn flags(&self) -> Flags {
        let f = self.b()[19];
        Flags {
            initiator: f & 0x08 != 0,
            version: f & 0x10 != 0,
            response: f & 0x20 != 0,
        }
    }
    /// Message ID.
    pub fn message_id(&self) -> u32 {
        u32::from_be_bytes(self.b()[20..24].try_into().expect("checked length"))
    }
    /// Length field.
    pub fn length(&self) -> u32 {
        u32::from_be_bytes(self.b()[24..28].try_into().expect("checked length"))
    }
}

impl Header {
    /// Parses the header at the start of `buf` (the length field is checked
    /// against `buf` by [`super::Message::parse`], not here).
    pub fn parse(buf: &[u8]) -> Result<Header, ParseError> {
        let v = HeaderView::new_checked(buf)?;
        let major = v.major_version();
        if major != 2 {
            return Err(ParseError::UnsupportedMajorVersion(major));
        }
        Ok(Header {
            spi_i: v.spi_i(),
            spi_r: v.spi_r(),
            next_payload: v.next_payload(),
            major_version: major,
            minor_version: buf[17] & 0x0f,
            exchange: v.exchange(),
            flags: v.flags(),
            message_id: v.message_id(),
            length: v.length(),
        })
    }

    /// Appends the 28 header bytes to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.spi_i.to_be_bytes());
        out.extend_from_slice(&self.spi_r.to_be_bytes());
        out.push(self.next_payload.0);
        out.push((self.major_version << 4) | (self.minor_version & 0x0f));
        out.push(self.exchange.0);
        let mut f = 0u8;
        if self.flags.initiator {
            f |= 0x08;
        }
        if self.flags.version {
            f |= 0x10;
        }
        if self.flags.response {
            f |= 0x20;
        }
        out.push(f);
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
    }
}
