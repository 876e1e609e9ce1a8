//! Shared helpers: the built binary, the test plugins (built once per run),
//! temporary directories and running `faultline` with input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use faultline_testkit::{plugin_dir, repo, test_plugin};

/// A fresh directory under the target dir, removed and recreated.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = repo().join("target/e2e").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad output line {l}: {e}")))
            .collect()
    }
}

/// Runs `faultline ARGS` with `stdin` as input, a private compiled-component
/// cache, and returns its exit code and output.
pub fn faultline(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .env("FAULTLINE_CACHE_DIR", repo().join("target/e2e-cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting faultline");
    // Input is written from its own thread: with more than a pipe's worth of
    // input and output, writing it all before reading would deadlock.
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    // A run that exits before reading its input (a bad config) breaks the pipe.
    let _ = writer.join();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// One NDJSON event per message, with ids `…01`, `…02`, …
pub fn events(messages: &[&str]) -> String {
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::json!({"event_id": format!("{:032x}", i + 1), "message": m, "level": "error"}).to_string() + "\n"
        })
        .collect()
}
