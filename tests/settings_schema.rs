//! The JSON Schema of the settings (`extension/settings.schema.json`) and the Rust format agree:
//! what Rust writes validates against the schema, the schema documents every field Rust writes,
//! the README's example reads in both, and the managed policy schema only offers fields the
//! settings format has.

use serde_json::{Value, json};
use understudy::preferences::{Policy, SCHEMA_JSON, SettingsDocument, apply_policy, schema};

fn schema_value() -> Value {
    serde_json::from_str(SCHEMA_JSON).expect("the schema is JSON")
}

/// The README's example: an OpenAI-compatible provider first, Ollama second.
const README_EXAMPLE: &str = r#"{
  "version": 1,
  "providers": [
    {
      "id": "openrouter",
      "label": "OpenRouter",
      "enabled": true,
      "config": {
        "kind": "open_ai_compatible",
        "base_url": "https://openrouter.ai/api/v1",
        "model": "openai/gpt-4o-mini",
        "api_key": "sk-or-v1-your-key"
      }
    },
    {
      "id": "ollama-local",
      "label": "Ollama on this computer",
      "enabled": true,
      "config": { "kind": "ollama", "base_url": "http://localhost:11434", "model": "llama3.2" }
    }
  ],
  "router": { "first_byte_timeout_ms": 10000, "stall_timeout_ms": 15000 },
  "auto_mode": { "enabled": true, "service_down": true, "capacity": true, "rate_limited": false },
  "capture": { "enabled": true, "temporary_chats": false }
}"#;

/// Both judges on one document: the schema's verdict and Rust's, as `ok` or the field at fault.
fn judge(doc: &Value) -> (String, String) {
    let by_schema = match schema::check_against(&schema_value(), doc) {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.field,
    };
    let by_rust = match SettingsDocument::from_value(doc.clone()) {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.field,
    };
    (by_schema, by_rust)
}

fn check(doc: Value, schema_expect: &str, rust_expect: &str) {
    let (s, r) = judge(&doc);
    assert_eq!((s.as_str(), r.as_str()), (schema_expect, rust_expect), "document: {doc}");
}

#[test]
fn what_rust_writes_validates_against_the_schema() {
    let defaults = SettingsDocument::default().to_value(true);
    check(defaults, "ok", "ok");
    let example: Value = serde_json::from_str(README_EXAMPLE).unwrap();
    check(example.clone(), "ok", "ok");
    let doc = SettingsDocument::from_value(example).unwrap();
    assert_eq!(doc.settings.providers[0].config.base_url, "https://openrouter.ai/api/v1");
    assert_eq!(doc.settings.router_config().chain, ["openrouter", "ollama-local"]);
    assert!(doc.preferences.auto_mode.redirects("capacity"));
    assert!(!doc.preferences.auto_mode.redirects("rate_limited"));
    // What Rust writes back (with every default filled in) still validates.
    check(doc.to_value(true), "ok", "ok");
    check(doc.to_value(false), "ok", "ok");
}

#[test]
fn schema_and_rust_refuse_the_same_shapes_at_the_same_field() {
    let p = |config: Value| json!({"providers": [{"id": "a", "config": config}]});
    check(
        json!({"router": {"first_byte_timeout_ms": "soon"}}),
        "router.first_byte_timeout_ms",
        "router.first_byte_timeout_ms",
    );
    check(json!({"router": {"stall_timeout_ms": 10}}), "router.stall_timeout_ms", "router.stall_timeout_ms");
    check(
        p(json!({"kind": "telepathy", "model": "m"})),
        "providers[0].config.kind",
        "providers[0].config.kind",
    );
    check(p(json!({"kind": "ollama"})), "providers[0].config.model", "providers[0].config.model");
    check(
        json!({"providers": [{"config": {"kind": "ollama", "model": "m"}}]}),
        "providers[0].id",
        "providers[0].id",
    );
    check(
        json!({"providers": [{"id": "", "config": {"kind": "ollama", "model": "m"}}]}),
        "providers[0].id",
        "providers[0].id",
    );
    check(json!({"capture": {"enabled": 1}}), "capture.enabled", "capture.enabled");
    check(json!({"answer_in": "popup"}), "answer_in", "answer_in");
    check(json!({"max_output_tokens": 0}), "max_output_tokens", "max_output_tokens");
    check(json!({"version": 9}), "version", "version");
    // Rules the schema cannot say (URL form, spaces in a model, duplicates) are Rust's alone.
    check(
        p(json!({"kind": "ollama", "model": "m", "base_url": "localhost:11434"})),
        "ok",
        "providers[0].config.base_url",
    );
    check(p(json!({"kind": "ollama", "model": "two words"})), "ok", "providers[0].config.model");
    // Unknown fields are ignored by both (an export from a newer build still imports).
    check(json!({"theme": "dark", "router": {"future_knob": 3}}), "ok", "ok");
}

/// Every object key Rust writes has a `properties` entry in the schema at the same place.
fn documented(schema: &Value, root: &Value, node: &Value, path: &str, missing: &mut Vec<String>) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => root["$defs"][r.trim_start_matches("#/$defs/")].clone(),
        None => schema.clone(),
    };
    match node {
        Value::Object(map) => {
            for (k, v) in map {
                let sub = format!("{path}.{k}");
                match schema.get("properties").and_then(|p| p.get(k)) {
                    Some(s) => documented(s, root, v, &sub, missing),
                    None => missing.push(sub),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                documented(&schema["items"], root, v, &format!("{path}[]"), missing);
            }
        }
        _ => {}
    }
}

#[test]
fn the_schema_documents_every_field_rust_writes() {
    let root = schema_value();
    let mut missing = Vec::new();
    let example = SettingsDocument::from_json(README_EXAMPLE).unwrap().to_value(true);
    documented(&root, &root, &example, "", &mut missing);
    documented(&root, &root, &SettingsDocument::default().to_value(true), "", &mut missing);
    missing.dedup();
    assert!(missing.is_empty(), "fields without a schema entry: {missing:?}");
}

#[test]
fn the_managed_schema_offers_only_settings_fields_and_its_example_applies() {
    let managed: Value = serde_json::from_str(include_str!("../extension/managed_schema.json"))
        .expect("managed schema is JSON");
    let settings = schema_value();
    for key in managed["properties"].as_object().unwrap().keys() {
        assert!(
            key == "allow_user_providers" || settings["properties"].get(key).is_some(),
            "the policy field {key} is not part of the settings format"
        );
    }
    // Chrome's schema dialect has no type lists or $refs: each type is one string.
    fn single_types(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                m.get("type").is_none_or(Value::is_string)
                    && !m.contains_key("$ref")
                    && m.values().all(single_types)
            }
            Value::Array(a) => a.iter().all(single_types),
            _ => true,
        }
    }
    assert!(single_types(&managed));
    let policy_example = json!({
        "providers": [{"id": "corp", "label": "Company gateway", "config": {"kind": "open_ai_compatible", "base_url": "https://llm.corp.example/v1", "model": "corp-gpt"}}],
        "router": {"first_byte_timeout_ms": 8000},
        "auto_mode": {"enabled": true}
    });
    schema::check_against(&managed, &policy_example).unwrap();
    let policy = Policy::from_value(&policy_example).unwrap();
    let applied = apply_policy(&SettingsDocument::default(), &policy, &[]).unwrap();
    assert_eq!(applied.document.settings.providers[0].id, "corp");
    assert!(applied.locks.field_locked("auto_mode.enabled"));
}
