//! `faultline serve`: HTTP ingest into a bounded queue, a pool of worker
//! threads running the chain, durable storage, and the read API.

pub mod auth;
mod http;
pub mod projects;
pub mod routing;
pub mod sentry;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub use http::ServerState;
pub use workers::{Generation, Outcome, Workers};

use crate::Pipeline;
use crate::config::Config;
use crate::storage::{Storage, Store};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// `--chain`: the chain for events nothing routes elsewhere (overrides
    /// `[server] chain`, here and after a reload).
    pub chain: Option<String>,
    /// The config file a reload rereads; `None` runs the built-in default.
    pub config_path: Option<PathBuf>,
    /// Worker threads running the chain.
    pub workers: usize,
    /// Threads serving HTTP (reading requests, parsing events, answering).
    pub http_threads: usize,
    /// Events that may wait for a worker; beyond, ingest answers 429.
    pub queue: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest single event, in bytes.
    pub max_event_bytes: usize,
    /// Events older than this many days are deleted (issues keep their counts).
    pub retention_days: f64,
}

/// How often the retention sweep runs.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes events past retention now and then every [`SWEEP_EVERY`], until `stop` closes.
fn retention(storage: Arc<dyn Store>, days: f64, stop: std::sync::mpsc::Receiver<()>) {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        match storage.sweep(now - days * 86_400.0) {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "retention sweep"),
            Err(e) => tracing::error!("retention sweep failed: {e}"),
        }
        match stop.recv_timeout(SWEEP_EVERY) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            _ => return,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// The config cannot be served.
    #[error("{0}")]
    Config(String),
    /// A socket or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// What a reload replaces on the HTTP side: keys, projects and the name of
/// the config they came from.
pub struct Live {
    /// The data directory's keys plus the config's `[[keys]]`.
    pub keys: auth::Keys,
    /// Projects and their DSN keys.
    pub projects: Vec<projects::Project>,
    /// Where the config came from.
    pub config_file: String,
    /// The chain events fall back to.
    pub fallback_chain: String,
}

/// Builds what a config describes for a server: the HTTP side and the
/// workers' generation.
fn assemble(
    config: &Config,
    pipeline: Pipeline,
    options: &ServeOptions,
    stored_keys: &auth::Keys,
) -> Result<(Live, Generation), String> {
    let fallback = config.default_chain(options.chain.as_deref())?;
    let projects = projects::load_or_create(&options.data_dir, &config.projects)
        .map_err(|e| format!("projects in {}: {e}", options.data_dir.display()))?;
    let live = Live {
        keys: stored_keys.with_config(&config.keys),
        projects,
        config_file: config.file.clone(),
        fallback_chain: fallback.clone(),
    };
    let router = routing::Router::new(config, fallback);
    Ok((
        live,
        Generation {
            pipeline: std::sync::Mutex::new(pipeline),
            router,
        },
    ))
}

/// What a successful reload changed.
#[derive(Debug, serde::Serialize)]
pub struct Reloaded {
    /// The config file.
    pub config: String,
    /// Chains now loaded.
    pub chains: Vec<String>,
    /// The fallback chain.
    pub fallback_chain: String,
    /// `[server]` settings that differ from the running ones and need a restart.
    pub restart_needed: Vec<String>,
}

/// Rereads the config, builds everything it describes, and swaps it in;
/// on any error the running config stays and the error says why.
pub fn reload(state: &ServerState, actor: &str) -> Result<Reloaded, String> {
    let options = &state.options;
    let Some(path) = &options.config_path else {
        return Err(
            "this server runs the built-in default config; start it with --config FILE to reload"
                .into(),
        );
    };
    let outcome = Config::load(path)
        .map_err(|e| e.to_string())
        .and_then(|config| {
            let pipeline = Pipeline::build(&config).map_err(|e| e.to_string())?;
            let (live, generation) = assemble(&config, pipeline, options, &state.stored_keys)?;
            Ok((config, live, generation))
        });
    let (config, live, generation) = match outcome {
        Ok(built) => built,
        Err(e) => {
            state.audit(actor, "config.reload_failed", &e);
            return Err(e);
        }
    };
    let s = &config.server;
    let mut restart_needed = Vec::new();
    let mut differs = |name: &str, changed: bool| {
        if changed {
            restart_needed.push(format!("server.{name}"));
        }
    };
    differs("listen", s.listen.is_some_and(|l| l != options.listen));
    differs(
        "data_dir",
        s.data_dir.as_ref().is_some_and(|d| *d != options.data_dir),
    );
    differs("workers", s.workers.is_some_and(|w| w != options.workers));
    differs(
        "http_threads",
        s.http_threads.is_some_and(|t| t != options.http_threads),
    );
    differs("queue", s.queue.is_some_and(|q| q != options.queue));
    differs(
        "max_body_kb",
        s.max_body_bytes
            .is_some_and(|b| b != options.max_body_bytes),
    );
    differs(
        "max_event_kb",
        s.max_event_bytes
            .is_some_and(|b| b != options.max_event_bytes),
    );
    differs(
        "retention_days",
        s.retention_days
            .is_some_and(|d| d != options.retention_days),
    );
    let reloaded = Reloaded {
        config: config.file.clone(),
        chains: config.chains.keys().cloned().collect(),
        fallback_chain: live.fallback_chain.clone(),
        restart_needed,
    };
    let (before, after) = (state.live().keys.names(), live.keys.names());
    let added: Vec<&str> = after
        .iter()
        .filter(|n| !before.contains(n))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = before
        .iter()
        .filter(|n| !after.contains(n))
        .map(String::as_str)
        .collect();
    // Audited before it takes effect: by the time a request can use a new
    // key or reach a new chain, the audit trail already says why.
    state.audit(
        actor,
        "config.reload",
        &format!(
            "{}; chains {}; fallback {:?}",
            reloaded.config,
            reloaded.chains.join(", "),
            reloaded.fallback_chain
        ),
    );
    let changes: Vec<String> = [("added", &added), ("removed", &removed)]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(what, names)| format!("{what}: {}", names.join(", ")))
        .collect();
    if !changes.is_empty() {
        state.audit(actor, "keys.change", &changes.join("; "));
    }
    state.workers.swap(generation);
    state.set_live(live);
    tracing::info!(config = %reloaded.config, "config reloaded");
    Ok(reloaded)
}

/// Writes `value` as JSON to `path` atomically (temporary file, fsync, rename).
fn write_json_durably(
    path: &std::path::Path,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Runs the server until SIGINT or SIGTERM, then drains the queue and stops.
pub fn serve(config: &Config, pipeline: Pipeline, options: ServeOptions) -> Result<(), ServeError> {
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let storage: Arc<dyn Store> = Arc::new(Storage::open(
        &options.data_dir,
        options.queue.max(1024),
        metrics.clone(),
    )?);
    let (keys, new_key) =
        auth::Keys::load_or_create(&options.data_dir).map_err(|source| ServeError::Io {
            what: format!("reading keys in {}", options.data_dir.display()),
            source,
        })?;
    if let Some(key) = new_key {
        println!("created admin API key (shown once; only its hash is stored): {key}");
        let created = crate::storage::Entry::Audit {
            actor: "faultline".into(),
            action: "keys.change".into(),
            detail: "added: admin (first start of the data directory)".into(),
        };
        if let Err(e) = storage.write_and_wait(created) {
            tracing::warn!("could not audit the new admin key: {e}");
        }
    }
    let (live, generation) =
        assemble(config, pipeline, &options, &keys).map_err(ServeError::Config)?;
    let loaded = crate::storage::Entry::Audit {
        actor: "faultline".into(),
        action: "config.load".into(),
        detail: format!(
            "{}; fallback chain {:?}",
            live.config_file, live.fallback_chain
        ),
    };
    if let Err(e) = storage.write_and_wait(loaded) {
        tracing::warn!("could not audit the config load: {e}");
    }
    let (stop_sweep, sweep_stop) = std::sync::mpsc::channel::<()>();
    let sweeper = {
        let storage = storage.clone();
        let days = options.retention_days;
        std::thread::Builder::new()
            .name("faultline-retention".into())
            .spawn(move || retention(storage, days, sweep_stop))
            .map_err(|source| ServeError::Io {
                what: "starting the retention sweep".into(),
                source,
            })?
    };
    let workers = Workers::start(
        generation,
        options.workers,
        options.queue,
        storage.clone(),
        metrics.clone(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.http_threads.max(1))
        .enable_all()
        .thread_name("faultline-http")
        .build()
        .map_err(|source| ServeError::Io {
            what: "starting the async runtime".into(),
            source,
        })?;
    let state = Arc::new(ServerState {
        storage: storage.clone(),
        live: RwLock::new(Arc::new(live)),
        stored_keys: keys,
        reloading: tokio::sync::Mutex::new(()),
        workers,
        metrics,
        options: options.clone(),
    });
    let result = runtime.block_on(http::run(state.clone()));
    drop(runtime);
    if let Ok(state) = Arc::try_unwrap(state) {
        state.workers.stop();
    }
    drop(stop_sweep);
    let _ = sweeper.join();
    storage.close()?;
    println!("faultline stopped");
    result
}
