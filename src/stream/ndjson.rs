//! An incremental NDJSON line splitter: one JSON value a line.
//!
//! Lines end at LF (a CR before it is dropped, so CRLF works too). Blank lines, including lines of
//! only spaces or tabs, are skipped. A last line without a newline is still delivered by
//! [`NdjsonSplitter::finish`]. Lines are split on bytes, so a multi-byte UTF-8 character cut
//! across chunks arrives whole; a leading byte-order mark on the first line is dropped.
//! Complete lines are handed out borrowed from the input chunk; only an unfinished tail is copied.

/// The default limit on one line's length (16 MiB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// A line that grew past the splitter's limit without ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong {
    /// The limit in bytes.
    pub limit: usize,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an NDJSON line grew past {} bytes without ending", self.limit)
    }
}

impl std::error::Error for LineTooLong {}

/// The incremental splitter. Feed chunks with [`NdjsonSplitter::feed`], end with
/// [`NdjsonSplitter::finish`].
#[derive(Debug, Clone)]
pub struct NdjsonSplitter {
    carry: Vec<u8>,
    first_line: bool,
    max_bytes: usize,
    failed: bool,
}

impl Default for NdjsonSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl NdjsonSplitter {
    /// A splitter with the default line limit ([`DEFAULT_MAX_LINE_BYTES`]).
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_LINE_BYTES)
    }

    /// A splitter that refuses lines longer than `max_bytes`.
    pub fn with_limit(max_bytes: usize) -> Self {
        Self { carry: Vec::new(), first_line: true, max_bytes, failed: false }
    }

    /// Feeds one chunk; `on_line` receives each complete, non-blank line (without its line end).
    pub fn feed<F>(&mut self, input: &[u8], mut on_line: F) -> Result<(), LineTooLong>
    where
        F: FnMut(&[u8]),
    {
        self.feed_dyn(input, &mut on_line)
    }

    /// [`NdjsonSplitter::feed`] with the callback behind a pointer: compiled once, not per caller.
    fn feed_dyn(&mut self, input: &[u8], on_line: &mut dyn FnMut(&[u8])) -> Result<(), LineTooLong> {
        if self.failed {
            return Err(LineTooLong { limit: self.max_bytes });
        }
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            let Some(i) = memchr::memchr(b'\n', rest) else {
                if self.carry.len() + rest.len() > self.max_bytes {
                    self.failed = true;
                    self.carry = Vec::new();
                    return Err(LineTooLong { limit: self.max_bytes });
                }
                self.carry.extend_from_slice(rest);
                break;
            };
            if self.carry.is_empty() {
                self.deliver(&rest[..i], on_line);
            } else {
                self.carry.extend_from_slice(&rest[..i]);
                let line = std::mem::take(&mut self.carry);
                self.deliver(&line, on_line);
                self.carry = line;
                self.carry.clear();
            }
            pos += i + 1;
        }
        Ok(())
    }

    /// Ends the stream, delivering a last line that had no newline. Resets the splitter.
    pub fn finish<F>(&mut self, mut on_line: F)
    where
        F: FnMut(&[u8]),
    {
        if !self.failed {
            let line = std::mem::take(&mut self.carry);
            self.deliver(&line, &mut on_line);
        }
        self.carry.clear();
        self.first_line = true;
        self.failed = false;
    }

    fn deliver(&mut self, mut line: &[u8], on_line: &mut dyn FnMut(&[u8])) {
        if self.first_line {
            self.first_line = false;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r')) {
            return;
        }
        on_line(line);
    }
}

/// Splits a whole NDJSON text at once into owned lines (convenience for tests and small inputs).
pub fn split_all(bytes: &[u8]) -> Result<Vec<Vec<u8>>, LineTooLong> {
    let mut splitter = NdjsonSplitter::new();
    let mut lines = Vec::new();
    splitter.feed(bytes, |l| lines.push(l.to_vec()))?;
    splitter.finish(|l| lines.push(l.to_vec()));
    Ok(lines)
}
