use serde_json::json;

use super::*;

fn parse(v: Json) -> Event {
    from_json(&v).unwrap()
}

#[test]
fn sentry_python_shape() {
    let e = parse(json!({
        "event_id": "6F1C0AD4-A0B9-4C0E-8B2D-2F1F7D7C1A01",
        "timestamp": "2026-11-25T10:15:00.250+01:00",
        "level": "warn",
        "logentry": {"message": "order %s failed", "params": ["A-1"], "formatted": "order A-1 failed"},
        "exception": {"values": [{"type": "KeyError", "value": "'x'", "mechanism": {"type": "generic", "handled": false},
            "stacktrace": {"frames": [{"function": "f", "lineno": 3, "in_app": true, "context_line": "x = d['x']",
                "vars": {"d": {"a": 1}, "password": "hunter2"}}]}}]},
        "user": {"id": 42, "email": "a@b.io", "name": "Ann"},
        "request": {"url": "https://x/y", "query_string": [["a", "1"], ["b", "2"]], "cookies": {"sid": "s"}, "headers": [["Accept", "*/*"]], "data": {"card": "4111"}},
        "tags": [["env", "prod"]],
        "contexts": {"os": {"name": "Linux"}},
        "extra": {"dotted.key": true}
    }));
    assert_eq!(e.event_id, "6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01");
    assert_eq!(e.timestamp, 1_795_598_100.25);
    assert_eq!(e.level, Level::Warning);
    assert_eq!(e.message.as_deref(), Some("order A-1 failed"));
    let frame = &e.exceptions[0].frames[0];
    assert_eq!(frame.vars.len(), 2);
    assert_eq!(frame.vars[0].key, "d.a");
    assert_eq!(e.user.as_ref().unwrap().id.as_deref(), Some("42"));
    let req = e.request.as_ref().unwrap();
    assert_eq!(req.query_string.as_deref(), Some("a=1&b=2"));
    assert_eq!(req.cookies.as_deref(), Some("sid=s"));
    let keys: Vec<&str> = e.attributes.iter().map(|a| a.key.as_str()).collect();
    for k in [
        "logentry.params.0",
        "exception.values.0.mechanism.type",
        "exception.values.0.stacktrace.frames.0.context_line",
        "user.name",
        "request.data.card",
        "contexts.os.name",
        "extra.dotted\\.key",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
}

#[test]
fn round_trip_keeps_every_field() {
    let input = json!({
        "event_id": "0123456789abcdef0123456789abcdef",
        "timestamp": "2026-01-02T03:04:05.000006Z",
        "level": "error",
        "platform": "rust",
        "message": "boom",
        "exception": {"values": [{"type": "E", "value": "v", "mechanism": {"handled": false},
            "stacktrace": {"frames": [{"function": "a", "lineno": 1, "context_line": "x", "vars": {"k": "v"}}, {"function": "b"}]}}]},
        "tags": {"a": "b"},
        "user": {"id": "1", "segment": "gold"},
        "request": {"method": "GET", "headers": {"H": "v"}, "env": {"REMOTE_ADDR": "1.2.3.4"}},
        "contexts": {"trace": {"trace_id": "t"}},
        "extra": {"list": [1, {"x": null}], "dotted.key": 1.5},
        "fingerprint": ["{{ default }}"]
    });
    let out = to_json(&parse(input.clone()));
    assert_eq!(out, input);
}

#[test]
fn timestamps() {
    let mut attrs = Vec::new();
    assert_eq!(
        parse_timestamp(Some(&raw::from_value(&json!(1_700_000_000))), &mut attrs).unwrap(),
        1_700_000_000.0
    );
    assert_eq!(
        parse_timestamp(
            Some(&raw::from_value(&json!(1_700_000_000_500u64))),
            &mut attrs
        )
        .unwrap(),
        1_700_000_000.5
    );
    assert_eq!(
        parse_timestamp(Some(&raw::from_value(&json!("1700000000"))), &mut attrs).unwrap(),
        1_700_000_000.0
    );
    assert_eq!(
        parse_timestamp(
            Some(&raw::from_value(&json!("2023-11-14T22:13:20"))),
            &mut attrs
        )
        .unwrap(),
        1_700_000_000.0
    );
    let far = parse_timestamp(
        Some(&raw::from_value(&json!("2999-01-01T00:00:00Z"))),
        &mut attrs,
    )
    .unwrap();
    assert!(far < now() + 1.0);
    assert_eq!(attrs[0].key, "_meta.timestamp.original");
    assert!(parse_timestamp(Some(&raw::from_value(&json!("yesterday"))), &mut attrs).is_err());
    assert!(parse_timestamp(Some(&raw::from_value(&json!(-5))), &mut attrs).is_err());
}

/// The digits written in place read as `time`'s formatting does, over the
/// range of dates and at its edges (leap days, the end of a year, the last
/// microsecond of a second, before the epoch, the years it leaves to `time`).
#[test]
fn timestamps_format_as_time_does() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut cases = vec![
        0.0,
        1_700_000_000.0,
        1_700_000_000.5,
        1_700_000_000.999_999,
        951_782_400.0,     // 2000-02-29
        1_709_164_799.25,  // 2024-02-28T23:59:59.25
        1_735_689_599.999, // the last moment of 2024, to the millisecond
        -1.5,
        -62_135_596_800.0, // 0001-01-01
        253_402_300_799.0, // 9999-12-31T23:59:59
        253_402_300_800.0, // 10000-01-01: `time`'s own path
        -62_167_219_201.0, // before year 0: `time`'s own path
        f64::NAN,
        1e300,
    ];
    for _ in 0..10_000 {
        // Any microsecond from 1900 to 2200.
        let micros = (next() % 9_467_280_000_000_000) as i64 - 2_208_988_800_000_000;
        cases.push(micros as f64 / 1e6);
    }
    for ts in cases {
        assert_eq!(format_timestamp(ts), format_timestamp_described(ts), "{ts}");
    }
    assert_eq!(
        format_timestamp(1_700_000_000.25),
        "2023-11-14T22:13:20.250000Z"
    );
}

#[test]
fn bad_fields_name_the_field() {
    let err = |v: Json| from_json(&v).unwrap_err().to_string();
    assert_eq!(
        err(json!([1])),
        "an event must be a JSON object, got an array"
    );
    assert!(
        err(json!({"event_id": "xyz"}))
            .starts_with("field `event_id`: \"xyz\" is not 32 hex digits")
    );
    // 32 characters, one of them outside ASCII, and 32 bytes of which two
    // make one such character: neither is an id.
    for id in [
        "0123456789abcdef0123456789abcde\u{e9}",
        "0123456789abcdef0123456789abcd\u{e9}",
    ] {
        assert!(err(json!({ "event_id": id })).contains("is not 32 hex digits"));
    }
    assert!(err(json!({"level": "loud"})).contains("unknown level \"loud\""));
    assert!(
        err(json!({"message": ["a"]}))
            .starts_with("field `message`: expected a string, got an array")
    );
    assert!(
        err(json!({"exception": {"values": [{"stacktrace": {"frames": [{"lineno": "x"}]}}]}}))
            .starts_with("field `exception.values.0.stacktrace.frames.0.lineno`")
    );
    // Paths inside exceptions and frames are built only when needed; they
    // still name the exception, the frame and the field.
    let frames = |frame: Json| json!({"exception": {"values": [{"type": "E"}, {"type": "F", "stacktrace": {"frames": [{}, frame]}}]}});
    assert_eq!(
        err(frames(json!({"function": ["f"]}))),
        "field `exception.values.1.stacktrace.frames.1.function`: expected a string, got an array"
    );
    assert_eq!(
        err(frames(json!({"colno": -1}))),
        "field `exception.values.1.stacktrace.frames.1.colno`: expected a line or column number, got -1"
    );
    assert_eq!(
        err(frames(json!("f"))),
        "field `exception.values.1.stacktrace.frames.1`: a frame must be an object, got a string"
    );
    assert_eq!(
        err(json!({"exception": {"values": [{}, {"value": {"v": 1}}]}})),
        "field `exception.values.1.value`: expected a string, got an object"
    );
    // A member a frame does not know is kept as an attribute under its path.
    let event = parse(frames(json!({"function": "f", "pre_context": ["a"]})));
    assert!(
        event.attributes.iter().any(|a| a.key
            == "exception.values.1.stacktrace.frames.1.pre_context.0"
            && matches!(&a.value, Value::Text(t) if t == "a")),
        "{:?}",
        event.attributes
    );
}

#[test]
fn missing_id_and_level_get_defaults() {
    let e = parse(json!({"message": "m"}));
    assert_eq!(e.event_id.len(), 32);
    assert_eq!(e.level, Level::Error);
    assert_eq!(e.platform, "other");
}

#[test]
fn nested_members_flatten_to_escaped_paths() {
    let e = parse(json!({
        "extra": {
            "a.b": {"c\\d": [[1, {"": "empty", "e": [true]}], []]},
            "": {"": null},
            "x": {}
        }
    }));
    let flat: Vec<(&str, String)> = e
        .attributes
        .iter()
        .map(|a| (a.key.as_str(), format!("{:?}", a.value)))
        .collect();
    let expected = [
        ("extra.a\\.b.c\\\\d.0.0", "Value::Integer(1)"),
        ("extra.a\\.b.c\\\\d.0.1.", "Value::Text(\"empty\")"),
        ("extra.a\\.b.c\\\\d.0.1.e.0", "Value::Boolean(true)"),
        ("extra..", "Value::Null"),
    ];
    assert_eq!(flat, expected.map(|(k, v)| (k, v.to_string())));
    for (key, _) in &flat {
        assert_eq!(split_path(key)[0], "extra", "{key}");
    }
    assert_eq!(split_path(flat[0].0), ["extra", "a.b", "c\\d", "0", "0"]);
}

#[test]
fn path_escaping() {
    assert_eq!(split_path("a.b\\.c.0"), vec!["a", "b.c", "0"]);
    assert_eq!(escape_segment("x.y\\z"), "x\\.y\\\\z");
    assert_eq!(split_path(&escape_segment("x.y\\z")), vec!["x.y\\z"]);
    // Empty segments, escapes at either end, text beyond ASCII.
    for (path, segments) in [
        ("", &[""][..]),
        (".", &["", ""]),
        ("a..b.", &["a", "", "b", ""]),
        ("\\.a", &[".a"]),
        ("a\\.", &["a."]),
        ("a\\..", &["a.", ""]),
        ("a\\", &["a"]),
        ("é\\ü.ñ", &["éü", "ñ"]),
        ("k\\\\\\..x", &["k\\.", "x"]),
    ] {
        assert_eq!(split_path(path), segments, "{path:?}");
    }
    let split = split_path("extra.a\\.b.c");
    assert!(matches!(split[0], std::borrow::Cow::Borrowed("extra")));
    assert!(matches!(split[2], std::borrow::Cow::Borrowed("c")));
}

/// Reading the text directly gives what reading it into a `serde_json::Value`
/// first gave: same event, same errors.
#[test]
fn text_reads_as_the_json_value_did() {
    let mut texts: Vec<String> = vec![
        r#"{"message":"a","message":"b","tags":{"x":"1","y":"2","x":"3"},"extra":{"k":1,"j":[2,{"q":null}],"k":{"z":true}}}"#.into(),
        r#"{"message":"quote \" and \u00e9 and \\ slash","user":{"id":18446744073709551615,"email":-3,"geo":{"lat":1.5e300}}}"#.into(),
        r#"{"fingerprint":[1,"a",{"b":2},[3]],"request":{"headers":[["A","1"],["A",2]],"query_string":{"q":"x y"}}}"#.into(),
        r#"{"exception":[{"type":"E","stacktrace":{"frames":[{"function":"f","vars":{"a.b":1}}]}}]}"#.into(),
        format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{}\":{i}", i % 25))
                .collect::<Vec<_>>()
                .join(",")
        ),
        r#"{"level":"nope"}"#.into(),
        r#"{"user":"ann"}"#.into(),
        r#"[1,2]"#.into(),
    ];
    let corpus = faultline_testkit::corpus::labelled(200, 7);
    texts.extend(corpus.iter().map(|c| c.event.to_string()));
    for text in &texts {
        let value: Json = serde_json::from_str(text).unwrap();
        let mut direct = crate::event::parse(text.as_bytes());
        let mut via_value = from_json(&value);
        // Both fill a missing event id with a random one.
        for e in [direct.as_mut(), via_value.as_mut()].into_iter().flatten() {
            e.event_id.clear();
            e.timestamp = e.timestamp.floor();
        }
        assert_eq!(format!("{direct:?}"), format!("{via_value:?}"), "{text}");
        let raw = raw::from_slice(text.as_bytes()).unwrap();
        assert_eq!(raw.to_string(), value.to_string(), "{text}");
    }
    let bad = crate::event::parse(b"{\"message\": ")
        .unwrap_err()
        .to_string();
    assert!(bad.starts_with("invalid JSON: EOF while parsing"), "{bad}");
}

#[test]
fn bytes_that_are_not_utf8_are_refused_with_where() {
    // In a string, in a key, and in an array: each is an error that says
    // where, as serde_json reading bytes says it.
    for bad in [
        &b"{\"message\": \"caf\xe9\"}"[..],
        b"{\"m\xffssage\": 1}",
        b"{\"skip\": [\"\xc3\x28\"], \"a\": 1}",
    ] {
        let e = raw::from_slice(bad).unwrap_err().to_string();
        assert!(e.contains("line 1 column"), "{e}");
        assert!(crate::event::parse(bad).is_err());
    }
    // Valid UTF-8 past ASCII reads as it is, and a string without escapes
    // borrows from the input.
    let text = "{\"m\": \"caf\u{e9} \u{1f600}\", \"e\": \"a\\nb\"}";
    let raw = raw::from_slice(text.as_bytes()).unwrap();
    let object = raw.as_object().unwrap();
    assert!(matches!(
        object.get("m"),
        Some(Raw::String(Cow::Borrowed("caf\u{e9} \u{1f600}")))
    ));
    assert!(matches!(object.get("e"), Some(Raw::String(Cow::Owned(s))) if s == "a\nb"));
}

#[test]
fn named_members_read_as_in_the_whole_document() {
    let text = r#"{"a":{"x":[1,"two",{"y":null}]},"skip":{"deep":[1,2,{"z":"\u00e9"}]},"b":"t\"ext","a":{"x":"last"},"c":3}"#;
    let whole = raw::from_slice(text.as_bytes()).unwrap();
    let some =
        raw::members_from_slice(text.as_bytes(), &raw::whole(&["a", "b", "missing"])).unwrap();
    // The members asked for, as the whole reading has them (a repeated key
    // keeps its last value); the others are left out.
    assert_eq!(some.to_string(), r#"{"a":{"x":"last"},"b":"t\"ext"}"#);
    for key in ["a", "b"] {
        assert_eq!(
            some.as_object().unwrap().get(key),
            whole.as_object().unwrap().get(key)
        );
    }
    // What is skipped must still be JSON, and so must the rest of the text.
    for bad in [r#"{"skip":[1,}"#, r#"{"a":1} x"#, r#"[{"a":1}]"#, r#""a""#] {
        assert!(
            raw::members_from_slice(bad.as_bytes(), &raw::whole(&["a"])).is_err(),
            "{bad}"
        );
    }
}

/// The straight reader gives `Reading::member` the members `typed` names
/// and flattens the others itself, so `typed` must name exactly the members
/// `member` does not flatten: checked over Sentry's top-level fields.
#[test]
fn typed_names_the_members_that_are_not_flattened() {
    for key in [
        "event_id",
        "timestamp",
        "level",
        "platform",
        "logger",
        "release",
        "dist",
        "environment",
        "server_name",
        "transaction",
        "message",
        "logentry",
        "exception",
        "tags",
        "fingerprint",
        "user",
        "request",
        "extra",
        "contexts",
        "breadcrumbs",
        "sdk",
        "modules",
        "threads",
        "debug_meta",
        "errors",
        "type",
        "measurements",
        "spans",
    ] {
        let mut reading = Reading::default();
        let _ = reading.member(key, &Raw::Null);
        assert_eq!(typed(key), reading.attributes.is_empty(), "{key}");
    }
}
