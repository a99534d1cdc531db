//! The chat sites Understudy knows, recognised from a page URL.

use serde::Serialize;

/// A chat site that Understudy watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// ChatGPT, on `chatgpt.com` or the older `chat.openai.com`.
    Chatgpt,
    /// Claude, on `claude.ai`.
    Claude,
    /// Gemini, on `gemini.google.com`.
    Gemini,
    /// DeepSeek, on `chat.deepseek.com`.
    Deepseek,
    /// Grok, on `grok.com`.
    Grok,
    /// Perplexity, on `perplexity.ai` and `www.perplexity.ai`.
    Perplexity,
    /// Microsoft Copilot, on `copilot.microsoft.com`.
    Copilot,
    /// Mistral's Le Chat, on `chat.mistral.ai`.
    Mistral,
}

/// The hosts of each site, exactly as a page URL names them (lower case, no port).
const HOSTS: &[(&str, Site)] = &[
    ("chatgpt.com", Site::Chatgpt),
    ("chat.openai.com", Site::Chatgpt),
    ("claude.ai", Site::Claude),
    ("gemini.google.com", Site::Gemini),
    ("chat.deepseek.com", Site::Deepseek),
    ("grok.com", Site::Grok),
    ("perplexity.ai", Site::Perplexity),
    ("www.perplexity.ai", Site::Perplexity),
    ("copilot.microsoft.com", Site::Copilot),
    ("chat.mistral.ai", Site::Mistral),
];

impl Site {
    /// Every site, ChatGPT first.
    pub const ALL: [Site; 8] = [
        Site::Chatgpt,
        Site::Claude,
        Site::Gemini,
        Site::Deepseek,
        Site::Grok,
        Site::Perplexity,
        Site::Copilot,
        Site::Mistral,
    ];

    /// The stable identifier used in messages, rule files and the command line.
    pub fn id(self) -> &'static str {
        match self {
            Site::Chatgpt => "chatgpt",
            Site::Claude => "claude",
            Site::Gemini => "gemini",
            Site::Deepseek => "deepseek",
            Site::Grok => "grok",
            Site::Perplexity => "perplexity",
            Site::Copilot => "copilot",
            Site::Mistral => "mistral",
        }
    }

    /// The site's name as its users know it ("Le Chat" for Mistral's).
    pub fn label(self) -> &'static str {
        match self {
            Site::Chatgpt => "ChatGPT",
            Site::Claude => "Claude",
            Site::Gemini => "Gemini",
            Site::Deepseek => "DeepSeek",
            Site::Grok => "Grok",
            Site::Perplexity => "Perplexity",
            Site::Copilot => "Copilot",
            Site::Mistral => "Le Chat",
        }
    }

    /// The site with the identifier `id` (`"claude"`), if there is one.
    pub fn from_id(id: &str) -> Option<Site> {
        Site::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The hosts the site's pages are served from.
    pub fn hosts(self) -> impl Iterator<Item = &'static str> {
        HOSTS.iter().filter(move |(_, s)| *s == self).map(|(h, _)| *h)
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
    HOSTS.iter().find(|(h, _)| *h == host).map(|(_, s)| *s)
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

    #[test]
    fn recognises_every_other_major_chat_site() {
        check("https://claude.ai/chat/0d3c1a2b-4e5f-4a6b-8c7d-9e0f1a2b3c4d", Some(Site::Claude));
        check("https://claude.ai/new", Some(Site::Claude));
        check("https://gemini.google.com/app/c_1a2b3c4d5e6f", Some(Site::Gemini));
        check("https://chat.deepseek.com/a/chat/s/5f2c", Some(Site::Deepseek));
        check("https://grok.com/chat/7b1e", Some(Site::Grok));
        check("https://www.perplexity.ai/search/why-is-the-sky-blue-Ab12", Some(Site::Perplexity));
        check("https://perplexity.ai/", Some(Site::Perplexity));
        check("https://copilot.microsoft.com/chats/abc", Some(Site::Copilot));
        check("https://chat.mistral.ai/chat/0a1b", Some(Site::Mistral));
        // Look-alikes, other Google and Microsoft pages, plain http: not watched.
        check("https://claude.ai.evil.example/", None);
        check("https://evilclaude.ai/", None);
        check("https://google.com/", None);
        check("https://gemini.google.com.evil.example/app", None);
        check("https://bing.com/chat", None);
        check("https://mistral.ai/", None);
        check("https://deepseek.com/", None);
        check("http://claude.ai/", None);
    }

    #[test]
    fn ids_round_trip_and_hosts_recognise_their_site() {
        for site in Site::ALL {
            assert_eq!(Site::from_id(site.id()), Some(site));
            assert!(site.hosts().count() >= 1, "{site:?} has no host");
            for host in site.hosts() {
                check(&format!("https://{host}/"), Some(site));
            }
        }
        assert_eq!(Site::from_id("bard"), None);
    }
}
