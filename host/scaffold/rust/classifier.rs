//! __NAME__: classifies events whose message or exception mentions a word.

use exports::faultline::plugin::classifier::Guest;
use faultline::plugin::types::{Classification, Event, Severity};

/// The stage config.
#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// The code events that match get.
    code: String,
    /// Its category path.
    category: Vec<String>,
    /// Matched, ignoring case, against the message and exception types and values.
    r#match: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            code: "APP.TIMEOUT".into(),
            category: vec!["app".into(), "timeout".into()],
            r#match: "timeout".into(),
        }
    }
}

__COMMON__

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        metadata()
    }

    fn configure(config: String) -> Result<(), PluginError> {
        configure(config)
    }

    fn classify(event: Event) -> Result<Option<Classification>, PluginError> {
        config(|c| {
            let word = c.r#match.to_lowercase();
            let mut texts = event.message.iter().chain(event.exceptions.iter().flat_map(|e| {
                std::iter::once(&e.type_).chain(e.value.iter())
            }));
            texts.any(|t| t.to_lowercase().contains(&word)).then(|| Classification {
                code: c.code.clone(),
                category: c.category.clone(),
                taxonomy: "__NAME__/1".into(),
                severity: Severity::Medium,
                confidence: 0.8,
                fingerprint: None,
            })
        })
    }
}
