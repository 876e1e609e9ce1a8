//! The operator's TOML config: serde types (unknown keys rejected), checks
//! that need the whole file (references between sections), and errors that
//! name the file, line and key.
//!
//! ```toml
//! [server]                       # `serve` settings (flags override)
//! listen = "127.0.0.1:8080"
//! chain = "default"              # for events no route or project names
//!
//! [projects.2]                   # a project: DSN key and chain
//! chain = "checkout"
//!
//! [[routes]]                     # first match wins
//! environment = "production"
//! chain = "full"
//!
//! [[keys]]                       # API keys by hash, with roles and projects
//! name = "reader"
//! sha256 = "…"
//! roles = ["read"]
//!
//! [tables.services]
//! path = "tables/services.csv"   # or .json; or `rows = [{...}]` inline
//! key = "service"                # the column rows are looked up by
//!
//! [plugins.pii]
//! builtin = "redactor-pii"       # or: path = "plugins/pii.wasm"
//! sha256 = "…"                   # optional pin of the component's digest
//! trust = "trusted"              # or "untrusted" (vendor plugins)
//! tables = ["services"]          # tables the plugin may look up
//! limits = { memory_mb = 64, timeout_ms = 100, fuel = 50_000_000, max_output_kb = 1024 }
//!                                # timeout_ms = "off": no deadline (trusted plugins)
//!
//! [[chains.default.stages]]
//! plugin = "pii"
//! on_error = "drop"              # skip | drop | dead-letter
//! config = { method = "mask" }   # handed to the plugin's `configure`
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::runtime::{Limits, Source};

/// Where in a config file something is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (or `<built-in default>`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Location {
    fn at(file: &str, text: &str, offset: usize) -> Location {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |i| before.len() - i - 1)
            + 1;
        Location {
            file: file.to_string(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A config error.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {file}: {reason}")]
    Read {
        /// The file.
        file: String,
        /// OS error.
        reason: String,
    },
    /// Something in the file is wrong.
    #[error("{location}: {key}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// Dotted key path, e.g. `plugins.pii.limits.memory_mb`.
        key: String,
        /// What is wrong, with a hint.
        message: String,
    },
}

/// `[runtime]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSection {
    /// `cache_dir = "/var/cache/faultline"`: compiled-component cache
    /// (default `$XDG_CACHE_HOME/faultline`); `cache = false` disables it.
    pub cache_dir: Option<PathBuf>,
    /// `cache = false` disables the compiled-component cache.
    pub cache: Option<bool>,
    /// `max_instances = 1000`: plugin instances alive at once, per engine.
    pub max_instances: Option<NonZeroU32>,
}

/// `[tables.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSection {
    /// `path = "services.csv"`: a CSV (header row) or JSON file, relative to the config.
    pub path: Option<PathBuf>,
    /// `key = "service"`: the column rows are looked up by (default `key`).
    pub key: Option<String>,
    /// `rows = [{ service = "checkout", owner_team = "payments" }]`: inline rows.
    pub rows: Option<Vec<toml::Table>>,
}

/// `trust = "trusted" | "untrusted"`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// First-party or audited plugins.
    #[default]
    Trusted,
    /// Vendor plugins: they must run after every enricher and a redactor, and
    /// get no WASI beyond clocks, random and stdio.
    Untrusted,
}

/// `timeout_ms = 100`, or `timeout_ms = "off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// A deadline per call, in milliseconds.
    Ms(NonZeroU64),
    /// No deadline: the plugin's code is compiled without the checks that let
    /// the host stop it. For trusted plugins only.
    Off,
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timeout;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive number of milliseconds or \"off\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timeout, E> {
                u64::try_from(v)
                    .ok()
                    .and_then(NonZeroU64::new)
                    .map(Timeout::Ms)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timeout, E> {
                NonZeroU64::new(v)
                    .map(Timeout::Ms)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timeout, E> {
                match v {
                    "off" => Ok(Timeout::Off),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `[plugins.NAME.limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// `memory_mb = 64`: linear memory cap.
    pub memory_mb: Option<NonZeroU32>,
    /// `timeout_ms = 100`: wall-time deadline per call; `"off"` for none.
    pub timeout_ms: Option<Spanned<Timeout>>,
    /// `fuel = 50_000_000`: instructions (roughly) per call; off by default.
    pub fuel: Option<NonZeroU64>,
    /// `max_output_kb = 1024`: largest output of one call.
    pub max_output_kb: Option<NonZeroU32>,
}

/// `[plugins.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSection {
    /// `builtin = "redactor-pii"`: a first-party plugin shipped in the binary.
    pub builtin: Option<String>,
    /// `path = "plugins/x.wasm"`: a component file, relative to the config.
    pub path: Option<PathBuf>,
    /// `sha256 = "…"`: refuse the component unless its digest matches.
    pub sha256: Option<String>,
    /// `signed_by = "acme"`: refuse the component unless a signature by this
    /// `[trusted_keys]` entry covers it.
    pub signed_by: Option<Spanned<String>>,
    /// `signature = "x.wasm.sig"`: where the signature is (default: the
    /// component's path plus `.sig`).
    pub signature: Option<PathBuf>,
    /// `trust = "untrusted"` for vendor plugins.
    #[serde(default)]
    pub trust: Trust,
    /// `tables = ["services"]`: tables the plugin may look up.
    #[serde(default)]
    pub tables: Vec<Spanned<String>>,
    /// `[plugins.NAME.limits]`
    #[serde(default)]
    pub limits: LimitsSection,
    /// `allow_imports = ["wasi:filesystem"]`: let the component import these
    /// WASI packages; they are linked with no directory and no network behind
    /// them (for runtimes such as componentize-py's that link them regardless).
    #[serde(default)]
    pub allow_imports: Vec<Spanned<String>>,
}

/// `on_error = "skip" | "drop" | "dead-letter"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Fail open: pass the event on unchanged by this stage.
    Skip,
    /// Discard the event (counted).
    Drop,
    /// Keep the original event in quarantine for inspection and replay.
    DeadLetter,
}

impl OnError {
    /// Its TOML spelling.
    pub fn name(self) -> &'static str {
        match self {
            OnError::Skip => "skip",
            OnError::Drop => "drop",
            OnError::DeadLetter => "dead-letter",
        }
    }
}

/// `[[chains.NAME.stages]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSection {
    /// `plugin = "pii"`: a plugin declared under `[plugins]`.
    pub plugin: Spanned<String>,
    /// `on_error = "drop"`; default `skip`, and `drop` for redactors.
    pub on_error: Option<Spanned<OnError>>,
    /// `config = { … }`: handed to the plugin's `configure` as JSON.
    pub config: Option<toml::Table>,
}

/// `[chains.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSection {
    /// The stages, run in order.
    pub stages: Vec<Spanned<StageSection>>,
}

/// `[server]`: how `faultline serve` runs (its flags override these).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// `listen = "127.0.0.1:8080"`
    pub listen: Option<Spanned<String>>,
    /// `data_dir = "faultline-data"`, relative to the config file.
    pub data_dir: Option<PathBuf>,
    /// `chain = "default"`: the chain for events no route or project names.
    pub chain: Option<Spanned<String>>,
    /// `workers = 4`: threads running the chains (default: one per core).
    pub workers: Option<NonZeroU32>,
    /// `http_threads = 1`: threads serving HTTP (default: one per four cores).
    pub http_threads: Option<NonZeroU32>,
    /// `queue = 10000`: events that may wait for a worker; beyond, 429.
    pub queue: Option<NonZeroU32>,
    /// `max_body_kb = 5120`: largest request body.
    pub max_body_kb: Option<NonZeroU32>,
    /// `max_event_kb = 1024`: largest single event.
    pub max_event_kb: Option<NonZeroU32>,
    /// `retention_days = 30`: events older than this are deleted.
    pub retention_days: Option<Spanned<f64>>,
}

/// `[projects.ID]`: a project events are sent to; `ID` is the number in its DSN.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// `name = "checkout-web"`
    pub name: Option<String>,
    /// `public_key = "…"`: the DSN key (32 hex digits); generated and kept
    /// in the data directory when absent.
    pub public_key: Option<Spanned<String>>,
    /// `chain = "checkout"`: the chain this project's events run through.
    pub chain: Option<Spanned<String>>,
}

/// `[[keys]]`: an API key, given by the SHA-256 of its text (`faultline api-key`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySection {
    /// Who holds it; shown in the audit log, never the key.
    pub name: String,
    /// `sha256 = "…"`: hex SHA-256 of the key.
    pub sha256: Spanned<String>,
    /// `roles = ["read"]`: ingest, read and/or admin.
    pub roles: Vec<crate::ingest::auth::Role>,
    /// `projects = ["2"]`: the projects it may use; absent means all.
    pub projects: Option<Vec<Spanned<String>>>,
}

/// `[[routes]]`: events matching every given field run through `chain`;
/// the first matching route wins.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// `project = "2"`
    pub project: Option<Spanned<String>>,
    /// `environment = "production"`
    pub environment: Option<String>,
    /// `platform = "python"`
    pub platform: Option<String>,
    /// `level = "fatal"`
    pub level: Option<String>,
    /// `chain = "full"`
    pub chain: Spanned<String>,
}

/// The whole file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`
    #[serde(default)]
    pub server: ServerSection,
    /// `[projects.ID]`
    #[serde(default)]
    pub projects: BTreeMap<String, Spanned<ProjectSection>>,
    /// `[[keys]]`
    #[serde(default)]
    pub keys: Vec<Spanned<KeySection>>,
    /// `[[routes]]`
    #[serde(default)]
    pub routes: Vec<Spanned<RouteSection>>,
    /// `[trusted_keys]`: name = "ed25519:…"
    #[serde(default)]
    pub trusted_keys: BTreeMap<String, Spanned<String>>,
    /// `[runtime]`
    #[serde(default)]
    pub runtime: RuntimeSection,
    /// `[tables.NAME]`
    #[serde(default)]
    pub tables: BTreeMap<String, Spanned<TableSection>>,
    /// `[plugins.NAME]`
    #[serde(default)]
    pub plugins: BTreeMap<String, Spanned<PluginSection>>,
    /// `[chains.NAME]`
    #[serde(default)]
    pub chains: BTreeMap<String, Spanned<ChainSection>>,
}

/// A table, resolved.
#[derive(Debug, Clone)]
pub enum TableSource {
    /// A file.
    File(PathBuf),
    /// Inline rows, as JSON objects.
    Inline(Vec<serde_json::Value>),
}

/// A table declaration, checked.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Where the rows come from.
    pub source: TableSource,
    /// Key column.
    pub key: String,
    /// Where it is declared.
    pub location: Location,
}

/// A plugin declaration, checked.
#[derive(Debug, Clone)]
pub struct PluginDef {
    /// Where the component comes from.
    pub source: Source,
    /// Pinned digest.
    pub sha256: Option<String>,
    /// The key its signature must verify with.
    pub signed_by: Option<crate::signing::PublicKey>,
    /// Where its signature is, when not beside the component.
    pub signature: Option<PathBuf>,
    /// Trust level.
    pub trust: Trust,
    /// Granted tables.
    pub tables: Vec<String>,
    /// Limits.
    pub limits: Limits,
    /// WASI packages it may import (linked empty).
    pub allow_imports: Vec<String>,
    /// Where it is declared.
    pub location: Location,
}

/// A stage, checked.
#[derive(Debug, Clone)]
pub struct StageDef {
    /// Plugin name.
    pub plugin: String,
    /// Failure policy; `None` means the role's default.
    pub on_error: Option<OnError>,
    /// Where `on_error` is written, if it is.
    pub on_error_location: Option<Location>,
    /// The stage config as JSON text.
    pub config_json: String,
    /// Where the stage is declared.
    pub location: Location,
    /// Its key path, e.g. `chains.default.stages[1]`.
    pub key: String,
}

/// A chain, checked.
#[derive(Debug, Clone)]
pub struct ChainDef {
    /// The stages.
    pub stages: Vec<StageDef>,
    /// Where it is declared.
    pub location: Location,
}

/// `[server]`, checked; `None` where the file leaves the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerDef {
    /// Address to listen on.
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory (resolved against the config file).
    pub data_dir: Option<PathBuf>,
    /// Chain for events nothing else routes.
    pub chain: Option<String>,
    /// Worker threads.
    pub workers: Option<usize>,
    /// HTTP threads.
    pub http_threads: Option<usize>,
    /// Queue length.
    pub queue: Option<usize>,
    /// Largest body, bytes.
    pub max_body_bytes: Option<usize>,
    /// Largest event, bytes.
    pub max_event_bytes: Option<usize>,
    /// Retention, days.
    pub retention_days: Option<f64>,
}

/// A project, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectDef {
    /// Its id (digits).
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its DSN key, when the file gives one.
    pub public_key: Option<String>,
    /// Its chain.
    pub chain: Option<String>,
}

/// An API key, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDef {
    /// Holder.
    pub name: String,
    /// Lowercase hex SHA-256 of the key.
    pub sha256: String,
    /// Roles.
    pub roles: Vec<crate::ingest::auth::Role>,
    /// Allowed projects; `None` means all.
    pub projects: Option<Vec<String>>,
}

/// A route, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDef {
    /// Match on the project.
    pub project: Option<String>,
    /// Match on `environment`.
    pub environment: Option<String>,
    /// Match on `platform`.
    pub platform: Option<String>,
    /// Match on `level`.
    pub level: Option<String>,
    /// The chain.
    pub chain: String,
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[server]`
    pub server: ServerDef,
    /// `[projects.ID]`, by id.
    pub projects: BTreeMap<String, ProjectDef>,
    /// `[[keys]]`
    pub keys: Vec<KeyDef>,
    /// `[[routes]]`, in order.
    pub routes: Vec<RouteDef>,
    /// The file it came from.
    pub file: String,
    /// Compiled-component cache directory (`None`: disabled).
    pub cache_dir: Option<PathBuf>,
    /// Max live instances.
    pub max_instances: u32,
    /// Tables.
    pub tables: BTreeMap<String, TableDef>,
    /// Plugins.
    pub plugins: BTreeMap<String, PluginDef>,
    /// Chains.
    pub chains: BTreeMap<String, ChainDef>,
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Renders a serde path (`plugins.pii.limits.memry_mb`) in TOML terms.
fn key_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                // `Spanned` wraps values in a private field; not a key the user wrote.
                if key.starts_with("$__") {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        "(top level)".into()
    } else {
        out
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, &path.display().to_string(), base)
    }

    /// Parses and validates config text; relative paths resolve against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Invalid {
            location: Location::at(file, text, e.span().map_or(0, |s| s.start)),
            key: "(syntax)".into(),
            message: e.message().trim().to_string(),
        })?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = key_path(e.path());
            let inner = e.into_inner();
            ConfigError::Invalid {
                location: Location::at(file, text, inner.span().map_or(0, |s| s.start)),
                key,
                message: inner.message().trim().to_string(),
            }
        })?;
        Config::validate(raw, text, file, base)
    }

    fn validate(
        raw: RawConfig,
        text: &str,
        file: &str,
        base: &Path,
    ) -> Result<Config, ConfigError> {
        let loc = |offset: usize| Location::at(file, text, offset);
        let invalid = |offset: usize, key: String, message: String| ConfigError::Invalid {
            location: loc(offset),
            key,
            message,
        };
        let mut tables = BTreeMap::new();
        for (name, section) in &raw.tables {
            let at = section.span().start;
            let key = format!("tables.{name}");
            let section = section.get_ref();
            let key_column = section.key.clone().unwrap_or_else(|| "key".into());
            let source = match (&section.path, &section.rows) {
                (Some(p), None) => TableSource::File(base.join(p)),
                (None, Some(rows)) => TableSource::Inline(
                    rows.iter()
                        .map(|r| toml_to_json(&toml::Value::Table(r.clone())))
                        .collect(),
                ),
                _ => {
                    return Err(invalid(
                        at,
                        key,
                        "give exactly one of `path` (a CSV or JSON file) or `rows` (inline rows)"
                            .into(),
                    ));
                }
            };
            tables.insert(
                name.clone(),
                TableDef {
                    source,
                    key: key_column,
                    location: loc(at),
                },
            );
        }
        let mut trusted_keys = BTreeMap::new();
        for (name, text) in &raw.trusted_keys {
            let key = crate::signing::PublicKey::parse(name, text.get_ref()).map_err(|e| {
                invalid(
                    text.span().start,
                    format!("trusted_keys.{name}"),
                    e.to_string(),
                )
            })?;
            trusted_keys.insert(name.clone(), key);
        }
        let mut plugins = BTreeMap::new();
        for (name, section) in &raw.plugins {
            let at = section.span().start;
            let key = format!("plugins.{name}");
            let s = section.get_ref();
            let source = match (&s.builtin, &s.path) {
                (Some(b), None) => {
                    if crate::builtin::component(b).is_none() {
                        return Err(invalid(
                            at,
                            format!("{key}.builtin"),
                            format!(
                                "there is no builtin plugin {b:?}; builtins are {}",
                                crate::builtin::NAMES.join(", ")
                            ),
                        ));
                    }
                    Source::Builtin(b.clone())
                }
                (None, Some(p)) => Source::Path(base.join(p)),
                _ => {
                    return Err(invalid(
                        at,
                        key,
                        "give exactly one of `builtin = \"NAME\"` or `path = \"FILE.wasm\"`".into(),
                    ));
                }
            };
            if let Some(d) = &s.sha256 {
                let hex = d.trim_start_matches("sha256:");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        at,
                        format!("{key}.sha256"),
                        format!("{d:?} is not a sha256 digest (64 hex digits)"),
                    ));
                }
            }
            let signed_by = match &s.signed_by {
                None => None,
                Some(_) if matches!(source, Source::Builtin(_)) => {
                    return Err(invalid(
                        at,
                        format!("{key}.signed_by"),
                        "builtin plugins are part of the faultline binary; signed_by is for plugin files".into(),
                    ));
                }
                Some(signer) => Some(
                    trusted_keys
                        .get(signer.get_ref())
                        .cloned()
                        .ok_or_else(|| {
                            invalid(
                                signer.span().start,
                                format!("{key}.signed_by"),
                                format!(
                                    "no trusted key {:?}; add it under [trusted_keys] (trusted keys: {})",
                                    signer.get_ref(),
                                    if trusted_keys.is_empty() {
                                        "none".to_string()
                                    } else {
                                        trusted_keys.keys().cloned().collect::<Vec<_>>().join(", ")
                                    }
                                ),
                            )
                        })?,
                ),
            };
            if s.signature.is_some() && signed_by.is_none() {
                return Err(invalid(
                    at,
                    format!("{key}.signature"),
                    "a signature file is only checked with `signed_by = \"KEY NAME\"`".into(),
                ));
            }
            for t in &s.tables {
                if !tables.contains_key(t.get_ref()) {
                    return Err(invalid(
                        t.span().start,
                        format!("{key}.tables"),
                        format!(
                            "unknown table {:?}; declared tables: {}",
                            t.get_ref(),
                            if tables.is_empty() {
                                "none".to_string()
                            } else {
                                tables.keys().cloned().collect::<Vec<_>>().join(", ")
                            }
                        ),
                    ));
                }
            }
            for grant in &s.allow_imports {
                let g = grant.get_ref();
                if !crate::runtime::load::GRANTABLE_IMPORTS.contains(&g.as_str()) {
                    return Err(invalid(
                        grant.span().start,
                        format!("{key}.allow_imports"),
                        format!(
                            "{g:?} cannot be granted; grantable: {}",
                            crate::runtime::load::GRANTABLE_IMPORTS.join(", ")
                        ),
                    ));
                }
                if s.trust == Trust::Untrusted {
                    return Err(invalid(
                        grant.span().start,
                        format!("{key}.allow_imports"),
                        format!("plugin {name:?} is untrusted and cannot be granted {g:?}"),
                    ));
                }
            }
            let defaults = Limits::default();
            let l = &s.limits;
            let memory_mb = l
                .memory_mb
                .map_or(defaults.memory_bytes >> 20, |m| u64::from(m.get()));
            if memory_mb > 4096 {
                return Err(invalid(
                    at,
                    format!("{key}.limits.memory_mb"),
                    format!("{memory_mb} is more than the 4096 MiB a 32-bit plugin can address"),
                ));
            }
            let timeout_ms = match &l.timeout_ms {
                None => defaults.timeout_ms,
                Some(t) => match t.get_ref() {
                    Timeout::Ms(ms) => Some(ms.get()),
                    Timeout::Off if s.trust == Trust::Untrusted => {
                        return Err(invalid(
                            t.span().start,
                            format!("{key}.limits.timeout_ms"),
                            format!(
                                "plugin {name:?} is untrusted and must keep a deadline; \"off\" \
                                 is only for plugins you trust to finish"
                            ),
                        ));
                    }
                    Timeout::Off => None,
                },
            };
            let limits = Limits {
                memory_bytes: memory_mb << 20,
                timeout_ms,
                fuel: l.fuel.map(NonZeroU64::get),
                max_output_bytes: l
                    .max_output_kb
                    .map_or(defaults.max_output_bytes, |k| (k.get() as usize) << 10),
            };
            plugins.insert(
                name.clone(),
                PluginDef {
                    source,
                    sha256: s.sha256.clone(),
                    signed_by,
                    signature: s.signature.as_ref().map(|p| base.join(p)),
                    trust: s.trust,
                    tables: s.tables.iter().map(|t| t.get_ref().clone()).collect(),
                    limits,
                    allow_imports: s
                        .allow_imports
                        .iter()
                        .map(|g| g.get_ref().clone())
                        .collect(),
                    location: loc(at),
                },
            );
        }
        if raw.chains.is_empty() {
            return Err(invalid(
                0,
                "chains".into(),
                "no chains declared; add at least one `[[chains.NAME.stages]]`".into(),
            ));
        }
        let mut chains = BTreeMap::new();
        for (name, section) in &raw.chains {
            let at = section.span().start;
            let stages_raw = &section.get_ref().stages;
            if stages_raw.is_empty() {
                return Err(invalid(
                    at,
                    format!("chains.{name}.stages"),
                    "a chain needs at least one stage".into(),
                ));
            }
            let mut stages = Vec::new();
            for (i, stage) in stages_raw.iter().enumerate() {
                let key = format!("chains.{name}.stages[{i}]");
                let s = stage.get_ref();
                if !plugins.contains_key(s.plugin.get_ref()) {
                    return Err(invalid(
                        s.plugin.span().start,
                        format!("{key}.plugin"),
                        format!(
                            "unknown plugin {:?}; declared plugins: {}",
                            s.plugin.get_ref(),
                            if plugins.is_empty() {
                                "none".to_string()
                            } else {
                                plugins.keys().cloned().collect::<Vec<_>>().join(", ")
                            }
                        ),
                    ));
                }
                let config_json = match &s.config {
                    Some(t) => toml_to_json(&toml::Value::Table(t.clone())).to_string(),
                    None => "{}".into(),
                };
                stages.push(StageDef {
                    plugin: s.plugin.get_ref().clone(),
                    on_error: s.on_error.as_ref().map(|o| *o.get_ref()),
                    on_error_location: s.on_error.as_ref().map(|o| loc(o.span().start)),
                    config_json,
                    location: loc(stage.span().start),
                    key,
                });
            }
            chains.insert(
                name.clone(),
                ChainDef {
                    stages,
                    location: loc(at),
                },
            );
        }
        let chain_ref = |name: &Spanned<String>, key: String| -> Result<String, ConfigError> {
            if chains.contains_key(name.get_ref()) {
                Ok(name.get_ref().clone())
            } else {
                Err(invalid(
                    name.span().start,
                    key,
                    format!(
                        "unknown chain {:?}; declared chains: {}",
                        name.get_ref(),
                        chains.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        };
        let sv = &raw.server;
        let listen = match &sv.listen {
            None => None,
            Some(l) => Some(l.get_ref().parse().map_err(|_| {
                invalid(
                    l.span().start,
                    "server.listen".into(),
                    format!(
                        "{:?} is not an address such as \"127.0.0.1:8080\"",
                        l.get_ref()
                    ),
                )
            })?),
        };
        let retention_days = match &sv.retention_days {
            None => None,
            Some(d) if d.get_ref().is_finite() && *d.get_ref() > 0.0 => Some(*d.get_ref()),
            Some(d) => {
                return Err(invalid(
                    d.span().start,
                    "server.retention_days".into(),
                    format!("must be a positive number of days, not {}", d.get_ref()),
                ));
            }
        };
        let server = ServerDef {
            listen,
            data_dir: sv.data_dir.as_ref().map(|d| base.join(d)),
            chain: sv
                .chain
                .as_ref()
                .map(|c| chain_ref(c, "server.chain".into()))
                .transpose()?,
            workers: sv.workers.map(|n| n.get() as usize),
            http_threads: sv.http_threads.map(|n| n.get() as usize),
            queue: sv.queue.map(|n| n.get() as usize),
            max_body_bytes: sv.max_body_kb.map(|k| (k.get() as usize) << 10),
            max_event_bytes: sv.max_event_kb.map(|k| (k.get() as usize) << 10),
            retention_days,
        };
        let mut projects = BTreeMap::new();
        for (id, section) in &raw.projects {
            let key = format!("projects.{id}");
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    section.span().start,
                    key,
                    format!("project ids are numbers (the last part of a DSN), not {id:?}"),
                ));
            }
            let p = section.get_ref();
            if let Some(k) = &p.public_key {
                let k_ok = k.get_ref().len() >= 16
                    && k.get_ref().bytes().all(|b| b.is_ascii_alphanumeric());
                if !k_ok {
                    return Err(invalid(
                        k.span().start,
                        format!("{key}.public_key"),
                        "a DSN key is at least 16 letters or digits; leave it out to have one generated".into(),
                    ));
                }
            }
            projects.insert(
                id.clone(),
                ProjectDef {
                    id: id.clone(),
                    name: p.name.clone(),
                    public_key: p.public_key.as_ref().map(|k| k.get_ref().clone()),
                    chain: p
                        .chain
                        .as_ref()
                        .map(|c| chain_ref(c, format!("{key}.chain")))
                        .transpose()?,
                },
            );
        }
        let project_ref = |p: &Spanned<String>, key: String| -> Result<String, ConfigError> {
            let id = p.get_ref();
            if id == "1" || projects.contains_key(id) {
                Ok(id.clone())
            } else {
                Err(invalid(
                    p.span().start,
                    key,
                    format!(
                        "unknown project {id:?}; projects are 1 (the default) and those under [projects]"
                    ),
                ))
            }
        };
        let mut keys = Vec::new();
        for (i, k) in raw.keys.iter().enumerate() {
            let key = format!("keys[{i}]");
            let k = k.get_ref();
            let digest = k
                .sha256
                .get_ref()
                .trim_start_matches("sha256:")
                .to_ascii_lowercase();
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    k.sha256.span().start,
                    format!("{key}.sha256"),
                    "give the SHA-256 of the key in hex (64 digits); `faultline api-key --name NAME --role ROLE` prints one".into(),
                ));
            }
            if k.roles.is_empty() {
                return Err(invalid(
                    k.sha256.span().start,
                    format!("{key}.roles"),
                    "a key needs at least one role: ingest, read or admin".into(),
                ));
            }
            let allowed = match &k.projects {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .map(|p| project_ref(p, format!("{key}.projects")))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            keys.push(KeyDef {
                name: k.name.clone(),
                sha256: digest,
                roles: k.roles.clone(),
                projects: allowed,
            });
        }
        let mut routes = Vec::new();
        for (i, r) in raw.routes.iter().enumerate() {
            let key = format!("routes[{i}]");
            let at = r.span().start;
            let r = r.get_ref();
            if r.project.is_none()
                && r.environment.is_none()
                && r.platform.is_none()
                && r.level.is_none()
            {
                return Err(invalid(
                    at,
                    key,
                    "a route matches on at least one of project, environment, platform, level; \
                     for a catch-all set `[server] chain`"
                        .into(),
                ));
            }
            routes.push(RouteDef {
                project: r
                    .project
                    .as_ref()
                    .map(|p| project_ref(p, format!("{key}.project")))
                    .transpose()?,
                environment: r.environment.clone(),
                platform: r.platform.clone(),
                level: r.level.clone(),
                chain: chain_ref(&r.chain, format!("{key}.chain"))?,
            });
        }
        let cache_dir = match (raw.runtime.cache, &raw.runtime.cache_dir) {
            (Some(false), _) => None,
            (_, Some(dir)) => Some(base.join(dir)),
            _ => crate::runtime::default_cache_dir(),
        };
        Ok(Config {
            server,
            projects,
            keys,
            routes,
            file: file.to_string(),
            cache_dir,
            max_instances: raw.runtime.max_instances.map_or(1000, NonZeroU32::get),
            tables,
            plugins,
            chains,
        })
    }

    /// The chain for events nothing routes elsewhere: `requested` (a `--chain`
    /// flag), else `[server] chain`, else the only chain, else `default`.
    pub fn default_chain(&self, requested: Option<&str>) -> Result<String, String> {
        let names = || self.chains.keys().cloned().collect::<Vec<_>>().join(", ");
        match requested.or(self.server.chain.as_deref()) {
            Some(name) if self.chains.contains_key(name) => Ok(name.to_string()),
            Some(name) => Err(format!(
                "{}: no chain {name:?}; chains: {}",
                self.file,
                names()
            )),
            None if self.chains.len() == 1 => {
                Ok(self.chains.keys().next().expect("one chain").clone())
            }
            None if self.chains.contains_key("default") => Ok("default".into()),
            None => Err(format!(
                "{} has several chains ({}); pick one with --chain or `[server] chain`",
                self.file,
                names()
            )),
        }
    }

    /// The built-in default config: the first-party plugins in the chain
    /// enrich → redact → classify → score.
    pub fn builtin_default() -> Config {
        Config::parse(
            crate::builtin::DEFAULT_CONFIG,
            "<built-in default>",
            Path::new("."),
        )
        .expect("the built-in default config is valid")
    }
}

#[cfg(test)]
mod tests;
