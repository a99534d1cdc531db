//! Markdown, JSON and HTML output, and the `understudy convert` command.

use std::path::{Path, PathBuf};
use std::process::Command;

use understudy::conversation::model::Conversation;
use understudy::conversation::render::{Format, render, to_html, to_html_many, to_markdown};

const FIXTURE: &str = include_str!("fixtures/export/conversations.json");
const FIXTURE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/export/conversations.json");

fn conv(suffix: &str) -> Conversation {
    let all: Vec<Conversation> = serde_json::from_str(FIXTURE).expect("fixture");
    all.into_iter().find(|c| c.id.ends_with(suffix)).expect("conversation")
}

/// Asserts that `out` contains every `want` in order and none of `never`.
fn check(out: &str, want: &[&str], never: &[&str]) {
    let mut at = 0;
    for w in want {
        match out[at..].find(w) {
            Some(p) => at += p + w.len(),
            None => panic!("missing (in order) {w:?} in:\n{out}"),
        }
    }
    for n in never {
        assert!(!out.contains(n), "unexpected {n:?} in:\n{out}");
    }
}

#[test]
fn markdown_output() {
    check(
        &to_markdown(&conv("0001")),
        &[
            "# Rust lifetimes explained",
            "## User",
            "What does 'a mean",
            "## ChatGPT",
            "```rust\nfn longest",
            "## User",
            "structs holding references",
            "## ChatGPT",
            "struct Parser<'a>",
        ],
        &["Abandoned", "regenerated away", "I am a Rust developer", "## System"],
    );
    check(
        &to_markdown(&conv("0002")),
        &[
            "## User",
            "[image]",
            "plot the trend?",
            "## Tool (python)",
            "```\n       month  sales",
            "## ChatGPT",
            "```python",
        ],
        &["import pandas as pd", "[attachment]"],
    );
    check(
        &to_markdown(&conv("0003")),
        &[
            "# Façade pattern in Straße names",
            "> Choosing an analogy",
            "_Thought for 4 seconds_",
            "like the front of a house",
        ],
        &[],
    );
    check(&to_markdown(&conv("0005")), &["Lisbon today?", "sunny in Lisbon"], &["search_query", "## Tool"]);
}

#[test]
fn markdown_code_fences_outlast_backticks_in_code() {
    let doc = r#"[{"id":"f","current_node":"m","mapping":{"m":{"id":"m","parent":null,"children":[],
        "message":{"id":"m","author":{"role":"assistant"},"content":{"content_type":"code","language":"markdown",
        "text":"use ``` fences"}}}}}]"#;
    let c: Vec<Conversation> = serde_json::from_str(doc).expect("json");
    check(&to_markdown(&c[0]), &["# Untitled", "````markdown\nuse ``` fences\n````"], &[]);
}

#[test]
fn multimodal_parts() {
    let doc = r#"[{"id":"v","current_node":"m","mapping":{"m":{"id":"m","parent":null,"children":[],
        "message":{"id":"m","author":{"role":"user"},"content":{"content_type":"multimodal_text","parts":[
          {"content_type":"audio_transcription","text":"spoken words","direction":"in"},
          {"content_type":"audio_asset_pointer","asset_pointer":"sediment://file_1"},
          {"content_type":"image_asset_pointer","asset_pointer":"file-service://file-2","width":10,"height":10},
          "typed <b>words</b>"]}}}}}]"#;
    let c: Vec<Conversation> = serde_json::from_str(doc).expect("json");
    check(
        &to_markdown(&c[0]),
        &["## User", "spoken words", "[attachment]", "[image]", "typed <b>words</b>"],
        &[],
    );
    check(
        &to_html(&c[0]),
        &["spoken words", "[attachment]", "[image]", "typed &lt;b&gt;words&lt;/b&gt;"],
        &["<b>", "file-service"],
    );
}

#[test]
fn html_escapes_everything() {
    let html = to_html(&conv("0004"));
    check(
        &html,
        &[
            "<!DOCTYPE html>",
            "Content-Security-Policy",
            "<title>&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;</title>",
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
            "&lt;script&gt;alert(2)&lt;/script&gt; &amp; friends",
            "&lt;/div&gt;&lt;/section&gt;&lt;script&gt;alert(3)",
            "</html>",
        ],
        &["<script", "<img", "onerror=alert(1)>", "</div></section><script"],
    );
    // Every fixture conversation: no script element, no event handler markup, balanced sections.
    let all: Vec<Conversation> = serde_json::from_str(FIXTURE).expect("fixture");
    for c in &all {
        let h = to_html(c);
        assert!(!h.to_lowercase().contains("<script"), "{}", c.id);
        assert_eq!(h.matches("<section").count(), h.matches("</section>").count());
    }
    check(&to_html(&conv("0002")), &["[image]", "<pre><code>"], &["import pandas"]);
}

#[test]
fn several_conversations_are_one_html_document() {
    let (a, b) = (conv("0001"), conv("0002"));
    let out = to_html_many(&[a.clone(), b.clone()]);
    assert_eq!(out.matches("<!DOCTYPE html>").count(), 1, "one document");
    assert_eq!(out.matches("Content-Security-Policy").count(), 1, "one policy, in the head");
    assert_eq!(out.matches("<body>").count(), 1);
    check(
        &out,
        &[
            "<title>Conversations (2)</title>",
            "<article>",
            "<h1>",
            "</article>",
            "<article>",
            "</article>",
            "</body>",
        ],
        &[],
    );
    // One conversation reads as before: no article, its own title.
    let one = to_html_many(std::slice::from_ref(&a));
    assert_eq!(one, to_html(&a));
    assert!(!one.contains("<article>"));
}

#[test]
fn formats_parse() {
    for (s, f) in [
        ("markdown", Some(Format::Markdown)),
        ("md", Some(Format::Markdown)),
        ("JSON", Some(Format::Json)),
        ("html", Some(Format::Html)),
        ("pdf", None),
    ] {
        assert_eq!(Format::parse(s), f, "{s}");
    }
    let json = render(&conv("0001"), Format::Json);
    assert!(json.starts_with('['));
}

// ---- the command line ------------------------------------------------------------------------

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("understudy-convert-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp");
    d
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_understudy")).arg("convert").args(args).output().expect("run");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn cli_converts_each_format() {
    for (fmt, ext) in [("markdown", "md"), ("json", "json"), ("html", "html")] {
        let dir = tmp(fmt);
        let out = dir.join("out");
        let (code, err) = run(&[FIXTURE_PATH, "--to", fmt, "--out", out.to_str().expect("utf8")]);
        assert_eq!(code, 0, "{err}");
        let files = listing(&out);
        assert_eq!(files.len(), 5, "{files:?}");
        assert!(files.iter().all(|f| f.ends_with(&format!(".{ext}"))));
        assert!(files.contains(&format!("6740a1b2-0001-8000-a000-000000000001.{ext}")));
        let first = std::fs::read_to_string(out.join(&files[0])).expect("read");
        assert!(first.contains("Rust lifetimes explained"));
        if fmt == "json" {
            // Each file is itself an importable export.
            let back: Vec<Conversation> = serde_json::from_str(&first).expect("json");
            assert_eq!(back, vec![conv("0001")]);
        }
    }
}

#[test]
fn cli_reports_bad_input() {
    let dir = tmp("bad");
    let out = dir.join("o");
    let o = out.to_str().expect("utf8");
    let cases: &[(&[&str], i32, &str)] = &[
        (&[], 2, "missing input"),
        (&[FIXTURE_PATH, "--out", o], 2, "missing --to"),
        (&[FIXTURE_PATH, "--to", "pdf", "--out", o], 2, "unknown format"),
        (&[FIXTURE_PATH, "--to", "md"], 2, "missing --out"),
        (&[FIXTURE_PATH, "--to", "md", "--out", o, "--bogus"], 2, "unknown option"),
        (&["/nonexistent/conversations.json", "--to", "md", "--out", o], 1, "cannot read"),
    ];
    for (args, code, msg) in cases {
        let (c, err) = run(args);
        assert_eq!(c, *code, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    let not_export = dir.join("page.html");
    std::fs::write(&not_export, "<html></html>").expect("write");
    let (c, err) = run(&[not_export.to_str().expect("utf8"), "--to", "md", "--out", o]);
    assert_eq!(c, 1);
    assert!(err.contains("not a ChatGPT export"), "{err}");
}

#[test]
fn cli_skips_bad_conversations_and_sanitises_names() {
    let dir = tmp("mixed");
    let input = dir.join("conversations-000.json");
    std::fs::write(
        &input,
        r#"[{"id":"../../etc/passwd","title":"evil"}, {"id":"broken","mapping":7}, {"id":"ok-1","title":"fine"},
            {"id":"ok/1","title":"collides"}, {"id":"","title":"empty id"}]"#,
    )
    .expect("write");
    let out = dir.join("out");
    let (code, err) =
        run(&[input.to_str().expect("utf8"), "--to", "markdown", "--out", out.to_str().expect("utf8")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("#1 (broken)"), "{err}");
    assert_eq!(listing(&out), ["______etc_passwd.md", "conversation.md", "ok-1.md", "ok_1.md"]);
    assert!(!dir.join("etc").exists());
}

/// A zip archive with one stored entry (enough for the command line; deflate is covered by the
/// import tests).
fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut local = Vec::new();
    local.extend(0x0403_4b50u32.to_le_bytes());
    local.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method 0, time, date, crc
    local.extend((data.len() as u32).to_le_bytes());
    local.extend((data.len() as u32).to_le_bytes());
    local.extend((name.len() as u16).to_le_bytes());
    local.extend(0u16.to_le_bytes());
    local.extend(name.as_bytes());
    local.extend(data);
    let mut central = Vec::new();
    central.extend(0x0201_4b50u32.to_le_bytes());
    central.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    central.extend((data.len() as u32).to_le_bytes());
    central.extend((data.len() as u32).to_le_bytes());
    central.extend((name.len() as u16).to_le_bytes());
    central.extend([0u8; 12]); // extra, comment, disk, internal and external attributes
    central.extend(0u32.to_le_bytes()); // local header offset
    central.extend(name.as_bytes());
    let mut out = local;
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[test]
fn cli_reads_the_export_zip() {
    let dir = tmp("zip");
    let zip = dir.join("export.zip");
    std::fs::write(&zip, stored_zip("conversations.json", FIXTURE.as_bytes())).expect("write");
    let out = dir.join("out");
    let (code, err) =
        run(&[zip.to_str().expect("utf8"), "--to", "html", "--out", out.to_str().expect("utf8")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listing(&out).len(), 5);
    // A zip without conversations, and an output path that is a file.
    let empty = dir.join("other.zip");
    std::fs::write(&empty, stored_zip("user.json", b"{}")).expect("write");
    let (code, err) =
        run(&[empty.to_str().expect("utf8"), "--to", "md", "--out", out.to_str().expect("utf8")]);
    assert_eq!(code, 1);
    assert!(err.contains("no conversations.json"), "{err}");
    let (code, err) = run(&[zip.to_str().expect("utf8"), "--to", "md", "--out", zip.to_str().expect("utf8")]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot create"), "{err}");
}
