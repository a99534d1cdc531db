//! Route state: save and restore mid-request, cancel at any stage, misplaced events, the
//! decision log, and settings validation.
mod router_common;
use router_common::*;

use ErrorClass::*;
use understudy::router::{AbortReason, ConfigError, Decision, GiveUpReason, Outcome, Phase, RouteError};

/// A step of a script: an event after a delay, or a tick exactly when the route's timer is due.
enum Step {
    After(u64, Event),
    TickWhenDue,
}
use Step::*;

fn script() -> Vec<Step> {
    vec![
        After(0, Event::Start),
        After(120, fail(Server)),
        After(10, Event::Tick),
        TickWhenDue,
        After(400, Event::FirstByte),
        After(50, Event::Chunk { text_len: 12 }),
        After(50, Event::Chunk { text_len: 30 }),
        After(19_950, Event::Tick),
        TickWhenDue,
        After(200, Event::Failed(Failure::new(RateLimited).retry_after_ms(5_000).partial(42))),
        After(300, fail(Auth)),
        TickWhenDue,
        After(90, Event::FirstByte),
        After(10, Event::Chunk { text_len: 8 }),
        After(10, Event::Completed),
        After(10, Event::Chunk { text_len: 1 }),
    ]
}

/// Runs the script; with `restore`, the route and the health book go through JSON before
/// every event, as when the service worker is stopped and started again.
fn run(restore: bool) -> (Vec<String>, Route, HealthBook) {
    let mut config = RouterConfig::with_chain(["a", "b", "c"]);
    config.breaker.failure_threshold = 2;
    let mut sim = Sim::with(config, HealthBook::new());
    let mut got = Vec::new();
    for step in script() {
        if restore {
            let route = serde_json::to_string(&sim.route).unwrap();
            let health = serde_json::to_string(&sim.health).unwrap();
            sim.route = serde_json::from_str(&route).unwrap();
            sim.health = serde_json::from_str(&health).unwrap();
        }
        got.push(match step {
            After(delay, event) => sim.ev(delay, event),
            TickWhenDue => {
                let due = sim.route.timer_at().unwrap();
                sim.ev(due - sim.now(), Event::Tick)
            }
        });
    }
    (got, sim.route, sim.health)
}

#[test]
fn a_route_restored_mid_request_continues_identically() {
    let (straight, route, health) = run(false);
    let (restored, route2, health2) = run(true);
    assert_eq!(restored, straight);
    assert_eq!(route2, route);
    assert_eq!(health2, health);
    // The script walks through retries with jitter, a stall, a switch and a comeback.
    let wait = straight[1].clone();
    assert!(wait.starts_with("wait ") && wait.ends_with(" a#2"), "{wait}");
    assert_eq!(straight[7], "timer +50");
    assert_eq!(straight[8], "abort a stalled; fetch b#1 +partial");
    // b asks for 5 s while c is healthy: switch; c's key is refused: back to a (left at the
    // stall with a retry to spare) once its backoff is over, before b's 5 s.
    assert_eq!(straight[9], "fetch c#1 +partial");
    assert!(straight[10].starts_with("wait ") && straight[10].ends_with(" a#3 +partial"), "{}", straight[10]);
    assert_eq!(straight[11], "fetch a#3 +partial");
    assert_eq!(straight[14], "finished a#3");
    assert_eq!(straight[15], "error: 'chunk' after the route ended (finished)");
}

#[test]
fn a_restored_route_tells_when_to_rearm_the_timer() {
    let mut sim = Sim::new(&["a"]);
    assert_eq!(sim.route.timer_at(), None);
    sim.ev(0, Event::Start);
    assert_eq!(sim.route.timer_at(), Some(sim.now() + 15_000));
    sim.ev(10, Event::FirstByte);
    sim.ev(10, Event::Chunk { text_len: 1 });
    assert_eq!(sim.route.timer_at(), Some(sim.now() + 20_000));
    sim.ev(10, fail(Server));
    assert_eq!(sim.route.timer_at(), Some(sim.now() + 500));
    assert_eq!(sim.route.current(), Some(("a", 2)));
}

#[test]
fn cancel_stops_the_route_at_every_stage() {
    let stages: Vec<(&str, Vec<Event>)> = vec![
        ("idle", vec![]),
        ("awaiting_first_byte", vec![Event::Start]),
        ("streaming", vec![Event::Start, Event::FirstByte, Event::Chunk { text_len: 4 }]),
        ("waiting", vec![Event::Start, fail(Server)]),
    ];
    for (stage, events) in stages {
        let mut sim = Sim::new(&["a", "b"]);
        for e in events {
            sim.ev(10, e);
        }
        assert_eq!(sim.route.phase().as_str(), stage);
        assert_eq!(sim.ev(10, Event::Cancel), "cancelled", "{stage}");
        assert_eq!(sim.route.phase(), Phase::Cancelled);
        // Late events from the aborted fetch are refused, timers are harmless, cancel is idempotent.
        assert_eq!(
            sim.ev(1, Event::Chunk { text_len: 1 }),
            "error: 'chunk' after the route ended (cancelled)"
        );
        assert_eq!(sim.ev(1, Event::Tick), "continue");
        assert_eq!(sim.ev(1, Event::Cancel), "cancelled");
        let last = sim.route.log().entries().last().unwrap();
        assert_eq!(last.outcome, Outcome::Cancelled, "{stage}");
    }
}

#[test]
fn cancelling_a_probe_gives_it_back() {
    let mut sim = Sim::new(&["a"]);
    let breaker = sim.route.config().breaker.clone();
    sim.health.record_failure("a", QuotaExhausted, None, sim.now() - 30_000, &breaker);
    assert_eq!(sim.ev(0, Event::Start), "fetch a#1");
    assert!(!sim.health.availability("a", sim.now(), &breaker).is_usable());
    assert_eq!(sim.ev(10, Event::Cancel), "cancelled");
    assert!(sim.health.availability("a", sim.now(), &breaker).is_usable());
}

#[test]
fn misplaced_events_are_refused_and_change_nothing() {
    #[rustfmt::skip]
    let cases: Vec<(Vec<Event>, Event, &str)> = vec![
        (vec![], Event::FirstByte, "error: 'first_byte' before the route started"),
        (vec![], Event::Chunk { text_len: 1 }, "error: 'chunk' before the route started"),
        (vec![], Event::Tick, "error: 'tick' before the route started"),
        (vec![], fail(Server), "error: 'failed' before the route started"),
        (vec![Event::Start], Event::Start, "error: the route was already started"),
        (vec![Event::Start, fail(Server)], Event::FirstByte, "error: 'first_byte' is not expected while waiting"),
        (vec![Event::Start, fail(Server)], Event::Chunk { text_len: 1 }, "error: 'chunk' is not expected while waiting"),
        (vec![Event::Start, fail(Server)], Event::Completed, "error: 'completed' is not expected while waiting"),
        (vec![Event::Start, Event::Completed], Event::Completed, "error: 'completed' after the route ended (finished)"),
        (vec![Event::Start, Event::Completed], Event::Cancel, "error: 'cancel' after the route ended (finished)"),
        (vec![Event::Start, fail(BadRequest)], Event::Start, "error: 'start' after the route ended (gave_up)"),
    ];
    for (before, event, expect) in cases {
        let mut sim = Sim::new(&["a", "b"]);
        for e in before {
            sim.ev(10, e);
        }
        let saved = sim.route.clone();
        assert_eq!(sim.ev(10, event), expect);
        assert_eq!(sim.route, saved, "{expect}");
    }
}

#[test]
fn a_tampered_saved_route_gives_an_error_not_a_crash() {
    let mut sim = Sim::new(&["a"]);
    sim.ev(0, Event::Start);
    sim.ev(10, fail(Server));
    let json = serde_json::to_string(&sim.route).unwrap();
    assert!(json.contains(r#""visit":0"#), "{json}");
    let mut bad: Route = serde_json::from_str(&json.replace(r#""visit":0"#, r#""visit":99"#)).unwrap();
    let mut health = HealthBook::new();
    assert!(matches!(bad.tick(&mut health, sim.now() + 10_000), Err(RouteError::Corrupt(_))));
    assert!(serde_json::from_str::<Route>(r#"{"phase":"nowhere"}"#).is_err());
    let zero = json.replace(r#""initial_ms":500"#, r#""initial_ms":0"#);
    let err = serde_json::from_str::<Route>(&zero).unwrap_err().to_string();
    assert!(err.starts_with("the initial backoff must be above zero"), "{err}");
    assert!(serde_json::from_str::<Route>("[]").is_err());
}

#[test]
fn the_decision_log_tells_the_whole_story() {
    let mut sim = Sim::new(&["a", "b", "c"]);
    let t0 = sim.now();
    let breaker = sim.route.config().breaker.clone();
    sim.health.record_failure("c", QuotaExhausted, None, t0, &breaker);
    sim.ev(0, Event::Start);
    sim.ev(100, fail(Server));
    sim.ev(500, Event::Tick);
    sim.ev(300, Event::FirstByte);
    sim.ev(50, Event::Chunk { text_len: 5 });
    sim.ev(50, Event::Failed(Failure::new(RateLimited).partial(5)));
    assert_eq!(sim.ev(15_000, Event::Tick), "abort b first_byte_timeout; wait 500 b#2 +partial");
    let got: Vec<(u64, &str, u32, Outcome, u64)> = sim
        .route
        .log()
        .entries()
        .map(|d| (d.at_ms - t0, d.provider.as_str(), d.attempt, d.outcome.clone(), d.elapsed_ms))
        .collect();
    let expect = vec![
        (
            0,
            "c",
            0,
            Outcome::Skipped { reason: understudy::router::SkipReason::BreakerOpen { until: t0 + 30_000 } },
            0,
        ),
        (0, "a", 1, Outcome::Started { continue_partial: false }, 0),
        (100, "a", 1, Outcome::Failed { class: Server }, 100),
        (100, "a", 1, Outcome::RetryScheduled { wait_ms: 500, server_retry_after: false }, 0),
        (600, "a", 2, Outcome::Started { continue_partial: false }, 0),
        (900, "a", 2, Outcome::FirstByte, 300),
        (1_000, "a", 2, Outcome::Failed { class: RateLimited }, 400),
        (1_000, "a", 2, Outcome::Switched { to: "b".into() }, 0),
        (1_000, "b", 1, Outcome::Started { continue_partial: true }, 0),
        (16_000, "b", 1, Outcome::Timeout { reason: AbortReason::FirstByteTimeout }, 15_000),
        (16_000, "b", 1, Outcome::RetryScheduled { wait_ms: 500, server_retry_after: false }, 0),
    ];
    assert_eq!(got, expect);
    // c is still open and a was left for its rate limit: b is retried after its backoff.
    assert_eq!(sim.route.phase(), Phase::Waiting { until: t0 + 16_500, visit: 1 });
}

#[test]
fn decisions_serialise_for_the_timeline() {
    let d = Decision {
        at_ms: 5,
        provider: "a".into(),
        attempt: 2,
        outcome: Outcome::Failed { class: Server },
        elapsed_ms: 7,
    };
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(
        json,
        r#"{"at_ms":5,"provider":"a","attempt":2,"outcome":{"kind":"failed","class":"server"},"elapsed_ms":7}"#
    );
    let action = Action::Fetch {
        fetch: understudy::router::Fetch { provider: "a".into(), attempt: 1, continue_partial: false },
        timer_at_ms: 9,
    };
    let json = serde_json::to_string(&action).unwrap();
    assert_eq!(
        json,
        r#"{"action":"fetch","fetch":{"provider":"a","attempt":1,"continue_partial":false},"timer_at_ms":9}"#
    );
    let event: Event =
        serde_json::from_str(r#"{"event":"failed","class":"rate_limited","retry_after_ms":2000}"#).unwrap();
    assert_eq!(event, Event::Failed(Failure::new(RateLimited).retry_after_ms(2_000)));
    let mut sim = Sim::new(&[]);
    let t = sim.now();
    let Ok(Action::GaveUp(g)) = sim.route.start(&mut sim.health, t) else { panic!("expected gave_up") };
    assert_eq!(g.reason, GiveUpReason::EmptyChain);
    let json = serde_json::to_string(&Action::GaveUp(g)).unwrap();
    assert_eq!(
        json,
        r#"{"action":"gave_up","reason":"empty_chain","last_class":null,"providers":[],"message":"no provider is configured"}"#
    );
}

#[test]
fn the_decision_log_is_bounded() {
    let mut config = RouterConfig::with_chain(["a", "b", "c", "d", "e", "f"]);
    config.max_decisions = 4;
    let mut sim = Sim::with(config, HealthBook::new());
    sim.ev(0, Event::Start);
    for _ in 0..5 {
        sim.ev(10, fail(NotFound));
    }
    let log = sim.route.log();
    assert_eq!(log.len(), 4);
    assert!(log.dropped() > 0);
    // The newest decisions are kept: f was started last.
    assert_eq!(log.entries().last().unwrap().provider, "f");
}

#[test]
fn nonsensical_settings_are_refused() {
    let base = || RouterConfig::with_chain(["a"]);
    #[rustfmt::skip]
    let cases: Vec<(RouterConfig, ConfigError)> = vec![
        (RouterConfig::with_chain(["a", ""]), ConfigError::EmptyProviderId),
        (RouterConfig { first_byte_timeout_ms: 0, ..base() }, ConfigError::ZeroTimeout),
        (RouterConfig { stall_timeout_ms: 0, ..base() }, ConfigError::ZeroTimeout),
        ({ let mut c = base(); c.backoff.initial_ms = 0; c }, ConfigError::ZeroBackoff),
        ({ let mut c = base(); c.backoff.jitter_percent = 101; c }, ConfigError::JitterOver100(101)),
        ({ let mut c = base(); c.breaker.failure_threshold = 0; c }, ConfigError::ZeroFailureThreshold),
        ({ let mut c = base(); c.breaker.failure_ratio = 0.0; c }, ConfigError::FailureRatioOutOfRange),
        ({ let mut c = base(); c.breaker.failure_ratio = f64::NAN; c }, ConfigError::FailureRatioOutOfRange),
        ({ let mut c = base(); c.breaker.window = 33; c }, ConfigError::WindowOutOfRange(33)),
        ({ let mut c = base(); c.breaker.min_calls = 11; c }, ConfigError::MinCallsOutOfRange(11)),
    ];
    for (config, expect) in cases {
        assert_eq!(Route::new(config, 0).unwrap_err(), expect);
    }
    assert!(Route::new(base(), 0).is_ok());
    // Settings saved with only some fields get the defaults for the rest.
    let partial: RouterConfig =
        serde_json::from_str(r#"{"chain":["x"],"breaker":{"cooldown_ms":5000}}"#).unwrap();
    assert_eq!(partial.first_byte_timeout_ms, 15_000);
    assert_eq!(partial.breaker.cooldown_ms, 5_000);
    assert_eq!(partial.breaker.failure_threshold, 3);
}

#[test]
fn random_event_sequences_never_crash_and_stay_within_the_retry_budget() {
    use understudy::router::Jitter;
    let classes = [
        BadRequest,
        ContextLength,
        Auth,
        OriginNotAllowed,
        ContentFilter,
        NotFound,
        Timeout,
        Conflict,
        RateLimited,
        QuotaExhausted,
        Server,
        Overloaded,
        Network,
        Malformed,
        Cancelled,
    ];
    for seed in 0..2_000u64 {
        let mut rng = Jitter::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 7);
        let mut config = RouterConfig::with_chain(["a", "b", "c"]);
        config.breaker.failure_threshold = 1 + rng.next_u32() % 3;
        let mut sim = Sim::with(config, HealthBook::new());
        let mut fetches = std::collections::BTreeMap::<String, u32>::new();
        for _ in 0..60 {
            let r = rng.next_u32();
            let class = classes[(r as usize / 16) % classes.len()];
            let event = match r % 8 {
                0 => Event::Start,
                1 => Event::FirstByte,
                2 | 3 => Event::Chunk { text_len: u64::from(r % 50) },
                4 => Event::Completed,
                5 => Event::Failed(
                    Failure::new(class).retry_after_ms(u64::from(r % 90_000)).partial(u64::from(r % 3)),
                ),
                6 => Event::Tick,
                _ if r % 64 == 7 => Event::Cancel,
                _ => Event::Tick,
            };
            sim.clock.advance(u64::from(rng.next_u32() % 25_000));
            let now = sim.now();
            let was_done = sim.route.is_done();
            let mut action = sim.route.handle(&mut sim.health, now, event);
            while let Ok(Action::Abort { then, .. }) = action {
                action = Ok(*then);
            }
            if let Ok(Action::Fetch { fetch, .. }) = &action {
                assert!(!was_done, "seed {seed}: a fetch after the end");
                let n = fetches.entry(fetch.provider.clone()).or_default();
                *n += 1;
                assert_eq!(*n, fetch.attempt, "seed {seed}");
                assert!(fetch.attempt <= 3, "seed {seed}: {fetch:?}");
            }
        }
        let json = serde_json::to_string(&sim.route).unwrap();
        assert_eq!(serde_json::from_str::<Route>(&json).unwrap(), sim.route, "seed {seed}");
    }
}
