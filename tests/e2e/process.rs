//! `faultline process` with the built-in default chain and the example config.

use crate::support::{events, faultline, repo, temp_dir, write};

#[test]
fn default_chain_enriches_redacts_classifies_and_scores_the_samples() {
    let input = std::fs::read_to_string(repo().join("examples/events.ndjson")).unwrap();
    let run = faultline(&["process"], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    assert_eq!(out.len(), 4);
    for secret in [
        "jane.doe@example.com",
        "4111 1111 1111 1111",
        "203.0.113.42",
        "eyJhbGciOiJIUzI1NiJ9",
        "tok_1MqLb2",
        "+44 20 7946 0958",
        "bob@corp.example",
    ] {
        assert!(
            !run.stdout.contains(secret),
            "{secret} leaked into the output"
        );
    }
    let first = &out[0];
    assert_eq!(first["event_id"], "6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01");
    assert_eq!(first["message"], "payment failed for [email]");
    assert_eq!(first["user"]["email"], "[email]");
    assert_eq!(first["classification"]["code"], "DEPENDENCY.PAYMENT");
    assert_eq!(first["impact"]["revenue_at_risk"]["minor_units"], 12999);
    assert_eq!(first["impact"]["revenue_at_risk"]["currency"], "EUR");
    let stages: Vec<&str> = first["provenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].as_str().unwrap())
        .collect();
    assert_eq!(stages, vec!["enricher", "redactor", "classifier", "scorer"]);
    let redactor = &first["provenance"][1];
    assert_eq!(redactor["outcome"], "ok");
    assert!(redactor["digest"].as_str().unwrap().starts_with("sha256:"));
    let changed: Vec<&str> = redactor["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        changed.contains(&"user.email") && changed.contains(&"request.headers.Authorization"),
        "{changed:?}"
    );
    assert_eq!(out[1]["classification"]["code"], "AVAILABILITY.DATABASE");
    assert_eq!(out[2]["classification"]["code"], "LATENCY.TIMEOUT");
    assert_eq!(out[3]["classification"]["code"], "CAPACITY.RATE_LIMIT");
    assert!(
        run.stderr
            .contains("4 processed, 0 dropped, 0 dead-lettered, 0 invalid input lines"),
        "{}",
        run.stderr
    );
}

/// A provenance record's plugin strings are escaped once, when the plugin
/// loads, and copied into every document: a config name that JSON must
/// escape comes out as configured.
#[test]
fn provenance_names_a_plugin_as_configured_whatever_its_characters() {
    let dir = temp_dir("provenance-quoting");
    let name = "pii \"eu\" \\ \u{1} ✓";
    let config = write(
        &dir,
        "faultline.toml",
        &format!(
            "[plugins.{key}]\nbuiltin = \"redactor-pii\"\n\n\
             [[chains.default.stages]]\nplugin = {key}\n",
            key = toml_quoted(name)
        ),
    );
    let input =
        "{\"event_id\":\"6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01\",\"message\":\"bob@corp.example\"}\n";
    let run = faultline(&["process", "--config", &config], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    let record = &out[0]["provenance"][0];
    assert_eq!(record["plugin"], name);
    assert_eq!(record["role"], "redactor");
    assert_eq!(record["name"], "redactor-pii");
    assert_eq!(record["version"], env!("CARGO_PKG_VERSION"));
    let digest = record["digest"].as_str().unwrap();
    assert!(
        digest.len() == "sha256:".len() + 64 && digest.starts_with("sha256:"),
        "{digest}"
    );
    assert_eq!(out[0]["message"], "[email]");
}

/// `s` as a TOML basic string.
fn toml_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn example_config_adds_business_context_and_hashes_emails() {
    let config = repo().join("examples/faultline.toml");
    let input = std::fs::read_to_string(repo().join("examples/events.ndjson")).unwrap();
    let run = faultline(&["process", "--config", config.to_str().unwrap()], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    assert_eq!(out[0]["tags"]["team"], "payments");
    assert_eq!(out[0]["tags"]["segment"], "enterprise");
    assert_eq!(out[0]["contexts"]["service"]["tier"], "1");
    let email = out[0]["user"]["email"].as_str().unwrap();
    assert!(
        email.starts_with("[email:") && email.len() == "[email:]".len() + 16,
        "{email}"
    );
    assert_eq!(
        out[0]["message"].as_str().unwrap(),
        format!("payment failed for {email}")
    );
    assert_eq!(out[3]["tags"]["ownership"], "unowned");
    let root = faultline(
        &[
            "process",
            "--config",
            config.to_str().unwrap(),
            "--chain",
            "root-cause",
        ],
        &input,
    );
    assert_eq!(root.code, 0, "{}", root.stderr);
    assert_eq!(root.lines()[1]["classification"]["code"], "INFRA.DATABASE");
    let missing = faultline(
        &[
            "process",
            "--config",
            config.to_str().unwrap(),
            "--chain",
            "nope",
        ],
        "",
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("no chain \"nope\"; chains: default, root-cause"),
        "{}",
        missing.stderr
    );
}

/// Each event's result is written as soon as the event is in: one reading
/// a stream does not wait for a buffer to fill or the input to end. Each
/// result is read back before the next event is sent, with stdin still open.
#[test]
fn a_stream_gets_each_result_before_the_next_event() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("process")
        .env("FAULTLINE_CACHE_DIR", repo().join("target/e2e-cache"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Were results held back, reading one would wait forever: the process
    // is killed after two minutes, and the read then fails.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (done, pid) = (done.clone(), child.id().to_string());
        std::thread::spawn(move || {
            for _ in 0..1200 {
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = std::process::Command::new("kill").arg(&pid).status();
        })
    };
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    for message in ["first", "second", "third"] {
        input.write_all(events(&[message]).as_bytes()).unwrap();
        input.flush().unwrap();
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        let result: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("no result for {message:?} while input is open: {e}"));
        assert_eq!(result["message"], message);
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    watchdog.join().unwrap();
    drop(input);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut output, &mut rest).unwrap();
    assert_eq!(rest, "");
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_lines_are_reported_with_their_number_and_skipped() {
    let input = format!(
        "{}{{\"message\": \"broken\"\n{{\"level\": \"loud\", \"message\": \"x\"}}\n[1, 2]\n\n{}",
        events(&["first"]),
        events(&["last"])
    );
    let run = faultline(&["process"], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines().len(), 2);
    assert!(
        run.stderr.contains(
            "line 2: invalid JSON: EOF while parsing an object at line 1 column 20; skipped"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("line 3: field `level`: unknown level \"loud\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("line 4: an event must be a JSON object, got an array; skipped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("2 processed, 0 dropped, 0 dead-lettered, 3 invalid input lines"),
        "{}",
        run.stderr
    );

    let strict = faultline(&["process", "--strict"], &input);
    assert_eq!(strict.code, 1);
    assert_eq!(
        strict.lines().len(),
        1,
        "the line before the bad one is still written"
    );
    assert!(
        strict.stderr.contains("line 2: invalid JSON"),
        "{}",
        strict.stderr
    );
}

#[test]
fn oversized_events_are_refused_by_line() {
    let big = events(&[&"a".repeat(3000)]);
    let run = faultline(
        &["process", "--max-event-kb", "2"],
        &format!("{big}{}", events(&["small"])),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines().len(), 1);
    assert!(
        run.stderr
            .contains("line 1: event is 3 KiB, more than --max-event-kb 2; skipped"),
        "{}",
        run.stderr
    );
}

#[test]
fn input_and_output_files() {
    let dir = temp_dir("files");
    let input = write(&dir, "in.ndjson", &events(&["from a file"]));
    let output = dir.join("out.ndjson");
    let run = faultline(
        &[
            "process",
            "--input",
            &input,
            "--output",
            output.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.contains("\"message\":\"from a file\""), "{text}");
    let missing = faultline(&["process", "--input", "/nonexistent/in.ndjson"], "");
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("cannot open input /nonexistent/in.ndjson"),
        "{}",
        missing.stderr
    );
}

/// A plugin that declares it reads only frames and tags is shown the scalar
/// fields, the exceptions and those parts, and nothing else; the parts it was
/// not shown come back into the event for the stages after it and the output.
#[test]
fn a_plugin_is_shown_only_the_parts_it_reads() {
    let dir = temp_dir("reads");
    let probe = crate::support::test_plugin("reads_probe");
    let config = write(
        &dir,
        "faultline.toml",
        &format!(
            r#"
[plugins.probe]
path = "{}"

[plugins.impact]
builtin = "scorer-impact"

[[chains.default.stages]]
plugin = "probe"

[[chains.default.stages]]
plugin = "impact"
"#,
            probe.display()
        ),
    );
    let event = serde_json::json!({
        "event_id": "0123456789abcdef0123456789abcdef",
        "message": "checkout failed",
        "exception": {"values": [{"type": "E", "stacktrace": {"frames": [
            {"function": "a", "vars": {"password": "hunter2", "n": 1}},
            {"function": "b"}
        ]}}]},
        "tags": {"service": "checkout"},
        "user": {"id": "u1"},
        "request": {"method": "POST", "url": "https://shop.example/checkout"},
        "extra": {"users_affected": 7}
    });
    let run = faultline(&["process", "--config", &config], &format!("{event}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.lines()[0];
    assert_eq!(
        out["classification"]["category"],
        serde_json::json!([
            "message=true",
            "exceptions=1",
            "frames=2",
            "vars=0",
            "tags=1",
            "user=false",
            "request=false",
            "attributes=0",
            "event_id_in_arena=true",
            "message_in_arena=true",
            "own_in_arena=false"
        ]),
        "{out:#}"
    );
    // Everything the probe was not shown is still in the event: the scorer
    // after it read the attribute, and the output carries every part.
    assert_eq!(out["impact"]["users_affected"], 7, "{out:#}");
    let frames = &out["exception"]["values"][0]["stacktrace"]["frames"];
    assert_eq!(frames[0]["vars"]["password"], "hunter2");
    assert_eq!(out["user"]["id"], "u1");
    assert_eq!(out["request"]["method"], "POST");
    assert_eq!(out["extra"]["users_affected"], 7);
    assert_eq!(out["tags"]["service"], "checkout");
}

/// The Rust SDK places a call's arguments in its call arena: an event that
/// fits is there, a string the plugin allocates is not, a message too large
/// for the region comes from the ordinary allocator, and the next event is
/// in the (grown) region again.
#[test]
fn the_sdk_places_a_calls_arguments_in_its_arena() {
    let dir = temp_dir("arena");
    let probe = crate::support::test_plugin("reads_probe");
    let config = write(
        &dir,
        "faultline.toml",
        &format!(
            "[plugins.probe]\npath = \"{}\"\n\n[[chains.default.stages]]\nplugin = \"probe\"\n",
            probe.display()
        ),
    );
    let event = |i: usize, message: String| {
        serde_json::json!({"event_id": format!("{i:032x}"), "message": message}).to_string()
    };
    let input = [
        event(1, "small".into()),
        event(2, "x".repeat(200_000)),
        event(3, "small again".into()),
    ]
    .join("\n");
    let run = faultline(&["process", "--config", &config], &format!("{input}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let in_arena: Vec<Vec<_>> = run
        .lines()
        .iter()
        .map(|out| {
            let category = out["classification"]["category"].as_array().unwrap();
            category[8..]
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    // The 200 KB event does not fit the region: its block is memory of the
    // arena's own all the same, so that the host may write it in one piece.
    let expected = vec![
        "event_id_in_arena=true".to_string(),
        "message_in_arena=true".to_string(),
        "own_in_arena=false".to_string(),
    ];
    assert_eq!(in_arena, [expected.clone(), expected.clone(), expected]);
}
