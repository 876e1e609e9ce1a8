//! A scorer whose impact is made from the event and classification it was
//! shown: a factor per tag, revenue when the event has a release, users
//! when it has a user, score and level from the counts. A message
//! `error:config|event|internal:...` returns that plugin error. Two ways of
//! lifting results can be compared by what they read.

use faultline_sdk::{
    Classification, Event, Factor, Impact, ImpactLevel, Money, PluginError, Scorer,
};
use mirror_common::asked_error;

/// The mirror.
pub struct Mirror;

impl Scorer for Mirror {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "returns an impact made from the event";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Mirror)
    }

    fn score(
        &mut self,
        event: &Event,
        classification: Option<&Classification>,
    ) -> Result<Impact, PluginError> {
        if let Some(e) = asked_error(event.message.as_deref()) {
            return Err(e);
        }
        let n = event.tags.len() + event.attributes.len();
        Ok(Impact {
            score: (n * 37 % 256) as u8,
            level: [
                ImpactLevel::Negligible,
                ImpactLevel::Low,
                ImpactLevel::Medium,
                ImpactLevel::High,
                ImpactLevel::Critical,
            ][n % 5],
            revenue_at_risk: event.release.as_ref().map(|r| Money {
                minor_units: -(event.timestamp as i64) * n as i64,
                currency: r.clone(),
            }),
            users_affected: event.user.as_ref().map(|_| u64::MAX / (n as u64 + 1)),
            factors: event
                .tags
                .iter()
                .enumerate()
                .map(|(i, (k, v))| Factor {
                    name: k.clone(),
                    weight: event.timestamp / (i as f64 + 1.0),
                    value: -(i as f64),
                    contribution: f64::from(classification.map_or(0.5, |c| c.confidence)),
                    detail: v.clone(),
                })
                .collect(),
        })
    }
}

faultline_sdk::export_scorer!(Mirror);
