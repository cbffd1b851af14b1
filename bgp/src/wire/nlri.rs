//! Prefixes on the wire (RFC 4271 4.3, RFC 4760 5): a length in bits, then
//! the fewest octets that hold it. Parsed prefixes have their host bits
//! cleared; emitted prefixes never carry host bits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::route::IpNet;

/// Address family identifier for IPv4 (IANA).
pub const AFI_IPV4: u16 = 1;
/// Address family identifier for IPv6 (IANA).
pub const AFI_IPV6: u16 = 2;
/// Subsequent address family identifier for unicast (IANA).
pub const SAFI_UNICAST: u8 = 1;

/// The AFI of a prefix.
pub fn afi_of(p: &IpNet) -> u16 {
    match p {
        IpNet::V4(_) => AFI_IPV4,
        IpNet::V6(_) => AFI_IPV6,
    }
}

/// The octets a prefix takes on the wire (length octet included).
pub fn prefix_wire_len(p: &IpNet) -> usize {
    1 + usize::from(p.prefix_len()).div_ceil(8)
}

/// Appends one prefix, host bits cleared.
pub fn emit_prefix(p: &IpNet, out: &mut Vec<u8>) {
    let len = p.prefix_len();
    let bytes = usize::from(len).div_ceil(8);
    out.push(len);
    let start = out.len();
    match p.trunc().addr() {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()[..bytes]),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()[..bytes]),
    }
    // `trunc` already cleared the host bits; nothing else to mask.
    debug_assert_eq!(out.len() - start, bytes);
}

/// Why a prefix list could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixError {
    /// A length beyond the family's address width.
    TooLong(u8),
    /// The field ends inside a prefix.
    Truncated,
}

impl std::fmt::Display for PrefixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrefixError::TooLong(l) => write!(f, "prefix length {l} too long for the family"),
            PrefixError::Truncated => f.write_str("prefix runs past the end of its field"),
        }
    }
}

/// Parses a whole field of prefixes of family `afi` (1 or 2), appending
/// them to `out`. The field must be consumed exactly.
pub fn parse_prefixes(mut buf: &[u8], afi: u16, out: &mut Vec<IpNet>) -> Result<(), PrefixError> {
    let max: u8 = if afi == AFI_IPV6 { 128 } else { 32 };
    while let Some((&len, rest)) = buf.split_first() {
        if len > max {
            return Err(PrefixError::TooLong(len));
        }
        let n = usize::from(len).div_ceil(8);
        let Some(bytes) = rest.get(..n) else {
            return Err(PrefixError::Truncated);
        };
        let net = if afi == AFI_IPV6 {
            let mut a = [0u8; 16];
            a[..n].copy_from_slice(bytes);
            IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), len)
        } else {
            let mut a = [0u8; 4];
            a[..n].copy_from_slice(bytes);
            IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), len)
        };
        // `len <= max` was checked, so `new` cannot fail.
        if let Ok(net) = net {
            out.push(net.trunc());
        }
        buf = &rest[n..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bytes() {
        let mut out = Vec::new();
        parse_prefixes(&[24, 198, 18, 2, 32, 203, 0, 113, 4, 0], AFI_IPV4, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                "198.18.2.0/24".parse::<IpNet>().unwrap(),
                "203.0.113.4/32".parse().unwrap(),
                "0.0.0.0/0".parse().unwrap()
            ]
        );
        let mut b = Vec::new();
        for p in &out {
            emit_prefix(p, &mut b);
        }
        assert_eq!(b, [24, 198, 18, 2, 32, 203, 0, 113, 4, 0]);
    }

    #[test]
    fn host_bits_cleared() {
        let mut out = Vec::new();
        parse_prefixes(&[20, 198, 18, 0xff], AFI_IPV4, &mut out).unwrap();
        assert_eq!(out, vec!["198.18.240.0/20".parse::<IpNet>().unwrap()]);
        let mut b = Vec::new();
        emit_prefix(&"198.18.255.255/20".parse().unwrap(), &mut b);
        assert_eq!(b, [20, 198, 18, 0xf0]);
    }

    #[test]
    fn errors() {
        let mut out = Vec::new();
        assert_eq!(
            parse_prefixes(&[33, 1, 2, 3, 4, 5], AFI_IPV4, &mut out),
            Err(PrefixError::TooLong(33))
        );
        assert_eq!(
            parse_prefixes(&[24, 1, 2], AFI_IPV4, &mut out),
            Err(PrefixError::Truncated)
        );
        assert_eq!(
            parse_prefixes(&[129], AFI_IPV6, &mut out),
            Err(PrefixError::TooLong(129))
        );
        assert!(parse_prefixes(&[128; 17], AFI_IPV6, &mut out).is_ok());
    }
}
