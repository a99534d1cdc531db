//! One request's way through the provider chain: a serialisable state machine.

use serde::{Deserialize, Serialize};

use super::ProviderId;
use super::config::{ConfigError, RouterConfig};
use super::health::{Availability, HealthBook};
use super::log::{AbortReason, Decision, DecisionLog, GiveUpReason, Outcome, SkipReason};
use super::retry::{Jitter, backoff_ms};
use super::wire::{WireError, need};
use crate::provider::ErrorClass;
use crate::services::Millis;

/// A fetch the worker must start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetch {
    /// The provider to ask.
    pub provider: ProviderId,
    /// The attempt on that provider: 1 for the first, 2 for the first retry...
    pub attempt: u32,
    /// Ask the provider to continue the partial answer the worker kept.
    pub continue_partial: bool,
}

/// What the worker must do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[must_use]
pub enum Action {
    /// Start this fetch now and call `tick` at `timer_at_ms` unless something arrives first.
    Fetch {
        /// The fetch.
        fetch: Fetch,
        /// The first-byte deadline.
        timer_at_ms: Millis,
    },
    /// Call `tick` at `at_ms`; it will then return `Fetch` for `then`.
    WaitUntil {
        /// When the wait ends.
        at_ms: Millis,
        /// The fetch that follows the wait.
        then: Fetch,
    },
    /// Abort the running fetch (its late events must not be reported), then do `then`.
    Abort {
        /// The provider whose fetch to abort.
        provider: ProviderId,
        /// Its attempt number.
        attempt: u32,
        /// Why.
        reason: AbortReason,
        /// What to do next.
        then: Box<Action>,
    },
    /// Call `tick` at `at_ms` (the next deadline) unless something arrives first.
    SetTimer {
        /// The deadline.
        at_ms: Millis,
    },
    /// Nothing to do; keep the timer already set.
    Continue,
    /// The answer is complete.
    Finished {
        /// The provider that answered.
        provider: ProviderId,
        /// On which attempt.
        attempt: u32,
    },
    /// No provider could answer; show the summary.
    GaveUp(GaveUp),
    /// The request is cancelled; abort any running fetch.
    Cancelled,
}

/// Why a request failed, for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaveUp {
    /// Why the router stopped.
    pub reason: GiveUpReason,
    /// The class of the last failure, if any.
    pub last_class: Option<ErrorClass>,
    /// Each provider tried, in chain order, with its last failure.
    pub providers: Vec<ProviderFailure>,
    /// One human sentence summing it up.
    pub message: String,
}

/// The last failure of one provider tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderFailure {
    /// The provider.
    pub provider: ProviderId,
    /// Its last failure class.
    pub class: ErrorClass,
    /// How many attempts it got.
    pub attempts: u32,
    /// A human explanation, with the provider's own message when it sent one.
    pub message: String,
}

/// A failure the worker reports for the running fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The failure class (from the HTTP status or the error event in the stream).
    pub class: ErrorClass,
    /// The server's retry time (see [`super::retry_after_from_headers`]), if it sent one.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
    /// The length of the answer text the worker keeps in total, earlier attempts included.
    /// The route keeps the largest length it was told (text shown stays shown); when above zero
    /// every later fetch continues it.
    #[serde(default)]
    pub partial_text_len: u64,
    /// The provider's own error message, if any, for the user.
    #[serde(default)]
    pub detail: Option<String>,
}

impl Failure {
    /// A failure of class `class` with no retry time, no partial answer and no message.
    pub fn new(class: ErrorClass) -> Self {
        Self { class, retry_after_ms: None, partial_text_len: 0, detail: None }
    }

    /// With the server's retry time.
    pub fn retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    /// With the total length of the partial answer kept.
    pub fn partial(mut self, text_len: u64) -> Self {
        self.partial_text_len = text_len;
        self
    }

    /// With the provider's message.
    pub fn detail(mut self, message: impl Into<String>) -> Self {
        self.detail = Some(message.into());
        self
    }
}

/// Everything the worker can report to a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Begin the request.
    Start,
    /// The running fetch delivered its first byte.
    FirstByte,
    /// The running fetch delivered answer text of this length.
    Chunk {
        /// The text length.
        text_len: u64,
    },
    /// The running fetch completed the answer.
    Completed,
    /// The running fetch failed.
    Failed(Failure),
    /// A timer fired.
    Tick,
    /// The user cancelled.
    Cancel,
}

/// Where a route stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case", try_from = "PhaseWire")]
pub enum Phase {
    /// Not started.
    Idle,
    /// A fetch is running and has not delivered its first byte by `deadline`.
    AwaitingFirstByte {
        /// The first-byte deadline.
        deadline: Millis,
    },
    /// A fetch is streaming; the stall deadline moves with every chunk.
    Streaming,
    /// Waiting until `until` before the next fetch.
    Waiting {
        /// When the wait ends.
        until: Millis,
        /// The chain position of the provider to fetch next.
        visit: u32,
    },
    /// Answered.
    Finished,
    /// No provider could answer.
    GaveUp,
    /// Cancelled by the user.
    Cancelled,
}

impl Phase {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::AwaitingFirstByte { .. } => "awaiting_first_byte",
            Phase::Streaming => "streaming",
            Phase::Waiting { .. } => "waiting",
            Phase::Finished => "finished",
            Phase::GaveUp => "gave_up",
            Phase::Cancelled => "cancelled",
        }
    }

    /// Whether the route is over.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Finished | Phase::GaveUp | Phase::Cancelled)
    }
}

/// An event the route cannot take in its current phase; the route is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The event came before `start`.
    NotStarted {
        /// The event's name.
        event: &'static str,
    },
    /// `start` came twice.
    AlreadyStarted,
    /// The route is over (finished, gave up or cancelled); a late event is ignored.
    Ended {
        /// The event's name.
        event: &'static str,
        /// The final phase.
        phase: &'static str,
    },
    /// The event makes no sense in this phase (for example a chunk while waiting).
    Unexpected {
        /// The event's name.
        event: &'static str,
        /// The current phase.
        phase: &'static str,
    },
    /// A restored state is inconsistent (edited or from another version).
    Corrupt(&'static str),
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteError::NotStarted { event } => write!(f, "'{event}' before the route started"),
            RouteError::AlreadyStarted => f.write_str("the route was already started"),
            RouteError::Ended { event, phase } => write!(f, "'{event}' after the route ended ({phase})"),
            RouteError::Unexpected { event, phase } => write!(f, "'{event}' is not expected while {phase}"),
            RouteError::Corrupt(what) => write!(f, "the saved route is inconsistent: {what}"),
        }
    }
}

impl std::error::Error for RouteError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "VisitStateWire")]
enum VisitState {
    Unvisited,
    Active,
    /// Left for another provider with retries to spare; may be come back to after `at`.
    Resumable {
        at: Millis,
    },
    Done,
}

// The saved phase and visit states are read through flat records (see `super::wire`).

#[derive(Clone, Copy)]
enum PhaseName {
    Idle,
    AwaitingFirstByte,
    Streaming,
    Waiting,
    Finished,
    GaveUp,
    Cancelled,
}
crate::protocol::deserialize_by_name!(PhaseName { Idle = "idle", AwaitingFirstByte = "awaiting_first_byte", Streaming = "streaming", Waiting = "waiting", Finished = "finished", GaveUp = "gave_up", Cancelled = "cancelled" });

#[derive(Deserialize)]
struct PhaseWire {
    phase: PhaseName,
    #[serde(default)]
    deadline: Option<Millis>,
    #[serde(default)]
    until: Option<Millis>,
    #[serde(default)]
    visit: Option<u32>,
}

impl TryFrom<PhaseWire> for Phase {
    type Error = WireError;

    fn try_from(w: PhaseWire) -> Result<Self, WireError> {
        Ok(match w.phase {
            PhaseName::Idle => Phase::Idle,
            PhaseName::AwaitingFirstByte => {
                Phase::AwaitingFirstByte { deadline: need(w.deadline, "deadline")? }
            }
            PhaseName::Streaming => Phase::Streaming,
            PhaseName::Waiting => {
                Phase::Waiting { until: need(w.until, "until")?, visit: need(w.visit, "visit")? }
            }
            PhaseName::Finished => Phase::Finished,
            PhaseName::GaveUp => Phase::GaveUp,
            PhaseName::Cancelled => Phase::Cancelled,
        })
    }
}

#[derive(Clone, Copy)]
enum VisitStateName {
    Unvisited,
    Active,
    Resumable,
    Done,
}
crate::protocol::deserialize_by_name!(VisitStateName { Unvisited = "unvisited", Active = "active", Resumable = "resumable", Done = "done" });

#[derive(Deserialize)]
struct VisitStateWire {
    state: VisitStateName,
    #[serde(default)]
    at: Option<Millis>,
}

impl TryFrom<VisitStateWire> for VisitState {
    type Error = WireError;

    fn try_from(w: VisitStateWire) -> Result<Self, WireError> {
        Ok(match w.state {
            VisitStateName::Unvisited => VisitState::Unvisited,
            VisitStateName::Active => VisitState::Active,
            VisitStateName::Resumable => VisitState::Resumable { at: need(w.at, "at")? },
            VisitStateName::Done => VisitState::Done,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LastFailure {
    class: ErrorClass,
    timeout: Option<AbortReason>,
    retry_after_ms: Option<u64>,
    detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Visit {
    provider: ProviderId,
    attempts: u32,
    state: VisitState,
    skip_logged: bool,
    last: Option<LastFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Attempt {
    visit: u32,
    started_at: Millis,
    last_activity_at: Millis,
    chunks: u32,
    text_len: u64,
}

enum Plan {
    NoRetry,
    Wait { ms: u64, server: bool, prefer_switch: bool },
}

struct Pick {
    visit: usize,
    at: Millis,
    anyway: Option<SkipReason>,
}

/// One request's failover state machine. See the [module documentation](super) for the policy
/// and the protocol with the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    #[serde(deserialize_with = "validated_config")]
    config: RouterConfig,
    jitter: Jitter,
    phase: Phase,
    visits: Vec<Visit>,
    current: Option<Attempt>,
    kept_text_len: u64,
    started_at: Option<Millis>,
    last_class: Option<ErrorClass>,
    log: DecisionLog,
}

impl Route {
    /// A route over `config.chain` (duplicates dropped), with jitter seeded by `seed`.
    pub fn new(config: RouterConfig, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut visits: Vec<Visit> = Vec::with_capacity(config.chain.len());
        for provider in &config.chain {
            if visits.iter().all(|v| &v.provider != provider) {
                visits.push(Visit {
                    provider: provider.clone(),
                    attempts: 0,
                    state: VisitState::Unvisited,
                    skip_logged: false,
                    last: None,
                });
            }
        }
        let log = DecisionLog::new(config.max_decisions);
        Ok(Self {
            config,
            jitter: Jitter::new(seed),
            phase: Phase::Idle,
            visits,
            current: None,
            kept_text_len: 0,
            started_at: None,
            last_class: None,
            log,
        })
    }

    /// Where the route stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The settings the route was made with.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The decisions so far.
    pub fn log(&self) -> &DecisionLog {
        &self.log
    }

    /// The provider and attempt of the running or awaited fetch.
    pub fn current(&self) -> Option<(&str, u32)> {
        let visit = match (self.phase, self.current) {
            (Phase::Waiting { visit, .. }, _) => visit,
            (_, Some(a)) => a.visit,
            _ => return None,
        };
        let v = self.visits.get(visit as usize)?;
        let attempt = if matches!(self.phase, Phase::Waiting { .. }) { v.attempts + 1 } else { v.attempts };
        Some((v.provider.as_str(), attempt))
    }

    /// The length of the partial answer kept from failed attempts.
    pub fn kept_text_len(&self) -> u64 {
        self.kept_text_len
    }

    /// When the worker's timer should fire next (re-arm it with this after a restore).
    pub fn timer_at(&self) -> Option<Millis> {
        match self.phase {
            Phase::Waiting { until, .. } => Some(until),
            Phase::AwaitingFirstByte { deadline } => Some(deadline),
            Phase::Streaming => {
                self.current.map(|a| a.last_activity_at.saturating_add(self.config.stall_timeout_ms))
            }
            _ => None,
        }
    }

    /// Whether the route is over.
    pub fn is_done(&self) -> bool {
        self.phase.is_terminal()
    }

    /// Feeds one event; a convenience over the per-event methods.
    pub fn handle(
        &mut self,
        health: &mut HealthBook,
        now: Millis,
        event: Event,
    ) -> Result<Action, RouteError> {
        match event {
            Event::Start => self.start(health, now),
            Event::FirstByte => self.first_byte(now),
            Event::Chunk { text_len } => self.chunk(now, text_len),
            Event::Completed => self.completed(health, now),
            Event::Failed(failure) => self.failed(health, now, failure),
            Event::Tick => self.tick(health, now),
            Event::Cancel => self.cancel(health, now),
        }
    }

    /// Begins the request: returns the first fetch, or gives up on an empty chain.
    pub fn start(&mut self, health: &mut HealthBook, now: Millis) -> Result<Action, RouteError> {
        match self.phase {
            Phase::Idle => {}
            p if p.is_terminal() => return Err(RouteError::Ended { event: "start", phase: p.as_str() }),
            _ => return Err(RouteError::AlreadyStarted),
        }
        self.started_at = Some(now);
        if self.visits.is_empty() {
            return Ok(self.give_up(GiveUpReason::EmptyChain, now, ""));
        }
        self.switch(health, now, None)
    }

    /// The running fetch delivered its first byte: returns the stall timer.
    pub fn first_byte(&mut self, now: Millis) -> Result<Action, RouteError> {
        match self.phase {
            Phase::AwaitingFirstByte { .. } => {
                let a = self.current.as_mut().ok_or(RouteError::Corrupt("no running attempt"))?;
                a.last_activity_at = now;
                let attempt = *a;
                self.phase = Phase::Streaming;
                self.record(now, attempt.visit as usize, Outcome::FirstByte, Some(attempt.started_at));
                Ok(Action::SetTimer { at_ms: now.saturating_add(self.config.stall_timeout_ms) })
            }
            Phase::Streaming => Ok(Action::Continue),
            p => Err(self.misplaced("first_byte", p)),
        }
    }

    /// The running fetch delivered `text_len` of answer text. O(1) and allocation-free while
    /// streaming; a chunk before `first_byte` counts as the first byte.
    #[inline]
    pub fn chunk(&mut self, now: Millis, text_len: u64) -> Result<Action, RouteError> {
        if matches!(self.phase, Phase::Streaming)
            && let Some(a) = self.current.as_mut()
        {
            a.last_activity_at = now;
            a.chunks = a.chunks.saturating_add(1);
            a.text_len = a.text_len.saturating_add(text_len);
            return Ok(Action::Continue);
        }
        let action = self.first_byte(now).map_err(|e| match e {
            RouteError::NotStarted { .. } => RouteError::NotStarted { event: "chunk" },
            RouteError::Ended { phase, .. } => RouteError::Ended { event: "chunk", phase },
            RouteError::Unexpected { phase, .. } => RouteError::Unexpected { event: "chunk", phase },
            other => other,
        })?;
        if let Some(a) = self.current.as_mut() {
            a.chunks = a.chunks.saturating_add(1);
            a.text_len = a.text_len.saturating_add(text_len);
        }
        Ok(action)
    }

    /// The running fetch completed the answer: the provider's health improves.
    pub fn completed(&mut self, health: &mut HealthBook, now: Millis) -> Result<Action, RouteError> {
        match self.phase {
            Phase::AwaitingFirstByte { .. } | Phase::Streaming => {}
            p => return Err(self.misplaced("completed", p)),
        }
        let a = self.current.take().ok_or(RouteError::Corrupt("no running attempt"))?;
        let v =
            self.visits.get_mut(a.visit as usize).ok_or(RouteError::Corrupt("attempt outside the chain"))?;
        v.state = VisitState::Done;
        let (provider, attempt) = (v.provider.clone(), v.attempts);
        health.record_success(&provider, now, &self.config.breaker);
        self.phase = Phase::Finished;
        let outcome = Outcome::Completed { chunks: a.chunks, text_len: a.text_len };
        self.record(now, a.visit as usize, outcome, Some(a.started_at));
        Ok(Action::Finished { provider, attempt })
    }

    /// The running fetch failed: retry, wait, switch, or give up (see the module documentation).
    pub fn failed(
        &mut self,
        health: &mut HealthBook,
        now: Millis,
        failure: Failure,
    ) -> Result<Action, RouteError> {
        match self.phase {
            Phase::AwaitingFirstByte { .. } | Phase::Streaming => {}
            p => return Err(self.misplaced("failed", p)),
        }
        // Text already shown stays: the kept length never shrinks.
        self.kept_text_len = self.kept_text_len.max(failure.partial_text_len);
        self.on_failure(health, now, failure, None)
    }

    /// A timer fired: starts a fetch whose wait is over, aborts a fetch past its first-byte or
    /// stall deadline, or returns the next deadline.
    pub fn tick(&mut self, health: &mut HealthBook, now: Millis) -> Result<Action, RouteError> {
        match self.phase {
            Phase::Idle => Err(RouteError::NotStarted { event: "tick" }),
            p if p.is_terminal() => Ok(Action::Continue),
            Phase::Waiting { until, visit } => {
                if now >= until {
                    self.begin_fetch(health, now, visit as usize)
                } else {
                    Ok(Action::SetTimer { at_ms: until })
                }
            }
            Phase::AwaitingFirstByte { deadline } => {
                if now >= deadline {
                    self.abort(health, now, AbortReason::FirstByteTimeout)
                } else {
                    Ok(Action::SetTimer { at_ms: deadline })
                }
            }
            _ => {
                let deadline = self.timer_at().ok_or(RouteError::Corrupt("no running attempt"))?;
                if now >= deadline {
                    self.abort(health, now, AbortReason::Stalled)
                } else {
                    Ok(Action::SetTimer { at_ms: deadline })
                }
            }
        }
    }

    /// The user cancelled: stop everything. Cancelling twice is harmless.
    pub fn cancel(&mut self, health: &mut HealthBook, now: Millis) -> Result<Action, RouteError> {
        match self.phase {
            Phase::Cancelled => return Ok(Action::Cancelled),
            p if p.is_terminal() => return Err(RouteError::Ended { event: "cancel", phase: p.as_str() }),
            _ => {}
        }
        Ok(self.cancel_now(health, now))
    }

    fn misplaced(&self, event: &'static str, phase: Phase) -> RouteError {
        match phase {
            Phase::Idle => RouteError::NotStarted { event },
            p if p.is_terminal() => RouteError::Ended { event, phase: p.as_str() },
            p => RouteError::Unexpected { event, phase: p.as_str() },
        }
    }

    fn cancel_now(&mut self, health: &mut HealthBook, now: Millis) -> Action {
        let running = self.current.take();
        let visit = running.map(|a| a.visit as usize).or(match self.phase {
            Phase::Waiting { visit, .. } => Some(visit as usize),
            _ => None,
        });
        if let Some(v) = running.and_then(|a| self.visits.get(a.visit as usize)) {
            health.abandon_call(&v.provider);
        }
        self.phase = Phase::Cancelled;
        self.push(now, visit, Outcome::Cancelled, running.map(|a| a.started_at));
        Action::Cancelled
    }

    fn abort(
        &mut self,
        health: &mut HealthBook,
        now: Millis,
        reason: AbortReason,
    ) -> Result<Action, RouteError> {
        let a = self.current.ok_or(RouteError::Corrupt("no running attempt"))?;
        let v = self.visits.get(a.visit as usize).ok_or(RouteError::Corrupt("attempt outside the chain"))?;
        let (provider, attempt) = (v.provider.clone(), v.attempts);
        // The worker keeps what streamed before the stall.
        self.kept_text_len = self.kept_text_len.saturating_add(a.text_len);
        let then = self.on_failure(health, now, Failure::new(ErrorClass::Timeout), Some(reason))?;
        Ok(Action::Abort { provider, attempt, reason, then: Box::new(then) })
    }

    fn on_failure(
        &mut self,
        health: &mut HealthBook,
        now: Millis,
        failure: Failure,
        timeout: Option<AbortReason>,
    ) -> Result<Action, RouteError> {
        let a = self.current.take().ok_or(RouteError::Corrupt("no running attempt"))?;
        let idx = a.visit as usize;
        let Failure { class, retry_after_ms, detail, .. } = failure;
        let v = self.visits.get_mut(idx).ok_or(RouteError::Corrupt("attempt outside the chain"))?;
        v.last = Some(LastFailure { class, timeout, retry_after_ms, detail });
        let provider = v.provider.clone();
        let attempts = v.attempts;
        self.last_class = Some(class);
        let outcome = match timeout {
            Some(reason) => Outcome::Timeout { reason },
            None => Outcome::Failed { class },
        };
        self.record(now, idx, outcome, Some(a.started_at));

        if class == ErrorClass::Cancelled {
            self.current = Some(a);
            return Ok(self.cancel_now(health, now));
        }
        let breaker = &self.config.breaker;
        if health.record_failure(&provider, class, retry_after_ms, now, breaker)
            && let Availability::Open { until } = health.availability(&provider, now, breaker)
        {
            self.record(now, idx, Outcome::BreakerOpened { until }, None);
        }
        if class.is_misconfiguration() {
            self.record(now, idx, Outcome::MarkedMisconfigured { class }, None);
        }
        if class == ErrorClass::BadRequest {
            self.set_state(idx, VisitState::Done);
            return Ok(self.give_up(GiveUpReason::RequestRejected, now, &provider));
        }

        let plan = self.plan(class, retry_after_ms, timeout, attempts);
        match plan {
            Plan::NoRetry => {
                self.set_state(idx, VisitState::Done);
                self.switch(health, now, Some(idx))
            }
            Plan::Wait { ms, server, prefer_switch } => {
                let at = now.saturating_add(ms);
                let blocked = !health.availability(&provider, now, &self.config.breaker).is_usable();
                let leave = prefer_switch || blocked || ms > self.config.switch_if_wait_over_ms;
                if leave && self.has_usable_alternative(health, now) {
                    self.set_state(idx, VisitState::Resumable { at });
                    return self.switch(health, now, Some(idx));
                }
                self.set_state(idx, VisitState::Active);
                self.record(
                    now,
                    idx,
                    Outcome::RetryScheduled { wait_ms: ms, server_retry_after: server },
                    None,
                );
                Ok(self.wait(idx, at, provider, attempts + 1))
            }
        }
    }

    /// The retry rule for a failure of `class` after `attempts` attempts on the provider.
    fn plan(
        &mut self,
        class: ErrorClass,
        retry_after_ms: Option<u64>,
        timeout: Option<AbortReason>,
        attempts: u32,
    ) -> Plan {
        if !class.is_retryable() || attempts > self.config.max_retries_per_provider {
            return Plan::NoRetry;
        }
        let max = self.config.backoff.max_honoured_retry_after_ms;
        let honoured = retry_after_ms.filter(|&w| w > 0 && w <= max);
        if timeout.is_none() {
            if let Some(ms) = honoured {
                return Plan::Wait { ms, server: true, prefer_switch: false };
            }
            if class == ErrorClass::RateLimited && retry_after_ms.is_some_and(|w| w > max) {
                // The server asks for a longer wait than is worth it: fall back at once.
                return Plan::NoRetry;
            }
        }
        let ms = backoff_ms(&self.config.backoff, attempts.saturating_sub(1), &mut self.jitter);
        // Our own timeouts and a 429 without a usable retry time: fall back when possible.
        let prefer_switch = timeout.is_some() || class == ErrorClass::RateLimited;
        Plan::Wait { ms, server: false, prefer_switch }
    }

    fn has_usable_alternative(&self, health: &HealthBook, now: Millis) -> bool {
        self.visits.iter().any(|v| {
            v.state == VisitState::Unvisited
                && health.availability(&v.provider, now, &self.config.breaker).is_usable()
        })
    }

    /// The next provider: a healthy unvisited one in chain order; else one left earlier with
    /// retries to spare (earliest first); else an open one (earliest recovery first); else a
    /// misconfigured one.
    fn pick(&self, health: &HealthBook, now: Millis) -> Option<Pick> {
        let breaker = &self.config.breaker;
        let unvisited = || {
            self.visits
                .iter()
                .enumerate()
                .filter(|(_, v)| v.state == VisitState::Unvisited)
                .map(|(i, v)| (i, health.availability(&v.provider, now, breaker)))
        };
        if let Some((visit, _)) = unvisited().find(|(_, a)| a.is_usable()) {
            return Some(Pick { visit, at: now, anyway: None });
        }
        let resumable = self
            .visits
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v.state {
                VisitState::Resumable { at } => Some((at, i)),
                _ => None,
            })
            .min();
        if let Some((at, visit)) = resumable {
            return Some(Pick { visit, at: at.max(now), anyway: None });
        }
        let open = unvisited()
            .filter_map(|(i, a)| a.recovers_at().map(|t| (t, i, a)))
            .min_by_key(|&(t, i, _)| (t, i));
        if let Some((_, visit, a)) = open {
            return Some(Pick { visit, at: now, anyway: skip_reason(a) });
        }
        unvisited().next().map(|(visit, a)| Pick { visit, at: now, anyway: skip_reason(a) })
    }

    /// Moves on from `from` (or starts): the next provider's fetch, a wait, or giving up.
    fn switch(
        &mut self,
        health: &mut HealthBook,
        now: Millis,
        from: Option<usize>,
    ) -> Result<Action, RouteError> {
        let Some(pick) = self.pick(health, now) else {
            let last = from.and_then(|i| self.visits.get(i)).map(|v| v.provider.clone()).unwrap_or_default();
            return Ok(self.give_up(GiveUpReason::AllFailed, now, &last));
        };
        // Log the providers stepped around, once each.
        for i in 0..self.visits.len() {
            let Some(v) = self.visits.get(i) else { continue };
            if i == pick.visit || v.state != VisitState::Unvisited || v.skip_logged {
                continue;
            }
            if let Some(reason) = skip_reason(health.availability(&v.provider, now, &self.config.breaker)) {
                if let Some(v) = self.visits.get_mut(i) {
                    v.skip_logged = true;
                }
                self.record(now, i, Outcome::Skipped { reason }, None);
            }
        }
        let to = self.visits.get(pick.visit).ok_or(RouteError::Corrupt("pick outside the chain"))?;
        let (to_provider, attempt) = (to.provider.clone(), to.attempts + 1);
        if let Some(from) = from {
            self.record(now, from, Outcome::Switched { to: to_provider.clone() }, None);
        }
        if let Some(reason) = pick.anyway {
            self.record(now, pick.visit, Outcome::TriedAnyway { reason }, None);
        }
        if pick.at > now {
            let wait_ms = pick.at - now;
            self.record(
                now,
                pick.visit,
                Outcome::RetryScheduled { wait_ms, server_retry_after: false },
                None,
            );
            return Ok(self.wait(pick.visit, pick.at, to_provider, attempt));
        }
        self.begin_fetch(health, now, pick.visit)
    }

    fn wait(&mut self, visit: usize, at: Millis, provider: ProviderId, attempt: u32) -> Action {
        self.phase = Phase::Waiting { until: at, visit: visit as u32 };
        Action::WaitUntil {
            at_ms: at,
            then: Fetch { provider, attempt, continue_partial: self.kept_text_len > 0 },
        }
    }

    fn begin_fetch(
        &mut self,
        health: &mut HealthBook,
        now: Millis,
        visit: usize,
    ) -> Result<Action, RouteError> {
        let v = self.visits.get_mut(visit).ok_or(RouteError::Corrupt("fetch outside the chain"))?;
        v.attempts = v.attempts.saturating_add(1);
        v.state = VisitState::Active;
        let fetch = Fetch {
            provider: v.provider.clone(),
            attempt: v.attempts,
            continue_partial: self.kept_text_len > 0,
        };
        health.begin_call(&fetch.provider, now, &self.config.breaker);
        self.current = Some(Attempt {
            visit: visit as u32,
            started_at: now,
            last_activity_at: now,
            chunks: 0,
            text_len: 0,
        });
        let deadline = now.saturating_add(self.config.first_byte_timeout_ms);
        self.phase = Phase::AwaitingFirstByte { deadline };
        self.record(now, visit, Outcome::Started { continue_partial: fetch.continue_partial }, None);
        Ok(Action::Fetch { fetch, timer_at_ms: deadline })
    }

    fn give_up(&mut self, reason: GiveUpReason, now: Millis, provider: &str) -> Action {
        self.phase = Phase::GaveUp;
        self.current = None;
        let providers: Vec<ProviderFailure> = self
            .visits
            .iter()
            .filter(|v| v.attempts > 0)
            .filter_map(|v| {
                let last = v.last.as_ref()?;
                Some(ProviderFailure {
                    provider: v.provider.clone(),
                    class: last.class,
                    attempts: v.attempts,
                    message: describe(last, &self.config),
                })
            })
            .collect();
        let message = match reason {
            GiveUpReason::EmptyChain => "no provider is configured".to_owned(),
            GiveUpReason::RequestRejected => {
                let why = providers.iter().find(|p| p.provider == provider).map(|p| p.message.as_str());
                format!("{provider} rejected the request: {}", why.unwrap_or("bad request"))
            }
            GiveUpReason::AllFailed => {
                let parts: Vec<String> =
                    providers.iter().map(|p| format!("{}: {}", p.provider, p.message)).collect();
                format!("no provider could answer ({})", parts.join("; "))
            }
        };
        let decision = Decision {
            at_ms: now,
            provider: provider.to_owned(),
            attempt: 0,
            outcome: Outcome::GaveUp { reason },
            elapsed_ms: 0,
        };
        self.log.push(decision);
        Action::GaveUp(GaveUp { reason, last_class: self.last_class, providers, message })
    }

    fn set_state(&mut self, visit: usize, state: VisitState) {
        if let Some(v) = self.visits.get_mut(visit) {
            v.state = state;
        }
    }

    fn record(&mut self, now: Millis, visit: usize, outcome: Outcome, since: Option<Millis>) {
        self.push(now, Some(visit), outcome, since);
    }

    fn push(&mut self, now: Millis, visit: Option<usize>, outcome: Outcome, since: Option<Millis>) {
        let (provider, attempt) = match visit.and_then(|i| self.visits.get(i)) {
            Some(v) => (v.provider.clone(), v.attempts),
            None => (String::new(), 0),
        };
        let elapsed_ms = since.map_or(0, |s| now.saturating_sub(s));
        self.log.push(Decision { at_ms: now, provider, attempt, outcome, elapsed_ms });
    }
}

/// Refuses a saved route whose settings were tampered with into nonsense.
fn validated_config<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RouterConfig, D::Error> {
    let config = RouterConfig::deserialize(d)?;
    config.validate().map_err(serde::de::Error::custom)?;
    Ok(config)
}

fn skip_reason(a: Availability) -> Option<SkipReason> {
    match a {
        Availability::Available | Availability::Probe => None,
        Availability::ProbeBusy { until } => Some(SkipReason::ProbeBusy { until }),
        Availability::Open { until } => Some(SkipReason::BreakerOpen { until }),
        Availability::Misconfigured { class } => Some(SkipReason::Misconfigured { class }),
    }
}

/// A human explanation of a provider's last failure.
fn describe(last: &LastFailure, config: &RouterConfig) -> String {
    let base = match (last.class, last.timeout) {
        (_, Some(AbortReason::FirstByteTimeout)) => {
            format!("no answer within {} s", config.first_byte_timeout_ms.div_ceil(1000))
        }
        (_, Some(AbortReason::Stalled)) => {
            format!("the answer stalled for {} s", config.stall_timeout_ms.div_ceil(1000))
        }
        (ErrorClass::RateLimited, None) => match last.retry_after_ms {
            Some(ms) if ms > 0 => format!("rate limited (429), retry in {} s", ms.div_ceil(1000)),
            _ => "rate limited (429)".to_owned(),
        },
        (class, None) => class_message(class).to_owned(),
    };
    match &last.detail {
        Some(d) if !d.trim().is_empty() => format!("{base}: {}", d.trim()),
        _ => base,
    }
}

/// A short human explanation of a failure class.
pub fn class_message(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::BadRequest => "the request was refused as invalid (400)",
        ErrorClass::ContextLength => "the conversation is longer than the model's context window",
        ErrorClass::Auth => "the API key was refused (401/403); check it in the settings",
        ErrorClass::OriginNotAllowed => {
            "the local server refuses the extension's origin; set OLLAMA_ORIGINS=chrome-extension://*,moz-extension://*"
        }
        ErrorClass::ContentFilter => "the provider refused the prompt by policy",
        ErrorClass::NotFound => "the model or endpoint was not found (404)",
        ErrorClass::Timeout => "the request timed out (408)",
        ErrorClass::Conflict => "the request conflicted (409)",
        ErrorClass::RateLimited => "rate limited (429)",
        ErrorClass::QuotaExhausted => "the quota or spending limit is used up",
        ErrorClass::Server => "the provider's server failed (5xx)",
        ErrorClass::Overloaded => "the provider is overloaded",
        ErrorClass::Network => "the connection failed",
        ErrorClass::Malformed => "the answer could not be understood",
        ErrorClass::Cancelled => "cancelled",
    }
}
