//! The IKEv2 wire format (RFC 7296 section 3), our own codec.
//!
//! Each structure has a parsed representation with `parse` (strict: any
//! length or field that does not add up is a [`ParseError`], never a panic)
//! and `emit`. [`HeaderView`] reads the fixed header in place, so a datagram
//! can be demultiplexed by SPI without parsing the payload chain.
//!
//! The Encrypted payload (SK) is kept opaque here: decrypting it is the SA's
//! business (`sa::protect`), which then parses the inner chain with
//! [`parse_payloads`].

mod consts;
mod delete;
mod encrypted;
mod error;
mod header;
mod message;
mod notify;
mod payload;
mod reader;
mod sa;
mod simple;
mod ts;

pub use consts::*;
pub use delete::Delete;
pub use encrypted::{Encrypted, EncryptedFragment};
pub use error::ParseError;
pub use header::{Flags, Header, HeaderView, HEADER_LEN};
pub use message::{emit_payloads, parse_payloads, Message, MAX_PAYLOADS};
pub use notify::Notify;
pub use payload::{Payload, UnknownPayload, GENERIC_HEADER_LEN};
pub use sa::{Proposal, SaPayload, Transform};
pub use simple::{
    Authentication, Identification, KeyExchange, Nonce, VendorId, NONCE_MAX_LEN, NONCE_MIN_LEN,
};
pub use ts::{TrafficSelector, TrafficSelectors};

#[cfg(test)]
mod tests;
