//! The demo's simulated fleet is polled like a real one: once its workflows start, the
//! health poller's readings reach the inventory.

use std::time::{Duration, Instant};

use fleetdeck_api::{Role, Snapshot};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, DemoOptions, ServeOptions, TokenSource};

const TOKEN: &str = "health-demo-token";

async fn snapshot(base: &str) -> Snapshot {
    reqwest::Client::new()
        .get(format!("{base}/v1/snapshot"))
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

#[tokio::test]
async fn the_demo_fleet_is_polled() {
    let dir = tempfile::tempdir().unwrap();
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
            fleet_size: 30,
            seed: 5,
            time_scale: 2000.0,
        }),
    })
    .await
    .expect("the demo starts");
    let base = format!("http://{}", server.local_addr());
    let seeded = snapshot(&base).await;
    assert!(
        seeded
            .databases
            .iter()
            .all(|d| d.health.checked_by.is_none()),
        "the seeded fleet has no poller readings yet"
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let snap = snapshot(&base).await;
        if let Some(db) = snap
            .databases
            .iter()
            .find(|d| d.health.checked_by.as_deref() == Some("poller"))
        {
            assert!(
                db.health.checked_at
                    > seeded
                        .server_time
                        .checked_sub_signed(chrono::Duration::seconds(1))
            );
            break;
        }
        assert!(Instant::now() < deadline, "no database was polled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.shutdown().await;
}
