//! The per-site adapter, described by data: selectors, endpoint patterns, timing and text rules.
//!
//! Each site is one JSON file in `src/detect/rules/<site>.json`, compiled in and parsed once:
//! its hosts, selectors, endpoints, timings, the codes and phrases of its errors, and (for every
//! site but ChatGPT, whose decoder and status reader predate them) how its answers travel
//! (`stream`) and where its public status feed is (`status`). Adding a site means adding a data
//! file, a [`Site`] and, when its wire format is new, a decoder in `crate::page::sites`; the
//! detection engine has no site-specific code.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::html::Selector;
use super::observation::{EndpointKind, MAX_ERRORS, MAX_TEXT_BYTES};
use super::{DetectError, Kind};
use crate::site::Site;

/// The rules data format this engine reads.
pub const FORMAT: u32 = 1;

const CHATGPT_JSON: &str = include_str!("rules/chatgpt.json");
const CLAUDE_JSON: &str = include_str!("rules/claude.json");
const GEMINI_JSON: &str = include_str!("rules/gemini.json");
const DEEPSEEK_JSON: &str = include_str!("rules/deepseek.json");
const GROK_JSON: &str = include_str!("rules/grok.json");
const PERPLEXITY_JSON: &str = include_str!("rules/perplexity.json");
const COPILOT_JSON: &str = include_str!("rules/copilot.json");
const MISTRAL_JSON: &str = include_str!("rules/mistral.json");

/// The data file of each site.
fn source(site: Site) -> &'static str {
    match site {
        Site::Chatgpt => CHATGPT_JSON,
        Site::Claude => CLAUDE_JSON,
        Site::Gemini => GEMINI_JSON,
        Site::Deepseek => DEEPSEEK_JSON,
        Site::Grok => GROK_JSON,
        Site::Perplexity => PERPLEXITY_JSON,
        Site::Copilot => COPILOT_JSON,
        Site::Mistral => MISTRAL_JSON,
    }
}

/// How the page receives an answer: what the page hook must watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Transport {
    /// A `fetch` whose body streams.
    Fetch,
    /// An `XMLHttpRequest` whose `responseText` grows.
    Xhr,
    /// The page's own WebSocket (text frames).
    Websocket,
}

/// The wire format of a site's answer stream; each has one decoder in `crate::page`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WireFormat {
    /// ChatGPT's server-sent events (delta encoding v1, legacy snapshots).
    ChatgptSse,
    /// Claude's server-sent events (Anthropic-Messages-like events).
    ClaudeSse,
    /// Gemini's `)]}'` body of length-prefixed JSON frames (lengths in UTF-16 units).
    GeminiFrames,
    /// DeepSeek's server-sent events of `{v, p, o}` patches.
    DeepseekSse,
    /// Grok's NDJSON lines.
    GrokNdjson,
    /// Perplexity's server-sent events of whole-answer snapshots.
    PerplexitySse,
    /// Copilot's WebSocket JSON events.
    CopilotSocket,
    /// Le Chat's `N:payload` lines.
    MistralLines,
}

/// Whether each frame of a stream adds to the answer or carries it whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Frames {
    /// Each frame appends a piece (ChatGPT, Claude, DeepSeek, Grok, Copilot, Le Chat).
    Append,
    /// Each frame carries the whole answer so far: it replaces, never appends (Gemini, Perplexity).
    Snapshot,
}

/// How a site's answers travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamRule {
    /// The page's transport.
    pub transport: Transport,
    /// The wire format the core decodes.
    pub format: WireFormat,
    /// Appended pieces or whole snapshots.
    pub frames: Frames,
}

/// The format of a public status feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FeedFormat {
    /// A Statuspage `/api/v2/summary.json`.
    Statuspage,
    /// incident.io's native feed.
    IncidentIo,
    /// An Atom feed of incidents (`/history.atom`).
    Atom,
    /// An RSS feed of incidents.
    Rss,
    /// Google Workspace's `incidents.json`, filtered by product name.
    GoogleIncidents,
}

/// A site's public status feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusFeed {
    /// The feed's URL (`https` only).
    pub url: String,
    /// Its format.
    pub format: FeedFormat,
    /// The product an incident must name to count, for feeds shared by many products (`Gemini`
    /// on Google's); empty when every incident of the feed counts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub product: String,
}

/// The CSS selectors the content script (and the HTML extractor) use, as written in the data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorSet {
    /// A conversation turn.
    pub turn: String,
    /// A message carrying its author role.
    pub role: String,
    /// The attribute holding a message's author role.
    pub role_attr: String,
    /// The attribute on a turn holding its role, if the site has one.
    #[serde(default)]
    pub turn_role_attr: String,
    /// A structural error box.
    pub error: String,
    /// Toast and alert regions.
    pub toast: String,
    /// Banners across the page.
    pub banner: String,
    /// The "regenerate after error" button.
    pub retry_button: String,
    /// The login button (signed out).
    pub login_button: String,
    /// The stop button (an answer is streaming).
    pub stop_button: String,
    /// The composer.
    pub composer: String,
    /// An answer's message body.
    pub message_body: String,
    /// Everything whose text never counts: message bodies, code, composer, history.
    pub excluded: String,
    /// Markers of a Cloudflare error page.
    pub cloudflare: String,
    /// Markers of a challenge page.
    pub challenge: String,
    /// The message elements of a page that replaced the app (no turns, no composer), such as
    /// "ChatGPT is at capacity right now".
    pub page_message: String,
    /// Modal dialogs (rate limits): only text a rule knows counts.
    #[serde(default)]
    pub dialog: String,
    /// The page's own "recovering" state (a dropped stream being resumed, a safety review): no
    /// stall is judged while it shows.
    #[serde(default)]
    pub recovering: String,
    /// A message the user wrote (its text is the prompt a rescue carries), in every renderer.
    #[serde(default)]
    pub user_message: String,
}

/// One endpoint pattern for the network wrapper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointRule {
    /// The endpoint kind reported for matching requests.
    pub kind: EndpointKind,
    /// The HTTP method; empty matches any.
    #[serde(default)]
    pub method: String,
    /// The path; a `{name}` segment matches any one non-empty segment.
    pub path: String,
    /// A `name=value` the query must hold for the capture hook to keep the response (Gemini's
    /// one batch endpoint serves every call: `rpcids=hNvQHb` is the read). Detection ignores it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    /// HTTP statuses the page retries by itself on this endpoint: one of them is not a failure
    /// (the outcome of the page's retries is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<u16>,
}

/// Stall thresholds: the page's own, and how long its own recovery is given.
///
/// A turn has stalled when nothing of it arrived (on any path: the send, a resume, the socket)
/// and the page did not try to recover for `stall_ms + resume_grace_ms` (or `no_start_ms +
/// resume_grace_ms` before its first byte): the page itself waits `stall_ms`, then resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// How long the page waits between two bytes of an answer before it resumes by itself.
    pub stall_ms: u64,
    /// How long the page waits for an answer's first byte before it resumes by itself.
    pub no_start_ms: u64,
    /// How long the page's own recovery (a resume and its retries) is given after that.
    #[serde(default)]
    pub resume_grace_ms: u64,
}

impl Timing {
    /// How long without any sign of the turn until it counts as stalled.
    pub fn stall_limit_ms(&self, started: bool) -> u64 {
        let wait = if started { self.stall_ms } else { self.no_start_ms };
        wait.saturating_add(self.resume_grace_ms)
    }
}

/// A machine error code and the kind it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRule {
    /// The code, compared exactly (ASCII case-insensitively).
    pub code: String,
    /// The kind it means.
    pub kind: Kind,
}

/// Phrases that mean one kind when found in an error element's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextRule {
    /// The kind the phrases mean.
    pub kind: Kind,
    /// The phrases, matched case-insensitively on word boundaries after normalisation.
    pub phrases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    format: u32,
    version: String,
    site: String,
    hosts: Vec<String>,
    selectors: SelectorSet,
    endpoints: Vec<EndpointRule>,
    timing: Timing,
    #[serde(default)]
    codes: Vec<CodeRule>,
    texts: Vec<TextRule>,
    #[serde(default)]
    stream: Option<StreamRule>,
    /// `null` for a site without a public feed (Copilot).
    #[serde(default)]
    status: Option<StatusFeed>,
    /// The paths of the site's pages that show one conversation (`/chat/{conversation}`).
    #[serde(default)]
    pages: Vec<String>,
}

/// Pre-parsed selectors, ready to match elements.
#[derive(Debug, Clone)]
pub(crate) struct CompiledSelectors {
    pub turn: Selector,
    pub role: Selector,
    pub error: Selector,
    pub toast: Selector,
    pub banner: Selector,
    pub retry_button: Selector,
    pub login_button: Selector,
    pub stop_button: Selector,
    pub composer: Selector,
    pub message_body: Selector,
    pub excluded: Selector,
    pub cloudflare: Selector,
    pub challenge: Selector,
    pub page_message: Selector,
    pub dialog: Selector,
    pub recovering: Selector,
    pub user_message: Selector,
}

/// A site's detection rules, parsed and compiled.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The data's own version string.
    pub version: String,
    /// The site id (`chatgpt`).
    pub site: String,
    /// The hosts the site is served from.
    pub hosts: Vec<String>,
    /// The selectors, as written.
    pub selectors: SelectorSet,
    /// The endpoint patterns.
    pub endpoints: Vec<EndpointRule>,
    /// The stall thresholds.
    pub timing: Timing,
    /// The code rules.
    pub codes: Vec<CodeRule>,
    /// The text rules, as written.
    pub texts: Vec<TextRule>,
    /// How the site's answers travel (absent for ChatGPT, whose decoder predates the field).
    pub stream: Option<StreamRule>,
    /// The paths of the pages that show one conversation, a `{conversation}` segment naming it
    /// (`/chat/{conversation}`): where a conversation's id is read from the tab's URL, and the
    /// link back to it.
    pub pages: Vec<String>,
    /// The site's public status feed, when it has one.
    pub status: Option<StatusFeed>,
    /// (kind, normalised phrase padded with spaces), in file order; `healthy` phrases (a notice
    /// that is not a failure) first.
    phrases: Vec<(Kind, String)>,
    pub(crate) compiled: CompiledSelectors,
}

/// A text rule that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextMatch<'r> {
    /// The kind the rule means.
    pub kind: Kind,
    /// The phrase that matched, normalised.
    pub phrase: &'r str,
}

impl Rules {
    /// Parses and validates a rules data file.
    pub fn from_json(json: &str) -> Result<Rules, DetectError> {
        let file: RulesFile = serde_json::from_str(json).map_err(|e| DetectError::BadRules(e.to_string()))?;
        if file.format != FORMAT {
            return Err(DetectError::BadRules(format!(
                "format {} (this engine reads {FORMAT})",
                file.format
            )));
        }
        let bad = |m: String| Err(DetectError::BadRules(m));
        let Some(site) = Site::from_id(&file.site) else {
            return bad(format!("unknown site {:?}", file.site));
        };
        if file.hosts.is_empty() || file.hosts.iter().any(|h| h.trim().is_empty() || h.contains(['/', ':'])) {
            return bad(format!("{}: hosts must be bare host names", file.site));
        }
        if site != Site::Chatgpt && file.stream.is_none() {
            return bad(format!("{}: no stream rule", file.site));
        }
        if let Some(feed) = &file.status
            && !feed.url.starts_with("https://")
        {
            return bad(format!("{}: the status feed must be https", file.site));
        }
        if let Some(c) = file.codes.iter().find(|c| c.code.trim().is_empty()) {
            return bad(format!("{}: an empty code for {}", file.site, c.kind));
        }
        if let Some(p) = file.pages.iter().find(|p| !p.starts_with('/') || !p.contains("{conversation}")) {
            return bad(format!(
                "{}: page path {p:?} must start with / and name {{conversation}}",
                file.site
            ));
        }
        if let Some(e) = file.endpoints.iter().find(|e| !e.path.starts_with('/')) {
            return bad(format!("{}: endpoint path {:?} must start with /", file.site, e.path));
        }
        let mut phrases = Vec::new();
        // Phrases that mean "not a failure" (a downgrade, a recovery in progress) are looked at
        // first: the same text often holds a failure's words too ("You've hit the Free plan
        // limit ... Responses will use another model").
        let benign = file.texts.iter().filter(|r| r.kind == Kind::Healthy);
        for rule in benign.chain(file.texts.iter().filter(|r| r.kind != Kind::Healthy)) {
            for p in &rule.phrases {
                let n = normalize(p);
                if n.trim().is_empty() {
                    return Err(DetectError::BadRules(format!("empty phrase in {} rule", rule.kind)));
                }
                phrases.push((rule.kind, n));
            }
        }
        let s = &file.selectors;
        let c = |name: &'static str, text: &str| {
            if text.trim().is_empty() {
                return Ok(Selector::never()); // an optional selector the site does not have
            }
            Selector::parse(text).map_err(|reason| DetectError::BadSelector { name, reason })
        };
        let compiled = CompiledSelectors {
            turn: c("turn", &s.turn)?,
            role: c("role", &s.role)?,
            error: c("error", &s.error)?,
            toast: c("toast", &s.toast)?,
            banner: c("banner", &s.banner)?,
            retry_button: c("retry_button", &s.retry_button)?,
            login_button: c("login_button", &s.login_button)?,
            stop_button: c("stop_button", &s.stop_button)?,
            composer: c("composer", &s.composer)?,
            message_body: c("message_body", &s.message_body)?,
            excluded: c("excluded", &s.excluded)?,
            cloudflare: c("cloudflare", &s.cloudflare)?,
            challenge: c("challenge", &s.challenge)?,
            page_message: c("page_message", &s.page_message)?,
            dialog: c("dialog", &s.dialog)?,
            recovering: c("recovering", &s.recovering)?,
            user_message: c("user_message", &s.user_message)?,
        };
        Ok(Rules {
            version: file.version,
            site: file.site,
            hosts: file.hosts,
            selectors: file.selectors,
            endpoints: file.endpoints,
            timing: file.timing,
            codes: file.codes,
            texts: file.texts,
            stream: file.stream,
            status: file.status,
            pages: file.pages,
            phrases,
            compiled,
        })
    }

    /// The built-in rules for a site, parsed once.
    pub fn builtin(site: Site) -> &'static Rules {
        static PARSED: [OnceLock<Rules>; Site::ALL.len()] = [const { OnceLock::new() }; Site::ALL.len()];
        let index = Site::ALL.iter().position(|s| *s == site).unwrap_or(0);
        PARSED[index].get_or_init(|| {
            // The data file is part of the build and a test proves it parses; should it ever
            // not, detection degrades to "no rules" rather than failing.
            Rules::from_json(source(site)).unwrap_or_else(|_| Rules::empty(site.id()))
        })
    }

    /// The built-in rules for a site id (`"chatgpt"`, `"claude"`, ...), if the core has them.
    pub fn builtin_by_id(id: &str) -> Option<&'static Rules> {
        Site::from_id(id).map(Rules::builtin)
    }

    /// The raw text of the built-in data file for a site id, for tests and tooling.
    pub fn builtin_source(id: &str) -> Option<&'static str> {
        Site::from_id(id).map(source)
    }

    fn empty(site: &str) -> Rules {
        let never = Selector::never();
        let sel = SelectorSet {
            turn: String::new(),
            role: String::new(),
            role_attr: String::new(),
            turn_role_attr: String::new(),
            error: String::new(),
            toast: String::new(),
            banner: String::new(),
            retry_button: String::new(),
            login_button: String::new(),
            stop_button: String::new(),
            composer: String::new(),
            message_body: String::new(),
            excluded: String::new(),
            cloudflare: String::new(),
            challenge: String::new(),
            page_message: String::new(),
            dialog: String::new(),
            recovering: String::new(),
            user_message: String::new(),
        };
        Rules {
            version: String::new(),
            site: site.to_owned(),
            hosts: Vec::new(),
            selectors: sel,
            endpoints: Vec::new(),
            timing: Timing { stall_ms: 60_000, no_start_ms: 60_000, resume_grace_ms: 30_000 },
            codes: Vec::new(),
            texts: Vec::new(),
            stream: None,
            status: None,
            pages: Vec::new(),
            phrases: Vec::new(),
            compiled: CompiledSelectors {
                turn: never.clone(),
                role: never.clone(),
                error: never.clone(),
                toast: never.clone(),
                banner: never.clone(),
                retry_button: never.clone(),
                login_button: never.clone(),
                stop_button: never.clone(),
                composer: never.clone(),
                message_body: never.clone(),
                excluded: never.clone(),
                cloudflare: never.clone(),
                challenge: never.clone(),
                page_message: never.clone(),
                dialog: never.clone(),
                recovering: never.clone(),
                user_message: never,
            },
        }
    }

    /// The first text rule matching `text`, if any: a `healthy` rule (a notice that is not a
    /// failure) before any other, then file order.
    ///
    /// File order is the priority within one text: "A network error occurred. If this issue persists
    /// ..." is a network error although its tail is generic. Across several elements and signals,
    /// [`Kind::rank`] decides.
    pub fn match_text(&self, text: &str) -> Option<TextMatch<'_>> {
        let norm = normalize(text);
        self.match_normalized(&norm)
    }

    /// Like [`Rules::match_text`] for text already passed through [`normalize`].
    pub fn match_normalized(&self, norm: &str) -> Option<TextMatch<'_>> {
        self.phrases
            .iter()
            .find(|(_, p)| norm.contains(p.as_str()))
            .map(|(kind, p)| TextMatch { kind: *kind, phrase: p.trim() })
    }

    /// The kind a machine error code means, if a rule knows it.
    pub fn match_code(&self, code: &str) -> Option<Kind> {
        self.codes.iter().find(|c| c.code.eq_ignore_ascii_case(code.trim())).map(|c| c.kind)
    }

    /// Which endpoint a request goes to, from its method and URL path (query and fragment ignored).
    pub fn endpoint_kind(&self, method: &str, path: &str) -> EndpointKind {
        let path = path.split(['?', '#']).next().unwrap_or("");
        self.endpoints
            .iter()
            .find(|e| {
                (e.method.is_empty() || e.method.eq_ignore_ascii_case(method)) && path_matches(&e.path, path)
            })
            .map(|e| e.kind)
            .unwrap_or(EndpointKind::Other)
    }

    /// Whether the page retries a request to `endpoint` answered `status` by itself.
    pub fn retried(&self, endpoint: EndpointKind, status: u16) -> bool {
        self.endpoints.iter().any(|e| e.kind == endpoint && e.retried.contains(&status))
    }

    /// Whether `host` is one of the site's hosts (ASCII case-insensitive).
    pub fn serves_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// The adapter JSON that `extension/content/observe.js` and the network wrapper read.
    pub fn adapter_json(&self) -> String {
        let adapter = Adapter {
            site: &self.site,
            version: &self.version,
            hosts: &self.hosts,
            selectors: &self.selectors,
            endpoints: &self.endpoints,
            timing: self.timing,
            limits: Limits { max_text: MAX_TEXT_BYTES, max_errors: MAX_ERRORS },
            stream: self.stream.as_ref(),
            status: self.status.as_ref(),
        };
        serde_json::to_string(&adapter).unwrap_or_default()
    }
}

#[derive(Serialize)]
struct Limits {
    max_text: usize,
    max_errors: usize,
}

#[derive(Serialize)]
struct Adapter<'a> {
    site: &'a str,
    version: &'a str,
    hosts: &'a [String],
    selectors: &'a SelectorSet,
    endpoints: &'a [EndpointRule],
    timing: Timing,
    limits: Limits,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a StreamRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a StatusFeed>,
}

/// The adapter JSON for a site: what `observe.js` and the network wrapper read.
pub fn adapter_json(site: Site) -> String {
    Rules::builtin(site).adapter_json()
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let pat = pattern.trim_end_matches('/');
    let path = path.trim_end_matches('/');
    let mut ps = pat.split('/');
    let mut xs = path.split('/');
    loop {
        match (ps.next(), xs.next()) {
            (None, None) => return true,
            (Some(p), Some(x)) => {
                let wild = p.starts_with('{') && p.ends_with('}');
                if wild {
                    if x.is_empty() {
                        return false;
                    }
                } else if p != x {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Normalises text for phrase matching: lower case, apostrophes (straight or curly) dropped, every
/// other run of non-alphanumeric characters (punctuation, quotes, `&nbsp;`, line breaks) turned into
/// one space, padded with one space on each side so phrases match on word boundaries.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in text.chars() {
        if matches!(
            c,
            '\'' | '\u{2018}' | '\u{2019}' | '\u{201B}' | '`' | '\u{00B4}' | '\u{02BC}' | '\u{FF07}'
        ) {
            continue;
        }
        if c.is_alphanumeric() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_quotes_punctuation_and_spaces() {
        let check = |input: &str, expect: &str| assert_eq!(normalize(input), expect, "{input:?}");
        check("You’ve reached our LIMIT!", " youve reached our limit ");
        check("Hmm...something\u{a0}seems", " hmm something seems ");
        check("“Network error”", " network error ");
        check("", " ");
    }

    #[test]
    fn endpoint_patterns_match_segments() {
        let rules = Rules::builtin(Site::Chatgpt);
        let check = |m: &str, p: &str, k: EndpointKind| assert_eq!(rules.endpoint_kind(m, p), k, "{m} {p}");
        check("POST", "/backend-api/f/conversation", EndpointKind::ConversationSend);
        check("post", "/backend-api/conversation?x=1", EndpointKind::ConversationSend);
        check("GET", "/backend-api/conversation/6789-abc", EndpointKind::ConversationRead);
        check("GET", "/backend-api/conversation/", EndpointKind::Other);
        check("GET", "/backend-api/conversation/a/b", EndpointKind::Other);
        check("GET", "/api/auth/session", EndpointKind::AuthSession);
        check("GET", "/backend-api/models", EndpointKind::Other);
    }
}
