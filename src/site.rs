//! The chat sites Understudy knows, recognised from a page URL.

use serde::Serialize;

/// A chat site that Understudy watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// ChatGPT, on `chatgpt.com` or the older `chat.openai.com`.
    Chatgpt,
}

impl Site {
    /// The stable identifier used in messages and rule files.
    pub fn id(self) -> &'static str {
        match self {
            Site::Chatgpt => "chatgpt",
        }
    }
}

/// Recognises the site of a page from its URL; `None` for pages Understudy does not watch.
///
/// Only `https` pages count, and the host must match exactly (no look-alike suffixes).
pub fn site_for_url(url: &str) -> Option<Site> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = host_port.split(':').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "chatgpt.com" | "chat.openai.com" => Some(Site::Chatgpt),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expect: Option<Site>) {
        assert_eq!(site_for_url(url), expect, "{url}");
    }

    #[test]
    fn recognises_chat_sites_and_nothing_else() {
        check("https://chatgpt.com/", Some(Site::Chatgpt));
        check("https://chatgpt.com/c/6789-abc?model=gpt", Some(Site::Chatgpt));
        check("https://CHAT.openai.com/c/1", Some(Site::Chatgpt));
        check("https://chatgpt.com:443/", Some(Site::Chatgpt));
        check("http://chatgpt.com/", None);
        check("https://chatgpt.com.evil.example/", None);
        check("https://evil.example/?u=https://chatgpt.com/", None);
        check("https://user@evil.example/", None);
        check("", None);
    }
}
