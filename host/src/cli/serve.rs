//! `faultline serve`: the HTTP server. Each setting comes from its flag, else
//! the config's `[server]` section, else the default shown in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use faultline::ingest::{ServeOptions, serve};

use super::{BAD_CONFIG, FAILURE, OK};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: super::ChainArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Where events, issues and keys are kept [default: ./faultline-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Worker threads running the chains [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
    /// Threads serving HTTP: reading requests, parsing events, answering
    /// [default: one per four cores, at least one].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    http_threads: Option<u32>,
    /// Events that may wait for a worker; beyond, ingest answers 429 [default: 10000].
    #[arg(long)]
    queue: Option<usize>,
    /// Largest request body, in KiB [default: 5120].
    #[arg(long)]
    max_body_kb: Option<usize>,
    /// Largest single event, in KiB [default: 1024].
    #[arg(long)]
    max_event_kb: Option<usize>,
    /// Events older than this many days are deleted by an hourly sweep (and
    /// at start); issues keep their aggregates [default: 30].
    #[arg(long)]
    retention_days: Option<f64>,
}

pub fn run(args: Args) -> i32 {
    faultline::no_transparent_huge_pages();
    if let Some(days) = args.retention_days
        && (!days.is_finite() || days <= 0.0)
    {
        eprintln!("error: --retention-days must be a positive number of days, not {days}");
        return BAD_CONFIG;
    }
    let (config, _, pipeline) = match args.target.build() {
        Ok(built) => built,
        Err(code) => return code,
    };
    let server = &config.server;
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let options = ServeOptions {
        listen: args
            .listen
            .or(server.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        data_dir: args
            .data_dir
            .or_else(|| server.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("./faultline-data")),
        chain: args.target.chain.clone(),
        config_path: args.target.config.clone(),
        workers: args.workers.or(server.workers).unwrap_or(cores),
        // The chains take most of the CPU per event; parsing and answering
        // HTTP about a seventh (BENCHMARKS.md), and each HTTP thread more
        // than needed costs wake-ups.
        http_threads: args
            .http_threads
            .map(|t| t as usize)
            .or(server.http_threads)
            .unwrap_or(cores.div_ceil(4)),
        queue: args.queue.or(server.queue).unwrap_or(10_000).max(1),
        max_body_bytes: args
            .max_body_kb
            .map(|k| k << 10)
            .or(server.max_body_bytes)
            .unwrap_or(5 << 20),
        max_event_bytes: args
            .max_event_kb
            .map(|k| k << 10)
            .or(server.max_event_bytes)
            .unwrap_or(1 << 20),
        retention_days: args
            .retention_days
            .or(server.retention_days)
            .unwrap_or(30.0),
    };
    match serve(&config, pipeline, options) {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("error: {e}");
            FAILURE
        }
    }
}
