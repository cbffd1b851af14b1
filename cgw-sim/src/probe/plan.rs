//! What the prober offers: the candidate transforms, and one request's
//! proposals for each.
//!
//! A candidate is tested with every other transform type left open (all
//! the transforms we can encode), so "accepted" means "the responder
//! accepts it in some combination": a responder configured as
//! `aes256-sha256-modp2048, aes128gcm16-prfsha256-ecp256` accepts AES-CBC
//! only with SHA-256 integrity, which a probe with the other types fixed
//! to one baseline could not find. AEAD and non-AEAD encryption go in
//! separate proposals (RFC 7296 3.3: an AEAD proposal has no integrity).

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::IkeProposal;

/// One transform under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Candidate {
    /// An encryption algorithm.
    Encr(EncrAlg),
    /// An integrity algorithm.
    Integ(IntegAlg),
    /// A PRF.
    Prf(PrfAlg),
    /// A Diffie-Hellman group.
    Dh(DhGroup),
}

/// Every encryption algorithm the engine can encode.
pub(super) const ENCRYPTION: [EncrAlg; 6] = [
    EncrAlg::AesCbc { key_bits: 128 },
    EncrAlg::AesCbc { key_bits: 192 },
    EncrAlg::AesCbc { key_bits: 256 },
    EncrAlg::AesGcm16 { key_bits: 128 },
    EncrAlg::AesGcm16 { key_bits: 192 },
    EncrAlg::AesGcm16 { key_bits: 256 },
];

/// Every integrity algorithm the engine can encode.
pub(super) const INTEGRITY: [IntegAlg; 4] = [
    IntegAlg::HmacSha1_96,
    IntegAlg::HmacSha256_128,
    IntegAlg::HmacSha384_192,
    IntegAlg::HmacSha512_256,
];

/// Every PRF the engine can encode.
pub(super) const PRF: [PrfAlg; 4] = [
    PrfAlg::HmacSha1,
    PrfAlg::HmacSha256,
    PrfAlg::HmacSha384,
    PrfAlg::HmacSha512,
];

/// The probe order: encryption, integrity, PRF, then DH groups.
pub(super) fn candidates() -> Vec<Candidate> {
    let mut v: Vec<Candidate> = ENCRYPTION.into_iter().map(Candidate::Encr).collect();
    v.extend(INTEGRITY.into_iter().map(Candidate::Integ));
    v.extend(PRF.into_iter().map(Candidate::Prf));
    v.extend(DhGroup::ALL.into_iter().map(Candidate::Dh));
    v
}

/// Which of `all` to offer: only `pick` if it is the candidate's type.
fn only<T: Copy + PartialEq>(all: &[T], pick: Option<T>) -> Vec<T> {
    match pick {
        Some(p) => vec![p],
        None => all.to_vec(),
    }
}

/// The proposals testing `c`, and the group to send a KE for. For a DH
/// candidate that group is the only one offered, so the answer is about
/// it alone; otherwise every group is offered and `ke_group` is a cheap
/// one, since INVALID_KE_PAYLOAD also means "the rest is acceptable".
pub(super) fn proposals(c: Candidate) -> (Vec<IkeProposal>, DhGroup) {
    let (encr, integ, prf, dh) = match c {
        Candidate::Encr(e) => (Some(e), None, None, None),
        Candidate::Integ(i) => (None, Some(i), None, None),
        Candidate::Prf(p) => (None, None, Some(p), None),
        Candidate::Dh(g) => (None, None, None, Some(g)),
    };
    let encrs = only(&ENCRYPTION, encr);
    let prf = only(&PRF, prf);
    let dh = only(&DhGroup::ALL, dh);
    let ke_group = if dh.len() == 1 {
        dh[0]
    } else {
        DhGroup::Ecp256
    };
    let (aead, cbc): (Vec<EncrAlg>, Vec<EncrAlg>) = encrs.into_iter().partition(|e| e.is_aead());
    let mut out = Vec::new();
    // An integrity candidate only makes sense without AEAD.
    if !aead.is_empty() && integ.is_none() {
        out.push(IkeProposal {
            encr: aead,
            prf: prf.clone(),
            integ: Vec::new(),
            dh: dh.clone(),
        });
    }
    if !cbc.is_empty() {
        out.push(IkeProposal {
            encr: cbc,
            prf,
            integ: only(&INTEGRITY, integ),
            dh,
        });
    }
    (out, ke_group)
}
