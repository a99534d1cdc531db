//! Every provider's stream decoder (the first byte picks the format and the chunk size): no panic,
//! and the same text and end whether the body comes whole or in chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::provider::decode::{StreamFormat, decode_all};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let format = StreamFormat::ALL[pick as usize % StreamFormat::ALL.len()];
    let chunk = 1 + (pick as usize >> 3) % 17;
    let whole = decode_all(format, body, 0);
    let chunked = decode_all(format, body, chunk);
    assert_eq!(whole, chunked, "{format:?} in chunks of {chunk}");
});
