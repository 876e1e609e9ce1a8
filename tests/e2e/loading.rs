//! Loading and checking plugins: worlds, imports, pins, policy, stage configs.

use crate::support::{faultline, plugin_dir, repo, temp_dir, test_plugin, write};

fn check(config: &str) -> crate::support::Run {
    faultline(&["check", "--config", config], "")
}

#[test]
fn example_config_checks() {
    let run = check(repo().join("examples/faultline.toml").to_str().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("chain default: context [enricher, on_error=skip] -> pii [redactor, on_error=dead-letter] -> taxonomy [classifier, on_error=skip] -> impact [scorer, on_error=skip]"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("plugin impact: scorer scorer-impact 0.1.0"),
        "{}",
        run.stdout
    );
    let again = check(repo().join("examples/faultline.toml").to_str().unwrap());
    assert!(
        again.stdout.contains("trusted, cached)"),
        "second load comes from the compiled cache: {}",
        again.stdout
    );
}

#[test]
fn invalid_config_exits_2_with_file_line_and_key() {
    let path = repo().join("tests/configs/invalid/unknown-plugin.toml");
    let run = check(path.to_str().unwrap());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown-plugin.toml:8:10: chains.default.stages[1].plugin: unknown plugin \"pii2\"; declared plugins: pii"), "{}", run.stderr);
    let process = faultline(&["process", "--config", path.to_str().unwrap()], "");
    assert_eq!(process.code, 2);
    let usage = faultline(&["process", "--no-such-flag"], "");
    assert_eq!(usage.code, 2);
}

fn one_plugin_config(dir: &std::path::Path, plugin: &str, extra: &str) -> String {
    write(
        dir,
        "faultline.toml",
        &format!(
            "[plugins.p]\npath = \"{plugin}\"\n{extra}\n[[chains.default.stages]]\nplugin = \"p\"\n"
        ),
    )
}

#[test]
fn forbidden_imports_are_refused_at_load() {
    let dir = temp_dir("forbidden");
    let plugin = test_plugin("forbidden_import");
    let run = check(&one_plugin_config(&dir, plugin.to_str().unwrap(), ""));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("plugins.p: plugin \"p\": imports wasi:filesystem/"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("which faultline does not grant (plugins get no file access)"),
        "{}",
        run.stderr
    );
}

#[test]
fn components_for_another_world_are_refused() {
    let dir = temp_dir("wrong-world");
    let plugin = test_plugin("wrong-world");
    let run = check(&one_plugin_config(&dir, plugin.to_str().unwrap(), ""));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("plugin \"p\": not a faultline plugin: it exports none of faultline:plugin/{classifier,enricher,redactor,scorer}@0.1.0 (its exports: wasi:cli/run@"), "{}", run.stderr);
    let inspect = faultline(&["plugin", "inspect", plugin.to_str().unwrap()], "");
    assert_eq!(inspect.code, 2);
    assert!(
        inspect.stderr.contains("not a faultline plugin"),
        "{}",
        inspect.stderr
    );
}

#[test]
fn plugins_built_against_another_revision_of_the_wit_are_refused() {
    let dir = temp_dir("stale-draft");
    let plugin = test_plugin("stale_draft");
    let run = check(&one_plugin_config(&dir, plugin.to_str().unwrap(), ""));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "plugin \"p\": its exports are named as in faultline:plugin@0.1.0 but typed differently"
        ) && run.stderr.contains("rebuild it against this host's wit/"),
        "{}",
        run.stderr
    );
}

#[test]
fn core_modules_and_garbage_are_refused() {
    let dir = temp_dir("not-a-component");
    let core = dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let run = check(&one_plugin_config(&dir, core.to_str().unwrap(), ""));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "is not a WebAssembly component (this is a core module); build it for wasm32-wasip2"
        ),
        "{}",
        run.stderr
    );
    let text = dir.join("text.wasm");
    std::fs::write(&text, "hello").unwrap();
    let run = check(&one_plugin_config(&dir, text.to_str().unwrap(), ""));
    assert!(
        run.stderr.contains("(no WebAssembly header)"),
        "{}",
        run.stderr
    );
    let run = check(&one_plugin_config(
        &dir,
        dir.join("absent.wasm").to_str().unwrap(),
        "",
    ));
    assert!(
        run.stderr
            .contains("absent.wasm: No such file or directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn digest_pins_are_enforced() {
    let dir = temp_dir("pins");
    let plugin = test_plugin("hostile");
    let inspect = faultline(
        &["plugin", "inspect", "--json", plugin.to_str().unwrap()],
        "",
    );
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    let info: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(info["role"], "classifier");
    assert_eq!(info["wit"], "faultline:plugin@0.1.0");
    assert_eq!(info["name"], "hostile");
    let digest = info["sha256"].as_str().unwrap();
    let good = one_plugin_config(
        &dir,
        plugin.to_str().unwrap(),
        &format!("sha256 = \"{digest}\""),
    );
    assert_eq!(check(&good).code, 0);
    let wrong = "0".repeat(64);
    let bad = one_plugin_config(
        &dir,
        plugin.to_str().unwrap(),
        &format!("sha256 = \"{wrong}\""),
    );
    let run = check(&bad);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!(
            "sha256 of {} is {digest}, but the config pins {wrong}; refusing to load it",
            plugin.display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn untrusted_plugins_must_follow_enrichers_and_a_redactor() {
    let dir = temp_dir("policy");
    let head = "[plugins.vendor]\nbuiltin = \"scorer-impact\"\ntrust = \"untrusted\"\n[plugins.pii]\nbuiltin = \"redactor-pii\"\n[plugins.ctx]\nbuiltin = \"enricher-context\"\ntables = [\"services\", \"customers\"]\n[tables.services]\nrows = []\n[tables.customers]\nrows = []\n";
    let stages = |names: &[&str]| -> String {
        names
            .iter()
            .map(|n| format!("[[chains.default.stages]]\nplugin = \"{n}\"\n"))
            .collect()
    };
    let before_redactor = write(
        &dir,
        "a.toml",
        &format!("{head}{}", stages(&["vendor", "pii"])),
    );
    let run = check(&before_redactor);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("a.toml:13:1: chains.default.stages[0]: plugin \"vendor\" is untrusted and must only see redacted events; put a redactor stage before it"), "{}", run.stderr);
    let before_enricher = write(
        &dir,
        "b.toml",
        &format!("{head}{}", stages(&["pii", "vendor", "ctx"])),
    );
    let run = check(&before_enricher);
    assert!(run.stderr.contains("plugin \"vendor\" is untrusted and must run after every enricher, but enricher \"ctx\" runs later (stage 2)"), "{}", run.stderr);
    let fine = write(
        &dir,
        "c.toml",
        &format!("{head}{}", stages(&["ctx", "pii", "vendor"])),
    );
    assert_eq!(check(&fine).code, 0, "{}", check(&fine).stderr);
}

#[test]
fn redactors_cannot_fail_open_and_stage_configs_are_checked() {
    let dir = temp_dir("stage-config");
    let skip = write(
        &dir,
        "skip.toml",
        "[plugins.pii]\nbuiltin = \"redactor-pii\"\n[[chains.default.stages]]\nplugin = \"pii\"\non_error = \"skip\"\n",
    );
    let run = check(&skip);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("skip.toml:5:12: chains.default.stages[0].on_error: plugin \"pii\" is a redactor, and redactors fail closed"), "{}", run.stderr);
    let hash = write(
        &dir,
        "hash.toml",
        "[plugins.pii]\nbuiltin = \"redactor-pii\"\n[[chains.default.stages]]\nplugin = \"pii\"\nconfig = { method = \"hash\" }\n",
    );
    let run = check(&hash);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("hash.toml:3:1: chains.default.stages[0].config: plugin \"pii\" (redactor) rejected its config: method \"hash\" needs hash_key"), "{}", run.stderr);
    let unknown = write(
        &dir,
        "unknown.toml",
        "[plugins.t]\nbuiltin = \"classifier-taxonomy\"\n[[chains.default.stages]]\nplugin = \"t\"\nconfig = { taxonomy = \"moods\" }\n",
    );
    let run = check(&unknown);
    assert!(
        run.stderr.contains(
            "rejected its config: unknown variant `moods`, expected `symptom` or `root-cause`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn inspect_reports_role_version_metadata_and_digest() {
    let wasm = plugin_dir().join("redactor_pii.wasm");
    let run = faultline(&["plugin", "inspect", wasm.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        "role:        redactor",
        "wit:         faultline:plugin@0.1.0",
        "name:        redactor-pii",
        "arguments:   one allocation per call (it carries the faultline:argument-block section)",
        "exports:\n  faultline:plugin/redactor@0.1.0",
    ] {
        assert!(run.stdout.contains(line), "{line} in {}", run.stdout);
    }
    assert!(!run.stdout.contains("wasi:filesystem"), "{}", run.stdout);
}

/// A plugin with `timeout_ms = "off"` is compiled by an engine without epoch
/// checks, beside one with a deadline, and a plugin with a fuel budget by a
/// third that meters fuel (so the others do not pay for it); all load from
/// the compiled cache the second time, and all run.
#[test]
fn plugins_without_a_deadline_or_fuel_load_beside_plugins_with_them() {
    let dir = temp_dir("deadlines");
    let config = write(
        &dir,
        "faultline.toml",
        r#"
[runtime]
cache_dir = "cache"

[plugins.pii]
builtin = "redactor-pii"
limits = { timeout_ms = "off" }

[plugins.taxonomy]
builtin = "classifier-taxonomy"
limits = { timeout_ms = 250 }

[plugins.impact]
builtin = "scorer-impact"
limits = { timeout_ms = 250, fuel = 50_000_000 }

[[chains.default.stages]]
plugin = "pii"

[[chains.default.stages]]
plugin = "taxonomy"

[[chains.default.stages]]
plugin = "impact"
"#,
    );
    let first = check(&config);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let lines: Vec<&str> = first.stdout.lines().collect();
    let deadline_of = |plugin: &str| {
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("plugin {plugin}:")))
            .unwrap_or_else(|| panic!("no plugin {plugin} in {}", first.stdout));
        lines[at + 1..]
            .iter()
            .find(|l| l.trim_start().starts_with("deadline:"))
            .map(|l| l.trim().to_string())
            .unwrap()
    };
    assert!(
        deadline_of("pii").starts_with("deadline: off (compiled without interruption checks"),
        "{}",
        first.stdout
    );
    assert_eq!(deadline_of("taxonomy"), "deadline: 250 ms per call");
    let fuel_lines: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("fuel:"))
        .collect();
    assert_eq!(
        fuel_lines,
        ["fuel: 50000000 units per call (its code alone is compiled with metering)"],
        "{}",
        first.stdout
    );
    // The cache is keyed by engine: one directory per engine, one plugin each.
    let mut engines: Vec<usize> = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|e| std::fs::read_dir(e.unwrap().path()).unwrap().count())
        .collect();
    engines.sort();
    assert_eq!(
        engines,
        [1, 1, 1],
        "three engines, a plugin compiled by each"
    );
    let again = check(&config);
    assert_eq!(
        again.stdout.matches("trusted, cached)").count(),
        3,
        "every engine's code comes from the cache: {}",
        again.stdout
    );
    let run = faultline(
        &["process", "--config", &config],
        &crate::support::events(&["connection refused by db-1, mail ops@example.org"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.lines()[0];
    assert_eq!(
        out["message"], "connection refused by db-1, mail [email]",
        "{out}"
    );
    assert!(out["classification"]["code"].is_string(), "{out}");
    assert!(out["impact"]["score"].is_u64(), "{out}");
}
