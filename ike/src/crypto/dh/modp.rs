//! MODP groups: RFC 2409 group 2, RFC 3526 groups 5 and 14-18, RFC 5114
//! groups 22-24 (prime-order subgroups), with crypto-bigint's constant-time
//! Montgomery exponentiation.

use std::sync::OnceLock;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use rand_core::RngCore;
use zeroize::Zeroize;

use super::modp_params::*;
use super::{invalid, invalid_private, DhGroup};
use crate::crypto::{CryptoError, Secret};

/// A group's parameters, parsed once.
pub(super) struct Params {
    /// Length of the prime (and of public values and shared secrets) in bytes.
    pub(super) len: usize,
    /// Bits of precision of every residue (the prime's bit length).
    bits: u32,
    monty: BoxedMontyParams,
    /// The generator, in Montgomery form.
    pub(super) g: BoxedMontyForm,
    /// p - 1.
    p_minus_1: BoxedUint,
    /// The prime order of g for RFC 5114 groups.
    pub(super) q: Option<BoxedUint>,
    /// Bits of a generated exponent: a short exponent for the RFC 2409 /
    /// 3526 groups, q's length for RFC 5114 groups.
    pub(super) exp_bits: u32,
}

/// A private exponent, wiped on drop. Its precision is fixed by the group
/// (not by its value), so exponentiation time does not depend on it.
pub(super) struct Exponent(BoxedUint);

impl Drop for Exponent {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Bits of a generated exponent for the safe-prime groups: twice the
/// group's security strength (RFC 3526 section 8, NIST SP 800-57 strengths),
/// rounded up to whole 64-bit limbs, since the cost of a constant-time
/// exponentiation is set by the exponent's precision in limbs anyway.
fn short_exponent_bits(prime_bits: u32) -> u32 {
    match prime_bits {
        // 1024: 80-bit strength; 1536: ~96-bit strength.
        0..=1536 => 192,
        // 2048: 112; 3072: 128.
        1537..=3072 => 256,
        // 4096: ~150.
        3073..=4096 => 320,
        // 6144: ~175.
        4097..=6144 => 384,
        // 8192: ~200.
        _ => 448,
    }
}

fn parse(hex: &str, bits: u32) -> BoxedUint {
    BoxedUint::from_be_hex(hex, bits).expect("group constant is valid hex of the right size")
}

fn load(prime: &str, generator: Option<&str>, order: Option<&str>) -> Params {
    let bits = (prime.len() * 4) as u32;
    let p = parse(prime, bits);
    let p_minus_1 = p.wrapping_sub(&BoxedUint::one_with_precision(bits));
    let p = Odd::new(p).expect("group prime is odd");
    let monty = BoxedMontyParams::new_vartime(p);
    let g = match generator {
        Some(g) => parse_padded(g, bits),
        None => BoxedUint::from_be_slice(&[2], bits).expect("2 fits"),
    };
    let g = BoxedMontyForm::new(g, monty.clone());
    let q = order.map(|q| parse_padded(q, round_up_to_limbs(q.len() as u32 * 4)));
    let exp_bits = match &q {
        Some(q) => q.bits_vartime(),
        None => short_exponent_bits(bits),
    };
    Params {
        len: bits as usize / 8,
        bits,
        monty,
        g,
        p_minus_1,
        q,
        exp_bits,
    }
}

/// Parses a hex constant that may be shorter than `bits`.
fn parse_padded(hex: &str, bits: u32) -> BoxedUint {
    let digits = bits as usize / 4;
    let padded = format!("{hex:0>digits$}");
    parse(&padded, bits)
}

fn round_up_to_limbs(bits: u32) -> u32 {
    bits.div_ceil(64) * 64
}

/// The parameters of a MODP group (panics for a non-MODP group).
pub(super) fn params(group: DhGroup) -> &'static Params {
    static CACHE: [OnceLock<Params>; 10] = [const { OnceLock::new() }; 10];
    let (slot, prime, generator, order) = match group {
        DhGroup::Modp1024 => (0, MODP_1024_P, None, None),
        DhGroup::Modp1536 => (1, MODP_1536_P, None, None),
        DhGroup::Modp2048 => (2, MODP_2048_P, None, None),
        DhGroup::Modp3072 => (3, MODP_3072_P, None, None),
        DhGroup::Modp4096 => (4, MODP_4096_P, None, None),
        DhGroup::Modp6144 => (5, MODP_6144_P, None, None),
        DhGroup::Modp8192 => (6, MODP_8192_P, None, None),
        DhGroup::Modp1024S160 => (
            7,
            MODP_1024_160_P,
            Some(MODP_1024_160_G),
            Some(MODP_1024_160_Q),
        ),
        DhGroup::Modp2048S224 => (
            8,
            MODP_2048_224_P,
            Some(MODP_2048_224_G),
            Some(MODP_2048_224_Q),
        ),
        DhGroup::Modp2048S256 => (
            9,
            MODP_2048_256_P,
            Some(MODP_2048_256_G),
            Some(MODP_2048_256_Q),
        ),
        _ => unreachable!("{group} is not a MODP group"),
    };
    CACHE[slot].get_or_init(|| load(prime, generator, order))
}

/// g^x mod p, big-endian, left-padded to the prime's length.
fn public_value(params: &Params, x: &Exponent) -> Vec<u8> {
    let y = params.g.pow(&x.0).retrieve();
    to_padded_bytes(&y, params.len)
}

fn to_padded_bytes(v: &BoxedUint, len: usize) -> Vec<u8> {
    let bytes = v.to_be_bytes().into_vec();
    if bytes.len() == len {
        return bytes;
    }
    // The precision is the prime's bit length rounded up to whole limbs;
    // every prime here is a multiple of 64 bits, but stay general.
    let mut out = vec![0u8; len];
    let skip = bytes.len().saturating_sub(len);
    let src = &bytes[skip..];
    out[len - src.len()..].copy_from_slice(src);
    let mut bytes = bytes;
    bytes.zeroize();
    out
}

/// Zeroes the `n` most significant bits of a big-endian buffer.
fn clear_high_bits(buf: &mut [u8], n: usize) {
    let whole = (n / 8).min(buf.len());
    buf[..whole].fill(0);
    if let Some(b) = buf.get_mut(whole) {
        *b &= 0xffu8.checked_shr((n % 8) as u32).unwrap_or(0);
    }
}

pub(super) fn generate(group: DhGroup, rng: &mut dyn RngCore) -> (Exponent, Vec<u8>) {
    let params = params(group);
    let precision = round_up_to_limbs(params.exp_bits);
    let mut buf = vec![0u8; precision as usize / 8];
    let excess_bits = precision - params.exp_bits;
    let x = loop {
        rng.fill_bytes(&mut buf);
        // Keep exactly exp_bits bits (only q-sized exponents have excess,
        // which can span whole bytes: 160-bit q in 192 bits of limbs).
        clear_high_bits(&mut buf, excess_bits as usize);
        let x = Exponent(BoxedUint::from_be_slice(&buf, precision).expect("buffer fits"));
        let ok = match &params.q {
            // RFC 5114: x uniform in [1, q-1] by rejection sampling.
            Some(q) => !bool::from(x.0.is_zero()) && x.0 < *q,
            // Short exponent in [2, 2^exp_bits).
            None => x.0 > BoxedUint::one(),
        };
        if ok {
            break x;
        }
    };
    buf.zeroize();
    let public = public_value(params, &x);
    (x, public)
}

pub(super) fn from_private(
    group: DhGroup,
    private: &[u8],
) -> Result<(Exponent, Vec<u8>), CryptoError> {
    let params = params(group);
    if private.is_empty() || private.len() > params.len {
        return Err(invalid_private(group, "exponent length"));
    }
    let precision = round_up_to_limbs(private.len() as u32 * 8);
    let x = Exponent(BoxedUint::from_be_slice(private, precision).expect("length checked"));
    if bool::from(x.0.is_zero()) {
        return Err(invalid_private(group, "zero exponent"));
    }
    if let Some(q) = &params.q {
        // (BoxedUint compares across precisions: the shorter is zero-extended.)
        if x.0 >= *q {
            return Err(invalid_private(
                group,
                "exponent not below the subgroup order q",
            ));
        }
    }
    let public = public_value(params, &x);
    Ok((x, public))
}

pub(super) fn agree(group: DhGroup, x: &Exponent, peer: &[u8]) -> Result<Secret, CryptoError> {
    let params = params(group);
    if peer.len() != params.len {
        return Err(invalid(group, "wrong length"));
    }
    let y = BoxedUint::from_be_slice(peer, params.bits).expect("length checked");
    // 1 < y < p - 1 (RFC 7296 section 5, SP 800-56A 5.6.2.3.1): rejects 0,
    // 1 and p - 1 (the small subgroup) and anything not reduced mod p.
    if y <= BoxedUint::one_with_precision(params.bits) || y >= params.p_minus_1 {
        return Err(invalid(group, "not in the range 1 < y < p-1"));
    }
    let y = BoxedMontyForm::new(y, params.monty.clone());
    if let Some(q) = &params.q {
        // RFC 5114 groups: y must lie in the order-q subgroup (y^q = 1).
        if y.pow_bounded_exp(q, q.bits_vartime()).retrieve()
            != BoxedUint::one_with_precision(params.bits)
        {
            return Err(invalid(group, "not in the prime-order subgroup (y^q != 1)"));
        }
    }
    let mut z = y.pow(&x.0);
    let mut zi = z.retrieve();
    z.zeroize();
    let secret = to_padded_bytes(&zi, params.len);
    zi.zeroize();
    Ok(Secret::new(secret))
}
