//! The browser edge: the only module that touches wasm-bindgen, web-sys, js-sys and gloo.
//!
//! Exports are thin: convert the JS value to a core type (in [`interop`]), call the core, convert
//! the result back. Errors become JS `Error`s here, once.

pub mod cache;
pub mod capture;
pub mod detect;
pub mod interop;
pub mod markdown;
pub mod providers;
pub mod rescue;
pub mod settings;

use wasm_bindgen::prelude::*;

use crate::protocol;

/// Answers one message from a content script or an extension page.
///
/// Takes the message as a plain JS object and returns the answer as one. A malformed message is
/// answered with a thrown `Error` that says what was wrong.
#[wasm_bindgen(js_name = handleMessage)]
pub fn handle_message(message: JsValue) -> Result<JsValue, JsError> {
    let request: protocol::Request = interop::from_js(message)?;
    interop::to_js(&protocol::handle(&request))
}

/// The version of the Wasm core.
#[wasm_bindgen(js_name = coreVersion)]
pub fn core_version() -> String {
    crate::VERSION.to_owned()
}
