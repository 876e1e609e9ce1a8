//! Argument parsing and dispatch; exit codes 0 ok, 1 runtime failure, 2 bad
//! usage or bad config.

mod check;
mod dead_letter;
mod plugin;
mod process;
mod read;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use faultline::config::{Config, ConfigError};

/// Exit code: success.
pub const OK: i32 = 0;
/// Exit code: runtime failure.
pub const FAILURE: i32 = 1;
/// Exit code: bad usage or bad config.
pub const BAD_CONFIG: i32 = 2;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "Runs sandboxed WebAssembly plugins over a stream of error events"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server: ingest, chain, durable storage, read API.
    #[command(display_order = 1)]
    Serve(serve::Args),
    /// Runs NDJSON events through a chain and writes NDJSON results (no server, no store).
    #[command(display_order = 2)]
    Process(process::Args),
    /// Validates a config: syntax, plugins, worlds, imports, stage configs, ordering policy.
    #[command(display_order = 3)]
    Check {
        /// The config file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Plugin tools.
    #[command(display_order = 4, subcommand)]
    Plugin(plugin::Command),
    /// Inspects and replays the dead-letter quarantine.
    #[command(display_order = 9, subcommand, name = "dead-letter")]
    DeadLetter(dead_letter::Command),
    /// Lists stored events, newest first.
    #[command(display_order = 5)]
    Events {
        #[command(flatten)]
        source: read::Source,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        filters: read::EventFilters,
    },
    /// Lists issues.
    #[command(display_order = 6)]
    Issues {
        #[command(flatten)]
        source: read::Source,
        /// Only issues with this status (unresolved, resolved, ignored, regressed).
        #[arg(long)]
        status: Option<String>,
        /// Order: impact, last_seen or count.
        #[arg(long, default_value = "impact")]
        sort: String,
    },
    /// Creates an API key and prints it with the `[[keys]]` entry that grants it.
    #[command(display_order = 10, name = "api-key")]
    ApiKey {
        /// Who holds the key (shown in the audit log).
        #[arg(long)]
        name: String,
        /// Its roles.
        #[arg(long = "role", required = true, value_parser = ["ingest", "read", "admin"])]
        roles: Vec<String>,
        /// Projects it is limited to (default: all).
        #[arg(long = "project")]
        projects: Vec<String>,
    },
    /// Makes an ed25519 key pair for signing plugins: NAME.key (secret) and NAME.pub.
    #[command(display_order = 11)]
    Keygen {
        /// The key's name (the vendor's), as operators will write it in `signed_by`.
        #[arg(long)]
        name: String,
        /// Directory to write the files to.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Per-minute event counts (the last hour by default).
    #[command(display_order = 8)]
    Stats {
        #[command(flatten)]
        source: read::Source,
        /// Break counts down by service, category or level (default: totals only).
        #[arg(long, default_value = "total")]
        by: String,
        /// From (RFC 3339 or seconds since the epoch).
        #[arg(long)]
        since: Option<String>,
        /// Until (RFC 3339 or seconds since the epoch).
        #[arg(long)]
        until: Option<String>,
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
    },
    /// Changes an issue's status.
    #[command(display_order = 7)]
    Issue {
        #[command(flatten)]
        source: read::Source,
        #[command(subcommand)]
        command: read::IssueCommand,
    },
}

/// Which config and chain to run.
#[derive(clap::Args)]
pub struct ChainArgs {
    /// Config file; without it the built-in default chain runs.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Chain to run (default: the only chain, or the one named `default`).
    #[arg(long)]
    pub chain: Option<String>,
}

impl ChainArgs {
    /// Loads the config, picks the chain and builds the pipeline; on failure
    /// reports it and returns the exit code.
    pub fn build(&self) -> Result<(faultline::config::Config, String, faultline::Pipeline), i32> {
        let config = load_config(self.config.as_ref()).map_err(|e| {
            eprintln!("error: {e}");
            BAD_CONFIG
        })?;
        let chain = pick_chain(&config, self.chain.as_deref())?;
        let pipeline = faultline::Pipeline::build(&config).map_err(|e| {
            eprintln!("error: {e}");
            BAD_CONFIG
        })?;
        Ok((config, chain, pipeline))
    }
}

/// Loads `--config`, or the built-in default when absent.
pub fn load_config(path: Option<&PathBuf>) -> Result<Config, ConfigError> {
    match path {
        Some(p) => Config::load(p),
        None => Ok(Config::builtin_default()),
    }
}

/// The chain to run (see [`Config::default_chain`]); reports the problem
/// and returns the exit code otherwise.
pub fn pick_chain(config: &Config, name: Option<&str>) -> Result<String, i32> {
    config.default_chain(name).map_err(|e| {
        eprintln!("error: {e}");
        BAD_CONFIG
    })
}

/// `faultline api-key`: a new key, shown once, and the TOML that grants it.
fn api_key(name: &str, roles: &[String], projects: &[String]) -> i32 {
    use faultline::ingest::auth::{Keys, hash};
    let key = Keys::generate();
    let list = |items: &[String]| {
        items
            .iter()
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("API key (shown once; the server keeps only its hash): {key}");
    println!("\nAdd to the config and reload (SIGHUP or POST /api/v1/admin/reload):\n");
    println!("[[keys]]\nname = {name:?}\nsha256 = \"{}\"", hash(&key));
    println!("roles = [{}]", list(roles));
    if !projects.is_empty() {
        println!("projects = [{}]", list(projects));
    }
    OK
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FAULTLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    faultline::configure_memory();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { BAD_CONFIG } else { OK };
            let _ = e.print();
            return code;
        }
    };
    init_tracing();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Process(args) => process::run(args),
        Command::Check { config } => check::run(&config),
        Command::Plugin(cmd) => plugin::run(cmd),
        Command::DeadLetter(cmd) => dead_letter::run(cmd),
        Command::Events {
            source,
            limit,
            filters,
        } => read::events(source, limit, filters),
        Command::Issues {
            source,
            status,
            sort,
        } => read::issues(source, status, sort),
        Command::Issue { source, command } => read::issue(source, command),
        Command::Stats {
            source,
            by,
            since,
            until,
            project,
        } => read::stats(source, by, since, until, project),
        Command::Keygen { name, dir } => match faultline::signing::keygen(&dir, &name) {
            Ok(public) => {
                let at = |ext: &str| dir.join(format!("{name}.{ext}")).display().to_string();
                println!(
                    "wrote {} (secret: keep it private) and {}",
                    at("key"),
                    at("pub")
                );
                println!("\nOperators trust plugins you sign with it by adding:\n");
                println!("[trusted_keys]\n{name} = \"{}\"", public.encoded());
                OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                BAD_CONFIG
            }
        },
        Command::ApiKey {
            name,
            roles,
            projects,
        } => api_key(&name, &roles, &projects),
    }
}
