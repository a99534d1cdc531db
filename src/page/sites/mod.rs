//! The answer streams of the chat sites other than ChatGPT, decoded into the same [`Turn`] as
//! ChatGPT's: the conversation id and title when the stream names them, the prompt when it echoes
//! it, the answer's visible text (thinking, tool input and metadata never count), how the turn
//! ended and its error with the detection kind the site's adapter gives it.
//!
//! One decoder per wire format, each fed bytes in any chunking (or, for Copilot, WebSocket text
//! frames) and giving the same result as for the whole stream at once:
//!
//! | site | module | framing | frames |
//! |---|---|---|---|
//! | Claude | [`claude`] | SSE (`crate::stream::sse`) | appended `text_delta`s |
//! | Gemini | [`gemini`] | `)]}'`, then `<length>\n<json>\n` (UTF-16 lengths) | whole-text snapshots |
//! | DeepSeek | [`deepseek`] | SSE of `{v, p, o}` patches | appended |
//! | Grok | [`grok`] | NDJSON (`crate::stream::ndjson`) | appended tokens |
//! | Perplexity | [`perplexity`] | SSE | whole-answer snapshots |
//! | Copilot | [`copilot`] | WebSocket JSON events | appended (`replaceText` replaces a part) |
//! | Le Chat | [`mistral`] | `N:payload` lines | appended |
//!
//! A snapshot replaces the answer, it never appends. Error codes and phrases are the adapter's
//! data (`src/detect/rules/<site>.json`), never constants here: a code the adapter does not know
//! is no error unless the site itself said "error"; then it is an `unknown_error`.

pub mod claude;
pub mod copilot;
pub mod deepseek;
pub mod gemini;
pub mod grok;
pub mod keep;
pub mod mistral;
pub mod perplexity;

use super::body::BodyError;
use super::{End, StreamError, Turn, TurnNode};
use crate::conversation::{Conversation, Message, Role};
use crate::detect::{Kind, Rules};
use crate::site::Site;

/// The longest error message kept, in bytes (a site's message is a sentence, not a page).
const MAX_MESSAGE_BYTES: usize = 1024;

/// One site's answer-stream decoder.
pub trait SiteDecoder {
    /// Feeds the next bytes of the response body (for Copilot: frames, one a line).
    fn feed(&mut self, bytes: &[u8]);
    /// Feeds one WebSocket text frame (only Copilot's transport has frames; for the others it is
    /// the same as [`SiteDecoder::feed`]).
    fn frame(&mut self, text: &str) {
        self.feed(text.as_bytes());
    }
    /// Ends the stream: whatever is still buffered is read.
    fn finish(&mut self);
    /// What the stream showed so far.
    fn turn(&self) -> Turn;
}

/// A decoder for `site`'s answer streams; `None` for ChatGPT (see `crate::page::chatgpt`).
pub fn decoder(site: Site) -> Option<Box<dyn SiteDecoder>> {
    Some(match site {
        Site::Chatgpt => return None,
        Site::Claude => Box::new(claude::ClaudeStream::new()),
        Site::Gemini => Box::new(gemini::GeminiStream::new()),
        Site::Deepseek => Box::new(deepseek::DeepseekStream::new()),
        Site::Grok => Box::new(grok::GrokStream::new()),
        Site::Perplexity => Box::new(perplexity::PerplexityStream::new()),
        Site::Copilot => Box::new(copilot::CopilotStream::new()),
        Site::Mistral => Box::new(mistral::MistralStream::new()),
    })
}

/// Decodes a whole stream of `site` fed in chunks of `chunk` bytes (all at once when 0); `None`
/// for ChatGPT. What the command line and the tests use.
pub fn decode_stream(site: Site, bytes: &[u8], chunk: usize) -> Option<Turn> {
    let mut d = decoder(site)?;
    if chunk == 0 {
        d.feed(bytes);
    } else {
        for c in bytes.chunks(chunk) {
            d.feed(c);
        }
    }
    d.finish();
    Some(d.turn())
}

/// Reads a conversation read of `site` (the response body of one of its adapter's
/// `conversation_read` endpoints; `path`: the request's path and query, when known) into the
/// cached tree, keyed by the site's own conversation id (the caller files it under
/// `<site>:<id>`, [`keep::conversation_key`]). `None` for a site whose reads the core does not
/// read; an error for a body that is not a read the core knows (nothing is kept then).
///
/// | site | read | module |
/// |---|---|---|
/// | Claude | `GET …/chat_conversations/{id}?tree=True` | [`claude::parse_conversation`] |
/// | Gemini | `POST /_/BardChatUi/data/batchexecute` (`hNvQHb`) | [`gemini::parse_read`] |
/// | DeepSeek | `GET /api/v0/chat/history_messages?chat_session_id=…` | [`deepseek::parse_read`] |
/// | Grok | `GET …/{id}/response-node`, `POST …/{id}/load-responses` | [`grok::parse_read`] |
/// | Perplexity | `GET /rest/thread/{slug}` | [`perplexity::parse_read`] |
/// | Copilot | `GET /c/api/conversations/{id}/history` | [`copilot::parse_read`] |
///
/// Every read gives the site's own conversation id (as its stream names it) and its own message
/// ids; a body that is not the read's shape is an error, never a conversation guessed at.
pub fn parse_body(site: Site, path: Option<&str>, body: &str) -> Option<Result<Conversation, BodyError>> {
    match site {
        Site::Claude => Some(claude::parse_conversation(body)),
        Site::Gemini => Some(gemini::parse_read(path, body)),
        Site::Deepseek => Some(deepseek::parse_read(path, body)),
        Site::Grok => Some(grok::parse_read(path, body)),
        Site::Perplexity => Some(perplexity::parse_read(path, body)),
        Site::Copilot => Some(copilot::parse_read(path, body)),
        Site::Chatgpt | Site::Mistral => None,
    }
}

/// A read's body as JSON.
pub(crate) fn read_json(body: &str) -> Result<serde_json::Value, BodyError> {
    serde_json::from_str(body).map_err(|e| BodyError::Malformed(e.to_string()))
}

/// An id in a read: a string, or an integer written out; `None` for anything else, or for an id
/// no conversation or message could have (empty, too long, white space or controls).
pub(crate) fn read_id(v: Option<&serde_json::Value>) -> Option<String> {
    let id = match v? {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => return None,
    };
    keep::valid(&id).then_some(id)
}

/// A time in a read in float Unix seconds: a number of seconds (or of milliseconds, when it is
/// that large), or an RFC 3339 string; `None` for anything else.
pub(crate) fn read_time(v: Option<&serde_json::Value>) -> Option<f64> {
    let t = match v? {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => crate::status::rfc3339_ms(s)? as f64 / 1000.0,
        _ => return None,
    };
    let t = if t > 1e11 { t / 1000.0 } else { t };
    (t.is_finite() && t > 0.0 && t < 1e11).then_some(t)
}

/// The conversation a read names: its body's id when it has a valid one, else its request's
/// ([`keep::read_conversation`]).
pub(crate) fn read_conversation_id(
    site: Site,
    from_body: Option<String>,
    path: Option<&str>,
) -> Result<String, BodyError> {
    from_body
        .map(|id| keep::as_streamed(site, &id))
        .filter(|id| keep::valid(id))
        .or_else(|| path.and_then(|p| keep::read_conversation(site, p)))
        .ok_or(BodyError::NoId)
}

/// One conversation built from a site's read: messages added in the read's order under their
/// parents (a parent that would close a cycle is dropped), the current node checked at the end.
#[derive(Debug)]
pub(crate) struct ReadTree {
    conv: Conversation,
    last: Option<String>,
    count: usize,
}

impl ReadTree {
    pub(crate) fn new(id: String) -> ReadTree {
        ReadTree { conv: Conversation::new(id), last: None, count: 0 }
    }

    pub(crate) fn conversation(&mut self) -> &mut Conversation {
        &mut self.conv
    }

    /// The message added last.
    pub(crate) fn last(&self) -> Option<&str> {
        self.last.as_deref()
    }

    /// Adds `message` under `parent` (a message of this read, or one the cache may know).
    pub(crate) fn add(&mut self, parent: Option<&str>, message: Message) {
        let parent = parent.filter(|p| !self.closes_cycle(p, &message.id));
        self.last = Some(message.id.clone());
        self.count += 1;
        self.conv.upsert_message(parent, message, false);
    }

    /// Whether `id` is `parent` or one of its ancestors.
    fn closes_cycle(&self, parent: &str, id: &str) -> bool {
        let mut at = Some(parent);
        let mut steps = 0;
        while let Some(p) = at {
            if p == id || steps > self.conv.nodes.len() {
                return true;
            }
            steps += 1;
            at = self.conv.nodes.get(p).and_then(|n| n.parent.as_deref());
        }
        false
    }

    /// The conversation, its current node `current` when that is one of its messages, else the
    /// message added last; an error when the read held no message.
    pub(crate) fn finish(mut self, current: Option<String>) -> Result<Conversation, BodyError> {
        if self.count == 0 {
            return Err(BodyError::Malformed("no messages".into()));
        }
        let nodes = &self.conv.nodes;
        let current =
            current.filter(|id| nodes.get(id).is_some_and(|n| n.message.is_some())).or(self.last);
        self.conv.current_node = current;
        Ok(self.conv)
    }
}

/// What every decoder builds: one prompt (when the stream echoes it) and one answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    rules: &'static Rules,
    pub conversation_id: Option<String>,
    pub title: Option<String>,
    pub user_id: Option<String>,
    pub prompt: Option<String>,
    pub id: Option<String>,
    pub text: String,
    pub end: Option<End>,
    pub error: Option<StreamError>,
}

impl Answer {
    pub fn new(site: Site) -> Answer {
        Answer {
            rules: Rules::builtin(site),
            conversation_id: None,
            title: None,
            user_id: None,
            prompt: None,
            id: None,
            text: String::new(),
            end: None,
            error: None,
        }
    }

    /// An appended piece of the answer.
    pub fn append(&mut self, piece: &str) {
        self.text.push_str(piece);
    }

    /// A snapshot: the whole answer so far, replacing what was there.
    pub fn replace(&mut self, whole: &str) {
        self.text.clear();
        self.text.push_str(whole);
    }

    /// The answer is complete (unless it already ended in an error).
    pub fn done(&mut self) {
        if self.end.is_none() {
            self.end = Some(End::Done);
        }
    }

    /// The error a code and a message mean by the site's adapter: the code's rule first, then
    /// the message's phrases, then `fallback`. `None` when that is no failure (a `healthy` rule,
    /// or nothing known and no fallback).
    pub fn judge(&self, code: Option<&str>, message: &str, fallback: Option<Kind>) -> Option<StreamError> {
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        let kind = match code.and_then(|c| self.rules.match_code(c)) {
            Some(Kind::Healthy) => return None,
            Some(kind) => kind,
            None => match self.rules.match_text(message) {
                Some(m) if m.kind == Kind::Healthy => return None,
                Some(m) => m.kind,
                None => fallback?,
            },
        };
        Some(StreamError {
            kind: Some(kind.as_str().to_string()),
            code: code.map(str::to_string),
            message: cut(message, MAX_MESSAGE_BYTES).to_string(),
            retry_at_ms: None,
        })
    }

    /// The turn ended in `error` (the first error is kept).
    pub fn fail(&mut self, error: StreamError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
        self.end = Some(End::Error);
    }

    /// Sets `slot` from `value` when it is still empty and `value` is a non-empty string.
    pub fn learn(slot: &mut Option<String>, value: Option<&str>) {
        if slot.is_none()
            && let Some(v) = value.map(str::trim).filter(|v| !v.is_empty())
        {
            *slot = Some(v.to_string());
        }
    }

    pub fn turn(&self) -> Turn {
        let mut turn = Turn {
            conversation_id: self.conversation_id.clone(),
            title: self.title.clone(),
            end: self.end,
            error: self.error.clone(),
            ..Turn::default()
        };
        if let Some(prompt) = self.prompt.as_ref().filter(|p| !p.is_empty()) {
            let m = Message::new(self.user_id.clone().unwrap_or_default(), Role::User, prompt.clone());
            turn.current = Some(m.id.clone());
            turn.nodes.push(TurnNode { parent: None, message: m });
        }
        if !self.text.is_empty() {
            let mut m = Message::new(self.id.clone().unwrap_or_default(), Role::Assistant, self.text.clone());
            if self.end != Some(End::Done) {
                m.status = Some("in_progress".to_string());
            }
            turn.current = Some(m.id.clone());
            turn.nodes.push(TurnNode { parent: self.user_id.clone(), message: m });
        }
        turn
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A JSON value as a code: a string as it is, a number written out; `None` for anything else.
/// Server-sent events, or the one JSON body a server answers instead of a stream (an error
/// envelope, a 429): the first bytes are kept while no event has arrived (at most 64 KB), and read
/// as JSON at the end when none came.
#[derive(Debug, Clone, Default)]
pub(crate) struct SseOrJson {
    sse: crate::stream::SseParser,
    body: Vec<u8>,
    events: u64,
}

impl SseOrJson {
    const MAX_BODY_BYTES: usize = 64 * 1024;

    /// Feeds bytes; `on(event, data)` runs for each complete event.
    pub(crate) fn feed(&mut self, bytes: &[u8], mut on: impl FnMut(&str, &str)) {
        if self.events == 0 && self.body.len() < Self::MAX_BODY_BYTES {
            let room = Self::MAX_BODY_BYTES - self.body.len();
            self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        let events = &mut self.events;
        let _ = self.sse.feed(bytes, |ev| {
            *events += 1;
            on(&ev.event, &ev.data);
        });
    }

    /// Ends the stream (an event left without its blank line still counts); the body as JSON
    /// when no event came at all.
    pub(crate) fn finish(&mut self, on: impl FnMut(&str, &str)) -> Option<serde_json::Value> {
        self.feed(b"\n\n", on);
        self.sse.finish();
        let body = std::mem::take(&mut self.body);
        if self.events == 0 { serde_json::from_slice(&body).ok() } else { None }
    }
}

pub(crate) fn code_text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
