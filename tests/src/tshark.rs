//! tshark: captures inside a namespace, dissection checks, Wireshark key files.

use crate::netns::Netns;
use crate::proc::{self, Daemon};
use crate::require;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A running `tshark -i IFACE -w FILE` inside a namespace. [`Capture::stop`]
/// (or drop) stops it by PID and waits until the file is complete.
pub struct Capture {
    daemon: Daemon,
    path: PathBuf,
    log: PathBuf,
    _ns: Netns,
}

impl Capture {
    /// Start capturing on `iface` in `ns` into `path` (pcapng). Returns once
    /// tshark reports it is capturing (at most 15 s; panics otherwise).
    pub fn start(ns: &Netns, iface: &str, path: impl AsRef<Path>) -> Capture {
        require::tshark();
        let path = path.as_ref().to_path_buf();
        let _ = std::fs::remove_file(&path);
        let log = path.with_extension("tshark.log");
        let _ = std::fs::remove_file(&log);
        let path_s = path.display().to_string();
        let daemon = Daemon::spawn(
            "tshark",
            &[
                "ip",
                "netns",
                "exec",
                ns.name(),
                "tshark",
                "-q",
                "-n",
                "-i",
                iface,
                // bounded: stop at 50 MB, never fill the disk
                "-a",
                "filesize:51200",
                "-w",
                &path_s,
            ],
            &[],
            &log,
            "tshark",
            Duration::from_secs(10),
        );
        let mut c = Capture {
            daemon,
            path,
            log,
            _ns: ns.clone(),
        };
        let started = proc::wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
            if !c.daemon.is_running() {
                return Some(false);
            }
            let text = std::fs::read_to_string(&c.log).unwrap_or_default();
            text.contains("Capturing on").then_some(true)
        });
        if started != Some(true) {
            panic!(
                "tshark did not start capturing on {iface} in {}:\n{}",
                ns.name(),
                proc::tail(&c.log, 20)
            );
        }
        // dumpcap has opened the interface; give it a moment to write the header
        std::thread::sleep(Duration::from_millis(200));
        c
    }

    /// The capture file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stop tshark (SIGINT by PID, then wait for it to exit so the file is
    /// flushed and closed) and return the file's path.
    pub fn stop(mut self) -> PathBuf {
        self.finish();
        self.path.clone()
    }

    fn finish(&mut self) {
        if self.daemon.is_running() {
            // let the last packets reach dumpcap's buffer
            std::thread::sleep(Duration::from_millis(300));
        }
        self.daemon.stop_with(libc::SIGINT);
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.finish();
    }
}

/// What dissecting a capture found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dissection {
    /// Frames in the file.
    pub frames: usize,
    /// Frames with an IKE (`isakmp`) layer.
    pub isakmp: usize,
    /// Frames with an `esp` layer.
    pub esp: usize,
    /// Frames with a UDP-encapsulation (port 4500) layer.
    pub udpencap: usize,
    /// ESP frames whose payload was decrypted to ICMP (needs keys).
    pub esp_icmp: usize,
    /// One line per malformed / error-severity frame (`frame: protocols: info`).
    pub malformed: Vec<String>,
}

impl Dissection {
    /// ESP in UDP 4500 (`udpencap` and `esp` both present) is counted in `esp`.
    pub fn has_ike_or_esp(&self) -> bool {
        self.isakmp + self.esp > 0
    }
}

fn tshark_r(pcap: &Path, keys: Option<&Path>, extra: &[&str]) -> proc::Output {
    let p = pcap.display().to_string();
    let mut argv = vec!["tshark", "-n", "-r", p.as_str()];
    argv.extend_from_slice(extra);
    // without keys, point WIRESHARK_CONFIG_DIR at an empty directory so the
    // user's own Wireshark profile cannot change the result
    let empty = std::env::temp_dir().join("cgwt-wireshark-empty");
    let _ = std::fs::create_dir_all(&empty);
    let dir = keys.unwrap_or(&empty).display().to_string();
    proc::run(
        &argv,
        &[("WIRESHARK_CONFIG_DIR", dir.as_str())],
        Duration::from_secs(60),
    )
}

/// Dissect `pcap` (optionally with a key directory from
/// [`KeyFiles::write_dir`]) and count what was found. Panics if tshark fails.
pub fn dissect(pcap: &Path, keys: Option<&Path>) -> Dissection {
    require::tshark_reader();
    let out = tshark_r(
        pcap,
        keys,
        &[
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.number",
            "-e",
            "frame.protocols",
        ],
    );
    if !out.success() {
        panic!("tshark cannot read {}: {out}", pcap.display());
    }
    let mut d = Dissection::default();
    for line in out.stdout.lines() {
        let Some((_, protos)) = line.split_once('|') else {
            continue;
        };
        d.frames += 1;
        let layers: Vec<&str> = protos.split(':').collect();
        d.isakmp += usize::from(layers.contains(&"isakmp"));
        d.udpencap += usize::from(layers.contains(&"udpencap"));
        if let Some(i) = layers.iter().position(|l| *l == "esp") {
            d.esp += 1;
            d.esp_icmp += usize::from(layers[i..].contains(&"icmp"));
        }
    }
    let bad = tshark_r(
        pcap,
        keys,
        &[
            "-Y",
            "_ws.malformed || _ws.expert.severity == error",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.number",
            "-e",
            "frame.protocols",
            "-e",
            "_ws.expert.message",
        ],
    );
    if !bad.success() {
        panic!("tshark filter failed on {}: {bad}", pcap.display());
    }
    d.malformed = bad
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    d
}

/// Dissect `pcap` without keys and panic if any frame is malformed or has an
/// error-severity expert item; returns the counts so a test can also assert
/// the capture is not empty.
#[track_caller]
pub fn check_no_malformed(pcap: &Path) -> Dissection {
    check_no_malformed_with(pcap, None)
}

/// [`check_no_malformed`] with a Wireshark key directory (decrypts IKE and ESP).
#[track_caller]
pub fn check_no_malformed_with(pcap: &Path, keys: Option<&Path>) -> Dissection {
    let d = dissect(pcap, keys);
    if !d.malformed.is_empty() {
        let verbose = tshark_r(
            pcap,
            keys,
            &["-Y", "_ws.malformed || _ws.expert.severity == error", "-V"],
        );
        let mut msg = format!(
            "tshark reports {} malformed/error frames in {}:\n",
            d.malformed.len(),
            pcap.display()
        );
        for l in &d.malformed {
            let _ = writeln!(msg, "  {l}");
        }
        let v: String = verbose.stdout.chars().take(20_000).collect();
        let _ = write!(msg, "--- tshark -V of those frames (truncated)\n{v}");
        panic!("{msg}");
    }
    d
}

/// Run tshark with a display filter and return the matching frames' summary
/// lines (handy in assertions: `frames(p, keys, "isakmp.exchtype == 34")`).
pub fn frames(pcap: &Path, keys: Option<&Path>, filter: &str) -> Vec<String> {
    require::tshark_reader();
    let out = tshark_r(pcap, keys, &["-Y", filter]);
    if !out.success() {
        panic!("tshark -Y {filter:?} failed: {out}");
    }
    out.stdout.lines().map(str::to_string).collect()
}

/// One field of the frames matching `filter`, one string per frame.
pub fn fields(pcap: &Path, filter: &str, field: &str) -> Vec<String> {
    fields_with(pcap, None, filter, &[field])
}

/// Fields of the frames matching `filter`, dissected with the key
/// directory `keys` if given: one line per frame, the fields separated by
/// `|` (several values of one field by `,`).
pub fn fields_with(pcap: &Path, keys: Option<&Path>, filter: &str, fields: &[&str]) -> Vec<String> {
    require::tshark_reader();
    let mut args = vec!["-Y", filter, "-T", "fields", "-E", "separator=|"];
    for f in fields {
        args.extend(["-e", f]);
    }
    let out = tshark_r(pcap, keys, &args);
    if !out.success() {
        panic!("tshark -Y {filter:?} -e {fields:?} failed: {out}");
    }
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// Wireshark key files (UAT tables in WIRESHARK_CONFIG_DIR)

/// One row of `ikev2_decryption_table`. Hex fields without `0x`; algorithm
/// names as Wireshark spells them (see [`ike_encr_name`], [`ike_integ_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaRow {
    pub spi_i: String,
    pub spi_r: String,
    pub sk_ei: String,
    pub sk_er: String,
    pub encr: String,
    pub sk_ai: String,
    pub sk_ar: String,
    pub integ: String,
}

/// One row of `esp_sa` (one direction). `spi` like `0x1234abcd`; keys hex
/// without `0x` (AES-GCM: key followed by the 4-byte salt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspSaRow {
    pub src: String,
    pub dst: String,
    pub spi: String,
    pub encr: String,
    pub encr_key: String,
    pub integ: String,
    pub integ_key: String,
}

/// A set of Wireshark decryption tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFiles {
    pub ike: Vec<IkeSaRow>,
    pub esp: Vec<EspSaRow>,
}

fn hex0x(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else if s.starts_with("0x") {
        s.to_string()
    } else {
        format!("0x{s}")
    }
}

impl KeyFiles {
    /// Append another set (e.g. keys of both peers, or before/after a rekey).
    pub fn extend(&mut self, other: KeyFiles) {
        for r in other.ike {
            if !self.ike.contains(&r) {
                self.ike.push(r);
            }
        }
        for r in other.esp {
            if !self.esp.contains(&r) {
                self.esp.push(r);
            }
        }
    }

    /// Text of `ikev2_decryption_table`.
    pub fn ikev2_table(&self) -> String {
        let mut s = String::from("# This file is automatically generated, DO NOT MODIFY.\n");
        for r in &self.ike {
            let _ = writeln!(
                s,
                "{},{},{},{},\"{}\",{},{},\"{}\"",
                r.spi_i, r.spi_r, r.sk_ei, r.sk_er, r.encr, r.sk_ai, r.sk_ar, r.integ
            );
        }
        s
    }

    /// Text of `esp_sa`.
    pub fn esp_table(&self) -> String {
        let mut s = String::from("# This file is automatically generated, DO NOT MODIFY.\n");
        for r in &self.esp {
            let _ = writeln!(
                s,
                "\"IPv4\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"",
                r.src,
                r.dst,
                hex0x(&r.spi),
                r.encr,
                hex0x(&r.encr_key),
                r.integ,
                hex0x(&r.integ_key)
            );
        }
        s
    }

    /// Write `preferences`, `ikev2_decryption_table` and `esp_sa` into `dir`
    /// (created if needed), for `WIRESHARK_CONFIG_DIR=dir`.
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("preferences"),
            "# cgw-sim-tests\nesp.enable_encryption_decode: TRUE\nesp.enable_authentication_check: TRUE\n",
        )?;
        std::fs::write(dir.join("ikev2_decryption_table"), self.ikev2_table())?;
        std::fs::write(dir.join("esp_sa"), self.esp_table())
    }
}

/// Wireshark's IKEv2 encryption name for a strongSwan/IANA name
/// (`AES_CBC`, `AES_GCM_16`, ...) and key size in bits.
pub fn ike_encr_name(alg: &str, keybits: u16) -> String {
    match alg {
        "AES_CBC" => format!("AES-CBC-{keybits} [RFC3602]"),
        "AES_CTR" => format!("AES-CTR-{keybits} [RFC5930]"),
        "AES_GCM_16" => format!("AES-GCM-{keybits} with 16 octet ICV [RFC5282]"),
        "AES_GCM_12" => format!("AES-GCM-{keybits} with 12 octet ICV [RFC5282]"),
        "AES_GCM_8" => format!("AES-GCM-{keybits} with 8 octet ICV [RFC5282]"),
        "3DES" => "3DES [RFC2451]".into(),
        other => format!("UNSUPPORTED-{other}"),
    }
}

/// Wireshark's IKEv2 integrity name (`NONE [RFC4306]` for AEAD).
pub fn ike_integ_name(alg: &str) -> String {
    match alg {
        "HMAC_SHA1_96" => "HMAC_SHA1_96 [RFC2404]".into(),
        "HMAC_SHA2_256_128" => "HMAC_SHA2_256_128 [RFC4868]".into(),
        "HMAC_SHA2_384_192" => "HMAC_SHA2_384_192 [RFC4868]".into(),
        "HMAC_SHA2_512_256" => "HMAC_SHA2_512_256 [RFC4868]".into(),
        "HMAC_MD5_96" => "HMAC_MD5_96 [RFC2403]".into(),
        "" | "NONE" => "NONE [RFC4306]".into(),
        other => format!("UNSUPPORTED-{other}"),
    }
}

/// Wireshark's ESP encryption name.
pub fn esp_encr_name(alg: &str) -> String {
    match alg {
        "AES_CBC" => "AES-CBC [RFC3602]".into(),
        "AES_CTR" => "AES-CTR [RFC3686]".into(),
        "AES_GCM_16" => "AES-GCM with 16 octet ICV [RFC4106]".into(),
        "AES_GCM_12" => "AES-GCM with 12 octet ICV [RFC4106]".into(),
        "AES_GCM_8" => "AES-GCM with 8 octet ICV [RFC4106]".into(),
        "3DES" => "TripleDES-CBC [RFC2451]".into(),
        "NULL" => "NULL".into(),
        other => format!("UNSUPPORTED-{other}"),
    }
}

/// Wireshark's ESP authentication name (`NULL` for AEAD).
pub fn esp_integ_name(alg: &str) -> String {
    match alg {
        "HMAC_SHA1_96" => "HMAC-SHA-1-96 [RFC2404]".into(),
        "HMAC_SHA2_256_128" => "HMAC-SHA-256-128 [RFC4868]".into(),
        "HMAC_SHA2_384_192" => "HMAC-SHA-384-192 [RFC4868]".into(),
        "HMAC_SHA2_512_256" => "HMAC-SHA-512-256 [RFC4868]".into(),
        "HMAC_MD5_96" => "HMAC-MD5-96 [RFC2403]".into(),
        "" | "NONE" => "NULL".into(),
        other => format!("UNSUPPORTED-{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        let k = KeyFiles {
            ike: vec![IkeSaRow {
                spi_i: "1d5023b24f7abf74".into(),
                spi_r: "7dd5e892aaebe2eb".into(),
                sk_ei: "aa".into(),
                sk_er: "bb".into(),
                encr: ike_encr_name("AES_CBC", 128),
                sk_ai: "cc".into(),
                sk_ar: "dd".into(),
                integ: ike_integ_name("HMAC_SHA1_96"),
            }],
            esp: vec![EspSaRow {
                src: "198.51.100.1".into(),
                dst: "192.0.2.1".into(),
                spi: "0x9456bacc".into(),
                encr: esp_encr_name("AES_GCM_16"),
                encr_key: "86b4".into(),
                integ: esp_integ_name("NONE"),
                integ_key: String::new(),
            }],
        };
        assert!(k.ikev2_table().contains(
            "1d5023b24f7abf74,7dd5e892aaebe2eb,aa,bb,\"AES-CBC-128 [RFC3602]\",cc,dd,\"HMAC_SHA1_96 [RFC2404]\""
        ));
        assert!(k.esp_table().contains(
            "\"IPv4\",\"198.51.100.1\",\"192.0.2.1\",\"0x9456bacc\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x86b4\",\"NULL\",\"\""
        ));
    }
}
