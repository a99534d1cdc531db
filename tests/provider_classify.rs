//! Classifying HTTP error answers from providers: class, retry wait and a human message.

use understudy::provider::classify::{class_for_status, retry_after_ms};
use understudy::provider::{ErrorClass, ProviderKind, classify_http_error};

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Checks the class, the retry wait, and that the message contains each of `says` and no HTML.
fn check(
    kind: ProviderKind,
    status: u16,
    hdrs: &[(&str, &str)],
    body: &str,
    class: ErrorClass,
    retry: Option<u64>,
    says: &[&str],
) {
    let err = classify_http_error(kind, status, &headers(hdrs), body);
    assert_eq!(err.class, class, "{kind:?} {status} {body}: {}", err.message);
    assert_eq!(err.retry_after_ms, retry, "{kind:?} {status}");
    for s in says {
        assert!(err.message.contains(s), "message {:?} lacks {s:?}", err.message);
    }
    assert!(!err.message.contains('<'), "no HTML in {:?}", err.message);
    assert!(err.message.len() < 600, "short message: {}", err.message.len());
}

use ErrorClass as C;
use ProviderKind as K;

#[test]
fn openai_context_length() {
    check(
        K::OpenAiCompatible,
        400,
        &[],
        r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        C::ContextLength,
        None,
        &["too long", "maximum context length is 128000"],
    );
}

#[test]
fn anthropic_prompt_too_long() {
    check(
        K::Anthropic,
        400,
        &[],
        r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 215000 tokens > 200000 maximum"}}"#,
        C::ContextLength,
        None,
        &["prompt is too long"],
    );
}

#[test]
fn gemini_token_count_exceeded() {
    check(
        K::Gemini,
        400,
        &[],
        r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
        C::ContextLength,
        None,
        &["exceeds the maximum number of tokens"],
    );
}

#[test]
fn generic_bad_request_quotes_the_provider() {
    check(
        K::OpenAiCompatible,
        400,
        &[],
        r#"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","code":null}}"#,
        C::BadRequest,
        None,
        &["Invalid value for 'temperature'"],
    );
    check(
        K::Anthropic,
        413,
        &[],
        r#"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}"#,
        C::BadRequest,
        None,
        &["413"],
    );
}

#[test]
fn content_policy_refusal() {
    check(
        K::OpenAiCompatible,
        400,
        &[],
        r#"{"error":{"message":"The response was filtered due to the prompt triggering the content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}"#,
        C::ContentFilter,
        None,
        &["content policy", "content management policy"],
    );
}

#[test]
fn gemini_bad_key_is_auth_even_as_400() {
    check(
        K::Gemini,
        400,
        &[],
        r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#,
        C::Auth,
        None,
        &["Gemini rejected the API key", "provider settings"],
    );
}

#[test]
fn auth_failures() {
    check(
        K::OpenAiCompatible,
        401,
        &[],
        r#"{"error":{"message":"Incorrect API key provided: sk-abc***","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        C::Auth,
        None,
        &["rejected the API key", "Incorrect API key"],
    );
    check(
        K::Anthropic,
        401,
        &[],
        r#"{"type":"error","error":{"type":"authentication_error","message":"CORS requests must set 'anthropic-dangerous-direct-browser-access' header"}}"#,
        C::Auth,
        None,
        &["Anthropic", "CORS requests"],
    );
    check(
        K::Anthropic,
        403,
        &[],
        r#"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission"}}"#,
        C::Auth,
        None,
        &["403"],
    );
}

#[test]
fn ollama_forbidden_origin_explains_the_fix() {
    check(
        K::Ollama,
        403,
        &[],
        "",
        C::OriginNotAllowed,
        None,
        &["OLLAMA_ORIGINS=chrome-extension://*,moz-extension://*"],
    );
}

#[test]
fn not_found_model() {
    check(
        K::OpenAiCompatible,
        404,
        &[],
        r#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
        C::NotFound,
        None,
        &["model name", "gpt-9"],
    );
    check(
        K::Ollama,
        404,
        &[],
        r#"{"error":"model \"llama9\" not found, try pulling it first"}"#,
        C::NotFound,
        None,
        &["llama9"],
    );
}

#[test]
fn timeout_and_conflict() {
    check(K::OpenAiCompatible, 408, &[], "", C::Timeout, None, &["timed out"]);
    check(K::OpenAiCompatible, 409, &[], "", C::Conflict, None, &["409"]);
}

#[test]
fn rate_limits_with_retry_headers() {
    check(
        K::OpenAiCompatible,
        429,
        &[("retry-after-ms", "1500"), ("Retry-After", "9")],
        r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
        C::RateLimited,
        Some(1500),
        &["rate limiting", "1.5 s"],
    );
    check(
        K::Anthropic,
        429,
        &[("Retry-After", "12")],
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#,
        C::RateLimited,
        Some(12_000),
        &["12.0 s"],
    );
    check(
        K::Gemini,
        429,
        &[],
        r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#,
        C::RateLimited,
        None,
        &["Gemini"],
    );
    check(
        K::OpenAiCompatible,
        429,
        &[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")],
        "",
        C::RateLimited,
        None,
        &["429"],
    );
}

#[test]
fn spent_quota_is_never_a_rate_limit() {
    check(
        K::Anthropic,
        429,
        &[("retry-after", "30")],
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits. You will regain access on 2026-12-01."}}"#,
        C::QuotaExhausted,
        Some(30_000),
        &["retrying will not help"],
    );
    check(
        K::Anthropic,
        400,
        &[],
        r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#,
        C::QuotaExhausted,
        None,
        &["credit"],
    );
    check(
        K::OpenAiCompatible,
        429,
        &[],
        r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        C::QuotaExhausted,
        None,
        &["limit is used up"],
    );
    check(
        K::OpenAiCompatible,
        402,
        &[],
        r#"{"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits"}}"#,
        C::QuotaExhausted,
        None,
        &["Insufficient credits"],
    );
}

#[test]
fn server_errors() {
    check(
        K::OpenAiCompatible,
        500,
        &[],
        r#"{"error":{"message":"The server had an error","type":"server_error"}}"#,
        C::Server,
        None,
        &["server error", "500"],
    );
    check(
        K::Ollama,
        503,
        &[],
        r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#,
        C::Server,
        None,
        &["server busy"],
    );
    check(
        K::Gemini,
        504,
        &[],
        "upstream request timeout",
        C::Server,
        None,
        &["504", "upstream request timeout"],
    );
}

#[test]
fn cloudflare_502_page_is_summarised_not_dumped() {
    let page = "<!DOCTYPE html>\n<html><head><title>api.example.com | 502: Bad gateway</title><style>body{}</style></head>\
                <body><div class=\"cf-error\">Cloudflare Ray ID: 8a1b2c3d</div>".to_string()
        + &"<p>filler</p>".repeat(500)
        + "</body></html>";
    check(K::OpenAiCompatible, 502, &[], &page, C::Server, None, &["502", "Bad gateway", "Cloudflare"]);
    check(
        K::OpenAiCompatible,
        502,
        &[],
        "<html><body>no title</body></html>",
        C::Server,
        None,
        &["HTTP 502 Bad gateway"],
    );
}

#[test]
fn overloaded() {
    check(
        K::Anthropic,
        529,
        &[],
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        C::Overloaded,
        None,
        &["overloaded"],
    );
    check(K::Anthropic, 529, &[], "", C::Overloaded, None, &["529"]);
}

#[test]
fn retry_after_parsing() {
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<u64>);
    let cases: &[Case] = &[
        (&[], None),
        (&[("retry-after", "2")], Some(2000)),
        (&[("retry-after", "0.5")], Some(500)),
        (&[("Retry-After-Ms", "250.4")], Some(250)),
        (&[("retry-after-ms", "abc"), ("retry-after", "3")], Some(3000)),
        (&[("retry-after", "-1")], None),
        (&[("retry-after", "Fri, 31 Dec 1999 23:59:59 GMT")], None),
        (&[("retry-after", "1e400")], None),
    ];
    for (hdrs, want) in cases {
        assert_eq!(retry_after_ms(&headers(hdrs)), *want, "{hdrs:?}");
    }
}

#[test]
fn status_alone() {
    let cases = [
        (400, C::BadRequest),
        (401, C::Auth),
        (403, C::Auth),
        (404, C::NotFound),
        (408, C::Timeout),
        (409, C::Conflict),
        (413, C::BadRequest),
        (429, C::RateLimited),
        (500, C::Server),
        (502, C::Server),
        (503, C::Server),
        (504, C::Server),
        (529, C::Overloaded),
    ];
    for (status, class) in cases {
        assert_eq!(class_for_status(status), class, "{status}");
        let err = classify_http_error(K::OpenAiCompatible, status, &[], "");
        assert_eq!(err.class, class, "{status} with empty body");
    }
}
