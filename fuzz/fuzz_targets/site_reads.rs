//! The other chat sites' conversation reads (`sites::parse_body`: Gemini's `hNvQHb` reply,
//! DeepSeek's `history_messages`, Grok's `response-node` and `load-responses`, Perplexity's thread,
//! Copilot's history; Claude's conversation body): no panic, and what a read of the other sites
//! gives is a well-formed tree: every node under the id it is filed by, a parent that lists it once
//! among its children and children that name it as their parent, no node its own ancestor, and a
//! current node that is a message. The first byte picks the site and the request path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::page::sites::parse_body;
use understudy::site::Site;

const SITES: [Site; 6] =
    [Site::Gemini, Site::Deepseek, Site::Grok, Site::Perplexity, Site::Copilot, Site::Claude];
const PATHS: [Option<&str>; 6] = [
    None,
    Some("/rest/app-chat/conversations/c1/response-node"),
    Some("/c/api/conversations/c1/history?api-version=2"),
    Some("/api/v0/chat/history_messages?chat_session_id=s1"),
    Some("/rest/thread/t1"),
    Some("/_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=%2Fapp%2F77aa"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let site = SITES[pick as usize % SITES.len()];
    let path = PATHS[(pick as usize / SITES.len()) % PATHS.len()];
    let Ok(text) = std::str::from_utf8(body) else { return };
    let Some(Ok(conv)) = parse_body(site, path, text) else { return };
    if site == Site::Claude {
        return; // the shared upsert's tree: only no panic here
    }
    for (id, node) in &conv.nodes {
        assert_eq!(&node.id, id);
        if let Some(p) = &node.parent {
            let parent = &conv.nodes[p];
            assert_eq!(parent.children.iter().filter(|c| *c == id).count(), 1, "{site:?} {id} under {p}");
        }
        for c in &node.children {
            assert_eq!(conv.nodes[c].parent.as_deref(), Some(id.as_str()), "{site:?} {c} of {id}");
        }
        let mut at = node.parent.as_deref();
        let mut steps = 0;
        while let Some(p) = at {
            assert_ne!(p, id, "{site:?}: {id} is its own ancestor");
            steps += 1;
            assert!(steps <= conv.nodes.len());
            at = conv.nodes[p].parent.as_deref();
        }
    }
    let current = conv.current_node.as_deref().and_then(|c| conv.nodes.get(c));
    assert!(current.is_some_and(|n| n.message.is_some()), "{site:?}: no current message");
});
