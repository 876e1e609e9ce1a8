//! Walks every string value of an event a redactor may edit, with the field's
//! name and, built only on demand, its edit path.

use crate::{Attribute, Event, Value};

/// Which part of the event a string value sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `message`, `logger`, `release`, `environment`, `server_name`, `transaction`.
    Top,
    /// An exception's type, value or module.
    Exception,
    /// A stack frame's function, module, filename or abs_path.
    Frame,
    /// A local variable of a stack frame.
    FrameVar,
    /// A tag value.
    Tag,
    /// A field of the user.
    User,
    /// The request's method, URL, query string or cookies.
    Request,
    /// A request header value.
    Header,
    /// A flattened attribute of text value.
    Attribute,
}

#[derive(Debug, Clone, Copy)]
enum Loc<'a> {
    Top(&'static str),
    Exception(usize, &'static str),
    Frame(usize, usize, &'static str),
    FrameVar(usize, usize, &'a str),
    Tag(&'a str),
    User(&'static str),
    Request(&'static str),
    Header(&'a str),
    Attribute(&'a str),
}

/// One editable string value of an event.
#[derive(Debug, Clone, Copy)]
pub struct StringField<'a> {
    /// The value.
    pub value: &'a str,
    /// The field's own name: a header name, tag key, variable name, the last
    /// segment of an attribute key, or the typed field's name (`email`, `url`, ...).
    /// Sensitive-key rules match on it.
    pub key: &'a str,
    /// Which part of the event the value sits in.
    pub kind: FieldKind,
    loc: Loc<'a>,
}

impl StringField<'_> {
    /// The path that names this value in an [`crate::Edit`]. Built by
    /// appending, not `format!`, whose machinery is dear in a component.
    pub fn path(&self) -> String {
        let mut path = String::new();
        let (prefix, name) = match self.loc {
            Loc::Top(name) => ("", name),
            Loc::Exception(i, name) => {
                push_indexed(&mut path, "exception.values.", i);
                ("", name)
            }
            Loc::Frame(i, j, name) => {
                push_indexed(&mut path, "exception.values.", i);
                push_indexed(&mut path, "stacktrace.frames.", j);
                ("", name)
            }
            Loc::FrameVar(i, j, key) => {
                push_indexed(&mut path, "exception.values.", i);
                push_indexed(&mut path, "stacktrace.frames.", j);
                ("vars.", key)
            }
            Loc::Tag(key) => ("tags.", key),
            Loc::User(name) => ("user.", name),
            Loc::Request(name) => ("request.", name),
            Loc::Header(name) => ("request.headers.", name),
            Loc::Attribute(key) => ("", key),
        };
        path.push_str(prefix);
        path.push_str(name);
        path
    }
}

/// Appends `list`, the index `i` and a dot (`exception.values.0.`).
fn push_indexed(path: &mut String, list: &str, i: usize) {
    path.push_str(list);
    push_number(path, i);
    path.push('.');
}

/// Appends `n` in decimal, a character at a time: for the short numbers of
/// a path or key this beat `itoa`, whose copy of a variable length is a call
/// out of the component.
pub(crate) fn push_number(text: &mut String, n: usize) {
    if n >= 10 {
        push_number(text, n / 10);
    }
    text.push(char::from(b'0' + (n % 10) as u8));
}

/// The last segment of a flattened key (`extra.card.number` → `number`), or the
/// closest named segment when the last one is an array index.
fn last_segment(key: &str) -> &str {
    let mut segments = key.rsplit('.');
    let last = segments.next().unwrap_or(key);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        segments.next().unwrap_or(last)
    } else {
        last
    }
}

fn text(attr: &Attribute) -> Option<&str> {
    match &attr.value {
        Value::Text(s) => Some(s),
        _ => None,
    }
}

/// Calls `f` for every string value of `event` that a redactor may edit.
pub fn visit_strings<'a>(event: &'a Event, mut f: impl FnMut(&StringField<'a>)) {
    let mut emit = |value: &'a str, key: &'a str, kind: FieldKind, loc: Loc<'a>| {
        f(&StringField {
            value,
            key,
            kind,
            loc,
        })
    };
    let top = [
        ("message", &event.message),
        ("logger", &event.logger),
        ("release", &event.release),
        ("environment", &event.environment),
        ("server_name", &event.server_name),
        ("transaction", &event.transaction),
    ];
    for (name, value) in top {
        if let Some(v) = value {
            emit(v, name, FieldKind::Top, Loc::Top(name));
        }
    }
    for (i, exc) in event.exceptions.iter().enumerate() {
        emit(
            &exc.type_,
            "type",
            FieldKind::Exception,
            Loc::Exception(i, "type"),
        );
        for (name, value) in [("value", &exc.value), ("module", &exc.module)] {
            if let Some(v) = value {
                emit(v, name, FieldKind::Exception, Loc::Exception(i, name));
            }
        }
        for (j, frame) in exc.frames.iter().enumerate() {
            let named = [
                ("function", &frame.function),
                ("module", &frame.module),
                ("filename", &frame.filename),
                ("abs_path", &frame.abs_path),
            ];
            for (name, value) in named {
                if let Some(v) = value {
                    emit(v, name, FieldKind::Frame, Loc::Frame(i, j, name));
                }
            }
            for var in &frame.vars {
                if let Some(v) = text(var) {
                    let key = last_segment(&var.key);
                    emit(v, key, FieldKind::FrameVar, Loc::FrameVar(i, j, &var.key));
                }
            }
        }
    }
    for (key, value) in &event.tags {
        emit(value, key, FieldKind::Tag, Loc::Tag(key));
    }
    if let Some(user) = &event.user {
        let named = [
            ("id", &user.id),
            ("email", &user.email),
            ("username", &user.username),
            ("ip_address", &user.ip_address),
        ];
        for (name, value) in named {
            if let Some(v) = value {
                emit(v, name, FieldKind::User, Loc::User(name));
            }
        }
    }
    if let Some(req) = &event.request {
        let named = [
            ("method", &req.method),
            ("url", &req.url),
            ("query_string", &req.query_string),
            ("cookies", &req.cookies),
        ];
        for (name, value) in named {
            if let Some(v) = value {
                emit(v, name, FieldKind::Request, Loc::Request(name));
            }
        }
        for (name, value) in &req.headers {
            emit(value, name, FieldKind::Header, Loc::Header(name));
        }
    }
    for attr in &event.attributes {
        if let Some(v) = text(attr) {
            emit(
                v,
                last_segment(&attr.key),
                FieldKind::Attribute,
                Loc::Attribute(&attr.key),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_the_host_names_fields() {
        for (i, j) in [(0, 0), (1, 9), (10, 123), (4_000_000, 77)] {
            let cases = [
                (Loc::Top("message"), "message".to_string()),
                (
                    Loc::Exception(i, "value"),
                    format!("exception.values.{i}.value"),
                ),
                (
                    Loc::Frame(i, j, "module"),
                    format!("exception.values.{i}.stacktrace.frames.{j}.module"),
                ),
                (
                    Loc::FrameVar(i, j, "card.number"),
                    format!("exception.values.{i}.stacktrace.frames.{j}.vars.card.number"),
                ),
                (Loc::Tag("http.status_code"), "tags.http.status_code".into()),
                (Loc::User("email"), "user.email".into()),
                (Loc::Request("url"), "request.url".into()),
                (
                    Loc::Header("Authorization"),
                    "request.headers.Authorization".into(),
                ),
                (Loc::Attribute("extra.order_id"), "extra.order_id".into()),
            ];
            for (loc, expected) in cases {
                let field = StringField {
                    value: "",
                    key: "",
                    kind: FieldKind::Top,
                    loc,
                };
                assert_eq!(field.path(), expected);
            }
        }
    }
}
