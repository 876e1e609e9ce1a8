//! Counters and histograms for `/metrics`, in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of latency buckets, in microseconds.
const LATENCY_BUCKETS_US: [u64; 12] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000,
];
/// Upper bounds of fsync batch-size buckets.
const BATCH_BUCKETS: [u64; 8] = [1, 2, 5, 10, 50, 100, 500, 4096];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[u64], value: u64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; bounds.len()];
        }
        for (b, bound) in self.buckets.iter_mut().zip(bounds) {
            if value <= *bound {
                *b += 1;
            }
        }
        self.count += 1;
        self.sum += value;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[u64], divisor: f64) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, bound) in self.buckets.iter().zip(bounds) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{}\"}} {b}",
                *bound as f64 / divisor
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum as f64 / divisor);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Microseconds since `start`, as the histograms here take them.
pub fn micros_since(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Batches of writes: how many each took, and how long.
#[derive(Debug, Default)]
struct Batches {
    sizes: Histogram,
    latency: Histogram,
}

impl Batches {
    fn observe(&mut self, batch: u64, micros: u64) {
        self.sizes.observe(&BATCH_BUCKETS, batch);
        self.latency.observe(&LATENCY_BUCKETS_US, micros);
    }

    /// Both histograms, as `sizes` and `latency` (name, help).
    fn render(&self, out: &mut String, sizes: (&str, &str), latency: (&str, &str)) {
        for ((name, help), h, bounds, divisor) in [
            (sizes, &self.sizes, &BATCH_BUCKETS[..], 1.0),
            (latency, &self.latency, &LATENCY_BUCKETS_US[..], 1e6),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            h.render(out, name, "", bounds, divisor);
        }
    }
}

/// The value under `key`, created on first use; allocates only then, so the
/// per-event counters do not allocate.
fn slot<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("just inserted")
}

/// Everything the server counts.
#[derive(Debug, Default)]
pub struct Metrics {
    received: Mutex<BTreeMap<String, u64>>,
    outcomes: Mutex<BTreeMap<String, BTreeMap<&'static str, u64>>>,
    invalid: AtomicU64,
    rejected_busy: AtomicU64,
    stage_latency: Mutex<BTreeMap<String, BTreeMap<String, Histogram>>>,
    stage_failures: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// The log's group commits.
    commits: Mutex<Batches>,
    /// sled's transactions.
    applies: Mutex<Batches>,
    /// Per phase of an event's way to its acknowledgement.
    event_phases: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Metrics {
    /// An event arrived for `project`.
    pub fn received(&self, project: &str) {
        *slot(&mut self.received.lock().expect("metrics"), project) += 1;
    }

    /// An event ended as `outcome` (`stored`, `duplicate`, `dropped`, `dead_lettered`, `failed`).
    pub fn outcome(&self, project: &str, outcome: &'static str) {
        *slot(&mut self.outcomes.lock().expect("metrics"), project)
            .entry(outcome)
            .or_default() += 1;
    }

    /// An event was refused as malformed.
    pub fn invalid(&self) {
        self.invalid.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was refused because the queue was full.
    pub fn busy(&self) {
        self.rejected_busy.fetch_add(1, Ordering::Relaxed);
    }

    /// A stage took `micros`; `failure` is its error kind if it failed.
    pub fn stage(&self, chain: &str, plugin: &str, micros: u64, failure: Option<&'static str>) {
        let mut latency = self.stage_latency.lock().expect("metrics");
        slot(slot(&mut latency, chain), plugin).observe(&LATENCY_BUCKETS_US, micros);
        if let Some(kind) = failure {
            *self
                .stage_failures
                .lock()
                .expect("metrics")
                .entry((plugin.to_string(), kind))
                .or_default() += 1;
        }
    }

    /// An event spent `micros` in `phase` on its way to being acknowledged:
    /// `queued` (waiting for a worker), `processing` (its chain and
    /// document) or `storing` (from the write until it is durable).
    pub fn event_phase(&self, phase: &'static str, micros: u64) {
        (self.event_phases.lock().expect("metrics"))
            .entry(phase)
            .or_default()
            .observe(&LATENCY_BUCKETS_US, micros);
    }

    /// A group commit wrote `batch` entries with one fsync taking `micros`.
    pub fn commit(&self, batch: u64, micros: u64) {
        (self.commits.lock().expect("metrics")).observe(batch, micros);
    }

    /// One sled transaction applied `batch` logged writes in `micros`.
    pub fn apply(&self, batch: u64, micros: u64) {
        (self.applies.lock().expect("metrics")).observe(batch, micros);
    }

    /// The Prometheus text exposition, with the current queue depth.
    pub fn render(&self, queued: usize) -> String {
        let mut out = String::new();
        out.push_str("# HELP faultline_events_received_total Events accepted for processing.\n# TYPE faultline_events_received_total counter\n");
        for (project, n) in self.received.lock().expect("metrics").iter() {
            let _ = writeln!(
                out,
                "faultline_events_received_total{{project=\"{project}\"}} {n}"
            );
        }
        out.push_str("# HELP faultline_events_total Events by what became of them.\n# TYPE faultline_events_total counter\n");
        let outcomes = self.outcomes.lock().expect("metrics");
        for (project, outcome, n) in outcomes
            .iter()
            .flat_map(|(p, o)| o.iter().map(move |(o, n)| (p, o, n)))
        {
            let _ = writeln!(
                out,
                "faultline_events_total{{project=\"{project}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP faultline_events_invalid_total Events refused as malformed.\n# TYPE faultline_events_invalid_total counter\nfaultline_events_invalid_total {}",
            self.invalid.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP faultline_requests_busy_total Requests answered 429 because the queue was full.\n# TYPE faultline_requests_busy_total counter\nfaultline_requests_busy_total {}",
            self.rejected_busy.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP faultline_queue_depth Events waiting for a worker.\n# TYPE faultline_queue_depth gauge\nfaultline_queue_depth {queued}"
        );
        out.push_str("# HELP faultline_stage_duration_seconds Time spent in each stage.\n# TYPE faultline_stage_duration_seconds histogram\n");
        let latency = self.stage_latency.lock().expect("metrics");
        for (chain, plugin, h) in latency
            .iter()
            .flat_map(|(c, p)| p.iter().map(move |(p, h)| (c, p, h)))
        {
            h.render(
                &mut out,
                "faultline_stage_duration_seconds",
                &format!("chain=\"{chain}\",plugin=\"{plugin}\""),
                &LATENCY_BUCKETS_US,
                1e6,
            );
        }
        out.push_str("# HELP faultline_stage_failures_total Stage failures by plugin and kind (trap, timeout, memory, ...).\n# TYPE faultline_stage_failures_total counter\n");
        for ((plugin, kind), n) in self.stage_failures.lock().expect("metrics").iter() {
            let _ = writeln!(
                out,
                "faultline_stage_failures_total{{plugin=\"{plugin}\",kind=\"{kind}\"}} {n}"
            );
        }
        self.commits.lock().expect("metrics").render(
            &mut out,
            (
                "faultline_commit_batch_size",
                "Writes made durable by one fsync.",
            ),
            (
                "faultline_commit_fsync_seconds",
                "Time of each write-ahead log fsync.",
            ),
        );
        self.applies.lock().expect("metrics").render(
            &mut out,
            (
                "faultline_apply_batch_size",
                "Logged writes applied to the database by one transaction.",
            ),
            (
                "faultline_apply_seconds",
                "Time of each transaction applying logged writes to the database.",
            ),
        );
        out.push_str("# HELP faultline_event_phase_seconds Time an event spent waiting for a worker (queued), in its chain and document (processing), and from its write until durable (storing).\n# TYPE faultline_event_phase_seconds histogram\n");
        for (phase, h) in self.event_phases.lock().expect("metrics").iter() {
            h.render(
                &mut out,
                "faultline_event_phase_seconds",
                &format!("phase=\"{phase}\""),
                &LATENCY_BUCKETS_US,
                1e6,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.received("1");
        m.outcome("1", "stored");
        m.stage("default", "pii", 40, None);
        m.stage("default", "pii", 4_000, Some("timeout"));
        m.commit(3, 900);
        let text = m.render(2);
        assert!(text.contains("faultline_events_received_total{project=\"1\"} 1"));
        assert!(text.contains("faultline_stage_duration_seconds_bucket{chain=\"default\",plugin=\"pii\",le=\"0.00005\"} 1"));
        assert!(text.contains(
            "faultline_stage_duration_seconds_count{chain=\"default\",plugin=\"pii\"} 2"
        ));
        assert!(text.contains("faultline_stage_failures_total{plugin=\"pii\",kind=\"timeout\"} 1"));
        assert!(text.contains("faultline_commit_batch_size_bucket{le=\"5\"} 1"));
        assert!(
            text.contains("faultline_commit_fsync_seconds_bucket{le=\"0.001\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("faultline_commit_fsync_seconds_sum 0.0009"),
            "{text}"
        );
        assert!(text.contains("faultline_queue_depth 2"));
        m.apply(40, 3_000);
        let text = m.render(0);
        assert!(text.contains("faultline_apply_batch_size_bucket{le=\"10\"} 0"));
        assert!(text.contains("faultline_apply_batch_size_bucket{le=\"50\"} 1"));
        assert!(text.contains("faultline_apply_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("faultline_apply_seconds_sum 0.003"), "{text}");
        m.event_phase("queued", 30);
        m.event_phase("storing", 700);
        m.event_phase("storing", 20_000);
        let text = m.render(0);
        assert!(
            text.contains(
                "faultline_event_phase_seconds_bucket{phase=\"queued\",le=\"0.00005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("faultline_event_phase_seconds_bucket{phase=\"storing\",le=\"0.001\"} 1")
        );
        assert!(text.contains("faultline_event_phase_seconds_count{phase=\"storing\"} 2"));
        assert!(text.contains("faultline_event_phase_seconds_sum{phase=\"storing\"} 0.0207"));
    }
}
