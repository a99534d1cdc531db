//! Gemini `streamGenerateContent?alt=sse`: `data: {"candidates":[{"content":{"parts":[{"text"}]}}]}`
//! frames (often with CRLF line ends); the last carries `finishReason` and there is no `[DONE]`,
//! so a stream that ends after a `finishReason` is complete. `{"error":{..}}` ends with an error;
//! a prompt blocked by `promptFeedback.blockReason` ends as content-filtered.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::decode::{FinishReason, SseHandler, StreamOutcome, first_of, malformed, stream_error};

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default, deserialize_with = "first_of")]
    candidates: Option<Candidate<'a>>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(rename = "promptFeedback", default)]
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
struct Candidate<'a> {
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
    #[serde(rename = "finishReason", borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow, default)]
    parts: Option<Vec<Part<'a>>>,
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thought: Option<bool>,
}

#[derive(Deserialize)]
struct PromptFeedback {
    #[serde(rename = "blockReason", default)]
    block_reason: Option<String>,
}

#[derive(Default)]
pub(crate) struct GeminiHandler {
    finish: Option<FinishReason>,
}

fn finish_of(reason: &str) -> Option<FinishReason> {
    Some(match reason {
        "FINISH_REASON_UNSPECIFIED" | "" => return None,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        _ => FinishReason::Stop,
    })
}

impl SseHandler for GeminiHandler {
    fn on_event(&mut self, _event: &str, data: &str, out: &mut String) -> Option<StreamOutcome> {
        let data = data.trim_ascii();
        if data.is_empty() {
            return None;
        }
        let chunk: Chunk<'_> = match serde_json::from_str(data) {
            Ok(c) => c,
            Err(e) => return Some(malformed(&e.to_string(), data)),
        };
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            let value = Value::Object([("error".to_string(), err)].into_iter().collect());
            return Some(stream_error(&value, "Gemini"));
        }
        if let Some(candidate) = chunk.candidates {
            for part in candidate.content.into_iter().flat_map(|c| c.parts).flatten() {
                if part.thought != Some(true)
                    && let Some(t) = part.text
                {
                    out.push_str(&t);
                }
            }
            if let Some(f) = candidate.finish_reason.as_deref().and_then(finish_of) {
                self.finish = Some(f);
            }
        } else if chunk.prompt_feedback.and_then(|p| p.block_reason).is_some() {
            return Some(StreamOutcome::Complete { finish: FinishReason::ContentFilter });
        }
        None
    }

    fn on_eof(&mut self) -> StreamOutcome {
        match self.finish {
            Some(finish) => StreamOutcome::Complete { finish },
            None => StreamOutcome::Truncated,
        }
    }
}
