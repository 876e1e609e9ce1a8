//! A redactor whose edits are made from the event it was shown: one per
//! attribute, replacing it with its value's `Debug` text or removing it, in
//! turn. A message `error:config|event|internal:...` returns that plugin
//! error. Two ways of lifting results can be compared by what they read.

use faultline_sdk::{Edit, Event, PluginError, Redaction, Redactor};
use mirror_common::asked_error;

/// The mirror.
pub struct Mirror;

impl Redactor for Mirror {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "returns edits made from the event";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Mirror)
    }

    fn redact(&mut self, event: &Event) -> Result<Vec<Edit>, PluginError> {
        if let Some(e) = asked_error(event.message.as_deref()) {
            return Err(e);
        }
        Ok(event
            .attributes
            .iter()
            .enumerate()
            .map(|(i, a)| Edit {
                path: a.key.clone(),
                action: if i % 2 == 0 {
                    Redaction::Replace(format!("{:?}", a.value))
                } else {
                    Redaction::Remove
                },
            })
            .collect())
    }
}

faultline_sdk::export_redactor!(Mirror);
