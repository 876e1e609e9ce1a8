//! A live, configured instance of a plugin in its own short-lived `Store`, and
//! the guarded calls into it: deadline, memory cap, fuel and output size, with
//! traps and the guest's own errors told apart.

use std::fmt;
use std::sync::Arc;

use wasmtime::Store;
use wasmtime::Trap;
use wasmtime::component::{ComponentNamedList, Lift, Lower, TypedFunc};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::ClosedInputStream;

use super::bindings::exports::faultline::plugin::{classifier, enricher, redactor, scorer};
use super::bindings::faultline::plugin::types::{
    Attribute, Classification, Edit, Enrichment, Event, Impact, PluginError, PluginMetadata,
    Redaction, Value,
};
use super::lift::{Lifted, Lifting, Read};
use super::limits::CONFIGURE_TIMEOUT_MS;
use super::load::{Plugin, RoleIndices};
use super::lower::{Lowered, Lowering};
use super::parts::Withheld;
use super::stdio::GuestOutput;
use super::{EPOCH_TICK, MemoryLimiter, PluginState};

/// Why a call into a plugin failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The call ran past its deadline.
    Timeout {
        /// The deadline.
        timeout_ms: u64,
    },
    /// The plugin tried to grow its memory past the cap.
    MemoryLimit {
        /// The cap.
        limit_bytes: u64,
    },
    /// The plugin recursed past the stack limit.
    StackOverflow,
    /// The plugin ran out of fuel.
    OutOfFuel {
        /// Fuel given per call.
        fuel: u64,
    },
    /// Any other trap (a panic, `unreachable`, an out-of-bounds access, ...).
    Trap {
        /// The trap.
        message: String,
        /// What the plugin wrote to stderr during the call, if anything.
        stderr: Option<String>,
    },
    /// The plugin returned its own error.
    Plugin(PluginError),
    /// The output was larger than allowed.
    OutputTooLarge {
        /// Size of the output.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The plugin could not be instantiated.
    Instantiate(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout { timeout_ms } => write!(
                f,
                "timed out after {timeout_ms} ms; raise limits.timeout_ms or fix the plugin"
            ),
            CallError::MemoryLimit { limit_bytes } => write!(
                f,
                "exceeded its memory limit of {} MiB; raise limits.memory_mb or fix the plugin",
                limit_bytes >> 20
            ),
            CallError::StackOverflow => write!(f, "overflowed its stack (unbounded recursion?)"),
            CallError::OutOfFuel { fuel } => {
                write!(
                    f,
                    "ran out of fuel ({fuel} units per call); raise limits.fuel or fix the plugin"
                )
            }
            CallError::Trap { message, stderr } => {
                write!(f, "trapped: {message}")?;
                if let Some(line) = stderr {
                    write!(f, " (plugin stderr: {line})")?;
                }
                Ok(())
            }
            CallError::Plugin(e) => match e {
                PluginError::InvalidConfig(m) => write!(f, "rejected its config: {m}"),
                PluginError::InvalidEvent(m) => write!(f, "rejected the event: {m}"),
                PluginError::Internal(m) => write!(f, "failed: {m}"),
            },
            CallError::OutputTooLarge { bytes, limit } => write!(
                f,
                "returned {bytes} bytes, more than the output limit of {limit} bytes; raise limits.max_output_kb or fix the plugin"
            ),
            CallError::Instantiate(m) => write!(f, "could not be instantiated: {m}"),
        }
    }
}

impl CallError {
    /// Whether the instance must be thrown away (its state may be corrupt).
    pub fn poisons_instance(&self) -> bool {
        !matches!(
            self,
            CallError::Plugin(_) | CallError::OutputTooLarge { .. }
        )
    }

    /// A short name for metrics and provenance.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Timeout { .. } => "timeout",
            CallError::MemoryLimit { .. } => "memory",
            CallError::StackOverflow => "stack-overflow",
            CallError::OutOfFuel { .. } => "fuel",
            CallError::Trap { .. } => "trap",
            CallError::Plugin(_) => "plugin-error",
            CallError::OutputTooLarge { .. } => "output-too-large",
            CallError::Instantiate(_) => "instantiate",
        }
    }
}

/// What one stage call returned.
#[derive(Debug, Clone)]
pub enum StageOutput {
    /// From a classifier.
    Classification(Option<Classification>),
    /// From an enricher.
    Enrichment(Enrichment),
    /// From a redactor.
    Edits(Vec<Edit>),
    /// From a scorer.
    Impact(Impact),
}

enum Guest {
    Classifier(classifier::Guest),
    Enricher(enricher::Guest),
    Redactor(redactor::Guest),
    Scorer(scorer::Guest),
}

/// A configured instance of a plugin.
pub struct Instance {
    plugin: Arc<Plugin>,
    store: Store<PluginState>,
    guest: Guest,
    stderr: GuestOutput,
    calls: u64,
    /// How events are lowered when not the plugin's own choice (for
    /// comparing the ways).
    lowering: Option<Lowering>,
    /// How results are lifted (the host's way, but for comparing the ways).
    lifting: Lifting,
    /// Whether one of the plugin's exports has returned: only then may an
    /// event go to it in one block (see `lower`).
    returned: bool,
    /// Linear memory after the first [`SETTLE_CALLS`] calls.
    settled_bytes: Option<usize>,
}

/// Calls after which an instance's memory is taken as its working size
/// (lazily built caches, such as a regex engine's, have grown by then).
pub const SETTLE_CALLS: u64 = 100;

/// Growth of linear memory past the settled size after which an instance is
/// replaced.
pub const RECYCLE_AFTER_GROWTH: usize = 16 << 20;

/// Calls after which an instance is replaced whatever its memory.
pub const RECYCLE_AFTER_CALLS: u64 = 1_000_000;

fn new_store(plugin: &Plugin) -> (Store<PluginState>, GuestOutput) {
    let stdout = GuestOutput::new(plugin.name.clone(), "stdout");
    let stderr = GuestOutput::new(plugin.name.clone(), "stderr");
    // Deny-all WASI: no preopened directories, no environment, no arguments,
    // no network, no input; only clocks, random and forwarded stdout/stderr.
    let wasi = WasiCtxBuilder::new()
        .stdin(ClosedInputStream)
        .stdout(stdout)
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let state = PluginState {
        wasi,
        table: wasmtime::component::ResourceTable::new(),
        limiter: MemoryLimiter::new(plugin.limits.memory_bytes),
        plugin: plugin.name.clone(),
        tables: plugin.tables.clone(),
        granted: plugin.granted.clone(),
    };
    let mut store = Store::new(plugin.pre.engine(), state);
    store.limiter(|s| &mut s.limiter);
    (store, stderr)
}

/// `func` with other parameter and result types: a role's export taking the
/// event (and the scorer's classification) as [`Lowered`] where `bindgen!`
/// has `&Event` (and `Option<&Classification>`), and returning [`Lifted`]
/// where it has the result itself.
///
/// # Safety
///
/// `P` must type-check as `Bound`, and `R` as `BoundR`.
unsafe fn retyped<Bound, P, BoundR, R>(func: TypedFunc<Bound, BoundR>) -> TypedFunc<P, R>
where
    Bound: ComponentNamedList + Lower,
    P: ComponentNamedList + Lower,
    BoundR: ComponentNamedList + Lift,
    R: ComponentNamedList + Lift,
{
    // SAFETY: `func` was checked with `Bound` and `BoundR`, which `P` and `R`
    // type-check as.
    unsafe { TypedFunc::new_unchecked(*func.func()) }
}

/// Calls a role's export with `params` (which type-check as `Bound`), its
/// result lifted as `how` says.
fn call<Bound, P, R>(
    func: TypedFunc<Bound, (R,)>,
    store: &mut Store<PluginState>,
    params: P,
    how: Lifting,
) -> wasmtime::Result<R>
where
    Bound: ComponentNamedList + Lower,
    P: ComponentNamedList + Lower + ParamsOf<Bound>,
    R: Read + Lift,
{
    // SAFETY (both): `ParamsOf` says `P` type-checks as `Bound`, and
    // `Lifted<R>` type-checks as `R`.
    match how {
        Lifting::Host => unsafe { retyped::<_, P, _, (Lifted<R>,)>(func) }
            .call(store, params)
            .map(|(Lifted(r),)| r),
        Lifting::Wasmtime => unsafe { retyped::<_, P, _, (R,)>(func) }
            .call(store, params)
            .map(|(r,)| r),
    }
}

/// Parameters that type-check as `Bound`'s.
///
/// # Safety
///
/// Implemented only where that holds.
unsafe trait ParamsOf<Bound> {}

// SAFETY: `Lowered<V>` type-checks as `V`.
unsafe impl ParamsOf<(&Event,)> for (Lowered<&Event>,) {}
// SAFETY: as above, for both.
unsafe impl ParamsOf<(&Event, Option<&Classification>)>
    for (Lowered<&Event>, Lowered<Option<&Classification>>)
{
}

/// The deadline of instantiating and configuring `plugin`: none for a
/// plugin compiled without one.
fn configure_deadline(plugin: &Plugin) -> Option<u64> {
    plugin.limits.timeout_ms.map(|_| CONFIGURE_TIMEOUT_MS)
}

fn ticks(timeout_ms: u64) -> u64 {
    (timeout_ms / EPOCH_TICK.as_millis() as u64).max(1) + 1
}

impl Instance {
    /// Instantiates `plugin` in a fresh store, without configuring it.
    fn instantiate(plugin: Arc<Plugin>) -> Result<Instance, CallError> {
        let (store, guest, stderr) = instantiate_guest(&plugin)?;
        Ok(Instance {
            plugin,
            store,
            guest,
            stderr,
            calls: 0,
            lowering: None,
            lifting: Lifting::Host,
            returned: false,
            settled_bytes: None,
        })
    }

    /// Instantiates `plugin` without calling `configure`: for measuring the
    /// instantiation alone. Calling such an instance's role export is a plugin error.
    #[doc(hidden)]
    pub fn unconfigured(plugin: Arc<Plugin>) -> Result<Instance, CallError> {
        Self::instantiate(plugin)
    }

    /// Instantiates `plugin` and calls `configure` with the stage's config as JSON.
    pub fn new(plugin: Arc<Plugin>, config_json: &str) -> Result<Instance, CallError> {
        let mut inst = Self::instantiate(plugin)?;
        let deadline = configure_deadline(&inst.plugin);
        let result = inst.guarded(deadline, |store, guest| match guest {
            Guest::Classifier(g) => g.call_configure(store, config_json),
            Guest::Enricher(g) => g.call_configure(store, config_json),
            Guest::Redactor(g) => g.call_configure(store, config_json),
            Guest::Scorer(g) => g.call_configure(store, config_json),
        })?;
        result.map_err(CallError::Plugin)?;
        Ok(inst)
    }

    /// Lowers events into this instance as `how` says, or (`None`) as the
    /// plugin allows: every way must show the plugin the same event, and the
    /// benchmarks compare their cost. [`Lowering::OneBlock`] stays per value
    /// for a plugin that does not allow it.
    #[doc(hidden)]
    pub fn set_lowering(&mut self, how: Option<Lowering>) {
        self.lowering = how;
    }

    /// Lifts results from this instance as `how` says: both ways must read
    /// the same values, and the benchmarks compare their cost.
    #[doc(hidden)]
    pub fn set_lifting(&mut self, how: Lifting) {
        self.lifting = how;
    }

    /// How the next event will be lowered into this instance: in one block
    /// if the plugin carries the section that allows it and one of its
    /// exports has returned, otherwise per value.
    pub fn lowering(&self) -> Lowering {
        match self.lowering {
            Some(Lowering::Wasmtime) => Lowering::Wasmtime,
            Some(Lowering::PerValue) => Lowering::PerValue,
            Some(Lowering::OneBlock) | None => {
                if self.returned && self.plugin.argument_block {
                    Lowering::OneBlock
                } else {
                    Lowering::PerValue
                }
            }
        }
    }

    /// The plugin this is an instance of.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// Whether the instance should be replaced by a fresh one before its next
    /// call: its linear memory grew by more than [`RECYCLE_AFTER_GROWTH`] (or a
    /// quarter of its limit, if less) since it settled after its first
    /// [`SETTLE_CALLS`] calls — a leak or fragmentation, which a fresh
    /// instance resets before it reaches the limit — or it made
    /// [`RECYCLE_AFTER_CALLS`] calls. A plugin whose memory stays flat keeps
    /// its instance, and the cost of `configure` (which may compile rules) is
    /// not paid again and again.
    pub fn worn_out(&self) -> bool {
        let granted = self.store.data().limiter.granted;
        let allowance = RECYCLE_AFTER_GROWTH.min(self.plugin.limits.memory_bytes as usize / 4);
        self.calls >= RECYCLE_AFTER_CALLS
            || self
                .settled_bytes
                .is_some_and(|settled| granted > settled + allowance)
    }

    /// Runs `f` under the plugin's limits (and a deadline of `timeout_ms`,
    /// if it has one) and classifies any failure.
    fn guarded<R>(
        &mut self,
        timeout_ms: Option<u64>,
        f: impl FnOnce(&mut Store<PluginState>, &Guest) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        self.calls += 1;
        self.stderr.clear();
        if let Some(ms) = timeout_ms {
            self.store.set_epoch_deadline(ticks(ms));
        }
        if let Some(fuel) = self.plugin.limits.fuel {
            self.store
                .set_fuel(fuel)
                .map_err(|e| CallError::Instantiate(e.to_string()))?;
        }
        match f(&mut self.store, &self.guest) {
            Ok(r) => {
                self.returned = true;
                Ok(r)
            }
            Err(e) => Err(classify_error(
                &self.plugin,
                &mut self.store,
                &self.stderr,
                e,
                timeout_ms,
            )),
        }
    }

    /// Runs the plugin's role function on `event`. The parts of the event the
    /// plugin's metadata says it does not read are taken out for the call and
    /// put back after it, whatever its outcome.
    pub fn run(
        &mut self,
        event: &mut Event,
        classification: Option<&Classification>,
    ) -> Result<StageOutput, CallError> {
        let timeout = self.plugin.limits.timeout_ms;
        let limit = self.plugin.limits.max_output_bytes;
        let withheld = self
            .plugin
            .metadata
            .reads
            .map(|reads| Withheld::take(event, reads));
        let event_ref: &Event = event;
        let how = self.lowering();
        let lifting = self.lifting;
        let output = self.guarded(timeout, |store, guest| {
            let event = Lowered {
                value: event_ref,
                how,
            };
            Ok(match guest {
                Guest::Classifier(g) => call(g.func_classify(), store, (event,), lifting)?
                    .map(StageOutput::Classification),
                Guest::Enricher(g) => {
                    call(g.func_enrich(), store, (event,), lifting)?.map(StageOutput::Enrichment)
                }
                Guest::Redactor(g) => {
                    call(g.func_redact(), store, (event,), lifting)?.map(StageOutput::Edits)
                }
                Guest::Scorer(g) => {
                    let classification = Lowered {
                        value: classification,
                        how,
                    };
                    call(g.func_score(), store, (event, classification), lifting)?
                        .map(StageOutput::Impact)
                }
            })
        });
        if let Some(withheld) = withheld {
            withheld.restore(event);
        }
        if self.settled_bytes.is_none() && self.calls >= SETTLE_CALLS {
            self.settled_bytes = Some(self.store.data().limiter.granted);
        }
        let output = output?.map_err(CallError::Plugin)?;
        let bytes = output_size(&output);
        if bytes > limit {
            return Err(CallError::OutputTooLarge { bytes, limit });
        }
        Ok(output)
    }
}

fn classify_error(
    plugin: &Plugin,
    store: &mut Store<PluginState>,
    stderr: &GuestOutput,
    e: wasmtime::Error,
    timeout_ms: Option<u64>,
) -> CallError {
    if store.data_mut().limiter.exceeded.take().is_some() {
        return CallError::MemoryLimit {
            limit_bytes: plugin.limits.memory_bytes,
        };
    }
    match e.downcast_ref::<Trap>() {
        // Only code compiled for a deadline checks the epoch.
        Some(Trap::Interrupt) if let Some(timeout_ms) = timeout_ms => {
            CallError::Timeout { timeout_ms }
        }
        Some(Trap::StackOverflow) => CallError::StackOverflow,
        Some(Trap::OutOfFuel) => CallError::OutOfFuel {
            fuel: plugin.limits.fuel.unwrap_or(0),
        },
        Some(trap) => CallError::Trap {
            message: trap.to_string(),
            stderr: stderr.take_recent(),
        },
        None => CallError::Trap {
            message: format!("{e:#}"),
            stderr: stderr.take_recent(),
        },
    }
}

fn attributes_size(attrs: &[Attribute]) -> usize {
    attrs
        .iter()
        .map(|a| {
            a.key.len()
                + match &a.value {
                    Value::Text(s) => s.len(),
                    _ => 8,
                }
        })
        .sum()
}

fn output_size(output: &StageOutput) -> usize {
    match output {
        StageOutput::Classification(None) => 0,
        StageOutput::Classification(Some(c)) => {
            c.code.len()
                + c.taxonomy.len()
                + c.category.iter().map(String::len).sum::<usize>()
                + c.fingerprint
                    .iter()
                    .flatten()
                    .map(String::len)
                    .sum::<usize>()
        }
        StageOutput::Enrichment(e) => {
            e.tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
                + attributes_size(&e.attributes)
        }
        StageOutput::Edits(edits) => edits
            .iter()
            .map(|e| {
                e.path.len()
                    + match &e.action {
                        Redaction::Replace(s) => s.len(),
                        Redaction::Remove => 0,
                    }
            })
            .sum(),
        StageOutput::Impact(i) => {
            i.factors
                .iter()
                .map(|f| f.name.len() + f.detail.len() + 24)
                .sum::<usize>()
                + i.revenue_at_risk.as_ref().map_or(0, |m| m.currency.len())
        }
    }
}

/// A fresh store with the plugin instantiated in it and its role interface loaded.
fn instantiate_guest(
    plugin: &Plugin,
) -> Result<(Store<PluginState>, Guest, GuestOutput), CallError> {
    let (mut store, stderr) = new_store(plugin);
    let deadline = configure_deadline(plugin);
    if let Some(ms) = deadline {
        store.set_epoch_deadline(ticks(ms));
    }
    // Fails when fuel is not metered at all: then there is nothing to top up.
    let _ = store.set_fuel(u64::MAX / 2);
    let instance = plugin
        .pre
        .instantiate(&mut store)
        .map_err(|e| classify_error(plugin, &mut store, &stderr, e, deadline))?;
    let load = |e: wasmtime::Error| CallError::Instantiate(format!("{e:#}"));
    let guest = match &plugin.indices {
        RoleIndices::Classifier(i) => {
            Guest::Classifier(i.load(&mut store, &instance).map_err(load)?)
        }
        RoleIndices::Enricher(i) => Guest::Enricher(i.load(&mut store, &instance).map_err(load)?),
        RoleIndices::Redactor(i) => Guest::Redactor(i.load(&mut store, &instance).map_err(load)?),
        RoleIndices::Scorer(i) => Guest::Scorer(i.load(&mut store, &instance).map_err(load)?),
    };
    Ok((store, guest, stderr))
}

/// Instantiates the plugin once and asks for its metadata (the plugin is not
/// in an `Arc` yet, so this does not go through [`Instance`]).
pub(crate) fn read_metadata(plugin: &Plugin) -> Result<PluginMetadata, CallError> {
    let (mut store, guest, stderr) = instantiate_guest(plugin)?;
    let result = match &guest {
        Guest::Classifier(g) => g.call_metadata(&mut store),
        Guest::Enricher(g) => g.call_metadata(&mut store),
        Guest::Redactor(g) => g.call_metadata(&mut store),
        Guest::Scorer(g) => g.call_metadata(&mut store),
    };
    let deadline = configure_deadline(plugin);
    result.map_err(|e| classify_error(plugin, &mut store, &stderr, e, deadline))
}
