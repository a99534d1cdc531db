//! Exports for the rescue, called by the service worker (`extension/sw/rescue.js`).
//!
//! Everything that comes from a page (transcript, prompt) is untrusted: it is read into core types
//! here (unknown roles and wrong shapes are refused with a clear error) and bounded by the core.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::interop;
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
