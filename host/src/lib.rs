//! faultline: a host that runs sandboxed WebAssembly plugins (classifiers,
//! enrichers, redactors, business-impact scorers) over a stream of error events.
//!
//! The host deliberately narrows what plugins can do: they get typed events
//! through the `faultline:plugin` WIT package, a log and table-lookup
//! capability, clocks and random numbers, and nothing else: no files,
//! sockets or environment. Each call runs under a memory cap, a deadline and
//! optionally a fuel budget; a failing plugin fails one stage of one event.

#![deny(missing_docs)]

pub mod builtin;
pub mod chain;
pub mod config;
pub mod conformance;
pub mod event;
pub mod ingest;
pub mod json;
pub mod metrics;
pub mod runtime;
pub mod scaffold;
pub mod signing;
pub mod storage;
pub mod tables;

use std::collections::BTreeMap;
use std::sync::Arc;

/// Every event is parsed, converted, lowered into plugins and serialized
/// again: tens of small allocations per stage. mimalloc's thread-local free
/// lists make those several times cheaper than glibc's malloc (see
/// BENCHMARKS.md). Declared in the library so the binary, the tests and the
/// benchmarks all run on the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `mimalloc.h`; the Rust bindings
/// name no constant for it). Checked by a test against the documented default.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Keeps freed memory mapped instead of handing it back to the OS a second
/// later, mimalloc's default. The host frees and allocates the same few
/// megabytes over and over (documents, batches, sled's pages); returning them
/// and faulting zeroed pages in again took ~8 % of `faultline serve`'s CPU
/// and ~10 % of its throughput (BENCHMARKS.md). Resident memory stays at its
/// peak instead of falling back between bursts. The binary and the
/// benchmarks call this first thing.
pub fn configure_memory() {
    // SAFETY: sets a process-wide option of the allocator; touches no memory.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Turns off transparent huge pages for the process (Linux; elsewhere a
/// no-op). mimalloc asks for them on its arenas, and the kernel then zeroes
/// 2 MiB at a time on first touch, in whichever thread touches it: a 1–5 ms
/// stall, which was the ack latency's p99 in `faultline serve` (5.2 → 2.0 ms
/// at the same load, BENCHMARKS.md). `serve` calls this; `process` keeps huge
/// pages, which make its batch work ~2 % faster.
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: a process attribute read by the kernel at page faults; no memory is passed.
    if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
        tracing::debug!(
            "could not turn off transparent huge pages: {}",
            std::io::Error::last_os_error()
        );
    }
}

use chain::Chain;
use config::{Config, ConfigError, TableSource};
use runtime::{Plugin, Runtime, RuntimeOptions};
use tables::Tables;

/// Everything a config describes, loaded and checked: the runtime, tables,
/// plugins and chains.
pub struct Pipeline {
    /// Chains by name.
    pub chains: BTreeMap<String, Chain>,
    /// Plugins by name.
    pub plugins: BTreeMap<String, Arc<Plugin>>,
    /// The enrichment tables.
    pub tables: Arc<Tables>,
    /// The runtime; declared last so instances are dropped before it.
    pub runtime: Runtime,
}

fn at(location: &config::Location, key: String, message: String) -> ConfigError {
    ConfigError::Invalid {
        location: location.clone(),
        key,
        message,
    }
}

impl Pipeline {
    /// Loads tables and plugins and builds every chain of `config`.
    pub fn build(config: &Config) -> Result<Pipeline, ConfigError> {
        let max_memory = config
            .plugins
            .values()
            .map(|p| p.limits.memory_bytes)
            .max()
            .unwrap_or(0);
        let options = RuntimeOptions {
            cache_dir: config.cache_dir.clone(),
            max_memory_bytes: max_memory.max(runtime::Limits::default().memory_bytes),
            engines: (config.plugins.values())
                .map(|p| runtime::Metering::of(&p.limits))
                .collect(),
            max_instances: config.max_instances,
        };
        let runtime = Runtime::new(options).map_err(|e| ConfigError::Invalid {
            location: config::Location {
                file: config.file.clone(),
                line: 1,
                column: 1,
            },
            key: "runtime".into(),
            message: e.to_string(),
        })?;
        let mut tables = Tables::default();
        for (name, def) in &config.tables {
            let rows = match &def.source {
                TableSource::File(path) => tables::load_file(path, &def.key),
                TableSource::Inline(rows) => tables::inline_rows(rows, &def.key),
            }
            .map_err(|e| at(&def.location, format!("tables.{name}"), e.to_string()))?;
            tables.insert(name, rows);
        }
        let tables = Arc::new(tables);
        let mut plugins = BTreeMap::new();
        for (name, def) in &config.plugins {
            let spec = runtime::load::PluginSpec {
                name,
                source: def.source.clone(),
                sha256: def.sha256.as_deref(),
                signed_by: def.signed_by.clone(),
                signature: def.signature.clone(),
                limits: def.limits,
                trusted: def.trust == config::Trust::Trusted,
                granted: def.tables.clone(),
                allow_imports: def.allow_imports.clone(),
            };
            let plugin = Plugin::load(&runtime, spec, tables.clone())
                .map_err(|e| at(&def.location, format!("plugins.{name}"), e.to_string()))?;
            plugins.insert(name.clone(), Arc::new(plugin));
        }
        let mut chains = BTreeMap::new();
        for (name, def) in &config.chains {
            chains.insert(name.clone(), Chain::build(name, def, &plugins)?);
        }
        Ok(Pipeline {
            chains,
            plugins,
            tables,
            runtime,
        })
    }
}

#[cfg(test)]
mod allocator_tests {
    #[test]
    fn the_purge_delay_option_is_the_one_mimalloc_documents() {
        // Documented default (mimalloc v3): 1000 ms; no test changes it.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_runs_without_transparent_huge_pages() {
        super::no_transparent_huge_pages();
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }
}
