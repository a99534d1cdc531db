//! The status feeds of the chat sites other than ChatGPT, read into the same [`StatusReport`] as
//! ChatGPT's status page (see [`crate::status`]).
//!
//! - Atom (`/history.atom` of Statuspage: Claude, Perplexity, DeepSeek) and RSS (xAI's
//!   `feed.xml`): one entry per incident, its updates in its HTML content, newest first, each
//!   `<strong>Stage</strong> - text`. An incident is ongoing while its newest stage is
//!   `Investigating`, `Identified`, `Monitoring` or `Update`; a maintenance while `In progress` or
//!   `Verifying`; `Resolved`, `Postmortem`, `Completed` and `Scheduled` are not failures. An entry
//!   whose stage cannot be read is passed over (no guess is a false alarm).
//! - Google Workspace's `incidents.json` (Gemini has no feed of its own): the incidents whose
//!   affected products (or service name) name the product, without an `end`, their level from
//!   `status_impact` (`SERVICE_OUTAGE` a major outage, `SERVICE_DISRUPTION` a partial one, anything
//!   else degraded).
//!
//! The feeds carry no component states and no impact (Atom, RSS): an ongoing incident is a partial
//! outage when its title says "outage", else degraded. Like the ChatGPT reader, every reader is
//! tolerant: missing or odd fields are passed over; only a document of another kind is an error.
//! Feeds lag the first user-visible failures; capacity and rate limits never appear in them: page
//! signals stand alone.

use serde_json::Value;

use crate::detect::retry::days_from_civil;
use crate::detect::rules::{FeedFormat, StatusFeed};
use crate::status::{Incident, ServiceLevel, StatusError, StatusReport, StatusSource, Update, rfc3339_ms};

/// Longest text kept from an update.
const MAX_TEXT_CHARS: usize = 2000;
/// Longest name kept.
const MAX_NAME_CHARS: usize = 300;
/// Most incidents kept in each list.
const MAX_LISTED: usize = 20;

/// Reads a site's status document in the format its adapter names.
pub fn parse_site_status(feed: &StatusFeed, text: &str) -> Result<StatusReport, StatusError> {
    match feed.format {
        FeedFormat::Atom | FeedFormat::Rss => parse_feed_xml(text),
        FeedFormat::GoogleIncidents => parse_google_incidents(text, &feed.product),
        FeedFormat::Statuspage | FeedFormat::IncidentIo => crate::status::parse_status(text),
    }
}

/// Reads an Atom or an RSS feed of incidents (either is recognised).
pub fn parse_feed_xml(xml: &str) -> Result<StatusReport, StatusError> {
    let (source, entry_tag) = if find_tag(xml, "feed", 0).is_some() {
        (StatusSource::Atom, "entry")
    } else if find_tag(xml, "rss", 0).is_some() || find_tag(xml, "channel", 0).is_some() {
        (StatusSource::Rss, "item")
    } else {
        return Err(StatusError::NotAFeed);
    };
    let mut report = StatusReport::empty(source);
    for entry in elements(xml, entry_tag) {
        let Some(incident) = read_entry(entry) else { continue };
        match incident {
            (Phase::Ongoing, i) => report.ongoing.push(i),
            (Phase::Maintenance, i) => report.maintenances.push(i),
            (Phase::Over, _) => {}
        }
    }
    Ok(finish(report))
}

/// Reads Google Workspace's `incidents.json`, keeping the incidents that concern `product`.
pub fn parse_google_incidents(json: &str, product: &str) -> Result<StatusReport, StatusError> {
    let doc: Value = serde_json::from_str(json).map_err(|e| StatusError::NotJson(e.to_string()))?;
    let incidents = doc.as_array().or_else(|| doc.get("incidents").and_then(Value::as_array));
    let Some(incidents) = incidents else { return Err(StatusError::UnknownShape) };
    let product = product.trim().to_lowercase();
    let mut report = StatusReport::empty(StatusSource::GoogleIncidents);
    for inc in incidents {
        let s = |k: &str| inc.get(k).and_then(Value::as_str).unwrap_or("");
        let names: Vec<&str> = inc
            .get("affected_products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("title").and_then(Value::as_str))
            .chain(Some(s("service_name")))
            .filter(|n| !n.is_empty())
            .collect();
        if product.is_empty() || !names.iter().any(|n| n.to_lowercase().contains(&product)) {
            continue;
        }
        let latest = inc.get("most_recent_update");
        let latest_status = latest.and_then(|u| u.get("status")).and_then(Value::as_str).unwrap_or("");
        let ended = !s("end").trim().is_empty() || latest_status.eq_ignore_ascii_case("AVAILABLE");
        if ended {
            continue;
        }
        let impact = if s("status_impact").is_empty() { latest_status } else { s("status_impact") };
        let level = match impact.to_ascii_uppercase().as_str() {
            "SERVICE_OUTAGE" => ServiceLevel::MajorOutage,
            "SERVICE_DISRUPTION" => ServiceLevel::PartialOutage,
            _ => ServiceLevel::Degraded,
        };
        let text = latest.and_then(|u| u.get("text")).and_then(Value::as_str).unwrap_or("");
        let at = latest.and_then(|u| u.get("when").or(u.get("modified"))).and_then(Value::as_str);
        let name = s("external_desc").lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        report.ongoing.push(Incident {
            id: s("id").to_string(),
            name: chars(name, MAX_NAME_CHARS),
            status: latest_status.to_ascii_lowercase(),
            level,
            began: Some(s("begin").to_string()).filter(|b| !b.is_empty()),
            began_ms: rfc3339_ms(s("begin")),
            latest_update: (!text.trim().is_empty()).then(|| Update {
                text: chars(text.trim(), MAX_TEXT_CHARS),
                at: at.map(str::to_string),
                at_ms: at.and_then(rfc3339_ms),
            }),
            components: names.iter().map(|n| chars(n, MAX_NAME_CHARS)).collect(),
        });
    }
    Ok(finish(report))
}

fn finish(mut r: StatusReport) -> StatusReport {
    r.ongoing.truncate(MAX_LISTED);
    r.maintenances.truncate(MAX_LISTED);
    r.level = r.ongoing.iter().map(|i| i.level).max().unwrap_or(ServiceLevel::Operational);
    r.incidents = r.ongoing.iter().map(|i| i.name.clone()).collect();
    r
}

enum Phase {
    Ongoing,
    Maintenance,
    Over,
}

/// The stages Statuspage writes, in lower case, and what each means.
const STAGES: &[(&str, u8)] = &[
    ("investigating", 0),
    ("identified", 0),
    ("monitoring", 0),
    ("update", 0),
    ("in progress", 1),
    ("verifying", 1),
    ("resolved", 2),
    ("postmortem", 2),
    ("completed", 2),
    ("scheduled", 2),
];

fn read_entry(entry: &str) -> Option<(Phase, Incident)> {
    let title = child_text(entry, "title").unwrap_or_default();
    let html = child_text(entry, "content")
        .or_else(|| child_text(entry, "description"))
        .or_else(|| child_text(entry, "summary"))
        .unwrap_or_default();
    let (stage, update) = latest_stage(&html)?;
    let phase = match STAGES.iter().find(|(s, _)| *s == stage)?.1 {
        0 => Phase::Ongoing,
        1 => Phase::Maintenance,
        _ => Phase::Over,
    };
    let began = child_text(entry, "published").or_else(|| child_text(entry, "pubDate"));
    let began_ms = began.as_deref().and_then(|t| rfc3339_ms(t).or_else(|| rfc822_ms(t)));
    let updated = child_text(entry, "updated").or_else(|| began.clone());
    let updated_ms = updated.as_deref().and_then(|t| rfc3339_ms(t).or_else(|| rfc822_ms(t)));
    let title = plain(&title);
    let level = if title.to_lowercase().contains("outage") {
        ServiceLevel::PartialOutage
    } else {
        ServiceLevel::Degraded
    };
    let id = child_text(entry, "id").or_else(|| child_text(entry, "guid")).unwrap_or_default();
    Some((
        phase,
        Incident {
            id: chars(id.trim(), MAX_NAME_CHARS),
            name: chars(&title, MAX_NAME_CHARS),
            status: stage.to_string(),
            level,
            began,
            began_ms,
            latest_update: (!update.is_empty()).then(|| Update {
                text: chars(&update, MAX_TEXT_CHARS),
                at: updated,
                at_ms: updated_ms,
            }),
            components: Vec::new(),
        },
    ))
}

/// The newest update's stage (lower case) and text: the first `<strong>` naming a stage, or
/// else the first stage word followed by ` -` or `:` in the text.
fn latest_stage(html: &str) -> Option<(&'static str, String)> {
    // ASCII lower case keeps byte offsets, so they index `html` too.
    let lower = html.to_ascii_lowercase();
    let known = |s: &str| STAGES.iter().map(|(k, _)| *k).find(|k| *k == s.trim());
    if let Some(open) = find_tag(&lower, "strong", 0)
        && let Some(gt) = lower[open..].find('>')
        && let Some(close) = lower[open + gt..].find("</strong>")
    {
        let inner = &html[open + gt + 1..open + gt + close];
        if let Some(stage) = known(&plain(inner).to_lowercase()) {
            let after = &html[open + gt + close + "</strong>".len()..];
            let end = after.to_ascii_lowercase().find("</p>").unwrap_or(after.len());
            let text = plain(&after[..end]);
            let text = text.trim_start_matches(['-', '–', ':', ' ']).to_string();
            return Some((stage, text));
        }
    }
    let text = plain(html);
    let lower = text.to_ascii_lowercase();
    let (at, stage) = STAGES
        .iter()
        .filter_map(|(s, _)| {
            [" -", " –", ":"].iter().filter_map(|sep| lower.find(&format!("{s}{sep}"))).min().map(|i| (i, *s))
        })
        .min_by_key(|(i, _)| *i)?;
    let rest = &text[at + stage.len()..];
    Some((stage, rest.trim_start_matches(['-', '–', ':', ' ']).to_string()))
}

/// The byte offset of the first `<tag` (followed by `>`, `/` or white space) at or after `from`.
fn find_tag(xml: &str, tag: &str, from: usize) -> Option<usize> {
    let needle = format!("<{tag}");
    let mut at = from;
    while let Some(i) = xml.get(at..)?.find(&needle) {
        let start = at + i;
        let next = xml.as_bytes().get(start + needle.len());
        if matches!(next, Some(b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n')) {
            return Some(start);
        }
        at = start + needle.len();
    }
    None
}

/// The inner text of every `<tag ...>...</tag>` element (not nested in itself).
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = find_tag(xml, tag, at) {
        let Some(gt) = xml[start..].find('>') else { break };
        let inner_start = start + gt + 1;
        if xml[..inner_start].ends_with("/>") {
            at = inner_start;
            continue;
        }
        let Some(end) = xml[inner_start..].find(&close) else { break };
        out.push(&xml[inner_start..inner_start + end]);
        at = inner_start + end + close.len();
    }
    out
}

/// The first child element `tag`'s text, CDATA unwrapped and entities decoded.
fn child_text(xml: &str, tag: &str) -> Option<String> {
    let inner = elements(xml, tag).into_iter().next()?;
    let inner = inner.trim();
    let raw = match inner.strip_prefix("<![CDATA[").and_then(|s| s.strip_suffix("]]>")) {
        Some(cdata) => cdata.to_string(),
        None => decode_entities(inner),
    };
    Some(raw)
}

/// XML character references and the five named entities decoded (HTML's `&nbsp;` too).
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let c = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// HTML as plain text: tags dropped (a `<br>` or a block's end is a space), entities decoded,
/// white space collapsed.
fn plain(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let decoded = decode_entities(&text);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// An RFC 822 time as RSS writes it (`Thu, 20 Nov 2026 10:05:00 +0000`, `... GMT`) in Unix
/// milliseconds; `None` when it is not one.
pub fn rfc822_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t.split_once(',').map_or(t, |(_, rest)| rest).trim();
    let mut parts = t.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = parts.next()?.to_ascii_lowercase();
    let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let month = months.iter().position(|m| month.starts_with(m))? as i64 + 1;
    let mut year: i64 = parts.next()?.parse().ok()?;
    if year < 100 {
        year += 2000;
    }
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m) = (hms.next()??, hms.next()??);
    let s = hms.next().flatten().unwrap_or(0);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let offset_min = match parts.next().unwrap_or("GMT") {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let n: i64 = z[1..].parse().ok()?;
            let minutes = (n / 100) * 60 + n % 100;
            if z.starts_with('-') { -minutes } else { minutes }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s - offset_min * 60;
    u64::try_from(secs * 1000).ok()
}
