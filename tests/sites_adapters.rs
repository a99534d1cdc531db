//! Every site's adapter (`src/detect/rules/<site>.json`): it loads and validates, its hosts are
//! the ones the URL recognition knows, its phrases give the reference's texts their kind, and a
//! saved page of the site is judged with it: the error shown under the latest answer raises,
//! the user quoting that text in their own turn and an old error upstream do not.

use understudy::detect::rules::{Frames, Transport, WireFormat};
use understudy::detect::{FeedFormat, Kind, Observation, Rules, classify, extract_html};
use understudy::site::{Site, site_for_url};

/// 2026-11-25 10:00:00 UTC.
const NOW: u64 = 1_795_600_800_000;

#[test]
fn every_adapter_loads_and_matches_its_site() {
    for site in Site::ALL {
        let source = Rules::builtin_source(site.id()).unwrap();
        let rules = Rules::from_json(source).unwrap_or_else(|e| panic!("{site:?}: {e}"));
        assert_eq!(rules.site, site.id());
        let mut hosts: Vec<&str> = site.hosts().collect();
        let mut theirs: Vec<&str> = rules.hosts.iter().map(String::as_str).collect();
        hosts.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(hosts, theirs, "{site:?}");
        for host in &rules.hosts {
            assert_eq!(site_for_url(&format!("https://{host}/")), Some(site));
        }
        assert!(!rules.endpoints.is_empty(), "{site:?} has no endpoints");
        assert!(!rules.texts.is_empty(), "{site:?} has no phrases");
        // The built-in copy is the parsed file, not the empty fallback.
        assert_eq!(Rules::builtin(site).texts, rules.texts);
        assert!(rules.adapter_json().contains(&format!("\"site\":\"{}\"", site.id())));
    }
}

#[test]
fn each_site_says_how_its_answers_travel_and_where_its_status_is() {
    let check = |site: Site, transport, format, frames, feed: Option<FeedFormat>| {
        let rules = Rules::builtin(site);
        let stream = rules.stream.unwrap_or_else(|| panic!("{site:?} has no stream rule"));
        assert_eq!((stream.transport, stream.format, stream.frames), (transport, format, frames), "{site:?}");
        assert_eq!(rules.status.as_ref().map(|s| s.format), feed, "{site:?}");
    };
    use {FeedFormat as F, Frames as R, Transport as T, WireFormat as W};
    check(Site::Claude, T::Fetch, W::ClaudeSse, R::Append, Some(F::Atom));
    check(Site::Gemini, T::Xhr, W::GeminiFrames, R::Snapshot, Some(F::GoogleIncidents));
    check(Site::Deepseek, T::Fetch, W::DeepseekSse, R::Append, Some(F::Atom));
    check(Site::Grok, T::Fetch, W::GrokNdjson, R::Append, Some(F::Rss));
    check(Site::Perplexity, T::Fetch, W::PerplexitySse, R::Snapshot, Some(F::Atom));
    check(Site::Copilot, T::Websocket, W::CopilotSocket, R::Append, None);
    check(Site::Mistral, T::Fetch, W::MistralLines, R::Append, None);
    assert_eq!(Rules::builtin(Site::Gemini).status.as_ref().unwrap().product, "Gemini");
    // ChatGPT's adapter JSON is what it was: no new keys for the page scripts.
    let chatgpt = Rules::builtin(Site::Chatgpt).adapter_json();
    assert!(!chatgpt.contains("\"stream\"") && !chatgpt.contains("\"status\""));
}

#[test]
fn bad_site_data_is_refused() {
    let base: serde_json::Value = serde_json::from_str(Rules::builtin_source("claude").unwrap()).unwrap();
    let check = |edit: &dyn Fn(&mut serde_json::Value), says: &str| {
        let mut v = base.clone();
        edit(&mut v);
        let e = Rules::from_json(&v.to_string()).expect_err(says).to_string();
        assert!(e.contains(says), "{e}");
    };
    check(&|v| v["site"] = "bard".into(), "unknown site");
    check(&|v| v["hosts"] = serde_json::json!(["claude.ai/x"]), "bare host");
    check(&|v| v["stream"] = serde_json::Value::Null, "no stream rule");
    check(&|v| v["stream"]["format"] = "morse".into(), "unknown variant");
    check(&|v| v["status"]["url"] = "http://status.claude.com/history.atom".into(), "https");
    check(&|v| v["endpoints"][0]["path"] = "api/x".into(), "must start with /");
    check(&|v| v["codes"][0]["code"] = " ".into(), "empty code");
}

#[test]
fn the_reference_texts_have_their_kind() {
    let check = |site: Site, text: &str, kind: Option<Kind>| {
        assert_eq!(Rules::builtin(site).match_text(text).map(|m| m.kind), kind, "{site:?}: {text}");
    };
    use Kind::*;
    let c = Site::Claude;
    check(
        c,
        "Due to unexpected capacity constraints, Claude is unable to respond to your message. Please try again soon.",
        Some(Capacity),
    );
    check(c, "Claude’s response was interrupted. Try again", Some(NetworkError));
    check(c, "Claude's response was interrupted.", Some(NetworkError));
    check(c, "5-hour limit reached - resets 3:00 PM", Some(RateLimited));
    check(c, "Approaching 5-hour limit.", Some(Healthy));
    check(Site::Gemini, "Something went wrong (13)", Some(RateLimited));
    check(Site::Gemini, "Something went wrong. Try again.", Some(GenerationError));
    check(Site::Deepseek, "服务器繁忙，请稍后再试。", Some(Capacity));
    check(Site::Deepseek, "The server is busy. Please try again later.", Some(Capacity));
    check(Site::Grok, "Request rejected by anti-bot rules.", Some(Blocked));
    check(Site::Perplexity, "Too many requests", Some(RateLimited));
    check(Site::Copilot, "Something went wrong.", Some(GenerationError));
    check(Site::Mistral, "Rate limit exceeded", Some(RateLimited));
    for site in Site::ALL {
        check(site, "Here is your answer about gardening.", None);
    }
    // Codes, by the adapters.
    let code = |site: Site, code: &str| Rules::builtin(site).match_code(code);
    assert_eq!(code(Site::Claude, "exceeded_limit"), Some(RateLimited));
    assert_eq!(code(Site::Gemini, "1037"), Some(RateLimited));
    assert_eq!(code(Site::Gemini, "1013"), Some(GenerationError));
    assert_eq!(code(Site::Gemini, "1060"), Some(Blocked));
    assert_eq!(code(Site::Gemini, "1096"), Some(Healthy));
    assert_eq!(code(Site::Grok, "7"), Some(Blocked));
}

/// One site's markup: a user turn, an answer turn, an error box and the composer.
struct Markup {
    user: &'static str,
    answer: &'static str,
    error: &'static str,
    composer: &'static str,
}

fn markup(site: Site) -> Markup {
    match site {
        Site::Claude => Markup {
            user: r#"<div data-test-render-count="1"><div data-testid="user-message">{}</div></div>"#,
            answer: r#"<div data-test-render-count="1"><div class="font-claude-response" data-is-streaming="false">{}</div></div>"#,
            error: r#"<div data-testid="message-error">{}</div>"#,
            composer: r#"<div class="ProseMirror" role="textbox" contenteditable="true"></div>"#,
        },
        Site::Gemini => Markup {
            user: r#"<user-query><div class="query-text">{}</div></user-query>"#,
            answer: r#"<model-response><message-content>{}</message-content></model-response>"#,
            error: r#"<div class="error-message">{}</div>"#,
            composer: r#"<rich-textarea><div class="ql-editor" contenteditable="true"></div></rich-textarea>"#,
        },
        Site::Deepseek => Markup {
            user: r#"<div class="ds-message"><div class="fbb737a4">{}</div></div>"#,
            answer: r#"<div class="ds-message"><div class="ds-markdown">{}</div></div>"#,
            error: r#"<div class="ds-error-box">{}</div>"#,
            composer: r#"<textarea id="chat-input"></textarea>"#,
        },
        Site::Grok => Markup {
            user: r#"<div id="response-u1"><div class="message-bubble">{}</div></div>"#,
            answer: r#"<div id="response-a1"><div class="response-content-markdown">{}</div></div>"#,
            error: r#"<div data-testid="chat-error">{}</div>"#,
            composer: r#"<textarea aria-label="Ask Grok anything"></textarea>"#,
        },
        Site::Perplexity => Markup {
            user: r#"<div class="group/query"><h1>{}</h1></div>"#,
            answer: r#"<div id="markdown-content-0">{}</div>"#,
            error: r#"<div data-testid="answer-error">{}</div>"#,
            composer: r#"<textarea id="ask-input"></textarea>"#,
        },
        Site::Copilot => Markup {
            user: r#"<div data-content="user-message">{}</div>"#,
            answer: r#"<div data-content="ai-message">{}</div>"#,
            error: r#"<div data-testid="message-error">{}</div>"#,
            composer: r#"<textarea id="userInput"></textarea>"#,
        },
        Site::Mistral | Site::Chatgpt => Markup {
            user: r#"<div data-message-author-role="user"><p>{}</p></div>"#,
            answer: r#"<div data-message-author-role="assistant"><div data-message-part-type="answer">{}</div></div>"#,
            error: r#"<div data-testid="message-error">{}</div>"#,
            composer: r#"<textarea></textarea>"#,
        },
    }
}

fn judge(site: Site, body: &str) -> Kind {
    let rules = Rules::builtin(site);
    let html = format!("<html><body><main>{body}</main></body></html>");
    classify(&Observation::Dom(extract_html(&html, rules)), rules, NOW).kind
}

#[test]
fn saved_pages_are_judged_with_their_site_adapter_and_traps_do_not_raise() {
    let cases = [
        (
            Site::Claude,
            "Due to unexpected capacity constraints, Claude is unable to respond to your message. Please try again soon.",
            Kind::Capacity,
        ),
        (Site::Claude, "Claude’s response was interrupted.", Kind::NetworkError),
        (Site::Gemini, "Something went wrong (13)", Kind::RateLimited),
        (Site::Deepseek, "服务器繁忙，请稍后再试。", Kind::Capacity),
        (Site::Grok, "Request rejected by anti-bot rules.", Kind::Blocked),
        (Site::Perplexity, "Too many requests", Kind::RateLimited),
        (Site::Copilot, "Something went wrong. Please try again.", Kind::GenerationError),
        (Site::Mistral, "Rate limit exceeded", Kind::RateLimited),
    ];
    for (site, text, kind) in cases {
        let m = markup(site);
        let fill = |template: &str, text: &str| template.replace("{}", text);
        let user = |t: &str| fill(m.user, t);
        let answer = |t: &str| fill(m.answer, t);
        let error = fill(m.error, text);
        // The error under the latest answer.
        let page = format!("{}{}{error}{}", user("Hello?"), answer("Par"), m.composer);
        assert_eq!(judge(site, &page), kind, "{site:?}: {text}");
        // Trap: the user quotes the error in their own turn, and the answer is there.
        let page =
            format!("{}{}{}", user(text), answer("That message means the site had a problem."), m.composer);
        assert_eq!(judge(site, &page), Kind::Healthy, "{site:?} quoted: {text}");
        // Trap: the answer quotes it.
        let page = format!("{}{}{}", user("What does it mean?"), answer(text), m.composer);
        assert_eq!(judge(site, &page), Kind::Healthy, "{site:?} answer quotes: {text}");
        // Trap: an old error upstream, then a healthy turn.
        let page = format!(
            "{}{}{error}{}{}{}",
            user("Hello?"),
            answer("Par"),
            user("Again?"),
            answer("Here it is."),
            m.composer
        );
        assert_eq!(judge(site, &page), Kind::Healthy, "{site:?} old error: {text}");
    }
}

/// How a site's stream ended, judged as the worker judges a turn: the kind the site's adapter
/// gave, and the limit's reset from the stream (Claude's `resetsAt`).
#[test]
fn a_sites_decoded_turn_is_judged_with_its_adapter() {
    use understudy::page::sites::decode_stream;
    let judge_turn = |site: Site, bytes: &[u8], now: u64| {
        let turn = decode_stream(site, bytes, 7).unwrap();
        let obs = serde_json::json!({
            "type": "turn",
            "end": turn.end.map_or("truncated", |e| e.as_str()),
            "error": turn.error,
        });
        let obs = Observation::from_json(&obs.to_string()).unwrap();
        let d = classify(&obs, Rules::builtin(site), now);
        (d.kind, d.retry_after_s)
    };
    let reset_ms = 1_760_000_000_000u64;
    let limited = std::fs::read(format!(
        "{}/tests/fixtures/sites/claude/limit-exceeded.sse",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(judge_turn(Site::Claude, &limited, reset_ms - 90_500), (Kind::RateLimited, Some(91)));
    assert_eq!(judge_turn(Site::Claude, &limited, reset_ms + 1), (Kind::RateLimited, Some(0)));
    let cases: [(Site, &str, Kind); 4] = [
        (Site::Gemini, "usage-limit-1037.txt", Kind::RateLimited),
        (Site::Gemini, "ip-blocked-1060.txt", Kind::Blocked),
        (Site::Deepseek, "server-busy-hint.sse", Kind::Capacity),
        (Site::Copilot, "unknown-error.frames", Kind::UnknownError),
    ];
    for (site, name, kind) in cases {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/sites/{}/{name}",
            env!("CARGO_MANIFEST_DIR"),
            site.id()
        ))
        .unwrap();
        assert_eq!(judge_turn(site, &bytes, NOW).0, kind, "{site:?} {name}");
    }
    let healthy =
        std::fs::read(format!("{}/tests/fixtures/sites/grok/healthy.ndjson", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    assert_eq!(judge_turn(Site::Grok, &healthy, NOW), (Kind::Healthy, None));
}
