//! The written document against the tree the event used to be built as
//! (kept here as the reference): the same bytes for events whose attributes
//! collide with typed fields in every way a path can.

use serde_json::{Map, Value as Json};

use super::*;
use crate::runtime::bindings::faultline::plugin::types::{
    Attribute, Event, Exception, Frame, Level, Request, User, Value,
};

fn put(map: &mut Map<String, Json>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        map.insert(key.into(), Json::String(v.clone()));
    }
}

fn json_of(value: &Value) -> Json {
    match value {
        Value::Text(s) => Json::String(s.clone()),
        Value::Integer(i) => Json::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Null => Json::Null,
    }
}

fn pairs_json(pairs: &[(String, String)]) -> Json {
    Json::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect(),
    )
}

/// Renders an event as Sentry-shaped JSON, attributes merged back in place.
fn reference(e: &Event) -> Json {
    // Sized for the typed fields plus `classification`, `impact` and
    // `provenance`, which the output document adds: no rehashing on the way.
    let mut out = Map::with_capacity(24);
    out.insert("event_id".into(), Json::String(e.event_id.clone()));
    out.insert(
        "timestamp".into(),
        Json::String(format_timestamp(e.timestamp)),
    );
    out.insert("level".into(), Json::String(level_name(e.level).into()));
    out.insert("platform".into(), Json::String(e.platform.clone()));
    put(&mut out, "logger", &e.logger);
    put(&mut out, "message", &e.message);
    put(&mut out, "release", &e.release);
    put(&mut out, "environment", &e.environment);
    put(&mut out, "server_name", &e.server_name);
    put(&mut out, "transaction", &e.transaction);
    if !e.exceptions.is_empty() {
        let values: Vec<Json> = e
            .exceptions
            .iter()
            .map(|x| {
                let mut m = Map::with_capacity(4);
                m.insert("type".into(), Json::String(x.type_.clone()));
                put(&mut m, "value", &x.value);
                put(&mut m, "module", &x.module);
                if !x.frames.is_empty() {
                    let frames: Vec<Json> = x
                        .frames
                        .iter()
                        .map(|f| {
                            let mut fm = Map::with_capacity(8);
                            put(&mut fm, "function", &f.function);
                            put(&mut fm, "module", &f.module);
                            put(&mut fm, "filename", &f.filename);
                            put(&mut fm, "abs_path", &f.abs_path);
                            if let Some(l) = f.lineno {
                                fm.insert("lineno".into(), Json::from(l));
                            }
                            if let Some(c) = f.colno {
                                fm.insert("colno".into(), Json::from(c));
                            }
                            if let Some(b) = f.in_app {
                                fm.insert("in_app".into(), Json::Bool(b));
                            }
                            if !f.vars.is_empty() {
                                let mut vars = Json::Object(Map::new());
                                for v in &f.vars {
                                    reference_insert(&mut vars, &v.key, json_of(&v.value));
                                }
                                fm.insert("vars".into(), vars);
                            }
                            Json::Object(fm)
                        })
                        .collect();
                    let mut st = Map::new();
                    st.insert("frames".into(), Json::Array(frames));
                    m.insert("stacktrace".into(), Json::Object(st));
                }
                Json::Object(m)
            })
            .collect();
        let mut exc = Map::new();
        exc.insert("values".into(), Json::Array(values));
        out.insert("exception".into(), Json::Object(exc));
    }
    if !e.tags.is_empty() {
        out.insert("tags".into(), pairs_json(&e.tags));
    }
    if let Some(u) = &e.user {
        let mut m = Map::new();
        put(&mut m, "id", &u.id);
        put(&mut m, "email", &u.email);
        put(&mut m, "username", &u.username);
        put(&mut m, "ip_address", &u.ip_address);
        out.insert("user".into(), Json::Object(m));
    }
    if let Some(r) = &e.request {
        let mut m = Map::new();
        put(&mut m, "method", &r.method);
        put(&mut m, "url", &r.url);
        put(&mut m, "query_string", &r.query_string);
        put(&mut m, "cookies", &r.cookies);
        if !r.headers.is_empty() {
            m.insert("headers".into(), pairs_json(&r.headers));
        }
        out.insert("request".into(), Json::Object(m));
    }
    if !e.fingerprint.is_empty() {
        out.insert(
            "fingerprint".into(),
            Json::Array(e.fingerprint.iter().cloned().map(Json::String).collect()),
        );
    }
    let mut root = Json::Object(out);
    for a in &e.attributes {
        reference_insert(&mut root, &a.key, json_of(&a.value));
    }
    root
}

fn reference_insert(root: &mut Json, path: &str, value: Json) {
    let mut segments = split_path(path).into_iter().peekable();
    let mut value = Some(value);
    let mut node = root;
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        let next_is_index = segments
            .peek()
            .is_some_and(|s| s == "0" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())));
        let fresh = || {
            if next_is_index {
                Json::Array(Vec::new())
            } else {
                Json::Object(Map::new())
            }
        };
        node = match node {
            Json::Object(map) => {
                if last {
                    map.entry(seg)
                        .or_insert_with(|| value.take().unwrap_or(Json::Null));
                    return;
                }
                map.entry(seg).or_insert_with(fresh)
            }
            Json::Array(items) => {
                let Ok(idx) = seg.parse::<usize>() else {
                    return;
                };
                if idx > items.len() {
                    return;
                }
                if idx == items.len() {
                    items.push(if last {
                        value.take().unwrap_or(Json::Null)
                    } else {
                        fresh()
                    });
                    if last {
                        return;
                    }
                } else if last {
                    return;
                }
                &mut items[idx]
            }
            _ => return,
        };
    }
}

/// A small deterministic generator (xorshift), so a failure reproduces.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn text(&mut self) -> Option<String> {
        self.chance(60)
            .then(|| self.pick(&["a", "b", "x.y", "ü", ""]).to_string())
    }
}

const SEGMENTS: &[&str] = &[
    "exception",
    "values",
    "stacktrace",
    "frames",
    "vars",
    "0",
    "1",
    "2",
    "3",
    "01",
    "+1",
    "type",
    "value",
    "module",
    "mechanism",
    "function",
    "lineno",
    "in_app",
    "tags",
    "env",
    "user",
    "id",
    "email",
    "geo",
    "request",
    "headers",
    "Accept",
    "method",
    "data",
    "fingerprint",
    "event_id",
    "logger",
    "message",
    "contexts",
    "classification",
    "project",
    "x",
    "a.b",
    "c\\d",
    "",
];

fn path(rng: &mut Rng) -> String {
    let n = || "0123".as_bytes();
    let mut segments: Vec<String> = if rng.chance(60) {
        let i = (n()[rng.below(4)] as char).to_string();
        let j = (n()[rng.below(4)] as char).to_string();
        let prefixes: [Vec<&str>; 8] = [
            vec!["exception", "values", &i],
            vec!["exception", "values", &i, "stacktrace", "frames", &j],
            vec![
                "exception",
                "values",
                &i,
                "stacktrace",
                "frames",
                &j,
                "vars",
            ],
            vec!["exception"],
            vec!["request", "headers"],
            vec!["user"],
            vec!["tags"],
            vec!["fingerprint"],
        ];
        let prefix = &prefixes[rng.below(prefixes.len())];
        prefix.iter().map(|s| s.to_string()).collect()
    } else {
        Vec::new()
    };
    for _ in 0..=rng.below(3) {
        segments.push(rng.pick(SEGMENTS).to_string());
    }
    let escaped: Vec<String> = segments.iter().map(|s| escape_segment(s)).collect();
    escaped.join(".")
}

fn value(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::Text("t".into()),
        1 => Value::Integer(-7),
        2 => Value::Number(1.5),
        3 => Value::Number(f64::NAN),
        4 => Value::Boolean(true),
        _ => Value::Null,
    }
}

fn attributes(rng: &mut Rng, max: usize) -> Vec<Attribute> {
    (0..rng.below(max + 1))
        .map(|_| Attribute {
            key: path(rng),
            value: value(rng),
        })
        .collect()
}

fn pairs(rng: &mut Rng) -> Vec<(String, String)> {
    // Now and then a long list, repeated names included.
    let n = if rng.chance(5) {
        17 + rng.below(40)
    } else {
        rng.below(4)
    };
    (0..n)
        .map(|_| {
            let k = rng.pick(&["env", "Accept", "x", "a.b"]).to_string();
            (k, rng.pick(&["1", "2"]).to_string())
        })
        .collect()
}

/// An event whose optional parts, attributes and frame variables vary,
/// attribute paths colliding with typed fields included.
pub(crate) fn event(rng: &mut Rng) -> Event {
    let frame = |rng: &mut Rng| Frame {
        function: rng.text(),
        module: rng.text(),
        filename: rng.text(),
        abs_path: rng.text(),
        lineno: rng.chance(50).then_some(3),
        colno: rng.chance(30).then_some(9),
        in_app: rng.chance(50).then_some(false),
        vars: {
            let max = if rng.chance(5) { 40 } else { 3 };
            attributes(rng, max)
        },
    };
    let exception = |rng: &mut Rng| Exception {
        type_: "E".into(),
        value: rng.text(),
        module: rng.text(),
        frames: (0..rng.below(4)).map(|_| frame(rng)).collect(),
    };
    Event {
        event_id: "0".repeat(32),
        timestamp: 1_795_598_100.25,
        level: Level::Error,
        platform: "python".into(),
        logger: rng.text(),
        message: rng.text(),
        exceptions: (0..rng.below(4)).map(|_| exception(rng)).collect(),
        tags: pairs(rng),
        user: rng.chance(60).then(|| User {
            id: rng.text(),
            email: rng.text(),
            username: rng.text(),
            ip_address: rng.text(),
        }),
        request: rng.chance(60).then(|| Request {
            method: rng.text(),
            url: rng.text(),
            query_string: rng.text(),
            cookies: rng.text(),
            headers: pairs(rng),
        }),
        fingerprint: (0..rng.below(3)).map(|_| "f".to_string()).collect(),
        release: rng.text(),
        environment: rng.text(),
        server_name: rng.text(),
        transaction: rng.text(),
        attributes: {
            // Now and then enough for objects past the size trees index at.
            let max = if rng.chance(10) { 80 } else { 12 };
            attributes(rng, max)
        },
    }
}

/// Two keys after the event's own, as the processed output has.
struct TwoKeys;

impl Tail for TwoKeys {
    fn keys(&self) -> &[&'static str] {
        &["classification", "project"]
    }
    fn value<M: serde::ser::SerializeMap>(
        &self,
        index: usize,
        map: &mut M,
    ) -> Result<(), M::Error> {
        map.serialize_value(&["c", "p"][index])
    }
}

#[test]
fn written_document_matches_the_reference_tree() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..20_000 {
        let e = event(&mut rng);
        let want = reference(&e);
        let got = serde_json::to_string(&Document::new(&e)).unwrap();
        assert_eq!(got, want.to_string(), "case {case}: {e:?}");
        assert_eq!(to_json(&e).to_string(), want.to_string(), "case {case}");
        let mut with_tail = want;
        let map = with_tail.as_object_mut().unwrap();
        map.insert("classification".into(), "c".into());
        map.insert("project".into(), "p".into());
        let got = serde_json::to_string(&Document::with_tail(&e, TwoKeys)).unwrap();
        assert_eq!(got, with_tail.to_string(), "case {case} with a tail: {e:?}");
    }
}

/// What storing derives is read from the members a document serializes
/// into, not from its text: both readings must be the same tree.
#[test]
fn members_built_while_serializing_are_what_reading_the_text_gives() {
    use crate::event::raw::{members_from_slice, members_of, whole};
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let some = ["event_id", "exception", "user", "tags", "project", "x"];
    for case in 0..5_000 {
        let e = event(&mut rng);
        let doc = Document::with_tail(&e, TwoKeys);
        let text = serde_json::to_vec(&doc).unwrap();
        // Every member the document has, and one it has not.
        let all = crate::event::raw::from_slice(&text).unwrap();
        let mut every: Vec<&str> = all.as_object().unwrap().iter().map(|(k, _)| k).collect();
        every.push("absent");
        for keep in [
            &whole(&every)[..],
            &whole(&some)[..],
            &[],
            crate::storage::indexing::READS,
        ] {
            let built = members_of(&doc, keep).unwrap();
            let read = members_from_slice(&text, keep).unwrap();
            assert_eq!(built, read, "case {case}, keeping {keep:?}: {e:?}");
        }
    }
}
