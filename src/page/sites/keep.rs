//! Keeping the other sites' turns: what a send's request says (the prompt, the conversation) and
//! the [`TurnCapture`] a decoded turn becomes in the cache.
//!
//! A site's conversation is stored under `<site>:<its id>` (`gemini:c_3f2a…`), so two sites'
//! ids never meet, and carries its site (`understudy_site`). Its id comes from the stream when
//! the stream names it, else from the send's request (DeepSeek's `chat_session_id`, Le Chat's
//! `chatId`, Copilot's `conversationId`), else from the send's path (an adapter endpoint's
//! `{conversation}` segment: Claude, Grok), else from the tab's URL (the adapter's `pages`). A
//! turn none of these name is not kept (it would be a conversation nobody can find again).
//!
//! Most sites do not echo the prompt nor give message ids: the prompt is read from the request
//! (an echo in the stream, when there is one, is the same message), and the messages' ids derive
//! from the stream (`<stream key>:user`, `<stream key>:answer`), so capturing the same stream
//! again, or at every batch as it grows, changes nothing. A prompt whose
//! parent the site did not say follows the conversation's current message
//! ([`TurnCapture::follows_current`]).

use serde_json::Value;

use crate::conversation::capture::TurnCapture;
use crate::conversation::{Message, Role};
use crate::detect::Rules;
use crate::page::{End, Turn, TurnNode};
use crate::site::Site;

/// The longest prompt read from a request (bytes).
const MAX_PROMPT: usize = 256 * 1024;
/// The longest id taken from a request, a path or a URL.
const MAX_ID: usize = 160;

/// What the worker knows of one send besides its decoded turn.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendContext<'a> {
    /// The send's URL path (without the query).
    pub path: &'a str,
    /// The request body as text (JSON, or Gemini's form), if it could be read.
    pub request: Option<&'a str>,
    /// The tab's URL when the turn ended.
    pub page_url: &'a str,
    /// A key unique to this stream in this tab (ids of messages the site did not name).
    pub stream_key: &'a str,
}

/// The cache key of `site`'s conversation `id`.
pub fn conversation_key(site: Site, id: &str) -> String {
    format!("{}:{id}", site.id())
}

/// The prompt a send's request body carries, by the site's request format; `None` when the body
/// is not the site's send or names no prompt.
pub fn prompt_of(site: Site, request: &str) -> Option<String> {
    let text = match site {
        Site::Chatgpt => return None,
        Site::Gemini => gemini_prompt(request),
        _ => {
            let v: Value = serde_json::from_str(request).ok()?;
            match site {
                Site::Claude | Site::Deepseek => v.get("prompt").and_then(Value::as_str).map(str::to_string),
                Site::Grok => v.get("message").and_then(Value::as_str).map(str::to_string),
                Site::Perplexity => v.get("query_str").and_then(Value::as_str).map(str::to_string),
                Site::Mistral => v.get("messageInput").and_then(content_text),
                Site::Copilot => (v.get("event").and_then(Value::as_str) == Some("send"))
                    .then(|| v.get("content").and_then(content_text))
                    .flatten(),
                Site::Chatgpt | Site::Gemini => None,
            }
        }
    }?;
    let text = text.trim();
    (!text.is_empty()).then(|| cut(text, MAX_PROMPT).to_string())
}

/// A string, or the texts of `[{type: "text", text}]` parts joined.
fn content_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str).is_none_or(|t| t == "text"))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

/// Gemini's form body: `f.req=[null,"<inner JSON>"]`, the prompt at `inner[0][0]`.
fn gemini_prompt(form: &str) -> Option<String> {
    let raw = form.split('&').find_map(|pair| pair.strip_prefix("f.req="))?;
    let outer: Value = serde_json::from_str(&percent_decode(raw)?).ok()?;
    let inner: Value = serde_json::from_str(outer.get(1)?.as_str()?).ok()?;
    inner.get(0)?.get(0)?.as_str().map(str::to_string)
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space); `None` when not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The conversation a send belongs to, when its request, its path or the page's URL names it.
pub fn conversation_of(site: Site, send: &SendContext<'_>) -> Option<String> {
    let rules = Rules::builtin(site);
    let from_request = send.request.and_then(|r| serde_json::from_str::<Value>(r).ok()).and_then(|v| {
        ["chat_session_id", "chatId", "conversationId", "conversation_id"]
            .iter()
            .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_string))
    });
    let from_path = || {
        rules
            .endpoints
            .iter()
            .filter(|e| e.path.contains("{conversation}"))
            .find_map(|e| segment(&e.path, send.path))
    };
    let from_page = || rules.pages.iter().find_map(|p| segment(p, url_path(send.page_url)));
    from_request
        .or_else(from_path)
        .or_else(from_page)
        .map(|id| as_streamed(site, id.trim()))
        .filter(|id| valid(id))
}

/// The conversation a read's request names (`path`: its path and query): the `{conversation}`
/// (or `{slug}`) segment of one of the adapter's `conversation_read` endpoints, DeepSeek's
/// `chat_session_id` query, or Gemini's `source-path` query (the page the read was made for, one
/// of the adapter's `pages`); as the site's stream writes it ([`as_streamed`]).
pub(crate) fn read_conversation(site: Site, path: &str) -> Option<String> {
    let rules = Rules::builtin(site);
    let bare = path.split(['?', '#']).next().unwrap_or("");
    let from_path = || {
        rules
            .endpoints
            .iter()
            .filter(|e| e.kind == crate::detect::EndpointKind::ConversationRead)
            .find_map(|e| segment(&e.path.replace("{slug}", "{conversation}"), bare))
    };
    let from_query = || query_value(path, "chat_session_id");
    let from_source = || {
        let page = query_value(path, "source-path")?;
        rules.pages.iter().find_map(|p| segment(p, &page))
    };
    from_path()
        .or_else(from_query)
        .or_else(from_source)
        .map(|id| as_streamed(site, id.trim()))
        .filter(|id| valid(id))
}

/// The first value of `key` in `path`'s query, form-decoded.
fn query_value(path: &str, key: &str) -> Option<String> {
    let query = path.split_once('?')?.1.split('#').next().unwrap_or("");
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v)).flatten()
    })
}

/// A conversation id as the site's stream writes it: Gemini's stream keeps the `c_` prefix its
/// page's URL leaves out (`/app/3f2a…` is `c_3f2a…`; reference, corrections from real captures),
/// so a turn kept before the stream named its conversation joins the same one.
pub(crate) fn as_streamed(site: Site, id: &str) -> String {
    match site {
        Site::Gemini if !id.starts_with("c_") => format!("c_{id}"),
        _ => id.to_string(),
    }
}

/// The `{conversation}` segment of `path` when it matches `pattern` (`{x}` is any one segment).
fn segment(pattern: &str, path: &str) -> Option<String> {
    let want: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if want.len() != got.len() {
        return None;
    }
    let mut id = None;
    for (w, g) in want.iter().zip(&got) {
        if w.starts_with('{') && w.ends_with('}') {
            if g.is_empty() {
                return None;
            }
            if *w == "{conversation}" {
                id = Some((*g).to_string());
            }
        } else if w != g {
            return None;
        }
    }
    id
}

/// The path of a URL (`https://host/a/b?q#f` → `/a/b`).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or("")
}

pub(crate) fn valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID && !id.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// The capture of a decoded turn of `site`, or `None` when there is nothing to keep (no answer
/// text and no prompt) or no conversation names it.
pub fn turn_capture(site: Site, turn: &Turn, send: &SendContext<'_>) -> Option<TurnCapture> {
    if site == Site::Chatgpt || turn.temporary {
        return None;
    }
    let id = turn.conversation_id.clone().filter(|c| valid(c)).or_else(|| conversation_of(site, send))?;
    let key =
        |m: &str| if send.stream_key.is_empty() { None } else { Some(format!("{}:{m}", send.stream_key)) };
    let mut user: Option<TurnNode> = turn.visible().find(|n| n.message.role == Role::User).cloned();
    if user.is_none()
        && let Some(prompt) = send.request.and_then(|r| prompt_of(site, r))
    {
        user = Some(TurnNode { parent: None, message: Message::new(String::new(), Role::User, prompt) });
    }
    let mut answer: Option<TurnNode> = turn
        .visible()
        .find(|n| n.message.role == Role::Assistant && !n.message.content.plain_text().is_empty())
        .cloned();
    // The ids come from the stream, never from the site: a capture is made at every batch, and the
    // site may name its messages late (Grok's `responseId` at the end) or echo the prompt after it
    // was kept from the request; ids that changed mid-stream would keep a message twice.
    if let Some(u) = user.as_mut() {
        u.message.id = key("user")?;
    }
    if let Some(a) = answer.as_mut() {
        a.message.id = key("answer")?;
        if let Some(u) = &user {
            a.parent = Some(u.message.id.clone());
        }
        a.message.status = Some(
            if turn.end == Some(End::Done) { "finished_successfully" } else { "in_progress" }.to_string(),
        );
    }
    if let Some(u) = user.as_mut() {
        u.message.status.get_or_insert_with(|| "finished_successfully".to_string());
    }
    // Ids of the stream, not the site's: a read of the conversation replaces these copies.
    for n in user.iter_mut().chain(answer.iter_mut()) {
        n.message.metadata.insert(super::read::DERIVED.to_string(), Value::String("stream".into()));
    }
    let nodes: Vec<TurnNode> = user.into_iter().chain(answer).collect();
    let current = nodes.last()?.message.id.clone();
    Some(TurnCapture {
        conversation_id: conversation_key(site, &id),
        title: turn.title.clone(),
        nodes,
        current: Some(current),
        pending: None,
        site: Some(site.id().to_string()),
        follows_current: true,
    })
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::sites::decode_stream;

    fn check_prompt(site: Site, request: &str, expect: Option<&str>) {
        assert_eq!(prompt_of(site, request).as_deref(), expect, "{site:?} {request}");
    }

    #[test]
    fn prompts_by_site() {
        check_prompt(
            Site::Claude,
            r#"{"prompt":"Plan a weekend","parent_message_uuid":"x"}"#,
            Some("Plan a weekend"),
        );
        check_prompt(Site::Deepseek, r#"{"chat_session_id":"s","prompt":"你好"}"#, Some("你好"));
        check_prompt(Site::Grok, r#"{"message":"hi grok","modelName":"grok-4"}"#, Some("hi grok"));
        check_prompt(
            Site::Perplexity,
            r#"{"query_str":"why is the sky blue","params":{}}"#,
            Some("why is the sky blue"),
        );
        check_prompt(
            Site::Mistral,
            r#"{"chatId":"c","mode":"append","messageInput":"bonjour"}"#,
            Some("bonjour"),
        );
        check_prompt(
            Site::Mistral,
            r#"{"messageInput":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}"#,
            Some("a\nb"),
        );
        check_prompt(
            Site::Copilot,
            r#"{"event":"send","conversationId":"c1","content":[{"type":"text","text":"hello copilot"}],"mode":"chat"}"#,
            Some("hello copilot"),
        );
        check_prompt(Site::Copilot, r#"{"event":"ping"}"#, None);
        // Gemini: f.req=[null,"[[\"…\"],null,[\"c_1\",\"r_1\",\"rc_1\"]]"], form-encoded.
        let inner = serde_json::to_string(&serde_json::json!([
            ["Hi Gemini & co = 100%"],
            null,
            ["c_1", "r_1", "rc_1"]
        ]))
        .unwrap_or_default();
        let outer = serde_json::to_string(&serde_json::json!([null, inner])).unwrap_or_default();
        let form = format!("f.req={}&at=AJvLN6M%3A1", encode(&outer));
        check_prompt(Site::Gemini, &form, Some("Hi Gemini & co = 100%"));
        check_prompt(Site::Gemini, "at=x", None);
        check_prompt(Site::Claude, "not json", None);
        check_prompt(Site::Claude, r#"{"prompt":"   "}"#, None);
        check_prompt(Site::Chatgpt, r#"{"prompt":"x"}"#, None);
    }

    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn check_conversation(site: Site, path: &str, request: Option<&str>, url: &str, expect: Option<&str>) {
        let send = SendContext { path, request, page_url: url, stream_key: "t1-s1" };
        assert_eq!(conversation_of(site, &send).as_deref(), expect, "{site:?} {path} {url}");
    }

    #[test]
    fn conversations_from_request_path_and_page() {
        let claude =
            "/api/organizations/org-1/chat_conversations/5e1f0c2a-1111-4222-8333-444455556666/completion";
        check_conversation(
            Site::Claude,
            claude,
            None,
            "https://claude.ai/new",
            Some("5e1f0c2a-1111-4222-8333-444455556666"),
        );
        check_conversation(
            Site::Deepseek,
            "/api/v0/chat/completion",
            Some(r#"{"chat_session_id":"abc-1","prompt":"x"}"#),
            "",
            Some("abc-1"),
        );
        check_conversation(
            Site::Mistral,
            "/api/chat",
            Some(r#"{"chatId":"m-9","mode":"append"}"#),
            "",
            Some("m-9"),
        );
        check_conversation(Site::Grok, "/rest/app-chat/conversations/g-7/responses", None, "", Some("g-7"));
        check_conversation(Site::Grok, "/rest/app-chat/conversations/new", None, "https://grok.com/", None);
        check_conversation(
            Site::Gemini,
            "/_/x",
            None,
            "https://gemini.google.com/app/3f2a9b?hl=en",
            Some("c_3f2a9b"),
        );
        check_conversation(
            Site::Perplexity,
            "/rest/sse/perplexity_ask",
            None,
            "https://www.perplexity.ai/search/why-blue-Ab3",
            Some("why-blue-Ab3"),
        );
        check_conversation(
            Site::Copilot,
            "/c/api/chat",
            None,
            "https://copilot.microsoft.com/chats/Q1w2",
            Some("Q1w2"),
        );
        check_conversation(Site::Claude, "/other", None, "https://claude.ai/recents", None);
    }

    #[test]
    fn a_claude_turn_is_kept_under_its_site_key_with_its_prompt() {
        let bytes = std::fs::read("tests/fixtures/sites/claude/healthy.sse").unwrap_or_default();
        let turn = decode_stream(Site::Claude, &bytes, 7).unwrap_or_default();
        let send = SendContext {
            path: "/api/organizations/o/chat_conversations/c-1/completion",
            request: Some(r#"{"prompt":"Say hi"}"#),
            page_url: "https://claude.ai/chat/c-1",
            stream_key: "t1-s9",
        };
        let Some(c) = turn_capture(Site::Claude, &turn, &send) else { panic!("not kept") };
        assert!(c.conversation_id.starts_with("claude:"), "{}", c.conversation_id);
        assert_eq!(c.site.as_deref(), Some("claude"));
        assert!(c.follows_current);
        let roles: Vec<Role> = c.nodes.iter().map(|n| n.message.role.clone()).collect();
        assert_eq!(roles, [Role::User, Role::Assistant]);
        assert_eq!(c.nodes[0].message.content.plain_text(), "Say hi");
        assert_eq!(c.nodes[1].parent.as_deref(), Some(c.nodes[0].message.id.as_str()));
        assert_eq!(c.current.as_deref(), Some(c.nodes[1].message.id.as_str()));
        // The same stream captured again names the same messages.
        assert_eq!(turn_capture(Site::Claude, &turn, &send), Some(c));
    }

    #[test]
    fn nothing_is_kept_without_a_conversation_or_for_chatgpt() {
        let turn = Turn::default();
        let send = SendContext {
            path: "/x",
            request: Some(r#"{"prompt":"p"}"#),
            page_url: "https://claude.ai/new",
            stream_key: "k",
        };
        assert_eq!(turn_capture(Site::Claude, &turn, &send), None);
        assert_eq!(turn_capture(Site::Chatgpt, &turn, &send), None);
    }

    #[test]
    fn turns_of_one_conversation_follow_each_other_and_carry_the_site() {
        use crate::conversation::capture::{Capture, apply};
        use crate::conversation::main_line;
        let turn = |text: &str| {
            let mut a = crate::page::sites::Answer::new(Site::Deepseek);
            a.append(text);
            a.done();
            a.turn()
        };
        let send = |key: &'static str, prompt: &'static str| SendContext {
            path: "/api/v0/chat/completion",
            request: Some(prompt),
            page_url: "https://chat.deepseek.com/",
            stream_key: key,
        };
        let first = turn_capture(
            Site::Deepseek,
            &turn("A1"),
            &send("s1", r#"{"chat_session_id":"d1","prompt":"P1"}"#),
        );
        let second = turn_capture(
            Site::Deepseek,
            &turn("A2"),
            &send("s2", r#"{"chat_session_id":"d1","prompt":"P2"}"#),
        );
        let (Some(first), Some(second)) = (first, second) else { panic!("not kept") };
        let (conv, _) = apply(None, &Capture::Turn(first.clone()), 1.0).unwrap_or_else(|e| panic!("{e}"));
        let (conv, _) = apply(Some(conv), &Capture::Turn(second), 2.0).unwrap_or_else(|e| panic!("{e}"));
        let (conv, changed) = apply(Some(conv), &Capture::Turn(first), 3.0).unwrap_or_else(|e| panic!("{e}"));
        assert!(!changed, "the same turn again changes nothing");
        assert_eq!(conv.id, "deepseek:d1");
        assert_eq!(conv.site(), Some("deepseek"));
        let texts: Vec<String> = main_line(&conv).iter().map(|m| m.content.plain_text()).collect();
        assert_eq!(texts, ["P1", "A1", "P2", "A2"]);
    }

    #[test]
    fn a_prompt_echoed_after_it_was_kept_from_the_request_is_one_message() {
        use crate::conversation::capture::{Capture, apply};
        use crate::conversation::main_line;
        let send = SendContext {
            path: "/rest/app-chat/conversations/g-1/responses",
            request: Some(r#"{"message":"And a second one?"}"#),
            page_url: "https://grok.com/c/g-1",
            stream_key: "t1-s4",
        };
        // Before any byte: the prompt from the request.
        let early = turn_capture(Site::Grok, &Turn::default(), &send);
        // Then the stream echoes the prompt under the site's id, and answers (named at its end).
        let stream = concat!(
            r#"{"result":{"userResponse":{"responseId":"u-9","message":"And a second one?","sender":"human"}}}"#,
            "\n",
            r#"{"result":{"token":"Sure."}}"#,
            "\n",
            r#"{"result":{"isSoftStop":true,"responseId":"r-9"}}"#,
            "\n"
        );
        let late =
            decode_stream(Site::Grok, stream.as_bytes(), 5).and_then(|t| turn_capture(Site::Grok, &t, &send));
        let (Some(early), Some(late)) = (early, late) else { panic!("not kept") };
        let (conv, _) = apply(None, &Capture::Turn(early), 1.0).unwrap_or_else(|e| panic!("{e}"));
        let (conv, _) = apply(Some(conv), &Capture::Turn(late), 2.0).unwrap_or_else(|e| panic!("{e}"));
        let texts: Vec<String> = main_line(&conv).iter().map(|m| m.content.plain_text()).collect();
        assert_eq!(texts, ["And a second one?", "Sure."]);
    }
}
