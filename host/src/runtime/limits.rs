//! Per-plugin limits: memory cap, wall-time deadline per call, optional fuel,
//! output size; and the resource limiter that enforces the memory cap.

use wasmtime::ResourceLimiter;

/// Limits of one plugin, resolved from `[plugins.NAME.limits]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Linear memory cap in bytes.
    pub memory_bytes: u64,
    /// Wall-time deadline of one call, in milliseconds; `None` for a plugin
    /// run without one (`timeout_ms = "off"`), whose code is compiled without
    /// the checks that let the host stop it (see [`super::Runtime`]).
    pub timeout_ms: Option<u64>,
    /// Fuel per call, if metered.
    pub fuel: Option<u64>,
    /// Largest output of one call, in bytes.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            timeout_ms: Some(100),
            fuel: None,
            max_output_bytes: 1 << 20,
        }
    }
}

/// Deadline of `configure`, which may compile rules, in milliseconds.
pub const CONFIGURE_TIMEOUT_MS: u64 = 5_000;

/// Grants memory and table growth up to the plugin's caps and remembers
/// whether a request was refused, so a trap can be reported as a memory overrun.
#[derive(Debug)]
pub struct MemoryLimiter {
    memory_bytes: usize,
    /// Set when a growth request was refused.
    pub exceeded: Option<usize>,
    /// Linear memory granted so far, over all the instance's memories.
    pub granted: usize,
}

impl MemoryLimiter {
    /// A limiter for `memory_bytes` of linear memory.
    pub fn new(memory_bytes: u64) -> Self {
        MemoryLimiter {
            memory_bytes: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
            exceeded: None,
            granted: 0,
        }
    }
}

/// Most table elements a plugin may have; generous for interpreters' tables.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.exceeded = Some(desired);
            wasmtime::bail!(
                "memory limit exceeded: wanted {desired} bytes, limit is {}",
                self.memory_bytes
            );
        }
        self.granted += desired.saturating_sub(current);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
