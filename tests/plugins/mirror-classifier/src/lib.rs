//! A classifier whose classification is made from the event it was shown,
//! so that random events give every shape of result: none without tags,
//! the tags' keys as the category, the fingerprint when there is one. A
//! message `error:config|event|internal:...` returns that plugin error, and
//! `invalid-utf8` a code that is not UTF-8. Two ways of lifting results can
//! be compared by what they read.

use faultline_sdk::{Classification, Classifier, Event, PluginError, Severity};
use mirror_common::asked_error;

/// The mirror.
pub struct Mirror;

impl Classifier for Mirror {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "returns a classification made from the event";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Mirror)
    }

    fn classify(&mut self, event: &Event) -> Result<Option<Classification>, PluginError> {
        let message = event.message.clone().unwrap_or_default();
        if let Some(e) = asked_error(Some(&message)) {
            return Err(e);
        }
        if event.tags.is_empty() {
            return Ok(None);
        }
        let code = if message == "invalid-utf8" {
            // SAFETY: not upheld on purpose: the host must refuse it.
            unsafe { String::from_utf8_unchecked(vec![b'a', 0xff, 0xfe]) }
        } else {
            message
        };
        Ok(Some(Classification {
            code,
            category: event.tags.iter().map(|(k, _)| k.clone()).collect(),
            taxonomy: event.platform.clone(),
            severity: [
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ][event.tags.len() % 4],
            confidence: event.timestamp as f32,
            fingerprint: (!event.fingerprint.is_empty()).then(|| event.fingerprint.clone()),
        }))
    }
}

faultline_sdk::export_classifier!(Mirror);
