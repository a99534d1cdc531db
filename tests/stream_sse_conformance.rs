//! Server-sent-events conformance: the cases of the eventsource-parser test suite and of the
//! web-platform-tests `eventsource/format-*` files, restated in our own data, plus a property test
//! that any chunking gives the same events as the whole stream.

use understudy::stream::sse::{OwnedSseEvent, SseError, SseParser};

/// Feeds `chunks` one by one; returns the events as (type, data, id) and the last retry value.
fn run(chunks: &[&[u8]]) -> (Vec<(String, String, String)>, Option<u64>) {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        parser
            .feed(chunk, |e| events.push((e.event.to_string(), e.data.to_string(), e.id.to_string())))
            .expect("within limits");
    }
    let retry = parser.retry_ms();
    parser.finish();
    (events, retry)
}

/// Checks the events for `chunks` as given, and for the same bytes whole, one byte at a time and
/// split at every single position.
fn check(chunks: &[&str], expect: &[(&str, &str, &str)]) {
    check_bytes(&chunks.iter().map(|c| c.as_bytes()).collect::<Vec<_>>(), expect);
}

fn check_bytes(chunks: &[&[u8]], expect: &[(&str, &str, &str)]) {
    let expect: Vec<(String, String, String)> =
        expect.iter().map(|(e, d, i)| (e.to_string(), d.to_string(), i.to_string())).collect();
    let (got, retry) = run(chunks);
    assert_eq!(got, expect, "as chunked: {chunks:?}");
    let whole: Vec<u8> = chunks.concat();
    assert_eq!(run(&[&whole]), (got.clone(), retry), "whole");
    let bytes: Vec<&[u8]> = whole.chunks(1).collect();
    assert_eq!(run(&bytes), (got.clone(), retry), "byte by byte");
    if whole.len() <= 4096 {
        for cut in 0..=whole.len() {
            let (a, b) = whole.split_at(cut);
            assert_eq!(run(&[a, b]), (got.clone(), retry), "split at {cut}");
        }
    }
}

fn retry_of(chunks: &[&str]) -> Option<u64> {
    run(&chunks.iter().map(|c| c.as_bytes()).collect::<Vec<_>>()).1
}

// ---- eventsource-parser: test/parse.test.ts ----

#[test]
fn basic_unnamed_events() {
    check(
        &[
            "data: 0\n\n",
            "data: 1\n\n",
            "data: 2\n\n",
            "data: 3\n\n",
            "data: 4\n\n",
            "event: done\ndata: ✔\n\n",
        ],
        &[
            ("message", "0", ""),
            ("message", "1", ""),
            ("message", "2", ""),
            ("message", "3", ""),
            ("message", "4", ""),
            ("done", "✔", ""),
        ],
    );
}

#[test]
fn named_events_in_unbalanced_chunks() {
    check(
        &[
            "id: 81\nevent: ti",
            "me\ndata: 2026-11-25T10:00:00.000Z\n",
            "\nid: 82\nevent: time\nda",
            "ta: x\n\n",
        ],
        &[("time", "2026-11-25T10:00:00.000Z", "81"), ("time", "x", "82")],
    );
}

#[test]
fn identified_events_with_retry() {
    let chunks = [
        "id: 1337\nevent: tick\nretry: 50\ndata: 1337\n\n",
        "id: 1338\nevent: tick\nretry: 50\ndata: 1338\n\n",
    ];
    check(&chunks, &[("tick", "1337", "1337"), ("tick", "1338", "1338")]);
    assert_eq!(retry_of(&chunks), Some(50));
}

#[test]
fn heartbeat_comments_between_events() {
    check(
        &[": ♥\n", "data: A\n\n", ": ♥\n", "data: B\n\n", ": ♥\n", "data: C\n\n", "event: done\ndata: ✔\n\n"],
        &[("message", "A", ""), ("message", "B", ""), ("message", "C", ""), ("done", "✔", "")],
    );
}

#[test]
fn multi_line_data() {
    check(
        &[
            "event: stock\n",
            "data: YHOO\n",
            "data: +2\n",
            "data: 10\n\n",
            "event: stock\ndata: GOOG\ndata: -8\ndata: 1881\n\n",
        ],
        &[("stock", "YHOO\n+2\n10", ""), ("stock", "GOOG\n-8\n1881", "")],
    );
}

#[test]
fn multi_byte_characters() {
    check(
        &[
            "id: 0\n",
            "data:Привет, мир 👋🏽\n\n",
            "id: 1\ndata:日本語のテキスト 🎌\n\n",
            "id: 2\ndata:Ελληνικά ✨\n\n",
        ],
        &[
            ("message", "Привет, мир 👋🏽", "0"),
            ("message", "日本語のテキスト 🎌", "1"),
            ("message", "Ελληνικά ✨", "2"),
        ],
    );
}

#[test]
fn multi_byte_character_split_inside_its_bytes() {
    let text = "data: 我現在都看實況\n\n".as_bytes();
    // Cut inside the three-byte 我 (bytes 6..9).
    check_bytes(&[&text[..7], &text[7..8], &text[8..]], &[("message", "我現在都看實況", "")]);
}

#[test]
fn multi_byte_with_empty_lines_first() {
    check(
        &["\n\n\n\nid: 1\ndata: 我現在都看實況不玩遊戲\n\n", "event: done\ndata: ✔\n\n"],
        &[("message", "我現在都看實況不玩遊戲", "1"), ("done", "✔", "1")],
    );
}

#[test]
fn one_leading_bom_is_stripped_later_ones_spoil_their_line() {
    check(
        &[
            "\u{FEFF}data: bomful 1\n\n",
            "\u{FEFF}data: bomful 2\n\n",
            "data: bomless 3\n\n",
            "event: done\ndata: ✔\n\n",
        ],
        &[("message", "bomful 1", ""), ("message", "bomless 3", ""), ("done", "✔", "")],
    );
}

#[test]
fn bom_split_across_chunks() {
    check_bytes(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"], &[("message", "x", "")]);
    check_bytes(&[b"\xEF\xBB", b"\xBF", b"data: x\n\n"], &[("message", "x", "")]);
}

#[test]
fn almost_a_bom_is_kept_as_text() {
    // EF BB then a normal byte: not a BOM; the line's field name becomes invalid UTF-8.
    check_bytes(&[b"\xEF\xBBdata: x\n\ndata: y\n\n"], &[("message", "y", "")]);
}

#[test]
fn carriage_returns_only() {
    check(
        &["data: dog\r", "data: bark\r\r", "data: cat\r", "data: meow\r\r", "event: done\rdata: ✔\r\r"],
        &[("message", "dog\nbark", ""), ("message", "cat\nmeow", ""), ("done", "✔", "")],
    );
}

#[test]
fn line_feeds_only() {
    check(
        &["data: cow\n", "data: moo\n\n", "data: horse\n", "data: neigh\n\n"],
        &[("message", "cow\nmoo", ""), ("message", "horse\nneigh", "")],
    );
}

#[test]
fn carriage_return_line_feeds() {
    check(
        &["data: sheep\r\n", "data: bleat\r\n\r\n", "data: pig\r\n", "data: oink\r\n\r\n"],
        &[("message", "sheep\nbleat", ""), ("message", "pig\noink", "")],
    );
}

#[test]
fn odd_comments() {
    let colons = ":".repeat(300);
    let moops = ": Moop \n".repeat(10);
    check(
        &[
            ": Hello\n\n",
            &colons,
            "\n",
            "data: First\n\n",
            ": Первый",
            ": 第二",
            "\n",
            "data: Second\n\n",
            &moops,
            ": ثالث",
            "\n",
            "data: Third\n\n",
            ":നാലാമത്തെ",
            "\n",
            "data: Fourth\n\n",
            ": 🙈 🙉 🙊 :",
            "\n",
            "data: Fifth\n\n",
        ],
        &[
            ("message", "First", ""),
            ("message", "Second", ""),
            ("message", "Third", ""),
            ("message", "Fourth", ""),
            ("message", "Fifth", ""),
        ],
    );
}

#[test]
fn mixed_comments_and_an_unterminated_last_event() {
    let long = "x".repeat(2 * 1024 + 1);
    check(
        &[
            "data:1\r\r:\0\n:\r\ndata:2\n\n:",
            &long,
            "\rdata:3\n\n:data:fail\r:",
            &long,
            "\ndata:4\n\n",
            "data:5",
        ],
        &[("message", "1", ""), ("message", "2", ""), ("message", "3", ""), ("message", "4", "")],
    );
}

#[test]
fn empty_event_field_means_message() {
    check(
        &["event:\ndata: Hello 1\n\n", "event:\n\n", "event: done\ndata: ✔\n\n"],
        &[("message", "Hello 1", ""), ("done", "✔", "")],
    );
}

#[test]
fn empty_retry_is_ignored() {
    let chunks = ["id: 1\nretry: 500\ndata: 🥌\n\n", "id:2\nretry:\ndata:🧹\n\n", "id: 3\ndata: ✅\n\n"];
    check(&chunks, &[("message", "🥌", "1"), ("message", "🧹", "2"), ("message", "✅", "3")]);
    assert_eq!(retry_of(&chunks), Some(500));
}

#[test]
fn oddly_shaped_data_fields() {
    check(
        &["data:\n\ndata\ndata\n\ndata:test\n\n"],
        &[("message", "", ""), ("message", "\n", ""), ("message", "test", "")],
    );
}

#[test]
fn cr_at_chunk_end_then_lf_is_one_line_end() {
    check(&["data: A\r\n", "data: B\r", "\n", "data: C\r\n", "\n"], &[("message", "A\nB\nC", "")]);
}

#[test]
fn partially_invalid_retry() {
    let chunks = ["retry:1000\nretry:2000x\ndata:x\n\n"];
    check(&chunks, &[("message", "x", "")]);
    assert_eq!(retry_of(&chunks), Some(1000));
}

#[test]
fn invalid_retry_between_events() {
    let chunks = ["\nretry: 500\n\ndata: first\n\nretry: 50x\n\ndata: second\n\n"];
    check(&chunks, &[("message", "first", ""), ("message", "second", "")]);
    assert_eq!(retry_of(&chunks), Some(500));
}

#[test]
fn retry_with_leading_zero_is_decimal() {
    assert_eq!(retry_of(&["retry: 02000\ndata: x\n\n"]), Some(2000));
}

#[test]
fn huge_retry_saturates_instead_of_failing() {
    assert_eq!(retry_of(&["retry: 99999999999999999999999\n\n"]), Some(u64::MAX));
}

#[test]
fn id_with_nul_is_ignored_and_the_previous_id_survives() {
    check(&["id: 123\nid: bad\0id\ndata: hello\n\n"], &[("message", "hello", "123")]);
}

#[test]
fn id_without_data_persists_to_later_events() {
    check(
        &["id: 42\n\n", "data: a\n\n", "id: bad\0id\n\n", "data: b\n\n", "id:\n\n", "data: c\n\n"],
        &[("message", "a", "42"), ("message", "b", "42"), ("message", "c", "")],
    );
}

#[test]
fn id_block_with_cr_and_crlf_line_ends() {
    check(&["id: 42\r\rdata: x\r\r"], &[("message", "x", "42")]);
    check(&["id: 42\r\n\r\ndata: x\r\n\r\n"], &[("message", "x", "42")]);
}

#[test]
fn unknown_fields_and_lines_without_colon() {
    check(
        &["data:abc\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:123\n\n"],
        &[("message", "abc\n\n123", "")],
    );
}

#[test]
fn huge_event() {
    let line = format!("data: {}\n", "ab".repeat(1024));
    let body = format!(": hello\n\n{}\n: END-OF-STREAM\n\nevent: done\ndata: ok\n\n", line.repeat(2400));
    let bytes = body.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(16 * 1024).collect();
    let (events, _) = run(&chunks);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].1.len(), 2048 * 2400 + 2399);
    assert_eq!(events[1], ("done".into(), "ok".into(), "".into()));
}

#[test]
fn json_body_without_line_end_gives_nothing() {
    check(
        &[r#"{"error":"Internal Server Error","message":"The server could not process your request"}"#],
        &[],
    );
}

#[test]
fn json_body_with_line_end_is_an_unknown_field() {
    check(&["{\"error\":\"Internal Server Error\"}\n\n"], &[]);
    check(&["Well, this is not what I expected\n"], &[]);
}

#[test]
fn comment_lines_ended_by_split_crlf_or_lone_cr() {
    check(&["data: one\n:", "ignored\r\ndata: two\n\n"], &[("message", "one\ntwo", "")]);
    check(&["data: one\n:", "ignored\r", "\ndata: two\n\n"], &[("message", "one\ntwo", "")]);
    check(&["data: one\n:", "ignored\r", "data: two\n\n"], &[("message", "one\ntwo", "")]);
    check(&["data: one\n:ignored\r", "data: two\n\n"], &[("message", "one\ntwo", "")]);
    check(&["data: one\n:ignored\r", "\ndata: two\n\n"], &[("message", "one\ntwo", "")]);
}

#[test]
fn bare_data_line_ended_by_cr_at_chunk_edge() {
    check(&["data: one\ndata\r", "\ndata: two\n\n"], &[("message", "one\n\ntwo", "")]);
}

#[test]
fn blank_cr_line_split_from_its_lf_dispatches_once() {
    check(&["data: one\r", "\r", "\n"], &[("message", "one", "")]);
}

#[test]
fn split_field_name_still_counts() {
    check(&["da", "ta\n\n"], &[("message", "", "")]);
}

#[test]
fn many_small_events() {
    let body: String = (0..100).map(|i| format!("data: {i}\n\n")).collect();
    let (events, _) = run(&[body.as_bytes()]);
    assert_eq!(events.len(), 100);
    assert_eq!(events[99].1, "99");
}

// ---- web-platform-tests: eventsource/format-* (the test server appends "\n\n" then "\n") ----

#[test]
fn wpt_format_bom() {
    check(
        &["\u{FEFF}data:1\n\n\u{FEFF}data:2\n\ndata:3\n\n\n"],
        &[("message", "1", ""), ("message", "3", "")],
    );
}

#[test]
fn wpt_format_bom_2() {
    check(
        &["\u{FEFF}\u{FEFF}data:1\n\ndata:2\n\ndata:3\n\n\n"],
        &[("message", "2", ""), ("message", "3", "")],
    );
}

#[test]
fn wpt_format_comments() {
    let long = "x".repeat(2 * 1024);
    let body = format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n");
    check(&[&body], &[("message", "1\n2\n3\n4", "")]);
}

#[test]
fn wpt_format_data_before_final_empty_line() {
    let chunks = ["retry:1000\ndata:test1\n\nid:test\ndata:test2\n"];
    check(&chunks, &[("message", "test1", "")]);
    assert_eq!(retry_of(&chunks), Some(1000));
}

#[test]
fn wpt_format_field_data() {
    check(
        &["data:\n\ndata\ndata\n\ndata:test\n\n\n"],
        &[("message", "", ""), ("message", "\n", ""), ("message", "test", "")],
    );
}

#[test]
fn wpt_format_field_event() {
    check(&["event:test\ndata:x\n\ndata:x\n\n\n"], &[("test", "x", ""), ("message", "x", "")]);
}

#[test]
fn wpt_format_field_event_empty() {
    check(&["event: \ndata:data\n\n\n"], &[("message", "data", "")]);
}

#[test]
fn wpt_format_field_id_multi_byte() {
    check(
        &["id: …\nretry: 200\ndata: hello\n\n", "data: …\n\n"],
        &[("message", "hello", "…"), ("message", "…", "…")],
    );
}

#[test]
fn wpt_format_field_id_persists_changes_resets() {
    check(&["id: 1\ndata: 1\n\ndata:2\n\n"], &[("message", "1", "1"), ("message", "2", "1")]);
    check(
        &["id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n"],
        &[("message", "1", "1"), ("message", "2", "2"), ("message", "3", "2")],
    );
    check(
        &["id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n"],
        &[("message", "1", "1"), ("message", "2", ""), ("message", "3", "")],
    );
}

#[test]
fn wpt_format_field_id_null() {
    check(&["id: \0\0\nretry: 200\ndata: hello\n\n"], &[("message", "hello", "")]);
}

#[test]
fn wpt_format_field_retry() {
    assert_eq!(retry_of(&["retry:02000\ndata:x\n\n\n"]), Some(2000));
    assert_eq!(retry_of(&["retry:2000\nretry:1000x\ndata:x\n\n\n"]), Some(2000));
}

#[test]
fn wpt_format_null_character_in_data() {
    check(&["data:\0\n\n\n"], &[("message", "\0", "")]);
}

#[test]
fn wpt_format_utf8_always() {
    check_bytes(&[b"data:ok\xE2\x80\xA6\n\n\n"], &[("message", "ok…", "")]);
}

// ---- beyond the suites ----

#[test]
fn invalid_utf8_becomes_replacement_character() {
    check_bytes(&[b"data: a\xFFb\n\n"], &[("message", "a\u{FFFD}b", "")]);
    // A truncated sequence at a line end is one replacement, whatever the chunking.
    check_bytes(&[b"data: a\xE2\x82\ndata: b\n\n"], &[("message", "a\u{FFFD}\nb", "")]);
}

#[test]
fn one_space_only_is_removed_after_the_colon() {
    check(
        &["data:  two spaces\n\n", "data:\tx\n\n"],
        &[("message", " two spaces", ""), ("message", "\tx", "")],
    );
}

#[test]
fn colon_in_value_is_kept() {
    check(&["data: a: b:c\n\n"], &[("message", "a: b:c", "")]);
}

#[test]
fn field_names_are_case_sensitive() {
    check(&["Data: x\n\nDATA: y\n\n"], &[]);
}

#[test]
fn event_type_does_not_leak_into_the_next_event() {
    check(&["event: a\ndata: 1\n\ndata: 2\n\n"], &[("a", "1", ""), ("message", "2", "")]);
}

#[test]
fn an_event_type_without_data_is_forgotten() {
    check(&["event: a\n\ndata: 2\n\n"], &[("message", "2", "")]);
}

#[test]
fn finish_reports_a_dropped_event_and_resets() {
    let mut p = SseParser::new();
    let mut n = 0;
    p.feed(b"id: 7\ndata: half", |_| n += 1).unwrap();
    assert!(p.finish());
    p.feed(b"data: new\n\n", |e| {
        assert_eq!((e.data.as_ref(), e.id.as_ref()), ("new", ""));
        n += 1;
    })
    .unwrap();
    assert_eq!(n, 1);
    assert!(!p.finish());
}

#[test]
fn over_long_line_is_refused_and_parser_stays_refusing() {
    let mut p = SseParser::with_limit(64);
    let mut events: Vec<OwnedSseEvent> = Vec::new();
    p.feed(b"data: short\n\n", |e| events.push(e.to_owned_event())).unwrap();
    let err = p.feed(&[b'x'; 100], |e| events.push(e.to_owned_event())).unwrap_err();
    assert_eq!(err, SseError::TooLarge { limit: 64 });
    assert!(p.feed(b"\ndata: more\n\n", |e| events.push(e.to_owned_event())).is_err());
    assert_eq!(events.len(), 1);
    assert!(err.to_string().contains("64 bytes"));
}

#[test]
fn over_long_event_data_is_refused() {
    let mut p = SseParser::with_limit(64);
    let line = format!("data: {}\n", "y".repeat(40));
    let result = p.feed(format!("{line}{line}").as_bytes(), |_| {});
    assert_eq!(result, Err(SseError::TooLarge { limit: 64 }));
}

// ---- property: any chunking gives the same events ----

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random stream built from pieces that stress the edges: all three line ends, comments,
/// multi-byte text, BOMs, ids, retries, lines without colon, and an unterminated tail.
fn random_stream(rng: &mut Rng) -> Vec<u8> {
    const ENDS: [&str; 3] = ["\n", "\r", "\r\n"];
    const FIELDS: [&str; 12] = [
        "data: hello",
        "data:wörld ✓",
        "data: 我現在 🎌",
        "data",
        "data:",
        "event: update",
        "event:",
        "id: 7",
        "id: x\0y",
        "retry: 1500",
        ": comment ♥",
        "unknown: field",
    ];
    let mut out = Vec::new();
    if rng.below(4) == 0 {
        out.extend_from_slice("\u{FEFF}".as_bytes());
    }
    for _ in 0..rng.below(30) {
        let end = ENDS[rng.below(3)];
        if rng.below(3) == 0 {
            out.extend_from_slice(end.as_bytes());
        } else {
            out.extend_from_slice(FIELDS[rng.below(FIELDS.len())].as_bytes());
            out.extend_from_slice(end.as_bytes());
        }
        if rng.below(20) == 0 {
            out.push(0xFF);
        }
    }
    if rng.below(2) == 0 {
        out.extend_from_slice(b"data: tail");
    }
    out
}

#[test]
fn any_chunking_gives_the_same_events() {
    for seed in 1..=600u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let body = random_stream(&mut rng);
        let whole = run(&[&body]);
        let ones: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(run(&ones), whole, "seed {seed}: byte by byte");
        for _ in 0..8 {
            let mut chunks = Vec::new();
            let mut rest = &body[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(12));
                let (a, b) = rest.split_at(n);
                chunks.push(a);
                rest = b;
            }
            assert_eq!(run(&chunks), whole, "seed {seed}: random chunks");
        }
    }
}

#[test]
fn chunking_matches_a_simple_reference_reading() {
    // A second, deliberately naive reading of the standard (decode whole, split lines, apply
    // fields) must agree with the incremental parser on random streams.
    fn reference(body: &[u8]) -> Vec<(String, String, String)> {
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let mut lines: Vec<Vec<u8>> = vec![Vec::new()];
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\r' => {
                    if body.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    lines.push(Vec::new());
                }
                b'\n' => lines.push(Vec::new()),
                b => lines.last_mut().unwrap().push(b),
            }
            i += 1;
        }
        lines.pop(); // the unterminated last line
        let (mut data, mut event, mut id, mut out) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for line in lines {
            if line.is_empty() {
                if !data.is_empty() {
                    data.pop();
                    let ev = if event.is_empty() {
                        "message".to_string()
                    } else {
                        String::from_utf8_lossy(&event).into()
                    };
                    out.push((
                        ev,
                        String::from_utf8_lossy(&data).into(),
                        String::from_utf8_lossy(&id).into(),
                    ));
                }
                data.clear();
                event.clear();
                continue;
            }
            if line[0] == b':' {
                continue;
            }
            let (f, v) = match line.iter().position(|&b| b == b':') {
                Some(c) => (&line[..c], line[c + 1..].strip_prefix(b" ").unwrap_or(&line[c + 1..])),
                None => (&line[..], &[][..]),
            };
            match f {
                b"data" => {
                    data.extend_from_slice(v);
                    data.push(b'\n');
                }
                b"event" => event = v.to_vec(),
                b"id" if !v.contains(&0) => id = v.to_vec(),
                _ => {}
            }
        }
        out
    }
    for seed in 1..=600u64 {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let body = random_stream(&mut rng);
        let chunks: Vec<&[u8]> = body.chunks(1 + rng.below(5)).collect();
        assert_eq!(run(&chunks).0, reference(&body), "seed {seed}");
    }
}
