//! Every NOTIFICATION the codec asks for (RFC 4271 6, RFC 5492, RFC 6793,
//! RFC 7313, RFC 7606), every RFC 7606 downgrade, and known bytes written
//! by hand from the RFCs' layouts.

use std::net::{IpAddr, Ipv4Addr};

use bgp::route::{AsPath, AsSegment, IpNet, Origin, PathAttributes};
use bgp::wire::{
    Capability, Context, ErrorAction, Message, MessageError, Notification, Open, Parsed,
    RouteRefresh, Update, UpdateError,
};

// ---------------------------------------------------------------- helpers

fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

fn upd(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = (withdrawn.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    msg(2, &b)
}

fn parse(bytes: &[u8], ctx: &Context) -> Result<Message, MessageError> {
    match Message::parse(bytes, ctx)? {
        Parsed::Message(m, n) => {
            assert_eq!(n, bytes.len());
            Ok(m)
        }
        Parsed::NeedMore(n) => panic!("needs {n} octets"),
    }
}

fn err(bytes: &[u8], ctx: &Context) -> Notification {
    match parse(bytes, ctx) {
        Err(e) => e.notification,
        Ok(m) => panic!("parsed {m:?}"),
    }
}

fn update(bytes: &[u8], ctx: &Context) -> (Update, Vec<UpdateError>) {
    let mut notes = Vec::new();
    match Message::parse_with_notes(bytes, ctx, &mut notes) {
        Ok(Parsed::Message(Message::Update(u), _)) => (u, notes),
        other => panic!("{other:?}"),
    }
}

fn notif(code: u8, subcode: u8, data: &[u8]) -> Notification {
    Notification::new(code, subcode, data.to_vec())
}

fn ctx2() -> Context {
    Context::default()
}

fn ctx4() -> Context {
    Context::new(true)
}

const ORIGIN_IGP: [u8; 4] = [0x40, 1, 1, 0];
const NH: [u8; 7] = [0x40, 3, 4, 192, 0, 2, 1];
const NLRI: [u8; 4] = [24, 10, 0, 0];

/// AS_PATH with one AS_SEQUENCE of 2-octet ASes.
fn path2(ases: &[u16]) -> Vec<u8> {
    let mut v = vec![0x40, 2, (2 + 2 * ases.len()) as u8, 2, ases.len() as u8];
    for a in ases {
        v.extend_from_slice(&a.to_be_bytes());
    }
    v
}

fn path4(ases: &[u32]) -> Vec<u8> {
    let mut v = vec![0x40, 2, (2 + 4 * ases.len()) as u8, 2, ases.len() as u8];
    for a in ases {
        v.extend_from_slice(&a.to_be_bytes());
    }
    v
}

/// ORIGIN, AS_PATH (65001), NEXT_HOP, then `extra`.
fn attrs2(extra: &[u8]) -> Vec<u8> {
    [&ORIGIN_IGP[..], &path2(&[65001]), &NH, extra].concat()
}

fn taw(bytes: &[u8], ctx: &Context, code: u8, subcode: u8) {
    let (u, notes) = update(bytes, ctx);
    assert!(u.treat_as_withdraw, "{u:?}");
    assert!(u.attributes.is_none());
    assert!(!u.announced.is_empty());
    assert!(
        notes
            .iter()
            .any(|n| n.action == ErrorAction::TreatAsWithdraw
                && n.type_code == code
                && n.subcode == subcode),
        "{notes:?}"
    );
}

fn discard(bytes: &[u8], ctx: &Context, code: u8) -> Update {
    let (u, notes) = update(bytes, ctx);
    assert!(!u.treat_as_withdraw, "{notes:?}");
    assert!(u.attributes.is_some());
    assert!(
        notes
            .iter()
            .any(|n| n.action == ErrorAction::AttributeDiscard && n.type_code == code),
        "{notes:?}"
    );
    u
}

fn open_body(version: u8, as2: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&as2.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    b
}

// ----------------------------------------------------------- known bytes

#[test]
fn keepalive_known_bytes() {
    let k = [0xffu8; 16]
        .iter()
        .copied()
        .chain([0, 19, 4])
        .collect::<Vec<_>>();
    assert_eq!(Message::Keepalive.to_bytes(&ctx4()), k);
    assert_eq!(parse(&k, &ctx4()).unwrap(), Message::Keepalive);
}

#[test]
fn open_known_bytes() {
    // AS 65000, hold 30, id 169.254.15.194; capabilities in one
    // parameter: MP IPv4 unicast, route refresh, 4-octet AS 65000.
    let params = [
        2, 14, //
        1, 4, 0, 1, 0, 1, //
        2, 0, //
        65, 4, 0, 0, 0xfd, 0xe8,
    ];
    let bytes = msg(1, &open_body(4, 65000, 30, [169, 254, 15, 194], &params));
    let open = Open::standard(65000, 30, Ipv4Addr::new(169, 254, 15, 194), false);
    assert_eq!(Message::Open(open.clone()).to_bytes(&ctx2()), bytes);
    assert_eq!(parse(&bytes, &ctx2()).unwrap(), Message::Open(open));
}

#[test]
fn open_four_octet_as_uses_as_trans() {
    let open = Open::standard(4_200_000_001, 30, Ipv4Addr::new(10, 0, 0, 1), true);
    let bytes = Message::Open(open.clone()).to_bytes(&ctx2());
    assert_eq!(&bytes[20..22], &23456u16.to_be_bytes());
    let Message::Open(back) = parse(&bytes, &ctx2()).unwrap() else {
        panic!()
    };
    assert_eq!(back.asn, 4_200_000_001);
    assert_eq!(back.four_octet_as(), Some(4_200_000_001));
    assert!(back.route_refresh());
    assert_eq!(back.families(), vec![(1, 1), (2, 1)]);
}

#[test]
fn open_unknown_capabilities_kept_and_params_split() {
    // Two parameters; an unknown capability (code 73, hostname) and a
    // known one with a bad length (kept as unknown).
    let params = [
        2, 6, 1, 4, 0, 2, 0, 1, 2, 9, 73, 3, b'c', b'g', b'w', 65, 2, 0, 1,
    ];
    let bytes = msg(1, &open_body(4, 65001, 90, [1, 2, 3, 4], &params));
    let Message::Open(o) = parse(&bytes, &ctx2()).unwrap() else {
        panic!()
    };
    assert_eq!(
        o.capabilities,
        vec![
            Capability::Multiprotocol { afi: 2, safi: 1 },
            Capability::Unknown(73, b"cgw".to_vec()),
            Capability::Unknown(65, vec![0, 1]),
        ]
    );
    assert_eq!(o.asn, 65001);
    assert_eq!(o.four_octet_as(), None);
}

#[test]
fn open_extended_optional_parameters_rfc9072() {
    let mut params = vec![255, 255, 0, 0]; // type 255, length patched below
    let mut caps = Vec::new();
    for i in 0..40u8 {
        caps.extend_from_slice(&[100 + i, 6, 1, 2, 3, 4, 5, 6]);
    }
    params.push(2);
    params.extend_from_slice(&(caps.len() as u16).to_be_bytes());
    params.extend_from_slice(&caps);
    let total = (params.len() - 4) as u16;
    params[2..4].copy_from_slice(&total.to_be_bytes());
    let mut body = open_body(4, 65001, 90, [1, 2, 3, 4], &[]);
    body.pop();
    body.push(255);
    body.extend_from_slice(&params[1..]);
    let bytes = msg(1, &body);
    let Message::Open(o) = parse(&bytes, &ctx2()).unwrap() else {
        panic!()
    };
    assert_eq!(o.capabilities.len(), 40);
    // And we emit the extended form when the parameters pass 255 octets.
    let back = Message::Open(o.clone()).to_bytes(&ctx2());
    assert_eq!(back[28], 255);
    assert_eq!(parse(&back, &ctx2()).unwrap(), Message::Open(o));
}

#[test]
fn update_known_bytes_two_octet() {
    // ORIGIN IGP, AS_PATH 65001, NEXT_HOP 192.0.2.1, MED 100; 10.0.0.0/24.
    let attrs = attrs2(&[0x80, 4, 4, 0, 0, 0, 100]);
    let bytes = upd(&[], &attrs, &NLRI);
    let mut pa = PathAttributes::originated(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    pa.as_path = AsPath(vec![AsSegment::Sequence(vec![65001])]);
    pa.med = Some(100);
    let u = Update::announce(pa, vec!["10.0.0.0/24".parse().unwrap()]);
    assert_eq!(Message::Update(u.clone()).to_bytes(&ctx2()), bytes);
    assert_eq!(parse(&bytes, &ctx2()).unwrap(), Message::Update(u));
}

#[test]
fn update_known_bytes_ipv6_mp() {
    // MP_REACH_NLRI AFI 2 SAFI 1, next hop 2001:db8::1, 2001:db8:1::/48;
    // then ORIGIN, AS_PATH 64512 (4-octet), and MP_UNREACH of 2001:db8:2::/48.
    let nh = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut reach = vec![0x80, 14, 0, 0, 2, 1, 16];
    reach.extend_from_slice(&nh);
    reach.extend_from_slice(&[0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
    reach[2] = (reach.len() - 3) as u8;
    let unreach = [0x80, 15, 10, 0, 2, 1, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 2];
    let attrs = [&unreach[..], &reach, &ORIGIN_IGP, &path4(&[64512])].concat();
    let bytes = upd(&[], &attrs, &[]);
    let mut pa = PathAttributes::originated("2001:db8::1".parse().unwrap());
    pa.as_path = AsPath(vec![AsSegment::Sequence(vec![64512])]);
    let u = Update {
        withdrawn: vec!["2001:db8:2::/48".parse().unwrap()],
        attributes: Some(pa),
        announced: vec!["2001:db8:1::/48".parse().unwrap()],
        treat_as_withdraw: false,
    };
    assert_eq!(parse(&bytes, &ctx4()).unwrap(), Message::Update(u.clone()));
    assert_eq!(Message::Update(u).to_bytes(&ctx4()), bytes);
}

#[test]
fn end_of_rib() {
    let bytes = upd(&[], &[], &[]);
    let Message::Update(u) = parse(&bytes, &ctx4()).unwrap() else {
        panic!()
    };
    assert!(u.is_end_of_rib());
}

#[test]
fn route_refresh_known_bytes() {
    let bytes = msg(5, &[0, 1, 0, 1]);
    let m = Message::RouteRefresh(RouteRefresh { afi: 1, safi: 1 });
    assert_eq!(m.to_bytes(&ctx4()), bytes);
    assert_eq!(parse(&bytes, &ctx4()).unwrap(), m);
}

#[test]
fn notification_known_bytes_max_prefixes() {
    let n = Notification::max_prefixes(1, 1, 100);
    let bytes = msg(3, &[6, 1, 0, 1, 1, 0, 0, 0, 100]);
    assert_eq!(Message::Notification(n.clone()).to_bytes(&ctx4()), bytes);
    let Message::Notification(back) = parse(&bytes, &ctx4()).unwrap() else {
        panic!()
    };
    assert_eq!(back.max_prefixes_data(), Some((1, 1, 100)));
    assert_eq!(
        back.describe(),
        "Cease / Maximum Number of Prefixes Reached (AFI 1, SAFI 1, limit 100)"
    );
}

// ------------------------------------------------------ header errors

#[test]
fn header_bad_marker_1_1() {
    let mut b = Message::Keepalive.to_bytes(&ctx4());
    b[3] = 0;
    assert_eq!(err(&b, &ctx4()), notif(1, 1, &[]));
}

#[test]
fn header_bad_length_1_2() {
    let mut b = Message::Keepalive.to_bytes(&ctx4());
    b[17] = 18;
    assert_eq!(err(&b, &ctx4()), notif(1, 2, &[0, 18]));
    b[16..18].copy_from_slice(&4097u16.to_be_bytes());
    assert_eq!(err(&b, &ctx4()), notif(1, 2, &[0x10, 0x01]));
    // KEEPALIVE must be exactly 19; OPEN at least 29; UPDATE 23;
    // NOTIFICATION 21.
    assert_eq!(err(&msg(4, &[0]), &ctx4()), notif(1, 2, &[0, 20]));
    assert_eq!(err(&msg(1, &[0; 9]), &ctx4()), notif(1, 2, &[0, 28]));
    assert_eq!(err(&msg(2, &[0; 3]), &ctx4()), notif(1, 2, &[0, 22]));
    assert_eq!(err(&msg(3, &[6]), &ctx4()), notif(1, 2, &[0, 20]));
}

#[test]
fn header_bad_type_1_3() {
    assert_eq!(err(&msg(6, &[]), &ctx4()), notif(1, 3, &[6]));
    assert_eq!(err(&msg(0, &[]), &ctx4()), notif(1, 3, &[0]));
}

#[test]
fn header_checked_before_body_arrives() {
    let mut b = msg(9, &[0; 100]);
    b.truncate(19);
    assert_eq!(err(&b, &ctx4()), notif(1, 3, &[9]));
    let b = msg(2, &[0; 100]);
    assert_eq!(Message::parse(&b[..50], &ctx4()), Ok(Parsed::NeedMore(119)));
    assert_eq!(Message::parse(&b[..5], &ctx4()), Ok(Parsed::NeedMore(19)));
}

#[test]
fn route_refresh_bad_length_7_1() {
    let b = msg(5, &[0, 1, 0, 1, 0]);
    assert_eq!(err(&b, &ctx4()), notif(7, 1, &b));
    let b = msg(5, &[]);
    assert_eq!(err(&b, &ctx4()), notif(7, 1, &b));
}

// --------------------------------------------------------- OPEN errors

#[test]
fn open_unsupported_version_2_1() {
    let b = msg(1, &open_body(3, 65001, 90, [1, 2, 3, 4], &[]));
    assert_eq!(err(&b, &ctx2()), notif(2, 1, &[0, 4]));
}

#[test]
fn open_bad_peer_as_2_2() {
    let b = msg(1, &open_body(4, 0, 90, [1, 2, 3, 4], &[]));
    assert_eq!(err(&b, &ctx2()), notif(2, 2, &[0, 0]));
    // 4-octet AS capability with AS 0 or AS_TRANS.
    let b = msg(
        1,
        &open_body(4, 23456, 90, [1, 2, 3, 4], &[2, 6, 65, 4, 0, 0, 0, 0]),
    );
    assert_eq!(err(&b, &ctx2()), notif(2, 2, &[0, 0]));
    let b = msg(
        1,
        &open_body(4, 23456, 90, [1, 2, 3, 4], &[2, 6, 65, 4, 0, 0, 0x5b, 0xa0]),
    );
    assert_eq!(err(&b, &ctx2()), notif(2, 2, &[0x5b, 0xa0]));
    // The configured AS differs (the session's check).
    let o = Open::standard(65001, 30, Ipv4Addr::new(1, 1, 1, 1), false);
    assert_eq!(o.check_peer_as(65001), Ok(()));
    assert_eq!(
        o.check_peer_as(64512).unwrap_err().notification,
        notif(2, 2, &[0xfd, 0xe9])
    );
    let o = Open::standard(4_200_000_001, 30, Ipv4Addr::new(1, 1, 1, 1), false);
    assert_eq!(
        o.check_peer_as(64512).unwrap_err().notification,
        notif(2, 2, &4_200_000_001u32.to_be_bytes())
    );
}

#[test]
fn open_bad_bgp_identifier_2_3() {
    let b = msg(1, &open_body(4, 65001, 90, [0, 0, 0, 0], &[]));
    assert_eq!(err(&b, &ctx2()), notif(2, 3, &[0, 0, 0, 0]));
}

#[test]
fn open_unsupported_optional_parameter_2_4() {
    let b = msg(1, &open_body(4, 65001, 90, [1, 2, 3, 4], &[1, 2, 0, 0]));
    assert_eq!(err(&b, &ctx2()), notif(2, 4, &[]));
}

#[test]
fn open_unacceptable_hold_time_2_6() {
    for h in [1u16, 2] {
        let b = msg(1, &open_body(4, 65001, h, [1, 2, 3, 4], &[]));
        assert_eq!(err(&b, &ctx2()), notif(2, 6, &h.to_be_bytes()));
    }
    for h in [0u16, 3, 65535] {
        let b = msg(1, &open_body(4, 65001, h, [1, 2, 3, 4], &[]));
        assert!(parse(&b, &ctx2()).is_ok());
    }
}

#[test]
fn open_unsupported_capability_2_7() {
    let n = Notification::unsupported_capability(&[
        Capability::FourOctetAs(65000),
        Capability::RouteRefresh,
    ]);
    assert_eq!(n, notif(2, 7, &[65, 4, 0, 0, 0xfd, 0xe8, 2, 0]));
    assert_eq!(
        n.describe(),
        "OPEN Message Error / Unsupported Capability (capability 65, 2)"
    );
}

#[test]
fn open_malformed_parameters_2_0() {
    // Optional parameters length beyond the message.
    let mut body = open_body(4, 65001, 90, [1, 2, 3, 4], &[2, 2, 2, 0]);
    body[9] = 9;
    assert_eq!(err(&msg(1, &body), &ctx2()), notif(2, 0, &[]));
    // Capability overrunning its parameter.
    let b = msg(1, &open_body(4, 65001, 90, [1, 2, 3, 4], &[2, 2, 65, 4]));
    assert_eq!(err(&b, &ctx2()), notif(2, 0, &[]));
    // Parameter header cut short.
    let b = msg(1, &open_body(4, 65001, 90, [1, 2, 3, 4], &[2]));
    assert_eq!(err(&b, &ctx2()), notif(2, 0, &[]));
}

// ------------------------------------- UPDATE errors: session reset

#[test]
fn update_withdrawn_length_overrun_3_1() {
    let mut b = upd(&[], &[], &[]);
    b[20] = 5;
    assert_eq!(err(&b, &ctx4()), notif(3, 1, &[]));
}

#[test]
fn update_attribute_length_overrun_3_1() {
    let mut b = upd(&[], &attrs2(&[]), &NLRI);
    // Total path attribute length past the end.
    b[22] = 200;
    assert_eq!(err(&b, &ctx2()), notif(3, 1, &[]));
}

#[test]
fn update_bad_nlri_3_10() {
    assert_eq!(
        err(&upd(&[], &attrs2(&[]), &[33, 1, 2, 3, 4, 5]), &ctx2()),
        notif(3, 10, &[])
    );
    assert_eq!(
        err(&upd(&[], &attrs2(&[]), &[24, 10]), &ctx2()),
        notif(3, 10, &[])
    );
    assert_eq!(
        err(&upd(&[40, 1, 2, 3, 4, 5], &[], &[]), &ctx2()),
        notif(3, 10, &[])
    );
}

#[test]
fn update_unrecognized_well_known_3_2() {
    let a = [0x40, 99, 2, 7, 7];
    assert_eq!(err(&upd(&[], &attrs2(&a), &NLRI), &ctx2()), notif(3, 2, &a));
}

#[test]
fn update_repeated_mp_attribute_3_1() {
    let un = [0x80, 15, 3, 0, 2, 1];
    let a = [&un[..], &un].concat();
    assert_eq!(err(&upd(&[], &a, &[]), &ctx4()), notif(3, 1, &[]));
}

#[test]
fn update_malformed_mp_reach_3_9() {
    // Truncated before the next hop length.
    let a = [0x80, 14, 3, 0, 2, 1];
    assert_eq!(err(&upd(&[], &a, &[]), &ctx4()), notif(3, 9, &a));
    // NLRI with a prefix longer than 128.
    let mut a = vec![0x80, 14, 0, 0, 2, 1, 16];
    a.extend_from_slice(&[
        0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 129,
    ]);
    a[2] = (a.len() - 3) as u8;
    assert_eq!(err(&upd(&[], &a, &[]), &ctx4()), notif(3, 9, &a));
    // MP_UNREACH cut short and with a bad prefix.
    let a = [0x80, 15, 2, 0, 2];
    assert_eq!(err(&upd(&[], &a, &[]), &ctx4()), notif(3, 9, &a));
    let a = [0x80, 15, 5, 0, 2, 1, 64, 0x20];
    assert_eq!(err(&upd(&[], &a, &[]), &ctx4()), notif(3, 9, &a));
}

#[test]
fn update_attribute_overrun_hiding_mp_3_1() {
    // An attribute whose length runs past the list when IPv6 is active
    // and no MP attribute was seen: the IPv6 routes cannot be located.
    let a = [&ORIGIN_IGP[..], &[0x40, 2, 50, 2, 1, 0, 1]].concat();
    assert_eq!(err(&upd(&[], &a, &NLRI), &ctx4()), notif(3, 1, &[]));
}

// -------------------------------------- UPDATE: RFC 7606 downgrades

#[test]
fn attribute_overrun_ipv4_only_is_treat_as_withdraw() {
    let a = [&ORIGIN_IGP[..], &NH, &[0x40, 2, 50, 2, 1, 0, 1]].concat();
    taw(&upd(&[], &a, &NLRI), &ctx2(), 0, 1);
    // Fewer than three octets left.
    let a = attrs2(&[0x40, 1]);
    taw(&upd(&[], &a, &NLRI), &ctx2(), 0, 1);
}

#[test]
fn origin_errors_treat_as_withdraw() {
    let bad_value = [&[0x40, 1, 1, 3][..], &path2(&[65001]), &NH].concat();
    taw(&upd(&[], &bad_value, &NLRI), &ctx2(), 1, 6);
    let bad_len = [&[0x40, 1, 2, 0, 0][..], &path2(&[65001]), &NH].concat();
    taw(&upd(&[], &bad_len, &NLRI), &ctx2(), 1, 5);
    let bad_flags = [&[0xc0, 1, 1, 0][..], &path2(&[65001]), &NH].concat();
    taw(&upd(&[], &bad_flags, &NLRI), &ctx2(), 1, 4);
}

#[test]
fn malformed_as_path_treat_as_withdraw() {
    for path in [
        vec![0x40, 2, 2, 2, 0],       // zero-length segment
        vec![0x40, 2, 4, 2, 2, 0, 1], // segment overrun
        vec![0x40, 2, 4, 3, 1, 0, 1], // confederation segment
        vec![0x40, 2, 3, 2, 1, 0],    // trailing octet
        vec![0x40, 2, 4, 9, 1, 0, 1], // unknown segment type
    ] {
        let a = [&ORIGIN_IGP[..], &path, &NH].concat();
        taw(&upd(&[], &a, &NLRI), &ctx2(), 2, 11);
    }
}

#[test]
fn next_hop_errors_treat_as_withdraw() {
    let a = [
        &ORIGIN_IGP[..],
        &path2(&[65001]),
        &[0x40, 3, 5, 1, 2, 3, 4, 5],
    ]
    .concat();
    taw(&upd(&[], &a, &NLRI), &ctx2(), 3, 5);
    for nh in [
        [0, 0, 0, 0],
        [224, 0, 0, 1],
        [255, 255, 255, 255],
        [127, 0, 0, 1],
    ] {
        let a = [&ORIGIN_IGP[..], &path2(&[65001]), &[0x40, 3, 4], &nh].concat();
        taw(&upd(&[], &a, &NLRI), &ctx2(), 3, 8);
    }
}

#[test]
fn missing_well_known_treat_as_withdraw() {
    taw(
        &upd(&[], &[&path2(&[1])[..], &NH].concat(), &NLRI),
        &ctx2(),
        1,
        3,
    );
    taw(
        &upd(&[], &[&ORIGIN_IGP[..], &NH].concat(), &NLRI),
        &ctx2(),
        2,
        3,
    );
    taw(
        &upd(&[], &[&ORIGIN_IGP[..], &path2(&[1])].concat(), &NLRI),
        &ctx2(),
        3,
        3,
    );
    // No NLRI: nothing to withdraw, nothing missing.
    let (u, notes) = update(&upd(&[], &ORIGIN_IGP, &[]), &ctx2());
    assert!(!u.treat_as_withdraw && u.announced.is_empty() && notes.is_empty());
}

#[test]
fn med_and_communities_errors_treat_as_withdraw() {
    taw(
        &upd(&[], &attrs2(&[0x80, 4, 3, 0, 0, 1]), &NLRI),
        &ctx2(),
        4,
        5,
    );
    taw(
        &upd(&[], &attrs2(&[0x40, 4, 4, 0, 0, 0, 1]), &NLRI),
        &ctx2(),
        4,
        4,
    );
    taw(
        &upd(&[], &attrs2(&[0xc0, 8, 3, 0, 0, 1]), &NLRI),
        &ctx2(),
        8,
        5,
    );
    taw(&upd(&[], &attrs2(&[0xc0, 8, 0]), &NLRI), &ctx2(), 8, 5);
    taw(
        &upd(&[], &attrs2(&[0xc0, 16, 4, 0, 0, 0, 1]), &NLRI),
        &ctx2(),
        16,
        5,
    );
    taw(
        &upd(&[], &attrs2(&[0xc0, 32, 4, 0, 0, 0, 1]), &NLRI),
        &ctx2(),
        32,
        5,
    );
}

#[test]
fn local_pref_rules() {
    // From an external peer: discarded.
    let u = discard(
        &upd(&[], &attrs2(&[0x40, 5, 4, 0, 0, 0, 200]), &NLRI),
        &ctx2(),
        5,
    );
    assert_eq!(u.attributes.unwrap().local_pref, None);
    // From an internal one: kept; a bad length is treat-as-withdraw.
    let ibgp = Context {
        ibgp: true,
        ..ctx2()
    };
    let (u, _) = update(
        &upd(&[], &attrs2(&[0x40, 5, 4, 0, 0, 0, 200]), &NLRI),
        &ibgp,
    );
    assert_eq!(u.attributes.unwrap().local_pref, Some(200));
    taw(&upd(&[], &attrs2(&[0x40, 5, 2, 0, 1]), &NLRI), &ibgp, 5, 5);
}

#[test]
fn atomic_aggregate_and_aggregator_errors_discard() {
    let u = discard(&upd(&[], &attrs2(&[0x40, 6, 1, 0]), &NLRI), &ctx2(), 6);
    assert!(!u.attributes.unwrap().atomic_aggregate);
    discard(&upd(&[], &attrs2(&[0x80, 6, 0]), &NLRI), &ctx2(), 6);
    // AGGREGATOR: 6 octets on a 2-octet session, 8 on a 4-octet one.
    let u = discard(
        &upd(&[], &attrs2(&[0xc0, 7, 8, 0, 0, 0, 1, 1, 2, 3, 4]), &NLRI),
        &ctx2(),
        7,
    );
    assert!(u.attributes.unwrap().other.is_empty());
    let a = [
        &ORIGIN_IGP[..],
        &path4(&[65001]),
        &NH,
        &[0xc0, 7, 6, 0, 1, 1, 2, 3, 4],
    ]
    .concat();
    discard(&upd(&[], &a, &NLRI), &ctx4(), 7);
    discard(
        &upd(&[], &attrs2(&[0x40, 7, 6, 0, 1, 1, 2, 3, 4]), &NLRI),
        &ctx2(),
        7,
    );
}

#[test]
fn repeated_attribute_discarded() {
    let u = discard(
        &upd(
            &[],
            &attrs2(&[0x80, 4, 4, 0, 0, 0, 1, 0x80, 4, 4, 0, 0, 0, 2]),
            &NLRI,
        ),
        &ctx2(),
        4,
    );
    assert_eq!(u.attributes.unwrap().med, Some(1));
}

#[test]
fn mp_reach_next_hop_errors_treat_as_withdraw() {
    // IPv6 with a 4-octet next hop.
    let mut a = vec![
        0x80, 14, 0, 0, 2, 1, 4, 1, 2, 3, 4, 0, 32, 0x20, 1, 0x0d, 0xb8,
    ];
    a[2] = (a.len() - 3) as u8;
    let (u, notes) = update(
        &upd(&[], &[&a[..], &ORIGIN_IGP, &path4(&[1])].concat(), &[]),
        &ctx4(),
    );
    assert!(u.treat_as_withdraw, "{notes:?}");
    assert_eq!(u.announced, vec!["2001:db8::/32".parse::<IpNet>().unwrap()]);
    // Link-local-only is fine as the second of 32 octets; :: is not.
    let mut a = vec![0x80, 14, 0, 0, 2, 1, 16];
    a.extend_from_slice(&[0; 16]);
    a.extend_from_slice(&[0, 32, 0x20, 1, 0x0d, 0xb8]);
    a[2] = (a.len() - 3) as u8;
    taw(
        &upd(&[], &[&a[..], &ORIGIN_IGP, &path4(&[1])].concat(), &[]),
        &ctx4(),
        14,
        8,
    );
    // Wrong flags: treat-as-withdraw, prefixes still found.
    let mut a = vec![0xc0, 14, 0, 0, 2, 1, 16];
    a.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    a.extend_from_slice(&[0, 32, 0x20, 1, 0x0d, 0xb8]);
    a[2] = (a.len() - 3) as u8;
    taw(
        &upd(&[], &[&a[..], &ORIGIN_IGP, &path4(&[1])].concat(), &[]),
        &ctx4(),
        14,
        4,
    );
}

#[test]
fn mp_reach_32_octet_next_hop_keeps_global() {
    let mut a = vec![0x80, 14, 0, 0, 2, 1, 32];
    a.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    a.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    a.extend_from_slice(&[0, 32, 0x20, 1, 0x0d, 0xb8]);
    a[2] = (a.len() - 3) as u8;
    let (u, _) = update(
        &upd(&[], &[&a[..], &ORIGIN_IGP, &path4(&[1])].concat(), &[]),
        &ctx4(),
    );
    assert_eq!(
        u.attributes.unwrap().next_hop,
        "2001:db8::1".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn inactive_or_unknown_families_ignored() {
    // IPv6 not negotiated: MP_REACH ignored, the rest stands.
    let mut a = vec![0x80, 14, 0, 0, 2, 1, 16];
    a.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    a.extend_from_slice(&[0, 32, 0x20, 1, 0x0d, 0xb8]);
    a[2] = (a.len() - 3) as u8;
    let (u, notes) = update(
        &upd(&[], &[&a[..], &ORIGIN_IGP, &path2(&[1])].concat(), &[]),
        &ctx2(),
    );
    assert!(u.announced.is_empty() && !u.treat_as_withdraw);
    assert_eq!(notes[0].action, ErrorAction::AttributeDiscard);
    // SAFI 128 (VPN): ignored.
    let a = [0x80, 15, 4, 0, 1, 128, 0];
    let (u, notes) = update(&upd(&[], &a, &[]), &ctx4());
    assert!(u.withdrawn.is_empty());
    assert_eq!(notes.len(), 1);
}

#[test]
fn unknown_optional_attributes() {
    // Transitive: kept (with the Partial bit as received); non-transitive:
    // dropped.
    let a = attrs2(&[0xe0, 200, 2, 9, 9, 0x80, 201, 1, 7]);
    let (u, notes) = update(&upd(&[], &a, &NLRI), &ctx2());
    assert!(notes.is_empty());
    assert_eq!(u.attributes.unwrap().other, vec![(0xe0, 200, vec![9, 9])]);
}

#[test]
fn attributes_without_nlri_change_nothing() {
    let (u, _) = update(&upd(&[24, 10, 0, 1], &attrs2(&[]), &[]), &ctx2());
    assert_eq!(u.withdrawn, vec!["10.0.1.0/24".parse::<IpNet>().unwrap()]);
    assert!(u.attributes.is_none() && u.announced.is_empty());
}

// --------------------------------------------------- RFC 6793 AS4

#[test]
fn as4_path_merged_on_two_octet_session() {
    // AS_PATH 65001 23456 23456, AS4_PATH 4200000001 4200000002.
    let as4 = [
        0xc0, 17, 10, 2, 2, 0xfa, 0x56, 0xea, 0x01, 0xfa, 0x56, 0xea, 0x02,
    ];
    let a = [&ORIGIN_IGP[..], &path2(&[65001, 23456, 23456]), &NH, &as4].concat();
    let (u, notes) = update(&upd(&[], &a, &NLRI), &ctx2());
    assert!(notes.is_empty(), "{notes:?}");
    let pa = u.attributes.unwrap();
    assert_eq!(
        pa.as_path,
        AsPath(vec![AsSegment::Sequence(vec![
            65001,
            4_200_000_001,
            4_200_000_002
        ])])
    );
    // Sending to a 2-octet peer: the same AS_PATH, and an AS4_PATH with
    // the whole path (RFC 6793 4.2.2).
    let again = Update::announce(pa, u.announced).to_bytes(&ctx2());
    let as_path = path2(&[65001, 23456, 23456]);
    assert!(again.windows(as_path.len()).any(|w| w == as_path));
    let full = [
        0xc0, 17, 14, 2, 3, 0, 0, 0xfd, 0xe9, 0xfa, 0x56, 0xea, 0x01, 0xfa, 0x56, 0xea, 0x02,
    ];
    assert!(again.windows(full.len()).any(|w| w == full));
}

#[test]
fn as4_aggregator_merged_and_produced() {
    // AGGREGATOR AS_TRANS 10.0.0.9 + AS4_AGGREGATOR 4200000009 10.0.0.9.
    let agg = [0xc0, 7, 6, 0x5b, 0xa0, 10, 0, 0, 9];
    let agg4 = [0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x09, 10, 0, 0, 9];
    let a = [&attrs2(&agg)[..], &agg4].concat();
    let (u, notes) = update(&upd(&[], &a, &NLRI), &ctx2());
    assert!(notes.is_empty(), "{notes:?}");
    let pa = u.attributes.unwrap();
    assert_eq!(
        pa.other,
        vec![(0xc0, 7, vec![0xfa, 0x56, 0xea, 0x09, 10, 0, 0, 9])]
    );
    let back = Update::announce(pa.clone(), u.announced.clone()).to_bytes(&ctx2());
    assert!(back.windows(agg4.len()).any(|w| w == agg4));
    // On a 4-octet session it is one 8-octet AGGREGATOR.
    let back4 = Update::announce(pa, u.announced).to_bytes(&ctx4());
    assert!(back4
        .windows(11)
        .any(|w| w == [0xc0, 7, 8, 0xfa, 0x56, 0xea, 0x09, 10, 0, 0, 9]));
}

#[test]
fn aggregator_with_real_as_ignores_as4_attributes() {
    let agg = [0xc0, 7, 6, 0xfd, 0xe9, 10, 0, 0, 9];
    let as4 = [0xc0, 17, 6, 2, 1, 0xfa, 0x56, 0xea, 0x01];
    let a = [&ORIGIN_IGP[..], &path2(&[23456]), &NH, &agg, &as4].concat();
    let (u, notes) = update(&upd(&[], &a, &NLRI), &ctx2());
    assert_eq!(
        u.attributes.unwrap().as_path,
        AsPath(vec![AsSegment::Sequence(vec![23456])])
    );
    assert_eq!(notes[0].action, ErrorAction::AttributeDiscard);
}

#[test]
fn as4_path_longer_than_as_path_ignored() {
    let as4 = [
        0xc0, 17, 10, 2, 2, 0xfa, 0x56, 0xea, 0x01, 0xfa, 0x56, 0xea, 0x02,
    ];
    let a = [&ORIGIN_IGP[..], &path2(&[23456]), &NH, &as4].concat();
    let (u, notes) = update(&upd(&[], &a, &NLRI), &ctx2());
    assert_eq!(
        u.attributes.unwrap().as_path,
        AsPath(vec![AsSegment::Sequence(vec![23456])])
    );
    assert_eq!(notes.len(), 1);
}

#[test]
fn as4_attributes_discarded() {
    // Malformed AS4_PATH on a 2-octet session.
    discard(&upd(&[], &attrs2(&[0xc0, 17, 2, 2, 0]), &NLRI), &ctx2(), 17);
    // Any AS4_PATH / AS4_AGGREGATOR on a 4-octet session.
    let base = [&ORIGIN_IGP[..], &path4(&[65001]), &NH].concat();
    let a = [&base[..], &[0xc0, 17, 6, 2, 1, 0, 0, 0, 1]].concat();
    discard(&upd(&[], &a, &NLRI), &ctx4(), 17);
    let a = [&base[..], &[0xc0, 18, 8, 0, 0, 0, 1, 1, 2, 3, 4]].concat();
    discard(&upd(&[], &a, &NLRI), &ctx4(), 18);
    // AS4_AGGREGATOR of the wrong length.
    discard(
        &upd(&[], &attrs2(&[0xc0, 18, 4, 0, 0, 0, 1]), &NLRI),
        &ctx2(),
        18,
    );
}

#[test]
fn four_octet_path_on_two_octet_session_gets_as_trans() {
    let mut pa = PathAttributes::originated(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    pa.as_path = AsPath(vec![AsSegment::Sequence(vec![4_200_000_001, 65001])]);
    let b = Update::announce(pa.clone(), vec!["10.0.0.0/24".parse().unwrap()]).to_bytes(&ctx2());
    let as_path = path2(&[23456, 65001]);
    assert!(b.windows(as_path.len()).any(|w| w == as_path));
    let as4 = [0xc0, 17, 10, 2, 2, 0xfa, 0x56, 0xea, 0x01, 0, 0, 0xfd, 0xe9];
    assert!(b.windows(as4.len()).any(|w| w == as4));
    // No AS4_PATH when every AS fits.
    pa.as_path = AsPath(vec![AsSegment::Sequence(vec![65001])]);
    let b = Update::announce(pa, vec!["10.0.0.0/24".parse().unwrap()]).to_bytes(&ctx2());
    assert!(!b.windows(2).any(|w| w == [0xc0, 17]));
}

// ------------------------------------------------- NOTIFICATION names

#[test]
fn describe_every_code() {
    let cases: &[(u8, u8, &[u8], &str)] = &[
        (
            1,
            1,
            &[],
            "Message Header Error / Connection Not Synchronized",
        ),
        (
            1,
            2,
            &[0x10, 0x01],
            "Message Header Error / Bad Message Length (length 4097)",
        ),
        (
            1,
            3,
            &[9],
            "Message Header Error / Bad Message Type (type 9)",
        ),
        (2, 0, &[], "OPEN Message Error / Unspecific"),
        (
            2,
            1,
            &[0, 4],
            "OPEN Message Error / Unsupported Version Number (we support version 4)",
        ),
        (
            2,
            2,
            &[0xfd, 0xe9],
            "OPEN Message Error / Bad Peer AS (AS 65001)",
        ),
        (
            2,
            3,
            &[0, 0, 0, 0],
            "OPEN Message Error / Bad BGP Identifier (identifier 0.0.0.0)",
        ),
        (
            2,
            4,
            &[],
            "OPEN Message Error / Unsupported Optional Parameter",
        ),
        (
            2,
            5,
            &[],
            "OPEN Message Error / Authentication Failure (deprecated)",
        ),
        (
            2,
            6,
            &[0, 2],
            "OPEN Message Error / Unacceptable Hold Time (hold time 2)",
        ),
        (
            2,
            7,
            &[65, 4, 0, 0, 0, 1],
            "OPEN Message Error / Unsupported Capability (capability 65)",
        ),
        (2, 11, &[], "OPEN Message Error / Role Mismatch"),
        (3, 1, &[], "UPDATE Message Error / Malformed Attribute List"),
        (
            3,
            2,
            &[0x40, 99, 0],
            "UPDATE Message Error / Unrecognized Well-known Attribute (attribute type 99)",
        ),
        (
            3,
            3,
            &[1],
            "UPDATE Message Error / Missing Well-known Attribute (attribute type 1)",
        ),
        (
            3,
            4,
            &[0x80, 1, 1, 0],
            "UPDATE Message Error / Attribute Flags Error (attribute type 1)",
        ),
        (
            3,
            5,
            &[0x40, 3, 0],
            "UPDATE Message Error / Attribute Length Error (attribute type 3)",
        ),
        (
            3,
            6,
            &[0x40, 1, 1, 7],
            "UPDATE Message Error / Invalid ORIGIN Attribute (attribute type 1)",
        ),
        (
            3,
            7,
            &[],
            "UPDATE Message Error / AS Routing Loop (deprecated)",
        ),
        (
            3,
            8,
            &[0x40, 3, 4, 0, 0, 0, 0],
            "UPDATE Message Error / Invalid NEXT_HOP Attribute (attribute type 3)",
        ),
        (
            3,
            9,
            &[0x80, 14, 0],
            "UPDATE Message Error / Optional Attribute Error (attribute type 14)",
        ),
        (3, 10, &[], "UPDATE Message Error / Invalid Network Field"),
        (3, 11, &[], "UPDATE Message Error / Malformed AS_PATH"),
        (4, 0, &[], "Hold Timer Expired"),
        (5, 0, &[], "Finite State Machine Error / Unspecified Error"),
        (
            5,
            1,
            &[],
            "Finite State Machine Error / Receive Unexpected Message in OpenSent State",
        ),
        (
            5,
            2,
            &[],
            "Finite State Machine Error / Receive Unexpected Message in OpenConfirm State",
        ),
        (
            5,
            3,
            &[],
            "Finite State Machine Error / Receive Unexpected Message in Established State",
        ),
        (
            6,
            1,
            &[0, 2, 1, 0, 0, 3, 0xe8],
            "Cease / Maximum Number of Prefixes Reached (AFI 2, SAFI 1, limit 1000)",
        ),
        (6, 1, &[], "Cease / Maximum Number of Prefixes Reached"),
        (
            6,
            2,
            &[3, b'b', b'y', b'e'],
            "Cease / Administrative Shutdown (\"bye\")",
        ),
        (6, 3, &[], "Cease / Peer De-configured"),
        (6, 4, &[], "Cease / Administrative Reset"),
        (6, 5, &[], "Cease / Connection Rejected"),
        (6, 6, &[], "Cease / Other Configuration Change"),
        (6, 7, &[], "Cease / Connection Collision Resolution"),
        (6, 8, &[], "Cease / Out of Resources"),
        (6, 9, &[], "Cease / Hard Reset"),
        (6, 10, &[], "Cease / BFD Down"),
        (
            7,
            1,
            &[],
            "ROUTE-REFRESH Message Error / Invalid Message Length",
        ),
        (8, 0, &[], "Send Hold Timer Expired"),
        (6, 99, &[1, 2], "Cease / subcode 99 (data 0102)"),
        (42, 1, &[], "Unknown error code 42 / subcode 1"),
    ];
    for (code, sub, data, want) in cases {
        assert_eq!(notif(*code, *sub, data).describe(), *want);
    }
}

#[test]
fn notification_constructors() {
    assert_eq!(Notification::hold_timer_expired(), notif(4, 0, &[]));
    assert_eq!(Notification::fsm_error(2), notif(5, 2, &[]));
    assert_eq!(Notification::connection_collision(), notif(6, 7, &[]));
    assert_eq!(Notification::cease(3), notif(6, 3, &[]));
    assert_eq!(
        Notification::unacceptable_hold_time(2),
        notif(2, 6, &[0, 2])
    );
    assert_eq!(Notification::bad_peer_as(65001), notif(2, 2, &[0xfd, 0xe9]));
    let s = Notification::shutdown(2, "maintenance");
    assert_eq!(s.data[0], 11);
    assert_eq!(s.shutdown_message().as_deref(), Some("maintenance"));
    assert_eq!(Notification::shutdown(4, ""), notif(6, 4, &[]));
    // Cut at 255 octets on a character boundary.
    let long = "é".repeat(200);
    let s = Notification::shutdown(2, &long);
    assert_eq!(s.data[0], 254);
    assert_eq!(s.shutdown_message().unwrap().chars().count(), 127);
    // Data past 4096 octets is cut when sent.
    let big = Notification::new(3, 9, vec![0; 5000]);
    assert_eq!(Message::Notification(big).to_bytes(&ctx4()).len(), 4096);
}

#[test]
fn treat_as_withdraw_emits_as_withdrawal() {
    let a = [&[0x40, 1, 1, 9][..], &path2(&[65001]), &NH].concat();
    let (u, _) = update(&upd(&[], &a, &NLRI), &ctx2());
    assert_eq!(u.effective_withdrawn().count(), 1);
    let Message::Update(back) = parse(&Message::Update(u).to_bytes(&ctx2()), &ctx2()).unwrap()
    else {
        panic!()
    };
    assert_eq!(back, Update::withdraw(vec!["10.0.0.0/24".parse().unwrap()]));
}

#[test]
fn errors_name_their_notification() {
    let e = parse(&msg(6, &[]), &ctx4()).unwrap_err();
    assert_eq!(e.to_string(), "unknown message type 6 (NOTIFICATION 1 / 3)");
    let _ = Origin::Igp;
}
