//! Answers from other providers kept in the cached conversation, as branches of the original.
//!
//! When ChatGPT fails and Understudy carries the prompt elsewhere, the answer (and the follow-ups
//! asked in the side panel) are saved in the cached tree as children of the node the rescue
//! continued from, never on ChatGPT's main line: `current_node` is left as it was (pinned to the
//! main leaf when the copy had none), so the official export keeps ChatGPT's conversation as it
//! was and the rescued turns travel along as a branch.
//!
//! Every node Understudy adds carries `metadata.understudy`:
//! `{"produced_by": "understudy", "provider": {"id", "kind", "model", "label"}, "outcome", "incomplete"}`
//! (the provider only on answers). Node ids derive from the rescue's key, so saving the same
//! answer twice changes nothing.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::capture::MAX_TEXT;
use super::model::{Conversation, Message, Node, Role};

/// The metadata key of the nodes Understudy adds.
pub const MARK: &str = "understudy";
/// The longest rescue key accepted (bytes).
pub const MAX_KEY: usize = 100;
/// The longest conversation or node id accepted (bytes).
pub const MAX_ID: usize = 200;
/// The longest branch walked (nodes), a bound against malformed trees.
pub const MAX_DEPTH: usize = 10_000;

/// The provider that answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnsweredBy {
    /// The provider's id in the settings.
    pub id: String,
    /// Its kind (`open_ai_compatible`, `anthropic`, `ollama`, ...).
    pub kind: String,
    /// The model asked, when known.
    #[serde(default)]
    pub model: Option<String>,
    /// The provider's label, when it has one.
    #[serde(default)]
    pub label: Option<String>,
}

impl AnsweredBy {
    /// The name to show: the label, else the id.
    pub fn name(&self) -> &str {
        self.label.as_deref().filter(|l| !l.trim().is_empty()).unwrap_or(&self.id)
    }
}

/// How the answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The provider finished.
    Complete,
    /// The provider stopped at its length limit.
    Length,
    /// The user stopped it: what arrived is kept.
    Cancelled,
    /// No provider could finish: what arrived is kept.
    Error,
}

impl Outcome {
    /// Whether the answer is cut short (stopped or failed).
    pub fn incomplete(self) -> bool {
        matches!(self, Outcome::Cancelled | Outcome::Error)
    }

    fn finish(self) -> &'static str {
        match self {
            Outcome::Complete => "stop",
            Outcome::Length => "max_tokens",
            Outcome::Cancelled | Outcome::Error => "interrupted",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::Length => "length",
            Outcome::Cancelled => "cancelled",
            Outcome::Error => "error",
        }
    }
}

/// One answer to keep: where it belongs and what arrived.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BranchAnswer {
    /// The cached conversation (its storage key).
    pub conversation_id: String,
    /// The rescue's own id: the added nodes' ids derive from it.
    pub key: String,
    /// The node the rescue continued from, when the caller knows it (a side-panel follow-up
    /// continues from the previous answer). Unknown ids fall back to the failed prompt.
    #[serde(default)]
    pub parent: Option<String>,
    /// The id of the failed prompt as the page sent it, when known.
    #[serde(default)]
    pub prompt_id: Option<String>,
    /// The prompt carried over.
    pub prompt: String,
    /// What the provider answered (what arrived, for a cut answer).
    pub answer: String,
    /// Who answered.
    pub provider: AnsweredBy,
    /// How it ended.
    pub outcome: Outcome,
    /// When the rescue started (float Unix seconds): the prompt's time.
    pub started_s: f64,
    /// When the answer ended (float Unix seconds): the answer's time.
    pub ended_s: f64,
}

/// Where a saved answer landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Saved {
    /// The conversation.
    pub conversation_id: String,
    /// The user node the answer hangs from (the failed prompt, or one Understudy added).
    pub prompt_node: String,
    /// The answer's node (a follow-up continues from it).
    pub answer_node: String,
    /// Whether the copy changed (false when this answer was saved before).
    pub changed: bool,
}

/// Why an answer cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchError {
    /// Nothing arrived: there is no answer to keep.
    EmptyAnswer,
    /// An id is empty, too long or has control characters (which one).
    BadId(&'static str),
    /// The stored copy is another conversation than the one named.
    WrongConversation,
}

impl fmt::Display for BranchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BranchError::EmptyAnswer => f.write_str("there is no answer to keep"),
            BranchError::BadId(what) => write!(f, "bad {what}"),
            BranchError::WrongConversation => f.write_str("the stored copy is another conversation"),
        }
    }
}

impl std::error::Error for BranchError {}

fn valid_id(id: &str, max: usize) -> bool {
    !id.trim().is_empty() && id.len() <= max && !id.chars().any(char::is_control)
}

/// The id of the prompt node a rescue adds (when the cache lacks the failed prompt).
pub fn prompt_node_id(key: &str) -> String {
    format!("understudy-{key}-prompt")
}

/// The id of the answer node a rescue adds.
pub fn answer_node_id(key: &str) -> String {
    format!("understudy-{key}-answer")
}

/// Whether Understudy added this message.
pub fn is_ours(m: &Message) -> bool {
    m.metadata.get(MARK).is_some_and(Value::is_object)
}

/// The provider that answered this message, if Understudy added it as an answer.
pub fn answered_by(m: &Message) -> Option<AnsweredBy> {
    let p = m.metadata.get(MARK)?.get("provider")?;
    serde_json::from_value(p.clone()).ok()
}

/// Whether this message is an answer Understudy kept cut short.
pub fn is_cut_short(m: &Message) -> bool {
    m.metadata.get(MARK).and_then(|u| u.get("incomplete")).and_then(Value::as_bool).unwrap_or(false)
}

/// Whitespace-insensitive equality (the DOM and the request body space text differently).
fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// Cuts `s` to at most `max` bytes on a character boundary; true when it cut.
fn cut(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    true
}

fn title_of(prompt: &str) -> String {
    let line = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

/// The failed prompt's node in the stored copy: the page's id when the cache has it, else the
/// newest user message with the same text (not one Understudy added), preferring the main line.
fn failed_prompt_node(conv: &Conversation, prompt_id: Option<&str>, prompt: &str) -> Option<String> {
    let user = |n: &Node| n.message.as_ref().is_some_and(|m| m.role == Role::User);
    if let Some(id) = prompt_id
        && conv.nodes.get(id).is_some_and(user)
    {
        return Some(id.to_string());
    }
    let text_matches =
        |m: &Message| m.role == Role::User && !is_ours(m) && same_text(&m.content.plain_text(), prompt);
    if let Some(last_user) =
        conv.main_path().into_iter().rev().filter_map(|n| n.message.as_ref()).find(|m| m.role == Role::User)
        && text_matches(last_user)
    {
        return Some(last_user.id.clone());
    }
    conv.nodes
        .values()
        .filter_map(|n| n.message.as_ref())
        .filter(|m| text_matches(m))
        .max_by(|a, b| {
            let t = |m: &Message| m.create_time.or(m.update_time).unwrap_or(f64::MIN);
            t(a).total_cmp(&t(b)).then_with(|| a.id.cmp(&b.id))
        })
        .map(|m| m.id.clone())
}

fn mark(extra: Option<(&AnsweredBy, Outcome, bool)>) -> Map<String, Value> {
    let mut u = json!({ "produced_by": "understudy" });
    if let (Some((p, outcome, incomplete)), Some(o)) = (extra, u.as_object_mut()) {
        o.insert(
            "provider".into(),
            json!({ "id": p.id, "kind": p.kind, "model": p.model, "label": p.label }),
        );
        o.insert("outcome".into(), Value::from(outcome.as_str()));
        o.insert("incomplete".into(), Value::Bool(incomplete));
    }
    let mut m = Map::new();
    m.insert(MARK.into(), u);
    m
}

/// Saves one answer in the stored copy (`None` when nothing is stored under its id: a new
/// conversation is started with the prompt and the answer). Returns the new copy and where the
/// answer landed. ChatGPT's main line is never changed; saving the same answer twice changes
/// nothing the second time.
pub fn save(stored: Option<Conversation>, b: &BranchAnswer) -> Result<(Conversation, Saved), BranchError> {
    if !valid_id(&b.conversation_id, MAX_ID) {
        return Err(BranchError::BadId("conversation id"));
    }
    if !valid_id(&b.key, MAX_KEY) {
        return Err(BranchError::BadId("rescue key"));
    }
    if b.answer.trim().is_empty() {
        return Err(BranchError::EmptyAnswer);
    }
    let fresh = stored.is_none();
    let mut changed = fresh;
    let mut conv = match stored {
        Some(c) if c.id != b.conversation_id => return Err(BranchError::WrongConversation),
        Some(c) => c,
        None => {
            let mut c = Conversation::new(b.conversation_id.clone());
            // Another site's conversation (`<site>:<id>`) not kept yet: shown under that site.
            if let Some(site) = crate::conversation::capture::key_site(&b.conversation_id) {
                c.set_site(site.id());
            }
            c.title = Some(title_of(&b.prompt)).filter(|t| !t.is_empty());
            c.create_time = Some(b.started_s);
            c.source = Some(MARK.into());
            c
        }
    };
    // ChatGPT's main line stays where it is: a copy without `current_node` gets it pinned to the
    // leaf it shows now, so the added nodes (newer) never become the main line.
    if !fresh && conv.current_node.as_ref().is_none_or(|c| !conv.nodes.contains_key(c)) {
        let leaf = conv.main_leaf().map(str::to_string);
        if leaf.is_some() && leaf != conv.current_node {
            conv.current_node = leaf;
            changed = true;
        }
    }
    let answer_id = answer_node_id(&b.key);
    let parent = b
        .parent
        .as_deref()
        .filter(|p| valid_id(p, MAX_ID) && conv.nodes.get(*p).is_some_and(|n| n.message.is_some()));
    let existing = conv.nodes.get(&answer_id).and_then(|n| n.parent.clone());
    let found = if existing.is_some() || parent.is_some() {
        None
    } else {
        failed_prompt_node(&conv, b.prompt_id.as_deref().filter(|p| valid_id(p, MAX_ID)), &b.prompt)
    };
    let prompt_node = match existing.or(found) {
        Some(id) => id,
        None => {
            let anchor = match parent {
                Some(p) => Some(p.to_string()),
                None => conv.main_leaf().map(str::to_string),
            };
            let id = prompt_node_id(&b.key);
            let mut text = b.prompt.clone();
            cut(&mut text, MAX_TEXT);
            let mut m = Message::new(id.clone(), Role::User, text);
            m.create_time = Some(b.started_s);
            m.metadata = mark(None);
            changed |= conv.upsert_message(anchor.as_deref(), m, fresh);
            id
        }
    };
    let mut text = b.answer.clone();
    let truncated = cut(&mut text, MAX_TEXT);
    let incomplete = b.outcome.incomplete() || truncated;
    let mut m = Message::new(answer_id.clone(), Role::Assistant, text);
    m.create_time = Some(b.ended_s.max(b.started_s));
    m.update_time = m.create_time;
    m.model_slug.clone_from(&b.provider.model);
    m.status = Some(if incomplete { "finished_partial_completion" } else { "finished_successfully" }.into());
    m.end_turn = Some(!incomplete);
    m.finish = Some(if truncated { "max_tokens" } else { b.outcome.finish() }.into());
    m.metadata = mark(Some((&b.provider, b.outcome, incomplete)));
    changed |= conv.upsert_message(Some(&prompt_node), m, fresh);
    let saved = Saved { conversation_id: conv.id.clone(), prompt_node, answer_node: answer_id, changed };
    Ok((conv, saved))
}

/// One message as shown: on the main line or on a branch Understudy added.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown<'a> {
    /// The message.
    pub message: &'a Message,
    /// True when it is off ChatGPT's main line (a rescued turn).
    pub branch: bool,
    /// The provider that answered, for answers Understudy added.
    pub answered_by: Option<AnsweredBy>,
}

fn time_of(n: &Node) -> f64 {
    n.message.as_ref().and_then(|m| m.create_time.or(m.update_time)).unwrap_or(f64::MIN)
}

fn ours_children<'a>(conv: &'a Conversation, node: &Node, skip: &HashSet<&str>) -> Vec<&'a Node> {
    let mut kids: Vec<&Node> = node
        .children
        .iter()
        .filter(|c| !skip.contains(c.as_str()))
        .filter_map(|c| conv.nodes.get(c))
        .filter(|n| n.message.as_ref().is_some_and(is_ours))
        .collect();
    kids.sort_by(|a, b| time_of(a).total_cmp(&time_of(b)).then_with(|| a.id.cmp(&b.id)));
    kids
}

fn shown(message: &Message, branch: bool) -> Shown<'_> {
    Shown { message, branch, answered_by: answered_by(message) }
}

/// The conversation as the user saw it: ChatGPT's main line (visible messages) with, after each
/// message, the branches Understudy added from it (oldest first, each followed to its end).
pub fn display_line(conv: &Conversation) -> Vec<Shown<'_>> {
    let path = conv.main_path();
    let on_main: HashSet<&str> = path.iter().map(|n| n.id.as_str()).collect();
    let mut seen: HashSet<&str> = on_main.clone();
    let mut out = Vec::with_capacity(path.len());
    for node in &path {
        if let Some(m) = node.message.as_ref().filter(|m| m.is_visible()) {
            out.push(shown(m, false));
        }
        let mut stack: Vec<&Node> = ours_children(conv, node, &seen).into_iter().rev().collect();
        while let Some(n) = stack.pop() {
            if !seen.insert(n.id.as_str()) || out.len() > MAX_DEPTH {
                continue;
            }
            if let Some(m) = n.message.as_ref().filter(|m| m.is_visible()) {
                out.push(shown(m, true));
            }
            stack.extend(ours_children(conv, n, &seen).into_iter().rev());
        }
    }
    out
}

/// Where a continuation goes on: the newest message shown (a rescued branch's last answer when
/// it is newer than ChatGPT's last message), or `None` for an empty conversation.
pub fn tip(conv: &Conversation) -> Option<&str> {
    let line = display_line(conv);
    let main = conv.main_leaf();
    let mut best: Option<(&str, f64)> = main.map(|id| (id, conv.nodes.get(id).map_or(f64::MIN, time_of)));
    for s in line.iter().filter(|s| s.branch) {
        let t = s.message.create_time.or(s.message.update_time).unwrap_or(f64::MIN);
        if best.is_none_or(|(_, bt)| t > bt) {
            best = Some((s.message.id.as_str(), t));
        }
    }
    best.map(|(id, _)| id)
}

/// The visible messages from the root to `node` (inclusive), oldest first; empty when `node` is
/// not in the tree.
pub fn line_to<'a>(conv: &'a Conversation, node: &str) -> Vec<&'a Message> {
    let mut out = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut at = conv.nodes.get(node);
    while let Some(n) = at {
        if !seen.insert(n.id.as_str()) || seen.len() > MAX_DEPTH {
            break;
        }
        if let Some(m) = n.message.as_ref().filter(|m| m.is_visible()) {
            out.push(m);
        }
        at = n.parent.as_deref().and_then(|p| conv.nodes.get(p));
    }
    out.reverse();
    out
}
