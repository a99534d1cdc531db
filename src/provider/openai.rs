//! OpenAI wire formats: Chat Completions SSE (and its many copies) and Responses SSE.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::ErrorClass;
use super::decode::{FinishReason, SseHandler, StreamOutcome, first_of, malformed, push_text, stream_error};

#[derive(Deserialize)]
struct ChatChunk<'a> {
    #[serde(borrow, default, deserialize_with = "first_of")]
    choices: Option<Choice<'a>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
}

/// Chat Completions: `data: {"choices":[{"delta":{"content":..}}]}` until `data: [DONE]`; an
/// `{"error":{..}}` chunk (sent with HTTP 200 by OpenRouter, LiteLLM, OpenAI) ends with an error.
/// Comments (OpenRouter's `: OPENROUTER PROCESSING`) are dropped by the SSE parser.
#[derive(Default)]
pub(crate) struct ChatHandler {
    finish: Option<FinishReason>,
    errored_choice: bool,
}

fn finish_of(reason: &str) -> Option<FinishReason> {
    match reason {
        "length" | "max_tokens" => Some(FinishReason::Length),
        "content_filter" => Some(FinishReason::ContentFilter),
        "" => None,
        _ => Some(FinishReason::Stop),
    }
}

impl SseHandler for ChatHandler {
    fn on_event(&mut self, event: &str, data: &str, out: &mut String) -> Option<StreamOutcome> {
        let data = data.trim_ascii();
        if data == "[DONE]" {
            if self.errored_choice {
                return Some(StreamOutcome::Error {
                    class: ErrorClass::Server,
                    message: "The provider ended the answer with an error.".to_string(),
                });
            }
            return Some(StreamOutcome::Complete { finish: self.finish.unwrap_or(FinishReason::Stop) });
        }
        if data.is_empty() {
            return None;
        }
        let chunk: ChatChunk<'_> = match serde_json::from_str(data) {
            Ok(c) => c,
            Err(e) => return Some(malformed(&e.to_string(), data)),
        };
        if event == "error" && chunk.error.is_none() {
            // Some servers name the event `error` and put the error fields at the top level.
            let value: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            return Some(stream_error(&value, "The provider"));
        }
        if let Some(err) = chunk.error.as_ref().filter(|e| !e.is_null()) {
            return Some(stream_error(
                &Value::Object([("error".to_string(), err.clone())].into_iter().collect()),
                "The provider",
            ));
        }
        if let Some(choice) = chunk.choices {
            if let Some(delta) = &choice.delta {
                push_text(out, &delta.content);
            }
            if let Some(reason) = choice.finish_reason.as_deref() {
                if reason == "error" {
                    self.errored_choice = true;
                } else if let Some(f) = finish_of(reason) {
                    self.finish = Some(f);
                }
            }
        }
        None
    }
}

#[derive(Deserialize)]
struct ResponsesEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    delta: Option<Cow<'a, str>>,
    #[serde(default)]
    response: Option<ResponseObject>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ResponseObject {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    incomplete_details: Option<IncompleteDetails>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    #[serde(default)]
    reason: Option<String>,
}

/// Responses: `response.output_text.delta` carries text; `response.completed`,
/// `response.incomplete` (max tokens, content filter) and `response.failed` end; an `error`
/// event ends with an error. There is no `[DONE]`.
#[derive(Default)]
pub(crate) struct ResponsesHandler {
    refused: bool,
}

impl SseHandler for ResponsesHandler {
    fn on_event(&mut self, event: &str, data: &str, out: &mut String) -> Option<StreamOutcome> {
        let data = data.trim_ascii();
        if data.is_empty() || data == "[DONE]" {
            return None;
        }
        let ev: ResponsesEvent<'_> = match serde_json::from_str(data) {
            Ok(ev) => ev,
            Err(e) => return Some(malformed(&e.to_string(), data)),
        };
        let kind = ev.kind.as_deref().unwrap_or(event);
        match kind {
            "response.output_text.delta" => push_text(out, &ev.delta),
            "response.refusal.delta" => {
                self.refused = true;
                push_text(out, &ev.delta);
            }
            "response.completed" => {
                let finish = if self.refused { FinishReason::ContentFilter } else { FinishReason::Stop };
                return Some(StreamOutcome::Complete { finish });
            }
            "response.incomplete" => {
                let reason = ev.response.and_then(|r| r.incomplete_details).and_then(|d| d.reason);
                let finish = match reason.as_deref() {
                    Some("content_filter") => FinishReason::ContentFilter,
                    _ => FinishReason::Length,
                };
                return Some(StreamOutcome::Complete { finish });
            }
            "response.failed" => {
                let err = ev.response.and_then(|r| r.error).filter(|e| !e.is_null());
                return Some(match err {
                    Some(e) => stream_error(&e, "OpenAI"),
                    None => StreamOutcome::Error {
                        class: ErrorClass::Server,
                        message: "OpenAI reported that the response failed.".to_string(),
                    },
                });
            }
            "error" => {
                if let Some(e) = ev.error.filter(|e| !e.is_null()) {
                    return Some(stream_error(&e, "OpenAI"));
                }
                let mut obj = serde_json::Map::new();
                if let Some(code) = ev.code {
                    obj.insert("code".into(), code);
                }
                if let Some(m) = ev.message {
                    obj.insert("message".into(), Value::String(m.into_owned()));
                }
                return Some(stream_error(&Value::Object(obj), "OpenAI"));
            }
            _ => {}
        }
        None
    }
}
