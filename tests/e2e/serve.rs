//! `faultline serve`: ingest over HTTP, durable acknowledgements, reads, auth.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{repo, temp_dir};

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub key: String,
    /// The DSN of project 1.
    pub dsn: String,
}

/// Starts `faultline serve` on a free port; `key` is the admin key of the data dir.
pub fn start(data_dir: &std::path::Path, extra: &[&str], key: Option<&str>) -> Server {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    spawn(&args, key)
}

/// Starts `faultline serve ARGS`; `key` is the admin key of its data dir
/// when that already exists.
pub fn spawn(args: &[&str], key: Option<&str>) -> Server {
    spawn_logging(args, key, None)
}

/// [`spawn`], with debug logs written to `log` when given.
pub fn spawn_logging(args: &[&str], key: Option<&str>, log: Option<&std::path::Path>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_faultline"));
    command
        .arg("serve")
        .args(args)
        .env("FAULTLINE_CACHE_DIR", repo().join("target/e2e-cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(path) = log {
        command
            .env("FAULTLINE_LOG", "faultline=debug")
            .stderr(std::fs::File::create(path).unwrap());
    }
    let mut child = command.spawn().expect("starting faultline serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key = key.map(str::to_string);
    let mut addr = None;
    let dsn = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(k) =
            line.strip_prefix("created admin API key (shown once; only its hash is stored): ")
        {
            key = Some(k.to_string());
        }
        if let Some(rest) = line.strip_prefix("faultline listening on http://") {
            addr = Some(rest.split(' ').next().unwrap().to_string());
        }
        if let Some(dsn) = line.strip_prefix("project 1 (default): DSN ") {
            break dsn.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr: addr.expect("an address"),
        key: key.expect("an admin key"),
        dsn,
    }
}

/// One HTTP/1.1 request with extra headers; returns the status, the response
/// head (lowercased) and the JSON body.
pub fn raw_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(addr).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reading the response");
    let status = response[9..12].parse().expect("status code");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// One HTTP/1.1 request; returns the status and the JSON body.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let (status, _, body) = raw_request(addr, method, path, &headers, body.as_bytes());
    (status, body)
}

impl Server {
    pub fn get(&self, path: &str) -> (u16, Value) {
        request(&self.addr, "GET", path, Some(&self.key), "")
    }

    pub fn post(&self, body: &str) -> (u16, Value) {
        request(&self.addr, "POST", "/api/v1/events", Some(&self.key), body)
    }

    /// The public key in project 1's DSN.
    pub fn dsn_key(&self) -> String {
        let rest = self.dsn.split_once("://").unwrap().1;
        rest.split_once('@').unwrap().0.to_string()
    }

    /// The events counted over all issues.
    pub fn issue_event_total(&self) -> u64 {
        let (_, issues) = self.get("/api/v1/issues");
        issues["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["count"].as_u64().unwrap())
            .sum()
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ingest_store_group_and_read_back() {
    let dir = temp_dir("serve-basic");
    let server = start(&dir, &["--max-body-kb", "64"], None);
    let samples = std::fs::read_to_string(repo().join("examples/events.ndjson")).unwrap();
    let (status, body) = server.post(&samples);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 4);
    let (status, event) = server.get("/api/v1/events/6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01");
    assert_eq!(status, 200);
    assert_eq!(
        event["message"], "payment failed for [email]",
        "stored redacted"
    );
    assert_eq!(event["classification"]["code"], "DEPENDENCY.PAYMENT");
    let (_, issues) = server.get("/api/v1/issues?sort=impact");
    let issues = issues["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 4);
    assert!(
        issues
            .windows(2)
            .all(|w| w[0]["max_impact"].as_u64() >= w[1]["max_impact"].as_u64())
    );
    let (_, events) = server.get("/api/v1/events?limit=2");
    assert_eq!(events["events"].as_array().unwrap().len(), 2);
    let cursor = events["next_cursor"].as_str().unwrap();
    let (_, rest) = server.get(&format!("/api/v1/events?limit=10&cursor={cursor}"));
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);

    // The same events again: acknowledged, but neither stored nor counted twice.
    let (_, again) = server.post(&samples);
    assert_eq!(again["accepted"], 4);
    let total = server.issue_event_total();
    assert_eq!(
        total, 5,
        "the event without an id is new each time; the others are duplicates"
    );

    // One bad event in a batch does not lose the good ones.
    let (status, mixed) = server.post("{\"message\": \"good\"}\n{\"level\": 3}\nnot json\n");
    assert_eq!(status, 200);
    assert_eq!(mixed["accepted"], 1);
    assert_eq!(mixed["errors"][0]["index"], 1);
    assert!(
        mixed["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("field `level`")
    );
    assert!(
        mixed["errors"][1]["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON")
    );
    let (status, none) = server.post("{\"level\": 3}");
    assert_eq!(status, 400, "{none}");

    let big = format!("{{\"message\": \"{}\"}}", "x".repeat(70 * 1024));
    let (status, too_big) = server.post(&big);
    assert_eq!(status, 413);
    assert!(
        too_big["error"]
            .as_str()
            .unwrap()
            .contains("larger than 65536 bytes")
    );

    let (status, _) = request(&server.addr, "GET", "/api/v1/issues", None, "");
    assert_eq!(status, 401, "reads need a key");
    let (status, _) = request(&server.addr, "POST", "/api/v1/events", Some("wrong"), "{}");
    assert_eq!(status, 401);
    let (status, health) = request(&server.addr, "GET", "/healthz", None, "");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, _) = server.get("/api/v1/events/ffffffffffffffffffffffffffffffff");
    assert_eq!(status, 404);

    let exit = server.terminate();
    assert!(exit.success(), "SIGTERM stops cleanly: {exit:?}");
}

/// The server turns transparent huge pages off for itself (their zeroing on
/// first touch stalled acknowledgements); kernels that report it say so in
/// `/proc/<pid>/status`.
#[cfg(target_os = "linux")]
#[test]
fn serve_runs_without_transparent_huge_pages() {
    let dir = temp_dir("serve-thp");
    let server = start(&dir, &[], None);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}

/// `--workers` and `--http-threads` set how many threads run the chains and
/// serve HTTP; counted by name in `/proc/<pid>/task`.
#[cfg(target_os = "linux")]
#[test]
fn serve_starts_the_threads_asked_for() {
    let dir = temp_dir("serve-threads");
    let server = start(&dir, &["--workers", "3", "--http-threads", "2"], None);
    // A thread takes its name once it runs, which may be after the server
    // says it listens: look again until the counts settle.
    let counts = || {
        let names: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", server.child.id()))
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
            .collect();
        let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count();
        ((count("faultline-worke"), count("faultline-http")), names)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut seen, mut names) = counts();
    while seen != (3, 2) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        (seen, names) = counts();
    }
    assert_eq!(seen, (3, 2), "(chain workers, HTTP threads): {names:?}");
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_event() {
    let dir = temp_dir("serve-kill");
    let server = start(&dir, &["--workers", "2"], None);
    let addr = server.addr.clone();
    let key = server.key.clone();
    let deadline = Instant::now() + Duration::from_millis(1500);
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (addr, key) = (addr.clone(), key.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for batch in 0.. {
                    if Instant::now() > deadline || batch > 2000 {
                        break;
                    }
                    let body: String = (0..20)
                        .map(|i| json!({"event_id": format!("{c:08x}{batch:016x}{i:08x}"), "message": format!("load {c} {batch} {i}")}).to_string() + "\n")
                        .collect();
                    let Ok(mut stream) = TcpStream::connect(&addr) else { break };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let req = format!(
                        "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(req.as_bytes()).is_err() {
                        break;
                    }
                    let mut response = String::new();
                    if stream.read_to_string(&mut response).is_err() || !response.starts_with("HTTP/1.1 200") {
                        break;
                    }
                    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                    let parsed: Value = serde_json::from_str(body).unwrap();
                    acked.extend(parsed["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()));
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let acked: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        acked.len() >= 20,
        "the load reached the server ({} acked)",
        acked.len()
    );
    drop(server);

    let server = start(&dir, &[], Some(&key));
    for id in &acked {
        let (status, _) = server.get(&format!("/api/v1/events/{id}"));
        assert_eq!(status, 200, "acknowledged event {id} lost after SIGKILL");
    }
    let counted = server.issue_event_total();
    let (_, all) = server.get("/api/v1/events?limit=1000");
    let mut stored = all["events"].as_array().unwrap().len() as u64;
    let mut cursor = all["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let (_, page) = server.get(&format!("/api/v1/events?limit=1000&cursor={c}"));
        stored += page["events"].as_array().unwrap().len() as u64;
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    eprintln!(
        "acknowledged before SIGKILL: {}, stored after restart: {stored}",
        acked.len()
    );
    assert_eq!(
        counted, stored,
        "issue counts match stored events: nothing counted twice"
    );
    assert!(stored >= acked.len() as u64);
    assert!(server.terminate().success());
}

#[test]
fn issue_status_changes_are_audited_and_regressions_detected() {
    let dir = temp_dir("serve-status");
    let server = start(&dir, &[], None);
    let (_, body) = server.post("{\"message\": \"disk quota exceeded on volume 7\"}");
    assert_eq!(body["accepted"], 1);
    let (_, issues) = server.get("/api/v1/issues");
    let id = issues["issues"][0]["id"].as_str().unwrap().to_string();
    let patch = |body: &str| {
        request(
            &server.addr,
            "PATCH",
            &format!("/api/v1/issues/{id}"),
            Some(&server.key),
            body,
        )
    };
    let (status, issue) = patch("{\"status\": \"resolved\"}");
    assert_eq!(
        (status, issue["status"].as_str()),
        (200, Some("resolved")),
        "{issue}"
    );
    let (status, bad) = patch("{\"status\": \"fixed\"}");
    assert_eq!(status, 400);
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("not one of unresolved, resolved, ignored")
    );
    let (status, _) = request(
        &server.addr,
        "PATCH",
        "/api/v1/issues/0000000000000000",
        Some(&server.key),
        "{\"status\": \"resolved\"}",
    );
    assert_eq!(status, 404);
    let (status, _) = request(
        &server.addr,
        "PATCH",
        &format!("/api/v1/issues/{id}"),
        None,
        "{\"status\": \"ignored\"}",
    );
    assert_eq!(status, 401);

    // The same fault again, with other numbers: the resolved issue regresses.
    server.post("{\"message\": \"disk quota exceeded on volume 9\"}");
    let (_, issue) = server.get(&format!("/api/v1/issues/{id}"));
    assert_eq!(issue["status"], "regressed");
    assert_eq!(issue["count"], 2);

    let (_, audit) = server.get("/api/v1/audit");
    let actions: Vec<(&str, &str)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("keys.change", "faultline"),
            ("config.load", "faultline"),
            ("issue.status", "admin")
        ]
    );

    let (status, _, _) = raw_request(&server.addr, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("faultline_events_total{project=\"1\",outcome=\"stored\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("faultline_stage_duration_seconds_count{chain=\"default\",plugin=\"pii\"} 2"),
        "{text}"
    );
    assert!(text.contains("faultline_commit_batch_size_count"), "{text}");
    assert!(text.contains("faultline_queue_depth 0"), "{text}");
}

#[test]
fn cli_reads_from_the_server_or_the_data_directory() {
    let dir = temp_dir("serve-cli");
    let server = start(&dir, &[], None);
    let samples = std::fs::read_to_string(repo().join("examples/events.ndjson")).unwrap();
    assert_eq!(server.post(&samples).1["accepted"], 4);
    let url = format!("http://{}", server.addr);
    let remote = crate::support::faultline(&["issues", "--url", &url, "--key", &server.key], "");
    assert_eq!(remote.code, 0, "{}", remote.stderr);
    assert!(
        remote.stdout.contains("DEPENDENCY.PAYMENT"),
        "{}",
        remote.stdout
    );
    let day = [
        "--since",
        "2026-11-25T00:00:00Z",
        "--until",
        "2026-11-25T23:59:59Z",
    ];
    let mut args = vec![
        "stats",
        "--url",
        &url,
        "--key",
        &server.key,
        "--by",
        "level",
    ];
    args.extend(day);
    let stats = crate::support::faultline(&args, "");
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    assert!(
        stats.stdout.contains("2026-11-25T10:15") && stats.stdout.contains("error=1"),
        "{}",
        stats.stdout
    );
    let wrong = crate::support::faultline(&["events", "--url", &url, "--key", "nope"], "");
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("401"), "{}", wrong.stderr);
    let held = crate::support::faultline(&["issues", "--data-dir", dir.to_str().unwrap()], "");
    assert_eq!(held.code, 1);
    assert!(
        held.stderr
            .contains("if `faultline serve` is running on it, ask the server with --url"),
        "{}",
        held.stderr
    );
    let id = server.get("/api/v1/issues?sort=impact").1["issues"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resolved = crate::support::faultline(
        &["issue", "--url", &url, "--key", &server.key, "resolve", &id],
        "",
    );
    assert_eq!(resolved.code, 0, "{}", resolved.stderr);
    assert!(server.terminate().success());

    let local = crate::support::faultline(
        &[
            "issues",
            "--data-dir",
            dir.to_str().unwrap(),
            "--status",
            "resolved",
            "--json",
        ],
        "",
    );
    assert_eq!(local.code, 0, "{}", local.stderr);
    let lines: Vec<Value> = local
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], id.as_str());
    let events = crate::support::faultline(
        &[
            "events",
            "--data-dir",
            dir.to_str().unwrap(),
            "--limit",
            "2",
        ],
        "",
    );
    assert_eq!(
        events.stdout.lines().count(),
        3,
        "header and two events: {}",
        events.stdout
    );
    let reopen = crate::support::faultline(
        &[
            "issue",
            "--data-dir",
            dir.to_str().unwrap(),
            "unresolve",
            &id,
        ],
        "",
    );
    assert_eq!(reopen.code, 0, "{}", reopen.stderr);
    let mut args = vec!["stats", "--data-dir", dir.to_str().unwrap(), "--json"];
    args.extend(day);
    let local_stats = crate::support::faultline(&args, "");
    assert_eq!(local_stats.code, 0, "{}", local_stats.stderr);
    let first: Value = serde_json::from_str(local_stats.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["minute"], "2026-11-25T10:15:00.000000Z");
    assert_eq!(first["total"], 1);
}

#[test]
fn retention_deletes_old_events_and_keeps_issue_counts() {
    let dir = temp_dir("serve-retention");
    let server = start(&dir, &[], None);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old = json!({"event_id": "0".repeat(31) + "1", "message": "cache warmup failed", "timestamp": now - 3 * 86_400});
    let new = json!({"event_id": "0".repeat(31) + "2", "message": "cache warmup failed", "timestamp": now});
    assert_eq!(server.post(&format!("{old}\n{new}\n")).1["accepted"], 2);
    let key = server.key.clone();
    assert!(server.terminate().success());

    let server = start(&dir, &["--retention-days", "1"], Some(&key));
    // The sweep starts with the server, beside it: the server may answer
    // before it is done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let swept = loop {
        let (status, _) = server.get(&format!("/api/v1/events/{}1", "0".repeat(31)));
        if status != 200 || std::time::Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(swept, 404, "the 3-day-old event was swept at start");
    let (status, _) = server.get(&format!("/api/v1/events/{}2", "0".repeat(31)));
    assert_eq!(status, 200);
    let (_, issues) = server.get("/api/v1/issues");
    assert_eq!(
        issues["issues"][0]["count"], 2,
        "issues keep their aggregates"
    );
    let bad = crate::support::faultline(&["serve", "--retention-days", "0"], "");
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("--retention-days must be a positive number of days"),
        "{}",
        bad.stderr
    );
}

#[test]
fn events_can_be_filtered() {
    let dir = temp_dir("serve-filters");
    let server = start(&dir, &[], None);
    let samples = std::fs::read_to_string(repo().join("examples/events.ndjson")).unwrap();
    assert_eq!(server.post(&samples).1["accepted"], 4);
    let count = |query: &str| {
        let (status, body) = server.get(&format!("/api/v1/events?{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        body["events"].as_array().unwrap().len()
    };
    assert_eq!(count("level=fatal"), 1);
    assert_eq!(count("level=warning"), 1);
    assert_eq!(count("category=availability"), 1);
    assert_eq!(count("category=availability.database"), 1);
    assert_eq!(count("category=avail"), 0, "whole path segments only");
    assert_eq!(count("project=1"), 4);
    assert_eq!(count("project=2"), 0);
    assert_eq!(
        count("since=2026-11-25T10:00:00Z&until=2026-11-25T10:30:00Z"),
        1
    );
    assert_eq!(count("since=4102444800"), 0);
    let issue = server.get("/api/v1/issues?sort=impact").1["issues"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, of_issue) = server.get(&format!("/api/v1/events?issue={issue}"));
    assert_eq!(
        of_issue["events"][0]["event_id"],
        "6f1c0ad4a0b94c0e8b2d2f1f7d7c1a01"
    );
    let (status, bad) = server.get("/api/v1/events?since=yesterday");
    assert_eq!(status, 400);
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("since=\"yesterday\"")
    );
    let url = format!("http://{}", server.addr);
    let cli = crate::support::faultline(
        &[
            "events",
            "--url",
            &url,
            "--key",
            &server.key,
            "--level",
            "fatal",
            "--json",
        ],
        "",
    );
    assert_eq!(cli.code, 0, "{}", cli.stderr);
    assert_eq!(cli.stdout.lines().count(), 1);
}

#[test]
fn dead_letters_are_kept_listed_and_replayed() {
    let dir = temp_dir("serve-dead-letter");
    let config = crate::support::write(
        &dir,
        "faultline.toml",
        &format!(
            "[plugins.r]\npath = \"{}\"\n\n[[chains.default.stages]]\nplugin = \"r\"\non_error = \"dead-letter\"\n",
            crate::support::test_plugin("hostile_redactor").display()
        ),
    );
    let data = dir.join("data");
    let server = start(&data, &["--config", &config], None);
    let stuck = "d".repeat(32);
    let body = format!(
        "{}\n{}\n",
        json!({"event_id": stuck, "message": "event-id"}),
        json!({"message": "fine"})
    );
    let (status, reply) = server.post(&body);
    assert_eq!(status, 200);
    assert_eq!(reply["accepted"], 1);
    assert!(
        reply["dropped"][0]["reason"]
            .as_str()
            .unwrap()
            .ends_with(&stuck),
        "{reply}"
    );
    let key = server.key.clone();
    assert!(server.terminate().success());

    let data_arg = data.to_str().unwrap();
    let list = crate::support::faultline(&["dead-letter", "list", "--data-dir", data_arg], "");
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains(&stuck) && list.stdout.contains("edit of `event_id` refused"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("1 dead-lettered events"));
    // Replayed through the built-in chain, whose redactor handles it.
    let replay = crate::support::faultline(&["dead-letter", "replay", "--data-dir", data_arg], "");
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    assert!(
        replay.stdout.contains("1 replayed, 0 still dead-lettered"),
        "{}",
        replay.stdout
    );
    let list = crate::support::faultline(&["dead-letter", "list", "--data-dir", data_arg], "");
    assert!(
        list.stdout.contains("0 dead-lettered events"),
        "{}",
        list.stdout
    );

    let server = start(&data, &[], Some(&key));
    let (status, event) = server.get(&format!("/api/v1/events/{stuck}"));
    assert_eq!(status, 200);
    assert_eq!(event["message"], "event-id");
    assert!(server.terminate().success());
}

#[test]
fn bad_http_input_is_refused_alone_with_a_reason() {
    let dir = temp_dir("serve-bad-input");
    let server = start(&dir, &[], None);
    let auth = format!("Bearer {}", server.key);
    let post = |content_type: &str, body: &[u8]| {
        let mut headers = vec![("Authorization", auth.as_str())];
        if !content_type.is_empty() {
            headers.push(("Content-Type", content_type));
        }
        raw_request(&server.addr, "POST", "/api/v1/events", &headers, body)
    };
    let (status, _, body) = post("application/xml", b"<event/>");
    assert_eq!(status, 415);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("application/x-ndjson"),
        "{body}"
    );
    let (status, _, body) = post("application/x-www-form-urlencoded", b"message=x");
    assert_eq!(status, 415, "{body}");
    let (status, _, body) = post(
        "application/json; charset=utf-8",
        br#"{"message": "typed"}"#,
    );
    assert_eq!((status, &body["accepted"]), (200, &json!(1)), "{body}");
    let (status, _, body) = post("", br#"{"message": "untyped"}"#);
    assert_eq!((status, &body["accepted"]), (200, &json!(1)), "{body}");

    // A line that is not UTF-8 fails alone; the lines around it are kept.
    let (status, _, body) = post(
        "application/x-ndjson",
        b"{\"message\": \"before\"}\n{\"message\": \"\xff\xfe\"}\n{\"message\": \"after\"}\n",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["errors"][0]["index"], 1);
    assert!(
        body["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not UTF-8"),
        "{body}"
    );

    // Truncated and malformed bodies, unknown fields, absurd timestamps.
    let (status, _, body) = post("application/json", b"[{\"message\": \"cut\"");
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid JSON array"),
        "{body}"
    );
    let (status, _, body) = post(
        "application/json",
        br#"[{"message": "odd field", "no_such_field": {"x": 1}}, {"message": "far future", "timestamp": 99999999999999}, {"message": "bad time", "timestamp": "next tuesday"}]"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["accepted"], 2,
        "unknown fields travel as attributes; future times clamp"
    );
    assert_eq!(body["errors"][0]["index"], 2);
    let ids: Vec<&str> = body["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let (_, odd) = server.get(&format!("/api/v1/events/{}", ids[0]));
    assert_eq!(odd["no_such_field"]["x"], 1, "{odd}");
    let (_, future) = server.get(&format!("/api/v1/events/{}", ids[1]));
    assert!(future["timestamp"].as_str().unwrap() < "2100", "{future}");
    assert_eq!(server.get("/healthz").0, 200, "the server is still up");

    // The per-event limit: an oversized event in a batch fails alone (native),
    // or refuses the request with 413 and X-Sentry-Error (Sentry).
    let dir = temp_dir("serve-event-limit");
    let server = start(&dir, &["--max-event-kb", "1"], None);
    let big = "x".repeat(1500);
    let (status, body) = server.post(&format!(
        "{{\"message\": \"small\"}}\n{{\"message\": \"{big}\"}}\n"
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["errors"][0]["index"], 1);
    let error = body["errors"][0]["error"].as_str().unwrap();
    assert!(error.contains("more than the limit of 1024"), "{error}");
    let (status, headers, _) = raw_request(
        &server.addr,
        "POST",
        &format!("/api/1/store/?sentry_key={}", server.dsn_key()),
        &[],
        format!("{{\"message\": \"{big}\"}}").as_bytes(),
    );
    assert_eq!(status, 413);
    assert!(
        headers.contains("x-sentry-error: event 0 is larger than 1024 bytes"),
        "{headers}"
    );
}

#[test]
fn http2_with_prior_knowledge_is_served() {
    let dir = temp_dir("serve-h2");
    let server = start(&dir, &[], None);
    let out = Command::new("curl")
        .args(["--http2-prior-knowledge", "-sS", "-X", "POST"])
        .args(["-H", &format!("Authorization: Bearer {}", server.key)])
        .args(["-H", "Content-Type: application/json"])
        .args(["--data-binary", r#"{"message": "over h2"}"#])
        .args(["-w", "\n%{http_version} %{http_code}"])
        .arg(format!("http://{}/api/v1/events", server.addr))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.ends_with("\n2 200"),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(body["accepted"], 1);
}

#[test]
fn sigterm_closes_idle_keep_alive_connections() {
    let dir = temp_dir("serve-keepalive");
    let server = start(&dir, &[], None);
    // A client that keeps its connection open after a request, as SDKs do.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(25)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    // The server closes the idle connection instead of waiting for the client.
    let closed = stream.read(&mut buf);
    assert!(
        matches!(closed, Ok(0)),
        "the idle connection was not closed: {closed:?}"
    );
    assert!(server.terminate().success());
}
