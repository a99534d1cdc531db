//! ChatGPT's conversation bodies, as the page loads them.
//!
//! - `GET /backend-api/conversations/{id}?…` (plural, what opening a chat calls in 2026):
//!   `{conversation_id, title, current_node, messages: [...the current branch, in order...],
//!   page_info, is_do_not_remember, is_temporary_chat, ...}`.
//! - `GET /backend-api/conversations/{id}/messages?before=…` (an older page): `{messages,
//!   page_info}`; the conversation id comes from the path.
//! - `GET /backend-api/conversation/{id}` (singular): the export-shaped `mapping` tree.
//!
//! Either way the cache gets the messages with their parents, echoes reduced to their place in
//! the tree ([`super::keepable`]); a body that says the chat is temporary is refused.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::{End, Turn, TurnNode, message_of};
use crate::conversation::Conversation;

/// A conversation body, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A page of the current branch (plural endpoint or an older page): merged into the tree.
    /// `current` is set only by the first page (the one that names `current_node`).
    Page(Turn),
    /// The whole tree (singular endpoint), echoes already reduced.
    Tree(Box<Conversation>),
}

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON, or not a conversation body.
    Malformed(String),
    /// No conversation id in the body or the path.
    NoId,
    /// The chat is temporary (`is_temporary_chat` or `is_do_not_remember`): never kept.
    Temporary,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Malformed(m) => write!(f, "not a conversation body: {m}"),
            BodyError::NoId => f.write_str("the conversation body names no conversation"),
            BodyError::Temporary => f.write_str("a temporary chat is not kept"),
        }
    }
}

impl std::error::Error for BodyError {}

/// The conversation id in a request path (`/backend-api/conversations/{id}…` or
/// `/backend-api/conversation/{id}`).
pub fn id_from_path(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let rest = path
        .strip_prefix("/backend-api/conversations/")
        .or_else(|| path.strip_prefix("/backend-api/conversation/"))?;
    let id = rest.split('/').next()?;
    let ok = !id.is_empty()
        && id.len() <= 100
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| id.to_string())
}

fn temporary(o: &serde_json::Map<String, Value>) -> bool {
    ["is_temporary_chat", "is_do_not_remember", "history_and_training_disabled"]
        .iter()
        .any(|k| o.get(*k).and_then(Value::as_bool) == Some(true))
}

/// Reads a conversation body; `path` is the request's path (with its query), when known.
pub fn parse(json: &str, path: Option<&str>) -> Result<Body, BodyError> {
    let v: Value = serde_json::from_str(json).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let o = v.as_object().ok_or_else(|| BodyError::Malformed("not an object".into()))?;
    if temporary(o) {
        return Err(BodyError::Temporary);
    }
    let from_path = path.and_then(id_from_path);
    if o.contains_key("mapping") {
        let mut conv = Conversation::deserialize(&v).map_err(|e| BodyError::Malformed(e.to_string()))?;
        if conv.id.is_empty() {
            conv.id = from_path.ok_or(BodyError::NoId)?;
        }
        for node in conv.nodes.values_mut() {
            if let Some(m) = node.message.take() {
                node.message = Some(super::keepable(m));
            }
        }
        return Ok(Body::Tree(Box::new(conv)));
    }
    let messages = o
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| BodyError::Malformed("neither messages nor mapping".into()))?;
    let id = o
        .get("conversation_id")
        .or_else(|| o.get("id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or(from_path)
        .ok_or(BodyError::NoId)?;
    let mut nodes: Vec<TurnNode> = Vec::with_capacity(messages.len());
    for m in messages {
        let Some((message, parent)) = message_of(m) else { continue };
        // The list is the current branch in order: a message without a parent follows the one before.
        let parent = parent.or_else(|| nodes.last().map(|n| n.message.id.clone()));
        nodes.push(TurnNode { parent, message });
    }
    let current = o
        .get("current_node")
        .and_then(Value::as_str)
        .filter(|c| nodes.iter().any(|n| n.message.id == *c))
        .map(str::to_string);
    let title = o.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
    Ok(Body::Page(Turn {
        conversation_id: Some(id),
        title,
        nodes,
        current,
        end: Some(End::Done),
        error: None,
        temporary: false,
    }))
}
