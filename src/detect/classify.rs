//! The classifier: one observation into one detection.
//!
//! Decisions that the data cannot express, documented here:
//! - A whole-page error document wins over everything else on the page. Cloudflare 5xx and bare
//!   JSON bodies meaning server trouble are `service_down`; a challenge page is `blocked`.
//! - HTTP 5xx on the send endpoint: 500 and 501 mean this one answer failed (`generation_error`, the
//!   page shows "Something went wrong"); 502 to 504 and Cloudflare's 52x mean the origin or edge is
//!   unreachable (`service_down`). 5xx while reading a conversation is `conversation_unavailable`
//!   (chat itself may still work); on the auth session it is `service_down`.
//! - 429 is `rate_limited`; 401 is `blocked` (signed out); 403 is `blocked` unless the body names
//!   something more specific; 404 on a conversation is `conversation_unavailable`.
//! - Requests to endpoints the adapter does not know never raise anything.
//! - A visible login button where the page lets no one chat (no composer: the extractors report
//!   `signed_out` only then) is `blocked`, unless the latest turn shows an answer. Logged-out chats
//!   work: a login button beside the composer is nothing.
//! - When a status and a message disagree, the more specific kind ([`Kind::rank`]) wins.
//! - Stream facts come from the core's decoding of the page's bytes ([`crate::page`]), never from
//!   the page: a `turn` observation. A moderation block is `refused`; an error code or message a
//!   rule knows is that kind (`conversation_too_large` is `conversation_too_long`); an error no
//!   rule knows is `generation_error`. A handoff or a cut stream is not a verdict: the page goes on
//!   by itself (a resume, its socket), and the outcome of that is judged when it comes.
//! - A failed resume is a `network_error` (the answer is lost on that path), except the statuses
//!   the page retries by itself (the endpoint's `retried` list) and codes that mean "read the
//!   answer from the conversation" (a `healthy` code rule). The page's stream-status polls never
//!   raise anything.
//! - Text a `healthy` rule knows (a downgrade to another model, a feature limit, the page's own
//!   "Connection interrupted. Waiting for the complete answer") is not a failure, even when it
//!   also holds a failure's words.

use serde::{Deserialize, Serialize};

use super::observation::{
    DomObservation, EndpointKind, NetworkObservation, Observation, PageError, PageErrorSource,
    StallObservation, StallPhase, TurnObservation, truncate_to,
};
use super::rules::{Rules, normalize};
use super::{Kind, retry};
use crate::page::End;

/// The longest evidence text kept, in bytes.
const MAX_EVIDENCE_BYTES: usize = 300;

/// Which kind of signal a detection rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// A visible element of the chat page.
    Dom,
    /// The page's own traffic.
    Network,
    /// An answer that stalled or never started.
    Stall,
    /// A whole-page error document (Cloudflare error or challenge page, bare JSON body) that replaced
    /// the app.
    StatusPage,
}

impl Signal {
    /// The stable snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Dom => "dom",
            Signal::Network => "network",
            Signal::Stall => "stall",
            Signal::StatusPage => "status_page",
        }
    }
}

/// What a detection rests on: the signal and the text (or fact) seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The kind of signal.
    pub signal: Signal,
    /// The text seen, or a short description of the fact (bounded).
    pub text: String,
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.signal.as_str(), self.text)
    }
}

/// The judgement of one observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// The kind of failure, or healthy.
    pub kind: Kind,
    /// What it rests on.
    pub evidence: Evidence,
    /// For `rate_limited`: seconds from now until a retry may succeed, when the page says so.
    pub retry_after_s: Option<u64>,
}

impl Detection {
    fn new(kind: Kind, signal: Signal, text: impl Into<String>) -> Detection {
        let mut text = text.into();
        clip(&mut text);
        Detection { kind, evidence: Evidence { signal, text }, retry_after_s: None }
    }

    fn retry(mut self, s: Option<u64>) -> Detection {
        if self.kind == Kind::RateLimited {
            self.retry_after_s = s;
        }
        self
    }
}

fn clip(text: &mut String) {
    let trimmed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    *text = trimmed;
    truncate_to(text, MAX_EVIDENCE_BYTES);
}

/// Judges one observation with a site's rules. `now_ms` (Unix milliseconds) anchors clock times.
pub fn classify(obs: &Observation, rules: &Rules, now_ms: u64) -> Detection {
    match obs {
        Observation::Dom(d) => classify_dom(d, rules, now_ms),
        Observation::Network(n) => classify_network(n, rules, now_ms),
        Observation::Stall(s) => classify_stall(s, rules),
        Observation::Turn(t) => classify_turn(t, rules, now_ms),
    }
}

fn classify_dom(d: &DomObservation, rules: &Rules, now_ms: u64) -> Detection {
    if let Some(page) = &d.page_error {
        return classify_page(page, rules, now_ms, d.tz_offset_min);
    }
    let recovered = d.latest_turn.is_some_and(|t| t.answer_after_error);
    let mut best: Option<(Kind, &str)> = None;
    for e in &d.errors {
        if recovered && e.region == super::ErrorRegion::Turn {
            continue;
        }
        let kind = match rules.match_text(&e.text) {
            // A notice that is not a failure (a downgrade, a feature limit, a recovery).
            Some(m) if m.kind == Kind::Healthy => continue,
            Some(m) => m.kind,
            None if e.structural && !e.text.trim().is_empty() => Kind::UnknownError,
            None => continue,
        };
        if best.is_none_or(|(k, _)| kind.rank() > k.rank()) {
            best = Some((kind, &e.text));
        }
    }
    if let Some((kind, text)) = best {
        let retry = retry::from_text(text, now_ms, d.tz_offset_min);
        return Detection::new(kind, Signal::Dom, text).retry(retry);
    }
    if d.retry_button && !recovered {
        return Detection::new(Kind::GenerationError, Signal::Dom, "regenerate-after-error button visible");
    }
    // Signed out is `blocked` unless the page visibly answers anyway (logged-out chat works).
    if d.signed_out && !d.latest_turn.is_some_and(|t| t.has_answer) {
        return Detection::new(Kind::Blocked, Signal::Dom, "signed out: login button visible");
    }
    Detection::new(Kind::Healthy, Signal::Dom, "no visible error")
}

fn classify_page(p: &PageError, rules: &Rules, now_ms: u64, tz: i32) -> Detection {
    let code_kind = p.code.as_deref().and_then(|c| rules.match_code(c));
    let text_kind = rules.match_text(&p.text).map(|m| m.kind);
    let status_kind = p.status.and_then(|s| match s {
        429 => Some(Kind::RateLimited),
        401 | 403 => Some(Kind::Blocked),
        500..=599 => Some(Kind::ServiceDown),
        _ => None,
    });
    let source_kind = match p.source {
        PageErrorSource::Challenge => Some(Kind::Blocked),
        PageErrorSource::Cloudflare => Some(Kind::ServiceDown),
        PageErrorSource::Json | PageErrorSource::Http => None,
    };
    // A status or a code is a firmer statement than prose; the source is the fallback.
    let kind = status_kind
        .or(code_kind)
        .into_iter()
        .chain(text_kind)
        .filter(|k| *k != Kind::Healthy)
        .max_by_key(|k| k.rank())
        .or(source_kind)
        .unwrap_or(Kind::UnknownError);
    let mut text = String::new();
    if let Some(s) = p.status {
        text.push_str(&format!("HTTP {s} "));
    }
    text.push_str(match p.source {
        PageErrorSource::Cloudflare => "Cloudflare error page",
        PageErrorSource::Challenge => "challenge page",
        PageErrorSource::Json => "JSON error body",
        PageErrorSource::Http => "server error page",
    });
    if let Some(c) = &p.code {
        text.push_str(&format!(" [{c}]"));
    }
    if !p.text.trim().is_empty() {
        text.push_str(": ");
        text.push_str(&p.text);
    }
    let retry = p.clears_in.or_else(|| retry::from_text(&p.text, now_ms, tz));
    Detection::new(kind, Signal::StatusPage, text).retry(retry)
}

fn classify_network(n: &NetworkObservation, rules: &Rules, now_ms: u64) -> Detection {
    if matches!(n.endpoint, EndpointKind::Other | EndpointKind::StreamStatus) {
        // The page's own polling says only that it is still waiting: its outcome shows on the page.
        return Detection::new(Kind::Healthy, Signal::Network, "request to an endpoint not watched");
    }
    if n.endpoint == EndpointKind::ConversationResume && n.failed && n.status.is_none() {
        // The page retries a resume that did not reach the server, by itself.
        return Detection::new(Kind::Healthy, Signal::Network, describe(n, "the page retries by itself"));
    }
    if let Some(s) = n.status
        && rules.retried(n.endpoint, s)
    {
        return Detection::new(Kind::Healthy, Signal::Network, describe(n, "the page retries by itself"));
    }
    let message = n.error.as_ref().and_then(|e| e.message.as_deref()).unwrap_or("");
    let code = n.error.as_ref().and_then(|e| e.code.as_deref());
    let code_kind = code.and_then(|c| rules.match_code(c));
    if code_kind == Some(Kind::Healthy) {
        // A code the page handles by itself (`persisted_final_available`: it reads the answer
        // from the conversation).
        return Detection::new(Kind::Healthy, Signal::Network, describe(n, message));
    }
    let norm = normalize(message);
    let text_kind = rules.match_normalized(&norm).map(|m| m.kind).filter(|k| *k != Kind::Healthy);
    let body_kind = code_kind.into_iter().chain(text_kind).max_by_key(|k| k.rank());

    let status_kind = if n.challenge {
        Some(Kind::Blocked)
    } else if n.failed || n.status.is_none() {
        Some(Kind::NetworkError)
    } else {
        n.status.and_then(|s| status_kind(n.endpoint, s))
    };
    let kind = status_kind.into_iter().chain(body_kind).max_by_key(|k| k.rank());
    let Some(kind) = kind else {
        return Detection::new(Kind::Healthy, Signal::Network, describe(n, ""));
    };
    let retry = n
        .error
        .as_ref()
        .and_then(|e| e.clears_in)
        .or_else(|| n.retry_after.as_deref().and_then(|h| retry::from_header(h, now_ms)))
        .or_else(|| retry::from_text(message, now_ms, 0));
    Detection::new(kind, Signal::Network, describe(n, message)).retry(retry)
}

fn status_kind(endpoint: EndpointKind, status: u16) -> Option<Kind> {
    use EndpointKind::*;
    Some(match (status, endpoint) {
        (200..=399, _) => return None,
        (429, _) => Kind::RateLimited,
        (401 | 403, _) => Kind::Blocked,
        // The page's resume failed: the answer is lost on this path.
        (_, ConversationResume) => Kind::NetworkError,
        (404 | 410, ConversationSend | ConversationRead) => Kind::ConversationUnavailable,
        (500 | 501, ConversationSend) => Kind::GenerationError,
        (500..=599, ConversationRead) => Kind::ConversationUnavailable,
        (500..=599, _) => Kind::ServiceDown,
        (400..=499, ConversationSend) => Kind::GenerationError,
        (400..=499, ConversationRead) => Kind::ConversationUnavailable,
        _ => return None,
    })
}

fn describe(n: &NetworkObservation, message: &str) -> String {
    let endpoint = match n.endpoint {
        EndpointKind::ConversationSend => "conversation send",
        EndpointKind::ConversationResume => "answer resume",
        EndpointKind::StreamStatus => "stream status",
        EndpointKind::ConversationRead => "conversation read",
        EndpointKind::AuthSession => "auth session",
        EndpointKind::Other => "other request",
    };
    let mut s = match n.status {
        Some(st) => format!("HTTP {st} on {endpoint}"),
        None => format!("no response on {endpoint}"),
    };
    if n.failed {
        s.push_str(", request failed");
    }
    if n.challenge {
        s.push_str(", challenge");
    }
    if let Some(code) = n.error.as_ref().and_then(|e| e.code.as_deref()) {
        s.push_str(&format!(" [{code}]"));
    }
    if !message.is_empty() {
        s.push_str(": ");
        s.push_str(message);
    }
    s
}

fn classify_stall(s: &StallObservation, rules: &Rules) -> Detection {
    let (limit, what) = match s.phase {
        StallPhase::NoStart => (rules.timing.stall_limit_ms(false), "no answer started"),
        StallPhase::Stalled => (rules.timing.stall_limit_ms(true), "answer stalled"),
    };
    let text = format!("{what} for {} ms (limit {limit} ms)", s.ms);
    let kind = if s.ms >= limit { Kind::NetworkError } else { Kind::Healthy };
    Detection::new(kind, Signal::Stall, text)
}

/// How a turn ended, as the core decoded the page's bytes. `done` is a healthy send; `handoff` and
/// `truncated` say nothing yet (the answer continues elsewhere, or the page resumes by itself: the
/// outcome of that comes later, or the stall rule speaks); an error is judged by its kind, code and
/// message: a moderation block is `refused`, a code or text a rule knows is that kind, anything else
/// `generation_error`.
fn classify_turn(t: &TurnObservation, rules: &Rules, now_ms: u64) -> Detection {
    match t.end {
        End::Done => return Detection::new(Kind::Healthy, Signal::Network, "answer complete"),
        End::Handoff => {
            return Detection::new(Kind::Healthy, Signal::Network, "answer handed off to another stream");
        }
        End::Truncated => {
            return Detection::new(Kind::Healthy, Signal::Network, "stream cut short; the page resumes it");
        }
        End::Error => {}
    }
    let e = t.error.as_ref();
    let message = e.map(|e| e.message.as_str()).unwrap_or("");
    let code = e.and_then(|e| e.code.as_deref());
    let refused = e.and_then(|e| e.kind.as_deref()) == Some("refused");
    let code_kind = code.and_then(|c| rules.match_code(c)).filter(|k| *k != Kind::Healthy);
    let text_kind = rules.match_text(message).map(|m| m.kind).filter(|k| *k != Kind::Healthy);
    // The other sites' decoders name the detection kind their adapter gave the error.
    let named_kind = e
        .and_then(|e| e.kind.as_deref())
        .and_then(|k| Kind::ALL.into_iter().find(|x| x.as_str() == k))
        .filter(|k| *k != Kind::Healthy);
    let kind = if refused {
        Kind::Refused
    } else {
        code_kind
            .into_iter()
            .chain(text_kind)
            .chain(named_kind)
            .max_by_key(|k| k.rank())
            .unwrap_or(Kind::GenerationError)
    };
    // A limit whose reset the site gave (Claude's `resetsAt`).
    let retry_after_s = e.and_then(|e| e.retry_at_ms).map(|at| at.saturating_sub(now_ms).div_ceil(1000));
    let mut text = String::from("error in the answer stream");
    if let Some(c) = code {
        text.push_str(&format!(" [{c}]"));
    }
    if !message.trim().is_empty() {
        text.push_str(": ");
        text.push_str(message);
    }
    Detection::new(kind, Signal::Network, text).retry(retry_after_s)
}
