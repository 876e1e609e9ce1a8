//! Hostile plugins: each misbehaviour fails its own event's stage only, with a
//! message that says what happened, and every other event comes out right.

use serde_json::Value;

use crate::support::{events, faultline, temp_dir, test_plugin, write};

/// The hostile plugin's limits. The timeout leaves room for a fresh
/// instance to grow its memory to the limit on a loaded machine (7-67 ms
/// measured for `memory`), so only `loop` times out. The redactor before it
/// runs without a deadline, compiled by the runtime's second engine: a
/// plugin with a deadline is still stopped beside one without.
fn hostile_config(dir: &std::path::Path, on_error: &str) -> String {
    let hostile = test_plugin("hostile");
    write(
        dir,
        "faultline.toml",
        &format!(
            r#"
[plugins.pii]
builtin = "redactor-pii"
limits = {{ timeout_ms = "off" }}

[plugins.hostile]
path = "{}"
limits = {{ memory_mb = 16, timeout_ms = 500, max_output_kb = 64 }}

[[chains.default.stages]]
plugin = "pii"

[[chains.default.stages]]
plugin = "hostile"
on_error = "{on_error}"
"#,
            hostile.display()
        ),
    )
}

fn hostile_stage(event: &Value) -> &Value {
    &event["provenance"][1]
}

const MISBEHAVIOURS: [(&str, &str); 7] = [
    (
        "trap",
        "trapped: wasm trap: wasm `unreachable` instruction executed (plugin stderr: ",
    ),
    (
        "unreachable",
        "trapped: wasm trap: wasm `unreachable` instruction executed",
    ),
    (
        "loop",
        "timed out after 500 ms; raise limits.timeout_ms or fix the plugin",
    ),
    (
        "memory",
        "exceeded its memory limit of 16 MiB; raise limits.memory_mb or fix the plugin",
    ),
    ("recurse", "overflowed its stack (unbounded recursion?)"),
    (
        "huge",
        "more than the output limit of 65536 bytes; raise limits.max_output_kb",
    ),
    ("error", "failed: deliberate error"),
];

#[test]
fn each_misbehaviour_fails_only_its_own_event() {
    let dir = temp_dir("hostile-skip");
    let config = hostile_config(&dir, "skip");
    let mut messages = vec!["ok 1"];
    for (m, _) in MISBEHAVIOURS {
        messages.push(m);
        messages.push("ok after");
    }
    messages.push("mail me at someone@example.org");
    let run = faultline(&["process", "--config", &config], &events(&messages));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    assert_eq!(
        out.len(),
        messages.len(),
        "every event comes out under on_error = skip"
    );
    for (event, message) in out.iter().zip(&messages) {
        let stage = hostile_stage(event);
        match MISBEHAVIOURS.iter().find(|(m, _)| m == message) {
            Some((_, expected)) => {
                assert_eq!(stage["outcome"], "skipped", "{message}");
                let error = stage["error"].as_str().unwrap();
                assert!(error.contains(expected), "{message}: {error}");
                assert!(event["classification"].is_null(), "{message}");
                let warning = "plugin \"hostile\" (classifier, stage 1 of chain \"default\") ";
                assert!(run.stderr.contains(warning), "{}", run.stderr);
            }
            None => {
                assert_eq!(stage["outcome"], "ok", "{message}: {stage}");
                assert_eq!(event["classification"]["code"], "HOSTILE.OK", "{message}");
            }
        }
    }
    assert!(
        run.stderr
            .contains("deliberate panic in the hostile plugin"),
        "the panic message is forwarded: {}",
        run.stderr
    );
    assert_eq!(out.last().unwrap()["message"], "mail me at [email]");
}

#[test]
fn drop_and_dead_letter_policies() {
    let dir = temp_dir("hostile-policies");
    let input = events(&["ok", "trap", "mail a@b.io then loop"]);
    let input = input.replace("mail a@b.io then loop", "loop");
    let drop = faultline(
        &["process", "--config", &hostile_config(&dir, "drop")],
        &input,
    );
    assert_eq!(drop.code, 0, "{}", drop.stderr);
    assert_eq!(drop.lines().len(), 1);
    assert!(
        drop.stderr.contains(
            "line 2: dropped: plugin \"hostile\" (classifier, stage 1 of chain \"default\") trapped"
        ),
        "{}",
        drop.stderr
    );
    assert!(
        drop.stderr
            .contains("on event 00000000000000000000000000000002"),
        "{}",
        drop.stderr
    );
    assert!(
        drop.stderr
            .contains("1 processed, 2 dropped, 0 dead-lettered"),
        "{}",
        drop.stderr
    );

    let dead_file = dir.join("dead.ndjson");
    let dead = faultline(
        &[
            "process",
            "--config",
            &hostile_config(&dir, "dead-letter"),
            "--dead-letter",
            dead_file.to_str().unwrap(),
        ],
        &input,
    );
    assert_eq!(dead.code, 0, "{}", dead.stderr);
    assert_eq!(dead.lines().len(), 1);
    let kept: Vec<Value> = std::fs::read_to_string(&dead_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept[0]["event"]["event_id"],
        "00000000000000000000000000000002"
    );
    assert_eq!(kept[0]["plugin"], "hostile");
    assert!(
        kept[1]["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 500 ms")
    );
    assert_eq!(kept[1]["provenance"][1]["outcome"], "dead-lettered");
}

#[test]
fn a_redactor_may_only_change_string_values() {
    let dir = temp_dir("hostile-redactor");
    let redactor = test_plugin("hostile_redactor");
    let config = write(
        &dir,
        "faultline.toml",
        &format!(
            "[plugins.r]\npath = \"{}\"\n\n[[chains.default.stages]]\nplugin = \"r\"\n",
            redactor.display()
        ),
    );
    let mut input = events(&[
        "event-id",
        "a secret here",
        "level",
        "lineno",
        "missing",
        "fine",
    ]);
    input = input.replace(
        "\"message\":\"lineno\"",
        "\"message\":\"lineno\",\"exception\":[{\"type\":\"E\",\"stacktrace\":{\"frames\":[{\"lineno\":7}]}}]",
    );
    let run = faultline(&["process", "--config", &config], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    assert_eq!(
        out.len(),
        2,
        "refused edits fail the redaction, and redactors fail closed"
    );
    assert_eq!(out[0]["message"], "a [gone] here");
    assert_eq!(
        out[0]["provenance"][0]["changed"],
        serde_json::json!(["message"])
    );
    assert_eq!(out[1]["message"], "fine");
    for expected in [
        "line 1: dropped: plugin \"r\" (redactor, stage 0 of chain \"default\") edit of `event_id` refused: `event_id` is read-only; a redactor may only change string values on event 00000000000000000000000000000001",
        "edit of `level` refused: `level` is read-only",
        "edit of `exception.values.0.stacktrace.frames.0.lineno` refused: not a string value",
        "edit of `extra.injected` refused: no such value in the event",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected:?} in {}",
            run.stderr
        );
    }
}

/// Runs the events `loop` and `fine` through a chain of the hostile plugin
/// once per `(name, limits)` of `stages`, in order; checks that `fine` came
/// through and returns the error of each stage for `loop`.
fn errors_of_a_loop(dir: &str, stages: &[(&str, &str)]) -> Vec<String> {
    let dir = temp_dir(dir);
    let hostile = test_plugin("hostile");
    let mut text = String::new();
    for (name, limits) in stages {
        text += &format!(
            "[plugins.{name}]\npath = \"{}\"\nlimits = {{ {limits} }}\n\n",
            hostile.display()
        );
    }
    for (name, _) in stages {
        text += &format!("[[chains.default.stages]]\nplugin = \"{name}\"\n\n");
    }
    let config = write(&dir, "faultline.toml", &text);
    let run = faultline(
        &["process", "--config", &config],
        &events(&["loop", "fine"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1]["classification"]["code"], "HOSTILE.OK");
    let provenance = out[0]["provenance"].as_array().unwrap();
    assert_eq!(provenance.len(), stages.len());
    provenance
        .iter()
        .map(|record| record["error"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fuel_limits_stop_a_loop_before_its_deadline() {
    let errors = errors_of_a_loop(
        "hostile-fuel",
        &[("h", "fuel = 1_000_000, timeout_ms = 10_000")],
    );
    assert!(
        errors[0].contains("ran out of fuel (1000000 units per call); raise limits.fuel"),
        "{}",
        errors[0]
    );
}

/// Plugins with a deadline with and without a fuel budget are compiled by
/// two engines, whose epochs one thread moves on: a loop is stopped at its
/// deadline in both.
#[test]
fn deadlines_stop_loops_in_metered_and_unmetered_plugins_alike() {
    let errors = errors_of_a_loop(
        "hostile-two-deadline-engines",
        &[
            ("plain", "timeout_ms = 300"),
            ("metered", "timeout_ms = 300, fuel = 5_000_000_000"),
        ],
    );
    for (stage, error) in errors.iter().enumerate() {
        assert!(
            error.contains("timed out after 300 ms"),
            "stage {stage}: {error}"
        );
    }
}

#[test]
fn tables_are_capabilities_granted_per_plugin() {
    let dir = temp_dir("ungranted");
    let head = "[tables.services]\nkey = \"service\"\nrows = [{ service = \"checkout\", owner_team = \"payments\" }]\n\n\
         [plugins.granted]\nbuiltin = \"enricher-context\"\ntables = [\"services\"]\n\n\
         [plugins.ungranted]\nbuiltin = \"enricher-context\"\n\n\
         [[chains.good.stages]]\nplugin = \"granted\"\nconfig = { lookups = [{ table = \"services\", from = [\"server_name\"], context = \"service\", tags = { team = \"owner_team\" } }] }\n";
    let good = write(&dir, "good.toml", head);
    let input = "{\"server_name\": \"checkout\", \"message\": \"m\"}\n";
    let run = faultline(&["process", "--config", &good], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines()[0]["tags"]["team"], "payments");
    assert_eq!(
        run.lines()[0]["contexts"]["service"]["owner_team"],
        "payments"
    );
    // A lookup in a table the plugin was not granted is a config error,
    // found when the stage is configured, with the stage's location.
    let bad = write(
        &dir,
        "bad.toml",
        &format!(
            "{head}\n[[chains.bad.stages]]\nplugin = \"ungranted\"\nconfig = {{ lookups = [{{ table = \"services\", from = [\"server_name\"], context = \"service\" }}] }}\n"
        ),
    );
    let run = faultline(&["check", "--config", &bad], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.toml:16:1: chains.bad.stages[0].config: plugin \"ungranted\" (enricher) rejected its config: table \"services\" is not available to this plugin"),
        "{}",
        run.stderr
    );
}

/// An instance whose memory keeps growing is replaced before it reaches its
/// limit, so a leaking plugin fails no event; an instance whose memory stays
/// flat is kept, so `configure` is not paid again and again.
#[test]
fn a_leaking_instance_is_replaced_and_a_steady_one_kept() {
    let dir = temp_dir("hostile-recycle");
    let hostile = test_plugin("hostile");
    let config = write(
        &dir,
        "faultline.toml",
        &format!(
            "[plugins.h]\npath = \"{}\"\nlimits = {{ memory_mb = 16 }}\n\n[[chains.default.stages]]\nplugin = \"h\"\n",
            hostile.display()
        ),
    );
    let call = |event: &Value| -> u64 {
        let c = event["classification"]["category"][1].as_str().unwrap();
        c.strip_prefix("call-").unwrap().parse().unwrap()
    };
    // 600 calls keeping 64 KiB each would need ~38 MiB in one instance.
    let leaks = vec!["leak"; 600];
    let run = faultline(&["process", "--config", &config], &events(&leaks));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    assert_eq!(out.len(), 600);
    for event in &out {
        assert_eq!(event["classification"]["code"], "HOSTILE.OK", "{event}");
    }
    let calls: Vec<u64> = out.iter().map(call).collect();
    let restarts = calls.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(restarts >= 2, "no instance was replaced: {calls:?}");
    assert!(calls.iter().all(|&c| c < 300), "{calls:?}");

    let steady = vec!["fine"; 12_000];
    let run = faultline(&["process", "--config", &config], &events(&steady));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    // One instance served every event, past the old fixed limit of 10,000.
    assert_eq!(call(out.last().unwrap()), 12_000);
}
