//! The ChatGPT page stream decoder (SSE, delta encoding v1, typed events): no panic, and the same
//! turn (visible messages, title, end, error) whether the bytes come whole or in chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::page::chatgpt::decode_stream;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let chunk = 1 + pick as usize % 23;
    let whole = decode_stream(None, body, 0);
    let chunked = decode_stream(None, body, chunk);
    let view = |t: &understudy::page::Turn| {
        let nodes: Vec<_> =
            t.visible().map(|n| (n.message.id.clone(), n.message.content.plain_text())).collect();
        (t.conversation_id.clone(), t.title.clone(), nodes, t.end, t.error.clone())
    };
    assert_eq!(view(&whole), view(&chunked), "in chunks of {chunk}");
});
