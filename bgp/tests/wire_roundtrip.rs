//! Property tests: every message emits and parses back equal, in 2- and
//! 4-octet AS contexts, with IPv4 and IPv6 prefixes; UPDATE packing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp::route::{AsPath, AsSegment, IpNet, Origin, PathAttributes};
use bgp::wire::attributes::normalize;
use bgp::wire::update::encode_withdrawals;
use bgp::wire::{
    encode_updates, Capability, Context, Message, Notification, Open, Parsed, RouteRefresh, Update,
    MAX_MESSAGE_LEN,
};
use proptest::prelude::*;

fn v4_prefix() -> impl Strategy<Value = IpNet> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| {
        IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), l)
            .unwrap()
            .trunc()
    })
}

fn v6_prefix() -> impl Strategy<Value = IpNet> {
    (any::<u128>(), 0u8..=128).prop_map(|(a, l)| {
        IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), l)
            .unwrap()
            .trunc()
    })
}

fn v4_host() -> impl Strategy<Value = IpAddr> {
    (prop_oneof![1u8..=126, 128u8..=223], any::<[u8; 3]>())
        .prop_map(|(a, r)| IpAddr::V4(Ipv4Addr::new(a, r[0], r[1], r[2])))
}

fn v6_host() -> impl Strategy<Value = IpAddr> {
    any::<u64>()
        .prop_map(|r| IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(r) | 1)))
}

fn asn() -> impl Strategy<Value = u32> {
    prop_oneof![
        1u32..=65535,
        65536u32..=u32::MAX,
        Just(bgp::route::AS_TRANS)
    ]
}

fn as_path() -> impl Strategy<Value = AsPath> {
    let short = prop::collection::vec(
        prop_oneof![
            3 => prop::collection::vec(asn(), 1..12).prop_map(AsSegment::Sequence),
            1 => prop::collection::vec(asn(), 1..5).prop_map(AsSegment::Set),
        ],
        0..4,
    );
    // At most one sequence past 255 ASes (split in two on the wire).
    let long = prop::option::weighted(0.2, prop::collection::vec(asn(), 250..270));
    (short, long, any::<prop::sample::Index>()).prop_map(|(mut segs, long, at)| {
        if let Some(l) = long {
            segs.insert(at.index(segs.len() + 1), AsSegment::Sequence(l));
        }
        AsPath(segs)
    })
}

fn other_attrs() -> impl Strategy<Value = Vec<(u8, u8, Vec<u8>)>> {
    let aggregator = prop::option::of((asn(), any::<[u8; 4]>()).prop_map(|(a, ip)| {
        let mut v = a.to_be_bytes().to_vec();
        v.extend_from_slice(&ip);
        (0xc0u8, 7u8, v)
    }));
    let unknown = prop::collection::vec(
        (
            prop::sample::select(vec![0xc0u8, 0xe0]),
            prop::sample::select(vec![99u8, 150, 250]),
            prop::collection::vec(any::<u8>(), 0..280),
        ),
        0..3,
    );
    (aggregator, unknown).prop_map(|(agg, mut unknown)| {
        // One of each type code (repeats are discarded on receipt).
        unknown.sort_by_key(|u| u.1);
        unknown.dedup_by_key(|u| u.1);
        agg.into_iter().chain(unknown).collect()
    })
}

fn attributes(
    next_hop: impl Strategy<Value = IpAddr>,
    ibgp: bool,
) -> impl Strategy<Value = PathAttributes> {
    (
        prop::sample::select(vec![Origin::Igp, Origin::Egp, Origin::Incomplete]),
        as_path(),
        next_hop,
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u32>()),
        prop::collection::vec(any::<u32>(), 0..6),
        any::<bool>(),
        other_attrs(),
    )
        .prop_map(
            move |(origin, as_path, next_hop, med, lp, communities, atomic_aggregate, other)| {
                PathAttributes {
                    origin,
                    as_path,
                    next_hop,
                    med,
                    local_pref: if ibgp { lp } else { None },
                    communities,
                    atomic_aggregate,
                    other,
                }
            },
        )
}

fn context() -> impl Strategy<Value = Context> {
    (any::<bool>(), any::<bool>()).prop_map(|(four, ibgp)| Context {
        ibgp,
        ..Context::new(four)
    })
}

fn update(ibgp: bool) -> impl Strategy<Value = Update> {
    let withdrawn = (
        prop::collection::vec(v4_prefix(), 0..20),
        prop::collection::vec(v6_prefix(), 0..15),
    )
        .prop_map(|(mut a, b)| {
            a.extend(b);
            a
        });
    let announce = prop_oneof![
        Just(None),
        (
            attributes(v4_host(), ibgp),
            prop::collection::vec(v4_prefix(), 1..25)
        )
            .prop_map(Some),
        (
            attributes(v6_host(), ibgp),
            prop::collection::vec(v6_prefix(), 1..25)
        )
            .prop_map(Some),
        (
            attributes(v6_host(), ibgp),
            prop::collection::vec(v4_prefix(), 1..25)
        )
            .prop_map(Some),
    ];
    (withdrawn, announce).prop_map(|(withdrawn, a)| match a {
        Some((attrs, announced)) => Update {
            withdrawn,
            attributes: Some(attrs),
            announced,
            treat_as_withdraw: false,
        },
        None => Update::withdraw(withdrawn),
    })
}

fn open() -> impl Strategy<Value = Open> {
    (
        1u32..,
        any::<bool>(),
        prop_oneof![Just(0u16), 3u16..],
        1u32..,
        prop::collection::vec(
            prop_oneof![
                Just(Capability::Multiprotocol { afi: 1, safi: 1 }),
                Just(Capability::Multiprotocol { afi: 2, safi: 1 }),
                (any::<u16>(), any::<u8>())
                    .prop_map(|(afi, safi)| Capability::Multiprotocol { afi, safi }),
                Just(Capability::RouteRefresh),
                (70u8..=255, prop::collection::vec(any::<u8>(), 0..60))
                    .prop_map(|(c, v)| Capability::Unknown(c, v)),
            ],
            0..12,
        ),
    )
        .prop_filter("AS_TRANS is nobody's AS", |(a, ..)| {
            *a != bgp::route::AS_TRANS
        })
        .prop_map(|(asn, four, hold_time, id, mut capabilities)| {
            if four || asn > 0xffff {
                capabilities.push(Capability::FourOctetAs(asn));
            }
            Open {
                version: 4,
                asn,
                hold_time,
                bgp_id: Ipv4Addr::from(id),
                capabilities,
            }
        })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        update(false).prop_map(Message::Update),
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..100)
        )
            .prop_map(|(c, s, d)| Message::Notification(Notification::new(c, s, d))),
        Just(Message::Keepalive),
        (any::<u16>(), any::<u8>())
            .prop_map(|(afi, safi)| Message::RouteRefresh(RouteRefresh { afi, safi })),
    ]
}

/// What a message reads as after a trip: paths in canonical form.
fn canonical(m: &Message) -> Message {
    let mut m = m.clone();
    if let Message::Update(u) = &mut m {
        if let Some(a) = &mut u.attributes {
            a.as_path = normalize(a.as_path.0.clone());
        }
    }
    m
}

fn parse_one(bytes: &[u8], ctx: &Context) -> Message {
    match Message::parse(bytes, ctx) {
        Ok(Parsed::Message(m, n)) => {
            assert_eq!(n, bytes.len());
            m
        }
        other => panic!("{other:?} for {bytes:02x?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn message_round_trip(m in message(), ctx in context()) {
        let bytes = m.to_bytes(&ctx);
        prop_assert!(bytes.len() <= MAX_MESSAGE_LEN, "{} octets", bytes.len());
        let back = parse_one(&bytes, &ctx);
        prop_assert_eq!(&back, &canonical(&m));
        // And the re-emission is byte-identical to the canonical form's.
        prop_assert!(back.to_bytes(&ctx) == canonical(&m).to_bytes(&ctx));
    }

    #[test]
    fn ibgp_update_round_trip(u in update(true), four in any::<bool>()) {
        let ctx = Context { ibgp: true, ..Context::new(four) };
        let m = Message::Update(u);
        let back = parse_one(&m.to_bytes(&ctx), &ctx);
        prop_assert_eq!(back, canonical(&m));
    }

    #[test]
    fn stream_of_messages(ms in prop::collection::vec(message(), 1..6), ctx in context(), cut in any::<prop::sample::Index>()) {
        let mut stream = Vec::new();
        for m in &ms {
            m.emit(&ctx, &mut stream);
        }
        // Any prefix of the first message asks for more.
        let first = ms[0].to_bytes(&ctx).len();
        let k = cut.index(first);
        match Message::parse(&stream[..k], &ctx) {
            Ok(Parsed::NeedMore(n)) => prop_assert!(n > k),
            other => prop_assert!(false, "{:?}", other),
        }
        let mut at = 0;
        for m in &ms {
            match Message::parse(&stream[at..], &ctx) {
                Ok(Parsed::Message(back, n)) => {
                    prop_assert_eq!(back, canonical(m));
                    at += n;
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
        prop_assert_eq!(at, stream.len());
    }

    #[test]
    fn packing_keeps_every_prefix_within_4096(
        attrs in attributes(v4_host(), false),
        v4 in prop::collection::vec(v4_prefix(), 0..2000),
        v6 in prop::collection::vec(v6_prefix(), 0..800),
        four in any::<bool>(),
    ) {
        let ctx = Context::new(four);
        let mut all = v4.clone();
        all.extend(v6.iter().copied());
        let msgs = encode_updates(&attrs, &all, &ctx).unwrap();
        let mut got = Vec::new();
        for (i, bytes) in msgs.iter().enumerate() {
            prop_assert!(bytes.len() <= MAX_MESSAGE_LEN);
            let Message::Update(u) = parse_one(bytes, &ctx) else { panic!() };
            prop_assert!(!u.treat_as_withdraw);
            prop_assert_eq!(u.attributes.as_ref().map(|a| &a.as_path), Some(&normalize(attrs.as_path.0.clone())));
            // Every message but each family's last is nearly full.
            let last_of_family = i + 1 == msgs.len()
                || (u.announced[0].addr().is_ipv4() && {
                    let Message::Update(n) = parse_one(&msgs[i + 1], &ctx) else { panic!() };
                    n.announced[0].addr().is_ipv6()
                });
            if !last_of_family {
                prop_assert!(bytes.len() > MAX_MESSAGE_LEN - 18, "{} octets", bytes.len());
            }
            got.extend(u.announced);
        }
        prop_assert_eq!(&got, &all);

        let msgs = encode_withdrawals(&[v4, v6].concat(), &ctx);
        let mut n = 0;
        for bytes in &msgs {
            prop_assert!(bytes.len() <= MAX_MESSAGE_LEN);
            let Message::Update(u) = parse_one(bytes, &ctx) else { panic!() };
            n += u.withdrawn.len();
        }
        prop_assert_eq!(n, all.len());
    }
}

#[test]
fn many_prefixes_split_into_full_messages() {
    let ctx = Context::new(true);
    let attrs = PathAttributes::originated("169.254.15.194".parse().unwrap());
    let prefixes: Vec<IpNet> = (0..10_000u32)
        .map(|i| IpNet::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i << 8))), 24).unwrap())
        .collect();
    let msgs = encode_updates(&attrs, &prefixes, &ctx).unwrap();
    // 4 octets per /24; about (4096 - 19 - 4 - 18) / 4 = 1013 per message.
    assert_eq!(msgs.len(), 10);
    assert!(msgs.iter().all(|m| m.len() <= 4096));
}

#[test]
fn huge_attributes_are_refused() {
    let mut attrs = PathAttributes::originated("169.254.15.194".parse().unwrap());
    attrs.communities = vec![1; 1100];
    let p: IpNet = "10.0.0.0/8".parse().unwrap();
    assert!(encode_updates(&attrs, &[p], &Context::default()).is_err());
}

/// Writes well-formed streams for the `bgp_parse` fuzz target: a context
/// byte then one to four messages. Run with
/// `BGP_SEED_DIR=fuzz/corpus/bgp_parse cargo test -p bgp --test wire_roundtrip -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    use proptest::strategy::ValueTree;
    let Ok(dir) = std::env::var("BGP_SEED_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (0u8..16, prop::collection::vec(message(), 1..4));
    for i in 0..400 {
        let (flags, ms) = strategy.new_tree(&mut runner).unwrap().current();
        let ctx = Context {
            four_octet_as: flags & 1 != 0,
            ipv4_unicast: flags & 2 == 0,
            ipv6_unicast: flags & 4 != 0,
            ibgp: flags & 8 != 0,
        };
        let mut bytes = vec![flags];
        for m in &ms {
            m.emit(&ctx, &mut bytes);
        }
        std::fs::write(format!("{dir}/seed-{i:03}"), bytes).unwrap();
    }
}
