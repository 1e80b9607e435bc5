//! The SQLite store's text columns, `failures` (failure times) and `tags`
//! (remembered tags with their times): anything encodes to text that
//! decodes to it; any text either decodes (to values that encode and
//! decode back to themselves) or is refused, never a panic.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use loginguard_sqlite::fuzzing::{decode_failures, decode_tags, encode_failures, encode_tags};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(times) = decode_failures(text) {
            let again = encode_failures(&times);
            assert_eq!(decode_failures(&again), Some(times), "{text:?}");
        }
        if let Some(tags) = decode_tags(text) {
            let again = encode_tags(&tags);
            assert_eq!(decode_tags(&again), Some(tags), "{text:?}");
        }
    }
    let mut u = Unstructured::new(data);
    if let Ok((times, tags)) = <(Vec<i64>, Vec<(i64, u64)>)>::arbitrary(&mut u) {
        let text = encode_failures(&times);
        assert_eq!(decode_failures(&text), Some(times), "{text:?}");
        let text = encode_tags(&tags);
        assert!(!text.contains(['|', '\n']), "{text:?}");
        assert_eq!(decode_tags(&text), Some(tags), "{text:?}");
    }
});
