//! Anthropic Messages SSE: `message_start`, `content_block_start`, `content_block_delta`
//! (`text_delta`), `content_block_stop`, `ping`, `message_delta` (`stop_reason`), `message_stop`,
//! and `error`. Unknown events are ignored, as Anthropic asks.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::decode::{FinishReason, SseHandler, StreamOutcome, malformed, push_text, stream_error};

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    content_block: Option<Block<'a>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

/// The events whose data Understudy reads; anything else is skipped unread.
const KNOWN: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "error",
    "message",
];

#[derive(Default)]
pub(crate) struct AnthropicHandler {
    finish: Option<FinishReason>,
}

impl SseHandler for AnthropicHandler {
    fn on_event(&mut self, event: &str, data: &str, out: &mut String) -> Option<StreamOutcome> {
        if !KNOWN.contains(&event) {
            return None;
        }
        let data = data.trim_ascii();
        if data.is_empty() {
            return None;
        }
        let ev: Event<'_> = match serde_json::from_str(data) {
            Ok(ev) => ev,
            Err(e) => return Some(malformed(&e.to_string(), data)),
        };
        let kind = ev.kind.as_deref().unwrap_or(event);
        match kind {
            "content_block_delta" => {
                if let Some(d) = &ev.delta
                    && d.kind.as_deref().is_none_or(|k| k == "text_delta")
                {
                    push_text(out, &d.text);
                }
            }
            "content_block_start" => {
                if let Some(b) = &ev.content_block
                    && b.kind.as_deref() == Some("text")
                {
                    push_text(out, &b.text);
                }
            }
            "message_delta" => {
                if let Some(reason) = ev.delta.as_ref().and_then(|d| d.stop_reason.as_deref()) {
                    self.finish = Some(match reason {
                        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
                        "refusal" => FinishReason::ContentFilter,
                        _ => FinishReason::Stop,
                    });
                }
            }
            "message_stop" => {
                return Some(StreamOutcome::Complete { finish: self.finish.unwrap_or(FinishReason::Stop) });
            }
            "error" => {
                let value = match ev.error {
                    Some(e) => Value::Object([("error".to_string(), e)].into_iter().collect()),
                    None => Value::Null,
                };
                return Some(stream_error(&value, "Anthropic"));
            }
            _ => {}
        }
        None
    }
}
