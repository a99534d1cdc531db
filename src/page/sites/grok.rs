//! grok.com's answer stream: NDJSON (one JSON object a line, no `data:`).
//!
//! Lines hold `result.response` (or `result` itself, on the responses endpoint): `token`s append
//! to the answer unless `isThinking` is set or a `messageTag` other than `final` marks them as
//! something else; `modelResponse.message` is the whole answer (a snapshot: it replaces;
//! `thinkingTrace` is thinking); `userResponse` echoes the prompt; `isSoftStop` and
//! `finalMetadata` end the answer. The conversation id is on the first line
//! (`result.conversation.conversationId`), the title comes as `result.title.newTitle`. An
//! `error` object (`code` 7 is the anti-bot refusal) is judged by the adapter.
//!
//! [`parse_read`] reads the page's two conversation reads (shapes from ragaeeb/blackiya,
//! `platforms/grok/grok-com-parser.ts`), each on its own into a partial tree the cache merges by
//! id: `GET /rest/app-chat/conversations/{id}/response-node` gives the tree, `{responseNodes:
//! [{responseId, sender, parentResponseId}]}` (messages without text, marked unfinished so that
//! any version with text replaces them: ids, senders and parents);
//! `POST …/{id}/load-responses` gives the messages, `{responses: [{responseId, sender, message,
//! createTime, parentResponseId, partial, thinkingTrace, …}]}` (`message` is the text,
//! `thinkingTrace` is thinking). Neither body names the conversation: the id is the request
//! path's. The current node is the last node the read lists.

use serde_json::Value;

use super::{Answer, ReadTree, SiteDecoder, code_text, read_conversation_id, read_id, read_json, read_time};
use crate::conversation::{Conversation, Message, Role};
use crate::detect::Kind;
use crate::page::Turn;
use crate::page::body::BodyError;
use crate::site::Site;
use crate::stream::NdjsonSplitter;

/// One Grok answer stream being decoded.
#[derive(Debug, Clone)]
pub struct GrokStream {
    lines: NdjsonSplitter,
    answer: Answer,
}

impl Default for GrokStream {
    fn default() -> Self {
        Self::new()
    }
}

impl GrokStream {
    /// A decoder for one answer stream.
    pub fn new() -> Self {
        GrokStream { lines: NdjsonSplitter::new(), answer: Answer::new(Site::Grok) }
    }
}

impl SiteDecoder for GrokStream {
    fn feed(&mut self, bytes: &[u8]) {
        let answer = &mut self.answer;
        let _ = self.lines.feed(bytes, |line| read_line(answer, line));
    }

    fn finish(&mut self) {
        let answer = &mut self.answer;
        self.lines.finish(|line| read_line(answer, line));
    }

    fn turn(&self) -> Turn {
        self.answer.turn()
    }
}

fn read_line(a: &mut Answer, line: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(line) else { return };
    if let Some(e) = v.get("error") {
        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
        if let Some(err) = a.judge(code_text(e.get("code")).as_deref(), message, Some(Kind::UnknownError)) {
            a.fail(err);
        }
        return;
    }
    let Some(result) = v.get("result") else { return };
    Answer::learn(
        &mut a.conversation_id,
        result.pointer("/conversation/conversationId").and_then(Value::as_str),
    );
    if let Some(title) = result.pointer("/title/newTitle").and_then(Value::as_str) {
        a.title = Some(title.to_string());
    }
    let r = result.get("response").unwrap_or(result);
    if let Some(user) = r.get("userResponse") {
        Answer::learn(&mut a.user_id, user.get("responseId").and_then(Value::as_str));
        Answer::learn(&mut a.prompt, user.get("message").and_then(Value::as_str));
    }
    if let Some(token) = r.get("token").and_then(Value::as_str) {
        let thinking = r.get("isThinking").and_then(Value::as_bool) == Some(true);
        let tag = r.get("messageTag").and_then(Value::as_str);
        if !thinking && tag.is_none_or(|t| t == "final") {
            a.append(token);
        }
        Answer::learn(&mut a.id, r.get("responseId").and_then(Value::as_str));
    }
    if let Some(m) = r.get("modelResponse") {
        Answer::learn(&mut a.id, m.get("responseId").and_then(Value::as_str));
        if let Some(message) = m.get("message").and_then(Value::as_str) {
            a.replace(message);
        }
    }
    if r.get("isSoftStop").and_then(Value::as_bool) == Some(true) || r.get("finalMetadata").is_some() {
        Answer::learn(&mut a.id, r.get("responseId").and_then(Value::as_str));
        a.done();
    }
}

/// Reads one of Grok's conversation reads (`response-node` or `load-responses`, told apart by
/// their bodies) into a partial tree keyed by the conversation id in `path`.
pub fn parse_read(path: Option<&str>, body: &str) -> Result<Conversation, BodyError> {
    let v = read_json(body)?;
    let (items, texts) = match (v.get("responseNodes"), v.get("responses")) {
        (Some(nodes), None) => (nodes, false),
        (None, Some(responses)) => (responses, true),
        _ => return Err(BodyError::Malformed("neither responseNodes nor responses".into())),
    };
    let items = items.as_array().ok_or_else(|| BodyError::Malformed("not a list".into()))?;
    let id = read_conversation_id(Site::Grok, read_id(v.get("conversationId")), path)?;
    let mut tree = ReadTree::new(id);
    for r in items {
        let Some(response_id) = read_id(r.get("responseId")) else { continue };
        let role = match r.get("sender").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("human" | "user") => Role::User,
            Some("assistant" | "grok") => Role::Assistant,
            _ => continue,
        };
        let text = if texts { r.get("message").and_then(Value::as_str).unwrap_or("") } else { "" };
        let mut message = Message::new(response_id, role, text);
        message.create_time = read_time(r.get("createTime"));
        // The tree's messages have no text yet: marked unfinished, any version with text (even a
        // partial one) replaces them when the cache merges the two reads, in either order.
        let unfinished = !texts || r.get("partial").and_then(Value::as_bool) == Some(true);
        message.status = Some(if unfinished { "in_progress" } else { "finished_successfully" }.to_string());
        let parent = read_id(r.get("parentResponseId"));
        tree.add(parent.as_deref(), message);
    }
    tree.finish(None)
}
