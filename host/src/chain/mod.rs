//! Chains: stages resolved against loaded plugins (checked for role rules and
//! the trust policy), and running one event through them with each stage's
//! failure policy, recording provenance as it goes.

pub mod enrich;
pub mod output;
pub mod redact;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{ChainDef, ConfigError, Location, OnError};
use crate::runtime::bindings::faultline::plugin::types::{Classification, Event, Impact};
use crate::runtime::{Instance, Plugin, Role, StageOutput};

/// What happened in one stage, for provenance.
#[derive(Debug, Clone)]
pub struct StageRecord {
    /// Position in the chain, from 0.
    pub stage: usize,
    /// The plugin (config name, role, reported name and version, digest).
    pub plugin: Arc<Plugin>,
    /// `ok`, `skipped`, `dropped` or `dead-lettered`.
    pub outcome: &'static str,
    /// Time spent in the stage.
    pub duration: Duration,
    /// For redactors, the paths changed; for enrichers, the keys added.
    pub changed: Vec<String>,
    /// The error, when the stage failed.
    pub error: Option<String>,
    /// Its kind (`trap`, `timeout`, `memory`, ...), when the stage failed.
    pub error_kind: Option<&'static str>,
}

impl StageRecord {
    /// Time spent in the stage in whole microseconds, as documents and
    /// metrics give it.
    pub fn duration_us(&self) -> u64 {
        u64::try_from(self.duration.as_micros()).unwrap_or(u64::MAX)
    }
}

/// An event the chain ran to the end.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The event after every stage.
    pub event: Event,
    /// The last classification a classifier returned.
    pub classification: Option<Classification>,
    /// The last impact a scorer returned.
    pub impact: Option<Impact>,
    /// One record per stage.
    pub provenance: Vec<StageRecord>,
}

/// A stage failure, with everything needed to act on it.
#[derive(Debug, Clone)]
pub struct StageFailure {
    /// Chain name.
    pub chain: String,
    /// Stage index.
    pub stage: usize,
    /// Plugin name.
    pub plugin: Arc<str>,
    /// Its role.
    pub role: Role,
    /// The event's id.
    pub event_id: String,
    /// What went wrong.
    pub error: String,
    /// Short error kind (`trap`, `timeout`, `memory`, ...).
    pub kind: &'static str,
}

impl std::fmt::Display for StageFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "plugin {:?} ({}, stage {} of chain {:?}) {} on event {}",
            self.plugin, self.role, self.stage, self.chain, self.error, self.event_id
        )
    }
}

/// Where an event ended up.
#[derive(Debug, Clone)]
pub enum Disposition {
    /// Ran through every stage (failed stages with `skip` included).
    Processed(Box<Processed>),
    /// A stage failed with `on_error = "drop"`.
    Dropped {
        /// The failure.
        failure: StageFailure,
        /// Provenance up to and including the failed stage.
        provenance: Vec<StageRecord>,
    },
    /// A stage failed with `on_error = "dead-letter"`.
    DeadLettered {
        /// The failure.
        failure: StageFailure,
        /// The event as it entered the chain.
        original: Box<Event>,
        /// Provenance up to and including the failed stage.
        provenance: Vec<StageRecord>,
    },
}

struct Stage {
    plugin: Arc<Plugin>,
    on_error: OnError,
    config_json: Arc<str>,
    instance: Option<Instance>,
}

/// A resolved chain with its own instances; cheap to [`Chain::fork`] per worker.
pub struct Chain {
    name: String,
    stages: Vec<Stage>,
    keep_original: bool,
}

fn invalid(location: &Location, key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        location: location.clone(),
        key: key.to_string(),
        message,
    }
}

impl Chain {
    /// Resolves a chain's stages against loaded plugins, checks role rules and
    /// the trust policy, and configures one instance per stage (so a bad stage
    /// config is reported now, with its location).
    pub fn build(
        name: &str,
        def: &ChainDef,
        plugins: &BTreeMap<String, Arc<Plugin>>,
    ) -> Result<Chain, ConfigError> {
        let mut stages = Vec::new();
        for (i, s) in def.stages.iter().enumerate() {
            let plugin = plugins
                .get(&s.plugin)
                .ok_or_else(|| {
                    invalid(
                        &s.location,
                        &format!("{}.plugin", s.key),
                        format!("unknown plugin {:?}", s.plugin),
                    )
                })?
                .clone();
            let on_error = match (plugin.role, s.on_error) {
                (Role::Redactor, Some(OnError::Skip)) => {
                    return Err(invalid(
                        s.on_error_location.as_ref().unwrap_or(&s.location),
                        &format!("{}.on_error", s.key),
                        format!(
                            "plugin {:?} is a redactor, and redactors fail closed: an event whose redaction failed must not pass on unredacted; use \"drop\" or \"dead-letter\"",
                            s.plugin
                        ),
                    ));
                }
                (_, Some(p)) => p,
                (Role::Redactor, None) => OnError::Drop,
                (_, None) => OnError::Skip,
            };
            if !plugin.trusted {
                let later_enricher = def.stages[i + 1..].iter().position(|t| {
                    plugins
                        .get(&t.plugin)
                        .is_some_and(|p| p.role == Role::Enricher)
                });
                let earlier_redactor = def.stages[..i].iter().any(|t| {
                    plugins
                        .get(&t.plugin)
                        .is_some_and(|p| p.role == Role::Redactor)
                });
                if let Some(j) = later_enricher {
                    return Err(invalid(
                        &s.location,
                        &s.key,
                        format!(
                            "plugin {:?} is untrusted and must run after every enricher, but enricher {:?} runs later (stage {})",
                            s.plugin,
                            def.stages[i + 1 + j].plugin,
                            i + 1 + j
                        ),
                    ));
                }
                if !earlier_redactor {
                    return Err(invalid(
                        &s.location,
                        &s.key,
                        format!(
                            "plugin {:?} is untrusted and must only see redacted events; put a redactor stage before it",
                            s.plugin
                        ),
                    ));
                }
            }
            let instance = Instance::new(plugin.clone(), &s.config_json).map_err(|e| {
                invalid(
                    &s.location,
                    &format!("{}.config", s.key),
                    format!("plugin {:?} ({}) {e}", s.plugin, plugin.role),
                )
            })?;
            stages.push(Stage {
                plugin,
                on_error,
                config_json: s.config_json.as_str().into(),
                instance: Some(instance),
            });
        }
        let keep_original = stages.iter().any(|s| s.on_error == OnError::DeadLetter);
        Ok(Chain {
            name: name.to_string(),
            stages,
            keep_original,
        })
    }

    /// A copy of the chain with its own instances, created on first use.
    pub fn fork(&self) -> Chain {
        Chain {
            name: self.name.clone(),
            stages: self
                .stages
                .iter()
                .map(|s| Stage {
                    plugin: s.plugin.clone(),
                    on_error: s.on_error,
                    config_json: s.config_json.clone(),
                    instance: None,
                })
                .collect(),
            keep_original: self.keep_original,
        }
    }

    /// The chain's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugins of the stages, in order.
    pub fn plugins(&self) -> impl Iterator<Item = (&Arc<Plugin>, OnError)> {
        self.stages.iter().map(|s| (&s.plugin, s.on_error))
    }

    /// The plugins of the stages with each stage's config (as JSON text).
    pub fn stage_configs(&self) -> impl Iterator<Item = (&Arc<Plugin>, &str)> {
        self.stages.iter().map(|s| (&s.plugin, &*s.config_json))
    }

    /// Runs one event through every stage.
    pub fn run(&mut self, event: Event) -> Disposition {
        let original = self.keep_original.then(|| event.clone());
        let mut event = event;
        let mut classification = None;
        let mut impact = None;
        let mut provenance = Vec::with_capacity(self.stages.len());
        let _event_span =
            tracing::debug_span!("event", chain = %self.name, event_id = %event.event_id).entered();
        for (i, stage) in self.stages.iter_mut().enumerate() {
            let _stage_span =
                tracing::debug_span!("stage", stage = i, plugin = %stage.plugin.name).entered();
            let start = Instant::now();
            let result = run_stage(stage, &mut event, &mut classification, &mut impact);
            let duration = start.elapsed();
            tracing::debug!(?duration, ok = result.is_ok(), "stage ran");
            let plugin = &stage.plugin;
            let mut record = StageRecord {
                stage: i,
                plugin: plugin.clone(),
                outcome: "ok",
                duration,
                changed: Vec::new(),
                error: None,
                error_kind: None,
            };
            match result {
                Ok(changed) => {
                    record.changed = changed;
                    provenance.push(record);
                }
                Err((message, kind)) => {
                    let failure = StageFailure {
                        chain: self.name.clone(),
                        stage: i,
                        plugin: plugin.name.clone(),
                        role: plugin.role,
                        event_id: event.event_id.clone(),
                        error: message.clone(),
                        kind,
                    };
                    tracing::warn!(chain = %self.name, stage = i, plugin = %plugin.name, event_id = %event.event_id, policy = stage.on_error.name(), "{failure}");
                    record.error = Some(message);
                    record.error_kind = Some(kind);
                    match stage.on_error {
                        OnError::Skip => {
                            record.outcome = "skipped";
                            provenance.push(record);
                        }
                        OnError::Drop => {
                            record.outcome = "dropped";
                            provenance.push(record);
                            return Disposition::Dropped {
                                failure,
                                provenance,
                            };
                        }
                        OnError::DeadLetter => {
                            record.outcome = "dead-lettered";
                            provenance.push(record);
                            return Disposition::DeadLettered {
                                failure,
                                original: Box::new(original.unwrap_or(event)),
                                provenance,
                            };
                        }
                    }
                }
            }
        }
        Disposition::Processed(Box::new(Processed {
            event,
            classification,
            impact,
            provenance,
        }))
    }
}

/// Runs one stage; on success returns the changed paths or added keys.
fn run_stage(
    stage: &mut Stage,
    event: &mut Event,
    classification: &mut Option<Classification>,
    impact: &mut Option<Impact>,
) -> Result<Vec<String>, (String, &'static str)> {
    let instance = match &mut stage.instance {
        Some(inst) if !inst.worn_out() => inst,
        slot => {
            let fresh = Instance::new(stage.plugin.clone(), &stage.config_json)
                .map_err(|e| (e.to_string(), e.kind()))?;
            slot.insert(fresh)
        }
    };
    let output = match instance.run(event, classification.as_ref()) {
        Ok(output) => output,
        Err(e) => {
            if e.poisons_instance() {
                stage.instance = None;
            }
            return Err((e.to_string(), e.kind()));
        }
    };
    match output {
        StageOutput::Classification(c) => {
            if let Some(c) = c {
                if !(0.0..=1.0).contains(&c.confidence) {
                    return Err((
                        format!("returned confidence {} outside 0.0..=1.0", c.confidence),
                        "invalid-output",
                    ));
                }
                *classification = Some(c);
            }
            Ok(Vec::new())
        }
        StageOutput::Enrichment(e) => {
            enrich::apply(event, e).map_err(|e| (e.to_string(), "invalid-output"))
        }
        StageOutput::Edits(edits) => {
            redact::apply(event, &edits).map_err(|e| (e.to_string(), "invalid-output"))
        }
        StageOutput::Impact(i) => {
            if i.score > 100 {
                return Err((
                    format!("returned score {} outside 0..=100", i.score),
                    "invalid-output",
                ));
            }
            *impact = Some(i);
            Ok(Vec::new())
        }
    }
}
