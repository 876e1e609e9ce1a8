//! `faultline process`: NDJSON events in, NDJSON results out, through one chain.
//! Bad lines are reported with their number and skipped (fatal with `--strict`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
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

/// Input is read this much at a time.
const READ_BUFFER: usize = 256 << 10;
/// Output lines are gathered up to about this much before they are written.
const WRITE_BUFFER: usize = 256 << 10;

fn open_output(path: &Option<PathBuf>) -> io::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(File::create(p)?),
        None => Box::new(io::stdout().lock()),
    })
}

/// Output lines, gathered and written in large pieces: when they pass
/// [`WRITE_BUFFER`], and whenever the input has nothing more ready (the
/// read loop), so a stream's results are not held back.
struct Gathered {
    out: Box<dyn Write>,
    lines: Vec<u8>,
}

impl Gathered {
    fn push(&mut self, doc: &impl serde::Serialize) -> io::Result<()> {
        faultline::json::write(&mut self.lines, doc)?;
        self.lines.push(b'\n');
        if self.lines.len() >= WRITE_BUFFER {
            self.write_out()?;
        }
        Ok(())
    }

    /// Writes what is gathered and flushes it.
    fn write_out(&mut self) -> io::Result<()> {
        self.out.write_all(&self.lines)?;
        self.lines.clear();
        self.out.flush()
    }
}

/// A run that stops early (`--strict`, a failed read) still writes the
/// results it has, as a `BufWriter` would.
impl Drop for Gathered {
    fn drop(&mut self) {
        let _ = self.write_out();
    }
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
/// writer per line instead of one per JSON token.
fn write_line(
    out: &mut impl Write,
    buffer: &mut Vec<u8>,
    doc: &impl serde::Serialize,
) -> io::Result<()> {
    buffer.clear();
    faultline::json::write(buffer, doc)?;
    buffer.push(b'\n');
    out.write_all(buffer)
}

pub fn run(args: Args) -> i32 {
    let (_, chain_name, mut pipeline) = match args.target.build() {
        Ok(built) => built,
        Err(code) => return code,
    };
    let chain = pipeline.chains.get_mut(&chain_name).expect("chain exists");
    let source: Box<dyn Read> = match &args.input {
        Some(p) => match File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot open input {}: {e}", p.display());
                return FAILURE;
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let mut input = BufReader::with_capacity(READ_BUFFER, source);
    let mut out = match open_output(&args.output) {
        Ok(out) => Gathered {
            out,
            lines: Vec::with_capacity(WRITE_BUFFER + (64 << 10)),
        },
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
        // Before a read that may wait for more input, what is done goes
        // out: a reader of a stream gets the results of what has arrived.
        if input.buffer().is_empty()
            && let Err(e) = out.write_out()
        {
            eprintln!("error: writing output: {e}");
            return FAILURE;
        }
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
                out.push(&output::document(&p, None))
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
        .write_out()
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
