//! The other chat sites' status feeds: an ongoing incident gives the site's state, resolved ones,
//! postmortems, scheduled maintenance and other products are passed over; the format is the one
//! the site's adapter names.

use serde_json::{Value, json};
use understudy::detect::Rules;
use understudy::site::Site;
use understudy::status::{StatusError, StatusReport};
use understudy::status_feeds::{parse_feed_xml, parse_google_incidents, parse_site_status, rfc822_ms};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/status/sites/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn summary(r: &StatusReport) -> Value {
    json!({
        "source": r.source,
        "level": r.level,
        "ongoing": r.ongoing.iter().map(|i| json!([
            i.name, i.status, i.level, i.began_ms,
            i.latest_update.as_ref().map(|u| json!([u.text, u.at_ms])),
        ])).collect::<Vec<_>>(),
        "maintenances": r.maintenances.iter().map(|i| i.name.clone()).collect::<Vec<_>>(),
        "incidents": r.incidents,
    })
}

/// Reads `name` as `site`'s adapter says its feed is written.
fn check(site: Site, name: &str, expect: Value) {
    let feed = Rules::builtin(site).status.clone().expect("the site has a feed");
    let report = parse_site_status(&feed, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(summary(&report), expect, "{name}");
}

#[test]
fn an_open_incident_in_an_atom_history_is_the_sites_state() {
    let expect = json!({
        "source": "atom",
        "level": "degraded",
        "ongoing": [[
            "Elevated errors on Claude Opus 4.5", "identified", "degraded", 1_795_169_100_000u64,
            ["The issue has been identified and a fix is being implemented.", 1_795_171_500_000u64],
        ]],
        "maintenances": ["Scheduled database maintenance"],
        "incidents": ["Elevated errors on Claude Opus 4.5"],
    });
    // Claude, Perplexity and DeepSeek all publish Statuspage's Atom history.
    for site in [Site::Claude, Site::Perplexity, Site::Deepseek] {
        check(site, "claude-history.atom", expect.clone());
    }
}

#[test]
fn an_open_incident_in_an_rss_feed_is_the_sites_state() {
    check(
        Site::Grok,
        "xai-feed.xml",
        json!({
            "source": "rss",
            "level": "degraded",
            "ongoing": [[
                "Grok responses failing for some users", "monitoring", "degraded", 1_795_167_600_000u64,
                ["A fix has been deployed & we are monitoring.", 1_795_167_600_000u64],
            ]],
            "maintenances": [],
            "incidents": ["Grok responses failing for some users"],
        }),
    );
}

#[test]
fn googles_incidents_are_filtered_to_gemini() {
    check(
        Site::Gemini,
        "google-incidents.json",
        json!({
            "source": "google",
            "level": "major_outage",
            "ongoing": [[
                "Users are unable to get responses from Gemini", "service_outage", "major_outage", 1_795_167_000_000u64,
                ["We are investigating reports of an issue with Gemini.", 1_795_170_000_000u64],
            ]],
            "maintenances": [],
            "incidents": ["Users are unable to get responses from Gemini"],
        }),
    );
    // Another product's feed: nothing of Gemini's is ongoing.
    let r = parse_google_incidents(&fixture("google-incidents.json"), "Google Meet").unwrap();
    assert_eq!(summary(&r)["level"], "operational");
    let r = parse_google_incidents(&fixture("google-incidents.json"), "Gmail").unwrap();
    assert_eq!(summary(&r)["incidents"], json!(["Gmail delays"]));
}

#[test]
fn everything_resolved_is_operational() {
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>Outage</title>
        <content type="html">&lt;p&gt;&lt;strong&gt;Resolved&lt;/strong&gt; - Done.&lt;/p&gt;&lt;p&gt;&lt;strong&gt;Investigating&lt;/strong&gt; - Down.&lt;/p&gt;</content></entry></feed>"#;
    let r = parse_feed_xml(atom).unwrap();
    assert_eq!(
        summary(&r),
        json!({"source": "atom", "level": "operational", "ongoing": [], "maintenances": [], "incidents": []})
    );
    let r = parse_feed_xml("<rss><channel><title>x</title></channel></rss>").unwrap();
    assert_eq!(summary(&r)["level"], "operational");
    // An open outage by name is a partial outage.
    let open = atom.replace("Resolved", "Monitoring");
    assert_eq!(summary(&parse_feed_xml(&open).unwrap())["level"], "partial_outage");
}

#[test]
fn other_documents_are_errors() {
    assert_eq!(parse_feed_xml("<html><body>Bad gateway</body></html>"), Err(StatusError::NotAFeed));
    assert_eq!(parse_feed_xml(""), Err(StatusError::NotAFeed));
    assert!(matches!(parse_google_incidents("<html>", "Gemini"), Err(StatusError::NotJson(_))));
    assert_eq!(parse_google_incidents("{\"a\":1}", "Gemini"), Err(StatusError::UnknownShape));
    // Copilot has no public feed; Le Chat's format is not known: page signals stand alone.
    assert!(Rules::builtin(Site::Copilot).status.is_none());
}

#[test]
fn rss_dates() {
    let check = |text: &str, expect: Option<u64>| assert_eq!(rfc822_ms(text), expect, "{text}");
    check("Thu, 20 Nov 2026 09:40:00 +0000", Some(1_795_167_600_000));
    check("Thu, 20 Nov 2026 10:40:00 +0100", Some(1_795_167_600_000));
    check("20 Nov 2026 09:40:00 GMT", Some(1_795_167_600_000));
    check("Thu, 20 Nov 2026 09:40 GMT", Some(1_795_167_600_000));
    check("Thu, 32 Nov 2026 09:40:00 GMT", None);
    check("yesterday", None);
}
