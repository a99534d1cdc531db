//! The status page read through `parse_status`: incident.io's native feed and the Statuspage summary
//! (the fallback), from documents written by hand after the reference's field list
//! (`tests/fixtures/status/`) and inline. Only ChatGPT's components and incidents count.

use std::path::Path;

use serde_json::{Value, json};
use understudy::status::{StatusError, StatusSource, parse_feed, parse_status, parse_summary};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/status").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads `input` with `parse_status` and compares each key of `expect` with the same key of the
/// report (keys left out are not checked). A refused document reads as `{"error": "not_json"}` or
/// `{"error": "unknown_shape"}`.
fn check(input: &str, expect: Value) {
    let actual = match parse_status(input) {
        Ok(report) => serde_json::to_value(report).unwrap(),
        Err(StatusError::NotJson(_)) => json!({"error": "not_json"}),
        Err(StatusError::UnknownShape) => json!({"error": "unknown_shape"}),
        Err(StatusError::NotAFeed) => json!({"error": "not_a_feed"}),
    };
    let shown: String = input.chars().take(80).collect();
    for (key, want) in expect.as_object().unwrap() {
        assert_eq!(actual.get(key), Some(want), "`{key}` of the report on {shown}");
    }
}

#[test]
fn a_chatgpt_incident_in_the_feed() {
    check(
        &fixture("feed-chatgpt-incident.json"),
        json!({
            "source": "incident.io",
            "level": "partial_outage",
            "affected_components": [["Conversations", "partial_outage"], ["Login", "degraded_performance"]],
            "incidents": ["Elevated error rates for ChatGPT conversations"],
            "ongoing": [{
                "id": "01JMYINC0CHATGPT0000000000",
                "name": "Elevated error rates for ChatGPT conversations",
                "status": "identified",
                "level": "partial_outage",
                "began": "2026-02-04T09:12:00.123Z",
                "began_ms": 1_770_196_320_123u64,
                "latest_update": {
                    "text": "We have identified the cause and are rolling out a fix.\n\
                             Login may be slow meanwhile.",
                    "at": "2026-02-04T09:40:00Z",
                    "at_ms": 1_770_198_000_000u64,
                },
                "components": ["Conversations", "Login"],
            }],
            "maintenances": [],
            "other_services": [],
        }),
    );
}

#[test]
fn incidents_of_the_api_codex_or_sora_alone_leave_chatgpt_operational() {
    check(
        &fixture("feed-api-incident.json"),
        json!({
            "level": "operational",
            "affected_components": [],
            "incidents": [],
            "ongoing": [],
            "other_services": [{
                "name": "Increased error rates for Chat Completions and Responses",
                "services": ["API"],
            }],
        }),
    );
    check(
        &fixture("feed-codex-incident.json"),
        json!({
            "level": "operational",
            "affected_components": [],
            "ongoing": [],
            "other_services": [{"name": "Codex tasks failing to start", "services": ["Codex"]}],
        }),
    );
    // A bare component outside every group, and Sora, with no incident: not ChatGPT's either.
    let sora = fixture("feed-empty.json").replace(
        r#""affected_components": []"#,
        r#""affected_components": [{"component_id": "01JMXBRMFEBS4R6A8C0E2SOR00", "status": "full_outage"},
            {"component_id": "01JMXBRMFECL5A7B9D1F3LAB00", "status": "partial_outage"}]"#,
    );
    check(&sora, json!({"level": "operational", "affected_components": []}));
}

#[test]
fn an_incident_of_chatgpt_and_the_api_counts_only_chatgpts_components() {
    check(
        &fixture("feed-mixed-incident.json"),
        json!({
            "level": "degraded",
            "affected_components": [["Conversations", "degraded_performance"]],
            "ongoing": [{
                "id": "01JMYINC0MIXED00000000000",
                "name": "Degraded performance across services",
                "status": "monitoring",
                "level": "degraded",
                "began": "2026-02-03T14:05:12Z",
                "began_ms": 1_770_127_512_000u64,
                // The newest update with text and a readable time; a blank one is passed over.
                "latest_update": {
                    "text": "We are investigating.",
                    "at": "2026-02-03T14:05:12Z",
                    "at_ms": 1_770_127_512_000u64,
                },
                "components": ["Conversations"],
            }],
            "other_services": [],
        }),
    );
}

#[test]
fn maintenance_in_progress_is_listed_without_raising_an_outage() {
    check(
        &fixture("feed-maintenance.json"),
        json!({
            "level": "operational",
            "affected_components": [],
            "incidents": [],
            "maintenances": [{
                "id": "01JMYMNT0LOGIN00000000000",
                "name": "Scheduled maintenance of ChatGPT sign-in",
                "status": "maintenance_in_progress",
                "level": "degraded",
                "began": "2026-02-04T08:00:00Z",
                "began_ms": 1_770_192_000_000u64,
                "latest_update": {
                    "text": "Maintenance has started. Signing in may take longer.",
                    "at": "2026-02-04T08:00:00Z",
                    "at_ms": 1_770_192_000_000u64,
                },
                "components": ["Login"],
            }],
            "other_services": [],
        }),
    );
}

#[test]
fn an_empty_feed_is_operational() {
    let operational = json!({
        "source": "incident.io",
        "level": "operational",
        "affected_components": [],
        "incidents": [],
        "ongoing": [],
        "maintenances": [],
        "other_services": [],
    });
    check(&fixture("feed-empty.json"), operational.clone());
    check(r#"{"summary":{}}"#, operational.clone());
    // Without the `summary` wrapper.
    check(r#"{"structure":{"items":[]},"ongoing_incidents":[]}"#, operational);
}

#[test]
fn unreadable_documents_are_errors_not_outages() {
    for input in ["<html>502 Bad Gateway</html>", "", "{", "{\"summary\":{", "\u{feff}"] {
        check(input, json!({"error": "not_json"}));
    }
    for input in ["{}", "[]", "null", "\"ok\"", "42", r#"{"summary":3}"#, r#"{"data":{"components":[]}}"#] {
        check(input, json!({"error": "unknown_shape"}));
    }
    assert!(parse_status("<html>").unwrap_err().to_string().contains("status page"));
}

#[test]
fn unknown_fields_and_unexpected_types_are_passed_over() {
    let feed = r#"{"summary":{
        "components":"not a list",
        "structure":{"items":[
            {"unknown":{"x":1}}, 7,
            {"group":{"name":"ChatGPT",
                "components":[{"component_id":"c1","name":"Conversations"},{"name":"no id"},7]}},
            {"group":{"name":"API","components":[{"component_id":"a1","name":"Responses"}]}},
            {"component":{"component_id":"b1","name":"ChatGPT"}},
            {"component_id":"b2","name":"Labs"}
        ]},
        "affected_components":[{"component_id":"c1","status":"full_outage"},{"status":"partial_outage"},3,
            {"component_id":"b1","status":"degraded_performance"},
            {"component_id":"b2","status":"full_outage"},
            {"component_id":"zz","status":"full_outage"}],
        "ongoing_incidents":[
            {"name":5,"status":"investigating","affected_components":[{"component_id":"c1"}],
                "updates":"x","extra":{"deep":[1]}},
            {"name":"Responses slow","status":"investigating","affected_components":[{"component_id":"a1"}],
                "updates":[{"message_string":""},{"message":{"type":"doc","content":"x"}}]},
            {"name":"Resolved already","status":"resolved","affected_components":[{"component_id":"c1"}]},
            4
        ],
        "in_progress_maintenances":{"not":"a list"},
        "new_field_of_2027":[{"anything":true}]
    }}"#;
    check(
        feed,
        json!({
            "level": "major_outage",
            "affected_components": [["Conversations", "full_outage"], ["ChatGPT", "degraded_performance"]],
            "ongoing": [{
                "id": "", "name": "Untitled incident", "status": "investigating", "level": "major_outage",
                "began": null, "began_ms": null, "latest_update": null, "components": ["Conversations"],
            }],
            "other_services": [{"name": "Responses slow", "services": ["API"]}],
        }),
    );
}

#[test]
fn the_statuspage_fallback() {
    check(
        &fixture("statuspage-summary.json"),
        json!({
            "source": "statuspage",
            "level": "major_outage",
            // The group's members count; the API's and Codex's components do not.
            "affected_components": [
                ["Conversations", "major_outage"],
                ["Voice mode", "degraded_performance"],
            ],
            // Incidents without components: judged by name. One that names no service is reported.
            "incidents": ["Elevated errors in ChatGPT", "Degraded performance for some users"],
            "ongoing": [
                {
                    "id": "inc1", "name": "Elevated errors in ChatGPT",
                    "status": "investigating", "level": "major_outage",
                    "began": "2026-02-04T09:12:00.123Z", "began_ms": 1_770_196_320_123u64,
                    // The shim's update bodies are empty: no update to show.
                    "latest_update": null, "components": [],
                },
                {
                    "id": "inc4", "name": "Degraded performance for some users",
                    "status": "monitoring", "level": "degraded",
                    "began": "2026-02-04T08:00:00Z", "began_ms": 1_770_192_000_000u64,
                    "latest_update": {
                        "text": "A fix is in place; we are watching.",
                        "at": "2026-02-04T09:40:00Z",
                        "at_ms": 1_770_198_000_000u64,
                    },
                    "components": [],
                },
            ],
            "maintenances": [{
                "id": "m1", "name": "ChatGPT database maintenance",
                "status": "in_progress", "level": "major_outage",
                "began": "2026-02-04T08:00:00.000Z", "began_ms": 1_770_192_000_000u64,
                "latest_update": null, "components": ["Conversations"],
            }],
            "other_services": [
                {"name": "Increased latency for Chat Completions and Responses", "services": []},
                {"name": "Codex tasks failing", "services": []},
            ],
        }),
    );
}

#[test]
fn statuspage_components_without_groups_are_matched_by_name() {
    check(
        r#"{"components":[{"name":"Conversations","status":"major_outage"}],"incidents":[]}"#,
        json!({"level": "major_outage", "affected_components": [["Conversations", "major_outage"]]}),
    );
    check(
        r#"{"status":{"indicator":"none"},"incidents":[],"components":[
            {"id":"a","name":"ChatGPT","status":"operational"},
            {"id":"b","name":"API","status":"major_outage"}]}"#,
        json!({"source": "statuspage", "level": "operational", "affected_components": [], "incidents": []}),
    );
    check(
        r#"{"incidents":[],"components":[
            {"id":"x1","name":"Conversations","status":"partial_outage"},
            {"id":"x2","name":"Login","status":"degraded_performance"},
            {"id":"x3","name":"Sora","status":"major_outage"},
            {"id":"x4","name":"Chat Completions","status":"major_outage"}]}"#,
        json!({
            "level": "partial_outage",
            "affected_components": [["Conversations", "partial_outage"], ["Login", "degraded_performance"]],
        }),
    );
    check(
        r#"{"components":[],"incidents":[
            {"name":"Elevated errors in ChatGPT","status":"investigating","impact":"critical"},
            {"name":"ChatGPT login issue","status":"resolved","impact":"major"}]}"#,
        json!({"level": "major_outage", "incidents": ["Elevated errors in ChatGPT"]}),
    );
}

#[test]
fn each_reader_takes_only_its_own_shape() {
    let feed = fixture("feed-chatgpt-incident.json");
    let summary = fixture("statuspage-summary.json");
    assert_eq!(parse_feed(&feed).unwrap().source, StatusSource::IncidentIo);
    assert_eq!(parse_summary(&summary).unwrap().source, StatusSource::Statuspage);
    assert_eq!(parse_feed(&summary), Err(StatusError::UnknownShape));
    assert_eq!(parse_summary(&feed), Err(StatusError::UnknownShape));
}
