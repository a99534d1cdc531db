//! The public status page of the lead site: status.openai.com, which runs on incident.io.
//!
//! Two documents are read, both by [`parse_status`], which recognises either:
//! - incident.io's native feed (`/proxy/status.openai.com`, [`parse_feed`]): components sit in groups
//!   (ChatGPT, API, Codex, Sora, ...) and each ongoing incident names the components it affects and
//!   carries its updates' text. Only the ChatGPT group's components count: "Chat Completions" and
//!   "Responses" are the API, and an incident of the API, Codex or Sora alone is not a ChatGPT failure
//!   (it is listed in [`StatusReport::other_services`]).
//! - the Statuspage-compatible `/api/v2/summary.json` ([`parse_summary`]), the fallback: its incidents
//!   may come without components and with empty update bodies, so an incident without components is
//!   judged by its name (one that names only another service does not count; one that names no service
//!   does).
//!
//! Components and groups are matched by name, never by fixed id: ids change, and the single "ChatGPT"
//! component was split into several (Conversations, Login, ...). The status page lags the first
//! user-visible failures by minutes, so it only raises confidence; a page signal alone is enough to act.
//! Both readers are tolerant: an unknown field, a missing one or one of an unexpected type is passed
//! over; only a document that is not JSON, or of neither shape, is an error.

use std::collections::{HashMap, HashSet};

use crate::detect::retry::days_from_civil;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How healthy the status page says the service is, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    /// Everything matched is operational.
    Operational,
    /// Degraded performance, or a minor incident.
    Degraded,
    /// A partial outage.
    PartialOutage,
    /// A major outage (incident.io's `full_outage`).
    MajorOutage,
}

/// Which kind of document a report was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StatusSource {
    /// incident.io's native feed.
    #[serde(rename = "incident.io")]
    IncidentIo,
    /// The Statuspage-compatible API.
    #[serde(rename = "statuspage")]
    Statuspage,
    /// An Atom feed of incidents (Statuspage's `/history.atom`), see `crate::status_feeds`.
    #[serde(rename = "atom")]
    Atom,
    /// An RSS feed of incidents, see `crate::status_feeds`.
    #[serde(rename = "rss")]
    Rss,
    /// Google Workspace's `incidents.json`, see `crate::status_feeds`.
    #[serde(rename = "google")]
    GoogleIncidents,
}

/// What the status page says about the watched service (ChatGPT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The document this was read from.
    pub source: StatusSource,
    /// The worst level among ChatGPT's components and its ongoing incidents.
    pub level: ServiceLevel,
    /// ChatGPT's components that are not operational, as `(name, status)`.
    pub affected_components: Vec<(String, String)>,
    /// Names of the ongoing incidents that concern ChatGPT (the same as [`Self::ongoing`]'s).
    pub incidents: Vec<String>,
    /// The ongoing incidents that concern ChatGPT, in the document's order.
    pub ongoing: Vec<Incident>,
    /// Maintenances in progress that concern ChatGPT.
    pub maintenances: Vec<Incident>,
    /// Ongoing incidents of other services only (the API, Codex, Sora, ...): not ChatGPT failures.
    pub other_services: Vec<OtherIncident>,
}

impl StatusReport {
    /// A report from `source` that says nothing is wrong (yet).
    pub fn empty(source: StatusSource) -> Self {
        StatusReport {
            source,
            level: ServiceLevel::Operational,
            affected_components: Vec::new(),
            incidents: Vec::new(),
            ongoing: Vec::new(),
            maintenances: Vec::new(),
            other_services: Vec::new(),
        }
    }
}

/// One ongoing incident (or maintenance) that concerns ChatGPT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// Its id on the status page (may be empty).
    pub id: String,
    /// Its title.
    pub name: String,
    /// Its stage as the page says it (`investigating`, `identified`, `monitoring`, ...).
    pub status: String,
    /// How bad it is for ChatGPT (at least [`ServiceLevel::Degraded`] for an incident).
    pub level: ServiceLevel,
    /// When it began, as the page wrote it.
    pub began: Option<String>,
    /// When it began, in Unix milliseconds, when [`Self::began`] is an RFC 3339 time.
    pub began_ms: Option<u64>,
    /// The newest update that has text.
    pub latest_update: Option<Update>,
    /// The names of the ChatGPT components it affects (empty when the page names none).
    pub components: Vec<String>,
}

/// One update of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    /// Its text (plain; rich text flattened to lines).
    pub text: String,
    /// When it was published, as the page wrote it.
    pub at: Option<String>,
    /// When it was published, in Unix milliseconds, when [`Self::at`] is an RFC 3339 time.
    pub at_ms: Option<u64>,
}

/// An ongoing incident that concerns other services only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherIncident {
    /// Its title.
    pub name: String,
    /// The groups (or components) it affects: `API`, `Codex`, ... (empty when the page names none).
    pub services: Vec<String>,
}

/// Why a status document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    /// The document is not JSON (an HTML error page, a cut-off answer).
    NotJson(String),
    /// JSON, but neither incident.io's feed nor a Statuspage summary.
    UnknownShape,
    /// Neither an Atom nor an RSS feed (see `crate::status_feeds`).
    NotAFeed,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotJson(e) => write!(f, "unreadable status page: not JSON ({e})"),
            Self::UnknownShape => {
                write!(f, "unreadable status page: neither an incident.io feed nor a Statuspage summary")
            }
            Self::NotAFeed => write!(f, "unreadable status feed: neither Atom nor RSS"),
        }
    }
}

impl std::error::Error for StatusError {}

/// Reads either status document: incident.io's native feed (`{"summary": {...}}`) or a Statuspage
/// summary (`/api/v2/summary.json`, `components.json`, `incidents.json`).
pub fn parse_status(json: &str) -> Result<StatusReport, StatusError> {
    let doc = read_json(json)?;
    if let Some(feed) = feed_root(&doc) {
        return Ok(read_feed(feed));
    }
    statuspage_root(&doc).map(read_summary).ok_or(StatusError::UnknownShape)
}

/// Reads incident.io's native feed (`https://status.openai.com/proxy/status.openai.com`).
pub fn parse_feed(json: &str) -> Result<StatusReport, StatusError> {
    feed_root(&read_json(json)?).map(read_feed).ok_or(StatusError::UnknownShape)
}

/// Reads the Statuspage-compatible `/api/v2/summary.json` (or `components.json`, `incidents.json`).
pub fn parse_summary(json: &str) -> Result<StatusReport, StatusError> {
    statuspage_root(&read_json(json)?).map(read_summary).ok_or(StatusError::UnknownShape)
}

/// Base interval between polls while a chat tab is open.
pub const POLL_INTERVAL_MS: u64 = 120_000;
/// The longest wait between polls after repeated errors.
pub const MAX_POLL_INTERVAL_MS: u64 = 30 * 60_000;

/// How long to wait before the next poll, given how many polls in a row have failed.
pub fn next_poll_delay_ms(consecutive_errors: u32) -> u64 {
    POLL_INTERVAL_MS.saturating_mul(1u64 << consecutive_errors.min(5)).min(MAX_POLL_INTERVAL_MS)
}

/// An RFC 3339 time (`2026-02-03T14:05:12.345Z`, `2026-02-03 09:05:12-05:00`) in Unix milliseconds;
/// `None` when it is not one, or is before 1970. Fractions beyond milliseconds are cut.
pub fn rfc3339_ms(text: &str) -> Option<u64> {
    let b = text.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        for k in 0..3 {
            millis =
                millis * 10 + b.get(start + k).filter(|_| start + k < i).map_or(0, |d| i64::from(d - b'0'));
        }
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && sep(i + 3, b":") => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'-' { -(h * 60 + m) } else { h * 60 + m }
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    u64::try_from(seconds * 1000 + millis).ok()
}

// ---- reading ----------------------------------------------------------------------------------

/// Longest text kept from an update.
const MAX_TEXT_CHARS: usize = 2000;
/// Longest name kept (incident, component, group).
const MAX_NAME_CHARS: usize = 300;
/// Most incidents kept in each list of a report.
const MAX_LISTED: usize = 20;
/// Deepest rich-text node read.
const MAX_RICH_DEPTH: usize = 32;

/// Words in a component's name that mark it as ChatGPT's when the page does not group components.
const CHATGPT_COMPONENT_WORDS: &[&str] = &["chatgpt", "conversation", "login", "chat history", "voice mode"];
/// Other services, as whole words of a name (any case): an incident that names one of them and not
/// ChatGPT is theirs. "Chat Completions", "Responses" and the Batch API are the API.
const OTHER_SERVICE_WORDS: &[&str] = &[
    "api",
    "apis",
    "codex",
    "sora",
    "chat completions",
    "playground",
    "fine-tuning",
    "embeddings",
    "platform.openai.com",
];
/// Other services named only when capitalised ("responses" is also an ordinary word).
const OTHER_SERVICE_NAMES: &[&str] = &["Responses"];

fn read_json(json: &str) -> Result<Value, StatusError> {
    serde_json::from_str(json).map_err(|e| StatusError::NotJson(e.to_string()))
}

/// The feed's `summary` object (or a feed given without its wrapper).
fn feed_root(doc: &Value) -> Option<&Map<String, Value>> {
    let top = doc.as_object()?;
    if let Some(summary) = top.get("summary") {
        return summary.as_object();
    }
    let native = ["structure", "ongoing_incidents", "in_progress_maintenances"];
    native.iter().any(|k| top.contains_key(*k)).then_some(top)
}

fn statuspage_root(doc: &Value) -> Option<&Map<String, Value>> {
    let top = doc.as_object()?;
    let keys = ["components", "incidents", "scheduled_maintenances", "status", "page"];
    keys.iter().any(|k| top.contains_key(*k)).then_some(top)
}

fn list<'a>(obj: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    obj.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A non-empty string field, trimmed.
fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)?.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn first_text<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| text(obj, k))
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", s[..cut].trim_end()),
        None => s.to_owned(),
    }
}

fn component_level(status: &str) -> ServiceLevel {
    match status {
        "full_outage" | "major_outage" => ServiceLevel::MajorOutage,
        "partial_outage" => ServiceLevel::PartialOutage,
        "degraded_performance" | "under_maintenance" => ServiceLevel::Degraded,
        _ => ServiceLevel::Operational,
    }
}

fn incident_level(impact: &str) -> ServiceLevel {
    match impact {
        "critical" => ServiceLevel::MajorOutage,
        "major" => ServiceLevel::PartialOutage,
        _ => ServiceLevel::Degraded,
    }
}

fn is_open(status: &str) -> bool {
    !matches!(status, "resolved" | "postmortem" | "completed" | "maintenance_complete")
}

fn has_word(haystack: &str, word: &str, ignore_case: bool) -> bool {
    let (hay, word) = if ignore_case {
        (haystack.to_lowercase(), word.to_lowercase())
    } else {
        (haystack.into(), word.into())
    };
    let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_');
    hay.match_indices(&word).any(|(at, _)| {
        boundary(hay[..at].chars().next_back()) && boundary(hay[at + word.len()..].chars().next())
    })
}

fn names_chatgpt(name: &str) -> bool {
    name.to_lowercase().contains("chatgpt")
}

fn names_other_service(name: &str) -> bool {
    OTHER_SERVICE_WORDS.iter().any(|w| has_word(name, w, true))
        || OTHER_SERVICE_NAMES.iter().any(|w| has_word(name, w, false))
}

/// Whether a component, known only by name, is ChatGPT's.
fn component_named_chatgpt(name: &str) -> bool {
    let lower = name.to_lowercase();
    CHATGPT_COMPONENT_WORDS.iter().any(|w| lower.contains(w))
        && (names_chatgpt(name) || !names_other_service(name))
}

/// Whether an incident the page ties to no component concerns ChatGPT, by its name: unless it names
/// another service and not ChatGPT, it may (and is reported).
fn incident_named_chatgpt(name: &str) -> bool {
    names_chatgpt(name) || !names_other_service(name)
}

/// The page's components: names, groups, and which belong to ChatGPT.
#[derive(Default)]
struct Catalogue {
    names: HashMap<String, String>,
    group_of: HashMap<String, String>,
    chatgpt: HashSet<String>,
    /// The page has a ChatGPT group: membership decides, not names.
    grouped: bool,
}

impl Catalogue {
    fn name(&mut self, id: &str, name: Option<&str>) {
        if let Some(n) = name {
            self.names.entry(id.to_owned()).or_insert_with(|| clip(n, MAX_NAME_CHARS));
        }
    }

    fn member(&mut self, id: &str, group: &str) {
        self.group_of.insert(id.to_owned(), clip(group, MAX_NAME_CHARS));
        if names_chatgpt(group) {
            self.chatgpt.insert(id.to_owned());
            self.grouped = true;
        }
    }

    /// Whether the component `id` (or, unknown, the component called `name`) is ChatGPT's; `None`
    /// when nothing is known of it.
    fn is_chatgpt(&self, id: Option<&str>, name: Option<&str>) -> Option<bool> {
        let known_name = id.and_then(|i| self.names.get(i)).map(String::as_str).or(name);
        if self.grouped {
            if id.is_some_and(|i| self.chatgpt.contains(i)) {
                return Some(true);
            }
            if id.is_some_and(|i| self.group_of.contains_key(i)) {
                return Some(false);
            }
            return known_name.map(names_chatgpt);
        }
        known_name.map(component_named_chatgpt)
    }

    fn display_name(&self, id: Option<&str>, name: Option<&str>) -> Option<String> {
        id.and_then(|i| self.names.get(i))
            .cloned()
            .or_else(|| name.map(|n| clip(n, MAX_NAME_CHARS)))
            .or_else(|| id.map(str::to_owned))
    }

    /// The service a non-ChatGPT component belongs to: its group, or its own name.
    fn service(&self, id: Option<&str>, name: Option<&str>) -> Option<String> {
        id.and_then(|i| self.group_of.get(i)).cloned().or_else(|| self.display_name(id, name))
    }
}

/// One component as an incident or a summary lists it.
struct Affected<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
    status: Option<&'a str>,
}

fn affected(entry: &Value) -> Option<Affected<'_>> {
    let o = entry.as_object()?;
    let a = Affected {
        id: first_text(o, &["component_id", "id"]),
        name: text(o, "name"),
        status: first_text(o, &["status", "current_status"]),
    };
    (a.id.is_some() || a.name.is_some()).then_some(a)
}

/// The ChatGPT components' worst status and the report being built.
struct Builder<'a> {
    catalogue: &'a Catalogue,
    /// Each ChatGPT component's status in the summary, by id.
    statuses: HashMap<String, String>,
    report: StatusReport,
}

impl Builder<'_> {
    fn new(catalogue: &Catalogue, source: StatusSource) -> Builder<'_> {
        Builder { catalogue, statuses: HashMap::new(), report: StatusReport::empty(source) }
    }

    /// A ChatGPT component's status: counts in the level; kept when not operational (worst wins).
    fn component(&mut self, name: String, status: &str) {
        let level = component_level(status);
        self.report.level = self.report.level.max(level);
        if level == ServiceLevel::Operational {
            return;
        }
        let list = &mut self.report.affected_components;
        match list.iter_mut().find(|(n, _)| *n == name) {
            Some(seen) if component_level(&seen.1) < level => seen.1 = status.to_owned(),
            Some(_) => {}
            None => list.push((name, status.to_owned())),
        }
    }

    /// One incident or maintenance: ChatGPT's, another service's, or (closed) nothing.
    fn incident(&mut self, entry: &Value, maintenance: bool, impact_level: Option<ServiceLevel>) {
        let Some(o) = entry.as_object() else { return };
        let status = text(o, "status").unwrap_or_default();
        if !is_open(status) {
            return;
        }
        let name = clip(text(o, "name").unwrap_or("Untitled incident"), MAX_NAME_CHARS);
        let components: Vec<Affected> = ["affected_components", "components"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_array))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(affected)
            .collect();
        let cat = self.catalogue;
        let mut mine = Vec::new();
        let mut services: Vec<String> = Vec::new();
        let mut judged = false;
        let mut level = if maintenance { ServiceLevel::Operational } else { ServiceLevel::Degraded };
        for c in &components {
            match cat.is_chatgpt(c.id, c.name) {
                Some(true) => {
                    judged = true;
                    let display = cat.display_name(c.id, c.name).unwrap_or_default();
                    let own = c
                        .status
                        .map(str::to_owned)
                        .or_else(|| c.id.and_then(|i| self.statuses.get(i)).cloned());
                    if let Some(s) = own {
                        level = level.max(component_level(&s));
                        // A maintenance's own component statuses are planned work, not an outage.
                        if !maintenance {
                            self.component(display.clone(), &s);
                        }
                    }
                    if !mine.contains(&display) {
                        mine.push(display);
                    }
                }
                Some(false) => {
                    judged = true;
                    if let Some(s) = cat.service(c.id, c.name).filter(|s| !services.contains(s)) {
                        services.push(s);
                    }
                }
                None => {}
            }
        }
        let ours = if judged { !mine.is_empty() } else { incident_named_chatgpt(&name) };
        if !ours {
            if !maintenance && self.report.other_services.len() < MAX_LISTED {
                self.report.other_services.push(OtherIncident { name, services });
            }
            return;
        }
        if let Some(l) = impact_level {
            level = level.max(l);
        }
        let began_keys: &[&str] = if maintenance {
            &["starts_at", "scheduled_for", "started_at", "published_at", "created_at"]
        } else {
            &["published_at", "started_at", "created_at"]
        };
        let began = first_text(o, began_keys);
        let incident = Incident {
            id: text(o, "id").unwrap_or_default().to_owned(),
            name,
            status: status.to_owned(),
            level,
            began: began.map(str::to_owned),
            began_ms: began.and_then(rfc3339_ms),
            latest_update: latest_update(o),
            components: mine,
        };
        let report = &mut self.report;
        if maintenance {
            if report.maintenances.len() < MAX_LISTED {
                report.maintenances.push(incident);
            }
        } else {
            report.level = report.level.max(level);
            if report.ongoing.len() < MAX_LISTED {
                report.incidents.push(incident.name.clone());
                report.ongoing.push(incident);
            }
        }
    }
}

/// The newest update that has text (the first listed wins between equal or unknown times).
fn latest_update(incident: &Map<String, Value>) -> Option<Update> {
    let updates =
        ["updates", "incident_updates"].iter().find_map(|k| incident.get(*k).and_then(Value::as_array))?;
    let mut best: Option<Update> = None;
    for u in updates.iter().filter_map(Value::as_object) {
        let Some(text) = update_text(u) else { continue };
        let at = first_text(u, &["published_at", "display_at", "created_at", "updated_at"]);
        let at_ms = at.and_then(rfc3339_ms);
        if best.as_ref().is_none_or(|b| at_ms > b.at_ms) {
            best = Some(Update { text, at: at.map(str::to_owned), at_ms });
        }
    }
    best
}

/// An update's text: `message_string`, or `message` (a string or incident.io's rich text), or `body`.
fn update_text(update: &Map<String, Value>) -> Option<String> {
    let raw = match first_text(update, &["message_string", "message", "body", "text"]) {
        Some(s) => s.to_owned(),
        None => {
            let mut out = String::new();
            rich_text(update.get("message")?, &mut out, 0);
            out
        }
    };
    let lines: Vec<&str> = raw.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    (!lines.is_empty()).then(|| clip(&lines.join("\n"), MAX_TEXT_CHARS))
}

/// Flattens a rich-text document (`{type, text, content: [...]}` nodes) to plain lines.
fn rich_text(node: &Value, out: &mut String, depth: usize) {
    if depth > MAX_RICH_DEPTH || out.len() > MAX_TEXT_CHARS * 4 {
        return;
    }
    match node {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => items.iter().for_each(|n| rich_text(n, out, depth + 1)),
        Value::Object(o) => {
            if let Some(t) = o.get("text").and_then(Value::as_str) {
                out.push_str(t);
            }
            if o.get("type").and_then(Value::as_str) == Some("hardBreak") {
                out.push('\n');
            }
            if let Some(content) = o.get("content") {
                rich_text(content, out, depth + 1);
                if !out.ends_with('\n') && o.get("type").and_then(Value::as_str) != Some("text") {
                    out.push('\n');
                }
            }
        }
        _ => {}
    }
}

fn read_feed(summary: &Map<String, Value>) -> StatusReport {
    let mut cat = Catalogue::default();
    for c in list(summary, "components").iter().filter_map(Value::as_object) {
        if let Some(id) = first_text(c, &["id", "component_id"]) {
            cat.name(id, text(c, "name"));
        }
    }
    let items = summary.get("structure").and_then(Value::as_object).map_or(&[][..], |s| list(s, "items"));
    for item in items.iter().filter_map(Value::as_object) {
        if let Some(group) = item.get("group").and_then(Value::as_object) {
            let group_name = text(group, "name").unwrap_or_default();
            for c in list(group, "components").iter().filter_map(Value::as_object) {
                if let Some(id) = first_text(c, &["component_id", "id"]) {
                    cat.name(id, text(c, "name"));
                    cat.member(id, group_name);
                }
            }
        } else {
            // A component outside any group, bare or wrapped.
            let c = item.get("component").and_then(Value::as_object).unwrap_or(item);
            if let Some(id) = first_text(c, &["component_id", "id"]) {
                cat.name(id, text(c, "name"));
            }
        }
    }
    let mut b = Builder::new(&cat, StatusSource::IncidentIo);
    for a in list(summary, "affected_components").iter().filter_map(affected) {
        if cat.is_chatgpt(a.id, a.name) == Some(true) {
            let status = a.status.unwrap_or("operational");
            if let Some(id) = a.id {
                b.statuses.insert(id.to_owned(), status.to_owned());
            }
            b.component(cat.display_name(a.id, a.name).unwrap_or_default(), status);
        }
    }
    for i in list(summary, "ongoing_incidents") {
        b.incident(i, false, None);
    }
    for m in list(summary, "in_progress_maintenances") {
        b.incident(m, true, None);
    }
    b.report
}

fn read_summary(summary: &Map<String, Value>) -> StatusReport {
    let components: Vec<&Map<String, Value>> =
        list(summary, "components").iter().filter_map(Value::as_object).collect();
    let is_group = |c: &Map<String, Value>| c.get("group").and_then(Value::as_bool) == Some(true);
    let mut cat = Catalogue::default();
    let mut group_names = HashMap::new();
    for c in &components {
        let Some(id) = text(c, "id") else { continue };
        if is_group(c) {
            let name = text(c, "name").unwrap_or_default();
            group_names.insert(id, name);
            for member in list(c, "components").iter().filter_map(Value::as_str) {
                cat.member(member, name);
            }
        } else {
            cat.name(id, text(c, "name"));
        }
    }
    for c in &components {
        let group = text(c, "group_id").and_then(|g| group_names.get(g));
        if let (Some(id), Some(group), false) = (text(c, "id"), group, is_group(c)) {
            cat.member(id, group);
        }
    }
    let mut b = Builder::new(&cat, StatusSource::Statuspage);
    for c in components.iter().filter(|c| !is_group(c)) {
        let (id, name) = (text(c, "id"), text(c, "name"));
        if cat.is_chatgpt(id, name) == Some(true) {
            let status = text(c, "status").unwrap_or("operational");
            if let Some(id) = id {
                b.statuses.insert(id.to_owned(), status.to_owned());
            }
            b.component(cat.display_name(id, name).unwrap_or_default(), status);
        }
    }
    for i in list(summary, "incidents") {
        let impact = i.as_object().and_then(|o| text(o, "impact")).unwrap_or_default();
        b.incident(i, false, Some(incident_level(impact)));
    }
    let in_progress = |m: &&Value| {
        m.get("status").and_then(Value::as_str).is_some_and(|s| matches!(s, "in_progress" | "verifying"))
    };
    for m in list(summary, "scheduled_maintenances").iter().filter(in_progress) {
        b.incident(m, true, None);
    }
    b.report
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        let check = |text: &str, expect: Option<u64>| assert_eq!(rfc3339_ms(text), expect, "{text}");
        check("1970-01-01T00:00:00Z", Some(0));
        check("2026-02-03T14:05:12Z", Some(1_770_127_512_000));
        check("2026-02-03T14:05:12.345Z", Some(1_770_127_512_345));
        check("2026-02-03T14:05:12.3456789Z", Some(1_770_127_512_345));
        check("2026-02-03t14:05:12.3z", Some(1_770_127_512_300));
        check("2026-02-03 09:05:12-05:00", Some(1_770_127_512_000));
        check("2026-02-03T19:35:12.000+05:30", Some(1_770_127_512_000));
        check("2024-02-29T00:00:00Z", Some(1_709_164_800_000));
        check(" 2026-02-03T14:05:12Z ", Some(1_770_127_512_000));
        for bad in [
            "",
            "2026-02-03",
            "2026-02-03T14:05:12",
            "2026-02-03T14:05:12+0500",
            "2026-02-03T14:05:12.Z",
            "2026-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-03T24:00:00Z",
            "2026-02-03T14:05:12Zjunk",
            "1969-12-31T23:59:59Z",
            "２０２６-02-03T14:05:12Z",
            "Tue, 03 Feb 2026 14:05:12 GMT",
        ] {
            check(bad, None);
        }
    }

    #[test]
    fn names_tell_services_apart() {
        for (name, chatgpt) in [
            ("Elevated errors in ChatGPT", true),
            ("Elevated error rates", true),
            ("Increased latency for Chat Completions and Responses", false),
            ("Codex tasks failing", false),
            ("Sora video generation delayed", false),
            ("Elevated errors on the API and ChatGPT", true),
            ("Batch API jobs delayed", false),
            ("Slow responses for some users", true),
            ("Rapid increase in errors", true),
        ] {
            assert_eq!(incident_named_chatgpt(name), chatgpt, "{name}");
        }
        assert!(component_named_chatgpt("Conversations"));
        assert!(component_named_chatgpt("ChatGPT"));
        assert!(!component_named_chatgpt("Chat Completions"));
        assert!(!component_named_chatgpt("API"));
    }

    #[test]
    fn long_texts_are_clipped_on_a_character() {
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("ab", 2), "ab");
    }

    #[test]
    fn polling_backs_off_on_errors_and_is_capped() {
        assert_eq!(next_poll_delay_ms(0), 120_000);
        assert_eq!(next_poll_delay_ms(1), 240_000);
        assert_eq!(next_poll_delay_ms(3), 960_000);
        assert_eq!(next_poll_delay_ms(40), MAX_POLL_INTERVAL_MS);
    }
}
