//! Builds a [`Raw`] tree from anything serializable, as writing it with
//! `serde_json` and reading the text back would give, without the text.

use std::borrow::Cow;

use serde::ser::{self, Impossible, Serialize};
use serde_json::{Error, Number};

use super::{Keep, Object, Raw};

/// The members named in `keep` of `value`, which serializes as a JSON
/// object, each as far as its [`Keep`] says: what
/// [`members_from_slice`](super::members_from_slice) reads back from
/// `serde_json::to_vec(value)`, built without writing or reading text (the
/// rest is not serialized at all).
pub fn members_of<T: Serialize + ?Sized>(
    value: &T,
    keep: &[(&str, Keep<'_>)],
) -> Result<Raw<'static>, Error> {
    value.serialize(Members(keep))
}

/// Serializes one value as a [`Raw`] tree, as far as its [`Keep`] says.
struct Tree<'k>(Keep<'k>);

/// The top level of [`members_of`]: an object, of which only some members
/// are built.
struct Members<'k>(&'k [(&'k str, Keep<'k>)]);

fn number_f64(v: f64) -> Raw<'static> {
    // `serde_json` writes a non-finite float as `null`.
    Number::from_f64(v).map_or(Raw::Null, Raw::Number)
}

/// A `f32` as its shortest text reads back as a `f64`, as `serde_json`
/// writes and reads it.
fn number_f32(v: f32) -> Raw<'static> {
    if !v.is_finite() {
        return Raw::Null;
    }
    number_f64(v.to_string().parse().unwrap_or(f64::from(v)))
}

fn owned(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_string())
}

/// `{variant: value}`, as `serde_json` writes an enum variant with data
/// (an empty object when the variant's member is not kept).
fn tagged(variant: &'static str, value: Option<Raw<'static>>) -> Raw<'static> {
    Raw::Object(Object(
        value
            .map(|v| (Cow::Borrowed(variant), v))
            .into_iter()
            .collect(),
    ))
}

fn not_an_object() -> Error {
    ser::Error::custom("a document to read members from must be a JSON object")
}

/// Integers are numbers as they are.
macro_rules! integers {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method(self, v: $ty) -> Result<Raw<'static>, Error> {
            Ok(Raw::Number(v.into()))
        })*
    };
}

impl<'k> ser::Serializer for Tree<'k> {
    type Ok = Raw<'static>;
    type Error = Error;
    type SerializeSeq = Seq<'k>;
    type SerializeTuple = Seq<'k>;
    type SerializeTupleStruct = Seq<'k>;
    type SerializeTupleVariant = Seq<'k>;
    type SerializeMap = Map<'k>;
    type SerializeStruct = Map<'k>;
    type SerializeStructVariant = Map<'k>;

    fn serialize_bool(self, v: bool) -> Result<Raw<'static>, Error> {
        Ok(Raw::Bool(v))
    }
    integers!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64)
    );
    fn serialize_f32(self, v: f32) -> Result<Raw<'static>, Error> {
        Ok(number_f32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Raw<'static>, Error> {
        Ok(number_f64(v))
    }
    fn serialize_char(self, v: char) -> Result<Raw<'static>, Error> {
        Ok(Raw::String(Cow::Owned(v.to_string())))
    }
    fn serialize_str(self, v: &str) -> Result<Raw<'static>, Error> {
        Ok(Raw::String(owned(v)))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Raw<'static>, Error> {
        Ok(Raw::Array(
            v.iter()
                .map(|b| Raw::Number(u64::from(*b).into()))
                .collect(),
        ))
    }
    fn serialize_none(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Raw<'static>, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Raw<'static>, Error> {
        Ok(Raw::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Raw<'static>, Error> {
        Ok(Raw::String(Cow::Borrowed(variant)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Raw<'static>, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Raw<'static>, Error> {
        let data = match self.0.member(variant) {
            Some(keep) => Some(value.serialize(Tree(keep))?),
            None => None,
        };
        Ok(tagged(variant, data))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'k>, Error> {
        Ok(Seq {
            items: Vec::with_capacity(len.unwrap_or(0)),
            keep: Some(self.0),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'k>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'k>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'k>, Error> {
        let keep = self.0.member(variant);
        Ok(Seq {
            items: Vec::with_capacity(if keep.is_some() { len } else { 0 }),
            keep,
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map<'k>, Error> {
        Ok(Map::new(len, Some(self.0), None))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map<'k>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Map<'k>, Error> {
        Ok(Map::new(Some(len), self.0.member(variant), Some(variant)))
    }
}

/// An array being built (the items of a variant's data when `variant`).
struct Seq<'k> {
    items: Vec<Raw<'static>>,
    /// How each item is kept; `None` when the variant is not.
    keep: Option<Keep<'k>>,
    variant: Option<&'static str>,
}

impl Seq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if let Some(keep) = self.keep {
            self.items.push(value.serialize(Tree(keep))?);
        }
        Ok(())
    }
    fn done(self) -> Result<Raw<'static>, Error> {
        let array = Raw::Array(self.items);
        Ok(match self.variant {
            Some(variant) => tagged(variant, self.keep.map(|_| array)),
            None => array,
        })
    }
}

/// The four ways of serializing a sequence all push onto a [`Seq`].
macro_rules! seq_impls {
    ($($trait:ident::$method:ident),*) => {
        $(impl ser::$trait for Seq<'_> {
            type Ok = Raw<'static>;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<Raw<'static>, Error> {
                self.done()
            }
        })*
    };
}

seq_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// An object being built, as far as its [`Keep`] says.
struct Map<'k> {
    entries: Vec<(Cow<'static, str>, Raw<'static>)>,
    /// The key of the value to come and how it is kept; `None` while
    /// skipping one.
    key: Option<(Cow<'static, str>, Keep<'k>)>,
    /// How the object is kept; `None` when the variant is not.
    keep: Option<Keep<'k>>,
    variant: Option<&'static str>,
}

impl<'k> Map<'k> {
    fn new(len: Option<usize>, keep: Option<Keep<'k>>, variant: Option<&'static str>) -> Self {
        Map {
            entries: Vec::with_capacity(keep.map_or(0, |k| k.capacity(len))),
            key: None,
            keep,
            variant,
        }
    }

    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), Error> {
        self.key = match self.keep {
            // Skipped whole: only a key that is no string is an error.
            None => key.serialize(KeyText(None)).map(|_| None)?,
            Some(keep) => key.serialize(KeyText(Some(keep)))?,
        };
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if let Some((key, keep)) = self.key.take() {
            self.entries.push((key, value.serialize(Tree(keep))?));
        }
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        if let Some(keep) = self.keep.and_then(|keep| keep.member(key)) {
            self.entries
                .push((Cow::Borrowed(key), value.serialize(Tree(keep))?));
        }
        Ok(())
    }

    fn done(self) -> Result<Raw<'static>, Error> {
        let mut object = Object(self.entries);
        object.dedup();
        let object = Raw::Object(object);
        Ok(match self.variant {
            Some(variant) => tagged(variant, self.keep.map(|_| object)),
            None => object,
        })
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        self.done()
    }
}

/// Methods of a [`ser::Serializer`] that refuse what they are given with
/// `$error()`.
macro_rules! refuse {
    ($error:ident; $($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Error> {
            Err($error())
        })*
    };
}

/// Methods of a [`ser::Serializer`] that refuse sequences, tuples and
/// variants with data with `$error()`.
macro_rules! refuse_compound {
    ($error:ident) => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Error> {
            Err($error())
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
            Err($error())
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            Err($error())
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err($error())
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err($error())
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err($error())
        }
    };
}

/// Serializes an object's key: its text, owned only when the member is kept
/// (with how it is kept); `None` when it is not. `serde_json` writes number
/// and boolean keys as their text.
struct KeyText<'k>(Option<Keep<'k>>);

impl<'k> KeyText<'k> {
    fn kept(self, text: &str) -> Option<(Cow<'static, str>, Keep<'k>)> {
        let keep = self.0?.member(text)?;
        Some((Cow::Owned(text.to_string()), keep))
    }

    fn number(self, n: Raw<'static>) -> Result<Option<(Cow<'static, str>, Keep<'k>)>, Error> {
        match n {
            Raw::Number(n) => Ok(self.kept(&n.to_string())),
            _ => Err(not_a_key()),
        }
    }
}

fn not_a_key() -> Error {
    ser::Error::custom("a JSON object's key must be a string")
}

/// Number keys, written as their text.
macro_rules! number_keys {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method(self, v: $ty) -> Result<Self::Ok, Error> {
            Ok(self.kept(&v.to_string()))
        })*
    };
}

impl<'k> ser::Serializer for KeyText<'k> {
    type Ok = Option<(Cow<'static, str>, Keep<'k>)>;
    type Error = Error;
    type SerializeSeq = Impossible<Self::Ok, Error>;
    type SerializeTuple = Impossible<Self::Ok, Error>;
    type SerializeTupleStruct = Impossible<Self::Ok, Error>;
    type SerializeTupleVariant = Impossible<Self::Ok, Error>;
    type SerializeMap = Impossible<Self::Ok, Error>;
    type SerializeStruct = Impossible<Self::Ok, Error>;
    type SerializeStructVariant = Impossible<Self::Ok, Error>;

    fn serialize_str(self, v: &str) -> Result<Self::Ok, Error> {
        Ok(self.kept(v))
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok, Error> {
        Ok(self.kept(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_bool(self, v: bool) -> Result<Self::Ok, Error> {
        Ok(self.kept(if v { "true" } else { "false" }))
    }
    number_keys!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64)
    );
    fn serialize_f32(self, v: f32) -> Result<Self::Ok, Error> {
        self.number(number_f32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok, Error> {
        self.number(number_f64(v))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Error> {
        Ok(self.kept(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Error> {
        value.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Error> {
        value.serialize(self)
    }
    refuse! {
        not_a_key;
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
    }
    refuse_compound!(not_a_key);
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_key())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_key())
    }
}

/// A struct and a struct variant both build a [`Map`] of their fields.
macro_rules! struct_impls {
    ($($trait:ident),*) => {
        $(impl ser::$trait for Map<'_> {
            type Ok = Raw<'static>;
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<Raw<'static>, Error> {
                self.done()
            }
        })*
    };
}

struct_impls!(SerializeStruct, SerializeStructVariant);

impl<'k> ser::Serializer for Members<'k> {
    type Ok = Raw<'static>;
    type Error = Error;
    type SerializeSeq = Impossible<Raw<'static>, Error>;
    type SerializeTuple = Impossible<Raw<'static>, Error>;
    type SerializeTupleStruct = Impossible<Raw<'static>, Error>;
    type SerializeTupleVariant = Impossible<Raw<'static>, Error>;
    type SerializeMap = Map<'k>;
    type SerializeStruct = Map<'k>;
    type SerializeStructVariant = Impossible<Raw<'static>, Error>;

    refuse! {
        not_an_object;
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Raw<'static>, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Raw<'static>, Error> {
        value.serialize(self)
    }
    refuse_compound!(not_an_object);
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'k>, Error> {
        Ok(Map::new(None, Some(Keep::Members(self.0)), None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Map<'k>, Error> {
        Ok(Map::new(None, Some(Keep::Members(self.0)), None))
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::*;
    use crate::event::raw::{members_from_slice, whole};

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(i8),
        Tuple(u16, f32),
        Struct { a: char, b: Option<()> },
    }

    #[derive(Serialize)]
    struct Doc<'a> {
        id: &'a str,
        shapes: Vec<Shape>,
        numbers: (i64, u64, f32, f64, f64),
        #[serde(with = "serde_bytes_like")]
        bytes: &'a [u8],
        map: std::collections::BTreeMap<u32, bool>,
        skipped: Vec<Shape>,
        id2: &'a str,
    }

    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn every_kind_of_value_reads_as_its_json_text_would() {
        let doc = Doc {
            id: "e\"1\u{1F4B3}",
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(-3),
                Shape::Tuple(7, 0.8),
                Shape::Struct { a: 'x', b: None },
            ],
            numbers: (-5, u64::MAX, f32::NAN, 0.1, f64::INFINITY),
            bytes: &[0, 255],
            map: [(1, true), (20, false)].into(),
            skipped: vec![Shape::Unit],
            id2: "",
        };
        let text = serde_json::to_vec(&doc).unwrap();
        let keep = ["id", "shapes", "numbers", "bytes", "map", "id2"];
        let built = members_of(&doc, &whole(&keep)).unwrap();
        assert_eq!(built, members_from_slice(&text, &whole(&keep)).unwrap());
        let Raw::Object(object) = &built else {
            panic!("{built:?}")
        };
        assert!(object.get("skipped").is_none(), "not kept");
        // 0.8f32 reads back as the f64 0.8, as its shortest text does.
        assert_eq!(
            object.get("shapes").unwrap().to_string(),
            r#"["Unit",{"Newtype":-3},{"Tuple":[7,0.8]},{"Struct":{"a":"x","b":null}}]"#
        );
    }

    #[test]
    fn nested_members_are_built_as_far_as_kept() {
        use Keep::{All, Members};
        let doc = Doc {
            id: "e1",
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(-3),
                Shape::Tuple(7, 0.8),
                Shape::Struct { a: 'x', b: None },
            ],
            numbers: (-5, 6, 0.5, 0.1, 2.0),
            bytes: &[1],
            map: [(1, true), (20, false)].into(),
            skipped: vec![],
            id2: "",
        };
        let text = serde_json::to_vec(&doc).unwrap();
        // An array's items are kept as the array is; of each variant's
        // object only the members named; a scalar whole.
        let variants = Members(&[("Newtype", All), ("Struct", Members(&[("b", All)]))]);
        let keep = [
            ("id", Members(&[("x", All)])),
            ("shapes", variants),
            ("map", Members(&[("20", All), ("3", All)])),
        ];
        let built = members_of(&doc, &keep).unwrap();
        assert_eq!(built, members_from_slice(&text, &keep).unwrap());
        assert_eq!(
            built.to_string(),
            r#"{"id":"e1","shapes":["Unit",{"Newtype":-3},{},{"Struct":{"b":null}}],"map":{"20":false}}"#
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_last_value() {
        struct Twice;
        impl Serialize for Twice {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("a", &1)?;
                map.serialize_entry("b", &json!({"x": 1, "x": 2}))?;
                map.serialize_entry("a", &3)?;
                map.end()
            }
        }
        let built = members_of(&Twice, &whole(&["a", "b"])).unwrap();
        assert_eq!(built.to_string(), r#"{"a":3,"b":{"x":2}}"#);
        let text = serde_json::to_vec(&Twice).unwrap();
        assert_eq!(
            built,
            members_from_slice(&text, &whole(&["a", "b"])).unwrap()
        );
    }

    #[test]
    fn only_an_object_has_members() {
        for value in [json!([1]), json!("a"), json!(null), json!(1)] {
            let err = members_of(&value, &whole(&["a"])).unwrap_err();
            assert!(err.to_string().contains("must be a JSON object"), "{err}");
        }
        assert_eq!(
            members_of(&json!({}), &whole(&["a"])).unwrap().to_string(),
            "{}"
        );
    }
}
