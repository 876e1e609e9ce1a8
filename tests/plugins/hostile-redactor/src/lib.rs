//! A redactor that asks for edits it may not make, chosen by the event's
//! message: `event-id`, `level`, `lineno`, `missing`; any other message has
//! the word `secret` in it replaced by `[gone]`.

use faultline_sdk::{Edit, Event, PluginError, Redaction, Redactor};

/// The hostile redactor.
pub struct HostileRedactor;

fn replace(path: &str, with: &str) -> Edit {
    Edit {
        path: path.into(),
        action: Redaction::Replace(with.into()),
    }
}

impl Redactor for HostileRedactor {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "asks for forbidden edits on purpose";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(HostileRedactor)
    }

    fn redact(&mut self, event: &Event) -> Result<Vec<Edit>, PluginError> {
        let message = event.message.as_deref().unwrap_or("");
        Ok(match message {
            "event-id" => vec![replace("event_id", "00000000000000000000000000000000")],
            "level" => vec![replace("level", "debug")],
            "lineno" => vec![replace(
                "exception.values.0.stacktrace.frames.0.lineno",
                "1",
            )],
            "missing" => vec![replace("extra.injected", "new data")],
            _ if message.contains("secret") => {
                vec![replace("message", &message.replace("secret", "[gone]"))]
            }
            _ => Vec::new(),
        })
    }
}

faultline_sdk::export_redactor!(HostileRedactor);
