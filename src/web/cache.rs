//! Exports for the conversation cache.
