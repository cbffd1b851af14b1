//! Setup and input layout shared by the `established` fuzz target and its
//! seed generator (`ike/tests/fuzz_seeds.rs` includes this file with
//! `#[path]`).
//!
//! The target builds a genuine pair (an initiator `Endpoint` and a
//! responder `Endpoint`, joined by an in-memory link with a queue each
//! way), establishes an IKE SA from the setup byte, then runs steps. Fuzzed
//! requests and responses go out through the engine's test hooks
//! `IkeSa::fuzz_send_request` / `fuzz_send_response`, sealed under the SA's
//! real keys, so they reach the handlers behind the integrity check.
//!
//! ```text
//! setup (1) | step | step | ...        (at most MAX_STEPS steps)
//! ```
//!
//! setup: bits 0-1 the suite ([`configs`]), bit 2 IKE fragmentation with a
//! small fragment size (else not offered), bit 3 DPD on both sides
//! (`Dpd::aws()`), bit 4 the initiator's DPD action (0 Clear, 1 Restart),
//! bit 5 short lifetimes ([`SHORT`]), bit 6 PFS (ECP-256) on child rekeys,
//! bit 7 forced UDP encapsulation (both float to 4500).
//!
//! A step is an op byte (mod [`OPS`]) and its arguments; a missing byte
//! reads as 0. `side` bit 0 picks the endpoint (0 initiator, 1 responder),
//! bits 1-7 the SA among its live ones (mod their number, established ones
//! first).
//!
//! | op | arguments | what |
//! |---|---|---|
//! | [`OP_PUMP`] | | deliver everything both ways until quiet |
//! | [`OP_ADVANCE`] | step | advance the clock by [`STEPS_MS`]`[step % 16]`, firing timers on the way (and pumping) |
//! | [`OP_LINK`] | b | bit 0: link down (everything sent is lost) or up |
//! | [`OP_DROP`] | b | drop queued datagrams: bit 0 direction (0: to the responder), bit 1 all (else the first) |
//! | [`OP_DUP`] | b | duplicate the datagrams queued in direction bit 0 |
//! | [`OP_DELIVER_ONE`] | b | deliver only the first datagram queued in direction bit 0 |
//! | [`OP_REQUEST_RAW`] | side, exch, first, len (2, BE), bytes | `fuzz_send_request` of raw inner bytes |
//! | [`OP_REQUEST_BUILT`] | side, kind, param, n, n x (pos (2, BE), xor) | a well-formed chain ([`REQ_KINDS`]), then mutated (xor 0: truncate at pos) |
//! | [`OP_RESPONSE_RAW`] | side, exch, first, len (2, BE), bytes | `fuzz_send_response` of raw inner bytes |
//! | [`OP_RESPONSE_BUILT`] | side, kind, param, n, n x (pos, xor) | a well-formed answer ([`RESP_KINDS`]), then mutated |
//! | [`OP_API`] | side, call, idx | [`API_CALLS`]: the public API |
//!
//! exch (mod 8): 0-2 CREATE_CHILD_SA, 3-4 INFORMATIONAL, 5 IKE_AUTH,
//! 6 IKE_SA_INIT, 7 the byte itself as the exchange type.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{Dpd, DpdAction, EspProposal, IkeConfig, IkeProposal, Lifetimes};

pub const INITIATOR_SEED: [u8; 32] = [0x21; 32];
pub const RESPONDER_SEED: [u8; 32] = [0x42; 32];
/// Seed of the generator the target uses for nonces, SPIs and KE values of
/// the chains it builds.
pub const BUILDER_SEED: [u8; 32] = [0x77; 32];
pub const INITIATOR_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub const RESPONDER_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

pub const MAX_STEPS: usize = 64;
/// Most IKE SAs either endpoint may hold after a step has drained.
pub const MAX_SAS: usize = 8;
/// Most child SAs either side may hold after a quiet settling period.
pub const MAX_CHILDREN: usize = 3;

pub const OPS: u8 = 11;
pub const OP_PUMP: u8 = 0;
pub const OP_ADVANCE: u8 = 1;
pub const OP_LINK: u8 = 2;
pub const OP_DROP: u8 = 3;
pub const OP_DUP: u8 = 4;
pub const OP_DELIVER_ONE: u8 = 5;
pub const OP_REQUEST_RAW: u8 = 6;
pub const OP_REQUEST_BUILT: u8 = 7;
pub const OP_RESPONSE_RAW: u8 = 8;
pub const OP_RESPONSE_BUILT: u8 = 9;
pub const OP_API: u8 = 10;

/// Kinds of built requests (kind mod 8).
pub const REQ_KINDS: [&str; 8] = [
    "INFORMATIONAL, empty (liveness check)",
    "INFORMATIONAL, Delete ESP (the sender's child idx = param)",
    "INFORMATIONAL, Delete IKE",
    "CREATE_CHILD_SA child rekey: N(REKEY_SA) SA Ni [KEi] TSi TSr",
    "CREATE_CHILD_SA IKE rekey: SA (8-byte SPI) Ni KEi",
    "CREATE_CHILD_SA new child (no REKEY_SA): SA Ni [KEi] TSi TSr",
    "INFORMATIONAL, Delete ESP of every child of the sender and a bogus SPI",
    "INFORMATIONAL, N(kind from param) and Delete ESP",
];
pub const REQ_LIVENESS: u8 = 0;
pub const REQ_DELETE_CHILD: u8 = 1;
pub const REQ_DELETE_IKE: u8 = 2;
pub const REQ_REKEY_CHILD: u8 = 3;
pub const REQ_REKEY_IKE: u8 = 4;
pub const REQ_NEW_CHILD: u8 = 5;
pub const REQ_DELETE_ALL: u8 = 6;
pub const REQ_NOTIFY_DELETE: u8 = 7;

/// Kinds of built responses (kind mod 8).
pub const RESP_KINDS: [&str; 8] = [
    "INFORMATIONAL, empty",
    "INFORMATIONAL, Delete ESP (the sender's child idx = param)",
    "CREATE_CHILD_SA child answer: SA Nr [KEr] TSi TSr",
    "CREATE_CHILD_SA IKE rekey answer: SA (8-byte SPI) Nr KEr",
    "CREATE_CHILD_SA error notify (from param)",
    "INFORMATIONAL error notify (from param)",
    "CREATE_CHILD_SA, INVALID_KE_PAYLOAD naming a group (param)",
    "CREATE_CHILD_SA, empty",
];
pub const RESP_EMPTY: u8 = 0;
pub const RESP_DELETE_CHILD: u8 = 1;
pub const RESP_CHILD: u8 = 2;
pub const RESP_IKE: u8 = 3;
pub const RESP_ERROR_CHILD: u8 = 4;
pub const RESP_ERROR_INFO: u8 = 5;
pub const RESP_INVALID_KE: u8 = 6;
pub const RESP_EMPTY_CHILD: u8 = 7;

/// Public API calls (call mod 6).
pub const API_CALLS: [&str; 6] = [
    "rekey_child(child idx)",
    "rekey_ike",
    "delete_child(child idx)",
    "delete_ike",
    "initiate another IKE SA (initiator endpoint; once per run)",
    "note_inbound_esp (the data plane saw traffic)",
];
pub const API_REKEY_CHILD: u8 = 0;
pub const API_REKEY_IKE: u8 = 1;
pub const API_DELETE_CHILD: u8 = 2;
pub const API_DELETE_IKE: u8 = 3;
pub const API_INITIATE: u8 = 4;
pub const API_ESP: u8 = 5;

/// Clock steps of OP_ADVANCE, in milliseconds: up to nine hours, so that
/// default lifetimes (child 1 h, IKE 8 h) run out too.
pub const STEPS_MS: [u64; 16] = [
    0, 10, 500, 2_000, 5_000, 10_000, 31_000, 60_000, 120_000, 300_000, 600_000, 1_800_000,
    3_600_000, 7_200_000, 14_400_000, 32_400_000,
];

/// Short lifetimes (setup bit 5).
pub const SHORT: Lifetimes = Lifetimes {
    ike: Duration::from_secs(300),
    child: Duration::from_secs(120),
    margin: Duration::from_secs(30),
    fuzz_percent: 100,
};

pub fn initiator_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(INITIATOR_IP), 500)
}

pub fn responder_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(RESPONDER_IP), 500)
}

/// The initiator's and the responder's configurations for `setup`: the
/// same single suite on both sides (ECP-256 throughout, cheap enough to
/// rekey often).
pub fn configs(setup: u8) -> (IkeConfig, IkeConfig) {
    let (encr, integ, prf) = match setup & 3 {
        0 => (
            EncrAlg::AesGcm16 { key_bits: 128 },
            None,
            PrfAlg::HmacSha256,
        ),
        1 => (
            EncrAlg::AesCbc { key_bits: 256 },
            Some(IntegAlg::HmacSha256_128),
            PrfAlg::HmacSha256,
        ),
        2 => (
            EncrAlg::AesGcm16 { key_bits: 256 },
            None,
            PrfAlg::HmacSha384,
        ),
        _ => (
            EncrAlg::AesCbc { key_bits: 128 },
            Some(IntegAlg::HmacSha1_96),
            PrfAlg::HmacSha1,
        ),
    };
    let ike = vec![IkeProposal {
        encr: vec![encr],
        prf: vec![prf],
        integ: integ.into_iter().collect(),
        dh: vec![DhGroup::Ecp256],
    }];
    let pfs = if setup & 0x40 != 0 {
        vec![DhGroup::Ecp256]
    } else {
        Vec::new()
    };
    let esp = vec![EspProposal {
        encr: vec![encr],
        integ: integ.into_iter().collect(),
        dh: pfs,
    }];
    let psk = Secret::from_slice(b"fuzz-established-psk");
    let mut i = IkeConfig::new(psk.clone(), ike.clone(), esp.clone());
    let mut r = IkeConfig::new(psk, ike, esp);
    for c in [&mut i, &mut r] {
        c.fragmentation = setup & 4 != 0;
        c.fragment_size = 256;
        if setup & 8 != 0 {
            c.dpd = Some(Dpd::aws());
        }
        if setup & 0x20 != 0 {
            c.lifetimes = SHORT;
        }
    }
    if let Some(d) = i.dpd.as_mut() {
        if setup & 0x10 != 0 {
            d.action = DpdAction::Restart;
        }
    }
    i.force_encapsulation = setup & 0x80 != 0;
    (i, r)
}

/// A step with raw inner bytes (OP_REQUEST_RAW or OP_RESPONSE_RAW).
pub fn raw_step(op: u8, side: u8, exch: u8, first: u8, bytes: &[u8]) -> Vec<u8> {
    let len = u16::try_from(bytes.len()).expect("step too long");
    let mut s = vec![op, side, exch, first];
    s.extend_from_slice(&len.to_be_bytes());
    s.extend_from_slice(bytes);
    s
}

/// A step with a built chain (OP_REQUEST_BUILT or OP_RESPONSE_BUILT) and
/// its mutations (pos, xor).
pub fn built_step(op: u8, side: u8, kind: u8, param: u8, muts: &[(u16, u8)]) -> Vec<u8> {
    let mut s = vec![op, side, kind, param, muts.len() as u8];
    for (pos, x) in muts {
        s.extend_from_slice(&pos.to_be_bytes());
        s.push(*x);
    }
    s
}
