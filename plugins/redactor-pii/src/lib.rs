//! PII redactor: finds e-mail addresses, payment cards, IBANs, phone numbers,
//! IP addresses, JWTs, bearer tokens, API keys, credentials in URLs and
//! query strings, and US SSNs in every string of an event, scrubs whole values
//! under sensitive keys, and removes, replaces, masks or keyed-hashes them.

pub mod detectors;

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use detectors::{Detectors, Finding, Kind};
use faultline_sdk::{
    Edit, Event, FieldKind, PluginError, Recent, Redaction, Redactor, StringField,
};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// What to do with a value once found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Take it out.
    Remove,
    /// Put `[kind]` in its place.
    Replace,
    /// Keep separators and the last four characters of cards, IBANs and
    /// phone numbers; star out the rest.
    Mask,
    /// Replace with `[kind:` + the first 16 hex digits of its HMAC-SHA256 + `]`,
    /// so equal values stay joinable without being readable.
    Hash,
}

/// Stage config of the redactor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `method = "replace"`: the method for every kind not named in `methods`.
    pub method: Method,
    /// `methods = { email = "hash", card = "mask" }`: per-kind methods.
    pub methods: HashMap<Kind, Method>,
    /// `hash_key = "..."`: the HMAC key; required when any method is `hash`.
    pub hash_key: Option<String>,
    /// `detectors = ["email", "card"]`: only these kinds (default: all).
    pub detectors: Option<Vec<Kind>>,
    /// `sensitive_keys = ["ssn_last4"]`: more key names whose values are
    /// always scrubbed (matched as case-insensitive substrings, ignoring `-_.`).
    pub sensitive_keys: Vec<String>,
    /// `safe_keys = ["token_count"]`: key names never scrubbed by key, only by content.
    pub safe_keys: Vec<String>,
    /// `default_sensitive_keys = false` drops the built-in sensitive key list.
    pub default_sensitive_keys: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            method: Method::Replace,
            methods: HashMap::new(),
            hash_key: None,
            detectors: None,
            sensitive_keys: Vec::new(),
            safe_keys: Vec::new(),
            default_sensitive_keys: true,
        }
    }
}

/// Key names whose values are secrets whatever they look like.
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "authorization",
    "auth",
    "cookie",
    "credential",
    "privatekey",
    "session",
    "csrf",
    "xsrf",
    "ssn",
    "creditcard",
    "cardnumber",
    "cvv",
    "cvc",
    "iban",
    "pin",
];

fn normalize_key(key: &str) -> String {
    let mut out = String::new();
    normalize_key_into(key, &mut out);
    out
}

fn normalize_key_into(key: &str, out: &mut String) {
    out.clear();
    if key.is_ascii() {
        // The same as below for ASCII, without the Unicode case tables.
        let kept = key
            .bytes()
            .filter(|b| !matches!(b, b'-' | b'_' | b'.' | b' '));
        out.extend(kept.map(|b| char::from(b.to_ascii_lowercase())));
        return;
    }
    out.extend(
        key.chars()
            .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
            .flat_map(char::to_lowercase),
    );
}

/// The sensitive key names: short ones (`pin`, `ssn`) only match whole keys
/// or key suffixes, so `pin` does not hit `shipping`; longer ones match
/// anywhere in the key, all at once.
struct SensitiveKeys {
    short: Vec<String>,
    long: Option<AhoCorasick>,
}

impl SensitiveKeys {
    fn new(names: Vec<String>) -> SensitiveKeys {
        let (short, long): (Vec<_>, Vec<_>) = names.into_iter().partition(|s| s.len() <= 4);
        let long = (!long.is_empty())
            .then(|| AhoCorasick::new(&long).expect("key names build an automaton"));
        SensitiveKeys { short, long }
    }

    /// `key` is already normalized.
    fn matches(&self, key: &str) -> bool {
        self.short
            .iter()
            .any(|s| key == s || key.ends_with(s.as_str()) && !key.ends_with("ping"))
            || self.long.as_ref().is_some_and(|ac| ac.is_match(key))
    }
}

/// The PII redactor.
pub struct Pii {
    detectors: Detectors,
    method: Method,
    methods: HashMap<Kind, Method>,
    hasher: Option<Hmac<Sha256>>,
    sensitive: SensitiveKeys,
    safe: Vec<String>,
    findings: Vec<Finding>,
    /// Scratch space for the normalized key of the field being checked.
    key: String,
    /// Whether recently seen field names are sensitive: an event's keys
    /// (tags, headers, attribute names) recur on every event of a service.
    keys_seen: Recent<bool>,
}

impl Pii {
    fn method(&self, kind: Kind) -> Method {
        self.methods.get(&kind).copied().unwrap_or(self.method)
    }

    fn key_is_sensitive(&mut self, key: &str) -> bool {
        if key.is_empty() {
            return false;
        }
        if let Some(&sensitive) = self.keys_seen.get(key) {
            return sensitive;
        }
        normalize_key_into(key, &mut self.key);
        let sensitive = !self.safe.contains(&self.key) && self.sensitive.matches(&self.key);
        self.keys_seen.insert(key, sensitive);
        sensitive
    }

    fn replacement(&self, kind: Kind, original: &str) -> String {
        match self.method(kind) {
            Method::Remove => String::new(),
            Method::Replace => ["[", kind.name(), "]"].concat(),
            Method::Mask => mask(kind, original),
            Method::Hash => {
                let mut mac = self.hasher.clone().expect("hash_key checked in new");
                mac.update(original.as_bytes());
                let digest = mac.finalize().into_bytes();
                ["[", kind.name(), ":", &hex::encode(&digest[..8]), "]"].concat()
            }
        }
    }

    /// The edit for one field, if it needs one.
    fn edit(&mut self, field: &StringField<'_>) -> Option<Edit> {
        let scrub_whole = field.kind != FieldKind::Top
            && field.kind != FieldKind::Exception
            && field.kind != FieldKind::Frame
            && self.key_is_sensitive(field.key);
        if scrub_whole {
            if field.value.is_empty() {
                return None;
            }
            let action = match self.method(Kind::Secret) {
                Method::Remove => Redaction::Remove,
                _ => Redaction::Replace(self.replacement(Kind::Secret, field.value)),
            };
            return Some(Edit {
                path: field.path(),
                action,
            });
        }
        self.findings.clear();
        self.detectors.scan(field.value, &mut self.findings);
        if self.findings.is_empty() {
            return None;
        }
        let value = field.value;
        let mut out = String::with_capacity(value.len());
        let mut last = 0;
        for f in &self.findings {
            out.push_str(&value[last..f.start]);
            out.push_str(&self.replacement(f.kind, &value[f.start..f.end]));
            last = f.end;
        }
        out.push_str(&value[last..]);
        Some(Edit {
            path: field.path(),
            action: Redaction::Replace(out),
        })
    }
}

fn mask(kind: Kind, original: &str) -> String {
    let keep = match kind {
        Kind::Card | Kind::Iban | Kind::Phone => 4,
        _ => 0,
    };
    let total = original.chars().filter(char::is_ascii_alphanumeric).count();
    let mut seen = 0;
    original
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                seen += 1;
                if seen > total - keep { c } else { '*' }
            } else if matches!(kind, Kind::Card | Kind::Iban | Kind::Phone) {
                c
            } else {
                '*'
            }
        })
        .collect()
}

impl Redactor for Pii {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "scrubs e-mails, cards, IBANs, phones, IPs, tokens, keys and credentials";

    fn new(config: Config) -> Result<Self, PluginError> {
        let uses_hash =
            config.method == Method::Hash || config.methods.values().any(|m| *m == Method::Hash);
        let hasher = match (&config.hash_key, uses_hash) {
            (Some(key), _) if key.len() < 16 => {
                return Err(PluginError::InvalidConfig(
                    "hash_key must be at least 16 characters long".into(),
                ));
            }
            (Some(key), _) => Some(
                Hmac::<Sha256>::new_from_slice(key.as_bytes())
                    .map_err(|e| PluginError::InvalidConfig(format!("hash_key: {e}")))?,
            ),
            (None, true) => {
                return Err(PluginError::InvalidConfig(
                    "method \"hash\" needs hash_key (at least 16 characters) in the stage config"
                        .into(),
                ));
            }
            (None, false) => None,
        };
        let enabled = config.detectors.clone();
        let detectors = Detectors::new(|k| enabled.as_ref().is_none_or(|e| e.contains(&k)));
        let mut sensitive: Vec<String> = if config.default_sensitive_keys {
            SENSITIVE_KEYS.iter().map(|s| s.to_string()).collect()
        } else {
            Vec::new()
        };
        sensitive.extend(config.sensitive_keys.iter().map(|k| normalize_key(k)));
        Ok(Pii {
            detectors,
            method: config.method,
            methods: config.methods,
            hasher,
            sensitive: SensitiveKeys::new(sensitive),
            safe: config.safe_keys.iter().map(|k| normalize_key(k)).collect(),
            findings: Vec::new(),
            key: String::new(),
            keys_seen: Recent::new(256, 64 << 10),
        })
    }

    fn redact(&mut self, event: &Event) -> Result<Vec<Edit>, PluginError> {
        let mut edits = Vec::new();
        faultline_sdk::visit_strings(event, |field| {
            if let Some(edit) = self.edit(field) {
                edits.push(edit);
            }
        });
        Ok(edits)
    }
}

faultline_sdk::export_redactor!(Pii);

#[cfg(test)]
mod tests;
