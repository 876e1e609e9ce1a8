//! A classifier that returns `none` at once: what remains is the cost of the call.

use faultline_sdk::{Classification, Classifier, Event, PluginError};

/// The empty classifier.
pub struct Noop;

impl Classifier for Noop {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "does nothing";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Noop)
    }

    fn classify(&mut self, _event: &Event) -> Result<Option<Classification>, PluginError> {
        Ok(None)
    }
}

faultline_sdk::export_classifier!(Noop);
