//! `cgw-sim lab run --pcap`: tshark opens the simulator's captures with the
//! key files the run wrote, decrypts IKE_AUTH and the ESP-carried pings,
//! and finds nothing malformed. No root or namespace needed (only tshark).

use cgw_sim_tests::lab_capture::LabCapture;
use cgw_sim_tests::tshark;

const HAPPY: &str = "scenarios/happy-path-static.toml";
const NAT: &str = "scenarios/cgw-behind-nat.toml";
/// The CGW's address (its IKE identity) and the hosts of the catalogue.
const CGW: &str = "192.0.2.10";
const ONPREM_HOST: &str = "198.18.0.10";
const VPC_HOST: &str = "198.19.0.10";

/// The CGW's IKE_AUTH requests on `link` show its identity and a PSK AUTH
/// payload, which only the decrypted SK payload holds.
fn assert_ike_auth_decrypted(cap: &LabCapture, link: &str) {
    let rows = cap.fields(
        link,
        "isakmp.exchangetype == 35 && isakmp.flag_i == 1",
        &["isakmp.id.data.ipv4_addr", "isakmp.auth.method"],
    );
    // Two tunnels, one IKE_AUTH request each (cgw-wan carries both).
    assert!(!rows.is_empty(), "{link}: no IKE_AUTH request");
    for r in &rows {
        // Auth method 2: shared key message integrity code.
        assert_eq!(r, &format!("{CGW}|2"), "{link}: IKE_AUTH not decrypted");
    }
    let undecrypted = cap.frames(link, "isakmp.enc.data && !isakmp.enc.decrypted");
    assert!(undecrypted.is_empty(), "{link}: {undecrypted:#?}");
}

/// Every ESP packet on `link` decrypts to the on-prem host's pings and the
/// VPC host's replies.
fn assert_esp_carries_the_pings(cap: &LabCapture, link: &str) -> tshark::Dissection {
    let d = cap.check_no_malformed(link);
    assert!(d.esp > 0, "{link}: no ESP: {d:?}");
    assert_eq!(d.esp_icmp, d.esp, "{link}: ESP not all decrypted: {d:?}");
    let requests = cap.fields(
        link,
        "esp && icmp.type == 8",
        &["ip.src", "ip.dst", "icmp.seq"],
    );
    assert!(!requests.is_empty(), "{link}: no echo request inside ESP");
    // ip.src/ip.dst list the outer then the inner header.
    for r in &requests {
        let cols: Vec<&str> = r.split('|').collect();
        assert!(
            cols[0].ends_with(&format!(",{ONPREM_HOST}"))
                && cols[1].ends_with(&format!(",{VPC_HOST}")),
            "{link}: inner echo request {r}"
        );
    }
    let replies = cap.frames(
        link,
        &format!("esp && icmp.type == 0 && ip.src == {VPC_HOST}"),
    );
    assert!(!replies.is_empty(), "{link}: no echo reply inside ESP");
    d
}

#[test]
fn happy_path_capture_decrypts_ike_auth_and_esp() {
    let cap = LabCapture::run(HAPPY, None);
    assert!(cap.report.passed, "{}", cap.report);
    for link in ["cgw-wan", "aws1-wan", "aws2-wan", "onprem-lan", "vpc-lan"] {
        cap.check_no_malformed(link);
    }
    assert_ike_auth_decrypted(&cap, "cgw-wan");
    assert_ike_auth_decrypted(&cap, "aws1-wan");
    let d = assert_esp_carries_the_pings(&cap, "cgw-wan");
    // No NAT: raw ESP (IP protocol 50), IKE on UDP 500.
    assert_eq!(d.udpencap, 0, "{d:?}");
    assert!(cap.frames("cgw-wan", "esp && udp").is_empty());
    assert_esp_carries_the_pings(&cap, "aws1-wan");
    // The LAN links carry the same pings in the clear.
    let lan = cap.frames(
        "onprem-lan",
        &format!("icmp.type == 8 && ip.dst == {VPC_HOST}"),
    );
    assert!(!lan.is_empty());
}

#[test]
fn behind_a_nat_udp_encapsulated_esp_decrypts_on_every_wan_link() {
    let cap = LabCapture::run(NAT, None);
    assert!(cap.report.passed, "{}", cap.report);
    for link in ["cgw-wan", "nat-wan", "aws1-wan", "aws2-wan"] {
        cap.check_no_malformed(link);
        assert_ike_auth_decrypted(&cap, link);
    }
    // Past the NAT the CGW is its public address; ESP rides UDP 4500.
    for link in ["cgw-wan", "nat-wan", "aws1-wan"] {
        let d = assert_esp_carries_the_pings(&cap, link);
        assert!(d.udpencap >= d.esp, "{link}: ESP not in UDP: {d:?}");
        let in_4500 = cap.frames(link, "udp.port == 4500 && esp && icmp");
        assert_eq!(in_4500.len(), d.esp, "{link}");
    }
    let outer = cap.fields("aws1-wan", "esp && icmp.type == 8", &["ip.src"]);
    assert!(
        outer.iter().all(|s| s.starts_with("203.0.113.1,")),
        "outer source past the NAT: {outer:?}"
    );
}

#[test]
fn without_the_key_files_nothing_decrypts() {
    // The check above fails for lack of keys, not by accident: the same
    // capture read with an empty configuration shows encrypted payloads.
    let cap = LabCapture::run(HAPPY, None);
    let d = tshark::dissect(&cap.pcap("cgw-wan"), None);
    assert!(d.esp > 0 && d.isakmp > 0, "{d:?}");
    assert_eq!(d.esp_icmp, 0, "{d:?}");
}

/// BGP runs over TCP inside the tunnels: on the CGW's WAN link, with the
/// run's keys, tshark decrypts the ESP and finds the four OPENs (the CGW's
/// AS 65000 on both tunnels' inside addresses, AWS's 64512 with hold time
/// 30), the UPDATEs carrying the on-prem and VPC prefixes, and no malformed
/// frame.
#[test]
fn bgp_open_and_updates_decrypt_inside_esp() {
    let cap = LabCapture::run("scenarios/happy-path-bgp.toml", None);
    cap.check_no_malformed("cgw-wan");
    let mut opens = cap.fields(
        "cgw-wan",
        "esp && bgp.type == 1",
        &["ip.src", "bgp.open.myas", "bgp.open.holdtime"],
    );
    opens.sort();
    assert_eq!(
        opens,
        vec![
            format!("{CGW},169.254.10.2|65000|30"),
            format!("{CGW},169.254.11.2|65000|30"),
            "198.51.100.10,169.254.10.1|64512|30".to_string(),
            "198.51.100.20,169.254.11.1|64512|30".to_string(),
        ],
        "BGP OPENs inside ESP"
    );
    let prefixes = cap.fields(
        "cgw-wan",
        "esp && bgp.type == 2",
        &["bgp.mp_reach_nlri_ipv4_prefix", "bgp.nlri_prefix"],
    );
    let all = prefixes.join(";");
    assert!(all.contains("198.18.0.0"), "on-prem prefix not sent: {all}");
    assert!(all.contains("198.19.0.0"), "VPC prefix not received: {all}");
    // Nothing of BGP travels outside ESP.
    let clear = cap.frames("cgw-wan", "tcp && !esp");
    assert!(clear.is_empty(), "TCP outside the tunnel: {clear:#?}");
}
