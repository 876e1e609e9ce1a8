//! Builds the first-party plugins for wasm32-wasip2 so the binary can embed them.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const PLUGINS: &[&str] = &[
    "classifier-taxonomy",
    "enricher-context",
    "redactor-pii",
    "scorer-impact",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["plugins/sdk", "wit", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    for p in PLUGINS {
        println!(
            "cargo:rerun-if-changed={}",
            root.join("plugins").join(p).display()
        );
    }
    println!("cargo:rerun-if-env-changed=FAULTLINE_PLUGIN_TARGET_DIR");
    let target_dir = env::var_os("FAULTLINE_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--profile",
            "plugin",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    for p in PLUGINS {
        cmd.args(["-p", p]);
    }
    // The outer build's flags and wrappers are for the host, not for wasm.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("running cargo to build the first-party plugins");
    if !status.success() {
        panic!(
            "building the first-party plugins for wasm32-wasip2 failed; if the target is missing, \
             run `rustup target add wasm32-wasip2`"
        );
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    for p in PLUGINS {
        let file = format!("{}.wasm", p.replace('-', "_"));
        let built = target_dir.join("wasm32-wasip2").join("plugin").join(&file);
        std::fs::copy(&built, out_dir.join(&file))
            .unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
    }
}
