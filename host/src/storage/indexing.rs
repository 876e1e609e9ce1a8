//! What storing an event derives from its document — its issue (fingerprint,
//! title, culprit), distinct-user key, per-minute counters and time-index key
//! — read from either JSON tree: the [`Raw`] tree of a document's members,
//! built as the worker writes it (so the single writer thread only applies
//! the result) or read from its bytes (an entry replayed at start), or a
//! `serde_json::Value` (a record of a schema 2 log, whose documents go
//! inline; a stored document filtered by a read).

use serde_json::Value as Json;

use super::issues::{self, Issue};
use crate::event::raw::Keep::{self, All, Members};
use crate::event::raw::Raw;

/// Read access to a JSON value; what is absent or of another type is `None`.
pub trait Node: Sized {
    /// An object's member.
    fn get(&self, key: &str) -> Option<&Self>;
    /// A string's text.
    fn str(&self) -> Option<&str>;
    /// A boolean.
    fn bool(&self) -> Option<bool>;
    /// A non-negative integer.
    fn u64(&self) -> Option<u64>;
    /// An array's items.
    fn items(&self) -> Option<&[Self]>;
    /// Whether it is `null`.
    fn is_null(&self) -> bool;
    /// The value as a `serde_json::Value`.
    fn to_json(&self) -> Json;

    /// The member at a path of keys.
    fn at(&self, path: &[&str]) -> Option<&Self> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }
    /// The string at a path of keys.
    fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Node::str)
    }
}

impl Node for Json {
    fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?.get(key)
    }
    fn str(&self) -> Option<&str> {
        self.as_str()
    }
    fn bool(&self) -> Option<bool> {
        self.as_bool()
    }
    fn u64(&self) -> Option<u64> {
        self.as_u64()
    }
    fn items(&self) -> Option<&[Json]> {
        self.as_array().map(Vec::as_slice)
    }
    fn is_null(&self) -> bool {
        Json::is_null(self)
    }
    fn to_json(&self) -> Json {
        self.clone()
    }
}

impl Node for Raw<'_> {
    fn get(&self, key: &str) -> Option<&Self> {
        self.as_object()?.get(key)
    }
    fn str(&self) -> Option<&str> {
        self.as_str()
    }
    fn bool(&self) -> Option<bool> {
        self.as_bool()
    }
    fn u64(&self) -> Option<u64> {
        match self {
            Raw::Number(n) => n.as_u64(),
            _ => None,
        }
    }
    fn items(&self) -> Option<&[Self]> {
        self.as_array()
    }
    fn is_null(&self) -> bool {
        Raw::is_null(self)
    }
    fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

/// What deriving an [`Indexing`] reads of a document (here and in `issues`
/// and `counters`); the worker that writes a document builds only this as it
/// writes it. Of the exceptions, only what the fingerprint, title and
/// culprit use: not the frames' variables, paths or source lines.
pub const READS: &[(&str, Keep<'static>)] = &[
    ("event_id", All),
    ("timestamp", All),
    ("level", All),
    ("message", All),
    ("transaction", All),
    ("server_name", All),
    ("fingerprint", All),
    (
        "exception",
        Members(&[(
            "values",
            Members(&[
                ("type", All),
                ("value", All),
                (
                    "stacktrace",
                    Members(&[(
                        "frames",
                        Members(&[
                            ("in_app", All),
                            ("module", All),
                            ("filename", All),
                            ("function", All),
                        ]),
                    )]),
                ),
            ]),
        )]),
    ),
    (
        "user",
        Members(&[
            ("id", All),
            ("username", All),
            ("ip_address", All),
            ("email", All),
        ]),
    ),
    ("tags", Members(&[("service", All)])),
    (
        "classification",
        Members(&[
            ("code", All),
            ("category", All),
            ("severity", All),
            ("fingerprint", All),
        ]),
    ),
    ("impact", Members(&[("score", All)])),
];

/// What one event adds to its issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Seconds since the epoch.
    pub time: f64,
    /// `code`, `category` and `severity` of its classification, if any.
    pub classification: Option<Json>,
    /// Its impact score, if any.
    pub score: Option<u64>,
}

impl Sample {
    /// The sample of a stored document.
    pub fn of(doc: &impl Node) -> Sample {
        let part = |c: &_, key| Node::get(c, key).map_or(Json::Null, Node::to_json);
        Sample {
            time: issues::timestamp(doc),
            classification: doc.get("classification").filter(|c| !c.is_null()).map(|c| {
                serde_json::json!({
                    "code": part(c, "code"), "category": part(c, "category"), "severity": part(c, "severity"),
                })
            }),
            score: doc.at(&["impact", "score"]).and_then(Node::u64),
        }
    }
}

/// Everything storing an event writes besides the document itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexing {
    /// The event id (empty if it has none).
    pub id: String,
    /// Its time in microseconds, for the time index.
    pub micros: u64,
    /// The issue it groups into, as this event would open it (no counts yet).
    pub issue: Issue,
    /// Who its user is, for counting distinct users.
    pub user: Option<String>,
    /// The per-minute counters it adds one to.
    pub counters: Vec<Vec<u8>>,
    /// What it adds to its issue.
    pub sample: Sample,
}

impl Indexing {
    /// Derives it from a stored document of `project`.
    pub fn of(project: &str, doc: &impl Node) -> Indexing {
        let (fingerprint, issue_id) = issues::fingerprint_of(project, doc);
        // The time is read once: the index, the issue and the counters use it.
        let sample = Sample::of(doc);
        let micros = issues::micros(sample.time);
        Indexing {
            id: doc.str_at(&["event_id"]).unwrap_or_default().to_string(),
            micros,
            issue: Issue::new(&issue_id, project, fingerprint, sample.time, doc),
            user: issues::user_key(doc),
            counters: super::counters::keys(project, micros, doc).collect(),
            sample,
        }
    }
}
