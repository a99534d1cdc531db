//! `understudy stream --format FORMAT [--chunk-size N] FILE`: decodes a saved provider stream.
//!
//! The file's bytes are fed to the format's decoder in chunks of N bytes (the whole file when N is
//! absent or 0) and one JSON line is printed:
//! `{"text": "...", "outcome": "complete"|"error"|"truncated", "error": null|{"class","message"}}`.
//! Exit code 0 for any outcome; 2 for wrong arguments, 1 for an unreadable file.

use serde_json::json;

use crate::provider::{StreamFormat, StreamOutcome, decode_all};

const USAGE: &str = "usage: understudy stream --format openai-chat|openai-responses|anthropic|gemini|ollama \
[--chunk-size N] FILE";

struct Args {
    format: StreamFormat,
    chunk_size: usize,
    file: String,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut format = None;
    let mut chunk_size = 0;
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--format" => {
                let name = it.next().ok_or("--format needs a value")?;
                format =
                    Some(StreamFormat::from_name(name).ok_or_else(|| format!("unknown format {name:?}"))?);
            }
            "--chunk-size" => chunk_size = super::chunk_size(it.next())?,
            s => super::positional(&mut file, s)?,
        }
    }
    Ok(Args {
        format: format.ok_or("--format is required")?,
        chunk_size,
        file: file.ok_or("FILE is required")?,
    })
}

/// Runs the verb with its arguments and returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("understudy stream: {e}\n{USAGE}");
            return 2;
        }
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("understudy stream: cannot read {}: {e}", args.file);
            return 1;
        }
    };
    let (text, outcome) = decode_all(args.format, &bytes, args.chunk_size);
    let error = match &outcome {
        StreamOutcome::Error { class, message } => json!({"class": class.as_str(), "message": message}),
        _ => serde_json::Value::Null,
    };
    // Written by hand to keep the documented key order.
    super::print_line(&format!(
        "{{\"text\":{},\"outcome\":\"{}\",\"error\":{}}}",
        serde_json::Value::String(text),
        outcome.kind_name(),
        error
    ));
    0
}
