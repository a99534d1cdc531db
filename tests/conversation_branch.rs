//! Rescued answers kept as branches of the cached conversation: where they land, what marks them,
//! that ChatGPT's main line (and its export) stays as it was, and that saving twice changes nothing.

use understudy::conversation::branch::{
    self, AnsweredBy, BranchAnswer, BranchError, Outcome, answer_node_id, display_line, line_to, tip,
};
use understudy::conversation::render;
use understudy::conversation::{Conversation, Message, Role, main_line};

/// A cached conversation from `(id, parent, role, text, time)` rows; `current` is its current node.
fn conv(rows: &[(&str, Option<&str>, &str, &str, f64)], current: Option<&str>) -> Conversation {
    let mut c = Conversation::new("c1");
    for (id, parent, role, text, t) in rows {
        let mut m = Message::new(*id, Role::parse(role), *text);
        m.create_time = Some(*t);
        c.upsert_message(*parent, m, false);
    }
    c.current_node = current.map(str::to_string);
    c
}

/// ChatGPT answered "Plan a weekend in Lisbon"; the second prompt failed (captured, no answer).
fn failed_capture() -> Conversation {
    conv(
        &[
            ("u1", None, "user", "Plan a weekend in Lisbon", 10.0),
            ("a1", Some("u1"), "assistant", "Day 1: Alfama.", 11.0),
            ("u2", Some("a1"), "user", "Now add a day trip to Sintra", 20.0),
        ],
        Some("u2"),
    )
}

/// The same chat where the failed prompt never reached the cache.
fn answered_only() -> Conversation {
    conv(
        &[
            ("u1", None, "user", "Plan a weekend in Lisbon", 10.0),
            ("a1", Some("u1"), "assistant", "Day 1: Alfama.", 11.0),
        ],
        Some("a1"),
    )
}

fn answer(key: &str, prompt: &str, text: &str, outcome: Outcome) -> BranchAnswer {
    BranchAnswer {
        conversation_id: "c1".into(),
        key: key.into(),
        parent: None,
        prompt_id: None,
        prompt: prompt.into(),
        answer: text.into(),
        provider: AnsweredBy {
            id: "groq".into(),
            kind: "open_ai_compatible".into(),
            model: Some("llama-3.3-70b".into()),
            label: Some("Groq".into()),
        },
        outcome,
        started_s: 30.0,
        ended_s: 31.0,
    }
}

/// What a user checks after a save: where the prompt and answer hang, what the library shows
/// (`id` for the main line, `id*` for a rescued turn, `@label` for who answered), the main line.
#[derive(Debug, PartialEq)]
struct Expect<'a> {
    prompt_node: &'a str,
    answer_parent: &'a str,
    shown: &'a str,
    main: &'a str,
}

fn shown(c: &Conversation) -> String {
    display_line(c)
        .iter()
        .map(|s| {
            let mut out = s.message.id.clone();
            if s.branch {
                out.push('*');
            }
            if let Some(by) = &s.answered_by {
                out.push('@');
                out.push_str(by.name());
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn main_ids(c: &Conversation) -> String {
    main_line(c).iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(" ")
}

fn check(stored: Option<Conversation>, a: BranchAnswer, expect: Expect<'_>) {
    let before = stored.as_ref().map(main_ids);
    let current = stored.as_ref().and_then(|c| c.current_node.clone());
    let (c, saved) = branch::save(stored.clone(), &a).unwrap_or_else(|e| panic!("save failed: {e}"));
    assert!(saved.changed);
    let parent = c.nodes.get(&saved.answer_node).and_then(|n| n.parent.clone()).unwrap_or_default();
    let (shown_now, main_now) = (shown(&c), main_ids(&c));
    let got = Expect {
        prompt_node: if saved.prompt_node == branch::prompt_node_id(&a.key) { "new" } else { "found" },
        answer_parent: if parent == saved.prompt_node { "prompt" } else { "elsewhere" },
        shown: &shown_now,
        main: &main_now,
    };
    assert_eq!(got, expect);
    if let Some(before) = before {
        assert_eq!(main_ids(&c), before, "ChatGPT's main line changed");
        if current.is_some() {
            assert_eq!(c.current_node, current, "current_node moved");
        }
    }
    // Saving the same answer again changes nothing.
    let (again, twice) =
        branch::save(Some(c.clone()), &a).unwrap_or_else(|e| panic!("second save failed: {e}"));
    assert!(!twice.changed, "the second save changed the copy");
    assert_eq!(again, c);
    assert_eq!(twice.answer_node, saved.answer_node);
}

#[test]
fn answers_land_as_branches_of_the_node_the_rescue_continued_from() {
    let k = "r1";
    let ans = "understudy-r1-answer";
    let q = "understudy-r1-prompt";
    // The failed prompt is in the cache: the answer is its child, off the main line.
    check(
        Some(failed_capture()),
        answer(k, "Now add a day trip to Sintra", "Take the train from Rossio.", Outcome::Complete),
        Expect {
            prompt_node: "found",
            answer_parent: "prompt",
            shown: &format!("u1 a1 u2 {ans}*@Groq"),
            main: "u1 a1 u2",
        },
    );
    // Spacing differs between the DOM and the request body: still the same prompt.
    check(
        Some(failed_capture()),
        answer(k, "  Now add a day\ntrip to Sintra ", "Take the train.", Outcome::Complete),
        Expect {
            prompt_node: "found",
            answer_parent: "prompt",
            shown: &format!("u1 a1 u2 {ans}*@Groq"),
            main: "u1 a1 u2",
        },
    );
    // The failed prompt never reached the cache: it is added after ChatGPT's last answer.
    check(
        Some(answered_only()),
        answer(k, "Now add a day trip to Sintra", "Take the train.", Outcome::Complete),
        Expect {
            prompt_node: "new",
            answer_parent: "prompt",
            shown: &format!("u1 a1 {q}* {ans}*@Groq"),
            main: "u1 a1",
        },
    );
    // Nothing cached at all: a new conversation of the prompt and the answer.
    check(
        None,
        answer(k, "Plan a weekend in Lisbon", "Day 1: Belém.", Outcome::Complete),
        Expect {
            prompt_node: "new",
            answer_parent: "prompt",
            shown: &format!("{q} {ans}@Groq"),
            main: &format!("{q} {ans}"),
        },
    );
    // A copy without current_node: the main line is pinned where it was.
    let mut loose = answered_only();
    loose.current_node = None;
    check(
        Some(loose),
        answer(k, "Now add a day trip to Sintra", "Take the train.", Outcome::Complete),
        Expect {
            prompt_node: "new",
            answer_parent: "prompt",
            shown: &format!("u1 a1 {q}* {ans}*@Groq"),
            main: "u1 a1",
        },
    );
}

#[test]
fn the_page_prompt_id_wins_over_the_text() {
    // The same question asked twice: the page's id picks the one that failed.
    let c = conv(
        &[
            ("u1", None, "user", "Again?", 10.0),
            ("a1", Some("u1"), "assistant", "Yes.", 11.0),
            ("u2", Some("a1"), "user", "Again?", 20.0),
        ],
        Some("u2"),
    );
    let mut a = answer("r2", "Again?", "Once more.", Outcome::Complete);
    a.prompt_id = Some("u1".into());
    let (out, saved) = branch::save(Some(c.clone()), &a).unwrap();
    assert_eq!(saved.prompt_node, "u1");
    a.prompt_id = None;
    let (_, saved) = branch::save(Some(c.clone()), &a).unwrap();
    assert_eq!(saved.prompt_node, "u2", "without an id, the newest on the main line");
    a.prompt_id = Some("nowhere".into());
    let (_, saved) = branch::save(Some(c), &a).unwrap();
    assert_eq!(saved.prompt_node, "u2", "an unknown id falls back to the text");
    assert_eq!(main_ids(&out), "u1 a1 u2");
}

#[test]
fn follow_ups_extend_the_branch() {
    let (c, first) = branch::save(
        Some(failed_capture()),
        &answer("r1", "Now add a day trip to Sintra", "Train.", Outcome::Complete),
    )
    .unwrap();
    let mut next = answer("r2", "And back?", "The same train.", Outcome::Complete);
    next.parent = Some(first.answer_node.clone());
    next.started_s = 40.0;
    next.ended_s = 41.0;
    let (c, second) = branch::save(Some(c), &next).unwrap();
    assert_eq!(c.nodes[&second.prompt_node].parent.as_deref(), Some(first.answer_node.as_str()));
    assert_eq!(
        shown(&c),
        "u1 a1 u2 understudy-r1-answer*@Groq understudy-r2-prompt* understudy-r2-answer*@Groq"
    );
    assert_eq!(tip(&c), Some("understudy-r2-answer"));
    let line: Vec<&str> = line_to(&c, "understudy-r2-answer").iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        line,
        ["u1", "a1", "u2", "understudy-r1-answer", "understudy-r2-prompt", "understudy-r2-answer"]
    );
    assert_eq!(main_ids(&c), "u1 a1 u2");
    // A parent the cache no longer has: the follow-up lands after the failed prompt's line.
    let mut lost = answer("r3", "Lost?", "No.", Outcome::Complete);
    lost.parent = Some("gone".into());
    let (c, third) = branch::save(Some(c), &lost).unwrap();
    assert_eq!(c.nodes[&third.prompt_node].parent.as_deref(), Some("u2"));
}

#[test]
fn the_answer_names_its_provider_and_how_it_ended() {
    // (outcome, status, finish, incomplete)
    let cases = [
        (Outcome::Complete, "finished_successfully", "stop", false),
        (Outcome::Length, "finished_successfully", "max_tokens", false),
        (Outcome::Cancelled, "finished_partial_completion", "interrupted", true),
        (Outcome::Error, "finished_partial_completion", "interrupted", true),
    ];
    for (outcome, status, finish, incomplete) in cases {
        let (c, saved) = branch::save(
            Some(failed_capture()),
            &answer("r1", "Now add a day trip to Sintra", "Half an", outcome),
        )
        .unwrap();
        let m = c.nodes[&saved.answer_node].message.as_ref().unwrap();
        assert_eq!(m.status.as_deref(), Some(status), "{outcome:?}");
        assert_eq!(m.finish.as_deref(), Some(finish), "{outcome:?}");
        assert_eq!(branch::is_cut_short(m), incomplete, "{outcome:?}");
        assert_eq!(m.model_slug.as_deref(), Some("llama-3.3-70b"));
        assert_eq!(m.content.plain_text(), "Half an");
        let mark = &m.metadata["understudy"];
        assert_eq!(mark["produced_by"], "understudy");
        assert_eq!(mark["provider"]["id"], "groq");
        assert_eq!(mark["provider"]["kind"], "open_ai_compatible");
        assert_eq!(mark["provider"]["model"], "llama-3.3-70b");
        assert!(!m.is_incomplete(), "a kept answer is not one still arriving");
        assert!(!c.incomplete);
    }
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let ok = answer("r1", "Now add a day trip to Sintra", "Train.", Outcome::Complete);
    let cases: [(BranchAnswer, BranchError); 5] = [
        (BranchAnswer { answer: "  ".into(), ..ok.clone() }, BranchError::EmptyAnswer),
        (BranchAnswer { key: String::new(), ..ok.clone() }, BranchError::BadId("rescue key")),
        (BranchAnswer { key: "x".repeat(101), ..ok.clone() }, BranchError::BadId("rescue key")),
        (
            BranchAnswer { conversation_id: "a\nb".into(), ..ok.clone() },
            BranchError::BadId("conversation id"),
        ),
        (BranchAnswer { conversation_id: "other".into(), ..ok.clone() }, BranchError::WrongConversation),
    ];
    for (a, want) in cases {
        assert_eq!(branch::save(Some(failed_capture()), &a).unwrap_err(), want);
    }
    assert_eq!(BranchError::EmptyAnswer.to_string(), "there is no answer to keep");
}

#[test]
fn the_json_export_keeps_chatgpts_main_line() {
    let original = failed_capture();
    let (c, _) = branch::save(
        Some(original.clone()),
        &answer("r1", "Now add a day trip to Sintra", "Train.", Outcome::Complete),
    )
    .unwrap();
    let exported = render::to_json(std::slice::from_ref(&c));
    let back: Vec<Conversation> = serde_json::from_str(&exported).unwrap();
    assert_eq!(main_ids(&back[0]), main_ids(&original));
    assert_eq!(back[0].current_node.as_deref(), Some("u2"));
    // The rescued answer travels along, marked.
    let kept = back[0].nodes["understudy-r1-answer"].message.as_ref().unwrap();
    assert_eq!(branch::answered_by(kept).map(|p| p.name().to_string()), Some("Groq".into()));
    assert_eq!(answer_node_id("r1"), "understudy-r1-answer");
}

#[test]
fn a_long_answer_is_kept_cut_and_marked() {
    let long = "é".repeat(understudy::conversation::capture::MAX_TEXT); // twice the bytes allowed
    let (c, saved) = branch::save(
        Some(failed_capture()),
        &answer("r1", "Now add a day trip to Sintra", &long, Outcome::Complete),
    )
    .unwrap();
    let m = c.nodes[&saved.answer_node].message.as_ref().unwrap();
    assert!(m.content.plain_text().len() <= understudy::conversation::capture::MAX_TEXT);
    assert!(branch::is_cut_short(m));
    assert_eq!(m.finish.as_deref(), Some("max_tokens"));
}

#[test]
fn an_answer_for_a_site_conversation_not_kept_yet_starts_it_under_that_site() {
    let mut a = answer("k-site", "Why did Claude stop?", "It was at capacity.", Outcome::Complete);
    a.conversation_id = "claude:0c1a0de0-1111".into();
    let (c, _) = branch::save(None, &a).unwrap_or_else(|e| panic!("save failed: {e}"));
    assert_eq!(c.id, "claude:0c1a0de0-1111");
    assert_eq!(c.site(), Some("claude"));
    a.conversation_id = "c9".into();
    let (c, _) = branch::save(None, &a).unwrap_or_else(|e| panic!("save failed: {e}"));
    assert_eq!(c.site(), None, "ChatGPT's own ids name no site");
}
