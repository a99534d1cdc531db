//! Provider health: the circuit breaker and the misconfigured flag, driven by a fake clock.

use understudy::provider::ErrorClass::{self, *};
use understudy::router::{Availability, BreakerConfig, BreakerState, HealthBook};
use understudy::services::{Clock, FakeClock};

/// One step on provider "p": `S` a success, a class a failure, `W(ms)` time passing,
/// `B` a call beginning (takes a half-open probe).
#[derive(Clone, Copy)]
enum Step {
    S,
    F(ErrorClass),
    Fra(ErrorClass, u64),
    W(u64),
    B,
}
use Step::*;

/// Applies `steps` and checks the availability seen after each one (times relative to start).
fn check(steps: &[Step], expect: &[&str]) -> HealthBook {
    let config = BreakerConfig::default();
    let clock = FakeClock::new(1_000_000);
    let t0 = clock.now_ms();
    let mut book = HealthBook::new();
    let mut got = Vec::new();
    for step in steps {
        match *step {
            S => book.record_success("p", clock.now_ms(), &config),
            F(class) => {
                book.record_failure("p", class, None, clock.now_ms(), &config);
            }
            Fra(class, ms) => {
                book.record_failure("p", class, Some(ms), clock.now_ms(), &config);
            }
            W(ms) => clock.advance(ms),
            B => book.begin_call("p", clock.now_ms(), &config),
        }
        got.push(match book.availability("p", clock.now_ms(), &config) {
            Availability::Available => "closed".to_owned(),
            Availability::Probe => "probe".to_owned(),
            Availability::ProbeBusy { until } => format!("probing until +{}", until - t0),
            Availability::Open { until } => format!("open until +{}", until - t0),
            Availability::Misconfigured { class } => format!("misconfigured {class}"),
        });
    }
    assert_eq!(got, expect);
    book
}

#[test]
fn the_breaker_opens_after_three_consecutive_failures() {
    check(&[F(Server), F(Overloaded), F(Timeout)], &["closed", "closed", "open until +30000"]);
    // A success resets the count (and 4 failures of 8 calls is not more than half).
    check(&[S, S, S, F(Server), F(Network), S, F(Server), F(Server)], &["closed"; 8]);
    check(&[F(RateLimited), F(RateLimited), F(NotFound)], &["closed", "closed", "open until +30000"]);
}

#[test]
fn failures_about_the_request_do_not_count() {
    let steps = [F(BadRequest), F(ContextLength), F(ContentFilter), F(Cancelled), F(BadRequest)];
    let book = check(&steps, &["closed"; 5]);
    assert_eq!(book.get("p"), None);
}

#[test]
fn after_the_cooldown_one_probe_goes_through_and_its_success_closes_the_breaker() {
    let steps = [F(Server), F(Server), F(Server), W(29_999), W(1), B, W(10_000), S, F(Server)];
    let expect = [
        "closed",
        "closed",
        "open until +30000",
        "open until +30000",
        "probe",
        "probing until +60000",
        "probing until +60000",
        "closed",
        // The history was cleared on recovery: one failure does not re-open it.
        "closed",
    ];
    check(&steps, &expect);
}

#[test]
fn a_failed_probe_opens_the_breaker_again() {
    let steps = [F(Server), F(Server), F(Server), W(30_000), B, W(2_000), F(Server), W(30_000)];
    let expect = [
        "closed",
        "closed",
        "open until +30000",
        "probe",
        "probing until +60000",
        "probing until +60000",
        "open until +62000",
        "probe",
    ];
    check(&steps, &expect);
}

#[test]
fn a_lost_probe_is_released_after_a_cooldown() {
    let steps = [F(QuotaExhausted), W(30_000), B, W(30_000)];
    check(&steps, &["open until +30000", "probe", "probing until +60000", "probe"]);
    let mut book =
        check(&[F(QuotaExhausted), W(30_000), B], &["open until +30000", "probe", "probing until +60000"]);
    book.abandon_call("p");
    assert_eq!(book.get("p").unwrap().breaker, BreakerState::HalfOpen { probe_since: None });
}

#[test]
fn more_than_half_of_the_recent_calls_failing_opens_the_breaker() {
    // Never three in a row, but 3 of 5 failed.
    let steps = [S, F(Server), S, F(Server), F(Server)];
    check(&steps, &["closed", "closed", "closed", "closed", "open until +30000"]);
    // Exactly half (2 of 4) is not more than half.
    check(&[F(Server), S, F(Server), S], &["closed"; 4]);
    // Below the minimum of 4 calls the ratio is not judged.
    check(&[S, F(Server), F(Server)], &["closed"; 3]);
}

#[test]
fn a_spent_quota_opens_at_once_and_a_long_retry_time_keeps_it_open() {
    check(&[F(QuotaExhausted)], &["open until +30000"]);
    let steps = [Fra(RateLimited, 90_000), Fra(RateLimited, 90_000), Fra(RateLimited, 90_000)];
    check(&steps, &["closed", "closed", "open until +90000"]);
    // A retry time is never held for more than an hour.
    let steps = [F(Server), F(Server), Fra(RateLimited, 86_400_000)];
    check(&steps, &["closed", "closed", "open until +3600000"]);
}

#[test]
fn a_refused_key_stays_flagged_until_fixed() {
    let steps = [F(Auth), W(86_400_000), F(Server), W(60_000)];
    let expect = ["misconfigured auth", "misconfigured auth", "misconfigured auth", "misconfigured auth"];
    let mut book = check(&steps, &expect);
    book.mark_fixed("p");
    let config = BreakerConfig::default();
    assert_eq!(book.availability("p", 0, &config), Availability::Available);
    check(&[F(OriginNotAllowed), S], &["misconfigured origin_not_allowed", "closed"]);
}

#[test]
fn the_book_survives_a_round_trip_through_json() {
    let config = BreakerConfig::default();
    let mut book = HealthBook::new();
    book.record_failure("openai", QuotaExhausted, None, 5_000, &config);
    book.mark_misconfigured("anthropic", Auth, 6_000);
    book.record_success("ollama", 7_000, &config);
    let json = serde_json::to_string(&book).unwrap();
    let back: HealthBook = serde_json::from_str(&json).unwrap();
    assert_eq!(back, book);
    assert_eq!(back.availability("openai", 6_000, &config), Availability::Open { until: 35_000 });
    assert!(json.contains("\"anthropic\""), "{json}");
    // Unknown or missing fields from another version do not break loading.
    let old: HealthBook = serde_json::from_str(r#"{"x":{"breaker":{"state":"closed"},"extra":1}}"#).unwrap();
    assert_eq!(old.availability("x", 0, &config), Availability::Available);
    assert!(serde_json::from_str::<HealthBook>(r#"{"x":{"breaker":{"state":"melted"}}}"#).is_err());
}

#[test]
fn providers_no_longer_configured_are_forgotten() {
    let config = BreakerConfig::default();
    let mut book = HealthBook::new();
    book.record_failure("old", Server, None, 0, &config);
    book.record_failure("kept", Server, None, 0, &config);
    book.retain_only(&["kept".to_owned()]);
    let ids: Vec<&str> = book.iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["kept"]);
}

#[test]
fn a_clock_gone_back_hours_neither_keeps_a_breaker_open_nor_a_probe_busy() {
    let config = BreakerConfig::default();
    let hour = 3_600_000;
    let t = 10 * hour;
    let mut book = HealthBook::new();
    for _ in 0..3 {
        book.record_failure("p", Server, None, t, &config);
    }
    assert_eq!(book.availability("p", t, &config), Availability::Open { until: t + 30_000 });
    // The clock goes back three hours: the cooldown is not stretched to three hours and more.
    assert_eq!(book.availability("p", t - 3 * hour, &config), Availability::Probe);
    // A server's retry time up to an hour is still honoured as the clock reads it.
    let mut held = HealthBook::new();
    for _ in 0..3 {
        held.record_failure("p", RateLimited, Some(hour), t, &config);
    }
    assert_eq!(held.availability("p", t + 1000, &config), Availability::Open { until: t + hour });
    // A probe that began "later" than now (clock gone back) does not block the next one.
    book.begin_call("p", t + 31_000, &config);
    assert!(matches!(book.availability("p", t + 31_001, &config), Availability::ProbeBusy { .. }));
    assert_eq!(book.availability("p", t - 3 * hour, &config), Availability::Probe);
}

#[test]
fn a_clock_gone_back_minutes_ends_the_cooldown_too() {
    let config = BreakerConfig::default();
    let t = 10 * 3_600_000;
    let mut book = HealthBook::new();
    for _ in 0..3 {
        book.record_failure("p", Server, None, t, &config);
    }
    assert_eq!(book.availability("p", t + 10_000, &config), Availability::Open { until: t + 30_000 });
    // Ten minutes back: earlier than the failure that opened it, so the clock moved; one probe.
    assert_eq!(book.availability("p", t - 600_000, &config), Availability::Probe);
}
