//! Router settings: the provider chain, timeouts, retry budget, backoff and circuit breaker.

use serde::{Deserialize, Serialize};

use super::ProviderId;

/// Everything the router needs to decide; [`Default`] gives the documented values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouterConfig {
    /// The providers to try, best first. Duplicates are ignored after the first.
    pub chain: Vec<ProviderId>,
    /// How long a fetch may take to deliver its first byte before it is aborted (15 s).
    pub first_byte_timeout_ms: u64,
    /// How long a started stream may stay silent before it is aborted (20 s).
    pub stall_timeout_ms: u64,
    /// How many times one provider is retried after its first attempt (2, so 3 attempts).
    pub max_retries_per_provider: u32,
    /// The retry waits.
    pub backoff: BackoffConfig,
    /// When a retry wait is longer than this and another healthy provider exists, switch to it
    /// instead of sleeping (1 s).
    pub switch_if_wait_over_ms: u64,
    /// When each provider's circuit breaker opens and for how long.
    pub breaker: BreakerConfig,
    /// How many decisions one request's log keeps (64); older ones are dropped first.
    pub max_decisions: u32,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            chain: Vec::new(),
            first_byte_timeout_ms: 15_000,
            stall_timeout_ms: 20_000,
            max_retries_per_provider: 2,
            backoff: BackoffConfig::default(),
            switch_if_wait_over_ms: 1_000,
            breaker: BreakerConfig::default(),
            max_decisions: 64,
        }
    }
}

impl RouterConfig {
    /// The default settings with this provider chain.
    pub fn with_chain<I, S>(chain: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<ProviderId>,
    {
        Self { chain: chain.into_iter().map(Into::into).collect(), ..Self::default() }
    }

    /// Checks that the settings make sense; the router refuses settings that do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.chain.iter().any(|p| p.is_empty()) {
            return Err(ConfigError::EmptyProviderId);
        }
        if self.first_byte_timeout_ms == 0 || self.stall_timeout_ms == 0 {
            return Err(ConfigError::ZeroTimeout);
        }
        if self.backoff.initial_ms == 0 {
            return Err(ConfigError::ZeroBackoff);
        }
        if self.backoff.jitter_percent > 100 {
            return Err(ConfigError::JitterOver100(self.backoff.jitter_percent));
        }
        let b = &self.breaker;
        if b.failure_threshold == 0 {
            return Err(ConfigError::ZeroFailureThreshold);
        }
        if !(b.failure_ratio > 0.0 && b.failure_ratio <= 1.0) {
            return Err(ConfigError::FailureRatioOutOfRange);
        }
        if b.window == 0 || b.window > 32 {
            return Err(ConfigError::WindowOutOfRange(b.window));
        }
        if b.min_calls == 0 || b.min_calls > b.window {
            return Err(ConfigError::MinCallsOutOfRange(b.min_calls));
        }
        Ok(())
    }
}

/// Exponential backoff between retries of one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackoffConfig {
    /// The first wait (500 ms); each further retry doubles it.
    pub initial_ms: u64,
    /// The longest wait (8 s).
    pub cap_ms: u64,
    /// Up to this share of the wait is taken off at random (25 %), so clients do not retry in step.
    pub jitter_percent: u8,
    /// A server's retry time is honoured only when it is above zero and at most this (60 s).
    pub max_honoured_retry_after_ms: u64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self { initial_ms: 500, cap_ms: 8_000, jitter_percent: 25, max_honoured_retry_after_ms: 60_000 }
    }
}

/// When a provider's circuit breaker opens and how long it stays open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (3).
    pub failure_threshold: u32,
    /// The breaker also opens when more than this share of the recent calls failed (0.5).
    pub failure_ratio: f64,
    /// How many recent calls the ratio looks at (10, at most 32).
    pub window: u32,
    /// The ratio is judged only once this many calls are in the window (4).
    pub min_calls: u32,
    /// How long an open breaker keeps the provider aside before one probe is allowed (30 s).
    pub cooldown_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 3, failure_ratio: 0.5, window: 10, min_calls: 4, cooldown_ms: 30_000 }
    }
}

/// Settings the router refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A provider id in the chain is empty.
    EmptyProviderId,
    /// A timeout of zero would abort every fetch at once.
    ZeroTimeout,
    /// A backoff of zero would retry in a tight loop.
    ZeroBackoff,
    /// The jitter is a percentage of the wait, so at most 100.
    JitterOver100(u8),
    /// The breaker must need at least one failure to open.
    ZeroFailureThreshold,
    /// The failure ratio must be above 0 and at most 1.
    FailureRatioOutOfRange,
    /// The window of recent calls must hold 1 to 32 calls.
    WindowOutOfRange(u32),
    /// The minimum number of calls must be between 1 and the window.
    MinCallsOutOfRange(u32),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::EmptyProviderId => f.write_str("a provider id in the chain is empty"),
            ConfigError::ZeroTimeout => f.write_str("the first-byte and stall timeouts must be above zero"),
            ConfigError::ZeroBackoff => f.write_str("the initial backoff must be above zero"),
            ConfigError::JitterOver100(p) => write!(f, "jitter of {p} % is over 100 %"),
            ConfigError::ZeroFailureThreshold => {
                f.write_str("the breaker failure threshold must be at least 1")
            }
            ConfigError::FailureRatioOutOfRange => {
                f.write_str("the breaker failure ratio must be above 0 and at most 1")
            }
            ConfigError::WindowOutOfRange(n) => {
                write!(f, "a breaker window of {n} calls is not within 1..=32")
            }
            ConfigError::MinCallsOutOfRange(n) => {
                write!(f, "a breaker minimum of {n} calls is not between 1 and the window")
            }
        }
    }
}

impl std::error::Error for ConfigError {}
