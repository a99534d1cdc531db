//! chat.deepseek.com's answer stream: server-sent events whose data are `{v, p, o}` patches.
//!
//! `event: ready` names the prompt and the answer (`request_message_id`, `response_message_id`).
//! A first `{"v": {"response": {...}}}` sets the document; then each patch sets (`o` absent or
//! `SET`), appends (`APPEND`: to a string, or items to an array) or applies a list of patches
//! relative to its path (`BATCH`) at a `/` path, where `-1` is an array's last item. A bare
//! `{"v": ...}` continues the last path with the last op. The answer is the text of the
//! `RESPONSE` fragments (`THINK` fragments are thinking; older streams write `response/content`
//! and `response/thinking_content`). `event: finish` and `event: close` end it; `event: title`
//! names the conversation.
//!
//! Errors: `event: error` (and a `hint`, judged by its text only), and `{code, msg, data:
//! {biz_code, biz_msg}}` envelopes with a non-zero code. "服务器繁忙，请稍后再试" (server busy) is
//! what the adapter's phrases know. The answer's own text is never judged: the model may quote it.
//!
//! [`parse_read`] reads the conversation read, `GET /api/v0/chat/history_messages?chat_session_id=…`
//! (shape from the raw export sample of ceyaima/deepseek-exporter,
//! `samples/DeepSeek - test_chat_raw_2025-11-22T15-53-07.json`, and the exporters reading
//! `data.biz_data.chat_session.current_message_id`): `{code, msg, data: {biz_code, biz_data:
//! {chat_session: {id, title, current_message_id, inserted_at, updated_at}, chat_messages:
//! [{message_id, parent_id, role: USER|ASSISTANT, status, inserted_at, fragments: [{type:
//! REQUEST|THINK|RESPONSE|…, content}]}]}}}`. Every branch is kept (regenerated answers share a
//! parent); a user message's text is its `REQUEST` fragments, an answer's its `RESPONSE` ones
//! (older messages without fragments: `content`, never `thinking_content`).

use serde_json::{Map, Value};

use super::{
    Answer, ReadTree, SiteDecoder, SseOrJson, code_text, read_conversation_id, read_id, read_json, read_time,
};
use crate::conversation::{Conversation, Message, Role};
use crate::detect::Kind;
use crate::page::Turn;
use crate::page::body::BodyError;
use crate::site::Site;

/// One DeepSeek answer stream being decoded.
#[derive(Debug, Clone)]
pub struct DeepseekStream {
    /// The events, or an error answered as a bare JSON envelope instead.
    stream: SseOrJson,
    state: State,
}

#[derive(Debug, Clone)]
struct State {
    answer: Answer,
    doc: Value,
    last_path: Option<String>,
    last_op: String,
}

impl Default for DeepseekStream {
    fn default() -> Self {
        Self::new()
    }
}

impl DeepseekStream {
    /// A decoder for one answer stream.
    pub fn new() -> Self {
        DeepseekStream {
            stream: SseOrJson::default(),
            state: State {
                answer: Answer::new(Site::Deepseek),
                doc: Value::Object(Map::new()),
                last_path: None,
                last_op: "SET".to_string(),
            },
        }
    }
}

impl SiteDecoder for DeepseekStream {
    fn feed(&mut self, bytes: &[u8]) {
        let state = &mut self.state;
        self.stream.feed(bytes, |event, data| state.event(event, data));
    }

    fn finish(&mut self) {
        let state = &mut self.state;
        if let Some(v) = self.stream.finish(|event, data| state.event(event, data)) {
            self.state.data(v);
        }
    }

    fn turn(&self) -> Turn {
        let mut a = self.state.answer.clone();
        a.replace(&answer_text(&self.state.doc));
        if self.state.doc.pointer("/response/status").and_then(Value::as_str) == Some("FINISHED") {
            a.done();
        }
        a.turn()
    }
}

impl State {
    fn event(&mut self, name: &str, data: &str) {
        let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
        let a = &mut self.answer;
        match name {
            "ready" => {
                a.user_id = a.user_id.take().or_else(|| code_text(v.get("request_message_id")));
                a.id = a.id.take().or_else(|| code_text(v.get("response_message_id")));
            }
            "title" => Answer::learn(&mut a.title, v.get("content").and_then(Value::as_str)),
            "finish" | "close" => a.done(),
            "error" | "hint" => {
                let message = ["content", "msg", "message"]
                    .iter()
                    .find_map(|k| v.get(k).and_then(Value::as_str))
                    .or(v.as_str())
                    .unwrap_or(data);
                let code = code_text(v.get("code").or(v.get("type")));
                let fallback = (name == "error").then_some(Kind::UnknownError);
                if let Some(err) = a.judge(code.as_deref(), message, fallback) {
                    a.fail(err);
                }
            }
            _ => self.data(v),
        }
    }

    fn data(&mut self, v: Value) {
        let Value::Object(mut o) = v else { return };
        if o.contains_key("code") && !o.contains_key("v") {
            self.envelope(&Value::Object(o));
            return;
        }
        let Some(value) = o.remove("v") else { return };
        let path = o.get("p").and_then(Value::as_str).map(str::to_string);
        let op = o.get("o").and_then(Value::as_str).map(str::to_string);
        match (path, op) {
            (None, None) if self.last_path.is_none() => {
                // The first document: merged into the root.
                if let (Value::Object(root), Value::Object(fields)) = (&mut self.doc, value) {
                    root.extend(fields);
                }
            }
            (None, op) => {
                let path = self.last_path.clone().unwrap_or_default();
                let op = op.unwrap_or_else(|| self.last_op.clone());
                apply(&mut self.doc, &path, &op, value);
            }
            (Some(path), op) => {
                let op = op.unwrap_or_else(|| "SET".to_string());
                apply(&mut self.doc, &path, &op, value);
                self.last_path = Some(path);
                self.last_op = op;
            }
        }
    }

    /// `{code, msg, data: {biz_code, biz_msg}}`: an error when either code is not 0.
    fn envelope(&mut self, v: &Value) {
        let nonzero = |c: Option<&Value>| c.is_some_and(|c| c.as_i64() != Some(0) && !c.is_null());
        let biz = v.get("data").filter(|d| d.is_object());
        let (code, message) = if nonzero(biz.and_then(|d| d.get("biz_code"))) {
            (biz.and_then(|d| d.get("biz_code")), biz.and_then(|d| d.get("biz_msg")))
        } else if nonzero(v.get("code")) {
            (v.get("code"), v.get("msg"))
        } else {
            return;
        };
        let message = message.and_then(Value::as_str).unwrap_or("");
        if let Some(err) = self.answer.judge(code_text(code).as_deref(), message, Some(Kind::UnknownError)) {
            self.answer.fail(err);
        }
    }
}

/// Applies one patch at `path` (`/`-separated, relative to the root).
fn apply(root: &mut Value, path: &str, op: &str, value: Value) {
    if op.eq_ignore_ascii_case("BATCH") {
        let Value::Array(items) = value else { return };
        for item in items {
            let Value::Object(mut o) = item else { continue };
            let Some(v) = o.remove("v") else { continue };
            let sub = o.get("p").and_then(Value::as_str).unwrap_or("");
            let sub_op = o.get("o").and_then(Value::as_str).unwrap_or("SET");
            let full = match (path.is_empty(), sub.is_empty()) {
                (true, _) => sub.to_string(),
                (false, true) => path.to_string(),
                (false, false) => format!("{path}/{sub}"),
            };
            apply(root, &full, sub_op, v);
        }
        return;
    }
    let Some(slot) = slot(root, path) else { return };
    if op.eq_ignore_ascii_case("APPEND") {
        match (slot, value) {
            (Value::String(s), Value::String(t)) => s.push_str(&t),
            (Value::Array(a), Value::Array(items)) => a.extend(items),
            (Value::Array(a), item) => a.push(item),
            (slot @ Value::Null, v) => *slot = v,
            _ => {}
        }
    } else {
        *slot = value;
    }
}

/// The most segments a path may have.
const MAX_DEPTH: usize = 32;

/// The value at `path`, objects created for missing keys; `None` when an index is out of range
/// or a step meets a value of another kind.
fn slot<'a>(root: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    // Deeper than DeepSeek's documents go (`response/fragments/-1/content`): a forged path of
    // thousands of segments would build a tree too deep to drop without running out of stack.
    if path.split('/').filter(|s| !s.is_empty()).nth(MAX_DEPTH).is_some() {
        return None;
    }
    let mut at = root;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        at = match at {
            Value::Array(items) => {
                let i = if seg == "-1" { items.len().checked_sub(1)? } else { seg.parse().ok()? };
                items.get_mut(i)?
            }
            Value::Object(o) => o.entry(seg.to_string()).or_insert(Value::Null),
            v @ Value::Null => {
                *v = Value::Object(Map::new());
                v.as_object_mut()?.entry(seg.to_string()).or_insert(Value::Null)
            }
            _ => return None,
        };
    }
    Some(at)
}

/// The visible answer: the `RESPONSE` fragments' text, or the older `response/content`.
fn answer_text(doc: &Value) -> String {
    let response = doc.get("response");
    if let Some(fragments) = response.and_then(|r| r.get("fragments")).and_then(Value::as_array) {
        return fragments
            .iter()
            .filter(|f| f.get("type").and_then(Value::as_str) == Some("RESPONSE"))
            .filter_map(|f| f.get("content").and_then(Value::as_str))
            .collect();
    }
    response.and_then(|r| r.get("content")).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Reads a DeepSeek conversation read (`history_messages`) into the cached tree, keyed by the
/// chat session's id (the body's `chat_session.id`, else the request's `chat_session_id`).
pub fn parse_read(path: Option<&str>, body: &str) -> Result<Conversation, BodyError> {
    let v = read_json(body)?;
    let biz = v
        .get("data")
        .and_then(|d| d.get("biz_data"))
        .ok_or_else(|| BodyError::Malformed("no data.biz_data".into()))?;
    let messages = biz
        .get("chat_messages")
        .and_then(Value::as_array)
        .ok_or_else(|| BodyError::Malformed("no chat_messages".into()))?;
    let session = biz.get("chat_session").filter(|s| s.is_object());
    let id = read_conversation_id(Site::Deepseek, read_id(session.and_then(|s| s.get("id"))), path)?;
    let mut tree = ReadTree::new(id);
    let conv = tree.conversation();
    conv.title = session
        .and_then(|s| s.get("title"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    conv.create_time = read_time(session.and_then(|s| s.get("inserted_at")));
    conv.update_time = read_time(session.and_then(|s| s.get("updated_at")));
    for m in messages {
        let Some(message_id) = read_id(m.get("message_id")) else { continue };
        let (role, kind) = match m.get("role").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref()
        {
            Some("USER") => (Role::User, "REQUEST"),
            Some("ASSISTANT") => (Role::Assistant, "RESPONSE"),
            _ => continue,
        };
        let text = match m.get("fragments").and_then(Value::as_array) {
            Some(fragments) => fragments
                .iter()
                .filter(|f| f.get("type").and_then(Value::as_str) == Some(kind))
                .filter_map(|f| f.get("content").and_then(Value::as_str))
                .collect::<String>(),
            None => m.get("content").and_then(Value::as_str).unwrap_or("").to_string(),
        };
        let mut message = Message::new(message_id, role, text);
        message.create_time = read_time(m.get("inserted_at"));
        message.status = match m.get("status").and_then(Value::as_str) {
            Some("FINISHED") => Some("finished_successfully".to_string()),
            Some("WIP") => Some("in_progress".to_string()),
            _ => None,
        };
        let parent = read_id(m.get("parent_id"));
        tree.add(parent.as_deref(), message);
    }
    tree.finish(read_id(session.and_then(|s| s.get("current_message_id"))))
}
