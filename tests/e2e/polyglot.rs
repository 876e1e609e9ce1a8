//! Plugins in Python, JavaScript and C, built from source, in chains with the
//! Rust redactor.

use faultline_testkit::{c_plugin, js_plugin, python_plugin};

use crate::support::{faultline, temp_dir, write};

/// `[plugins.pii]` (the Rust redactor) and `[plugins.py]` (the Python classifier).
fn redactor_and_python() -> String {
    format!(
        r#"
[plugins.pii]
builtin = "redactor-pii"

[plugins.py]
path = "{}"
allow_imports = ["wasi:filesystem", "wasi:sockets"]
limits = {{ memory_mb = 128, timeout_ms = 2000 }}
"#,
        python_plugin().display()
    )
}

fn polyglot_config(dir: &std::path::Path, js_config: &str) -> String {
    write(
        dir,
        "faultline.toml",
        &format!(
            r#"{head}
[plugins.js]
path = "{js}"
allow_imports = ["wasi:filesystem"]
limits = {{ memory_mb = 128, timeout_ms = 2000 }}

[[chains.default.stages]]
plugin = "pii"

[[chains.default.stages]]
plugin = "py"
config = {{ rules = [{{ code = "BILLING.LEDGER", category = ["billing", "ledger"], severity = "critical", message = "ledger" }}] }}

[[chains.default.stages]]
plugin = "js"
config = {js_config}
"#,
            head = redactor_and_python(),
            js = js_plugin().display(),
        ),
    )
}

#[test]
fn rust_python_and_javascript_plugins_share_a_chain() {
    let dir = temp_dir("polyglot");
    let config = polyglot_config(&dir, "{ base = 20 }");
    let input = concat!(
        r#"{"message": "ledger write failed for ann@example.com", "transaction": "POST /checkout", "level": "fatal", "user": {"id": "u1"}}"#,
        "\n",
        r#"{"message": "cache miss", "level": "info"}"#,
        "\n"
    );
    let run = faultline(&["process", "--config", &config], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.lines();
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0]["message"], "ledger write failed for [email]",
        "redacted before Python saw it"
    );
    assert_eq!(out[0]["classification"]["code"], "BILLING.LEDGER");
    assert_eq!(out[0]["classification"]["taxonomy"], "python-rules/1");
    assert_eq!(out[0]["impact"]["score"], 100);
    assert_eq!(out[0]["impact"]["level"], "critical");
    assert_eq!(out[0]["impact"]["users_affected"], 1);
    assert_eq!(out[1]["classification"], serde_json::Value::Null);
    assert_eq!(out[1]["impact"]["score"], 25);
    let names: Vec<&str> = out[0]["provenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["redactor-pii", "python-classifier", "js-scorer"]
    );
    // Their allocators free arguments one by one: the host must not place
    // them in one block.
    for plugin in [python_plugin(), js_plugin()] {
        let inspect = faultline(
            &["plugin", "inspect", "--json", plugin.to_str().unwrap()],
            "",
        );
        assert_eq!(inspect.code, 0, "{}", inspect.stderr);
        let info: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
        assert_eq!(info["argument_block"], false, "{}", plugin.display());
    }
}

#[test]
fn python_and_javascript_plugins_validate_their_configs() {
    let dir = temp_dir("polyglot-config");
    let config = polyglot_config(&dir, "{ base = 500 }");
    let run = faultline(&["check", "--config", &config], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("chains.default.stages[2].config: plugin \"js\" (scorer) rejected its config: base must be a number from 0 to 100"), "{}", run.stderr);
    let config = polyglot_config(&dir, "{ bass = 1 }");
    let run = faultline(&["check", "--config", &config], "");
    assert!(
        run.stderr
            .contains("rejected its config: unknown key \"bass\""),
        "{}",
        run.stderr
    );
}

#[test]
fn a_python_component_is_refused_without_its_grant() {
    let dir = temp_dir("polyglot-grant");
    let config = write(
        &dir,
        "faultline.toml",
        &format!(
            "[plugins.py]\npath = \"{}\"\n[[chains.default.stages]]\nplugin = \"py\"\n",
            python_plugin().display()
        ),
    );
    let run = faultline(&["check", "--config", &config], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("imports wasi:filesystem/types@"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("allow_imports = [\"wasi:filesystem\", \"wasi:sockets\"]"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_c_scorer_runs_after_the_rust_redactor_and_the_python_classifier() {
    let dir = temp_dir("polyglot-c");
    let config = write(
        &dir,
        "faultline.toml",
        &format!(
            r#"{head}
[plugins.c]
path = "{c}"
allow_imports = ["wasi:filesystem"]
trust = "untrusted"

[[chains.default.stages]]
plugin = "pii"

[[chains.default.stages]]
plugin = "py"
config = {{ rules = [{{ code = "PAY.DECLINED", category = ["payments"], message = "declined" }}] }}

[[chains.default.stages]]
plugin = "c"
"#,
            head = redactor_and_python(),
            c = c_plugin().display(),
        ),
    );
    let input = r#"{"message": "card declined for ann@example.com", "transaction": "POST /checkout", "level": "error", "user": {"id": "u1"}}"#;
    let run = faultline(&["process", "--config", &config], &format!("{input}\n"));
    // Untrusted plugins get no WASI beyond what the host allows everyone.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("untrusted and cannot be granted"),
        "{}",
        run.stderr
    );
    let trusted = std::fs::read_to_string(&config)
        .unwrap()
        .replace("trust = \"untrusted\"\n", "");
    std::fs::write(&config, trusted).unwrap();
    let run = faultline(&["process", "--config", &config], &format!("{input}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.lines()[0];
    assert_eq!(out["message"], "card declined for [email]");
    assert_eq!(out["classification"]["code"], "PAY.DECLINED");
    assert_eq!(
        out["impact"]["score"], 65,
        "error 45 + checkout 15 + user 5: {out}"
    );
    assert_eq!(out["impact"]["factors"][1]["detail"], "a critical flow");
    let stages: Vec<&str> = out["provenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["redactor-pii", "python-classifier", "c-scorer"]);
}
