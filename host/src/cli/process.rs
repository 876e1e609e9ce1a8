//! `faultline process`: NDJSON events in, NDJSON results out, through one chain.
//! Bad lines are reported with their number and skipped (fatal with `--strict`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use faultline::chain::{Disposition, output};

use super::{FAILURE, OK};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: super::ChainArgs,
    /// Input NDJSON file (default: standard input).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output NDJSON file (default: standard output).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Where dead-lettered events (as they entered the chain, unredacted) are
    /// written; without it they are reported and not kept.
    #[arg(long)]
    dead_letter: Option<PathBuf>,
    /// Fail on the first invalid input line instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Largest accepted event, in KiB.
    #[arg(long, default_value_t = 1024)]
    max_event_kb: usize,
}

fn open_output(path: &Option<PathBuf>) -> io::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(File::create(p)?)),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

/// A dead-lettered event as `--dead-letter` keeps it.
#[derive(serde::Serialize)]
struct DeadLetter<'a> {
    event: faultline::event::Document<'a>,
    error: String,
    stage: usize,
    plugin: &'a str,
    provenance: output::Provenance<'a>,
}

/// Serializes into `buffer`, then writes the line at once: one call on the
/// (boxed) writer per line instead of one per JSON token.
fn write_line(
    out: &mut impl Write,
    buffer: &mut Vec<u8>,
    doc: &impl serde::Serialize,
) -> io::Result<()> {
    buffer.clear();
    serde_json::to_writer(&mut *buffer, doc)?;
    buffer.push(b'\n');
    out.write_all(buffer)
}

pub fn run(args: Args) -> i32 {
    let (_, chain_name, mut pipeline) = match args.target.build() {
        Ok(built) => built,
        Err(code) => return code,
    };
    let chain = pipeline.chains.get_mut(&chain_name).expect("chain exists");
    let mut input: Box<dyn BufRead> = match &args.input {
        Some(p) => match File::open(p) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(e) => {
                eprintln!("error: cannot open input {}: {e}", p.display());
                return FAILURE;
            }
        },
        None => Box::new(BufReader::new(io::stdin().lock())),
    };
    let mut out = match open_output(&args.output) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: cannot open output: {e}");
            return FAILURE;
        }
    };
    let mut dead_letter = match args.dead_letter.as_ref().map(File::create).transpose() {
        Ok(f) => f.map(BufWriter::new),
        Err(e) => {
            eprintln!("error: cannot open dead-letter file: {e}");
            return FAILURE;
        }
    };
    let max_bytes = args.max_event_kb << 10;
    let mut buffer = Vec::with_capacity(16 << 10);
    let (mut processed, mut dropped, mut dead, mut invalid) = (0u64, 0u64, 0u64, 0u64);
    // One buffer for every line: the event keeps none of it.
    let mut line = Vec::with_capacity(16 << 10);
    let mut number = 0;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: reading input: {e}");
                return FAILURE;
            }
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = if line.len() > max_bytes {
            Err(format!(
                "event is {} KiB, more than --max-event-kb {}",
                line.len() >> 10,
                args.max_event_kb
            ))
        } else {
            faultline::event::parse(&line).map_err(|e| e.to_string())
        };
        let event = match parsed {
            Ok(e) => e,
            Err(reason) => {
                invalid += 1;
                eprintln!(
                    "line {number}: {reason}{}",
                    if args.strict { "" } else { "; skipped" }
                );
                if args.strict {
                    return FAILURE;
                }
                continue;
            }
        };
        let written = match chain.run(event) {
            Disposition::Processed(p) => {
                processed += 1;
                write_line(&mut out, &mut buffer, &output::document(&p, None))
            }
            Disposition::Dropped { failure, .. } => {
                dropped += 1;
                eprintln!("line {number}: dropped: {failure}");
                Ok(())
            }
            Disposition::DeadLettered {
                failure,
                original,
                provenance,
            } => {
                dead += 1;
                match &mut dead_letter {
                    Some(f) => {
                        eprintln!("line {number}: dead-lettered: {failure}");
                        let doc = DeadLetter {
                            event: faultline::event::Document::new(&original),
                            error: failure.to_string(),
                            stage: failure.stage,
                            plugin: &failure.plugin,
                            provenance: output::Provenance(&provenance),
                        };
                        write_line(f, &mut buffer, &doc)
                    }
                    None => {
                        eprintln!(
                            "line {number}: dead-lettered (not kept: no --dead-letter file): {failure}"
                        );
                        Ok(())
                    }
                }
            }
        };
        if let Err(e) = written {
            eprintln!("error: writing output: {e}");
            return FAILURE;
        }
    }
    if let Err(e) = out
        .flush()
        .and_then(|_| dead_letter.as_mut().map_or(Ok(()), Write::flush))
    {
        eprintln!("error: writing output: {e}");
        return FAILURE;
    }
    eprintln!(
        "chain {chain_name:?}: {processed} processed, {dropped} dropped, {dead} dead-lettered, {invalid} invalid input lines"
    );
    OK
}
