//! Projects and their Sentry DSN keys. The first start of a data directory
//! creates project `1` with a random public key; the DSN is printed at every start.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::ProjectDef;

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

/// Loads `projects.json` (creating project `1` on first start) and merges
/// the config's `[projects.ID]`: a declared key wins, a declared project
/// without one gets the stored key or a new one, and the result is kept so
/// DSNs stay the same across restarts.
pub fn load_or_create(
    dir: &Path,
    declared: &BTreeMap<String, ProjectDef>,
) -> std::io::Result<Vec<Project>> {
    let path = dir.join("projects.json");
    let stored: Vec<Project> = if path.exists() {
        serde_json::from_slice(&std::fs::read(&path)?).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?
    } else {
        vec![Project {
            id: "1".into(),
            name: "default".into(),
            public_key: new_key(),
        }]
    };
    let mut projects = stored.clone();
    for def in declared.values() {
        let index = match projects.iter().position(|p| p.id == def.id) {
            Some(i) => i,
            None => {
                projects.push(Project {
                    id: def.id.clone(),
                    name: format!("project {}", def.id),
                    public_key: new_key(),
                });
                projects.len() - 1
            }
        };
        let project = &mut projects[index];
        if let Some(name) = &def.name {
            project.name = name.clone();
        }
        if let Some(key) = &def.public_key {
            project.public_key = key.clone();
        }
    }
    projects.sort_by_key(|p| (p.id.len(), p.id.clone()));
    if !path.exists() || projects != stored {
        super::write_json_durably(&path, &projects)?;
    }
    Ok(projects)
}

fn new_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
