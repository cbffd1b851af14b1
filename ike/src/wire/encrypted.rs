//! Encrypted (SK) and Encrypted Fragment (SKF) payloads, still protected.

use super::reader::Reader;
use super::{ParseError, PayloadType};

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

impl Encrypted {
    /// Parses the body; `first_inner` is the Next Payload field of the SK
    /// payload's generic header.
    pub fn parse(first_inner: PayloadType, body: &[u8]) -> Result<Encrypted, ParseError> {
        Ok(Encrypted {
            first_inner,
            body: body.to_vec(),
        })
    }

    /// Appends the body (IV, ciphertext, ICV).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.body);
    }
}

impl EncryptedFragment {
    /// Parses the body: Fragment Number, Total Fragments (1 <= number <=
    /// total), then IV, ciphertext, ICV. `first_inner` is the Next Payload
    /// field of the generic header, which must be NONE except in fragment 1
    /// (RFC 7383 2.5).
    pub fn parse(first_inner: PayloadType, body: &[u8]) -> Result<EncryptedFragment, ParseError> {
        let mut r = Reader::new("SKF payload", body);
        let fragment_number = r.u16()?;
        let total_fragments = r.u16()?;
        if fragment_number == 0 || fragment_number > total_fragments {
            return Err(ParseError::InvalidField {
                what: "SKF payload: fragment number",
                value: fragment_number.into(),
            });
        }
        if fragment_number != 1 && first_inner != PayloadType::NONE {
            return Err(ParseError::InvalidField {
                what: "SKF payload: next payload in a fragment other than the first",
                value: first_inner.0.into(),
            });
        }
        Ok(EncryptedFragment {
            first_inner,
            fragment_number,
            total_fragments,
            body: r.rest().to_vec(),
        })
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.fragment_number.to_be_bytes());
        out.extend_from_slice(&self.total_fragments.to_be_bytes());
        out.extend_from_slice(&self.body);
    }
}
