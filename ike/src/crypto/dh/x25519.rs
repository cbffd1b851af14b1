//! Curve25519 (RFC 7748, RFC 8031) with aws-lc.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use rand_core::RngCore;
use zeroize::Zeroize;

use super::{invalid, invalid_private, DhGroup};
use crate::crypto::{CryptoError, Secret};

/// Length of private scalars, public values and shared secrets.
pub(super) const LEN: usize = 32;

const GROUP: DhGroup = DhGroup::Curve25519;

fn public_value(key: &PrivateKey) -> Vec<u8> {
    let public = key
        .compute_public_key()
        .expect("aws-lc computes the public key of a valid private key");
    public.as_ref().to_vec()
}

pub(super) fn generate(rng: &mut dyn RngCore) -> (PrivateKey, Vec<u8>) {
    let mut scalar = [0u8; LEN];
    rng.fill_bytes(&mut scalar);
    // Any 32 bytes are a valid X25519 private key (RFC 7748 clamps them).
    let key = PrivateKey::from_private_key(&agreement::X25519, &scalar)
        .expect("every 32-byte string is an X25519 private key");
    scalar.zeroize();
    let public = public_value(&key);
    (key, public)
}

pub(super) fn from_private(private: &[u8]) -> Result<(PrivateKey, Vec<u8>), CryptoError> {
    if private.len() != LEN {
        return Err(invalid_private(GROUP, "scalar length"));
    }
    let key = PrivateKey::from_private_key(&agreement::X25519, private)
        .map_err(|_| invalid_private(GROUP, "rejected by aws-lc"))?;
    let public = public_value(&key);
    Ok((key, public))
}

pub(super) fn agree(key: &PrivateKey, peer: &[u8]) -> Result<Secret, CryptoError> {
    if peer.len() != LEN {
        return Err(invalid(GROUP, "wrong length"));
    }
    let peer = UnparsedPublicKey::new(&agreement::X25519, peer);
    // aws-lc fails the agreement when the result is all zero (a low-order
    // point, RFC 7748 section 6.1); check again here so that the rule of
    // RFC 8031 section 2 does not rest on a library detail.
    let secret = agreement::agree(
        key,
        peer,
        invalid(GROUP, "all-zero shared secret (low-order point)"),
        |k| Ok(Secret::from_slice(k)),
    )?;
    let nonzero = secret.expose().iter().fold(0u8, |acc, b| acc | b);
    if nonzero == 0 {
        return Err(invalid(GROUP, "all-zero shared secret (low-order point)"));
    }
    Ok(secret)
}
