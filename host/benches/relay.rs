//! The redactor against the reference: `redactor-pii` and Sentry Relay's PII
//! scrubber on the same labelled corpus, in the same run. Prints figures,
//! asserts nothing.
//!
//! `cargo bench -p faultline --bench relay [-- --seconds S] [--redactor PATH]`
//!
//! Installs the `sentry-relay` package from PyPI (Relay's Rust core behind a
//! Python FFI) when it is missing, and runs `scripts/relay_scrub.py`, which
//! calls `pii_strip_event` with Sentry's default data-scrubbing settings
//! converted by `convert_datascrubbing_config`. Both sides are timed from
//! event JSON text in to scrubbed event JSON text out, on one thread. Our
//! side's time is then split: reading and writing the corpus are timed alone,
//! in turn with the whole, and what they leave is the redactor's stage.

use std::process::Command;
use std::time::Instant;

use faultline::Pipeline;
use faultline::chain::{Disposition, Processed, output};
use faultline::config::Config;
use faultline_testkit::corpus::{Labelled, labelled, score};
use faultline_testkit::{bench_arg, bench_plugin_path, bench_text_arg, repo};

const RELAY: &str = "sentry-relay==0.10.1";

fn ensure_relay() {
    let present = Command::new("python3")
        .args(["-c", "import sentry_relay.processing"])
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        println!("installing {RELAY} from PyPI");
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                RELAY,
            ])
            .status()
            .expect("running pip");
        assert!(status.success(), "pip install {RELAY} failed");
    }
}

fn report(name: &str, corpus: &[Labelled], outputs: &[String], rate: f64) {
    let s = score(corpus, outputs);
    println!(
        "  {name:<13} {rate:>10.0} events/s   recall {:.4} ({}/{})   keep-rate {:.4} ({}/{})",
        s.recall(),
        s.redacted,
        s.pii,
        s.keep_rate(),
        s.kept,
        s.lookalikes
    );
    let mut missed: Vec<&str> = s.missed.iter().map(|(kind, _)| *kind).collect();
    missed.sort();
    missed.dedup();
    if !missed.is_empty() {
        println!("  {:<13} missed kinds: {}", "", missed.join(", "));
    }
}

fn main() {
    // As the binary runs: freed memory is kept, not returned to the OS.
    faultline::configure_memory();
    let seconds = bench_arg("--seconds", 3.0);
    ensure_relay();
    let corpus = labelled(600, 7);
    let dir = repo().join("target/bench-relay");
    std::fs::create_dir_all(&dir).unwrap();
    let events_path = dir.join("corpus.ndjson");
    let texts: Vec<String> = corpus.iter().map(|c| c.event.to_string()).collect();
    std::fs::write(&events_path, texts.join("\n") + "\n").unwrap();

    // faultline: text in, text out, as `faultline process` does it (and as
    // Relay's `pii_strip_event` takes and returns JSON text): parse, run the
    // redactor stage, serialize the result.
    // `--redactor PATH`: another build of a redactor than the built-in one.
    let plugin = match bench_text_arg("--redactor") {
        Some(path) => format!("path = {}", bench_plugin_path(&path)),
        None => "builtin = \"redactor-pii\"".to_string(),
    };
    // Without a deadline, as the built-in default chain runs it.
    let config = Config::parse(
        &format!(
            "[plugins.pii]\n{plugin}\nlimits = {{ timeout_ms = \"off\" }}\n\
             [[chains.default.stages]]\nplugin = \"pii\"\n"
        ),
        "pii.toml",
        std::path::Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = Pipeline::build(&config).unwrap();
    let chain = pipeline.chains.get_mut("default").unwrap();
    let mut process =
        |text: &str| match chain.run(faultline::event::parse(text.as_bytes()).unwrap()) {
            Disposition::Processed(p) => p,
            other => panic!("{other:?}"),
        };
    let write = |p: &Processed| faultline::json::to_string(&output::document(p, None)).unwrap();
    let ours: Vec<String> = texts.iter().map(|t| write(&process(t))).collect();
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed().as_secs_f64() < seconds {
        for t in &texts {
            std::hint::black_box(write(&process(t)));
        }
        done += texts.len();
    }
    let our_rate = done as f64 / start.elapsed().as_secs_f64();

    // Where our time goes: the whole, reading alone and writing alone, one
    // pass over the corpus each in turn, medians of the passes; what reading
    // and writing leave of the whole is the redactor's stage. Reading and
    // writing alone bound how fast any redactor in this host could go.
    let processed: Vec<_> = texts.iter().map(|t| process(t)).collect();
    let mut passes: [Vec<f64>; 3] = Default::default();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds / 2.0 {
        for (part, times) in passes.iter_mut().enumerate() {
            let pass = Instant::now();
            for (text, p) in texts.iter().zip(&processed) {
                match part {
                    0 => drop(std::hint::black_box(write(&process(text)))),
                    1 => drop(std::hint::black_box(
                        faultline::event::parse(text.as_bytes()).unwrap(),
                    )),
                    _ => drop(std::hint::black_box(write(p))),
                }
            }
            times.push(pass.elapsed().as_secs_f64() * 1e6 / texts.len() as f64);
        }
    }
    let [whole_us, read_us, write_us] = passes.map(|mut times| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    });

    // Relay, in a Python process.
    let relay_out = dir.join("relay.ndjson");
    let result = Command::new("python3")
        .arg(repo().join("scripts/relay_scrub.py"))
        .arg(&events_path)
        .arg(&relay_out)
        .arg(seconds.to_string())
        .output()
        .expect("running scripts/relay_scrub.py");
    assert!(
        result.status.success(),
        "relay_scrub.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let timing: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let relay_rate = timing["events"].as_f64().unwrap() / timing["seconds"].as_f64().unwrap();
    let relay: Vec<String> = std::fs::read_to_string(&relay_out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();

    println!(
        "PII scrubbing, labelled corpus of {} events ({} items of personal data, {} look-alikes), one thread:",
        corpus.len(),
        corpus.iter().map(|c| c.pii.len()).sum::<usize>(),
        corpus.iter().map(|c| c.keep.len()).sum::<usize>()
    );
    if let Some(path) = bench_text_arg("--redactor") {
        println!("  (redactor-pii below is the build at {path})");
    }
    report("redactor-pii", &corpus, &ours, our_rate);
    report("Relay", &corpus, &relay, relay_rate);
    println!(
        "  ratio: redactor-pii processes {:.1}x the events/s of Relay",
        our_rate / relay_rate
    );
    println!(
        "  redactor-pii, us per event (passes in turn, medians): {whole_us:.1} in all; reading {read_us:.1}, writing {write_us:.1}, the redactor's stage the other {:.1}",
        whole_us - read_us - write_us
    );
    println!(
        "  reading and writing alone: {:.0} events/s, {:.1}x Relay's (what any redactor in this host could reach at most)",
        1e6 / (read_us + write_us),
        1e6 / (read_us + write_us) / relay_rate
    );
}
