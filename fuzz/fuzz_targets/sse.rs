//! The SSE parser: no panic on any bytes, and the same events whatever the chunking (the first
//! byte picks where the body is cut in two, and a third run feeds it byte by byte).
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::stream::sse::{OwnedSseEvent, SseParser};

fn run(chunks: &[&[u8]]) -> (Vec<OwnedSseEvent>, bool) {
    let mut p = SseParser::with_limit(1 << 16);
    let mut events = Vec::new();
    let mut refused = false;
    for c in chunks {
        refused |= p.feed(c, |e| events.push(e.to_owned_event())).is_err();
    }
    p.finish();
    (events, refused)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let at = if body.is_empty() { 0 } else { cut as usize % body.len() };
    let whole = run(&[body]);
    let (a, b) = body.split_at(at);
    let halves = run(&[a, b]);
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    let single = run(&bytes);
    if !whole.1 && !halves.1 && !single.1 {
        assert_eq!(whole.0, halves.0, "cut at {at}");
        assert_eq!(whole.0, single.0, "byte by byte");
    }
});
