//! Applies a redactor's edits to an event, refusing anything but changes of
//! string values: ids, timestamps, levels, platform and fingerprint are
//! read-only, and structure changes only by removing a value.

use crate::runtime::bindings::faultline::plugin::types::{Edit, Event, Redaction, Value};

/// An edit the host refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("edit of `{path}` refused: {reason}")]
pub struct RefusedEdit {
    /// The path the redactor gave.
    pub path: String,
    /// Why it was refused.
    pub reason: String,
}

const READ_ONLY: &[&str] = &["event_id", "timestamp", "level", "platform", "fingerprint"];

/// The event's own optional strings, edited by their names.
const TOP_LEVEL: &[&str] = &[
    "message",
    "logger",
    "release",
    "environment",
    "server_name",
    "transaction",
];

enum Target {
    Top(&'static str),
    Exception(usize, &'static str),
    Frame(usize, usize, &'static str),
    FrameVar(usize, usize, String),
    Tag(String),
    User(&'static str),
    Request(&'static str),
    Header(String),
    Attribute(usize),
}

fn pick(name: &str, options: &[&'static str]) -> Option<&'static str> {
    options.iter().copied().find(|o| *o == name)
}

fn refuse(path: &str, reason: impl Into<String>) -> RefusedEdit {
    RefusedEdit {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn resolve(event: &Event, path: &str) -> Result<Target, RefusedEdit> {
    let first = path.split('.').next().unwrap_or(path);
    if READ_ONLY.contains(&first) {
        return Err(refuse(
            path,
            format!("`{first}` is read-only; a redactor may only change string values"),
        ));
    }
    if let Some(top) = pick(path, TOP_LEVEL) {
        return Ok(Target::Top(top));
    }
    if let Some(rest) = path.strip_prefix("exception.values.") {
        let (i, rest) = rest
            .split_once('.')
            .ok_or_else(|| refuse(path, "not a string value"))?;
        let i: usize = i
            .parse()
            .map_err(|_| refuse(path, "exception index is not a number"))?;
        let exc = event
            .exceptions
            .get(i)
            .ok_or_else(|| refuse(path, format!("there is no exception {i}")))?;
        if let Some(field) = pick(rest, &["type", "value", "module"]) {
            return Ok(Target::Exception(i, field));
        }
        if let Some(rest) = rest.strip_prefix("stacktrace.frames.") {
            let (j, rest) = rest
                .split_once('.')
                .ok_or_else(|| refuse(path, "not a string value"))?;
            let j: usize = j
                .parse()
                .map_err(|_| refuse(path, "frame index is not a number"))?;
            if j >= exc.frames.len() {
                return Err(refuse(path, format!("exception {i} has no frame {j}")));
            }
            if let Some(field) = pick(rest, &["function", "module", "filename", "abs_path"]) {
                return Ok(Target::Frame(i, j, field));
            }
            if let Some(key) = rest.strip_prefix("vars.") {
                return Ok(Target::FrameVar(i, j, key.to_string()));
            }
            if pick(rest, &["lineno", "colno", "in_app"]).is_some() {
                return Err(refuse(path, "not a string value"));
            }
        }
    }
    if let Some(key) = path.strip_prefix("tags.") {
        return Ok(Target::Tag(key.to_string()));
    }
    if let Some(field) = path
        .strip_prefix("user.")
        .and_then(|f| pick(f, &["id", "email", "username", "ip_address"]))
    {
        return Ok(Target::User(field));
    }
    if let Some(name) = path.strip_prefix("request.headers.") {
        return Ok(Target::Header(name.to_string()));
    }
    if let Some(field) = path
        .strip_prefix("request.")
        .and_then(|f| pick(f, &["method", "url", "query_string", "cookies"]))
    {
        return Ok(Target::Request(field));
    }
    match event.attributes.iter().position(|a| a.key == path) {
        Some(i) if matches!(event.attributes[i].value, Value::Text(_)) => Ok(Target::Attribute(i)),
        Some(_) => Err(refuse(path, "not a string value")),
        None => Err(refuse(path, "no such value in the event")),
    }
}

/// Whether an edit is made, or only checked.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Check,
    Make,
}

fn set_opt(
    slot: &mut Option<String>,
    action: &Redaction,
    path: &str,
    mode: Mode,
) -> Result<(), RefusedEdit> {
    if slot.is_none() {
        return Err(refuse(path, "no such value in the event"));
    }
    if mode == Mode::Check {
        return Ok(());
    }
    *slot = match action {
        Redaction::Replace(s) => Some(s.clone()),
        Redaction::Remove => None,
    };
    Ok(())
}

/// Makes (or with [`Mode::Check`] only checks) one edit; a refused edit
/// changes nothing.
fn apply_one(event: &mut Event, edit: &Edit, mode: Mode) -> Result<(), RefusedEdit> {
    let path = edit.path.as_str();
    let action = &edit.action;
    let target = resolve(event, path)?;
    if mode == Mode::Check && matches!(target, Target::Exception(_, "type") | Target::Attribute(_))
    {
        // Always there, and a string.
        return Ok(());
    }
    match target {
        Target::Top(name) => {
            let slot = match name {
                "message" => &mut event.message,
                "logger" => &mut event.logger,
                "release" => &mut event.release,
                "environment" => &mut event.environment,
                "server_name" => &mut event.server_name,
                _ => &mut event.transaction,
            };
            set_opt(slot, action, path, mode)
        }
        Target::Exception(i, field) => {
            let exc = &mut event.exceptions[i];
            match field {
                "type" => {
                    exc.type_ = match action {
                        Redaction::Replace(s) => s.clone(),
                        Redaction::Remove => String::new(),
                    };
                    Ok(())
                }
                "value" => set_opt(&mut exc.value, action, path, mode),
                _ => set_opt(&mut exc.module, action, path, mode),
            }
        }
        Target::Frame(i, j, field) => {
            let frame = &mut event.exceptions[i].frames[j];
            let slot = match field {
                "function" => &mut frame.function,
                "module" => &mut frame.module,
                "filename" => &mut frame.filename,
                _ => &mut frame.abs_path,
            };
            set_opt(slot, action, path, mode)
        }
        Target::FrameVar(i, j, key) => {
            let vars = &mut event.exceptions[i].frames[j].vars;
            let Some(pos) = vars.iter().position(|v| v.key == key) else {
                return Err(refuse(path, "no such variable in the frame"));
            };
            if !matches!(vars[pos].value, Value::Text(_)) {
                return Err(refuse(path, "not a string value"));
            }
            if mode == Mode::Check {
                return Ok(());
            }
            match action {
                Redaction::Replace(s) => vars[pos].value = Value::Text(s.clone()),
                Redaction::Remove => {
                    vars.remove(pos);
                }
            }
            Ok(())
        }
        Target::Tag(key) => edit_pairs(&mut event.tags, &key, action, path, mode),
        Target::User(field) => {
            let user = event
                .user
                .as_mut()
                .ok_or_else(|| refuse(path, "the event has no user"))?;
            let slot = match field {
                "id" => &mut user.id,
                "email" => &mut user.email,
                "username" => &mut user.username,
                _ => &mut user.ip_address,
            };
            set_opt(slot, action, path, mode)
        }
        Target::Request(field) => {
            let req = event
                .request
                .as_mut()
                .ok_or_else(|| refuse(path, "the event has no request"))?;
            let slot = match field {
                "method" => &mut req.method,
                "url" => &mut req.url,
                "query_string" => &mut req.query_string,
                _ => &mut req.cookies,
            };
            set_opt(slot, action, path, mode)
        }
        Target::Header(name) => {
            let req = event
                .request
                .as_mut()
                .ok_or_else(|| refuse(path, "the event has no request"))?;
            edit_pairs(&mut req.headers, &name, action, path, mode)
        }
        Target::Attribute(i) => {
            match action {
                Redaction::Replace(s) => event.attributes[i].value = Value::Text(s.clone()),
                Redaction::Remove => {
                    event.attributes.remove(i);
                }
            }
            Ok(())
        }
    }
}

fn edit_pairs(
    pairs: &mut Vec<(String, String)>,
    key: &str,
    action: &Redaction,
    path: &str,
    mode: Mode,
) -> Result<(), RefusedEdit> {
    if !pairs.iter().any(|(k, _)| k == key) {
        return Err(refuse(path, "no such value in the event"));
    }
    if mode == Mode::Check {
        return Ok(());
    }
    match action {
        Redaction::Replace(s) => pairs
            .iter_mut()
            .filter(|(k, _)| k == key)
            .for_each(|(_, v)| *v = s.clone()),
        Redaction::Remove => pairs.retain(|(k, _)| k != key),
    }
    Ok(())
}

/// Applies `edits` to `event` all or nothing, in order; returns the changed
/// paths in order.
///
/// When every path is edited once (what redactors do), no edit can change
/// whether another applies or where: each finds its value by its own path,
/// and edits neither add nor remove exceptions, frames, the user or the
/// request. Checking every edit against the event as it is then decides
/// all or nothing, and the edits are made in place. A path edited twice
/// (the second edit sees the first) is applied to a copy, kept only if every
/// edit applies.
pub fn apply(event: &mut Event, edits: &[Edit]) -> Result<Vec<String>, RefusedEdit> {
    let mut changed: Vec<String> = Vec::with_capacity(edits.len());
    for edit in edits {
        if !changed.contains(&edit.path) {
            changed.push(edit.path.clone());
        }
    }
    if changed.len() == edits.len() {
        for edit in edits {
            apply_one(event, edit, Mode::Check)?;
        }
        for edit in edits {
            apply_one(event, edit, Mode::Make)?;
        }
    } else {
        let mut edited = event.clone();
        for edit in edits {
            apply_one(&mut edited, edit, Mode::Make)?;
        }
        *event = edited;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::document_tests::{Rng, event};

    /// The edits made one after another on a copy, kept only if all apply.
    fn one_by_one(event: &Event, edits: &[Edit]) -> (Event, Result<(), RefusedEdit>) {
        let mut edited = event.clone();
        for edit in edits {
            if let Err(e) = apply_one(&mut edited, edit, Mode::Make) {
                return (event.clone(), Err(e));
            }
        }
        (edited, Ok(()))
    }

    /// Every path an edit could name in `e`, and some it cannot.
    fn paths(e: &Event) -> Vec<String> {
        let mut paths: Vec<String> = TOP_LEVEL.iter().map(|p| p.to_string()).collect();
        paths.extend(
            [
                "user.id",
                "user.email",
                "user.username",
                "user.ip_address",
                "request.method",
                "request.url",
                "request.query_string",
                "request.cookies",
                "event_id",
                "fingerprint",
                "exception.values.7.value",
                "exception.values.0.stacktrace.frames.5.function",
                "exception.values.0.stacktrace.frames.0.lineno",
                "nowhere",
            ]
            .map(String::from),
        );
        for (i, x) in e.exceptions.iter().enumerate() {
            for field in ["type", "value", "module"] {
                paths.push(format!("exception.values.{i}.{field}"));
            }
            for (j, frame) in x.frames.iter().enumerate() {
                let at = format!("exception.values.{i}.stacktrace.frames.{j}");
                for field in ["function", "module", "filename", "abs_path"] {
                    paths.push(format!("{at}.{field}"));
                }
                for var in &frame.vars {
                    paths.push(format!("{at}.vars.{}", var.key));
                }
            }
        }
        paths.extend(e.tags.iter().map(|(k, _)| format!("tags.{k}")));
        if let Some(r) = &e.request {
            paths.extend(
                r.headers
                    .iter()
                    .map(|(k, _)| format!("request.headers.{k}")),
            );
        }
        paths.extend(e.attributes.iter().map(|a| a.key.clone()));
        paths
    }

    #[test]
    fn edits_apply_in_place_as_one_by_one_on_a_copy() {
        let mut rng = Rng(0x5851_f42d_4c95_7f2d);
        let (mut applied, mut refused, mut repeated) = (0, 0, 0);
        for case in 0..20_000 {
            let e = event(&mut rng);
            let paths = paths(&e);
            let edits: Vec<Edit> = (0..rng.below(7))
                .map(|n| Edit {
                    path: paths[rng.below(paths.len())].clone(),
                    action: if rng.chance(30) {
                        Redaction::Remove
                    } else {
                        Redaction::Replace(format!("[{n}]"))
                    },
                })
                .collect();
            let (want, outcome) = one_by_one(&e, &edits);
            let mut got = e.clone();
            let result = apply(&mut got, &edits);
            assert_eq!(
                result.as_ref().map(|_| ()),
                outcome.as_ref().map(|_| ()),
                "case {case}: {edits:?} on {e:?}"
            );
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "case {case}: {edits:?}"
            );
            match result {
                Ok(changed) => {
                    applied += 1;
                    repeated += usize::from(changed.len() < edits.len());
                }
                Err(_) => refused += 1,
            }
        }
        // Each way through is taken often.
        assert!(
            applied > 2_000 && refused > 2_000 && repeated > 100,
            "{applied} {refused} {repeated}"
        );
    }
}
