//! Stream decoders per provider format, on saved streams in `tests/fixtures/streams/`, fed in
//! several chunkings and through the `understudy stream` command.

use std::path::PathBuf;
use std::process::Command;

use understudy::provider::{ErrorClass, FinishReason, StreamFormat, StreamOutcome, decode_all, decoder_for};

/// What a user checks about a decoded stream.
#[derive(Debug, Clone, PartialEq)]
enum End {
    Complete(FinishReason),
    Error(ErrorClass),
    Truncated,
}

fn end_of(outcome: &StreamOutcome) -> End {
    match outcome {
        StreamOutcome::Complete { finish } => End::Complete(*finish),
        StreamOutcome::Error { class, .. } => End::Error(*class),
        StreamOutcome::Truncated => End::Truncated,
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/streams").join(name)
}

/// Decodes fixture `file` as `format` at chunk sizes 0 (whole), 1, 7 and 16 KiB, in the library and
/// through the command line (0, 1, 7), and checks the text and the end.
fn check(format: &str, file: &str, text: &str, end: End) {
    let fmt = StreamFormat::from_name(format).expect("known format");
    let bytes = std::fs::read(fixture(file)).expect("fixture");
    for size in [0, 1, 7, 16 * 1024] {
        let (got, outcome) = decode_all(fmt, &bytes, size);
        assert_eq!(got, text, "{file} at chunk size {size}");
        assert_eq!(end_of(&outcome), end, "{file} at chunk size {size}: {outcome:?}");
        if let StreamOutcome::Error { message, .. } = &outcome {
            assert!(!message.is_empty() && !message.contains('<'), "{file}: message {message:?}");
        }
    }
    for size in ["0", "1", "7"] {
        let out = Command::new(env!("CARGO_BIN_EXE_understudy"))
            .args(["stream", "--format", format, "--chunk-size", size])
            .arg(fixture(file))
            .output()
            .expect("run understudy");
        assert!(out.status.success(), "{file}: exit {:?}", out.status);
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(stdout.lines().count(), 1, "{file}: one line");
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(json["text"], text, "{file} via the command at {size}");
        let (kind, class) = match &end {
            End::Complete(_) => ("complete", None),
            End::Error(c) => ("error", Some(c.as_str())),
            End::Truncated => ("truncated", None),
        };
        assert_eq!(json["outcome"], kind, "{file} via the command at {size}");
        match class {
            Some(c) => {
                assert_eq!(json["error"]["class"], c, "{file}");
                assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
            }
            None => assert!(json["error"].is_null(), "{file}"),
        }
    }
}

// ---- OpenAI Chat Completions ----

#[test]
fn openai_chat_complete_with_openrouter_comments() {
    check(
        "openai-chat",
        "openai_chat_complete.sse",
        "Bonjour, \"monde\" — 日本 🎌\nligne 2",
        End::Complete(FinishReason::Stop),
    );
}

#[test]
fn openai_chat_length() {
    check("openai-chat", "openai_chat_length.sse", "The answer is long", End::Complete(FinishReason::Length));
}

#[test]
fn openai_chat_content_filter() {
    check(
        "openai-chat",
        "openai_chat_content_filter.sse",
        "I can",
        End::Complete(FinishReason::ContentFilter),
    );
}

#[test]
fn openai_chat_error_after_a_stop_chunk_keeps_the_text() {
    check("openai-chat", "openai_chat_error_mid.sse", "Partial answer", End::Error(ErrorClass::RateLimited));
}

#[test]
fn openai_chat_openrouter_error_chunk() {
    check("openai-chat", "openai_chat_error_openrouter.sse", "Half", End::Error(ErrorClass::Server));
}

#[test]
fn openai_chat_context_length_error_in_stream() {
    check("openai-chat", "openai_chat_error_context.sse", "", End::Error(ErrorClass::ContextLength));
}

#[test]
fn openai_chat_truncated_drops_the_unfinished_event() {
    check("openai-chat", "openai_chat_truncated.sse", "Cut off", End::Truncated);
}

#[test]
fn openai_chat_malformed_chunk_aborts_and_keeps_text() {
    check("openai-chat", "openai_chat_malformed.sse", "Good start", End::Error(ErrorClass::Malformed));
}

#[test]
fn openai_chat_empty_body_is_truncated() {
    check("openai-chat", "openai_chat_empty.sse", "", End::Truncated);
}

#[test]
fn plain_json_error_body_without_events_is_read() {
    check("gemini", "gemini_plain_json_error.json", "", End::Error(ErrorClass::Overloaded));
}

// ---- OpenAI Responses ----

#[test]
fn responses_complete() {
    check(
        "openai-responses",
        "openai_responses_complete.sse",
        "Hello there ✓",
        End::Complete(FinishReason::Stop),
    );
}

#[test]
fn responses_incomplete_for_max_tokens() {
    check("openai-responses", "openai_responses_length.sse", "Long", End::Complete(FinishReason::Length));
}

#[test]
fn responses_failed() {
    check("openai-responses", "openai_responses_failed.sse", "Some", End::Error(ErrorClass::Server));
}

#[test]
fn responses_error_event() {
    check(
        "openai-responses",
        "openai_responses_error_event.sse",
        "Early",
        End::Error(ErrorClass::RateLimited),
    );
}

#[test]
fn responses_truncated() {
    check("openai-responses", "openai_responses_truncated.sse", "No end", End::Truncated);
}

#[test]
fn responses_malformed() {
    check("openai-responses", "openai_responses_malformed.sse", "Fine", End::Error(ErrorClass::Malformed));
}

// ---- Anthropic ----

#[test]
fn anthropic_complete_ignores_ping_unknown_events_and_thinking() {
    check("anthropic", "anthropic_complete.sse", "Hello, world — ünïcödé", End::Complete(FinishReason::Stop));
}

#[test]
fn anthropic_max_tokens_is_length() {
    check("anthropic", "anthropic_length.sse", "Too long", End::Complete(FinishReason::Length));
}

#[test]
fn anthropic_refusal_is_content_filter() {
    check("anthropic", "anthropic_refusal.sse", "I won't", End::Complete(FinishReason::ContentFilter));
}

#[test]
fn anthropic_overloaded_error_event() {
    check("anthropic", "anthropic_error_overloaded.sse", "Partial", End::Error(ErrorClass::Overloaded));
}

#[test]
fn anthropic_without_message_stop_is_truncated() {
    check("anthropic", "anthropic_truncated.sse", "Cut", End::Truncated);
}

#[test]
fn anthropic_malformed() {
    check("anthropic", "anthropic_malformed.sse", "Before", End::Error(ErrorClass::Malformed));
}

#[test]
fn anthropic_unknown_event_with_non_json_data_is_ignored() {
    check("anthropic", "anthropic_unknown_event_garbage.sse", "Fine", End::Complete(FinishReason::Stop));
}

// ---- Gemini ----

#[test]
fn gemini_complete_with_crlf_and_thought_parts_skipped() {
    check("gemini", "gemini_complete_crlf.sse", "Hola mundo ☀️!", End::Complete(FinishReason::Stop));
}

#[test]
fn gemini_max_tokens() {
    check("gemini", "gemini_length.sse", "Lengthy text", End::Complete(FinishReason::Length));
}

#[test]
fn gemini_safety() {
    check("gemini", "gemini_safety.sse", "Some", End::Complete(FinishReason::ContentFilter));
}

#[test]
fn gemini_blocked_prompt() {
    check("gemini", "gemini_blocked_prompt.sse", "", End::Complete(FinishReason::ContentFilter));
}

#[test]
fn gemini_error_mid_stream() {
    check("gemini", "gemini_error_mid.sse", "Start", End::Error(ErrorClass::RateLimited));
}

#[test]
fn gemini_without_finish_reason_is_truncated() {
    check("gemini", "gemini_truncated.sse", "No finish", End::Truncated);
}

#[test]
fn gemini_malformed() {
    check("gemini", "gemini_malformed.sse", "Ok", End::Error(ErrorClass::Malformed));
}

// ---- Ollama ----

#[test]
fn ollama_complete() {
    check("ollama", "ollama_complete.ndjson", "Salut à tous 🦙", End::Complete(FinishReason::Stop));
}

#[test]
fn ollama_crlf_and_last_line_without_newline() {
    check(
        "ollama",
        "ollama_complete_crlf_no_final_newline.ndjson",
        "One two",
        End::Complete(FinishReason::Stop),
    );
}

#[test]
fn ollama_length() {
    check("ollama", "ollama_length.ndjson", "Long answer", End::Complete(FinishReason::Length));
}

#[test]
fn ollama_error_line() {
    check("ollama", "ollama_error.ndjson", "Some", End::Error(ErrorClass::Server));
}

#[test]
fn ollama_truncated() {
    check("ollama", "ollama_truncated.ndjson", "Half way", End::Truncated);
}

#[test]
fn ollama_malformed() {
    check("ollama", "ollama_malformed.ndjson", "Okay", End::Error(ErrorClass::Malformed));
}

// ---- the decoder interface ----

#[test]
fn feed_returns_the_text_of_each_chunk_and_stops_after_the_end() {
    let mut d = decoder_for(StreamFormat::OpenAiChat);
    assert_eq!(d.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choi"), "a");
    assert!(d.outcome().is_none());
    assert_eq!(d.feed(b"ces\":[{\"delta\":{\"content\":\"b\\u00e9\"}}]}\n\n"), "bé");
    assert_eq!(d.feed(b"data: [DONE]\n\n"), "");
    assert_eq!(d.outcome(), Some(&StreamOutcome::Complete { finish: FinishReason::Stop }));
    assert_eq!(d.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n"), "");
    let end = d.finish();
    assert_eq!(end.outcome, StreamOutcome::Complete { finish: FinishReason::Stop });
    assert_eq!(d.finish().outcome, end.outcome, "finish is repeatable");
}

#[test]
fn ollama_text_of_an_unterminated_last_line_comes_with_finish() {
    let mut d = decoder_for(StreamFormat::Ollama);
    assert_eq!(d.feed(br#"{"message":{"content":"x"},"done":false}"#), "");
    let end = d.finish();
    assert_eq!((end.text.as_str(), end.outcome), ("x", StreamOutcome::Truncated));
}

#[test]
fn malformed_message_names_the_problem_and_keeps_text() {
    let (text, outcome) = decode_all(
        StreamFormat::OpenAiChat,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"kept\"}}]}\n\ndata: not json\n\n",
        0,
    );
    assert_eq!(text, "kept");
    match outcome {
        StreamOutcome::Error { class: ErrorClass::Malformed, message } => {
            assert!(message.contains("not json") && message.contains("kept"), "{message}");
        }
        other => panic!("expected malformed, got {other:?}"),
    }
}

#[test]
fn stream_error_messages_quote_the_provider() {
    let (_, outcome) = decode_all(
        StreamFormat::Anthropic,
        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        0,
    );
    assert_eq!(
        outcome,
        StreamOutcome::Error {
            class: ErrorClass::Overloaded,
            message: "Anthropic reported an error in the stream: Overloaded".into()
        }
    );
}

#[test]
fn in_stream_error_classes() {
    fn class(format: StreamFormat, body: &str) -> Option<ErrorClass> {
        match decode_all(format, body.as_bytes(), 0).1 {
            StreamOutcome::Error { class, .. } => Some(class),
            _ => None,
        }
    }
    use ErrorClass as C;
    use StreamFormat as F;
    let cases: &[(F, &str, C)] = &[
        (
            F::Anthropic,
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}\n\n",
            C::Server,
        ),
        (
            F::Anthropic,
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"x\"}}\n\n",
            C::RateLimited,
        ),
        (
            F::Anthropic,
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}\n\n",
            C::ContextLength,
        ),
        (
            F::OpenAiChat,
            "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}\n\n",
            C::Server,
        ),
        (
            F::OpenAiChat,
            "data: {\"error\":{\"message\":\"You exceeded your current quota\",\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}\n\n",
            C::QuotaExhausted,
        ),
        (
            F::OpenAiChat,
            "data: {\"error\":{\"code\":401,\"message\":\"No auth credentials found\"}}\n\n",
            C::Auth,
        ),
        (F::OpenAiChat, "event: error\ndata: {\"error\":\"plain words\"}\n\n", C::Server),
        (
            F::OpenAiChat,
            "event: error\ndata: {\"message\":\"upstream failed\",\"code\":429}\n\n",
            C::RateLimited,
        ),
        (
            F::Gemini,
            "data: {\"error\":{\"code\":500,\"message\":\"internal\",\"status\":\"INTERNAL\"}}\r\n\r\n",
            C::Server,
        ),
        (
            F::Gemini,
            "data: {\"error\":{\"message\":\"denied\",\"status\":\"PERMISSION_DENIED\"}}\r\n\r\n",
            C::Auth,
        ),
        (
            F::OpenAiResponses,
            "data: {\"type\":\"error\",\"code\":\"context_length_exceeded\",\"message\":\"too long\"}\n\n",
            C::ContextLength,
        ),
        (F::Ollama, "{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}\n", C::NotFound),
    ];
    for (format, body, want) in cases {
        assert_eq!(class(*format, body), Some(*want), "{format}: {body}");
    }
}

#[test]
fn every_format_survives_garbage_without_panicking() {
    let inputs: [&[u8]; 6] = [
        b"\xFF\xFE\x00garbage\r\r\n\n",
        b"data: \xFF\n\n",
        b"data: {\"choices\":\"nope\"}\n\n",
        b"data: [1,2,3]\n\n",
        b"{\"done\":\"yes\"}\n",
        b"\n\n\n\r\r\r",
    ];
    for format in StreamFormat::ALL {
        for input in inputs {
            for size in [0, 1, 3] {
                let (_, outcome) = decode_all(format, input, size);
                assert!(
                    matches!(outcome, StreamOutcome::Error { .. } | StreamOutcome::Truncated),
                    "{format}: {outcome:?}"
                );
            }
        }
    }
}

#[test]
fn format_names_round_trip() {
    for format in StreamFormat::ALL {
        assert_eq!(StreamFormat::from_name(format.name()), Some(format));
    }
    assert_eq!(StreamFormat::from_name("openai"), None);
}
