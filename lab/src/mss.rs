//! TCP MSS clamping: lowering the Maximum Segment Size option of a SYN
//! that crosses a tunnel, so that neither end sends segments the tunnel
//! cannot carry (`ip tcp adjust-mss` in AWS's configuration downloads).
//! Hosts that ignore ICMP "fragmentation needed" (or never get it) need
//! this, since their TCP sets DF.

use crate::wire::{fix_l4_checksum, Ipv4Info, PROTO_TCP};

/// TCP option kinds.
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_MSS: u8 = 2;
/// The SYN flag.
const SYN: u8 = 0x02;

/// Lowers the MSS option of a TCP SYN (or SYN-ACK) in the IPv4 packet `p`
/// to `mss` when it is larger, and fixes the checksum. Returns the MSS the
/// packet carried before, if it was lowered. Anything else (not TCP, not a
/// SYN, a fragment, no MSS option, a malformed option list) is left alone.
pub fn clamp_mss(p: &mut [u8], mss: u16) -> Option<u16> {
    let info = Ipv4Info::parse(p)?;
    if info.protocol != PROTO_TCP || info.later_fragment {
        return None;
    }
    let h = info.header_len;
    let tcp = p.get(h..info.total_len)?;
    if tcp.len() < 20 || tcp[13] & SYN == 0 {
        return None;
    }
    let data_off = usize::from(tcp[12] >> 4) * 4;
    if data_off < 20 || data_off > tcp.len() {
        return None;
    }
    let mut i = 20;
    while i < data_off {
        match tcp[i] {
            OPT_END => return None,
            OPT_NOP => i += 1,
            kind => {
                let len = usize::from(*tcp.get(i + 1)?);
                if len < 2 || i + len > data_off {
                    return None;
                }
                if kind == OPT_MSS && len == 4 {
                    let old = u16::from_be_bytes([tcp[i + 2], tcp[i + 3]]);
                    if old <= mss {
                        return None;
                    }
                    p[h + i + 2..h + i + 4].copy_from_slice(&mss.to_be_bytes());
                    fix_l4_checksum(p);
                    return Some(old);
                }
                i += len;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::build_raw;
    use std::net::Ipv4Addr;

    const A: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
    const B: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);

    /// A TCP header (ports 49152 -> 80) with `flags` and `options`.
    fn segment(flags: u8, options: &[u8]) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&49152u16.to_be_bytes());
        t[2..4].copy_from_slice(&80u16.to_be_bytes());
        t[12] = (((20 + options.len()) / 4) as u8) << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&64240u16.to_be_bytes());
        t.extend_from_slice(options);
        let mut p = build_raw(A, B, PROTO_TCP, &t, true);
        fix_l4_checksum(&mut p);
        p
    }

    fn mss_of(p: &[u8]) -> u16 {
        u16::from_be_bytes([p[20 + 20 + 2], p[20 + 20 + 3]])
    }

    /// The TCP checksum over the pseudo-header verifies.
    fn checksum_ok(p: &[u8]) -> bool {
        let mut q = p.to_vec();
        let before = [q[36], q[37]];
        fix_l4_checksum(&mut q);
        before == [q[36], q[37]]
    }

    #[test]
    fn lowers_a_syn_mss_after_nops_and_fixes_the_checksum() {
        // NOP, NOP, MSS 1460, then window scale 7 and a NOP.
        let opts = [1, 1, 2, 4, 0x05, 0xb4, 3, 3, 7, 1, 0, 0];
        let mut p = segment(SYN, &opts);
        assert_eq!(clamp_mss(&mut p, 1379), Some(1460));
        assert_eq!(u16::from_be_bytes([p[44], p[45]]), 1379);
        assert!(checksum_ok(&p));
    }

    #[test]
    fn leaves_smaller_mss_non_syn_and_broken_options_alone() {
        let mut small = segment(SYN | 0x10, &[2, 4, 0x05, 0x00]);
        assert_eq!(clamp_mss(&mut small, 1379), None);
        assert_eq!(mss_of(&small), 1280);
        let mut ack = segment(0x10, &[2, 4, 0x05, 0xb4]);
        let before = ack.clone();
        assert_eq!(clamp_mss(&mut ack, 1379), None);
        assert_eq!(ack, before);
        // An option whose length runs past the header.
        let mut broken = segment(SYN, &[2, 9, 0x05, 0xb4]);
        let before = broken.clone();
        assert_eq!(clamp_mss(&mut broken, 1379), None);
        assert_eq!(broken, before);
        // Length 0 would loop forever if trusted.
        let mut zero = segment(SYN, &[3, 0, 0, 0]);
        assert_eq!(clamp_mss(&mut zero, 1379), None);
        let mut udp = build_raw(A, B, 17, &[0u8; 40], false);
        assert_eq!(clamp_mss(&mut udp, 1379), None);
    }
}
