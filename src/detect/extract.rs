//! Extracting a [`DomObservation`] from saved HTML, with the same rules as
//! `extension/content/observe.js` applies to the live page.
//!
//! - Only visible elements count: an element is hidden when it or an ancestor has `hidden`,
//!   `aria-hidden="true"`, an inline `display:none` or `visibility:hidden`, or is in `<head>`,
//!   `<template>` or `<noscript>`.
//! - Nothing inside the adapter's `excluded` elements (message bodies, code, composer, history)
//!   or inside a `user_message` (the user's own text) counts.
//! - Turns: the outermost elements matching `turn`, in both renderers (legacy
//!   `section[data-testid^="conversation-turn-"]` / `article[data-turn]`, and the search-unit
//!   renderer's `[data-turn-key]` roots holding the user and the assistant message); the latest is
//!   the last visible one. A long chat is windowed (only its last turns are in the page): an error
//!   in an earlier turn is history either way.
//! - The latest turn's role: the last `role` element's `role_attr` (else the turn's
//!   `turn_role_attr`); without either (the search-unit renderer), `assistant` when the turn holds
//!   a `message_body`, `user` when it holds only a `user_message`. Its answer: the innermost
//!   visible `message_body` elements with text (an assistant message holding its body and an error
//!   box is not an answer by itself).
//! - Error boxes count in the latest turn, or outside every turn after it; dialogs, toasts and
//!   banners anywhere but in an earlier turn; errors in earlier turns never. An element inside one
//!   already counted (a dialog's alert, a toast's error box) is counted with it, not twice.
//!   Dialogs, toasts and banners are not structural: only text a rule knows counts.
//! - `recovering`: a visible element matches `recovering` (the page resumes by itself).
//! - A whole-page error document is recognised only on a page without turns and without a
//!   composer: a challenge, a Cloudflare error page, a bare JSON error body, or a bare server error
//!   page whose title or first `h1` starts with its status ("503 Service Temporarily Unavailable").
//!   The live page also reads the navigation's own HTTP status (`observe.js`); a saved page has
//!   only its markup.

use super::html::{Document, NodeData};
use super::observation::{
    DomObservation, ErrorElement, ErrorRegion, LatestTurn, MAX_ERRORS, MAX_TEXT_BYTES, PageError,
    PageErrorSource, Role,
};
use super::rules::{Rules, normalize};

const HIDDEN: u8 = 1;
const EXCLUDED: u8 = 2;
const IN_TURN: u8 = 4;
const IN_ERROR: u8 = 8;
const IN_TOAST: u8 = 16;

/// The largest bare JSON body parsed as an error document.
const MAX_JSON_BODY: usize = 64 * 1024;

/// Extracts what a content script would observe from an HTML page.
pub fn extract_html(html: &str, rules: &Rules) -> DomObservation {
    let doc = Document::parse(html);
    extract(&doc, rules)
}

/// Extracts what a content script would observe from a parsed document.
pub fn extract(doc: &Document, rules: &Rules) -> DomObservation {
    let sel = &rules.compiled;
    let n = doc.nodes.len();
    let mut flags = vec![0u8; n];
    let mut turns: Vec<usize> = Vec::new();
    let mut composer_present = false;
    for i in 1..n {
        let parent = doc.nodes[i].parent as usize;
        let inherited = flags[parent];
        let NodeData::Element { tag, .. } = &doc.nodes[i].data else {
            flags[i] = inherited;
            continue;
        };
        let mut f = inherited;
        if hidden_by_itself(doc, i, tag) {
            f |= HIDDEN;
        }
        if f & EXCLUDED == 0 && (sel.excluded.matches(doc, i) || sel.user_message.matches(doc, i)) {
            f |= EXCLUDED;
        }
        if sel.composer.matches(doc, i) {
            composer_present = true;
        }
        if f & IN_TURN == 0 && sel.turn.matches(doc, i) {
            f |= IN_TURN;
            if f & HIDDEN == 0 {
                turns.push(i);
            }
        }
        flags[i] = f;
    }
    let latest = turns.last().copied();

    let mut obs = DomObservation::default();
    let mut last_turn_error: Option<usize> = None;
    for i in 1..n {
        if !matches!(doc.nodes[i].data, NodeData::Element { .. }) {
            continue;
        }
        let parent_flags = flags[doc.nodes[i].parent as usize];
        if flags[i] & HIDDEN == 0 && sel.recovering.matches(doc, i) {
            obs.recovering = true;
        }
        if flags[i] & (HIDDEN | EXCLUDED) != 0 {
            continue;
        }
        let in_latest = latest.is_some_and(|t| doc.contains(t, i));
        let in_earlier_turn = flags[i] & IN_TURN != 0 && !in_latest;
        let before_latest = latest.is_some_and(|t| i < t);
        if parent_flags & (IN_ERROR | IN_TOAST) == 0 {
            let found = if sel.error.matches(doc, i) {
                if in_latest {
                    Some((ErrorRegion::Turn, true))
                } else if in_earlier_turn || before_latest {
                    // An old error, followed by later turns: not the page's current state.
                    flags[i] |= IN_ERROR;
                    continue;
                } else {
                    Some((ErrorRegion::Page, true))
                }
            } else if in_earlier_turn {
                None
            } else if sel.dialog.matches(doc, i) {
                Some((ErrorRegion::Dialog, false))
            } else if sel.toast.matches(doc, i) {
                Some((ErrorRegion::Toast, false))
            } else if sel.banner.matches(doc, i) {
                Some((ErrorRegion::Banner, false))
            } else {
                None
            };
            if let Some((region, structural)) = found {
                flags[i] |= if structural { IN_ERROR } else { IN_TOAST };
                if region == ErrorRegion::Turn {
                    last_turn_error = Some(i);
                }
                push_error(&mut obs, doc, i, region, structural);
                continue;
            }
        } else {
            flags[i] |= parent_flags & (IN_ERROR | IN_TOAST);
        }
        if !in_earlier_turn && sel.retry_button.matches(doc, i) {
            obs.retry_button = true;
        }
        if sel.stop_button.matches(doc, i) {
            obs.streaming = true;
        }
        if sel.login_button.matches(doc, i) {
            obs.signed_out = true;
        }
    }
    // Signed out counts only where the page does not let one chat (logged-out chats work).
    obs.signed_out &= !composer_present;

    if let Some(t) = latest {
        obs.latest_turn = Some(latest_turn(doc, rules, &flags, t, last_turn_error));
    }
    if latest.is_none() && !composer_present {
        obs.page_error = page_error(doc, rules);
        if obs.page_error.is_none() {
            // A page that replaced the app ("ChatGPT is at capacity right now"): its headings and
            // paragraphs count, but only for texts a rule knows.
            for i in doc.select(&sel.page_message) {
                if flags[i] & (HIDDEN | EXCLUDED | IN_ERROR | IN_TOAST) == 0 {
                    push_error(&mut obs, doc, i, ErrorRegion::Page, false);
                }
            }
        }
    }
    obs
}

fn push_error(obs: &mut DomObservation, doc: &Document, i: usize, region: ErrorRegion, structural: bool) {
    if obs.errors.len() >= MAX_ERRORS {
        return;
    }
    let text = doc.text(i, MAX_TEXT_BYTES);
    if !text.trim().is_empty() {
        obs.errors.push(ErrorElement { region, structural, text });
    }
}

fn hidden_by_itself(doc: &Document, i: usize, tag: &str) -> bool {
    if matches!(tag, "head" | "template" | "noscript" | "script" | "style") {
        return true;
    }
    if doc.attr(i, "hidden").is_some() {
        return true;
    }
    if doc.attr(i, "aria-hidden").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return true;
    }
    doc.attr(i, "style").is_some_and(|s| {
        let compact: String =
            s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        compact.contains("display:none") || compact.contains("visibility:hidden")
    })
}

fn latest_turn(
    doc: &Document,
    rules: &Rules,
    flags: &[u8],
    t: usize,
    last_error: Option<usize>,
) -> LatestTurn {
    let sel = &rules.compiled;
    let end = doc.nodes[t].end as usize;
    let mut role_text = if rules.selectors.turn_role_attr.is_empty() {
        None
    } else {
        doc.attr(t, &rules.selectors.turn_role_attr)
    };
    let mut has_answer = false;
    let mut answer_after_error = false;
    let (mut holds_body, mut holds_user) = (false, false);
    for (i, &f) in flags.iter().enumerate().take(end + 1).skip(t) {
        if !matches!(doc.nodes[i].data, NodeData::Element { .. }) {
            continue;
        }
        if sel.role.matches(doc, i)
            && let Some(r) = doc.attr(i, &rules.selectors.role_attr)
        {
            role_text = Some(r);
        }
        let body = sel.message_body.matches(doc, i);
        holds_body |= body;
        holds_user |= sel.user_message.matches(doc, i);
        // The innermost bodies: an assistant message holding its body (and maybe an error box)
        // is not an answer by itself.
        let innermost = || (i + 1..=doc.nodes[i].end as usize).all(|k| !sel.message_body.matches(doc, k));
        if f & HIDDEN == 0 && body && innermost() {
            let text = doc.text(i, 64);
            if !text.trim().is_empty() {
                has_answer = true;
                if last_error.is_some_and(|e| i > doc.nodes[e].end as usize) {
                    answer_after_error = true;
                }
            }
        }
    }
    let role = match role_text.map(str::trim) {
        Some("user") => Some(Role::User),
        Some("assistant") => Some(Role::Assistant),
        Some("system") => Some(Role::System),
        Some("tool") => Some(Role::Tool),
        // No role attribute (the search-unit renderer): the messages the turn holds say it.
        _ if holds_body => Some(Role::Assistant),
        _ if holds_user => Some(Role::User),
        _ => None,
    };
    LatestTurn { role, has_answer, answer_after_error }
}

fn page_error(doc: &Document, rules: &Rules) -> Option<PageError> {
    let sel = &rules.compiled;
    let title = doc.select_first_tag("title").map(|i| collapse(&doc.text(i, 512))).unwrap_or_default();
    let title_norm = normalize(&title);
    if doc.select(&sel.challenge).next().is_some() || title_norm.starts_with(" just a moment ") {
        return Some(PageError {
            source: PageErrorSource::Challenge,
            status: None,
            text: title,
            code: None,
            clears_in: None,
        });
    }
    let cf_marker = doc.select(&sel.cloudflare).next();
    let title_status = cloudflare_title_status(&title);
    if cf_marker.is_some() || title_status.is_some() {
        let body_text = cf_marker.map(|i| collapse(&doc.text(i, MAX_TEXT_BYTES))).unwrap_or_default();
        let status = title_status.or_else(|| status_in_text(&body_text));
        let heading = doc.select_first_tag("h1").map(|i| collapse(&doc.text(i, 512))).unwrap_or_default();
        let text = match (title.is_empty(), heading.is_empty()) {
            (true, true) => body_text,
            (false, true) => title,
            (true, false) => heading,
            (false, false) => format!("{title}. {heading}"),
        };
        return Some(PageError {
            source: PageErrorSource::Cloudflare,
            status,
            text,
            code: None,
            clears_in: None,
        });
    }
    json_body(doc).or_else(|| http_page(doc, title))
}

/// A bare server error page: its title, or else its first `h1`, starts with a 4xx/5xx status
/// followed by words ("503 Service Temporarily Unavailable", "502 Bad Gateway").
fn http_page(doc: &Document, title: String) -> Option<PageError> {
    let heading = || doc.select_first_tag("h1").map(|i| collapse(&doc.text(i, 512)));
    let (status, text) = leading_status(&title)
        .map(|s| (s, title))
        .or_else(|| heading().and_then(|h| leading_status(&h).map(|s| (s, h))))?;
    Some(PageError { source: PageErrorSource::Http, status: Some(status), text, code: None, clears_in: None })
}

/// "503 Service Temporarily Unavailable" → 503: three digits (4xx or 5xx) at the start, then
/// separators (spaces, `:`, `.`, dashes), then a letter.
fn leading_status(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    if b.len() < 5 || !matches!(b[0], b'4' | b'5') || !b[1].is_ascii_digit() || !b[2].is_ascii_digit() {
        return None;
    }
    let rest = &text[3..];
    let words = rest.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, ':' | '.' | '-' | '\u{2013}' | '\u{2014}')
    });
    if words.len() == rest.len() || !words.chars().next().is_some_and(char::is_alphabetic) {
        return None;
    }
    text[..3].parse().ok()
}

impl Document {
    fn select_first_tag(&self, tag: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| self.tag(i) == Some(tag))
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "chatgpt.com | 502: Bad gateway" → 502.
fn cloudflare_title_status(title: &str) -> Option<u16> {
    let (_, after) = title.rsplit_once('|')?;
    let after = after.trim_start();
    let digits = after.get(..3)?;
    if after.as_bytes().get(3) != Some(&b':') {
        return None;
    }
    digits.parse().ok().filter(|s| (100..=599).contains(s))
}

/// "Error code 502" or "Error reference number: 502" in a Cloudflare page's text.
fn status_in_text(text: &str) -> Option<u16> {
    let lower = text.to_ascii_lowercase();
    for marker in ["error code", "error reference number"] {
        if let Some(at) = lower.find(marker) {
            let rest = lower[at + marker.len()..].trim_start_matches([' ', ':']);
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if digits.len() == 3 {
                return digits.parse().ok();
            }
        }
    }
    None
}

/// A page whose visible text is a bare JSON object with `detail` or `error`.
fn json_body(doc: &Document) -> Option<PageError> {
    let mut text = String::new();
    for (i, node) in doc.nodes.iter().enumerate() {
        if let NodeData::Text(t) = &node.data
            && !doc_hidden(doc, i)
        {
            text.push_str(t);
            if text.len() > MAX_JSON_BODY {
                return None;
            }
        }
    }
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(trimmed).ok()?;
    let obj = value.as_object()?;
    let field = obj.get("detail").or_else(|| obj.get("error"))?;
    let (message, code, clears_in) = match field {
        serde_json::Value::String(s) => (s.clone(), None, None),
        serde_json::Value::Object(o) => (
            o.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_owned(),
            o.get("code").and_then(|c| c.as_str()).map(str::to_owned),
            o.get("clears_in").and_then(|c| c.as_u64()),
        ),
        _ => return None,
    };
    let mut p = PageError { source: PageErrorSource::Json, status: None, text: message, code, clears_in };
    super::observation::truncate_to(&mut p.text, MAX_TEXT_BYTES);
    if let Some(c) = &mut p.code {
        super::observation::truncate_to(c, 128);
    }
    Some(p)
}

/// Whether a node sits in `<head>`, a script or a style (for the bare-JSON check, which runs
/// before visibility flags matter).
fn doc_hidden(doc: &Document, i: usize) -> bool {
    let mut at = i;
    for _ in 0..super::html::MAX_DEPTH + 2 {
        let p = doc.nodes[at].parent as usize;
        if p == at {
            return false;
        }
        if matches!(doc.tag(p), Some("head" | "script" | "style" | "title" | "template")) {
            return true;
        }
        at = p;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::Site;

    /// What a test expects of a page's observation.
    #[derive(Default)]
    struct Expect<'a> {
        /// (region, structural, text) of each error, in order.
        errors: &'a [(ErrorRegion, bool, &'a str)],
        /// The latest turn's role, has_answer, answer_after_error; None: no turn.
        turn: Option<(Option<Role>, bool, bool)>,
        retry_button: bool,
        streaming: bool,
        signed_out: bool,
        recovering: bool,
        /// The page error's source, status and text.
        page: Option<(PageErrorSource, Option<u16>, &'a str)>,
    }

    fn check(html: &str, expect: Expect) {
        let obs = extract_html(html, Rules::builtin(Site::Chatgpt));
        let errors: Vec<(ErrorRegion, bool, String)> =
            obs.errors.iter().map(|e| (e.region, e.structural, collapse(&e.text))).collect();
        let want: Vec<(ErrorRegion, bool, String)> =
            expect.errors.iter().map(|&(r, s, t)| (r, s, t.to_owned())).collect();
        assert_eq!(errors, want, "errors of {html}");
        let turn = obs.latest_turn.map(|t| (t.role, t.has_answer, t.answer_after_error));
        assert_eq!(turn, expect.turn, "latest turn of {html}");
        let flags = (obs.retry_button, obs.streaming, obs.signed_out, obs.recovering);
        let want_flags = (expect.retry_button, expect.streaming, expect.signed_out, expect.recovering);
        assert_eq!(flags, want_flags, "retry, streaming, signed out, recovering of {html}");
        let page = obs.page_error.as_ref().map(|p| (p.source, p.status, p.text.as_str()));
        assert_eq!(page, expect.page, "page error of {html}");
    }

    /// A search-unit root: the user bubble, then (when `answer` is given) the assistant message.
    fn unit(key: &str, question: &str, answer: Option<&str>, extra: &str) -> String {
        let mut s = format!(
            r#"<div data-turn-key="{key}"><div data-chatgpt-search-unit-key="{key}:0">
               <div data-user-message-bubble="true"><div class="whitespace-pre-wrap">{question}</div></div></div>"#
        );
        if let Some(a) = answer {
            s.push_str(&format!(
                r#"<div data-chatgpt-search-unit-key="a-{key}:1"><div data-chatgpt-selection-message-id="a-{key}">
                   <div data-markdown-text-style="assistant-message" class="prose">{a}</div></div>"#
            ));
            s.push_str(extra);
            s.push_str("</div>");
        } else {
            s.push_str(extra);
        }
        s.push_str("</div>");
        s
    }

    const COMPOSER: &str =
        r#"<form><div contenteditable="true" role="textbox" id="prompt-textarea"></div></form>"#;
    const RETRY: &str = r#"<button data-testid="regenerate-thread-error-button">Retry</button>"#;

    fn page(body: &str) -> String {
        format!("<html><head><title>ChatGPT</title></head><body><main>{body}</main>{COMPOSER}</body></html>")
    }

    #[test]
    fn search_unit_turns_have_a_role_and_only_the_latest_counts() {
        use ErrorRegion::*;
        let old_error =
            format!(r#"<div class="text-token-text-error" role="alert">Too many requests</div>{RETRY}"#);
        // An old error upstream (with its Retry), the latest turn answered.
        check(
            &page(&(unit("u1", "hi", Some("Hello"), &old_error) + &unit("u2", "more", Some("Sure."), ""))),
            Expect { turn: Some((Some(Role::Assistant), true, false)), ..Default::default() },
        );
        // An error box in the latest turn counts; the one upstream does not.
        let box_ = format!(
            r#"<div class="text-token-text-error" role="alert">Error in message stream</div>{RETRY}"#
        );
        check(
            &page(&(unit("u1", "hi", Some("Hello"), &old_error) + &unit("u2", "more", Some(""), &box_))),
            Expect {
                errors: &[(Turn, true, "Error in message stream")],
                turn: Some((Some(Role::Assistant), false, false)),
                retry_button: true,
                ..Default::default()
            },
        );
        // Only the user's message so far: the latest turn is the user's; their text never counts.
        check(
            &page(
                &(unit("u1", "hi", Some("Hello"), "")
                    + &unit("u2", "Network error? Too many requests?", None, "")),
            ),
            Expect { turn: Some((Some(Role::User), false, false)), ..Default::default() },
        );
        // The assistant message before its body renders is still the assistant's.
        check(
            &page(
                r#"<div data-turn-key="u1"><div data-user-message-bubble="true">q</div>
                     <div data-chatgpt-selection-message-id="a1"></div></div>"#,
            ),
            Expect { turn: Some((Some(Role::Assistant), false, false)), ..Default::default() },
        );
        // The outermost turn counts: a legacy section holding an article; the role attribute wins.
        check(
            &page(
                r#"<section data-testid="conversation-turn-1" data-turn="user"><article data-turn="user">
                   <div data-message-author-role="user"><div class="whitespace-pre-wrap">q</div></div></article></section>
                   <section data-testid="conversation-turn-2" data-turn="assistant"><article data-turn="assistant">
                   <div data-message-author-role="assistant"><div class="markdown">a</div></div>
                   <div class="text-token-text-error">Something went wrong.</div><div class="markdown">b</div>
                   </article></section>"#,
            ),
            Expect {
                errors: &[(Turn, true, "Something went wrong.")],
                turn: Some((Some(Role::Assistant), true, true)),
                ..Default::default()
            },
        );
        // A windowed legacy chat: the error in the earliest turn left in the page is history.
        check(
            &page(
                r#"<section data-testid="conversation-turn-41" data-turn="assistant"><div data-message-author-role="assistant">
                   <div class="markdown"></div></div><aside class="bg-token-surface-error/10">Hmm...something seems to have gone wrong.</aside></section>
                   <section data-testid="conversation-turn-42" data-turn="user"><div data-message-author-role="user">again</div></section>
                   <section data-testid="conversation-turn-43" data-turn="assistant"><div data-message-author-role="assistant">
                   <div class="markdown">Done.</div></div></section>"#,
            ),
            Expect { turn: Some((Some(Role::Assistant), true, false)), ..Default::default() },
        );
    }

    #[test]
    fn dialogs_alerts_and_new_error_surfaces() {
        use ErrorRegion::*;
        let turn = unit("u1", "hi", Some("Hello"), "");
        // A rate-limit dialog with an alert inside: counted once, as a dialog, not structural.
        check(
            &page(&format!(
                r#"{turn}<div role="dialog" data-state="open"><h2>Too many requests</h2>
                   <div role="alert">You're making requests too quickly.</div><button>Got it</button></div>"#
            )),
            Expect {
                errors: &[(Dialog, false, "Too many requests You're making requests too quickly.Got it")],
                turn: Some((Some(Role::Assistant), true, false)),
                ..Default::default()
            },
        );
        // A dialog inside an earlier turn is history; a hidden dialog never counts.
        check(
            &page(&format!(
                r#"<div data-turn-key="u0"><div role="alertdialog">Too many requests</div></div>{turn}
                   <div role="dialog" hidden>Too many requests</div>"#
            )),
            Expect { turn: Some((Some(Role::Assistant), true, false)), ..Default::default() },
        );
        // aside[role=alert] after the turns is a toast; surface-error asides and toast-error are
        // counted where they are.
        check(
            &page(&format!(
                r#"{turn}<aside role="alert">A network error occurred. <button>Retry</button></aside>
                   <aside class="rounded surface-error">Nope</aside>
                   <div data-testid="toast-error"><span>Something went wrong.</span></div>
                   <div class="bg-token-surface-error"><div role="alert">inner</div></div>"#
            )),
            Expect {
                errors: &[
                    (Toast, false, "A network error occurred. Retry"),
                    (Page, true, "Nope"),
                    (Toast, false, "Something went wrong."),
                    (Page, true, "inner"),
                ],
                turn: Some((Some(Role::Assistant), true, false)),
                ..Default::default()
            },
        );
        // The page's own recovery status, and a stop control known only by its label.
        check(
            &page(&unit(
                "u1",
                "hi",
                Some("Partial"),
                r#"<div role="status"><span class="text-chatgpt-recovery">Connection interrupted. Waiting for the complete answer</span></div>
                   <button aria-label="Stop streaming"></button>"#,
            )),
            Expect {
                turn: Some((Some(Role::Assistant), true, false)),
                streaming: true,
                recovering: true,
                ..Default::default()
            },
        );
        check(
            &page(&unit(
                "u1",
                "hi",
                Some("x"),
                r#"<div role="status" hidden><span class="text-chatgpt-recovery">Connection interrupted.</span></div>"#,
            )),
            Expect { turn: Some((Some(Role::Assistant), true, false)), ..Default::default() },
        );
        // Signed out, chatting: the login button beside a composer is no block.
        check(
            &page(&format!(r#"<button data-testid="login-button">Log in</button>{turn}"#)),
            Expect { turn: Some((Some(Role::Assistant), true, false)), ..Default::default() },
        );
        // Signed out where the page lets no one chat: a block.
        check(
            r#"<html><body><main><h1>Welcome back</h1><button data-testid="login-button">Log in</button></main></body></html>"#,
            Expect {
                signed_out: true,
                errors: &[(ErrorRegion::Page, false, "Welcome back")],
                ..Default::default()
            },
        );
    }

    #[test]
    fn failed_documents_by_their_markup() {
        let nginx = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>\
                     <center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>";
        check(
            nginx,
            Expect {
                page: Some((PageErrorSource::Http, Some(503), "503 Service Temporarily Unavailable")),
                ..Default::default()
            },
        );
        // The heading when the title says nothing.
        check(
            "<html><head><title>Error</title></head><body><h1>502 – Bad Gateway</h1></body></html>",
            Expect {
                page: Some((PageErrorSource::Http, Some(502), "502 – Bad Gateway")),
                ..Default::default()
            },
        );
        // Not a status: too short, a 2xx/3xx, a number glued to more digits or to no words.
        for title in ["404", "200 OK", "5030 Unavailable", "503 !!", "503Unavailable", "Top 500 songs"] {
            let html = format!("<html><head><title>{title}</title></head><body><p>{title}</p></body></html>");
            let obs = extract_html(&html, Rules::builtin(Site::Chatgpt));
            assert!(obs.page_error.is_none(), "{title}: {:?}", obs.page_error);
        }
        // A bare JSON body stays JSON; a page with a composer or a turn is never a failed document.
        check(
            r#"<html><body><pre>{"detail":"Service Unavailable"}</pre></body></html>"#,
            Expect { page: Some((PageErrorSource::Json, None, "Service Unavailable")), ..Default::default() },
        );
        check(
            &format!(
                "<html><head><title>503 Service Unavailable</title></head><body>{COMPOSER}</body></html>"
            ),
            Expect::default(),
        );
    }
}
