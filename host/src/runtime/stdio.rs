//! Guest stdout and stderr: forwarded line by line to tracing, tagged with the
//! plugin, with the lines of the current call kept to explain a trap (a Rust
//! guest prints its panic message there just before it traps).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line kept before it is forwarded anyway; bounds host memory.
const MAX_LINE: usize = 4096;
/// Lines of one call kept to explain a trap.
const KEPT_LINES: usize = 8;

#[derive(Debug, Default)]
struct Lines {
    partial: Vec<u8>,
    recent: std::collections::VecDeque<String>,
}

/// One guest output stream.
#[derive(Clone)]
pub struct GuestOutput {
    plugin: Arc<str>,
    stream: &'static str,
    lines: Arc<Mutex<Lines>>,
}

impl GuestOutput {
    /// A stream named `stream` (`stdout` or `stderr`) of `plugin`.
    pub fn new(plugin: Arc<str>, stream: &'static str) -> Self {
        GuestOutput {
            plugin,
            stream,
            lines: Arc::default(),
        }
    }

    /// Forgets the lines of earlier calls.
    pub fn clear(&self) {
        let mut lines = self.lines.lock().expect("stdio lock");
        Self::emit_partial(&self.plugin, self.stream, &mut lines);
        lines.recent.clear();
    }

    /// The lines written since the last [`GuestOutput::clear`], joined, without
    /// Rust's hint about backtraces (which cannot be enabled in a plugin).
    pub fn take_recent(&self) -> Option<String> {
        let mut lines = self.lines.lock().expect("stdio lock");
        Self::emit_partial(&self.plugin, self.stream, &mut lines);
        let text: Vec<String> = lines
            .recent
            .drain(..)
            .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        (!text.is_empty()).then(|| text.join(" "))
    }

    fn emit_partial(plugin: &str, stream: &str, lines: &mut Lines) {
        if lines.partial.is_empty() {
            return;
        }
        let line = String::from_utf8_lossy(&lines.partial)
            .trim_end()
            .to_string();
        lines.partial.clear();
        if line.is_empty() {
            return;
        }
        if stream == "stderr" {
            tracing::warn!(plugin, stream, "{line}");
        } else {
            tracing::info!(plugin, stream, "{line}");
        }
        if lines.recent.len() == KEPT_LINES {
            lines.recent.pop_front();
        }
        lines.recent.push_back(line);
    }

    fn push(&self, bytes: &[u8]) {
        let mut lines = self.lines.lock().expect("stdio lock");
        for &b in bytes {
            if b == b'\n' || lines.partial.len() >= MAX_LINE {
                Self::emit_partial(&self.plugin, self.stream, &mut lines);
                if b == b'\n' {
                    continue;
                }
            }
            lines.partial.push(b);
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(tokio::io::sink())
    }
}
