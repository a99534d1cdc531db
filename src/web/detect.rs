//! Exports for outage detection, called by the service worker (`extension/sw/detect.js`).
//!
//! The per-tab [`Detector`] state crosses the boundary as a JSON string so the worker can keep it in
//! `chrome.storage.session` (the worker is stopped after 30 s idle). Every value coming from JS is
//! validated here or by the core before use: observations through [`Observation::from_json`] (strict,
//! bounded), detector state through serde, timings by range.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::interop;
use crate::detect::rules::Timing;
use crate::detect::{Detection, DetectionEvent, Detector, Observation, Rules};
use crate::site::{Site, site_for_url};
use crate::status;

/// The shortest stall threshold accepted from settings, in milliseconds.
const MIN_TIMING_MS: u64 = 500;
/// The longest stall threshold accepted from settings, in milliseconds.
const MAX_TIMING_MS: u64 = 3_600_000;
/// The largest detector state accepted, in bytes (a real one is well under 1 KB).
const MAX_STATE_BYTES: usize = 16 * 1024;
/// The largest status document accepted, in bytes.
const MAX_STATUS_BYTES: usize = 4 * 1024 * 1024;

fn site_by_id(id: &str) -> Result<Site, JsError> {
    Site::from_id(id)
        .ok_or_else(|| JsError::new(&format!("unknown site '{}'", id.chars().take(40).collect::<String>())))
}

/// Reads an optional timing override (`{stall_ms, no_start_ms, resume_grace_ms}`); `null`/`undefined`
/// means none.
fn timing(value: JsValue) -> Result<Option<Timing>, JsError> {
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    let t: Timing = interop::from_js(value)?;
    for (name, ms, min) in [
        ("stall_ms", t.stall_ms, MIN_TIMING_MS),
        ("no_start_ms", t.no_start_ms, MIN_TIMING_MS),
        ("resume_grace_ms", t.resume_grace_ms, 0),
    ] {
        if !(min..=MAX_TIMING_MS).contains(&ms) {
            return Err(JsError::new(&format!("timing {name} = {ms} ms is outside {min}..={MAX_TIMING_MS}")));
        }
    }
    Ok(Some(t))
}

thread_local! {
    /// The built-in rules with the last timing override applied (cloned once per distinct timing).
    static TIMED: RefCell<Option<(Timing, Rules)>> = const { RefCell::new(None) };
}

/// Runs `f` with the site's rules, with `t` applied when given.
fn with_rules<R>(site: Site, t: Option<Timing>, f: impl FnOnce(&Rules) -> R) -> R {
    let builtin = Rules::builtin(site);
    match t {
        Some(t) if t != builtin.timing => TIMED.with(|cell| {
            let mut slot = cell.borrow_mut();
            let fresh = !matches!(&*slot, Some((have, r)) if *have == t && r.site == builtin.site);
            if fresh {
                let mut rules = builtin.clone();
                rules.timing = t;
                *slot = Some((t, rules));
            }
            match &*slot {
                Some((_, rules)) => f(rules),
                None => f(builtin),
            }
        }),
        _ => f(builtin),
    }
}

/// The site id (`"chatgpt"`) Understudy watches at `url`, or `undefined`.
#[wasm_bindgen(js_name = detectSite)]
pub fn detect_site(url: &str) -> Option<String> {
    site_for_url(url).map(|s| s.id().to_owned())
}

/// The adapter for a site (selectors, endpoint patterns, timing, limits) as a plain object, for
/// `observe.js` and `content/detect.js`. `timing` (`{stall_ms, no_start_ms}` or `null`) overrides
/// the data file's stall thresholds.
#[wasm_bindgen(js_name = detectAdapter)]
pub fn detect_adapter(site: &str, timing_override: JsValue) -> Result<JsValue, JsError> {
    let site = site_by_id(site)?;
    let t = timing(timing_override)?;
    let json = with_rules(site, t, |r| r.adapter_json());
    js_sys::JSON::parse(&json).map_err(|_| JsError::new("cannot build the adapter"))
}

/// What [`detect_observe`] answers.
#[derive(Serialize)]
struct ObserveAnswer {
    /// The detector state to keep for the tab (JSON).
    state: String,
    /// The event, when the page state changed.
    event: Option<DetectionEvent>,
    /// The failure in force after this observation, if any.
    current: Option<Detection>,
    /// Since when it has been in force (Unix milliseconds).
    since_ms: Option<u64>,
}

#[derive(Deserialize)]
struct StateCheck {
    site: String,
}

/// Judges one observation (JSON text, as the content script sent it) for one tab.
///
/// `state` is the tab's detector state from a previous call, or `null` for a fresh tab of `site`.
/// Returns `{state, event, current, since_ms}`: `event` is `{event: "raised", detection, at_ms}`,
/// `{event: "recovered", kind, at_ms}` or `null`. A malformed observation or state is a thrown
/// `Error` saying why, and changes nothing.
#[wasm_bindgen(js_name = detectObserve)]
pub fn detect_observe(
    state: Option<String>,
    site: &str,
    observation: &str,
    now_ms: f64,
    timing_override: JsValue,
) -> Result<JsValue, JsError> {
    if !now_ms.is_finite() || now_ms < 0.0 {
        return Err(JsError::new("nowMs must be a finite, non-negative number"));
    }
    let now = now_ms as u64;
    let site = site_by_id(site)?;
    let t = timing(timing_override)?;
    let mut detector = match state.as_deref() {
        None | Some("") => Detector::new(site),
        Some(s) if s.len() > MAX_STATE_BYTES => return Err(JsError::new("detector state too large")),
        Some(s) => {
            let check: StateCheck = serde_json::from_str(s)
                .map_err(|e| JsError::new(&format!("malformed detector state: {e}")))?;
            if check.site != site.id() {
                return Err(JsError::new("detector state belongs to another site"));
            }
            serde_json::from_str(s).map_err(|e| JsError::new(&format!("malformed detector state: {e}")))?
        }
    };
    let obs = Observation::from_json(observation).map_err(|e| JsError::new(&e.to_string()))?;
    let event = with_rules(site, t, |rules| detector.observe_with(&obs, rules, now));
    let answer = ObserveAnswer {
        state: serde_json::to_string(&detector).map_err(|e| JsError::new(&e.to_string()))?,
        event,
        current: detector.current().cloned(),
        since_ms: detector.since_ms(),
    };
    interop::to_js(&answer)
}

/// Reads a status page document, incident.io's feed (`/proxy/status.openai.com`) or the Statuspage
/// summary (`/api/v2/summary.json`), into `{source, level, affected_components: [[name, status]],
/// incidents: [title], ongoing, maintenances, other_services}` (see [`status::StatusReport`]).
#[wasm_bindgen(js_name = detectParseStatus)]
pub fn detect_parse_status(json: &str) -> Result<JsValue, JsError> {
    if json.len() > MAX_STATUS_BYTES {
        return Err(JsError::new("status document too large"));
    }
    let report = status::parse_status(json).map_err(|e| JsError::new(&e.to_string()))?;
    interop::to_js(&report)
}

/// Reads the status feed of `site` (`"claude"`, `"gemini"`, ...) in the format its adapter names
/// (Atom, RSS, Google's incidents JSON filtered to the site), into the same object as
/// [`detect_parse_status`]. An error for a site without a feed (Copilot).
#[wasm_bindgen(js_name = detectParseSiteStatus)]
pub fn detect_parse_site_status(site: &str, text: &str) -> Result<JsValue, JsError> {
    if text.len() > MAX_STATUS_BYTES {
        return Err(JsError::new("status document too large"));
    }
    let site = site_by_id(site)?;
    let feed = Rules::builtin(site)
        .status
        .as_ref()
        .ok_or_else(|| JsError::new(&format!("{} has no public status feed", site.label())))?;
    let report =
        crate::status_feeds::parse_site_status(feed, text).map_err(|e| JsError::new(&e.to_string()))?;
    interop::to_js(&report)
}

/// How long to wait before the next status poll after `consecutiveErrors` failed polls in a row.
#[wasm_bindgen(js_name = detectNextPollDelayMs)]
pub fn detect_next_poll_delay_ms(consecutive_errors: u32) -> f64 {
    status::next_poll_delay_ms(consecutive_errors) as f64
}
