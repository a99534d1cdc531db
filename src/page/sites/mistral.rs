//! chat.mistral.ai's (Le Chat's) answer stream: lines `N:payload`, the prefix saying what the
//! JSON payload is.
//!
//! `0:"text"` appends to the answer; other prefixes carry metadata (`1:{...}`) and are not answer
//! text. A `3:"message"` line is an error, judged by the adapter's phrases; an object with an
//! `error` field (`1:{"error": ...}`) too. A `d:` or `e:` line with a `finishReason` ends the
//! answer (`error` as the reason is a failure). The site's own end is the stream closing: without
//! a finish line, the end of the bytes ends the answer (a read cut by the network is told apart
//! by the page hook, which sees how its read ended).

use serde_json::Value;

use super::{Answer, SiteDecoder, code_text};
use crate::detect::Kind;
use crate::page::Turn;
use crate::site::Site;
use crate::stream::NdjsonSplitter;

/// One Le Chat answer stream being decoded.
#[derive(Debug, Clone)]
pub struct MistralStream {
    lines: NdjsonSplitter,
    answer: Answer,
}

impl Default for MistralStream {
    fn default() -> Self {
        Self::new()
    }
}

impl MistralStream {
    /// A decoder for one answer stream.
    pub fn new() -> Self {
        MistralStream { lines: NdjsonSplitter::new(), answer: Answer::new(Site::Mistral) }
    }
}

impl SiteDecoder for MistralStream {
    fn feed(&mut self, bytes: &[u8]) {
        let answer = &mut self.answer;
        let _ = self.lines.feed(bytes, |line| read_line(answer, line));
    }

    fn finish(&mut self) {
        let answer = &mut self.answer;
        self.lines.finish(|line| read_line(answer, line));
        if !self.answer.text.is_empty() {
            self.answer.done();
        }
    }

    fn turn(&self) -> Turn {
        self.answer.turn()
    }
}

fn read_line(a: &mut Answer, line: &[u8]) {
    let Ok(line) = std::str::from_utf8(line) else { return };
    let Some((prefix, payload)) = line.split_once(':') else { return };
    if prefix.is_empty() || prefix.len() > 4 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return;
    }
    let Ok(v) = serde_json::from_str::<Value>(payload) else { return };
    match (prefix, &v) {
        ("0", Value::String(text)) => a.append(text),
        ("3", Value::String(message)) => {
            if let Some(err) = a.judge(None, message, Some(Kind::UnknownError)) {
                a.fail(err);
            }
        }
        ("d" | "e", _) => match v.get("finishReason").and_then(Value::as_str) {
            Some("error") => {
                if let Some(err) = a.judge(Some("error"), "", Some(Kind::UnknownError)) {
                    a.fail(err);
                }
            }
            Some(_) => a.done(),
            None => {}
        },
        (_, Value::Object(o)) => {
            Answer::learn(&mut a.id, o.get("messageId").and_then(Value::as_str));
            Answer::learn(&mut a.conversation_id, o.get("chatId").and_then(Value::as_str));
            if let Some(e) = o.get("error").filter(|e| !e.is_null()) {
                let message = e.as_str().or(e.get("message").and_then(Value::as_str)).unwrap_or("");
                let code = code_text(e.get("code").or(o.get("code")));
                if let Some(err) = a.judge(code.as_deref(), message, Some(Kind::UnknownError)) {
                    a.fail(err);
                }
            }
        }
        _ => {}
    }
}
