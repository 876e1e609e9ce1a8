//! Operator-provided enrichment tables (CSV or JSON files, or inline rows),
//! loaded once and shared read-only by every plugin they are granted to.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

/// A row: column name and value pairs.
pub type Row = Arc<[(String, String)]>;

/// All tables, by name.
#[derive(Debug, Default)]
pub struct Tables {
    tables: HashMap<String, HashMap<String, Row>>,
}

/// Why a table could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// OS error.
        reason: String,
    },
    /// The file's content is malformed.
    #[error("{path}: {reason}")]
    Format {
        /// The file (or `inline rows`).
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn row_from_object(obj: &serde_json::Map<String, Json>) -> Row {
    obj.iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect::<Vec<_>>()
        .into()
}

/// Rows keyed by the `key` column, from a list of JSON objects.
fn keyed_rows(items: &[Json], key: &str, origin: &str) -> Result<HashMap<String, Row>, TableError> {
    let mut rows = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(TableError::Format {
                path: origin.into(),
                reason: format!("row {} is not an object", i + 1),
            });
        };
        let Some(k) = obj.get(key) else {
            return Err(TableError::Format {
                path: origin.into(),
                reason: format!("row {} has no key column {key:?}", i + 1),
            });
        };
        rows.insert(text(k), row_from_object(obj));
    }
    Ok(rows)
}

/// Loads a CSV (header row first) or JSON (array of objects, or an object of
/// objects keyed by row key) file.
pub fn load_file(path: &Path, key: &str) -> Result<HashMap<String, Row>, TableError> {
    let shown = path.display().to_string();
    let data = std::fs::read(path).map_err(|e| TableError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let json: Json = serde_json::from_slice(&data).map_err(|e| TableError::Format {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        return match json {
            Json::Array(items) => keyed_rows(&items, key, &shown),
            Json::Object(map) => Ok(map
                .iter()
                .map(|(k, v)| {
                    let mut row: Vec<(String, String)> = match v.as_object() {
                        Some(o) => o.iter().map(|(c, v)| (c.clone(), text(v))).collect(),
                        None => vec![("value".to_string(), text(v))],
                    };
                    if !row.iter().any(|(c, _)| c == key) {
                        row.insert(0, (key.to_string(), k.clone()));
                    }
                    (k.clone(), row.into())
                })
                .collect()),
            _ => Err(TableError::Format {
                path: shown,
                reason: "expected an array of objects or an object of objects".into(),
            }),
        };
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(&data[..]);
    let headers = reader
        .headers()
        .map_err(|e| TableError::Format {
            path: shown.clone(),
            reason: e.to_string(),
        })?
        .clone();
    let Some(key_index) = headers.iter().position(|h| h == key) else {
        return Err(TableError::Format {
            path: shown,
            reason: format!(
                "no key column {key:?} in the header (columns: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        });
    };
    let mut rows = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| TableError::Format {
            path: shown.clone(),
            reason: format!("line {}: {e}", i + 2),
        })?;
        let row: Vec<(String, String)> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        rows.insert(
            record.get(key_index).unwrap_or_default().to_string(),
            row.into(),
        );
    }
    Ok(rows)
}

/// Rows given inline in the config.
pub fn inline_rows(items: &[Json], key: &str) -> Result<HashMap<String, Row>, TableError> {
    keyed_rows(items, key, "inline rows")
}

impl Tables {
    /// Adds a table.
    pub fn insert(&mut self, name: &str, rows: HashMap<String, Row>) {
        self.tables.insert(name.to_string(), rows);
    }

    /// Whether a table of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// `None` when there is no such table; `Some(None)` when it has no such row.
    pub fn lookup(&self, table: &str, key: &str) -> Option<Option<&[(String, String)]>> {
        self.tables
            .get(table)
            .map(|rows| rows.get(key).map(|r| &r[..]))
    }

    /// Number of rows of a table.
    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, HashMap::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_tables() {
        let dir = std::env::temp_dir().join(format!("faultline-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("s.csv");
        std::fs::write(
            &csv,
            "service, owner_team,tier\ncheckout,payments,1\nsearch,discovery,2\n",
        )
        .unwrap();
        let rows = load_file(&csv, "service").unwrap();
        assert_eq!(
            rows["checkout"][1],
            ("owner_team".to_string(), "payments".to_string())
        );
        let err = load_file(&csv, "name").unwrap_err().to_string();
        assert!(
            err.contains("no key column \"name\"") && err.contains("owner_team"),
            "{err}"
        );
        let json = dir.join("c.json");
        std::fs::write(&json, r#"{"u-1": {"segment": "enterprise", "seats": 40}}"#).unwrap();
        let rows = load_file(&json, "user_id").unwrap();
        assert_eq!(rows["u-1"].len(), 3);
        assert!(rows["u-1"].contains(&("seats".to_string(), "40".to_string())));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
