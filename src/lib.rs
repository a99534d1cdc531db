//! Understudy's core: everything the extension knows, with no browser in it.
//!
//! The core is pure Rust. It builds and tests natively (`cargo test`); the browser edge lives in
//! `web` (wasm32 only), which is the one module that touches wasm-bindgen, web-sys, js-sys and
//! gloo. Browser services (clock, key-value storage) are traits in [`services`] with in-memory
//! versions for tests.
//!
//! Map of the core:
//! - [`protocol`]: the messages that cross between content scripts, pages and the service worker.
//! - [`site`]: which chat sites Understudy knows and how it recognises them.
//! - [`detect`]: judging page observations into outage kinds (data-driven rules).
//! - [`page`]: the chat page's own traffic (ChatGPT's v1 streams, conversation bodies, the other
//!   sites' answer streams) decoded.
//! - [`conversation`]: the conversation tree, the official export format, conversion and search.
//! - [`markdown`]: answers' Markdown (and math) as a tree of allowed elements, for every page.
//! - [`stream`]: incremental server-sent-events and NDJSON parsers.
//! - [`provider`]: request building and stream decoding for each alternative provider.
//! - [`router`]: the failover state machine (retries, backoff, circuit breakers).
//! - [`preferences`]: the whole settings document (settings plus preferences), managed policy, schema.
//! - [`status`]: reading the public status page of the lead site.
//! - [`status_feeds`]: the other sites' status feeds (Atom, RSS, Google's incidents JSON).
//! - [`services`]: small traits for browser services, with in-memory versions.
#![deny(missing_docs)]

pub mod autoguard;
pub mod conversation;
pub mod detect;
pub mod markdown;
pub mod page;
pub mod preferences;
pub mod protocol;
pub mod provider;
pub mod rescue;
pub mod router;
pub mod services;
pub mod settings;
pub mod site;
pub mod status;
pub mod status_feeds;
pub mod stream;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// The version of the core, as the crate declares it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
