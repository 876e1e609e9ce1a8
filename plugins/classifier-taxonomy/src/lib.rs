//! Rule-based classifier: maps exception types, messages, modules, loggers and
//! HTTP statuses to stable hierarchical codes of a symptom or root-cause taxonomy.
//!
//! Rules are tried in order, operator rules from the stage config first, then
//! the built-in taxonomy (unless `builtin = false`); the first rule whose every
//! condition holds wins.

mod builtin;

use faultline_sdk::{
    Classification, Classifier, Event, EventParts, Level, PluginError, Recent, Severity, Value,
};
use regex::{RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

/// Which of a rule's two codes to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaxonomyKind {
    /// What users and operators observe (`availability`, `latency`, ...).
    #[default]
    Symptom,
    /// Why it happened (`infrastructure.database`, `code.defect`, ...).
    RootCause,
}

/// Stage config of the classifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `taxonomy = "symptom"` or `"root-cause"`.
    pub taxonomy: TaxonomyKind,
    /// `builtin = false` disables the built-in rules.
    pub builtin: bool,
    /// Operator rules, tried before the built-in ones.
    pub rules: Vec<RuleConfig>,
    /// `fallback = true` classifies events no rule matches as `UNCLASSIFIED`.
    pub fallback: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            taxonomy: TaxonomyKind::Symptom,
            builtin: true,
            rules: Vec::new(),
            fallback: true,
        }
    }
}

/// One rule as written in the stage config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Stable code, e.g. `"PAY.GATEWAY.DECLINED"`.
    pub code: String,
    /// Category path, e.g. `["dependency", "payments"]`.
    pub category: Vec<String>,
    /// Root-cause code; defaults to `code`.
    #[serde(default)]
    pub cause_code: Option<String>,
    /// Root-cause category path; defaults to `category`.
    #[serde(default)]
    pub cause_category: Option<Vec<String>>,
    /// `low`, `medium`, `high` or `critical`.
    #[serde(default = "default_severity")]
    pub severity: SeverityName,
    /// Confidence from 0.0 to 1.0.
    #[serde(default = "default_confidence")]
    pub confidence: f32,
    /// Conditions; all given ones must hold.
    #[serde(rename = "match")]
    pub conditions: MatchConfig,
}

fn default_severity() -> SeverityName {
    SeverityName::Medium
}

fn default_confidence() -> f32 {
    0.9
}

/// A severity as written in config.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum SeverityName {
    Low,
    Medium,
    High,
    Critical,
}

impl From<SeverityName> for Severity {
    fn from(s: SeverityName) -> Self {
        match s {
            SeverityName::Low => Severity::Low,
            SeverityName::Medium => Severity::Medium,
            SeverityName::High => Severity::High,
            SeverityName::Critical => Severity::Critical,
        }
    }
}

/// Conditions of a rule; regexes are case-insensitive.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchConfig {
    /// Regex on any exception's type.
    pub exception_type: Option<String>,
    /// Regex on the message or any exception's value.
    pub message: Option<String>,
    /// Regex on any exception's module or frame module.
    pub module: Option<String>,
    /// Regex on the logger name.
    pub logger: Option<String>,
    /// HTTP status range, inclusive: `[500, 599]`.
    pub http_status: Option<[u16; 2]>,
}

struct Rule {
    symptom: (String, Vec<String>),
    cause: (String, Vec<String>),
    severity: Severity,
    confidence: f32,
    /// Which text conditions the rule has, in [`Field`] order.
    conditions: [bool; FIELDS],
    http_status: Option<[u16; 2]>,
}

/// The text fields rules match on.
#[derive(Clone, Copy)]
enum Field {
    ExceptionType = 0,
    Message = 1,
    Module = 2,
    Logger = 3,
}

const FIELDS: usize = 4;
const FIELD_NAMES: [&str; FIELDS] = ["exception_type", "message", "module", "logger"];

/// Every rule's pattern for one field, matched in a single pass per string.
struct FieldSet {
    set: RegexSet,
    /// The rule each pattern of the set belongs to.
    rules: Vec<usize>,
    /// The patterns recently seen texts matched.
    seen: Recent<Box<[u32]>>,
}

impl FieldSet {
    /// The set of `patterns` (each with the index of its rule in `rules`)
    /// for the field named `field`.
    fn build(
        field: &str,
        patterns: Vec<(usize, String)>,
        rules: &[RuleConfig],
    ) -> Result<FieldSet, PluginError> {
        let set = RegexSetBuilder::new(patterns.iter().map(|(_, p)| p))
            .case_insensitive(true)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| {
                // Only now is each pattern compiled on its own, to name the
                // rule at fault: doing so for every pattern up front took two
                // thirds of the plugin's start.
                let culprit = patterns.iter().find_map(|(rule, p)| {
                    RegexBuilder::new(p)
                        .case_insensitive(true)
                        .build()
                        .err()
                        .map(|e| (&rules[*rule].code, e))
                });
                PluginError::InvalidConfig(match culprit {
                    Some((code, e)) => {
                        format!("rule {code:?}: match.{field} is not a valid regex: {e}")
                    }
                    None => format!("rules do not compile together: {e}"),
                })
            })?;
        Ok(FieldSet {
            set,
            rules: patterns.into_iter().map(|(rule, _)| rule).collect(),
            seen: Recent::new(SEEN_TEXT_MAX, SEEN_BYTES_MAX),
        })
    }

    /// Marks in `hits` every rule whose pattern matches one of `texts`.
    fn mark(&mut self, texts: &[&str], hits: &mut [bool]) {
        let rules = &self.rules;
        let mut mark = |patterns: &[u32]| {
            for &i in patterns {
                hits[rules[i as usize]] = true;
            }
        };
        for text in texts {
            if let Some(patterns) = self.seen.get(text) {
                mark(patterns);
                continue;
            }
            // Most texts match no rule, and telling that (one forward scan
            // that stops early) costs far less than collecting every
            // matching pattern.
            let patterns: Box<[u32]> = if self.set.is_match(text) {
                self.set.matches(text).iter().map(|i| i as u32).collect()
            } else {
                Box::default()
            };
            mark(&patterns);
            self.seen.insert(text, patterns);
        }
    }
}

/// Texts up to this long are remembered with the patterns they matched.
const SEEN_TEXT_MAX: usize = 256;
/// What remembered texts may take, roughly, per field.
const SEEN_BYTES_MAX: usize = 256 << 10;

impl Rule {
    fn from_config(rule: &RuleConfig) -> Result<Rule, PluginError> {
        let code = &rule.code;
        if code.is_empty() {
            return Err(PluginError::InvalidConfig(
                "a rule has an empty code".into(),
            ));
        }
        if !(0.0..=1.0).contains(&rule.confidence) {
            return Err(PluginError::InvalidConfig(format!(
                "rule {code:?}: confidence {} is outside 0.0..=1.0",
                rule.confidence
            )));
        }
        let m = &rule.conditions;
        let patterns = m.patterns();
        if patterns.iter().all(|p| p.is_none()) && m.http_status.is_none() {
            return Err(PluginError::InvalidConfig(format!(
                "rule {code:?} has no conditions; give at least one of match.exception_type, message, module, logger, http_status"
            )));
        }
        Ok(Rule {
            symptom: (code.clone(), rule.category.clone()),
            cause: (
                rule.cause_code.clone().unwrap_or_else(|| code.clone()),
                rule.cause_category
                    .clone()
                    .unwrap_or_else(|| rule.category.clone()),
            ),
            severity: rule.severity.into(),
            confidence: rule.confidence,
            conditions: patterns.map(|p| p.is_some()),
            http_status: m.http_status,
        })
    }
}

impl MatchConfig {
    fn patterns(&self) -> [&Option<String>; FIELDS] {
        [
            &self.exception_type,
            &self.message,
            &self.module,
            &self.logger,
        ]
    }
}

/// What the rules look at, gathered once per event.
struct Facts<'a> {
    exception_types: Vec<&'a str>,
    messages: Vec<&'a str>,
    modules: Vec<&'a str>,
    logger: Option<&'a str>,
    http_status: Option<u16>,
}

const STATUS_TAGS: [&str; 4] = ["http.status_code", "status_code", "http.status", "status"];
const STATUS_ATTRIBUTES: [&str; 2] = ["contexts.response.status_code", "extra.status_code"];

fn http_status(event: &Event) -> Option<u16> {
    let valid = |s: u16| (100..=599).contains(&s).then_some(s);
    for (key, value) in &event.tags {
        if STATUS_TAGS.contains(&key.as_str())
            && let Some(s) = value.trim().parse().ok().and_then(valid)
        {
            return Some(s);
        }
    }
    for attr in &event.attributes {
        if STATUS_ATTRIBUTES.contains(&attr.key.as_str()) {
            let status = match &attr.value {
                Value::Integer(i) => u16::try_from(*i).ok(),
                Value::Text(t) => t.trim().parse().ok(),
                _ => None,
            };
            if let Some(s) = status.and_then(valid) {
                return Some(s);
            }
        }
    }
    None
}

impl<'a> Facts<'a> {
    fn gather(event: &'a Event) -> Facts<'a> {
        // Sized once: growing them would call the allocator several times
        // per event.
        let exceptions = event.exceptions.len();
        let frames: usize = event.exceptions.iter().map(|e| e.frames.len()).sum();
        let mut facts = Facts {
            exception_types: Vec::with_capacity(exceptions),
            messages: Vec::with_capacity(1 + exceptions),
            modules: Vec::with_capacity(exceptions + frames),
            logger: event.logger.as_deref(),
            http_status: http_status(event),
        };
        if let Some(m) = &event.message {
            facts.messages.push(m);
        }
        for exc in &event.exceptions {
            facts.exception_types.push(&exc.type_);
            if let Some(v) = &exc.value {
                facts.messages.push(v);
            }
            if let Some(m) = &exc.module {
                facts.modules.push(m);
            }
            for frame in &exc.frames {
                if let Some(m) = &frame.module {
                    facts.modules.push(m);
                }
            }
        }
        facts
    }
}

/// The taxonomy classifier.
pub struct Taxonomy {
    kind: TaxonomyKind,
    rules: Vec<Rule>,
    sets: Vec<(Field, FieldSet)>,
    fallback: bool,
    /// Per rule and field: whether the field's condition held (reused buffer).
    hits: Vec<[bool; FIELDS]>,
    /// Per rule: whether one field's pattern matched (reused buffer).
    marks: Vec<bool>,
}

impl Taxonomy {
    fn taxonomy_name(&self) -> &'static str {
        match self.kind {
            TaxonomyKind::Symptom => "faultline-symptom/1",
            TaxonomyKind::RootCause => "faultline-root-cause/1",
        }
    }
}

/// Replaces digits, hex ids and UUIDs with placeholders so that messages that
/// differ only in ids group together.
pub fn normalize_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for word in message.split_inclusive(|c: char| c.is_whitespace()) {
        let trimmed = word.trim_end();
        let tail = &word[trimmed.len()..];
        let core = trimmed.trim_matches(|c: char| "\"'()[]{},;:.".contains(c));
        let has_digit = core.bytes().any(|b| b.is_ascii_digit());
        let hexish = core.len() >= 8 && core.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if !core.is_empty() && (hexish || has_digit) {
            let start = trimmed.find(core).unwrap_or(0);
            out.push_str(&trimmed[..start]);
            out.push_str(if hexish { "<id>" } else { "<n>" });
            out.push_str(&trimmed[start + core.len()..]);
        } else {
            out.push_str(trimmed);
        }
        out.push_str(tail);
    }
    out
}

/// A grouping fingerprint: the code, then the innermost exception type and its
/// innermost in-app frame, or else the normalised message.
fn fingerprint(code: &str, event: &Event) -> Vec<String> {
    let mut parts = vec![code.to_string()];
    if let Some(exc) = event.exceptions.last() {
        parts.push(exc.type_.clone());
        let frame = exc
            .frames
            .iter()
            .rev()
            .find(|f| f.in_app == Some(true))
            .or_else(|| exc.frames.last());
        if let Some(f) = frame {
            let location = f.module.as_deref().or(f.filename.as_deref()).unwrap_or("?");
            let function = f.function.as_deref().unwrap_or("?");
            parts.push([location, ":", function].concat());
        }
    } else if let Some(m) = &event.message {
        parts.push(normalize_message(m));
    }
    parts
}

fn bump(severity: Severity, level: Level) -> Severity {
    match (level, severity) {
        (Level::Fatal, _) => Severity::Critical,
        (Level::Debug | Level::Info, Severity::Critical) => Severity::High,
        (Level::Debug | Level::Info, Severity::High) => Severity::Medium,
        _ => severity,
    }
}

impl Classifier for Taxonomy {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "rule-based classifier with default symptom and root-cause taxonomies";
    /// Exception types, messages, frame modules and locations (for the
    /// fingerprint), logger, and the HTTP status from tags or attributes.
    const READS: Option<EventParts> = Some(
        EventParts::FRAMES
            .union(EventParts::TAGS)
            .union(EventParts::ATTRIBUTES),
    );

    fn new(config: Config) -> Result<Self, PluginError> {
        let mut configs = config.rules.clone();
        if config.builtin {
            configs.extend(builtin::rules());
        }
        let rules = configs
            .iter()
            .map(Rule::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        let fields = [
            Field::ExceptionType,
            Field::Message,
            Field::Module,
            Field::Logger,
        ];
        let mut sets = Vec::new();
        for field in fields {
            let patterns: Vec<(usize, String)> = configs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    r.conditions.patterns()[field as usize]
                        .clone()
                        .map(|p| (i, p))
                })
                .collect();
            if !patterns.is_empty() {
                let name = FIELD_NAMES[field as usize];
                sets.push((field, FieldSet::build(name, patterns, &configs)?));
            }
        }
        Ok(Taxonomy {
            kind: config.taxonomy,
            hits: vec![[false; FIELDS]; rules.len()],
            marks: vec![false; rules.len()],
            rules,
            sets,
            fallback: config.fallback,
        })
    }

    fn classify(&mut self, event: &Event) -> Result<Option<Classification>, PluginError> {
        let facts = Facts::gather(event);
        let mut hits = std::mem::take(&mut self.hits);
        let mut marks = std::mem::take(&mut self.marks);
        for (field, set) in &mut self.sets {
            let texts: &[&str] = match field {
                Field::ExceptionType => &facts.exception_types,
                Field::Message => &facts.messages,
                Field::Module => &facts.modules,
                Field::Logger => facts.logger.as_slice(),
            };
            marks.iter_mut().for_each(|m| *m = false);
            set.mark(texts, &mut marks);
            for (rule_hits, hit) in hits.iter_mut().zip(&marks) {
                rule_hits[*field as usize] = *hit;
            }
        }
        let found = self.rules.iter().zip(&hits).find(|(rule, hit)| {
            rule.conditions
                .iter()
                .zip(hit.iter())
                .all(|(needed, held)| !needed || *held)
                && rule.http_status.is_none_or(|[lo, hi]| {
                    facts.http_status.is_some_and(|s| (lo..=hi).contains(&s))
                })
        });
        let rule = found.map(|(rule, _)| {
            let (code, category) = match self.kind {
                TaxonomyKind::Symptom => &rule.symptom,
                TaxonomyKind::RootCause => &rule.cause,
            };
            (
                code.clone(),
                category.clone(),
                rule.severity,
                rule.confidence,
            )
        });
        self.hits = hits;
        self.marks = marks;
        let Some((code, category, severity, confidence)) = rule else {
            if !self.fallback {
                return Ok(None);
            }
            let code = "UNCLASSIFIED".to_string();
            return Ok(Some(Classification {
                fingerprint: Some(fingerprint(&code, event)),
                code,
                category: vec!["unclassified".into()],
                taxonomy: self.taxonomy_name().into(),
                severity: bump(Severity::Medium, event.level),
                confidence: 0.1,
            }));
        };
        Ok(Some(Classification {
            fingerprint: Some(fingerprint(&code, event)),
            code,
            category,
            taxonomy: self.taxonomy_name().into(),
            severity: bump(severity, event.level),
            confidence,
        }))
    }
}

faultline_sdk::export_classifier!(Taxonomy);

#[cfg(test)]
mod tests;
