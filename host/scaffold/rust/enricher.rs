//! __NAME__: adds the configured tags to every event.

use std::collections::BTreeMap;

use exports::faultline::plugin::enricher::Guest;
use faultline::plugin::types::{Enrichment, Event};

/// The stage config.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Tags to add, name to value.
    tags: BTreeMap<String, String>,
}

__COMMON__

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        metadata()
    }

    fn configure(config: String) -> Result<(), PluginError> {
        configure(config)
    }

    fn enrich(_event: Event) -> Result<Enrichment, PluginError> {
        config(|c| Enrichment {
            tags: c.tags.clone().into_iter().collect(),
            attributes: Vec::new(),
        })
    }
}
