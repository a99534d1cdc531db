//! Reading a retry time: from page text ("in 1 hour", "until 14:20", "after 2:43 PM") and from the
//! HTTP `retry-after` header (seconds or an HTTP date).

/// The longest retry time believed, in seconds (a week); longer values are clamped.
const MAX_RETRY_S: u64 = 7 * 24 * 3600;

/// Seconds until the time the text names, if it names one.
///
/// `now_ms` is Unix time in milliseconds; `tz_offset_min` is the page's time zone in minutes east of
/// UTC, needed to read clock times.
pub(crate) fn from_text(text: &str, now_ms: u64, tz_offset_min: i32) -> Option<u64> {
    let lower = text.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == ':'))
        .filter(|t| !t.is_empty())
        .take(2048)
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        let rest = &tokens[i + 1..];
        match *t {
            "in" | "within" => {
                if let Some(s) = duration(rest) {
                    return Some(s.min(MAX_RETRY_S));
                }
            }
            // ("resets": Claude's "5-hour limit reached - resets 3 PM".)
            "until" | "after" | "at" | "till" | "resets" | "reset" => {
                if let Some((h, m)) = clock(rest) {
                    return Some(until_clock(h, m, now_ms, tz_offset_min));
                }
            }
            _ => {}
        }
    }
    None
}

/// Reads "1 hour", "an hour", "20 minutes", "1 hour and 30 minutes", "90s" at the start of `tokens`.
fn duration(tokens: &[&str]) -> Option<u64> {
    let mut total: Option<u64> = None;
    let mut i = 0;
    while i < tokens.len() {
        let (qty, unit, used) = if let Some(q) = quantity(tokens[i]) {
            match tokens.get(i + 1).and_then(|u| unit_seconds(u)) {
                Some(u) => (q, u, 2),
                None => break,
            }
        } else if let Some((q, u)) = glued(tokens[i]) {
            (q, u, 1)
        } else {
            break;
        };
        total = Some(total.unwrap_or(0).saturating_add(qty.saturating_mul(unit)));
        i += used;
        if tokens.get(i) == Some(&"and") {
            i += 1;
        }
    }
    total
}

fn quantity(t: &str) -> Option<u64> {
    match t {
        "a" | "an" | "one" => Some(1),
        "two" => Some(2),
        "few" => None,
        _ => t.parse::<u64>().ok().filter(|_| t.len() <= 9),
    }
}

fn unit_seconds(t: &str) -> Option<u64> {
    match t {
        "s" | "sec" | "secs" | "second" | "seconds" => Some(1),
        "m" | "min" | "mins" | "minute" | "minutes" => Some(60),
        "h" | "hr" | "hrs" | "hour" | "hours" => Some(3600),
        "d" | "day" | "days" => Some(86_400),
        _ => None,
    }
}

/// "90s", "20min", "1h".
fn glued(t: &str) -> Option<(u64, u64)> {
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    if split == 0 || split > 9 {
        return None;
    }
    let q = t[..split].parse().ok()?;
    Some((q, unit_seconds(&t[split..])?))
}

/// Reads "14:20", "2:43 pm", "2:43pm", "2 pm" at the start of `tokens`, as 24-hour (h, m).
fn clock(tokens: &[&str]) -> Option<(u32, u32)> {
    let t = *tokens.first()?;
    let (digits, suffix) = match t.find(|c: char| !(c.is_ascii_digit() || c == ':')) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let meridiem = if !suffix.is_empty() { Some(suffix) } else { tokens.get(1).copied() };
    let meridiem = meridiem.filter(|m| matches!(*m, "am" | "pm"));
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None if meridiem.is_some() => (digits.parse::<u32>().ok()?, 0),
        _ => return None,
    };
    if h.to_string().len() > 2 || m > 59 {
        return None;
    }
    let h = match meridiem {
        Some(mer) => {
            if h == 0 || h > 12 {
                return None;
            }
            (h % 12) + if mer == "pm" { 12 } else { 0 }
        }
        None if h <= 23 => h,
        None => return None,
    };
    Some((h, m))
}

fn until_clock(h: u32, m: u32, now_ms: u64, tz_offset_min: i32) -> u64 {
    let local_s = (now_ms / 1000) as i64 + i64::from(tz_offset_min) * 60;
    let second_of_day = local_s.rem_euclid(86_400);
    let target = i64::from(h) * 3600 + i64::from(m) * 60;
    let mut diff = target - second_of_day;
    if diff <= 0 {
        diff += 86_400;
    }
    diff as u64
}

/// Seconds until the time an HTTP `retry-after` header names (delta seconds or an IMF-fixdate).
pub(crate) fn from_header(value: &str, now_ms: u64) -> Option<u64> {
    let v = value.trim();
    if !v.is_empty() && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(|s| s.min(MAX_RETRY_S));
    }
    if let Ok(f) = v.parse::<f64>()
        && f.is_finite()
        && f >= 0.0
    {
        return Some((f.ceil() as u64).min(MAX_RETRY_S));
    }
    let at = http_date(v)?;
    let now = (now_ms / 1000) as i64;
    Some(((at - now).max(0) as u64).min(MAX_RETRY_S))
}

/// Parses "Sun, 06 Nov 1994 08:49:37 GMT" into Unix seconds.
fn http_date(v: &str) -> Option<i64> {
    let rest = v.split_once(',').map(|(_, r)| r).unwrap_or(v);
    let parts: Vec<&str> = rest.split_whitespace().collect();
    if parts.len() != 5 || !parts[4].eq_ignore_ascii_case("GMT") {
        return None;
    }
    let day: i64 = parts[0].parse().ok()?;
    let month = match parts[1].to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let year: i64 = parts[2].parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let mut hms = parts[3].split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-25 10:00:00 UTC
    const NOW: u64 = 1_795_600_800_000;

    #[test]
    fn reads_retry_times_from_text() {
        let check = |text: &str, tz: i32, expect: Option<u64>| {
            assert_eq!(from_text(text, NOW, tz), expect, "{text:?} tz {tz}");
        };
        check("Too many requests in 1 hour. Try again later.", 0, Some(3600));
        check("Too many requests in 1 minute. Try again later.", 0, Some(60));
        check("try again in an hour", 0, Some(3600));
        check("Please try again in 1 hour and 30 minutes", 0, Some(5400));
        check("retry in 90s", 0, Some(90));
        check("You can send more messages until 14:20.", 0, Some(4 * 3600 + 20 * 60));
        check("until 14:20", 60, Some(3 * 3600 + 20 * 60));
        check("please try again after 2:43 PM", 0, Some(4 * 3600 + 43 * 60));
        check("try again after 9:00 am", 0, Some(23 * 3600));
        check("until 10:00", 0, Some(86_400));
        check("5-hour limit reached - resets 3 PM", 0, Some(5 * 3600));
        check("Weekly limit reached - resets 9:00 AM", 0, Some(23 * 3600));
        check("Try again later.", 0, None);
        check("in a few minutes", 0, None);
        check("until 25:00", 0, None);
        check("in 99999999999999999999 hours", 0, None);
    }

    #[test]
    fn reads_retry_after_headers() {
        let check = |v: &str, expect: Option<u64>| assert_eq!(from_header(v, NOW), expect, "{v:?}");
        check("120", Some(120));
        check(" 7 ", Some(7));
        check("1.5", Some(2));
        check("Wed, 25 Nov 2026 10:05:00 GMT", Some(300));
        check("Wed, 25 Nov 2026 09:00:00 GMT", Some(0));
        check("soon", None);
        check("-5", None);
        check("", None);
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 25) * 86_400 + 36_000, (NOW / 1000) as i64);
    }
}
