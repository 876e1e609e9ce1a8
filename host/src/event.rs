//! Converts between JSON events (Sentry's payload shape) and the typed
//! [`Event`] record plugins receive: normalises the many shapes Sentry SDKs
//! send, and flattens every field without a typed home into attributes.

mod direct;
mod document;
pub mod raw;
mod tree;

use std::borrow::Cow;

use serde_json::Value as Json;

pub use document::{Document, Tail};
use raw::{Object, Raw};

use crate::runtime::bindings::faultline::plugin::types::{
    Attribute, Event, Exception, Frame, Level, Request, User, Value,
};

/// Why an incoming event was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EventError {
    /// The text is not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The JSON value is not an object.
    #[error("an event must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// A field has the wrong type or an invalid value.
    #[error("field `{field}`: {reason}")]
    Field {
        /// Field path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn field_err(field: impl Into<String>, reason: impl Into<String>) -> EventError {
    EventError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Escapes one key segment of a flattened path.
pub fn escape_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 2);
    push_escaped(&mut out, segment);
    out
}

/// Appends `segment` to `out`, escaped as in [`escape_segment`].
fn push_escaped(out: &mut String, segment: &str) {
    if !segment.contains(['.', '\\']) {
        out.push_str(segment);
        return;
    }
    for c in segment.chars() {
        if c == '.' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Splits a flattened path into unescaped segments; a segment without
/// escapes borrows from `path`.
pub fn split_path(path: &str) -> Vec<Cow<'_, str>> {
    let mut segments = Vec::new();
    split_path_into(path, &mut segments);
    segments
}

/// [`split_path`] into `segments`, which is cleared first: a caller that
/// splits many paths reuses one vector.
pub fn split_path_into<'a>(path: &'a str, segments: &mut Vec<Cow<'a, str>>) {
    segments.clear();
    let mut rest = path;
    loop {
        let Some(at) = rest.bytes().position(|b| b == b'.' || b == b'\\') else {
            segments.push(Cow::Borrowed(rest));
            return;
        };
        if rest.as_bytes()[at] == b'.' {
            segments.push(Cow::Borrowed(&rest[..at]));
            rest = &rest[at + 1..];
            continue;
        }
        // A segment with escapes: unescaped into its own string.
        let mut segment = String::with_capacity(rest.len());
        let mut chars = rest.chars();
        let mut after_dot = None;
        while let Some(c) = chars.next() {
            match c {
                '\\' => segment.extend(chars.next()),
                '.' => {
                    after_dot = Some(chars.as_str());
                    break;
                }
                _ => segment.push(c),
            }
        }
        segments.push(Cow::Owned(segment));
        match after_dot {
            Some(after) => rest = after,
            None => return,
        }
    }
}

fn scalar(v: &Raw) -> Value {
    match v {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Boolean(*b),
        Raw::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Raw::String(s) => Value::Text(s.to_string()),
        Raw::Array(_) | Raw::Object(_) => unreachable!("containers are flattened"),
    }
}

/// Appends `v` flattened under `prefix` to `out`.
fn flatten(prefix: &str, v: &Raw, out: &mut Vec<Attribute>) {
    let mut path = String::with_capacity(prefix.len() + 32);
    path.push_str(prefix);
    flatten_into(&mut path, v, out);
}

/// [`flatten`] with the path built in one buffer: each level appends its
/// segment and takes it off again, so only a leaf allocates (its key).
fn flatten_into(path: &mut String, v: &Raw, out: &mut Vec<Attribute>) {
    let len = path.len();
    let separate = |path: &mut String| {
        if !path.is_empty() {
            path.push('.');
        }
    };
    match v {
        Raw::Object(map) => {
            for (k, v) in map.iter() {
                separate(path);
                push_escaped(path, k);
                flatten_into(path, v, out);
                path.truncate(len);
            }
        }
        Raw::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                separate(path);
                // Writing to a `String` cannot fail.
                let _ = std::fmt::Write::write_fmt(path, format_args!("{i}"));
                flatten_into(path, v, out);
                path.truncate(len);
            }
        }
        _ => out.push(Attribute {
            key: path.clone(),
            value: scalar(v),
        }),
    }
}

/// A string field: strings as they are, numbers and booleans as text.
fn opt_string(obj: &Object, key: &str, path: &str) -> Result<Option<String>, EventError> {
    string_member(obj, key).map_err(|reason| field_err(path, reason))
}

/// [`opt_string`] with the reason it failed, for callers that build the
/// field's path only then (one per field of every frame would cost more
/// than reading the frame).
fn string_member(obj: &Object, key: &str) -> Result<Option<String>, String> {
    obj.get(key).map_or(Ok(None), string_value)
}

/// A string field's value: strings as they are, numbers and booleans as text.
fn string_value(v: &Raw) -> Result<Option<String>, String> {
    match v {
        Raw::Null => Ok(None),
        Raw::String(s) => Ok(Some(s.to_string())),
        Raw::Number(n) => Ok(Some(n.to_string())),
        Raw::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!("expected a string, got {}", other.kind())),
    }
}

/// A line or column number, or the reason it is not one.
fn u32_value(v: &Raw) -> Result<Option<u32>, String> {
    match v {
        Raw::Null => Ok(None),
        Raw::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("expected a line or column number, got {n}")),
        other => Err(format!("expected a number, got {}", other.kind())),
    }
}

fn parse_level(v: Option<&Raw>) -> Result<Level, EventError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Level::Error);
    };
    let Some(s) = v.as_str() else {
        return Err(field_err(
            "level",
            format!("expected a string, got {}", v.kind()),
        ));
    };
    Ok(match s.to_ascii_lowercase().as_str() {
        "debug" | "trace" => Level::Debug,
        "info" | "log" | "notice" => Level::Info,
        "warning" | "warn" => Level::Warning,
        "error" | "err" => Level::Error,
        "fatal" | "critical" | "crit" | "emergency" | "alert" => Level::Fatal,
        other => {
            return Err(field_err(
                "level",
                format!("unknown level {other:?}; expected debug, info, warning, error or fatal"),
            ));
        }
    })
}

/// Name of a level as it appears in JSON.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
        Level::Fatal => "fatal",
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Latest timestamp accepted as is; later ones are clamped to the time of receipt.
const MAX_CLOCK_SKEW_SECS: f64 = 300.0;

fn parse_timestamp(v: Option<&Raw>, attributes: &mut Vec<Attribute>) -> Result<f64, EventError> {
    let received = now();
    let ts = match v {
        None | Some(Raw::Null) => return Ok(received),
        Some(Raw::Number(n)) => seconds(n.as_f64().unwrap_or(f64::NAN)),
        Some(Raw::String(s)) => parse_time(s).ok_or_else(|| {
            field_err(
                "timestamp",
                format!("{s:?} is not RFC 3339 or a number of seconds since the epoch"),
            )
        })?,
        Some(other) => {
            return Err(field_err(
                "timestamp",
                format!("expected a string or number, got {}", other.kind()),
            ));
        }
    };
    if !ts.is_finite() || ts < 0.0 {
        return Err(field_err("timestamp", format!("{ts} is not a valid time")));
    }
    if ts > received + MAX_CLOCK_SKEW_SECS {
        attributes.push(Attribute {
            key: "_meta.timestamp.original".into(),
            value: Value::Number(ts),
        });
        return Ok(received);
    }
    Ok(ts)
}

fn parse_event_id(v: Option<&Raw>) -> Result<String, EventError> {
    match v {
        None | Some(Raw::Null) => Ok(uuid::Uuid::new_v4().simple().to_string()),
        Some(Raw::String(s)) => {
            // A byte outside ASCII becomes a character that is not a hex
            // digit, so such an id is refused below.
            let id: String = s
                .bytes()
                .filter(|b| *b != b'-')
                .map(|b| char::from(b.to_ascii_lowercase()))
                .collect();
            if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(id)
            } else {
                Err(field_err(
                    "event_id",
                    format!("{s:?} is not 32 hex digits (a UUID)"),
                ))
            }
        }
        Some(other) => Err(field_err(
            "event_id",
            format!("expected a string, got {}", other.kind()),
        )),
    }
}

fn pairs(v: &Raw, path: &str) -> Result<Vec<(String, String)>, EventError> {
    let text = |v: &Raw| match v {
        Raw::String(s) => s.to_string(),
        other => other.to_string(),
    };
    match v {
        Raw::Null => Ok(Vec::new()),
        Raw::Object(map) => Ok(map.iter().map(|(k, v)| (k.to_string(), text(v))).collect()),
        Raw::Array(items) => items
            .iter()
            .map(|item| match item.as_array() {
                Some([k, v]) => Ok((text(k), text(v))),
                _ => Err(field_err(path, "expected [key, value] pairs")),
            })
            .collect(),
        other => Err(field_err(
            path,
            format!(
                "expected an object or [key, value] pairs, got {}",
                other.kind()
            ),
        )),
    }
}

/// A frame with no member read yet.
fn empty_frame() -> Frame {
    Frame {
        function: None,
        module: None,
        filename: None,
        abs_path: None,
        lineno: None,
        colno: None,
        in_app: None,
        vars: Vec::new(),
    }
}

/// Frame `j` of the exception at `exception` (its path).
fn parse_frame(
    v: &Raw,
    exception: &str,
    j: usize,
    attributes: &mut Vec<Attribute>,
) -> Result<Frame, EventError> {
    // Paths are built only for an error or a member the frame does not know.
    let path = || format!("{exception}.stacktrace.frames.{j}");
    let Raw::Object(obj) = v else {
        return Err(field_err(
            path(),
            format!("a frame must be an object, got {}", v.kind()),
        ));
    };
    // One pass over the members: each known one into its slot.
    let mut frame = empty_frame();
    for (key, value) in obj.iter() {
        let fail = |reason| field_err(format!("{}.{key}", path()), reason);
        match key {
            "function" => frame.function = string_value(value).map_err(fail)?,
            "module" => frame.module = string_value(value).map_err(fail)?,
            "filename" => frame.filename = string_value(value).map_err(fail)?,
            "abs_path" => frame.abs_path = string_value(value).map_err(fail)?,
            "lineno" => frame.lineno = u32_value(value).map_err(fail)?,
            "colno" => frame.colno = u32_value(value).map_err(fail)?,
            "in_app" => frame.in_app = value.as_bool(),
            "vars" => flatten("", value, &mut frame.vars),
            _ => flatten(
                &format!("{}.{}", path(), escape_segment(key)),
                value,
                attributes,
            ),
        }
    }
    Ok(frame)
}

fn parse_exception(
    v: &Raw,
    i: usize,
    attributes: &mut Vec<Attribute>,
) -> Result<Exception, EventError> {
    let path = format!("exception.values.{i}");
    let Raw::Object(obj) = v else {
        return Err(field_err(
            &path,
            format!("an exception must be an object, got {}", v.kind()),
        ));
    };
    let mut frames = Vec::new();
    for (key, value) in obj.iter() {
        match key {
            "type" | "value" | "module" => {}
            "stacktrace" => {
                let Some(st) = value.as_object() else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(field_err(
                        format!("{path}.stacktrace"),
                        "expected an object",
                    ));
                };
                for (sk, sv) in st.iter() {
                    if sk == "frames" {
                        let Some(list) = sv.as_array() else {
                            return Err(field_err(
                                format!("{path}.stacktrace.frames"),
                                "expected an array",
                            ));
                        };
                        for (j, f) in list.iter().enumerate() {
                            frames.push(parse_frame(f, &path, j, attributes)?);
                        }
                    } else {
                        flatten(
                            &format!("{path}.stacktrace.{}", escape_segment(sk)),
                            sv,
                            attributes,
                        );
                    }
                }
            }
            _ => flatten(
                &format!("{path}.{}", escape_segment(key)),
                value,
                attributes,
            ),
        }
    }
    let string = |key: &str| {
        string_member(obj, key).map_err(|reason| field_err(format!("{path}.{key}"), reason))
    };
    Ok(Exception {
        type_: string("type")?.unwrap_or_else(|| "Error".into()),
        value: string("value")?,
        module: string("module")?,
        frames,
    })
}

fn query_string(v: &Raw) -> Result<Option<String>, EventError> {
    match v {
        Raw::Null => Ok(None),
        Raw::String(s) => Ok(Some(s.to_string())),
        other => {
            let pairs = pairs(other, "request.query_string")?;
            Ok(Some(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            ))
        }
    }
}

fn cookies(v: &Raw) -> Result<Option<String>, EventError> {
    match v {
        Raw::Null => Ok(None),
        Raw::String(s) => Ok(Some(s.to_string())),
        other => {
            let pairs = pairs(other, "request.cookies")?;
            Ok(Some(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ))
        }
    }
}

/// Reads one incoming event from its JSON text.
pub fn parse(bytes: &[u8]) -> Result<Event, EventError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_text(text),
        // Read as bytes, so that the error says where they stop being UTF-8.
        Err(_) => from_raw(&raw::from_slice(bytes).map_err(|e| EventError::Json(e.to_string()))?),
    }
}

/// Whether `text` is nothing but JSON's whitespace (space, tab, line feed,
/// carriage return).
pub fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// The event in the first JSON value of `text` (NDJSON's first line, say),
/// read straight into place, and the byte where the value ends; `None`
/// where only [`parse_text`] can say what the value holds.
pub fn read_first(text: &str) -> Option<(Event, usize)> {
    direct::first(text)
}

/// [`parse`] for text: read straight into the event where the text allows
/// (see [`direct`]), else through the tree, which also says what is wrong
/// with it.
pub fn parse_text(text: &str) -> Result<Event, EventError> {
    if let Some(event) = direct::event(text) {
        return Ok(event);
    }
    let raw = raw::from_str(text).map_err(|e| EventError::Json(e.to_string()))?;
    from_raw(&raw)
}

/// An event id given apart from the event (an envelope header's
/// `event_id`), checked and normalised as the event's own would be.
pub fn event_id_from_json(v: &Json) -> Result<String, EventError> {
    parse_event_id(Some(&raw::from_value(v)))
}

/// Reads one incoming event from parsed JSON.
pub fn from_json(v: &Json) -> Result<Event, EventError> {
    from_raw(&raw::from_value(v))
}

/// Reads one incoming event.
pub fn from_raw(v: &Raw) -> Result<Event, EventError> {
    let Raw::Object(obj) = v else {
        return Err(EventError::NotAnObject(v.kind()));
    };
    let mut reading = Reading::default();
    for (key, value) in obj.iter() {
        reading.member(key, value)?;
    }
    reading.finish()
}

/// Whether a top-level member has a typed home in the event; the others
/// are flattened into attributes.
fn typed(key: &str) -> bool {
    matches!(
        key,
        "event_id"
            | "timestamp"
            | "level"
            | "platform"
            | "logger"
            | "release"
            | "environment"
            | "server_name"
            | "transaction"
            | "message"
            | "logentry"
            | "exception"
            | "tags"
            | "fingerprint"
            | "user"
            | "request"
    )
}

/// An event being read, one top-level member at a time and in order: the
/// tree reader ([`from_raw`]) gives it every member, the straight reader
/// ([`direct`]) those it does not read into place itself.
#[derive(Default)]
struct Reading<'a> {
    attributes: Vec<Attribute>,
    exceptions: Vec<Exception>,
    message: Option<String>,
    tags: Vec<(String, String)>,
    user: Option<User>,
    request: Option<Request>,
    fingerprint: Vec<String>,
    // The scalar members, converted when the event is complete.
    event_id: Option<Raw<'a>>,
    timestamp: Option<Raw<'a>>,
    level: Option<Raw<'a>>,
    platform: Option<Raw<'a>>,
    logger: Option<Raw<'a>>,
    release: Option<Raw<'a>>,
    environment: Option<Raw<'a>>,
    server_name: Option<Raw<'a>>,
    transaction: Option<Raw<'a>>,
}

impl<'a> Reading<'a> {
    /// Reads the top-level member `key`. An event's keys are unique: the
    /// value of `message`, when it is not an object, is the event's.
    fn member(&mut self, key: &str, value: &Raw<'a>) -> Result<(), EventError> {
        let attributes = &mut self.attributes;
        match key {
            "event_id" => self.event_id = Some(value.clone()),
            "timestamp" => self.timestamp = Some(value.clone()),
            "level" => self.level = Some(value.clone()),
            "platform" => self.platform = Some(value.clone()),
            "logger" => self.logger = Some(value.clone()),
            "release" => self.release = Some(value.clone()),
            "environment" => self.environment = Some(value.clone()),
            "server_name" => self.server_name = Some(value.clone()),
            "transaction" => self.transaction = Some(value.clone()),
            "message" => match value {
                Raw::Object(m) => {
                    if self.message.is_none() {
                        self.message = opt_string(m, "formatted", "message.formatted")?
                            .or(opt_string(m, "message", "message.message")?);
                    }
                    if let Some(params) = m.get("params") {
                        flatten("logentry.params", params, attributes);
                    }
                }
                _ => {
                    let text =
                        string_value(value).map_err(|reason| field_err("message", reason))?;
                    self.message = text.or(self.message.take());
                }
            },
            "logentry" => {
                let Some(m) = value.as_object() else {
                    return Err(field_err("logentry", "expected an object"));
                };
                let text = opt_string(m, "formatted", "logentry.formatted")?.or(opt_string(
                    m,
                    "message",
                    "logentry.message",
                )?);
                if text.is_some() {
                    self.message = text;
                }
                if let Some(params) = m.get("params") {
                    flatten("logentry.params", params, attributes);
                }
            }
            "exception" => {
                let values: &[Raw] = match value {
                    Raw::Object(e) => match e.get("values") {
                        Some(Raw::Array(values)) => values,
                        None => &[],
                        Some(_) => {
                            return Err(field_err("exception.values", "expected an array"));
                        }
                    },
                    Raw::Array(values) => values,
                    Raw::Null => &[],
                    other => {
                        return Err(field_err(
                            "exception",
                            format!("expected an object or array, got {}", other.kind()),
                        ));
                    }
                };
                for (i, e) in values.iter().enumerate() {
                    self.exceptions.push(parse_exception(e, i, attributes)?);
                }
            }
            "tags" => self.tags = pairs(value, "tags")?,
            "fingerprint" => {
                let Some(list) = value.as_array() else {
                    return Err(field_err("fingerprint", "expected an array of strings"));
                };
                self.fingerprint = list
                    .iter()
                    .map(|v| match v {
                        Raw::String(s) => s.to_string(),
                        other => other.to_string(),
                    })
                    .collect();
            }
            "user" => {
                let Raw::Object(u) = value else {
                    if value.is_null() {
                        return Ok(());
                    }
                    return Err(field_err(
                        "user",
                        format!("expected an object, got {}", value.kind()),
                    ));
                };
                for (k, v) in u.iter() {
                    if !matches!(k, "id" | "email" | "username" | "ip_address") {
                        flatten(&format!("user.{}", escape_segment(k)), v, attributes);
                    }
                }
                self.user = Some(User {
                    id: opt_string(u, "id", "user.id")?,
                    email: opt_string(u, "email", "user.email")?,
                    username: opt_string(u, "username", "user.username")?,
                    ip_address: opt_string(u, "ip_address", "user.ip_address")?,
                });
            }
            "request" => {
                let Raw::Object(r) = value else {
                    if value.is_null() {
                        return Ok(());
                    }
                    return Err(field_err(
                        "request",
                        format!("expected an object, got {}", value.kind()),
                    ));
                };
                for (k, v) in r.iter() {
                    if !matches!(k, "method" | "url" | "query_string" | "cookies" | "headers") {
                        flatten(&format!("request.{}", escape_segment(k)), v, attributes);
                    }
                }
                self.request = Some(Request {
                    method: opt_string(r, "method", "request.method")?,
                    url: opt_string(r, "url", "request.url")?,
                    query_string: r
                        .get("query_string")
                        .map(query_string)
                        .transpose()?
                        .flatten(),
                    cookies: r.get("cookies").map(cookies).transpose()?.flatten(),
                    headers: r
                        .get("headers")
                        .map(|h| pairs(h, "request.headers"))
                        .transpose()?
                        .unwrap_or_default(),
                });
            }
            _ => flatten(&escape_segment(key), value, attributes),
        }
        Ok(())
    }

    /// The event, its scalar members converted.
    fn finish(mut self) -> Result<Event, EventError> {
        let string = |v: Option<Raw>, path: &str| {
            v.as_ref()
                .map_or(Ok(None), string_value)
                .map_err(|reason| field_err(path, reason))
        };
        let timestamp = parse_timestamp(self.timestamp.as_ref(), &mut self.attributes)?;
        Ok(Event {
            event_id: parse_event_id(self.event_id.as_ref())?,
            timestamp,
            level: parse_level(self.level.as_ref())?,
            platform: string(self.platform, "platform")?.unwrap_or_else(|| "other".into()),
            logger: string(self.logger, "logger")?,
            message: self.message,
            exceptions: self.exceptions,
            tags: self.tags,
            user: self.user,
            request: self.request,
            release: string(self.release, "release")?,
            environment: string(self.environment, "environment")?,
            server_name: string(self.server_name, "server_name")?,
            transaction: string(self.transaction, "transaction")?,
            fingerprint: self.fingerprint,
            attributes: self.attributes,
        })
    }
}

/// Seconds from a number that may be seconds or, as some clients send,
/// milliseconds since the epoch.
fn seconds(n: f64) -> f64 {
    if n > 1e11 { n / 1000.0 } else { n }
}

/// Parses a time given as RFC 3339, as a naive UTC date-time (as Sentry SDKs
/// send), or as seconds (or milliseconds) since the epoch.
pub fn parse_time(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return n.is_finite().then(|| seconds(n));
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .or_else(|_| {
            time::PrimitiveDateTime::parse(
                text,
                &time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
                ),
            )
            .map(|p| p.assume_utc())
        })
        .ok()?;
    Some(parsed.unix_timestamp() as f64 + f64::from(parsed.nanosecond()) / 1e9)
}

/// Formats seconds since the epoch as RFC 3339 with microseconds.
///
/// Every event's document has one, so the digits are written straight into
/// place; the calendar is `time`'s. Years outside 0000–9999 go through
/// `time`'s formatting ([`format_timestamp_described`]).
pub fn format_timestamp(ts: f64) -> String {
    let Some(t) = timestamp_of(ts) else {
        return ts.to_string();
    };
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return format_timestamp_described(ts);
    }
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let (hour, minute, second, micros) = t.to_hms_micro();
    for (at, len, value) in [
        (0, 4, year as u32),
        (5, 2, u32::from(u8::from(t.month()))),
        (8, 2, u32::from(t.day())),
        (11, 2, u32::from(hour)),
        (14, 2, u32::from(minute)),
        (17, 2, u32::from(second)),
        (20, 6, micros),
    ] {
        let mut value = value;
        for digit in out[at..at + len].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    String::from_utf8(out.to_vec()).expect("ASCII digits and punctuation")
}

/// [`format_timestamp`] through `time`'s format description.
fn format_timestamp_described(ts: f64) -> String {
    timestamp_of(ts)
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

/// The instant `ts` seconds after the epoch, to the microsecond (what an f64
/// of seconds holds for current dates).
fn timestamp_of(ts: f64) -> Option<time::OffsetDateTime> {
    let nanos = (ts * 1e6).round() as i128 * 1000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// Whether a path segment names an array index.
fn is_index(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

/// Renders an event as Sentry-shaped JSON, attributes merged back in place.
/// To write it out, serialize a [`Document`] instead: no tree is built.
pub fn to_json(e: &Event) -> Json {
    serde_json::to_value(Document::new(e)).expect("event documents serialize")
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "event/document_tests.rs"]
pub(crate) mod document_tests;
