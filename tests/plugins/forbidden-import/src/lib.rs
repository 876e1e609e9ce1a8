//! A classifier that reads a file, so its component imports `wasi:filesystem`;
//! the host must refuse to load it.

use faultline_sdk::{Classification, Classifier, Event, PluginError};

/// The snooping classifier.
pub struct Snoop;

impl Classifier for Snoop {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "tries to read the host's files";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Snoop)
    }

    fn classify(&mut self, _event: &Event) -> Result<Option<Classification>, PluginError> {
        let secrets = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Err(PluginError::Internal(format!(
            "read {} bytes",
            secrets.len()
        )))
    }
}

faultline_sdk::export_classifier!(Snoop);
