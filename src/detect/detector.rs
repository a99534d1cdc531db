//! Per-tab hysteresis: one page state produces one event.
//!
//! - The same failure seen again (by any signal) does not fire again.
//! - A more specific failure ([`Kind::rank`]) replaces a vaguer one and fires ("a stall is a network
//!   error unless a later signal says more"); a vaguer one from another signal is ignored.
//! - A different failure reported by the very signal that raised the current one is a new page
//!   state and fires.
//! - The state clears, with a `recovered` event, when every signal that raised it reports health:
//!   the DOM shows no error (or a successful answer after it), the same endpoint answers fine, or a
//!   later message is sent successfully (which clears everything).
//! - Right after a successful send cleared a DOM error, the very same error text seen again within
//!   [`STALE_DOM_MS`] is the old element not yet re-rendered, and does not fire.

use serde::{Deserialize, Serialize};

use super::Kind;
use super::classify::{Detection, Signal, classify};
use super::observation::{EndpointKind, Observation};
use super::rules::Rules;
use crate::page::End;
use crate::site::Site;

/// How long an old DOM error, cleared by a successful send, is treated as stale.
pub const STALE_DOM_MS: u64 = 10_000;

/// What the detector tells the service worker when the page state changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DetectionEvent {
    /// A failure began (or a more specific one replaced the previous).
    Raised {
        /// The failure.
        detection: Detection,
        /// When it was observed (Unix milliseconds).
        at_ms: u64,
    },
    /// The failure is over.
    Recovered {
        /// The kind of failure that ended.
        kind: Kind,
        /// When recovery was observed (Unix milliseconds).
        at_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Sources {
    dom: bool,
    page: bool,
    stall: bool,
    /// The endpoint whose answer raised the state, if the network did.
    network: Option<EndpointKind>,
}

impl Sources {
    fn is_empty(&self) -> bool {
        !self.dom && !self.page && !self.stall && self.network.is_none()
    }

    fn of(signal: Signal, endpoint: Option<EndpointKind>) -> Sources {
        let mut s = Sources::default();
        s.add(signal, endpoint);
        s
    }

    fn add(&mut self, signal: Signal, endpoint: Option<EndpointKind>) {
        match signal {
            Signal::Dom => self.dom = true,
            Signal::StatusPage => self.page = true,
            Signal::Stall => self.stall = true,
            Signal::Network => self.network = endpoint.or(self.network),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Active {
    detection: Detection,
    since_ms: u64,
    sources: Sources,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stale {
    text: String,
    until_ms: u64,
}

/// The detection state of one tab; serialisable so a service worker can persist it between wake-ups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detector {
    site: String,
    active: Option<Active>,
    stale: Option<Stale>,
}

impl Detector {
    /// A detector for a tab of `site`, starting healthy.
    pub fn new(site: Site) -> Detector {
        Detector { site: site.id().to_owned(), active: None, stale: None }
    }

    /// The failure currently in force, if any.
    pub fn current(&self) -> Option<&Detection> {
        self.active.as_ref().map(|a| &a.detection)
    }

    /// When the failure currently in force was raised (Unix milliseconds).
    pub fn since_ms(&self) -> Option<u64> {
        self.active.as_ref().map(|a| a.since_ms)
    }

    /// Forgets everything (the tab navigated or reloaded).
    pub fn reset(&mut self) {
        self.active = None;
        self.stale = None;
    }

    /// Judges an observation with the site's built-in rules; returns an event when the state changes.
    pub fn observe(&mut self, obs: &Observation, now_ms: u64) -> Option<DetectionEvent> {
        let rules = Rules::builtin_by_id(&self.site)?;
        self.observe_with(obs, rules, now_ms)
    }

    /// Like [`Detector::observe`] with explicit rules.
    pub fn observe_with(&mut self, obs: &Observation, rules: &Rules, now_ms: u64) -> Option<DetectionEvent> {
        let endpoint = match obs {
            Observation::Network(n) => Some(n.endpoint),
            Observation::Turn(t) => match t.end {
                // Not a verdict: the answer goes on elsewhere, or the page resumes it.
                End::Handoff | End::Truncated => return None,
                // A whole answer is a send that went through (it clears everything before it).
                End::Done | End::Error => Some(EndpointKind::ConversationSend),
            },
            _ => None,
        };
        let d = classify(obs, rules, now_ms);
        if d.kind == Kind::Healthy {
            return self.healthy(d.evidence.signal, endpoint, now_ms);
        }
        if d.evidence.signal == Signal::Dom
            && let Some(stale) = &self.stale
            && now_ms < stale.until_ms
            && stale.text == d.evidence.text
        {
            return None;
        }
        let signal = d.evidence.signal;
        match &mut self.active {
            Some(a) if a.detection.kind == d.kind => {
                a.sources.add(signal, endpoint);
                if a.detection.retry_after_s.is_none() {
                    a.detection.retry_after_s = d.retry_after_s;
                }
                None
            }
            Some(a)
                if d.kind.rank() < a.detection.kind.rank() && a.sources != Sources::of(signal, endpoint) =>
            {
                // A vaguer judgement from another signal: the more specific one stands.
                None
            }
            _ => {
                self.active = Some(Active {
                    detection: d.clone(),
                    since_ms: now_ms,
                    sources: Sources::of(signal, endpoint),
                });
                Some(DetectionEvent::Raised { detection: d, at_ms: now_ms })
            }
        }
    }

    fn healthy(
        &mut self,
        signal: Signal,
        endpoint: Option<EndpointKind>,
        now_ms: u64,
    ) -> Option<DetectionEvent> {
        let a = self.active.as_mut()?;
        match signal {
            Signal::Dom => {
                a.sources.dom = false;
                a.sources.page = false;
            }
            Signal::StatusPage => a.sources.page = false,
            // A stall below its threshold says nothing.
            Signal::Stall => return None,
            Signal::Network => {
                if endpoint == Some(EndpointKind::ConversationSend) {
                    // A later message went through: everything before is over.
                    if a.sources.dom && a.detection.evidence.signal == Signal::Dom {
                        self.stale = Some(Stale {
                            text: a.detection.evidence.text.clone(),
                            until_ms: now_ms.saturating_add(STALE_DOM_MS),
                        });
                    }
                    a.sources = Sources::default();
                } else if endpoint.is_some() && a.sources.network == endpoint {
                    a.sources.network = None;
                }
            }
        }
        if a.sources.is_empty() {
            let kind = a.detection.kind;
            self.active = None;
            return Some(DetectionEvent::Recovered { kind, at_ms: now_ms });
        }
        None
    }
}
