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

mod detection {
    use super::{field, js_object};
    use understudy::detect::{Rules, extract_html};
    use understudy::site::Site;
    use understudy::web::detect::{
        detect_adapter, detect_next_poll_delay_ms, detect_observe, detect_parse_site_status,
        detect_parse_status, detect_site,
    };
    use wasm_bindgen::JsValue;
    use wasm_bindgen_test::*;

    const NOW: f64 = 1_795_600_800_000.0;

    fn text(value: &JsValue, path: &[&str]) -> Option<String> {
        let mut v = value.clone();
        for name in path {
            v = field(&v, name);
        }
        v.as_string()
    }

    fn error_message(e: wasm_bindgen::JsError) -> String {
        let value: JsValue = e.into();
        js_sys::Error::from(value).message().as_string().unwrap_or_default()
    }

    /// Judges a saved page the way the extension does: extract, then the Wasm export.
    fn check_page(html: &str, kind: &str) {
        let obs = extract_html(html, Rules::builtin(Site::Chatgpt));
        let json = serde_json::to_string(&understudy::detect::Observation::Dom(obs)).expect("serialisable");
        let answer = detect_observe(None, "chatgpt", &json, NOW, JsValue::NULL).expect("a valid observation");
        let current = field(&answer, "current");
        let got =
            if current.is_null() { "healthy".into() } else { text(&current, &["kind"]).unwrap_or_default() };
        assert_eq!(got, kind);
    }

    #[wasm_bindgen_test]
    fn saved_pages_are_judged_through_the_export() {
        check_page(include_str!("fixtures/pages/service-down-cloudflare-502.html"), "service_down");
        check_page(include_str!("fixtures/pages/rate-limited-json-429-1-hour.html"), "rate_limited");
        check_page(include_str!("fixtures/pages/network-error-turn-box.html"), "network_error");
        check_page(include_str!("fixtures/pages/blocked-cloudflare-challenge.html"), "blocked");
        check_page(include_str!("fixtures/pages/unknown-error-german-ui.html"), "unknown_error");
        check_page(include_str!("fixtures/pages/trap-user-quotes-errors.html"), "healthy");
        check_page(include_str!("fixtures/pages/trap-old-error-recovered.html"), "healthy");
    }

    #[wasm_bindgen_test]
    fn the_state_round_trips_one_event_per_page_state() {
        let obs = r#"{"type":"network","endpoint":"conversation_send","status":429,"retry_after":"120"}"#;
        let first = detect_observe(None, "chatgpt", obs, NOW, JsValue::NULL).expect("valid");
        assert_eq!(text(&first, &["event", "event"]).as_deref(), Some("raised"));
        assert_eq!(text(&first, &["current", "kind"]).as_deref(), Some("rate_limited"));
        assert_eq!(field(&field(&first, "current"), "retry_after_s").as_f64(), Some(120.0));
        let state = text(&first, &["state"]).expect("state is a string");
        let again =
            detect_observe(Some(state.clone()), "chatgpt", obs, NOW + 1000.0, JsValue::NULL).expect("valid");
        assert!(field(&again, "event").is_null(), "the same failure does not fire twice");
        let ok = r#"{"type":"network","endpoint":"conversation_send","status":200}"#;
        let state = text(&again, &["state"]).expect("state");
        let healed = detect_observe(Some(state), "chatgpt", ok, NOW + 2000.0, JsValue::NULL).expect("valid");
        assert_eq!(text(&healed, &["event", "event"]).as_deref(), Some("recovered"));
        assert!(field(&healed, "current").is_null());
    }

    #[wasm_bindgen_test]
    fn stall_timing_can_be_shortened_within_bounds() {
        let stall = r#"{"type":"stall","phase":"stalled","ms":1500}"#;
        let default = detect_observe(None, "chatgpt", stall, NOW, JsValue::NULL).expect("valid");
        assert!(field(&default, "current").is_null(), "1.5 s is no stall by default");
        let short = js_object(r#"{"stall_ms":1200,"no_start_ms":1200}"#);
        let judged = detect_observe(None, "chatgpt", stall, NOW, short.clone()).expect("valid");
        assert_eq!(text(&judged, &["current", "kind"]).as_deref(), Some("network_error"));
        let adapter = detect_adapter("chatgpt", short).expect("adapter");
        assert_eq!(field(&field(&adapter, "timing"), "stall_ms").as_f64(), Some(1200.0));
        let silly = js_object(r#"{"stall_ms":1,"no_start_ms":1200}"#);
        assert!(error_message(detect_adapter("chatgpt", silly).expect_err("too short")).contains("stall_ms"));
    }

    #[wasm_bindgen_test]
    fn bad_input_is_a_clear_error() {
        let check = |state: Option<&str>, site: &str, obs: &str, now: f64, expect: &str| {
            let e = detect_observe(state.map(str::to_owned), site, obs, now, JsValue::NULL).expect_err(obs);
            let message = error_message(e);
            assert!(message.contains(expect), "{message}");
        };
        let ok = r#"{"type":"stall","phase":"no_start","ms":1}"#;
        check(None, "chatgpt", "{", NOW, "malformed observation");
        check(None, "chatgpt", r#"{"type":"dom","evil":1}"#, NOW, "malformed observation");
        check(None, "bard", ok, NOW, "unknown site");
        check(Some("[1,2]"), "chatgpt", ok, NOW, "malformed detector state");
        check(Some(r#"{"site":"other","active":null,"stale":null}"#), "chatgpt", ok, NOW, "another site");
        check(None, "chatgpt", ok, f64::NAN, "nowMs");
        assert!(error_message(detect_parse_status("<html>").expect_err("not JSON")).contains("status page"));
    }

    #[wasm_bindgen_test]
    fn adapter_site_and_status_exports() {
        assert_eq!(detect_site("https://chatgpt.com/c/1").as_deref(), Some("chatgpt"));
        assert_eq!(detect_site("https://example.com/"), None);
        let adapter = detect_adapter("chatgpt", JsValue::UNDEFINED).expect("adapter");
        let error = text(&adapter, &["selectors", "error"]).expect("an error selector");
        assert!(error.split(", ").any(|s| s == ".text-token-text-error"), "{error}");
        assert_eq!(field(&field(&adapter, "timing"), "resume_grace_ms").as_f64(), Some(30_000.0));
        let report = detect_parse_status(
            r#"{"components":[{"name":"Conversations","status":"major_outage"}],"incidents":[]}"#,
        )
        .expect("valid summary");
        assert_eq!(text(&report, &["level"]).as_deref(), Some("major_outage"));
        assert_eq!(detect_next_poll_delay_ms(0), 120_000.0);
        assert_eq!(detect_next_poll_delay_ms(1), 240_000.0);
    }

    #[wasm_bindgen_test]
    fn the_other_sites_adapters_and_feeds() {
        assert_eq!(detect_site("https://claude.ai/new").as_deref(), Some("claude"));
        assert_eq!(detect_site("https://gemini.google.com/app").as_deref(), Some("gemini"));
        let adapter = detect_adapter("gemini", JsValue::UNDEFINED).expect("adapter");
        assert_eq!(text(&adapter, &["stream", "transport"]).as_deref(), Some("xhr"));
        assert_eq!(text(&adapter, &["stream", "frames"]).as_deref(), Some("snapshot"));
        let rss = "<rss><channel><item><title>Grok errors</title><description>Investigating - Errors on grok.com.</description></item></channel></rss>";
        let report = detect_parse_site_status("grok", rss).expect("an RSS feed");
        assert_eq!(text(&report, &["level"]).as_deref(), Some("degraded"));
        assert_eq!(text(&report, &["source"]).as_deref(), Some("rss"));
        assert!(detect_parse_site_status("copilot", rss).is_err());
    }
}

mod capture {
    use super::field;
    use understudy::web::cache::cache_apply_record;
    use understudy::web::capture::{CaptureSession, SiteStream};
    use wasm_bindgen::JsValue;
    use wasm_bindgen_test::*;

    /// Another site's stream, handed over as text batches cut anywhere (Gemini's frames count
    /// UTF-16 units, as the page's own strings do), and Copilot's socket frame by frame.
    #[wasm_bindgen_test]
    fn other_sites_streams_decode_in_the_worker() {
        let frame = r#"[["wrb.fr",null,"[null,[\"c_1\",\"r_1\"],null,null,[[\"rc\",[\"Hé 👋🏽\"],null,null,null,null,null,null,[2]]]]"]]"#;
        let body = format!(")]}}'\n\n{}\n{frame}\n", format!("\n{frame}\n").encode_utf16().count());
        let mut g = SiteStream::new("gemini").expect("a Gemini decoder");
        let cut = body.char_indices().nth(body.chars().count() / 2).map_or(0, |(i, _)| i);
        g.push(&body[..cut]);
        g.push(&body[cut..]);
        g.end();
        let turn = g.turn().expect("a turn");
        assert_eq!(field(&turn, "end").as_string().as_deref(), Some("done"));
        let message = js_sys::Array::from(&field(&turn, "messages")).get(0);
        assert_eq!(field(&message, "text").as_string().as_deref(), Some("Hé 👋🏽"));
        let mut c = SiteStream::new("copilot").expect("a Copilot decoder");
        c.frame(r#"{"event":"appendText","messageId":"m","partId":"p","text":"Hi"}"#);
        c.frame(r#"{"event":"error","errorCode":"rateLimited","message":"Slow down"}"#);
        let turn = c.turn().expect("a turn");
        assert_eq!(field(&field(&turn, "error"), "kind").as_string().as_deref(), Some("rate_limited"));
        assert!(SiteStream::new("chatgpt").is_err());
        assert!(SiteStream::new("bard").is_err());
    }

    const REQUEST: &str = r#"{"action":"next","conversation_id":"c1","parent_message_id":"a0","messages":[{"id":"u1","author":{"role":"user"},"content":{"content_type":"text","parts":["Bonjour ?"]}}]}"#;

    /// A v1 stream as the page hands it over (text batches cut anywhere), decoded in the session,
    /// and its capture stored through the same edge the cache writer uses.
    #[wasm_bindgen_test]
    fn a_streamed_turn_becomes_a_stored_record() {
        let stream = concat!(
            "event: delta_encoding\ndata: \"v1\"\n\n",
            "event: delta\ndata: {\"p\":\"\",\"o\":\"add\",\"v\":{\"message\":{\"id\":\"a1\",\"author\":{\"role\":\"assistant\"},",
            "\"content\":{\"content_type\":\"text\",\"parts\":[\"\"]},\"status\":\"in_progress\",\"metadata\":{\"parent_id\":\"u1\"},",
            "\"recipient\":\"all\",\"channel\":\"final\"},\"conversation_id\":\"c1\",\"error\":null},\"c\":0}\n\n",
            "event: delta\ndata: {\"p\":\"/message/content/parts/0\",\"o\":\"append\",\"v\":\"Salut\"}\n\n",
            "event: delta\ndata: {\"v\":\" 😀\"}\n\n",
            "data: {\"type\":\"message_stream_complete\",\"conversation_id\":\"c1\"}\n\ndata: [DONE]\n\n",
        );
        let mut s = CaptureSession::new();
        s.open(7, "send", "/backend-api/f/conversation", Some(REQUEST.into()), false).expect("opens");
        let cut = stream.find("Salut").expect("in the stream") + 2;
        s.push(7, &stream[..cut]).expect("first batch");
        s.push(7, &stream[cut..]).expect("second batch");
        s.end(7, "abort").expect("ends");
        assert!(!s.knows(7), "an ended stream is forgotten");
        let captures = js_sys::Array::from(&s.take().expect("captures"));
        assert_eq!(captures.length(), 1);
        let capture = captures.get(0);
        assert_eq!(field(&capture, "kind").as_string().as_deref(), Some("turn"));
        let stored = cache_apply_record(JsValue::UNDEFINED, capture, 1.0).expect("stored");
        assert_eq!(field(&stored, "id").as_string().as_deref(), Some("c1"));
        let meta = field(&stored, "meta");
        assert_eq!(field(&meta, "message_count").as_f64(), Some(2.0));
        // How it ended, for detection: once, with the prompt it answered.
        let verdicts = js_sys::Array::from(&s.verdicts().expect("verdicts"));
        assert_eq!(verdicts.length(), 1);
        let v = verdicts.get(0);
        assert_eq!(field(&v, "end").as_string().as_deref(), Some("done"));
        assert_eq!(field(&v, "conversation_id").as_string().as_deref(), Some("c1"));
        assert_eq!(field(&v, "prompt").as_string().as_deref(), Some("Bonjour ?"));
        assert!(field(&v, "error").is_null());
        assert_eq!(js_sys::Array::from(&s.verdicts().expect("verdicts")).length(), 0);
        // Nothing new: nothing to take.
        assert_eq!(js_sys::Array::from(&s.take().expect("captures")).length(), 0);
        // A batch for a stream the worker does not know is refused (the page resends from seq 0).
        assert!(s.push(9, "data: x\n\n").is_err());
    }
}
