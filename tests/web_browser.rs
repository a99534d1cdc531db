//! The Wasm core in a real browser page (headless Chromium through wasm-bindgen-test-runner).
#![cfg(target_arch = "wasm32")]

use understudy::web;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn js_object(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test input is valid JSON")
}

fn field(value: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(name)).expect("the answer is an object")
}

#[wasm_bindgen_test]
fn a_page_is_answered_with_the_core_version_and_site() {
    let answer = web::handle_message(js_object(r#"{"type":"hello","url":"https://chatgpt.com/c/42"}"#))
        .expect("hello is a valid request");
    assert_eq!(field(&answer, "type").as_string().as_deref(), Some("hello"));
    assert_eq!(field(&answer, "core_version").as_string().as_deref(), Some(understudy::VERSION));
    assert_eq!(field(&answer, "site").as_string().as_deref(), Some("chatgpt"));
}

#[wasm_bindgen_test]
fn an_unwatched_page_has_no_site() {
    let answer = web::handle_message(js_object(r#"{"type":"hello","url":"https://example.com/"}"#))
        .expect("hello is a valid request");
    assert!(field(&answer, "site").is_null());
}

#[wasm_bindgen_test]
fn a_forged_message_becomes_a_js_error_with_a_reason() {
    let error = web::handle_message(js_object(r#"{"type":"read_keys"}"#)).expect_err("unknown type");
    let error: JsValue = error.into();
    let message = js_sys::Error::from(error).message().as_string().unwrap_or_default();
    assert!(message.contains("malformed message"), "{message}");
}
