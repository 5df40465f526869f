//! A demo control plane answers its first console before the demo's workflows start:
//! the engine waits for the first snapshot (then a moment), or a few seconds without
//! one; and a server stopped before that stops cleanly. A real server on a loopback
//! port and a real SQLite file.

use std::time::{Duration, Instant};

use fleetdeck_api::{Campaign, Role, Snapshot};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{
    self, DemoOptions, RunningServer, ServeOptions, TokenSource,
};

const TOKEN: &str = "demo-start-token";

async fn demo(dir: &tempfile::TempDir) -> (RunningServer, String) {
    let server = server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state: dir.path().join("state.db"),
        tokens: TokenSource::Entries(vec![TokenEntry {
            sha256_hex: hash_token(TOKEN),
            user: "dora".into(),
            roles: vec![Role::Viewer],
        }]),
        config: None,
        demo: Some(DemoOptions {
            fleet_size: 60,
            seed: 5,
            time_scale: 2000.0,
        }),
    })
    .await
    .expect("the demo starts");
    let base = format!("http://{}", server.local_addr());
    (server, base)
}

async fn get<T: serde::de::DeserializeOwned>(base: &str, path: &str) -> T {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits (at most `within`) for the demo driver's first campaign.
async fn first_campaign(base: &str, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        let campaigns: Vec<Campaign> = get(base, "/v1/campaigns").await;
        if !campaigns.is_empty() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflows_start_once_the_first_console_has_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = demo(&dir).await;
    // Nobody has asked for a snapshot: the demo stays still.
    assert_eq!(
        first_campaign(&base, Duration::from_millis(1500)).await,
        None,
        "a campaign started before any console had its data"
    );
    let snapshot: Snapshot = get(&base, "/v1/snapshot").await;
    assert_eq!(snapshot.databases.len(), 60);
    assert!(snapshot.campaigns.is_empty());
    // Then the demo's operator starts a campaign after the settling moment.
    let after = first_campaign(&base, Duration::from_secs(20))
        .await
        .expect("the demo started a campaign after the snapshot");
    assert!(after >= Duration::from_millis(500), "{after:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwatched_the_workflows_start_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = demo(&dir).await;
    let after = first_campaign(&base, Duration::from_secs(20))
        .await
        .expect("a demo nobody watches still moves");
    assert!(after >= Duration::from_secs(3), "{after:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_stopped_before_its_workflows_start_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = demo(&dir).await;
    let stopping = Instant::now();
    server.shutdown().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "{:?}",
        stopping.elapsed()
    );
}
