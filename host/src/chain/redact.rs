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
    if let Some(top) = pick(
        path,
        &[
            "message",
            "logger",
            "release",
            "environment",
            "server_name",
            "transaction",
        ],
    ) {
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

fn set_opt(slot: &mut Option<String>, action: &Redaction, path: &str) -> Result<(), RefusedEdit> {
    if slot.is_none() {
        return Err(refuse(path, "no such value in the event"));
    }
    *slot = match action {
        Redaction::Replace(s) => Some(s.clone()),
        Redaction::Remove => None,
    };
    Ok(())
}

fn apply_one(event: &mut Event, edit: &Edit) -> Result<(), RefusedEdit> {
    let path = edit.path.as_str();
    let action = &edit.action;
    match resolve(event, path)? {
        Target::Top(name) => {
            let slot = match name {
                "message" => &mut event.message,
                "logger" => &mut event.logger,
                "release" => &mut event.release,
                "environment" => &mut event.environment,
                "server_name" => &mut event.server_name,
                _ => &mut event.transaction,
            };
            set_opt(slot, action, path)
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
                "value" => set_opt(&mut exc.value, action, path),
                _ => set_opt(&mut exc.module, action, path),
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
            set_opt(slot, action, path)
        }
        Target::FrameVar(i, j, key) => {
            let vars = &mut event.exceptions[i].frames[j].vars;
            let Some(pos) = vars.iter().position(|v| v.key == key) else {
                return Err(refuse(path, "no such variable in the frame"));
            };
            if !matches!(vars[pos].value, Value::Text(_)) {
                return Err(refuse(path, "not a string value"));
            }
            match action {
                Redaction::Replace(s) => vars[pos].value = Value::Text(s.clone()),
                Redaction::Remove => {
                    vars.remove(pos);
                }
            }
            Ok(())
        }
        Target::Tag(key) => edit_pairs(&mut event.tags, &key, action, path),
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
            set_opt(slot, action, path)
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
            set_opt(slot, action, path)
        }
        Target::Header(name) => {
            let req = event
                .request
                .as_mut()
                .ok_or_else(|| refuse(path, "the event has no request"))?;
            edit_pairs(&mut req.headers, &name, action, path)
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
) -> Result<(), RefusedEdit> {
    if !pairs.iter().any(|(k, _)| k == key) {
        return Err(refuse(path, "no such value in the event"));
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

/// Applies `edits` to `event` all or nothing; returns the changed paths in order.
pub fn apply(event: &mut Event, edits: &[Edit]) -> Result<Vec<String>, RefusedEdit> {
    if edits.is_empty() {
        return Ok(Vec::new());
    }
    let mut edited = event.clone();
    let mut changed = Vec::with_capacity(edits.len());
    for edit in edits {
        apply_one(&mut edited, edit)?;
        if !changed.contains(&edit.path) {
            changed.push(edit.path.clone());
        }
    }
    *event = edited;
    Ok(changed)
}
