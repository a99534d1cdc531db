//! The extension's settings: the provider list and the router's settings, in one JSON format shared
//! by the options page, settings import/export and managed policy.
//!
//! - Every field has a default, so a partial document (an older export, a policy that sets only a
//!   few fields) reads cleanly; unknown fields are ignored.
//! - [`Settings::validate`] names the offending field (`providers[1].config.base_url`).
//! - The provider order is the failover chain: [`Settings::router_config`] gives the router the
//!   enabled providers in list order (or `router.chain`, when set, minus disabled providers).
//! - API keys stay out of exports unless asked ([`Settings::export_json`]); an import without keys
//!   can keep the current ones ([`Settings::keep_keys_from`]); an imported file keeps a stored key
//!   only where the provider's [`Endpoint`] (kind, scheme, host, port) is unchanged
//!   ([`Settings::keep_keys_at_same_endpoint`]): a file cannot send a key to another host.

use serde::{Deserialize, Serialize};

use crate::provider::{ProviderConfig, ProviderKind};
use crate::router::{ConfigError, RouterConfig};

/// The settings format version this build reads and writes.
pub const SETTINGS_VERSION: u32 = 1;

/// The longest provider id accepted.
pub const MAX_ID_LEN: usize = 64;

/// Everything the user (or a policy) configures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The format version ([`SETTINGS_VERSION`]).
    pub version: u32,
    /// The alternative providers, in failover order.
    pub providers: Vec<ProviderEntry>,
    /// Timeouts, retries and circuit breaker settings (`chain` may stay empty: see
    /// [`Settings::router_config`]). Fields left out take [`default_router`]'s values.
    #[serde(deserialize_with = "router_over_defaults")]
    pub router: RouterConfig,
    /// Cap on each answer's length in tokens, when set.
    pub max_output_tokens: Option<u32>,
}

/// One configured provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderEntry {
    /// A stable id (letters, digits, `-`, `_`, `.`), used by the router and the timeline.
    pub id: String,
    /// The name shown to the user (the kind's name when empty).
    #[serde(default)]
    pub label: String,
    /// Whether the provider is part of the chain.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How to reach it.
    pub config: ProviderConfig,
}

fn yes() -> bool {
    true
}

impl ProviderEntry {
    /// The label, or the kind's name when the label is empty.
    pub fn display_label(&self) -> &str {
        if self.label.trim().is_empty() { self.config.kind.display_name() } else { self.label.trim() }
    }
}

impl Default for Settings {
    /// No provider that needs a key; Chrome's on-device model (used when the browser has it) and a
    /// local Ollama entry, disabled until the user turns it on.
    fn default() -> Self {
        Self {
            version: SETTINGS_VERSION,
            providers: vec![
                ProviderEntry {
                    id: "chrome-builtin".into(),
                    label: "Chrome on-device model".into(),
                    enabled: true,
                    config: ProviderConfig {
                        kind: ProviderKind::ChromeBuiltIn,
                        base_url: String::new(),
                        model: "gemini-nano".into(),
                        api_key: None,
                        max_context_tokens: Some(4_096),
                    },
                },
                ProviderEntry {
                    id: "ollama-local".into(),
                    label: "Ollama on this computer".into(),
                    enabled: false,
                    config: ProviderConfig {
                        kind: ProviderKind::Ollama,
                        base_url: ProviderKind::Ollama.default_base_url().into(),
                        model: "llama3.2".into(),
                        api_key: None,
                        max_context_tokens: Some(8_192),
                    },
                },
            ],
            router: default_router(),
            max_output_tokens: None,
        }
    }
}

/// The extension's router defaults: the router's documented values, except that a retryable
/// failure switches at once to another healthy provider instead of sleeping first
/// (`switch_if_wait_over_ms: 0`): the user is waiting, and the provider left keeps its retries
/// for later in the same request.
pub fn default_router() -> RouterConfig {
    RouterConfig { switch_if_wait_over_ms: 0, ..RouterConfig::default() }
}

/// Reads the router settings over [`default_router`]: fields present override, nested objects
/// (backoff, breaker) merge field by field.
fn router_over_defaults<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RouterConfig, D::Error> {
    use serde::de::Error;
    let given = serde_json::Value::deserialize(d)?;
    let mut base = serde_json::to_value(default_router()).map_err(D::Error::custom)?;
    overlay(&mut base, given);
    RouterConfig::deserialize(base).map_err(D::Error::custom)
}

fn overlay(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => overlay(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Settings that cannot be used; each names the field at fault.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsError {
    /// The document is not JSON of the expected shape.
    Json(String),
    /// The format version is newer than this build knows.
    UnsupportedVersion(u32),
    /// `providers[index].id` is empty, too long, or has characters outside `A-Z a-z 0-9 - _ .`.
    InvalidId {
        /// The entry's position.
        index: usize,
        /// The id given.
        id: String,
    },
    /// Two entries share an id.
    DuplicateId(String),
    /// `providers[index].config.model` is empty or has spaces.
    InvalidModel {
        /// The entry's position.
        index: usize,
        /// The model given.
        model: String,
    },
    /// `providers[index].config.base_url` is not an http(s) URL.
    InvalidBaseUrl {
        /// The entry's position.
        index: usize,
        /// The URL given.
        url: String,
    },
    /// `providers[index].config.max_context_tokens` is zero.
    ZeroContext {
        /// The entry's position.
        index: usize,
    },
    /// `router.chain` names a provider that is not in the list.
    UnknownChainProvider(String),
    /// `max_output_tokens` is zero.
    ZeroMaxOutputTokens,
    /// A router setting is refused.
    Router(ConfigError),
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingsError::Json(e) => write!(f, "the settings are not valid JSON of the expected shape: {e}"),
            SettingsError::UnsupportedVersion(v) => write!(
                f,
                "version: settings version {v} is newer than this Understudy reads ({SETTINGS_VERSION}); \
                 update the extension"
            ),
            SettingsError::InvalidId { index, id } => write!(
                f,
                "providers[{index}].id: {id:?} must be 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.'"
            ),
            SettingsError::DuplicateId(id) => write!(f, "providers: the id {id:?} is used twice"),
            SettingsError::InvalidModel { index, model } => {
                write!(f, "providers[{index}].config.model: {model:?} is empty or has spaces")
            }
            SettingsError::InvalidBaseUrl { index, url } => {
                write!(f, "providers[{index}].config.base_url: {url:?} must start with http:// or https://")
            }
            SettingsError::ZeroContext { index } => {
                write!(f, "providers[{index}].config.max_context_tokens: must be above zero")
            }
            SettingsError::UnknownChainProvider(id) => {
                write!(f, "router.chain: {id:?} is not one of the configured providers")
            }
            SettingsError::ZeroMaxOutputTokens => f.write_str("max_output_tokens: must be above zero"),
            SettingsError::Router(e) => write!(f, "router: {e}"),
        }
    }
}

impl std::error::Error for SettingsError {}

/// A stored API key an import did not carry over to a provider ([`Settings::keep_keys_at_same_endpoint`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyNotKept {
    /// The provider's id.
    pub id: String,
    /// The provider's name, as the user sees it.
    pub label: String,
    /// What the user is told: `the key of <name> was not kept: its address changed to <origin>;
    /// enter it again`.
    pub message: String,
}

/// Where a provider's requests go, and so who receives its API key: the provider's kind and the
/// scheme, host and port of its base URL (the kind's default when the URL is empty; the port is
/// the scheme's default when not written). Read as a browser reads a URL's authority: it ends at
/// the first `/`, `?`, `#` or `\`, and the host follows the last `@` in it. The host is compared
/// in ASCII lower case, nothing else is normalised: two endpoints that compare equal are the same
/// server for the browser; a spelling this does not normalise (a trailing dot, percent-escapes)
/// only makes a key stay behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Which API the provider speaks.
    pub kind: ProviderKind,
    /// `https` or `http` (empty for Chrome's on-device model, which has no address).
    pub scheme: String,
    /// The host, lower case (an IPv6 address keeps its brackets).
    pub host: String,
    /// The port, written or the scheme's default.
    pub port: Option<u16>,
}

impl Endpoint {
    /// The endpoint of `config`; `None` when its base URL cannot be read (its key then stays
    /// with no other address).
    pub fn of(config: &ProviderConfig) -> Option<Endpoint> {
        let raw = config.base_url.trim();
        let raw = if raw.is_empty() { config.kind.default_base_url() } else { raw };
        if raw.is_empty() {
            return Some(Endpoint {
                kind: config.kind,
                scheme: String::new(),
                host: String::new(),
                port: None,
            });
        }
        let (scheme, rest) = raw.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if host_port.starts_with('[') {
            let end = host_port.find(']')?;
            let after = &host_port[end + 1..];
            (&host_port[..=end], after.strip_prefix(':'))
        } else {
            match host_port.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            None | Some("") => default_port,
            Some(p) => p.parse::<u16>().ok()?,
        };
        Some(Endpoint { kind: config.kind, scheme, host: host.to_ascii_lowercase(), port: Some(port) })
    }

    /// `scheme://host`, with `:port` when it is not the scheme's default.
    pub fn origin(&self) -> String {
        let default = matches!((self.scheme.as_str(), self.port), ("https", Some(443)) | ("http", Some(80)));
        match self.port {
            Some(port) if !default => format!("{}://{}:{port}", self.scheme, self.host),
            _ => format!("{}://{}", self.scheme, self.host),
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Settings {
    /// Reads and validates settings from JSON.
    pub fn from_json(text: &str) -> Result<Self, SettingsError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SettingsError::Json(e.to_string()))?;
        if !value.is_object() {
            return Err(SettingsError::Json("the top level must be an object".into()));
        }
        let settings = Settings::deserialize(&value).map_err(|e| SettingsError::Json(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// The settings as pretty JSON; API keys are left out unless `include_keys`.
    pub fn export_json(&self, include_keys: bool) -> String {
        let json = if include_keys {
            serde_json::to_string_pretty(self)
        } else {
            serde_json::to_string_pretty(&self.without_keys())
        };
        // Serialising plain data with string keys cannot fail; fall back to an empty object anyway.
        json.unwrap_or_else(|_| "{}".to_owned())
    }

    /// A copy with every API key removed.
    pub fn without_keys(&self) -> Settings {
        let mut copy = self.clone();
        for p in &mut copy.providers {
            p.config.api_key = None;
        }
        copy
    }

    /// Fills each provider without a key with the key of the provider of the same id in `current`
    /// (an import of an export made without keys keeps the keys already set).
    pub fn keep_keys_from(&mut self, current: &Settings) {
        for p in &mut self.providers {
            if p.config.api_key.as_deref().is_none_or(|k| k.trim().is_empty())
                && let Some(old) = current.provider(&p.id)
                && old.config.kind == p.config.kind
            {
                p.config.api_key.clone_from(&old.config.api_key);
            }
        }
    }

    /// Like [`Settings::keep_keys_from`], for an imported file: a provider without a key takes the
    /// stored key of the provider of the same id only when its [`Endpoint`] is unchanged (same
    /// kind, scheme, host and port; the path may differ). Otherwise the key stays behind and the
    /// answer says so, by the provider's name: a file that moves a provider elsewhere must not
    /// take the user's key with it.
    pub fn keep_keys_at_same_endpoint(&mut self, current: &Settings) -> Vec<KeyNotKept> {
        let mut dropped = Vec::new();
        for p in &mut self.providers {
            if p.config.api_key.as_deref().is_some_and(|k| !k.trim().is_empty()) {
                continue; // the file gives its own key
            }
            let Some(old) = current.provider(&p.id) else { continue };
            if old.config.api_key.as_deref().is_none_or(|k| k.trim().is_empty()) {
                continue;
            }
            let (was, now) = (Endpoint::of(&old.config), Endpoint::of(&p.config));
            if was.is_some() && was == now {
                p.config.api_key.clone_from(&old.config.api_key);
                continue;
            }
            let change = if old.config.kind != p.config.kind {
                format!("its kind changed to {}", p.config.kind.display_name())
            } else {
                let to = now.map_or_else(|| p.config.base_url.trim().to_owned(), |e| e.origin());
                format!("its address changed to {to}")
            };
            let label = p.display_label().to_owned();
            dropped.push(KeyNotKept {
                id: p.id.clone(),
                message: format!("the key of {label} was not kept: {change}; enter it again"),
                label,
            });
        }
        dropped
    }

    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&ProviderEntry> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Checks every field; the first problem found is returned, naming its field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.version > SETTINGS_VERSION {
            return Err(SettingsError::UnsupportedVersion(self.version));
        }
        for (index, p) in self.providers.iter().enumerate() {
            if !valid_id(&p.id) {
                return Err(SettingsError::InvalidId { index, id: p.id.clone() });
            }
            if self.providers[..index].iter().any(|q| q.id == p.id) {
                return Err(SettingsError::DuplicateId(p.id.clone()));
            }
            let model = p.config.model.trim();
            if p.config.kind != ProviderKind::ChromeBuiltIn
                && (model.is_empty() || model.contains(char::is_whitespace))
            {
                return Err(SettingsError::InvalidModel { index, model: p.config.model.clone() });
            }
            let url = p.config.base_url.trim();
            if p.config.kind != ProviderKind::ChromeBuiltIn && !url.is_empty() {
                let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
                if rest.is_none_or(|r| r.is_empty() || r.starts_with('/') || r.contains(char::is_whitespace))
                {
                    return Err(SettingsError::InvalidBaseUrl { index, url: p.config.base_url.clone() });
                }
            }
            if p.config.max_context_tokens == Some(0) {
                return Err(SettingsError::ZeroContext { index });
            }
        }
        if let Some(id) = self.router.chain.iter().find(|id| self.provider(id).is_none()) {
            return Err(SettingsError::UnknownChainProvider(id.clone()));
        }
        if self.max_output_tokens == Some(0) {
            return Err(SettingsError::ZeroMaxOutputTokens);
        }
        self.router_config().validate().map_err(SettingsError::Router)
    }

    /// The router's settings with the effective chain: `router.chain` when set, else every
    /// provider in list order; disabled providers are left out either way.
    pub fn router_config(&self) -> RouterConfig {
        let enabled = |id: &str| self.provider(id).is_some_and(|p| p.enabled);
        let chain: Vec<String> = if self.router.chain.is_empty() {
            self.providers.iter().filter(|p| p.enabled).map(|p| p.id.clone()).collect()
        } else {
            self.router.chain.iter().filter(|id| enabled(id)).cloned().collect()
        };
        RouterConfig { chain, ..self.router.clone() }
    }
}
