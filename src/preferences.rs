//! The whole settings document: the provider [`Settings`] plus the user's preferences (auto mode
//! per failure kind, capture and privacy switches, where answers stream), in one JSON object.
//!
//! - One format, described by `extension/settings.schema.json` ([`SCHEMA_JSON`]); an import is
//!   checked against that schema first ([`schema::check`]), so a wrong type names its field
//!   (`router.first_byte_timeout_ms: expected an integer`), then by [`Settings::validate`].
//! - A managed policy ([`Policy`], from `chrome.storage.managed`) is laid over the user's document
//!   by [`apply_policy`]: the organisation's providers come first and are locked, and every field
//!   it sets is locked ([`Locks`]). [`save`] refuses a change to a locked field, naming it.
//! - API keys: [`save`] keeps the stored key of a provider whose incoming entry has none (the
//!   options page never receives keys), unless the user asked to clear it. [`import`] keeps a
//!   stored key only for a provider whose endpoint (kind, scheme, host, port) the file leaves
//!   unchanged, and names each key it left behind. [`public_view`] is what a page may see: no
//!   key, only which providers have one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::settings::{KeyNotKept, ProviderEntry, Settings, SettingsError};

/// The JSON Schema of the settings document (`extension/settings.schema.json`).
pub const SCHEMA_JSON: &str = include_str!("../extension/settings.schema.json");

/// The failure kinds auto mode can act on, as detection names them.
pub const AUTO_KINDS: [&str; 7] = [
    "service_down",
    "capacity",
    "generation_error",
    "network_error",
    "rate_limited",
    "conversation_unavailable",
    "unknown_error",
];

/// Redirect without asking: off unless `enabled`, then per failure kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoMode {
    /// The master switch (off by default).
    pub enabled: bool,
    /// ChatGPT (or its edge) is down.
    pub service_down: bool,
    /// ChatGPT is at capacity.
    pub capacity: bool,
    /// An answer failed to generate.
    pub generation_error: bool,
    /// The connection dropped or stalled.
    pub network_error: bool,
    /// The user hit a rate limit or usage cap.
    pub rate_limited: bool,
    /// A conversation cannot be loaded.
    pub conversation_unavailable: bool,
    /// An error no rule recognises.
    pub unknown_error: bool,
}

impl Default for AutoMode {
    fn default() -> Self {
        Self {
            enabled: false,
            service_down: true,
            capacity: true,
            generation_error: true,
            network_error: false,
            rate_limited: false,
            conversation_unavailable: false,
            unknown_error: false,
        }
    }
}

impl AutoMode {
    /// Whether a failure of this kind (detection's name, e.g. `service_down`) is carried on
    /// without asking.
    pub fn redirects(&self, kind: &str) -> bool {
        self.enabled
            && match kind {
                "service_down" => self.service_down,
                "capacity" => self.capacity,
                "generation_error" => self.generation_error,
                "network_error" => self.network_error,
                "rate_limited" => self.rate_limited,
                "conversation_unavailable" => self.conversation_unavailable,
                "unknown_error" => self.unknown_error,
                _ => false,
            }
    }
}

/// What is kept of the user's conversations (locally).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapturePrefs {
    /// Keep conversations in the local cache.
    pub enabled: bool,
    /// Also keep temporary chats (off: they are never captured).
    pub temporary_chats: bool,
}

impl Default for CapturePrefs {
    fn default() -> Self {
        Self { enabled: true, temporary_chats: false }
    }
}

/// Where a rescued answer streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerPlace {
    /// In the notice next to the failed turn.
    #[default]
    Notice,
    /// In the side panel.
    SidePanel,
}

/// The preferences kept beside the provider settings (same JSON object, top-level fields).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Auto mode per failure kind.
    pub auto_mode: AutoMode,
    /// Capture and privacy switches.
    pub capture: CapturePrefs,
    /// Where answers stream.
    pub answer_in: AnswerPlace,
    /// Understudy does nothing on chat pages while paused.
    pub paused: bool,
    /// The chat sites Understudy leaves alone (site ids: `gemini`, `copilot`, ...): no detection,
    /// no capture, no rescue there. Every site is watched by default.
    pub sites_off: Vec<String>,
}

impl Preferences {
    /// Whether Understudy watches the chat site `site` (an id).
    pub fn watches(&self, site: &str) -> bool {
        !self.sites_off.iter().any(|s| s == site)
    }
}

/// The settings document: [`Settings`] and [`Preferences`] side by side in one JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingsDocument {
    /// Providers and router.
    pub settings: Settings,
    /// Everything else the user chooses.
    pub preferences: Preferences,
}

/// A problem with a settings document, naming the field at fault (`providers[1].config.model`;
/// empty when the whole document is at fault).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The path of the field.
    pub field: String,
    /// What is wrong, in words for the user.
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

impl From<SettingsError> for FieldError {
    /// Splits the error's `field: message` text; errors about the whole document keep no field.
    fn from(e: SettingsError) -> Self {
        if let SettingsError::DuplicateId(id) = &e {
            return FieldError::new("providers", format!("the id {id:?} is used twice"));
        }
        let text = e.to_string();
        match text.split_once(": ") {
            Some((field, message))
                if !field.is_empty() && !field.contains(' ') && !matches!(e, SettingsError::Json(_)) =>
            {
                FieldError::new(field, message)
            }
            _ => FieldError::new("", text),
        }
    }
}

impl SettingsDocument {
    /// Reads a document from JSON text (an import): shape checked against the schema, then
    /// every value validated.
    pub fn from_json(text: &str) -> Result<Self, FieldError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| FieldError::new("", format!("this is not valid JSON ({e})")))?;
        Self::from_value(value)
    }

    /// Reads a document from a JSON value (see [`SettingsDocument::from_json`]).
    pub fn from_value(value: Value) -> Result<Self, FieldError> {
        if !value.is_object() {
            return Err(FieldError::new("", "the settings must be a JSON object"));
        }
        schema::check(&value)?;
        let settings = Settings::deserialize(&value).map_err(|e| FieldError::new("", e.to_string()))?;
        let preferences = Preferences::deserialize(&value).map_err(|e| FieldError::new("", e.to_string()))?;
        let doc = Self { settings, preferences };
        doc.validate()?;
        Ok(doc)
    }

    /// Checks every value; the first problem found names its field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let r = &self.settings.router;
        for (field, ms) in [
            ("router.first_byte_timeout_ms", r.first_byte_timeout_ms),
            ("router.stall_timeout_ms", r.stall_timeout_ms),
        ] {
            if ms < 100 {
                return Err(FieldError::new(field, "must be at least 100 ms"));
            }
        }
        self.settings.validate().map_err(FieldError::from)
    }

    /// The document as one JSON object; API keys only when `include_keys`.
    pub fn to_value(&self, include_keys: bool) -> Value {
        let settings = if include_keys { self.settings.clone() } else { self.settings.without_keys() };
        let mut out = match serde_json::to_value(&settings) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        if let Ok(Value::Object(prefs)) = serde_json::to_value(&self.preferences) {
            out.extend(prefs);
        }
        Value::Object(out)
    }

    /// The document as pretty JSON text (an export); API keys only when `include_keys`.
    pub fn to_json(&self, include_keys: bool) -> String {
        serde_json::to_string_pretty(&self.to_value(include_keys)).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The ids of the providers that have a key.
    pub fn providers_with_key(&self) -> Vec<String> {
        self.settings
            .providers
            .iter()
            .filter(|p| p.config.api_key.as_deref().is_some_and(|k| !k.trim().is_empty()))
            .map(|p| p.id.clone())
            .collect()
    }
}

// ---- managed policy ----------------------------------------------------------------------------

/// The top-level fields a policy may set besides `providers` (each locks what it sets).
const POLICY_FIELDS: [&str; 7] =
    ["router", "max_output_tokens", "auto_mode", "capture", "answer_in", "paused", "sites_off"];

/// An organisation's policy (`chrome.storage.managed`, shaped by `extension/managed_schema.json`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    /// Providers set by the organisation: first in the chain, locked.
    pub providers: Vec<ProviderEntry>,
    /// Whether users may keep providers of their own (true unless the policy says false).
    pub allow_user_providers: bool,
    /// The other fields it sets, as in the settings document.
    overrides: Map<String, Value>,
}

impl Policy {
    /// No policy.
    pub fn none() -> Self {
        Self { allow_user_providers: true, ..Self::default() }
    }

    /// Reads a policy; fields are checked like a settings document's, named with `policy.`.
    pub fn from_value(value: &Value) -> Result<Self, FieldError> {
        let Some(map) = value.as_object() else {
            return Ok(Self::none());
        };
        let prefixed = |e: FieldError| FieldError::new(format!("policy.{}", e.field), e.message);
        let mut overrides = Map::new();
        for key in POLICY_FIELDS {
            if let Some(v) = map.get(key).filter(|v| !v.is_null()) {
                overrides.insert(key.to_owned(), v.clone());
            }
        }
        let mut shape = overrides.clone();
        let sets_providers = map.get("providers").is_some_and(|p| !p.is_null());
        // Without providers of its own, the check must not take the default providers for the policy's.
        shape.insert(
            "providers".into(),
            map.get("providers").filter(|_| sets_providers).cloned().unwrap_or(Value::Array(Vec::new())),
        );
        let doc = SettingsDocument::from_value(Value::Object(shape)).map_err(prefixed)?;
        let allow_user_providers = match map.get("allow_user_providers") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(FieldError::new("policy.allow_user_providers", "expected true or false"));
            }
        };
        Ok(Self { providers: doc.settings.providers, allow_user_providers, overrides })
    }

    /// Whether the policy sets nothing.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty() && self.allow_user_providers && self.overrides.is_empty()
    }
}

/// What a policy locks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Locks {
    /// Ids of the organisation's providers.
    pub providers: Vec<String>,
    /// Dotted paths of the locked fields (`router.first_byte_timeout_ms`, `capture.enabled`).
    pub fields: Vec<String>,
    /// Whether the user may add providers.
    pub user_providers: bool,
}

impl Locks {
    /// Whether the field at `path` is locked (itself or an enclosing object).
    pub fn field_locked(&self, path: &str) -> bool {
        self.fields.iter().any(|f| {
            path == f || (path.starts_with(f.as_str()) && path.as_bytes().get(f.len()) == Some(&b'.'))
        })
    }
}

/// A document with a policy laid over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The effective document (what the extension uses; keys included).
    pub document: SettingsDocument,
    /// What the policy locks.
    pub locks: Locks,
}

fn overlay(base: &mut Value, over: &Value, path: &str, locked: &mut Vec<String>) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                let slot = b.entry(k.clone()).or_insert(Value::Null);
                if v.is_object() && slot.is_object() {
                    overlay(slot, v, &sub, locked);
                } else {
                    *slot = v.clone();
                    locked.push(sub);
                }
            }
        }
        (b, o) => {
            *b = o.clone();
            locked.push(path.to_owned());
        }
    }
}

/// Lays `policy` over the user's `doc`: the organisation's providers first (replacing the user's
/// entries of the same ids), the user's own after them (dropped when the policy forbids them, and
/// those in `previously_managed` that the policy no longer sets), then each field it sets.
pub fn apply_policy(
    doc: &SettingsDocument,
    policy: &Policy,
    previously_managed: &[String],
) -> Result<Applied, FieldError> {
    let managed: Vec<&str> = policy.providers.iter().map(|p| p.id.as_str()).collect();
    let mut providers = policy.providers.clone();
    if policy.allow_user_providers {
        providers.extend(
            doc.settings
                .providers
                .iter()
                .filter(|p| !managed.contains(&p.id.as_str()) && !previously_managed.contains(&p.id))
                .cloned(),
        );
    }
    let mut value = doc.to_value(true);
    if let Some(map) = value.as_object_mut() {
        let list = serde_json::to_value(&providers).unwrap_or(Value::Array(Vec::new()));
        map.insert("providers".into(), list);
        // A chain naming a provider the policy removed would be refused: keep the ids still there.
        if let Some(Value::Array(chain)) = map.get_mut("router").and_then(|r| r.get_mut("chain")) {
            chain.retain(|id| id.as_str().is_some_and(|id| providers.iter().any(|p| p.id == id)));
        }
    }
    let mut fields = Vec::new();
    overlay(&mut value, &Value::Object(policy.overrides.clone()), "", &mut fields);
    let document = SettingsDocument::from_value(value)?;
    let locks = Locks {
        providers: managed.iter().map(|s| (*s).to_owned()).collect(),
        fields,
        user_providers: policy.allow_user_providers,
    };
    Ok(Applied { document, locks })
}

fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, k| v.get(k))
}

/// How a page asks to save: the edited document (keys only where the user typed a new one) and
/// the ids whose key the user removed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SaveRequest {
    /// The edited document.
    pub settings: Value,
    /// Providers whose key is to be removed.
    pub clear_keys: Vec<String>,
}

/// Saves an edited document over `current` (the stored, effective one): checks it, refuses a
/// change to anything `policy` locks (naming the field), keeps the stored keys where none was
/// typed (and the kind is unchanged), removes those in `clear_keys`, and lays the policy over it.
pub fn save(
    request: SaveRequest,
    current: &SettingsDocument,
    policy: &Policy,
    previously_managed: &[String],
) -> Result<Applied, FieldError> {
    let mut incoming = SettingsDocument::from_value(request.settings)?;
    let before = apply_policy(current, policy, previously_managed)?;
    check_locks(&incoming, &before)?;
    incoming.settings.keep_keys_from(&current.settings);
    for p in &mut incoming.settings.providers {
        if request.clear_keys.contains(&p.id) {
            p.config.api_key = None;
        }
    }
    apply_policy(&incoming, policy, previously_managed)
}

/// An import's outcome: the effective document, and the stored keys it did not carry over.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The document with the policy laid over it.
    pub applied: Applied,
    /// Providers whose stored key stayed behind (their endpoint changed), each with its message.
    pub keys_not_kept: Vec<KeyNotKept>,
}

/// Reads an imported document and lays the policy over it. A provider the file gives without a
/// key keeps the stored key of the same id only when its endpoint (kind, scheme, host, port) is
/// unchanged; otherwise the key is dropped and named in [`Imported::keys_not_kept`] (a file must
/// not send the user's key to another host).
pub fn import(
    text: &str,
    current: &SettingsDocument,
    policy: &Policy,
    previously_managed: &[String],
) -> Result<Imported, FieldError> {
    let mut incoming = SettingsDocument::from_json(text)?;
    let keys_not_kept = incoming.settings.keep_keys_at_same_endpoint(&current.settings);
    let applied = apply_policy(&incoming, policy, previously_managed)?;
    // The organisation's providers replace the file's entries of the same ids: nothing was lost there.
    let keys_not_kept =
        keys_not_kept.into_iter().filter(|k| !applied.locks.providers.contains(&k.id)).collect();
    Ok(Imported { applied, keys_not_kept })
}

fn check_locks(incoming: &SettingsDocument, before: &Applied) -> Result<(), FieldError> {
    const LOCKED: &str = "is set by your organisation and cannot be changed";
    let new = incoming.to_value(false);
    let old = before.document.to_value(false);
    for field in &before.locks.fields {
        if at(&new, field) != at(&old, field) {
            return Err(FieldError::new(field.clone(), LOCKED));
        }
    }
    for id in &before.locks.providers {
        let old_entry = before.document.settings.provider(id).map(strip_key);
        match incoming.settings.providers.iter().position(|p| &p.id == id) {
            None => {
                return Err(FieldError::new(
                    "providers",
                    format!("{id:?} is set by your organisation and cannot be removed"),
                ));
            }
            Some(i) if Some(strip_key(&incoming.settings.providers[i])) != old_entry => {
                return Err(FieldError::new(format!("providers[{i}]"), LOCKED));
            }
            Some(_) => {}
        }
    }
    if !before.locks.user_providers
        && let Some((i, _)) = incoming
            .settings
            .providers
            .iter()
            .enumerate()
            .find(|(_, p)| !before.locks.providers.contains(&p.id))
    {
        return Err(FieldError::new(
            format!("providers[{i}]"),
            "your organisation does not allow providers of your own",
        ));
    }
    Ok(())
}

fn strip_key(p: &ProviderEntry) -> ProviderEntry {
    let mut p = p.clone();
    p.config.api_key = None;
    p
}

/// What a page may see: the document without keys, which providers have a key, and the locks.
#[derive(Debug, Clone, Serialize)]
pub struct PublicView {
    /// The effective document, without any key.
    pub settings: Value,
    /// Ids of the providers that have a key.
    pub has_key: Vec<String>,
    /// What the organisation locks.
    pub locks: Locks,
}

/// The view of `applied` a page may see.
pub fn public_view(applied: &Applied) -> PublicView {
    PublicView {
        settings: applied.document.to_value(false),
        has_key: applied.document.providers_with_key(),
        locks: applied.locks.clone(),
    }
}

/// An export: without keys unless `include_keys`, and never with the organisation's keys.
pub fn export(applied: &Applied, include_keys: bool) -> String {
    let mut doc = applied.document.clone();
    for p in &mut doc.settings.providers {
        if applied.locks.providers.contains(&p.id) {
            p.config.api_key = None;
        }
    }
    doc.to_json(include_keys)
}

// ---- the schema checker ------------------------------------------------------------------------

/// A checker for the subset of JSON Schema the settings schema uses: `type` (one or a list),
/// `properties`, `required`, `items`, `enum`, `minimum`, `maximum`, `minLength`, `maxLength`,
/// `maxItems` and local `$ref`s (`#/$defs/name`). Other keywords are ignored.
pub mod schema {
    use serde_json::Value;

    use super::{FieldError, SCHEMA_JSON};

    /// Checks `value` against the settings schema ([`SCHEMA_JSON`]).
    pub fn check(value: &Value) -> Result<(), FieldError> {
        let schema: Value = serde_json::from_str(SCHEMA_JSON)
            .map_err(|e| FieldError::new("", format!("the built-in schema is unreadable: {e}")))?;
        check_against(&schema, value)
    }

    /// Checks `value` against `schema` (its root holds the `$defs`).
    pub fn check_against(schema: &Value, value: &Value) -> Result<(), FieldError> {
        let mut path = String::new();
        node(schema, schema, value, &mut path, 0)
    }

    fn type_name(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    fn says(t: &str) -> &str {
        match t {
            "integer" => "a whole number",
            "number" => "a number",
            "string" => "text",
            "boolean" => "true or false",
            "array" => "a list",
            "object" => "an object",
            "null" => "null",
            other => other,
        }
    }

    fn fail(path: &str, message: String) -> Result<(), FieldError> {
        Err(FieldError::new(path, message))
    }

    fn node(
        root: &Value,
        schema: &Value,
        value: &Value,
        path: &mut String,
        depth: u32,
    ) -> Result<(), FieldError> {
        if depth > 32 {
            return fail(path, "the settings are nested too deeply".into());
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let target = r.strip_prefix("#/$defs/").and_then(|name| root.get("$defs")?.get(name));
            return match target {
                Some(t) => node(root, t, value, path, depth + 1),
                None => fail(path, format!("the schema refers to {r}, which it does not define")),
            };
        }
        let actual = type_name(value);
        if let Some(t) = schema.get("type") {
            let allowed: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let fits = allowed.iter().any(|a| *a == actual || (*a == "number" && actual == "integer"));
            if !allowed.is_empty() && !fits {
                let wanted: Vec<&str> = allowed.iter().map(|a| says(a)).collect();
                return fail(path, format!("expected {}, found {}", wanted.join(" or "), says(actual)));
            }
        }
        if let Some(Value::Array(options)) = schema.get("enum")
            && !options.contains(value)
        {
            let names: Vec<String> = options.iter().map(Value::to_string).collect();
            return fail(path, format!("{value} is not one of {}", names.join(", ")));
        }
        if let Some(n) = value.as_f64() {
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                return fail(path, format!("{value} is below the minimum of {min}"));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                return fail(path, format!("{value} is above the maximum of {max}"));
            }
        }
        if let Some(s) = value.as_str() {
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                return fail(
                    path,
                    if min == 1 {
                        "must not be empty".into()
                    } else {
                        format!("needs at least {min} characters")
                    },
                );
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                return fail(path, format!("is longer than {max} characters"));
            }
        }
        if let Some(obj) = value.as_object() {
            if let Some(Value::Array(required)) = schema.get("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(name) {
                        let field = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
                        return fail(&field, "is missing".into());
                    }
                }
            }
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, sub) in props {
                    if let Some(v) = obj.get(name) {
                        let len = path.len();
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(name);
                        node(root, sub, v, path, depth + 1)?;
                        path.truncate(len);
                    }
                }
            }
        }
        if let Some(items) = value.as_array() {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                return fail(path, format!("has more than {max} entries"));
            }
            if let Some(sub) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    node(root, sub, v, path, depth + 1)?;
                    path.truncate(len);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn err(value: Value) -> String {
        match SettingsDocument::from_value(value) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    fn check(value: Value, expect: &str) {
        let got = err(value.clone());
        assert!(got.starts_with(expect), "{value}\n  got: {got}\n  expected to start with: {expect}");
    }

    fn provider(id: &str, url: &str, model: &str) -> Value {
        json!({"id": id, "config": {"kind": "open_ai_compatible", "base_url": url, "model": model}})
    }

    #[test]
    fn documents_are_checked_field_by_field() {
        check(json!({}), "ok");
        check(json!({"providers": [provider("a", "https://x.test/v1", "m")]}), "ok");
        check(json!([]), "the settings must be a JSON object");
        check(
            json!({"router": {"first_byte_timeout_ms": "fast"}}),
            "router.first_byte_timeout_ms: expected a whole number, found text",
        );
        check(
            json!({"router": {"stall_timeout_ms": 50}}),
            "router.stall_timeout_ms: 50 is below the minimum",
        );
        check(json!({"providers": [provider("a", "ftp://x", "m")]}), "providers[0].config.base_url:");
        check(json!({"providers": [provider("a", "https://x.test", "")]}), "providers[0].config.model:");
        check(
            json!({"providers": [provider("a", "https://x.test", "m"), provider("b", "nope", "m")]}),
            "providers[1].config.base_url:",
        );
        check(json!({"providers": [{"id": "a"}]}), "providers[0].config: is missing");
        check(
            json!({"providers": [{"id": "a", "config": {"kind": "x", "model": "m"}}]}),
            "providers[0].config.kind: \"x\" is not one of",
        );
        check(json!({"providers": [provider("a b", "https://x.test", "m")]}), "providers[0].id:");
        check(
            json!({"providers": [provider("a", "https://x.test", "m"), provider("a", "https://y.test", "m")]}),
            "providers: the id \"a\" is used twice",
        );
        check(json!({"auto_mode": {"enabled": "yes"}}), "auto_mode.enabled: expected true or false");
        check(json!({"answer_in": "popup"}), "answer_in: \"popup\" is not one of");
        check(json!({"version": 2}), "version: 2 is above the maximum");
        check(json!({"max_output_tokens": 0}), "max_output_tokens: 0 is below the minimum");
        check(
            json!({"router": {"chain": ["ghost"]}}),
            "router.chain: \"ghost\" is not one of the configured providers",
        );
    }

    #[test]
    fn preferences_round_trip_beside_the_settings() {
        let text = r#"{"auto_mode": {"enabled": true, "rate_limited": true}, "capture": {"temporary_chats": true}, "answer_in": "side_panel"}"#;
        let doc = SettingsDocument::from_json(text).unwrap();
        assert!(doc.preferences.auto_mode.redirects("service_down"));
        assert!(doc.preferences.auto_mode.redirects("rate_limited"));
        assert!(!doc.preferences.auto_mode.redirects("blocked"));
        // An answer withheld by policy is carried elsewhere only when the user asks; a conversation
        // too long for ChatGPT too (the user picks the provider with the longer context window).
        let all = r#"{"auto_mode": {"enabled": true, "service_down": true, "capacity": true, "generation_error": true, "network_error": true, "rate_limited": true, "conversation_unavailable": true, "unknown_error": true}}"#;
        let every = SettingsDocument::from_json(all).unwrap();
        assert!(!every.preferences.auto_mode.redirects("refused"));
        assert!(!every.preferences.auto_mode.redirects("conversation_too_long"));
        assert!(doc.preferences.capture.enabled && doc.preferences.capture.temporary_chats);
        let again = SettingsDocument::from_value(doc.to_value(true)).unwrap();
        assert_eq!(again, doc);
        assert_eq!(doc.settings, Settings::default());
        let off = SettingsDocument::default();
        assert!(
            AUTO_KINDS.iter().all(|k| !off.preferences.auto_mode.redirects(k)),
            "auto mode is off by default"
        );
    }

    #[test]
    fn sites_can_be_left_alone() {
        let all = SettingsDocument::default();
        assert!(["chatgpt", "claude", "gemini", "copilot"].iter().all(|s| all.preferences.watches(s)));
        let doc = SettingsDocument::from_json(r#"{"sites_off": ["gemini", "copilot"]}"#).unwrap();
        assert!(!doc.preferences.watches("gemini") && !doc.preferences.watches("copilot"));
        assert!(doc.preferences.watches("claude"));
        assert_eq!(SettingsDocument::from_value(doc.to_value(true)).unwrap(), doc);
        let err = SettingsDocument::from_json(r#"{"sites_off": ["myspace"]}"#).unwrap_err();
        assert_eq!(err.field, "sites_off[0]", "{err:?}");
    }

    fn with_key(id: &str, key: &str) -> SettingsDocument {
        let mut v = json!({"providers": [provider(id, "https://x.test/v1", "m")]});
        v["providers"][0]["config"]["api_key"] = json!(key);
        SettingsDocument::from_value(v).unwrap()
    }

    #[test]
    fn saving_keeps_keys_that_were_not_retyped_and_clears_on_request() {
        let current = with_key("a", "sk-old");
        let none = Policy::none();
        let keep = SaveRequest { settings: current.to_value(false), clear_keys: vec![] };
        let saved = save(keep, &current, &none, &[]).unwrap();
        assert_eq!(saved.document.providers_with_key(), vec!["a"]);
        assert_eq!(saved.document.settings.providers[0].config.api_key.as_deref(), Some("sk-old"));
        let clear = SaveRequest { settings: current.to_value(false), clear_keys: vec!["a".into()] };
        assert!(save(clear, &current, &none, &[]).unwrap().document.providers_with_key().is_empty());
        let view = public_view(&saved);
        assert!(!view.settings.to_string().contains("sk-old"));
        assert_eq!(view.has_key, vec!["a"]);
        assert!(!export(&saved, false).contains("sk-old"));
        assert!(export(&saved, true).contains("sk-old"));
    }

    fn policy(v: Value) -> Policy {
        Policy::from_value(&v).unwrap()
    }

    #[test]
    fn a_policy_puts_its_providers_first_and_locks_what_it_sets() {
        let user = with_key("mine", "sk-user");
        let p = policy(json!({
            "providers": [{"id": "org", "label": "Company gateway", "config": {"kind": "open_ai_compatible", "base_url": "https://gw.corp.test/v1", "model": "gpt-4o", "api_key": "sk-org"}}],
            "router": {"first_byte_timeout_ms": 5000},
            "capture": {"temporary_chats": false}
        }));
        let applied = apply_policy(&user, &p, &[]).unwrap();
        let ids: Vec<&str> = applied.document.settings.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["org", "mine"]);
        assert_eq!(applied.document.settings.router.first_byte_timeout_ms, 5000);
        assert_eq!(applied.locks.providers, ["org"]);
        assert!(applied.locks.field_locked("router.first_byte_timeout_ms"));
        assert!(!applied.locks.field_locked("router.stall_timeout_ms"));
        assert!(applied.locks.field_locked("capture.temporary_chats"));
        assert!(!export(&applied, true).contains("sk-org"), "the organisation's key is never exported");

        // Unchanged locked values save; changed ones are refused, naming the field.
        let page = public_view(&applied).settings;
        let ok = save(SaveRequest { settings: page.clone(), clear_keys: vec![] }, &applied.document, &p, &[]);
        assert!(ok.is_ok(), "{ok:?}");
        let refused = |edit: &dyn Fn(&mut Value)| {
            let mut v = page.clone();
            edit(&mut v);
            save(SaveRequest { settings: v, clear_keys: vec![] }, &applied.document, &p, &[])
                .unwrap_err()
                .to_string()
        };
        assert!(
            refused(&|v| v["router"]["first_byte_timeout_ms"] = json!(9000))
                .starts_with("router.first_byte_timeout_ms: is set by your organisation")
        );
        assert!(
            refused(&|v| v["providers"][0]["enabled"] = json!(false))
                .starts_with("providers[0]: is set by your organisation")
        );
        assert!(
            refused(&|v| v["providers"][0]["config"]["base_url"] = json!("https://evil.test"))
                .starts_with("providers[0]:")
        );
        assert!(
            refused(&|v| {
                v["providers"].as_array_mut().unwrap().remove(0);
            })
            .contains("cannot be removed")
        );

        // A provider the policy no longer sets goes away; the user's stays.
        let later = apply_policy(&applied.document, &Policy::none(), &["org".into()]).unwrap();
        let ids: Vec<&str> = later.document.settings.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["mine"]);
    }

    #[test]
    fn a_policy_can_forbid_providers_of_ones_own() {
        let user = with_key("mine", "sk-user");
        let p = policy(
            json!({"allow_user_providers": false, "providers": [provider("org", "https://gw.test/v1", "m")]}),
        );
        let applied = apply_policy(&user, &p, &[]).unwrap();
        assert_eq!(applied.document.settings.providers.len(), 1);
        let mut page = public_view(&applied).settings;
        page["providers"].as_array_mut().unwrap().push(provider("extra", "https://x.test", "m"));
        let e =
            save(SaveRequest { settings: page, clear_keys: vec![] }, &applied.document, &p, &[]).unwrap_err();
        assert_eq!(e.field, "providers[1]");
        assert!(
            Policy::from_value(&json!({"router": {"stall_timeout_ms": "x"}}))
                .unwrap_err()
                .to_string()
                .starts_with("policy.router.stall_timeout_ms:")
        );
        assert!(Policy::from_value(&Value::Null).unwrap().is_empty());
        assert!(Policy::from_value(&json!({})).unwrap().is_empty(), "an empty policy sets no provider");
        let only_router = policy(json!({"router": {"stall_timeout_ms": 3000}}));
        assert!(only_router.providers.is_empty());
        let applied = apply_policy(&SettingsDocument::default(), &only_router, &[]).unwrap();
        assert_eq!(applied.document.settings.providers.len(), 2);
        assert!(applied.locks.providers.is_empty());
    }

    #[test]
    fn imports_keep_current_keys_when_the_file_has_none() {
        let current = with_key("a", "sk-old");
        let file = current.to_json(false);
        let imported = import(&file, &current, &Policy::none(), &[]).unwrap();
        assert_eq!(imported.applied.document.settings.providers[0].config.api_key.as_deref(), Some("sk-old"));
        assert!(imported.keys_not_kept.is_empty());
        let bad = import(
            r#"{"providers": [{"id": "x", "config": {"kind": "ollama", "model": "m", "base_url": "localhost"}}]}"#,
            &current,
            &Policy::none(),
            &[],
        );
        assert_eq!(bad.unwrap_err().field, "providers[0].config.base_url");
        assert_eq!(import("{", &current, &Policy::none(), &[]).unwrap_err().field, "");
    }

    /// Imports a file that gives provider "a" (stored: open_ai_compatible at `stored_url`, key
    /// `sk-old`) as `kind` at `url` without a key: "kept", or the message about the dropped key.
    fn imported_key(stored_url: &str, kind: &str, url: &str) -> String {
        let mut v = json!({"providers": [provider("a", stored_url, "m")]});
        v["providers"][0]["label"] = json!("Gateway");
        v["providers"][0]["config"]["api_key"] = json!("sk-old");
        let current = SettingsDocument::from_value(v).unwrap();
        let file = json!({"providers": [{"id": "a", "label": "Gateway", "config": {"kind": kind, "base_url": url, "model": "m"}}]});
        let imported = import(&file.to_string(), &current, &Policy::none(), &[]).unwrap();
        let key = imported.applied.document.settings.providers[0].config.api_key.clone();
        match imported.keys_not_kept.as_slice() {
            [] => {
                assert_eq!(key.as_deref(), Some("sk-old"));
                "kept".into()
            }
            [k] => {
                assert_eq!(key, None, "a key not kept is not stored");
                assert_eq!((k.id.as_str(), k.label.as_str()), ("a", "Gateway"));
                k.message.clone()
            }
            many => panic!("one provider, {} messages", many.len()),
        }
    }

    fn check_key(stored_url: &str, kind: &str, url: &str, expect: &str) {
        let got = imported_key(stored_url, kind, url);
        assert_eq!(got, expect, "{stored_url} -> {kind} {url}");
    }

    #[test]
    fn an_import_keeps_a_stored_key_only_at_the_same_endpoint() {
        const OAI: &str = "open_ai_compatible";
        let moved = |to: &str| {
            format!("the key of Gateway was not kept: its address changed to {to}; enter it again")
        };
        // Same scheme, host and port: kept (the path, the host's case and a written default port
        // do not matter).
        check_key("https://x.test/v1", OAI, "https://x.test/v1", "kept");
        check_key("https://x.test/v1", OAI, "https://x.test/v2/", "kept");
        check_key("https://x.test/v1", OAI, "https://X.Test:443/v1", "kept");
        check_key("http://127.0.0.1:8080/v1", OAI, "http://127.0.0.1:8080", "kept");
        // An empty base URL is the kind's default address.
        check_key("", OAI, "https://api.openai.com/v1", "kept");
        check_key("https://api.openai.com/v1", OAI, "", "kept");
        // Another host, another port, another scheme (either way): dropped.
        check_key("https://x.test/v1", OAI, "https://evil.test/v1", &moved("https://evil.test"));
        check_key(
            "https://x.test/v1",
            OAI,
            "https://x.test.evil.test/v1",
            &moved("https://x.test.evil.test"),
        );
        check_key("https://x.test/v1", OAI, "https://x.test:8443/v1", &moved("https://x.test:8443"));
        check_key(
            "http://127.0.0.1:8080/v1",
            OAI,
            "http://127.0.0.1:8081/v1",
            &moved("http://127.0.0.1:8081"),
        );
        check_key("http://x.test/v1", OAI, "https://x.test/v1", &moved("https://x.test"));
        check_key("https://x.test/v1", OAI, "http://x.test/v1", &moved("http://x.test"));
        check_key("", OAI, "https://api.openai.com.evil.test/v1", &moved("https://api.openai.com.evil.test"));
        // The host is what a browser would call: after the last `@`, before `/ ? # \`.
        check_key("https://x.test/v1", OAI, "https://x.test@evil.test/v1", &moved("https://evil.test"));
        check_key("https://x.test/v1", OAI, "https://x.test\\@evil.test/v1", "kept");
        check_key("https://x.test/v1", OAI, "https://x.test?@evil.test", "kept");
        check_key("http://[::1]:8080/v1", OAI, "http://[::1]:8081/v1", &moved("http://[::1]:8081"));
        // Another kind at the same address: dropped too.
        check_key(
            "https://x.test/v1",
            "anthropic",
            "https://x.test/v1",
            "the key of Gateway was not kept: its kind changed to Anthropic; enter it again",
        );
    }

    #[test]
    fn a_file_with_its_own_key_or_a_new_provider_drops_nothing() {
        let current = with_key("a", "sk-old");
        let mut file = current.to_value(false);
        file["providers"][0]["config"]["base_url"] = json!("https://other.test/v1");
        file["providers"][0]["config"]["api_key"] = json!("sk-file");
        let imported = import(&file.to_string(), &current, &Policy::none(), &[]).unwrap();
        assert!(imported.keys_not_kept.is_empty());
        assert_eq!(
            imported.applied.document.settings.providers[0].config.api_key.as_deref(),
            Some("sk-file")
        );
        // A provider of another id never takes a stored key.
        let mut other = current.to_value(false);
        other["providers"][0]["id"] = json!("b");
        let imported = import(&other.to_string(), &current, &Policy::none(), &[]).unwrap();
        assert!(imported.keys_not_kept.is_empty());
        assert!(imported.applied.document.providers_with_key().is_empty());
    }
}
