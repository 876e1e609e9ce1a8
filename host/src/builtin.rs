//! The first-party plugins embedded in the binary, and the built-in default
//! config that chains them.

/// Names a config can use as `builtin = "NAME"`.
pub const NAMES: &[&str] = &[
    "classifier-taxonomy",
    "enricher-context",
    "redactor-pii",
    "scorer-impact",
];

/// The component bytes of a builtin plugin.
pub fn component(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "classifier-taxonomy" => {
            include_bytes!(concat!(env!("OUT_DIR"), "/classifier_taxonomy.wasm"))
        }
        "enricher-context" => include_bytes!(concat!(env!("OUT_DIR"), "/enricher_context.wasm")),
        "redactor-pii" => include_bytes!(concat!(env!("OUT_DIR"), "/redactor_pii.wasm")),
        "scorer-impact" => include_bytes!(concat!(env!("OUT_DIR"), "/scorer_impact.wasm")),
        _ => return None,
    })
}

/// What runs when no `--config` is given: enrich → redact → classify → score.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");
