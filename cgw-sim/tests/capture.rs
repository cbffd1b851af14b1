//! `lab run --pcap`: a pcap per named link and the key files of the CGW's
//! SAs, the same bytes for the same seed, and a capture that does not
//! change the run. (tshark decrypting them is checked in the `tests` crate,
//! `tests/tests/lab_capture.rs`.)

use std::path::{Path, PathBuf};

use cgw_sim::runner;
use cgw_sim::scenario::Scenario;

fn load(rel: &str) -> Scenario {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel);
    Scenario::load(p).unwrap_or_else(|e| panic!("{e}"))
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let p =
            std::env::temp_dir().join(format!("cgw-sim-capture-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn text(p: &Path) -> String {
    String::from_utf8(read(p)).expect("UTF-8 key file")
}

/// Data rows of a Wireshark UAT file (not the header comment).
fn rows(t: &str) -> Vec<&str> {
    t.lines().filter(|l| !l.starts_with('#')).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn hex_bytes(s: &str) -> Vec<u8> {
    let s = s.trim_start_matches("0x");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Every IKE SA of the key table was seen on the wire (its initiator SPI
/// is in the IKE header of its messages).
fn assert_ike_spis_in(pcap: &[u8], table: &str) {
    for row in rows(table) {
        let spi_i = row.split(',').next().unwrap();
        assert!(
            contains(pcap, &hex_bytes(spi_i)),
            "SPIi {spi_i} not captured"
        );
    }
}

#[test]
fn captured_run_writes_a_pcap_per_link_and_keys_whose_spis_are_on_the_wire() {
    let s = load("scenarios/happy-path-static.toml");
    let dir = Scratch::new("happy");
    let r = runner::run_captured(&s, s.seed, &dir.0);
    assert!(r.passed, "{r}");
    let c = r.capture.as_ref().expect("capture info in the report");
    assert_eq!(
        c.files,
        [
            "onprem-lan.pcap",
            "cgw-wan.pcap",
            "aws1-wan.pcap",
            "aws2-wan.pcap",
            "vpc-lan.pcap"
        ]
    );
    assert_eq!((c.ike_sas, c.esp_sas), (2, 4), "two tunnels, one pair each");
    assert!(c.tshark.contains("WIRESHARK_CONFIG_DIR="), "{}", c.tshark);
    assert!(
        r.to_string().contains(&c.tshark),
        "the report prints how to open it"
    );
    for f in &c.files {
        let b = read(&dir.0.join(f));
        assert_eq!(&b[..4], &0xa1b2_c3d4u32.to_le_bytes(), "{f}: pcap magic");
        assert!(b.len() > 24 + 16, "{f}: no packet captured");
    }
    let wan = read(&dir.0.join("cgw-wan.pcap"));
    let ike = text(&dir.0.join("ikev2_decryption_table"));
    assert_eq!(rows(&ike).len(), 2, "{ike}");
    assert_ike_spis_in(&wan, &ike);
    let esp = text(&dir.0.join("esp_sa"));
    assert_eq!(rows(&esp).len(), 4, "{esp}");
    // Traffic takes tunnel 1 (AWS 198.51.100.10); tunnel 2's SPIs are only
    // inside the encrypted IKE_AUTH.
    let tunnel1: Vec<&str> = rows(&esp)
        .into_iter()
        .filter(|r| r.contains("\"198.51.100.10\""))
        .collect();
    assert_eq!(tunnel1.len(), 2, "{esp}");
    for row in tunnel1 {
        let spi = row.split(',').nth(3).unwrap().trim_matches('"');
        assert!(
            contains(&wan, &hex_bytes(spi)),
            "ESP SPI {spi} not on cgw-wan"
        );
    }
    assert!(text(&dir.0.join("preferences")).contains("esp.enable_encryption_decode: TRUE"));
}

#[test]
fn capturing_does_not_change_the_run_and_keys_only_come_with_it() {
    let s = load("scenarios/cgw-behind-nat.toml");
    let dir = Scratch::new("same-run");
    let plain = runner::run_with_seed(&s, s.seed);
    assert!(plain.capture.is_none());
    let mut captured = runner::run_captured(&s, s.seed, &dir.0);
    assert!(captured.capture.take().is_some());
    assert_eq!(plain, captured);
}

#[test]
fn behind_a_nat_the_esp_keys_also_name_the_public_address() {
    let s = load("scenarios/cgw-behind-nat.toml");
    let dir = Scratch::new("nat");
    let r = runner::run_captured(&s, s.seed, &dir.0);
    let c = r.capture.expect("capture");
    assert!(
        c.files.contains(&"nat-wan.pcap".to_string()),
        "{:?}",
        c.files
    );
    let esp = text(&dir.0.join("esp_sa"));
    // Each direction of each pair with the CGW's own and the NAT's address.
    assert_eq!(rows(&esp).len(), 8, "{esp}");
    assert_eq!(esp.matches("\"203.0.113.1\"").count(), 4, "{esp}");
}

#[test]
fn a_restarted_cgw_keeps_the_keys_of_its_first_life() {
    let s = load("scenarios/cgw-restart.toml");
    let dir = Scratch::new("restart");
    let r = runner::run_captured(&s, s.seed, &dir.0);
    let c = r.capture.expect("capture");
    let wan = read(&dir.0.join("cgw-wan.pcap"));
    let ike = text(&dir.0.join("ikev2_decryption_table"));
    // Two tunnels before the restart, two after.
    assert_eq!(c.ike_sas, 4, "{ike}");
    assert_ike_spis_in(&wan, &ike);
}

#[test]
fn one_seed_gives_byte_identical_captures_and_another_seed_other_bytes() {
    let s = load("scenarios/cgw-behind-nat.toml");
    let (a, b, c) = (
        Scratch::new("det-a"),
        Scratch::new("det-b"),
        Scratch::new("det-c"),
    );
    let files = runner::run_captured(&s, 5, &a.0)
        .capture
        .expect("capture")
        .files;
    runner::run_captured(&s, 5, &b.0);
    runner::run_captured(&s, 6, &c.0);
    for f in files
        .iter()
        .map(String::as_str)
        .chain(["ikev2_decryption_table", "esp_sa"])
    {
        assert_eq!(read(&a.0.join(f)), read(&b.0.join(f)), "{f}: same seed");
    }
    for f in ["cgw-wan.pcap", "nat-wan.pcap", "aws1-wan.pcap", "esp_sa"] {
        assert_ne!(read(&a.0.join(f)), read(&c.0.join(f)), "{f}: other seed");
    }
}

#[test]
fn capture_timestamps_are_virtual_time_from_zero() {
    let s = load("scenarios/happy-path-static.toml");
    let dir = Scratch::new("ts");
    runner::run_captured(&s, s.seed, &dir.0);
    let b = read(&dir.0.join("cgw-wan.pcap"));
    // The first record's header follows the 24-byte global header: the
    // CGW's first IKE_SA_INIT leaves at virtual time zero.
    let secs = u32::from_le_bytes(b[24..28].try_into().unwrap());
    let usecs = u32::from_le_bytes(b[28..32].try_into().unwrap());
    assert_eq!((secs, usecs), (0, 0));
    let mut off = 24;
    let mut last = 0u64;
    while off + 16 <= b.len() {
        let s = u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as u64;
        let us = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as u64;
        let len = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        let t = s * 1_000_000 + us;
        assert!(t >= last, "timestamps go back at offset {off}");
        last = t;
        off += 16 + len;
    }
    assert_eq!(off, b.len(), "records tile the file");
    // The scenario runs about a minute of virtual time, not wall time.
    assert!(
        (30_000_000..600_000_000).contains(&last),
        "last record at {last} us"
    );
}
