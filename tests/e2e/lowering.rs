//! The host writes each event into a plugin's memory with its own
//! single-borrow lowering (`runtime/lower.rs`), not wasmtime's, and in one
//! block for plugins that allow it: a plugin must see exactly the same event
//! (and a scorer the same classification) every way. It reads each result
//! back with its own lifting (`runtime/lift.rs`): the host must read
//! exactly what wasmtime's code reads.

use std::sync::Arc;

use faultline::runtime::bindings::faultline::plugin::types::{Classification, Event, Severity};
use faultline::runtime::{
    Instance, Lifting, Lowering, Plugin, Runtime, RuntimeOptions, StageOutput, load,
};
use faultline_testkit::corpus::{Rng, labelled, sized_event, with_frame_context};
use serde_json::json;

/// What the echo plugin saw of `event`, lowered as `how` says.
fn seen(instance: &mut Instance, event: &Event, how: Lowering) -> String {
    let mut event = event.clone();
    instance.set_lowering(Some(how));
    assert_eq!(instance.lowering(), how);
    match instance.run(&mut event, None) {
        Ok(StageOutput::Classification(Some(c))) => c.category.concat(),
        other => panic!("the echo plugin returned {other:?}"),
    }
}

/// A test plugin, loaded.
fn plugin(name: &str) -> Arc<Plugin> {
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: None,
        ..RuntimeOptions::default()
    })
    .unwrap();
    let spec = load::PluginSpec::new(
        name,
        load::Source::Path(faultline_testkit::test_plugin(name)),
    );
    Arc::new(Plugin::load(&runtime, spec, Default::default()).unwrap())
}

/// Every kind of value in every place an event can hold one, and the parts
/// left out, empty or absent.
fn edge_cases() -> Vec<serde_json::Value> {
    let full = json!({
        "event_id": "0123456789abcdef0123456789abcdef",
        "timestamp": 1764000000.25,
        "level": "fatal",
        "platform": "rust",
        "logger": "",
        "message": "naïve café ✓ \u{1F600} \"quoted\" \\ back",
        "exception": {"values": [
            {"type": "First", "value": "", "module": "m", "stacktrace": {"frames": [
                {"function": "f", "module": "m", "filename": "f.rs", "abs_path": "/src/f.rs",
                 "lineno": 4294967295u32, "colno": 0, "in_app": true,
                 "vars": {"s": "text", "i": -9223372036854775808i64, "n": -0.5,
                          "b": false, "z": null, "nested": {"deep": [1, "two"]}}},
                {"in_app": false},
                {}
            ]}},
            {"type": "Second"}
        ]},
        "tags": {"a": "1", "": "", "ü": "ß"},
        "user": {"id": "u1", "email": "a@b.example", "username": "", "ip_address": "10.0.0.1"},
        "request": {"method": "POST", "url": "https://x.example/?q=1", "query_string": "q=1",
                    "cookies": "c=1", "headers": {"Accept": "*/*", "X-Empty": ""}},
        "release": "1.0.0",
        "environment": "production",
        "server_name": "host-1",
        "transaction": "POST /checkout",
        "fingerprint": ["{{ default }}", "", "custom"],
        "extra": {"big": 9007199254740993i64, "t": true, "f": 1e300, "list": []},
        "contexts": {"os": {"name": "Linux"}}
    });
    let mut cases = vec![
        full,
        json!({"event_id": "00000000000000000000000000000001"}),
        json!({"event_id": "00000000000000000000000000000002", "user": {}, "request": {},
               "exception": {"values": []}, "tags": {}, "fingerprint": []}),
    ];
    for level in ["debug", "info", "warning", "error"] {
        cases.push(json!({"event_id": "00000000000000000000000000000003", "level": level}));
    }
    cases
}

#[test]
fn a_plugin_sees_the_same_event_however_it_is_lowered() {
    let echo = plugin("echo");
    assert!(echo.argument_block, "the SDK's call arena allows one block");
    let unconfigured = Instance::unconfigured(echo.clone()).unwrap();
    assert_eq!(
        unconfigured.lowering(),
        Lowering::PerValue,
        "not before an export has returned"
    );
    let mut instance = Instance::new(echo, "{}").unwrap();
    assert_eq!(
        instance.lowering(),
        Lowering::OneBlock,
        "the plugin's choice"
    );

    let mut rng = Rng::new(5);
    let mut events = edge_cases();
    for (i, bytes) in [1024, 2048, 5120, 20480].into_iter().enumerate() {
        let mut event = sized_event(i, bytes, &mut rng);
        events.push(event.clone());
        with_frame_context(&mut event);
        events.push(event);
    }
    // More than the call arena's first region (64 KiB): the block is placed
    // in memory of its own.
    events.push(sized_event(4, 150_000, &mut rng));
    events.extend(labelled(40, 3).into_iter().map(|l| l.event));

    // Converted once: an event without a timestamp gets the current time.
    let events: Vec<(serde_json::Value, Event)> = events
        .into_iter()
        .map(|json| {
            let event = faultline::event::from_json(&json).unwrap();
            (json, event)
        })
        .collect();
    for (json, event) in &events {
        let theirs = seen(&mut instance, event, Lowering::Wasmtime);
        for how in [Lowering::PerValue, Lowering::OneBlock] {
            let ours = seen(&mut instance, event, how);
            assert_eq!(ours, theirs, "{how:?} for {json:#}");
        }
        assert!(
            theirs.contains(&event.event_id),
            "the echo is not the event: {theirs}"
        );
    }
    // Many calls on one instance, small and large events in turn: the
    // guest's allocator saw nothing amiss.
    for (_, event) in events.iter().cycle().take(2_000) {
        seen(&mut instance, event, Lowering::OneBlock);
    }
}

#[test]
fn a_scorer_sees_the_same_classification_however_it_is_lowered() {
    let echo = plugin("echo_scorer");
    assert!(echo.argument_block);
    let mut instance = Instance::new(echo, "{}").unwrap();
    let mut rng = Rng::new(7);
    let events: Vec<Event> = edge_cases()
        .into_iter()
        .chain([sized_event(0, 2048, &mut rng)])
        .map(|json| faultline::event::from_json(&json).unwrap())
        .collect();
    let classification = |severity, fingerprint| Classification {
        code: "AVAIL.UPSTREAM.HTTP5XX".into(),
        category: vec!["availability".into(), "".into(), "naïve ✓".into()],
        taxonomy: "faultline-symptom/1".into(),
        severity,
        confidence: 0.75,
        fingerprint,
    };
    let mut classifications = vec![
        None,
        Some(Classification {
            code: String::new(),
            category: Vec::new(),
            taxonomy: String::new(),
            severity: Severity::Low,
            confidence: 0.0,
            fingerprint: Some(Vec::new()),
        }),
    ];
    for severity in [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ] {
        classifications.push(Some(classification(severity, None)));
        classifications.push(Some(classification(
            severity,
            Some(vec!["{{ default }}".into(), "checkout".into()]),
        )));
    }
    let mut seen = |event: &Event, c: Option<&Classification>, how| {
        let mut event = event.clone();
        instance.set_lowering(Some(how));
        assert_eq!(instance.lowering(), how);
        match instance.run(&mut event, c) {
            Ok(StageOutput::Impact(i)) => i.factors[0].detail.clone(),
            other => panic!("the echo scorer returned {other:?}"),
        }
    };
    for event in &events {
        for c in &classifications {
            let theirs = seen(event, c.as_ref(), Lowering::Wasmtime);
            for how in [Lowering::PerValue, Lowering::OneBlock] {
                assert_eq!(seen(event, c.as_ref(), how), theirs, "{how:?} for {c:?}");
            }
            if let Some(c) = c {
                assert!(theirs.contains(&format!("{:?}", c.taxonomy)), "{theirs}");
            }
        }
    }
}

/// Events for the mirror plugins: every edge case, generated events with
/// zero to many tags and attributes, and messages that ask for each plugin
/// error, for a string that is not UTF-8 and for one past the end of the
/// plugin's memory.
fn mirror_events() -> Vec<Event> {
    let mut rng = Rng::new(11);
    let mut events = edge_cases();
    for i in 0..8 {
        events.push(sized_event(i, 1024 + 512 * i, &mut rng));
    }
    events.extend(labelled(60, 9).into_iter().map(|l| l.event));
    events.push(json!({"extra": {"n": null, "s": "", "i": -1, "f": 0.5, "b": false}}));
    // From none to five tags (the generated events have three).
    for (i, event) in events.iter_mut().enumerate() {
        if let Some(tags) = event.get_mut("tags").and_then(|t| t.as_object_mut()) {
            let keys: Vec<String> = tags.keys().cloned().collect();
            for (j, key) in keys.iter().enumerate() {
                if j >= (i + 3) % 6 {
                    tags.remove(key);
                }
            }
            for j in keys.len()..(i + 3) % 6 {
                tags.insert(format!("added.{j}"), json!(format!("value {j}")));
            }
        }
    }
    for message in [
        "error:config:bad key `x`",
        "error:event:naïve ✓",
        "error:internal:",
        "invalid-utf8",
        "out-of-bounds",
    ] {
        events.push(json!({"message": message, "tags": {"k": "v"}}));
    }
    events
        .iter()
        .map(|json| faultline::event::from_json(json).unwrap())
        .collect()
}

/// What a plugin returned for each event, lifted as `how` says; `None`
/// where the call failed for a reason that poisons the instance (a fresh
/// one is made for the next event).
fn returned(name: &str, events: &[Event], how: Lifting) -> Vec<String> {
    let plugin = plugin(name);
    let fresh = || {
        let mut instance = Instance::new(plugin.clone(), "{}").unwrap();
        instance.set_lifting(how);
        instance
    };
    let mut instance = fresh();
    let classification = Classification {
        code: "C".into(),
        category: vec![],
        taxonomy: "t".into(),
        severity: Severity::High,
        confidence: 0.25,
        fingerprint: None,
    };
    events
        .iter()
        .map(|event| {
            let mut event = event.clone();
            let result = instance.run(&mut event, Some(&classification));
            if result.as_ref().is_err_and(|e| e.poisons_instance()) {
                instance = fresh();
            }
            format!("{result:?}")
        })
        .collect()
}

#[test]
fn a_result_reads_the_same_however_it_is_lifted() {
    let events = mirror_events();
    for name in [
        "mirror_classifier",
        "mirror_enricher",
        "mirror_redactor",
        "mirror_scorer",
    ] {
        let theirs = returned(name, &events, Lifting::Wasmtime);
        let ours = returned(name, &events, Lifting::Host);
        for ((ours, theirs), event) in ours.iter().zip(&theirs).zip(&events) {
            assert_eq!(ours, theirs, "{name} for {event:?}");
        }
        // The events gave every shape of result the role has, so each
        // reader was compared on each.
        let all = ours.concat();
        let shapes: &[&str] = match name {
            "mirror_classifier" => &[
                "Classification(None)",
                "Severity::Low",
                "Severity::Medium",
                "Severity::High",
                "Severity::Critical",
                "fingerprint: None",
                "fingerprint: Some",
                "invalid utf-8",
            ],
            "mirror_enricher" => &[
                "Value::Text",
                "Value::Integer",
                "Value::Number",
                "Value::Boolean",
                "Value::Null",
                "tags: []",
                "tags: [(",
            ],
            "mirror_redactor" => &[
                "Redaction::Replace",
                "Redaction::Remove",
                "Edits([])",
                "string pointer/length out of bounds of memory",
            ],
            _ => &[
                "ImpactLevel::Negligible",
                "ImpactLevel::Low",
                "ImpactLevel::Medium",
                "ImpactLevel::High",
                "ImpactLevel::Critical",
                "revenue-at-risk: None",
                "revenue-at-risk: Some",
                "users-affected: None",
                "users-affected: Some",
                "factors: []",
            ],
        };
        let errors = [
            "InvalidConfig(\"bad key `x`\")",
            "InvalidEvent(\"naïve ✓\")",
            "Internal(\"\")",
        ];
        for shape in shapes.iter().chain(&errors) {
            assert!(all.contains(shape), "{name} never returned {shape}");
        }
    }
}
