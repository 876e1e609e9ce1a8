//! An enricher whose enrichment is made from the event it was shown: its
//! tags in reverse order and its attributes (every kind of value) under
//! `extra.mirror.`. A message `error:config|event|internal:...` returns
//! that plugin error. Two ways of lifting results can be compared by what
//! they read.

use faultline_sdk::{Attribute, Enricher, Enrichment, Event, PluginError};
use mirror_common::asked_error;

/// The mirror.
pub struct Mirror;

impl Enricher for Mirror {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "returns an enrichment made from the event";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Mirror)
    }

    fn enrich(&mut self, event: &Event) -> Result<Enrichment, PluginError> {
        if let Some(e) = asked_error(event.message.as_deref()) {
            return Err(e);
        }
        Ok(Enrichment {
            tags: event.tags.iter().rev().cloned().collect(),
            attributes: event
                .attributes
                .iter()
                .map(|a| Attribute {
                    key: format!("extra.mirror.{}", a.key),
                    value: a.value.clone(),
                })
                .collect(),
        })
    }
}

faultline_sdk::export_enricher!(Mirror);
