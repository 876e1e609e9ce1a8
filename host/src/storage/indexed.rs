//! What storing an event reads of its document, parsed from the serialized
//! document without the rest: issue grouping and title, distinct users,
//! counters and the time index look at a dozen top-level keys and, of the
//! exception, only the type, message and four fields of each frame. Keep
//! [`STORED_READS`] in step with `issues.rs` and `counters.rs`; a test
//! compares what they derive from the kept parts with what they derive from
//! whole documents.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value as Json};

/// Which parts of a value to keep.
enum Keep {
    /// The whole value.
    All,
    /// Of an object, these keys (each with what to keep of it); anything
    /// other than an object is kept whole.
    Keys(&'static [(&'static str, Keep)]),
    /// Of an array, this of each item; anything other than an array is kept
    /// whole.
    Items(&'static Keep),
}

const FRAME: Keep = Keep::Keys(&[
    ("in_app", Keep::All),
    ("module", Keep::All),
    ("filename", Keep::All),
    ("function", Keep::All),
]);

const EXCEPTION: Keep = Keep::Keys(&[
    ("type", Keep::All),
    ("value", Keep::All),
    ("stacktrace", Keep::Keys(&[("frames", Keep::Items(&FRAME))])),
]);

/// The parts of an event document that storing it reads.
const STORED_READS: Keep = Keep::Keys(&[
    ("event_id", Keep::All),
    ("timestamp", Keep::All),
    ("level", Keep::All),
    ("message", Keep::All),
    ("transaction", Keep::All),
    ("server_name", Keep::All),
    (
        "exception",
        Keep::Keys(&[("values", Keep::Items(&EXCEPTION))]),
    ),
    ("tags", Keep::All),
    ("user", Keep::All),
    ("fingerprint", Keep::All),
    ("classification", Keep::All),
    ("impact", Keep::All),
]);

/// Reads a value keeping what `.0` says.
struct Kept(&'static Keep);

impl<'de> DeserializeSeed<'de> for Kept {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        match self.0 {
            Keep::All => serde::Deserialize::deserialize(d),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Kept {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let item = match self.0 {
            Keep::Items(item) => *item,
            _ => &Keep::All,
        };
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Kept(item))? {
            items.push(v);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let keys: &[(&str, Keep)] = match self.0 {
            Keep::Keys(keys) => keys,
            _ => &[],
        };
        let everything = !matches!(self.0, Keep::Keys(_));
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match keys.iter().find(|(k, _)| *k == key) {
                Some((_, keep)) => {
                    kept.insert(key.into_owned(), map.next_value_seed(Kept(keep))?);
                }
                None if everything => {
                    kept.insert(key.into_owned(), map.next_value()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Json::Object(kept))
    }
}

/// Reads the parts of a serialized event document that storing it reads.
pub(super) fn stored_reads(bytes: &[u8]) -> serde_json::Result<Json> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let doc = Kept(&STORED_READS).deserialize(&mut de)?;
    de.end()?;
    Ok(doc)
}
