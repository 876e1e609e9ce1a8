//! A classifier that returns the whole event it was shown, as its `Debug`
//! text, in its classification's category: two ways of passing an event to
//! a plugin can be compared by what the plugin saw.

use faultline_sdk::{Classification, Classifier, Event, PluginError, Severity};

/// The echo.
pub struct Echo;

impl Classifier for Echo {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "returns the event it was shown";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Echo)
    }

    fn classify(&mut self, event: &Event) -> Result<Option<Classification>, PluginError> {
        Ok(Some(Classification {
            code: "ECHO".into(),
            category: vec![format!("{event:?}")],
            taxonomy: "echo/1".into(),
            severity: Severity::Low,
            confidence: 1.0,
            fingerprint: None,
        }))
    }
}

faultline_sdk::export_classifier!(Echo);
