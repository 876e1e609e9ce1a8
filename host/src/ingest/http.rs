//! The HTTP API: ingest (`POST /api/v1/events`), reads of events and issues,
//! and `/healthz`. Every refusal says what was wrong.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value as Json, json};

use super::auth::{Denied, Keys, Role};
use super::{Outcome, ServeError, ServeOptions, Workers};
use crate::storage::Storage;

/// Shared by every request.
pub struct ServerState {
    /// The store.
    pub storage: Arc<Storage>,
    /// API keys.
    pub keys: Keys,
    /// The worker pool.
    pub workers: Workers,
    /// Options.
    pub options: ServeOptions,
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

fn query_param<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

/// Splits a body into events: one JSON object, a JSON array, or NDJSON.
fn split_events(body: &[u8]) -> Result<Vec<Result<Json, String>>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8: {e}"))?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(
            "the body is empty; send a JSON event, a JSON array of events, or NDJSON".into(),
        );
    }
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Vec<Json>>(text) {
            Ok(items) => Ok(items.into_iter().map(Ok).collect()),
            Err(e) => Err(format!("invalid JSON array: {e}")),
        };
    }
    if let Ok(one) = serde_json::from_str::<Json>(text) {
        return Ok(vec![Ok(one)]);
    }
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Json>(l).map_err(|e| format!("invalid JSON: {e}")))
        .collect())
}

async fn ingest(state: &ServerState, req: Request<Incoming>) -> Reply {
    if let Err(d) = state.keys.check(
        req.headers()
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok()),
        Role::Ingest,
    ) {
        return denied(d, Role::Ingest);
    }
    let project = query_param(&req, "project")
        .unwrap_or("default")
        .to_string();
    let limit = state.options.max_body_bytes;
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes; send fewer events per request"),
            );
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("reading the body failed: {e}"),
            );
        }
    };
    let items = match split_events(&body) {
        Ok(items) => items,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let mut errors = Vec::new();
    let mut events = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let parsed = item.and_then(|v| {
            let size = v.to_string().len();
            if size > state.options.max_event_bytes {
                return Err(format!(
                    "event is {size} bytes, more than the limit of {}",
                    state.options.max_event_bytes
                ));
            }
            crate::event::from_json(&v).map_err(|e| e.to_string())
        });
        match parsed {
            Ok(event) => events.push((index, event)),
            Err(e) => errors.push(json!({ "index": index, "error": e })),
        }
    }
    if events.len() > state.workers.room() {
        return Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header(RETRY_AFTER, "1")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(
                json!({"error": "the processing queue is full; retry after a second", "queued": state.workers.queued()}).to_string(),
            )))
            .expect("valid response");
    }
    let mut pending = Vec::new();
    for (index, event) in events {
        match state.workers.submit(&project, event) {
            Some(rx) => pending.push((index, rx)),
            None => errors.push(json!({ "index": index, "error": "the processing queue is full; retry this event" })),
        }
    }
    let (mut ids, mut dropped) = (Vec::new(), Vec::new());
    for (index, rx) in pending {
        match rx.await {
            Ok(Outcome::Stored { id, .. }) => ids.push(id),
            Ok(Outcome::Dropped(why)) | Ok(Outcome::DeadLettered(why)) => dropped.push(json!({ "index": index, "reason": why })),
            Ok(Outcome::Failed(why)) => errors.push(json!({ "index": index, "error": format!("not stored: {why}") })),
            Err(_) => errors.push(json!({ "index": index, "error": "not stored: storage is busy or shutting down; retry" })),
        }
    }
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

fn read_api(state: &ServerState, req: &Request<Incoming>, path: &str) -> Reply {
    if let Err(d) = state.keys.check(
        req.headers()
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok()),
        Role::Read,
    ) {
        return denied(d, Role::Read);
    }
    let storage = &state.storage;
    let internal =
        |e: crate::storage::StorageError| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    match path.strip_prefix("/api/v1/") {
        Some("events") => {
            let limit = match query_param(req, "limit").map(str::parse::<usize>) {
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
            match storage.events(limit, cursor.as_deref()) {
                Ok((events, next)) => reply(
                    StatusCode::OK,
                    json!({ "events": events, "next_cursor": next.map(hex::encode) }),
                ),
                Err(e) => internal(e),
            }
        }
        Some("issues") => {
            let status = query_param(req, "status");
            let mut issues = match storage.issues() {
                Ok(i) => i,
                Err(e) => return internal(e),
            };
            issues.retain(|i| status.is_none_or(|s| i.status == s));
            match query_param(req, "sort").unwrap_or("last_seen") {
                "last_seen" => issues.sort_by(|a, b| b.last_seen.total_cmp(&a.last_seen)),
                "count" => issues.sort_by_key(|i| std::cmp::Reverse(i.count)),
                "impact" => issues.sort_by(|a, b| {
                    b.max_impact
                        .cmp(&a.max_impact)
                        .then(b.sum_impact.cmp(&a.sum_impact))
                }),
                other => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("unknown sort {other:?}; use impact, last_seen or count"),
                    );
                }
            }
            reply(StatusCode::OK, json!({ "issues": issues }))
        }
        Some(rest) => {
            if let Some(id) = rest.strip_prefix("events/") {
                match storage.event(id) {
                    Ok(Some(doc)) => reply(StatusCode::OK, doc),
                    Ok(None) => error(StatusCode::NOT_FOUND, format!("no event {id}")),
                    Err(e) => internal(e),
                }
            } else if let Some(id) = rest.strip_prefix("issues/") {
                match storage.issue(id) {
                    Ok(Some(issue)) => reply(
                        StatusCode::OK,
                        serde_json::to_value(issue).expect("issue serializes"),
                    ),
                    Ok(None) => error(StatusCode::NOT_FOUND, format!("no issue {id}")),
                    Err(e) => internal(e),
                }
            } else {
                error(StatusCode::NOT_FOUND, format!("no route {path}"))
            }
        }
        None => error(StatusCode::NOT_FOUND, format!("no route {path}")),
    }
}

async fn route(state: Arc<ServerState>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let response = match (req.method(), path.as_str()) {
        (&Method::GET, "/healthz") => reply(
            StatusCode::OK,
            json!({ "status": "ok", "queued": state.workers.queued() }),
        ),
        (&Method::POST, "/api/v1/events") => ingest(&state, req).await,
        (&Method::GET, p) if p.starts_with("/api/v1/") => read_api(&state, &req, p),
        (_, p) if p == "/api/v1/events" || p.starts_with("/api/v1/") || p == "/healthz" => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} is not allowed on {p}", req.method()),
        ),
        (_, p) => error(StatusCode::NOT_FOUND, format!("no route {p}")),
    };
    Ok(response)
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
    println!(
        "faultline listening on http://{local} (chain {:?}, data in {})",
        state.options.chain,
        state.options.data_dir.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| ServeError::Io {
            what: "installing the SIGTERM handler".into(),
            source,
        })?;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => { tracing::warn!("accept failed: {e}"); continue; }
                };
                let state = state.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| route(state.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(std::time::Duration::from_secs(30))
                        .serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    println!("faultline draining: no new connections; finishing requests in flight");
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(std::time::Duration::from_secs(30), drain)
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after 30 s; stopping anyway");
    }
    Ok(())
}
