//! The Markdown renderer: no panic, a tree no deeper than its bound, nothing but allowed links,
//! and a text streamed in two pieces (the settled blocks of the first piece kept, the rest
//! rendered again from the first unsettled block) renders as the whole text does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::markdown::{self, MAX_DEPTH, Node, html::to_html, math::MAX_GROUPS};

fn depth(nodes: &[Node]) -> usize {
    let mut max = 0;
    let mut stack: Vec<(&Node, usize)> = nodes.iter().map(|n| (n, 1)).collect();
    while let Some((n, d)) = stack.pop() {
        max = max.max(d);
        if let Node::Element(e) = n {
            if e.tag == "a" {
                assert!(e.get("href").is_some_and(|h| markdown::safe_link(h).is_some()), "{:?}", e.get("href"));
            }
            assert!(e.tag != "img" && e.tag != "script");
            stack.extend(e.children.iter().map(|c| (c, d + 1)));
        }
    }
    max
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(body) else { return };
    let whole = markdown::render(text);
    assert!(depth(&whole) <= MAX_DEPTH + 3 * MAX_GROUPS + 4);
    // A link reference definition after its use is the streaming contract's one exception.
    if text.contains("]:") {
        return;
    }
    let mut at = if text.is_empty() { 0 } else { cut as usize * text.len() / 255 };
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let first = markdown::render_blocks(&text[..at]);
    let n = markdown::settled(&text[..at], &first);
    let mut streamed: Vec<Node> = first.iter().take(n).map(|b| b.node.clone()).collect();
    let from = first.get(n).map_or(0, |b| if n > 0 { b.start } else { 0 });
    streamed.extend(markdown::render(&text[from..]));
    assert_eq!(to_html(&streamed), to_html(&whole), "cut at {at}");
});
