//! The failover router: which provider to ask next, when to retry, when to step around one.
//!
//! A pure, deterministic state machine: no I/O, no timers, no clock. The service worker performs
//! the fetches and timers and reports back; time is only the `now` it passes in. Because the
//! worker may be stopped at any moment, all state is serialisable: one [`Route`] per request and
//! one [`HealthBook`] shared by all requests. Save both after each event; after a restore re-arm
//! the timer at [`Route::timer_at`], and report `failed(network)` if the fetch did not survive.
//!
//! # Protocol
//! Create a [`Route`] with a [`RouterConfig`] and a random seed (for jitter), then feed events;
//! each returns the [`Action`] to perform:
//! - `start` → `Fetch { fetch, timer_at_ms }`: start the fetch, arm a timer (first-byte deadline).
//! - `first_byte` → `SetTimer` (stall deadline); `chunk(text_len)` → `Continue` (O(1), no
//!   allocation: the stall deadline moves, and a `tick` at the old deadline answers `SetTimer`).
//! - `completed` → `Finished`.
//! - `failed(Failure)` → `Fetch` (next provider or immediate retry), `WaitUntil { at_ms, then }`
//!   (call `tick` at `at_ms`; it returns the `Fetch`), or `GaveUp` with a per-provider summary.
//! - `tick` → `SetTimer` when no deadline passed yet, the waited-for `Fetch`, or
//!   `Abort { reason, then }` on a first-byte or stall timeout: abort that fetch, drop its late
//!   events, and perform `then`.
//! - `cancel` → `Cancelled` at any stage.
//!
//! Events that make no sense in the current phase return a [`RouteError`] and change nothing.
//!
//! # Policy
//! - Retry the same provider only for retryable classes ([`ErrorClass::is_retryable`]: 408, 409,
//!   429, 5xx, 529, network) and at most `max_retries_per_provider` times. The wait is the
//!   server's retry time when it is above zero and at most 60 s, else the backoff: 500 ms
//!   doubling, capped at 8 s, minus up to 25 % jitter (from a seeded xorshift).
//! - Switch rather than sleep: when the wait is over `switch_if_wait_over_ms` (1 s), or the
//!   provider's breaker just opened, and another unvisited healthy provider exists, move to it;
//!   the provider left keeps its remaining retries and may be come back to after its wait once
//!   the healthy ones are used up.
//! - 429: with a retry time over 60 s, fall back at once (no retry); without one, fall back at
//!   once when a healthy provider exists, else retry after the backoff.
//! - Timeouts the router detects (first byte, stall): abort and fall back; with no healthy
//!   provider left, retry the same after the backoff.
//! - 401/403 and a refused origin: no retry; flag the provider misconfigured; fall back.
//! - 400/413 (`bad_request`): fail fast with the provider's message, no fallback.
//! - Context length, content filter, not found, spent quota, malformed answer: fall back.
//! - Cancelled: stop everything.
//! - Choosing the next provider: the first unvisited provider in chain order whose breaker lets
//!   a call through; else one left earlier with retries to spare (earliest retry time first);
//!   else, rather than refuse, an unvisited provider with an open breaker (earliest recovery
//!   first); a misconfigured provider only when nothing else is left. Each provider is visited
//!   once per request apart from those comebacks.
//! - Mid-stream failure: the worker keeps the partial text and reports its length; every later
//!   `Fetch` carries `continue_partial: true` so the next provider continues it.
//! - Health ([`health`]): consecutive failures, a failure ratio and a spent quota open a
//!   provider's breaker; after the cooldown one probe goes through; success closes it.
//!
//! Every decision goes to a bounded [`DecisionLog`] for the popup's timeline.

pub mod config;
pub mod health;
pub mod log;
pub mod retry;
pub mod route;
mod wire;

pub use config::{BackoffConfig, BreakerConfig, ConfigError, RouterConfig};
pub use health::{Availability, BreakerState, Health, HealthBook};
pub use log::{AbortReason, Decision, DecisionLog, GiveUpReason, Outcome, SkipReason};
pub use retry::{Jitter, backoff_ms, nominal_backoff_ms, retry_after_from_headers};
pub use route::{
    Action, Event, Failure, Fetch, GaveUp, Phase, ProviderFailure, Route, RouteError, class_message,
};

#[cfg(doc)]
use crate::provider::ErrorClass;

/// A provider's id as configured (for example `"openai"` or `"ollama-local"`).
pub type ProviderId = String;
