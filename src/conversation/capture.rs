//! Applying what the page showed (captures) to the stored copy of a conversation.
//!
//! The page's own traffic is decoded by the core ([`crate::page`]): a turn's streams become
//! [`Capture::Turn`] (the prompt and the answers with their parents, the title), a conversation
//! body [`Capture::Conversation`]. A DOM reading fills what traffic did not give. The web edge
//! reads the stored record (if any) for [`Capture::key`], calls [`apply`] and writes back the
//! result in one transaction.
//!
//! A prompt sent in a new conversation has no conversation id yet (a failed send never gets
//! one): its turn is stored under a pending key (`pending-<message id>`). The first capture under
//! the real id carries the pending key; the edge then deletes the pending record.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::model::{Conversation, Message, Role};
use crate::page::TurnNode;
use crate::page::body::{self, Body, BodyError};
use crate::page::sites::read::read_conversation;
use crate::site::Site;

/// The longest text accepted in one captured message (bytes).
pub const MAX_TEXT: usize = 2 << 20;
/// The largest conversation document accepted in one capture (bytes). ChatGPT's plural GET
/// pages hold about ten turns (tens of kB); the singular tree of a long chat is a few MB.
pub const MAX_CONVERSATION: usize = 16 << 20;

/// What a turn's traffic showed, decoded by the core from the page's bytes
/// ([`crate::page::session`]): the messages with their parents, the title, the current node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnCapture {
    /// The key: the conversation id, or the pending key of a new chat's prompt.
    pub conversation_id: String,
    /// The title the traffic gave, if any.
    #[serde(default)]
    pub title: Option<String>,
    /// Every message seen (echoes reduced to their place in the tree).
    pub nodes: Vec<TurnNode>,
    /// The last visible message: the conversation's current node.
    #[serde(default)]
    pub current: Option<String>,
    /// The pending key the prompt was stored under, to be deleted.
    #[serde(default)]
    pub pending: Option<String>,
    /// The chat site of the conversation (`claude`, `gemini`, ...), when not ChatGPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// A message without a parent follows the conversation's current message (a site whose
    /// stream does not name the parent: the prompt continues what was said before).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follows_current: bool,
}

/// One thing seen on the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Capture {
    /// A conversation body as the page loaded it (JSON text): the plural paged endpoint, one of
    /// its older pages, or the singular `mapping` tree ([`crate::page::body`]).
    Conversation {
        /// The response body.
        json: String,
        /// The request path with its query (names the conversation of an older page).
        #[serde(default)]
        path: Option<String>,
        /// The chat site whose read this is (`claude`, `gemini`, ...: its adapter's
        /// `conversation_read`, [`crate::page::sites::read`]); absent for ChatGPT. The worker
        /// sets it from the tab's URL, never from what the page says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
    },
    /// A turn decoded from the page's stream bytes.
    Turn(TurnCapture),
    /// Turns read from the page's DOM (no traffic seen).
    Dom {
        /// The conversation id from the URL.
        conversation_id: String,
        /// The title shown, if any.
        #[serde(default)]
        title: Option<String>,
        /// The turns, in page order.
        turns: Vec<DomTurn>,
        /// The chat site whose page this is, when not ChatGPT (set by the worker from the tab's
        /// URL): its turns have no ids ([`crate::page::sites::read::dom_fill`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
    },
}

/// One turn read from the DOM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomTurn {
    /// `data-message-id`.
    pub id: String,
    /// `data-message-author-role`.
    pub role: String,
    /// The visible text.
    pub text: String,
}

/// Why a capture was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// The capture did not have the expected shape.
    Malformed(String),
    /// The capture exceeds a size bound.
    TooLarge(&'static str),
    /// The capture names a different conversation than the stored one.
    WrongConversation,
    /// The conversation is a temporary chat: never kept.
    Temporary,
    /// A conversation body whose request path names another conversation than the body.
    PathMismatch,
    /// A capture of a conversation the tab neither shows nor streamed (see [`check_origin`]).
    NotThisTab,
    /// The tab went over its capture budget (see [`CaptureBudget`]).
    OverBudget(&'static str),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Malformed(m) => write!(f, "malformed capture: {m}"),
            CaptureError::TooLarge(what) => write!(f, "capture too large: {what}"),
            CaptureError::WrongConversation => f.write_str("capture belongs to another conversation"),
            CaptureError::Temporary => f.write_str("a temporary chat is not kept"),
            CaptureError::PathMismatch => {
                f.write_str("capture refused: the body names another conversation than its request")
            }
            CaptureError::NotThisTab => {
                f.write_str("capture refused: not the conversation this tab shows or streamed")
            }
            CaptureError::OverBudget(what) => write!(f, "capture refused: {what}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// The site whose conversation a cache key names (`<site>:<id>`, any site but ChatGPT), if any.
pub fn key_site(key: &str) -> Option<Site> {
    let (prefix, _) = key.split_once(':')?;
    Site::from_id(prefix).filter(|s| *s != Site::Chatgpt)
}

/// The pending key of a prompt sent before its conversation had an id.
pub fn pending_key(message_id: &str) -> String {
    format!("pending-{message_id}")
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 200 && !id.chars().any(char::is_control)
}

impl Capture {
    /// Parses a capture from JSON.
    pub fn from_json(s: &str) -> Result<Capture, CaptureError> {
        serde_json::from_str(s).map_err(|e| CaptureError::Malformed(e.to_string()))
    }

    /// The key the capture is stored under. The conversation JSON is parsed for it, so call
    /// [`apply`] with the parsed value via [`Capture::parse_conversation`] when you need both.
    pub fn key(&self) -> Result<String, CaptureError> {
        let (key, site) = match self {
            Capture::Conversation { json, path, site } => {
                let key = match Self::parse_any(json, path.as_deref(), site.as_deref())? {
                    Body::Tree(c) => c.id,
                    Body::Page(t) => t.conversation_id.unwrap_or_default(),
                };
                (key, site)
            }
            Capture::Turn(t) => (t.conversation_id.clone(), &t.site),
            Capture::Dom { conversation_id, site, .. } => (conversation_id.clone(), site),
        };
        if !valid_id(&key) {
            return Err(CaptureError::Malformed("bad conversation id".into()));
        }
        // Another site's conversations live under `<site>:<id>`, and only that site's captures
        // (the site set by the worker from the tab's URL) may name them: a ChatGPT stream saying
        // its conversation is `claude:<id>` would otherwise write into Claude's.
        let declared = site.as_deref().filter(|s| *s != Site::Chatgpt.id());
        if key_site(&key) != declared.and_then(Site::from_id) {
            return Err(CaptureError::Malformed("the conversation id names another site".into()));
        }
        Ok(key)
    }

    /// Parses a conversation capture's body: ChatGPT's ([`Capture::parse_body`]) or, with
    /// `site`, that site's read, filed under `<site>:<id>`.
    pub fn parse_any(json: &str, path: Option<&str>, site: Option<&str>) -> Result<Body, CaptureError> {
        let Some(site) = site.filter(|s| *s != Site::Chatgpt.id()) else {
            return Self::parse_body(json, path);
        };
        let site = Site::from_id(site).ok_or_else(|| CaptureError::Malformed("unknown site".into()))?;
        if json.len() > MAX_CONVERSATION {
            return Err(CaptureError::TooLarge("conversation"));
        }
        let conv = read_conversation(site, path, json).map_err(|e| CaptureError::Malformed(e.to_string()))?;
        Ok(Body::Tree(Box::new(conv)))
    }

    /// Parses the body of a conversation capture (`path`: the request's path and query).
    pub fn parse_body(json: &str, path: Option<&str>) -> Result<Body, CaptureError> {
        if json.len() > MAX_CONVERSATION {
            return Err(CaptureError::TooLarge("conversation"));
        }
        body::parse(json, path).map_err(|e| match e {
            BodyError::Temporary => CaptureError::Temporary,
            other => CaptureError::Malformed(other.to_string()),
        })
    }
}

/// The cache key of the conversation a chat page's URL shows: ChatGPT's (see
/// [`conversation_of_url`]) or another site's (`<site>:<id>`, its adapter's `pages`), if any.
pub fn shown_key(url: &str) -> Option<String> {
    use crate::page::sites::keep::{SendContext, conversation_key, conversation_of};
    match crate::site::site_for_url(url) {
        Some(site) if site != Site::Chatgpt => {
            let page = SendContext { page_url: url, ..SendContext::default() };
            conversation_of(site, &page).map(|id| conversation_key(site, &id))
        }
        _ => conversation_of_url(url),
    }
}

/// The conversation a chat page's URL shows (`/c/<id>`, `/g/<project>/c/<id>`), if any.
pub fn conversation_of_url(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let mut prev = "";
    for p in parts.by_ref() {
        if prev == "c" {
            let ok = p.len() <= 100 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            return ok.then(|| p.to_string());
        }
        prev = p;
    }
    None
}

/// Whether a capture from a tab may change the cached conversation it names (its key).
///
/// - A conversation body must come with its request path, and the path's conversation
///   ([`body::id_from_path`]) must be the body's: a page cannot file one body under another id.
/// - A body or a DOM reading may change only the conversation the tab shows (`shown`: the
///   conversation of the tab's URL) or the one the tab's own streams last decoded (`streamed`);
///   a DOM reading only the one shown.
/// - A turn decoded from the tab's streams is tied to what the page sent and passes.
///
/// `NotThisTab` may be asked again once the tab's URL changed (the page loads a conversation
/// just before its URL shows it).
pub fn check_origin(
    capture: &Capture,
    key: &str,
    shown: Option<&str>,
    streamed: Option<&str>,
) -> Result<(), CaptureError> {
    match capture {
        Capture::Turn(_) => Ok(()),
        Capture::Conversation { site: Some(site), .. } if site != Site::Chatgpt.id() => {
            // A site's read may name its conversation only in its body: it must be the one the
            // tab shows or streamed.
            if shown == Some(key) || streamed == Some(key) { Ok(()) } else { Err(CaptureError::NotThisTab) }
        }
        Capture::Conversation { path, .. } => {
            let from_path = path.as_deref().and_then(body::id_from_path);
            if from_path.as_deref() != Some(key) {
                return Err(CaptureError::PathMismatch);
            }
            if shown == Some(key) || streamed == Some(key) { Ok(()) } else { Err(CaptureError::NotThisTab) }
        }
        Capture::Dom { .. } => {
            if shown == Some(key) {
                Ok(())
            } else {
                Err(CaptureError::NotThisTab)
            }
        }
    }
}

/// New conversations one tab may create in a minute. Opening or starting a chat every three
/// seconds for a minute stays under it.
pub const MAX_NEW_PER_MINUTE: u32 = 30;
/// Capture bytes (conversation bodies, DOM text, stream text) one tab may send in a minute:
/// several long chats opened in one minute (a few MB each) stay under it.
pub const MAX_BYTES_PER_MINUTE: u64 = 16 << 20;
/// The budget's window.
pub const BUDGET_WINDOW_MS: f64 = 60_000.0;

/// One tab's capture budget: at most [`MAX_NEW_PER_MINUTE`] new conversations and
/// [`MAX_BYTES_PER_MINUTE`] bytes per window of a minute (a window starts with the first capture
/// after the previous one ended). What goes over is refused, not queued.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureBudget {
    start_ms: f64,
    new: u32,
    bytes: u64,
    refused: u32,
}

impl CaptureBudget {
    /// A full budget.
    pub fn new() -> CaptureBudget {
        CaptureBudget::default()
    }

    fn roll(&mut self, now_ms: f64) {
        if !(now_ms >= self.start_ms && now_ms - self.start_ms < BUDGET_WINDOW_MS) {
            *self = CaptureBudget { start_ms: now_ms, ..CaptureBudget::default() };
        }
    }

    /// Charges `bytes` of capture; refused (nothing charged) when the window's bytes would pass
    /// the bound.
    pub fn charge_bytes(&mut self, bytes: usize, now_ms: f64) -> Result<(), CaptureError> {
        self.roll(now_ms);
        let total = self.bytes.saturating_add(bytes as u64);
        if total > MAX_BYTES_PER_MINUTE {
            self.refused += 1;
            return Err(CaptureError::OverBudget("this page sent more than 16 MB of captures in a minute"));
        }
        self.bytes = total;
        Ok(())
    }

    /// Charges one new conversation; refused when the window already created the bound.
    pub fn admit_new(&mut self, now_ms: f64) -> Result<(), CaptureError> {
        self.roll(now_ms);
        if self.new >= MAX_NEW_PER_MINUTE {
            self.refused += 1;
            return Err(CaptureError::OverBudget("this page created more than 30 conversations in a minute"));
        }
        self.new += 1;
        Ok(())
    }

    /// Captures refused in the current window (the first one is when the user is told).
    pub fn refused(&self) -> u32 {
        self.refused
    }
}

/// A turn known from traffic whose line of ancestors stops at a node nothing is known of (no
/// message, no parent: what traffic never showed, e.g. the older turns of a long chat) is hung
/// under `prev`, the turn the page shows before it, so the older turns the DOM gave join the main
/// line. Nothing known is changed: only a missing link is filled, and never into a cycle.
fn link_detached(conv: &mut Conversation, id: &str, prev: &str) -> bool {
    let ancestry = |conv: &Conversation, from: &str| {
        let mut seen = vec![from.to_string()];
        let mut at = from.to_string();
        while let Some(p) = conv.nodes.get(&at).and_then(|n| n.parent.clone()) {
            if seen.contains(&p) || seen.len() > 100_000 {
                break;
            }
            seen.push(p.clone());
            at = p;
        }
        seen
    };
    let line = ancestry(conv, id);
    let Some(top) = line.last().cloned() else { return false };
    if line.iter().any(|a| a == prev) || ancestry(conv, prev).contains(&top) {
        return false; // already on one line, or linking would make a cycle
    }
    let detached =
        conv.nodes.get(&top).is_some_and(|n| n.message.is_none() && n.parent.is_none()) && top != id;
    if !detached {
        return false;
    }
    if let Some(n) = conv.nodes.get_mut(&top) {
        n.parent = Some(prev.to_string());
    }
    if let Some(p) = conv.nodes.get_mut(prev)
        && !p.children.contains(&top)
    {
        p.children.push(top);
    }
    true
}

/// Merges decoded messages (with their parents), a title and the current node into `conv`.
fn apply_nodes(
    conv: &mut Conversation,
    title: Option<&String>,
    nodes: &[TurnNode],
    current: Option<&String>,
    now: f64,
) -> Result<bool, CaptureError> {
    let mut changed = false;
    if let Some(t) = title
        && conv.title.as_ref() != Some(t)
    {
        conv.title = Some(t.clone());
        changed = true;
    }
    for n in nodes {
        let mut m = n.message.clone();
        if !valid_id(&m.id) {
            return Err(CaptureError::Malformed("bad message id".into()));
        }
        if m.content.size() > MAX_TEXT {
            return Err(CaptureError::TooLarge("message"));
        }
        if m.create_time.is_none() {
            // Keep the first arrival time stable across the snapshots of one stream.
            m.create_time = conv.nodes.get(&m.id).and_then(|n| n.message.as_ref()?.create_time).or(Some(now));
        }
        let parent = n.parent.as_deref().filter(|p| valid_id(p) && *p != m.id);
        changed |= conv.upsert_message(parent, m, false);
    }
    if let Some(c) = current
        && conv.nodes.get(c).is_some_and(|n| n.message.is_some())
        && conv.current_node.as_ref() != Some(c)
    {
        conv.current_node = Some(c.clone());
        changed = true;
    }
    Ok(changed)
}

/// Applies a capture to the stored copy (`None` when nothing is stored under its key) and
/// returns the new copy and whether anything changed. Applying the same capture twice changes
/// nothing the second time. `now` (float Unix seconds) stamps new prompts and the update time.
pub fn apply(
    stored: Option<Conversation>,
    capture: &Capture,
    now: f64,
) -> Result<(Conversation, bool), CaptureError> {
    let key = capture.key()?;
    let fresh = stored.is_none();
    let mut conv = stored.unwrap_or_else(|| Conversation::new(key.clone()));
    if conv.id != key {
        return Err(CaptureError::WrongConversation);
    }
    let mut changed = fresh;
    match capture {
        Capture::Conversation { json, path, site } => {
            match Capture::parse_any(json, path.as_deref(), site.as_deref())? {
                Body::Tree(incoming) => {
                    let mut incoming = *incoming;
                    incoming.source.get_or_insert_with(|| "capture".into());
                    if fresh {
                        conv = incoming;
                    } else if site.is_some() {
                        changed |= crate::page::sites::read::fold(&mut conv, &incoming);
                    } else {
                        changed |= conv.merge(&incoming);
                    }
                }
                Body::Page(turn) => {
                    changed |=
                        apply_nodes(&mut conv, turn.title.as_ref(), &turn.nodes, turn.current.as_ref(), now)?;
                }
            }
        }
        Capture::Turn(t) => {
            if let Some(site) = t.site.as_deref()
                && conv.site() != Some(site)
            {
                conv.set_site(site);
                changed = true;
            }
            if t.follows_current {
                let mut nodes = t.nodes.clone();
                let before = conv.current_node.clone();
                let mut all_known = true;
                for n in &mut nodes {
                    let known = conv.nodes.get(&n.message.id).is_some_and(|k| k.message.is_some());
                    all_known &= known;
                    if n.parent.is_none() && !known {
                        n.parent = before.clone().filter(|b| *b != n.message.id);
                    }
                }
                // A turn seen before (a stream sent again) does not take the conversation back to it.
                let current = if all_known { None } else { t.current.as_ref() };
                changed |= apply_nodes(&mut conv, t.title.as_ref(), &nodes, current, now)?;
            } else {
                changed |= apply_nodes(&mut conv, t.title.as_ref(), &t.nodes, t.current.as_ref(), now)?;
            }
        }
        Capture::Dom { title, turns, site: Some(site), .. } if site != Site::Chatgpt.id() => {
            changed |= crate::page::sites::read::dom_fill(&mut conv, site, title.as_ref(), turns);
        }
        Capture::Dom { title, turns, .. } => {
            if conv.title.is_none() && title.is_some() {
                conv.title.clone_from(title);
                changed = true;
            }
            let mut parent: Option<String> = None;
            let last = turns.len().saturating_sub(1);
            for (i, t) in turns.iter().enumerate() {
                if !valid_id(&t.id) || t.text.len() > MAX_TEXT {
                    continue;
                }
                // A message already known from traffic is richer: keep it. Only the page's last
                // turn may become the current node (older turns of a windowed chat fill in).
                if conv.nodes.get(&t.id).is_none_or(|n| n.message.is_none()) {
                    let mut m = Message::new(t.id.clone(), Role::parse(&t.role), t.text.clone());
                    m.status = Some("finished_successfully".into());
                    let current = i == last || conv.current_node.is_none();
                    changed |= conv.upsert_message(parent.as_deref(), m, current);
                } else if let Some(p) = &parent {
                    changed |= link_detached(&mut conv, &t.id, p);
                }
                parent = Some(t.id.clone());
            }
        }
    }
    if changed {
        conv.refresh_incomplete();
        conv.update_time = Some(conv.update_time.map_or(now, |t| t.max(now)));
        if conv.create_time.is_none() {
            conv.create_time = Some(now);
        }
        conv.source.get_or_insert_with(|| "capture".into());
    }
    Ok((conv, changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::main_line;

    fn node(id: &str, role: Role, text: &str, parent: Option<&str>, status: &str) -> TurnNode {
        let mut m = Message::new(id, role, text);
        m.status = Some(status.into());
        TurnNode { parent: parent.map(str::to_string), message: m }
    }

    fn turn(key: &str, nodes: Vec<TurnNode>, pending: Option<&str>) -> Capture {
        let current = nodes.last().map(|n| n.message.id.clone());
        Capture::Turn(TurnCapture {
            conversation_id: key.into(),
            title: Some("T".into()),
            nodes,
            current,
            pending: pending.map(str::to_string),
            site: None,
            follows_current: false,
        })
    }

    /// Applies captures in order to an empty store keyed by id (dropping pending records as the
    /// edge does); returns the main line texts of `key`, its incomplete flag and the change flags.
    fn check(
        captures: &[Capture],
        key: &str,
        expect_line: &[&str],
        expect_incomplete: bool,
        expect_changed: &[bool],
    ) {
        let mut store: std::collections::BTreeMap<String, Conversation> = Default::default();
        let mut changes = Vec::new();
        for c in captures {
            let k = c.key().unwrap();
            let (conv, changed) = apply(store.remove(&k), c, 100.0).unwrap();
            store.insert(k.clone(), conv);
            if let Capture::Turn(TurnCapture { pending: Some(p), .. }) = c
                && *p != k
            {
                store.remove(p);
            }
            changes.push(changed);
        }
        let conv = &store[key];
        let line: Vec<String> = main_line(conv).iter().map(|m| m.content.plain_text()).collect();
        assert_eq!(line, expect_line);
        assert_eq!(conv.incomplete, expect_incomplete);
        assert_eq!(changes, expect_changed);
        assert!(!store.keys().any(|k| k.starts_with("pending-") && k != key), "pending records dropped");
    }

    #[test]
    fn turns_and_pages() {
        let u = || node("u1", Role::User, "hello", None, "finished_successfully");
        let p = turn("pending-u1", vec![u()], None);
        // A failed send keeps the prompt under its pending key; the same capture twice changes nothing.
        check(&[p.clone(), p.clone()], "pending-u1", &["hello"], false, &[true, false]);
        let m = |text: &str, st: &str| {
            turn("c1", vec![u(), node("a1", Role::Assistant, text, Some("u1"), st)], Some("pending-u1"))
        };
        // A streamed answer grows, then finishes; the prompt moves from its pending key.
        check(
            &[
                p.clone(),
                m("Hi", "in_progress"),
                m("Hi there", "in_progress"),
                m("Hi there", "finished_successfully"),
            ],
            "c1",
            &["hello", "Hi there"],
            false,
            &[true, true, true, true],
        );
        // A stream cut mid-answer keeps what arrived, marked incomplete.
        check(&[m("Hi", "in_progress")], "c1", &["hello", "Hi"], true, &[true]);
        // An older state after the final one changes nothing.
        check(
            &[m("Hi there", "finished_successfully"), m("Hi", "in_progress")],
            "c1",
            &["hello", "Hi there"],
            false,
            &[true, false],
        );
        let page = r#"{"id":"c1","title":"T","current_node":"b","mapping":{"r":{"id":"r","children":["a"]},"a":{"id":"a","parent":"r","children":["b"],"message":{"id":"a","author":{"role":"user"},"content":{"content_type":"text","parts":["q"]}}},"b":{"id":"b","parent":"a","children":[],"message":{"id":"b","author":{"role":"assistant"},"content":{"content_type":"text","parts":["ans"]},"status":"finished_successfully"}}}}"#;
        let c = Capture::Conversation { json: page.into(), path: None, site: None };
        check(&[c.clone(), c.clone()], "c1", &["q", "ans"], false, &[true, false]);
        let dom = Capture::Dom {
            conversation_id: "c2".into(),
            title: None,
            turns: vec![
                DomTurn { id: "d1".into(), role: "user".into(), text: "from dom".into() },
                DomTurn { id: "d2".into(), role: "assistant".into(), text: "reply".into() },
            ],
            site: None,
        };
        check(&[dom.clone(), dom], "c2", &["from dom", "reply"], false, &[true, false]);
    }

    #[test]
    fn the_dom_fills_older_turns_without_moving_the_current_node() {
        let traffic = turn(
            "c3",
            vec![
                node("u2", Role::User, "second question", Some("a1"), "finished_successfully"),
                node("a2", Role::Assistant, "second answer", Some("u2"), "finished_successfully"),
            ],
            None,
        );
        // A windowed page shows the older turn and the last one (known from traffic, kept as it is).
        let dom = Capture::Dom {
            conversation_id: "c3".into(),
            title: None,
            turns: vec![
                DomTurn { id: "u1".into(), role: "user".into(), text: "first question".into() },
                DomTurn { id: "a1".into(), role: "assistant".into(), text: "first answer".into() },
                DomTurn { id: "u2".into(), role: "user".into(), text: "second question (DOM)".into() },
            ],
            site: None,
        };
        check(
            &[traffic, dom],
            "c3",
            &["first question", "first answer", "second question", "second answer"],
            false,
            &[true, true],
        );
    }

    #[test]
    fn older_dom_turns_join_a_traffic_turn_whose_parent_was_never_seen() {
        // The stream named a hidden message as the prompt's parent; the page shows older turns.
        let traffic = turn(
            "c4",
            vec![
                node("u2", Role::User, "second question", Some("hidden-sys"), "finished_successfully"),
                node("a2", Role::Assistant, "second answer", Some("u2"), "finished_successfully"),
            ],
            None,
        );
        let dom = Capture::Dom {
            conversation_id: "c4".into(),
            title: None,
            turns: vec![
                DomTurn { id: "u1".into(), role: "user".into(), text: "first question".into() },
                DomTurn { id: "a1".into(), role: "assistant".into(), text: "first answer".into() },
                DomTurn { id: "u2".into(), role: "user".into(), text: "second question".into() },
                DomTurn { id: "a2".into(), role: "assistant".into(), text: "second answer".into() },
            ],
            site: None,
        };
        check(
            &[traffic, dom.clone(), dom],
            "c4",
            &["first question", "first answer", "second question", "second answer"],
            false,
            &[true, true, false],
        );
    }

    #[test]
    fn bad_captures_are_refused() {
        for (json, expect) in [
            (r#"{"kind":"nope"}"#, "malformed capture"),
            (r#"{"kind":"prompt","prompt":{"message_id":"m","text":"x"}}"#, "malformed capture"),
            (r#"{"kind":"turn","conversation_id":"","nodes":[]}"#, "bad conversation id"),
            (r#"{"kind":"conversation","json":"[1]"}"#, "malformed capture"),
            (
                r#"{"kind":"turn","conversation_id":"c","nodes":[{"parent":null,"message":{"id":"","author":{"role":"assistant"},"content":{"content_type":"text","parts":[]}}}]}"#,
                "bad message id",
            ),
            (
                r#"{"kind":"turn","conversation_id":"c","nodes":[{"parent":null,"message":7}]}"#,
                "malformed capture",
            ),
        ] {
            let err = Capture::from_json(json).and_then(|c| apply(None, &c, 1.0).map(|_| ()));
            assert!(err.as_ref().is_err_and(|e| e.to_string().contains(expect)), "{json}: {err:?}");
        }
        let c = turn("other", vec![node("u", Role::User, "x", None, "finished_successfully")], None);
        assert_eq!(apply(Some(Conversation::new("c")), &c, 1.0).err(), Some(CaptureError::WrongConversation));
    }
}

#[cfg(test)]
mod guards {
    use super::*;

    fn body(id: &str, path: Option<&str>) -> Capture {
        let json = format!(r#"{{"conversation_id":"{id}","title":"Forged","messages":[]}}"#);
        Capture::Conversation { json, path: path.map(str::to_string), site: None }
    }

    #[test]
    fn urls_name_their_conversation() {
        for (url, want) in [
            ("https://chatgpt.com/c/abc-1", Some("abc-1")),
            ("https://chatgpt.com/c/abc-1?model=x#m", Some("abc-1")),
            ("https://chatgpt.com/g/g-p-123/c/abc_2", Some("abc_2")),
            ("https://chatgpt.com/", None),
            ("https://chatgpt.com/c/", None),
            ("https://chatgpt.com/c/a%2Fb", None),
            ("https://chatgpt.com/gpts", None),
        ] {
            assert_eq!(conversation_of_url(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn a_body_changes_only_its_own_conversation_of_this_tab() {
        let ok = |c: &Capture, shown, streamed| check_origin(c, &c.key().unwrap(), shown, streamed);
        let own = body("c1", Some("/backend-api/conversations/c1?limit=10"));
        assert_eq!(ok(&own, Some("c1"), None), Ok(()));
        // An older page of the chat shown, or of the chat the tab's streams just made.
        let older = body("c1", Some("/backend-api/conversations/c1/messages?before=m9"));
        assert_eq!(ok(&older, None, Some("c1")), Ok(()));
        // Filed under another id than its request, or with no request at all.
        let lying = body("victim", Some("/backend-api/conversations/c1"));
        assert_eq!(ok(&lying, Some("c1"), None), Err(CaptureError::PathMismatch));
        assert_eq!(ok(&body("c1", None), Some("c1"), None), Err(CaptureError::PathMismatch));
        // Another conversation than the tab's.
        let other = body("victim", Some("/backend-api/conversations/victim"));
        assert_eq!(ok(&other, Some("c1"), Some("c2")), Err(CaptureError::NotThisTab));
        assert_eq!(ok(&other, None, None), Err(CaptureError::NotThisTab));
        // The DOM only for the conversation the URL shows.
        let dom = Capture::Dom { conversation_id: "c2".into(), title: None, turns: vec![], site: None };
        assert_eq!(ok(&dom, Some("c2"), None), Ok(()));
        assert_eq!(ok(&dom, Some("c1"), Some("c2")), Err(CaptureError::NotThisTab));
        // A streamed turn is tied to what the page sent.
        let turn = Capture::Turn(TurnCapture {
            conversation_id: "c3".into(),
            title: None,
            nodes: vec![],
            current: None,
            pending: None,
            site: None,
            follows_current: false,
        });
        assert_eq!(ok(&turn, None, None), Ok(()));
    }

    #[test]
    fn a_key_naming_another_site_is_refused() {
        let turn = |id: &str, site: Option<&str>| {
            Capture::Turn(TurnCapture {
                conversation_id: id.into(),
                title: None,
                nodes: vec![],
                current: None,
                pending: None,
                site: site.map(String::from),
                follows_current: false,
            })
        };
        let dom = |id: &str, site: Option<&str>| Capture::Dom {
            conversation_id: id.into(),
            title: None,
            turns: vec![],
            site: site.map(String::from),
        };
        let named = "the conversation id names another site";
        let check = |c: Capture, expect: Result<&str, &str>| {
            let got = c.key().map_err(|e| e.to_string());
            assert_eq!(got.as_deref().map_err(|e| e.trim_start_matches("malformed capture: ")), expect);
        };
        // A ChatGPT stream naming a conversation of Claude's (the page can say anything there).
        check(turn("claude:victim", None), Err(named));
        check(turn("claude:victim", Some("chatgpt")), Err(named));
        check(turn("gemini:victim", Some("claude")), Err(named));
        check(dom("claude:victim", Some("gemini")), Err(named));
        // A site's key from that site's own capture; a ChatGPT id with a colon that names no site.
        check(turn("claude:c1", Some("claude")), Ok("claude:c1"));
        check(dom("gemini:c1", Some("gemini")), Ok("gemini:c1"));
        check(turn("c1", None), Ok("c1"));
        check(turn("pending-a:b", None), Ok("pending-a:b"));
        check(turn("chatgpt:c1", None), Ok("chatgpt:c1"));
        // A site's capture under a key without its prefix.
        check(turn("c1", Some("claude")), Err(named));
    }

    #[test]
    fn the_budget_bounds_new_conversations_and_bytes_per_minute() {
        let mut b = CaptureBudget::new();
        let created = (0..3000).filter(|i| b.admit_new(f64::from(*i)).is_ok()).count();
        assert_eq!(created, MAX_NEW_PER_MINUTE as usize);
        assert_eq!(b.refused(), 3000 - MAX_NEW_PER_MINUTE);
        // A minute later the window is full again.
        assert_eq!(b.admit_new(60_000.0), Ok(()));
        assert_eq!(b.refused(), 0);

        let mut b = CaptureBudget::new();
        let mb = 1 << 20;
        let kept = (0..8).filter(|i| b.charge_bytes(15 * mb, 1000.0 + f64::from(*i)).is_ok()).count();
        assert_eq!(kept, 1);
        assert!(b.charge_bytes(mb, 2000.0).is_ok(), "what still fits passes");
        assert!(matches!(b.charge_bytes(mb, 59_999.0), Err(CaptureError::OverBudget(_))));
        assert!(b.charge_bytes(15 * mb, 61_000.0).is_ok());
        // A clock that went back starts a new window rather than locking the tab out.
        assert!(b.charge_bytes(15 * mb, 10.0).is_ok());
    }

    #[test]
    fn a_body_over_the_size_bound_is_refused() {
        let big =
            format!(r#"{{"conversation_id":"c1","messages":[],"pad":"{}"}}"#, "x".repeat(MAX_CONVERSATION));
        let c = Capture::Conversation {
            json: big,
            path: Some("/backend-api/conversations/c1".into()),
            site: None,
        };
        assert_eq!(c.key().err(), Some(CaptureError::TooLarge("conversation")));
    }
}

#[cfg(test)]
mod round_trip {
    use crate::conversation::Conversation;

    /// Times written back must be the very numbers read (an export must import and export equal).
    fn check(time: &str) {
        let doc = format!(r#"{{"id":"c","create_time":{time},"mapping":{{}}}}"#);
        let conv: Conversation = serde_json::from_str(&doc).unwrap();
        let back = serde_json::to_string(&conv).unwrap();
        assert!(back.contains(&format!(r#""create_time":{time}"#)), "{time}: {back}");
    }

    #[test]
    fn float_times_round_trip_exactly() {
        for t in ["1700003974.5640001", "1700003928.5990002", "1767225600.123456", "0.1", "1e-7"] {
            check(t);
        }
    }
}
