//! Exports for providers, stream decoding, settings and the router, used by the service worker.
//!
//! The stream decoder is the hot path: one `feed` call per network chunk takes the bytes (one copy
//! into Wasm memory) and returns only the text that chunk completed. Everything else is called a
//! few times per request.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::interop::{from_js, to_js};
use crate::provider::{
    ChatMessage, ProviderConfig, ProviderKind, RequestOptions, StreamDecoder, StreamFormat, StreamOutcome,
    build_request, classify_http_error, decoder_for, fit_to_context,
};
use crate::router::{Action, Failure, HealthBook, Route};
use crate::services::Millis;
use crate::settings::Settings;

fn millis(now: f64) -> Millis {
    if now.is_finite() && now > 0.0 { now as Millis } else { 0 }
}

/// An incremental decoder for one provider stream (`new StreamDecoder('openai-chat')`).
#[wasm_bindgen(js_name = StreamDecoder)]
pub struct WebStreamDecoder {
    inner: Box<dyn StreamDecoder>,
}

#[derive(Serialize)]
struct FinishedView<'a> {
    text: &'a str,
    outcome: &'static str,
    finish: Option<&'static str>,
    error: Option<ErrorView<'a>>,
}

#[derive(Serialize)]
struct ErrorView<'a> {
    class: &'static str,
    message: &'a str,
}

#[wasm_bindgen(js_class = StreamDecoder)]
impl WebStreamDecoder {
    /// A decoder for `format` (`openai-chat`, `openai-responses`, `anthropic`, `gemini`, `ollama`).
    #[wasm_bindgen(constructor)]
    pub fn new(format: &str) -> Result<WebStreamDecoder, JsError> {
        let format = StreamFormat::from_name(format)
            .ok_or_else(|| JsError::new(&format!("unknown stream format {format:?}")))?;
        Ok(Self { inner: decoder_for(format) })
    }

    /// Feeds the next chunk of the body; returns the answer text it completed (often empty).
    pub fn feed(&mut self, bytes: &[u8]) -> String {
        self.inner.feed(bytes).to_owned()
    }

    /// Whether the end is already known (end marker, error event, malformed chunk): stop reading.
    #[wasm_bindgen(js_name = isEnded)]
    pub fn is_ended(&self) -> bool {
        self.inner.outcome().is_some()
    }

    /// Ends the stream: `{text, outcome: 'complete'|'error'|'truncated', finish, error}` where
    /// `text` is text completed only by the end and `error` is `{class, message}` or null.
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        let end = self.inner.finish();
        let (finish, error) = match &end.outcome {
            StreamOutcome::Complete { finish } => {
                let name = match finish {
                    crate::provider::FinishReason::Stop => "stop",
                    crate::provider::FinishReason::Length => "length",
                    crate::provider::FinishReason::ContentFilter => "content_filter",
                };
                (Some(name), None)
            }
            StreamOutcome::Error { class, message } => {
                (None, Some(ErrorView { class: class.as_str(), message }))
            }
            StreamOutcome::Truncated => (None, None),
        };
        to_js(&FinishedView { text: &end.text, outcome: end.outcome.kind_name(), finish, error })
    }
}

/// The stream format a provider kind uses (`open_ai_compatible` → `openai-chat`), or undefined
/// for Chrome's built-in model.
#[wasm_bindgen(js_name = streamFormatFor)]
pub fn stream_format_for(kind: JsValue) -> Result<Option<String>, JsError> {
    let kind: ProviderKind = from_js(kind)?;
    Ok(StreamFormat::for_kind(kind).map(|f| f.name().to_owned()))
}

#[derive(Serialize)]
struct RequestView {
    method: String,
    url: String,
    headers: serde_json::Map<String, serde_json::Value>,
    body: String,
    note: Option<String>,
}

/// Builds the streaming request for a provider config, a conversation and options:
/// `{method, url, headers: {name: value}, body, note}`. When the config has
/// `max_context_tokens`, the conversation is first trimmed to it (newest turns kept) and `note`
/// says what was left out.
#[wasm_bindgen(js_name = buildRequest)]
pub fn build_request_js(config: JsValue, messages: JsValue, options: JsValue) -> Result<JsValue, JsError> {
    let config: ProviderConfig = from_js(config)?;
    let mut messages: Vec<ChatMessage> = from_js(messages)?;
    let options: RequestOptions = if options.is_undefined() || options.is_null() {
        RequestOptions::default()
    } else {
        from_js(options)?
    };
    let mut note = None;
    if let Some(max) = config.max_context_tokens {
        let (kept, dropped) = fit_to_context(&messages, max);
        if dropped.is_some() {
            messages = kept;
            note = dropped;
        }
    }
    let request = build_request(&config, &messages, &options).map_err(|e| JsError::new(&e.to_string()))?;
    let headers = request.headers.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
    to_js(&RequestView { method: request.method, url: request.url, headers, body: request.body, note })
}

/// Classifies an HTTP error answer: `{class, message, retry_after_ms}`. `headers` is a list of
/// `[name, value]` pairs.
#[wasm_bindgen(js_name = classifyHttpError)]
pub fn classify_http_error_js(
    kind: JsValue,
    status: u16,
    headers: JsValue,
    body: &str,
) -> Result<JsValue, JsError> {
    let kind: ProviderKind = from_js(kind)?;
    let headers: Vec<(String, String)> = from_js(headers)?;
    to_js(&classify_http_error(kind, status, &headers, body))
}

#[derive(Serialize)]
struct FittedView {
    messages: Vec<ChatMessage>,
    note: Option<String>,
}

/// Keeps the newest turns that fit `max_tokens`: `{messages, note}` (note says what was dropped).
#[wasm_bindgen(js_name = fitToContext)]
pub fn fit_to_context_js(messages: JsValue, max_tokens: u32) -> Result<JsValue, JsError> {
    let messages: Vec<ChatMessage> = from_js(messages)?;
    let (messages, note) = fit_to_context(&messages, max_tokens);
    to_js(&FittedView { messages, note })
}

fn settings_from(value: JsValue) -> Result<Settings, JsError> {
    let settings: Settings = if value.is_undefined() || value.is_null() {
        Settings::default()
    } else {
        serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("settings: {e}")))?
    };
    settings.validate().map_err(|e| JsError::new(&e.to_string()))?;
    Ok(settings)
}

/// The default settings as a plain object.
#[wasm_bindgen(js_name = defaultSettings)]
pub fn default_settings() -> Result<JsValue, JsError> {
    to_js(&Settings::default())
}

/// Validates settings (undefined gives the defaults) and returns them with every default filled
/// in; throws an Error naming the field at fault.
#[wasm_bindgen(js_name = validateSettings)]
pub fn validate_settings(settings: JsValue) -> Result<JsValue, JsError> {
    to_js(&settings_from(settings)?)
}

/// The settings as JSON text; API keys only when `include_keys`.
#[wasm_bindgen(js_name = exportSettings)]
pub fn export_settings(settings: JsValue, include_keys: bool) -> Result<String, JsError> {
    Ok(settings_from(settings)?.export_json(include_keys))
}

/// Reads settings from JSON text (an import); throws an Error naming the field at fault.
#[wasm_bindgen(js_name = importSettings)]
pub fn import_settings(json: &str) -> Result<JsValue, JsError> {
    to_js(&Settings::from_json(json).map_err(|e| JsError::new(&e.to_string()))?)
}

/// One request's failover route plus the shared provider health, driven by the service worker.
/// Each event method returns the action to perform as a plain object (`{action: 'fetch', ...}`,
/// see the router's documentation); `chunk` returns undefined when there is nothing to do.
#[wasm_bindgen(js_name = Router)]
pub struct WebRouter {
    route: Route,
    health: HealthBook,
}

fn action(result: Result<Action, crate::router::RouteError>) -> Result<JsValue, JsError> {
    let action = result.map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&action)
}

fn health_from(json: Option<String>) -> Result<HealthBook, JsError> {
    match json.as_deref().map(str::trim) {
        None | Some("") => Ok(HealthBook::new()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| JsError::new(&format!("saved provider health: {e}")))
        }
    }
}

#[wasm_bindgen(js_class = Router)]
impl WebRouter {
    /// A route over the settings' chain (enabled providers), jitter seeded by `seed`, with the
    /// saved health JSON (empty or undefined: all healthy).
    #[wasm_bindgen(constructor)]
    pub fn new(settings: JsValue, seed: f64, health_json: Option<String>) -> Result<WebRouter, JsError> {
        let settings = settings_from(settings)?;
        let mut health = health_from(health_json)?;
        let config = settings.router_config();
        let ids: Vec<String> = settings.providers.iter().map(|p| p.id.clone()).collect();
        health.retain_only(&ids);
        let route = Route::new(config, seed as u64).map_err(|e| JsError::new(&format!("router: {e}")))?;
        Ok(Self { route, health })
    }

    /// A router restored from `saveRoute()` and `saveHealth()` texts.
    pub fn restore(route_json: &str, health_json: &str) -> Result<WebRouter, JsError> {
        let route: Route =
            serde_json::from_str(route_json).map_err(|e| JsError::new(&format!("saved route: {e}")))?;
        Ok(Self { route, health: health_from(Some(health_json.to_owned()))? })
    }

    /// Replaces the health with a fresher saved copy (another request may have changed it).
    #[wasm_bindgen(js_name = setHealth)]
    pub fn set_health(&mut self, health_json: &str) -> Result<(), JsError> {
        self.health = health_from(Some(health_json.to_owned()))?;
        Ok(())
    }

    /// Begins the request.
    pub fn start(&mut self, now: f64) -> Result<JsValue, JsError> {
        action(self.route.start(&mut self.health, millis(now)))
    }

    /// The running fetch answered (headers with a 2xx status, or its first byte).
    #[wasm_bindgen(js_name = firstByte)]
    pub fn first_byte(&mut self, now: f64) -> Result<JsValue, JsError> {
        action(self.route.first_byte(millis(now)))
    }

    /// The running fetch delivered `text_len` of text; undefined unless there is something to do.
    pub fn chunk(&mut self, now: f64, text_len: f64) -> Result<JsValue, JsError> {
        match self.route.chunk(millis(now), text_len.max(0.0) as u64) {
            Ok(Action::Continue) => Ok(JsValue::UNDEFINED),
            other => action(other),
        }
    }

    /// The running fetch completed the answer.
    pub fn completed(&mut self, now: f64) -> Result<JsValue, JsError> {
        action(self.route.completed(&mut self.health, millis(now)))
    }

    /// The running fetch failed: `{class, retry_after_ms?, partial_text_len?, detail?}`.
    pub fn failed(&mut self, now: f64, failure: JsValue) -> Result<JsValue, JsError> {
        let failure: Failure = from_js(failure)?;
        action(self.route.failed(&mut self.health, millis(now), failure))
    }

    /// A timer fired.
    pub fn tick(&mut self, now: f64) -> Result<JsValue, JsError> {
        action(self.route.tick(&mut self.health, millis(now)))
    }

    /// The user cancelled.
    pub fn cancel(&mut self, now: f64) -> Result<JsValue, JsError> {
        action(self.route.cancel(&mut self.health, millis(now)))
    }

    /// When the timer should fire next (re-arm after a restore), if any.
    #[wasm_bindgen(js_name = timerAt)]
    pub fn timer_at(&self) -> Option<f64> {
        self.route.timer_at().map(|t| t as f64)
    }

    /// The route's phase name (`idle`, `awaiting_first_byte`, `streaming`, `waiting`, ...).
    pub fn phase(&self) -> String {
        self.route.phase().as_str().to_owned()
    }

    /// Whether the route is over.
    #[wasm_bindgen(js_name = isDone)]
    pub fn is_done(&self) -> bool {
        self.route.is_done()
    }

    /// The decisions so far, oldest first.
    pub fn decisions(&self) -> Result<JsValue, JsError> {
        let entries: Vec<_> = self.route.log().entries().collect();
        to_js(&entries)
    }

    /// Each chained provider's availability at `now`: `{id: {kind, until?, class?}}`.
    pub fn availability(&self, now: f64) -> Result<JsValue, JsError> {
        let breaker = &self.route.config().breaker;
        let map: serde_json::Map<String, serde_json::Value> = self
            .route
            .config()
            .chain
            .iter()
            .map(|id| {
                let a = self.health.availability(id, millis(now), breaker);
                (id.clone(), serde_json::to_value(a).unwrap_or(serde_json::Value::Null))
            })
            .collect();
        to_js(&map)
    }

    /// Clears a provider's misconfigured flag (its settings were changed).
    #[wasm_bindgen(js_name = markFixed)]
    pub fn mark_fixed(&mut self, provider: &str) {
        self.health.mark_fixed(provider);
    }

    /// The route as JSON, for `chrome.storage.session`.
    #[wasm_bindgen(js_name = saveRoute)]
    pub fn save_route(&self) -> Result<String, JsError> {
        serde_json::to_string(&self.route).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The provider health as JSON, for `chrome.storage.session`.
    #[wasm_bindgen(js_name = saveHealth)]
    pub fn save_health(&self) -> Result<String, JsError> {
        serde_json::to_string(&self.health).map_err(|e| JsError::new(&e.to_string()))
    }
}
