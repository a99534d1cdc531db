//! claude.ai's answer stream: server-sent events (CRLF) shaped like Anthropic's Messages API.
//!
//! `message_start` names the answer (`message.uuid`) and the prompt it answers (`parent_uuid`);
//! `content_block_delta` events with a `text_delta` append to the answer (`thinking_delta`,
//! `thinking_summary_delta` and `input_json_delta` are not answer text); `message_stop` ends it.
//! `message_limit` reports the usage window: `exceeded_limit` (with `resetsAt`, or a window whose
//! status is `exceeded_limit` with its `resets_at`) is a rate limit until that time. An `error`
//! event carries Anthropic's error types (`overloaded_error`, ...). A body that is no stream at
//! all (a 429 with the same error JSON, whose message may itself be the limit's JSON) is read at
//! the end.
//!
//! [`parse_conversation`] reads the conversation body (the tree, like ChatGPT's mapping).
//!
//! A limit reported after a complete answer leaves the answer complete (`end` stays `done`) and
//! still reports the limit as the error: the next message is the one it stops.

use serde_json::Value;

use super::{Answer, SiteDecoder, SseOrJson};
use crate::conversation::{Conversation, Message, Role};
use crate::detect::Kind;
use crate::page::body::BodyError;
use crate::page::{End, Turn};
use crate::site::Site;

/// One claude.ai answer stream being decoded.
#[derive(Debug, Clone)]
pub struct ClaudeStream {
    stream: SseOrJson,
    state: State,
}

#[derive(Debug, Clone)]
struct State {
    answer: Answer,
    stopped: bool,
}

impl Default for ClaudeStream {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaudeStream {
    /// A decoder for one answer stream.
    pub fn new() -> Self {
        ClaudeStream {
            stream: SseOrJson::default(),
            state: State { answer: Answer::new(Site::Claude), stopped: false },
        }
    }
}

impl SiteDecoder for ClaudeStream {
    fn feed(&mut self, bytes: &[u8]) {
        let state = &mut self.state;
        self.stream.feed(bytes, |event, data| state.event(event, data));
    }

    fn finish(&mut self) {
        let state = &mut self.state;
        if let Some(v) = self.stream.finish(|event, data| state.event(event, data)) {
            self.state.json(&v);
        }
    }

    fn turn(&self) -> Turn {
        let a = &self.state.answer;
        let mut turn = a.turn();
        // A limit reported with a complete answer: the answer stands.
        if self.state.stopped
            && !a.text.is_empty()
            && a.end == Some(End::Error)
            && a.error.as_ref().is_some_and(is_limit)
        {
            turn.end = Some(End::Done);
            for n in &mut turn.nodes {
                n.message.status = Some("finished_successfully".to_string());
            }
        }
        turn
    }
}

fn is_limit(e: &crate::page::StreamError) -> bool {
    e.code.as_deref() == Some("exceeded_limit")
}

impl State {
    fn event(&mut self, name: &str, data: &str) {
        let Ok(v) = serde_json::from_str::<Value>(data) else { return };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
        let a = &mut self.answer;
        match kind {
            "message_start" => {
                let m = v.get("message");
                Answer::learn(
                    &mut a.id,
                    m.and_then(|m| m.get("uuid").or(m.get("id"))).and_then(Value::as_str),
                );
                Answer::learn(&mut a.user_id, m.and_then(|m| m.get("parent_uuid")).and_then(Value::as_str));
            }
            "content_block_start" => {
                let block = v.get("content_block");
                if block.and_then(|b| b.get("type")).and_then(Value::as_str) == Some("text")
                    && let Some(t) = block.and_then(|b| b.get("text")).and_then(Value::as_str)
                {
                    a.append(t);
                }
            }
            "content_block_delta" => {
                let delta = v.get("delta");
                if delta.and_then(|d| d.get("type")).and_then(Value::as_str) == Some("text_delta")
                    && let Some(t) = delta.and_then(|d| d.get("text")).and_then(Value::as_str)
                {
                    a.append(t);
                }
            }
            "message_stop" => {
                self.stopped = true;
                a.done();
            }
            _ => self.json(&v),
        }
    }

    /// A limit or an error, from an event or from a whole (non-stream) body.
    fn json(&mut self, v: &Value) {
        match v.get("type").and_then(Value::as_str) {
            Some("message_limit") => {
                if let Some(limit) = v.get("message_limit") {
                    self.limit(limit);
                }
            }
            Some("exceeded_limit") => self.limit(v),
            Some("error") => {
                let e = v.get("error").unwrap_or(v);
                let message = e.get("message").and_then(Value::as_str).unwrap_or("");
                // claude.ai writes the limit as JSON inside the error's message.
                if let Ok(inner) = serde_json::from_str::<Value>(message)
                    && inner.get("type").and_then(Value::as_str) == Some("exceeded_limit")
                {
                    self.limit(&inner);
                    return;
                }
                let code = e.get("type").and_then(Value::as_str);
                if let Some(err) = self.answer.judge(code, message, Some(Kind::UnknownError)) {
                    self.answer.fail(err);
                }
            }
            _ => {}
        }
    }

    fn limit(&mut self, limit: &Value) {
        let exceeded =
            |v: &Value| v.get("type").or(v.get("status")).and_then(Value::as_str) == Some("exceeded_limit");
        let windows = limit.get("windows").and_then(Value::as_object);
        let exceeded_windows: Vec<&Value> =
            windows.into_iter().flat_map(|w| w.values()).filter(|w| exceeded(w)).collect();
        if !exceeded(limit) && exceeded_windows.is_empty() {
            return; // within the limit (or approaching it): not a failure
        }
        let at = |v: &Value| v.get("resetsAt").or(v.get("resets_at")).and_then(Value::as_f64);
        let reset = at(limit).or_else(|| exceeded_windows.iter().filter_map(|w| at(w)).reduce(f64::max));
        if let Some(mut err) = self.answer.judge(Some("exceeded_limit"), "", Some(Kind::RateLimited)) {
            err.retry_at_ms = reset.filter(|s| s.is_finite() && *s > 0.0).map(unix_ms);
            self.answer.fail(err);
        }
    }
}

/// A Unix time in seconds (or already in milliseconds, when it is that large) in milliseconds.
fn unix_ms(t: f64) -> u64 {
    if t > 1e11 { t as u64 } else { (t * 1000.0) as u64 }
}

/// The root's parent id claude.ai writes for a conversation's first message.
const ROOT_PARENT: &str = "00000000-0000-4000-8000-000000000000";

/// Reads a claude.ai conversation body (`GET …/chat_conversations/{id}?tree=True&rendering_mode=messages`)
/// into the cached tree: every message of every branch with its parent (`parent_message_uuid`;
/// the all-zero root id is no parent), the branch tip `current_leaf_message_uuid` as the current
/// node, `name` as the title. Of a message's `content` blocks only `text` is kept (thinking, tool
/// use and tool results are not answer text); an older message without blocks keeps its `text`.
pub fn parse_conversation(json: &str) -> Result<Conversation, BodyError> {
    let v: Value = serde_json::from_str(json).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let messages = v
        .get("chat_messages")
        .and_then(Value::as_array)
        .ok_or_else(|| BodyError::Malformed("no chat_messages".into()))?;
    let id = v.get("uuid").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or(BodyError::NoId)?;
    let mut tree = super::ReadTree::new(id.to_string());
    let conv = tree.conversation();
    conv.title = v.get("name").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    conv.create_time = v.get("created_at").and_then(Value::as_str).and_then(seconds);
    let mut ordered: Vec<&Value> = messages.iter().collect();
    ordered.sort_by_key(|m| m.get("index").and_then(Value::as_i64).unwrap_or(i64::MAX));
    for m in ordered {
        let Some(uuid) = m.get("uuid").and_then(Value::as_str).filter(|s| !s.is_empty()) else { continue };
        let role = match m.get("sender").and_then(Value::as_str) {
            Some("human") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => continue,
        };
        let text = match m.get("content").and_then(Value::as_array) {
            Some(blocks) => blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n\n"),
            None => m.get("text").and_then(Value::as_str).unwrap_or("").to_string(),
        };
        let mut message = Message::new(uuid, role, text);
        message.create_time = m.get("created_at").and_then(Value::as_str).and_then(seconds);
        message.update_time = m.get("updated_at").and_then(Value::as_str).and_then(seconds);
        let parent = m
            .get("parent_message_uuid")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty() && *p != ROOT_PARENT);
        tree.add(parent, message);
    }
    let leaf = v.get("current_leaf_message_uuid").and_then(Value::as_str).map(str::to_string);
    let mut conv = tree.finish(leaf)?;
    conv.update_time = v.get("updated_at").and_then(Value::as_str).and_then(seconds).or(conv.update_time);
    Ok(conv)
}

/// An RFC 3339 time in float Unix seconds.
fn seconds(text: &str) -> Option<f64> {
    crate::status::rfc3339_ms(text).map(|ms| ms as f64 / 1000.0)
}
