//! Scaling, memory and start-up: prints figures, asserts nothing.
//!
//! `cargo bench -p faultline --bench scaling [-- --seconds S]`
//!
//! 1. events/s and resident memory for chains of 1, 2, 4 and 8 first-party
//!    stages over 1 KB, 5 KB and 20 KB events (one thread), so the cost per
//!    stage and per byte shows;
//! 2. resident memory with 100 live, configured plugin instances;
//! 3. per builtin plugin: compile time, load time from the compiled-component
//!    cache, and the cache entry's size;
//! 4. how long `faultline serve` takes from start to answering `/healthz`,
//!    with a cold and with a warm compiled-component cache;
//! 5. how long opening the store takes with a log segment's worth of events
//!    that sled does not hold (the start after a crash replays them).

use std::hint::black_box;
use std::time::{Duration, Instant};

use faultline::Pipeline;
use faultline::chain::Disposition;
use faultline::config::Config;
use faultline::runtime::{Plugin, Runtime, RuntimeOptions, load};
use faultline_testkit::corpus::{Rng, sized_event};
use faultline_testkit::{bench_arg, repo};

/// Resident set size now, in MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A config whose chain `sN` has N stages, cycling enrich, redact, classify,
/// score; the built-ins without a deadline, as the default chain runs them.
fn config() -> Config {
    let order = ["context", "pii", "taxonomy", "impact"];
    let mut text = String::from(
        "[tables.services]\nkey = \"service\"\nrows = []\n[tables.customers]\nkey = \"user_id\"\nrows = []\n\
         [plugins.context]\nbuiltin = \"enricher-context\"\ntables = [\"services\", \"customers\"]\n\
         [plugins.pii]\nbuiltin = \"redactor-pii\"\n[plugins.taxonomy]\nbuiltin = \"classifier-taxonomy\"\n\
         [plugins.impact]\nbuiltin = \"scorer-impact\"\n",
    );
    for plugin in order {
        text.push_str(&format!(
            "[plugins.{plugin}.limits]\ntimeout_ms = \"off\"\n"
        ));
    }
    for n in [1usize, 2, 4, 8] {
        // One stage is the redactor alone: what every chain must have.
        let stages: Vec<&str> = if n == 1 {
            vec!["pii"]
        } else {
            order.iter().cycle().take(n).copied().collect()
        };
        for s in stages {
            text.push_str(&format!("[[chains.s{n}.stages]]\nplugin = \"{s}\"\n"));
        }
    }
    Config::parse(&text, "scaling.toml", std::path::Path::new(".")).unwrap()
}

fn main() {
    // As the binary runs: freed memory is kept, not returned to the OS.
    faultline::configure_memory();
    let seconds = bench_arg("--seconds", 1.0);
    let config = config();
    let mut pipeline = Pipeline::build(&config).unwrap();

    // 1. The scaling grid.
    println!(
        "events/s (us/event) and RSS, one thread; stages cycle enrich, redact, classify, score:"
    );
    println!(
        "  {:<8} {:>24} {:>24} {:>24}",
        "stages", "1 KB", "5 KB", "20 KB"
    );
    let mut rng = Rng::new(3);
    let sizes = [1024usize, 5 * 1024, 20 * 1024];
    let events: Vec<Vec<_>> = sizes
        .iter()
        .map(|&b| {
            (0..300)
                .map(|i| faultline::event::from_json(&sized_event(i, b, &mut rng)).unwrap())
                .collect()
        })
        .collect();
    for n in [1, 2, 4, 8] {
        let chain = pipeline.chains.get_mut(&format!("s{n}")).unwrap();
        let mut row = format!("  {n:<8}");
        for batch in &events {
            let start = Instant::now();
            let mut done = 0usize;
            while start.elapsed() < Duration::from_secs_f64(seconds) {
                for e in batch {
                    match chain.run(e.clone()) {
                        Disposition::Processed(p) => {
                            black_box(p);
                        }
                        other => panic!("{other:?}"),
                    }
                }
                done += batch.len();
            }
            let rate = done as f64 / start.elapsed().as_secs_f64();
            row.push_str(&format!(
                " {:>8.0} ({:>5.1} us) {:>4.0} MB",
                rate,
                1e6 / rate,
                rss_mb()
            ));
        }
        println!("{row}");
    }

    // 2. 100 live instances: 25 configured copies of the 4-stage chain.
    let before = rss_mb();
    let template = pipeline.chains.get("s4").unwrap();
    let mut forks: Vec<_> = (0..25).map(|_| template.fork()).collect();
    let warm = faultline::event::from_json(&sized_event(0, 2048, &mut rng)).unwrap();
    for f in &mut forks {
        black_box(f.run(warm.clone()));
    }
    let after = rss_mb();
    println!();
    println!(
        "100 live plugin instances (25 x 4 stages, each configured and run once): RSS {after:.0} MB \
         ({:.0} MB more than before them, {:.2} MB per instance)",
        after - before,
        (after - before) / 100.0
    );
    drop(forks);

    // 3. Compile, cache load and cache size per builtin plugin.
    println!();
    println!(
        "per builtin plugin: compile (cache cold), load (cache warm), cache entry, component:"
    );
    let cache = repo().join("target/bench-scaling-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(cache.clone()),
        ..RuntimeOptions::default()
    })
    .unwrap();
    for name in faultline::builtin::NAMES {
        let load = || {
            let start = Instant::now();
            let spec = load::PluginSpec::new(name, load::Source::Builtin(name.to_string()));
            let p = Plugin::load(&runtime, spec, Default::default()).unwrap();
            (start.elapsed(), p)
        };
        let entries_before: u64 = dir_size(&cache);
        let (cold, plugin) = load();
        let entry = dir_size(&cache) - entries_before;
        let (warm, again) = load();
        assert!(again.cached && !plugin.cached);
        println!(
            "  {name:<22} compile {:>7.0} ms   load {:>6.1} ms   cache {:>6.0} KB   component {:>5.0} KB",
            cold.as_secs_f64() * 1e3,
            warm.as_secs_f64() * 1e3,
            entry as f64 / 1024.0,
            plugin.size as f64 / 1024.0
        );
    }

    // 4. Start-up of `faultline serve` until /healthz answers.
    println!();
    let serve_cache = repo().join("target/bench-serve-cache");
    let _ = std::fs::remove_dir_all(&serve_cache);
    let cold = serve_ready_ms(&serve_cache);
    let warm = serve_ready_ms(&serve_cache);
    println!("faultline serve, from start to the first /healthz answer (built-in chain):");
    println!("  compiled-component cache cold: {cold:>6.0} ms");
    println!("  compiled-component cache warm: {warm:>6.0} ms");

    // 5. A start after a crash: events in the log that sled does not hold.
    let n = 5000;
    let mut rng = Rng::new(5);
    let docs: Vec<_> = (0..n).map(|i| sized_event(i, 2048, &mut rng)).collect();
    let mut times = Vec::new();
    for round in 0..3 {
        let data = repo().join(format!("target/bench-replay-data-{round}"));
        let _ = std::fs::remove_dir_all(&data);
        faultline::storage::log_unapplied(&data, "1", &docs).unwrap();
        let metrics = std::sync::Arc::new(faultline::metrics::Metrics::default());
        let start = Instant::now();
        let storage = faultline::storage::Storage::open(&data, 1024, metrics).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        drop(storage);
        let _ = std::fs::remove_dir_all(&data);
    }
    times.sort_by(f64::total_cmp);
    println!("opening the store with {n} logged 2 KB events not applied (a start after a crash):");
    println!(
        "  {:.0} ms median of 3 ({:.0}-{:.0})",
        times[1], times[0], times[2]
    );
}

/// Bytes of the files under `dir`, recursively.
fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Starts `faultline serve` on a free port and polls `/healthz`; returns the
/// milliseconds from spawning the process to the first answer.
fn serve_ready_ms(cache_dir: &std::path::Path) -> f64 {
    use std::io::{BufRead, BufReader, Read, Write};
    let data = repo().join("target/bench-serve-data");
    let _ = std::fs::remove_dir_all(&data);
    let start = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .env("FAULTLINE_CACHE_DIR", cache_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve exited").unwrap();
        if let Some(rest) = line.strip_prefix("faultline listening on http://") {
            break rest.split(' ').next().unwrap().to_string();
        }
    };
    let ms = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                break start.elapsed().as_secs_f64() * 1e3;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let _ = child.kill();
    let _ = child.wait();
    ms
}
