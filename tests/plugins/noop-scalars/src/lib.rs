//! A classifier that returns `none` at once and declares it reads no optional
//! part of the event: what remains is the cost of a call that lowers only the
//! scalar fields and the exceptions.

use faultline_sdk::{Classification, Classifier, Event, EventParts, PluginError};

/// The empty classifier that reads little.
pub struct NoopScalars;

impl Classifier for NoopScalars {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "does nothing, reads only scalar fields and exceptions";
    const READS: Option<EventParts> = Some(EventParts::empty());

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(NoopScalars)
    }

    fn classify(&mut self, _event: &Event) -> Result<Option<Classification>, PluginError> {
        Ok(None)
    }
}

faultline_sdk::export_classifier!(NoopScalars);
