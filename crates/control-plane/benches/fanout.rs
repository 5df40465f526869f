//! Benchmark 8b (docs/performance.md): SSE fan-out. 500 clients hold
//! `GET /v1/events/stream` open over loopback while 1k events/s are committed (10 events
//! per durable commit, every 10 ms). Each client splits its stream into SSE frames,
//! checks that the ids run on without a gap or a repeat, and records delivery lag:
//! arrival time minus the event's own commit timestamp (`at`, same clock). Starvation
//! shows as a client that received fewer events, or a much worse lag, than the others.
//!
//! The server and the writer run in this process; the 500 clients run in a child
//! process (this same binary, started with `FANOUT_CLIENTS_OF` set), so their work
//! does not compete inside the server's runtime, as it would not in real life. They
//! still share this machine's cores, so a client reads only what the lag needs (the
//! frame's id and the event's `at`) instead of decoding the whole event as a console
//! does: what is measured is the server's fan-out, not 500 JSON decoders on 2 cores
//! (benchmarks 3 and 4 measure the console's own decoding).
//!
//! `cargo bench -p fleetdeck-control-plane --bench fanout` (`PERF_SECONDS`, default 10;
//! `PERF_CLIENTS`, default 500)

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fleetdeck_api::Level;
use fleetdeck_control_plane::store::events::{NewEvent, append};
use futures_util::StreamExt;

const PER_SECOND: u64 = 1_000;
const PER_COMMIT: u64 = 10;
/// Set in the child: the server's base URL.
const CLIENTS_OF: &str = "FANOUT_CLIENTS_OF";
/// The child's first line once every client is connected.
const READY: &str = "clients connected";

/// What a client reads of one SSE frame: its id and the event's commit time.
fn seen(frame: &[u8]) -> Option<(u64, DateTime<Utc>)> {
    let text = std::str::from_utf8(frame).ok()?;
    let id = text
        .strip_prefix("id: ")?
        .split('\n')
        .next()?
        .parse()
        .ok()?;
    let at = text.split_once("\"at\":\"")?.1.split('"').next()?;
    Some((
        id,
        DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
    ))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds = env_u64("PERF_SECONDS", 10).clamp(1, 120);
    let clients = env_u64("PERF_CLIENTS", 500).clamp(1, 5_000) as usize;
    let duration = Duration::from_secs(seconds);
    match std::env::var(CLIENTS_OF) {
        Ok(base) => {
            let first = env_u64("FANOUT_FIRST", 0);
            support::runtime().block_on(clients_side(&base, clients, first, duration));
        }
        Err(_) => support::runtime().block_on(run(clients, duration)),
    }
}

/// The child: connects every client, says so, then reads until the last event (or a
/// deadline) and prints the lag report.
async fn clients_side(base: &str, count: usize, first: u64, duration: Duration) {
    let client = reqwest::Client::new();
    let last = first + duration.as_secs() * PER_SECOND;
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        let resp = client
            .get(format!("{base}/v1/events/stream?after={first}"))
            .bearer_auth(support::token(support::OPERATOR))
            .send()
            .await
            .expect("stream opens");
        assert!(resp.status().is_success(), "stream: {}", resp.status());
        clients.push(resp);
    }
    println!("{READY}");
    let deadline = Instant::now() + duration + Duration::from_secs(15);
    let started = support::cpu_seconds("self");
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|resp| {
            tokio::spawn(async move {
                let mut lags = Vec::new();
                let mut stream = resp.bytes_stream();
                let mut pending: Vec<u8> = Vec::new();
                let mut next = first + 1;
                'read: while Instant::now() < deadline {
                    let Ok(Some(Ok(chunk))) =
                        tokio::time::timeout_at(deadline.into(), stream.next()).await
                    else {
                        break;
                    };
                    let now = Utc::now();
                    pending.extend_from_slice(&chunk);
                    let mut used = 0;
                    while let Some(end) = pending[used..].windows(2).position(|w| w == b"\n\n") {
                        let frame = &pending[used..used + end];
                        used += end + 2;
                        if frame.starts_with(b":") {
                            continue; // keep-alive
                        }
                        let (seq, at) = seen(frame).expect("an SSE frame with an id and an event");
                        assert_eq!(seq, next, "events arrive in order, without gaps");
                        next += 1;
                        lags.push((now - at).to_std().unwrap_or_default());
                        if seq >= last {
                            break 'read;
                        }
                    }
                    pending.drain(..used);
                }
                lags
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut per_client_p99 = Vec::new();
    let mut counts = Vec::new();
    for t in tasks {
        let mut lags = t.await.expect("client");
        lags.sort();
        counts.push(lags.len());
        per_client_p99.push(support::pct(&lags, 0.99));
        all.extend(lags);
    }
    all.sort();
    per_client_p99.sort();
    let total = last - first;
    println!(
        "  delivery lag over all clients: p50 {} p99 {} max {}   target p99 < 100 ms",
        support::ms(support::pct(&all, 0.5)),
        support::ms(support::pct(&all, 0.99)),
        support::ms(support::pct(&all, 1.0))
    );
    println!(
        "  per client: events received min {} max {} (of {total}); p99 lag best {} worst {}",
        counts.iter().min().unwrap_or(&0),
        counts.iter().max().unwrap_or(&0),
        support::ms(per_client_p99.first().copied().unwrap_or_default()),
        support::ms(per_client_p99.last().copied().unwrap_or_default()),
    );
    if let (Some(a), Some(b)) = (started, support::cpu_seconds("self")) {
        println!("  client process: {:.1} CPU s", b - a);
    }
}

/// The parent: the server and the writer; the clients are a child process.
async fn run(clients: usize, duration: Duration) {
    let dir = support::temp_dir();
    let server = support::start(&support::state_path(&dir)).await;
    let base = format!("http://{}", server.local_addr());
    let total = duration.as_secs() * PER_SECOND;
    let first = fleetdeck_control_plane::store::events::last_seq(server.store().pool())
        .await
        .expect("last seq");
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CLIENTS_OF, &base)
        .env("FANOUT_FIRST", first.to_string())
        .env("PERF_CLIENTS", clients.to_string())
        .env("PERF_SECONDS", duration.as_secs().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the clients' process starts");
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    // Every client is connected before the first event is written.
    let mut line = String::new();
    let ready = tokio::task::block_in_place(|| out.read_line(&mut line));
    assert!(
        ready.is_ok() && line.trim() == READY,
        "the clients' process did not connect: {line:?}"
    );
    let store = server.store().clone();
    let cpu_before = support::cpu_seconds("self");
    let start = Instant::now();
    let mut written = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 * PER_COMMIT / PER_SECOND));
    while written < total {
        tick.tick().await;
        let mut tx = store.begin().await.expect("begin");
        for _ in 0..PER_COMMIT {
            written += 1;
            let ev = NewEvent::new(
                "bench",
                "executor.output",
                Level::Info,
                format!("fan-out line {written}: pg_upgrade copying relation files"),
            );
            append(&mut tx, ev).await.expect("append");
        }
        store.commit(tx).await.expect("commit");
    }
    let wrote_in = start.elapsed();
    let mut report = String::new();
    let read = tokio::task::block_in_place(|| out.read_to_string(&mut report));
    let status = tokio::task::block_in_place(|| child.wait());
    let server_cpu = match (cpu_before, support::cpu_seconds("self")) {
        (Some(a), Some(b)) => format!("{:.1} CPU s", b - a),
        _ => "CPU unknown".into(),
    };
    println!(
        "fanout: {clients} clients (separate process), {total} events written in {:.1} s ({:.0}/s); server process {server_cpu}",
        wrote_in.as_secs_f64(),
        total as f64 / wrote_in.as_secs_f64()
    );
    print!("{report}");
    assert!(
        read.is_ok() && status.is_ok_and(|s| s.success()),
        "the clients' process failed"
    );
    server.shutdown().await;
}
