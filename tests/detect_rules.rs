//! Data-driven cases for the detection rules, observations, classifier and hysteresis, and bad input.

use serde_json::{Value, json};
use understudy::detect::{
    DetectionEvent, Detector, Kind, Observation, Rules, Signal, adapter_json, classify, extract_html,
};
use understudy::site::Site;

/// 2026-11-25 10:00:00 UTC.
const NOW: u64 = 1_795_600_800_000;

fn rules() -> &'static Rules {
    Rules::builtin(Site::Chatgpt)
}

fn obs(v: Value) -> Observation {
    Observation::from_json(&v.to_string()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

// ---------------------------------------------------------------- the data file

#[test]
fn the_data_file_parses_and_every_rule_kind_is_valid() {
    let raw: Value = serde_json::from_str(Rules::builtin_source("chatgpt").unwrap()).unwrap();
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let mut order = Vec::new();
    for rule in raw["texts"].as_array().unwrap() {
        let kind = rule["kind"].as_str().unwrap();
        assert!(kinds.contains(&kind), "invalid rule kind {kind}");
        assert!(!rule["phrases"].as_array().unwrap().is_empty(), "{kind} has no phrases");
        order.push(kind);
    }
    for code in raw["codes"].as_array().unwrap() {
        let kind = code["kind"].as_str().unwrap();
        assert!(kinds.contains(&kind), "invalid code kind {kind}");
    }
    // Within one text, file order decides: the specific kinds come before the generic ones.
    let pos = |k: &str| order.iter().position(|o| *o == k).unwrap();
    for specific in [
        "blocked",
        "conversation_unavailable",
        "conversation_too_long",
        "refused",
        "rate_limited",
        "capacity",
    ] {
        assert!(pos(specific) < pos("generation_error"), "{specific} must precede generation_error");
        assert!(pos(specific) < pos("network_error"), "{specific} must precede network_error");
    }
    let r = Rules::from_json(Rules::builtin_source("chatgpt").unwrap()).unwrap();
    assert_eq!(r.site, "chatgpt");
    assert!(r.serves_host("chatgpt.com") && r.serves_host("CHAT.openai.com") && !r.serves_host("openai.com"));
    // The page's own timings (60 s between bytes, 60 s to the first), then 30 s for its resume.
    assert_eq!((r.timing.stall_ms, r.timing.no_start_ms, r.timing.resume_grace_ms), (60_000, 60_000, 30_000));
}

#[test]
fn bad_rule_files_are_refused_with_a_reason() {
    let good: Value = serde_json::from_str(Rules::builtin_source("chatgpt").unwrap()).unwrap();
    let check = |edit: &dyn Fn(&mut Value), needle: &str| {
        let mut v = good.clone();
        edit(&mut v);
        let err = Rules::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains(needle), "{err} should mention {needle}");
    };
    check(&|v| v["texts"][0]["kind"] = json!("meltdown"), "unknown variant");
    check(&|v| v["texts"][0]["phrases"][0] = json!("..."), "empty phrase");
    check(&|v| v["selectors"]["error"] = json!("div > .x"), "error");
    check(&|v| v["selectors"]["dialog"] = json!("div ~ .x"), "dialog");
    check(&|v| v["endpoints"][1]["retried"] = json!(["429"]), "invalid type");
    check(&|v| v["format"] = json!(2), "format");
    check(&|v| v["surprise"] = json!(1), "unknown field");
    assert!(Rules::from_json("not json").is_err());
}

#[test]
fn another_site_is_only_another_data_file() {
    let mut v: Value = serde_json::from_str(Rules::builtin_source("chatgpt").unwrap()).unwrap();
    v["site"] = json!("claude");
    v["hosts"] = json!(["claude.ai"]);
    v["stream"] = json!({ "transport": "fetch", "format": "claude_sse", "frames": "append" });
    v["selectors"]["error"] = json!("[data-testid=\"message-error\"]");
    v["texts"] = json!([{ "kind": "capacity", "phrases": ["Claude is currently experiencing high demand"] }]);
    let claude = Rules::from_json(&v.to_string()).unwrap();
    let page = r#"<html><body><main><div data-testid="conversation-turn-1" data-turn="assistant">
        <div data-testid="message-error">Due to unexpected capacity constraints, Claude is currently
        experiencing high demand.</div></div><div id="prompt-textarea"></div></main></body></html>"#;
    let d = classify(&Observation::Dom(extract_html(page, &claude)), &claude, NOW);
    assert_eq!(d.kind, Kind::Capacity);
}

#[test]
fn the_adapter_json_carries_what_the_page_scripts_read() {
    let a: Value = serde_json::from_str(&adapter_json(Site::Chatgpt)).unwrap();
    assert_eq!(a["site"], "chatgpt");
    assert!(a["selectors"]["error"].as_str().unwrap().starts_with(".text-token-text-error, "));
    assert_eq!(a["selectors"]["composer"], "#prompt-textarea");
    assert_eq!(a["selectors"]["retry_button"], "button[data-testid=\"regenerate-thread-error-button\"]");
    assert_eq!(a["endpoints"][0]["path"], "/backend-api/f/conversation");
    assert_eq!(a["timing"]["stall_ms"], 60_000);
    assert_eq!(a["timing"]["resume_grace_ms"], 30_000);
    assert_eq!(a["endpoints"][1]["retried"], json!([408, 409, 425, 429, 502, 504]));
    assert_eq!(a["limits"]["max_text"], 4096);
    for key in [
        "turn",
        "role",
        "role_attr",
        "turn_role_attr",
        "toast",
        "banner",
        "login_button",
        "stop_button",
        "message_body",
        "excluded",
        "cloudflare",
        "challenge",
        "page_message",
        "dialog",
        "recovering",
        "user_message",
    ] {
        assert!(a["selectors"][key].is_string(), "selector {key} missing");
    }
}

// ---------------------------------------------------------------- text rules

#[test]
fn error_texts_map_to_kinds() {
    let check = |text: &str, expect: Option<Kind>| {
        assert_eq!(rules().match_text(text).map(|m| m.kind), expect, "{text:?}");
    };
    use Kind::*;
    check("There was an error generating a response", Some(GenerationError));
    check(
        "Something went wrong. If this issue persists please contact us through our help center at help.openai.com.",
        Some(GenerationError),
    );
    check(
        "Something went wrong while generating the response. If this issue persists...",
        Some(GenerationError),
    );
    check("Network error", Some(NetworkError));
    check(
        "A network error occurred. If this issue persists please contact us through our help center",
        Some(NetworkError),
    );
    check("Message delivery timed out. Please try again.", Some(NetworkError));
    // The page's own recovery, a downgrade and a feature limit are not failures, even when they
    // hold a failure's words.
    check("Connection interrupted. Waiting for the complete answer.", Some(Healthy));
    check(
        "Our systems are doing additional processing of this request to make sure it is safe.",
        Some(Healthy),
    );
    check(
        "You’ve hit the Free plan limit for GPT-5. Responses will use another model until your limit resets after 3:54 PM.",
        Some(Healthy),
    );
    check("Files, images, and data analysis are unavailable until usage resets at 3:42 PM.", Some(Healthy));
    check(
        "You've reached your limit for image generation. You can create more images in 2 hours.",
        Some(Healthy),
    );
    check(
        "You’ve hit the Free plan limit for GPT-5. You need GPT-5 to continue this chat because there's an attachment.",
        Some(RateLimited),
    );
    check(
        "You've reached the maximum length for this conversation, but you can keep talking by starting a new chat.",
        Some(ConversationTooLong),
    );
    check("This content may violate our usage policies.", Some(Refused));
    check(
        "You're making requests too quickly. We've temporarily limited access to your conversations.",
        Some(RateLimited),
    );
    check("You've hit your usage limit. Upgrade to keep chatting.", Some(RateLimited));
    check("Error in message stream", Some(NetworkError));
    check("Stream cache expired", Some(NetworkError));
    check("Resume stream unavailable", Some(NetworkError));
    check(r#"{"detail":"Too many requests in 1 hour. Try again later."}"#, Some(RateLimited));
    check("You’ve reached our limit of messages per hour. Please try again later.", Some(RateLimited));
    check("YOU'VE REACHED OUR LIMIT OF MESSAGES PER HOUR", Some(RateLimited));
    check("ChatGPT is at capacity right now", Some(Capacity));
    check("Get notified when we’re back", Some(Capacity));
    check("Hmm...something seems to have gone wrong. Maybe try me again in a little bit.", Some(ServiceDown));
    check(
        "Our systems have detected unusual activity from your system. Please try again later.",
        Some(Blocked),
    );
    check("Our systems have detected unusual activity from your device.", Some(Blocked));
    check("Unable to load conversation 6a1f0001-3c2e-4b8d-9f1e-000000000001", Some(ConversationUnavailable));
    check("Users are not able to retrieve conversation history at this time.", Some(ConversationUnavailable));
    check("Bad gateway", Some(ServiceDown));
    check("Something went wrong. Too many requests in 1 minute.", Some(RateLimited));
    check("Copied to clipboard", None);
    check("Networked errors are fun", None);
    check("Beim Generieren einer Antwort ist ein Fehler aufgetreten.", None);
    check("", None);
}

#[test]
fn codes_map_to_kinds() {
    let check = |code: &str, expect: Option<Kind>| assert_eq!(rules().match_code(code), expect, "{code}");
    check("model_cap_exceeded", Some(Kind::RateLimited));
    check("MODEL_CAP_EXCEEDED", Some(Kind::RateLimited));
    check("conversation_not_found", Some(Kind::ConversationUnavailable));
    check("conversation_too_large", Some(Kind::ConversationTooLong));
    check("tokenless_resume_unavailable", Some(Kind::NetworkError));
    check("persisted_final_available", Some(Kind::Healthy));
    check("history_disabled_conversation_expired", Some(Kind::ConversationUnavailable));
    check("model_cap", None);
}

// ---------------------------------------------------------------- observations

fn check(v: Value, kind: Kind, retry: Option<u64>) {
    let d = classify(&obs(v.clone()), rules(), NOW);
    assert_eq!((d.kind, d.retry_after_s), (kind, retry), "{v} -> {}", d.evidence);
}

fn err(region: &str, structural: bool, text: &str) -> Value {
    json!({"region": region, "structural": structural, "text": text})
}

#[test]
fn dom_observations() {
    use Kind::*;
    let turn = |text: &str| {
        json!({"type": "dom", "errors": [err("turn", true, text)],
        "latest_turn": {"role": "assistant", "has_answer": false, "answer_after_error": false}})
    };
    check(json!({"type": "dom"}), Healthy, None);
    check(turn("There was an error generating a response"), GenerationError, None);
    check(turn("Too many requests in 1 hour. Try again later."), RateLimited, Some(3600));
    check(turn("Fehler beim Generieren"), UnknownError, None);
    check(turn("   "), Healthy, None);
    // A known toast wins over an unknown error box; a harmless toast counts for nothing.
    check(
        json!({"type": "dom", "errors": [err("turn", true, "Fehler"), err("toast", false, "Network error")]}),
        NetworkError,
        None,
    );
    check(json!({"type": "dom", "errors": [err("toast", false, "Memory updated")]}), Healthy, None);
    // The most specific kind across elements wins.
    check(
        json!({"type": "dom", "errors": [err("turn", true, "Something went wrong"),
        err("toast", false, "Our systems have detected unusual activity from your system")]}),
        Blocked,
        None,
    );
    // Recovered: an answer follows the error in the latest turn.
    check(
        json!({"type": "dom", "errors": [err("turn", true, "Network error")],
        "latest_turn": {"role": "assistant", "has_answer": true, "answer_after_error": true}}),
        Healthy,
        None,
    );
    check(json!({"type": "dom", "retry_button": true}), GenerationError, None);
    check(json!({"type": "dom", "signed_out": true}), Blocked, None);
    check(json!({"type": "dom", "signed_out": true, "latest_turn": {"role": "user"}}), Blocked, None);
    check(
        json!({"type": "dom", "signed_out": true, "latest_turn": {"role": "assistant", "has_answer": true}}),
        Healthy,
        None,
    );
    check(
        json!({"type": "dom", "signed_out": true, "errors": [err("toast", false, "Too many requests in 1 minute")]}),
        RateLimited,
        Some(60),
    );
    // Clock times use the page's time zone.
    check(
        json!({"type": "dom", "tz_offset_min": 120, "errors": [err("turn", true, "You've reached the current usage cap for GPT-4, please try again after 14:20")]}),
        RateLimited,
        Some(2 * 3600 + 20 * 60),
    );
}

#[test]
fn whole_page_observations() {
    use Kind::*;
    let page = |source: &str, status: Option<u16>, text: &str, code: Option<&str>| json!({"type": "dom", "page_error": {"source": source, "status": status, "text": text, "code": code}});
    check(page("cloudflare", Some(502), "chatgpt.com | 502: Bad gateway", None), ServiceDown, None);
    check(page("cloudflare", Some(429), "chatgpt.com | 429: Too many requests", None), RateLimited, None);
    check(
        page("cloudflare", None, "Attention Required! | Cloudflare. Sorry, you have been blocked", None),
        Blocked,
        None,
    );
    check(page("cloudflare", None, "", None), ServiceDown, None);
    check(page("challenge", None, "Just a moment...", None), Blocked, None);
    check(page("json", None, "Too many requests in 1 hour. Try again later.", None), RateLimited, Some(3600));
    check(page("json", None, "", Some("conversation_not_found")), ConversationUnavailable, None);
    check(page("json", None, "Hmm...something seems to have gone wrong.", None), ServiceDown, None);
    check(page("json", Some(503), "", None), ServiceDown, None);
    check(page("json", None, "Quelque chose", None), UnknownError, None);
    let d =
        classify(&obs(page("cloudflare", Some(502), "chatgpt.com | 502: Bad gateway", None)), rules(), NOW);
    assert_eq!(d.evidence.signal, Signal::StatusPage);
}

#[test]
fn network_observations() {
    use Kind::*;
    let net = |endpoint: &str, status: Option<u16>, extra: Value| {
        let mut v = json!({"type": "network", "endpoint": endpoint, "status": status});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let send = "conversation_send";
    check(net(send, Some(200), json!({})), Healthy, None);
    check(net(send, Some(429), json!({"retry_after": "120"})), RateLimited, Some(120));
    check(
        net(send, Some(429), json!({"retry_after": "Wed, 25 Nov 2026 10:01:00 GMT"})),
        RateLimited,
        Some(60),
    );
    check(
        net(send, Some(429), json!({"error": {"message": "Too many requests in 1 hour. Try again later."}})),
        RateLimited,
        Some(3600),
    );
    check(
        net(send, Some(200), json!({"error": {"code": "model_cap_exceeded", "clears_in": 1234}})),
        RateLimited,
        Some(1234),
    );
    check(
        net(send, Some(403), json!({"error": {"message": "Our systems have detected unusual activity"}})),
        Blocked,
        None,
    );
    check(
        net(
            send,
            Some(400),
            json!({"error": {"code": "conversation_too_large", "message": "You've reached the maximum length for this conversation"}}),
        ),
        ConversationTooLong,
        None,
    );
    check(net(send, None, json!({"failed": true})), NetworkError, None);
    check(net(send, Some(500), json!({})), GenerationError, None);
    check(net(send, Some(502), json!({})), ServiceDown, None);
    check(
        net(send, Some(503), json!({"error": {"message": "ChatGPT is at capacity right now"}})),
        Capacity,
        None,
    );
    check(net(send, Some(504), json!({})), ServiceDown, None);
    check(net(send, Some(403), json!({})), Blocked, None);
    check(net(send, Some(401), json!({})), Blocked, None);
    check(
        net(send, Some(404), json!({"error": {"code": "conversation_not_found"}})),
        ConversationUnavailable,
        None,
    );
    check(net("conversation_read", Some(404), json!({})), ConversationUnavailable, None);
    check(net("conversation_read", Some(500), json!({})), ConversationUnavailable, None);
    check(net("conversation_read", Some(200), json!({})), Healthy, None);
    check(net("auth_session", Some(403), json!({"challenge": true})), Blocked, None);
    check(net("auth_session", Some(403), json!({})), Blocked, None);
    check(net("auth_session", Some(502), json!({})), ServiceDown, None);
    check(net("auth_session", Some(200), json!({})), Healthy, None);
    // The page's resume: a failure loses the answer on that path, unless the page retries the
    // status by itself or reads the answer from the conversation.
    let resume = "conversation_resume";
    check(
        net(
            resume,
            Some(404),
            json!({"error": {"code": "tokenless_resume_unavailable", "message": "A network error occurred."}}),
        ),
        NetworkError,
        None,
    );
    check(net(resume, Some(500), json!({})), NetworkError, None);
    check(net(resume, None, json!({"failed": true})), Healthy, None);
    for retried in [408, 409, 425, 429, 502, 504] {
        check(net(resume, Some(retried), json!({})), Healthy, None);
    }
    check(net(resume, Some(410), json!({"error": {"code": "persisted_final_available"}})), Healthy, None);
    check(net(resume, Some(200), json!({})), Healthy, None);
    // Its polls never raise anything: what it concludes shows on the page.
    check(net("stream_status", Some(500), json!({"failed": true})), Healthy, None);
    // Traffic the adapter does not watch never raises anything.
    check(net("other", Some(500), json!({"failed": true})), Healthy, None);
}

#[test]
fn stall_observations() {
    let stall = |phase: &str, ms: u64| json!({"type": "stall", "phase": phase, "ms": ms});
    // A thinking model is often silent for more than the page's own 60 s: the page then resumes
    // by itself, and only when that brought nothing either has the answer stalled.
    check(stall("stalled", 20_000), Kind::Healthy, None);
    check(stall("stalled", 60_000), Kind::Healthy, None);
    check(stall("stalled", 89_999), Kind::Healthy, None);
    check(stall("stalled", 90_000), Kind::NetworkError, None);
    check(stall("no_start", 30_000), Kind::Healthy, None);
    check(stall("no_start", 90_000), Kind::NetworkError, None);
}

#[test]
fn turn_observations() {
    use Kind::*;
    let turn = |end: &str, error: Value| json!({"type": "turn", "end": end, "error": error});
    let e = |kind: Option<&str>, code: Option<&str>, message: &str| json!({"kind": kind, "code": code, "message": message});
    check(turn("done", Value::Null), Healthy, None);
    check(turn("handoff", Value::Null), Healthy, None);
    check(turn("truncated", Value::Null), Healthy, None);
    check(turn("error", Value::Null), GenerationError, None);
    check(turn("error", e(Some("stream_error"), None, "Something odd happened")), GenerationError, None);
    check(turn("error", e(Some("refused"), Some("policy"), "withheld")), Refused, None);
    check(turn("error", e(Some("error"), Some("model_cap_exceeded"), "")), RateLimited, None);
    check(
        turn(
            "error",
            e(Some("stream_error"), None, "You've reached the maximum length for this conversation."),
        ),
        ConversationTooLong,
        None,
    );
    check(turn("error", e(None, None, "Hmm...something seems to have gone wrong.")), ServiceDown, None);
    check(turn("error", e(None, None, "Error in message stream")), NetworkError, None);
}

#[test]
fn forged_or_oversized_observations_are_refused() {
    for bad in [
        "",
        "null",
        "[]",
        r#"{"type":"dom","errors":[{"region":"turn","text":"x","html":"<b>"}]}"#,
        r#"{"type":"dom","surprise":1}"#,
        r#"{"type":"dom","errors":[{"region":"everywhere","text":"x"}]}"#,
        r#"{"type":"network","endpoint":"conversation_send","status":70000}"#,
        r#"{"type":"network","status":500}"#,
        r#"{"type":"stall","phase":"stalled","ms":-1}"#,
        r#"{"type":"detect_everything"}"#,
        r#"{"type":"dom","latest_turn":{"role":"admin"}}"#,
    ] {
        assert!(Observation::from_json(bad).is_err(), "{bad}");
    }
    let huge = json!({"type": "dom", "errors": [err("turn", true, &"x".repeat(600_000))]}).to_string();
    assert!(Observation::from_json(&huge).unwrap_err().to_string().contains("too large"));
}

#[test]
fn observations_are_bounded() {
    let many: Vec<Value> = (0..20).map(|_| err("toast", false, &"é".repeat(2500))).collect();
    let o = obs(json!({"type": "dom", "errors": many, "tz_offset_min": 100_000}));
    let Observation::Dom(d) = o else { panic!() };
    assert_eq!(d.errors.len(), 16);
    assert!(d.errors.iter().all(|e| e.text.len() <= 4096 && e.text.chars().all(|c| c == 'é')));
    assert_eq!(d.tz_offset_min, 16 * 60);
}

// ---------------------------------------------------------------- hysteresis

/// What the service worker would see for each step: "-" for no event, "raised:<kind>", "recovered:<kind>".
fn run_detector(steps: &[(u64, Value)]) -> Vec<String> {
    let mut det = Detector::new(Site::Chatgpt);
    steps
        .iter()
        .map(|(t, v)| {
            let ev = det.observe(&obs(v.clone()), NOW + t);
            // The state survives a round trip through storage at every step.
            det = serde_json::from_str(&serde_json::to_string(&det).unwrap()).unwrap();
            match ev {
                None => "-".to_owned(),
                Some(DetectionEvent::Raised { detection, .. }) => format!("raised:{}", detection.kind),
                Some(DetectionEvent::Recovered { kind, .. }) => format!("recovered:{kind}"),
            }
        })
        .collect()
}

fn dom_err(text: &str) -> Value {
    json!({"type": "dom", "errors": [err("turn", true, text)], "latest_turn": {"role": "assistant"}})
}

fn dom_ok() -> Value {
    json!({"type": "dom", "latest_turn": {"role": "assistant", "has_answer": true}})
}

fn send(status: u16) -> Value {
    json!({"type": "network", "endpoint": "conversation_send", "status": status})
}

fn stall(ms: u64) -> Value {
    json!({"type": "stall", "phase": "stalled", "ms": ms})
}

#[test]
fn hysteresis() {
    let check =
        |steps: &[(u64, Value)], expect: &[&str]| assert_eq!(run_detector(steps), expect, "{steps:?}");
    // The same error observed repeatedly fires once, and clears when the page is healthy again.
    check(
        &[
            (0, dom_err("Network error")),
            (100, dom_err("Network error")),
            (200, dom_err("Network error")),
            (300, dom_ok()),
        ],
        &["raised:network_error", "-", "-", "recovered:network_error"],
    );
    check(&[(0, dom_ok()), (10, dom_ok())], &["-", "-"]);
    // A stall is a network error until a later signal says more; a vaguer signal never downgrades.
    check(
        &[(0, stall(91_000)), (100, dom_err("Too many requests in 1 hour")), (200, stall(95_000))],
        &["raised:network_error", "raised:rate_limited", "-"],
    );
    // A handoff or a cut stream says nothing; the turn's real end does. A whole answer clears a
    // stall, like any send that went through.
    let t = |end: &str| json!({"type": "turn", "end": end});
    let refused =
        json!({"type": "turn", "end": "error", "error": {"kind": "refused", "code": null, "message": ""}});
    check(&[(0, t("handoff")), (1, t("truncated")), (2, t("done"))], &["-", "-", "-"]);
    check(
        &[(0, stall(91_000)), (1, t("handoff")), (2, t("done"))],
        &["raised:network_error", "-", "recovered:network_error"],
    );
    check(&[(0, t("handoff")), (1, refused.clone()), (2, refused)], &["-", "raised:refused", "-"]);
    // A stall below the threshold says nothing, and healthy DOM does not end a network failure...
    check(
        &[(0, stall(5_000)), (1, send(502)), (2, dom_ok()), (3, send(200))],
        &["-", "raised:service_down", "-", "recovered:service_down"],
    );
    // ...but the same failure seen by two signals clears only when both are healthy.
    check(
        &[(0, send(429)), (1, dom_err("Too many requests in 1 minute")), (2, dom_ok()), (3, send(200))],
        &["raised:rate_limited", "-", "-", "recovered:rate_limited"],
    );
    // The same signal reporting a different failure is a new page state.
    check(
        &[(0, dom_err("Too many requests")), (1, dom_err("Network error"))],
        &["raised:rate_limited", "raised:network_error"],
    );
    // A successful send clears everything; the old error box lingering a moment does not re-fire,
    // but a new error afterwards does.
    check(
        &[
            (0, dom_err("Network error")),
            (1_000, send(200)),
            (1_100, dom_err("Network error")),
            (20_000, dom_err("Network error")),
        ],
        &["raised:network_error", "recovered:network_error", "-", "raised:network_error"],
    );
    // A healthy answer from another endpoint does not clear a send failure; the same endpoint does.
    check(
        &[
            (0, json!({"type": "network", "endpoint": "conversation_read", "status": 404})),
            (1, json!({"type": "network", "endpoint": "auth_session", "status": 200})),
            (2, json!({"type": "network", "endpoint": "conversation_read", "status": 200})),
        ],
        &["raised:conversation_unavailable", "-", "recovered:conversation_unavailable"],
    );
}

#[test]
fn detector_reports_the_current_failure_and_resets() {
    let mut det = Detector::new(Site::Chatgpt);
    assert!(det.current().is_none());
    det.observe(&obs(dom_err("Too many requests in 1 hour")), NOW);
    let cur = det.current().unwrap();
    assert_eq!((cur.kind, cur.retry_after_s), (Kind::RateLimited, Some(3600)));
    assert!(det.observe(&obs(dom_err("Too many requests in 1 hour")), NOW + 5).is_none());
    assert_eq!(det.since_ms(), Some(NOW));
    det.reset();
    assert!(det.current().is_none());
    let ev = serde_json::to_value(det.observe(&obs(send(429)), NOW)).unwrap();
    assert_eq!(ev["event"], "raised");
    assert_eq!(ev["detection"]["kind"], "rate_limited");
    assert_eq!(ev["detection"]["evidence"]["signal"], "network");
}

// ---------------------------------------------------------------- bad input

fn judge(html: &str) -> Kind {
    classify(&Observation::Dom(extract_html(html, rules())), rules(), NOW).kind
}

#[test]
fn bad_html_never_crashes() {
    let deep = "<div>".repeat(100_000) + "<div class=\"text-token-text-error\">Network error</div>";
    assert_eq!(judge(&deep), Kind::NetworkError);
    let deep_unclosed = "<span><b>".repeat(100_000);
    assert_eq!(judge(&deep_unclosed), Kind::Healthy);
    let stray = "</div></p></article>".repeat(50_000);
    assert_eq!(judge(&stray), Kind::Healthy);
    let garbage: String =
        (0..200_000u32).map(|i| char::from_u32((i * 7919) % 0x2FFFF).unwrap_or('<')).collect();
    let _ = judge(&garbage);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let _ = judge(&String::from_utf8_lossy(&bytes));
    for bad_json in [
        "{\"detail\":",
        "{\"detail\": [1,2]}",
        &("[".repeat(10_000) + "{\"detail\":\"x\"}"),
        &("{\"detail\":".repeat(5_000) + "\"x\"" + &"}".repeat(5_000)),
    ] {
        let page = format!("<html><body><pre>{bad_json}</pre></body></html>");
        let _ = judge(&page);
    }
    assert_eq!(judge(""), Kind::Healthy);
    assert_eq!(judge("<<<<>>>>&&&&;;;"), Kind::Healthy);
}

#[test]
fn a_ten_megabyte_page_is_judged() {
    let turn = r#"<article data-testid="conversation-turn-1" data-turn="assistant"><div data-message-author-role="assistant"><div class="markdown prose"><p>Filler text with <code>code</code> &amp; entities &#8217; and an error quote: There was an error generating a response.</p><pre><code>x = 1</code></pre></div></div></article>"#;
    let mut page = String::from("<html><body><main>");
    while page.len() < 10 * 1024 * 1024 {
        page.push_str(turn);
    }
    page.push_str(r#"<article data-testid="conversation-turn-9" data-turn="assistant"><div class="text-token-text-error">Network error</div></article>"#);
    page.push_str("<div id=\"prompt-textarea\"></div></main></body></html>");
    let start = std::time::Instant::now();
    assert_eq!(judge(&page), Kind::NetworkError);
    // Generous even for an unoptimised build; the release figure is far lower.
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}
