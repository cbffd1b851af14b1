//! Path attributes (RFC 4271 4.3, 5; RFC 6793; RFC 4760) with the revised
//! error handling of RFC 7606: each malformed attribute is a session
//! reset, a treat-as-withdraw or an attribute discard, as section 7 says
//! for that attribute.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::nlri::{self, AFI_IPV4, AFI_IPV6, SAFI_UNICAST};
use super::notification::codes::*;
use super::{Context, MessageError, Notification};
use crate::route::{AsPath, AsSegment, IpNet, Origin, PathAttributes, AS_TRANS};

/// Attribute flag: optional.
pub const FLAG_OPTIONAL: u8 = 0x80;
/// Attribute flag: transitive.
pub const FLAG_TRANSITIVE: u8 = 0x40;
/// Attribute flag: partial.
pub const FLAG_PARTIAL: u8 = 0x20;
/// Attribute flag: extended (2-octet) length.
pub const FLAG_EXTENDED: u8 = 0x10;

/// ORIGIN.
pub const ORIGIN: u8 = 1;
/// AS_PATH.
pub const AS_PATH: u8 = 2;
/// NEXT_HOP.
pub const NEXT_HOP: u8 = 3;
/// MULTI_EXIT_DISC.
pub const MED: u8 = 4;
/// LOCAL_PREF.
pub const LOCAL_PREF: u8 = 5;
/// ATOMIC_AGGREGATE.
pub const ATOMIC_AGGREGATE: u8 = 6;
/// AGGREGATOR.
pub const AGGREGATOR: u8 = 7;
/// COMMUNITIES (RFC 1997).
pub const COMMUNITIES: u8 = 8;
/// MP_REACH_NLRI (RFC 4760).
pub const MP_REACH_NLRI: u8 = 14;
/// MP_UNREACH_NLRI (RFC 4760).
pub const MP_UNREACH_NLRI: u8 = 15;
/// EXTENDED COMMUNITIES (RFC 4360), kept in `other`.
pub const EXTENDED_COMMUNITIES: u8 = 16;
/// AS4_PATH (RFC 6793).
pub const AS4_PATH: u8 = 17;
/// AS4_AGGREGATOR (RFC 6793).
pub const AS4_AGGREGATOR: u8 = 18;
/// LARGE_COMMUNITY (RFC 8092), kept in `other`.
pub const LARGE_COMMUNITIES: u8 = 32;

const SEG_SET: u8 = 1;
const SEG_SEQUENCE: u8 = 2;

/// What RFC 7606 does instead of resetting the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAction {
    /// Every route the UPDATE announces is withdrawn (RFC 7606 2).
    TreatAsWithdraw,
    /// The attribute is ignored, the routes stand (RFC 7606 2).
    AttributeDiscard,
}

/// A malformed attribute that RFC 7606 handles without a session reset,
/// for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateError {
    /// What was done.
    pub action: ErrorAction,
    /// The attribute type code (0 for errors of the attribute list itself).
    pub type_code: u8,
    /// The UPDATE Message Error subcode RFC 4271 would have sent.
    pub subcode: u8,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = match self.action {
            ErrorAction::TreatAsWithdraw => "treat-as-withdraw",
            ErrorAction::AttributeDiscard => "attribute discarded",
        };
        write!(f, "{action}: attribute {}: {}", self.type_code, self.reason)
    }
}

/// The MP_REACH_NLRI content we use.
#[derive(Debug, Default)]
pub(crate) struct MpReach {
    pub next_hop: Option<IpAddr>,
    pub prefixes: Vec<IpNet>,
}

/// Everything the attribute list said, before assembly into an
/// [`super::Update`].
#[derive(Debug, Default)]
pub(crate) struct AttrSet {
    pub origin: Option<Origin>,
    pub as_path: Option<AsPath>,
    pub as4_path: Option<AsPath>,
    pub next_hop: Option<Ipv4Addr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub communities: Vec<u32>,
    pub atomic_aggregate: bool,
    /// Index in `other` of AGGREGATOR (kept in its 8-octet form).
    pub aggregator: Option<usize>,
    pub as4_aggregator: Option<[u8; 8]>,
    pub other: Vec<(u8, u8, Vec<u8>)>,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Vec<IpNet>,
    pub mp_seen: bool,
    pub treat_as_withdraw: bool,
    /// Any attribute at all (RFC 7606 5.2 wants an UPDATE with attributes
    /// but no NLRI noticed).
    pub any: bool,
}

/// One attribute as it appeared, for NOTIFICATION data.
struct Raw<'a> {
    flags: u8,
    code: u8,
    value: &'a [u8],
    whole: &'a [u8],
}

impl AttrSet {
    fn note(
        &mut self,
        notes: &mut Vec<UpdateError>,
        action: ErrorAction,
        code: u8,
        subcode: u8,
        reason: impl Into<String>,
    ) {
        if action == ErrorAction::TreatAsWithdraw {
            self.treat_as_withdraw = true;
        }
        notes.push(UpdateError {
            action,
            type_code: code,
            subcode,
            reason: reason.into(),
        });
    }
}

fn reset(subcode: u8, data: Vec<u8>, reason: impl Into<String>) -> MessageError {
    MessageError::new(Notification::new(UPDATE, subcode, data), reason)
}

/// Whether the Optional and Transitive flags are the attribute's own.
fn flags_are(flags: u8, want: u8) -> bool {
    flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE) == want
}

fn be_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.try_into().ok()?))
}

/// Whether an address can be a next hop (RFC 4271 6.3: a valid host
/// address; RFC 7606 7.3 treats others as withdraw).
pub fn next_hop_valid(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => {
            !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback())
        }
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast() || a.is_loopback()),
    }
}

/// Parses AS_PATH / AS4_PATH segments with `width`-octet AS numbers.
/// RFC 7606 7.2: an unknown segment type (confederation segments included:
/// we are not a confederation member), a zero-length segment, or a segment
/// overrunning the attribute makes the path malformed.
pub(crate) fn parse_as_path(mut v: &[u8], width: usize) -> Result<AsPath, String> {
    let mut segs = Vec::new();
    while !v.is_empty() {
        let Some((&[kind, count], rest)) = v.split_first_chunk::<2>() else {
            return Err("segment header truncated".into());
        };
        if count == 0 {
            return Err("zero-length segment".into());
        }
        let n = usize::from(count) * width;
        let Some(body) = rest.get(..n) else {
            return Err("segment overruns the attribute".into());
        };
        let ases: Vec<u32> = body
            .chunks_exact(width)
            .map(|c| c.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)))
            .collect();
        segs.push(match kind {
            SEG_SET => AsSegment::Set(ases),
            SEG_SEQUENCE => AsSegment::Sequence(ases),
            k => return Err(format!("segment type {k}")),
        });
        v = &rest[n..];
    }
    Ok(normalize(segs))
}

/// The canonical form of a path: no empty segments, adjacent sequences
/// joined (the wire form splits sequences at 255 ASes).
pub fn normalize(segs: Vec<AsSegment>) -> AsPath {
    let mut out: Vec<AsSegment> = Vec::with_capacity(segs.len());
    for s in segs {
        match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) if v.is_empty() => {}
            AsSegment::Sequence(v) => match out.last_mut() {
                Some(AsSegment::Sequence(prev)) => prev.extend(v),
                _ => out.push(AsSegment::Sequence(v)),
            },
            set => out.push(set),
        }
    }
    AsPath(out)
}

/// RFC 6793 4.2.3: the path from a 2-octet speaker's AS_PATH and AS4_PATH:
/// the AS_PATH's leading ASes that AS4_PATH does not cover, then AS4_PATH.
/// When AS_PATH is shorter than AS4_PATH, AS4_PATH is ignored (None).
pub fn merge_as4_path(as_path: &AsPath, as4_path: &AsPath) -> Option<AsPath> {
    let (n, m) = (as_path.len(), as4_path.len());
    if n < m {
        return None;
    }
    let mut need = n - m;
    let mut segs = Vec::new();
    for s in &as_path.0 {
        if need == 0 {
            break;
        }
        match s {
            AsSegment::Sequence(v) => {
                let k = need.min(v.len());
                segs.push(AsSegment::Sequence(v[..k].to_vec()));
                need -= k;
            }
            AsSegment::Set(v) => {
                if !v.is_empty() {
                    segs.push(AsSegment::Set(v.clone()));
                    need -= 1;
                }
            }
        }
    }
    segs.extend(as4_path.0.iter().cloned());
    Some(normalize(segs))
}

/// Parses the MP_REACH_NLRI value (RFC 4760 3).
fn parse_mp_reach(
    set: &mut AttrSet,
    raw: &Raw<'_>,
    ctx: &Context,
    notes: &mut Vec<UpdateError>,
) -> Result<(), MessageError> {
    let bad = |why: &str| {
        reset(
            OPTIONAL_ATTRIBUTE,
            raw.whole.to_vec(),
            format!("MP_REACH_NLRI: {why}"),
        )
    };
    let v = raw.value;
    let Some((&[a0, a1, safi, nh_len], rest)) = v.split_first_chunk::<4>() else {
        return Err(bad("truncated"));
    };
    let afi = u16::from_be_bytes([a0, a1]);
    let Some(nh) = rest.get(..usize::from(nh_len)) else {
        return Err(bad("next hop overruns the attribute"));
    };
    // The reserved octet (once SNPAs) follows the next hop.
    let Some(nlri_bytes) = rest.get(usize::from(nh_len) + 1..) else {
        return Err(bad("truncated after the next hop"));
    };
    let Some(prefixes) = mp_prefixes(
        set,
        notes,
        ctx,
        MP_REACH_NLRI,
        (afi, safi),
        nlri_bytes,
        &|e| bad(&format!("NLRI: {e}")),
    )?
    else {
        return Ok(());
    };
    // RFC 7606 7.11: a next hop length that does not suit the AFI is
    // treat-as-withdraw. AFI 1 may use a 16/32-octet IPv6 next hop
    // (RFC 8950).
    let next_hop = match (afi, nh) {
        (AFI_IPV4, &[a, b, c, d]) => Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
        (_, nh) if nh.len() == 16 || nh.len() == 32 => {
            let mut g = [0u8; 16];
            g.copy_from_slice(&nh[..16]);
            Some(IpAddr::V6(Ipv6Addr::from(g)))
        }
        _ => None,
    };
    match next_hop {
        Some(a) if next_hop_valid(a) => {}
        Some(a) => set.note(
            notes,
            ErrorAction::TreatAsWithdraw,
            MP_REACH_NLRI,
            INVALID_NEXT_HOP,
            format!("next hop {a} is not a host address"),
        ),
        None => set.note(
            notes,
            ErrorAction::TreatAsWithdraw,
            MP_REACH_NLRI,
            OPTIONAL_ATTRIBUTE,
            format!("next hop length {nh_len} for AFI {afi}"),
        ),
    }
    set.mp_reach = Some(MpReach { next_hop, prefixes });
    Ok(())
}

/// The prefixes an MP_REACH_NLRI or MP_UNREACH_NLRI (`code`) carries for
/// `family`, or `None` when the family is unsupported or was not
/// negotiated (the attribute is discarded and noted). Prefixes that do not
/// parse reset the session (RFC 7606 5.3), through `bad` (given the parse
/// error).
fn mp_prefixes(
    set: &mut AttrSet,
    notes: &mut Vec<UpdateError>,
    ctx: &Context,
    code: u8,
    (afi, safi): (u16, u8),
    bytes: &[u8],
    bad: &dyn Fn(&str) -> MessageError,
) -> Result<Option<Vec<IpNet>>, MessageError> {
    if !matches!(afi, AFI_IPV4 | AFI_IPV6) || safi != SAFI_UNICAST {
        let why = format!("AFI {afi} SAFI {safi} not supported");
        set.note(
            notes,
            ErrorAction::AttributeDiscard,
            code,
            OPTIONAL_ATTRIBUTE,
            why,
        );
        return Ok(None);
    }
    let mut prefixes = Vec::new();
    if let Err(e) = nlri::parse_prefixes(bytes, afi, &mut prefixes) {
        return Err(bad(&e.to_string()));
    }
    if !ctx.family_active(afi, safi) {
        let why = format!("AFI {afi} SAFI {safi} not negotiated");
        set.note(
            notes,
            ErrorAction::AttributeDiscard,
            code,
            OPTIONAL_ATTRIBUTE,
            why,
        );
        return Ok(None);
    }
    Ok(Some(prefixes))
}

fn parse_mp_unreach(
    set: &mut AttrSet,
    raw: &Raw<'_>,
    ctx: &Context,
    notes: &mut Vec<UpdateError>,
) -> Result<(), MessageError> {
    let bad = |why: &str| {
        reset(
            OPTIONAL_ATTRIBUTE,
            raw.whole.to_vec(),
            format!("MP_UNREACH_NLRI: {why}"),
        )
    };
    let Some((&[a0, a1, safi], rest)) = raw.value.split_first_chunk::<3>() else {
        return Err(bad("truncated"));
    };
    let afi = u16::from_be_bytes([a0, a1]);
    let Some(prefixes) = mp_prefixes(set, notes, ctx, MP_UNREACH_NLRI, (afi, safi), rest, &|e| {
        bad(&format!("withdrawn routes: {e}"))
    })?
    else {
        return Ok(());
    };
    set.mp_unreach = prefixes;
    Ok(())
}

/// Parses the path attributes field. Errors that RFC 7606 still resets
/// the session for are `Err`; the others are recorded in the set and in
/// `notes`.
pub(crate) fn parse_attributes(
    mut buf: &[u8],
    ctx: &Context,
    notes: &mut Vec<UpdateError>,
) -> Result<AttrSet, MessageError> {
    use ErrorAction::{AttributeDiscard as Discard, TreatAsWithdraw as Taw};
    let mut set = AttrSet::default();
    let mut seen = [false; 256];
    while !buf.is_empty() {
        set.any = true;
        // RFC 7606 4: a last attribute that overruns the field, or too few
        // octets for an attribute header, is treat-as-withdraw; the NLRI
        // field is found by the Total Path Attribute Length. When an
        // MP_REACH / MP_UNREACH may hide behind the break (IPv6 active and
        // none seen yet), routes of that family cannot be located: reset.
        let header_len = match buf {
            [f, _, ..] if f & FLAG_EXTENDED != 0 => 4,
            _ => 3,
        };
        let value_len = match buf {
            [f, _, hi, lo, ..] if f & FLAG_EXTENDED != 0 => {
                Some(usize::from(u16::from_be_bytes([*hi, *lo])))
            }
            [f, _, l, ..] if f & FLAG_EXTENDED == 0 => Some(usize::from(*l)),
            _ => None,
        };
        let whole = value_len.and_then(|l| buf.get(..header_len + l));
        let Some(whole) = whole else {
            if ctx.ipv6_unicast && !set.mp_seen {
                return Err(reset(
                    MALFORMED_ATTRIBUTE_LIST,
                    Vec::new(),
                    "attribute overruns the attribute list (and may hide MP_REACH/MP_UNREACH)",
                ));
            }
            set.note(
                notes,
                Taw,
                0,
                MALFORMED_ATTRIBUTE_LIST,
                "attribute overruns the attribute list",
            );
            break;
        };
        buf = &buf[whole.len()..];
        let raw = Raw {
            flags: whole[0],
            code: whole[1],
            value: &whole[header_len..],
            whole,
        };
        let (flags, code, v) = (raw.flags, raw.code, raw.value);
        if seen[usize::from(code)] {
            // RFC 7606 3.g: a repeated MP_REACH / MP_UNREACH is a
            // Malformed Attribute List; other repeats are discarded.
            if matches!(code, MP_REACH_NLRI | MP_UNREACH_NLRI) {
                return Err(reset(
                    MALFORMED_ATTRIBUTE_LIST,
                    Vec::new(),
                    format!("attribute {code} appears twice"),
                ));
            }
            set.note(
                notes,
                Discard,
                code,
                MALFORMED_ATTRIBUTE_LIST,
                "repeated attribute",
            );
            continue;
        }
        seen[usize::from(code)] = true;
        const WK: u8 = FLAG_TRANSITIVE;
        const OT: u8 = FLAG_OPTIONAL | FLAG_TRANSITIVE;
        const ON: u8 = FLAG_OPTIONAL;
        // RFC 7606 3.c: wrong Optional/Transitive flags make the attribute
        // malformed, handled as the attribute's own errors are.
        let flag_error =
            |set: &mut AttrSet, notes: &mut Vec<UpdateError>, want: u8, action: ErrorAction| {
                if flags_are(flags, want) {
                    false
                } else {
                    set.note(
                        notes,
                        action,
                        code,
                        ATTRIBUTE_FLAGS,
                        format!("flags {flags:#04x}"),
                    );
                    true
                }
            };
        let len_error =
            |set: &mut AttrSet, notes: &mut Vec<UpdateError>, ok: bool, action: ErrorAction| {
                if ok {
                    false
                } else {
                    set.note(
                        notes,
                        action,
                        code,
                        ATTRIBUTE_LENGTH,
                        format!("length {}", v.len()),
                    );
                    true
                }
            };
        match code {
            ORIGIN => {
                if flag_error(&mut set, notes, WK, Taw)
                    || len_error(&mut set, notes, v.len() == 1, Taw)
                {
                    continue;
                }
                set.origin = match v[0] {
                    0 => Some(Origin::Igp),
                    1 => Some(Origin::Egp),
                    2 => Some(Origin::Incomplete),
                    o => {
                        set.note(
                            notes,
                            Taw,
                            code,
                            INVALID_ORIGIN,
                            format!("ORIGIN value {o}"),
                        );
                        None
                    }
                };
            }
            AS_PATH => {
                if flag_error(&mut set, notes, WK, Taw) {
                    continue;
                }
                let width = if ctx.four_octet_as { 4 } else { 2 };
                match parse_as_path(v, width) {
                    Ok(p) => set.as_path = Some(p),
                    Err(e) => set.note(notes, Taw, code, MALFORMED_AS_PATH, e),
                }
            }
            NEXT_HOP => {
                if flag_error(&mut set, notes, WK, Taw)
                    || len_error(&mut set, notes, v.len() == 4, Taw)
                {
                    continue;
                }
                let a = Ipv4Addr::new(v[0], v[1], v[2], v[3]);
                if next_hop_valid(IpAddr::V4(a)) {
                    set.next_hop = Some(a);
                } else {
                    set.note(
                        notes,
                        Taw,
                        code,
                        INVALID_NEXT_HOP,
                        format!("next hop {a} is not a host address"),
                    );
                }
            }
            MED => {
                if flag_error(&mut set, notes, ON, Taw)
                    || len_error(&mut set, notes, v.len() == 4, Taw)
                {
                    continue;
                }
                set.med = be_u32(v);
            }
            LOCAL_PREF => {
                if !ctx.ibgp {
                    set.note(
                        notes,
                        Discard,
                        code,
                        UNSPECIFIC,
                        "LOCAL_PREF from an external peer",
                    );
                    continue;
                }
                if flag_error(&mut set, notes, WK, Taw)
                    || len_error(&mut set, notes, v.len() == 4, Taw)
                {
                    continue;
                }
                set.local_pref = be_u32(v);
            }
            ATOMIC_AGGREGATE => {
                if flag_error(&mut set, notes, WK, Discard)
                    || len_error(&mut set, notes, v.is_empty(), Discard)
                {
                    continue;
                }
                set.atomic_aggregate = true;
            }
            AGGREGATOR => {
                let want = if ctx.four_octet_as { 8 } else { 6 };
                if flag_error(&mut set, notes, OT, Discard)
                    || len_error(&mut set, notes, v.len() == want, Discard)
                {
                    continue;
                }
                let mut value = Vec::with_capacity(8);
                if want == 6 {
                    value.extend_from_slice(&[0, 0]);
                }
                value.extend_from_slice(v);
                set.aggregator = Some(set.other.len());
                set.other.push((flags & (OT | FLAG_PARTIAL), code, value));
            }
            COMMUNITIES => {
                if flag_error(&mut set, notes, OT, Taw)
                    || len_error(&mut set, notes, !v.is_empty() && v.len() % 4 == 0, Taw)
                {
                    continue;
                }
                set.communities = v.chunks_exact(4).filter_map(be_u32).collect();
            }
            MP_REACH_NLRI | MP_UNREACH_NLRI => {
                set.mp_seen = true;
                // Wrong flags: still parsed (the NLRI must be found), then
                // treat-as-withdraw.
                flag_error(&mut set, notes, ON, Taw);
                if code == MP_REACH_NLRI {
                    parse_mp_reach(&mut set, &raw, ctx, notes)?;
                } else {
                    parse_mp_unreach(&mut set, &raw, ctx, notes)?;
                }
            }
            AS4_PATH | AS4_AGGREGATOR if ctx.four_octet_as => {
                // RFC 6793 4.1: a NEW speaker discards these from a NEW one.
                set.note(
                    notes,
                    Discard,
                    code,
                    UNSPECIFIC,
                    "AS4 attribute on a 4-octet AS session",
                );
            }
            AS4_PATH => {
                if flag_error(&mut set, notes, OT, Discard) {
                    continue;
                }
                // RFC 6793 6: a malformed AS4_PATH is discarded.
                match parse_as_path(v, 4) {
                    Ok(p) => set.as4_path = Some(p),
                    Err(e) => set.note(notes, Discard, code, OPTIONAL_ATTRIBUTE, e),
                }
            }
            AS4_AGGREGATOR => {
                if flag_error(&mut set, notes, OT, Discard)
                    || len_error(&mut set, notes, v.len() == 8, Discard)
                {
                    continue;
                }
                set.as4_aggregator = v.try_into().ok();
            }
            _ if flags & FLAG_OPTIONAL == 0 => {
                return Err(reset(
                    UNRECOGNIZED_WELL_KNOWN,
                    whole.to_vec(),
                    format!("unrecognized well-known attribute {code}"),
                ));
            }
            EXTENDED_COMMUNITIES | LARGE_COMMUNITIES => {
                let unit = if code == EXTENDED_COMMUNITIES { 8 } else { 12 };
                if flag_error(&mut set, notes, OT, Taw)
                    || len_error(&mut set, notes, !v.is_empty() && v.len() % unit == 0, Taw)
                {
                    continue;
                }
                set.other
                    .push((flags & (OT | FLAG_PARTIAL), code, v.to_vec()));
            }
            _ if flags & FLAG_TRANSITIVE != 0 => {
                set.other
                    .push((flags & (OT | FLAG_PARTIAL), code, v.to_vec()));
            }
            // Unrecognized optional non-transitive: quietly ignored
            // (RFC 4271 5).
            _ => {}
        }
    }
    Ok(set)
}

impl AttrSet {
    /// RFC 6793 4.2.3 on a 2-octet AS session: AS4_AGGREGATOR and
    /// AS4_PATH replace what AGGREGATOR and AS_PATH could not say, unless
    /// AGGREGATOR names a real 2-octet AS (then both are ignored).
    pub(crate) fn merge_as4(&mut self, notes: &mut Vec<UpdateError>) {
        let agg_as = self
            .aggregator
            .and_then(|i| be_u32(self.other[i].2.get(..4)?));
        if let Some(a) = agg_as.filter(|&a| a != AS_TRANS) {
            if self.as4_path.take().is_some() || self.as4_aggregator.take().is_some() {
                notes.push(UpdateError {
                    action: ErrorAction::AttributeDiscard,
                    type_code: AS4_PATH,
                    subcode: UNSPECIFIC,
                    reason: format!(
                        "AGGREGATOR names AS {a}, so AS4_PATH / AS4_AGGREGATOR are ignored"
                    ),
                });
            }
            return;
        }
        match (self.aggregator, self.as4_aggregator.take()) {
            (Some(i), Some(a4)) => self.other[i].2 = a4.to_vec(),
            (None, Some(_)) => notes.push(UpdateError {
                action: ErrorAction::AttributeDiscard,
                type_code: AS4_AGGREGATOR,
                subcode: UNSPECIFIC,
                reason: "AS4_AGGREGATOR without AGGREGATOR".into(),
            }),
            _ => {}
        }
        if let (Some(p), Some(p4)) = (&self.as_path, self.as4_path.take()) {
            match merge_as4_path(p, &p4) {
                Some(m) => self.as_path = Some(m),
                None => notes.push(UpdateError {
                    action: ErrorAction::AttributeDiscard,
                    type_code: AS4_PATH,
                    subcode: UNSPECIFIC,
                    reason: "AS4_PATH longer than AS_PATH".into(),
                }),
            }
        }
    }
}

/// Appends one attribute, with the extended-length flag when needed.
pub(crate) fn put_attr(out: &mut Vec<u8>, flags: u8, code: u8, value: &[u8]) {
    let flags = flags & !FLAG_EXTENDED;
    match u8::try_from(value.len()) {
        Ok(l) => out.extend_from_slice(&[flags, code, l]),
        Err(_) => {
            let l = value.len().min(usize::from(u16::MAX)) as u16;
            out.extend_from_slice(&[flags | FLAG_EXTENDED, code]);
            out.extend_from_slice(&l.to_be_bytes());
        }
    }
    out.extend_from_slice(&value[..value.len().min(usize::from(u16::MAX))]);
}

fn path_value(path: &AsPath, width: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for s in &path.0 {
        let (kind, ases) = match s {
            AsSegment::Sequence(a) => (SEG_SEQUENCE, a),
            AsSegment::Set(a) => (SEG_SET, a),
        };
        for chunk in ases.chunks(255) {
            v.push(kind);
            v.push(chunk.len() as u8);
            for &a in chunk {
                if width == 4 {
                    v.extend_from_slice(&a.to_be_bytes());
                } else {
                    let a2 = u16::try_from(a).unwrap_or(AS_TRANS as u16);
                    v.extend_from_slice(&a2.to_be_bytes());
                }
            }
        }
    }
    v
}

fn path_needs_as4(path: &AsPath) -> bool {
    path.0.iter().any(|s| match s {
        AsSegment::Sequence(v) | AsSegment::Set(v) => v.iter().any(|&a| a > 0xffff),
    })
}

/// Appends the path attributes of an announcement (everything but the MP
/// attributes). `ipv4_next_hop` is the NEXT_HOP to send, when IPv4
/// prefixes go in the NLRI field.
pub(crate) fn emit_attributes(
    a: &PathAttributes,
    ipv4_next_hop: Option<Ipv4Addr>,
    ctx: &Context,
    out: &mut Vec<u8>,
) {
    put_attr(out, FLAG_TRANSITIVE, ORIGIN, &[a.origin as u8]);
    let width = if ctx.four_octet_as { 4 } else { 2 };
    put_attr(
        out,
        FLAG_TRANSITIVE,
        AS_PATH,
        &path_value(&a.as_path, width),
    );
    if let Some(nh) = ipv4_next_hop {
        put_attr(out, FLAG_TRANSITIVE, NEXT_HOP, &nh.octets());
    }
    if let Some(m) = a.med {
        put_attr(out, FLAG_OPTIONAL, MED, &m.to_be_bytes());
    }
    if let Some(l) = a.local_pref {
        put_attr(out, FLAG_TRANSITIVE, LOCAL_PREF, &l.to_be_bytes());
    }
    if a.atomic_aggregate {
        put_attr(out, FLAG_TRANSITIVE, ATOMIC_AGGREGATE, &[]);
    }
    if !a.communities.is_empty() {
        let v: Vec<u8> = a.communities.iter().flat_map(|c| c.to_be_bytes()).collect();
        put_attr(out, FLAG_OPTIONAL | FLAG_TRANSITIVE, COMMUNITIES, &v);
    }
    let as4_path = !ctx.four_octet_as && path_needs_as4(&a.as_path);
    let mut as4_aggregator = None;
    for (flags, code, value) in &a.other {
        let flags = flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE | FLAG_PARTIAL);
        match *code {
            AGGREGATOR if value.len() == 8 => {
                if ctx.four_octet_as {
                    put_attr(out, flags, AGGREGATOR, value);
                } else {
                    let asn = be_u32(&value[..4]).unwrap_or(0);
                    // With an AS4_PATH, AGGREGATOR must carry AS_TRANS or a
                    // receiver ignores the AS4_PATH (RFC 6793 4.2.3).
                    let as2 = match u16::try_from(asn) {
                        Ok(a) if !as4_path || u32::from(a) == AS_TRANS => a,
                        _ => {
                            as4_aggregator = Some((flags, value));
                            AS_TRANS as u16
                        }
                    };
                    let mut v = as2.to_be_bytes().to_vec();
                    v.extend_from_slice(&value[4..]);
                    put_attr(out, flags, AGGREGATOR, &v);
                }
            }
            // Attributes we produce ourselves are never copied.
            ORIGIN..=ATOMIC_AGGREGATE
            | COMMUNITIES
            | MP_REACH_NLRI
            | MP_UNREACH_NLRI
            | AS4_PATH
            | AS4_AGGREGATOR => {}
            _ => put_attr(out, flags, *code, value),
        }
    }
    if as4_path {
        put_attr(
            out,
            FLAG_OPTIONAL | FLAG_TRANSITIVE,
            AS4_PATH,
            &path_value(&a.as_path, 4),
        );
    }
    if let Some((flags, value)) = as4_aggregator {
        put_attr(out, flags, AS4_AGGREGATOR, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(v: &[u32]) -> AsSegment {
        AsSegment::Sequence(v.to_vec())
    }

    #[test]
    fn merge_rfc6793_example() {
        // AS_PATH 65001 23456 23456 65002, AS4_PATH 4200000001 4200000002 65002.
        let p = AsPath(vec![seq(&[65001, 23456, 23456, 65002])]);
        let p4 = AsPath(vec![seq(&[4200000001, 4200000002, 65002])]);
        assert_eq!(
            merge_as4_path(&p, &p4),
            Some(AsPath(vec![seq(&[65001, 4200000001, 4200000002, 65002])]))
        );
        // AS4_PATH longer than AS_PATH: ignored.
        assert_eq!(merge_as4_path(&AsPath(vec![seq(&[1])]), &p4), None);
        // Sets count once.
        let p = AsPath(vec![AsSegment::Set(vec![1, 2]), seq(&[23456])]);
        let p4 = AsPath(vec![seq(&[4200000001])]);
        assert_eq!(
            merge_as4_path(&p, &p4),
            Some(AsPath(vec![AsSegment::Set(vec![1, 2]), seq(&[4200000001])]))
        );
    }

    #[test]
    fn path_errors() {
        assert!(parse_as_path(&[2, 0], 2).is_err());
        assert!(parse_as_path(&[2, 2, 0, 1], 2).is_err());
        assert!(parse_as_path(&[3, 1, 0, 1], 2).is_err());
        assert!(parse_as_path(&[2], 2).is_err());
        assert_eq!(
            parse_as_path(&[2, 1, 0, 1, 2, 1, 0, 2], 2),
            Ok(AsPath(vec![seq(&[1, 2])]))
        );
    }

    #[test]
    fn long_sequences_split() {
        let ases: Vec<u32> = (1..=300).collect();
        let v = path_value(&AsPath(vec![seq(&ases)]), 4);
        assert_eq!(v.len(), 2 + 255 * 4 + 2 + 45 * 4);
        assert_eq!(parse_as_path(&v, 4), Ok(AsPath(vec![seq(&ases)])));
    }
}
