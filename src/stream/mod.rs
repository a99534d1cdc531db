//! Incremental parsers for streamed answers: server-sent events and NDJSON.
//!
//! Both accept bytes in any chunking and give the same result as for the whole stream at once.

pub mod ndjson;
pub mod sse;

pub use ndjson::NdjsonSplitter;
pub use sse::{SseEvent, SseParser};
