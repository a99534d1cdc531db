//! The conversation tree as ChatGPT keeps it, with the fields of the official export.
//!
//! Known fields are typed; everything else is kept as raw JSON so that writing an imported
//! conversation gives back an official-export compatible document (`parse -> write -> parse`
//! is the identity on this model).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// The person using ChatGPT.
    User,
    /// The model.
    Assistant,
    /// Instructions and context set by the system (never shown).
    System,
    /// A tool (browser, python, image generation...) answering a tool call.
    Tool,
    /// Any other author role, kept verbatim.
    Other(String),
}

impl Role {
    /// The role as the export spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Tool => "tool",
            Role::Other(s) => s,
        }
    }

    /// Parses an export role name.
    pub fn parse(s: &str) -> Role {
        match s {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" => Role::System,
            "tool" => Role::Tool,
            other => Role::Other(other.to_string()),
        }
    }
}

/// One part of a `multimodal_text` content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Plain text.
    Text(String),
    /// An object part (image asset pointer, audio, ...), kept raw.
    Object(Map<String, Value>),
}

impl Part {
    /// The text of the part: a text part, or an object carrying a `text` (e.g. an
    /// `audio_transcription`).
    pub fn text(&self) -> Option<&str> {
        match self {
            Part::Text(t) => Some(t),
            Part::Object(m) => m.get("text").and_then(Value::as_str),
        }
    }

    /// True if this part is an image (an `image_asset_pointer` or similar).
    pub fn is_image(&self) -> bool {
        match self {
            Part::Text(_) => false,
            Part::Object(m) => match m.get("content_type").and_then(Value::as_str) {
                Some(t) => t.contains("image"),
                None => m.contains_key("asset_pointer"),
            },
        }
    }
}

/// The typed body of a message content.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentKind {
    /// `text`: text parts (markdown).
    Text {
        /// The parts, usually one.
        parts: Vec<String>,
    },
    /// `code`: code written by the model (often a tool call).
    Code {
        /// The language, as given (`"python"`, `"unknown"`...).
        language: Option<String>,
        /// The source.
        text: String,
    },
    /// `execution_output`: what running code printed.
    ExecutionOutput {
        /// The output.
        text: String,
    },
    /// `multimodal_text`: text mixed with images and other objects.
    Multimodal {
        /// The parts in order.
        parts: Vec<Part>,
    },
    /// `thoughts`: the model's reasoning summaries.
    Thoughts {
        /// Each thought, kept raw (`summary`, `content`, ...).
        thoughts: Vec<Value>,
    },
    /// `reasoning_recap`: e.g. "Thought for 12 seconds".
    ReasoningRecap {
        /// The recap text.
        content: String,
    },
    /// Any other content type (`tether_quote`, `user_editable_context`, ...), with all its fields
    /// in [`Content::extra`].
    Other {
        /// The `content_type` as given.
        content_type: String,
    },
}

/// A message content: the typed kind plus any fields not modelled, kept raw.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// The typed body.
    pub kind: ContentKind,
    /// Other fields of the content object, kept for round trips.
    pub extra: Map<String, Value>,
}

impl Content {
    /// A `text` content with one part.
    pub fn text(s: impl Into<String>) -> Content {
        Content { kind: ContentKind::Text { parts: vec![s.into()] }, extra: Map::new() }
    }

    /// The `content_type` as the export spells it.
    pub fn content_type(&self) -> &str {
        match &self.kind {
            ContentKind::Text { .. } => "text",
            ContentKind::Code { .. } => "code",
            ContentKind::ExecutionOutput { .. } => "execution_output",
            ContentKind::Multimodal { .. } => "multimodal_text",
            ContentKind::Thoughts { .. } => "thoughts",
            ContentKind::ReasoningRecap { .. } => "reasoning_recap",
            ContentKind::Other { content_type } => content_type,
        }
    }

    /// Appends the searchable / comparable text of this content to `out` (parts joined by
    /// newlines, images left out).
    pub fn append_text(&self, out: &mut String) {
        fn push(out: &mut String, s: &str) {
            if !out.is_empty() && !s.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
        match &self.kind {
            ContentKind::Text { parts } => parts.iter().for_each(|p| push(out, p)),
            ContentKind::Code { text, .. } | ContentKind::ExecutionOutput { text } => push(out, text),
            ContentKind::Multimodal { parts } => {
                for t in parts.iter().filter_map(Part::text) {
                    push(out, t);
                }
            }
            ContentKind::Thoughts { thoughts } => {
                for t in thoughts {
                    if let Some(s) = t.get("summary").and_then(Value::as_str) {
                        push(out, s);
                    }
                    if let Some(s) = t.get("content").and_then(Value::as_str) {
                        push(out, s);
                    }
                }
            }
            ContentKind::ReasoningRecap { content } => push(out, content),
            ContentKind::Other { .. } => {
                if let Some(s) = self.extra.get("text").and_then(Value::as_str) {
                    push(out, s);
                }
                if let Some(parts) = self.extra.get("parts").and_then(Value::as_array) {
                    parts.iter().filter_map(Value::as_str).for_each(|p| push(out, p));
                }
            }
        }
    }

    /// The text of this content (see [`Content::append_text`]).
    pub fn plain_text(&self) -> String {
        let mut s = String::new();
        self.append_text(&mut s);
        s
    }

    /// A cheap measure of how much content there is (bytes of text plus parts), used to pick
    /// the newer of two streamed versions.
    pub fn size(&self) -> usize {
        match &self.kind {
            ContentKind::Text { parts } => parts.iter().map(String::len).sum(),
            ContentKind::Code { text, .. } | ContentKind::ExecutionOutput { text } => text.len(),
            ContentKind::Multimodal { parts } => parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.len(),
                    Part::Object(_) => 1,
                })
                .sum(),
            ContentKind::Thoughts { thoughts } => thoughts.len(),
            ContentKind::ReasoningRecap { content } => content.len(),
            ContentKind::Other { .. } => self.extra.len(),
        }
    }
}

fn take_string(m: &mut Map<String, Value>, key: &str) -> Option<String> {
    match m.remove(key) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            m.insert(key.to_string(), other);
            None
        }
        None => None,
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut m = Map::<String, Value>::deserialize(d)?;
        let ct =
            take_string(&mut m, "content_type").ok_or_else(|| D::Error::missing_field("content_type"))?;
        let kind = match ct.as_str() {
            "text" => match m.remove("parts") {
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => ContentKind::Text {
                    parts: a
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => s,
                            _ => String::new(),
                        })
                        .collect(),
                },
                Some(other) => {
                    m.insert("parts".into(), other);
                    ContentKind::Other { content_type: ct }
                }
                None => ContentKind::Other { content_type: ct },
            },
            "code" if m.get("text").is_some_and(Value::is_string) => {
                let text = take_string(&mut m, "text").unwrap_or_default();
                let language = take_string(&mut m, "language");
                ContentKind::Code { language, text }
            }
            "execution_output" if m.get("text").is_some_and(Value::is_string) => {
                ContentKind::ExecutionOutput { text: take_string(&mut m, "text").unwrap_or_default() }
            }
            "multimodal_text" if m.get("parts").is_some_and(Value::is_array) => match m.remove("parts") {
                Some(Value::Array(a)) => ContentKind::Multimodal {
                    parts: a
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => Part::Text(s),
                            Value::Object(o) => Part::Object(o),
                            other => {
                                let mut o = Map::new();
                                o.insert("value".into(), other);
                                Part::Object(o)
                            }
                        })
                        .collect(),
                },
                _ => ContentKind::Multimodal { parts: Vec::new() },
            },
            "thoughts" if m.get("thoughts").is_some_and(Value::is_array) => match m.remove("thoughts") {
                Some(Value::Array(thoughts)) => ContentKind::Thoughts { thoughts },
                _ => ContentKind::Thoughts { thoughts: Vec::new() },
            },
            "reasoning_recap" if m.get("content").is_some_and(Value::is_string) => {
                ContentKind::ReasoningRecap { content: take_string(&mut m, "content").unwrap_or_default() }
            }
            _ => ContentKind::Other { content_type: ct },
        };
        Ok(Content { kind, extra: m })
    }
}

struct PartsSer<'a>(&'a [Part]);

impl Serialize for PartsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|p| match p {
            Part::Text(t) => PartRef::Text(t),
            Part::Object(o) => PartRef::Object(o),
        }))
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum PartRef<'a> {
    Text(&'a str),
    Object(&'a Map<String, Value>),
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("content_type", self.content_type())?;
        match &self.kind {
            ContentKind::Text { parts } => m.serialize_entry("parts", parts)?,
            ContentKind::Code { language, text } => {
                if let Some(l) = language {
                    m.serialize_entry("language", l)?;
                }
                m.serialize_entry("text", text)?;
            }
            ContentKind::ExecutionOutput { text } => m.serialize_entry("text", text)?,
            ContentKind::Multimodal { parts } => m.serialize_entry("parts", &PartsSer(parts))?,
            ContentKind::Thoughts { thoughts } => m.serialize_entry("thoughts", thoughts)?,
            ContentKind::ReasoningRecap { content } => m.serialize_entry("content", content)?,
            ContentKind::Other { .. } => {}
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The message id (also the id of its node).
    pub id: String,
    /// Who wrote it (`author.role`).
    pub role: Role,
    /// `author.name` (a tool's name, e.g. `"python"`), if any.
    pub author_name: Option<String>,
    /// `author.metadata` and other author fields, kept raw.
    pub author_extra: Map<String, Value>,
    /// When it was created, in float Unix seconds.
    pub create_time: Option<f64>,
    /// When it was last updated, in float Unix seconds.
    pub update_time: Option<f64>,
    /// The content.
    pub content: Content,
    /// `finished_successfully`, `in_progress`, `finished_partial_completion`, ...
    pub status: Option<String>,
    /// `end_turn` as given.
    pub end_turn: Option<bool>,
    /// `weight` as given.
    pub weight: Option<f64>,
    /// `"all"` for messages meant for the conversation, a tool name for tool calls.
    pub recipient: String,
    /// `channel` as given (newer exports).
    pub channel: Option<String>,
    /// `metadata.is_visually_hidden_from_conversation`.
    pub hidden: bool,
    /// `metadata.model_slug`.
    pub model_slug: Option<String>,
    /// `metadata.finish_details.type` (`stop`, `max_tokens`, `interrupted`...).
    pub finish: Option<String>,
    /// The other metadata fields, kept raw.
    pub metadata: Map<String, Value>,
    /// Other message fields, kept raw.
    pub extra: Map<String, Value>,
}

impl Message {
    /// A new message with the given id, role and text; other fields empty, recipient `all`.
    pub fn new(id: impl Into<String>, role: Role, text: impl Into<String>) -> Message {
        Message {
            id: id.into(),
            role,
            author_name: None,
            author_extra: Map::new(),
            create_time: None,
            update_time: None,
            content: Content::text(text),
            status: Some("finished_successfully".into()),
            end_turn: None,
            weight: Some(1.0),
            recipient: "all".into(),
            channel: None,
            hidden: false,
            model_slug: None,
            finish: None,
            metadata: Map::new(),
            extra: Map::new(),
        }
    }

    /// True while the message was still streaming when it was captured.
    pub fn is_incomplete(&self) -> bool {
        self.status.as_deref() == Some("in_progress")
    }

    /// True if the user sees this message in the conversation: not hidden, not a system or
    /// context message, not a tool call (recipient other than `all`).
    pub fn is_visible(&self) -> bool {
        !self.hidden
            && self.role != Role::System
            && self.recipient == "all"
            && !matches!(self.content.content_type(), "user_editable_context" | "model_editable_context")
    }

    /// True if `self` is a newer version of the same message than `old`: finished beats
    /// streaming, then a later update time, then more content.
    pub fn is_newer_than(&self, old: &Message) -> bool {
        let done = |m: &Message| u8::from(!m.is_incomplete());
        let t = |m: &Message| m.update_time.or(m.create_time).unwrap_or(0.0);
        if done(self) != done(old) {
            return done(self) > done(old);
        }
        if t(self) != t(old) {
            return t(self) > t(old);
        }
        self.content.size() > old.content.size()
    }
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads the fields of a JSON object: `known(key, map)` returns `Ok(true)` when it consumed
/// the value; any other field is kept raw in the returned map. Written by hand (rather than
/// `#[serde(flatten)]`) so the input is not buffered twice.
fn read_object<'de, A: MapAccess<'de>>(
    mut map: A,
    mut known: impl FnMut(&str, &mut A) -> Result<bool, A::Error>,
) -> Result<Map<String, Value>, A::Error> {
    let mut extra = Map::new();
    while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
        if !known(&k, &mut map)? {
            let v: Value = map.next_value()?;
            extra.insert(k.into_owned(), v);
        }
    }
    Ok(extra)
}

macro_rules! object_visitor {
    ($vis:ident, $out:ty, $what:literal, |$map:ident| $body:expr) => {
        struct $vis;
        impl<'de> Visitor<'de> for $vis {
            type Value = $out;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str($what)
            }
            fn visit_map<A: MapAccess<'de>>(self, $map: A) -> Result<$out, A::Error> {
                $body
            }
        }
    };
}

#[derive(Default)]
struct WireAuthor {
    role: String,
    name: Option<String>,
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for WireAuthor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object_visitor!(V, WireAuthor, "a message author", |map| {
            let mut w = WireAuthor::default();
            let mut role = None;
            w.extra = read_object(map, |k, m| {
                match k {
                    "role" => role = Some(m.next_value::<String>()?),
                    "name" => w.name = m.next_value()?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            w.role = role.ok_or_else(|| A::Error::missing_field("role"))?;
            Ok(w)
        });
        d.deserialize_map(V)
    }
}

fn null_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Default)]
struct WireMessage {
    id: String,
    author: Option<WireAuthor>,
    create_time: Option<f64>,
    update_time: Option<f64>,
    content: Option<Content>,
    status: Option<String>,
    end_turn: Option<bool>,
    weight: Option<f64>,
    metadata: Map<String, Value>,
    recipient: Option<String>,
    channel: Option<String>,
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for WireMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object_visitor!(V, WireMessage, "a message", |map| {
            let mut w = WireMessage::default();
            w.extra = read_object(map, |k, m| {
                match k {
                    "id" => w.id = m.next_value::<Option<String>>()?.unwrap_or_default(),
                    "author" => w.author = Some(m.next_value()?),
                    "create_time" => w.create_time = m.next_value()?,
                    "update_time" => w.update_time = m.next_value()?,
                    "content" => w.content = Some(m.next_value()?),
                    "status" => w.status = m.next_value()?,
                    "end_turn" => w.end_turn = m.next_value()?,
                    "weight" => w.weight = m.next_value()?,
                    "metadata" => {
                        w.metadata = m.next_value::<Option<Map<String, Value>>>()?.unwrap_or_default()
                    }
                    "recipient" => w.recipient = m.next_value()?,
                    "channel" => w.channel = m.next_value()?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            Ok(w)
        });
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireMessage::deserialize(d)?;
        let author = w.author.ok_or_else(|| D::Error::missing_field("author"))?;
        let content = w.content.ok_or_else(|| D::Error::missing_field("content"))?;
        let mut metadata = w.metadata;
        let hidden = match metadata.remove("is_visually_hidden_from_conversation") {
            Some(Value::Bool(b)) => b,
            Some(Value::Null) | None => false,
            Some(other) => {
                metadata.insert("is_visually_hidden_from_conversation".into(), other);
                false
            }
        };
        let model_slug = take_string(&mut metadata, "model_slug");
        let finish = metadata
            .get("finish_details")
            .and_then(|f| f.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Message {
            id: w.id,
            role: Role::parse(&author.role),
            author_name: author.name,
            author_extra: author.extra,
            create_time: w.create_time,
            update_time: w.update_time,
            content,
            status: w.status,
            end_turn: w.end_turn,
            weight: w.weight,
            recipient: w.recipient.unwrap_or_else(|| "all".into()),
            channel: w.channel,
            hidden,
            model_slug,
            finish,
            metadata,
            extra: w.extra,
        })
    }
}

struct AuthorSer<'a>(&'a Message);

impl Serialize for AuthorSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("role", self.0.role.as_str())?;
        m.serialize_entry("name", &self.0.author_name)?;
        for (k, v) in &self.0.author_extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct MetaSer<'a>(&'a Message);

impl Serialize for MetaSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let msg = self.0;
        let mut m = s.serialize_map(None)?;
        if msg.hidden {
            m.serialize_entry("is_visually_hidden_from_conversation", &true)?;
        }
        if let Some(slug) = &msg.model_slug {
            m.serialize_entry("model_slug", slug)?;
        }
        let mut wrote_finish = false;
        for (k, v) in &msg.metadata {
            if k == "finish_details" {
                wrote_finish = true;
                match (&msg.finish, v) {
                    (Some(f), Value::Object(o)) if o.get("type").and_then(Value::as_str) != Some(f) => {
                        let mut o = o.clone();
                        o.insert("type".into(), Value::String(f.clone()));
                        m.serialize_entry(k, &o)?;
                    }
                    _ => m.serialize_entry(k, v)?,
                }
            } else {
                m.serialize_entry(k, v)?;
            }
        }
        if !wrote_finish && let Some(f) = &msg.finish {
            let mut o = Map::new();
            o.insert("type".into(), Value::String(f.clone()));
            m.serialize_entry("finish_details", &o)?;
        }
        m.end()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("author", &AuthorSer(self))?;
        m.serialize_entry("create_time", &self.create_time)?;
        m.serialize_entry("update_time", &self.update_time)?;
        m.serialize_entry("content", &self.content)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("end_turn", &self.end_turn)?;
        m.serialize_entry("weight", &self.weight)?;
        m.serialize_entry("metadata", &MetaSer(self))?;
        m.serialize_entry("recipient", &self.recipient)?;
        if let Some(c) = &self.channel {
            m.serialize_entry("channel", c)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A node of the conversation tree: the root has no message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The node id (equal to its message id when there is a message).
    #[serde(default)]
    pub id: String,
    /// The parent node, `None` for the root.
    #[serde(default)]
    pub parent: Option<String>,
    /// The child nodes: more than one means edit or regenerate branches.
    #[serde(default, deserialize_with = "null_vec")]
    pub children: Vec<String>,
    /// The message, if any.
    #[serde(default)]
    pub message: Option<Message>,
}

/// The field naming a conversation's chat site (see [`Conversation::site`]).
const SITE_FIELD: &str = "understudy_site";

/// A whole conversation, as the official export and `GET /backend-api/conversation/{id}` have it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conversation {
    /// The conversation id (`id`, also written as `conversation_id`).
    pub id: String,
    /// The title, if any.
    pub title: Option<String>,
    /// Creation time in float Unix seconds.
    pub create_time: Option<f64>,
    /// Last update time in float Unix seconds.
    pub update_time: Option<f64>,
    /// The leaf of the branch the user last saw.
    pub current_node: Option<String>,
    /// All nodes by id (`mapping`).
    pub nodes: BTreeMap<String, Node>,
    /// `default_model_slug`.
    pub model_slug: Option<String>,
    /// `is_archived`.
    pub is_archived: bool,
    /// True if a message was still streaming when capture stopped (Understudy's own field,
    /// written as `understudy_incomplete`).
    pub incomplete: bool,
    /// Where this copy came from (`"export"`, `"capture"`...; Understudy's own field, written as
    /// `understudy_source`).
    pub source: Option<String>,
    /// Other fields (`gizmo_id`, `safe_urls`, ...), kept raw.
    pub extra: Map<String, Value>,
}

#[derive(Default)]
struct WireConversation {
    id: Option<String>,
    conversation_id: Option<String>,
    title: Option<String>,
    create_time: Option<f64>,
    update_time: Option<f64>,
    current_node: Option<String>,
    mapping: Option<BTreeMap<String, Node>>,
    default_model_slug: Option<String>,
    is_archived: bool,
    understudy_incomplete: bool,
    understudy_source: Option<String>,
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for WireConversation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object_visitor!(V, WireConversation, "a conversation", |map| {
            let mut w = WireConversation::default();
            w.extra = read_object(map, |k, m| {
                match k {
                    "id" => w.id = m.next_value()?,
                    "conversation_id" => w.conversation_id = m.next_value()?,
                    "title" => w.title = m.next_value()?,
                    "create_time" => w.create_time = m.next_value()?,
                    "update_time" => w.update_time = m.next_value()?,
                    "current_node" => w.current_node = m.next_value()?,
                    "mapping" => w.mapping = m.next_value()?,
                    "default_model_slug" => w.default_model_slug = m.next_value()?,
                    "is_archived" => w.is_archived = m.next_value::<Option<bool>>()?.unwrap_or(false),
                    "understudy_incomplete" => {
                        w.understudy_incomplete = m.next_value::<Option<bool>>()?.unwrap_or(false)
                    }
                    "understudy_source" => w.understudy_source = m.next_value()?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            Ok(w)
        });
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Conversation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireConversation::deserialize(d)?;
        let mut extra = w.extra;
        let id = match (w.id, w.conversation_id) {
            (Some(id), Some(cid)) => {
                if cid != id {
                    extra.insert("conversation_id".into(), Value::String(cid));
                }
                id
            }
            (Some(id), None) => id,
            (None, Some(cid)) => cid,
            (None, None) => return Err(D::Error::missing_field("id")),
        };
        let mut nodes = w.mapping.unwrap_or_default();
        for (k, n) in nodes.iter_mut() {
            if n.id.is_empty() {
                n.id.clone_from(k);
            }
        }
        Ok(Conversation {
            id,
            title: w.title,
            create_time: w.create_time,
            update_time: w.update_time,
            current_node: w.current_node,
            nodes,
            model_slug: w.default_model_slug,
            is_archived: w.is_archived,
            incomplete: w.understudy_incomplete,
            source: w.understudy_source,
            extra,
        })
    }
}

impl Serialize for Conversation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("title", &self.title)?;
        m.serialize_entry("create_time", &self.create_time)?;
        m.serialize_entry("update_time", &self.update_time)?;
        m.serialize_entry("mapping", &self.nodes)?;
        m.serialize_entry("current_node", &self.current_node)?;
        m.serialize_entry("is_archived", &self.is_archived)?;
        m.serialize_entry("default_model_slug", &self.model_slug)?;
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("id", &self.id)?;
        if !self.extra.contains_key("conversation_id") {
            m.serialize_entry("conversation_id", &self.id)?;
        }
        if self.incomplete {
            m.serialize_entry("understudy_incomplete", &true)?;
        }
        if let Some(src) = &self.source {
            m.serialize_entry("understudy_source", src)?;
        }
        m.end()
    }
}

impl Conversation {
    /// An empty conversation with the given id.
    pub fn new(id: impl Into<String>) -> Conversation {
        Conversation { id: id.into(), ..Conversation::default() }
    }

    /// The chat site this conversation was kept from (`claude`, `gemini`, ...; Understudy's own
    /// field `understudy_site`, kept with the other fields); `None` for ChatGPT's.
    pub fn site(&self) -> Option<&str> {
        self.extra.get(SITE_FIELD).and_then(Value::as_str)
    }

    /// Records the chat site this conversation was kept from.
    pub fn set_site(&mut self, site: &str) {
        self.extra.insert(SITE_FIELD.into(), Value::String(site.to_string()));
    }

    /// The number of messages stored (all branches).
    pub fn message_count(&self) -> usize {
        self.nodes.values().filter(|n| n.message.is_some()).count()
    }

    /// The node the main line ends at: `current_node` if it exists, else the newest leaf (else,
    /// in a tree broken into cycles, the newest node).
    pub fn main_leaf(&self) -> Option<&str> {
        if let Some(c) = &self.current_node
            && self.nodes.contains_key(c)
        {
            return Some(c);
        }
        self.newest_node(true).or_else(|| self.newest_node(false))
    }

    /// The node with the newest message, among leaves only if `leaves_only` (ties: larger id).
    fn newest_node(&self, leaves_only: bool) -> Option<&str> {
        let mut best: Option<(&Node, f64)> = None;
        for n in self.nodes.values() {
            let leaf = n.children.iter().all(|c| !self.nodes.contains_key(c));
            if leaves_only && !leaf {
                continue;
            }
            let t = n.message.as_ref().and_then(|m| m.create_time.or(m.update_time)).unwrap_or(f64::MIN);
            let better = match best {
                None => true,
                Some((b, bt)) => t > bt || (t == bt && n.id > b.id),
            };
            if better {
                best = Some((n, t));
            }
        }
        best.map(|(n, _)| n.id.as_str())
    }

    /// The path from the root to the main leaf, every node (visible or not), root first.
    /// Cycles and dangling parents end the walk; never loops.
    pub fn main_path(&self) -> Vec<&Node> {
        let mut path = Vec::new();
        let Some(mut id) = self.main_leaf() else { return path };
        let mut seen: HashSet<&str> = HashSet::new();
        while let Some(node) = self.nodes.get(id) {
            if !seen.insert(id) {
                break;
            }
            path.push(node);
            match &node.parent {
                Some(p) => id = p,
                None => break,
            }
        }
        path.reverse();
        path
    }

    /// Recomputes [`Conversation::incomplete`] from the stored messages; returns it.
    pub fn refresh_incomplete(&mut self) -> bool {
        self.incomplete = self.nodes.values().any(|n| n.message.as_ref().is_some_and(Message::is_incomplete));
        self.incomplete
    }

    /// Inserts or updates one message by id under `parent`, keeping every branch. A newer
    /// version (finished, later, longer) replaces an older one; the same message twice changes
    /// nothing. With `make_current`, a new message becomes `current_node`. Returns whether
    /// anything changed.
    pub fn upsert_message(&mut self, parent: Option<&str>, message: Message, make_current: bool) -> bool {
        let id = message.id.clone();
        let mut changed = false;
        let msg_time = message.update_time.or(message.create_time);
        match self.nodes.get_mut(&id) {
            Some(node) => {
                match &node.message {
                    Some(old) if old == &message || !message.is_newer_than(old) => {}
                    _ => {
                        node.message = Some(message);
                        changed = true;
                    }
                }
                if node.parent.is_none()
                    && let Some(p) = parent
                    && p != id
                {
                    node.parent = Some(p.to_string());
                    changed = true;
                }
            }
            None => {
                self.nodes.insert(
                    id.clone(),
                    Node {
                        id: id.clone(),
                        parent: parent.map(str::to_string),
                        children: Vec::new(),
                        message: Some(message),
                    },
                );
                changed = true;
                if make_current {
                    self.current_node = Some(id.clone());
                }
            }
        }
        if let Some(p) = parent
            && p != id
        {
            let pnode = self.nodes.entry(p.to_string()).or_insert_with(|| Node {
                id: p.to_string(),
                parent: None,
                children: Vec::new(),
                message: None,
            });
            if !pnode.children.iter().any(|c| c == &id) {
                pnode.children.push(id);
                changed = true;
            }
        }
        if let Some(t) = msg_time
            && self.update_time.is_none_or(|u| t > u)
        {
            self.update_time = Some(t);
            changed = true;
        }
        if changed {
            self.refresh_incomplete();
        }
        changed
    }

    /// Merges another capture of the same conversation into this one, by node id: new nodes
    /// and branches are added, newer message versions replace older ones, and the newer copy
    /// decides title, `current_node` and archive state. Idempotent. Returns whether anything
    /// changed.
    pub fn merge(&mut self, other: &Conversation) -> bool {
        let mut changed = false;
        for (id, on) in &other.nodes {
            match self.nodes.get_mut(id) {
                None => {
                    self.nodes.insert(id.clone(), on.clone());
                    changed = true;
                }
                Some(n) => {
                    if n.parent.is_none() && on.parent.is_some() {
                        n.parent.clone_from(&on.parent);
                        changed = true;
                    }
                    // A set of the children already there when there are many (a forged read can
                    // give one node a quarter of a million).
                    if n.children.len() * on.children.len() > 4096 {
                        let mut have: std::collections::HashSet<String> =
                            n.children.iter().cloned().collect();
                        for c in &on.children {
                            if have.insert(c.clone()) {
                                n.children.push(c.clone());
                                changed = true;
                            }
                        }
                    } else {
                        for c in &on.children {
                            if !n.children.contains(c) {
                                n.children.push(c.clone());
                                changed = true;
                            }
                        }
                    }
                    match (&n.message, &on.message) {
                        (_, None) => {}
                        (None, Some(m)) => {
                            n.message = Some(m.clone());
                            changed = true;
                        }
                        (Some(old), Some(m)) => {
                            if old != m && m.is_newer_than(old) {
                                n.message = Some(m.clone());
                                changed = true;
                            }
                        }
                    }
                }
            }
        }
        let newer = match (other.update_time, self.update_time) {
            (Some(o), Some(s)) => o >= s,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => true,
        };
        macro_rules! take {
            ($field:ident) => {
                if (newer || self.$field.is_none()) && other.$field.is_some() && self.$field != other.$field {
                    self.$field.clone_from(&other.$field);
                    changed = true;
                }
            };
        }
        take!(title);
        take!(current_node);
        take!(model_slug);
        take!(update_time);
        take!(source);
        if self.create_time.is_none() && other.create_time.is_some() {
            self.create_time = other.create_time;
            changed = true;
        }
        if newer && self.is_archived != other.is_archived {
            self.is_archived = other.is_archived;
            changed = true;
        }
        for (k, v) in &other.extra {
            if self.extra.get(k) != Some(v) && (newer || !self.extra.contains_key(k)) {
                self.extra.insert(k.clone(), v.clone());
                changed = true;
            }
        }
        let before = self.incomplete;
        if self.refresh_incomplete() != before {
            changed = true;
        }
        changed
    }
}

/// The conversation as the user sees it: from the root to `current_node` (or the newest leaf),
/// keeping only visible messages (see [`Message::is_visible`]). Other branches are never
/// spliced in. Cycles and dangling parents are tolerated.
pub fn main_line(conv: &Conversation) -> Vec<&Message> {
    conv.main_path().into_iter().filter_map(|n| n.message.as_ref()).filter(|m| m.is_visible()).collect()
}

/// Longest title made from a prompt's words, in characters.
const PROMPT_TITLE_CHARS: usize = 60;

/// The title to show for a conversation: its own (the page's or the export's), else the first
/// words of its first prompt on the main line (cut at a word, at most 60 characters, `…` when
/// cut), else `None`.
pub fn display_title(conv: &Conversation) -> Option<String> {
    if let Some(t) = conv.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        return Some(t.to_string());
    }
    let prompt = main_line(conv).into_iter().find(|m| m.role == Role::User)?.content.plain_text();
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let mut out = String::new();
    for w in &words {
        let wanted = out.chars().count() + usize::from(!out.is_empty()) + w.chars().count();
        if wanted > PROMPT_TITLE_CHARS {
            if out.is_empty() {
                out = w.chars().take(PROMPT_TITLE_CHARS).collect();
            }
            out.push('…');
            return Some(out);
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod display_title_tests {
    use super::*;

    fn with_prompt(title: Option<&str>, prompt: &str) -> Conversation {
        let mut c = Conversation::new("c1");
        c.title = title.map(String::from);
        c.upsert_message(None, Message::new("u1", Role::User, prompt), true);
        c.upsert_message(Some("u1"), Message::new("a1", Role::Assistant, "The answer."), true);
        c
    }

    #[test]
    fn own_title_first_then_the_prompts_words() {
        assert_eq!(display_title(&with_prompt(Some(" Trip plans "), "hello")).as_deref(), Some("Trip plans"));
        assert_eq!(
            display_title(&with_prompt(None, "  How do I\nboil an egg?  ")).as_deref(),
            Some("How do I boil an egg?")
        );
        assert_eq!(display_title(&with_prompt(Some(""), "Hi")).as_deref(), Some("Hi"));
        let long = "word ".repeat(40);
        let t = display_title(&with_prompt(None, &long)).unwrap();
        assert!(t.ends_with('…') && t.chars().count() <= PROMPT_TITLE_CHARS + 1, "{t}");
        assert_eq!(display_title(&Conversation::new("empty")), None);
    }
}
