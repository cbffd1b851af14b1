//! Payloads with a small fixed head and an opaque body: KE, Nonce, IDi/IDr,
//! AUTH, Vendor ID.

use super::reader::Reader;
use super::{AuthMethod, DhId, IdType, ParseError};

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

/// Smallest nonce allowed (RFC 7296 2.10).
pub const NONCE_MIN_LEN: usize = 16;
/// Largest nonce allowed (RFC 7296 3.9).
pub const NONCE_MAX_LEN: usize = 256;

impl KeyExchange {
    /// Parses the body: DH group (2 bytes), RESERVED (2 bytes, ignored on
    /// receipt), the public value (any length; the group's code checks it).
    pub fn parse(body: &[u8]) -> Result<KeyExchange, ParseError> {
        let mut r = Reader::new("KE payload", body);
        let group = DhId(r.u16()?);
        let _reserved = r.u16()?;
        Ok(KeyExchange {
            group,
            data: r.rest().to_vec(),
        })
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.group.0.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.data);
    }
}

impl Nonce {
    /// Parses the body: the nonce itself, 16 to 256 bytes.
    pub fn parse(body: &[u8]) -> Result<Nonce, ParseError> {
        if !(NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&body.len()) {
            return Err(ParseError::LengthOutOfRange {
                what: "Nonce",
                length: body.len(),
                min: NONCE_MIN_LEN,
                max: NONCE_MAX_LEN,
            });
        }
        Ok(Nonce(body.to_vec()))
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Identification {
    /// Parses the body: ID type, 3 RESERVED bytes (ignored on receipt), data.
    /// ID_IPV4_ADDR data must be 4 bytes and ID_IPV6_ADDR data 16 bytes.
    pub fn parse(body: &[u8]) -> Result<Identification, ParseError> {
        let mut r = Reader::new("ID payload", body);
        let id_type = IdType(r.u8()?);
        let _reserved = r.take(3)?;
        let data = r.rest();
        let want = match id_type {
            IdType::IPV4_ADDR => Some(4),
            IdType::IPV6_ADDR => Some(16),
            _ => None,
        };
        if let Some(want) = want {
            if data.len() != want {
                return Err(ParseError::BadLength {
                    what: "ID payload: address",
                    length: data.len(),
                    available: want,
                });
            }
        }
        Ok(Identification {
            id_type,
            data: data.to_vec(),
        })
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.id_type.0);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&self.data);
    }

    /// An ID_IPV4_ADDR or ID_IPV6_ADDR identity.
    pub fn from_ip(addr: std::net::IpAddr) -> Identification {
        match addr {
            std::net::IpAddr::V4(a) => Identification {
                id_type: IdType::IPV4_ADDR,
                data: a.octets().to_vec(),
            },
            std::net::IpAddr::V6(a) => Identification {
                id_type: IdType::IPV6_ADDR,
                data: a.octets().to_vec(),
            },
        }
    }
}

impl Authentication {
    /// Parses the body: method, 3 RESERVED bytes (ignored on receipt), data.
    pub fn parse(body: &[u8]) -> Result<Authentication, ParseError> {
        let mut r = Reader::new("AUTH payload", body);
        let method = AuthMethod(r.u8()?);
        let _reserved = r.take(3)?;
        Ok(Authentication {
            method,
            data: r.rest().to_vec(),
        })
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.method.0);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&self.data);
    }
}

impl VendorId {
    /// Parses the body: opaque bytes.
    pub fn parse(body: &[u8]) -> Result<VendorId, ParseError> {
        Ok(VendorId(body.to_vec()))
    }

    /// Appends the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}
