//! Exports for the conversation cache.
//!
//! IndexedDB itself is driven from JS (`www/library-db.js`): the edge here only turns stored
//! strings into conversations and back, so every decision (merging captures, migrations,
//! search, rendering, import) is the core's. Stored values are `{id, json}` for records (the
//! [`ConversationRecord`] as JSON text: one string crosses the boundary, not an object tree)
//! and plain objects for metas.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::interop::{from_js, to_js};
use crate::conversation::capture::{self, Capture};
use crate::conversation::export::{ExportReader, ImportIssue, Imported, read_zip};
use crate::conversation::render::{self, Format};
use crate::conversation::store::{self, ConversationMeta, ConversationRecord, SCHEMA_VERSION};
use crate::conversation::{Conversation, SearchIndex, main_line};

fn err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The schema version of the stored records (the IndexedDB database version).
#[wasm_bindgen(js_name = cacheSchemaVersion)]
pub fn cache_schema_version() -> u32 {
    SCHEMA_VERSION
}

fn read_record(json: &str) -> Result<ConversationRecord, JsError> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(err)?;
    store::migrate_record(v).map_err(err)
}

/// One record ready to store: its key, the record JSON and its meta.
#[derive(Serialize)]
struct Stored<'a> {
    id: &'a str,
    json: String,
    meta: ConversationMeta,
    changed: bool,
}

/// A [`ConversationRecord`] by reference: the same JSON without cloning the tree.
#[derive(Serialize)]
struct RecordRef<'a> {
    version: u32,
    id: &'a str,
    source: &'a Option<String>,
    conversation: &'a Conversation,
}

fn stored(conv: &Conversation, changed: bool) -> Result<JsValue, JsError> {
    let rec = RecordRef { version: SCHEMA_VERSION, id: &conv.id, source: &conv.source, conversation: conv };
    let json = serde_json::to_string(&rec).map_err(err)?;
    to_js(&Stored { id: &conv.id, json, meta: ConversationMeta::of(conv), changed })
}

/// The key a capture is stored under (throws on a malformed capture).
#[wasm_bindgen(js_name = cacheCaptureKey)]
pub fn cache_capture_key(capture: JsValue) -> Result<String, JsError> {
    let c: Capture = from_js(capture)?;
    c.key().map_err(err)
}

/// Applies a capture to the stored record JSON (or `undefined`); returns `{id, json, meta, changed}`.
#[wasm_bindgen(js_name = cacheApply)]
pub fn cache_apply(stored_json: Option<String>, capture: JsValue, now_s: f64) -> Result<JsValue, JsError> {
    let c: Capture = from_js(capture)?;
    let existing = match stored_json {
        Some(j) => Some(read_record(&j)?.conversation),
        None => None,
    };
    let (conv, changed) = capture::apply(existing, &c, now_s).map_err(err)?;
    stored(&conv, changed)
}

/// Migrates a stored record of any earlier version; returns `{id, json, meta, changed}`.
#[wasm_bindgen(js_name = cacheMigrateRecord)]
pub fn cache_migrate_record(json: &str) -> Result<JsValue, JsError> {
    let rec = read_record(json)?;
    stored(&rec.conversation, true)
}

/// Migrates a stored meta object of any earlier version to the current one.
#[wasm_bindgen(js_name = cacheMigrateMeta)]
pub fn cache_migrate_meta(meta: JsValue) -> Result<JsValue, JsError> {
    let v: serde_json::Value = from_js(meta)?;
    to_js(&store::migrate_meta(v).map_err(err)?)
}

#[derive(Serialize)]
struct ViewMessage {
    id: String,
    role: String,
    label: String,
    text: String,
    model: Option<String>,
    incomplete: bool,
}

#[derive(Serialize)]
struct View {
    id: String,
    title: String,
    model: Option<String>,
    create_time: Option<f64>,
    update_time: Option<f64>,
    incomplete: bool,
    messages: Vec<ViewMessage>,
}

/// The conversation as the user saw it (main line, visible messages), for display.
#[wasm_bindgen(js_name = cacheView)]
pub fn cache_view(json: &str) -> Result<JsValue, JsError> {
    let conv = read_record(json)?.conversation;
    let messages = main_line(&conv)
        .into_iter()
        .map(|m| ViewMessage {
            id: m.id.clone(),
            role: m.role.as_str().to_string(),
            label: render::role_label(m),
            text: m.content.plain_text(),
            model: m.model_slug.clone(),
            incomplete: m.is_incomplete(),
        })
        .collect();
    to_js(&View {
        id: conv.id.clone(),
        title: render::display_title(&conv).to_string(),
        model: conv.model_slug.clone(),
        create_time: conv.create_time,
        update_time: conv.update_time,
        incomplete: conv.incomplete,
        messages,
    })
}

/// Renders stored records as one document: `markdown`, `json` (an official-export array) or `html`.
#[wasm_bindgen(js_name = cacheExport)]
pub fn cache_export(jsons: Vec<String>, format: &str) -> Result<String, JsError> {
    let format = Format::parse(format).ok_or_else(|| JsError::new("unknown export format"))?;
    let convs =
        jsons.iter().map(|j| read_record(j).map(|r| r.conversation)).collect::<Result<Vec<_>, _>>()?;
    Ok(match format {
        Format::Json => render::to_json(&convs),
        Format::Markdown => convs.iter().map(render::to_markdown).collect::<Vec<_>>().join("\n\n---\n\n"),
        Format::Html => convs.iter().map(render::to_html).collect::<Vec<_>>().join("\n"),
    })
}

/// A deterministic generated export (a JSON array), for tests and benchmarks.
#[wasm_bindgen(js_name = cacheGenerateExport)]
pub fn cache_generate_export(conversations: usize, messages_each: usize, seed: u32) -> String {
    crate::conversation::generate_export(conversations, messages_each, u64::from(seed))
}

/// Byte offset in `s` to a UTF-16 index (what JS strings count).
fn utf16_at(s: &str, byte: usize) -> usize {
    let byte = byte.min(s.len());
    let mut b = byte;
    while b > 0 && !s.is_char_boundary(b) {
        b -= 1;
    }
    s[..b].encode_utf16().count()
}

fn ranges16(s: &str, rs: &[std::ops::Range<usize>]) -> Vec<[usize; 2]> {
    rs.iter().map(|r| [utf16_at(s, r.start), utf16_at(s, r.end)]).collect()
}

#[derive(Serialize)]
struct Hit {
    id: String,
    title: String,
    title_highlights: Vec<[usize; 2]>,
    message_id: Option<String>,
    snippet: String,
    highlights: Vec<[usize; 2]>,
    score: f32,
}

/// The library's search index, kept in the page and saved to IndexedDB as bytes.
#[wasm_bindgen]
pub struct Library {
    index: SearchIndex,
}

impl Default for Library {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Library {
    /// An empty index.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Library {
        Library { index: SearchIndex::new() }
    }

    /// Loads a saved index; throws if the bytes are not a valid index (then rebuild).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Library, JsError> {
        Ok(Library { index: SearchIndex::from_bytes(bytes).map_err(err)? })
    }

    /// The index in its saved form.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.index.to_bytes()
    }

    /// Indexes (or re-indexes) a stored record.
    #[wasm_bindgen(js_name = upsertRecord)]
    pub fn upsert_record(&mut self, json: &str) -> Result<(), JsError> {
        let rec = read_record(json)?;
        self.index.upsert(&rec.conversation);
        Ok(())
    }

    /// Drops a conversation from the index.
    pub fn remove(&mut self, id: &str) -> bool {
        self.index.remove(id)
    }

    /// Conversations indexed.
    pub fn size(&self) -> usize {
        self.index.stats().conversations
    }

    /// Ranked hits `{id, title, title_highlights, message_id, snippet, highlights, score}`;
    /// highlight ranges are `[start, end)` UTF-16 indices (JS string indices).
    pub fn search(&self, query: &str, limit: usize) -> Result<JsValue, JsError> {
        let hits: Vec<Hit> = self
            .index
            .search(query, limit)
            .into_iter()
            .map(|h| Hit {
                title_highlights: ranges16(&h.title, &h.title_highlights),
                highlights: ranges16(&h.snippet, &h.highlights),
                id: h.conversation_id,
                title: h.title,
                message_id: h.message_id,
                snippet: h.snippet,
                score: h.score,
            })
            .collect();
        to_js(&hits)
    }
}

/// A streaming import of an official export: feed chunks, then drain records in batches.
#[wasm_bindgen]
pub struct Importer {
    reader: ExportReader,
    pending: Vec<Conversation>,
    issues: Vec<ImportIssue>,
    imported: usize,
}

impl Default for Importer {
    fn default() -> Self {
        Self::new()
    }
}

impl Importer {
    fn take(&mut self, item: Imported) {
        match item {
            Imported::Conversation(mut c) => {
                c.source.get_or_insert_with(|| "export".into());
                self.pending.push(*c);
            }
            Imported::Skipped(i) => self.issues.push(i),
        }
    }
}

#[wasm_bindgen]
impl Importer {
    /// A new import.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Importer {
        Importer { reader: ExportReader::new(), pending: Vec::new(), issues: Vec::new(), imported: 0 }
    }

    /// Feeds the next chunk of a JSON export file; throws if the file is not an export.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        let mut got = Vec::new();
        let r = self.reader.feed_with(chunk, &mut |i| got.push(i));
        for i in got {
            self.take(i);
        }
        r.map_err(err)
    }

    /// Ends the current JSON file (call before feeding another split file).
    pub fn finish(&mut self) -> Result<(), JsError> {
        let items = self.reader.finish().map_err(err)?;
        for i in items {
            self.take(i);
        }
        self.reader = ExportReader::new();
        Ok(())
    }

    /// Reads a whole export zip.
    #[wasm_bindgen(js_name = feedZip)]
    pub fn feed_zip(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        let mut got = Vec::new();
        let r = read_zip(bytes, &mut |i| got.push(i));
        for i in got {
            self.take(i);
        }
        r.map_err(err)
    }

    /// Ids of the conversations read and not yet drained, in order.
    #[wasm_bindgen(js_name = pendingIds)]
    pub fn pending_ids(&self) -> Vec<String> {
        self.pending.iter().map(|c| c.id.clone()).collect()
    }

    /// Drains the pending conversations, each merged into its stored record (`existing[i]`
    /// is the stored JSON of `pendingIds()[i]`, or undefined), and indexes them in `library`.
    /// Returns `[{id, json, meta, changed}]`.
    pub fn drain(&mut self, existing: Vec<JsValue>, library: &mut Library) -> Result<js_sys::Array, JsError> {
        let out = js_sys::Array::new();
        let pending = std::mem::take(&mut self.pending);
        for (i, mut conv) in pending.into_iter().enumerate() {
            let mut changed = true;
            if let Some(j) = existing.get(i).and_then(JsValue::as_string) {
                let mut old = read_record(&j)?.conversation;
                changed = old.merge(&conv);
                conv = old;
            }
            if changed {
                library.index.upsert(&conv);
            }
            self.imported += 1;
            out.push(&stored(&conv, changed)?);
        }
        Ok(out)
    }

    /// Malformed entries skipped so far: `[{index, id, reason}]`.
    pub fn issues(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Issue<'a> {
            index: usize,
            id: Option<&'a str>,
            reason: &'a str,
        }
        let v: Vec<Issue> = self
            .issues
            .iter()
            .map(|i| Issue { index: i.index, id: i.id.as_deref(), reason: &i.reason })
            .collect();
        to_js(&v)
    }

    /// Conversations drained so far.
    pub fn imported(&self) -> usize {
        self.imported
    }
}
