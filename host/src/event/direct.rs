//! Reads an event straight from its JSON text into the typed record, with
//! no tree in between. The exceptions with their frames, the user, request
//! and tags, and the members flattened into attributes, most of an event's
//! text, go from the JSON reader into their places. The other top-level
//! members are small: each is read as a [`Raw`] value and converted by
//! [`Reading::member`], as the tree reader converts it.
//!
//! It gives up (returns `None`) on anything it would not read exactly as
//! the tree reader ([`super::from_raw`]) does: text that is not JSON, a
//! field the tree reader refuses, a key given twice where the second value
//! would add to the first (the tree keeps the key's first place and its
//! last value; see [`Keys`]). The caller then reads the text through the
//! tree, which gives the event or the error. What this saves is the tree's
//! allocations and the second walk over it (BENCHMARKS.md, "Since
//! 9072248"); that both readers agree is tested on generated events of
//! every shape.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::raw::{Raw, Text};
use super::{
    Reading, cookies, empty_frame, is_blank, push_escaped, query_string, string_value, typed,
    u32_value,
};
use crate::runtime::bindings::faultline::plugin::types::{
    Attribute, Event, Exception, Frame, Request, User, Value,
};

/// The event in `text`, or `None` where the tree reader must read it.
pub(super) fn event(text: &str) -> Option<Event> {
    let (event, end) = first(text)?;
    is_blank(&text[end..]).then_some(event)
}

/// The event in the first JSON value of `text`, and where that value
/// ends; `None` where the tree reader must read it.
pub(super) fn first(text: &str) -> Option<(Event, usize)> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Straight>();
    let Straight(reading) = values.next()?.ok()?;
    let end = values.byte_offset();
    reading.finish().ok().map(|event| (event, end))
}

/// An event's members as read, for serde_json's reader of a stream of
/// values (which says where each one ends).
struct Straight<'de>(Reading<'de>);

impl<'de> Deserialize<'de> for Straight<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Straight<'de>, D::Error> {
        Top(&mut Keys::default()).deserialize(d).map(Straight)
    }
}

/// A visitor that reads itself from the JSON with `$how`, as a seed.
macro_rules! seed {
    ($visitor:ident, $how:ident) => {
        impl<'de> DeserializeSeed<'de> for $visitor<'_> {
            type Value = <Self as Visitor<'de>>::Value;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.$how(self)
            }
        }
    };
}

/// The error that makes the reader give up; its text is never shown.
fn give_up<E: de::Error>() -> E {
    E::custom("read through the tree")
}

/// The keys of the objects being read, innermost object last, as hashes.
/// A key given twice in one object makes the reader give up, as do two
/// keys with the same hash (which only costs the second reading), and an
/// object of more than [`MAX_KEYS`] keys (which the tree reader indexes).
///
/// A member read into a field of its own (a frame's `function`, a user's
/// `id`) is not counted: given twice, its second value replaces the first,
/// as in the tree. Every other key is: where the reader appends (a
/// flattened member, `frames`, `vars`) a second value would add to the
/// first.
#[derive(Default)]
struct Keys(Vec<u64>);

/// The most keys an object may have for this reader.
const MAX_KEYS: usize = 64;

/// A key's hash. Below 16 bytes it depends on every byte; a longer key's
/// only on its length and its first and last 8 bytes. Two keys of one
/// object that hash the same only cost a second reading.
fn hash(key: &[u8]) -> u64 {
    let n = key.len();
    let word = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            key[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    let (a, b) = if n >= 8 {
        (word(0), word(n - 8))
    } else if n >= 4 {
        (half(0), half(n - 4))
    } else if n > 0 {
        (
            u64::from(key[0]) | u64::from(key[n / 2]) << 8 | u64::from(key[n - 1]) << 16,
            0,
        )
    } else {
        (0, 0)
    };
    let h = (a ^ (n as u64) << 59).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b;
    h.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (h >> 29)
}

/// The object being read: where its keys start, and a one-bit summary of
/// each, so that a key is compared with the others only when its bit is
/// already set.
struct Object {
    mark: usize,
    bits: u128,
}

impl Keys {
    /// An object about to be read.
    fn open(&self) -> Object {
        Object {
            mark: self.0.len(),
            bits: 0,
        }
    }

    /// The next key of `object`.
    fn add<E: de::Error>(&mut self, object: &mut Object, key: &str) -> Result<(), E> {
        let h = hash(key.as_bytes());
        let bit = 1u128 << (h >> 57);
        let keys = &self.0[object.mark..];
        if keys.len() >= MAX_KEYS || (object.bits & bit != 0 && keys.contains(&h)) {
            return Err(give_up());
        }
        object.bits |= bit;
        self.0.push(h);
        Ok(())
    }

    /// Done with `object`.
    fn close(&mut self, object: Object) {
        self.0.truncate(object.mark);
    }
}

/// Reads a value as the tree reader reads a scalar member (containers
/// included, which the conversion then refuses).
fn value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Raw<'de>, A::Error> {
    map.next_value()
}

/// A string field, as [`string_value`] converts it.
fn string<E: de::Error>(v: Option<Raw>) -> Result<Option<String>, E> {
    v.as_ref()
        .map_or(Ok(None), string_value)
        .map_err(|_| give_up())
}

/// The event object.
struct Top<'s>(&'s mut Keys);

seed!(Top, deserialize_map);

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Reading<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Reading<'de>, A::Error> {
        let keys = self.0;
        let mut object = keys.open();
        keys.0.reserve(64);
        let mut reading = Reading {
            attributes: Vec::with_capacity(16),
            ..Reading::default()
        };
        let mut path = String::with_capacity(64);
        while let Some(Text(key)) = map.next_key()? {
            keys.add(&mut object, &key)?;
            if key == "exception" {
                map.next_value_seed(Exceptions {
                    keys,
                    exceptions: &mut reading.exceptions,
                    attributes: &mut reading.attributes,
                })?;
            } else if key == "user" {
                reading.user = map.next_value_seed(RecordSeed {
                    keys,
                    attributes: &mut reading.attributes,
                    record: PhantomData,
                })?;
            } else if key == "request" {
                reading.request = map.next_value_seed(RecordSeed {
                    keys,
                    attributes: &mut reading.attributes,
                    record: PhantomData,
                })?;
            } else if key == "tags" {
                reading.tags = map.next_value_seed(Pairs(keys))?;
            } else if typed(&key) {
                let v = value(&mut map)?;
                reading.member(&key, &v).map_err(|_| give_up())?;
            } else {
                path.clear();
                push_escaped(&mut path, &key);
                map.next_value_seed(Flat {
                    path: &mut path,
                    out: &mut reading.attributes,
                    keys,
                })?;
            }
        }
        keys.close(object);
        Ok(reading)
    }
}

/// A value flattened into attributes under `path`, as `flatten_into`
/// flattens it.
struct Flat<'s> {
    path: &'s mut String,
    out: &'s mut Vec<Attribute>,
    keys: &'s mut Keys,
}

impl Flat<'_> {
    fn push<E>(self, value: Value) -> Result<(), E> {
        self.out.push(Attribute {
            key: self.path.clone(),
            value,
        });
        Ok(())
    }

    /// The same, one level down; its caller has put the segment on `path`.
    fn below(&mut self) -> Flat<'_> {
        Flat {
            path: &mut *self.path,
            out: &mut *self.out,
            keys: &mut *self.keys,
        }
    }

    fn separate(&mut self) {
        if !self.path.is_empty() {
            self.path.push('.');
        }
    }
}

seed!(Flat, deserialize_any);

impl<'de> Visitor<'de> for Flat<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.push(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.push(Value::Boolean(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.push(Value::Integer(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.push(match i64::try_from(v) {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Number(v as f64),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // The tree keeps a number that is not finite as null.
        self.push(if v.is_finite() {
            Value::Number(v)
        } else {
            Value::Null
        })
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.push(Value::Text(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.push(Value::Text(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let len = self.path.len();
        for i in 0usize.. {
            self.separate();
            // Writing to a `String` cannot fail.
            let _ = fmt::Write::write_fmt(self.path, format_args!("{i}"));
            let more = seq.next_element_seed(self.below())?.is_some();
            self.path.truncate(len);
            if !more {
                break;
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut object = self.keys.open();
        let len = self.path.len();
        while let Some(Text(key)) = map.next_key()? {
            self.keys.add(&mut object, &key)?;
            self.separate();
            push_escaped(self.path, &key);
            map.next_value_seed(self.below())?;
            self.path.truncate(len);
        }
        self.keys.close(object);
        Ok(())
    }
}

/// The member `key` of `object`, flattened under `path` (its segment
/// escaped).
fn flat_member<'de, A: MapAccess<'de>>(
    map: &mut A,
    mut path: String,
    key: &str,
    out: &mut Vec<Attribute>,
    keys: &mut Keys,
    object: &mut Object,
) -> Result<(), A::Error> {
    keys.add(object, key)?;
    path.push('.');
    push_escaped(&mut path, key);
    map.next_value_seed(Flat {
        path: &mut path,
        out,
        keys,
    })
}

/// The `exception` member: `{"values": [...]}`, the list itself, or null.
struct Exceptions<'s> {
    keys: &'s mut Keys,
    exceptions: &'s mut Vec<Exception>,
    attributes: &'s mut Vec<Attribute>,
}

seed!(Exceptions, deserialize_any);

impl<'de> Visitor<'de> for Exceptions<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("exceptions")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(e) = seq.next_element_seed(ExceptionSeed {
            index: self.exceptions.len(),
            keys: &mut *self.keys,
            attributes: &mut *self.attributes,
        })? {
            self.exceptions.push(e);
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut object = self.keys.open();
        while let Some(Text(key)) = map.next_key()? {
            if key == "values" {
                self.keys.add(&mut object, &key)?;
                struct List<'s>(Exceptions<'s>);
                impl<'de> DeserializeSeed<'de> for List<'_> {
                    type Value = ();
                    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                        d.deserialize_seq(self.0)
                    }
                }
                map.next_value_seed(List(Exceptions {
                    keys: &mut *self.keys,
                    exceptions: &mut *self.exceptions,
                    attributes: &mut *self.attributes,
                }))?;
            } else {
                // The tree reader does not look at the others.
                map.next_value::<IgnoredAny>()?;
            }
        }
        self.keys.close(object);
        Ok(())
    }
}

/// Exception `index` of the list.
struct ExceptionSeed<'s> {
    index: usize,
    keys: &'s mut Keys,
    attributes: &'s mut Vec<Attribute>,
}

seed!(ExceptionSeed, deserialize_map);

impl<'de> Visitor<'de> for ExceptionSeed<'_> {
    type Value = Exception;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an exception")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Exception, A::Error> {
        let path = format!("exception.values.{}", self.index);
        let mut object = self.keys.open();
        let (mut type_, mut value_, mut module) = (None, None, None);
        let mut frames = Vec::new();
        while let Some(Text(key)) = map.next_key()? {
            match &*key {
                "type" => type_ = Some(value(&mut map)?),
                "value" => value_ = Some(value(&mut map)?),
                "module" => module = Some(value(&mut map)?),
                "stacktrace" => {
                    self.keys.add(&mut object, &key)?;
                    map.next_value_seed(Stacktrace {
                        exception: &path,
                        frames: &mut frames,
                        keys: &mut *self.keys,
                        attributes: &mut *self.attributes,
                    })?;
                }
                _ => flat_member(
                    &mut map,
                    path.clone(),
                    &key,
                    &mut *self.attributes,
                    &mut *self.keys,
                    &mut object,
                )?,
            }
        }
        self.keys.close(object);
        Ok(Exception {
            type_: string(type_)?.unwrap_or_else(|| "Error".into()),
            value: string(value_)?,
            module: string(module)?,
            frames,
        })
    }
}

/// An exception's `stacktrace`: an object, or null.
struct Stacktrace<'s> {
    exception: &'s str,
    frames: &'s mut Vec<Frame>,
    keys: &'s mut Keys,
    attributes: &'s mut Vec<Attribute>,
}

seed!(Stacktrace, deserialize_any);

impl<'de> Visitor<'de> for Stacktrace<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stack trace")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut object = self.keys.open();
        while let Some(Text(key)) = map.next_key()? {
            if key == "frames" {
                self.keys.add(&mut object, &key)?;
                map.next_value_seed(Frames {
                    exception: self.exception,
                    frames: &mut *self.frames,
                    keys: &mut *self.keys,
                    attributes: &mut *self.attributes,
                })?;
            } else {
                flat_member(
                    &mut map,
                    format!("{}.stacktrace", self.exception),
                    &key,
                    &mut *self.attributes,
                    &mut *self.keys,
                    &mut object,
                )?;
            }
        }
        self.keys.close(object);
        Ok(())
    }
}

/// A stack trace's `frames`: a list of objects.
struct Frames<'s> {
    exception: &'s str,
    frames: &'s mut Vec<Frame>,
    keys: &'s mut Keys,
    attributes: &'s mut Vec<Attribute>,
}

seed!(Frames, deserialize_seq);

impl<'de> Visitor<'de> for Frames<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of frames")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Room for a usual stack trace at once, not in four steps.
        self.frames.reserve(16);
        while let Some(frame) = seq.next_element_seed(FrameSeed {
            exception: self.exception,
            index: self.frames.len(),
            keys: &mut *self.keys,
            attributes: &mut *self.attributes,
        })? {
            self.frames.push(frame);
        }
        Ok(())
    }
}

/// Frame `index` of the exception at `exception` (its path).
struct FrameSeed<'s> {
    exception: &'s str,
    index: usize,
    keys: &'s mut Keys,
    attributes: &'s mut Vec<Attribute>,
}

seed!(FrameSeed, deserialize_map);

impl<'de> Visitor<'de> for FrameSeed<'_> {
    type Value = Frame;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a frame")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Frame, A::Error> {
        let mut object = self.keys.open();
        let mut frame = empty_frame();
        let number = |v: Raw| u32_value(&v).map_err(|_| give_up());
        while let Some(Text(key)) = map.next_key()? {
            match &*key {
                "function" => frame.function = string(Some(value(&mut map)?))?,
                "module" => frame.module = string(Some(value(&mut map)?))?,
                "filename" => frame.filename = string(Some(value(&mut map)?))?,
                "abs_path" => frame.abs_path = string(Some(value(&mut map)?))?,
                "lineno" => frame.lineno = number(value(&mut map)?)?,
                "colno" => frame.colno = number(value(&mut map)?)?,
                "in_app" => frame.in_app = value(&mut map)?.as_bool(),
                "vars" => {
                    self.keys.add(&mut object, &key)?;
                    map.next_value_seed(Flat {
                        path: &mut String::with_capacity(32),
                        out: &mut frame.vars,
                        keys: &mut *self.keys,
                    })?;
                }
                _ => flat_member(
                    &mut map,
                    format!("{}.stacktrace.frames.{}", self.exception, self.index),
                    &key,
                    &mut *self.attributes,
                    &mut *self.keys,
                    &mut object,
                )?,
            }
        }
        self.keys.close(object);
        Ok(frame)
    }
}

/// A member read into a record of its own (`user`, `request`): its known
/// members into their fields, the others flattened under its name.
trait Record: Sized {
    /// Its name, the prefix of what it flattens.
    const NAME: &'static str;
    fn empty() -> Self;
    /// Reads the member `key` into its field; `false` if it has none.
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        keys: &mut Keys,
    ) -> Result<bool, A::Error>;
}

impl Record for User {
    const NAME: &'static str = "user";
    fn empty() -> User {
        User {
            id: None,
            email: None,
            username: None,
            ip_address: None,
        }
    }
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        _: &mut Keys,
    ) -> Result<bool, A::Error> {
        let field = match key {
            "id" => &mut self.id,
            "email" => &mut self.email,
            "username" => &mut self.username,
            "ip_address" => &mut self.ip_address,
            _ => return Ok(false),
        };
        *field = string(Some(value(map)?))?;
        Ok(true)
    }
}

impl Record for Request {
    const NAME: &'static str = "request";
    fn empty() -> Request {
        Request {
            method: None,
            url: None,
            query_string: None,
            cookies: None,
            headers: Vec::new(),
        }
    }
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        keys: &mut Keys,
    ) -> Result<bool, A::Error> {
        match key {
            "method" => self.method = string(Some(value(map)?))?,
            "url" => self.url = string(Some(value(map)?))?,
            "query_string" => {
                self.query_string = query_string(&value(map)?).map_err(|_| give_up())?;
            }
            "cookies" => self.cookies = cookies(&value(map)?).map_err(|_| give_up())?,
            "headers" => self.headers = map.next_value_seed(Pairs(keys))?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A [`Record`]: an object, or null.
struct RecordSeed<'s, R> {
    keys: &'s mut Keys,
    attributes: &'s mut Vec<Attribute>,
    record: PhantomData<R>,
}

impl<'de, R: Record> DeserializeSeed<'de> for RecordSeed<'_, R> {
    type Value = Option<R>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<R>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: Record> Visitor<'de> for RecordSeed<'_, R> {
    type Value = Option<R>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {}", R::NAME)
    }
    fn visit_unit<E>(self) -> Result<Option<R>, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<R>, A::Error> {
        let mut object = self.keys.open();
        let mut record = R::empty();
        while let Some(Text(key)) = map.next_key()? {
            if !record.field(&key, &mut map, self.keys)? {
                flat_member(
                    &mut map,
                    R::NAME.into(),
                    &key,
                    &mut *self.attributes,
                    &mut *self.keys,
                    &mut object,
                )?;
            }
        }
        self.keys.close(object);
        Ok(Some(record))
    }
}

/// Tags or headers: an object of scalars, or null; the values as `pairs`
/// writes them. (`[key, value]` lists, and containers as values, are left
/// to the tree reader.)
struct Pairs<'s>(&'s mut Keys);

seed!(Pairs, deserialize_any);

impl<'de> Visitor<'de> for Pairs<'_> {
    type Value = Vec<(String, String)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("pairs")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = self.0.open();
        let mut pairs = Vec::with_capacity(8);
        while let Some(Text(key)) = map.next_key()? {
            self.0.add(&mut object, &key)?;
            let text = match value(&mut map)? {
                Raw::String(s) => s.into_owned(),
                Raw::Array(_) | Raw::Object(_) => return Err(give_up()),
                other => other.to_string(),
            };
            pairs.push((key.into_owned(), text));
        }
        self.0.close(object);
        Ok(pairs)
    }
}

#[cfg(test)]
mod tests {
    use faultline_testkit::corpus::Rng;

    use super::*;

    /// The event as the tree reader reads `text`, or its error.
    fn through_tree(text: &str) -> Result<Event, String> {
        super::super::raw::from_slice(text.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|raw| super::super::from_raw(&raw).map_err(|e| e.to_string()))
    }

    /// The event ids the texts give, as read.
    const IDS: [&str; 2] = [
        "6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01",
        "0123456789abcdef0123456789abcdef",
    ];

    /// What two readings of one text must agree on: all of it, except a
    /// made-up event id and a time taken from the clock.
    fn comparable(e: &Result<Event, String>, clock: Option<f64>) -> String {
        let mut e = e.clone();
        if let Ok(e) = &mut e {
            if !IDS.contains(&e.event_id.as_str()) {
                e.event_id.clear();
            }
            if clock.is_some_and(|t| (e.timestamp - t).abs() < 60.0) {
                e.timestamp = 0.0;
            }
        }
        format!("{e:?}")
    }

    /// Keys of the objects in `extra`, `vars` and the like: some the reader
    /// knows elsewhere, some with dots, escapes or text beyond ASCII.
    const KEYS: &[&str] = &[
        "type",
        "value",
        "frames",
        "vars",
        "values",
        "id",
        "headers",
        "a.b",
        "k\\\\x",
        "\\u00e9t\\u00e9",
        "",
        "x",
        "y",
        "data",
    ];
    const FRAME_KEYS: &[&str] = &[
        "function",
        "module",
        "filename",
        "abs_path",
        "lineno",
        "colno",
        "in_app",
        "vars",
        "context_line",
        "a.b",
    ];
    const EXCEPTION_KEYS: &[&str] = &["type", "value", "module", "stacktrace", "mechanism", "a.b"];
    const USER_KEYS: &[&str] = &["id", "email", "username", "ip_address", "geo", "k\\\\x"];
    const REQUEST_KEYS: &[&str] = &[
        "method",
        "url",
        "query_string",
        "cookies",
        "headers",
        "data",
        "env",
    ];
    const TAG_KEYS: &[&str] = &["service", "region", "a.b", "x", "y", "z"];

    const STRINGS: &[&str] = &[
        "\"\"",
        "\"text\"",
        "\"quote \\\" and \\\\\"",
        "\"\\u00e9\\ud83d\\ude00\"",
        "\"caf\u{e9}\"",
        "\"2024-05-01T10:00:00Z\"",
        "\"a.b\"",
    ];

    fn scalar(rng: &mut Rng) -> String {
        if rng.below(2) == 0 {
            return rng.pick(STRINGS).to_string();
        }
        rng.pick(&[
            "null",
            "true",
            "false",
            "0",
            "-7",
            "42",
            "18446744073709551615",
            "-9223372036854775808",
            "1.5",
            "1e300",
            "-0.0",
            "2.5e-7",
        ])
        .to_string()
    }

    /// Any JSON value, nested up to `depth`.
    fn any(rng: &mut Rng, depth: u32) -> String {
        match rng.below(if depth == 0 { 1 } else { 4 }) {
            0 => scalar(rng),
            1 => {
                let items: Vec<String> = (0..rng.below(4)).map(|_| any(rng, depth - 1)).collect();
                format!("[{}]", items.join(","))
            }
            _ => object(rng, KEYS, |rng, _| any(rng, depth - 1)),
        }
    }

    /// Mostly a string, now and then any value.
    fn text(rng: &mut Rng) -> String {
        match rng.below(20) {
            0 => any(rng, 1),
            _ => rng.pick(STRINGS).to_string(),
        }
    }

    /// An object of keys from `keys`, now and then one given twice, each
    /// value from `value` (given the key).
    fn object(rng: &mut Rng, keys: &[&str], value: impl Fn(&mut Rng, &str) -> String) -> String {
        let mut chosen: Vec<&str> = (0..rng.below(7)).map(|_| *rng.pick(keys)).collect();
        chosen.sort_unstable();
        chosen.dedup();
        if !chosen.is_empty() && rng.below(10) == 0 {
            let again = *rng.pick(&chosen);
            chosen.push(again);
        }
        let members: Vec<String> = chosen
            .iter()
            .map(|k| format!("\"{k}\":{}", value(rng, k)))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    fn list(rng: &mut Rng, item: fn(&mut Rng) -> String) -> String {
        let items: Vec<String> = (0..rng.below(4)).map(|_| item(rng)).collect();
        format!("[{}]", items.join(","))
    }

    fn frame(rng: &mut Rng) -> String {
        object(rng, FRAME_KEYS, |rng, key| match (key, rng.below(10)) {
            (_, 0) => any(rng, 2),
            ("lineno" | "colno", n) => {
                ["3", "-1", "4294967296", "\"7\"", "null"][(n / 4) as usize].to_string()
            }
            ("in_app", _) => scalar(rng),
            ("vars", _) => object(rng, KEYS, |rng, _| any(rng, 2)),
            _ => text(rng),
        })
    }

    fn exception(rng: &mut Rng) -> String {
        object(rng, EXCEPTION_KEYS, |rng, key| match (key, rng.below(20)) {
            (_, 0) => any(rng, 2),
            ("stacktrace", 1) => "null".into(),
            ("stacktrace", n) => {
                let extra = if n == 2 {
                    ",\"registers\":{\"rip\":1}"
                } else {
                    ""
                };
                format!("{{\"frames\":{}{extra}}}", list(rng, frame))
            }
            ("mechanism", _) => any(rng, 2),
            _ => text(rng),
        })
    }

    /// A value for the top-level member `key`.
    fn member(rng: &mut Rng, key: &str) -> String {
        match (key, rng.below(20)) {
            (_, 0) => any(rng, 2),
            ("exception", 1) => "null".into(),
            ("exception", 2) => format!("{{\"values\":{},\"x\":1}}", list(rng, exception)),
            ("exception", 3) => format!("{{\"values\":{}}}", list(rng, exception)),
            ("exception", _) => list(rng, exception),
            ("event_id", n) => [
                "\"6F1C0AD4-A0B9-4C0E-8B2D-2F1F7D7C1A01\"",
                "\"0123456789abcdef0123456789abcdef\"",
                "\"xyz\"",
            ][n as usize % 3]
                .to_string(),
            ("timestamp", n) => [
                "1700000000",
                "1700000000123",
                "\"2023-11-14T22:13:20Z\"",
                "\"soon\"",
                "99999999999",
            ][n as usize % 5]
                .to_string(),
            ("level", n) => ["\"error\"", "\"WARN\"", "\"nope\"", "3"][n as usize % 4].to_string(),
            ("user", 1) | ("request", 1) => "null".into(),
            ("user", _) => object(rng, USER_KEYS, |rng, k| match k {
                "geo" => any(rng, 2),
                _ => text(rng),
            }),
            ("request", _) => object(rng, REQUEST_KEYS, |rng, k| match (k, rng.below(6)) {
                ("headers", 0) => "[[\"A\",\"1\"],[\"B\",2]]".into(),
                ("headers", _) => object(rng, TAG_KEYS, |rng, _| scalar(rng)),
                ("query_string" | "cookies", 1) => object(rng, TAG_KEYS, |rng, _| text(rng)),
                ("data" | "env", _) => any(rng, 2),
                _ => text(rng),
            }),
            ("tags", 1) => "[[\"a\",\"1\"],[\"b\",2]]".into(),
            ("tags", _) => object(rng, TAG_KEYS, |rng, _| scalar(rng)),
            ("message" | "logentry", n) if n < 5 => {
                object(rng, &["formatted", "message", "params"], |rng, k| match k {
                    "params" => any(rng, 2),
                    _ => text(rng),
                })
            }
            ("fingerprint", _) => list(rng, text),
            ("extra" | "contexts", _) => object(rng, KEYS, |rng, _| any(rng, 2)),
            _ => text(rng),
        }
    }

    const TOP: &[&str] = &[
        "event_id",
        "timestamp",
        "level",
        "platform",
        "logger",
        "release",
        "message",
        "logentry",
        "exception",
        "exception",
        "tags",
        "fingerprint",
        "user",
        "request",
        "extra",
        "contexts",
        "a.b",
        "server_name",
    ];

    fn random_event(rng: &mut Rng) -> String {
        object(rng, TOP, member)
    }

    #[test]
    fn reads_every_shape_as_the_tree_reader_does() {
        let mut rng = Rng::new(11);
        let (mut direct, mut given_up) = (0, 0);
        for _ in 0..50_000 {
            let text = random_event(&mut rng);
            let clock = Some(super::super::now());
            let tree = through_tree(&text);
            match event(&text) {
                Some(e) => {
                    direct += 1;
                    assert_eq!(
                        comparable(&Ok(e), clock),
                        comparable(&tree, clock),
                        "{text}"
                    );
                }
                None => given_up += 1,
            }
            let parsed = super::super::parse(text.as_bytes()).map_err(|e| e.to_string());
            assert_eq!(
                comparable(&parsed, clock),
                comparable(&tree, clock),
                "{text}"
            );
        }
        // Both ways are taken often enough to mean something.
        assert!(
            direct > 10_000 && given_up > 10_000,
            "{direct} read, {given_up} given up"
        );
    }

    #[test]
    fn sentry_shaped_events_are_read_without_the_tree() {
        let mut rng = Rng::new(3);
        for i in 0..200 {
            let text = faultline_testkit::corpus::sized_event(i, 2048, &mut rng).to_string();
            assert!(event(&text).is_some(), "{text}");
        }
        for labelled in faultline_testkit::corpus::labelled(200, 7) {
            let text = labelled.event.to_string();
            assert!(event(&text).is_some(), "{text}");
        }
    }

    #[test]
    fn a_key_given_twice_in_any_object_gives_up() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"message":"a","message":null}"#,
            r#"{"extra":{"x":{"y":1},"x":{"z":2}}}"#,
            r#"{"exception":{"values":[],"values":[]}}"#,
            r#"{"exception":[{"stacktrace":{"frames":[{"vars":{"a":1},"vars":{"b":2}}]}}]}"#,
            r#"{"exception":[{"stacktrace":{"frames":[],"frames":[]}}]}"#,
            r#"{"exception":[{"mechanism":{},"mechanism":{"a":1}}]}"#,
            r#"{"tags":{"a":"1","a":"2"}}"#,
        ] {
            assert!(event(text).is_none(), "{text}");
        }
        // A field of its own takes the last value, as the tree does.
        let text = r#"{"exception":[{"type":"E","type":"F"}]}"#;
        assert_eq!(event(text).unwrap().exceptions[0].type_, "F");
        // Past 64 keys an object is the tree reader's.
        let many: Vec<String> = (0..70).map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{\"extra\":{{{}}}}}", many.join(","));
        assert!(event(&text).is_none());
        assert_eq!(
            super::super::parse(text.as_bytes())
                .unwrap()
                .attributes
                .len(),
            70
        );
        let text = format!("{{\"extra\":{{{}}}}}", many[..60].join(","));
        assert_eq!(event(&text).unwrap().attributes.len(), 60);
    }

    #[test]
    fn what_the_tree_reader_refuses_gives_up() {
        for text in [
            "",
            "[1]",
            "{",
            r#"{"a":1} x"#,
            r#"{"level":"nope"}"#,
            r#"{"exception":"x"}"#,
            r#"{"exception":{"values":null}}"#,
            r#"{"exception":[1]}"#,
            r#"{"exception":[{"stacktrace":"x"}]}"#,
            r#"{"exception":[{"stacktrace":{"frames":null}}]}"#,
            r#"{"exception":[{"stacktrace":{"frames":[{"lineno":-1}]}}]}"#,
            r#"{"exception":[{"stacktrace":{"frames":[{"function":[]}]}}]}"#,
            r#"{"exception":[{"type":{}}]}"#,
            r#"{"user":"ann"}"#,
            r#"{"request":{"headers":[["a","b"]]}}"#,
        ] {
            assert!(event(text).is_none(), "{text}");
        }
    }
}
