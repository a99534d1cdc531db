//! Auto mode's bound: whether an automatic rescue may start now.
//!
//! Auto mode sends the user's prompt, with the user's key, to another provider without a click. Every
//! signal that a failure happened passes through the chat page, whose scripts may be hostile: the
//! DOM it shows, the facts of its own traffic (the MAIN-world hook posts them where any page script
//! can forge them) and even the bytes of its answer stream, which the worker decodes itself but the
//! page hands over. No signal can therefore prove a failure. What holds a hostile page is this bound:
//!
//! - **Only a failure the worker holds in force.** The failure must be the detection in force for the
//!   tab in the worker's own detector state (raised from the page's DOM by the site's rules, from its
//!   traffic facts, or from the worker's decoding of the answer stream), looked up by the worker from
//!   the tab the message came from; the kind the content script names must be that detection's kind.
//!   A content script's word alone ("a failure shows") never counts.
//! - **One automatic rescue per failure episode.** An episode is the detection in force: its kind
//!   and the time it was raised (`since_ms`), as the worker's detector says. Showing the same failure
//!   again, or asking again, gives nothing more; only a new detection is a new episode.
//! - **At most [`PER_TAB_PER_HOUR`] automatic rescues per tab and [`PER_BROWSER_PER_HOUR`] per
//!   browser in any [`WINDOW_MS`]** (one hour). A page that ends and fakes failures as fast as
//!   detection follows, or opens more tabs, gets no more than that; the user's own click is not
//!   bounded here.
//!
//! The state is small and serialisable: the worker keeps it in `chrome.storage.session` (it is
//! stopped after 30 s idle) and passes the time in. A clock that goes back counts the rescues it
//! cannot place as recent (the bound holds); the per-episode memory is kept for the last
//! [`MAX_TABS`] tabs, far more than the browser bound lets act in an hour.

use serde::{Deserialize, Serialize};

use crate::detect::Kind;

/// Automatic rescues allowed per tab in any [`WINDOW_MS`].
pub const PER_TAB_PER_HOUR: usize = 3;
/// Automatic rescues allowed in the whole browser in any [`WINDOW_MS`].
pub const PER_BROWSER_PER_HOUR: usize = 10;
/// The window of the rate limits: one hour, in milliseconds.
pub const WINDOW_MS: u64 = 60 * 60 * 1000;
/// How many tabs the guard remembers the last rescued episode of.
pub const MAX_TABS: usize = 64;

/// A failure episode of a tab: the detection in force as the worker's detector says (its kind and
/// when it was raised, Unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// The failure's kind.
    pub kind: Kind,
    /// When the detector raised it.
    pub since_ms: u64,
}

/// Why an automatic rescue may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// The worker holds no failure in force for this tab.
    NotInForce,
    /// The kind named is not the one in force.
    OtherKind {
        /// The kind in force.
        in_force: Kind,
    },
    /// This episode already had its automatic rescue.
    EpisodeDone,
    /// The tab had [`PER_TAB_PER_HOUR`] automatic rescues in the last hour.
    TabLimit {
        /// When the next one may start (Unix milliseconds).
        until_ms: u64,
    },
    /// The browser had [`PER_BROWSER_PER_HOUR`] automatic rescues in the last hour.
    BrowserLimit {
        /// When the next one may start (Unix milliseconds).
        until_ms: u64,
    },
}

impl Refusal {
    /// The refusal in plain words, for the notice.
    pub fn words(&self) -> String {
        match self {
            Refusal::NotInForce => "no failure is in force on this page".to_owned(),
            Refusal::OtherKind { in_force } => {
                format!("the failure in force on this page is another one ({})", in_force.as_str())
            }
            Refusal::EpisodeDone => "this failure was already carried on automatically once".to_owned(),
            Refusal::TabLimit { .. } => {
                format!("auto mode already acted {PER_TAB_PER_HOUR} times on this tab in the last hour")
            }
            Refusal::BrowserLimit { .. } => {
                format!("auto mode already acted {PER_BROWSER_PER_HOUR} times in the last hour")
            }
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words())
    }
}

/// One automatic rescue that started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Started {
    tab: u32,
    at_ms: u64,
}

/// The last episode of a tab that had its automatic rescue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Rescued {
    tab: u32,
    episode: Episode,
}

/// What auto mode has done lately, across the browser's tabs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoGuard {
    /// The automatic rescues of the last hour, oldest first.
    #[serde(default)]
    started: Vec<Started>,
    /// Per tab, the last episode rescued automatically, oldest first (at most [`MAX_TABS`]).
    #[serde(default)]
    rescued: Vec<Rescued>,
}

impl AutoGuard {
    /// A guard that has seen nothing.
    pub fn new() -> AutoGuard {
        AutoGuard::default()
    }

    /// Whether an automatic rescue of tab `tab` may start at `now_ms`, for the failure of kind
    /// `claimed` (the content script's word) while the worker holds `in_force` for that tab.
    /// Returns the episode it would rescue. Records nothing.
    pub fn check(
        &self,
        tab: u32,
        claimed: &str,
        in_force: Option<Episode>,
        now_ms: u64,
    ) -> Result<Episode, Refusal> {
        let episode = match in_force {
            Some(e) if e.kind != Kind::Healthy => e,
            _ => return Err(Refusal::NotInForce),
        };
        if episode.kind.as_str() != claimed {
            return Err(Refusal::OtherKind { in_force: episode.kind });
        }
        if self.rescued.iter().any(|r| r.tab == tab && r.episode == episode) {
            return Err(Refusal::EpisodeDone);
        }
        let recent: Vec<&Started> = self.started.iter().filter(|s| recent(s.at_ms, now_ms)).collect();
        let mine: Vec<&&Started> = recent.iter().filter(|s| s.tab == tab).collect();
        if mine.len() >= PER_TAB_PER_HOUR {
            return Err(Refusal::TabLimit { until_ms: until(mine[mine.len() - PER_TAB_PER_HOUR].at_ms) });
        }
        if recent.len() >= PER_BROWSER_PER_HOUR {
            return Err(Refusal::BrowserLimit {
                until_ms: until(recent[recent.len() - PER_BROWSER_PER_HOUR].at_ms),
            });
        }
        Ok(episode)
    }

    /// Like [`AutoGuard::check`], and when allowed records that the rescue started.
    pub fn start(
        &mut self,
        tab: u32,
        claimed: &str,
        in_force: Option<Episode>,
        now_ms: u64,
    ) -> Result<Episode, Refusal> {
        let episode = self.check(tab, claimed, in_force, now_ms)?;
        self.started.retain(|s| recent(s.at_ms, now_ms));
        self.started.push(Started { tab, at_ms: now_ms });
        self.rescued.retain(|r| r.tab != tab);
        self.rescued.push(Rescued { tab, episode });
        if self.rescued.len() > MAX_TABS {
            self.rescued.drain(..self.rescued.len() - MAX_TABS);
        }
        Ok(episode)
    }

    /// How many automatic rescues count against the limits at `now_ms` (`tab`: that tab's only).
    pub fn recent(&self, tab: Option<u32>, now_ms: u64) -> usize {
        self.started.iter().filter(|s| recent(s.at_ms, now_ms) && tab.is_none_or(|t| s.tab == t)).count()
    }
}

/// Whether a rescue at `at_ms` still counts at `now_ms` (one from the future, after the clock went
/// back, does).
fn recent(at_ms: u64, now_ms: u64) -> bool {
    now_ms.saturating_sub(at_ms) < WINDOW_MS
}

/// When a rescue at `at_ms` stops counting.
fn until(at_ms: u64) -> u64 {
    at_ms.saturating_add(WINDOW_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = WINDOW_MS;
    const T0: u64 = 1_800_000_000_000;

    fn ep(kind: Kind, since_ms: u64) -> Option<Episode> {
        Some(Episode { kind, since_ms })
    }

    /// One step: at `now`, tab `tab` asks for an automatic rescue of `claimed` while `in_force`
    /// holds; `start` records it when allowed. `expect`: `Ok(())` or the refusal.
    struct Step {
        now: u64,
        tab: u32,
        claimed: &'static str,
        in_force: Option<Episode>,
        start: bool,
        expect: Result<(), Refusal>,
    }

    fn step(
        now: u64,
        tab: u32,
        claimed: &'static str,
        in_force: Option<Episode>,
        expect: Result<(), Refusal>,
    ) -> Step {
        Step { now, tab, claimed, in_force, start: true, expect }
    }

    /// Runs the steps in order on one guard (saved and read back between steps, as the worker does).
    fn check(steps: &[Step]) {
        let mut json = serde_json::to_string(&AutoGuard::new()).unwrap();
        for (i, s) in steps.iter().enumerate() {
            let mut guard: AutoGuard = serde_json::from_str(&json).unwrap();
            let before = guard.clone();
            let got = if s.start {
                guard.start(s.tab, s.claimed, s.in_force, s.now)
            } else {
                guard.check(s.tab, s.claimed, s.in_force, s.now)
            };
            assert_eq!(got.map(|_| ()), s.expect, "step {i}");
            if !s.start || got.is_err() {
                assert_eq!(guard, before, "step {i} recorded nothing");
            }
            json = serde_json::to_string(&guard).unwrap();
        }
    }

    #[test]
    fn only_the_failure_the_worker_holds_in_force() {
        let down = ep(Kind::ServiceDown, T0);
        check(&[
            step(T0, 1, "service_down", None, Err(Refusal::NotInForce)),
            step(T0, 1, "healthy", ep(Kind::Healthy, T0), Err(Refusal::NotInForce)),
            step(T0, 1, "capacity", down, Err(Refusal::OtherKind { in_force: Kind::ServiceDown })),
            step(T0, 1, "", down, Err(Refusal::OtherKind { in_force: Kind::ServiceDown })),
            step(T0, 1, "service_down", down, Ok(())),
        ]);
    }

    #[test]
    fn one_automatic_rescue_per_episode() {
        let down = ep(Kind::ServiceDown, T0);
        check(&[
            step(T0, 1, "service_down", down, Ok(())),
            step(T0 + 10, 1, "service_down", down, Err(Refusal::EpisodeDone)),
            // Much later, the same detection still in force: still the same episode.
            step(T0 + 2 * H, 1, "service_down", down, Err(Refusal::EpisodeDone)),
            // Another tab's episode with the same kind and time is its own.
            step(T0 + 2 * H, 2, "service_down", down, Ok(())),
            // A new detection is a new episode; so is another kind raised at the same time.
            step(T0 + 2 * H, 1, "service_down", ep(Kind::ServiceDown, T0 + 2 * H), Ok(())),
            step(T0 + 2 * H, 1, "capacity", ep(Kind::Capacity, T0 + 2 * H), Ok(())),
        ]);
    }

    #[test]
    fn a_check_records_nothing() {
        let down = ep(Kind::ServiceDown, T0);
        let look =
            |now| Step { now, tab: 1, claimed: "service_down", in_force: down, start: false, expect: Ok(()) };
        check(&[
            look(T0),
            look(T0 + 1),
            look(T0 + 2),
            step(T0 + 3, 1, "service_down", down, Ok(())),
            Step { expect: Err(Refusal::EpisodeDone), ..look(T0 + 4) },
        ]);
    }

    #[test]
    fn three_per_tab_in_an_hour() {
        let at = |i: u64| ep(Kind::GenerationError, T0 + i * 500);
        check(&[
            step(T0, 7, "generation_error", at(0), Ok(())),
            step(T0 + 500, 7, "generation_error", at(1), Ok(())),
            step(T0 + 1000, 7, "generation_error", at(2), Ok(())),
            step(T0 + 1500, 7, "generation_error", at(3), Err(Refusal::TabLimit { until_ms: T0 + H })),
            step(T0 + 20_000, 7, "generation_error", at(40), Err(Refusal::TabLimit { until_ms: T0 + H })),
            // Another tab is not held by this one's limit.
            step(T0 + 20_000, 8, "generation_error", at(40), Ok(())),
            // An hour after the first, one more; the others still count.
            step(T0 + H - 1, 7, "generation_error", at(41), Err(Refusal::TabLimit { until_ms: T0 + H })),
            step(T0 + H, 7, "generation_error", at(42), Ok(())),
            step(
                T0 + H + 1,
                7,
                "generation_error",
                at(43),
                Err(Refusal::TabLimit { until_ms: T0 + H + 500 }),
            ),
            step(T0 + H + 500, 7, "generation_error", at(44), Ok(())),
        ]);
    }

    #[test]
    fn ten_per_browser_in_an_hour() {
        let mut steps: Vec<Step> = Vec::new();
        // Ten tabs, one rescue each, a minute apart.
        for tab in 0..10u32 {
            let now = T0 + u64::from(tab) * 60_000;
            steps.push(step(now, tab, "capacity", ep(Kind::Capacity, now), Ok(())));
        }
        let now = T0 + 10 * 60_000;
        steps.push(step(
            now,
            10,
            "capacity",
            ep(Kind::Capacity, now),
            Err(Refusal::BrowserLimit { until_ms: T0 + H }),
        ));
        steps.push(step(
            now,
            0,
            "capacity",
            ep(Kind::Capacity, now),
            Err(Refusal::BrowserLimit { until_ms: T0 + H }),
        ));
        // The first one leaves the window: one more may start, then the second must leave.
        steps.push(step(T0 + H, 10, "capacity", ep(Kind::Capacity, T0 + H), Ok(())));
        steps.push(step(
            T0 + H,
            11,
            "capacity",
            ep(Kind::Capacity, T0 + H),
            Err(Refusal::BrowserLimit { until_ms: T0 + H + 60_000 }),
        ));
        check(&steps);
    }

    #[test]
    fn a_clock_that_goes_back_keeps_the_bound() {
        let at = |i: u64| ep(Kind::NetworkError, T0 + i);
        check(&[
            step(T0, 1, "network_error", at(0), Ok(())),
            step(T0 + 1, 1, "network_error", at(1), Ok(())),
            step(T0 + 2, 1, "network_error", at(2), Ok(())),
            // Two hours back: the three rescues "from the future" still count.
            step(T0 - 2 * H, 1, "network_error", at(3), Err(Refusal::TabLimit { until_ms: T0 + H })),
        ]);
    }

    #[test]
    fn the_episode_memory_is_bounded() {
        let mut guard = AutoGuard::new();
        for tab in 0..(MAX_TABS as u32 + 10) {
            let now = T0 + u64::from(tab) * H; // an hour apart: never rate limited
            guard.start(tab, "capacity", ep(Kind::Capacity, now), now).unwrap();
        }
        assert_eq!(guard.rescued.len(), MAX_TABS);
        assert_eq!(guard.started.len(), 1, "only the last hour's rescues are kept");
        assert_eq!(guard.recent(None, T0 + (MAX_TABS as u64 + 9) * H), 1);
        assert_eq!(guard.recent(Some(0), T0 + (MAX_TABS as u64 + 9) * H), 0);
    }

    #[test]
    fn refusals_read_as_json_and_words() {
        let r = Refusal::TabLimit { until_ms: 5 };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"reason":"tab_limit","until_ms":5}"#);
        assert_eq!(
            serde_json::to_string(&Refusal::OtherKind { in_force: Kind::Capacity }).unwrap(),
            r#"{"reason":"other_kind","in_force":"capacity"}"#
        );
        assert_eq!(r.to_string(), "auto mode already acted 3 times on this tab in the last hour");
        assert!(serde_json::from_str::<AutoGuard>(r#"{"started":[{"tab":-1,"at_ms":0}]}"#).is_err());
        assert_eq!(serde_json::from_str::<AutoGuard>("{}").unwrap(), AutoGuard::new());
    }
}
