//! Shared by the end-to-end tests and the benchmarks: deterministic test data
//! and the test plugins (hostile, no-op, wrong world), built from source.

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
