//! The SQLite store's `failures` column: any failure times encode to text
//! that decodes to them; any text either decodes (to times that encode
//! and decode back to themselves) or is refused, never a panic.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use loginguard_sqlite::fuzzing::{decode_failures, encode_failures};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(times) = decode_failures(text) {
            let again = encode_failures(&times);
            assert_eq!(decode_failures(&again), Some(times), "{text:?}");
        }
    }
    let mut u = Unstructured::new(data);
    if let Ok(times) = Vec::<i64>::arbitrary(&mut u) {
        let text = encode_failures(&times);
        assert_eq!(decode_failures(&text), Some(times), "{text:?}");
    }
});
