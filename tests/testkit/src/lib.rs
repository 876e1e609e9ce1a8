//! Shared by the end-to-end tests and the benchmarks: deterministic test data
//! and the test plugins (hostile, no-op, wrong world) and the Python and
//! JavaScript example plugins, built from source.

pub mod corpus;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Where plugin components are built.
pub fn plugin_dir() -> PathBuf {
    repo().join("target/plugins/wasm32-wasip2/plugin")
}

/// The test plugins under `tests/plugins`.
const TEST_PLUGINS: &[&str] = &[
    "hostile",
    "hostile-redactor",
    "forbidden-import",
    "wrong-world",
    "noop",
    "echo",
    "echo-scorer",
    "noop-scalars",
    "reads-probe",
    "stale-draft",
    "mirror-classifier",
    "mirror-enricher",
    "mirror-redactor",
    "mirror-scorer",
];

/// Builds the test plugins (once per process; cargo makes repeat builds
/// no-ops) and returns the path of `NAME.wasm`. Panics when the build fails:
/// a test that needs a plugin never skips.
pub fn test_plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(repo())
            .args([
                "build",
                "--profile",
                "plugin",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(repo().join("target/plugins"));
        for p in TEST_PLUGINS {
            cmd.args(["-p", p]);
        }
        let status = cmd
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("running cargo to build the test plugins");
        assert!(status.success(), "building the test plugins failed");
    });
    let path = plugin_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "test plugin {} was not built",
        path.display()
    );
    path
}

fn newest_mtime(dir: &Path) -> std::time::SystemTime {
    std::fs::read_dir(dir)
        .expect("reading a plugin source folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.metadata().and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// Runs `cmd` to (re)build `out` when a file in `source` or `wit/` is newer.
fn build_if_stale(out: &Path, source: &Path, mut cmd: Command, hint: &str) -> PathBuf {
    let built = out.metadata().and_then(|m| m.modified()).ok();
    let newest = newest_mtime(source).max(newest_mtime(&repo().join("wit")));
    if built.is_none_or(|b| b < newest) {
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run the build of {}: {e}; {hint}", out.display()));
        assert!(
            status.success(),
            "building {} failed; {hint}",
            out.display()
        );
    }
    out.to_path_buf()
}

/// The Python classifier in `examples/plugins/python-classifier`, built with
/// componentize-py (once per process, and only when its source changed).
pub fn python_plugin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let source = repo().join("examples/plugins/python-classifier");
            let out = repo().join("target/plugins/polyglot/python_classifier.wasm");
            let mut cmd = Command::new("componentize-py");
            cmd.current_dir(&source)
                .args([
                    "-d",
                    "../../../wit",
                    "-w",
                    "classifier-plugin",
                    "componentize",
                    "app",
                    "-o",
                ])
                .arg(&out);
            build_if_stale(
                &out,
                &source,
                cmd,
                "run scripts/setup.sh to install componentize-py",
            )
        })
        .clone()
}

/// The JavaScript scorer in `examples/plugins/js-scorer`, built with
/// componentize-js (once per process, and only when its source changed).
pub fn js_plugin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let source = repo().join("examples/plugins/js-scorer");
            let out = repo().join("target/plugins/polyglot/js_scorer.wasm");
            let mut cmd = Command::new(source.join("node_modules/.bin/componentize-js"));
            cmd.current_dir(&source)
                .args([
                    "scorer.js",
                    "--wit",
                    "../../../wit",
                    "--world-name",
                    "scorer-plugin",
                ])
                .args(["--disable", "http", "fetch-event", "-o"])
                .arg(&out);
            build_if_stale(
                &out,
                &source,
                cmd,
                "run scripts/setup.sh to install componentize-js",
            )
        })
        .clone()
}

/// The C scorer in `examples/plugins/c-scorer`, built by its build script
/// (clang for wasm32-wasi and tools/c-component), once per process and only
/// when its source changed.
pub fn c_plugin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let source = repo().join("examples/plugins/c-scorer");
            let out = repo().join("target/plugins/polyglot/c_scorer.wasm");
            let mut cmd = Command::new(source.join("build.sh"));
            cmd.arg(&out);
            build_if_stale(
                &out,
                &source,
                cmd,
                "run scripts/setup.sh to install clang-14, lld-14 and wasi-libc",
            )
        })
        .clone()
}

/// The number after `name` on a benchmark's command line, or `default`.
pub fn bench_arg(name: &str, default: f64) -> f64 {
    bench_text_arg(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The value after `name` on a bench's command line, if given.
pub fn bench_text_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A plugin file named on a bench's command line, as a TOML string: a
/// relative path is taken from the repository root when it is not found
/// from here (cargo runs benches in the package's directory).
pub fn bench_plugin_path(path: &str) -> toml::Value {
    let mut found = PathBuf::from(path);
    if !found.exists() {
        found = repo().join(path);
    }
    toml::Value::String(found.display().to_string())
}
