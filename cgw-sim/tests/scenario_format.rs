//! The scenario file format: the examples load, broken files give precise
//! errors, durations parse, defaults apply, and no input panics the loader.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use cgw_sim::aws::{DpdTimeoutAction, GatewayKind, IkeVersion, StartupAction, TunnelOptions};
use cgw_sim::scenario::*;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn prefix(s: &str) -> Prefix {
    s.parse().expect("valid prefix")
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn every_example_loads() {
    let files = examples();
    assert!(
        files.len() >= 3,
        "expected the example scenarios, found {files:?}"
    );
    for file in files {
        let scenario = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name");
        assert_eq!(scenario.name, stem, "scenario.name matches the file name");
        assert!(!scenario.summary.is_empty(), "{stem} has a summary");
        assert!(
            !scenario.expectations.is_empty(),
            "{stem} expects something"
        );
    }
}

#[test]
fn wrong_dh_group_example_model() {
    let s = Scenario::load(scenarios_dir().join("wrong-dh-group.toml")).expect("loads");
    assert_eq!(s.aws.tunnel1.phase1_dh_groups, Some(vec![14, 19, 20]));
    assert_eq!(s.aws.tunnel2, AwsTunnelOptions::default());
    assert_eq!(s.cgw.tunnel1.ike.dh_groups, vec![5]);
    assert_eq!(s.cgw.tunnel2.ike.dh_groups, vec![14]);
    assert_eq!(
        s.expectations[0],
        Expectation {
            timing: Timing::Within(secs(60)),
            assertion: Assertion::Phase {
                tunnel: TunnelId::ONE,
                phase: Phase::One,
                state: SaState::Failed,
                cause: Some(Cause::NoProposalChosen),
            },
        }
    );
    assert_eq!(
        s.expectations[1].assertion,
        Assertion::Diagnosis {
            tunnel: Some(TunnelId::ONE),
            cause: Some("no-proposal-chosen".into()),
            contains: Some("DH group 5".into())
        }
    );
    assert_eq!(
        s.expectations[3].assertion,
        Assertion::Notification(Notification::NonRedundant)
    );
    assert_eq!(
        s.expectations[4].assertion,
        Assertion::Ping {
            from: "onprem".into(),
            to: "vpc".into(),
            size: None,
            df: false,
            source: None,
            result: PingResult::Reply
        }
    );
}

#[test]
fn firewall_example_model() {
    let s = Scenario::load(scenarios_dir().join("firewall-drops-udp500.toml")).expect("loads");
    let filter = Filter {
        protocol: Some(Protocol::Udp),
        port: Some(500),
        address: None,
        link: Some("cgw-wan".into()),
    };
    assert_eq!(
        s.faults,
        vec![
            Fault {
                at: Duration::ZERO,
                action: FaultAction::Block(filter.clone())
            },
            Fault {
                at: secs(120),
                action: FaultAction::Unblock(filter)
            },
        ]
    );
    assert_eq!(s.expectations[0].timing, Timing::At(secs(90)));
}

#[test]
fn defaults_are_applied() {
    let s = Scenario::from_toml("[scenario]\nname = \"minimal\"\n", "minimal.toml").expect("loads");
    assert_eq!(s.name, "minimal");
    assert_eq!(s.summary, "");
    assert_eq!(s.seed, 1);
    let t = &s.topology;
    assert_eq!(t.cgw_address, Ipv4Addr::new(192, 0, 2, 10));
    assert_eq!(t.aws_tunnel1_address, Ipv4Addr::new(198, 51, 100, 10));
    assert_eq!(t.aws_tunnel2_address, Ipv4Addr::new(198, 51, 100, 20));
    assert_eq!(t.onprem_cidr, prefix("198.18.0.0/24"));
    assert_eq!(t.onprem_host, Ipv4Addr::new(198, 18, 0, 10));
    assert_eq!(t.vpc_cidr, prefix("198.19.0.0/16"));
    assert_eq!(t.vpc_host, Ipv4Addr::new(198, 19, 0, 10));
    assert_eq!(t.nat, None);
    assert_eq!(
        t.link_names(),
        ["onprem-lan", "cgw-wan", "aws1-wan", "aws2-wan", "vpc-lan"]
    );
    assert_eq!(s.aws, Aws::default());
    assert_eq!(s.aws.gateway, GatewayKind::Vgw);
    assert_eq!(s.aws.routing, Routing::Bgp);
    assert_eq!(s.aws.asn, 64512);
    assert!(s.aws.route_propagation);
    assert_eq!(s.aws.tunnel1, AwsTunnelOptions::default());
    assert_eq!(
        s.aws.tunnel1.phase1_dh_groups, None,
        "AWS options stay unset"
    );
    for id in [TunnelId::ONE, TunnelId::TWO] {
        let ike = &s.cgw.tunnel(id).ike;
        assert!(s.cgw.tunnel(id).enabled);
        assert_eq!(ike.version, 2);
        assert_eq!(ike.encryption, ["AES128"]);
        assert_eq!(ike.integrity, ["SHA2-256"]);
        assert_eq!(ike.dh_groups, [14]);
        assert_eq!(ike.phase2_dh_groups, [14]);
        assert_eq!(ike.phase1_lifetime, secs(28_800));
        assert_eq!(ike.phase2_lifetime, secs(3_600));
        assert_eq!(ike.role, Role::Initiator);
        assert_eq!(ike.psk, None);
        assert_eq!(ike.dpd, None);
        assert_eq!(ike.local_selectors, [prefix("0.0.0.0/0")]);
    }
    assert_eq!(s.cgw.bgp.asn, 65000);
    assert_eq!(s.cgw.bgp.hold_time, secs(30));
    assert_eq!(
        s.cgw.bgp.announce,
        [prefix("198.18.0.0/24")],
        "announce defaults to the on-prem LAN"
    );
    assert_eq!(
        s.cgw.static_routes,
        [prefix("198.19.0.0/16")],
        "static routes default to the VPC"
    );
    assert!(s.faults.is_empty() && s.expectations.is_empty());
    assert_eq!(s.traffic.ping_interval, Some(secs(1)));
    assert_eq!(s.cgw.tunnel1.ike.idle_timeout, None);
}

#[test]
fn traffic_off_and_idle_timeout() {
    let s = Scenario::from_toml(
        "[scenario]\nname = \"x\"\n[traffic]\nping_interval = \"off\"\n[cgw.tunnel1.ike]\nidle_timeout = \"2m\"\n",
        "f.toml",
    )
    .unwrap();
    assert_eq!(s.traffic.ping_interval, None);
    assert_eq!(s.cgw.tunnel1.ike.idle_timeout, Some(secs(120)));
    assert_eq!(s.cgw.tunnel2.ike.idle_timeout, None);
    let s = Scenario::from_toml(
        "[scenario]\nname = \"x\"\n[traffic]\nping_interval = 5\n",
        "f.toml",
    )
    .unwrap();
    assert_eq!(s.traffic.ping_interval, Some(secs(5)));
}

#[test]
fn nat_adds_a_node_and_a_link() {
    let s = Scenario::from_toml(
        "[scenario]\nname = \"n\"\n[topology.nat]\n[[fault]]\nat = \"1m\"\nlink_down = \"nat-wan\"\n[[fault]]\nat = \"2m\"\nrestart = \"nat\"\n",
        "n.toml",
    )
    .expect("loads");
    let nat = s.topology.nat.as_ref().expect("nat");
    assert_eq!(nat.public_address, Ipv4Addr::new(203, 0, 113, 1));
    assert_eq!(nat.mapping_timeout, secs(30));
    assert!(s.topology.link_names().contains(&"nat-wan"));
    // Without NAT, the same link is unknown.
    let e = Scenario::from_toml(
        "[scenario]\nname = \"n\"\n[[fault]]\nat = \"1m\"\nlink_down = \"nat-wan\"\n",
        "n.toml",
    )
    .expect_err("no nat");
    assert_eq!(
        e.to_string(),
        "n.toml:5:1: fault[1].link_down: unknown link \"nat-wan\"; links are: onprem-lan, cgw-wan, aws1-wan, aws2-wan, vpc-lan"
    );
}

/// Every fault action and every assertion, in one file.
#[test]
fn every_action_and_assertion() {
    let text = r#"
[scenario]
name = "all"
summary = "every key"
seed = 42

[topology]
cgw_address = "192.0.2.11"
links.cgw-wan = { latency = "20ms", jitter = "2ms", loss = 0.5, mtu = 1400 }

[aws]
gateway = "tgw"
routing = "static"
static_routes = ["198.18.0.0/24"]
route_propagation = false

[aws.tunnel2]
ike_versions = ["ikev2"]
phase1_encryption = ["AES256-GCM-16"]
phase1_integrity = ["SHA2-384"]
phase1_dh_groups = [20]
phase2_encryption = ["AES256"]
phase2_integrity = ["SHA2-512"]
phase2_dh_groups = [21]
phase1_lifetime_seconds = 3600
phase2_lifetime_seconds = 900
rekey_margin_seconds = 270
rekey_fuzz_percent = 50
replay_window_packets = 2048
dpd_timeout_seconds = 40
dpd_timeout_action = "restart"
startup_action = "start"
inside_cidr = "169.254.10.0/30"
psk = "secret_2"

[cgw.tunnel1.ike]
version = 1
psk = "other"
role = "responder-only"
source_address = "192.0.2.12"
dpd = { interval = "5s", timeout = "15s", action = "clear" }
remote_selectors = ["198.19.0.0/16"]

[cgw.tunnel2]
enabled = false

[cgw.bgp]
asn = 65001
peer_asn = 64513
hold_time = 90

[[cgw.probe]]
kind = "tcp"
port = 22
interval = "10s"

[[fault]]
at = "1s"
set_cgw_source_address = "192.0.2.99"
[[fault]]
at = "2s"
block = { protocol = "esp" }
[[fault]]
at = "3s"
unblock = { address = "198.51.100.10" }
[[fault]]
at = "4s"
link_down = "aws1-wan"
[[fault]]
at = "5s"
link_up = "aws1-wan"
[[fault]]
at = "6s"
impair = { link = "cgw-wan", mtu = 1300 }
[[fault]]
at = "7s"
replace_endpoint = 2
[[fault]]
at = "8s"
restart = "aws1"
[[fault]]
at = "9s"
announce_prefixes = { count = 101 }
[[fault]]
at = "10s"
drop_ike_message = { n = 1, tunnel = 2, from = "aws" }
[[fault]]
at = "11s"
mangle_ike_message = { n = 3 }
[[fault]]
at = "12s"
set_lifetime = { side = "cgw", tunnel = 1, phase2 = "10m" }

[[expect]]
within = "1m"
tunnel = 2
phase1 = "down"
cause = "dpd-timeout"
[[expect]]
at = "1m"
tunnel = 1
bgp = "active"
[[expect]]
after = "1m"
vpc_route_table = { lacks = "198.18.0.0/24" }
[[expect]]
within = "1m"
cgw_routes = { contains = "198.19.0.0/16" }
[[expect]]
within = "1m"
ping = { from = "vpc", to = "onprem", size = 1400, df = true }
result = "timeout"
[[expect]]
within = "1m"
tcp = { from = "onprem", to = "vpc", port = 22 }
result = "refused"
[[expect]]
within = "1m"
aws_log = { tunnel = 2, details = "AWS tunnel received DELETE for IKE_SA from CGW" }
[[expect]]
within = "1m"
notification = "endpoint-replaced"
[[expect]]
within = "1h30m"
measure = "failover_time"
below = "45s"
[[expect]]
within = "1m"
diagnosis = { cause = "authentication-failed", contains = "PSK" }
"#;
    let s = Scenario::from_toml(text, "all.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.seed, 42);
    assert_eq!(s.topology.cgw_address, Ipv4Addr::new(192, 0, 2, 11));
    assert_eq!(
        s.topology.links["cgw-wan"],
        LinkSettings {
            latency: Some(Duration::from_millis(20)),
            jitter: Some(Duration::from_millis(2)),
            loss: Some(0.5),
            mtu: Some(1400)
        }
    );
    assert_eq!(s.aws.gateway, GatewayKind::Tgw);
    assert_eq!(s.aws.routing, Routing::Static);
    assert!(!s.aws.route_propagation);
    let t2 = s.aws.tunnel(TunnelId::TWO);
    assert_eq!(t2.phase1_lifetime_seconds, Some(3600));
    assert_eq!(t2.phase2_lifetime_seconds, Some(900));
    assert_eq!(t2.rekey_margin_seconds, Some(270));
    assert_eq!(t2.rekey_fuzz_percent, Some(50));
    assert_eq!(t2.replay_window_packets, Some(2048));
    assert_eq!(t2.dpd_timeout_action, Some(DpdTimeoutAction::Restart));
    assert_eq!(t2.dpd_timeout_seconds, Some(40));
    assert_eq!(t2.startup_action, Some(StartupAction::Start));
    assert_eq!(
        t2.inside_cidr.map(|c| c.to_string()),
        Some("169.254.10.0/30".to_owned())
    );
    assert_eq!(t2.psk.as_deref(), Some("secret_2"));
    assert_eq!(t2.ike_versions, Some(vec![IkeVersion::Ikev2]));
    let resolved = t2.resolve();
    assert_eq!(resolved.phase1_lifetime_seconds, 3600);
    assert_eq!(resolved.phase1_dh_groups, [20]);
    assert_eq!(s.aws.tunnel1.resolve(), TunnelOptions::default());
    let vpn = s.vpn_connection();
    assert_eq!(vpn.tunnels[1], resolved);
    assert_eq!(vpn.cgw_ip, Ipv4Addr::new(192, 0, 2, 11));
    assert_eq!(vpn.cgw_asn, 65001);
    assert_eq!(vpn.gateway, GatewayKind::Tgw);
    let ike = &s.cgw.tunnel1.ike;
    assert_eq!(ike.version, 1);
    assert_eq!(ike.role, Role::ResponderOnly);
    assert_eq!(
        ike.source_address,
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12)))
    );
    assert_eq!(
        ike.dpd,
        Some(Dpd {
            interval: secs(5),
            timeout: secs(15),
            action: DpdTimeoutAction::Clear
        })
    );
    assert!(!s.cgw.tunnel2.enabled);
    assert_eq!(s.cgw.bgp.peer_asn, Some(64513));
    assert_eq!(s.cgw.bgp.hold_time, secs(90));
    assert_eq!(s.cgw.probes.len(), 1);
    let p: &Probe = &s.cgw.probes[0];
    assert_eq!(
        (p.kind, p.from.as_str(), p.to.as_str(), p.port, p.interval),
        (ProbeKind::Tcp, "onprem", "vpc", Some(22), secs(10))
    );
    assert!(p.name.is_none() && p.timeout.is_none() && p.codec.is_none());
    assert!(p.reactions.is_empty());
    let actions: Vec<&FaultAction> = s.faults.iter().map(|f| &f.action).collect();
    assert_eq!(actions.len(), 12);
    assert_eq!(s.faults[11].at, secs(12));
    assert!(matches!(actions[0], FaultAction::SetCgwSourceAddress(_)));
    assert!(matches!(
        actions[1],
        FaultAction::Block(Filter {
            protocol: Some(Protocol::Esp),
            ..
        })
    ));
    assert!(matches!(
        actions[2],
        FaultAction::Unblock(Filter {
            address: Some(_),
            ..
        })
    ));
    assert_eq!(actions[3], &FaultAction::LinkDown("aws1-wan".into()));
    assert_eq!(actions[4], &FaultAction::LinkUp("aws1-wan".into()));
    assert!(matches!(
        actions[5],
        FaultAction::Impair(Impairment {
            mtu: Some(1300),
            ..
        })
    ));
    assert_eq!(actions[6], &FaultAction::ReplaceEndpoint(TunnelId::TWO));
    assert_eq!(actions[7], &FaultAction::Restart("aws1".into()));
    assert_eq!(
        actions[8],
        &FaultAction::AnnouncePrefixes(AnnouncePrefixes {
            count: 101,
            tunnel: None
        })
    );
    assert_eq!(
        actions[9],
        &FaultAction::DropIkeMessage(IkeMessageFault {
            n: 1,
            tunnel: Some(TunnelId::TWO),
            from: Some(Side::Aws)
        })
    );
    assert_eq!(
        actions[10],
        &FaultAction::MangleIkeMessage(IkeMessageFault {
            n: 3,
            tunnel: None,
            from: None
        })
    );
    assert_eq!(
        actions[11],
        &FaultAction::SetLifetime(SetLifetime {
            side: Side::Cgw,
            tunnel: Some(TunnelId::ONE),
            phase1: None,
            phase2: Some(secs(600))
        })
    );
    let a: Vec<&Assertion> = s.expectations.iter().map(|e| &e.assertion).collect();
    assert_eq!(s.expectations[1].timing, Timing::At(secs(60)));
    assert_eq!(s.expectations[2].timing, Timing::After(secs(60)));
    assert_eq!(s.expectations[8].timing, Timing::Within(secs(5400)));
    assert_eq!(
        a[0],
        &Assertion::Phase {
            tunnel: TunnelId::TWO,
            phase: Phase::One,
            state: SaState::Down,
            cause: Some(Cause::DpdTimeout)
        }
    );
    assert_eq!(
        a[1],
        &Assertion::Bgp {
            tunnel: TunnelId::ONE,
            state: BgpState::Active
        }
    );
    assert_eq!(
        a[2],
        &Assertion::VpcRouteTable(RouteCheck::Lacks(prefix("198.18.0.0/24")))
    );
    assert_eq!(
        a[3],
        &Assertion::CgwRoutes(RouteCheck::Contains {
            prefix: prefix("198.19.0.0/16"),
            via_tunnel: None
        })
    );
    assert_eq!(
        a[4],
        &Assertion::Ping {
            from: "vpc".into(),
            to: "onprem".into(),
            size: Some(1400),
            df: true,
            source: None,
            result: PingResult::Timeout
        }
    );
    assert_eq!(
        a[5],
        &Assertion::Tcp {
            from: "onprem".into(),
            to: "vpc".into(),
            port: 22,
            bytes: None,
            result: TcpResult::Refused
        }
    );
    let fields: BTreeMap<String, String> = [
        ("tunnel", "2"),
        ("details", "AWS tunnel received DELETE for IKE_SA from CGW"),
    ]
    .map(|(k, v)| (k.into(), v.into()))
    .into();
    assert_eq!(a[6], &Assertion::AwsLog(fields));
    assert_eq!(
        a[7],
        &Assertion::Notification(Notification::EndpointReplaced)
    );
    assert_eq!(
        a[8],
        &Assertion::Measure {
            measure: Measure::FailoverTime,
            below: secs(45)
        }
    );
    assert_eq!(
        a[9],
        &Assertion::Diagnosis {
            tunnel: None,
            cause: Some("authentication-failed".into()),
            contains: Some("PSK".into())
        }
    );
}

#[test]
fn durations() {
    let ok = [
        ("0", 0),
        ("500ms", 500),
        ("30s", 30_000),
        ("2m", 120_000),
        ("1h30m", 5_400_000),
        ("48h", 172_800_000),
        ("1m30s", 90_000),
        ("2s500ms", 2_500),
        ("1h0m1s", 3_601_000),
    ];
    for (text, ms) in ok {
        assert_eq!(
            parse_duration(text),
            Ok(Duration::from_millis(ms)),
            "{text}"
        );
    }
    let bad = [
        ("", "invalid duration \"\": empty"),
        (
            "-5s",
            "invalid duration \"-5s\": durations cannot be negative",
        ),
        (
            "30",
            "invalid duration \"30\": missing unit (h, m, s or ms)",
        ),
        (
            "1.5s",
            "invalid duration \"1.5s\": fractions are not allowed; use a smaller unit (\"1500ms\")",
        ),
        (
            "5d",
            "invalid duration \"5d\": unknown unit \"d\" (use h, m, s or ms)",
        ),
        (
            "30m1h",
            "invalid duration \"30m1h\": units must appear once each, largest first",
        ),
        (
            "1s1s",
            "invalid duration \"1s1s\": units must appear once each, largest first",
        ),
        (
            "s",
            "invalid duration \"s\": expected a number followed by h, m, s or ms",
        ),
        (
            "99999999999999999999s",
            "invalid duration \"99999999999999999999s\": number too large",
        ),
        (
            "9999999999999999h",
            "invalid duration \"9999999999999999h\": too large",
        ),
    ];
    for (text, message) in bad {
        assert_eq!(
            parse_duration(text).map_err(|e| e.to_string()),
            Err(message.to_owned()),
            "{text}"
        );
    }
    for ms in [0, 1, 999, 1_000, 61_001, 5_400_000, 172_800_000] {
        let d = Duration::from_millis(ms);
        assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }
    assert_eq!(
        format_duration(Duration::from_millis(5_400_500)),
        "1h30m500ms"
    );
}

/// Broken inputs and the exact error each gives.
#[test]
fn broken_inputs_give_precise_errors() {
    const HEAD: &str = "[scenario]\nname = \"x\"\n";
    let cases: &[(&str, &str)] = &[
        // Wrong types.
        (
            "[cgw.tunnel1.ike]\ndh_groups = \"5\"\n",
            "f.toml:4:1: cgw.tunnel1.ike.dh_groups: expected a list of integers, found a string",
        ),
        (
            "[cgw.tunnel1.ike]\ndh_groups = [5, \"x\"]\n",
            "f.toml:4:17: cgw.tunnel1.ike.dh_groups[2]: expected an integer from 0 to 65535, found a string",
        ),
        (
            "[cgw.tunnel1.ike]\ndh_groups = [70000]\n",
            "f.toml:4:14: cgw.tunnel1.ike.dh_groups[1]: expected an integer from 0 to 65535, found 70000",
        ),
        (
            "[cgw.bgp]\nasn = -1\n",
            "f.toml:4:1: cgw.bgp.asn: expected an integer from 0 to 4294967295, found -1",
        ),
        (
            "[aws.tunnel1]\nphase1_encryption = \"AES128\"\n",
            "f.toml:4:1: aws.tunnel1.phase1_encryption: expected a list, found a string",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\naws_log = { tunnel = [1] }\n",
            "f.toml:5:13: expect[1].aws_log.tunnel: expected a string, number or boolean, found a list",
        ),
        (
            "[aws]\ngateway = \"tgw\"\n[aws.tunnel2]\ninside_ipv6_cidr = \"fd00:a9fe:20::/126\"\n",
            "f.toml:6:1: aws.tunnel2.inside_ipv6_cidr: IPv6 inside tunnels run on a host's TUN devices (`cgw-sim run`, `mock-aws`); the simulated lab carries IPv4 only",
        ),
        // Probes: the SLA engine's rules, at the probe's key.
        (
            "[[cgw.probe]]\nkind = \"icmp-echo\"\ninterval = \"1s\"\n",
            "f.toml:5:1: cgw.probe[1].interval: 1s is below the cycle's span 2s (timeout): a cycle would start before the last one ended",
        ),
        (
            "[[cgw.probe]]\nkind = \"udp-flood\"\n",
            "f.toml:4:1: cgw.probe[1].kind: unknown variant `udp-flood`, expected one of `icmp`, `icmp-echo`, `tcp`, `tcp-connect`, `udp`, `udp-echo`, `udp-jitter`",
        ),
        (
            "[[cgw.probe]]\nkind = \"icmp\"\n[[cgw.probe.reaction]]\non = \"mos\"\nraise = 3.6\n",
            "f.toml:5:13: cgw.probe[1].reaction: reaction 1: MOS needs a udp-jitter operation with a codec",
        ),
        (
            "[[cgw.probe]]\nkind = \"icmp\"\n[[cgw.probe.reaction]]\non = \"rtt\"\ntype = \"consecutive\"\nraise = 3.6\n",
            "f.toml:5:1: cgw.probe[1].reaction[1].n: this type needs `n`",
        ),
        (
            "[[cgw.probe]]\nkind = \"icmp\"\n[[expect]]\nat = \"5s\"\nprobe = { probe = 2, loss_above = 1.0 }\n",
            "f.toml:7:11: expect[1].probe.probe: no probe 2 (1 `[[cgw.probe]]` configured)",
        ),
        (
            "[[cgw.probe]]\nkind = \"icmp\"\n[[expect]]\nat = \"5s\"\nprobe = { probe = 1 }\n",
            "f.toml:7:1: expect[1].probe: give at least one of loss_above/below, rtt_above/below, jitter_above/below, mos_above/below, track, raised",
        ),
        (
            "[aws]\nroute_propagation = \"no\"\n",
            "f.toml:4:1: aws.route_propagation: expected a boolean, found a string",
        ),
        (
            "[topology]\ncgw_address = \"192.0.2.300\"\n",
            "f.toml:4:1: topology.cgw_address: invalid IPv4 address syntax",
        ),
        // Unknown keys, at every level.
        ("foo = 1\n", "f.toml:3:1: scenario.foo: unknown key `foo`, expected one of `name`, `summary`, `seed`, `modes`"),
        ("modes = []\n", "f.toml:3:1: scenario.modes: must name at least one of \"sim\", \"kernel\" (or leave the key out for both)"),
        ("modes = [\"sim\", \"netns\"]\n", "f.toml:3:1: scenario.modes: unknown mode \"netns\": the modes are \"sim\" (the simulated lab) and \"kernel\" (`lab run --netns`)"),
        ("modes = [\"sim\", \"sim\"]\n", "f.toml:3:1: scenario.modes: \"sim\" is listed twice"),
        (
            "[cgw.tunnel3.ike]\ndh_groups = [5]\n",
            "f.toml:3:6: cgw.tunnel3: unknown key `tunnel3`, expected one of `tunnel1`, `tunnel2`, `bgp`, `static_routes`, `probe`",
        ),
        (
            "[aws.tunnel1]\nphase1_dh_group = [14]\n",
            "f.toml:4:1: aws.tunnel1.phase1_dh_group: unknown key `phase1_dh_group`, expected one of `ike_versions`, `phase1_encryption`, `phase2_encryption`, `phase1_integrity`, `phase2_integrity`, `phase1_dh_groups`, `phase2_dh_groups`, `phase1_lifetime_seconds`, `phase2_lifetime_seconds`, `rekey_margin_seconds`, `rekey_fuzz_percent`, `replay_window_packets`, `dpd_timeout_seconds`, `dpd_timeout_action`, `startup_action`, `inside_cidr`, `inside_ipv6_cidr`, `psk`",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nping = { from = \"onprem\", to = \"vpc\", color = 1 }\nresult = \"reply\"\n",
            "f.toml:5:39: expect[1].ping.color: unknown key `color`, expected one of `from`, `to`, `size`, `df`, `source`",
        ),
        (
            "[[fault]]\nat = \"5s\"\nexplode = true\n",
            "f.toml:5:1: fault[1].explode: unknown key `explode`, expected one of `at`, `set_cgw_source_address`, `block`, `unblock`, `link_down`, `link_up`, `impair`, `replace_endpoint`, `restart`, `announce_prefixes`, `drop_ike_message`, `mangle_ike_message`, `set_lifetime`",
        ),
        // Unknown enumeration values.
        ("[aws]\nrouting = \"ospf\"\n", "f.toml:4:1: aws.routing: unknown variant `ospf`, expected `bgp` or `static`"),
        (
            "[[expect]]\nwithin = \"5s\"\ntunnel = 1\nphase1 = \"failed\"\ncause = \"bad-luck\"\n",
            "f.toml:7:1: expect[1].cause: unknown variant `bad-luck`, expected one of `no-proposal-chosen`, `invalid-ke-payload`, `authentication-failed`, `ts-unacceptable`, `no-response`, `dpd-timeout`, `peer-deleted`, `lifetime-expired`, `invalid-syntax`, `ike-version-mismatch`, `idle-timeout`",
        ),
        (
            "[cgw.tunnel1.ike]\nencryption = [\"AES128\", \"ROT13\"]\n",
            "f.toml:4:25: cgw.tunnel1.ike.encryption[2]: unknown name \"ROT13\"; expected one of: AES128, AES256, AES128-GCM-16, AES256-GCM-16, AES192, 3DES, DES",
        ),
        // Impossible values.
        (
            "[traffic]\nping_interval = \"500ms\"\n",
            "f.toml:4:1: traffic.ping_interval: a ping interval is whole seconds, at least 1s, or \"off\"; found 500ms",
        ),
        (
            "[traffic]\nping_interval = \"never\"\n",
            "f.toml:4:1: traffic.ping_interval: invalid duration \"never\": expected a number followed by h, m, s or ms",
        ),
        (
            "[traffic]\nping_interval = true\n",
            "f.toml:4:1: traffic.ping_interval: expected a duration such as \"1s\" or \"5s\", or \"off\", found a boolean",
        ),
        (
            "[traffic]\npings = \"off\"\n",
            "f.toml:4:1: traffic.pings: unknown key `pings`, expected `ping_interval`",
        ),
        (
            "[cgw.tunnel2.ike]\nidle_timeout = \"0\"\n",
            "f.toml:4:1: cgw.tunnel2.ike.idle_timeout: an idle timeout is at least 1s",
        ),
        (
            "[[fault]]\nat = \"-5s\"\nlink_down = \"cgw-wan\"\n",
            "f.toml:4:1: fault[1].at: invalid duration \"-5s\": durations cannot be negative",
        ),
        (
            "[[fault]]\nat = -5\nlink_down = \"cgw-wan\"\n",
            "f.toml:4:1: fault[1].at: invalid duration -5: durations cannot be negative",
        ),
        (
            "[[fault]]\nat = \"5s\"\nlink_down = \"nowhere\"\n",
            "f.toml:5:1: fault[1].link_down: unknown link \"nowhere\"; links are: onprem-lan, cgw-wan, aws1-wan, aws2-wan, vpc-lan",
        ),
        (
            "[[fault]]\nat = \"5s\"\nimpair = { link = \"cgw-wan\", loss = 150.0 }\n",
            "f.toml:5:30: fault[1].impair.loss: loss is a percentage from 0 to 100, found 150",
        ),
        (
            "[[fault]]\nat = \"5s\"\nrestart = \"router9\"\n",
            "f.toml:5:1: fault[1].restart: unknown node \"router9\"; nodes are: onprem, cgw, internet, aws1, aws2, vpc",
        ),
        (
            "[[fault]]\nat = \"5s\"\nreplace_endpoint = 3\n",
            "f.toml:5:1: fault[1].replace_endpoint: expected a tunnel number, 1 or 2, found 3",
        ),
        (
            "[[fault]]\nat = \"5s\"\nblock = { protocol = \"esp\", port = 500 }\n",
            "f.toml:5:29: fault[1].block.port: `port` needs `protocol = \"udp\"`",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\ntunnel = 3\nphase1 = \"established\"\n",
            "f.toml:5:1: expect[1].tunnel: expected a tunnel number, 1 or 2, found 3",
        ),
        (
            "[topology.links.wan0]\nmtu = 1400\n",
            "f.toml:3:17: topology.links.wan0: unknown link \"wan0\"; links are: onprem-lan, cgw-wan, aws1-wan, aws2-wan, vpc-lan",
        ),
        (
            "[aws.tunnel2]\ninside_cidr = \"10.0.0.0/30\"\n",
            "f.toml:4:1: aws.tunnel2.inside_cidr: 10.0.0.0/30 is not accepted; AWS accepts a /30 in 169.254.0.0/16 other than 169.254.0.0/30 to 169.254.5.0/30 and 169.254.169.252/30",
        ),
        (
            "[cgw.bgp]\nannounce = [\"198.18.0.1/24\"]\n",
            "f.toml:4:13: cgw.bgp.announce[1]: invalid prefix \"198.18.0.1/24\": host bits set",
        ),
        (
            "[cgw.bgp]\nhold_time = \"2s\"\n",
            "f.toml:4:1: cgw.bgp.hold_time: a hold time is 0 or 3s to 65535s in whole seconds, found 2s",
        ),
        // One action, one assertion, one time per entry.
        (
            "[[expect]]\nwithin = \"5s\"\ntunnel = 1\nphase1 = \"established\"\nbgp = \"established\"\n",
            "f.toml:7:1: expect[1].bgp: one assertion per entry: `phase1` and `bgp` are both given; split them",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\ntunnel = 1\nphase1 = \"established\"\nphase2 = \"established\"\n",
            "f.toml:7:1: expect[1].phase2: one assertion per entry: `phase1` and `phase2` are both given; split them",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nat = \"5s\"\nnotification = \"non-redundant\"\n",
            "f.toml:5:1: expect[1].at: one time per entry: `within` and `at` are both given; split them",
        ),
        (
            "[[expect]]\ntunnel = 1\nphase1 = \"established\"\n",
            "f.toml:3:1: expect[1]: needs one time: `within`, `at`, `after`",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\ntunnel = 1\n",
            "f.toml:3:1: expect[1]: needs one assertion: `phase1`, `phase2`, `bgp`, `vpc_route_table`, `cgw_routes`, `ping`, `tcp`, `aws_log`, `notification`, `measure`, `diagnosis`, `probe`",
        ),
        (
            "[[fault]]\nat = \"5s\"\nlink_down = \"cgw-wan\"\nlink_up = \"cgw-wan\"\n",
            "f.toml:6:1: fault[1].link_up: one action per entry: `link_down` and `link_up` are both given; split them",
        ),
        (
            "[[fault]]\nat = \"5s\"\n\n[[fault]]\nat = \"6s\"\nlink_up = \"cgw-wan\"\n",
            "f.toml:3:1: fault[1]: needs one action: `set_cgw_source_address`, `block`, `unblock`, `link_down`, `link_up`, `impair`, `replace_endpoint`, `restart`, `announce_prefixes`, `drop_ike_message`, `mangle_ike_message`, `set_lifetime`",
        ),
        // Modifiers that do not fit the assertion.
        (
            "[[expect]]\nwithin = \"5s\"\nping = { from = \"onprem\", to = \"vpc\" }\nresult = \"connected\"\n",
            "f.toml:6:1: expect[1].result: a ping's result is \"reply\", \"timeout\" or \"frag-needed\"",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nping = { from = \"onprem\", to = \"vpc\" }\n",
            "f.toml:3:1: expect[1]: a `ping` assertion needs `result` (\"reply\", \"timeout\" or \"frag-needed\")",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nping = { from = \"onprem\", to = \"vpc\", size = 65508 }\nresult = \"reply\"\n",
            "f.toml:5:39: expect[1].ping.size: a ping's ICMP data is at most 65507 bytes",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nping = { from = \"onprem\", to = \"mars\" }\nresult = \"reply\"\n",
            "f.toml:5:27: expect[1].ping.to: unknown host \"mars\"; hosts are: onprem, vpc",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nbgp = \"established\"\ncause = \"no-response\"\ntunnel = 1\n",
            "f.toml:6:1: expect[1].cause: `cause` does not apply to a `bgp` assertion",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nbgp = \"established\"\n",
            "f.toml:3:1: expect[1]: a `bgp` assertion needs `tunnel`",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\ntunnel = 1\nphase2 = \"established\"\ncause = \"no-response\"\n",
            "f.toml:7:1: expect[1].cause: an established phase has no failure cause",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nmeasure = \"failover_time\"\n",
            "f.toml:3:1: expect[1]: a `measure` assertion needs `below`",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\nvpc_route_table = { contains = \"198.18.0.0/24\", lacks = \"198.18.0.0/24\" }\n",
            "f.toml:5:49: expect[1].vpc_route_table.lacks: give `contains` or `lacks`, not both",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\naws_log = { tunnel = 1, event = \"x\" }\n",
            "f.toml:5:25: expect[1].aws_log.event: unknown field \"event\"; fields are: tunnel, details, details_contains, dpd_enabled, nat_t_detected, ike_phase1_state, ike_phase2_state, event_timestamp, timestamp, absent, type, status, prefix, asPath, med, nextHopIp",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\naws_log = { tunnel = 3 }\n",
            "f.toml:5:13: expect[1].aws_log.tunnel: \"3\" is not one of \"1\", \"2\"",
        ),
        (
            "[[expect]]\nwithin = \"5s\"\naws_log = { ike_phase1_state = \"up\" }\n",
            "f.toml:5:13: expect[1].aws_log.ike_phase1_state: \"up\" is not one of \"Established\", \"Rekeying\", \"Negotiating\", \"Down\"",
        ),
        // AWS tunnel options out of AWS's ranges (aws::options).
        ("[aws.tunnel1]\nphase2_lifetime_seconds = 600\n", "f.toml:4:1: aws.tunnel1.phase2_lifetime_seconds: 600 is not accepted; AWS accepts 900-3600"),
        ("[aws.tunnel2]\nphase1_lifetime_seconds = 3600\nphase2_lifetime_seconds = 3600\n", "f.toml:5:1: aws.tunnel2.phase2_lifetime_seconds: 3600 is not accepted; AWS accepts 900-3600, lower than phase1_lifetime_seconds (3600)"),
        ("[aws.tunnel1]\nrekey_margin_seconds = 30\n", "f.toml:4:1: aws.tunnel1.rekey_margin_seconds: 30 is not accepted; AWS accepts 60-1800 (half of phase2_lifetime_seconds 3600)"),
        ("[aws.tunnel1]\nrekey_fuzz_percent = 150\n", "f.toml:4:1: aws.tunnel1.rekey_fuzz_percent: 150 is not accepted; AWS accepts 0-100"),
        ("[aws.tunnel1]\nreplay_window_packets = 32\n", "f.toml:4:1: aws.tunnel1.replay_window_packets: 32 is not accepted; AWS accepts 64-2048"),
        ("[aws.tunnel2]\ndpd_timeout_seconds = 10\n", "f.toml:4:1: aws.tunnel2.dpd_timeout_seconds: 10 is not accepted; AWS accepts 30 or more"),
        ("[aws.tunnel1]\ndpd_timeout_action = \"reboot\"\n", "f.toml:4:1: aws.tunnel1.dpd_timeout_action: dpd timeout action: \"reboot\" is not a known name; AWS uses clear, none, restart"),
        ("[aws.tunnel1]\nstartup_action = \"later\"\n", "f.toml:4:1: aws.tunnel1.startup_action: startup action: \"later\" is not a known name; AWS uses add, start"),
        ("[aws.tunnel1]\npsk = \"0short\"\n", "f.toml:4:1: aws.tunnel1.psk: a key of 6 characters is not accepted; AWS accepts 8-64 characters of A-Z a-z 0-9 . _, not starting with 0"),
        (
            "[aws.tunnel1]\nphase1_lifetime_seconds = 90000\n",
            "f.toml:4:1: aws.tunnel1.phase1_lifetime_seconds: 90000 is not accepted; AWS accepts 900-28800",
        ),
        (
            "[aws.tunnel1]\nphase1_encryption = [\"3DES\"]\n",
            "f.toml:4:1: aws.tunnel1.phase1_encryption: encryption: \"3DES\" is not a known name; AWS uses AES128, AES256, AES128-GCM-16, AES256-GCM-16",
        ),
        (
            "[[expect]]\nwithin = \"1s\"\ndiagnosis = { cause = \"gremlins\" }\n",
            "f.toml:5:15: expect[1].diagnosis.cause: unknown cause \"gremlins\"; causes are: CAUSES",
        ),
        (
            "[aws.tunnel1]\ninside_cidr = \"169.254.10.0/30\"\n[aws.tunnel2]\ninside_cidr = \"169.254.10.0/30\"\n",
            "f.toml:6:1: aws.tunnel2.inside_cidr: 169.254.10.0/30 is not accepted; AWS accepts a /30 not overlapping tunnel1.inside_cidr (169.254.10.0/30)",
        ),
        ("[aws]\nasn = 100\n", "f.toml:4:1: aws.asn: 100 is not accepted; AWS accepts 64512-65534 or 4200000000-4294967294"),
        ("[cgw.bgp]\nasn = 0\n", "f.toml:4:1: cgw.bgp.asn: 0 is not accepted; AWS accepts 1-2147483647"),
        // Missing keys and other impossible values.
        ("[[fault]]\nlink_down = \"cgw-wan\"\n", "f.toml:3:1: fault[1]: missing key `at`"),
        (
            "[[expect]]\nwithin = \"1s\"\ntcp = { from = \"onprem\", to = \"vpc\" }\nresult = \"connected\"\n",
            "f.toml:5:1: expect[1].tcp: missing key `port`",
        ),
        ("[[cgw.probe]]\nport = 5\n", "f.toml:3:1: cgw.probe[1]: missing key `kind`"),
        ("[[cgw.probe]]\nkind = \"icmp\"\nport = 5\n", "f.toml:5:1: cgw.probe[1].port: an ICMP probe has no port"),
        ("seed = \"x\"\n", "f.toml:3:1: scenario.seed: expected a non-negative integer, found a string"),
        ("[aws.tunnel1]\nphase1_dh_groups = []\n", "f.toml:4:1: aws.tunnel1.phase1_dh_groups: empty; AWS accepts 2, 14-24"),
        ("[aws.tunnel1]\nphase1_dh_groups = [3]\n", "f.toml:4:1: aws.tunnel1.phase1_dh_groups: 3 is not accepted; AWS accepts 2, 14-24"),
        ("[cgw.tunnel2.ike]\nversion = 3\n", "f.toml:4:1: cgw.tunnel2.ike.version: expected 1 or 2, found 3"),
        (
            "[topology]\nonprem_host = \"10.0.0.1\"\n",
            "f.toml:4:1: topology.onprem_host: 10.0.0.1 is outside onprem_cidr 198.18.0.0/24",
        ),
        (
            "[aws]\nrouting = \"bgp\"\nstatic_routes = [\"198.18.0.0/24\"]\n",
            "f.toml:5:1: aws.static_routes: static routes need `routing = \"static\"`",
        ),
        (
            "[[expect]]\nwithin = \"1s\"\ntunnel = 1\nphase1 = \"up\"\n",
            "f.toml:6:1: expect[1].phase1: unknown variant `up`, expected one of `established`, `failed`, `down`",
        ),
        ("[[fault]]\nat = \"1s\"\nblock = {}\n", "f.toml:5:1: fault[1].block: a filter needs `protocol` or `address`"),
        (
            "[[fault]]\nat = \"1s\"\nset_lifetime = { side = \"cgw\" }\n",
            "f.toml:5:1: fault[1].set_lifetime: give `phase1`, `phase2` or both",
        ),
        (
            "[[fault]]\nat = \"1s\"\ndrop_ike_message = { n = 0 }\n",
            "f.toml:5:22: fault[1].drop_ike_message.n: messages are counted from 1",
        ),
        ("[cgw.tunnel1.ike]\ndpd = { interval = \"0s\" }\n", "f.toml:4:9: cgw.tunnel1.ike.dpd.interval: must be positive"),
        ("[topology.links]\ncgw-wan = 5\n", "f.toml:4:1: topology.links.cgw-wan: expected a table, found an integer"),
        (
            "[[expect]]\nwithin = \"1s\"\ntunnel = 1\nphase1 = \"established\"\nresult = \"reply\"\n",
            "f.toml:7:1: expect[1].result: `result` does not apply to a `phase1` assertion",
        ),
    ];
    let mut failures = Vec::new();
    for (body, expected) in cases {
        let expected = &expected.replace("CAUSES", &cgw_sim::diagnosis::CAUSE_CODES.join(", "));
        let text = format!("{HEAD}{body}");
        match Scenario::from_toml(&text, "f.toml") {
            Ok(_) => failures.push(format!(
                "loaded, expected error:\n  {expected}\n---\n{text}"
            )),
            Err(e) if e.to_string() == *expected => {}
            Err(e) => failures.push(format!("got:      {e}\nexpected: {expected}\n---\n{text}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn whole_file_errors() {
    let e = Scenario::from_toml("", "empty.toml").expect_err("no [scenario]");
    assert_eq!(e.to_string(), "empty.toml:1:1: missing key `scenario`");
    let e = Scenario::from_toml("[scenario\nname = \"x\"\n", "syntax.toml").expect_err("syntax");
    assert_eq!(
        e.to_string(),
        "syntax.toml:1:10: unclosed table, expected `]`"
    );
    assert_eq!((e.line, e.column), (Some(1), Some(10)));
    let e = Scenario::from_toml("[scenario]\nsummary = \"s\"\n", "m.toml").expect_err("no name");
    assert_eq!(e.to_string(), "m.toml:1:2: scenario: missing key `name`");
    let e = Scenario::from_toml("[scenario]\nname = \"a\"\nname = \"b\"\n", "dup.toml")
        .expect_err("duplicate");
    assert_eq!(e.to_string(), "dup.toml:3:1: duplicate key");
    let e = Scenario::load("/nonexistent/x.toml").expect_err("no file");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.toml: cannot read: "),
        "{e}"
    );
}

#[test]
fn error_fields() {
    let e = Scenario::from_toml(
        "[scenario]\nname = \"x\"\n\n[cgw.tunnel1.ike]\n  dh_groups = \"5\"\n",
        "scenarios/wrong-dh.toml",
    )
    .expect_err("type");
    assert_eq!(e.file, "scenarios/wrong-dh.toml");
    assert_eq!((e.line, e.column), (Some(5), Some(3)));
    assert_eq!(e.key, "cgw.tunnel1.ike.dh_groups");
    assert_eq!(e.message, "expected a list of integers, found a string");
}

/// Truncations and byte substitutions of every example: the loader returns
/// `Ok` or `Err`, never panics.
#[test]
fn no_input_panics() {
    for file in examples() {
        let text = std::fs::read_to_string(&file).expect("read");
        for cut in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            let _ = Scenario::from_toml(&text[..cut], "cut.toml");
        }
        let bytes = text.as_bytes();
        for i in (0..bytes.len()).step_by(3) {
            for sub in [b'"', b'[', b']', b'=', b'\n', b'-', b'9', b'x', b'{', b','] {
                let mut b = bytes.to_vec();
                b[i] = sub;
                if let Ok(t) = String::from_utf8(b) {
                    let _ = Scenario::from_toml(&t, "sub.toml");
                }
            }
        }
    }
}

/// Every TOML example in docs/scenarios.md loads (with a `[scenario]`
/// header added to the fragments that have none).
#[test]
fn documentation_examples_load() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md"),
    )
    .expect("docs/scenarios.md");
    let mut count = 0;
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```toml\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("closed block");
        let block = &body[..end];
        rest = &body[end + 3..];
        count += 1;
        let text = if block.contains("[scenario]") {
            block.to_owned()
        } else {
            format!("[scenario]\nname = \"doc\"\n{block}")
        };
        if let Err(e) = Scenario::from_toml(&text, "docs/scenarios.md") {
            panic!("example {count} does not load: {e}\n{text}");
        }
    }
    assert!(count >= 10, "found {count} examples");
}
