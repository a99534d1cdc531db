//! Full-text search: ranking, AND queries, prefixes, Unicode, snippets and incremental updates.

use understudy::conversation::export::generate_export;
use understudy::conversation::model::{Conversation, Message, Role};
use understudy::conversation::search::{SearchHit, SearchIndex};

const FIXTURE: &str = include_str!("fixtures/export/conversations.json");

fn fixture() -> Vec<Conversation> {
    serde_json::from_str(FIXTURE).expect("fixture")
}

fn chat(id: &str, title: &str, texts: &[&str]) -> Conversation {
    let mut c = Conversation::new(id);
    c.title = Some(title.into());
    let mut parent: Option<String> = None;
    for (i, t) in texts.iter().enumerate() {
        let role = if i % 2 == 0 { Role::User } else { Role::Assistant };
        let mid = format!("{id}-{i}");
        c.upsert_message(parent.as_deref(), Message::new(mid.clone(), role, *t), true);
        parent = Some(mid);
    }
    c
}

fn corpus() -> SearchIndex {
    let mut convs = fixture();
    convs.push(chat(
        "garden",
        "Tomato garden",
        &["How deep should tomato seeds go?", "About 6 mm deep in warm soil."],
    ));
    convs.push(chat("tokyo", "旅行 plans", &["東京で寿司を食べたい", "築地の近くがおすすめです"]));
    convs.push(chat(
        "lifetime-body",
        "Misc questions",
        &["I keep hitting a lifetime error with my Rust iterator", "Use a lifetime parameter on the struct."],
    ));
    SearchIndex::build(&convs)
}

/// Ids of the hits (last 4 characters of fixture ids, full id otherwise).
fn ids(hits: &[SearchHit]) -> Vec<String> {
    hits.iter()
        .map(|h| {
            if h.conversation_id.starts_with("6740") {
                h.conversation_id[32..].to_string()
            } else {
                h.conversation_id.clone()
            }
        })
        .collect()
}

fn check(ix: &SearchIndex, query: &str, expect: &[&str]) {
    assert_eq!(ids(&ix.search(query, 10)), expect, "query {query:?}");
}

#[test]
fn ranking_and_matching() {
    let ix = corpus();
    // Title match outranks body-only matches.
    check(&ix, "lifetimes", &["0001"]);
    // The prefix also matches "lifetimes" in a title, which outweighs two body hits.
    check(&ix, "lifetime", &["0001", "lifetime-body"]);
    check(&ix, "rust lifetime", &["0001", "lifetime-body"]);
    check(&ix, "iterator lifetime", &["lifetime-body"]);
    // AND across the conversation (title and messages).
    check(&ix, "tomato soil", &["garden"]);
    check(&ix, "tomato rust", &[]);
    check(&ix, "sales trend", &["0002"]);
    // Prefix on the last word only, unless the query ends with a space.
    check(&ix, "toma", &["garden"]);
    check(&ix, "toma ", &[]);
    check(&ix, "tomat seeds", &[]);
    check(&ix, "seeds toma", &["garden"]);
    // Tool calls, hidden context and abandoned branches are not searched.
    check(&ix, "pandas", &[]);
    check(&ix, "abandoned", &[]);
    check(&ix, "developer", &[]);
    // Text in the tool output and thoughts is.
    check(&ix, "describe", &[]);
    check(&ix, "month sales", &["0002"]);
    check(&ix, "analogy", &["0003"]);
    check(&ix, "", &[]);
    check(&ix, "  !!  ", &[]);
}

#[test]
fn unicode_queries() {
    let ix = corpus();
    check(&ix, "FAÇADE", &["0003"]);
    check(&ix, "straße", &["0003"]);
    check(&ix, "ÜBER briefly", &["0003"]);
    check(&ix, "東京", &["tokyo"]);
    check(&ix, "寿司", &["tokyo"]);
    check(&ix, "旅行", &["tokyo"]);
    check(&ix, "24 °C", &["0005"]);
    check(&ix, "24", &["0005"]);
}

#[test]
fn snippets_and_highlights() {
    let ix = corpus();
    let hits = ix.search("parameter struct", 5);
    assert_eq!(hits.len(), 2);
    for h in &hits {
        assert!(!h.highlights.is_empty(), "{h:?}");
        for r in &h.highlights {
            let word = h.snippet[r.clone()].to_lowercase();
            assert!(word == "parameter" || word == "struct", "{word:?} in {:?}", h.snippet);
        }
        assert!(h.snippet.chars().count() <= 200);
        assert!(h.message_id.is_some());
    }
    // Title highlights are byte ranges in the title.
    let h = &ix.search("façade", 1)[0];
    assert_eq!(h.title_highlights.iter().map(|r| &h.title[r.clone()]).collect::<Vec<_>>(), ["Façade"]);
    // Long text: the snippet is cut around the hit, marked with ellipses.
    let long = format!("{} needle here {}", "lorem ipsum ".repeat(100), "dolor sit ".repeat(100));
    let ix2 = SearchIndex::build(&[chat("long", "t", &[&long])]);
    let h = &ix2.search("needle", 1)[0];
    assert!(h.snippet.starts_with('…') && h.snippet.ends_with('…'), "{}", h.snippet);
    assert_eq!(&h.snippet[h.highlights[0].clone()], "needle");
    assert!(!h.snippet.contains('\n'));
}

#[test]
fn incremental_updates() {
    let mut ix = corpus();
    check(&ix, "tomato", &["garden"]);
    ix.upsert(&chat("garden", "Pepper garden", &["How deep should pepper seeds go?"]));
    check(&ix, "tomato", &[]);
    check(&ix, "pepper seeds", &["garden"]);
    assert!(ix.remove("garden"));
    assert!(!ix.remove("garden"));
    check(&ix, "pepper", &[]);
    ix.upsert(&chat("new", "Brand new", &["zebra crossing"]));
    check(&ix, "zeb", &["new"]);
    // A reply streaming in: only the growing message is re-indexed; old partial words vanish.
    let before = ix.stats().postings;
    for text in ["Partial ans", "Partial answer about quasars", "Partial answer about quasars and pulsars"] {
        ix.upsert(&chat("stream", "Astronomy", &["Tell me about quasars", text]));
    }
    check(&ix, "ans ", &[]);
    check(&ix, "quasars pulsars", &["stream"]);
    assert!(ix.stats().postings - before < 20, "unchanged messages keep their postings");
    // A renamed conversation no longer matches its old title.
    ix.upsert(&chat(
        "stream",
        "Space",
        &["Tell me about quasars", "Partial answer about quasars and pulsars"],
    ));
    check(&ix, "astronomy", &[]);
    check(&ix, "space quasars", &["stream"]);
    assert!(ix.remove("stream"));
    // Many updates trigger compaction; results stay right.
    for round in 0..3 {
        for i in 0..6000 {
            ix.upsert(&chat(&format!("bulk{i}"), "bulk", &[&format!("round{round} item{i}")]));
        }
    }
    check(&ix, "round2 item5999", &["bulk5999"]);
    check(&ix, "round1", &[]);
    assert_eq!(ix.stats().conversations, 8 + 6000);
    check(&ix, "space", &[]);
    assert_eq!(ix.search("bulk", 5).len(), 5);
}

#[test]
fn generated_corpus_queries() {
    let doc = generate_export(200, 10, 5);
    let convs: Vec<Conversation> = serde_json::from_str(&doc).expect("json");
    let ix = SearchIndex::build(&convs);
    assert_eq!(ix.stats().conversations, 200);
    assert_eq!(ix.stats().messages, 2000);
    for q in ["rust", "rust lifetime", "the", "caf", "東京", "performance bench"] {
        let hits = ix.search(q, 20);
        assert!(!hits.is_empty(), "{q}");
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score), "{q}");
    }
}

#[test]
fn saved_index_loads_back() {
    let mut ix = corpus();
    ix.upsert(&chat("gone", "Temporary", &["to be removed"]));
    ix.remove("gone");
    let bytes = ix.to_bytes();
    let back = SearchIndex::from_bytes(&bytes).expect("load");
    assert_eq!(back.stats(), ix.stats());
    for q in ["lifetime", "tomato soil", "東京", "façade", "toma", "temporary", "month sales"] {
        assert_eq!(back.search(q, 10), ix.search(q, 10), "{q}");
    }
    // The loaded index keeps working incrementally.
    let mut back = back;
    back.upsert(&chat("garden", "Tomato garden", &["Now with basil"]));
    check(&back, "basil tomato", &["garden"]);
    check(&back, "soil", &[]);
    // Foreign, truncated or corrupted data: an error or a consistent index, never a panic.
    assert!(SearchIndex::from_bytes(b"").is_err());
    assert!(SearchIndex::from_bytes(b"not an index at all").is_err());
    for cut in (0..bytes.len()).step_by(97) {
        assert!(SearchIndex::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    for at in (8..bytes.len()).step_by(61) {
        let mut bad = bytes.clone();
        bad[at] ^= 0xa5;
        if let Ok(ix) = SearchIndex::from_bytes(&bad) {
            let _ = ix.search("tomato lifetime", 5);
            let _ = ix.search("t", 5);
        }
    }
}

#[test]
fn documents_extracted_ahead_index_the_same() {
    use understudy::conversation::search::IndexDocs;
    let mut convs = fixture();
    convs.push(chat("garden", "Tomato garden", &["How deep should tomato seeds go?", "About 6 mm deep."]));
    let direct = SearchIndex::build(&convs);
    let mut queued = SearchIndex::new();
    for c in &convs {
        queued.upsert_docs(IndexDocs::of(c));
    }
    for q in ["tomato", "deep", "the", "lifetime", "gar", "sql", "python list"] {
        assert_eq!(direct.search(q, 10), queued.search(q, 10), "query {q:?}");
    }
    assert_eq!(direct.stats(), queued.stats());
    // Re-queuing unchanged documents keeps them; a changed title re-indexes the title only.
    let mut renamed = IndexDocs::of(&convs[5]);
    renamed.title = "Potato patch".into();
    queued.upsert_docs(renamed);
    check(&queued, "potato", &["garden"]);
    check(&queued, "tomato seeds", &["garden"]);
    assert_eq!(queued.stats().messages, direct.stats().messages);
}
