//! The box on the CGW's WAN path that applies `set_cgw_source_address`,
//! `drop_ike_message` and `mangle_ike_message`.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Instant;

use lab::wire::{self, Ipv4Info, PROTO_UDP};
use lab::{IfaceId, Node};

/// A transparent two-port box on the CGW's WAN path that, once set,
/// rewrites the CGW's source address (and the reverse destination): the
/// `set_cgw_source_address` fault. Ports are kept, so NAT detection sees
/// only an address change.
///
/// It also drops or mangles the n-th IKE message of a tunnel
/// (`drop_ike_message`, `mangle_ike_message`).
pub(super) struct SourceRewrite {
    pub(super) cgw: Ipv4Addr,
    pub(super) to: Option<Ipv4Addr>,
    pub(super) out: VecDeque<(IfaceId, Vec<u8>)>,
    pub(super) ike_faults: Vec<IkeFaultRule>,
}

/// An armed `drop_ike_message` / `mangle_ike_message`.
pub(super) struct IkeFaultRule {
    /// The AWS endpoint's address (the tunnel).
    pub(super) peer: Ipv4Addr,
    /// Count only messages from the CGW (`Some(true)`) or from AWS.
    pub(super) from_cgw: Option<bool>,
    /// Messages left to let pass before acting on the next one.
    pub(super) skip: u32,
    pub(super) mangle: bool,
    pub(super) done: bool,
}

/// Whether `p` is an IKE message (UDP 500, or 4500 with the non-ESP
/// marker), and its UDP payload offset.
pub(super) fn ike_payload_offset(p: &[u8]) -> Option<usize> {
    let info = Ipv4Info::parse(p)?;
    if info.protocol != PROTO_UDP {
        return None;
    }
    let (sp, dp) = info.ports(p)?;
    let off = info.header_len + 8;
    let payload = p.get(off..info.total_len)?;
    if sp == 500 || dp == 500 {
        return (payload.len() >= 28).then_some(off);
    }
    if (sp == 4500 || dp == 4500) && payload.len() >= 32 && payload[..4] == [0; 4] {
        return Some(off + 4);
    }
    None
}

impl SourceRewrite {
    /// Applies the armed IKE faults to a packet crossing from `from_cgw`'s
    /// side; false when it must be dropped.
    fn ike_fault(&mut self, from_cgw: bool, p: &mut [u8]) -> bool {
        let Some(info) = Ipv4Info::parse(p) else {
            return true;
        };
        let Some(off) = ike_payload_offset(p) else {
            return true;
        };
        let peer = if from_cgw { info.dst } else { info.src };
        let mut keep = true;
        for r in self.ike_faults.iter_mut().filter(|r| !r.done) {
            if r.peer != peer || r.from_cgw.is_some_and(|f| f != from_cgw) {
                continue;
            }
            if r.skip > 0 {
                r.skip -= 1;
                continue;
            }
            r.done = true;
            if r.mangle {
                // Flip a byte of the last 16 (inside the integrity check
                // data of an encrypted message, or the last payload).
                let last = info.total_len - 1;
                if last > off {
                    p[last] ^= 0x5a;
                    wire::fix_l4_checksum(p);
                }
            } else {
                keep = false;
            }
        }
        keep
    }
}

impl Node for SourceRewrite {
    fn handle_packet(&mut self, _now: Instant, iface: IfaceId, packet: &[u8]) {
        let mut p = packet.to_vec();
        if !self.ike_faults.is_empty() && !self.ike_fault(iface == IfaceId(0), &mut p) {
            return;
        }
        if let (Some(to), Some(info)) = (self.to, Ipv4Info::parse(packet)) {
            if iface == IfaceId(0) && info.src == self.cgw {
                wire::rewrite_src(&mut p, to, None);
            } else if iface == IfaceId(1) && info.dst == to {
                wire::rewrite_dst(&mut p, self.cgw, None);
            }
        }
        let out = if iface == IfaceId(0) {
            IfaceId(1)
        } else {
            IfaceId(0)
        };
        self.out.push_back((out, p));
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
