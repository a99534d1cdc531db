//! Chat turns, provider settings, and building each provider's HTTP request (pure, no I/O).
//!
//! Continuing a partial answer ([`RequestOptions::continue_from`]):
//! - Anthropic: the partial text is sent as the final assistant turn (a "prefill"); the model
//!   continues it directly and the streamed deltas are only the continuation. Trailing whitespace
//!   is trimmed from the prefill because the API rejects it.
//! - OpenAI-compatible, OpenAI Responses, Gemini, Ollama: these APIs do not promise to continue a
//!   final assistant turn, so the partial text is sent as an assistant turn followed by a user
//!   turn asking to continue exactly where it stopped without repeating anything
//!   ([`CONTINUE_INSTRUCTION`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Who wrote a chat turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person asking.
    User,
    /// The model's answer.
    Assistant,
}

impl Role {
    /// The role's name in OpenAI-style message lists.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl ChatMessage {
    /// A turn with `role` and `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI Chat Completions and the many servers that copy it.
    #[serde(alias = "openai_compatible")]
    OpenAiCompatible,
    /// The OpenAI Responses API.
    #[serde(alias = "openai_responses")]
    OpenAiResponses,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini (`streamGenerateContent`).
    Gemini,
    /// A local Ollama server (`/api/chat`).
    Ollama,
    /// Chrome's on-device model (Prompt API); not reached over HTTP.
    #[serde(alias = "chrome_builtin")]
    ChromeBuiltIn,
}

impl ProviderKind {
    /// A human name for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::OpenAiCompatible => "OpenAI-compatible server",
            ProviderKind::OpenAiResponses => "OpenAI",
            ProviderKind::Anthropic => "Anthropic",
            ProviderKind::Gemini => "Gemini",
            ProviderKind::Ollama => "Ollama",
            ProviderKind::ChromeBuiltIn => "Chrome built-in AI",
        }
    }

    /// The base URL used when the settings leave it empty.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenAiCompatible | ProviderKind::OpenAiResponses => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com/v1",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com/v1beta",
            ProviderKind::Ollama => "http://localhost:11434",
            ProviderKind::ChromeBuiltIn => "",
        }
    }
}

/// One provider's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ProviderConfig {
    /// Which API it speaks.
    pub kind: ProviderKind,
    /// Where it is (empty: the kind's default, see [`ProviderKind::default_base_url`]).
    #[serde(default)]
    pub base_url: String,
    /// The model name.
    pub model: String,
    /// The API key, when the provider needs one.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The model's context window in tokens, when known.
    #[serde(default)]
    pub max_context_tokens: Option<u32>,
}

/// Per-request choices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", default)]
pub struct RequestOptions {
    /// Cap on the answer's length in tokens (Anthropic requires one: 4096 when absent).
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature, when set.
    pub temperature: Option<f32>,
    /// A partial answer the model should continue (see the module documentation).
    pub continue_from: Option<String>,
}

/// The user turn that asks a model to continue its cut-off answer.
pub const CONTINUE_INSTRUCTION: &str = "Your previous answer was cut off. Continue it exactly where it \
stopped, without repeating anything already written and without any preamble.";

/// The output-token cap sent to Anthropic when none is given.
pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Anthropic API version header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A ready-to-send HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method (always `POST` here).
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
}

impl HttpRequest {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The provider needs an API key and none is set.
    MissingApiKey(ProviderKind),
    /// The model name is empty or has characters that cannot go in the request.
    InvalidModel(String),
    /// The base URL is not an `http://` or `https://` URL.
    InvalidBaseUrl(String),
    /// There is nothing to send (no user or assistant turn).
    NoMessages,
    /// The provider is not reached over HTTP (Chrome built-in AI).
    NotHttp(ProviderKind),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::MissingApiKey(kind) => {
                write!(f, "{} needs an API key: add one in the provider settings", kind.display_name())
            }
            BuildError::InvalidModel(m) => write!(f, "the model name {m:?} is not valid"),
            BuildError::InvalidBaseUrl(u) => {
                write!(f, "the base URL {u:?} is not valid: it must start with http:// or https://")
            }
            BuildError::NoMessages => f.write_str("there is no message to send"),
            BuildError::NotHttp(kind) => write!(f, "{} is not reached over HTTP", kind.display_name()),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds the streaming request for `config` with `messages`.
pub fn build_request(
    config: &ProviderConfig,
    messages: &[ChatMessage],
    options: &RequestOptions,
) -> Result<HttpRequest, BuildError> {
    let kind = config.kind;
    if kind == ProviderKind::ChromeBuiltIn {
        return Err(BuildError::NotHttp(kind));
    }
    let model = config.model.trim();
    let bad = |c: char| c.is_whitespace() || matches!(c, '?' | '#' | '\\' | '%');
    // Gemini names may come as `models/NAME`; elsewhere slashes are fine (OpenRouter `vendor/model`).
    let checked =
        if kind == ProviderKind::Gemini { model.strip_prefix("models/").unwrap_or(model) } else { model };
    if checked.is_empty() || checked.contains(bad) || (kind == ProviderKind::Gemini && checked.contains('/'))
    {
        return Err(BuildError::InvalidModel(config.model.clone()));
    }
    let base = base_url(config)?;
    let key = config.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let turns = turns_with_continuation(messages, options, kind);
    if !turns.iter().any(|m| m.role != Role::System) {
        return Err(BuildError::NoMessages);
    }
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    let (url, body) = match kind {
        ProviderKind::OpenAiCompatible => {
            if let Some(k) = key {
                headers.push(("authorization".into(), format!("Bearer {k}")));
            }
            headers.push(("accept".into(), "text/event-stream".into()));
            let msgs: Vec<Value> = turns
                .iter()
                .filter(|m| !m.content.is_empty())
                .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                .collect();
            let mut body = Map::new();
            body.insert("model".into(), json!(model));
            body.insert("messages".into(), Value::Array(msgs));
            body.insert("stream".into(), json!(true));
            if let Some(n) = options.max_output_tokens {
                body.insert("max_tokens".into(), json!(n));
            }
            insert_temperature(&mut body, options);
            (format!("{base}/chat/completions"), Value::Object(body))
        }
        ProviderKind::OpenAiResponses => {
            if let Some(k) = key {
                headers.push(("authorization".into(), format!("Bearer {k}")));
            }
            headers.push(("accept".into(), "text/event-stream".into()));
            let instructions = system_text(&turns);
            let input: Vec<Value> = turns
                .iter()
                .filter(|m| m.role != Role::System && !m.content.is_empty())
                .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                .collect();
            let mut body = Map::new();
            body.insert("model".into(), json!(model));
            if !instructions.is_empty() {
                body.insert("instructions".into(), json!(instructions));
            }
            body.insert("input".into(), Value::Array(input));
            body.insert("stream".into(), json!(true));
            if let Some(n) = options.max_output_tokens {
                body.insert("max_output_tokens".into(), json!(n));
            }
            insert_temperature(&mut body, options);
            (format!("{base}/responses"), Value::Object(body))
        }
        ProviderKind::Anthropic => {
            let k = key.ok_or(BuildError::MissingApiKey(kind))?;
            headers.push(("accept".into(), "text/event-stream".into()));
            headers.push(("x-api-key".into(), k.to_string()));
            headers.push(("anthropic-version".into(), ANTHROPIC_VERSION.into()));
            headers.push(("anthropic-dangerous-direct-browser-access".into(), "true".into()));
            let system = system_text(&turns);
            let alternating = alternate(&turns);
            let last = alternating.len().saturating_sub(1);
            let msgs: Vec<Value> = alternating
                .iter()
                .enumerate()
                .map(|(i, (role, text))| {
                    // A final assistant turn is a prefill: the API rejects trailing whitespace there.
                    let text = if i == last && *role == Role::Assistant { text.trim_end() } else { text };
                    json!({"role": role.as_str(), "content": text})
                })
                .collect();
            let mut body = Map::new();
            body.insert("model".into(), json!(model));
            body.insert(
                "max_tokens".into(),
                json!(options.max_output_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS)),
            );
            if !system.is_empty() {
                body.insert("system".into(), json!(system));
            }
            body.insert("messages".into(), Value::Array(msgs));
            body.insert("stream".into(), json!(true));
            insert_temperature(&mut body, options);
            let url = if base.ends_with("/v1") {
                format!("{base}/messages")
            } else {
                format!("{base}/v1/messages")
            };
            (url, Value::Object(body))
        }
        ProviderKind::Gemini => {
            let k = key.ok_or(BuildError::MissingApiKey(kind))?;
            headers.push(("accept".into(), "text/event-stream".into()));
            headers.push(("x-goog-api-key".into(), k.to_string()));
            let system = system_text(&turns);
            let contents: Vec<Value> = alternate(&turns)
                .iter()
                .map(|(role, text)| {
                    let role = if *role == Role::Assistant { "model" } else { "user" };
                    json!({"role": role, "parts": [{"text": text}]})
                })
                .collect();
            let mut body = Map::new();
            if !system.is_empty() {
                body.insert("systemInstruction".into(), json!({"parts": [{"text": system}]}));
            }
            body.insert("contents".into(), Value::Array(contents));
            let mut generation = Map::new();
            if let Some(n) = options.max_output_tokens {
                generation.insert("maxOutputTokens".into(), json!(n));
            }
            if let Some(t) = options.temperature.filter(|t| t.is_finite()) {
                generation.insert("temperature".into(), json!(t));
            }
            if !generation.is_empty() {
                body.insert("generationConfig".into(), Value::Object(generation));
            }
            let bare = model.strip_prefix("models/").unwrap_or(model);
            (format!("{base}/models/{bare}:streamGenerateContent?alt=sse"), Value::Object(body))
        }
        ProviderKind::Ollama => {
            if let Some(k) = key {
                headers.push(("authorization".into(), format!("Bearer {k}")));
            }
            headers.push(("accept".into(), "application/x-ndjson".into()));
            let msgs: Vec<Value> = turns
                .iter()
                .filter(|m| !m.content.is_empty())
                .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                .collect();
            let mut body = Map::new();
            body.insert("model".into(), json!(model));
            body.insert("messages".into(), Value::Array(msgs));
            body.insert("stream".into(), json!(true));
            let mut opts = Map::new();
            if let Some(n) = options.max_output_tokens {
                opts.insert("num_predict".into(), json!(n));
            }
            if let Some(t) = options.temperature.filter(|t| t.is_finite()) {
                opts.insert("temperature".into(), json!(t));
            }
            if !opts.is_empty() {
                body.insert("options".into(), Value::Object(opts));
            }
            let base = base.strip_suffix("/api").unwrap_or(&base);
            (format!("{base}/api/chat"), Value::Object(body))
        }
        ProviderKind::ChromeBuiltIn => return Err(BuildError::NotHttp(kind)),
    };
    Ok(HttpRequest { method: "POST".into(), url, headers, body: body.to_string() })
}

fn insert_temperature(body: &mut Map<String, Value>, options: &RequestOptions) {
    if let Some(t) = options.temperature.filter(|t| t.is_finite()) {
        body.insert("temperature".into(), json!(t));
    }
}

fn base_url(config: &ProviderConfig) -> Result<String, BuildError> {
    let raw = config.base_url.trim();
    let raw = if raw.is_empty() { config.kind.default_base_url() } else { raw };
    let lower = raw.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') && !raw.contains(char::is_whitespace) => {
            Ok(raw.trim_end_matches('/').to_string())
        }
        _ => Err(BuildError::InvalidBaseUrl(config.base_url.clone())),
    }
}

/// The messages to send: the conversation plus the continuation turns, if asked.
fn turns_with_continuation(
    messages: &[ChatMessage],
    options: &RequestOptions,
    kind: ProviderKind,
) -> Vec<ChatMessage> {
    let mut turns = messages.to_vec();
    if let Some(partial) = options.continue_from.as_deref().filter(|p| !p.trim().is_empty()) {
        turns.push(ChatMessage::new(Role::Assistant, partial));
        if kind != ProviderKind::Anthropic {
            turns.push(ChatMessage::new(Role::User, CONTINUE_INSTRUCTION));
        }
    }
    turns
}

/// All system turns joined by blank lines.
fn system_text(turns: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in turns.iter().filter(|m| m.role == Role::System && !m.content.trim().is_empty()) {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&m.content);
    }
    out
}

/// Non-system turns with consecutive same-role turns merged (blank line between), empty turns
/// dropped, and a first turn that is the user's (a short user turn is put first if needed), as
/// Anthropic and Gemini demand.
fn alternate(turns: &[ChatMessage]) -> Vec<(Role, String)> {
    let mut out: Vec<(Role, String)> = Vec::new();
    for m in turns.iter().filter(|m| m.role != Role::System && !m.content.trim().is_empty()) {
        match out.last_mut() {
            Some((role, text)) if *role == m.role => {
                text.push_str("\n\n");
                text.push_str(&m.content);
            }
            _ => out.push((m.role, m.content.clone())),
        }
    }
    if out.first().is_some_and(|(role, _)| *role == Role::Assistant) {
        out.insert(0, (Role::User, "Continue the conversation.".to_string()));
    }
    out
}

/// A cheap token estimate: about four characters a token, plus a few for each turn's framing.
pub fn estimate_tokens(message: &ChatMessage) -> u32 {
    let chars = message.content.chars().count();
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX).saturating_add(4)
}

/// Keeps the system turns and as many of the newest turns as fit in `max_tokens` (estimated with
/// [`estimate_tokens`]). The newest non-system turn is always kept. Returns the kept turns in their
/// order and, when turns were dropped, a note saying how many.
pub fn fit_to_context(messages: &[ChatMessage], max_tokens: u32) -> (Vec<ChatMessage>, Option<String>) {
    let mut budget = max_tokens;
    for m in messages.iter().filter(|m| m.role == Role::System) {
        budget = budget.saturating_sub(estimate_tokens(m));
    }
    let others: Vec<usize> =
        messages.iter().enumerate().filter(|(_, m)| m.role != Role::System).map(|(i, _)| i).collect();
    let mut first_kept = others.len();
    for (n, &i) in others.iter().enumerate().rev() {
        let cost = estimate_tokens(&messages[i]);
        if cost > budget && n + 1 != others.len() {
            break;
        }
        budget = budget.saturating_sub(cost);
        first_kept = n;
    }
    // Do not start the kept history with an orphan answer.
    while first_kept + 1 < others.len() && messages[others[first_kept]].role == Role::Assistant {
        first_kept += 1;
    }
    let dropped = first_kept;
    let from = others.get(first_kept).copied().unwrap_or(messages.len());
    let kept: Vec<ChatMessage> = messages
        .iter()
        .enumerate()
        .filter(|(i, m)| m.role == Role::System || *i >= from)
        .map(|(_, m)| m.clone())
        .collect();
    let note = (dropped > 0).then(|| {
        let s = if dropped == 1 { "" } else { "s" };
        format!(
            "{dropped} older turn{s} left out so the conversation fits the model's context \
             (about {max_tokens} tokens)"
        )
    });
    (kept, note)
}
