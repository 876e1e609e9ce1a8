//! Lookups in the operator's enrichment tables: through the host in a plugin,
//! from memory in native tests and benchmarks.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::{LookupError, Recent};

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

/// Keys up to this long have their answers remembered.
const REMEMBERED_KEY_MAX: usize = 256;
/// What remembered answers may take, roughly, rows included.
const REMEMBERED_BYTES_MAX: usize = 256 << 10;

/// Tables whose answers are remembered, in bounded memory (see [`Recent`]).
///
/// The host's tables do not change during an instance's life (a config
/// reload starts new instances), and a stream asks about the same services
/// and customers event after event: remembering answers, misses included,
/// saves a call into the host per lookup.
pub struct Remembered<T> {
    tables: T,
    answers: RefCell<Recent<Result<Option<Row>, LookupError>>>,
    /// Scratch space for the table and key of a lookup.
    text: RefCell<String>,
}

impl<T: Tables> Remembered<T> {
    /// `tables`, remembering their answers.
    pub fn new(tables: T) -> Remembered<T> {
        Remembered {
            tables,
            answers: RefCell::new(Recent::new(REMEMBERED_KEY_MAX, REMEMBERED_BYTES_MAX)),
            text: RefCell::new(String::new()),
        }
    }
}

impl<T: Tables> Tables for Remembered<T> {
    fn lookup(&self, table: &str, key: &str) -> Result<Option<Row>, LookupError> {
        let mut text = self.text.borrow_mut();
        text.clear();
        // The table's length first: no two table and key pairs read alike.
        crate::fields::push_number(&mut text, table.len());
        text.push(':');
        text.push_str(table);
        text.push_str(key);
        if let Some(answer) = self.answers.borrow().get(&text) {
            return answer.clone();
        }
        let answer = self.tables.lookup(table, key);
        let heap = match &answer {
            Ok(Some(row)) => row.iter().map(|(c, v)| c.len() + v.len() + 48).sum(),
            Ok(None) => 0,
            Err(LookupError::UnknownTable(t) | LookupError::NotGranted(t)) => t.len(),
        };
        (self.answers.borrow_mut()).insert_owning(&text, answer.clone(), heap);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Memory tables that count the lookups that reach them.
    struct Counted(MemoryTables, Cell<usize>);

    impl Tables for Counted {
        fn lookup(&self, table: &str, key: &str) -> Result<Option<Row>, LookupError> {
            self.1.set(self.1.get() + 1);
            self.0.lookup(table, key)
        }
    }

    #[test]
    fn remembered_answers_match_the_tables_and_skip_them() {
        let mut memory = MemoryTables::new();
        let row = vec![("team".to_string(), "payments".to_string())];
        memory.insert("services", "checkout", row.clone());
        memory.insert("services1", "", vec![("team".into(), "other".into())]);
        let remembered = Remembered::new(Counted(memory.clone(), Cell::new(0)));
        let asks = [
            ("services", "checkout"),
            ("services", "web"),
            ("nope", "checkout"),
            // These two run together read alike; the key tells them apart.
            ("services1", ""),
            ("services", "1"),
        ];
        for round in 0..3 {
            for (table, key) in asks {
                let answer = remembered.lookup(table, key);
                assert_eq!(
                    format!("{answer:?}"),
                    format!("{:?}", memory.lookup(table, key)),
                    "{table} {key}, round {round}"
                );
            }
        }
        assert_eq!(remembered.tables.1.get(), asks.len());
    }
}
