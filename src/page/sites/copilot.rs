//! copilot.microsoft.com's answers: JSON events over the page's own WebSocket, one or more JSON
//! objects a text frame.
//!
//! The page's `send` event carries the prompt (`content[].text`) and the conversation id;
//! `startMessage` names the answer; `appendText` appends `text` to one part (`partId`) of it and
//! `replaceText` replaces that part's text; `titleUpdate` names the conversation; `done` ends the
//! answer. The answer is its parts in order of first sight. `error` (with its `errorCode`) and
//! `challenge` are judged by the adapter; `connected`, `received`, `partCompleted`, `ping` and
//! the rest say nothing the cache keeps.
//!
//! [`SiteDecoder::feed`] reads frames one a line (what `understudy capture --site copilot` reads);
//! the page hook hands them over one by one with [`SiteDecoder::frame`].
//!
//! [`parse_read`] reads the conversation read, `GET /c/api/conversations/{id}/history` (shape
//! from daviddwlee84/Tampermonkey-Scripts, `userscripts/copilot-export-markdown/
//! copilot-export-markdown.user.js`: `{results: [{id, author: {type: human|ai}, createdAt,
//! content: [{type: text|chainOfThought|citation|image|…, text}]}], next}`, the newest message
//! first). The body names no conversation and no title: the id is the request path's. Only
//! `text` parts are answer text (`chainOfThought` is thinking, citations are metadata).

use serde_json::Value;

use super::{Answer, ReadTree, SiteDecoder, code_text, read_conversation_id, read_id, read_json, read_time};
use crate::conversation::{Conversation, Message, Role};
use crate::detect::Kind;
use crate::page::Turn;
use crate::page::body::BodyError;
use crate::site::Site;
use crate::stream::NdjsonSplitter;

/// One Copilot socket being decoded.
#[derive(Debug, Clone)]
pub struct CopilotStream {
    lines: NdjsonSplitter,
    state: State,
}

#[derive(Debug, Clone)]
struct State {
    answer: Answer,
    /// The answer's parts: (part id, text), in order of first sight.
    parts: Vec<(String, String)>,
}

impl Default for CopilotStream {
    fn default() -> Self {
        Self::new()
    }
}

impl CopilotStream {
    /// A decoder for one socket.
    pub fn new() -> Self {
        CopilotStream {
            lines: NdjsonSplitter::new(),
            state: State { answer: Answer::new(Site::Copilot), parts: Vec::new() },
        }
    }
}

impl SiteDecoder for CopilotStream {
    fn feed(&mut self, bytes: &[u8]) {
        let state = &mut self.state;
        let _ = self.lines.feed(bytes, |line| state.frame(&String::from_utf8_lossy(line)));
    }

    fn frame(&mut self, text: &str) {
        self.state.frame(text);
    }

    fn finish(&mut self) {
        let state = &mut self.state;
        self.lines.finish(|line| state.frame(&String::from_utf8_lossy(line)));
    }

    fn turn(&self) -> Turn {
        self.state.answer.turn()
    }
}

impl State {
    fn frame(&mut self, text: &str) {
        for v in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            match v {
                Ok(v) => self.event(&v),
                Err(_) => return,
            }
        }
    }

    fn event(&mut self, v: &Value) {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let a = &mut self.answer;
        match s("event").unwrap_or("") {
            "send" => {
                Answer::learn(&mut a.conversation_id, s("conversationId"));
                let prompt: String = v
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|c| c.get("text").and_then(Value::as_str))
                    .collect();
                Answer::learn(&mut a.prompt, Some(&prompt));
            }
            "received" => Answer::learn(&mut a.user_id, s("messageId")),
            "startMessage" => Answer::learn(&mut a.id, s("messageId")),
            "appendText" | "replaceText" => {
                let Some(text) = s("text") else { return };
                Answer::learn(&mut a.id, s("messageId"));
                let part = s("partId").unwrap_or("").to_string();
                let append = s("event") == Some("appendText");
                let last = self.parts.len().checked_sub(1);
                match self.parts.iter().position(|(id, _)| *id == part) {
                    Some(i) if append && Some(i) == last => {
                        self.parts[i].1.push_str(text);
                        a.append(text);
                        return;
                    }
                    Some(i) if append => self.parts[i].1.push_str(text),
                    Some(i) => self.parts[i].1 = text.to_string(),
                    None => {
                        self.parts.push((part, text.to_string()));
                        a.append(text);
                        return;
                    }
                }
                let whole: String = self.parts.iter().map(|(_, t)| t.as_str()).collect();
                a.replace(&whole);
            }
            "titleUpdate" => Answer::learn(&mut a.title, s("title")),
            "done" => a.done(),
            "error" => {
                let code = code_text(v.get("errorCode").or(v.get("code")));
                let message = s("message").or(s("text")).unwrap_or("");
                if let Some(err) = a.judge(code.as_deref(), message, Some(Kind::UnknownError)) {
                    a.fail(err);
                }
            }
            "challenge" => {
                if let Some(err) = a.judge(Some("challenge"), "", None) {
                    a.fail(err);
                }
            }
            _ => {}
        }
    }
}

/// Reads a Copilot conversation read (`history`) into the cached tree: a linear chain, oldest
/// first (by `createdAt` when every message has one, else the read's order reversed: the site
/// lists the newest first), keyed by the conversation id in `path`.
pub fn parse_read(path: Option<&str>, body: &str) -> Result<Conversation, BodyError> {
    let v = read_json(body)?;
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| BodyError::Malformed("no results".into()))?;
    let id = read_conversation_id(Site::Copilot, read_id(v.get("conversationId")), path)?;
    let mut messages: Vec<(Option<f64>, Message)> = Vec::new();
    for m in results {
        let Some(message_id) = read_id(m.get("id")) else { continue };
        let author = m.get("author").and_then(|a| a.get("type").or(Some(a))).and_then(Value::as_str);
        let role = match author {
            Some("human") => Role::User,
            Some("ai") => Role::Assistant,
            _ => continue,
        };
        let text: String = m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        let time = read_time(m.get("createdAt"));
        let mut message = Message::new(message_id, role, text);
        message.create_time = time;
        messages.push((time, message));
    }
    if messages.iter().all(|(t, _)| t.is_some()) {
        messages.sort_by(|a, b| a.0.unwrap_or(0.0).total_cmp(&b.0.unwrap_or(0.0)));
    } else {
        messages.reverse();
    }
    let mut tree = ReadTree::new(id);
    for (_, message) in messages {
        let parent = tree.last().map(str::to_string);
        tree.add(parent.as_deref(), message);
    }
    tree.finish(None)
}
