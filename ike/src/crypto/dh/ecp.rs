//! ECP groups 19, 20, 21 (RFC 5903) with aws-lc: the KE payload carries
//! x || y without SEC 1's 0x04 prefix, the shared secret is the x coordinate.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use rand_core::RngCore;
use zeroize::Zeroize;

use super::{invalid, invalid_private, DhGroup};
use crate::crypto::{CryptoError, Secret};

/// SEC 1 uncompressed point tag.
const UNCOMPRESSED: u8 = 0x04;
/// Largest public value: P-521, 1 + 2 * 66 bytes.
const MAX_SEC1_LEN: usize = 1 + 2 * 66;

fn algorithm(group: DhGroup) -> &'static agreement::Algorithm {
    match group {
        DhGroup::Ecp256 => &agreement::ECDH_P256,
        DhGroup::Ecp384 => &agreement::ECDH_P384,
        DhGroup::Ecp521 => &agreement::ECDH_P521,
        _ => unreachable!("{group} is not an ECP group"),
    }
}

/// Length of one coordinate (and of the private scalar) in bytes.
pub(super) fn coordinate_len(group: DhGroup) -> usize {
    match group {
        DhGroup::Ecp256 => 32,
        DhGroup::Ecp384 => 48,
        DhGroup::Ecp521 => 66,
        _ => unreachable!("{group} is not an ECP group"),
    }
}

fn public_value(group: DhGroup, key: &PrivateKey) -> Vec<u8> {
    let public = key
        .compute_public_key()
        .expect("aws-lc computes the public key of a valid private key");
    let sec1 = public.as_ref();
    debug_assert_eq!(sec1.len(), 1 + 2 * coordinate_len(group));
    debug_assert_eq!(sec1[0], UNCOMPRESSED);
    sec1[1..].to_vec()
}

pub(super) fn generate(group: DhGroup, rng: &mut dyn RngCore) -> (PrivateKey, Vec<u8>) {
    let mut scalar = vec![0u8; coordinate_len(group)];
    // Rejection sampling: aws-lc refuses 0 and values >= n, so every
    // accepted scalar is uniform in [1, n-1]. For P-521 the top byte keeps
    // only its lowest bit (521 = 65 * 8 + 1), so a retry is rare everywhere.
    let key = loop {
        rng.fill_bytes(&mut scalar);
        if group == DhGroup::Ecp521 {
            scalar[0] &= 0x01;
        }
        if let Ok(key) = PrivateKey::from_private_key(algorithm(group), &scalar) {
            break key;
        }
    };
    scalar.zeroize();
    let public = public_value(group, &key);
    (key, public)
}

pub(super) fn from_private(
    group: DhGroup,
    private: &[u8],
) -> Result<(PrivateKey, Vec<u8>), CryptoError> {
    if private.len() != coordinate_len(group) {
        return Err(invalid_private(group, "scalar length"));
    }
    let key = PrivateKey::from_private_key(algorithm(group), private)
        .map_err(|_| invalid_private(group, "scalar is 0 or not below the group order"))?;
    let public = public_value(group, &key);
    Ok((key, public))
}

pub(super) fn agree(group: DhGroup, key: &PrivateKey, peer: &[u8]) -> Result<Secret, CryptoError> {
    let n = coordinate_len(group);
    if peer.len() != 2 * n {
        return Err(invalid(group, "wrong length"));
    }
    let mut sec1 = [0u8; MAX_SEC1_LEN];
    sec1[0] = UNCOMPRESSED;
    sec1[1..=2 * n].copy_from_slice(peer);
    // aws-lc decodes the point and checks that it is on the curve (and not
    // the point at infinity, which has no affine x || y encoding).
    let peer = UnparsedPublicKey::new(algorithm(group), &sec1[..=2 * n]);
    agreement::agree(key, peer, invalid(group, "not a point on the curve"), |x| {
        debug_assert_eq!(x.len(), n);
        Ok(Secret::from_slice(x))
    })
}
