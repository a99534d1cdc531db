//! The rescue: from a failed ChatGPT answer to an answer elsewhere.
//!
//! Pure decisions the service worker (and the side panel) make when a failure is detected:
//! - [`carry_over`]: the conversation sent to another provider, built from the page's transcript and
//!   the prompt that failed (never retyped by the user);
//! - [`describe`]: what failed, in words a person understands;
//! - [`rescuable`]: which failure kinds may be carried elsewhere (auto mode itself is a preference,
//!   `crate::preferences::AutoMode`);
//! - [`handoff`]: for users without keys, the URL that opens the prompt with its context in another
//!   chat site, or the text to copy when the site takes no prompt in its URL.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::detect::Kind;
use crate::provider::chat::{ChatMessage, Role};

/// The most turns carried over (the newest are kept); providers trim further to their window.
pub const MAX_TURNS: usize = 400;
/// The most characters carried over in all turns together (the newest turns are kept).
pub const MAX_CHARS: usize = 1_000_000;
/// The longest handoff URL produced; a longer prompt goes through the clipboard.
pub const MAX_URL_LEN: usize = 8_000;

/// Why a rescue cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RescueError {
    /// Neither the detection nor the page gave a prompt to carry over.
    NoPrompt,
    /// No chat site with that id is known for a web handoff.
    UnknownSite(String),
}

impl fmt::Display for RescueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RescueError::NoPrompt => {
                f.write_str("there is no prompt to carry over: the page shows no question")
            }
            RescueError::UnknownSite(id) => write!(f, "no chat site '{id}' is known for a web handoff"),
        }
    }
}

impl std::error::Error for RescueError {}

/// The conversation carried to another provider: the earlier turns and the prompt that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarryOver {
    /// The earlier turns (oldest first), cleaned: no empty turns, no two turns in a row by the same role.
    pub conversation: Vec<ChatMessage>,
    /// The prompt that failed.
    pub prompt: String,
    /// How many older turns were left out to stay within [`MAX_TURNS`] / [`MAX_CHARS`].
    pub dropped: usize,
}

/// Builds the carried-over conversation.
///
/// `transcript` is the page's main line of turns, oldest first, as read from the DOM; it usually
/// ends with the failed prompt and the broken answer. `failed_prompt` is what the page sent (from
/// the detection), preferred when given. The failed prompt's own turn and anything after it leave
/// the context; when no prompt was given, the last user turn is the prompt.
///
/// ```
/// use understudy::provider::chat::{ChatMessage, Role};
/// use understudy::rescue::carry_over;
/// let t = [ChatMessage::new(Role::User, "Hi"), ChatMessage::new(Role::Assistant, "Hello"),
///          ChatMessage::new(Role::User, "Plan a trip"), ChatMessage::new(Role::Assistant, "")];
/// let c = carry_over(&t, None).unwrap();
/// assert_eq!(c.prompt, "Plan a trip");
/// assert_eq!(c.conversation.len(), 2);
/// ```
pub fn carry_over(transcript: &[ChatMessage], failed_prompt: Option<&str>) -> Result<CarryOver, RescueError> {
    let given = failed_prompt.map(str::trim).filter(|p| !p.is_empty());
    // Where the failed prompt's turn starts: the last user turn (matching the given prompt, when one
    // is given and the page shows it; a page that has not rendered it yet keeps every turn).
    let last_user = transcript.iter().rposition(|m| m.role == Role::User && !m.content.trim().is_empty());
    let (cut, prompt) = match (given, last_user) {
        (Some(p), Some(i)) if same_text(&transcript[i].content, p) => (i, p),
        (Some(p), _) => (trailing_start(transcript), p),
        (None, Some(i)) => (i, transcript[i].content.trim()),
        (None, None) => return Err(RescueError::NoPrompt),
    };
    let mut conversation: Vec<ChatMessage> = Vec::with_capacity(cut.min(MAX_TURNS));
    for m in &transcript[..cut] {
        let text = m.content.trim();
        if text.is_empty() {
            continue;
        }
        match conversation.last_mut() {
            Some(prev) if prev.role == m.role => {
                prev.content.push_str("\n\n");
                prev.content.push_str(text);
            }
            _ => conversation.push(ChatMessage::new(m.role, text)),
        }
    }
    let dropped = keep_newest(&mut conversation);
    Ok(CarryOver { conversation, prompt: prompt.to_owned(), dropped })
}

/// Index after the last non-empty user turn's answer: trailing empty assistant turns (the broken
/// answer, still empty) leave the context.
fn trailing_start(transcript: &[ChatMessage]) -> usize {
    let mut end = transcript.len();
    while end > 0
        && transcript[end - 1].role == Role::Assistant
        && transcript[end - 1].content.trim().is_empty()
    {
        end -= 1;
    }
    end
}

/// Whitespace-insensitive equality (the DOM and the request body space text differently).
fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// Drops the oldest turns beyond the limits; returns how many left.
fn keep_newest(conversation: &mut Vec<ChatMessage>) -> usize {
    let mut chars = 0usize;
    let mut keep = 0usize;
    for m in conversation.iter().rev() {
        let next = chars.saturating_add(m.content.len());
        if keep == MAX_TURNS || next > MAX_CHARS {
            break;
        }
        chars = next;
        keep += 1;
    }
    let mut dropped = conversation.len() - keep;
    // A kept history starts with a question, never with an orphan answer.
    if dropped > 0 {
        while dropped < conversation.len() && conversation[dropped].role == Role::Assistant {
            dropped += 1;
        }
    }
    conversation.drain(..dropped);
    dropped
}

/// What failed, in plain words, for the notice, the popup and the side panel. `until` is the local
/// clock time (e.g. "14:20") when a rate limit ends, already formatted by the caller.
pub fn describe(kind: Kind, until: Option<&str>) -> String {
    match kind {
        Kind::Healthy => "ChatGPT is working.".into(),
        Kind::GenerationError => "ChatGPT could not finish this answer.".into(),
        Kind::NetworkError => "The connection to ChatGPT broke off.".into(),
        Kind::RateLimited => match until.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => format!("ChatGPT is rate-limiting you until {u}."),
            None => "ChatGPT is rate-limiting you for now.".into(),
        },
        Kind::Capacity => "ChatGPT is at capacity right now.".into(),
        Kind::ServiceDown => "ChatGPT is down.".into(),
        Kind::Blocked => "ChatGPT wants you to sign in or prove you are human. This is not an outage.".into(),
        Kind::ConversationUnavailable => "ChatGPT cannot load this conversation right now.".into(),
        Kind::UnknownError => "ChatGPT shows an error that Understudy does not recognise.".into(),
        Kind::Refused => "ChatGPT withheld this answer under its content policy.".into(),
        Kind::ConversationTooLong => "This conversation is too long for ChatGPT. A provider with a longer \
                                      context window can carry it on."
            .into(),
    }
}

/// Whether a rescue makes sense at all for a kind: not when healthy, not when the user is asked to
/// sign in or prove they are human (that is not an outage; another provider would hide it).
pub fn rescuable(kind: Kind) -> bool {
    !matches!(kind, Kind::Healthy | Kind::Blocked)
}

/// Another chat site a prompt can be handed to in a new tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffSite {
    /// Claude (claude.ai): takes the prompt in `?q=`.
    Claude,
    /// Perplexity: takes the prompt in `?q=`.
    Perplexity,
    /// Mistral's Le Chat: takes the prompt in `?q=`.
    LeChat,
    /// Gemini: no prompt in the URL; the prompt goes through the clipboard.
    Gemini,
}

impl HandoffSite {
    /// Every site, in the order offered.
    pub const ALL: [HandoffSite; 4] =
        [HandoffSite::Claude, HandoffSite::Perplexity, HandoffSite::LeChat, HandoffSite::Gemini];

    /// The stable id used in messages.
    pub fn id(self) -> &'static str {
        match self {
            HandoffSite::Claude => "claude",
            HandoffSite::Perplexity => "perplexity",
            HandoffSite::LeChat => "le_chat",
            HandoffSite::Gemini => "gemini",
        }
    }

    /// The site by id.
    pub fn from_id(id: &str) -> Result<Self, RescueError> {
        Self::ALL
            .into_iter()
            .find(|s| s.id() == id)
            .ok_or_else(|| RescueError::UnknownSite(id.chars().take(40).collect()))
    }

    /// The name shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            HandoffSite::Claude => "Claude",
            HandoffSite::Perplexity => "Perplexity",
            HandoffSite::LeChat => "Le Chat",
            HandoffSite::Gemini => "Gemini",
        }
    }

    /// The page that opens a new chat, and the query parameter that takes a prompt (if any).
    fn entry(self) -> (&'static str, Option<&'static str>) {
        match self {
            HandoffSite::Claude => ("https://claude.ai/new", Some("q")),
            HandoffSite::Perplexity => ("https://www.perplexity.ai/search", Some("q")),
            HandoffSite::LeChat => ("https://chat.mistral.ai/chat", Some("q")),
            HandoffSite::Gemini => ("https://gemini.google.com/app", None),
        }
    }
}

/// What to do to hand a prompt to another chat site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The site's id.
    pub site: &'static str,
    /// The site's name.
    pub label: &'static str,
    /// The URL to open in a new tab (with the prompt in it when `clipboard` is `None`).
    pub url: String,
    /// The text to copy first when the site takes no prompt in its URL (or it is too long for one).
    pub clipboard: Option<String>,
}

/// The prompt with its context as one text a person could paste into any chat.
pub fn handoff_text(carry: &CarryOver) -> String {
    if carry.conversation.is_empty() {
        return carry.prompt.clone();
    }
    let size: usize =
        carry.conversation.iter().map(|m| m.content.len() + 16).sum::<usize>() + carry.prompt.len();
    let mut text = String::with_capacity(size + 96);
    text.push_str("Here is our conversation so far:\n\n");
    for m in &carry.conversation {
        let who = match m.role {
            Role::User => "Me",
            Role::Assistant => "Assistant",
            Role::System => "Instructions",
        };
        let _ = write!(text, "{who}: {}\n\n", m.content);
    }
    text.push_str("My next message: ");
    text.push_str(&carry.prompt);
    text
}

/// The handoff to `site`: the prompt with its context in the URL when the site takes one and it
/// fits in [`MAX_URL_LEN`]; else the site's page and the text to copy.
pub fn handoff(site: HandoffSite, carry: &CarryOver) -> Handoff {
    let text = handoff_text(carry);
    let (base, param) = site.entry();
    let (url, clipboard) = match param {
        Some(q) => {
            let mut url = String::with_capacity(base.len() + q.len() + 2 + text.len() * 3);
            let _ = write!(url, "{base}?{q}=");
            encode_component(&text, &mut url);
            if url.len() <= MAX_URL_LEN { (url, None) } else { (base.to_owned(), Some(text)) }
        }
        None => (base.to_owned(), Some(text)),
    };
    Handoff { site: site.id(), label: site.label(), url, clipboard }
}

/// Percent-encodes `s` as a URL query component (everything but unreserved characters).
fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}
