//! The worker pool: each thread owns its own instances of the chain's
//! plugins and turns queued events into durable stored documents.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use tokio::sync::oneshot;

use crate::chain::{Chain, Disposition, output};
use crate::runtime::bindings::faultline::plugin::types::Event;
use crate::storage::{Applied, Entry, Storage, StorageError};

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
}

/// The pool.
pub struct Workers {
    jobs: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

fn store(storage: &Storage, entry: Entry, id: String, reply: oneshot::Sender<Outcome>) {
    let ack = Box::new(move |result: Result<Applied, String>| {
        let outcome = match result {
            Ok(Applied::Stored { issue }) => Outcome::Stored {
                id,
                issue: Some(issue),
            },
            Ok(Applied::Duplicate) => Outcome::Stored { id, issue: None },
            Ok(Applied::DeadLettered) => Outcome::DeadLettered(id),
            Err(e) => Outcome::Failed(e),
        };
        let _ = reply.send(outcome);
    });
    if let Err(e) = storage.write(entry, ack) {
        // The ack was consumed by the failed send; the reply channel dropped
        // with it, which the waiting request reads as a failure.
        tracing::warn!("storage refused a write: {e}");
        debug_assert!(matches!(e, StorageError::Busy | StorageError::Closed));
    }
}

fn work(mut chain: Chain, jobs: Receiver<Job>, storage: Arc<Storage>) {
    for job in jobs {
        let id = job.event.event_id.clone();
        match chain.run(job.event) {
            Disposition::Processed(p) => {
                let doc = output::processed_json(&p);
                store(
                    &storage,
                    Entry::Event {
                        project: job.project,
                        doc,
                    },
                    id,
                    job.reply,
                );
            }
            Disposition::Dropped { failure, .. } => {
                let _ = job.reply.send(Outcome::Dropped(failure.to_string()));
            }
            Disposition::DeadLettered {
                failure, original, ..
            } => {
                let entry = Entry::DeadLetter {
                    project: job.project,
                    event: crate::event::to_json(&original),
                    error: failure.to_string(),
                    chain: chain.name().to_string(),
                };
                store(&storage, entry, id, job.reply);
            }
        }
    }
}

impl Workers {
    /// Starts `threads` workers, each with its own instances of `chain`.
    pub fn start(chain: &Chain, threads: usize, queue: usize, storage: Arc<Storage>) -> Workers {
        let (tx, rx) = bounded(queue);
        let threads = (0..threads.max(1))
            .map(|i| {
                let chain = chain.fork();
                let rx = rx.clone();
                let storage = storage.clone();
                std::thread::Builder::new()
                    .name(format!("faultline-worker-{i}"))
                    .spawn(move || work(chain, rx, storage))
                    .expect("spawning a worker thread")
            })
            .collect();
        Workers {
            jobs: Some(tx),
            threads,
        }
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
