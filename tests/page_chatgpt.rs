//! ChatGPT's page traffic decoded by the core: v1 streams in every chunking, echoes never kept,
//! handoff to a resume stream and to a WebSocket, errors, moderation, legacy snapshots,
//! conversation bodies, temporary chats, and the session that turns it all into captures.

use std::collections::BTreeMap;

use understudy::conversation::capture::{self, Capture};
use understudy::conversation::{Conversation, main_line};
use understudy::page::chatgpt::{ChatgptStream, Request, decode_stream};
use understudy::page::session::{CaptureSession, StreamKind};
use understudy::page::{End, Turn};

const SECRETS: [&str; 4] = ["ECHO-PROFILE-SECRET", "ECHO-MEMORY-SECRET", "ECHO-THOUGHTS-SECRET", "eyJTOKEN"];

fn root(c: u32, message: &str, first: bool) -> String {
    let pre = if first { r#""p":"","o":"add","# } else { "" };
    format!(
        "event: delta\ndata: {{{pre}\"v\":{{\"message\":{message},\"conversation_id\":\"conv-1\",\"error\":null,\"error_code\":null}},\"c\":{c}}}   \n\n"
    )
}

fn msg(id: &str, role: &str, content: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","author":{{"role":"{role}","name":null,"metadata":{{}}}},"create_time":1790565733.25,"content":{content},"status":"finished_successfully","end_turn":null,"weight":1.0,"metadata":{{{extra}}},"recipient":"all","channel":null}}"#
    )
}

fn text(s: &str) -> String {
    format!(r#"{{"content_type":"text","parts":["{s}"]}}"#)
}

/// The echo burst a 2026 stream opens with: hidden system message, the user's message, profile,
/// memory, thoughts (all but the user's message must never reach the cache).
fn echo_burst() -> String {
    let mut s = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    s += "data: {\"type\":\"resume_conversation_token\",\"kind\":\"topic\",\"token\":\"eyJTOKEN.x.y\",\"conversation_id\":\"conv-1\"}\n\n";
    s += &root(0, &msg("sys", "system", &text(""), r#""is_visually_hidden_from_conversation":true"#), true);
    s += &root(2, &msg("u1", "user", &text("Plan a trip to Lisbon"), r#""parent_id":"sys""#), false);
    s += &root(
        3,
        &msg(
            "ctx",
            "user",
            r#"{"content_type":"user_editable_context","user_profile":"ECHO-PROFILE-SECRET","user_instructions":"be brief"}"#,
            r#""parent_id":"u1","is_visually_hidden_from_conversation":true"#,
        ),
        false,
    );
    s += &root(
        4,
        &msg(
            "mem",
            "user",
            r#"{"content_type":"model_editable_context","model_set_context":"ECHO-MEMORY-SECRET"}"#,
            r#""parent_id":"ctx""#,
        ),
        false,
    );
    s += "data: {\"type\":\"title_generation\",\"title\":\"Lisbon trip\",\"conversation_id\":\"conv-1\"}\n\n";
    s += &root(
        5,
        r#"{"id":"th","author":{"role":"assistant"},"content":{"content_type":"thoughts","thoughts":[{"summary":"x","content":"ECHO-THOUGHTS-SECRET"}]},"status":"finished_successfully","metadata":{"parent_id":"mem"},"recipient":"all","channel":"analysis"}"#,
        false,
    );
    s += &root(
        6,
        r#"{"id":"rr","author":{"role":"assistant"},"content":{"content_type":"reasoning_recap","content":"Thought for 3s ECHO-THOUGHTS-SECRET"},"status":"finished_successfully","metadata":{"parent_id":"th"},"recipient":"all","channel":"analysis"}"#,
        false,
    );
    s
}

/// The answer, streamed as v1 deltas: a root add, a first append, bare text deltas, the closing patch.
fn answer(tokens: &[&str]) -> String {
    let mut s = root(
        14,
        r#"{"id":"a1","author":{"role":"assistant"},"content":{"content_type":"text","parts":[""]},"status":"in_progress","end_turn":null,"metadata":{"parent_id":"rr","model_slug":"gpt-5-6"},"recipient":"all","channel":"final"}"#,
        false,
    );
    for (i, t) in tokens.iter().enumerate() {
        let t = serde_json::to_string(t).unwrap();
        if i == 0 {
            s += &format!(
                "event: delta\ndata: {{\"p\":\"/message/content/parts/0\",\"o\":\"append\",\"v\":{t}}}\n\n"
            );
        } else {
            s += &format!("event: delta\ndata: {{\"v\":{t}}}\n\n");
        }
    }
    s += "event: delta\ndata: {\"p\":\"\",\"o\":\"patch\",\"v\":[{\"p\":\"/message/content/parts/0\",\"o\":\"append\",\"v\":\"!\"},{\"p\":\"/message/status\",\"o\":\"replace\",\"v\":\"finished_successfully\"},{\"p\":\"/message/end_turn\",\"o\":\"replace\",\"v\":true},{\"p\":\"/message/metadata\",\"o\":\"append\",\"v\":{\"can_save\":true}}]}\n\n";
    s
}

const TAIL: &str =
    "data: {\"type\":\"message_stream_complete\",\"conversation_id\":\"conv-1\"}\n\ndata: [DONE]\n\n";

const TOKENS: [&str; 6] = ["Start in ", "**Alfama**", ", then ", "tram 28 ", "— ", "ça vaut le coup 😀"];

fn full_stream() -> String {
    echo_burst() + &answer(&TOKENS) + TAIL
}

/// (role, text, complete) of the visible messages.
fn visible(t: &Turn) -> Vec<(String, String, bool)> {
    t.visible()
        .map(|n| {
            (n.message.role.as_str().to_string(), n.message.content.plain_text(), !n.message.is_incomplete())
        })
        .collect()
}

/// Decodes `stream` in every chunk size from 1 to 64 and a few large ones; each must give the same.
fn check_every_chunking(request: Option<Request>, stream: &[u8], expect: &[(&str, &str, bool)], end: End) {
    let want: Vec<(String, String, bool)> =
        expect.iter().map(|(r, t, c)| (r.to_string(), t.to_string(), *c)).collect();
    for chunk in (0..=64).chain([100, 1000, 6000]) {
        let t = decode_stream(request.clone(), stream, chunk);
        assert_eq!(visible(&t), want, "chunk size {chunk}");
        assert_eq!(t.end, Some(end), "chunk size {chunk}");
        let kept = serde_json::to_string(&t.nodes).unwrap();
        for s in SECRETS {
            assert!(!kept.contains(s), "an echo reached the cache ({s}) at chunk size {chunk}");
        }
    }
}

#[test]
fn a_v1_stream_keeps_the_prompt_and_the_answer_in_every_chunking() {
    let s = full_stream();
    let answer_text = "Start in **Alfama**, then tram 28 — ça vaut le coup 😀!";
    check_every_chunking(
        None,
        s.as_bytes(),
        &[("user", "Plan a trip to Lisbon", true), ("assistant", answer_text, true)],
        End::Done,
    );
    let t = decode_stream(None, s.as_bytes(), 0);
    assert_eq!(t.conversation_id.as_deref(), Some("conv-1"));
    assert_eq!(t.title.as_deref(), Some("Lisbon trip"));
    assert_eq!(t.current.as_deref(), Some("a1"));
    let a = t.visible().last().unwrap();
    assert_eq!(a.message.model_slug.as_deref(), Some("gpt-5-6"));
    // The echoes keep their place in the tree (ids and parents) but nothing of their content.
    let ids: Vec<&str> = t.nodes.iter().map(|n| n.message.id.as_str()).collect();
    assert_eq!(ids, ["sys", "u1", "ctx", "mem", "th", "rr", "a1"]);
    assert!(t.nodes.iter().filter(|n| !n.is_visible()).all(|n| n.message.content.plain_text().is_empty()));
}

#[test]
fn an_answer_cut_mid_stream_is_kept_as_far_as_it_came() {
    let s = echo_burst() + &answer(&TOKENS);
    let cut = s.rfind("event: delta\ndata: {\"p\":\"\",\"o\":\"patch\"").unwrap();
    let mut d = ChatgptStream::new(None);
    d.feed(&s.as_bytes()[..cut]);
    assert_eq!(d.end(), None, "bytes still flowing: no verdict yet");
    d.finish();
    let t = d.turn();
    assert_eq!(t.end, Some(End::Truncated));
    assert_eq!(
        visible(&t),
        [
            ("user".to_string(), "Plan a trip to Lisbon".to_string(), true),
            ("assistant".to_string(), TOKENS.concat(), false)
        ]
    );
    // A page that stops reading right after the terminal event (no [DONE]) loses nothing.
    let s = full_stream();
    let t = decode_stream(None, &s.as_bytes()[..s.find("data: [DONE]").unwrap()], 0);
    assert_eq!(t.end, Some(End::Done));
    assert_eq!(visible(&t)[1].1, TOKENS.concat() + "!");
}

#[test]
fn errors_moderation_and_legacy_forms() {
    let check = |stream: String, end: End, kind: Option<&str>, code: Option<&str>, message: &str| {
        for chunk in [0, 1, 5, 17] {
            let t = decode_stream(None, stream.as_bytes(), chunk);
            assert_eq!(t.end, Some(end), "{stream}");
            let e = t.error.as_ref();
            assert_eq!(e.and_then(|e| e.kind.as_deref()), kind, "{stream}");
            assert_eq!(e.and_then(|e| e.code.as_deref()), code, "{stream}");
            assert_eq!(e.map_or("", |e| e.message.as_str()), message, "{stream}");
        }
    };
    // A v1 root whose error is set.
    let s = echo_burst()
        + "event: delta\ndata: {\"v\":{\"message\":null,\"conversation_id\":\"conv-1\",\"error\":\"Something went wrong while generating the response.\",\"error_code\":\"server_error\"},\"c\":9}\n\ndata: [DONE]\n\n";
    check(
        s,
        End::Error,
        Some("stream_error"),
        Some("server_error"),
        "Something went wrong while generating the response.",
    );
    // An error patched onto the root of the answer's channel.
    let s = echo_burst()
        + &answer(&["Par"])
        + "event: delta\ndata: {\"p\":\"/error\",\"o\":\"replace\",\"v\":{\"message\":\"Error in message stream\",\"code\":\"stream_error\"}}\n\n";
    check(s, End::Error, Some("stream_error"), Some("stream_error"), "Error in message stream");
    // A typed error event.
    let s = echo_burst()
        + "data: {\"type\":\"error\",\"error\":\"Message delivery timed out. Please try again.\",\"code\":\"timeout\"}\n\n";
    check(s, End::Error, Some("error"), Some("timeout"), "Message delivery timed out. Please try again.");
    // Moderation withheld the answer.
    let s = echo_burst()
        + "data: {\"type\":\"moderation\",\"moderation_response\":{\"blocked\":true,\"flagged\":true},\"conversation_id\":\"conv-1\"}\n\ndata: [DONE]\n\n";
    check(s, End::Error, Some("refused"), None, "The answer was withheld by ChatGPT's content policy.");
    // A moderation notice that did not block is no error.
    let s = full_stream().replace(TAIL, "")
        + "data: {\"type\":\"moderation\",\"moderation_response\":{\"blocked\":false}}\n\n"
        + TAIL;
    check(s, End::Done, None, None, "");
    // The legacy error event and legacy snapshots.
    let s = "data: {\"message\":null,\"conversation_id\":\"c\",\"error\":\"Hmm...something seems to have gone wrong.\"}\n\n".to_string();
    check(s, End::Error, Some("stream_error"), None, "Hmm...something seems to have gone wrong.");
    let snap = |text: &str, status: &str| {
        format!(
            "data: {{\"message\":{{\"id\":\"a9\",\"author\":{{\"role\":\"assistant\"}},\"content\":{{\"content_type\":\"text\",\"parts\":[\"{text}\"]}},\"status\":\"{status}\",\"recipient\":\"all\"}},\"conversation_id\":\"c9\",\"error\":null}}\n\n"
        )
    };
    let s = snap("Hel", "in_progress") + &snap("Hello", "in_progress") + "data: [DONE]\n\n";
    check_every_chunking(None, s.as_bytes(), &[("assistant", "Hello", true)], End::Done);
    let s = snap("Hel", "in_progress") + &snap("Hello", "in_progress");
    check_every_chunking(None, s.as_bytes(), &[("assistant", "Hello", false)], End::Truncated);
}

fn handoff_post() -> String {
    let mut s = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
    s += "data: {\"type\":\"resume_conversation_token\",\"kind\":\"topic\",\"token\":\"eyJTOKEN.a.b\",\"conversation_id\":\"conv-1\"}\n\n";
    s += &root(0, &msg("u1", "user", &text("Plan a trip to Lisbon"), ""), true);
    s += "data: {\"type\":\"stream_handoff\",\"conversation_id\":\"conv-1\",\"turn_exchange_id\":\"t1\",\"options\":[{\"type\":\"resume_sse_endpoint\"},{\"type\":\"subscribe_ws_topic\",\"topic_id\":\"conversation-turn-t1\"}]}\n\n";
    s += "data: [DONE]\n\n";
    s
}

const PROMPT_BODY: &str = r#"{"action":"next","messages":[{"id":"u1","author":{"role":"user"},"create_time":1790565733.2,"content":{"content_type":"text","parts":["Plan a trip to Lisbon"]}}],"parent_message_id":"client-created-root","model":"gpt-5-6","supported_encodings":["v1"],"is_do_not_remember":false}"#;

/// Runs `steps` through a session, applying every capture to an in-memory store; returns the store.
fn run_session(steps: &[(u32, &str, Step)]) -> BTreeMap<String, Conversation> {
    let mut s = CaptureSession::new();
    let mut store: BTreeMap<String, Conversation> = BTreeMap::new();
    for (id, kind, step) in steps {
        match step {
            Step::Open(request, temporary) => {
                s.open(*id, StreamKind::parse(kind).unwrap(), *request, *temporary).unwrap();
            }
            Step::Push(text, chunk) => {
                for c in text.as_bytes().chunks((*chunk).max(1)) {
                    s.push(*id, c).unwrap();
                }
            }
            Step::Frame(f) => s.frame(*id, f).unwrap(),
            Step::End => s.end(*id).unwrap(),
        }
        for t in s.take() {
            let pending = t.pending.clone();
            let c = Capture::Turn(t);
            let key = c.key().unwrap();
            let (conv, _) = capture::apply(store.remove(&key), &c, 1000.0).unwrap();
            store.insert(key.clone(), conv);
            if let Some(p) = pending.filter(|p| *p != key) {
                store.remove(&p);
            }
        }
    }
    store
}

enum Step {
    Open(Option<&'static str>, bool),
    Push(String, usize),
    Frame(String),
    End,
}

fn line(conv: &Conversation) -> Vec<String> {
    main_line(conv).iter().map(|m| m.content.plain_text()).collect()
}

#[test]
fn a_handed_off_answer_continues_on_the_resume_stream() {
    let resume_body: &'static str = r#"{"conversation_id":"conv-1","offset":4}"#;
    let rest = answer(&TOKENS) + TAIL;
    for chunk in [1, 7, 64, 0] {
        let mut s = CaptureSession::new();
        s.open(1, StreamKind::Send, Some(PROMPT_BODY), false).unwrap();
        assert_eq!(
            s.latest(),
            Some((None, Some("u1".to_string()))),
            "before the stream names the conversation"
        );
        s.push(1, handoff_post().as_bytes()).unwrap();
        assert_eq!(s.latest(), Some((Some("conv-1".to_string()), Some("u1".to_string()))));
        let first = s.take();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].conversation_id, "conv-1");
        assert_eq!(first[0].pending.as_deref(), Some("pending-u1"));
        let store = run_session(&[
            (1, "send", Step::Open(Some(PROMPT_BODY), false)),
            (1, "send", Step::Push(handoff_post(), chunk.max(1))),
            (1, "send", Step::End),
            (2, "resume", Step::Open(Some(resume_body), false)),
            (2, "resume", Step::Push(rest.clone(), if chunk == 0 { rest.len() } else { chunk })),
            (2, "resume", Step::End),
        ]);
        assert_eq!(store.len(), 1, "the pending prompt record was dropped");
        let conv = &store["conv-1"];
        assert_eq!(
            line(conv),
            ["Plan a trip to Lisbon", "Start in **Alfama**, then tram 28 — ça vaut le coup 😀!"]
        );
        assert!(!conv.incomplete);
    }
    // The POST alone: [DONE] after a handoff is not an answer.
    let t = decode_stream(None, handoff_post().as_bytes(), 3);
    assert_eq!(t.end, Some(End::Handoff));
    assert_eq!(visible(&t).len(), 1);
}

#[test]
fn a_resume_that_replays_events_already_read_appends_nothing_twice() {
    // The first stream read the echo and part of the answer, then stalled; the page resumes from
    // offset 2 (it had consumed only two events), so the resume replays what the decoder has.
    let head =
        handoff_post().replace("data: {\"type\":\"stream_handoff\"", "data: {\"type\":\"x_stream_handoff\"");
    let head = head.replace("data: [DONE]\n\n", "");
    let ans = answer(&TOKENS) + TAIL;
    let cut = ans.find("event: delta\ndata: {\"v\":\", then \"}").unwrap();
    let mut d = ChatgptStream::new(Request::parse(PROMPT_BODY));
    d.feed(head.as_bytes());
    d.feed(&ans.as_bytes()[..cut]);
    d.finish();
    let read = d.events();
    d.resume(Some(2));
    // The resume sends everything after the first two events.
    let all = head + &ans;
    let mut events: Vec<&str> = all.split_inclusive("\n\n").collect();
    events.retain(|e| !e.starts_with("event: delta_encoding"));
    d.feed(events[2..].concat().as_bytes());
    d.finish();
    assert!(read > 2);
    let t = d.turn();
    assert_eq!(t.end, Some(End::Done));
    assert_eq!(visible(&t)[1].1, TOKENS.concat() + "!");
}

fn ws_frame(item: &str, n: u32) -> String {
    serde_json::json!({
        "type": "message",
        "topic_id": "conversation-turn-t1",
        "payload": {"type": "conversation-turn-stream", "payload": {
            "type": "stream-item", "conversation_id": "conv-1", "turn_id": "t1",
            "encoded_item": item, "stream_item_id": format!("item-{n}")
        }},
        "offset": n.to_string()
    })
    .to_string()
}

#[test]
fn a_handed_off_answer_continues_on_the_websocket_with_replays_dropped() {
    let rest = answer(&TOKENS);
    let mut items: Vec<String> = rest.split_inclusive("\n\n").map(str::to_string).collect();
    items.push("data: {\"type\":\"message_stream_complete\",\"conversation_id\":\"conv-1\"}\n\n".into());
    let mut steps = vec![
        (9, "ws", Step::Open(None, false)),
        (1, "send", Step::Open(Some(PROMPT_BODY), false)),
        (1, "send", Step::Push(handoff_post(), 11)),
        (1, "send", Step::End),
    ];
    for (i, item) in items.iter().enumerate() {
        steps.push((9, "ws", Step::Frame(ws_frame(item, i as u32))));
        if i == 3 {
            // The socket replays items it had sent (same stream_item_id).
            steps.push((9, "ws", Step::Frame(ws_frame(&items[2], 2))));
            steps.push((9, "ws", Step::Frame(ws_frame(&items[3], 3))));
        }
    }
    steps.push((
        9,
        "ws",
        Step::Frame(
            r#"{"type":"done","topic_id":"conversation-turn-t1","payload":{"conversation_id":"conv-1"}}"#
                .into(),
        ),
    ));
    let store = run_session(&steps);
    assert_eq!(store.len(), 1);
    let conv = &store["conv-1"];
    assert_eq!(
        line(conv),
        ["Plan a trip to Lisbon", "Start in **Alfama**, then tram 28 — ça vaut le coup 😀!"]
    );
    assert!(!conv.incomplete);
}

#[test]
fn temporary_chats_are_never_kept() {
    let temp_bodies = [
        r#"{"action":"next","messages":[{"id":"u1","author":{"role":"user"},"content":{"content_type":"text","parts":["x"]}}],"history_and_training_disabled":true}"#,
        r#"{"action":"next","messages":[{"id":"u1","author":{"role":"user"},"content":{"content_type":"text","parts":["x"]}}],"is_do_not_remember":true}"#,
        r#"{"action":"next","messages":[{"id":"u1","author":{"role":"user"},"content":{"content_type":"text","parts":["x"]}}],"is_temporary_chat":true}"#,
    ];
    for body in temp_bodies {
        let store = run_session(&[
            (1, "send", Step::Open(Some(body), false)),
            (1, "send", Step::Push(full_stream(), 50)),
            (1, "send", Step::End),
            // A later socket frame or resume of the same conversation is not kept either.
            (2, "resume", Step::Open(Some(r#"{"conversation_id":"conv-1","offset":0}"#), false)),
            (2, "resume", Step::Push(answer(&["more"]), 50)),
            (2, "resume", Step::End),
        ]);
        assert!(store.is_empty(), "{body}: {store:?}");
    }
    // The page's own ?temporary-chat=true.
    let store = run_session(&[
        (1, "send", Step::Open(Some(PROMPT_BODY), true)),
        (1, "send", Step::Push(full_stream(), 50)),
        (1, "send", Step::End),
    ]);
    assert!(store.is_empty());
    // A conversation body that says it is temporary.
    for flag in ["is_temporary_chat", "is_do_not_remember"] {
        let body = format!(r#"{{"conversation_id":"c1","title":"T","messages":[],"{flag}":true}}"#);
        let c = Capture::Conversation { json: body, path: None, site: None };
        assert_eq!(capture::apply(None, &c, 1.0).err(), Some(capture::CaptureError::Temporary));
    }
}

fn body_msg(id: &str, role: &str, parent: Option<&str>, content: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "author": {"role": role, "name": null, "metadata": {}}, "create_time": 1790000000.0,
        "content": serde_json::from_str::<serde_json::Value>(content).unwrap(), "status": "finished_successfully",
        "end_turn": role == "assistant", "weight": 1.0,
        "metadata": parent.map_or(serde_json::json!({}), |p| serde_json::json!({"parent_id": p})),
        "recipient": "all", "channel": if role == "assistant" { serde_json::json!("final") } else { serde_json::Value::Null }
    })
}

#[test]
fn conversation_bodies_plural_paged_and_singular_merge_into_the_tree() {
    // The newest page (what opening the chat loads) and the page before it.
    let newer = serde_json::json!({
        "conversation_id": "c7", "title": "Lisbon", "current_node": "a3",
        "messages": [
            body_msg("s2", "system", Some("a1"), r#"{"content_type":"text","parts":[""]}"#),
            body_msg("u2", "user", Some("s2"), &text("And Porto?")),
            body_msg("a2", "assistant", Some("u2"), &text("Porto is north.")),
            body_msg("u3", "user", Some("a2"), &text("Thanks")),
            body_msg("ctx", "user", Some("u3"), r#"{"content_type":"user_editable_context","user_profile":"ECHO-PROFILE-SECRET"}"#),
            body_msg("a3", "assistant", Some("ctx"), &text("You're welcome")),
        ],
        "page_info": {"start_cursor": "cur1", "has_previous_page": true, "has_next_page": false},
        "is_do_not_remember": false, "is_temporary_chat": false
    });
    let older = serde_json::json!({
        "messages": [
            body_msg("u1", "user", None, &text("Lisbon?")),
            body_msg("a1", "assistant", Some("u1"), &text("Alfama first.")),
        ],
        "page_info": {"has_previous_page": false}
    });
    let first = Capture::Conversation {
        json: newer.to_string(),
        path: Some("/backend-api/conversations/c7?include_has_versions=true&num_turns=10".into()),
        site: None,
    };
    let second = Capture::Conversation {
        json: older.to_string(),
        path: Some(
            "/backend-api/conversations/c7/messages?before=cur1&include_has_versions=true&num_turns=10"
                .into(),
        ),
        site: None,
    };
    assert_eq!(second.key().unwrap(), "c7");
    let (conv, changed) = capture::apply(None, &first, 5.0).unwrap();
    assert!(changed);
    assert_eq!(conv.title.as_deref(), Some("Lisbon"));
    assert_eq!(line(&conv), ["And Porto?", "Porto is north.", "Thanks", "You're welcome"]);
    let (conv, changed) = capture::apply(Some(conv), &second, 6.0).unwrap();
    assert!(changed);
    assert_eq!(
        line(&conv),
        ["Lisbon?", "Alfama first.", "And Porto?", "Porto is north.", "Thanks", "You're welcome"]
    );
    // Idempotent, and an earlier branch (a regenerated answer cached before) survives.
    let (conv, changed) = capture::apply(Some(conv), &first, 7.0).unwrap();
    assert!(!changed);
    assert!(!serde_json::to_string(&conv).unwrap().contains("ECHO-PROFILE-SECRET"));
    let branch = Capture::Turn(capture::TurnCapture {
        conversation_id: "c7".into(),
        title: None,
        nodes: vec![understudy::page::TurnNode {
            parent: Some("u2".into()),
            message: understudy::conversation::Message::new(
                "a2b",
                understudy::conversation::Role::Assistant,
                "Porto, a branch",
            ),
        }],
        current: None,
        pending: None,
        site: None,
        follows_current: false,
    });
    let (conv, _) = capture::apply(Some(conv), &branch, 8.0).unwrap();
    let (conv, _) = capture::apply(Some(conv), &first, 9.0).unwrap();
    assert!(conv.nodes.contains_key("a2b"), "a branch cached earlier is kept");
    assert_eq!(line(&conv).last().map(String::as_str), Some("You're welcome"));
    // The singular endpoint's mapping, echoes reduced.
    let mapping = r#"{"id":"c8","title":"T","current_node":"b","mapping":{"r":{"id":"r","children":["x"]},"x":{"id":"x","parent":"r","children":["a"],"message":{"id":"x","author":{"role":"user"},"content":{"content_type":"user_editable_context","user_profile":"ECHO-PROFILE-SECRET"},"metadata":{"is_visually_hidden_from_conversation":true}}},"a":{"id":"a","parent":"x","children":["b"],"message":{"id":"a","author":{"role":"user"},"content":{"content_type":"text","parts":["q"]}}},"b":{"id":"b","parent":"a","children":[],"message":{"id":"b","author":{"role":"assistant"},"content":{"content_type":"text","parts":["ans"]},"status":"finished_successfully"}}}}"#;
    let (conv, _) =
        capture::apply(None, &Capture::Conversation { json: mapping.into(), path: None, site: None }, 1.0)
            .unwrap();
    assert_eq!(line(&conv), ["q", "ans"]);
    assert!(!serde_json::to_string(&conv).unwrap().contains("ECHO-PROFILE-SECRET"));
}

#[test]
fn a_session_keeps_several_turns_of_one_conversation() {
    let second_body: &'static str = r#"{"action":"next","conversation_id":"conv-1","parent_message_id":"a1","messages":[{"id":"u2","author":{"role":"user"},"content":{"content_type":"text","parts":["And Porto?"]}}]}"#;
    let second = {
        let mut s = String::from("event: delta_encoding\ndata: \"v1\"\n\n");
        s += &root(0, &msg("u2", "user", &text("And Porto?"), r#""parent_id":"a1""#), true);
        s += &root(
            3,
            r#"{"id":"a2","author":{"role":"assistant"},"content":{"content_type":"text","parts":[""]},"status":"in_progress","metadata":{"parent_id":"u2"},"recipient":"all","channel":"final"}"#,
            false,
        );
        s += "event: delta\ndata: {\"p\":\"/message/content/parts/0\",\"o\":\"append\",\"v\":\"North, \"}\n\nevent: delta\ndata: {\"v\":\"by the Douro.\"}\n\n";
        s += "event: delta\ndata: {\"p\":\"\",\"o\":\"patch\",\"v\":[{\"p\":\"/message/status\",\"o\":\"replace\",\"v\":\"finished_successfully\"},{\"p\":\"/message/end_turn\",\"o\":\"replace\",\"v\":true}]}\n\n";
        s + TAIL
    };
    let store = run_session(&[
        (1, "send", Step::Open(Some(PROMPT_BODY), false)),
        (1, "send", Step::Push(full_stream(), 97)),
        (1, "send", Step::End),
        (2, "send", Step::Open(Some(second_body), false)),
        (2, "send", Step::Push(second, 13)),
        (2, "send", Step::End),
    ]);
    let conv = &store["conv-1"];
    assert_eq!(
        line(conv),
        [
            "Plan a trip to Lisbon",
            "Start in **Alfama**, then tram 28 — ça vaut le coup 😀!",
            "And Porto?",
            "North, by the Douro."
        ]
    );
    assert_eq!(conv.title.as_deref(), Some("Lisbon trip"));
}

/// The ends a session hands to detection over `steps`, in order, each as `end` or `end:kind`.
fn verdicts(steps: &[(u32, &str, Step)]) -> Vec<String> {
    let mut s = CaptureSession::new();
    let mut out = Vec::new();
    for (id, kind, step) in steps {
        match step {
            Step::Open(request, temporary) => {
                s.open(*id, StreamKind::parse(kind).unwrap(), *request, *temporary).unwrap();
            }
            Step::Push(text, chunk) => {
                for c in text.as_bytes().chunks((*chunk).max(1)) {
                    s.push(*id, c).unwrap();
                    out.extend(s.verdicts().into_iter().map(|v| name(&v)));
                }
            }
            Step::Frame(f) => s.frame(*id, f).unwrap(),
            Step::End => s.end(*id).unwrap(),
        }
        out.extend(s.verdicts().into_iter().map(|v| name(&v)));
    }
    out
}

fn name(v: &understudy::page::session::Verdict) -> String {
    match v.error.as_ref().and_then(|e| e.kind.as_deref()) {
        Some(k) => format!("{}:{k}", v.end.as_str()),
        None => v.end.as_str().to_string(),
    }
}

#[test]
fn a_turn_ends_for_detection_on_whichever_path_its_answer_took() {
    let check = |steps: &[(u32, &str, Step)], expect: &[&str]| assert_eq!(verdicts(steps), expect);
    let resume_body: &'static str = r#"{"conversation_id":"conv-1","offset":4}"#;
    let rest = answer(&TOKENS) + TAIL;
    // Without message_stream_complete: the finished final answer and [DONE] end it.
    let rest_bare = answer(&TOKENS) + "data: [DONE]\n\n";
    for chunk in [1, 9, 4096] {
        // Straight on the POST.
        check(
            &[
                (1, "send", Step::Open(Some(PROMPT_BODY), false)),
                (1, "send", Step::Push(full_stream(), chunk)),
                (1, "send", Step::End),
            ],
            &["done"],
        );
        // Handed off, then done on the resume stream (with and without the closing event).
        for rest in [&rest, &rest_bare] {
            check(
                &[
                    (1, "send", Step::Open(Some(PROMPT_BODY), false)),
                    (1, "send", Step::Push(handoff_post(), chunk)),
                    (1, "send", Step::End),
                    (2, "resume", Step::Open(Some(resume_body), false)),
                    (2, "resume", Step::Push(rest.clone(), chunk)),
                    (2, "resume", Step::End),
                ],
                &["handoff", "done"],
            );
        }
        // Handed off, and the resume brought nothing: cut short (the stall rule or the page's
        // own error speaks next).
        check(
            &[
                (1, "send", Step::Open(Some(PROMPT_BODY), false)),
                (1, "send", Step::Push(handoff_post(), chunk)),
                (1, "send", Step::End),
                (2, "resume", Step::Open(Some(resume_body), false)),
                (2, "resume", Step::End),
            ],
            &["handoff", "truncated"],
        );
        // Cut mid-answer, then resumed to the end.
        let full = full_stream();
        let cut = full.find("event: delta\ndata: {\"v\":\", then \"}").unwrap();
        check(
            &[
                (1, "send", Step::Open(Some(PROMPT_BODY), false)),
                (1, "send", Step::Push(full[..cut].to_string(), chunk)),
                (1, "send", Step::End),
                (2, "resume", Step::Open(Some(r#"{"conversation_id":"conv-1"}"#), false)),
                (2, "resume", Step::Push(full[cut..].to_string(), chunk)),
                (2, "resume", Step::End),
            ],
            &["truncated", "done"],
        );
        // A moderation block, an error root.
        let blocked = echo_burst()
            + "data: {\"type\":\"moderation\",\"moderation_response\":{\"blocked\":true},\"conversation_id\":\"conv-1\"}\n\ndata: [DONE]\n\n";
        check(
            &[
                (1, "send", Step::Open(None, false)),
                (1, "send", Step::Push(blocked, chunk)),
                (1, "send", Step::End),
            ],
            &["error:refused"],
        );
        let failed = echo_burst()
            + "event: delta\ndata: {\"v\":{\"message\":null,\"conversation_id\":\"conv-1\",\"error\":\"Something went wrong\",\"error_code\":null},\"c\":9}\n\n";
        check(
            &[
                (1, "send", Step::Open(None, false)),
                (1, "send", Step::Push(failed, chunk)),
                (1, "send", Step::End),
            ],
            &["error:stream_error"],
        );
    }
    // Handed off to the socket: done with its `done` frame.
    let mut steps = vec![
        (9, "ws", Step::Open(None, false)),
        (1, "send", Step::Open(Some(PROMPT_BODY), false)),
        (1, "send", Step::Push(handoff_post(), 11)),
        (1, "send", Step::End),
    ];
    for (i, item) in answer(&TOKENS).split_inclusive("\n\n").enumerate() {
        steps.push((9, "ws", Step::Frame(ws_frame(item, i as u32))));
    }
    steps.push((9, "ws", Step::Frame(r#"{"type":"done","payload":{"conversation_id":"conv-1"}}"#.into())));
    check(&steps, &["handoff", "done"]);
}
