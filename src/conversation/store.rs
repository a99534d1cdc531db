//! The records the web edge keeps in IndexedDB, their schema versions and migrations, and a
//! [`ConversationStore`] trait with an in-memory implementation.
//!
//! Two object stores are expected: `metas` (one [`ConversationMeta`] per conversation, small,
//! for listing the library fast) and `conversations` (one [`ConversationRecord`] each, the whole
//! tree). Every record carries `version`.
//!
//! Schema history:
//! - **v1**: meta `{version, id, title, update_time, model, message_count}`; record
//!   `{version, id, conversation}`.
//! - **v2** (current): meta adds `incomplete` (a message was still streaming when capture
//!   stopped) and `source` (`"export"`, `"capture"`, ...); record adds `source` and keeps the
//!   conversation's own `understudy_incomplete`. Migration from v1 derives `incomplete` from the
//!   stored messages and sets `source` to `"unknown"`. Later, without a version change (an
//!   optional field older builds ignore): meta `site` and the conversation's `understudy_site`,
//!   the chat site a conversation was kept from (absent: ChatGPT).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Conversation, display_title};
use crate::services::StoreError;

/// The schema version written by this build.
pub const SCHEMA_VERSION: u32 = 2;

/// The small per-conversation record used to list the library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMeta {
    /// Schema version of this record.
    pub version: u32,
    /// The conversation id.
    pub id: String,
    /// The title shown: the conversation's own, else its first prompt's words (if any).
    pub title: Option<String>,
    /// Last update, float Unix seconds.
    pub update_time: Option<f64>,
    /// The default model slug.
    pub model: Option<String>,
    /// True if a message was still streaming when capture stopped.
    pub incomplete: bool,
    /// Messages stored (all branches).
    pub message_count: u32,
    /// Where the copy came from.
    pub source: Option<String>,
    /// The chat site it was kept from (`claude`, `gemini`, ...); absent for ChatGPT's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

impl ConversationMeta {
    /// The meta record of a conversation.
    pub fn of(c: &Conversation) -> ConversationMeta {
        ConversationMeta {
            version: SCHEMA_VERSION,
            id: c.id.clone(),
            title: display_title(c),
            update_time: c.update_time,
            model: c.model_slug.clone(),
            incomplete: c.incomplete,
            message_count: u32::try_from(c.message_count()).unwrap_or(u32::MAX),
            source: c.source.clone(),
            site: c.site().map(str::to_string),
        }
    }
}

/// The full record of one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// Schema version of this record.
    pub version: u32,
    /// The conversation id (the IndexedDB key).
    pub id: String,
    /// Where the copy came from.
    pub source: Option<String>,
    /// The conversation, in the official export shape.
    pub conversation: Conversation,
}

impl ConversationRecord {
    /// The record of a conversation.
    pub fn of(c: &Conversation) -> ConversationRecord {
        ConversationRecord {
            version: SCHEMA_VERSION,
            id: c.id.clone(),
            source: c.source.clone(),
            conversation: c.clone(),
        }
    }
}

/// Why a stored record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationError {
    /// The record is newer than this build understands.
    TooNew(u32),
    /// The record is not an object or lacks required fields.
    Malformed(String),
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::TooNew(v) => {
                write!(f, "record schema version {v} is newer than this build ({SCHEMA_VERSION})")
            }
            MigrationError::Malformed(m) => write!(f, "malformed stored record: {m}"),
        }
    }
}

impl std::error::Error for MigrationError {}

fn version_of(v: &Value) -> Result<u32, MigrationError> {
    let obj = v.as_object().ok_or_else(|| MigrationError::Malformed("not an object".into()))?;
    match obj.get("version") {
        None | Some(Value::Null) => Ok(1),
        Some(x) => x
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| MigrationError::Malformed("bad version".into())),
    }
}

/// Reads a stored meta record of any known version, migrating it to the current one.
pub fn migrate_meta(v: Value) -> Result<ConversationMeta, MigrationError> {
    let version = version_of(&v)?;
    if version > SCHEMA_VERSION {
        return Err(MigrationError::TooNew(version));
    }
    let mut obj = match v {
        Value::Object(o) => o,
        _ => return Err(MigrationError::Malformed("not an object".into())),
    };
    if version < 2 {
        // v1 had no `incomplete` nor `source`.
        obj.insert("incomplete".into(), Value::Bool(false));
        obj.insert("source".into(), Value::String("unknown".into()));
    }
    obj.insert("version".into(), Value::from(SCHEMA_VERSION));
    serde_json::from_value(Value::Object(obj)).map_err(|e| MigrationError::Malformed(e.to_string()))
}

/// Reads a stored conversation record of any known version, migrating it to the current one.
pub fn migrate_record(v: Value) -> Result<ConversationRecord, MigrationError> {
    let version = version_of(&v)?;
    if version > SCHEMA_VERSION {
        return Err(MigrationError::TooNew(version));
    }
    let mut obj = match v {
        Value::Object(o) => o,
        _ => return Err(MigrationError::Malformed("not an object".into())),
    };
    let conv =
        obj.remove("conversation").ok_or_else(|| MigrationError::Malformed("no conversation".into()))?;
    let mut conversation: Conversation =
        serde_json::from_value(conv).map_err(|e| MigrationError::Malformed(e.to_string()))?;
    let mut source = match obj.remove("source") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    if version < 2 {
        conversation.refresh_incomplete();
        source = Some("unknown".into());
        conversation.source.clone_from(&source);
    }
    let id = match obj.remove("id") {
        Some(Value::String(s)) => s,
        _ => conversation.id.clone(),
    };
    Ok(ConversationRecord { version: SCHEMA_VERSION, id, source, conversation })
}

/// A current-version record read with one typed pass (no intermediate JSON tree).
#[derive(Deserialize)]
struct FastRecord {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    source: Option<String>,
    conversation: Conversation,
}

/// Reads a stored record (JSON text as UTF-8 bytes) of any known version. Records of the
/// current version are read in one typed pass; anything else goes through [`migrate_record`].
/// The conversation inherits the record's `source` when it has none of its own (an imported
/// conversation is stored as the export wrote it, with the source beside it).
pub fn read_record(bytes: &[u8]) -> Result<ConversationRecord, MigrationError> {
    let mut rec = match serde_json::from_slice::<FastRecord>(bytes) {
        Ok(FastRecord { version: Some(SCHEMA_VERSION), id, source, conversation }) => ConversationRecord {
            version: SCHEMA_VERSION,
            id: id.unwrap_or_else(|| conversation.id.clone()),
            source,
            conversation,
        },
        _ => {
            let v: Value =
                serde_json::from_slice(bytes).map_err(|e| MigrationError::Malformed(e.to_string()))?;
            migrate_record(v)?
        }
    };
    if rec.conversation.source.is_none() {
        rec.conversation.source.clone_from(&rec.source);
    }
    Ok(rec)
}

/// The stored form of a conversation: the current [`ConversationRecord`] as JSON bytes.
pub fn record_bytes(conv: &Conversation) -> Vec<u8> {
    #[derive(Serialize)]
    struct RecordRef<'a> {
        version: u32,
        id: &'a str,
        source: &'a Option<String>,
        conversation: &'a Conversation,
    }
    let rec = RecordRef { version: SCHEMA_VERSION, id: &conv.id, source: &conv.source, conversation: conv };
    // Serialising our own model cannot fail: every map key is a string.
    serde_json::to_vec(&rec).unwrap_or_default()
}

/// The stored form of a conversation kept exactly as an export wrote it (`raw`, one JSON
/// object that parses as `conv`): the record is assembled around the raw text, so an import
/// never serialises what it just parsed. `conv.source` names the source (else `"export"`).
pub fn raw_record_bytes(conv: &Conversation, raw: &[u8]) -> Vec<u8> {
    let id = serde_json::to_string(&conv.id).unwrap_or_default();
    let source = serde_json::to_string(conv.source.as_deref().unwrap_or("export")).unwrap_or_default();
    let mut out = Vec::with_capacity(raw.len() + id.len() + source.len() + 64);
    out.extend_from_slice(
        format!("{{\"version\":{SCHEMA_VERSION},\"id\":{id},\"source\":{source},\"conversation\":")
            .as_bytes(),
    );
    out.extend_from_slice(raw);
    out.push(b'}');
    out
}

/// Storage of cached conversations (IndexedDB in the extension, memory in tests).
pub trait ConversationStore {
    /// The conversation with this id, if stored.
    fn get(&self, id: &str) -> Result<Option<Conversation>, StoreError>;
    /// Stores a conversation, merging it into any stored copy (see [`Conversation::merge`]).
    /// Returns whether anything changed: storing the same capture twice returns `false`.
    fn upsert(&mut self, conv: &Conversation) -> Result<bool, StoreError>;
    /// Deletes one conversation; returns whether it existed.
    fn delete(&mut self, id: &str) -> Result<bool, StoreError>;
    /// Deletes every conversation.
    fn delete_all(&mut self) -> Result<(), StoreError>;
    /// Metas sorted by `update_time`, newest first (ties by id), skipping `offset`, at most
    /// `limit`.
    fn list(&self, offset: usize, limit: usize) -> Result<Vec<ConversationMeta>, StoreError>;
    /// How many conversations are stored.
    fn count(&self) -> Result<usize, StoreError>;
}

/// A [`ConversationStore`] in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryConversationStore {
    records: BTreeMap<String, ConversationRecord>,
    metas: BTreeMap<String, ConversationMeta>,
}

impl MemoryConversationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ConversationStore for MemoryConversationStore {
    fn get(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self.records.get(id).map(|r| r.conversation.clone()))
    }

    fn upsert(&mut self, conv: &Conversation) -> Result<bool, StoreError> {
        if conv.id.is_empty() {
            return Err(StoreError::Other("a conversation without id cannot be stored".into()));
        }
        let changed = match self.records.get_mut(&conv.id) {
            Some(rec) => {
                let changed = rec.conversation.merge(conv);
                rec.source.clone_from(&rec.conversation.source);
                changed
            }
            None => {
                self.records.insert(conv.id.clone(), ConversationRecord::of(conv));
                true
            }
        };
        if changed && let Some(rec) = self.records.get(&conv.id) {
            self.metas.insert(conv.id.clone(), ConversationMeta::of(&rec.conversation));
        }
        Ok(changed)
    }

    fn delete(&mut self, id: &str) -> Result<bool, StoreError> {
        self.metas.remove(id);
        Ok(self.records.remove(id).is_some())
    }

    fn delete_all(&mut self) -> Result<(), StoreError> {
        self.records.clear();
        self.metas.clear();
        Ok(())
    }

    fn list(&self, offset: usize, limit: usize) -> Result<Vec<ConversationMeta>, StoreError> {
        let mut v: Vec<&ConversationMeta> = self.metas.values().collect();
        v.sort_by(|a, b| {
            let ta = a.update_time.unwrap_or(f64::MIN);
            let tb = b.update_time.unwrap_or(f64::MIN);
            tb.total_cmp(&ta).then_with(|| a.id.cmp(&b.id))
        });
        Ok(v.into_iter().skip(offset).take(limit).cloned().collect())
    }

    fn count(&self) -> Result<usize, StoreError> {
        Ok(self.records.len())
    }
}
