//! HTTP ingest benchmark: prints figures, asserts nothing.
//!
//! `cargo bench -p faultline --bench ingest [-- --seconds S --batch N --clients C --rate R]`
//!
//! Starts `faultline serve` (built-in default chain, durable acknowledgements)
//! on loopback and drives it from this process:
//! 1. sustained events/s with C keep-alive connections posting batches of N
//!    2 KB Sentry-shaped events as fast as acknowledgements come back, then
//!    the same with one event per request (what Sentry SDKs send);
//! 2. acknowledgement latency p50/p99 of single-event requests sent on a
//!    fixed schedule at half the single-event rate (open loop; latency counts
//!    from when a request was due, so falling behind shows);
//! 3. the same open loop against the floor: two servers of the bench's own
//!    (hyper on one HTTP thread with a group-committing thread, as faultline
//!    is built; a thread per connection) that only append each body to a file
//!    and answer once it is `fdatasync`ed: what no durable acknowledgement
//!    can do without, on the same cores;
//! 4. the disk's own `fdatasync` latency p50/p99, measured in the same run,
//!    for appends and for overwrites of a file written beforehand.
//!
//! Server and load generator share the machine's cores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline_testkit::corpus::{Rng, sized_event};
use faultline_testkit::{bench_arg, bench_text_arg};

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connecting");
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    /// Posts one body on the kept-alive connection; returns whether it got 200.
    fn post(&mut self, key: &str, body: &[u8]) -> bool {
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).unwrap();
        self.writer.write_all(body).unwrap();
        self.response().0
    }

    /// The server's `/metrics` text.
    fn metrics(&mut self) -> String {
        self.writer
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        String::from_utf8(self.response().1).unwrap()
    }

    /// Whether the response was 200, and its body.
    fn response(&mut self) -> (bool, Vec<u8>) {
        let (status, body) = read_message(&mut self.reader).expect("a response");
        (status.starts_with("HTTP/1.1 200"), body)
    }
}

/// Reads one HTTP/1.1 message with a `Content-Length` body: its first line
/// and its body; `None` when the connection closed before it.
fn read_message(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut first = String::new();
    if reader.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((first, body))
}

/// Sums and counts of the server's histograms at one moment, by series.
struct Scrape(std::collections::HashMap<String, f64>);

impl Scrape {
    fn take(conn: &mut Conn) -> Scrape {
        Scrape(
            conn.metrics()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.rsplit_once(' '))
                .filter(|(series, _)| {
                    ["_sum", "_count", "_bucket"]
                        .iter()
                        .any(|s| series.contains(s))
                })
                .map(|(series, v)| (series.to_string(), v.parse().unwrap_or(0.0)))
                .collect(),
        )
    }

    /// Mean of histogram `name` between `earlier` and now, per series (labels).
    fn means(&self, earlier: &Scrape, name: &str) -> Vec<f64> {
        let delta = |series: &str| {
            self.0.get(series).unwrap_or(&0.0) - earlier.0.get(series).unwrap_or(&0.0)
        };
        self.0
            .keys()
            .filter_map(|k| Some((k, k.strip_prefix(name)?.strip_prefix("_sum")?)))
            .map(|(sum, labels)| delta(sum) / delta(&format!("{name}_count{labels}")).max(1.0))
            .collect()
    }

    /// Mean of one series of histogram `name` (`labels` as written, e.g.
    /// `{phase="queued"}`) between `earlier` and now.
    fn mean(&self, earlier: &Scrape, name: &str, labels: &str) -> f64 {
        let delta = |series: String| {
            self.0.get(&series).unwrap_or(&0.0) - earlier.0.get(&series).unwrap_or(&0.0)
        };
        delta(format!("{name}_sum{labels}")) / delta(format!("{name}_count{labels}")).max(1.0)
    }

    /// The upper bound of the bucket of histogram series `name{labels}` in
    /// which quantile `q` of what it observed since `earlier` falls, in
    /// seconds (the buckets are coarse: 1, 2.5, 5, 10 ms, …).
    fn quantile_bound(&self, earlier: &Scrape, name: &str, labels: &str, q: f64) -> f64 {
        let prefix = format!("{name}_bucket{{{labels}le=\"");
        let mut buckets: Vec<(f64, f64)> = self
            .0
            .iter()
            .filter_map(|(series, v)| {
                let bound = series.strip_prefix(&prefix)?.strip_suffix("\"}")?;
                let bound = if bound == "+Inf" {
                    f64::INFINITY
                } else {
                    bound.parse().ok()?
                };
                Some((bound, v - earlier.0.get(series).unwrap_or(&0.0)))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total = buckets.last().map_or(0.0, |b| b.1);
        buckets
            .iter()
            .find(|(_, n)| *n >= q * total)
            .map_or(f64::NAN, |b| b.0)
    }

    /// What the server reports for the phase since `earlier`: the chain's time
    /// per event (its stages' mean times added up), writes per fsync, the
    /// mean fsync time, writes per sled transaction, and its mean time.
    fn phase(&self, earlier: &Scrape) -> (f64, f64, f64, f64, f64) {
        let chain = self
            .means(earlier, "faultline_stage_duration_seconds")
            .iter()
            .sum::<f64>()
            * 1e6;
        let batch = self.mean(earlier, "faultline_commit_batch_size", "");
        let fsync = self.mean(earlier, "faultline_commit_fsync_seconds", "") * 1e3;
        let applied = self.mean(earlier, "faultline_apply_batch_size", "");
        let apply = self.mean(earlier, "faultline_apply_seconds", "") * 1e3;
        (chain, batch, fsync, applied, apply)
    }
}

/// CPU time used so far, in seconds, by the server's threads grouped by
/// name, by the whole server (exited threads included) and by this process
/// (the load generator), read from `/proc`; empty where there is none.
#[derive(Default)]
struct Cpu {
    /// The thread groups: name prefix, and what the group is.
    table: &'static [(&'static str, &'static str)],
    groups: std::collections::BTreeMap<&'static str, f64>,
    /// Times the group's threads were put on a core so far (the third
    /// field of `/proc/.../schedstat`): wake-ups, and resumptions after
    /// being preempted.
    scheduled: std::collections::BTreeMap<&'static str, f64>,
    server: f64,
    load: f64,
}

/// The server's thread groups, by the prefix of their names.
const GROUPS: [(&str, &str); 4] = [
    ("faultline-worke", "chain workers"),
    ("faultline-write", "writer"),
    ("faultline-http", "HTTP"),
    ("sled-io", "sled I/O"),
];

/// The floor server's threads (see `floor_server`).
const FLOOR_GROUPS: [(&str, &str); 2] = [("floor-http", "HTTP"), ("floor-sync", "sync thread")];

impl Cpu {
    fn take(server: u32) -> Cpu {
        Cpu::of(server, &GROUPS)
    }

    /// The CPU of process `server`'s threads grouped by `table`.
    fn of(server: u32, table: &'static [(&'static str, &'static str)]) -> Cpu {
        // utime and stime, the 14th and 15th fields, come after the name in
        // parentheses (which may hold spaces).
        fn seconds(stat: &str) -> Option<(String, f64)> {
            let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
            let fields: Vec<&str> = rest.split(' ').collect();
            let ticks: f64 =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some((name.to_string(), ticks / clock_ticks()))
        }
        let read = |path: String| std::fs::read_to_string(path).ok().and_then(|s| seconds(&s));
        let mut cpu = Cpu {
            table,
            ..Cpu::default()
        };
        let Some((_, server_total)) = read(format!("/proc/{server}/stat")) else {
            return cpu;
        };
        cpu.server = server_total;
        cpu.load = read("/proc/self/stat".into()).map_or(0.0, |(_, s)| s);
        for task in std::fs::read_dir(format!("/proc/{server}/task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Some((name, used)) = read(format!("{}/stat", task.path().display()))
                && let Some((_, group)) = table.iter().find(|(prefix, _)| name.starts_with(prefix))
            {
                *cpu.groups.entry(group).or_default() += used;
                let scheduled = std::fs::read_to_string(task.path().join("schedstat"))
                    .ok()
                    .and_then(|s| s.split_whitespace().nth(2)?.parse::<f64>().ok());
                *cpu.scheduled.entry(group).or_default() += scheduled.unwrap_or(0.0);
            }
        }
        cpu
    }

    /// Microseconds of CPU per event between `earlier` and now, by group;
    /// what the named groups do not account for (sled's I/O threads that
    /// exited, the epoch ticker, start-up) is "other".
    fn per_event(&self, earlier: &Cpu, events: usize) -> Vec<(&'static str, f64)> {
        let us = |now: f64, then: f64| (now - then) * 1e6 / events.max(1) as f64;
        let mut rows: Vec<(&'static str, f64)> = self
            .table
            .iter()
            .map(|(_, g)| {
                (
                    *g,
                    us(
                        *self.groups.get(g).unwrap_or(&0.0),
                        *earlier.groups.get(g).unwrap_or(&0.0),
                    ),
                )
            })
            .collect();
        let named: f64 = rows.iter().map(|r| r.1).sum();
        rows.push((
            "other server threads",
            us(self.server, earlier.server) - named,
        ));
        rows.push(("server, all threads", us(self.server, earlier.server)));
        rows.push(("load generator", us(self.load, earlier.load)));
        rows
    }

    /// Times each group's threads were put on a core between `earlier` and
    /// now, per event (threads that exited meanwhile are not counted).
    fn scheduled_per_event(&self, earlier: &Cpu, events: usize) -> Vec<(&'static str, f64)> {
        self.table
            .iter()
            .map(|(_, g)| {
                let now = self.scheduled.get(g).unwrap_or(&0.0);
                let then = earlier.scheduled.get(g).unwrap_or(&0.0);
                (*g, (now - then) / events.max(1) as f64)
            })
            .collect()
    }
}

#[cfg(target_os = "linux")]
fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant of the running system.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

#[cfg(not(target_os = "linux"))]
fn clock_ticks() -> f64 {
    100.0
}

/// Renders a request body: `count` events from the templates starting at
/// `first`, each with the next id from the iterator.
type Render =
    std::sync::Arc<dyn Fn(&mut dyn Iterator<Item = String>, usize, usize) -> Vec<u8> + Send + Sync>;

/// What an open loop measured.
struct OpenLoop {
    /// Each acknowledgement's latency from when its request was due, in ms,
    /// sorted.
    latencies: Vec<f64>,
    /// Requests sent per second.
    sent: f64,
    /// Each request's own round trip, from when it was sent, in ms, with
    /// when it was sent (seconds into the run) and by which client.
    round_trips: Vec<(f64, f64, usize)>,
    /// How late each request was sent after it was due, in ms, sorted.
    late: Vec<f64>,
}

impl OpenLoop {
    /// Where the slowest round trips were: the slowest, how late requests
    /// were sent (a client falls behind its schedule when its thread does
    /// not get a core in time, or its previous request took long), and
    /// the round trips over `over` ms: how many, from how many clients, and
    /// over what span of the run. A stall of the server's shows as every
    /// client's requests slow at once; a client's own as one client's.
    fn slowest(&self, over: f64) -> String {
        let Some(&(worst, at, _)) = self.round_trips.iter().max_by(|a, b| a.0.total_cmp(&b.0))
        else {
            return "no requests".into();
        };
        let slow: Vec<&(f64, f64, usize)> =
            self.round_trips.iter().filter(|r| r.0 > over).collect();
        let mut clients: Vec<usize> = slow.iter().map(|r| r.2).collect();
        clients.sort_unstable();
        clients.dedup();
        let first = slow.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        let last = slow.iter().map(|r| r.1).fold(0.0, f64::max);
        let mut text = format!(
            "slowest round trip {worst:.2} ms (sent {at:.2} s in); sent late by p99 {:.2} ms, at most {:.2}",
            percentile(&self.late, 0.99),
            self.late.last().copied().unwrap_or(0.0)
        );
        if !slow.is_empty() {
            text += &format!(
                "; {} over {over} ms, from {} of the clients, sent between {first:.2} and {last:.2} s in",
                slow.len(),
                clients.len()
            );
        }
        text
    }
}

/// Open loop: `clients` connections each send one event per request on a
/// fixed schedule, `rate` requests/s in all, for `seconds`; an
/// acknowledgement's latency counts from when its request was due, so a
/// server that falls behind cannot hide it by delaying the requests that
/// would have waited.
fn open_loop(
    addr: &str,
    key: &str,
    render: &Render,
    clients: usize,
    rate: f64,
    seconds: f64,
) -> OpenLoop {
    let per_client = rate / clients as f64;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (addr, key, render) = (addr.to_string(), key.to_string(), render.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::open(&addr);
                let mut measured = Vec::new();
                let interval = Duration::from_secs_f64(1.0 / per_client);
                // Clients start spread over one interval, not all at once.
                let mut due = Instant::now() + interval.mul_f64(c as f64 / clients as f64);
                let mut i = 0u64;
                while due < deadline {
                    let now = Instant::now();
                    if now < due {
                        std::thread::sleep(due - now);
                    }
                    let mut ids = std::iter::once(format!("ffff{c:04x}{i:024x}"));
                    let body = render(&mut ids, 1, i as usize);
                    let sent = Instant::now();
                    conn.post(&key, &body);
                    measured.push((
                        due.elapsed().as_secs_f64() * 1e3,
                        sent.saturating_duration_since(due).as_secs_f64() * 1e3,
                        (
                            sent.elapsed().as_secs_f64() * 1e3,
                            (sent - start).as_secs_f64(),
                            c,
                        ),
                    ));
                    due += interval;
                    i += 1;
                }
                measured
            })
        })
        .collect();
    let measured: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let sent = measured.len() as f64 / start.elapsed().as_secs_f64();
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    OpenLoop {
        latencies: sorted(measured.iter().map(|m| m.0).collect()),
        late: sorted(measured.iter().map(|m| m.1).collect()),
        round_trips: measured.into_iter().map(|m| m.2).collect(),
        sent,
    }
}

/// The floor under faultline's acknowledgements on this machine: a server
/// that does nothing but what a durable acknowledgement cannot do without.
/// It reads each request with hyper on one HTTP thread, as `faultline serve`
/// does, hands the body to a thread that appends every body queued to one
/// file and `fdatasync`s it (group commit), and answers 200 once its body is
/// durable: no parsing, no chain, no index. Returns its address; it runs
/// until the process exits.
fn floor_server(log: std::path::PathBuf) -> String {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    type Durable = tokio::sync::oneshot::Sender<()>;
    let (tx, rx) = crossbeam_channel::unbounded::<(bytes::Bytes, Durable)>();
    std::thread::Builder::new()
        .name("floor-sync".into())
        .spawn(move || {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap();
            while let Ok(first) = rx.recv() {
                let mut group = vec![first];
                group.extend(rx.try_iter());
                for (body, _) in &group {
                    file.write_all(body).unwrap();
                }
                file.sync_data().unwrap();
                for (_, durable) in group {
                    let _ = durable.send(());
                }
            }
        })
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("floor-http")
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let (durable, done) = tokio::sync::oneshot::channel();
                            tx.send((body, durable)).unwrap();
                            done.await.unwrap();
                            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(
                                bytes::Bytes::from_static(b"{}"),
                            )))
                        }
                    },
                );
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                tokio::spawn(async move {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// The floor without an async runtime: a thread per connection that reads
/// each request itself, appends its body to the shared file and calls
/// `fdatasync` before answering (concurrent calls share the disk's flushes).
fn floor_threads(log: std::path::PathBuf) -> String {
    let file = std::sync::Arc::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            let file = file.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                while let Some((_, body)) = read_message(&mut reader) {
                    (&*file).write_all(&body).unwrap();
                    file.sync_data().unwrap();
                    writer
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                        .unwrap();
                }
            });
        }
    });
    addr
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let seconds = bench_arg("--seconds", 5.0);
    let batch = bench_arg("--batch", 50.0) as usize;
    let clients = bench_arg("--clients", 8.0) as usize;
    let dir = std::env::temp_dir().join(format!("faultline-ingest-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // `--server PATH` drives another build (e.g. an earlier commit's) instead,
    // to compare builds in the same window.
    let binary = bench_text_arg("--server").unwrap_or(env!("CARGO_BIN_EXE_faultline").into());
    let mut server = Command::new(&binary)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.to_str().unwrap(),
            "--queue",
            "100000",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting faultline serve");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let (mut key, mut addr) = (String::new(), String::new());
    while addr.is_empty() {
        let line = lines.next().unwrap().unwrap();
        if let Some(k) =
            line.strip_prefix("created admin API key (shown once; only its hash is stored): ")
        {
            key = k.to_string();
        }
        if let Some(rest) = line.strip_prefix("faultline listening on http://") {
            addr = rest.split(' ').next().unwrap().to_string();
        }
    }
    std::thread::spawn(move || for _ in lines {});

    let mut rng = Rng::new(3);
    // Events rendered once with a placeholder id, patched per request so every
    // event is new (stored, not deduplicated) without re-serializing it.
    let placeholder = "0".repeat(32);
    let templates: Vec<(String, usize)> = (0..2000)
        .map(|i| {
            let mut e = sized_event(i, 2048, &mut rng);
            e["event_id"] = serde_json::Value::String(placeholder.clone());
            let text = e.to_string();
            let at = text.find(&placeholder).unwrap();
            (text, at)
        })
        .collect();
    let render =
        move |ids: &mut dyn Iterator<Item = String>, count: usize, first: usize| -> Vec<u8> {
            let mut body = Vec::new();
            for i in 0..count {
                let (text, at) = &templates[(first + i) % templates.len()];
                let start = body.len();
                body.extend_from_slice(text.as_bytes());
                body[start + at..start + at + 32].copy_from_slice(ids.next().unwrap().as_bytes());
                body.push(b'\n');
            }
            body
        };
    let render: Render = std::sync::Arc::new(render);

    // 1. Closed loop: as fast as acknowledgements come back, in batches and
    //    then one event per request (what Sentry SDKs send).
    let closed_loop = |batch: usize, tag: u32| -> (usize, f64) {
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(seconds);
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (addr, key, render) = (addr.clone(), key.clone(), render.clone());
                std::thread::spawn(move || {
                    let mut conn = Conn::open(&addr);
                    let mut sent = 0usize;
                    let mut round = 0u64;
                    while Instant::now() < deadline {
                        let mut ids =
                            (0..batch).map(|i| format!("{tag:04x}{c:04x}{round:016x}{i:08x}"));
                        let body = render(&mut ids, batch, round as usize * batch);
                        if conn.post(&key, &body) {
                            sent += batch;
                        }
                        round += 1;
                    }
                    sent
                })
            })
            .collect();
        let acked: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        (acked, acked as f64 / start.elapsed().as_secs_f64())
    };
    let mut observer = Conn::open(&addr);
    let pid = server.id();
    let before = (Scrape::take(&mut observer), Cpu::take(pid));
    let (acked, rate) = closed_loop(batch, 1);
    let batched = (Scrape::take(&mut observer), Cpu::take(pid));
    let (single_acked, single_rate) = closed_loop(1, 2);
    let single = (Scrape::take(&mut observer), Cpu::take(pid));
    drop(observer);

    // 2. Open loop at half the one-event-per-request rate: each client sends
    //    on a fixed schedule, and an acknowledgement's latency counts from
    //    when its request was due, so a server that falls behind cannot hide
    //    it by delaying the requests that would have waited.
    // `--rate R` sends at R requests/s instead, to compare builds at one load.
    let target = bench_arg("--rate", single_rate / 2.0);
    let mut observer = Conn::open(&addr);
    let before_open = (Scrape::take(&mut observer), Cpu::take(pid));
    let run = open_loop(&addr, &key, &render, clients, target, seconds);
    let (latencies, achieved) = (&run.latencies, run.sent);
    let after_open = (Scrape::take(&mut observer), Cpu::take(pid));
    let (before_open, open_cpu) = (before_open.0, (before_open.1, after_open.1));
    let after_open = after_open.0;
    drop(observer);

    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    server.wait().unwrap();

    // 3. The floor: the same open loop against servers that only make each
    //    body durable before answering (`floor_server`, `floor_threads`),
    //    with faultline stopped.
    let floor_addr = floor_server(dir.join("floor-log"));
    let own = std::process::id();
    let floor_before = Cpu::of(own, &FLOOR_GROUPS);
    let floor_run = open_loop(&floor_addr, &key, &render, clients, target, seconds);
    let (floor, floor_sent) = (&floor_run.latencies, floor_run.sent);
    let floor_cpu = (floor_before, Cpu::of(own, &FLOOR_GROUPS));
    let threads_addr = floor_threads(dir.join("floor-threads-log"));
    let threads_run = open_loop(&threads_addr, &key, &render, clients, target, seconds);
    let (floor_threaded, threads_sent) = (&threads_run.latencies, threads_run.sent);

    // 4. The disk's own fdatasync latency, beside the data directory: 4 KiB
    //    appends (what the probe of the target means, and what faultline's
    //    log does), and, alternating with them, 4 KiB overwrites of a file
    //    written and synced beforehand, whose syncs change no size or block
    //    allocation (what a log on pre-written segments would pay).
    let open = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(dir.join(name))
            .unwrap()
    };
    let appended = open("fsync-probe");
    let written = open("fsync-probe-written");
    const BLOCKS: u64 = 2048;
    written
        .write_all_at(&vec![0u8; BLOCKS as usize * 4096], 0)
        .unwrap();
    written.sync_all().unwrap();
    // For as long as the latency run, so that the disk's rare slow syncs
    // weigh the same in both percentiles.
    let (mut fsyncs, mut overwrites) = (Vec::new(), Vec::new());
    let probe_deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut block = 0u64;
    while Instant::now() < probe_deadline {
        for (file, at, times) in [
            (&appended, block * 4096, &mut fsyncs),
            (&written, (block % BLOCKS) * 4096, &mut overwrites),
        ] {
            file.write_all_at(&[1u8; 4096], at).unwrap();
            let t = Instant::now();
            file.sync_data().unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        block += 1;
    }
    fsyncs.sort_by(f64::total_cmp);
    overwrites.sort_by(f64::total_cmp);

    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "faultline serve, built-in default chain, durable acks; {clients} clients on loopback; server and load share the cores"
    );
    println!();
    println!("sustained, batches of {batch} events (2 KB each) per request:");
    println!("  {rate:>10.0} events/s acknowledged ({acked} in {seconds:.1} s)");
    println!("sustained, one event per request:");
    println!("  {single_rate:>10.0} events/s acknowledged ({single_acked} in {seconds:.1} s)");
    println!("inside the server in those two runs (its /metrics):");
    let (in_batches, one_by_one) = (batched.0.phase(&before.0), single.0.phase(&batched.0));
    println!("                                        batches of {batch:<4}  one per request");
    println!(
        "  chain, us per event (stage means)   {:>10.1}  {:>14.1}",
        in_batches.0, one_by_one.0
    );
    println!(
        "  writes per fsync                    {:>10.1}  {:>14.1}",
        in_batches.1, one_by_one.1
    );
    println!(
        "  log fsync, ms (mean)                {:>10.2}  {:>14.2}",
        in_batches.2, one_by_one.2
    );
    println!(
        "  writes per sled transaction         {:>10.1}  {:>14.1}",
        in_batches.3, one_by_one.3
    );
    println!(
        "  sled transaction, ms (mean)         {:>10.2}  {:>14.2}",
        in_batches.4, one_by_one.4
    );
    let cpu_batched = batched.1.per_event(&before.1, acked);
    let cpu_single = single.1.per_event(&batched.1, single_acked);
    if before.1.server > 0.0 {
        println!("  CPU, us per event (from /proc):");
        for ((group, b), (_, one)) in cpu_batched.iter().zip(&cpu_single) {
            println!("    {group:<34}{b:>10.1}  {one:>14.1}");
        }
        println!("  put on a core, times per event (from /proc):");
        let (b, one) = (
            batched.1.scheduled_per_event(&before.1, acked),
            single.1.scheduled_per_event(&batched.1, single_acked),
        );
        for ((group, b), (_, one)) in b.iter().zip(&one) {
            println!("    {group:<34}{b:>10.2}  {one:>14.2}");
        }
    }
    println!();
    println!(
        "open loop at {} ({target:.0} requests/s due, {achieved:.0}/s sent), one event per request,",
        if bench_text_arg("--rate").is_some() {
            "the rate asked for"
        } else {
            "half the one-event rate"
        }
    );
    println!("latency from when each request was due:");
    println!(
        "  ack latency p50 {:.2} ms, p99 {:.2} ms ({} requests)",
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        latencies.len()
    );
    println!("  {}", run.slowest(10.0));
    // Where the mean acknowledgement goes, from the server's own histograms;
    // the rest is reading the request, the hand-offs back and the reply.
    let phase = |name: &str| {
        let labels = format!("{{phase=\"{name}\"}}");
        after_open.mean(&before_open, "faultline_event_phase_seconds", &labels) * 1e3
    };
    let (queued, processing, storing) = (phase("queued"), phase("processing"), phase("storing"));
    let p99 = |name: &str| {
        let labels = format!("phase=\"{name}\",");
        after_open.quantile_bound(&before_open, "faultline_event_phase_seconds", &labels, 0.99)
            * 1e3
    };
    let mean = latencies.iter().sum::<f64>() / latencies.len().max(1) as f64;
    println!(
        "  mean {mean:.2} ms: queued {queued:.2}, chain and document {processing:.2}, \
         write until durable {storing:.2}, the rest {:.2} (HTTP, hand-offs)",
        mean - queued - processing - storing
    );
    println!(
        "  p99 at most (histogram buckets): queued {}, chain and document {}, write until durable {} ms",
        p99("queued"),
        p99("processing"),
        p99("storing")
    );
    let (_, batch, fsync, applied, apply) = after_open.phase(&before_open);
    println!(
        "  the log's fsync {fsync:.2} ms for {batch:.1} writes; sled's apply {apply:.2} ms for {applied:.1} writes (means)"
    );
    if open_cpu.0.server > 0.0 {
        let (then, now) = &open_cpu;
        let cpu = now.per_event(then, latencies.len());
        let scheduled = now.scheduled_per_event(then, latencies.len());
        println!("  per request, by thread group: CPU us (times put on a core)");
        let line: Vec<String> = cpu
            .iter()
            .zip(&scheduled)
            .map(|((group, us), (_, times))| format!("{group} {us:.1} ({times:.1})"))
            .collect();
        println!("    {}", line.join(", "));
    }
    println!();
    println!(
        "the disk's fdatasync, same run, {seconds:.0} s alternating ({} syncs of each):",
        fsyncs.len()
    );
    println!(
        "  4 KiB appends:                      p50 {:.2} ms, p99 {:.2} ms",
        percentile(&fsyncs, 0.50),
        percentile(&fsyncs, 0.99)
    );
    println!(
        "  4 KiB overwrites of a written file: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&overwrites, 0.50),
        percentile(&overwrites, 0.99)
    );
    println!(
        "  ack p99 / fsync p99 (appends): {:.1}x",
        percentile(latencies, 0.99) / percentile(&fsyncs, 0.99)
    );
    println!();
    println!(
        "the floor: the same open loop against servers of this bench's own that only append each body to a file"
    );
    println!(
        "and answer once it is fdatasynced (faultline stopped), latency from when each request was due:"
    );
    println!(
        "                                               sent/s   p50 ms   p99 ms  mean ms  p99 / fsync p99"
    );
    let fsync_p99 = percentile(&fsyncs, 0.99);
    let row = |name: &str, sent: f64, latencies: &[f64]| {
        let p99 = percentile(latencies, 0.99);
        println!(
            "  {name:<42} {sent:>8.0} {:>8.2} {p99:>8.2} {:>8.2} {:>15.1}x",
            percentile(latencies, 0.50),
            latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
            p99 / fsync_p99
        );
    };
    row("hyper on one HTTP thread, group commit", floor_sent, floor);
    row(
        "a thread per connection, each syncing",
        threads_sent,
        floor_threaded,
    );
    row("faultline serve (above)", achieved, latencies);
    println!("  hyper floor: {}", floor_run.slowest(10.0));
    println!("  thread per connection: {}", threads_run.slowest(10.0));
    let (then, now) = &floor_cpu;
    let line: Vec<String> = now
        .per_event(then, floor.len())
        .iter()
        .zip(now.scheduled_per_event(then, floor.len()))
        .map(|((group, us), (_, times))| format!("{group} {us:.1} ({times:.1})"))
        .collect();
    println!(
        "  the hyper floor per request, CPU us (times put on a core): {}",
        line.join(", ")
    );
}
