//! Security Association payload: proposals, transforms, attributes (RFC 7296 3.3).

use super::reader::{count8, len16, patch_len16, Reader};
use super::{ParseError, ProtocolId, TransformType, ATTR_KEY_LENGTH};

/// SA payload: one or more proposals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaPayload {
    /// Proposals, numbered from 1 in order.
    pub proposals: Vec<Proposal>,
}

/// One proposal substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal number (1 for the first, then consecutive).
    pub number: u8,
    /// IKE, AH or ESP.
    pub protocol: ProtocolId,
    /// The sender's SPI: empty for IKE in IKE_SA_INIT, 8 bytes for an IKE
    /// rekey, 4 bytes for ESP.
    pub spi: Vec<u8>,
    /// Transforms, in the sender's order of preference within each type.
    pub transforms: Vec<Transform>,
}

/// One transform substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    /// ENCR, PRF, INTEG, D-H or ESN.
    pub kind: TransformType,
    /// The transform ID within its type.
    pub id: u16,
    /// The Key Length attribute in bits, when present.
    pub key_length: Option<u16>,
    /// Attributes other than Key Length, (type, value) as received; the type
    /// keeps its Attribute Format bit (0x8000 set: TV, the value is exactly 2
    /// bytes; clear: TLV, any length up to 65535). RFC 7296
    /// 3.3.6: a transform with an attribute we do not know must not be
    /// chosen, so the negotiation code skips transforms where this is not
    /// empty.
    pub unknown_attributes: Vec<(u16, Vec<u8>)>,
}

/// Proposal "last substructure" value when more proposals follow.
const MORE_PROPOSALS: u8 = 2;
/// Transform "last substructure" value when more transforms follow.
const MORE_TRANSFORMS: u8 = 3;
/// Attribute Format bit: set for TV (2-byte value), clear for TLV.
const ATTR_TV: u16 = 0x8000;

impl SaPayload {
    /// Parses the body of an SA payload (after the generic header).
    ///
    /// Checks: at least one proposal; "last substructure" values 0/2 for
    /// proposals and 0/3 for transforms, agreeing with where the bytes end;
    /// proposal lengths and transform lengths within their parents; proposal
    /// numbers from 1 and consecutive (a single proposal, as in a response,
    /// may carry any non-zero number: the one chosen); SPI size 0 or 8 for
    /// IKE and 4 for ESP/AH (other protocol IDs are rejected); the transform
    /// count equal to the transforms present and non-zero; the Key Length
    /// attribute only in TV format and at most once.
    pub fn parse(body: &[u8]) -> Result<SaPayload, ParseError> {
        let mut r = Reader::new("SA payload", body);
        let mut proposals: Vec<Proposal> = Vec::new();
        loop {
            if r.is_empty() {
                return Err(ParseError::Truncated {
                    what: "proposal",
                    need: 8,
                    have: 0,
                });
            }
            let len = usize::from(r.peek_u16(2).map_err(|_| ParseError::Truncated {
                what: "proposal",
                need: 8,
                have: r.remaining(),
            })?);
            let available = r.remaining();
            if len < 8 || len > available {
                return Err(ParseError::BadLength {
                    what: "proposal",
                    length: len,
                    available,
                });
            }
            let (last, proposal) = Proposal::parse(r.take(len)?)?;
            match proposals.last() {
                None => {
                    if proposal.number == 0 {
                        return Err(ParseError::InvalidField {
                            what: "proposal number",
                            value: 0,
                        });
                    }
                }
                Some(prev) => {
                    if prev.number.checked_add(1) != Some(proposal.number)
                        || proposals[0].number != 1
                    {
                        return Err(ParseError::InvalidField {
                            what: "proposal number",
                            value: proposal.number.into(),
                        });
                    }
                }
            }
            proposals.push(proposal);
            match last {
                0 => break,
                MORE_PROPOSALS => continue,
                other => {
                    return Err(ParseError::InvalidField {
                        what: "proposal: last substructure",
                        value: other.into(),
                    })
                }
            }
        }
        if !r.is_empty() {
            return Err(ParseError::TrailingData {
                what: "SA payload after the last proposal",
                count: r.remaining(),
            });
        }
        Ok(SaPayload { proposals })
    }

    /// Appends the body (proposals as numbered in `number`, which is kept:
    /// a response echoes the number of the proposal chosen).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let n = self.proposals.len();
        for (i, p) in self.proposals.iter().enumerate() {
            p.emit(i + 1 == n, out);
        }
    }

    /// The proposal numbered `number`, if present.
    pub fn proposal(&self, number: u8) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.number == number)
    }
}

impl Proposal {
    /// Parses one proposal substructure (exactly `buf`, whose length the
    /// caller took from the proposal length field); returns its "last
    /// substructure" byte unchecked, for the caller to judge.
    fn parse(buf: &[u8]) -> Result<(u8, Proposal), ParseError> {
        let mut r = Reader::new("proposal", buf);
        let last = r.u8()?;
        let _reserved = r.u8()?;
        let _len = r.u16()?;
        let number = r.u8()?;
        let protocol = ProtocolId(r.u8()?);
        let spi_size = r.u8()?;
        let num_transforms = r.u8()?;
        let spi_ok = match protocol {
            ProtocolId::IKE => spi_size == 0 || spi_size == 8,
            ProtocolId::ESP | ProtocolId::AH => spi_size == 4,
            other => {
                return Err(ParseError::InvalidField {
                    what: "proposal: protocol ID",
                    value: other.0.into(),
                })
            }
        };
        if !spi_ok {
            return Err(ParseError::InvalidField {
                what: "proposal: SPI size",
                value: spi_size.into(),
            });
        }
        let available = r.remaining();
        if usize::from(spi_size) > available {
            return Err(ParseError::BadLength {
                what: "proposal: SPI",
                length: spi_size.into(),
                available,
            });
        }
        let spi = r.take(spi_size.into())?.to_vec();
        if num_transforms == 0 {
            return Err(ParseError::InvalidField {
                what: "proposal: number of transforms",
                value: 0,
            });
        }
        let mut transforms = Vec::new();
        loop {
            if r.is_empty() {
                return Err(ParseError::CountMismatch {
                    what: "proposal: transforms",
                    declared: num_transforms.into(),
                    found: transforms.len(),
                });
            }
            let len = usize::from(r.peek_u16(2).map_err(|_| ParseError::Truncated {
                what: "transform",
                need: 8,
                have: r.remaining(),
            })?);
            let available = r.remaining();
            if len < 8 || len > available {
                return Err(ParseError::BadLength {
                    what: "transform",
                    length: len,
                    available,
                });
            }
            let (t_last, t) = Transform::parse(r.take(len)?)?;
            transforms.push(t);
            match t_last {
                0 => break,
                MORE_TRANSFORMS => continue,
                other => {
                    return Err(ParseError::InvalidField {
                        what: "transform: last substructure",
                        value: other.into(),
                    })
                }
            }
        }
        if !r.is_empty() {
            return Err(ParseError::TrailingData {
                what: "proposal after the last transform",
                count: r.remaining(),
            });
        }
        if transforms.len() != usize::from(num_transforms) {
            return Err(ParseError::CountMismatch {
                what: "proposal: transforms",
                declared: num_transforms.into(),
                found: transforms.len(),
            });
        }
        Ok((
            last,
            Proposal {
                number,
                protocol,
                spi,
                transforms,
            },
        ))
    }

    fn emit(&self, last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(if last { 0 } else { MORE_PROPOSALS });
        out.push(0);
        out.extend_from_slice(&[0, 0]);
        out.push(self.number);
        out.push(self.protocol.0);
        out.push(count8(self.spi.len(), "proposal SPI"));
        out.push(count8(self.transforms.len(), "proposal transforms"));
        out.extend_from_slice(&self.spi);
        let n = self.transforms.len();
        for (i, t) in self.transforms.iter().enumerate() {
            t.emit(i + 1 == n, out);
        }
        let len = out.len() - start;
        patch_len16(out, start + 2, len, "proposal");
    }
}

impl Transform {
    /// A transform without attributes.
    pub fn new(kind: TransformType, id: u16) -> Transform {
        Transform {
            kind,
            id,
            key_length: None,
            unknown_attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute (bits).
    pub fn with_key_length(kind: TransformType, id: u16, bits: u16) -> Transform {
        Transform {
            key_length: Some(bits),
            ..Transform::new(kind, id)
        }
    }

    /// Parses one transform substructure (exactly `buf`); returns its "last
    /// substructure" byte unchecked.
    fn parse(buf: &[u8]) -> Result<(u8, Transform), ParseError> {
        let mut r = Reader::new("transform", buf);
        let last = r.u8()?;
        let _reserved = r.u8()?;
        let _len = r.u16()?;
        let kind = TransformType(r.u8()?);
        let _reserved2 = r.u8()?;
        let id = r.u16()?;
        let mut key_length = None;
        let mut unknown_attributes = Vec::new();
        let mut a = Reader::new("transform attribute", r.rest());
        while !a.is_empty() {
            let af_type = a.u16()?;
            let attr_type = af_type & !ATTR_TV;
            if af_type & ATTR_TV != 0 {
                let value = a.array::<2>()?;
                if attr_type == ATTR_KEY_LENGTH {
                    if key_length.is_some() {
                        return Err(ParseError::InvalidField {
                            what: "transform: duplicate Key Length attribute",
                            value: attr_type.into(),
                        });
                    }
                    key_length = Some(u16::from_be_bytes(value));
                } else {
                    unknown_attributes.push((af_type, value.to_vec()));
                }
            } else {
                if attr_type == ATTR_KEY_LENGTH {
                    return Err(ParseError::InvalidField {
                        what: "transform: Key Length attribute in TLV format",
                        value: attr_type.into(),
                    });
                }
                let len = usize::from(a.u16()?);
                let available = a.remaining();
                if len > available {
                    return Err(ParseError::BadLength {
                        what: "transform attribute",
                        length: len,
                        available,
                    });
                }
                unknown_attributes.push((af_type, a.take(len)?.to_vec()));
            }
        }
        Ok((
            last,
            Transform {
                kind,
                id,
                key_length,
                unknown_attributes,
            },
        ))
    }

    fn emit(&self, last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(if last { 0 } else { MORE_TRANSFORMS });
        out.push(0);
        out.extend_from_slice(&[0, 0]);
        out.push(self.kind.0);
        out.push(0);
        out.extend_from_slice(&self.id.to_be_bytes());
        if let Some(bits) = self.key_length {
            out.extend_from_slice(&(ATTR_TV | ATTR_KEY_LENGTH).to_be_bytes());
            out.extend_from_slice(&bits.to_be_bytes());
        }
        for (af_type, value) in &self.unknown_attributes {
            out.extend_from_slice(&af_type.to_be_bytes());
            if af_type & ATTR_TV != 0 {
                // TV: exactly two value bytes (as parsed); pad or cut others.
                debug_assert_eq!(value.len(), 2, "TV attribute value must be 2 bytes");
                let mut v = [0u8; 2];
                for (d, s) in v.iter_mut().zip(value.iter()) {
                    *d = *s;
                }
                out.extend_from_slice(&v);
            } else {
                out.extend_from_slice(&len16(value.len(), "transform attribute").to_be_bytes());
                out.extend_from_slice(value);
            }
        }
        let len = out.len() - start;
        patch_len16(out, start + 2, len, "transform");
    }
}
