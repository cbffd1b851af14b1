//! Payloads with a small fixed head and an opaque body: KE, Nonce, IDi/IDr,
//! AUTH, Vendor ID.

use super::{AuthMethod, DhId, IdType};

/// Key Exchange payload (RFC 7296 3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExchange {
    /// The Diffie-Hellman group of `data`.
    pub group: DhId,
    /// The public value.
    pub data: Vec<u8>,
}

/// Nonce payload (RFC 7296 3.9): 16 to 256 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(pub Vec<u8>);

/// Identification payload (RFC 7296 3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// ID type.
    pub id_type: IdType,
    /// Identification data.
    pub data: Vec<u8>,
}

/// Authentication payload (RFC 7296 3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// Method.
    pub method: AuthMethod,
    /// Authentication data.
    pub data: Vec<u8>,
}

/// Vendor ID payload (RFC 7296 3.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorId(pub Vec<u8>);
