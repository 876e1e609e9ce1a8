//! A JSON tree for reading an incoming event once: strings borrow from the
//! input where they have no escapes, and objects are their entries in order
//! (no hashing, one allocation per object). Converting it to the typed event
//! allocates only what the event keeps.
//!
//! It reads as `serde_json::Value` (with `preserve_order`) would: a key given
//! twice keeps its first position and its last value.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Number;

mod serialize;

pub use serialize::members_of;

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(Number),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Raw<'a>>),
    /// An object.
    Object(Object<'a>),
}

/// What to build of a JSON value: all of it, or, of an object, only the
/// members named, each as its own `Keep` says. An array's items are each
/// kept as the array is; any other value is kept whole either way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keep<'k> {
    /// The whole value.
    All,
    /// Of an object, only these members.
    Members(&'k [(&'k str, Keep<'k>)]),
}

impl<'k> Keep<'k> {
    /// How to keep the member `key` of an object kept this way (`None`: not
    /// at all).
    fn member(self, key: &str) -> Option<Keep<'k>> {
        match self {
            Keep::All => Some(Keep::All),
            Keep::Members(members) => members.iter().find(|(k, _)| *k == key).map(|(_, k)| *k),
        }
    }

    /// How many members to make room for in an object kept this way, given
    /// a hint. Without one (serde_json gives none), room for eight: an
    /// event's objects (frames, requests, users) mostly have up to eight
    /// members, and growing from nothing took three allocations and two
    /// copies for each.
    fn capacity(self, hint: Option<usize>) -> usize {
        match self {
            Keep::All => hint.unwrap_or(8).min(64),
            Keep::Members(members) => members.len(),
        }
    }
}

/// Each of `names` kept whole.
#[cfg(test)]
pub(crate) fn whole<'k>(names: &[&'k str]) -> Vec<(&'k str, Keep<'k>)> {
    names.iter().map(|n| (*n, Keep::All)).collect()
}

/// An object's entries, in order, each key once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a>(Vec<(Cow<'a, str>, Raw<'a>)>);

impl<'a> Object<'a> {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Raw<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Raw<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Sets `key`: in its place if the object has it, else last.
    pub fn insert(&mut self, key: &str, value: Raw<'a>) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((Cow::Owned(key.to_string()), value)),
        }
    }

    /// Keeps the first position and the last value of a repeated key.
    fn dedup(&mut self) {
        let entries = &self.0;
        let repeated = if entries.len() <= 16 {
            (1..entries.len()).any(|i| entries[..i].iter().any(|(k, _)| *k == entries[i].0))
        } else {
            let mut seen = std::collections::HashSet::with_capacity(entries.len());
            !entries.iter().all(|(k, _)| seen.insert(k.as_ref()))
        };
        if !repeated {
            return;
        }
        let mut index: std::collections::HashMap<Cow<'a, str>, usize> =
            std::collections::HashMap::with_capacity(entries.len());
        let mut unique: Vec<(Cow<'a, str>, Raw<'a>)> = Vec::with_capacity(entries.len());
        for (k, v) in std::mem::take(&mut self.0) {
            match index.get(&k) {
                Some(&at) => unique[at].1 = v,
                None => {
                    index.insert(k.clone(), unique.len());
                    unique.push((k, v));
                }
            }
        }
        self.0 = unique;
    }
}

impl<'a> Raw<'a> {
    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Raw::String(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if it is an array.
    pub fn as_array(&self) -> Option<&[Raw<'a>]> {
        match self {
            Raw::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if it is an object.
    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Raw::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Raw::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether it is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Raw::Null)
    }

    /// The same value, owning its strings.
    pub fn into_owned(self) -> Raw<'static> {
        match self {
            Raw::Null => Raw::Null,
            Raw::Bool(b) => Raw::Bool(b),
            Raw::Number(n) => Raw::Number(n),
            Raw::String(s) => Raw::String(Cow::Owned(s.into_owned())),
            Raw::Array(items) => Raw::Array(items.into_iter().map(Raw::into_owned).collect()),
            Raw::Object(Object(entries)) => Raw::Object(Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            )),
        }
    }

    /// Its kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Bool(_) => "a boolean",
            Raw::Number(_) => "a number",
            Raw::String(_) => "a string",
            Raw::Array(_) => "an array",
            Raw::Object(_) => "an object",
        }
    }
}

/// Compact JSON, as `serde_json::Value` displays.
impl fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Raw::Null => s.serialize_unit(),
            Raw::Bool(b) => s.serialize_bool(*b),
            Raw::Number(n) => n.serialize(s),
            Raw::String(text) => s.serialize_str(text),
            Raw::Array(items) => s.collect_seq(items),
            Raw::Object(object) => {
                let mut map = s.serialize_map(Some(object.0.len()))?;
                for (k, v) in &object.0 {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

/// A string that borrows from the input when it can.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// Builds a value, or of an object only the members its [`Keep`] names
/// (checking that the others are JSON without building them).
struct RawVisitor<'k>(Keep<'k>);

impl<'de> Visitor<'de> for RawVisitor<'_> {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        Kept(self.0).deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw<'de>, E> {
        Ok(Raw::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw<'de>, E> {
        Ok(Number::from_f64(v).map_or(Raw::Null, Raw::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Kept(self.0))? {
            items.push(item);
        }
        Ok(Raw::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut entries = Vec::with_capacity(self.0.capacity(map.size_hint()));
        while let Some(Text(key)) = map.next_key()? {
            match self.0.member(&key) {
                Some(keep) => entries.push((key, map.next_value_seed(Kept(keep))?)),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut object = Object(entries);
        object.dedup();
        Ok(Raw::Object(object))
    }
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor(Keep::All))
    }
}

/// Reads a value, building only what its [`Keep`] says.
struct Kept<'k>(Keep<'k>);

impl<'de> DeserializeSeed<'de> for Kept<'_> {
    type Value = Raw<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_any(RawVisitor(self.0))
    }
}

/// Reads one JSON document.
///
/// The bytes are checked to be UTF-8 once, as a whole, and then read as
/// text: serde_json reading bytes checks each string on its own, a call per
/// string, which cost more than the one pass. Bytes that are not UTF-8 are
/// read as bytes, so the error is serde_json's own, with its line and
/// column.
pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Raw<'_>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Reads JSON text.
pub fn from_str(text: &str) -> serde_json::Result<Raw<'_>> {
    serde_json::from_str(text)
}

/// Reads the members named in `keep` of a document that is one JSON object,
/// each as far as its [`Keep`] says, and only checks that the rest is JSON,
/// without building it. A document that is not an object is an error. Meant
/// for documents this host wrote: it reads them however deep they are
/// (events are read with the JSON reader's depth limit on the way in;
/// writing them out can add a level or two).
pub fn members_from_slice<'a>(
    bytes: &'a [u8],
    keep: &[(&str, Keep<'_>)],
) -> serde_json::Result<Raw<'a>> {
    struct Members<'k>(&'k [(&'k str, Keep<'k>)]);
    impl<'de> DeserializeSeed<'de> for Members<'_> {
        type Value = Raw<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Members<'_> {
        type Value = Raw<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Raw<'de>, A::Error> {
            RawVisitor(Keep::Members(self.0)).visit_map(map)
        }
    }
    fn read<'a, R: serde_json::de::Read<'a>>(
        mut de: serde_json::Deserializer<R>,
        keep: Members<'_>,
    ) -> serde_json::Result<Raw<'a>> {
        de.disable_recursion_limit();
        let raw = keep.deserialize(&mut de)?;
        de.end()?;
        Ok(raw)
    }
    // As in `from_slice`: UTF-8 checked once, not string by string.
    match std::str::from_utf8(bytes) {
        Ok(text) => read(serde_json::Deserializer::from_str(text), Members(keep)),
        Err(_) => read(serde_json::Deserializer::from_slice(bytes), Members(keep)),
    }
}

/// Reads an already parsed value, borrowing its strings.
pub fn from_value(v: &serde_json::Value) -> Raw<'_> {
    Raw::deserialize(v).unwrap_or_else(|e| unreachable!("a JSON value reads as one: {e}"))
}
