//! Observations: what the content script reports about a page, the contract between the page and the
//! core.
//!
//! A page can forge anything a content script hears, so observations are parsed strictly (unknown
//! fields and values are rejected) and bounded: texts are cut to [`MAX_TEXT_BYTES`], lists to
//! [`MAX_ERRORS`], and a whole observation larger than [`MAX_OBSERVATION_BYTES`] is refused.
//!
//! The JSON shapes (fields with defaults may be omitted):
//!
//! ```text
//! {"type":"dom", "errors":[{"region":"turn|toast|banner|dialog|page","structural":bool,"text":"..."}],
//!  "latest_turn":null|{"role":null|"user"|"assistant"|"system"|"tool","has_answer":bool,
//!                      "answer_after_error":bool},
//!  "retry_button":bool, "streaming":bool, "signed_out":bool, "recovering":bool,
//!  "page_error":null|{"source":"cloudflare|challenge|json|http","status":null|502,"text":"...",
//!                     "code":null|"...","clears_in":null|N},
//!  "tz_offset_min":0}
//! {"type":"network", "endpoint":"conversation_send|conversation_resume|stream_status|
//!                                conversation_read|auth_session|other",
//!  "status":null|429, "failed":bool, "retry_after":null|"120", "challenge":bool,
//!  "error":null|{"message":null|"...","code":null|"model_cap_exceeded","clears_in":null|N}}
//! {"type":"stall", "phase":"no_start|stalled", "ms":N}
//! {"type":"turn", "end":"done|handoff|error|truncated",
//!  "error":null|{"kind":null|"refused"|"...","code":null|"...","message":"..."}}
//! ```
//!
//! `turn` observations are made by the service worker from the core's decoding of the page's
//! stream bytes ([`crate::page`]); a content script's are refused there.

use serde::de::value::{MapAccessDeserializer, StrDeserializer};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::DetectError;
use crate::page::{End, StreamError as PageStreamError};

/// The longest text kept from any one element, in bytes (cut on a character boundary).
pub const MAX_TEXT_BYTES: usize = 4096;
/// The most error elements kept from one page.
pub const MAX_ERRORS: usize = 16;
/// The largest observation accepted as JSON, in bytes.
pub const MAX_OBSERVATION_BYTES: usize = 512 * 1024;

/// One observation of a page, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Observation {
    /// A snapshot of the page's visible error state.
    Dom(DomObservation),
    /// One request or response of the page's own traffic, seen by the fetch wrapper.
    Network(NetworkObservation),
    /// An answer that never started or stopped streaming.
    Stall(StallObservation),
    /// How a turn's traffic ended, as the core decoded its bytes (made by the service worker
    /// from [`crate::page`], never taken from a content script).
    Turn(TurnObservation),
}

impl Observation {
    /// Parses an observation from untrusted JSON, rejecting oversized input, and bounds its texts.
    pub fn from_json(json: &str) -> Result<Observation, DetectError> {
        if json.len() > MAX_OBSERVATION_BYTES {
            return Err(DetectError::TooLarge { bytes: json.len(), limit: MAX_OBSERVATION_BYTES });
        }
        let bad = |e: serde_json::Error| DetectError::BadObservation(e.to_string());
        // Two passes instead of the derived reader (which buffers the whole object before it
        // looks at `type`, and compiles to several times the code): the tag first, then the
        // variant's own struct, strict as before, with the `type` key passed over.
        let head: Head = serde_json::from_str(json).map_err(bad)?;
        let mut obs = match head.kind {
            ObservationType::Dom => {
                Observation::Dom(serde_json::from_str::<Untagged<_>>(json).map_err(bad)?.0)
            }
            ObservationType::Network => {
                Observation::Network(serde_json::from_str::<Untagged<_>>(json).map_err(bad)?.0)
            }
            ObservationType::Stall => {
                Observation::Stall(serde_json::from_str::<Untagged<_>>(json).map_err(bad)?.0)
            }
            ObservationType::Turn => {
                Observation::Turn(serde_json::from_str::<Untagged<_>>(json).map_err(bad)?.0)
            }
        };
        obs.bound();
        Ok(obs)
    }

    /// Cuts texts and lists to their limits (idempotent).
    pub fn bound(&mut self) {
        match self {
            Observation::Dom(d) => d.bound(),
            Observation::Network(n) => n.bound(),
            Observation::Stall(_) => {}
            Observation::Turn(t) => t.bound(),
        }
    }
}

/// The variants' tags.
#[derive(Clone, Copy)]
enum ObservationType {
    Dom,
    Network,
    Stall,
    Turn,
}
crate::protocol::deserialize_by_name!(ObservationType { Dom = "dom", Network = "network", Stall = "stall", Turn = "turn" });

/// An observation's tag alone (other fields are passed over).
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: ObservationType,
}

/// A variant's struct read from the tagged object, the `type` key passed over.
struct Untagged<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Untagged<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Whole<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Whole<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an observation object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(SkipType(map)))
            }
        }
        d.deserialize_map(Whole(std::marker::PhantomData)).map(Untagged)
    }
}

/// A map without its `type` entry.
struct SkipType<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipType<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, mut seed: K) -> Result<Option<K::Value>, A::Error> {
        loop {
            match self.0.next_key_seed(KeySeed(seed))? {
                None => return Ok(None),
                Some(Ok(key)) => return Ok(Some(key)),
                Some(Err(back)) => {
                    self.0.next_value::<IgnoredAny>()?;
                    seed = back;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }
}

/// Reads a key with the inner seed, or hands the seed back for the `type` key.
struct KeySeed<K>(K);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<K> {
    type Value = Result<K::Value, K>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeySeed<K> {
    type Value = Result<K::Value, K>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == "type" { Ok(Err(self.0)) } else { self.0.deserialize(StrDeserializer::new(key)).map(Ok) }
    }
}

/// Where on the page an error element sits.
///
/// Location only; whether unknown text still means an error is [`ErrorElement::structural`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorRegion {
    /// An error box inside the latest conversation turn.
    Turn,
    /// A toast or alert region.
    Toast,
    /// A banner across the page (incident notices).
    Banner,
    /// A modal dialog (rate limits).
    Dialog,
    /// The page itself: an error box outside any turn (after the latest one), or the message of a
    /// page that replaced the app (no turns, no composer).
    Page,
}

/// One visible error element and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorElement {
    /// Where the element is.
    pub region: ErrorRegion,
    /// Whether it is a structural error box (the adapter's `error` selector): then text that no rule
    /// knows is still an error (`unknown_error`). Toasts, banners and page messages also carry
    /// harmless notices ("Copied", "Memory updated"), so there only known texts count.
    #[serde(default)]
    pub structural: bool,
    /// Its visible text (bounded).
    pub text: String,
}

/// The author role of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The person chatting.
    User,
    /// The model.
    Assistant,
    /// A system message.
    System,
    /// A tool's output.
    Tool,
}

/// The latest conversation turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatestTurn {
    /// The author of its last message, if known.
    #[serde(default)]
    pub role: Option<Role>,
    /// Whether it holds an assistant answer with visible text.
    #[serde(default)]
    pub has_answer: bool,
    /// Whether an answer with text follows the last error element inside it (a recovered turn).
    #[serde(default)]
    pub answer_after_error: bool,
}

/// What kind of whole-page error document replaced the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageErrorSource {
    /// A Cloudflare error page (`#cf-error-details`, title `<host> | 502: Bad gateway`).
    Cloudflare,
    /// A Cloudflare (or similar) challenge page ("Just a moment...", `#challenge-form`).
    Challenge,
    /// A bare JSON body such as `{"detail":"..."}`.
    Json,
    /// A bare server error page (nginx-style "503 Service Temporarily Unavailable"), or a document
    /// the browser says was answered with an error status and that holds no chat at all.
    Http,
}

/// A whole-page error document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageError {
    /// What kind of document it is.
    pub source: PageErrorSource,
    /// The HTTP status the document states, if any.
    #[serde(default)]
    pub status: Option<u16>,
    /// Its main text (title and heading, or the JSON `detail` message), bounded.
    #[serde(default)]
    pub text: String,
    /// A machine code from a JSON body (`detail.code`), if any.
    #[serde(default)]
    pub code: Option<String>,
    /// Seconds until a limit clears, from a JSON body (`detail.clears_in`), if any.
    #[serde(default)]
    pub clears_in: Option<u64>,
}

/// A snapshot of the page's visible error state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomObservation {
    /// Visible error elements, in document order (at most [`MAX_ERRORS`]).
    #[serde(default)]
    pub errors: Vec<ErrorElement>,
    /// The latest conversation turn, if the page shows any.
    #[serde(default)]
    pub latest_turn: Option<LatestTurn>,
    /// Whether the "regenerate after error" button is visible.
    #[serde(default)]
    pub retry_button: bool,
    /// Whether an answer is streaming (the stop button is visible).
    #[serde(default)]
    pub streaming: bool,
    /// Whether the page shows a login button and no composer (signed out, and not let to chat).
    #[serde(default)]
    pub signed_out: bool,
    /// A whole-page error document, if the app was replaced by one.
    #[serde(default)]
    pub page_error: Option<PageError>,
    /// The page's time zone, in minutes east of UTC (`-new Date().getTimezoneOffset()`), used to read
    /// clock times such as "until 14:20".
    #[serde(default)]
    pub tz_offset_min: i32,
    /// Whether the page shows its own recovery in progress ("Connection interrupted. Waiting for
    /// the complete answer", a safety review): a state, not a failure.
    #[serde(default)]
    pub recovering: bool,
}

impl DomObservation {
    fn bound(&mut self) {
        self.errors.truncate(MAX_ERRORS);
        for e in &mut self.errors {
            truncate_text(&mut e.text);
        }
        if let Some(p) = &mut self.page_error {
            truncate_text(&mut p.text);
            if let Some(c) = &mut p.code {
                truncate_to(c, 128);
            }
        }
        self.tz_offset_min = self.tz_offset_min.clamp(-16 * 60, 16 * 60);
    }
}

/// Which of the site's endpoints a request went to (matched by the adapter's path patterns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// Sending a message (the streamed answer).
    ConversationSend,
    /// Resuming an answer handed off or cut (`…/f/conversation/resume`).
    ConversationResume,
    /// The page polling whether an answer still streams (`…/stream_status`).
    StreamStatus,
    /// Reading one conversation.
    ConversationRead,
    /// The auth session check.
    AuthSession,
    /// Anything else.
    Other,
}

/// An error object seen in a response body or inside the event stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamError {
    /// The human message (`error` string, or `detail` when it is a string, or `detail.message`).
    #[serde(default)]
    pub message: Option<String>,
    /// The machine code (`detail.code`, e.g. `model_cap_exceeded`).
    #[serde(default)]
    pub code: Option<String>,
    /// Seconds until the limit clears (`clears_in`).
    #[serde(default)]
    pub clears_in: Option<u64>,
}

/// One response of the page's own traffic, as the MAIN-world fetch wrapper saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkObservation {
    /// Which endpoint the request went to.
    pub endpoint: EndpointKind,
    /// The HTTP status; `None` when no response arrived.
    #[serde(default)]
    pub status: Option<u16>,
    /// Whether the request itself failed (fetch rejected: offline, reset, DNS).
    #[serde(default)]
    pub failed: bool,
    /// The raw `retry-after` header, if any (seconds or an HTTP date).
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Whether the response is a challenge (`cf-mitigated: challenge`, or a challenge page body).
    #[serde(default)]
    pub challenge: bool,
    /// An error object from an error response's body.
    #[serde(default)]
    pub error: Option<StreamError>,
}

impl NetworkObservation {
    fn bound(&mut self) {
        if let Some(r) = &mut self.retry_after {
            truncate_to(r, 64);
        }
        if let Some(e) = &mut self.error {
            if let Some(m) = &mut e.message {
                truncate_text(m);
            }
            if let Some(c) = &mut e.code {
                truncate_to(c, 128);
            }
        }
    }
}

/// Which way an answer stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StallPhase {
    /// The request was sent but no answer token arrived.
    NoStart,
    /// The answer started, then no new token arrived.
    Stalled,
}

/// An answer that never started or stopped streaming for `ms` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StallObservation {
    /// Which way it stalled.
    pub phase: StallPhase,
    /// How long, in milliseconds, nothing has arrived.
    pub ms: u64,
}

/// How a turn's traffic ended (see [`crate::page::End`]) and the error it reported, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnObservation {
    /// `done`, `handoff` (the answer continues on another path), `error` or `truncated` (the
    /// bytes stopped without terminal evidence: the page resumes by itself).
    pub end: End,
    /// The error, when it ended in one.
    #[serde(default)]
    pub error: Option<PageStreamError>,
}

impl TurnObservation {
    fn bound(&mut self) {
        if let Some(e) = &mut self.error {
            truncate_text(&mut e.message);
            for s in [&mut e.kind, &mut e.code].into_iter().flatten() {
                truncate_to(s, 128);
            }
        }
    }
}

/// Cuts `s` to [`MAX_TEXT_BYTES`] on a character boundary.
pub(crate) fn truncate_text(s: &mut String) {
    truncate_to(s, MAX_TEXT_BYTES);
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate_to(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `json` and compares with `expect`: `Ok(observation)` or `Err(part of the message)`.
    fn check(json: &str, expect: Result<Observation, &str>) {
        match (Observation::from_json(json), expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{json}"),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{json}: {e}"),
            (got, want) => panic!("{json}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn the_tag_may_stand_anywhere_and_the_variant_stays_strict() {
        let stall = Observation::Stall(StallObservation { phase: StallPhase::Stalled, ms: 9 });
        check(r#"{"type":"stall","phase":"stalled","ms":9}"#, Ok(stall.clone()));
        check(r#"{"phase":"stalled","ms":9,"type":"stall"}"#, Ok(stall));
        check(r#"{"type":"dom"}"#, Ok(Observation::Dom(DomObservation::default())));
        check(r#"{"type":"dom","streaming":true,"ms":1}"#, Err("unknown field `ms`"));
        check(r#"{"type":"stall","phase":"stalled"}"#, Err("missing field `ms`"));
        check(r#"{"type":"network","endpoint":"other","status":"x"}"#, Err("invalid type"));
        check(r#"{"type":"telepathy"}"#, Err("unknown variant `telepathy`"));
        check(r#"{"phase":"stalled","ms":9}"#, Err("missing field `type`"));
        check(r#"{"type":"stall","phase":"stalled","ms":9,"type":"dom"}"#, Err("duplicate field `type`"));
        check(r#"["stall"]"#, Err("malformed observation"));
        check("", Err("malformed observation"));
    }
}
