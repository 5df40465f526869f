//! Benchmark 8b (docs/performance.md): SSE fan-out. 500 clients hold
//! `GET /v1/events/stream` open over loopback while 1k events/s are committed (10 events
//! per durable commit, every 10 ms). Each client reads its stream as the console does
//! (bytes → SSE frames → JSON) and records delivery lag: arrival time minus the event's
//! own commit timestamp (`at`, same clock). Starvation shows as a client that received
//! fewer events, or a much worse lag, than the others.
//!
//! `cargo bench -p fleetdeck-control-plane --bench fanout` (`PERF_SECONDS`, default 10)

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use eventsource_stream::Eventsource;
use fleetdeck_api::Level;
use fleetdeck_control_plane::store::events::{NewEvent, append};
use futures_util::StreamExt;
use serde::Deserialize;

const CLIENTS: usize = 500;
const PER_SECOND: u64 = 1_000;
const PER_COMMIT: u64 = 10;

#[derive(Deserialize)]
struct Seen {
    seq: u64,
    at: DateTime<Utc>,
}

fn main() {
    let seconds = std::env::var("PERF_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(10)
        .clamp(1, 120);
    support::runtime().block_on(run(Duration::from_secs(seconds)));
}

async fn run(duration: Duration) {
    let dir = support::temp_dir();
    let server = support::start(&support::state_path(&dir)).await;
    let base = format!("http://{}", server.local_addr());
    let client = reqwest::Client::new();
    let total = duration.as_secs() * PER_SECOND;
    let first = fleetdeck_control_plane::store::events::last_seq(server.store().pool())
        .await
        .expect("last seq");
    let last = first + total;
    // Every client is connected before the first event is written.
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let resp = client
            .get(format!("{base}/v1/events/stream?after={first}"))
            .bearer_auth(support::token(support::OPERATOR))
            .send()
            .await
            .expect("stream opens");
        assert!(resp.status().is_success(), "stream: {}", resp.status());
        let deadline = Instant::now() + duration + Duration::from_secs(15);
        clients.push(tokio::spawn(async move {
            let mut lags = Vec::new();
            let mut stream = resp.bytes_stream().eventsource();
            while Instant::now() < deadline {
                let Ok(Some(frame)) = tokio::time::timeout_at(deadline.into(), stream.next()).await
                else {
                    break;
                };
                let Ok(frame) = frame else { break };
                let Ok(seen) = serde_json::from_str::<Seen>(&frame.data) else {
                    continue;
                };
                let lag = (Utc::now() - seen.at).to_std().unwrap_or_default();
                lags.push(lag);
                if seen.seq >= last {
                    break;
                }
            }
            lags
        }));
    }
    let store = server.store().clone();
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
    let mut all = Vec::new();
    let mut per_client_p99 = Vec::new();
    let mut counts = Vec::new();
    for c in clients {
        let mut lags = c.await.expect("client");
        lags.sort();
        counts.push(lags.len());
        per_client_p99.push(support::pct(&lags, 0.99));
        all.extend(lags);
    }
    all.sort();
    per_client_p99.sort();
    println!(
        "fanout: {CLIENTS} clients, {total} events written in {:.1} s ({:.0}/s)",
        wrote_in.as_secs_f64(),
        total as f64 / wrote_in.as_secs_f64()
    );
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
    server.shutdown().await;
}
