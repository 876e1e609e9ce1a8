//! Writes an event as its Sentry-shaped JSON document straight from the typed
//! record, without building a `serde_json::Value` tree of the whole event.
//!
//! Attributes are merged back into the document by path, with the rules of
//! [`Object::insert`]: typed fields win, a segment that does
//! not exist yet is added after the typed keys of its object (or pushed after
//! the typed items of its array when it is the next index), anything else is
//! ignored. Only what attributes add is built ([`Extras`]), as a
//! [`tree`](super::tree) that borrows their keys and values; the typed fields
//! are written from the event as they are.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::tree::{Node, Object, insert_in_array};
use super::{format_timestamp, level_name, split_path_into};
use crate::runtime::bindings::faultline::plugin::types::{Event, Exception, Frame, Value};

/// Keys a caller writes at the root after the event's own (`classification`,
/// `impact`, …). An attribute that already put one of these keys at the root
/// keeps its position and gets the tail's value, as a map insert would.
pub trait Tail {
    /// The keys, in the order they are appended.
    fn keys(&self) -> &[&'static str];
    /// Writes the value of `keys()[index]` (its key is already written).
    fn value<M: SerializeMap>(&self, index: usize, map: &mut M) -> Result<(), M::Error>;
}

impl Tail for () {
    fn keys(&self) -> &[&'static str] {
        &[]
    }
    fn value<M: SerializeMap>(&self, _: usize, _: &mut M) -> Result<(), M::Error> {
        Ok(())
    }
}

/// An event's JSON document, ready to serialize; see the module docs.
pub struct Document<'a, T = ()> {
    event: &'a Event,
    extras: Extras<'a>,
    tail: T,
}

impl<'a> Document<'a> {
    /// The document of `event` alone.
    pub fn new(event: &'a Event) -> Self {
        Document::with_tail(event, ())
    }
}

impl<'a, T: Tail> Document<'a, T> {
    /// The document of `event` followed by `tail`'s keys.
    pub fn with_tail(event: &'a Event, tail: T) -> Self {
        let mut extras = Extras::default();
        let mut segments = Vec::new();
        for attribute in &event.attributes {
            split_path_into(&attribute.key, &mut segments);
            extras.place(event, &segments, &attribute.value);
        }
        Document {
            event,
            extras,
            tail,
        }
    }
}

/// What attributes add to the typed document, by where it goes.
#[derive(Default)]
struct Extras<'a> {
    root: Object<'a>,
    exception: Object<'a>,
    /// Items after the typed exceptions in `exception.values`.
    values: Vec<Node<'a>>,
    /// Per typed exception; empty until an attribute reaches one.
    exceptions: Vec<ExceptionExtras<'a>>,
    tags: Object<'a>,
    user: Object<'a>,
    request: Object<'a>,
    headers: Object<'a>,
    /// Items after the typed fingerprint entries.
    fingerprint: Vec<Node<'a>>,
}

#[derive(Default)]
struct ExceptionExtras<'a> {
    object: Object<'a>,
    stacktrace: Object<'a>,
    /// Items after the typed frames.
    frames: Vec<Node<'a>>,
    /// Per typed frame; empty until an attribute reaches one.
    per_frame: Vec<FrameExtras<'a>>,
}

#[derive(Default)]
struct FrameExtras<'a> {
    object: Object<'a>,
    /// The frame's `vars` tree with attributes merged in, once one reached it.
    vars: Option<Object<'a>>,
}

/// Places at an index of an array whose first `typed` items are typed
/// fields. A later index goes to `extra` (if it is its next); a typed one
/// with segments left is handed back, with the value, for the caller to place
/// inside that item.
fn place_in_array<'a>(
    typed: usize,
    extra: &mut Vec<Node<'a>>,
    segments: &[Cow<'a, str>],
    value: &'a Value,
) -> Option<(usize, &'a Value)> {
    let (first, rest) = segments.split_first()?;
    let index: usize = first.parse().ok()?;
    if index < typed {
        return (!rest.is_empty()).then_some((index, value));
    }
    let mut shifted = Vec::with_capacity(segments.len());
    shifted.push(Cow::Owned((index - typed).to_string()));
    shifted.extend_from_slice(rest);
    insert_in_array(extra, &shifted, value);
    None
}

/// Places into an object of typed scalars: a key it has is left alone.
fn place_flat<'a>(
    has: impl Fn(&str) -> bool,
    object: &mut Object<'a>,
    segments: &[Cow<'a, str>],
    value: &'a Value,
) {
    if let Some(first) = segments.first()
        && !has(first)
    {
        object.insert(segments, value);
    }
}

fn has_pair(pairs: &[(String, String)], key: &str) -> bool {
    pairs.iter().any(|(k, _)| k == key)
}

impl<'a> Extras<'a> {
    fn place(&mut self, e: &'a Event, segments: &[Cow<'a, str>], value: &'a Value) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        let typed_object = match first.as_ref() {
            "event_id" | "timestamp" | "level" | "platform" => return,
            "logger" if e.logger.is_some() => return,
            "message" if e.message.is_some() => return,
            "release" if e.release.is_some() => return,
            "environment" if e.environment.is_some() => return,
            "server_name" if e.server_name.is_some() => return,
            "transaction" if e.transaction.is_some() => return,
            "exception" if !e.exceptions.is_empty() => true,
            "tags" if !e.tags.is_empty() => true,
            "user" if e.user.is_some() => true,
            "request" if e.request.is_some() => true,
            "fingerprint" if !e.fingerprint.is_empty() => {
                place_in_array(e.fingerprint.len(), &mut self.fingerprint, rest, value);
                return;
            }
            _ => false,
        };
        if !typed_object {
            self.root.insert(segments, value);
            return;
        }
        match first.as_ref() {
            "exception" => self.place_exception(&e.exceptions, rest, value),
            "tags" => place_flat(|k| has_pair(&e.tags, k), &mut self.tags, rest, value),
            "user" => {
                let u = e.user.as_ref().expect("checked above");
                let has = |k: &str| match k {
                    "id" => u.id.is_some(),
                    "email" => u.email.is_some(),
                    "username" => u.username.is_some(),
                    "ip_address" => u.ip_address.is_some(),
                    _ => false,
                };
                place_flat(has, &mut self.user, rest, value);
            }
            "request" => {
                let r = e.request.as_ref().expect("checked above");
                if rest.first().is_some_and(|k| k == "headers") && !r.headers.is_empty() {
                    let headers = |k: &str| has_pair(&r.headers, k);
                    place_flat(headers, &mut self.headers, &rest[1..], value);
                    return;
                }
                let has = |k: &str| match k {
                    "method" => r.method.is_some(),
                    "url" => r.url.is_some(),
                    "query_string" => r.query_string.is_some(),
                    "cookies" => r.cookies.is_some(),
                    _ => false,
                };
                place_flat(has, &mut self.request, rest, value);
            }
            _ => unreachable!("typed objects are matched above"),
        }
    }

    fn place_exception(
        &mut self,
        exceptions: &'a [Exception],
        segments: &[Cow<'a, str>],
        value: &'a Value,
    ) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        if first != "values" {
            self.exception.insert(segments, value);
            return;
        }
        let Some((index, value)) = place_in_array(exceptions.len(), &mut self.values, rest, value)
        else {
            return;
        };
        let x = &exceptions[index];
        if self.exceptions.is_empty() {
            self.exceptions
                .resize_with(exceptions.len(), ExceptionExtras::default);
        }
        let extras = &mut self.exceptions[index];
        let segments = &rest[1..];
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        match first.as_ref() {
            "type" => {}
            "value" if x.value.is_some() => {}
            "module" if x.module.is_some() => {}
            "stacktrace" if !x.frames.is_empty() => extras.place_stacktrace(&x.frames, rest, value),
            _ => extras.object.insert(segments, value),
        }
    }
}

impl<'a> ExceptionExtras<'a> {
    fn place_stacktrace(
        &mut self,
        frames: &'a [Frame],
        segments: &[Cow<'a, str>],
        value: &'a Value,
    ) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        if first != "frames" {
            self.stacktrace.insert(segments, value);
            return;
        }
        let Some((index, value)) = place_in_array(frames.len(), &mut self.frames, rest, value)
        else {
            return;
        };
        let f = &frames[index];
        if self.per_frame.is_empty() {
            self.per_frame
                .resize_with(frames.len(), FrameExtras::default);
        }
        let extras = &mut self.per_frame[index];
        let segments = &rest[1..];
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        match first.as_ref() {
            "function" if f.function.is_some() => {}
            "module" if f.module.is_some() => {}
            "filename" if f.filename.is_some() => {}
            "abs_path" if f.abs_path.is_some() => {}
            "lineno" if f.lineno.is_some() => {}
            "colno" if f.colno.is_some() => {}
            "in_app" if f.in_app.is_some() => {}
            "vars" if !f.vars.is_empty() => {
                if !rest.is_empty() {
                    let vars = extras.vars.get_or_insert_with(|| vars_tree(f));
                    vars.insert(rest, value);
                }
            }
            _ => extras.object.insert(segments, value),
        }
    }
}

/// A frame's variables as their JSON tree, built only when serialized (a
/// serializer that skips `vars`, as deriving what storing writes does,
/// never builds it).
struct VarsTree<'a>(&'a Frame);

impl Serialize for VarsTree<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        vars_tree(self.0).serialize(s)
    }
}

/// A frame's flattened variables as a tree.
fn vars_tree(f: &Frame) -> Object<'_> {
    let mut vars = Object::default();
    let mut segments = Vec::new();
    for v in &f.vars {
        split_path_into(&v.key, &mut segments);
        vars.insert(&segments, &v.value);
    }
    vars
}

fn entries<M: SerializeMap>(map: &mut M, extra: &Object) -> Result<(), M::Error> {
    for (k, v) in extra.iter() {
        map.serialize_entry(k, v)?;
    }
    Ok(())
}

fn opt<M: SerializeMap, V: Serialize>(
    map: &mut M,
    key: &str,
    value: &Option<V>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, v),
        None => Ok(()),
    }
}

/// Name and value pairs as an object: a repeated name keeps its first
/// position and its last value, as collecting them into a map would.
struct Pairs<'a> {
    pairs: &'a [(String, String)],
    extra: &'a Object<'a>,
}

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let pairs = self.pairs;
        if pairs.len() <= 16 {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if pairs[..i].iter().any(|(earlier, _)| earlier == k) {
                    continue;
                }
                let last = pairs[i + 1..]
                    .iter()
                    .rev()
                    .find(|(later, _)| later == k)
                    .map_or(v, |(_, later)| later);
                map.serialize_entry(k, last)?;
            }
        } else {
            // Linear for long lists: an event may carry thousands of tags.
            let last: HashMap<&str, &str> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut written = HashSet::with_capacity(last.len());
            for (k, _) in pairs {
                if written.insert(k.as_str()) {
                    map.serialize_entry(k, last[k.as_str()])?;
                }
            }
        }
        entries(&mut map, self.extra)?;
        map.end()
    }
}

/// Typed items followed by the ones attributes pushed after them.
struct Items<'a, I> {
    typed: I,
    extra: &'a [Node<'a>],
}

impl<I, V> Serialize for Items<'_, I>
where
    I: Iterator<Item = V> + Clone,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for item in self.typed.clone() {
            seq.serialize_element(&item)?;
        }
        for item in self.extra {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

struct FrameDoc<'a> {
    frame: &'a Frame,
    extras: Option<&'a FrameExtras<'a>>,
}

impl Serialize for FrameDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.frame;
        let mut map = s.serialize_map(None)?;
        opt(&mut map, "function", &f.function)?;
        opt(&mut map, "module", &f.module)?;
        opt(&mut map, "filename", &f.filename)?;
        opt(&mut map, "abs_path", &f.abs_path)?;
        opt(&mut map, "lineno", &f.lineno)?;
        opt(&mut map, "colno", &f.colno)?;
        opt(&mut map, "in_app", &f.in_app)?;
        if !f.vars.is_empty() {
            match self.extras.and_then(|x| x.vars.as_ref()) {
                Some(vars) => map.serialize_entry("vars", vars)?,
                None => map.serialize_entry("vars", &VarsTree(f))?,
            }
        }
        if let Some(x) = self.extras {
            entries(&mut map, &x.object)?;
        }
        map.end()
    }
}

struct Stacktrace<'a> {
    frames: &'a [Frame],
    extras: Option<&'a ExceptionExtras<'a>>,
}

impl Serialize for Stacktrace<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let per_frame = self.extras.map_or(&[][..], |x| &x.per_frame);
        let frames = Items {
            typed: self.frames.iter().enumerate().map(|(i, frame)| FrameDoc {
                frame,
                extras: per_frame.get(i),
            }),
            extra: self.extras.map_or(&[][..], |x| &x.frames),
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("frames", &frames)?;
        if let Some(x) = self.extras {
            entries(&mut map, &x.stacktrace)?;
        }
        map.end()
    }
}

struct ExceptionDoc<'a> {
    exception: &'a Exception,
    extras: Option<&'a ExceptionExtras<'a>>,
}

impl Serialize for ExceptionDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.exception;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &x.type_)?;
        opt(&mut map, "value", &x.value)?;
        opt(&mut map, "module", &x.module)?;
        if !x.frames.is_empty() {
            let stacktrace = Stacktrace {
                frames: &x.frames,
                extras: self.extras,
            };
            map.serialize_entry("stacktrace", &stacktrace)?;
        }
        if let Some(extras) = self.extras {
            entries(&mut map, &extras.object)?;
        }
        map.end()
    }
}

struct Exceptions<'a> {
    exceptions: &'a [Exception],
    extras: &'a Extras<'a>,
}

impl Serialize for Exceptions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let values = Items {
            typed: self
                .exceptions
                .iter()
                .enumerate()
                .map(|(i, exception)| ExceptionDoc {
                    exception,
                    extras: self.extras.exceptions.get(i),
                }),
            extra: &self.extras.values,
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("values", &values)?;
        entries(&mut map, &self.extras.exception)?;
        map.end()
    }
}

/// An object of optional typed strings followed by what attributes added.
struct Fields<'a, const N: usize> {
    fields: [(&'static str, &'a Option<String>); N],
    headers: Option<Pairs<'a>>,
    extra: &'a Object<'a>,
}

impl<const N: usize> Serialize for Fields<'_, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (key, value) in &self.fields {
            opt(&mut map, key, value)?;
        }
        if let Some(headers) = &self.headers {
            map.serialize_entry("headers", headers)?;
        }
        entries(&mut map, self.extra)?;
        map.end()
    }
}

impl<T: Tail> Serialize for Document<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (e, extras) = (self.event, &self.extras);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("event_id", &e.event_id)?;
        map.serialize_entry("timestamp", &format_timestamp(e.timestamp))?;
        map.serialize_entry("level", level_name(e.level))?;
        map.serialize_entry("platform", &e.platform)?;
        opt(&mut map, "logger", &e.logger)?;
        opt(&mut map, "message", &e.message)?;
        opt(&mut map, "release", &e.release)?;
        opt(&mut map, "environment", &e.environment)?;
        opt(&mut map, "server_name", &e.server_name)?;
        opt(&mut map, "transaction", &e.transaction)?;
        if !e.exceptions.is_empty() {
            let exceptions = Exceptions {
                exceptions: &e.exceptions,
                extras,
            };
            map.serialize_entry("exception", &exceptions)?;
        }
        if !e.tags.is_empty() {
            let tags = Pairs {
                pairs: &e.tags,
                extra: &extras.tags,
            };
            map.serialize_entry("tags", &tags)?;
        }
        if let Some(u) = &e.user {
            let user = Fields {
                fields: [
                    ("id", &u.id),
                    ("email", &u.email),
                    ("username", &u.username),
                    ("ip_address", &u.ip_address),
                ],
                headers: None,
                extra: &extras.user,
            };
            map.serialize_entry("user", &user)?;
        }
        if let Some(r) = &e.request {
            let request = Fields {
                fields: [
                    ("method", &r.method),
                    ("url", &r.url),
                    ("query_string", &r.query_string),
                    ("cookies", &r.cookies),
                ],
                headers: (!r.headers.is_empty()).then_some(Pairs {
                    pairs: &r.headers,
                    extra: &extras.headers,
                }),
                extra: &extras.request,
            };
            map.serialize_entry("request", &request)?;
        }
        if !e.fingerprint.is_empty() {
            let fingerprint = Items {
                typed: e.fingerprint.iter(),
                extra: &extras.fingerprint,
            };
            map.serialize_entry("fingerprint", &fingerprint)?;
        }
        let keys = self.tail.keys();
        let mut written = 0u64;
        for (k, v) in extras.root.iter() {
            match keys.iter().position(|key| *key == k) {
                Some(i) => {
                    map.serialize_key(k)?;
                    self.tail.value(i, &mut map)?;
                    written |= 1 << i;
                }
                None => map.serialize_entry(k, v)?,
            }
        }
        for (i, key) in keys.iter().enumerate() {
            if written & (1 << i) == 0 {
                map.serialize_key(key)?;
                self.tail.value(i, &mut map)?;
            }
        }
        map.end()
    }
}
