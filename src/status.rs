//! The public status page of the lead site (a Statuspage-compatible API such as status.openai.com).
//!
//! Components and incidents are matched by name, never by fixed id: ids change and the single
//! "ChatGPT" component was split into several (Conversations, Login, ...). The status page lags the
//! first user-visible failures by minutes, so it only raises confidence; a page signal alone is enough
//! to act.

use serde::{Deserialize, Serialize};

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
    /// A major outage.
    MajorOutage,
}

/// What the status page says about the watched service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The worst level among matched components and unresolved incidents.
    pub level: ServiceLevel,
    /// Matched components that are not operational, as `(name, status)`.
    pub affected_components: Vec<(String, String)>,
    /// Titles of unresolved incidents that concern the service.
    pub incidents: Vec<String>,
}

/// Why a status document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError(pub String);

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable status page: {}", self.0)
    }
}

impl std::error::Error for StatusError {}

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    components: Vec<Component>,
    #[serde(default)]
    incidents: Vec<Incident>,
}

#[derive(Deserialize)]
struct Component {
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    group: bool,
}

#[derive(Deserialize)]
struct Incident {
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    impact: String,
}

/// Words that mark a component or incident as concerning the chat service.
const SERVICE_WORDS: &[&str] =
    &["chatgpt", "conversation", "chat completions", "login", "chat history", "voice mode"];

fn concerns_service(name: &str) -> bool {
    let lower = name.to_lowercase();
    SERVICE_WORDS.iter().any(|w| lower.contains(w))
}

fn component_level(status: &str) -> ServiceLevel {
    match status {
        "major_outage" => ServiceLevel::MajorOutage,
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

/// Reads `/api/v2/summary.json` (or `components.json`, which has the same `components` list).
pub fn parse_summary(json: &str) -> Result<StatusReport, StatusError> {
    let summary: Summary = serde_json::from_str(json).map_err(|e| StatusError(e.to_string()))?;
    let mut level = ServiceLevel::Operational;
    let mut affected_components = Vec::new();
    for c in summary.components.iter().filter(|c| !c.group && concerns_service(&c.name)) {
        let l = component_level(&c.status);
        if l > ServiceLevel::Operational {
            affected_components.push((c.name.clone(), c.status.clone()));
        }
        level = level.max(l);
    }
    let mut incidents = Vec::new();
    for i in &summary.incidents {
        let open = !matches!(i.status.as_str(), "resolved" | "postmortem" | "completed");
        if open && concerns_service(&i.name) {
            incidents.push(i.name.clone());
            level = level.max(incident_level(&i.impact));
        }
    }
    Ok(StatusReport { level, affected_components, incidents })
}

/// Base interval between polls while a chat tab is open.
pub const POLL_INTERVAL_MS: u64 = 120_000;
/// The longest wait between polls after repeated errors.
pub const MAX_POLL_INTERVAL_MS: u64 = 30 * 60_000;

/// How long to wait before the next poll, given how many polls in a row have failed.
pub fn next_poll_delay_ms(consecutive_errors: u32) -> u64 {
    POLL_INTERVAL_MS.saturating_mul(1u64 << consecutive_errors.min(5)).min(MAX_POLL_INTERVAL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, level: ServiceLevel, components: &[&str], incidents: &[&str]) {
        let report = parse_summary(json).unwrap();
        assert_eq!(report.level, level, "{json}");
        let names: Vec<&str> = report.affected_components.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, components);
        assert_eq!(report.incidents, incidents);
    }

    #[test]
    fn components_and_incidents_are_matched_by_name() {
        check(
            r#"{"status":{"indicator":"none"},"components":[{"id":"a","name":"ChatGPT","status":"operational"},{"id":"b","name":"API","status":"major_outage"}],"incidents":[]}"#,
            ServiceLevel::Operational,
            &[],
            &[],
        );
        check(
            r#"{"components":[{"id":"x1","name":"Conversations","status":"partial_outage"},{"id":"x2","name":"Login","status":"degraded_performance"},{"id":"x3","name":"Sora","status":"major_outage"}],"incidents":[]}"#,
            ServiceLevel::PartialOutage,
            &["Conversations", "Login"],
            &[],
        );
        check(
            r#"{"components":[],"incidents":[{"name":"Elevated errors in ChatGPT","status":"investigating","impact":"critical"},{"name":"ChatGPT login issue","status":"resolved","impact":"major"}]}"#,
            ServiceLevel::MajorOutage,
            &[],
            &["Elevated errors in ChatGPT"],
        );
    }

    #[test]
    fn unreadable_documents_are_errors_not_outages() {
        assert!(parse_summary("<html>502</html>").is_err());
        assert!(parse_summary("").is_err());
        check("{}", ServiceLevel::Operational, &[], &[]);
    }

    #[test]
    fn polling_backs_off_on_errors_and_is_capped() {
        assert_eq!(next_poll_delay_ms(0), 120_000);
        assert_eq!(next_poll_delay_ms(1), 240_000);
        assert_eq!(next_poll_delay_ms(3), 960_000);
        assert_eq!(next_poll_delay_ms(40), MAX_POLL_INTERVAL_MS);
    }
}
