//! Dead peer detection and deletes against strongSwan (charon with
//! kernel-libipsec) in network namespaces: our CGW engine initiates to
//! charon playing the AWS endpoint.
//!
//! - our DPD notices charon killed (SIGKILL, by its PID) within delay +
//!   timeout and clears, or restarts (IKE_SA_INIT again until a new charon
//!   answers);
//! - charon's DPD probes us and we answer: its IKE SA stays up;
//! - deletes both ways, IKE SA and child SA.

use std::time::{Duration, Instant};

use cgw_sim_tests::engine::UdpEngine;
use cgw_sim_tests::netns::{InsideNet, LabPair, AWS_ADDR, CGW_ADDR};
use cgw_sim_tests::require;
use cgw_sim_tests::strongswan::{Charon, CharonConfig};
use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{DeletedBy, Dpd, DpdAction, EspProposal, Event, IkeConfig, IkeProposal, SaId, State};
use ike::wire::{ExchangeType, Header};

const PSK: &str = "interop-dpd-psk-0123456789abcdef";

/// What charon's defaults in `CharonConfig` negotiate:
/// aes128-sha1-modp2048 / aes128gcm16.
fn cgw_config(dpd: Option<Dpd>) -> IkeConfig {
    let ike = IkeProposal {
        encr: vec![EncrAlg::AesCbc { key_bits: 128 }],
        prf: vec![PrfAlg::HmacSha1],
        integ: vec![IntegAlg::HmacSha1_96],
        dh: vec![DhGroup::Modp2048],
    };
    let esp = EspProposal {
        encr: vec![EncrAlg::AesGcm16 { key_bits: 128 }],
        integ: Vec::new(),
        dh: Vec::new(),
    };
    let mut c = IkeConfig::new(Secret::from_slice(PSK.as_bytes()), vec![ike], vec![esp]);
    // kernel-libipsec only does ESP in UDP.
    c.force_encapsulation = true;
    c.dpd = dpd;
    c
}

fn aws_config(inside: &InsideNet, dpd_delay: Option<Duration>) -> CharonConfig {
    let mut c = CharonConfig::aws_responder(AWS_ADDR, CGW_ADDR);
    c.psk = PSK.into();
    c.inside_addr = Some(inside.aws_cidr());
    c.dpd_delay = dpd_delay;
    c
}

struct Setup {
    lab: LabPair,
    inside: InsideNet,
    aws: Charon,
    eng: UdpEngine,
    id: SaId,
}

/// charon as the AWS endpoint, our engine as the CGW, tunnel up.
fn setup(dpd: Option<Dpd>, charon_dpd: Option<Duration>) -> Setup {
    require::strongswan();
    let lab = LabPair::new();
    let inside = InsideNet::unique();
    let aws = Charon::start(&lab.aws, aws_config(&inside, charon_dpd));
    let mut eng = lab
        .cgw
        .run_in(|| UdpEngine::bind(CGW_ADDR, None))
        .expect("bind 500/4500");
    let id = eng.initiate(cgw_config(dpd), AWS_ADDR);
    let up = eng.run_until(Duration::from_secs(15), |e| e.child().is_some());
    assert!(
        up,
        "no child SA: {:?}\n{}",
        eng.event_list(),
        aws.failure_context()
    );
    aws.wait_established(Duration::from_secs(5));
    Setup {
        lab,
        inside,
        aws,
        eng,
        id,
    }
}

fn header(t: &ike::sa::Transmit) -> Option<Header> {
    let msg: &[u8] = if t.local.port() == 4500 {
        t.payload.get(4..)?
    } else {
        &t.payload
    };
    Header::parse(msg).ok()
}

/// When our engine sent requests of `exchange`.
fn sent_requests(eng: &UdpEngine, exchange: ExchangeType) -> Vec<Instant> {
    eng.sent
        .iter()
        .filter(|(_, t)| header(t).is_some_and(|h| h.exchange == exchange && !h.flags.response))
        .map(|(at, _)| *at)
        .collect()
}

fn has(eng: &UdpEngine, f: impl Fn(&Event) -> bool) -> bool {
    eng.event_list().iter().any(f)
}

fn dpd_timeout(eng: &UdpEngine) -> Option<(Instant, Event)> {
    eng.timed_events()
        .find(|(_, e)| matches!(e, Event::DpdTimeout { .. }))
        .map(|(t, e)| (t, e.clone()))
}

const DELAY: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(6);

fn fast_dpd(action: DpdAction) -> Dpd {
    Dpd {
        delay: DELAY,
        timeout: TIMEOUT,
        action,
    }
}

#[test]
fn our_dpd_clears_when_charon_dies() {
    let Setup {
        mut aws,
        mut eng,
        lab: _lab,
        inside: _inside,
        ..
    } = setup(Some(fast_dpd(DpdAction::Clear)), None);
    let spi = eng.child().unwrap().spi_in;
    let pid = aws.pid();
    let killed = Instant::now();
    aws.kill();
    let done = eng.run_until(DELAY + TIMEOUT + Duration::from_secs(4), |e| {
        has(e, |ev| matches!(ev, Event::IkeSaClosed { .. }))
    });
    assert!(
        done,
        "charon (pid {pid}) killed, no close: {:?}",
        eng.event_list()
    );
    let (at, ev) = dpd_timeout(&eng).expect("DpdTimeout");
    let after = at - killed;
    // The first unanswered probe leaves after the kill, at most `delay`
    // after the last message; the peer is dead `timeout` after it.
    assert!(
        after >= TIMEOUT && after <= DELAY + TIMEOUT + Duration::from_millis(500),
        "dead {after:?} after the kill"
    );
    // Probes at 0 and 2 s, and the one due at 6 s unless the timeout (also
    // at 6 s) is handled first: real-time jitter decides.
    assert!(
        matches!(
            ev,
            Event::DpdTimeout {
                action: DpdAction::Clear,
                retransmits: 1 | 2
            }
        ),
        "{ev:?}"
    );
    let tail: Vec<Event> = eng
        .event_list()
        .into_iter()
        .skip_while(|e| !matches!(e, Event::DpdTimeout { .. }))
        .collect();
    assert_eq!(
        tail[1..],
        [
            Event::ChildSaDeleted {
                spi_in: spi,
                by: DeletedBy::Us
            },
            Event::IkeSaClosed { by: DeletedBy::Us }
        ]
    );
    // Nothing more is sent.
    let n = eng.sent.len();
    eng.run_until(Duration::from_secs(2), |_| false);
    assert_eq!(eng.sent.len(), n);
}

#[test]
fn our_dpd_restarts_when_charon_dies_and_reconnects_to_a_new_one() {
    let Setup {
        lab,
        inside,
        mut aws,
        mut eng,
        id,
    } = setup(Some(fast_dpd(DpdAction::Restart)), None);
    let old_spi = eng.endpoint.sa(id).unwrap().spi_i();
    aws.kill();
    let dead = eng.run_until(DELAY + TIMEOUT + Duration::from_secs(4), |e| {
        dpd_timeout(e).is_some()
    });
    assert!(dead, "{:?}", eng.event_list());
    let (_, ev) = dpd_timeout(&eng).unwrap();
    assert!(matches!(
        ev,
        Event::DpdTimeout {
            action: DpdAction::Restart,
            ..
        }
    ));
    assert!(has(&eng, |e| *e == Event::IkeSaClosed { by: DeletedBy::Us }));
    // It keeps sending IKE_SA_INIT to the dead peer (0, 2, 6 s ...).
    eng.run_until(Duration::from_millis(2500), |_| false);
    // The first setup's IKE_SA_INIT, then the restart's and at least one
    // retransmission.
    let inits = sent_requests(&eng, ExchangeType::IKE_SA_INIT);
    assert!(inits.len() >= 3, "IKE_SA_INIT: {inits:?}");
    let spis: std::collections::BTreeSet<u64> = eng
        .sent
        .iter()
        .filter_map(|(_, t)| header(t))
        .filter(|h| h.exchange == ExchangeType::IKE_SA_INIT)
        .map(|h| h.spi_i)
        .collect();
    assert_eq!(spis.len(), 2, "one SPI before, a new one after the restart");
    let sa = eng.endpoint.sa(id).expect("same SaId");
    assert_eq!(sa.state(), State::InitSent);
    assert_ne!(sa.spi_i(), old_spi);
    drop(aws);

    // A new charon comes up: one of the retransmissions reaches it.
    let aws = Charon::start(&lab.aws, aws_config(&inside, None));
    let up = eng.run_until(Duration::from_secs(12), |e| {
        e.event_list()
            .iter()
            .filter(|ev| matches!(ev, Event::IkeSaEstablished(_)))
            .count()
            == 2
    });
    assert!(up, "{:?}\n{}", eng.event_list(), aws.failure_context());
    let swan = aws.wait_established(Duration::from_secs(5));
    let sa = eng.endpoint.sa(id).unwrap();
    assert_eq!(sa.state(), State::Established);
    assert_eq!(
        u64::from_str_radix(&swan.initiator_spi, 16).unwrap(),
        sa.spi_i()
    );
}

#[test]
fn charons_dpd_probes_are_answered() {
    let Setup {
        aws,
        mut eng,
        id,
        lab: _lab,
        inside: _inside,
    } = setup(None, Some(Duration::from_secs(2)));
    let before = aws.list_sas();
    eng.run_until(Duration::from_secs(9), |_| false);
    let after = aws.list_sas();
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].state, "ESTABLISHED");
    assert_eq!(after[0].initiator_spi, before[0].initiator_spi);
    assert_eq!(eng.endpoint.sa(id).unwrap().state(), State::Established);
    // charon sent its liveness checks and got our answers.
    let log = aws.log();
    let dpd = log.matches("sending DPD request").count();
    let requests = log
        .lines()
        .filter(|l| l.contains("generating INFORMATIONAL request") && l.contains("[ ]"))
        .count();
    let answers = log
        .lines()
        .filter(|l| l.contains("parsed INFORMATIONAL response") && l.contains("[ ]"))
        .count();
    assert!(
        dpd >= 3 && requests >= 3 && answers >= 3,
        "{dpd} DPD, {requests} probes, {answers} answers\n{}",
        aws.log_tail(40)
    );
    let ours = eng
        .sent
        .iter()
        .filter(|(_, t)| {
            header(t).is_some_and(|h| h.exchange == ExchangeType::INFORMATIONAL && h.flags.response)
        })
        .count();
    assert!(ours >= 3, "{ours} answers from us");
    assert!(eng.endpoint.sa(id).unwrap().stats().integrity_failures == 0);
}

#[test]
fn our_ike_delete_removes_charons_sa() {
    let Setup {
        aws,
        mut eng,
        id,
        lab: _lab,
        inside: _inside,
    } = setup(None, None);
    let spi = eng.child().unwrap().spi_in;
    eng.delete_ike(id).unwrap();
    let done = eng.run_until(Duration::from_secs(5), |e| {
        has(e, |ev| matches!(ev, Event::IkeSaClosed { .. }))
    });
    assert!(done, "{:?}", eng.event_list());
    let tail: Vec<Event> = eng
        .event_list()
        .into_iter()
        .filter(|e| matches!(e, Event::ChildSaDeleted { .. } | Event::IkeSaClosed { .. }))
        .collect();
    assert_eq!(
        tail,
        [
            Event::ChildSaDeleted {
                spi_in: spi,
                by: DeletedBy::Us
            },
            Event::IkeSaClosed { by: DeletedBy::Us }
        ]
    );
    assert!(aws.list_sas().is_empty(), "{:#?}", aws.list_sas());
    assert!(
        aws.log().contains("received DELETE for IKE_SA"),
        "{}",
        aws.log_tail(30)
    );
}

#[test]
fn charons_ike_delete_closes_ours() {
    let Setup {
        aws,
        mut eng,
        id,
        lab: _lab,
        inside: _inside,
    } = setup(None, None);
    let spi = eng.child().unwrap().spi_in;
    let result = std::thread::scope(|scope| {
        let h = scope.spawn(|| aws.terminate());
        eng.run_until(Duration::from_secs(12), |_| h.is_finished());
        h.join().expect("terminate thread")
    });
    result.unwrap_or_else(|e| panic!("swanctl --terminate: {e}"));
    eng.run_until(Duration::from_millis(200), |_| false);
    let tail: Vec<Event> = eng
        .event_list()
        .into_iter()
        .filter(|e| matches!(e, Event::ChildSaDeleted { .. } | Event::IkeSaClosed { .. }))
        .collect();
    assert_eq!(
        tail,
        [
            Event::ChildSaDeleted {
                spi_in: spi,
                by: DeletedBy::Peer
            },
            Event::IkeSaClosed {
                by: DeletedBy::Peer
            }
        ]
    );
    assert!(eng.endpoint.sa(id).is_none_or(|s| s.is_closed()));
    assert!(aws.list_sas().is_empty());
}

#[test]
fn child_deletes_both_ways() {
    // Ours: charon keeps the IKE SA without a child.
    let Setup {
        aws,
        mut eng,
        id,
        lab: _lab,
        inside: _inside,
    } = setup(None, None);
    let spi = eng.child().unwrap().spi_in;
    eng.delete_child(id, spi).unwrap();
    let done = eng.run_until(Duration::from_secs(5), |e| {
        has(e, |ev| matches!(ev, Event::ChildSaDeleted { .. }))
    });
    assert!(done, "{:?}", eng.event_list());
    assert!(has(&eng, |e| *e
        == Event::ChildSaDeleted {
            spi_in: spi,
            by: DeletedBy::Us
        }));
    let sas = aws.list_sas();
    assert_eq!(sas.len(), 1);
    assert_eq!(sas[0].state, "ESTABLISHED");
    assert!(sas[0].children.is_empty(), "{:#?}", sas[0].children);
    assert_eq!(eng.endpoint.sa(id).unwrap().state(), State::Established);
    drop((aws, eng));

    // Theirs: we answer with our inbound SPI; charon's child is gone.
    let Setup {
        aws,
        mut eng,
        id,
        lab: _lab,
        inside: _inside,
    } = setup(None, None);
    let spi = eng.child().unwrap().spi_in;
    let result = std::thread::scope(|scope| {
        let h = scope.spawn(|| aws.terminate_child());
        eng.run_until(Duration::from_secs(12), |_| h.is_finished());
        h.join().expect("terminate thread")
    });
    result.unwrap_or_else(|e| panic!("swanctl --terminate --child: {e}"));
    eng.run_until(Duration::from_millis(200), |_| false);
    assert!(has(&eng, |e| *e
        == Event::ChildSaDeleted {
            spi_in: spi,
            by: DeletedBy::Peer
        }));
    assert_eq!(eng.endpoint.sa(id).unwrap().state(), State::Established);
    let sas = aws.list_sas();
    assert_eq!(sas.len(), 1);
    assert!(sas[0].children.is_empty(), "{:#?}", sas[0].children);
    // charon accepted our answer (it names our inbound SPI of the pair).
    let log = aws.log();
    assert!(
        !log.contains("CHILD_SA not found") && log.contains("parsed INFORMATIONAL response"),
        "{}",
        aws.log_tail(30)
    );
}
