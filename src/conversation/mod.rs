//! Conversations: the tree as ChatGPT keeps it, the official export format, conversion and search.
//!
//! - [`model`]: [`Conversation`], [`Message`], the main line and merging of captures.
//! - [`capture`]: applying what the page showed (prompts, streamed answers, loaded JSON) to the cache.
//! - [`export`]: streaming import of `conversations.json`, split files and the export zip.
//! - [`render`]: Markdown, JSON and HTML output.
//! - [`search`]: the in-memory full-text index.
//! - [`store`]: the versioned storage records and the [`store::ConversationStore`] trait.

pub mod branch;
pub mod capture;
pub mod export;
pub mod model;
pub mod render;
pub mod search;
pub mod store;

pub use export::{ExportReader, ImportError, ImportIssue, Imported, generate_export};
pub use model::{Content, ContentKind, Conversation, Message, Node, Part, Role, main_line};
pub use render::Format;
pub use search::{SearchHit, SearchIndex};
