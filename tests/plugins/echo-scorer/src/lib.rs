//! A scorer that returns the event and the classification it was shown, as
//! their `Debug` text, in its one factor's detail: two ways of passing them
//! to a plugin can be compared by what the plugin saw.

use faultline_sdk::{Classification, Event, Factor, Impact, ImpactLevel, PluginError, Scorer};

/// The echo.
pub struct EchoScorer;

impl Scorer for EchoScorer {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "returns the event and classification it was shown";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(EchoScorer)
    }

    fn score(
        &mut self,
        event: &Event,
        classification: Option<&Classification>,
    ) -> Result<Impact, PluginError> {
        Ok(Impact {
            score: 0,
            level: ImpactLevel::Low,
            revenue_at_risk: None,
            users_affected: None,
            factors: vec![Factor {
                name: "echo".into(),
                weight: 0.0,
                value: 0.0,
                contribution: 0.0,
                detail: format!("{event:?} {classification:?}"),
            }],
        })
    }
}

faultline_sdk::export_scorer!(EchoScorer);
