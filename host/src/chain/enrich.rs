//! Applies an enricher's additions: new tags and attributes only. What the
//! event already says is never overwritten, and attribute keys may not name a
//! typed field of the event.

use crate::runtime::bindings::faultline::plugin::types::{Enrichment, Event};

/// Top-level keys an enricher's attributes may not start with.
const TYPED_FIELDS: &[&str] = &[
    "event_id",
    "timestamp",
    "level",
    "platform",
    "logger",
    "message",
    "logentry",
    "exception",
    "tags",
    "user",
    "request",
    "release",
    "environment",
    "server_name",
    "transaction",
    "fingerprint",
    "classification",
    "impact",
    "provenance",
];

/// Most path segments an enricher's attribute key may have: the output
/// document nests one object per segment, and documents are written and
/// read recursively.
pub const MAX_ATTRIBUTE_DEPTH: usize = 64;

/// An addition the host refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("enrichment refused: {0}")]
pub struct RefusedEnrichment(pub String);

/// Whether `key` lies below `parent`: `parent`, a dot, then more.
fn nested_in(key: &str, parent: &str) -> bool {
    key.len() > parent.len() && key.starts_with(parent) && key.as_bytes()[parent.len()] == b'.'
}

/// Adds the enrichment to `event`; returns the keys added (`tags.team`,
/// `contexts.service.tier`, ...). Keys the event already has are left alone.
pub fn apply(event: &mut Event, enrichment: Enrichment) -> Result<Vec<String>, RefusedEnrichment> {
    for (key, _) in &enrichment.tags {
        if key.is_empty() || key.len() > 200 {
            return Err(RefusedEnrichment(format!(
                "tag key {key:?} must be 1 to 200 bytes"
            )));
        }
    }
    for attr in &enrichment.attributes {
        let segments = crate::event::split_path(&attr.key);
        if segments.len() > MAX_ATTRIBUTE_DEPTH {
            let start: String = attr.key.chars().take(60).collect();
            let more = if start.len() < attr.key.len() {
                "…"
            } else {
                ""
            };
            return Err(RefusedEnrichment(format!(
                "attribute key {start:?}{more} is nested {} levels deep; at most {MAX_ATTRIBUTE_DEPTH}",
                segments.len()
            )));
        }
        let first = segments.into_iter().next().unwrap_or_default();
        if first.is_empty() {
            return Err(RefusedEnrichment(format!(
                "attribute key {:?} is empty or starts with a dot",
                attr.key
            )));
        }
        if TYPED_FIELDS.contains(&first.as_ref()) {
            return Err(RefusedEnrichment(format!(
                "attribute key {:?} names the typed field `{first}`; enrichers add context under `contexts.*` or `extra.*`",
                attr.key
            )));
        }
    }
    let mut added = Vec::new();
    for (key, value) in enrichment.tags {
        if !event.tags.iter().any(|(k, _)| *k == key) {
            added.push(["tags.", &key].concat());
            event.tags.push((key, value));
        }
    }
    for attr in enrichment.attributes {
        let clashes = event.attributes.iter().any(|a| {
            a.key == attr.key || nested_in(&a.key, &attr.key) || nested_in(&attr.key, &a.key)
        });
        if !clashes {
            added.push(attr.key.clone());
            event.attributes.push(attr);
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::faultline::plugin::types::{Attribute, Value};

    fn attribute(key: &str) -> Enrichment {
        Enrichment {
            tags: Vec::new(),
            attributes: vec![Attribute {
                key: key.into(),
                value: Value::Boolean(true),
            }],
        }
    }

    #[test]
    fn refused_additions_say_why() {
        let mut event = crate::event::from_json(&serde_json::json!({"message": "m"})).unwrap();
        let deep = vec!["x"; MAX_ATTRIBUTE_DEPTH + 1].join(".");
        for (key, why) in [
            ("", "is empty"),
            (".a", "starts with a dot"),
            ("message.x", "names the typed field `message`"),
            (deep.as_str(), "is nested 65 levels deep; at most 64"),
        ] {
            let err = apply(&mut event, attribute(key)).unwrap_err().to_string();
            assert!(err.contains(why), "{key:?}: {err}");
        }
        let deepest = vec!["x"; MAX_ATTRIBUTE_DEPTH].join(".");
        assert_eq!(
            apply(&mut event, attribute(&deepest)).unwrap(),
            vec![deepest]
        );
    }

    #[test]
    fn an_attribute_above_or_below_one_the_event_has_is_left_alone() {
        let mut event = crate::event::from_json(
            &serde_json::json!({"contexts": {"service": {"tier": "1"}}, "extra": {"a": 1}}),
        )
        .unwrap();
        for key in [
            "contexts.service",
            "contexts.service.tier",
            "contexts",
            "extra.a",
        ] {
            assert_eq!(
                apply(&mut event, attribute(key)).unwrap(),
                Vec::<String>::new(),
                "{key}"
            );
        }
        for key in [
            "contexts.services",
            "contexts.service.tier2",
            "extra.ab",
            "extra.b.c",
        ] {
            assert_eq!(
                apply(&mut event, attribute(key)).unwrap(),
                vec![key],
                "{key}"
            );
        }
        // What was just added counts too.
        assert!(apply(&mut event, attribute("extra.b")).unwrap().is_empty());
    }
}
