//! Storage: processed events, the issues they group into, per-minute
//! counters, the audit log and the dead-letter quarantine. The server uses
//! them only through the [`Store`] trait; [`Storage`] implements it with sled
//! and a write-ahead log in front, so that an acknowledged write is durable
//! (group commit: one `fdatasync` per batch, not per event). Event documents
//! stay in the log; sled holds where each one is.

mod counters;
pub(crate) mod indexing;
mod issues;
mod wal;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use counters::{Bucket, StatsBy};
pub use indexing::Indexing;
pub use issues::{Issue, fingerprint_of};

use crate::metrics::Metrics;
use wal::{Documents, Location, Log};

/// The schema version of the sled trees; bumped by migrations.
/// 2: per-minute counters (built from the stored events when a version 1
/// directory is opened).
/// 3: event documents stay in the log's segments and sled holds their
/// [`Location`]s (documents stored inline by version 2 are read as they are).
pub const SCHEMA_VERSION: u64 = 3;
/// Log segment size at which sled is flushed and fsynced and the log moves
/// on to a new segment.
const CHECKPOINT_BYTES: u64 = 16 << 20;
/// `meta` key: the first log segment to replay at start.
const LOG_FROM: &str = "log_from";
/// `meta` key prefix: for each log segment, the newest time (microseconds)
/// of the events whose documents are in it.
const SEGMENT_NEWEST: &[u8] = b"segment_newest/";

fn segment_newest_key(segment: u64) -> Vec<u8> {
    let mut key = SEGMENT_NEWEST.to_vec();
    key.extend_from_slice(&segment.to_be_bytes());
    key
}

fn read_u64(value: Option<sled::IVec>) -> Option<u64> {
    value.map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])))
}
/// Most writes committed with one `fdatasync`.
const MAX_BATCH: usize = 4096;
/// Most committed writes the writer holds back from sled to apply them in one
/// transaction: enough to spread sled's cost per transaction over small
/// commits, few enough that applying them does not hold up the next commit.
const MAX_UNAPPLIED: usize = 256;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A file operation failed.
    #[error("storage I/O failed in {path}: {source}")]
    Io {
        /// File or directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// sled failed.
    #[error("the event database failed: {0}")]
    Sled(String),
    /// The data directory was written by a newer faultline.
    #[error(
        "{path} has schema version {found}, newer than this faultline's {SCHEMA_VERSION}; use a newer faultline"
    )]
    Schema {
        /// Data directory.
        path: String,
        /// Version found.
        found: u64,
    },
    /// The writer is gone (shutting down or failed earlier).
    #[error("storage is not accepting writes (shutting down or failed)")]
    Closed,
    /// The write queue is full.
    #[error("storage write queue is full")]
    Busy,
}

fn sled_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Sled(e.to_string())
}

/// Which stored events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this project.
    pub project: Option<String>,
    /// Only events grouped into this issue.
    pub issue: Option<String>,
    /// Only this level.
    pub level: Option<String>,
    /// Only classifications whose category path (joined with `.`) starts with this.
    pub category: Option<String>,
    /// Only events at or after this time (seconds since the epoch).
    pub since: Option<f64>,
    /// Only events at or before this time.
    pub until: Option<f64>,
}

impl EventFilter {
    /// Whether a stored document passes the filter (time bounds aside).
    pub fn matches(&self, doc: &Json) -> bool {
        let project = doc["project"].as_str().unwrap_or("1");
        if self.project.as_deref().is_some_and(|p| p != project) {
            return false;
        }
        if self
            .level
            .as_deref()
            .is_some_and(|l| doc["level"].as_str() != Some(l))
        {
            return false;
        }
        if let Some(category) = &self.category {
            let path: Vec<&str> = doc["classification"]["category"]
                .as_array()
                .map(|c| c.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let joined = path.join(".");
            if !(joined == *category || joined.starts_with(&format!("{category}."))) {
                return false;
            }
        }
        if let Some(issue) = &self.issue
            && fingerprint_of(project, doc).1 != *issue
        {
            return false;
        }
        true
    }
}

/// One write, as logged and applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A processed event (the output document of the chain).
    Event {
        /// Project it was sent to.
        project: String,
        /// The document: event, classification, impact, provenance; `null`
        /// when the caller wrote it already (`logged`, [`Entry::written`]).
        doc: Json,
        /// The entry's log record with the document in it, when the caller
        /// wrote the document already.
        #[serde(skip)]
        logged: Option<Logged>,
        /// What storing it derives from the document, when the caller
        /// derived it already (else the writer derives it from `doc`).
        #[serde(skip)]
        indexing: Option<Box<Indexing>>,
    },
    /// A change of an issue's status by an operator.
    IssueStatus {
        /// Issue id.
        issue: String,
        /// New status: `unresolved`, `resolved` or `ignored`.
        status: String,
        /// Who changed it (the API key's name).
        actor: String,
    },
    /// Something for the audit log alone (a config load, ...).
    Audit {
        /// Who did it.
        actor: String,
        /// What was done, e.g. `config.load`.
        action: String,
        /// Details.
        detail: String,
    },
    /// A dead-lettered event was replayed (or discarded) and leaves quarantine.
    DeadLetterCleared {
        /// Its event id.
        event_id: String,
    },
    /// An event a stage dead-lettered, as it entered the chain.
    DeadLetter {
        /// Project it was sent to.
        project: String,
        /// The event, unredacted.
        event: Json,
        /// The failure.
        error: String,
        /// Chain it ran in.
        chain: String,
    },
}

impl Entry {
    /// A processed event from its serialized output document, for tests
    /// that start from bytes: the bytes are stored as they are, and what
    /// storing derives from them is derived from a borrowed reading of them
    /// (as a replay does).
    #[cfg(test)]
    pub fn event(project: String, stored: Vec<u8>) -> serde_json::Result<Entry> {
        let doc = crate::event::raw::members_from_slice(&stored, indexing::READS)?;
        let indexing = Indexing::of(&project, &doc);
        let logged = Logged::write(&project, stored.len(), |payload| {
            payload.extend_from_slice(&stored);
            Ok(())
        })?;
        Ok(Entry::prepared(project, logged, indexing))
    }

    /// A processed event from its output document, serialized here once,
    /// straight into its log record, and stored as written. What storing
    /// derives is derived from the document's members as they serialize,
    /// without reading the bytes back (so a document nested deeper than the
    /// JSON reader's limit is stored like any other).
    pub fn written<D: Serialize + ?Sized>(
        project: String,
        document: &D,
    ) -> serde_json::Result<Entry> {
        let members = crate::event::raw::members_of(document, indexing::READS)?;
        let indexing = Indexing::of(&project, &members);
        let size = RECORD_SIZE.get();
        let logged = Logged::write(&project, size + size / 8, |payload| {
            crate::json::write(payload, document)
        })?;
        RECORD_SIZE.set(logged.payload.len());
        Ok(Entry::prepared(project, logged, indexing))
    }

    fn prepared(project: String, logged: Logged, indexing: Indexing) -> Entry {
        Entry::Event {
            project,
            doc: Json::Null,
            logged: Some(logged),
            indexing: Some(Box::new(indexing)),
        }
    }
}

thread_local! {
    /// The size of the last log record this thread wrote a document into: the
    /// next one starts with room for it, not growing (and copying) its way up
    /// from a few bytes.
    static RECORD_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(4096) };
}

/// An event entry's log record, written before it reaches the writer.
#[derive(Debug, Clone)]
pub struct Logged {
    payload: Vec<u8>,
    /// Where the document is in `payload`.
    doc: Range<usize>,
}

impl Logged {
    /// The record of an event entry of `project` whose document `write`
    /// appends, with room for `size` bytes of it.
    fn write(
        project: &str,
        size: usize,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> serde_json::Result<Logged> {
        let mut payload = event_record_head(project, size + 1);
        let start = payload.len();
        write(&mut payload)?;
        let doc = start..payload.len();
        payload.push(b'}');
        Ok(Logged { payload, doc })
    }

    /// The document.
    fn doc(&self) -> &[u8] {
        &self.payload[self.doc.clone()]
    }
}

/// What applying an entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Stored; grouped into this issue.
    Stored {
        /// Issue id.
        issue: String,
    },
    /// An event with this id was already stored; nothing changed.
    Duplicate,
    /// Kept in the dead-letter tree.
    DeadLettered,
    /// An issue or the audit log was updated.
    Updated,
}

/// How a logged event entry begins, up to its document:
/// `Entry`'s serde form is `{"kind":"event","project":…,"doc":…}`.
/// `room` is what to reserve for the rest.
fn event_record_head(project: &str, room: usize) -> Vec<u8> {
    let mut head = Vec::with_capacity(project.len() + 40 + room);
    head.extend_from_slice(br#"{"kind":"event","project":"#);
    serde_json::to_writer(&mut head, project).expect("strings serialize");
    head.extend_from_slice(br#","doc":"#);
    head
}

/// Where the document is in a logged event entry.
fn doc_span(payload: &[u8], project: &str) -> Option<Range<usize>> {
    let head = event_record_head(project, 0);
    (payload.starts_with(&head) && payload.ends_with(b"}") && payload.len() > head.len() + 1)
        .then(|| head.len()..payload.len() - 1)
}

/// An entry as logged, and for an event where its document is in it (the
/// record is taken out of the entry when the caller wrote it). The document
/// is serialized once and stored where it is logged.
fn log_record(entry: &mut Entry) -> (Vec<u8>, Option<Range<usize>>) {
    let Entry::Event {
        project,
        doc,
        logged,
        ..
    } = entry
    else {
        return (serde_json::to_vec(entry).expect("entries serialize"), None);
    };
    let Logged { payload, doc } = match logged.take() {
        Some(logged) => logged,
        None => Logged::write(project, 0, |payload| crate::json::write(payload, doc))
            .expect("documents serialize"),
    };
    (payload, Some(doc))
}

/// Acknowledgement callback of one write. It runs on the writer thread,
/// possibly before sled holds the write, so it must not read the store (a
/// read would wait for the writer it is blocking).
pub type Ack = Box<dyn FnOnce(Result<Applied, String>) + Send>;

struct Job {
    entry: Entry,
    /// The entry as logged, serialized by the caller's thread.
    payload: Vec<u8>,
    /// For events, where the document is in `payload`.
    doc: Option<Range<usize>>,
    /// For events, where the document is in the log, once appended.
    location: Option<Location>,
    /// Taken when the write is acknowledged.
    ack: Option<Ack>,
}

/// Events are acknowledged as soon as the log has made them durable, before
/// sled has them; reads wait until sled has caught up with every
/// acknowledgement given before they started, so an acknowledged event is
/// always there to read.
#[derive(Default)]
struct Visibility {
    /// The last sequence number acknowledged early.
    acked: AtomicU64,
    /// The last sequence number applied to sled.
    applied: AtomicU64,
    lock: Mutex<()>,
    caught_up: Condvar,
}

impl Visibility {
    /// Waits until sled holds everything acknowledged so far.
    fn wait(&self) {
        let target = self.acked.load(Ordering::SeqCst);
        if self.applied.load(Ordering::SeqCst) >= target {
            return;
        }
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while self.applied.load(Ordering::SeqCst) < target {
            guard = self
                .caught_up
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Entries up to `seq` are about to be acknowledged before being applied.
    fn acknowledging(&self, seq: u64) {
        self.acked.fetch_max(seq, Ordering::SeqCst);
    }

    /// Entries up to `seq` are in sled (`u64::MAX`: stop waiting, the writer
    /// has stopped).
    fn applied(&self, seq: u64) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.applied.fetch_max(seq, Ordering::SeqCst);
        self.caught_up.notify_all();
    }
}

#[derive(Clone)]
struct Trees {
    db: sled::Db,
    events: sled::Tree,
    by_time: sled::Tree,
    issues: sled::Tree,
    issue_users: sled::Tree,
    dead: sled::Tree,
    audit: sled::Tree,
    counters: sled::Tree,
    meta: sled::Tree,
}

/// The store: reads go straight to sled, writes through the log and the writer thread.
pub struct Storage {
    trees: Trees,
    /// Reads event documents out of the log.
    documents: Documents,
    /// The data directory.
    dir: PathBuf,
    writer: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    visibility: Arc<Visibility>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Trees {
    fn open(dir: &Path) -> Result<Trees, StorageError> {
        let db = sled::Config::new()
            .path(dir.join("db"))
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(sled_err)?;
        let tree = |name: &str| db.open_tree(name).map_err(sled_err);
        Ok(Trees {
            events: tree("events")?,
            by_time: tree("events_by_time")?,
            issues: tree("issues")?,
            issue_users: tree("issue_users")?,
            dead: tree("dead_letter")?,
            audit: tree("audit")?,
            counters: tree("counters")?,
            meta: tree("meta")?,
            db,
        })
    }

    /// What applying would answer for each event entry, known before
    /// applying: a duplicate if its id is stored or in `unapplied` (the ids
    /// of events committed but not applied yet, to which this adds the
    /// entries' own), else stored in its issue. The writer applies in order,
    /// so sled plus `unapplied` is everything earlier. `None` for other
    /// entries, events not derived yet, and when sled cannot be read.
    fn foreseen<'a>(
        &self,
        unapplied: &mut HashSet<String>,
        entries: impl Iterator<Item = &'a Entry>,
    ) -> Vec<Option<Applied>> {
        entries
            .map(|entry| {
                let Entry::Event {
                    indexing: Some(ix), ..
                } = entry
                else {
                    return None;
                };
                let earlier = !unapplied.insert(ix.id.clone());
                let stored = self.events.contains_key(ix.id.as_bytes()).ok()?;
                Some(if earlier || stored {
                    Applied::Duplicate
                } else {
                    Applied::Stored {
                        issue: ix.issue.id.clone(),
                    }
                })
            })
            .collect()
    }

    fn applied_seq(&self) -> Result<u64, StorageError> {
        Ok(read_u64(self.meta.get("applied_seq").map_err(sled_err)?).unwrap_or(0))
    }

    /// The first log segment to replay at start.
    fn log_from(&self) -> Result<u64, StorageError> {
        Ok(read_u64(self.meta.get(LOG_FROM).map_err(sled_err)?).unwrap_or(0))
    }

    /// Applies logged entries (sequence numbers `first_seq`, `first_seq + 1`, …)
    /// in one transaction, with the applied sequence number: all or nothing, so
    /// a replay after a crash neither loses nor double-counts. An event's
    /// document is stored as its location in the log when given, else
    /// inline. Per-entry outcomes come back in order; only a storage failure
    /// fails the batch.
    fn apply_batch(
        &self,
        first_seq: u64,
        items: &[(&Entry, Option<Location>)],
    ) -> Result<Vec<Result<Applied, String>>, StorageError> {
        use sled::Transactional;
        use sled::transaction::ConflictableTransactionError as Abort;
        let abort = |e: serde_json::Error| Abort::Abort(e.to_string());
        let result = (
            &self.events,
            &self.by_time,
            &self.issues,
            &self.issue_users,
            &self.dead,
            &self.audit,
            &self.counters,
            &self.meta,
        )
            .transaction(
                |(events, by_time, issues, users, dead, audit, counters, meta)| {
                    let mut outcomes = Vec::with_capacity(items.len());
                    // Issues and counters a batch touches are read once,
                    // updated in memory for each of its entries, and written
                    // once at the end, in the same transaction.
                    let mut touched: HashMap<String, Issue> = HashMap::new();
                    let mut increments: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
                    // The newest event time per log segment written to.
                    let mut newest: BTreeMap<u64, u64> = BTreeMap::new();
                    let load = |id: &str| -> Result<Option<Issue>, Abort<String>> {
                        match issues.get(id.as_bytes())? {
                            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(abort)?)),
                            None => Ok(None),
                        }
                    };
                    for (i, (entry, location)) in items.iter().enumerate() {
                        let seq = first_seq + i as u64;
                        let outcome = match entry {
                            Entry::Event {
                                project,
                                doc,
                                logged,
                                indexing,
                            } => {
                                let derived;
                                let ix = match indexing {
                                    Some(ix) => ix.as_ref(),
                                    None => {
                                        derived = Indexing::of(project, doc);
                                        &derived
                                    }
                                };
                                let id = ix.id.as_str();
                                if events.get(id)?.is_some() {
                                    outcomes.push(Ok(Applied::Duplicate));
                                    continue;
                                }
                                let bytes = match (location, logged) {
                                    (Some(at), _) => {
                                        let t = newest.entry(at.segment).or_default();
                                        *t = (*t).max(ix.micros);
                                        at.encode().to_vec()
                                    }
                                    (None, Some(logged)) => logged.doc().to_vec(),
                                    (None, None) => serde_json::to_vec(doc).map_err(abort)?,
                                };
                                events.insert(id, bytes)?;
                                let mut key = ix.micros.to_be_bytes().to_vec();
                                key.extend_from_slice(id.as_bytes());
                                by_time.insert(key, id.as_bytes())?;
                                let issue_id = &ix.issue.id;
                                if !touched.contains_key(issue_id) {
                                    let issue = match load(issue_id)? {
                                        Some(issue) => issue,
                                        None => ix.issue.clone(),
                                    };
                                    touched.insert(issue_id.clone(), issue);
                                }
                                let new_user = match &ix.user {
                                    Some(user) => {
                                        let mut k = issue_id.as_bytes().to_vec();
                                        k.push(0);
                                        k.extend_from_slice(user.as_bytes());
                                        users.insert(k, &[])?.is_none()
                                    }
                                    None => false,
                                };
                                let issue = touched.get_mut(issue_id).expect("inserted above");
                                issue.record(&ix.sample, new_user);
                                for key in &ix.counters {
                                    *increments.entry(key.clone()).or_default() += 1;
                                }
                                Ok(Applied::Stored {
                                    issue: issue_id.clone(),
                                })
                            }
                            Entry::IssueStatus {
                                issue,
                                status,
                                actor,
                            } => match touched
                                .remove(issue)
                                .map_or_else(|| load(issue), |i| Ok(Some(i)))?
                            {
                                None => Err(format!("no issue {issue}")),
                                Some(mut current) => {
                                    let detail = format!("{} -> {status}", current.status);
                                    current.status = status.clone();
                                    touched.insert(issue.clone(), current);
                                    audit.insert(
                                        &seq.to_be_bytes(),
                                        audit_record(seq, actor, "issue.status", issue, &detail),
                                    )?;
                                    Ok(Applied::Updated)
                                }
                            },
                            Entry::Audit {
                                actor,
                                action,
                                detail,
                            } => {
                                audit.insert(
                                    &seq.to_be_bytes(),
                                    audit_record(seq, actor, action, "", detail),
                                )?;
                                Ok(Applied::Updated)
                            }
                            Entry::DeadLetterCleared { event_id } => {
                                dead.remove(event_id.as_bytes())?;
                                Ok(Applied::Updated)
                            }
                            Entry::DeadLetter { event, .. } => {
                                let id = event["event_id"].as_str().unwrap_or_default();
                                dead.insert(id, serde_json::to_vec(entry).map_err(abort)?)?;
                                Ok(Applied::DeadLettered)
                            }
                        };
                        outcomes.push(outcome);
                    }
                    for (id, issue) in &touched {
                        issues.insert(id.as_bytes(), serde_json::to_vec(issue).map_err(abort)?)?;
                    }
                    counters::add(counters, &increments)?;
                    for (segment, micros) in &newest {
                        let key = segment_newest_key(*segment);
                        if read_u64(meta.get(&key)?).is_none_or(|before| *micros > before) {
                            meta.insert(key, &micros.to_be_bytes())?;
                        }
                    }
                    let last = first_seq + items.len() as u64 - 1;
                    meta.insert("applied_seq", &last.to_be_bytes())?;
                    Ok(outcomes)
                },
            );
        result.map_err(|e| match e {
            sled::transaction::TransactionError::Abort(m) => StorageError::Sled(m),
            sled::transaction::TransactionError::Storage(e) => sled_err(e),
        })
    }

    /// Flushes sled and fsyncs its files.
    fn make_durable(&self, dir: &Path) -> Result<(), StorageError> {
        self.db.flush().map_err(sled_err)?;
        let db_dir = dir.join("db");
        for entry in std::fs::read_dir(&db_dir).map_err(io_err(&db_dir))? {
            let path = entry.map_err(io_err(&db_dir))?.path();
            if path.is_file() {
                std::fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(io_err(&path))?;
            }
        }
        Ok(())
    }
}

fn audit_record(seq: u64, actor: &str, action: &str, target: &str, detail: &str) -> Vec<u8> {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    serde_json::to_vec(&serde_json::json!({
        "seq": seq, "time": time, "actor": actor, "action": action, "target": target, "detail": detail,
    }))
    .expect("audit records serialize")
}

/// Every value of a tree, decoded.
fn all<T: serde::de::DeserializeOwned>(tree: &sled::Tree) -> Result<Vec<T>, StorageError> {
    tree.iter()
        .values()
        .map(|v| {
            v.map_err(sled_err)
                .and_then(|v| serde_json::from_slice(&v).map_err(sled_err))
        })
        .collect()
}

/// Writes the log has made durable that sled does not hold yet (events among
/// them already acknowledged): while more writes are queued the writer makes
/// those durable first, and sled then takes them all in one transaction.
struct Unapplied {
    /// Sequence number of the first job.
    first_seq: u64,
    jobs: Vec<Job>,
    /// What each job was acknowledged with, if it was.
    foreseen: Vec<Option<Applied>>,
    /// Ids of the events among the jobs, so a repeat is foreseen as a duplicate.
    ids: HashSet<String>,
}

impl Unapplied {
    fn new(first_seq: u64) -> Unapplied {
        Unapplied {
            first_seq,
            jobs: Vec::new(),
            foreseen: Vec::new(),
            ids: HashSet::new(),
        }
    }

    /// Applies every job in one sled transaction and answers those not
    /// acknowledged yet. `false` when sled failed: the writer then refuses
    /// writes (the log holds them; they are applied at the next start).
    fn apply(&mut self, trees: &Trees, visibility: &Visibility, metrics: &Metrics) -> bool {
        let jobs = std::mem::take(&mut self.jobs);
        let foreseen = std::mem::take(&mut self.foreseen);
        self.ids.clear();
        let first = self.first_seq;
        self.first_seq += jobs.len() as u64;
        if jobs.is_empty() {
            return true;
        }
        let items: Vec<(&Entry, Option<Location>)> =
            jobs.iter().map(|j| (&j.entry, j.location)).collect();
        let start = std::time::Instant::now();
        let applied = trees.apply_batch(first, &items);
        let micros = crate::metrics::micros_since(start);
        drop(items);
        match applied {
            Ok(outcomes) => {
                metrics.apply(jobs.len() as u64, micros);
                visibility.applied(self.first_seq - 1);
                for ((job, outcome), early) in jobs.into_iter().zip(outcomes).zip(foreseen) {
                    match job.ack {
                        Some(ack) => ack(outcome),
                        None => debug_assert_eq!(early.map(Ok), Some(outcome)),
                    }
                }
                true
            }
            Err(e) => {
                tracing::error!(
                    "applying committed writes to the database failed; refusing writes (what the log holds is applied at the next start): {e}"
                );
                for job in jobs {
                    if let Some(ack) = job.ack {
                        ack(Err(format!("the database failed: {e}")));
                    }
                }
                visibility.applied(u64::MAX);
                false
            }
        }
    }
}

/// What the writer thread owns.
struct Writer {
    trees: Trees,
    dir: PathBuf,
    wal: Log,
    /// The last sequence number logged.
    seq: u64,
    metrics: Arc<Metrics>,
    visibility: Arc<Visibility>,
    /// Most writes committed with one `fdatasync`.
    max_batch: usize,
    /// Segment size at which to checkpoint.
    checkpoint_bytes: u64,
}

/// Checkpoints on a thread of its own, so that the writer does not stop
/// committing while sled is flushed and its files fsynced (1–8 ms at 16 MiB
/// of log). The writer moves the log on to a new segment once sled holds
/// everything in the current one and asks for a checkpoint up to it; the
/// checkpointer makes sled durable and only then records that segment as
/// where the next start replays from (if that record is lost in a crash, the
/// start replays from an earlier segment: applying is idempotent). Asking
/// while a checkpoint runs makes the next one cover the newest segment.
struct Checkpointer {
    /// The newest segment a checkpoint was asked for.
    asked: Arc<AtomicU64>,
    wake: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(trees: Trees, dir: PathBuf) -> Checkpointer {
        let asked = Arc::new(AtomicU64::new(0));
        let (wake, woken) = bounded::<()>(1);
        let thread = {
            let asked = asked.clone();
            std::thread::Builder::new()
                .name("faultline-checkpoint".into())
                .spawn(move || {
                    let mut done = 0;
                    // After the writer has gone, one last look at what it asked.
                    while woken.recv().is_ok() || done < asked.load(Ordering::SeqCst) {
                        let segment = asked.load(Ordering::SeqCst);
                        if segment <= done {
                            continue;
                        }
                        let recorded = trees.make_durable(&dir).and_then(|()| {
                            let at = segment.to_be_bytes();
                            trees.meta.insert(LOG_FROM, &at).map_err(sled_err)
                        });
                        match recorded {
                            Ok(_) => tracing::debug!(segment, "checkpoint: replay starts here"),
                            Err(e) => tracing::error!(
                                "checkpoint failed (a start replays from an earlier log segment): {e}"
                            ),
                        }
                        done = segment;
                    }
                })
                .map_err(|e| {
                    tracing::error!("cannot start the checkpoint thread (starts replay every log segment since the last checkpoint): {e}")
                })
                .ok()
        };
        Checkpointer {
            asked,
            wake: Some(wake),
            thread,
        }
    }

    /// Asks for a checkpoint up to (not including) `segment`.
    fn ask(&self, segment: u64) {
        self.asked.fetch_max(segment, Ordering::SeqCst);
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    /// Waits for the checkpoint asked last.
    fn drop(&mut self) {
        self.wake.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn writer_loop(writer: Writer, rx: Receiver<Job>) {
    let Writer {
        trees,
        dir,
        mut wal,
        mut seq,
        metrics,
        visibility,
        max_batch,
        checkpoint_bytes,
    } = writer;
    let wal_path = wal.dir().to_path_buf();
    let mut unapplied = Unapplied::new(seq + 1);
    let checkpointer = Checkpointer::start(trees.clone(), dir);
    loop {
        // Wait for work only when sled holds everything committed.
        let first = if unapplied.jobs.is_empty() {
            match rx.recv() {
                Ok(job) => Some(job),
                Err(_) => break,
            }
        } else {
            rx.try_recv().ok()
        };
        if let Some(first) = first {
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            for job in &mut batch {
                seq += 1;
                let at = wal.append(seq, &job.payload);
                job.location = job.doc.as_ref().map(|span| Location {
                    segment: wal.segment(),
                    offset: at + span.start as u64,
                    len: span.len() as u32,
                });
            }
            let fsync_start = std::time::Instant::now();
            if let Err(e) = wal.sync() {
                tracing::error!(path = %wal_path.display(), "write-ahead log failed; refusing writes: {e}");
                // What is already durable still goes to sled.
                unapplied.apply(&trees, &visibility, &metrics);
                for job in batch {
                    if let Some(ack) = job.ack {
                        ack(Err(format!("write-ahead log failed: {e}")));
                    }
                }
                visibility.applied(u64::MAX);
                return;
            }
            metrics.commit(
                batch.len() as u64,
                crate::metrics::micros_since(fsync_start),
            );
            tracing::debug!(batch = batch.len(), "group commit");
            // Durable: events are acknowledged now with the outcome applying
            // will have; sled gets them later (reads wait for it).
            let foreseen = trees.foreseen(&mut unapplied.ids, batch.iter().map(|j| &j.entry));
            visibility.acknowledging(seq);
            for (job, outcome) in batch.iter_mut().zip(&foreseen) {
                if let Some(outcome) = outcome
                    && let Some(ack) = job.ack.take()
                {
                    ack(Ok(outcome.clone()));
                }
            }
            unapplied.jobs.extend(batch);
            unapplied.foreseen.extend(foreseen);
            if unapplied.jobs.len() < MAX_UNAPPLIED && !rx.is_empty() {
                continue;
            }
        }
        if !unapplied.apply(&trees, &visibility, &metrics) {
            return;
        }
        if wal.size() > checkpoint_bytes {
            roll(&mut wal, &checkpointer);
        }
    }
    // Stopped with everything applied: a last checkpoint, so that the next
    // start has nothing to replay.
    if wal.size() > 0 {
        roll(&mut wal, &checkpointer);
    }
}

/// Moves the log on to a new segment and asks for a checkpoint up to it;
/// sled must hold everything in the current segment.
fn roll(wal: &mut Log, checkpointer: &Checkpointer) {
    match wal.roll() {
        Ok(()) => checkpointer.ask(wal.segment()),
        Err(e) => {
            tracing::error!(path = %wal.dir().display(), "starting a new log segment failed (the current one keeps growing): {e}")
        }
    }
}

/// An event's document from its value in the events tree: where it is in
/// the log, or (stored by schema version 2 and before) the document itself.
/// `None` when its log segment is gone.
fn document(documents: &Documents, value: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    match Location::decode(value) {
        Some(at) => documents.read(at),
        None => Ok(Some(value.to_vec())),
    }
}

/// Writes `documents` of `project` to the log of a data directory that has
/// none yet, as event records sled does not hold: what a crash between the
/// log's sync and applying leaves, for measuring the start that replays them
/// (`cargo bench -p faultline --bench scaling`).
#[doc(hidden)]
pub fn log_unapplied(dir: &Path, project: &str, documents: &[Json]) -> Result<(), StorageError> {
    let log_dir = dir.join("log");
    let (mut log, records) = Log::open(&log_dir, 0).map_err(io_err(&log_dir))?;
    if !records.is_empty() {
        return Err(StorageError::Io {
            path: log_dir.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the log has records"),
        });
    }
    for (seq, doc) in (1..).zip(documents) {
        let mut entry = Entry::written(project.to_string(), doc).map_err(sled_err)?;
        log.append(seq, &log_record(&mut entry).0);
    }
    log.sync().map_err(io_err(&log_dir))
}

/// A stored document as a JSON tree, however deep: documents are this
/// host's own output (events are read with the JSON reader's depth limit on
/// the way in; writing them out can add a level or two).
pub(super) fn stored_document(bytes: &[u8]) -> serde_json::Result<Json> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let doc = Json::deserialize(&mut de)?;
    de.end()?;
    Ok(doc)
}

/// Most replayed entries applied in one transaction.
const REPLAY_BATCH: usize = 256;

/// Applies the logged entries sled does not hold yet (sequence numbers above
/// `applied`), in transactions of up to [`REPLAY_BATCH`] consecutive ones;
/// returns the last sequence number seen.
fn replay<'a>(
    trees: &Trees,
    applied: u64,
    records: impl Iterator<Item = (u64, &'a [u8], Option<(u64, u64)>)>,
) -> Result<u64, StorageError> {
    let mut last = applied;
    let mut replayed = 0usize;
    let mut first = 0;
    let mut pending: Vec<(Entry, Option<Location>)> = Vec::new();
    let apply = |first: u64, pending: &mut Vec<(Entry, Option<Location>)>| {
        let items: Vec<(&Entry, Option<Location>)> =
            pending.iter().map(|(e, at)| (e, *at)).collect();
        for (i, outcome) in trees.apply_batch(first, &items)?.into_iter().enumerate() {
            if let Err(e) = outcome {
                tracing::warn!(seq = first + i as u64, "replayed entry had no effect: {e}");
            }
        }
        pending.clear();
        Ok::<(), StorageError>(())
    };
    for (seq, payload, at) in records {
        last = last.max(seq);
        if seq <= applied {
            continue;
        }
        let next = first + pending.len() as u64;
        if !pending.is_empty() && (seq != next || pending.len() == REPLAY_BATCH) {
            apply(first, &mut pending)?;
        }
        if pending.is_empty() {
            first = seq;
        }
        pending.push(logged_entry(payload, at)?);
        replayed += 1;
    }
    if !pending.is_empty() {
        apply(first, &mut pending)?;
    }
    if replayed > 0 {
        tracing::info!(replayed, "replayed the write-ahead log");
    }
    Ok(last)
}

/// An entry read back from its log record at `at` (segment, offset of the
/// payload). An event whose document is in a segment is read as where the
/// document is and what storing derives from it, from a borrowed reading of
/// the members derivation uses; anything else (and a record of the
/// single-file log of schema 2, whose documents go inline) as a whole.
fn logged_entry(
    payload: &[u8],
    at: Option<(u64, u64)>,
) -> Result<(Entry, Option<Location>), StorageError> {
    // Where a document at `span` of the payload is in the log.
    let located = |span: Range<usize>| {
        at.map(|(segment, offset)| Location {
            segment,
            offset: offset + span.start as u64,
            len: span.len() as u32,
        })
    };
    if at.is_some()
        && let Some((project, span)) = event_record(payload)
        && let Ok(members) =
            crate::event::raw::members_from_slice(&payload[span.clone()], indexing::READS)
    {
        let indexing = Indexing::of(&project, &members);
        let location = located(span);
        let entry = Entry::Event {
            project,
            doc: Json::Null,
            logged: None,
            indexing: Some(Box::new(indexing)),
        };
        return Ok((entry, location));
    }
    let entry: Entry = serde_json::from_slice(payload).map_err(sled_err)?;
    let location = match &entry {
        Entry::Event { project, .. } => doc_span(payload, project).and_then(located),
        _ => None,
    };
    Ok((entry, location))
}

/// The project and the document's span of an event entry's log record.
fn event_record(payload: &[u8]) -> Option<(String, Range<usize>)> {
    let head = event_record_head("", 0);
    // Up to the project's string: `{"kind":"event","project":`.
    let prefix = &head[..head.len() - br#""","doc":"#.len()];
    let rest = payload.strip_prefix(prefix)?;
    let mut de = serde_json::Deserializer::from_slice(rest);
    let project = <String as serde::Deserialize>::deserialize(&mut de).ok()?;
    let span = doc_span(payload, &project)?;
    Some((project, span))
}

impl Storage {
    /// Opens the data directory: replays the log into sled, then starts the writer.
    pub fn open(dir: &Path, queue: usize, metrics: Arc<Metrics>) -> Result<Storage, StorageError> {
        Storage::open_with(dir, queue, metrics, CHECKPOINT_BYTES)
    }

    /// [`Storage::open`], checkpointing at log segments of `checkpoint_bytes`.
    fn open_with(
        dir: &Path,
        queue: usize,
        metrics: Arc<Metrics>,
        checkpoint_bytes: u64,
    ) -> Result<Storage, StorageError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let trees = Trees::open(dir)?;
        let found = match trees.meta.get("schema_version").map_err(sled_err)? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
            None if trees.events.is_empty() => SCHEMA_VERSION,
            None => 1,
        };
        if found > SCHEMA_VERSION {
            return Err(StorageError::Schema {
                path: dir.display().to_string(),
                found,
            });
        }
        if found < 2 {
            // Idempotent: the counters are cleared and rebuilt, and the
            // version only moves once they are complete.
            let documents = Documents::new(&dir.join("log"));
            let document = |value: &[u8]| document(&documents, value).ok().flatten();
            let n =
                counters::rebuild(&trees.counters, &trees.events, document).map_err(sled_err)?;
            tracing::info!(events = n, "schema 1 -> 2: per-minute counters rebuilt");
        }
        trees
            .meta
            .insert("schema_version", &SCHEMA_VERSION.to_be_bytes())
            .map_err(sled_err)?;
        let mut seq = trees.applied_seq()?;
        let legacy = dir.join("wal");
        if legacy.exists() {
            // A version 2 log (one file): what it holds that sled does not is
            // applied with inline documents, made durable, and the file removed.
            let records = wal::read_legacy(&legacy).map_err(io_err(&legacy))?;
            let replayed = records.iter().map(|(s, p)| (*s, p.as_slice(), None));
            seq = replay(&trees, seq, replayed)?;
            trees.make_durable(dir)?;
            std::fs::remove_file(&legacy).map_err(io_err(&legacy))?;
            tracing::info!(
                "schema 2 -> 3: the single-file write-ahead log was applied and removed"
            );
        }
        let log_dir = dir.join("log");
        let (wal, records) = Log::open(&log_dir, trees.log_from()?).map_err(io_err(&log_dir))?;
        let replayed = records
            .iter()
            .map(|r| (r.seq, r.payload.as_slice(), Some((r.segment, r.offset))));
        seq = replay(&trees, seq, replayed)?;
        let (tx, rx) = bounded(queue);
        let visibility = Arc::new(Visibility::default());
        let writer = Writer {
            trees: trees.clone(),
            dir: dir.to_path_buf(),
            wal,
            seq,
            metrics,
            visibility: visibility.clone(),
            max_batch: MAX_BATCH,
            checkpoint_bytes,
        };
        let thread = std::thread::Builder::new()
            .name("faultline-writer".into())
            .spawn(move || writer_loop(writer, rx))
            .map_err(io_err(dir))?;
        Ok(Storage {
            trees,
            documents: Documents::new(&log_dir),
            dir: dir.to_path_buf(),
            writer: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            visibility,
        })
    }
}

/// What the server, its workers and the command line need from a store.
/// [`Storage`] (sled behind a write-ahead log) is the embedded one; a
/// networked backend implements the same trait.
pub trait Store: Send + Sync {
    /// Queues a write; `ack` runs once it is durable (or failed).
    fn write(&self, entry: Entry, ack: Ack) -> Result<(), StorageError>;

    /// A stored event by id.
    fn event(&self, id: &str) -> Result<Option<Json>, StorageError>;

    /// The newest events first that pass `filter`, at most `limit`, older than
    /// the opaque cursor if given; also the cursor of the next page, if any.
    fn events(
        &self,
        limit: usize,
        before: Option<&[u8]>,
        filter: &EventFilter,
    ) -> Result<(Vec<Json>, Option<Vec<u8>>), StorageError>;

    /// Per-minute counts from `since` to `until` (seconds since the epoch),
    /// broken down `by`, for one project or all; minutes without events are left out.
    fn stats(
        &self,
        since: f64,
        until: f64,
        by: StatsBy,
        project: Option<&str>,
    ) -> Result<Vec<Bucket>, StorageError>;

    /// Every issue.
    fn issues(&self) -> Result<Vec<Issue>, StorageError>;

    /// One issue by id.
    fn issue(&self, id: &str) -> Result<Option<Issue>, StorageError>;

    /// Deletes stored events older than `cutoff` (seconds since the epoch);
    /// issues and counters keep their aggregates. Returns how many were deleted.
    fn sweep(&self, cutoff: f64) -> Result<usize, StorageError>;

    /// The audit log, oldest first.
    fn audit(&self) -> Result<Vec<Json>, StorageError>;

    /// Dead-lettered entries.
    fn dead_letters(&self) -> Result<Vec<Entry>, StorageError>;

    /// Stops accepting writes, waits for queued ones to commit, and flushes.
    fn close(&self) -> Result<(), StorageError>;

    /// Issues with `status` (all when `None`), ordered by `sort`: `impact`
    /// (max then summed), `last_seen` or `count`, largest first.
    fn list_issues(&self, status: Option<&str>, sort: &str) -> Result<Vec<Issue>, String> {
        let mut list = self.issues().map_err(|e| e.to_string())?;
        list.retain(|i| status.is_none_or(|s| i.status == s));
        match sort {
            "impact" => list.sort_by(|a, b| {
                b.max_impact
                    .cmp(&a.max_impact)
                    .then(b.sum_impact.cmp(&a.sum_impact))
            }),
            "count" => list.sort_by_key(|i| std::cmp::Reverse(i.count)),
            "last_seen" => list.sort_by(|a, b| b.last_seen.total_cmp(&a.last_seen)),
            other => {
                return Err(format!(
                    "unknown sort {other:?}; use impact, last_seen or count"
                ));
            }
        }
        Ok(list)
    }

    /// Queues a write and blocks until it is durable.
    fn write_and_wait(&self, entry: Entry) -> Result<Applied, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.write(
            entry,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )
        .map_err(|e| e.to_string())?;
        rx.recv()
            .map_err(|_| "storage stopped before the write was durable".to_string())?
    }
}

impl Store for Storage {
    /// Queues a write; `ack` runs once it is durable (or failed).
    fn write(&self, entry: Entry, ack: Ack) -> Result<(), StorageError> {
        // Serialized here, on the caller's (worker's) thread, so the single
        // writer thread only appends, syncs and applies.
        let mut entry = entry;
        let (payload, doc) = log_record(&mut entry);
        let writer = self.writer.lock().expect("writer lock");
        let writer = writer.as_ref().ok_or(StorageError::Closed)?;
        match writer.try_send(Job {
            entry,
            payload,
            doc,
            location: None,
            ack: Some(ack),
        }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(StorageError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(StorageError::Closed),
        }
    }

    /// A stored event by id.
    fn event(&self, id: &str) -> Result<Option<Json>, StorageError> {
        self.visibility.wait();
        let Some(value) = self.trees.events.get(id).map_err(sled_err)? else {
            return Ok(None);
        };
        let read = document(&self.documents, &value);
        match read.map_err(|e| io_err(&self.dir.join("log"))(e))? {
            Some(bytes) => stored_document(&bytes).map_err(sled_err).map(Some),
            None => Ok(None),
        }
    }

    /// The newest events first that pass `filter`, at most `limit`, older than
    /// the cursor if given; also the cursor of the next page, if any.
    fn events(
        &self,
        limit: usize,
        before: Option<&[u8]>,
        filter: &EventFilter,
    ) -> Result<(Vec<Json>, Option<Vec<u8>>), StorageError> {
        self.visibility.wait();
        let micros = |t: f64| ((t * 1e6).max(0.0) as u64).to_be_bytes().to_vec();
        let low = filter.since.map(micros).unwrap_or_default();
        let mut high = filter.until.map(|t| micros(t + 1e-6));
        if let Some(cursor) = before
            && high.as_ref().is_none_or(|h| cursor < h.as_slice())
        {
            high = Some(cursor.to_vec());
        }
        let iter = match high {
            Some(h) => self.trees.by_time.range(low..h),
            None => self.trees.by_time.range(low..),
        };
        let mut out = Vec::new();
        let mut last = None;
        for item in iter.rev() {
            if out.len() == limit {
                break;
            }
            let (key, id) = item.map_err(sled_err)?;
            last = Some(key.to_vec());
            if let Some(doc) = self.event(std::str::from_utf8(&id).unwrap_or_default())?
                && filter.matches(&doc)
            {
                out.push(doc);
            }
        }
        let next = if out.len() == limit { last } else { None };
        Ok((out, next))
    }

    /// Per-minute counts from `since` to `until` (seconds since the epoch),
    /// broken down `by`, for one project or all; minutes without events are left out.
    fn stats(
        &self,
        since: f64,
        until: f64,
        by: StatsBy,
        project: Option<&str>,
    ) -> Result<Vec<Bucket>, StorageError> {
        self.visibility.wait();
        counters::read(&self.trees.counters, since, until, by, project).map_err(sled_err)
    }

    /// Every issue.
    fn issues(&self) -> Result<Vec<Issue>, StorageError> {
        self.visibility.wait();
        all(&self.trees.issues)
    }

    /// One issue by id.
    fn issue(&self, id: &str) -> Result<Option<Issue>, StorageError> {
        self.visibility.wait();
        self.trees
            .issues
            .get(id)
            .map_err(sled_err)?
            .map(|v| serde_json::from_slice(&v).map_err(sled_err))
            .transpose()
    }

    /// Deletes stored events older than `cutoff` (seconds since the epoch);
    /// issues keep their aggregates. Returns how many were deleted. Deletions
    /// bypass the log: a sweep lost in a crash is simply repeated. Then the
    /// log segments behind the replay point whose events are all older than
    /// `cutoff` (so deleted now or before) are deleted too, once sled is
    /// durable without their events.
    fn sweep(&self, cutoff: f64) -> Result<usize, StorageError> {
        self.visibility.wait();
        let cutoff = issues::micros(cutoff);
        // Read first: every event in a segment before this is in sled now, so
        // the loop below sees it.
        let from = self.trees.log_from()?;
        let mut deleted = 0;
        for item in self.trees.by_time.range(..cutoff.to_be_bytes()) {
            let (key, id) = item.map_err(sled_err)?;
            self.trees.events.remove(&id).map_err(sled_err)?;
            self.trees.by_time.remove(&key).map_err(sled_err)?;
            deleted += 1;
        }
        let log_dir = self.dir.join("log");
        let mut gone = Vec::new();
        for segment in wal::segments(&log_dir).map_err(io_err(&log_dir))? {
            if segment >= from {
                break;
            }
            let key = segment_newest_key(segment);
            let newest = read_u64(self.trees.meta.get(&key).map_err(sled_err)?);
            if newest.is_none_or(|t| t < cutoff) {
                gone.push((segment, key));
            }
        }
        if !gone.is_empty() {
            self.trees.make_durable(&self.dir)?;
            for (segment, key) in &gone {
                self.documents.delete(*segment).map_err(io_err(&log_dir))?;
                self.trees.meta.remove(key).map_err(sled_err)?;
            }
            tracing::info!(segments = gone.len(), "retention: log segments deleted");
        }
        Ok(deleted)
    }

    /// The audit log, oldest first.
    fn audit(&self) -> Result<Vec<Json>, StorageError> {
        self.visibility.wait();
        all(&self.trees.audit)
    }

    /// Dead-lettered entries.
    fn dead_letters(&self) -> Result<Vec<Entry>, StorageError> {
        self.visibility.wait();
        all(&self.trees.dead)
    }

    /// Stops accepting writes, waits for queued ones to commit, and flushes.
    fn close(&self) -> Result<(), StorageError> {
        self.writer.lock().expect("writer lock").take();
        if let Some(t) = self.thread.lock().expect("thread lock").take() {
            let _ = t.join();
        }
        self.trees.db.flush().map_err(sled_err)?;
        Ok(())
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("faultline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Opens a store again. sled's I/O threads can hold the directory's
    /// lock for a moment after the last handle is dropped (a new process
    /// never sees this): retry.
    pub(in crate::storage) fn reopen(dir: &Path) -> Storage {
        reopen_with(dir, CHECKPOINT_BYTES)
    }

    fn reopen_with(dir: &Path, checkpoint_bytes: u64) -> Storage {
        let open = || Storage::open_with(dir, 64, Default::default(), checkpoint_bytes);
        (0..50)
            .find_map(|_| {
                open().ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .unwrap_or_else(|| open().unwrap())
    }

    fn close(storage: Storage) {
        storage.close().unwrap();
        drop(storage);
    }

    /// How each stored event's document is held in sled: `Some(segment)`
    /// for a location in the log, `None` inline.
    fn held(storage: &Storage) -> BTreeMap<String, Option<u64>> {
        storage.visibility.wait();
        storage
            .trees
            .events
            .iter()
            .map(|kv| {
                let (k, v) = kv.unwrap();
                let id = String::from_utf8(k.to_vec()).unwrap();
                (id, Location::decode(&v).map(|at| at.segment))
            })
            .collect()
    }

    fn event_at(i: usize, time: f64) -> Json {
        json!({
            "event_id": format!("{i:032x}"),
            "timestamp": crate::event::format_timestamp(time),
            "level": "error",
            "message": format!("boom {}", "x".repeat(200)),
            "tags": {"n": i.to_string()},
        })
    }

    /// A value nested deeper than the JSON reader's limit (128).
    fn past_the_readers_limit() -> Json {
        (0..130).fold(json!("leaf"), |inner, _| json!({ "x": inner }))
    }

    fn entry_of(doc: &Json) -> Entry {
        Entry::event("1".into(), serde_json::to_vec(doc).unwrap()).unwrap()
    }

    /// Each of these events as the store reads it back.
    fn read_back(storage: &Storage, docs: &[Json]) -> Vec<Option<Json>> {
        docs.iter()
            .map(|d| storage.event(d["event_id"].as_str().unwrap()).unwrap())
            .collect()
    }

    /// What [`read_back`] gives when all of these events are stored.
    fn stored(docs: &[Json]) -> Vec<Option<Json>> {
        docs.iter().cloned().map(Some).collect()
    }

    fn count(storage: &Storage) -> u64 {
        storage.issues().unwrap().iter().map(|i| i.count).sum()
    }

    /// Event documents stay in the log: sled holds where each one is. They
    /// read back after a restart, and retention deletes the log segments
    /// whose events are all past it and keeps every other.
    #[test]
    fn documents_live_in_log_segments_that_retention_deletes() {
        let dir = scratch("segments");
        // Checkpoints past 1 KB: a few of these events per segment.
        let storage = Storage::open_with(&dir, 64, Default::default(), 1024).unwrap();
        let base = 1_764_000_000.0;
        let cutoff = base + 1000.0;
        let docs: Vec<Json> = (0..50)
            .map(|i| {
                let old = i < 40;
                event_at(
                    i,
                    if old {
                        base + i as f64
                    } else {
                        cutoff + i as f64
                    },
                )
            })
            .collect();
        for doc in &docs {
            let applied = storage.write_and_wait(entry_of(doc)).unwrap();
            assert!(matches!(applied, Applied::Stored { .. }), "{applied:?}");
            // Applied before the next write, so that segments roll as they fill.
            storage.visibility.wait();
        }
        let held_before = held(&storage);
        assert!(held_before.values().all(Option::is_some), "{held_before:?}");
        let log_dir = dir.join("log");
        let segments_before = wal::segments(&log_dir).unwrap();
        assert!(segments_before.len() >= 4, "{segments_before:?}");
        assert_eq!(read_back(&storage, &docs), stored(&docs));
        close(storage);

        let storage = reopen_with(&dir, 1024);
        assert_eq!(
            read_back(&storage, &docs),
            stored(&docs),
            "read back after a restart"
        );
        assert_eq!(count(&storage), 50, "nothing applied twice");
        assert_eq!(storage.sweep(cutoff).unwrap(), 40);
        // Segments that held new events are kept, those with only old ones deleted.
        let segment_of = |i: usize| held_before[docs[i]["event_id"].as_str().unwrap()].unwrap();
        let kept: HashSet<u64> = (40..50).map(segment_of).collect();
        let segments_after = wal::segments(&log_dir).unwrap();
        for segment in &segments_before {
            let only_old = (0..40).any(|i| segment_of(i) == *segment) && !kept.contains(segment);
            assert_eq!(
                segments_after.contains(segment),
                !only_old,
                "segment {segment}: before {segments_before:?}, after {segments_after:?}"
            );
        }
        assert!(segments_after.len() < segments_before.len());
        let expected: Vec<Option<Json>> = (0..50)
            .map(|i| (i >= 40).then(|| docs[i].clone()))
            .collect();
        assert_eq!(read_back(&storage, &docs), expected);
        // A new event after the sweep, and all again after another restart.
        let late = event_at(50, cutoff + 60.0);
        storage.write_and_wait(entry_of(&late)).unwrap();
        close(storage);
        let storage = reopen_with(&dir, 1024);
        assert_eq!(read_back(&storage, &docs), expected);
        assert_eq!(
            storage.event(late["event_id"].as_str().unwrap()).unwrap(),
            Some(late)
        );
        assert_eq!(count(&storage), 51);
        close(storage);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The checkpointer records where replay starts only after sled is
    /// durable, and a checkpoint asked for while one runs is not lost: the
    /// newest segment asked for is the one recorded.
    #[test]
    fn the_newest_checkpoint_asked_for_is_recorded() {
        let dir = scratch("checkpoint");
        let trees = Trees::open(&dir).unwrap();
        let checkpointer = Checkpointer::start(trees.clone(), dir.clone());
        for segment in [2, 3, 7, 5] {
            checkpointer.ask(segment);
        }
        drop(checkpointer);
        assert_eq!(trees.log_from().unwrap(), 7);
        drop(trees);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What the log has and sled does not (a crash between the fsync and
    /// applying) is applied at start, each document left where the log has it.
    #[test]
    fn logged_writes_are_replayed_with_their_documents_left_in_the_log() {
        let dir = scratch("replay");
        // More than one replay transaction's worth, an audit entry among
        // them, an event repeated, and one nested deeper than the JSON
        // reader's limit.
        let docs: Vec<Json> = (0..600).map(|i| event_at(i, 1_764_000_000.0)).collect();
        let mut deep = event_at(600, 1_764_000_000.0);
        deep["extra"] = past_the_readers_limit();
        let records = {
            let (mut log, _) = Log::open(&dir.join("log"), 0).unwrap();
            let audit = Entry::Audit {
                actor: "ops".into(),
                action: "config.load".into(),
                detail: "x".into(),
            };
            let entries: Vec<Entry> = docs[..300]
                .iter()
                .map(entry_of)
                .chain([audit, Entry::written("1".into(), &deep).unwrap()])
                .chain(docs[300..].iter().map(entry_of))
                .chain([entry_of(&docs[7])])
                .collect();
            let n = entries.len() as u64;
            for (seq, mut entry) in (1..).zip(entries) {
                log.append(seq, &log_record(&mut entry).0);
            }
            log.sync().unwrap();
            n
        };
        let storage = reopen(&dir);
        assert_eq!(read_back(&storage, &docs), stored(&docs));
        assert!(held(&storage).values().all(|at| *at == Some(1)));
        assert_eq!(count(&storage), 601, "the repeated event once");
        assert_eq!(storage.audit().unwrap().len(), 1);
        assert!(
            storage
                .trees
                .events
                .contains_key(format!("{:032x}", 600))
                .unwrap()
        );
        // Numbering goes on after the replayed records.
        storage
            .write_and_wait(entry_of(&event_at(601, 1_764_000_001.0)))
            .unwrap();
        assert_eq!(count(&storage), 602);
        assert_eq!(storage.trees.applied_seq().unwrap(), records + 1);
        close(storage);
        // Stopping checkpointed: the next start replays from an empty segment.
        let storage = reopen(&dir);
        let segments = wal::segments(&dir.join("log")).unwrap();
        assert_eq!(segments, [1, 2]);
        assert_eq!(storage.trees.log_from().unwrap(), 2);
        let newest = wal::segment_path(&dir.join("log"), 2);
        assert_eq!(std::fs::metadata(newest).unwrap().len(), 0);
        assert_eq!(count(&storage), 602);
        close(storage);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What the scaling bench measures a start after a crash with: events
    /// logged and not applied, into a log that has none.
    #[test]
    fn events_logged_unapplied_are_there_after_the_start() {
        let dir = scratch("unapplied");
        let docs: Vec<Json> = (0..3).map(|i| event_at(i, 1_764_000_000.0)).collect();
        log_unapplied(&dir, "1", &docs).unwrap();
        assert!(
            log_unapplied(&dir, "1", &docs).is_err(),
            "a log with records"
        );
        let storage = reopen(&dir);
        assert_eq!(read_back(&storage, &docs), stored(&docs));
        close(storage);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A directory written by schema version 2 (documents inline in sled, a
    /// single-file log) opens: its log is applied and removed, its documents
    /// read as they are, and new ones go to the log's segments.
    #[test]
    fn a_version_2_directory_is_opened_and_its_log_applied() {
        let dir = scratch("v2");
        let docs: Vec<Json> = (0..3).map(|i| event_at(i, 1_764_000_000.0)).collect();
        {
            let trees = Trees::open(&dir).unwrap();
            trees
                .apply_batch(1, &[(&entry_of(&docs[0]), None)])
                .unwrap();
            trees
                .meta
                .insert("schema_version", &2u64.to_be_bytes())
                .unwrap();
            // Its log: record 1 applied already, record 2 not.
            let mut bytes = Vec::new();
            for (seq, doc) in [(1, &docs[0]), (2, &docs[1])] {
                wal::encode(&mut bytes, seq, &log_record(&mut entry_of(doc)).0);
            }
            std::fs::write(dir.join("wal"), bytes).unwrap();
            trees.db.flush().unwrap();
        }
        let storage = reopen(&dir);
        assert!(!dir.join("wal").exists());
        assert_eq!(
            storage
                .trees
                .meta
                .get("schema_version")
                .unwrap()
                .unwrap()
                .as_ref(),
            SCHEMA_VERSION.to_be_bytes()
        );
        storage.write_and_wait(entry_of(&docs[2])).unwrap();
        assert_eq!(read_back(&storage, &docs), stored(&docs));
        let held = held(&storage);
        assert_eq!(
            held.values().copied().collect::<Vec<_>>(),
            [None, None, Some(1)]
        );
        assert_eq!(count(&storage), 3, "record 1 not applied twice");
        close(storage);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_event_log_record_is_the_entry_with_its_document_serialized_once() {
        let full = serde_json::json!({"event_id": "e1", "message": "hi \u{1F4B3}",
            "tags": {"a": "b"}, "provenance": [{"stage": 0}]});
        let mut entry = Entry::Event {
            project: "p\"1".into(),
            doc: full.clone(),
            logged: None,
            indexing: None,
        };
        let (payload, doc) = log_record(&mut entry);
        let logged: Entry = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            serde_json::to_value(&logged).unwrap(),
            serde_json::to_value(&entry).unwrap()
        );
        assert_eq!(&payload[doc.unwrap()], serde_json::to_vec(&full).unwrap());
        // Serialized by the caller: the same record, the bytes as given,
        // and what storing derives derived already.
        let bytes = serde_json::to_vec(&full).unwrap();
        let mut written = Entry::event("p\"1".into(), bytes.clone()).unwrap();
        let Entry::Event { doc, indexing, .. } = &written else {
            unreachable!()
        };
        assert!(doc.is_null());
        assert_eq!(indexing.as_deref(), Some(&Indexing::of("p\"1", &full)));
        let (again, doc) = log_record(&mut written);
        assert_eq!(again, payload);
        assert_eq!(&again[doc.clone().unwrap()], bytes);
        assert_eq!(doc_span(&again, "p\"1"), doc, "found again when replayed");
        assert_eq!(doc_span(&again, "p1"), None);
        // Serialized straight into the record: the same record.
        let mut direct = Entry::written("p\"1".into(), &full).unwrap();
        assert_eq!(log_record(&mut direct), (payload.clone(), doc));
        let mut audit = Entry::Audit {
            actor: "a".into(),
            action: "b".into(),
            detail: "c".into(),
        };
        let (payload, doc) = log_record(&mut audit);
        assert!(doc.is_none());
        assert_eq!(payload, serde_json::to_vec(&audit).unwrap());
    }

    /// Everything storing derives from an event (issue, title, culprit,
    /// users, counters, time) comes out the same from the borrowed reading of
    /// the written bytes, from the members built while writing them, and
    /// from the whole `serde_json` tree.
    #[test]
    fn what_storing_derives_reads_the_same_from_both_trees() {
        let corpus = faultline_testkit::corpus::labelled(300, 11);
        for (i, item) in corpus.iter().enumerate() {
            let event = crate::event::from_json(&item.event).unwrap();
            let mut full = crate::event::to_json(&event);
            let map = full.as_object_mut().unwrap();
            if i % 3 > 0 {
                map.insert("classification".into(), serde_json::json!({
                    "code": "DB-1", "category": ["database", "timeout"], "severity": "high",
                    "fingerprint": if i % 3 == 1 { serde_json::json!(["db", i % 7]) } else { Json::Null },
                }));
                map.insert("impact".into(), serde_json::json!({"score": i % 101}));
            }
            if i % 5 == 0 {
                map.remove("exception");
            }
            if i % 4 == 0 {
                map.insert("transaction".into(), "GET /cart".into());
            }
            map.insert("level".into(), ["warning", "fatal", "info"][i % 3].into());
            match i % 3 {
                0 => {
                    map.insert(
                        "tags".into(),
                        serde_json::json!({"service": format!("svc-{i}")}),
                    );
                }
                1 => {
                    map.insert("server_name".into(), format!("host-{i}").into());
                }
                _ => {}
            }
            if i % 6 == 0 {
                map.insert("fingerprint".into(), serde_json::json!(["custom", i % 4]));
            }
            if i % 7 == 0 {
                // Frames named by file only.
                let values = map.get_mut("exception").and_then(|e| e.get_mut("values"));
                for value in values.and_then(Json::as_array_mut).into_iter().flatten() {
                    let frames = value.pointer_mut("/stacktrace/frames");
                    for frame in frames.and_then(Json::as_array_mut).into_iter().flatten() {
                        frame.as_object_mut().unwrap().remove("module");
                    }
                }
            }
            let mut bytes = serde_json::to_vec(&full).unwrap();
            if i % 8 == 0 {
                // Repeated keys: the last value counts, as serde_json reads them.
                let mut text = br#"{"level":"debug","user":{"id":"first"},"#.to_vec();
                text.extend_from_slice(&bytes[1..]);
                full = serde_json::from_slice(&text).unwrap();
                bytes = text;
            }
            let Entry::Event { indexing, .. } = Entry::event("7".into(), bytes).unwrap() else {
                unreachable!()
            };
            let expected = Indexing::of("7", &full);
            assert_eq!(indexing.as_deref(), Some(&expected), "event {i}");
            let Entry::Event { indexing, .. } = Entry::written("7".into(), &full).unwrap() else {
                unreachable!()
            };
            assert_eq!(indexing.as_deref(), Some(&expected), "event {i}, written");
            assert_eq!(expected.counters.len(), 4);
        }
    }

    /// A group commit folds the issue and counter updates of its entries;
    /// the result is what applying them one by one gives.
    #[test]
    fn a_batch_applies_as_its_entries_one_by_one() {
        let event = |id: &str, second: u64, message: &str| {
            let doc = serde_json::json!({
                "event_id": id,
                "timestamp": crate::event::format_timestamp(1_764_000_000.0 + second as f64),
                "level": "error",
                "message": message,
                "tags": {"service": "checkout"},
                "user": {"id": format!("u{}", second % 2)},
                "classification": {"code": "DB-1", "category": ["database"], "severity": "high"},
                "impact": {"score": 10 + second},
            });
            Entry::event("1".into(), serde_json::to_vec(&doc).unwrap()).unwrap()
        };
        let issue = issues::fingerprint_of("1", &serde_json::json!({"message": "boom 1"})).1;
        let status = |s: &str| Entry::IssueStatus {
            issue: issue.clone(),
            status: s.into(),
            actor: "ops".into(),
        };
        let entries = [
            event("a1", 1, "boom 1"),
            event("a2", 2, "boom 2"),
            event("b1", 3, "other"),
            status("resolved"),
            event("a3", 70, "boom 3"),
            event("a2", 71, "boom 2"),
            Entry::IssueStatus {
                issue: "nope".into(),
                status: "ignored".into(),
                actor: "ops".into(),
            },
        ];
        let state = |batched: bool| {
            let dir = std::env::temp_dir()
                .join(format!("faultline-batch-{}-{batched}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let trees = Trees::open(&dir).unwrap();
            let outcomes: Vec<String> = if batched {
                let items: Vec<(&Entry, Option<Location>)> =
                    entries.iter().map(|e| (e, None)).collect();
                let foreseen = trees.foreseen(&mut HashSet::new(), entries.iter());
                let outcomes = trees.apply_batch(1, &items).unwrap();
                // Events are acknowledged with the foreseen outcome.
                assert_eq!(foreseen.iter().filter(|f| f.is_some()).count(), 5);
                for (f, o) in foreseen.into_iter().zip(&outcomes) {
                    if let Some(f) = f {
                        assert_eq!(Ok(f), *o);
                    }
                }
                outcomes
            } else {
                (0..entries.len())
                    .map(|i| {
                        trees
                            .apply_batch(i as u64 + 1, &[(&entries[i], None)])
                            .unwrap()
                            .remove(0)
                    })
                    .collect()
            }
            .iter()
            .map(|o| format!("{o:?}"))
            .collect();
            let dump = |tree: &sled::Tree| -> Vec<(Vec<u8>, Vec<u8>)> {
                tree.iter()
                    .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
                    .collect()
            };
            let state = (
                outcomes,
                dump(&trees.issues),
                dump(&trees.counters),
                dump(&trees.events).len(),
                dump(&trees.issue_users).len(),
            );
            let _ = std::fs::remove_dir_all(&dir);
            state
        };
        let batched = state(true);
        assert_eq!(batched, state(false));
        let issue: Issue = serde_json::from_slice(
            &batched
                .1
                .iter()
                .find(|(k, _)| *k == issue.as_bytes())
                .unwrap()
                .1,
        )
        .unwrap();
        assert_eq!(
            (issue.count, issue.users, issue.status.as_str()),
            (3, 2, "regressed")
        );
        assert!(batched.0[5].contains("Duplicate"), "{:?}", batched.0);
        assert!(batched.0[6].contains("no issue"), "{:?}", batched.0);
    }

    #[test]
    fn reads_wait_for_what_was_acknowledged_to_be_applied() {
        let visibility = Arc::new(Visibility::default());
        visibility.wait(); // nothing acknowledged: returns at once
        visibility.acknowledging(5);
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (visibility, done) = (visibility.clone(), done.clone());
            std::thread::spawn(move || {
                visibility.wait();
                done.store(true, Ordering::SeqCst);
            })
        };
        visibility.applied(4);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !done.load(Ordering::SeqCst),
            "4 of 5 applied: still waiting"
        );
        visibility.applied(5);
        reader.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
    }

    /// Acknowledged events can be read at once, though sled gets them after
    /// the acknowledgement.
    #[test]
    fn an_acknowledged_event_is_there_to_read() {
        let dir = std::env::temp_dir().join(format!("faultline-visible-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = Storage::open(&dir, 64, Default::default()).unwrap();
        for i in 0..200 {
            let id = format!("{i:032x}");
            let doc = serde_json::json!({"event_id": id, "message": format!("m{}", i % 3)});
            let applied = storage
                .write_and_wait(
                    Entry::event("1".into(), serde_json::to_vec(&doc).unwrap()).unwrap(),
                )
                .unwrap();
            assert!(matches!(applied, Applied::Stored { .. }), "{applied:?}");
            assert!(storage.event(&id).unwrap().is_some(), "event {i}");
        }
        let again = serde_json::json!({"event_id": format!("{:032x}", 7), "message": "m1"});
        let applied = storage
            .write_and_wait(Entry::event("1".into(), serde_json::to_vec(&again).unwrap()).unwrap())
            .unwrap();
        assert_eq!(applied, Applied::Duplicate);
        assert_eq!(
            storage
                .issues()
                .unwrap()
                .iter()
                .map(|i| i.count)
                .sum::<u64>(),
            200
        );
        // Other entries are acknowledged once applied, with what applying did.
        let issue = storage.issues().unwrap()[0].id.clone();
        let status = Entry::IssueStatus {
            issue: issue.clone(),
            status: "resolved".into(),
            actor: "ops".into(),
        };
        assert_eq!(storage.write_and_wait(status), Ok(Applied::Updated));
        assert_eq!(storage.issue(&issue).unwrap().unwrap().status, "resolved");
        storage.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// While writes are queued the writer makes them durable one batch
    /// after the other and applies them to sled together; an event repeated
    /// before sled has the first is still acknowledged as a duplicate.
    #[test]
    fn queued_commits_are_applied_together() {
        let dir = std::env::temp_dir().join(format!("faultline-unapplied-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let trees = Trees::open(&dir).unwrap();
        let (wal, _) = Log::open(&dir.join("log"), 0).unwrap();
        let event = |id: &str| {
            let doc = serde_json::json!({"event_id": id, "message": "boom"});
            Entry::event("1".into(), serde_json::to_vec(&doc).unwrap()).unwrap()
        };
        let issue = issues::fingerprint_of("1", &serde_json::json!({"message": "boom"})).1;
        let entries = [
            event("a"),
            event("b"),
            event("a"),
            Entry::IssueStatus {
                issue: issue.clone(),
                status: "resolved".into(),
                actor: "ops".into(),
            },
        ];
        // Each ack records what sled held when it ran.
        let acks = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = bounded(entries.len());
        for (i, mut entry) in entries.into_iter().enumerate() {
            let (payload, doc) = log_record(&mut entry);
            let (acks, trees) = (acks.clone(), trees.clone());
            let ack: Ack = Box::new(move |r| {
                acks.lock()
                    .unwrap()
                    .push((i, r, trees.applied_seq().unwrap()))
            });
            tx.send(Job {
                entry,
                payload,
                doc,
                location: None,
                ack: Some(ack),
            })
            .unwrap();
        }
        drop(tx);
        let writer = Writer {
            trees: trees.clone(),
            dir: dir.clone(),
            wal,
            seq: 0,
            metrics: Default::default(),
            visibility: Arc::new(Visibility::default()),
            max_batch: 1,
            checkpoint_bytes: CHECKPOINT_BYTES,
        };
        writer_loop(writer, rx);
        let stored = Ok(Applied::Stored {
            issue: issue.clone(),
        });
        assert_eq!(
            *acks.lock().unwrap(),
            [
                (0, stored.clone(), 0),
                (1, stored, 0),
                (2, Ok(Applied::Duplicate), 0),
                (3, Ok(Applied::Updated), 4),
            ],
            "events acknowledged as each is durable, before sled has any; the status change once all four are applied"
        );
        assert_eq!(trees.events.len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_document_deeper_than_the_readers_limit_is_stored_and_read() {
        let doc = json!({"event_id": "e1", "user": {"id": "u1", "deep": past_the_readers_limit()}});
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert!(
            serde_json::from_slice::<Json>(&bytes).is_err(),
            "too deep for the JSON reader's limit"
        );
        let mut entry = Entry::written("1".into(), &doc).unwrap();
        let Entry::Event { indexing, .. } = &entry else {
            unreachable!()
        };
        assert_eq!(indexing.as_deref(), Some(&Indexing::of("1", &doc)));
        let Entry::Event { indexing: read, .. } = Entry::event("1".into(), bytes.clone()).unwrap()
        else {
            unreachable!()
        };
        assert_eq!(read, *indexing, "read back from the bytes, however deep");
        let dir = scratch("deep");
        let storage = reopen(&dir);
        storage
            .write_and_wait(Entry::written("1".into(), &doc).unwrap())
            .unwrap();
        assert_eq!(storage.event("e1").unwrap(), Some(doc.clone()), "and read");
        close(storage);
        std::fs::remove_dir_all(&dir).unwrap();
        let (payload, stored) = log_record(&mut entry);
        assert_eq!(&payload[stored.unwrap()], bytes, "the same bytes");
    }
}
