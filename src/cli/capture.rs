//! `understudy capture [--site S] [--request FILE] [--path P] [--chunk-size N] FILE`: what the
//! cache would keep from a response body the page received.
//!
//! S is `chatgpt` (the default), `claude`, `gemini`, `deepseek`, `grok`, `perplexity`, `copilot`
//! or `mistral`. For a site other than ChatGPT, FILE is the site's answer stream (for Copilot,
//! one WebSocket text frame a line), decoded by its decoder in `crate::page::sites`, and the
//! output is the same object; its `error.kind` is the detection kind the site's adapter gives,
//! and `error.retry_at_ms` (Unix milliseconds) is added when the site said when a limit resets.
//! A site's conversation read (Claude's `?tree=True` body, Gemini's `hNvQHb` reply starting with
//! `)]}'`, DeepSeek's `history_messages`, Grok's `response-node` and `load-responses`, Perplexity's
//! thread, Copilot's history: `sites::parse_body`) prints its current branch, like ChatGPT's;
//! `--path` is the read's request path and query, where the site names the conversation only
//! there (Grok, Copilot). A body that is no read is decoded as the site's stream. `--request` is
//! ChatGPT's only.
//!
//! FILE is an SSE stream of the send or resume endpoint (fed to the decoder in chunks of N bytes,
//! the whole file when N is 0 or absent), or the JSON body of a conversation GET (plural, an
//! older page, or the singular `mapping`). `--request` is the JSON body the page sent, when the
//! prompt is not echoed in the stream. One JSON line is printed:
//! `{"conversation_id": str|null, "title": str|null, "messages": [{"id", "role", "text",
//! "complete"}], "end": "done"|"handoff"|"error"|"truncated", "error": null|{"kind", "code",
//! "message"}}`, the messages being the user-visible ones in order (the current branch for a
//! conversation body). Exit 0 for any outcome; 2 for wrong arguments, 1 for an unreadable file.

use serde_json::Value;

use crate::conversation::{Conversation, main_line};
use crate::page::body::{self, Body};
use crate::page::chatgpt::{Request, decode_stream};
use crate::page::{End, StreamError, Turn, sites};
use crate::site::Site;

const USAGE: &str = "usage: understudy capture [--site S] [--request FILE] [--path P] [--chunk-size N] FILE
  S: chatgpt (default), claude, gemini, deepseek, grok, perplexity, copilot, mistral
  (copilot: FILE holds one WebSocket text frame a line)
  P: a conversation read's request path and query (/c/api/conversations/ID/history)";

struct Args {
    site: Site,
    request: Option<String>,
    path: Option<String>,
    chunk_size: usize,
    file: String,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut site = Site::Chatgpt;
    let mut request = None;
    let mut path = None;
    let mut chunk_size = 0;
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--site" => {
                let id = it.next().ok_or("--site needs a value")?;
                site = Site::from_id(id).ok_or_else(|| {
                    let known: Vec<&str> = Site::ALL.iter().map(|s| s.id()).collect();
                    format!("unknown site {id:?} (known: {})", known.join(", "))
                })?;
            }
            "--request" => request = Some(it.next().ok_or("--request needs a file")?.clone()),
            "--path" => path = Some(it.next().ok_or("--path needs a value")?.clone()),
            "--chunk-size" => chunk_size = super::chunk_size(it.next())?,
            s => super::positional(&mut file, s)?,
        }
    }
    if request.is_some() && site != Site::Chatgpt {
        return Err(format!("--request is for chatgpt only, not {}", site.id()));
    }
    Ok(Args { site, request, path, chunk_size, file: file.ok_or("FILE is required")? })
}

fn read(path: &str) -> Result<Vec<u8>, i32> {
    std::fs::read(path).map_err(|e| {
        eprintln!("understudy capture: cannot read {path}: {e}");
        1
    })
}

/// One message, keys in the documented order (`id`, `role`, `text`, `complete`).
fn message_json(id: &str, role: &str, text: String, complete: bool) -> String {
    format!(
        "{{\"id\":{},\"role\":{},\"text\":{},\"complete\":{complete}}}",
        Value::String(id.to_string()),
        Value::String(role.to_string()),
        Value::String(text)
    )
}

fn turn_json(turn: &Turn) -> Vec<String> {
    turn.visible()
        .map(|n| {
            let m = &n.message;
            message_json(&m.id, m.role.as_str(), m.content.plain_text(), !m.is_incomplete())
        })
        .collect()
}

fn tree_json(conv: &Conversation) -> Vec<String> {
    main_line(conv)
        .into_iter()
        .map(|m| message_json(&m.id, m.role.as_str(), m.content.plain_text(), !m.is_incomplete()))
        .collect()
}

/// Prints the documented object, keys in the documented order.
fn print(conversation_id: Option<&str>, title: Option<&str>, messages: Vec<String>, end: End, error: &str) {
    let s = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_string()));
    super::print_line(&format!(
        "{{\"conversation_id\":{},\"title\":{},\"messages\":[{}],\"end\":\"{}\",\"error\":{}}}",
        s(conversation_id),
        s(title),
        messages.join(","),
        end.as_str(),
        error
    ));
}

/// Runs the verb with its arguments and returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("understudy capture: {e}\n{USAGE}");
            return 2;
        }
    };
    let bytes = match read(&args.file) {
        Ok(b) => b,
        Err(code) => return code,
    };
    // A read is JSON (`{`), or Gemini's `batchexecute` reply (`)]}'`); else, or when it is no
    // read the site's decoder knows, the body is the site's stream.
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let maybe_read = bytes[start..].starts_with(b"{") || bytes[start..].starts_with(b")]}'");
    if maybe_read
        && let Some(Ok(conv)) =
            sites::parse_body(args.site, args.path.as_deref(), &String::from_utf8_lossy(&bytes))
    {
        print(Some(&conv.id), conv.title.as_deref(), tree_json(&conv), End::Done, "null");
        return 0;
    }
    if let Some(turn) = sites::decode_stream(args.site, &bytes, args.chunk_size) {
        print_turn(&turn);
        return 0;
    }
    let request = match &args.request {
        Some(path) => match read(path) {
            Ok(b) => Request::parse(&String::from_utf8_lossy(&b)),
            Err(code) => return code,
        },
        None => None,
    };
    // A body starts with `{` (after white space); a stream with a field name.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let text = String::from_utf8_lossy(&bytes);
        match body::parse(&text, args.path.as_deref()) {
            Ok(Body::Page(turn)) => {
                let messages = turn_json(&turn);
                print(turn.conversation_id.as_deref(), turn.title.as_deref(), messages, End::Done, "null");
                return 0;
            }
            Ok(Body::Tree(conv)) => {
                print(Some(&conv.id), conv.title.as_deref(), tree_json(&conv), End::Done, "null");
                return 0;
            }
            Err(body::BodyError::Temporary) => {
                print(None, None, Vec::new(), End::Done, "null");
                return 0;
            }
            Err(_) => {} // not a body: read it as a stream
        }
    }
    print_turn(&decode_stream(request, &bytes, args.chunk_size));
    0
}

/// The error object, keys in the documented order; `retry_at_ms` only when the site gave it.
fn error_json(e: &StreamError) -> String {
    let s = |v: &Option<String>| v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()));
    let retry = e.retry_at_ms.map(|ms| format!(",\"retry_at_ms\":{ms}")).unwrap_or_default();
    format!(
        "{{\"kind\":{},\"code\":{},\"message\":{}{retry}}}",
        s(&e.kind),
        s(&e.code),
        Value::String(e.message.clone())
    )
}

fn print_turn(turn: &Turn) {
    let error = turn.error.as_ref().map_or_else(|| "null".to_string(), error_json);
    print(
        turn.conversation_id.as_deref(),
        turn.title.as_deref(),
        turn_json(turn),
        turn.end.unwrap_or(End::Truncated),
        &error,
    );
}
