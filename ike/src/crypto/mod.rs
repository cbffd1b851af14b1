//! The cryptographic transforms of IKEv2 and ESP, and key derivation.
//!
//! Algorithms are enums with known sizes; keys are prepared once
//! ([`cipher::CipherKey`], [`integ::IntegKey`]) so the per-packet path does
//! no setup and no allocation. All secret bytes live in [`Secret`], which
//! is zeroized on drop and never prints its contents.

pub mod cipher;
pub mod dh;
pub mod integ;
pub mod keys;
pub mod prf;
mod secret;

#[cfg(test)]
mod tests;

pub use cipher::{CipherKey, EncrAlg};
pub use dh::{DhGroup, KeyPair};
pub use integ::{IntegAlg, IntegKey};
pub use keys::{ChildKeys, IkeKeys};
pub use prf::PrfAlg;
pub use secret::Secret;

/// A cryptographic failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The peer's public value is not valid for the group (wrong length, not
    /// on the curve, 0, 1 or p-1 for MODP, an all-zero X25519 result).
    #[error("invalid public value for {group}: {reason}")]
    InvalidPublicKey {
        /// The group.
        group: DhGroup,
        /// What was wrong.
        reason: &'static str,
    },
    /// A private value given to [`dh::KeyPair::from_private`] that the group
    /// cannot use (zero, out of range, wrong length).
    #[error("invalid private value for {group}: {reason}")]
    InvalidPrivateKey {
        /// The group.
        group: DhGroup,
        /// What was wrong.
        reason: &'static str,
    },
    /// A key of the wrong length for the algorithm.
    #[error("key of {have} bytes, {what} needs {need}")]
    KeyLength {
        /// The algorithm.
        what: &'static str,
        /// Needed length.
        need: usize,
        /// Given length.
        have: usize,
    },
    /// Ciphertext length is not a whole number of blocks, or too short.
    #[error("ciphertext of {0} bytes is not a whole number of cipher blocks")]
    CiphertextLength(usize),
    /// AEAD tag or integrity checksum did not verify.
    #[error("integrity check failed")]
    IntegrityCheckFailed,
}
