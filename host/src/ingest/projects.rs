//! Projects and their Sentry DSN keys. The first start of a data directory
//! creates project `1` with a random public key; the DSN is printed at every start.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A project events are sent to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Project {
    /// Numeric id, as in the DSN path.
    pub id: String,
    /// Name.
    pub name: String,
    /// The DSN's public key; it only allows sending events to this project.
    pub public_key: String,
}

impl Project {
    /// The DSN SDKs are configured with.
    pub fn dsn(&self, host: &str) -> String {
        format!("http://{}@{host}/{}", self.public_key, self.id)
    }
}

/// Loads `projects.json`, creating it with project `1` when absent.
pub fn load_or_create(dir: &Path) -> std::io::Result<Vec<Project>> {
    let path = dir.join("projects.json");
    if path.exists() {
        return serde_json::from_slice(&std::fs::read(&path)?).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        });
    }
    let projects = vec![Project {
        id: "1".into(),
        name: "default".into(),
        public_key: uuid::Uuid::new_v4().simple().to_string(),
    }];
    super::write_json_durably(&path, &projects)?;
    Ok(projects)
}
