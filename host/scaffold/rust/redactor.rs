//! __NAME__: replaces configured words in the message and exception values.

use exports::faultline::plugin::redactor::Guest;
use faultline::plugin::types::{Edit, Event, Redaction};

/// The stage config.
#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Words replaced by `[redacted]`, case-sensitive.
    words: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            words: vec!["password".into()],
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

    fn redact(event: Event) -> Result<Vec<Edit>, PluginError> {
        config(|c| {
            let scrub = |path: String, text: &str| {
                let clean = c
                    .words
                    .iter()
                    .filter(|w| !w.is_empty())
                    .fold(text.to_string(), |t, w| t.replace(w.as_str(), "[redacted]"));
                (clean != text).then(|| Edit {
                    path,
                    action: Redaction::Replace(clean),
                })
            };
            let mut edits: Vec<Edit> = event
                .message
                .as_deref()
                .and_then(|m| scrub("message".into(), m))
                .into_iter()
                .collect();
            for (i, e) in event.exceptions.iter().enumerate() {
                if let Some(v) = &e.value {
                    edits.extend(scrub(format!("exception.values.{i}.value"), v));
                }
            }
            edits
        })
    }
}
