//! Applies a plugin's output to an event the way the host does, for native
//! tests and benchmarks of plugins: edits replace or remove string values,
//! enrichment adds tags and attributes the event does not already have.
//! The host additionally refuses edits of read-only fields and records
//! provenance; these helpers only skip what they cannot find.

use crate::{Enrichment, Event, Redaction, Value};

fn set(slot: &mut Option<String>, action: &Redaction) {
    if slot.is_some() {
        *slot = match action {
            Redaction::Replace(s) => Some(s.clone()),
            Redaction::Remove => None,
        };
    }
}

fn edit_pairs(pairs: &mut Vec<(String, String)>, key: &str, action: &Redaction) {
    match action {
        Redaction::Replace(s) => pairs
            .iter_mut()
            .filter(|(k, _)| k == key)
            .for_each(|(_, v)| *v = s.clone()),
        Redaction::Remove => pairs.retain(|(k, _)| k != key),
    }
}

fn edit_attribute(attrs: &mut Vec<crate::Attribute>, key: &str, action: &Redaction) {
    if let Some(i) = attrs
        .iter()
        .position(|a| a.key == key && matches!(a.value, Value::Text(_)))
    {
        match action {
            Redaction::Replace(s) => attrs[i].value = Value::Text(s.clone()),
            Redaction::Remove => {
                attrs.remove(i);
            }
        }
    }
}

/// Applies one edit; returns whether its path named a string value.
pub fn apply_edit(event: &mut Event, path: &str, action: &Redaction) -> bool {
    let top = match path {
        "message" => Some(&mut event.message),
        "logger" => Some(&mut event.logger),
        "release" => Some(&mut event.release),
        "environment" => Some(&mut event.environment),
        "server_name" => Some(&mut event.server_name),
        "transaction" => Some(&mut event.transaction),
        _ => None,
    };
    if let Some(slot) = top {
        set(slot, action);
        return true;
    }
    if let Some(rest) = path.strip_prefix("exception.values.") {
        let Some((i, rest)) = rest.split_once('.') else {
            return false;
        };
        let Some(exc) = i
            .parse::<usize>()
            .ok()
            .and_then(|i| event.exceptions.get_mut(i))
        else {
            return false;
        };
        match rest {
            "type" => {
                exc.type_ = if let Redaction::Replace(s) = action {
                    s.clone()
                } else {
                    String::new()
                }
            }
            "value" => set(&mut exc.value, action),
            "module" => set(&mut exc.module, action),
            _ => {
                let Some(rest) = rest.strip_prefix("stacktrace.frames.") else {
                    return false;
                };
                let Some((j, field)) = rest.split_once('.') else {
                    return false;
                };
                let Some(frame) = j.parse::<usize>().ok().and_then(|j| exc.frames.get_mut(j))
                else {
                    return false;
                };
                match field {
                    "function" => set(&mut frame.function, action),
                    "module" => set(&mut frame.module, action),
                    "filename" => set(&mut frame.filename, action),
                    "abs_path" => set(&mut frame.abs_path, action),
                    _ => match field.strip_prefix("vars.") {
                        Some(key) => edit_attribute(&mut frame.vars, key, action),
                        None => return false,
                    },
                }
            }
        }
        return true;
    }
    if let Some(key) = path.strip_prefix("tags.") {
        edit_pairs(&mut event.tags, key, action);
        return true;
    }
    if let (Some(field), Some(user)) = (path.strip_prefix("user."), event.user.as_mut()) {
        match field {
            "id" => set(&mut user.id, action),
            "email" => set(&mut user.email, action),
            "username" => set(&mut user.username, action),
            "ip_address" => set(&mut user.ip_address, action),
            _ => return false,
        }
        return true;
    }
    if let (Some(field), Some(req)) = (path.strip_prefix("request."), event.request.as_mut()) {
        match field {
            "method" => set(&mut req.method, action),
            "url" => set(&mut req.url, action),
            "query_string" => set(&mut req.query_string, action),
            "cookies" => set(&mut req.cookies, action),
            _ => match field.strip_prefix("headers.") {
                Some(name) => edit_pairs(&mut req.headers, name, action),
                None => return false,
            },
        }
        return true;
    }
    edit_attribute(&mut event.attributes, path, action);
    true
}

/// Adds an enricher's tags and attributes that the event does not have yet.
pub fn apply_enrichment(event: &mut Event, enrichment: Enrichment) {
    for (key, value) in enrichment.tags {
        if !event.tags.iter().any(|(k, _)| *k == key) {
            event.tags.push((key, value));
        }
    }
    for attr in enrichment.attributes {
        if !event.attributes.iter().any(|a| a.key == attr.key) {
            event.attributes.push(attr);
        }
    }
}
