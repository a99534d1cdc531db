//! The messages that cross between content scripts, extension pages and the service worker.
//!
//! One tagged union per direction. Everything a content script sends is untrusted (a page can
//! forge what a MAIN-world script hears), so requests are parsed strictly here and answered with
//! plain data.

use serde::{Deserialize, Serialize};

use crate::site::{Site, site_for_url};

/// A request sent to the service worker.
///
/// JSON: `{"type": "hello", "url": "..."}`; unknown types and fields are refused.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RequestWire")]
pub enum Request {
    /// A content script announces itself from a page.
    Hello {
        /// The page's URL, as the content script sees it.
        url: String,
    },
}

// Read through a flat record: serde's internally tagged reader buffers the whole message first
// and compiles to several times the code.
#[derive(Clone, Copy)]
enum RequestType {
    Hello,
}
deserialize_by_name!(RequestType { Hello = "hello" });

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestWire {
    #[serde(rename = "type")]
    kind: RequestType,
    #[serde(default)]
    url: Option<String>,
}

impl TryFrom<RequestWire> for Request {
    type Error = &'static str;

    fn try_from(w: RequestWire) -> Result<Self, &'static str> {
        match w.kind {
            RequestType::Hello => Ok(Request::Hello { url: w.url.ok_or("missing field `url`")? }),
        }
    }
}

/// The service worker's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// The answer to [`Request::Hello`].
    Hello {
        /// The version of the Wasm core that answered.
        core_version: &'static str,
        /// The site recognised from the URL, if Understudy watches it.
        site: Option<Site>,
    },
}

/// Why a request could not be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The message is not a request this version understands.
    Malformed(String),
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::Malformed(m) => write!(f, "malformed request: {m}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Parses a request from JSON text.
pub fn parse_request(json: &str) -> Result<Request, ProtocolError> {
    serde_json::from_str(json).map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// Answers a request that needs nothing but the core.
pub fn handle(request: &Request) -> Response {
    match request {
        Request::Hello { url } => Response::Hello { core_version: crate::VERSION, site: site_for_url(url) },
    }
}

/// Reads a unit enum from its name: `names[i]` is the JSON name of `all[i]`.
///
/// serde's derived reader for a unit enum goes through the whole enum-access protocol (a field
/// visitor for strings and for bytes, a variant access) once per enum and per input format; this
/// reader is compiled once per input format and shared by every enum that uses it (through
/// [`deserialize_by_name`]). Unknown names give serde's usual "unknown variant" error.
pub(crate) fn unit_variant<'de, D, T>(d: D, all: &[T], names: &'static [&'static str]) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Copy,
{
    let i = d.deserialize_str(NameVisitor(names))?;
    all.get(i).copied().ok_or_else(|| serde::de::Error::custom("unknown variant"))
}

struct NameVisitor(&'static [&'static str]);

impl serde::de::Visitor<'_> for NameVisitor {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a variant name")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<usize, E> {
        self.0.iter().position(|n| *n == v).ok_or_else(|| E::unknown_variant(v, self.0))
    }
}

/// Implements `Deserialize` for a unit enum from `Variant = "name"` pairs, with [`unit_variant`].
macro_rules! deserialize_by_name {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::protocol::unit_variant(d, &[$($ty::$variant),+], &[$($name),+])
            }
        }
    };
}
pub(crate) use deserialize_by_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_answered_with_the_core_version_and_site() {
        let req = parse_request(r#"{"type":"hello","url":"https://chatgpt.com/c/1"}"#).unwrap();
        let json = serde_json::to_value(handle(&req)).unwrap();
        assert_eq!(json["type"], "hello");
        assert_eq!(json["core_version"], crate::VERSION);
        assert_eq!(json["site"], "chatgpt");
    }

    #[test]
    fn forged_or_unknown_messages_are_rejected() {
        for bad in [
            "",
            "null",
            r#"{"type":"hello"}"#,
            r#"{"type":"hello","url":5}"#,
            r#"{"type":"hello","url":"x","extra":1}"#,
            r#"{"type":"steal_keys"}"#,
        ] {
            assert!(parse_request(bad).is_err(), "{bad}");
        }
    }
}
