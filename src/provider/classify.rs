//! Classifying provider failures: HTTP error answers and error objects found inside streams.
//!
//! The classes follow the failover table: 400 with a context-length message → `ContextLength`,
//! other 400 and 413 → `BadRequest`, 401/403 → `Auth` (Ollama 403 → `OriginNotAllowed`), 404 →
//! `NotFound`, 408 → `Timeout`, 409 → `Conflict`, 429 → `RateLimited` (Anthropic spend or credit
//! limits and OpenAI `insufficient_quota` → `QuotaExhausted`), 500/502/503/504 → `Server`, 529 or
//! an `overloaded_error` → `Overloaded`.

use serde_json::Value;

use super::chat::ProviderKind;
use super::error::{ErrorClass, ProviderError};

/// The longest provider message quoted in our own messages.
const MAX_QUOTE: usize = 300;

/// The telling parts of a provider's error object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ErrorDetails {
    /// The provider's own message.
    pub message: String,
    /// `type` (OpenAI, Anthropic).
    pub kind: Option<String>,
    /// `code` when it is text (OpenAI `context_length_exceeded`).
    pub code: Option<String>,
    /// `code` or `status` when it is a number (OpenRouter, Gemini).
    pub status: Option<u16>,
    /// `status` when it is text (Gemini `RESOURCE_EXHAUSTED`).
    pub status_text: Option<String>,
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn number_of(v: Option<&Value>) -> Option<u16> {
    match v? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Reads the details from any of the shapes providers use: `{"error":{...}}`, `{"error":"..."}`,
/// `{"type":"error","error":{...}}`, `{"code":..,"message":..}`, or a list holding one of those.
pub(crate) fn details_from_value(value: &Value) -> ErrorDetails {
    let value = match value {
        Value::Array(items) => items.first().unwrap_or(value),
        _ => value,
    };
    let inner = match value.get("error") {
        Some(Value::String(s)) => return ErrorDetails { message: s.clone(), ..ErrorDetails::default() },
        Some(obj @ Value::Object(_)) => obj,
        _ => value,
    };
    let mut details = ErrorDetails {
        message: text_of(inner.get("message")).unwrap_or_default(),
        kind: text_of(inner.get("type")).filter(|t| t != "error"),
        code: text_of(inner.get("code")).filter(|c| c.parse::<u16>().is_err()),
        status: number_of(inner.get("code")).or_else(|| number_of(inner.get("status"))),
        status_text: text_of(inner.get("status")).filter(|s| s.parse::<u16>().is_err()),
    };
    if details.message.is_empty() {
        // OpenRouter may put the upstream's words under `metadata.raw`.
        details.message = text_of(inner.get("metadata").and_then(|m| m.get("raw"))).unwrap_or_default();
    }
    details
}

fn contains_any(haystack: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| haystack.contains(n))
}

fn looks_like_context_length(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "context_length_exceeded",
            "context length",
            "context_length",
            "context window",
            "maximum context",
            "prompt is too long",
            "too many tokens",
            "exceeds the maximum number of tokens",
            "input token count",
            "reduce the length",
            "string_above_max_length",
        ],
    )
}

fn looks_like_spent_quota(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "insufficient_quota",
            "spend limit",
            "spending limit",
            "credit balance",
            "insufficient credits",
            "billing",
            "usage limit",
            "out of credits",
        ],
    )
}

/// The class an error object points to, `http_status` being the answer's status when known.
pub(crate) fn class_from_details(details: &ErrorDetails, http_status: Option<u16>) -> ErrorClass {
    let status = http_status.or(details.status);
    let mut probe = details.message.to_ascii_lowercase();
    for extra in [&details.code, &details.kind, &details.status_text].into_iter().flatten() {
        probe.push(' ');
        probe.push_str(&extra.to_ascii_lowercase());
    }
    if matches!(status, None | Some(400 | 413)) && looks_like_context_length(&probe) {
        return ErrorClass::ContextLength;
    }
    if matches!(status, None | Some(400 | 402 | 403 | 429)) && looks_like_spent_quota(&probe) {
        return ErrorClass::QuotaExhausted;
    }
    if contains_any(&probe, &["overloaded_error", "overloaded"]) {
        return ErrorClass::Overloaded;
    }
    let by_code = [&details.code, &details.kind].into_iter().flatten().find_map(|c| class_of_code(c));
    match (status, by_code) {
        (Some(s), Some(c)) if class_for_status(s) == ErrorClass::BadRequest || s == 400 => {
            // A specific code refines a generic 4xx.
            return c;
        }
        (None, Some(c)) => return c,
        _ => {}
    }
    if let Some(s) = status {
        if s == 400 && contains_any(&probe, &["api key not valid", "api_key_invalid", "invalid api key"]) {
            return ErrorClass::Auth;
        }
        return class_for_status(s);
    }
    if let Some(c) = details.status_text.as_deref().and_then(class_of_grpc_status) {
        return c;
    }
    if contains_any(&probe, &["content filter", "content_filter", "content policy", "safety"]) {
        return ErrorClass::ContentFilter;
    }
    if contains_any(&probe, &["not found", "does not exist"]) {
        return ErrorClass::NotFound;
    }
    if contains_any(&probe, &["rate limit", "too many requests"]) {
        return ErrorClass::RateLimited;
    }
    ErrorClass::Server
}

/// The class for an error `code` or `type` string from OpenAI, Anthropic or their copies.
fn class_of_code(code: &str) -> Option<ErrorClass> {
    Some(match code.to_ascii_lowercase().as_str() {
        "context_length_exceeded" | "string_above_max_length" => ErrorClass::ContextLength,
        "insufficient_quota" | "billing_error" | "billing_hard_limit_reached" => ErrorClass::QuotaExhausted,
        "rate_limit_exceeded" | "rate_limit_error" | "tokens" | "requests" => ErrorClass::RateLimited,
        "invalid_api_key"
        | "authentication_error"
        | "permission_error"
        | "permission_denied"
        | "unauthorized" => ErrorClass::Auth,
        "model_not_found" | "not_found_error" | "not_found" => ErrorClass::NotFound,
        "content_filter" | "content_policy_violation" | "moderation" => ErrorClass::ContentFilter,
        "invalid_request_error" | "invalid_prompt" | "request_too_large" | "bad_request" => {
            ErrorClass::BadRequest
        }
        "server_error" | "api_error" | "internal_error" | "internal_server_error" => ErrorClass::Server,
        "overloaded_error" | "overloaded" => ErrorClass::Overloaded,
        "timeout_error" | "timeout" => ErrorClass::Timeout,
        _ => return class_of_grpc_status(code.trim()),
    })
}

/// The class for a Google RPC status name (Gemini's `status`).
fn class_of_grpc_status(status: &str) -> Option<ErrorClass> {
    Some(match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => ErrorClass::BadRequest,
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => ErrorClass::Auth,
        "NOT_FOUND" => ErrorClass::NotFound,
        "RESOURCE_EXHAUSTED" => ErrorClass::RateLimited,
        "ABORTED" | "ALREADY_EXISTS" => ErrorClass::Conflict,
        "DEADLINE_EXCEEDED" => ErrorClass::Timeout,
        "CANCELLED" => ErrorClass::Cancelled,
        "INTERNAL" | "UNAVAILABLE" | "UNKNOWN" | "DATA_LOSS" | "UNIMPLEMENTED" => ErrorClass::Server,
        _ => return None,
    })
}

/// The class an HTTP status alone points to.
pub fn class_for_status(status: u16) -> ErrorClass {
    match status {
        401 | 403 => ErrorClass::Auth,
        402 => ErrorClass::QuotaExhausted,
        404 | 410 => ErrorClass::NotFound,
        408 => ErrorClass::Timeout,
        409 => ErrorClass::Conflict,
        429 => ErrorClass::RateLimited,
        529 => ErrorClass::Overloaded,
        500..=599 => ErrorClass::Server,
        _ => ErrorClass::BadRequest,
    }
}

/// Shortens a provider message for quoting: one line of whitespace, at most [`MAX_QUOTE`] chars.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_QUOTE + 3));
    let mut count = 0;
    for word in text.split_whitespace() {
        if count > 0 {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= MAX_QUOTE {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

fn looks_like_html(body: &str) -> bool {
    let head: String = body.trim_start().chars().take(200).collect::<String>().to_ascii_lowercase();
    head.starts_with('<') || head.contains("<html") || head.contains("<!doctype")
}

/// The `<title>` of an HTML page, if short and present.
fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title = quote(body.get(open_end..close)?);
    (!title.is_empty() && title.len() <= 120).then_some(title)
}

/// Reads `retry-after-ms` (milliseconds) then `retry-after` (seconds; an HTTP date is ignored).
pub fn retry_after_ms(headers: &[(String, String)]) -> Option<u64> {
    let find =
        |name: &str| headers.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let parse_number = |v: &str| -> Option<f64> {
        let n: f64 = v.parse().ok()?;
        (n.is_finite() && n >= 0.0).then_some(n)
    };
    if let Some(ms) = find("retry-after-ms").and_then(parse_number) {
        return Some(ms.min(u64::MAX as f64 / 2.0).round() as u64);
    }
    let secs = find("retry-after").and_then(parse_number)?;
    Some((secs * 1000.0).min(u64::MAX as f64 / 2.0).round() as u64)
}

fn status_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Unauthorized",
        402 => "Payment required",
        403 => "Forbidden",
        404 => "Not found",
        408 => "Request timeout",
        409 => "Conflict",
        413 => "Request too large",
        429 => "Too many requests",
        500 => "Internal server error",
        502 => "Bad gateway",
        503 => "Service unavailable",
        504 => "Gateway timeout",
        529 => "Overloaded",
        _ => "Error",
    }
}

/// Classifies an HTTP error answer (status not 2xx) from a provider of `kind`, with a human,
/// actionable message and the server's requested wait.
pub fn classify_http_error(
    kind: ProviderKind,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> ProviderError {
    let name = kind.display_name();
    let retry_after_ms = retry_after_ms(headers);
    let html = looks_like_html(body);
    let details = if html {
        ErrorDetails::default()
    } else {
        match serde_json::from_str::<Value>(body) {
            Ok(value) => details_from_value(&value),
            Err(_) => ErrorDetails { message: body.trim().to_string(), ..ErrorDetails::default() },
        }
    };
    let mut class = class_from_details(&details, Some(status));
    if kind == ProviderKind::Ollama && status == 403 {
        class = ErrorClass::OriginNotAllowed;
    }
    let said = if html {
        html_title(body).map(|t| format!("an HTML error page titled \"{t}\""))
    } else {
        let q = quote(&details.message);
        (!q.is_empty()).then(|| format!("\"{q}\""))
    };
    let said = said.map(|s| format!(": {s}")).unwrap_or_default();
    let phrase = status_phrase(status);
    let message = match class {
        ErrorClass::OriginNotAllowed => format!(
            "{name} refused the extension's origin (HTTP 403). Start Ollama with the environment variable \
             OLLAMA_ORIGINS=chrome-extension://*,moz-extension://* and restart it."
        ),
        ErrorClass::Auth => format!(
            "{name} rejected the API key (HTTP {status} {phrase}){said}. Check the key in the provider \
             settings."
        ),
        ErrorClass::ContextLength => format!(
            "The conversation is too long for this model's context window{said}. Shorten the history or \
             choose a model with a larger context."
        ),
        ErrorClass::QuotaExhausted => format!(
            "{name} says the account's credit or spending limit is used up (HTTP {status}){said}. Add credit \
             or raise the limit in the provider's console; retrying will not help."
        ),
        ErrorClass::RateLimited => {
            let wait = match retry_after_ms {
                Some(ms) => format!(" It asks to wait {:.1} s.", ms as f64 / 1000.0),
                None => String::new(),
            };
            format!("{name} is rate limiting requests (HTTP 429){said}.{wait}")
        }
        ErrorClass::NotFound => format!(
            "{name} does not know this model or endpoint (HTTP {status}){said}. Check the model name and \
             base URL."
        ),
        ErrorClass::Overloaded => format!("{name} is overloaded (HTTP {status}){said}. Try again shortly."),
        ErrorClass::Server => {
            let from = if html { " (an error page from a proxy such as Cloudflare)" } else { "" };
            format!("{name} had a server error: HTTP {status} {phrase}{from}{said}. Try again shortly.")
        }
        ErrorClass::Timeout => format!("{name} timed out (HTTP {status}){said}."),
        ErrorClass::ContentFilter => format!("{name} refused the request by its content policy{said}."),
        _ => format!("{name} refused the request (HTTP {status} {phrase}){said}."),
    };
    ProviderError { class, message, retry_after_ms }
}
