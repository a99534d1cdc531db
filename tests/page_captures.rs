//! Real, published captures of chatgpt.com (2026-09-28, `tests/fixtures/chatgpt/w2a/`) replayed
//! through the core's decoder: in their own chunking, in every chunk size from 1 to 64 bytes and
//! in large ones, each keeps the prompt and the whole answer, the title and the conversation id,
//! ends `done`, and keeps nothing the page echoed back (the user's profile and custom
//! instructions, memory, the reasoning recap, the resume token).

mod page_common;

use page_common::chunks;
use understudy::page::chatgpt::ChatgptStream;
use understudy::page::{End, Turn};

fn decode(parts: &[&[u8]]) -> Turn {
    let mut d = ChatgptStream::new(None);
    for p in parts {
        d.feed(p);
    }
    d.finish();
    assert_eq!(d.refused(), 0, "every event and operation of a real stream fits the grammar");
    d.turn()
}

struct Expect {
    conversation_id: &'static str,
    title: &'static str,
    prompt: &'static str,
    answer_starts: &'static str,
    answer_ends: &'static str,
}

/// What must never reach the cache from these streams (their echoes' content).
const ECHOES: [&str; 5] =
    ["Preferred name", "user_profile", "user_instructions", "xxxxxxxxxx", "\u{601d}\u{8003}"];

fn check(name: &str, expect: Expect) {
    let chunks = chunks(name);
    let whole: Vec<u8> = chunks.concat();
    let own: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
    let reference = decode(&own);
    let visible: Vec<_> = reference.visible().collect();
    assert_eq!(visible.len(), 2, "{name}: the prompt and the answer");
    assert_eq!(visible[0].message.content.plain_text(), expect.prompt, "{name}");
    let answer = visible[1].message.content.plain_text();
    assert!(
        answer.starts_with(expect.answer_starts) && answer.ends_with(expect.answer_ends),
        "{name}: {answer}"
    );
    assert!(!visible[1].message.is_incomplete(), "{name}: the answer is complete");
    assert_eq!(reference.end, Some(End::Done), "{name}");
    assert_eq!(reference.conversation_id.as_deref(), Some(expect.conversation_id), "{name}");
    assert_eq!(reference.title.as_deref(), Some(expect.title), "{name}");
    assert!(reference.error.is_none());
    let kept = serde_json::to_string(&reference.nodes).unwrap();
    for e in ECHOES {
        assert!(!kept.contains(e), "{name}: an echo reached the cache ({e})");
    }
    for size in (1..=64).chain([100, 257, 1000, 4096, 6000, whole.len()]) {
        let parts: Vec<&[u8]> = whole.chunks(size).collect();
        let t = decode(&parts);
        assert_eq!(t, reference, "{name} in chunks of {size} bytes");
    }
}

#[test]
fn s1_a_short_answer_after_the_full_echo_burst() {
    check(
        "s1",
        Expect {
            conversation_id: "6ab9dd65-51b0-83ea-9836-d2642f97cb6d",
            title: "Reply with Marker",
            prompt: "Reply with exactly: MARKER-S1-1",
            answer_starts: "MARKER-S1-1",
            answer_ends: "MARKER-S1-1",
        },
    );
}

#[test]
fn s3_a_long_answer_token_by_token_with_a_retitle() {
    check(
        "s3",
        Expect {
            conversation_id: "6ab9ebaa-4130-83ea-9985-86578f9ff16d",
            title: "\u{8bc1}\u{660e}\u{5355}\u{8272}\u{4e09}\u{89d2}\u{5f62}",
            prompt: "Prove or disprove: every 2-coloring of K6 contains a monochromatic triangle. Show your reasoning step by step.",
            answer_starts: "The statement is **true**.\n\nThis is the classical Ramsey-theory fact",
            answer_ends: "Thus \\(R(3,3)=6\\).",
        },
    );
}

#[test]
fn s7_another_short_answer() {
    check(
        "s7",
        Expect {
            conversation_id: "6ab9dd70-d4a8-83ea-8f93-4f1e76982212",
            title: "Exact reply MARKER-S7-1",
            prompt: "Reply with exactly: MARKER-S7-1",
            answer_starts: "MARKER-S7-1",
            answer_ends: "MARKER-S7-1",
        },
    );
}
