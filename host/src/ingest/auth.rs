//! API keys: stored only as SHA-256 hashes, each with roles. The first start
//! of a data directory creates an admin key and shows it once.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Send events.
    Ingest,
    /// Read events and issues.
    Read,
    /// Everything, including changing issues and keys.
    Admin,
}

/// One stored key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Who the key belongs to, for audit and logs (never the key itself).
    pub name: String,
    /// Hex SHA-256 of the key.
    pub sha256: String,
    /// What it may do.
    pub roles: Vec<Role>,
    /// The projects it may use; `None` means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<String>>,
}

impl KeyEntry {
    /// Whether the key may touch `project`.
    pub fn may(&self, project: &str) -> bool {
        self.projects
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == project))
    }
}

/// The keys of a data directory.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    entries: Vec<KeyEntry>,
}

/// Hex SHA-256 of a key's text, as stored and as written in `[[keys]] sha256`.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No key, or an unknown one: 401.
    Unauthenticated,
    /// A valid key without the role: 403.
    Forbidden,
}

impl Keys {
    /// Loads `keys.json` from the data directory, creating it with a new admin
    /// key when absent; returns the keys and the new key's text if one was made.
    pub fn load_or_create(dir: &Path) -> std::io::Result<(Keys, Option<String>)> {
        let path = dir.join("keys.json");
        if path.exists() {
            let entries: Vec<KeyEntry> =
                serde_json::from_slice(&std::fs::read(&path)?).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?;
            return Ok((Keys { entries }, None));
        }
        let key = Keys::generate();
        let entries = vec![KeyEntry {
            name: "admin".into(),
            sha256: hash(&key),
            roles: vec![Role::Admin],
            projects: None,
        }];
        super::write_json_durably(&path, &entries)?;
        Ok((Keys { entries }, Some(key)))
    }

    /// The names of the keys, in order.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// A new random key text.
    pub fn generate() -> String {
        format!(
            "fl_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    }

    /// These keys plus the `[[keys]]` of a config.
    pub fn with_config(&self, keys: &[crate::config::KeyDef]) -> Keys {
        let mut entries = self.entries.clone();
        entries.extend(keys.iter().map(|k| KeyEntry {
            name: k.name.clone(),
            sha256: k.sha256.clone(),
            roles: k.roles.clone(),
            projects: k.projects.clone(),
        }));
        Keys { entries }
    }

    /// Checks an `Authorization: Bearer KEY` header value for a role; returns the key.
    pub fn check(&self, header: Option<&str>, role: Role) -> Result<&KeyEntry, Denied> {
        let key = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(Denied::Unauthenticated)?;
        let digest = hash(key);
        let entry = self
            .entries
            .iter()
            .find(|e| e.sha256 == digest)
            .ok_or(Denied::Unauthenticated)?;
        if entry.roles.contains(&Role::Admin) || entry.roles.contains(&role) {
            Ok(entry)
        } else {
            Err(Denied::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_hashed_and_checked_by_role() {
        let dir = std::env::temp_dir().join(format!("faultline-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (keys, created) = Keys::load_or_create(&dir).unwrap();
        let key = created.unwrap();
        let stored = std::fs::read_to_string(dir.join("keys.json")).unwrap();
        assert!(!stored.contains(&key), "only the hash is stored");
        assert_eq!(
            keys.check(Some(&format!("Bearer {key}")), Role::Read)
                .map(|k| k.name.as_str()),
            Ok("admin")
        );
        assert_eq!(
            keys.check(Some("Bearer nope"), Role::Read).err(),
            Some(Denied::Unauthenticated)
        );
        assert_eq!(
            keys.check(None, Role::Read).err(),
            Some(Denied::Unauthenticated)
        );
        let (again, created) = Keys::load_or_create(&dir).unwrap();
        assert!(created.is_none());
        assert!(
            again
                .check(Some(&format!("Bearer {key}")), Role::Ingest)
                .is_ok()
        );
        let reader = Keys {
            entries: vec![KeyEntry {
                name: "r".into(),
                sha256: hash("k"),
                roles: vec![Role::Read],
                projects: Some(vec!["2".into()]),
            }],
        };
        assert_eq!(
            reader.check(Some("Bearer k"), Role::Ingest).err(),
            Some(Denied::Forbidden)
        );
        let entry = reader.check(Some("Bearer k"), Role::Read).unwrap();
        assert!(entry.may("2") && !entry.may("1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
