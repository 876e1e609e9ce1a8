//! __NAME__: scores events by their level.

use std::collections::BTreeMap;

use exports::faultline::plugin::scorer::Guest;
use faultline::plugin::types::{Classification, Event, Factor, Impact, ImpactLevel, Level};

/// The stage config.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Points per level (debug, info, warning, error, fatal), overriding the defaults.
    points: BTreeMap<String, u8>,
}

fn default_points(level: &str) -> u8 {
    match level {
        "fatal" => 90,
        "error" => 60,
        "warning" => 30,
        "info" => 10,
        _ => 0,
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

    fn score(event: Event, _classification: Option<Classification>) -> Result<Impact, PluginError> {
        config(|c| {
            let level = match event.level {
                Level::Debug => "debug",
                Level::Info => "info",
                Level::Warning => "warning",
                Level::Error => "error",
                Level::Fatal => "fatal",
            };
            let score = c
                .points
                .get(level)
                .copied()
                .unwrap_or_else(|| default_points(level))
                .min(100);
            Impact {
                score,
                level: match score {
                    80.. => ImpactLevel::Critical,
                    60.. => ImpactLevel::High,
                    40.. => ImpactLevel::Medium,
                    20.. => ImpactLevel::Low,
                    _ => ImpactLevel::Negligible,
                },
                revenue_at_risk: None,
                users_affected: None,
                factors: vec![Factor {
                    name: "level".into(),
                    weight: 1.0,
                    value: f64::from(score) / 100.0,
                    contribution: f64::from(score),
                    detail: format!("level {level}"),
                }],
            }
        })
    }
}
