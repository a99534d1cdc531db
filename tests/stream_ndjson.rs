//! NDJSON line splitting: line ends, blank lines, a last line without newline, split UTF-8.

use understudy::stream::ndjson::{LineTooLong, NdjsonSplitter, split_all};

/// Feeds `chunks`, returns the lines as text.
fn run(chunks: &[&[u8]]) -> Vec<String> {
    let mut s = NdjsonSplitter::new();
    let mut lines = Vec::new();
    for c in chunks {
        s.feed(c, |l| lines.push(String::from_utf8_lossy(l).into_owned())).expect("within limit");
    }
    s.finish(|l| lines.push(String::from_utf8_lossy(l).into_owned()));
    lines
}

/// Checks `input` gives `expect` whole, byte by byte and split at every position.
fn check(input: &[u8], expect: &[&str]) {
    assert_eq!(run(&[input]), expect, "whole");
    assert_eq!(run(&input.chunks(1).collect::<Vec<_>>()), expect, "byte by byte");
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(run(&[a, b]), expect, "split at {cut}");
    }
}

#[test]
fn lf_lines() {
    check(b"{\"a\":1}\n{\"b\":2}\n", &["{\"a\":1}", "{\"b\":2}"]);
}

#[test]
fn crlf_lines() {
    check(b"{\"a\":1}\r\n{\"b\":2}\r\n", &["{\"a\":1}", "{\"b\":2}"]);
}

#[test]
fn blank_and_whitespace_lines_are_skipped() {
    check(b"\n{\"a\":1}\n\n  \n\t\r\n\r\n{\"b\":2}\n\n", &["{\"a\":1}", "{\"b\":2}"]);
}

#[test]
fn last_line_without_newline_is_delivered_at_finish() {
    check(b"{\"a\":1}\n{\"done\":true}", &["{\"a\":1}", "{\"done\":true}"]);
    check(b"{\"a\":1}\r\n{\"done\":true}\r", &["{\"a\":1}", "{\"done\":true}"]);
}

#[test]
fn multi_byte_text_split_anywhere_arrives_whole() {
    check("{\"t\":\"日本 🦙 é\"}\n".as_bytes(), &["{\"t\":\"日本 🦙 é\"}"]);
}

#[test]
fn leading_bom_is_dropped_once() {
    check(b"\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{\"b\":2}\n", &["{\"a\":1}", "\u{FEFF}{\"b\":2}"]);
}

#[test]
fn empty_input_gives_nothing() {
    check(b"", &[]);
    check(b"\n\r\n", &[]);
}

#[test]
fn split_all_matches_incremental() {
    let lines = split_all(b"a\nb\r\nc").expect("small");
    assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

#[test]
fn over_long_line_is_refused() {
    let mut s = NdjsonSplitter::with_limit(8);
    let mut n = 0;
    s.feed(b"short\n", |_| n += 1).expect("fits");
    assert_eq!(s.feed(b"0123456789", |_| n += 1), Err(LineTooLong { limit: 8 }));
    assert!(s.feed(b"\nok\n", |_| n += 1).is_err());
    assert_eq!(n, 1);
    s.finish(|_| n += 1);
    assert_eq!(n, 1, "nothing delivered from a refused line");
}

#[test]
fn finish_resets_for_a_new_stream() {
    let mut s = NdjsonSplitter::new();
    let mut lines = Vec::new();
    s.feed(b"\xEF\xBB\xBFone", |l| lines.push(l.to_vec())).unwrap();
    s.finish(|l| lines.push(l.to_vec()));
    s.feed(b"\xEF\xBB\xBFtwo\n", |l| lines.push(l.to_vec())).unwrap();
    assert_eq!(lines, vec![b"one".to_vec(), b"two".to_vec()]);
}
