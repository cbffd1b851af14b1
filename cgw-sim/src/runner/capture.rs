//! `lab run --pcap DIR`: a classic pcap per named link of the topology and
//! the Wireshark key files that decrypt its IKE and ESP.
//!
//! The directory of one scenario holds `<link>.pcap` for every link in
//! [`Lab::links`] and, for `WIRESHARK_CONFIG_DIR`, `preferences` (ESP
//! decryption on), `ikev2_decryption_table` and `esp_sa` with the keys of
//! every IKE SA and child SA the CGW had during the run (rekeys and the
//! SAs of a restarted CGW included). Timestamps are virtual time since the
//! start of the run (1970-01-01 00:00:00 in Wireshark), so the same
//! scenario and seed give the same bytes.

use std::net::IpAddr;
use std::path::Path;

use lab::TapId;
use serde::Serialize;

use super::topology::Lab;
use crate::node::{KeyLog, TunnelGateway};
use crate::scenario::{FaultAction, Scenario};

/// The Wireshark preferences written next to the key tables: ESP payloads
/// are only decrypted with this on.
const PREFERENCES: &str = "# cgw-sim lab run --pcap: decrypt ESP with the SAs in esp_sa\n\
esp.enable_encryption_decode: TRUE\n\
esp.enable_authentication_check: TRUE\n";

/// Where a scenario's capture went, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptureInfo {
    /// The scenario's capture directory (also the Wireshark configuration
    /// directory holding the key files).
    pub dir: String,
    /// The pcap files in it, one per named link (`cgw-wan.pcap`, ...).
    pub files: Vec<String>,
    /// IKE SAs whose keys are in `ikev2_decryption_table`.
    pub ike_sas: usize,
    /// ESP SAs (one per direction) whose keys are in `esp_sa`.
    pub esp_sas: usize,
    /// A command line that dissects the CGW's WAN capture with the keys.
    pub tshark: String,
}

/// The taps of a run being captured.
pub(super) struct Taps {
    taps: Vec<(&'static str, TapId)>,
}

/// Taps every named link and turns the CGW's key log on. Call before the
/// first packet.
pub(super) fn start(lab: &mut Lab) -> Taps {
    let mut taps = Vec::new();
    for (name, link) in lab.links.clone() {
        if let Some(t) = lab.sim.tap(link) {
            taps.push((name, t));
        }
    }
    lab.sim.with_node(lab.cgw, |g: &mut TunnelGateway| {
        g.set_key_log(Some(KeyLog::default()))
    });
    Taps { taps }
}

/// The addresses the CGW's packets carry on some link: its own, the NAT's
/// public address, and every address `set_cgw_source_address` gives it.
fn cgw_addresses(s: &Scenario) -> Vec<IpAddr> {
    let mut v = vec![IpAddr::V4(s.topology.cgw_address)];
    if let Some(n) = &s.topology.nat {
        v.push(IpAddr::V4(n.public_address));
    }
    for f in &s.faults {
        if let FaultAction::SetCgwSourceAddress(a) = f.action {
            if !v.contains(&a) {
                v.push(a);
            }
        }
    }
    v
}

/// `s` quoted for a POSIX shell when it needs to be.
fn shell_quote(s: &str) -> String {
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain && !s.is_empty() {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Writes the pcaps and key files of the run into `dir` (created if
/// needed).
pub(super) fn write(
    lab: &Lab,
    taps: &Taps,
    s: &Scenario,
    dir: &Path,
) -> Result<CaptureInfo, String> {
    let io = |p: &Path, e: std::io::Error| format!("capture: {}: {e}", p.display());
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut files = Vec::new();
    for (name, tap) in &taps.taps {
        let Some(w) = lab.sim.pcap(*tap) else {
            continue;
        };
        let file = format!("{name}.pcap");
        let path = dir.join(&file);
        w.write_to(&path).map_err(|e| io(&path, e))?;
        files.push(file);
    }
    let keys = lab
        .sim
        .node::<TunnelGateway>(lab.cgw)
        .and_then(|g| g.key_log())
        .cloned()
        .unwrap_or_default();
    let tables = [
        ("preferences", PREFERENCES.to_string()),
        ("ikev2_decryption_table", keys.ikev2_decryption_table()),
        ("esp_sa", keys.esp_sa_table(&cgw_addresses(s))),
    ];
    for (name, text) in tables {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    let d = dir.display().to_string();
    let tshark = format!(
        "WIRESHARK_CONFIG_DIR={} tshark -r {}",
        shell_quote(&d),
        shell_quote(&dir.join("cgw-wan.pcap").display().to_string())
    );
    Ok(CaptureInfo {
        dir: d,
        files,
        ike_sas: keys.ike_sas(),
        esp_sas: keys.esp_sas(),
        tshark,
    })
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn shell_quote_leaves_plain_paths_and_quotes_the_rest() {
        assert_eq!(shell_quote("/tmp/caps/happy-path"), "/tmp/caps/happy-path");
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
