//! Key derivation (RFC 7296 2.13, 2.14, 2.17, 2.18) and the PSK AUTH
//! value (2.15).

use super::{EncrAlg, IntegAlg, PrfAlg, Secret};

/// The seven IKE SA keys.
#[derive(Debug, Clone)]
pub struct IkeKeys {
    /// SK_d: derives child SA keys and the next IKE SA's SKEYSEED.
    pub sk_d: Secret,
    /// SK_ai: integrity, initiator to responder (empty for AEAD).
    pub sk_ai: Secret,
    /// SK_ar: integrity, responder to initiator (empty for AEAD).
    pub sk_ar: Secret,
    /// SK_ei: encryption (and salt for GCM), initiator to responder.
    pub sk_ei: Secret,
    /// SK_er: encryption (and salt for GCM), responder to initiator.
    pub sk_er: Secret,
    /// SK_pi: signs the initiator's AUTH.
    pub sk_pi: Secret,
    /// SK_pr: signs the responder's AUTH.
    pub sk_pr: Secret,
}

/// Child SA keys (KEYMAT split per RFC 7296 2.17): initiator-to-responder
/// first, each direction encryption key then integrity key.
#[derive(Debug, Clone)]
pub struct ChildKeys {
    /// Encryption keymat, initiator to responder (key || salt for GCM).
    pub encr_i: Secret,
    /// Integrity key, initiator to responder (empty for AEAD).
    pub integ_i: Secret,
    /// Encryption keymat, responder to initiator.
    pub encr_r: Secret,
    /// Integrity key, responder to initiator.
    pub integ_r: Secret,
}

/// Derives the IKE SA keys of a new IKE SA (2.14): SKEYSEED = prf(Ni | Nr,
/// g^ir), then prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
#[allow(clippy::too_many_arguments)]
pub fn derive_ike_keys(
    prf: PrfAlg,
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    shared_secret: &Secret,
    ni: &[u8],
    nr: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> IkeKeys {
    let _ = (prf, encr, integ, shared_secret, ni, nr, spi_i, spi_r);
    todo!("crypto")
}

/// Derives the keys of an IKE SA created by rekeying (2.18): SKEYSEED =
/// prf(SK_d (old), g^ir (new) | Ni | Nr), with the new SPIs.
#[allow(clippy::too_many_arguments)]
pub fn derive_rekeyed_ike_keys(
    old_prf: PrfAlg,
    old_sk_d: &Secret,
    prf: PrfAlg,
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    shared_secret: &Secret,
    ni: &[u8],
    nr: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> IkeKeys {
    let _ = (
        old_prf,
        old_sk_d,
        prf,
        encr,
        integ,
        shared_secret,
        ni,
        nr,
        spi_i,
        spi_r,
    );
    todo!("crypto")
}

/// Derives child SA keys (2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr).
pub fn derive_child_keys(
    prf: PrfAlg,
    sk_d: &Secret,
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    pfs_shared_secret: Option<&Secret>,
    ni: &[u8],
    nr: &[u8],
) -> ChildKeys {
    let _ = (prf, sk_d, encr, integ, pfs_shared_secret, ni, nr);
    todo!("crypto")
}

/// The PSK AUTH value (2.15): prf(prf(PSK, "Key Pad for IKEv2"),
/// signed_octets), where signed_octets = the sender's first message | the
/// peer's nonce | prf(SK_p, IDx').
pub fn psk_auth(prf: PrfAlg, psk: &Secret, signed_octets: &[u8]) -> Secret {
    let _ = (prf, psk, signed_octets);
    todo!("crypto")
}
