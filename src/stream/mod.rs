//! Incremental parsers for streamed answers: server-sent events and NDJSON.
