//! The downloads' names for algorithms and numbers (`aes-128-cbc`,
//! `hmac-sha1-96`, `group2`, `Diffie-Hellman Group 2`, `28800 seconds`)
//! turned into AWS's option values, shared by the XML and text readers.

use crate::aws::{Encryption, IkeVersion, Integrity};

/// The encryption algorithm a download names.
pub(super) fn encryption(s: &str) -> Option<Encryption> {
    let s = s.trim().to_ascii_lowercase();
    Some(match s.as_str() {
        "aes-128-cbc" | "aes128" | "aes-128" => Encryption::Aes128,
        "aes-256-cbc" | "aes256" | "aes-256" => Encryption::Aes256,
        "aes-128-gcm-16" | "aes128-gcm-16" | "aes-gcm-128" => Encryption::Aes128Gcm16,
        "aes-256-gcm-16" | "aes256-gcm-16" | "aes-gcm-256" => Encryption::Aes256Gcm16,
        _ => return None,
    })
}

/// What [`encryption`] accepts, for messages.
pub(super) const ENCRYPTION_NAMES: &str =
    "aes-128-cbc, aes-256-cbc, aes-128-gcm-16, aes-256-gcm-16";

/// The integrity algorithm a download names (phase 1 `sha1`, phase 2
/// `hmac-sha1-96`).
pub(super) fn integrity(s: &str) -> Option<Integrity> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_prefix("hmac-").unwrap_or(&s);
    Some(match s {
        "sha1" | "sha1-96" | "sha-1" => Integrity::Sha1,
        "sha2-256" | "sha256" | "sha2-256-128" | "sha-256" => Integrity::Sha2_256,
        "sha2-384" | "sha384" | "sha2-384-192" | "sha-384" => Integrity::Sha2_384,
        "sha2-512" | "sha512" | "sha2-512-256" | "sha-512" => Integrity::Sha2_512,
        _ => return None,
    })
}

/// What [`integrity`] accepts, for messages.
pub(super) const INTEGRITY_NAMES: &str =
    "sha1, sha2-256, sha2-384, sha2-512 (or hmac-sha1-96, hmac-sha2-256-128, ...)";

/// A DH group as the downloads write it: `group2`, `Group 14`,
/// `Diffie-Hellman Group 2`, `2`.
pub(super) fn dh_group(s: &str) -> Option<u16> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_prefix("diffie-hellman").unwrap_or(&s).trim();
    let s = s.strip_prefix("group").unwrap_or(s).trim();
    let g: u16 = s.parse().ok()?;
    matches!(g, 1 | 2 | 5 | 14..=24 | 31 | 32).then_some(g)
}

/// What [`dh_group`] accepts, for messages.
pub(super) const DH_NAMES: &str = "a DH group such as group2, Group 14, Diffie-Hellman Group 20";

/// An IKE version as the text download writes it (`IKEv2`).
pub(super) fn ike_version(s: &str) -> Option<IkeVersion> {
    s.trim().parse().ok()
}

/// A whole number with an optional unit (`28800 seconds`, `1379 bytes`,
/// `30`); `units` are the accepted unit words.
pub(super) fn number<T: std::str::FromStr>(s: &str, units: &[&str]) -> Option<T> {
    let mut words = s.split_whitespace();
    let n = words.next()?.parse().ok()?;
    match (words.next(), words.next()) {
        (None, _) => Some(n),
        (Some(u), None) if units.iter().any(|w| w.eq_ignore_ascii_case(u)) => Some(n),
        _ => None,
    }
}

/// A yes/no as the downloads write it (`true`, `enabled`).
pub(super) fn flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "enabled" | "yes" | "on" => Some(true),
        "false" | "disabled" | "no" | "off" => Some(false),
        _ => None,
    }
}
