//! Loading a plugin: read and pin the component, compile it (or load it from
//! the cache), read its role from its exports, refuse imports beyond the
//! allowed interfaces, and pre-instantiate it.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre};

use super::bindings::exports::faultline::plugin::{classifier, enricher, redactor, scorer};
use super::bindings::faultline::plugin::types::PluginMetadata;
use super::{Limits, PluginState, Runtime};
use crate::tables::Tables;

/// The WIT package version this host implements.
pub const PACKAGE: &str = "faultline:plugin";
/// Versions of the package this host runs.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1.0"];

/// A plugin's role, read from the interface it exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Exports `faultline:plugin/classifier`.
    Classifier,
    /// Exports `faultline:plugin/enricher`.
    Enricher,
    /// Exports `faultline:plugin/redactor`.
    Redactor,
    /// Exports `faultline:plugin/scorer`.
    Scorer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Classifier,
        Role::Enricher,
        Role::Redactor,
        Role::Scorer,
    ];

    /// The role's name, which is also its interface's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Classifier => "classifier",
            Role::Enricher => "enricher",
            Role::Redactor => "redactor",
            Role::Scorer => "scorer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One of the first-party plugins embedded in the binary.
    Builtin(String),
    /// A `.wasm` file.
    Path(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builtin(name) => write!(f, "builtin {name:?}"),
            Source::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The engine could not be built.
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
    /// The file could not be read.
    #[error("plugin {plugin:?}: cannot read {path}: {reason}")]
    Read {
        /// Plugin name.
        plugin: String,
        /// Path.
        path: String,
        /// OS error.
        reason: String,
    },
    /// No builtin of that name.
    #[error("plugin {plugin:?}: there is no builtin plugin {name:?}; builtins are {known}")]
    UnknownBuiltin {
        /// Plugin name.
        plugin: String,
        /// Requested builtin.
        name: String,
        /// Known builtins.
        known: String,
    },
    /// The digest does not match the pin.
    #[error(
        "plugin {plugin:?}: sha256 of {source_desc} is {actual}, but the config pins {expected}; refusing to load it"
    )]
    DigestMismatch {
        /// Plugin name.
        plugin: String,
        /// Where the bytes came from.
        source_desc: String,
        /// Pinned digest.
        expected: String,
        /// Actual digest.
        actual: String,
    },
    /// `signed_by` is set and the signature is missing or does not hold.
    #[error("plugin {plugin:?} must be signed by {signer:?} and is refused: {reason}")]
    Signature {
        /// Plugin name.
        plugin: String,
        /// The trusted key it must be signed with.
        signer: String,
        /// What failed.
        reason: String,
    },
    /// Not a component.
    #[error(
        "plugin {plugin:?}: {source_desc} is not a WebAssembly component ({reason}); build it for wasm32-wasip2 or wrap a core module with `wasm-tools component new`"
    )]
    NotAComponent {
        /// Plugin name.
        plugin: String,
        /// Where the bytes came from.
        source_desc: String,
        /// Why.
        reason: String,
    },
    /// Compilation failed.
    #[error("plugin {plugin:?}: cannot compile {source_desc}: {reason}")]
    Compile {
        /// Plugin name.
        plugin: String,
        /// Where the bytes came from.
        source_desc: String,
        /// Compiler message.
        reason: String,
    },
    /// Exports no role interface.
    #[error(
        "plugin {plugin:?}: not a faultline plugin: it exports none of faultline:plugin/{{classifier,enricher,redactor,scorer}}@0.1.0 (its exports: {exports})"
    )]
    NoRole {
        /// Plugin name.
        plugin: String,
        /// What it exports.
        exports: String,
    },
    /// Exports a role of an unsupported version.
    #[error(
        "plugin {plugin:?}: built against {found}, which this host does not support; supported versions of {PACKAGE}: {supported}"
    )]
    UnsupportedVersion {
        /// Plugin name.
        plugin: String,
        /// The export found.
        found: String,
        /// Supported versions.
        supported: String,
    },
    /// Exports more than one role.
    #[error("plugin {plugin:?}: exports several roles ({roles}); a plugin has exactly one")]
    SeveralRoles {
        /// Plugin name.
        plugin: String,
        /// Roles found.
        roles: String,
    },
    /// The config expects another role.
    #[error(
        "plugin {plugin:?}: the component is a {actual}, but the config declares it as a {expected}"
    )]
    WrongRole {
        /// Plugin name.
        plugin: String,
        /// Declared role.
        expected: Role,
        /// Role the component exports.
        actual: Role,
    },
    /// Imports something the host does not grant.
    #[error(
        "plugin {plugin:?}: imports {import}, which faultline does not grant ({why}); plugins may import only faultline:plugin/host and {allowed}. A component that merely links wasi:filesystem or wasi:sockets (as Python and JavaScript components do) can be let in with `allow_imports = [\"wasi:filesystem\", \"wasi:sockets\"]` under its [plugins.NAME]: it still gets no directory and no network"
    )]
    ForbiddenImport {
        /// Plugin name.
        plugin: String,
        /// The import.
        import: String,
        /// Why it is refused.
        why: &'static str,
        /// What is allowed for this plugin.
        allowed: &'static str,
    },
    /// Imports and exports do not type-check against the host.
    #[error("plugin {plugin:?}: does not link against this host: {reason}")]
    Link {
        /// Plugin name.
        plugin: String,
        /// Linker message.
        reason: String,
    },
    /// Instantiating or calling `metadata` failed.
    #[error("plugin {plugin:?}: {reason}")]
    Metadata {
        /// Plugin name.
        plugin: String,
        /// What failed.
        reason: String,
    },
}

/// Pre-resolved export indices of the role interface.
#[derive(Clone)]
pub(crate) enum RoleIndices {
    Classifier(classifier::GuestIndices),
    Enricher(enricher::GuestIndices),
    Redactor(redactor::GuestIndices),
    Scorer(scorer::GuestIndices),
}

/// A loaded, checked, pre-instantiated plugin.
pub struct Plugin {
    /// Name in the config.
    pub name: Arc<str>,
    /// Where it came from.
    pub source: Source,
    /// Role read from its exports.
    pub role: Role,
    /// Name, version and description it reports.
    pub metadata: PluginMetadata,
    /// `sha256:` + hex digest of the component bytes.
    pub digest: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// Its limits.
    pub limits: Limits,
    /// Whether it is trusted (untrusted plugins must run after enrichers and a redactor).
    pub trusted: bool,
    /// Import names of the component.
    pub imports: Vec<String>,
    /// Export names of the component.
    pub exports: Vec<String>,
    /// Whether the compiled code came from the cache.
    pub cached: bool,
    /// Whether the component carries the custom section
    /// [`ARGUMENT_BLOCK_SECTION`]: the host then places an event call's
    /// strings and lists in one allocation (see `runtime::lower`).
    pub argument_block: bool,
    pub(crate) pre: InstancePre<PluginState>,
    pub(crate) indices: RoleIndices,
    pub(crate) tables: Arc<Tables>,
    pub(crate) granted: Arc<[String]>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("metadata", &self.metadata)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// What a plugin declaration needs to be loaded.
pub struct PluginSpec<'a> {
    /// Name in the config.
    pub name: &'a str,
    /// Where the component comes from.
    pub source: Source,
    /// Pinned digest (hex, with or without `sha256:`).
    pub sha256: Option<&'a str>,
    /// The key a detached signature must verify with.
    pub signed_by: Option<crate::signing::PublicKey>,
    /// The signature file (default: the component's path plus `.sig`).
    pub signature: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
    /// Whether the plugin is trusted.
    pub trusted: bool,
    /// Tables it may read.
    pub granted: Vec<String>,
    /// WASI packages the operator lets the component import (`wasi:filesystem`,
    /// `wasi:sockets`); they are linked with nothing behind them.
    pub allow_imports: Vec<String>,
}

/// WASI packages an operator may let a plugin import. They are linked to a
/// context with no preopened directory and no network, so a plugin that merely
/// links them (as componentize-py's Python runtime does) loads, and any use fails.
pub const GRANTABLE_IMPORTS: &[&str] = &["wasi:filesystem", "wasi:sockets"];

/// Interfaces (by prefix, version excluded) any plugin may import.
const ALLOWED_ALWAYS: &[&str] = &[
    "faultline:plugin/host@",
    "faultline:plugin/types@",
    "wasi:clocks/monotonic-clock@",
    "wasi:clocks/wall-clock@",
    "wasi:random/random@",
    "wasi:random/insecure@",
    "wasi:random/insecure-seed@",
    "wasi:io/error@",
    "wasi:io/streams@",
    "wasi:io/poll@",
    "wasi:cli/stdout@",
    "wasi:cli/stderr@",
    "wasi:cli/exit@",
    "wasi:cli/terminal-input@",
    "wasi:cli/terminal-output@",
    "wasi:cli/terminal-stdin@",
    "wasi:cli/terminal-stdout@",
    "wasi:cli/terminal-stderr@",
    // Linked but empty for every plugin: no variables, no arguments, no input.
    // Rust's standard library imports them whether or not a plugin uses them.
    "wasi:cli/environment@",
    "wasi:cli/stdin@",
];

fn import_verdict(import: &str, allow_imports: &[String]) -> Result<(), &'static str> {
    if ALLOWED_ALWAYS.iter().any(|p| import.starts_with(p)) {
        return Ok(());
    }
    if allow_imports
        .iter()
        .any(|p| import.starts_with(&format!("{p}/")))
    {
        return Ok(());
    }
    Err(if import.starts_with("wasi:filesystem/") {
        "plugins get no file access"
    } else if import.starts_with("wasi:sockets/") || import.starts_with("wasi:http/") {
        "plugins get no network access"
    } else {
        "it is not a faultline or allowed WASI interface"
    })
}

/// The allowed interfaces, for error messages.
const ALLOWED_TEXT: &str = "wasi:{clocks,random,io,cli/stdout,cli/stderr,cli/exit,cli/terminal-*} and an empty wasi:cli/{environment,stdin}";

fn hex_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn engine_key(engine: &Engine) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Compiles `bytes`, or loads the compiled code from the cache.
fn compile(
    runtime: &Runtime,
    engine: &Engine,
    plugin: &str,
    source_desc: &str,
    bytes: &[u8],
    digest: &str,
) -> Result<(Component, bool), LoadError> {
    let cache_path = runtime
        .options()
        .cache_dir
        .as_ref()
        .map(|dir| dir.join(engine_key(engine)).join(format!("{digest}.cwasm")));
    if let Some(path) = &cache_path
        && path.exists()
    {
        // SAFETY: the cache holds only files this host wrote with `serialize`
        // for this exact engine configuration (the directory is keyed by it);
        // a file that fails to load is recompiled and overwritten.
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(c) => return Ok((c, true)),
            Err(e) => {
                tracing::warn!(plugin, path = %path.display(), "ignoring unusable cache entry: {e}")
            }
        }
    }
    let component = Component::new(engine, bytes).map_err(|e| LoadError::Compile {
        plugin: plugin.into(),
        source_desc: source_desc.into(),
        reason: format!("{e:#}"),
    })?;
    if let Some(path) = &cache_path {
        let written = component.serialize().and_then(|data| {
            let dir = path.parent().expect("cache path has a parent");
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(".{digest}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, data)?;
            std::fs::rename(&tmp, path)?;
            Ok(())
        });
        if let Err(e) = written {
            tracing::warn!(plugin, path = %path.display(), "cannot write the compiled-component cache: {e}");
        }
    }
    Ok((component, false))
}

fn read_source(name: &str, source: &Source) -> Result<Vec<u8>, LoadError> {
    match source {
        Source::Builtin(b) => crate::builtin::component(b)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| LoadError::UnknownBuiltin {
                plugin: name.into(),
                name: b.clone(),
                known: crate::builtin::NAMES.join(", "),
            }),
        Source::Path(p) => std::fs::read(p).map_err(|e| LoadError::Read {
            plugin: name.into(),
            path: p.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Finds the role interface among a component's export names.
fn role_of(plugin: &str, exports: &[String]) -> Result<Role, LoadError> {
    let mut roles = Vec::new();
    for export in exports {
        let Some(rest) = export.strip_prefix("faultline:plugin/") else {
            continue;
        };
        let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
        let Some(role) = Role::ALL.into_iter().find(|r| r.name() == iface) else {
            continue;
        };
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(LoadError::UnsupportedVersion {
                plugin: plugin.into(),
                found: format!(
                    "{PACKAGE}@{}",
                    if version.is_empty() {
                        "(unversioned)"
                    } else {
                        version
                    }
                ),
                supported: SUPPORTED_VERSIONS.join(", "),
            });
        }
        roles.push(role);
    }
    match roles.as_slice() {
        [role] => Ok(*role),
        [] => Err(LoadError::NoRole {
            plugin: plugin.into(),
            exports: if exports.is_empty() {
                "nothing".into()
            } else {
                exports.join(", ")
            },
        }),
        many => Err(LoadError::SeveralRoles {
            plugin: plugin.into(),
            roles: many.iter().map(|r| r.name()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Name of the custom section by which a component says its
/// `cabi_realloc` serves an event call's arguments from memory it never
/// frees piece by piece, once one of its exports has returned and until its
/// code runs in the next call; its content is `1`. The Rust SDK's call arena
/// emits it (`faultline_sdk::arena::ARGUMENT_BLOCK_SECTION`).
pub const ARGUMENT_BLOCK_SECTION: &str = "faultline:argument-block";

/// Whether `bytes` (a component that has compiled) carry the custom section
/// [`ARGUMENT_BLOCK_SECTION`], in any of its modules, with content `1`.
fn declares_argument_block(bytes: &[u8]) -> bool {
    use wasmtime::wasmparser::{Parser, Payload};
    Parser::new(0).parse_all(bytes).any(|payload| {
        matches!(payload, Ok(Payload::CustomSection(section))
            if section.name() == ARGUMENT_BLOCK_SECTION && section.data() == b"1")
    })
}

/// Checks that `bytes` start like a component rather than a core module.
fn check_component_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("no WebAssembly header".into());
    }
    if bytes[6..8] == [1, 0] {
        Ok(())
    } else {
        Err("this is a core module".into())
    }
}

impl Plugin {
    /// Loads and checks a plugin.
    pub fn load(
        runtime: &Runtime,
        spec: PluginSpec<'_>,
        tables: Arc<Tables>,
    ) -> Result<Plugin, LoadError> {
        let name = spec.name;
        let bytes = read_source(name, &spec.source)?;
        let source_desc = spec.source.to_string();
        let digest = hex_digest(&bytes);
        if let Some(expected) = spec.sha256 {
            let expected = expected.trim_start_matches("sha256:").to_ascii_lowercase();
            if expected != digest {
                return Err(LoadError::DigestMismatch {
                    plugin: name.into(),
                    source_desc,
                    expected,
                    actual: digest,
                });
            }
        }
        // A signed plugin is checked before any of its bytes are compiled; the
        // name and version it claims are compared with what it reports below.
        let signed = match &spec.signed_by {
            None => None,
            Some(key) => Some(check_signature(
                name,
                &spec,
                key,
                &format!("sha256:{digest}"),
            )?),
        };
        check_component_header(&bytes).map_err(|reason| LoadError::NotAComponent {
            plugin: name.into(),
            source_desc: source_desc.clone(),
            reason,
        })?;
        let sandbox = runtime.sandbox(super::Metering::of(&spec.limits))?;
        let engine = sandbox.engine();
        let (component, cached) = compile(runtime, engine, name, &source_desc, &bytes, &digest)?;
        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
        let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
        let role = role_of(name, &exports)?;
        let refused: Vec<(&String, &'static str)> = imports
            .iter()
            .filter_map(|i| {
                import_verdict(i, &spec.allow_imports)
                    .err()
                    .map(|why| (i, why))
            })
            .collect();
        if !refused.is_empty() {
            let file = refused
                .iter()
                .any(|(i, _)| i.starts_with("wasi:filesystem/"));
            let net = refused
                .iter()
                .any(|(i, _)| i.starts_with("wasi:sockets/") || i.starts_with("wasi:http/"));
            let why = match (file, net) {
                (true, true) => "plugins get no file or network access",
                (true, false) => "plugins get no file access",
                (false, true) => "plugins get no network access",
                _ => refused[0].1,
            };
            return Err(LoadError::ForbiddenImport {
                plugin: name.into(),
                import: refused
                    .iter()
                    .map(|(i, _)| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                why,
                allowed: ALLOWED_TEXT,
            });
        }
        let link = |e: wasmtime::Error| LoadError::Link {
            plugin: name.into(),
            reason: format!("{e:#}"),
        };
        let pre = sandbox.linker().instantiate_pre(&component).map_err(link)?;
        let indices = match role {
            Role::Classifier => {
                RoleIndices::Classifier(classifier::GuestIndices::new(&pre).map_err(link)?)
            }
            Role::Enricher => {
                RoleIndices::Enricher(enricher::GuestIndices::new(&pre).map_err(link)?)
            }
            Role::Redactor => {
                RoleIndices::Redactor(redactor::GuestIndices::new(&pre).map_err(link)?)
            }
            Role::Scorer => RoleIndices::Scorer(scorer::GuestIndices::new(&pre).map_err(link)?),
        };
        let mut plugin = Plugin {
            name: name.into(),
            source: spec.source,
            role,
            metadata: PluginMetadata {
                name: String::new(),
                version: String::new(),
                description: String::new(),
                reads: None,
            },
            digest: format!("sha256:{digest}"),
            size: bytes.len(),
            limits: spec.limits,
            trusted: spec.trusted,
            imports,
            exports,
            cached,
            argument_block: declares_argument_block(&bytes),
            pre,
            indices,
            tables,
            granted: spec.granted.into(),
        };
        plugin.metadata =
            super::instance::read_metadata(&plugin).map_err(|e| LoadError::Metadata {
                plugin: name.into(),
                reason: match e.to_string() {
                    // The exports are named right but typed differently: the
                    // plugin was built against another revision of the WIT.
                    m if m.contains("type mismatch") => format!(
                        "its exports are named as in faultline:plugin@{} but typed differently \
                         ({m}): it was built against another revision of the package (0.1.0 \
                         gained `reads` in plugin-metadata); rebuild it against this host's wit/",
                        SUPPORTED_VERSIONS.join(", ")
                    ),
                    m => format!("calling metadata failed: {m}"),
                },
            })?;
        if let Some(signed) = &signed
            && (signed.plugin.as_str(), signed.version.as_str())
                != (
                    plugin.metadata.name.as_str(),
                    plugin.metadata.version.as_str(),
                )
        {
            return Err(LoadError::Signature {
                plugin: name.into(),
                signer: signed.signer.clone(),
                reason: format!(
                    "the signature is for {} {}, but the component reports {} {}",
                    signed.plugin, signed.version, plugin.metadata.name, plugin.metadata.version
                ),
            });
        }
        Ok(plugin)
    }
}

impl<'a> PluginSpec<'a> {
    /// A trusted plugin with default limits, no pins, tables or grants.
    pub fn new(name: &'a str, source: Source) -> PluginSpec<'a> {
        PluginSpec {
            name,
            source,
            sha256: None,
            signed_by: None,
            signature: None,
            limits: Limits::default(),
            trusted: true,
            granted: Vec::new(),
            allow_imports: Vec::new(),
        }
    }
}

/// Reads the detached signature of a `signed_by` plugin and verifies it for
/// these bytes and the name and version it claims.
fn check_signature(
    name: &str,
    spec: &PluginSpec<'_>,
    key: &crate::signing::PublicKey,
    digest: &str,
) -> Result<crate::signing::SignatureFile, LoadError> {
    let refuse = |reason: String| LoadError::Signature {
        plugin: name.into(),
        signer: key.name.clone(),
        reason,
    };
    let path = match (&spec.signature, &spec.source) {
        (Some(p), _) => p.clone(),
        (None, Source::Path(p)) => crate::signing::signature_path(p),
        (None, Source::Builtin(b)) => {
            return Err(refuse(format!("builtin {b:?} carries no signature")));
        }
    };
    let signature = crate::signing::read_signature(&path).map_err(|e| {
        refuse(format!(
            "{e}; the vendor signs it with `faultline plugin sign --key KEY.key {}`",
            spec.source
        ))
    })?;
    crate::signing::verify(
        &signature,
        key,
        digest,
        &signature.plugin,
        &signature.version,
    )
    .map_err(|e| refuse(e.to_string()))?;
    Ok(signature)
}

/// Loads a component file on its own (no config) for `faultline plugin inspect`.
pub fn inspect(runtime: &Runtime, path: &Path) -> Result<Plugin, LoadError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("plugin");
    let spec = PluginSpec {
        allow_imports: GRANTABLE_IMPORTS.iter().map(|s| s.to_string()).collect(),
        ..PluginSpec::new(name, Source::Path(path.to_path_buf()))
    };
    Plugin::load(runtime, spec, Arc::new(Tables::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_checked_by_interface() {
        assert!(import_verdict("wasi:clocks/wall-clock@0.2.3", &[]).is_ok());
        assert!(import_verdict("faultline:plugin/host@0.1.0", &[]).is_ok());
        assert!(import_verdict("wasi:cli/environment@0.2.3", &[]).is_ok());
        assert_eq!(
            import_verdict("wasi:filesystem/preopens@0.2.3", &[]),
            Err("plugins get no file access")
        );
        assert_eq!(
            import_verdict("wasi:sockets/tcp@0.2.0", &[]),
            Err("plugins get no network access")
        );
        let granted = ["wasi:filesystem".to_string()];
        assert!(import_verdict("wasi:filesystem/types@0.2.9", &granted).is_ok());
        assert!(import_verdict("wasi:filesystem-extra/x@1", &granted).is_err());
    }

    #[test]
    fn roles_and_versions_come_from_exports() {
        let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            role_of("p", &e(&["faultline:plugin/redactor@0.1.0"])).unwrap(),
            Role::Redactor
        );
        let err = role_of("p", &e(&["faultline:plugin/scorer@0.2.0"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("faultline:plugin@0.2.0") && err.contains("0.1.0"),
            "{err}"
        );
        let err = role_of("p", &e(&["wasi:cli/run@0.2.0"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a faultline plugin") && err.contains("wasi:cli/run@0.2.0"),
            "{err}"
        );
        assert!(
            role_of(
                "p",
                &e(&[
                    "faultline:plugin/scorer@0.1.0",
                    "faultline:plugin/redactor@0.1.0"
                ])
            )
            .is_err()
        );
    }
}
