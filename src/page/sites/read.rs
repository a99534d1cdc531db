//! What a chat site shows of a conversation, in the cache: its read (the body of an adapter's
//! `conversation_read` endpoint: [`read_conversation`], joined with what was kept before by
//! [`fold`]) and, when no traffic gave anything, the turns its page shows ([`dom_fill`]).
//!
//! A stream gives no message ids on most sites, so a streamed turn is kept under ids derived from
//! the stream ([`super::keep`]); the DOM of most sites has no ids either, so a turn read there is
//! kept under an id derived from its text. Both are marked [`DERIVED`]. A read names the site's
//! own ids: the same prompt and answer come back under other ids. Folding a read in first lets
//! each derived copy go that the read holds (same role, same text once white space is set aside;
//! an answer cut short matches the read's whole answer that starts with it), its children moving
//! under the read's message, then merges the read. A derived message the read does not hold stays
//! where it was: nothing is lost, at worst a turn shows twice.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::keep::{as_streamed, conversation_key, valid};
use crate::conversation::capture::DomTurn;
use crate::conversation::{Conversation, Message, Node, Role};
use crate::page::body::BodyError;
use crate::site::Site;

/// The metadata key of a message whose id is not the site's: `"stream"` (kept from a site's
/// stream) or `"dom"` (read from its page).
pub const DERIVED: &str = "understudy_derived";

/// The read of `site` (`path`: its request's path and query) as the conversation to keep: filed
/// under `<site>:<id>` and marked with its site. An error when the core does not read that site's
/// conversations or the body is not one.
pub fn read_conversation(site: Site, path: Option<&str>, body: &str) -> Result<Conversation, BodyError> {
    let mut conv = super::parse_body(site, path, body)
        .ok_or_else(|| BodyError::Malformed(format!("no conversation read is known for {}", site.id())))??;
    let id = as_streamed(site, conv.id.trim());
    if !valid(&id) {
        return Err(BodyError::NoId);
    }
    conv.id = conversation_key(site, &id);
    conv.set_site(site.id());
    conv.source.get_or_insert_with(|| "capture".into());
    Ok(conv)
}

/// Text compared between a streamed copy and the read: white space runs as one space.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_derived(n: &Node) -> bool {
    n.message.as_ref().is_some_and(|m| m.metadata.contains_key(DERIVED))
}

/// Which streamed copies in `conv` the read holds: streamed id → the read's id.
fn matches(conv: &Conversation, read: &Conversation) -> BTreeMap<String, String> {
    struct Candidate<'a> {
        id: &'a str,
        role: Role,
        text: String,
        parent: Option<&'a str>,
        time: f64,
    }
    let mut candidates: Vec<Candidate<'_>> = read
        .nodes
        .values()
        .filter_map(|n| {
            let m = n.message.as_ref()?;
            Some(Candidate {
                id: &n.id,
                role: m.role.clone(),
                text: norm(&m.content.plain_text()),
                parent: n.parent.as_deref(),
                time: m.create_time.unwrap_or(0.0),
            })
        })
        .filter(|c| matches!(c.role, Role::User | Role::Assistant) && !c.text.is_empty())
        .collect();
    candidates.sort_by(|a, b| a.time.total_cmp(&b.time).then_with(|| a.id.cmp(b.id)));
    let mut streamed: Vec<(&Node, f64)> = conv
        .nodes
        .values()
        .filter(|n| is_derived(n) && !read.nodes.contains_key(&n.id))
        .map(|n| (n, n.message.as_ref().and_then(|m| m.create_time).unwrap_or(0.0)))
        .collect();
    streamed.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.id.cmp(&b.0.id)));
    // The candidates by role and text, in time order (a forged read may hold many: each streamed
    // copy looks up its own text instead of scanning them all).
    let mut by_text: HashMap<(Role, &str), Vec<usize>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        by_text.entry((c.role.clone(), c.text.as_str())).or_default().push(i);
    }
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    let mut used: HashSet<&str> = HashSet::new();
    for (node, _) in streamed {
        let Some(m) = node.message.as_ref() else { continue };
        let text = norm(&m.content.plain_text());
        if text.is_empty() {
            continue;
        }
        // The read's copy under the same parent first (a prompt asked twice is two messages).
        let parent = node.parent.as_deref().map(|p| found.get(p).map_or(p, String::as_str));
        let free = |i: &usize| !used.contains(candidates[*i].id);
        let exact = by_text.get(&(m.role.clone(), text.as_str()));
        let under = |i: &usize| parent.is_some() && candidates[*i].parent == parent;
        let mut pick = exact.and_then(|l| l.iter().copied().find(|i| free(i) && under(i)));
        // An answer cut short: the read's whole answer that starts with it.
        let cut = m.role == Role::Assistant && m.is_incomplete();
        if pick.is_none() && cut {
            pick = (0..candidates.len()).find(|i| {
                let c = &candidates[*i];
                c.role == Role::Assistant && free(i) && under(i) && c.text.starts_with(&text)
            });
        }
        // Elsewhere in the read only when the copy's parent is not one of the read's (the read's
        // first page, or the copy's parent went unmatched): under a parent the read holds, its
        // turn is the one after that parent, or none yet.
        let parent_read = parent.is_some_and(|p| read.nodes.contains_key(p));
        if pick.is_none() && !parent_read {
            pick = exact.and_then(|l| l.iter().copied().find(|i| free(i)));
            if pick.is_none() && cut {
                pick = (0..candidates.len()).find(|i| {
                    let c = &candidates[*i];
                    c.role == Role::Assistant && free(i) && c.text.starts_with(&text)
                });
            }
        }
        if let Some(i) = pick {
            let c = &candidates[i];
            used.insert(c.id);
            found.insert(node.id.clone(), c.id.to_string());
        }
    }
    found
}

/// Folds the site's read into the stored copy: the derived copies it holds go (their children
/// and the current node move to the read's messages), and so do all the page's turns; the read
/// is merged, and the read's current message becomes the conversation's unless the current one
/// is a streamed turn that follows it (one the site has not saved yet). Returns whether anything
/// changed. Folding the same read twice changes nothing.
pub fn fold(conv: &mut Conversation, read: &Conversation) -> bool {
    let mut found = matches(conv, read);
    // What the page showed is what the site holds: the page's turns the read did not match (its
    // text rendered, not written: a list, a bold word) go too, what followed them moving under
    // the read's current message.
    // Only when the read holds at least as many turns as the page showed: a read of one page of a
    // longer conversation, or one without the texts yet (Grok's first), does not speak for them.
    let from_dom = |n: &Node| {
        n.message.as_ref().and_then(|m| m.metadata.get(DERIVED)).and_then(|v| v.as_str()) == Some("dom")
    };
    let shown = conv.nodes.values().filter(|n| from_dom(n)).count();
    let held = read
        .nodes
        .values()
        .filter(|n| n.message.as_ref().is_some_and(|m| !m.content.plain_text().trim().is_empty()))
        .count();
    if let Some(tip) = read.current_node.as_ref().filter(|_| held >= shown) {
        for n in conv.nodes.values() {
            if from_dom(n) && !found.contains_key(&n.id) && !read.nodes.contains_key(&n.id) {
                found.insert(n.id.clone(), tip.clone());
            }
        }
    }
    // Sites read a long conversation a page at a time (Gemini, Copilot, Perplexity): a read may
    // hold only older turns (the page scrolled up), or start in the middle of what was kept.
    let before = conv.current_node.clone().filter(|c| conv.nodes.contains_key(c));
    let time = |c: &Conversation, id: &str| c.nodes.get(id).and_then(|n| n.message.as_ref()?.create_time);
    let take_read = match before.as_deref() {
        None => true,
        Some(c) if read.nodes.contains_key(c) || found.contains_key(c) => true,
        Some(c) => match (read.current_node.as_deref().and_then(|r| time(read, r)), time(conv, c)) {
            (Some(r), Some(b)) => r >= b,
            _ => false,
        },
    };
    // A read message that starts its page (no parent in the read) takes the parent of the copy it
    // replaces: the line goes on through the turns kept before it.
    let mut links: Vec<(String, String)> = Vec::new();
    let mut changed = !found.is_empty();
    for (gone, kept) in &found {
        let Some(node) = conv.nodes.remove(gone) else { continue };
        let first = read.nodes.get(kept).is_some_and(|n| n.parent.is_none());
        if let Some(p) = node.parent.as_ref().filter(|_| first) {
            let p = found.get(p).unwrap_or(p);
            if p != kept {
                links.push((kept.clone(), p.clone()));
            }
        }
        if let Some(p) = node.parent.as_ref().and_then(|p| conv.nodes.get_mut(p)) {
            p.children.retain(|c| c != gone);
        }
        for child in &node.children {
            if let Some(c) = conv.nodes.get_mut(child) {
                c.parent = Some(kept.clone());
            }
        }
        let target = conv.nodes.entry(kept.clone()).or_insert_with(|| Node {
            id: kept.clone(),
            parent: None,
            children: Vec::new(),
            message: None,
        });
        for child in node.children {
            if !target.children.contains(&child) {
                target.children.push(child);
            }
        }
        if conv.current_node.as_deref() == Some(gone.as_str()) {
            conv.current_node = Some(kept.clone());
        }
    }
    // A derived turn the read does not hold yet, after the read's current message (a streamed
    // one the site has not saved yet), stays current.
    let ours = conv.current_node.clone().filter(|c| {
        conv.nodes.get(c).is_some_and(is_derived)
            && read.current_node.as_ref().is_some_and(|r| descends(conv, c, r))
    });
    for n in conv.nodes.values_mut() {
        n.children.retain(|c| !found.contains_key(c));
    }
    changed |= conv.merge(read);
    for (child, parent) in links {
        let free = conv.nodes.get(&child).is_some_and(|n| n.parent.is_none());
        if !free || !conv.nodes.contains_key(&parent) || descends(conv, &parent, &child) {
            continue;
        }
        if let Some(n) = conv.nodes.get_mut(&child) {
            n.parent = Some(parent.clone());
        }
        if let Some(p) = conv.nodes.get_mut(&parent)
            && !p.children.contains(&child)
        {
            p.children.push(child);
        }
        changed = true;
    }
    let read_current = read.current_node.clone().filter(|_| take_read);
    let current = ours.or(read_current).filter(|c| conv.nodes.contains_key(c));
    if current.is_some() && conv.current_node != current {
        conv.current_node = current;
        changed = true;
    }
    if changed {
        conv.refresh_incomplete();
    }
    changed
}

/// The longest text kept of one turn read from a page (bytes).
const MAX_DOM_TEXT: usize = 2 << 20;

/// Fills a conversation that no traffic gave anything of with the turns `site`'s page shows
/// (`role`: `user` or `assistant`; in page order), as one line whose last turn is the current
/// one. Each turn's id derives from its role, its text and how often the same came before
/// (`dom-<hash>`), so reading the same page again changes nothing. Once a stream or a read gave
/// the conversation anything, the page's turns are left alone: traffic is richer (and a read
/// replaces these copies, [`fold`]). Returns whether anything changed.
pub fn dom_fill(conv: &mut Conversation, site: &str, title: Option<&String>, turns: &[DomTurn]) -> bool {
    // (A message without text is no turn the page could show: Grok's first read names its
    // messages, its second gives their texts.)
    let traffic = conv.nodes.values().any(|n| {
        n.message.as_ref().is_some_and(|m| {
            m.metadata.get(DERIVED).and_then(|v| v.as_str()) != Some("dom")
                && !m.content.plain_text().trim().is_empty()
        })
    });
    if traffic || Site::from_id(site).is_none() {
        return false;
    }
    let mut changed = false;
    if conv.site() != Some(site) {
        conv.set_site(site);
        changed = true;
    }
    if conv.title.is_none()
        && let Some(t) = title.filter(|t| !t.trim().is_empty())
    {
        conv.title = Some(t.clone());
        changed = true;
    }
    let mut seen: BTreeMap<(String, u64), u32> = BTreeMap::new();
    let mut parent: Option<String> = None;
    let mut last = None;
    for t in turns {
        let role = match t.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            _ => continue,
        };
        let text = t.text.trim();
        if text.is_empty() || text.len() > MAX_DOM_TEXT {
            continue;
        }
        let hash = fnv(&format!("{}\u{0}{}", t.role, norm(text)));
        let n = seen.entry((t.role.clone(), hash)).or_insert(0);
        *n += 1;
        let id = format!("dom-{hash:016x}-{n}");
        if conv.nodes.get(&id).is_none_or(|node| node.message.is_none()) {
            let mut m = Message::new(id.clone(), role, text.to_string());
            m.metadata.insert(DERIVED.to_string(), serde_json::Value::String("dom".into()));
            changed |= conv.upsert_message(parent.as_deref(), m, false);
        }
        parent = Some(id.clone());
        last = Some(id);
    }
    if last.is_some() && conv.current_node != last {
        conv.current_node = last;
        changed = true;
    }
    changed
}

/// FNV-1a, 64 bits: a stable id for a turn's text (not a defence: ids are only keys).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Whether `node` lies under `ancestor` in `conv` (cycles tolerated).
fn descends(conv: &Conversation, node: &str, ancestor: &str) -> bool {
    let mut at = conv.nodes.get(node).and_then(|n| n.parent.as_deref());
    for _ in 0..conv.nodes.len() {
        match at {
            Some(p) if p == ancestor => return true,
            Some(p) => at = conv.nodes.get(p).and_then(|n| n.parent.as_deref()),
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::capture::{self, Capture};
    use crate::conversation::main_line;
    use crate::page::sites::decode_stream;
    use crate::page::sites::keep::{SendContext, turn_capture};

    const CONV: &str = "5e1f0c2a-1111-4222-8333-444455556666";

    /// The Claude read fixture with its conversation id set to CONV.
    fn claude_read() -> String {
        let body =
            std::fs::read_to_string("tests/fixtures/sites/claude/conversation.json").unwrap_or_default();
        let mut v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["uuid"] = serde_json::Value::String(CONV.into());
        v.to_string()
    }

    /// A Claude turn streamed (the healthy fixture) with `prompt`, kept as the worker keeps it.
    fn streamed(prompt: &str, key: &str, chunk: usize) -> Capture {
        let bytes = std::fs::read("tests/fixtures/sites/claude/healthy.sse").unwrap_or_default();
        let turn = decode_stream(Site::Claude, &bytes, chunk).unwrap_or_default();
        let request = serde_json::json!({ "prompt": prompt }).to_string();
        let path = format!("/api/organizations/o/chat_conversations/{CONV}/completion");
        let send = SendContext {
            path: &path,
            request: Some(&request),
            page_url: "https://claude.ai/new",
            stream_key: key,
        };
        Capture::Turn(turn_capture(Site::Claude, &turn, &send).unwrap_or_else(|| panic!("no capture")))
    }

    fn read_capture() -> Capture {
        Capture::Conversation {
            json: claude_read(),
            path: Some(format!("/api/organizations/o/chat_conversations/{CONV}?tree=True")),
            site: Some("claude".into()),
        }
    }

    fn texts(conv: &Conversation) -> Vec<(String, String)> {
        main_line(conv).iter().map(|m| (m.role.as_str().to_string(), m.content.plain_text())).collect()
    }

    #[test]
    fn a_read_is_filed_under_its_site() {
        let conv = read_conversation(Site::Claude, None, &claude_read()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(conv.id, format!("claude:{CONV}"));
        assert_eq!(conv.site(), Some("claude"));
        assert!(read_conversation(Site::Mistral, None, "{}").is_err());
        assert!(read_conversation(Site::Claude, None, "{\"chat_messages\":[]}").is_err());
    }

    #[test]
    fn a_read_changes_only_the_conversation_the_tab_shows_or_streamed() {
        let read = read_capture();
        let key = read.key().unwrap_or_default();
        assert_eq!(key, format!("claude:{CONV}"));
        let check = |url: &str, streamed: Option<&str>| {
            let shown = capture::shown_key(url);
            capture::check_origin(&read, &key, shown.as_deref(), streamed).is_ok()
        };
        assert!(check(&format!("https://claude.ai/chat/{CONV}"), None));
        assert!(check("https://claude.ai/new", Some(&key)), "the conversation the tab just streamed");
        assert!(!check("https://claude.ai/chat/another-one", None));
        assert!(!check("https://claude.ai/new", Some("claude:another-one")));
        assert!(
            !check(&format!("https://chatgpt.com/c/{CONV}"), None),
            "not ChatGPT's conversation of that id"
        );
        assert_eq!(
            capture::shown_key("https://gemini.google.com/app/3f2a9b"),
            Some("gemini:c_3f2a9b".into())
        );
        assert_eq!(capture::shown_key("https://chatgpt.com/c/abc"), Some("abc".into()));
    }

    fn dom(turns: &[(&str, &str)]) -> Capture {
        Capture::Dom {
            conversation_id: format!("claude:{CONV}"),
            title: Some("Jam".into()),
            turns: turns
                .iter()
                .map(|(role, text)| DomTurn { id: String::new(), role: (*role).into(), text: (*text).into() })
                .collect(),
            site: Some("claude".into()),
        }
    }

    #[test]
    fn the_page_fills_a_conversation_no_traffic_gave_and_a_read_replaces_it() {
        let shown = dom(&[
            ("user", "Hi"),
            ("assistant", "Hello!\n\nA list:\nitem"),
            ("user", "Hi"),
            ("assistant", "Again?"),
        ]);
        let (conv, changed) = capture::apply(None, &shown, 100.0).unwrap_or_else(|e| panic!("{e}"));
        assert!(changed);
        assert_eq!(conv.site(), Some("claude"));
        assert_eq!(conv.title.as_deref(), Some("Jam"));
        let line: Vec<String> = texts(&conv).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            line,
            ["Hi", "Hello!\n\nA list:\nitem", "Hi", "Again?"],
            "a prompt asked twice is two turns"
        );
        let (same, changed) =
            capture::apply(Some(conv.clone()), &shown, 200.0).unwrap_or_else(|e| panic!("{e}"));
        assert!(!changed, "the same page twice changes nothing");
        assert_eq!(same, conv);
        // The read: the page's turns give way, each of the site's turns once.
        let (read, _) = capture::apply(Some(conv), &read_capture(), 300.0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(texts(&read), read_line());
        assert!(!read.nodes.values().any(is_derived), "no copy of the page's turns left");
        assert!(
            read.nodes.values().all(|n| n.children.iter().all(|c| read.nodes.contains_key(c))),
            "no dangling child"
        );
        // Traffic gave the conversation something: the page's turns are left alone.
        let (after, changed) =
            capture::apply(Some(read.clone()), &shown, 400.0).unwrap_or_else(|e| panic!("{e}"));
        assert!(!changed);
        assert_eq!(after, read);
    }

    #[test]
    fn a_streamed_turn_after_the_page_follows_it_and_stays_after_the_read() {
        let line = read_line();
        let shown = dom(&[("user", &line[0].1), ("assistant", "rendered differently")]);
        let (conv, _) = capture::apply(None, &shown, 100.0).unwrap_or_else(|e| panic!("{e}"));
        let (conv, _) = capture::apply(Some(conv), &streamed("A new question", "t1-s3", 3), 200.0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(texts(&conv).len(), 4);
        let (conv, _) = capture::apply(Some(conv), &read_capture(), 300.0).unwrap_or_else(|e| panic!("{e}"));
        let got = texts(&conv);
        assert_eq!(got[..line.len()], line[..]);
        assert_eq!(got[line.len()].1, "A new question", "the new turn follows the read's line");
        assert_eq!(got.len(), line.len() + 2);
    }

    /// What the read's main line says the conversation is.
    fn read_line() -> Vec<(String, String)> {
        texts(&read_conversation(Site::Claude, None, &claude_read()).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn a_streamed_turn_then_its_read_leaves_the_read_alone() {
        let line = read_line();
        let (first_prompt, first_answer) = (&line[0].1, &line[1].1);
        // The stream kept the first turn, with the fixture's answer replaced by the read's text.
        let Capture::Turn(mut t) = streamed(first_prompt, "t1-s1", 0) else { panic!("not a turn") };
        t.nodes[1].message.content = crate::conversation::Content::text(first_answer.clone());
        let (conv, _) = capture::apply(None, &Capture::Turn(t), 100.0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(conv.message_count(), 2);
        let (conv, changed) =
            capture::apply(Some(conv), &read_capture(), 200.0).unwrap_or_else(|e| panic!("{e}"));
        assert!(changed);
        assert_eq!(texts(&conv), line, "the read's line, each turn once");
        assert!(!conv.nodes.values().any(is_derived), "the streamed copies went");
        let (again, changed) =
            capture::apply(Some(conv.clone()), &read_capture(), 300.0).unwrap_or_else(|e| panic!("{e}"));
        assert!(!changed, "the same read twice changes nothing");
        assert_eq!(again, conv);
    }

    #[test]
    fn a_turn_the_read_does_not_hold_stays_after_it() {
        let line = read_line();
        let (conv, _) = capture::apply(None, &read_capture(), 100.0).unwrap_or_else(|e| panic!("{e}"));
        for chunk in [0, 1, 7] {
            let (after, _) =
                capture::apply(Some(conv.clone()), &streamed("A new question", "t1-s2", chunk), 200.0)
                    .unwrap_or_else(|e| panic!("{e}"));
            let got = texts(&after);
            assert_eq!(got[..line.len()], line[..], "chunk {chunk}");
            assert_eq!(got[line.len()].1, "A new question");
            // The read again (the site has not saved the new turn yet): the new turn stays current.
            let (again, _) =
                capture::apply(Some(after), &read_capture(), 300.0).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(texts(&again)[line.len()].1, "A new question", "chunk {chunk}");
        }
    }

    #[test]
    fn a_streamed_prompt_the_read_words_otherwise_is_kept() {
        let line = read_line();
        let (conv, _) = capture::apply(None, &streamed("Something else entirely", "t1-s1", 0), 100.0)
            .unwrap_or_else(|e| panic!("{e}"));
        let (conv, _) = capture::apply(Some(conv), &read_capture(), 200.0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(texts(&conv), line, "the read's line is shown");
        assert!(
            conv.nodes.values().any(|n| n
                .message
                .as_ref()
                .is_some_and(|m| m.content.plain_text() == "Something else entirely")),
            "nothing is lost"
        );
    }
}

/// Reads that come a page at a time (Gemini's, Copilot's, Perplexity's): a page starts with a
/// message the read gives no parent.
#[cfg(test)]
mod paged {
    use super::*;
    use crate::conversation::{Message, main_line};

    /// `turns` (id, text; roles alternate from the user's; times from `t0`, one apart) as one line
    /// whose last turn is current; `derived`: kept from a stream or the page (`stream`, `dom`).
    fn line(turns: &[(&str, &str)], t0: f64, derived: Option<&str>) -> Conversation {
        let mut conv = Conversation::new("gemini:c1");
        let mut parent: Option<String> = None;
        for (i, (id, text)) in turns.iter().enumerate() {
            let role = if i % 2 == 0 { Role::User } else { Role::Assistant };
            let mut m = Message::new(*id, role, *text);
            m.create_time = Some(t0 + i as f64);
            if let Some(d) = derived {
                m.metadata.insert(DERIVED.into(), serde_json::Value::String(d.into()));
            }
            conv.upsert_message(parent.as_deref(), m, false);
            parent = Some((*id).to_string());
        }
        conv.current_node = parent;
        conv
    }

    fn shown(conv: &Conversation) -> Vec<String> {
        main_line(conv).iter().map(|m| m.content.plain_text()).collect()
    }

    fn check(before: &Conversation, read: &Conversation, expect: &[&str], current: &str) {
        let mut conv = before.clone();
        fold(&mut conv, read);
        assert_eq!(shown(&conv), expect);
        assert_eq!(conv.current_node.as_deref(), Some(current));
        assert!(conv.nodes.values().all(|n| n.children.iter().all(|c| conv.nodes.contains_key(c))));
        let mut again = conv.clone();
        assert!(!fold(&mut again, read), "the same read twice changes nothing");
    }

    #[test]
    fn an_older_page_read_keeps_the_newest_turn_current() {
        let newest =
            line(&[("u3", "Three?"), ("a3", "Three."), ("u4", "Four?"), ("a4", "Four.")], 30.0, None);
        let older = line(&[("u1", "One?"), ("a1", "One."), ("u2", "Two?"), ("a2", "Two.")], 10.0, None);
        let mut conv = Conversation::new("gemini:c1");
        fold(&mut conv, &newest);
        check(&conv, &older, &["Three?", "Three.", "Four?", "Four."], "a4");
        // Every turn is kept, the older page's too.
        let mut all = conv.clone();
        fold(&mut all, &older);
        assert_eq!(all.message_count(), 8);
    }

    #[test]
    fn a_newest_page_read_goes_on_from_the_turns_streamed_before_it() {
        let streamed = line(
            &[
                ("s1u", "One?"),
                ("s1a", "One."),
                ("s2u", "Two?"),
                ("s2a", "Two."),
                ("s3u", "Three?"),
                ("s3a", "Three."),
            ],
            10.0,
            Some("stream"),
        );
        // The site's newest page holds the last two turns, and one more made elsewhere.
        let read = line(
            &[
                ("u2", "Two?"),
                ("a2", "Two."),
                ("u3", "Three?"),
                ("a3", "Three."),
                ("u4", "Four?"),
                ("a4", "Four."),
            ],
            20.0,
            None,
        );
        check(
            &streamed,
            &read,
            &["One?", "One.", "Two?", "Two.", "Three?", "Three.", "Four?", "Four."],
            "a4",
        );
        let mut conv = streamed.clone();
        fold(&mut conv, &read);
        assert_eq!(conv.nodes.get("u2").and_then(|n| n.parent.as_deref()), Some("s1a"));
        assert_eq!(conv.message_count(), 8, "the copies of turns two and three went");
    }

    #[test]
    fn a_prompt_asked_again_is_not_taken_for_the_earlier_one() {
        let read = line(&[("u1", "Hi"), ("a1", "Hello"), ("u2", "yes"), ("a2", "ok")], 10.0, None);
        let mut conv = Conversation::new("gemini:c1");
        fold(&mut conv, &read);
        // "yes" again, streamed after the read's last answer; the site has not saved it yet.
        let mut u = Message::new("s-u", Role::User, "yes");
        u.create_time = Some(20.0);
        u.metadata.insert(DERIVED.into(), serde_json::Value::String("stream".into()));
        let mut a = Message::new("s-a", Role::Assistant, "Here is the rest");
        a.create_time = Some(21.0);
        a.status = Some("in_progress".into());
        a.metadata.insert(DERIVED.into(), serde_json::Value::String("stream".into()));
        conv.upsert_message(Some("a2"), u, false);
        conv.upsert_message(Some("s-u"), a, true);
        conv.current_node = Some("s-a".into());
        check(&conv, &read, &["Hi", "Hello", "yes", "ok", "yes", "Here is the rest"], "s-a");
    }

    #[test]
    fn a_read_of_fewer_turns_than_the_page_showed_leaves_the_others() {
        let page = line(
            &[
                ("d1", "One?"),
                ("d2", "One."),
                ("d3", "Two?"),
                ("d4", "Two."),
                ("d5", "Three?"),
                ("d6", "Three, rendered."),
            ],
            10.0,
            Some("dom"),
        );
        let read = line(&[("u3", "Three?"), ("a3", "Three.")], 20.0, None);
        check(&page, &read, &["One?", "One.", "Two?", "Two.", "Three?", "Three."], "a3");
        // The page's copy of the last answer, rendered otherwise, stays beside the read's.
        let mut conv = page.clone();
        fold(&mut conv, &read);
        assert_eq!(conv.message_count(), 7);
        assert_eq!(conv.nodes.get("d6").and_then(|n| n.parent.as_deref()), Some("u3"));
    }
}
