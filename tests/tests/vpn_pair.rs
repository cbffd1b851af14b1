//! Harness self-test for issue 6's end-to-end interop lab: strongSwan + BIRD
//! as the customer gateway against strongSwan + BIRD as AWS, in the full
//! topology (on-prem host, CGW, internet, AWS's two tunnel endpoints, VPC
//! host). Proves the lab our daemons will be dropped into: both tunnels,
//! BGP on both, routes both ways, ping and a TCP transfer on-prem -> VPC,
//! failover to tunnel 2 when tunnel 1's path is cut (timed), and what
//! strongSwan reports for a wrong PSK and a wrong DH group.
//!
//! The tests share the two cores with everything else: they run one at a
//! time (a lock), so the times they print mean something.

use cgw_sim_tests::cgw_peer::{self, RealCgwOptions, WRONG_DH_IKE_PROPOSAL};
use cgw_sim_tests::proc;
use cgw_sim_tests::require;
use cgw_sim_tests::strongswan::IkeSa;
use cgw_sim_tests::vpn_lab::{AwsPlayer, CgwPlayer, VpnLab};
use cgw_sim_tests::vpn_topology::{AWS_OUTSIDE, CGW_OUTSIDE, ONPREM_PREFIX, VPC_HOST, VPC_PREFIX};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn preflight() {
    require::strongswan();
    require::bird();
    require::ping();
    require::nft();
}

/// Lines of `log` containing any of `needles` (for the report and asserts).
fn lines_with(log: &str, needles: &[&str]) -> Vec<String> {
    log.lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

fn namespaces_gone(names: &[String]) {
    let left = proc::run(&["ip", "netns", "list"], &[], Duration::from_secs(10)).stdout;
    for n in names {
        assert!(
            !left.contains(n.as_str()),
            "namespace {n} left behind: {left}"
        );
    }
}

fn lab_namespaces(lab: &VpnLab) -> Vec<String> {
    let t = &lab.topo;
    let mut v: Vec<String> = [&t.onprem, &t.cgw, &t.inet, &t.aws, &t.vpc]
        .iter()
        .map(|n| n.name().to_string())
        .collect();
    for eps in [&t.cgw_endpoints, &t.aws_endpoints].into_iter().flatten() {
        v.extend(eps.iter().map(|e| e.ns.name().to_string()));
    }
    v
}

fn check_sa(side: &str, n: usize, sa: &IkeSa, cgw: bool) {
    let ctx = format!("{side} tunnel {}: {sa:#?}", n + 1);
    assert_eq!(sa.version, 2, "{ctx}");
    assert_eq!(sa.initiator, cgw, "{ctx}");
    assert_eq!(sa.encr_alg, "AES_CBC", "{ctx}");
    assert_eq!(sa.encr_keysize, Some(128), "{ctx}");
    assert_eq!(sa.integ_alg.as_deref(), Some("HMAC_SHA2_256_128"), "{ctx}");
    assert_eq!(sa.dh_group, "MODP_2048", "{ctx}");
    assert_eq!(sa.local_port, 4500, "{ctx}: IKE must float to 4500");
    assert_eq!(sa.remote_port, 4500, "{ctx}");
    let (peer, id) = if cgw {
        (AWS_OUTSIDE[n].to_string(), AWS_OUTSIDE[n].to_string())
    } else {
        // AWS sees the customer gateway's public (NAT) address
        (CGW_OUTSIDE.to_string(), CGW_OUTSIDE.to_string())
    };
    assert_eq!(sa.remote_host, peer, "{ctx}");
    assert_eq!(sa.raw.get("remote-id"), Some(&id), "{ctx}");
    let c = sa
        .children
        .iter()
        .find(|c| c.state == "INSTALLED")
        .unwrap_or_else(|| panic!("no INSTALLED child: {ctx}"));
    assert!(c.encap, "{ctx}: ESP must be UDP-encapsulated");
    assert_eq!(c.encr_alg, "AES_GCM_16", "{ctx}");
    assert_eq!(c.local_ts, vec!["0.0.0.0/0".to_string()], "{ctx}");
    assert_eq!(c.remote_ts, vec!["0.0.0.0/0".to_string()], "{ctx}");
}

#[test]
fn vpn_pair_tunnels_bgp_traffic_failover() {
    preflight();
    let _serial = serial();
    let names;
    {
        let t0 = Instant::now();
        let lab = VpnLab::new(
            CgwPlayer::StrongSwan(RealCgwOptions::default()),
            AwsPlayer::StrongSwan(Default::default()),
        );
        names = lab_namespaces(&lab);
        assert_eq!(names.len(), 9, "{names:?}");
        let built = t0.elapsed();
        let (cgw, aws) = (lab.real_cgw(), lab.real_aws());

        // both tunnels, initiated by the CGW
        let t_ike = Instant::now();
        for n in [1, 2] {
            if let Err(e) = cgw_peer::initiate(cgw, n) {
                panic!("initiating tunnel {n}: {e}\n{}", lab.failure_context());
            }
        }
        let c_sas = cgw.wait_tunnels(Duration::from_secs(10));
        let a_sas = aws.wait_tunnels(Duration::from_secs(10));
        let tunnels_up = t_ike.elapsed();
        for n in 0..2 {
            check_sa("cgw", n, &c_sas[n], true);
            check_sa("aws", n, &a_sas[n], false);
            assert_eq!(c_sas[n].initiator_spi, a_sas[n].initiator_spi);
        }

        // eBGP over both tunnels, iBGP to both routers
        let t_bgp = Instant::now();
        for (side, s) in [("cgw", cgw), ("aws", aws)] {
            for st in s.wait_bgp(Duration::from_secs(30)) {
                assert_eq!(st.hold_time, Some(30), "{side}: {st:#?}");
                assert_eq!(st.keepalive_time, Some(10), "{side}: {st:#?}");
            }
        }
        let bgp_up = t_bgp.elapsed();
        cgw.wait_ibgp(Duration::from_secs(15));
        aws.wait_ibgp(Duration::from_secs(15));

        // routes: each endpoint learned the far prefix into ipsec0, each
        // router prefers tunnel 1
        let t_routes = Instant::now();
        for n in [1, 2] {
            let r = cgw.wait_endpoint_route(n, VPC_PREFIX, Duration::from_secs(10));
            assert!(r.contains("proto bird"), "{r}");
            aws.wait_endpoint_route(n, ONPREM_PREFIX, Duration::from_secs(10));
            let learned = cgw.endpoint(n).bird.bgp_routes();
            assert!(
                learned
                    .iter()
                    .any(|r| r.prefix == VPC_PREFIX && r.as_path == vec![64512]),
                "cgw tunnel {n} BIRD routes: {learned:#?}"
            );
            let learned = aws.endpoint(n).bird.bgp_routes();
            assert!(
                learned
                    .iter()
                    .any(|r| r.prefix == ONPREM_PREFIX && r.as_path == vec![65000]),
                "aws tunnel {n} BIRD routes: {learned:#?}"
            );
        }
        cgw.wait_router_path(VPC_PREFIX, 1, Duration::from_secs(10));
        aws.wait_router_path(ONPREM_PREFIX, 1, Duration::from_secs(10));
        let routes_up = t_routes.elapsed();

        // ping through tunnel 1
        let before = (cgw.child_packets(1), aws.child_packets(1));
        let p = lab.topo.ping_vpc(5);
        assert!(
            p.success(),
            "ping on-prem -> {VPC_HOST} failed: {p}\n{}",
            lab.failure_context()
        );
        let after = (cgw.child_packets(1), aws.child_packets(1));
        assert!(
            after.0 .0 >= before.0 .0 + 5 && after.0 .1 >= before.0 .1 + 5,
            "the pings did not cross tunnel 1 (cgw child packets out/in {:?} -> {:?})",
            before.0,
            after.0
        );

        // a TCP transfer through the tunnel, every byte checked
        let bytes = 4 << 20;
        let tcp = lab
            .topo
            .tcp_onprem_to_vpc(bytes, 5201, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("TCP transfer failed: {e}\n{}", lab.failure_context()));
        assert_eq!(tcp.bytes, bytes);

        // failover: tunnel 1's path cut in `inet`; BGP hold timers (30 s)
        // move both routers to tunnel 2
        let t2_before = cgw.child_packets(2);
        let failover = lab
            .topo
            .measure_failover(1, Duration::from_secs(50))
            .unwrap_or_else(|e| panic!("{e}\n{}", lab.failure_context()));
        cgw.wait_router_path(VPC_PREFIX, 2, Duration::from_secs(5));
        aws.wait_router_path(ONPREM_PREFIX, 2, Duration::from_secs(5));
        let p = lab.topo.ping_vpc(3);
        assert!(p.success(), "ping after failover: {p}");
        let t2_after = cgw.child_packets(2);
        assert!(
            t2_after.0 >= t2_before.0 + 3 && t2_after.1 >= t2_before.1 + 3,
            "traffic did not move to tunnel 2: {t2_before:?} -> {t2_after:?}"
        );
        let s1 = cgw.endpoint(1).bgp_state();
        assert!(!s1.is_established(), "tunnel 1 BGP still up: {s1:#?}");

        // restore: tunnel 1's BGP comes back (IKE SA kept alive through DPD
        // retransmits) and both routers move back to it
        let t_back = Instant::now();
        lab.topo.restore_tunnel(1);
        cgw.endpoint(1)
            .bird
            .wait_established(Duration::from_secs(30));
        cgw.wait_router_path(VPC_PREFIX, 1, Duration::from_secs(10));
        aws.wait_router_path(ONPREM_PREFIX, 1, Duration::from_secs(10));
        let failback = t_back.elapsed();
        let p = lab.topo.ping_vpc(3);
        assert!(p.success(), "ping after failback: {p}");

        eprintln!(
            "vpn pair figures: lab built (9 namespaces, 4 charons, 6 BIRDs) {built:.1?}; \
             both tunnels ESTABLISHED {tunnels_up:.2?} after initiate; \
             eBGP Established on both {bgp_up:.1?} after the tunnels; \
             routes in all kernels {routes_up:.1?} later; \
             TCP {} bytes in {:.2?} ({:.0} Mbit/s); \
             failover (cut tunnel 1 -> first ping through tunnel 2) {failover:.1?}; \
             failback (restore -> BGP up and routes back on tunnel 1) {failback:.1?}; \
             total {:.1?}",
            tcp.bytes,
            tcp.elapsed,
            tcp.mbit_per_s(),
            t0.elapsed()
        );
    }
    namespaces_gone(&names);
}

/// Start the lab with a misconfigured tunnel 1 on the CGW, initiate it and
/// check that it fails and what each strongSwan logs: `cgw_says` and
/// `aws_says` must all appear in the CGW's and AWS's charon.log; lines with
/// any of `show` are printed. Returns the lab for further checks.
fn refused_tunnel_1(
    what: &str,
    opts: RealCgwOptions,
    cgw_says: &[&str],
    aws_says: &[&str],
    show: &[&str],
) -> VpnLab {
    let lab = VpnLab::new(
        CgwPlayer::StrongSwan(opts),
        AwsPlayer::StrongSwan(Default::default()),
    );
    let (cgw, aws) = (lab.real_cgw(), lab.real_aws());
    let err = cgw_peer::initiate(cgw, 1).expect_err(&format!("tunnel 1 came up with a {what}"));
    let c_log = cgw.endpoint(1).charon.log();
    let a_log = aws.endpoint(1).charon.log();
    eprintln!(
        "{what}, strongSwan as CGW reports:\n  {}\nstrongSwan as AWS reports:\n  {}\nswanctl: {}",
        lines_with(&c_log, show).join("\n  "),
        lines_with(&a_log, show).join("\n  "),
        err.output.stdout.lines().last().unwrap_or("")
    );
    for (side, log, says) in [("CGW", &c_log, cgw_says), ("AWS", &a_log, aws_says)] {
        for s in says {
            assert!(
                log.contains(s),
                "{what}: the {side} side's charon.log lacks {s:?}\n{}",
                lab.failure_context()
            );
        }
    }
    assert!(
        aws.endpoint(1).charon.list_sas().is_empty(),
        "{what}: AWS kept an IKE SA for tunnel 1"
    );
    lab
}

#[test]
fn vpn_pair_wrong_psk() {
    preflight();
    let _serial = serial();
    let lab = refused_tunnel_1(
        "wrong PSK",
        RealCgwOptions::wrong_psk(1),
        &["received AUTHENTICATION_FAILED notify error"],
        &[
            "but MAC mismatched",
            "IKE_AUTH response 1 [ N(AUTH_FAILED) ]",
        ],
        &["AUTHENTICATION_FAILED", "MAC mismatched", "N(AUTH_FAILED)"],
    );
    // tunnel 2 has the right key and is unaffected
    let (cgw, aws) = (lab.real_cgw(), lab.real_aws());
    cgw_peer::initiate(cgw, 2)
        .unwrap_or_else(|e| panic!("tunnel 2: {e}\n{}", lab.failure_context()));
    aws.endpoint(2)
        .charon
        .wait_established(Duration::from_secs(10));
}

#[test]
fn vpn_pair_wrong_dh_group() {
    preflight();
    let _serial = serial();
    let lab = refused_tunnel_1(
        "wrong DH group",
        RealCgwOptions::wrong_dh_group(1),
        &["received NO_PROPOSAL_CHOSEN notify error"],
        &[
            "received proposals unacceptable",
            "IKE_SA_INIT response 0 [ N(NO_PROP) ]",
        ],
        &["NO_PROPOSAL_CHOSEN", "received proposals", "N(NO_PROP)"],
    );
    assert_eq!(
        lab.real_cgw().endpoint(1).charon.config().ike_proposals,
        WRONG_DH_IKE_PROPOSAL
    );
}

/// The slots handed to our daemons: both sides "ours" (no daemon started),
/// the addresses and routes promised to the caller, and the path cut.
#[test]
fn vpn_topology_ours_slots_and_cut() {
    require::netns();
    require::nft();
    require::ping();
    let _serial = serial();
    let names;
    {
        let lab = VpnLab::new(CgwPlayer::Ours, AwsPlayer::Ours);
        names = lab_namespaces(&lab);
        assert_eq!(names.len(), 5, "{names:?}");
        let (cgw, aws) = (lab.ours_cgw(), lab.ours_aws());
        let addrs = |ns: &cgw_sim_tests::Netns, dev: &str| {
            ns.exec_ok(&["ip", "-4", "-o", "addr", "show", "dev", dev])
        };
        let a = addrs(&cgw.ns, cgw.wan_if);
        assert!(a.contains("192.0.2.10/24"), "{a}");
        let a = addrs(&cgw.ns, cgw.lan_if);
        assert!(a.contains("198.18.0.1/24"), "{a}");
        let a = addrs(&aws.ns, aws.wan_if);
        assert!(
            a.contains("198.51.100.10/24") && a.contains("198.51.100.20/24"),
            "{a}"
        );
        let a = addrs(&aws.ns, aws.vpc_if);
        assert!(a.contains("198.19.0.1/24"), "{a}");
        assert_eq!(cgw.tunnels[1].inside.cgw_cidr(), "169.254.20.2/30");
        assert_eq!(aws.tunnels[0].inside.aws_cidr(), "169.254.10.1/30");
        assert_eq!((cgw.asn, aws.asn), (65000, 64512));
        // nothing carries on-prem traffic until a daemon does
        assert!(!lab.topo.ping_vpc(1).success());
        // the cut drops tunnel 1's outside address only, and lifts
        lab.topo.cut_tunnel(1);
        assert!(!cgw.ns.ping(AWS_OUTSIDE[0], 1, None).success());
        assert!(cgw.ns.ping(AWS_OUTSIDE[1], 1, None).success());
        lab.topo.restore_tunnel(1);
        assert!(cgw.ns.ping(AWS_OUTSIDE[0], 1, None).success());
    }
    namespaces_gone(&names);
}

/// Our CGW slot against real AWS: AWS's responders and BIRDs run and wait
/// (passive BGP, nothing established), the CGW namespace reaches both.
#[test]
fn vpn_lab_ours_cgw_against_real_aws() {
    preflight();
    let _serial = serial();
    let lab = VpnLab::new(CgwPlayer::Ours, AwsPlayer::StrongSwan(Default::default()));
    let cgw = lab.ours_cgw();
    assert!(lab.topo.cgw_endpoints.is_none());
    for ep in &lab.real_aws().endpoints {
        assert!(ep.charon.list_sas().is_empty());
        let s = ep.bgp_state();
        assert!(!s.is_established(), "{s:#?}");
        let p = cgw.ns.ping(ep.plan.aws_outside, 1, None);
        assert!(p.success(), "{p}");
    }
}
