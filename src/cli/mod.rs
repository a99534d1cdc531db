//! The native command-line front end: one module per verb.

pub mod capture;
pub mod classify;
pub mod convert;
pub mod markdown;
pub mod stream;

const USAGE: &str = "usage: understudy <command> [args]

commands:
  capture [--site S] [--request FILE] [--chunk-size N] FILE
                                what the cache keeps from a chat page's response body
                                (an answer stream or a conversation GET; for copilot, one
                                WebSocket text frame a line); prints one JSON object
  classify [--site S] FILE.html|-
                                judge a saved chat page of site S; prints one JSON object
  (S: chatgpt (default), claude, gemini, deepseek, grok, perplexity, copilot, mistral)
  convert FILE --to FORMAT --out DIR
                                convert a ChatGPT export to markdown, json or html
  markdown FILE|-               render Markdown as the extension's pages do; prints HTML
  stream --format FORMAT [--chunk-size N] FILE
                                decode a saved provider stream; prints one JSON object
  version                       print the core version";

/// The value of `--chunk-size` (a whole number of bytes; 0 is the whole file).
pub(crate) fn chunk_size(value: Option<&String>) -> Result<usize, String> {
    let n = value.ok_or("--chunk-size needs a value")?;
    n.parse().map_err(|_| format!("--chunk-size must be a whole number, not {n:?}"))
}

/// A word that is neither a known option nor an option's value: the one FILE, or an error.
pub(crate) fn positional(file: &mut Option<String>, word: &str) -> Result<(), String> {
    if word.starts_with("--") && word.len() > 2 {
        return Err(format!("unknown option {word}"));
    }
    if file.replace(word.to_string()).is_some() {
        return Err("only one FILE may be given".to_string());
    }
    Ok(())
}

/// Writes one line to standard output. A reader that went away (`understudy ... | head`) is not an
/// error of ours: the line is dropped instead of panicking on a broken pipe.
pub(crate) fn print_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Runs the command line with `args` (without the program name) and returns the exit code.
pub fn main(args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        Some("capture") => capture::run(&args[1..]),
        Some("classify") => classify::run(&args[1..]),
        Some("convert") => convert::run(&args[1..]),
        Some("markdown") => markdown::run(&args[1..]),
        Some("stream") => stream::run(&args[1..]),
        Some("version" | "--version" | "-V") => {
            print_line(&format!("understudy {}", crate::VERSION));
            0
        }
        Some("help" | "--help" | "-h") => {
            print_line(USAGE);
            0
        }
        _ => {
            eprintln!("{USAGE}");
            2
        }
    }
}
