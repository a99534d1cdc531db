//! Exports for capturing a chat page's own traffic: one [`CaptureSession`] per tab in the
//! service worker. The page hands over the text of its streams and socket frames; the core
//! decodes them ([`crate::page`]) and hands back captures for the cache writer.

use wasm_bindgen::prelude::*;

use super::interop::to_js;
use crate::conversation::capture::{self, Capture};
use crate::page::session::{self, StreamKind};

fn err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// One tab's streams and the turns they feed (see [`crate::page::session`]).
#[wasm_bindgen(js_name = CaptureSession)]
pub struct CaptureSession {
    inner: session::CaptureSession,
}

impl Default for CaptureSession {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen(js_class = CaptureSession)]
impl CaptureSession {
    /// An empty session.
    #[wasm_bindgen(constructor)]
    pub fn new() -> CaptureSession {
        CaptureSession { inner: session::CaptureSession::new() }
    }

    /// The page opened stream `id`: `kind` is `send`, `resume` or `ws`; `request` the request
    /// body (JSON text) when there is one; `temporary_page` when the page is a temporary chat.
    pub fn open(
        &mut self,
        id: u32,
        kind: &str,
        _path: &str,
        request: Option<String>,
        temporary_page: bool,
    ) -> Result<(), JsError> {
        let kind = StreamKind::parse(kind).ok_or_else(|| JsError::new("unknown stream kind"))?;
        self.inner.open(id, kind, request.as_deref(), temporary_page).map_err(err)
    }

    /// Text of a send or resume stream, in order.
    pub fn push(&mut self, id: u32, text: &str) -> Result<(), JsError> {
        self.inner.push(id, text.as_bytes()).map_err(err)
    }

    /// One WebSocket text frame.
    pub fn frame(&mut self, id: u32, text: &str) -> Result<(), JsError> {
        self.inner.frame(id, text).map_err(err)
    }

    /// The stream ended (`eof`, `abort`, `error`, `pagehide`, `close`).
    pub fn end(&mut self, id: u32, _how: &str) -> Result<(), JsError> {
        self.inner.end(id).map_err(err)
    }

    /// How turns ended since the last call, for detection: `[{conversation_id, end, error, prompt}]`
    /// (`end`: `done`, `handoff`, `error`, `truncated`; `error`: `{kind, code, message}` or null).
    pub fn verdicts(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.inner.verdicts())
    }

    /// Whether stream `id` is known (false after the worker restarted: resend from the start).
    pub fn knows(&self, id: u32) -> bool {
        self.inner.knows(id)
    }

    /// `{conversation_id, prompt_id}` of the latest turn (either may be null), or null before any.
    pub fn latest(&self) -> Result<JsValue, JsError> {
        #[derive(serde::Serialize)]
        struct Latest {
            conversation_id: Option<String>,
            prompt_id: Option<String>,
        }
        match self.inner.latest() {
            Some((conversation_id, prompt_id)) => to_js(&Latest { conversation_id, prompt_id }),
            None => Ok(JsValue::NULL),
        }
    }

    /// The captures to store (one per turn that changed since the last call), as plain objects
    /// for `cacheApplyRecord`.
    pub fn take(&mut self) -> Result<JsValue, JsError> {
        let captures: Vec<Capture> = self.inner.take().into_iter().map(Capture::Turn).collect();
        to_js(&captures)
    }
}

/// One tab's capture budget (see [`capture::CaptureBudget`]): the worker charges every capture a
/// tab sends; what goes over the bound is refused with an error naming it.
#[wasm_bindgen(js_name = CaptureBudget)]
#[derive(Default)]
pub struct CaptureBudget {
    inner: capture::CaptureBudget,
}

#[wasm_bindgen(js_class = CaptureBudget)]
impl CaptureBudget {
    /// A full budget.
    #[wasm_bindgen(constructor)]
    pub fn new() -> CaptureBudget {
        CaptureBudget::default()
    }

    /// Charges `bytes` of capture at `now_ms`; throws when over the bound (nothing charged).
    #[wasm_bindgen(js_name = chargeBytes)]
    pub fn charge_bytes(&mut self, bytes: f64, now_ms: f64) -> Result<(), JsError> {
        let bytes = if bytes.is_finite() && bytes > 0.0 { bytes as usize } else { 0 };
        self.inner.charge_bytes(bytes, now_ms).map_err(err)
    }

    /// Charges one new conversation at `now_ms`; throws when over the bound.
    #[wasm_bindgen(js_name = admitNew)]
    pub fn admit_new(&mut self, now_ms: f64) -> Result<(), JsError> {
        self.inner.admit_new(now_ms).map_err(err)
    }

    /// Captures refused in the current window.
    pub fn refused(&self) -> u32 {
        self.inner.refused()
    }
}

/// One answer stream (or socket) of a chat site other than ChatGPT, decoded by the site's decoder
/// ([`crate::page::sites`]); ChatGPT's streams go through [`CaptureSession`].
#[wasm_bindgen(js_name = SiteStream)]
pub struct SiteStream {
    site: crate::site::Site,
    inner: Box<dyn crate::page::sites::SiteDecoder>,
}

/// What [`SiteStream::turn`] answers (the `understudy capture --site` object).
#[derive(serde::Serialize)]
struct SiteTurn {
    conversation_id: Option<String>,
    title: Option<String>,
    messages: Vec<SiteMessage>,
    end: crate::page::End,
    error: Option<crate::page::StreamError>,
}

#[derive(serde::Serialize)]
struct SiteMessage {
    id: String,
    role: &'static str,
    text: String,
    complete: bool,
}

#[wasm_bindgen(js_class = SiteStream)]
impl SiteStream {
    /// A decoder for one stream of `site` (`"claude"`, `"gemini"`, ...).
    #[wasm_bindgen(constructor)]
    pub fn new(site: &str) -> Result<SiteStream, JsError> {
        let id: String = site.chars().take(40).collect();
        let site =
            crate::site::Site::from_id(site).ok_or_else(|| JsError::new(&format!("unknown site '{id}'")))?;
        let inner = crate::page::sites::decoder(site)
            .ok_or_else(|| JsError::new("ChatGPT's streams are decoded by CaptureSession"))?;
        Ok(SiteStream { site, inner })
    }

    /// The next text of the response body, in order.
    pub fn push(&mut self, text: &str) {
        self.inner.feed(text.as_bytes());
    }

    /// One WebSocket text frame (Copilot).
    pub fn frame(&mut self, text: &str) {
        self.inner.frame(text);
    }

    /// The stream ended.
    pub fn end(&mut self) {
        self.inner.finish();
    }

    /// The capture of what the stream showed so far, for the cache writer (a `turn` capture
    /// under `<site>:<conversation id>`), or null when there is nothing to keep or no
    /// conversation names it (see [`crate::page::sites::keep`]). `path`: the send's path;
    /// `request`: its body; `page_url`: the tab's URL; `stream_key`: unique to this stream in
    /// this tab.
    pub fn capture(
        &self,
        path: &str,
        request: Option<String>,
        page_url: &str,
        stream_key: &str,
    ) -> Result<JsValue, JsError> {
        let send =
            crate::page::sites::keep::SendContext { path, request: request.as_deref(), page_url, stream_key };
        match crate::page::sites::keep::turn_capture(self.site, &self.inner.turn(), &send) {
            Some(t) => to_js(&Capture::Turn(t)),
            None => Ok(JsValue::NULL),
        }
    }

    /// What the stream showed so far: `{conversation_id, title, messages: [{id, role, text,
    /// complete}], end, error}` (`end`: `done`, `error` or `truncated`; `error`: `{kind, code,
    /// message, retry_at_ms?}` with the detection kind, or null).
    pub fn turn(&self) -> Result<JsValue, JsError> {
        let turn = self.inner.turn();
        let messages = turn
            .visible()
            .map(|n| SiteMessage {
                id: n.message.id.clone(),
                role: match n.message.role {
                    crate::conversation::Role::User => "user",
                    _ => "assistant",
                },
                text: n.message.content.plain_text(),
                complete: !n.message.is_incomplete(),
            })
            .collect();
        to_js(&SiteTurn {
            conversation_id: turn.conversation_id,
            title: turn.title,
            messages,
            end: turn.end.unwrap_or(crate::page::End::Truncated),
            error: turn.error,
        })
    }
}

/// The prompt a send's request body of `site` carries (`null` when none), read by the site's
/// request format (see [`crate::page::sites::keep::prompt_of`]).
#[wasm_bindgen(js_name = sitePrompt)]
pub fn site_prompt(site: &str, request: &str) -> Option<String> {
    crate::site::Site::from_id(site).and_then(|s| crate::page::sites::keep::prompt_of(s, request))
}
