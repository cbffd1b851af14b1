//! IPv4, UDP, TCP and ICMP header access for the simulated network.
//!
//! A tiny own codec rather than `etherparse`: the simulator only needs a
//! handful of fixed-offset fields (addresses, protocol, TTL, DF, ports, ICMP
//! identifier) and in-place rewriting of them with checksum repair (TTL
//! decrement in the router, address and port translation in the NAT). Doing
//! that on the byte slice avoids a parse/re-serialise round trip per hop and
//! keeps the crate free of a dependency that would not be in the offline
//! registry cache. Every accessor bounds-checks: a malformed packet yields
//! `None`, never a panic.

use std::net::Ipv4Addr;

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number of ESP.
pub const PROTO_ESP: u8 = 50;

/// An IPv4 prefix (address and prefix length), as used by routes and rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: Ipv4Addr,
    len: u8,
}

impl Prefix {
    /// A prefix; `None` when `len` is above 32. Host bits are cleared.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Self> {
        if len > 32 {
            return None;
        }
        let bits = u32::from(addr) & Self::mask(len);
        Some(Prefix {
            addr: Ipv4Addr::from(bits),
            len,
        })
    }

    /// A /32 prefix holding exactly `addr`.
    pub fn host(addr: Ipv4Addr) -> Self {
        Prefix { addr, len: 32 }
    }

    /// The default route, 0.0.0.0/0.
    pub fn any() -> Self {
        Prefix {
            addr: Ipv4Addr::UNSPECIFIED,
            len: 0,
        }
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for the /0 prefix (which contains every address).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when `ip` lies inside the prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Self::mask(self.len) == u32::from(self.addr)
    }

    fn mask(len: u8) -> u32 {
        if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        }
    }
}

/// The fields of an IPv4 packet the simulator looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    /// Header length in bytes.
    pub header_len: usize,
    /// Total length from the header (at most the slice length).
    pub total_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Protocol number.
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Don't Fragment flag.
    pub df: bool,
    /// True for a non-first fragment (no transport header).
    pub later_fragment: bool,
}

impl Ipv4Info {
    /// Parses the IPv4 header; `None` unless the slice holds a whole
    /// version-4 header whose total length fits the slice.
    pub fn parse(p: &[u8]) -> Option<Self> {
        let first = *p.first()?;
        if first >> 4 != 4 {
            return None;
        }
        let header_len = usize::from(first & 0x0f) * 4;
        if header_len < 20 || p.len() < header_len {
            return None;
        }
        let total_len = usize::from(u16::from_be_bytes([p[2], p[3]]));
        if total_len < header_len || total_len > p.len() {
            return None;
        }
        let flags_frag = u16::from_be_bytes([p[6], p[7]]);
        Some(Ipv4Info {
            header_len,
            total_len,
            ttl: p[8],
            protocol: p[9],
            src: Ipv4Addr::new(p[12], p[13], p[14], p[15]),
            dst: Ipv4Addr::new(p[16], p[17], p[18], p[19]),
            df: flags_frag & 0x4000 != 0,
            later_fragment: flags_frag & 0x1fff != 0,
        })
    }

    /// Source and destination ports of a UDP or TCP packet, or for ICMP
    /// echo request/reply the identifier as both; `None` otherwise.
    pub fn ports(&self, p: &[u8]) -> Option<(u16, u16)> {
        if self.later_fragment {
            return None;
        }
        let l4 = p.get(self.header_len..self.total_len)?;
        match self.protocol {
            PROTO_UDP | PROTO_TCP if l4.len() >= 4 => Some((
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
            )),
            PROTO_ICMP if l4.len() >= 8 && (l4[0] == 0 || l4[0] == 8) => {
                let id = u16::from_be_bytes([l4[4], l4[5]]);
                Some((id, id))
            }
            _ => None,
        }
    }
}

/// The Internet checksum (RFC 1071) over `data`, starting from `initial`.
pub fn checksum(initial: u32, data: &[u8]) -> u16 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Recomputes the IPv4 header checksum in place (no-op on a malformed packet).
pub fn fix_ip_checksum(p: &mut [u8]) {
    let Some(info) = Ipv4Info::parse(p) else {
        return;
    };
    p[10] = 0;
    p[11] = 0;
    let c = checksum(0, &p[..info.header_len]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the UDP, TCP or ICMP checksum in place (no-op when malformed
/// or a later fragment). A UDP checksum of zero (none) is left at zero.
pub fn fix_l4_checksum(p: &mut [u8]) {
    let Some(info) = Ipv4Info::parse(p) else {
        return;
    };
    if info.later_fragment {
        return;
    }
    let (h, t) = (info.header_len, info.total_len);
    let l4_len = t - h;
    let off = match info.protocol {
        PROTO_UDP if l4_len >= 8 => 6,
        PROTO_TCP if l4_len >= 20 => 16,
        PROTO_ICMP if l4_len >= 4 => 2,
        _ => return,
    };
    if info.protocol == PROTO_UDP && p[h + 6] == 0 && p[h + 7] == 0 {
        return;
    }
    p[h + off] = 0;
    p[h + off + 1] = 0;
    let initial = if info.protocol == PROTO_ICMP {
        0
    } else {
        pseudo_header_sum(info.src, info.dst, info.protocol, l4_len)
    };
    let mut c = checksum(initial, &p[h..t]);
    if info.protocol == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    p[h + off..h + off + 2].copy_from_slice(&c.to_be_bytes());
}

fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u32 {
    let s = src.octets();
    let d = dst.octets();
    u32::from(u16::from_be_bytes([s[0], s[1]]))
        + u32::from(u16::from_be_bytes([s[2], s[3]]))
        + u32::from(u16::from_be_bytes([d[0], d[1]]))
        + u32::from(u16::from_be_bytes([d[2], d[3]]))
        + u32::from(proto)
        + (len as u32 & 0xffff)
}

/// Rewrites the source address (and, if given, the source port or ICMP
/// identifier) and repairs the checksums. Returns false when malformed.
pub fn rewrite_src(p: &mut [u8], addr: Ipv4Addr, port: Option<u16>) -> bool {
    rewrite(p, 12, addr, port, true)
}

/// Rewrites the destination address (and, if given, the destination port or
/// ICMP identifier) and repairs the checksums. Returns false when malformed.
pub fn rewrite_dst(p: &mut [u8], addr: Ipv4Addr, port: Option<u16>) -> bool {
    rewrite(p, 16, addr, port, false)
}

fn rewrite(p: &mut [u8], addr_off: usize, addr: Ipv4Addr, port: Option<u16>, src: bool) -> bool {
    let Some(info) = Ipv4Info::parse(p) else {
        return false;
    };
    p[addr_off..addr_off + 4].copy_from_slice(&addr.octets());
    if let Some(port) = port {
        if info.ports(p).is_none() {
            return false;
        }
        let h = info.header_len;
        let off = match (info.protocol, src) {
            (PROTO_ICMP, _) => h + 4,
            (_, true) => h,
            (_, false) => h + 2,
        };
        p[off..off + 2].copy_from_slice(&port.to_be_bytes());
    }
    fix_ip_checksum(p);
    fix_l4_checksum(p);
    true
}

/// Decrements the TTL and repairs the header checksum. Returns the new TTL,
/// or `None` when the packet is malformed.
pub fn decrement_ttl(p: &mut [u8]) -> Option<u8> {
    let info = Ipv4Info::parse(p)?;
    let ttl = info.ttl.saturating_sub(1);
    p[8] = ttl;
    fix_ip_checksum(p);
    Some(ttl)
}

fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    payload_len: usize,
    df: bool,
    ttl: u8,
) -> Vec<u8> {
    let total = (20 + payload_len).min(usize::from(u16::MAX)) as u16;
    let mut h = vec![0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    if df {
        h[6] = 0x40;
    }
    h[8] = ttl;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    h
}

/// Builds an IPv4/UDP packet with TTL 64 and correct checksums.
pub fn build_udp(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8], df: bool) -> Vec<u8> {
    let payload = &payload[..payload.len().min(65_507)];
    let mut p = ipv4_header(src.0, dst.0, PROTO_UDP, 8 + payload.len(), df, 64);
    p.extend_from_slice(&src.1.to_be_bytes());
    p.extend_from_slice(&dst.1.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0xff, 0xff]); // non-zero placeholder, fixed below
    p.extend_from_slice(payload);
    fix_ip_checksum(&mut p);
    fix_l4_checksum(&mut p);
    p
}

/// Builds an IPv4 packet carrying `payload` under an arbitrary protocol
/// number (for example ESP), TTL 64.
pub fn build_raw(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8], df: bool) -> Vec<u8> {
    let payload = &payload[..payload.len().min(65_515)];
    let mut p = ipv4_header(src, dst, protocol, payload.len(), df, 64);
    p.extend_from_slice(payload);
    fix_ip_checksum(&mut p);
    p
}

/// Builds an ICMP echo request (`reply` false) or reply with the given
/// identifier, sequence number and data.
pub fn build_icmp_echo(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    reply: bool,
    id: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    let mut body = vec![if reply { 0 } else { 8 }, 0, 0, 0];
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&seq.to_be_bytes());
    body.extend_from_slice(data);
    let mut p = build_raw(src, dst, PROTO_ICMP, &body, false);
    fix_l4_checksum(&mut p);
    p
}

/// Builds an ICMP destination unreachable, fragmentation needed (type 3,
/// code 4) from `from` about `original`, announcing `mtu`. `None` when the
/// original is malformed.
pub fn build_icmp_frag_needed(from: Ipv4Addr, original: &[u8], mtu: u16) -> Option<Vec<u8>> {
    let info = Ipv4Info::parse(original)?;
    let quoted = &original[..(info.header_len + 8).min(info.total_len)];
    let mut body = vec![3, 4, 0, 0, 0, 0];
    body.extend_from_slice(&mtu.to_be_bytes());
    body.extend_from_slice(quoted);
    let mut p = build_raw(from, info.src, PROTO_ICMP, &body, false);
    fix_l4_checksum(&mut p);
    Some(p)
}

/// The payload of a UDP packet, or `None` when the packet is not a
/// well-formed UDP datagram.
pub fn udp_payload(p: &[u8]) -> Option<&[u8]> {
    let info = Ipv4Info::parse(p)?;
    if info.protocol != PROTO_UDP || info.later_fragment {
        return None;
    }
    p.get(info.header_len + 8..info.total_len)
}
