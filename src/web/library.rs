//! Exports for the library and the side panel: the conversation as shown, exports, the search
//! index and the import of an official export. Only the pages' Wasm build carries them (feature
//! `pages`); the service worker's cache work is in [`super::cache`]. An import keeps each new
//! conversation's own JSON text from the export as its record (no serialisation of what was just
//! parsed) and extracts its search documents for the library's queue, indexed after the import's
//! transactions committed.

use std::collections::VecDeque;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::cache::{err, read_record, stored_bytes};
use super::interop::{self, to_js};
use crate::conversation::branch;
use crate::conversation::export::{ExportReader, ImportIssue, Imported, read_zip};
use crate::conversation::render::{self, Format};
use crate::conversation::search::IndexDocs;
use crate::conversation::store;
use crate::conversation::{Conversation, Role, SearchIndex};

#[derive(Serialize)]
struct ShownMessage {
    id: String,
    role: String,
    label: String,
    text: String,
    model: Option<String>,
    incomplete: bool,
    branch: bool,
    answered_by: Option<String>,
}

#[derive(Serialize)]
struct Turn<'a> {
    role: &'a str,
    content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    answered_by: Option<String>,
}

#[derive(Serialize)]
struct BranchView {
    id: String,
    /// The chat site it was kept from (`claude`, ...); null for ChatGPT's.
    site: Option<String>,
    title: String,
    model: Option<String>,
    create_time: Option<f64>,
    update_time: Option<f64>,
    incomplete: bool,
    messages: Vec<ShownMessage>,
    tip: Option<String>,
    tip_turns: Vec<Turn<'static>>,
}

/// The conversation as shown (`cacheView`): ChatGPT's main line with the branches Understudy
/// kept, each message with `branch` (off the main line) and `answered_by` (the provider's name);
/// `tip` is the node a continuation extends and `tip_turns` the user and assistant turns up to it
/// (`[{role, content, answered_by?}]`).
fn conversation_view(conv: &Conversation) -> Result<JsValue, JsError> {
    let messages = branch::display_line(conv)
        .into_iter()
        .map(|s| {
            let by = s.answered_by.as_ref().map(|p| p.name().to_string());
            ShownMessage {
                id: s.message.id.clone(),
                role: s.message.role.as_str().to_string(),
                label: if by.is_some() { "Assistant".into() } else { render::role_label(s.message) },
                text: s.message.content.plain_text(),
                model: s.message.model_slug.clone(),
                incomplete: s.message.is_incomplete() || branch::is_cut_short(s.message),
                branch: s.branch,
                answered_by: by,
            }
        })
        .collect();
    let tip = branch::tip(conv).map(str::to_string);
    let tip_turns = tip
        .as_deref()
        .map(|t| {
            branch::line_to(conv, t)
                .into_iter()
                .filter_map(|m| {
                    let role = match m.role {
                        Role::User => "user",
                        Role::Assistant => "assistant",
                        _ => return None,
                    };
                    let content = m.content.plain_text();
                    let answered_by = branch::answered_by(m).map(|p| p.name().to_string());
                    (!content.trim().is_empty()).then_some(Turn { role, content, answered_by })
                })
                .collect()
        })
        .unwrap_or_default();
    interop::to_js(&BranchView {
        id: conv.id.clone(),
        site: conv.site().map(str::to_string),
        title: render::display_title(conv).to_string(),
        model: conv.model_slug.clone(),
        create_time: conv.create_time,
        update_time: conv.update_time,
        incomplete: conv.incomplete,
        messages,
        tip,
        tip_turns,
    })
}

/// The conversation as the user saw it (main line, visible messages) with the answers
/// Understudy kept from other providers as marked branches, for display. `record` is a stored
/// record (`Uint8Array` or JSON string).
#[wasm_bindgen(js_name = cacheView)]
pub fn cache_view(record: JsValue) -> Result<JsValue, JsError> {
    conversation_view(&read_record(&record)?.conversation)
}

/// Renders stored records (`Uint8Array`s or JSON strings) as one document: `markdown`, `json` (an official-export array) or `html`.
#[wasm_bindgen(js_name = cacheExport)]
pub fn cache_export(records: Vec<JsValue>, format: &str) -> Result<String, JsError> {
    let format = Format::parse(format).ok_or_else(|| JsError::new("unknown export format"))?;
    let convs =
        records.iter().map(|j| read_record(j).map(|r| r.conversation)).collect::<Result<Vec<_>, _>>()?;
    Ok(match format {
        Format::Json => render::to_json(&convs),
        Format::Markdown => convs.iter().map(render::to_markdown).collect::<Vec<_>>().join("\n\n---\n\n"),
        Format::Html => render::to_html_many(&convs),
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

/// Index documents read by an [`Importer`] and not yet indexed: handed to the library once
/// the transaction that stored them committed (so nothing that failed to store is searchable).
#[wasm_bindgen]
pub struct IndexBatch {
    docs: Vec<IndexDocs>,
}

#[wasm_bindgen]
impl IndexBatch {
    /// Conversations in the batch.
    pub fn size(&self) -> usize {
        self.docs.len()
    }
}

/// The library's search index, kept in the page and saved to IndexedDB as bytes. Imports queue
/// their documents ([`Library::queue`]); [`Library::index_pending`] indexes them in slices, so
/// the page stays responsive and the import does not wait for the index.
#[wasm_bindgen]
pub struct Library {
    index: SearchIndex,
    pending: VecDeque<IndexDocs>,
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
        Library { index: SearchIndex::new(), pending: VecDeque::new() }
    }

    /// Loads a saved index; throws if the bytes are not a valid index (then rebuild).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Library, JsError> {
        Ok(Library { index: SearchIndex::from_bytes(bytes).map_err(err)?, pending: VecDeque::new() })
    }

    /// The index in its saved form.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.index.to_bytes()
    }

    /// Indexes (or re-indexes) a stored record (`Uint8Array` or JSON string).
    #[wasm_bindgen(js_name = upsertRecord)]
    pub fn upsert_record(&mut self, record: JsValue) -> Result<(), JsError> {
        let rec = read_record(&record)?;
        self.index.upsert(&rec.conversation);
        Ok(())
    }

    /// Queues an import's documents for [`Library::index_pending`]; returns how many wait.
    pub fn queue(&mut self, batch: IndexBatch) -> usize {
        self.pending.extend(batch.docs);
        self.pending.len()
    }

    /// Queues a stored record (`Uint8Array` or JSON string) behind the queued documents (so
    /// it wins over an older queued copy); returns how many wait.
    #[wasm_bindgen(js_name = queueRecord)]
    pub fn queue_record(&mut self, record: JsValue) -> Result<usize, JsError> {
        let rec = read_record(&record)?;
        self.pending.push_back(IndexDocs::of(&rec.conversation));
        Ok(self.pending.len())
    }

    /// Indexes at most `max` queued conversations, oldest first; returns how many still wait.
    #[wasm_bindgen(js_name = indexPending)]
    pub fn index_pending(&mut self, max: usize) -> usize {
        for _ in 0..max {
            let Some(d) = self.pending.pop_front() else { break };
            self.index.upsert_docs(d);
        }
        self.pending.len()
    }

    /// Conversations queued and not yet indexed.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Drops a conversation from the index and from the queue (a deleted conversation never
    /// comes back from a queued copy).
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.pending.len();
        self.pending.retain(|d| d.id != id);
        self.index.remove(id) || self.pending.len() != before
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

/// A conversation read by an import, with its record bytes when it was read from JSON text
/// (the export's own text, kept as is).
struct Pending {
    conv: Conversation,
    raw_record: Option<Vec<u8>>,
}

/// A streaming import of an official export: feed chunks, then drain records in batches.
#[wasm_bindgen]
pub struct Importer {
    reader: ExportReader,
    pending: Vec<Pending>,
    issues: Vec<ImportIssue>,
    imported: usize,
    docs: Vec<IndexDocs>,
}

impl Default for Importer {
    fn default() -> Self {
        Self::new()
    }
}

impl Importer {
    fn take(&mut self, item: Imported, raw: &[u8]) {
        match item {
            Imported::Conversation(mut c) => {
                let raw_record = (!raw.is_empty()).then(|| store::raw_record_bytes(&c, raw));
                c.source.get_or_insert_with(|| "export".into());
                self.pending.push(Pending { conv: *c, raw_record });
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
        Importer {
            reader: ExportReader::new(),
            pending: Vec::new(),
            issues: Vec::new(),
            imported: 0,
            docs: Vec::new(),
        }
    }

    /// Feeds the next chunk of a JSON export file; throws if the file is not an export.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        let mut reader = std::mem::take(&mut self.reader);
        let r = reader.feed_raw_with(chunk, &mut |i, raw| self.take(i, raw));
        self.reader = reader;
        r.map_err(err)
    }

    /// Ends the current JSON file (call before feeding another split file).
    pub fn finish(&mut self) -> Result<(), JsError> {
        let items = self.reader.finish().map_err(err)?;
        for i in items {
            self.take(i, &[]);
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
            self.take(i, &[]);
        }
        r.map_err(err)
    }

    /// Ids of the conversations read and not yet drained, in order.
    #[wasm_bindgen(js_name = pendingIds)]
    pub fn pending_ids(&self) -> Vec<String> {
        self.pending.iter().map(|p| p.conv.id.clone()).collect()
    }

    /// Drains the pending conversations, each merged into its stored record (`existing[i]` is
    /// the stored record of `pendingIds()[i]`, or undefined). Returns `[{id, data, meta,
    /// changed}]` (`data`: the record as UTF-8 bytes; a new conversation is stored as the
    /// export wrote it, not re-serialised). Their search documents wait in [`Importer::take_index`].
    pub fn drain(&mut self, existing: Vec<JsValue>) -> Result<js_sys::Array, JsError> {
        let out = js_sys::Array::new();
        let pending = std::mem::take(&mut self.pending);
        for (i, Pending { mut conv, raw_record }) in pending.into_iter().enumerate() {
            let stored = existing.get(i).filter(|v| !v.is_undefined() && !v.is_null());
            let (changed, data) = match stored {
                Some(v) => {
                    let mut old = read_record(v)?.conversation;
                    let changed = old.merge(&conv);
                    conv = old;
                    (changed, if changed { store::record_bytes(&conv) } else { Vec::new() })
                }
                None => (true, raw_record.unwrap_or_else(|| store::record_bytes(&conv))),
            };
            if changed {
                self.docs.push(IndexDocs::of(&conv));
            }
            self.imported += 1;
            out.push(&stored_bytes(&conv, &data, changed)?);
        }
        Ok(out)
    }

    /// The search documents of everything drained since the last call, for [`Library::queue`]
    /// once stored.
    #[wasm_bindgen(js_name = takeIndex)]
    pub fn take_index(&mut self) -> IndexBatch {
        IndexBatch { docs: std::mem::take(&mut self.docs) }
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
