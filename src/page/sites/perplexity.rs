//! perplexity.ai's answer stream: server-sent events (CRLF), each `event: message` a snapshot of
//! the whole answer so far; `event: end_of_stream` (with `data: {}`) ends it.
//!
//! The answer text is the `ask_text` block's (`blocks[].intended_usage == "ask_text"`):
//! `markdown_block.answer`, else its `chunks` joined. A snapshot replaces the answer, never
//! appends; a snapshot without that block leaves it as it was. `final: true` on a snapshot is not
//! the end of the stream. `query_str` echoes the prompt, `thread_url_slug` names the thread,
//! `backend_uuid` the answer, `thread_title` the title. An `event: error`, or a snapshot with
//! `status: "failed"` or an `error_code`, is judged by the adapter.
//!
//! [`parse_read`] reads the thread read, `GET /rest/thread/{slug}?…` (shape from
//! sandroaguiar/AIChat2MD, `Universal AI Chat Exporter-3.7.4.user.js`, its Perplexity module: the
//! `entries`, each one's `query_str` and its block whose `intended_usage` is `ask_text`; the
//! other entry fields are the stream snapshot's, and 14790897/perplexity-export `readme.md` shows
//! the thread's): `{status, entries: [{uuid, backend_uuid, query_str, thread_title,
//! thread_url_slug, entry_created_datetime, blocks: [...]}]}`, oldest entry first. Each entry is one user message (`<backend_uuid>:query`:
//! the site gives the prompt no id of its own) and one answer (`backend_uuid`, the id the stream
//! gives it), a linear chain; the answer text is the `ask_text` block's, as the stream decoder
//! reads it (sources and steps are not answer text).

use serde_json::Value;

use super::{Answer, ReadTree, SiteDecoder, code_text, read_conversation_id, read_id, read_json, read_time};
use crate::conversation::{Conversation, Message, Role};
use crate::detect::Kind;
use crate::page::Turn;
use crate::page::body::BodyError;
use crate::site::Site;
use crate::stream::SseParser;

/// One Perplexity answer stream being decoded.
#[derive(Debug, Clone)]
pub struct PerplexityStream {
    sse: SseParser,
    answer: Answer,
}

impl Default for PerplexityStream {
    fn default() -> Self {
        Self::new()
    }
}

impl PerplexityStream {
    /// A decoder for one answer stream.
    pub fn new() -> Self {
        PerplexityStream { sse: SseParser::new(), answer: Answer::new(Site::Perplexity) }
    }
}

impl SiteDecoder for PerplexityStream {
    fn feed(&mut self, bytes: &[u8]) {
        let answer = &mut self.answer;
        let _ = self.sse.feed(bytes, |ev| event(answer, &ev.event, &ev.data));
    }

    fn finish(&mut self) {
        let answer = &mut self.answer;
        let _ = self.sse.feed(b"\n\n", |ev| event(answer, &ev.event, &ev.data));
        self.sse.finish();
    }

    fn turn(&self) -> Turn {
        self.answer.turn()
    }
}

fn event(a: &mut Answer, name: &str, data: &str) {
    let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    match name {
        "end_of_stream" => a.done(),
        "error" => fail(a, &v, data),
        "message" => {
            let failed =
                v.get("status").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("failed"));
            if failed || v.get("error_code").is_some_and(|c| !c.is_null()) {
                fail(a, &v, data);
                return;
            }
            Answer::learn(&mut a.conversation_id, v.get("thread_url_slug").and_then(Value::as_str));
            Answer::learn(&mut a.id, v.get("backend_uuid").and_then(Value::as_str));
            Answer::learn(&mut a.prompt, v.get("query_str").and_then(Value::as_str));
            Answer::learn(&mut a.title, v.get("thread_title").and_then(Value::as_str));
            if let Some(text) = ask_text(&v) {
                a.replace(&text);
            }
        }
        _ => {}
    }
}

fn fail(a: &mut Answer, v: &Value, data: &str) {
    let code = code_text(v.get("error_code").or(v.get("code")));
    let message = ["error_message", "message", "detail", "error"]
        .iter()
        .find_map(|k| v.get(k).and_then(Value::as_str))
        .unwrap_or(if v.is_null() { data } else { "" });
    if let Some(err) = a.judge(code.as_deref(), message, Some(Kind::UnknownError)) {
        a.fail(err);
    }
}

/// The `ask_text` block's text, if the snapshot has that block.
fn ask_text(v: &Value) -> Option<String> {
    let block = v
        .get("blocks")?
        .as_array()?
        .iter()
        .find(|b| b.get("intended_usage").and_then(Value::as_str) == Some("ask_text"))?;
    let md = block.get("markdown_block")?;
    if let Some(answer) = md.get("answer").and_then(Value::as_str) {
        return Some(answer.to_string());
    }
    let chunks = md.get("chunks")?.as_array()?;
    Some(chunks.iter().filter_map(Value::as_str).collect())
}

/// Reads a Perplexity thread read into the cached tree, keyed by the thread's slug (the
/// entries' `thread_url_slug`, else the request path's).
pub fn parse_read(path: Option<&str>, body: &str) -> Result<Conversation, BodyError> {
    let v = read_json(body)?;
    let entries = v
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| BodyError::Malformed("no entries".into()))?;
    let slug = entries.iter().find_map(|e| read_id(e.get("thread_url_slug")));
    let id = read_conversation_id(Site::Perplexity, slug, path)?;
    let mut tree = ReadTree::new(id);
    for e in entries {
        let Some(answer_id) = read_id(e.get("backend_uuid")).or_else(|| read_id(e.get("uuid"))) else {
            continue;
        };
        let Some(query) = e.get("query_str").and_then(Value::as_str) else { continue };
        let conv = tree.conversation();
        if conv.title.is_none() {
            conv.title = e
                .get("thread_title")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
        }
        let time = read_time(e.get("entry_created_datetime"));
        conv.create_time = conv.create_time.or(time);
        let user_id = format!("{answer_id}:query");
        let mut user = Message::new(user_id.clone(), Role::User, query);
        user.create_time = time;
        let parent = tree.last().map(str::to_string);
        tree.add(parent.as_deref(), user);
        if let Some(text) = ask_text(e) {
            let mut answer = Message::new(answer_id, Role::Assistant, text);
            answer.create_time = time;
            answer.update_time = read_time(e.get("updated_datetime"));
            tree.add(Some(&user_id), answer);
        }
    }
    tree.finish(None)
}
