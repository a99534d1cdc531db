//! Importing the official ChatGPT export: `conversations.json`, split `conversations-NNN.json`
//! files and the downloaded zip, streamed so that a large export never sits in memory as one
//! JSON value.
//!
//! [`ExportReader`] is fed bytes in chunks of any size and yields each conversation as soon as
//! its top-level array element is complete. A malformed element is reported as an
//! [`ImportIssue`] and skipped; the rest is read on.

use std::fmt;

use serde_json::{Map, Value};

use super::model::{Content, ContentKind, Conversation, Message, Node, Part, Role};

/// One malformed conversation that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportIssue {
    /// The position of the element in the top-level array (0-based).
    pub index: usize,
    /// The conversation id, if it could be read.
    pub id: Option<String>,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "conversation #{} ({id}): {}", self.index, self.reason),
            None => write!(f, "conversation #{}: {}", self.index, self.reason),
        }
    }
}

/// What the reader yields for each top-level element.
#[derive(Debug, Clone, PartialEq)]
pub enum Imported {
    /// A conversation read successfully.
    Conversation(Box<Conversation>),
    /// A malformed element, skipped.
    Skipped(ImportIssue),
}

/// A failure that stops the whole import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// The document is not a JSON array (nor a single conversation object).
    NotAnExport(String),
    /// The zip archive could not be read.
    Zip(String),
    /// The zip archive holds no `conversations.json` nor `conversations-NNN.json`.
    NoConversationsInZip,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::NotAnExport(m) => write!(f, "not a ChatGPT export: {m}"),
            ImportError::Zip(m) => write!(f, "unreadable zip archive: {m}"),
            ImportError::NoConversationsInZip => {
                f.write_str("the zip archive holds no conversations.json nor conversations-NNN.json")
            }
        }
    }
}

impl std::error::Error for ImportError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first significant byte.
    Start,
    /// Inside the top-level array, expecting an element or `]`.
    ExpectElement,
    /// Inside the top-level array, after an element: expecting `,` or `]`.
    AfterElement,
    /// Inside an element.
    InElement,
    /// After the closing `]` (or after a single top-level object).
    Done,
    /// A fatal error was seen.
    Failed,
}

/// A streaming reader of an export: feed it chunks, collect conversations as they complete.
#[derive(Debug)]
pub struct ExportReader {
    state: State,
    /// Bytes of the element in progress when it spans chunks.
    buf: Vec<u8>,
    depth: u32,
    in_string: bool,
    escape: bool,
    /// The top-level value is a single object, not an array.
    single: bool,
    index: usize,
    consumed: u64,
    bom_seen: u8,
    error: Option<ImportError>,
}

impl Default for ExportReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ExportReader {
    /// A reader at the start of a document.
    pub fn new() -> Self {
        ExportReader {
            state: State::Start,
            buf: Vec::new(),
            depth: 0,
            in_string: false,
            escape: false,
            single: false,
            index: 0,
            consumed: 0,
            bom_seen: 0,
            error: None,
        }
    }

    /// The number of bytes fed so far (for progress).
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// The number of top-level elements completed so far (conversations and skipped ones).
    pub fn elements_seen(&self) -> usize {
        self.index
    }

    /// Feeds the next chunk; every element completed by it goes to `out`. Returns a fatal error
    /// if the document is not an export (then further input is ignored).
    pub fn feed_with(&mut self, chunk: &[u8], out: &mut impl FnMut(Imported)) -> Result<(), ImportError> {
        self.feed_raw_with(chunk, &mut |item, _| out(item))
    }

    /// Like [`ExportReader::feed_with`], and also hands over the element's own bytes (the JSON
    /// text of the conversation, exactly as the export has it; empty for skipped elements).
    pub fn feed_raw_with(
        &mut self,
        mut chunk: &[u8],
        out: &mut impl FnMut(Imported, &[u8]),
    ) -> Result<(), ImportError> {
        self.consumed += chunk.len() as u64;
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        // Skip a UTF-8 byte order mark, even when it is split across chunks.
        while self.bom_seen < 3 && self.state == State::Start {
            match chunk.first() {
                Some(&b) if b == [0xEF, 0xBB, 0xBF][usize::from(self.bom_seen)] => {
                    self.bom_seen += 1;
                    chunk = &chunk[1..];
                }
                Some(_) => self.bom_seen = 3,
                None => break,
            }
        }
        let mut i = 0;
        let n = chunk.len();
        while i < n {
            match self.state {
                State::Start => {
                    let b = chunk[i];
                    match b {
                        b' ' | b'\n' | b'\r' | b'\t' => i += 1,
                        b'[' => {
                            self.state = State::ExpectElement;
                            i += 1;
                        }
                        b'{' => {
                            self.single = true;
                            self.begin_element();
                            // The element starts at this byte; the loop below scans it.
                            let start = i;
                            i = self.scan_element(chunk, start, out);
                        }
                        _ => return Err(self.fail(format!("expected '[' but found {}", show_byte(b)))),
                    }
                }
                State::ExpectElement | State::AfterElement => {
                    let b = chunk[i];
                    match b {
                        b' ' | b'\n' | b'\r' | b'\t' => i += 1,
                        b']' => {
                            self.state = State::Done;
                            i += 1;
                        }
                        b',' if self.state == State::AfterElement => {
                            self.state = State::ExpectElement;
                            i += 1;
                        }
                        b',' => {
                            // An empty element (`[,` or `,,`): report it and move on.
                            out(
                                Imported::Skipped(ImportIssue {
                                    index: self.index,
                                    id: None,
                                    reason: "empty array element".into(),
                                }),
                                &[],
                            );
                            self.index += 1;
                            i += 1;
                        }
                        _ if self.state == State::AfterElement => {
                            return Err(self.fail(format!("expected ',' or ']' but found {}", show_byte(b))));
                        }
                        _ => {
                            self.begin_element();
                            let start = i;
                            i = self.scan_element(chunk, start, out);
                        }
                    }
                }
                State::InElement => {
                    i = self.scan_element(chunk, i, out);
                }
                State::Done => {
                    let b = chunk[i];
                    if matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0) {
                        i += 1;
                    } else {
                        return Err(
                            self.fail(format!("unexpected {} after the end of the export", show_byte(b)))
                        );
                    }
                }
                State::Failed => {
                    return Err(self.error.clone().unwrap_or(ImportError::NotAnExport(String::new())));
                }
            }
        }
        Ok(())
    }

    /// Feeds the next chunk and returns the elements it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Imported>, ImportError> {
        let mut v = Vec::new();
        self.feed_with(chunk, &mut |i| v.push(i))?;
        Ok(v)
    }

    /// Ends the input. A truncated last element is reported as skipped; a document that never
    /// started is an error.
    pub fn finish(&mut self) -> Result<Vec<Imported>, ImportError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut v = Vec::new();
        match self.state {
            State::Start => {
                return Err(self.fail("the input is empty".into()));
            }
            State::InElement => {
                let id = sniff_id(&self.buf);
                v.push(Imported::Skipped(ImportIssue {
                    index: self.index,
                    id,
                    reason: "the export ends in the middle of this conversation".into(),
                }));
                self.index += 1;
                self.buf = Vec::new();
            }
            State::ExpectElement | State::AfterElement => {
                // Missing `]`: everything complete was already yielded; tolerate it.
            }
            State::Done | State::Failed => {}
        }
        self.state = State::Done;
        Ok(v)
    }

    fn fail(&mut self, msg: String) -> ImportError {
        let e = ImportError::NotAnExport(msg);
        self.error = Some(e.clone());
        self.state = State::Failed;
        e
    }

    fn begin_element(&mut self) {
        self.state = State::InElement;
        self.depth = 0;
        self.in_string = false;
        self.escape = false;
        self.buf.clear();
    }

    /// Scans `chunk[start..]` for the end of the current element; returns where scanning
    /// stopped. Completed elements are parsed and sent to `out`.
    fn scan_element(&mut self, chunk: &[u8], start: usize, out: &mut impl FnMut(Imported, &[u8])) -> usize {
        let mut i = start;
        let n = chunk.len();
        let mut depth = self.depth;
        let mut in_string = self.in_string;
        let mut escape = self.escape;
        // `end` is Some(index after the last byte of the element) once found; `consume` tells
        // whether the terminating byte belongs to the element.
        let mut end: Option<usize> = None;
        while i < n {
            if in_string {
                // Fast skip to the next quote or backslash.
                if escape {
                    escape = false;
                    i += 1;
                    continue;
                }
                match chunk[i..].iter().position(|&b| b == b'"' || b == b'\\') {
                    Some(p) => {
                        i += p;
                        if chunk[i] == b'\\' {
                            escape = true;
                        } else {
                            in_string = false;
                        }
                        i += 1;
                    }
                    None => i = n,
                }
                continue;
            }
            match chunk[i] {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        // The array closes after a scalar element.
                        end = Some(i);
                        break;
                    }
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                b',' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        self.depth = depth;
        self.in_string = in_string;
        self.escape = escape;
        match end {
            None => {
                self.buf.extend_from_slice(&chunk[start..n]);
                n
            }
            Some(e) => {
                let element: &[u8] = if self.buf.is_empty() {
                    &chunk[start..e]
                } else {
                    self.buf.extend_from_slice(&chunk[start..e]);
                    &self.buf
                };
                let item = parse_element(self.index, element);
                out(item, element.trim_ascii());
                self.index += 1;
                self.buf.clear();
                if self.buf.capacity() > 16 << 20 {
                    self.buf = Vec::new();
                }
                self.state = if self.single { State::Done } else { State::AfterElement };
                e
            }
        }
    }
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() { format!("'{}'", b as char) } else { format!("byte 0x{b:02x}") }
}

/// Parses one top-level element into a conversation or an issue.
fn parse_element(index: usize, bytes: &[u8]) -> Imported {
    let trimmed = trim_ascii(bytes);
    match serde_json::from_slice::<Conversation>(trimmed) {
        Ok(c) => Imported::Conversation(Box::new(c)),
        Err(e) => Imported::Skipped(ImportIssue { index, id: sniff_id(trimmed), reason: e.to_string() }),
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Finds the conversation id in a (possibly broken) element: the last top-level `"id"` or
/// `"conversation_id"` string, read with a cheap scan.
fn sniff_id(bytes: &[u8]) -> Option<String> {
    if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(bytes) {
        return m.get("id").or_else(|| m.get("conversation_id")).and_then(Value::as_str).map(str::to_string);
    }
    // Broken JSON: look for `"conversation_id": "..."` or a top-level `"id": "..."` textually.
    let text = String::from_utf8_lossy(bytes);
    for key in ["\"conversation_id\"", "\"id\""] {
        // Top-level keys of an export are written after `mapping`, so take the last hit.
        if let Some(pos) = text.rfind(key) {
            let rest = text[pos + key.len()..].trim_start();
            let rest = rest.strip_prefix(':')?.trim_start();
            let rest = rest.strip_prefix('"')?;
            let endq = rest.find('"')?;
            let id = &rest[..endq];
            if !id.is_empty() && id.len() <= 200 {
                return Some(id.to_string());
            }
        }
    }
    None
}

/// Reads a whole export held in memory (a JSON document), splitting it element by element.
pub fn read_json(bytes: &[u8]) -> Result<Vec<Imported>, ImportError> {
    let mut r = ExportReader::new();
    let mut v = r.feed(bytes)?;
    v.extend(r.finish()?);
    Ok(v)
}

/// Reads an export held in memory: a zip archive (by its magic bytes) or a JSON document.
pub fn read_any(bytes: &[u8], out: &mut impl FnMut(Imported)) -> Result<(), ImportError> {
    if is_zip(bytes) {
        read_zip(bytes, out)
    } else {
        let mut r = ExportReader::new();
        r.feed_with(bytes, out)?;
        r.finish()?.into_iter().for_each(&mut *out);
        Ok(())
    }
}

/// True if the bytes start like a zip archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

// ---------------------------------------------------------------------------------------------
// Zip

/// One file entry of a zip archive, from its central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// The path inside the archive.
    pub name: String,
    /// 0 = stored, 8 = deflate.
    pub method: u16,
    /// Compressed size in bytes.
    pub compressed_size: u64,
    /// Uncompressed size in bytes.
    pub size: u64,
    /// Offset of the local file header.
    pub header_offset: u64,
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, ImportError> {
    at.checked_add(2)
        .and_then(|e| b.get(at..e))
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| ImportError::Zip("truncated archive".into()))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ImportError> {
    at.checked_add(4)
        .and_then(|e| b.get(at..e))
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| ImportError::Zip("truncated archive".into()))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, ImportError> {
    at.checked_add(8)
        .and_then(|e| b.get(at..e))
        .map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
        .ok_or_else(|| ImportError::Zip("truncated archive".into()))
}

/// Lists the file entries of a zip archive held in memory (reads the central directory;
/// zip64 sizes and offsets are understood).
pub fn zip_entries(b: &[u8]) -> Result<Vec<ZipEntry>, ImportError> {
    const EOCD: u32 = 0x0605_4b50;
    if b.len() < 22 {
        return Err(ImportError::Zip("too short to be a zip archive".into()));
    }
    let lowest = b.len().saturating_sub(22 + 65_535);
    let mut eocd = None;
    let mut p = b.len() - 22;
    loop {
        if u32_at(b, p)? == EOCD {
            eocd = Some(p);
            break;
        }
        if p == lowest {
            break;
        }
        p -= 1;
    }
    let eocd = eocd.ok_or_else(|| ImportError::Zip("no end of central directory record".into()))?;
    let mut count = u64::from(u16_at(b, eocd + 10)?);
    let mut cd_size = u64::from(u32_at(b, eocd + 12)?);
    let mut cd_offset = u64::from(u32_at(b, eocd + 16)?);
    // Zip64 end of central directory locator sits just before the EOCD.
    if eocd >= 20 && u32_at(b, eocd - 20)? == 0x0706_4b50 {
        let z64 = usize::try_from(u64_at(b, eocd - 12)?)
            .map_err(|_| ImportError::Zip("bad zip64 offset".into()))?;
        if u32_at(b, z64)? == 0x0606_4b50 {
            count = u64_at(b, z64 + 32)?;
            cd_size = u64_at(b, z64 + 40)?;
            cd_offset = u64_at(b, z64 + 48)?;
        }
    }
    let start = usize::try_from(cd_offset).map_err(|_| ImportError::Zip("bad directory offset".into()))?;
    let end = start
        .checked_add(usize::try_from(cd_size).unwrap_or(usize::MAX))
        .filter(|&e| e <= b.len())
        .ok_or_else(|| ImportError::Zip("central directory out of bounds".into()))?;
    let mut entries = Vec::new();
    let mut at = start;
    while entries.len() < count as usize && at + 46 <= end {
        if u32_at(b, at)? != 0x0201_4b50 {
            return Err(ImportError::Zip("bad central directory entry".into()));
        }
        let method = u16_at(b, at + 10)?;
        let mut csize = u64::from(u32_at(b, at + 20)?);
        let mut usize_ = u64::from(u32_at(b, at + 24)?);
        let name_len = usize::from(u16_at(b, at + 28)?);
        let extra_len = usize::from(u16_at(b, at + 30)?);
        let comment_len = usize::from(u16_at(b, at + 32)?);
        let mut offset = u64::from(u32_at(b, at + 42)?);
        let name_bytes = b
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| ImportError::Zip("truncated entry name".into()))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        // Zip64 extended information (id 1): the fields that are 0xFFFFFFFF, in order.
        let mut x = at + 46 + name_len;
        let xend = x + extra_len;
        while x + 4 <= xend {
            let id = u16_at(b, x)?;
            let len = usize::from(u16_at(b, x + 2)?);
            if id == 1 {
                let mut f = x + 4;
                if usize_ == 0xFFFF_FFFF {
                    usize_ = u64_at(b, f)?;
                    f += 8;
                }
                if csize == 0xFFFF_FFFF {
                    csize = u64_at(b, f)?;
                    f += 8;
                }
                if offset == 0xFFFF_FFFF {
                    offset = u64_at(b, f)?;
                }
            }
            x += 4 + len;
        }
        entries.push(ZipEntry { name, method, compressed_size: csize, size: usize_, header_offset: offset });
        at = xend + comment_len;
    }
    Ok(entries)
}

/// The compressed bytes of an entry, located through its local header.
fn entry_data<'a>(b: &'a [u8], e: &ZipEntry) -> Result<&'a [u8], ImportError> {
    let h = usize::try_from(e.header_offset).map_err(|_| ImportError::Zip("bad entry offset".into()))?;
    if u32_at(b, h)? != 0x0403_4b50 {
        return Err(ImportError::Zip(format!("bad local header for {}", e.name)));
    }
    let name_len = usize::from(u16_at(b, h + 26)?);
    let extra_len = usize::from(u16_at(b, h + 28)?);
    let data = h + 30 + name_len + extra_len;
    let len = usize::try_from(e.compressed_size).map_err(|_| ImportError::Zip("entry too large".into()))?;
    b.get(data..data.saturating_add(len)).ok_or_else(|| ImportError::Zip(format!("{} is truncated", e.name)))
}

/// Streams the uncompressed bytes of an entry to `sink` in chunks (deflate is inflated
/// incrementally, so the whole entry is never held uncompressed).
pub fn zip_stream_entry(
    b: &[u8],
    e: &ZipEntry,
    sink: &mut impl FnMut(&[u8]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    use miniz_oxide::inflate::stream::{InflateState, inflate};
    use miniz_oxide::{DataFormat, MZFlush, MZStatus};
    let data = entry_data(b, e)?;
    match e.method {
        0 => {
            for c in data.chunks(1 << 20) {
                sink(c)?;
            }
            Ok(())
        }
        8 => {
            let mut state = InflateState::new_boxed(DataFormat::Raw);
            let mut outbuf = vec![0u8; 1 << 20];
            let mut input = data;
            loop {
                let r = inflate(&mut state, input, &mut outbuf, MZFlush::None);
                input = &input[r.bytes_consumed..];
                if r.bytes_written > 0 {
                    sink(&outbuf[..r.bytes_written])?;
                }
                match r.status {
                    Ok(MZStatus::StreamEnd) => return Ok(()),
                    Ok(_) => {
                        if r.bytes_consumed == 0 && r.bytes_written == 0 {
                            return Err(ImportError::Zip(format!("{}: deflate data ends early", e.name)));
                        }
                    }
                    Err(err) => {
                        return Err(ImportError::Zip(format!("{}: bad deflate data ({err:?})", e.name)));
                    }
                }
            }
        }
        m => Err(ImportError::Zip(format!("{}: unsupported compression method {m}", e.name))),
    }
}

/// The entries of an export zip that hold conversations: `conversations.json` if present,
/// otherwise every `conversations-NNN.json` in name order (at any folder depth).
pub fn conversation_entries(entries: &[ZipEntry]) -> Vec<&ZipEntry> {
    let base = |e: &ZipEntry| e.name.rsplit('/').next().unwrap_or("").to_string();
    let whole: Vec<&ZipEntry> = entries.iter().filter(|e| base(e) == "conversations.json").collect();
    if !whole.is_empty() {
        return whole;
    }
    let mut split: Vec<&ZipEntry> = entries
        .iter()
        .filter(|e| {
            let n = base(e);
            n.strip_prefix("conversations-")
                .and_then(|r| r.strip_suffix(".json"))
                .is_some_and(|mid| !mid.is_empty() && mid.bytes().all(|c| c.is_ascii_digit()))
        })
        .collect();
    split.sort_by(|a, b| a.name.cmp(&b.name));
    split
}

/// Reads every conversation from an export zip held in memory. Element indices in issues
/// count across all the files of the archive.
pub fn read_zip(b: &[u8], out: &mut impl FnMut(Imported)) -> Result<(), ImportError> {
    let entries = zip_entries(b)?;
    let chosen = conversation_entries(&entries);
    if chosen.is_empty() {
        return Err(ImportError::NoConversationsInZip);
    }
    let mut offset = 0usize;
    for e in chosen {
        let mut r = ExportReader::new();
        let mut emit = |item: Imported| {
            out(match item {
                Imported::Skipped(mut i) => {
                    i.index += offset;
                    Imported::Skipped(i)
                }
                c => c,
            })
        };
        zip_stream_entry(b, e, &mut |chunk| r.feed_with(chunk, &mut emit))?;
        for item in r.finish()? {
            emit(item);
        }
        offset += r.elements_seen();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generator

/// A small deterministic pseudo-random generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "to",
    "of",
    "and",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
    "this",
    "be",
    "you",
    "can",
    "use",
    "function",
    "value",
    "error",
    "data",
    "file",
    "rust",
    "python",
    "query",
    "index",
    "server",
    "request",
    "response",
    "memory",
    "thread",
    "async",
    "await",
    "vector",
    "string",
    "parse",
    "cache",
    "browser",
    "extension",
    "network",
    "timeout",
    "retry",
    "model",
    "token",
    "stream",
    "buffer",
    "config",
    "deploy",
    "test",
    "result",
    "option",
    "lifetime",
    "borrow",
    "trait",
    "generic",
    "closure",
    "iterator",
    "database",
    "schema",
    "migration",
    "recipe",
    "garden",
    "travel",
    "budget",
    "invoice",
    "letter",
    "summary",
    "history",
    "physics",
    "energy",
    "café",
    "naïve",
    "résumé",
    "Straße",
    "東京",
    "über",
    "données",
    "español",
    "ciudad",
    "quickly",
    "because",
    "however",
    "example",
    "consider",
    "approach",
    "performance",
    "latency",
    "throughput",
    "benchmark",
    "kernel",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "to", "sha", "vel", "dor", "pi", "na", "que", "tri", "zu", "bel", "gan", "os",
    "er", "in", "al", "um", "sto", "bra", "fen", "gil", "mor", "tas", "vin", "cor", "lex", "nu",
];
/// Distinct words the generator draws from (the common words, then made-up ones).
const VOCABULARY: u64 = 60_000;

/// Picks a word with a Zipf-like distribution (rank r with probability about 1/r), as natural
/// text has: a few very common words and a long tail of rare ones.
fn push_word(rng: &mut Rng, out: &mut String, capital: bool) {
    let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    let rank = (((VOCABULARY + 1) as f64).powf(u) as u64).saturating_sub(1).min(VOCABULARY - 1);
    let start = out.len();
    if let Some(w) = WORDS.get(rank as usize) {
        out.push_str(w);
    } else {
        let mut r = rank;
        loop {
            out.push_str(SYLLABLES[(r % SYLLABLES.len() as u64) as usize]);
            r /= SYLLABLES.len() as u64;
            if r == 0 {
                break;
            }
        }
    }
    if capital && let Some(c) = out[start..].chars().next() {
        let upper: String = c.to_uppercase().collect();
        out.replace_range(start..start + c.len_utf8(), &upper);
    }
}

fn sentence(rng: &mut Rng, out: &mut String) {
    let n = rng.range(6, 18);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        push_word(rng, out, i == 0);
    }
    out.push_str(if rng.below(8) == 0 { "?" } else { "." });
}

fn paragraph_text(rng: &mut Rng, target: usize, code: bool) -> String {
    let mut s = String::with_capacity(target + 64);
    while s.len() < target {
        if !s.is_empty() {
            s.push_str(if rng.below(3) == 0 { "\n\n" } else { " " });
        }
        sentence(rng, &mut s);
        if code && rng.below(6) == 0 {
            s.push_str("\n\n```rust\nfn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?} \\\"quoted\\\" <tag>\", v);\n}\n```\n\n");
        }
    }
    s
}

/// Generates a deterministic, realistic export (a JSON array) of `conversations` conversations
/// with about `messages_each` visible messages each (user and assistant turns with realistic
/// lengths, a hidden system root message, occasional regenerate branches, code and images).
/// Used by benchmarks and end-to-end tests.
pub fn generate_export(conversations: usize, messages_each: usize, seed: u64) -> String {
    let mut rng = Rng(seed ^ 0x5EED_0000_0000_0001);
    let mut out = String::with_capacity(conversations * messages_each * 1200 + 2);
    out.push('[');
    for ci in 0..conversations {
        let conv = generate_conversation(&mut rng, ci, messages_each, seed);
        if ci > 0 {
            out.push_str(", ");
        }
        // Serialising our own model cannot fail: every map key is a string.
        if let Ok(s) = serde_json::to_string(&conv) {
            out.push_str(&s);
        }
    }
    out.push(']');
    out
}

fn generate_conversation(rng: &mut Rng, ci: usize, messages_each: usize, seed: u64) -> Conversation {
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        seed as u32,
        ci & 0xffff,
        ci % 4096,
        rng.below(4096),
        rng.next() & 0xffff_ffff_ffff
    );
    let base_time = 1_700_000_000.0 + (ci as f64) * 3_600.0 + (rng.below(1_000_000) as f64) / 1_000.0;
    let mut conv = Conversation::new(id.clone());
    let mut title = String::new();
    for i in 0..rng.range(2, 6) {
        if i > 0 {
            title.push(' ');
        }
        push_word(rng, &mut title, i == 0);
    }
    conv.title = Some(title);
    conv.create_time = Some(base_time);
    conv.model_slug = Some("gpt-4o".into());
    conv.extra.insert("gizmo_id".into(), Value::Null);
    conv.extra.insert("safe_urls".into(), Value::Array(Vec::new()));
    let root = format!("{id}-root");
    conv.nodes
        .insert(root.clone(), Node { id: root.clone(), parent: None, children: Vec::new(), message: None });
    let mut sys = Message::new(format!("{id}-sys"), Role::System, "");
    sys.hidden = true;
    sys.weight = Some(0.0);
    conv.upsert_message(Some(&root), sys, true);
    let mut parent = format!("{id}-sys");
    let mut t = base_time;
    for mi in 0..messages_each {
        t += 1.0 + (rng.below(90_000) as f64) / 1_000.0;
        let user = mi % 2 == 0;
        let mid = format!("{id}-m{mi}");
        let mut m = if user {
            let len = rng.range(40, 400) as usize;
            Message::new(mid.clone(), Role::User, paragraph_text(rng, len, false))
        } else {
            let len = rng.range(300, 2500) as usize;
            let mut m = Message::new(mid.clone(), Role::Assistant, paragraph_text(rng, len, true));
            m.model_slug = Some("gpt-4o".into());
            m.finish = Some("stop".into());
            m.end_turn = Some(true);
            m
        };
        if user && rng.below(10) == 0 {
            let mut img = Map::new();
            img.insert("content_type".into(), Value::String("image_asset_pointer".into()));
            img.insert("asset_pointer".into(), Value::String(format!("file-service://file-{ci}{mi}")));
            img.insert("width".into(), Value::from(1024));
            img.insert("height".into(), Value::from(768));
            let text = m.content.plain_text();
            m.content = Content {
                kind: ContentKind::Multimodal { parts: vec![Part::Object(img), Part::Text(text)] },
                extra: Map::new(),
            };
        }
        m.create_time = Some(t);
        m.metadata.insert("request_id".into(), Value::String(format!("req-{ci}-{mi}")));
        // Occasionally an abandoned regenerate branch before the kept answer.
        if !user && rng.below(8) == 0 {
            let mut alt = m.clone();
            alt.id = format!("{mid}-alt");
            alt.create_time = Some(t - 0.5);
            conv.upsert_message(Some(&parent), alt, false);
        }
        conv.upsert_message(Some(&parent), m, true);
        parent = mid;
    }
    conv.update_time = Some(t);
    conv
}
