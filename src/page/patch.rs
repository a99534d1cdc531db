//! The JSON-patch operations of ChatGPT's "delta encoding v1", applied to one channel's root.
//!
//! Paths are JSON Pointers (RFC 6901: `~1` is `/`, `~0` is `~`; numeric segments index arrays,
//! `-` is the end of an array). The operations are ChatGPT's own set: `add`, `remove`,
//! `replace`, `append` (a string to a string, an array's items or a value to an array, an
//! object's fields into an object), `truncate` (a string or an array cut to a length; string
//! lengths count UTF-16 units, as the page's JavaScript does) and `patch` (a list of sub-operations
//! applied in order, each with its own full path and op, without carry-forward).
//!
//! An operation that does not fit the document (a missing parent, an index out of range, a type
//! mismatch) is refused with a [`PatchError`] and leaves the document as it was: the decoder
//! counts it and goes on, it never guesses.

use std::fmt;

use serde_json::{Map, Value};

/// One operation of a v1 delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Sets a value (inserting into an array).
    Add,
    /// Removes a value.
    Remove,
    /// Replaces a value (sets it when an object lacks the key).
    Replace,
    /// Appends to a string, an array or an object.
    Append,
    /// Applies a list of sub-operations.
    Patch,
    /// Cuts a string or an array to a length.
    Truncate,
}

impl Op {
    /// The op named by the wire (`"add"`, ...); `None` for an unknown one.
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "add" => Op::Add,
            "remove" => Op::Remove,
            "replace" => Op::Replace,
            "append" => Op::Append,
            "patch" => Op::Patch,
            "truncate" => Op::Truncate,
            _ => return None,
        })
    }
}

/// Why an operation was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The path does not lead to a place in the document.
    NoSuchPath(String),
    /// The value at the path (or the operation's value) has the wrong type for the op.
    TypeMismatch(String),
    /// A `patch` whose value is not a list of `{p, o, v}` objects, or an unknown op.
    Malformed(String),
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchError::NoSuchPath(p) => write!(f, "no such path {p:?}"),
            PatchError::TypeMismatch(p) => write!(f, "type mismatch at {p:?}"),
            PatchError::Malformed(m) => write!(f, "malformed patch: {m}"),
        }
    }
}

impl std::error::Error for PatchError {}

/// The most segments a path may have.
pub const MAX_SEGMENTS: usize = 64;

/// The segments of a JSON Pointer, unescaped; `None` when it does not start with `/` (and is not
/// the empty pointer, the whole document).
pub fn segments(path: &str) -> Option<Vec<String>> {
    if path.is_empty() {
        return Some(Vec::new());
    }
    let rest = path.strip_prefix('/')?;
    // Deeper than any document the page streams: a forged stream adding ever deeper values would
    // otherwise build a tree too deep to drop without running out of stack.
    if rest.split('/').nth(MAX_SEGMENTS).is_some() {
        return None;
    }
    Some(
        rest.split('/')
            .map(|s| if s.contains('~') { s.replace("~1", "/").replace("~0", "~") } else { s.to_string() })
            .collect(),
    )
}

fn index(seg: &str, len: usize, allow_end: bool) -> Option<usize> {
    if seg == "-" {
        return allow_end.then_some(len);
    }
    if seg.is_empty() || (seg.len() > 1 && seg.starts_with('0')) || !seg.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i: usize = seg.parse().ok()?;
    (i < len || (allow_end && i == len)).then_some(i)
}

/// The value at `segs` (mutable).
fn walk<'a>(mut v: &'a mut Value, segs: &[String]) -> Option<&'a mut Value> {
    for s in segs {
        v = match v {
            Value::Object(m) => m.get_mut(s.as_str())?,
            Value::Array(a) => {
                let i = index(s, a.len(), false)?;
                &mut a[i]
            }
            _ => return None,
        };
    }
    Some(v)
}

/// Appends `text` to the string at `segs` (the usual v1 delta: one token of the answer). Returns
/// false, changing nothing, when no string is there.
pub fn append_text(root: &mut Value, segs: &[String], text: &str) -> bool {
    match walk(root, segs) {
        Some(Value::String(s)) => {
            s.push_str(text);
            true
        }
        _ => false,
    }
}

/// Applies one operation at `path` of `root`.
pub fn apply(root: &mut Value, path: &str, op: Op, value: Value) -> Result<(), PatchError> {
    let segs = segments(path).ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
    apply_at(root, path, &segs, op, value)
}

/// [`apply`] with the path already split into its segments.
pub fn apply_at(
    root: &mut Value,
    path: &str,
    segs: &[String],
    op: Op,
    value: Value,
) -> Result<(), PatchError> {
    match op {
        Op::Patch => {
            let Value::Array(ops) = value else {
                return Err(PatchError::Malformed("a patch's value is a list".into()));
            };
            for sub in ops {
                let Value::Object(mut o) = sub else {
                    return Err(PatchError::Malformed("a patch's item is an object".into()));
                };
                let p = match o.remove("p") {
                    Some(Value::String(p)) => p,
                    None | Some(Value::Null) => String::new(),
                    Some(_) => return Err(PatchError::Malformed("a path is a string".into())),
                };
                let sub_op = o
                    .get("o")
                    .and_then(Value::as_str)
                    .and_then(Op::parse)
                    .ok_or_else(|| PatchError::Malformed("unknown op in a patch".into()))?;
                let v = o.remove("v").unwrap_or(Value::Null);
                // A sub-operation that does not fit is skipped; the others still apply.
                let _ = apply(root, &p, sub_op, v);
            }
            Ok(())
        }
        Op::Add | Op::Replace => {
            let Some((last, parent)) = segs.split_last() else {
                *root = value;
                return Ok(());
            };
            let target = walk(root, parent).ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
            match target {
                Value::Object(m) => {
                    m.insert(last.clone(), value);
                    Ok(())
                }
                Value::Array(a) => {
                    let i = index(last, a.len(), op == Op::Add)
                        .ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
                    if op == Op::Add {
                        a.insert(i, value);
                    } else {
                        a[i] = value;
                    }
                    Ok(())
                }
                _ => Err(PatchError::TypeMismatch(path.to_string())),
            }
        }
        Op::Remove => {
            let (last, parent) = segs.split_last().ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
            let target = walk(root, parent).ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
            match target {
                Value::Object(m) => {
                    m.remove(last.as_str()).ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
                    Ok(())
                }
                Value::Array(a) => {
                    let i = index(last, a.len(), false)
                        .ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
                    a.remove(i);
                    Ok(())
                }
                _ => Err(PatchError::TypeMismatch(path.to_string())),
            }
        }
        Op::Append => {
            // Appending where nothing is yet (an object's missing key) sets the value.
            if walk(root, segs).is_none() {
                return apply(root, path, Op::Add, value);
            }
            let target = walk(root, segs).ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
            match (target, value) {
                (Value::String(s), Value::String(v)) => {
                    s.push_str(&v);
                    Ok(())
                }
                (Value::Array(a), Value::Array(v)) => {
                    a.extend(v);
                    Ok(())
                }
                (Value::Array(a), v) => {
                    a.push(v);
                    Ok(())
                }
                (Value::Object(m), Value::Object(v)) => {
                    merge_into(m, v);
                    Ok(())
                }
                (t @ Value::Null, v) => {
                    *t = v;
                    Ok(())
                }
                _ => Err(PatchError::TypeMismatch(path.to_string())),
            }
        }
        Op::Truncate => {
            let len = value.as_u64().ok_or_else(|| PatchError::TypeMismatch(path.to_string()))?;
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let target = walk(root, segs).ok_or_else(|| PatchError::NoSuchPath(path.to_string()))?;
            match target {
                Value::String(s) => {
                    truncate_utf16(s, len);
                    Ok(())
                }
                Value::Array(a) => {
                    a.truncate(len);
                    Ok(())
                }
                _ => Err(PatchError::TypeMismatch(path.to_string())),
            }
        }
    }
}

fn merge_into(m: &mut Map<String, Value>, v: Map<String, Value>) {
    for (k, v) in v {
        m.insert(k, v);
    }
}

/// Cuts `s` to its first `units` UTF-16 code units (never inside a character).
fn truncate_utf16(s: &mut String, units: usize) {
    let mut n = 0;
    for (i, c) in s.char_indices() {
        n += c.len_utf16();
        if n > units {
            s.truncate(i);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(doc: Value, path: &str, op: &str, v: Value, expect: Result<Value, ()>) {
        let mut d = doc.clone();
        let r = apply(&mut d, path, Op::parse(op).unwrap(), v);
        match expect {
            Ok(e) => {
                assert!(r.is_ok(), "{path} {op}: {r:?}");
                assert_eq!(d, e, "{path} {op}");
            }
            Err(()) => {
                assert!(r.is_err(), "{path} {op} should fail");
                assert_eq!(d, doc, "a refused op leaves the document as it was");
            }
        }
    }

    #[test]
    fn every_op() {
        let doc = json!({"message": {"content": {"parts": ["Hi"]}, "status": "in_progress", "metadata": {"a": 1}}, "a/b": {"~": 0}});
        let mut want = doc.clone();
        want["message"]["content"]["parts"][0] = json!("Hi there");
        check(doc.clone(), "/message/content/parts/0", "append", json!(" there"), Ok(want));
        let mut want = doc.clone();
        want["message"]["status"] = json!("finished_successfully");
        check(doc.clone(), "/message/status", "replace", json!("finished_successfully"), Ok(want));
        let mut want = doc.clone();
        want["message"]["metadata"] = json!({"a": 1, "can_save": true});
        check(doc.clone(), "/message/metadata", "append", json!({"can_save": true}), Ok(want));
        let mut want = doc.clone();
        want["message"]["content"]["parts"] = json!(["Hi", "x"]);
        check(doc.clone(), "/message/content/parts", "append", json!(["x"]), Ok(want.clone()));
        check(doc.clone(), "/message/content/parts/-", "add", json!("x"), Ok(want));
        let mut want = doc.clone();
        want["message"]["content"]["parts"] = json!(["x", "Hi"]);
        check(doc.clone(), "/message/content/parts/0", "add", json!("x"), Ok(want));
        let mut want = doc.clone();
        want["message"].as_object_mut().unwrap().remove("status");
        check(doc.clone(), "/message/status", "remove", Value::Null, Ok(want));
        let mut want = doc.clone();
        want["a/b"]["~"] = json!(5);
        check(doc.clone(), "/a~1b/~0", "replace", json!(5), Ok(want));
        check(doc.clone(), "", "add", json!({"x": 1}), Ok(json!({"x": 1})));
        let mut want = doc.clone();
        want["message"]["end_turn"] = json!(true);
        check(doc.clone(), "/message/end_turn", "append", json!(true), Ok(want));
        // Truncation counts UTF-16 units and never cuts a character in two.
        let d = json!({"t": "a😀b"});
        check(d.clone(), "/t", "truncate", json!(3), Ok(json!({"t": "a😀"})));
        check(d.clone(), "/t", "truncate", json!(2), Ok(json!({"t": "a"})));
        check(json!({"l": [1, 2, 3]}), "/l", "truncate", json!(1), Ok(json!({"l": [1]})));
        // A patch applies its sub-ops in order, each with its own path, skipping one that does not fit.
        let mut want = doc.clone();
        want["message"]["content"]["parts"][0] = json!("Hi!");
        want["message"]["status"] = json!("done");
        check(
            doc.clone(),
            "",
            "patch",
            json!([{"p": "/message/content/parts/0", "o": "append", "v": "!"}, {"p": "/nope/x", "o": "replace", "v": 1}, {"p": "/message/status", "o": "replace", "v": "done"}]),
            Ok(want),
        );
        // Refused: no such place, wrong types, bad indexes.
        check(doc.clone(), "/message/nope/x", "append", json!("x"), Err(()));
        check(doc.clone(), "/message/content/parts/5", "replace", json!("x"), Err(()));
        check(doc.clone(), "/message/content/parts/01", "replace", json!("x"), Err(()));
        check(doc.clone(), "/message/status", "append", json!(3), Err(()));
        check(doc.clone(), "message", "add", json!(3), Err(()));
        check(doc.clone(), "", "patch", json!({"p": "/x"}), Err(()));
    }

    #[test]
    fn a_path_deeper_than_any_document_is_refused() {
        let deep = format!("/{}", vec!["a"; MAX_SEGMENTS + 1].join("/"));
        assert!(segments(&deep).is_none());
        let ok = format!("/{}", vec!["a"; MAX_SEGMENTS].join("/"));
        assert_eq!(segments(&ok).map(|s| s.len()), Some(MAX_SEGMENTS));
        check(json!({"a": {}}), &deep, "add", json!(1), Err(()));
    }
}
