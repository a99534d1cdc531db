//! An incremental server-sent-events parser following the WHATWG HTML rules.
//!
//! Bytes arrive in any chunking; the parser splits lines on bytes (CRLF, LF or a lone CR, with a
//! CR at the end of one chunk possibly the first half of a CRLF in the next) and decodes UTF-8
//! only when an event is dispatched, so a multi-byte character split across chunks is never
//! damaged. Invalid UTF-8 becomes U+FFFD. One leading byte-order mark is stripped.
//!
//! Field rules: a line starting with `:` is a comment; the first colon splits field from value and
//! one space after it is removed; a line without a colon is a field with an empty value; `data`
//! lines join with `\n`; a blank line dispatches; an event whose data buffer is empty is not
//! dispatched; the event type defaults to `message`; an `id` containing NUL is ignored and the last
//! event id persists across events; `retry` is taken only when it is all ASCII digits; an
//! unterminated last event is dropped at the end of the stream.
//!
//! The hot path does no allocation per line or per event: complete lines are parsed in place from
//! the input chunk, only the unfinished tail of a chunk is copied, and buffers are reused. Events
//! are handed to a callback as borrowed views ([`SseEvent`]).

use std::borrow::Cow;

/// The default limit on the bytes one line or one event's data may hold (16 MiB).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// One dispatched event, borrowed from the parser's buffers for the duration of the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The event type (`message` when the stream gave none).
    pub event: Cow<'a, str>,
    /// The data lines joined with `\n`.
    pub data: Cow<'a, str>,
    /// The last event id in force when the event was dispatched (empty when none was set).
    pub id: Cow<'a, str>,
}

impl SseEvent<'_> {
    /// An owned copy of the event, for keeping beyond the callback.
    pub fn to_owned_event(&self) -> OwnedSseEvent {
        OwnedSseEvent { event: self.event.to_string(), data: self.data.to_string(), id: self.id.to_string() }
    }
}

/// An owned server-sent event (see [`SseEvent`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedSseEvent {
    /// The event type.
    pub event: String,
    /// The data lines joined with `\n`.
    pub data: String,
    /// The last event id in force at dispatch.
    pub id: String,
}

/// A stream the parser refused to buffer further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// One line or one event's data grew past the limit without ending.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::TooLarge { limit } => {
                write!(f, "a server-sent event grew past {limit} bytes without ending")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// The incremental parser. Feed it chunks with [`SseParser::feed`], end with [`SseParser::finish`].
#[derive(Debug, Clone)]
pub struct SseParser {
    /// Bytes of a line not yet ended by a terminator (also the first bytes while the BOM is open).
    line: Vec<u8>,
    /// The data buffer of the event being built (each data line followed by `\n`).
    data: Vec<u8>,
    /// The event type buffer.
    event: Vec<u8>,
    /// The last event id buffer.
    last_id: Vec<u8>,
    /// The reconnection time from the last valid `retry` field.
    retry_ms: Option<u64>,
    /// The previous chunk ended with CR: a leading LF in the next chunk belongs to it.
    pending_cr: bool,
    /// Whether the leading byte-order mark question is settled.
    bom_checked: bool,
    /// Set once the stream overflowed; later input is ignored.
    failed: Option<SseError>,
    max_bytes: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser with the default size limit ([`DEFAULT_MAX_EVENT_BYTES`]).
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A parser that refuses lines or event data longer than `max_bytes`.
    pub fn with_limit(max_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            data: Vec::new(),
            event: Vec::new(),
            last_id: Vec::new(),
            retry_ms: None,
            pending_cr: false,
            bom_checked: false,
            failed: None,
            max_bytes,
        }
    }

    /// The last valid `retry` value seen, in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// The last event id buffer (persists across events; empty when none was set).
    pub fn last_event_id(&self) -> Cow<'_, str> {
        lossy(&self.last_id)
    }

    /// Feeds one chunk of bytes; `on_event` receives every event the chunk completes.
    ///
    /// After an error the parser ignores further input and returns the same error.
    pub fn feed<F>(&mut self, input: &[u8], mut on_event: F) -> Result<(), SseError>
    where
        F: FnMut(SseEvent<'_>),
    {
        self.feed_dyn(input, &mut on_event)
    }

    /// [`SseParser::feed`] with the callback behind a pointer: the parser is compiled once, not
    /// once per caller (a call per event costs nothing next to the event itself).
    fn feed_dyn(&mut self, mut input: &[u8], on_event: &mut dyn FnMut(SseEvent<'_>)) -> Result<(), SseError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if !self.bom_checked {
            let take = (3 - self.line.len()).min(input.len());
            self.line.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.line.len() < 3 && BOM.starts_with(&self.line) {
                return Ok(());
            }
            self.bom_checked = true;
            let head = std::mem::take(&mut self.line);
            let head_body = if head.as_slice() == BOM { &[][..] } else { &head[..] };
            let result = self.process(head_body, on_event);
            let mut head = head;
            head.clear();
            if self.line.is_empty() {
                // Keep the allocation only when no tail was carried from the head.
                self.line = head;
            }
            result?;
        }
        self.process(input, on_event)
    }

    /// Ends the stream: an unterminated last event is dropped, as the standard requires.
    /// Returns whether such an unfinished event (or line) was dropped. The parser is then reset
    /// for a new stream, keeping its buffers.
    pub fn finish(&mut self) -> bool {
        let dropped = !self.line.is_empty() || !self.data.is_empty();
        self.line.clear();
        self.data.clear();
        self.event.clear();
        self.last_id.clear();
        self.retry_ms = None;
        self.pending_cr = false;
        self.bom_checked = false;
        self.failed = None;
        dropped
    }

    fn process(&mut self, input: &[u8], on_event: &mut dyn FnMut(SseEvent<'_>)) -> Result<(), SseError> {
        let mut pos = 0;
        if self.pending_cr && !input.is_empty() {
            self.pending_cr = false;
            if input[0] == b'\n' {
                pos = 1;
            }
        }
        // A lone data line of the event being built, still in `input`: dispatched from there
        // without a copy when the blank line follows in the same chunk (the common case).
        let mut borrowed: Option<(usize, usize)> = None;
        let result = self.lines(input, pos, &mut borrowed, on_event);
        if result.is_ok()
            && let Some((a, b)) = borrowed
        {
            self.data.extend_from_slice(&input[a..b]);
            self.data.push(b'\n');
        }
        result
    }

    fn lines(
        &mut self,
        input: &[u8],
        mut pos: usize,
        borrowed: &mut Option<(usize, usize)>,
        on_event: &mut dyn FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        while pos < input.len() {
            let rest = &input[pos..];
            let Some(i) = memchr::memchr2(b'\n', b'\r', rest) else {
                if self.line.len() + rest.len() > self.max_bytes {
                    return Err(self.fail());
                }
                self.line.extend_from_slice(rest);
                break;
            };
            let end = pos + i;
            let next = if input[end] == b'\r' {
                if end + 1 < input.len() {
                    if input[end + 1] == b'\n' { end + 2 } else { end + 1 }
                } else {
                    self.pending_cr = true;
                    end + 1
                }
            } else {
                end + 1
            };
            if self.line.is_empty() {
                let line = &input[pos..end];
                if line.is_empty() {
                    match borrowed.take() {
                        Some((a, b)) => self.emit(Some(&input[a..b]), on_event),
                        None => self.emit(None, on_event),
                    }
                } else if borrowed.is_none()
                    && self.data.is_empty()
                    && line.starts_with(b"data")
                    && matches!(line.get(4), None | Some(b':'))
                {
                    let mut a = (pos + 5).min(end);
                    if a < end && input[a] == b' ' {
                        a += 1;
                    }
                    if end - a + 1 > self.max_bytes {
                        return Err(self.fail());
                    }
                    *borrowed = Some((a, end));
                } else {
                    if let Some((a, b)) = borrowed.take() {
                        self.data.extend_from_slice(&input[a..b]);
                        self.data.push(b'\n');
                    }
                    self.line_done(line, on_event)?;
                }
            } else {
                if self.line.len() + (end - pos) > self.max_bytes {
                    return Err(self.fail());
                }
                self.line.extend_from_slice(&input[pos..end]);
                let line = std::mem::take(&mut self.line);
                let result = self.line_done(&line, on_event);
                self.line = line;
                self.line.clear();
                result?;
            }
            pos = next;
        }
        Ok(())
    }

    fn fail(&mut self) -> SseError {
        let err = SseError::TooLarge { limit: self.max_bytes };
        self.failed = Some(err.clone());
        self.line = Vec::new();
        self.data = Vec::new();
        err
    }

    fn line_done(&mut self, line: &[u8], on_event: &mut dyn FnMut(SseEvent<'_>)) -> Result<(), SseError> {
        if line.is_empty() {
            self.emit(None, on_event);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(c) => {
                let value = &line[c + 1..];
                (&line[..c], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_bytes {
                    return Err(self.fail());
                }
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            b"id" if memchr::memchr(0, value).is_none() => {
                self.last_id.clear();
                self.last_id.extend_from_slice(value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = value
                    .iter()
                    .fold(0u64, |acc, &d| acc.saturating_mul(10).saturating_add(u64::from(d - b'0')));
                self.retry_ms = Some(ms);
            }
            _ => {}
        }
        Ok(())
    }

    /// Dispatches the event being built; `lone_data` is its only data line when that was not
    /// copied into the data buffer.
    fn emit(&mut self, lone_data: Option<&[u8]>, on_event: &mut dyn FnMut(SseEvent<'_>)) {
        let data = match lone_data {
            Some(d) => d,
            None if self.data.is_empty() => {
                self.event.clear();
                return;
            }
            None => &self.data[..self.data.len() - 1],
        };
        let event = if self.event.is_empty() { Cow::Borrowed("message") } else { lossy(&self.event) };
        on_event(SseEvent { event, data: lossy(data), id: lossy(&self.last_id) });
        self.data.clear();
        self.event.clear();
    }
}

/// Decodes UTF-8, replacing invalid sequences with U+FFFD; borrows when the bytes are valid.
/// (`str::from_utf8` has a fast path for ASCII that the lossy iterator lacks.)
#[inline]
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Parses a whole stream at once into owned events (convenience for tests and small inputs).
pub fn parse_all(bytes: &[u8]) -> Result<Vec<OwnedSseEvent>, SseError> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    parser.feed(bytes, |e| events.push(e.to_owned_event()))?;
    parser.finish();
    Ok(events)
}
