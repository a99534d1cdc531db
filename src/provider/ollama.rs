//! Ollama `/api/chat` NDJSON: `{"message":{"content":".."},"done":false}` lines until
//! `"done":true` (with `done_reason`); an `{"error":".."}` line ends with an error. The
//! `/api/generate` shape (`"response":".."`) is read as well.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::decode::{FinishReason, LineHandler, StreamOutcome, malformed, push_text, stream_error};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    #[serde(borrow, default)]
    response: Option<Cow<'a, str>>,
    #[serde(default)]
    done: Option<bool>,
    #[serde(borrow, default)]
    done_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
}

#[derive(Default)]
pub(crate) struct OllamaHandler;

impl LineHandler for OllamaHandler {
    fn on_line(&mut self, line: &[u8], out: &mut String) -> Option<StreamOutcome> {
        let parsed: Line<'_> = match serde_json::from_slice(line) {
            Ok(l) => l,
            Err(e) => return Some(malformed(&e.to_string(), &String::from_utf8_lossy(line))),
        };
        if let Some(err) = parsed.error.filter(|e| !e.is_null()) {
            let value = Value::Object([("error".to_string(), err)].into_iter().collect());
            return Some(stream_error(&value, "Ollama"));
        }
        if let Some(m) = &parsed.message {
            push_text(out, &m.content);
        }
        push_text(out, &parsed.response);
        if parsed.done == Some(true) {
            let finish = match parsed.done_reason.as_deref() {
                Some("length") => FinishReason::Length,
                _ => FinishReason::Stop,
            };
            return Some(StreamOutcome::Complete { finish });
        }
        None
    }
}
