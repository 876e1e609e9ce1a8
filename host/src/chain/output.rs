//! The JSON a processed event is written as: the event in Sentry's field
//! names plus top-level `classification`, `impact` and `provenance`.

use serde_json::{Map, Value as Json, json};

use super::{Processed, StageRecord};
use crate::runtime::bindings::faultline::plugin::types::{
    Classification, Impact, ImpactLevel, Severity,
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

/// A classification as JSON.
pub fn classification_json(c: &Classification) -> Json {
    json!({
        "code": c.code,
        "category": c.category,
        "taxonomy": c.taxonomy,
        "severity": severity_name(c.severity),
        "confidence": (f64::from(c.confidence) * 1000.0).round() / 1000.0,
        "fingerprint": c.fingerprint,
    })
}

/// An impact as JSON.
pub fn impact_json(i: &Impact) -> Json {
    json!({
        "score": i.score,
        "level": impact_level_name(i.level),
        "revenue_at_risk": i.revenue_at_risk.as_ref().map(|m| json!({"minor_units": m.minor_units, "currency": m.currency})),
        "users_affected": i.users_affected,
        "factors": i.factors.iter().map(|f| json!({
            "name": f.name,
            "weight": f.weight,
            "value": (f.value * 1000.0).round() / 1000.0,
            "contribution": (f.contribution * 100.0).round() / 100.0,
            "detail": f.detail,
        })).collect::<Vec<_>>(),
    })
}

/// Provenance records as JSON.
pub fn provenance_json(records: &[StageRecord]) -> Json {
    Json::Array(
        records
            .iter()
            .map(|r| {
                let mut m = Map::with_capacity(10);
                m.insert("stage".into(), json!(r.stage));
                m.insert("plugin".into(), json!(&*r.plugin.name));
                m.insert("role".into(), json!(r.plugin.role.name()));
                m.insert("name".into(), json!(r.plugin.metadata.name));
                m.insert("version".into(), json!(r.plugin.metadata.version));
                m.insert("digest".into(), json!(r.plugin.digest));
                m.insert("outcome".into(), json!(r.outcome));
                m.insert("duration_us".into(), json!(r.duration_us));
                if !r.changed.is_empty() {
                    let key = if r.plugin.role == crate::runtime::Role::Redactor {
                        "changed"
                    } else {
                        "added"
                    };
                    m.insert(key.into(), json!(r.changed));
                }
                if let Some(e) = &r.error {
                    m.insert("error".into(), json!(e));
                }
                Json::Object(m)
            })
            .collect(),
    )
}

/// The whole output document of a processed event.
pub fn processed_json(p: &Processed) -> Json {
    let mut doc = crate::event::to_json(&p.event);
    if let Json::Object(map) = &mut doc {
        map.insert(
            "classification".into(),
            p.classification
                .as_ref()
                .map_or(Json::Null, classification_json),
        );
        map.insert(
            "impact".into(),
            p.impact.as_ref().map_or(Json::Null, impact_json),
        );
        map.insert("provenance".into(), provenance_json(&p.provenance));
    }
    doc
}
