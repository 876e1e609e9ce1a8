//! The Rust guest SDK for faultline plugins.
//!
//! A plugin implements one trait ([`Classifier`], [`Enricher`], [`Redactor`] or
//! [`Scorer`]) and calls the matching export macro; the SDK hides the generated
//! bindings, parses the stage config into the plugin's own type and keeps the
//! configured plugin between calls.
//!
//! ```ignore
//! use faultline_sdk::{Classifier, Classification, Event, PluginError};
//!
//! #[derive(Default, serde::Deserialize)]
//! struct Config { code: String }
//!
//! struct Always(Config);
//!
//! impl Classifier for Always {
//!     type Config = Config;
//!     const DESCRIPTION: &'static str = "classifies every event the same way";
//!     fn new(config: Config) -> Result<Self, PluginError> { Ok(Always(config)) }
//!     fn classify(&mut self, _event: &Event) -> Result<Option<Classification>, PluginError> {
//!         Ok(None)
//!     }
//! }
//!
//! faultline_sdk::export_classifier!(Always);
//! ```
//!
//! Plugin logic written against these types also compiles natively, so it can be
//! unit-tested and benchmarked without a Wasm runtime; [`MemoryTables`] stands in
//! for the host's tables there.

mod apply;
pub mod arena;
pub mod compare;
mod fields;
mod recent;
mod tables;

pub use apply::{apply_edit, apply_enrichment};
pub use fields::{FieldKind, StringField, visit_strings};
pub use recent::Recent;
pub use tables::{HostTables, MemoryTables, Remembered, Row, Tables};

/// Generated bindings, one module per plugin world. Plugin code should not need
/// them: the traits and macros of this crate wrap them.
#[doc(hidden)]
pub mod bindings {
    /// Bindings of the `classifier-plugin` world; also the home of the shared types.
    pub mod classifier {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "classifier-plugin",
            pub_export_macro: true,
            export_macro_name: "export_classifier_world",
            default_bindings_module: "faultline_sdk::bindings::classifier",
            generate_all,
        });
    }
    /// Bindings of the `enricher-plugin` world.
    pub mod enricher {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "enricher-plugin",
            pub_export_macro: true,
            export_macro_name: "export_enricher_world",
            default_bindings_module: "faultline_sdk::bindings::enricher",
            with: {
                "faultline:plugin/types@0.1.0": crate::bindings::classifier::faultline::plugin::types,
                "faultline:plugin/host@0.1.0": crate::bindings::classifier::faultline::plugin::host,
            },
        });
    }
    /// Bindings of the `redactor-plugin` world.
    pub mod redactor {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "redactor-plugin",
            pub_export_macro: true,
            export_macro_name: "export_redactor_world",
            default_bindings_module: "faultline_sdk::bindings::redactor",
            with: {
                "faultline:plugin/types@0.1.0": crate::bindings::classifier::faultline::plugin::types,
                "faultline:plugin/host@0.1.0": crate::bindings::classifier::faultline::plugin::host,
            },
        });
    }
    /// Bindings of the `scorer-plugin` world.
    pub mod scorer {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "scorer-plugin",
            pub_export_macro: true,
            export_macro_name: "export_scorer_world",
            default_bindings_module: "faultline_sdk::bindings::scorer",
            with: {
                "faultline:plugin/types@0.1.0": crate::bindings::classifier::faultline::plugin::types,
                "faultline:plugin/host@0.1.0": crate::bindings::classifier::faultline::plugin::host,
            },
        });
    }
}

pub use bindings::classifier::faultline::plugin::host::{LogLevel, LookupError};
pub use bindings::classifier::faultline::plugin::types::{
    Attribute, Classification, Edit, Enrichment, Event, EventParts, Exception, Factor, Frame,
    Impact, ImpactLevel, Level, Money, PluginError, PluginMetadata, Redaction, Request, Severity,
    User, Value,
};

/// A classifier: maps an event to an entry of a taxonomy.
pub trait Classifier: Sized + 'static {
    /// The stage config, deserialized from the `config` table of the stage.
    type Config: serde::de::DeserializeOwned + Default;
    /// One line describing the plugin, reported by `faultline plugin inspect`.
    const DESCRIPTION: &'static str;
    /// The parts of an event the plugin reads (`None`: all of them); the host
    /// passes the others empty. Declaring less keeps data the plugin does
    /// not need away from it and saves copying it in for every event.
    const READS: Option<EventParts> = None;
    /// Builds the plugin from its stage config.
    fn new(config: Self::Config) -> Result<Self, PluginError>;
    /// Classifies one event; `None` when no rule applies.
    fn classify(&mut self, event: &Event) -> Result<Option<Classification>, PluginError>;
}

/// An enricher: adds tags and attributes, never changes what the event says.
pub trait Enricher: Sized + 'static {
    /// The stage config, deserialized from the `config` table of the stage.
    type Config: serde::de::DeserializeOwned + Default;
    /// One line describing the plugin, reported by `faultline plugin inspect`.
    const DESCRIPTION: &'static str;
    /// The parts of an event the plugin reads (`None`: all of them); the host
    /// passes the others empty. Declaring less keeps data the plugin does
    /// not need away from it and saves copying it in for every event.
    const READS: Option<EventParts> = None;
    /// Builds the plugin from its stage config.
    fn new(config: Self::Config) -> Result<Self, PluginError>;
    /// Returns the tags and attributes to add to one event.
    fn enrich(&mut self, event: &Event) -> Result<Enrichment, PluginError>;
}

/// A redactor: returns edits of the event's string values.
pub trait Redactor: Sized + 'static {
    /// The stage config, deserialized from the `config` table of the stage.
    type Config: serde::de::DeserializeOwned + Default;
    /// One line describing the plugin, reported by `faultline plugin inspect`.
    const DESCRIPTION: &'static str;
    /// The parts of an event the plugin reads (`None`: all of them); the host
    /// passes the others empty. Declaring less keeps data the plugin does
    /// not need away from it and saves copying it in for every event.
    const READS: Option<EventParts> = None;
    /// Builds the plugin from its stage config.
    fn new(config: Self::Config) -> Result<Self, PluginError>;
    /// Returns the edits for one event; [`visit_strings`] walks every editable value.
    fn redact(&mut self, event: &Event) -> Result<Vec<Edit>, PluginError>;
}

/// A scorer: estimates the business impact of an event.
pub trait Scorer: Sized + 'static {
    /// The stage config, deserialized from the `config` table of the stage.
    type Config: serde::de::DeserializeOwned + Default;
    /// One line describing the plugin, reported by `faultline plugin inspect`.
    const DESCRIPTION: &'static str;
    /// The parts of an event the plugin reads (`None`: all of them); the host
    /// passes the others empty. Declaring less keeps data the plugin does
    /// not need away from it and saves copying it in for every event.
    const READS: Option<EventParts> = None;
    /// Builds the plugin from its stage config.
    fn new(config: Self::Config) -> Result<Self, PluginError>;
    /// Scores one event, given the classification of earlier stages.
    fn score(
        &mut self,
        event: &Event,
        classification: Option<&Classification>,
    ) -> Result<Impact, PluginError>;
}

/// Parses a stage config given as JSON text (`{}` or empty for none) into `T`,
/// reporting the offending key on failure.
pub fn parse_config<T: serde::de::DeserializeOwned + Default>(
    json: &str,
) -> Result<T, PluginError> {
    if json.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(json).map_err(|e| PluginError::InvalidConfig(e.to_string()))
}

/// Writes a line to the host's log (to stderr when not running under a host).
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::classifier::faultline::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Support for the export macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::arena::{call_ends, call_starts};
    pub use serde_json;
    use std::cell::RefCell;
    use std::thread::LocalKey;

    use crate::PluginError;

    /// Runs `f` on the configured plugin held in `slot`.
    pub fn with_plugin<P, R>(
        slot: &'static LocalKey<RefCell<Option<P>>>,
        f: impl FnOnce(&mut P) -> Result<R, PluginError>,
    ) -> Result<R, PluginError> {
        slot.with(|cell| match cell.borrow_mut().as_mut() {
            Some(plugin) => f(plugin),
            None => Err(PluginError::Internal(
                "called before configure succeeded".to_string(),
            )),
        })
    }
}

/// Defines the metadata and configure exports shared by every role.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_common {
    ($ty:ty, $trait:ident) => {
        fn metadata() -> $crate::PluginMetadata {
            let _ = $crate::__private::call_starts();
            let metadata = $crate::PluginMetadata {
                name: env!("CARGO_PKG_NAME").to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                description: <$ty as $crate::$trait>::DESCRIPTION.to_string(),
                reads: <$ty as $crate::$trait>::READS,
            };
            // SAFETY: no arguments.
            unsafe { $crate::__private::call_ends() };
            metadata
        }
        fn configure(config: String) -> Result<(), $crate::PluginError> {
            let _ = $crate::__private::call_starts();
            let configured = $crate::parse_config(&config)
                .and_then(<$ty as $crate::$trait>::new)
                .map(|plugin| __FAULTLINE_PLUGIN.with(|cell| *cell.borrow_mut() = Some(plugin)));
            drop(config);
            // SAFETY: the argument is dropped.
            unsafe { $crate::__private::call_ends() };
            configured
        }
    };
}

/// Defines a role's exports for a plugin type: the configured instance kept
/// in a thread local, the generated `Guest` trait, and the world's export macro.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_role {
    ($ty:ty, $world:ident, $trait:ident, $export_world:ident,
     fn $f:ident($($arg:ident: $argty:ty),*) -> $ret:ty => |$p:ident| $body:expr) => {
        #[cfg(target_arch = "wasm32")]
        mod __faultline_export {
            use super::*;
            thread_local! {
                static __FAULTLINE_PLUGIN: ::std::cell::RefCell<Option<$ty>> =
                    const { ::std::cell::RefCell::new(None) };
            }
            struct Export;
            impl $crate::bindings::$world::exports::faultline::plugin::$world::Guest for Export {
                $crate::__export_common!($ty, $trait);
                fn $f($($arg: $argty),*) -> $ret {
                    // The arguments come from the call arena (see `arena`):
                    // the plugin's own code allocates from the system, and
                    // the arena is reset once the call is over.
                    let in_arena = $crate::__private::call_starts();
                    let result = $crate::__private::with_plugin(&__FAULTLINE_PLUGIN, |$p| $body);
                    if in_arena {
                        // Plain data in the arena's memory, which the reset
                        // below lets go: freeing each string and list one by
                        // one would only find that out again.
                        $(::std::mem::forget($arg);)*
                    } else {
                        $(drop($arg);)*
                    }
                    // SAFETY: the arguments are dropped or forgotten.
                    unsafe { $crate::__private::call_ends() };
                    result
                }
            }
            $crate::bindings::$world::$export_world!(Export with_types_in $crate::bindings::$world);
        }
    };
}

/// Exports a [`Classifier`] implementation as the plugin's component exports.
#[macro_export]
macro_rules! export_classifier {
    ($ty:ty) => {
        $crate::__export_role!($ty, classifier, Classifier, export_classifier_world,
            fn classify(event: $crate::Event) -> Result<Option<$crate::Classification>, $crate::PluginError>
            => |p| <$ty as $crate::Classifier>::classify(p, &event));
    };
}

/// Exports an [`Enricher`] implementation as the plugin's component exports.
#[macro_export]
macro_rules! export_enricher {
    ($ty:ty) => {
        $crate::__export_role!($ty, enricher, Enricher, export_enricher_world,
            fn enrich(event: $crate::Event) -> Result<$crate::Enrichment, $crate::PluginError>
            => |p| <$ty as $crate::Enricher>::enrich(p, &event));
    };
}

/// Exports a [`Redactor`] implementation as the plugin's component exports.
#[macro_export]
macro_rules! export_redactor {
    ($ty:ty) => {
        $crate::__export_role!($ty, redactor, Redactor, export_redactor_world,
            fn redact(event: $crate::Event) -> Result<Vec<$crate::Edit>, $crate::PluginError>
            => |p| <$ty as $crate::Redactor>::redact(p, &event));
    };
}

/// Exports a [`Scorer`] implementation as the plugin's component exports.
#[macro_export]
macro_rules! export_scorer {
    ($ty:ty) => {
        $crate::__export_role!($ty, scorer, Scorer, export_scorer_world,
            fn score(event: $crate::Event, classification: Option<$crate::Classification>)
                -> Result<$crate::Impact, $crate::PluginError>
            => |p| <$ty as $crate::Scorer>::score(p, &event, classification.as_ref()));
    };
}

/// An event with the given id and nothing else set: level `error`, platform
/// `other`, no message. Handy for tests and for building events field by field.
pub fn new_event(event_id: &str) -> Event {
    Event {
        event_id: event_id.to_string(),
        timestamp: 0.0,
        level: Level::Error,
        platform: "other".to_string(),
        logger: None,
        message: None,
        exceptions: Vec::new(),
        tags: Vec::new(),
        user: None,
        request: None,
        release: None,
        environment: None,
        server_name: None,
        transaction: None,
        fingerprint: Vec::new(),
        attributes: Vec::new(),
    }
}

/// An exception with the given type and value and no frames.
pub fn new_exception(ty: &str, value: &str) -> Exception {
    Exception {
        type_: ty.to_string(),
        value: Some(value.to_string()),
        module: None,
        frames: Vec::new(),
    }
}

impl PluginError {
    /// The message, without the variant name.
    pub fn message(&self) -> &str {
        match self {
            PluginError::InvalidConfig(m)
            | PluginError::InvalidEvent(m)
            | PluginError::Internal(m) => m,
        }
    }
}
