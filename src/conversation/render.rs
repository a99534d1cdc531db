//! Writing conversations out: Markdown, JSON (official-export compatible) and self-contained HTML.
//!
//! Markdown and HTML follow the main line (see [`main_line`]); JSON keeps the whole tree so it
//! imports back unchanged. In HTML every piece of conversation text is escaped: model output is
//! data, never markup, and the document carries no script.

use std::fmt::Write as _;

use serde_json::Value;

use super::model::{Content, ContentKind, Conversation, Message, Role, main_line};

/// The output formats of conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown (`.md`).
    Markdown,
    /// The official export shape (`.json`, an array).
    Json,
    /// A self-contained HTML document (`.html`).
    Html,
}

impl Format {
    /// Parses `markdown|md`, `json`, `html`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "markdown" | "md" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// Renders one conversation in `format`.
pub fn render(conv: &Conversation, format: Format) -> String {
    match format {
        Format::Markdown => to_markdown(conv),
        Format::Json => to_json(std::slice::from_ref(conv)),
        Format::Html => to_html(conv),
    }
}

/// The display name of a message's author.
pub fn role_label(m: &Message) -> String {
    match (&m.role, &m.author_name) {
        (Role::User, _) => "User".into(),
        (Role::Assistant, _) => "ChatGPT".into(),
        (Role::System, _) => "System".into(),
        (Role::Tool, Some(n)) => format!("Tool ({n})"),
        (Role::Tool, None) => "Tool".into(),
        (Role::Other(r), _) => r.clone(),
    }
}

/// The title to show, `Untitled` when missing or blank.
pub fn display_title(conv: &Conversation) -> &str {
    match conv.title.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t,
        _ => "Untitled",
    }
}

fn code_language(language: Option<&str>) -> &str {
    match language {
        Some("unknown") | None => "",
        Some(l) => l,
    }
}

/// A backtick fence longer than any run of backticks inside `text`.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for b in text.bytes() {
        if b == b'`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat(longest.max(2) + 1)
}

fn md_code(out: &mut String, lang: &str, text: &str) {
    let fence = fence_for(text);
    let lang: String = lang.chars().filter(|c| c.is_alphanumeric() || "+#-_.".contains(*c)).collect();
    let _ = writeln!(out, "{fence}{lang}");
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}");
}

fn thought_texts(thoughts: &[Value]) -> impl Iterator<Item = (Option<&str>, Option<&str>)> {
    thoughts
        .iter()
        .map(|t| (t.get("summary").and_then(Value::as_str), t.get("content").and_then(Value::as_str)))
}

fn md_content(out: &mut String, c: &Content) {
    match &c.kind {
        ContentKind::Text { parts } => {
            for p in parts.iter().filter(|p| !p.is_empty()) {
                out.push_str(p);
                out.push_str("\n\n");
            }
        }
        ContentKind::Code { language, text } => {
            md_code(out, code_language(language.as_deref()), text);
            out.push('\n');
        }
        ContentKind::ExecutionOutput { text } => {
            md_code(out, "", text);
            out.push('\n');
        }
        ContentKind::Multimodal { parts } => {
            for p in parts {
                match p.text() {
                    Some("") => {}
                    Some(t) => {
                        out.push_str(t);
                        out.push_str("\n\n");
                    }
                    None if p.is_image() => out.push_str("[image]\n\n"),
                    None => out.push_str("[attachment]\n\n"),
                }
            }
        }
        ContentKind::Thoughts { thoughts } => {
            for (summary, content) in thought_texts(thoughts) {
                for s in [summary, content].into_iter().flatten() {
                    for line in s.lines() {
                        let _ = writeln!(out, "> {line}");
                    }
                    out.push_str(">\n");
                }
            }
            out.push('\n');
        }
        ContentKind::ReasoningRecap { content } => {
            let _ = write!(out, "_{}_\n\n", content.trim());
        }
        ContentKind::Other { .. } => {
            let t = c.plain_text();
            if !t.is_empty() {
                out.push_str(&t);
                out.push_str("\n\n");
            }
        }
    }
}

fn is_blank(m: &Message) -> bool {
    match &m.content.kind {
        ContentKind::Text { parts } => parts.iter().all(|p| p.trim().is_empty()),
        ContentKind::Multimodal { parts } => parts.is_empty(),
        _ => false,
    }
}

/// Markdown: a title heading, then each visible message of the main line under its author.
pub fn to_markdown(conv: &Conversation) -> String {
    let mut out = String::new();
    let _ = write!(out, "# {}\n\n", display_title(conv).replace('\n', " "));
    for m in main_line(conv) {
        if is_blank(m) {
            continue;
        }
        let _ = write!(out, "## {}\n\n", role_label(m));
        md_content(&mut out, &m.content);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// JSON in the official export shape: an array of conversations (whole trees).
pub fn to_json(convs: &[Conversation]) -> String {
    // Serialising the model cannot fail (string keys only); fall back to an empty array.
    serde_json::to_string(convs).unwrap_or_else(|_| "[]".into())
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

fn html_text_block(out: &mut String, class: &str, text: &str) {
    let _ = write!(out, "<div class=\"{class}\">");
    escape_html(text, out);
    out.push_str("</div>\n");
}

fn html_code(out: &mut String, lang: &str, text: &str) {
    let lang: String = lang.chars().filter(|c| c.is_ascii_alphanumeric() || "+#-_".contains(*c)).collect();
    if lang.is_empty() {
        out.push_str("<pre><code>");
    } else {
        let _ = write!(out, "<pre><code class=\"language-{lang}\">");
    }
    escape_html(text, out);
    out.push_str("</code></pre>\n");
}

fn html_content(out: &mut String, c: &Content) {
    match &c.kind {
        ContentKind::Text { parts } => {
            for p in parts.iter().filter(|p| !p.is_empty()) {
                html_text_block(out, "text", p);
            }
        }
        ContentKind::Code { language, text } => html_code(out, code_language(language.as_deref()), text),
        ContentKind::ExecutionOutput { text } => html_code(out, "", text),
        ContentKind::Multimodal { parts } => {
            for p in parts {
                match p.text() {
                    Some("") => {}
                    Some(t) => html_text_block(out, "text", t),
                    None if p.is_image() => out.push_str("<div class=\"placeholder\">[image]</div>\n"),
                    None => out.push_str("<div class=\"placeholder\">[attachment]</div>\n"),
                }
            }
        }
        ContentKind::Thoughts { thoughts } => {
            out.push_str("<details><summary>Thoughts</summary>\n");
            for (summary, content) in thought_texts(thoughts) {
                for s in [summary, content].into_iter().flatten() {
                    html_text_block(out, "text", s);
                }
            }
            out.push_str("</details>\n");
        }
        ContentKind::ReasoningRecap { content } => html_text_block(out, "recap", content),
        ContentKind::Other { .. } => {
            let t = c.plain_text();
            if !t.is_empty() {
                html_text_block(out, "text", &t);
            }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;\
line-height:1.5;color:#1f2328}h1{font-size:1.5rem}section{border-top:1px solid #d0d7de;padding:.5rem 0}\
h2{font-size:.9rem;color:#57606a;margin:.25rem 0}.text{white-space:pre-wrap;overflow-wrap:anywhere}\
pre{background:#f6f8fa;padding:.75rem;overflow:auto;white-space:pre-wrap}.placeholder,.recap{color:#57606a;\
font-style:italic}section.user{background:#f6f8fa;padding:.5rem}";

/// A complete, self-contained HTML document of the main line: no scripts, no external
/// resources, every conversation text escaped.
pub fn to_html(conv: &Conversation) -> String {
    to_html_many(std::slice::from_ref(conv))
}

/// One HTML document holding `convs` (an export of several conversations is one valid page, under
/// one Content-Security-Policy): each conversation a titled `<article>`; one conversation reads as
/// [`to_html`].
pub fn to_html_many(convs: &[Conversation]) -> String {
    let mut out = String::with_capacity(4096 * convs.len().max(1));
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    match convs {
        [one] => escape_html(display_title(one), &mut out),
        _ => {
            let _ = write!(out, "Conversations ({})", convs.len());
        }
    }
    let _ = write!(out, "</title>\n<style>{STYLE}</style>\n</head>\n<body>\n");
    for conv in convs {
        html_article(&mut out, conv, convs.len() > 1);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// One conversation: its title and its main line's messages (in an `<article>` when `wrapped`).
fn html_article(out: &mut String, conv: &Conversation, wrapped: bool) {
    if wrapped {
        out.push_str("<article>\n");
    }
    out.push_str("<h1>");
    escape_html(display_title(conv), out);
    out.push_str("</h1>\n");
    for m in main_line(conv) {
        if is_blank(m) {
            continue;
        }
        let class = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            _ => "other",
        };
        let _ = write!(out, "<section class=\"{class}\">\n<h2>");
        escape_html(&role_label(m), out);
        out.push_str("</h2>\n");
        html_content(out, &m.content);
        out.push_str("</section>\n");
    }
    if wrapped {
        out.push_str("</article>\n");
    }
}
