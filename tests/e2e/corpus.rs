//! The labelled PII corpus through the `redactor-pii` component: recall and
//! keep-rate are accuracy figures, not timings, so they are asserted here.

use faultline::Pipeline;
use faultline::chain::{Disposition, output};
use faultline::config::Config;

/// Events in the corpus; every kind of PII lands in every kind of field.
pub const CORPUS_EVENTS: usize = 600;
/// Seed of the corpus; the same corpus as `BENCHMARKS.md` reports.
pub const CORPUS_SEED: u64 = 7;

const PII_ONLY: &str =
    "[plugins.pii]\nbuiltin = \"redactor-pii\"\n[[chains.default.stages]]\nplugin = \"pii\"\n";

#[test]
fn redactor_reaches_99_percent_recall_and_keeps_99_percent_of_look_alikes() {
    let corpus = faultline_testkit::corpus::labelled(CORPUS_EVENTS, CORPUS_SEED);
    let config = Config::parse(PII_ONLY, "pii.toml", std::path::Path::new(".")).unwrap();
    let mut pipeline = Pipeline::build(&config).unwrap();
    let chain = pipeline.chains.get_mut("default").unwrap();
    let mut outputs = Vec::new();
    for item in &corpus {
        let event = faultline::event::from_json(&item.event).unwrap();
        match chain.run(event) {
            Disposition::Processed(p) => {
                outputs.push(serde_json::to_string(&output::document(&p, None)).unwrap())
            }
            other => panic!("corpus event not processed: {other:?}"),
        }
    }
    let score = faultline_testkit::corpus::score(&corpus, &outputs);
    eprintln!(
        "recall {:.4} ({}/{}), keep-rate {:.4} ({}/{}); missed {:?}; mangled {:?}",
        score.recall(),
        score.redacted,
        score.pii,
        score.keep_rate(),
        score.kept,
        score.lookalikes,
        score.missed,
        score.mangled
    );
    let kinds: std::collections::BTreeSet<&str> = corpus
        .iter()
        .flat_map(|c| c.pii.iter().map(|p| p.0))
        .collect();
    assert_eq!(
        kinds.len(),
        faultline_testkit::corpus::KINDS.len(),
        "every kind is in the corpus"
    );
    assert!(score.pii >= 1500, "{} items", score.pii);
    assert!(
        score.recall() >= 0.99,
        "recall {:.4}; missed (first 20): {:?}",
        score.recall(),
        &score.missed[..score.missed.len().min(20)]
    );
    assert!(
        score.keep_rate() >= 0.99,
        "keep-rate {:.4}; mangled (first 20): {:?}",
        score.keep_rate(),
        &score.mangled[..score.mangled.len().min(20)]
    );
}

/// The SDK serves each call's arguments from a region it resets after the
/// call (`faultline_sdk::arena`). One instance of each first-party plugin,
/// reused over events of very different sizes (so the region overflows, grows
/// and is reused), returns exactly what a fresh instance returns for each
/// event on its own, where the arguments come from the ordinary allocator.
#[test]
fn reused_instances_answer_as_fresh_ones_over_events_of_mixed_sizes() {
    let config = Config::builtin_default();
    let mut reused = Pipeline::build(&config).unwrap();
    let corpus = faultline_testkit::corpus::labelled(24, CORPUS_SEED);
    let mut rng = faultline_testkit::corpus::Rng::new(11);
    let mut events = Vec::new();
    for (i, item) in corpus.iter().enumerate() {
        events.push(item.event.clone());
        if i % 4 == 1 {
            let bytes = [300_000, 90_000, 4_000][i / 4 % 3];
            events.push(faultline_testkit::corpus::sized_event(i, bytes, &mut rng));
        }
    }
    let answer = |pipeline: &mut Pipeline, json: &serde_json::Value| -> String {
        let event = faultline::event::from_json(json).unwrap();
        match pipeline.chains.get_mut("default").unwrap().run(event) {
            Disposition::Processed(p) => format!("{:?}", (p.event, p.classification, p.impact)),
            other => panic!("event not processed: {other:?}"),
        }
    };
    for (i, json) in events.iter().enumerate() {
        let from_reused = answer(&mut reused, json);
        let from_fresh = answer(&mut Pipeline::build(&config).unwrap(), json);
        assert_eq!(from_reused, from_fresh, "event {i}");
    }
}
