//! The NDJSON line splitter: no panic, and the same lines whatever the chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::stream::NdjsonSplitter;

fn run(chunks: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
    let mut p = NdjsonSplitter::with_limit(1 << 16);
    let mut lines = Vec::new();
    for c in chunks {
        p.feed(c, |l| lines.push(l.to_vec())).ok()?;
    }
    p.finish(|l| lines.push(l.to_vec()));
    Some(lines)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let at = if body.is_empty() { 0 } else { cut as usize % body.len() };
    let (a, b) = body.split_at(at);
    if let (Some(whole), Some(halves)) = (run(&[body]), run(&[a, b])) {
        assert_eq!(whole, halves, "cut at {at}");
    }
});
