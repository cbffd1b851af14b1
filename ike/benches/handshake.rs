//! Full IKE_SA_INIT + IKE_AUTH handshakes (with the first child SA) in
//! memory, per second, for DH groups 14, 19 and 31.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ike::crypto::{DhGroup, EncrAlg, PrfAlg, Secret};
use ike::natt::{classify_udp4500, Udp4500};
use ike::sa::{Endpoint, EspProposal, Event, IkeConfig, IkeProposal, IkeSa};

fn config(dh: DhGroup) -> Arc<IkeConfig> {
    let gcm = EncrAlg::AesGcm16 { key_bits: 128 };
    Arc::new(IkeConfig::new(
        Secret::from_slice(b"bench-psk-0123456789"),
        vec![IkeProposal { encr: vec![gcm], prf: vec![PrfAlg::HmacSha256], integ: vec![], dh: vec![dh] }],
        vec![EspProposal { encr: vec![gcm], integ: vec![], dh: vec![] }],
    ))
}

/// One handshake, messages handed over directly (no clock advances).
fn handshake(cfg: &Arc<IkeConfig>, seed: u8) {
    let cgw: SocketAddr = "192.0.2.10:500".parse().unwrap();
    let aws: SocketAddr = "198.51.100.10:500".parse().unwrap();
    let now = Instant::now();
    let mut init = IkeSa::initiate(cfg.clone(), cgw, aws, now, [seed; 32]);
    let mut resp = Endpoint::new(Some(cfg.clone()), [seed ^ 0x55; 32]);
    let mut installed = 0;
    for _ in 0..8 {
        while let Some(t) = init.poll_transmit() {
            resp.handle_datagram(now, t.remote, t.local, &t.payload);
        }
        while let Some(t) = resp.poll_transmit() {
            let msg = match t.remote.port() {
                4500 => match classify_udp4500(&t.payload) {
                    Udp4500::Ike(m) => m.to_vec(),
                    _ => continue,
                },
                _ => t.payload.clone(),
            };
            init.handle_message(now, t.remote, t.local, &msg);
        }
        while let Some(e) = init.poll_event() {
            if matches!(e, Event::ChildSaInstalled(_)) {
                installed += 1;
            }
        }
        while resp.poll_event().is_some() {}
        if installed > 0 {
            return;
        }
    }
    panic!("handshake did not complete");
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
