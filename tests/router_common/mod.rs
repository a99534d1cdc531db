//! The driver shared by the router tests: a route, a health book and a fake clock, and a compact
//! description of the router's actions.
// Each test file uses a different part of it.
#![allow(dead_code)]

pub use understudy::provider::ErrorClass;
pub use understudy::router::{Action, Event, Failure, HealthBook, Route, RouterConfig};
pub use understudy::services::{Clock, FakeClock, Millis};

pub const T0: Millis = 1_700_000_000_000;

pub struct Sim {
    pub route: Route,
    pub health: HealthBook,
    pub clock: FakeClock,
}

impl Sim {
    /// Default settings without jitter, so waits are exact.
    pub fn new(chain: &[&str]) -> Self {
        let mut config = RouterConfig::with_chain(chain.iter().copied());
        config.backoff.jitter_percent = 0;
        Self::with(config, HealthBook::new())
    }

    pub fn with(config: RouterConfig, health: HealthBook) -> Self {
        Self { route: Route::new(config, 42).unwrap(), health, clock: FakeClock::new(T0) }
    }

    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    /// Moves the clock `after_ms` forward, feeds `event` and describes the action.
    pub fn ev(&mut self, after_ms: u64, event: Event) -> String {
        self.clock.advance(after_ms);
        let now = self.now();
        match self.route.handle(&mut self.health, now, event) {
            Ok(action) => show(&action, now),
            Err(e) => format!("error: {e}"),
        }
    }
}

/// A compact description of an action, times relative to `now`.
pub fn show(action: &Action, now: Millis) -> String {
    let rel = |at: Millis| at as i64 - now as i64;
    match action {
        Action::Fetch { fetch, .. } => {
            let partial = if fetch.continue_partial { " +partial" } else { "" };
            format!("fetch {}#{}{partial}", fetch.provider, fetch.attempt)
        }
        Action::WaitUntil { at_ms, then } => {
            let partial = if then.continue_partial { " +partial" } else { "" };
            format!("wait {} {}#{}{partial}", rel(*at_ms), then.provider, then.attempt)
        }
        Action::Abort { provider, reason, then, .. } => {
            format!("abort {provider} {}; {}", reason.as_str(), show(then, now))
        }
        Action::SetTimer { at_ms } => format!("timer +{}", rel(*at_ms)),
        Action::Continue => "continue".into(),
        Action::Finished { provider, attempt } => format!("finished {provider}#{attempt}"),
        Action::GaveUp(g) => format!("gave_up {}", serde_json::to_value(g.reason).unwrap().as_str().unwrap()),
        Action::Cancelled => "cancelled".into(),
    }
}

pub fn fail(class: ErrorClass) -> Event {
    Event::Failed(Failure::new(class))
}
