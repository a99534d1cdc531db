//! All conversion between JS values and core types, in one place.

use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::prelude::*;

/// Reads a core type from a JS value; the error names what did not fit.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("malformed message: {e}")))
}

/// Turns a core value into a plain JS value (objects, not Maps).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("cannot convert the answer: {e}")))
}
