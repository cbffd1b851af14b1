//! `cgw-sim probe` as a process against `cgw-sim mock-aws` in network
//! namespaces, the mock's tunnel restricted to AES256-GCM-16 and DH groups
//! 14 and 20: the JSON report names exactly those. Needs root.
#![cfg(target_os = "linux")]

#[path = "common/namespaces.rs"]
mod namespaces;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cgw-sim");

const MOCK: &str = r#"
[mock]
cgw_address = "192.0.2.10"
vpc_cidrs = ["198.19.0.0/16"]
[mock.tunnel1]
listen = "198.51.100.10"
[mock.tunnel2]
listen = "198.51.100.20"
[aws.tunnel1]
inside_cidr = "169.254.10.0/30"
psk = "tunnel1_key.1234"
phase1_encryption = ["AES256-GCM-16"]
phase1_integrity = ["SHA2-256", "SHA2-384"]
phase1_dh_groups = [14, 20]
[aws.tunnel2]
inside_cidr = "169.254.20.0/30"
psk = "tunnel2_key.5678"
"#;

#[test]
fn probe_process_against_restricted_mock_aws() {
    namespaces::require_root();
    let dir = namespaces::temp_dir("cli-probe");
    std::fs::write(dir.join("mock.toml"), MOCK).unwrap();
    let (cns, ans) = namespaces::cgw_and_aws();
    let err = std::fs::File::create(dir.join("mock.err")).unwrap();
    let mut mock = Command::new("ip")
        .args(["netns", "exec", ans.name(), BIN, "mock-aws", "--config"])
        .arg(dir.join("mock.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("ip netns exec runs");
    // The probe's own retries cover the mock's start-up.
    let t0 = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", cns.name(), BIN, "probe"])
        .args(["--peer", "198.51.100.10", "--source", "192.0.2.10"])
        .args([
            "--rate",
            "20",
            "--timeout",
            "500ms",
            "--max-requests",
            "80",
            "--json",
        ])
        .output()
        .expect("ip netns exec runs");
    let took = t0.elapsed();
    let _ = mock.kill();
    let _ = mock.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let context = format!(
        "exit {:?}\nstdout {stdout}\nstderr {}\nmock stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("mock.err")).unwrap_or_default()
    );
    assert!(out.status.success(), "{context}");
    assert!(took < Duration::from_secs(40), "{took:?}\n{context}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let acc = &v["phase1"]["accepted"];
    assert_eq!(
        acc["encryption"],
        serde_json::json!(["AES_GCM_16_256"]),
        "{context}"
    );
    assert_eq!(acc["integrity"], serde_json::json!([]), "{context}");
    assert_eq!(
        acc["prf"],
        serde_json::json!(["PRF_HMAC_SHA2_256", "PRF_HMAC_SHA2_384"]),
        "{context}"
    );
    assert_eq!(acc["dh_groups"], serde_json::json!([14, 20]), "{context}");
    assert_eq!(
        v["phase1"]["unknown"]["encryption"],
        serde_json::json!([]),
        "{context}"
    );
    assert!(v["phase2"].as_str().unwrap().contains("not probed"));
    let _ = std::fs::remove_dir_all(&dir);
}
