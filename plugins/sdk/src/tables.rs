//! Lookups in the operator's enrichment tables: through the host in a plugin,
//! from memory in native tests and benchmarks.

use std::collections::HashMap;

use crate::LookupError;

/// A table row: column name and value pairs.
pub type Row = Vec<(String, String)>;

/// Something that can look rows up by key.
pub trait Tables {
    /// Returns the row of `table` whose key column equals `key`.
    fn lookup(&self, table: &str, key: &str) -> Result<Option<Row>, LookupError>;
}

/// The host's tables, reached through the `host.lookup` import.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostTables;

impl Tables for HostTables {
    #[cfg(target_arch = "wasm32")]
    fn lookup(&self, table: &str, key: &str) -> Result<Option<Row>, LookupError> {
        crate::bindings::classifier::faultline::plugin::host::lookup(table, key)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn lookup(&self, table: &str, _key: &str) -> Result<Option<Row>, LookupError> {
        Err(LookupError::UnknownTable(format!(
            "{table} (host tables exist only inside the faultline host; use MemoryTables natively)"
        )))
    }
}

/// Tables held in memory, keyed by table name then row key.
#[derive(Debug, Default, Clone)]
pub struct MemoryTables {
    tables: HashMap<String, HashMap<String, Row>>,
}

impl MemoryTables {
    /// An empty set of tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `row` to `table` under `key`.
    pub fn insert(&mut self, table: &str, key: &str, row: Row) {
        self.tables
            .entry(table.to_string())
            .or_default()
            .insert(key.to_string(), row);
    }
}

impl Tables for MemoryTables {
    fn lookup(&self, table: &str, key: &str) -> Result<Option<Row>, LookupError> {
        match self.tables.get(table) {
            Some(rows) => Ok(rows.get(key).cloned()),
            None => Err(LookupError::UnknownTable(table.to_string())),
        }
    }
}
