//! The answer streams of every chat site but ChatGPT, decoded from fixtures written from the
//! documented shapes (`tests/fixtures/sites/README.md`): each in every chunking from 1 to 64
//! bytes and whole, with the same result; healthy turns, each family of error, and traps (the
//! answer quoting an error, a code that is no failure).

use serde_json::{Value, json};
use understudy::page::sites::{decode_stream, decoder};
use understudy::page::{End, Turn};
use understudy::site::Site;

fn fixture(site: Site, name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/sites/{}/{name}", env!("CARGO_MANIFEST_DIR"), site.id());
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The turn in a compact form: ids, title, messages as `[role, id, text, complete]`, the end,
/// and the error as `[kind, code, retry_at_ms]`.
fn summary(t: &Turn) -> Value {
    json!({
        "conversation": t.conversation_id,
        "title": t.title,
        "messages": t.visible().map(|n| {
            let m = &n.message;
            json!([m.role.as_str(), m.id, m.content.plain_text(), !m.is_incomplete()])
        }).collect::<Vec<_>>(),
        "end": t.end.unwrap_or(End::Truncated).as_str(),
        "error": t.error.as_ref().map(|e| json!([e.kind, e.code, e.retry_at_ms])),
    })
}

/// Decodes the fixture whole and in every chunking from 1 to 64 bytes: always `expect`.
fn check(site: Site, name: &str, expect: Value) {
    let bytes = fixture(site, name);
    let whole = summary(&decode_stream(site, &bytes, 0).expect("a site decoder"));
    assert_eq!(whole, expect, "{} {name} whole", site.id());
    for chunk in 1..=64 {
        let got = summary(&decode_stream(site, &bytes, chunk).expect("a site decoder"));
        assert_eq!(got, whole, "{} {name} in chunks of {chunk}", site.id());
    }
}

fn turn(conversation: Value, title: Value, messages: Value, end: &str, error: Value) -> Value {
    json!({"conversation": conversation, "title": title, "messages": messages, "end": end, "error": error})
}

#[test]
fn chatgpt_has_its_own_decoder() {
    assert!(decoder(Site::Chatgpt).is_none());
    for site in Site::ALL.into_iter().skip(1) {
        assert!(decoder(site).is_some(), "{site:?}");
    }
}

#[test]
fn claude() {
    let c = Site::Claude;
    let answer = "9b2f1d63-4c5e-4f60-9b0c-1d2e3f4a5b6c";
    let text = "Hey Mike! Grüße aus Zürich 🏔️, 日本語も大丈夫。";
    // Thinking, its summary and a tool's input are not answer text; within the limit is no error.
    check(
        c,
        "healthy.sse",
        turn(json!(null), json!(null), json!([["assistant", answer, text, true]]), "done", json!(null)),
    );
    check(
        c,
        "cut.sse",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", answer, "Hey Mike! ", false]]),
            "truncated",
            json!(null),
        ),
    );
    // The limit: rate limited until `resetsAt`, in a stream or as a 429 body.
    let limited = json!(["rate_limited", "exceeded_limit", 1_760_000_000_000u64]);
    check(c, "limit-exceeded.sse", turn(json!(null), json!(null), json!([]), "error", limited.clone()));
    check(c, "limit-429.json", turn(json!(null), json!(null), json!([]), "error", limited));
    // A limit reported with a complete answer: the answer stands, the limit is reported (the
    // window that is exceeded gives the time).
    check(
        c,
        "limit-after-answer.sse",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", answer, "Here is the last answer of this window.", true]]),
            "done",
            json!(["rate_limited", "exceeded_limit", 1_765_864_800_000u64]),
        ),
    );
    check(
        c,
        "overloaded.sse",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", answer, "Partial", false]]),
            "error",
            json!(["capacity", "overloaded_error", null]),
        ),
    );
    // The answer quoting the capacity text is an answer.
    let quoted = "You pasted: \"Due to unexpected capacity constraints, Claude is unable to respond to your message.\" It is a capacity notice.";
    check(
        c,
        "quotes-capacity.sse",
        turn(json!(null), json!(null), json!([["assistant", answer, quoted, true]]), "done", json!(null)),
    );
}

#[test]
fn gemini() {
    let g = Site::Gemini;
    let (conv, answer) = (json!("c_4f1d2e3a5b6c7d8e"), "r_9a8b7c6d5e4f3a2b");
    let text = "Bonjour 👋🏽 le monde — 𝄞 🇫🇷 日本 ok";
    // Snapshots replace (the text is not repeated); thoughts are not answer text; the title
    // comes in a sparse frame; a trailing sparse frame and other envelopes change nothing.
    let healthy = turn(
        conv.clone(),
        json!("Greetings in French"),
        json!([["assistant", answer, text, true]]),
        "done",
        json!(null),
    );
    check(g, "healthy.txt", healthy.clone());
    // Lengths counted without the newlines frame the same values.
    check(g, "healthy-json-lengths.txt", healthy);
    check(
        g,
        "end-index-25.txt",
        turn(
            conv.clone(),
            json!(null),
            json!([["assistant", answer, "Short 🙂 answer.", true]]),
            "done",
            json!(null),
        ),
    );
    check(
        g,
        "cut.txt",
        turn(
            conv.clone(),
            json!(null),
            json!([["assistant", answer, "Halfway 🚧", false]]),
            "truncated",
            json!(null),
        ),
    );
    // 1096 follows successful turns, and a code the adapter does not know is no failure.
    check(
        g,
        "after-success-1096.txt",
        turn(conv.clone(), json!(null), json!([["assistant", answer, "Done.", true]]), "done", json!(null)),
    );
    check(
        g,
        "unknown-code.txt",
        turn(conv.clone(), json!(null), json!([["assistant", answer, "Fine.", true]]), "done", json!(null)),
    );
    check(
        g,
        "usage-limit-1037.txt",
        turn(conv.clone(), json!(null), json!([]), "error", json!(["rate_limited", "1037", null])),
    );
    check(
        g,
        "temporary-1013.txt",
        turn(conv, json!(null), json!([]), "error", json!(["generation_error", "1013", null])),
    );
    check(
        g,
        "ip-blocked-1060.txt",
        turn(json!(null), json!(null), json!([]), "error", json!(["blocked", "1060", null])),
    );
}

#[test]
fn deepseek() {
    let d = Site::Deepseek;
    check(
        d,
        "healthy.sse",
        turn(
            json!(null),
            json!("User Greets AI Assistant for Testing"),
            json!([["assistant", "2", "你好！😊 How can I help?", true]]),
            "done",
            json!(null),
        ),
    );
    // THINK fragments are thinking; `-1` is the last fragment; a bare `{v}` continues it.
    check(
        d,
        "thinking.sse",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", "4", "The smallest prime is **2**.", true]]),
            "done",
            json!(null),
        ),
    );
    check(
        d,
        "old-format.sse",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", "10", "Hello there", true]]),
            "done",
            json!(null),
        ),
    );
    let busy = |code: Value| json!(["capacity", code, null]);
    check(
        d,
        "server-busy-hint.sse",
        turn(json!(null), json!(null), json!([]), "error", busy(json!("error"))),
    );
    check(
        d,
        "server-busy-envelope.json",
        turn(json!(null), json!(null), json!([]), "error", busy(json!("3"))),
    );
    check(
        d,
        "rate-limit-envelope.sse",
        turn(json!(null), json!(null), json!([]), "error", json!(["rate_limited", "40003", null])),
    );
    // The answer quoting "server busy", and a hint that is a tip: no error.
    check(
        d,
        "quotes-busy.sse",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", "8", "“服务器繁忙，请稍后再试” means the server is busy.", true]]),
            "done",
            json!(null),
        ),
    );
}

#[test]
fn grok() {
    let g = Site::Grok;
    let conv = json!("3f1b7c2a-9d8e-4f6a-b5c4-1e2d3c4b5a69");
    let prompt = json!(["user", "u-1a2b", "Say hi in three languages", true]);
    check(
        g,
        "healthy.ndjson",
        turn(
            conv.clone(),
            json!("Greetings in three languages"),
            json!([prompt.clone(), ["assistant", "a-9f8e", "Hi, hola, こんにちは 👋", true]]),
            "done",
            json!(null),
        ),
    );
    check(
        g,
        "cut.ndjson",
        turn(
            conv,
            json!(null),
            json!([prompt, ["assistant", "a-9f8e", "Hi, hola", false]]),
            "truncated",
            json!(null),
        ),
    );
    check(
        g,
        "responses-endpoint.ndjson",
        turn(json!(null), json!(null), json!([["assistant", "a-2", "Again!", true]]), "done", json!(null)),
    );
    check(
        g,
        "anti-bot.ndjson",
        turn(json!(null), json!(null), json!([]), "error", json!(["blocked", "7", null])),
    );
    let quoted = "The error \"Request rejected by anti-bot rules\" means a bot check failed.";
    check(
        g,
        "quotes-anti-bot.ndjson",
        turn(json!(null), json!(null), json!([["assistant", "a-1", quoted, true]]), "done", json!(null)),
    );
}

#[test]
fn perplexity() {
    let p = Site::Perplexity;
    let (slug, title, answer) = (
        json!("why-is-the-sky-blue-Ab12Cd34"),
        json!("Why is the sky blue?"),
        "5e6f7a8b-0c1d-4e2f-9a3b-4c5d6e7f8a9b",
    );
    let prompt = json!(["user", "", "Why is the sky blue?", true]);
    // Snapshots replace; one without the answer block keeps the answer; `final` is not the end.
    check(
        p,
        "healthy.sse",
        turn(
            slug.clone(),
            title.clone(),
            json!([
                prompt.clone(),
                ["assistant", answer, "Rayleigh scattering 🌤️ makes the sky blue.", true]
            ]),
            "done",
            json!(null),
        ),
    );
    check(
        p,
        "cut.sse",
        turn(
            slug.clone(),
            title.clone(),
            json!([prompt.clone(), ["assistant", answer, "Rayleigh scattering", false]]),
            "truncated",
            json!(null),
        ),
    );
    check(
        p,
        "rate-limited.sse",
        turn(json!(null), json!(null), json!([]), "error", json!(["rate_limited", "RATE_LIMITED", null])),
    );
    check(
        p,
        "failed.sse",
        turn(
            slug.clone(),
            title.clone(),
            json!([prompt.clone(), ["assistant", answer, "Par", false]]),
            "error",
            json!(["generation_error", null, null]),
        ),
    );
    check(
        p,
        "quotes-limit.sse",
        turn(
            slug,
            title,
            json!([prompt, ["assistant", answer, "A 429 means \"Too many requests\": slow down.", true]]),
            "done",
            json!(null),
        ),
    );
}

#[test]
fn copilot() {
    let c = Site::Copilot;
    let (conv, msg) = (json!("gP5vWq2hK9xYz"), "ic1ekKWy3E2ZctSTqCLHT");
    let prompt = json!(["user", "um-7Hk2", "Tell me a joke", true]);
    // Two JSON objects in one frame; ping and partCompleted say nothing.
    check(
        c,
        "healthy.frames",
        turn(
            conv.clone(),
            json!("A chicken joke"),
            json!([
                prompt.clone(),
                [
                    "assistant",
                    msg,
                    "Why did the 🐔 cross the road? To get to the other side. Want another one?",
                    true
                ]
            ]),
            "done",
            json!(null),
        ),
    );
    check(
        c,
        "cut.frames",
        turn(
            conv.clone(),
            json!(null),
            json!([
                prompt,
                ["assistant", msg, "Why did the 🐔 cross the road? To get to the other side.", false]
            ]),
            "truncated",
            json!(null),
        ),
    );
    // replaceText replaces its part, the other part stays.
    check(
        c,
        "parts.frames",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", "m1", "Final first part! | second part", true]]),
            "done",
            json!(null),
        ),
    );
    check(
        c,
        "error.frames",
        turn(
            conv,
            json!(null),
            json!([["user", "um-1", "Tell me a joke", true]]),
            "error",
            json!(["rate_limited", "rateLimited", null]),
        ),
    );
    check(
        c,
        "unknown-error.frames",
        turn(json!(null), json!(null), json!([]), "error", json!(["unknown_error", "bleep", null])),
    );
    check(
        c,
        "challenge.frames",
        turn(json!(null), json!(null), json!([]), "error", json!(["blocked", "challenge", null])),
    );
}

#[test]
fn copilot_frames_one_by_one_are_the_same_as_lines() {
    let text = String::from_utf8(fixture(Site::Copilot, "healthy.frames")).unwrap();
    let mut d = decoder(Site::Copilot).unwrap();
    for frame in text.lines() {
        d.frame(frame);
    }
    d.finish();
    assert_eq!(summary(&d.turn()), summary(&decode_stream(Site::Copilot, text.as_bytes(), 0).unwrap()));
}

#[test]
fn mistral() {
    let m = Site::Mistral;
    let (chat, msg) = (json!("8a7b6c5d-4e3f-4a2b-9c1d-0e1f2a3b4c5d"), "3c9e1f2a-7b6d-4e5f-a1b2-c3d4e5f6a7b8");
    // The stream's close is its end; only `0:` lines are answer text.
    check(
        m,
        "healthy.txt",
        turn(
            chat,
            json!(null),
            json!([["assistant", msg, "Bonjour ! Ça va 🥐 ?", true]]),
            "done",
            json!(null),
        ),
    );
    check(
        m,
        "finished.txt",
        turn(json!(null), json!(null), json!([["assistant", "", "Done", true]]), "done", json!(null)),
    );
    check(
        m,
        "rate-limited.txt",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", "", "Par", false]]),
            "error",
            json!(["rate_limited", null, null]),
        ),
    );
    check(
        m,
        "capacity-object.txt",
        turn(json!(null), json!(null), json!([]), "error", json!(["capacity", "3505", null])),
    );
    check(
        m,
        "quotes-limit.txt",
        turn(
            json!(null),
            json!(null),
            json!([["assistant", "", "\"Rate limit exceeded\" means you sent too much.", true]]),
            "done",
            json!(null),
        ),
    );
    check(m, "empty.txt", turn(json!(null), json!(null), json!([]), "truncated", json!(null)));
}

#[test]
fn garbage_never_panics_and_never_raises() {
    let junk: &[&[u8]] = &[
        b"",
        b"\xff\xfe\x00",
        b"data: {\n\n",
        b")]}'\n\n99999999999999999999\n[",
        b"{\"v\":",
        b"0:\n3:\n",
        b"{\"event\":",
    ];
    for site in Site::ALL.into_iter().skip(1) {
        for bytes in junk {
            let t = decode_stream(site, bytes, 1).unwrap();
            assert!(t.error.is_none(), "{site:?} {bytes:?}");
        }
    }
}

#[test]
fn claude_conversation_body_keeps_every_branch_and_shows_the_current_one() {
    use understudy::conversation::main_line;
    use understudy::page::sites::parse_body;
    let json = String::from_utf8(fixture(Site::Claude, "conversation.json")).unwrap();
    let conv = parse_body(Site::Claude, None, &json).unwrap().unwrap();
    assert_eq!(conv.id, "4c8e2a10-6b3d-4f5e-9a7c-1d2e3f4a5b6c");
    assert_eq!(conv.title.as_deref(), Some("Packing for Zürich"));
    assert_eq!(conv.message_count(), 6);
    let line: Vec<(&str, String)> =
        main_line(&conv).iter().map(|m| (m.id.as_str(), m.content.plain_text())).collect();
    assert_eq!(
        line,
        [
            ("a1", "What should I pack for Zürich in winter?".to_string()),
            // Thinking, tool use and tool results are not kept.
            ("b2", "A warm coat 🧥, boots and layers.\n\nIt is around -2 °C.".to_string()),
            ("c3b", "And for ten days?".to_string()),
            ("d4", "Ten outfits, or a laundry day.".to_string()),
        ]
    );
    assert_eq!(conv.nodes["b2"].children, ["c3", "c3b"]);
    assert!(parse_body(Site::Claude, None, r#"{"type":"error"}"#).unwrap().is_err());
    assert!(parse_body(Site::Gemini, None, "{}").unwrap().is_err());
    assert!(parse_body(Site::Mistral, None, "{}").is_none());
}

#[test]
fn gemini_passes_over_lines_that_are_no_frames_in_any_chunking() {
    let frame = r#"[["wrb.fr",null,"[null,[\"c_1\",\"r_1\"],null,null,[[\"rc\",[\"Ok 👍\"],null,null,null,null,null,null,[2]]]]"]]"#;
    let n = format!("\n{frame}\n").encode_utf16().count();
    let body = format!(")]}}'\nnoise 12\n{n}\n{frame}\n");
    let whole = summary(&decode_stream(Site::Gemini, body.as_bytes(), 0).unwrap());
    assert_eq!(whole["messages"], json!([["assistant", "r_1", "Ok 👍", true]]));
    for chunk in 1..=64 {
        assert_eq!(
            summary(&decode_stream(Site::Gemini, body.as_bytes(), chunk).unwrap()),
            whole,
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_forged_deepseek_path_of_many_segments_builds_nothing_deep() {
    // 100,000 segments: the decoder must neither build that tree nor overflow dropping it.
    let deep = vec!["a"; 100_000].join("/");
    let mut body = String::from("data: {\"v\":{\"response\":{\"message_id\":2,\"fragments\":[]}}}\n\n");
    body.push_str(&format!("data: {{\"v\":\"x\",\"p\":\"{deep}\",\"o\":\"SET\"}}\n\n"));
    body.push_str("data: {\"v\":[{\"id\":1,\"type\":\"RESPONSE\",\"content\":\"Still here\"}],\"p\":\"response/fragments\",\"o\":\"APPEND\"}\n\n");
    let turn = decode_stream(Site::Deepseek, body.as_bytes(), 0).unwrap_or_else(|| panic!("no decoder"));
    let texts: Vec<String> = turn.visible().map(|n| n.message.content.plain_text()).collect();
    assert_eq!(texts, ["Still here"]);
}
