//! `understudy markdown FILE`: the answers' Markdown renderer, written out as HTML.
//!
//! Prints the same tree the extension's pages build (see [`crate::markdown`]), without page
//! chrome such as copy buttons or image buttons: text and attributes escaped, raw HTML as text,
//! only `http`, `https` and `mailto` links, images as `span.understudy-image`. `-` reads
//! standard input. Exit code 0; 2 for wrong arguments, 1 for an unreadable file.

use std::io::Read;

const USAGE: &str = "usage: understudy markdown FILE|-";

/// Runs the verb with its arguments and returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let mut file = None;
    for arg in args {
        if arg != "-"
            && let Err(e) = super::positional(&mut file, arg)
        {
            eprintln!("understudy markdown: {e}\n{USAGE}");
            return 2;
        }
        if arg == "-" && file.replace(arg.clone()).is_some() {
            eprintln!("understudy markdown: only one FILE may be given\n{USAGE}");
            return 2;
        }
    }
    let Some(file) = file else {
        eprintln!("understudy markdown: FILE is required\n{USAGE}");
        return 2;
    };
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(&file).map(|b| bytes = b)
    };
    if let Err(e) = read {
        eprintln!("understudy markdown: cannot read {file}: {e}");
        return 1;
    }
    let text = String::from_utf8_lossy(&bytes);
    let html = crate::markdown::html::to_html(&crate::markdown::render(&text));
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(html.as_bytes()).and_then(|()| out.flush());
    0
}
