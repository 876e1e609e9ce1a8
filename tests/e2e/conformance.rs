//! `faultline plugin test`: golden cases and role invariants, for the
//! first-party plugins and the Python and JavaScript examples alike.

use crate::support::{faultline, repo, temp_dir, test_plugin, write};

/// Runs `plugin test PLUGIN --cases DIR`; returns exit code and stdout.
fn plugin_test(plugin: &str, cases: &std::path::Path) -> (i32, String) {
    let run = faultline(
        &["plugin", "test", plugin, "--cases", cases.to_str().unwrap()],
        "",
    );
    (run.code, run.stdout)
}

fn assert_all_pass(plugin: &str, cases: &std::path::Path) {
    let (code, out) = plugin_test(plugin, cases);
    assert_eq!(code, 0, "{plugin} on {}:\n{out}", cases.display());
    assert!(out.contains(" 0 failed"), "{out}");
    assert!(!out.contains("\n0 passed"), "nothing ran:\n{out}");
}

#[test]
fn every_example_plugin_passes_the_role_cases_and_its_own() {
    let shared = repo().join("tests/conformance");
    for builtin in [
        "classifier-taxonomy",
        "enricher-context",
        "redactor-pii",
        "scorer-impact",
    ] {
        let plugin = format!("builtin:{builtin}");
        assert_all_pass(&plugin, &shared);
        assert_all_pass(&plugin, &repo().join("plugins").join(builtin).join("cases"));
    }
    let python = faultline_testkit::python_plugin();
    let python = python.to_str().unwrap();
    assert_all_pass(python, &shared);
    assert_all_pass(
        python,
        &repo().join("examples/plugins/python-classifier/cases"),
    );
    let js = faultline_testkit::js_plugin();
    let js = js.to_str().unwrap();
    assert_all_pass(js, &shared);
    assert_all_pass(js, &repo().join("examples/plugins/js-scorer/cases"));
    let c = faultline_testkit::c_plugin();
    let c = c.to_str().unwrap();
    assert_all_pass(c, &shared);
    assert_all_pass(c, &repo().join("examples/plugins/c-scorer/cases"));
}

#[test]
fn failures_are_shown_with_what_differed() {
    let hostile = test_plugin("hostile_redactor");
    let hostile = hostile.to_str().unwrap();
    // It ignores its config and edits event ids when asked: both are caught.
    let (code, out) = plugin_test(hostile, &repo().join("tests/conformance"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("redactor/unknown-config-key") && l.ends_with("FAIL"))
            && out.contains("expected the stage to fail, but it succeeded"),
        "{out}"
    );
    let dir = temp_dir("conformance-failures");
    write(
        &dir,
        "edits-id.json",
        r#"{"event": {"event_id": "c0ffee00c0ffee00c0ffee00c0ffee00", "message": "event-id"}}"#,
    );
    write(
        &dir,
        "wrong-expectation.json",
        r#"{"event": {"message": "a secret here"}, "expect": {"message": "a [redacted] here"}}"#,
    );
    write(
        &dir,
        "for-scorers.json",
        r#"{"role": "scorer", "event": {"message": "x"}}"#,
    );
    let (code, out) = plugin_test(hostile, &dir);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("edits-id") && out.contains("event_id"),
        "{out}"
    );
    assert!(
        out.contains(r#"message: expected "a [redacted] here", got "a [gone] here""#),
        "{out}"
    );
    assert!(
        out.contains("for-scorers        skip (for scorers)"),
        "{out}"
    );
    assert!(out.contains("0 passed, 2 failed, 1 skipped"), "{out}");

    // A case whose event is not valid fails as a broken case, even when it
    // expects an error.
    let broken = temp_dir("conformance-broken");
    write(
        &broken,
        "bad-event.json",
        r#"{"event": {"level": 7}, "expect_error": ""}"#,
    );
    let (code, out) = plugin_test(hostile, &broken);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the case's event is not valid: field `level`"),
        "{out}"
    );

    // Bad case files and directories are usage errors.
    write(
        &dir,
        "both.json",
        r#"{"event": {}, "expect": {}, "expect_error": "x"}"#,
    );
    let (code, _) = plugin_test(hostile, &dir);
    assert_eq!(code, 2);
    let run = faultline(
        &["plugin", "test", hostile, "--cases", "/nonexistent/cases"],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/nonexistent/cases"), "{}", run.stderr);
}
