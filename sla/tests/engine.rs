//! The prober on a virtual clock: a path model answers (or drops) each
//! probe after a chosen delay; cycles, statistics, return codes, tracks
//! and reactions are checked against hand-computed values.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use sla::config::{OperationConfig, OperationKind};
use sla::engine::{Prober, Reply, ReturnCode, SlaEvent, Stamps};
use sla::reaction::{Measure, ReactionConfig, ThresholdType};
use sla::stats::Codec;
use sla::track::{TrackConfig, TrackKind, TrackState};

const TARGET: &str = "198.19.0.10";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What the path does to probe `seq`: `Some((to_responder, back))` one-way
/// delays, or `None` (lost, with where).
#[derive(Clone, Copy)]
enum Fate {
    Answer(Duration, Duration),
    LostThere,
    LostBack,
}

/// Runs `prober` on a virtual clock from `t0` for `span`, answering each
/// probe as `fate(op, seq)` says, with a responder whose clock is `skew`
/// ahead (one-way delays then carry it; RTT and jitter must not).
fn drive(
    prober: &mut Prober,
    t0: Instant,
    span: Duration,
    skew_ns: u64,
    fate: impl Fn(usize, u32) -> Fate,
) -> Vec<SlaEvent> {
    let ns = |t: Instant| t.duration_since(t0).as_nanos() as u64;
    let mut pending: Vec<(Instant, Reply)> = Vec::new();
    let mut responder_counts = vec![0u32; prober.len()];
    let mut events = Vec::new();
    let mut now = t0;
    let end = t0 + span;
    loop {
        prober.handle_timeout(now);
        while let Some(p) = prober.poll_probe() {
            let kind = prober.config(p.op).unwrap().kind;
            match fate(p.op, p.seq) {
                Fate::Answer(there, back) => {
                    responder_counts[p.op] += 1;
                    let stamps = (kind == OperationKind::UdpJitter).then(|| Stamps {
                        sender_tx_ns: ns(now),
                        responder_rx_ns: ns(now + there) + skew_ns,
                        responder_tx_ns: ns(now + there) + skew_ns + 50_000,
                        sender_rx_ns: ns(now + there + back + Duration::from_micros(50)),
                        responder_count: responder_counts[p.op],
                    });
                    let at = now + there + back + Duration::from_micros(50);
                    pending.push((
                        at,
                        Reply {
                            op: p.op,
                            seq: p.seq,
                            stamps,
                        },
                    ));
                }
                Fate::LostBack => responder_counts[p.op] += 1,
                Fate::LostThere => {}
            }
        }
        while let Some(e) = prober.poll_event() {
            events.push(e);
        }
        pending.sort_by_key(|(t, _)| *t);
        let next_reply = pending.first().map(|(t, _)| *t);
        let next = [prober.poll_timeout(), next_reply]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { break };
        if next > end {
            break;
        }
        now = next.max(now);
        while pending.first().is_some_and(|(t, _)| *t <= now) {
            let (_, r) = pending.remove(0);
            prober.handle_reply(now, r);
        }
    }
    while let Some(e) = prober.poll_event() {
        events.push(e);
    }
    events
}

fn cycles(events: &[SlaEvent]) -> Vec<(ReturnCode, sla::stats::CycleStats)> {
    events
        .iter()
        .filter_map(|e| match e {
            SlaEvent::Cycle { code, stats, .. } => Some((*code, **stats)),
            _ => None,
        })
        .collect()
}

fn jitter_op() -> OperationConfig {
    let mut o = OperationConfig::new("jitter", OperationKind::UdpJitter, TARGET.parse().unwrap());
    o.port = Some(5000);
    o.frequency = Duration::from_secs(10);
    o.timeout = Duration::from_secs(1);
    o.threshold = ms(100);
    o.packets = 5;
    o.interval = ms(20);
    o.codec = Some(Codec::G711Ulaw);
    o
}

#[test]
fn udp_jitter_cycle_by_hand() {
    let t0 = Instant::now();
    let mut p = Prober::new(vec![jitter_op()], t0);
    // There: 10, 12, 11, 15, 15 ms; back: 5 ms each. Responder clock 1 h ahead.
    let there = [10, 12, 11, 15, 15];
    let ev = drive(
        &mut p,
        t0,
        Duration::from_secs(5),
        3_600_000_000_000,
        |_, s| Fate::Answer(ms(there[s as usize]), ms(5)),
    );
    let c = cycles(&ev);
    assert_eq!(c.len(), 1);
    let (code, st) = c[0];
    assert_eq!(code, ReturnCode::Ok);
    assert_eq!((st.loss.sent, st.loss.received, st.loss.lost), (5, 5, 0));
    // RTT = there + back (the responder's 50 us processing removed).
    assert_eq!(st.rtt.min_ms.round(), 15.0);
    assert_eq!(st.rtt.max_ms.round(), 20.0);
    assert!((st.rtt.avg_ms().unwrap() - 17.6).abs() < 1e-6);
    // SD changes +2, -1, +4, 0: positive 2 (sum 6), negative 1 (sum 1).
    assert_eq!(st.jitter_sd.positive.count, 2);
    assert!((st.jitter_sd.positive.sum_ms - 6.0).abs() < 1e-6);
    assert_eq!(st.jitter_sd.negative.count, 1);
    assert!((st.jitter_sd.negative.sum_ms - 1.0).abs() < 1e-6);
    // DS constant: no jitter back.
    assert_eq!(st.jitter_ds.positive.count + st.jitter_ds.negative.count, 0);
    // One-way SD carries the skew (unsynchronised clocks): 3.6e6 ms + delay.
    assert!((st.one_way_sd.min_ms - 3_600_010.0).abs() < 1e-3);
    // Jitter avg over both directions: (6 + 1) / 3.
    assert!((st.jitter_avg_ms().unwrap() - 7.0 / 3.0).abs() < 1e-6);
    let status = p.status();
    assert_eq!(status[0].track, TrackState::Up);
    // RFC 3550 over the SD transits 10, 12, 11, 15, 15: 0.41845703125 then
    // decays by 15/16 for the last (0 change).
    let expect = 0.418_457_031_25 * 15.0 / 16.0;
    assert!((status[0].interarrival_jitter_ms - expect).abs() < 1e-6);
    // MOS for G.711 at 8.8 ms one way, 2.33 ms jitter, no loss: R and MOS near the top.
    let v = status[0].last_voice.unwrap();
    assert!(v.mos > 4.35 && v.mos < 4.41, "{v:?}");
    assert_eq!(v.icpif, 0);
}

#[test]
fn losses_split_by_direction_late_and_out_of_sequence() {
    let t0 = Instant::now();
    let mut op = jitter_op();
    op.packets = 6;
    let mut p = Prober::new(vec![op], t0);
    // seq 1 lost on the way there, seq 3 on the way back, seq 4 answered
    // after 2 s (late: timed out first), seq 5 overtakes seq 2.
    let ev = drive(&mut p, t0, Duration::from_secs(5), 0, |_, s| match s {
        1 => Fate::LostThere,
        3 => Fate::LostBack,
        4 => Fate::Answer(ms(2000), ms(5)),
        2 => Fate::Answer(ms(100), ms(5)),
        _ => Fate::Answer(ms(10), ms(5)),
    });
    let c = cycles(&ev);
    let (code, st) = c[0];
    assert_eq!(code, ReturnCode::Ok);
    assert_eq!(
        (st.loss.sent, st.loss.received, st.loss.lost),
        (6, 3, 3),
        "{st:?}"
    );
    // The responder counted 4 of 6 (seqs 0, 2, 3, 4... and 5): 5 reached it; 1 lost there.
    assert_eq!((st.loss.lost_sd, st.loss.lost_ds), (1, 2));
    assert_eq!(st.loss.out_of_sequence, 1, "seq 2 after seq 5");
    assert!((st.loss.loss_percent().unwrap() - 50.0).abs() < 1e-9);
    // The late answer arrives after the cycle ended: counted in the total.
    assert_eq!(p.status()[0].total.loss.late, 1);
}

#[test]
fn timeouts_track_down_after_its_delay_and_reactions_fire() {
    let t0 = Instant::now();
    let mut op = OperationConfig::new("t1", OperationKind::IcmpEcho, TARGET.parse().unwrap());
    op.frequency = Duration::from_secs(5);
    op.timeout = Duration::from_secs(2);
    op.threshold = ms(50);
    op.track = TrackConfig {
        kind: TrackKind::State,
        delay_up: Duration::ZERO,
        delay_down: Duration::from_secs(12),
    };
    op.reactions = vec![
        ReactionConfig {
            name: "slow".into(),
            measure: Measure::Rtt,
            threshold_type: ThresholdType::Consecutive(2),
            raise: 50.0,
            clear: 30.0,
            command: None,
        },
        ReactionConfig {
            name: "down".into(),
            measure: Measure::Timeout,
            threshold_type: ThresholdType::XOfY(2, 3),
            raise: 0.5,
            clear: 0.5,
            command: None,
        },
    ];
    let mut p = Prober::new(vec![op], t0);
    // Cycles at 0, 5, 10, ...: seq 0-1 fast, 2-3 slow (80 ms), 4.. lost.
    let ev = drive(&mut p, t0, Duration::from_secs(60), 0, |_, s| match s {
        0 | 1 => Fate::Answer(ms(5), ms(5)),
        2 | 3 => Fate::Answer(ms(40), ms(40)),
        _ => Fate::LostThere,
    });
    let codes: Vec<ReturnCode> = cycles(&ev).iter().map(|c| c.0).collect();
    assert_eq!(
        &codes[..5],
        [
            ReturnCode::Ok,
            ReturnCode::Ok,
            ReturnCode::OverThreshold,
            ReturnCode::OverThreshold,
            ReturnCode::Timeout
        ]
    );
    // The state track goes down 12 s after the first OverThreshold (cycle
    // at 10 s, result at 10.08 s), not at once: at 22.08 s; times are
    // checked through the order of events instead of a clock.
    let track: Vec<(usize, TrackState)> = ev
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            SlaEvent::Track { to, .. } => Some((i, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        track.iter().map(|t| t.1).collect::<Vec<_>>(),
        [TrackState::Up, TrackState::Down]
    );
    let cycles_before_down = ev[..track[1].0]
        .iter()
        .filter(|e| matches!(e, SlaEvent::Cycle { .. }))
        .count();
    // Cycles ending by 22.08 s: those started at 0, 5, 10, 15 (20's ends at 22 s: timeout).
    assert_eq!(cycles_before_down, 5);
    let reactions: Vec<(String, bool)> = ev
        .iter()
        .filter_map(|e| match e {
            SlaEvent::Reaction { event, .. } => Some((event.reaction.clone(), event.raised)),
            _ => None,
        })
        .collect();
    // "slow" after two slow cycles; no RTT in timed-out cycles keeps it
    // raised; "down" after 2 of 3 timeouts.
    assert_eq!(
        reactions,
        [("slow".to_string(), true), ("down".to_string(), true)]
    );
}

#[test]
fn cycles_keep_their_cadence_on_the_virtual_clock() {
    let t0 = Instant::now();
    let mut op = OperationConfig::new("t", OperationKind::TcpConnect, TARGET.parse().unwrap());
    op.port = Some(22);
    op.frequency = Duration::from_secs(3);
    op.timeout = Duration::from_secs(1);
    let mut p = Prober::new(vec![op], t0);
    let mut sends = Vec::new();
    let mut now = t0;
    for _ in 0..20 {
        p.handle_timeout(now);
        while let Some(r) = p.poll_probe() {
            sends.push((now.duration_since(t0), r.seq));
            p.handle_unreachable(now, r.op, r.seq);
        }
        now = p.poll_timeout().unwrap();
        if now > t0 + Duration::from_secs(10) {
            break;
        }
    }
    assert_eq!(
        sends,
        [
            (Duration::ZERO, 0),
            (Duration::from_secs(3), 1),
            (Duration::from_secs(6), 2),
            (Duration::from_secs(9), 3)
        ]
    );
    let st = &p.status()[0];
    assert_eq!(st.last_code, Some(ReturnCode::Unreachable));
    assert_eq!(st.total.loss.unreachable, 4);
    assert_eq!(st.total.loss.loss_percent(), Some(100.0));
    let _: IpAddr = TARGET.parse().unwrap();
}
