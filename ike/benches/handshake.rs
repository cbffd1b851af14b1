//! Full IKE_SA_INIT + IKE_AUTH handshakes (with the first child SA) in
//! memory, per second, for DH groups 14, 19 and 31.

use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ike::crypto::{DhGroup, EncrAlg, PrfAlg, Secret};
use ike::sa::{loopback, EspProposal, Event, IkeConfig, IkeProposal};

fn config(dh: DhGroup) -> Arc<IkeConfig> {
    let gcm = EncrAlg::AesGcm16 { key_bits: 128 };
    Arc::new(IkeConfig::new(
        Secret::from_slice(b"bench-psk-0123456789"),
        vec![IkeProposal {
            encr: vec![gcm],
            prf: vec![PrfAlg::HmacSha256],
            integ: vec![],
            dh: vec![dh],
        }],
        vec![EspProposal {
            encr: vec![gcm],
            integ: vec![],
            dh: vec![],
        }],
    ))
}

/// One handshake, messages handed over directly (no clock advances).
fn handshake(cfg: &Arc<IkeConfig>, seed: u8) {
    let cgw: SocketAddr = "192.0.2.10:500".parse().unwrap();
    let aws: SocketAddr = "198.51.100.10:500".parse().unwrap();
    let o = loopback::run(cfg.clone(), cfg.clone(), cgw, aws, [seed; 32]);
    assert!(
        o.initiator
            .iter()
            .any(|e| matches!(e, Event::ChildSaInstalled(_))),
        "{:?}",
        o.initiator
    );
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ike_handshake");
    g.throughput(Throughput::Elements(1));
    for dh in [DhGroup::Modp2048, DhGroup::Ecp256, DhGroup::Curve25519] {
        let cfg = config(dh);
        let mut seed = 0u8;
        g.bench_with_input(BenchmarkId::from_parameter(dh as u16), &cfg, |b, cfg| {
            b.iter(|| {
                seed = seed.wrapping_add(1);
                handshake(cfg, seed)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
