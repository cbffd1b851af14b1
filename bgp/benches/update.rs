//! UPDATE decode and encode rates, in prefixes per second.
//!
//! - `decode/ipv4`: `Message::parse` over a stream of 10,000 UPDATEs of
//!   100 /24 IPv4 prefixes each with typical attributes (ORIGIN, a 3-AS
//!   AS_PATH, NEXT_HOP, MED, two communities), 4-octet AS session;
//! - `decode/ipv6`: the same with /48 IPv6 prefixes in MP_REACH_NLRI;
//! - `encode/ipv4`: `Message::emit` of those 10,000 UPDATEs into one
//!   reused buffer;
//! - `encode_updates/ipv4`: `encode_updates` packing the same 1,000,000
//!   prefixes into 4096-octet UPDATEs.
//!
//! `cargo bench -p bgp --bench update -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp::route::{AsPath, AsSegment, IpNet, PathAttributes};
use bgp::wire::{encode_updates, Context, Message, Parsed, Update};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const UPDATES: usize = 10_000;
const PER_UPDATE: usize = 100;

fn attrs(next_hop: IpAddr) -> PathAttributes {
    let mut a = PathAttributes::originated(next_hop);
    a.as_path = AsPath(vec![AsSegment::Sequence(vec![65000, 64512, 4_200_000_001])]);
    a.med = Some(100);
    a.communities = vec![0xfde8_0064, 0xfde8_00c8];
    a
}

fn updates(v6: bool) -> Vec<Message> {
    (0..UPDATES)
        .map(|u| {
            let prefixes = (0..PER_UPDATE)
                .map(|i| {
                    let n = (u * PER_UPDATE + i) as u32;
                    if v6 {
                        let a = (0x2001_0db8u128 << 96) | (u128::from(n) << 80);
                        IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), 48).unwrap()
                    } else {
                        IpNet::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (n << 8))), 24).unwrap()
                    }
                })
                .collect();
            let nh = if v6 {
                IpAddr::V6("2001:db8::1".parse().unwrap())
            } else {
                IpAddr::V4(Ipv4Addr::new(169, 254, 15, 193))
            };
            Message::Update(Update::announce(attrs(nh), prefixes))
        })
        .collect()
}

fn stream(ms: &[Message], ctx: &Context) -> Vec<u8> {
    let mut out = Vec::new();
    for m in ms {
        m.emit(ctx, &mut out);
    }
    out
}

fn decode_all(mut s: &[u8], ctx: &Context) -> usize {
    let mut n = 0;
    while let Ok(Parsed::Message(Message::Update(u), k)) = Message::parse(s, ctx) {
        n += u.announced.len();
        s = &s[k..];
    }
    n
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new(true);
    let v4 = updates(false);
    let v6 = updates(true);
    let s4 = stream(&v4, &ctx);
    let s6 = stream(&v6, &ctx);
    let total = (UPDATES * PER_UPDATE) as u64;
    assert_eq!(decode_all(&s4, &ctx), total as usize);
    assert_eq!(decode_all(&s6, &ctx), total as usize);

    let mut g = c.benchmark_group("update");
    g.sample_size(10);
    g.throughput(Throughput::Elements(total));
    g.bench_function("decode/ipv4", |b| {
        b.iter(|| decode_all(black_box(&s4), &ctx))
    });
    g.bench_function("decode/ipv6", |b| {
        b.iter(|| decode_all(black_box(&s6), &ctx))
    });
    let mut out = Vec::with_capacity(s4.len());
    g.bench_function("encode/ipv4", |b| {
        b.iter(|| {
            out.clear();
            for m in &v4 {
                m.emit(&ctx, &mut out);
            }
            black_box(out.len())
        })
    });
    let prefixes: Vec<IpNet> = v4
        .iter()
        .flat_map(|m| match m {
            Message::Update(u) => u.announced.clone(),
            _ => Vec::new(),
        })
        .collect();
    let a = attrs(IpAddr::V4(Ipv4Addr::new(169, 254, 15, 193)));
    g.bench_function("encode_updates/ipv4", |b| {
        b.iter(|| {
            encode_updates(&a, black_box(&prefixes), &ctx)
                .unwrap()
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
