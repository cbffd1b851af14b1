//! ESP (RFC 4303) security associations in tunnel mode: seal, open and
//! anti-replay, over AES-GCM (RFC 4106) or AES-CBC with HMAC (RFC 3602,
//! RFC 4868).
//!
//! An ESP packet on the wire (without the outer IP or UDP header):
//!
//! ```text
//! SPI (4) | sequence number (4) | IV (8 GCM, 16 CBC) |
//!   ciphertext( inner packet | padding 1,2,3.. | pad length (1) | next header (1) ) |
//!   ICV (16 GCM tag, or the truncated HMAC for CBC)
//! ```
//!
//! - [`OutboundSa::seal`] appends one packet to a caller's buffer (no
//!   allocation when the buffer has [`OutboundSa::overhead`] spare capacity
//!   beyond the inner packet).
//! - [`InboundSa::open`] checks the anti-replay window, verifies the ICV (in
//!   constant time, before decrypting), decrypts in place, and only then
//!   advances the window; it returns a view of the inner packet inside the
//!   caller's buffer.
//! - [`spi_of`] demultiplexes a packet to its inbound SA.
//!
//! ESP-in-UDP (RFC 3948) framing lives in [`crate::natt`]; this module sees
//! ESP packets only. Extended sequence numbers are not supported (AWS does
//! not negotiate them): an SA seals at most 2^32 - 1 packets, then
//! [`EspError::SequenceExhausted`] says it must be rekeyed.

mod packet;
mod replay;
mod sa;

#[cfg(test)]
mod tests;

pub use packet::{spi_of, EspPacket, HEADER_LEN};
pub use replay::{ReplayWindow, DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW};
pub use sa::{InboundSa, Opened, OutboundSa, SaCounters};

use crate::crypto::CryptoError;

/// Next header value of an inner IPv4 packet (IP-in-IP).
pub const NEXT_HEADER_IPV4: u8 = 4;
/// Next header value of an inner IPv6 packet.
pub const NEXT_HEADER_IPV6: u8 = 41;
/// Next header value of a dummy packet (RFC 4303 2.6), to be discarded.
pub const NEXT_HEADER_NONE: u8 = 59;

/// Why an ESP packet could not be sealed or opened, or an SA not created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EspError {
    /// The packet is too short for its SA's header, IV, padding trailer and
    /// ICV.
    #[error("ESP packet of {len} bytes is truncated")]
    Truncated {
        /// Length of the packet.
        len: usize,
    },
    /// The ciphertext is not a whole number of cipher blocks (16 for CBC,
    /// 4 for GCM).
    #[error("ESP ciphertext of {len} bytes is not a multiple of {block}")]
    CiphertextLength {
        /// Length of the ciphertext.
        len: usize,
        /// The required multiple.
        block: usize,
    },
    /// The packet's SPI is not this SA's.
    #[error("ESP packet for SPI {got:#010x}, SA has {expected:#010x}")]
    WrongSpi {
        /// This SA's SPI.
        expected: u32,
        /// The packet's SPI.
        got: u32,
    },
    /// The ICV (HMAC or AEAD tag) did not verify.
    #[error("ESP integrity check failed")]
    IntegrityCheckFailed,
    /// The sequence number was already received (inside the window).
    #[error("ESP sequence number {seq} replayed")]
    Replay {
        /// The sequence number.
        seq: u32,
    },
    /// The sequence number is left of the anti-replay window (or 0).
    #[error("ESP sequence number {seq} is outside the replay window")]
    OutsideWindow {
        /// The sequence number.
        seq: u32,
    },
    /// The padding bytes are not 1, 2, 3, ... or the pad length does not fit
    /// (RFC 4303 2.4). The ICV was valid: the peer is broken.
    #[error("ESP padding is malformed")]
    BadPadding,
    /// The 32-bit sequence number space is used up: the SA must be rekeyed.
    #[error("ESP sequence numbers exhausted, the SA must be rekeyed")]
    SequenceExhausted,
    /// The next header of an authentic packet is neither IPv4 (4), IPv6
    /// (41) nor a dummy packet (59).
    #[error("ESP next header {0} is not IPv4 or IPv6")]
    UnknownNextHeader(u8),
    /// A key of the wrong length for the algorithm.
    #[error("key of {have} bytes, {what} needs {need}")]
    KeyLength {
        /// The algorithm.
        what: &'static str,
        /// Needed length.
        need: usize,
        /// Given length.
        have: usize,
    },
    /// AES-CBC without an integrity algorithm, or AES-GCM with one.
    #[error("invalid ESP transform combination: {0}")]
    InvalidTransforms(&'static str),
    /// A replay window size outside 64..=2048.
    #[error("replay window of {0} packets, must be 64..=2048")]
    InvalidReplayWindow(u32),
    /// Any other failure from the crypto layer.
    #[error("crypto failure: {0}")]
    Crypto(CryptoError),
}

impl From<CryptoError> for EspError {
    fn from(e: CryptoError) -> EspError {
        match e {
            CryptoError::KeyLength { what, need, have } => EspError::KeyLength { what, need, have },
            CryptoError::IntegrityCheckFailed => EspError::IntegrityCheckFailed,
            other => EspError::Crypto(other),
        }
    }
}
