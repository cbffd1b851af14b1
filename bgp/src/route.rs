//! Routes as the RIB and policies see them, independent of the wire form.

use std::net::IpAddr;

pub use ipnet::IpNet;

/// The AS used in 2-octet fields for a 4-octet AS (RFC 6793).
pub const AS_TRANS: u32 = 23456;

/// ORIGIN (RFC 4271 5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Learned from an IGP.
    Igp = 0,
    /// Learned from EGP.
    Egp = 1,
    /// Learned some other way.
    Incomplete = 2,
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AsSegment {
    /// An ordered AS_SEQUENCE.
    Sequence(Vec<u32>),
    /// An unordered AS_SET (counts as one hop).
    Set(Vec<u32>),
}

/// An AS_PATH with 4-octet AS numbers (AS4_PATH already merged in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath(pub Vec<AsSegment>);

impl AsPath {
    /// The path length for best-path selection: each AS in a sequence
    /// counts, a set counts once (RFC 4271 9.1.2.2).
    pub fn len(&self) -> usize {
        self.0
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => v.len(),
                AsSegment::Set(v) => usize::from(!v.is_empty()),
            })
            .sum()
    }
    /// Whether the path is empty (a route of our own AS).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether `asn` appears anywhere (loop detection).
    pub fn contains(&self, asn: u32) -> bool {
        self.0.iter().any(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.contains(&asn),
        })
    }
    /// The neighbouring AS: the first AS of a leading sequence.
    pub fn first_as(&self) -> Option<u32> {
        match self.0.first() {
            Some(AsSegment::Sequence(v)) => v.first().copied(),
            _ => None,
        }
    }
    /// The path with `asn` prepended `times` times.
    pub fn prepended(&self, asn: u32, times: usize) -> AsPath {
        let mut segs = self.0.clone();
        match segs.first_mut() {
            Some(AsSegment::Sequence(v)) if v.len() + times <= 255 => {
                v.splice(0..0, std::iter::repeat_n(asn, times));
            }
            _ => segs.insert(0, AsSegment::Sequence(vec![asn; times])),
        }
        AsPath(segs)
    }
}

/// A community (RFC 1997).
pub type Community = u32;

/// The path attributes of a route, parsed and validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttributes {
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH (4-octet form).
    pub as_path: AsPath,
    /// NEXT_HOP (IPv4) or the MP_REACH next hop (IPv6).
    pub next_hop: IpAddr,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: Option<u32>,
    /// COMMUNITIES.
    pub communities: Vec<Community>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// Attributes we do not interpret, kept for re-advertisement when
    /// transitive: (flags, type code, value).
    pub other: Vec<(u8, u8, Vec<u8>)>,
}

impl PathAttributes {
    /// Attributes for a route we originate.
    pub fn originated(next_hop: IpAddr) -> PathAttributes {
        PathAttributes {
            origin: Origin::Igp,
            as_path: AsPath::default(),
            next_hop,
            med: None,
            local_pref: None,
            communities: Vec::new(),
            atomic_aggregate: false,
            other: Vec::new(),
        }
    }
}
