//! perplexity.ai's answer stream: server-sent events (CRLF), each `event: message` a snapshot of
//! the whole answer so far; `event: end_of_stream` (with `data: {}`) ends it.
//!
//! The answer text is the `ask_text` block's (`blocks[].intended_usage == "ask_text"`):
//! `markdown_block.answer`, else its `chunks` joined. A snapshot replaces the answer, never
//! appends; a snapshot without that block leaves it as it was. `final: true` on a snapshot is not
//! the end of the stream. `query_str` echoes the prompt, `thread_url_slug` names the thread,
//! `backend_uuid` the answer, `thread_title` the title. An `event: error`, or a snapshot with
//! `status: "failed"` or an `error_code`, is judged by the adapter.

use serde_json::Value;

use super::{Answer, SiteDecoder, code_text};
use crate::detect::Kind;
use crate::page::Turn;
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
