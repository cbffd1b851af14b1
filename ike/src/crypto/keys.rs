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

/// Integrity key length: none for AEAD (RFC 5282), else the transform's.
fn integ_len(encr: EncrAlg, integ: Option<IntegAlg>) -> usize {
    if encr.is_aead() {
        0
    } else {
        integ.map_or(0, IntegAlg::key_len)
    }
}

/// Cuts consecutive pieces off `keymat`.
struct Splitter<'a> {
    rest: &'a [u8],
}

impl Splitter<'_> {
    fn take(&mut self, n: usize) -> Secret {
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Secret::from_slice(head)
    }
}

/// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED,
/// Ni | Nr | SPIi | SPIr) (2.14).
#[allow(clippy::too_many_arguments)]
fn split_ike_keys(
    prf: PrfAlg,
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    skeyseed: &Secret,
    ni: &[u8],
    nr: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> IkeKeys {
    let prf_len = prf.output_len();
    let a_len = integ_len(encr, integ);
    let e_len = encr.keymat_len();
    let total = 3 * prf_len + 2 * a_len + 2 * e_len;
    let keymat = prf.prf_plus(
        skeyseed.expose(),
        &[ni, nr, &spi_i.to_be_bytes(), &spi_r.to_be_bytes()],
        total,
    );
    let mut cut = Splitter {
        rest: keymat.expose(),
    };
    IkeKeys {
        sk_d: cut.take(prf_len),
        sk_ai: cut.take(a_len),
        sk_ar: cut.take(a_len),
        sk_ei: cut.take(e_len),
        sk_er: cut.take(e_len),
        sk_pi: cut.take(prf_len),
        sk_pr: cut.take(prf_len),
    }
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
    // The HMAC PRFs take the whole nonces as the key (the 64-bit rule of
    // 2.14 is for fixed-key-length PRFs such as AES-XCBC, which we lack).
    let mut nonces = Vec::with_capacity(ni.len() + nr.len());
    nonces.extend_from_slice(ni);
    nonces.extend_from_slice(nr);
    let skeyseed = prf.compute(&nonces, &[shared_secret.expose()]);
    split_ike_keys(prf, encr, integ, &skeyseed, ni, nr, spi_i, spi_r)
}

/// Derives the keys of an IKE SA created by rekeying (2.18): SKEYSEED =
/// prf(SK_d (old), g^ir (new) | Ni | Nr), with the new SPIs.
///
/// SKEYSEED uses the old IKE SA's PRF; prf+ uses the new one.
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
    let skeyseed = old_prf.compute(old_sk_d.expose(), &[shared_secret.expose(), ni, nr]);
    split_ike_keys(prf, encr, integ, &skeyseed, ni, nr, spi_i, spi_r)
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
    let e_len = encr.keymat_len();
    let a_len = integ_len(encr, integ);
    let g_ir: &[u8] = pfs_shared_secret.map_or(&[], Secret::expose);
    let keymat = prf.prf_plus(sk_d.expose(), &[g_ir, ni, nr], 2 * (e_len + a_len));
    let mut cut = Splitter {
        rest: keymat.expose(),
    };
    ChildKeys {
        encr_i: cut.take(e_len),
        integ_i: cut.take(a_len),
        encr_r: cut.take(e_len),
        integ_r: cut.take(a_len),
    }
}

/// The key pad of 2.15.
const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// The PSK AUTH value (2.15): prf(prf(PSK, "Key Pad for IKEv2"),
/// signed_octets), where signed_octets = the sender's first message | the
/// peer's nonce | prf(SK_p, IDx').
pub fn psk_auth(prf: PrfAlg, psk: &Secret, signed_octets: &[u8]) -> Secret {
    let inner = prf.compute(psk.expose(), &[KEY_PAD]);
    prf.compute(inner.expose(), &[signed_octets])
}
