//! Proposals: what we offer or accept, how a responder chooses, and why a
//! choice failed.
//!
//! Our configuration lists algorithms per transform type ([`IkeProposal`],
//! [`EspProposal`]); they become wire proposals when offered. A responder
//! picks one transform of each type through a [`ProposalPolicy`]: the
//! standard way honours the initiator's order ([`PreferPeer`]); AWS walks
//! its own list instead ([`PreferOwn`]), so the AWS mock configures its
//! list weakest-first.

use core::fmt;

use crate::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use crate::wire::{self, EncrId, EsnId, IntegId, ProtocolId, TransformType};

/// An IKE SA proposal: one transform of each type will be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeProposal {
    /// Encryption algorithms; do not mix AEAD and non-AEAD in one proposal.
    pub encr: Vec<EncrAlg>,
    /// Pseudorandom functions.
    pub prf: Vec<PrfAlg>,
    /// Integrity algorithms (empty for an AEAD proposal).
    pub integ: Vec<IntegAlg>,
    /// Diffie-Hellman groups; the first is the one we send a KE for.
    pub dh: Vec<DhGroup>,
}

/// A child SA (ESP) proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspProposal {
    /// Encryption algorithms.
    pub encr: Vec<EncrAlg>,
    /// Integrity algorithms (empty for an AEAD proposal).
    pub integ: Vec<IntegAlg>,
    /// PFS groups for CREATE_CHILD_SA; empty means no PFS. Never sent in
    /// IKE_AUTH (the first child SA is keyed from the IKE SA).
    pub dh: Vec<DhGroup>,
}

/// The transforms chosen for an IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IkeSuite {
    /// Encryption.
    pub encr: EncrAlg,
    /// PRF.
    pub prf: PrfAlg,
    /// Integrity, `None` with AEAD.
    pub integ: Option<IntegAlg>,
    /// DH group.
    pub dh: DhGroup,
}

/// The transforms chosen for a child SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EspSuite {
    /// Encryption.
    pub encr: EncrAlg,
    /// Integrity, `None` with AEAD.
    pub integ: Option<IntegAlg>,
    /// PFS group used when the SA was created, if any.
    pub dh: Option<DhGroup>,
}

impl fmt::Display for IkeSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:?}", self.encr.name(), self.prf)?;
        if let Some(i) = self.integ {
            write!(f, "/{i:?}")?;
        }
        write!(f, "/{}", self.dh)
    }
}

impl fmt::Display for EspSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encr.name())?;
        if let Some(i) = self.integ {
            write!(f, "/{i:?}")?;
        }
        if let Some(g) = self.dh {
            write!(f, "/{g}")?;
        }
        Ok(())
    }
}

fn encr_transform(e: EncrAlg) -> wire::Transform {
    wire::Transform {
        kind: TransformType::ENCR,
        id: e.id().0,
        key_length: Some(e.key_bits()),
        unknown_attributes: Vec::new(),
    }
}

fn plain_transform(kind: TransformType, id: u16) -> wire::Transform {
    wire::Transform {
        kind,
        id,
        key_length: None,
        unknown_attributes: Vec::new(),
    }
}

impl IkeProposal {
    /// The wire proposal numbered `number` (SPI empty for IKE_SA_INIT, or
    /// the new 8-byte SPI for an IKE rekey).
    pub fn to_wire(&self, number: u8, spi: Vec<u8>) -> wire::Proposal {
        let mut t: Vec<wire::Transform> = self.encr.iter().map(|e| encr_transform(*e)).collect();
        t.extend(
            self.prf
                .iter()
                .map(|p| plain_transform(TransformType::PRF, p.id().0)),
        );
        t.extend(
            self.integ
                .iter()
                .map(|i| plain_transform(TransformType::INTEG, i.id().0)),
        );
        t.extend(
            self.dh
                .iter()
                .map(|g| plain_transform(TransformType::DH, *g as u16)),
        );
        wire::Proposal {
            number,
            protocol: ProtocolId::IKE,
            spi,
            transforms: t,
        }
    }

    /// The suite for a set of single choices, if it belongs to this proposal.
    pub fn contains(&self, s: &IkeSuite) -> bool {
        self.encr.contains(&s.encr)
            && self.prf.contains(&s.prf)
            && self.dh.contains(&s.dh)
            && match s.integ {
                Some(i) => self.integ.contains(&i),
                None => s.encr.is_aead(),
            }
    }
}

impl EspProposal {
    /// The wire proposal; `with_dh` adds the PFS groups (CREATE_CHILD_SA).
    pub fn to_wire(&self, number: u8, spi: u32, with_dh: bool) -> wire::Proposal {
        let mut t: Vec<wire::Transform> = self.encr.iter().map(|e| encr_transform(*e)).collect();
        t.extend(
            self.integ
                .iter()
                .map(|i| plain_transform(TransformType::INTEG, i.id().0)),
        );
        if with_dh {
            t.extend(
                self.dh
                    .iter()
                    .map(|g| plain_transform(TransformType::DH, *g as u16)),
            );
        }
        t.push(plain_transform(TransformType::ESN, EsnId::NO.0));
        wire::Proposal {
            number,
            protocol: ProtocolId::ESP,
            spi: spi.to_be_bytes().to_vec(),
            transforms: t,
        }
    }
}

/// Which transforms a received proposal offers, per type, in its order.
/// Transforms with unknown attributes or IDs we do not implement are kept
/// as raw IDs for error messages but never chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offered {
    /// Encryption (ID, key length).
    pub encr: Vec<(EncrId, Option<u16>)>,
    /// PRF IDs.
    pub prf: Vec<u16>,
    /// Integrity IDs.
    pub integ: Vec<u16>,
    /// DH group IDs.
    pub dh: Vec<u16>,
    /// ESN IDs.
    pub esn: Vec<u16>,
}

impl Offered {
    /// Collects the transforms of a wire proposal.
    pub fn from_wire(p: &wire::Proposal) -> Offered {
        let mut o = Offered::default();
        for t in &p.transforms {
            if !t.unknown_attributes.is_empty() {
                continue;
            }
            match t.kind {
                TransformType::ENCR => o.encr.push((EncrId(t.id), t.key_length)),
                TransformType::PRF => o.prf.push(t.id),
                TransformType::INTEG => o.integ.push(t.id),
                TransformType::DH => o.dh.push(t.id),
                TransformType::ESN => o.esn.push(t.id),
                _ => {}
            }
        }
        o
    }

    fn encr_algs(&self) -> Vec<EncrAlg> {
        self.encr
            .iter()
            .filter_map(|(id, kl)| EncrAlg::from_transform(*id, *kl))
            .collect()
    }
    fn prf_algs(&self) -> Vec<PrfAlg> {
        self.prf
            .iter()
            .filter_map(|id| PrfAlg::from_id(wire::PrfId(*id)))
            .collect()
    }
    /// Integrity algorithms; `NONE` (0) is dropped here and handled by the
    /// AEAD rule.
    fn integ_algs(&self) -> Vec<IntegAlg> {
        self.integ
            .iter()
            .filter_map(|id| IntegAlg::from_id(IntegId(*id)))
            .collect()
    }
    fn dh_groups(&self) -> Vec<DhGroup> {
        self.dh
            .iter()
            .filter_map(|id| DhGroup::from_id(*id))
            .collect()
    }
}

/// Why no proposal could be chosen: the first transform type that had no
/// common value, with both sides' values, so a message can say "offered DH
/// group 5, we accept 14, 19, 20".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The transform type with nothing in common.
    pub transform: TransformType,
    /// What the peer offered for it (IANA IDs; encryption as "ID/keylen").
    pub offered: Vec<String>,
    /// What we accept for it.
    pub accepted: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.transform {
            TransformType::ENCR => "encryption",
            TransformType::PRF => "PRF",
            TransformType::INTEG => "integrity",
            TransformType::DH => "DH group",
            TransformType::ESN => "ESN",
            _ => "transform",
        };
        let offered = if self.offered.is_empty() {
            "none".to_string()
        } else {
            self.offered.join(", ")
        };
        write!(
            f,
            "offered {what} {offered}, we accept {}",
            self.accepted.join(", ")
        )
    }
}

fn names<T: Copy>(v: &[T], f: impl Fn(T) -> String) -> Vec<String> {
    v.iter().map(|x| f(*x)).collect()
}

fn encr_name(id: EncrId, kl: Option<u16>) -> String {
    match kl {
        Some(k) => format!("{id}_{k}"),
        None => format!("{id}"),
    }
}

fn dh_name(id: u16) -> String {
    id.to_string()
}

fn prf_name(id: u16) -> String {
    wire::PrfId(id).to_string()
}

fn integ_name(id: u16) -> String {
    IntegId(id).to_string()
}

/// How a responder orders its choice within one transform type.
pub trait ProposalPolicy: Send + Sync + fmt::Debug {
    /// `offered_in_ours` lists, in the peer's order, the positions in our
    /// own list of the values the peer offered and we accept. Returns the
    /// position (in our list) of the value to choose.
    fn pick_index(&self, offered_in_ours: &[usize]) -> Option<usize>;
    /// Whether the peer's proposal order (true) or ours (false) decides
    /// which pair of proposals is tried first.
    fn peer_proposals_first(&self) -> bool {
        true
    }
}

/// RFC 7296 practice: take the first of the initiator's transforms we accept.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreferPeer;

/// Take the first of our own transforms that the initiator offered. The
/// AWS endpoint does this with its list ordered weakest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreferOwn;

impl ProposalPolicy for PreferPeer {
    fn pick_index(&self, offered_in_ours: &[usize]) -> Option<usize> {
        offered_in_ours.first().copied()
    }
}

impl ProposalPolicy for PreferOwn {
    fn pick_index(&self, offered_in_ours: &[usize]) -> Option<usize> {
        offered_in_ours.iter().min().copied()
    }
    fn peer_proposals_first(&self) -> bool {
        false
    }
}

/// Pairs of (our proposal, peer proposal) in the order the policy tries them.
fn pairs<'a, O>(
    policy: &dyn ProposalPolicy,
    ours: &'a [O],
    offered: &'a [wire::Proposal],
) -> Vec<(&'a O, &'a wire::Proposal)> {
    if policy.peer_proposals_first() {
        offered
            .iter()
            .flat_map(|p| ours.iter().map(move |o| (o, p)))
            .collect()
    } else {
        ours.iter()
            .flat_map(|o| offered.iter().map(move |p| (o, p)))
            .collect()
    }
}

/// Picks with an object-safe policy: maps the peer's values to indices into
/// ours, in the peer's order, and lets the policy choose.
fn pick_dyn<T: Copy + PartialEq>(
    policy: &dyn ProposalPolicy,
    offered: &[T],
    ours: &[T],
) -> Option<T> {
    let idx: Vec<usize> = offered
        .iter()
        .filter_map(|o| ours.iter().position(|x| x == o))
        .collect();
    policy.pick_index(&idx).and_then(|i| ours.get(i).copied())
}

/// The outcome of choosing an IKE proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeChoice {
    /// The number of the peer's proposal we accepted.
    pub number: u8,
    /// The chosen transforms.
    pub suite: IkeSuite,
}

/// Chooses an IKE SA suite from the peer's proposals. On failure, the
/// mismatch reported is the one of the peer proposal that came closest.
pub fn choose_ike(
    policy: &dyn ProposalPolicy,
    offered: &[wire::Proposal],
    ours: &[IkeProposal],
) -> Result<IkeChoice, Mismatch> {
    let mut best: Option<(usize, Mismatch)> = None;
    // Our proposals in our order; within each, the peer's proposals. The
    // transform choice within a pair is what the policy decides.
    for (o, p) in pairs(policy, ours, offered) {
        if p.protocol != ProtocolId::IKE {
            continue;
        }
        let off = Offered::from_wire(p);
        match choose_ike_pair(policy, &off, o) {
            Ok(suite) => {
                return Ok(IkeChoice {
                    number: p.number,
                    suite,
                })
            }
            Err((depth, m)) => {
                if best.as_ref().is_none_or(|(d, _)| depth > *d) {
                    best = Some((depth, m));
                }
            }
        }
    }
    Err(best.map(|(_, m)| m).unwrap_or(Mismatch {
        transform: TransformType::ENCR,
        offered: Vec::new(),
        accepted: ours
            .iter()
            .flat_map(|o| o.encr.iter().map(|e| e.name()))
            .collect(),
    }))
}

fn choose_ike_pair(
    policy: &dyn ProposalPolicy,
    off: &Offered,
    ours: &IkeProposal,
) -> Result<IkeSuite, (usize, Mismatch)> {
    let encr = pick_dyn(policy, &off.encr_algs(), &ours.encr).ok_or_else(|| {
        (
            0,
            Mismatch {
                transform: TransformType::ENCR,
                offered: off.encr.iter().map(|(i, k)| encr_name(*i, *k)).collect(),
                accepted: names(&ours.encr, |e| e.name()),
            },
        )
    })?;
    let prf = pick_dyn(policy, &off.prf_algs(), &ours.prf).ok_or_else(|| {
        (
            1,
            Mismatch {
                transform: TransformType::PRF,
                offered: off.prf.iter().map(|i| prf_name(*i)).collect(),
                accepted: names(&ours.prf, |p| p.id().to_string()),
            },
        )
    })?;
    let integ = choose_integ(policy, encr, off, &ours.integ).map_err(|m| (2, m))?;
    let dh = pick_dyn(policy, &off.dh_groups(), &ours.dh).ok_or_else(|| {
        (
            3,
            Mismatch {
                transform: TransformType::DH,
                offered: off.dh.iter().map(|i| dh_name(*i)).collect(),
                accepted: names(&ours.dh, |g| (g as u16).to_string()),
            },
        )
    })?;
    Ok(IkeSuite {
        encr,
        prf,
        integ,
        dh,
    })
}

/// AEAD takes no integrity transform (or only NONE); otherwise one of ours.
fn choose_integ(
    policy: &dyn ProposalPolicy,
    encr: EncrAlg,
    off: &Offered,
    ours: &[IntegAlg],
) -> Result<Option<IntegAlg>, Mismatch> {
    if encr.is_aead() {
        if off.integ.iter().all(|i| *i == IntegId::NONE.0) {
            return Ok(None);
        }
        return Err(Mismatch {
            transform: TransformType::INTEG,
            offered: off.integ.iter().map(|i| integ_name(*i)).collect(),
            accepted: vec!["NONE (AEAD)".into()],
        });
    }
    pick_dyn(policy, &off.integ_algs(), ours)
        .map(Some)
        .ok_or_else(|| Mismatch {
            transform: TransformType::INTEG,
            offered: off.integ.iter().map(|i| integ_name(*i)).collect(),
            accepted: names(ours, |i| i.id().to_string()),
        })
}

/// The outcome of choosing a child SA proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspChoice {
    /// The number of the peer's proposal we accepted.
    pub number: u8,
    /// The peer's SPI in that proposal (its inbound SA).
    pub peer_spi: u32,
    /// The chosen transforms.
    pub suite: EspSuite,
}

/// Chooses a child SA suite. `with_dh`: CREATE_CHILD_SA with PFS, where the
/// DH group must match too; in IKE_AUTH, DH transforms are ignored.
pub fn choose_esp(
    policy: &dyn ProposalPolicy,
    offered: &[wire::Proposal],
    ours: &[EspProposal],
    with_dh: bool,
) -> Result<EspChoice, Mismatch> {
    let mut best: Option<(usize, Mismatch)> = None;
    for (o, p) in pairs(policy, ours, offered) {
        if p.protocol != ProtocolId::ESP || p.spi.len() != 4 {
            continue;
        }
        let off = Offered::from_wire(p);
        match choose_esp_pair(policy, &off, o, with_dh) {
            Ok(suite) => {
                let peer_spi = u32::from_be_bytes([p.spi[0], p.spi[1], p.spi[2], p.spi[3]]);
                return Ok(EspChoice {
                    number: p.number,
                    peer_spi,
                    suite,
                });
            }
            Err((depth, m)) => {
                if best.as_ref().is_none_or(|(d, _)| depth > *d) {
                    best = Some((depth, m));
                }
            }
        }
    }
    Err(best.map(|(_, m)| m).unwrap_or(Mismatch {
        transform: TransformType::ENCR,
        offered: Vec::new(),
        accepted: ours
            .iter()
            .flat_map(|o| o.encr.iter().map(|e| e.name()))
            .collect(),
    }))
}

fn choose_esp_pair(
    policy: &dyn ProposalPolicy,
    off: &Offered,
    ours: &EspProposal,
    with_dh: bool,
) -> Result<EspSuite, (usize, Mismatch)> {
    let encr = pick_dyn(policy, &off.encr_algs(), &ours.encr).ok_or_else(|| {
        (
            0,
            Mismatch {
                transform: TransformType::ENCR,
                offered: off.encr.iter().map(|(i, k)| encr_name(*i, *k)).collect(),
                accepted: names(&ours.encr, |e| e.name()),
            },
        )
    })?;
    let integ = choose_integ(policy, encr, off, &ours.integ).map_err(|m| (1, m))?;
    if !off.esn.is_empty() && !off.esn.contains(&EsnId::NO.0) {
        return Err((
            2,
            Mismatch {
                transform: TransformType::ESN,
                offered: off.esn.iter().map(|e| EsnId(*e).to_string()).collect(),
                accepted: vec![EsnId::NO.to_string()],
            },
        ));
    }
    let dh = if with_dh {
        let none_offered = off.dh.is_empty() || off.dh.iter().all(|d| *d == 0);
        match (ours.dh.is_empty(), none_offered) {
            (true, true) => None,
            _ => Some(pick_dyn(policy, &off.dh_groups(), &ours.dh).ok_or_else(|| {
                (
                    3,
                    Mismatch {
                        transform: TransformType::DH,
                        offered: off.dh.iter().map(|i| dh_name(*i)).collect(),
                        accepted: if ours.dh.is_empty() {
                            vec!["none (no PFS)".into()]
                        } else {
                            names(&ours.dh, |g| (g as u16).to_string())
                        },
                    },
                )
            })?),
        }
    } else {
        None
    };
    Ok(EspSuite { encr, integ, dh })
}

/// The single-transform wire proposal that answers a chosen IKE suite.
pub fn ike_suite_to_wire(number: u8, spi: Vec<u8>, s: &IkeSuite) -> wire::Proposal {
    let mut t = vec![
        encr_transform(s.encr),
        plain_transform(TransformType::PRF, s.prf.id().0),
    ];
    if let Some(i) = s.integ {
        t.push(plain_transform(TransformType::INTEG, i.id().0));
    }
    t.push(plain_transform(TransformType::DH, s.dh as u16));
    wire::Proposal {
        number,
        protocol: ProtocolId::IKE,
        spi,
        transforms: t,
    }
}

/// The single-transform wire proposal that answers a chosen child suite.
pub fn esp_suite_to_wire(number: u8, spi: u32, s: &EspSuite) -> wire::Proposal {
    let mut t = vec![encr_transform(s.encr)];
    if let Some(i) = s.integ {
        t.push(plain_transform(TransformType::INTEG, i.id().0));
    }
    if let Some(g) = s.dh {
        t.push(plain_transform(TransformType::DH, g as u16));
    }
    t.push(plain_transform(TransformType::ESN, EsnId::NO.0));
    wire::Proposal {
        number,
        protocol: ProtocolId::ESP,
        spi: spi.to_be_bytes().to_vec(),
        transforms: t,
    }
}

/// The suite a responder's single-proposal answer names, checked against
/// what we offered (an initiator must not accept a choice it did not offer).
pub fn ike_suite_from_answer(p: &wire::Proposal, ours: &[IkeProposal]) -> Option<IkeSuite> {
    let off = Offered::from_wire(p);
    let (encr, prf, dh) = (
        *off.encr_algs().first()?,
        *off.prf_algs().first()?,
        *off.dh_groups().first()?,
    );
    let integ = if encr.is_aead() {
        None
    } else {
        Some(*off.integ_algs().first()?)
    };
    let s = IkeSuite {
        encr,
        prf,
        integ,
        dh,
    };
    ours.iter().any(|o| o.contains(&s)).then_some(s)
}

/// The child suite a responder's answer names, checked against our offer.
pub fn esp_suite_from_answer(
    p: &wire::Proposal,
    ours: &[EspProposal],
    with_dh: bool,
) -> Option<(u32, EspSuite)> {
    if p.protocol != ProtocolId::ESP || p.spi.len() != 4 {
        return None;
    }
    let off = Offered::from_wire(p);
    let encr = *off.encr_algs().first()?;
    let integ = if encr.is_aead() {
        None
    } else {
        Some(*off.integ_algs().first()?)
    };
    let dh = if with_dh {
        off.dh_groups().first().copied()
    } else {
        None
    };
    let ok = ours.iter().any(|o| {
        o.encr.contains(&encr)
            && integ.is_none_or(|i| o.integ.contains(&i))
            && dh.is_none_or(|g| o.dh.contains(&g))
    });
    let spi = u32::from_be_bytes([p.spi[0], p.spi[1], p.spi[2], p.spi[3]]);
    ok.then_some((spi, EspSuite { encr, integ, dh }))
}
