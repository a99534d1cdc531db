//! Timing: backoff, server retry times, first-byte and stall timeouts driven by a fake clock.
mod router_common;
use router_common::*;

use ErrorClass::*;
use understudy::router::{BackoffConfig, Jitter, backoff_ms, nominal_backoff_ms, retry_after_from_headers};

#[test]
fn the_backoff_doubles_from_half_a_second_and_caps_at_eight() {
    let config = BackoffConfig::default();
    let nominal: Vec<u64> = (0..8).map(|n| nominal_backoff_ms(&config, n)).collect();
    assert_eq!(nominal, [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000]);
    // Absurd retry numbers saturate instead of overflowing.
    assert_eq!(nominal_backoff_ms(&config, 200), 8_000);
}

#[test]
fn jitter_takes_off_at_most_a_quarter_and_is_reproducible() {
    let config = BackoffConfig::default();
    for seed in 0..200u64 {
        let mut jitter = Jitter::new(seed);
        let mut again = Jitter::new(seed);
        for n in 0..6 {
            let nominal = nominal_backoff_ms(&config, n);
            let wait = backoff_ms(&config, n, &mut jitter);
            assert!(wait <= nominal && wait >= nominal * 3 / 4, "seed {seed} retry {n}: {wait} vs {nominal}");
            assert_eq!(wait, backoff_ms(&config, n, &mut again));
        }
    }
    // The jitter really spreads the waits.
    let waits: std::collections::BTreeSet<u64> =
        (0..50u64).map(|s| backoff_ms(&config, 3, &mut Jitter::new(s))).collect();
    assert!(waits.len() > 20, "{waits:?}");
}

/// Fails the only provider again and again and returns the waits the route asks for.
fn retry_waits(jitter_percent: u8, seed: u64) -> Vec<u64> {
    let mut config = RouterConfig::with_chain(["a"]);
    config.max_retries_per_provider = 6;
    config.backoff.jitter_percent = jitter_percent;
    let mut route = Route::new(config, seed).unwrap();
    let mut health = HealthBook::new();
    let mut now = T0;
    let mut waits = Vec::new();
    let _ = route.start(&mut health, now).unwrap();
    loop {
        now += 100;
        match route.failed(&mut health, now, Failure::new(Server)).unwrap() {
            Action::WaitUntil { at_ms, .. } => {
                waits.push(at_ms - now);
                now = at_ms;
                assert!(matches!(route.tick(&mut health, now).unwrap(), Action::Fetch { .. }));
            }
            Action::GaveUp(_) => return waits,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn the_route_backs_off_500_1000_2000_4000_8000_8000() {
    assert_eq!(retry_waits(0, 1), [500, 1_000, 2_000, 4_000, 8_000, 8_000]);
    for seed in [1, 7, 99, 12345] {
        let waits = retry_waits(25, seed);
        let bounds = [500, 1_000, 2_000, 4_000, 8_000, 8_000];
        assert_eq!(waits.len(), 6);
        for (w, n) in waits.iter().zip(bounds) {
            assert!(*w <= n && *w >= n * 3 / 4, "seed {seed}: {waits:?}");
        }
    }
}

#[test]
fn retry_after_headers_are_read_like_the_sdks() {
    let now = 1_445_412_480_000; // Wed, 21 Oct 2015 07:28:00 GMT
    #[rustfmt::skip]
    let cases: &[(Option<&str>, Option<&str>, Option<u64>)] = &[
        (None, None, None),
        (Some("1500"), None, Some(1_500)),
        (Some("250.4"), None, Some(251)),
        // retry-after-ms takes precedence over retry-after.
        (Some("200"), Some("30"), Some(200)),
        // An unreadable retry-after-ms falls back to retry-after.
        (Some("soon"), Some("30"), Some(30_000)),
        (None, Some("2"), Some(2_000)),
        (None, Some(" 0.5 "), Some(500)),
        (None, Some("0"), Some(0)),
        (None, Some("-3"), None),
        (None, Some("120"), Some(120_000)),
        // HTTP dates are measured from now; past dates give zero.
        (None, Some("Wed, 21 Oct 2015 07:28:45 GMT"), Some(45_000)),
        (None, Some("Wed, 21 Oct 2015 07:27:00 GMT"), Some(0)),
        (None, Some("Wed, 21 Oct 2015 07:28:45 PST"), None),
        (None, Some("tomorrow"), None),
        (None, Some(""), None),
        (None, Some("1e3"), None),
    ];
    for &(ms, secs, expect) in cases {
        assert_eq!(
            retry_after_from_headers(ms, secs, now),
            expect,
            "retry-after-ms {ms:?}, retry-after {secs:?}"
        );
    }
}

#[test]
fn server_retry_times_are_honoured_only_up_to_sixty_seconds() {
    // (retry time, expected action on a single provider)
    #[rustfmt::skip]
    let cases: &[(u64, &str)] = &[
        (1, "wait 1 a#2"),
        (30_000, "wait 30000 a#2"),
        (60_000, "wait 60000 a#2"),
        (60_001, "gave_up all_failed"),
        (3_600_000, "gave_up all_failed"),
        // Zero is no retry time at all: the backoff applies.
        (0, "wait 500 a#2"),
    ];
    for &(ms, expect) in cases {
        let mut sim = Sim::new(&["a"]);
        sim.ev(0, Event::Start);
        assert_eq!(
            sim.ev(10, Event::Failed(Failure::new(RateLimited).retry_after_ms(ms))),
            expect,
            "retry after {ms}"
        );
    }
}

#[test]
fn a_missing_first_byte_is_aborted_at_the_deadline() {
    let mut sim = Sim::new(&["a", "b"]);
    let t = sim.now();
    let action = sim.route.start(&mut sim.health, t).unwrap();
    assert!(matches!(action, Action::Fetch { timer_at_ms, .. } if timer_at_ms == t + 15_000));
    assert_eq!(sim.ev(5_000, Event::Tick), "timer +10000");
    assert_eq!(sim.ev(9_999, Event::Tick), "timer +1");
    assert_eq!(sim.ev(1, Event::Tick), "abort a first_byte_timeout; fetch b#1");
    // A late tick keeps the new deadline.
    assert_eq!(sim.ev(100, Event::Tick), "timer +14900");
    assert_eq!(sim.ev(100, Event::Completed), "finished b#1");
}

#[test]
fn a_lone_provider_that_times_out_is_retried_after_the_backoff() {
    let mut sim = Sim::new(&["a"]);
    sim.ev(0, Event::Start);
    assert_eq!(sim.ev(15_000, Event::Tick), "abort a first_byte_timeout; wait 500 a#2");
    assert_eq!(sim.ev(500, Event::Tick), "fetch a#2");
}

#[test]
fn a_stalled_stream_is_aborted_and_the_next_provider_continues_it() {
    let mut sim = Sim::new(&["a", "b"]);
    sim.ev(0, Event::Start);
    assert_eq!(sim.ev(800, Event::FirstByte), "timer +20000");
    assert_eq!(sim.ev(100, Event::Chunk { text_len: 10 }), "continue");
    assert_eq!(sim.ev(5_000, Event::Chunk { text_len: 15 }), "continue");
    // The timer set at first byte fires: the deadline moved with the last chunk.
    assert_eq!(sim.ev(14_900, Event::Tick), "timer +5100");
    assert_eq!(sim.ev(5_099, Event::Tick), "timer +1");
    assert_eq!(sim.ev(1, Event::Tick), "abort a stalled; fetch b#1 +partial");
    assert_eq!(sim.route.kept_text_len(), 25);
}

#[test]
fn a_chunk_before_the_first_byte_event_counts_as_the_first_byte() {
    let mut sim = Sim::new(&["a"]);
    sim.ev(0, Event::Start);
    assert_eq!(sim.ev(700, Event::Chunk { text_len: 3 }), "timer +20000");
    assert_eq!(sim.ev(0, Event::FirstByte), "continue");
    assert_eq!(sim.ev(19_999, Event::Tick), "timer +1");
}

#[test]
fn timeouts_follow_the_configured_durations() {
    let mut config = RouterConfig::with_chain(["a", "b"]);
    config.first_byte_timeout_ms = 2_000;
    config.stall_timeout_ms = 3_000;
    config.backoff.jitter_percent = 0;
    let mut sim = Sim::with(config, HealthBook::new());
    sim.ev(0, Event::Start);
    assert_eq!(sim.ev(2_000, Event::Tick), "abort a first_byte_timeout; fetch b#1");
    assert_eq!(sim.ev(1_000, Event::FirstByte), "timer +3000");
    assert_eq!(sim.ev(3_000, Event::Tick), "abort b stalled; wait 500 b#2");
}
