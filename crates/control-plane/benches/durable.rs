//! Benchmark 8a (docs/performance.md): durable mutating actions per second against
//! SQLite's own rate of one-row durable commits on the same disk, in the same run.
//!
//! The action is `POST /v1/approvals/{id}/approve` over loopback HTTP: bearer-token
//! check, idempotency record, the decision, its audit event, one `synchronous=FULL`
//! commit, then the answer. One run for each number of requests kept in flight
//! ([`CLIENTS`]): how many arrive together decides how many share a commit, and the
//! best of them is the store's capacity. The reference is a bare table in its own file
//! in the same directory, same journal mode (WAL) and synchronous level (FULL), one
//! `INSERT` per transaction, through the same driver, measured before and after.
//!
//! `cargo bench -p fleetdeck-control-plane --bench durable` (`PERF_DIR` picks the disk,
//! `PERF_CLIENTS` the requests in flight, like `8` or `8,16,32`)

mod support;

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

const ACTIONS: usize = 2_000;
/// Requests kept in flight, one run each (`PERF_CLIENTS` overrides: `8` or `8,16,32`).
const CLIENTS: &[usize] = &[8, 16, 32];
const RAW_COMMITS: usize = 2_000;
/// Each side stops early after this long, so a slow disk cannot hang the run.
const LIMIT: Duration = Duration::from_secs(60);

fn main() {
    let levels: Vec<usize> = match std::env::var("PERF_CLIENTS") {
        Ok(s) => s
            .split(',')
            .map(|n| {
                n.trim()
                    .parse::<usize>()
                    .expect("PERF_CLIENTS: numbers like 8,16,32")
            })
            .map(|n| n.clamp(1, 256))
            .collect(),
        Err(_) => CLIENTS.to_vec(),
    };
    support::runtime().block_on(async {
        let dir = support::temp_dir();
        // The disk's rate drifts (other writers, the device's own caching): measured
        // before and after the actions, and the actions compared with the mean.
        let before = raw_commits(&dir, "before").await;
        let mut rates = Vec::new();
        for (run, &clients) in levels.iter().enumerate() {
            let state = tempfile::tempdir_in(dir.path()).expect("state dir");
            rates.push((clients, durable_actions(&state, clients, run).await));
        }
        let after = raw_commits(&dir, "after").await;
        let raw = (before + after) / 2.0;
        for (clients, rate) in &rates {
            println!(
                "durable: {rate:.0} approve actions/s ({clients} in flight) vs {raw:.0} raw one-row commits/s on the same disk ({}): {:.0} %   target >= 50 %",
                dir.path().display(),
                100.0 * rate / raw
            );
        }
        if let Some((clients, best)) = rates.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
            println!(
                "durable capacity: {best:.0} actions/s (at {clients} in flight) = {:.0} % of raw",
                100.0 * best / raw
            );
        }
    });
}

async fn raw_commits(dir: &tempfile::TempDir, when: &str) -> f64 {
    let mut conn = SqliteConnectOptions::from_str("sqlite:")
        .expect("options")
        .filename(dir.path().join(format!("raw-{when}.db")))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .expect("raw sqlite file");
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .expect("create");
    let start = Instant::now();
    let mut n = 0;
    while n < RAW_COMMITS && start.elapsed() < LIMIT {
        let mut tx = conn.begin().await.expect("begin");
        sqlx::query("INSERT INTO t (v) VALUES (?)")
            .bind(format!("row {n}"))
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "  raw ({when}): {n} commits in {:.2} s ({:.0}/s)",
        start.elapsed().as_secs_f64(),
        n as f64 / start.elapsed().as_secs_f64()
    );
    rate
}

async fn durable_actions(dir: &tempfile::TempDir, clients: usize, run: usize) -> f64 {
    let server = support::start(&support::state_path(dir)).await;
    let ids = support::raise_approvals(server.store(), ACTIONS).await;
    let base = format!("http://{}", server.local_addr());
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..clients {
        let mine: Vec<String> = ids.iter().skip(w).step_by(clients).cloned().collect();
        let (client, base) = (client.clone(), base.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for id in mine {
                if start.elapsed() > LIMIT {
                    break;
                }
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/v1/approvals/{id}/approve"))
                    .bearer_auth(support::token(support::APPROVER))
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .json(&serde_json::json!({ "comment": "bench" }))
                    .send()
                    .await
                    .expect("loopback answers");
                let status = resp.status();
                let body = resp.text().await.unwrap_or_default();
                assert!(status.is_success(), "approve {id}: {status} {body}");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await.expect("worker"));
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let (commits, grouped) = server.store().group_commits();
    println!(
        "  run {run}, {clients} in flight: {} actions in {secs:.2} s ({:.0}/s); latency p50 {} p99 {}; {grouped} actions in {commits} group commits",
        lat.len(),
        lat.len() as f64 / secs,
        support::ms(support::pct(&lat, 0.5)),
        support::ms(support::pct(&lat, 0.99))
    );
    server.shutdown().await;
    lat.len() as f64 / secs
}
