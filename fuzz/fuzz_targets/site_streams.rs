//! The other chat sites' answer-stream decoders (Claude, Gemini, DeepSeek, Grok, Perplexity,
//! Copilot, Le Chat): no panic, and the same turn (visible messages, title, end, error) whether
//! the bytes come whole or in chunks. The first byte picks the site and the chunk size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::page::sites::decode_stream;
use understudy::site::Site;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let others = &Site::ALL[1..];
    let site = others[pick as usize % others.len()];
    let chunk = 1 + (pick as usize / others.len()) % 23;
    let (Some(whole), Some(chunked)) = (decode_stream(site, body, 0), decode_stream(site, body, chunk))
    else {
        return;
    };
    let view = |t: &understudy::page::Turn| {
        let nodes: Vec<_> = t
            .visible()
            .map(|n| (n.message.id.clone(), n.message.content.plain_text(), n.message.is_incomplete()))
            .collect();
        (t.conversation_id.clone(), t.title.clone(), nodes, t.end, t.error.clone())
    };
    assert_eq!(view(&whole), view(&chunked), "{site:?} in chunks of {chunk}");
});
