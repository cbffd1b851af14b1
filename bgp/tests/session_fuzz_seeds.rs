//! Seeds for the `bgp_session` fuzz target, run through the target's own
//! invariants here (`fuzz/shared/bgp_session.rs`), and written out with
//!
//! ```sh
//! FUZZ_SEED_DIR=$PWD/fuzz/corpus cargo test -p bgp --test session_fuzz_seeds -- --ignored
//! ```

#[path = "../../fuzz/shared/bgp_session.rs"]
mod shared;

use std::time::{Duration, Instant};

use bgp::wire::{Context, Message, Notification, RouteRefresh};
use shared::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Genuine streams and driver scripts, as (name, input).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let now = Instant::now();
    let ctx = Context::new(true);
    let mut out = Vec::new();
    for flags in [
        0,
        PEER_HOLD_ZERO,
        NO_FOUR_OCTET,
        IPV6,
        RESTART,
        PASSIVE | RESTART,
    ] {
        // OpenSent: the peer's OPEN and KEEPALIVE in odd chunks, then
        // keepalives both ways for a minute, then silence to hold expiry.
        let mut open = peer_open(flags, now);
        open.extend(keepalive());
        let (a, b) = open.split_at(7);
        let mut ops = vec![Op::Bytes(a), Op::Bytes(b)];
        let ka = keepalive();
        for _ in 0..6 {
            ops.push(Op::Step(secs(10)));
            ops.push(Op::Bytes(&ka));
        }
        ops.push(Op::Step(secs(95)));
        ops.push(Op::Control(3));
        ops.push(Op::Control(8));
        ops.push(Op::Control(0));
        out.push((format!("opensent-{flags:02x}"), encode(flags, &ops)));

        // Established: UPDATEs, a ROUTE-REFRESH, our own sends, a
        // NOTIFICATION from the peer, then a restart.
        let fl = flags | ESTABLISHED;
        let upd: Vec<u8> = (0..5)
            .flat_map(|i| Message::Update(update(i)).to_bytes(&ctx))
            .collect();
        let rr = Message::RouteRefresh(RouteRefresh { afi: 1, safi: 1 }).to_bytes(&ctx);
        let cease = Message::Notification(Notification::max_prefixes(1, 1, 100)).to_bytes(&ctx);
        let ops = vec![
            Op::Bytes(&upd[..40]),
            Op::Bytes(&upd[40..]),
            Op::Bytes(&rr),
            Op::Control(5),
            Op::Control(6),
            Op::Step(secs(10)),
            Op::Framed(2, &[0, 0, 0, 0]),
            Op::Framed(4, &[]),
            Op::Bytes(&cease),
            Op::Step(secs(6)),
            Op::Control(0),
        ];
        out.push((format!("established-{fl:02x}"), encode(fl, &ops)));

        // Established, then our own Cease 6/1 and a stop.
        let ops = vec![
            Op::Control(7),
            Op::Step(secs(6)),
            Op::Control(0),
            Op::Bytes(&open),
            Op::Control(4),
        ];
        out.push((format!("cease-{fl:02x}"), encode(fl, &ops)));
    }
    out
}

#[test]
fn seeds_keep_the_targets_invariants() {
    let seeds = seeds();
    assert!(seeds.len() >= 18);
    for (name, input) in &seeds {
        eprintln!("{name}: {} bytes", input.len());
        run(input);
    }
}

#[test]
fn odd_inputs_keep_the_targets_invariants() {
    // Garbage, truncated ops, a bad header, huge time steps.
    let inputs: [&[u8]; 6] = [
        &[],
        &[0xff],
        &[1, 0, 5, 1, 2, 3],
        &[0, 0, 19, 0xff, 0xff, 0xff],
        &[1, 1, 0xff, 0xff, 1, 0xff, 0xff, 2, 8, 2, 8],
        &[
            0x3f, 3, 0, 7, 1, 2, 3, 4, 5, 6, 7, 2, 9, 2, 9, 2, 4, 2, 3, 2, 0,
        ],
    ];
    for i in inputs {
        run(i);
    }
}

#[test]
#[ignore = "writes fuzz seeds; needs FUZZ_SEED_DIR"]
fn write_fuzz_seeds() {
    let dir = std::env::var("FUZZ_SEED_DIR").expect("FUZZ_SEED_DIR");
    let dir = std::path::Path::new(&dir).join("bgp_session");
    std::fs::create_dir_all(&dir).expect("create seed dir");
    for (name, input) in seeds() {
        std::fs::write(dir.join(name), input).expect("write seed");
    }
}
