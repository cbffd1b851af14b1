//! Unit tests of the codec: round trips, a captured message, and one test per
//! error path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

fn ike_proposal() -> Proposal {
    Proposal {
        number: 1,
        protocol: ProtocolId::IKE,
        spi: vec![],
        transforms: vec![
            Transform::with_key_length(TransformType::ENCR, EncrId::AES_GCM_16.0, 256),
            Transform::new(TransformType::PRF, PrfId::HMAC_SHA2_256.0),
            Transform::new(TransformType::DH, DhId::ECP_256.0),
            Transform::new(TransformType::DH, DhId::MODP_2048.0),
        ],
    }
}

fn esp_proposal(number: u8) -> Proposal {
    Proposal {
        number,
        protocol: ProtocolId::ESP,
        spi: vec![0xc0, 0x01, 0x02, 0x03],
        transforms: vec![
            Transform::with_key_length(TransformType::ENCR, EncrId::AES_CBC.0, 128),
            Transform::new(TransformType::INTEG, IntegId::HMAC_SHA2_256_128.0),
            Transform::new(TransformType::ESN, EsnId::NO.0),
        ],
    }
}

fn sample_payloads() -> Vec<Payload> {
    vec![
        Payload::Sa(SaPayload {
            proposals: vec![ike_proposal()],
        }),
        Payload::Ke(KeyExchange {
            group: DhId::ECP_256,
            data: vec![7; 64],
        }),
        Payload::Nonce(Nonce(vec![9; 32])),
        Payload::Notify(Notify::new(
            NotifyType::NAT_DETECTION_SOURCE_IP,
            vec![1; 20],
        )),
        Payload::Notify(Notify::for_child(
            ProtocolId::ESP,
            0x1234_5678,
            NotifyType::REKEY_SA,
            vec![],
        )),
        Payload::Vendor(VendorId(b"cgw-sim vendor id".to_vec())),
        Payload::IdI(Identification::from_ip(Ipv4Addr::new(192, 0, 2, 10).into())),
        Payload::IdR(Identification {
            id_type: IdType::FQDN,
            data: b"vpn.example".to_vec(),
        }),
        Payload::Auth(Authentication {
            method: AuthMethod::SHARED_KEY_MIC,
            data: vec![3; 32],
        }),
        Payload::Sa(SaPayload {
            proposals: vec![esp_proposal(1), esp_proposal(2)],
        }),
        Payload::TsI(TrafficSelectors(vec![
            TrafficSelector::from_cidr(Ipv4Addr::new(198, 18, 0, 0).into(), 24).unwrap(),
            TrafficSelector::ipv6_any(),
        ])),
        Payload::TsR(TrafficSelectors(vec![TrafficSelector::ipv4_any()])),
        Payload::Delete(Delete::esp(vec![1, 2, 0xffff_ffff])),
        Payload::Delete(Delete::ike()),
        Payload::Unknown(UnknownPayload {
            payload_type: PayloadType::CERTREQ,
            critical: true,
            body: vec![4, 1, 2, 3],
        }),
        Payload::Encrypted(Encrypted {
            first_inner: PayloadType::IDI,
            body: vec![0xee; 48],
        }),
    ]
}

fn sample_message(payloads: Vec<Payload>) -> Message {
    let mut m = Message {
        header: Header {
            spi_i: 0x0102_0304_0506_0708,
            spi_r: 0,
            next_payload: PayloadType::NONE,
            major_version: 2,
            minor_version: 0,
            exchange: ExchangeType::IKE_SA_INIT,
            flags: Flags {
                initiator: true,
                version: false,
                response: false,
            },
            message_id: 0,
            length: 0,
        },
        payloads,
    };
    let bytes = m.emit();
    m.header.length = bytes.len() as u32;
    m.header.next_payload = m
        .payloads
        .first()
        .map_or(PayloadType::NONE, Payload::payload_type);
    m
}

fn body_of(p: &Payload) -> Vec<u8> {
    let mut out = Vec::new();
    p.emit_body(&mut out);
    out
}

fn reparse(p: &Payload, body: &[u8]) -> Result<Payload, ParseError> {
    let next = match p {
        Payload::Encrypted(e) => e.first_inner,
        Payload::EncryptedFragment(f) => f.first_inner,
        _ => PayloadType::NONE,
    };
    Payload::parse(p.payload_type(), next, p.critical(), body)
}

/// Sets the header length field to the buffer's length.
fn fix_len(b: &mut [u8]) {
    let n = b.len() as u32;
    b[24..28].copy_from_slice(&n.to_be_bytes());
}

// A real IKE_SA_INIT request (from the ipsec-parser test suite).
const INIT_REQ: &[u8] = &[
    0x01, 0xf8, 0xc3, 0xd4, 0xbb, 0x77, 0x3f, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x21, 0x20, 0x22, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x48, 0x22, 0x00, 0x00, 0x30,
    0x00, 0x00, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x04, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x14,
    0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0c, 0x03, 0x00, 0x00, 0x08,
    0x02, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1e, 0x28, 0x00, 0x00, 0x88,
    0x00, 0x1e, 0x00, 0x00, 0x8f, 0xe6, 0xf3, 0x6e, 0x88, 0x7b, 0x18, 0x9b, 0x5e, 0xce, 0xf2, 0x56,
    0xf9, 0x8d, 0x76, 0xaa, 0xcb, 0x07, 0xb3, 0xb9, 0x58, 0xee, 0x73, 0xea, 0x7b, 0x73, 0xb1, 0x04,
    0x7e, 0xa4, 0x2a, 0x4e, 0x44, 0x1f, 0xb9, 0x3e, 0xf9, 0xa9, 0xab, 0x0c, 0x54, 0x5a, 0xa7, 0x46,
    0x2e, 0x58, 0x3c, 0x06, 0xb2, 0xed, 0x91, 0x8d, 0x11, 0xca, 0x67, 0xdb, 0x21, 0x6b, 0xb8, 0xad,
    0xbf, 0x57, 0x3f, 0xba, 0x5a, 0xa6, 0x7d, 0x49, 0x83, 0x4b, 0xa9, 0x93, 0x6f, 0x4c, 0xe9, 0x66,
    0xcd, 0x57, 0x5c, 0xba, 0x07, 0x42, 0xfa, 0x0b, 0xe8, 0xb9, 0xd0, 0x25, 0xc4, 0xb9, 0xdf, 0x29,
    0xd7, 0xe4, 0x6e, 0xd6, 0x54, 0x78, 0xaa, 0x95, 0x02, 0xbf, 0x25, 0x55, 0x71, 0xfa, 0x9e, 0xcb,
    0x05, 0xea, 0x8f, 0x7b, 0x14, 0x0e, 0x1d, 0xdf, 0xb4, 0x03, 0x5f, 0x2d, 0x21, 0x66, 0x58, 0x6e,
    0x42, 0x72, 0x32, 0x03, 0x29, 0x00, 0x00, 0x24, 0xe3, 0x3b, 0x52, 0xaa, 0x6f, 0x6d, 0x62, 0x87,
    0x16, 0xd7, 0xab, 0xc6, 0x45, 0xa6, 0xcc, 0x97, 0x07, 0x43, 0x3d, 0x85, 0x83, 0xde, 0xab, 0x97,
    0xdb, 0xbf, 0x08, 0xce, 0x0f, 0xad, 0x59, 0x71, 0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x04,
    0xcc, 0xc0, 0x64, 0x5c, 0x1e, 0xeb, 0xc2, 0x1d, 0x09, 0x2b, 0xf0, 0x7f, 0xca, 0x34, 0xc3, 0xe6,
    0x2b, 0x20, 0xec, 0x8f, 0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x05, 0x15, 0x39, 0x75, 0x77,
    0xf5, 0x54, 0x87, 0xa3, 0x8f, 0xd8, 0xaf, 0x70, 0xb0, 0x9c, 0x20, 0x9c, 0xff, 0x4a, 0x37, 0xd1,
    0x29, 0x00, 0x00, 0x10, 0x00, 0x00, 0x40, 0x2f, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x16,
];

#[test]
fn captured_init_request_parses_and_re_emits_identically() {
    let m = Message::parse(INIT_REQ).unwrap();
    assert_eq!(m.header.spi_i, 0x01f8_c3d4_bb77_3f2f);
    assert_eq!(m.header.exchange, ExchangeType::IKE_SA_INIT);
    assert!(m.header.flags.initiator && !m.header.flags.response);
    assert_eq!(m.header.length, 328);
    assert_eq!(m.payloads.len(), 7);
    let Payload::Sa(sa) = &m.payloads[0] else {
        panic!("SA first")
    };
    assert_eq!(sa.proposals.len(), 1);
    let p = &sa.proposals[0];
    assert_eq!((p.number, p.protocol, p.spi.len()), (1, ProtocolId::IKE, 0));
    let t: Vec<_> = p
        .transforms
        .iter()
        .map(|t| (t.kind, t.id, t.key_length))
        .collect();
    assert_eq!(
        t,
        vec![
            (TransformType::ENCR, 20, Some(128)),
            (TransformType::INTEG, 12, None),
            (TransformType::PRF, 5, None),
            (TransformType::DH, 30, None),
        ]
    );
    let Payload::Ke(ke) = &m.payloads[1] else {
        panic!("KE second")
    };
    assert_eq!((ke.group, ke.data.len()), (DhId(30), 128));
    assert!(matches!(&m.payloads[2], Payload::Nonce(n) if n.0.len() == 32));
    let kinds: Vec<_> = m.payloads[3..]
        .iter()
        .map(|p| match p {
            Payload::Notify(n) => n.kind,
            _ => panic!("notify"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            NotifyType::NAT_DETECTION_SOURCE_IP,
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            NotifyType::REDIRECT_SUPPORTED,
        ]
    );
    assert_eq!(m.emit(), INIT_REQ);
}

#[test]
fn every_payload_round_trips() {
    for p in sample_payloads() {
        let body = body_of(&p);
        assert_eq!(reparse(&p, &body).unwrap(), p, "{p:?}");
    }
    let frag = Payload::EncryptedFragment(EncryptedFragment {
        first_inner: PayloadType::NONE,
        fragment_number: 2,
        total_fragments: 3,
        body: vec![1, 2, 3],
    });
    assert_eq!(reparse(&frag, &body_of(&frag)).unwrap(), frag);
}

#[test]
fn message_round_trips_and_sets_next_payload_and_length() {
    let m = sample_message(sample_payloads());
    let b = m.emit();
    assert_eq!(b.len(), m.header.length as usize);
    assert_eq!(b[16], PayloadType::SA.0);
    assert_eq!(Message::parse(&b).unwrap(), m);
    // The unknown payload keeps its critical bit; known ones are sent with 0.
    let mut pos = HEADER_LEN;
    let mut crit = Vec::new();
    while pos < b.len() {
        crit.push(b[pos + 1] & 0x80 != 0);
        let len = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
        pos += len;
    }
    assert_eq!(crit.iter().filter(|c| **c).count(), 1);
    // The SK payload's next payload field names its first inner payload.
    let sk_len = 4 + 48;
    assert_eq!(b[b.len() - sk_len], PayloadType::IDI.0);
}

#[test]
fn empty_message_and_inner_chain() {
    let m = sample_message(vec![]);
    let b = m.emit();
    assert_eq!(b.len(), HEADER_LEN);
    assert_eq!(Message::parse(&b).unwrap(), m);
    let mut out = Vec::new();
    assert_eq!(emit_payloads(&[], &mut out), PayloadType::NONE);
    assert!(out.is_empty());
    assert_eq!(parse_payloads(PayloadType::NONE, &[]).unwrap(), vec![]);
}

#[test]
fn inner_chain_round_trips() {
    let inner: Vec<Payload> = sample_payloads()
        .into_iter()
        .filter(|p| !p.is_encrypted())
        .collect();
    let mut out = Vec::new();
    let first = emit_payloads(&inner, &mut out);
    assert_eq!(first, PayloadType::SA);
    assert_eq!(parse_payloads(first, &out).unwrap(), inner);
}

#[test]
fn truncated_message_fails_at_every_position() {
    let b = sample_message(sample_payloads()).emit();
    for n in 0..b.len() {
        assert!(Message::parse(&b[..n]).is_err(), "prefix {n}");
        if n >= HEADER_LEN {
            let mut t = b[..n].to_vec();
            fix_len(&mut t);
            assert!(Message::parse(&t).is_err(), "prefix {n} with fixed length");
        }
    }
}

#[test]
fn truncated_structured_bodies_fail_at_every_position() {
    for p in sample_payloads() {
        let body = body_of(&p);
        // The payloads whose body ends with free-form data accept prefixes
        // down to their fixed head.
        let min_ok = match &p {
            Payload::Ke(_) | Payload::IdR(_) | Payload::Auth(_) => 4,
            Payload::Notify(n) => 4 + n.spi.len(),
            Payload::Vendor(_) | Payload::Unknown(_) | Payload::Encrypted(_) => 0,
            Payload::Nonce(_) => NONCE_MIN_LEN,
            _ => body.len(),
        };
        for n in 0..min_ok {
            assert!(reparse(&p, &body[..n]).is_err(), "{p:?} prefix {n}");
        }
    }
}

#[test]
fn header_errors() {
    let mut b = sample_message(vec![]).emit();
    b[17] = 0x10;
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::UnsupportedMajorVersion(1))
    );
    let mut b = sample_message(vec![]).emit();
    b.push(0);
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::BadLength {
            what: "IKE header",
            length: 28,
            available: 29
        })
    );
    assert!(matches!(
        Message::parse(&[0; 27]),
        Err(ParseError::Truncated {
            need: 28,
            have: 27,
            ..
        })
    ));
}

#[test]
fn generic_header_errors() {
    let m = sample_message(vec![Payload::Vendor(VendorId(vec![1, 2, 3, 4]))]);
    let good = m.emit();
    // Payload length below 4.
    let mut b = good.clone();
    b[HEADER_LEN + 3] = 3;
    assert!(matches!(
        Message::parse(&b),
        Err(ParseError::BadLength {
            what: "generic payload header",
            length: 3,
            ..
        })
    ));
    // Payload length beyond the datagram.
    let mut b = good.clone();
    b[HEADER_LEN + 3] = 9;
    assert!(matches!(
        Message::parse(&b),
        Err(ParseError::BadLength {
            length: 9,
            available: 8,
            ..
        })
    ));
    // Payload shorter than the bytes left, chain ends: trailing bytes.
    let mut b = good.clone();
    b[HEADER_LEN + 3] = 6;
    assert!(matches!(
        Message::parse(&b),
        Err(ParseError::TrailingData { count: 2, .. })
    ));
    // Chain says another payload follows, none does.
    let mut b = good.clone();
    b[HEADER_LEN] = PayloadType::NONCE.0;
    assert!(matches!(
        Message::parse(&b),
        Err(ParseError::Truncated {
            what: "generic payload header",
            need: 4,
            have: 0
        })
    ));
    // Reserved bits are ignored on receipt.
    let mut b = good.clone();
    b[HEADER_LEN + 1] = 0x7f;
    assert_eq!(Message::parse(&b).unwrap(), m);
}

#[test]
fn encrypted_payload_must_be_last() {
    let m = sample_message(vec![Payload::Encrypted(Encrypted {
        first_inner: PayloadType::IDI,
        body: vec![0; 16],
    })]);
    let mut b = m.emit();
    b.extend_from_slice(&[0, 0, 0, 4]);
    fix_len(&mut b);
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::TrailingData {
            what: "after the Encrypted payload, which must be last",
            count: 4
        })
    );
    // SK inside a decrypted chain.
    let mut out = Vec::new();
    emit_payloads(&m.payloads, &mut out);
    assert!(matches!(
        parse_payloads(PayloadType::SK, &out),
        Err(ParseError::InvalidField { value: 46, .. })
    ));
}

#[test]
fn too_many_payloads() {
    let n = |k| vec![Payload::Notify(Notify::new(NotifyType::INITIAL_CONTACT, vec![])); k];
    let ok = sample_message(n(MAX_PAYLOADS));
    assert_eq!(Message::parse(&ok.emit()).unwrap(), ok);
    let b = sample_message(n(MAX_PAYLOADS + 1)).emit();
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::TooManyPayloads(MAX_PAYLOADS))
    );
}

#[test]
fn unknown_payload_keeps_critical_bit() {
    for critical in [false, true] {
        let u = Payload::Unknown(UnknownPayload {
            payload_type: PayloadType(200),
            critical,
            body: vec![1],
        });
        let m = sample_message(vec![u.clone()]);
        let b = m.emit();
        assert_eq!(b[HEADER_LEN + 1], if critical { 0x80 } else { 0 });
        assert_eq!(Message::parse(&b).unwrap().payloads, vec![u]);
    }
    // The critical bit of a known payload is ignored.
    let m = sample_message(vec![Payload::Vendor(VendorId(vec![]))]);
    let mut b = m.emit();
    b[HEADER_LEN + 1] = 0x80;
    assert_eq!(Message::parse(&b).unwrap(), m);
}

fn sa_body(proposals: Vec<Proposal>) -> Vec<u8> {
    let mut b = Vec::new();
    SaPayload { proposals }.emit(&mut b);
    b
}

#[test]
fn sa_known_answer() {
    // From ipsec-parser's tests: AES-GCM-16/128, PRF-SHA256, group 30.
    let body = [
        0x00, 0x00, 0x00, 0x24, 0x01, 0x01, 0x00, 0x03, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00,
        0x14, 0x80, 0x0e, 0x00, 0x80, 0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x05, 0x00, 0x00,
        0x00, 0x08, 0x04, 0x00, 0x00, 0x1e,
    ];
    let sa = SaPayload::parse(&body).unwrap();
    assert_eq!(
        sa,
        SaPayload {
            proposals: vec![Proposal {
                number: 1,
                protocol: ProtocolId::IKE,
                spi: vec![],
                transforms: vec![
                    Transform::with_key_length(TransformType::ENCR, 20, 128),
                    Transform::new(TransformType::PRF, 5),
                    Transform::new(TransformType::DH, 30),
                ],
            }],
        }
    );
    let mut out = Vec::new();
    sa.emit(&mut out);
    assert_eq!(out, body);
}

#[test]
fn sa_unknown_attributes_round_trip() {
    let mut p = esp_proposal(1);
    p.transforms[0].unknown_attributes = vec![(0x8000 | 17, vec![0, 5]), (18, vec![1, 2, 3])];
    let sa = SaPayload { proposals: vec![p] };
    let mut b = Vec::new();
    sa.emit(&mut b);
    assert_eq!(SaPayload::parse(&b).unwrap(), sa);
}

#[test]
fn sa_errors() {
    let err = |b: &[u8]| SaPayload::parse(b).unwrap_err();
    assert!(matches!(
        err(&[]),
        ParseError::Truncated {
            what: "proposal",
            ..
        }
    ));
    // Proposal numbering: second proposal must be first + 1; first of many is 1.
    let b = sa_body(vec![esp_proposal(1), esp_proposal(3)]);
    assert_eq!(
        err(&b),
        ParseError::InvalidField {
            what: "proposal number",
            value: 3
        }
    );
    let b = sa_body(vec![esp_proposal(2), esp_proposal(3)]);
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "proposal number",
            ..
        }
    ));
    let b = sa_body(vec![esp_proposal(0)]);
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "proposal number",
            value: 0
        }
    ));
    // A response carries one proposal with the number chosen.
    let b = sa_body(vec![esp_proposal(5)]);
    assert_eq!(SaPayload::parse(&b).unwrap().proposals[0].number, 5);

    let good = sa_body(vec![esp_proposal(1), esp_proposal(2)]);
    let p1_len = u16::from_be_bytes([good[2], good[3]]) as usize;
    // Last-substructure values.
    let mut b = good.clone();
    b[0] = 1;
    assert_eq!(
        err(&b),
        ParseError::InvalidField {
            what: "proposal: last substructure",
            value: 1
        }
    );
    let mut b = good.clone();
    b[0] = 0; // claims last but another follows
    assert!(matches!(err(&b), ParseError::TrailingData { .. }));
    let mut b = good.clone();
    b[p1_len] = 2; // claims more but nothing follows
    assert!(matches!(
        err(&b),
        ParseError::Truncated {
            what: "proposal",
            ..
        }
    ));
    // Transform last-substructure: 3 for more, 0 for last.
    let t0 = 8 + 4;
    let mut b = good.clone();
    b[t0] = 2;
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "transform: last substructure",
            value: 2
        }
    ));
    let mut b = good.clone();
    b[t0] = 0;
    assert!(matches!(
        err(&b),
        ParseError::TrailingData {
            what: "proposal after the last transform",
            ..
        }
    ));
    // Proposal length bad.
    let mut b = good.clone();
    b[3] = 7;
    assert!(matches!(
        err(&b),
        ParseError::BadLength {
            what: "proposal",
            length: 7,
            ..
        }
    ));
    let mut b = good.clone();
    b[2] = 0xff;
    assert!(matches!(
        err(&b),
        ParseError::BadLength {
            what: "proposal",
            ..
        }
    ));
    // SPI size vs protocol.
    let mut b = good.clone();
    b[6] = 8;
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "proposal: SPI size",
            value: 8
        }
    ));
    let mut b = good.clone();
    b[5] = 4;
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "proposal: protocol ID",
            value: 4
        }
    ));
    let mut p = ike_proposal();
    p.spi = vec![1; 4];
    assert!(matches!(
        err(&sa_body(vec![p])),
        ParseError::InvalidField {
            what: "proposal: SPI size",
            value: 4
        }
    ));
    let mut p = ike_proposal();
    p.spi = vec![1; 8]; // IKE rekey
    assert!(SaPayload::parse(&sa_body(vec![p])).is_ok());
    // Transform count.
    let mut b = good.clone();
    b[7] = 2;
    assert_eq!(
        err(&b),
        ParseError::CountMismatch {
            what: "proposal: transforms",
            declared: 2,
            found: 3
        }
    );
    let mut b = good.clone();
    b[7] = 0;
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "proposal: number of transforms",
            ..
        }
    ));
    // Transform length.
    let mut b = good.clone();
    b[t0 + 3] = 4;
    assert!(matches!(
        err(&b),
        ParseError::BadLength {
            what: "transform",
            length: 4,
            ..
        }
    ));
    let mut b = good.clone();
    b[t0 + 3] = 0xf0;
    assert!(matches!(
        err(&b),
        ParseError::BadLength {
            what: "transform",
            ..
        }
    ));
}

fn transform_sa(attrs: &[u8]) -> Vec<u8> {
    let tlen = 8 + attrs.len();
    let plen = 8 + tlen;
    let mut b = vec![0, 0, 0, plen as u8, 1, 1, 0, 1];
    b.extend_from_slice(&[0, 0, 0, tlen as u8, 1, 0, 0, 12]);
    b.extend_from_slice(attrs);
    b
}

#[test]
fn attribute_errors() {
    let err = |b: &[u8]| SaPayload::parse(b).unwrap_err();
    // Key Length in TLV format.
    assert!(matches!(
        err(&transform_sa(&[0x00, 0x0e, 0x00, 0x02, 0x00, 0x80])),
        ParseError::InvalidField {
            what: "transform: Key Length attribute in TLV format",
            ..
        }
    ));
    // Duplicate Key Length.
    assert!(matches!(
        err(&transform_sa(&[
            0x80, 0x0e, 0x00, 0x80, 0x80, 0x0e, 0x01, 0x00
        ])),
        ParseError::InvalidField {
            what: "transform: duplicate Key Length attribute",
            ..
        }
    ));
    // TLV longer than the transform.
    assert!(matches!(
        err(&transform_sa(&[0x00, 0x11, 0x00, 0x05, 0x00])),
        ParseError::BadLength {
            what: "transform attribute",
            length: 5,
            available: 1
        }
    ));
    // Half an attribute.
    assert!(matches!(
        err(&transform_sa(&[0x80, 0x0e, 0x00])),
        ParseError::Truncated {
            what: "transform attribute",
            ..
        }
    ));
    // A good one.
    let sa = SaPayload::parse(&transform_sa(&[0x80, 0x0e, 0x01, 0x00])).unwrap();
    assert_eq!(sa.proposals[0].transforms[0].key_length, Some(256));
}

#[test]
fn simple_payload_errors() {
    assert_eq!(
        Nonce::parse(&[0; 15]),
        Err(ParseError::LengthOutOfRange {
            what: "Nonce",
            length: 15,
            min: 16,
            max: 256
        })
    );
    assert!(Nonce::parse(&[0; 16]).is_ok());
    assert!(Nonce::parse(&[0; 256]).is_ok());
    assert!(matches!(
        Nonce::parse(&[0; 257]),
        Err(ParseError::LengthOutOfRange { length: 257, .. })
    ));
    assert!(matches!(
        KeyExchange::parse(&[0, 19, 0]),
        Err(ParseError::Truncated {
            what: "KE payload",
            need: 2,
            have: 1
        })
    ));
    assert!(matches!(
        Identification::parse(&[1, 0, 0]),
        Err(ParseError::Truncated {
            what: "ID payload",
            ..
        })
    ));
    assert!(matches!(
        Identification::parse(&[1, 0, 0, 0, 192, 0, 2]),
        Err(ParseError::BadLength {
            what: "ID payload: address",
            length: 3,
            available: 4
        })
    ));
    assert!(matches!(
        Identification::parse(&[5, 0, 0, 0, 1, 2, 3, 4]),
        Err(ParseError::BadLength {
            what: "ID payload: address",
            length: 4,
            available: 16
        })
    ));
    assert!(matches!(
        Authentication::parse(&[2, 0, 0]),
        Err(ParseError::Truncated {
            what: "AUTH payload",
            ..
        })
    ));
    // Reserved bytes are ignored.
    let a = Authentication::parse(&[2, 9, 9, 9, 0xaa]).unwrap();
    assert_eq!((a.method, a.data), (AuthMethod::SHARED_KEY_MIC, vec![0xaa]));
}

#[test]
fn notify_helpers_and_errors() {
    let n = Notify::invalid_ke(DhId::MODP_2048);
    let mut b = Vec::new();
    n.emit(&mut b);
    assert_eq!(b, [0, 0, 0, 17, 0, 14]);
    let back = Notify::parse(&b).unwrap();
    assert_eq!(back.invalid_ke_group(), Some(DhId::MODP_2048));
    assert_eq!(Notify::cookie(vec![1]).invalid_ke_group(), None);
    let mut odd = Notify::invalid_ke(DhId::ECP_256);
    odd.data.push(0);
    assert_eq!(odd.invalid_ke_group(), None);
    let c = Notify::for_child(ProtocolId::ESP, 0xdead_beef, NotifyType::REKEY_SA, vec![]);
    assert_eq!(c.spi_u32(), Some(0xdead_beef));
    assert!(matches!(
        Notify::parse(&[0, 0, 0x40]),
        Err(ParseError::Truncated {
            what: "Notify payload",
            ..
        })
    ));
    // SPI size must suit the protocol.
    assert!(matches!(
        Notify::parse(&[3, 3, 0, 11, 1, 2, 3]),
        Err(ParseError::InvalidField {
            what: "Notify payload: SPI size",
            value: 3
        })
    ));
    assert!(matches!(
        Notify::parse(&[1, 4, 0, 11, 1, 2, 3, 4]),
        Err(ParseError::InvalidField {
            what: "Notify payload: SPI size",
            value: 4
        })
    ));
    assert!(matches!(
        Notify::parse(&[3, 4, 0, 11, 1, 2, 3]),
        Err(ParseError::BadLength {
            what: "Notify payload: SPI",
            length: 4,
            available: 3
        })
    ));
    let ike = Notify::parse(&[1, 8, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    assert_eq!(ike.spi.len(), 8);
    // No SPI: protocol kept as received.
    assert_eq!(
        Notify::parse(&[7, 0, 0x40, 0]).unwrap().protocol,
        ProtocolId(7)
    );
}

#[test]
fn delete_errors() {
    assert!(matches!(
        Delete::parse(&[1, 0, 0]),
        Err(ParseError::Truncated {
            what: "Delete payload",
            ..
        })
    ));
    assert!(matches!(
        Delete::parse(&[1, 4, 0, 0]),
        Err(ParseError::InvalidField {
            what: "Delete payload: SPI size",
            value: 4
        })
    ));
    assert!(matches!(
        Delete::parse(&[1, 0, 0, 1]),
        Err(ParseError::InvalidField {
            what: "Delete payload: number of SPIs for IKE",
            value: 1
        })
    ));
    assert!(matches!(
        Delete::parse(&[1, 0, 0, 0, 9]),
        Err(ParseError::TrailingData { count: 1, .. })
    ));
    assert!(matches!(
        Delete::parse(&[3, 8, 0, 0]),
        Err(ParseError::InvalidField {
            what: "Delete payload: SPI size",
            value: 8
        })
    ));
    assert!(matches!(
        Delete::parse(&[9, 4, 0, 0]),
        Err(ParseError::InvalidField {
            what: "Delete payload: protocol ID",
            value: 9
        })
    ));
    assert!(matches!(
        Delete::parse(&[3, 4, 0, 2, 0, 0, 0, 1]),
        Err(ParseError::BadLength {
            what: "Delete payload: SPIs",
            length: 8,
            available: 4
        })
    ));
    assert!(matches!(
        Delete::parse(&[3, 4, 0xff, 0xff]),
        Err(ParseError::BadLength {
            length: 262_140,
            available: 0,
            ..
        })
    ));
    assert_eq!(
        Delete::parse(&[2, 4, 0, 1, 0, 0, 0, 7]).unwrap(),
        Delete {
            protocol: ProtocolId::AH,
            spis: vec![7]
        }
    );
}

fn ts_body(sels: Vec<TrafficSelector>) -> Vec<u8> {
    let mut b = Vec::new();
    TrafficSelectors(sels).emit(&mut b);
    b
}

#[test]
fn ts_helpers() {
    let b = ts_body(vec![TrafficSelector::ipv4_any()]);
    assert_eq!(
        b,
        [1, 0, 0, 0, 7, 0, 0, 16, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
    );
    let v6 = TrafficSelector::ipv6_any();
    assert_eq!(v6.end_addr, IpAddr::V6(Ipv6Addr::from([0xff; 16])));
    let c = TrafficSelector::from_cidr(Ipv4Addr::new(198, 19, 7, 9).into(), 16).unwrap();
    assert_eq!(c.start_addr, IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)));
    assert_eq!(c.end_addr, IpAddr::V4(Ipv4Addr::new(198, 19, 255, 255)));
    assert!(c.contains_addr(Ipv4Addr::new(198, 19, 0, 10).into()));
    assert!(!c.contains_addr(Ipv4Addr::new(198, 18, 0, 10).into()));
    let all = TrafficSelector::from_cidr(Ipv4Addr::new(1, 2, 3, 4).into(), 0).unwrap();
    assert_eq!(all, TrafficSelector::ipv4_any());
    let host = TrafficSelector::from_cidr(Ipv6Addr::LOCALHOST.into(), 128).unwrap();
    assert_eq!(host.start_addr, host.end_addr);
    assert_eq!(
        TrafficSelector::from_cidr(Ipv6Addr::UNSPECIFIED.into(), 0).unwrap(),
        TrafficSelector::ipv6_any()
    );
    assert!(TrafficSelector::from_cidr(Ipv4Addr::LOCALHOST.into(), 33).is_none());
    assert!(TrafficSelector::from_cidr(Ipv6Addr::LOCALHOST.into(), 129).is_none());
}

#[test]
fn ts_errors() {
    let err = |b: &[u8]| TrafficSelectors::parse(b).unwrap_err();
    let good = ts_body(vec![
        TrafficSelector::ipv4_any(),
        TrafficSelector::ipv6_any(),
    ]);
    // Start above end is kept (the negotiation judges it).
    let mut rev = TrafficSelector::ipv4_any();
    std::mem::swap(&mut rev.start_addr, &mut rev.end_addr);
    rev.start_port = 9;
    rev.end_port = 1;
    let b = ts_body(vec![rev.clone()]);
    assert_eq!(TrafficSelectors::parse(&b).unwrap().0, vec![rev]);
    // Count.
    let mut b = good.clone();
    b[0] = 0;
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "TS payload: number of TSs",
            value: 0
        }
    ));
    let mut b = good.clone();
    b[0] = 3;
    assert_eq!(
        err(&b),
        ParseError::CountMismatch {
            what: "TS payload: selectors",
            declared: 3,
            found: 2
        }
    );
    let mut b = good.clone();
    b[0] = 1;
    assert!(matches!(
        err(&b),
        ParseError::TrailingData { count: 40, .. }
    ));
    // Selector lengths must be exactly 16 / 40.
    let mut b = good.clone();
    b[7] = 40;
    assert!(matches!(
        err(&b),
        ParseError::BadLength {
            what: "traffic selector",
            length: 40,
            available: 16
        }
    ));
    let mut b = good.clone();
    b[4 + 16 + 3] = 16;
    assert!(matches!(
        err(&b),
        ParseError::BadLength {
            what: "traffic selector",
            length: 16,
            available: 40
        }
    ));
    let mut b = good.clone();
    b[7] = 0xff;
    assert!(matches!(
        err(&b),
        ParseError::BadLength {
            what: "traffic selector",
            length: 255,
            ..
        }
    ));
    let mut b = good.clone();
    b[7] = 0;
    assert!(matches!(
        err(&b),
        ParseError::Truncated {
            what: "traffic selector",
            ..
        }
    ));
    // Unknown TS type.
    let mut b = good.clone();
    b[4] = 9;
    assert!(matches!(
        err(&b),
        ParseError::InvalidField {
            what: "traffic selector: TS type",
            value: 9
        }
    ));
    // Half a selector header.
    assert!(matches!(
        err(&[1, 0, 0, 0, 7, 0, 0]),
        ParseError::Truncated {
            what: "traffic selector",
            ..
        }
    ));
}

#[test]
fn skf_errors() {
    let p = |first: PayloadType, b: &[u8]| EncryptedFragment::parse(first, b);
    assert!(matches!(
        p(PayloadType::NONE, &[0, 1, 0]),
        Err(ParseError::Truncated {
            what: "SKF payload",
            ..
        })
    ));
    assert!(matches!(
        p(PayloadType::IDI, &[0, 0, 0, 1]),
        Err(ParseError::InvalidField {
            what: "SKF payload: fragment number",
            value: 0
        })
    ));
    assert!(matches!(
        p(PayloadType::NONE, &[0, 3, 0, 2]),
        Err(ParseError::InvalidField {
            what: "SKF payload: fragment number",
            value: 3
        })
    ));
    assert!(matches!(
        p(PayloadType::IDI, &[0, 2, 0, 2]),
        Err(ParseError::InvalidField { value: 35, .. })
    ));
    let f = p(PayloadType::IDI, &[0, 1, 0, 2, 0xaa]).unwrap();
    assert_eq!(
        (f.fragment_number, f.total_fragments, f.body),
        (1, 2, vec![0xaa])
    );
    // SKF as the last payload of a message.
    let m = sample_message(vec![
        Payload::Notify(Notify::new(NotifyType::INITIAL_CONTACT, vec![])),
        Payload::EncryptedFragment(EncryptedFragment {
            first_inner: PayloadType::IDI,
            fragment_number: 1,
            total_fragments: 4,
            body: vec![5; 30],
        }),
    ]);
    assert_eq!(Message::parse(&m.emit()).unwrap(), m);
}

#[test]
fn payload_type_none_is_not_a_payload() {
    assert!(matches!(
        Payload::parse(PayloadType::NONE, PayloadType::NONE, false, &[]),
        Err(ParseError::InvalidField {
            what: "payload type",
            value: 0
        })
    ));
}
