//! Every saved page in `tests/fixtures/pages/` judged through the library and through the
//! `understudy classify` binary, against `expected.json`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use understudy::detect::{Kind, Observation, Rules, classify, extract_html};
use understudy::site::Site;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages")
}

struct Manifest {
    now_ms: u64,
    tz: i32,
    pages: Vec<(String, String, Option<u64>)>,
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let pages = v["pages"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, e)| (name.clone(), e["kind"].as_str().unwrap().to_owned(), e["retry_after_s"].as_u64()))
        .collect();
    Manifest { now_ms: v["now_ms"].as_u64().unwrap(), tz: v["tz_offset_min"].as_i64().unwrap() as i32, pages }
}

fn judge(html: &str, m: &Manifest) -> (Kind, Option<u64>, String) {
    let rules = Rules::builtin(Site::Chatgpt);
    let mut dom = extract_html(html, rules);
    dom.tz_offset_min = m.tz;
    let d = classify(&Observation::Dom(dom), rules, m.now_ms);
    (d.kind, d.retry_after_s, d.evidence.to_string())
}

#[test]
fn every_page_in_the_directory_has_an_expectation_and_is_a_complete_document() {
    let m = manifest();
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".html"))
        .collect();
    names.sort();
    let mut listed: Vec<String> = m.pages.iter().map(|p| p.0.clone()).collect();
    listed.sort();
    assert_eq!(names, listed);
    for n in &names {
        let html = std::fs::read_to_string(dir().join(n)).unwrap();
        assert!(
            html.contains("<html") && html.trim_end().ends_with("</html>"),
            "{n} is not a complete document"
        );
        for external in ["src=\"http", "href=\"//", "<link rel=\"stylesheet\"", "<script src"] {
            assert!(!html.contains(external), "{n} loads an external resource ({external})");
        }
    }
    // Every kind is covered, with traps among the healthy pages.
    for kind in Kind::ALL {
        assert!(m.pages.iter().any(|p| p.1 == kind.as_str()), "no page for {kind}");
    }
}

#[test]
fn the_library_judges_every_page_as_expected() {
    let m = manifest();
    let mut failures = Vec::new();
    for (name, kind, retry) in &m.pages {
        let html = std::fs::read_to_string(dir().join(name)).unwrap();
        let (got, got_retry, evidence) = judge(&html, &m);
        if got.as_str() != kind || got_retry != *retry {
            failures.push(format!("{name}: expected {kind} {retry:?}, got {got} {got_retry:?} ({evidence})"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn run_cli(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_understudy"));
    cmd.arg("classify").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_prints_one_json_line_per_page_as_expected() {
    let m = manifest();
    let now = m.now_ms.to_string();
    let tz = m.tz.to_string();
    let mut failures = Vec::new();
    for (name, kind, retry) in &m.pages {
        let path = dir().join(name);
        let (code, out, err) = run_cli(&[path.to_str().unwrap(), "--now", &now, "--tz-offset", &tz], None);
        assert_eq!(code, 0, "{name}: {err}");
        assert_eq!(out.lines().count(), 1, "{name}: {out}");
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "{name}: {out}");
        assert!(v["evidence"].is_string(), "{name}: {out}");
        if v["kind"] != kind.as_str() || v["retry_after_s"].as_u64() != *retry {
            failures.push(format!("{name}: expected {kind} {retry:?}, got {out}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_cli_reads_stdin() {
    let html = std::fs::read(dir().join("rate-limited-too-many-requests-1-hour.html")).unwrap();
    let (code, out, _) = run_cli(&["-"], Some(&html));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["kind"], "rate_limited");
    assert_eq!(v["retry_after_s"], 3600);
}

#[test]
fn the_cli_survives_garbage_deep_and_empty_input() {
    let garbage: Vec<u8> = (0..2_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let deep =
        ("<div>".repeat(100_000) + "<div class=\"text-token-text-error\">Network error</div>").into_bytes();
    let strays = "<<<&&&</>".repeat(200_000).into_bytes();
    for (input, kind) in [
        (garbage, None),
        (deep, Some("network_error")),
        (strays, Some("healthy")),
        (Vec::new(), Some("healthy")),
    ] {
        let (code, out, err) = run_cli(&["-"], Some(&input));
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        if let Some(kind) = kind {
            assert_eq!(v["kind"], kind, "{out}");
        }
    }
}

#[test]
fn the_cli_fails_only_when_it_cannot_read() {
    let check = |args: &[&str], expect: i32| {
        let (code, out, err) = run_cli(args, None);
        assert_eq!(code, expect, "{args:?}: {out} {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(!err.is_empty(), "{args:?} explained nothing");
    };
    check(&["/nonexistent/page.html"], 1);
    check(&[dir().to_str().unwrap()], 1);
    check(&[], 2);
    check(&["a.html", "b.html"], 2);
    check(&["a.html", "--now", "soon"], 2);
    check(&["a.html", "--site", "nowhere"], 2);
}
