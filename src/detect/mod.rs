//! Outage detection: judging what a content script observed on a chat page into a failure kind.
//!
//! The pieces, in the order data flows through them:
//! - [`rules`]: the per-site adapter as data (selectors, endpoint patterns, error texts), compiled in
//!   from `src/detect/rules/<site>.json` and parsed once ([`Rules::builtin`], [`adapter_json`]).
//! - [`observation`]: what the content script (or [`extract_html`]) reports: a DOM snapshot, a
//!   network event from the page's own traffic, or a stall. Strictly parsed and bounded.
//! - [`classify()`]: one observation into one [`Detection`] (kind, evidence, retry time).
//! - [`Detector`]: per-tab hysteresis, so one page state produces one event.
//! - [`html`] and [`extract`]: a small tolerant HTML parser, a selector matcher, and the extraction of
//!   the same DOM observation `extension/content/observe.js` makes, for `understudy classify` and tests.
//!
//! From the service worker, per tab:
//!
//! ```
//! use understudy::detect::{Detector, Observation, adapter_json};
//! use understudy::site::Site;
//!
//! let adapter = adapter_json(Site::Chatgpt); // give to observe.js and the fetch wrapper
//! assert!(adapter.contains("text-token-text-error"));
//! let mut tab = Detector::new(Site::Chatgpt);
//! let obs = Observation::from_json(
//!     r#"{"type":"dom","errors":[{"region":"turn","structural":true,"text":"Network error"}]}"#,
//! )
//! .unwrap();
//! let event = tab.observe(&obs, 1_795_600_800_000); // Some(Raised { .. }) once, then None
//! assert!(event.is_some());
//! assert!(tab.observe(&obs, 1_795_600_801_000).is_none());
//! ```
//!
//! Invariant: text only counts when it sits in a visible error element (error box, alert/toast,
//! banner) or in a whole-page error document. Message bodies, code, the composer and the history list
//! never trigger a detection, because users quote error messages.

pub mod classify;
pub mod detector;
pub mod extract;
pub mod html;
pub mod observation;
pub(crate) mod retry;
pub mod rules;

pub use classify::{Detection, Evidence, Signal, classify};
pub use detector::{DetectionEvent, Detector};
pub use extract::extract_html;
pub use observation::{
    DomObservation, EndpointKind, ErrorRegion, LatestTurn, NetworkObservation, Observation, PageError,
    PageErrorSource, Role, StallObservation, StallPhase, StreamError,
};
pub use rules::{FeedFormat, Rules, StatusFeed, StreamRule, adapter_json};

use serde::Serialize;

/// The kind of failure (or health) a page shows. Serialised in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// No failure is visible.
    Healthy,
    /// The answer failed to generate ("There was an error generating a response").
    GenerationError,
    /// The connection dropped, the stream broke or stalled.
    NetworkError,
    /// The user hit a rate limit or usage cap; may carry a retry time.
    RateLimited,
    /// The service is at capacity.
    Capacity,
    /// The service (or its edge) is down: Cloudflare 5xx, bare JSON 5xx.
    ServiceDown,
    /// Unusual activity, a challenge, or signed out: not an outage.
    Blocked,
    /// A conversation or the history cannot be loaded.
    ConversationUnavailable,
    /// A structural error element whose text no rule knows (e.g. another UI language).
    UnknownError,
    /// The answer was withheld by the site's content policy (a moderation block). Offering
    /// another provider is the user's choice, never automatic.
    Refused,
    /// The conversation reached the site's maximum length; a provider with a longer context
    /// window can carry it on.
    ConversationTooLong,
}

// Read by name (one shared reader, see `protocol::unit_variant`).
crate::protocol::deserialize_by_name!(Kind { Healthy = "healthy", GenerationError = "generation_error", NetworkError = "network_error", RateLimited = "rate_limited", Capacity = "capacity", ServiceDown = "service_down", Blocked = "blocked", ConversationUnavailable = "conversation_unavailable", UnknownError = "unknown_error", Refused = "refused", ConversationTooLong = "conversation_too_long" });

impl Kind {
    /// Every kind, healthy first.
    pub const ALL: [Kind; 11] = [
        Kind::Healthy,
        Kind::GenerationError,
        Kind::NetworkError,
        Kind::RateLimited,
        Kind::Capacity,
        Kind::ServiceDown,
        Kind::Blocked,
        Kind::ConversationUnavailable,
        Kind::UnknownError,
        Kind::Refused,
        Kind::ConversationTooLong,
    ];

    /// The stable snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Healthy => "healthy",
            Kind::GenerationError => "generation_error",
            Kind::NetworkError => "network_error",
            Kind::RateLimited => "rate_limited",
            Kind::Capacity => "capacity",
            Kind::ServiceDown => "service_down",
            Kind::Blocked => "blocked",
            Kind::ConversationUnavailable => "conversation_unavailable",
            Kind::UnknownError => "unknown_error",
            Kind::Refused => "refused",
            Kind::ConversationTooLong => "conversation_too_long",
        }
    }

    /// How specific the kind is: when several signals disagree, the highest rank wins.
    ///
    /// Blocked, conversation-unavailable, rate-limited, too-long, refused and capacity beat the
    /// generic kinds;
    /// an unknown error only counts when nothing known is visible.
    pub fn rank(self) -> u8 {
        match self {
            Kind::Healthy => 0,
            Kind::UnknownError => 1,
            Kind::NetworkError => 2,
            Kind::GenerationError => 3,
            Kind::ServiceDown => 4,
            Kind::Capacity => 5,
            Kind::Refused => 6,
            Kind::ConversationTooLong => 7,
            Kind::RateLimited => 8,
            Kind::ConversationUnavailable => 9,
            Kind::Blocked => 10,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why detection input or rule data could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectError {
    /// An observation is not valid JSON of the expected shape.
    BadObservation(String),
    /// An observation is larger than the core accepts.
    TooLarge {
        /// The size received, in bytes.
        bytes: usize,
        /// The largest size accepted, in bytes.
        limit: usize,
    },
    /// A rules data file is malformed.
    BadRules(String),
    /// A selector in a rules file cannot be parsed.
    BadSelector {
        /// The selector's name in the rules file.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl std::fmt::Display for DetectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectError::BadObservation(m) => write!(f, "malformed observation: {m}"),
            DetectError::TooLarge { bytes, limit } => {
                write!(f, "observation too large: {bytes} bytes (limit {limit})")
            }
            DetectError::BadRules(m) => write!(f, "malformed rules: {m}"),
            DetectError::BadSelector { name, reason } => write!(f, "bad selector '{name}': {reason}"),
        }
    }
}

impl std::error::Error for DetectError {}
