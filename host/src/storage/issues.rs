//! Grouping events into issues: the fingerprint (the classifier's hint, else
//! exception type and in-app frames, else the message with numbers and ids
//! stripped) and the aggregates an issue keeps.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::indexing::{Node, Sample};

/// An issue: the events that share a fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issue {
    /// Stable id: derived from project and fingerprint.
    pub id: String,
    /// Project.
    pub project: String,
    /// The grouping fingerprint.
    pub fingerprint: Vec<String>,
    /// `Type: value` of the first event, or its message.
    pub title: String,
    /// Where it happened: the transaction or the innermost in-app frame.
    pub culprit: String,
    /// Seconds since the epoch of the first event.
    pub first_seen: f64,
    /// Seconds since the epoch of the latest event.
    pub last_seen: f64,
    /// Number of events.
    pub count: u64,
    /// Distinct users seen.
    pub users: u64,
    /// Latest classification (`code`, `category`, `severity`), if any.
    pub classification: Option<Json>,
    /// Highest impact score seen.
    pub max_impact: u8,
    /// Sum of impact scores.
    pub sum_impact: u64,
    /// `unresolved`, `resolved`, `ignored` or `regressed`.
    pub status: String,
}

/// The event's time in seconds since the epoch (0 without a readable one).
pub fn timestamp(doc: &impl Node) -> f64 {
    doc.str_at(&["timestamp"])
        .and_then(crate::event::parse_time)
        .unwrap_or(0.0)
}

/// The event's time in microseconds, for the time index.
pub fn timestamp_micros(doc: &impl Node) -> u64 {
    micros(timestamp(doc))
}

/// A time in seconds as whole microseconds (0 before the epoch).
pub fn micros(seconds: f64) -> u64 {
    (seconds * 1e6).max(0.0) as u64
}

/// Who the event's user is, for counting distinct users.
pub fn user_key(doc: &impl Node) -> Option<String> {
    let user = doc.get("user")?;
    ["id", "username", "ip_address", "email"]
        .iter()
        .find_map(|k| user.str_at(&[*k]).map(|v| format!("{k}:{v}")))
}

/// A frame as `module:function` (or `filename`, `?` for what is missing).
fn frame_name<N: Node>(frame: &N, separator: &str) -> String {
    format!(
        "{}{separator}{}",
        frame
            .str_at(&["module"])
            .or(frame.str_at(&["filename"]))
            .unwrap_or("?"),
        frame.str_at(&["function"]).unwrap_or("?")
    )
}

/// The last exception of the event, if any.
fn last_exception<N: Node>(doc: &N) -> Option<&N> {
    doc.at(&["exception", "values"])
        .and_then(N::items)
        .and_then(<[N]>::last)
}

fn default_fingerprint<N: Node>(doc: &N) -> Vec<String> {
    if let Some(exc) = last_exception(doc) {
        let mut parts = vec![exc.str_at(&["type"]).unwrap_or("Error").to_string()];
        if let Some(frames) = exc.at(&["stacktrace", "frames"]).and_then(N::items) {
            parts.extend(
                frames
                    .iter()
                    .filter(|f| f.at(&["in_app"]).and_then(N::bool) == Some(true))
                    .map(|f| frame_name(f, ":")),
            );
        }
        return parts;
    }
    let message = doc.str_at(&["message"]).unwrap_or("");
    vec![strip_variables(message)]
}

/// Replaces numbers, hex ids and UUIDs in a message with placeholders.
pub fn strip_variables(message: &str) -> String {
    message
        .split(' ')
        .map(|word| {
            let core = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            let hexish =
                core.len() >= 8 && core.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
            if !core.is_empty() && (hexish || core.bytes().any(|b| b.is_ascii_digit())) {
                word.replace(core, "<var>")
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The fingerprint of a stored document and the id of its issue.
pub fn fingerprint_of<N: Node>(project: &str, doc: &N) -> (Vec<String>, String) {
    let texts = |parts: &[N]| -> Vec<String> {
        parts
            .iter()
            .map(|p| p.str().unwrap_or_default().to_string())
            .collect()
    };
    let fingerprint: Vec<String> = match doc
        .at(&["classification", "fingerprint"])
        .and_then(N::items)
    {
        Some(parts) if !parts.is_empty() => texts(parts),
        _ => match doc.get("fingerprint").and_then(N::items) {
            Some(parts)
                if !parts.is_empty() && parts.iter().all(|p| p.str() != Some("{{ default }}")) =>
            {
                texts(parts)
            }
            _ => default_fingerprint(doc),
        },
    };
    let mut hasher = Sha256::new();
    hasher.update(project.as_bytes());
    for part in &fingerprint {
        hasher.update([0x1f]);
        hasher.update(part.as_bytes());
    }
    (fingerprint, hex::encode(&hasher.finalize()[..8]))
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl Issue {
    /// A new issue for its first event, which happened at `time` (counts are
    /// added by [`Issue::record`]).
    pub fn new<N: Node>(
        id: &str,
        project: &str,
        fingerprint: Vec<String>,
        time: f64,
        doc: &N,
    ) -> Issue {
        let exc = last_exception(doc);
        let title = match exc {
            Some(e) => match e.str_at(&["value"]) {
                Some(v) => format!("{}: {v}", e.str_at(&["type"]).unwrap_or("Error")),
                None => e.str_at(&["type"]).unwrap_or("Error").to_string(),
            },
            None => doc
                .str_at(&["message"])
                .unwrap_or("(no message)")
                .to_string(),
        };
        let culprit = doc
            .str_at(&["transaction"])
            .map(str::to_string)
            .unwrap_or_else(|| {
                exc.and_then(|e| e.at(&["stacktrace", "frames"]).and_then(N::items))
                    .and_then(|f| {
                        f.iter()
                            .rev()
                            .find(|f| f.at(&["in_app"]).and_then(N::bool) == Some(true))
                            .or(f.last())
                    })
                    .map(|f| frame_name(f, " in "))
                    .unwrap_or_default()
            });
        Issue {
            id: id.to_string(),
            project: project.to_string(),
            fingerprint,
            title: truncate(&title, 200),
            culprit: truncate(&culprit, 200),
            first_seen: time,
            last_seen: time,
            count: 0,
            users: 0,
            classification: None,
            max_impact: 0,
            sum_impact: 0,
            status: "unresolved".into(),
        }
    }

    /// Adds one event to the aggregates.
    pub fn record(&mut self, sample: &Sample, new_user: bool) {
        let ts = sample.time;
        self.first_seen = self.first_seen.min(ts);
        self.last_seen = self.last_seen.max(ts);
        self.count += 1;
        self.users += u64::from(new_user);
        if let Some(c) = &sample.classification {
            self.classification = Some(c.clone());
        }
        if let Some(score) = sample.score {
            self.max_impact = self.max_impact.max(score.min(100) as u8);
            self.sum_impact += score;
        }
        if self.status == "resolved" {
            self.status = "regressed".into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprints_prefer_the_classifier_then_frames_then_message() {
        let classified = json!({"classification": {"fingerprint": ["A", "B"]}, "message": "x"});
        assert_eq!(fingerprint_of("p", &classified).0, vec!["A", "B"]);
        let exc = json!({"exception": {"values": [{"type": "KeyError", "stacktrace": {"frames": [
            {"module": "lib", "function": "get", "in_app": false}, {"module": "app", "function": "view", "in_app": true}]}}]}});
        assert_eq!(fingerprint_of("p", &exc).0, vec!["KeyError", "app:view"]);
        let a = json!({"message": "order 1234 failed for 9f86d081884c7d65"});
        let b = json!({"message": "order 99 failed for 0a1b2c3d4e5f6071"});
        assert_eq!(fingerprint_of("p", &a), fingerprint_of("p", &b));
        assert_ne!(
            fingerprint_of("p", &a).1,
            fingerprint_of("q", &a).1,
            "issues are per project"
        );
    }

    #[test]
    fn aggregates_and_regressions() {
        let doc = json!({"timestamp": "2026-01-01T00:00:00Z", "message": "m", "impact": {"score": 40}, "user": {"id": "u1"}});
        let mut issue = Issue::new("i", "p", vec!["m".into()], timestamp(&doc), &doc);
        issue.record(&Sample::of(&doc), true);
        let later =
            json!({"timestamp": "2026-01-02T00:00:00Z", "message": "m", "impact": {"score": 70}});
        issue.record(&Sample::of(&later), false);
        assert_eq!(
            (issue.count, issue.users, issue.max_impact, issue.sum_impact),
            (2, 1, 70, 110)
        );
        assert_eq!(issue.last_seen - issue.first_seen, 86_400.0);
        issue.status = "resolved".into();
        issue.record(&Sample::of(&later), false);
        assert_eq!(issue.status, "regressed");
    }
}
