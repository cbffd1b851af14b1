//! Minimal IPv4 + ICMP echo packets for pings through our ESP SAs.

use std::net::Ipv4Addr;

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += w as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 ICMP echo request (type 8) or reply (type 0).
pub fn echo(src: Ipv4Addr, dst: Ipv4Addr, kind: u8, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20] = kind;
    p[24..26].copy_from_slice(&id.to_be_bytes());
    p[26..28].copy_from_slice(&seq.to_be_bytes());
    p[28..].copy_from_slice(payload);
    let c = checksum(&p[20..]);
    p[22..24].copy_from_slice(&c.to_be_bytes());
    p
}

/// A parsed ICMP echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// 8 request, 0 reply.
    pub kind: u8,
    /// Identifier.
    pub id: u16,
    /// Sequence number.
    pub seq: u16,
    /// Data after the ICMP header.
    pub payload: Vec<u8>,
}

/// Parses an IPv4 ICMP echo request or reply, checking both checksums.
pub fn parse_echo(p: &[u8]) -> Option<Echo> {
    if p.len() < 28 || p[0] >> 4 != 4 || p[9] != 1 {
        return None;
    }
    let ihl = (p[0] & 0x0f) as usize * 4;
    let total = u16::from_be_bytes([p[2], p[3]]) as usize;
    if ihl < 20
        || total > p.len()
        || total < ihl + 8
        || checksum(&p[..ihl]) != 0
        || checksum(&p[ihl..total]) != 0
    {
        return None;
    }
    let icmp = &p[ihl..total];
    if icmp[0] != 0 && icmp[0] != 8 {
        return None;
    }
    Some(Echo {
        src: Ipv4Addr::new(p[12], p[13], p[14], p[15]),
        dst: Ipv4Addr::new(p[16], p[17], p[18], p[19]),
        kind: icmp[0],
        id: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
        payload: icmp[8..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = echo(
            Ipv4Addr::new(169, 254, 1, 2),
            Ipv4Addr::new(169, 254, 1, 1),
            8,
            7,
            1,
            b"cgw-sim",
        );
        let e = parse_echo(&p).unwrap();
        assert_eq!(
            (e.kind, e.id, e.seq, &e.payload[..]),
            (8, 7, 1, &b"cgw-sim"[..])
        );
        let mut bad = p.clone();
        bad[30] ^= 1;
        assert!(parse_echo(&bad).is_none());
    }
}
