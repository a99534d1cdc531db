//! One tab's ChatGPT traffic: streams routed to the turns they belong to, turned into captures.
//!
//! The page hands over, per stream it watches, the request body (once) and the bytes or socket
//! frames in order. A send stream starts a turn; a resume stream continues the latest turn of its
//! conversation (passing over the events its `offset` says were already read); a WebSocket frame
//! continues the latest turn of the conversation it names (or starts one). [`CaptureSession::take`]
//! returns, for every turn that changed since the last call, one [`TurnCapture`] to store.
//!
//! A prompt sent in a new chat is stored under a pending key until the stream names the
//! conversation; the first capture under the real id carries the pending key so the store drops
//! it. Temporary chats (the page's `?temporary-chat=true`, or the request's flags) give nothing,
//! nor do the resumes and frames of their conversations.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use serde::Serialize;

use super::chatgpt::{ChatgptStream, MAX_EVENT, Request};
use super::{End, StreamError};
use crate::conversation::capture::{TurnCapture, pending_key};

/// How one turn ended, as its bytes tell (see [`CaptureSession::verdicts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The conversation, once the traffic named it.
    pub conversation_id: Option<String>,
    /// How it ended.
    pub end: End,
    /// The error, when it ended in one.
    pub error: Option<StreamError>,
    /// The text of the prompt the turn answers, when the page's request gave it (what a rescue
    /// carries over when this turn failed).
    pub prompt: Option<String>,
}

/// What kind of stream the page opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// `POST …/f/conversation`: a new turn.
    Send,
    /// `POST …/f/conversation/resume`: the continuation of a turn.
    Resume,
    /// A WebSocket on `ws.chatgpt.com`: frames of any turn.
    Socket,
}

impl StreamKind {
    /// The kind named by the page (`send`, `resume`, `ws`).
    pub fn parse(s: &str) -> Option<StreamKind> {
        Some(match s {
            "send" => StreamKind::Send,
            "resume" => StreamKind::Resume,
            "ws" => StreamKind::Socket,
            _ => return None,
        })
    }
}

/// Why the session refused something the page sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// Bytes or frames for a stream that was never opened (or was forgotten).
    UnknownStream(u32),
    /// A stream id opened twice.
    AlreadyOpen(u32),
    /// A stream grew past the bound.
    TooLarge,
    /// Too many streams at once.
    TooMany,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::UnknownStream(id) => write!(f, "unknown stream {id}"),
            SessionError::AlreadyOpen(id) => write!(f, "stream {id} is already open"),
            SessionError::TooLarge => f.write_str("the stream is too large to keep"),
            SessionError::TooMany => f.write_str("too many streams at once"),
        }
    }
}

impl std::error::Error for SessionError {}

/// The most bytes one stream may hand over.
pub const MAX_STREAM_BYTES: usize = 64 << 20;
/// The most streams open at once, and turns kept for continuation.
const MAX_STREAMS: usize = 32;
const MAX_TURNS: usize = 16;

#[derive(Debug)]
struct Stream {
    kind: StreamKind,
    /// The turn a send or resume stream feeds.
    turn: Option<usize>,
    bytes: usize,
    temporary: bool,
}

#[derive(Debug)]
struct TurnState {
    decoder: ChatgptStream,
    /// Revision last handed out by `take`.
    taken: u64,
    /// The pending key the prompt was stored under (a new chat).
    pending: Option<String>,
    /// Whether a capture under the real id was handed out (then the pending key was dropped).
    moved: bool,
    /// Used for eviction: higher is more recent.
    touched: u64,
    /// The end last handed out by `verdicts`.
    reported: Option<End>,
}

/// One tab's capture state (see the module documentation).
#[derive(Debug, Default)]
pub struct CaptureSession {
    streams: HashMap<u32, Stream>,
    turns: Vec<TurnState>,
    temporary: HashSet<String>,
    clock: u64,
}

impl CaptureSession {
    /// An empty session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the stream `id` is known (false after the worker lost its state: the page then
    /// sends the stream again from its start).
    pub fn knows(&self, id: u32) -> bool {
        self.streams.contains_key(&id)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn latest_turn(&self, conversation: &str) -> Option<usize> {
        self.turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.decoder.conversation_id() == Some(conversation))
            .max_by_key(|(_, t)| t.touched)
            .map(|(i, _)| i)
    }

    fn new_turn(&mut self, decoder: ChatgptStream) -> usize {
        if self.turns.len() >= MAX_TURNS {
            // Forget the least recent turn no open stream feeds.
            let busy: HashSet<usize> = self.streams.values().filter_map(|s| s.turn).collect();
            if let Some((i, _)) = self
                .turns
                .iter()
                .enumerate()
                .filter(|(i, _)| !busy.contains(i))
                .min_by_key(|(_, t)| t.touched)
            {
                self.turns.swap_remove(i);
                let moved = self.turns.len();
                for s in self.streams.values_mut() {
                    if s.turn == Some(moved) {
                        s.turn = Some(i);
                    }
                }
            }
        }
        let pending = decoder
            .request()
            .filter(|r| r.conversation_id.is_none())
            .and_then(|r| r.prompt.as_ref())
            .map(|p| pending_key(&p.id));
        let touched = self.tick();
        self.turns.push(TurnState { decoder, taken: 0, pending, moved: false, touched, reported: None });
        self.turns.len() - 1
    }

    /// The page opened a stream: `kind`, its request body (JSON text) when known, and whether the
    /// page is a temporary chat.
    pub fn open(
        &mut self,
        id: u32,
        kind: StreamKind,
        request: Option<&str>,
        temporary_page: bool,
    ) -> Result<(), SessionError> {
        if self.streams.contains_key(&id) {
            return Err(SessionError::AlreadyOpen(id));
        }
        if self.streams.len() >= MAX_STREAMS {
            return Err(SessionError::TooMany);
        }
        let request = request.and_then(Request::parse);
        let temporary = temporary_page
            || request.as_ref().is_some_and(|r| r.temporary)
            || request
                .as_ref()
                .and_then(|r| r.conversation_id.as_ref())
                .is_some_and(|c| self.temporary.contains(c));
        let turn = match kind {
            StreamKind::Socket => None,
            StreamKind::Send => {
                let mut d = ChatgptStream::new(request);
                if temporary {
                    d.set_temporary();
                }
                Some(self.new_turn(d))
            }
            StreamKind::Resume => {
                let conversation = request.as_ref().and_then(|r| r.conversation_id.clone());
                let offset = request.as_ref().and_then(|r| r.offset);
                match conversation.as_deref().and_then(|c| self.latest_turn(c)) {
                    Some(i) => {
                        self.turns[i].decoder.resume(offset);
                        if temporary {
                            self.turns[i].decoder.set_temporary();
                        }
                        self.turns[i].touched = self.tick();
                        Some(i)
                    }
                    None => {
                        let mut d = ChatgptStream::new(request.map(|r| Request { prompt: None, ..r }));
                        if temporary {
                            d.set_temporary();
                        }
                        Some(self.new_turn(d))
                    }
                }
            }
        };
        self.streams.insert(id, Stream { kind, turn, bytes: 0, temporary });
        Ok(())
    }

    fn stream(&mut self, id: u32, more: usize) -> Result<&mut Stream, SessionError> {
        let s = self.streams.get_mut(&id).ok_or(SessionError::UnknownStream(id))?;
        s.bytes += more;
        if s.bytes > MAX_STREAM_BYTES {
            return Err(SessionError::TooLarge);
        }
        Ok(s)
    }

    /// Bytes (as text) of a send or resume stream, in order.
    pub fn push(&mut self, id: u32, bytes: &[u8]) -> Result<(), SessionError> {
        let s = self.stream(id, bytes.len())?;
        let Some(t) = s.turn else { return Ok(()) };
        let now = self.tick();
        let turn = &mut self.turns[t];
        turn.decoder.feed(bytes);
        turn.touched = now;
        Ok(())
    }

    /// One WebSocket text frame.
    pub fn frame(&mut self, id: u32, text: &str) -> Result<(), SessionError> {
        let temporary_socket = self.stream(id, text.len())?.temporary;
        if text.len() > MAX_EVENT {
            return Ok(());
        }
        let Ok(frame) = serde_json::from_str::<Value>(text) else { return Ok(()) };
        let conversation = frame
            .pointer("/payload/payload/conversation_id")
            .or_else(|| frame.pointer("/payload/conversation_id"))
            .or_else(|| frame.get("conversation_id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(conversation) = conversation else {
            // A frame that names no conversation (a socket-level `done`, a ping): the turn the
            // socket fed last, if any.
            if let Some(t) = self.streams.get(&id).and_then(|s| s.turn) {
                self.turns[t].decoder.frame(&frame);
            }
            return Ok(());
        };
        let t = match self.latest_turn(&conversation) {
            Some(t) => t,
            None => {
                let mut d = ChatgptStream::new(Some(Request {
                    conversation_id: Some(conversation.clone()),
                    ..Request::default()
                }));
                if temporary_socket || self.temporary.contains(&conversation) {
                    d.set_temporary();
                }
                self.new_turn(d)
            }
        };
        let now = self.tick();
        if let Some(s) = self.streams.get_mut(&id) {
            s.turn = Some(t);
        }
        self.turns[t].touched = now;
        self.turns[t].decoder.frame(&frame);
        Ok(())
    }

    /// The stream ended (`eof`, `abort`, `error`, `pagehide`, `close`: all the same to the
    /// decoder, which judges the end from the bytes). The stream id is forgotten.
    pub fn end(&mut self, id: u32) -> Result<(), SessionError> {
        let s = self.streams.remove(&id).ok_or(SessionError::UnknownStream(id))?;
        if s.kind != StreamKind::Socket
            && let Some(t) = s.turn
        {
            self.turns[t].decoder.finish();
        }
        Ok(())
    }

    /// The latest turn's conversation id (when known) and its prompt's message id (when the page
    /// sent one): where an answer from another provider is filed when this turn failed.
    pub fn latest(&self) -> Option<(Option<String>, Option<String>)> {
        let t = self.turns.iter().max_by_key(|t| t.touched)?;
        let prompt = t.decoder.request().and_then(|r| r.prompt.as_ref()).map(|p| p.id.clone());
        Some((t.decoder.conversation_id().map(str::to_string), prompt))
    }

    /// How turns ended, for detection: one [`Verdict`] per turn whose end changed since the last
    /// call (a turn handed off, then done, gives two). Temporary chats are judged like any other:
    /// detection keeps nothing.
    pub fn verdicts(&mut self) -> Vec<Verdict> {
        let mut out = Vec::new();
        for t in &mut self.turns {
            let end = t.decoder.end();
            if end.is_none() || end == t.reported {
                continue;
            }
            t.reported = end;
            let Some(end) = end else { continue };
            out.push(Verdict {
                conversation_id: t.decoder.conversation_id().map(str::to_string),
                end,
                error: t.decoder.error().cloned(),
                prompt: t.decoder.request().and_then(|r| r.prompt.as_ref()).map(|m| m.content.plain_text()),
            });
        }
        out
    }

    /// The captures to store: one per turn that changed since the last call.
    pub fn take(&mut self) -> Vec<TurnCapture> {
        let mut out = Vec::new();
        let mut temporary = Vec::new();
        for t in &mut self.turns {
            let rev = t.decoder.revision();
            if rev == t.taken {
                continue;
            }
            t.taken = rev;
            let turn = t.decoder.turn();
            if turn.temporary {
                temporary.extend(turn.conversation_id.clone());
                continue;
            }
            if turn.nodes.is_empty() && turn.title.is_none() {
                continue;
            }
            let (key, pending) = match (&turn.conversation_id, &t.pending) {
                (Some(c), p) => (c.clone(), if t.moved { None } else { p.clone() }),
                (None, Some(p)) => (p.clone(), None),
                (None, None) => continue,
            };
            if turn.conversation_id.is_some() {
                t.moved = true;
            }
            out.push(TurnCapture {
                conversation_id: key,
                title: turn.title,
                nodes: turn.nodes,
                current: turn.current,
                pending,
                site: None,
                follows_current: false,
            });
        }
        self.temporary.extend(temporary);
        out
    }
}
