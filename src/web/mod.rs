//! The browser edge: the only module that touches wasm-bindgen, web-sys, js-sys and gloo.
//!
//! Exports are thin: convert the JS value to a core type (in [`interop`]), call the core, convert
//! the result back. Errors become JS `Error`s here, once.

// Each surface loads a Wasm build of its own (features `worker` and `pages`, one build each; the
// default carries both for the tests): the service worker never pays for the Markdown renderer,
// the search index or the export reader, and the pages never for detection, decoders and routing.
pub mod cache;
#[cfg(feature = "worker")]
pub mod capture;
#[cfg(feature = "worker")]
pub mod detect;
pub mod interop;
#[cfg(feature = "pages")]
pub mod library;
#[cfg(feature = "pages")]
pub mod markdown;
#[cfg(feature = "worker")]
pub mod providers;
#[cfg(feature = "worker")]
pub mod rescue;
pub mod settings;

use wasm_bindgen::prelude::*;

#[cfg(feature = "worker")]
use crate::protocol;

/// Answers one message from a content script or an extension page.
///
/// Takes the message as a plain JS object and returns the answer as one. A malformed message is
/// answered with a thrown `Error` that says what was wrong.
#[cfg(feature = "worker")]
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
