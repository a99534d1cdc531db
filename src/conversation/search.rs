//! Full-text search over many conversations, in memory.
//!
//! Each visible message of a conversation's main line is a document. Text is split into tokens
//! on every character that is not alphanumeric and lowercased (Unicode-aware); CJK ideographs
//! and kana are one token each, so a CJK query matches by characters. Terms are interned
//! (`u32` ids); postings are delta/varint-encoded `(message, term frequency)` lists, appended in
//! message order.
//!
//! A query is a list of words that must all occur in the conversation (AND, by conversation:
//! in its title or any of its messages); the last word also matches as a prefix, for
//! search-as-you-type, unless the query ends with a space. Ranking is BM25 on the best message
//! plus a boost for words found in the title. Each hit carries a snippet around the best
//! message's matches, with highlight ranges as **byte offsets into the snippet** (UTF-8; the web
//! edge converts to UTF-16 if it needs to).
//!
//! Updates are incremental: [`SearchIndex::upsert`] replaces a conversation's documents,
//! [`SearchIndex::remove`] drops them. Removed documents are tombstoned and skipped; the index
//! compacts itself once half of it is dead. Upserting a conversation whose messages did not
//! change keeps their postings, so repeated captures of a streaming reply stay cheap.
//!
//! The index keeps each message's text (for snippets). [`SearchIndex::to_bytes`] and
//! [`SearchIndex::from_bytes`] save and load it in a compact binary form.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use super::model::{Conversation, display_title, main_line};

/// A small fast hasher for interned terms and ids (not DoS resistant; keys are local data).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(a) ^ (rest.len() as u64) << 59).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u128(&mut self, i: u128) {
        let k = 0x517c_c1b7_2722_0a95u64;
        self.0 = (self.0.rotate_left(5) ^ (i as u64)).wrapping_mul(k);
        self.0 = (self.0.rotate_left(5) ^ ((i >> 64) as u64)).wrapping_mul(k);
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        // Final mix so that the low bits (the table index) depend on every input byte.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// `doc_conv` value of a removed document.
const DEAD: u32 = u32::MAX;
/// Most postings a prefix expansion may add to a query (beyond the exact word).
const PREFIX_BUDGET: u64 = 250_000;

/// Longest token indexed, in bytes (longer runs are base64, hashes...: skipped).
const MAX_TOKEN: usize = 64;
/// BM25 parameters.
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Weight of a query word found in the title, relative to its idf.
const TITLE_BOOST: f32 = 2.5;
/// Weight of a prefix expansion that is not the exact word.
const PREFIX_WEIGHT: f32 = 0.7;
/// Most terms a prefix expands to.
const MAX_EXPANSIONS: usize = 256;
/// Most query words considered.
const MAX_QUERY_WORDS: usize = 16;
/// Target snippet length in bytes.
const SNIPPET_BYTES: usize = 160;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Splits `text` into lowercase tokens; calls `f(token, byte range in text)` for each token of at
/// most 64 bytes.
pub fn tokenize(text: &str, buf: &mut String, mut f: impl FnMut(&str, Range<usize>)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut start: Option<usize> = None;
    buf.clear();
    macro_rules! flush {
        ($end:expr) => {
            if let Some(s) = start.take() {
                if buf.len() <= MAX_TOKEN {
                    f(buf, s..$end);
                }
                buf.clear();
            }
        };
    }
    let n = bytes.len();
    while i < n {
        let b = bytes[i];
        if b < 128 {
            if !b.is_ascii_alphanumeric() {
                flush!(i);
                i += 1;
                continue;
            }
            // A run of ASCII letters and digits: borrowed as is when it is the whole token and
            // already lowercase.
            let s = i;
            let mut upper = false;
            while i < n && bytes[i].is_ascii_alphanumeric() {
                upper |= bytes[i].is_ascii_uppercase();
                i += 1;
            }
            let continues = i < n && bytes[i] >= 128;
            if start.is_none() && !continues {
                if i - s <= MAX_TOKEN {
                    if upper {
                        buf.push_str(&text[s..i]);
                        buf.make_ascii_lowercase();
                        f(buf, s..i);
                        buf.clear();
                    } else {
                        f(&text[s..i], s..i);
                    }
                }
                continue;
            }
            if start.is_none() {
                start = Some(s);
            }
            buf.extend(bytes[s..i].iter().map(|c| c.to_ascii_lowercase() as char));
            continue;
        }
        let Some(c) = text.get(i..).and_then(|s| s.chars().next()) else { break };
        let l = c.len_utf8();
        if is_cjk(c) {
            flush!(i);
            buf.push(c);
            f(buf, i..i + l);
            buf.clear();
        } else if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            buf.extend(c.to_lowercase());
        } else {
            flush!(i);
        }
        i += l;
    }
    flush!(bytes.len());
}

/// Term string to id. Terms of up to 15 bytes (nearly all) are packed into a `u128` key, so a
/// lookup neither follows a pointer nor calls `memcmp`.
#[derive(Debug, Default, Clone)]
struct TermMap {
    short: FastMap<u128, u32>,
    long: FastMap<Box<str>, u32>,
}

fn pack(t: &str) -> Option<u128> {
    let b = t.as_bytes();
    if b.len() > 15 {
        return None;
    }
    let mut a = [0u8; 16];
    a[..b.len()].copy_from_slice(b);
    a[15] = b.len() as u8;
    Some(u128::from_le_bytes(a))
}

impl TermMap {
    fn get(&self, t: &str) -> Option<&u32> {
        match pack(t) {
            Some(k) => self.short.get(&k),
            None => self.long.get(t),
        }
    }

    fn insert(&mut self, t: &str, id: u32) {
        match pack(t) {
            Some(k) => self.short.insert(k, id),
            None => self.long.insert(t.into(), id),
        };
    }
}

#[derive(Debug, Default, Clone)]
struct PostingList {
    bytes: Vec<u8>,
    last_doc: u32,
    count: u32,
}

fn put_varint(v: &mut Vec<u8>, mut x: u32) {
    while x >= 0x80 {
        v.push((x as u8) | 0x80);
        x >>= 7;
    }
    v.push(x as u8);
}

fn get_varint(b: &[u8], i: &mut usize) -> u32 {
    let mut x = 0u32;
    let mut shift = 0;
    while let Some(&byte) = b.get(*i) {
        *i += 1;
        x |= u32::from(byte & 0x7f) << shift;
        if byte < 0x80 || shift >= 28 {
            break;
        }
        shift += 7;
    }
    x
}

impl PostingList {
    fn push(&mut self, doc: u32, tf: u32) {
        let delta = if self.count == 0 { doc } else { doc - self.last_doc };
        put_varint(&mut self.bytes, delta);
        put_varint(&mut self.bytes, tf);
        self.last_doc = doc;
        self.count += 1;
    }

    fn for_each(&self, mut f: impl FnMut(u32, u32)) {
        let mut i = 0;
        let mut doc = 0u32;
        for n in 0..self.count {
            let d = get_varint(&self.bytes, &mut i);
            doc = if n == 0 { d } else { doc.wrapping_add(d) };
            let tf = get_varint(&self.bytes, &mut i);
            f(doc, tf);
        }
    }
}

#[derive(Debug, Clone)]
struct Doc {
    len: u32,
    message_id: Box<str>,
    text: Box<str>,
}

#[derive(Debug, Clone)]
struct ConvEntry {
    id: Box<str>,
    title: Box<str>,
    docs: Vec<u32>,
}

/// What the index keeps of one conversation: its id, title and the text of each visible
/// message of its main line, extracted ahead of time so indexing can happen later (off the
/// import's critical path) without keeping the whole conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexDocs {
    /// The conversation id.
    pub id: String,
    /// The title (empty if none).
    pub title: String,
    /// `(message id, text)` of each visible message with text, in main-line order.
    pub docs: Vec<(String, Box<str>)>,
}

impl IndexDocs {
    /// The documents of a conversation, as [`SearchIndex::upsert`] would index them.
    pub fn of(conv: &Conversation) -> IndexDocs {
        let mut text = String::new();
        let docs = main_line(conv)
            .into_iter()
            .filter_map(|m| {
                text.clear();
                m.content.append_text(&mut text);
                (!text.is_empty()).then(|| (m.id.clone(), Box::<str>::from(text.as_str())))
            })
            .collect();
        IndexDocs { id: conv.id.clone(), title: display_title(conv).unwrap_or_default(), docs }
    }
}

/// One search result: a conversation, its best message and a highlighted snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The conversation id.
    pub conversation_id: String,
    /// The conversation title (empty if none).
    pub title: String,
    /// Byte ranges of matches in `title`.
    pub title_highlights: Vec<Range<usize>>,
    /// The best matching message, if a message matched (not only the title).
    pub message_id: Option<String>,
    /// Text around the best match, `…` marking cuts; newlines turned into spaces.
    pub snippet: String,
    /// Byte ranges of matches in `snippet`.
    pub highlights: Vec<Range<usize>>,
    /// The ranking score (higher is better).
    pub score: f32,
}

/// Sizes of the index, for reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Live conversations.
    pub conversations: usize,
    /// Live messages (documents).
    pub messages: usize,
    /// Distinct terms.
    pub terms: usize,
    /// Postings stored (including tombstoned documents).
    pub postings: u64,
    /// Bytes used by encoded postings.
    pub posting_bytes: usize,
}

/// An in-memory inverted index over conversations.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    term_ids: TermMap,
    term_strs: Vec<Box<str>>,
    /// Term ids sorted by their string (for prefix search), plus terms added since.
    sorted: Vec<u32>,
    unsorted: Vec<u32>,
    postings: Vec<PostingList>,
    title_postings: FastMap<u32, Vec<u32>>,
    docs: Vec<Option<Doc>>,
    /// Per document: its conversation slot (`DEAD` once removed) and its length in tokens.
    doc_conv: Vec<u32>,
    doc_len: Vec<u32>,
    convs: Vec<Option<ConvEntry>>,
    conv_slots: FastMap<Box<str>, u32>,
    live_docs: u32,
    dead_docs: u32,
    total_len: u64,
    scratch: Vec<u32>,
}

/// One query word and the terms it matches.
struct Group {
    text: String,
    prefix: bool,
    terms: Vec<(u32, f32)>,
}

impl SearchIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index over many conversations.
    pub fn build<'a>(convs: impl IntoIterator<Item = &'a Conversation>) -> Self {
        let mut ix = Self::new();
        for c in convs {
            ix.upsert(c);
        }
        ix.sort_terms();
        ix
    }

    /// Sizes of the index.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            conversations: self.conv_slots.len(),
            messages: self.live_docs as usize,
            terms: self.term_strs.len(),
            postings: self.postings.iter().map(|p| u64::from(p.count)).sum(),
            posting_bytes: self.postings.iter().map(|p| p.bytes.len()).sum(),
        }
    }

    /// True if the conversation is indexed.
    pub fn contains(&self, id: &str) -> bool {
        self.conv_slots.contains_key(id)
    }

    fn term_id(&mut self, t: &str) -> u32 {
        if let Some(&id) = self.term_ids.get(t) {
            return id;
        }
        let id = self.term_strs.len() as u32;
        self.term_ids.insert(t, id);
        self.term_strs.push(t.into());
        self.postings.push(PostingList::default());
        self.unsorted.push(id);
        id
    }

    fn sort_terms(&mut self) {
        if self.unsorted.is_empty() {
            return;
        }
        self.sorted.append(&mut self.unsorted);
        let strs = &self.term_strs;
        self.sorted.sort_unstable_by(|&a, &b| strs[a as usize].cmp(&strs[b as usize]));
    }

    /// Adds or replaces a conversation: its title and the visible messages of its main line.
    /// Replacing is incremental: messages whose text is unchanged keep their postings, so a
    /// capture that upserts the same conversation while a reply streams only re-indexes the
    /// message that grew.
    pub fn upsert(&mut self, conv: &Conversation) {
        let mut text = String::new();
        let docs = main_line(conv).into_iter().filter_map(|m| {
            text.clear();
            m.content.append_text(&mut text);
            (!text.is_empty()).then(|| (m.id.as_str(), Box::<str>::from(text.as_str())))
        });
        self.upsert_parts(&conv.id, conv.title.as_deref().unwrap_or(""), docs);
    }

    /// Adds or replaces a conversation from texts extracted earlier (see [`IndexDocs`]).
    pub fn upsert_docs(&mut self, docs: IndexDocs) {
        let IndexDocs { id, title, docs } = docs;
        self.upsert_parts(&id, &title, docs.into_iter());
    }

    fn upsert_parts<M: AsRef<str>>(
        &mut self,
        id: &str,
        title: &str,
        messages: impl Iterator<Item = (M, Box<str>)>,
    ) {
        let title: Box<str> = title.into();
        let mut buf = String::new();
        let mut ids = std::mem::take(&mut self.scratch);
        let (slot, mut old_docs, title_changed) = match self.conv_slots.get(id).copied() {
            Some(slot) => match self.convs.get_mut(slot as usize).and_then(Option::take) {
                Some(old) => {
                    let changed = old.title != title;
                    if changed {
                        // Drop the slot from the postings of the old title's terms.
                        ids.clear();
                        tokenize(&old.title, &mut buf, |t, _| ids.extend(self.term_ids.get(t)));
                        for t in &ids {
                            if let Some(list) = self.title_postings.get_mut(t) {
                                list.retain(|&c| c != slot);
                            }
                        }
                    }
                    (slot, old.docs, changed)
                }
                None => (slot, Vec::new(), true),
            },
            None => {
                let slot = self.convs.len() as u32;
                self.convs.push(None);
                self.conv_slots.insert(id.into(), slot);
                (slot, Vec::new(), true)
            }
        };
        if title_changed {
            ids.clear();
            tokenize(&title, &mut buf, |t, _| {
                ids.push(self_term(
                    &mut self.term_ids,
                    &mut self.term_strs,
                    &mut self.postings,
                    &mut self.unsorted,
                    t,
                ))
            });
            ids.sort_unstable();
            ids.dedup();
            for &t in &ids {
                self.title_postings.entry(t).or_default().push(slot);
            }
        }
        let mut docs = Vec::new();
        for (message_id, text) in messages {
            let message_id = message_id.as_ref();
            if text.is_empty() {
                continue;
            }
            // Unchanged message: keep its document.
            let same = old_docs.iter().position(|&d| {
                self.docs
                    .get(d as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|doc| *doc.message_id == *message_id && doc.text == text)
            });
            if let Some(p) = same {
                docs.push(old_docs.swap_remove(p));
                continue;
            }
            ids.clear();
            tokenize(&text, &mut buf, |t, _| {
                ids.push(self_term(
                    &mut self.term_ids,
                    &mut self.term_strs,
                    &mut self.postings,
                    &mut self.unsorted,
                    t,
                ))
            });
            let doc = self.docs.len() as u32;
            let len = ids.len() as u32;
            ids.sort_unstable();
            let mut i = 0;
            while i < ids.len() {
                let t = ids[i];
                let mut j = i + 1;
                while j < ids.len() && ids[j] == t {
                    j += 1;
                }
                self.postings[t as usize].push(doc, (j - i) as u32);
                i = j;
            }
            self.doc_conv.push(slot);
            self.doc_len.push(len);
            self.docs.push(Some(Doc { len, message_id: message_id.into(), text }));
            self.live_docs += 1;
            self.total_len += u64::from(len);
            docs.push(doc);
        }
        for d in old_docs {
            self.tombstone(d);
        }
        self.scratch = ids;
        if let Some(e) = self.convs.get_mut(slot as usize) {
            *e = Some(ConvEntry { id: id.into(), title, docs });
        }
        // Sorting merges the new terms into every sorted one: wait until the new ones are a fair
        // share of them, so a bulk build sorts O(log n) times rather than once per 4096 terms.
        if self.unsorted.len() > 4096.max(self.sorted.len() / 4) {
            self.sort_terms();
        }
        self.maybe_compact();
    }

    fn tombstone(&mut self, d: u32) {
        if let Some(c) = self.doc_conv.get_mut(d as usize) {
            *c = DEAD;
        }
        if let Some(doc) = self.docs.get_mut(d as usize).and_then(Option::take) {
            self.live_docs -= 1;
            self.dead_docs += 1;
            self.total_len -= u64::from(doc.len);
        }
    }

    fn maybe_compact(&mut self) {
        if self.dead_docs > 10_000 && self.dead_docs > self.live_docs {
            self.compact();
        }
    }

    /// Removes a conversation; returns whether it was indexed.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.conv_slots.remove(id) else { return false };
        if let Some(entry) = self.convs.get_mut(slot as usize).and_then(Option::take) {
            for d in entry.docs {
                self.tombstone(d);
            }
        }
        self.maybe_compact();
        true
    }

    /// Rebuilds the postings without removed documents.
    pub fn compact(&mut self) {
        let old_docs = std::mem::take(&mut self.docs);
        let old_convs = std::mem::take(&mut self.convs);
        let mut fresh = SearchIndex::new();
        for entry in old_convs.into_iter().flatten() {
            let slot = fresh.convs.len() as u32;
            let mut buf = String::new();
            let mut ids = Vec::new();
            tokenize(&entry.title, &mut buf, |t, _| ids.push(fresh.term_id(t)));
            ids.sort_unstable();
            ids.dedup();
            for &t in &ids {
                fresh.title_postings.entry(t).or_default().push(slot);
            }
            let mut docs = Vec::new();
            for d in &entry.docs {
                let Some(Some(doc)) = old_docs.get(*d as usize) else { continue };
                ids.clear();
                tokenize(&doc.text, &mut buf, |t, _| ids.push(fresh.term_id(t)));
                ids.sort_unstable();
                let nd = fresh.docs.len() as u32;
                let mut i = 0;
                while i < ids.len() {
                    let t = ids[i];
                    let mut j = i + 1;
                    while j < ids.len() && ids[j] == t {
                        j += 1;
                    }
                    fresh.postings[t as usize].push(nd, (j - i) as u32);
                    i = j;
                }
                fresh.doc_conv.push(slot);
                fresh.doc_len.push(doc.len);
                fresh.docs.push(Some(doc.clone()));
                fresh.live_docs += 1;
                fresh.total_len += u64::from(doc.len);
                docs.push(nd);
            }
            fresh.conv_slots.insert(entry.id.clone(), slot);
            fresh.convs.push(Some(ConvEntry { docs, ..entry }));
        }
        fresh.sort_terms();
        *self = fresh;
    }

    fn groups(&self, query: &str) -> Vec<Group> {
        let mut words: Vec<String> = Vec::new();
        let mut buf = String::new();
        tokenize(query, &mut buf, |t, _| words.push(t.to_string()));
        words.truncate(MAX_QUERY_WORDS);
        let ends_open = query.chars().last().is_some_and(|c| c.is_alphanumeric());
        let n = words.len();
        let mut groups = Vec::with_capacity(n);
        for (i, w) in words.into_iter().enumerate() {
            let prefix = ends_open && i + 1 == n;
            let mut terms = Vec::new();
            if prefix {
                // Every term starting with the word; the exact word first, then the most frequent
                // completions while the posting budget lasts.
                let strs = &self.term_strs;
                let start = self.sorted.partition_point(|&t| *strs[t as usize] < *w);
                let mut cands: Vec<u32> = self.sorted[start..]
                    .iter()
                    .take_while(|&&t| strs[t as usize].starts_with(w.as_str()))
                    .copied()
                    .collect();
                cands.extend(self.unsorted.iter().filter(|&&t| strs[t as usize].starts_with(w.as_str())));
                let count = |t: u32| self.postings[t as usize].count;
                cands.sort_unstable_by(|&a, &b| {
                    let ea = *strs[a as usize] == *w;
                    let eb = *strs[b as usize] == *w;
                    eb.cmp(&ea).then(count(b).cmp(&count(a))).then(a.cmp(&b))
                });
                let mut spent = 0u64;
                for t in cands {
                    let exact = *strs[t as usize] == *w;
                    if !exact
                        && (terms.len() >= MAX_EXPANSIONS
                            || (spent > 0 && spent + u64::from(count(t)) > PREFIX_BUDGET))
                    {
                        break;
                    }
                    if !exact {
                        spent += u64::from(count(t));
                    }
                    terms.push((t, if exact { 1.0 } else { PREFIX_WEIGHT }));
                }
            } else if let Some(&t) = self.term_ids.get(w.as_str()) {
                terms.push((t, 1.0));
            }
            groups.push(Group { text: w, prefix, terms });
        }
        groups
    }

    /// Searches; returns at most `limit` conversations, best first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        let groups = self.groups(query);
        if groups.is_empty() || limit == 0 || groups.iter().any(|g| g.terms.is_empty()) {
            return Vec::new();
        }
        let n_docs = self.live_docs.max(1) as f32;
        let avg_len = (self.total_len as f32 / n_docs).max(1.0);
        let n_convs = self.conv_slots.len().max(1) as f32;
        let full: u32 = if groups.len() >= 32 { u32::MAX } else { (1u32 << groups.len()) - 1 };
        let nd = self.doc_conv.len();
        let mut doc_score = vec![0f32; nd];
        let mut doc_mask = vec![0u32; nd];
        let mut touched: Vec<u32> = Vec::new();
        let mut conv_mask = vec![0u32; self.convs.len()];
        let mut title_score = vec![0f32; self.convs.len()];
        let mut title_mask = vec![0u32; self.convs.len()];
        let mut touched_convs: Vec<u32> = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let bit = 1u32 << g.min(31);
            for &(term, w) in &group.terms {
                let pl = &self.postings[term as usize];
                let df = pl.count.max(1) as f32;
                let idf = ((n_docs - df + 0.5) / (df + 0.5) + 1.0).ln() * w;
                pl.for_each(|doc, tf| {
                    let d = doc as usize;
                    let (Some(&conv), Some(&len)) = (self.doc_conv.get(d), self.doc_len.get(d)) else {
                        return;
                    };
                    if conv == DEAD {
                        return;
                    }
                    let tf = tf as f32;
                    let s = idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len as f32 / avg_len));
                    if doc_mask[d] == 0 {
                        touched.push(doc);
                    }
                    doc_score[d] += s;
                    doc_mask[d] |= bit;
                    let cm = &mut conv_mask[conv as usize];
                    if *cm == 0 {
                        touched_convs.push(conv);
                    }
                    *cm |= bit;
                });
                if let Some(cs) = self.title_postings.get(&term) {
                    let tdf = cs.len() as f32;
                    let tidf = ((n_convs - tdf + 0.5) / (tdf + 0.5) + 1.0).ln();
                    for &c in cs {
                        if self.convs.get(c as usize).is_some_and(Option::is_some) {
                            let cm = &mut conv_mask[c as usize];
                            if *cm == 0 {
                                touched_convs.push(c);
                            }
                            if title_mask[c as usize] & bit == 0 {
                                title_mask[c as usize] |= bit;
                                title_score[c as usize] += w * tidf * TITLE_BOOST;
                            }
                            *cm |= bit;
                        }
                    }
                }
            }
        }
        // Best message per fully matching conversation: more query words in one message first.
        let mut best: Vec<(f32, u32)> = vec![(f32::MIN, u32::MAX); self.convs.len()];
        for &doc in &touched {
            let d = doc as usize;
            let conv = self.doc_conv[d] as usize;
            if conv_mask[conv] != full {
                continue;
            }
            let cover = doc_mask[d].count_ones() as f32 / groups.len() as f32;
            let s = doc_score[d] * (0.5 + 0.5 * cover);
            let e = &mut best[conv];
            if s > e.0 || (s == e.0 && doc < e.1) {
                *e = (s, doc);
            }
        }
        let mut ranked: Vec<(f32, u32, Option<u32>)> = touched_convs
            .iter()
            .filter(|&&c| conv_mask[c as usize] == full)
            .map(|&c| {
                let (s, doc) = best[c as usize];
                let s = if doc == u32::MAX { 0.0 } else { s };
                (s + title_score[c as usize], c, (doc != u32::MAX).then_some(doc))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.truncate(limit);
        ranked
            .into_iter()
            .filter_map(|(score, c, doc)| {
                let entry = self.convs.get(c as usize)?.as_ref()?;
                let title_highlights = highlight_ranges(&entry.title, &groups);
                let (message_id, snippet, highlights) =
                    match doc.and_then(|d| self.docs.get(d as usize)?.as_ref()) {
                        Some(d) => {
                            let (s, h) = snippet(&d.text, &groups);
                            (Some(d.message_id.to_string()), s, h)
                        }
                        None => (None, String::new(), Vec::new()),
                    };
                Some(SearchHit {
                    conversation_id: entry.id.to_string(),
                    title: entry.title.to_string(),
                    title_highlights,
                    message_id,
                    snippet,
                    highlights,
                    score,
                })
            })
            .collect()
    }
}

/// Interns a term (a free function so `upsert` can borrow fields separately).
fn self_term(
    ids: &mut TermMap,
    strs: &mut Vec<Box<str>>,
    postings: &mut Vec<PostingList>,
    unsorted: &mut Vec<u32>,
    t: &str,
) -> u32 {
    if let Some(&id) = ids.get(t) {
        return id;
    }
    let id = strs.len() as u32;
    ids.insert(t, id);
    strs.push(t.into());
    postings.push(PostingList::default());
    unsorted.push(id);
    id
}

fn token_matches(t: &str, groups: &[Group]) -> Option<usize> {
    groups.iter().position(|g| if g.prefix { t.starts_with(g.text.as_str()) } else { t == g.text })
}

/// Byte ranges in `text` of tokens matching the query.
fn highlight_ranges(text: &str, groups: &[Group]) -> Vec<Range<usize>> {
    let mut v = Vec::new();
    let mut buf = String::new();
    tokenize(text, &mut buf, |t, r| {
        if token_matches(t, groups).is_some() {
            v.push(r);
        }
    });
    v
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A snippet of `text` around the densest cluster of matches, with highlight ranges relative
/// to the snippet.
fn snippet(text: &str, groups: &[Group]) -> (String, Vec<Range<usize>>) {
    let mut hits: Vec<(Range<usize>, usize)> = Vec::new();
    let mut buf = String::new();
    tokenize(text, &mut buf, |t, r| {
        if let Some(g) = token_matches(t, groups) {
            hits.push((r, g));
        }
    });
    // Pick the hit whose window covers the most distinct query words, then the most hits.
    let mut best = (0usize, 0usize, 0usize);
    for (i, (r, _)) in hits.iter().enumerate() {
        let mut seen = 0u32;
        let mut count = 0;
        for (r2, g2) in hits[i..].iter() {
            if r2.end > r.start + SNIPPET_BYTES {
                break;
            }
            seen |= 1 << (*g2).min(31);
            count += 1;
        }
        let key = (seen.count_ones() as usize, count);
        if i == 0 || key > (best.1, best.2) {
            best = (i, key.0, key.1);
        }
    }
    let anchor = hits.get(best.0).map_or(0, |(r, _)| r.start);
    let mut start = floor_boundary(text, anchor.saturating_sub(SNIPPET_BYTES / 4));
    if start > 0 {
        // Start at a word boundary when one is near.
        if let Some(p) = text[start..anchor].find(char::is_whitespace) {
            start = ceil_boundary(text, start + p + 1);
        }
    }
    let mut end = ceil_boundary(text, start + SNIPPET_BYTES);
    if end < text.len()
        && let Some(p) = text[anchor.max(start)..end].rfind(char::is_whitespace)
        && anchor.max(start) + p > anchor
    {
        end = anchor.max(start) + p;
    }
    let lead = if start > 0 { "…" } else { "" };
    let tail = if end < text.len() { "…" } else { "" };
    let body: String =
        text[start..end].chars().map(|c| if c == '\n' || c == '\r' || c == '\t' { ' ' } else { c }).collect();
    let snippet = format!("{lead}{body}{tail}");
    let shift = lead.len();
    let ranges = hits
        .into_iter()
        .filter(|(r, _)| r.start >= start && r.end <= end)
        .map(|(r, _)| r.start - start + shift..r.end - start + shift)
        .collect();
    (snippet, ranges)
}

// ---------------------------------------------------------------------------------------------
// Persistence

/// Why a saved index could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLoadError(pub String);

impl std::fmt::Display for IndexLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot load the search index: {}", self.0)
    }
}

impl std::error::Error for IndexLoadError {}

const MAGIC: &[u8; 4] = b"USIX";
const FORMAT_VERSION: u32 = 1;

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexLoadError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| IndexLoadError("truncated data".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, IndexLoadError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, IndexLoadError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// A count of items each at least `min_size` bytes long, checked against what is left.
    fn count(&mut self, min_size: usize) -> Result<usize, IndexLoadError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.b.len() - self.at {
            return Err(IndexLoadError("count larger than the data".into()));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<Box<str>, IndexLoadError> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        std::str::from_utf8(s).map(Into::into).map_err(|_| IndexLoadError("invalid UTF-8".into()))
    }
}

impl SearchIndex {
    /// Saves the index (terms, postings, documents) in a compact binary form, so it can be
    /// persisted and loaded without re-tokenising every message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.postings.iter().map(|p| p.bytes.len() + 12).sum::<usize>() + 1024);
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, FORMAT_VERSION);
        put_u32(&mut out, self.term_strs.len() as u32);
        for t in &self.term_strs {
            put_str(&mut out, t);
        }
        for p in &self.postings {
            put_u32(&mut out, p.count);
            put_u32(&mut out, p.last_doc);
            put_u32(&mut out, p.bytes.len() as u32);
            out.extend_from_slice(&p.bytes);
        }
        let mut titles: Vec<(&u32, &Vec<u32>)> = self.title_postings.iter().collect();
        titles.sort_unstable_by_key(|(t, _)| **t);
        put_u32(&mut out, titles.len() as u32);
        for (t, slots) in titles {
            put_u32(&mut out, *t);
            put_u32(&mut out, slots.len() as u32);
            slots.iter().for_each(|&s| put_u32(&mut out, s));
        }
        put_u32(&mut out, self.docs.len() as u32);
        for (i, d) in self.docs.iter().enumerate() {
            put_u32(&mut out, self.doc_conv[i]);
            match d {
                Some(d) => {
                    out.push(1);
                    put_u32(&mut out, d.len);
                    put_str(&mut out, &d.message_id);
                    put_str(&mut out, &d.text);
                }
                None => out.push(0),
            }
        }
        put_u32(&mut out, self.convs.len() as u32);
        for c in &self.convs {
            match c {
                Some(c) => {
                    out.push(1);
                    put_str(&mut out, &c.id);
                    put_str(&mut out, &c.title);
                    put_u32(&mut out, c.docs.len() as u32);
                    c.docs.iter().for_each(|&d| put_u32(&mut out, d));
                }
                None => out.push(0),
            }
        }
        out
    }

    /// Loads an index saved by [`SearchIndex::to_bytes`]. Corrupt or foreign data gives an
    /// error, never a panic.
    pub fn from_bytes(b: &[u8]) -> Result<SearchIndex, IndexLoadError> {
        let mut c = Cursor { b, at: 0 };
        if c.take(4)? != MAGIC {
            return Err(IndexLoadError("not a saved search index".into()));
        }
        let v = c.u32()?;
        if v != FORMAT_VERSION {
            return Err(IndexLoadError(format!("unsupported format version {v}")));
        }
        let mut ix = SearchIndex::new();
        let n_terms = c.count(4)?;
        for _ in 0..n_terms {
            let t = c.str()?;
            let id = ix.term_strs.len() as u32;
            if ix.term_ids.get(&t).is_some() {
                return Err(IndexLoadError("duplicate term".into()));
            }
            ix.term_ids.insert(&t, id);
            ix.term_strs.push(t);
            ix.unsorted.push(id);
        }
        for _ in 0..n_terms {
            let count = c.u32()?;
            let last_doc = c.u32()?;
            let n = c.u32()? as usize;
            let bytes = c.take(n)?.to_vec();
            ix.postings.push(PostingList { bytes, last_doc, count });
        }
        let n_titles = c.count(8)?;
        for _ in 0..n_titles {
            let t = c.u32()?;
            if t as usize >= n_terms {
                return Err(IndexLoadError("bad term id".into()));
            }
            let n = c.count(4)?;
            let slots = (0..n).map(|_| c.u32()).collect::<Result<Vec<u32>, _>>()?;
            ix.title_postings.insert(t, slots);
        }
        let n_docs = c.count(5)?;
        for _ in 0..n_docs {
            let conv = c.u32()?;
            if c.u8()? == 1 {
                let len = c.u32()?;
                let message_id = c.str()?;
                let text = c.str()?;
                ix.doc_conv.push(conv);
                ix.doc_len.push(len);
                ix.docs.push(Some(Doc { len, message_id, text }));
                ix.live_docs += 1;
                ix.total_len += u64::from(len);
            } else {
                ix.doc_conv.push(DEAD);
                ix.doc_len.push(0);
                ix.docs.push(None);
                ix.dead_docs += 1;
            }
        }
        let n_convs = c.count(1)?;
        for slot in 0..n_convs {
            if c.u8()? == 1 {
                let id = c.str()?;
                let title = c.str()?;
                let n = c.count(4)?;
                let docs = (0..n).map(|_| c.u32()).collect::<Result<Vec<u32>, _>>()?;
                if docs.iter().any(|&d| ix.doc_conv.get(d as usize) != Some(&(slot as u32))) {
                    return Err(IndexLoadError("document owned by another conversation".into()));
                }
                if ix.conv_slots.insert(id.clone(), slot as u32).is_some() {
                    return Err(IndexLoadError("duplicate conversation".into()));
                }
                ix.convs.push(Some(ConvEntry { id, title, docs }));
            } else {
                ix.convs.push(None);
            }
        }
        // Every live document belongs to a live conversation; postings end before new documents.
        for (d, &conv) in ix.doc_conv.iter().enumerate() {
            let ok = conv == DEAD || ix.convs.get(conv as usize).is_some_and(Option::is_some);
            if !ok || (conv == DEAD) != ix.docs[d].is_none() {
                return Err(IndexLoadError("document of an unknown conversation".into()));
            }
        }
        if ix.postings.iter().any(|p| p.count > 0 && p.last_doc as usize >= n_docs) {
            return Err(IndexLoadError("posting beyond the documents".into()));
        }
        if c.at != b.len() {
            return Err(IndexLoadError("trailing data".into()));
        }
        ix.sort_terms();
        Ok(ix)
    }
}
