//! Seed corpora for the `esp_open`, `responder` and `established` fuzz
//! targets (see fuzz/README.md). Ignored: run on demand with
//! `FUZZ_SEED_DIR=$PWD/fuzz/corpus cargo test -p ike --test fuzz_seeds -- --ignored`,
//! which writes `$FUZZ_SEED_DIR/esp_open/`, `$FUZZ_SEED_DIR/responder/`,
//! `$FUZZ_SEED_DIR/established/`
//! (and the genuine IKE messages into `$FUZZ_SEED_DIR/parse_message/`).
//! Without the variable the tests still run (as a smoke test of the seed
//! generation) but write nothing.

#[path = "../../fuzz/shared/responder.rs"]
mod shared;

#[path = "../../fuzz/shared/established.rs"]
mod established;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::natt::{classify_udp4500, Udp4500};
use ike::sa::{Endpoint, Event, IkeSa, Transmit};

fn write(target: &str, seeds: &[Vec<u8>]) {
    let Ok(dir) = std::env::var("FUZZ_SEED_DIR") else {
        return;
    };
    let dir = format!("{dir}/{target}");
    std::fs::create_dir_all(&dir).expect("seed dir");
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(format!("{dir}/seed-{i:03}.bin"), s).expect("write seed");
    }
}

/// A minimal IPv4/UDP packet of `len` bytes (header fields only roughly
/// right: the ESP layer does not look inside).
fn inner_packet(len: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len).map(|i| i as u8).collect();
    if len >= 20 {
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 1, 0, 1]);
    }
    p
}

/// esp_open: `suite | window (2) | inner len | inner | ops`, for every
/// suite, with a few scripts: seal/open, mutate/open, jumps.
#[test]
#[ignore]
fn write_esp_open_seeds() {
    let mut seeds = Vec::new();
    for suite in 0u8..10 {
        for (window, len) in [(1024u16 - 64, 40u8), (0, 0), (2048 - 64, 255)] {
            let mut s = vec![suite];
            s.extend_from_slice(&window.to_be_bytes());
            s.push(len);
            s.extend_from_slice(&inner_packet(usize::from(len)));
            // seal 8*8 bytes, open; flip a byte, open; seal after a jump of
            // 3000, open; seal 100 back, open; seal with next header 0x11,
            // open; truncate by 1, open.
            s.extend_from_slice(&[0, 8]);
            s.extend_from_slice(&inner_packet(64));
            s.push(2);
            s.extend_from_slice(&[4, 0, 20, 0x01, 2]);
            s.extend_from_slice(&[1]);
            s.extend_from_slice(&3000u32.to_be_bytes());
            s.extend_from_slice(&[20]);
            s.extend_from_slice(&inner_packet(20));
            s.push(2);
            // op 21: 21 % 10 == 1 (jump), bit 2 set (backward), delta >> 2.
            s.extend_from_slice(&[21]);
            s.extend_from_slice(&400u32.to_be_bytes());
            s.extend_from_slice(&[0]);
            s.push(2);
            s.extend_from_slice(&[9, 0x11, 4, 1, 2, 3, 4, 2]);
            s.extend_from_slice(&[5, 0, 1, 2]);
            seeds.push(s);
        }
    }
    assert_eq!(seeds.len(), 30);
    write("esp_open", &seeds);
}

/// Runs the target's initiator against the target's endpoint (same seeds,
/// same addresses, no clock movement) and returns every datagram the
/// initiator sent, as (local port at the endpoint, payload).
fn genuine_datagrams(variant: u8) -> Vec<Transmit> {
    let now = Instant::now();
    let mut init = IkeSa::initiate(
        Arc::new(shared::initiator_config(variant)),
        shared::initiator_addr(),
        shared::local_addr(500),
        now,
        shared::INITIATOR_SEED,
    );
    let mut resp = Endpoint::new(
        Some(Arc::new(shared::responder_config())),
        shared::ENDPOINT_SEED,
    );
    let mut sent = Vec::new();
    let mut established = false;
    for _ in 0..8 {
        let mut moved = false;
        while let Some(t) = init.poll_transmit() {
            moved = true;
            resp.handle_datagram(now, t.remote, t.local, &t.payload);
            sent.push(t);
        }
        while let Some(t) = resp.poll_transmit() {
            moved = true;
            let msg: &[u8] = if t.remote.port() != 500 {
                match classify_udp4500(&t.payload) {
                    Udp4500::Ike(m) => m,
                    _ => continue,
                }
            } else {
                &t.payload
            };
            init.handle_message(now, t.remote, t.local, msg);
        }
        while let Some(e) = init.poll_event() {
            established |= matches!(e, Event::IkeSaEstablished(_));
        }
        while resp.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
    assert!(established, "variant {variant} did not establish");
    // A retransmission of nothing; then let the initiator's timers run so
    // that whatever it sends later is recorded too.
    init.handle_timeout(now + Duration::from_secs(3600));
    while let Some(t) = init.poll_transmit() {
        sent.push(t);
    }
    sent
}

/// A fresh endpoint given the recorded datagrams alone (as the target does
/// with flags 0) establishes the IKE SA: the recording is still genuine.
fn replay_establishes(sent: &[Transmit]) {
    let now = Instant::now();
    let mut resp = Endpoint::new(
        Some(Arc::new(shared::responder_config())),
        shared::ENDPOINT_SEED,
    );
    for t in sent {
        resp.handle_datagram(now, t.remote, t.local, &t.payload);
    }
    let mut established = false;
    while let Some((_, e)) = resp.poll_event() {
        established |= matches!(e, Event::IkeSaEstablished(_));
    }
    assert!(established, "the recorded handshake does not replay");
}

fn ctl_for(local: SocketAddr) -> u8 {
    // remote index 0 (the initiator's address), remote port = local port,
    // no clock step.
    u8::from(local.port() == 4500)
}

/// responder: genuine handshakes as raw records (flags 0), the same with
/// the target's own initiator (flags 1 and 3, every suite), plus a few
/// malformed and ESP-looking datagrams.
#[test]
#[ignore]
fn write_responder_seeds() {
    let mut seeds = Vec::new();
    let mut messages = Vec::new();
    for variant in 0u8..4 {
        let sent = genuine_datagrams(variant);
        assert!(sent.len() >= 2, "IKE_SA_INIT and IKE_AUTH");
        for t in &sent {
            // The bare IKE messages also seed parse_message.
            match classify_udp4500(&t.payload) {
                Udp4500::Ike(m) if t.remote.port() == 4500 => messages.push(m.to_vec()),
                _ => messages.push(t.payload.clone()),
            }
        }
        // Raw genuine datagrams: the endpoint builds the same SA as when
        // they were recorded, so the IKE_AUTH decrypts.
        replay_establishes(&sent);
        let mut s = vec![0u8];
        for t in &sent {
            s.extend(shared::record(ctl_for(t.remote), 0, &t.payload));
        }
        seeds.push(s.clone());
        // The same, then a replay of the IKE_AUTH 2 s later, and a keepalive
        // and an ESP-looking datagram on 4500.
        s.extend(shared::record(
            0x70 | ctl_for(sent[1].remote),
            0,
            &sent[1].payload,
        ));
        s.extend(shared::record(1, 0, &[0xff]));
        s.extend(shared::record(
            1,
            0,
            &[0xc0, 0xde, 0, 1, 0, 0, 0, 1, 9, 9, 9, 9],
        ));
        seeds.push(s);
        // Only the IKE_SA_INIT, then the half-open timer runs out.
        let mut s = vec![0u8];
        s.extend(shared::record(ctl_for(sent[0].remote), 0, &sent[0].payload));
        s.extend(shared::record(0xb0, 0, &[]));
        seeds.push(s);
        // In-target initiator, held back: deliver its IKE_SA_INIT and
        // IKE_AUTH by index, the second with one byte flipped.
        let flags = 1 | (variant << 2);
        let mut s = vec![flags];
        s.extend(shared::record(0, 1, &[0]));
        s.extend(shared::record(0, 1, &[1]));
        s.extend(shared::record(0, 1, &[1, 0, 40, 0x01]));
        seeds.push(s);
        // In-target initiator, established; then a reflection of the
        // endpoint's last answer, a duplicate of the last request, and a
        // clock jump.
        let mut s = vec![flags | 2];
        s.extend(shared::record(0, 2, &[]));
        s.extend(shared::record(0, 3, &[]));
        s.extend(shared::record(0, 1, &[1]));
        s.extend(shared::record(0xf0, 0, &[]));
        seeds.push(s);
    }
    // Odd datagrams.
    for d in [
        &[][..],
        &[0xff][..],
        &[0, 0, 0, 0][..],
        &[0u8; 28][..],
        &[1, 2, 3, 4, 5, 6, 7, 8][..],
    ] {
        for ctl in [0u8, 1] {
            let mut s = vec![0u8];
            s.extend(shared::record(ctl, 0, d));
            seeds.push(s);
        }
    }
    write("responder", &seeds);
    // Distinct file names from write_fuzz_seeds' seed-NNN.bin.
    let Ok(dir) = std::env::var("FUZZ_SEED_DIR") else {
        return;
    };
    let dir = format!("{dir}/parse_message");
    std::fs::create_dir_all(&dir).expect("seed dir");
    for (i, m) in messages.iter().enumerate() {
        std::fs::write(format!("{dir}/genuine-{i:03}.bin"), m).expect("write seed");
    }
}

/// established: one seed per kind of step (see fuzz/shared/established.rs),
/// each on a setup that makes it interesting: timers over hours with short
/// lifetimes, DPD with the link down, every built request and response
/// kind (fragmented when the setup negotiates it), raw chains, drops,
/// duplicates, one-at-a-time delivery and the public API from both sides.
#[test]
#[ignore]
fn write_established_seeds() {
    use established::*;
    use ike::wire::{emit_payloads, Delete, Payload};

    const I: u8 = 0; // the initiator's first SA
    const R: u8 = 1; // the responder's first SA
    let advance = |step: u8| vec![OP_ADVANCE, step];
    let api = |side: u8, call: u8, idx: u8| vec![OP_API, side, call, idx];
    let req = |side: u8, kind: u8, param: u8| built_step(OP_REQUEST_BUILT, side, kind, param, &[]);
    let resp =
        |side: u8, kind: u8, param: u8| built_step(OP_RESPONSE_BUILT, side, kind, param, &[]);
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut seed = |setup: u8, steps: Vec<Vec<u8>>| {
        let mut s = vec![setup];
        for st in steps {
            s.extend(st);
        }
        seeds.push(s);
    };

    // Clock only: an hour, then nine (default lifetimes rekey both SAs);
    // short lifetimes rekeyed over minutes.
    seed(0x00, vec![vec![OP_PUMP], advance(12), advance(15)]);
    seed(0x21, vec![advance(8), advance(9), advance(10), advance(11)]);
    // DPD: the link goes down until the peer is declared dead (Clear,
    // then Restart), then comes back.
    seed(
        0x0a,
        vec![
            vec![OP_LINK, 1],
            advance(6),
            advance(7),
            vec![OP_LINK, 0],
            advance(7),
        ],
    );
    seed(
        0x1b,
        vec![
            vec![OP_LINK, 1],
            advance(7),
            advance(7),
            vec![OP_LINK, 0],
            advance(8),
        ],
    );
    // Every built request, from both sides, on suites with fragmentation,
    // PFS and NAT-T in turn.
    for (k, setup) in [0x00u8, 0x05, 0x06, 0x47, 0x84, 0x45, 0x02, 0x23]
        .into_iter()
        .enumerate()
    {
        let kind = k as u8;
        seed(
            setup,
            vec![
                req(I, kind, 0),
                vec![OP_PUMP],
                req(R, kind, 1),
                vec![OP_PUMP],
                advance(9),
            ],
        );
    }
    // A mutated child rekey and IKE rekey (byte flips and a truncation).
    seed(
        0x45,
        vec![
            built_step(
                OP_REQUEST_BUILT,
                I,
                REQ_REKEY_CHILD,
                0,
                &[(8, 0x01), (40, 0x80)],
            ),
            vec![OP_PUMP],
            built_step(OP_REQUEST_BUILT, R, REQ_REKEY_IKE, 0, &[(60, 0)]),
            vec![OP_PUMP],
        ],
    );
    // Built responses: the initiator's own request (API) is lost on the
    // way and the responder answers it with a built chain instead.
    for (call, kind) in [
        (API_REKEY_CHILD, RESP_CHILD),
        (API_REKEY_IKE, RESP_IKE),
        (API_REKEY_CHILD, RESP_ERROR_CHILD),
        (API_REKEY_IKE, RESP_INVALID_KE),
        (API_DELETE_CHILD, RESP_DELETE_CHILD),
        (API_DELETE_IKE, RESP_EMPTY),
    ] {
        seed(
            0x04,
            vec![
                api(I, call, 0),
                vec![OP_DROP, 0],
                resp(R, kind, 2),
                vec![OP_PUMP],
                advance(8),
            ],
        );
    }
    // Raw chains: a genuine Delete of the IKE SA as raw bytes, garbage
    // with a Notify first payload, and a raw response.
    let mut del = Vec::new();
    let first = emit_payloads(&[Payload::Delete(Delete::ike())], &mut del);
    seed(
        0x01,
        vec![
            raw_step(OP_REQUEST_RAW, R, 3, first.0, &del),
            vec![OP_PUMP],
            advance(9),
        ],
    );
    seed(
        0x04,
        vec![
            raw_step(
                OP_REQUEST_RAW,
                I,
                0,
                41,
                &[0, 0, 0, 8, 0, 0, 0x40, 0x09, 1, 2, 3],
            ),
            vec![OP_PUMP],
            api(I, API_REKEY_CHILD, 0),
            vec![OP_DROP, 2],
            raw_step(OP_RESPONSE_RAW, R, 1, 0, &[]),
            vec![OP_PUMP],
        ],
    );
    // Duplicates and one-at-a-time delivery of a fragmented rekey;
    // crossing rekeys from both sides; a second IKE SA and deletes.
    seed(
        0x04,
        vec![
            api(I, API_REKEY_IKE, 0),
            vec![OP_DUP, 0],
            vec![OP_DELIVER_ONE, 0],
            vec![OP_DELIVER_ONE, 1],
            vec![OP_DELIVER_ONE, 0],
            vec![OP_PUMP],
            advance(3),
        ],
    );
    seed(
        0x60,
        vec![
            api(I, API_REKEY_CHILD, 0),
            api(R, API_REKEY_CHILD, 0),
            vec![OP_PUMP],
            api(I, API_REKEY_IKE, 0),
            api(R, API_REKEY_IKE, 0),
            vec![OP_PUMP],
            advance(9),
        ],
    );
    seed(
        0x08,
        vec![
            api(I, API_INITIATE, 0),
            vec![OP_PUMP],
            api(R, API_DELETE_CHILD, 0),
            api(I, API_DELETE_IKE, 0),
            vec![OP_PUMP],
            api(R, API_ESP, 0),
            advance(7),
        ],
    );
    assert!(seeds.len() >= 20, "{} seeds", seeds.len());
    write("established", &seeds);
}
