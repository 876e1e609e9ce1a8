use std::path::{Path, PathBuf};

use super::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every `tests/configs/invalid/NAME.toml` fails with exactly the text in `NAME.expected`.
#[test]
fn invalid_configs_golden() {
    let dir = repo().join("tests/configs/invalid");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let name = path.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let err = Config::parse(&text, name, &dir)
            .err()
            .unwrap_or_else(|| panic!("{name} parsed"));
        let got = err.to_string();
        let expected_path = path.with_extension("expected");
        if std::env::var_os("FAULTLINE_BLESS").is_some() {
            std::fs::write(&expected_path, format!("{got}\n")).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        assert_eq!(got, expected.trim_end(), "{name}");
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} golden configs");
}

#[test]
fn example_config_parses() {
    let config = Config::load(&repo().join("examples/faultline.toml")).unwrap();
    assert!(config.chains.contains_key("default"));
    assert!(config.plugins.values().any(|p| p.trust == Trust::Untrusted));
    match &config.tables["services"].source {
        TableSource::File(p) => assert!(
            p.ends_with("tables/services.csv") && p.exists(),
            "{}",
            p.display()
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_thread_counts_are_read() {
    let dir = std::env::temp_dir().join(format!("faultline-server-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("faultline.toml");
    std::fs::write(
        &path,
        "[server]\nworkers = 3\nhttp_threads = 2\n\n[plugins.t]\nbuiltin = \"classifier-taxonomy\"\n\n[[chains.default.stages]]\nplugin = \"t\"\n",
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.server.workers, Some(3));
    assert_eq!(config.server.http_threads, Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn builtin_default_is_enrich_redact_classify_score() {
    let config = Config::builtin_default();
    let stages: Vec<&str> = config.chains["default"]
        .stages
        .iter()
        .map(|s| s.plugin.as_str())
        .collect();
    assert_eq!(stages, vec!["context", "pii", "taxonomy", "impact"]);
}

#[test]
fn locations_count_lines_and_columns() {
    let text = "a\nbc\n\tdef";
    assert_eq!(Location::at("f", text, 0).to_string(), "f:1:1");
    assert_eq!(Location::at("f", text, 3).to_string(), "f:2:2");
    assert_eq!(Location::at("f", text, 7).to_string(), "f:3:3");
}
