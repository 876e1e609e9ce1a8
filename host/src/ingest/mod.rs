//! `faultline serve`: HTTP ingest into a bounded queue, a pool of worker
//! threads running the chain, durable storage, and the read API.

pub mod auth;
mod http;
pub mod projects;
pub mod sentry;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use http::ServerState;
pub use workers::{Outcome, Workers};

use crate::Pipeline;
use crate::storage::Storage;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Chain that ingested events run through.
    pub chain: String,
    /// The config file (or `<built-in default>`), for the audit log.
    pub config_file: String,
    /// Worker threads running the chain.
    pub workers: usize,
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
fn retention(storage: Arc<Storage>, days: f64, stop: std::sync::mpsc::Receiver<()>) {
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
    /// A socket or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
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
pub fn serve(pipeline: Pipeline, options: ServeOptions) -> Result<(), ServeError> {
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let storage = Arc::new(Storage::open(
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
    }
    let projects =
        projects::load_or_create(&options.data_dir).map_err(|source| ServeError::Io {
            what: format!("reading projects in {}", options.data_dir.display()),
            source,
        })?;
    let chain = pipeline
        .chains
        .get(&options.chain)
        .expect("chain checked by the caller");
    let loaded = crate::storage::Entry::Audit {
        actor: "faultline".into(),
        action: "config.load".into(),
        detail: format!("{}; chain {:?}", options.config_file, options.chain),
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
        chain,
        options.workers,
        options.queue,
        storage.clone(),
        metrics.clone(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("faultline-http")
        .build()
        .map_err(|source| ServeError::Io {
            what: "starting the async runtime".into(),
            source,
        })?;
    let state = Arc::new(ServerState {
        storage: storage.clone(),
        projects,
        keys,
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
    drop(pipeline);
    println!("faultline stopped");
    result
}
