//! Exports for the conversation cache.
//!
//! IndexedDB itself is driven from JS (`www/library-db.js`): the edge here only turns stored
//! records into conversations and back, so every decision (merging captures, migrations,
//! search, rendering, import) is the core's. A stored record is the [`ConversationRecord`] as
//! JSON, handed over as UTF-8 bytes (`Uint8Array`: one flat buffer crosses the boundary and is
//! cloned into IndexedDB, no string decoding, no object tree); records written by earlier builds
//! are JSON strings, and every function that reads a record takes both. Metas are plain objects.
//! These are the writes both Wasm builds carry (captures, merges, migrations); the view, exports,
//! search index and import are the pages' ([`super::library`]).

use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::interop::{from_js, to_js};
use crate::conversation::Conversation;
use crate::conversation::capture::{self, Capture};
use crate::conversation::store::{self, ConversationMeta, ConversationRecord, SCHEMA_VERSION};

pub(super) fn err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The schema version of the stored records (the IndexedDB database version).
#[wasm_bindgen(js_name = cacheSchemaVersion)]
pub fn cache_schema_version() -> u32 {
    SCHEMA_VERSION
}

/// The bytes of a stored record: UTF-8 bytes (`Uint8Array`, what this version stores) or the
/// JSON string earlier versions stored.
fn record_input(v: &JsValue) -> Result<Vec<u8>, JsError> {
    if let Some(b) = v.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(b.to_vec());
    }
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    Err(JsError::new("a stored record is a string or a Uint8Array"))
}

pub(super) fn read_record(v: &JsValue) -> Result<ConversationRecord, JsError> {
    store::read_record(&record_input(v)?).map_err(err)
}

fn set(o: &js_sys::Object, k: &str, v: &JsValue) -> Result<(), JsError> {
    js_sys::Reflect::set(o, &JsValue::from_str(k), v)
        .map(drop)
        .map_err(|_| JsError::new("cannot build a result"))
}

/// `{id, data, meta, changed}`: the record as UTF-8 bytes (a `Uint8Array` copied out of the
/// Wasm memory: no string decoding, no deep object for IndexedDB to clone).
pub(super) fn stored_bytes(conv: &Conversation, data: &[u8], changed: bool) -> Result<JsValue, JsError> {
    let o = js_sys::Object::new();
    set(&o, "id", &JsValue::from_str(&conv.id))?;
    set(&o, "data", &js_sys::Uint8Array::from(data).into())?;
    set(&o, "meta", &to_js(&ConversationMeta::of(conv))?)?;
    set(&o, "changed", &JsValue::from_bool(changed))?;
    Ok(o.into())
}

/// One record ready to store: its key, the record JSON and its meta.
#[derive(Serialize)]
struct Stored<'a> {
    id: &'a str,
    json: String,
    meta: ConversationMeta,
    changed: bool,
}

/// `{id, json, meta, changed}` (the record as a JSON string).
fn stored(conv: &Conversation, changed: bool) -> Result<JsValue, JsError> {
    let json = String::from_utf8(store::record_bytes(conv)).map_err(err)?;
    to_js(&Stored { id: &conv.id, json, meta: ConversationMeta::of(conv), changed })
}

/// The key a capture is stored under (throws on a malformed capture).
#[wasm_bindgen(js_name = cacheCaptureKey)]
pub fn cache_capture_key(capture: JsValue) -> Result<String, JsError> {
    let c: Capture = from_js(capture)?;
    c.key().map_err(err)
}

/// The cache key of the conversation a chat page's URL shows (ChatGPT's id, or another site's
/// `<site>:<id>`), or `undefined` when it shows none.
#[wasm_bindgen(js_name = captureShownKey)]
pub fn capture_shown_key(url: &str) -> Option<String> {
    capture::shown_key(url)
}

/// The key a capture from a tab is stored under, once [`capture::check_origin`] let it through:
/// `tab_url` is the tab's URL (its `/c/<id>` is the conversation shown), `streamed` the
/// conversation the tab's streams last decoded. Throws a malformed capture, and one that may not
/// change that conversation (`…not the conversation this tab shows…` may be asked again after
/// the tab's URL changed).
#[wasm_bindgen(js_name = cacheCaptureOrigin)]
pub fn cache_capture_origin(
    capture: JsValue,
    tab_url: Option<String>,
    streamed: Option<String>,
) -> Result<String, JsError> {
    let c: Capture = from_js(capture)?;
    let key = c.key().map_err(err)?;
    let shown = tab_url.as_deref().and_then(capture::shown_key);
    capture::check_origin(&c, &key, shown.as_deref(), streamed.as_deref()).map_err(err)?;
    Ok(key)
}

fn apply(stored: &JsValue, capture: JsValue, now_s: f64) -> Result<(Conversation, bool), JsError> {
    let c: Capture = from_js(capture)?;
    let existing = if stored.is_undefined() || stored.is_null() {
        None
    } else {
        Some(read_record(stored)?.conversation)
    };
    capture::apply(existing, &c, now_s).map_err(err)
}

/// Applies a capture to the stored record JSON (or `undefined`); returns `{id, json, meta, changed}`.
#[wasm_bindgen(js_name = cacheApply)]
pub fn cache_apply(stored_json: Option<String>, capture: JsValue, now_s: f64) -> Result<JsValue, JsError> {
    let record = stored_json.map_or(JsValue::UNDEFINED, |s| JsValue::from_str(&s));
    let (conv, changed) = apply(&record, capture, now_s)?;
    stored(&conv, changed)
}

/// Applies a capture to a stored record (`Uint8Array`, JSON string, or `undefined`); returns
/// `{id, data, meta, changed}` with the record as UTF-8 bytes (what the cache stores). When
/// nothing changed, `data` is empty: there is nothing to write.
#[wasm_bindgen(js_name = cacheApplyRecord)]
pub fn cache_apply_record(stored: JsValue, capture: JsValue, now_s: f64) -> Result<JsValue, JsError> {
    let (conv, changed) = apply(&stored, capture, now_s)?;
    let data = if changed { store::record_bytes(&conv) } else { Vec::new() };
    stored_bytes(&conv, &data, changed)
}

/// Merges an imported record (`incoming`) into the stored one; returns `{id, data, meta,
/// changed}` (`data` empty when nothing changed). For an import that found the conversation
/// stored by a capture in the meantime.
#[wasm_bindgen(js_name = cacheMergeRecords)]
pub fn cache_merge_records(stored: JsValue, incoming: JsValue) -> Result<JsValue, JsError> {
    let mut conv = read_record(&stored)?.conversation;
    let other = read_record(&incoming)?.conversation;
    if conv.id != other.id {
        return Err(JsError::new("the records belong to different conversations"));
    }
    let changed = conv.merge(&other);
    let data = if changed { store::record_bytes(&conv) } else { Vec::new() };
    stored_bytes(&conv, &data, changed)
}

/// Migrates a stored record of any earlier version; returns `{id, json, meta, changed}`.
#[wasm_bindgen(js_name = cacheMigrateRecord)]
pub fn cache_migrate_record(json: JsValue) -> Result<JsValue, JsError> {
    let rec = read_record(&json)?;
    stored(&rec.conversation, true)
}

/// Migrates a stored meta object of any earlier version to the current one.
#[wasm_bindgen(js_name = cacheMigrateMeta)]
pub fn cache_migrate_meta(meta: JsValue) -> Result<JsValue, JsError> {
    let v: serde_json::Value = from_js(meta)?;
    to_js(&store::migrate_meta(v).map_err(err)?)
}
