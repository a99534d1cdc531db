//! `understudy classify FILE.html|- [--now UNIX_MS] [--tz-offset MINUTES] [--site S]`
//!
//! Reads a saved chat page of site S (`chatgpt`, the default, `claude`, `gemini`, `deepseek`,
//! `grok`, `perplexity`, `copilot` or `mistral`; or stdin for `-`), judged with that site's
//! adapter, extracts what the content script would observe, and
//! prints one JSON line: `{"kind":"...","evidence":"...","retry_after_s":null|N}`. Exits 0 whatever
//! the kind; 1 when the input cannot be read; 2 on a usage error. `--now` fixes the clock used to
//! read times such as "until 14:20" (default: the system clock); `--tz-offset` is the page's time
//! zone in minutes east of UTC (default 0).

use std::io::Read;

use crate::detect::{Observation, Rules, classify, extract_html};
use crate::services::{Clock, SystemClock};

/// The largest input read, in bytes; longer input is cut (a page that large is not a chat page).
const MAX_INPUT: u64 = 64 * 1024 * 1024;

const USAGE: &str = "usage: understudy classify FILE.html|- [--now UNIX_MS] [--tz-offset MINUTES] [--site S]
  S: chatgpt (default), claude, gemini, deepseek, grok, perplexity, copilot, mistral";

struct Args {
    path: String,
    now_ms: Option<u64>,
    tz_offset_min: i32,
    site: String,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut path = None;
    let mut now_ms = None;
    let mut tz_offset_min = 0;
    let mut site = "chatgpt".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--now" => {
                let v = it.next().ok_or("--now needs a value")?;
                now_ms = Some(v.parse().map_err(|_| format!("bad --now value '{v}'"))?);
            }
            "--tz-offset" => {
                let v = it.next().ok_or("--tz-offset needs a value")?;
                tz_offset_min = v.parse().map_err(|_| format!("bad --tz-offset value '{v}'"))?;
            }
            "--site" => site = it.next().ok_or("--site needs a value")?.clone(),
            _ if path.is_none() && (a == "-" || !a.starts_with("--")) => path = Some(a.clone()),
            _ => return Err(format!("unexpected argument '{a}'")),
        }
    }
    Ok(Args { path: path.ok_or("missing input file")?, now_ms, tz_offset_min, site })
}

fn read_input(path: &str) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin().lock().take(MAX_INPUT).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(path)?.take(MAX_INPUT).read_to_end(&mut bytes)?;
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Runs the verb with its arguments and returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("understudy classify: {e}\n{USAGE}");
            return 2;
        }
    };
    let Some(rules) = Rules::builtin_by_id(&args.site) else {
        eprintln!("understudy classify: unknown site '{}'", args.site);
        return 2;
    };
    let html = match read_input(&args.path) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("understudy classify: cannot read {}: {e}", args.path);
            return 1;
        }
    };
    let now_ms = args.now_ms.unwrap_or_else(|| SystemClock.now_ms());
    let mut dom = extract_html(&html, rules);
    dom.tz_offset_min = args.tz_offset_min.clamp(-16 * 60, 16 * 60);
    let d = classify(&Observation::Dom(dom), rules, now_ms);
    let line = serde_json::json!({
        "kind": d.kind.as_str(),
        "evidence": d.evidence.to_string(),
        "retry_after_s": d.retry_after_s,
    });
    super::print_line(&line.to_string());
    0
}
