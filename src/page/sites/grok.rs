//! grok.com's answer stream: NDJSON (one JSON object a line, no `data:`).
//!
//! Lines hold `result.response` (or `result` itself, on the responses endpoint): `token`s append
//! to the answer unless `isThinking` is set or a `messageTag` other than `final` marks them as
//! something else; `modelResponse.message` is the whole answer (a snapshot: it replaces;
//! `thinkingTrace` is thinking); `userResponse` echoes the prompt; `isSoftStop` and
//! `finalMetadata` end the answer. The conversation id is on the first line
//! (`result.conversation.conversationId`), the title comes as `result.title.newTitle`. An
//! `error` object (`code` 7 is the anti-bot refusal) is judged by the adapter.

use serde_json::Value;

use super::{Answer, SiteDecoder, code_text};
use crate::detect::Kind;
use crate::page::Turn;
use crate::site::Site;
use crate::stream::NdjsonSplitter;

/// One Grok answer stream being decoded.
#[derive(Debug, Clone)]
pub struct GrokStream {
    lines: NdjsonSplitter,
    answer: Answer,
}

impl Default for GrokStream {
    fn default() -> Self {
        Self::new()
    }
}

impl GrokStream {
    /// A decoder for one answer stream.
    pub fn new() -> Self {
        GrokStream { lines: NdjsonSplitter::new(), answer: Answer::new(Site::Grok) }
    }
}

impl SiteDecoder for GrokStream {
    fn feed(&mut self, bytes: &[u8]) {
        let answer = &mut self.answer;
        let _ = self.lines.feed(bytes, |line| read_line(answer, line));
    }

    fn finish(&mut self) {
        let answer = &mut self.answer;
        self.lines.finish(|line| read_line(answer, line));
    }

    fn turn(&self) -> Turn {
        self.answer.turn()
    }
}

fn read_line(a: &mut Answer, line: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(line) else { return };
    if let Some(e) = v.get("error") {
        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
        if let Some(err) = a.judge(code_text(e.get("code")).as_deref(), message, Some(Kind::UnknownError)) {
            a.fail(err);
        }
        return;
    }
    let Some(result) = v.get("result") else { return };
    Answer::learn(
        &mut a.conversation_id,
        result.pointer("/conversation/conversationId").and_then(Value::as_str),
    );
    if let Some(title) = result.pointer("/title/newTitle").and_then(Value::as_str) {
        a.title = Some(title.to_string());
    }
    let r = result.get("response").unwrap_or(result);
    if let Some(user) = r.get("userResponse") {
        Answer::learn(&mut a.user_id, user.get("responseId").and_then(Value::as_str));
        Answer::learn(&mut a.prompt, user.get("message").and_then(Value::as_str));
    }
    if let Some(token) = r.get("token").and_then(Value::as_str) {
        let thinking = r.get("isThinking").and_then(Value::as_bool) == Some(true);
        let tag = r.get("messageTag").and_then(Value::as_str);
        if !thinking && tag.is_none_or(|t| t == "final") {
            a.append(token);
        }
        Answer::learn(&mut a.id, r.get("responseId").and_then(Value::as_str));
    }
    if let Some(m) = r.get("modelResponse") {
        Answer::learn(&mut a.id, m.get("responseId").and_then(Value::as_str));
        if let Some(message) = m.get("message").and_then(Value::as_str) {
            a.replace(message);
        }
    }
    if r.get("isSoftStop").and_then(Value::as_bool) == Some(true) || r.get("finalMetadata").is_some() {
        Answer::learn(&mut a.id, r.get("responseId").and_then(Value::as_str));
        a.done();
    }
}
