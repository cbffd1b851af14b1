//! A BGP session in OpenSent or Established fed arbitrary bytes in
//! arbitrary chunks, framed messages of any type, driver calls and clock
//! steps. Layout and invariants: `fuzz/shared/bgp_session.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../shared/bgp_session.rs"]
mod shared;

fuzz_target!(|data: &[u8]| {
    shared::run(data);
});
