//! `cgw_sim::probe`: the prober on a virtual clock against the AWS mock's
//! own IKE responder (restricted tunnel options) in memory.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cgw_sim::aws::options::{Encryption, Integrity, TunnelOptions};
use cgw_sim::probe::{Candidate, ProbeReport, ProbeSettings, Prober};
use ike::crypto::{DhGroup, Secret};
use ike::sa::{IkeConfig, IkeSa};
use ike::wire::{DhId, Flags, Message, Notify, NotifyType, Payload};

const CGW: &str = "192.0.2.10:500";
const AWS: &str = "198.51.100.1:500";

/// Runs the prober to the end against `responder`, which maps a request
/// to its answers; returns the report and the virtual instants of sends.
fn run_with(
    mut responder: impl FnMut(&[u8], Instant) -> Vec<Vec<u8>>,
    settings: ProbeSettings,
) -> (ProbeReport, Vec<Instant>) {
    let (local, peer): (SocketAddr, SocketAddr) = (CGW.parse().unwrap(), AWS.parse().unwrap());
    let mut now = Instant::now();
    let mut p = Prober::new(local, peer, settings, [7; 32], now);
    let mut sends = Vec::new();
    for _ in 0..100_000 {
        while let Some(t) = p.poll_transmit() {
            assert_eq!(t.remote, peer);
            sends.push(now);
            for answer in responder(&t.payload, now) {
                p.handle_datagram(now, &answer);
            }
        }
        match p.poll_timeout() {
            Some(at) => {
                now = now.max(at);
                p.handle_timeout(now);
            }
            None => break,
        }
    }
    assert!(p.is_done());
    (p.report(), sends)
}

/// The AWS mock's own responder for `cfg` (silent when `None`).
fn mock(cfg: Option<Arc<IkeConfig>>) -> impl FnMut(&[u8], Instant) -> Vec<Vec<u8>> {
    let (local, peer): (SocketAddr, SocketAddr) = (CGW.parse().unwrap(), AWS.parse().unwrap());
    move |request, now| {
        let Some(cfg) = &cfg else { return Vec::new() };
        let mut sa = IkeSa::accept(cfg.clone(), peer, local, request, now, [9; 32])
            .expect("an initial IKE_SA_INIT request");
        std::iter::from_fn(|| sa.poll_transmit().map(|t| t.payload)).collect()
    }
}

fn run(responder: Option<Arc<IkeConfig>>, settings: ProbeSettings) -> (ProbeReport, Vec<Instant>) {
    run_with(mock(responder), settings)
}

/// An answer to `request` carrying only `notify`.
fn notify_answer(request: &[u8], notify: Notify) -> Vec<u8> {
    let req = Message::parse(request).unwrap();
    let mut header = req.header.clone();
    header.flags = Flags {
        response: true,
        ..Flags::default()
    };
    header.spi_r = 0;
    Message {
        header,
        payloads: vec![Payload::Notify(notify)],
    }
    .emit()
}

fn responder(opts: &TunnelOptions) -> Arc<IkeConfig> {
    Arc::new(opts.ike_config(Secret::new(b"fake-probe-psk-0123".to_vec())))
}

/// The transforms `opts` allows in phase 1, as probe candidates.
fn expected(opts: &TunnelOptions) -> HashSet<Candidate> {
    let mut s: HashSet<Candidate> = opts
        .phase1_encryption
        .iter()
        .map(|e| Candidate::Encr(e.alg()))
        .collect();
    if opts.phase1_encryption.iter().any(|e| !e.is_aead()) {
        s.extend(
            opts.phase1_integrity
                .iter()
                .map(|i| Candidate::Integ(i.integ())),
        );
    }
    s.extend(
        opts.phase1_integrity
            .iter()
            .map(|i| Candidate::Prf(i.prf())),
    );
    s.extend(
        opts.phase1_dh_groups
            .iter()
            .map(|g| Candidate::Dh(DhGroup::from_id(*g).unwrap())),
    );
    s
}

fn check_exact(opts: TunnelOptions) -> ProbeReport {
    let (report, _) = run(Some(responder(&opts)), ProbeSettings::default());
    let accepted: HashSet<Candidate> = report.accepted.candidates().into_iter().collect();
    assert_eq!(accepted, expected(&opts), "{report:#?}");
    assert!(report.unknown.is_empty(), "{report:#?}");
    assert_eq!(report.unanswered, 0);
    report
}

#[test]
fn gcm256_only_groups_14_20_found_exactly() {
    let opts = TunnelOptions {
        phase1_encryption: vec![Encryption::Aes256Gcm16],
        phase1_integrity: vec![Integrity::Sha2_256, Integrity::Sha2_512],
        phase1_dh_groups: vec![14, 20],
        ..TunnelOptions::default()
    };
    let report = check_exact(opts);
    // No CBC accepted, so no integrity either.
    assert!(report.accepted.integrity.is_empty());
    // One request per candidate at most: 6 + 4 + 4 + 14.
    assert!(report.requests_sent <= 28, "{}", report.requests_sent);
    let text = report.render_text(AWS);
    assert!(text.contains("AES_GCM_16_256"), "{text}");
    assert!(
        text.contains("phase 2 (ESP) transforms not probed"),
        "{text}"
    );
}

#[test]
fn mixed_cbc_and_gcm_found_exactly() {
    check_exact(TunnelOptions {
        phase1_encryption: vec![Encryption::Aes128, Encryption::Aes256Gcm16],
        phase1_integrity: vec![Integrity::Sha1, Integrity::Sha2_384],
        phase1_dh_groups: vec![2, 21],
        ..TunnelOptions::default()
    });
}

#[test]
fn aws_defaults_found_and_compared() {
    let report = check_exact(TunnelOptions::default());
    // AES-192 is ours to offer but not AWS's.
    let beyond: Vec<String> = report
        .beyond_aws()
        .into_iter()
        .map(cgw_sim::probe::report::name)
        .collect();
    assert!(beyond.is_empty(), "{beyond:?}");
    assert!(report.refused_aws().is_empty());
}

#[test]
fn silent_responder_leaves_everything_unknown_and_bounded() {
    let settings = ProbeSettings::default();
    let (report, sends) = run(None, settings);
    assert!(report.accepted.is_empty() && report.refused.is_empty());
    assert_eq!(report.unknown.candidates().len(), 28);
    assert_eq!(report.requests_sent, 28 * (1 + settings.retries));
    assert_eq!(report.unanswered, 28);
    assert_eq!(sends.len() as u32, report.requests_sent);

    let capped = ProbeSettings {
        max_requests: 10,
        ..settings
    };
    let (report, sends) = run(None, capped);
    assert_eq!(report.requests_sent, 10);
    assert_eq!(sends.len(), 10);
}

#[test]
fn rate_limit_holds_on_the_virtual_clock() {
    for rate in [5.0, 20.0] {
        let settings = ProbeSettings {
            rate,
            ..ProbeSettings::default()
        };
        let min_gap = Duration::from_secs_f64(1.0 / rate);
        for responder in [Some(responder(&TunnelOptions::default())), None] {
            let (_, sends) = run(responder, settings);
            for w in sends.windows(2) {
                assert!(w[1] - w[0] >= min_gap, "{:?} < {min_gap:?}", w[1] - w[0]);
            }
        }
    }
}

#[test]
fn cookie_is_returned_once_and_the_answer_still_counts() {
    let opts = TunnelOptions {
        phase1_encryption: vec![Encryption::Aes256Gcm16],
        phase1_dh_groups: vec![14, 20],
        ..TunnelOptions::default()
    };
    let mut inner = mock(Some(responder(&opts)));
    let (report, _) = run_with(
        move |request, now| {
            let msg = Message::parse(request).unwrap();
            match msg.payloads.first() {
                Some(Payload::Notify(n)) if n.kind == NotifyType::COOKIE => {
                    assert_eq!(n.data, b"cookie-0123456789");
                    // The mock never asked: strip the cookie before it.
                    let mut m = msg.clone();
                    m.payloads.remove(0);
                    inner(&m.emit(), now)
                }
                _ => vec![notify_answer(
                    request,
                    Notify::cookie(b"cookie-0123456789".to_vec()),
                )],
            }
        },
        ProbeSettings::default(),
    );
    let accepted: HashSet<Candidate> = report.accepted.candidates().into_iter().collect();
    assert_eq!(accepted, expected(&opts), "{report:#?}");
    assert!(report.unknown.is_empty());
}

#[test]
fn invalid_ke_to_a_single_group_offer_refuses_it_and_accepts_the_named_one() {
    // An odd responder: anything but a KE for group 14 gets
    // INVALID_KE_PAYLOAD naming 14, even when 14 was not offered.
    let mut inner = mock(Some(responder(&TunnelOptions::default())));
    let (report, _) = run_with(
        move |request, now| {
            let msg = Message::parse(request).unwrap();
            let ke = msg.payloads.iter().find_map(|p| match p {
                Payload::Ke(k) => Some(k.group),
                _ => None,
            });
            if ke == Some(DhId(14)) {
                inner(request, now)
            } else {
                vec![notify_answer(request, Notify::invalid_ke(DhId(14)))]
            }
        },
        ProbeSettings::default(),
    );
    assert_eq!(report.accepted.dh_groups, vec![DhGroup::Modp2048]);
    assert_eq!(report.refused.dh_groups.len(), DhGroup::ALL.len() - 1);
    assert!(report.unknown.is_empty(), "{report:#?}");
}

#[test]
fn stray_datagrams_are_ignored() {
    let opts = TunnelOptions::default();
    let mut inner = mock(Some(responder(&opts)));
    let (report, _) = run_with(
        move |request, now| {
            let mut answers = vec![b"not IKE".to_vec()];
            // An answer for another SPI first: must not judge anything.
            let mut other = Message::parse(request).unwrap();
            other.header.spi_i ^= 0xffff;
            answers.push(notify_answer(
                &other.emit(),
                Notify::new(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new()),
            ));
            answers.extend(inner(request, now));
            answers
        },
        ProbeSettings::default(),
    );
    let accepted: HashSet<Candidate> = report.accepted.candidates().into_iter().collect();
    assert_eq!(accepted, expected(&opts), "{report:#?}");
}

#[test]
fn absurd_settings_do_not_panic() {
    let settings = ProbeSettings {
        rate: 1e-300,
        timeout: Duration::MAX,
        retries: 0,
        max_requests: 2,
        half_open_wait: Duration::MAX,
    };
    let (report, sends) = run(None, settings);
    assert_eq!(report.requests_sent, 2);
    assert_eq!(sends.len(), 2);
}

#[test]
fn half_open_limit_is_waited_out() {
    // Like charon's block_threshold: at most 2 half-open SAs per address,
    // each kept 30 s; requests beyond are dropped silently.
    let opts = TunnelOptions {
        phase1_dh_groups: vec![14, 15, 19, 20, 21],
        ..TunnelOptions::default()
    };
    let mut inner = mock(Some(responder(&opts)));
    let mut open: Vec<Instant> = Vec::new();
    let (report, sends) = run_with(
        move |request, now| {
            open.retain(|t| *t + Duration::from_secs(30) > now);
            if open.len() >= 2 {
                return Vec::new();
            }
            let answers = inner(request, now);
            let sa = answers.iter().any(|a| {
                Message::parse(a)
                    .unwrap()
                    .payloads
                    .iter()
                    .any(|p| matches!(p, Payload::Sa(_)))
            });
            if sa {
                open.push(now);
            }
            answers
        },
        ProbeSettings::default(),
    );
    let accepted: HashSet<Candidate> = report.accepted.candidates().into_iter().collect();
    assert_eq!(accepted, expected(&opts), "{report:#?}");
    assert!(report.unknown.is_empty(), "{report:#?}");
    let took = *sends.last().unwrap() - sends[0];
    eprintln!("{} requests over {took:?} (virtual)", report.requests_sent);
}
