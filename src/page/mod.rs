//! Reading a chat site's own page traffic: the bytes the page received, decoded into what the
//! cache keeps (the conversation, its title, the user-visible messages) and how a turn ended.
//!
//! The page hands over bytes and frames, never parsed objects: every decision is made here, in
//! pure Rust, tested natively in any chunking.
//!
//! - [`chatgpt`]: ChatGPT's answer streams ("delta encoding v1", legacy snapshots, typed events,
//!   resume streams, WebSocket frames) and request bodies.
//! - [`body`]: ChatGPT's conversation bodies (the plural paged endpoint, its older pages, the
//!   singular `mapping`).
//! - [`patch`]: the JSON-patch operations v1 deltas apply.
//! - [`session`]: one tab's streams routed to their turns (a resume or a socket continues the
//!   turn it belongs to) and turned into cache captures.
//! - [`sites`]: the answer streams of the other chat sites (Claude, Gemini, DeepSeek, Grok,
//!   Perplexity, Copilot, Le Chat), one decoder per wire format, each yielding the same [`Turn`].

pub mod body;
pub mod chatgpt;
pub mod patch;
pub mod session;
pub mod sites;

use serde::{Deserialize, Serialize};

use crate::conversation::{Content, Message, Role};

/// How a turn's traffic ended, as far as the bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// The answer is complete (terminal evidence: `message_stream_complete`, `[DONE]` without a
    /// handoff, a socket's `done`, a finished final answer, or a whole conversation body).
    Done,
    /// The answer continues elsewhere (a resume stream or a WebSocket); `[DONE]` after a
    /// handoff is not an answer.
    Handoff,
    /// The stream reported an error (or the answer was withheld by moderation).
    Error,
    /// No terminal evidence: the bytes stopped.
    Truncated,
}

impl End {
    /// The wire name (`done`, `handoff`, `error`, `truncated`).
    pub fn as_str(self) -> &'static str {
        match self {
            End::Done => "done",
            End::Handoff => "handoff",
            End::Error => "error",
            End::Truncated => "truncated",
        }
    }
}

/// An error reported inside a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamError {
    /// `refused` (withheld by moderation), `stream_error` (an error on a message root, the legacy
    /// error event), or the type of a typed error event.
    pub kind: Option<String>,
    /// The error code, when one was given (`error_code`, `code`).
    pub code: Option<String>,
    /// The message, as the site wrote it (empty when none was given).
    pub message: String,
    /// When the limit behind the error resets, in Unix milliseconds, when the site said
    /// (Claude's `resetsAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
}

/// One message as the cache keeps it, with its parent in the conversation tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnNode {
    /// The parent message id, if known.
    pub parent: Option<String>,
    /// The message. Messages the user does not see (hidden system messages, the user's profile
    /// and custom instructions, memory, thoughts, tool calls) keep only their id, role and place
    /// in the tree: their content is never kept.
    pub message: Message,
}

impl TurnNode {
    /// True when the user sees this message.
    pub fn is_visible(&self) -> bool {
        self.message.is_visible()
    }
}

/// What a turn's traffic (or a conversation body) showed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Turn {
    /// The conversation id, once the traffic named it.
    pub conversation_id: Option<String>,
    /// The conversation's title, when the traffic gave one.
    pub title: Option<String>,
    /// Every message seen, in order of first sight, echoes stripped of their content.
    pub nodes: Vec<TurnNode>,
    /// The last user-visible message (the conversation's current node after this turn).
    pub current: Option<String>,
    /// How it ended.
    pub end: Option<End>,
    /// The error, when it ended in one.
    pub error: Option<StreamError>,
    /// A temporary chat (never kept).
    pub temporary: bool,
}

impl Turn {
    /// The user-visible messages, in order.
    pub fn visible(&self) -> impl Iterator<Item = &TurnNode> {
        self.nodes.iter().filter(|n| n.is_visible())
    }
}

/// Whether the user sees `m` in the conversation (ChatGPT's rule): a user message, or an
/// assistant message addressed to everyone on the final channel; text or multimodal text; not
/// visually hidden, not a context message.
pub fn user_visible(m: &Message) -> bool {
    let kind_ok = matches!(m.content.content_type(), "text" | "multimodal_text");
    let role_ok = match m.role {
        Role::User => true,
        Role::Assistant => m.channel.as_deref().is_none_or(|c| c == "final"),
        _ => false,
    };
    kind_ok
        && role_ok
        && !m.hidden
        && m.recipient == "all"
        && m.metadata.get("is_user_system_message").and_then(serde_json::Value::as_bool) != Some(true)
}

/// The message as the cache keeps it: a visible message with its text, status and times (the
/// page's other metadata dropped); any other message reduced to its id, role and times, hidden,
/// its content never kept.
pub fn keepable(mut m: Message) -> Message {
    let visible = user_visible(&m);
    m.metadata.clear();
    m.author_extra.clear();
    m.extra.clear();
    if !visible {
        m.content = Content::text("");
        m.hidden = true;
        m.model_slug = None;
        m.finish = None;
        m.channel = None;
    }
    m
}

/// Parses a message object the way the cache reads it; `None` when it is not a message.
pub(crate) fn message_of(v: &serde_json::Value) -> Option<(Message, Option<String>)> {
    if !v.get("id").is_some_and(serde_json::Value::is_string) {
        return None;
    }
    let parent = v.pointer("/metadata/parent_id").and_then(serde_json::Value::as_str).map(str::to_string);
    let m: Message = Message::deserialize(v).ok()?;
    Some((keepable(m), parent))
}
