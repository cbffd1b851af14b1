//! Setup shared by the `responder` fuzz target and its seed generator
//! (`ike/tests/fuzz_seeds.rs` includes this file with `#[path]`), so that
//! both build the same endpoint and the same initiator: the endpoint is
//! deterministic given its seed, so an IKE_AUTH recorded by the generator
//! is still genuine inside the target.
//!
//! Input layout of the target:
//!
//! ```text
//! flags (1) | record | record | ...
//! record: ctl (1) | src (1) | len (2, BE) | bytes (len)
//! ```
//!
//! flags: bit 0 runs an initiator (`IkeSa::initiate`, seed
//! [`INITIATOR_SEED`]) against the endpoint before the records, bit 1 lets
//! its datagrams reach the endpoint by themselves (so the IKE SA gets
//! established), bits 2-3 pick its suite ([`initiator_config`]).
//!
//! ctl: bit 0 local port (0: 500, 1: 4500), bits 1-2 the remote address
//! ([`REMOTES`]), bit 3 the remote port (0: same as local, 1: 33000, as
//! behind a NAT), bits 4-7 the clock step taken before the datagram
//! ([`STEPS_MS`]).
//!
//! src (mod 4): 0 the bytes are the datagram; 1 the initiator's k-th
//! datagram (k = first byte), 2 the endpoint's last transmit, 3 the last
//! datagram given to the endpoint; for 1-3 the remaining bytes are
//! mutations, 3 bytes each: position (2, BE, modulo the length), XOR value.
//! On port 4500 a raw datagram is taken as is (the generator adds the
//! non-ESP marker); datagrams of sources 1-3 carry what they carried.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg, Secret};
use ike::sa::{EspProposal, IkeConfig, IkeProposal, PreferOwn};

/// Seed of the endpoint under test.
pub const ENDPOINT_SEED: [u8; 32] = [0x5a; 32];
/// Seed of the initiator.
pub const INITIATOR_SEED: [u8; 32] = [0x11; 32];
/// The endpoint's address (TEST-NET-2).
pub const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
/// Remote addresses (TEST-NET-1); the first is the initiator's.
pub const REMOTES: [Ipv4Addr; 4] = [
    Ipv4Addr::new(192, 0, 2, 10),
    Ipv4Addr::new(192, 0, 2, 11),
    Ipv4Addr::new(192, 0, 2, 12),
    Ipv4Addr::new(192, 0, 2, 13),
];
/// Clock steps before a datagram, in milliseconds.
pub const STEPS_MS: [u64; 16] = [
    0, 0, 0, 10, 100, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 31_000, 60_000, 120_000, 600_000,
    3_600_000,
];
/// The remote port of ctl bit 3.
pub const NAT_PORT: u16 = 33000;

pub fn psk() -> Secret {
    Secret::from_slice(b"fuzz-pre-shared-key")
}

pub fn local_addr(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(LOCAL_IP), port)
}

pub fn initiator_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(REMOTES[0]), 500)
}

/// AWS's accepted set (as in ike/tests/common): two IKE proposals (CBC and
/// GCM) with every group AWS allows, two ESP proposals, AWS's own order.
pub fn responder_config() -> IkeConfig {
    let dh = vec![
        DhGroup::Modp1024,
        DhGroup::Modp2048,
        DhGroup::Modp3072,
        DhGroup::Modp4096,
        DhGroup::Modp6144,
        DhGroup::Modp8192,
        DhGroup::Ecp256,
        DhGroup::Ecp384,
        DhGroup::Ecp521,
        DhGroup::Modp1024S160,
        DhGroup::Modp2048S224,
        DhGroup::Modp2048S256,
    ];
    let prf = vec![
        PrfAlg::HmacSha1,
        PrfAlg::HmacSha256,
        PrfAlg::HmacSha384,
        PrfAlg::HmacSha512,
    ];
    let integ = vec![
        IntegAlg::HmacSha1_96,
        IntegAlg::HmacSha256_128,
        IntegAlg::HmacSha384_192,
        IntegAlg::HmacSha512_256,
    ];
    let cbc = vec![
        EncrAlg::AesCbc { key_bits: 128 },
        EncrAlg::AesCbc { key_bits: 256 },
    ];
    let gcm = vec![
        EncrAlg::AesGcm16 { key_bits: 128 },
        EncrAlg::AesGcm16 { key_bits: 256 },
    ];
    let ike = vec![
        IkeProposal {
            encr: cbc.clone(),
            prf: prf.clone(),
            integ: integ.clone(),
            dh: dh.clone(),
        },
        IkeProposal {
            encr: gcm.clone(),
            prf,
            integ: Vec::new(),
            dh,
        },
    ];
    let esp = vec![
        EspProposal {
            encr: cbc,
            integ,
            dh: Vec::new(),
        },
        EspProposal {
            encr: gcm,
            integ: Vec::new(),
            dh: Vec::new(),
        },
    ];
    let mut c = IkeConfig::new(psk(), ike, esp);
    c.policy = std::sync::Arc::new(PreferOwn);
    c
}

/// The initiator's configuration, one suite per `variant` (mod 4), cheap
/// groups only so that a handshake costs little per execution.
pub fn initiator_config(variant: u8) -> IkeConfig {
    let (encr, integ, prf, dh) = match variant % 4 {
        0 => (
            EncrAlg::AesGcm16 { key_bits: 128 },
            None,
            PrfAlg::HmacSha256,
            DhGroup::Ecp256,
        ),
        1 => (
            EncrAlg::AesCbc { key_bits: 256 },
            Some(IntegAlg::HmacSha256_128),
            PrfAlg::HmacSha256,
            DhGroup::Ecp256,
        ),
        2 => (
            EncrAlg::AesGcm16 { key_bits: 256 },
            None,
            PrfAlg::HmacSha384,
            DhGroup::Ecp384,
        ),
        _ => (
            EncrAlg::AesCbc { key_bits: 128 },
            Some(IntegAlg::HmacSha1_96),
            PrfAlg::HmacSha1,
            DhGroup::Modp1024,
        ),
    };
    let ike = vec![IkeProposal {
        encr: vec![encr],
        prf: vec![prf],
        integ: integ.into_iter().collect(),
        dh: vec![dh],
    }];
    let esp = vec![EspProposal {
        encr: vec![encr],
        integ: integ.into_iter().collect(),
        dh: Vec::new(),
    }];
    IkeConfig::new(psk(), ike, esp)
}

/// One record of the input.
pub fn record(ctl: u8, src: u8, bytes: &[u8]) -> Vec<u8> {
    let len = u16::try_from(bytes.len()).expect("record too long");
    let mut r = vec![ctl, src];
    r.extend_from_slice(&len.to_be_bytes());
    r.extend_from_slice(bytes);
    r
}
