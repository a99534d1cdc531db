//! The failover policy, row by row: what the router does after each kind of failure.
mod router_common;
use router_common::*;

use ErrorClass::*;
use understudy::router::{Availability, Outcome, SkipReason};

/// Runs `steps` (delay before each event, event) and checks every action in order.
fn check(chain: &[&str], steps: Vec<(u64, Event)>, expect: &[&str]) -> Sim {
    let mut sim = Sim::new(chain);
    let got: Vec<String> = steps.into_iter().map(|(d, e)| sim.ev(d, e)).collect();
    assert_eq!(got, expect, "chain {chain:?}");
    sim
}

fn fail_ra(class: ErrorClass, ms: u64) -> Event {
    Event::Failed(Failure::new(class).retry_after_ms(ms))
}

fn start() -> (u64, Event) {
    (0, Event::Start)
}

#[test]
fn every_row_of_the_failure_table() {
    let ab = &["a", "b"];
    let a = &["a"];
    #[rustfmt::skip]
    let rows: Vec<(&[&str], Event, &str)> = vec![
        // 400 / 413: the request is wrong, no other provider would take it.
        (ab, fail(BadRequest), "gave_up request_rejected"),
        // 400 context length: another provider (larger context) or trimmed history.
        (ab, fail(ContextLength), "fetch b#1"),
        // 401 / 403 and a refused origin: no retry, fall back.
        (ab, fail(Auth), "fetch b#1"),
        (ab, fail(OriginNotAllowed), "fetch b#1"),
        // Content filter and 404: fall back.
        (ab, fail(ContentFilter), "fetch b#1"),
        (ab, fail(NotFound), "fetch b#1"),
        // 408 / 409: retry (backoff 500 ms is short, so no switch).
        (ab, fail(Timeout), "wait 500 a#2"),
        (ab, fail(Conflict), "wait 500 a#2"),
        // 429: a short retry time is honoured.
        (ab, fail_ra(RateLimited, 800), "wait 800 a#2"),
        // 429: a long retry time with a healthy alternative: switch instead of sleeping.
        (ab, fail_ra(RateLimited, 5_000), "fetch b#1"),
        (a, fail_ra(RateLimited, 5_000), "wait 5000 a#2"),
        (a, fail_ra(RateLimited, 60_000), "wait 60000 a#2"),
        // 429: beyond 60 s, fall back at once; alone, give up.
        (ab, fail_ra(RateLimited, 60_001), "fetch b#1"),
        (a, fail_ra(RateLimited, 120_000), "gave_up all_failed"),
        // 429 without a retry time: fall back at once, or back off when alone.
        (ab, fail(RateLimited), "fetch b#1"),
        (a, fail(RateLimited), "wait 500 a#2"),
        (a, fail_ra(RateLimited, 0), "wait 500 a#2"),
        // Spent quota (Anthropic spend limit): never retried.
        (ab, fail(QuotaExhausted), "fetch b#1"),
        (a, fail(QuotaExhausted), "gave_up all_failed"),
        // 5xx, 529 and network errors: retry with backoff.
        (ab, fail(Server), "wait 500 a#2"),
        (ab, fail(Overloaded), "wait 500 a#2"),
        (ab, fail(Network), "wait 500 a#2"),
        (ab, fail_ra(Overloaded, 700), "wait 700 a#2"),
        // A 503 asking for a long wait: switch.
        (ab, fail_ra(Server, 3_000), "fetch b#1"),
        // An unreadable answer: fall back.
        (ab, fail(Malformed), "fetch b#1"),
        // Cancelled: stop everything.
        (ab, fail(Cancelled), "cancelled"),
    ];
    for (chain, event, expect) in rows {
        check(chain, vec![start(), (100, event)], &["fetch a#1", expect]);
    }
}

#[test]
fn an_error_event_inside_a_200_stream_is_handled_like_its_status() {
    let mid = |class| {
        vec![
            start(),
            (10, Event::FirstByte),
            (5, Event::Chunk { text_len: 40 }),
            (5, Event::Failed(Failure::new(class).partial(40))),
        ]
    };
    check(&["a", "b"], mid(Overloaded), &["fetch a#1", "timer +20000", "continue", "wait 500 a#2 +partial"]);
    check(&["a", "b"], mid(NotFound), &["fetch a#1", "timer +20000", "continue", "fetch b#1 +partial"]);
    check(
        &["a", "b"],
        mid(BadRequest),
        &["fetch a#1", "timer +20000", "continue", "gave_up request_rejected"],
    );
}

#[test]
fn retries_stop_after_the_budget_then_fall_back() {
    let steps = vec![
        start(),
        (100, fail(Server)),
        (500, Event::Tick),
        (100, fail(Server)),
        (1_000, Event::Tick),
        (100, fail(Server)),
        (0, fail(Server)),
        (0, fail(Server)),
    ];
    let expect = [
        "fetch a#1",
        "wait 500 a#2",
        "fetch a#2",
        "wait 1000 a#3",
        "fetch a#3",
        "fetch b#1",
        "wait 500 b#2",
        "error: 'failed' is not expected while waiting",
    ];
    let sim = check(&["a", "b"], steps, &expect);
    // Three consecutive failures opened a's breaker.
    let breaker = &sim.route.config().breaker;
    assert!(matches!(sim.health.availability("a", sim.now(), breaker), Availability::Open { .. }));
}

#[test]
fn a_second_retry_wait_over_one_second_switches_when_another_provider_is_healthy() {
    let mut config = RouterConfig::with_chain(["a", "b"]);
    config.backoff.jitter_percent = 0;
    config.backoff.initial_ms = 600; // 600, then 1200 > 1 s
    config.breaker.failure_threshold = 10;
    let mut sim = Sim::with(config, HealthBook::new());
    assert_eq!(sim.ev(0, Event::Start), "fetch a#1");
    assert_eq!(sim.ev(10, fail(Server)), "wait 600 a#2");
    assert_eq!(sim.ev(600, Event::Tick), "fetch a#2");
    assert_eq!(sim.ev(10, fail(Server)), "fetch b#1");
    // b's key is refused: back to a, which still has a retry left, after its wait.
    assert_eq!(sim.ev(200, fail(Auth)), "wait 1000 a#3");
    assert_eq!(sim.ev(999, Event::Tick), "timer +1");
    assert_eq!(sim.ev(1, Event::Tick), "fetch a#3");
    assert_eq!(sim.ev(10, Event::Completed), "finished a#3");
}

#[test]
fn a_provider_left_for_a_long_retry_time_is_come_back_to() {
    let steps = vec![start(), (100, fail_ra(RateLimited, 5_000)), (1_000, fail(Server)), (0, Event::Tick)];
    check(&["a", "b"], steps, &["fetch a#1", "fetch b#1", "wait 500 b#2", "timer +500"]);
    let steps =
        vec![start(), (100, fail_ra(RateLimited, 5_000)), (1_000, fail(ContentFilter)), (4_000, Event::Tick)];
    check(&["a", "b"], steps, &["fetch a#1", "fetch b#1", "wait 4000 a#2", "fetch a#2"]);
}

#[test]
fn a_misconfigured_key_is_skipped_until_fixed() {
    let mut sim = Sim::new(&["a", "b"]);
    sim.ev(0, Event::Start);
    assert_eq!(sim.ev(50, fail(Auth)), "fetch b#1");
    assert_eq!(sim.ev(50, Event::Completed), "finished b#1");
    let health = sim.health.clone();
    let config = sim.route.config().clone();
    assert_eq!(
        health.availability("a", sim.now(), &config.breaker),
        Availability::Misconfigured { class: Auth }
    );

    // Hours later the key is still known bad: the next request goes straight to b.
    let mut next = Sim::with(config.clone(), health.clone());
    assert_eq!(next.ev(10_000_000, Event::Start), "fetch b#1");
    let skipped: Vec<_> =
        next.route.log().entries().filter(|d| matches!(d.outcome, Outcome::Skipped { .. })).collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].provider, "a");
    assert_eq!(skipped[0].outcome, Outcome::Skipped { reason: SkipReason::Misconfigured { class: Auth } });

    // The user fixes the key.
    let mut fixed = health;
    fixed.mark_fixed("a");
    let mut after = Sim::with(config, fixed);
    assert_eq!(after.ev(0, Event::Start), "fetch a#1");
}

#[test]
fn a_misconfigured_provider_is_tried_only_when_nothing_else_is_left() {
    let mut sim = Sim::new(&["a", "b"]);
    let now = sim.now();
    sim.health.mark_misconfigured("a", Auth, now);
    assert_eq!(sim.ev(0, Event::Start), "fetch b#1");
    assert_eq!(sim.ev(10, fail(NotFound)), "fetch a#1");
    assert!(
        sim.route
            .log()
            .entries()
            .any(|d| d.provider == "a" && matches!(d.outcome, Outcome::TriedAnyway { .. }))
    );
    // It worked after all: the flag clears.
    assert_eq!(sim.ev(10, Event::Completed), "finished a#1");
    let breaker = sim.route.config().breaker.clone();
    assert_eq!(sim.health.availability("a", sim.now(), &breaker), Availability::Available);
}

#[test]
fn when_every_provider_is_open_they_are_tried_anyway_earliest_recovery_first() {
    let mut sim = Sim::new(&["a", "b", "c", "d"]);
    let (now, breaker) = (sim.now(), sim.route.config().breaker.clone());
    // a: 30 s cooldown; b: an hour (spent quota with a retry time); c: 45 s; d: refused key.
    sim.health.record_failure("a", QuotaExhausted, None, now, &breaker);
    for _ in 0..3 {
        sim.health.record_failure("b", RateLimited, Some(3_600_000), now, &breaker);
        sim.health.record_failure("c", RateLimited, Some(45_000), now, &breaker);
    }
    sim.health.mark_misconfigured("d", Auth, now);
    assert_eq!(sim.ev(0, Event::Start), "fetch a#1");
    assert_eq!(sim.ev(10, fail(NotFound)), "fetch c#1");
    assert_eq!(sim.ev(10, fail(NotFound)), "fetch b#1");
    assert_eq!(sim.ev(10, fail(NotFound)), "fetch d#1");
    assert_eq!(sim.ev(10, fail(Auth)), "gave_up all_failed");
    let anyway =
        sim.route.log().entries().filter(|d| matches!(d.outcome, Outcome::TriedAnyway { .. })).count();
    assert_eq!(anyway, 4);
}

#[test]
fn open_providers_are_skipped_while_a_healthy_one_exists() {
    let mut sim = Sim::new(&["a", "b"]);
    let (now, breaker) = (sim.now(), sim.route.config().breaker.clone());
    sim.health.record_failure("a", QuotaExhausted, None, now, &breaker);
    assert_eq!(sim.ev(0, Event::Start), "fetch b#1");
    let first = sim.route.log().entries().next().unwrap().clone();
    assert_eq!(first.provider, "a");
    assert_eq!(first.outcome, Outcome::Skipped { reason: SkipReason::BreakerOpen { until: now + 30_000 } });
}

#[test]
fn a_mid_stream_failure_moves_on_and_asks_to_continue_the_partial_answer() {
    let steps = vec![
        start(),
        (300, Event::FirstByte),
        (10, Event::Chunk { text_len: 120 }),
        (10, Event::Failed(Failure::new(QuotaExhausted).partial(120))),
        (200, Event::Chunk { text_len: 30 }),
        (10, Event::Failed(Failure::new(Network).partial(150))),
        (500, Event::Tick),
        (50, Event::Completed),
    ];
    let expect = [
        "fetch a#1",
        "timer +20000",
        "continue",
        "fetch b#1 +partial",
        "timer +20000",
        "wait 500 b#2 +partial",
        "fetch b#2 +partial",
        "finished b#2",
    ];
    let sim = check(&["a", "b"], steps, &expect);
    assert_eq!(sim.route.kept_text_len(), 150);
}

#[test]
fn a_bad_request_gives_up_with_the_providers_message() {
    let mut sim = Sim::new(&["a", "b"]);
    sim.ev(0, Event::Start);
    let now = sim.now();
    let failure = Failure::new(BadRequest).detail("messages: must not be empty");
    let action = sim.route.failed(&mut sim.health, now, failure).unwrap();
    let Action::GaveUp(g) = action else { panic!("expected gave_up, got {action:?}") };
    assert_eq!(g.last_class, Some(BadRequest));
    assert_eq!(
        g.message,
        "a rejected the request: the request was refused as invalid (400): messages: must not be empty"
    );
    // A bad request says nothing about a's health.
    assert_eq!(sim.health.get("a"), None);
}

#[test]
fn giving_up_sums_up_every_provider_tried() {
    let mut sim = Sim::new(&["a", "b", "c"]);
    sim.ev(0, Event::Start);
    sim.ev(10, fail_ra(RateLimited, 90_000));
    sim.ev(10, fail(Auth));
    let now = sim.now() + 10;
    let action =
        sim.route.failed(&mut sim.health, now, Failure::new(NotFound).detail("model 'x' not found")).unwrap();
    let Action::GaveUp(g) = action else { panic!("expected gave_up, got {action:?}") };
    let summary: Vec<(String, ErrorClass, u32)> =
        g.providers.iter().map(|p| (p.provider.clone(), p.class, p.attempts)).collect();
    assert_eq!(summary, [("a".into(), RateLimited, 1), ("b".into(), Auth, 1), ("c".into(), NotFound, 1)]);
    assert_eq!(
        g.message,
        "no provider could answer (a: rate limited (429), retry in 90 s; \
         b: the API key was refused (401/403); check it in the settings; \
         c: the model or endpoint was not found (404): model 'x' not found)"
    );
}

#[test]
fn an_empty_chain_gives_up_at_once() {
    check(&[], vec![start()], &["gave_up empty_chain"]);
}

#[test]
fn duplicate_providers_in_the_chain_are_visited_once() {
    let steps = vec![start(), (10, fail(NotFound)), (10, fail(NotFound))];
    check(&["a", "a", "b"], steps, &["fetch a#1", "fetch b#1", "gave_up all_failed"]);
}

#[test]
fn a_busy_half_open_probe_is_stepped_around_by_another_request() {
    let config = Sim::new(&["a", "b"]).route.config().clone();
    let mut health = HealthBook::new();
    health.record_failure("a", QuotaExhausted, None, T0, &config.breaker);
    let after = T0 + 30_000;
    let mut one = Route::new(config.clone(), 1).unwrap();
    let mut two = Route::new(config, 2).unwrap();
    let first = one.start(&mut health, after).unwrap();
    assert!(matches!(&first, Action::Fetch { fetch, .. } if fetch.provider == "a"), "{first:?}");
    let second = two.start(&mut health, after + 1).unwrap();
    assert!(matches!(&second, Action::Fetch { fetch, .. } if fetch.provider == "b"), "{second:?}");
}
