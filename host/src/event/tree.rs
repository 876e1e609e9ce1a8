//! JSON trees rebuilt from flattened paths, to be written out: keys borrowed
//! from the paths, values from the event, objects in first-insertion order.
//!
//! What attributes add to a document, and a frame's variables, are such
//! trees. Built as `serde_json` values they cost a copy of every key and
//! string and a SipHash per key and level; objects here are searched in
//! place while small, and indexed once they grow.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::is_index;
use crate::runtime::bindings::faultline::plugin::types::Value;

/// A value, object or array of a tree.
pub(crate) enum Node<'a> {
    Value(&'a Value),
    Object(Object<'a>),
    Array(Vec<Node<'a>>),
}

/// Objects past this many keys get an index.
const INDEXED_FROM: usize = 16;

/// An object's keys and nodes, in the order the keys first came.
#[derive(Default)]
pub(crate) struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Node<'a>)>,
    /// Where each key is, once there are more than [`INDEXED_FROM`].
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a> Object<'a> {
    /// The keys and nodes, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    fn push(&mut self, key: Cow<'a, str>, node: Node<'a>) -> usize {
        let at = self.entries.len();
        match &mut self.index {
            Some(index) => {
                index.insert(key.clone(), at);
            }
            None if at >= INDEXED_FROM => {
                let mut index: HashMap<_, _> = (self.entries.iter().enumerate())
                    .map(|(i, (k, _))| (k.clone(), i))
                    .collect();
                index.insert(key.clone(), at);
                self.index = Some(index);
            }
            None => {}
        }
        self.entries.push((key, node));
        at
    }

    /// Sets the value at `segments` below this object: creates objects (or,
    /// for numeric segments, arrays) on the way, never replaces what is
    /// there (typed fields win over attributes), and drops a value whose
    /// path runs into a scalar or skips an index.
    pub(crate) fn insert(&mut self, segments: &[Cow<'a, str>], value: &'a Value) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        let at = match self.position(first) {
            Some(_) if rest.is_empty() => return,
            Some(at) => at,
            None => self.push(first.clone(), Node::fresh(rest, value)),
        };
        if !rest.is_empty() {
            self.entries[at].1.insert(rest, value);
        }
    }
}

impl<'a> Node<'a> {
    /// The node for a key or index that does not exist yet: `value` when
    /// `rest` is empty, else the container `rest`'s first segment needs.
    fn fresh(rest: &[Cow<'a, str>], value: &'a Value) -> Node<'a> {
        match rest.first() {
            None => Node::Value(value),
            Some(next) if is_index(next) => Node::Array(Vec::new()),
            Some(_) => Node::Object(Object::default()),
        }
    }

    /// Sets the value at `segments` below this node; see [`Object::insert`].
    pub(crate) fn insert(&mut self, segments: &[Cow<'a, str>], value: &'a Value) {
        match self {
            Node::Object(object) => object.insert(segments, value),
            Node::Array(items) => insert_in_array(items, segments, value),
            Node::Value(_) => {}
        }
    }
}

/// Sets the value at `segments` below an array: the first segment is an
/// index that exists or is the next one.
pub(crate) fn insert_in_array<'a>(
    items: &mut Vec<Node<'a>>,
    segments: &[Cow<'a, str>],
    value: &'a Value,
) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let Ok(index) = first.parse::<usize>() else {
        return;
    };
    if index == items.len() {
        items.push(Node::fresh(rest, value));
        if rest.is_empty() {
            return;
        }
    } else if index > items.len() || rest.is_empty() {
        return;
    }
    items[index].insert(rest, value);
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Value(Value::Text(text)) => s.serialize_str(text),
            // As `serde_json::Value` writes them: unsigned when not negative.
            Node::Value(Value::Integer(i)) => match u64::try_from(*i) {
                Ok(u) => s.serialize_u64(u),
                Err(_) => s.serialize_i64(*i),
            },
            Node::Value(Value::Number(n)) if n.is_finite() => s.serialize_f64(*n),
            Node::Value(Value::Number(_) | Value::Null) => s.serialize_unit(),
            Node::Value(Value::Boolean(b)) => s.serialize_bool(*b),
            Node::Object(object) => object.serialize(s),
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

impl Serialize for Object<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
