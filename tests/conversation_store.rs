//! Storage records: schema migrations and the in-memory conversation store.

use serde_json::{Value, json};
use understudy::conversation::model::{Conversation, Message, Role};
use understudy::conversation::store::{
    ConversationMeta, ConversationRecord, ConversationStore, MemoryConversationStore, MigrationError,
    SCHEMA_VERSION, migrate_meta, migrate_record, raw_record_bytes, read_record, record_bytes,
};
use understudy::conversation::{ExportReader, Imported};

const FIXTURE: &str = include_str!("fixtures/export/conversations.json");

fn fixture() -> Vec<Conversation> {
    serde_json::from_str(FIXTURE).expect("fixture")
}

fn conv(id: &str, t: f64) -> Conversation {
    let mut c = Conversation::new(id);
    c.title = Some(format!("title {id}"));
    let mut m = Message::new(format!("{id}-u"), Role::User, "hello");
    m.create_time = Some(t);
    c.upsert_message(None, m, true);
    c
}

/// `Ok((incomplete, source))` after migration, or `Err(())` for a rejected record.
type Expect = Result<(bool, Option<&'static str>), ()>;

#[test]
fn meta_migrations() {
    let cases: Vec<(Value, Expect)> = vec![
        // v1 (no version field at all, or version 1): incomplete false, source unknown.
        (
            json!({"id":"a","title":"T","update_time":1.5,"model":"gpt-4o","message_count":3}),
            Ok((false, Some("unknown"))),
        ),
        (
            json!({"version":1,"id":"a","title":null,"update_time":null,"model":null,"message_count":0}),
            Ok((false, Some("unknown"))),
        ),
        (
            json!({"version":2,"id":"a","title":"T","update_time":1.5,"model":null,"incomplete":true,
                "message_count":3,"source":"capture"}),
            Ok((true, Some("capture"))),
        ),
        (json!({"version":3,"id":"a"}), Err(())),
        (json!({"version":"x","id":"a"}), Err(())),
        (json!([1, 2]), Err(())),
        (json!({"version":1}), Err(())),
    ];
    for (input, expect) in cases {
        let got = migrate_meta(input.clone()).map(|m| {
            assert_eq!(m.version, SCHEMA_VERSION);
            (m.incomplete, m.source)
        });
        match expect {
            Ok((inc, src)) => assert_eq!(got, Ok((inc, src.map(str::to_string))), "{input}"),
            Err(()) => assert!(got.is_err(), "{input}"),
        }
    }
    assert_eq!(migrate_meta(json!({"version":9,"id":"a"})), Err(MigrationError::TooNew(9)));
}

#[test]
fn record_migrations() {
    let mut streaming = fixture().remove(0);
    if let Some(m) = streaming.nodes.get_mut("a-a2").and_then(|n| n.message.as_mut()) {
        m.status = Some("in_progress".into());
    }
    // v1: `{version, id, conversation}`; incomplete is derived from the stored messages.
    let v1 = json!({"version": 1, "id": streaming.id, "conversation": serde_json::to_value(&streaming).expect("json")});
    let rec = migrate_record(v1).expect("v1");
    assert_eq!(rec.version, SCHEMA_VERSION);
    assert!(rec.conversation.incomplete);
    assert_eq!(rec.source.as_deref(), Some("unknown"));
    assert_eq!(rec.conversation.nodes, streaming.nodes);
    // v2 round trip through JSON.
    let current = ConversationRecord::of(&fixture()[1]);
    let back = migrate_record(serde_json::to_value(&current).expect("json")).expect("v2");
    assert_eq!(back, current);
    assert!(migrate_record(json!({"version": 1, "id": "x"})).is_err());
    assert!(migrate_record(json!({"version": 2, "conversation": {"title": "no id"}})).is_err());
    // Meta of a conversation.
    let meta = ConversationMeta::of(&fixture()[0]);
    assert_eq!((meta.message_count, meta.model.as_deref(), meta.incomplete), (9, Some("gpt-4o"), false));
    let meta_back: ConversationMeta = migrate_meta(serde_json::to_value(&meta).expect("json")).expect("meta");
    assert_eq!(meta_back, meta);
}

#[test]
fn memory_store_upserts_idempotently() {
    let mut s = MemoryConversationStore::new();
    for c in fixture() {
        assert_eq!(s.upsert(&c), Ok(true));
    }
    for c in fixture() {
        assert_eq!(s.upsert(&c), Ok(false), "same capture twice changes nothing");
    }
    assert_eq!(s.count(), Ok(5));
    let id = fixture()[0].id.clone();
    assert_eq!(s.get(&id).expect("get").as_ref(), Some(&fixture()[0]));
    // A new message captured later updates the stored copy and its meta.
    let mut newer = fixture()[0].clone();
    let mut m = Message::new("a-u3", Role::User, "One more question");
    m.create_time = Some(1715000000.0);
    newer.upsert_message(Some("a-a2"), m, true);
    assert_eq!(s.upsert(&newer), Ok(true));
    assert_eq!(s.upsert(&newer), Ok(false));
    let listed = s.list(0, 1).expect("list");
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].message_count, 10);
    // An older capture does not undo it.
    assert_eq!(s.upsert(&fixture()[0]), Ok(false));
    assert_eq!(s.get(&id).expect("get").map(|c| c.message_count()), Some(10));
    assert!(s.upsert(&Conversation::new("")).is_err());
}

fn page(s: &MemoryConversationStore, offset: usize, limit: usize) -> Vec<String> {
    s.list(offset, limit).expect("list").into_iter().map(|m| m.id).collect()
}

#[test]
fn memory_store_lists_newest_first_with_paging() {
    let mut s = MemoryConversationStore::new();
    for (id, t) in [("a", 10.0), ("b", 30.0), ("c", 20.0), ("d", 30.0), ("e", 5.0)] {
        s.upsert(&conv(id, t)).expect("upsert");
    }
    assert_eq!(page(&s, 0, 10), ["b", "d", "c", "a", "e"]);
    assert_eq!(page(&s, 0, 2), ["b", "d"]);
    assert_eq!(page(&s, 2, 2), ["c", "a"]);
    assert_eq!(page(&s, 4, 2), ["e"]);
    assert!(page(&s, 9, 2).is_empty());
    assert_eq!(s.delete("c"), Ok(true));
    assert_eq!(s.delete("c"), Ok(false));
    assert_eq!(page(&s, 0, 10), ["b", "d", "a", "e"]);
    s.delete_all().expect("delete all");
    assert_eq!(s.count(), Ok(0));
    assert!(page(&s, 0, 10).is_empty());
}

/// Reads stored record bytes; `Ok((id, source, conversation source, messages))` or `Err(())`.
type Read = Result<(String, Option<String>, Option<String>, usize), ()>;

fn check_read(input: &[u8], expect: Read) {
    let got = read_record(input).map(|r| {
        let n = r.conversation.message_count();
        (r.id, r.source, r.conversation.source, n)
    });
    match expect {
        Ok(e) => assert_eq!(got, Ok(e), "{}", String::from_utf8_lossy(input)),
        Err(()) => assert!(got.is_err(), "{}", String::from_utf8_lossy(input)),
    }
}

#[test]
fn stored_records_are_read_in_every_form() {
    let c = &fixture()[0];
    let full = serde_json::to_string(c).expect("json");
    let raw = first_raw();
    let raw = raw.as_str();
    let s = |x: &str| Some(x.to_string());
    let cases: Vec<(Vec<u8>, Read)> = vec![
        // Current records as this build writes them.
        (record_bytes(c), Ok((c.id.clone(), None, None, 9))),
        // An imported conversation kept as the export wrote it, its source beside it.
        (raw_record_bytes(c, raw.as_bytes()), Ok((c.id.clone(), s("export"), s("export"), 9))),
        // v2 records written by earlier builds (JSON text).
        (
            format!(r#"{{"version":2,"id":"{}","source":"capture","conversation":{full}}}"#, c.id)
                .into_bytes(),
            Ok((c.id.clone(), s("capture"), s("capture"), 9)),
        ),
        // v1 (no version): migrated, source unknown.
        (
            format!(r#"{{"id":"{}","conversation":{full}}}"#, c.id).into_bytes(),
            Ok((c.id.clone(), s("unknown"), s("unknown"), 9)),
        ),
        // A record whose id field is missing takes the conversation's.
        (format!(r#"{{"version":2,"conversation":{full}}}"#).into_bytes(), Ok((c.id.clone(), None, None, 9))),
        // Odd field types fall back to the migration path, which is lenient where it can be.
        (
            format!(r#"{{"version":2,"id":5,"source":7,"conversation":{full}}}"#).into_bytes(),
            Ok((c.id.clone(), None, None, 9)),
        ),
        (br#"{"version":3,"id":"a","conversation":{"id":"a"}}"#.to_vec(), Err(())),
        (br#"{"version":2,"id":"a"}"#.to_vec(), Err(())),
        (b"not json".to_vec(), Err(())),
        (Vec::new(), Err(())),
    ];
    for (input, expect) in cases {
        check_read(&input, expect);
    }
    // Every form reads back as the same conversation.
    let a = read_record(&record_bytes(c)).expect("current").conversation;
    let mut b = read_record(&raw_record_bytes(c, raw.as_bytes())).expect("raw").conversation;
    b.source = None;
    assert_eq!(a.nodes, b.nodes);
    assert_eq!((a.title, a.update_time), (b.title, b.update_time));
}

/// The first conversation of the fixture export, exactly as the export has its text.
fn first_raw() -> String {
    let mut r = ExportReader::new();
    let mut first = None;
    r.feed_raw_with(FIXTURE.as_bytes(), &mut |item, raw| {
        if first.is_none() && matches!(item, Imported::Conversation(_)) {
            first = Some(String::from_utf8_lossy(raw).into_owned());
        }
    })
    .expect("fixture");
    first.expect("a conversation")
}
