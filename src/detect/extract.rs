//! Extracting a [`DomObservation`] from saved HTML, with the same rules as
//! `extension/content/observe.js` applies to the live page.
//!
//! - Only visible elements count: an element is hidden when it or an ancestor has `hidden`,
//!   `aria-hidden="true"`, an inline `display:none` or `visibility:hidden`, or is in `<head>`,
//!   `<template>` or `<noscript>`.
//! - Nothing inside the adapter's `excluded` elements (message bodies, code, composer, history,
//!   the user's own text) counts.
//! - Error boxes count in the latest turn, or outside every turn after it; toasts and banners
//!   anywhere; errors in earlier turns never.
//! - A whole-page error document is recognised only on a page without turns and without a composer.

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
        if f & EXCLUDED == 0 && sel.excluded.matches(doc, i) {
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
    for (i, &f) in flags.iter().enumerate().take(end + 1).skip(t) {
        if !matches!(doc.nodes[i].data, NodeData::Element { .. }) {
            continue;
        }
        if sel.role.matches(doc, i)
            && let Some(r) = doc.attr(i, &rules.selectors.role_attr)
        {
            role_text = Some(r);
        }
        if f & HIDDEN == 0 && sel.message_body.matches(doc, i) {
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
    json_body(doc)
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
