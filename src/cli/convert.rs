//! `understudy convert FILE --to markdown|json|html --out DIR`.
//!
//! FILE is a `conversations.json`, a split `conversations-NNN.json` or the export zip. One file
//! per conversation is written to DIR as `<conversation id>.<md|json|html>` (ids sanitised for
//! file names). Markdown and HTML follow the main line; JSON keeps the whole tree as a
//! one-element export array. Malformed conversations are reported on stderr and skipped.
//!
//! Exit codes: 0 when the file was read (even if some conversations were skipped, unless all
//! were), 1 when the input is unreadable, not an export, or every conversation failed, 2 on bad
//! arguments.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::conversation::export::{ExportReader, Imported, is_zip, read_zip};
use crate::conversation::render::{Format, render};

const USAGE: &str = "usage: understudy convert FILE --to markdown|json|html --out DIR";

struct Args {
    input: PathBuf,
    format: Format,
    out: PathBuf,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut input = None;
    let mut format = None;
    let mut out = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let value = |i: usize| args.get(i + 1).cloned().ok_or_else(|| format!("{a} needs a value"));
        match a {
            "--to" | "-t" => {
                let v = value(i)?;
                format = Some(Format::parse(&v).ok_or_else(|| format!("unknown format '{v}'"))?);
                i += 2;
            }
            "--out" | "-o" => {
                out = Some(PathBuf::from(value(i)?));
                i += 2;
            }
            _ if a.starts_with("--to=") => {
                let v = &a[5..];
                format = Some(Format::parse(v).ok_or_else(|| format!("unknown format '{v}'"))?);
                i += 1;
            }
            _ if a.starts_with("--out=") => {
                out = Some(PathBuf::from(&a[6..]));
                i += 1;
            }
            _ if a.starts_with('-') && a.len() > 1 => return Err(format!("unknown option '{a}'")),
            _ => {
                if input.is_some() {
                    return Err(format!("unexpected argument '{a}'"));
                }
                input = Some(PathBuf::from(a));
                i += 1;
            }
        }
    }
    Ok(Args {
        input: input.ok_or("missing input FILE")?,
        format: format.ok_or("missing --to FORMAT")?,
        out: out.ok_or("missing --out DIR")?,
    })
}

/// A safe file name stem for a conversation id: ASCII letters, digits, `-` and `_` kept, every
/// other character replaced by `_`, at most 100 bytes, never empty.
pub fn file_stem(id: &str) -> String {
    let s: String = id
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    if s.is_empty() { "conversation".into() } else { s }
}

struct Writer {
    out: PathBuf,
    format: Format,
    used: HashSet<String>,
    written: usize,
    skipped: usize,
    failed_writes: usize,
}

impl Writer {
    fn take(&mut self, item: Imported) {
        match item {
            Imported::Skipped(issue) => {
                eprintln!("understudy: skipped {issue}");
                self.skipped += 1;
            }
            Imported::Conversation(c) => {
                let stem = file_stem(&c.id);
                let mut name = format!("{stem}.{}", self.format.extension());
                let mut n = 2;
                while self.used.contains(&name) {
                    name = format!("{stem}-{n}.{}", self.format.extension());
                    n += 1;
                }
                let path = self.out.join(&name);
                match std::fs::write(&path, render(&c, self.format)) {
                    Ok(()) => {
                        self.used.insert(name);
                        self.written += 1;
                    }
                    Err(e) => {
                        eprintln!("understudy: cannot write {}: {e}", path.display());
                        self.failed_writes += 1;
                    }
                }
            }
        }
    }
}

fn convert(args: &Args) -> Result<Writer, String> {
    let shown = args.input.display();
    let mut file = File::open(&args.input).map_err(|e| format!("cannot read {shown}: {e}"))?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let mut w = Writer {
        out: args.out.clone(),
        format: args.format,
        used: HashSet::new(),
        written: 0,
        skipped: 0,
        failed_writes: 0,
    };
    let mut head = [0u8; 4];
    let got = read_full(&mut file, &mut head).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if is_zip(&head[..got]) {
        let mut bytes = head[..got].to_vec();
        file.read_to_end(&mut bytes).map_err(|e| format!("cannot read {shown}: {e}"))?;
        read_zip(&bytes, &mut |item| w.take(item)).map_err(|e| format!("{shown}: {e}"))?;
    } else {
        // Stream JSON in 1 MiB chunks.
        let mut reader = ExportReader::new();
        reader.feed_with(&head[..got], &mut |item| w.take(item)).map_err(|e| format!("{shown}: {e}"))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(|e| format!("cannot read {shown}: {e}"))?;
            if n == 0 {
                break;
            }
            reader.feed_with(&buf[..n], &mut |item| w.take(item)).map_err(|e| format!("{shown}: {e}"))?;
        }
        for item in reader.finish().map_err(|e| format!("{shown}: {e}"))? {
            w.take(item);
        }
    }
    Ok(w)
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = f.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Runs the verb with its arguments and returns the exit code.
pub fn run(args: &[String]) -> i32 {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        super::print_line(USAGE);
        return 0;
    }
    let parsed = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("understudy convert: {e}\n{USAGE}");
            return 2;
        }
    };
    match convert(&parsed) {
        Ok(w) => {
            eprintln!(
                "understudy: wrote {} conversation(s) to {}, skipped {}",
                w.written,
                Path::new(&parsed.out).display(),
                w.skipped
            );
            if w.failed_writes > 0 || (w.written == 0 && w.skipped > 0) { 1 } else { 0 }
        }
        Err(e) => {
            eprintln!("understudy convert: {e}");
            1
        }
    }
}
