//! Message::parse on arbitrary bytes; every message that parses must emit
//! and parse back to itself. The same for inner chains (parse_payloads),
//! with the first byte of the input choosing the first payload type.
#![no_main]

use ike::wire::{emit_payloads, parse_payloads, Message, PayloadType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::parse(data) {
        let bytes = msg.emit();
        let again = Message::parse(&bytes).expect("emitted message must parse");
        assert_eq!(again, msg);
        // Only reserved bits and ignored fields may differ: re-emitting the
        // re-parsed message gives the same bytes.
        assert_eq!(again.emit(), bytes);
    }
    if let Some((&first, rest)) = data.split_first() {
        let first = PayloadType(first);
        if let Ok(payloads) = parse_payloads(first, rest) {
            let mut out = Vec::new();
            let emitted_first = emit_payloads(&payloads, &mut out);
            if payloads.is_empty() {
                assert_eq!(emitted_first, PayloadType::NONE);
            } else {
                assert_eq!(emitted_first, first);
            }
            let again = parse_payloads(emitted_first, &out).expect("emitted chain must parse");
            assert_eq!(again, payloads);
        }
    }
});
