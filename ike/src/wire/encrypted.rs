//! Encrypted (SK) and Encrypted Fragment (SKF) payloads, still protected.

use super::PayloadType;

/// An Encrypted payload (RFC 7296 3.14) as it travels: the first inner
/// payload's type and IV || ciphertext || ICV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    /// Type of the first payload inside.
    pub first_inner: PayloadType,
    /// IV, ciphertext (with padding and pad length), integrity checksum.
    pub body: Vec<u8>,
}

/// An Encrypted Fragment payload (RFC 7383 2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFragment {
    /// Type of the first inner payload (only in fragment 1, else NONE).
    pub first_inner: PayloadType,
    /// This fragment's number, from 1.
    pub fragment_number: u16,
    /// How many fragments there are.
    pub total_fragments: u16,
    /// IV, ciphertext, integrity checksum.
    pub body: Vec<u8>,
}
