//! A classifier that declares it reads only frames and tags, and reports in
//! its classification's category what the host showed it, and whether the
//! event sits in the SDK's call arena (a string it allocates itself must not).

use faultline_sdk::arena::holds_argument;
use faultline_sdk::{Classification, Classifier, Event, EventParts, PluginError, Severity};

/// The probe.
pub struct Probe;

impl Classifier for Probe {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "reports which parts of the event it was shown";
    const READS: Option<EventParts> = Some(EventParts::FRAMES.union(EventParts::TAGS));

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Probe)
    }

    fn classify(&mut self, event: &Event) -> Result<Option<Classification>, PluginError> {
        let frames: usize = event.exceptions.iter().map(|e| e.frames.len()).sum();
        let vars: usize = event
            .exceptions
            .iter()
            .flat_map(|e| &e.frames)
            .map(|f| f.vars.len())
            .sum();
        let arena = |s: &str| holds_argument(s.as_ptr());
        let message = event.message.as_deref().unwrap_or_default();
        let seen = [
            format!("message={}", event.message.is_some()),
            format!("exceptions={}", event.exceptions.len()),
            format!("frames={frames}"),
            format!("vars={vars}"),
            format!("tags={}", event.tags.len()),
            format!("user={}", event.user.is_some()),
            format!("request={}", event.request.is_some()),
            format!("attributes={}", event.attributes.len()),
            format!("event_id_in_arena={}", arena(&event.event_id)),
            format!("message_in_arena={}", arena(message)),
            format!("own_in_arena={}", arena(&event.event_id.clone())),
        ];
        Ok(Some(Classification {
            code: "PROBE".into(),
            category: seen.to_vec(),
            taxonomy: "probe/1".into(),
            severity: Severity::Low,
            confidence: 1.0,
            fingerprint: None,
        }))
    }
}

faultline_sdk::export_classifier!(Probe);
