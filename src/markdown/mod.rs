//! Markdown to a tree of allowed elements: the one renderer of model answers.
//!
//! [`render`] parses CommonMark with the extensions answers use (tables, task lists,
//! strikethrough, footnotes, math) through `pulldown-cmark` and builds a [`Node`] tree whose tag
//! and attribute names come from this module only (they are `&'static str`): nothing the text
//! says can name an element or an attribute.
//!
//! What the tree allows:
//! - Raw HTML never passes: it is kept as text.
//! - Links keep their `href` only for `http`, `https` and `mailto`; any other link (relative,
//!   `javascript:`, `data:`, ...) becomes its text.
//! - Images are never loaded by the tree: an image is a `span.understudy-image` holding its alt
//!   text, with `data-src` when the URL is `http` or `https`. The pages turn it into a button
//!   that loads the image on a click.
//! - Code blocks carry their language as `class="language-x"` on the `code` element.
//! - Math (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`) is MathML ([`math`]); `$` around prose such as
//!   "$5 and $10" stays text.
//! - The tree is at most [`MAX_DEPTH`] elements deep outside math (deeper Markdown is flattened
//!   into the element at that depth), so whoever walks it never recurses deeply.
//!
//! For streaming, [`render_blocks`] gives the top-level blocks with their place in the source:
//! see its contract.

pub mod html;
pub mod math;

use std::ops::Range;

use pulldown_cmark::{Alignment, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct};

/// How deep Markdown elements nest in the tree; deeper content joins the element at this depth.
pub const MAX_DEPTH: usize = 32;

/// One node of the rendered tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Text, shown as it is (never parsed as markup).
    Text(String),
    /// An allowed element.
    Element(Element),
}

/// An element of the tree: its name and attribute names are this module's, never the text's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The tag name (HTML, or MathML inside `math`).
    pub tag: &'static str,
    /// Attributes in order; values are plain text (escaped by whoever writes them out).
    pub attrs: Vec<(&'static str, String)>,
    /// The children, in order.
    pub children: Vec<Node>,
}

impl Element {
    /// An element without attributes or children.
    pub fn new(tag: &'static str) -> Element {
        Element { tag, attrs: Vec::new(), children: Vec::new() }
    }

    /// The same element with one more attribute.
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Element {
        self.attrs.push((name, value.into()));
        self
    }

    /// The same element with `children`.
    pub fn with(mut self, children: Vec<Node>) -> Element {
        self.children = children;
        self
    }

    /// The value of attribute `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

impl From<Element> for Node {
    fn from(e: Element) -> Node {
        Node::Element(e)
    }
}

/// A text node is a JS string; an element is `{tag, attrs: {name: value}, children}` (`attrs`
/// absent when there are none).
impl Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Text(t) => s.serialize_str(t),
            Node::Element(e) => e.serialize(s),
        }
    }
}

impl Serialize for Element {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Attrs<'a>(&'a [(&'static str, String)]);
        impl Serialize for Attrs<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        let mut st = s.serialize_struct("Element", 3)?;
        st.serialize_field("tag", self.tag)?;
        if self.attrs.is_empty() {
            st.skip_field("attrs")?;
        } else {
            st.serialize_field("attrs", &Attrs(&self.attrs))?;
        }
        st.serialize_field("children", &self.children)?;
        st.end()
    }
}

/// One top-level block of a document and where its source lies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    /// Byte offset of the start of the line the block starts on.
    pub start: usize,
    /// Byte offset just past the block's source.
    pub end: usize,
    /// The rendered block.
    pub node: Node,
}

/// Renders a Markdown document as the children of its container.
pub fn render(text: &str) -> Vec<Node> {
    render_blocks(text).into_iter().map(|b| b.node).collect()
}

/// Renders a Markdown document as its top-level blocks, in order, with their source offsets.
///
/// Streaming contract: text that only grows never changes a [`settled`] block, so a streaming
/// page keeps the settled blocks and re-renders only from the start of the first unsettled one
/// (`render_blocks(&text[start..])`, offsets then relative to `start`). A frame then costs the
/// size of the unsettled tail, not of the answer. What the kept blocks cannot see: a link
/// reference definition that arrives after them (a render of the whole answer sees it).
pub fn render_blocks(text: &str) -> Vec<Block> {
    let parser = Parser::new_ext(text, options()).into_offset_iter();
    let mut b = Builder::new(text);
    for (event, range) in parser {
        b.event(event, range);
    }
    b.finish()
}

/// How many of `blocks` (`render_blocks(text)`) are settled: no text appended to `text` can
/// change them. A block is settled when a blank line separates it from the next block and that
/// block's first line is complete (a line break follows its start); the last block never is.
/// Without the blank line, later text can still change it: a table under a paragraph is one only
/// if its cells' code spans close as the header row says, which a later line may decide.
///
/// A page that streams keeps the settled blocks as they are and re-renders from the start of the
/// first unsettled one (see [`render_blocks`]).
pub fn settled(text: &str, blocks: &[Block]) -> usize {
    let last_line = line_start(text, text.len());
    blocks.windows(2).take_while(|w| w[1].start < last_line && blank_line_before(text, w[1].start)).count()
}

/// Whether the line before the one starting at `at` is blank.
fn blank_line_before(text: &str, at: usize) -> bool {
    let before = &text[..at];
    let end =
        before.strip_suffix("\r\n").or_else(|| before.strip_suffix(['\n', '\r'])).unwrap_or(before).len();
    text[line_start(text, end)..end].trim().is_empty() && end < at
}

/// The parser's extensions: CommonMark plus tables, task lists, strikethrough, footnotes, math.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH
}

/// The `href` a link may keep: `http:`, `https:` or `mailto:` (any case), else `None`.
pub fn safe_link(url: &str) -> Option<&str> {
    with_scheme(url, &["http", "https", "mailto"])
}

/// The URL an image may offer to load: `http:` or `https:` only.
pub fn safe_image(url: &str) -> Option<&str> {
    with_scheme(url, &["http", "https"])
}

fn with_scheme<'u>(url: &'u str, schemes: &[&str]) -> Option<&'u str> {
    let u = url.trim();
    let (scheme, _) = u.split_once(':')?;
    schemes.iter().any(|s| scheme.eq_ignore_ascii_case(s)).then_some(u)
}

/// A code block's language from its info string: its first word (at most 40 characters).
fn language(info: &str) -> Option<String> {
    let word = info.split_whitespace().next()?;
    let lang: String = word.chars().filter(|c| !c.is_control()).take(40).collect();
    (!lang.is_empty()).then_some(lang)
}

/// A link destination as an `href`: characters that URLs do not carry as they are (spaces,
/// backslashes, brackets, non-ASCII, ...) percent-encoded; existing `%XX` escapes kept.
fn encode_href(url: &str) -> String {
    const KEEP: &[u8] = b"-_.!~*'();/?:@&=+$,#%";
    let mut out = String::with_capacity(url.len());
    for &b in url.as_bytes() {
        if b.is_ascii_alphanumeric() || KEEP.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a start event became: an element on the stack, or nothing (its content joins the parent).
enum Frame {
    Element(Element),
    Transparent,
}

/// A `\(` or `\[` seen in the current element, waiting for its `\)` or `\]`.
struct MathOpen {
    depth: usize,
    children: usize,
    text_len: Option<usize>,
    source: usize,
    display: bool,
}

struct Builder<'a> {
    src: &'a str,
    stack: Vec<Frame>,
    /// How many frames on the stack are elements.
    elements: usize,
    blocks: Vec<Block>,
    block_start: usize,
    /// Inside an image: its alt text is collected as plain text.
    image: usize,
    table: TableState,
    math: Option<MathOpen>,
}

#[derive(Default)]
struct TableState {
    aligns: Vec<Alignment>,
    head: bool,
    body: bool,
    cell: usize,
}

impl<'a> Builder<'a> {
    fn new(src: &'a str) -> Builder<'a> {
        Builder {
            src,
            stack: Vec::new(),
            elements: 0,
            blocks: Vec::new(),
            block_start: 0,
            image: 0,
            table: TableState::default(),
            math: None,
        }
    }

    fn finish(mut self) -> Vec<Block> {
        while !self.stack.is_empty() {
            self.close(self.src.len());
        }
        self.blocks
    }

    /// The children of the innermost element, or `None` at the top level.
    fn current(&mut self) -> Option<&mut Element> {
        self.stack.iter_mut().rev().find_map(|f| match f {
            Frame::Element(e) => Some(e),
            Frame::Transparent => None,
        })
    }

    fn push_node(&mut self, node: Node, range: &Range<usize>) {
        match self.current() {
            Some(e) => push_child(&mut e.children, node),
            None => {
                // A top-level leaf (a rule) is a block of its own.
                let start = line_start(self.src, range.start);
                self.blocks.push(Block { start, end: range.end, node });
            }
        }
    }

    fn text(&mut self, t: &str, range: &Range<usize>) {
        self.push_node(Node::Text(t.to_string()), range);
    }

    fn open(&mut self, frame: Frame, range: &Range<usize>) {
        if self.stack.is_empty() {
            self.block_start = line_start(self.src, range.start);
        }
        if let Frame::Element(_) = frame {
            self.elements += 1;
        }
        self.stack.push(frame);
    }

    /// Opens `e`, or nothing when the tree is already [`MAX_DEPTH`] deep (or inside an image).
    fn open_element(&mut self, e: Element, range: &Range<usize>) {
        if (self.elements >= MAX_DEPTH && !self.stack.is_empty()) || self.image > 0 {
            self.open(Frame::Transparent, range);
        } else {
            self.open(Frame::Element(e), range);
        }
    }

    fn close(&mut self, end: usize) {
        let Some(frame) = self.stack.pop() else { return };
        if let Some(m) = &self.math
            && m.depth > self.stack.len()
        {
            self.math = None;
        }
        let Frame::Element(e) = frame else { return };
        self.elements -= 1;
        if self.stack.is_empty() {
            self.blocks.push(Block { start: self.block_start, end, node: e.into() });
        } else if let Some(parent) = self.current() {
            push_child(&mut parent.children, e.into());
        }
    }

    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        match event {
            Event::Start(tag) => self.start(tag, &range),
            Event::End(tag) => self.end(tag, &range),
            Event::Text(t) => {
                if self.image == 0 && self.math_delimiter(&t, &range) {
                    return;
                }
                self.text(&t, &range);
            }
            Event::Code(t) => {
                if self.image > 0 {
                    self.text(&t, &range);
                } else {
                    self.push_node(Element::new("code").with(vec![Node::Text(t.to_string())]).into(), &range);
                }
            }
            Event::InlineMath(t) => self.math(&t, false, &range),
            Event::DisplayMath(t) => self.math(&t, true, &range),
            Event::Html(t) | Event::InlineHtml(t) => self.text(&t, &range),
            Event::FootnoteReference(label) => {
                let sup = Element::new("sup").attr("class", "footnote-reference");
                self.push_node(sup.with(vec![Node::Text(label.to_string())]).into(), &range);
            }
            Event::SoftBreak => self.text("\n", &range),
            Event::HardBreak => {
                if self.image > 0 {
                    self.text("\n", &range);
                } else {
                    self.push_node(Element::new("br").into(), &range);
                }
            }
            Event::Rule => self.push_node(Element::new("hr").into(), &range),
            Event::TaskListMarker(checked) => {
                let mut input = Element::new("input").attr("type", "checkbox").attr("disabled", "");
                if checked {
                    input = input.attr("checked", "");
                }
                self.push_node(input.into(), &range);
            }
        }
    }

    fn math(&mut self, tex: &str, display: bool, range: &Range<usize>) {
        // Pandoc's rule: a closing `$` followed by a digit is no math ("$5 and 6$7").
        let digit_after = self.src[range.end..].starts_with(|c: char| c.is_ascii_digit());
        if self.image > 0 || (digit_after && !display) {
            let raw = &self.src[range.clone()];
            self.text(raw, range);
        } else {
            self.push_node(math::render(tex, display).into(), range);
        }
    }

    /// `\(`, `\)`, `\[`, `\]` (backslash escapes in the source) open and close math. An
    /// escaped character starts a text event of its own, right after its backslash; the math is
    /// the source between the two escapes. Returns whether the text was taken.
    fn math_delimiter(&mut self, t: &str, range: &Range<usize>) -> bool {
        let (open, display) = match t.as_bytes().first() {
            Some(b'(') => (true, false),
            Some(b'[') => (true, true),
            Some(b')') => (false, false),
            Some(b']') => (false, true),
            _ => return false,
        };
        // Escaped only after an odd run of backslashes (each run is counted once: linear).
        let backslashes = self.src[..range.start].bytes().rev().take_while(|&b| b == b'\\').count();
        if backslashes % 2 == 0 {
            return false;
        }
        let depth = self.stack.len();
        if open {
            let Some(e) = self.current() else { return false };
            let children = e.children.len();
            let text_len = match e.children.last() {
                Some(Node::Text(t)) => Some(t.len()),
                _ => None,
            };
            self.math = Some(MathOpen { depth, children, text_len, source: range.start + 1, display });
            return false;
        }
        match self.math.take() {
            Some(m)
                if m.depth == depth
                    && m.display == display
                    && self.src[m.source..range.start - 1]
                        .contains(|c: char| c != '\\' && !c.is_whitespace()) =>
            {
                let tex = &self.src[m.source..range.start - 1];
                let node = math::render(tex, display);
                let Some(e) = self.current() else { return false };
                e.children.truncate(m.children);
                if let (Some(n), Some(Node::Text(t))) = (m.text_len, e.children.last_mut()) {
                    t.truncate(n);
                }
                e.children.push(node.into());
                if t.len() > 1 {
                    self.text(&t[1..], range);
                }
                true
            }
            other => {
                self.math = other;
                false
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>, range: &Range<usize>) {
        let e = match tag {
            Tag::Paragraph => Element::new("p"),
            Tag::Heading { level, .. } => Element::new(HEADINGS[level as usize - 1]),
            Tag::BlockQuote(_) => Element::new("blockquote"),
            Tag::CodeBlock(kind) => {
                // `pre > code`: the `pre` is opened here, its `code` at once inside it.
                let mut code = Element::new("code");
                if let CodeBlockKind::Fenced(info) = kind
                    && let Some(lang) = language(&info)
                {
                    code = code.attr("class", format!("language-{lang}"));
                }
                self.open_element(Element::new("pre"), range);
                self.open_element(code, range);
                return;
            }
            Tag::HtmlBlock => Element::new("p").attr("class", "understudy-html"),
            Tag::List(Some(first)) => {
                let ol = Element::new("ol");
                if first == 1 { ol } else { ol.attr("start", first.to_string()) }
            }
            Tag::List(None) => Element::new("ul"),
            Tag::Item => Element::new("li"),
            Tag::FootnoteDefinition(label) => {
                let mark = Element::new("sup")
                    .attr("class", "footnote-definition-label")
                    .with(vec![Node::Text(label.to_string())]);
                self.open_element(Element::new("div").attr("class", "footnote-definition"), range);
                self.push_node(mark.into(), range);
                return;
            }
            Tag::DefinitionList => Element::new("dl"),
            Tag::DefinitionListTitle => Element::new("dt"),
            Tag::DefinitionListDefinition => Element::new("dd"),
            Tag::Table(aligns) => {
                self.table = TableState { aligns, ..TableState::default() };
                Element::new("table")
            }
            Tag::TableHead => {
                self.table.head = true;
                self.table.cell = 0;
                self.open_element(Element::new("thead"), range);
                self.open_element(Element::new("tr"), range);
                return;
            }
            Tag::TableRow => {
                self.table.cell = 0;
                if !self.table.body {
                    self.table.body = true;
                    self.open_element(Element::new("tbody"), range);
                }
                Element::new("tr")
            }
            Tag::TableCell => {
                let mut cell = Element::new(if self.table.head { "th" } else { "td" });
                match self.table.aligns.get(self.table.cell) {
                    Some(Alignment::Left) => cell = cell.attr("align", "left"),
                    Some(Alignment::Center) => cell = cell.attr("align", "center"),
                    Some(Alignment::Right) => cell = cell.attr("align", "right"),
                    _ => {}
                }
                self.table.cell += 1;
                cell
            }
            Tag::Emphasis => Element::new("em"),
            Tag::Strong => Element::new("strong"),
            Tag::Strikethrough => Element::new("del"),
            Tag::Superscript => Element::new("sup"),
            Tag::Subscript => Element::new("sub"),
            Tag::Link { link_type, dest_url, title, .. } => {
                let href = if link_type == LinkType::Email {
                    Some(encode_href(&format!("mailto:{dest_url}")))
                } else {
                    safe_link(&dest_url).map(encode_href)
                };
                match href {
                    Some(href) => {
                        let a = Element::new("a").attr("href", href);
                        if title.is_empty() { a } else { a.attr("title", title.to_string()) }
                    }
                    None => {
                        self.open(Frame::Transparent, range);
                        return;
                    }
                }
            }
            Tag::Image { dest_url, title, .. } => {
                let mut span = Element::new("span").attr("class", "understudy-image");
                if let Some(src) = safe_image(&dest_url) {
                    span = span.attr("data-src", encode_href(src));
                }
                if !title.is_empty() {
                    span = span.attr("title", title.to_string());
                }
                self.open_element(span, range);
                self.image += 1;
                return;
            }
            Tag::MetadataBlock(_) => Element::new("pre"),
        };
        self.open_element(e, range);
    }

    fn end(&mut self, tag: TagEnd, range: &Range<usize>) {
        match tag {
            TagEnd::CodeBlock | TagEnd::TableHead => {
                self.close(range.end);
                self.close(range.end);
                if tag == TagEnd::TableHead {
                    self.table.head = false;
                }
            }
            TagEnd::Table => {
                if std::mem::take(&mut self.table.body) {
                    self.close(range.end);
                }
                self.close(range.end);
            }
            TagEnd::Image => {
                self.image -= 1;
                self.close(range.end);
            }
            _ => self.close(range.end),
        }
    }
}

const HEADINGS: [&str; 6] = ["h1", "h2", "h3", "h4", "h5", "h6"];

/// Appends `node`, joining adjacent text.
fn push_child(children: &mut Vec<Node>, node: Node) {
    if let (Node::Text(t), Some(Node::Text(last))) = (&node, children.last_mut()) {
        last.push_str(t);
        return;
    }
    children.push(node);
}

/// The offset of the start of the line `at` is on (lines end with `\n`, `\r` or both).
fn line_start(src: &str, at: usize) -> usize {
    src[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// Converts byte offsets into `text` to UTF-16 offsets (JS string indices); `offsets` must be
/// sorted ascending. Linear in the text up to the last offset.
pub fn utf16_offsets(text: &str, offsets: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(offsets.len());
    let (mut byte, mut units) = (0, 0);
    for &target in offsets {
        let target = target.min(text.len());
        if target >= byte {
            units += text[byte..target].chars().map(char::len_utf16).sum::<usize>();
            byte = target;
        }
        out.push(units);
    }
    out
}

#[cfg(test)]
mod tests;
