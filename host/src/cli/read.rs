//! `faultline events`, `faultline issues`, `faultline issue resolve ID`: read
//! the local data directory, or ask a running server with `--url`.

use std::path::PathBuf;

use faultline::storage::{Entry, Storage, Store};
use serde_json::{Value as Json, json};

use super::{BAD_CONFIG, FAILURE, OK};

/// Where to read from.
#[derive(clap::Args)]
pub struct Source {
    /// Data directory to read when no server holds it.
    #[arg(long, default_value = "./faultline-data")]
    data_dir: PathBuf,
    /// A running server to ask instead, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: Option<String>,
    /// API key for --url (or set FAULTLINE_KEY).
    #[arg(long, env = "FAULTLINE_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
pub enum IssueCommand {
    /// Marks an issue resolved.
    Resolve {
        /// Issue id.
        id: String,
    },
    /// Marks an issue ignored.
    Ignore {
        /// Issue id.
        id: String,
    },
    /// Marks an issue unresolved again.
    Unresolve {
        /// Issue id.
        id: String,
    },
}

fn remote(source: &Source, method: &str, path: &str, body: Option<Json>) -> Result<Json, String> {
    let url = format!(
        "{}{path}",
        source
            .url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/')
    );
    let key = source
        .key
        .as_deref()
        .ok_or("--url needs --key (or FAULTLINE_KEY) with the read role")?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let auth = format!("Bearer {key}");
    let response = match body {
        Some(b) => agent
            .patch(&url)
            .header("Authorization", &auth)
            .send_json(b),
        None if method == "GET" => agent.get(&url).header("Authorization", &auth).call(),
        None => return Err(format!("unsupported method {method}")),
    };
    let mut response = response.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{url}: {e}"))?;
    let value: Json = serde_json::from_str(&text).unwrap_or(Json::String(text));
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!(
            "{url}: {status}: {}",
            value
                .get("error")
                .and_then(Json::as_str)
                .unwrap_or(&value.to_string())
        ))
    }
}

fn local(source: &Source) -> Result<Storage, String> {
    if !source.data_dir.join("db").exists() {
        return Err(format!(
            "{} holds no faultline data; pass --data-dir, or --url for a server",
            source.data_dir.display()
        ));
    }
    Storage::open(&source.data_dir, 16, Default::default()).map_err(|e| {
        format!(
            "cannot open {}: {e}; if `faultline serve` is running on it, ask the server with --url http://HOST:PORT --key KEY",
            source.data_dir.display()
        )
    })
}

fn fail(e: String) -> i32 {
    eprintln!("error: {e}");
    FAILURE
}

/// Filters of `faultline events`.
#[derive(clap::Args)]
pub struct EventFilters {
    /// Only this project.
    #[arg(long)]
    project: Option<String>,
    /// Only events of this issue.
    #[arg(long)]
    issue: Option<String>,
    /// Only this level (debug, info, warning, error, fatal).
    #[arg(long)]
    level: Option<String>,
    /// Only classifications under this category path, e.g. `availability`.
    #[arg(long)]
    category: Option<String>,
    /// Only events at or after this time (RFC 3339 or epoch seconds).
    #[arg(long)]
    since: Option<String>,
    /// Only events at or before this time.
    #[arg(long)]
    until: Option<String>,
}

impl EventFilters {
    fn query(&self) -> String {
        [
            ("project", &self.project),
            ("issue", &self.issue),
            ("level", &self.level),
            ("category", &self.category),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("&{k}={v}")))
        .collect()
    }

    fn filter(&self) -> Result<faultline::storage::EventFilter, String> {
        let time = |name: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    faultline::event::parse_time(t)
                        .ok_or(format!("--{name} {t:?} is not RFC 3339 or epoch seconds"))
                })
                .transpose()
        };
        Ok(faultline::storage::EventFilter {
            project: self.project.clone(),
            issue: self.issue.clone(),
            level: self.level.clone(),
            category: self.category.clone(),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
        })
    }
}

/// `faultline events`
pub fn events(source: Source, limit: usize, filters: EventFilters) -> i32 {
    let filter = match filters.filter() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return BAD_CONFIG;
        }
    };
    let events = if source.url.is_some() {
        match remote(
            &source,
            "GET",
            &format!("/api/v1/events?limit={limit}{}", filters.query()),
            None,
        ) {
            Ok(v) => v["events"].as_array().cloned().unwrap_or_default(),
            Err(e) => return fail(e),
        }
    } else {
        match local(&source).and_then(|s| {
            s.events(limit, None, &filter)
                .map(|(e, _)| e)
                .map_err(|e| e.to_string())
        }) {
            Ok(e) => e,
            Err(e) => return fail(e),
        }
    };
    if source.json {
        for e in &events {
            println!("{e}");
        }
        return OK;
    }
    println!(
        "{:<32}  {:<27}  {:<7}  {:<26}  {:>5}  message",
        "event id", "timestamp", "level", "classification", "score"
    );
    for e in &events {
        let message = e["message"]
            .as_str()
            .or_else(|| e["exception"]["values"][0]["type"].as_str())
            .unwrap_or("");
        println!(
            "{:<32}  {:<27}  {:<7}  {:<26}  {:>5}  {}",
            e["event_id"].as_str().unwrap_or(""),
            e["timestamp"].as_str().unwrap_or(""),
            e["level"].as_str().unwrap_or(""),
            e["classification"]["code"].as_str().unwrap_or("-"),
            e["impact"]["score"]
                .as_u64()
                .map_or("-".to_string(), |s| s.to_string()),
            message.chars().take(60).collect::<String>()
        );
    }
    OK
}

/// `faultline issues`
pub fn issues(source: Source, status: Option<String>, sort: String) -> i32 {
    if !["impact", "last_seen", "count"].contains(&sort.as_str()) {
        eprintln!("error: --sort {sort:?} is not one of impact, last_seen, count");
        return BAD_CONFIG;
    }
    let issues: Vec<Json> = if source.url.is_some() {
        let mut path = format!("/api/v1/issues?sort={sort}");
        if let Some(s) = &status {
            path.push_str(&format!("&status={s}"));
        }
        match remote(&source, "GET", &path, None) {
            Ok(v) => v["issues"].as_array().cloned().unwrap_or_default(),
            Err(e) => return fail(e),
        }
    } else {
        let list = match local(&source).and_then(|s| s.list_issues(status.as_deref(), &sort)) {
            Ok(l) => l,
            Err(e) => return fail(e),
        };
        list.into_iter()
            .map(|i| serde_json::to_value(i).expect("issue serializes"))
            .collect()
    };
    if source.json {
        for i in &issues {
            println!("{i}");
        }
        return OK;
    }
    println!(
        "{:<16}  {:<10}  {:>6}  {:>5}  {:>6}  {:<26}  title",
        "issue id", "status", "events", "users", "impact", "classification"
    );
    for i in &issues {
        println!(
            "{:<16}  {:<10}  {:>6}  {:>5}  {:>6}  {:<26}  {}",
            i["id"].as_str().unwrap_or(""),
            i["status"].as_str().unwrap_or(""),
            i["count"].to_string(),
            i["users"].to_string(),
            i["max_impact"].to_string(),
            i["classification"]["code"].as_str().unwrap_or("-"),
            i["title"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(70)
                .collect::<String>()
        );
    }
    OK
}

/// `faultline stats`: per-minute counts, as `GET /api/v1/stats` gives them.
pub fn stats(
    source: Source,
    by: String,
    since: Option<String>,
    until: Option<String>,
    project: Option<String>,
) -> i32 {
    let by_kind = match faultline::storage::StatsBy::parse(&by) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: --{e}");
            return BAD_CONFIG;
        }
    };
    let mut times = [None, None];
    for (slot, (flag, value)) in times
        .iter_mut()
        .zip([("--since", &since), ("--until", &until)])
    {
        if let Some(v) = value {
            match faultline::event::parse_time(v) {
                Some(t) => *slot = Some(t),
                None => {
                    eprintln!("error: {flag} {v:?} is not RFC 3339 or seconds since the epoch");
                    return BAD_CONFIG;
                }
            }
        }
    }
    let buckets: Vec<Json> = if source.url.is_some() {
        let mut query = vec![format!("by={by}")];
        for (name, value) in [("since", &since), ("until", &until), ("project", &project)] {
            if let Some(v) = value {
                query.push(format!(
                    "{name}={}",
                    form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                ));
            }
        }
        match remote(
            &source,
            "GET",
            &format!("/api/v1/stats?{}", query.join("&")),
            None,
        ) {
            Ok(v) => v["buckets"].as_array().cloned().unwrap_or_default(),
            Err(e) => return fail(e),
        }
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let until = times[1].unwrap_or(now);
        let since = times[0].unwrap_or(until - 3600.0);
        match local(&source).and_then(|s| {
            s.stats(since, until, by_kind, project.as_deref())
                .map_err(|e| e.to_string())
        }) {
            Ok(b) => b
                .into_iter()
                .map(|b| serde_json::to_value(b).expect("buckets serialize"))
                .collect(),
            Err(e) => return fail(e),
        }
    };
    if source.json {
        for b in &buckets {
            println!("{b}");
        }
        return OK;
    }
    println!("{:<20}  {:>6}  counts", "minute (UTC)", "events");
    for b in &buckets {
        let counts = b["counts"]
            .as_object()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        println!(
            "{:<20}  {:>6}  {counts}",
            b["minute"].as_str().unwrap_or("").get(..16).unwrap_or(""),
            b["total"]
        );
    }
    OK
}

/// `faultline issue resolve|ignore|unresolve ID`
pub fn issue(source: Source, command: IssueCommand) -> i32 {
    let (id, status) = match command {
        IssueCommand::Resolve { id } => (id, "resolved"),
        IssueCommand::Ignore { id } => (id, "ignored"),
        IssueCommand::Unresolve { id } => (id, "unresolved"),
    };
    if source.url.is_some() {
        return match remote(
            &source,
            "PATCH",
            &format!("/api/v1/issues/{id}"),
            Some(json!({ "status": status })),
        ) {
            Ok(_) => {
                println!("issue {id}: {status}");
                OK
            }
            Err(e) => fail(e),
        };
    }
    let storage = match local(&source) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match storage.issue(&id) {
        Ok(Some(_)) => {}
        Ok(None) => return fail(format!("no issue {id} in {}", source.data_dir.display())),
        Err(e) => return fail(e.to_string()),
    }
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let entry = Entry::IssueStatus {
        issue: id.clone(),
        status: status.into(),
        actor,
    };
    match storage.write_and_wait(entry) {
        Ok(_) => {
            println!("issue {id}: {status}");
            OK
        }
        Err(e) => fail(e),
    }
}
