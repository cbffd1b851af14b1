//! The first message of an IKEv1 Main Mode exchange (ISAKMP, RFC 2408;
//! IKE, RFC 2409), wire format only.
//!
//! cgw-sim speaks IKEv2. This module exists so that a simulated customer
//! gateway configured for IKEv1 can put on the wire exactly what such a
//! device sends first: an ISAKMP header with version 1.0 and exchange type
//! Identity Protection (Main Mode), and a Security Association payload with
//! one ISAKMP proposal whose transforms each carry a whole phase 1 suite
//! (encryption, hash, pre-shared key authentication, DH group, lifetime).
//! An IKEv2-only peer must recognise it and refuse it (RFC 7296 2.5; see
//! `sa::Endpoint`). Nothing here negotiates IKEv1: there is no key
//! exchange, no phase 2 and no state machine.
//!
//! [`MainModeFirst::emit`] builds the datagram; [`MainModeFirst::parse`]
//! reads one back (strictly: a malformed input is an [`Ikev1Error`]).

use thiserror::Error;

/// ISAKMP major version of IKEv1 (RFC 2408 3.1: 1.0).
pub const MAJOR_VERSION: u8 = 1;
/// Exchange type Identity Protection, i.e. Main Mode (RFC 2408 3.1).
pub const EXCHANGE_IDENTITY_PROTECTION: u8 = 2;
/// Exchange type Aggressive (RFC 2408 3.1).
pub const EXCHANGE_AGGRESSIVE: u8 = 4;
/// Payload type Security Association (RFC 2408 3.1).
pub const PAYLOAD_SA: u8 = 1;
/// Payload type Proposal.
pub const PAYLOAD_PROPOSAL: u8 = 2;
/// Payload type Transform.
pub const PAYLOAD_TRANSFORM: u8 = 3;
/// Domain of Interpretation: IPsec (RFC 2407 4.2).
pub const DOI_IPSEC: u32 = 1;
/// Situation: SIT_IDENTITY_ONLY (RFC 2407 4.2.1).
pub const SIT_IDENTITY_ONLY: u32 = 1;
/// Protocol ID PROTO_ISAKMP (RFC 2407 4.4.1).
pub const PROTO_ISAKMP: u8 = 1;
/// Transform ID KEY_IKE (RFC 2407 4.4.2).
pub const KEY_IKE: u8 = 1;

const HEADER_LEN: usize = 28;

// Phase 1 attribute classes (RFC 2409 appendix A).
const ATTR_ENCRYPTION: u16 = 1;
const ATTR_HASH: u16 = 2;
const ATTR_AUTH_METHOD: u16 = 3;
const ATTR_GROUP: u16 = 4;
const ATTR_LIFE_TYPE: u16 = 11;
const ATTR_LIFE_DURATION: u16 = 12;
const ATTR_KEY_LENGTH: u16 = 14;
const AUTH_PRE_SHARED_KEY: u16 = 1;
const LIFE_TYPE_SECONDS: u16 = 1;

/// A phase 1 encryption algorithm (RFC 2409 appendix A; AES-CBC from
/// RFC 3602). IKEv1 phase 1 has no AEAD cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// DES-CBC (1).
    DesCbc,
    /// 3DES-CBC (5).
    TripleDesCbc,
    /// AES-CBC (7) with a key length in bits (128, 192 or 256).
    AesCbc(u16),
}

impl Cipher {
    fn id(self) -> u16 {
        match self {
            Cipher::DesCbc => 1,
            Cipher::TripleDesCbc => 5,
            Cipher::AesCbc(_) => 7,
        }
    }
}

/// A phase 1 hash algorithm (RFC 2409 appendix A; SHA-2 from RFC 4868).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// MD5 (1).
    Md5,
    /// SHA-1 (2).
    Sha1,
    /// SHA2-256 (4).
    Sha2_256,
    /// SHA2-384 (5).
    Sha2_384,
    /// SHA2-512 (6).
    Sha2_512,
}

impl Hash {
    fn id(self) -> u16 {
        match self {
            Hash::Md5 => 1,
            Hash::Sha1 => 2,
            Hash::Sha2_256 => 4,
            Hash::Sha2_384 => 5,
            Hash::Sha2_512 => 6,
        }
    }
    fn from_id(id: u16) -> Option<Hash> {
        Some(match id {
            1 => Hash::Md5,
            2 => Hash::Sha1,
            4 => Hash::Sha2_256,
            5 => Hash::Sha2_384,
            6 => Hash::Sha2_512,
            _ => return None,
        })
    }
}

/// One phase 1 suite, sent as one Transform payload. Authentication is
/// always pre-shared key (AWS's method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// Encryption.
    pub cipher: Cipher,
    /// Hash (also the PRF in IKEv1).
    pub hash: Hash,
    /// Diffie-Hellman group (IANA number, as in IKEv2).
    pub group: u16,
    /// Lifetime in seconds.
    pub lifetime_secs: u32,
}

/// A malformed or unexpected IKEv1 message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Ikev1Error {
    /// Shorter than a field it must hold.
    #[error("IKEv1 message truncated in {0}")]
    Truncated(&'static str),
    /// Not ISAKMP version 1.0.
    #[error("ISAKMP version {major}.{minor}, expected 1.0")]
    Version {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// A field holds a value this reader does not accept.
    #[error("IKEv1 {field}: unexpected value {value}")]
    Unexpected {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u32,
    },
    /// Nothing to send: a proposal needs at least one transform.
    #[error("an IKEv1 proposal needs 1 to 255 transforms, got {0}")]
    TransformCount(usize),
}

/// The first Main Mode message: initiator cookie, responder cookie zero,
/// message ID zero, one SA payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainModeFirst {
    /// The initiator cookie (IKEv2's initiator SPI).
    pub cookie_i: u64,
    /// The suites offered, in order of preference.
    pub suites: Vec<Suite>,
}

fn put_tv(out: &mut Vec<u8>, ty: u16, value: u16) {
    out.extend_from_slice(&(0x8000 | ty).to_be_bytes());
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_tlv(out: &mut Vec<u8>, ty: u16, value: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    // Attribute values here are at most 4 bytes.
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// Reads `n` bytes at `at`, or names what was cut short.
fn take<'a>(b: &'a [u8], at: usize, n: usize, what: &'static str) -> Result<&'a [u8], Ikev1Error> {
    b.get(at..at + n).ok_or(Ikev1Error::Truncated(what))
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A generic payload header at `at`: (next payload, the payload's bytes).
fn payload<'a>(b: &'a [u8], at: usize, what: &'static str) -> Result<(u8, &'a [u8]), Ikev1Error> {
    let h = take(b, at, 4, what)?;
    let len = usize::from(be16(&h[2..4]));
    if len < 4 {
        return Err(Ikev1Error::Unexpected {
            field: "payload length",
            value: len as u32,
        });
    }
    Ok((h[0], take(b, at, len, what)?))
}

impl MainModeFirst {
    /// The datagram (UDP payload for port 500).
    pub fn emit(&self) -> Result<Vec<u8>, Ikev1Error> {
        let n = self.suites.len();
        if n == 0 || n > 255 {
            return Err(Ikev1Error::TransformCount(n));
        }
        let mut transforms = Vec::new();
        for (i, s) in self.suites.iter().enumerate() {
            let mut attrs = Vec::new();
            put_tv(&mut attrs, ATTR_ENCRYPTION, s.cipher.id());
            if let Cipher::AesCbc(bits) = s.cipher {
                put_tv(&mut attrs, ATTR_KEY_LENGTH, bits);
            }
            put_tv(&mut attrs, ATTR_HASH, s.hash.id());
            put_tv(&mut attrs, ATTR_AUTH_METHOD, AUTH_PRE_SHARED_KEY);
            put_tv(&mut attrs, ATTR_GROUP, s.group);
            put_tv(&mut attrs, ATTR_LIFE_TYPE, LIFE_TYPE_SECONDS);
            put_tlv(
                &mut attrs,
                ATTR_LIFE_DURATION,
                &s.lifetime_secs.to_be_bytes(),
            );
            let next = if i + 1 < n { PAYLOAD_TRANSFORM } else { 0 };
            transforms.push(next);
            transforms.push(0);
            transforms.extend_from_slice(&((8 + attrs.len()) as u16).to_be_bytes());
            transforms.push((i + 1) as u8);
            transforms.push(KEY_IKE);
            transforms.extend_from_slice(&[0, 0]);
            transforms.extend_from_slice(&attrs);
        }
        let mut proposal = vec![0, 0];
        proposal.extend_from_slice(&((8 + transforms.len()) as u16).to_be_bytes());
        proposal.extend_from_slice(&[1, PROTO_ISAKMP, 0, n as u8]);
        proposal.extend_from_slice(&transforms);
        let mut sa = vec![0, 0];
        sa.extend_from_slice(&((12 + proposal.len()) as u16).to_be_bytes());
        sa.extend_from_slice(&DOI_IPSEC.to_be_bytes());
        sa.extend_from_slice(&SIT_IDENTITY_ONLY.to_be_bytes());
        sa.extend_from_slice(&proposal);
        let mut out = Vec::with_capacity(HEADER_LEN + sa.len());
        out.extend_from_slice(&self.cookie_i.to_be_bytes());
        out.extend_from_slice(&0u64.to_be_bytes());
        out.push(PAYLOAD_SA);
        out.push(MAJOR_VERSION << 4);
        out.push(EXCHANGE_IDENTITY_PROTECTION);
        out.push(0);
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&((HEADER_LEN + sa.len()) as u32).to_be_bytes());
        out.extend_from_slice(&sa);
        Ok(out)
    }

    /// Reads a first Main Mode message as [`MainModeFirst::emit`] writes
    /// it (one proposal, PROTO_ISAKMP, KEY_IKE transforms, pre-shared key).
    pub fn parse(b: &[u8]) -> Result<MainModeFirst, Ikev1Error> {
        let h = take(b, 0, HEADER_LEN, "header")?;
        let (major, minor) = (h[17] >> 4, h[17] & 0x0f);
        if (major, minor) != (MAJOR_VERSION, 0) {
            return Err(Ikev1Error::Version { major, minor });
        }
        let expect = |field, value: u32, want: u32| {
            if value == want {
                Ok(())
            } else {
                Err(Ikev1Error::Unexpected { field, value })
            }
        };
        expect(
            "exchange type",
            h[18].into(),
            EXCHANGE_IDENTITY_PROTECTION.into(),
        )?;
        expect(
            "responder cookie",
            u32::from(be32(&h[8..12]) | be32(&h[12..16]) != 0),
            0,
        )?;
        expect("next payload", h[16].into(), PAYLOAD_SA.into())?;
        expect("message length", be32(&h[24..28]), b.len() as u32)?;
        let (_, sa) = payload(b, HEADER_LEN, "SA payload")?;
        let fixed = take(sa, 4, 8, "SA payload")?;
        expect("DOI", be32(&fixed[0..4]), DOI_IPSEC)?;
        expect("situation", be32(&fixed[4..8]), SIT_IDENTITY_ONLY)?;
        let (_, prop) = payload(sa, 12, "proposal payload")?;
        let p = take(prop, 4, 4, "proposal payload")?;
        expect("protocol ID", p[1].into(), PROTO_ISAKMP.into())?;
        expect("SPI size", p[2].into(), 0)?;
        let count = usize::from(p[3]);
        let mut suites = Vec::new();
        let mut at = 8;
        for i in 0..count {
            let (next, t) = payload(prop, at, "transform payload")?;
            let want_next = if i + 1 < count { PAYLOAD_TRANSFORM } else { 0 };
            expect("transform next payload", next.into(), want_next.into())?;
            expect(
                "transform ID",
                take(t, 5, 1, "transform payload")?[0].into(),
                KEY_IKE.into(),
            )?;
            suites.push(parse_suite(&t[8..])?);
            at += t.len();
        }
        Ok(MainModeFirst {
            cookie_i: u64::from_be_bytes(h[0..8].try_into().expect("8 bytes")),
            suites,
        })
    }
}

/// The attributes of one transform.
fn parse_suite(mut a: &[u8]) -> Result<Suite, Ikev1Error> {
    let (mut encr, mut key_len, mut hash, mut group, mut life) = (None, None, None, None, None);
    let mut auth = None;
    while !a.is_empty() {
        let h = take(a, 0, 4, "attribute")?;
        let ty = be16(&h[0..2]);
        let (ty, value, used) = if ty & 0x8000 != 0 {
            (ty & 0x7fff, u32::from(be16(&h[2..4])), 4)
        } else {
            let len = usize::from(be16(&h[2..4]));
            let v = take(a, 4, len, "attribute value")?;
            if len > 4 {
                return Err(Ikev1Error::Unexpected {
                    field: "attribute length",
                    value: len as u32,
                });
            }
            let value = v.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            (ty, value, 4 + len)
        };
        match ty {
            ATTR_ENCRYPTION => encr = Some(value),
            ATTR_KEY_LENGTH => key_len = Some(value),
            ATTR_HASH => hash = Some(value),
            ATTR_AUTH_METHOD => auth = Some(value),
            ATTR_GROUP => group = Some(value),
            ATTR_LIFE_TYPE if value == u32::from(LIFE_TYPE_SECONDS) => {}
            ATTR_LIFE_DURATION => life = Some(value),
            field => {
                return Err(Ikev1Error::Unexpected {
                    field: "attribute type",
                    value: field.into(),
                })
            }
        }
        a = &a[used..];
    }
    let missing = |field| Ikev1Error::Unexpected { field, value: 0 };
    if auth != Some(u32::from(AUTH_PRE_SHARED_KEY)) {
        return Err(Ikev1Error::Unexpected {
            field: "authentication method",
            value: auth.unwrap_or(0),
        });
    }
    let cipher = match (encr, key_len) {
        (Some(1), None) => Cipher::DesCbc,
        (Some(5), None) => Cipher::TripleDesCbc,
        (Some(7), Some(bits @ (128 | 192 | 256))) => Cipher::AesCbc(bits as u16),
        (other, _) => {
            return Err(Ikev1Error::Unexpected {
                field: "encryption algorithm",
                value: other.unwrap_or(0),
            })
        }
    };
    let hash = hash.ok_or_else(|| missing("hash algorithm"))?;
    Ok(Suite {
        cipher,
        hash: u16::try_from(hash)
            .ok()
            .and_then(Hash::from_id)
            .ok_or(Ikev1Error::Unexpected {
                field: "hash algorithm",
                value: hash,
            })?,
        group: group
            .and_then(|g| u16::try_from(g).ok())
            .ok_or_else(|| missing("group description"))?,
        lifetime_secs: life.ok_or_else(|| missing("life duration"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::HeaderView;

    fn offer() -> MainModeFirst {
        MainModeFirst {
            cookie_i: 0x0102_0304_0506_0708,
            suites: vec![
                Suite {
                    cipher: Cipher::AesCbc(128),
                    hash: Hash::Sha1,
                    group: 2,
                    lifetime_secs: 28800,
                },
                Suite {
                    cipher: Cipher::TripleDesCbc,
                    hash: Hash::Sha2_256,
                    group: 14,
                    lifetime_secs: 28800,
                },
            ],
        }
    }

    #[test]
    fn header_is_isakmp_1_0_main_mode() {
        let b = offer().emit().unwrap();
        // The fixed header: cookies, next payload SA, version 0x10,
        // exchange 2, flags 0, message ID 0, length.
        assert_eq!(&b[0..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[8..16], &[0; 8]);
        assert_eq!(b[16], PAYLOAD_SA);
        assert_eq!(b[17], 0x10);
        assert_eq!(b[18], EXCHANGE_IDENTITY_PROTECTION);
        assert_eq!(b[19], 0);
        assert_eq!(&b[20..24], &[0; 4]);
        assert_eq!(be32(&b[24..28]) as usize, b.len());
        // What an IKEv2 receiver sees: major version 1.
        assert_eq!(HeaderView::new_checked(&b[..]).unwrap().major_version(), 1);
        // SA payload: last payload, DOI IPsec, SIT_IDENTITY_ONLY; one
        // proposal (#1, PROTO_ISAKMP, no SPI, 2 transforms).
        assert_eq!(b[28], 0);
        assert_eq!(usize::from(be16(&b[30..32])), b.len() - 28);
        assert_eq!(be32(&b[32..36]), 1);
        assert_eq!(be32(&b[36..40]), 1);
        assert_eq!(&b[44..48], &[1, 1, 0, 2]);
        // First transform: next is another transform, #1, KEY_IKE, then
        // encryption AES-CBC (TV: 0x8001 0x0007) and key length 128.
        assert_eq!(b[48], PAYLOAD_TRANSFORM);
        assert_eq!(&b[52..54], &[1, 1]);
        assert_eq!(&b[56..64], &[0x80, 1, 0, 7, 0x80, 14, 0, 128]);
    }

    #[test]
    fn round_trip() {
        let o = offer();
        assert_eq!(MainModeFirst::parse(&o.emit().unwrap()).unwrap(), o);
    }

    #[test]
    fn strict_parse() {
        let b = offer().emit().unwrap();
        for n in 0..b.len() {
            assert!(MainModeFirst::parse(&b[..n]).is_err(), "{n} bytes parsed");
        }
        let mut v2 = b.clone();
        v2[17] = 0x20;
        assert_eq!(
            MainModeFirst::parse(&v2),
            Err(Ikev1Error::Version { major: 2, minor: 0 })
        );
        let mut aggressive = b.clone();
        aggressive[18] = EXCHANGE_AGGRESSIVE;
        assert!(MainModeFirst::parse(&aggressive).is_err());
        let none = MainModeFirst {
            cookie_i: 1,
            suites: Vec::new(),
        };
        assert_eq!(none.emit(), Err(Ikev1Error::TransformCount(0)));
    }
}
