//! Per-provider health: a circuit breaker plus a "misconfigured" flag, shared by all requests.
//!
//! The breaker is closed while a provider works. It opens for `cooldown_ms` after
//! `failure_threshold` consecutive failures, when more than `failure_ratio` of the last `window`
//! calls failed (once `min_calls` are in the window), or at once on a spent quota. A 429 that
//! carries a retry time keeps it open at least that long (at most an hour). Once the cooldown is
//! over the breaker is half-open: one probe call is let through (other requests step around it
//! while the probe runs, for at most another cooldown); its success closes the breaker and
//! clears the history, its failure opens it again.
//!
//! Failures that say nothing about the provider's health (a bad request, a too-long
//! conversation, a content filter, a user cancel) are not counted. A refused key or origin
//! (401/403) sets the misconfigured flag instead, which stays until [`HealthBook::mark_fixed`]
//! (the user fixed the settings) or a success.
//!
//! Time is only what callers pass in; the whole book is serialisable so it survives the
//! service worker being stopped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::BreakerConfig;
use super::wire::{WireError, need};
use crate::provider::ErrorClass;
use crate::services::Millis;

/// The longest a server's retry time keeps a breaker open.
const MAX_RETRY_AFTER_OPEN_MS: u64 = 3_600_000;

/// A provider's circuit-breaker state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "BreakerStateWire")]
pub enum BreakerState {
    /// Calls go through.
    #[default]
    Closed,
    /// Calls are stepped around until `until`; after that the breaker is half-open.
    Open {
        /// When the cooldown ends.
        until: Millis,
    },
    /// One probe call may go through; `probe_since` says when the running probe began.
    HalfOpen {
        /// When the running probe started, if one is running.
        probe_since: Option<Millis>,
    },
}

// Read through a flat record (see `super::wire`): the same JSON without buffering.
#[derive(Clone, Copy)]
enum BreakerName {
    Closed,
    Open,
    HalfOpen,
}
crate::protocol::deserialize_by_name!(BreakerName { Closed = "closed", Open = "open", HalfOpen = "half_open" });

#[derive(Deserialize)]
struct BreakerStateWire {
    state: BreakerName,
    #[serde(default)]
    until: Option<Millis>,
    #[serde(default)]
    probe_since: Option<Millis>,
}

impl TryFrom<BreakerStateWire> for BreakerState {
    type Error = WireError;

    fn try_from(w: BreakerStateWire) -> Result<Self, WireError> {
        Ok(match w.state {
            BreakerName::Closed => BreakerState::Closed,
            BreakerName::Open => BreakerState::Open { until: need(w.until, "until")? },
            BreakerName::HalfOpen => BreakerState::HalfOpen { probe_since: w.probe_since },
        })
    }
}

/// One provider's health.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    /// The circuit breaker.
    pub breaker: BreakerState,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The recent calls, newest in the lowest bit; a set bit is a failure.
    pub recent: u32,
    /// How many calls `recent` holds.
    pub recent_len: u32,
    /// Set when the provider refused the key or the origin; cleared by `mark_fixed` or a success.
    pub misconfigured: Option<ErrorClass>,
    /// The last failure class counted or flagged, for display.
    pub last_failure: Option<ErrorClass>,
    /// When the last failure happened.
    pub last_failure_at: Option<Millis>,
    /// When the last success happened.
    pub last_success_at: Option<Millis>,
}

impl Health {
    /// How many of the recent calls failed.
    pub fn recent_failures(&self) -> u32 {
        self.recent.count_ones()
    }
}

/// Whether a provider may be called at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Availability {
    /// The breaker is closed.
    Available,
    /// The breaker is half-open and no probe is running: the next call is the probe.
    Probe,
    /// The breaker is half-open and another request's probe runs until at most `until`.
    ProbeBusy {
        /// When the running probe's lease ends.
        until: Millis,
    },
    /// The breaker is open until `until`.
    Open {
        /// When the cooldown ends.
        until: Millis,
    },
    /// The key or origin was refused; the user must fix the settings.
    Misconfigured {
        /// The class that flagged it (`auth` or `origin_not_allowed`).
        class: ErrorClass,
    },
}

impl Availability {
    /// Whether a call may go through now without stepping around the breaker.
    pub fn is_usable(self) -> bool {
        matches!(self, Availability::Available | Availability::Probe)
    }

    /// When the provider becomes usable again, for ordering unhealthy providers.
    pub fn recovers_at(self) -> Option<Millis> {
        match self {
            Availability::Available | Availability::Probe => Some(0),
            Availability::ProbeBusy { until } | Availability::Open { until } => Some(until),
            Availability::Misconfigured { .. } => None,
        }
    }
}

/// Whether a failure of this class counts against the provider's health.
pub fn counts_against_provider(class: ErrorClass) -> bool {
    !matches!(
        class,
        ErrorClass::BadRequest
            | ErrorClass::ContextLength
            | ErrorClass::ContentFilter
            | ErrorClass::Cancelled
            | ErrorClass::Auth
            | ErrorClass::OriginNotAllowed
    )
}

/// The health of every provider, keyed by provider id; serialisable as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HealthBook {
    providers: BTreeMap<String, Health>,
}

impl HealthBook {
    /// An empty book: every provider is healthy.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored health of `provider`, if anything was recorded.
    pub fn get(&self, provider: &str) -> Option<&Health> {
        self.providers.get(provider)
    }

    /// Every provider with recorded health, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Health)> {
        self.providers.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether `provider` may be called at `now`.
    pub fn availability(&self, provider: &str, now: Millis, config: &BreakerConfig) -> Availability {
        let Some(h) = self.providers.get(provider) else {
            return Availability::Available;
        };
        if let Some(class) = h.misconfigured {
            return Availability::Misconfigured { class };
        }
        // A breaker is never held open longer than this, and it opened at its last failure: an
        // end further away, or a last failure later than now, was set by a clock that has since
        // gone back (after a laptop woke up or the clock was corrected): the cooldown is over
        // rather than stretched by as long as the clock moved.
        let longest = config.cooldown_ms.max(MAX_RETRY_AFTER_OPEN_MS);
        let clock_went_back = h.last_failure_at.is_some_and(|at| now < at);
        match h.breaker {
            BreakerState::Closed => Availability::Available,
            BreakerState::Open { until } if now < until && until - now <= longest && !clock_went_back => {
                Availability::Open { until }
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen { probe_since: None } => Availability::Probe,
            BreakerState::HalfOpen { probe_since: Some(since) } => {
                let until = since.saturating_add(config.cooldown_ms);
                // A probe that started "in the future" is from a clock that went back: its lease is void.
                if now < until && since <= now {
                    Availability::ProbeBusy { until }
                } else {
                    Availability::Probe
                }
            }
        }
    }

    /// Notes that a call to `provider` starts at `now`: a half-open breaker's probe is taken.
    pub fn begin_call(&mut self, provider: &str, now: Millis, config: &BreakerConfig) {
        if self.availability(provider, now, config) == Availability::Probe {
            let h = self.entry(provider);
            h.breaker = BreakerState::HalfOpen { probe_since: Some(now) };
        }
    }

    /// Notes that a call to `provider` ended without a verdict (cancelled): its probe is given back.
    pub fn abandon_call(&mut self, provider: &str) {
        if let Some(h) = self.providers.get_mut(provider)
            && let BreakerState::HalfOpen { probe_since: Some(_) } = h.breaker
        {
            h.breaker = BreakerState::HalfOpen { probe_since: None };
        }
    }

    /// Records a successful call: the breaker closes and the misconfigured flag clears.
    pub fn record_success(&mut self, provider: &str, now: Millis, config: &BreakerConfig) {
        let h = self.entry(provider);
        if h.breaker != BreakerState::Closed {
            // A fresh start after recovery, or the old failures would re-open it at once.
            h.recent = 0;
            h.recent_len = 0;
        }
        h.breaker = BreakerState::Closed;
        h.consecutive_failures = 0;
        h.misconfigured = None;
        h.last_success_at = Some(now);
        push_call(h, false, config.window);
    }

    /// Records a failed call of class `class`; returns whether this failure opened the breaker.
    /// `retry_after_ms` is the server's retry time, if it sent one.
    pub fn record_failure(
        &mut self,
        provider: &str,
        class: ErrorClass,
        retry_after_ms: Option<u64>,
        now: Millis,
        config: &BreakerConfig,
    ) -> bool {
        if class.is_misconfiguration() {
            self.mark_misconfigured(provider, class, now);
            return false;
        }
        if !counts_against_provider(class) {
            return false;
        }
        let availability = self.availability(provider, now, config);
        let h = self.entry(provider);
        h.consecutive_failures = h.consecutive_failures.saturating_add(1);
        h.last_failure = Some(class);
        h.last_failure_at = Some(now);
        push_call(h, true, config.window);
        let hold = match retry_after_ms {
            Some(ra) if class == ErrorClass::RateLimited => {
                config.cooldown_ms.max(ra.min(MAX_RETRY_AFTER_OPEN_MS))
            }
            _ => config.cooldown_ms,
        };
        let until = now.saturating_add(hold);
        match (h.breaker, availability) {
            (BreakerState::Open { until: old }, Availability::Open { .. }) => {
                // Tried anyway while open: keep it aside a little longer.
                h.breaker = BreakerState::Open { until: old.max(until) };
                false
            }
            (BreakerState::Closed, _) => {
                let ratio_tripped = h.recent_len >= config.min_calls
                    && f64::from(h.recent_failures()) > config.failure_ratio * f64::from(h.recent_len);
                if h.consecutive_failures >= config.failure_threshold
                    || ratio_tripped
                    || class == ErrorClass::QuotaExhausted
                {
                    h.breaker = BreakerState::Open { until };
                    true
                } else {
                    false
                }
            }
            // Half-open (or an open breaker whose cooldown is over): the probe failed.
            _ => {
                h.breaker = BreakerState::Open { until };
                true
            }
        }
    }

    /// Flags `provider` as misconfigured (`class` is `auth` or `origin_not_allowed`).
    pub fn mark_misconfigured(&mut self, provider: &str, class: ErrorClass, now: Millis) {
        let h = self.entry(provider);
        h.misconfigured = Some(class);
        h.last_failure = Some(class);
        h.last_failure_at = Some(now);
    }

    /// The user fixed `provider`'s settings: clear the flag and give it a fresh, closed breaker.
    pub fn mark_fixed(&mut self, provider: &str) {
        if let Some(h) = self.providers.get_mut(provider) {
            *h = Health { last_success_at: h.last_success_at, ..Health::default() };
        }
    }

    /// Drops the health of providers that are no longer configured.
    pub fn retain_only(&mut self, chain: &[String]) {
        self.providers.retain(|k, _| chain.iter().any(|p| p == k));
    }

    fn entry(&mut self, provider: &str) -> &mut Health {
        self.providers.entry(provider.to_owned()).or_default()
    }
}

fn push_call(h: &mut Health, failed: bool, window: u32) {
    let window = window.clamp(1, 32);
    let mask = if window == 32 { u32::MAX } else { (1u32 << window) - 1 };
    h.recent = ((h.recent << 1) | u32::from(failed)) & mask;
    h.recent_len = h.recent_len.saturating_add(1).min(window);
}
