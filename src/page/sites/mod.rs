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
pub mod read;

use super::body::BodyError;
use super::{End, StreamError, Turn, TurnNode};
use crate::conversation::{Conversation, Message, Node, Role};
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
/// Linear in the read's size whatever its shape (a page can forge a read of any size and shape):
/// a message's parent is set once, and the walks that look for cycles share one budget (spent
/// only by forged reads: a parent listed after its child).
#[derive(Debug)]
pub(crate) struct ReadTree {
    conv: Conversation,
    last: Option<String>,
    count: usize,
    /// Steps left for the cycle checks; once spent, a parent that would need one is dropped.
    walks: usize,
}

impl ReadTree {
    /// The steps of the cycle checks of one read.
    const WALK_BUDGET: usize = 1 << 20;

    pub(crate) fn new(id: String) -> ReadTree {
        ReadTree { conv: Conversation::new(id), last: None, count: 0, walks: Self::WALK_BUDGET }
    }

    pub(crate) fn conversation(&mut self) -> &mut Conversation {
        &mut self.conv
    }

    /// The message added last.
    pub(crate) fn last(&self) -> Option<&str> {
        self.last.as_deref()
    }

    /// Adds `message` under `parent` (a message of this read, or one the cache may know); a
    /// message whose id no message could have is left out. The same id again keeps the newer
    /// version ([`Message::is_newer_than`]) and the parent it was first given.
    pub(crate) fn add(&mut self, parent: Option<&str>, message: Message) {
        let id = message.id.clone();
        if !keep::valid(&id) {
            return;
        }
        let time = message.update_time.or(message.create_time);
        let parent = parent.filter(|p| keep::valid(p) && *p != id);
        let known = self.conv.nodes.get(&id).map(|n| n.parent.is_some());
        // A node nobody named yet has no descendants: it cannot close a cycle.
        let parent = match known {
            Some(true) => None, // its parent is set already
            Some(false) => parent.filter(|p| !self.closes_cycle(p, &id)),
            None => parent,
        };
        let node = self.conv.nodes.entry(id.clone()).or_insert_with(|| Node {
            id: id.clone(),
            parent: None,
            children: Vec::new(),
            message: None,
        });
        match &node.message {
            Some(old) if !message.is_newer_than(old) => {}
            _ => node.message = Some(message),
        }
        if let Some(p) = parent {
            node.parent = Some(p.to_string());
            let pnode = self.conv.nodes.entry(p.to_string()).or_insert_with(|| Node {
                id: p.to_string(),
                parent: None,
                children: Vec::new(),
                message: None,
            });
            pnode.children.push(id.clone());
        }
        if let Some(t) = time
            && self.conv.update_time.is_none_or(|u| t > u)
        {
            self.conv.update_time = Some(t);
        }
        self.last = Some(id);
        self.count += 1;
    }

    /// Whether `id` is `parent` or one of its ancestors (or the walk's budget is spent).
    fn closes_cycle(&mut self, parent: &str, id: &str) -> bool {
        let mut at = Some(parent);
        while let Some(p) = at {
            if p == id || self.walks == 0 {
                return true;
            }
            self.walks -= 1;
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
        let current = current.filter(|id| nodes.get(id).is_some_and(|n| n.message.is_some())).or(self.last);
        self.conv.current_node = current;
        self.conv.refresh_incomplete();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a read should give: the conversation id, title, every message as `(id, role, text,
    /// parent)`, and the current node.
    struct Expect<'a> {
        id: &'a str,
        title: Option<&'a str>,
        messages: &'a [(&'a str, Role, &'a str, Option<&'a str>)],
        current: &'a str,
    }

    fn fixture(site: &str, name: &str) -> String {
        let path = format!("{}/tests/fixtures/sites/{site}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn read(site: Site, path: Option<&str>, input: &str) -> Conversation {
        match parse_body(site, path, input) {
            Some(Ok(conv)) => conv,
            other => panic!("{site:?} {path:?}: {other:?}"),
        }
    }

    fn check(site: Site, path: Option<&str>, input: &str, expect: &Expect<'_>) -> Conversation {
        let conv = read(site, path, input);
        assert_eq!(conv.id, expect.id, "{site:?} id");
        assert_eq!(conv.title.as_deref(), expect.title, "{site:?} title");
        let kept = conv.nodes.values().filter(|n| n.message.is_some()).count();
        assert_eq!(kept, expect.messages.len(), "{site:?} message count");
        for (id, role, text, parent) in expect.messages {
            let node = conv.nodes.get(*id).unwrap_or_else(|| panic!("{site:?}: no message {id}"));
            let m = node.message.as_ref().unwrap_or_else(|| panic!("{site:?}: {id} has no message"));
            assert_eq!(m.role, *role, "{site:?} {id} role");
            assert_eq!(m.content.plain_text(), *text, "{site:?} {id} text");
            assert_eq!(node.parent.as_deref(), *parent, "{site:?} {id} parent");
        }
        assert_eq!(conv.current_node.as_deref(), Some(expect.current), "{site:?} current");
        conv
    }

    fn is_err(site: Site, path: Option<&str>, input: &str) -> bool {
        matches!(parse_body(site, path, input), Some(Err(_)))
    }

    /// A `batchexecute` reply of one frame holding `envelopes`, its length in UTF-16 units.
    fn gemini_reply(envelopes: &serde_json::Value) -> String {
        let json = envelopes.to_string();
        let units = format!("\n{json}\n").encode_utf16().count();
        format!(")]}}'\n\n{units}\n{json}\n")
    }

    use Role::{Assistant, User};

    #[test]
    fn gemini_read_is_the_hnvqhb_reply_oldest_turn_first() {
        let body = fixture("gemini", "read.txt");
        let expect = Expect {
            id: "c_3f2a9b7c1d0e",
            title: None,
            messages: &[
                ("r_a1", User, "Say hello in 日本語", None),
                ("rc_a1", Assistant, "こんにちは 🌸", Some("r_a1")),
                ("r_b2", User, "Und auf Deutsch? 🇩🇪", Some("rc_a1")),
                // The thoughts at [37] are not kept.
                ("rc_b2", Assistant, "Hallo, Welt! 👋🏽", Some("r_b2")),
            ],
            current: "rc_b2",
        };
        let path =
            "/_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=%2Fapp%2F3f2a9b7c1d0e&bl=b&rt=c";
        let conv = check(Site::Gemini, Some(path), &body, &expect);
        assert_eq!(conv.nodes["r_a1"].message.as_ref().and_then(|m| m.create_time), Some(1767261600.0));
        check(Site::Gemini, None, &body, &expect);
        // A turn that does not name its conversation: the request's source path does (with the
        // `c_` prefix the stream writes).
        let inner =
            serde_json::json!([[[[null, "r_1"], null, [["hi"]], [[["rc_1", ["hello"]]]]]]]).to_string();
        let body =
            gemini_reply(&serde_json::json!([["wrb.fr", "hNvQHb", inner, null, null, null, "generic"]]));
        let one = Expect {
            id: "c_77aa",
            title: None,
            messages: &[("r_1", User, "hi", None), ("rc_1", Assistant, "hello", Some("r_1"))],
            current: "rc_1",
        };
        check(Site::Gemini, Some("/_/BardChatUi/data/batchexecute?source-path=%2Fapp%2F77aa"), &body, &one);
        assert!(is_err(Site::Gemini, None, &body), "no id anywhere");
    }

    #[test]
    fn gemini_reply_of_another_rpc_or_a_refusal_or_a_stream_is_no_read() {
        let list =
            serde_json::json!([[["c_1", "A chat", null, null, null, [1767261600, 0]]], null]).to_string();
        let other =
            gemini_reply(&serde_json::json!([["wrb.fr", "MaZiqc", list, null, null, null, "generic"]]));
        assert!(is_err(Site::Gemini, None, &other));
        let refused = gemini_reply(&serde_json::json!([["wrb.fr", "hNvQHb", null, null, null, [7]]]));
        assert!(is_err(Site::Gemini, None, &refused));
        assert!(is_err(Site::Gemini, None, &fixture("gemini", "healthy.txt")));
        assert!(is_err(Site::Gemini, None, "{}"));
        assert!(is_err(Site::Gemini, None, ""));
        // An inner JSON that is no list of turns.
        let wrong = gemini_reply(&serde_json::json!([["wrb.fr", "hNvQHb", "{\"0\": 5}"]]));
        assert!(is_err(Site::Gemini, None, &wrong));
        let nested = format!("[{}]", "[".repeat(5000) + &"]".repeat(5000));
        let deep = gemini_reply(&serde_json::json!([["wrb.fr", "hNvQHb", nested]]));
        assert!(is_err(Site::Gemini, None, &deep));
    }

    #[test]
    fn deepseek_read_keeps_every_branch_and_no_thinking() {
        let body = fixture("deepseek", "read.json");
        let expect = Expect {
            id: "d213f7b1-0aa7-47a2-a6cf-3b4910a66b3a",
            title: Some("Greetings in Zürich 🇨🇭"),
            messages: &[
                ("1", User, "hello from Zürich", None),
                ("2", Assistant, "你好！😊 How can I help?", Some("1")),
                ("3", Assistant, "Grüezi! 👋", Some("1")),
                ("4", User, "What is 2+2?", Some("3")),
                ("5", Assistant, "2 + 2 = **4**.", Some("4")),
            ],
            current: "5",
        };
        let path = "/api/v0/chat/history_messages?chat_session_id=d213f7b1-0aa7-47a2-a6cf-3b4910a66b3a";
        let conv = check(Site::Deepseek, Some(path), &body, &expect);
        assert_eq!(conv.nodes["1"].children, ["2", "3"]);
        assert_eq!(conv.create_time, Some(1763826110.639));
        // The session's id missing: the request's `chat_session_id` names it.
        let body = r#"{"code":0,"data":{"biz_code":0,"biz_data":{"chat_session":null,"chat_messages":[
            {"message_id":1,"parent_id":null,"role":"USER","content":"old prompt"},
            {"message_id":2,"parent_id":1,"role":"ASSISTANT","content":"old answer","thinking_content":"hmm"}]}}}"#;
        let old = Expect {
            id: "s-42",
            title: None,
            messages: &[("1", User, "old prompt", None), ("2", Assistant, "old answer", Some("1"))],
            current: "2",
        };
        check(
            Site::Deepseek,
            Some("/api/v0/chat/history_messages?chat_session_id=s-42&cache_version=0"),
            body,
            &old,
        );
        assert!(is_err(Site::Deepseek, None, body));
        // An error envelope, or another endpoint's body, is no read.
        assert!(is_err(Site::Deepseek, Some(path), r#"{"code":40003,"msg":"INVALID_TOKEN","data":null}"#));
        assert!(is_err(Site::Deepseek, Some(path), r#"{"code":0,"data":{"biz_data":{"chat_sessions":[]}}}"#));
        assert!(is_err(Site::Deepseek, Some(path), &fixture("deepseek", "healthy.sse")));
    }

    const GROK: &str = "7f3c1b2a-5d4e-4f60-8a9b-0c1d2e3f4a5b";

    fn grok_id(n: u8) -> String {
        format!("b1a0c2d4-000{n}-4000-8000-00000000000{n}")
    }

    #[test]
    fn grok_reads_are_partial_trees_the_cache_merges_by_id() {
        let (u1, a1, u2, a2, a2b) = (grok_id(1), grok_id(2), grok_id(3), grok_id(4), grok_id(5));
        let nodes_path = format!("/rest/app-chat/conversations/{GROK}/response-node?includeThreads=true");
        let tree = check(
            Site::Grok,
            Some(&nodes_path),
            &fixture("grok", "read-response-node.json"),
            &Expect {
                id: GROK,
                title: None,
                messages: &[
                    (&u1, User, "", None),
                    (&a1, Assistant, "", Some(&u1)),
                    (&u2, User, "", Some(&a1)),
                    (&a2, Assistant, "", Some(&u2)),
                    (&a2b, Assistant, "", Some(&u2)),
                ],
                current: &a2b,
            },
        );
        let texts_path = format!("/rest/app-chat/conversations/{GROK}/load-responses");
        let texts = check(
            Site::Grok,
            Some(&texts_path),
            &fixture("grok", "read-load-responses.json"),
            &Expect {
                id: GROK,
                title: None,
                messages: &[
                    (&u1, User, "Name a prime 🔢", None),
                    // `thinkingTrace` is not kept.
                    (&a1, Assistant, "7 is prime.", Some(&u1)),
                    (&u2, User, "Another, in 日本語?", Some(&a1)),
                    (&a2, Assistant, "十一 (11)", Some(&u2)),
                    (&a2b, Assistant, "十三 (13)", Some(&u2)),
                ],
                current: &a2b,
            },
        );
        assert!(texts.nodes[&a2b].message.as_ref().is_some_and(|m| m.is_incomplete()));
        assert_eq!(texts.nodes[&u1].message.as_ref().and_then(|m| m.create_time), Some(1772359200.0));
        // Merged by id, as the cache does, in either order: the tree's nodes get the texts (the
        // partial answer too: the tree's textless messages are unfinished).
        let text = |c: &Conversation, id: &str| c.nodes[id].message.as_ref().map(|m| m.content.plain_text());
        for (first, second) in [(&tree, &texts), (&texts, &tree)] {
            let mut merged = first.clone();
            merged.merge(second);
            assert_eq!(text(&merged, &a1).as_deref(), Some("7 is prime."));
            assert_eq!(text(&merged, &a2b).as_deref(), Some("十三 (13)"));
            assert_eq!(merged.nodes[&u2].children, [a2.clone(), a2b.clone()]);
        }
        // Neither body names the conversation: without the path nothing is kept.
        assert!(is_err(Site::Grok, None, &fixture("grok", "read-load-responses.json")));
        assert!(is_err(
            Site::Grok,
            Some(&texts_path),
            r#"{"conversation":{"conversationId":"x","title":"t"}}"#
        ));
        assert!(is_err(Site::Grok, Some(&texts_path), r#"{"responses":[],"responseNodes":[]}"#));
        assert!(is_err(Site::Grok, Some(&texts_path), &fixture("grok", "healthy.ndjson")));
    }

    #[test]
    fn grok_cycles_in_a_forged_tree_are_cut() {
        let body = r#"{"responseNodes":[
            {"responseId":"a","sender":"human","parentResponseId":"b"},
            {"responseId":"b","sender":"assistant","parentResponseId":"a"},
            {"responseId":"c","sender":"assistant","parentResponseId":"c"}]}"#;
        let path = format!("/rest/app-chat/conversations/{GROK}/response-node");
        let conv = read(Site::Grok, Some(&path), body);
        assert_eq!(conv.nodes["a"].parent.as_deref(), Some("b"));
        assert_eq!(conv.nodes["b"].parent, None);
        assert_eq!(conv.nodes["c"].parent, None);
        assert!(crate::conversation::main_line(&conv).len() <= 3);
    }

    /// A forged read whose every message is listed after its child, under the deepest message of
    /// a long chain (each would need a long walk to rule out a cycle), and a star of many
    /// children, is read in bounded time: once the walks' budget is spent, such parents are dropped.
    #[test]
    fn a_huge_forged_read_stays_bounded() {
        let n = 20_000;
        let node = |id: String, parent: Option<String>| serde_json::json!({"responseId": id, "sender": "human", "parentResponseId": parent});
        let mut nodes: Vec<serde_json::Value> =
            (0..n).map(|i| node(format!("a{i}"), (i > 0).then(|| format!("a{}", i - 1)))).collect();
        nodes.extend((0..n).map(|i| node(format!("x{i}"), Some(format!("p{i}")))));
        nodes.extend((0..n).map(|i| node(format!("p{i}"), Some(format!("a{}", n - 1)))));
        nodes.extend((0..n).map(|i| node(format!("s{i}"), Some("a0".to_string()))));
        let body = serde_json::json!({ "responseNodes": nodes }).to_string();
        let started = std::time::Instant::now();
        let conv =
            read(Site::Grok, Some(&format!("/rest/app-chat/conversations/{GROK}/response-node")), &body);
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
        let last = format!("a{}", n - 1);
        assert_eq!(conv.nodes["p0"].parent.as_deref(), Some(last.as_str()));
        assert_eq!(conv.nodes[&format!("p{}", n - 1)].parent, None, "the budget is spent");
        assert_eq!(conv.nodes["a0"].children.len(), n + 1);
    }

    #[test]
    fn perplexity_read_is_one_prompt_and_one_answer_per_entry() {
        let slug = "why-is-the-sky-blue-Xs6pxUAfRwqwP8Wg0SsM6Q";
        let (q1, a1) = ("5ecea9c5-401f-470a-b03f-c5a0d12b0ce9:query", "5ecea9c5-401f-470a-b03f-c5a0d12b0ce9");
        let (q2, a2) = ("597b1655-3ab0-4fcc-9e3d-420b7ed7b416:query", "597b1655-3ab0-4fcc-9e3d-420b7ed7b416");
        let expect = Expect {
            id: slug,
            title: Some("Why is the sky blue?"),
            messages: &[
                (q1, User, "Why is the sky blue?", None),
                // The `ask_text` block only: no steps, no sources.
                (a1, Assistant, "Rayleigh scattering [1]: blue light scatters most. 🌍", Some(q1)),
                (q2, User, "And at sunset?", Some(a1)),
                (a2, Assistant, "Longer path: reds remain. 🌅", Some(q2)),
            ],
            current: a2,
        };
        let body = fixture("perplexity", "read.json");
        let path = format!("/rest/thread/{slug}?with_parent_info=true&limit=10&from_first=true");
        let conv = check(Site::Perplexity, Some(&path), &body, &expect);
        assert_eq!(conv.create_time, Some(1769936400.0));
        check(Site::Perplexity, None, &body, &expect);
        // No slug in the entries: the path's.
        let bare = r#"{"entries":[{"backend_uuid":"e1","query_str":"q?","blocks":[]}]}"#;
        let only = Expect {
            id: "s-1",
            title: None,
            messages: &[("e1:query", User, "q?", None)],
            current: "e1:query",
        };
        check(Site::Perplexity, Some("/rest/thread/s-1"), bare, &only);
        assert!(is_err(Site::Perplexity, None, bare));
        assert!(is_err(Site::Perplexity, Some(&path), r#"[{"slug":"x","title":"a thread list"}]"#));
        assert!(is_err(Site::Perplexity, Some(&path), r#"{"entries":[]}"#));
        assert!(is_err(Site::Perplexity, Some(&path), &fixture("perplexity", "healthy.sse")));
    }

    #[test]
    fn copilot_read_is_a_chain_oldest_first_of_text_parts() {
        let expect = Expect {
            id: "abc123",
            title: None,
            messages: &[
                ("ic1ekKWy3E2ZctSTqCLH1", User, "first question 👋🏽", None),
                ("ic1ekKWy3E2ZctSTqCLH2", Assistant, "first answer", Some("ic1ekKWy3E2ZctSTqCLH1")),
                ("ic1ekKWy3E2ZctSTqCLH3", User, "second question", Some("ic1ekKWy3E2ZctSTqCLH2")),
                // Neither the chain of thought nor the citation is answer text.
                ("ic1ekKWy3E2ZctSTqCLH4", Assistant, "Second answer ✨", Some("ic1ekKWy3E2ZctSTqCLH3")),
            ],
            current: "ic1ekKWy3E2ZctSTqCLH4",
        };
        let body = fixture("copilot", "read.json");
        check(Site::Copilot, Some("/c/api/conversations/abc123/history?api-version=2"), &body, &expect);
        // Without times, the site's order (newest first) is reversed.
        let untimed = r#"{"results":[
            {"id":"m2","author":{"type":"ai"},"content":[{"type":"text","text":"a"}]},
            {"id":"m1","author":{"type":"human"},"content":[{"type":"text","text":"q"}]}]}"#;
        let two = Expect {
            id: "c9",
            title: None,
            messages: &[("m1", User, "q", None), ("m2", Assistant, "a", Some("m1"))],
            current: "m2",
        };
        check(Site::Copilot, Some("/c/api/conversations/c9/history"), untimed, &two);
        assert!(is_err(Site::Copilot, None, &body));
        assert!(is_err(Site::Copilot, Some("/c/api/conversations/c9/history"), r#"{"results":[]}"#));
        assert!(is_err(Site::Copilot, Some("/c/api/conversations/c9/history"), r#"{"event":"done"}"#));
    }

    /// Each site's read is no read of any other site: a wrong site's parser keeps nothing.
    #[test]
    fn one_sites_read_is_no_other_sites_read() {
        let reads = [
            (Site::Gemini, fixture("gemini", "read.txt")),
            (Site::Deepseek, fixture("deepseek", "read.json")),
            (Site::Grok, fixture("grok", "read-response-node.json")),
            (Site::Grok, fixture("grok", "read-load-responses.json")),
            (Site::Perplexity, fixture("perplexity", "read.json")),
            (Site::Copilot, fixture("copilot", "read.json")),
            (Site::Claude, fixture("claude", "conversation.json")),
        ];
        let path = Some("/c/api/conversations/c1/history?chat_session_id=s1");
        for (own, body) in &reads {
            for site in
                [Site::Claude, Site::Gemini, Site::Deepseek, Site::Grok, Site::Perplexity, Site::Copilot]
            {
                if site != *own {
                    assert!(is_err(site, path, body), "{own:?}'s read taken by {site:?}");
                }
            }
        }
    }

    #[test]
    fn hostile_reads_are_errors_never_panics() {
        let deep = "[".repeat(100_000);
        let deep_object = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
        let bodies = [
            "",
            "null",
            "\"text\"",
            "12",
            deep.as_str(),
            deep_object.as_str(),
            r#"{"entries":5,"results":"x","responses":{},"data":[]}"#,
            r#"{"data":{"biz_data":{"chat_session":{"id":"s","current_message_id":1e300},"chat_messages":[{"message_id":18446744073709551616,"role":"USER","content":"x"},{"message_id":1.5,"role":"USER"},{"message_id":-1,"role":7}]}}}"#,
            r#"{"responseNodes":[{"responseId":["x"],"sender":7},{"responseId":1e400}]}"#,
            r#"{"responses":[{"responseId":"","sender":"human"},{"responseId":"a b","sender":"human"}]}"#,
            r#"{"entries":[{"backend_uuid":{"a":1},"query_str":"q"},{"backend_uuid":"x","query_str":["q"]}]}"#,
            r#"{"results":[{"id":null,"author":{"type":"human"}},{"id":"m","author":"robot"},{"id":"n","author":{"type":["ai"]}}]}"#,
            ")]}'\n\n99999999999999999999999\n[[\"wrb.fr\"]]\n",
            ")]}'\n\n5\n[[\"wrb.fr\",\"hNvQHb\",\"[[[[1e999]]]]\"]]\n",
        ];
        let paths = [
            None,
            Some("/rest/app-chat/conversations/c1/load-responses"),
            Some("/c/api/conversations/c1/history"),
        ];
        for site in [Site::Gemini, Site::Deepseek, Site::Grok, Site::Perplexity, Site::Copilot] {
            for body in bodies {
                for path in paths {
                    assert!(is_err(site, path, body), "{site:?} {path:?} {}", &body[..body.len().min(80)]);
                }
            }
        }
        // A number too large for any integer is no id, and a forged huge time no time.
        assert_eq!(read_id(serde_json::from_str::<serde_json::Value>("1e20").ok().as_ref()), None);
        assert_eq!(read_time(Some(&serde_json::json!(1e300))), None);
        assert_eq!(read_time(Some(&serde_json::json!(-5))), None);
        assert!(parse_body(Site::Mistral, None, "{}").is_none());
        assert!(parse_body(Site::Chatgpt, None, "{}").is_none());
    }
}
