//! Why a datagram could not be parsed.

use super::PayloadType;

/// A strict-parse failure. Every variant names what was being read, so a log
/// line or a test can say exactly which field was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the structure needs.
    #[error("{what}: truncated, need {need} bytes, have {have}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A length field disagrees with the bytes around it.
    #[error("{what}: length field {length} does not fit (available {available})")]
    BadLength {
        /// The structure being read.
        what: &'static str,
        /// The length the field claims.
        length: usize,
        /// The bytes actually available.
        available: usize,
    },
    /// The IKE major version is not 2.
    #[error("IKE major version {0} (only 2 is supported)")]
    UnsupportedMajorVersion(u8),
    /// A field holds a value the RFC forbids.
    #[error("{what}: invalid value {value}")]
    InvalidField {
        /// The field.
        what: &'static str,
        /// The offending value.
        value: u64,
    },
    /// A payload follows the Encrypted payload, which must be last.
    #[error("payload {0} follows the Encrypted payload, which must be last")]
    PayloadAfterEncrypted(PayloadType),
    /// More payloads than we accept in one message.
    #[error("more than {0} payloads in one message")]
    TooManyPayloads(usize),
    /// A length outside the range the RFC allows for this field.
    #[error("{what}: length {length} outside {min}..={max}")]
    LengthOutOfRange {
        /// The structure being read.
        what: &'static str,
        /// The length found.
        length: usize,
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
    },
    /// A count field disagrees with the substructures actually present.
    #[error("{what}: count field says {declared}, found {found}")]
    CountMismatch {
        /// The structure being read.
        what: &'static str,
        /// The count the field claims.
        declared: usize,
        /// How many were found.
        found: usize,
    },
    /// Bytes left over after a structure that should end there (after the
    /// last substructure, after the last payload, after the Encrypted payload).
    #[error("{what}: {count} trailing bytes")]
    TrailingData {
        /// Where the bytes were found.
        what: &'static str,
        /// How many.
        count: usize,
    },
}
