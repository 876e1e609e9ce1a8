//! Per-minute event counters by project and by level, service and category,
//! for rates and baselines. Bumped in the same transaction that stores the
//! event, so they always agree with what is stored.
//!
//! Key: minute since the epoch (8 bytes, big-endian), then
//! `dimension \0 project \0 value`; value: the count (8 bytes, big-endian).

use std::collections::BTreeMap;

use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::indexing::Node;

/// What a stats query breaks counts down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsBy {
    /// Only the total per minute.
    Total,
    /// The event's `service` tag (as the enricher or sender set it), else `server_name`.
    Service,
    /// The classification's category path, joined with `.`.
    Category,
    /// The event's level.
    Level,
}

impl StatsBy {
    /// Parses `service`, `category`, `level` (or `total`).
    pub fn parse(text: &str) -> Result<StatsBy, String> {
        Ok(match text {
            "total" => StatsBy::Total,
            "service" => StatsBy::Service,
            "category" => StatsBy::Category,
            "level" => StatsBy::Level,
            other => {
                return Err(format!(
                    "by={other:?} is not one of service, category, level, total"
                ));
            }
        })
    }

    fn dimension(self) -> &'static [u8] {
        match self {
            StatsBy::Total => b"total",
            StatsBy::Service => b"service",
            StatsBy::Category => b"category",
            StatsBy::Level => b"level",
        }
    }
}

/// Counts of one minute.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bucket {
    /// Start of the minute, RFC 3339.
    pub minute: String,
    /// Start of the minute, seconds since the epoch.
    pub time: u64,
    /// Events in the minute.
    pub total: u64,
    /// Events by the requested breakdown (absent for `total`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
}

/// `(breakdown, value)` pairs an event counts under; `unknown` where it has none.
fn values<N: Node>(doc: &N) -> [(StatsBy, String); 4] {
    let text = |path: &[&str]| doc.str_at(path).map(str::to_string);
    let service = text(&["tags", "service"])
        .or_else(|| text(&["server_name"]))
        .unwrap_or_else(|| "unknown".into());
    let category = doc
        .at(&["classification", "category"])
        .and_then(N::items)
        .map(|parts| {
            parts
                .iter()
                .filter_map(N::str)
                .collect::<Vec<_>>()
                .join(".")
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unclassified".into());
    let level = text(&["level"]).unwrap_or_else(|| "error".into());
    [
        (StatsBy::Total, String::new()),
        (StatsBy::Service, service),
        (StatsBy::Category, category),
        (StatsBy::Level, level),
    ]
}

fn key(minute: u64, by: StatsBy, project: &str, value: &str) -> Vec<u8> {
    let mut k = minute.to_be_bytes().to_vec();
    k.extend_from_slice(by.dimension());
    k.push(0);
    k.extend_from_slice(project.as_bytes());
    k.push(0);
    k.extend_from_slice(value.as_bytes());
    k
}

fn count(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// The counter keys a stored event adds one to; `micros` is its time (it
/// counts in that minute).
pub(super) fn keys(project: &str, micros: u64, doc: &impl Node) -> impl Iterator<Item = Vec<u8>> {
    let minute = micros / 60_000_000;
    values(doc)
        .into_iter()
        .map(move |(by, value)| key(minute, by, project, &value))
}

/// Adds `increments` to the counters (inside the storing transaction): one
/// read and one write per key, however many events of the batch it counts.
pub(super) fn add(
    tree: &TransactionalTree,
    increments: &BTreeMap<Vec<u8>, u64>,
) -> Result<(), ConflictableTransactionError<String>> {
    for (k, by) in increments {
        let n = count(tree.get(k)?.as_deref()) + by;
        tree.insert(k.as_slice(), &n.to_be_bytes())?;
    }
    Ok(())
}

/// Rebuilds the counters from the stored events (the schema 1 → 2
/// migration); `document` reads an event's document from its value in the
/// events tree.
pub(super) fn rebuild(
    counters: &sled::Tree,
    events: &sled::Tree,
    document: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> sled::Result<u64> {
    counters.clear()?;
    let mut totals: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut events_seen = 0;
    for item in events.iter() {
        let (_, value) = item?;
        let Some(bytes) = document(&value) else {
            continue;
        };
        let Ok(doc) = super::stored_document(&bytes) else {
            continue;
        };
        let project = doc["project"].as_str().unwrap_or("1").to_string();
        for k in keys(&project, super::issues::timestamp_micros(&doc), &doc) {
            *totals.entry(k).or_default() += 1;
        }
        events_seen += 1;
    }
    let mut batch = sled::Batch::default();
    for (k, n) in totals {
        batch.insert(k, &n.to_be_bytes());
    }
    counters.apply_batch(batch)?;
    Ok(events_seen)
}

/// Buckets from `since` to `until` (seconds since the epoch, inclusive
/// minutes), only minutes with events, oldest first.
pub(super) fn read(
    tree: &sled::Tree,
    since: f64,
    until: f64,
    by: StatsBy,
    project: Option<&str>,
) -> sled::Result<Vec<Bucket>> {
    let first = (since.max(0.0) / 60.0) as u64;
    let last = (until.max(0.0) / 60.0) as u64;
    let mut buckets: BTreeMap<u64, Bucket> = BTreeMap::new();
    for item in tree.range(first.to_be_bytes()..(last + 1).to_be_bytes()) {
        let (k, v) = item?;
        let Some((minute, rest)) = k.split_first_chunk::<8>() else {
            continue;
        };
        let mut parts = rest.splitn(3, |b| *b == 0);
        let (Some(dim), Some(proj), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if project.is_some_and(|p| p.as_bytes() != proj) {
            continue;
        }
        let is_total = dim == StatsBy::Total.dimension();
        if !is_total && dim != by.dimension() {
            continue;
        }
        let minute = u64::from_be_bytes(*minute);
        let bucket = buckets.entry(minute).or_insert_with(|| Bucket {
            minute: crate::event::format_timestamp((minute * 60) as f64),
            time: minute * 60,
            total: 0,
            counts: BTreeMap::new(),
        });
        let n = count(Some(&v));
        if is_total {
            bucket.total += n;
        } else {
            *bucket
                .counts
                .entry(String::from_utf8_lossy(value).into_owned())
                .or_default() += n;
        }
    }
    Ok(buckets.into_values().collect())
}

#[cfg(test)]
mod tests {
    use serde_json::Value as Json;
    use serde_json::json;

    use super::*;
    use crate::storage::{Entry, Storage, Store};

    fn store(storage: &Storage, project: &str, doc: Json) {
        storage
            .write_and_wait(
                Entry::event(project.into(), serde_json::to_vec(&doc).unwrap()).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn counts_per_minute_by_dimension_and_survive_a_rebuild() {
        let dir = std::env::temp_dir().join(format!("faultline-counters-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = Storage::open(&dir, 16, Default::default()).unwrap();
        let at = |s: u64| crate::event::format_timestamp(s as f64);
        let base: u64 = 1_764_000_000; // a whole minute
        for (i, (second, level, service, category, project)) in [
            (
                0,
                "error",
                "checkout",
                json!(["dependency", "payment"]),
                "1",
            ),
            (
                10,
                "error",
                "checkout",
                json!(["dependency", "payment"]),
                "1",
            ),
            (59, "fatal", "search", Json::Null, "1"),
            (60, "error", "checkout", json!(["availability"]), "1"),
            (65, "error", "checkout", json!(["availability"]), "2"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut doc = json!({
                "event_id": format!("{i:032x}"), "timestamp": at(base + second), "level": level,
                "tags": {"service": service}, "classification": {"category": category},
            });
            if level == "fatal" {
                // Deeper than the JSON reader's limit: the rebuild counts it too.
                doc["extra"] = (0..130).fold(json!("leaf"), |inner, _| json!({ "x": inner }));
            }
            store(&storage, project, doc);
        }
        // A duplicate is not counted again.
        store(
            &storage,
            "1",
            json!({"event_id": format!("{:032x}", 0), "timestamp": at(base), "level": "error"}),
        );
        let range = (base as f64, (base + 120) as f64);
        let by_level = storage
            .stats(range.0, range.1, StatsBy::Level, Some("1"))
            .unwrap();
        assert_eq!(by_level.len(), 2);
        assert_eq!(by_level[0].time, base);
        assert_eq!(by_level[0].total, 3);
        assert_eq!(by_level[0].counts["error"], 2);
        assert_eq!(by_level[0].counts["fatal"], 1);
        assert_eq!(by_level[1].total, 1);
        let by_category = storage
            .stats(range.0, range.1, StatsBy::Category, None)
            .unwrap();
        assert_eq!(by_category[0].counts["dependency.payment"], 2);
        assert_eq!(by_category[0].counts["unclassified"], 1);
        assert_eq!(by_category[1].counts["availability"], 2, "both projects");
        let by_service = storage
            .stats(range.0, range.1, StatsBy::Service, Some("2"))
            .unwrap();
        assert_eq!(by_service.len(), 1);
        assert_eq!(by_service[0].counts["checkout"], 1);
        let before = storage
            .stats(range.0, range.1, StatsBy::Level, None)
            .unwrap();
        let outside = storage
            .stats(
                (base + 120) as f64,
                (base + 600) as f64,
                StatsBy::Total,
                None,
            )
            .unwrap();
        assert!(outside.is_empty());

        // A version 1 directory (no counters) gets them rebuilt from its events.
        storage.trees.counters.clear().unwrap();
        storage
            .trees
            .meta
            .insert("schema_version", &1u64.to_be_bytes())
            .unwrap();
        storage.close().unwrap();
        drop(storage);
        let storage = super::super::tests::reopen(&dir);
        assert_eq!(
            storage
                .stats(range.0, range.1, StatsBy::Level, None)
                .unwrap(),
            before
        );
        storage.close().unwrap();
        drop(storage);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_breakdowns_are_named() {
        assert_eq!(StatsBy::parse("level"), Ok(StatsBy::Level));
        assert!(
            StatsBy::parse("team")
                .unwrap_err()
                .contains("service, category, level")
        );
    }
}
