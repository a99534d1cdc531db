//! The rescue's pure decisions: the carried-over conversation, the plain words, auto mode and the
//! web handoff, each checked the way a user would see them.

use understudy::detect::Kind;
use understudy::provider::chat::{ChatMessage, Role};
use understudy::rescue::{
    CarryOver, HandoffSite, MAX_TURNS, MAX_URL_LEN, RescueError, carry_over, describe, handoff, handoff_text,
    rescuable,
};

/// Turns written as "u:text" / "a:text" / "s:text".
fn turns(spec: &[&str]) -> Vec<ChatMessage> {
    spec.iter()
        .map(|t| {
            let (r, text) = t.split_once(':').unwrap_or(("u", t));
            let role = match r {
                "a" => Role::Assistant,
                "s" => Role::System,
                _ => Role::User,
            };
            ChatMessage::new(role, text)
        })
        .collect()
}

fn check_carry(transcript: &[&str], failed: Option<&str>, context: &[&str], prompt: &str) {
    let got = carry_over(&turns(transcript), failed).unwrap_or_else(|e| panic!("{transcript:?}: {e}"));
    assert_eq!(got.conversation, turns(context), "context of {transcript:?} / {failed:?}");
    assert_eq!(got.prompt, prompt, "prompt of {transcript:?} / {failed:?}");
}

#[test]
fn the_failed_prompt_leaves_the_context_and_becomes_the_prompt() {
    // The page shows the failed prompt and an empty (broken) answer.
    check_carry(&["u:Hi", "a:Hello", "u:Plan a trip", "a:"], None, &["u:Hi", "a:Hello"], "Plan a trip");
    // The detection's prompt is preferred and matched whatever the spacing.
    check_carry(
        &["u:Hi", "a:Hello", "u:Plan  a\ntrip", "a:Som"],
        Some("Plan a trip"),
        &["u:Hi", "a:Hello"],
        "Plan a trip",
    );
    // A page that has not rendered the failed prompt keeps every turn.
    check_carry(&["u:Hi", "a:Hello"], Some("Next"), &["u:Hi", "a:Hello"], "Next");
    // ...but not a trailing empty answer.
    check_carry(&["u:Hi", "a:Hello", "a: "], Some("Next"), &["u:Hi", "a:Hello"], "Next");
    // No transcript at all: only the prompt.
    check_carry(&[], Some("  Just this  "), &[], "Just this");
    // The failed turn is the only one.
    check_carry(&["u:Only", "a:"], None, &[], "Only");
    // The prompt given differs from the last user turn: that turn stays as context.
    check_carry(&["u:Hi", "a:Hello", "u:Older"], Some("Newer"), &["u:Hi", "a:Hello", "u:Older"], "Newer");
}

#[test]
fn the_context_is_cleaned() {
    // Empty turns go; two turns in a row by the same role join.
    check_carry(&["u:A", "u:B", "a:", "a:C", "a:D", "u:Q"], None, &["u:A\n\nB", "a:C\n\nD"], "Q");
    // Surrounding whitespace goes.
    check_carry(&["u:  A  ", "a:\nB\n", "u:Q"], None, &["u:A", "a:B"], "Q");
    // A system turn is kept first.
    check_carry(&["s:Be brief", "u:A", "a:B", "u:Q"], None, &["s:Be brief", "u:A", "a:B"], "Q");
}

#[test]
fn no_prompt_is_a_clear_error() {
    for (transcript, failed) in
        [(vec![], None), (vec!["a:Hello"], None), (vec!["u:  "], Some("   ")), (vec!["a:x", "a:y"], Some(""))]
    {
        let err = carry_over(&turns(&transcript), failed).unwrap_err();
        assert_eq!(err, RescueError::NoPrompt);
        assert!(err.to_string().contains("no prompt"));
    }
}

#[test]
fn a_very_long_conversation_keeps_its_newest_turns_starting_with_a_question() {
    let mut spec: Vec<String> =
        (0..MAX_TURNS + 51).map(|i| format!("{}:turn {i}", if i % 2 == 0 { 'u' } else { 'a' })).collect();
    spec.push("u:Q".into());
    let refs: Vec<&str> = spec.iter().map(String::as_str).collect();
    let got = carry_over(&turns(&refs), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(got.conversation.len() <= MAX_TURNS);
    assert_eq!(got.conversation[0].role, Role::User);
    assert_eq!(
        got.conversation.last().map(|m| m.content.as_str()),
        Some(format!("turn {}", MAX_TURNS + 50).as_str())
    );
    assert_eq!(got.dropped + got.conversation.len(), MAX_TURNS + 51);
    // One huge turn is dropped as a whole, the newer ones kept.
    let huge = format!("u:{}", "x".repeat(1_200_000));
    let got = carry_over(&turns(&[&huge, "a:short", "u:Q"]), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.conversation, Vec::<ChatMessage>::new(), "an orphan answer is not kept either");
    assert_eq!(got.dropped, 2);
}

#[test]
fn the_words_say_what_failed() {
    let check = |kind, until, want: &str| assert_eq!(describe(kind, until), want, "{kind:?}");
    check(Kind::RateLimited, Some("14:20"), "ChatGPT is rate-limiting you until 14:20.");
    check(Kind::RateLimited, Some(" "), "ChatGPT is rate-limiting you for now.");
    check(Kind::RateLimited, None, "ChatGPT is rate-limiting you for now.");
    check(Kind::ServiceDown, None, "ChatGPT is down.");
    check(Kind::Capacity, None, "ChatGPT is at capacity right now.");
    check(Kind::GenerationError, None, "ChatGPT could not finish this answer.");
    check(Kind::NetworkError, None, "The connection to ChatGPT broke off.");
    check(Kind::ConversationUnavailable, None, "ChatGPT cannot load this conversation right now.");
    check(Kind::UnknownError, None, "ChatGPT shows an error that Understudy does not recognise.");
    assert!(describe(Kind::Blocked, None).contains("not an outage"));
    for kind in Kind::ALL {
        assert!(describe(kind, None).ends_with('.'), "{kind:?}");
    }
}

#[test]
fn rescuable_kinds() {
    for kind in Kind::ALL {
        assert_eq!(rescuable(kind), !matches!(kind, Kind::Healthy | Kind::Blocked), "{kind:?}");
    }
}

fn plan(context: &[&str], prompt: &str) -> CarryOver {
    CarryOver { conversation: turns(context), prompt: prompt.into(), dropped: 0 }
}

#[test]
fn a_web_handoff_puts_the_prompt_and_its_context_in_the_url() {
    let check = |site: HandoffSite, p: &CarryOver, prefix: &str, in_url: bool| {
        let h = handoff(site, p);
        assert!(h.url.starts_with(prefix), "{site:?}: {}", h.url);
        assert_eq!(h.clipboard.is_none(), in_url, "{site:?}");
        assert!(h.url.len() <= MAX_URL_LEN);
    };
    let short = plan(&["u:Hi", "a:Hello"], "Plan a trip & more?");
    check(HandoffSite::Claude, &short, "https://claude.ai/new?q=Here%20is%20our%20conversation", true);
    check(HandoffSite::Perplexity, &short, "https://www.perplexity.ai/search?q=", true);
    check(HandoffSite::LeChat, &short, "https://chat.mistral.ai/chat?q=", true);
    check(HandoffSite::Gemini, &short, "https://gemini.google.com/app", false);
    let h = handoff(HandoffSite::Claude, &short);
    assert!(h.url.ends_with("My%20next%20message%3A%20Plan%20a%20trip%20%26%20more%3F"), "{}", h.url);
    // A prompt alone travels as it is.
    let h = handoff(HandoffSite::Claude, &plan(&[], "héllo/ü"));
    assert_eq!(h.url, "https://claude.ai/new?q=h%C3%A9llo%2F%C3%BC");
    // Too long for a URL: the site's page and the clipboard.
    let long = plan(&["u:Hi", "a:Hello"], &"word ".repeat(3000));
    let h = handoff(HandoffSite::Claude, &long);
    assert_eq!(h.url, "https://claude.ai/new");
    assert_eq!(h.clipboard.as_deref(), Some(handoff_text(&long).as_str()));
}

#[test]
fn the_handoff_text_reads_like_a_conversation() {
    assert_eq!(handoff_text(&plan(&[], "Q")), "Q");
    assert_eq!(
        handoff_text(&plan(&["u:Hi", "a:Hello"], "Q")),
        "Here is our conversation so far:\n\nMe: Hi\n\nAssistant: Hello\n\nMy next message: Q"
    );
}

#[test]
fn handoff_sites_by_id() {
    for site in HandoffSite::ALL {
        assert_eq!(HandoffSite::from_id(site.id()), Ok(site));
        assert!(!site.label().is_empty());
    }
    let err = HandoffSite::from_id("nope").unwrap_err();
    assert!(err.to_string().contains("'nope'"));
}
