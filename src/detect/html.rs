//! A small, tolerant HTML parser and selector matcher, enough to read saved chat pages.
//!
//! - One pass over the input, no recursion: open elements live on an explicit stack capped at
//!   [`MAX_DEPTH`]; deeper elements become siblings of the deepest open one instead of nesting further.
//! - Void elements, `/>`, unclosed and stray tags, comments, doctype, `<script>`/`<style>` raw text
//!   (dropped), `<title>`/`<textarea>` text, entities (named basics and numeric), quoted and unquoted
//!   attributes.
//! - Nodes are stored in document order in one vector; each knows its parent and the index of its
//!   last descendant, so "is inside" is a range check.
//! - Selectors: `tag`, `*`, `#id`, `.class`, `[attr]`, `[attr="v"]`, `[attr^="v"]`, `[attr$="v"]`,
//!   `[attr*="v"]`, compounds of these, the descendant combinator and comma lists.

/// The deepest nesting kept; at this depth a new element closes the deepest open one and becomes its
/// sibling.
pub const MAX_DEPTH: usize = 512;

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
    "wbr",
];

/// One node of a parsed document.
#[derive(Debug, Clone)]
pub struct Node {
    /// The parent's index (the root is its own parent).
    pub parent: u32,
    /// The index of the last descendant (the node's own index when it has none).
    pub end: u32,
    /// What the node is.
    pub data: NodeData,
}

/// An element or a text run.
#[derive(Debug, Clone)]
pub enum NodeData {
    /// An element, with its lower-case tag name and attributes (names lower case, values decoded).
    Element {
        /// The tag name, lower case (`#document` for the root).
        tag: Box<str>,
        /// The attributes in source order.
        attrs: Vec<(Box<str>, Box<str>)>,
    },
    /// Text, entities decoded.
    Text(Box<str>),
}

/// A parsed document: node 0 is the root.
#[derive(Debug, Clone)]
pub struct Document {
    /// All nodes in document order.
    pub nodes: Vec<Node>,
}

impl Document {
    /// Parses HTML text. Never fails: anything unreadable becomes text or is skipped.
    pub fn parse(html: &str) -> Document {
        Parser::new(html).run()
    }

    /// The tag name of node `i`, if it is an element.
    pub fn tag(&self, i: usize) -> Option<&str> {
        match &self.nodes.get(i)?.data {
            NodeData::Element { tag, .. } => Some(tag),
            NodeData::Text(_) => None,
        }
    }

    /// The value of attribute `name` (lower case) on node `i`.
    pub fn attr(&self, i: usize, name: &str) -> Option<&str> {
        match &self.nodes.get(i)?.data {
            NodeData::Element { attrs, .. } => attrs.iter().find(|(n, _)| &**n == name).map(|(_, v)| &**v),
            NodeData::Text(_) => None,
        }
    }

    /// Whether node `inner` lies inside node `outer` (or is it).
    pub fn contains(&self, outer: usize, inner: usize) -> bool {
        self.nodes.get(outer).is_some_and(|n| outer <= inner && inner <= n.end as usize)
    }

    /// Appends the text inside node `i` to `out`, stopping once `out` holds `max` bytes.
    pub fn text_into(&self, i: usize, out: &mut String, max: usize) {
        let Some(n) = self.nodes.get(i) else { return };
        for node in &self.nodes[i..=n.end as usize] {
            if out.len() >= max {
                break;
            }
            if let NodeData::Text(t) = &node.data {
                out.push_str(t);
            }
        }
        super::observation::truncate_to(out, max);
    }

    /// The text inside node `i`, cut to `max` bytes.
    pub fn text(&self, i: usize, max: usize) -> String {
        let mut s = String::new();
        self.text_into(i, &mut s, max);
        s
    }

    /// Indices of the elements matching `sel`, in document order.
    pub fn select<'a>(&'a self, sel: &'a Selector) -> impl Iterator<Item = usize> + 'a {
        (0..self.nodes.len()).filter(move |&i| sel.matches(self, i))
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    nodes: Vec<Node>,
    stack: Vec<u32>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let root = Node {
            parent: 0,
            end: 0,
            data: NodeData::Element { tag: "#document".into(), attrs: Vec::new() },
        };
        Parser { src, pos: 0, nodes: vec![root], stack: vec![0] }
    }

    fn run(mut self) -> Document {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() {
            if bytes[self.pos] == b'<' {
                self.markup();
            } else {
                let start = self.pos;
                let end = text_end(bytes, start);
                self.pos = end;
                self.text(start, end);
            }
        }
        while self.stack.len() > 1 {
            self.pop();
        }
        self.nodes[0].end = (self.nodes.len() - 1) as u32;
        Document { nodes: self.nodes }
    }

    fn top(&self) -> u32 {
        self.stack.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) {
        if self.stack.len() > 1
            && let Some(i) = self.stack.pop()
        {
            self.nodes[i as usize].end = (self.nodes.len() - 1) as u32;
        }
    }

    fn push_node(&mut self, data: NodeData) -> u32 {
        let i = self.nodes.len() as u32;
        self.nodes.push(Node { parent: self.top(), end: i, data });
        i
    }

    fn text(&mut self, start: usize, end: usize) {
        let raw = &self.src[start..end];
        if raw.is_empty() {
            return;
        }
        let decoded = decode_entities(raw);
        self.push_node(NodeData::Text(decoded.into()));
    }

    /// At a `<`: a comment, a doctype, an end tag, a start tag, or a literal `<`.
    fn markup(&mut self) {
        let bytes = self.src.as_bytes();
        let rest = &bytes[self.pos..];
        if rest.starts_with(b"<!--") {
            self.pos = find(bytes, self.pos + 4, b"-->").map_or(bytes.len(), |i| i + 3);
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            self.pos = memchr(b'>', &bytes[self.pos..]).map_or(bytes.len(), |i| self.pos + i + 1);
        } else if rest.starts_with(b"</") {
            if rest.get(2).is_some_and(u8::is_ascii_alphabetic) {
                let (name, after) = self.name(self.pos + 2);
                self.pos = memchr(b'>', &bytes[after..]).map_or(bytes.len(), |i| after + i + 1);
                self.end_tag(&name);
            } else {
                self.pos = memchr(b'>', &bytes[self.pos..]).map_or(bytes.len(), |i| self.pos + i + 1);
            }
        } else if rest.get(1).is_some_and(u8::is_ascii_alphabetic) {
            self.start_tag();
        } else {
            // A literal '<': text up to the next real markup.
            let start = self.pos;
            let end = text_end(bytes, start + 1);
            self.pos = end;
            self.text(start, end);
        }
    }

    /// Reads a tag or attribute name from `at`, lower-cased; returns it and the position after it.
    fn name(&self, at: usize) -> (String, usize) {
        let bytes = self.src.as_bytes();
        let mut end = at;
        while end < bytes.len() && !matches!(bytes[end], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>')
        {
            end += 1;
        }
        (self.src[at..end].to_ascii_lowercase(), end)
    }

    fn start_tag(&mut self) {
        let bytes = self.src.as_bytes();
        let (tag, mut p) = self.name(self.pos + 1);
        let mut attrs: Vec<(Box<str>, Box<str>)> = Vec::new();
        let mut self_closing = false;
        loop {
            while p < bytes.len() && matches!(bytes[p], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                p += 1;
            }
            if p >= bytes.len() {
                break;
            }
            match bytes[p] {
                b'>' => {
                    p += 1;
                    break;
                }
                b'/' => {
                    p += 1;
                    if bytes.get(p) == Some(&b'>') {
                        self_closing = true;
                    }
                    continue;
                }
                _ => {}
            }
            let start = p;
            while p < bytes.len()
                && !matches!(bytes[p], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>' | b'=')
            {
                p += 1;
            }
            if p == start {
                // A lone '=': skip it.
                p += 1;
                continue;
            }
            let name = self.src[start..p].to_ascii_lowercase();
            let mut q = p;
            while q < bytes.len() && matches!(bytes[q], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                q += 1;
            }
            let mut value = String::new();
            if bytes.get(q) == Some(&b'=') {
                q += 1;
                while q < bytes.len() && matches!(bytes[q], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                    q += 1;
                }
                match bytes.get(q) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        let vstart = q + 1;
                        let vend = memchr(quote, &bytes[vstart..]).map_or(bytes.len(), |i| vstart + i);
                        value = decode_entities(&self.src[vstart..vend]);
                        q = (vend + 1).min(bytes.len());
                    }
                    _ => {
                        let vstart = q;
                        while q < bytes.len()
                            && !matches!(bytes[q], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'>')
                        {
                            q += 1;
                        }
                        value = decode_entities(&self.src[vstart..q]);
                    }
                }
                p = q;
            }
            if attrs.len() < 64 && !attrs.iter().any(|(n, _)| **n == *name) {
                attrs.push((name.into(), value.into()));
            }
        }
        self.pos = p;
        self.implicit_close(&tag);
        let void = VOID.contains(&tag.as_str());
        let raw = matches!(tag.as_str(), "script" | "style" | "title" | "textarea" | "noscript" | "xmp");
        let leaf = void || self_closing || raw;
        if !leaf && self.stack.len() >= MAX_DEPTH {
            // At the depth cap, the deepest open element is closed so the new one takes its place
            // (as its sibling), keeping its own content.
            self.pop();
        }
        let i = self.push_node(NodeData::Element { tag: tag.as_str().into(), attrs });
        if raw {
            self.raw_text(i, &tag);
        } else if !leaf {
            self.stack.push(i);
        }
    }

    /// Closes what a new start tag implicitly ends: a repeated list item, cell, row or paragraph.
    fn implicit_close(&mut self, tag: &str) {
        let top = self.top() as usize;
        let Some(NodeData::Element { tag: open, .. }) = self.nodes.get(top).map(|n| &n.data) else { return };
        let open: &str = open;
        let closes = match tag {
            "li" => open == "li",
            "dt" | "dd" => matches!(open, "dt" | "dd"),
            "td" | "th" => matches!(open, "td" | "th"),
            "tr" => open == "tr",
            "option" => open == "option",
            "p" | "div" | "ul" | "ol" | "table" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "section" | "article" | "header" | "footer" | "nav" | "form" | "blockquote" | "main"
            | "aside" => open == "p",
            _ => false,
        };
        if closes {
            self.pop();
        }
    }

    /// Reads the content of a raw-text element up to its end tag; keeps it as text for `title` and
    /// `textarea`, drops it for scripts and styles.
    fn raw_text(&mut self, i: u32, tag: &str) {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut close = None;
        let mut from = start;
        while let Some(lt) = find(bytes, from, b"</") {
            let name_end = lt + 2 + tag.len();
            if name_end <= bytes.len()
                && bytes[lt + 2..name_end].eq_ignore_ascii_case(tag.as_bytes())
                && bytes.get(name_end).is_none_or(|b| matches!(b, b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/'))
            {
                close = Some(lt);
                break;
            }
            from = lt + 2;
        }
        let end = close.unwrap_or(bytes.len());
        if matches!(tag, "title" | "textarea") && end > start {
            let decoded = decode_entities(&self.src[start..end]);
            let t = self.nodes.len() as u32;
            self.nodes.push(Node { parent: i, end: t, data: NodeData::Text(decoded.into()) });
        }
        self.nodes[i as usize].end = (self.nodes.len() - 1) as u32;
        self.pos = match close {
            Some(lt) => memchr(b'>', &bytes[lt..]).map_or(bytes.len(), |k| lt + k + 1),
            None => bytes.len(),
        };
    }

    fn end_tag(&mut self, name: &str) {
        let found = self.stack.iter().rposition(
            |&i| matches!(&self.nodes[i as usize].data, NodeData::Element { tag, .. } if &**tag == name),
        );
        if let Some(k) = found.filter(|&k| k > 0) {
            while self.stack.len() > k {
                self.pop();
            }
        }
    }
}

/// The end of a text run starting at `from`: the next `<` that opens markup (a tag, end tag,
/// comment or declaration), or the end of input. Stray `<` stay in the text.
fn text_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(i) = memchr(b'<', bytes.get(at..).unwrap_or_default()) {
        let lt = at + i;
        if bytes.get(lt + 1).is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?')) {
            return lt;
        }
        at = lt + 1;
    }
    bytes.len()
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i < hay.len() {
        let k = memchr(first, &hay[i..])? + i;
        if hay[k..].starts_with(needle) {
            return Some(k);
        }
        i = k + 1;
    }
    None
}

/// Decodes character references: the common named ones and numeric ones; unknown ones stay as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match entity(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Reads one character reference at the start of `s` (which starts with `&`).
fn entity(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    if b.get(1) == Some(&b'#') {
        let (hex, start) = if matches!(b.get(2), Some(b'x' | b'X')) { (true, 3) } else { (false, 2) };
        let mut end = start;
        while end < b.len()
            && end - start < 8
            && (if hex { b[end].is_ascii_hexdigit() } else { b[end].is_ascii_digit() })
        {
            end += 1;
        }
        if end == start {
            return None;
        }
        let n = u32::from_str_radix(&s[start..end], if hex { 16 } else { 10 }).ok()?;
        let c = match n {
            0 => '\u{FFFD}',
            n => char::from_u32(n).unwrap_or('\u{FFFD}'),
        };
        let used = if b.get(end) == Some(&b';') { end + 1 } else { end };
        return Some((c, used));
    }
    let semi = s.as_bytes().iter().take(12).position(|&c| c == b';')?;
    let c = match &s[1..semi] {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "hellip" => '\u{2026}',
        "mdash" => '\u{2014}',
        "ndash" => '\u{2013}',
        "lsquo" => '\u{2018}',
        "rsquo" => '\u{2019}',
        "ldquo" => '\u{201C}',
        "rdquo" => '\u{201D}',
        "copy" => '\u{a9}',
        _ => return None,
    };
    Some((c, semi + 1))
}

/// A parsed selector list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    alternatives: Vec<Vec<Compound>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Compound {
    tag: Option<Box<str>>,
    id: Option<Box<str>>,
    classes: Vec<Box<str>>,
    attrs: Vec<AttrTest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttrOp {
    Exists,
    Equals,
    Prefix,
    Suffix,
    Contains,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AttrTest {
    name: Box<str>,
    op: AttrOp,
    value: Box<str>,
}

impl Selector {
    /// Parses a selector list; the error says what is not supported or malformed.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut alternatives = Vec::new();
        for alt in split_outside(text, ',') {
            let alt = alt.trim();
            if alt.is_empty() {
                return Err("empty selector in list".into());
            }
            let mut chain = Vec::new();
            for part in split_outside(alt, ' ') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                if part == ">" || part == "+" || part == "~" {
                    return Err(format!("combinator '{part}' is not supported"));
                }
                chain.push(parse_compound(part)?);
            }
            alternatives.push(chain);
        }
        if alternatives.is_empty() {
            return Err("empty selector".into());
        }
        Ok(Selector { alternatives })
    }

    /// A selector that matches nothing.
    pub fn never() -> Selector {
        Selector { alternatives: Vec::new() }
    }

    /// Whether element `i` of `doc` matches.
    pub fn matches(&self, doc: &Document, i: usize) -> bool {
        self.alternatives.iter().any(|chain| matches_chain(chain, doc, i))
    }
}

fn matches_chain(chain: &[Compound], doc: &Document, i: usize) -> bool {
    let Some((last, before)) = chain.split_last() else { return false };
    if !last.matches(doc, i) {
        return false;
    }
    // Descendant combinators only: matching each compound on the nearest ancestor is exact.
    let mut at = i;
    for c in before.iter().rev() {
        loop {
            let parent = doc.nodes[at].parent as usize;
            if parent == at || parent == 0 {
                return false;
            }
            at = parent;
            if c.matches(doc, at) {
                break;
            }
        }
    }
    true
}

impl Compound {
    fn matches(&self, doc: &Document, i: usize) -> bool {
        let Some(NodeData::Element { tag, attrs }) = doc.nodes.get(i).map(|n| &n.data) else { return false };
        if i == 0 {
            return false;
        }
        if self.tag.as_ref().is_some_and(|t| t != tag) {
            return false;
        }
        let get = |name: &str| attrs.iter().find(|(n, _)| &**n == name).map(|(_, v)| &**v);
        if let Some(id) = &self.id
            && get("id") != Some(&**id)
        {
            return false;
        }
        if !self.classes.is_empty() {
            let Some(class) = get("class") else { return false };
            if !self.classes.iter().all(|c| class.split_ascii_whitespace().any(|k| k == &**c)) {
                return false;
            }
        }
        self.attrs.iter().all(|a| match get(&a.name) {
            None => false,
            Some(v) => match a.op {
                AttrOp::Exists => true,
                AttrOp::Equals => v == &*a.value,
                AttrOp::Prefix => !a.value.is_empty() && v.starts_with(&*a.value),
                AttrOp::Suffix => !a.value.is_empty() && v.ends_with(&*a.value),
                AttrOp::Contains => !a.value.is_empty() && v.contains(&*a.value),
            },
        })
    }
}

/// Splits on `sep` outside brackets and quotes.
fn split_outside(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0u32, None::<char>, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, c) if depth == 0 && (c == sep || (sep == ' ' && c.is_whitespace())) => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

fn parse_compound(s: &str) -> Result<Compound, String> {
    let mut c = Compound::default();
    let mut rest = s;
    let take_ident = |r: &str| -> (String, usize) {
        let end = r.find(|ch: char| !is_ident(ch)).unwrap_or(r.len());
        (r[..end].to_string(), end)
    };
    if rest.starts_with('*') {
        rest = &rest[1..];
    } else if rest.starts_with(is_ident) {
        let (t, used) = take_ident(rest);
        c.tag = Some(t.to_ascii_lowercase().into());
        rest = &rest[used..];
    }
    while let Some(first) = rest.chars().next() {
        match first {
            '#' | '.' => {
                let (name, used) = take_ident(&rest[1..]);
                if name.is_empty() {
                    return Err(format!("empty name after '{first}' in '{s}'"));
                }
                if first == '#' {
                    c.id = Some(name.into());
                } else {
                    c.classes.push(name.into());
                }
                rest = &rest[1 + used..];
            }
            '[' => {
                let close = rest.find(']').ok_or_else(|| format!("unclosed '[' in '{s}'"))?;
                c.attrs.push(parse_attr(&rest[1..close])?);
                rest = &rest[close + 1..];
            }
            _ => return Err(format!("unsupported selector syntax at '{rest}'")),
        }
    }
    Ok(c)
}

fn parse_attr(inner: &str) -> Result<AttrTest, String> {
    let inner = inner.trim();
    let Some(eq) = inner.find('=') else {
        if inner.is_empty() || !inner.chars().all(is_ident) {
            return Err(format!("bad attribute name '{inner}'"));
        }
        return Ok(AttrTest {
            name: inner.to_ascii_lowercase().into(),
            op: AttrOp::Exists,
            value: "".into(),
        });
    };
    let (mut name, value) = (inner[..eq].trim(), inner[eq + 1..].trim());
    let op = match name.chars().last() {
        Some('^') => AttrOp::Prefix,
        Some('$') => AttrOp::Suffix,
        Some('*') => AttrOp::Contains,
        Some(c) if is_ident(c) => AttrOp::Equals,
        _ => return Err(format!("unsupported attribute operator in '[{inner}]'")),
    };
    if op != AttrOp::Equals {
        name = name[..name.len() - 1].trim();
    }
    if name.is_empty() || !name.chars().all(is_ident) {
        return Err(format!("bad attribute name in '[{inner}]'"));
    }
    let value = match value.as_bytes() {
        [q @ (b'"' | b'\''), .., last] if last == q && value.len() >= 2 => &value[1..value.len() - 1],
        _ if value.chars().all(is_ident) => value,
        _ => return Err(format!("bad attribute value in '[{inner}]'")),
    };
    Ok(AttrTest { name: name.to_ascii_lowercase().into(), op, value: value.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(doc: &Document, sel: &str) -> Vec<String> {
        let sel = Selector::parse(sel).unwrap();
        doc.select(&sel).map(|i| doc.text(i, 1000)).collect()
    }

    #[test]
    fn builds_a_tolerant_tree() {
        let doc = Document::parse(
            "<!DOCTYPE html><html><head><title>A &amp; B</title><style>.x{}</style></head>\
             <body><div id=a class='one two'>hi<br>there<img src=x>\
             <p>para<p>next</div><script>if (a<b) {}</script><!-- <div id=c>no</div> -->\
             <span data-x=\"1 &lt; 2\">&#39;q&#x27; &nbsp;&bogus;</span></body></html>",
        );
        assert_eq!(texts(&doc, "title"), ["A & B"]);
        assert_eq!(texts(&doc, "#a"), ["hithereparanext"]);
        assert_eq!(texts(&doc, "div.one.two p"), ["para", "next"]);
        assert_eq!(texts(&doc, "#c"), Vec::<String>::new());
        assert_eq!(texts(&doc, "[data-x=\"1 < 2\"]"), ["'q' \u{a0}&bogus;"]);
        assert_eq!(texts(&doc, "script"), [""]);
    }

    #[test]
    fn matches_the_adapter_selector_forms() {
        let doc = Document::parse(
            r#"<main><article data-testid="conversation-turn-3"><div data-message-author-role="assistant">
               <div class="markdown prose">ok</div></div></article>
               <button data-testid="login-button">Log in</button><nav><a class=markdown>n</a></nav></main>"#,
        );
        let check = |sel: &str, expect: &[&str]| assert_eq!(texts(&doc, sel), expect, "{sel}");
        check("[data-testid^=\"conversation-turn-\"] .markdown", &["ok"]);
        check("button[data-testid=\"login-button\"]", &["Log in"]);
        check("[data-message-author-role]", &["\n               ok"]);
        check("nav .markdown, #none", &["n"]);
        check("[data-testid*=\"turn\"] [data-message-author-role=\"user\"]", &[]);
        check("[data-testid$=\"button\"]", &["Log in"]);
        check("*.prose", &["ok"]);
    }

    #[test]
    fn rejects_unsupported_selectors() {
        for bad in ["", "a,", "a > b", "[x", "a:hover", "[x~=\"y\"]", "#", "[=v]"] {
            assert!(Selector::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_capped() {
        let html = "<div>".repeat(100_000) + "x" + &"</div>".repeat(100_000);
        let doc = Document::parse(&html);
        assert_eq!(doc.text(0, 10), "x");
        let depth = {
            let mut d = 0;
            let mut at = doc.nodes.len() - 1;
            while at != 0 {
                at = doc.nodes[at].parent as usize;
                d += 1;
            }
            d
        };
        assert!(depth <= MAX_DEPTH + 1, "{depth}");
    }

    #[test]
    fn survives_truncated_markup() {
        for input in
            ["<", "<a", "<a href='x", "<!--", "</", "</a", "<script>x", "&#", "&#x110000;", "<a =b>t"]
        {
            let doc = Document::parse(input);
            assert!(doc.nodes.len() < 5, "{input}");
        }
        assert_eq!(decode_entities("&#x110000;&#0;&#65&lt"), "\u{FFFD}\u{FFFD}A&lt");
        let doc = Document::parse("<p>1 < 2 and 3 <= 4 <<</p>");
        assert_eq!(doc.text(0, 100), "1 < 2 and 3 <= 4 <<");
        assert_eq!(doc.nodes.len(), 3);
    }
}
