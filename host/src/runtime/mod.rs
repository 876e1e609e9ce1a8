//! The Wasm runtime: the wasmtime engines (component model, pooling
//! allocator, epoch interruption for plugins with a deadline), their linkers
//! with the host's capabilities, the on-disk cache of compiled components,
//! and loading and checking plugin components.

pub mod bindings;
mod instance;
mod lift;
mod limits;
pub mod load;
mod lower;
pub mod parts;
mod stdio;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use instance::{CallError, Instance, StageOutput};
pub use lift::Lifting;
pub use limits::{Limits, MemoryLimiter};
pub use load::{LoadError, Plugin, Role, Source, inspect};
pub use lower::Lowering;

use crate::tables::Tables;
use bindings::faultline::plugin::host::{self as host_api, LogLevel, LookupError};

/// How often the epoch ticks; the unit of every per-call deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// What a store carries: the deny-all WASI context, the plugin's limits and the
/// tables it was granted.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    plugin: Arc<str>,
    tables: Arc<Tables>,
    granted: Arc<[String]>,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host_api::Host for PluginState {
    fn log(&mut self, level: LogLevel, message: String) {
        let plugin = &*self.plugin;
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn lookup(
        &mut self,
        table: String,
        key: String,
    ) -> Result<Option<Vec<(String, String)>>, LookupError> {
        if !self.granted.contains(&table) {
            return Err(if self.tables.contains(&table) {
                LookupError::NotGranted(table)
            } else {
                LookupError::UnknownTable(table)
            });
        }
        self.tables
            .lookup(&table, &key)
            .map(|row| row.map(|r| r.to_vec()))
            .ok_or(LookupError::UnknownTable(table))
    }
}

/// Engine-wide settings, fixed before any plugin is compiled.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Largest memory any plugin may use, in bytes (sizes the pooling allocator).
    pub max_memory_bytes: u64,
    /// Which engines to make up front (each compiles code for one kind of
    /// [`Metering`]; a kind listed twice is made once). An engine not made
    /// here is made when the first plugin that needs it loads.
    pub engines: Vec<Metering>,
    /// How many instances may be alive at once, per engine.
    pub max_instances: u32,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: default_cache_dir(),
            max_memory_bytes: Limits::default().memory_bytes,
            engines: vec![Metering::of(&Limits::default())],
            max_instances: 1000,
        }
    }
}

/// What a plugin's compiled code checks as it runs, which decides the
/// engine that compiles it: each check costs every plugin compiled with it,
/// so plugins that need neither do not pay for one that does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metering {
    /// The epoch, at every function entry and loop head, so that a call can
    /// be stopped at its deadline.
    pub deadline: bool,
    /// Fuel, for a budget of instructions per call.
    pub fuel: bool,
}

impl Metering {
    /// What a plugin with these limits needs.
    pub fn of(limits: &Limits) -> Metering {
        Metering {
            deadline: limits.timeout_ms.is_some(),
            fuel: limits.fuel.is_some(),
        }
    }

    /// The engine's place in [`Runtime`]'s list.
    fn index(self) -> usize {
        usize::from(self.deadline) | usize::from(self.fuel) << 1
    }
}

/// `$FAULTLINE_CACHE_DIR`, else `$XDG_CACHE_HOME/faultline`, else `~/.cache/faultline`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FAULTLINE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("faultline"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("faultline"))
}

/// Moves on the epoch of every engine whose code checks it, every
/// [`EPOCH_TICK`], on one thread for all of them (started with the first),
/// until dropped.
#[derive(Default)]
struct EpochTicker {
    engines: Arc<Mutex<Vec<Engine>>>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl EpochTicker {
    /// Ticks `engine` too.
    fn add(&self, engine: Engine) {
        self.engines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(engine);
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if thread.is_none() {
            let (engines, stop) = (self.engines.clone(), self.stop.clone());
            let spawned = std::thread::Builder::new()
                .name("faultline-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        for engine in engines
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .iter()
                        {
                            engine.increment_epoch();
                        }
                    }
                })
                .expect("spawning the epoch thread");
            *thread = Some(spawned);
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self
            .thread
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = thread.take() {
            let _ = t.join();
        }
    }
}

/// An engine and the linker with the host's capabilities for it.
pub(crate) struct Sandbox {
    engine: Engine,
    linker: Linker<PluginState>,
}

impl Sandbox {
    /// An engine whose compiled code checks what `metering` says.
    fn new(options: &RuntimeOptions, metering: Metering) -> Result<Sandbox, LoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(metering.deadline);
        config.consume_fuel(metering.fuel);
        // `FAULTLINE_PROFILE=perfmap` writes /tmp/perf-PID.map so `perf report`
        // names the plugins' compiled functions.
        if std::env::var_os("FAULTLINE_PROFILE").is_some_and(|v| v == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(options.max_instances);
        pool.total_core_instances(options.max_instances * 4);
        pool.total_memories(options.max_instances * 2);
        pool.total_tables(options.max_instances * 4);
        pool.max_memories_per_component(4);
        pool.max_tables_per_component(8);
        pool.max_core_instances_per_component(64);
        pool.table_elements(100_000);
        pool.max_memory_size(options.max_memory_bytes as usize);
        // A freed slot's first 256 KiB of memory (a plugin's stack and early
        // heap) and 64 KiB of tables are zeroed in place rather than returned
        // to the kernel: the next instance in the slot starts without page
        // faults (instantiation 6.6 -> 4.1 us median in `--bench chain`), for
        // at most 256 KiB of resident memory per slot ever used.
        pool.linear_memory_keep_resident(256 << 10);
        pool.table_keep_resident(1 << 16);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        host_api::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        Ok(Sandbox { engine, linker })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn linker(&self) -> &Linker<PluginState> {
        &self.linker
    }
}

/// The engines, their linkers and the epoch ticker; shared by every plugin.
///
/// A plugin with a deadline (`limits.timeout_ms`, 100 ms unless set) is
/// compiled with epoch interruption: its code checks the epoch at every
/// function entry and loop, and the host stops a call that runs past its
/// deadline. Those checks make the default chain take ~1.1 times as long
/// (`cargo bench -p faultline --bench chain`, the "deadlines" line), so a
/// plugin an operator trusts to finish (`timeout_ms = "off"`, refused for
/// untrusted plugins) is compiled by an engine without them. Fuel metering
/// (`limits.fuel`) is likewise compiled only into the plugins that have a
/// budget. So there is an engine per [`Metering`], up to four; memory caps,
/// traps and the capabilities are the same for all. Each engine is made up
/// front if the options say a plugin will need it (so that a failure is the
/// runtime's, not a plugin's), else when the first plugin that needs it
/// loads.
pub struct Runtime {
    /// By [`Metering::index`].
    sandboxes: [OnceLock<Sandbox>; 4],
    /// Moves the epoch on for the engines with deadline checks.
    ticker: EpochTicker,
    options: RuntimeOptions,
}

impl Runtime {
    /// Makes the engines and linkers the options ask for up front.
    pub fn new(options: RuntimeOptions) -> Result<Runtime, LoadError> {
        let runtime = Runtime {
            sandboxes: Default::default(),
            ticker: EpochTicker::default(),
            options,
        };
        for &metering in &runtime.options.engines {
            runtime.sandbox(metering)?;
        }
        Ok(runtime)
    }

    /// The options the runtime was built with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// The sandbox whose engine compiles code with `metering`.
    pub(crate) fn sandbox(&self, metering: Metering) -> Result<&Sandbox, LoadError> {
        let slot = &self.sandboxes[metering.index()];
        if let Some(sandbox) = slot.get() {
            return Ok(sandbox);
        }
        let made = Sandbox::new(&self.options, metering)?;
        // Another thread may have made one meanwhile; either serves, and
        // the one kept is ticked.
        let mut kept = false;
        let sandbox = slot.get_or_init(|| {
            kept = true;
            made
        });
        if kept && metering.deadline {
            self.ticker.add(sandbox.engine.clone());
        }
        Ok(sandbox)
    }
}
