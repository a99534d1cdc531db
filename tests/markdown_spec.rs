//! The Markdown renderer against the CommonMark spec's own examples (`commonmark-spec`, an npm
//! test tool: `make setup` installs it; without it this test fails, it never skips).
//!
//! Counted: every example outside raw HTML and images (the renderer keeps raw HTML as text and
//! never loads an image, by design). Compared after a normalisation like the spec's own: entities
//! decoded, whitespace between block tags dropped, attributes sorted. Links whose destination the
//! renderer refuses (anything but http, https and mailto: relative links above all) are expected
//! as their text: that is the renderer's policy, not a parsing difference; the test prints the
//! agreement without that allowance too.

use std::path::Path;

use understudy::markdown::{self, html::to_html};

struct Example {
    number: usize,
    section: String,
    markdown: String,
    html: String,
}

fn examples() -> Vec<Example> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/commonmark-spec/spec.txt");
    let spec = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}): run `make setup` (npm ci) first", path.display()));
    let fence = "`".repeat(32);
    let open = format!("{fence} example");
    let mut out = Vec::new();
    let mut section = String::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        if line == "<!-- END TESTS -->" {
            break;
        }
        if line.starts_with('#') {
            section = line.trim_start_matches('#').trim().to_string();
        } else if line == open {
            let (mut md, mut html, mut in_html) = (String::new(), String::new(), false);
            for l in lines.by_ref() {
                if l == fence {
                    break;
                } else if l == "." && !in_html {
                    in_html = true;
                } else {
                    let target = if in_html { &mut html } else { &mut md };
                    target.push_str(&l.replace('→', "\t"));
                    target.push('\n');
                }
            }
            out.push(Example { number: out.len() + 1, section: section.clone(), markdown: md, html });
        }
    }
    out
}

/// Tags Markdown itself produces; any other tag in an expected output came from raw HTML.
const MARKDOWN_TAGS: [&str; 17] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "code",
    "ul",
    "ol",
    "li",
    "em",
    "strong",
    "a",
    "hr",
];
const BLOCK_TAGS: [&str; 12] =
    ["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "hr"];

#[derive(Debug, PartialEq)]
enum Tok {
    Tag { close: bool, name: String, attrs: Vec<(String, String)> },
    Text(String),
}

fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|&e| e < 12);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                _ if name.starts_with("#x") || name.starts_with("#X") => {
                    u32::from_str_radix(&name[2..], 16).ok().and_then(char::from_u32)
                }
                _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
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

fn tokens(html: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let is_tag =
            rest.starts_with('<') && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
        if is_tag && let Some(end) = rest.find('>') {
            let inner = &rest[1..end];
            let close = inner.starts_with('/');
            let inner = inner.trim_start_matches('/').trim_end_matches('/');
            let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
            let name = inner[..name_end].to_ascii_lowercase();
            let mut attrs = Vec::new();
            let mut a = inner[name_end..].trim();
            while !a.is_empty() {
                let key_end = a.find(['=', ' ']).unwrap_or(a.len());
                let key = a[..key_end].to_string();
                a = a[key_end..].trim_start();
                let mut value = String::new();
                if let Some(v) = a.strip_prefix('=') {
                    let v = v.trim_start();
                    let (val, after) = match v.chars().next() {
                        Some(q @ ('"' | '\'')) => {
                            let e = v[1..].find(q).map_or(v.len(), |e| e + 1);
                            (&v[1..e], v.get(e + 1..).unwrap_or(""))
                        }
                        _ => {
                            let e = v.find(' ').unwrap_or(v.len());
                            (&v[..e], &v[e..])
                        }
                    };
                    value = decode(val);
                    a = after.trim_start();
                }
                attrs.push((key, value));
            }
            attrs.sort();
            out.push(Tok::Tag { close, name, attrs });
            rest = &rest[end + 1..];
        } else {
            let first = rest.chars().next().map_or(1, char::len_utf8);
            let end = rest[first..].find('<').map_or(rest.len(), |e| e + first);
            let text = decode(&rest[..end]);
            match out.last_mut() {
                Some(Tok::Text(t)) => t.push_str(&text),
                _ => out.push(Tok::Text(text)),
            }
            rest = &rest[end..];
        }
    }
    out
}

/// The spec's normalisation, roughly: whitespace at block tags dropped, runs of whitespace
/// outside `pre` made one space.
fn normalise(html: &str) -> String {
    let toks = tokens(html);
    let mut out = String::new();
    let mut pre = 0usize;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Tag { close, name, attrs } => {
                if name == "pre" {
                    pre = if *close { pre.saturating_sub(1) } else { pre + 1 };
                }
                out.push('<');
                if *close {
                    out.push('/');
                }
                out.push_str(name);
                for (k, v) in attrs {
                    out.push_str(&format!(" {k}=\"{v}\""));
                }
                out.push('>');
            }
            Tok::Text(text) => {
                let mut s = if pre > 0 {
                    text.clone()
                } else {
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                        + if text.ends_with(char::is_whitespace) && !text.trim().is_empty() {
                            " "
                        } else {
                            ""
                        }
                };
                if pre == 0 {
                    if text.starts_with(char::is_whitespace) && !text.trim().is_empty() {
                        s.insert(0, ' ');
                    }
                    let block = |t: Option<&Tok>| matches!(t, Some(Tok::Tag { name, .. }) if BLOCK_TAGS.contains(&name.as_str()) || name == "pre" || name == "br");
                    if i == 0 || block(toks.get(i.wrapping_sub(1))) {
                        s = s.trim_start().to_string();
                    }
                    if block(toks.get(i + 1)) || i + 1 == toks.len() {
                        s = s.trim_end().to_string();
                    }
                }
                out.push_str(&s);
            }
        }
    }
    out
}

/// The expected output with the renderer's link policy: a refused link is its text.
fn with_link_policy(html: &str) -> String {
    let mut out = String::new();
    let mut open = Vec::new();
    for t in tokens(html) {
        match t {
            Tok::Tag { close: false, ref name, ref attrs } if name == "a" => {
                let href = attrs.iter().find(|(k, _)| k == "href").map(|(_, v)| v.as_str()).unwrap_or("");
                let keep = markdown::safe_link(href).is_some();
                open.push(keep);
                if keep {
                    out.push_str(&write_tag(&t));
                }
            }
            Tok::Tag { close: true, ref name, .. } if name == "a" => {
                if open.pop().unwrap_or(true) {
                    out.push_str("</a>");
                }
            }
            Tok::Tag { .. } => out.push_str(&write_tag(&t)),
            Tok::Text(s) => out.push_str(&s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")),
        }
    }
    out
}

fn write_tag(t: &Tok) -> String {
    let Tok::Tag { close, name, attrs } = t else { return String::new() };
    let mut s = format!("<{}{name}", if *close { "/" } else { "" });
    for (k, v) in attrs {
        s.push_str(&format!(" {k}=\"{}\"", v.replace('&', "&amp;").replace('"', "&quot;")));
    }
    s + ">"
}

fn counted(e: &Example) -> bool {
    if matches!(e.section.as_str(), "HTML blocks" | "Raw HTML" | "Images") || e.html.contains("<img") {
        return false;
    }
    // Raw HTML: a tag Markdown never makes, or a tag written verbatim in the source.
    tokens(&e.html).iter().all(|t| match t {
        Tok::Tag { name, .. } => MARKDOWN_TAGS.contains(&name.as_str()),
        Tok::Text(_) => true,
    }) && !e
        .html
        .split('<')
        .skip(1)
        .any(|t| t.find('>').is_some_and(|end| e.markdown.contains(&format!("<{}>", &t[..end]))))
}

#[test]
fn agrees_with_the_commonmark_spec_outside_raw_html_and_images() {
    let all = examples();
    assert!(all.len() > 600, "only {} examples read", all.len());
    let counted: Vec<&Example> = all.iter().filter(|e| counted(e)).collect();
    let (mut strict, mut policy) = (0, 0);
    let mut failures = Vec::new();
    for e in &counted {
        let ours = normalise(&to_html(&markdown::render(&e.markdown)));
        if ours == normalise(&e.html) {
            strict += 1;
        }
        if ours == normalise(&with_link_policy(&e.html)) {
            policy += 1;
        } else {
            failures.push(format!(
                "example {} ({}):\n{:?}\nexpected {}\n     got {}",
                e.number,
                e.section,
                e.markdown,
                normalise(&with_link_policy(&e.html)),
                ours
            ));
        }
    }
    let pct = |n: usize| 100.0 * n as f64 / counted.len() as f64;
    println!(
        "CommonMark spec: {} examples, {} counted (outside raw HTML and images); agreement {:.1} % ({policy}) with the link policy, {:.1} % ({strict}) without",
        all.len(),
        counted.len(),
        pct(policy),
        pct(strict)
    );
    for f in &failures {
        println!("{f}\n");
    }
    assert!(pct(policy) >= 98.0, "agreement {:.1} % < 98 %", pct(policy));
}

#[test]
fn spec_examples_streamed_in_pieces_render_as_a_whole() {
    // What a page does while an answer streams: keep the settled blocks, re-render the tail.
    let mut differ = Vec::new();
    let all = examples();
    // A link reference definition after its use is the documented exception.
    let cases: Vec<&Example> = all.iter().filter(|e| !e.markdown.contains("]:")).collect();
    for e in &cases {
        let text = e.markdown.as_str();
        let (mut frozen, mut from) = (Vec::new(), 0);
        let mut shown = Vec::new();
        for cut in (1..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let mut blocks = markdown::render_blocks(&text[from..cut]);
            let n = markdown::settled(&text[from..cut], &blocks);
            if n > 0 {
                let next = blocks[n].start;
                frozen.extend(blocks.drain(..n).map(|b| b.node));
                from += next;
            }
            shown = frozen.clone();
            shown.extend(blocks.into_iter().map(|b| b.node));
        }
        if to_html(&shown) != to_html(&markdown::render(text)) {
            differ.push(e.number);
        }
    }
    assert!(differ.is_empty(), "streamed differently: examples {differ:?} of {}", cases.len());
}
