//! Algorithm names as devices spell them, mapped to AWS's names (the ones
//! `[cgw.tunnelN.ike]` takes): strongSwan's proposal keywords and Cisco's
//! IKEv2 / IPsec / ISAKMP keywords.

/// What one strongSwan proposal keyword is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Keyword {
    /// An encryption algorithm cgw-sim knows (AWS name).
    Encryption(&'static str),
    /// An integrity algorithm cgw-sim knows (AWS name).
    Integrity(&'static str),
    /// A PRF, named by the integrity algorithm that implies it.
    Prf(&'static str),
    /// A DH group cgw-sim knows.
    Group(u16),
    /// `none` as a DH group (no PFS) or `esn`/`noesn`: accepted, no value.
    Marker(&'static str),
    /// A strongSwan keyword cgw-sim cannot express (reported).
    Unsupported(&'static str),
}

/// strongSwan's keywords (docs.strongswan.org, "IKEv2 cipher suites"),
/// with the aliases charon accepts.
pub(crate) fn strongswan_keyword(k: &str) -> Option<Keyword> {
    use Keyword::*;
    Some(match k {
        "aes128" | "aes" => Encryption("AES128"),
        "aes192" => Encryption("AES192"),
        "aes256" => Encryption("AES256"),
        "aes128gcm16" | "aes128gcm128" | "aes128gcm" => Encryption("AES128-GCM-16"),
        "aes256gcm16" | "aes256gcm128" | "aes256gcm" => Encryption("AES256-GCM-16"),
        "3des" => Encryption("3DES"),
        "des" => Encryption("DES"),
        "aes192gcm16" | "aes192gcm128" | "aes192gcm" => Unsupported("AES192-GCM-16"),
        "aes128gcm8" | "aes128gcm64" | "aes192gcm8" | "aes192gcm64" | "aes256gcm8"
        | "aes256gcm64" | "aes128gcm12" | "aes128gcm96" | "aes192gcm12" | "aes192gcm96"
        | "aes256gcm12" | "aes256gcm96" => Unsupported("AES-GCM with an 8 or 12 octet ICV"),
        "aes128ctr" | "aes192ctr" | "aes256ctr" => Unsupported("AES-CTR"),
        "aes128ccm8" | "aes128ccm12" | "aes128ccm16" | "aes192ccm8" | "aes192ccm12"
        | "aes192ccm16" | "aes256ccm8" | "aes256ccm12" | "aes256ccm16" | "aes128ccm"
        | "aes192ccm" | "aes256ccm" => Unsupported("AES-CCM"),
        "chacha20poly1305" => Unsupported("ChaCha20-Poly1305"),
        "camellia" | "camellia128" | "camellia192" | "camellia256" => Unsupported("Camellia"),
        "blowfish" | "blowfish128" | "blowfish192" | "blowfish256" | "cast128" => {
            Unsupported("Blowfish/CAST")
        }
        "null" => Unsupported("NULL encryption"),
        "sha1" | "sha" => Integrity("SHA1"),
        "sha256" | "sha2_256" => Integrity("SHA2-256"),
        "sha384" | "sha2_384" => Integrity("SHA2-384"),
        "sha512" | "sha2_512" => Integrity("SHA2-512"),
        "md5" => Integrity("MD5"),
        "sha1_160" | "md5_128" | "sha256_96" | "sha2_256_96" => {
            Unsupported("a non-standard integrity truncation")
        }
        "aesxcbc" | "aescmac" | "aes128gmac" | "aes192gmac" | "aes256gmac" => {
            Unsupported("AES-XCBC/CMAC/GMAC integrity")
        }
        "prfsha1" => Prf("SHA1"),
        "prfsha256" => Prf("SHA2-256"),
        "prfsha384" => Prf("SHA2-384"),
        "prfsha512" => Prf("SHA2-512"),
        "prfmd5" => Prf("MD5"),
        "prfaesxcbc" | "prfaescmac" => Unsupported("AES-XCBC/CMAC PRF"),
        "modp768" => Group(1),
        "modp1024" => Group(2),
        "modp1536" => Group(5),
        "modp2048" => Group(14),
        "modp3072" => Group(15),
        "modp4096" => Group(16),
        "modp6144" => Group(17),
        "modp8192" => Group(18),
        "ecp256" => Group(19),
        "ecp384" => Group(20),
        "ecp521" => Group(21),
        "modp1024s160" => Group(22),
        "modp2048s224" => Group(23),
        "modp2048s256" => Group(24),
        "curve25519" | "x25519" => Group(31),
        "curve448" | "x448" => Group(32),
        "ecp192" | "ecp224" | "ecp224bp" | "ecp256bp" | "ecp384bp" | "ecp512bp" => {
            Unsupported("an ECP group AWS and cgw-sim do not have (25-30)")
        }
        "none" => Marker("no PFS"),
        "esn" | "noesn" => Marker("ESN"),
        _ => return None,
    })
}

/// Cisco `crypto ikev2 proposal` `encryption` keywords.
pub(crate) fn cisco_ikev2_encryption(k: &str) -> Option<Result<&'static str, &'static str>> {
    Some(match k {
        "aes-cbc-128" => Ok("AES128"),
        "aes-cbc-192" => Ok("AES192"),
        "aes-cbc-256" => Ok("AES256"),
        "aes-gcm-128" => Ok("AES128-GCM-16"),
        "aes-gcm-256" => Ok("AES256-GCM-16"),
        "3des" => Ok("3DES"),
        "des" => Ok("DES"),
        "aes-gcm-192" => Err("AES192-GCM-16"),
        _ => return None,
    })
}

/// Cisco `integrity` / `prf` keywords (IKEv2).
pub(crate) fn cisco_hash(k: &str) -> Option<&'static str> {
    Some(match k {
        "sha1" => "SHA1",
        "sha256" => "SHA2-256",
        "sha384" => "SHA2-384",
        "sha512" => "SHA2-512",
        "md5" => "MD5",
        _ => return None,
    })
}

/// Cisco ISAKMP `hash` keywords (IKEv1).
pub(crate) fn cisco_isakmp_hash(k: &str) -> Option<&'static str> {
    match k {
        "sha" => Some("SHA1"),
        other => cisco_hash(other),
    }
}

/// A DH group number cgw-sim can configure (`[cgw]`'s vocabulary).
pub(crate) fn known_group(g: u16) -> bool {
    matches!(g, 1 | 2 | 5 | 14..=24 | 31 | 32)
}

/// Pushes `v` unless already there (keeps the device's order).
pub(crate) fn push_unique<T: PartialEq>(list: &mut Vec<T>, v: T) {
    if !list.contains(&v) {
        list.push(v);
    }
}
