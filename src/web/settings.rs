//! Exports for the settings document, the managed policy and the options page.
//!
//! Documents cross as JSON text (`JSON.stringify` on the JS side), so numbers keep their exact
//! JSON meaning. Operations that can fail on the user's input answer `{ok: true, ...}` or
//! `{ok: false, error: {field, message}}`, so a page can show the message next to its field.
//! An import's answer also names the stored keys it left behind (`keys_not_kept`).

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::interop::to_js;
use crate::preferences::{self, Applied, FieldError, Policy, PublicView, SaveRequest, SettingsDocument};
use crate::settings::KeyNotKept;

fn parse(what: &str, json: &str) -> Result<Value, JsError> {
    if json.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("{what}: {e}")))
}

/// The stored document, or the defaults when there is none.
fn document(json: &str) -> Result<SettingsDocument, FieldError> {
    match parse("stored settings", json) {
        Ok(Value::Null) => Ok(SettingsDocument::default()),
        Ok(v) => SettingsDocument::from_value(v),
        Err(_) => {
            Err(FieldError { field: String::new(), message: "the stored settings are not JSON".into() })
        }
    }
}

/// The stored document for a save, import or export: the defaults when it is unusable, so the
/// user can always write a good one over it.
fn current(json: &str) -> SettingsDocument {
    document(json).unwrap_or_default()
}

fn policy(json: &str) -> Result<Policy, FieldError> {
    match serde_json::from_str::<Value>(json) {
        Ok(v) => Policy::from_value(&v),
        Err(_) => Ok(Policy::none()),
    }
}

fn ids(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(tag = "ok")]
enum Outcome {
    #[serde(rename = "true")]
    Done {
        /// The effective document, keys included: for the worker's storage only.
        document: Value,
        /// Ids of the organisation's providers (store them to drop those the policy removes).
        managed_ids: Vec<String>,
        /// What a page may see.
        public: PublicView,
        /// An import's stored keys left behind (the provider's address or kind changed), each
        /// `{id, label, message}`; empty otherwise.
        keys_not_kept: Vec<KeyNotKept>,
    },
    #[serde(rename = "false")]
    Refused { error: FieldError },
}

fn outcome(result: Result<Applied, FieldError>) -> Result<JsValue, JsError> {
    outcome_with(result.map(|applied| (applied, Vec::new())))
}

fn outcome_with(result: Result<(Applied, Vec<KeyNotKept>), FieldError>) -> Result<JsValue, JsError> {
    let out = match result {
        Ok((applied, keys_not_kept)) => Outcome::Done {
            document: applied.document.to_value(true),
            managed_ids: applied.locks.providers.clone(),
            public: preferences::public_view(&applied),
            keys_not_kept,
        },
        Err(error) => Outcome::Refused { error },
    };
    let mut value = serde_json::to_value(&out).map_err(|e| JsError::new(&e.to_string()))?;
    // `ok` as a real boolean.
    if let Some(ok) = value.get_mut("ok") {
        *ok = Value::Bool(ok.as_str() == Some("true"));
    }
    to_js(&value)
}

/// Lays the managed `policy` (JSON, `{}` for none) over the stored document (JSON, empty for
/// the defaults); `previous_ids` (JSON list) are the organisation's providers last time.
/// Answers `{ok, document, managed_ids, public}` or `{ok: false, error: {field, message}}`.
#[wasm_bindgen(js_name = settingsApply)]
pub fn settings_apply(stored: &str, policy_json: &str, previous_ids: &str) -> Result<JsValue, JsError> {
    outcome(
        document(stored)
            .and_then(|doc| preferences::apply_policy(&doc, &policy(policy_json)?, &ids(previous_ids))),
    )
}

/// Saves a page's request `{settings, clear_keys}` over the stored document under the policy.
#[wasm_bindgen(js_name = settingsSave)]
pub fn settings_save(
    request: &str,
    stored: &str,
    policy_json: &str,
    previous_ids: &str,
) -> Result<JsValue, JsError> {
    let request: SaveRequest =
        serde_json::from_str(request).map_err(|e| JsError::new(&format!("save request: {e}")))?;
    outcome(
        document(stored)
            .and_then(|doc| preferences::save(request, &doc, &policy(policy_json)?, &ids(previous_ids))),
    )
}

/// Imports a settings file's text over the stored document under the policy. A stored key stays
/// only with a provider whose endpoint the file leaves unchanged; `keys_not_kept` names the others.
#[wasm_bindgen(js_name = settingsImport)]
pub fn settings_import(
    text: &str,
    stored: &str,
    policy_json: &str,
    previous_ids: &str,
) -> Result<JsValue, JsError> {
    outcome_with(
        document(stored)
            .and_then(|doc| preferences::import(text, &doc, &policy(policy_json)?, &ids(previous_ids)))
            .map(|imported| (imported.applied, imported.keys_not_kept)),
    )
}

/// The defaults under the policy (a reset).
#[wasm_bindgen(js_name = settingsReset)]
pub fn settings_reset(policy_json: &str) -> Result<JsValue, JsError> {
    outcome(
        policy(policy_json).and_then(|p| preferences::apply_policy(&SettingsDocument::default(), &p, &[])),
    )
}

/// The export text of the stored document under the policy: without keys unless
/// `include_keys`, never with the organisation's keys.
#[wasm_bindgen(js_name = settingsExport)]
pub fn settings_export(
    stored: &str,
    policy_json: &str,
    previous_ids: &str,
    include_keys: bool,
) -> Result<String, JsError> {
    let doc = current(stored);
    let applied = policy(policy_json)
        .and_then(|p| preferences::apply_policy(&doc, &p, &ids(previous_ids)))
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(preferences::export(&applied, include_keys))
}

/// Checks a draft document (JSON) as the options page edits it: null when fine, else
/// `{field, message}`.
#[wasm_bindgen(js_name = settingsCheck)]
pub fn settings_check(draft: &str) -> Result<JsValue, JsError> {
    let result = serde_json::from_str::<Value>(draft)
        .map_err(|e| FieldError { field: String::new(), message: format!("not JSON: {e}") })
        .and_then(SettingsDocument::from_value);
    match result {
        Ok(_) => Ok(JsValue::NULL),
        Err(e) => to_js(&e),
    }
}

/// The default document, without keys (there are none).
#[wasm_bindgen(js_name = settingsDefaults)]
pub fn settings_defaults() -> Result<JsValue, JsError> {
    to_js(&SettingsDocument::default().to_value(false))
}

/// Whether auto mode carries on after a failure of `kind` in the stored document.
#[wasm_bindgen(js_name = autoModeRedirects)]
pub fn auto_mode_redirects(stored: &str, kind: &str) -> bool {
    document(stored).is_ok_and(|d| d.preferences.auto_mode.redirects(kind))
}
