//! The rendered tree written out as HTML (for `understudy markdown` and tests): every text and
//! attribute value escaped, a line break after each block, no page chrome.

use super::{Element, Node};

/// Elements with no end tag.
const VOID: [&str; 4] = ["br", "hr", "input", "mspace"];

/// Elements after whose end tag a line break reads well.
const BLOCKS: [&str; 22] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "div",
    "dl",
    "dd",
];

/// Writes `nodes` as HTML.
pub fn to_html(nodes: &[Node]) -> String {
    let mut out = String::new();
    // Iterative: a stack of (children, next index) so a deep tree costs no native stack.
    let mut stack: Vec<(&[Node], usize, Option<&Element>)> = vec![(nodes, 0, None)];
    while let Some((children, i, parent)) = stack.pop() {
        let Some(node) = children.get(i) else {
            if let Some(e) = parent {
                close(&mut out, e);
            }
            continue;
        };
        stack.push((children, i + 1, parent));
        match node {
            Node::Text(t) => escape(&mut out, t),
            Node::Element(e) => {
                out.push('<');
                out.push_str(e.tag);
                for (k, v) in &e.attrs {
                    out.push(' ');
                    out.push_str(k);
                    out.push_str("=\"");
                    escape(&mut out, v);
                    out.push('"');
                }
                out.push('>');
                if VOID.contains(&e.tag) {
                    if BLOCKS.contains(&e.tag) {
                        out.push('\n');
                    }
                    continue;
                }
                if matches!(e.tag, "ul" | "ol" | "blockquote" | "table" | "thead" | "tbody" | "tr") {
                    out.push('\n');
                }
                stack.push((&e.children, 0, Some(e)));
            }
        }
    }
    out
}

fn close(out: &mut String, e: &Element) {
    out.push_str("</");
    out.push_str(e.tag);
    out.push('>');
    if BLOCKS.contains(&e.tag) {
        out.push('\n');
    }
}

/// Escapes `&`, `<`, `>` and `"`.
pub fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}
