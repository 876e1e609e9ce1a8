//! The HTTP API: ingest (`POST /api/v1/events`), reads of events and issues,
//! and `/healthz`. Every refusal says what was wrong.

use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::value::RawValue;
use serde_json::{Value as Json, json};

use super::auth::{Denied, KeyEntry, Keys, Role};
use super::{Live, Outcome, ServeError, ServeOptions, Workers};
use crate::runtime::bindings::faultline::plugin::types::Event;
use crate::storage::Store;

/// Shared by every request.
pub struct ServerState {
    /// The store.
    pub storage: Arc<dyn Store>,
    /// Keys and projects; replaced by a reload.
    pub(super) live: RwLock<Arc<Live>>,
    /// The data directory's own keys, merged with each config's.
    pub(super) stored_keys: Keys,
    /// Held while a reload runs, so two do not interleave.
    pub(super) reloading: tokio::sync::Mutex<()>,
    /// The worker pool.
    pub workers: Workers,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Options.
    pub options: ServeOptions,
}

impl ServerState {
    /// The current keys and projects.
    pub fn live(&self) -> Arc<Live> {
        self.live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(super) fn set_live(&self, live: Live) {
        *self
            .live
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(live);
    }

    /// Appends to the audit log (best effort: a failure is logged).
    pub(super) fn audit(&self, actor: &str, action: &str, detail: &str) {
        let entry = crate::storage::Entry::Audit {
            actor: actor.into(),
            action: action.into(),
            detail: detail.into(),
        };
        if let Err(e) = self.storage.write_and_wait(entry) {
            tracing::warn!("could not audit {action}: {e}");
        }
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: Json) -> Reply {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    reply(status, json!({ "error": message.into() }))
}

fn denied(d: Denied, role: Role) -> Reply {
    match d {
        Denied::Unauthenticated => error(
            StatusCode::UNAUTHORIZED,
            "missing or unknown API key; send `Authorization: Bearer <key>`",
        ),
        Denied::Forbidden => error(
            StatusCode::FORBIDDEN,
            format!("this API key lacks the {role:?} role").to_lowercase(),
        ),
    }
}

/// The caller's key if it has `role`, else the refusal to send.
fn authorize(live: &Live, req: &Request<Incoming>, role: Role) -> Result<KeyEntry, Box<Reply>> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    live.keys
        .check(header, role)
        .cloned()
        .map_err(|d| Box::new(denied(d, role)))
}

/// 403 for a key that may not touch `project`.
fn not_your_project(key: &KeyEntry, project: &str) -> Reply {
    error(
        StatusCode::FORBIDDEN,
        format!(
            "API key {:?} may not use project {project}; it is limited to {}",
            key.name,
            key.projects.as_deref().unwrap_or_default().join(", ")
        ),
    )
}

fn query_param(req: &Request<Incoming>, name: &str) -> Option<String> {
    form_urlencoded::parse(req.uri().query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Content types `POST /api/v1/events` takes (a missing one is accepted too).
const EVENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
];

/// An event as sent: its text, or (the first of a body) already read.
enum Sent<'a> {
    Text(&'a str),
    Read(Box<Event>),
}

/// An event as sent and its size in bytes.
type SizedEvent<'a> = (Sent<'a>, usize);

/// Splits a body into events: one JSON object, a JSON array, or NDJSON, in
/// which a line that is not UTF-8 or not JSON fails alone. Each event comes
/// with its size as sent, for the per-event limit. Only the array and the
/// one document are checked to be JSON here: each line's text is read (and
/// found not to be JSON) when it is converted.
fn split_events(body: &[u8]) -> Result<Vec<Result<SizedEvent<'_>, String>>, String> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| body[i]) {
        None => {
            Err("the body is empty; send a JSON event, a JSON array of events, or NDJSON".into())
        }
        Some(b'[') => match serde_json::from_slice::<Vec<&RawValue>>(body) {
            Ok(items) => Ok(items
                .into_iter()
                .map(|item| Ok((Sent::Text(item.get()), item.get().len())))
                .collect()),
            Err(e) => Err(format!("invalid JSON array: {e}")),
        },
        Some(_) => {
            // The first value read straight into its event, once: the whole
            // body, or NDJSON's first line.
            if let Ok(text) = std::str::from_utf8(body)
                && let Some((event, end)) = crate::event::read_first(text)
            {
                let (first, rest) = text.split_at(end);
                let line_end = rest.find('\n').unwrap_or(rest.len());
                let blank = crate::event::is_blank;
                if blank(rest) || !first.contains('\n') && blank(&rest[..line_end]) {
                    let mut items = vec![Ok((Sent::Read(Box::new(event)), first.trim().len()))];
                    items.extend(lines(&rest.as_bytes()[line_end..]));
                    return Ok(items);
                }
            }
            // One document, perhaps over several lines; else one per line.
            if let Ok(one) = serde_json::from_slice::<&RawValue>(body) {
                return Ok(vec![Ok((Sent::Text(one.get()), one.get().len()))]);
            }
            Ok(lines(body).collect())
        }
    }
}

/// The events of NDJSON text, one per line that is not blank.
fn lines(body: &[u8]) -> impl Iterator<Item = Result<SizedEvent<'_>, String>> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(|line| match std::str::from_utf8(line) {
            Err(e) => Err(format!("the line is not UTF-8: {e}")),
            Ok(text) => Ok((Sent::Text(text), text.trim().len())),
        })
}

async fn ingest(state: &ServerState, req: Request<Incoming>) -> Reply {
    let live = state.live();
    let key = match authorize(&live, &req, Role::Ingest) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let project = query_param(&req, "project").unwrap_or_else(|| "1".into());
    if !live.projects.iter().any(|p| p.id == project) {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no project {project:?}; projects: {}",
                live.projects
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if !key.may(&project) {
        return not_your_project(&key, &project);
    }
    if let Some(kind) = req.headers().get(CONTENT_TYPE) {
        let mime = kind
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !EVENT_TYPES.contains(&mime.as_str()) {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Type {:?} is not accepted here; send {}",
                    kind.to_str().unwrap_or("(not text)"),
                    EVENT_TYPES.join(", ")
                ),
            );
        }
    }
    let body = match read_body(req.into_body(), state.options.max_body_bytes).await {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let items = match split_events(&body) {
        Ok(items) => items,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let mut errors = Vec::new();
    let mut events = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let parsed = item.and_then(|(sent, size)| {
            if size > state.options.max_event_bytes {
                return Err(format!(
                    "event is {size} bytes, more than the limit of {}",
                    state.options.max_event_bytes
                ));
            }
            match sent {
                Sent::Text(text) => crate::event::parse_text(text).map_err(|e| e.to_string()),
                Sent::Read(event) => Ok(*event),
            }
        });
        match parsed {
            Ok(event) => events.push((index, event)),
            Err(e) => {
                state.metrics.invalid();
                errors.push(json!({ "index": index, "error": e }));
            }
        }
    }
    let Some(done) = submit_all(state, &project, events).await else {
        return busy(false);
    };
    errors.extend(done.errors);
    let (ids, dropped) = (done.ids, done.dropped);
    let status = if ids.is_empty() && dropped.is_empty() && !errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    reply(
        status,
        json!({ "accepted": ids.len(), "ids": ids, "dropped": dropped, "errors": errors }),
    )
}

/// What became of the events of one request.
struct Submitted {
    ids: Vec<String>,
    dropped: Vec<Json>,
    errors: Vec<Json>,
}

/// 429 with `Retry-After` (and Sentry's rate-limit header for SDKs).
fn busy(sentry: bool) -> Reply {
    let mut builder = Response::builder()
        .status(StatusCode::TOO_MANY_REQUESTS)
        .header(RETRY_AFTER, "1")
        .header(CONTENT_TYPE, "application/json");
    if sentry {
        builder = builder
            .header("X-Sentry-Rate-Limits", "1::organization")
            .header(
                "X-Sentry-Error",
                "the processing queue is full; retry after a second",
            );
    }
    builder
        .body(Full::new(Bytes::from(
            json!({"error": "the processing queue is full; retry after a second"}).to_string(),
        )))
        .expect("valid response")
}

/// Queues the events and waits until each is durable or refused; `None`
/// when the queue has no room for all of them (nothing is queued then).
async fn submit_all(
    state: &ServerState,
    project: &str,
    events: Vec<(usize, Event)>,
) -> Option<Submitted> {
    if events.len() > state.workers.room() {
        state.metrics.busy();
        return None;
    }
    let mut done = Submitted {
        ids: Vec::new(),
        dropped: Vec::new(),
        errors: Vec::new(),
    };
    let mut pending = Vec::new();
    for (index, event) in events {
        match state.workers.submit(project, event) {
            Some(rx) => {
                state.metrics.received(project);
                pending.push((index, rx));
            }
            None => done.errors.push(json!({ "index": index, "error": "the processing queue is full; retry this event" })),
        }
    }
    for (index, rx) in pending {
        match rx.await {
            Ok(Outcome::Stored { id, .. }) => done.ids.push(id),
            Ok(Outcome::Dropped(why)) | Ok(Outcome::DeadLettered(why)) => done.dropped.push(json!({ "index": index, "reason": why })),
            Ok(Outcome::Failed(why)) => done.errors.push(json!({ "index": index, "error": format!("not stored: {why}") })),
            Err(_) => done.errors.push(json!({ "index": index, "error": "not stored: storage is busy or shutting down; retry" })),
        }
    }
    Some(done)
}

fn sentry_error(status: StatusCode, message: String) -> Reply {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .header("X-Sentry-Error", message.replace(['\r', '\n'], " "))
        .body(Full::new(Bytes::from(
            json!({ "detail": message }).to_string(),
        )))
        .expect("valid response")
}

/// Reads a body up to `limit` bytes.
async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, (StatusCode, String)> {
    match Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {limit} bytes; send fewer events per request"),
        )),
        Err(e) => Err((
            StatusCode::BAD_REQUEST,
            format!("reading the body failed: {e}"),
        )),
    }
}

/// `POST /api/{project}/store/` and `POST /api/{project}/envelope/`.
async fn sentry_ingest(
    state: &ServerState,
    req: Request<Incoming>,
    project_id: &str,
    envelope: bool,
) -> Reply {
    let live = state.live();
    let Some(project) = live.projects.iter().find(|p| p.id == project_id) else {
        return sentry_error(
            StatusCode::NOT_FOUND,
            format!("no project {project_id}; check the DSN"),
        );
    };
    let mut key = req
        .headers()
        .get("x-sentry-auth")
        .and_then(|h| h.to_str().ok())
        .and_then(super::sentry::key_from_auth_header)
        .map(str::to_string)
        .or_else(|| query_param(&req, "sentry_key"));
    let encoding = req
        .headers()
        .get("content-encoding")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let limit = state.options.max_body_bytes;
    let body = match read_body(req.into_body(), limit).await {
        Ok(b) => b,
        Err((status, message)) => return sentry_error(status, message),
    };
    let body = match super::sentry::decode(encoding.as_deref(), &body, limit) {
        Ok(b) => b,
        Err(e) if e.contains("more than") => return sentry_error(StatusCode::PAYLOAD_TOO_LARGE, e),
        Err(e) => return sentry_error(StatusCode::BAD_REQUEST, e),
    };
    let read_events = if envelope {
        match super::sentry::parse_envelope(&body) {
            Ok(env) => {
                if key.is_none() {
                    key = env
                        .header
                        .get("dsn")
                        .and_then(Json::as_str)
                        .and_then(super::sentry::key_from_dsn)
                        .map(str::to_string);
                }
                env.events
            }
            Err(e) => return sentry_error(StatusCode::BAD_REQUEST, e),
        }
    } else {
        match crate::event::parse(&body) {
            Err(crate::event::EventError::Json(e)) => {
                return sentry_error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}"));
            }
            read => vec![(read, body.len())],
        }
    };
    match key {
        Some(k) if k == project.public_key => {}
        Some(_) => {
            return sentry_error(
                StatusCode::FORBIDDEN,
                format!("the DSN key is not valid for project {project_id}"),
            );
        }
        None => {
            return sentry_error(
                StatusCode::FORBIDDEN,
                "no DSN key: send X-Sentry-Auth, ?sentry_key= or an envelope dsn".into(),
            );
        }
    }
    let mut events = Vec::new();
    for (i, (read, size)) in read_events.into_iter().enumerate() {
        if size > state.options.max_event_bytes {
            return sentry_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "event {i} is larger than {} bytes",
                    state.options.max_event_bytes
                ),
            );
        }
        match read {
            Ok(e) => events.push((i, e)),
            Err(e) => return sentry_error(StatusCode::BAD_REQUEST, format!("event {i}: {e}")),
        }
    }
    let first_id = events.first().map(|(_, e)| e.event_id.clone());
    let Some(done) = submit_all(state, &project.id, events).await else {
        return busy(true);
    };
    if let Some(err) = done.errors.first() {
        return sentry_error(
            StatusCode::SERVICE_UNAVAILABLE,
            err["error"].as_str().unwrap_or("not stored").to_string(),
        );
    }
    reply(
        StatusCode::OK,
        first_id.map_or(json!({}), |id| json!({ "id": id })),
    )
}

/// `/api/{project}/store` or `/api/{project}/envelope`: the project id and whether an envelope.
fn sentry_route(path: &str) -> Option<(&str, bool)> {
    let rest = path.strip_prefix("/api/")?;
    let (project, endpoint) = rest.split_once('/')?;
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match endpoint {
        "store" => Some((project, false)),
        "envelope" => Some((project, true)),
        _ => None,
    }
}

/// Queues a write and waits until it is durable.
async fn write_and_wait(
    storage: &dyn Store,
    entry: crate::storage::Entry,
) -> Result<crate::storage::Applied, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    storage
        .write(
            entry,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )
        .map_err(|e| e.to_string())?;
    rx.await
        .map_err(|_| "storage stopped before the write was durable".to_string())?
}

/// `PATCH /api/v1/issues/{id}` with `{"status": "resolved" | "unresolved" | "ignored"}`.
async fn update_issue(state: &ServerState, req: Request<Incoming>, id: &str) -> Reply {
    let key = match authorize(&state.live(), &req, Role::Admin) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let actor = key.name.clone();
    let body = match read_body(req.into_body(), 64 << 10).await {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let status = match serde_json::from_slice::<Json>(&body) {
        Ok(v) => match v.get("status").and_then(Json::as_str) {
            Some(s @ ("unresolved" | "resolved" | "ignored")) => s.to_string(),
            Some(other) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("status {other:?} is not one of unresolved, resolved, ignored"),
                );
            }
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "send {\"status\": \"resolved\"} (or unresolved, ignored)",
                );
            }
        },
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    };
    match state.storage.issue(id) {
        Ok(Some(issue)) if key.may(&issue.project) => {}
        Ok(_) => return error(StatusCode::NOT_FOUND, format!("no issue {id}")),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
    let entry = crate::storage::Entry::IssueStatus {
        issue: id.to_string(),
        status,
        actor,
    };
    if let Err(e) = write_and_wait(state.storage.as_ref(), entry).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, format!("not saved: {e}"));
    }
    match state.storage.issue(id) {
        Ok(Some(issue)) => reply(
            StatusCode::OK,
            serde_json::to_value(issue).expect("issue serializes"),
        ),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no issue {id}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// A time query parameter: RFC 3339 or seconds since the epoch.
fn time_param(req: &Request<Incoming>, name: &str) -> Result<Option<f64>, String> {
    match query_param(req, name) {
        None => Ok(None),
        Some(v) => crate::event::parse_time(&v)
            .map(Some)
            .ok_or_else(|| format!("{name}={v:?} is not RFC 3339 or seconds since the epoch")),
    }
}

/// Longest range `/api/v1/stats` answers in one request.
const MAX_STATS_RANGE_SECS: f64 = 31.0 * 86_400.0;

/// `GET /api/v1/stats?since=&until=&by=service|category|level&project=`:
/// per-minute counts, the last hour by default.
fn stats(storage: &dyn Store, req: &Request<Incoming>, project: Option<&str>) -> Reply {
    let by = match crate::storage::StatsBy::parse(
        query_param(req, "by").as_deref().unwrap_or("total"),
    ) {
        Ok(by) => by,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let (until, since) = match (time_param(req, "until"), time_param(req, "since")) {
        (Ok(u), Ok(s)) => {
            let until = u.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            });
            (until, s.unwrap_or(until - 3600.0))
        }
        (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, e),
    };
    if since > until || until - since > MAX_STATS_RANGE_SECS {
        return error(
            StatusCode::BAD_REQUEST,
            "since must be before until, at most 31 days apart",
        );
    }
    match storage.stats(since, until, by, project) {
        Ok(buckets) => reply(
            StatusCode::OK,
            json!({
                "since": crate::event::format_timestamp(since),
                "until": crate::event::format_timestamp(until),
                "by": query_param(req, "by").unwrap_or_else(|| "total".into()),
                "buckets": buckets,
            }),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The `project` a list request reads: as given, or the key's only project;
/// refused when the key may not read it or must name one of several.
fn read_scope(key: &KeyEntry, req: &Request<Incoming>) -> Result<Option<String>, Box<Reply>> {
    match (query_param(req, "project"), key.projects.as_deref()) {
        (Some(p), _) if key.may(&p) => Ok(Some(p)),
        (Some(p), _) => Err(Box::new(not_your_project(key, &p))),
        (None, None) => Ok(None),
        (None, Some([only])) => Ok(Some(only.clone())),
        (None, Some(list)) => Err(Box::new(error(
            StatusCode::FORBIDDEN,
            format!(
                "API key {:?} reads projects {}; name one with ?project=",
                key.name,
                list.join(", ")
            ),
        ))),
    }
}

fn read_api(state: &ServerState, req: &Request<Incoming>, path: &str) -> Reply {
    let key = match authorize(&state.live(), req, Role::Read) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let scope = match read_scope(&key, req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let storage = &state.storage;
    let internal =
        |e: crate::storage::StorageError| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    match path.strip_prefix("/api/v1/") {
        Some("events") => {
            let limit = match query_param(req, "limit").map(|l| l.parse::<usize>()) {
                None => 50,
                Some(Ok(n)) if (1..=1000).contains(&n) => n,
                Some(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "limit must be a number from 1 to 1000",
                    );
                }
            };
            let cursor = match query_param(req, "cursor").map(hex::decode) {
                None => None,
                Some(Ok(c)) => Some(c),
                Some(Err(_)) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "cursor is not one this server returned",
                    );
                }
            };
            let mut filter = crate::storage::EventFilter {
                project: scope,
                issue: query_param(req, "issue"),
                level: query_param(req, "level"),
                category: query_param(req, "category"),
                ..Default::default()
            };
            for (name, slot) in [("since", &mut filter.since), ("until", &mut filter.until)] {
                match time_param(req, name) {
                    Ok(t) => *slot = t,
                    Err(e) => return error(StatusCode::BAD_REQUEST, e),
                }
            }
            match storage.events(limit, cursor.as_deref(), &filter) {
                Ok((events, next)) => reply(
                    StatusCode::OK,
                    json!({ "events": events, "next_cursor": next.map(hex::encode) }),
                ),
                Err(e) => internal(e),
            }
        }
        Some("stats") => stats(storage.as_ref(), req, scope.as_deref()),
        Some("issues") => {
            let sort = query_param(req, "sort").unwrap_or_else(|| "last_seen".into());
            match storage.list_issues(query_param(req, "status").as_deref(), &sort) {
                Ok(mut issues) => {
                    if let Some(p) = &scope {
                        issues.retain(|i| &i.project == p);
                    }
                    reply(StatusCode::OK, json!({ "issues": issues }))
                }
                Err(e) if e.starts_with("unknown sort") => error(StatusCode::BAD_REQUEST, e),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        Some(rest) => {
            if let Some(id) = rest.strip_prefix("events/") {
                match storage.event(id) {
                    Ok(Some(doc)) if key.may(doc["project"].as_str().unwrap_or("1")) => {
                        reply(StatusCode::OK, doc)
                    }
                    Ok(_) => error(StatusCode::NOT_FOUND, format!("no event {id}")),
                    Err(e) => internal(e),
                }
            } else if let Some(id) = rest.strip_prefix("issues/") {
                match storage.issue(id) {
                    Ok(Some(issue)) if key.may(&issue.project) => reply(
                        StatusCode::OK,
                        serde_json::to_value(issue).expect("issue serializes"),
                    ),
                    Ok(_) => error(StatusCode::NOT_FOUND, format!("no issue {id}")),
                    Err(e) => internal(e),
                }
            } else {
                error(StatusCode::NOT_FOUND, format!("no route {path}"))
            }
        }
        None => error(StatusCode::NOT_FOUND, format!("no route {path}")),
    }
}

/// Runs a request inside a span (method and path only: never headers, so
/// keys stay out of the logs) and logs its status and duration.
async fn traced(state: Arc<ServerState>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    use tracing::Instrument;
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path());
    async move {
        let start = std::time::Instant::now();
        let response = route(state, req).await?;
        tracing::debug!(
            status = response.status().as_u16(),
            micros = crate::metrics::micros_since(start),
            "answered"
        );
        Ok(response)
    }
    .instrument(span)
    .await
}

async fn route(state: Arc<ServerState>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let response = match (req.method(), path.as_str()) {
        (&Method::GET, "/metrics") => Response::builder()
            .header(CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(Full::new(Bytes::from(
                state.metrics.render(state.workers.queued()),
            )))
            .expect("valid response"),
        (&Method::GET, "/healthz") => reply(
            StatusCode::OK,
            json!({ "status": "ok", "queued": state.workers.queued() }),
        ),
        (&Method::POST, "/api/v1/events") => ingest(&state, req).await,
        (&Method::POST, p) if sentry_route(p).is_some() => {
            let (project, envelope) = sentry_route(p).expect("checked");
            let project = project.to_string();
            sentry_ingest(&state, req, &project, envelope).await
        }
        (&Method::PATCH, p) if p.starts_with("/api/v1/issues/") => {
            let id = p.trim_start_matches("/api/v1/issues/").to_string();
            update_issue(&state, req, &id).await
        }
        (&Method::POST, "/api/v1/admin/reload") => {
            match authorize(&state.live(), &req, Role::Admin) {
                Err(r) => *r,
                Ok(key) => reload(state.clone(), format!("key:{}", key.name)).await,
            }
        }
        (&Method::GET, "/api/v1/audit") => match authorize(&state.live(), &req, Role::Admin) {
            Err(r) => *r,
            Ok(_) => match state.storage.audit() {
                Ok(entries) => reply(StatusCode::OK, json!({ "audit": entries })),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            },
        },
        (&Method::GET, p) if p.starts_with("/api/v1/") => read_api(&state, &req, p),
        (_, p) if p == "/api/v1/events" || p.starts_with("/api/v1/") || p == "/healthz" => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} is not allowed on {p}", req.method()),
        ),
        (_, p) => error(StatusCode::NOT_FOUND, format!("no route {p}")),
    };
    Ok(response)
}

/// Runs a reload off the async threads; one at a time.
async fn reload(state: Arc<ServerState>, actor: String) -> Reply {
    let _one = state.reloading.lock().await;
    let worker = state.clone();
    match tokio::task::spawn_blocking(move || super::reload(&worker, &actor)).await {
        Ok(Ok(done)) => reply(
            StatusCode::OK,
            serde_json::to_value(done).expect("serializes"),
        ),
        Ok(Err(e)) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("reload refused, the running config stays: {e}"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed: {e}"),
        ),
    }
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(state: Arc<ServerState>) -> Result<(), ServeError> {
    let addr = state.options.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Io {
            what: format!("listening on {addr}"),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ServeError::Io {
        what: "reading the bound address".into(),
        source,
    })?;
    let live = state.live();
    println!(
        "faultline listening on http://{local} (config {}, chain {:?}, data in {})",
        live.config_file,
        live.fallback_chain,
        state.options.data_dir.display()
    );
    for p in &live.projects {
        println!(
            "project {} ({}): DSN {}",
            p.id,
            p.name,
            p.dsn(&local.to_string())
        );
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| ServeError::Io {
            what: "installing the SIGTERM handler".into(),
            source,
        })?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).map_err(
        |source| ServeError::Io {
            what: "installing the SIGHUP handler".into(),
            source,
        },
    )?;
    let mut connections = tokio::task::JoinSet::new();
    // On shutdown, idle keep-alive connections are closed and busy ones
    // finish their requests first.
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => { tracing::warn!("accept failed: {e}"); continue; }
                };
                let state = state.clone();
                let service = hyper::service::service_fn(move |req| traced(state.clone(), req));
                // HTTP/1.1, and HTTP/2 with prior knowledge (h2c).
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(30));
                builder.http2().timer(TokioTimer::new());
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
                connections.spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            _ = hup.recv() => {
                let state = state.clone();
                tokio::spawn(async move {
                    let answer = reload(state, "SIGHUP".into()).await;
                    if answer.status().is_success() {
                        println!("faultline reloaded its config (SIGHUP)");
                    } else {
                        let body = answer.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        eprintln!("faultline kept its config: {}", String::from_utf8_lossy(&body));
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    println!("faultline draining: no new connections; finishing requests in flight");
    drop(listener);
    let drain = async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    };
    if tokio::time::timeout(std::time::Duration::from_secs(30), drain)
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after 30 s; stopping anyway");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a body splits into: each event's message, or its error, and
    /// its size.
    fn split(body: &str) -> Vec<Result<(Option<String>, usize), String>> {
        split_events(body.as_bytes())
            .unwrap()
            .into_iter()
            .map(|item| {
                item.and_then(|(sent, size)| {
                    let event = match sent {
                        Sent::Text(text) => {
                            crate::event::parse_text(text).map_err(|e| e.to_string())?
                        }
                        Sent::Read(event) => *event,
                    };
                    Ok((event.message, size))
                })
            })
            .collect()
    }

    fn message(text: &str, size: usize) -> Result<(Option<String>, usize), String> {
        Ok((Some(text.into()), size))
    }

    #[test]
    fn a_body_splits_into_its_events_with_their_sizes() {
        // One event, on one line or over several.
        assert_eq!(split(" {\"message\":\"a\"} \n"), [message("a", 15)]);
        let pretty = "{\n  \"message\": \"a\"\n}";
        assert_eq!(split(&format!("{pretty}\n")), [message("a", pretty.len())]);
        // NDJSON: blank lines skipped, a bad line failing alone.
        let got =
            split("{\"message\":\"a\"}\n\n{\"message\":\"bb\"}  \nnot json\n{\"message\":\"c\"}");
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], message("a", 15));
        assert_eq!(got[1], message("bb", 16));
        assert!(got[2].as_ref().unwrap_err().starts_with("invalid JSON"));
        assert_eq!(got[3], message("c", 15));
        // The first line is read once, where the body is split.
        let items = split_events(b"{\"message\":\"a\"}\n{\"message\":\"b\"}").unwrap();
        assert!(matches!(items[0], Ok((Sent::Read(_), 15))));
        assert!(matches!(items[1], Ok((Sent::Text(_), 15))));
        // A first line holding two values fails alone, as any such line.
        let got = split("{\"message\":\"a\"} {\"message\":\"b\"}\n{\"message\":\"c\"}");
        assert!(got[0].as_ref().unwrap_err().contains("trailing characters"));
        assert_eq!(got[1], message("c", 15));
        // A first value over several lines, then more: each line on its own.
        let got = split(&format!("{pretty}\n{{\"message\":\"b\"}}"));
        assert_eq!(got.len(), 4);
        assert_eq!(got[3], message("b", 15));
        // What the straight reader leaves to the tree (a repeated key), read
        // whole or as a first line.
        let twice = "{\"message\":\"a\",\"message\":\"z\"}";
        assert_eq!(split(twice), [message("z", twice.len())]);
        let got = split(&format!("{twice}\n{{\"message\":\"b\"}}"));
        assert_eq!(got, [message("z", twice.len()), message("b", 15)]);
        // Only JSON's whitespace may follow the value.
        let got = split("{\"message\":\"a\"} \u{a0}\n{\"message\":\"b\"}");
        assert!(got[0].as_ref().unwrap_err().contains("trailing"));
        assert_eq!(got[1], message("b", 15));
        // An array.
        let got = split("[{\"message\":\"a\"}, {\"message\":\"b\"}]");
        assert_eq!(got, [message("a", 15), message("b", 15)]);
    }
}
