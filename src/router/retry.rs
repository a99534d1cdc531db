//! Retry timing: exponential backoff with deterministic jitter, and the server's retry headers.

use serde::{Deserialize, Serialize};

use super::config::BackoffConfig;
use crate::services::Millis;

/// A tiny xorshift random source for jitter: deterministic from its seed, serialisable, and
/// small enough (32 bits) to survive a trip through JavaScript numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jitter {
    state: u32,
}

impl Jitter {
    /// A source seeded with `seed`; any seed works (zero is replaced by a fixed odd value).
    pub fn new(seed: u64) -> Self {
        let folded = (seed ^ (seed >> 32)) as u32;
        Self { state: if folded == 0 { 0x9E37_79B9 } else { folded } }
    }

    /// The next pseudo-random 32-bit value.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.state;
        if x == 0 {
            // Only a hand-edited saved state can hold zero, which xorshift would never leave.
            x = 0x9E37_79B9;
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        x
    }
}

/// The nominal wait before retry number `retry` (0 for the first retry), before jitter:
/// the initial wait doubled `retry` times, capped.
pub fn nominal_backoff_ms(config: &BackoffConfig, retry: u32) -> u64 {
    let factor = if retry >= 63 { u64::MAX } else { 1u64 << retry };
    config.initial_ms.saturating_mul(factor).min(config.cap_ms.max(1))
}

/// The wait before retry number `retry`: the nominal wait minus a random share of at most
/// `jitter_percent` of it, so it lies in `[nominal * (1 - jitter), nominal]`.
pub fn backoff_ms(config: &BackoffConfig, retry: u32, jitter: &mut Jitter) -> u64 {
    let nominal = nominal_backoff_ms(config, retry);
    let spread = nominal.saturating_mul(u64::from(config.jitter_percent.min(100))) / 100;
    if spread == 0 {
        return nominal;
    }
    let take = u64::from(jitter.next_u32()) % (spread + 1);
    nominal - take
}

/// The server's retry time in milliseconds from the `retry-after-ms` and `retry-after` header
/// values, as the official SDKs read them: `retry-after-ms` (milliseconds, may be fractional)
/// takes precedence; `retry-after` is seconds (may be fractional) or an HTTP date, measured from
/// `now`. Unreadable or negative values count as absent; a date in the past gives 0.
///
/// Whether the wait is honoured (above zero and at most the configured 60 s) is the router's call.
pub fn retry_after_from_headers(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: Millis,
) -> Option<u64> {
    if let Some(ms) = retry_after_ms.and_then(parse_non_negative) {
        return Some(ms.ceil() as u64);
    }
    let value = retry_after?.trim();
    if let Some(secs) = parse_non_negative(value) {
        return Some((secs * 1000.0).ceil() as u64);
    }
    parse_http_date(value).map(|at| at.saturating_sub(now))
}

fn parse_non_negative(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    // Anything beyond a day is absurd for a retry time; clamp so the cast stays exact.
    (value.is_finite() && value >= 0.0).then(|| value.min(86_400_000.0))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into milliseconds since the epoch.
pub fn parse_http_date(text: &str) -> Option<Millis> {
    let mut parts = text.split_ascii_whitespace();
    let weekday = parts.next()?;
    if !weekday.ends_with(',') {
        return None;
    }
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let hour: u64 = clock.next()?.parse().ok()?;
    let minute: u64 = clock.next()?.parse().ok()?;
    let second: u64 = clock.next()?.parse().ok()?;
    if clock.next().is_some() || parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    if !(1970..=9999).contains(&year) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(secs * 1_000)
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian calendar).
fn days_since_epoch(year: i64, month: u32, day: u32) -> i64 {
    // Count years from March so the leap day falls at the end of the counting year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
