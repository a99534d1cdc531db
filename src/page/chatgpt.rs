//! ChatGPT's answer streams, as the page receives them (late 2026; facts and sources in the
//! reference notes on the ChatGPT page).
//!
//! One [`ChatgptStream`] follows one turn: the `POST …/f/conversation` stream, then, when the
//! answer was handed off, the resume stream (`…/f/conversation/resume`) and/or the WebSocket
//! frames that continue it. It reads:
//! - server-sent events in any chunking ([`SseParser`]);
//! - "delta encoding v1": `event: delta_encoding` / `data: "v1"`, then `delta` events
//!   `{"c","p","o","v"}` with carry-forward (a delta without `c`, `p` or `o` reuses the previous
//!   delta's), applied to one root object per channel ([`super::patch`]);
//! - legacy snapshot events (`{"message": {...}, "conversation_id", "error"}`) and the legacy
//!   error (`{"message": null, "error": "..."}`);
//! - the typed events (`title_generation`, `input_message`, `message_stream_complete`,
//!   `stream_handoff`, `moderation`, `error`, ...);
//! - WebSocket frames whose `encoded_item` is a slice of the same SSE text, deduplicated by
//!   `stream_item_id`, and the socket's `done`.
//!
//! Nothing the page echoes back is kept: hidden system messages, the user's profile and custom
//! instructions, memory, thoughts and tool-internal messages keep only their place in the tree
//! ([`super::keepable`]); the resume token is never read.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::patch::{self, Op};
use super::{End, StreamError, Turn, TurnNode, message_of};
use crate::conversation::Message;
use crate::stream::SseParser;

/// The largest event, line or frame the decoder buffers (bytes).
pub const MAX_EVENT: usize = 32 << 20;

/// The prompt and context of a send request body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    /// `conversation_id` (absent for a new chat).
    pub conversation_id: Option<String>,
    /// `parent_message_id` (the message the prompt answers), unless it is the client's root.
    pub parent_id: Option<String>,
    /// The user's message (the last user message of `messages`), if any.
    pub prompt: Option<Message>,
    /// `offset` of a resume request (SSE events already consumed).
    pub offset: Option<u64>,
    /// A temporary chat: `history_and_training_disabled`, `is_do_not_remember` or
    /// `is_temporary_chat` true.
    pub temporary: bool,
}

impl Request {
    /// Reads a request body (JSON text); `None` when it is not a JSON object.
    pub fn parse(body: &str) -> Option<Request> {
        let v: Value = serde_json::from_str(body).ok()?;
        let o = v.as_object()?;
        let s = |k: &str| o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let flag = |k: &str| o.get(k).and_then(Value::as_bool) == Some(true);
        let prompt = o
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|ms| {
                ms.iter().rev().find(|m| m.pointer("/author/role").and_then(Value::as_str) == Some("user"))
            })
            .and_then(|m| {
                let mut m: Message = serde_json::from_value(m.clone()).ok()?;
                m.status.get_or_insert_with(|| "finished_successfully".into());
                Some(super::keepable(m))
            });
        Some(Request {
            conversation_id: s("conversation_id"),
            parent_id: s("parent_message_id").filter(|p| p != "client-created-root"),
            prompt,
            offset: o.get("offset").and_then(Value::as_u64),
            temporary: flag("history_and_training_disabled")
                || flag("is_do_not_remember")
                || flag("is_temporary_chat"),
        })
    }
}

/// Where a message's latest state lives: a channel's root (still being patched) or a frozen copy.
#[derive(Debug, Clone)]
enum Slot {
    Channel(u64),
    Frozen(Value),
}

/// The decoding state of one turn (everything but the SSE parsers).
#[derive(Debug, Default)]
struct State {
    request: Option<Request>,
    v1: bool,
    c: u64,
    p: String,
    /// `p` split into its segments (parsed once per path change).
    p_segs: Option<Vec<String>>,
    /// Text of bare deltas not yet appended at the carried channel and path (appended in one go
    /// before anything else touches the tree, and at the end of every batch).
    acc: String,
    o: Option<Op>,
    channels: HashMap<u64, Value>,
    /// Messages in order of first sight: (id, where its state is).
    slots: Vec<(String, Slot)>,
    by_id: HashMap<String, usize>,
    /// The slot each channel's root message occupies.
    channel_slot: HashMap<u64, usize>,
    conversation_id: Option<String>,
    title: Option<String>,
    saw_done: bool,
    handoff: bool,
    complete: bool,
    error: Option<StreamError>,
    /// SSE events seen (all but the `delta_encoding` declaration): what a resume's `offset` counts.
    events: u64,
    /// Events still to pass over (a resume that replays what was already read).
    skip: u64,
    items: HashSet<String>,
    /// Operations or events that did not fit (counted, never guessed).
    refused: u64,
    /// Bumped on every change, so a reader can tell whether anything is new.
    revision: u64,
    temporary: bool,
}

/// The decoder of one ChatGPT turn (see the module documentation).
#[derive(Debug)]
pub struct ChatgptStream {
    sse: SseParser,
    items: SseParser,
    st: State,
    ended: bool,
}

impl Default for ChatgptStream {
    fn default() -> Self {
        Self::new(None)
    }
}

impl ChatgptStream {
    /// A decoder for a turn started by `request` (the send body, when known).
    pub fn new(request: Option<Request>) -> Self {
        let mut st = State {
            temporary: request.as_ref().is_some_and(|r| r.temporary),
            p_segs: Some(Vec::new()),
            ..State::default()
        };
        st.conversation_id = request.as_ref().and_then(|r| r.conversation_id.clone());
        st.request = request;
        st.revision = 1;
        ChatgptStream {
            sse: SseParser::with_limit(MAX_EVENT),
            items: SseParser::with_limit(MAX_EVENT),
            st,
            ended: false,
        }
    }

    /// Feeds bytes of a send or resume stream, in order, in any chunking.
    pub fn feed(&mut self, bytes: &[u8]) {
        let st = &mut self.st;
        if self.sse.feed(bytes, |ev| st.event(&ev.event, &ev.data)).is_err() {
            st.refused += 1;
        }
        st.flush();
    }

    /// A resume stream of the same turn begins (its request's `offset`: events already consumed).
    /// Events the decoder already read are passed over when the resume replays them.
    pub fn resume(&mut self, offset: Option<u64>) {
        self.sse.finish();
        self.ended = false;
        // What ended the earlier stream (a handoff and its `[DONE]`) is not how this one ends.
        self.st.handoff = false;
        self.st.saw_done = false;
        if let Some(off) = offset {
            self.st.skip = self.st.events.saturating_sub(off);
        }
    }

    /// The current stream of bytes ended (the connection closed, or the page stopped reading).
    pub fn finish(&mut self) {
        self.st.flush();
        if self.sse.finish() {
            self.st.refused += 1;
        }
        self.ended = true;
        self.st.revision += 1;
    }

    /// Feeds one WebSocket frame (JSON text) that belongs to this turn.
    pub fn frame(&mut self, frame: &Value) {
        let inner = frame.pointer("/payload/payload").unwrap_or(&Value::Null);
        let kind = |v: &Value| v.get("type").and_then(Value::as_str).map(str::to_string);
        if [kind(frame), kind(frame.get("payload").unwrap_or(&Value::Null)), kind(inner)]
            .iter()
            .any(|k| k.as_deref() == Some("done"))
        {
            self.st.complete = true;
            self.st.handoff = false;
            self.st.revision += 1;
            return;
        }
        if let Some(c) = inner.get("conversation_id").and_then(Value::as_str) {
            self.st.set_conversation(c);
        }
        let Some(item) = inner.get("encoded_item").and_then(Value::as_str) else { return };
        if let Some(id) = inner.get("stream_item_id").map(|v| v.to_string())
            && !self.st.items.insert(id)
        {
            return; // a replayed item
        }
        let st = &mut self.st;
        if self.items.feed(item.as_bytes(), |ev| st.event(&ev.event, &ev.data)).is_err() {
            st.refused += 1;
        }
        st.flush();
    }

    /// The error the stream reported, if any.
    pub fn error(&self) -> Option<&StreamError> {
        self.st.error.as_ref()
    }

    /// The conversation id, once known.
    pub fn conversation_id(&self) -> Option<&str> {
        self.st.conversation_id.as_deref()
    }

    /// The send request this turn started from.
    pub fn request(&self) -> Option<&Request> {
        self.st.request.as_ref()
    }

    /// A counter that changes whenever the decoded state does.
    pub fn revision(&self) -> u64 {
        self.st.revision
    }

    /// Events or operations that did not fit the grammar (for diagnostics).
    pub fn refused(&self) -> u64 {
        self.st.refused
    }

    /// SSE events read so far (what a resume `offset` counts).
    pub fn events(&self) -> u64 {
        self.st.events
    }

    /// Marks the turn temporary (never kept).
    pub fn set_temporary(&mut self) {
        self.st.temporary = true;
    }

    /// How the turn ended so far (`None` while bytes still flow and nothing terminal came).
    pub fn end(&self) -> Option<End> {
        let st = &self.st;
        let end = if st.error.is_some() {
            End::Error
        } else if st.complete {
            End::Done
        } else if st.handoff {
            End::Handoff
        } else if st.saw_done || st.final_answer_done() {
            End::Done
        } else if self.ended {
            End::Truncated
        } else {
            return None;
        };
        Some(end)
    }

    /// What the turn showed so far.
    pub fn turn(&self) -> Turn {
        let st = &self.st;
        let end = self.end();
        let done = end == Some(End::Done);
        let prompt = st.request.as_ref().and_then(|r| r.prompt.as_ref());
        let mut nodes: Vec<TurnNode> = Vec::with_capacity(st.slots.len() + 1);
        if let Some(p) = prompt
            && !st.by_id.contains_key(&p.id)
        {
            nodes.push(TurnNode {
                parent: st.request.as_ref().and_then(|r| r.parent_id.clone()),
                message: p.clone(),
            });
        }
        for (_, slot) in &st.slots {
            let v = match slot {
                Slot::Channel(c) => st.channels.get(c).and_then(|r| r.get("message")),
                Slot::Frozen(v) => Some(v),
            };
            let Some((mut m, mut parent)) = v.and_then(message_of) else { continue };
            if prompt.is_some_and(|p| p.id == m.id) {
                // The page's own idea of where its prompt goes (the previous visible message).
                parent = st.request.as_ref().and_then(|r| r.parent_id.clone());
            }
            if done && m.is_incomplete() {
                m.status = Some("finished_successfully".into());
            }
            nodes.push(TurnNode { parent, message: m });
        }
        // A visible message whose parent this turn never showed (a continuation that skipped the
        // echo) hangs from the visible message before it, so the answer stays with its prompt.
        let known: std::collections::HashSet<String> = nodes.iter().map(|n| n.message.id.clone()).collect();
        let mut previous: Option<String> = None;
        for n in &mut nodes {
            if !n.is_visible() {
                continue;
            }
            if let Some(p) = &previous
                && n.parent.as_ref().is_none_or(|q| !known.contains(q))
            {
                n.parent = Some(p.clone());
            }
            previous = Some(n.message.id.clone());
        }
        let current = previous;
        Turn {
            conversation_id: st.conversation_id.clone(),
            title: st.title.clone(),
            nodes,
            current,
            end,
            error: st.error.clone(),
            temporary: st.temporary,
        }
    }
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            o.get("message").or_else(|| o.get("detail")).and_then(Value::as_str).map(str::to_string)
        }
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn code_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => code_of(o.get("code")),
        _ => None,
    }
}

impl State {
    fn set_conversation(&mut self, id: &str) {
        if !id.is_empty() && self.conversation_id.as_deref() != Some(id) {
            self.conversation_id = Some(id.to_string());
            self.revision += 1;
        }
    }

    fn final_answer_done(&self) -> bool {
        self.slots.iter().rev().any(|(_, slot)| {
            let v = match slot {
                Slot::Channel(c) => self.channels.get(c).and_then(|r| r.get("message")),
                Slot::Frozen(v) => Some(v),
            };
            v.is_some_and(|m| {
                m.pointer("/author/role").and_then(Value::as_str) == Some("assistant")
                    && m.get("recipient").and_then(Value::as_str).is_none_or(|r| r == "all")
                    && m.get("channel").and_then(Value::as_str).is_none_or(|c| c == "final")
                    && m.get("status").and_then(Value::as_str) == Some("finished_successfully")
                    && m.get("end_turn").and_then(Value::as_bool) == Some(true)
            })
        })
    }

    /// One SSE event.
    fn event(&mut self, name: &str, data: &str) {
        if name == "delta_encoding" {
            self.v1 = true;
            return;
        }
        self.events += 1;
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        let data = data.trim_ascii();
        if name == "delta" && self.bare_text(data) {
            return;
        }
        self.flush();
        if data == "[DONE]" {
            self.saw_done = true;
            self.revision += 1;
            return;
        }
        let Ok(Value::Object(mut o)) = serde_json::from_str::<Value>(data) else {
            if data.starts_with('"') && name.is_empty() {
                return; // a bare string event (e.g. "v1" declared without its event name)
            }
            self.refused += 1;
            return;
        };
        if name != "delta"
            && let Some(t) = o.get("type").and_then(Value::as_str)
        {
            let t = t.to_string();
            self.typed(&t, &mut o);
        } else if name == "delta" || (o.contains_key("v") && !o.contains_key("message")) {
            self.delta(o);
        } else if o.contains_key("message") || o.contains_key("error") {
            self.legacy(o);
        }
    }

    fn stream_error(&mut self, kind: &str, message: Option<String>, code: Option<String>) {
        if self.error.is_none() {
            self.error = Some(StreamError {
                kind: Some(kind.to_string()),
                code,
                message: message.unwrap_or_default(),
                retry_at_ms: None,
            });
            self.revision += 1;
        }
    }

    /// An error set on a root (`error`, `error_code`), v1 or legacy.
    fn root_error(&mut self, root: &Value) {
        let err = root.get("error").filter(|e| !e.is_null());
        let code = root.get("error_code").filter(|e| !e.is_null());
        if err.is_some() || code.is_some() {
            let message = text_of(err);
            let code =
                code_of(code).or_else(|| err.and_then(|e| e.get("code")).and_then(|c| code_of(Some(c))));
            self.stream_error("stream_error", message, code);
        }
    }

    fn typed(&mut self, t: &str, o: &mut serde_json::Map<String, Value>) {
        if let Some(c) = o.get("conversation_id").and_then(Value::as_str) {
            let c = c.to_string();
            self.set_conversation(&c);
        }
        match t {
            "title_generation" => {
                if let Some(title) = o.get("title").and_then(Value::as_str)
                    && self.title.as_deref() != Some(title)
                {
                    self.title = Some(title.to_string());
                    self.revision += 1;
                }
            }
            "message_stream_complete" => {
                self.complete = true;
                self.handoff = false;
                self.revision += 1;
            }
            "stream_handoff" => {
                self.handoff = true;
                self.complete = false;
                self.revision += 1;
            }
            "moderation" => {
                let r = o.get("moderation_response");
                if r.and_then(|r| r.get("blocked")).and_then(Value::as_bool) == Some(true) {
                    let code = code_of(r.and_then(|r| r.get("code")));
                    self.stream_error(
                        "refused",
                        Some("The answer was withheld by ChatGPT's content policy.".into()),
                        code,
                    );
                }
            }
            "error" => {
                let message = text_of(o.get("error"))
                    .or_else(|| text_of(o.get("message")))
                    .or_else(|| text_of(o.get("detail")));
                let code = code_of(o.get("code"))
                    .or_else(|| code_of(o.get("error_code")))
                    .or_else(|| o.get("error").and_then(|e| e.get("code")).and_then(|c| code_of(Some(c))));
                self.stream_error("error", message, code);
            }
            "input_message" => {
                if let Some(m) = o.remove("input_message")
                    && let Some(id) = m.get("id").and_then(Value::as_str).map(str::to_string)
                    && !self.by_id.contains_key(&id)
                {
                    self.by_id.insert(id.clone(), self.slots.len());
                    self.slots.push((id, Slot::Frozen(m)));
                    self.revision += 1;
                }
            }
            _ => {}
        }
    }

    fn legacy(&mut self, mut o: serde_json::Map<String, Value>) {
        if let Some(c) = o.get("conversation_id").and_then(Value::as_str) {
            let c = c.to_string();
            self.set_conversation(&c);
        }
        let root = Value::Object(std::mem::take(&mut o));
        self.root_error(&root);
        let Value::Object(mut o) = root else { return };
        let Some(m) = o.remove("message").filter(Value::is_object) else { return };
        let Some(id) = m.get("id").and_then(Value::as_str).map(str::to_string) else { return };
        match self.by_id.get(&id) {
            Some(&i) => self.slots[i].1 = Slot::Frozen(m),
            None => {
                self.by_id.insert(id.clone(), self.slots.len());
                self.slots.push((id, Slot::Frozen(m)));
            }
        }
        self.revision += 1;
    }

    /// The usual delta, `{"v":"…"}`: one token appended at the carried path (no object built).
    /// False when `data` is anything else, or the carried op is not an append to a string.
    fn bare_text(&mut self, data: &str) -> bool {
        if self.o != Some(Op::Append)
            || !data.as_bytes().starts_with(b"{\"v\":\"")
            || !data.as_bytes().ends_with(b"}")
        {
            return false;
        }
        let literal = &data[5..data.len() - 1];
        // Most tokens have no escapes: the text is the literal's inside, as it is (a byte loop:
        // tokens are a few bytes long).
        let b = literal.as_bytes();
        let plain = b.len() >= 2
            && b[b.len() - 1] == b'"'
            && !b[1..b.len() - 1].iter().any(|&c| c == b'"' || c == b'\\');
        let text: std::borrow::Cow<'_, str> = if plain {
            literal[1..literal.len() - 1].into()
        } else {
            match serde_json::from_str(literal) {
                Ok(t) => t,
                Err(_) => return false,
            }
        };
        if self.acc.is_empty() {
            // The first token of a run: there must be a string at the carried path.
            let Some(segs) = self.p_segs.as_deref() else { return false };
            let Some(root) = self.channels.get_mut(&self.c) else { return false };
            if !patch::append_text(root, segs, "") {
                return false;
            }
        }
        self.acc.push_str(&text);
        self.revision += 1;
        true
    }

    /// Appends the accumulated bare-delta text where it belongs.
    fn flush(&mut self) {
        if self.acc.is_empty() {
            return;
        }
        if let (Some(segs), Some(root)) = (self.p_segs.as_deref(), self.channels.get_mut(&self.c)) {
            patch::append_text(root, segs, &self.acc);
        }
        self.acc.clear();
    }

    fn delta(&mut self, mut o: serde_json::Map<String, Value>) {
        let v = o.remove("v").unwrap_or(Value::Null);
        let new_channel = match o.get("c").and_then(Value::as_u64) {
            Some(c) => {
                let fresh = !self.channels.contains_key(&c);
                self.c = c;
                fresh
            }
            None => false,
        };
        match o.remove("p") {
            Some(Value::String(p)) if p != self.p => {
                self.p_segs = patch::segments(&p);
                self.p = p;
            }
            Some(Value::String(_)) => {}
            Some(_) => {
                self.refused += 1;
                return;
            }
            None => {}
        }
        if let Some(op) = o.get("o").and_then(Value::as_str) {
            match Op::parse(op) {
                Some(op) => self.o = Some(op),
                None => {
                    self.refused += 1;
                    return;
                }
            }
        }
        // A new channel's first value that holds a message is that channel's root, whatever
        // the carried path and op would say.
        if new_channel && !o.contains_key("p") && v.get("message").is_some_and(Value::is_object) {
            self.p.clear();
            self.p_segs = Some(Vec::new());
            self.o = Some(Op::Add);
        }
        let Some(op) = self.o else {
            self.refused += 1;
            return;
        };
        if self.p.is_empty() && op == Op::Add {
            self.root_add(self.c, v);
            return;
        }
        let c = self.c;
        let Some(root) = self.channels.get_mut(&c) else {
            self.refused += 1;
            return;
        };
        let Some(segs) = self.p_segs.as_deref() else {
            self.refused += 1;
            return;
        };
        if patch::apply_at(root, &self.p, segs, op, v).is_err() {
            self.refused += 1;
            return;
        }
        self.revision += 1;
        if op == Op::Patch || self.p.starts_with("/error") {
            let root = root.clone_error_fields();
            self.root_error(&root);
        }
        if op == Op::Patch || self.p == "/message" {
            self.rebind(c);
        }
    }

    /// A channel's root was set: its message takes (or keeps) its place in the order.
    fn root_add(&mut self, c: u64, root: Value) {
        if let Some(id) = root.get("conversation_id").and_then(Value::as_str) {
            let id = id.to_string();
            self.set_conversation(&id);
        }
        self.root_error(&root);
        if let Some(old) = self.channels.insert(c, root)
            && let Some(&slot) = self.channel_slot.get(&c)
            && let Some(m) = old.get("message").cloned()
        {
            self.slots[slot].1 = Slot::Frozen(m);
            self.channel_slot.remove(&c);
        }
        self.rebind(c);
        self.revision += 1;
    }

    /// Binds channel `c`'s root message to its slot (by message id).
    fn rebind(&mut self, c: u64) {
        let Some(id) = self.channels.get(&c).and_then(|r| r.pointer("/message/id")).and_then(Value::as_str)
        else {
            return;
        };
        if let Some(&slot) = self.channel_slot.get(&c)
            && self.slots[slot].0 == id
        {
            return;
        }
        let id = id.to_string();
        let slot = match self.by_id.get(&id) {
            Some(&i) => i,
            None => {
                self.by_id.insert(id.clone(), self.slots.len());
                self.slots.push((id, Slot::Channel(c)));
                self.slots.len() - 1
            }
        };
        self.slots[slot].1 = Slot::Channel(c);
        self.channel_slot.insert(c, slot);
    }
}

/// The root fields an error check reads, copied out of a channel root (cheap: no message).
trait ErrorFields {
    fn clone_error_fields(&self) -> Value;
}

impl ErrorFields for Value {
    fn clone_error_fields(&self) -> Value {
        let mut o = serde_json::Map::new();
        for k in ["error", "error_code"] {
            if let Some(v) = self.get(k) {
                o.insert(k.to_string(), v.clone());
            }
        }
        Value::Object(o)
    }
}

/// Decodes a whole stream fed in chunks of `chunk` bytes (all at once when 0): what the command
/// line and the tests use.
pub fn decode_stream(request: Option<Request>, bytes: &[u8], chunk: usize) -> Turn {
    let mut d = ChatgptStream::new(request);
    if chunk == 0 {
        d.feed(bytes);
    } else {
        for c in bytes.chunks(chunk) {
            d.feed(c);
        }
    }
    d.finish();
    d.turn()
}
