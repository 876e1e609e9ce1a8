//! `faultline serve`: the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;

use faultline::ingest::{ServeOptions, serve};

use super::{BAD_CONFIG, FAILURE, OK};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: super::ChainArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where events, issues and keys are kept.
    #[arg(long, default_value = "./faultline-data")]
    data_dir: PathBuf,
    /// Worker threads running the chain (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Events that may wait for a worker; beyond, ingest answers 429.
    #[arg(long, default_value_t = 10_000)]
    queue: usize,
    /// Largest request body, in KiB.
    #[arg(long, default_value_t = 5 * 1024)]
    max_body_kb: usize,
    /// Largest single event, in KiB.
    #[arg(long, default_value_t = 1024)]
    max_event_kb: usize,
    /// Events older than this many days are deleted by an hourly sweep (and
    /// at start); issues keep their aggregates.
    #[arg(long, default_value_t = 30.0)]
    retention_days: f64,
}

pub fn run(args: Args) -> i32 {
    if !args.retention_days.is_finite() || args.retention_days <= 0.0 {
        eprintln!(
            "error: --retention-days must be a positive number of days, not {}",
            args.retention_days
        );
        return BAD_CONFIG;
    }
    let (config, chain, pipeline) = match args.target.build() {
        Ok(built) => built,
        Err(code) => return code,
    };
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let options = ServeOptions {
        listen: args.listen,
        data_dir: args.data_dir,
        chain,
        config_file: config.file.clone(),
        workers,
        queue: args.queue.max(1),
        max_body_bytes: args.max_body_kb << 10,
        max_event_bytes: args.max_event_kb << 10,
        retention_days: args.retention_days,
    };
    match serve(pipeline, options) {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("error: {e}");
            FAILURE
        }
    }
}
