//! A zero-copy view of an ESP packet.

/// SPI (4 bytes) and sequence number (4 bytes).
pub const HEADER_LEN: usize = 8;

/// The SPI of an ESP packet, for demultiplexing to its inbound SA; `None`
/// when the packet is shorter than the ESP header or its SPI is 0 (reserved,
/// never sent on the wire: RFC 4303 2.1, and the non-ESP marker of RFC 3948).
pub fn spi_of(packet: &[u8]) -> Option<u32> {
    match packet {
        [a, b, c, d, _, _, _, _, ..] => match u32::from_be_bytes([*a, *b, *c, *d]) {
            0 => None,
            spi => Some(spi),
        },
        _ => None,
    }
}

/// A view of an ESP packet: header fields and the rest (IV, ciphertext and
/// ICV, whose split depends on the SA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Wraps `buffer` if it holds at least the 8-byte header.
    pub fn new_checked(buffer: T) -> Option<EspPacket<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            None
        } else {
            Some(EspPacket { buffer })
        }
    }
    /// The Security Parameters Index.
    pub fn spi(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// The (low 32 bits of the) sequence number.
    pub fn seq(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }
    /// Everything after the header: IV, ciphertext, ICV.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
    /// The whole packet.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}
