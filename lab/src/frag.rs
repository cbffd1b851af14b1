//! IPv4 fragmentation (RFC 791) and reassembly, for nodes that must split
//! a packet larger than an MTU (a tunnel gateway fragmenting before
//! encryption) or put one back together (an end host).

use std::net::Ipv4Addr;

use crate::wire::{fix_ip_checksum, Ipv4Info};

/// Splits `packet` into fragments of at most `mtu` bytes each (its own
/// header repeated, offsets in 8-byte units, MF on all but the last).
/// A packet that fits is returned whole. `None` if the packet is malformed,
/// carries DF, or `mtu` leaves no room for 8 bytes of data.
pub fn fragment(packet: &[u8], mtu: usize) -> Option<Vec<Vec<u8>>> {
    let info = Ipv4Info::parse(packet)?;
    if info.total_len <= mtu {
        return Some(vec![packet[..info.total_len].to_vec()]);
    }
    if info.df {
        return None;
    }
    let hl = info.header_len;
    let chunk = (mtu.checked_sub(hl)? / 8) * 8;
    if chunk == 0 {
        return None;
    }
    let flags = u16::from_be_bytes([packet[6], packet[7]]);
    let base_off = usize::from(flags & 0x1fff) * 8;
    let had_mf = flags & 0x2000 != 0;
    let data = &packet[hl..info.total_len];
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = (at + chunk).min(data.len());
        let last = end == data.len();
        let mut f = packet[..hl].to_vec();
        f.extend_from_slice(&data[at..end]);
        let total = u16::try_from(f.len()).ok()?;
        f[2..4].copy_from_slice(&total.to_be_bytes());
        let off = u16::try_from((base_off + at) / 8).ok()?;
        let mf = if !last || had_mf { 0x2000 } else { 0 };
        f[6..8].copy_from_slice(&(mf | off).to_be_bytes());
        fix_ip_checksum(&mut f);
        out.push(f);
        at = end;
    }
    Some(out)
}

/// Whether `packet` is a fragment (MF set or a nonzero offset).
pub fn is_fragment(packet: &[u8]) -> bool {
    packet.len() >= 8 && u16::from_be_bytes([packet[6], packet[7]]) & 0x3fff != 0
}

type Key = (Ipv4Addr, Ipv4Addr, u16, u8);
/// One packet in progress: its key, the header of the first fragment,
/// data pieces (offset, bytes), the data length once the last is seen.
type Pending = (Key, Option<Vec<u8>>, Vec<(usize, Vec<u8>)>, Option<usize>);

/// Reassembles fragments into whole packets. Bounded: at most
/// [`Reassembler::MAX_PENDING`] packets in progress (the oldest is dropped)
/// and 65535 bytes per packet.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// Keyed by (src, dst, IP id, protocol).
    pending: Vec<Pending>,
}

impl Reassembler {
    /// Packets being reassembled at once, at most.
    pub const MAX_PENDING: usize = 16;

    /// Takes one packet: a whole packet comes back at once; a fragment
    /// comes back as the whole packet when it completes one, else `None`.
    pub fn push(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        let info = Ipv4Info::parse(packet)?;
        if !is_fragment(packet) {
            return Some(packet[..info.total_len].to_vec());
        }
        let flags = u16::from_be_bytes([packet[6], packet[7]]);
        let off = usize::from(flags & 0x1fff) * 8;
        let mf = flags & 0x2000 != 0;
        let id = u16::from_be_bytes([packet[4], packet[5]]);
        let key = (info.src, info.dst, id, info.protocol);
        let pos = match self.pending.iter().position(|p| p.0 == key) {
            Some(p) => p,
            None => {
                if self.pending.len() >= Self::MAX_PENDING {
                    self.pending.remove(0);
                }
                self.pending.push((key, None, Vec::new(), None));
                self.pending.len() - 1
            }
        };
        let data = packet[info.header_len..info.total_len].to_vec();
        let entry = &mut self.pending[pos];
        if off + data.len() > 65535 - info.header_len {
            self.pending.remove(pos);
            return None;
        }
        if off == 0 {
            entry.1 = Some(packet[..info.header_len].to_vec());
        }
        if !mf {
            entry.3 = Some(off + data.len());
        }
        entry.2.retain(|(o, _)| *o != off);
        entry.2.push((off, data));
        let (Some(header), Some(total)) = (&entry.1, entry.3) else {
            return None;
        };
        entry.2.sort_by_key(|(o, _)| *o);
        let mut covered = 0;
        for (o, d) in &entry.2 {
            if *o > covered {
                return None;
            }
            covered = covered.max(o + d.len());
        }
        if covered < total {
            return None;
        }
        let mut whole = header.clone();
        whole.resize(header.len() + total, 0);
        for (o, d) in &entry.2 {
            let end = (o + d.len()).min(total);
            whole[header.len() + o..header.len() + end].copy_from_slice(&d[..end - o]);
        }
        let len = u16::try_from(whole.len()).ok()?;
        whole[2..4].copy_from_slice(&len.to_be_bytes());
        whole[6..8].copy_from_slice(&0u16.to_be_bytes());
        fix_ip_checksum(&mut whole);
        self.pending.remove(pos);
        Some(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::build_icmp_echo;

    fn big(df: bool) -> Vec<u8> {
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let mut p = build_icmp_echo(
            Ipv4Addr::new(198, 18, 0, 10),
            Ipv4Addr::new(198, 19, 0, 10),
            false,
            7,
            1,
            &data,
        );
        p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        if df {
            p[6] |= 0x40;
        }
        fix_ip_checksum(&mut p);
        p
    }

    #[test]
    fn split_and_reassemble_in_any_order() {
        let p = big(false);
        let frags = fragment(&p, 1438).unwrap();
        assert_eq!(frags.len(), 3);
        for f in &frags {
            assert!(f.len() <= 1438);
            assert!(is_fragment(f));
            let i = Ipv4Info::parse(f).unwrap();
            assert_eq!(i.total_len, f.len());
        }
        // Offsets are multiples of 8: every fragment but the last carries
        // a multiple of 8 bytes of data.
        assert_eq!((frags[0].len() - 20) % 8, 0);
        let mut r = Reassembler::default();
        assert_eq!(r.push(&frags[2]), None);
        assert_eq!(r.push(&frags[0]), None);
        assert_eq!(r.push(&frags[1]).unwrap(), p);
        // A duplicate after completion starts a new (incomplete) packet.
        assert_eq!(r.push(&frags[1]), None);
    }

    #[test]
    fn fits_or_refuses() {
        let p = big(false);
        assert_eq!(fragment(&p, 4000).unwrap(), vec![p.clone()]);
        assert_eq!(fragment(&big(true), 1438), None);
        assert_eq!(fragment(&p, 27), None);
        assert_eq!(fragment(&p[..10], 1438), None);
        let mut r = Reassembler::default();
        assert_eq!(r.push(&p).unwrap(), p);
    }

    #[test]
    fn fragments_of_fragments() {
        let p = big(false);
        let first = fragment(&p, 1500).unwrap();
        let mut all = Vec::new();
        for f in &first {
            all.extend(fragment(f, 600).unwrap());
        }
        assert!(all.len() > first.len());
        let mut r = Reassembler::default();
        let got: Vec<_> = all.iter().rev().filter_map(|f| r.push(f)).collect();
        assert_eq!(got, vec![p]);
    }
}
