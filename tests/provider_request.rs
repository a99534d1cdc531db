//! Building each provider's streaming request, and fitting a conversation to a context window.

use serde_json::{Value, json};
use understudy::provider::chat::{CONTINUE_INSTRUCTION, estimate_tokens};
use understudy::provider::{
    BuildError, ChatMessage, HttpRequest, ProviderConfig, ProviderKind, RequestOptions, Role, build_request,
    fit_to_context,
};

fn config(kind: ProviderKind, base_url: &str, model: &str, key: Option<&str>) -> ProviderConfig {
    ProviderConfig {
        kind,
        base_url: base_url.to_string(),
        model: model.to_string(),
        api_key: key.map(str::to_string),
        max_context_tokens: None,
    }
}

fn msg(role: Role, text: &str) -> ChatMessage {
    ChatMessage::new(role, text)
}

fn conversation() -> Vec<ChatMessage> {
    vec![
        msg(Role::System, "Be brief."),
        msg(Role::User, "Hi"),
        msg(Role::User, "Are you there?"),
        msg(Role::Assistant, "Yes."),
        msg(Role::User, "Tell me a joke"),
    ]
}

/// Builds the request and checks its URL, the listed headers, and its body as JSON.
fn check(
    cfg: &ProviderConfig,
    msgs: &[ChatMessage],
    opts: &RequestOptions,
    url: &str,
    headers: &[(&str, &str)],
    body: Value,
) {
    let req: HttpRequest = build_request(cfg, msgs, opts).expect("builds");
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, url);
    for (name, value) in headers {
        assert_eq!(req.header(name), Some(*value), "header {name}");
    }
    let got: Value = serde_json::from_str(&req.body).expect("json body");
    assert_eq!(got, body);
}

#[test]
fn openai_compatible() {
    check(
        &config(
            ProviderKind::OpenAiCompatible,
            "https://openrouter.ai/api/v1/",
            "meta-llama/llama-3.3-70b",
            Some("sk-or"),
        ),
        &conversation(),
        &RequestOptions { max_output_tokens: Some(500), ..Default::default() },
        "https://openrouter.ai/api/v1/chat/completions",
        &[
            ("authorization", "Bearer sk-or"),
            ("content-type", "application/json"),
            ("accept", "text/event-stream"),
        ],
        json!({
            "model": "meta-llama/llama-3.3-70b",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "user", "content": "Are you there?"},
                {"role": "assistant", "content": "Yes."},
                {"role": "user", "content": "Tell me a joke"}
            ],
            "stream": true,
            "max_tokens": 500
        }),
    );
}

#[test]
fn openai_compatible_local_server_without_key_and_default_base() {
    let req = build_request(
        &config(ProviderKind::OpenAiCompatible, "http://localhost:1234/v1", "local", None),
        &[msg(Role::User, "x")],
        &RequestOptions::default(),
    )
    .expect("builds");
    assert_eq!(req.header("authorization"), None);
    let req = build_request(
        &config(ProviderKind::OpenAiCompatible, "", "gpt-4o-mini", Some("k")),
        &[msg(Role::User, "x")],
        &RequestOptions::default(),
    )
    .expect("builds");
    assert_eq!(req.url, "https://api.openai.com/v1/chat/completions");
}

#[test]
fn openai_responses() {
    check(
        &config(ProviderKind::OpenAiResponses, "", "gpt-4.1", Some("sk")),
        &conversation(),
        &RequestOptions { max_output_tokens: Some(64), ..Default::default() },
        "https://api.openai.com/v1/responses",
        &[("authorization", "Bearer sk")],
        json!({
            "model": "gpt-4.1",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": "Hi"},
                {"role": "user", "content": "Are you there?"},
                {"role": "assistant", "content": "Yes."},
                {"role": "user", "content": "Tell me a joke"}
            ],
            "stream": true,
            "max_output_tokens": 64
        }),
    );
}

#[test]
fn anthropic_system_top_level_merged_turns_and_browser_header() {
    check(
        &config(ProviderKind::Anthropic, "", "claude-sonnet-4-5", Some("sk-ant")),
        &conversation(),
        &RequestOptions::default(),
        "https://api.anthropic.com/v1/messages",
        &[
            ("x-api-key", "sk-ant"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-dangerous-direct-browser-access", "true"),
            ("content-type", "application/json"),
        ],
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "Hi\n\nAre you there?"},
                {"role": "assistant", "content": "Yes."},
                {"role": "user", "content": "Tell me a joke"}
            ],
            "stream": true
        }),
    );
}

#[test]
fn anthropic_base_without_v1_and_leading_assistant_turn() {
    check(
        &config(ProviderKind::Anthropic, "https://proxy.example/anthropic", "claude", Some("k")),
        &[msg(Role::Assistant, "Hello, how can I help?"), msg(Role::User, "Hi")],
        &RequestOptions { max_output_tokens: Some(100), temperature: Some(0.5), continue_from: None },
        "https://proxy.example/anthropic/v1/messages",
        &[],
        json!({
            "model": "claude",
            "max_tokens": 100,
            "messages": [
                {"role": "user", "content": "Continue the conversation."},
                {"role": "assistant", "content": "Hello, how can I help?"},
                {"role": "user", "content": "Hi"}
            ],
            "stream": true,
            "temperature": 0.5
        }),
    );
}

#[test]
fn anthropic_continues_by_prefill_without_trailing_space() {
    check(
        &config(ProviderKind::Anthropic, "", "claude", Some("k")),
        &[msg(Role::User, "Write a poem")],
        &RequestOptions { continue_from: Some("Roses are red, \n".into()), ..Default::default() },
        "https://api.anthropic.com/v1/messages",
        &[],
        json!({
            "model": "claude",
            "max_tokens": 4096,
            "messages": [
                {"role": "user", "content": "Write a poem"},
                {"role": "assistant", "content": "Roses are red,"}
            ],
            "stream": true
        }),
    );
}

#[test]
fn gemini_system_instruction_model_role_alt_sse_and_key_header() {
    check(
        &config(ProviderKind::Gemini, "", "models/gemini-2.5-flash", Some("AIza")),
        &conversation(),
        &RequestOptions { max_output_tokens: Some(256), ..Default::default() },
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        &[("x-goog-api-key", "AIza")],
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Hi\n\nAre you there?"}]},
                {"role": "model", "parts": [{"text": "Yes."}]},
                {"role": "user", "parts": [{"text": "Tell me a joke"}]}
            ],
            "generationConfig": {"maxOutputTokens": 256}
        }),
    );
}

#[test]
fn gemini_continues_by_instruction() {
    check(
        &config(ProviderKind::Gemini, "", "gemini-2.5-flash", Some("k")),
        &[msg(Role::User, "Count")],
        &RequestOptions { continue_from: Some("1, 2,".into()), ..Default::default() },
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        &[],
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "Count"}]},
                {"role": "model", "parts": [{"text": "1, 2,"}]},
                {"role": "user", "parts": [{"text": CONTINUE_INSTRUCTION}]}
            ]
        }),
    );
}

#[test]
fn ollama_api_chat_stream_true() {
    check(
        &config(ProviderKind::Ollama, "http://localhost:11434/", "llama3.2", None),
        &[msg(Role::System, "S"), msg(Role::User, "Hi")],
        &RequestOptions { max_output_tokens: Some(10), ..Default::default() },
        "http://localhost:11434/api/chat",
        &[("content-type", "application/json")],
        json!({
            "model": "llama3.2",
            "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}],
            "stream": true,
            "options": {"num_predict": 10}
        }),
    );
}

#[test]
fn openai_continues_by_assistant_turn_and_instruction() {
    check(
        &config(ProviderKind::OpenAiCompatible, "", "gpt-4o", Some("k")),
        &[msg(Role::User, "Explain")],
        &RequestOptions { continue_from: Some("First,".into()), ..Default::default() },
        "https://api.openai.com/v1/chat/completions",
        &[],
        json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": "Explain"},
                {"role": "assistant", "content": "First,"},
                {"role": "user", "content": CONTINUE_INSTRUCTION}
            ],
            "stream": true
        }),
    );
}

#[test]
fn build_errors() {
    let user = [msg(Role::User, "x")];
    let none = RequestOptions::default();
    let system_only = [msg(Role::System, "only")];
    let cases: Vec<(ProviderConfig, &[ChatMessage], BuildError)> = vec![
        (
            config(ProviderKind::Anthropic, "", "claude", None),
            &user,
            BuildError::MissingApiKey(ProviderKind::Anthropic),
        ),
        (
            config(ProviderKind::Gemini, "", "gemini", Some("  ")),
            &user,
            BuildError::MissingApiKey(ProviderKind::Gemini),
        ),
        (
            config(ProviderKind::OpenAiCompatible, "ftp://x", "m", None),
            &user,
            BuildError::InvalidBaseUrl("ftp://x".into()),
        ),
        (
            config(ProviderKind::OpenAiCompatible, "https://", "m", None),
            &user,
            BuildError::InvalidBaseUrl("https://".into()),
        ),
        (config(ProviderKind::OpenAiCompatible, "", " ", None), &user, BuildError::InvalidModel(" ".into())),
        (config(ProviderKind::Gemini, "", "a/b", Some("k")), &user, BuildError::InvalidModel("a/b".into())),
        (
            config(ProviderKind::Gemini, "", "x?alt=json", Some("k")),
            &user,
            BuildError::InvalidModel("x?alt=json".into()),
        ),
        (config(ProviderKind::Ollama, "", "m", None), &[], BuildError::NoMessages),
        (config(ProviderKind::Ollama, "", "m", None), &system_only, BuildError::NoMessages),
        (
            config(ProviderKind::ChromeBuiltIn, "", "nano", None),
            &user,
            BuildError::NotHttp(ProviderKind::ChromeBuiltIn),
        ),
    ];
    for (cfg, msgs, want) in cases {
        let got = build_request(&cfg, msgs, &none);
        assert_eq!(got, Err(want.clone()), "{cfg:?}");
        assert!(!want.to_string().is_empty());
    }
    assert!(BuildError::MissingApiKey(ProviderKind::Anthropic).to_string().contains("API key"));
}

#[test]
fn config_serde_snake_case() {
    let cfg: ProviderConfig = serde_json::from_value(json!({
        "kind": "open_ai_compatible", "base_url": "https://x/v1", "model": "m", "api_key": "k", "max_context_tokens": 8192
    }))
    .expect("reads");
    assert_eq!(cfg.kind, ProviderKind::OpenAiCompatible);
    assert_eq!(cfg.max_context_tokens, Some(8192));
    let alias: ProviderConfig =
        serde_json::from_value(json!({"kind": "openai_compatible", "model": "m"})).expect("alias");
    assert_eq!(
        (alias.kind, alias.base_url.as_str(), alias.api_key),
        (ProviderKind::OpenAiCompatible, "", None)
    );
    let out = serde_json::to_value(config(ProviderKind::ChromeBuiltIn, "", "nano", None)).expect("writes");
    assert_eq!(out["kind"], "chrome_built_in");
    assert_eq!(serde_json::to_value(Role::Assistant).expect("role"), json!("assistant"));
}

// ---- fit_to_context ----

fn long(role: Role, chars: usize) -> ChatMessage {
    msg(role, &"x".repeat(chars))
}

#[test]
fn fit_keeps_everything_that_fits() {
    let msgs = conversation();
    let (kept, note) = fit_to_context(&msgs, 10_000);
    assert_eq!(kept, msgs);
    assert_eq!(note, None);
}

#[test]
fn fit_drops_oldest_turns_and_keeps_system() {
    // Each 400-char turn is about 104 tokens; the system turn 29.
    let msgs = vec![
        long(Role::System, 100),
        long(Role::User, 400),
        long(Role::Assistant, 400),
        long(Role::User, 400),
        long(Role::Assistant, 400),
        msg(Role::User, "newest"),
    ];
    let (kept, note) = fit_to_context(&msgs, 29 + 104 * 2 + 6);
    assert_eq!(kept.len(), 4, "{kept:?}");
    assert_eq!(kept[0], msgs[0]);
    assert_eq!(&kept[1..], &msgs[3..]);
    let note = note.expect("a note");
    assert!(note.starts_with("2 older turns left out"), "{note}");
}

#[test]
fn fit_never_starts_history_with_an_orphan_answer() {
    let msgs = vec![long(Role::User, 400), long(Role::Assistant, 40), msg(Role::User, "q")];
    let (kept, note) = fit_to_context(&msgs, 30);
    assert_eq!(kept, vec![msg(Role::User, "q")]);
    assert!(note.expect("note").starts_with("2 older turns"));
}

#[test]
fn fit_always_keeps_the_newest_turn() {
    let msgs = vec![long(Role::User, 40), long(Role::User, 4000)];
    let (kept, note) = fit_to_context(&msgs, 10);
    assert_eq!(kept, vec![msgs[1].clone()]);
    assert_eq!(
        note.as_deref(),
        Some("1 older turn left out so the conversation fits the model's context (about 10 tokens)")
    );
}

#[test]
fn token_estimate_is_about_four_chars() {
    assert_eq!(estimate_tokens(&msg(Role::User, "")), 4);
    assert_eq!(estimate_tokens(&msg(Role::User, "abcd")), 5);
    assert_eq!(estimate_tokens(&msg(Role::User, "日本語の")), 5, "counts characters, not bytes");
}
