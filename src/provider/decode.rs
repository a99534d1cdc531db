//! Streamed-answer decoding: one decoder per wire format behind [`StreamDecoder`].
//!
//! A decoder takes the response body's bytes in any chunking and returns, for each chunk, the
//! answer text that chunk completed ([`StreamDecoder::feed`]); [`StreamDecoder::finish`] gives the
//! typed end. Partial text is always kept: the text already returned stays valid whatever the end.
//!
//! Malformed data policy: a chunk whose JSON cannot be read ends the stream at once with
//! `Error { class: Malformed }`. Skipping it could silently drop words from the middle of the
//! answer, so aborting (and letting the router continue on another provider from the partial text)
//! is the safe choice. Bytes after any end (end marker, error, malformed chunk) are ignored.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;

use super::ErrorClass;
use super::classify::{class_from_details, details_from_value, quote};
use crate::stream::ndjson::NdjsonSplitter;
use crate::stream::sse::SseParser;

/// The wire formats Understudy decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamFormat {
    /// OpenAI Chat Completions SSE (`data: {...}` ... `data: [DONE]`).
    OpenAiChat,
    /// OpenAI Responses SSE (`response.output_text.delta` ... `response.completed`).
    OpenAiResponses,
    /// Anthropic Messages SSE (`content_block_delta` ... `message_stop`).
    Anthropic,
    /// Gemini `streamGenerateContent?alt=sse` (last chunk carries `finishReason`).
    Gemini,
    /// Ollama `/api/chat` NDJSON (`"done": true`).
    Ollama,
}

impl StreamFormat {
    /// Every format, in a stable order.
    pub const ALL: [StreamFormat; 5] = [
        StreamFormat::OpenAiChat,
        StreamFormat::OpenAiResponses,
        StreamFormat::Anthropic,
        StreamFormat::Gemini,
        StreamFormat::Ollama,
    ];

    /// The format's name on the command line (`openai-chat`, `openai-responses`, ...).
    pub fn name(self) -> &'static str {
        match self {
            StreamFormat::OpenAiChat => "openai-chat",
            StreamFormat::OpenAiResponses => "openai-responses",
            StreamFormat::Anthropic => "anthropic",
            StreamFormat::Gemini => "gemini",
            StreamFormat::Ollama => "ollama",
        }
    }

    /// The format with that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The format a provider kind streams in (none for Chrome's built-in model).
    pub fn for_kind(kind: super::ProviderKind) -> Option<Self> {
        use super::ProviderKind as K;
        match kind {
            K::OpenAiCompatible => Some(StreamFormat::OpenAiChat),
            K::OpenAiResponses => Some(StreamFormat::OpenAiResponses),
            K::Anthropic => Some(StreamFormat::Anthropic),
            K::Gemini => Some(StreamFormat::Gemini),
            K::Ollama => Some(StreamFormat::Ollama),
            K::ChromeBuiltIn => None,
        }
    }
}

impl fmt::Display for StreamFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the model stopped a complete answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// It finished naturally (or at a stop sequence or tool call).
    Stop,
    /// It hit the output-token limit.
    Length,
    /// The provider's safety system stopped or refused it.
    ContentFilter,
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamOutcome {
    /// The provider's end marker arrived.
    Complete {
        /// Why the model stopped.
        finish: FinishReason,
    },
    /// The provider reported an error inside the stream, or the stream could not be read.
    Error {
        /// The failure's class (same as the matching HTTP status would give).
        class: ErrorClass,
        /// A human message.
        message: String,
    },
    /// The stream ended without the provider's end marker.
    Truncated,
}

impl StreamOutcome {
    /// `complete`, `error` or `truncated`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            StreamOutcome::Complete { .. } => "complete",
            StreamOutcome::Error { .. } => "error",
            StreamOutcome::Truncated => "truncated",
        }
    }
}

/// The end of a decoded stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Text completed only by the end of the stream (an NDJSON last line without newline).
    pub text: String,
    /// How the stream ended.
    pub outcome: StreamOutcome,
}

/// A streaming decoder for one provider format.
pub trait StreamDecoder {
    /// Feeds the next chunk of the body; returns the answer text it completed (possibly empty),
    /// borrowed until the next call.
    fn feed(&mut self, bytes: &[u8]) -> &str;
    /// Ends the stream and returns its end. Calling it again returns the same outcome.
    fn finish(&mut self) -> Finished;
    /// The end, if already known before the body is over (end marker or error seen): the caller
    /// may stop reading.
    fn outcome(&self) -> Option<&StreamOutcome>;
}

/// A new decoder for `format`.
pub fn decoder_for(format: StreamFormat) -> Box<dyn StreamDecoder> {
    match format {
        StreamFormat::OpenAiChat => Box::new(SseDecoder::new(super::openai::ChatHandler::default())),
        StreamFormat::OpenAiResponses => {
            Box::new(SseDecoder::new(super::openai::ResponsesHandler::default()))
        }
        StreamFormat::Anthropic => Box::new(SseDecoder::new(super::anthropic::AnthropicHandler::default())),
        StreamFormat::Gemini => Box::new(SseDecoder::new(super::gemini::GeminiHandler::default())),
        StreamFormat::Ollama => Box::new(NdjsonDecoder::new(super::ollama::OllamaHandler)),
    }
}

/// Decodes a whole body at once, fed in chunks of `chunk_size` bytes (0: one chunk); returns all
/// the text and the end. Convenient for tests, the command line and measurements.
pub fn decode_all(format: StreamFormat, body: &[u8], chunk_size: usize) -> (String, StreamOutcome) {
    let mut decoder = decoder_for(format);
    let mut text = String::new();
    let size = if chunk_size == 0 { body.len().max(1) } else { chunk_size };
    for chunk in body.chunks(size) {
        text.push_str(decoder.feed(chunk));
    }
    let end = decoder.finish();
    text.push_str(&end.text);
    (text, end.outcome)
}

/// What a format-specific part does with each server-sent event.
pub(crate) trait SseHandler {
    /// Handles one event: appends its answer text to `out`; returns the end when it ends the stream.
    fn on_event(&mut self, event: &str, data: &str, out: &mut String) -> Option<StreamOutcome>;
    /// The end when the body ended with no end marker (default: truncated).
    fn on_eof(&mut self) -> StreamOutcome {
        StreamOutcome::Truncated
    }
}

/// What a format-specific part does with each NDJSON line.
pub(crate) trait LineHandler {
    /// Handles one line: appends its answer text to `out`; returns the end when it ends the stream.
    fn on_line(&mut self, line: &[u8], out: &mut String) -> Option<StreamOutcome>;
}

/// The longest body prefix kept to explain a body that held no event at all.
const SNIFF_LIMIT: usize = 64 * 1024;

struct SseDecoder<H> {
    parser: SseParser,
    handler: H,
    text: String,
    outcome: Option<StreamOutcome>,
    /// The body's first bytes, kept until the first event to read a plain JSON error body.
    sniff: Vec<u8>,
    seen_event: bool,
}

impl<H: SseHandler> SseDecoder<H> {
    fn new(handler: H) -> Self {
        Self {
            parser: SseParser::new(),
            handler,
            text: String::new(),
            outcome: None,
            sniff: Vec::new(),
            seen_event: false,
        }
    }
}

impl<H: SseHandler> StreamDecoder for SseDecoder<H> {
    fn feed(&mut self, bytes: &[u8]) -> &str {
        self.text.clear();
        if self.outcome.is_some() {
            return &self.text;
        }
        if !self.seen_event && self.sniff.len() < SNIFF_LIMIT {
            let room = SNIFF_LIMIT - self.sniff.len();
            self.sniff.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        let handler = &mut self.handler;
        let text = &mut self.text;
        let outcome = &mut self.outcome;
        let seen = &mut self.seen_event;
        let result = self.parser.feed(bytes, |ev| {
            if outcome.is_none() {
                *seen = true;
                *outcome = handler.on_event(&ev.event, &ev.data, text);
            }
        });
        if let Err(err) = result {
            self.outcome.get_or_insert(malformed(&err.to_string(), ""));
        }
        if self.seen_event && !self.sniff.is_empty() {
            self.sniff = Vec::new();
        }
        &self.text
    }

    fn finish(&mut self) -> Finished {
        self.text.clear();
        self.parser.finish();
        if self.outcome.is_none() {
            let from_body = if self.seen_event { None } else { plain_error_body(&self.sniff) };
            self.outcome = Some(from_body.unwrap_or_else(|| self.handler.on_eof()));
        }
        Finished { text: String::new(), outcome: self.outcome.clone().unwrap_or(StreamOutcome::Truncated) }
    }

    fn outcome(&self) -> Option<&StreamOutcome> {
        self.outcome.as_ref()
    }
}

struct NdjsonDecoder<H> {
    splitter: NdjsonSplitter,
    handler: H,
    text: String,
    outcome: Option<StreamOutcome>,
}

impl<H: LineHandler> NdjsonDecoder<H> {
    fn new(handler: H) -> Self {
        Self { splitter: NdjsonSplitter::new(), handler, text: String::new(), outcome: None }
    }
}

impl<H: LineHandler> StreamDecoder for NdjsonDecoder<H> {
    fn feed(&mut self, bytes: &[u8]) -> &str {
        self.text.clear();
        if self.outcome.is_some() {
            return &self.text;
        }
        let handler = &mut self.handler;
        let text = &mut self.text;
        let outcome = &mut self.outcome;
        let result = self.splitter.feed(bytes, |line| {
            if outcome.is_none() {
                *outcome = handler.on_line(line, text);
            }
        });
        if let Err(err) = result {
            self.outcome.get_or_insert(malformed(&err.to_string(), ""));
        }
        &self.text
    }

    fn finish(&mut self) -> Finished {
        self.text.clear();
        if self.outcome.is_none() {
            let handler = &mut self.handler;
            let text = &mut self.text;
            let outcome = &mut self.outcome;
            self.splitter.finish(|line| {
                if outcome.is_none() {
                    *outcome = handler.on_line(line, text);
                }
            });
        }
        let outcome = self.outcome.get_or_insert(StreamOutcome::Truncated).clone();
        Finished { text: std::mem::take(&mut self.text), outcome }
    }

    fn outcome(&self) -> Option<&StreamOutcome> {
        self.outcome.as_ref()
    }
}

/// The `Malformed` end for a chunk that could not be read.
pub(crate) fn malformed(reason: &str, data: &str) -> StreamOutcome {
    let sample: String = data.chars().take(80).collect();
    let message = if sample.is_empty() {
        format!("The answer stream could not be read ({reason}); the text received so far is kept.")
    } else {
        format!(
            "The answer stream could not be read ({reason}); the text received so far is kept. The chunk \
             began: {}",
            quote(&sample)
        )
    };
    StreamOutcome::Error { class: ErrorClass::Malformed, message }
}

/// The `Error` end for a provider error object found in the stream.
pub(crate) fn stream_error(value: &Value, provider: &str) -> StreamOutcome {
    error_outcome(value, &format!("{provider} reported an error in the stream"))
}

/// The `Error` end for a provider error object, the message starting with `lead`.
fn error_outcome(value: &Value, lead: &str) -> StreamOutcome {
    let details = details_from_value(value);
    let class = class_from_details(&details, None);
    let said = quote(&details.message);
    let message = if said.is_empty() { format!("{lead} ({class}).") } else { format!("{lead}: {said}") };
    StreamOutcome::Error { class, message }
}

/// A body that held no event but is a JSON error object (a proxy answering 200 with plain JSON).
fn plain_error_body(body: &[u8]) -> Option<StreamOutcome> {
    let trimmed = body.trim_ascii();
    if !matches!(trimmed.first(), Some(b'{' | b'[')) {
        return None;
    }
    let value: Value = serde_json::from_slice(trimmed).ok()?;
    let has_error = match &value {
        Value::Array(items) => items.first().is_some_and(|v| v.get("error").is_some()),
        v => v.get("error").is_some(),
    };
    has_error.then(|| error_outcome(&value, "The provider answered with an error instead of a stream"))
}

/// Deserializes only the first element of a JSON list (or `null`) without allocating a vector.
pub(crate) fn first_of<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct First<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for First<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list or null")
        }
        fn visit_unit<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Option<T>, D2::Error> {
            d.deserialize_seq(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            let first = seq.next_element::<T>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    deserializer.deserialize_option(First(std::marker::PhantomData))
}

/// Appends a borrowed-or-owned text piece.
#[inline]
pub(crate) fn push_text(out: &mut String, piece: &Option<Cow<'_, str>>) {
    if let Some(p) = piece {
        out.push_str(p);
    }
}
