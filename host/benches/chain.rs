//! Chain benchmark: prints figures, asserts nothing.
//!
//! `cargo bench -p faultline --bench chain [-- --seconds S --bytes B]`
//!
//! 1. events/s through the built-in default chain (enrich → redact → classify
//!    → score) of Wasm components, and through the same four plugins' logic
//!    compiled natively and called directly, in the same run, and their ratio;
//!    and what the chain's time would be with a deadline per built-in;
//! 2. the cost of calling an empty plugin, with a 2 KB event (lowered in one
//!    block, per string and list, and by wasmtime's code) and a tiny one,
//!    and with the 2 KB event when the plugin reads no optional part;
//! 3. instantiation time from `InstancePre` with the pooling allocator, and
//!    what a fresh instance (instantiate + configure) costs each built-in;
//! 4. the host's own work per event in `faultline process` around the chain,
//!    and `faultline process` itself over a file of the same events;
//! 5. the redactor's recall and keep-rate on the labelled corpus;
//! 6. peak RSS.
//!
//! `-- --compare A.wasm B.wasm [--stage-config TOML]` instead times two
//! builds of one plugin against each other in one process (see [`compare`]).
//! `-- --against PATH [--rounds N]` also times another build of the binary
//! over the same file, alternating with this one (wall and CPU time).
//! `-- --events-out PATH` writes the NDJSON file `faultline process` is
//! timed over (20 copies of the 1,000 events) and exits: the input for a
//! profile of the binary.

use std::hint::black_box;
use std::time::{Duration, Instant};

use faultline::Pipeline;
use faultline::chain::{Disposition, output};
use faultline::config::Config;
use faultline::runtime::bindings::faultline::plugin::types as host;
use faultline::runtime::{Instance, Lifting, Lowering, Plugin, Runtime, RuntimeOptions, load};
use faultline_sdk as sdk;
use faultline_sdk::{Classifier, Redactor};
use faultline_testkit::corpus::{Rng, labelled, score, sized_event, with_frame_context};
use faultline_testkit::{bench_arg, bench_plugin_path, bench_text_arg};

fn value(v: &host::Value) -> sdk::Value {
    match v {
        host::Value::Text(s) => sdk::Value::Text(s.clone()),
        host::Value::Integer(i) => sdk::Value::Integer(*i),
        host::Value::Number(n) => sdk::Value::Number(*n),
        host::Value::Boolean(b) => sdk::Value::Boolean(*b),
        host::Value::Null => sdk::Value::Null,
    }
}

fn attrs(a: &[host::Attribute]) -> Vec<sdk::Attribute> {
    a.iter()
        .map(|a| sdk::Attribute {
            key: a.key.clone(),
            value: value(&a.value),
        })
        .collect()
}

/// The host's event as the guest SDK's type (the two are generated from one WIT).
fn to_sdk(e: &host::Event) -> sdk::Event {
    sdk::Event {
        event_id: e.event_id.clone(),
        timestamp: e.timestamp,
        level: match e.level {
            host::Level::Debug => sdk::Level::Debug,
            host::Level::Info => sdk::Level::Info,
            host::Level::Warning => sdk::Level::Warning,
            host::Level::Error => sdk::Level::Error,
            host::Level::Fatal => sdk::Level::Fatal,
        },
        platform: e.platform.clone(),
        logger: e.logger.clone(),
        message: e.message.clone(),
        exceptions: e
            .exceptions
            .iter()
            .map(|x| sdk::Exception {
                type_: x.type_.clone(),
                value: x.value.clone(),
                module: x.module.clone(),
                frames: x
                    .frames
                    .iter()
                    .map(|f| sdk::Frame {
                        function: f.function.clone(),
                        module: f.module.clone(),
                        filename: f.filename.clone(),
                        abs_path: f.abs_path.clone(),
                        lineno: f.lineno,
                        colno: f.colno,
                        in_app: f.in_app,
                        vars: attrs(&f.vars),
                    })
                    .collect(),
            })
            .collect(),
        tags: e.tags.clone(),
        user: e.user.as_ref().map(|u| sdk::User {
            id: u.id.clone(),
            email: u.email.clone(),
            username: u.username.clone(),
            ip_address: u.ip_address.clone(),
        }),
        request: e.request.as_ref().map(|r| sdk::Request {
            method: r.method.clone(),
            url: r.url.clone(),
            query_string: r.query_string.clone(),
            cookies: r.cookies.clone(),
            headers: r.headers.clone(),
        }),
        release: e.release.clone(),
        environment: e.environment.clone(),
        server_name: e.server_name.clone(),
        transaction: e.transaction.clone(),
        fingerprint: e.fingerprint.clone(),
        attributes: attrs(&e.attributes),
    }
}

/// How many separate strings lowering the event into a guest copies.
fn count_strings(e: &host::Event) -> usize {
    let opt = |o: &Option<String>| usize::from(o.is_some());
    let attr_strings = |a: &[host::Attribute]| {
        a.iter()
            .map(|a| 1 + usize::from(matches!(a.value, host::Value::Text(_))))
            .sum::<usize>()
    };
    2 + [
        &e.logger,
        &e.message,
        &e.release,
        &e.environment,
        &e.server_name,
        &e.transaction,
    ]
    .into_iter()
    .map(opt)
    .sum::<usize>()
        + e.exceptions
            .iter()
            .map(|x| {
                1 + opt(&x.value)
                    + opt(&x.module)
                    + x.frames
                        .iter()
                        .map(|f| {
                            opt(&f.function)
                                + opt(&f.module)
                                + opt(&f.filename)
                                + opt(&f.abs_path)
                                + attr_strings(&f.vars)
                        })
                        .sum::<usize>()
            })
            .sum::<usize>()
        + e.tags.len() * 2
        + e.user.as_ref().map_or(0, |u| {
            opt(&u.id) + opt(&u.email) + opt(&u.username) + opt(&u.ip_address)
        })
        + e.request.as_ref().map_or(0, |r| {
            opt(&r.method)
                + opt(&r.url)
                + opt(&r.query_string)
                + opt(&r.cookies)
                + r.headers.len() * 2
        })
        + e.fingerprint.len()
        + attr_strings(&e.attributes)
}

/// Runs `f` on the events round-robin for about `seconds`; returns calls per second.
fn rate<T>(events: &[T], seconds: f64, mut f: impl FnMut(&T)) -> f64 {
    for e in events.iter().take(200) {
        f(e);
    }
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut n = 0usize;
    while start.elapsed() < budget {
        for e in events {
            f(e);
        }
        n += events.len();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The default chain against itself with every built-in given a deadline
/// (as a config without `timeout_ms = "off"` has), in alternating blocks
/// ([`alternate`]): the median and quartiles of the per-pair ratio (with
/// deadlines / without).
fn deadlines_ratio(
    without: &mut faultline::chain::Chain,
    events: &[host::Event],
    seconds: f64,
) -> (f64, (f64, f64)) {
    let text =
        faultline::builtin::DEFAULT_CONFIG.replace("limits = { timeout_ms = \"off\" }\n", "");
    assert!(
        !text.contains("limits ="),
        "the default config's deadlines are set some other way"
    );
    let config = Config::parse(&text, "<default with deadlines>", std::path::Path::new("."))
        .expect("the default config with deadlines");
    let mut pipeline = Pipeline::build(&config).expect("default pipeline with deadlines");
    let with = pipeline.chains.get_mut("default").unwrap();
    let (_, ratios) = alternate(without, with, events, seconds);
    let at = quantile(&ratios);
    (at(0.5), (at(0.25), at(0.75)))
}

/// Two chains over the same events in alternating blocks of 50, the first
/// of each pair alternating too, for `seconds` after 20 warm-up pairs (and
/// at least 20 timed ones): on a shared machine whose speed drifts by more
/// than most changes make, blocks a few milliseconds apart see the same
/// machine. Copying the events in and dropping the results are left out of
/// the time. Returns each chain's total time and, sorted, B's time over A's
/// per pair.
fn alternate(
    a: &mut faultline::chain::Chain,
    b: &mut faultline::chain::Chain,
    events: &[host::Event],
    seconds: f64,
) -> ([Duration; 2], Vec<f64>) {
    let mut results = Vec::with_capacity(50);
    let mut block = |chain: &mut faultline::chain::Chain, block: &[host::Event]| {
        let copies = block.to_vec();
        let start = Instant::now();
        for e in copies {
            results.push(chain.run(e));
        }
        let took = start.elapsed();
        for result in results.drain(..) {
            match result {
                Disposition::Processed(p) => drop(black_box(p)),
                other => panic!("not processed: {other:?}"),
            }
        }
        took
    };
    let blocks: Vec<&[host::Event]> = events.chunks(50).collect();
    let (mut total, mut ratios) = ([Duration::ZERO; 2], Vec::new());
    let start = Instant::now();
    for round in 0.. {
        let events = blocks[round % blocks.len()];
        let (ta, tb) = if round % 2 == 0 {
            let ta = block(a, events);
            (ta, block(b, events))
        } else {
            let tb = block(b, events);
            (block(a, events), tb)
        };
        // The first rounds warm both up.
        if round >= 20 {
            total[0] += ta;
            total[1] += tb;
            ratios.push(tb.as_secs_f64() / ta.as_secs_f64());
        }
        if round >= 40 && start.elapsed().as_secs_f64() > seconds {
            break;
        }
    }
    ratios.sort_by(f64::total_cmp);
    (total, ratios)
}

/// The quantile `q` of sorted `values`.
fn quantile(values: &[f64]) -> impl Fn(f64) -> f64 + '_ {
    |q| values[((values.len() - 1) as f64 * q) as usize]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Two builds of one plugin, each alone in a chain (with `stage_config`, a
/// TOML value, as the stage's `config`), over the same events in
/// alternating blocks ([`alternate`]): figures from separate runs on a
/// shared machine cannot be compared. Prints each build's time per event
/// and the spread of B's time over A's, per pair of blocks.
fn compare(a: &str, b: &str, stage_config: Option<&str>, events: &[host::Event], seconds: f64) {
    let stage = |name: &str| {
        let config = stage_config.map_or(String::new(), |c| format!("config = {c}\n"));
        format!("[[chains.{name}.stages]]\nplugin = \"{name}\"\n{config}")
    };
    // The built-in chain's (empty) tables, granted to both, for enrichers.
    let tables = "[tables.services]\nkey = \"service\"\nrows = []\n\
        [tables.customers]\nkey = \"user_id\"\nrows = []\n";
    let plugin = |name: &str, path: &str| {
        let path = bench_plugin_path(path);
        format!("[plugins.{name}]\npath = {path}\ntables = [\"services\", \"customers\"]\n")
    };
    let text = format!(
        "{tables}{}{}{}{}",
        plugin("a", a),
        plugin("b", b),
        stage("a"),
        stage("b")
    );
    let config = Config::parse(&text, "<--compare>", std::path::Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = Pipeline::build(&config).unwrap_or_else(|e| panic!("{e}"));
    // The chains in key order: "a", then "b".
    let mut chains = pipeline.chains.values_mut();
    let (Some(chain_a), Some(chain_b)) = (chains.next(), chains.next()) else {
        unreachable!("the config has chains a and b");
    };
    let (total, ratios) = alternate(chain_a, chain_b, events, seconds);
    let at = quantile(&ratios);
    let per_event = |t: Duration| t.as_secs_f64() * 1e6 / (ratios.len() * 50) as f64;
    println!("{} pairs of 50-event blocks, alternating:", ratios.len());
    println!("  A {a}: {:.2} us/event", per_event(total[0]));
    println!("  B {b}: {:.2} us/event", per_event(total[1]));
    println!(
        "  B / A per pair: median {:.3}, quartiles {:.3} to {:.3}",
        at(0.5),
        at(0.25),
        at(0.75)
    );
}

/// CPU time (user and system) of the child processes waited for so far.
fn children_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// How many copies of the events `faultline process` is timed over.
const PROCESS_COPIES: usize = 20;

/// The NDJSON input `faultline process` is timed over.
fn process_input(events: &[serde_json::Value]) -> Vec<u8> {
    let mut ndjson = Vec::new();
    for _ in 0..PROCESS_COPIES {
        for event in events {
            serde_json::to_writer(&mut ndjson, event).unwrap();
            ndjson.push(b'\n');
        }
    }
    ndjson
}

/// The median of some rates (the mean of the middle two of an even count).
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    (rates[(rates.len() - 1) / 2] + rates[rates.len() / 2]) / 2.0
}

fn main() {
    // As the binary runs: freed memory is kept, not returned to the OS.
    faultline::configure_memory();
    let seconds = bench_arg("--seconds", 3.0);
    let bytes = bench_arg("--bytes", 2048.0) as usize;
    let mut rng = Rng::new(1);
    let json: Vec<_> = (0..1000).map(|i| sized_event(i, bytes, &mut rng)).collect();
    let mean_bytes = json.iter().map(|j| j.to_string().len()).sum::<usize>() / json.len();
    let events: Vec<host::Event> = json
        .iter()
        .map(|j| faultline::event::from_json(j).unwrap())
        .collect();
    let args: Vec<String> = std::env::args().collect();
    if let Some(path) = bench_text_arg("--events-out") {
        std::fs::write(&path, process_input(&json)).expect("writing --events-out");
        println!("wrote {} events to {path}", PROCESS_COPIES * json.len());
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--compare") {
        let (Some(a), Some(b)) = (args.get(at + 1), args.get(at + 2)) else {
            panic!("--compare needs two plugin files: --compare A.wasm B.wasm");
        };
        let stage_config = bench_text_arg("--stage-config");
        compare(a, b, stage_config.as_deref(), &events, seconds);
        return;
    }
    let strings = events.iter().map(count_strings).sum::<usize>() / events.len();
    let frames = events
        .iter()
        .map(|e| e.exceptions[0].frames.len())
        .sum::<usize>()
        / events.len();
    println!(
        "events: {} Sentry-shaped, mean {mean_bytes} bytes of JSON, {frames} frames, {strings} strings each",
        events.len()
    );

    // 1. The default chain as Wasm components.
    let config = Config::builtin_default();
    let mut pipeline = Pipeline::build(&config).expect("default pipeline");
    let chain = pipeline.chains.get_mut("default").unwrap();
    let mut stage_time = [Duration::ZERO; 4];
    let mut runs = 0u64;
    let wasm = rate(&events, seconds, |e| match chain.run(e.clone()) {
        Disposition::Processed(p) => {
            for (i, s) in p.provenance.iter().enumerate() {
                stage_time[i] += s.duration;
            }
            runs += 1;
            black_box(p);
        }
        other => panic!("not processed: {other:?}"),
    });

    // The same four plugins' logic, compiled natively and called directly.
    let sdk_events: Vec<sdk::Event> = events.iter().map(to_sdk).collect();
    let mut tables = sdk::MemoryTables::new();
    tables.insert("services", "", Vec::new());
    tables.insert("customers", "", Vec::new());
    let enricher =
        enricher_context::Context::with_tables(enricher_context::Config::default(), tables)
            .unwrap();
    let mut redactor = redactor_pii::Pii::new(redactor_pii::Config::default()).unwrap();
    let mut classifier =
        classifier_taxonomy::Taxonomy::new(classifier_taxonomy::Config::default()).unwrap();
    let scorer =
        scorer_impact::ImpactScorer::with_config(scorer_impact::Config::default()).unwrap();
    let native = rate(&sdk_events, seconds, |e| {
        let mut e = e.clone();
        let added = enricher.enrich_event(&e).unwrap();
        sdk::apply_enrichment(&mut e, added);
        for edit in redactor.redact(&e).unwrap() {
            sdk::apply_edit(&mut e, &edit.path, &edit.action);
        }
        let c = classifier.classify(&e).unwrap();
        black_box(scorer.score_event(&e, c.as_ref()));
        black_box(e);
    });
    // The same, stage by stage, for the per-stage comparison.
    let mut native_stage = [Duration::ZERO; 4];
    let mut native_runs = 0u32;
    for e in sdk_events.iter().cycle().take(20_000) {
        let mut e = e.clone();
        let t = Instant::now();
        let added = enricher.enrich_event(&e).unwrap();
        sdk::apply_enrichment(&mut e, added);
        let t1 = Instant::now();
        for edit in redactor.redact(&e).unwrap() {
            sdk::apply_edit(&mut e, &edit.path, &edit.action);
        }
        let t2 = Instant::now();
        let c = classifier.classify(&e).unwrap();
        let t3 = Instant::now();
        black_box(scorer.score_event(&e, c.as_ref()));
        let t4 = Instant::now();
        for (slot, d) in native_stage
            .iter_mut()
            .zip([t1 - t, t2 - t1, t3 - t2, t4 - t3])
        {
            *slot += d;
        }
        native_runs += 1;
    }
    println!();
    println!("default chain (enrich -> redact -> classify -> score), one thread:");
    println!(
        "  wasm components:     {wasm:>10.0} events/s  ({:.1} us/event)",
        1e6 / wasm
    );
    println!(
        "  native, same logic:  {native:>10.0} events/s  ({:.1} us/event)",
        1e6 / native
    );
    println!("  wasm / native time:  {:>10.2}x", native / wasm);
    let (ratio, quartiles) = deadlines_ratio(chain, &events, seconds);
    println!(
        "  deadlines: the same chain with a 100 ms deadline per built-in (code with epoch checks),"
    );
    println!(
        "    its time / this chain's, 50-event blocks alternating: median {ratio:.3} (quartiles {:.3} to {:.3})",
        quartiles.0, quartiles.1
    );
    let names = [
        "enricher-context",
        "redactor-pii",
        "classifier-taxonomy",
        "scorer-impact",
    ];
    println!("  per stage, us/event:        wasm (host work included)   native");
    for ((name, total), native) in names.iter().zip(stage_time).zip(native_stage) {
        println!(
            "    {name:<22} {:>12.1} {:>22.1}",
            total.as_secs_f64() * 1e6 / runs as f64,
            native.as_secs_f64() * 1e6 / f64::from(native_runs)
        );
    }

    // 2. and 3. An empty plugin: call cost and instantiation.
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: None,
        ..RuntimeOptions::default()
    })
    .unwrap();
    let spec = load::PluginSpec::new(
        "noop",
        load::Source::Path(faultline_testkit::test_plugin("noop")),
    );
    let noop = std::sync::Arc::new(Plugin::load(&runtime, spec, Default::default()).unwrap());
    let mut instance = Instance::new(noop.clone(), "{}").unwrap();
    let tiny = faultline::event::from_json(
        &serde_json::json!({"event_id": "0".repeat(32), "message": "x"}),
    )
    .unwrap();
    // `run` borrows the event mutably (to withhold the parts a plugin does
    // not read), so the calls go through indices into owned copies.
    let mut owned = events.clone();
    let indices: Vec<usize> = (0..owned.len()).collect();
    // The host's lowering of the event in one block (the SDK's plugins allow
    // it), per value, and wasmtime's own, in turn in short rounds so that
    // all three see the same machine; medians of the rounds.
    let ways = [Lowering::OneBlock, Lowering::PerValue, Lowering::Wasmtime];
    let mut lowering = ways.map(|_| Vec::new());
    for round in 0..12 {
        let way = round % ways.len();
        instance.set_lowering(Some(ways[way]));
        lowering[way].push(rate(&indices, seconds / 8.0, |&i| {
            black_box(instance.run(&mut owned[i], None).unwrap());
        }));
    }
    instance.set_lowering(None);
    let [big_rate, per_value_rate, wasmtime_rate] = lowering.map(median);
    let mut tiny = tiny;
    let tiny_rate = rate(&[0], seconds / 2.0, |_| {
        black_box(instance.run(&mut tiny, None).unwrap());
    });
    // The same empty plugin, declaring it reads no optional part.
    let spec = load::PluginSpec::new(
        "noop-scalars",
        load::Source::Path(faultline_testkit::test_plugin("noop_scalars")),
    );
    let scalars = std::sync::Arc::new(Plugin::load(&runtime, spec, Default::default()).unwrap());
    let mut scalars = Instance::new(scalars, "{}").unwrap();
    let scalars_rate = rate(&indices, seconds / 2.0, |&i| {
        black_box(scalars.run(&mut owned[i], None).unwrap());
    });
    let time_us = |make: &dyn Fn() -> Instance| {
        let mut samples: Vec<f64> = (0..2000)
            .map(|_| {
                let start = Instant::now();
                let inst = make();
                let us = start.elapsed().as_secs_f64() * 1e6;
                drop(inst);
                us
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        (
            samples[samples.len() / 2],
            samples[samples.len() * 99 / 100],
        )
    };
    let configured = time_us(&|| Instance::new(noop.clone(), "{}").unwrap());
    let bare = time_us(&|| Instance::unconfigured(noop.clone()).unwrap());
    println!();
    println!("empty plugin (a classifier returning none):");
    println!(
        "  call with a {mean_bytes}-byte event: {:>8.2} us",
        1e6 / big_rate
    );
    println!("    (lowered in one block; rounds in turn, medians)");
    println!(
        "    lowered per string and list: {:>7.2} us",
        1e6 / per_value_rate
    );
    println!(
        "    lowered by wasmtime's code:  {:>7.2} us",
        1e6 / wasmtime_rate
    );
    println!(
        "  call with a tiny event:       {:>8.2} us",
        1e6 / tiny_rate
    );
    println!(
        "  same 2 KB event, plugin reading no optional part (reads = {{}}): {:.2} us",
        1e6 / scalars_rate
    );
    println!(
        "  instantiate from InstancePre: {:>8.1} us median, {:.1} us p99 (pooling allocator, fresh store)",
        bare.0, bare.1
    );
    println!(
        "  instantiate + configure:      {:>8.1} us median, {:.1} us p99",
        configured.0, configured.1
    );

    // What replacing an instance costs each built-in plugin (instantiate +
    // configure with the default chain's config): paid at start, after a
    // failed call, and when an instance is worn out.
    println!();
    println!("fresh instance per built-in (instantiate + configure):");
    for (plugin, config) in chain.stage_configs() {
        let start = Instant::now();
        let n = 20;
        for _ in 0..n {
            black_box(Instance::new(plugin.clone(), config).unwrap());
        }
        let ms = start.elapsed().as_secs_f64() * 1e3 / f64::from(n);
        println!("  {:<22} {ms:>7.2} ms", plugin.name);
    }

    // Each built-in called on its own (the scorer without a
    // classification), its result lifted by the host and by wasmtime's
    // code in turn, in short rounds; medians of the rounds.
    println!();
    println!(
        "each built-in called alone, us per call, its result lifted (rounds in turn, medians):"
    );
    println!(
        "  {:<22} {:>11} {:>19}",
        "", "by the host", "by wasmtime's code"
    );
    for (plugin, config) in chain.stage_configs() {
        let mut instance = Instance::new(plugin.clone(), config).unwrap();
        let ways = [Lifting::Host, Lifting::Wasmtime];
        let mut rates = ways.map(|_| Vec::new());
        for round in 0..8 {
            let way = round % ways.len();
            instance.set_lifting(ways[way]);
            rates[way].push(rate(&indices, seconds / 16.0, |&i| {
                black_box(instance.run(&mut owned[i], None).unwrap());
            }));
        }
        let [host, wasmtime] = rates.map(median);
        println!(
            "  {:<22} {:>11.2} {:>19.2}",
            plugin.name,
            1e6 / host,
            1e6 / wasmtime
        );
    }

    // The host's own work per event in `faultline process`, around the chain.
    let lines: Vec<Vec<u8>> = json.iter().map(|j| j.to_string().into_bytes()).collect();
    let read = rate(&lines, seconds / 4.0, |l| {
        black_box(faultline::event::parse(l).unwrap());
    });
    // The same through a JSON tree first, as the Sentry endpoints read (and
    // as every event was read before the straight reader).
    let through_tree = rate(&lines, seconds / 4.0, |l| {
        let raw = faultline::event::raw::from_slice(l).unwrap();
        black_box(faultline::event::from_raw(&raw).unwrap());
    });
    let processed: Vec<_> = events
        .iter()
        .take(100)
        .map(|e| match chain.run(e.clone()) {
            Disposition::Processed(p) => p,
            other => panic!("not processed: {other:?}"),
        })
        .collect();
    let mut buffer = Vec::with_capacity(1 << 16);
    let write = rate(&processed, seconds / 4.0, |p| {
        buffer.clear();
        faultline::json::write(&mut buffer, &output::document(p, None)).unwrap();
        black_box(&buffer);
    });
    let write_serde_json = rate(&processed, seconds / 4.0, |p| {
        buffer.clear();
        serde_json::to_writer(&mut buffer, &output::document(p, None)).unwrap();
        black_box(&buffer);
    });
    let stored = rate(&processed, seconds / 4.0, |p| {
        black_box(output::stored(p, "1"));
    });
    // The same events with what Python SDKs send per frame by default
    // (source context and local variables).
    let rich: Vec<_> = json
        .iter()
        .take(100)
        .map(|j| {
            let mut j = j.clone();
            with_frame_context(&mut j);
            match chain.run(faultline::event::from_json(&j).unwrap()) {
                Disposition::Processed(p) => p,
                other => panic!("not processed: {other:?}"),
            }
        })
        .collect();
    let rich_bytes = rich
        .iter()
        .map(|p| {
            faultline::json::to_vec(&output::document(p, None))
                .unwrap()
                .len()
        })
        .sum::<usize>()
        / rich.len();
    let stored_rich = rate(&rich, seconds / 4.0, |p| {
        black_box(output::stored(p, "1"));
    });
    println!();
    println!("host work per event in `faultline process`, around the chain:");
    for (what, r) in [
        ("read the JSON line", read),
        ("(the same through a tree)", through_tree),
        ("write the output line", write),
        ("(the same by serde_json)", write_serde_json),
        ("(serve: written + derived)", stored),
    ] {
        println!("  {what:<28} {:>6.1} us", 1e6 / r);
    }
    println!(
        "  (the same, frames with vars and source context, {rich_bytes}-byte documents) {:.1} us",
        1e6 / stored_rich
    );

    // `faultline process` itself, end to end: the binary over an NDJSON file
    // of the same events (20 copies), output to /dev/null, warm cache.
    let dir = std::env::temp_dir().join(format!("faultline-chain-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("events.ndjson");
    std::fs::write(&input, process_input(&json)).unwrap();
    // Wall time, and the CPU time the run took (user and system), which
    // leaves out any time it waited: where the two move together, the
    // noise is how fast the shared cores ran, not waiting.
    let process_with = |binary: &str, input: &std::path::Path| {
        let cpu_before = children_cpu_seconds();
        let start = Instant::now();
        let status = std::process::Command::new(binary)
            .args(["process", "--input"])
            .arg(input)
            .env("FAULTLINE_CACHE_DIR", dir.join("cache"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("running faultline process");
        assert!(status.success(), "faultline process failed");
        (
            start.elapsed().as_secs_f64(),
            children_cpu_seconds() - cpu_before,
        )
    };
    let process = |input: &std::path::Path| process_with(env!("CARGO_BIN_EXE_faultline"), input);
    process(&input); // fills the compiled-component cache
    let one = dir.join("one.ndjson");
    std::fs::write(&one, &lines[0]).unwrap();
    let (start_up, _) = process(&one);
    let (total, _) = process(&input);
    let n = PROCESS_COPIES * lines.len();
    println!();
    println!(
        "`faultline process`, built-in default chain, {n} events from a file to /dev/null, warm cache:"
    );
    println!(
        "  {:.0} events/s ({:.1} us/event; {:.0} ms of it start-up, measured on one event)",
        n as f64 / total,
        total * 1e6 / n as f64,
        start_up * 1e3
    );
    // `--against PATH`: another build (e.g. an earlier commit's) over the
    // same file, alternating with this one, to compare builds in one window.
    if let Some(other) = bench_text_arg("--against") {
        process_with(&other, &input); // fills its cache
        // Which build goes first alternates, so a drift of the machine's
        // speed within a round favours neither.
        let rounds: Vec<[(f64, f64); 2]> = (0..bench_arg("--rounds", 4.0) as usize)
            .map(|round| {
                if round % 2 == 0 {
                    let o = process_with(&other, &input);
                    [o, process(&input)]
                } else {
                    let t = process(&input);
                    [process_with(&other, &input), t]
                }
            })
            .collect();
        let us = |s: f64| s * 1e6 / n as f64;
        println!(
            "  against {other}, alternating, us/event (other / this build), wall and CPU time:"
        );
        for [(ow, oc), (tw, tc)] in &rounds {
            println!(
                "    wall {:>6.1} / {:>6.1}    cpu {:>6.1} / {:>6.1}",
                us(*ow),
                us(*tw),
                us(*oc),
                us(*tc)
            );
        }
        let ratios = |pick: fn(&(f64, f64)) -> f64| {
            let mut r: Vec<f64> = rounds.iter().map(|[o, t]| pick(t) / pick(o)).collect();
            r.sort_by(f64::total_cmp);
            let faster = r.iter().filter(|x| **x < 1.0).count();
            (r[r.len() / 2], faster)
        };
        let ((wall, wall_faster), (cpu, cpu_faster)) = (ratios(|x| x.0), ratios(|x| x.1));
        println!(
            "  this / other per round, median: wall {wall:.3} (faster in {wall_faster} of {n}), cpu {cpu:.3} (faster in {cpu_faster} of {n})",
            n = rounds.len()
        );
    }

    let _ = std::fs::remove_dir_all(&dir);

    // 4. Redactor accuracy on the labelled corpus.
    let corpus = labelled(600, 7);
    let pii = Config::parse(
        "[plugins.pii]\nbuiltin = \"redactor-pii\"\n[[chains.default.stages]]\nplugin = \"pii\"\n",
        "pii.toml",
        std::path::Path::new("."),
    )
    .unwrap();
    let mut pii_pipeline = Pipeline::build(&pii).unwrap();
    let pii_chain = pii_pipeline.chains.get_mut("default").unwrap();
    let outputs: Vec<String> = corpus
        .iter()
        .map(
            |c| match pii_chain.run(faultline::event::from_json(&c.event).unwrap()) {
                Disposition::Processed(p) => {
                    faultline::json::to_string(&output::document(&p, None)).unwrap()
                }
                other => panic!("{other:?}"),
            },
        )
        .collect();
    let s = score(&corpus, &outputs);
    println!();
    println!(
        "redactor-pii on the labelled corpus ({} events):",
        corpus.len()
    );
    println!(
        "  recall:    {:.4} ({}/{} items of personal data removed)",
        s.recall(),
        s.redacted,
        s.pii
    );
    println!(
        "  keep-rate: {:.4} ({}/{} look-alikes intact)",
        s.keep_rate(),
        s.kept,
        s.lookalikes
    );

    println!();
    println!("peak RSS: {:.0} MB", peak_rss_mb());
}
