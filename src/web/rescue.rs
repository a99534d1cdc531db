//! Exports for the rescue, called by the service worker (`extension/sw/rescue.js`).
//!
//! Everything that comes from a page (transcript, prompt) is untrusted: it is read into core types
//! here (unknown roles and wrong shapes are refused with a clear error) and bounded by the core.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::interop;
use crate::autoguard::{AutoGuard, Episode, Refusal};
use crate::conversation::branch::{self, BranchAnswer};
use crate::conversation::{Conversation, store};
use crate::detect::Kind;
use crate::provider::chat::ChatMessage;
use crate::rescue::{self, CarryOver, HandoffSite};

/// The rescue plan for one failure, as the worker uses it.
#[derive(Serialize)]
struct Plan {
    conversation: Vec<ChatMessage>,
    prompt: String,
    dropped: usize,
    words: String,
    rescuable: bool,
}

/// Builds the carried-over conversation from the page transcript (`[{role, content}]`, oldest
/// first) and the failed prompt (string or null), with the failure's plain words for `kind`.
#[wasm_bindgen(js_name = rescuePlan)]
pub fn rescue_plan(
    transcript: JsValue,
    failed_prompt: Option<String>,
    kind: JsValue,
) -> Result<JsValue, JsError> {
    let transcript: Vec<ChatMessage> = if transcript.is_null() || transcript.is_undefined() {
        Vec::new()
    } else {
        interop::from_js(transcript)?
    };
    let kind: Kind = interop::from_js(kind)?;
    let carry = rescue::carry_over(&transcript, failed_prompt.as_deref())
        .map_err(|e| JsError::new(&e.to_string()))?;
    interop::to_js(&Plan {
        conversation: carry.conversation,
        prompt: carry.prompt,
        dropped: carry.dropped,
        words: rescue::describe(kind, None),
        rescuable: rescue::rescuable(kind),
    })
}

/// One chat site offered for a web handoff.
#[derive(Serialize)]
struct SiteInfo {
    id: &'static str,
    label: &'static str,
}

/// The chat sites offered for a web handoff, in order.
#[wasm_bindgen(js_name = rescueHandoffSites)]
pub fn rescue_handoff_sites() -> Result<JsValue, JsError> {
    let sites: Vec<SiteInfo> =
        HandoffSite::ALL.iter().map(|s| SiteInfo { id: s.id(), label: s.label() }).collect();
    interop::to_js(&sites)
}

#[derive(Deserialize)]
struct CarryIn {
    conversation: Vec<ChatMessage>,
    prompt: String,
}

/// The handoff of a plan (`{conversation, prompt}`) to the site with id `site`: `{site, label, url,
/// clipboard}` (clipboard is null when the prompt travels in the URL).
#[wasm_bindgen(js_name = rescueHandoff)]
pub fn rescue_handoff(site: &str, plan: JsValue) -> Result<JsValue, JsError> {
    let site = HandoffSite::from_id(site).map_err(|e| JsError::new(&e.to_string()))?;
    let plan: CarryIn = interop::from_js(plan)?;
    let carry = CarryOver { conversation: plan.conversation, prompt: plan.prompt, dropped: 0 };
    interop::to_js(&rescue::handoff(site, &carry))
}

// ---- auto mode's bound ---------------------------------------------------------------------

/// The largest auto mode state accepted, in bytes (a full one is under 6 KB).
const MAX_GUARD_BYTES: usize = 32 * 1024;

/// The detection in force as the worker keeps it (`current` of `detect.tab.<id>`): only its kind
/// and when it was raised are read.
#[derive(Deserialize)]
struct InForce {
    kind: Kind,
    since_ms: Option<f64>,
}

/// What `autoGuardCheck` and `autoGuardStart` answer.
#[derive(Serialize)]
struct GuardAnswer {
    allowed: bool,
    /// The episode rescued (allowed only).
    episode: Option<Episode>,
    /// Why not, `{reason, ...}` (refused only), and in plain words.
    refusal: Option<Refusal>,
    words: Option<String>,
    /// The state to keep (`autoGuardStart` when allowed).
    state: Option<String>,
}

fn guard_state(state: Option<String>) -> Result<AutoGuard, JsError> {
    match state {
        None => Ok(AutoGuard::new()),
        Some(s) if s.len() > MAX_GUARD_BYTES => Err(JsError::new("auto mode state too large")),
        Some(s) => {
            serde_json::from_str(&s).map_err(|e| JsError::new(&format!("auto mode state unreadable: {e}")))
        }
    }
}

fn in_force(value: JsValue) -> Result<Option<Episode>, JsError> {
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    let f: InForce = interop::from_js(value)?;
    Ok(f.since_ms
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Episode { kind: f.kind, since_ms: ms as u64 }))
}

fn guard_answer(verdict: Result<Episode, Refusal>, state: Option<String>) -> Result<JsValue, JsError> {
    interop::to_js(&match verdict {
        Ok(episode) => {
            GuardAnswer { allowed: true, episode: Some(episode), refusal: None, words: None, state }
        }
        Err(r) => GuardAnswer {
            allowed: false,
            episode: None,
            refusal: Some(r),
            words: Some(r.words()),
            state: None,
        },
    })
}

/// Whether auto mode may carry on now the failure of kind `kind` (the content script's word) in tab
/// `tab`, while the worker holds `in_force` (`{kind, since_ms}` of the tab's detection in force, or
/// null) and auto mode's state is `state` (JSON, or undefined when none is kept). Records nothing:
/// `{allowed, episode, refusal, words}`.
#[wasm_bindgen(js_name = autoGuardCheck)]
pub fn auto_guard_check(
    state: Option<String>,
    tab: u32,
    kind: &str,
    in_force_now: JsValue,
    now_ms: f64,
) -> Result<JsValue, JsError> {
    let guard = guard_state(state)?;
    guard_answer(guard.check(tab, kind, in_force(in_force_now)?, now_ms as u64), None)
}

/// Like `autoGuardCheck`, and when allowed records the automatic rescue: the answer's `state` is the
/// JSON to keep.
#[wasm_bindgen(js_name = autoGuardStart)]
pub fn auto_guard_start(
    state: Option<String>,
    tab: u32,
    kind: &str,
    in_force_now: JsValue,
    now_ms: f64,
) -> Result<JsValue, JsError> {
    let mut guard = guard_state(state)?;
    let verdict = guard.start(tab, kind, in_force(in_force_now)?, now_ms as u64);
    let kept = match verdict {
        Ok(_) => Some(serde_json::to_string(&guard).map_err(js_err)?),
        Err(_) => None,
    };
    guard_answer(verdict, kept)
}

// ---- rescued answers kept in the cache ------------------------------------------------------

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn read_conversation(json: &str) -> Result<Conversation, JsError> {
    Ok(store::read_record(json.as_bytes()).map_err(js_err)?.conversation)
}

/// What `rescueSaveBranch` answers: the record to store and where the answer landed.
#[derive(Serialize)]
struct BranchStored<'a> {
    id: &'a str,
    json: String,
    meta: store::ConversationMeta,
    changed: bool,
    prompt_node: String,
    answer_node: String,
}

/// Saves a rescued answer (`{conversation_id, key, parent?, prompt_id?, prompt, answer, provider:
/// {id, kind, model?, label?}, outcome: 'complete'|'length'|'cancelled'|'error', started_s,
/// ended_s}`) in the stored record JSON (or `undefined`) as a branch of the conversation; returns
/// `{id, json, meta, changed, prompt_node, answer_node}` like the cache's own writes.
#[wasm_bindgen(js_name = rescueSaveBranch)]
pub fn rescue_save_branch(stored_json: Option<String>, answer: JsValue) -> Result<JsValue, JsError> {
    let answer: BranchAnswer = interop::from_js(answer)?;
    let existing = match stored_json {
        Some(j) => Some(read_conversation(&j)?),
        None => None,
    };
    let (conv, saved) = branch::save(existing, &answer).map_err(js_err)?;
    let json = String::from_utf8(store::record_bytes(&conv)).map_err(js_err)?;
    interop::to_js(&BranchStored {
        id: &conv.id,
        json,
        meta: store::ConversationMeta::of(&conv),
        changed: saved.changed,
        prompt_node: saved.prompt_node,
        answer_node: saved.answer_node,
    })
}
