//! Operating a server from its config: `[server]`, projects with their own
//! chains and DSNs, keys limited by role and project, routes, and reloads
//! (HTTP and SIGHUP) that swap chains without losing events.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{Server, request, spawn};
use crate::support::{faultline, temp_dir, write};

/// A new API key from `faultline api-key`: the key and its `[[keys]]` TOML.
fn api_key(name: &str, roles: &[&str], projects: &[&str]) -> (String, String) {
    let mut args = vec!["api-key", "--name", name];
    for r in roles {
        args.extend(["--role", r]);
    }
    for p in projects {
        args.extend(["--project", p]);
    }
    let run = faultline(&args, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let key = run
        .stdout
        .lines()
        .next()
        .and_then(|l| l.rsplit(": ").next())
        .unwrap()
        .to_string();
    let toml = run.stdout[run.stdout.find("[[keys]]").unwrap()..].to_string();
    assert!(!toml.contains(&key), "the config holds only the hash");
    (key, toml)
}

const PLUGINS: &str = r#"
[plugins.pii]
builtin = "redactor-pii"

[plugins.taxonomy]
builtin = "classifier-taxonomy"

[[chains.plain.stages]]
plugin = "pii"

[[chains.full.stages]]
plugin = "pii"

[[chains.full.stages]]
plugin = "taxonomy"
"#;

fn post_as(server: &Server, key: &str, path: &str, body: &Value) -> (u16, Value) {
    request(&server.addr, "POST", path, Some(key), &body.to_string())
}

fn get_as(server: &Server, key: &str, path: &str) -> (u16, Value) {
    request(&server.addr, "GET", path, Some(key), "")
}

#[test]
fn config_declares_server_projects_keys_and_routes() {
    let dir = temp_dir("operate-config");
    let (ingest_key, ingest_toml) = api_key("checkout-ingest", &["ingest"], &["2"]);
    let (read_key, read_toml) = api_key("checkout-reader", &["read"], &["2"]);
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "data"
chain = "plain"
retention_days = 7

[projects.2]
name = "checkout"
public_key = "0123456789abcdef0123456789abcdef"
chain = "full"

[[routes]]
project = "1"
level = "fatal"
chain = "full"

{ingest_toml}
{read_toml}
{PLUGINS}"#
    );
    let path = write(&dir, "faultline.toml", &config);
    let server = spawn(&["--config", &path], None);
    assert!(
        dir.join("data/keys.json").exists(),
        "data_dir is relative to the config"
    );

    // Project 2's DSN is the declared one; its chain classifies.
    let (status, body) = request(
        &server.addr,
        "POST",
        "/api/2/store/?sentry_key=0123456789abcdef0123456789abcdef",
        None,
        &json!({"event_id": "a0000000000000000000000000000001", "message": "card declined",
                "level": "error"})
        .to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_as(
        &server,
        &ingest_key,
        "/api/v1/events?project=2",
        &json!({"event_id": "a0000000000000000000000000000002", "message": "timeout calling payments"}),
    );
    assert_eq!((status, &body["accepted"]), (200, &json!(1)), "{body}");
    let (_, stored) = server.get("/api/v1/events/a0000000000000000000000000000002");
    assert_eq!(stored["project"], "2");
    assert!(stored["classification"]["code"].is_string(), "{stored}");

    // The ingest key is limited to project 2; unknown projects are named.
    let (status, body) = post_as(
        &server,
        &ingest_key,
        "/api/v1/events?project=1",
        &json!({"message": "x"}),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("limited to 2"),
        "{body}"
    );
    let (status, body) = post_as(
        &server,
        &server.key,
        "/api/v1/events?project=9",
        &json!({"message": "x"}),
    );
    assert_eq!(status, 404, "{body}");

    // Project 1: the server's chain, except fatal events, which a route sends to `full`.
    let (_, body) = post_as(
        &server,
        &server.key,
        "/api/v1/events",
        &json!([
            {"event_id": "b0000000000000000000000000000001", "message": "disk full", "level": "error"},
            {"event_id": "b0000000000000000000000000000002", "message": "disk full", "level": "fatal"}
        ]),
    );
    assert_eq!(body["accepted"], 2, "{body}");
    let (_, plain) = server.get("/api/v1/events/b0000000000000000000000000000001");
    assert!(plain["classification"].is_null(), "{plain}");
    let (_, routed) = server.get("/api/v1/events/b0000000000000000000000000000002");
    assert!(routed["classification"]["code"].is_string(), "{routed}");

    // The reader sees project 2 only, and cannot ingest.
    let (status, events) = get_as(&server, &read_key, "/api/v1/events");
    assert_eq!(status, 200, "{events}");
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["project"] == "2"));
    let (status, _) = get_as(&server, &read_key, "/api/v1/events?project=1");
    assert_eq!(status, 403);
    let (status, _) = get_as(
        &server,
        &read_key,
        "/api/v1/events/b0000000000000000000000000000001",
    );
    assert_eq!(status, 404, "another project's event is not shown");
    let (status, stats) = get_as(&server, &read_key, "/api/v1/stats?by=level");
    assert_eq!(status, 200, "{stats}");
    let buckets = stats["buckets"].as_array().unwrap();
    let counted: u64 = buckets.iter().map(|b| b["total"].as_u64().unwrap()).sum();
    let errors: u64 = buckets
        .iter()
        .filter_map(|b| b["counts"]["error"].as_u64())
        .sum();
    assert_eq!((counted, errors), (2, 2), "project 2 only: {stats}");
    let (_, all) = server.get("/api/v1/stats?by=category");
    let counted: u64 = all["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["total"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 4, "{all}");
    assert_eq!(server.get("/api/v1/stats?by=team").0, 400);
    let (_, issues) = get_as(&server, &read_key, "/api/v1/issues");
    assert!(
        issues["issues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["project"] == "2")
    );
    let (status, _) = post_as(
        &server,
        &read_key,
        "/api/v1/events?project=2",
        &json!({"message": "x"}),
    );
    assert_eq!(status, 403);
    assert!(server.terminate().success());
}

/// Posts batches from `clients` threads until `stop`; returns the acknowledged ids.
fn load(
    addr: String,
    key: String,
    clients: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..clients)
        .map(|c| {
            let (addr, key, stop) = (addr.clone(), key.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let batch: Vec<Value> = (0..10)
                        .map(|i| {
                            n += 1;
                            json!({"event_id": format!("{c:08x}{n:024x}"), "message": format!("timeout calling payments {i}")})
                        })
                        .collect();
                    let (status, body) = request(&addr, "POST", "/api/v1/events", Some(&key), &Value::from(batch).to_string());
                    if status == 200 {
                        acked.extend(body["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()));
                    }
                }
                acked
            })
        })
        .collect()
}

/// Writes the config and asks the server to reload it.
fn reload_with(server: &Server, dir: &std::path::Path, config: &str) -> (u16, Value) {
    write(dir, "faultline.toml", config);
    request(
        &server.addr,
        "POST",
        "/api/v1/admin/reload",
        Some(&server.key),
        "",
    )
}

#[test]
fn reload_swaps_chains_without_losing_events_and_keeps_a_bad_config_out() {
    let dir = temp_dir("operate-reload");
    let path = write(
        &dir,
        "faultline.toml",
        &format!("[server]\nchain = \"plain\"\n{PLUGINS}"),
    );
    let data = dir.join("data");
    let server = spawn(
        &[
            "--config",
            &path,
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        None,
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients = load(server.addr.clone(), server.key.clone(), 3, stop.clone());
    std::thread::sleep(Duration::from_millis(500));

    // A config that does not parse is refused with its location; the old one stays.
    let (status, body) = reload_with(
        &server,
        &dir,
        &format!("[server]\nchain = \"plain\n{PLUGINS}"),
    );
    assert_eq!(status, 422, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("faultline.toml:2:") && message.contains("running config stays"),
        "{message}"
    );
    // One naming a chain that does not exist, likewise.
    let (status, body) = reload_with(
        &server,
        &dir,
        &format!("[server]\nchain = \"nope\"\n{PLUGINS}"),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("server.chain"),
        "{body}"
    );

    // Reload under load onto the classifying chain.
    let (status, body) = reload_with(
        &server,
        &dir,
        &format!("[server]\nchain = \"full\"\n{PLUGINS}"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fallback_chain"], "full");
    let (status, _) = request(&server.addr, "POST", "/api/v1/admin/reload", None, "");
    assert_eq!(status, 401, "reload needs a key");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(acked.len() > 50, "only {} events acknowledged", acked.len());

    // Every acknowledged event is stored once; the last ones ran the new chain.
    let counted = server.issue_event_total();
    assert_eq!(
        counted,
        acked.len() as u64,
        "no event lost or processed twice"
    );
    let (_, first) = server.get(&format!("/api/v1/events/{}", acked[0]));
    assert!(first["classification"].is_null(), "{first}");
    let newest = server.get("/api/v1/events?limit=1").1["events"][0].clone();
    assert!(newest["classification"]["code"].is_string(), "{newest}");

    // SIGHUP rereads the file: here it adds a key.
    let (reader, reader_toml) = api_key("reader", &["read"], &[]);
    assert_eq!(get_as(&server, &reader, "/api/v1/issues").0, 401);
    write(
        &dir,
        "faultline.toml",
        &format!("[server]\nchain = \"full\"\n{reader_toml}\n{PLUGINS}"),
    );
    Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_as(&server, &reader, "/api/v1/issues").0 != 200 {
        assert!(Instant::now() < deadline, "SIGHUP did not load the new key");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, audit) = server.get("/api/v1/audit");
    let actions: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "config.reload_failed")
            .count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "config.reload").count(),
        2,
        "{actions:?}"
    );
    let key_changes: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "keys.change")
        .filter_map(|a| a["detail"].as_str())
        .collect();
    assert_eq!(
        key_changes,
        vec![
            "added: admin (first start of the data directory)",
            "added: reader"
        ]
    );
    assert!(server.terminate().success());
}

#[test]
fn reload_of_the_built_in_config_explains_itself() {
    let dir = temp_dir("operate-reload-builtin");
    let server = crate::serve::start(&dir, &[], None);
    let (status, body) = request(
        &server.addr,
        "POST",
        "/api/v1/admin/reload",
        Some(&server.key),
        "",
    );
    assert_eq!(status, 422);
    assert!(
        body["error"].as_str().unwrap().contains("--config"),
        "{body}"
    );
}

#[test]
fn debug_logs_trace_requests_and_stages_but_never_keys() {
    let dir = temp_dir("operate-logs");
    let log = dir.join("serve.log");
    let data = dir.join("data");
    let server = crate::serve::spawn_logging(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        None,
        Some(&log),
    );
    let dsn_key = server.dsn_key();
    let (status, _) = server.post(r#"{"message": "logged"}"#);
    assert_eq!(status, 200);
    let (status, _) = request(
        &server.addr,
        "POST",
        &format!("/api/1/store/?sentry_key={dsn_key}"),
        None,
        r#"{"message": "via sentry"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        request(&server.addr, "GET", "/api/v1/issues", Some("wrong-key"), "").0,
        401
    );
    let admin = server.key.clone();
    assert!(server.terminate().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("request") && text.contains("/api/v1/events"),
        "no request spans:\n{text}"
    );
    assert!(
        text.contains("stage") && text.contains("plugin=pii"),
        "no stage spans:\n{text}"
    );
    for secret in [admin.as_str(), dsn_key.as_str(), "wrong-key"] {
        assert!(!text.contains(secret), "a key reached the log");
    }
}
