//! `understudy capture`: the documented JSON line for a real stream in any chunking, a handed-off
//! POST with its request, a conversation body; argument errors exit 2, unreadable files 1.

mod page_common;

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_understudy")).arg("capture").args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("understudy-capture-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn check(args: &[&str], expect: &str) {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    assert_eq!(stdout.trim_end(), expect, "{args:?}");
}

#[test]
fn a_real_stream_in_any_chunking() {
    let file = temp("s1.sse", &page_common::chunks("s1").concat());
    let expect = r#"{"conversation_id":"6ab9dd65-51b0-83ea-9836-d2642f97cb6d","title":"Reply with Marker","messages":[{"id":"20e505bd-49e0-4313-b119-cd6019c09e60","role":"user","text":"Reply with exactly: MARKER-S1-1","complete":true},{"id":"44a52b14-09fb-436c-978a-88b21d34dc8c","role":"assistant","text":"MARKER-S1-1","complete":true}],"end":"done","error":null}"#;
    for n in ["0", "1", "34", "6000"] {
        check(&["--site", "chatgpt", "--chunk-size", n, &file], expect);
    }
    check(&[&file], expect);
}

#[test]
fn a_handed_off_post_with_its_request_and_a_cut_stream() {
    let post = "event: delta_encoding\ndata: \"v1\"\n\ndata: {\"type\":\"resume_conversation_token\",\"kind\":\"topic\",\"token\":\"eyJ.x.y\",\"conversation_id\":\"c1\"}\n\ndata: {\"type\":\"stream_handoff\",\"conversation_id\":\"c1\",\"turn_exchange_id\":\"t\",\"options\":[{\"type\":\"resume_sse_endpoint\"}]}\n\ndata: [DONE]\n\n";
    let request = r#"{"action":"next","parent_message_id":"client-created-root","messages":[{"id":"u1","author":{"role":"user"},"content":{"content_type":"text","parts":["Hello?"]}}],"supported_encodings":["v1"]}"#;
    let file = temp("handoff.sse", post.as_bytes());
    let req = temp("request.json", request.as_bytes());
    check(
        &["--request", &req, "--chunk-size", "5", &file],
        r#"{"conversation_id":"c1","title":null,"messages":[{"id":"u1","role":"user","text":"Hello?","complete":true}],"end":"handoff","error":null}"#,
    );
    let cut = "event: delta_encoding\ndata: \"v1\"\n\nevent: delta\ndata: {\"p\":\"\",\"o\":\"add\",\"v\":{\"message\":{\"id\":\"a\",\"author\":{\"role\":\"assistant\"},\"content\":{\"content_type\":\"text\",\"parts\":[\"Hal\"]},\"status\":\"in_progress\",\"recipient\":\"all\",\"channel\":\"final\"},\"conversation_id\":\"c2\",\"error\":null,\"error_code\":null},\"c\":0}\n\nevent: delta\ndata: {\"p\":\"/message/content/parts/0\",\"o\":\"append\",\"v\":\"f\"}\n\nevent: delta\ndata: {\"v\":\" an\"}\n\nevent: delta\ndata: {\"p\":\"\",\"o\":\"add\",\"v\":{\"message\":null,\"conversation_id\":\"c2\",\"error\":\"Error in message stream\",\"error_code\":\"stream_error\"},\"c\":1}\n\n";
    check(
        &[&temp("error.sse", cut.as_bytes())],
        r#"{"conversation_id":"c2","title":null,"messages":[{"id":"a","role":"assistant","text":"Half an","complete":false}],"end":"error","error":{"kind":"stream_error","code":"stream_error","message":"Error in message stream"}}"#,
    );
}

#[test]
fn a_conversation_body() {
    let body = r#"{"conversation_id":"c9","title":"T","current_node":"b","messages":[{"id":"a","author":{"role":"user"},"content":{"content_type":"text","parts":["q"]},"status":"finished_successfully","recipient":"all"},{"id":"b","author":{"role":"assistant"},"content":{"content_type":"text","parts":["ans"]},"status":"finished_successfully","metadata":{"parent_id":"a"},"recipient":"all","channel":"final"}],"page_info":{"has_previous_page":false}}"#;
    check(
        &[&temp("body.json", body.as_bytes())],
        r#"{"conversation_id":"c9","title":"T","messages":[{"id":"a","role":"user","text":"q","complete":true},{"id":"b","role":"assistant","text":"ans","complete":true}],"end":"done","error":null}"#,
    );
}

#[test]
fn wrong_arguments_and_unreadable_files() {
    let file = temp("x.sse", b"data: [DONE]\n\n");
    for (args, says) in [
        (vec![], "FILE is required"),
        (vec!["--site", "bard", file.as_str()], "unknown site"),
        (
            vec!["--site", "claude", "--request", file.as_str(), file.as_str()],
            "--request is for chatgpt only",
        ),
        (vec!["--chunk-size", "x", file.as_str()], "--chunk-size must be a whole number"),
        (vec!["--request"], "--request needs a file"),
        (vec!["--fast", file.as_str()], "unknown option --fast"),
        (vec![file.as_str(), file.as_str()], "only one FILE"),
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(
            stdout.is_empty() && stderr.contains(says) && stderr.contains("usage:"),
            "{args:?}: {stderr}"
        );
    }
    let (code, _, stderr) = run(&["/nonexistent/x.sse"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read"));
    let (code, _, _) = run(&["--request", "/nonexistent/r.json", &file]);
    assert_eq!(code, 1);
}

fn site_fixture(site: &str, name: &str) -> String {
    format!("{}/tests/fixtures/sites/{site}/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_site_by_its_own_decoder_in_any_chunking() {
    let cases = [
        (
            "claude",
            "limit-exceeded.sse",
            r#"{"conversation_id":null,"title":null,"messages":[],"end":"error","error":{"kind":"rate_limited","code":"exceeded_limit","message":"","retry_at_ms":1760000000000}}"#,
        ),
        (
            "gemini",
            "healthy.txt",
            r#"{"conversation_id":"c_4f1d2e3a5b6c7d8e","title":"Greetings in French","messages":[{"id":"r_9a8b7c6d5e4f3a2b","role":"assistant","text":"Bonjour 👋🏽 le monde — 𝄞 🇫🇷 日本 ok","complete":true}],"end":"done","error":null}"#,
        ),
        (
            "gemini",
            "usage-limit-1037.txt",
            r#"{"conversation_id":"c_4f1d2e3a5b6c7d8e","title":null,"messages":[],"end":"error","error":{"kind":"rate_limited","code":"1037","message":""}}"#,
        ),
        (
            "deepseek",
            "server-busy-hint.sse",
            r#"{"conversation_id":null,"title":null,"messages":[],"end":"error","error":{"kind":"capacity","code":"error","message":"服务器繁忙，请稍后再试。"}}"#,
        ),
        (
            "grok",
            "healthy.ndjson",
            r#"{"conversation_id":"3f1b7c2a-9d8e-4f6a-b5c4-1e2d3c4b5a69","title":"Greetings in three languages","messages":[{"id":"u-1a2b","role":"user","text":"Say hi in three languages","complete":true},{"id":"a-9f8e","role":"assistant","text":"Hi, hola, こんにちは 👋","complete":true}],"end":"done","error":null}"#,
        ),
        (
            "perplexity",
            "cut.sse",
            r#"{"conversation_id":"why-is-the-sky-blue-Ab12Cd34","title":"Why is the sky blue?","messages":[{"id":"","role":"user","text":"Why is the sky blue?","complete":true},{"id":"5e6f7a8b-0c1d-4e2f-9a3b-4c5d6e7f8a9b","role":"assistant","text":"Rayleigh scattering","complete":false}],"end":"truncated","error":null}"#,
        ),
        (
            "copilot",
            "healthy.frames",
            r#"{"conversation_id":"gP5vWq2hK9xYz","title":"A chicken joke","messages":[{"id":"um-7Hk2","role":"user","text":"Tell me a joke","complete":true},{"id":"ic1ekKWy3E2ZctSTqCLHT","role":"assistant","text":"Why did the 🐔 cross the road? To get to the other side. Want another one?","complete":true}],"end":"done","error":null}"#,
        ),
        (
            "mistral",
            "rate-limited.txt",
            r#"{"conversation_id":null,"title":null,"messages":[{"id":"","role":"assistant","text":"Par","complete":false}],"end":"error","error":{"kind":"rate_limited","code":null,"message":"Rate limit exceeded. Please try again later."}}"#,
        ),
    ];
    for (site, name, expect) in cases {
        let file = site_fixture(site, name);
        for n in ["0", "1", "3", "64"] {
            check(&["--site", site, "--chunk-size", n, &file], expect);
        }
    }
}

#[test]
fn classify_judges_a_saved_page_with_its_site_adapter() {
    let page = temp(
        "claude.html",
        r#"<html><body><main><div data-testid="user-message">Hello?</div>
        <div class="font-claude-response">Par</div>
        <div data-testid="message-error">Due to unexpected capacity constraints, Claude is unable to respond to your message. Please try again soon.</div>
        <div class="ProseMirror" role="textbox" contenteditable="true"></div></main></body></html>"#
            .as_bytes(),
    );
    let classify = |site: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_understudy"))
            .args(["classify", "--site", site, &page])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{site}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["kind"].as_str().unwrap().to_string()
    };
    assert_eq!(classify("claude"), "capacity");
    // ChatGPT's adapter does not read Claude's page.
    assert_eq!(classify("chatgpt"), "healthy");
}

#[test]
fn a_claude_conversation_body_prints_its_current_branch() {
    check(
        &["--site", "claude", &site_fixture("claude", "conversation.json")],
        r#"{"conversation_id":"4c8e2a10-6b3d-4f5e-9a7c-1d2e3f4a5b6c","title":"Packing for Zürich","messages":[{"id":"a1","role":"user","text":"What should I pack for Zürich in winter?","complete":true},{"id":"b2","role":"assistant","text":"A warm coat 🧥, boots and layers.\n\nIt is around -2 °C.","complete":true},{"id":"c3b","role":"user","text":"And for ten days?","complete":true},{"id":"d4","role":"assistant","text":"Ten outfits, or a laundry day.","complete":true}],"end":"done","error":null}"#,
    );
    // A 429 body is no conversation: it is read as the stream's error.
    check(
        &["--site", "claude", &site_fixture("claude", "limit-429.json")],
        r#"{"conversation_id":null,"title":null,"messages":[],"end":"error","error":{"kind":"rate_limited","code":"exceeded_limit","message":"","retry_at_ms":1760000000000}}"#,
    );
}

#[test]
fn the_sites_conversation_reads_print_their_current_branch() {
    // Gemini's read is a `batchexecute` reply (`)]}'`), not JSON: read as a read first.
    check(
        &["--site", "gemini", &site_fixture("gemini", "read.txt")],
        r#"{"conversation_id":"c_3f2a9b7c1d0e","title":null,"messages":[{"id":"r_a1","role":"user","text":"Say hello in 日本語","complete":true},{"id":"rc_a1","role":"assistant","text":"こんにちは 🌸","complete":true},{"id":"r_b2","role":"user","text":"Und auf Deutsch? 🇩🇪","complete":true},{"id":"rc_b2","role":"assistant","text":"Hallo, Welt! 👋🏽","complete":true}],"end":"done","error":null}"#,
    );
    // A Gemini stream still goes to the stream decoder.
    check(
        &["--site", "gemini", &site_fixture("gemini", "usage-limit-1037.txt")],
        r#"{"conversation_id":"c_4f1d2e3a5b6c7d8e","title":null,"messages":[],"end":"error","error":{"kind":"rate_limited","code":"1037","message":""}}"#,
    );
    check(
        &["--site", "deepseek", &site_fixture("deepseek", "read.json")],
        r#"{"conversation_id":"d213f7b1-0aa7-47a2-a6cf-3b4910a66b3a","title":"Greetings in Zürich 🇨🇭","messages":[{"id":"1","role":"user","text":"hello from Zürich","complete":true},{"id":"3","role":"assistant","text":"Grüezi! 👋","complete":true},{"id":"4","role":"user","text":"What is 2+2?","complete":true},{"id":"5","role":"assistant","text":"2 + 2 = **4**.","complete":true}],"end":"done","error":null}"#,
    );
    // Copilot's history names its conversation only in the request path.
    check(
        &[
            "--site",
            "copilot",
            "--path",
            "/c/api/conversations/abc123/history?api-version=2",
            &site_fixture("copilot", "read.json"),
        ],
        r#"{"conversation_id":"abc123","title":null,"messages":[{"id":"ic1ekKWy3E2ZctSTqCLH1","role":"user","text":"first question 👋🏽","complete":true},{"id":"ic1ekKWy3E2ZctSTqCLH2","role":"assistant","text":"first answer","complete":true},{"id":"ic1ekKWy3E2ZctSTqCLH3","role":"user","text":"second question","complete":true},{"id":"ic1ekKWy3E2ZctSTqCLH4","role":"assistant","text":"Second answer ✨","complete":true}],"end":"done","error":null}"#,
    );
}
