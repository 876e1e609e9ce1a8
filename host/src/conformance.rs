//! The conformance kit behind `faultline plugin test`: golden cases (input
//! event, stage config, expected output subset or expected error) run against
//! one component through the same chain machinery `serve` uses, plus the
//! invariants every plugin of a role must keep.
//!
//! A case is a JSON file:
//!
//! ```json
//! {
//!   "description": "card numbers are masked",
//!   "role": "redactor",
//!   "config": { "method": "mask" },
//!   "tables": { "services": { "key": "service", "rows": [{ "service": "checkout" }] } },
//!   "event": { "message": "card 4111 1111 1111 1111" },
//!   "expect": { "message": "card [card]" },
//!   "expect_error": "only when the stage must fail; a piece of its message"
//! }
//! ```
//!
//! `role` (optional) limits a case to plugins of that role, so one directory
//! can hold cases for several. `expect` is matched as a subset of the
//! processed document: objects need the listed keys (a `null` also matches a
//! missing key), arrays need the same length with each element matched the
//! same way, scalars must be equal. Invariants checked on every case: the output is the same when
//! the event is run again (a classifier's code, a scorer's score, …); a
//! redactor keeps `event_id`, `timestamp`, `level` and `platform`; a scorer's
//! score is within 0–100; an enricher leaves the message and exception alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::chain::{Chain, Disposition, output};
use crate::config::{ChainDef, Location, OnError, StageDef};
use crate::runtime::bindings::faultline::plugin::types::Event;
use crate::runtime::load::{GRANTABLE_IMPORTS, PluginSpec};
use crate::runtime::{Plugin, Role, Runtime, Source};
use crate::tables::{self, Tables};

/// A table a case provides.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTable {
    /// Key column (default `key`).
    #[serde(default = "default_key")]
    pub key: String,
    /// Rows.
    pub rows: Vec<Json>,
}

fn default_key() -> String {
    "key".into()
}

/// One golden case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What it checks.
    #[serde(default)]
    pub description: String,
    /// Only for plugins of this role.
    pub role: Option<String>,
    /// The stage config.
    #[serde(default = "empty_object")]
    pub config: Json,
    /// Tables the plugin may look up.
    #[serde(default)]
    pub tables: BTreeMap<String, CaseTable>,
    /// The input event.
    pub event: Json,
    /// A subset of the expected output document.
    pub expect: Option<Json>,
    /// The stage must fail with a message containing this.
    pub expect_error: Option<String>,
}

fn empty_object() -> Json {
    Json::Object(Default::default())
}

/// How a case went.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Everything matched.
    Pass,
    /// What differed, one line per difference.
    Fail(Vec<String>),
    /// The case is for another role.
    Skipped(String),
}

/// A case's name and verdict.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// File name without `.json`, relative to the cases directory.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The processed document (without provenance), when the stage succeeded.
    pub output: Option<Json>,
}

/// Reads every `*.json` case under `dir` (recursively), sorted by path.
pub fn load_cases(dir: &Path) -> Result<Vec<(String, Case)>, String> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    if files.is_empty() {
        return Err(format!("{} holds no *.json cases", dir.display()));
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let case: Case =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            if case.expect.is_some() && case.expect_error.is_some() {
                return Err(format!(
                    "{}: give `expect` or `expect_error`, not both",
                    path.display()
                ));
            }
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .with_extension("")
                .display()
                .to_string();
            Ok((name, case))
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Where the component under test comes from: a file, or `builtin:NAME`.
pub fn source_of(arg: &str) -> Source {
    match arg.strip_prefix("builtin:") {
        Some(name) => Source::Builtin(name.to_string()),
        None => Source::Path(PathBuf::from(arg)),
    }
}

fn load(runtime: &Runtime, source: &Source, case: &Case) -> Result<Plugin, String> {
    let mut tables = Tables::default();
    for (name, table) in &case.tables {
        let rows = tables::inline_rows(&table.rows, &table.key)
            .map_err(|e| format!("table {name}: {e}"))?;
        tables.insert(name, rows);
    }
    let spec = PluginSpec {
        granted: case.tables.keys().cloned().collect(),
        // Inert (no directory, no network); runtimes such as Python's link them.
        allow_imports: GRANTABLE_IMPORTS.iter().map(|s| s.to_string()).collect(),
        ..PluginSpec::new("under-test", source.clone())
    };
    Plugin::load(runtime, spec, Arc::new(tables)).map_err(|e| e.to_string())
}

/// The processed document, or the stage's error.
fn run_once(chain: &mut Chain, event: &Event) -> Result<Json, String> {
    match chain.run(event.clone()) {
        Disposition::Processed(p) => {
            let mut doc = output::processed_json(&p, None);
            if let Some(map) = doc.as_object_mut() {
                map.remove("provenance");
            }
            Ok(doc)
        }
        Disposition::Dropped { failure, .. } | Disposition::DeadLettered { failure, .. } => {
            Err(failure.error)
        }
    }
}

/// Differences between `expected` (a subset) and `actual`, by path.
pub fn subset_diff(path: &str, expected: &Json, actual: &Json, out: &mut Vec<String>) {
    match (expected, actual) {
        (Json::Object(want), Json::Object(have)) => {
            for (k, v) in want {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match have.get(k) {
                    Some(h) => subset_diff(&p, v, h, out),
                    None if v.is_null() => {}
                    None => out.push(format!("{p}: expected {v}, missing")),
                }
            }
        }
        (Json::Array(want), Json::Array(have)) if want.len() == have.len() => {
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                subset_diff(&format!("{path}[{i}]"), w, h, out);
            }
        }
        _ if expected == actual => {}
        _ => out.push(format!(
            "{}: expected {expected}, got {actual}",
            if path.is_empty() { "(document)" } else { path }
        )),
    }
}

/// What every plugin of `role` must keep, checked on one case's output.
fn invariants(role: Role, input: &Json, output: &Json, out: &mut Vec<String>) {
    let same = |field: &str, out: &mut Vec<String>| {
        if !input[field].is_null() && input[field] != output[field] {
            out.push(format!(
                "invariant: a {role} must keep `{field}` ({} became {})",
                input[field], output[field]
            ));
        }
    };
    match role {
        Role::Redactor => {
            for field in ["event_id", "level", "platform"] {
                same(field, out);
            }
        }
        Role::Enricher => {
            for field in ["message", "exception"] {
                same(field, out);
            }
        }
        Role::Scorer => match output["impact"]["score"].as_f64() {
            Some(s) if (0.0..=100.0).contains(&s) => {}
            Some(s) => out.push(format!("invariant: a score is within 0-100, got {s}")),
            None => out.push("invariant: a scorer returns an impact with a score".into()),
        },
        Role::Classifier => {}
    }
}

/// Runs every case against the component; `on_case` sees each result as it comes.
pub fn run(
    runtime: &Runtime,
    source: &Source,
    cases: &[(String, Case)],
    mut on_case: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    let mut results = Vec::new();
    for (name, case) in cases {
        let (verdict, output) = verdict(runtime, source, name, case);
        let result = CaseResult {
            name: name.clone(),
            description: case.description.clone(),
            verdict,
            output,
        };
        on_case(&result);
        results.push(result);
    }
    results
}

fn verdict(runtime: &Runtime, source: &Source, name: &str, case: &Case) -> (Verdict, Option<Json>) {
    let plugin = match load(runtime, source, case) {
        Ok(p) => Arc::new(p),
        Err(e) => return (Verdict::Fail(vec![format!("loading: {e}")]), None),
    };
    if let Some(role) = &case.role
        && *role != plugin.role.to_string()
    {
        return (Verdict::Skipped(format!("for {role}s")), None);
    }
    let role = plugin.role;
    // Parsed once: an event without an id or time gets new ones per parse.
    // A case whose event is not valid is a broken case, whatever it expects.
    let event = match crate::event::from_json(&case.event) {
        Ok(e) => e,
        Err(e) => {
            return (
                Verdict::Fail(vec![format!("the case's event is not valid: {e}")]),
                None,
            );
        }
    };
    let def = ChainDef {
        stages: vec![StageDef {
            plugin: "under-test".into(),
            on_error: Some(OnError::Drop),
            on_error_location: None,
            config_json: case.config.to_string(),
            location: Location {
                file: format!("{name}.json"),
                line: 1,
                column: 1,
            },
            key: "config".into(),
        }],
        location: Location {
            file: format!("{name}.json"),
            line: 1,
            column: 1,
        },
    };
    let plugins = BTreeMap::from([("under-test".to_string(), plugin)]);
    let outcome = Chain::build("conformance", &def, &plugins)
        .map_err(|e| match e {
            crate::config::ConfigError::Invalid { message, .. } => message,
            other => other.to_string(),
        })
        .and_then(|mut chain| {
            let first = run_once(&mut chain, &event)?;
            let again = run_once(&mut chain, &event);
            Ok((crate::event::to_json(&event), first, again))
        });
    let mut problems = Vec::new();
    let mut output = None;
    match (&case.expect_error, outcome) {
        (Some(want), Err(got)) if got.contains(want.as_str()) => {}
        (Some(want), Err(got)) => problems.push(format!(
            "expected an error containing {want:?}, got {got:?}"
        )),
        (Some(want), Ok(_)) if want.is_empty() => {
            problems.push("expected the stage to fail, but it succeeded".into())
        }
        (Some(want), Ok(_)) => problems.push(format!(
            "expected an error containing {want:?}, but it succeeded"
        )),
        (None, Err(got)) => problems.push(format!("failed: {got}")),
        (None, Ok((input, first, again))) => {
            if let Some(expect) = &case.expect {
                subset_diff("", expect, &first, &mut problems);
            }
            invariants(role, &input, &first, &mut problems);
            match again {
                Ok(second) if second == first => {}
                Ok(second) => {
                    let mut diff = Vec::new();
                    subset_diff("", &first, &second, &mut diff);
                    problems.push(format!(
                        "invariant: the same event gives the same output; the second run differs: {}",
                        diff.join("; ")
                    ));
                }
                Err(e) => problems.push(format!("the second run of the same event failed: {e}")),
            }
            output = Some(first);
        }
    }
    let verdict = if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems)
    };
    (verdict, output)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn subset_diff_names_paths() {
        let mut out = Vec::new();
        subset_diff(
            "",
            &json!({"a": {"b": 1, "c": [1, 2]}, "d": "x", "gone": null}),
            &json!({"a": {"b": 2, "c": [1, 2], "extra": true}, "d": "x"}),
            &mut out,
        );
        assert_eq!(out, vec!["a.b: expected 1, got 2"]);
        out.clear();
        subset_diff(
            "",
            &json!({"v": [{"t": "E"}, {"t": "F"}]}),
            &json!({"v": [{"t": "E", "x": 1}, {"t": "G"}]}),
            &mut out,
        );
        assert_eq!(out, vec!["v[1].t: expected \"F\", got \"G\""]);
        out.clear();
        subset_diff("", &json!({"v": [1]}), &json!({"v": [1, 2]}), &mut out);
        assert_eq!(out, vec!["v: expected [1], got [1,2]"]);
        out.clear();
        subset_diff("", &json!({"z": 1}), &json!({}), &mut out);
        assert_eq!(out, vec!["z: expected 1, missing"]);
    }
}
