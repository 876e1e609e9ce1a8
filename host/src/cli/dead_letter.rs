//! `faultline dead-letter list|replay`: inspect the quarantine of a data
//! directory, and run its events through a (fixed) chain again.

use std::path::PathBuf;

use faultline::chain::{Disposition, output};
use faultline::storage::{Entry, Storage, Store};

use super::{FAILURE, OK};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Lists dead-lettered events with the error that put them there.
    List {
        /// Data directory (the server must not be running on it).
        #[arg(long, default_value = "./faultline-data")]
        data_dir: PathBuf,
        /// Print the entries as JSON lines (events included, unredacted).
        #[arg(long)]
        json: bool,
    },
    /// Runs dead-lettered events through a chain again; those it processes are
    /// stored and leave the quarantine, the others stay.
    Replay {
        #[command(flatten)]
        target: super::ChainArgs,
        /// Data directory (the server must not be running on it).
        #[arg(long, default_value = "./faultline-data")]
        data_dir: PathBuf,
    },
}

/// Opens the data directory and reads its dead letters.
fn open(dir: &std::path::Path) -> Result<(Storage, Vec<Entry>), String> {
    if !dir.join("db").exists() {
        return Err(format!("{} holds no faultline data", dir.display()));
    }
    let storage = Storage::open(dir, 64, Default::default()).map_err(|e| {
        format!(
            "cannot open {}: {e}; stop `faultline serve` on it first",
            dir.display()
        )
    })?;
    let entries = storage.dead_letters().map_err(|e| e.to_string())?;
    Ok((storage, entries))
}

pub fn run(cmd: Command) -> i32 {
    match cmd {
        Command::List { data_dir, json } => {
            let (_storage, entries) = match open(&data_dir) {
                Ok(opened) => opened,
                Err(e) => {
                    eprintln!("error: {e}");
                    return FAILURE;
                }
            };
            for entry in &entries {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string(entry).expect("entries serialize")
                    );
                } else if let Entry::DeadLetter {
                    project,
                    event,
                    error,
                    chain,
                } = entry
                {
                    println!(
                        "{}  project {project}  chain {chain:?}  {error}",
                        event["event_id"].as_str().unwrap_or("?")
                    );
                }
            }
            if !json {
                println!("{} dead-lettered events", entries.len());
            }
            OK
        }
        Command::Replay { target, data_dir } => {
            let (_, chain_name, mut pipeline) = match target.build() {
                Ok(built) => built,
                Err(code) => return code,
            };
            let chain = pipeline.chains.get_mut(&chain_name).expect("chain exists");
            let (storage, entries) = match open(&data_dir) {
                Ok(opened) => opened,
                Err(e) => {
                    eprintln!("error: {e}");
                    return FAILURE;
                }
            };
            let (mut replayed, mut kept) = (0, 0);
            for entry in entries {
                let Entry::DeadLetter { project, event, .. } = entry else {
                    continue;
                };
                let id = event["event_id"].as_str().unwrap_or_default().to_string();
                let parsed = match faultline::event::from_json(&event) {
                    Ok(e) => e,
                    Err(e) => {
                        eprintln!("{id}: kept: {e}");
                        kept += 1;
                        continue;
                    }
                };
                match chain.run(parsed) {
                    Disposition::Processed(p) => {
                        let stored = storage
                            .write_and_wait(output::stored(&p, &project))
                            .and_then(|_| {
                                storage.write_and_wait(Entry::DeadLetterCleared {
                                    event_id: id.clone(),
                                })
                            });
                        match stored {
                            Ok(_) => {
                                println!("{id}: replayed and stored");
                                replayed += 1;
                            }
                            Err(e) => {
                                eprintln!("error: {id}: {e}");
                                return FAILURE;
                            }
                        }
                    }
                    Disposition::Dropped { failure, .. }
                    | Disposition::DeadLettered { failure, .. } => {
                        eprintln!("{id}: kept: {failure}");
                        kept += 1;
                    }
                }
            }
            println!("chain {chain_name:?}: {replayed} replayed, {kept} still dead-lettered");
            OK
        }
    }
}
