//! Wording helpers: compact number ranges, AWS's names for transforms, and
//! AWS's MTU table (AWS-VPN-FACTS.md section 2).

use ike::crypto::{EncrAlg, IntegAlg};

/// Formats numbers compactly, sorted and deduplicated, runs of three or
/// more as a range: `[2, 14, 15, 16, 24]` -> "2, 14-16, 24".
pub fn compact_ranges(values: &[u32]) -> String {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        match j - i {
            0 => out.push(v[i].to_string()),
            1 => {
                out.push(v[i].to_string());
                out.push(v[j].to_string());
            }
            _ => out.push(format!("{}-{}", v[i], v[j])),
        }
        i = j + 1;
    }
    out.join(", ")
}

/// A list of transform names as AWS's console words them; all-numeric
/// lists (DH groups) compacted to ranges.
pub fn transform_list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    let numbers: Option<Vec<u32>> = names.iter().map(|n| n.trim().parse().ok()).collect();
    match numbers {
        Some(n) => compact_ranges(&n),
        None => {
            let mut seen: Vec<String> = Vec::new();
            for n in names.iter().map(|n| aws_name(n)) {
                if !seen.contains(&n) {
                    seen.push(n);
                }
            }
            seen.join(", ")
        }
    }
}

/// AWS's name for an engine or IANA transform name ("AES_CBC_128" ->
/// "AES128", "AUTH_HMAC_SHA2_256_128" -> "SHA2-256"); unknown names are
/// returned as they are.
pub fn aws_name(name: &str) -> String {
    let n = name.trim();
    let known = match n {
        "AES_CBC_128" | "ENCR_AES_CBC_128" => "AES128",
        "AES_CBC_256" | "ENCR_AES_CBC_256" => "AES256",
        "AES_GCM_16_128" | "ENCR_AES_GCM_16_128" => "AES128-GCM-16",
        "AES_GCM_16_256" | "ENCR_AES_GCM_16_256" => "AES256-GCM-16",
        "AUTH_HMAC_SHA1_96" | "PRF_HMAC_SHA1" | "HmacSha1_96" | "HmacSha1" => "SHA1",
        "AUTH_HMAC_SHA2_256_128" | "PRF_HMAC_SHA2_256" | "HmacSha256_128" | "HmacSha256" => {
            "SHA2-256"
        }
        "AUTH_HMAC_SHA2_384_192" | "PRF_HMAC_SHA2_384" | "HmacSha384_192" | "HmacSha384" => {
            "SHA2-384"
        }
        "AUTH_HMAC_SHA2_512_256" | "PRF_HMAC_SHA2_512" | "HmacSha512_256" | "HmacSha512" => {
            "SHA2-512"
        }
        _ => {
            let n = n.strip_prefix("ENCR_").unwrap_or(n);
            if let Some(bits) = n.strip_prefix("AES_GCM_16_") {
                return format!("AES{bits}-GCM-16");
            }
            if let Some(bits) = n.strip_prefix("AES_CBC_") {
                return format!("AES{bits}");
            }
            return n.to_string();
        }
    };
    known.to_string()
}

/// AWS's largest inner packet and TCP MSS for a tunnel's ESP suite
/// (AWS-VPN-FACTS.md section 2): `(mtu, mss)`.
pub fn aws_mtu(encr: EncrAlg, integ: Option<IntegAlg>, nat_t: bool) -> (u16, u16) {
    match (encr, integ, nat_t) {
        (EncrAlg::AesGcm16 { .. }, _, false) => (1446, 1406),
        (EncrAlg::AesGcm16 { .. }, _, true) => (1438, 1398),
        (_, Some(IntegAlg::HmacSha384_192), _) => (1422, 1382),
        (_, Some(IntegAlg::HmacSha512_256), false) => (1422, 1382),
        (_, Some(IntegAlg::HmacSha512_256), true) => (1406, 1366),
        (_, _, false) => (1438, 1398),
        (_, _, true) => (1422, 1382),
    }
}

/// The whole MTU table as lines, for a fix.
pub fn aws_mtu_table() -> Vec<String> {
    vec![
        "AES-GCM: MTU 1446 / MSS 1406 (with NAT-T 1438 / 1398)".into(),
        "AES-CBC + SHA1 or SHA2-256: MTU 1438 / MSS 1398 (with NAT-T 1422 / 1382)".into(),
        "AES-CBC + SHA2-384: MTU 1422 / MSS 1382 (with NAT-T 1422 / 1382)".into(),
        "AES-CBC + SHA2-512: MTU 1422 / MSS 1382 (with NAT-T 1406 / 1366)".into(),
    ]
}
