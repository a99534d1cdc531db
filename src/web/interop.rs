//! All conversion between JS values and core types, in one place.
//!
//! Values cross as JSON text: `JSON.stringify`/`JSON.parse` run natively in the engine, and the
//! Rust side has one serde format (serde_json) for every type, the same one the core already uses
//! for storage, rules and wire formats. A second format (a JS-value serializer) would compile
//! every `Serialize`/`Deserialize` implementation twice. The generic functions are thin; the work
//! that does not depend on the type is done once, in non-generic helpers.

use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::prelude::*;

/// The JSON text of a JS value (`undefined` reads as `null`); refuses values JSON cannot hold.
pub fn json_of(value: &JsValue) -> Result<String, JsError> {
    if value.is_undefined() {
        return Ok("null".to_owned());
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| JsError::new("malformed message: not a JSON value"))
}

/// Parses JSON text made by serde_json into a JS value.
fn parse_json(text: &str) -> Result<JsValue, JsError> {
    js_sys::JSON::parse(text).map_err(|_| JsError::new("cannot convert the answer"))
}

fn malformed(e: serde_json::Error) -> JsError {
    JsError::new(&format!("malformed message: {e}"))
}

/// Reads a core type from a JS value; the error names what did not fit.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, JsError> {
    serde_json::from_str(&json_of(&value)?).map_err(malformed)
}

/// Turns a core value into a plain JS value (objects, not Maps).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    match serde_json::to_string(value) {
        Ok(text) => parse_json(&text),
        Err(e) => Err(JsError::new(&format!("cannot convert the answer: {e}"))),
    }
}
