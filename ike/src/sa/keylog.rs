//! Key export for Wireshark/tshark, and only on explicit request: the one
//! place where key material leaves the engine in readable form. Rows follow
//! Wireshark's `ikev2_decryption_table` and `esp_sa` UAT files.

use std::net::IpAddr;

use super::event::ChildSaInfo;
use super::ike_sa::IkeSa;
use crate::crypto::{EncrAlg, IntegAlg};

/// One `ikev2_decryption_table` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeKeyRow {
    /// Initiator SPI, 16 hex digits.
    pub spi_i: String,
    /// Responder SPI, 16 hex digits.
    pub spi_r: String,
    /// SK_ei in hex (key and salt for GCM).
    pub sk_ei: String,
    /// SK_er in hex.
    pub sk_er: String,
    /// Wireshark's encryption name.
    pub encr: String,
    /// SK_ai in hex (empty for AEAD).
    pub sk_ai: String,
    /// SK_ar in hex.
    pub sk_ar: String,
    /// Wireshark's integrity name.
    pub integ: String,
}

impl IkeKeyRow {
    /// The line as it goes into `ikev2_decryption_table`.
    pub fn line(&self) -> String {
        format!(
            "{},{},{},{},\"{}\",{},{},\"{}\"",
            self.spi_i,
            self.spi_r,
            self.sk_ei,
            self.sk_er,
            self.encr,
            self.sk_ai,
            self.sk_ar,
            self.integ
        )
    }
}

/// One `esp_sa` row (one direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspKeyRow {
    /// Source address of packets on this SA.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// SPI as `0x...`.
    pub spi: String,
    /// Wireshark's encryption name.
    pub encr: String,
    /// Key (and salt for GCM) as `0x...`.
    pub encr_key: String,
    /// Wireshark's authentication name.
    pub integ: String,
    /// Integrity key as `0x...` (empty for GCM).
    pub integ_key: String,
}

impl EspKeyRow {
    /// The line as it goes into `esp_sa`.
    pub fn line(&self) -> String {
        let family = if self.src.is_ipv4() { "IPv4" } else { "IPv6" };
        format!(
            "\"{family}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"",
            self.src, self.dst, self.spi, self.encr, self.encr_key, self.integ, self.integ_key
        )
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex0x(b: &[u8]) -> String {
    if b.is_empty() {
        String::new()
    } else {
        format!("0x{}", hex(b))
    }
}

fn ike_encr_name(e: EncrAlg) -> String {
    match e {
        EncrAlg::AesCbc { key_bits } => format!("AES-CBC-{key_bits} [RFC3602]"),
        EncrAlg::AesGcm16 { key_bits } => format!("AES-GCM-{key_bits} with 16 octet ICV [RFC5282]"),
    }
}

fn ike_integ_name(i: Option<IntegAlg>) -> &'static str {
    match i {
        None => "NONE [RFC4306]",
        Some(IntegAlg::HmacSha1_96) => "HMAC_SHA1_96 [RFC2404]",
        Some(IntegAlg::HmacSha256_128) => "HMAC_SHA2_256_128 [RFC4868]",
        Some(IntegAlg::HmacSha384_192) => "HMAC_SHA2_384_192 [RFC4868]",
        Some(IntegAlg::HmacSha512_256) => "HMAC_SHA2_512_256 [RFC4868]",
    }
}

fn esp_encr_name(e: EncrAlg) -> &'static str {
    match e {
        EncrAlg::AesCbc { .. } => "AES-CBC [RFC3602]",
        EncrAlg::AesGcm16 { .. } => "AES-GCM with 16 octet ICV [RFC4106]",
    }
}

fn esp_integ_name(i: Option<IntegAlg>) -> &'static str {
    match i {
        None => "NULL",
        Some(IntegAlg::HmacSha1_96) => "HMAC-SHA-1-96 [RFC2404]",
        Some(IntegAlg::HmacSha256_128) => "HMAC-SHA-256-128 [RFC4868]",
        Some(IntegAlg::HmacSha384_192) => "HMAC-SHA-384-192 [RFC4868]",
        Some(IntegAlg::HmacSha512_256) => "HMAC-SHA-512-256 [RFC4868]",
    }
}

impl IkeSa {
    /// The IKE SA's keys as a Wireshark row, once keys exist. Call this only
    /// to write a key file the user asked for.
    pub fn export_keys_for_wireshark(&self) -> Option<IkeKeyRow> {
        let suite = self.suite?;
        let k = self.keys.as_ref()?;
        Some(IkeKeyRow {
            spi_i: format!("{:016x}", self.spi_i),
            spi_r: format!("{:016x}", self.spi_r),
            sk_ei: hex(k.sk_ei.expose()),
            sk_er: hex(k.sk_er.expose()),
            encr: ike_encr_name(suite.encr),
            sk_ai: hex(k.sk_ai.expose()),
            sk_ar: hex(k.sk_ar.expose()),
            integ: ike_integ_name(suite.integ).to_string(),
        })
    }
}

impl ChildSaInfo {
    /// Both directions' ESP keys as Wireshark rows; `local`/`remote` are the
    /// outer addresses. Call this only to write a key file the user asked for.
    pub fn export_keys_for_wireshark(&self, local: IpAddr, remote: IpAddr) -> [EspKeyRow; 2] {
        let row = |src, dst, spi: u32, keys: &super::event::EspKeys| EspKeyRow {
            src,
            dst,
            spi: format!("0x{spi:08x}"),
            encr: esp_encr_name(self.suite.encr).to_string(),
            encr_key: hex0x(keys.encr.expose()),
            integ: esp_integ_name(self.suite.integ).to_string(),
            integ_key: hex0x(keys.integ.expose()),
        };
        [
            row(local, remote, self.spi_out, &self.keys_out),
            row(remote, local, self.spi_in, &self.keys_in),
        ]
    }
}
