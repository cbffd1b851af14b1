//! `cgw-sim selftest`: negotiates every phase 1 suite AWS accepts against
//! an AWS-like responder in memory, plus the classic failures, and checks
//! that each ends the way AWS would make it end, with the diagnosis text.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{loopback, EspProposal, Event, Failure, IkeConfig, IkeProposal, PreferOwn};
use ike::wire::{TrafficSelector, TsType};

use crate::aws::{aws_esp_proposals, aws_ike_proposals, AWS_PHASE1_GROUPS};

const CGW: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 500);
const AWS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10)), 500);
const PSK: &[u8] = b"selftest_psk_0123456789";

fn aws_responder() -> Arc<IkeConfig> {
    let mut c = IkeConfig::new(
        Secret::from_slice(PSK),
        aws_ike_proposals(),
        aws_esp_proposals(&[]),
    );
    c.policy = Arc::new(PreferOwn);
    Arc::new(c)
}

fn cgw(encr: EncrAlg, integ: Option<IntegAlg>, prf: PrfAlg, dh: &[DhGroup]) -> IkeConfig {
    IkeConfig::new(
        Secret::from_slice(PSK),
        vec![IkeProposal {
            encr: vec![encr],
            prf: vec![prf],
            integ: integ.into_iter().collect(),
            dh: dh.to_vec(),
        }],
        vec![EspProposal {
            encr: vec![encr],
            integ: integ.into_iter().collect(),
            dh: Vec::new(),
        }],
    )
}

/// How one case ended.
fn outcome(o: &loopback::LoopbackOutcome) -> String {
    let child = o
        .initiator
        .iter()
        .any(|e| matches!(e, Event::ChildSaInstalled(_)));
    // The responder's reason is the precise one ("offered DH group 5, we
    // accept ..."); the initiator only hears the notify.
    let failure = o
        .responder
        .iter()
        .chain(o.initiator.iter())
        .find_map(|e| match e {
            Event::IkeSaFailed(f) | Event::ChildSaFailed(f) => Some(f.clone()),
            _ => None,
        });
    match (child, failure) {
        (true, _) => "up".into(),
        (false, Some(f)) => f.to_string(),
        (false, None) => "no result".into(),
    }
}

struct Case {
    name: &'static str,
    cgw: IkeConfig,
    expect: fn(&loopback::LoopbackOutcome) -> bool,
}

fn responder_failure(o: &loopback::LoopbackOutcome) -> Option<&Failure> {
    o.responder.iter().find_map(|e| match e {
        Event::IkeSaFailed(f) | Event::ChildSaFailed(f) => Some(f),
        _ => None,
    })
}

fn failure_cases() -> Vec<Case> {
    let cbc = EncrAlg::AesCbc { key_bits: 128 };
    let sha1 = Some(IntegAlg::HmacSha1_96);
    let mut wrong_psk = cgw(cbc, sha1, PrfAlg::HmacSha1, &[DhGroup::Modp2048]);
    wrong_psk.psk = Secret::from_slice(b"not_the_aws_psk_000");
    let mut policy_based = cgw(cbc, sha1, PrfAlg::HmacSha1, &[DhGroup::Modp2048]);
    let range = |a: [u8; 4], b: [u8; 4]| TrafficSelector {
        ts_type: TsType::IPV4_ADDR_RANGE,
        ip_protocol: 0,
        start_port: 0,
        end_port: 65535,
        start_addr: IpAddr::V4(a.into()),
        end_addr: IpAddr::V4(b.into()),
    };
    policy_based.local_ts = vec![range([198, 18, 0, 0], [198, 18, 0, 255])];
    policy_based.remote_ts = vec![range([198, 19, 0, 0], [198, 19, 255, 255])];
    vec![
        Case {
            name: "CGW offers only DH group 5 in phase 1",
            cgw: cgw(cbc, sha1, PrfAlg::HmacSha1, &[DhGroup::Modp1536]),
            expect: |o| matches!(responder_failure(o), Some(Failure::NoProposalChosen(m)) if m.offered == ["5"]),
        },
        Case {
            name: "CGW offers AES-192, which AWS does not accept",
            cgw: cgw(
                EncrAlg::AesCbc { key_bits: 192 },
                sha1,
                PrfAlg::HmacSha1,
                &[DhGroup::Modp2048],
            ),
            expect: |o| matches!(responder_failure(o), Some(Failure::NoProposalChosen(_))),
        },
        Case {
            name: "pre-shared key mismatch",
            cgw: wrong_psk,
            expect: |o| {
                o.initiator.iter().any(|e| {
                    matches!(
                        e,
                        Event::IkeSaFailed(Failure::PeerAuthenticationFailed { .. })
                    )
                })
            },
        },
        Case {
            name: "CGW sends a KE for group 31 first, AWS asks for group 19",
            cgw: cgw(
                cbc,
                sha1,
                PrfAlg::HmacSha1,
                &[DhGroup::Curve25519, DhGroup::Ecp256],
            ),
            expect: |o| {
                o.initiator
                    .iter()
                    .any(|e| matches!(e, Event::ChildSaInstalled(_)))
            },
        },
        Case {
            name: "policy-based selectors against AWS's 0.0.0.0/0 (accepted, narrowed)",
            cgw: policy_based,
            expect: |o| {
                o.initiator
                    .iter()
                    .any(|e| matches!(e, Event::ChildSaInstalled(_)))
            },
        },
    ]
}

/// Runs the self-test, printing a line per suite and per failure case;
/// returns whether every expectation held.
pub fn run() -> bool {
    let aws = aws_responder();
    let mut ok = true;
    let mut seed = 0u8;
    println!(
        "phase 1 suites against an AWS-like responder (PSK, AWS's accepted set, weakest first):"
    );
    for encr in [
        EncrAlg::AesCbc { key_bits: 128 },
        EncrAlg::AesCbc { key_bits: 256 },
        EncrAlg::AesGcm16 { key_bits: 128 },
        EncrAlg::AesGcm16 { key_bits: 256 },
    ] {
        for (integ, prf) in [
            (IntegAlg::HmacSha1_96, PrfAlg::HmacSha1),
            (IntegAlg::HmacSha256_128, PrfAlg::HmacSha256),
            (IntegAlg::HmacSha384_192, PrfAlg::HmacSha384),
            (IntegAlg::HmacSha512_256, PrfAlg::HmacSha512),
        ] {
            let integ = (!encr.is_aead()).then_some(integ);
            let mut failed = Vec::new();
            for g in AWS_PHASE1_GROUPS {
                seed = seed.wrapping_add(1);
                let o = loopback::run(
                    Arc::new(cgw(encr, integ, prf, &[g])),
                    aws.clone(),
                    CGW,
                    AWS,
                    [seed; 32],
                );
                let r = outcome(&o);
                if r != "up" {
                    failed.push(format!("group {}: {r}", g as u16));
                }
            }
            let label = format!(
                "{} / {} / {:?}",
                encr.name(),
                integ.map_or("AEAD".into(), |i| format!("{i:?}")),
                prf
            );
            if failed.is_empty() {
                println!("  ok    {label:<45} all 12 groups up");
            } else {
                ok = false;
                println!("  FAIL  {label:<45} {}", failed.join("; "));
            }
        }
    }
    println!("failures AWS users meet, and what cgw-sim says about them:");
    for c in failure_cases() {
        seed = seed.wrapping_add(1);
        let o = loopback::run(Arc::new(c.cgw), aws.clone(), CGW, AWS, [seed; 32]);
        let held = (c.expect)(&o);
        ok &= held;
        println!(
            "  {}  {:<60} {}",
            if held { "ok  " } else { "FAIL" },
            c.name,
            outcome(&o)
        );
    }
    println!(
        "{}",
        if ok {
            "selftest: every expectation held"
        } else {
            "selftest: FAILED"
        }
    );
    ok
}

#[cfg(test)]
mod tests {
    #[test]
    fn selftest_holds() {
        assert!(super::run());
    }
}
