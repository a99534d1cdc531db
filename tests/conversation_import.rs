//! Streaming import of the official export: chunking, malformed entries, zip archives, round trips.

use understudy::conversation::export::{
    ExportReader, ImportError, Imported, generate_export, read_any, read_json, zip_entries,
};
use understudy::conversation::model::Conversation;
use understudy::conversation::render::to_json;

const FIXTURE: &str = include_str!("fixtures/export/conversations.json");

/// Feeds `bytes` in chunks of `size`; returns conversations and `(index, id)` of skipped ones.
fn stream(bytes: &[u8], size: usize) -> (Vec<Conversation>, Vec<(usize, Option<String>)>) {
    let mut r = ExportReader::new();
    let mut items = Vec::new();
    for c in bytes.chunks(size.max(1)) {
        items.extend(r.feed(c).expect("export"));
    }
    assert_eq!(r.bytes_consumed(), bytes.len() as u64);
    items.extend(r.finish().expect("export"));
    split(items)
}

fn split(items: Vec<Imported>) -> (Vec<Conversation>, Vec<(usize, Option<String>)>) {
    let mut convs = Vec::new();
    let mut issues = Vec::new();
    for i in items {
        match i {
            Imported::Conversation(c) => convs.push(*c),
            Imported::Skipped(s) => issues.push((s.index, s.id)),
        }
    }
    (convs, issues)
}

#[test]
fn chunk_sizes_give_the_same_conversations() {
    let generated = generate_export(12, 9, 7);
    for doc in [FIXTURE, generated.as_str()] {
        let (whole, issues) = stream(doc.as_bytes(), doc.len());
        assert!(issues.is_empty());
        assert!(whole.len() >= 5);
        for size in [1, 2, 3, 7, 64, 4096, 1 << 20] {
            assert_eq!(stream(doc.as_bytes(), size).0, whole, "chunk size {size}");
        }
    }
}

#[test]
fn fixture_fields_are_read() {
    let (convs, _) = stream(FIXTURE.as_bytes(), 4096);
    let ids: Vec<&str> = convs.iter().map(|c| &c.id[c.id.len() - 4..]).collect();
    assert_eq!(ids, ["0001", "0002", "0003", "0004", "0005"]);
    let a = &convs[0];
    assert_eq!(a.title.as_deref(), Some("Rust lifetimes explained"));
    assert_eq!(a.update_time, Some(1714000900.9876543));
    assert_eq!(a.current_node.as_deref(), Some("a-a2"));
    assert_eq!(a.model_slug.as_deref(), Some("gpt-4o"));
    assert_eq!(a.nodes.len(), 10);
    let m = a.nodes["a-a1"].message.as_ref().expect("message");
    assert_eq!((m.finish.as_deref(), m.model_slug.as_deref()), (Some("stop"), Some("gpt-4o")));
    assert!(a.nodes["a-sys"].message.as_ref().is_some_and(|m| m.hidden));
    assert!(convs[3].is_archived);
    assert_eq!(convs[4].current_node, None);
}

fn check_malformed(doc: &str, expect_ok: &[&str], expect_skipped: &[(usize, Option<&str>)]) {
    for size in [1, 5, doc.len()] {
        let (convs, issues) = stream(doc.as_bytes(), size);
        let ok: Vec<&str> = convs.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ok, expect_ok, "{doc}");
        let skipped: Vec<(usize, Option<&str>)> = issues.iter().map(|(i, id)| (*i, id.as_deref())).collect();
        assert_eq!(skipped, expect_skipped, "{doc}");
    }
}

#[test]
fn malformed_entries_are_reported_and_skipped() {
    check_malformed(
        r#"[{"id":"a"}, {"id":"b","mapping":"nope"}, {"id":"c"}]"#,
        &["a", "c"],
        &[(1, Some("b"))],
    );
    check_malformed(r#"[42, {"id":"a"}, "text", null]"#, &["a"], &[(0, None), (2, None), (3, None)]);
    check_malformed(r#"[{"title":"no id"}, {"id":"a"}]"#, &["a"], &[(0, None)]);
    // Broken JSON with balanced brackets: the id is still found for the report.
    check_malformed(r#"[{"id":"x1","title": }, {"id":"b"}]"#, &["b"], &[(0, Some("x1"))]);
    check_malformed("[1 2, {\"id\":\"a\"}]", &["a"], &[(0, None)]);
    check_malformed(r#"[{"id":"a"},, {"id":"b"}]"#, &["a", "b"], &[(1, None)]);
    // A message without author is malformed; strings with brackets and escapes do not confuse.
    check_malformed(
        r#"[{"id":"m","mapping":{"n":{"message":{"id":"n","content":{"content_type":"text","parts":[]}}}}},
            {"id":"q\"]}[{","title":"br]}ack\\ets"}]"#,
        &["q\"]}[{"],
        &[(0, Some("m"))],
    );
    // Truncated export: the last conversation is reported.
    check_malformed(r#"[{"id":"a"}, {"id":"b","title":"cut he"#, &["a"], &[(1, Some("b"))]);
    // Missing closing bracket after complete elements is tolerated.
    check_malformed(r#"[{"id":"a"}"#, &["a"], &[]);
    // A single conversation object (as GET /backend-api/conversation/{id} returns) is accepted.
    check_malformed(r#" {"conversation_id":"solo","mapping":{}} "#, &["solo"], &[]);
    check_malformed("\u{feff}[]", &[], &[]);
}

#[test]
fn documents_that_are_not_exports_fail_clearly() {
    for doc in ["", "   ", "\"hello\"", "<html>", "[{\"id\":\"a\"}] trailing"] {
        let mut r = ExportReader::new();
        let res = r.feed(doc.as_bytes()).and_then(|_| r.finish());
        assert!(matches!(res, Err(ImportError::NotAnExport(_))), "{doc:?}: {res:?}");
    }
}

#[test]
fn truncation_at_every_byte_never_panics() {
    let doc = FIXTURE.as_bytes();
    for cut in (0..doc.len()).step_by(37) {
        let _ = read_json(&doc[..cut]);
    }
}

#[test]
fn export_json_round_trips() {
    let generated = generate_export(20, 12, 3);
    for doc in [FIXTURE, generated.as_str()] {
        let (first, _) = stream(doc.as_bytes(), doc.len());
        let written = to_json(&first);
        let (second, issues) = stream(written.as_bytes(), 999);
        assert!(issues.is_empty());
        assert_eq!(first, second);
        // Official shape: an array whose entries have mapping, current_node and both ids.
        let v: serde_json::Value = serde_json::from_str(&written).expect("json");
        let e = &v[0];
        for key in ["title", "create_time", "update_time", "mapping", "current_node", "id", "conversation_id"]
        {
            assert!(e.get(key).is_some(), "{key}");
        }
    }
    // Unknown fields survive: conversation, message, metadata and content extras.
    let (convs, _) = stream(FIXTURE.as_bytes(), 4096);
    let out: serde_json::Value = serde_json::from_str(&to_json(&convs)).expect("json");
    let orig: serde_json::Value = serde_json::from_str(FIXTURE).expect("json");
    assert_eq!(out[0]["memory_scope"], orig[0]["memory_scope"]);
    assert_eq!(
        out[0]["mapping"]["a-a1"]["message"]["metadata"],
        orig[0]["mapping"]["a-a1"]["message"]["metadata"]
    );
    assert_eq!(
        out[1]["mapping"]["b-u1"]["message"]["content"],
        orig[1]["mapping"]["b-u1"]["message"]["content"]
    );
    assert_eq!(
        out[1]["mapping"]["b-call"]["message"]["content"],
        orig[1]["mapping"]["b-call"]["message"]["content"]
    );
    assert_eq!(out[2]["mapping"]["c-th"]["message"], orig[2]["mapping"]["c-th"]["message"]);
}

#[test]
fn generator_is_deterministic_and_realistic() {
    let a = generate_export(5, 10, 42);
    assert_eq!(a, generate_export(5, 10, 42));
    assert_ne!(a, generate_export(5, 10, 43));
    let (convs, issues) = stream(a.as_bytes(), a.len());
    assert!(issues.is_empty());
    assert_eq!(convs.len(), 5);
    for c in &convs {
        let line = understudy::conversation::main_line(c);
        assert_eq!(line.len(), 10, "{}", c.id);
    }
    // About 1 kB per message on average.
    let per_message = a.len() / 50;
    assert!((500..3000).contains(&per_message), "{per_message}");
}

// ---- zip archives, built by hand ------------------------------------------------------------

struct ZipFile<'a> {
    name: &'a str,
    data: &'a [u8],
    deflate: bool,
}

fn build_zip(files: &[ZipFile]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for f in files {
        let stored =
            if f.deflate { miniz_oxide::deflate::compress_to_vec(f.data, 6) } else { f.data.to_vec() };
        let method: u16 = if f.deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(20u16.to_le_bytes()); // version made by
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(method.to_le_bytes());
            h.extend([0u8; 4]); // time, date
            h.extend(0u32.to_le_bytes()); // crc (not checked by the reader)
            h.extend((stored.len() as u32).to_le_bytes());
            h.extend((f.data.len() as u32).to_le_bytes());
            h.extend((f.name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment len, disk, internal attrs
                h.extend(0u32.to_le_bytes()); // external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(f.name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend(&stored);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Ids read and `(index, id)` of skipped entries.
type Read = (Vec<String>, Vec<(usize, Option<String>)>);

fn zip_ids(zip: &[u8]) -> Result<Read, ImportError> {
    let mut items = Vec::new();
    read_any(zip, &mut |i| items.push(i))?;
    let (c, s) = split(items);
    Ok((c.into_iter().map(|c| c.id).collect(), s))
}

#[test]
fn zip_archives_stored_and_deflated() {
    let (fixture_convs, _) = stream(FIXTURE.as_bytes(), FIXTURE.len());
    let fixture_ids: Vec<String> = fixture_convs.iter().map(|c| c.id.clone()).collect();
    let html = b"<html>chat.html</html>".as_slice();
    for deflate in [false, true] {
        let zip = build_zip(&[
            ZipFile { name: "chat.html", data: html, deflate },
            ZipFile { name: "conversations.json", data: FIXTURE.as_bytes(), deflate },
        ]);
        assert_eq!(zip_entries(&zip).expect("entries").len(), 2);
        assert_eq!(zip_ids(&zip).expect("zip").0, fixture_ids, "deflate={deflate}");
    }
    // Split files in a folder, read in name order, indices counted across files.
    let big = generate_export(300, 4, 9);
    let part0 = r#"[{"id":"p0"}, {"id":"bad","mapping":1}]"#;
    let part1 = r#"[{"id":"p1"}]"#;
    let zip = build_zip(&[
        ZipFile { name: "export/conversations-001.json", data: part1.as_bytes(), deflate: true },
        ZipFile { name: "export/conversations-000.json", data: part0.as_bytes(), deflate: false },
        ZipFile { name: "export/user.json", data: b"{}", deflate: false },
    ]);
    assert_eq!(
        zip_ids(&zip).expect("zip"),
        (vec!["p0".to_string(), "p1".to_string()], vec![(1, Some("bad".into()))])
    );
    // A large deflated entry is inflated in several chunks.
    let zip = build_zip(&[ZipFile { name: "conversations.json", data: big.as_bytes(), deflate: true }]);
    assert_eq!(zip_ids(&zip).expect("zip").0.len(), 300);
}

#[test]
fn broken_zip_archives_fail_clearly() {
    let good = build_zip(&[ZipFile { name: "conversations.json", data: FIXTURE.as_bytes(), deflate: true }]);
    let none = build_zip(&[ZipFile { name: "notes.txt", data: b"hi", deflate: false }]);
    assert_eq!(zip_ids(&none), Err(ImportError::NoConversationsInZip));
    assert!(matches!(zip_ids(b"PK\x03\x04 not really a zip"), Err(ImportError::Zip(_))));
    // Corrupt the deflate stream.
    let mut bad = good.clone();
    for b in bad.iter_mut().skip(60).take(200) {
        *b ^= 0x5a;
    }
    // Corrupt data gives an error or skipped entries, never a panic or a hang.
    let _ = zip_ids(&bad);
    // Any truncation: an error, never a panic.
    for cut in (0..good.len()).step_by(53) {
        let _ = zip_ids(&good[..cut]);
    }
}

#[test]
fn raw_elements_parse_as_the_conversations_they_came_with() {
    let generated = generate_export(6, 5, 3);
    let doc = format!(
        "\u{feff}[ {} , {{\"title\": 5}} ,\n{} ]",
        &FIXTURE.trim()[1..FIXTURE.trim().len() - 1],
        &generated[1..generated.len() - 1]
    );
    for size in [1, 5, 333, 1 << 20] {
        let mut r = ExportReader::new();
        let mut pairs = Vec::new();
        let mut skipped = 0;
        for c in doc.as_bytes().chunks(size) {
            r.feed_raw_with(c, &mut |item, raw| match item {
                Imported::Conversation(conv) => pairs.push((*conv, raw.to_vec())),
                Imported::Skipped(_) => {
                    assert!(raw.is_empty() || serde_json::from_slice::<Conversation>(raw).is_err());
                    skipped += 1;
                }
            })
            .expect("export");
        }
        assert_eq!((pairs.len(), skipped), (11, 1), "chunk size {size}");
        for (conv, raw) in pairs {
            assert_eq!(raw.first(), Some(&b'{'));
            assert_eq!(raw.last(), Some(&b'}'));
            let again: Conversation = serde_json::from_slice(&raw).expect("raw element");
            assert_eq!(again, conv, "chunk size {size}");
        }
    }
}
