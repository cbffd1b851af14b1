//! Why an import failed, each case precise enough for a test to match and
//! with the place in the input that caused it. A pre-shared key is never
//! shown, only described.

use std::net::Ipv4Addr;

use super::Location;

/// A download or tunnel options file that cannot be imported. (The
/// variants naming two places box them, to keep the error small.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Read {
        /// The file.
        file: String,
        /// The system's reason.
        message: String,
    },
    /// Neither XML nor the Generic text download.
    #[error(
        "{file}: not an AWS configuration download (expected the CustomerGatewayConfiguration \
         XML, the Generic text download, or DescribeVpnConnections output holding \
         CustomerGatewayConfiguration; tunnel options alone go to --options)"
    )]
    UnknownFormat {
        /// The file.
        file: String,
    },
    /// The file does not parse (XML or JSON syntax).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A required field is missing; `at` is its nearest parent.
    #[error("{at}: missing {field}")]
    Missing {
        /// The nearest enclosing element, section or object.
        at: Location,
        /// What is missing (`ike/pre_shared_key`, `Pre-Shared Key`).
        field: String,
    },
    /// A value that cannot be used.
    #[error("{at}: {value} is not accepted; expected {expected}")]
    BadValue {
        /// Where the value is.
        at: Location,
        /// The value as written (a key only described).
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// Not exactly two tunnels.
    #[error("{at}: found {found} tunnels; an AWS VPN connection has 2")]
    TunnelCount {
        /// The document (or options list).
        at: Location,
        /// How many were found.
        found: usize,
    },
    /// Two values that must agree do not (the two tunnels' customer
    /// gateway address or ASN, a tunnel's inside addresses).
    #[error("{first} says {first_value}, {second} says {second_value}: {what} must agree")]
    Disagree {
        /// What should agree.
        what: String,
        /// One place.
        first: Box<Location>,
        /// Its value.
        first_value: String,
        /// The other place.
        second: Box<Location>,
        /// Its value.
        second_value: String,
    },
    /// Two values that must differ are the same (the two tunnels' outside
    /// addresses, inside CIDRs overlapping).
    #[error("{first} and {second} are both {value}: {what} must differ")]
    Duplicate {
        /// What should differ.
        what: String,
        /// One place.
        first: Box<Location>,
        /// The other place.
        second: Box<Location>,
        /// The value.
        value: String,
    },
    /// A tunnel options entry whose outside address is neither tunnel's.
    #[error("{at}: no tunnel of the download has outside address {outside} (it has {known:?})")]
    NoSuchTunnel {
        /// The options entry.
        at: Location,
        /// Its OutsideIpAddress.
        outside: Ipv4Addr,
        /// The download's two AWS outside addresses.
        known: [Ipv4Addr; 2],
    },
    /// A tunnel options entry matched by outside address whose inside CIDR
    /// is not the download's.
    #[error(
        "tunnel {outside}: the download's inside CIDR {download_cidr} at {download} and the \
         tunnel options' {options_cidr} at {options} differ"
    )]
    InsideCidrMismatch {
        /// The tunnel's AWS outside address.
        outside: Ipv4Addr,
        /// The download's inside CIDR and where.
        download_cidr: String,
        /// Where the download gives it.
        download: Box<Location>,
        /// The tunnel options' inside CIDR.
        options_cidr: String,
        /// Where the options give it.
        options: Box<Location>,
    },
    /// The written configuration needs prefixes the download does not hold.
    #[error("{what} are not in AWS's download: give them with {flag}")]
    NeedsPrefixes {
        /// What is needed (`the on-premises prefixes to announce`).
        what: String,
        /// The command-line flag (`--announce`).
        flag: String,
    },
}
