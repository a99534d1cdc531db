//! The native command-line front end: one module per verb.

pub mod capture;
pub mod classify;
pub mod convert;
pub mod stream;

const USAGE: &str = "usage: understudy <command> [args]

commands:
  capture [--site chatgpt] [--request FILE] [--chunk-size N] FILE
                                what the cache keeps from a chat page's response body
                                (an answer stream or a conversation GET); prints one JSON object
  classify FILE.html|-          judge a saved chat page; prints one JSON object
  convert FILE --to FORMAT --out DIR
                                convert a ChatGPT export to markdown, json or html
  stream --format FORMAT [--chunk-size N] FILE
                                decode a saved provider stream; prints one JSON object
  version                       print the core version";

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
