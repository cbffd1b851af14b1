//! bgp::wire::Message::parse on arbitrary bytes as a TCP stream, in a
//! context chosen by the first byte (4-octet AS, IPv4/IPv6 unicast, iBGP).
//! Every parsed message must emit and parse back to what it means (an
//! UPDATE treated as withdraw comes back as the withdrawal), and
//! re-emitting that gives the same bytes.
#![no_main]

use bgp::route::IpNet;
use bgp::wire::{Context, Message, Parsed, Update, MAX_MESSAGE_LEN};
use libfuzzer_sys::fuzz_target;

fn families_in_order(v: impl Iterator<Item = IpNet>) -> Vec<IpNet> {
    let (mut v4, v6): (Vec<IpNet>, Vec<IpNet>) = v.partition(|p| p.addr().is_ipv4());
    v4.extend(v6);
    v4
}

/// What the message reads as after emit and parse.
fn expected(m: &Message) -> Message {
    match m {
        Message::Update(u) if u.treat_as_withdraw || u.attributes.is_none() => Message::Update(
            Update::withdraw(families_in_order(u.withdrawn.iter().chain(&u.announced).copied())),
        ),
        Message::Update(u) => Message::Update(Update {
            withdrawn: families_in_order(u.withdrawn.iter().copied()),
            ..u.clone()
        }),
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut stream)) = data.split_first() else {
        return;
    };
    let ctx = Context {
        four_octet_as: flags & 1 != 0,
        ipv4_unicast: flags & 2 == 0,
        ipv6_unicast: flags & 4 != 0,
        ibgp: flags & 8 != 0,
    };
    let mut notes = Vec::new();
    while let Ok(Parsed::Message(m, n)) = Message::parse_with_notes(stream, &ctx, &mut notes) {
        assert!(n >= 19 && n <= stream.len());
        stream = &stream[n..];
        let bytes = m.to_bytes(&ctx);
        // A full path in AS4_PATH can outgrow a parsed UPDATE's space on a
        // 2-octet session; encode_updates is what keeps sessions within
        // 4096 octets.
        if bytes.len() > MAX_MESSAGE_LEN {
            continue;
        }
        let again = match Message::parse(&bytes, &ctx) {
            Ok(Parsed::Message(again, k)) => {
                assert_eq!(k, bytes.len());
                again
            }
            other => panic!("emitted {m:?} as {bytes:02x?}, which parses as {other:?}"),
        };
        assert_eq!(again, expected(&m));
        assert_eq!(again.to_bytes(&ctx), expected(&m).to_bytes(&ctx));
        let _ = m.kind_name();
        if let Message::Notification(n) = &m {
            let _ = n.describe();
        }
    }
    for n in &notes {
        let _ = n.to_string();
    }
});
