//! gemini.google.com's answer stream (`StreamGenerate`, read by the page over XMLHttpRequest).
//!
//! The body starts with `)]}'`, then frames `<length>\n<json>\n`. The length counts UTF-16 code
//! units (what the page's JavaScript counts), not bytes nor characters, starting at the newline
//! after the digits: real streams count both newlines around the JSON. The decoder waits for
//! `length` units, parses what they hold, and when that is not one JSON value (a length counted
//! without the newlines) reads one JSON value from the same place instead: either way a frame is
//! never cut and never runs into the next.
//!
//! A frame is an array of envelopes `["wrb.fr", null, "<inner JSON>", ...]`. In the inner array,
//! `[1]` is `[conversation id, response id]`, `[4]` the candidates, a candidate's text `[1][0]`
//! (its thoughts, `[37]`, are not answer text). Each frame carries the whole text so far: it
//! replaces, never appends. The answer is complete when the inner array sets index 25, or when
//! the candidate's completion marker `[8]` is `[2]`. Sparse frames are objects keyed by index
//! (`{"11": [title]}`). An error code sits at envelope path `[5, 2, 0, 1, 0]`; its kind is the
//! adapter's (a code the adapter calls `healthy`, or does not know, is no failure: one is
//! appended after successful turns).
//!
//! [`parse_read`] reads the page's conversation read: a `batchexecute` reply (`POST
//! /_/BardChatUi/data/batchexecute?rpcids=hNvQHb&source-path=/app/{id}`), framed like the stream
//! (the same reader), whose `["wrb.fr", "hNvQHb", "<inner JSON>", …]` envelope holds the turns
//! (shape from HanaokaYuzu/Gemini-API, `src/gemini_webapi/components/chat_mixin.py`, `read_chat`
//! and `_fetch_chat_turns`): `inner[0]` lists the turns newest first, a turn being
//! `[[conversation id, response id], …, [[prompt], …], [[candidate, …], …], [seconds, nanos]]`
//! and a candidate `[candidate id, [text], …]` (its thoughts, `[37]`, are not answer text). A
//! turn is the prompt (the response id `r_…` names it: the site gives the prompt no id of its
//! own) and the answer (the candidate id `rc_…`), a linear chain. Only an `hNvQHb` envelope is a
//! read: a reply of another rpc (the chat list `MaZiqc`, …), or a rejected read (no inner JSON,
//! a code at `[5, 0]`), is an error.

use serde_json::Value;

use super::{Answer, ReadTree, SiteDecoder, code_text, read_conversation_id, read_id, read_time};
use crate::conversation::{Conversation, Message, Role};
use crate::page::Turn;
use crate::page::body::BodyError;
use crate::site::Site;

/// The largest frame length accepted, in UTF-16 units (a longer one is no frame).
const MAX_FRAME_UNITS: usize = 64 * 1024 * 1024;

/// One Gemini answer stream being decoded.
#[derive(Debug, Clone)]
pub struct GeminiStream {
    answer: Answer,
    /// The decoded text not yet consumed (from `pos`).
    buf: String,
    pos: usize,
    /// The tail of a UTF-8 character cut by a chunk.
    carry: Vec<u8>,
    prefix_checked: bool,
    /// The frame being waited for: (its start, units counted, bytes counted), so that a long
    /// frame arriving in many chunks is counted once.
    scan: Option<(usize, usize, usize)>,
    /// Frames whose length did not frame one JSON value (read from their start instead).
    unframed: u32,
    /// The frames as read, when the body is a read rather than an answer stream.
    collect: Option<Vec<Value>>,
}

impl Default for GeminiStream {
    fn default() -> Self {
        Self::new()
    }
}

impl GeminiStream {
    /// A decoder for one answer stream.
    pub fn new() -> Self {
        GeminiStream {
            answer: Answer::new(Site::Gemini),
            buf: String::new(),
            pos: 0,
            carry: Vec::new(),
            prefix_checked: false,
            scan: None,
            unframed: 0,
            collect: None,
        }
    }

    /// How many frames so far had a length that did not frame one JSON value.
    pub fn unframed(&self) -> u32 {
        self.unframed
    }

    fn push_utf8(&mut self, bytes: &[u8]) {
        self.carry.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.carry[start..]) {
                Ok(s) => {
                    self.buf.push_str(s);
                    self.carry.clear();
                    return;
                }
                Err(e) => {
                    let good = start + e.valid_up_to();
                    if let Ok(s) = std::str::from_utf8(&self.carry[start..good]) {
                        self.buf.push_str(s);
                    }
                    match e.error_len() {
                        None => {
                            self.carry.drain(..good);
                            return;
                        }
                        Some(n) => {
                            self.buf.push('\u{FFFD}');
                            start = good + n;
                        }
                    }
                }
            }
        }
    }

    /// Reads every complete frame; `last` reads what a frame without its full length holds.
    fn drain(&mut self, last: bool) {
        loop {
            let rest = &self.buf[self.pos..];
            let trimmed = rest.trim_start();
            if !self.prefix_checked {
                if trimmed.len() < 4 && ")]}'".starts_with(trimmed) && !last {
                    return; // the prefix may still be arriving
                }
                let skip = rest.len() - trimmed.strip_prefix(")]}'").unwrap_or(trimmed).len();
                self.pos += skip;
                self.prefix_checked = true;
                continue;
            }
            self.pos += rest.len() - trimmed.len();
            let rest = trimmed;
            if rest.is_empty() {
                return;
            }
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == rest.len() && !last {
                return; // the length may still be arriving
            }
            let len = rest[..digits].parse::<usize>().ok().filter(|n| *n <= MAX_FRAME_UNITS);
            let Some(len) = len else {
                // Not a frame: pass over the line (once it has ended: its rest must not be
                // read as a frame when it arrives).
                match rest.find('\n') {
                    Some(i) => self.pos += i + 1,
                    None if last => self.pos = self.buf.len(),
                    None => return,
                }
                continue;
            };
            let start = self.pos + digits;
            let (mut units, mut bytes) = match self.scan {
                Some((s, u, b)) if s == start => (u, b),
                _ => (0, 0),
            };
            for c in self.buf[start + bytes..].chars() {
                if units >= len {
                    break;
                }
                units += c.len_utf16();
                bytes += c.len_utf8();
            }
            if units < len && !last {
                self.scan = Some((start, units, bytes));
                return;
            }
            self.scan = None;
            let region = &self.buf[start..start + bytes];
            if let Ok(v) = serde_json::from_str::<Value>(region.trim()) {
                self.pos = start + bytes;
                self.frame_json(&v);
                continue;
            }
            // The length did not frame one JSON value: read one value from the same place.
            self.unframed += 1;
            let mut values = serde_json::Deserializer::from_str(&self.buf[start..]).into_iter::<Value>();
            match values.next() {
                // A frame is an array: a scalar (a number may still be growing) is no frame.
                Some(Ok(v)) if v.is_array() || v.is_object() => {
                    self.pos = start + values.byte_offset();
                    self.frame_json(&v);
                }
                Some(Err(e)) if e.is_eof() && !last => {
                    self.unframed -= 1; // counted again when the rest arrives
                    return;
                }
                None if !last => {
                    self.unframed -= 1; // nothing but white space yet
                    return;
                }
                _ => self.pos = start + bytes, // a broken frame: passed over
            }
            if last && self.pos >= self.buf.len() {
                return;
            }
        }
    }

    fn frame_json(&mut self, frame: &Value) {
        if let Some(frames) = self.collect.as_mut() {
            frames.push(frame.clone());
            return;
        }
        let Some(envelopes) = frame.as_array() else { return };
        for env in envelopes {
            if let Some(inner) = env.get(2).and_then(Value::as_str)
                && let Ok(inner) = serde_json::from_str::<Value>(inner)
            {
                self.inner(&inner);
            }
            let code = [5, 2, 0, 1, 0].iter().try_fold(env, |v, &i| v.get(i));
            if let Some(code) = code_text(code)
                && let Some(err) = self.answer.judge(Some(&code), "", None)
            {
                self.answer.fail(err);
            }
        }
    }

    fn inner(&mut self, inner: &Value) {
        let a = &mut self.answer;
        if let Some(ids) = at(inner, 1) {
            Answer::learn(&mut a.conversation_id, at(ids, 0).and_then(Value::as_str));
            Answer::learn(&mut a.id, at(ids, 1).and_then(Value::as_str));
        }
        if let Some(title) = at(inner, 11).and_then(|t| at(t, 0)).and_then(Value::as_str) {
            a.title = Some(title.to_string());
        }
        if let Some(candidate) = at(inner, 4).and_then(|c| at(c, 0)) {
            if let Some(text) = at(candidate, 1).and_then(|t| at(t, 0)).and_then(Value::as_str) {
                a.replace(text);
            }
            if at(candidate, 8).and_then(|m| at(m, 0)).and_then(Value::as_i64) == Some(2) {
                a.done();
            }
        }
        if at(inner, 25).is_some() {
            a.done();
        }
    }
}

/// Element `i` of an array, or key `"i"` of a sparse object; `null` counts as absent.
fn at(v: &Value, i: usize) -> Option<&Value> {
    let x = match v {
        Value::Array(a) => a.get(i),
        Value::Object(o) => o.get(&i.to_string()),
        _ => None,
    }?;
    (!x.is_null()).then_some(x)
}

impl SiteDecoder for GeminiStream {
    fn feed(&mut self, bytes: &[u8]) {
        self.push_utf8(bytes);
        self.drain(false);
        if self.pos > 64 * 1024 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            if let Some((s, u, b)) = self.scan {
                self.scan = Some((s - self.pos, u, b));
            }
            self.pos = 0;
        }
    }

    fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.carry.clear();
            self.buf.push('\u{FFFD}');
        }
        self.drain(true);
    }

    fn turn(&self) -> Turn {
        self.answer.turn()
    }
}

/// The rpc id of the page's conversation read.
const READ_RPC: &str = "hNvQHb";

/// The frames of a `batchexecute` reply, read like the stream's.
fn frames(body: &str) -> Vec<Value> {
    let mut d = GeminiStream::new();
    d.collect = Some(Vec::new());
    d.feed(body.as_bytes());
    d.finish();
    d.collect.unwrap_or_default()
}

/// Reads Gemini's conversation read (the `hNvQHb` reply of `batchexecute`) into the cached tree,
/// keyed by the conversation id as the stream writes it (`c_…`): the turns' own, else the
/// request's `source-path`.
pub fn parse_read(path: Option<&str>, body: &str) -> Result<Conversation, BodyError> {
    let mut inner = None;
    let mut other = None;
    let mut rejected = None;
    for frame in frames(body) {
        for env in frame.as_array().into_iter().flatten() {
            if env.get(0).and_then(Value::as_str) != Some("wrb.fr") {
                continue;
            }
            match env.get(1).and_then(Value::as_str) {
                Some(READ_RPC) => match env.get(2).and_then(Value::as_str) {
                    Some(body) if inner.is_none() => inner = Some(body.to_string()),
                    Some(_) => {}
                    None => rejected = code_text(env.get(5).and_then(|c| c.get(0))),
                },
                Some(rpc) => other = Some(rpc.to_string()),
                None => {}
            }
        }
    }
    let inner = inner.ok_or_else(|| {
        BodyError::Malformed(match (rejected, other) {
            (Some(code), _) => format!("the read was refused (code {code})"),
            (None, Some(rpc)) => format!("a {rpc} reply, not a read"),
            (None, None) => "no hNvQHb reply".to_string(),
        })
    })?;
    let inner: Value = serde_json::from_str(&inner).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let turns =
        at(&inner, 0).and_then(Value::as_array).ok_or_else(|| BodyError::Malformed("no turns".into()))?;
    let cid = turns.iter().find_map(|t| read_id(at(t, 0).and_then(|m| at(m, 0))));
    let id = read_conversation_id(Site::Gemini, cid, path)?;
    let mut tree = ReadTree::new(id);
    for turn in turns.iter().rev() {
        let Some(rid) = read_id(at(turn, 0).and_then(|m| at(m, 1))) else { continue };
        let time = read_time(at(turn, 4).and_then(|t| at(t, 0)));
        let prompt = at(turn, 2).and_then(|p| at(p, 0)).and_then(|p| at(p, 0)).and_then(Value::as_str);
        let candidate = at(turn, 3).and_then(|c| at(c, 0)).and_then(|c| at(c, 0));
        let mut parent = tree.last().map(str::to_string);
        if let Some(prompt) = prompt {
            let mut user = Message::new(rid.clone(), Role::User, prompt);
            user.create_time = time;
            user.status = Some("finished_successfully".to_string());
            tree.add(parent.as_deref(), user);
            parent = Some(rid);
        }
        let Some(candidate) = candidate else { continue };
        let Some(rcid) = read_id(at(candidate, 0)) else { continue };
        let text = at(candidate, 1).and_then(|t| at(t, 0)).and_then(Value::as_str).unwrap_or("");
        let mut answer = Message::new(rcid, Role::Assistant, text);
        answer.create_time = time;
        answer.status = Some("finished_successfully".to_string());
        tree.add(parent.as_deref(), answer);
    }
    tree.finish(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames whose length counts UTF-16 units of the JSON and both newlines are read by their
    /// length alone, in any chunking; a length in bytes or in characters would not frame them.
    #[test]
    fn lengths_count_utf16_units_of_the_json_and_both_newlines() {
        let body = "[[\"wrb.fr\",null,\"[null,null,null,null,[[\\\"rc\\\",[\\\"👋🏽 𝄞 日本\\\"]]]]\"]]";
        let framed = |n: usize| format!(")]}}'\n\n{n}\n{body}\n{n}\n{body}\n");
        let units = format!("\n{body}\n").encode_utf16().count();
        let bytes = body.len() + 2;
        let chars = body.chars().count() + 2;
        assert!(units != bytes && units != chars);
        let read = |text: &str, chunk: usize| {
            let mut d = GeminiStream::new();
            for c in text.as_bytes().chunks(chunk) {
                d.feed(c);
            }
            d.finish();
            (d.answer.text.clone(), d.unframed())
        };
        for chunk in 1..=40 {
            assert_eq!(read(&framed(units), chunk), ("👋🏽 𝄞 日本".to_string(), 0), "chunk {chunk}");
        }
        // Wrong lengths are no frames: the reader falls back to reading one value.
        assert!(read(&framed(bytes), 7).1 >= 1);
        assert!(read(&framed(chars), 7).1 >= 1);
    }
}
