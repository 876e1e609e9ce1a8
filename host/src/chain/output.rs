//! The JSON a processed event is written as: the event in Sentry's field
//! names plus top-level `classification`, `impact` and `provenance`.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value as Json;

use super::{Processed, StageRecord};
use crate::event::{Document, Tail};
use crate::runtime::Role;
use crate::runtime::bindings::faultline::plugin::types::{
    Classification, Factor, Impact, ImpactLevel, Money, Severity,
};

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

fn impact_level_name(l: ImpactLevel) -> &'static str {
    match l {
        ImpactLevel::Negligible => "negligible",
        ImpactLevel::Low => "low",
        ImpactLevel::Medium => "medium",
        ImpactLevel::High => "high",
        ImpactLevel::Critical => "critical",
    }
}

/// A classification as written in the output.
struct ClassificationDoc<'a>(&'a Classification);

impl Serialize for ClassificationDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = s.serialize_map(Some(6))?;
        map.serialize_entry("code", &c.code)?;
        map.serialize_entry("category", &c.category)?;
        map.serialize_entry("taxonomy", &c.taxonomy)?;
        map.serialize_entry("severity", severity_name(c.severity))?;
        let confidence = (f64::from(c.confidence) * 1000.0).round() / 1000.0;
        map.serialize_entry("confidence", &confidence)?;
        map.serialize_entry("fingerprint", &c.fingerprint)?;
        map.end()
    }
}

struct MoneyDoc<'a>(&'a Money);

impl Serialize for MoneyDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("minor_units", &self.0.minor_units)?;
        map.serialize_entry("currency", &self.0.currency)?;
        map.end()
    }
}

struct FactorDoc<'a>(&'a Factor);

impl Serialize for FactorDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("name", &f.name)?;
        map.serialize_entry("weight", &f.weight)?;
        map.serialize_entry("value", &((f.value * 1000.0).round() / 1000.0))?;
        map.serialize_entry("contribution", &((f.contribution * 100.0).round() / 100.0))?;
        map.serialize_entry("detail", &f.detail)?;
        map.end()
    }
}

/// An impact as written in the output.
struct ImpactDoc<'a>(&'a Impact);

impl Serialize for ImpactDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("score", &i.score)?;
        map.serialize_entry("level", impact_level_name(i.level))?;
        map.serialize_entry("revenue_at_risk", &i.revenue_at_risk.as_ref().map(MoneyDoc))?;
        map.serialize_entry("users_affected", &i.users_affected)?;
        let factors: Vec<FactorDoc> = i.factors.iter().map(FactorDoc).collect();
        map.serialize_entry("factors", &factors)?;
        map.end()
    }
}

struct RecordDoc<'a>(&'a StageRecord);

impl Serialize for RecordDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("stage", &r.stage)?;
        let plugin = &r.plugin;
        map.serialize_entry("plugin", &plugin.name)?;
        map.serialize_entry("role", plugin.role.name())?;
        map.serialize_entry("name", &plugin.metadata.name)?;
        map.serialize_entry("version", &plugin.metadata.version)?;
        map.serialize_entry("digest", &plugin.digest)?;
        map.serialize_entry("outcome", r.outcome)?;
        map.serialize_entry("duration_us", &r.duration_us())?;
        if !r.changed.is_empty() {
            let key = if r.plugin.role == Role::Redactor {
                "changed"
            } else {
                "added"
            };
            map.serialize_entry(key, &r.changed)?;
        }
        if let Some(e) = &r.error {
            map.serialize_entry("error", e)?;
        }
        map.end()
    }
}

/// Provenance records as written in the output.
pub struct Provenance<'a>(pub &'a [StageRecord]);

impl Serialize for Provenance<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(RecordDoc))
    }
}

/// What the output adds after the event's own keys.
pub struct Results<'a> {
    processed: &'a Processed,
    project: Option<&'a str>,
}

const RESULT_KEYS: [&str; 4] = ["classification", "impact", "provenance", "project"];

impl Tail for Results<'_> {
    fn keys(&self) -> &[&'static str] {
        &RESULT_KEYS[..if self.project.is_some() { 4 } else { 3 }]
    }

    fn value<M: SerializeMap>(&self, index: usize, map: &mut M) -> Result<(), M::Error> {
        let p = self.processed;
        match index {
            0 => map.serialize_value(&p.classification.as_ref().map(ClassificationDoc)),
            1 => map.serialize_value(&p.impact.as_ref().map(ImpactDoc)),
            2 => map.serialize_value(&Provenance(&p.provenance)),
            _ => map.serialize_value(&self.project),
        }
    }
}

/// The output document of a processed event, ready to serialize: the event
/// in Sentry's field names, then `classification`, `impact`, `provenance`
/// and, when given, `project`.
pub fn document<'a>(p: &'a Processed, project: Option<&'a str>) -> Document<'a, Results<'a>> {
    Document::with_tail(
        &p.event,
        Results {
            processed: p,
            project,
        },
    )
}

/// The storage entry of a processed event sent to `project`: the output
/// [`document`] written once and stored as written.
pub fn stored(p: &Processed, project: &str) -> crate::storage::Entry {
    crate::storage::Entry::written(project.to_string(), &document(p, Some(project)))
        .expect("output documents serialize")
}

/// The output [`document`] as a JSON tree, for what reads it back.
pub fn processed_json(p: &Processed, project: Option<&str>) -> Json {
    serde_json::to_value(document(p, project)).expect("output documents serialize")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn classification_and_impact_are_written_in_their_documented_shape() {
        let c = Classification {
            code: "DB-001".into(),
            category: vec!["database".into(), "timeout".into()],
            taxonomy: "acme".into(),
            severity: Severity::High,
            confidence: 0.8,
            fingerprint: None,
        };
        let written = serde_json::to_value(ClassificationDoc(&c)).unwrap();
        let want = json!({"code": "DB-001", "category": ["database", "timeout"],
            "taxonomy": "acme", "severity": "high", "confidence": 0.8, "fingerprint": null});
        assert_eq!(written.to_string(), want.to_string());
        let i = Impact {
            score: 72,
            level: ImpactLevel::High,
            revenue_at_risk: Some(Money {
                minor_units: 125_000,
                currency: "EUR".into(),
            }),
            users_affected: None,
            factors: vec![Factor {
                name: "tier".into(),
                weight: 0.5,
                value: 0.12345,
                contribution: 6.17251,
                detail: "gold".into(),
            }],
        };
        let written = serde_json::to_value(ImpactDoc(&i)).unwrap();
        let want = json!({"score": 72, "level": "high",
            "revenue_at_risk": {"minor_units": 125_000, "currency": "EUR"},
            "users_affected": null,
            "factors": [{"name": "tier", "weight": 0.5, "value": 0.123,
                "contribution": 6.17, "detail": "gold"}]});
        assert_eq!(written.to_string(), want.to_string());
    }
}
