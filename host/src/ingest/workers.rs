//! The worker pool: each thread owns its own instances of the chains'
//! plugins and turns queued events into durable stored documents. A reload
//! publishes a new [`Generation`]; each worker picks it up before its next
//! event, so every queued event is processed exactly once, by the old
//! chains or the new ones.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use tokio::sync::oneshot;

use super::routing::Router;
use crate::Pipeline;
use crate::chain::{Chain, Disposition, StageRecord, output};
use crate::metrics::{Metrics, micros_since};
use crate::runtime::bindings::faultline::plugin::types::Event;
use crate::storage::{Applied, Entry, Store};

/// What became of one ingested event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Durably stored (or already stored under the same id).
    Stored {
        /// Event id.
        id: String,
        /// Issue it was grouped into (`None` for a duplicate).
        issue: Option<String>,
    },
    /// A stage dropped it.
    Dropped(String),
    /// A stage dead-lettered it; the original is kept in quarantine.
    DeadLettered(String),
    /// Storage could not take it.
    Failed(String),
}

struct Job {
    project: String,
    event: Event,
    reply: oneshot::Sender<Outcome>,
    /// When it was queued.
    queued: Instant,
}

/// The chains of one loaded config and the rules that pick between them.
pub struct Generation {
    /// Plugins and chains; locked only while a worker forks a chain (its
    /// instances are not `Sync`).
    pub pipeline: Mutex<Pipeline>,
    /// Which chain an event takes.
    pub router: Router,
}

/// The generation workers should use, and a counter bumped on every swap.
struct Current {
    serial: AtomicU64,
    generation: Mutex<Arc<Generation>>,
}

/// The pool.
pub struct Workers {
    jobs: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
    current: Arc<Current>,
}

fn store(
    storage: &dyn Store,
    metrics: &Arc<Metrics>,
    project: String,
    entry: Entry,
    id: String,
    reply: oneshot::Sender<Outcome>,
) {
    let metrics = metrics.clone();
    let handed = Instant::now();
    let ack = Box::new(move |result: Result<Applied, String>| {
        metrics.event_phase("storing", micros_since(handed));
        let (outcome, name) = match result {
            Ok(Applied::Stored { issue }) => (
                Outcome::Stored {
                    id,
                    issue: Some(issue),
                },
                "stored",
            ),
            Ok(Applied::Duplicate) => (Outcome::Stored { id, issue: None }, "duplicate"),
            Ok(Applied::DeadLettered) => (Outcome::DeadLettered(id), "dead_lettered"),
            Ok(Applied::Updated) => (
                Outcome::Failed("an event write updated no event".into()),
                "failed",
            ),
            Err(e) => (Outcome::Failed(e), "failed"),
        };
        metrics.outcome(&project, name);
        let _ = reply.send(outcome);
    });
    if let Err(e) = storage.write(entry, ack) {
        // The ack was consumed by the failed send; the reply channel dropped
        // with it, which the waiting request reads as a failure.
        tracing::warn!("storage refused a write: {e}");
    }
}

fn record_stages(metrics: &Metrics, chain: &str, provenance: &[StageRecord]) {
    for s in provenance {
        metrics.stage(chain, &s.plugin.name, s.duration_us(), s.error_kind);
    }
}

/// One worker's view of the current generation, with its own chain instances.
struct Local {
    serial: u64,
    generation: Arc<Generation>,
    chains: BTreeMap<String, Chain>,
}

impl Local {
    fn load(current: &Current) -> Local {
        let serial = current.serial.load(Ordering::Acquire);
        let generation = current
            .generation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Local {
            serial,
            generation,
            chains: BTreeMap::new(),
        }
    }

    /// This worker's instance of the chain for an event, forked on first use.
    fn chain(&mut self, project: &str, event: &Event) -> &mut Chain {
        let name = self.generation.router.chain_for(project, event);
        if !self.chains.contains_key(name) {
            let chain = self
                .generation
                .pipeline
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .chains[name]
                .fork();
            self.chains.insert(name.to_string(), chain);
        }
        self.chains.get_mut(name).expect("inserted above")
    }
}

fn work(
    current: Arc<Current>,
    jobs: Receiver<Job>,
    storage: Arc<dyn Store>,
    metrics: Arc<Metrics>,
) {
    let mut local = Local::load(&current);
    for job in jobs {
        let picked = Instant::now();
        metrics.event_phase("queued", micros_since(job.queued));
        if current.serial.load(Ordering::Acquire) != local.serial {
            local = Local::load(&current);
        }
        let id = job.event.event_id.clone();
        let project = job.project;
        let chain = local.chain(&project, &job.event);
        match chain.run(job.event) {
            Disposition::Processed(p) => {
                record_stages(&metrics, chain.name(), &p.provenance);
                let entry = output::stored(&p, &project);
                metrics.event_phase("processing", micros_since(picked));
                store(storage.as_ref(), &metrics, project, entry, id, job.reply);
            }
            Disposition::Dropped {
                failure,
                provenance,
            } => {
                record_stages(&metrics, chain.name(), &provenance);
                metrics.outcome(&project, "dropped");
                let _ = job.reply.send(Outcome::Dropped(failure.to_string()));
            }
            Disposition::DeadLettered {
                failure,
                original,
                provenance,
            } => {
                record_stages(&metrics, chain.name(), &provenance);
                let entry = Entry::DeadLetter {
                    project: project.clone(),
                    event: crate::event::to_json(&original),
                    error: failure.to_string(),
                    chain: chain.name().to_string(),
                };
                store(storage.as_ref(), &metrics, project, entry, id, job.reply);
            }
        }
    }
}

impl Workers {
    /// Starts `threads` workers running the chains of `generation`.
    pub fn start(
        generation: Generation,
        threads: usize,
        queue: usize,
        storage: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Workers {
        let (tx, rx) = bounded(queue);
        let current = Arc::new(Current {
            serial: AtomicU64::new(0),
            generation: Mutex::new(Arc::new(generation)),
        });
        let threads = (0..threads.max(1))
            .map(|i| {
                let current = current.clone();
                let rx = rx.clone();
                let storage = storage.clone();
                let metrics = metrics.clone();
                std::thread::Builder::new()
                    .name(format!("faultline-worker-{i}"))
                    .spawn(move || work(current, rx, storage, metrics))
                    .expect("spawning a worker thread")
            })
            .collect();
        Workers {
            jobs: Some(tx),
            threads,
            current,
        }
    }

    /// Makes `generation` the one every worker uses from its next event on;
    /// the old one is dropped when the last worker lets go of it.
    pub fn swap(&self, generation: Generation) {
        let mut slot = self
            .current
            .generation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Arc::new(generation);
        self.current.serial.fetch_add(1, Ordering::AcqRel);
    }

    /// Free places in the queue.
    pub fn room(&self) -> usize {
        self.jobs
            .as_ref()
            .map_or(0, |j| j.capacity().unwrap_or(usize::MAX) - j.len())
    }

    /// Events waiting for a worker.
    pub fn queued(&self) -> usize {
        self.jobs.as_ref().map_or(0, Sender::len)
    }

    /// Queues an event; `None` when the queue is full or closed.
    pub fn submit(&self, project: &str, event: Event) -> Option<oneshot::Receiver<Outcome>> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            project: project.to_string(),
            event,
            reply,
            queued: Instant::now(),
        };
        match self.jobs.as_ref()?.try_send(job) {
            Ok(()) => Some(rx),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }

    /// Closes the queue, lets the workers finish what is queued, and joins them.
    pub fn stop(mut self) {
        self.jobs.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
