//! The settings format: defaults, validation messages naming the field, JSON round trip, key export.
use understudy::provider::ProviderKind;
use understudy::settings::{SETTINGS_VERSION, Settings};

/// Reads `json` and checks the outcome: `Ok(chain)` with the effective router chain joined by
/// commas, or `Err(text)` with a fragment of the error message.
fn check(json: &str, expect: Result<&str, &str>) {
    match (Settings::from_json(json), expect) {
        (Ok(s), Ok(chain)) => assert_eq!(s.router_config().chain.join(","), chain, "{json}"),
        (Err(e), Err(fragment)) => {
            let text = e.to_string();
            assert!(text.contains(fragment), "{json}: {text:?} lacks {fragment:?}");
        }
        (got, want) => panic!("{json}: got {got:?}, want {want:?}"),
    }
}

const OPENAI: &str = r#"{"id":"openai","config":{"kind":"open_ai_compatible","base_url":"https://api.openai.com/v1","model":"gpt-4o-mini","api_key":"sk-1"}}"#;
const CLAUDE: &str = r#"{"id":"claude","label":"Claude","config":{"kind":"anthropic","model":"claude-3-5-haiku-latest","api_key":"sk-ant"}}"#;

fn with_providers(list: &[&str], extra: &str) -> String {
    format!(r#"{{"version":1,"providers":[{}]{extra}}}"#, list.join(","))
}

#[test]
fn reading_and_validating() {
    // An empty document is the defaults: Chrome's model on, Ollama off.
    check("{}", Ok("chrome-builtin"));
    check(&with_providers(&[OPENAI, CLAUDE], ""), Ok("openai,claude"));
    check(
        &with_providers(&[OPENAI, CLAUDE], r#","router":{"chain":["claude","openai"]}"#),
        Ok("claude,openai"),
    );
    let disabled = CLAUDE.replace(r#""id":"claude""#, r#""id":"claude","enabled":false"#);
    check(&with_providers(&[OPENAI, &disabled], ""), Ok("openai"));
    check(&with_providers(&[], ""), Ok(""));
    // Errors name the field.
    check("[]", Err("not valid JSON"));
    check("{\"providers\":7}", Err("not valid JSON"));
    check(r#"{"version":9}"#, Err("version: settings version 9 is newer"));
    check(&with_providers(&[&OPENAI.replace("\"openai\"", "\"\"")], ""), Err("providers[0].id"));
    check(&with_providers(&[&OPENAI.replace("\"openai\"", "\"a b\"")], ""), Err("providers[0].id"));
    check(&with_providers(&[OPENAI, OPENAI], ""), Err("\"openai\" is used twice"));
    check(
        &with_providers(&[OPENAI, &CLAUDE.replace("claude-3-5-haiku-latest", " ")], ""),
        Err("providers[1].config.model"),
    );
    check(
        &with_providers(&[&OPENAI.replace("https://api.openai.com/v1", "ftp://x")], ""),
        Err("providers[0].config.base_url"),
    );
    check(&with_providers(&[&OPENAI.replace("https://api.openai.com/v1", "https://")], ""), Err("base_url"));
    check(&with_providers(&[&OPENAI.replace("open_ai_compatible", "telepathy")], ""), Err("unknown variant"));
    check(&with_providers(&[OPENAI], r#","router":{"chain":["nobody"]}"#), Err("router.chain: \"nobody\""));
    check(
        &with_providers(&[OPENAI], r#","router":{"stall_timeout_ms":0}"#),
        Err("router: the first-byte and stall"),
    );
    check(&with_providers(&[OPENAI], r#","max_output_tokens":0"#), Err("max_output_tokens"));
    let zero_ctx = OPENAI.replace(r#""api_key""#, r#""max_context_tokens":0,"api_key""#);
    check(&with_providers(&[&zero_ctx], ""), Err("providers[0].config.max_context_tokens"));
}

#[test]
fn defaults_and_round_trip() {
    let d = Settings::default();
    assert_eq!(d.version, SETTINGS_VERSION);
    let kinds: Vec<(ProviderKind, bool)> = d.providers.iter().map(|p| (p.config.kind, p.enabled)).collect();
    assert_eq!(kinds, [(ProviderKind::ChromeBuiltIn, true), (ProviderKind::Ollama, false)]);
    assert!(d.providers.iter().all(|p| p.config.api_key.is_none()));
    assert!(d.validate().is_ok());
    let s =
        Settings::from_json(&with_providers(&[OPENAI, CLAUDE], r#","router":{"first_byte_timeout_ms":500}"#))
            .unwrap();
    assert_eq!(s.router.first_byte_timeout_ms, 500);
    assert_eq!(s.router.stall_timeout_ms, 20_000, "unset fields keep their defaults");
    assert_eq!(s.router.switch_if_wait_over_ms, 0, "switch at once to a healthy provider by default");
    let nested =
        Settings::from_json(r#"{"router":{"backoff":{"initial_ms":20},"switch_if_wait_over_ms":1000}}"#)
            .unwrap();
    assert_eq!((nested.router.backoff.initial_ms, nested.router.backoff.cap_ms), (20, 8_000));
    assert_eq!(nested.router.switch_if_wait_over_ms, 1000);
    assert_eq!(Settings::default().router.switch_if_wait_over_ms, 0);
    assert_eq!(Settings::from_json(&s.export_json(true)).unwrap(), s);
    assert_eq!(s.providers[1].display_label(), "Claude");
    assert_eq!(s.providers[0].display_label(), "OpenAI-compatible server");
}

#[test]
fn keys_stay_out_of_exports_unless_asked() {
    let s = Settings::from_json(&with_providers(&[OPENAI, CLAUDE], "")).unwrap();
    let bare = s.export_json(false);
    assert!(!bare.contains("sk-1") && !bare.contains("sk-ant"), "{bare}");
    let full = s.export_json(true);
    assert!(full.contains("sk-1") && full.contains("sk-ant"));
    // Importing the bare export keeps the keys already set for the same provider and kind.
    let mut imported = Settings::from_json(&bare).unwrap();
    assert_eq!(imported.providers[0].config.api_key, None);
    imported.keep_keys_from(&s);
    assert_eq!(imported, s);
    // A provider whose kind changed does not inherit the old key.
    let mut changed = Settings::from_json(&bare.replace("anthropic", "gemini")).unwrap();
    changed.keep_keys_from(&s);
    assert_eq!(changed.providers[1].config.api_key, None);
}
