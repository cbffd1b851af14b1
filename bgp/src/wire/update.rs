//! UPDATE (RFC 4271 4.3) with MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760),
//! its errors (RFC 4271 6.3 as revised by RFC 7606), and
//! [`encode_updates`], which packs prefixes into messages of at most 4096
//! octets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attributes::{
    self, put_attr, UpdateError, FLAG_OPTIONAL, MP_REACH_NLRI, MP_UNREACH_NLRI,
};
use super::header::{self, Header, TYPE_UPDATE};
use super::nlri::{self, afi_of, prefix_wire_len, AFI_IPV4, AFI_IPV6, SAFI_UNICAST};
use super::notification::codes::*;
use super::{Context, MessageError, Notification, Update, HEADER_LEN, MAX_MESSAGE_LEN};
use crate::route::{IpNet, PathAttributes};

fn reset(subcode: u8, reason: impl Into<String>) -> MessageError {
    MessageError::new(Notification::new(UPDATE, subcode, Vec::new()), reason)
}

impl Update {
    /// An UPDATE that announces `prefixes` with `attributes`.
    pub fn announce(attributes: PathAttributes, prefixes: Vec<IpNet>) -> Update {
        Update {
            withdrawn: Vec::new(),
            attributes: Some(attributes),
            announced: prefixes,
            treat_as_withdraw: false,
        }
    }

    /// An UPDATE that withdraws `prefixes`.
    pub fn withdraw(prefixes: Vec<IpNet>) -> Update {
        Update {
            withdrawn: prefixes,
            ..Update::default()
        }
    }

    /// The End-of-RIB marker (RFC 4724): an empty UPDATE for IPv4
    /// unicast, an empty MP_UNREACH_NLRI for other families.
    pub fn is_end_of_rib(&self) -> bool {
        self.withdrawn.is_empty() && self.announced.is_empty() && self.attributes.is_none()
    }

    /// The prefixes to withdraw once RFC 7606 is applied: `withdrawn`,
    /// plus `announced` when the UPDATE is treated as withdraw.
    pub fn effective_withdrawn(&self) -> impl Iterator<Item = &IpNet> {
        let extra: &[IpNet] = if self.treat_as_withdraw {
            &self.announced
        } else {
            &[]
        };
        self.withdrawn.iter().chain(extra)
    }

    /// Parses the body (after the header).
    pub(crate) fn parse_body(
        b: &[u8],
        ctx: &Context,
        notes: &mut Vec<UpdateError>,
    ) -> Result<Update, MessageError> {
        // RFC 4271 6.3: the two length fields must fit in the message.
        let Some((wl, rest)) = b.split_first_chunk::<2>() else {
            return Err(reset(
                MALFORMED_ATTRIBUTE_LIST,
                "UPDATE shorter than 23 octets",
            ));
        };
        let wlen = usize::from(u16::from_be_bytes(*wl));
        let Some(wbytes) = rest.get(..wlen) else {
            return Err(reset(
                MALFORMED_ATTRIBUTE_LIST,
                format!("withdrawn routes length {wlen} overruns the message"),
            ));
        };
        let rest = &rest[wlen..];
        let Some((al, rest)) = rest.split_first_chunk::<2>() else {
            return Err(reset(
                MALFORMED_ATTRIBUTE_LIST,
                "no room for the total path attribute length",
            ));
        };
        let alen = usize::from(u16::from_be_bytes(*al));
        let Some(abytes) = rest.get(..alen) else {
            return Err(reset(
                MALFORMED_ATTRIBUTE_LIST,
                format!("total path attribute length {alen} overruns the message"),
            ));
        };
        let nlri_bytes = &rest[alen..];

        // RFC 7606 5.3: a withdrawn routes or NLRI field that cannot be
        // parsed resets the session.
        let mut withdrawn = Vec::new();
        nlri::parse_prefixes(wbytes, AFI_IPV4, &mut withdrawn)
            .map_err(|e| reset(INVALID_NETWORK_FIELD, format!("withdrawn routes: {e}")))?;
        let mut nlri_v4 = Vec::new();
        nlri::parse_prefixes(nlri_bytes, AFI_IPV4, &mut nlri_v4)
            .map_err(|e| reset(INVALID_NETWORK_FIELD, format!("NLRI: {e}")))?;
        if !ctx.ipv4_unicast {
            withdrawn.clear();
            nlri_v4.clear();
        }

        let mut set = attributes::parse_attributes(abytes, ctx, notes)?;
        if !ctx.four_octet_as {
            set.merge_as4(notes);
        }
        withdrawn.append(&mut set.mp_unreach);

        let mp = set.mp_reach.take().unwrap_or_default();
        let mut announced = mp.prefixes;
        let has_v4_nlri = !nlri_v4.is_empty();
        announced.extend(nlri_v4);
        if announced.is_empty() {
            // RFC 7606 5.2: attributes without NLRI change nothing.
            return Ok(Update {
                withdrawn,
                attributes: None,
                announced,
                treat_as_withdraw: false,
            });
        }
        let next_hop = if has_v4_nlri {
            set.next_hop.map(IpAddr::V4)
        } else {
            mp.next_hop
        };
        // RFC 7606 3.d: a missing well-known mandatory attribute is
        // treat-as-withdraw (NEXT_HOP only when the NLRI field is used).
        for (absent, code, name) in [
            (set.origin.is_none(), attributes::ORIGIN, "ORIGIN"),
            (set.as_path.is_none(), attributes::AS_PATH, "AS_PATH"),
            (next_hop.is_none(), attributes::NEXT_HOP, "NEXT_HOP"),
        ] {
            // Reported only when nothing worse explains the absence.
            if absent && !set.treat_as_withdraw {
                notes.push(UpdateError {
                    action: attributes::ErrorAction::TreatAsWithdraw,
                    type_code: code,
                    subcode: MISSING_WELL_KNOWN,
                    reason: format!("missing {name}"),
                });
            }
        }
        let mut treat_as_withdraw = set.treat_as_withdraw;
        let attributes = match (treat_as_withdraw, set.origin, set.as_path, next_hop) {
            (false, Some(origin), Some(as_path), Some(next_hop)) => Some(PathAttributes {
                origin,
                as_path,
                next_hop,
                med: set.med,
                local_pref: set.local_pref,
                communities: set.communities,
                atomic_aggregate: set.atomic_aggregate,
                other: set.other,
            }),
            _ => {
                treat_as_withdraw = true;
                None
            }
        };
        Ok(Update {
            withdrawn,
            attributes,
            announced,
            treat_as_withdraw,
        })
    }

    /// Appends the body. IPv4 withdrawals go in the Withdrawn Routes field
    /// and IPv6 ones in MP_UNREACH_NLRI; IPv6 announcements go in
    /// MP_REACH_NLRI (with an IPv4 next hop as ::ffff:a.b.c.d) and IPv4
    /// ones in the NLRI field with NEXT_HOP, or, with an IPv6 next hop, in
    /// an MP_REACH_NLRI of AFI 1 (RFC 8950) when no IPv6 prefix needs it.
    /// An UPDATE treated as withdraw, or without attributes, is written as
    /// the withdrawal it means.
    pub(crate) fn emit_body(&self, ctx: &Context, out: &mut Vec<u8>) {
        let attrs = self.attributes.as_ref().filter(|_| !self.treat_as_withdraw);
        let announced: &[IpNet] = if attrs.is_some() {
            &self.announced
        } else {
            &[]
        };
        let withdrawn = self.withdrawn.iter().chain(if attrs.is_some() {
            &[][..]
        } else {
            &self.announced[..]
        });
        let (w4, w6): (Vec<&IpNet>, Vec<&IpNet>) = withdrawn.partition(|p| afi_of(p) == AFI_IPV4);
        let (a4, a6): (Vec<&IpNet>, Vec<&IpNet>) =
            announced.iter().partition(|p| afi_of(p) == AFI_IPV4);

        let wl_at = out.len();
        out.extend_from_slice(&[0, 0]);
        for p in &w4 {
            nlri::emit_prefix(p, out);
        }
        let wlen = out.len() - wl_at - 2;
        out[wl_at..wl_at + 2].copy_from_slice(&(wlen.min(0xffff) as u16).to_be_bytes());

        let al_at = out.len();
        out.extend_from_slice(&[0, 0]);
        if !w6.is_empty() {
            let mut v = Vec::with_capacity(3 + w6.len() * 17);
            v.extend_from_slice(&AFI_IPV6.to_be_bytes());
            v.push(SAFI_UNICAST);
            for p in &w6 {
                nlri::emit_prefix(p, &mut v);
            }
            put_attr(out, FLAG_OPTIONAL, MP_UNREACH_NLRI, &v);
        }
        let mut nlri_v4: &[&IpNet] = &[];
        if let Some(a) = attrs {
            let (mp_afi, mp_prefixes, nh): (u16, &[&IpNet], Option<Ipv6Addr>) = match a.next_hop {
                IpAddr::V4(nh4) => {
                    nlri_v4 = &a4;
                    (AFI_IPV6, &a6, Some(nh4.to_ipv6_mapped()))
                }
                IpAddr::V6(nh6) if a6.is_empty() => (AFI_IPV4, &a4, Some(nh6)),
                IpAddr::V6(nh6) => {
                    // IPv4 prefixes cannot share this UPDATE: NEXT_HOP
                    // must be IPv4. Take the mapped address if it is one.
                    nlri_v4 = &a4;
                    (AFI_IPV6, &a6, Some(nh6))
                }
            };
            if !mp_prefixes.is_empty() {
                let mut v = Vec::with_capacity(22 + mp_prefixes.len() * 17);
                v.extend_from_slice(&mp_afi.to_be_bytes());
                v.push(SAFI_UNICAST);
                let nh = nh.unwrap_or(Ipv6Addr::UNSPECIFIED);
                v.push(16);
                v.extend_from_slice(&nh.octets());
                v.push(0);
                for p in mp_prefixes {
                    nlri::emit_prefix(p, &mut v);
                }
                put_attr(out, FLAG_OPTIONAL, MP_REACH_NLRI, &v);
            }
            let nh4 = match a.next_hop {
                IpAddr::V4(nh4) => nh4,
                IpAddr::V6(nh6) => nh6.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
            };
            let nh4 = (!nlri_v4.is_empty()).then_some(nh4);
            attributes::emit_attributes(a, nh4, ctx, out);
        }
        let alen = out.len() - al_at - 2;
        out[al_at..al_at + 2].copy_from_slice(&(alen.min(0xffff) as u16).to_be_bytes());
        for p in nlri_v4 {
            nlri::emit_prefix(p, out);
        }
    }

    /// The message as bytes (header included).
    pub fn to_bytes(&self, ctx: &Context) -> Vec<u8> {
        let mut out = Vec::new();
        let at = Header::start(TYPE_UPDATE, &mut out);
        self.emit_body(ctx, &mut out);
        header::finish(at, &mut out);
        out
    }
}

/// The attributes leave no room for a single prefix in 4096 octets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path attributes take {0} octets: no room for a prefix in a 4096-octet UPDATE")]
pub struct AttributesTooLarge(pub usize);

/// Packs announcements of `prefixes` with `attrs` into as few UPDATEs as
/// fit in 4096 octets each (whole messages, header included), one family
/// per message: IPv4 prefixes in the NLRI field (with an IPv4 next hop),
/// IPv6 ones in MP_REACH_NLRI. Prefix order is kept.
pub fn encode_updates(
    attrs: &PathAttributes,
    prefixes: &[IpNet],
    ctx: &Context,
) -> Result<Vec<Vec<u8>>, AttributesTooLarge> {
    let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = prefixes.iter().partition(|p| afi_of(p) == AFI_IPV4);
    let mut out = Vec::new();
    for group in [v4, v6] {
        if group.is_empty() {
            continue;
        }
        // The message with no prefix but the attributes (and the MP_REACH
        // head), plus one octet in case MP_REACH needs an extended length.
        let mut probe = Update::announce(attrs.clone(), vec![group[0]]);
        let base = probe.to_bytes(ctx).len() - prefix_wire_len(&group[0]) + 1;
        probe.announced.clear();
        pack(&group, base, &mut out, |chunk| {
            probe.announced.clear();
            probe.announced.extend_from_slice(chunk);
            probe.to_bytes(ctx)
        })?;
    }
    Ok(out)
}

/// Packs withdrawals of `prefixes` into as few UPDATEs as fit in 4096
/// octets each, one family per message.
pub fn encode_withdrawals(prefixes: &[IpNet], ctx: &Context) -> Vec<Vec<u8>> {
    let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = prefixes.iter().partition(|p| afi_of(p) == AFI_IPV4);
    let mut out = Vec::new();
    // Header, two length fields; for IPv6 an MP_UNREACH head (4 octets
    // with extended length) and AFI/SAFI.
    let bases = [HEADER_LEN + 4, HEADER_LEN + 4 + 4 + 3];
    for (group, base) in [v4, v6].into_iter().zip(bases) {
        if group.is_empty() {
            continue;
        }
        // Cannot fail: a prefix is at most 17 octets.
        let _ = pack(&group, base, &mut out, |chunk| {
            Update::withdraw(chunk.to_vec()).to_bytes(ctx)
        });
    }
    out
}

fn pack(
    group: &[IpNet],
    base: usize,
    out: &mut Vec<Vec<u8>>,
    mut build: impl FnMut(&[IpNet]) -> Vec<u8>,
) -> Result<(), AttributesTooLarge> {
    let mut start = 0;
    while start < group.len() {
        let mut size = base;
        let mut end = start;
        while end < group.len() && size + prefix_wire_len(&group[end]) <= MAX_MESSAGE_LEN {
            size += prefix_wire_len(&group[end]);
            end += 1;
        }
        if end == start {
            return Err(AttributesTooLarge(base));
        }
        out.push(build(&group[start..end]));
        start = end;
    }
    Ok(())
}
