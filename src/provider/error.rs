//! The classes of provider failure, shared by the decoders and the router.

use serde::{Deserialize, Serialize};

/// What kind of failure a provider reported; decides retry, fallback and circuit breaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 400 or 413: the request itself is wrong; fail fast and show the provider's message.
    BadRequest,
    /// 400 for a conversation longer than the model's context window: trim or use a larger model.
    ContextLength,
    /// 401 or 403: the key is wrong or lacks rights; the provider is misconfigured.
    Auth,
    /// 403 from a local server that refuses the extension's origin (Ollama without `OLLAMA_ORIGINS`).
    OriginNotAllowed,
    /// The provider refused by policy (content filter, moderation).
    ContentFilter,
    /// 404: the model or endpoint does not exist.
    NotFound,
    /// 408, no first byte in time, or a stream that stalled.
    Timeout,
    /// 409: a conflict that a retry resolves.
    Conflict,
    /// 429: rate limited; may carry a retry time.
    RateLimited,
    /// 429 for a spent budget or quota: never retried.
    QuotaExhausted,
    /// 500, 502, 503, 504: the provider's server failed.
    Server,
    /// 529 or an `overloaded_error`: the provider is overloaded.
    Overloaded,
    /// The connection failed or dropped (refused, reset, DNS).
    Network,
    /// The answer could not be understood (malformed stream, unexpected body).
    Malformed,
    /// The user stopped the request.
    Cancelled,
}

// Read by name (one shared reader, see `protocol::unit_variant`).
crate::protocol::deserialize_by_name!(ErrorClass { BadRequest = "bad_request", ContextLength = "context_length", Auth = "auth", OriginNotAllowed = "origin_not_allowed", ContentFilter = "content_filter", NotFound = "not_found", Timeout = "timeout", Conflict = "conflict", RateLimited = "rate_limited", QuotaExhausted = "quota_exhausted", Server = "server", Overloaded = "overloaded", Network = "network", Malformed = "malformed", Cancelled = "cancelled" });

impl ErrorClass {
    /// Whether retrying the same provider may help (after the backoff or the server's retry time).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Timeout
                | ErrorClass::Conflict
                | ErrorClass::RateLimited
                | ErrorClass::Server
                | ErrorClass::Overloaded
                | ErrorClass::Network
        )
    }

    /// Whether the failure means the user must fix the provider's settings (key, origin).
    pub fn is_misconfiguration(self) -> bool {
        matches!(self, ErrorClass::Auth | ErrorClass::OriginNotAllowed)
    }

    /// The stable snake_case name used in JSON and in the timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::BadRequest => "bad_request",
            ErrorClass::ContextLength => "context_length",
            ErrorClass::Auth => "auth",
            ErrorClass::OriginNotAllowed => "origin_not_allowed",
            ErrorClass::ContentFilter => "content_filter",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Conflict => "conflict",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::QuotaExhausted => "quota_exhausted",
            ErrorClass::Server => "server",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::Network => "network",
            ErrorClass::Malformed => "malformed",
            ErrorClass::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider failure as the router sees it: its class, a human message, and the server's wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    /// What kind of failure it is.
    pub class: ErrorClass,
    /// A short, human and actionable message (never a raw HTML page).
    pub message: String,
    /// How long the server asked to wait before retrying, when it said so.
    pub retry_after_ms: Option<u64>,
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.class)
    }
}

impl std::error::Error for ProviderError {}
