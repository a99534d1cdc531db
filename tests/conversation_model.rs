//! Main-line extraction, merging and upserting of conversation trees.

use understudy::conversation::model::{Conversation, Message, Node, Role, main_line};

const FIXTURE: &str = include_str!("fixtures/export/conversations.json");

fn fixture() -> Vec<Conversation> {
    serde_json::from_str(FIXTURE).expect("fixture parses")
}

fn by_id(id_suffix: &str) -> Conversation {
    fixture().into_iter().find(|c| c.id.ends_with(id_suffix)).expect("fixture conversation")
}

/// A tree from `(id, parent, role, text)` rows; `hidden` ids and `recipient` overrides apply.
fn tree(rows: &[(&str, Option<&str>, &str, &str)], current: Option<&str>) -> Conversation {
    let mut c = Conversation::new("t");
    for (i, (id, parent, role, text)) in rows.iter().enumerate() {
        let message = (!role.is_empty()).then(|| {
            let mut m = Message::new(*id, Role::parse(role), *text);
            m.create_time = Some(i as f64);
            m
        });
        c.nodes.insert(
            id.to_string(),
            Node { id: id.to_string(), parent: parent.map(str::to_string), children: vec![], message },
        );
    }
    for (id, parent, _, _) in rows {
        if let Some(p) = parent
            && let Some(n) = c.nodes.get_mut(*p)
        {
            n.children.push(id.to_string());
        }
    }
    c.current_node = current.map(str::to_string);
    c
}

fn ids(c: &Conversation) -> Vec<String> {
    main_line(c).iter().map(|m| m.id.clone()).collect()
}

fn check(c: &Conversation, expect: &[&str]) {
    assert_eq!(ids(c), expect, "main line of {}", c.id);
}

#[test]
fn main_line_of_fixture_conversations() {
    // Branches (edit + regenerate) are skipped; hidden system and context messages dropped.
    check(&by_id("0001"), &["a-u1", "a-a1", "a-u2", "a-a2"]);
    // The tool call (recipient python) is dropped; the tool output and images are kept.
    check(&by_id("0002"), &["b-u1", "b-out", "b-a1"]);
    // Thoughts and the reasoning recap are part of what the user sees.
    check(&by_id("0003"), &["c-u1", "c-th", "c-rr", "c-a1"]);
    check(&by_id("0004"), &["d-u1", "d-a1"]);
    // No current_node: the newest leaf; hidden tool output and the web.run call dropped.
    check(&by_id("0005"), &["e-u1", "e-a1"]);
}

#[test]
fn main_line_edge_cases() {
    let base = [
        ("root", None, "", ""),
        ("u1", Some("root"), "user", "hi"),
        ("a1", Some("u1"), "assistant", "hello"),
        ("a1b", Some("u1"), "assistant", "hello again (regenerated)"),
    ];
    check(&tree(&base, Some("a1")), &["u1", "a1"]);
    check(&tree(&base, Some("a1b")), &["u1", "a1b"]);
    // Missing or unknown current_node: the newest leaf.
    check(&tree(&base, None), &["u1", "a1b"]);
    check(&tree(&base, Some("gone")), &["u1", "a1b"]);
    // current_node in the middle of the tree ends the line there.
    check(&tree(&base, Some("u1")), &["u1"]);
    // A dangling parent ends the walk without a crash.
    check(
        &tree(&[("u1", Some("nowhere"), "user", "x"), ("a1", Some("u1"), "assistant", "y")], Some("a1")),
        &["u1", "a1"],
    );
    // A cycle never hangs.
    let cyc = tree(&[("x", Some("y"), "user", "1"), ("y", Some("x"), "assistant", "2")], Some("y"));
    check(&cyc, &["x", "y"]);
    let self_loop = tree(&[("x", Some("x"), "user", "1")], Some("x"));
    check(&self_loop, &["x"]);
    // A cycle with no leaf at all: nothing to show.
    check(&tree(&[("x", Some("y"), "user", "1"), ("y", Some("x"), "user", "2")], None), &["x", "y"]);
    check(&Conversation::new("empty"), &[]);
    // System and tool-call messages are dropped.
    let mut c = tree(
        &[
            ("s", None, "system", "be nice"),
            ("u", Some("s"), "user", "q"),
            ("call", Some("u"), "assistant", "{}"),
        ],
        Some("call"),
    );
    if let Some(m) = c.nodes.get_mut("call").and_then(|n| n.message.as_mut()) {
        m.recipient = "browser".into();
    }
    check(&c, &["u"]);
}

#[test]
fn merge_is_idempotent_and_keeps_branches() {
    let full = by_id("0001");
    let mut a = full.clone();
    assert!(!a.merge(&full), "merging the same capture twice changes nothing");
    assert_eq!(a, full);

    // An older, partial capture (streaming) merged with the full one.
    let mut partial = full.clone();
    partial.nodes.remove("a-a2");
    if let Some(n) = partial.nodes.get_mut("a-u2") {
        n.children.retain(|c| c != "a-a2");
    }
    if let Some(m) = partial.nodes.get_mut("a-a2regen").and_then(|n| n.message.as_mut()) {
        m.status = Some("in_progress".into());
    }
    partial.refresh_incomplete();
    assert!(partial.incomplete);
    let mut merged = partial.clone();
    assert!(merged.merge(&full));
    assert!(!merged.merge(&full));
    assert!(!merged.incomplete);
    assert_eq!(ids(&merged), ids(&full));
    assert_eq!(merged.message_count(), full.message_count());

    // The older capture merged into the newer changes nothing (finished beats streaming).
    let mut newer = full.clone();
    assert!(!newer.merge(&partial));
    assert_eq!(newer, full);
}

fn streamed(id: &str, text: &str, status: &str, t: f64) -> Message {
    let mut m = Message::new(id, Role::Assistant, text);
    m.status = Some(status.into());
    m.create_time = Some(t);
    m
}

#[test]
fn upsert_message_cases() {
    // (existing text/status, incoming text/status, expect changed, expect stored text)
    let cases = [
        (("Hel", "in_progress"), ("Hello wor", "in_progress"), true, "Hello wor"),
        (("Hello world", "in_progress"), ("Hello", "in_progress"), false, "Hello world"),
        (("Hello", "in_progress"), ("Hello", "finished_successfully"), true, "Hello"),
        (("Hello world", "finished_successfully"), ("Hello", "in_progress"), false, "Hello world"),
        (("Same", "finished_successfully"), ("Same", "finished_successfully"), false, "Same"),
    ];
    for ((old_t, old_s), (new_t, new_s), changed, stored) in cases {
        let mut c = Conversation::new("c");
        c.upsert_message(None, Message::new("u", Role::User, "q"), true);
        c.upsert_message(Some("u"), streamed("a", old_t, old_s, 1.0), true);
        assert_eq!(
            c.upsert_message(Some("u"), streamed("a", new_t, new_s, 1.0), true),
            changed,
            "{old_t} -> {new_t}"
        );
        let got = c.nodes["a"].message.as_ref().map(|m| m.content.plain_text());
        assert_eq!(got.as_deref(), Some(stored));
        assert_eq!(c.incomplete, c.nodes["a"].message.as_ref().is_some_and(Message::is_incomplete));
        assert_eq!(c.nodes["u"].children, vec!["a".to_string()], "no duplicate child");
    }
}

#[test]
fn prompt_saved_before_answer_and_failed_send_stays() {
    let mut c = by_id("0002");
    let before = c.message_count();
    let current = c.current_node.clone();
    let mut prompt = Message::new("b-u2", Role::User, "And per quarter?");
    prompt.create_time = Some(1714100400.0);
    assert!(c.upsert_message(current.as_deref(), prompt.clone(), true));
    assert!(!c.upsert_message(current.as_deref(), prompt, true), "idempotent");
    assert_eq!(c.message_count(), before + 1);
    assert_eq!(c.current_node.as_deref(), Some("b-u2"));
    assert_eq!(ids(&c).last().map(String::as_str), Some("b-u2"));
    assert_eq!(c.update_time, Some(1714100400.0));
    // The answer never came: merging the server's older copy keeps the unsent prompt.
    let server = by_id("0002");
    c.merge(&server);
    assert!(c.nodes.contains_key("b-u2"));
}
