//! The Wasm core inside a service worker, where the extension runs it: no `window`, no DOM.
#![cfg(target_arch = "wasm32")]

use understudy::web;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_service_worker);

#[wasm_bindgen_test]
fn the_core_answers_inside_a_service_worker() {
    let global = js_sys::global();
    // Really a worker: there is no window here.
    let window = js_sys::Reflect::get(&global, &JsValue::from_str("window")).unwrap_or(JsValue::UNDEFINED);
    assert!(window.is_undefined(), "expected a service worker global scope");

    let request = js_sys::JSON::parse(r#"{"type":"hello","url":"https://chat.openai.com/"}"#)
        .expect("test input is valid JSON");
    let answer = web::handle_message(request).expect("hello is a valid request");
    let site = js_sys::Reflect::get(&answer, &JsValue::from_str("site")).expect("the answer is an object");
    assert_eq!(site.as_string().as_deref(), Some("chatgpt"));
    assert_eq!(web::core_version(), understudy::VERSION);
}
