//! The decision log: every choice the router made for one request, for the popup's timeline.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::ProviderId;
use super::wire::{WireError, need};
use crate::provider::ErrorClass;
use crate::services::Millis;

/// Why the router aborted a running fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// No first byte within `first_byte_timeout_ms`.
    FirstByteTimeout,
    /// The stream was silent for `stall_timeout_ms`.
    Stalled,
}

impl AbortReason {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AbortReason::FirstByteTimeout => "first_byte_timeout",
            AbortReason::Stalled => "stalled",
        }
    }
}

/// Why a provider was stepped around (or tried despite its state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "SkipReasonWire")]
pub enum SkipReason {
    /// Its circuit breaker is open until `until`.
    BreakerOpen {
        /// When the cooldown ends.
        until: Millis,
    },
    /// Its breaker is half-open and another request is probing it.
    ProbeBusy {
        /// When that probe's lease ends.
        until: Millis,
    },
    /// Its key or origin was refused; the settings need fixing.
    Misconfigured {
        /// `auth` or `origin_not_allowed`.
        class: ErrorClass,
    },
}

/// Why the router gave up on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiveUpReason {
    /// The chain has no providers.
    EmptyChain,
    /// A provider said the request itself is wrong (400/413): another provider would refuse it too.
    RequestRejected,
    /// Every provider failed or was used up.
    AllFailed,
}

/// What happened at one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "OutcomeWire")]
pub enum Outcome {
    /// A fetch started; `continue_partial` when it continues a kept partial answer.
    Started {
        /// Whether the provider is asked to continue the partial answer.
        continue_partial: bool,
    },
    /// The first byte arrived (`elapsed_ms` is the time to first byte).
    FirstByte,
    /// The answer completed.
    Completed {
        /// Chunks received in this attempt.
        chunks: u32,
        /// Text length received in this attempt.
        text_len: u64,
    },
    /// The provider reported a failure.
    Failed {
        /// Its class.
        class: ErrorClass,
    },
    /// The router aborted the fetch.
    Timeout {
        /// First byte or stall.
        reason: AbortReason,
    },
    /// The provider was stepped around.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// Every healthier provider was used up, so this one is tried despite its state.
    TriedAnyway {
        /// Its state.
        reason: SkipReason,
    },
    /// The same provider will be retried after `wait_ms`.
    RetryScheduled {
        /// The wait.
        wait_ms: u64,
        /// Whether the wait is the server's retry time rather than the backoff.
        server_retry_after: bool,
    },
    /// The router moved from this provider to `to`.
    Switched {
        /// The next provider.
        to: ProviderId,
    },
    /// This failure opened the provider's circuit breaker until `until`.
    BreakerOpened {
        /// When the cooldown ends.
        until: Millis,
    },
    /// The provider was flagged misconfigured.
    MarkedMisconfigured {
        /// `auth` or `origin_not_allowed`.
        class: ErrorClass,
    },
    /// The router gave up.
    GaveUp {
        /// Why.
        reason: GiveUpReason,
    },
    /// The user cancelled.
    Cancelled,
}

// Reading the tagged enums back (a saved route). The derived reader of an internally tagged enum
// buffers the whole object before it looks at the tag, which compiles to several times the code of
// a plain struct; these flat records read the same JSON in one pass and are checked on conversion.

#[derive(Clone, Copy)]
enum SkipKind {
    BreakerOpen,
    ProbeBusy,
    Misconfigured,
}
crate::protocol::deserialize_by_name!(SkipKind { BreakerOpen = "breaker_open", ProbeBusy = "probe_busy", Misconfigured = "misconfigured" });

#[derive(Deserialize)]
struct SkipReasonWire {
    kind: SkipKind,
    #[serde(default)]
    until: Option<Millis>,
    #[serde(default)]
    class: Option<ErrorClass>,
}

impl TryFrom<SkipReasonWire> for SkipReason {
    type Error = WireError;

    fn try_from(w: SkipReasonWire) -> Result<Self, WireError> {
        Ok(match w.kind {
            SkipKind::BreakerOpen => SkipReason::BreakerOpen { until: need(w.until, "until")? },
            SkipKind::ProbeBusy => SkipReason::ProbeBusy { until: need(w.until, "until")? },
            SkipKind::Misconfigured => SkipReason::Misconfigured { class: need(w.class, "class")? },
        })
    }
}

#[derive(Clone, Copy)]
enum OutcomeKind {
    Started,
    FirstByte,
    Completed,
    Failed,
    Timeout,
    Skipped,
    TriedAnyway,
    RetryScheduled,
    Switched,
    BreakerOpened,
    MarkedMisconfigured,
    GaveUp,
    Cancelled,
}
crate::protocol::deserialize_by_name!(OutcomeKind { Started = "started", FirstByte = "first_byte", Completed = "completed", Failed = "failed", Timeout = "timeout", Skipped = "skipped", TriedAnyway = "tried_anyway", RetryScheduled = "retry_scheduled", Switched = "switched", BreakerOpened = "breaker_opened", MarkedMisconfigured = "marked_misconfigured", GaveUp = "gave_up", Cancelled = "cancelled" });

/// `reason` is a name (a timeout's or giving up's) or a [`SkipReason`] object.
enum ReasonWire {
    Name(String),
    Skip(SkipReason),
}

impl<'de> Deserialize<'de> for ReasonWire {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ReasonWire;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a reason name or object")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ReasonWire, E> {
                Ok(ReasonWire::Name(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ReasonWire, A::Error> {
                SkipReason::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ReasonWire::Skip)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct OutcomeWire {
    kind: OutcomeKind,
    #[serde(default)]
    continue_partial: Option<bool>,
    #[serde(default)]
    chunks: Option<u32>,
    #[serde(default)]
    text_len: Option<u64>,
    #[serde(default)]
    class: Option<ErrorClass>,
    #[serde(default)]
    reason: Option<ReasonWire>,
    #[serde(default)]
    wait_ms: Option<u64>,
    #[serde(default)]
    server_retry_after: Option<bool>,
    #[serde(default)]
    to: Option<ProviderId>,
    #[serde(default)]
    until: Option<Millis>,
}

fn skip_reason(r: Option<ReasonWire>) -> Result<SkipReason, WireError> {
    match need(r, "reason")? {
        ReasonWire::Skip(s) => Ok(s),
        ReasonWire::Name(_) => Err(WireError::Invalid("reason must be an object here")),
    }
}

fn reason_name(r: Option<ReasonWire>) -> Result<String, WireError> {
    match need(r, "reason")? {
        ReasonWire::Name(n) => Ok(n),
        ReasonWire::Skip(_) => Err(WireError::Invalid("reason must be a name here")),
    }
}

impl TryFrom<OutcomeWire> for Outcome {
    type Error = WireError;

    fn try_from(w: OutcomeWire) -> Result<Self, WireError> {
        Ok(match w.kind {
            OutcomeKind::Started => {
                Outcome::Started { continue_partial: need(w.continue_partial, "continue_partial")? }
            }
            OutcomeKind::FirstByte => Outcome::FirstByte,
            OutcomeKind::Completed => Outcome::Completed {
                chunks: need(w.chunks, "chunks")?,
                text_len: need(w.text_len, "text_len")?,
            },
            OutcomeKind::Failed => Outcome::Failed { class: need(w.class, "class")? },
            OutcomeKind::Timeout => Outcome::Timeout {
                reason: match reason_name(w.reason)?.as_str() {
                    "first_byte_timeout" => AbortReason::FirstByteTimeout,
                    "stalled" => AbortReason::Stalled,
                    _ => return Err(WireError::Invalid("unknown timeout reason")),
                },
            },
            OutcomeKind::Skipped => Outcome::Skipped { reason: skip_reason(w.reason)? },
            OutcomeKind::TriedAnyway => Outcome::TriedAnyway { reason: skip_reason(w.reason)? },
            OutcomeKind::RetryScheduled => Outcome::RetryScheduled {
                wait_ms: need(w.wait_ms, "wait_ms")?,
                server_retry_after: need(w.server_retry_after, "server_retry_after")?,
            },
            OutcomeKind::Switched => Outcome::Switched { to: need(w.to, "to")? },
            OutcomeKind::BreakerOpened => Outcome::BreakerOpened { until: need(w.until, "until")? },
            OutcomeKind::MarkedMisconfigured => {
                Outcome::MarkedMisconfigured { class: need(w.class, "class")? }
            }
            OutcomeKind::GaveUp => Outcome::GaveUp {
                reason: match reason_name(w.reason)?.as_str() {
                    "empty_chain" => GiveUpReason::EmptyChain,
                    "request_rejected" => GiveUpReason::RequestRejected,
                    "all_failed" => GiveUpReason::AllFailed,
                    _ => return Err(WireError::Invalid("unknown give-up reason")),
                },
            },
            OutcomeKind::Cancelled => Outcome::Cancelled,
        })
    }
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// When it happened.
    pub at_ms: Millis,
    /// The provider concerned (empty when none is).
    pub provider: ProviderId,
    /// The attempt on that provider (1 for the first; 0 when none is running).
    pub attempt: u32,
    /// What happened.
    pub outcome: Outcome,
    /// Time since the attempt's fetch started (0 when no fetch is concerned).
    pub elapsed_ms: u64,
}

/// A bounded log of decisions; when full, the oldest are dropped and counted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecisionLog {
    entries: VecDeque<Decision>,
    capacity: u32,
    dropped: u32,
}

impl DecisionLog {
    /// An empty log keeping at most `capacity` decisions (at least 1).
    pub fn new(capacity: u32) -> Self {
        Self { entries: VecDeque::new(), capacity: capacity.max(1), dropped: 0 }
    }

    /// Adds a decision, dropping the oldest if the log is full.
    pub fn push(&mut self, decision: Decision) {
        while self.entries.len() >= self.capacity.max(1) as usize {
            self.entries.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.entries.push_back(decision);
    }

    /// The kept decisions, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &Decision> {
        self.entries.iter()
    }

    /// How many decisions are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no decision is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many old decisions were dropped to stay within the bound.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}
